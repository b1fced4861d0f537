#!/usr/bin/env bash
# CLI tests for the image commands: import, inspect, images, tag, rmi, save,
# load, and hostile inputs (corrupt and missing blobs, 0-byte layers,
# duplicate members, path escapes). Needs only tar and python3.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root
unset SOURCE_DATE_EPOCH
mkdir -p "$TMP/tree/etc" "$TMP/tree/bin"
printf 'hello\n' >"$TMP/tree/etc/file"
printf '#!/bin/sh\necho hi\n' >"$TMP/tree/bin/hi"
chmod 755 "$TMP/tree/bin/hi"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
	--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$TMP/tree" -cf "$TMP/layer.tar" .

# --- import / inspect / images / tag / rmi ---
export SOURCE_DATE_EPOCH=1700000000
run "$BERTH" import "$TMP/layer.tar" demo:1
if [ "$RC" = 0 ] && [[ "$OUT" =~ ^sha256:[0-9a-f]{64}$ ]]; then ok "import prints the manifest digest"
else fail "import" "rc $RC out '$OUT' err '$ERR'"; fi
DIG=$OUT
run "$BERTH" import "$TMP/layer.tar" demo:again
if [ "$OUT" = "$DIG" ]; then ok "import is reproducible with SOURCE_DATE_EPOCH"; else fail "import reproducible" "$OUT != $DIG"; fi
unset SOURCE_DATE_EPOCH

run "$BERTH" inspect demo:1
expect_match "inspect text digest" "Digest: +$DIG" "$OUT"
expect_match "inspect text platform" "Platform: +linux/" "$OUT"
expect_match "inspect text created" "Created: +2023-11-14T22:13:20Z" "$OUT"
expect_match "inspect text layer" "1 +sha256:[0-9a-f]{64} +[0-9]+ +tar\+gzip +diff_id sha256:" "$OUT"

run "$BERTH" inspect --format json demo:1
if python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["digest"]==sys.argv[1]; assert d["layers"][0]["mediaType"].endswith("tar+gzip"); assert d["platform"]["os"]=="linux"; assert d["source"]=="local"' "$DIG" <<<"$OUT"; then
	ok "inspect json has digest, layers, platform"; else fail "inspect json" "$OUT"; fi

run "$BERTH" images
expect_match "images header" "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE" "$OUT"
expect_match "images row" "demo +1 +[0-9a-f]{12} " "$OUT"

expect_rc "tag" 0 "$BERTH" tag demo:1 example.com/team/demo:2
run "$BERTH" inspect example.com/team/demo:2
expect_match "tagged image resolves" "Digest: +$DIG" "$OUT"
expect_out "rmi prints Untagged" "Untagged: example.com/team/demo:2" "$BERTH" rmi example.com/team/demo:2
run "$BERTH" rmi example.com/team/demo:2
if [ "$RC" = 1 ] && [[ "$ERR" == *"no such image"* ]]; then ok "rmi of a missing tag fails"; else fail "rmi missing" "rc $RC $ERR"; fi
expect_rc "inspect unknown image" 1 "$BERTH" inspect nosuch:tag
expect_rc "inspect bad format" 2 "$BERTH" inspect --format yaml demo:1
expect_rc "inspect --help" 0 "$BERTH" inspect --help

# concurrent tag updates must not lose each other (index.json is locked)
for i in 1 2 3 4 5 6 7 8; do "$BERTH" tag demo:1 "par$i:x" & done; wait
run "$BERTH" images
[ "$(printf '%s\n' "$OUT" | grep -c '^par')" = 8 ] && ok "parallel tag updates all kept" || fail "parallel tags" "$OUT"

# --- zstd and none ---
run "$BERTH" import --compression zstd -o "oci:$TMP/zl:z" "$TMP/layer.tar"
run "$BERTH" inspect "oci:$TMP/zl:z"
expect_match "zstd layer media type" "tar\+zstd" "$OUT"
run "$BERTH" import --compression none -o "oci:$TMP/nl:n" "$TMP/layer.tar"
run "$BERTH" inspect --format json "$TMP/nl"
if python3 -c 'import json,sys; d=json.load(sys.stdin); l=d["layers"][0]; assert l["digest"]==l["diffID"]' <<<"$OUT"; then
	ok "uncompressed layer: digest equals diff_id"; else fail "none layer" "$OUT"; fi
