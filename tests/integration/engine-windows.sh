#!/usr/bin/env bash
# Windows stages through an engine, against a fake Windows engine
# (tests/integration/fake_wengine.py: the Engine API subset berth uses on a
# unix socket, /info and /version from testdata/engine/, Windows-format layers
# on commit, every request recorded). No Windows host is needed; what this
# cannot prove is listed in docs/engine.md.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FAKE=$ROOT/tests/integration/fake_wengine.py
FX=$ROOT/testdata/engine
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	skip "fake Windows engine" "/usr/bin/python3 not installed"
	finish
	exit $?
fi

FPID=""
stop_fake() { if [ -n "$FPID" ]; then kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; FPID=""; fi; }
trap 'stop_fake; lib_cleanup' EXIT
start_fake() { # fixture-prefix -> SOCK, LOGD
	stop_fake
	SOCK=$TMP/$1.sock
	LOGD=$TMP/log-$1
	rm -rf "$LOGD"; mkdir -p "$LOGD"
	"$PY" "$FAKE" "$SOCK" "$FX/$1-info.json" "$FX/$1-version.json" "$LOGD" >"$LOGD/ready" 2>"$LOGD/stderr" &
	FPID=$!
	for _ in $(seq 1 600); do [ -s "$LOGD/ready" ] && break; sleep 0.05; done
}
api() { curl -sf --unix-socket "$SOCK" "http://localhost$1"; }
# requests of one kind from the log: method, path regex -> JSON lines
reqs() { "$PY" -c '
import json,re,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["method"]==sys.argv[2] and re.search(sys.argv[3], r["path"]): print(json.dumps(r))' "$LOGD/requests.jsonl" "$1" "$2"; }
nreq() { reqs "$1" "$2" | wc -l; }
leftovers() { # containers, and images without a berth-chain tag
	"$PY" -c '
import json,sys
c=json.loads(sys.argv[1]); i=json.loads(sys.argv[2])
print(len(c), sum(1 for x in i if not any(t.startswith("berth-chain:") for t in (x["RepoTags"] or []))))' \
		"$(api /containers/json?all=1)" "$(api /images/json)"; }
inspect() { "$BERTH" inspect --format json "$1"; }

export BERTH_ROOT=$TMP/root
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS
"$ROOT/scripts/mk-windows-base" "$TMP" >/dev/null
SOURCE_DATE_EPOCH=1700000000 "$BERTH" import --platform windows/amd64 --os-version 10.0.17763.5329 \
	"$TMP/windows-base.tar" berth-test/win:1809 >/dev/null 2>"$TMP/import.err" || fail "import base" "$(cat "$TMP/import.err")"
mkdir -p "$TMP/ctx"
cat >"$TMP/ctx/Dockerfile" <<'EOF'
FROM berth-test/win:1809
WORKDIR C:\app
ENV GREETING=hello
RUN echo %GREETING% > out.txt
RUN powershell -Command "Write-Output nochange"
RUN echo second >> out.txt
EOF
printf 'FROM berth-test/win:1809\nRUN cmd /c exit 3\n' >"$TMP/ctx/Dockerfile.fail"
printf 'FROM berth-test/win:1809\nRUN echo LIE > lie.txt\n' >"$TMP/ctx/Dockerfile.lie"
printf 'FROM berth-test/win:1809\nRUN ping -n 60 localhost & sleep\n' >"$TMP/ctx/Dockerfile.sleep"

# --- a Windows Server 2019 engine, base 17763: process isolation ---
start_fake ws2019
run "$BERTH" build --executor docker --engine "unix://$SOCK" --progress plain -t berth-test/wout:1 "$TMP/ctx"
if [ "$RC" = 0 ]; then ok "Windows build through the engine"; else fail "windows build" "$ERR"; fi
[[ "$ERR" == *"ran: echo %GREETING% > out.txt"* ]] && [[ "$ERR" == *"to-stderr"* ]] &&
	ok "the RUN's output is streamed into progress" || fail "output" "$ERR"

CREATE=$(reqs POST '/containers/create' | sed -n 1p)
"$PY" -c '
import json,sys
b=json.loads(sys.argv[1])["body"]
assert b["Cmd"]==["cmd","/S","/C","echo %GREETING% > out.txt"], b["Cmd"]
assert b["Entrypoint"]==[], b
assert b["WorkingDir"]=="C:\\app", b["WorkingDir"]
assert "GREETING=hello" in b["Env"], b["Env"]
assert b["HostConfig"]["Isolation"]=="process", b["HostConfig"]
assert b["Labels"]["io.berth.engine"]=="build"
' "$CREATE" 2>"$TMP/py.err" && ok "create: Cmd cmd /S /C + shell form, Env, WorkingDir C:\\app, Isolation process" ||
	fail "create body" "$(cat "$TMP/py.err") $CREATE"
[ "$(nreq POST '/containers/create')" = 3 ] && ok "one container per RUN" || fail "creates" "$(nreq POST /containers/create)"

LOADED=$(reqs LOADED . )
"$PY" -c '
import json,sys
ls=[json.loads(l)["body"] for l in sys.argv[1].splitlines()]
assert len(ls)==1, ls
assert len(ls[0]["layers"])==2 and all(ls[0]["windows_format"]), ls
assert ls[0]["tags"][0].startswith("berth-chain:"), ls
' "$LOADED" 2>"$TMP/py.err" && ok "the stage's chain is loaded once as a docker-archive of Windows-format layers, tagged by chain ID" ||
	fail "load" "$(cat "$TMP/py.err") $LOADED"
[ "$(nreq GET '/images/sha256%3A[0-9a-f]+/get$')" = 2 ] && ok "each changing RUN's commit is exported (/images/{id}/get)" || fail "exports" "$(reqs GET /get)"

# the image: the engine's layers byte for byte, with their diff_ids
inspect berth-test/wout:1 >"$TMP/w1.json" 2>"$TMP/py.err"
"$PY" - "$TMP/w1.json" "$LOGD" "$BERTH_ROOT" >"$TMP/py.out" 2>&1 <<'EOF'
import glob,gzip,hashlib,json,os,sys,tarfile,io
d=json.load(open(sys.argv[1])); logd=sys.argv[2]; root=sys.argv[3]
layers=d["layers"]
made=sorted(glob.glob(logd+"/layer-*.tar"))
assert len(made)==2, made
assert len(layers)==4, [l["diffID"] for l in layers]   # base, WORKDIR, 2 RUNs
def blob(dg):
    for p in glob.glob(root+"/**/blobs/sha256/"+dg.split(":")[1], recursive=True):
        return open(p,"rb").read()
    raise SystemExit("no blob "+dg)
want={ "sha256:"+os.path.basename(p)[6:-4]: open(p,"rb").read() for p in made }
got=[l for l in layers if l["diffID"] in want]
assert len(got)==2, "engine layers missing from the image"
for l in got:
    raw=gzip.decompress(blob(l["digest"]))
    assert raw==want[l["diffID"]], "layer %s not byte for byte" % l["diffID"]
    assert "sha256:"+hashlib.sha256(raw).hexdigest()==l["diffID"]
    t=tarfile.open(fileobj=io.BytesIO(raw))
    ms=t.getmembers()
    assert [m.name for m in ms[:2]]==["Hives","Files"], [m.name for m in ms]
    assert all("MSWINDOWS.rawsd" in m.pax_headers for m in ms), "PAX records lost"
# every layer of the image is in Windows layer format
for l in layers:
    t=tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(l["digest"]))))
    n=t.getnames()
    assert all(x.split("/")[0] in ("Files","Hives") for x in n), n
