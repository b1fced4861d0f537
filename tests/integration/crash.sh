#!/usr/bin/env bash
# Crash safety and concurrency of the local store (docs/image-store.md):
#  - CRASH_ITERATIONS (default 30) loads/imports of multi-layer archives into
#    one store, each killed with SIGKILL after a random 0..N ms; after each,
#    `berth fsck` must find no error (orphaned blobs and stale temp files
#    are allowed: they are listed as such and `fsck --repair` clears them),
#    and a reload must succeed with the same digest;
#  - 4 parallel loads sharing base layers plus a concurrent prune and fsck:
#    all succeed, every image is intact, fsck is clean.
# Needs python3 (archive generator).
. "$(dirname "$0")/../lib.sh"

command -v python3 >/dev/null || { skip "crash safety" "python3 missing"; finish; }
ITER=${CRASH_ITERATIONS:-30}
unset SOURCE_DATE_EPOCH

# mkarchive OUT TAG SEED LAYER...: docker-archive with one layer per LAYER
# spec "name:kbytes" (content is a function of name only, so equal names
# give identical, shared layers).
mkarchive() {
	python3 - "$@" <<'EOF'
import hashlib, io, json, random, sys, tarfile
out, tag, seed, specs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def layer(name, kb):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        rnd = random.Random(name)
        for i in range(4):
            data = rnd.randbytes(kb * 256)
            ti = tarfile.TarInfo("%s/f%d" % (name, i)); ti.size = len(data); ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
layers = [layer(n, int(k)) for n, k in (s.split(":") for s in specs)]
diff = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Env": ["SEED=" + seed]},
                  "rootfs": {"type": "layers", "diff_ids": diff},
                  "history": [{"created_by": s} for s in specs]}).encode()
ch = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": ch + ".json", "RepoTags": [tag],
                   "Layers": [d[7:] + "/layer.tar" for d in diff]}]).encode()
with tarfile.open(out, "w") as t:
    def add(n, data):
        ti = tarfile.TarInfo(n); ti.size = len(data); ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    add(ch + ".json", cfg)
    for d, l in zip(diff, layers):
        add(d[7:] + "/layer.tar", l)
    add("manifest.json", man)
EOF
}

digest_of() { # REF -> manifest digest via inspect --format json
	"$BERTH" inspect --format json "$1" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])' 2>/dev/null
}

mkarchive "$TMP/multi.tar" crash:multi 1 base:1024 mid:1024 top:2048
mkdir -p "$TMP/plain"
head -c 3000000 /dev/urandom >"$TMP/plain/big"
tar -C "$TMP/plain" --mtime=@0 -cf "$TMP/plain.tar" .

# reference digests from a clean store
export BERTH_ROOT=$TMP/ref
"$BERTH" load -q -i "$TMP/multi.tar" || fail "reference load"
WANT_MULTI=$(digest_of crash:multi)
export SOURCE_DATE_EPOCH=1700000000
WANT_PLAIN=$("$BERTH" import "$TMP/plain.tar" crash:plain)
unset SOURCE_DATE_EPOCH
[ -n "$WANT_MULTI" ] && [ -n "$WANT_PLAIN" ] && ok "reference digests" || fail "reference digests" "'$WANT_MULTI' '$WANT_PLAIN'"

# the kill window: about the duration of one load, in ms
t0=$(date +%s%N)
"$BERTH" load -q -i "$TMP/multi.tar"
t1=$(date +%s%N)
WINDOW=$(( (t1 - t0) / 1000000 * 3 / 2 + 5 ))

