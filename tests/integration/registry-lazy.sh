#!/usr/bin/env bash
# Lazy Windows bases (issue 8 proof): a synthetic Windows base with large
# random layers is pushed to a loopback docker-registry for three os.versions
# as a manifest list; `berth build --push` of a COPY-only Dockerfile FROM it,
# once per os.version, through a counting proxy, must move no base layer byte
# (only index, manifests, configs and the new layer); the three results make
# a manifest list whose entries skopeo sees in the documented order. Also:
# fsck counts lazy layers as remote, an --output that must contain the base
# fetches it, RUN-less WORKDIR stays lazy, and pushing to another registry
# copies the base layers. Last, a lazily built image in the local store:
# inspect, images, tag, rmi, manifest create and FROM send no request; save
# fetches the base layers into a docker-archive/oci-archive that skopeo,
# oci-image-tool and umoci read; with the registry stopped inspect still
# works and save fails naming the layer and registry, writing nothing.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/registry-lib.sh"
HERE=$REG_HERE
ROOT_DIR=$ROOT

if ! have docker-registry; then
	skip "lazy registry suite" "docker-registry is not installed"
	finish; exit $?
fi
export SOURCE_DATE_EPOCH=1700000000
unset DOCKER_AUTH_CONFIG
export DOCKER_CONFIG=$TMP/docker-empty
mkdir -p "$DOCKER_CONFIG"
# size of each of the 3 random base layers (the issue's proof: 30 MB)
LAYER_BYTES=${LAZY_LAYER_BYTES:-31457280}

start_registry reg
start_registry other
R=127.0.0.1:$PORT_reg
if ! curl -sf -o /dev/null "http://$R/v2/"; then
	fail "registry start" "$(tail -5 "$TMP/reg.log")"
	finish; exit $?
fi
start_proxy cnt "$PORT_reg" --max-requests 100000
P=127.0.0.1:$PPORT_cnt

# --- the synthetic base: 1 Windows layer + 3 random layers per os.version ---
"$ROOT_DIR/scripts/mk-windows-base" "$TMP/wb" >/dev/null
VERS="10.0.17763.5329 10.0.20348.2227 10.0.26100.1742"
export BERTH_ROOT=$TMP/setup
for v in $VERS; do
	b=$(cut -d. -f3 <<<"$v")
	"$PY" "$HERE/mkimage.py" "$TMP/base-$b.tar" "winbase:$b" --os windows --os-version "$v" \
		--layer-tar "$TMP/wb/windows-base.tar" \
		--random "Files/Windows/big1-$b.bin:$LAYER_BYTES" \
		--random "Files/Windows/big2-$b.bin:$LAYER_BYTES" \
		--random "Files/Windows/big3-$b.bin:$LAYER_BYTES"
	"$BERTH" load -q -i "$TMP/base-$b.tar" >/dev/null || fail "load base $b"
	rm -f "$TMP/base-$b.tar"
done
run "$BERTH" manifest create winbase:multi winbase:17763 winbase:20348 winbase:26100
[ "$RC" = 0 ] || fail "base list" "$ERR"
run "$BERTH" manifest push -q winbase:multi "$R/base/win:ltsc"
[ "$RC" = 0 ] && ok "synthetic Windows base (3 os.versions, 3 x $LAYER_BYTES-byte layers each) pushed as a list" || fail "base push" "$ERR"
BASE_LAYERS=()
for b in 17763 20348 26100; do
	while read -r d; do BASE_LAYERS+=("$d"); done < <("$BERTH" inspect --format json "winbase:$b" | "$PY" -c 'import json,sys; [print(l["digest"]) for l in json.load(sys.stdin)["layers"]]')
done
[ "${#BASE_LAYERS[@]}" = 12 ] || fail "base layer list" "${BASE_LAYERS[*]}"

