ARG TAG=1803
FROM mcr.microsoft.com/windows/servercore:${TAG} AS build
SHELL ["powershell"]
RUN Invoke-WebRequest https://example.com/x.zip -OutFile x.zip
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
COPY --from=build C:/x C:/x
RUN powershell -Command "Write-Host <done> & \"ok\""
CMD ["C:\app\x.exe"]
