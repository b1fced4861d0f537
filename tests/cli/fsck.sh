#!/usr/bin/env bash
# CLI tests for berth fsck and berth prune: output shapes, exit codes,
# repair scope, --root / LAYOUT, usage errors.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root
export SOURCE_DATE_EPOCH=1700000000
mkdir -p "$TMP/tree"
printf 'one\n' >"$TMP/tree/a"
tar -C "$TMP/tree" --mtime=@0 --owner=0 --group=0 -cf "$TMP/l1.tar" .
printf 'two\n' >"$TMP/tree/b"
tar -C "$TMP/tree" --mtime=@0 --owner=0 --group=0 -cf "$TMP/l2.tar" .

expect_rc "fsck --help" 0 "$BERTH" fsck --help
expect_rc "fsck bad format" 2 "$BERTH" fsck --format yaml
expect_rc "fsck two layouts" 2 "$BERTH" fsck a b
expect_rc "fsck --root and LAYOUT" 2 "$BERTH" fsck --root "$TMP" "$TMP"
run "$BERTH" fsck "$TMP/nolayout"
[ "$RC" = 1 ] && [[ "$ERR" == *"nolayout"* ]] && ok "fsck of a missing layout fails naming it" || fail "fsck missing" "rc $RC $ERR"

D1=$("$BERTH" import "$TMP/l1.tar" fs:1)
D2=$("$BERTH" import "$TMP/l2.tar" fs:2)
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == "$TMP/root/images: 6 blobs ("*" bytes) verified, 2 images, 0 errors, 0 reclaimable" ]] &&
	ok "fsck of a clean store" || fail "fsck clean" "rc $RC $OUT"
expect_rc "fsck --root DIR" 0 "$BERTH" fsck --root "$TMP/root"
expect_rc "fsck LAYOUT" 0 "$BERTH" fsck "$TMP/root/images"

# garbage: an orphan (rmi leaves blobs) and temp files -> listed, exit 0
"$BERTH" rmi fs:2 >/dev/null
printf 'partial' >"$TMP/root/images/blobs/sha256/.tmp-AbC123"
printf '{}' >"$TMP/root/images/index.json.tmp-XyZ789"
run "$BERTH" fsck
[ "$RC" = 0 ] && ok "garbage alone is not an error" || fail "fsck garbage rc" "$RC $OUT"
expect_match "orphan listed" "^orphaned blob ${D2} \\(" "$OUT"
expect_match "blob temp listed" "^stale temp file blobs/sha256/.tmp-AbC123 \\(7 bytes\\)" "$OUT"
expect_match "index temp listed" "^stale temp file index.json.tmp-XyZ789 \\(2 bytes\\)" "$OUT"
expect_match "summary counts" ", 1 images, 0 errors, 5 reclaimable$" "$OUT"

# an error: a corrupt blob -> exit 1, json names it, repair keeps it
L1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])' <<<"$("$BERTH" inspect --format json fs:1)")
cp "$TMP/root/images/blobs/sha256/${L1#sha256:}" "$TMP/good-layer"
chmod u+w "$TMP/root/images/blobs/sha256/${L1#sha256:}"
printf 'X' | dd of="$TMP/root/images/blobs/sha256/${L1#sha256:}" bs=1 seek=20 conv=notrunc status=none
run "$BERTH" fsck --format json
if [ "$RC" = 1 ] && python3 -c '
import json,sys
d=json.load(sys.stdin); l=sys.argv[1]
assert not d["clean"]
assert [e["kind"] for e in d["errors"]]==["corrupt"] and d["errors"][0]["object"]==l, d["errors"]
assert "content hashes to" in d["errors"][0]["message"]
assert sorted(g["kind"] for g in d["garbage"])==["orphan","orphan","orphan","temp","temp"]' "$L1" <<<"$OUT"
then ok "corrupt blob: exit 1, json error entry"; else fail "corrupt json" "rc $RC $OUT"; fi
run "$BERTH" fsck --repair
[ "$RC" = 1 ] && [ -f "$TMP/root/images/blobs/sha256/${L1#sha256:}" ] && ok "repair keeps a damaged blob" ||
	fail "repair damaged" "rc $RC"
expect_match "repair removes temp files even so" "^removed stale temp file blobs/sha256/.tmp-AbC123" "$OUT"
expect_match "repair removes orphans (walk had no errors)" "^removed orphaned blob ${D2}" "$OUT"
cp "$TMP/good-layer" "$TMP/root/images/blobs/sha256/${L1#sha256:}"
run "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *", 1 images, 0 errors, 0 reclaimable" ]] && ok "clean after repair" || fail "after repair" "$OUT"

