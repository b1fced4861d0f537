FROM golang:1.22 AS build
FROM alpine:3.20
COPY --from=build /out/app /app
COPY --from=0 /x /x
COPY --from=BUILD /y /y
COPY --from=docker.io/library/busybox:1.36 /bin/busybox /bin/busybox
