# A build agent image nobody updated since 2018: every Windows finding here is
# real (end of support, retired repository, setx PATH, MAINTAINER, relative WORKDIR).
FROM microsoft/windowsservercore:1803
MAINTAINER build-team@example.com
RUN powershell -Command Invoke-WebRequest https://example.com/agent.zip -OutFile C:\agent.zip
RUN setx /M PATH "%PATH%;C:\agent\bin"
ENV AGENT_TOKEN=
WORKDIR agent
CMD C:\agent\run.cmd
