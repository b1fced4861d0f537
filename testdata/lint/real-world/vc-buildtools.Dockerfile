# escape=`
# Visual C++ build tools on Server Core 2022, then the binaries on Nano Server.
FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS buildtools
SHELL ["cmd", "/S", "/C"]
ADD https://aka.ms/vs/17/release/vs_buildtools.exe C:\TEMP\vs_buildtools.exe
RUN C:\TEMP\vs_buildtools.exe --quiet --wait --norestart --nocache `
        --installPath "%ProgramFiles(x86)%\Microsoft Visual Studio\2022\BuildTools" `
        --add Microsoft.VisualStudio.Workload.VCTools --includeRecommended `
    || IF "%ERRORLEVEL%"=="3010" EXIT 0
WORKDIR C:\src
COPY . .
RUN "C:\Program Files (x86)\Microsoft Visual Studio\2022\BuildTools\VC\Auxiliary\Build\vcvars64.bat" && nmake

FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
COPY --from=buildtools C:\src\out\tool.exe C:\tools\tool.exe
USER ContainerUser
ENTRYPOINT ["C:\\tools\\tool.exe"]