print("ok")
EOF
[ "$(cat "$TMP/py.out")" = ok ] && ok "the engine's layers are in the image byte for byte (Files/ + Hives/, PAX records), diff_id = sha256" ||
	fail "image layers" "$(cat "$TMP/py.out")"
"$PY" -c '
import json,sys
d=json.load(open(sys.argv[1])); sock=sys.argv[2]
assert d["platform"]["os"]=="windows" and d["platform"]["os.version"]=="10.0.17763.5329", d["platform"]
runs=[h for h in d["history"] if h.get("created_by","").startswith("RUN")]
assert len(runs)==3, runs
for h in runs:
    cb=h["created_by"]
    assert "# buildkit; berth RUN on engine unix://%s (Windows Server 2019" % sock in cb, cb
    assert "OS Build 17763.5329" in cb and cb.endswith("isolation process"), cb
assert runs[1].get("empty_layer") is True and not runs[0].get("empty_layer"), runs
' "$TMP/w1.json" "$SOCK" 2>"$TMP/py.err" && ok "os.version carried; history names engine, host build and isolation; a RUN without change is empty_layer" ||
	fail "config/history" "$(cat "$TMP/py.err")"
[ "$(leftovers)" = "0 0" ] && [ "$(nreq DELETE '/containers/[0-9a-f]+\?force=1')" = 3 ] &&
	ok "success: every container deleted, only berth-chain images kept" || fail "cleanup after success" "$(leftovers) $(api /images/json)"

