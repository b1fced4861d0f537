FROM alpine:3.20
ARG TOKEN_FILE=/run/secrets/token
ENV PASSWORD_PATH=/run/secrets/db LOG_LEVEL=info KEYBOARD=us
RUN --mount=type=secret,id=npm_token true
