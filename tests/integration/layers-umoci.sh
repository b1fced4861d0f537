#!/usr/bin/env bash
# A Linux layer written by berth's layer writer, put in an OCI layout and
# unpacked by umoci, gives back exactly the tree that went in (types, modes,
# owners, symlink targets, hardlinks, content, file mtimes). The same layer
# through berth's own applier gives the same tree; a Windows layer round
# trips through the applier.
. "$(dirname "$0")/../lib.sh"

TOOL=${BUILD:-$ROOT/build}/tools/berth-layer-tool
if [ ! -x "$TOOL" ]; then
	skip "layers-umoci" "berth-layer-tool not built ($TOOL)"
	finish; exit
fi

SRC=$TMP/src
mkdir -p "$SRC/bin" "$SRC/etc/conf.d" "$SRC/srv/data" "$SRC/ro"
printf '#!/bin/sh\necho hello\n' >"$SRC/bin/hello"
chmod 0755 "$SRC/bin/hello"
ln "$SRC/bin/hello" "$SRC/bin/hello-again"
printf 'key=value\n' >"$SRC/etc/conf.d/app.conf"
chmod 0640 "$SRC/etc/conf.d/app.conf"
: >"$SRC/etc/empty"
chmod 0600 "$SRC/etc/empty"
ln -s ../etc/conf.d/app.conf "$SRC/bin/conf-link"
ln -s /nonexistent/target "$SRC/dangling"
head -c 300000 /dev/zero | tr '\0' 'z' >"$SRC/srv/data/big.bin"
printf 'read only\n' >"$SRC/ro/file"
chmod 0444 "$SRC/ro/file"
chmod 0555 "$SRC/ro"
chmod 0750 "$SRC/srv"
mkfifo "$SRC/srv/fifo"
printf 'x' >"$SRC/srv/setuid"
chmod 4755 "$SRC/srv/setuid"
ROOTUSER=0
if [ "$(id -u)" = 0 ]; then
	ROOTUSER=1
	chown 1000:1000 "$SRC/srv/data" "$SRC/srv/data/big.bin"
	chown -h 123:456 "$SRC/dangling"
fi
find "$SRC" -mindepth 1 -exec touch -h -d @1600000000 {} +

# one line per path: type, mode, owner, link target, content hash, mtime
# (directory mtimes are left out: umoci and berth both restore them, but
# the comparison tree itself is touched while listing)
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort) >"$2"
	(cd "$1" && find . -mindepth 1 -type f -printf '%p %T@\n' | LC_ALL=C sort) >>"$2"
	(cd "$1" && find . -mindepth 1 -type f -exec sha256sum {} + | LC_ALL=C sort -k2) >>"$2"
	# hardlink groups by inode
	(cd "$1" && find . -mindepth 1 -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort |
		awk '{ if ($1 == last) print prev " = " $2; last = $1; prev = $2 }') >>"$2"
}
listing "$SRC" "$TMP/want"

run "$TOOL" write "$SRC" "$TMP/layer.tar"
if [ "$RC" = 0 ]; then ok "write linux layer"; else fail "write linux layer" "$ERR"; fi

# deterministic: a second write is byte-identical
"$TOOL" write "$SRC" "$TMP/layer2.tar"
if cmp -s "$TMP/layer.tar" "$TMP/layer2.tar"; then ok "layer bytes are reproducible"; else
	fail "layer bytes are reproducible"; fi

# our own applier
mkdir "$TMP/applied"
run "$TOOL" apply "$TMP/applied" "$TMP/layer.tar"
if [ "$RC" = 0 ]; then
	listing "$TMP/applied" "$TMP/got-apply"
	if diff -u "$TMP/want" "$TMP/got-apply" >"$TMP/diff"; then ok "berth applier gives the input tree"; else
		fail "berth applier gives the input tree"; head -20 "$TMP/diff"; fi
else
	fail "berth applier gives the input tree" "$ERR"
fi

