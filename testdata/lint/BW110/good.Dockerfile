FROM mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022
SHELL ["pwsh", "-Command", "$ErrorActionPreference = 'Stop';"]
RUN New-Item -ItemType Directory C:\app
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
COPY --from=0 ["C:\\Program Files\\PowerShell", "C:\\Program Files\\PowerShell"]
RUN pwsh -Command Write-Host ok
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN powershell -Command Write-Host ok
