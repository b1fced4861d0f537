#!/usr/bin/env bash
# libcrypto: SHA-256 is linked into berth, the rest of libcrypto (base64,
# its version) is loaded on first use (common/bcrypto.h). Hashing commands
# -- a build, a cached rebuild, lint -- never load libcrypto.so; writing a
# Windows layer (base64 security descriptors) does; when it cannot be
# loaded berth stops with a clear message (exit 127), not a crash.
. "$(dirname "$0")/../lib.sh"

SO=libcrypto.so.3

# what berth links of libcrypto.a is SHA-256 alone: a call that needs
# OpenSSL's initialisation (SHA256() in one go, EVP_Digest...) would link
# all of it (4 MB, ~1 ms at every start); such calls go through bcrypto
if nm "$BERTH" >/dev/null 2>&1; then
	D=$(nm --defined-only "$BERTH" | grep -cw OPENSSL_init_crypto)
	[ "$D" = 0 ] && ok "berth links none of OpenSSL's initialisation" ||
		fail "OPENSSL_init_crypto is linked into berth (a direct libcrypto call?)"
else
	skip "OpenSSL's initialisation not linked" "nm cannot read $BERTH"
fi

L=$(loaded "$BERTH" --help)
[ -n "$L" ] && [[ "$L" != *libcrypto* ]] && ok "berth --help does not load libcrypto" ||
	fail "--help loads libcrypto" "$L"

printf 'FROM scratch\nCOPY a /a\n' >"$TMP/Dockerfile.lint"
L=$(loaded "$BERTH" lint "$TMP/Dockerfile.lint")
[[ "$L" != *libcrypto* ]] && ok "lint does not load libcrypto" || fail "lint loads libcrypto" "$L"

mkdir -p "$TMP/ctx/d"
printf 'FROM scratch\nCOPY d /d\n' >"$TMP/ctx/Dockerfile"
echo a >"$TMP/ctx/d/a"
touch -d '2 seconds ago' "$TMP/ctx/d/a"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q -t lc:1 "$TMP/ctx")
[[ "$L" != *libcrypto* ]] && BERTH_ROOT=$TMP/root "$BERTH" inspect lc:1 >/dev/null &&
	ok "a Linux build that writes a layer does not load libcrypto" || fail "build loads libcrypto" "$L"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q -t lc:1 "$TMP/ctx")
[[ "$L" != *libcrypto* ]] && ok "nor does a fully cached rebuild" || fail "cached rebuild libcrypto" "$L"

# the linked SHA-256 gives the digests every other tool computes
BERTH_ROOT=$TMP/root "$BERTH" save -o "$TMP/lc.tar" lc:1 && mkdir -p "$TMP/lc" && tar -xf "$TMP/lc.tar" -C "$TMP/lc"
bad=0
for f in "$TMP"/lc/blobs/sha256/*; do
	[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad=1
done
[ "$bad" = 0 ] && [ -n "$(ls "$TMP"/lc/blobs/sha256)" ] && ok "every blob's name is its sha256sum" ||
	fail "blob digests differ from sha256sum"

L=$(loaded "$BERTH" --version)
V=$("$BERTH" --version)
[[ "$L" == *$SO* ]] && [[ "$V" == *"OpenSSL 3."* ]] &&
	ok "berth --version loads it (to print its version)" || fail "--version libcrypto" "$L $V"

# a Windows build: its layers' entries carry base64 security descriptors
"$ROOT/scripts/mk-windows-base" "$TMP" >/dev/null
BERTH_ROOT=$TMP/root "$BERTH" import --platform windows/amd64 --os-version 10.0.20348.2966 \
	-o "oci:$TMP/winbase:ltsc2022" "$TMP/windows-base.tar" >/dev/null
WINCTX=mcr.microsoft.com/windows/servercore:ltsc2022=oci-layout://$TMP/winbase:ltsc2022
cp -r "$ROOT/testdata/examples/windows-app" "$TMP/win"
L=$(BERTH_ROOT=$TMP/root loaded "$BERTH" build -q --build-context "$WINCTX" -t win:1 "$TMP/win")
[[ "$L" == *$SO* ]] && BERTH_ROOT=$TMP/root "$BERTH" inspect win:1 >/dev/null &&
	ok "a Windows build loads it" || fail "windows build libcrypto" "$L"

# a libcrypto.so.3 that is not a shared object, found first through
# LD_LIBRARY_PATH: the build says so and the store is as it was
echo changed >>"$TMP/win/app/start.cmd"
before=$(cat "$TMP/root/images/index.json")
run env LD_LIBRARY_PATH="$(fake_lib junk $SO)" BERTH_ROOT="$TMP/root" "$BERTH" build -q \
	--build-context "$WINCTX" -t win:2 "$TMP/win"
[ "$RC" = 127 ] && [[ "$ERR" == *"berth: fatal: libcrypto could not be loaded"*"$SO"* ]] &&
	ok "an unloadable libcrypto is a clear error (exit 127)" || fail "bad libcrypto" "$RC $ERR"
[ "$(cat "$TMP/root/images/index.json")" = "$before" ] && ok "and the store is as it was" ||
	fail "store changed after the failed build"

lib=$(fake_lib foreign $SO)
if [ -n "$lib" ]; then
	run env LD_LIBRARY_PATH="$lib" "$BERTH" --version
	[ "$RC" = 127 ] && [[ "$ERR" == *"$SO has no '"* ]] &&
		ok "a $SO without its functions is named" || fail "foreign libcrypto" "$RC $ERR"
else
	skip "no C compiler to build a foreign $SO"
fi

finish
