FROM mcr.microsoft.com/windows/servercore:ltsc2019
RUN echo hello
