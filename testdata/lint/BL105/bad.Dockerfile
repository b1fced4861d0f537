FROM alpine:3.20
CMD ["sh"]
ENTRYPOINT ["/init"]
CMD ["ash"]
ENTRYPOINT ["/init2"]