# --- build FROM the registry list, three times, --push ---
export BERTH_ROOT=$TMP/build
mkdir -p "$TMP/ctx"
printf 'hello from the app\r\n' >"$TMP/ctx/app.txt"
cat >"$TMP/ctx/Dockerfile" <<EOF
FROM $P/base/win:ltsc
COPY app.txt C:/app/
EOF
: >"$TMP/cnt.plog"
BUILT=()
for b in 17763 20348 26100; do
	run "$BERTH" build --platform windows/amd64 --os-version "10.0.$b" -t "$P/app/win:$b" --push "$TMP/ctx"
	# the Windows layer of the base is the same in all three (made once);
	# the COPY layer is the same too: pushed once, then found
	nm=$(grep -c 'Mounted from base/win' <<<"$ERR")
	np=$(grep -c ': Pushed' <<<"$ERR")
	if [ "$RC" = 0 ] && [[ "$ERR" == *"resolved $P/base/win:ltsc"*"lazy"* ]] &&
		[ "$nm" -ge 3 ] && [ "$np" -ge 1 ] && [ "$np" -le 2 ]; then
		ok "build $b --push: base resolved lazily, base layers mounted ($nm) or present, config pushed"
	else
		fail "build $b" "rc $RC: $ERR"
	fi
	BUILT+=("$P/app/win:$b")
done
moved=$(proxy_bytes "$TMP/cnt.plog")
[ "$moved" -lt 1000000 ] && ok "three builds + pushes moved $moved bytes through the registry (the base has $((9 * LAYER_BYTES)) bytes of big layers)" || fail "bytes moved" "$moved"
nget=0
for d in "${BASE_LAYERS[@]}"; do
	grep -q "^GET /v2/base/win/blobs/$d " "$TMP/cnt.plog" && nget=$((nget + 1))
done
[ "$nget" = 0 ] && ok "no base layer was downloaded" || fail "base layers downloaded" "$nget"
grep -E '^(PUT|PATCH) ' "$TMP/cnt.plog" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^len=/) { split($i, a, "="); if (a[2] > 100000) bad++ } } END { exit bad > 0 }' &&
	ok "no upload larger than 100 kB" || fail "large upload" "$(grep -E '^(PUT|PATCH) ' "$TMP/cnt.plog")"
nlocal=0
for d in "${BASE_LAYERS[@]}"; do [ -e "$BERTH_ROOT/images/blobs/sha256/${d#sha256:}" ] && nlocal=$((nlocal + 1)); done
[ "$nlocal" = 0 ] && ok "the local store holds no base layer" || fail "base layers stored" "$nlocal"

# the pushed images: os.version from their base, base layers byte-identical
if have skopeo; then
	RAW=$(skopeo inspect --raw --tls-verify=false "docker://$R/app/win:20348")
	CFG=$(skopeo inspect --config --tls-verify=false "docker://$R/app/win:20348")
	if "$PY" - "$RAW" "$CFG" "${BASE_LAYERS[4]}" "${BASE_LAYERS[7]}" <<'PY'
import json, sys
m, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d = [l["digest"] for l in m["layers"]]
assert len(d) == 5 and d[0] == sys.argv[3] and d[3] == sys.argv[4], d
assert c["os"] == "windows" and c["os.version"] == "10.0.20348.2227", c
PY
	then ok "pushed image: base layers kept, os.version 10.0.20348.2227"; else fail "pushed image" "$RAW $CFG"; fi
fi

# --- the multi-release list over the pushed refs ---
run "$BERTH" manifest create app:multi "${BUILT[@]}"
[ "$RC" = 0 ] && ok "manifest create over the three pushed builds" || fail "manifest create" "$ERR"
run "$BERTH" manifest push -q app:multi "$R/app/win:multi"
[ "$RC" = 0 ] && ok "manifest push of the list" || fail "manifest push" "$ERR"
if have skopeo; then
	RAW=$(skopeo inspect --raw --tls-verify=false "docker://$R/app/win:multi")
	if "$PY" - "$RAW" <<'PY'
import json, sys
x = json.loads(sys.argv[1])
assert x["mediaType"] in ("application/vnd.oci.image.index.v1+json",
                          "application/vnd.docker.distribution.manifest.list.v2+json"), x
p = [m["platform"] for m in x["manifests"]]
assert [q["os"] for q in p] == ["windows"] * 3, p
assert [q["architecture"] for q in p] == ["amd64"] * 3, p
assert [q["os.version"] for q in p] == ["10.0.26100.1742", "10.0.20348.2227", "10.0.17763.5329"], p
PY
	then ok "skopeo inspect --raw: windows/amd64 entries, os.version newest first"; else fail "list shape" "$RAW"; fi
	run skopeo inspect --tls-verify=false --override-os windows --format '{{.Os}}' "docker://$R/app/win:multi"
	[ "$OUT" = windows ] && ok "skopeo resolves the list" || fail "skopeo list" "$OUT $ERR"
