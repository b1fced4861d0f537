#!/usr/bin/env python3
"""Compare two images loaded into a dockerd: the flattened filesystems
(`docker export` of a created container: path, type, mode, owner, content
digest, link target) and the config fields a Dockerfile sets. Prints the
differences and exits 1 when there are any. mtimes are not compared
(docs/builder.md: deliberate differences)."""
import hashlib, json, subprocess, sys, tarfile

DOCKER = "/usr/bin/docker"
FIELDS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts",
          "Volumes", "StopSignal", "Healthcheck", "Shell", "OnBuild"]
# present in every exported container filesystem, created by the engine
ENGINE = {".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf", "dev", "proc", "sys",
          "etc", "dev/console", "dev/pts", "dev/shm"}


def listing(image):
    cid = subprocess.check_output([DOCKER, "create", image, "x"], text=True).strip()
    try:
        p = subprocess.Popen([DOCKER, "export", cid], stdout=subprocess.PIPE)
        out = {}
        with tarfile.open(fileobj=p.stdout, mode="r|") as t:
            for e in t:
                name = e.name.rstrip("/")
                if name.startswith("./"):
                    name = name[2:]
                if name in ENGINE or name.startswith("dev/"):
                    continue
                digest = ""
                if e.isfile():
                    digest = hashlib.sha256(t.extractfile(e).read()).hexdigest()[:16]
                kind = "d" if e.isdir() else "l" if e.issym() else "h" if e.islnk() else "f"
                out[name] = (kind, "%o" % e.mode, e.uid, e.gid, digest, e.linkname)
        p.wait()
        return out
    finally:
        subprocess.call([DOCKER, "rm", cid], stdout=subprocess.DEVNULL)


def config(image):
    d = json.loads(subprocess.check_output([DOCKER, "image", "inspect", image]))[0]
    c = d["Config"] or {}
    r = {k: c.get(k) or None for k in FIELDS}
    r["Os"] = d.get("Os")
    r["Architecture"] = d.get("Architecture")
    return r


def main():
    a, b = sys.argv[1], sys.argv[2]
    bad = 0
    la, lb = listing(a), listing(b)
    for k in sorted(set(la) | set(lb)):
        if la.get(k) != lb.get(k):
            print("fs %s: %s=%s %s=%s" % (k, a, la.get(k), b, lb.get(k)))
            bad += 1
    ca, cb = config(a), config(b)
    for k in ca:
        if ca[k] != cb[k]:
            print("config %s: %s=%s %s=%s" % (k, a, ca[k], b, cb[k]))
            bad += 1
    sys.exit(1 if bad else 0)


main()
