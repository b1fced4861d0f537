#!/usr/bin/env bash
# The build cache under `berth prune` and `berth fsck` (issue 10): records
# ($BERTH_ROOT/cache/keys) not used for longer than --filter until=D go, the
# next build misses exactly at their step; cache-store blobs (cache/blobs)
# that no record and no image references go; nothing an image or a fresh
# record references is removed; fsck checks records and cache blobs
# (invalid record, dangling record, orphan blob) and --repair removes only
# the unreferenced.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root
CS=$BERTH_ROOT/cache/blobs/blobs/sha256
KEYS=$BERTH_ROOT/cache/keys
mkdir -p "$TMP/ctx"
echo a >"$TMP/ctx/a"
echo b >"$TMP/ctx/b"
echo c >"$TMP/ctx/c"
printf 'FROM scratch\nCOPY a /a\nCOPY b /b\nCOPY c /c\n' >"$TMP/ctx/Dockerfile"
build() { run "$BERTH" build --progress plain -t "$1" "$TMP/ctx"; }
# "2 3 4" -> which steps were cached
cached() { printf '%s\n' "$ERR" | sed -n 's/^#\([0-9]*\) CACHED$/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
layer() { # IMAGE N: digest of layer N (0-based)
	"$BERTH" inspect --format json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
l = (d.get("layers") or d["manifest"]["layers"])[int(sys.argv[1])]
print(l["digest"] if isinstance(l, dict) else l)' "$2"; }
record_of() { grep -l "$1" "$KEYS"/* 2>/dev/null | head -1; }
age() { touch -d '3 hours ago' "$@"; }

build ct:1
[ "$RC" = 0 ] && [ "$(cached)" = "" ] && ok "first build: nothing cached" || fail "first build" "$RC $ERR"
L0=$(layer ct:1 0) L1=$(layer ct:1 1) L2=$(layer ct:1 2)
R1=$(record_of "$L1")
[ "$(ls "$KEYS" | wc -l)" = 3 ] && [ -n "$R1" ] && [ -f "$CS/${L1#sha256:}" ] &&
	ok "three cache records, their layers in the cache store" || fail "records" "$(ls "$KEYS")"

# a hit makes a record fresh again
age "$KEYS"/*
build ct:1
[ "$(cached)" = "2 3 4" ] && [ -z "$(find "$KEYS" -type f -mmin +60)" ] &&
	ok "a cache hit refreshes its record (the age is the last use)" || fail "touch on hit" "$(cached)"

# the middle step's record unused for 3 h, the image still tagged
age "$R1"
run "$BERTH" prune -f --filter until=1h
[ "$RC" = 0 ] && [[ "$OUT" == *"Deleted build cache objects:"*"${R1##*/}"* ]] && [ ! -e "$R1" ] &&
	[ "$(ls "$KEYS" | wc -l)" = 2 ] && [[ "$OUT" == *"Total reclaimed space: "* ]] &&
	ok "prune --filter until=1h removes the record unused for 3 h, lists it" || fail "prune old record" "$RC $OUT $ERR"
[ -f "$CS/${L1#sha256:}" ] && [ -f "$CS/${L0#sha256:}" ] && [ -f "$CS/${L2#sha256:}" ] &&
	ok "prune keeps a cache blob a tagged image references" || fail "prune image blob" "$(ls "$CS")"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"cache/blobs: 3 blobs"*"2 cache records, 0 errors, 0 reclaimable"* ]] &&
	ok "fsck after prune: both stores clean" || fail "fsck after prune" "$RC $OUT"
build ct:1
[ "$RC" = 0 ] && [ "$(cached)" = "2 4" ] && [ "$(layer ct:1 1)" = "$L1" ] &&
	ok "the next build misses exactly at the pruned step (same layer again)" || fail "miss there" "cached '$(cached)' $ERR"

# without the image, an old record's blob goes with it; fresh ones stay
"$BERTH" rmi ct:1 >/dev/null
R1=$(record_of "$L1")
age "$R1"
run "$BERTH" prune -f --filter until=1h
[ "$RC" = 0 ] && [ ! -e "$R1" ] && [ ! -e "$CS/${L1#sha256:}" ] && [[ "$OUT" == *"$L1"* ]] &&
	ok "an old record's blob no image references is removed" || fail "prune blob" "$RC $OUT $(ls "$CS")"
