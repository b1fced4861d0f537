#!/usr/bin/env bash
# berth lint: every rule fires on its bad example at the expected positions and
# not on its near-miss; real-world Windows Dockerfiles give exactly their
# expected findings; suppression, config, exit codes, output formats.
. "$(dirname "$0")/../lib.sh"
D=$ROOT/testdata/lint
DATE=--date=2026-08-20
cd "$ROOT" || exit 1

# --- every rule: bad triggers it at the listed positions, good does not ---
nrules=0
for dir in "$D"/B[LW][0-9][0-9][0-9]; do
	id=$(basename "$dir")
	nrules=$((nrules + 1))
	args=()
	[ -f "$dir/args" ] && mapfile -t args <"$dir/args"
	rel=${dir#"$ROOT"/}
	run "$BERTH" lint --no-config "$DATE" "${args[@]}" "$rel/bad.Dockerfile"
	got=$(printf '%s\n' "$OUT" | grep -F "[$id]: " | sed -E 's/^[^:]+:([0-9]+):([0-9]+): .*/\1:\2/')
	if [ "$got" = "$(cat "$dir/expect")" ] && [ "$RC" -le 1 ]; then ok "$id bad"; else
		fail "$id bad" "want $(tr '\n' ' ' <"$dir/expect")got $(echo $got) (rc $RC) $ERR"; fi
	expect_match "$id bad names the file" "^testdata/lint/$id/bad.Dockerfile:[0-9]+:[0-9]+: (error|warning|info)\[$id\]: " "$(printf '%s\n' "$OUT" | grep -F "[$id]" | head -1)"
	run "$BERTH" lint --no-config "$DATE" "${args[@]}" "$rel/good.Dockerfile"
	if ! printf '%s\n' "$OUT" | grep -qF "[$id]" && [ "$RC" -le 1 ] && [ -z "$ERR" ]; then ok "$id good"; else
		fail "$id good" "$OUT $ERR"; fi
	[ -f "$ROOT/docs/rules/$id.md" ] && ok "$id documented" || fail "$id documented" "docs/rules/$id.md missing"
done
run "$BERTH" lint --list-rules
[ "$(printf '%s\n' "$OUT" | wc -l)" = "$nrules" ] && ok "every listed rule has test data" || fail "every listed rule has test data" "$(printf '%s\n' "$OUT" | wc -l) rules, $nrules dirs"

# --- real-world Windows Dockerfiles: exactly the expected findings ---
for f in "$D"/real-world/*.Dockerfile; do
	name=$(basename "$f" .Dockerfile)
	run "$BERTH" lint --no-config "$DATE" --target-host ltsc2022 --format json "$f"
	got=$(printf '%s' "$OUT" | jq -r '.files[0].findings[] | "\(.line):\(.column) \(.rule)"')
	if [ "$got" = "$(cat "${f%.Dockerfile}.expect")" ]; then ok "real-world $name"; else
		fail "real-world $name" "rc $RC"; diff <(cat "${f%.Dockerfile}.expect") <(echo "$got") | head; fi
done

# --- inline suppression ---
cat >"$TMP/s.Dockerfile" <<'X'
FROM alpine:3.20@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5
# berth-ignore: BL104 kept for an old tool that reads it
MAINTAINER a@example.com
# berth-ignore: BL107,BL113 the build script expects it
# (two comment lines: the whole block above counts)
WORKDIR app
# berth-ignore: BL113

MAINTAINER b@example.com
# berth-ignore: BL106 BL104
CMD run
X
run "$BERTH" lint --no-config "$TMP/s.Dockerfile"
got=$(printf '%s\n' "$OUT" | sed -E 's/^[^:]+:([0-9]+):([0-9]+): [a-z]+\[([A-Z0-9]+)\].*/\1 \3/' | tr '\n' ' ')
[ "$got" = "9 BL104 " ] && ok "berth-ignore suppresses the next instruction only" || fail "berth-ignore" "$got"

# --- --ignore ---
run "$BERTH" lint --no-config --ignore BL101,bl103 --ignore BL113 "$D/BL101/bad.Dockerfile"
[ "$RC" = 0 ] && [ -z "$OUT" ] && ok "--ignore list" || fail "--ignore list" "rc $RC $OUT"
expect_rc "--ignore unknown rule" 2 "$BERTH" lint --no-config --ignore BL999 "$D/BL101/bad.Dockerfile"
expect_match "--ignore unknown rule message" "unknown rule 'BL999'" "$ERR"

# --- exit codes and --fail-on ---
expect_rc "warning fails by default" 1 "$BERTH" lint --no-config "$D/BL101/bad.Dockerfile"
expect_rc "info does not fail by default" 0 "$BERTH" lint --no-config "$D/BL113/bad.Dockerfile" --ignore BL103
expect_rc "--fail-on info" 1 "$BERTH" lint --no-config --fail-on info "$D/BL113/bad.Dockerfile"
expect_rc "--fail-on error ignores warnings" 0 "$BERTH" lint --no-config --fail-on error "$D/BL101/bad.Dockerfile"
expect_rc "--fail-on none" 0 "$BERTH" lint --no-config --fail-on none "$D/BW101/bad.Dockerfile"
expect_rc "parse error is a failing finding" 1 "$BERTH" lint --no-config "$D/BL100/bad.Dockerfile"
expect_rc "missing file" 2 "$BERTH" lint --no-config "$TMP/nope"
expect_match "missing file message" "nope" "$ERR"
expect_rc "no file" 2 "$BERTH" lint
expect_rc "bad format" 2 "$BERTH" lint --format yaml "$D/BL101/bad.Dockerfile"
expect_rc "bad fail-on" 2 "$BERTH" lint --fail-on fatal "$D/BL101/bad.Dockerfile"
expect_rc "bad date" 2 "$BERTH" lint --date 2026-02-30 "$D/BL101/bad.Dockerfile"
expect_rc "bad target host" 2 "$BERTH" lint --target-host nonsense "$D/BL101/bad.Dockerfile"
expect_rc "stdin twice" 2 "$BERTH" lint - -
expect_rc "help" 0 "$BERTH" lint --help
run sh -c "'$BERTH' lint --no-config - <'$D/BL104/bad.Dockerfile'"
expect_match "stdin" "^-:2:1: warning\[BL104\]" "$OUT"
run "$BERTH" lint --no-config "$D/BL101/bad.Dockerfile" "$TMP/nope" "$D/BL104/bad.Dockerfile"
[ "$RC" = 2 ] && printf '%s' "$OUT" | grep -q "BL104" && ok "unreadable file: others still linted, exit 2" || fail "unreadable file among others" "rc $RC"

# --- config file ---
mkdir -p "$TMP/repo/.git" "$TMP/repo/svc"
cp "$D/BW107/bad.Dockerfile" "$TMP/repo/svc/Dockerfile"
cat >"$TMP/repo/.berth.json" <<'X'
{ "$schema": "x", "target_hosts": ["ltsc2022"], "ignore": ["BL103"], "fail_on": "error",
  "severity": { "BW107": "error" } }
X
run "$BERTH" lint "$DATE" "$TMP/repo/svc/Dockerfile"
[ "$RC" = 1 ] && expect_match "config found in repo root: hosts, ignore, severity" "^[^ ]*:1:6: error\[BW107\]" "$OUT" || fail "config found in repo root" "rc $RC $OUT $ERR"
printf '%s' "$OUT" | grep -q BL103 && fail "config ignore" || ok "config ignore"
run "$BERTH" lint "$DATE" --target-host ltsc2019 "$TMP/repo/svc/Dockerfile"
[ "$RC" = 0 ] && ok "--target-host replaces config hosts" || fail "--target-host replaces config hosts" "rc $RC $OUT"
run "$BERTH" lint --no-config "$DATE" "$TMP/repo/svc/Dockerfile"
printf '%s' "$OUT" | grep -q BW107 && fail "--no-config" || ok "--no-config"
echo '{ "ignroe": ["BL101"] }' >"$TMP/bad.json"
expect_rc "unknown config key" 2 "$BERTH" lint --config "$TMP/bad.json" "$D/BL101/bad.Dockerfile"
expect_match "unknown key message" "unknown key 'ignroe'" "$ERR"
echo '{ "severity": { "BL101": "fatal" } }' >"$TMP/bad2.json"
expect_rc "bad severity in config" 2 "$BERTH" lint --config "$TMP/bad2.json" "$D/BL101/bad.Dockerfile"
echo '{ "target_hosts": [' >"$TMP/bad3.json"
expect_rc "config not JSON" 2 "$BERTH" lint --config "$TMP/bad3.json" "$D/BL101/bad.Dockerfile"
echo '{ "format": "json", "near_eol_days": 200 }' >"$TMP/c.json"
run "$BERTH" lint --config "$TMP/c.json" "$DATE" "$D/BW102/good.Dockerfile" "$D/BW102/bad.Dockerfile"
printf '%s' "$OUT" | jq -e '[.files[].findings[] | select(.rule == "BW102")] | length == 1' >/dev/null &&
	ok "config format and near_eol_days" || fail "config format and near_eol_days" "$OUT"

# --- fleet: one target per distinct build ---
printf 'name,build,hyperv\nweb1,10.0.20348,true\nweb2,10.0.20348,true\nold1,10.0.17763,false\n' >"$TMP/fleet.csv"
run "$BERTH" lint --no-config "$DATE" --fleet "$TMP/fleet.csv" "$D/BW106/bad.Dockerfile"
expect_match "fleet: newer base cannot run on old nodes" "error\[BW106\].*node old1 \(build 17763\)" "$OUT"
run "$BERTH" lint --no-config "$DATE" --fleet "$TMP/fleet.csv" "$D/BW107/bad.Dockerfile"
expect_match "fleet: hyper-v only on 2022 nodes" "warning\[BW107\].*node web1 \(build 20348\)" "$OUT"
expect_rc "fleet missing" 2 "$BERTH" lint --no-config --fleet "$TMP/none.csv" "$D/BW107/bad.Dockerfile"

# --- JSON: stable and documented shape ---
J="$D/golden/sample.Dockerfile"
expect_golden "json golden" "$D/golden/sample.json" "$BERTH" lint --no-config "$DATE" --target-host ltsc2022 --format json testdata/lint/golden/sample.Dockerfile
run "$BERTH" lint --no-config "$DATE" --target-host ltsc2022 --format json "$J"
printf '%s' "$OUT" | jq -e '.schema == 1 and (.files | length) == 1 and
	(.files[0] | .parsed and (.truncated | not) and (.findings | length) > 3) and
	all(.files[0].findings[]; . as $f | (.rule | test("^B[LW][0-9]{3}$")) and (.severity | IN("error","warning","info"))
	    and .line >= 1 and .column >= 1 and (.message | length) > 0 and ($f.help | endswith($f.rule + ".md")))
	and .summary.files == 1 and .summary.error + .summary.warning + .summary.info == (.files[0].findings | length)' \
	>/dev/null && ok "json fields" || fail "json fields" "$OUT"
# help names the rule's page in this tree (no website); rules_url replaces the directory
run "$BERTH" lint --no-config "$DATE" --target-host ltsc2022 --format json "$J"
missing=$(printf '%s' "$OUT" | jq -r '.files[].findings[].help' | sort -u |
	while read -r h; do case $h in docs/rules/B[LW][0-9][0-9][0-9].md) [ -f "$ROOT/$h" ] || echo "$h";; *) echo "$h";; esac; done)
