FROM mcr.microsoft.com/windows/servercore:1909
