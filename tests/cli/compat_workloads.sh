#!/usr/bin/env bash
# berth compat audit over Swarm / docker info fleets, compose files and GitHub
# workflows (testdata/compat/: swarm-nodes.json, docker-info-*.json, compose/, repo/)
. "$(dirname "$0")/../lib.sh"
D=$ROOT/testdata/compat
WF=$D/repo/.github/workflows/ci.yml
DATE=--date=2026-11-30

# jqt NAME FILE FILTER: the jq filter must be true on FILE
jqt() {
	if jq -e "$3" "$2" >/dev/null 2>&1; then ok "$1"; else fail "$1" "$(jq -c "$3" "$2" 2>&1 | head -c 400)"; fi
}

# ---- fleets: Swarm node inspect -------------------------------------------
run "$BERTH" compat audit --image mcr.microsoft.com/windows/servercore:ltsc2022 --fleet "$D/swarm-nodes.json" --format json
echo "$OUT" >"$TMP/swarm.json"
[ "$RC" = 0 ] && ok "swarm audit exit 0" || fail "swarm audit exit 0" "rc $RC $ERR"
jqt "swarm detected, Linux managers skipped" "$TMP/swarm.json" '.fleet.format == "swarm" and .fleet.nodes == 9 and
	.fleet.windows == 6 and .fleet.skipped == 3 and .fleet.bad == 1'
jqt "swarm build from node label" "$TMP/swarm.json" '(.nodes[] | select(.name == "win22-a") | .verdict == "process" and .os_version == "10.0.20348")'
jqt "swarm build and revision from engine label" "$TMP/swarm.json" '(.nodes[] | select(.name == "win19-b") | .os_version == "10.0.17763.6414" and .verdict == "none")'
jqt "swarm: fields named per node" "$TMP/swarm.json" '(.nodes[] | select(.name == "win19-b") | .fields ==
	{"build": "Description.Engine.Labels.windows-build", "os": "Description.Platform.OS", "kind": null}) and
	(.nodes[] | select(.name == "win22-a") | .fields.build == "Spec.Labels.windows-build")'
jqt "swarm node without build label" "$TMP/swarm.json" '(.nodes[] | select(.name == "win-nolabel") | .verdict == "bad-node" and (.error | test("windows-build")))'

