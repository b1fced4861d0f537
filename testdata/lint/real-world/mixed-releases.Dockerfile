# escape=`
# Build on 2019, ship on 2022: the COPY mixes Windows builds.
FROM mcr.microsoft.com/dotnet/framework/sdk:4.8.1-windowsservercore-ltsc2019 AS build
WORKDIR C:\src
COPY . .
RUN msbuild Service.sln /p:Configuration=Release

FROM mcr.microsoft.com/dotnet/framework/runtime:4.8.1-windowsservercore-ltsc2022
WORKDIR C:\service
COPY --from=build C:\src\bin\Release\ .
ENTRYPOINT ["C:\\service\\Service.exe"]