run "$BERTH" import --compression gzip -o "oci:$TMP/gl:g" "$TMP/layer.tar"
run "$BERTH" inspect --format json "$TMP/gl"
GZ_DIFF=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["diffID"])' <<<"$OUT")
if [ "$GZ_DIFF" = "sha256:$(sha256sum <"$TMP/layer.tar" | cut -d' ' -f1)" ]; then ok "diff_id is sha256 of the tar"
else fail "diff_id" "$GZ_DIFF"; fi
# a directory: berth's own layer writer (owners 0:0, sorted, mtimes clamped)
touch -d @1700000000 "$TMP/tree/etc/file"
run env SOURCE_DATE_EPOCH=1000 "$BERTH" import --compression gzip --threads 2 -o "oci:$TMP/dl:d" "$TMP/tree"
run env SOURCE_DATE_EPOCH=1000 "$BERTH" import --compression gzip -o "oci:$TMP/dl0:d" "$TMP/tree"
run "$BERTH" inspect --format json "oci:$TMP/dl:d"
DL=$(python3 -c 'import json,sys; d=json.load(sys.stdin)["layers"][0]; print(d["digest"])' <<<"$OUT")
run "$BERTH" inspect --format json "oci:$TMP/dl0:d"
DL0=$(python3 -c 'import json,sys; d=json.load(sys.stdin)["layers"][0]; print(d["digest"])' <<<"$OUT")
[ -n "$DL" ] && [ "$DL" = "$DL0" ] && ok "import DIR: same layer with 0 and 2 threads" || fail "import DIR threads" "$DL $DL0"
if python3 - "$TMP/dl/blobs/sha256/${DL#sha256:}" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    m = {x.name: x for x in t.getmembers()}
    assert sorted(m) == ["bin", "bin/hi", "etc", "etc/file"], sorted(m)
    assert all(x.uid == 0 and x.gid == 0 for x in m.values())
    assert m["etc/file"].mtime == 1000 and m["bin/hi"].mode == 0o755
    assert t.extractfile("etc/file").read() == b"hello\n"
PY
then ok "import DIR writes the tree (owners 0:0, mtime clamped)"; else fail "import DIR content"; fi
gzip -c "$TMP/layer.tar" >"$TMP/layer.tar.gz"
expect_rc "import of a compressed file is refused" 2 "$BERTH" import -o "oci:$TMP/x" "$TMP/layer.tar.gz"

# --- a multi-platform index: selection by --platform and Windows os.version ---
for v in 10.0.17763.999 10.0.17763.1000 10.0.20348.5; do
	"$BERTH" import --platform windows/amd64 --os-version "$v" -o "oci:$TMP/multi:$v" "$TMP/layer.tar" >/dev/null
done
"$BERTH" import --platform linux/arm64 -o "oci:$TMP/multi:arm" "$TMP/layer.tar" >/dev/null
python3 - "$TMP/multi" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
ms = []
for m in idx["manifests"]:
    m = dict(m); m.pop("annotations", None); ms.append(m)
blob = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}).encode()
h = hashlib.sha256(blob).hexdigest()
open(d + "/blobs/sha256/" + h, "wb").write(blob)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + h,
                         "size": len(blob), "annotations": {"org.opencontainers.image.ref.name": "all"}})
json.dump(idx, open(d + "/index.json", "w"))
PY
run "$BERTH" inspect --platform 'windows(10.0.17763)/amd64' "oci:$TMP/multi:all"
expect_match "windows os.version: same build, highest revision" "OS version: +10.0.17763.1000" "$OUT"
expect_match "selected from the index" "Index: +sha256:" "$OUT"
run "$BERTH" inspect --platform 'windows(10.0.20348)/amd64' "oci:$TMP/multi:all"
expect_match "windows os.version: other build" "OS version: +10.0.20348.5" "$OUT"
run "$BERTH" inspect --platform windows/amd64 "oci:$TMP/multi:all"
expect_match "windows without os.version: first match" "OS version: +10.0.17763.999" "$OUT"
run "$BERTH" inspect --platform linux/arm64 "oci:$TMP/multi:all"
expect_match "linux/arm64 entry" "Platform: +linux/arm64" "$OUT"
# one selector for archives and registries (img_index_select): a 26100
# host takes the 20348 entry (stable ABI); a build below 20348 is refused
run "$BERTH" inspect --platform 'windows(10.0.26100)/amd64' "oci:$TMP/multi:all"
expect_match "windows 26100: stable-ABI fallback to the 20348 entry" "OS version: +10.0.20348.5" "$OUT"
run "$BERTH" inspect --platform 'windows(10.0.19041)/amd64' "oci:$TMP/multi:all"
if [ "$RC" = 1 ] && [[ "$ERR" == *"no image for platform"*"available: windows/amd64 (10.0.17763.999)"* ]]; then
	ok "unknown build refused, platforms listed"; else fail "unknown build" "rc $RC: $ERR"; fi
