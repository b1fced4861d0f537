# escape=`
# Build and runtime stages share one Windows release parameter.
ARG WINDOWS_TAG=ltsc2019
ARG CONFIGURATION=Release
FROM mcr.microsoft.com/dotnet/framework/sdk:4.8-windowsservercore-${WINDOWS_TAG} AS build
WORKDIR C:\src
COPY . .
RUN msbuild /p:Configuration=%CONFIGURATION% `
    app.sln
FROM mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-${WINDOWS_TAG}
COPY --from=build C:\src\out C:\inetpub\wwwroot
