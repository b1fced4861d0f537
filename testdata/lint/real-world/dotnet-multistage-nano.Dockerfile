# .NET 8 web API: SDK on Nano Server (it ships pwsh), runtime on the
# aspnet Nano Server image of the same release.
FROM mcr.microsoft.com/dotnet/sdk:8.0-nanoserver-ltsc2022 AS build
WORKDIR /source
COPY *.csproj .
RUN dotnet restore
COPY . .
RUN pwsh -Command Write-Host "publishing"
RUN dotnet publish -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-ltsc2022
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "api.dll"]