expect_rc "bad --platform" 2 "$BERTH" inspect --platform linux "oci:$TMP/multi:all"

# --- save / load round trip ---
expect_rc "save docker-archive" 0 "$BERTH" save -o "$TMP/d.tar" demo:1
expect_rc "save oci-archive" 0 "$BERTH" save -f oci-archive -o "$TMP/o.tar" demo:1
expect_rc "save oci" 0 "$BERTH" save -f oci -t v1 -o "$TMP/lay" demo:1
"$BERTH" save -o "$TMP/d2.tar" demo:1
if cmp -s "$TMP/d.tar" "$TMP/d2.tar"; then ok "save is deterministic"; else fail "save deterministic"; fi
run "$BERTH" inspect "$TMP/d.tar"
expect_match "docker-archive detected" "Digest: +$DIG" "$OUT"
run "$BERTH" inspect "oci-archive:$TMP/o.tar"
expect_match "oci-archive inspect" "Digest: +$DIG" "$OUT"
run "$BERTH" inspect "oci:$TMP/lay:v1"
expect_match "oci layout inspect" "Digest: +$DIG" "$OUT"
if tar -tf "$TMP/d.tar" | sort | tr '\n' ' ' | grep -q 'index.json manifest.json oci-layout'; then
	ok "docker-archive holds manifest.json and the OCI layout"; else fail "docker-archive members"; fi