[ -z "$missing" ] && ok "json help is an existing rule page" || fail "json help is an existing rule page" "$missing"
echo '{ "rules_url": "https://docs.example.test/berth/rules/" }' >"$TMP/url.json"
run "$BERTH" lint --config "$TMP/url.json" "$DATE" --format json "$D/BW101/bad.Dockerfile"
printf '%s' "$OUT" | jq -e '[.files[0].findings[] | select(.rule == "BW101")][0].help == "https://docs.example.test/berth/rules/BW101.md"' >/dev/null &&
	ok "json help from rules_url" || fail "json help from rules_url" "$OUT"
run "$BERTH" lint --config "$TMP/url.json" "$DATE" --format sarif "$D/BW101/bad.Dockerfile"
printf '%s' "$OUT" | jq -e '.runs[0].tool.driver | .informationUri == "https://docs.example.test/berth/rules/" and
	all(.rules[]; .helpUri == "https://docs.example.test/berth/rules/" + .id + ".md")' >/dev/null &&
	ok "sarif helpUri from rules_url" || fail "sarif helpUri from rules_url" "$OUT"
run "$BERTH" lint --no-config --format json "$D/BL100/bad.Dockerfile"
printf '%s' "$OUT" | jq -e '.files[0].parsed == false and .files[0].findings[0].rule == "BL100"' >/dev/null &&
	ok "json parse failure" || fail "json parse failure" "$OUT"

