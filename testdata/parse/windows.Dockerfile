# escape=`

# Windows Server Core image
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
RUN [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12; `
    Invoke-WebRequest -Uri https://example.com/app.zip -OutFile C:\app.zip; `
    # download done
    Expand-Archive C:\app.zip -DestinationPath C:\app
ENV APP_HOME=C:\app `
    PATH="C:\app\bin;C:\Windows\system32"
WORKDIR C:\app
COPY app/ C:/app/
CMD ["C:\app\start.cmd"]
CMD ["C:\Ruby30-x64\bin\ruby.exe --version"]
