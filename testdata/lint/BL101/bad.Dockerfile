FROM ubuntu
RUN true
