#!/usr/bin/env bash
# libcurl is loaded on first use (common/bcurl.h): commands that need no
# network never load it, and when it cannot be loaded the commands that do
# need it fail with a clear error instead of crashing.
. "$(dirname "$0")/../lib.sh"

L=$(loaded "$BERTH" --help)
[ -n "$L" ] && [[ "$L" != *libcurl* ]] && ok "berth --help does not load libcurl" || fail "--help loads libcurl" "$L"

mkdir -p "$TMP/ctx"
printf 'FROM scratch\nCOPY a /a\n' >"$TMP/ctx/Dockerfile"
echo a >"$TMP/ctx/a"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q "$TMP/ctx")
[[ "$L" != *libcurl* ]] && ok "a build with no registry or engine does not load libcurl" ||
	fail "build loads libcurl" "$L"

L=$(loaded "$BERTH" --version)
[[ "$L" == *libcurl.so.4* ]] && ok "berth --version loads it (to print its version)" ||
	fail "--version libcurl" "$L"

# a libcurl.so.4 that is not a shared object, found first through
# LD_LIBRARY_PATH: the network commands say what is wrong
bad=$(fake_lib junk libcurl.so.4)
run env LD_LIBRARY_PATH="$bad" BERTH_ROOT="$TMP/root" "$BERTH" pull 127.0.0.1:9/x:1
[ "$RC" = 1 ] && [[ "$ERR" == *"libcurl could not be loaded"*"libcurl.so.4"* ]] &&
	ok "pull: an unloadable libcurl is a clear error (exit 1)" || fail "pull bad libcurl" "$RC $ERR"
run env LD_LIBRARY_PATH="$bad" DOCKER_HOST=unix:///nonexistent "$BERTH" engine info
[ "$RC" = 1 ] && [[ "$ERR" == *"libcurl could not be loaded"* ]] &&
	ok "engine info: the same error" || fail "engine bad libcurl" "$RC $ERR"

# a shared object without curl's functions (an old or foreign library)
lib=$(fake_lib foreign libcurl.so.4)
if [ -n "$lib" ]; then
	run env LD_LIBRARY_PATH="$lib" BERTH_ROOT="$TMP/root" "$BERTH" pull 127.0.0.1:9/x:1
	[ "$RC" = 1 ] && [[ "$ERR" == *"libcurl.so.4 has no 'curl_easy_init'"* ]] &&
		ok "pull: a libcurl.so.4 without curl_easy_init is named" || fail "pull empty libcurl" "$RC $ERR"
else
	skip "no C compiler to build a foreign libcurl.so.4"
fi

finish
