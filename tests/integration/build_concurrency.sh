#!/usr/bin/env bash
# Concurrency of `berth build` on one store (issue 10): 4 builds of
# different Dockerfiles on the same busybox base run at once (--no-cache, so
# the layers they share are written by several builds at the same moment,
# plus two builds with the cache), while `berth prune -f` and `berth fsck`
# run in a loop beside them. All builds succeed with the digests of the same
# builds run one after the other in a fresh store, prune and fsck never
# fail, the final fsck is clean, and every image inspects and exports.
# Needs root (the RUN sandbox) and /bin/busybox.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -x /bin/busybox ]; then
	skip "build concurrency" "needs root and /bin/busybox"
	finish
	exit
fi
unset SOURCE_DATE_EPOCH
EPOCH=1700000000

"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
ctx=$TMP/ctx
mkdir -p "$ctx"
head -c 1200000 /dev/urandom >"$ctx/common"
for n in a b c d; do head -c 300000 /dev/urandom >"$ctx/$n"; done
# 1 and 2 share COPY common + the same RUN; 3 shares COPY common; 4 only the base
cat >"$TMP/D1" <<'EOF'
FROM busybox:latest
COPY common /common
RUN mkdir /shared && echo shared >/shared/f && cat /common /common >/shared/twice
COPY a /a
RUN echo one >/one
CMD ["sh"]
EOF
cat >"$TMP/D2" <<'EOF'
FROM busybox:latest
COPY common /common
RUN mkdir /shared && echo shared >/shared/f && cat /common /common >/shared/twice
COPY b /b
LABEL which=two
EOF
cat >"$TMP/D3" <<'EOF'
FROM busybox:latest
COPY common /common
ENV X=3
RUN echo three >/three && cp /common /copy
COPY c /c
EOF
cat >"$TMP/D4" <<'EOF'
FROM busybox:latest
WORKDIR /app
COPY d ./
RUN echo four >four
USER 1000
EOF

build() { # N [options]
	local n=$1
	shift
	"$BERTH" build -q --source-date-epoch "$EPOCH" -f "$TMP/D$n" -t "conc:$n" "$@" "$ctx"
}

# reference digests: the same builds one after the other in a fresh store
export BERTH_ROOT=$TMP/ref
SOURCE_DATE_EPOCH=$EPOCH "$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
declare -A want
for n in 1 2 3 4; do want[$n]=$(build "$n" 2>>"$TMP/ref.err"); done
[[ "${want[1]}${want[2]}${want[3]}${want[4]}" == sha256:*sha256:*sha256:*sha256:* ]] &&
	ok "reference builds" || { fail "reference builds" "$(cat "$TMP/ref.err")"; finish; exit; }

export BERTH_ROOT=$TMP/conc
SOURCE_DATE_EPOCH=$EPOCH "$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
# garbage for prune to collect while the builds run
head -c 200000 /dev/urandom >"$TMP/junk"
tar -C "$TMP" -cf "$TMP/junk.tar" junk
"$BERTH" import "$TMP/junk.tar" junk:1 >/dev/null && "$BERTH" rmi junk:1 >/dev/null

# round 1: four --no-cache builds at once (shared layers written by several);
# round 2: the same four with the cache round 1 left, again at once
bfail=0 pfail=0 ffail=0 loops=0 digests_ok=0
for round in 1 2; do
	opt=()
	[ "$round" = 1 ] && opt=(--no-cache)
	pids=()
	for n in 1 2 3 4; do
		build "$n" "${opt[@]}" >"$TMP/b$round.$n.out" 2>"$TMP/b$round.$n.err" &
		pids+=($!)
	done
	alive=1
	while [ "$alive" = 1 ]; do
		alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		loops=$((loops + 1))
		# every other prune empties the build cache too (-a): the builds
		# wait for it or miss, never fail
		popt=()
		[ $((loops % 2)) = 0 ] && popt=(-a)
		"$BERTH" prune -f "${popt[@]}" >"$TMP/prune.out" 2>&1 || {
			pfail=$((pfail + 1))
			echo "round $round: prune failed: $(cat "$TMP/prune.out")"
		}
		"$BERTH" fsck >"$TMP/fsck.out" 2>&1 || {
			ffail=$((ffail + 1))
			echo "round $round: concurrent fsck failed:"
			cat "$TMP/fsck.out"
		}
	done
	for i in 0 1 2 3; do
		n=$((i + 1))
		if ! wait "${pids[$i]}"; then
			bfail=$((bfail + 1))
			echo "round $round: build $n failed: $(cat "$TMP/b$round.$n.err")"
		elif [ "$(cat "$TMP/b$round.$n.out")" = "${want[$n]}" ]; then
			digests_ok=$((digests_ok + 1))
		else
			echo "round $round: build $n gave $(cat "$TMP/b$round.$n.out"), want ${want[$n]}"
		fi
	done
