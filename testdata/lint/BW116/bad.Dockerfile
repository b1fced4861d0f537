FROM --platform=linux/amd64 mcr.microsoft.com/windows/servercore:ltsc2022
FROM --platform=windows/amd64 alpine:3.20
