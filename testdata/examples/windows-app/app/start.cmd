@echo off
echo windows-app listening on %APP_PORT%
