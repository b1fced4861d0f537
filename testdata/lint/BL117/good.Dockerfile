FROM alpine:3.20
RUN apk add --no-cache curl
RUN --mount=type=cache,target=/var/cache/apk apk add git
