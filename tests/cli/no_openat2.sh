#!/usr/bin/env bash
# berth where openat2 is missing: a kernel before 5.6 (ENOSYS), a seccomp
# profile older than the call (Docker's before 20.10: EPERM), valgrind.
# Every path into a context, a rootfs or a layer is then resolved by
# common/bopen.c's walk: builds give the same images as with openat2 and
# refuse the same escapes. tools/berth-no-openat2 installs such a filter.
. "$(dirname "$0")/../lib.sh"

NO=${BUILD:-$ROOT/build}/tools/berth-no-openat2
[ -x "$NO" ] || { echo "no_openat2: $NO is missing (make test builds it)" >&2; exit 1; }
SDE=1700000000

C=$TMP/ctx
mkdir -p "$C/src/sub/deep" "$C/other"
echo a >"$C/src/a.txt"
echo b >"$C/src/sub/b.txt"
echo c >"$C/src/sub/deep/c.txt"
echo ignored >"$C/src/sub/skip.log"
echo o >"$C/other/o.txt"
ln -s src "$C/linkdir"               # a directory link: resolved in the context
ln -s /src/a.txt "$C/src/abs"        # absolute: the context is "/"
ln -s ../../../../etc "$C/src/up"    # climbs out: lands on the context's root
ln -s /other "$C/src/sub/back"
printf '*.log\n' >"$C/.dockerignore"
cat >"$C/Dockerfile" <<'EOF'
FROM scratch
COPY src /s
COPY linkdir/sub /t
COPY src/sub/back/o.txt /o.txt
EOF
printf 'FROM scratch\nCOPY src/up/passwd /p\n' >"$C/Dockerfile.escape"
find "$C" -exec touch -h -d '3 seconds ago' {} +

# build MODE ROOT [ARG...]: MODE "" (openat2), ENOSYS or EPERM; quiet
# unless PROGRESS=plain
build() {
	local mode=$1 root=$2
	shift 2
	local how=(-q)
	[ -n "${PROGRESS:-}" ] && how=(--progress "$PROGRESS")
	local pre=()
	[ -n "$mode" ] && pre=("$NO" "$mode")
	run env BERTH_ROOT="$root" "${pre[@]}" "$BERTH" build "${how[@]}" --source-date-epoch $SDE "$@"
}
# the image a plain-progress build wrote
written() { grep -o 'writing image sha256:[0-9a-f]*' <<<"$ERR" | tail -1; }

build "" "$TMP/r" "$C"
want=$OUT
[ "$RC" = 0 ] && [[ "$want" == sha256:* ]] && ok "with openat2: built" || fail "with openat2" "$RC $OUT $ERR"
build "" "$TMP/r" -f "$C/Dockerfile.escape" "$C"
want_err=$ERR
[ "$RC" != 0 ] && [[ "$want_err" == *"'src/up/passwd' not found in the build context"* ]] &&
	ok "with openat2: a link climbing out of the context stays in it" || fail "escape" "$RC $ERR"

for mode in ENOSYS EPERM; do
	build "$mode" "$TMP/r$mode" "$C"
	[ "$RC" = 0 ] && [ "$OUT" = "$want" ] &&
		ok "openat2 $mode: the same image, digest for digest" || fail "$mode build" "$OUT $ERR"
	build "$mode" "$TMP/r$mode" "$C"
	[ "$RC" = 0 ] && [ "$OUT" = "$want" ] && ok "openat2 $mode: the cached rebuild too" ||
		fail "$mode rebuild" "$OUT $ERR"
	build "$mode" "$TMP/r$mode" -f "$C/Dockerfile.escape" "$C"
	[ "$RC" != 0 ] && [ "$ERR" = "$want_err" ] &&
		ok "openat2 $mode: the escape ends as it does with openat2" || fail "$mode escape" "$RC $ERR"
done

# a file changed is seen through the walk as well
echo a2 >"$C/src/a.txt"
touch -d '2 seconds ago' "$C/src/a.txt"
build "" "$TMP/r" "$C"
want2=$OUT
build ENOSYS "$TMP/rENOSYS" "$C"
[ "$RC" = 0 ] && [ "$OUT" = "$want2" ] && [ "$want2" != "$want" ] &&
	ok "openat2 ENOSYS: an edited file changes the image as with openat2" || fail "edit" "$OUT $want2"

# RUN: the sandbox mounts and masks paths inside the rootfs, and --chown
# reads the image's /etc/passwd, all through bopen_in_root
if [ ! -x /bin/busybox ]; then
	skip "RUN without openat2" "/bin/busybox (busybox-static) is missing"
	finish
	exit $?
fi
"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
R=$TMP/run
mkdir -p "$R"
echo data >"$R/a.txt"
cat >"$R/Dockerfile" <<'EOF'
FROM busybox:latest
RUN echo "app:x:1234:1234::/home/app:/bin/sh" >>/etc/passwd && echo "app:x:1234:" >>/etc/group && mkdir -p /opt/x
COPY --chown=app:app a.txt /opt/x/
RUN ls -ln /opt/x/a.txt
EOF
for root in rb rbENOSYS rbEPERM; do
	BERTH_ROOT=$TMP/$root SOURCE_DATE_EPOCH=$SDE "$BERTH" import "$TMP/busybox-rootfs.tar" \
		busybox:latest >/dev/null
done
if ! BERTH_ROOT=$TMP/rb "$BERTH" build -q -f - "$TMP" >/dev/null 2>&1 <<<$'FROM busybox:latest\nRUN true'; then
	skip "RUN without openat2" "RUN cannot work here (neither root nor user namespaces)"
	finish
	exit $?
fi
PROGRESS=plain build "" "$TMP/rb" "$R"
want_run=$(written)
[ "$RC" = 0 ] && [[ "$ERR" == *" 1234 "*" 1234 "*a.txt* ]] && [ -n "$want_run" ] &&
	ok "RUN and COPY --chown with openat2" || fail "run build" "$ERR"
for mode in ENOSYS EPERM; do
	PROGRESS=plain build "$mode" "$TMP/rb$mode" "$R"
	[ "$RC" = 0 ] && [[ "$ERR" == *" 1234 "*" 1234 "*a.txt* ]] && [ "$(written)" = "$want_run" ] &&
		ok "openat2 $mode: RUN and COPY --chown, the same image" || fail "$mode run build" "$ERR"
done

finish
