FROM busybox:latest
ARG A=argval
ARG B
ENV E=envval P=/w
WORKDIR $P/$E
RUN echo "$A|$B|$E|$(pwd)" >out1
RUN ["/bin/sh", "-c", "echo exec $A $E >out2"]
RUN ["/bin/sh", "-c", "env | sort | grep -vE '^(HOSTNAME|SHLVL|PWD|_)=' >env-exec"]
SHELL ["/bin/sh", "-eu", "-c"]
RUN echo "$0" >out3 && busybox hostname >hostname
WORKDIR rel
RUN pwd >/w/envval/out5
ARG B=late
RUN echo "B=$B" >/w/envval/out6
