#!/usr/bin/env bash
# Secrets never leak (issue 10): the content of `--secret id=,src=` and
# `--secret id=,env=` used by `RUN --mount=type=secret` appears in no blob
# (layers decompressed too), no history entry, no cache record, no file
# under BERTH_ROOT, no exported image, no progress output (plain and json)
# and no error message of a failing RUN; registry credentials from a docker
# config.json and --password-stdin appear in no output or error of pull and
# push (the registry is a local HTTP server that asks for Basic auth).
# Grepping covers everything berth wrote: the store, stdout, stderr.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -x /bin/busybox ]; then
	skip "secrets" "needs root (RUN sandbox) and /bin/busybox"
	finish
	exit
fi
export BERTH_ROOT=$TMP/root DOCKER_CONFIG=$TMP/dc
unset SOURCE_DATE_EPOCH DOCKER_AUTH_CONFIG
FILESECRET=fileSecret$RANDOM$RANDOM$RANDOM
ENVSECRET=envSecret$RANDOM$RANDOM$RANDOM
printf '%s' "$FILESECRET" >"$TMP/secret.txt"
export MYTOKEN=$ENVSECRET
FHASH=$(printf '%s' "$FILESECRET" | sha256sum | cut -d' ' -f1)
EHASH=$(printf '%s' "$ENVSECRET" | sha256sum | cut -d' ' -f1)

"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
SOURCE_DATE_EPOCH=1700000000 "$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
mkdir -p "$TMP/ctx"
echo data >"$TMP/ctx/data"
# the RUNs check the secrets' hashes (so they really were mounted), copy
# them around inside the container and delete the copies again
cat >"$TMP/ctx/Dockerfile" <<'EOF'
FROM busybox:latest
ARG FHASH EHASH
COPY data /data
RUN --mount=type=secret,id=fsec test "$(sha256sum </run/secrets/fsec | cut -d' ' -f1)" = "$FHASH" && cp /run/secrets/fsec /tmp/copy && rm /tmp/copy && echo file-secret-ok
RUN --mount=type=secret,id=esec,target=/etc/esec,mode=0444,uid=1000 test "$(sha256sum </etc/esec | cut -d' ' -f1)" = "$EHASH" && echo env-secret-ok
RUN --mount=type=secret,id=fsec --mount=type=secret,id=esec,env=TOK mkdir /out && sha256sum /run/secrets/fsec >/out/h
CMD ["sh"]
EOF
cat >"$TMP/ctx/Dockerfile.fail" <<'EOF'
FROM busybox:latest
RUN --mount=type=secret,id=fsec --mount=type=secret,id=esec sh -c 'read x </run/secrets/fsec; read y </run/secrets/esec; exit 7'
EOF
SEC=(--secret "id=fsec,src=$TMP/secret.txt" --secret id=esec,env=MYTOKEN)
ARGS=(--build-arg "FHASH=$FHASH" --build-arg "EHASH=$EHASH")
mkdir -p "$TMP/logs"

run "$BERTH" build --progress plain -t sec:1 "${SEC[@]}" "${ARGS[@]}" -o "type=oci,dest=$TMP/export" \
	-o "type=docker,dest=$TMP/export.tar" "$TMP/ctx"
printf '%s\n%s\n' "$OUT" "$ERR" >"$TMP/logs/plain"
[ "$RC" = 0 ] && [[ "$ERR" == *file-secret-ok* ]] && [[ "$ERR" == *env-secret-ok* ]] &&
	ok "RUN reads --secret src= and env= content (hashes match)" || fail "secret build" "$RC $ERR"
run "$BERTH" build --progress json --no-cache -t sec:2 "${SEC[@]}" "${ARGS[@]}" "$TMP/ctx"
printf '%s\n%s\n' "$OUT" "$ERR" >"$TMP/logs/json"
[ "$RC" = 0 ] && ok "the same build with json progress" || fail "json build" "$RC $ERR"
run "$BERTH" build --progress plain -t sec:1 "${SEC[@]}" "${ARGS[@]}" "$TMP/ctx"
printf '%s\n%s\n' "$OUT" "$ERR" >"$TMP/logs/cached"
[ "$RC" = 0 ] && [[ "$ERR" == *CACHED* ]] && ok "a cached rebuild" || fail "cached build" "$RC $ERR"
for p in plain json; do
	run "$BERTH" build --progress "$p" -f "$TMP/ctx/Dockerfile.fail" "${SEC[@]}" "$TMP/ctx"
	printf '%s\n%s\n' "$OUT" "$ERR" >"$TMP/logs/fail-$p"
	[ "$RC" = 1 ] && [[ "$ERR" == *"exit code: 7"* ]] && ok "failing RUN with secrets ($p progress): exit code reported" ||
		fail "failing RUN ($p)" "$RC $ERR"
done
# a required secret that was given with an unreadable source
run "$BERTH" build --progress plain -f "$TMP/ctx/Dockerfile.fail" --secret "id=fsec,src=$TMP/nothere" \
	--secret id=esec,env=MYTOKEN "$TMP/ctx"
printf '%s\n%s\n' "$OUT" "$ERR" >"$TMP/logs/fail-src"
[ "$RC" != 0 ] && ok "a missing secret source fails" || fail "missing secret source" "$RC"
"$BERTH" inspect --format json sec:1 >"$TMP/logs/inspect" 2>&1
"$BERTH" save -o "$TMP/save.tar" sec:1 2>>"$TMP/logs/save"
[ -s "$TMP/save.tar" ] && ok "the image saves" || fail "save" "$(cat "$TMP/logs/save")"

