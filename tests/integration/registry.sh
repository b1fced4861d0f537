#!/usr/bin/env bash
# berth pull/push/manifest against Debian's docker-registry on loopback:
# plain HTTP, htpasswd Basic auth over TLS (CA made here), a bearer-token
# proxy, fault injection (5xx, 429, cut downloads, corrupted blobs,
# redirects) and skopeo as the peer. Skips when docker-registry is missing.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/registry-lib.sh"
[ -n "${REGTRACE:-}" ] && { PS4='+ $(date +%s.%N | cut -c7-14) '; set -x; }
HERE=$REG_HERE

if ! have docker-registry; then
	skip "registry suite" "docker-registry is not installed"
	finish; exit $?
fi
export SOURCE_DATE_EPOCH=1700000000
unset DOCKER_AUTH_CONFIG
export DOCKER_CONFIG=$TMP/docker-empty
mkdir -p "$DOCKER_CONFIG"
PASSWORD="s3cret-$$-Pw"
ALLOUT=$TMP/all-output.txt
: >"$ALLOUT"
# run, and keep every output for the final "no secret leaked" check
rrun() { run "$@"; printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALLOUT"; }

blob_path() { echo "$BERTH_ROOT/images/blobs/sha256/${1#sha256:}"; }
manifest_json() { skopeo inspect --raw --tls-verify=false "docker://$1"; }

# foreign layer URLs are refused unless allowed (distribution's default)
start_registry plain "" "validation:
  manifests:
    urls:
      allow:
        - ^https?://"
R=127.0.0.1:$PORT_plain
if ! curl -sf -o /dev/null "http://$R/v2/"; then
	fail "registry start" "$(tail -5 "$TMP/plain.log")"
	finish; exit $?
fi

# --- images ---
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || BUSYBOX=/bin/sh
"$PY" "$HERE/mkimage.py" "$TMP/busy.tar" busy:1 --file "$BUSYBOX:bin/busybox" --text etc/hello=hi
"$PY" "$HERE/mkimage.py" "$TMP/big.tar" big:1 --big data/blob:400000 --text etc/x=big
"$PY" "$HERE/mkimage.py" "$TMP/w2019.tar" app:ltsc2019 --os windows --os-version 10.0.17763.5329 --text Files/app/a.txt=one
"$PY" "$HERE/mkimage.py" "$TMP/w2022.tar" app:ltsc2022 --os windows --os-version 10.0.20348.2227 --text Files/app/a.txt=two
"$PY" "$HERE/mkimage.py" "$TMP/lin.tar" app:linux --text app/a.txt=lin

export BERTH_ROOT=$TMP/root1
for f in busy big w2019 w2022 lin; do "$BERTH" load -q -i "$TMP/$f.tar" || fail "load $f"; done

# --- push / pull, plain HTTP on loopback ---
rrun "$BERTH" push busy:1 "$R/test/busy:1"
if [ "$RC" = 0 ] && [ "$(grep -c ': Pushed' <<<"$OUT")" = 3 ]; then ok "push: 3 blobs uploaded"; else fail "push" "$OUT $ERR"; fi
PUSHED=$(sed -n 's/^1: digest: \(sha256:[0-9a-f]*\) size: .*/\1/p' <<<"$OUT")
LOCAL=$("$BERTH" inspect --format json busy:1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["digest"])' 2>/dev/null)
[ -n "$PUSHED" ] && [ "$PUSHED" = "$LOCAL" ] && ok "push: digest is the local manifest digest" || fail "push digest" "'$PUSHED' vs '$LOCAL'"

if have skopeo; then
	run skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$R/test/busy:1"
	[ "$OUT" = "$PUSHED" ] && ok "skopeo inspect: same digest" || fail "skopeo inspect" "$OUT $ERR"
	run skopeo copy --tls-verify=false --preserve-digests "docker://$R/test/busy:1" "oci:$TMP/sk-oci:1"
	if [ "$RC" != 0 ]; then
		run skopeo copy --tls-verify=false "docker://$R/test/busy:1" "oci:$TMP/sk-oci:1"
	fi
	if [ "$RC" = 0 ]; then
		SL=$("$PY" -c 'import json,sys
ix=json.load(open(sys.argv[1]+"/index.json")); d=ix["manifests"][0]["digest"].split(":")[1]
m=json.load(open(sys.argv[1]+"/blobs/sha256/"+d)); print(" ".join(l["digest"] for l in m["layers"]))' "$TMP/sk-oci")
		BL=$("$BERTH" inspect --format json busy:1 | "$PY" -c 'import json,sys; print(" ".join(l["digest"] for l in json.load(sys.stdin)["layers"]))')
		[ -n "$SL" ] && [ "$SL" = "$BL" ] && ok "skopeo copy to oci: same layer digests" || fail "skopeo copy layers" "$SL vs $BL"
	else
		fail "skopeo copy" "$ERR"
	fi
else
	skip "skopeo checks" "skopeo not installed"
fi

export BERTH_ROOT=$TMP/root2
rrun "$BERTH" pull "$R/test/busy:1"
[ "$RC" = 0 ] && [ "$(grep -c 'Pull complete' <<<"$OUT")" = 3 ] && ok "pull: 3 layers" || fail "pull" "$OUT $ERR"
grep -q "^Digest: $PUSHED\$" <<<"$OUT" && ok "pull: same digest" || fail "pull digest" "$OUT"
run "$BERTH" inspect --format json "$R/test/busy:1"
[ "$RC" = 0 ] && grep -q "$PUSHED" <<<"$OUT" && ok "pulled image is complete in the store" || fail "inspect pulled" "$ERR"
cmp -s "$(blob_path "$PUSHED")" "$TMP/root1/images/blobs/sha256/${PUSHED#sha256:}" && ok "pulled manifest bytes identical" || fail "manifest bytes"
rrun "$BERTH" pull "$R/test/busy:1"
[ "$RC" = 0 ] && [ "$(grep -c 'Already exists' <<<"$OUT")" = 3 ] && ok "pull again: nothing downloaded" || fail "repull" "$OUT"
run "$BERTH" pull "$R/test/nothere:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"not found"* ]] && ok "pull of a missing tag: clear error" || fail "missing tag" "rc $RC: $ERR"
run "$BERTH" pull "$R/test/busy@sha256:$(printf '0%.0s' $(seq 64))"
[ "$RC" = 1 ] && ok "pull of a missing digest fails" || fail "missing digest" "rc $RC $ERR"
run "$BERTH" pull --platform linux/arm64 "$R/test/busy:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"linux/amd64 image, not linux/arm64"* ]] && ok "pull: platform mismatch of a single image" || fail "platform mismatch" "$ERR"
run "$BERTH" pull -o "oci:$TMP/pulled-oci:1" "$R/test/busy:1"
[ "$RC" = 0 ] && [ -f "$TMP/pulled-oci/index.json" ] && ok "pull -o oci:DIR" || fail "pull -o" "$ERR"

# --- cross-repository mount: no upload ---
uploads() { grep 'msg="response completed"' "$TMP/plain.log" | grep -c 'http.request.method=\(PUT\|PATCH\) .*blobs/uploads/'; }
before=$(uploads)
rrun "$BERTH" push "$R/test/busy:1" "$R/other/busy:2"
[ "$RC" = 0 ] && [ "$(grep -c 'Mounted from test/busy' <<<"$OUT")" = 3 ] && ok "push: 3 blobs mounted from test/busy" || fail "mount" "$OUT $ERR"
after=$(uploads)
if grep -q 'http.request.method=POST' "$TMP/plain.log"; then
	[ "$before" = "$after" ] && ok "registry log: no blob upload for the mounted push" || fail "uploads during mount" "$before -> $after"
	grep -q 'uri="/v2/other/busy/blobs/uploads/?mount=' "$TMP/plain.log" && ok "registry log shows mount requests" || fail "mount in log"
else
	skip "registry log checks" "log format not recognized"
fi
rrun "$BERTH" push "$R/test/busy:1" "$R/other/busy:2"
[ "$RC" = 0 ] && [ "$(grep -c 'Layer already exists' <<<"$OUT")" = 3 ] && ok "push again: HEAD finds every blob" || fail "repush" "$OUT"

# --- chunked upload ---
export BERTH_ROOT=$TMP/root1
rrun "$BERTH" push --chunk-size 65536 big:1 "$R/chunk/big:1"
[ "$RC" = 0 ] && ok "chunked push" || fail "chunked push" "$ERR"
n=$(grep 'http.request.method=PATCH' "$TMP/plain.log" | grep -c 'uri="/v2/chunk/big/blobs/uploads/')
[ "$n" -ge 6 ] && ok "chunked push: $n PATCH requests" || fail "PATCH count" "$n"
BIGD=$("$BERTH" push -q big:1 "$R/chunk/big:1")
BERTH_ROOT=$TMP/root3 run "$BERTH" pull -q "$R/chunk/big:1"
BERTH_ROOT=$TMP/root3 run "$BERTH" inspect --format json "$R/chunk/big:1"
grep -q "$BIGD" <<<"$OUT" && ok "chunked upload pulls back with the same digest" || fail "chunk roundtrip" "$BIGD $OUT"

# --- lazy pull, mount by source ---
export BERTH_ROOT=$TMP/root4
rrun "$BERTH" pull --lazy "$R/test/busy:1"
[ "$RC" = 0 ] && ok "pull --lazy" || fail "lazy pull" "$ERR"
nblobs=$(find "$BERTH_ROOT/images/blobs/sha256" -type f | wc -l)
[ "$nblobs" = 2 ] && ok "pull --lazy stores only manifest and config" || fail "lazy blobs" "$nblobs"
rrun "$BERTH" push "$R/test/busy:1" "$R/lazy/busy:1"
[ "$RC" = 0 ] && [ "$(grep -c 'Mounted from' <<<"$OUT")" = 3 ] && ok "push of a lazy image mounts its layers" || fail "lazy mount" "$OUT $ERR"
nblobs=$(find "$BERTH_ROOT/images/blobs/sha256" -type f | wc -l)
[ "$nblobs" = 2 ] && ok "lazy push downloaded nothing" || fail "lazy push downloads" "$nblobs"

# --- manifest lists (multi-release Windows) ---
export BERTH_ROOT=$TMP/root1
rrun "$BERTH" manifest create app:multi app:ltsc2019 app:ltsc2022 app:linux
[ "$RC" = 0 ] && ok "manifest create" || fail "manifest create" "$ERR"
run "$BERTH" manifest create app:multi app:ltsc2019
[ "$RC" = 1 ] && [[ "$ERR" == *"--amend"* ]] && ok "manifest create refuses to overwrite without --amend" || fail "no amend" "$RC $ERR"
rrun "$BERTH" manifest push app:multi "$R/win/app:multi"
[ "$RC" = 0 ] && ok "manifest push" || fail "manifest push" "$ERR"
if have skopeo; then
	RAW=$(manifest_json "$R/win/app:multi")
	if "$PY" - "$RAW" <<'PY'
import json, sys
x = json.loads(sys.argv[1])
assert x["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json", x["mediaType"]
p = [m["platform"] for m in x["manifests"]]
assert [q["os"] for q in p] == ["linux", "windows", "windows"], p
assert [q.get("os.version") for q in p] == [None, "10.0.20348.2227", "10.0.17763.5329"], p
assert all(q["architecture"] == "amd64" for q in p)
PY
	then ok "skopeo inspect --raw: list entries carry os.version, newest Windows first"; else fail "list shape" "$RAW"; fi
	run skopeo inspect --tls-verify=false --override-os windows --format '{{.Os}}' "docker://$R/win/app:multi"
	[ "$OUT" = windows ] && ok "skopeo resolves the windows entry" || fail "skopeo windows" "$OUT $ERR"
fi
LISTD=$(BERTH_ROOT=$TMP/root1 "$BERTH" manifest inspect --raw app:multi | head -c -1 | sha256sum | cut -d' ' -f1)
BERTH_ROOT=$TMP/root1 rrun "$BERTH" push -q app:multi "$R/win/app:viapush"
[ "$RC" = 0 ] && [ "$OUT" = "sha256:$LISTD" ] && ok "berth push of a manifest list pushes the index" || fail "push index" "$OUT $ERR"
W2019=$(BERTH_ROOT=$TMP/root1 "$BERTH" inspect --format json app:ltsc2019 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
W2022=$(BERTH_ROOT=$TMP/root1 "$BERTH" inspect --format json app:ltsc2022 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
export BERTH_ROOT=$TMP/root5
pulled_digest() { "$BERTH" inspect --format json "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["digest"])'; }
run "$BERTH" pull -q --os-version 10.0.17763.6000 "$R/win/app:multi"
[ "$RC" = 0 ] && [ "$(pulled_digest "$R/win/app:multi")" = "$W2019" ] && ok "pull --os-version 17763 selects the ltsc2019 entry" || fail "select 2019" "$ERR"
run "$BERTH" pull -q --platform 'windows(10.0.20348)/amd64' "$R/win/app:multi"
[ "$RC" = 0 ] && [ "$(pulled_digest "$R/win/app:multi")" = "$W2022" ] && ok "pull windows(10.0.20348) selects ltsc2022" || fail "select 2022" "$ERR"
run "$BERTH" pull -q --os-version 10.0.26100.1 "$R/win/app:multi"
[ "$RC" = 0 ] && [ "$(pulled_digest "$R/win/app:multi")" = "$W2022" ] && ok "a 26100 host gets the 20348 entry (stable ABI)" || fail "select 26100" "$ERR"
run "$BERTH" pull -q --os-version 10.0.19041.1 "$R/win/app:multi"
[ "$RC" = 1 ] && [[ "$ERR" == *"no image for platform"*"10.0.17763.5329"* ]] && ok "no entry for build 19041: error lists the entries" || fail "no 19041" "$RC $ERR"
# --amend with a remote image (metadata only)
BERTH_ROOT=$TMP/root1 "$BERTH" push -q app:ltsc2019 "$R/win/app:ltsc2019" >/dev/null
export BERTH_ROOT=$TMP/root6
rrun "$BERTH" manifest create lst "$R/win/app:ltsc2019"
BERTH_ROOT=$TMP/root6b rrun "$BERTH" manifest create lst2 "$R/win/app:multi"
[ "$RC" = 2 ] && [[ "$ERR" == *"is a manifest list, not an image"* ]] && ok "manifest create: a list is not an image" || fail "list as image" "$RC $ERR"
BERTH_ROOT=$TMP/root1 "$BERTH" push -q app:ltsc2022 "$R/win/app:ltsc2022" >/dev/null
rrun "$BERTH" manifest create --amend lst "$R/win/app:ltsc2022"
rrun "$BERTH" manifest push lst "$R/win2/app:1"
[ "$RC" = 0 ] && ok "manifest push of remote images: mounted, no layer download" || fail "remote list push" "$ERR"
nl=$(find "$BERTH_ROOT/images/blobs/sha256" -type f | wc -l)
[ "$nl" = 6 ] && ok "only manifests, configs and the two list versions are stored" || fail "remote list blobs" "$nl"
run "$BERTH" manifest inspect --raw "$R/win2/app:1"
[ "$RC" = 0 ] && [[ "$OUT" == *'"os.version":"10.0.20348.2227"'*'"os.version":"10.0.17763.5329"'* ]] && ok "manifest inspect of the remote list" || fail "inspect remote" "$OUT $ERR"

# --- htpasswd Basic auth over TLS ---
if have htpasswd && have openssl; then
	mkdir -p "$TMP/certs"
	(cd "$TMP/certs" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca -keyout ca.key -out ca.crt &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.crt) >/dev/null 2>&1
	mkdir -p "$TMP/cadir" && cp "$TMP/certs/ca.crt" "$TMP/cadir/ca.crt"
	htpasswd -Bbn tester "$PASSWORD" >"$TMP/htpasswd" 2>/dev/null
	start_registry auth "  tls:
    certificate: $TMP/certs/server.crt
    key: $TMP/certs/server.key" "auth:
  htpasswd:
    realm: berth-test
    path: $TMP/htpasswd"
	A=127.0.0.1:$PORT_auth
	export BERTH_ROOT=$TMP/root1
	rrun "$BERTH" push --cert-dir "$TMP/cadir" busy:1 "$A/sec/busy:1"
	[ "$RC" = 1 ] && [[ "$ERR" == *"authentication required"* ]] && ok "auth: push without credentials is refused" || fail "anon push" "$RC $ERR"
	rrun "$BERTH" push busy:1 "$A/sec/busy:1"
	[ "$RC" = 1 ] && [[ "$ERR" == *"certificate"* ]] && ok "TLS: self-signed CA refused without --cert-dir" || fail "tls verify" "$RC $ERR"
	rrun "$BERTH" push --cert-dir "$TMP/cadir" -u tester --password-stdin busy:1 "$A/sec/busy:1" <<<"$PASSWORD"
	[ "$RC" = 0 ] && ok "auth: --username/--password-stdin over TLS" || fail "password-stdin" "$ERR"
	rrun "$BERTH" push --cert-dir "$TMP/cadir" -u tester --password-stdin busy:1 "$A/sec/busy:2" <<<"wrong-$PASSWORD"
	[ "$RC" = 1 ] && [[ "$ERR" == *"credentials rejected"* ]] && ok "auth: wrong password is a clear error" || fail "wrong password" "$RC $ERR"
	run "$BERTH" push --password-stdin busy:1 "$A/sec/busy:2" </dev/null
	[ "$RC" = 2 ] && ok "--password-stdin without --username is a usage error" || fail "pw no user" "$RC"
	mkdir -p "$TMP/dc1"
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$A" "$(printf 'tester:%s' "$PASSWORD" | base64 -w0)" >"$TMP/dc1/config.json"
	DOCKER_CONFIG=$TMP/dc1 rrun "$BERTH" pull --cert-dir "$TMP/cadir" "$A/sec/busy:1"
	[ "$RC" = 0 ] && ok "auth: credentials from DOCKER_CONFIG/config.json auths" || fail "config.json auths" "$ERR"
	mkdir -p "$TMP/dc2"
	printf '{"auths":{"https://%s/v1/":{"auth":"%s"}}}\n' "$A" "$(printf 'tester:%s' "$PASSWORD" | base64 -w0)" >"$TMP/dc2/config.json"
	DOCKER_CONFIG=$TMP/dc2 rrun "$BERTH" pull -q --tls-verify=false "$A/sec/busy:1"
	[ "$RC" = 0 ] && ok "auth: auths key with scheme and path; --tls-verify=false" || fail "auths url key" "$ERR"
	# credential helper (credHelpers) spawned with the server on stdin
	mkdir -p "$TMP/bin" "$TMP/dc3"
	cat >"$TMP/bin/docker-credential-berthtest" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 1
read server
echo "\$server" >>"$TMP/helper.log"
if [ "\$server" = "$A" ]; then
	printf '{"ServerURL":"%s","Username":"tester","Secret":"%s"}\n' "\$server" "$PASSWORD"
else
	echo "credentials not found in native keychain"; exit 1
fi
EOF
	chmod +x "$TMP/bin/docker-credential-berthtest"
	printf '{"credHelpers":{"%s":"berthtest"}}\n' "$A" >"$TMP/dc3/config.json"
	PATH=$TMP/bin:$PATH DOCKER_CONFIG=$TMP/dc3 rrun "$BERTH" push --cert-dir "$TMP/cadir" busy:1 "$A/sec/busy:3"
	[ "$RC" = 0 ] && grep -qx "$A" "$TMP/helper.log" && ok "auth: credHelpers runs docker-credential-berthtest get" || fail "cred helper" "$ERR"
	printf '{"credsStore":"berthtest"}\n' >"$TMP/dc3/config.json"
	PATH=$TMP/bin:$PATH DOCKER_CONFIG=$TMP/dc3 rrun "$BERTH" pull -q --cert-dir "$TMP/cadir" "$A/sec/busy:3"
	[ "$RC" = 0 ] && ok "auth: credsStore" || fail "credsStore" "$ERR"
	printf '{"credsStore":"berthnothere"}\n' >"$TMP/dc3/config.json"
	DOCKER_CONFIG=$TMP/dc3 rrun "$BERTH" pull -q --cert-dir "$TMP/cadir" "$A/sec/busy:3"
	[ "$RC" = 1 ] && [[ "$ERR" == *"docker-credential-berthnothere"* ]] && ok "missing credential helper: named in the error" || fail "missing helper" "$RC $ERR"
	# a lazy image from one registry pushed to another: fetched, then uploaded
	BERTH_ROOT=$TMP/root7 rrun "$BERTH" pull -q --lazy "$R/test/busy:1"
	BERTH_ROOT=$TMP/root7 rrun "$BERTH" push --cert-dir "$TMP/cadir" -u tester --password-stdin "$R/test/busy:1" "$A/sec/lazy:1" <<<"$PASSWORD"
	[ "$RC" = 0 ] && [ "$(grep -c ': Pushed' <<<"$OUT")" = 3 ] && ok "lazy image pushed across registries (layers fetched from the source)" || fail "cross-registry lazy" "$OUT $ERR"
else
	skip "htpasswd/TLS tests" "htpasswd (apache2-utils) or openssl missing"
fi

# --- bearer tokens (loopback token endpoint in the proxy) ---
start_proxy bearer "$PORT_plain" --bearer "tester:$PASSWORD" --redirect-blobs
B=127.0.0.1:$PPORT_bearer
export BERTH_ROOT=$TMP/root8
rrun "$BERTH" pull "$B/test/busy:1"
[ "$RC" = 1 ] && ok "bearer: anonymous token has no pull scope -> refused" || fail "anon bearer" "$RC $ERR"
rrun "$BERTH" pull -u tester --password-stdin "$B/test/busy:1" <<<"$PASSWORD"
[ "$RC" = 0 ] && ok "bearer: pull with a token from the realm" || fail "bearer pull" "$ERR"
n=$(grep -c '^TOKEN 200 basic scopes=repository:test/busy:pull$' "$TMP/bearer.plog")
[ "$n" = 1 ] && ok "bearer: one token for the whole pull (cached per scope)" || fail "token cache" "$n: $(cat "$TMP/bearer.plog" | grep TOKEN)"
grep -q 'REDIRECTED auth=no' "$TMP/bearer.plog" && ! grep -q 'REDIRECTED auth=yes' "$TMP/bearer.plog" &&
	ok "redirected blob GETs go to the other host without Authorization" || fail "redirect auth" "$(grep REDIRECTED "$TMP/bearer.plog" | head -3)"
export BERTH_ROOT=$TMP/root1
rrun "$BERTH" push -u tester --password-stdin big:1 "$B/tok/big:1" <<<"$PASSWORD"
[ "$RC" = 0 ] && ok "bearer: push" || fail "bearer push" "$ERR"
grep -q '^TOKEN 200 basic scopes=repository:tok/big:pull,push$' "$TMP/bearer.plog" && ok "bearer: push token asks pull,push" || fail "push scope" "$(grep TOKEN "$TMP/bearer.plog")"
rrun "$BERTH" push -u tester --password-stdin big:1 "$B/tok/big2:1" <<<"$PASSWORD"
[ "$RC" = 0 ] && [ "$(grep -c 'Mounted from tok/big' <<<"$OUT")" = 3 ] && ok "bearer: blobs mounted from tok/big" || fail "bearer mount" "$OUT $ERR"
grep -q 'scopes=repository:tok/big2:pull,push repository:tok/big:pull' "$TMP/bearer.plog" && ok "bearer: mount token covers the source repository" || fail "mount scope" "$(grep TOKEN "$TMP/bearer.plog" | tail -3)"
rrun "$BERTH" pull -u tester --password-stdin "$B/test/busy:1" <<<"nope"
[ "$RC" = 1 ] && [[ "$ERR" == *"token endpoint"*"refused the credentials"* ]] && ok "bearer: wrong password -> clear error" || fail "bearer wrong pw" "$RC $ERR"

mkdir -p "$TMP/dc4"
printf '{"auths":{"%s":{"identitytoken":"%s"}}}\n' "$B" "$PASSWORD" >"$TMP/dc4/config.json"
BERTH_ROOT=$TMP/root8b DOCKER_CONFIG=$TMP/dc4 rrun "$BERTH" pull -q "$B/test/busy:1"
[ "$RC" = 0 ] && grep -q '^TOKEN 200 oauth scopes=repository:test/busy:pull service=berth-test$' "$TMP/bearer.plog" &&
	ok "bearer: identity token from config.json -> OAuth2 refresh-token POST" || fail "oauth" "$ERR $(grep TOKEN "$TMP/bearer.plog" | tail -2)"

# --- foreign (non-distributable) layers: never pushed, never pulled ---
mkdir -p "$TMP/foreign/blobs/sha256"
"$PY" - "$TMP/foreign" <<'PYF'
import hashlib, io, json, sys, tarfile
d = sys.argv[1]
def put(b):
    h = hashlib.sha256(b).hexdigest(); open("%s/blobs/sha256/%s" % (d, h), "wb").write(b); return "sha256:" + h
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("Files/app.txt"); data = b"app"; ti.size = len(data); t.addfile(ti, io.BytesIO(data))
layer = buf.getvalue()
fdiff = "sha256:" + "ab" * 32
cfg = json.dumps({"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1",
                  "rootfs": {"type": "layers", "diff_ids": [fdiff, "sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": put(cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": "sha256:" + "cd" * 32,
                "size": 123456789, "urls": ["https://example.invalid/base-layer"]},
               {"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "digest": put(layer), "size": len(layer)}]}).encode()
md = put(man)
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(d + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType":
    "application/vnd.docker.distribution.manifest.v2+json", "digest": md, "size": len(man),
    "annotations": {"org.opencontainers.image.ref.name": "1"}}]}))
PYF
export BERTH_ROOT=$TMP/root12
rrun "$BERTH" push "oci:$TMP/foreign:1" "$R/foreign/app:1"
[ "$RC" = 0 ] && grep -q 'cdcdcdcdcdcd: Skipped foreign layer' <<<"$OUT" && ok "push: foreign layer skipped, manifest accepted" || fail "foreign push" "$OUT $ERR"
if have skopeo; then
	manifest_json "$R/foreign/app:1" | grep -q '"urls": *\["https://example.invalid/base-layer"\]' && ok "foreign descriptor kept with its urls" || fail "foreign urls"
fi
rrun "$BERTH" pull "$R/foreign/app:1"
[ "$RC" = 0 ] && grep -q 'cdcdcdcdcdcd: Foreign layer, not downloaded' <<<"$OUT" && ok "pull: foreign layer not downloaded" || fail "foreign pull" "$OUT $ERR"

# --- faults: retries, cut downloads, corrupted blobs ---
export BERTH_ROOT=$TMP/root9
start_proxy f503 "$PORT_plain" --fail 2 'GET /v2/test/busy/manifests/'
rrun "$BERTH" pull -q "127.0.0.1:$PPORT_f503/test/busy:1"
[ "$RC" = 0 ] && [ "$(grep -c 'injected' "$TMP/f503.plog")" = 2 ] && ok "retry: two 503s, then success" || fail "retry 503" "$ERR"
[[ "$ERR" == *"retrying after HTTP 503"* ]] && ok "retry is reported on stderr" || fail "retry message" "$ERR"
start_proxy f503b "$PORT_plain" --fail 100 'GET /v2/test/busy/manifests/'
rrun "$BERTH" pull -q --retries 2 "127.0.0.1:$PPORT_f503b/test/busy:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"HTTP 503"* ]] && [ "$(grep -c 'injected' "$TMP/f503b.plog")" = 3 ] && ok "retry: bounded (--retries 2 = 3 attempts)" || fail "retry bound" "$RC $ERR $(grep -c injected "$TMP/f503b.plog")"
start_proxy f429 "$PORT_plain" --fail 1 'PUT /v2/' --fail-status 429 --retry-after 0
BERTH_ROOT=$TMP/root1 rrun "$BERTH" push -q busy:1 "127.0.0.1:$PPORT_f429/r429/busy:1"
[ "$RC" = 0 ] && grep -q '429 injected' "$TMP/f429.plog" && ok "push: 429 with Retry-After retried" || fail "429" "$ERR"
export BERTH_ROOT=$TMP/root10
start_proxy cut "$PORT_plain" --cut
rrun "$BERTH" pull -q "127.0.0.1:$PPORT_cut/chunk/big:1"
[ "$RC" = 0 ] && grep -q ' cut ' "$TMP/cut.plog" && grep -q 'range=bytes=' "$TMP/cut.plog" && ok "cut download resumed with a Range request" || fail "resume" "$ERR $(cat "$TMP/cut.plog")"
run "$BERTH" inspect --format json "127.0.0.1:$PPORT_cut/chunk/big:1"
[ "$RC" = 0 ] && ok "resumed image is complete and verified" || fail "resumed inspect" "$ERR"
export BERTH_ROOT=$TMP/root11
start_proxy bad "$PORT_plain" --corrupt
rrun "$BERTH" pull -q "127.0.0.1:$PPORT_bad/test/busy:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"is corrupt: content hashes to"* ]] && ok "corrupted blob: digest mismatch error" || fail "corrupt" "$RC $ERR"
n=$(find "$BERTH_ROOT/images/blobs/sha256" -type f 2>/dev/null | wc -l)
[ "$n" -le 1 ] && ok "corrupted blob: nothing but the manifest stored" || fail "corrupt stored" "$n"
[ -z "$(find "$BERTH_ROOT/images/blobs/sha256" -name '.tmp*' 2>/dev/null)" ] && ok "corrupted blob: no temp file left" || fail "temp left"

# --- peers push, berth pulls; berth pushes, dockerd pulls and runs ---
if have skopeo; then
	run skopeo copy --dest-tls-verify=false "docker-archive:$TMP/busy.tar" "docker://$R/fromskopeo/busy:1"
	SKD=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$R/fromskopeo/busy:1" 2>/dev/null)
	BERTH_ROOT=$TMP/root13 rrun "$BERTH" pull "$R/fromskopeo/busy:1"
	[ "$RC" = 0 ] && [ -n "$SKD" ] && grep -q "^Digest: $SKD\$" <<<"$OUT" && ok "berth pulls what skopeo pushed (same digest)" || fail "pull skopeo push" "$SKD $OUT $ERR"
fi
DOCKER=/usr/bin/docker
if [ ! -x "$DOCKER" ] || ! have dockerd; then
	skip "dockerd interop" "dockerd or /usr/bin/docker not installed"
elif [ "$(id -u)" != 0 ]; then
	skip "dockerd interop" "needs root to start dockerd"
elif ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
	skip "dockerd interop" "no static busybox"
else
	D=$(mktemp -d /tmp/berth-regd.XXXXXX)   # short path: unix socket length limit
	if ! start_dockerd "$D" --bridge none --iptables=false; then
		skip "dockerd interop" "dockerd did not start: $(tail -3 "$D/dockerd.log")"
	else
		run "$DOCKER" pull "$R/test/busy:1"
		[ "$RC" = 0 ] && [[ "$OUT" == *"$PUSHED"* ]] && ok "docker pull of the image berth pushed (same digest)" || fail "docker pull" "$OUT $ERR"
		run "$DOCKER" run --rm --network none "$R/test/busy:1" /bin/busybox cat /etc/hello
		[ "$OUT" = hi ] && ok "docker runs the image berth pushed" || fail "docker run" "$OUT $ERR"
		"$DOCKER" tag "$R/test/busy:1" "$R/fromdocker/busy:1"
		run "$DOCKER" push "$R/fromdocker/busy:1"
		DD=$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' <<<"$OUT")
		BERTH_ROOT=$TMP/root14 rrun "$BERTH" pull "$R/fromdocker/busy:1"
		[ "$RC" = 0 ] && [ -n "$DD" ] && grep -q "^Digest: $DD\$" <<<"$OUT" && ok "berth pulls what dockerd pushed (same digest)" || fail "pull docker push" "$DD $OUT $ERR"
		unset DOCKER_HOST
	fi
fi

# layers download in parallel: a failure or a retry in one of them
BIGL=$(BERTH_ROOT=$TMP/root1 "$BERTH" inspect --format json big:1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["digest"])')
export BERTH_ROOT=$TMP/root15
start_proxy badl "$PORT_plain" --corrupt "${BIGL#sha256:}"
rrun "$BERTH" pull -q "127.0.0.1:$PPORT_badl/chunk/big:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"layer 1"*"is corrupt"* ]] && ok "parallel pull: the corrupted layer is named" || fail "parallel corrupt" "$RC $ERR"
[ ! -e "$(blob_path "$BIGL")" ] && [ -z "$(find "$BERTH_ROOT/images/blobs/sha256" -name '.tmp*')" ] && ok "parallel pull: corrupted layer not stored, no temp file" || fail "parallel corrupt stored"
start_proxy f503l "$PORT_plain" --fail 3 'GET /v2/chunk/big/blobs/'
export BERTH_ROOT=$TMP/root16
rrun "$BERTH" pull "127.0.0.1:$PPORT_f503l/chunk/big:1"
[ "$RC" = 0 ] && [ "$(grep -c injected "$TMP/f503l.plog")" = 3 ] && [[ "$OUT" == *"Pull complete"*"Pull complete"* ]] && ok "parallel pull: 503s on blobs retried" || fail "parallel retry" "$ERR"

# --- credentials never printed ---
if grep -qF "$PASSWORD" "$ALLOUT"; then fail "password leaked into berth output"; else ok "the password never appears in any output"; fi
TOKENS=$(grep -o 'Bearer [0-9a-f]*' "$TMP"/*.plog 2>/dev/null | head -1)
grep -qi 'bearer [0-9a-f]\{32\}' "$ALLOUT" && fail "token leaked" || ok "no bearer token in any output"
: "$TOKENS"

finish
