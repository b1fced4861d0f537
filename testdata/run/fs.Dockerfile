FROM busybox:latest
RUN echo new >/new && echo extra >>/etc/passwd && rm /bin/whoami && mkdir -p /d/sub && echo 1 >/d/sub/f && rm -rf /var
RUN rm -rf /d && mkdir /d && echo 2 >/d/g && chmod 700 /d
RUN ln -s /new /sym && ln /new /hard && mkdir /hl && echo x >/hl/a && ln /hl/a /hl/b && chmod 4750 /hl/a && chown 1000:100 /hl
RUN mkfifo /fifo && touch /empty && chmod 600 /empty && mkdir -p /usr/local/share/x && rm /etc/group && echo g >/etc/group
RUN true
