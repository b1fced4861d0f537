# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2019

SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue';"]

ENV chocolateyUseWindowsCompression=false
RUN [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12; `
    iex ((New-Object System.Net.WebClient).DownloadString('https://community.chocolatey.org/install.ps1')); `
    choco feature disable --name showDownloadProgress

RUN choco install -y git --version 2.45.1 ; `
    choco install -y nodejs-lts --version 20.14.0 ; `
    Remove-Item C:\ProgramData\chocolatey\lib-bkp -Recurse -Force -ErrorAction SilentlyContinue

RUN $path = [Environment]::GetEnvironmentVariable('Path', 'Machine'); `
    [Environment]::SetEnvironmentVariable('Path', $path + ';C:\tools\bin', 'Machine')

WORKDIR C:\build
CMD ["powershell", "-NoLogo"]
