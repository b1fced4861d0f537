#!/usr/bin/env bash
# berth pull/push/manifest/save: usage errors and failures that need no registry.
. "$(dirname "$0")/../lib.sh"
export BERTH_ROOT=$TMP/root DOCKER_CONFIG=$TMP/dc
unset DOCKER_AUTH_CONFIG

expect_rc "pull without a reference" 2 "$BERTH" pull
expect_rc "pull with two references" 2 "$BERTH" pull a b
expect_rc "pull: bad reference" 2 "$BERTH" pull 'UPPER//x'
expect_rc "pull: bad --platform" 2 "$BERTH" pull --platform nope a
expect_rc "pull: bad --tls-verify" 2 "$BERTH" pull --tls-verify=maybe a
expect_rc "pull: bad --retries" 2 "$BERTH" pull --retries 99 a
expect_rc "pull --lazy -o" 2 "$BERTH" pull --lazy -o oci:x a
expect_rc "push without arguments" 2 "$BERTH" push
expect_rc "push: bad --chunk-size" 2 "$BERTH" push --chunk-size 0 a
expect_rc "manifest without subcommand" 2 "$BERTH" manifest
expect_rc "manifest: unknown subcommand" 2 "$BERTH" manifest frob
expect_rc "manifest create without images" 2 "$BERTH" manifest create lst
expect_rc "manifest push: too many arguments" 2 "$BERTH" manifest push a b c
run "$BERTH" pull --password-stdin 127.0.0.1:1/x </dev/null
[ "$RC" = 2 ] && [[ "$ERR" == *"--password-stdin requires --username"* ]] && ok "--password-stdin needs --username" || fail "pw-stdin" "$RC $ERR"
run "$BERTH" push nothere:1 127.0.0.1:1/x:1
[ "$RC" = 1 ] && [[ "$ERR" == *"not found"* ]] && ok "push of a missing local image" || fail "push missing" "$RC $ERR"
# nothing listens on port 1: a network error naming the registry, quickly
run "$BERTH" pull --retries 0 127.0.0.1:1/x:1
[ "$RC" = 1 ] && [[ "$ERR" == *"registry '127.0.0.1:1'"* ]] && ok "unreachable registry: clear error" || fail "unreachable" "$RC $ERR"
mkdir -p "$TMP/dc" && printf '{"auths":' >"$TMP/dc/config.json"
run "$BERTH" pull --retries 0 127.0.0.1:1/x:1
# the ping fails first; a broken config.json is only read when credentials are needed
[ "$RC" = 1 ] && ok "broken config.json does not matter before a challenge" || fail "broken cfg" "$RC $ERR"
# a lazy image without a registry: a loaded image whose first layer blob is
# replaced by a source record pointing at a port where nothing listens
expect_rc "save: bad --retries" 2 "$BERTH" save --retries 99 -o "$TMP/x.tar" a
python3 "$ROOT/tests/integration/registry/mkimage.py" "$TMP/l.tar" lz:1 --text a.txt=one --text b.txt=two
"$BERTH" load -q -i "$TMP/l.tar" >/dev/null || fail "load lz"
L0=$("$BERTH" inspect --format json lz:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
rm -f "$BERTH_ROOT/images/blobs/sha256/${L0#sha256:}"
run "$BERTH" inspect lz:1
[ "$RC" = 1 ] && [[ "$ERR" == *"layer 0 blob '$L0' is missing"* ]] && ok "inspect: a missing layer without a source is an error" || fail "missing layer" "$RC $ERR"
mkdir -p "$BERTH_ROOT/images/berth-sources"
echo "127.0.0.1:1/base/x" >"$BERTH_ROOT/images/berth-sources/${L0#sha256:}"
run "$BERTH" inspect lz:1
[ "$RC" = 0 ] && [[ "$OUT" == *"2 ("*"bytes), 1 only in a registry (lazy)"* ]] && [[ "$OUT" == *"(remote: 127.0.0.1:1/base/x)"* ]] &&
	ok "inspect of a lazy image reads metadata only" || fail "inspect lazy" "$RC $OUT $ERR"
run "$BERTH" images
[[ "$OUT" == *lz*" 1 "* ]] && [[ "$OUT" != *"<unknown>"* ]] && ok "images lists the lazy image" || fail "images lazy" "$OUT"
for f in docker-archive oci-archive oci; do
	run "$BERTH" save --retries 0 -f "$f" -o "$TMP/lz-$f" lz:1
	left=$(find "$TMP" -maxdepth 1 -name "lz-$f*" | wc -l)
	[ "$RC" = 1 ] && [[ "$ERR" == *"save 'lz:1' (nothing written)"*"blob '$L0' from '127.0.0.1:1/base/x'"* ]] && [ "$left" = 0 ] &&
		ok "save -f $f of a lazy image, registry unreachable: error names blob and registry, nothing written" ||
		fail "save $f unreachable" "$RC $left $ERR"
done
[ -z "$(find "$BERTH_ROOT/images" -name '*.tmp-*')" ] && ok "no temp file left in the store" || fail "store temp files"
for c in pull push manifest save; do
	run "$BERTH" "$c" --help
	[ "$RC" = 0 ] && [[ "$OUT" == Usage:* ]] && ok "$c --help" || fail "$c --help" "$RC"
done
finish