fi

# --- the lazily built image in the local store ---
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"0 errors"*"12 remote layers (lazy)"* ]] && ok "fsck: lazy base layers are remote, not missing" || fail "fsck lazy" "$RC $OUT"
run "$BERTH" fsck --format json
[ "$RC" = 0 ] && grep -Eq '"remoteLayers":[[:space:]]*12' <<<"$OUT" && ok "fsck --format json: remoteLayers" || fail "fsck json" "$OUT"
# push of the lazily built image with berth push: mounts again
run "$BERTH" push "$P/app/win:17763" "$P/again/win:17763"
[ "$RC" = 0 ] && [ "$(grep -c 'Mounted from' <<<"$OUT")" = 6 ] && ok "berth push of a lazily built image mounts every blob" || fail "push lazy build" "$OUT $ERR"
# another registry: the base layers have to be copied
O=127.0.0.1:$PORT_other
run "$BERTH" push "$P/app/win:17763" "$O/copy/win:17763"
[ "$RC" = 0 ] && [ "$(grep -c "Pushed (streamed from $P/base/win)" <<<"$OUT")" = 4 ] && ok "push to another registry streams the 4 base layers registry-to-registry" || fail "push other registry" "$OUT $ERR"
nlocal=0
for d in "${BASE_LAYERS[@]}"; do [ -e "$BERTH_ROOT/images/blobs/sha256/${d#sha256:}" ] && nlocal=$((nlocal + 1)); done
[ "$nlocal" = 0 ] && ok "streamed copy stored nothing locally" || fail "streamed copy stored" "$nlocal"
if have skopeo; then
	run skopeo copy --src-tls-verify=false --dest-tls-verify=false "docker://$O/copy/win:17763" "oci:$TMP/copied:x"
	[ "$RC" = 0 ] && ok "skopeo copies the image from the other registry (blobs verified)" || fail "skopeo copy other" "$ERR"
fi

# a corrupted source blob: the copy stops with a digest error, nothing stored
start_proxy bad "$PORT_reg" --corrupt "${BASE_LAYERS[1]#sha256:}"
B=127.0.0.1:$PPORT_bad
export BERTH_ROOT=$TMP/build6
run "$BERTH" pull -q --lazy --os-version 10.0.17763 "$B/base/win:ltsc"
run "$BERTH" push "$B/base/win:ltsc" "$O/bad/win:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"${BASE_LAYERS[1]}"*"hashes to"* ]] && ok "streamed copy of a corrupted blob fails with a digest error" || fail "corrupt stream" "$RC $OUT $ERR"
run curl -s -o /dev/null -w '%{http_code}' -I "http://$O/v2/bad/win/blobs/${BASE_LAYERS[1]}"
[ "$OUT" = 404 ] && [ ! -e "$BERTH_ROOT/images/blobs/sha256/${BASE_LAYERS[1]#sha256:}" ] && ok "the corrupted blob is in neither registry nor store" || fail "corrupt stored" "$OUT"

# --- things that must read the base fetch it ---
export BERTH_ROOT=$TMP/build2
: >"$TMP/cnt.plog"
run "$BERTH" build --platform windows/amd64 --os-version 10.0.17763 -o "type=oci,dest=$TMP/out-oci" "$TMP/ctx"
if [ "$RC" = 0 ] && [[ "$ERR" == *"fetching 4 lazy base layers"* ]] && [ -s "$TMP/out-oci/index.json" ]; then
	ok "--output type=oci fetches the lazy base layers"
else
	fail "output fetch" "$ERR"
fi
n=0
for d in "${BASE_LAYERS[@]:0:4}"; do [ -f "$TMP/out-oci/blobs/sha256/${d#sha256:}" ] && n=$((n + 1)); done
[ "$n" = 4 ] && ok "the OCI layout holds the 4 base layers" || fail "oci base layers" "$n"
if have skopeo; then
	run skopeo inspect "oci:$TMP/out-oci"
	[ "$RC" = 0 ] && ok "skopeo reads the exported layout" || fail "skopeo oci" "$ERR"
