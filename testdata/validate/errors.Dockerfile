FROM alpine AS base
COPY --form=base /a /b
RUN --network=bridge true
RUN --mount=type=cache,from=$STAGE,target=/x true
HEALTHCHECK --retries=-1 CMD true
HEALTHCHECK --timeout=10 CMD true
FROM base AS 2nd
SHELL /bin/bash -c
WORKDIR
ONBUILD FROM scratch
COPY onlyone
EXPOSE
FOOBAR x
