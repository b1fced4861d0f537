# syntax=docker/dockerfile:1
ARG PS_TAG="lts-nanoserver-1809"
# a continuation split in the middle of the reference
FROM \
  mcr.microsoft.com/powershell:${PS_TAG} \
  AS tools
RUN <<EOT
FROM mcr.microsoft.com/windows/servercore:ltsc2016
EOT
FROM tools
# comment lines inside a continuation are ignored
RUN echo one \
# FROM mcr.microsoft.com/windows/servercore:ltsc2016
    two