# every layer blob decompressed, in both stores and the exports
mkdir -p "$TMP/unpacked"
n=0
for f in "$BERTH_ROOT"/images/blobs/sha256/* "$BERTH_ROOT"/cache/blobs/blobs/sha256/* "$TMP"/export/blobs/sha256/*; do
	n=$((n + 1))
	case $(head -c 4 "$f" | od -An -tx1 | tr -d ' \n') in
	1f8b*) gzip -dc <"$f" >"$TMP/unpacked/$n" 2>/dev/null ;;
	28b52ffd) zstd -dc <"$f" >"$TMP/unpacked/$n" 2>/dev/null ;;
	esac
done
tar -C "$TMP/unpacked" -xf "$TMP/save.tar" 2>/dev/null
[ "$n" -ge 8 ] && ok "collected $n blobs to search" || fail "blobs to search" "$n"

leaks() { # prints every file under the given paths that holds a secret
	grep -rlaF -e "$FILESECRET" -e "$ENVSECRET" "$@" 2>/dev/null
}
l=$(leaks "$BERTH_ROOT")
[ -z "$l" ] && ok "no file under BERTH_ROOT (blobs, cache records, rootfs trees, temp dirs) holds a secret" ||
	fail "secret in the store" "$l"
l=$(leaks "$TMP/unpacked" "$TMP/export" "$TMP/export.tar" "$TMP/save.tar")
[ -z "$l" ] && ok "no blob, decompressed layer or exported image holds a secret" || fail "secret in a blob" "$l"
l=$(leaks "$TMP/logs")
[ -z "$l" ] && ok "no progress output, inspect output or error message holds a secret" || fail "secret in output" "$l"
grep -q '"created_by":.*cat /run/secrets/fsec\|"created_by":.*/run/secrets/fsec' "$TMP/logs/inspect" && ok "history has the RUN commands that read the secrets (not their content)" ||
	fail "history" "$(head -c 600 "$TMP/logs/inspect")"
# the secrets' hashes are what the image may keep (the last RUN wrote one)
grep -raqF "$FHASH" "$TMP/unpacked" && ok "the RUN's output derived from the secret is in the layer" || fail "derived output"

# --- registry credentials: config.json auths and --password-stdin ---
PY=/usr/bin/python3
USER1=berthuser PASS1=cfgPass$RANDOM$RANDOM PASS2=stdinPass$RANDOM$RANDOM
cat >"$TMP/reg.py" <<'EOF'
# A registry front that asks for Basic auth and then answers 404 (so the
# client goes through the whole credential path and then fails), and
# records every Authorization header it got.
import base64, http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        a = self.headers.get("Authorization")
        with open(sys.argv[2], "a") as f: f.write("%s %s\n" % (self.path, a))
        if not a:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
        else:
            body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
            self.send_response(404 if self.path != "/v2/" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_HEAD = do_GET
    def do_POST(self): self.do_GET()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
s = S(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
"$PY" "$TMP/reg.py" "$TMP/reg.port" "$TMP/reg.log" 2>/dev/null &
regpid=$!
for _ in $(seq 1 600); do [ -s "$TMP/reg.port" ] && break; sleep 0.1; done # up to 60 s: a loaded CI machine
R=127.0.0.1:$(cat "$TMP/reg.port")
mkdir -p "$TMP/dc"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$R" "$(printf '%s:%s' "$USER1" "$PASS1" | base64 -w0)" >"$TMP/dc/config.json"
: >"$TMP/logs/reg"
for c in "pull --retries 0 $R/x/y:1" "push --retries 0 sec:1 $R/x/y:1" \
	"manifest inspect $R/x/y:1"; do
	# shellcheck disable=SC2086
	"$BERTH" $c >>"$TMP/logs/reg" 2>&1
	echo "rc $?" >>"$TMP/logs/reg"
done
printf '%s\n' "$PASS2" | "$BERTH" pull --retries 0 -u "$USER1" --password-stdin "$R/x/y:1" >>"$TMP/logs/reg" 2>&1
printf '%s\n' "$PASS2" | "$BERTH" push --retries 0 -u "$USER1" --password-stdin sec:1 "$R/x/y:1" >>"$TMP/logs/reg" 2>&1
BAD=$(printf '%s:%s' "$USER1" "$PASS1" | base64 -w0)
grep -q "Basic $BAD" "$TMP/reg.log" && ok "config.json credentials were sent to the registry" ||
	fail "config.json credentials used" "$(cat "$TMP/reg.log")"
grep -q "Basic $(printf '%s:%s' "$USER1" "$PASS2" | base64 -w0)" "$TMP/reg.log" &&
	ok "--password-stdin credentials were sent to the registry" || fail "password-stdin used" "$(cat "$TMP/reg.log")"
l=$(grep -rlaF -e "$PASS1" -e "$PASS2" -e "$BAD" "$TMP/logs" "$BERTH_ROOT" 2>/dev/null)
[ -z "$l" ] && ok "registry passwords (plain and base64) appear in no output, error or store file" ||
	fail "credentials leaked" "$l: $(grep -aF -e "$PASS1" -e "$PASS2" -e "$BAD" $l | head -3)"
kill "$regpid" 2>/dev/null
wait "$regpid" 2>/dev/null

finish
