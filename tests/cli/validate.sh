#!/usr/bin/env bash
# berth validate: exit codes, FILE:LINE:COL messages, the reference format.
. "$(dirname "$0")/../lib.sh"
D=$ROOT/testdata/validate

expect_rc "valid file exits 0" 0 "$BERTH" validate "$D/ok.Dockerfile"
[ -z "$OUT$ERR" ] && ok "valid file prints nothing" || fail "valid file prints nothing" "$OUT$ERR"
expect_golden "instructions format of a valid file" "$D/ok.instructions" \
	"$BERTH" validate --format instructions "$D/ok.Dockerfile"

run "$BERTH" validate "$D/errors.Dockerfile"
[ "$RC" = 2 ] && ok "errors exit 2" || fail "errors exit 2" "rc $RC"
want_errors() {
	local line
	while IFS= read -r line; do
		if grep -qxF -- "$line" <<<"$ERR"; then ok "reports: ${line#*: }"; else
			fail "reports: ${line#*: }" "stderr was: $ERR"; fi
	done
}
want_errors <<END
$D/errors.Dockerfile:2:6: error: unknown flag: --form (did you mean from?)
$D/errors.Dockerfile:3:5: error: invalid network mode "bridge"
$D/errors.Dockerfile:4:5: error: 'from' doesn't support variable expansion, define alias stage instead
$D/errors.Dockerfile:5:13: error: --retries cannot be negative (-1)
$D/errors.Dockerfile:6:13: error: time: missing unit in duration "10"
$D/errors.Dockerfile:7:1: error: invalid name for build stage: "2nd", name can't start with a number or contain symbols
$D/errors.Dockerfile:8:1: error: SHELL requires the arguments to be in JSON form
$D/errors.Dockerfile:9:1: error: WORKDIR requires exactly one argument
$D/errors.Dockerfile:10:1: error: FROM isn't allowed as an ONBUILD trigger
$D/errors.Dockerfile:11:1: error: COPY requires at least two arguments, but only one was provided. Destination could not be determined
$D/errors.Dockerfile:12:1: error: EXPOSE requires at least one argument
$D/errors.Dockerfile:13:1: error: unknown instruction: FOOBAR
END
n=$(printf '%s\n' "$ERR" | grep -c ': error: ')
[ "$n" = 12 ] && ok "one message per bad instruction" || fail "one message per bad instruction" "$n messages"

run "$BERTH" validate --format instructions "$D/errors.Dockerfile"
[ "$RC" = 2 ] && ok "instructions format exits 2 on errors" || fail "instructions format exits 2 on errors" "rc $RC"
expect_match "instructions format: first error wins the PARSE line" \
	$'PARSE\terror\tdockerfile parse error on line 2: unknown flag: --form \\(did you mean from\\?\\)' "$OUT"
expect_match "instructions format: ok lines carry JSON" $'^1-1\tFROM\tok\t\\{"base":"alpine","name":"base"' "$OUT"
expect_match "instructions format: error lines" $'^13-13\tFOOBAR\terror\tunknown instruction: FOOBAR$' "$OUT"

run "$BERTH" validate "$D/no-stage.Dockerfile"
[ "$RC" = 2 ] && [ "$ERR" = "$D/no-stage.Dockerfile:2:1: error: no build stage in current context" ] &&
	ok "no build stage message" || fail "no build stage message" "rc $RC: $ERR"
run "$BERTH" validate --format instructions "$D/no-stage.Dockerfile"
expect_match "no build stage PARSE line" $'PARSE\terror\tno build stage in current context$' "$OUT"

run "$BERTH" validate "$D/onbuild-chain.Dockerfile"
[ "$ERR" = "$D/onbuild-chain.Dockerfile:2:1: error: Chaining ONBUILD via \`ONBUILD ONBUILD\` isn't allowed" ] &&
	ok "onbuild chaining" || fail "onbuild chaining" "$ERR"

# standard input
run "$BERTH" validate - <<<$'FROM a\nCOPY --chmod 1 2'
[ "$RC" = 2 ] && [ "$ERR" = "-:2:6: error: missing a value on flag: --chmod" ] &&
	ok "stdin, flag column" || fail "stdin, flag column" "rc $RC: $ERR"
expect_rc "stdin valid" 0 "$BERTH" validate - <<<$'ARG X\nFROM scratch\nCOPY a b'

# parse errors come from the parser layer
run "$BERTH" validate - <<<'# only a comment'
[ "$RC" = 2 ] && ok "empty Dockerfile exits 2" || fail "empty Dockerfile exits 2" "rc $RC"

# the bundled examples are valid
for ex in "$ROOT"/testdata/examples/*/Dockerfile; do
	[ -f "$ex" ] || continue
	expect_rc "example ${ex#"$ROOT"/} is valid" 0 "$BERTH" validate "$ex"
done

# usage
expect_rc "missing file argument" 2 "$BERTH" validate
expect_rc "two files" 2 "$BERTH" validate a b
expect_rc "bad format" 2 "$BERTH" validate --format yaml "$D/ok.Dockerfile"
run "$BERTH" validate "$TMP/nope"
[ "$RC" != 0 ] && grep -q 'nope' <<<"$ERR" && ok "nonexistent file fails" || fail "nonexistent file fails" "rc $RC: $ERR"
run "$BERTH" validate --help
[ "$RC" = 0 ] && grep -q 'Usage: berth validate' <<<"$OUT" && ok "help" || fail "help" "rc $RC"
finish