# cache: a second build runs nothing on the engine
N0=$(wc -l <"$LOGD/requests.jsonl")
run "$BERTH" build --executor docker --engine "unix://$SOCK" --progress plain -t berth-test/wout:1 "$TMP/ctx"
[ "$RC" = 0 ] && [ "$(printf '%s\n' "$ERR" | grep -c CACHED)" -ge 3 ] && [ "$(nreq POST /containers/create)" = 3 ] &&
	ok "second build: every RUN from berth's cache" || fail "cache" "$RC $ERR"

# failure: exit code and output, nothing left
run "$BERTH" build --executor docker --engine "unix://$SOCK" --progress plain -f "$TMP/ctx/Dockerfile.fail" -t berth-test/wfail:1 "$TMP/ctx"
[ "$RC" = 1 ] && [[ "$ERR" == *"failing output"* ]] && [[ "$ERR" == *'cmd /S /C cmd /c exit 3'*"exit code: 3"* ]] &&
	ok "a failing RUN fails the build with its exit code and output" || fail "failure" "$RC $ERR"
[ "$(leftovers)" = "0 0" ] && ! inspect berth-test/wfail:1 >/dev/null 2>&1 &&
	[ "$(nreq DELETE '/containers/[0-9a-f]+\?force=1')" = "$(nreq POST /containers/create)" ] &&
	ok "failure: container removed, no commit, no tag" || fail "cleanup after failure" "$(leftovers)"

