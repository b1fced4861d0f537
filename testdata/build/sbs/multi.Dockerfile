FROM busybox:latest AS a
COPY app /app
FROM scratch AS b
COPY --from=a /app /copied
COPY --from=a /bin/busybox /bin/
FROM b
COPY assets/ /assets
ENV PATH=/bin
CMD ["/bin/busybox", "true"]