# ---- fleets: docker info ---------------------------------------------------
for c in "ws2019 10.0.17763.6414 none server" "ws2022 10.0.20348.2762 process server" \
	 "ws2025 10.0.26100.2314 process server" "win11 10.0.22631.4460 process client"; do
	set -- $c
	run "$BERTH" compat audit --image mcr.microsoft.com/windows/servercore:ltsc2022 --fleet "$D/docker-info-$1.json" --format json
	echo "$OUT" >"$TMP/i.json"
	jqt "docker info $1: build, revision, verdict" "$TMP/i.json" ".fleet.format == \"docker-info\" and
		.nodes[0].os_version == \"$2\" and .nodes[0].verdict == \"$3\" and .builds[0].kind == \"$4\" and
		.nodes[0].fields == {\"build\": \"KernelVersion; OperatingSystem (OS Build)\", \"os\": \"OSType\", \"kind\": \"OperatingSystem\"}"
done
run "$BERTH" compat audit --image mcr.microsoft.com/windows/servercore:ltsc2022 --fleet "$D/docker-info-linux.json" --format json
echo "$OUT" >"$TMP/i.json"
jqt "docker info Linux engine skipped" "$TMP/i.json" '.nodes[0].verdict == "skipped" and .nodes[0].os == "linux" and .fleet.windows == 0'
[ "$RC" = 1 ] && ok "only Linux: exit 1" || fail "only Linux: exit 1" "rc $RC"
run "$BERTH" compat audit --image ltsc2019 --fleet "$D/docker-info-hosts.ndjson" --format json
echo "$OUT" >"$TMP/i.json"
jqt "docker info, one host per line" "$TMP/i.json" '.fleet.nodes == 4 and ([.nodes[].name] == ["ci-win2019", "ci-win2022", "ci-win2025", "linux-1"])'
printf '{"OSType":"windows","KernelVersion":"10.0 17763 (x)"}\n{"nodes": 1}\n' >"$TMP/bad.ndjson"
run "$BERTH" compat audit --image ltsc2019 --fleet "$TMP/bad.ndjson"
[ "$RC" = 2 ] && ok "bad docker info stream exit 2" || fail "bad docker info stream exit 2" "rc $RC"
expect_match "bad docker info stream located" "bad.ndjson:2: error: expected another docker info JSON object" "$ERR"

# ---- compose on Swarm ------------------------------------------------------
run "$BERTH" compat audit --compose "$D/compose/stack.yml" --fleet "$D/swarm-nodes.json" --format json $DATE
echo "$OUT" >"$TMP/c.json"
[ "$RC" = 1 ] && ok "compose with a blocked service exits 1" || fail "compose exit 1" "rc $RC $ERR"
W='.workloads[] | select(.name == '
jqt "ltsc2019 service on ltsc2022 workers: blocked in process isolation" "$TMP/c.json" "$W\"legacy-api\") |
	.verdict == \"blocked\" and (.targets | length) == 1 and .targets[0].target == \"win22-a, win22-b\" and
	.targets[0].os_version == \"10.0.20348\" and .targets[0].isolation == \"process\" and
	.targets[0].level == \"blocked\" and .targets[0].other_isolation.isolation == \"hyperv\" and
	.targets[0].other_isolation.level == \"supported\" and .line == 19 and .column == 12"
jqt "... with the fix (isolation or tag)" "$TMP/c.json" "$W\"legacy-api\") | .targets[0].fix |
	test(\"isolation: hyperv\") and test(\"4.8-windowsservercore-ltsc2022\")"
jqt "... facts named by field" "$TMP/c.json" "$W\"legacy-api\") | .targets[0].fields |
	test(\"Spec.Labels.windows-build\") and test(\"Description.Platform.OS\")"
jqt "same image with isolation: hyperv runs" "$TMP/c.json" "$W\"legacy-api-hv\") | .verdict == \"runs\" and
	.targets[0].isolation == \"hyperv\" and .targets[0].level == \"supported\" and
	.targets[0].isolation_from == \"the service's isolation key\""
jqt "Linux service skipped" "$TMP/c.json" "$W\"proxy\") | .verdict == \"skipped\""
jqt "constraint on the build label: runs, drained node left out" "$TMP/c.json" "$W\"web\") | .verdict == \"runs\" and
	.targets[0].nodes == 2 and (.notes | any(test(\"not active\")))"
jqt "unconstrained service: 2019 workers blocked, placement fix" "$TMP/c.json" "$W\"worker\") | .verdict == \"blocked\" and
	(.targets[] | select(.os_version == \"10.0.17763\") | .level == \"blocked\" and
	 (.fix | test(\"node.labels.windows-build==10.0.20348\")) and (.fix | test(\"nanoserver:1809\"))) and
	(.targets[] | select(.os_version == \"10.0.20348\") | .level == \"supported\") and
	(.targets[] | select(.target == \"win-nolabel\") | .level == \"unknown\")"
jqt "merge key (<<) constraints are read" "$TMP/c.json" "$W\"worker\") | .constraints[0].text == \"node.platform.os == windows\""
jqt "unexpanded variable reported" "$TMP/c.json" "$W\"jobs\") | .verdict == \"unknown\" and .unexpanded == [\"JOBS_TAG\"] and
	(.notes | any(test(\"JOBS_TAG\")))"
jqt "\${VAR:-default} takes the default" "$TMP/c.json" "$W\"reports\") | .image == \"mcr.microsoft.com/windows/servercore:ltsc2019\" and
	.image_written == \"mcr.microsoft.com/windows/servercore:\${REPORTS_RELEASE:-ltsc2019}\" and
	.verdict == \"runs\" and .targets[0].target == \"win19-a\""
jqt "compose summary" "$TMP/c.json" '.summary == {"workloads": 7, "runs": 3, "blocked": 2, "unknown": 1, "skipped": 1}'

run "$BERTH" compat audit --compose "$D/compose/stack.yml" --fleet "$D/swarm-nodes.json" --format sarif $DATE
echo "$OUT" >"$TMP/c.sarif"
jqt "SARIF 2.1.0 shape" "$TMP/c.sarif" '.version == "2.1.0" and (."$schema" | test("sarif-2.1.0")) and
	.runs[0].tool.driver.name == "berth" and ([.runs[0].tool.driver.rules[].id] | index("windows-container-blocked") != null)'
jqt "SARIF blocked result at the image line/column" "$TMP/c.sarif" '[.runs[0].results[] | select(.ruleId == "windows-container-blocked" and
	(.message.text | startswith("legacy-api:")))][0] | .level == "error" and
	.locations[0].physicalLocation.region.startLine == 19 and .locations[0].physicalLocation.region.startColumn == 12 and
	(.locations[0].physicalLocation.artifactLocation.uri | endswith("compose/stack.yml"))'
jqt "SARIF unexpanded variable" "$TMP/c.sarif" '[.runs[0].results[] | select(.ruleId == "unexpanded-variable")] | length == 1'

run "$BERTH" compat audit --compose "$D/compose/stack.yml" --fleet "$D/swarm-nodes.json" $DATE
expect_match "text: verdict line" "service legacy-api  \[.*stack.yml:19:12\]  blocked" "$OUT"
expect_match "text: fix line" "fix: switch isolation: set 'isolation: hyperv'" "$OUT"
expect_match "text: summary" "summary: 7 workloads: 3 run, 2 blocked, 1 unknown, 1 skipped" "$OUT"

# ---- compose on docker info hosts (isolation from docker info; a build) ----
cat "$D/docker-info-ws2019.json" "$D/docker-info-ws2022.json" "$D/docker-info-win11.json" | jq -c . >"$TMP/hosts.ndjson"
run "$BERTH" compat audit --compose "$D/compose/dev.yml" --fleet "$TMP/hosts.ndjson" --format json $DATE
echo "$OUT" >"$TMP/d.json"
jqt "compose build: base of the built stage with build args" "$TMP/d.json" "$W\"app\") | .image == \"mcr.microsoft.com/windows/servercore:ltsc2019\" and
	(.dockerfile | endswith(\"repo/docker/app/Dockerfile\")) and .image_build == 17763"
jqt "default isolation from docker info Isolation" "$TMP/d.json" "$W\"app\") |
	(.targets[] | select(.target == \"ci-win2019\") | .level == \"supported\" and .isolation_from == \"daemon default (docker info Isolation)\") and
	(.targets[] | select(.target == \"ci-win2022\") | .level == \"blocked\" and .isolation == \"process\") and
	(.targets[] | select(.target == \"dev-laptop\") | .isolation == \"hyperv\" and .level == \"supported\")"
jqt "host facts named by docker info field" "$TMP/d.json" "$W\"app\") | .targets[0].fields | test(\"KernelVersion\") and test(\"OperatingSystem\") and test(\"OSType\")"
jqt "explicit process isolation on a client host" "$TMP/d.json" "$W\"tool\") | (.targets[] | select(.target == \"dev-laptop\") |
	.isolation == \"process\" and .level == \"supported\") and (.targets[] | select(.target == \"ci-win2019\") | .level == \"blocked\")"

# ---- GitHub Actions workflow ------------------------------------------------
run "$BERTH" compat audit --workflow "$WF" --format json $DATE
echo "$OUT" >"$TMP/w.json"
[ "$RC" = 1 ] && ok "workflow with blocked steps exits 1" || fail "workflow exit 1" "rc $RC $ERR"
J='.workloads[] | select(.job == '
jqt "retired windows-2019 label blocked, with the label fix" "$TMP/w.json" "[$J\"legacy\")][0] | .verdict == \"blocked\" and
	(.targets[0].reason | test(\"retired on 2025-06-30\")) and (.targets[0].source | test(\"RUNNER-12045\")) and
	(.targets[0].fix | test(\"runs-on: windows-2022\")) and .line == 9"
jqt "docker build -f resolved in the repo, build-arg applied" "$TMP/w.json" "[$J\"build-2022\") | select(.kind == \"docker-build\")][0] |
	.image == \"mcr.microsoft.com/windows/servercore:ltsc2022\" and (.dockerfile | endswith(\"repo/docker/app/Dockerfile\")) and
	.verdict == \"runs\" and .targets[0].os_version == \"10.0.20348\" and .targets[0].isolation == \"process\" and
	.line == 17 and .column == 11"
jqt "second docker build: 1809 base on windows-2022 blocked" "$TMP/w.json" "[$J\"build-2022\") | select(.kind == \"docker-build\")][1] |
	.image == \"mcr.microsoft.com/windows/nanoserver:1809\" and .verdict == \"blocked\" and (.targets[0].fix | test(\"nanoserver:ltsc2022\"))"
jqt "docker run ltsc2019 on windows-2022: blocked, isolation and tag fixes" "$TMP/w.json" "[$J\"build-2022\") | select(.kind == \"docker-run\")][0] |
	.verdict == \"blocked\" and .targets[0].other_isolation.level == \"supported\" and
	(.targets[0].fix | test(\"--isolation=hyperv\") and test(\"servercore:ltsc2022\"))"
jqt "--isolation hyperv on windows-2025 (list form)" "$TMP/w.json" "[$J\"build-2025\")][0] | .isolation == \"hyperv\" and
	.runs_on[0].labels == [\"windows-2025\"] and .targets[0].isolation == \"hyperv\" and .verdict == \"runs\""
jqt "docker run flags skipped to find the image" "$TMP/w.json" "[$J\"build-2025\")][1] | .image == \"mcr.microsoft.com/windows/nanoserver:ltsc2025\" and .verdict == \"runs\""
jqt "windows-latest floats: unknown, pin fix" "$TMP/w.json" "[$J\"floating\")][0] | .verdict == \"unknown\" and
	(.targets[0].reason | test(\"floats\")) and (.targets[0].fix | test(\"runs-on: windows-2022\"))"
jqt "job container on a Windows runner blocked" "$TMP/w.json" "[$J\"container-job\") | select(.kind == \"job-container\")][0] |
	.verdict == \"blocked\" and .targets[0].source == \"GHA-CONTAINER\""
jqt "service container listed" "$TMP/w.json" "[$J\"container-job\") | select(.kind == \"job-service\")][0] |
	.image == \"mcr.microsoft.com/mssql/server:2022-latest\" and .verdict == \"blocked\""
jqt "matrix runs-on expanded" "$TMP/w.json" "[$J\"matrix\")][0] | ([.targets[].target] == [\"windows-2022\", \"windows-2025\"]) and
	.verdict == \"runs\" and .runs_on[0].via == \"matrix.os\""
jqt "unknown runner label reported, not guessed" "$TMP/w.json" "[$J\"grouped\")][0] | .verdict == \"unknown\" and
	(.targets[0].reason | test(\"unknown runner label 'windows-2022-xl'\")) and .targets[0].os_version == null and
	.runs_on[0].group == \"windows-builders\""
jqt "Windows image on a Linux runner blocked" "$TMP/w.json" "[$J\"linux\")][0] | .verdict == \"blocked\" and (.targets[0].reason | test(\"Linux runner\"))"
jqt "images computed at run time reported" "$TMP/w.json" "[$J\"computed\")] | .[0].unexpanded == [\"\$env:IMAGE\"] and
	.[1].unexpanded == [\"\${{ env.BASE }}\"] and all(.verdict == \"unknown\")"
run "$BERTH" compat audit --workflow "$WF" --format sarif $DATE
echo "$OUT" >"$TMP/w.sarif"
jqt "workflow SARIF: retired label at the step line" "$TMP/w.sarif" '[.runs[0].results[] | select(.message.text | startswith("legacy:"))][0] |
	.ruleId == "windows-container-blocked" and .locations[0].physicalLocation.region.startLine == 9'
jqt "workflow SARIF: floating label warning at runs-on" "$TMP/w.sarif" '[.runs[0].results[] | select(.message.text | startswith("floating:"))][0] |
	.level == "warning" and .locations[0].physicalLocation.region.startLine == 29'
# --repo: a copy elsewhere resolves the same Dockerfiles
cp -r "$D/repo" "$TMP/repo2"
cp "$WF" "$TMP/wf.yml"
run "$BERTH" compat audit --workflow "$TMP/wf.yml" --repo "$TMP/repo2" --format json $DATE
echo "$OUT" >"$TMP/w2.json"
jqt "--repo root for docker build paths" "$TMP/w2.json" "[$J\"build-2022\") | select(.kind == \"docker-build\")][0] | .image == \"mcr.microsoft.com/windows/servercore:ltsc2022\""
printf 'jobs:\n  a:\n    runs-on: windows-2022\n    steps:\n      - run: docker build -f ../../etc/Dockerfile .\n' >"$TMP/esc.yml"
run "$BERTH" compat audit --workflow "$TMP/esc.yml" --repo "$TMP/repo2" --format json $DATE
echo "$OUT" >"$TMP/e.json"
jqt "Dockerfile outside the repository not read" "$TMP/e.json" '.workloads[0].verdict == "unknown" and (.workloads[0].problem | test("escapes"))'

# ---- bad input ---------------------------------------------------------------
run "$BERTH" compat audit --compose "$D/compose/bad.yml" --fleet "$D/swarm-nodes.json"
[ "$RC" = 2 ] && ok "malformed compose YAML exit 2" || fail "malformed compose YAML exit 2" "rc $RC"
expect_match "malformed YAML: line and column from libyaml" "bad.yml:5:1: error: invalid YAML: found unexpected end of stream while scanning a quoted scalar \(from line 3, column 12\)" "$ERR"
printf 'jobs:\n  a:\n    runs-on: windows-2022\n   steps: []\n' >"$TMP/bad-wf.yml"
run "$BERTH" compat audit --workflow "$TMP/bad-wf.yml"
[ "$RC" = 2 ] && ok "malformed workflow exit 2" || fail "malformed workflow exit 2" "rc $RC"
expect_match "malformed workflow located" "bad-wf.yml:4:[0-9]+: error: invalid YAML" "$ERR"
printf 'version: "3"\n' >"$TMP/nosvc.yml"
run "$BERTH" compat audit --compose "$TMP/nosvc.yml" --fleet "$D/swarm-nodes.json"
expect_match "compose without services" "nosvc.yml:1:1: error: a compose file needs a 'services' mapping" "$ERR"
printf 'services:\n  a:\n    image: [1]\n' >"$TMP/badimg.yml"
run "$BERTH" compat audit --compose "$TMP/badimg.yml" --fleet "$D/swarm-nodes.json"
expect_match "non-string image located" "badimg.yml:3:12: error: 'image' must be a string" "$ERR"
expect_rc "--compose needs --fleet" 2 "$BERTH" compat audit --compose "$D/compose/stack.yml"
expect_rc "--format sarif needs a workload file" 2 "$BERTH" compat audit --image ltsc2022 --fleet "$D/swarm-nodes.json" --format sarif
expect_rc "--image with --workflow" 2 "$BERTH" compat audit --image ltsc2022 --workflow "$WF"
expect_rc "missing workflow file" 2 "$BERTH" compat audit --workflow "$TMP/none.yml"
expect_rc "all runnable: exit 0" 0 "$BERTH" compat audit --compose "$D/compose/dev.yml" --fleet "$D/docker-info-win11.json"

finish