[ -f "$CS/${L0#sha256:}" ] && [ -f "$CS/${L2#sha256:}" ] && [ "$(ls "$KEYS" | wc -l)" = 2 ] &&
	ok "blobs of fresh records survive" || fail "fresh survive" "$(ls "$CS") $(ls "$KEYS")"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"cache/blobs: 2 blobs"*" 0 errors, 0 reclaimable"* ]] &&
	ok "fsck after the blob prune: clean" || fail "fsck after blob prune" "$RC $OUT"

# prune without a filter: records stay, only unreferenced cache blobs go
build ct:2
orphan=$(printf 'orphan' | sha256sum | cut -d' ' -f1)
printf 'orphan' >"$CS/$orphan"
run "$BERTH" prune -f
[ "$RC" = 0 ] && [ ! -e "$CS/$orphan" ] && [ "$(ls "$KEYS" | wc -l)" = 3 ] && [[ "$OUT" == *"sha256:$orphan"* ]] &&
	ok "prune: an unreferenced cache blob goes, every record stays" || fail "prune orphan" "$RC $OUT"

# fsck of the cache: an orphan is reclaimable, --repair removes only it
printf 'orphan' >"$CS/$orphan"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"orphaned blob sha256:$orphan (6 bytes)"* ]] && [[ "$OUT" == *"3 cache records, 0 errors, 1 reclaimable"* ]] &&
	ok "fsck: an unreferenced cache blob is reclaimable garbage" || fail "fsck orphan" "$RC $OUT"
run "$BERTH" fsck --repair
[ "$RC" = 0 ] && [ ! -e "$CS/$orphan" ] && [ "$(ls "$CS" | wc -l)" = 3 ] &&
	ok "fsck --repair removes the orphan and nothing a record references" || fail "repair orphan" "$RC $OUT $(ls "$CS")"

# a record naming a blob that is gone: an error, repair keeps everything
R2=$(record_of "$L2")
cp "$CS/${L2#sha256:}" "$TMP/l2"
rm "$CS/${L2#sha256:}"
run "$BERTH" fsck --repair
[ "$RC" = 1 ] && [[ "$OUT" == *"missing blob $L2: referenced by cache record keys/${R2##*/}"* ]] && [ -e "$R2" ] &&
	[ "$(ls "$CS" | wc -l)" = 2 ] && ok "fsck: a dangling cache record is an error naming it; repair removes nothing" ||
	fail "dangling record" "$RC $OUT"
cp "$TMP/l2" "$CS/${L2#sha256:}"

# a record that does not parse; a stale temp record
cp "$R2" "$TMP/r2"
echo 'not a record' >"$R2"
echo 'application/x y' >"$KEYS/${R2##*/}.tmp-abc123"
run "$BERTH" fsck --format json
[ "$RC" = 1 ] && python3 -c '
import json, sys
c = json.load(sys.stdin)["cache"]
assert not c["clean"] and c["cacheRecords"] == 3, c
assert [e["kind"] for e in c["errors"]] == ["invalid"] and "keys/" + sys.argv[1] in c["errors"][0]["object"], c
assert [g["kind"] for g in c["garbage"]] == ["temp"], c' "${R2##*/}" <<<"$OUT" &&
	ok "fsck: an invalid record is an error, a temp record garbage (json)" || fail "invalid record" "$RC $OUT"
cp "$TMP/r2" "$R2"
run "$BERTH" fsck --repair
[ "$RC" = 0 ] && [ ! -e "$KEYS/${R2##*/}.tmp-abc123" ] && [ -e "$R2" ] &&
	ok "fsck --repair removes the stale temp record only" || fail "repair temp record" "$RC $OUT"
# the LAYOUT form knows the cache store too (its blobs are not orphans)
run "$BERTH" fsck "$BERTH_ROOT/cache/blobs"
[ "$RC" = 0 ] && [[ "$OUT" == *"3 cache records, 0 errors, 0 reclaimable"* ]] &&
	ok "fsck LAYOUT of the cache store checks its records" || fail "fsck cache layout" "$RC $OUT"