fi
# WORKDIR + COPY keep the base lazy
export BERTH_ROOT=$TMP/build3
cat >"$TMP/ctx/Dockerfile.wd" <<EOF
FROM $P/base/win:ltsc
WORKDIR C:/app
COPY app.txt .
EOF
: >"$TMP/cnt.plog"
run "$BERTH" build --platform 'windows(10.0.20348)/amd64' -f "$TMP/ctx/Dockerfile.wd" -t wd:1 "$TMP/ctx"
[ "$RC" = 0 ] && [[ "$ERR" != *"fetching"* ]] && [ "$(proxy_bytes "$TMP/cnt.plog")" -lt 100000 ] && ok "WORKDIR + COPY on a lazy base fetch nothing" || fail "workdir lazy" "$ERR"
run "$BERTH" build --platform 'windows(10.0.20348)/amd64' -f "$TMP/ctx/Dockerfile.wd" -t wd:1 "$TMP/ctx"
[ "$RC" = 0 ] && [[ "$ERR" == *"CACHED"* ]] && ok "rebuild on the lazy base hits the cache" || fail "lazy cache" "$ERR"
# COPY --from the registry image reads it: fetched
cat >"$TMP/ctx/Dockerfile.from" <<EOF
FROM scratch
COPY --from=$P/base/win:ltsc Windows/System32/cmd.exe C:/cmd.exe
EOF
export BERTH_ROOT=$TMP/build4
run "$BERTH" build --platform windows/amd64 --os-version 10.0.17763 -f "$TMP/ctx/Dockerfile.from" -o "type=oci,dest=$TMP/out-from" "$TMP/ctx"
[ "$RC" = 0 ] && [[ "$ERR" == *"fetching 4 lazy base layers"* ]] && ok "COPY --from a registry image fetches its layers" || fail "copy --from" "$ERR"
# --build-context NAME=docker-image://REF that is not local
cat >"$TMP/ctx/Dockerfile.ctx" <<'EOF'
FROM winbase
COPY app.txt C:/app/
EOF
export BERTH_ROOT=$TMP/build5
run "$BERTH" build --platform windows/amd64 --os-version 10.0.26100 --build-context "winbase=docker-image://$P/base/win:ltsc" -f "$TMP/ctx/Dockerfile.ctx" -t ctx:1 "$TMP/ctx"
[ "$RC" = 0 ] && [[ "$ERR" == *"resolved $P/base/win:ltsc"* ]] && [[ "$ERR" != *"fetching"* ]] && ok "--build-context docker-image:// of a registry image is lazy too" || fail "build-context" "$ERR"
run "$BERTH" build --push "$TMP/ctx"
[ "$RC" = 2 ] && [[ "$ERR" == *"--push needs a name (-t)"* ]] && ok "--push without -t is a usage error" || fail "push usage" "$RC $ERR"
run "$BERTH" build --platform windows/amd64 --os-version 10.0.19041 -t x:1 "$TMP/ctx"
[ "$RC" = 1 ] && [[ "$ERR" == *"10.0.17763.5329"* ]] && ok "no entry for 19041: the error lists the entries" || fail "19041" "$RC $ERR"


# --- a lazily built image in the local store: metadata, save, registry gone ---
# a small Linux base keeps the saves quick; built through the counting proxy
# into two stores (one is saved, the other meets the stopped registry)
"$PY" "$HERE/mkimage.py" "$TMP/small.tar" small:1 --random data/a.bin:300000 \
	--random data/b.bin:200000 --text etc/os=small
export BERTH_ROOT=$TMP/setup
"$BERTH" load -q -i "$TMP/small.tar" >/dev/null || fail "load small base"
run "$BERTH" push -q small:1 "$R/small/base:1"
[ "$RC" = 0 ] || fail "push small base" "$ERR"
SMALL=($("$BERTH" inspect --format json small:1 | "$PY" -c 'import json,sys; [print(l["digest"]) for l in json.load(sys.stdin)["layers"]]'))
printf 'FROM %s/small/base:1\nCOPY app.txt /app/\n' "$P" >"$TMP/ctx/Dockerfile.small"
for r in lazy1 lazy2; do
	export BERTH_ROOT=$TMP/$r
	run "$BERTH" build -f "$TMP/ctx/Dockerfile.small" -t small-app:1 "$TMP/ctx"
	[ "$RC" = 0 ] && [[ "$ERR" == *"lazy: 3 base layers"* ]] || fail "lazy build $r" "$ERR"
