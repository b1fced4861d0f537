#!/usr/bin/env bash
# berth matrix: outputs parsed back (jq for JSON, python3 yaml for YAML) and validated
. "$(dirname "$0")/../lib.sh"
M=$ROOT/testdata/compat/matrix
APP=$ROOT/testdata/examples/windows-app/Dockerfile
PY=/usr/bin/python3
DATE=--date=2026-08-20

# default set: every Windows Server LTSC release in support on the date
run "$BERTH" matrix -f "$APP" $DATE
[ "$RC" = 0 ] && ok "matrix exit 0" || fail "matrix exit 0" "rc $RC: $ERR"
echo "$OUT" >"$TMP/m.json"
if jq -e '
	.parameters == ["WINDOWS_RELEASE"] and .windows_from[0].line == 5 and
	[.rows[].release] == ["ws2016", "ws2019", "ws2022", "ws2025"] and
	(.rows[] | select(.release == "ws2022") |
		.os_version == "10.0.20348" and .build_args.WINDOWS_RELEASE == "ltsc2022" and
		.base_images == ["mcr.microsoft.com/windows/servercore:ltsc2022"] and
		.runner.label == "windows-2022" and .tag_suffix == "-ltsc2022") and
	(.rows[] | select(.release == "ws2016") | .runner == null and (.notes[0] | test("self-hosted"))) and
	(.rows | map(.os_version == "10.0.\(.build)") | all)' "$TMP/m.json" >/dev/null; then
	ok "json rows"; else fail "json rows" "$(jq -c '[.rows[] | [.release, .build_args]]' "$TMP/m.json")"; fi

# end of support: ws2016 (extended end 2027-01-12) drops out after that date
run "$BERTH" matrix -f "$APP" --date 2027-06-01
if echo "$OUT" | jq -e '[.rows[].release] == ["ws2019", "ws2022", "ws2025"] and
	(.skipped[0].release == "ws2016") and (.skipped[0].reason | test("end of support"))' >/dev/null; then
	ok "eol skipped with a note"; else fail "eol skipped with a note" "$OUT"; fi
run "$BERTH" matrix -f "$APP" --date 2027-06-01 --include-eol
if echo "$OUT" | jq -e '[.rows[].release] == ["ws2016", "ws2019", "ws2022", "ws2025"] and
	(.rows[0].notes | map(test("out of support")) | any)' >/dev/null; then
	ok "--include-eol"; else fail "--include-eol" "$OUT"; fi

# explicit list, names in several spellings; SAC releases are ended
run "$BERTH" matrix -f "$APP" $DATE --releases "ltsc2022, Windows Server 2019,1903"
if echo "$OUT" | jq -e '[.rows[].release] == ["ws2022", "ws2019"] and .skipped[0].release == "ws1903"' >/dev/null; then
	ok "--releases list"; else fail "--releases list" "$OUT"; fi
run "$BERTH" matrix -f "$APP" $DATE --releases 1903 --include-eol
if echo "$OUT" | jq -e '.rows[0].base_images == ["mcr.microsoft.com/windows/servercore:1903"] and .rows[0].runner == null' >/dev/null; then
	ok "SAC row with --include-eol"; else fail "SAC row with --include-eol" "$OUT"; fi
run "$BERTH" matrix -f "$APP" $DATE --releases 1903
[ "$RC" = 1 ] && ok "all skipped exit 1" || fail "all skipped exit 1" "rc $RC"

# multi-stage dotnet Dockerfile: one ARG drives both stages
run "$BERTH" matrix -f "$M/dotnet.Dockerfile" $DATE --releases ltsc2019,ltsc2025
if echo "$OUT" | jq -e '.parameters == ["WINDOWS_TAG"] and (.windows_from | length) == 2 and
	.rows[1].base_images == ["mcr.microsoft.com/dotnet/framework/sdk:4.8-windowsservercore-ltsc2025",
				 "mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2025"] and
	.rows[1].build_args == {"WINDOWS_TAG": "ltsc2025"} and
	(.rows[1].notes | map(test("derived image")) | any)' >/dev/null; then
	ok "dotnet multi-stage"; else fail "dotnet multi-stage" "$OUT"; fi