# --- SARIF 2.1.0 as GitHub code scanning reads it ---
run "$BERTH" lint --no-config "$DATE" --target-host ltsc2022 --format sarif "$J" "$D/BL101/bad.Dockerfile"
printf '%s' "$OUT" >"$TMP/out.sarif"
jq -e '.version == "2.1.0" and (."$schema" | test("sarif-2.1.0")) and (.runs | length) == 1' "$TMP/out.sarif" >/dev/null &&
	ok "sarif header" || fail "sarif header"
jq -e '.runs[0].tool.driver as $d | $d.name == "berth" and ($d.rules | length) > 30 and
	all($d.rules[]; . as $r | (.id | test("^B[LW][0-9]{3}$")) and (.name | length) > 0 and (.shortDescription.text | length) > 0
	    and ($r.helpUri == null) and ($r.help.text | test("docs/rules/" + $r.id + "\\.md"))
	    and (.defaultConfiguration.level | IN("error","warning","note")))
	and ($d.informationUri == null) and ([$d.rules[].id] | unique | length) == ($d.rules | length)' "$TMP/out.sarif" >/dev/null &&
	ok "sarif rule metadata" || fail "sarif rule metadata"
jq -e '.runs[0] as $r | ($r.results | length) > 3 and
	all($r.results[]; . as $x | ($r.tool.driver.rules[$x.ruleIndex].id == $x.ruleId) and (.level | IN("error","warning","note"))
	    and (.message.text | length) > 0 and (.locations | length) == 1
	    and (.locations[0].physicalLocation | (.artifactLocation.uri | length) > 0 and .region.startLine >= 1 and .region.startColumn >= 1))' \
	"$TMP/out.sarif" >/dev/null && ok "sarif results and locations" || fail "sarif results and locations"
