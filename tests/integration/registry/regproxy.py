#!/usr/bin/env python3
"""Loopback-only test proxy in front of a docker-registry, for berth's tests.

Modes (combinable):
  --fail N REGEX       answer the first N requests whose "METHOD PATH" matches
                       REGEX with --fail-status (default 503)
  --retry-after S      add Retry-After: S to injected failures
  --corrupt [REGEX]    flip one byte in blob GET bodies (whose path matches)
  --cut                the first blob GET sends half its body, then closes
  --bearer USER:PASS   require bearer tokens from /token (Basic USER:PASS, or
                       anonymous for nothing); tokens carry their scopes
  --redirect-blobs     answer blob GETs with 307 to http://localhost:PORT/_r/...
                       (another origin); logs whether Authorization came along
Every request is logged to --log as "METHOD PATH STATUS [notes]" (forwarded
ones end with "len=REQUEST-BODY-BYTES out=RESPONSE-BODY-BYTES").
Listens on 127.0.0.1 only and exits after --max-requests."""
import argparse, base64, http.client, http.server, json, re, secrets, socketserver, sys, threading

ap = argparse.ArgumentParser()
ap.add_argument("--upstream", required=True)       # host:port of the registry
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--fail", nargs=2, metavar=("N", "REGEX"))
ap.add_argument("--fail-status", type=int, default=503)
ap.add_argument("--retry-after")
ap.add_argument("--corrupt", nargs="?", const=".", metavar="REGEX")
ap.add_argument("--cut", action="store_true")
ap.add_argument("--bearer")
ap.add_argument("--redirect-blobs", action="store_true")
ap.add_argument("--max-requests", type=int, default=5000)
a = ap.parse_args()

lock = threading.Lock()
state = {"fail_left": int(a.fail[0]) if a.fail else 0, "cut_done": False, "n": 0}
fail_re = re.compile(a.fail[1]) if a.fail else None
tokens = {}  # token -> set of "repository:name:action"
logf = open(a.log, "a", buffering=1)
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


def log(line):
    with lock:
        logf.write(line + "\n")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def need_scope(self):
        m = re.match(r"^/v2/(.+?)/(blobs|manifests|tags)/", self.path)
        if not m:
            return None
        act = "pull" if self.command in ("GET", "HEAD") else "push"
        return "repository:%s:%s" % (m.group(1), act)

    def token_endpoint(self):
        user, pw = a.bearer.split(":", 1)
        auth = self.headers.get("Authorization", "")
        if self.command == "POST":
            # OAuth2 refresh-token grant: the password doubles as identity token
            from urllib.parse import parse_qs
            form = parse_qs(self.body().decode())
            scopes = " ".join(form.get("scope", [])).split()
            if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [pw]:
                log("TOKEN 401 oauth-rejected")
                return self.reply(401, b'{"error":"invalid_grant"}')
            tok = secrets.token_hex(16)
            tokens[tok] = set("%s:%s" % (s.rsplit(":", 1)[0], act) for s in scopes
                              for act in s.rsplit(":", 1)[1].split(","))
            log("TOKEN 200 oauth scopes=%s service=%s" % (" ".join(sorted(scopes)),
                                                         form.get("service", [""])[0]))
            return self.reply(200, json.dumps({"access_token": tok, "expires_in": 300}).encode(),
                              [("Content-Type", "application/json")])
        q = self.path.split("?", 1)[1] if "?" in self.path else ""
        from urllib.parse import parse_qs
        params = parse_qs(q)
        scopes = params.get("scope", [])
        if auth.startswith("Basic "):
            if base64.b64decode(auth[6:]).decode() != "%s:%s" % (user, pw):
                log("TOKEN 401 bad-credentials scopes=%s" % " ".join(scopes))
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
            granted = set()
            for s in scopes:
                p = s.rsplit(":", 1)
                for act in p[1].split(","):
                    granted.add("%s:%s" % (p[0], act))
        else:
            granted = set()  # anonymous: nothing
        tok = secrets.token_hex(16)
        tokens[tok] = granted
        log("TOKEN 200 %s scopes=%s" % ("basic" if auth else "anon", " ".join(sorted(scopes))))
        self.reply(200, json.dumps({"token": tok, "expires_in": 300}).encode(),
                   [("Content-Type", "application/json")])

    def check_bearer(self):
        need = self.need_scope()
        port = self.server.server_address[1]
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        if tok in tokens and (need is None or need in tokens[tok]):
            return True
        chal = 'Bearer realm="http://127.0.0.1:%d/token",service="berth-test"' % port
        if need:
            chal += ',scope="%s"' % need
        self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                   [("WWW-Authenticate", chal), ("Content-Type", "application/json")])
        log("%s %s 401 auth=%s" % (self.command, self.path, "bearer" if tok else "none"))
        return False

    def handle_any(self):
        with lock:
            state["n"] += 1
            if state["n"] > a.max_requests:
                threading.Thread(target=self.server.shutdown).start()
        if a.bearer and self.path.startswith("/token"):
            return self.token_endpoint()
        line = "%s %s" % (self.command, self.path)
        is_blob_get = self.command == "GET" and re.match(r"^/v2/.+/blobs/sha256:", self.path)
        if self.path.startswith("/_r/"):
            log("%s %s REDIRECTED auth=%s" % (self.command, self.path,
                                              "yes" if self.headers.get("Authorization") else "no"))
            self.path = self.path[3:]
            return self.forward(line, is_blob_get, strip_auth=True)
        if fail_re and fail_re.search(line):
            with lock:
                go = state["fail_left"] > 0
                if go:
                    state["fail_left"] -= 1
            if go:
                self.body()
                hdrs = [("Retry-After", a.retry_after)] if a.retry_after else []
                log("%s %d injected" % (line, a.fail_status))
                return self.reply(a.fail_status, b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}', hdrs)
        if a.bearer and not self.check_bearer():
            self.body()
            return
        if a.redirect_blobs and is_blob_get:
            port = self.server.server_address[1]
            loc = "http://localhost:%d/_r%s" % (port, self.path)
            log("%s 307" % line)
            return self.reply(307, b"", [("Location", loc)])
        self.forward(line, is_blob_get)

    def forward(self, line, is_blob_get, strip_auth=False):
        body = self.body()
        conn = http.client.HTTPConnection(a.upstream, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if a.bearer or strip_auth:
            hdrs.pop("Authorization", None)
        conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "PATCH", "POST") else None,
                     headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        note = ""
        if is_blob_get and r.status in (200, 206):
            if a.corrupt and data and re.search(a.corrupt, self.path):
                data = bytes([data[0] ^ 0xFF]) + data[1:]
                note = " corrupted"
            if a.cut and not state["cut_done"] and len(data) > 1:
                state["cut_done"] = True
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                log("%s %d cut range=%s" % (line, r.status, self.headers.get("Range")))
                self.close_connection = True
                return
        rng = self.headers.get("Range")
        log("%s %d%s%s len=%d out=%d" % (line, r.status, note, " range=" + rng if rng else "", len(body),
                                         0 if self.command == "HEAD" else len(data)))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
with open(a.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(a.port_file + ".tmp", a.port_file)
srv.serve_forever()
