FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN Invoke-WebRequest https://example.com/app.zip -OutFile app.zip
RUN echo %PATH% && $env:Path
