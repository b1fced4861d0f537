FROM mcr.microsoft.com/windows/servercore:ltsc2022
FROM mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022
FROM example/microsoft-tools:1.0