done
[ "$bfail" = 0 ] && ok "8 builds (2 rounds of 4 at once) succeed beside prune and fsck" ||
	fail "concurrent builds" "$bfail failed"
[ "$digests_ok" = 8 ] && ok "each concurrent build gives the digest of the same build run alone" ||
	fail "concurrent build digests" "$digests_ok of 8 equal"
[ "$pfail" = 0 ] && ok "prune never fails beside running builds ($loops runs)" || fail "concurrent prune" "$pfail of $loops"
[ "$ffail" = 0 ] && ok "fsck never reports an error beside running builds ($loops runs)" ||
	fail "concurrent fsck" "$ffail of $loops"

# the builds really shared layers: 1 and 2 have the same COPY and RUN blobs
layers() { "$BERTH" inspect --format json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(l["digest"] if isinstance(l, dict) else l for l in d.get("layers") or d["manifest"]["layers"]))' 2>/dev/null; }
l1=($(layers conc:1)) l2=($(layers conc:2)) l3=($(layers conc:3))
if [ "${#l1[@]}" -ge 3 ] && [ "${l1[1]}" = "${l2[1]}" ] && [ "${l1[2]}" = "${l2[2]}" ] && [ "${l1[1]}" = "${l3[1]}" ]; then
	ok "the builds share base, COPY and RUN layers"
else fail "shared layers" "1: ${l1[*]} 2: ${l2[*]} 3: ${l3[*]}"; fi

run "$BERTH" fsck --format json
if [ "$RC" = 0 ] && python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["clean"] and d["errors"]==[] and d["images"]==5, d' <<<"$OUT"; then
	ok "final fsck: clean, 5 images"
else fail "final fsck" "rc $RC $OUT"; fi
run "$BERTH" fsck "$BERTH_ROOT/cache/blobs"
[ "$RC" = 0 ] && [[ "$OUT" == *" 0 errors"* ]] && ok "final fsck of the build cache store: no error" ||
	fail "cache store fsck" "rc $RC $OUT $ERR"
intact=0
for n in 1 2 3 4; do
	"$BERTH" inspect "conc:$n" >/dev/null 2>&1 &&
		"$BERTH" save -o "$TMP/out$n.tar" "conc:$n" 2>/dev/null && intact=$((intact + 1))
done
[ "$intact" = 4 ] && ok "every image inspects and exports (blobs re-verified)" || fail "images complete" "$intact of 4"
# the junk image was collected, nothing referenced was
"$BERTH" prune -f >/dev/null
run "$BERTH" inspect junk:1
[ "$RC" != 0 ] && ok "the untagged image was pruned" || fail "prune junk" "$OUT"
intact=0
for n in 1 2 3 4; do "$BERTH" save -o "$TMP/o$n.tar" "conc:$n" 2>/dev/null && intact=$((intact + 1)); done
[ "$intact" = 4 ] && ok "a final prune keeps every tagged image" || fail "prune keeps tagged" "$intact of 4"
# and the build cache: prune -a while a build runs; the build waits, then
# succeeds with its digest; both stores fsck clean
build 1 --no-cache >"$TMP/last.out" 2>"$TMP/last.err" &
bpid=$!
"$BERTH" prune -f -a >"$TMP/prune.out" 2>&1; prc=$?
wait "$bpid"; brc=$?
[ "$prc" = 0 ] && [ "$brc" = 0 ] && [ "$(cat "$TMP/last.out")" = "${want[1]}" ] &&
	ok "prune -a beside a running build: both succeed, same digest" ||
	fail "prune -a beside build" "prune $prc $(cat "$TMP/prune.out"); build $brc $(cat "$TMP/last.err")"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"cache/blobs: "*" 0 errors"* ]] && ok "fsck of both stores clean after the cache prunes" ||
	fail "final fsck with cache" "rc $RC $OUT"

finish
