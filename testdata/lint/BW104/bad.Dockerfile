FROM microsoft/windowsservercore:ltsc2016
FROM microsoft/aspnet:4.7.2
