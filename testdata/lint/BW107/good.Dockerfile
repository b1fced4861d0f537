FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS base
FROM base
