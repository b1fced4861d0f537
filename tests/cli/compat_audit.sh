#!/usr/bin/env bash
# berth compat audit over kubectl and inventory fixtures (testdata/compat/)
. "$(dirname "$0")/../lib.sh"
D=$ROOT/testdata/compat
PY=/usr/bin/python3

# kubectl: mixed Linux / Windows 2019 / 2022 / 23H2 / 2025 / Windows 11 nodes
run "$BERTH" compat audit --image mcr.microsoft.com/windows/servercore:ltsc2022 --fleet "$D/kubectl-mixed.json" --format json
[ "$RC" = 0 ] && ok "kubectl audit exit 0" || fail "kubectl audit exit 0" "rc $RC: $ERR"
echo "$OUT" >"$TMP/a.json"
if jq -e '
	.fleet.format == "kubectl" and .fleet.nodes == 11 and .fleet.windows == 8 and .fleet.skipped == 3 and
	.summary.process == 5 and .summary.none == 2 and
	([.nodes[] | select(.os == "linux") | .verdict] | all(. == "skipped")) and
	(.nodes[] | select(.name == "akswin19000000") | .verdict == "none" and .process == "blocked") and
	(.nodes[] | select(.name == "akswin22000000") | .verdict == "process" and .os_version == "10.0.20348.3807") and
	(.nodes[] | select(.name == "akswin23h2000000") | .verdict == "process" and (.process_source | test("PORT"))) and
	(.nodes[] | select(.name == "dev-win11-25h2") | .verdict == "pull-blocked" and .runtime_model == "containerd-2.2") and
	([.builds[].windows_build] == ["10.0.17763", "10.0.20348", "10.0.25398", "10.0.26100", "10.0.26200"]) and
	(.builds[] | select(.build == 20348) | .nodes == 3 and .process == 3)' "$TMP/a.json" >/dev/null; then
	ok "kubectl audit fields"; else fail "kubectl audit fields" "$(jq -c '.summary, .fleet' "$TMP/a.json")"; fi