# a missing layer: exit 1 and nothing collected by prune
mv "$TMP/root/images/blobs/sha256/${L1#sha256:}" "$TMP/moved"
run "$BERTH" fsck
[ "$RC" = 1 ] && [[ "$OUT" == *"missing blob $L1: referenced by manifest '$D1'"* ]] && ok "missing layer reported" ||
	fail "missing layer" "rc $RC $OUT"
run "$BERTH" prune -f
[ "$RC" = 1 ] && [[ "$ERR" == *"run 'berth fsck'"* ]] && ok "prune refuses a damaged store" || fail "prune damaged" "rc $RC $ERR"
mv "$TMP/moved" "$TMP/root/images/blobs/sha256/${L1#sha256:}"

# prune: docker's output shape
"$BERTH" import "$TMP/l2.tar" >/dev/null # untagged: a dangling image
run "$BERTH" prune -f
expect_match "prune lists dangling images" "^Deleted Images:
deleted: sha256:[0-9a-f]{64}

Deleted Blobs:
deleted: sha256:" "$OUT"
expect_match "prune total" "Total reclaimed space: [0-9.]+k?B$" "$OUT"
run "$BERTH" prune -f
[ "$OUT" = "Total reclaimed space: 0B" ] && ok "prune of a clean store" || fail "prune clean" "$OUT"
run "$BERTH" inspect fs:1
[ "$RC" = 0 ] && ok "prune keeps tagged images" || fail "prune kept" "$ERR"
"$BERTH" import "$TMP/l2.tar" >/dev/null
run "$BERTH" prune -f --filter until=1h
[ "$OUT" = "Total reclaimed space: 0B" ] && ok "until=1h keeps recent objects" || fail "until" "$OUT"
run sh -c "echo n | '$BERTH' prune"
[ "$RC" = 0 ] && [ -z "$OUT" ] && [[ "$ERR" == *"Are you sure"* ]] && ok "prune asks and 'n' keeps everything" ||
	fail "prune confirm" "rc $RC $OUT $ERR"
run sh -c "echo y | '$BERTH' prune"
expect_match "prune with 'y'" "^Deleted Images:" "$OUT"
expect_rc "prune bad filter" 2 "$BERTH" prune -f --filter label=x
expect_rc "prune bad duration" 2 "$BERTH" prune -f --filter until=soon
expect_rc "prune --help" 0 "$BERTH" prune --help
expect_rc "fsck clean at the end" 0 "$BERTH" fsck

# a foreign layout without blobs/: checkable; a reference into it is missing
mkdir -p "$TMP/bare"
printf '{"imageLayoutVersion":"1.0.0"}' >"$TMP/bare/oci-layout"
printf '{"schemaVersion":2,"manifests":[]}' >"$TMP/bare/index.json"
expect_out "empty layout without blobs/" "$TMP/bare: 0 blobs (0 bytes) verified, 0 images, 0 errors, 0 reclaimable" \
	"$BERTH" fsck "$TMP/bare"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":9}]}' 0 \
	>"$TMP/bare/index.json"
run "$BERTH" fsck "$TMP/bare"
[ "$RC" = 1 ] && [[ "$OUT" == "missing blob sha256:0000"*": referenced by index.json"* ]] && ok "dangling index.json entry" ||
	fail "dangling index entry" "rc $RC $OUT"
printf 'not json' >"$TMP/bare/index.json"
run "$BERTH" fsck "$TMP/bare"
[ "$RC" = 1 ] && [[ "$OUT" == "invalid object index.json: "* ]] && ok "unparseable index.json" || fail "bad index" "rc $RC $OUT"

# a berth process killed while creating its store (oci-layout is written
# last): fsck finishes the creation instead of calling the store broken;
# an explicit LAYOUT without oci-layout stays an error
mkdir -p "$TMP/half/images/blobs/sha256"
echo x >"$TMP/half/images/index.json.tmp-AbCdEf"
run env BERTH_ROOT="$TMP/half" "$BERTH" fsck
[ "$RC" = 0 ] && [[ "$OUT" == *"stale temp file index.json.tmp-AbCdEf"* ]] && [ -f "$TMP/half/images/oci-layout" ] &&
	ok "fsck: a store whose creation was interrupted is completed, its temp file listed" || fail "half-created store" "$RC $OUT $ERR"
mkdir -p "$TMP/halflayout/blobs/sha256"
run "$BERTH" fsck "$TMP/halflayout"
[ "$RC" != 0 ] && [[ "$ERR" == *"no oci-layout file"* ]] && ok "fsck LAYOUT without oci-layout is an error" || fail "layout without oci-layout" "$RC $ERR"

finish
