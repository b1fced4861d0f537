#!/usr/bin/env bash
# The engine executor against a real dockerd started here (private socket,
# data root and exec root; TLS on a loopback port), plus a fake engine for
# API version negotiation. One dockerd serves the whole script.
. "$(dirname "$0")/../lib.sh"

have() { command -v "$1" >/dev/null 2>&1; }

# --- a fake engine: /_ping and /version with a chosen ApiVersion ---
FAKE_PID=""
start_fake() { # api minapi -> FAKE_PORT
	python3 - "$1" "$2" >"$TMP/fake.port" 2>"$TMP/fake.log" <<'EOF' &
import http.server, json, sys
api, minapi = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        p = self.path
        if p == "/_ping":
            body = b"OK"
        elif p.endswith("/version"):
            body = json.dumps({"Version": "99.0", "ApiVersion": api, "MinAPIVersion": minapi,
                               "Os": "linux", "Arch": "amd64"}).encode()
        elif p.endswith("/info"):
            body = json.dumps({"OSType": "linux", "KernelVersion": "6.1", "Architecture": "x86_64",
                               "OperatingSystem": "Fake", "RequestPath": p}).encode()
        else:
            self.send_response(404); self.end_headers(); return
        self.send_response(200)
        self.send_header("API-Version", api)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
	FAKE_PID=$!
	# python3 starts slowly on a loaded CI machine: wait up to 60 s
	for _ in $(seq 1 600); do [ -s "$TMP/fake.port" ] && break; sleep 0.1; done
	FAKE_PORT=$(cat "$TMP/fake.port")
}
stop_fake() { [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=""; }

if have python3; then
	start_fake 1.50 1.24
	run "$BERTH" engine info --engine "tcp://127.0.0.1:$FAKE_PORT" --format json
	if [ "$RC" = 0 ] && [[ "$OUT" == *'"apiVersion":	"1.44"'* ]]; then
		ok "negotiation: a newer engine is spoken to at our maximum (1.44)"
	else fail "negotiation max" "$RC $OUT $ERR"; fi
	stop_fake
	start_fake 1.23 1.12
	run "$BERTH" engine info --engine "tcp://127.0.0.1:$FAKE_PORT"
	if [ "$RC" = 1 ] && [[ "$ERR" == *"is too old: it speaks API 1.23"*"needs API 1.24"* ]]; then
		ok "negotiation: an engine older than API 1.24 is refused"
	else fail "too old" "$RC $ERR"; fi
	stop_fake
	start_fake 1.60 1.50
	run "$BERTH" engine info --engine "tcp://127.0.0.1:$FAKE_PORT"
	if [ "$RC" = 1 ] && [[ "$ERR" == *"requires API 1.50 or newer; berth speaks up to 1.44"* ]]; then
		ok "negotiation: an engine whose minimum is above ours is refused"
	else fail "too new" "$RC $ERR"; fi
	stop_fake
else
	skip "fake engine" "python3 not installed"
fi

# --- the real dockerd ---
why=""
if ! have dockerd; then why="dockerd is not installed (docker.io)"
elif [ "$(id -u)" != 0 ]; then why="dockerd needs root here"
elif ! have openssl; then why="openssl is not installed"
fi
D=$TMP/d
trap 'stop_fake; lib_cleanup' EXIT

if [ -z "$why" ]; then
	mkdir -p "$D/certs" "$D/good" "$D/bad" "$D/noclient"
	(
		cd "$D/certs" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca \
			-keyout ca-key.pem -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server-key.pem -out server.csr
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
			-extfile server.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
			-extfile client.ext -out cert.pem
		# a client certificate from another CA
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
			-keyout other-ca-key.pem -out other-ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=intruder -keyout bad-key.pem -out bad.csr
		openssl x509 -req -in bad.csr -CA other-ca.pem -CAkey other-ca-key.pem -CAcreateserial \
			-days 2 -extfile client.ext -out bad-cert.pem
	) >"$D/openssl.log" 2>&1 || why="openssl could not create test certificates"
	cp "$D/certs/ca.pem" "$D/certs/cert.pem" "$D/certs/key.pem" "$D/good/"
	cp "$D/certs/ca.pem" "$D/bad/"
	cp "$D/certs/bad-cert.pem" "$D/bad/cert.pem"; cp "$D/certs/bad-key.pem" "$D/bad/key.pem"
	cp "$D/certs/ca.pem" "$D/noclient/"
fi
if [ -z "$why" ]; then
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	start_dockerd "$D" --host "tcp://127.0.0.1:$PORT" --tlsverify --tlscacert "$D/certs/ca.pem" \
		--tlscert "$D/certs/server.pem" --tlskey "$D/certs/server-key.pem" \
		--bridge=none --iptables=false --ip-masq=false ||
		why="dockerd did not start: $(tail -3 "$D/dockerd.log" | tr '\n' ' ')"
fi
if [ -n "$why" ]; then
	skip "engine against dockerd" "$why"
	finish
	exit $?
fi

export DOCKER_HOST="unix://$D/dockerd.sock"
unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS
api() { curl -sf --unix-socket "$D/dockerd.sock" "http://localhost$1"; }
count_json() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
containers() { api "/containers/json?all=1" | count_json; }
dangling() { api '/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D' | count_json; }
nonchain() { api "/images/json" | python3 -c '
import json,sys
n=0
for i in json.load(sys.stdin):
    tags=i.get("RepoTags") or []
    if not tags or any(not t.startswith("berth-chain:") for t in tags): n+=1
print(n)'; }

# --- info ---
run "$BERTH" engine info
if [ "$RC" = 0 ] && [[ "$OUT" == *"OS type:           linux"* ]] && [[ "$OUT" == *"API version:       1.41"* ]]; then
	ok "info over a unix socket (DOCKER_HOST)"
else fail "info" "$RC $OUT $ERR"; fi
SERVER_API=$(api /version | python3 -c 'import json,sys; print(json.load(sys.stdin)["ApiVersion"])')
run "$BERTH" engine info --engine "unix://$D/dockerd.sock" --format json
WANT_API=$(python3 -c "a='$SERVER_API'.split('.'); print('$SERVER_API' if (int(a[0]),int(a[1]))<(1,44) else '1.44')")
if [ "$RC" = 0 ] && [[ "$OUT" == *"\"apiVersion\":	\"$WANT_API\""* ]] && [[ "$OUT" == *'"OSType":	"linux"'* ]]; then
	ok "info --format json: negotiated min(1.44, $SERVER_API)"
else fail "info json" "$RC $OUT $ERR"; fi
run "$BERTH" engine info --engine "unix://$D/none.sock"
[ "$RC" = 1 ] && [[ "$ERR" == *"cannot reach the engine"*"no socket"* ]] && ok "unreachable socket: clear error" || fail "unreachable" "$RC $ERR"
run "$BERTH" engine info --engine "npipe:////./pipe/docker_engine"
[ "$RC" = 1 ] && [[ "$ERR" == *"only on Windows builds"* ]] && ok "npipe: only on Windows builds" || fail "npipe" "$RC $ERR"
run "$BERTH" engine info --engine "gopher://x"
[ "$RC" = 2 ] && ok "bad engine URL is a usage error" || fail "bad URL" "$RC $ERR"

# --- a busybox base image, built here and loaded through berth's path ---
BUSYBOX=""
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
if [ -z "$BUSYBOX" ]; then
	skip "RUN tests" "no static busybox (busybox-static)"
	finish
	exit $?
fi
mkdir -p "$TMP/tree/bin" "$TMP/tree/data/dir" "$TMP/tree/etc"
cp "$BUSYBOX" "$TMP/tree/bin/busybox"
for a in sh echo rm mkdir cat sleep ls ln id pwd chmod mv; do ln -s busybox "$TMP/tree/bin/$a"; done
echo old >"$TMP/tree/data/old"
echo keep >"$TMP/tree/data/keep"
echo edit >"$TMP/tree/data/edit"
echo in-dir >"$TMP/tree/data/dir/f"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1600000000 -C "$TMP/tree" -cf "$TMP/base.tar" .
export BERTH_ROOT=$TMP/root
"$BERTH" import --compression gzip -o "oci:$TMP/oci:base" "$TMP/base.tar" >/dev/null 2>"$TMP/import.err" ||
	fail "import base" "$(cat "$TMP/import.err")"
BASE=oci:$TMP/oci:base

run "$BERTH" engine run --from "$BASE" --output-layer "$TMP/l1.tar" -- sh -c \
	'echo hello; echo to-stderr >&2; mkdir /data/new; echo x >/data/new/f; rm /data/old; echo edited >/data/edit; rm -r /data/dir'
if [ "$RC" = 0 ]; then ok "RUN on a busybox image"; else fail "RUN" "$ERR"; fi
[ "$OUT" = "hello" ] && ok "stdout is streamed to stdout" || fail "stdout" "$OUT"
[[ "$ERR" == to-stderr* ]] && ok "stderr is streamed to stderr" || fail "stderr" "$ERR"
[[ "$ERR" == *"parent: loaded"* ]] && ok "first RUN loads the parent chain" || fail "loaded" "$ERR"
LIST=$(tar -tf "$TMP/l1.tar" 2>/dev/null | sed 's|^\./||' | sort | tr '\n' ' ')
WANT="data/ data/.wh.dir data/.wh.old data/edit data/new/ data/new/f "
[ "$LIST" = "$WANT" ] && ok "the layer has exactly the changes (whiteouts for deletions)" || fail "layer content" "got '$LIST' want '$WANT'"
[ "$(tar -xOf "$TMP/l1.tar" data/edit 2>/dev/null)" = edited ] && ok "modified file content" || fail "edit content"
DIFF=$(printf '%s\n' "$ERR" | sed -n 's/^diff_id: //p')
SUM="sha256:$(sha256sum "$TMP/l1.tar" | cut -d' ' -f1)"
[ -n "$DIFF" ] && [ "$DIFF" = "$SUM" ] && ok "diff_id is the layer's sha256" || fail "diff_id" "$DIFF vs $SUM"
[[ "$ERR" == *"history: berth RUN on engine unix://$D/dockerd.sock ("*"isolation default"* ]] && ok "history comment names engine, host and isolation" || fail "history" "$ERR"
[ "$(containers)" = 0 ] && ok "no containers left after success" || fail "containers after success" "$(api '/containers/json?all=1')"
[ "$(dangling)" = 0 ] && [ "$(nonchain)" = 0 ] && ok "no temporary images left (only berth-chain tags)" || fail "images after success" "$(api /images/json)"

run "$BERTH" engine run --from "$BASE" --layer-store "$TMP/lstore" -- sh -c 'echo stored >/stored'
BLOB=$(printf '%s\n' "$ERR" | sed -n 's/^blob: sha256:\([0-9a-f]*\) .*/\1/p')
SDIFF=$(printf '%s\n' "$ERR" | sed -n 's/^diff_id: //p')
if [ "$RC" = 0 ] && [ -n "$BLOB" ] && [ -f "$TMP/lstore/blobs/sha256/$BLOB" ] &&
	[ "sha256:$(gzip -dc "$TMP/lstore/blobs/sha256/$BLOB" | sha256sum | cut -d' ' -f1)" = "$SDIFF" ] &&
	[ "$(gzip -dc "$TMP/lstore/blobs/sha256/$BLOB" | tar -tf - | tr '\n' ' ')" = "stored " ]; then
	ok "the layer goes into a content store (gzip blob, diff_id verified)"
else fail "layer store" "$RC $ERR"; fi
run "$BERTH" engine run --from "$BASE" -- sh -c 'echo second >/second'
[ "$RC" = 0 ] && [[ "$ERR" == *"parent: reused"* ]] && ok "the parent chain is reused" || fail "reuse" "$RC $ERR"

run "$BERTH" engine run --from "$BASE" -- sh -c 'echo failing; exit 3'
[ "$RC" = 1 ] && [[ "$ERR" == *"returned a non-zero code: 3"* ]] && [ "$OUT" = failing ] && ok "exit code is propagated" || fail "exit code" "$RC $OUT $ERR"
[ "$(containers)" = 0 ] && [ "$(dangling)" = 0 ] && [ "$(nonchain)" = 0 ] && ok "no containers or temp images left after failure" || fail "cleanup after failure" "$(api '/containers/json?all=1')"

run "$BERTH" engine run --from "$BASE" -- /no/such/program
[ "$RC" = 1 ] && [[ "$ERR" == *"no such file"* || "$ERR" == *"not found"* ]] && [ "$(containers)" = 0 ] && ok "a command that cannot start: error, container removed" || fail "bad command" "$RC $ERR"

run "$BERTH" engine run --from "$BASE" --shell-form -e FOO=bar -w /data -u 1000 -- 'echo "$0" $FOO $(pwd) $(id -u)'
[ "$RC" = 0 ] && [ "$OUT" = "/bin/sh bar /data 1000" ] && ok "shell form with /bin/sh -c, Env, WorkingDir, User" || fail "shell form" "$RC '$OUT' $ERR"
run "$BERTH" engine run --from "$BASE" --shell-form --shell '["/bin/busybox","sh","-c"]' -- 'echo $0'
[ "$RC" = 0 ] && [ "$OUT" = "sh" ] && ok "SHELL override" || fail "shell override" "$RC '$OUT' $ERR"
run "$BERTH" engine run --from "$BASE" -- echo no-change
[ "$RC" = 0 ] && [[ "$ERR" == *"no filesystem change"* ]] && ok "a RUN without changes gives an empty layer" || fail "empty layer" "$RC $ERR"

# mounts
run "$BERTH" engine run --from "$BASE" --output-layer "$TMP/l2.tar" --mount type=tmpfs,target=/data/tmp -- \
	sh -c 'echo t >/data/tmp/x; echo y >/y'
L2=$(tar -tf "$TMP/l2.tar" 2>/dev/null | sort | tr '\n' ' ')
[ "$RC" = 0 ] && [[ "$L2" != *"tmp/x"* ]] && [[ "$L2" == *"y"* ]] && ok "tmpfs mount leaves nothing in the layer" || fail "tmpfs" "$RC $L2 $ERR"
run "$BERTH" engine run --from "$BASE" --mount type=cache,target=/cache,id=c1 -- sh -c 'echo cached >/cache/v'
run "$BERTH" engine run --from "$BASE" --mount type=cache,target=/cache,id=c1 -- cat /cache/v
[ "$RC" = 0 ] && [ "$OUT" = cached ] && ok "cache mount persists across RUNs (engine volume)" || fail "cache" "$RC $OUT $ERR"
mkdir -p "$TMP/bindsrc"; echo from-host >"$TMP/bindsrc/h"
run "$BERTH" engine run --from "$BASE" --mount "type=bind,source=$TMP/bindsrc,target=/mnt,ro" -- cat /mnt/h
[ "$RC" = 0 ] && [ "$OUT" = from-host ] && ok "bind mount on a local engine" || fail "bind" "$RC $OUT $ERR"
run "$BERTH" engine run --from "$BASE" --mount type=secret,target=/run/secrets/s -- true
[ "$RC" = 1 ] && [[ "$ERR" == *"type=secret"*"not supported by the engine executor"* ]] && ok "secret mounts: clear error" || fail "secret" "$RC $ERR"
run "$BERTH" engine run --from "$BASE" --isolation hyperv -- true
[ "$RC" = 2 ] && [[ "$ERR" == *"applies to Windows stages only"* ]] && ok "--isolation on a Linux stage is refused" || fail "isolation linux" "$RC $ERR"

[ "$(dangling)" = 0 ] && ok "no untagged commit left by the option and mount runs" ||
	fail "untagged commits after the option and mount runs" "$(api /images/json)"
# Two RUNs that make byte-identical layers (same content and mtimes: engines
# keep whole seconds) end at the same chain ID. The second must not move the
# berth-chain tag off the first one's commit (that left an untagged commit,
# label io.berth.engine=cli, child of a chain image: the two cache-mount runs
# above create the same /cache mountpoint when they fall in one second).
SAME='echo same >/same; /bin/busybox touch -t 202001010000 /same'
run "$BERTH" engine run --from "$BASE" -- sh -c "$SAME"
D_A=$(printf '%s\n' "$ERR" | sed -n 's/^diff_id: //p')
run "$BERTH" engine run --from "$BASE" -- sh -c "$SAME"
D_B=$(printf '%s\n' "$ERR" | sed -n 's/^diff_id: //p')
if [ "$RC" = 0 ] && [ -n "$D_A" ] && [ "$D_A" = "$D_B" ] && [ "$(dangling)" = 0 ] && [ "$(nonchain)" = 0 ]; then
	ok "identical layers from two RUNs: one chain image kept, no untagged commit left"
else fail "same-chain RUNs" "rc=$RC '$D_A' '$D_B' dangling=$(dangling) $(api /images/json)"; fi
base_d=0

# a Windows stage against this Linux engine fails before anything runs
mkdir -p "$TMP/wtree/Files"; echo x >"$TMP/wtree/Files/x.txt"
tar -C "$TMP/wtree" -cf "$TMP/win.tar" .
"$BERTH" import --platform windows/amd64 --os-version 10.0.17763.5329 -o "oci:$TMP/woci:w" "$TMP/win.tar" >/dev/null 2>&1
BEFORE=$(api /images/json | count_json)
run "$BERTH" engine run --from "oci:$TMP/woci:w" -- cmd /c echo hi
AFTER=$(api /images/json | count_json)
if [ "$RC" = 1 ] && [[ "$ERR" == *"this is a Windows stage"*"OSType 'linux'"* ]] && [ "$BEFORE" = "$AFTER" ] && [ "$(containers)" = 0 ]; then
	ok "a Windows stage against a Linux engine fails before running anything"
else fail "windows on linux" "$RC $ERR ($BEFORE/$AFTER images)"; fi

# interrupt: SIGINT while the command runs removes the container
"$BERTH" engine run --from "$BASE" --no-keep-chain -- sh -c 'echo started; sleep 60' >"$TMP/int.out" 2>"$TMP/int.err" &
BPID=$!
for _ in $(seq 1 200); do grep -q started "$TMP/int.out" 2>/dev/null && break; sleep 0.1; done
RUNNING=$(containers)
kill -INT "$BPID"
wait "$BPID"; IRC=$?
if [ "$RUNNING" = 1 ] && [ "$IRC" = 1 ] && grep -q "interrupted" "$TMP/int.err" && [ "$(containers)" = 0 ] &&
	[ "$(dangling)" = "$base_d" ] && [ "$(nonchain)" = "$base_d" ]; then
	ok "interrupt: container and temporary images removed"
else fail "interrupt" "running=$RUNNING rc=$IRC $(cat "$TMP/int.err") containers=$(containers)"; fi

# --- the builder's executor interface (bld_exec.h) over a rootfs directory ---
run "$BERTH" engine run --rootfs "$TMP/tree" --output-layer "$TMP/lx.tar" -- sh -c \
	'echo via-executor; mkdir /data/n; echo 1 >/data/n/f; ln /data/n/f /data/n/hl; ln -s f /data/n/sl; rm /data/old'
LX=$(tar -tvf "$TMP/lx.tar" 2>/dev/null | awk '{print substr($1,1,1), $NF}' | tr '\n' ' ')
if [ "$RC" = 0 ] && [ "$OUT" = via-executor ] && [[ "$ERR" == *"changed: yes"* ]]; then
	ok "executor interface: RUN over a rootfs"
else fail "executor run" "$RC $OUT $ERR"; fi
WANTX="d data/ - data/.wh.old d data/n/ - data/n/f h data/n/f l f "
[ "$LX" = "$WANTX" ] && ok "executor interface: re-encoded layer keeps whiteouts, hardlinks, symlinks" || fail "executor layer" "got '$LX' want '$WANTX'"
run "$BERTH" engine run --rootfs "$TMP/tree" -- sh -c 'exit 5'
[ "$RC" = 1 ] && [[ "$ERR" == *"non-zero code: 5"* ]] && ok "executor interface: exit status reported" || fail "executor exit" "$RC $ERR"
run "$BERTH" engine run --rootfs "$TMP/tree" -- echo unchanged
[ "$RC" = 0 ] && [[ "$ERR" == *"changed: no"* ]] && ok "executor interface: no change, no layer" || fail "executor unchanged" "$RC $ERR"
[ "$(containers)" = 0 ] && [ "$(dangling)" = "$base_d" ] && [ "$(nonchain)" = "$base_d" ] && ok "executor interface: nothing left in the engine" || fail "executor cleanup" "$(api '/containers/json?all=1')"

# --- berth build --executor docker ---
"$BERTH" import "$TMP/base.tar" berth-test/bb:1 >/dev/null 2>&1
mkdir -p "$TMP/ctx"
cat >"$TMP/ctx/Dockerfile" <<'EOF2'
FROM berth-test/bb:1
RUN mkdir -p /app && echo hello >/app/a && rm /data/old
ENV X=1
RUN echo $X >/app/x && ln /app/a /app/hl && rm -r /data/dir
RUN echo nothing-changes
EOF2
printf 'FROM berth-test/bb:1\nRUN echo boom; exit 7\n' >"$TMP/ctx/Dockerfile.fail"
diffids() { "$BERTH" inspect --format json "$1" | python3 -c 'import json,sys; print(" ".join(l["diffID"] for l in json.load(sys.stdin)["layers"]))'; }
export SOURCE_DATE_EPOCH=1700000000
run "$BERTH" build --executor docker --progress plain -t berth-test/out:docker "$TMP/ctx"
if [ "$RC" = 0 ]; then
	ok "berth build --executor docker"
	# each RUN records where it ran: engine, host build, isolation
	n=$("$BERTH" inspect --format json berth-test/out:docker | python3 -c 'import json,sys
h=json.load(sys.stdin)["history"]
print(sum(1 for e in h if e.get("created_by","").startswith("RUN") and "# buildkit; berth RUN on engine" in e["created_by"]))')
	[ "$n" = 3 ] && ok "RUN history names the engine" || fail "RUN history comment" "$n RUN entries name the engine, want 3 (every RUN ran there)"
	run "$BERTH" build --executor linux --no-cache -t berth-test/out:linux "$TMP/ctx"
	if [ "$RC" = 0 ]; then
		D1=$(diffids berth-test/out:docker); D2=$(diffids berth-test/out:linux)
		[ -n "$D1" ] && [ "$D1" = "$D2" ] && ok "docker and linux executors give the same layers" || fail "executor layers" "$D1 / $D2"
	else
		skip "docker vs linux executor" "the linux executor cannot run here: $ERR"
	fi
	run "$BERTH" build --executor docker --progress plain -t berth-test/out:docker "$TMP/ctx"
	[ "$RC" = 0 ] && [ "$(printf '%s\n' "$ERR" | grep -c CACHED)" = 3 ] && ok "second build: every RUN from the cache" || fail "build cache" "$RC $ERR"
	run "$BERTH" build --executor docker -f "$TMP/ctx/Dockerfile.fail" "$TMP/ctx"
	[ "$RC" = 1 ] && [[ "$ERR" == *"exit code: 7"* ]] && [ "$(containers)" = 0 ] && [ "$(dangling)" = "$base_d" ] &&
		ok "failing RUN in a build: exit code, nothing left in the engine" || fail "build failure" "$RC $ERR"
else
	fail "berth build --executor docker" "$ERR"
fi
unset SOURCE_DATE_EPOCH

# --- TLS on loopback TCP ---
T_URL="tcp://127.0.0.1:$PORT"
run env -u DOCKER_HOST DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$D/good" "$BERTH" engine info --engine "$T_URL"
[ "$RC" = 0 ] && [[ "$OUT" == *"OS type:           linux"* ]] && ok "TLS: info with a client certificate" || fail "tls info" "$RC $ERR"
run env DOCKER_HOST="$T_URL" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$D/good" "$BERTH" engine run --from "$BASE" \
	--output-layer "$TMP/lt.tar" -- sh -c 'echo over-tls; echo t >/tls'
[ "$RC" = 0 ] && [ "$OUT" = over-tls ] && [ "$(tar -tf "$TMP/lt.tar" | tr '\n' ' ')" = "tls " ] && ok "TLS: RUN through DOCKER_HOST=tcp:// with TLS" || fail "tls run" "$RC $OUT $ERR"
run env DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$D/bad" "$BERTH" engine info --engine "$T_URL"
[ "$RC" = 1 ] && [[ "$ERR" == *"TLS: the engine at '$T_URL' refused the connection (unauthorised"* ]] && ok "TLS: wrong client certificate -> clear error" || fail "tls bad cert" "$RC $ERR"
run env DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$D/noclient" "$BERTH" engine info --engine "$T_URL"
[ "$RC" = 1 ] && [[ "$ERR" == *"TLS"*"refused the connection"*"without a certificate"* ]] && ok "TLS: no client certificate -> clear error" || fail "tls no cert" "$RC $ERR"
mkdir -p "$D/wrongca"; cp "$D/certs/other-ca.pem" "$D/wrongca/ca.pem"; cp "$D/good/cert.pem" "$D/good/key.pem" "$D/wrongca/"
run env DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$D/wrongca" "$BERTH" engine info --engine "$T_URL"
[ "$RC" = 1 ] && [[ "$ERR" == *"certificate that does not verify against '$D/wrongca/ca.pem'"* ]] && ok "TLS: server not signed by our CA -> clear error" || fail "tls wrong ca" "$RC $ERR"
run env -u DOCKER_TLS_VERIFY "$BERTH" engine info --engine "$T_URL"
[ "$RC" = 1 ] && [[ "$ERR" == *"requires TLS"* || "$ERR" == *"expect TLS"* ]] && ok "plain HTTP to a TLS engine -> clear error" || fail "plain to tls" "$RC $ERR"

# --- prune ---
run "$BERTH" engine prune --chains
[ "$RC" = 0 ] && [ "$(api /images/json | count_json)" = 0 ] && ok "prune --chains removes berth's chain images (and untagged commits left behind)" || fail "prune" "$RC $OUT $ERR $(api /images/json)"

finish
