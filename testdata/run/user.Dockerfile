FROM busybox:latest
USER user
RUN id >/tmp/id-name && touch /tmp/by-user
USER 1000
RUN id >/tmp/id-num
USER 1000:100
RUN id >/tmp/id-ug
USER daemon:users
RUN id >/tmp/id-nameg
USER 4242
RUN id >/tmp/id-unknown && touch /tmp/by-4242 && echo "$HOME" >/tmp/home-4242
USER root
RUN echo "$HOME $(id -u)" >/root/home
