#!/usr/bin/env bash
# RUN side by side with `docker build` (BuildKit) on a private dockerd: the
# Dockerfiles of testdata/run (files, links, whiteouts, opaque dirs, USER
# forms, ENV/ARG/WORKDIR/SHELL, exec form, cache/tmpfs/secret/bind mounts)
# built by both must give the same filesystem (path, type, mode, owner,
# content, link target: tests/integration/build_compare.py), the same config
# and the same history created_by lines. Then images with RUN layers made by
# berth are `docker load`ed and `docker run`. Deliberate differences are in
# docs/exec-linux.md ("Compared with docker build").
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then skip "RUN side by side" "not root"; finish; exit $?; fi
if [ ! -x /bin/busybox ]; then skip "RUN side by side" "/bin/busybox missing"; finish; exit $?; fi
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
	skip "RUN side by side" "dockerd or /usr/bin/docker missing"; finish; exit $?
fi
export BERTH_ROOT=$TMP/root
export SOURCE_DATE_EPOCH=1700000000
"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
"$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
if ! printf 'FROM busybox:latest\nRUN true\n' | "$BERTH" build -q -f - "$TMP" >/dev/null 2>"$TMP/probe"; then
	skip "RUN side by side" "the sandbox cannot run here: $(tail -1 "$TMP/probe")"; finish; exit $?
fi

D=$TMP/d
if ! start_dockerd "$D" --bridge none --iptables=false; then
	skip "RUN side by side" "dockerd did not start: $(tail -3 "$D/dockerd.log")"; finish; exit $?
fi
"$BERTH" save -o "$TMP/busybox.tar" busybox:latest
$DOCKER load -i "$TMP/busybox.tar" >/dev/null

C=$TMP/ctx
cp -r "$ROOT/testdata/run" "$C"
printf 'secret-for-sbs' >"$TMP/tok"
# mount targets the Dockerfiles create (docs/exec-linux.md)
STUBS='opt|run|run/secrets|scratch|var/cache|var/cache/t'
history() { $DOCKER history --no-trunc --format '{{.CreatedBy}}' "$1"; }
for df in "$C"/*.Dockerfile; do
	n=$(basename "$df" .Dockerfile)
	args=(--secret "id=tok,src=$TMP/tok")
	if ! DOCKER_BUILDKIT=1 $DOCKER build --network none -q "${args[@]}" -t "run-$n:docker" -f "$df" "$C" >"$TMP/dk.out" 2>&1; then
		fail "docker build $n" "$(tail -5 "$TMP/dk.out")"
		continue
	fi
	if ! "$BERTH" build --no-cache --progress quiet "${args[@]}" -f "$df" \
		-o "type=docker,dest=$TMP/run-$n.tar,name=run-$n:berth" "$C" 2>"$TMP/b.err"; then
		fail "berth build $n" "$(cat "$TMP/b.err")"
		continue
	fi
	$DOCKER load -i "$TMP/run-$n.tar" >/dev/null
	run python3 "$ROOT/tests/integration/build_compare.py" "run-$n:docker" "run-$n:berth"
	# documented difference: dockerd's BuildKit keeps the directories it made
	# as mount targets (and parents of file targets); berth removes them
	rest=$(grep -vE "^fs ($STUBS): run-$n:docker=\('d', '40755', 0, 0, '', ''\) run-$n:berth=None\$" <<<"$OUT" | grep -v '^$')
	stubs=$(grep -cE "^fs ($STUBS): .*berth=None\$" <<<"$OUT"); [ "$stubs" = 0 ] && stubs=
	[ -z "$rest" ] && [ -z "$ERR" ] && ok "same filesystem and config as docker build: $n${stubs:+ ($stubs mount stubs only in the docker image)}" || fail "side by side $n" "$rest $ERR"
	# BuildKit's history has the same lines (berth writes no "buildkit" for FROM)
	hd=$(history "run-$n:docker" | grep -v '^$'); hb=$(history "run-$n:berth" | grep -v '^$')
	note=
	if grep -q '^ARG' "$df"; then
		# documented difference: the "|N K=V" ARG list of RUN lines (this
		# BuildKit lists ARGs without a value as "K=" and a redeclared ARG
		# twice); the rest of each line must match
		hd=$(sed -E 's/^RUN \|[0-9]+ ([^ ]+=[^ ]* )*/RUN /' <<<"$hd"); hb=$(sed -E 's/^RUN \|[0-9]+ ([^ ]+=[^ ]* )*/RUN /' <<<"$hb")
		note=" (RUN lines without their ARG lists)"
	fi
	[ "$hd" = "$hb" ] && ok "same history as docker build: $n$note" || fail "history $n" "$(diff <(echo "$hd") <(echo "$hb"))"
done

# berth images with RUN layers in dockerd
run $DOCKER run --rm --network none run-fs:berth sh -c 'cat /hard /hl/b /d/g; test ! -e /bin/whoami && test ! -e /d/sub && test -p /fifo && stat -c %a /d'
[ "$RC" = 0 ] && [ "$OUT" = "new
x
2
700" ] && ok "docker runs a berth image with RUN layers (links, whiteouts, opaque)" || fail "docker run fs" "$OUT $ERR"
run $DOCKER run --rm --network none run-user:berth sh -c 'id -u; cat /tmp/id-name'
[ "$RC" = 0 ] && [ "$(head -1 <<<"$OUT")" = 0 ] && [[ "$OUT" == *"uid=1000(user)"* ]] && ok "docker runs the USER image" || fail "docker run user" "$OUT $ERR"
run $DOCKER run --rm --network none run-env:berth sh -c 'pwd; cat out6 2>/dev/null || cat /w/envval/out6'
[ "$RC" = 0 ] && [ "$OUT" = "/w/envval/rel
B=late" ] && ok "docker runs the ENV/WORKDIR image" || fail "docker run env" "$OUT $ERR"

finish