BERTH_ROOT=$TMP/root2 expect_out "load prints Loaded image" "Loaded image: demo:1" "$BERTH" load -i "$TMP/d.tar"
BERTH_ROOT=$TMP/root2 run "$BERTH" inspect demo:1
expect_match "loaded image keeps its digest" "Digest: +$DIG" "$OUT"
BERTH_ROOT=$TMP/root3 run "$BERTH" load <"$TMP/o.tar"
expect_match "load oci-archive from stdin" "^Loaded image: demo:1$" "$OUT"
"$BERTH" save -f oci-archive -o "$TMP/untagged.tar" "$DIG"
"$BERTH" save -o "$TMP/byid.tar" "$(printf %.12s "${DIG#sha256:}")"
run "$BERTH" inspect --format json "$TMP/byid.tar"
expect_match "save by digest prefix" "\"digest\":.*\"$DIG\"" "$OUT"
[ "$(tar -xOf "$TMP/byid.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"])')" = "[]" ] && ok "saved by ID: no RepoTags" || fail "RepoTags by id"
[ "$(tar -xOf "$TMP/d.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"])')" = "['demo:1']" ] && ok "saved by tag: RepoTags" || fail "RepoTags by tag"
BERTH_ROOT=$TMP/root3 run "$BERTH" load -q -i "$TMP/untagged.tar"
[ "$RC" = 0 ] && [ -z "$OUT" ] && ok "load -q prints nothing" || fail "load -q" "$RC $OUT"
BERTH_ROOT=$TMP/root5 run "$BERTH" load -i "$TMP/untagged.tar"
expect_match "load of an untagged image prints its ID" "^Loaded image ID: $DIG$" "$OUT"
BERTH_ROOT=$TMP/root5 "$BERTH" load -q -i "$TMP/untagged.tar"
BERTH_ROOT=$TMP/root5 run "$BERTH" images -q
[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] && ok "loading an untagged image twice keeps one entry" || fail "untagged dedupe" "$OUT"

# --- hostile inputs ---
# corrupt layer blob in a layout: export verifies and names the blob
cp -r "$TMP/lay" "$TMP/bad1"
LAYER=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2][7:])); print(m["layers"][0]["digest"])' "$TMP/bad1" "$DIG")
chmod u+w "$TMP/bad1/blobs/sha256/${LAYER#sha256:}"
printf 'X' | dd of="$TMP/bad1/blobs/sha256/${LAYER#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
run "$BERTH" save -o "$TMP/bad1.tar" "oci:$TMP/bad1:v1"
if [ "$RC" = 1 ] && [[ "$ERR" == *"$LAYER"*corrupt* ]]; then ok "corrupt blob: digest mismatch names the blob"
else fail "corrupt blob" "rc $RC: $ERR"; fi
[ ! -e "$TMP/bad1.tar" ] && ok "no partial archive left behind" || fail "partial archive"
# corrupt config blob: inspect fails
cp -r "$TMP/lay" "$TMP/bad2"
CFG=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2][7:])); print(m["config"]["digest"])' "$TMP/bad2" "$DIG")
python3 - "$TMP/bad2/blobs/sha256/${CFG#sha256:}" <<'PY'
import sys
p = sys.argv[1]
b = open(p, "rb").read()
open(p, "wb").write(b.replace(b"linux", b"LINUX"))
PY
run "$BERTH" inspect "oci:$TMP/bad2:v1"
if [ "$RC" = 1 ] && [[ "$ERR" == *"$CFG"*corrupt* ]]; then ok "corrupt config blob detected"; else fail "corrupt config" "rc $RC: $ERR"; fi
# index pointing at a missing blob
cp -r "$TMP/lay" "$TMP/bad3"
rm -f "$TMP/bad3/blobs/sha256/${DIG#sha256:}"
run "$BERTH" inspect "oci:$TMP/bad3:v1"
if [ "$RC" = 1 ] && [[ "$ERR" == *"$DIG"*missing* ]]; then ok "missing manifest blob"; else fail "missing blob" "rc $RC: $ERR"; fi
# oci layout version
cp -r "$TMP/lay" "$TMP/bad4"
printf '{"imageLayoutVersion":"2.0.0"}' >"$TMP/bad4/oci-layout"
run "$BERTH" inspect "oci:$TMP/bad4:v1"
expect_match "unsupported layout version" "imageLayoutVersion '2.0.0'" "$ERR"

# crafted archives
python3 - "$TMP" <<'PY'
import io, json, sys, tarfile, hashlib
T = sys.argv[1]
def add(tf, name, data, typ=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.type = typ; ti.linkname = link; ti.size = len(data) if typ == tarfile.REGTYPE else 0
    tf.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
layer = open(T + "/layer.tar", "rb").read()
diff = "sha256:" + hashlib.sha256(layer).hexdigest()
def cfg(ids):
    return json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ids}}).encode()
