ARG BASE=alpine:3.20
ARG APP_VERSION=1.0
FROM ${BASE}
RUN echo "building $APP_VERSION"
COPY app-${TAG}.tar /app/
ARG TAG=1
FROM ${IMAGE}
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN echo %app_version% && powershell -Command Write-Host $env:APP_VERSION
