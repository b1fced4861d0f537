FROM registry.example.com/base/app:1.0
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
FROM alpine:3.20
