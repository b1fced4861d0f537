FROM golang:1.22 AS build
FROM alpine:3.20
COPY --from=biuld /out/app /app
COPY --from=2 /x /x
COPY --from=final /y /y
FROM alpine:3.20 AS final
