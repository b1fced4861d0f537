#!/usr/bin/env bash
# berth engine info from recorded-format payloads (no engine needed): host
# facts, the isolation table of a Windows engine, --base decisions, JSON.
. "$(dirname "$0")/../lib.sh"

F=$ROOT/testdata/engine
info() { "$BERTH" engine info --info-json "$F/$1-info.json" --version-json "$F/$1-version.json" "${@:2}"; }

run info ws2022
if [ "$RC" = 0 ] && [[ "$OUT" == *"Windows build:     10.0.20348.2227 (Windows Server 2022, server)"* ]] &&
	[[ "$OUT" == *"Default isolation: process"* ]]; then ok "ws2022: host facts"; else fail "ws2022 facts" "$RC $OUT $ERR"; fi
row() { printf '%s\n' "$OUT" | awk -v b="$1" '$1 == b {print $NF}'; }
[ "$(row 17763)" = hyperv ] && [ "$(row 20348)" = process ] && [ "$(row 26100)" = no ] &&
	ok "ws2022: 2019 base in hyperv, 2022 in process, 2025 refused" || fail "ws2022 rows" "$OUT"

run info win11-23h2
[[ "$OUT" == *"(Windows 11, version 23H2, client)"* ]] && [ "$(row 20348)" = process ] && [ "$(row 17763)" = hyperv ] &&
	ok "Windows 11 23H2: ltsc2022 in process isolation, 2019 in hyperv" || fail "win11" "$OUT"
run info ws2025
[ "$(row 26100)" = process ] && [ "$(row 20348)" = process ] && [ "$(row 14393)" = hyperv ] &&
	ok "ws2025: 2025 and 2022 in process, 2016 in hyperv" || fail "ws2025" "$OUT"

run info ws2019 --base 10.0.20348.2227
if [ "$RC" = 1 ] && [[ "$OUT" == *"cannot run here"*"newer than the host"*"Windows Server 2022 (20348)"* ]]; then
	ok "--base refused: compat's reason and the hosts that would run it (exit 1)"
else fail "--base refused" "$RC $OUT"; fi
run info ws2019 --base 10.0.17763.5329
[ "$RC" = 0 ] && [[ "$OUT" == *"runs with isolation process"* ]] && ok "--base accepted (exit 0)" || fail "--base ok" "$RC $OUT"
run info ws2022 --base 10.0.17763.5329 --isolation process
[ "$RC" = 1 ] && [[ "$OUT" == *"--isolation process"*"Windows Server 2022 images in process isolation"* ]] &&
	ok "--isolation process refused where compat blocks it" || fail "forced process" "$RC $OUT"
run info ws2022 --base 10.0.20348.2227 --isolation hyperv
[ "$RC" = 0 ] && [[ "$OUT" == *"runs with isolation hyperv (hyperv isolation forced"* ]] && ok "--isolation hyperv forced" || fail "forced hyperv" "$RC $OUT"
run info linux --base 10.0.17763.5329
[ "$RC" = 1 ] && [[ "$OUT" == *"this is a Windows stage"*"OSType 'linux'"* ]] && ok "Windows base on a Linux engine refused" || fail "win on linux" "$RC $OUT"

run info ws2019 --format json --base 10.0.14393.6614
if [ "$RC" = 0 ] && printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["host"]["OSType"] == "windows"
assert d["windows"] == {"build": 17763, "revision": 5329, "client": False, "release": "Windows Server 2019"}
rows = {r["build"]: r for r in d["baseImages"]}
assert rows[17763]["isolation"] == "process" and rows[17763]["process"]["level"] == "supported"
assert rows[20348]["isolation"] is None and "newer than the host" in rows[20348]["error"]
assert d["base"]["isolation"] == "hyperv"
' 2>"$TMP/py.err"; then ok "json output"; else fail "json" "$RC $(cat "$TMP/py.err")"; fi

run "$BERTH" engine info --info-json "$F/nonexistent.json"
[ "$RC" = 1 ] && [[ "$ERR" == *"nonexistent.json"* ]] && ok "missing payload file" || fail "missing file" "$RC $ERR"
printf '{"OSType":"windows","KernelVersion":"ten"}' >"$TMP/bad.json"
run "$BERTH" engine info --info-json "$TMP/bad.json"
[ "$RC" = 2 ] && [[ "$ERR" == *"a Windows engine without a readable build"* ]] && ok "unreadable Windows build: input error" || fail "bad build" "$RC $ERR"
expect_rc "unknown subcommand" 2 "$BERTH" engine frobnicate
expect_rc "info --format xml" 2 "$BERTH" engine info --info-json "$F/linux-info.json" --format xml
expect_rc "--isolation invalid" 2 "$BERTH" engine info --info-json "$F/ws2019-info.json" --isolation Hyper-V
expect_rc "run without --from" 2 "$BERTH" engine run -- true
expect_rc "run with --from and --rootfs" 2 "$BERTH" engine run --from x --rootfs y -- true
expect_rc "help" 0 "$BERTH" engine --help

finish
