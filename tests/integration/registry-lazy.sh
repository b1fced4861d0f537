#!/usr/bin/env bash
# Lazy Windows bases (issue 8 proof): a synthetic Windows base with large
# random layers is pushed to a loopback docker-registry for three os.versions
# as a manifest list; `berth build --push` of a COPY-only Dockerfile FROM it,
# once per os.version, through a counting proxy, must move no base layer byte
# (only index, manifests, configs and the new layer); the three results make
# a manifest list whose entries skopeo sees in the documented order. Also:
# fsck counts lazy layers as remote, an --output that must contain the base
# fetches it, RUN-less WORKDIR stays lazy, and pushing to another registry
# copies the base layers.
. "$(dirname "$0")/../lib.sh"

have() { command -v "$1" >/dev/null 2>&1; }
HERE=$(cd "$(dirname "$0")" && pwd)/registry
ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

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

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_registry() { # NAME -> PORT_<NAME>
	local name=$1 port i
	port=$(free_port)
	mkdir -p "$TMP/$name-data"
	cat >"$TMP/$name.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $TMP/$name-data
http:
  addr: 127.0.0.1:$port
EOF
	docker-registry serve "$TMP/$name.yml" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1 300); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
		sleep 0.1
	done
	eval "PORT_$name=$port"
}
start_proxy() { # NAME UPSTREAM_PORT -> PPORT_<NAME>
	local name=$1 up=$2 i
	"$PY" "$HERE/regproxy.py" --upstream "127.0.0.1:$up" --port-file "$TMP/$name.port" \
		--log "$TMP/$name.plog" --max-requests 100000 >"$TMP/$name.perr" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1 300); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
	eval "PPORT_$name=$(cat "$TMP/$name.port")"
}
# bytes through the proxy: request bodies + response bodies
proxy_bytes() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(len|out)=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$1"; }

start_registry reg
start_registry other
R=127.0.0.1:$PORT_reg
if ! curl -sf -o /dev/null "http://$R/v2/"; then
	fail "registry start" "$(tail -5 "$TMP/reg.log")"
	finish; exit $?
fi
start_proxy cnt "$PORT_reg"
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
"$PY" "$HERE/regproxy.py" --upstream "127.0.0.1:$PORT_reg" --port-file "$TMP/bad.port" \
	--log "$TMP/bad.plog" --corrupt "${BASE_LAYERS[1]#sha256:}" >"$TMP/bad.perr" 2>&1 &
PIDS+=($!)
for i in $(seq 1 300); do [ -s "$TMP/bad.port" ] && break; sleep 0.1; done
B=127.0.0.1:$(cat "$TMP/bad.port")
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

finish
