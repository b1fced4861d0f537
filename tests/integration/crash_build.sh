#!/usr/bin/env bash
# Crash safety of `berth build` (issue 10): CRASH_BUILD_ITERATIONS (default
# 20; the issue's proof is 50) --no-cache builds of a multi-layer Dockerfile
# (COPY, RUN, metadata) on the busybox base, each SIGKILLed at a seeded random moment spread across
# the measured duration of one build (CRASH_BUILD_SEED reproduces a run; the
# seed is printed). After each kill:
#  - no process of the killed build (berth, sandbox helper, RUN command)
#    survives, and no mount of it is visible on the host;
#  - `berth fsck` of the local store and of the build cache store reports no
#    error (orphaned blobs and stale temp files are garbage, not errors:
#    docs/image-store.md);
#  - a rebuild (with the cache the killed build left; every fifth one with
#    --no-cache) gives the manifest digest of an uninterrupted reference
#    build, and leaves no temp directory behind (it removes the killed
#    build's: builder/bld_fs.c bld_tmp_sweep).
# Needs root (the RUN sandbox) and /bin/busybox.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -x /bin/busybox ]; then
	skip "build crash loop" "needs root and /bin/busybox"
	finish
	exit
fi
ITER=${CRASH_BUILD_ITERATIONS:-20}
SEED=${CRASH_BUILD_SEED:-$(($(date +%s) % 32768))}
echo "crash_build: seed $SEED ($ITER iterations; rerun with CRASH_BUILD_SEED=$SEED)"
RANDOM=$SEED
unset SOURCE_DATE_EPOCH
EPOCH=1700000000
MARK=berthcrash$$x$SEED

"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
mkdir -p "$TMP/ctx"
head -c 1500000 /dev/urandom >"$TMP/ctx/big"
echo small >"$TMP/ctx/small"
cat >"$TMP/ctx/Dockerfile" <<EOF
FROM busybox:latest
ENV MARK=$MARK
COPY big /data/big
RUN mkdir -p /gen && i=0; while [ \$i -lt 150 ]; do echo \$i >/gen/f\$i; i=\$((i+1)); done
COPY small /data/small
LABEL org.example.crash=yes
RUN cat /data/big /data/big >/gen/big2 && rm /data/small && ln -s /gen/f1 /gen/link
WORKDIR /work
USER 1000
RUN echo done >/tmp/done
EXPOSE 8080
CMD ["sh"]
EOF

build() { # [berth build options...]: prints the manifest digest
	"$BERTH" build -q --source-date-epoch "$EPOCH" -t crash:build "$@" "$TMP/ctx"
}

# processes of builds in $BERTH_ROOT: berth and its sandbox helper carry
# BERTH_ROOT in their environment, RUN commands the Dockerfile's MARK
leftover_procs() {
	local f
	for f in $(env -u BERTH_ROOT grep -lsaF -e "MARK=$MARK" -e "BERTH_ROOT=$BERTH_ROOT" /proc/[0-9]*/environ); do
		f=${f%/environ}
		echo "${f#/proc/}: $(tr "\\0" " " 2>/dev/null <"$f/cmdline")"
	done
}

# reference: an uninterrupted build in its own store
export BERTH_ROOT=$TMP/ref
SOURCE_DATE_EPOCH=$EPOCH "$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
WANT=$(build 2>"$TMP/ref.err")
[[ "$WANT" == sha256:* ]] && ok "reference build" || { fail "reference build" "$(cat "$TMP/ref.err")"; finish; exit; }

export BERTH_ROOT=$TMP/crash
SOURCE_DATE_EPOCH=$EPOCH "$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
# the kill window: the duration of one --no-cache build in this store
t0=$(date +%s%N)
got=$(build --no-cache)
t1=$(date +%s%N)
WINDOW=$(((t1 - t0) / 1000000 + 20))
[ "$got" = "$WANT" ] && ok "uninterrupted build in the crash store gives the reference digest" ||
	fail "uninterrupted build" "got '$got', want '$WANT'"
echo "crash_build: one build takes ~$((WINDOW - 20)) ms; kill times spread over 0..$WINDOW ms"

