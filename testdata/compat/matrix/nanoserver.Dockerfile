ARG BASE_IMAGE=mcr.microsoft.com/windows/nanoserver:1809
FROM ${BASE_IMAGE}
COPY app.exe /app/
ENTRYPOINT ["C:\\app\\app.exe"]
