FROM busybox:latest
RUN echo made >/made && mkdir -p /d/e && echo x >/d/e/x && rm /bin/whoami && chmod 700 /d
RUN true
USER user
RUN echo mine > /tmp/mine
WORKDIR /home/user/w
RUN echo here > here.txt
