FROM alpine:3.20
WORKDIR /src
RUN make && echo cd done
