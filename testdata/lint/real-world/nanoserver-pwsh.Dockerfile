# escape=`
# A Go service on Nano Server with PowerShell 7 for its startup script.
ARG WINDOWS_TAG=ltsc2022

FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -o /out/svc.exe ./cmd/svc

FROM mcr.microsoft.com/powershell:lts-nanoserver-${WINDOWS_TAG}
SHELL ["pwsh", "-Command", "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue';"]
USER ContainerAdministrator
RUN New-Item -ItemType Directory -Path C:\svc | Out-Null
COPY --from=build /out/svc.exe C:/svc/svc.exe
COPY start.ps1 C:/svc/
USER ContainerUser
ENTRYPOINT ["pwsh", "-File", "C:\\svc\\start.ps1"]
