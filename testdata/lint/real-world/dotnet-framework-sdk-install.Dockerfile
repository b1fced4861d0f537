# escape=`
# Installs an SDK in the style of the .NET Framework images; the setx PATH at
# the end is the one real problem (BW115).

ARG REPO=mcr.microsoft.com/dotnet/framework/runtime
FROM $REPO:4.8-windowsservercore-ltsc2022

ENV `
    # Do not show first run text
    DOTNET_NOLOGO=true `
    ROSLYN_COMPILER_LOCATION="C:\Program Files (x86)\Microsoft Visual Studio\2022\BuildTools\MSBuild\Current\Bin\Roslyn"

RUN `
    # Install .NET Fx 4.8.1 SDK
    curl -fSLo sdk.exe https://download.example.com/sdk.exe `
    && start /w sdk.exe /q `
    && del sdk.exe

RUN powershell -Command `
        $ErrorActionPreference = 'Stop'; `
        $ProgressPreference = 'SilentlyContinue'; `
        Invoke-WebRequest -Uri https://dist.nuget.org/win-x86-commandline/v6.8.0/nuget.exe -OutFile 'C:\Program Files\NuGet\nuget.exe'

RUN setx /M PATH "%PATH%;C:\Program Files\NuGet"
