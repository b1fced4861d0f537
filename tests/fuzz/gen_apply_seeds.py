#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_apply into tests/fuzz/corpus/apply/.
Deterministic (fixed mtimes, owners, gzip mtime 0); the seeds are committed,
rerun only to change them: python3 tests/fuzz/gen_apply_seeds.py"""
import gzip, io, os, subprocess, tarfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "apply")
tarfile.RECORDSIZE = 2 * tarfile.BLOCKSIZE  # no 10 KiB padding: keep seeds small
T = 1600000000

def info(name, typ=tarfile.REGTYPE, data=b"", mode=0o644, link="", pax=None, **kw):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.linkname = typ, mode, T, link
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.size = len(data) if typ == tarfile.REGTYPE else 0
    if pax:
        ti.pax_headers = pax
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, (data if typ == tarfile.REGTYPE else None)

def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()

D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
basic = [info("etc/", D, mode=0o755), info("etc/conf", data=b"key=value\n"),
         info("etc/link", L, link="conf"), info("etc/hard", H, link="etc/conf"),
         info("bin/", D), info("bin/sh", data=b"#!/bin/sh\n", mode=0o755),
         info("dev/", D), info("dev/fifo", tarfile.FIFOTYPE)]
seeds = {
    "basic.tar": tar(basic),
    "whiteouts.tar": tar([info("etc/", D), info("etc/.wh..wh..opq"), info("etc/.wh.conf"),
                          info(".wh.bin"), info("etc/new", data=b"n")]),
    "pax-long-xattr.tar": tar([info("d/" + "x" * 150, data=b"long",
                                    pax={"SCHILY.xattr.user.k": "v"}),
                               info("d/l", L, link="y" * 200)]),
    "gnu-long.tar": tar([info("g/" + "z" * 120, data=b"gnu")], tarfile.GNU_FORMAT),
    "windows.tar": tar([info("Hives/", D), info("Files/", D),
                        info("Files/app/", D, pax={"MSWINDOWS.fileattr": "16"}),
                        info("Files/app/x.exe", data=b"MZ",
                             pax={"MSWINDOWS.fileattr": "32", "LIBARCHIVE.creationtime": "5",
                                  "MSWINDOWS.rawsd": "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA=="}),
                        info("Files/app/y.exe", H, link="Files/app/x.exe"),
                        info("Files/app/x.exe:ads", data=b"s")]),
    "escape-dotdot.tar": tar([info("../escape", data=b"x")]),
    "escape-symlink.tar": tar([info("evil", L, link="../../.."), info("evil/x", data=b"x")]),
    "escape-hardlink.tar": tar([info("h", H, link="../sentinel/x")]),
    "duplicates.tar": tar([info("a", data=b"1"), info("a", L, link="/etc"), info("a", data=b"2"),
                           info("d/", D), info("d", data=b"f")]),
    "device.tar": tar([info("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)]),
}
seeds["basic.tar.gz"] = gzip.compress(seeds["basic.tar"], 9, mtime=0)
try:
    seeds["basic.tar.zst"] = subprocess.run(["zstd", "-q", "-19", "-c"], input=seeds["basic.tar"],
                                            capture_output=True, check=True).stdout
except (OSError, subprocess.CalledProcessError):
    pass
os.makedirs(OUT, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")