def legacy(path, members):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for m in members: add(tf, *m)
c = cfg([diff]); ch = hashlib.sha256(c).hexdigest()
man = json.dumps([{"Config": ch + ".json", "RepoTags": ["ok:1"], "Layers": ["abc/layer.tar"]}]).encode()
legacy(T + "/legacy.tar", [(ch + ".json", c), ("abc/layer.tar", layer), ("abc/VERSION", b"1.0"), ("manifest.json", man)])
# symlinked duplicate layer, as docker save writes it
man2 = json.dumps([{"Config": ch + ".json", "RepoTags": ["ok:2"], "Layers": ["def/layer.tar"]}]).encode()
legacy(T + "/symlink.tar", [(ch + ".json", c), ("abc/layer.tar", layer), ("def/layer.tar", b"", tarfile.SYMTYPE, "../abc/layer.tar"), ("manifest.json", man2)])
legacy(T + "/escape-link.tar", [(ch + ".json", c), ("def/layer.tar", b"", tarfile.SYMTYPE, "../../../etc/passwd"), ("manifest.json", man2)])
e = hashlib.sha256(b"").hexdigest()
c0 = cfg(["sha256:" + e]); c0h = hashlib.sha256(c0).hexdigest()
legacy(T + "/zero.tar", [(c0h + ".json", c0), ("abc/layer.tar", b""), ("manifest.json", json.dumps([{"Config": c0h + ".json", "RepoTags": ["z:1"], "Layers": ["abc/layer.tar"]}]).encode())])
legacy(T + "/dup.tar", [(ch + ".json", c), ("abc/layer.tar", layer), ("abc/layer.tar", layer), ("manifest.json", man)])
legacy(T + "/dupjson.tar", [(ch + ".json", c), ("abc/layer.tar", layer), ("manifest.json", man), ("manifest.json", man)])
legacy(T + "/dotdot.tar", [("../evil", b"x"), ("manifest.json", man)])
legacy(T + "/abs.tar", [("/tmp/evil-berth", b"x"), ("manifest.json", man)])
legacy(T + "/badblob.tar", [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("blobs/sha256/" + "0" * 64, b"not zero"), ("index.json", b'{"schemaVersion":2,"manifests":[]}')])
legacy(T + "/noblob.tar", [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "1" * 64, "size": 10}]}).encode())])
legacy(T + "/jsonref.tar", [(ch + ".json", c), ("abc/json", b"{}"), ("manifest.json", json.dumps([{"Config": ch + ".json", "Layers": ["abc/json"]}]).encode())])
cd = cfg([diff, diff]); cdh = hashlib.sha256(cd).hexdigest()
legacy(T + "/count.tar", [(cdh + ".json", cd), ("abc/layer.tar", layer), ("manifest.json", json.dumps([{"Config": cdh + ".json", "Layers": ["abc/layer.tar"]}]).encode())])
cx = cfg(["sha256:" + "2" * 64]); cxh = hashlib.sha256(cx).hexdigest()
legacy(T + "/diffid.tar", [(cxh + ".json", cx), ("abc/layer.tar", layer), ("manifest.json", json.dumps([{"Config": cxh + ".json", "Layers": ["abc/layer.tar"]}]).encode())])
PY
run "$BERTH" inspect "$TMP/legacy.tar"
expect_match "legacy docker-archive" "diff_id $(printf %s "sha256:$(sha256sum <"$TMP/layer.tar" | cut -d' ' -f1)")" "$OUT"
run "$BERTH" inspect "$TMP/symlink.tar"
expect_match "legacy docker-archive with symlinked layer" "Layers: +1" "$OUT"
hostile() { # name, file, pattern, want-rc
	run "$BERTH" inspect "$2"
	if [ "$RC" = "$4" ] && [[ "$ERR" == *$3* ]]; then ok "$1"; else fail "$1" "rc $RC: $ERR"; fi
}
hostile "symlink escaping the archive" "$TMP/escape-link.tar" "outside the archive" 1
hostile "0-byte layer" "$TMP/zero.tar" "empty (0 bytes)" 2
hostile "duplicate layer member" "$TMP/dup.tar" "duplicate member 'abc/layer.tar'" 2
hostile "duplicate manifest.json" "$TMP/dupjson.tar" "duplicate member 'manifest.json'" 2
hostile "'..' member" "docker-archive:$TMP/dotdot.tar" "escapes with '..'" 1
hostile "absolute member" "docker-archive:$TMP/abs.tar" "absolute path" 1
[ ! -e "$TMP/../evil" ] && [ ! -e /tmp/evil-berth ] && ok "nothing written outside" || fail "escape wrote a file"
hostile "blob not matching its name" "oci-archive:$TMP/badblob.tar" "corrupt" 1
hostile "index pointing at a missing blob" "oci-archive:$TMP/noblob.tar" "missing blob" 1
hostile "layer pointing at a metadata member" "$TMP/jsonref.tar" "cannot be used as the layer" 2
hostile "layer count differs from diff_ids" "$TMP/count.tar" "1 layers but the config has 2 diff_ids" 2
hostile "uncompressed layer not matching diff_id" "$TMP/diffid.tar" "diff_id" 1
printf 'not a tar' >"$TMP/garbage"
hostile "garbage file" "$TMP/garbage" "not a tar archive" 2
BERTH_ROOT=$TMP/root4 run "$BERTH" load -i "$TMP/zero.tar"
if [ "$RC" = 2 ] && [ ! -s "$TMP/out" ]; then ok "load refuses a 0-byte layer"; else fail "load zero" "rc $RC $OUT $ERR"; fi
finish
