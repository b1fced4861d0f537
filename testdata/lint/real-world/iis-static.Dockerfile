# escape=`
FROM mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022

SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue';"]

RUN Remove-Item -Recurse C:\inetpub\wwwroot\*; `
    Import-Module WebAdministration; `
    Set-ItemProperty 'IIS:\AppPools\DefaultAppPool' -Name processModel.identityType -Value LocalSystem

WORKDIR C:\inetpub\wwwroot
COPY site\ .

EXPOSE 80
HEALTHCHECK --interval=30s CMD powershell -Command "try { Invoke-WebRequest http://localhost -UseBasicParsing | Out-Null; exit 0 } catch { exit 1 }"
ENTRYPOINT ["C:\\ServiceMonitor.exe", "w3svc"]
