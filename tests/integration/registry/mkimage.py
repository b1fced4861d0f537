#!/usr/bin/env python3
"""Write a small docker-archive (docker save layout) for registry tests.

usage: mkimage.py OUT.tar TAG [--os windows --os-version 10.0.17763.1 --arch amd64]
                  [--file PATH:NAME ...] [--text NAME=CONTENT ...] [--big NAME:BYTES]
                  [--random NAME:BYTES ...] [--layer-tar FILE ...]
Every --file/--text/--big/--random makes one layer, --layer-tar uses a tar as
it is (first). --random is fast (seeded by NAME and BYTES). Deterministic
(mtime 0)."""
import argparse, hashlib, io, json, os, random, tarfile

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("tag")
ap.add_argument("--os", default="linux"); ap.add_argument("--arch", default="amd64")
ap.add_argument("--os-version"); ap.add_argument("--file", action="append", default=[])
ap.add_argument("--text", action="append", default=[]); ap.add_argument("--big", action="append", default=[])
ap.add_argument("--random", action="append", default=[]); ap.add_argument("--layer-tar", action="append", default=[])
a = ap.parse_args()

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in entries:
            parts = name.split("/")
            for i in range(1, len(parts)):
                d = tarfile.TarInfo("/".join(parts[:i])); d.type = tarfile.DIRTYPE; d.mode = 0o755; d.mtime = 0
                if d.name not in t.getnames(): t.addfile(d)
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode; ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

layers = [open(p, "rb").read() for p in a.layer_tar]
for f in a.file:
    path, name = f.split(":", 1)
    layers.append(layer([(name, open(path, "rb").read(), 0o755)]))
for t in a.text:
    name, content = t.split("=", 1)
    layers.append(layer([(name, content.encode(), 0o644)]))
for b in a.big:
    name, n = b.split(":", 1)
    rnd = random.Random(n + name)
    layers.append(layer([(name, bytes(rnd.getrandbits(8) for _ in range(int(n))), 0o644)]))
for b in a.random:
    name, n = b.split(":", 1)
    rnd = random.Random(n + name)
    layers.append(layer([(name, rnd.randbytes(int(n)), 0o644)]))
if a.os == "windows" and not a.layer_tar:
    layers.insert(0, layer([("Hives/x", b"", 0o644)]))

diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
cfg = {"architecture": a.arch, "os": a.os}
if a.os_version: cfg["os.version"] = a.os_version
cfg.update({"config": {"Cmd": ["/bin/sh"] if a.os == "linux" else ["cmd"]},
            "created": "2024-01-01T00:00:00Z",
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "mkimage"} for _ in layers],
            "rootfs": {"type": "layers", "diff_ids": diff_ids}})
cj = json.dumps(cfg, separators=(",", ":")).encode()
ch = hashlib.sha256(cj).hexdigest()
with tarfile.open(a.out, "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    names = []
    for l in layers:
        h = hashlib.sha256(l).hexdigest()
        add(h + "/layer.tar", l); names.append(h + "/layer.tar")
    add(ch + ".json", cj)
    add("manifest.json", json.dumps([{"Config": ch + ".json", "RepoTags": [a.tag], "Layers": names}]).encode())
