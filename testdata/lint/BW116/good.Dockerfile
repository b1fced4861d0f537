FROM --platform=windows/amd64 mcr.microsoft.com/windows/servercore:ltsc2022
FROM --platform=$BUILDPLATFORM alpine:3.20
FROM --platform=linux/arm64 alpine:3.20
