FROM alpine
CMD ["a", ["nested"]]
