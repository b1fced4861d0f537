#!/usr/bin/env bash
# berth build output checked by peers: oci-image-tool, skopeo, umoci, a real
# dockerd (docker load + run), and side by side with `docker build`
# (BuildKit) on Dockerfiles using only COPY/ADD/WORKDIR/ENV/USER/metadata and
# multi-stage: unpacked filesystems and config fields must be the same.
# Each peer that is missing is skipped.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root
export SOURCE_DATE_EPOCH=1700000000
TD=$ROOT/testdata/build
EX=$ROOT/testdata/examples
if [ ! -x /bin/busybox ]; then
	skip "build peers" "/bin/busybox (busybox-static) is missing"
	finish
	exit $?
fi
"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
"$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
"$ROOT/scripts/mk-windows-base" "$TMP" >/dev/null
"$BERTH" import --platform windows/amd64 --os-version 10.0.20348.2966 \
	-o "oci:$TMP/winbase:ltsc2022" "$TMP/windows-base.tar" >/dev/null

# the examples: linux (with RUN when the sandbox works) and windows
cp -r "$EX/linux-app" "$TMP/linux-app"
if "$BERTH" build --progress quiet -t linux-app:test -o "type=oci,dest=$TMP/linux-oci" \
	-o "type=docker,dest=$TMP/linux-docker.tar,name=linux-app:test" "$TMP/linux-app" 2>"$TMP/lerr"; then
	ok "linux example builds (with RUN)"
else
	"$BERTH" build --progress quiet -t linux-app:test -f "$TMP/linux-app/Dockerfile.norun" \
		-o "type=oci,dest=$TMP/linux-oci" \
		-o "type=docker,dest=$TMP/linux-docker.tar,name=linux-app:test" "$TMP/linux-app" &&
		ok "linux example builds (no-RUN variant)" || fail "linux example" "$(cat "$TMP/lerr")"
fi
"$BERTH" build --progress quiet -t windows-app:test -o "type=oci,dest=$TMP/win-oci" \
	--build-context "mcr.microsoft.com/windows/servercore:ltsc2022=oci-layout://$TMP/winbase:ltsc2022" \
	"$EX/windows-app" && ok "windows example builds" || fail "windows example"

if command -v oci-image-tool >/dev/null; then
	for l in linux-oci win-oci; do
		run oci-image-tool validate --type image "$TMP/$l"
		[ "$RC" = 0 ] && ok "oci-image-tool validates $l" || fail "oci-image-tool $l" "$OUT $ERR"
	done
else skip "oci-image-tool" "not installed"; fi

if command -v skopeo >/dev/null; then
	run skopeo inspect "oci:$TMP/linux-oci:test"
	[ "$RC" = 0 ] && [[ "$OUT" == *'"Os": "linux"'* ]] && ok "skopeo inspects the linux image" || fail "skopeo linux" "$ERR"
	run skopeo inspect "oci:$TMP/win-oci:test"
	[ "$RC" = 0 ] && [[ "$OUT" == *'"Os": "windows"'* ]] && ok "skopeo inspects the windows image" || fail "skopeo windows" "$ERR"
	run skopeo copy "oci:$TMP/linux-oci:test" "docker-archive:$TMP/skopeo.tar:x/y:z"
	[ "$RC" = 0 ] && ok "skopeo copies the image (verifies every blob)" || fail "skopeo copy" "$ERR"
else skip "skopeo" "not installed"; fi

if command -v umoci >/dev/null; then
	run umoci unpack --image "$TMP/linux-oci:test" "$TMP/bundle"
	if [ "$RC" = 0 ] && [ -x "$TMP/bundle/rootfs/usr/local/bin/hello" ] &&
		[ "$(stat -c %a "$TMP/bundle/rootfs/usr/local/bin/hello")" = 755 ]; then
		ok "umoci unpacks the linux image"; else fail "umoci unpack" "$ERR"; fi
	grep -q '"user"' "$TMP/bundle/config.json" && python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["process"]["user"]["uid"]==1000, c["process"]["user"]' "$TMP/bundle/config.json" &&
		ok "umoci runtime config has USER 1000" || fail "umoci user"
else skip "umoci" "not installed"; fi

# --- a real dockerd ---
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ] || [ "$(id -u)" != 0 ]; then
	skip "dockerd tests" "dockerd, /usr/bin/docker or root missing"
	finish
	exit $?
fi
D=$TMP/d
if ! start_dockerd "$D"; then
	skip "dockerd tests" "dockerd did not start: $(tail -3 "$D/dockerd.log")"
	finish
	exit $?
fi

run $DOCKER load -i "$TMP/linux-docker.tar"
[ "$RC" = 0 ] && ok "docker load accepts the docker output" || fail "docker load" "$ERR"
run $DOCKER run --rm --network none linux-app:test
[ "$RC" = 0 ] && [ "$OUT" = "hello from berth" ] && ok "docker runs the built image" || fail "docker run" "$OUT $ERR"
run $DOCKER run --rm --network none linux-app:test id -u
[ "$OUT" = 1000 ] && ok "USER applies in docker" || fail "docker user" "$OUT $ERR"

# --- side by side with docker build (BuildKit) ---
"$BERTH" save -o "$TMP/busybox.tar" busybox:latest
$DOCKER load -i "$TMP/busybox.tar" >/dev/null
cp -r "$TD/sbs/ctx" "$TMP/sbs"
tar -C "$TD/sbs/ctx" -czf "$TMP/sbs/app.tar.gz" app
for df in "$TD"/sbs/*.Dockerfile; do
	n=$(basename "$df" .Dockerfile)
	cp "$df" "$TMP/sbs/$n.Dockerfile"
	if ! DOCKER_BUILDKIT=1 $DOCKER build --network none -q -t "sbs-$n:docker" -f "$TMP/sbs/$n.Dockerfile" "$TMP/sbs" >"$TMP/dk.out" 2>&1; then
		fail "docker build $n" "$(tail -5 "$TMP/dk.out")"
		continue
	fi
	if ! "$BERTH" build --progress quiet -f "$TMP/sbs/$n.Dockerfile" \
		-o "type=docker,dest=$TMP/sbs-$n.tar,name=sbs-$n:berth" "$TMP/sbs" 2>"$TMP/b.err"; then
		fail "berth build $n" "$(cat "$TMP/b.err")"
		continue
	fi
	$DOCKER load -i "$TMP/sbs-$n.tar" >/dev/null
	run python3 "$ROOT/tests/integration/build_compare.py" "sbs-$n:docker" "sbs-$n:berth"
	[ "$RC" = 0 ] && ok "same filesystem and config as docker build: $n" || fail "side by side $n" "$OUT $ERR"
done

finish
