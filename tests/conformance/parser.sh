#!/usr/bin/env bash
# Conformance of `berth parse` with BuildKit's parser, using the BuildKit test
# data under $SHARED/conformance/buildkit (read at run time, never copied):
#   - testfiles/*: --format buildkit must equal `result` byte for byte
#   - testfiles-negative/*: must fail (exit 2) with BuildKit's message
#   - testfile-line: root and child line spans
#   - reference/**/Dockerfile.ast.json: per case, line spans, flags, args,
#     exec-form attribute, original line, comments, heredocs and warnings
#     (each comparison is one test)
. "$(dirname "$0")/../lib.sh"

BK=$SHARED/conformance/buildkit
if [ ! -d "$BK/parser/testfiles" ]; then
	skip "parser conformance" "no BuildKit data at $BK"
	finish
	exit $?
fi
command -v jq >/dev/null || { skip "parser conformance" "jq not installed"; finish; exit $?; }

for d in "$BK"/parser/testfiles/*/; do
	n=$(basename "$d")
	expect_golden "buildkit dump: $n" "$d/result" "$BERTH" parse --format buildkit "$d/Dockerfile"
done

for d in "$BK"/parser/testfiles-negative/*/; do
	n=$(basename "$d")
	run "$BERTH" parse --format buildkit "$d/Dockerfile"
	want=$(head -1 "$BK/reference/testfiles-negative/$n/Dockerfile.error" 2>/dev/null)
	if [ "$RC" != 2 ]; then
		fail "negative: $n" "exit $RC, want 2"
	elif [ -n "$OUT" ]; then
		fail "negative: $n" "printed output on error"
	elif ! printf '%s' "$ERR" | grep -Eq "^.*Dockerfile:[0-9]+:[0-9]+: error: "; then
		fail "negative: $n" "error lacks FILE:L:C position: $ERR"
	elif [ -n "$want" ] && [[ "$ERR" != *": error: $want" ]]; then
		fail "negative: $n" "got '$ERR', want message '$want'"
	else
		ok "negative: $n"
	fi
done

# testfile-line: BuildKit's TestParseIncludesLineNumbers
run "$BERTH" parse --format json "$BK/parser/testfile-line/Dockerfile"
got=$(printf '%s' "$OUT" | jq -c '[.startLine, .endLine, [.children[] | [.startLine, .endLine]]]')
if [ "$got" = '[5,31,[[5,5],[11,12],[17,31]]]' ]; then ok "line spans: testfile-line"; else
	fail "line spans: testfile-line" "got $got"; fi

# Normalisers: the same view of BuildKit's ast.json and of ours.
REF_NODE='def node: {value, original, flags: (.flags // []),
	json: ((.attributes // {}).json // false),
	args: [(.args // [])[] | if type == "object" then node else . end]};'
OUR_NODE='def node: {value, original, flags,
	json, args: (if .trigger then [.trigger | node] else .args end)};'
compare() { # name ref-filter our-filter ref-json our-json
	local a b
	a=$(printf '%s' "$4" | jq -c "$2" 2>&1)
	b=$(printf '%s' "$5" | jq -c "$3" 2>&1)
	if [ "$a" = "$b" ]; then ok "$1"; else fail "$1" "reference $a, berth $b"; fi
}

for ref in "$BK"/reference/testfiles/*/Dockerfile.ast.json "$BK"/reference/testfile-line/Dockerfile.ast.json; do
	rel=${ref#"$BK"/reference/}
	case_dir=$BK/parser/${rel%/Dockerfile.ast.json}
	n=${rel%/Dockerfile.ast.json}
	run "$BERTH" parse --format json "$case_dir/Dockerfile"
	if [ "$RC" != 0 ]; then fail "ast: $n" "parse failed: $ERR"; continue; fi
	R=$(cat "$ref")
	compare "ast spans: $n" '[.startLine, .endLine, [.children[] | [.startLine, .endLine]]]' \
		'[.startLine, .endLine, [.children[] | [.startLine, .endLine]]]' "$R" "$OUT"
	compare "ast nodes: $n" "$REF_NODE [.children[] | node]" "$OUR_NODE [.children[] | node]" "$R" "$OUT"
	compare "ast comments: $n" '[.children[] | (.prevComment // [])]' '[.children[] | .comments]' "$R" "$OUT"
	compare "ast heredocs: $n" '[.children[] | (.heredocs // []) | map({name, content, expand, chomp})]' \
		'[.children[] | .heredocs | map({name, content, expand, chomp})]' "$R" "$OUT"
	compare "ast warnings: $n" '[(.warnings // [])[] | {short, line}]' '[.warnings[] | {short, line}]' "$R" "$OUT"
	compare "ast escape: $n" '.escapeToken' '.escapeToken' "$R" "$OUT"
done

finish
