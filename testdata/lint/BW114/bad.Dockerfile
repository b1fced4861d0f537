FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell"]
SHELL ["powershell", "-Command"]
