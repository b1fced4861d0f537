#!/usr/bin/env bash
# zstd, zlib and libyaml are loaded on first use (common/blibs.h): help,
# lint and a fully cached rebuild load none of them; a zstd layer loads
# zstd, a gzip layer zlib, a compose file libyaml;
# a missing one is a clear error (exit 127), not a crash.
. "$(dirname "$0")/../lib.sh"

LIBS="libzstd libz.so libyaml"
lazy_in() { # LOADED -> the lazy libraries in it
	local l found=""
	for l in $LIBS; do [[ "$1" == *"$l"* ]] && found="$found $l"; done
	echo "$found"
}

L=$(loaded "$BERTH" --help)
[ -n "$L" ] && [ -z "$(lazy_in "$L")" ] && ok "berth --help loads none of them" ||
	fail "--help loads" "$(lazy_in "$L")"

printf 'FROM scratch\nCOPY a /a\n' >"$TMP/Dockerfile.lint"
L=$(loaded "$BERTH" lint "$TMP/Dockerfile.lint")
[ -z "$(lazy_in "$L")" ] && ok "lint loads none of them" || fail "lint loads" "$(lazy_in "$L")"

mkdir -p "$TMP/ctx/d"
printf 'FROM scratch\nCOPY d /d\n' >"$TMP/ctx/Dockerfile"
echo a >"$TMP/ctx/d/a"
touch -d '2 seconds ago' "$TMP/ctx/d/a"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q --compression zstd -t z:1 "$TMP/ctx")
[[ "$L" == *libzstd.so.1* ]] && [[ "$L" != *libyaml* ]] &&
	ok "a zstd layer loads zstd (and not libyaml)" || fail "zstd build" "$(lazy_in "$L")"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q --compression zstd -t z:1 "$TMP/ctx")
[ -z "$(lazy_in "$L")" ] && ok "a fully cached rebuild loads none of them" ||
	fail "cached rebuild loads" "$(lazy_in "$L")"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q --compression gzip -t g:1 "$TMP/ctx")
[[ "$L" == *libz.so.1* ]] && [[ "$L" != *libyaml* ]] &&
	ok "a gzip layer loads zlib" || fail "gzip build" "$(lazy_in "$L")"
# the layers those wrote are what zstd and gzip read back
run env BERTH_ROOT="$TMP/root" "$BERTH" fsck
[ "$RC" = 0 ] && ok "fsck reads both layers back" || fail "fsck" "$RC $ERR"

D=$ROOT/testdata/compat
L=$(loaded "$BERTH" compat audit --compose "$D/compose/stack.yml" --fleet "$D/swarm-nodes.json")
[[ "$L" == *libyaml-0.so.2* ]] && ok "a compose file loads libyaml" || fail "compose libyaml" "$L"

V=$("$BERTH" --version)
[[ "$V" == *"zstd 1."* ]] && [[ "$V" == *"zlib 1."* ]] && [[ "$V" == *"libyaml 0."* ]] &&
	ok "berth --version prints their versions" || fail "--version" "$V"

# a libz.so.1 that is not a shared object (the gzip compressor loads zlib
# before libarchive, which needs it too, is loaded): the build says so and
# stores nothing; a libyaml without libyaml's functions is named
echo b >"$TMP/ctx/d/b"
before=$(cat "$TMP/root/images/index.json")
run env LD_LIBRARY_PATH="$(fake_lib junk libz.so.1)" BERTH_ROOT="$TMP/root" \
	"$BERTH" build -q --compression gzip -t g:2 "$TMP/ctx"
[ "$RC" = 127 ] && [[ "$ERR" == *"berth: fatal: zlib could not be loaded"*"libz.so.1"*"zlib1g"* ]] &&
	ok "an unloadable zlib is a clear error (exit 127)" || fail "bad zlib" "$RC $ERR"
[ "$(cat "$TMP/root/images/index.json")" = "$before" ] && ok "and the store is as it was" ||
	fail "store changed after the failed build"
lib=$(fake_lib foreign libyaml-0.so.2)
if [ -n "$lib" ]; then
	run env LD_LIBRARY_PATH="$lib" "$BERTH" compat audit --compose "$D/compose/stack.yml" \
		--fleet "$D/swarm-nodes.json"
	[ "$RC" = 127 ] && [[ "$ERR" == *"libyaml-0.so.2 has no 'yaml_"* ]] &&
		ok "a libyaml without its functions is named" || fail "foreign libyaml" "$RC $ERR"
else
	skip "no C compiler to build a foreign libyaml-0.so.2"
fi

finish
