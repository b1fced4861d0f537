FROM alpine:3.20
ADD rootfs.tar.gz /
ADD https://example.com/tool.bin /usr/local/bin/tool
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x /x
COPY config.yaml /etc/app/