done
export BERTH_ROOT=$TMP/lazy1
layers_json() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(l["'"$1"'"] for l in d["layers"]))'; }
: >"$TMP/cnt.plog"
run "$BERTH" inspect small-app:1
nremote=$(grep -c "(remote: $P/small/base)" <<<"$OUT")
[ "$RC" = 0 ] && [[ "$OUT" == *"Layers:       4 ("*" bytes), 3 only in a registry (lazy)"* ]] && [ "$nremote" = 3 ] &&
	ok "inspect of a lazy image: 4 layers, the 3 base layers shown as remote" || fail "inspect lazy" "$RC $OUT $ERR"
run "$BERTH" inspect --format json small-app:1
JSON=$OUT
if [ "$RC" = 0 ] && "$PY" - "$JSON" "${SMALL[@]}" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); base = sys.argv[2:]
ls = d["layers"]
assert [l["digest"] for l in ls[:3]] == base, ls
assert all(len(l.get("remote", [])) == 1 for l in ls[:3]) and "remote" not in ls[3], ls
assert d["remoteLayers"] == 3 and d["size"] == sum(l["size"] for l in ls) and all(l["size"] > 0 for l in ls), d
PY
then ok "inspect --format json: remoteLayers 3, descriptor sizes, remote sources"; else fail "inspect json lazy" "$JSON"; fi
grep -q "$P/small/base" <<<"$JSON" || fail "inspect json source" "$JSON"
run "$BERTH" images
[ "$RC" = 0 ] && grep -E '^small-app +1 +[0-9a-f]{12} ' <<<"$OUT" | grep -qv 'N/A' &&
	ok "images lists the lazy image with its ID and size" || fail "images lazy" "$OUT $ERR"
run "$BERTH" tag small-app:1 small-app:other
[ "$RC" = 0 ] && run "$BERTH" rmi small-app:other
[ "$RC" = 0 ] && ok "tag and rmi of a lazy image" || fail "tag/rmi lazy" "$ERR"
run "$BERTH" manifest create small-list:1 small-app:1
[ "$RC" = 0 ] && ok "manifest create over a lazy image" || fail "manifest create lazy" "$ERR"
printf 'FROM small-app:1\nCOPY app.txt /app2/\n' >"$TMP/ctx/Dockerfile.again"
run "$BERTH" build -f "$TMP/ctx/Dockerfile.again" -t small-app:2 "$TMP/ctx"
[ "$RC" = 0 ] && [[ "$ERR" != *"fetching"* ]] && ok "FROM the lazily built tag stays lazy" || fail "FROM lazy tag" "$ERR"
[ ! -s "$TMP/cnt.plog" ] && ok "inspect, images, tag, rmi, manifest create and FROM sent no request to the registry" ||
	fail "metadata commands used the registry" "$(head -5 "$TMP/cnt.plog")"

# save fetches the 3 base layers (verified) into the store, then writes
run "$BERTH" save -o "$TMP/small-app.tar" small-app:1
nget=0
for d in "${SMALL[@]}"; do grep -q "^GET /v2/small/base/blobs/$d " "$TMP/cnt.plog" && nget=$((nget + 1)); done
[ "$RC" = 0 ] && [[ "$ERR" == *"fetching 3 lazy layers of small-app:1 from $P/small/base"* ]] && [ "$nget" = 3 ] &&
	[ -s "$TMP/small-app.tar" ] && ok "save of a lazy image fetches its 3 base layers from the registry" ||
	fail "save lazy" "rc $RC, $nget GETs: $ERR"
DIFFS=$("$BERTH" inspect --format json small-app:1 | layers_json diffID)
DIGS=$("$BERTH" inspect --format json small-app:1 | layers_json digest)
if have skopeo; then
	run skopeo inspect --format '{{range .Layers}}{{.}} {{end}}' "docker-archive:$TMP/small-app.tar"
	OUT=${OUT% }
	[ "$RC" = 0 ] && [ "$OUT" = "$DIFFS" ] && ok "skopeo reads the docker-archive; its layers are the image's" ||
		fail "skopeo docker-archive" "$RC '$OUT' vs '$DIFFS' $ERR"
