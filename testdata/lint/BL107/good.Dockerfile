FROM alpine:3.20 AS base
WORKDIR /srv
WORKDIR app
FROM base
WORKDIR sub
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
WORKDIR C:\app
WORKDIR $HOME
