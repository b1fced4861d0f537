FROM busybox:latest
RUN --mount=type=cache,target=/var/cache/t echo x >/var/cache/t/f && echo in-cache >/after-cache
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch >/after-tmpfs
RUN --mount=type=secret,id=tok wc -c </run/secrets/tok >/secret-len && stat -c '%a %u' /run/secrets >/secret-dir
RUN --mount=type=bind,source=ctxfile,target=/b cat /b >/from-bind
RUN --mount=type=secret,id=tok,target=/opt/tok,mode=0440,uid=1000 stat -c '%a %u' /opt/tok >/opt-tok
