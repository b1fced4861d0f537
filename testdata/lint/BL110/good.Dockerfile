ARG BASE=alpine:3.20
ARG APP_VERSION=1.0
FROM --platform=$BUILDPLATFORM ${BASE}
ARG APP_VERSION
ARG TAG=1
RUN echo "building $APP_VERSION for $TARGETARCH" && echo $HOME
COPY app-${TAG}.tar /app/
ENV DIR=/srv
WORKDIR $DIR
FROM mcr.microsoft.com/windows/servercore:ltsc2022
ARG APP_VERSION
RUN echo %app_version% %PATH% && powershell -Command Write-Host $env:APP_VERSION $env:TEMP
