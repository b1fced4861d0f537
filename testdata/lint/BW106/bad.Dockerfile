FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS build
RUN echo build
FROM mcr.microsoft.com/windows/nanoserver:ltsc2025
COPY --from=build C:/out C:/app
