#!/usr/bin/env bash
# Images written by berth, checked by real peers: oci-image-tool, skopeo,
# umoci and a private dockerd. Each check skips when its tool is missing.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root SOURCE_DATE_EPOCH=1700000000
have() { command -v "$1" >/dev/null 2>&1; }

# a small tree with a static busybox, so the image can run in docker
BUSYBOX=""
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && file "$b" 2>/dev/null | grep -q 'statically linked'; then BUSYBOX=$b; break; fi
	[ -x "$b" ] && [ -z "$BUSYBOX" ] && ldd "$b" 2>&1 | grep -q 'not a dynamic' && BUSYBOX=$b
done
mkdir -p "$TMP/tree/bin" "$TMP/tree/etc/sub" "$TMP/tree/data"
printf 'berth was here\n' >"$TMP/tree/etc/file"
printf 'secret\n' >"$TMP/tree/etc/sub/mode600"; chmod 600 "$TMP/tree/etc/sub/mode600"
# > 2 MiB, so the gzip layer has several members (1 MiB blocks)
yes 'berth layer data, several gzip members' | head -c 2500000 >"$TMP/tree/data/big"
ln -s ../etc/file "$TMP/tree/data/link"
ln "$TMP/tree/etc/file" "$TMP/tree/data/hard"
[ -n "$BUSYBOX" ] && cp "$BUSYBOX" "$TMP/tree/bin/busybox"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1600000000 --format=posix \
	--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$TMP/tree" -cf "$TMP/layer.tar" .

for comp in gzip zstd; do
	run "$BERTH" import --compression "$comp" -o "oci:$TMP/oci-$comp:v1" "$TMP/layer.tar"
	[ "$RC" = 0 ] && ok "import $comp" || fail "import $comp" "$ERR"
