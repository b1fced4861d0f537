FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
RUN GOOS=windows go build -o /out/app.exe .
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
COPY --from=build /out/app.exe C:/app/app.exe
