FROM alpine:3.20 AS a
CMD ["sh"]
FROM a
CMD ["ash"]
ENTRYPOINT ["/init"]