done
# gzip layers are one member per 1 MiB block: Go (skopeo, docker), Python,
# gzip and libarchive (berth's applier, umoci) must read the whole stream
"$BERTH" import --compression gzip --threads 2 "$TMP/layer.tar" berth-test/peers:1 >/dev/null
"$BERTH" save -o "$TMP/docker.tar" berth-test/peers:1
"$BERTH" save -f oci-archive -o "$TMP/oci.tar" berth-test/peers:1
json() { "$BERTH" inspect --format json "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
DIFF=$(json "oci:$TMP/oci-gzip:v1" 'd["layers"][0]["diffID"]')
GZ=$(json "oci:$TMP/oci-gzip:v1" 'd["layers"][0]["digest"]')

PGZ=$(json berth-test/peers:1 'd["layers"][0]["digest"]')
if python3 - "$BERTH_ROOT/images/blobs/sha256/${PGZ#sha256:}" "$DIFF" <<'PY'
import gzip, hashlib, sys, zlib
raw = open(sys.argv[1], "rb").read()
data = gzip.decompress(raw)
assert "sha256:" + hashlib.sha256(data).hexdigest() == sys.argv[2]
first = zlib.decompressobj(16 + 15)
first.decompress(raw)
assert first.eof and len(first.unused_data) > 0, "expected several gzip members"
PY
then ok "python reads the multi-member gzip layer"; else fail "python gzip"; fi
run gzip -t "$BERTH_ROOT/images/blobs/sha256/${PGZ#sha256:}"
[ "$RC" = 0 ] && ok "gzip -t accepts the gzip layer" || fail "gzip -t" "$ERR"
GZD=$(gzip -dc "$BERTH_ROOT/images/blobs/sha256/${PGZ#sha256:}" | sha256sum | cut -d' ' -f1)
[ "sha256:$GZD" = "$DIFF" ] && ok "gzip -d gives the diff_id" || fail "gzip -d diff_id" "$GZD"
[ "$(json berth-test/peers:1 'd["layers"][0]["diffID"]')" = "$DIFF" ] && ok "gzip with 2 threads keeps the diff_id" || fail "pgz diff_id"

# --- oci-image-tool ---
if have oci-image-tool; then
	for comp in gzip zstd; do
		run oci-image-tool validate --type image "$TMP/oci-$comp"
		if [ "$RC" = 0 ]; then ok "oci-image-tool validate ($comp)"
		elif [ "$comp" = zstd ] && [[ "$ERR" == *'invalid descriptor MediaType \"application/vnd.oci.image.layer.v1.tar+zstd\"'* ]]; then
			skip "oci-image-tool validate (zstd)" "this oci-image-tool predates the zstd media type"
		else fail "oci-image-tool validate $comp" "$OUT $ERR"; fi
	done
	mkdir "$TMP/x" && tar -C "$TMP/x" -xf "$TMP/docker.tar"
	run oci-image-tool validate --type image "$TMP/x"
	[ "$RC" = 0 ] && ok "oci-image-tool validate (layout inside docker-archive)" || fail "validate docker-archive layout" "$OUT $ERR"
else
	skip "oci-image-tool" "not installed"
fi

# --- skopeo ---
if have skopeo; then
	run skopeo inspect "oci:$TMP/oci-gzip:v1"
	if [ "$RC" = 0 ] && [[ "$OUT" == *"$GZ"* ]]; then ok "skopeo inspect oci"; else fail "skopeo inspect" "$ERR"; fi
	run skopeo inspect "oci:$TMP/oci-zstd:v1"
	[ "$RC" = 0 ] && ok "skopeo inspect oci (zstd)" || fail "skopeo inspect zstd" "$ERR"
	run skopeo inspect "docker-archive:$TMP/docker.tar"
	[ "$RC" = 0 ] && ok "skopeo inspect docker-archive" || fail "skopeo inspect docker-archive" "$ERR"
	run skopeo inspect "oci-archive:$TMP/oci.tar"
	[ "$RC" = 0 ] && ok "skopeo inspect oci-archive" || fail "skopeo inspect oci-archive" "$ERR"
	# oci -> docker-archive -> oci with skopeo; berth reads every step
	run skopeo copy "oci:$TMP/oci-gzip:v1" "docker-archive:$TMP/sk-docker.tar:peers:rt"
	[ "$RC" = 0 ] && ok "skopeo copy oci -> docker-archive" || fail "skopeo copy to docker-archive" "$ERR"
	run skopeo copy "docker-archive:$TMP/sk-docker.tar" "oci:$TMP/sk-oci:rt"
	[ "$RC" = 0 ] && ok "skopeo copy docker-archive -> oci" || fail "skopeo copy to oci" "$ERR"
	D1=$(json "$TMP/sk-docker.tar" 'd["layers"][0]["diffID"]')
	D2=$(json "oci:$TMP/sk-oci:rt" 'd["layers"][0]["diffID"]')
	[ "$D1" = "$DIFF" ] && [ "$D2" = "$DIFF" ] && ok "round trip keeps the layer diff_id" || fail "round trip diff_id" "$DIFF $D1 $D2"
	# berth's docker-archive -> skopeo oci (skopeo recompresses: compare diff_ids)
	run skopeo copy "docker-archive:$TMP/docker.tar" "oci:$TMP/sk-oci2:rt"
	L2=$(json "oci:$TMP/sk-oci2:rt" 'd["layers"][0]["diffID"]')
	[ "$RC" = 0 ] && [ "$L2" = "$DIFF" ] && ok "berth docker-archive -> skopeo oci keeps the diff_id" || fail "docker-archive to oci" "$DIFF $L2 $ERR"
	run skopeo copy "oci:$TMP/oci-gzip:v1" "oci:$TMP/sk-oci3:v1"
	L3=$(json "oci:$TMP/sk-oci3:v1" 'd["layers"][0]["digest"]')
	M3=$(json "oci:$TMP/sk-oci3:v1" 'd["digest"]')
	M0=$(json "oci:$TMP/oci-gzip:v1" 'd["digest"]')
	[ "$L3" = "$GZ" ] && [ "$M3" = "$M0" ] && ok "skopeo oci -> oci keeps manifest and layer digests" || fail "oci copy" "$M0 $M3 $GZ $L3"
else
	skip "skopeo" "not installed"
fi

# --- umoci ---
if have umoci; then
	run umoci unpack --image "$TMP/oci-gzip:v1" "$TMP/bundle"
	if [ "$RC" = 0 ]; then
		ok "umoci unpack"
		want=$(cd "$TMP/tree" && find . -printf '%p %M %U:%G %l %s\n' | grep -v '^\. ' | sort)
		got=$(cd "$TMP/bundle/rootfs" && find . -printf '%p %M %U:%G %l %s\n' | grep -v '^\. ' | sort)
		[ "$want" = "$got" ] && ok "umoci tree matches (modes, owners, links, sizes)" || { fail "umoci tree"; diff <(echo "$want") <(echo "$got") | head; }
		cmp -s "$TMP/tree/etc/file" "$TMP/bundle/rootfs/etc/file" && ok "umoci file content" || fail "umoci content"
		[ "$(stat -c %i "$TMP/bundle/rootfs/etc/file")" = "$(stat -c %i "$TMP/bundle/rootfs/data/hard")" ] && ok "hardlink kept" || fail "hardlink"
	else
		fail "umoci unpack" "$ERR"
	fi
	run umoci unpack --image "$TMP/oci-zstd:v1" "$TMP/bundle-z"
	if [ "$RC" = 0 ]; then cmp -s "$TMP/tree/etc/file" "$TMP/bundle-z/rootfs/etc/file" && ok "umoci unpack zstd" || fail "umoci zstd content"
	elif [[ "$ERR" == *zstd* || "$ERR" == *"unsupported"* ]]; then skip "umoci unpack zstd" "this umoci has no zstd"
	else fail "umoci unpack zstd" "$ERR"; fi
else
	skip "umoci" "not installed"
fi

# --- a real Docker engine on a private socket ---
DOCKER=/usr/bin/docker
if [ ! -x "$DOCKER" ] || ! have dockerd; then
	skip "docker load" "dockerd or /usr/bin/docker not installed"
elif [ "$(id -u)" != 0 ]; then
	skip "docker load" "needs root to start dockerd"
elif [ -z "$BUSYBOX" ]; then
	skip "docker load" "no static busybox"
else
	D=$(mktemp -d /tmp/berth-dockerd.XXXXXX)   # short path: unix socket length limit
	if ! start_dockerd "$D" --bridge none --iptables=false; then
		skip "docker load" "dockerd did not start: $(tail -3 "$D/dockerd.log")"
	else
		run "$DOCKER" load -i "$TMP/docker.tar"
		[ "$RC" = 0 ] && [[ "$OUT" == *"berth-test/peers:1"* ]] && ok "docker load of berth's docker-archive" || fail "docker load" "$OUT $ERR"
		run "$DOCKER" run --rm --network none berth-test/peers:1 /bin/busybox cat /etc/file
		[ "$OUT" = "berth was here" ] && ok "docker run sees the layer's files" || fail "docker run" "$OUT $ERR"
		run "$DOCKER" run --rm --network none berth-test/peers:1 /bin/busybox readlink /data/link
		[ "$OUT" = "../etc/file" ] && ok "docker run sees the symlink" || fail "docker symlink" "$OUT $ERR"
		ID=$("$DOCKER" image inspect -f '{{.Id}}' berth-test/peers:1)
		CID=$(json berth-test/peers:1 'd["id"]')
		[ "$ID" = "$CID" ] && ok "docker image ID equals berth's config digest" || fail "image id" "$ID $CID"
		# and back: docker save (legacy layout) -> berth
		"$DOCKER" save -o "$TMP/from-docker.tar" berth-test/peers:1
		D3=$(json "$TMP/from-docker.tar" 'd["layers"][0]["diffID"]')
		[ "$D3" = "$DIFF" ] && ok "berth reads docker save output" || fail "docker save" "$D3"
		BERTH_ROOT=$TMP/root-d run "$BERTH" load -i "$TMP/from-docker.tar"
		[ "$OUT" = "Loaded image: berth-test/peers:1" ] && ok "berth load of docker save output" || fail "berth load docker save" "$OUT $ERR"
	fi
fi
finish
