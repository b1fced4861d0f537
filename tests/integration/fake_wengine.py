#!/usr/bin/python3
"""A fake *Windows* Docker Engine for tests/integration/engine-windows.sh.

Speaks the subset of the Engine API berth uses, on a unix socket, and answers
/info and /version with recorded-format Windows payloads (testdata/engine/).
It runs nothing: a RUN container "runs" by looking at its command line:

  ... exit 3 ...   prints "failing output" and exits 3
  ... sleep ...    prints "started" and blocks until the container is deleted
  ... nochange ... exits 0 without a filesystem change (no new layer)
  ... LIE ...      like a normal RUN, but /images/{id}/get exports a top layer
                   whose bytes differ from the diff_id it reported
  anything else    prints "ran: <last Cmd argument>" (and "to-stderr" on
                   stderr), exits 0 and commits one new Windows-format layer

A new layer is a Windows layer tar as a Windows engine exports it: Hives/ and
Files/ roots, PAX records MSWINDOWS.fileattr / MSWINDOWS.rawsd /
LIBARCHIVE.creationtime, fixed mtimes (deterministic for a command line). Each
generated layer is written to LOGDIR/layer-<diff_id hex>.tar, and every
request is appended to LOGDIR/requests.jsonl ({"method", "path", "body"}).

Stalls (tests/integration/lying_peers.sh): FAKE_STALL="METHOD REGEX" makes a
matching request (path without the /vX.Y prefix, with the query) get no
answer at all, after its body was read; FAKE_STALL_BODY=REGEX makes a
matching GET send its headers and the first 1000 bytes of the body, then
nothing.

usage: fake_wengine.py SOCKET INFO_JSON VERSION_JSON LOGDIR
"""
import gzip
import hashlib
import io
import json
import os
import re
import socketserver
import sys
import tarfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

SOCK, INFO, VERSION, LOGDIR = sys.argv[1:5]
with open(INFO, "rb") as f:
    INFO_BODY = f.read()
with open(VERSION, "rb") as f:
    VERSION_BODY = f.read()
API = json.loads(VERSION_BODY).get("ApiVersion", "1.43")
MTIME = 1700000000
STALL = os.environ.get("FAKE_STALL", "").split(" ", 1) if os.environ.get("FAKE_STALL") else None
STALL_BODY = os.environ.get("FAKE_STALL_BODY") or None
STALL_SECONDS = 600

lock = threading.Lock()
images = {}      # id ("sha256:...") -> {"config": bytes, "layers": [diff_id], "tags": set, "labels": {}}
layer_bytes = {}  # diff_id -> bytes
containers = {}  # id -> {...}


def log(method, path, body):
    with lock:
        with open(os.path.join(LOGDIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"method": method, "path": path, "body": body}) + "\n")


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def find_image(name):
    name = urllib.parse.unquote(name)
    for iid, im in images.items():
        if name in (iid, iid[7:]) or name in im["tags"] or (len(name) >= 12 and iid[7:].startswith(name)):
            return iid
    return None