# a lying engine: the exported layer is not the one it reported
run "$BERTH" build --executor docker --engine "unix://$SOCK" -f "$TMP/ctx/Dockerfile.lie" -t berth-test/wlie:1 "$TMP/ctx"
LIES=$("$PY" -c '
import glob,gzip,sys,tarfile,io
n=0
for p in glob.glob(sys.argv[1]+"/**/blobs/sha256/*", recursive=True):
    b=open(p,"rb").read()
    try: b=gzip.decompress(b)
    except Exception: pass
    if b"not the layer the engine reported" in b: n+=1
print(n)' "$BERTH_ROOT")
[ "$RC" = 1 ] && [[ "$ERR" == *"has no layer with diff_id 'sha256:"* ]] && [ "$LIES" = 0 ] &&
	! inspect berth-test/wlie:1 >/dev/null 2>&1 && [ "$(leftovers)" = "0 0" ] &&
	ok "an export whose layer does not match its diff_id: clear error, nothing stored" || fail "lying engine" "$RC $ERR lies=$LIES $(leftovers)"

# interrupt: SIGINT while the command runs
"$BERTH" build --executor docker --engine "unix://$SOCK" --progress plain -f "$TMP/ctx/Dockerfile.sleep" "$TMP/ctx" \
	>"$TMP/int.out" 2>"$TMP/int.err" &
BPID=$!
for _ in $(seq 1 200); do grep -q started "$TMP/int.err" 2>/dev/null && break; sleep 0.1; done
RUNNING=$(leftovers)
kill -INT "$BPID"
wait "$BPID"; IRC=$?
[ "$RUNNING" = "1 0" ] && [ "$IRC" = 130 ] && grep -q interrupted "$TMP/int.err" && [ "$(leftovers)" = "0 0" ] &&
	[ "$(nreq DELETE '/containers/[0-9a-f]+\?force=1')" = "$(nreq POST /containers/create)" ] &&
	ok "interrupt: the build fails, its container is removed" || fail "interrupt" "running=$RUNNING rc=$IRC $(cat "$TMP/int.err") $(leftovers)"

# berth engine run on the Windows image (the same RUN path, no builder)
run "$BERTH" engine run --engine "unix://$SOCK" --from berth-test/win:1809 --shell-form -w 'C:\app' \
	--output-layer "$TMP/er.tar" -- 'echo from engine run'
ER=$(reqs POST '/containers/create' | tail -1 | "$PY" -c 'import json,sys; b=json.load(sys.stdin)["body"]; print(b["Cmd"], b["WorkingDir"], b["HostConfig"]["Isolation"], b["Labels"]["io.berth.engine"])')
ED=$(printf '%s\n' "$ERR" | sed -n 's/^diff_id: //p')
[ "$RC" = 0 ] && [ "$OUT" = $'ran: echo from engine run\r' ] &&
	[ "$ER" = "['cmd', '/S', '/C', 'echo from engine run'] C:\app process cli" ] &&
	cmp -s "$TMP/er.tar" "$LOGD/layer-${ED#sha256:}.tar" && [ "$(leftovers)" = "0 0" ] &&
	ok "berth engine run on a Windows image: cmd /S /C, C:\ path, process isolation, the layer as the engine made it" ||
	fail "engine run windows" "$RC '$OUT' '$ER' $ERR"

# forcing process isolation where compat blocks it: refused before any request
start_fake ws2022
run "$BERTH" build --executor docker --engine "unix://$SOCK" --isolation process --no-cache "$TMP/ctx"
[ "$RC" != 0 ] && [[ "$ERR" == *"process"* ]] && [ "$(nreq POST .)" = 0 ] &&
	ok "ws2022 host, 17763 base, --isolation process: refused before anything runs" || fail "forced process" "$RC $ERR"

# --- a Windows Server 2022 engine, base 17763: Hyper-V isolation ---
run "$BERTH" build --executor docker --engine "unix://$SOCK" --no-cache -t berth-test/wout:hv "$TMP/ctx"
ISO=$(reqs POST '/containers/create' | sed -n 1p | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["body"]["HostConfig"].get("Isolation"))')
HV=$(inspect berth-test/wout:hv | "$PY" -c 'import json,sys; h=json.load(sys.stdin)["history"]; print(sum(1 for e in h if "Windows Server 2022" in e.get("created_by","") and e["created_by"].endswith("isolation hyperv")))')
[ "$RC" = 0 ] && [ "$ISO" = hyperv ] && [ "$HV" = 3 ] && ok "ws2022 host, 17763 base: compat picks Hyper-V, history says so" || fail "hyperv" "$RC iso=$ISO hv=$HV $ERR"

# --- --executor auto ---
start_fake ws2019
run "$BERTH" build --progress plain --no-cache "$TMP/ctx"
[ "$RC" = 1 ] && [[ "$ERR" == *"no Docker Engine is configured (set DOCKER_HOST or --engine URL)"* ]] &&
	[[ "$ERR" == *"Windows Docker Engine"* ]] && [[ "$ERR" != *"#1 "* ]] && [ ! -s "$LOGD/requests.jsonl" ] &&
	ok "auto without an engine: fails before any work, naming what would run it" || fail "auto none" "$RC $ERR"
run env DOCKER_HOST="unix://$SOCK" "$BERTH" build --no-cache -t berth-test/wout:auto "$TMP/ctx"
[ "$RC" = 0 ] && [ "$(nreq POST /containers/create)" = 3 ] && ok "auto with DOCKER_HOST: the Windows stage runs on the engine" || fail "auto DOCKER_HOST" "$RC $ERR"
run "$BERTH" build --engine "unix://$SOCK" --no-cache "$TMP/ctx"
[ "$RC" = 0 ] && [ "$(nreq POST /containers/create)" = 6 ] && ok "auto with --engine: the Windows stage runs on the engine" || fail "auto --engine" "$RC $ERR"
finish
