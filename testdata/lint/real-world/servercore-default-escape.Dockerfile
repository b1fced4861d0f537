# No escape directive: backslashes inside paths are fine, and a trailing
# backslash that continues a RUN on purpose is not the continuation trap.
FROM mcr.microsoft.com/windows/servercore:ltsc2022
ADD https://example.com/downloads/agent-1.4.2.msi C:/temp/agent.msi
RUN msiexec /i C:\temp\agent.msi /qn /norestart && \
    del C:\temp\agent.msi
RUN mkdir C:\data\logs && \
    icacls C:\data /grant "Users:(OI)(CI)M"
ENV AGENT_HOME="C:\\Program Files\\Agent" \
    AGENT_PORT=8443
WORKDIR C:\data
EXPOSE 8443
CMD ["C:\\Program Files\\Agent\\agent.exe", "--port", "8443"]
