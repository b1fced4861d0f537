FROM busybox:latest
ADD app.tar.gz /unpacked/
ADD app /added
ADD assets/one.css /one.css