# --all: every record, every cache blob no image references
"$BERTH" rmi ct:2 >/dev/null
build ct:3
L0=$(layer ct:3 0)
printf 'FROM scratch\nCOPY c /only-c\n' >"$TMP/ctx/Dockerfile.other"
"$BERTH" build -q -f "$TMP/ctx/Dockerfile.other" "$TMP/ctx" >/dev/null
OTHER=$(grep -L "$L0" "$KEYS"/* | xargs cat | awk '{print $2}' | sort -u)
run "$BERTH" prune -f -a
[ "$RC" = 0 ] && [ "$(ls "$KEYS" | wc -l)" = 0 ] && [ -f "$CS/${L0#sha256:}" ] &&
	ok "prune -a: every record goes, blobs of tagged images stay" || fail "prune -a" "$RC $OUT $(ls "$KEYS")"
gone=1
for d in $OTHER; do
	"$BERTH" inspect ct:3 --format json | grep -q "$d" && continue
	[ -e "$CS/${d#sha256:}" ] && gone=0
done
[ "$gone" = 1 ] && ok "prune -a: cache blobs no image references go" || fail "prune -a blobs" "$(ls "$CS")"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"0 cache records, 0 errors, 0 reclaimable"* ]] && ok "fsck after prune -a: clean" ||
	fail "fsck after -a" "$RC $OUT"
build ct:3
[ "$RC" = 0 ] && [ "$(cached)" = "" ] && [ "$(layer ct:3 0)" = "$L0" ] &&
	ok "after prune -a the next build misses every step, same layers" || fail "rebuild after -a" "$(cached) $ERR"

# --- materialised stage trees (cache/rootfs) and cache mounts (cache/mounts) ---
# a WORKDIR in a stage with layers reads the stage: its tree is materialised
printf 'FROM ct:3\nWORKDIR /w\n' >"$TMP/ctx/Dockerfile.wd"
run "$BERTH" build -f "$TMP/ctx/Dockerfile.wd" -t wd:1 "$TMP/ctx"
RF=$BERTH_ROOT/cache/rootfs
NRF=$(ls "$RF" 2>/dev/null | wc -l)
[ "$RC" = 0 ] && [ "$NRF" -ge 1 ] && ok "a WORKDIR step materialises the stage tree in cache/rootfs" ||
	fail "rootfs made" "$RC $NRF $ERR"
mkdir -p "$BERTH_ROOT/cache/mounts/apt"
head -c 4096 /dev/zero >"$BERTH_ROOT/cache/mounts/apt/pkg.deb"
run "$BERTH" prune -f --filter until=1h
[ "$RC" = 0 ] && [ "$(ls "$RF" | wc -l)" = "$NRF" ] && [ -f "$BERTH_ROOT/cache/mounts/apt/pkg.deb" ] &&
	ok "prune --filter until=1h keeps trees used within the hour and every cache mount" ||
	fail "prune keeps fresh trees" "$RC $OUT $(ls "$RF")"
age "$RF"/*
# reuse makes a tree fresh again, as a hit does for a record
run "$BERTH" build -f "$TMP/ctx/Dockerfile.wd" -t wd:1 "$TMP/ctx"
run "$BERTH" prune -f --filter until=1h
[ "$RC" = 0 ] && [ "$(ls "$RF" | wc -l)" -ge 1 ] &&
	ok "a tree a build reused is not pruned as old" || fail "rootfs reuse touch" "$RC $OUT $(ls -l "$RF")"
age "$RF"/*
run "$BERTH" prune -f --filter until=1h
[ "$RC" = 0 ] && [ "$(ls "$RF" | wc -l)" = 0 ] && [[ "$OUT" == *"rootfs/"* ]] &&
	[ -f "$BERTH_ROOT/cache/mounts/apt/pkg.deb" ] &&
	ok "prune --filter until=1h removes trees unused for 3 h, lists them, keeps cache mounts" ||
	fail "prune old trees" "$RC $OUT $(ls "$RF")"
run "$BERTH" build -f "$TMP/ctx/Dockerfile.wd" -t wd:2 "$TMP/ctx"
[ "$RC" = 0 ] && [ "$(ls "$RF" | wc -l)" -ge 1 ] && ok "the next build materialises the tree again" ||
	fail "rootfs again" "$RC $ERR"
run "$BERTH" prune -f -a
[ "$RC" = 0 ] && [ "$(ls "$RF" | wc -l)" = 0 ] && [ ! -e "$BERTH_ROOT/cache/mounts/apt" ] &&
	[[ "$OUT" == *"mounts/apt"* ]] && [[ "$OUT" == *"Total reclaimed space"* ]] &&
	ok "prune -a removes every stage tree and cache mount" || fail "prune -a trees" "$RC $OUT"
run "$BERTH" fsck
[ "$RC" = 0 ] && ok "fsck after pruning the trees: clean" || fail "fsck after trees" "$RC $OUT"

finish
