# Loopback registries for the registry suites (registry.sh, registry-lazy.sh,
# lying_peers.sh); sourced after tests/lib.sh. Not a suite itself.
#
#   free_port                       a free TCP port on 127.0.0.1
#   bg_start NAME CMD...            run CMD in the background (PID_<NAME>);
#                                   every process started here is ended on exit
#   bg_stop NAME                    end that process now (and wait for it)
#   wait_port_file FILE             wait (30 s at most) until FILE is not empty
#   start_registry NAME [HTTP_YAML] [EXTRA_YAML]
#                                   docker-registry on 127.0.0.1 -> PORT_<NAME>;
#                                   HTTP_YAML (e.g. a tls: block) is added under
#                                   http: and makes the readiness probe https,
#                                   EXTRA_YAML is added at the top level; the
#                                   log is $TMP/NAME.log
#   start_proxy NAME UPSTREAM_PORT ARGS...
#                                   registry/regproxy.py in front of a registry
#                                   -> PPORT_<NAME>; request log $TMP/NAME.plog
#   proxy_bytes PLOG                bytes through a proxy (request + response
#                                   bodies)
#
# The EXIT trap ends the processes, then calls the suite's cleanup_extra
# (when defined) and lib_cleanup (a dockerd, $TMP).
REG_HERE=$ROOT/tests/integration/registry
# the pyenv shim on PATH costs seconds per start; Debian's python3 does not
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
PIDS=()

have() { command -v "$1" >/dev/null 2>&1; }

reg_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
	lib_cleanup
}
trap reg_cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bg_start() {
	local name=$1; shift
	"$@" &
	PIDS+=($!)
	eval "PID_$name=$!"
}

bg_stop() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "PID_$1="
	# ended: not signalled again at exit (its number may be reused)
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
	return 0
}

wait_port_file() {
	local i
	for i in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done
	return 1
}

start_registry() {
	local name=$1 extra_http=${2:-} extra=${3:-} port scheme=http i
	port=$(free_port)
	mkdir -p "$TMP/$name-data"
	cat >"$TMP/$name.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $TMP/$name-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra_http
$extra
EOF
	bg_start "$name" docker-registry serve "$TMP/$name.yml" >"$TMP/$name.log" 2>&1
	[ -n "$extra_http" ] && scheme=https
	for i in $(seq 1 300); do
		curl -sk -o /dev/null "$scheme://127.0.0.1:$port/v2/" && break
		sleep 0.1
	done
	eval "PORT_$name=$port"
}

start_proxy() {
	local name=$1 up=$2; shift 2
	bg_start "$name" "$PY" "$REG_HERE/regproxy.py" --upstream "127.0.0.1:$up" \
		--port-file "$TMP/$name.port" --log "$TMP/$name.plog" "$@" >"$TMP/$name.perr" 2>&1
	wait_port_file "$TMP/$name.port"
	eval "PPORT_$name=$(cat "$TMP/$name.port")"
}

proxy_bytes() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(len|out)=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$1"; }