# Windows layer round trip through the applier (content and structure only:
# Windows layers carry no Unix modes or owners)
mkdir -p "$TMP/wsrc/app/bin"
printf 'MZ' >"$TMP/wsrc/app/bin/x.dll"
printf 'cfg\n' >"$TMP/wsrc/app/cfg.ini"
run "$TOOL" write --windows "$TMP/wsrc" "$TMP/win.tar"
mkdir "$TMP/wroot"
if [ "$RC" = 0 ] && "$TOOL" apply --windows "$TMP/wroot" "$TMP/win.tar" &&
	[ "$(cat "$TMP/wroot/app/bin/x.dll")" = MZ ] && [ "$(cat "$TMP/wroot/app/cfg.ini")" = cfg ]; then
	ok "windows layer round trip"
else
	fail "windows layer round trip" "$ERR"
fi
first=$(tar -tf "$TMP/win.tar" 2>/dev/null | head -2 | tr '\n' ' ')
expect_match "windows layer starts with Hives/ and Files/" '^Hives/ Files/ $' "$first"

if ! command -v umoci >/dev/null || ! command -v jq >/dev/null; then
	skip "umoci unpack" "umoci or jq missing"
	finish; exit
fi

# OCI layout by hand: gzip layer, config, manifest, index
OCI=$TMP/oci
mkdir -p "$OCI/blobs/sha256"
gzip -n -6 -c "$TMP/layer.tar" >"$TMP/layer.tar.gz"
diffid=$(sha256sum "$TMP/layer.tar" | cut -d' ' -f1)
ldig=$(sha256sum "$TMP/layer.tar.gz" | cut -d' ' -f1)
lsize=$(stat -c %s "$TMP/layer.tar.gz")
cp "$TMP/layer.tar.gz" "$OCI/blobs/sha256/$ldig"
jq -cn --arg d "sha256:$diffid" '{architecture:"amd64",os:"linux",
	config:{}, rootfs:{type:"layers",diff_ids:[$d]},
	history:[{created_by:"berth layer writer test"}]}' >"$TMP/config.json"
cdig=$(sha256sum "$TMP/config.json" | cut -d' ' -f1)
csize=$(stat -c %s "$TMP/config.json")
cp "$TMP/config.json" "$OCI/blobs/sha256/$cdig"
jq -cn --arg c "sha256:$cdig" --argjson cs "$csize" --arg l "sha256:$ldig" --argjson ls "$lsize" \
	'{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
	config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
	layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$l,size:$ls}]}' \
	>"$TMP/manifest.json"
mdig=$(sha256sum "$TMP/manifest.json" | cut -d' ' -f1)
msize=$(stat -c %s "$TMP/manifest.json")
cp "$TMP/manifest.json" "$OCI/blobs/sha256/$mdig"
printf '{"imageLayoutVersion":"1.0.0"}' >"$OCI/oci-layout"
jq -cn --arg m "sha256:$mdig" --argjson ms "$msize" '{schemaVersion:2,
	mediaType:"application/vnd.oci.image.index.v1+json",
	manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$ms,
	annotations:{"org.opencontainers.image.ref.name":"test"}}]}' >"$OCI/index.json"

if command -v oci-image-tool >/dev/null; then
	expect_rc "oci-image-tool validates the layout" 0 oci-image-tool validate --type image --ref name=test "$OCI"
fi

rootless=()
[ "$ROOTUSER" = 1 ] || rootless=(--rootless)
run umoci unpack "${rootless[@]}" --image "$OCI:test" "$TMP/bundle"
if [ "$RC" != 0 ]; then
	fail "umoci unpack" "$ERR"
else
	ok "umoci unpack"
	listing "$TMP/bundle/rootfs" "$TMP/got-umoci"
	if [ "$ROOTUSER" = 1 ]; then
		if diff -u "$TMP/want" "$TMP/got-umoci" >"$TMP/diff"; then
			ok "umoci gives the input tree (modes, owners, links, content)"
		else
			fail "umoci gives the input tree (modes, owners, links, content)"; head -30 "$TMP/diff"
		fi
	else
		skip "umoci tree comparison" "needs root for owners and the setuid bit"
	fi
fi
finish
