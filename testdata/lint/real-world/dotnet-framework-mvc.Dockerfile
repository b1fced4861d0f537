# escape=`
# ASP.NET MVC app on .NET Framework 4.8: build with the SDK image, run on the
# ASP.NET image (IIS + ServiceMonitor) of the same Windows release.
FROM mcr.microsoft.com/dotnet/framework/sdk:4.8-windowsservercore-ltsc2022 AS build
WORKDIR C:\src

# restore first so the package layer is cached
COPY *.sln .
COPY WebApp\*.csproj .\WebApp\
COPY WebApp\packages.config .\WebApp\
RUN nuget restore

COPY WebApp\. .\WebApp\
WORKDIR C:\src\WebApp
RUN msbuild /p:Configuration=Release /p:DeployOnBuild=true /p:PublishProfile=FolderProfile

FROM mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022 AS runtime
WORKDIR C:\inetpub\wwwroot
COPY --from=build C:\src\WebApp\bin\Release\Publish\. .\