# nanoserver: family tags differ (1809 for 2019), and Nano Server 2016 ended in 2018
run "$BERTH" matrix -f "$M/nanoserver.Dockerfile" $DATE
if echo "$OUT" | jq -e '[.rows[].release] == ["ws2019", "ws2022", "ws2025"] and
	.rows[0].build_args.BASE_IMAGE == "mcr.microsoft.com/windows/nanoserver:1809" and
	(.skipped[0].reason | test("nanoserver image for Windows Server 2016"))' >/dev/null; then
	ok "nanoserver family tags"; else fail "nanoserver family tags" "$OUT"; fi

# hard-coded base: rows, with a note to parameterise it
run "$BERTH" matrix -f "$M/literal.Dockerfile" $DATE --releases ltsc2022
if echo "$OUT" | jq -e '.parameters == [] and .rows[0].base_images == ["mcr.microsoft.com/windows/servercore:ltsc2022"] and
	(.notes[0] | test("hard-coded"))' >/dev/null; then
	ok "literal base"; else fail "literal base" "$OUT"; fi

# continuation, heredoc and comment lines are not read as FROM
run "$BERTH" matrix -f "$M/tricky.Dockerfile" $DATE --releases ltsc2022
if echo "$OUT" | jq -e '(.windows_from | length) == 1 and .windows_from[0].line == 4 and
	.rows[0].build_args.PS_TAG == "lts-nanoserver-ltsc2022"' >/dev/null; then
	ok "tricky Dockerfile"; else fail "tricky Dockerfile" "$OUT"; fi

# YAML formats parse back and carry the same rows
"$BERTH" matrix -f "$APP" $DATE --format github >"$TMP/gh.yaml"
if $PY - "$TMP/gh.yaml" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
inc = d["strategy"]["matrix"]["include"]
assert [r["release"] for r in inc] == ["ltsc2016", "ltsc2019", "ltsc2022", "ltsc2025"], inc
r = inc[2]
assert r["runs-on"] == "windows-2022" and r["os-version"] == "10.0.20348"
assert r["args"] == {"WINDOWS_RELEASE": "ltsc2022"} and r["build-args"] == "WINDOWS_RELEASE=ltsc2022"
assert r["base-image"] == "mcr.microsoft.com/windows/servercore:ltsc2022"
assert inc[0]["runs-on"] is None and inc[0]["runner-retired"] is False
EOF
then ok "github yaml"; else fail "github yaml" "$(cat "$TMP/gh.yaml")"; fi

"$BERTH" matrix -f "$M/dotnet.Dockerfile" $DATE --format gitlab >"$TMP/gl.yaml"
if $PY - "$TMP/gl.yaml" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
rows = d["build-windows"]["parallel"]["matrix"]
assert [r["BERTH_RELEASE"] for r in rows] == ["ltsc2016", "ltsc2019", "ltsc2022", "ltsc2025"], rows
for r in rows:
    assert r["WINDOWS_TAG"] == r["BERTH_RELEASE"]
    assert r["BERTH_OS_VERSION"].startswith("10.0.")
    assert r["BERTH_BASE_IMAGE"].endswith("-" + r["BERTH_RELEASE"])
    assert all(isinstance(v, str) for v in r.values())
EOF
then ok "gitlab yaml"; else fail "gitlab yaml" "$(cat "$TMP/gl.yaml")"; fi

"$BERTH" matrix -f "$APP" $DATE --format azure --releases ltsc2019,ltsc2025 >"$TMP/az.yaml"
if $PY - "$TMP/az.yaml" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
m = d["strategy"]["matrix"]
assert sorted(m) == ["ws2019", "ws2025"], m
assert m["ws2025"]["BERTH_RUNNER"] == "windows-2025" and m["ws2025"]["WINDOWS_RELEASE"] == "ltsc2025"
assert m["ws2019"]["BERTH_OS_VERSION"] == "10.0.17763"
EOF
then ok "azure yaml"; else fail "azure yaml" "$(cat "$TMP/az.yaml")"; fi

