#!/usr/bin/env bash
# libarchive is loaded on first use (common/barchive.h): lint, help and a
# fully cached rebuild never load it; a build that writes a layer does; when
# it cannot be loaded berth stops with a clear message (exit 127, as the
# dynamic linker would have), not a crash.
. "$(dirname "$0")/../lib.sh"

L=$(loaded "$BERTH" --help)
[ -n "$L" ] && [[ "$L" != *libarchive* ]] && ok "berth --help does not load libarchive" ||
	fail "--help loads libarchive" "$L"

printf 'FROM busybox\nRUN true\n' >"$TMP/Dockerfile.lint"
L=$(loaded "$BERTH" lint "$TMP/Dockerfile.lint")
[[ "$L" != *libarchive* ]] && ok "lint does not load libarchive" || fail "lint loads libarchive" "$L"

mkdir -p "$TMP/ctx/d"
printf 'FROM scratch\nCOPY d /d\n' >"$TMP/ctx/Dockerfile"
echo a >"$TMP/ctx/d/a"
touch -d '2 seconds ago' "$TMP/ctx/d/a"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q -t lazy:1 "$TMP/ctx")
[[ "$L" == *libarchive.so.13* ]] && ok "a build that writes a layer loads it" ||
	fail "first build libarchive" "$L"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q -t lazy:1 "$TMP/ctx")
[[ "$L" != *libarchive* ]] && ok "a fully cached rebuild does not load it" ||
	fail "cached rebuild loads libarchive" "$L"

L=$(loaded "$BERTH" --version)
[[ "$L" == *libarchive.so.13* ]] && ok "berth --version loads it (to print its version)" ||
	fail "--version libarchive" "$L"

# a libarchive.so.13 that is not a shared object, found first through
# LD_LIBRARY_PATH: a build that needs it says so and stores nothing
echo b >"$TMP/ctx/d/b"
before=$(cat "$TMP/root/images/index.json")
run env LD_LIBRARY_PATH="$(fake_lib junk libarchive.so.13)" BERTH_ROOT="$TMP/root" \
	"$BERTH" build -q -t lazy:2 "$TMP/ctx"
[ "$RC" = 127 ] && [[ "$ERR" == *"berth: fatal: libarchive could not be loaded"*"libarchive.so.13"* ]] &&
	ok "an unloadable libarchive is a clear error (exit 127)" || fail "bad libarchive" "$RC $ERR"
[ "$(cat "$TMP/root/images/index.json")" = "$before" ] && ok "and the store is as it was" ||
	fail "store changed after the failed build"
run env BERTH_ROOT="$TMP/root" "$BERTH" fsck
[ "$RC" = 0 ] && ok "fsck finds the store sound" || fail "fsck after the failed build" "$RC $OUT $ERR"

# a shared object without libarchive's functions (an old or foreign library)
lib=$(fake_lib foreign libarchive.so.13)
if [ -n "$lib" ]; then
	run env LD_LIBRARY_PATH="$lib" BERTH_ROOT="$TMP/root" "$BERTH" build -q "$TMP/ctx"
	[ "$RC" = 127 ] && [[ "$ERR" == *"libarchive.so.13 has no 'archive_"* ]] &&
		ok "a libarchive.so.13 without its functions is named" || fail "empty libarchive" "$RC $ERR"
else
	skip "no C compiler to build a foreign libarchive.so.13"
fi

finish
