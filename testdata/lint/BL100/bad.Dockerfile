FROM alpine:3.20
# an unterminated heredoc is a parse error
RUN <<EOF
echo hi