fi
"$PY" - "$TMP/small-app.tar" "$DIGS" <<'PY' && ok "docker-archive: manifest.json names the 4 layer blobs, each hashing to its name" || fail "docker-archive layers"
import hashlib, json, sys, tarfile
t = tarfile.open(sys.argv[1]); m = json.load(t.extractfile("manifest.json"))
want = ["blobs/sha256/" + d.split(":")[1] for d in sys.argv[2].split()]
assert m[0]["Layers"] == want, m
for n in want:
    assert hashlib.sha256(t.extractfile(n).read()).hexdigest() == n.rsplit("/", 1)[1], n
PY
: >"$TMP/cnt.plog"
run "$BERTH" save -f oci-archive -o "$TMP/small-app.oci.tar" small-app:1
[ "$RC" = 0 ] && [[ "$ERR" != *"fetching"* ]] && [ ! -s "$TMP/cnt.plog" ] &&
	ok "the fetched layers stay in the store: a second save sends no request" || fail "second save" "$ERR"
mkdir -p "$TMP/small-oci"
tar -xf "$TMP/small-app.oci.tar" -C "$TMP/small-oci"
if have skopeo; then
	run skopeo inspect --format '{{range .Layers}}{{.}} {{end}}' "oci-archive:$TMP/small-app.oci.tar"
	OUT=${OUT% }
	[ "$RC" = 0 ] && [ "$OUT" = "$DIGS" ] && ok "skopeo reads the oci-archive; same layer digests" ||
		fail "skopeo oci-archive" "$RC '$OUT' vs '$DIGS' $ERR"
fi
if have oci-image-tool; then
	run oci-image-tool validate --type image "$TMP/small-oci"
	[ "$RC" = 0 ] && ok "oci-image-tool validates the saved oci-archive" || fail "oci-image-tool" "$OUT $ERR"
fi
if have umoci; then
	run umoci stat --image "$TMP/small-oci:1"
	[ "$RC" = 0 ] && [ "$(grep -c '^sha256:' <<<"$OUT")" = 4 ] && ok "umoci stat: 4 layers" || fail "umoci stat" "$OUT $ERR"
fi

# the registry (and the proxy the layers were recorded from) stopped
bg_stop cnt
bg_stop reg
export BERTH_ROOT=$TMP/lazy2
run "$BERTH" inspect small-app:1
[ "$RC" = 0 ] && [[ "$OUT" == *"3 only in a registry (lazy)"* ]] && ok "inspect of a lazy image works with the registry stopped" ||
	fail "inspect registry stopped" "$RC $ERR"
run "$BERTH" save --retries 0 -o "$TMP/fail.tar" small-app:1
named=0
for d in "${SMALL[@]}"; do [[ "$ERR" == *"blob '$d' from '$P/small/base'"* ]] && named=1; done
[ "$RC" = 1 ] && [[ "$ERR" == *"save 'small-app:1' (nothing written)"* ]] && [ "$named" = 1 ] &&
	ok "save with the registry stopped: error names the layer digest and the registry" || fail "save stopped" "$RC $ERR"
left=$(find "$TMP" -maxdepth 1 -name 'fail.tar*' | wc -l)
[ "$left" = 0 ] && ok "no output file (nor temp file) left" || fail "save left output" "$(ls "$TMP")"
run "$BERTH" save --retries 0 -f oci -o "$TMP/fail-oci" small-app:1
[ "$RC" = 1 ] && [ ! -e "$TMP/fail-oci" ] && ok "save -f oci with the registry stopped creates no layout" || fail "save oci stopped" "$RC $ERR"
tmps=$(find "$BERTH_ROOT/images" -name '.tmp-*' -o -name '*.tmp-*' | wc -l)
nb=0
for d in "${SMALL[@]}"; do [ -e "$BERTH_ROOT/images/blobs/sha256/${d#sha256:}" ] && nb=$((nb + 1)); done
[ "$tmps" = 0 ] && [ "$nb" = 0 ] && ok "the store holds no partial blob" || fail "store after failed save" "$tmps temp files, $nb base blobs"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"0 errors"* ]] && ok "fsck after the failed save: no error" || fail "fsck after failed save" "$OUT"

finish
