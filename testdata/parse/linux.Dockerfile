# syntax=docker/dockerfile:1.7
# check=skip=JSONArgsRecommended

# Build stage: compile the app
ARG GO_VERSION=1.22 BASE="alpine:3.19"
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY --link go.mod go.sum ./
RUN --mount=type=cache,target=/root/.cache/go-build \
    # comments inside a continuation are skipped
    go build -o /out/app ./cmd/app

# Runtime stage
FROM ${BASE}
LABEL org.opencontainers.image.title="demo app" version=1.0
ENV PATH=/app:$PATH \
    MODE=production
ENV LEGACY some value with spaces
COPY --from=build --chmod=0755 /out/app /app/app
COPY <<EOF /etc/motd
Welcome to "demo"
	tabbed line
EOF
RUN <<-'SCRIPT' bash
	set -e
	echo "$HOME is not expanded here"
	SCRIPT
RUN apt-get update && \

    apt-get install -y curl
EXPOSE 8080/tcp 9090
HEALTHCHECK --interval=30s CMD ["wget", "-q", "-O-", "http://localhost:8080/health"]
USER app:app
ENTRYPOINT ["/app/app"]
CMD ["--port", "8080", "\u00e9t\u00e9"]
