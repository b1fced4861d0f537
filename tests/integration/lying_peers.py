#!/usr/bin/env python3
"""Lying peers for tests/integration/lying_peers.sh (loopback only).

registry PORTFILE: a distribution API server holding one small image under
  every repository; the repository name picks the lie:
    ok/img          honest
    longblob/img    the layer blob has extra bytes (Content-Length matches them)
    shortblob/img   the layer blob's Content-Length is the true size, half is sent, then close
    bigcl/img       the manifest's Content-Length claims 1 GiB, a few bytes are sent, then close
    wrongblob/img   the layer blob is another blob's bytes (same length)
    wrongman/img    the manifest by digest is a different manifest
    liedigest/img   the manifest by tag carries a Docker-Content-Digest of other bytes
    cfgsize/img     the manifest says the config is 10 bytes smaller than it is
    stallhead/img   the manifest request gets no answer at all
    stallbody/img   the layer blob sends its headers and 10 bytes, then nothing
    redirect/img    the layer blob is a 307 to http://192.0.2.1:5000/... (not loopback)
engine SOCKET: a Docker Engine API on a unix socket; the path picks the lie
  (the test runs one engine per lie, named by the socket's file name):
    stall-*.sock    /_ping answers, /version never does
    short-*.sock    /version's Content-Length is 4096, 20 bytes are sent, then close
    json-*.sock     /version is not JSON
    huge-*.sock     /version is 64 MiB of JSON whitespace
"""
import gzip, hashlib, http.server, io, json, os, socket, socketserver, sys, tarfile, threading, time


def layer_bytes():
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"hello from a lying registry\n" * 200
        ti = tarfile.TarInfo("hello.txt"); ti.size = len(data); ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    raw = b.getvalue()
    return raw, gzip.compress(raw, mtime=0)


RAW, LAYER = layer_bytes()
OTHER = bytes((x + 1) % 256 for x in LAYER)
CFG = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(RAW).hexdigest()]},
                  "history": [{"created_by": "lying"}]}).encode()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def manifest(cfgsize_delta=0, cmd="sh"):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": sha(CFG), "size": len(CFG) + cfgsize_delta},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": sha(LAYER), "size": len(LAYER)}],
                       "annotations": {"x": cmd}}).encode()


MAN = manifest()
MAN2 = manifest(cmd="other")
BLOBS = {sha(CFG): CFG, sha(LAYER): LAYER}
stop = threading.Event()


class Reg(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/octet-stream", extra=(), length=None, cut=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(body if cut is None else body[:cut])
        self.wfile.flush()
        if cut is not None or (length is not None and length != len(body)):
            self.close_connection = True

    def stall(self):
        stop.wait(600)
        self.close_connection = True

    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/v2/":
            return self.send(200, b"{}", "application/json")
        parts = p.split("/")  # '', v2, lie, img, kind, ref
        if len(parts) != 6:
            return self.send(404, b"{}", "application/json")
        lie, kind, ref = parts[2], parts[4], parts[5]
        if kind == "manifests":
            if lie == "stallhead":
                return self.stall()
            mt = "application/vnd.oci.image.manifest.v1+json"
            body = MAN
            if lie == "cfgsize":
                body = manifest(cfgsize_delta=-10)
            extra = [("Docker-Content-Digest", sha(body))]
            if lie == "wrongman" and ref.startswith("sha256:"):
                body = MAN2
            if lie == "liedigest":
                extra = [("Docker-Content-Digest", sha(MAN2))]
            if lie == "bigcl":
                return self.send(200, body[:20], mt, extra, length=1 << 30)
            return self.send(200, body, mt, extra)
        if kind == "blobs":
            blob = BLOBS.get(ref)
            if blob is None:
                return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', "application/json")
            if blob is LAYER:
                if lie == "longblob":
                    return self.send(200, LAYER + b"\0" * 4096)
                if lie == "shortblob":
                    return self.send(200, LAYER, cut=len(LAYER) // 2)
                if lie == "wrongblob":
                    return self.send(200, OTHER)
                if lie == "stallbody":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(LAYER)))
                    self.end_headers()
                    self.wfile.write(LAYER[:10])
                    self.wfile.flush()
                    return self.stall()
                if lie == "redirect":
                    self.send_response(307)
                    self.send_header("Location", "http://192.0.2.1:5000/blobs/" + ref)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            return self.send(200, blob)
        return self.send(404, b"{}", "application/json")

    do_HEAD = do_GET


class Eng(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lie = ""

    def log_message(self, *a):
        pass

    def address_string(self):
        return "unix"

    def do_GET(self):
        p = self.path.split("?")[0]
        if p.endswith("/_ping"):
            self.send_response(200)
            self.send_header("Api-Version", "1.43")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
            return
        if p.endswith("/version"):
            if self.lie == "stall":
                stop.wait(600)
                self.close_connection = True
                return
            body = json.dumps({"ApiVersion": "1.43", "MinAPIVersion": "1.24", "Os": "linux",
                               "Arch": "amd64", "Version": "24.0.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if self.lie == "short":
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.write(body[:20])
                self.close_connection = True
                return
            if self.lie == "json":
                body = b'{"ApiVersion": "1.43", "Os": '
            if self.lie == "huge":
                self.send_header("Content-Length", str(64 << 20))
                self.end_headers()
                chunk = b" " * (1 << 20)
                try:
                    for _ in range(64):
                        self.wfile.write(chunk)
                except OSError:
                    pass
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class TS(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class US(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if sys.argv[1] == "registry":
    s = TS(("127.0.0.1", 0), Reg)
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(s.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    s.serve_forever()
else:
    path = sys.argv[2]
    Eng.lie = os.path.basename(path).split("-")[0]
    s = US(path, Eng)
    s.serve_forever()
