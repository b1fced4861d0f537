#!/usr/bin/env bash
# berth pull/push/manifest: usage errors and failures that need no registry.
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
for c in pull push manifest; do
	run "$BERTH" "$c" --help
	[ "$RC" = 0 ] && [[ "$OUT" == Usage:* ]] && ok "$c --help" || fail "$c --help" "$RC"
done
finish
