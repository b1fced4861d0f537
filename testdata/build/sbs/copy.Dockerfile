FROM busybox:latest
COPY app /opt/app
COPY app/ /opt/app2/
COPY app/a.txt /opt/file
COPY app/a.txt app/sub/b.txt /opt/multi/
COPY assets/*.css /static/
COPY app/link-to-a /opt/deref
COPY app/link-to-a /opt/links/
COPY --chown=1000:1000 app /home/user/app
COPY --chown=user app/a.txt /home/user/named
COPY --chmod=600 app/a.txt /root/secret
COPY app/run.sh /bin
WORKDIR /w/x/y
COPY app/a.txt rel.txt
COPY app/sub ./sub/
