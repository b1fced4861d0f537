FROM mcr.microsoft.com/windows/servercore:1709
FROM mcr.microsoft.com/windows/nanoserver:sac2016 AS nano