def windows_layer(cmdline, extra=False):
    """A Windows-format layer tar (PAX) for a command line."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", cmdline).strip("_")[:40] or "x"
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    sd = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQIAAAAAAAUgAAAAIAIAAA=="

    def add(path, data=None, attr="16"):
        ti = tarfile.TarInfo(path)
        ti.mtime = MTIME
        ti.uid = ti.gid = 0
        ti.pax_headers = {"MSWINDOWS.fileattr": attr, "MSWINDOWS.rawsd": sd,
                          "LIBARCHIVE.creationtime": str(MTIME)}
        if data is None:
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            t.addfile(ti)
        else:
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    add("Hives")
    add("Files")
    add("Files/Windows")
    add("Files/Windows/Temp")
    add("Files/Windows/Temp/" + name + ".log", ("ran " + cmdline + "\r\n").encode(), "32")
    add("Hives/Software_Delta", b"regf synthetic hive delta\x00", "32")
    if extra:
        add("Files/lie.txt", b"not the layer the engine reported\r\n", "32")
    t.close()
    return buf.getvalue()


def docker_archive(iid):
    im = images[iid]
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)

    def add(path, data):
        ti = tarfile.TarInfo(path)
        ti.size = len(data)
        ti.mtime = MTIME
        t.addfile(ti, io.BytesIO(data))
    cfgname = iid[7:] + ".json"
    add(cfgname, im["config"])
    names = []
    for i, d in enumerate(im["layers"]):
        data = layer_bytes[d]
        if im.get("lie") and i == len(im["layers"]) - 1:
            data = im["lie"]
        dname = hashlib.sha256((iid + str(i)).encode()).hexdigest()
        add(dname + "/VERSION", b"1.0")
        add(dname + "/layer.tar", data)
        names.append(dname + "/layer.tar")
    add("manifest.json", json.dumps([{"Config": cfgname, "RepoTags": None, "Layers": names}]).encode())
    t.close()
    return buf.getvalue()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def address_string(self):
        return "unix"

    def reply(self, code, body=b"", ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("API-Version", API)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def err(self, code, msg):
        self.reply(code, {"message": msg})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self, method):
        u = urllib.parse.urlsplit(self.path)
        path = re.sub(r"^/v[0-9.]+", "", u.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        raw = self.body() if method in ("POST", "PUT") else b""
        rec = None
        if raw and path != "/images/load":
            try:
                rec = json.loads(raw)
            except ValueError:
                rec = raw.decode("latin-1")
        log(method, self.path, rec if path != "/images/load" else {"bytes": len(raw)})
        full = path + ("?" + u.query if u.query else "")
        if STALL and STALL[0] == method and re.search(STALL[1], full):
            log("STALLED", self.path, None)
            time.sleep(STALL_SECONDS)
        return path, q, raw

    def reply_stalling(self, code, body, ctype):
        self.send_response(code)
        self.send_header("API-Version", API)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:1000])
        self.wfile.flush()
        log("STALLED", self.path, None)
        time.sleep(STALL_SECONDS)

    def do_GET(self):
        path, q, _ = self.route("GET")
        if path == "/_ping":
            return self.reply(200, b"OK", "text/plain")
        if path == "/version":
            return self.reply(200, VERSION_BODY)
        if path == "/info":
            return self.reply(200, INFO_BODY)
        if path == "/containers/json":
            with lock:
                return self.reply(200, [{"Id": c, "Labels": v["labels"]} for c, v in containers.items()])
        if path == "/images/json":
            with lock:
                return self.reply(200, [{"Id": i, "RepoTags": sorted(v["tags"]) or None,
                                         "Labels": v["labels"], "ParentId": v.get("parent", "")}
                                        for i, v in images.items()])
        m = re.match(r"^/images/(.+)/json$", path)
        if m:
            with lock:
                iid = find_image(m.group(1))
                if not iid:
                    return self.err(404, "No such image: " + m.group(1))
                im = images[iid]
                return self.reply(200, {"Id": iid, "RepoTags": sorted(im["tags"]),
                                        "Os": "windows", "RootFS": {"Type": "layers", "Layers": im["layers"]}})
        m = re.match(r"^/images/(.+)/get$", path)
        if m:
            with lock:
                iid = find_image(m.group(1))
                data = docker_archive(iid) if iid else None
            if not data:
                return self.err(404, "No such image")
            if STALL_BODY and re.search(STALL_BODY, path):
                return self.reply_stalling(200, data, "application/x-tar")
            return self.reply(200, data, "application/x-tar")
        self.err(404, "page not found: " + path)

    def do_POST(self):
        path, q, raw = self.route("POST")
        if path == "/images/load":
            return self.load(raw)
        if path == "/containers/create":
            return self.create(json.loads(raw))
        if path == "/commit":
            return self.commit(q)
        m = re.match(r"^/containers/([0-9a-f]+)/(attach|start|wait)$", path)
        if m:
            c = containers.get(m.group(1))
            if not c:
                return self.err(404, "No such container: " + m.group(1))
            return getattr(self, m.group(2))(c)
        m = re.match(r"^/images/(.+)/tag$", path)
        if m:
            with lock:
                iid = find_image(m.group(1))
                if not iid:
                    return self.err(404, "No such image")
                tag = q["repo"] + ":" + q.get("tag", "latest")
                for v in images.values():
                    v["tags"].discard(tag)
                images[iid]["tags"].add(tag)
            return self.reply(201)
        self.err(404, "page not found: " + path)

    def do_DELETE(self):
        path, q, _ = self.route("DELETE")
        m = re.match(r"^/containers/([0-9a-f]+)$", path)
        if m:
            with lock:
                c = containers.pop(m.group(1), None)
            if not c:
                return self.err(404, "No such container")
            c["deleted"].set()
            c["started"].set()
            return self.reply(204)
        m = re.match(r"^/images/(.+)$", path)
        if m:
            with lock:
                name = urllib.parse.unquote(m.group(1))
                iid = find_image(name)
                if not iid:
                    return self.err(404, "No such image: " + name)
                im = images[iid]
                if name in im["tags"] and len(im["tags"]) > 1:
                    im["tags"].discard(name)
                    return self.reply(200, [{"Untagged": name}])
                del images[iid]
            return self.reply(200, [{"Deleted": iid}])
        self.err(404, "page not found: " + path)

    # --- handlers ---
    def load(self, raw):
        t = tarfile.open(fileobj=io.BytesIO(raw))
        man = json.load(t.extractfile("manifest.json"))
        for ent in man:
            cfg = t.extractfile(ent["Config"]).read()
            diffs = []
            formats = []
            for lp in ent["Layers"]:
                data = t.extractfile(lp).read()
                if data[:2] == b"\x1f\x8b":  # engines accept compressed layer.tar
                    data = gzip.decompress(data)
                d = sha(data)
                layer_bytes[d] = data
                diffs.append(d)
                names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
                formats.append(names[:2] == ["Hives", "Files"] or names[:2] == ["Files", "Hives"])
            want = json.loads(cfg)["rootfs"]["diff_ids"]
            if want != diffs:
                return self.reply(200, {"error": "diff_ids do not match the layers"})
            iid = sha(cfg)
            with lock:
                images.setdefault(iid, {"config": cfg, "layers": diffs, "tags": set(), "labels": {}})
                for tag in ent.get("RepoTags") or []:
                    for v in images.values():
                        v["tags"].discard(tag)
                    images[iid]["tags"].add(tag)
            log("LOADED", iid, {"layers": diffs, "windows_format": formats,
                                "tags": ent.get("RepoTags")})
        self.reply(200, b'{"stream":"Loaded image\\n"}\n')

    def create(self, body):
        with lock:
            iid = find_image(body.get("Image", ""))
        if not iid:
            return self.err(404, "No such image: " + body.get("Image", ""))
        cid = hashlib.sha256(os.urandom(16)).hexdigest()
        with lock:
            containers[cid] = {"image": iid, "cmd": body.get("Cmd") or [],
                               "labels": body.get("Labels") or {},
                               "started": threading.Event(), "finished": threading.Event(),
                               "deleted": threading.Event(), "code": None}
        self.reply(201, {"Id": cid, "Warnings": []})

    def start(self, c):
        c["started"].set()
        self.reply(204)

    def attach(self, c):
        self.send_response(200)
        self.send_header("API-Version", API)
        self.send_header("Content-Type", "application/vnd.docker.multiplexed-stream")
        self.end_headers()
        self.wfile.flush()
        c["started"].wait(60)

        def frame(stream, text):
            data = text.encode()
            self.wfile.write(bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data)
            self.wfile.flush()
        line = " ".join(c["cmd"])
        try:
            if c["deleted"].is_set():
                c["code"] = 137
            elif "exit 3" in line:
                frame(1, "failing output\r\n")
                c["code"] = 3
            elif "sleep" in line:
                frame(1, "started\r\n")
                c["deleted"].wait(120)
                c["code"] = 137
            else:
                frame(1, "ran: " + (c["cmd"][-1] if c["cmd"] else "") + "\r\n")
                frame(2, "to-stderr\r\n")
                c["code"] = 0
        except OSError:
            c["code"] = 137
        c["finished"].set()
        self.close_connection = True

    def wait(self, c):
        c["finished"].wait(120)
        self.reply(200, {"StatusCode": c["code"], "Error": None})

    def commit(self, q):
        with lock:
            c = containers.get(q.get("container", ""))
        if not c:
            return self.err(404, "No such container")
        with lock:
            parent = images[c["image"]]
        line = " ".join(c["cmd"])
        layers = list(parent["layers"])
        lie = None
        if "nochange" not in line:
            data = windows_layer(line)
            d = sha(data)
            layer_bytes[d] = data
            with open(os.path.join(LOGDIR, "layer-" + d[7:] + ".tar"), "wb") as f:
                f.write(data)
            layers.append(d)
            if "LIE" in line:
                lie = windows_layer(line, extra=True)
        cfg = json.loads(parent["config"])
        cfg["rootfs"] = {"type": "layers", "diff_ids": layers}
        cfg.setdefault("history", []).append({"created_by": line, "comment": q.get("comment", "")})
        cfg["container"] = q["container"]
        data = json.dumps(cfg, sort_keys=True).encode()
        iid = sha(data)
        with lock:
            images[iid] = {"config": data, "layers": layers, "tags": set(),
                           "labels": dict(c["labels"]), "parent": c["image"], "lie": lie}
        self.reply(201, {"Id": iid})


if os.path.exists(SOCK):
    os.unlink(SOCK)
srv = Server(SOCK, H)
print("ready", flush=True)
srv.serve_forever()
