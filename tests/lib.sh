# Shared helpers for shell test suites (sourced). Each suite ends with
# `finish`, which prints "RESULT: N passed, N failed, N skipped" for tests/run.
set -u
T_PASS=0 T_FAIL=0 T_SKIP=0
: "${BERTH:?BERTH must point at the berth binary}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${BERTH_SHARED:-$ROOT/../shared}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-test.XXXXXX")
DPID="" DOCKERD_DIR=""
# at exit: the dockerd start_dockerd started, if any, and the temp dir (a
# suite with its own EXIT trap calls lib_cleanup from it)
lib_cleanup() {
	stop_dockerd
	rm -rf "$TMP"
}
trap lib_cleanup EXIT

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

# A private dockerd with its socket, data and exec roots in DIR (keep it
# short: a unix socket path holds 107 bytes), plus extra dockerd arguments
# (--bridge none --iptables=false where the suite runs no networked
# container: other dockerds on this machine own docker0). Sets DPID,
# DOCKER_HOST and DOCKER. Returns 1 when it died or did not answer within
# 60 s (its log: DIR/dockerd.log). It is stopped at exit (lib_cleanup).
start_dockerd() {
	DOCKERD_DIR=$1
	shift
	mkdir -p "$DOCKERD_DIR"
	dockerd --host "unix://$DOCKERD_DIR/dockerd.sock" --data-root "$DOCKERD_DIR/data" \
		--exec-root "$DOCKERD_DIR/exec" --pidfile "$DOCKERD_DIR/dockerd.pid" "$@" \
		>"$DOCKERD_DIR/dockerd.log" 2>&1 &
	DPID=$!
	export DOCKER_HOST=unix://$DOCKERD_DIR/dockerd.sock
	DOCKER=/usr/bin/docker
	for _ in $(seq 1 240); do
		curl -sf --unix-socket "$DOCKERD_DIR/dockerd.sock" http://localhost/_ping \
			>/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.25
	done
	return 1
}

# Ends start_dockerd's daemon (SIGTERM; SIGKILL after 10 s), unmounts what
# it left mounted in its data root and removes its directory.
stop_dockerd() {
	[ -n "$DPID" ] || return 0
	kill "$DPID" 2>/dev/null
	for _ in $(seq 1 40); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.25; done
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	umount -R "$DOCKERD_DIR/data" 2>/dev/null
	rm -rf "$DOCKERD_DIR"
	DPID=""
}
