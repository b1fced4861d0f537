FROM mcr.microsoft.com/windows/servercore
FROM mcr.microsoft.com/windows/nanoserver:latest
