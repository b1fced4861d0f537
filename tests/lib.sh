# Shared helpers for shell test suites (sourced). Each suite ends with
# `finish`, which prints "RESULT: N passed, N failed, N skipped" for tests/run.
set -u
T_PASS=0 T_FAIL=0 T_SKIP=0
: "${BERTH:?BERTH must point at the berth binary}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${BERTH_SHARED:-$ROOT/../shared}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok()   { T_PASS=$((T_PASS + 1)); [ -n "${VERBOSE:-}" ] && echo "ok   $1"; return 0; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $1${2:+: $2}"; return 0; }
skip() { T_SKIP=$((T_SKIP + 1)); echo "skip $1${2:+: $2}"; return 0; }

# run CMD...: sets OUT, ERR, RC
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# expect NAME RC CMD... : exit code must be RC
expect_rc() {
	local name=$1 want=$2; shift 2
	run "$@"
	if [ "$RC" = "$want" ]; then ok "$name"; else fail "$name" "exit $RC, want $want; stderr: $ERR"; fi
}

# expect_out NAME EXPECTED_STDOUT CMD...
expect_out() {
	local name=$1 want=$2; shift 2
	run "$@"
	if [ "$OUT" = "$want" ]; then ok "$name"; else
		fail "$name" "stdout differs (rc $RC)"; diff <(echo "$want") <(echo "$OUT") | head -20; fi
}

# expect_golden NAME FILE CMD... : stdout must equal FILE byte for byte
expect_golden() {
	local name=$1 gold=$2; shift 2
	"$@" >"$TMP/gold.out" 2>"$TMP/gold.err"
	if cmp -s "$gold" "$TMP/gold.out"; then ok "$name"; else
		fail "$name" "output differs from $gold"; diff "$gold" "$TMP/gold.out" | head -20; fi
}

# expect_match NAME REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else fail "$1" "'$3' does not match /$2/"; fi
}

# loaded CMD...: the shared objects a run of CMD mapped (LD_DEBUG=files
# lists every load), one "file=NAME" per line
loaded() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -o 'file=[^ ]*' | sort -u; }

# fake_lib KIND SONAME: a directory for LD_LIBRARY_PATH holding SONAME as
# KIND "junk" (not an ELF file) or "foreign" (a shared object without the
# library's functions); prints the directory, nothing when no C compiler
# could build the foreign one
fake_lib() {
	local d="$TMP/fakelib-$1-$2"
	mkdir -p "$d"
	if [ "$1" = junk ]; then
		echo 'not an ELF file' >"$d/$2"
	else
		echo 'int berth_test_not_the_library(void) { return 0; }' >"$d/x.c"
		command -v cc >/dev/null 2>&1 && cc -shared -fPIC -o "$d/$2" "$d/x.c" 2>/dev/null || return 0
	fi
	echo "$d"
}

finish() {
	echo "RESULT: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" = 0 ]
}

# A private dockerd with its socket, data and exec roots in DIR, plus
# extra dockerd arguments; sets DPID, DOCKER_HOST and DOCKER, and stops it
# (and removes $TMP) on exit. Returns 1 when it did not answer within 60 s
# (its log: DIR/dockerd.log).
start_dockerd() {
	local d=$1
	shift
	mkdir -p "$d"
	dockerd --host "unix://$d/dockerd.sock" --data-root "$d/data" --exec-root "$d/exec" \
		--pidfile "$d/dockerd.pid" "$@" >"$d/dockerd.log" 2>&1 &
	DPID=$!
	trap 'kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; rm -rf "$TMP"' EXIT
	export DOCKER_HOST=unix://$d/dockerd.sock
	DOCKER=/usr/bin/docker
	for _ in $(seq 1 120); do
		$DOCKER info >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
