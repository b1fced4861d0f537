# syntax=docker/dockerfile:1
# VERSION the release to build
ARG VERSION=1.2
ARG BASE
FROM --platform=$BUILDPLATFORM golang:1.22 AS Build
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache/go-build,sharing=locked \
    --mount=type=bind,source=.,target=/src \
    --network=none go build -o /out/app ./...
RUN --mount=type=secret,id=token,required --security=sandbox ["sh", "-c", "cat /run/secrets/token"]
COPY --chmod=0755 <<-EOF /usr/local/bin/hello
	#!/bin/sh
	echo hello
	EOF

FROM alpine:3.20
LABEL org.opencontainers.image.title="app" version=$VERSION
ENV PATH=/app/bin:$PATH HOME=/root
COPY --from=build --chown=1000:1000 --link /out/app /app/bin/app
ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://example.com/x.tar.gz /tmp/
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.13.0 /buildkit
EXPOSE 8080/tcp 443
VOLUME ["/data", "/cache"]
USER 1000:1000
HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1
ONBUILD COPY . /app/src
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-eu", "-c"]
ENTRYPOINT ["/app/bin/app"]
CMD ["--serve"]
