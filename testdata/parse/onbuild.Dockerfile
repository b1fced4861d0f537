FROM busybox
ONBUILD COPY --from=base . /app
ONBUILD RUN ["make", "install"]
ONBUILD RUN <<EOF
echo triggered
EOF
unknown-instruction argument
