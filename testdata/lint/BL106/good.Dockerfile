FROM alpine:3.20
ENTRYPOINT ["/usr/bin/server", "--port", "80"]
CMD ["run.sh"]
