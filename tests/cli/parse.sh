#!/usr/bin/env bash
# berth parse: golden outputs (testdata/parse/*), error messages, exit codes.
. "$(dirname "$0")/../lib.sh"

D=$ROOT/testdata/parse
cd "$D" || exit 1

for df in linux windows windows-bom onbuild; do
	for fmt in buildkit json tree; do
		expect_golden "golden $df --format $fmt" "$df.$fmt" "$BERTH" parse --format "$fmt" "$df.Dockerfile"
	done
done
expect_golden "default format is tree" linux.tree "$BERTH" parse linux.Dockerfile
expect_golden "stdin with -" linux.buildkit sh -c "\"\$1\" parse --format buildkit - < linux.Dockerfile" sh "$BERTH"

# the json format is valid JSON with the documented spans
"$BERTH" parse --format json linux.Dockerfile > "$TMP/linux.json"
expect_out "json spans" '[5,35,[20,23],"EOF",false,true]' \
	jq -c '[.startLine, .endLine, (.children[10] | [.startLine, .endLine]), .children[10].heredocs[0].name, .children[11].heredocs[0].expand, .children[11].heredocs[0].chomp]' "$TMP/linux.json"
expect_out "json windows escape" '"`"' jq -c .escapeToken windows.json
expect_out "json warnings" '[{"short":"Empty continuation line found in: RUN apt-get update &&     apt-get install -y curl","line":30}]' \
	jq -c .warnings linux.json

# parse errors: exit 2, FILE:LINE:COL: error: message, nothing on stdout
for e in empty env escape heredoc json nul; do
	run "$BERTH" parse "error-$e.Dockerfile"
	if [ "$RC" = 2 ] && [ -z "$OUT" ] && [ "$ERR" = "$(cat "error-$e.err")" ]; then
		ok "error $e"
	else
		fail "error $e" "rc $RC, stderr: $ERR"
	fi
done

# usage errors
expect_rc "no file" 2 "$BERTH" parse
expect_match "no file message" "missing FILE" "$ERR"
expect_rc "two files" 2 "$BERTH" parse a b
expect_rc "bad format" 2 "$BERTH" parse --format yaml linux.Dockerfile
expect_match "bad format message" "unknown format 'yaml'" "$ERR"
expect_rc "missing file" 1 "$BERTH" parse /nonexistent/Dockerfile
expect_match "missing file message" "/nonexistent/Dockerfile" "$ERR"
expect_rc "help" 0 "$BERTH" parse --help
expect_match "help text" "Usage: berth parse" "$OUT"

# a line longer than BuildKit's 64 KiB scanner limit
head -c 70000 /dev/zero | tr '\0' x | sed 's/^/RUN /' > "$TMP/long.Dockerfile"
run "$BERTH" parse "$TMP/long.Dockerfile"
expect_match "line too long" ":1:1: error: dockerfile line greater than max allowed size of 65535$" "$ERR"

finish
