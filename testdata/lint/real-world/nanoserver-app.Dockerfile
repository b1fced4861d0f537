FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
USER ContainerAdministrator
RUN mkdir C:\app && icacls C:\app /grant Users:F
COPY bin/ C:/app/
ENV PATH="C:\Windows\system32;C:\Windows;C:\app"
USER ContainerUser
WORKDIR C:/app
ENTRYPOINT ["app.exe"]