export BERTH_ROOT=$TMP/crash
bad_fsck=0 bad_reload=0 bad_repair=0 temps=0 killed=0 unlisted=0
for i in $(seq 1 "$ITER"); do
	if [ $((i % 2)) = 1 ]; then
		"$BERTH" load -q -i "$TMP/multi.tar" >/dev/null 2>&1 &
	else
		SOURCE_DATE_EPOCH=1700000000 "$BERTH" import "$TMP/plain.tar" crash:plain >/dev/null 2>&1 &
	fi
	pid=$!
	ms=$((RANDOM % WINDOW))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	[ -d "$BERTH_ROOT/images" ] || continue # killed before the store existed
	"$BERTH" fsck >"$TMP/fsck" 2>&1
	if [ $? != 0 ]; then
		bad_fsck=$((bad_fsck + 1))
		echo "iteration $i (killed after ${ms}ms):"; cat "$TMP/fsck"
	fi
	on_disk=$(find "$BERTH_ROOT/images" -maxdepth 3 -name '*.tmp-*' -o -maxdepth 3 -name '.tmp-*' | sort -u | wc -l)
	listed=$(grep -c '^stale temp file' "$TMP/fsck")
	[ "$on_disk" = "$listed" ] || { unlisted=$((unlisted + 1)); echo "iteration $i: $on_disk temp files, $listed listed"; }
	if grep -q '^stale temp file' "$TMP/fsck"; then
		temps=$((temps + 1))
		"$BERTH" fsck --repair >/dev/null 2>&1
		"$BERTH" fsck >"$TMP/fsck2" 2>&1
		grep -q 'temp file' "$TMP/fsck2" && bad_repair=$((bad_repair + 1))
	fi
	got=
	if [ $((i % 2)) = 1 ]; then
		"$BERTH" load -q -i "$TMP/multi.tar" 2>"$TMP/reload.err" && got=$(digest_of crash:multi)
		want=$WANT_MULTI
	else
		got=$(SOURCE_DATE_EPOCH=1700000000 "$BERTH" import "$TMP/plain.tar" crash:plain 2>"$TMP/reload.err")
		want=$WANT_PLAIN
	fi
	if [ "$got" != "$want" ]; then
		bad_reload=$((bad_reload + 1))
		echo "iteration $i (killed after ${ms}ms): reload gave '$got', want '$want': $(cat "$TMP/reload.err")"
	fi
	"$BERTH" fsck >/dev/null 2>&1 || bad_fsck=$((bad_fsck + 1))
done
[ "$bad_fsck" = 0 ] && ok "fsck clean after $ITER SIGKILLed loads/imports ($killed killed mid-run)" ||
	fail "fsck after SIGKILL" "$bad_fsck of $ITER runs had errors"
[ "$bad_reload" = 0 ] && ok "reload after SIGKILL gives the same digests" ||
	fail "reload after SIGKILL" "$bad_reload of $ITER reloads failed or differed"
[ "$unlisted" = 0 ] && ok "fsck lists every temp file left on disk" || fail "temp files listed" "$unlisted runs"
[ "$bad_repair" = 0 ] && ok "fsck --repair clears stale temp files ($temps runs left some)" ||
	fail "fsck --repair temp files" "$bad_repair runs kept temp files"
"$BERTH" fsck --repair >/dev/null 2>&1
run "$BERTH" fsck --format json
if [ "$RC" = 0 ] && python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["clean"] and d["garbage"]==[] and d["images"]==2' <<<"$OUT"; then
	ok "after repair: clean, no garbage, both images"
else fail "final fsck" "rc $RC $OUT"; fi

# --- concurrency: 4 loads sharing base layers, with prune and fsck running ---
export BERTH_ROOT=$TMP/conc
for n in 1 2 3 4; do
	mkarchive "$TMP/c$n.tar" "conc:$n" "$n" base:1024 mid:1024 "top$n:512"
done
"$BERTH" import "$TMP/plain.tar" junk:1 >/dev/null && "$BERTH" rmi junk:1 >/dev/null # garbage to prune
pids=()
for n in 1 2 3 4; do
	"$BERTH" load -q -i "$TMP/c$n.tar" >"$TMP/load$n.out" 2>&1 &
	pids+=($!)
done
"$BERTH" prune -f >"$TMP/prune.out" 2>&1 &
ppid=$!
"$BERTH" fsck >"$TMP/cfsck.out" 2>&1 &
fpid=$!
lfail=0
for p in "${pids[@]}"; do wait "$p" || lfail=$((lfail + 1)); done
wait "$ppid"; prc=$?
wait "$fpid"; frc=$?
[ "$lfail" = 0 ] && ok "4 parallel loads succeed beside prune" || fail "parallel loads" "$(cat "$TMP"/load*.out)"
[ "$prc" = 0 ] && ok "concurrent prune succeeds" || fail "concurrent prune" "$(cat "$TMP/prune.out")"
[ "$frc" = 0 ] && ok "concurrent fsck finds no error" || fail "concurrent fsck" "$(cat "$TMP/cfsck.out")"
intact=0
for n in 1 2 3 4; do
	run "$BERTH" save -o "$TMP/out$n.tar" "conc:$n"
	[ "$RC" = 0 ] && intact=$((intact + 1))
done
[ "$intact" = 4 ] && ok "all 4 images intact (save re-verifies every blob)" || fail "images intact" "$intact of 4"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *", 4 images, 0 errors"* ]] && ok "fsck clean after the concurrent run" ||
	fail "fsck after concurrency" "rc $RC $OUT"
# prune once more: nothing referenced may go
"$BERTH" prune -f >/dev/null
intact=0
for n in 1 2 3 4; do "$BERTH" save -o "$TMP/o$n.tar" "conc:$n" 2>/dev/null && intact=$((intact + 1)); done
[ "$intact" = 4 ] && ok "prune keeps every tagged image" || fail "prune keeps tagged" "$intact of 4"

finish