# the scheduling snippet parses as YAML and selects exactly the builds that run it
jq -r .scheduling "$TMP/a.json" >"$TMP/sched.yaml"
if $PY - "$TMP/sched.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
pod = docs[0]
terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
exprs = {e["key"]: e["values"] for e in terms[0]["matchExpressions"]}
assert exprs["kubernetes.io/os"] == ["windows"], exprs
assert exprs["node.kubernetes.io/windows-build"] == ["10.0.20348", "10.0.25398", "10.0.26100"], exprs
assert pod["tolerations"][0] == {"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}
rcs = [d for d in docs[1:] if d["kind"] == "RuntimeClass"]
names = sorted(d["metadata"]["name"] for d in rcs)
assert names == ["windows-20348", "windows-25398", "windows-26100"], names
for d in rcs:
    assert d["handler"] == "runhcs-wcow-process"
    sel = d["scheduling"]["nodeSelector"]
    assert sel["kubernetes.io/os"] == "windows" and sel["kubernetes.io/arch"] == "amd64"
    assert d["metadata"]["name"] == "windows-" + sel["node.kubernetes.io/windows-build"].split(".")[2]
EOF
then ok "scheduling snippet YAML"; else fail "scheduling snippet YAML"; fi

# a single runnable build gives a plain nodeSelector
run "$BERTH" compat audit --image mcr.microsoft.com/windows/nanoserver:1809 --fleet "$D/kubectl-mixed.json" --format json
echo "$OUT" | jq -r .scheduling >"$TMP/s2.yaml"
if $PY -c '
import sys, yaml
d = next(yaml.safe_load_all(open(sys.argv[1])))
assert d["nodeSelector"] == {"kubernetes.io/os": "windows", "node.kubernetes.io/windows-build": "10.0.17763"}, d
' "$TMP/s2.yaml"; then ok "single-build nodeSelector"; else fail "single-build nodeSelector" "$(cat "$TMP/s2.yaml")"; fi

# lifecycle per build on a date
run "$BERTH" compat audit --image ltsc2019 --fleet "$D/kubectl-mixed.json" --format json --date 2030-01-01
if echo "$OUT" | jq -e '(.builds[] | select(.build == 17763) | .host_support == "ended") and
	(.builds[] | select(.build == 20348) | .host_support == "extended")' >/dev/null; then
	ok "lifecycle per build"; else fail "lifecycle per build" "$(echo "$OUT" | jq -c .builds)"; fi

# text output: per node and per build
run "$BERTH" compat audit --image mcr.microsoft.com/windows/servercore:ltsc2019 --fleet "$D/kubectl-mixed.json"
expect_match "text per-node row" "akswin19000000 +10.0.17763.7314 +Windows Server 2019 +supported +supported +process" "$OUT"
expect_match "text per-build row" "10.0.20348 +server +Windows Server 2022 +3 +0 +0" "$OUT"
expect_match "text summary pull" "6 blocked at pull by the node's runtime" "$OUT"
expect_match "text summary" "summary: 2 of 8 Windows nodes run it in process isolation" "$OUT"
expect_match "containerd matcher flagged" "akswin22000000 .*pull-blocked" "$OUT"

# inventory CSV: revisions, hyperv availability, client kind
run "$BERTH" compat audit --image 10.0.17763.1040 --fleet "$D/inventory.csv" --format json
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '
	.fleet.format == "inventory-csv" and
	(.nodes[] | select(.name == "build-01") | .verdict == "process") and
	(.nodes[] | select(.name == "build-02") | .process == "blocked" and .hyperv == "supported") and
	(.nodes[] | select(.name == "build-03") | .verdict == "none") and
	(.nodes[] | select(.name == "dev-laptop") | .verdict == "hyperv-only")' >/dev/null; then
	ok "csv inventory"; else fail "csv inventory" "$(echo "$OUT" | jq -c '.nodes')"; fi

# inventory JSON
run "$BERTH" compat audit --image mcr.microsoft.com/windows/servercore:ltsc2025 --fleet "$D/inventory.json" --format json
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '
	.fleet.format == "inventory-json" and .fleet.skipped == 1 and .summary.process == 1 and
	(.nodes[] | select(.name == "ci-runner-2022") | .verdict == "none")' >/dev/null; then
	ok "json inventory"; else fail "json inventory" "$OUT"; fi

# nodes without the label: kernelVersion is used; nodes with nothing are reported
run "$BERTH" compat audit --image 10.0.17763 --fleet "$D/kubectl-nolabel.json" --format json
if echo "$OUT" | jq -e '(.nodes[] | select(.name == "old-win-node") | .os_version == "10.0.17763.1040") and
	(.nodes[] | select(.name == "broken-win-node") | .verdict == "bad-node" and (.error | test("windows-build")))' >/dev/null; then
	ok "unlabelled nodes"; else fail "unlabelled nodes" "$OUT"; fi

# no Windows node runs it -> exit 1
expect_rc "linux-only fleet exit 1" 1 "$BERTH" compat audit --image ltsc2022 --fleet "$D/kubectl-linux-only.json"
expect_rc "nothing runs exit 1" 1 "$BERTH" compat audit --image ltsc2022 --fleet "$D/kubectl-nolabel.json"

# bad input
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/kubectl-empty.json"
[ "$RC" = 2 ] && ok "empty kubectl list exit 2" || fail "empty kubectl list exit 2" "rc $RC"
expect_match "empty fleet message" "the fleet has no nodes" "$ERR"
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/empty.csv"
expect_match "empty csv message" "no nodes" "$ERR"
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/bad-column.csv"
[ "$RC" = 2 ] && ok "bad column exit 2" || fail "bad column exit 2" "rc $RC"
expect_match "bad column names file:line" "bad-column.csv:1:.*unknown column 'colour'" "$ERR"
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/bad-bool.csv"
expect_match "bad hyperv value" "bad-bool.csv:2:.*invalid hyperv 'maybe'" "$ERR"
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/bad-fields.csv"
expect_match "field count" "bad-fields.csv:2:.*3 fields, header has 2" "$ERR"
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/bad-dup.csv"
expect_match "duplicate column" "bad-dup.csv:1:.*duplicate column 'Name'" "$ERR"
run "$BERTH" compat audit --image ltsc2022 --fleet "$D/bad.json"
[ "$RC" = 2 ] && ok "bad json exit 2" || fail "bad json exit 2" "rc $RC"
expect_match "bad json message" "bad.json:1:.*invalid JSON" "$ERR"
printf '' >"$TMP/zero"
expect_rc "zero-byte fleet exit 2" 2 "$BERTH" compat audit --image ltsc2022 --fleet "$TMP/zero"
expect_rc "missing fleet file" 1 "$BERTH" compat audit --image ltsc2022 --fleet "$TMP/nope.json"
expect_rc "missing --fleet" 2 "$BERTH" compat audit --image ltsc2022

finish