"$BERTH" matrix -f "$APP" $DATE --format k8s >"$TMP/k8s.yaml"
if $PY - "$TMP/k8s.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert len(docs) == 4, len(docs)
builds = []
for d in docs:
    assert d["apiVersion"] == "batch/v1" and d["kind"] == "Job"
    spec = d["spec"]["template"]["spec"]
    sel = spec["nodeSelector"]
    assert sel["kubernetes.io/os"] == "windows"
    builds.append(sel["node.kubernetes.io/windows-build"])
    c = spec["containers"][0]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["BERTH_OS_VERSION"] == sel["node.kubernetes.io/windows-build"]
    assert c["image"].endswith(":" + env["WINDOWS_RELEASE"])
    assert spec["tolerations"][0]["value"] == "windows"
assert builds == ["10.0.14393", "10.0.17763", "10.0.20348", "10.0.26100"], builds
EOF
then ok "k8s jobs yaml"; else fail "k8s jobs yaml" "$(head -30 "$TMP/k8s.yaml")"; fi

# values that need quoting stay intact in YAML
printf 'ARG TAG="ltsc2019"\nARG NOTE="a: b # c"\nFROM mcr.microsoft.com/windows/servercore:${TAG}\n' >"$TMP/q.Dockerfile"
"$BERTH" matrix -f "$TMP/q.Dockerfile" $DATE --format github --releases ltsc2022 >"$TMP/q.yaml"
if $PY -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["strategy"]["matrix"]["include"][0]["args"] == {"TAG": "ltsc2022"}' "$TMP/q.yaml"; then
	ok "yaml quoting"; else fail "yaml quoting" "$(cat "$TMP/q.yaml")"; fi

# bad input
run "$BERTH" matrix -f "$ROOT/testdata/examples/linux-app/Dockerfile"
[ "$RC" = 2 ] && ok "linux Dockerfile exit 2" || fail "linux Dockerfile exit 2" "rc $RC"
expect_match "linux Dockerfile message" "no Windows base image the knowledge base recognises" "$ERR"
run "$BERTH" matrix -f "$M/bad-arg.Dockerfile"
expect_match "bad ARG located" "bad-arg.Dockerfile:1:1: error: invalid ARG name '1BAD'" "$ERR"
run "$BERTH" matrix -f "$M/bad-escape.Dockerfile"
[ "$RC" = 2 ] && ok "bad escape exit 2" || fail "bad escape exit 2" "rc $RC"
run "$BERTH" matrix -f "$APP" --releases ltsc2030
[ "$RC" = 2 ] && ok "unknown release exit 2" || fail "unknown release exit 2" "rc $RC"
expect_match "unknown release message" "unknown Windows release 'ltsc2030'" "$ERR"
run "$BERTH" matrix -f "$APP" --releases win11-23h2
expect_match "client release has no images" "has no Windows base images" "$ERR"
expect_rc "bad format" 2 "$BERTH" matrix -f "$APP" --format toml
expect_rc "bad date" 2 "$BERTH" matrix -f "$APP" --date 2026-13-01
expect_rc "missing Dockerfile" 2 "$BERTH" matrix -f "$TMP/none"
printf 'FROM\n' >"$TMP/e.Dockerfile"
expect_rc "FROM without image" 2 "$BERTH" matrix -f "$TMP/e.Dockerfile"
printf 'RUN <<EOF\nFROM x\n' >"$TMP/h.Dockerfile"
run "$BERTH" matrix -f "$TMP/h.Dockerfile"
expect_match "unterminated heredoc" "unterminated heredoc 'EOF'" "$ERR"
expect_rc "help" 0 "$BERTH" matrix --help

finish