bad_procs=0 bad_mounts=0 bad_fsck=0 bad_cfsck=0 bad_rebuild=0 bad_tmp=0 killed=0 garbage=0
for i in $(seq 1 "$ITER"); do
	# stratified: iteration i kills inside the i-th slice of the window
	ms=$(((i - 1) * WINDOW / ITER + RANDOM % (WINDOW / ITER + 1)))
	build --no-cache >/dev/null 2>&1 &
	pid=$!
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	# the sandbox dies with berth (PDEATHSIG); give the kernel a moment
	left=
	for _ in $(seq 1 50); do
		left=$(leftover_procs)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		bad_procs=$((bad_procs + 1))
		echo "iteration $i (killed after ${ms}ms): processes left: $left"
	fi
	if grep -q " $TMP/" /proc/self/mountinfo; then
		bad_mounts=$((bad_mounts + 1))
		echo "iteration $i: mounts left: $(grep " $TMP/" /proc/self/mountinfo)"
	fi
	"$BERTH" fsck >"$TMP/fsck" 2>&1 || {
		bad_fsck=$((bad_fsck + 1))
		echo "iteration $i (killed after ${ms}ms): fsck:"
		cat "$TMP/fsck"
	}
	"$BERTH" fsck "$BERTH_ROOT/cache/blobs" >"$TMP/cfsck" 2>&1 || {
		bad_cfsck=$((bad_cfsck + 1))
		echo "iteration $i (killed after ${ms}ms): fsck of the build cache store:"
		cat "$TMP/cfsck"
	}
	cat "$TMP/fsck" "$TMP/cfsck" | grep -q '^stale temp file\|^orphaned' && garbage=$((garbage + 1))
	opt=()
	[ $((i % 5)) = 0 ] && opt=(--no-cache)
	got=$(build "${opt[@]}" 2>"$TMP/rebuild.err")
	if [ "$got" != "$WANT" ]; then
		bad_rebuild=$((bad_rebuild + 1))
		echo "iteration $i (killed after ${ms}ms): rebuild ${opt[*]} gave '$got', want '$WANT': $(cat "$TMP/rebuild.err")"
	fi
	n=$(find "$BERTH_ROOT/cache/tmp" -mindepth 1 -maxdepth 1 | wc -l)
	if [ "$n" != 0 ]; then
		bad_tmp=$((bad_tmp + 1))
		echo "iteration $i: $n entries left in cache/tmp: $(ls -a "$BERTH_ROOT/cache/tmp")"
	fi
done
echo "crash_build: $killed of $ITER builds killed mid-run, $garbage left garbage for fsck"
[ "$bad_procs" = 0 ] && ok "no process survives a SIGKILLed build" ||
	fail "processes after SIGKILL" "$bad_procs of $ITER runs"
[ "$bad_mounts" = 0 ] && ok "no mount of a SIGKILLed build is left on the host" ||
	fail "mounts after SIGKILL" "$bad_mounts of $ITER runs"
[ "$bad_fsck" = 0 ] && ok "fsck of the local store finds no error after each of $ITER SIGKILLed builds" ||
	fail "fsck after SIGKILLed build" "$bad_fsck of $ITER runs"
[ "$bad_cfsck" = 0 ] && ok "fsck of the build cache store finds no error after each SIGKILLed build" ||
	fail "fsck of the cache store" "$bad_cfsck of $ITER runs"
[ "$bad_rebuild" = 0 ] && ok "every rebuild after SIGKILL gives the reference digest" ||
	fail "rebuild after SIGKILL" "$bad_rebuild of $ITER rebuilds failed or differed"
[ "$bad_tmp" = 0 ] && ok "a rebuild removes the killed build's temp dirs and its own" ||
	fail "temp dirs after rebuild" "$bad_tmp of $ITER runs"

"$BERTH" fsck --repair >/dev/null 2>&1
run "$BERTH" fsck --format json
if [ "$RC" = 0 ] && python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["clean"] and d["garbage"]==[] and d["images"]==2' <<<"$OUT"; then
	ok "after fsck --repair: clean, no garbage, both images"
else fail "final fsck" "rc $RC $OUT"; fi
run "$BERTH" save -o "$TMP/out.tar" crash:build
[ "$RC" = 0 ] && ok "the rebuilt image exports (every blob re-verified)" || fail "export" "$ERR"

finish
