FROM mcr.microsoft.com/windows/servercore:ltsc2022
ENTRYPOINT ["C:\\app\\server.exe", "--port", "80"]
COPY ["app", "C:\\app\\"]
CMD ["C:/app/server.exe"]
FROM alpine:3.20
RUN [ "$(uname -m)" = "x86_64" ] || echo "not x86_64"
RUN [ -f /etc/alpine-release ]
