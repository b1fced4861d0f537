FROM busybox:latest
ARG A=1
ENV E1=$A E2="two words"
LABEL l1=v1 "l 2"="v 2"
EXPOSE 80 443/tcp 53/udp
VOLUME /v1 ["/v2"]
STOPSIGNAL SIGQUIT
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=5s --retries=2 CMD echo ok
ONBUILD RUN echo hi
ENTRYPOINT echo entry
USER user
WORKDIR /home/user/work
WORKDIR /tmp
