FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN setx /M JAVA_HOME "C:\java"
ENV PATH="C:\tools;C:\Windows\system32;C:\Windows"