jq -e '[.runs[0].results[] | select(.ruleId == "BL101")][0].locations[0].physicalLocation |
	.artifactLocation.uri == "testdata/lint/BL101/bad.Dockerfile" and .region.startLine == 1 and .region.startColumn == 6' \
	<(cd "$ROOT" && "$BERTH" lint --no-config --format sarif ./testdata/lint/BL101/bad.Dockerfile) >/dev/null &&
	ok "sarif relative uri" || fail "sarif relative uri"
jq -e '[.runs[0].results[] | select(.ruleId == "BW101")][0].level == "error"' <("$BERTH" lint --no-config --format sarif "$DATE" "$D/BW101/bad.Dockerfile") >/dev/null &&
	ok "sarif level" || fail "sarif level"

# --- checkstyle XML ---
run "$BERTH" lint --no-config "$DATE" --format checkstyle "$D/BW113/bad.Dockerfile" "$D/BL104/bad.Dockerfile"
printf '%s' "$OUT" >"$TMP/cs.xml"
if /usr/bin/python3 - "$TMP/cs.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "checkstyle"
files = root.findall("file")
assert len(files) == 2, files
e = [x for x in files[0].findall("error") if x.get("source") == "berth.BW113"][0]
assert e.get("line") == "2" and e.get("column") == "12" and e.get("severity") == "error", e.attrib
assert "C:\\\\path" in e.get("message"), e.get("message")
m = [x for x in files[1].findall("error") if x.get("source") == "berth.BL104"][0]
assert '"Jane Doe <jane@example.com>"' in m.get("message")
PY
then ok "checkstyle xml"; else fail "checkstyle xml" "$OUT"; fi

# --- pre-commit framework hook definition ---
if /usr/bin/python3 - "$ROOT/.pre-commit-hooks.yaml" <<'PY'
import re, sys, yaml
hooks = yaml.safe_load(open(sys.argv[1]))
h = [x for x in hooks if x["id"] == "berth-lint"][0]
assert h["entry"] == "berth lint" and h["language"] == "system", h
r = re.compile(h["files"])
for yes in ["Dockerfile", "svc/Dockerfile", "Dockerfile.windows", "a/b.Dockerfile", "Containerfile", "x/app.dockerfile"]:
    assert r.search(yes), yes
for no in ["README.md", "dockerfiles/notes.txt", "Dockerfile/readme"]:
    assert not r.search(no), no
PY
then ok "pre-commit-hooks.yaml"; else fail "pre-commit-hooks.yaml"; fi

# --- CRLF line endings (Windows checkouts) give the same findings ---
for f in real-world/legacy-servercore-1803 BW112/bad BW113/bad; do
	a=$("$BERTH" lint --no-config "$DATE" --target-host ltsc2022 - <"$D/$f.Dockerfile")
	b=$(sed 's/$/\r/' "$D/$f.Dockerfile" | "$BERTH" lint --no-config "$DATE" --target-host ltsc2022 -)
	[ -n "$a" ] && [ "$a" = "$b" ] && ok "crlf $f" || fail "crlf $f"
done

# --- robustness: binary and empty input, a huge ARG fan-out ---
printf '\0\1\2' >"$TMP/bin"
run "$BERTH" lint --no-config "$TMP/bin"
[ "$RC" = 1 ] && expect_match "binary input is BL100" "BL100" "$OUT" || fail "binary input" "rc $RC"
: >"$TMP/empty"
run "$BERTH" lint --no-config "$TMP/empty"
[ "$RC" = 1 ] && expect_match "empty file is BL100" "BL100" "$OUT" || fail "empty file" "rc $RC"
finish
