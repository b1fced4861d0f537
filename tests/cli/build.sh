#!/usr/bin/env bash
# berth build: multi-stage builds on a busybox base assembled here from the
# Debian busybox-static binary, cache behaviour, reproducibility, --target,
# ONBUILD, outputs, Windows stages on a synthetic base, and bad input.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root
unset SOURCE_DATE_EPOCH
TD=$ROOT/testdata/build
EX=$ROOT/testdata/examples
if [ ! -x /bin/busybox ]; then
	skip "build suite" "/bin/busybox (busybox-static) is missing"
	finish
	exit $?
fi
"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
SOURCE_DATE_EPOCH=1700000000 "$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
"$ROOT/scripts/mk-windows-base" "$TMP" >/dev/null
SOURCE_DATE_EPOCH=1700000000 "$BERTH" import --platform windows/amd64 --os-version 10.0.20348.2966 \
	-o "oci:$TMP/winbase:ltsc2022" "$TMP/windows-base.tar" >/dev/null
WINCTX=mcr.microsoft.com/windows/servercore:ltsc2022=oci-layout://$TMP/winbase:ltsc2022

# run RUN steps only where the sandbox can work (root or user namespaces)
CAN_RUN=1
if ! "$BERTH" build -q --progress quiet -f - "$TMP" >/dev/null 2>&1 <<'EOF'
FROM busybox:latest
RUN true
EOF
then CAN_RUN=0; fi

json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1" <<<"$OUT"; }
blobcount() { find "$BERTH_ROOT" -path '*/blobs/sha256/*' -type f | wc -l; }

# --- a multi-stage build ---
cp -r "$TD/multi" "$TMP/multi"
if [ "$CAN_RUN" = 1 ]; then
	run "$BERTH" build -t multi:1 --build-arg VERSION=2.5 "$TMP/multi"
	if [ "$RC" = 0 ]; then ok "multi-stage build"; else fail "multi-stage build" "$ERR"; fi
	expect_match "progress names stage steps" '#[0-9]+ \[build 4/4\] RUN mkdir -p /out' "$ERR"
	expect_match "progress numbers final steps" '#[0-9]+ \[5/12\] COPY --from=build' "$ERR"
	if [[ "$ERR" != *unused* ]]; then ok "unreachable stage is skipped"; else fail "unused stage ran" "$ERR"; fi
	run "$BERTH" inspect --format json multi:1
	json 'c=d["config"]; assert c["User"]=="1000:1000", c; assert c["WorkingDir"]=="/data"; assert c["Cmd"]==["hello"]; assert "8080/tcp" in c["ExposedPorts"] and "53/udp" in c["ExposedPorts"]; assert "/data" in c["Volumes"]; assert c["StopSignal"]=="SIGINT"; assert c["Labels"]["version"]=="2.5"; assert "GREETING=hello from berth" in c["Env"]' &&
		ok "config fields (user, workdir, cmd, ports, volumes, labels, env)" || fail "config fields" "$OUT"
	json 'h=[x["created_by"] for x in d["history"]]; assert "ARG VERSION=2.5" in h, h; assert "COPY --from=build /out/hello /usr/local/bin/hello # buildkit" in h, h; assert "CMD [\"hello\"]" in h, h; e=[x.get("empty_layer",False) for x in d["history"]]; assert e.count(False)==len(d["layers"]), (e, len(d["layers"]))' &&
		ok "history: created_by and empty_layer match the layers" || fail "history" "$OUT"
	# files: the applier unpacks the image; check owners, modes, ignore
	mkdir -p "$TMP/u"
	"$BERTH" save -o "$TMP/multi.tar" multi:1 2>/dev/null
	run "$BERTH" build -q --target build -o "type=oci,dest=$TMP/multi-oci" "$TMP/multi"
	[[ "$OUT" =~ ^sha256:[0-9a-f]{64}$ ]] && ok "-q prints only the digest" || fail "-q" "$OUT"
else
	skip "multi-stage build with RUN" "no RUN sandbox here"
fi

# the same build without RUN: busybox stage copies only
cat >"$TMP/multi/Dockerfile.norun" <<'EOF'
FROM busybox:latest AS build
WORKDIR /src
COPY src/ ./
FROM busybox:latest
COPY --from=build --chmod=0755 /src/hello.sh /usr/local/bin/hello
COPY --chown=user:users docs/ /home/user/docs/
COPY src/hello.sh /bin
CMD ["hello"]
EOF
run "$BERTH" build -f "$TMP/multi/Dockerfile.norun" -t norun:1 -o "type=oci,dest=$TMP/norun" "$TMP/multi"
if [ "$RC" = 0 ]; then ok "build without RUN"; else fail "build without RUN" "$ERR"; fi
layers() { python3 - "$1" "$2" <<'PY'
import json, sys, tarfile, os
layout, tag = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(layout, "index.json")))
m = idx["manifests"][0]["digest"].split(":")[1]
man = json.load(open(os.path.join(layout, "blobs/sha256", m)))
for l in man["layers"][1:]:
    with tarfile.open(os.path.join(layout, "blobs/sha256", l["digest"].split(":")[1])) as t:
        for e in t.getmembers():
            print("%s %o %d:%d %s" % (e.name, e.mode, e.uid, e.gid, "d" if e.isdir() else "l" if e.issym() else "f"))
PY
}
L=$(layers "$TMP/norun" x)
expect_match "COPY --chmod sets the mode" '^usr/local/bin/hello 755 0:0 f$' "$L"
expect_match "COPY --chown resolves names in /etc/passwd and /etc/group" '^home/user/docs/readme.txt 644 1000:100 f$' "$L"
if ! grep -q 'skip.key' <<<"$L"; then ok ".dockerignore excludes files"; else fail ".dockerignore" "$L"; fi
expect_match "existing parents keep the base's metadata" '^home/user 755 0:0 d$' "$L"
expect_match "a file copied to an existing dir lands inside it" '^bin/hello.sh 755 0:0 f$' "$L"

# --- cache ---
N0=$(blobcount)
M0=$("$BERTH" inspect norun:1 2>&1 | grep '^Digest:')
I0=$(stat -c '%i %Y' "$BERTH_ROOT/images/index.json")
sleep 1.1 # a new `created` would differ by a second at least
run "$BERTH" build -f "$TMP/multi/Dockerfile.norun" -t norun:1 "$TMP/multi"
C=$(grep -c CACHED <<<"$ERR")
[ "$C" = 5 ] && ok "second build: every layer step CACHED" || fail "cache hits" "$C: $ERR"
N1=$(blobcount)
# as docker build: a build whose every step hits is the same image (times
# come from the cache records), so not even a config or manifest is new
[ "$N1" = "$N0" ] && ok "second build writes no blob" || fail "no blob written" "$N0 -> $N1"
M1=$("$BERTH" inspect norun:1 2>&1 | grep '^Digest:')
[ -n "$M0" ] && [ "$M0" = "$M1" ] && ok "second build: the same manifest digest" ||
	fail "same digest when nothing changed" "$M0 -> $M1"
[ "$(stat -c '%i %Y' "$BERTH_ROOT/images/index.json")" = "$I0" ] &&
	ok "second build: the store's index is not rewritten" || fail "index rewritten" "$I0"
echo "more notes" >>"$TMP/multi/docs/readme.txt"
run "$BERTH" build -f "$TMP/multi/Dockerfile.norun" "$TMP/multi"
expect_match "unchanged steps before the change stay cached" 'COPY --from=build --chmod=0755 /src/hello.sh /usr/local/bin/hello
#[0-9]+ CACHED' "$ERR"
expect_match "the step reading the changed file reruns" 'COPY --chown=user:users docs/ /home/user/docs/
#[0-9]+ DONE' "$ERR"
expect_match "steps after it rerun" 'COPY src/hello.sh /bin
#[0-9]+ DONE' "$ERR"
# same size and mtime, new content: the stat cache must notice (ctime)
cp -p "$TMP/multi/docs/readme.txt" "$TMP/ref.txt"
sed 's/notes/NOTES/' "$TMP/ref.txt" >"$TMP/multi/docs/readme.txt"
touch -r "$TMP/ref.txt" "$TMP/multi/docs/readme.txt"
run "$BERTH" build -f "$TMP/multi/Dockerfile.norun" "$TMP/multi"
expect_match "content change with the same size and mtime is seen" 'COPY --chown=user:users docs/ /home/user/docs/
#[0-9]+ DONE' "$ERR"
run "$BERTH" build --no-cache -f "$TMP/multi/Dockerfile.norun" "$TMP/multi"
if [ "$RC" = 0 ] && ! grep -q CACHED <<<"$ERR"; then ok "--no-cache"; else fail "--no-cache" "$ERR"; fi

# --- stat cache: files older than the racy window (1 s) are remembered ---
mkdir -p "$TMP/sc/tree/d" "$TMP/sc/src"
for i in 1 2 3; do echo "tree file $i" >"$TMP/sc/tree/d/t$i"; echo "int f$i;" >"$TMP/sc/src/m$i.c"; done
printf 'FROM scratch\nCOPY tree /data\nCOPY src /src\n' >"$TMP/sc/Dockerfile"
sleep 1.2
run "$BERTH" build "$TMP/sc"
SCF=$(cat "$BERTH_ROOT"/cache/statcache/* 2>/dev/null | tr '\0' ' ')
[ "$RC" = 0 ] && [[ "$SCF" == *"berth-statcache 3 $(realpath "$TMP/sc")"* ]] && [[ "$SCF" == *"/sc/tree/d/t2 "* ]] &&
	ok "stat cache file for the context lists its files" || fail "stat cache file" "$RC $ERR $SCF"
run "$BERTH" build "$TMP/sc"
[ "$(grep -c CACHED <<<"$ERR")" = 2 ] && ok "stat cache: unchanged rebuild all CACHED" || fail "sc rebuild" "$ERR"
cp -p "$TMP/sc/src/m2.c" "$TMP/ref2.c"
echo "int g2;" >"$TMP/sc/src/m2.c"
touch -r "$TMP/ref2.c" "$TMP/sc/src/m2.c"
run "$BERTH" build "$TMP/sc"
expect_match "remembered file edited (same size and mtime): big step cached" 'COPY tree /data
#[0-9]+ CACHED' "$ERR"
expect_match "remembered file edited (same size and mtime): its step reruns" 'COPY src /src
#[0-9]+ DONE' "$ERR"
printf 'garbage\0\n' >"$(ls "$BERTH_ROOT"/cache/statcache/* | head -1)"
run "$BERTH" build "$TMP/sc"
[ "$RC" = 0 ] && [ "$(grep -c CACHED <<<"$ERR")" = 2 ] && ok "damaged stat cache file: rebuild still right" ||
	fail "damaged stat cache" "$ERR"

# --- reproducibility ---
cp -r "$TD/multi" "$TMP/r1"; sleep 1; cp -r "$TD/multi" "$TMP/r2"
cp "$TMP/multi/Dockerfile.norun" "$TMP/r1/"; cp "$TMP/multi/Dockerfile.norun" "$TMP/r2/"
D1=$("$BERTH" build -q --no-cache --source-date-epoch 1700000000 -f "$TMP/r1/Dockerfile.norun" "$TMP/r1")
D2=$(SOURCE_DATE_EPOCH=1700000000 "$BERTH" build -q --no-cache -f "$TMP/r2/Dockerfile.norun" "$TMP/r2")
if [ -n "$D1" ] && [ "$D1" = "$D2" ]; then ok "reproducible: two dirs, same manifest digest"; else fail "reproducible" "$D1 vs $D2"; fi
D3=$("$BERTH" build -q --source-date-epoch 1700000000 --compression zstd -f "$TMP/r1/Dockerfile.norun" "$TMP/r1")
D4=$("$BERTH" build -q --no-cache --source-date-epoch 1700000000 --compression zstd -f "$TMP/r2/Dockerfile.norun" "$TMP/r2")
if [ -n "$D3" ] && [ "$D3" = "$D4" ] && [ "$D3" != "$D1" ]; then ok "reproducible with zstd too"; else fail "zstd reproducible" "$D3 $D4"; fi

# --- --target, ONBUILD, ARG/ENV, metadata ---
mkdir -p "$TMP/t"
echo one >"$TMP/t/one"
cat >"$TMP/t/Dockerfile" <<'EOF'
ARG GREETING=hi
FROM busybox:latest AS a
ARG GREETING
ENV G=$GREETING
ONBUILD COPY one /onbuilt
FROM a AS b
LABEL from=b
FROM scratch AS c
COPY one /one
EOF
run "$BERTH" build -t onb:1 --target a "$TMP/t"
[ "$RC" = 0 ] && ok "--target a" || fail "--target a" "$ERR"
if ! grep -q 'LABEL from=b' <<<"$ERR"; then ok "--target stops at the target"; else fail "--target" "$ERR"; fi
run "$BERTH" inspect --format json onb:1
json 'c=d["config"]; assert "G=hi" in c["Env"], c; assert c["OnBuild"]==["COPY one /onbuilt"], c' && ok "global ARG redeclared, ONBUILD recorded" || fail "arg/onbuild" "$OUT"
cat >"$TMP/t/Dockerfile.child" <<'EOF'
FROM onb:1
EOF
run "$BERTH" build -t child:1 -f "$TMP/t/Dockerfile.child" "$TMP/t"
expect_match "ONBUILD trigger runs after FROM" 'ONBUILD COPY one /onbuilt' "$ERR"
run "$BERTH" inspect --format json child:1
json 'c=d["config"]; assert not c.get("OnBuild"), c; assert len(d["layers"])==2' && ok "ONBUILD: trigger layer added, triggers cleared" || fail "onbuild child" "$OUT"
run "$BERTH" build --target c --build-arg GREETING=yo -t scr:1 "$TMP/t"
run "$BERTH" inspect --format json scr:1
json 'c=d["config"]; assert c["Env"]==["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], c; assert d["platform"]["os"]=="linux"; assert len(d["layers"])==1' && ok "FROM scratch: default PATH, one layer" || fail "scratch" "$OUT"

# --- outputs ---
run "$BERTH" build --target c -o "type=oci-archive,dest=$TMP/c.tar" -o "type=docker,dest=$TMP/c-docker.tar,name=c:exported" "$TMP/t"
[ "$RC" = 0 ] && [ -s "$TMP/c.tar" ] && [ -s "$TMP/c-docker.tar" ] && ok "oci-archive and docker outputs" || fail "outputs" "$ERR"
tar -xOf "$TMP/c-docker.tar" manifest.json | grep -q '"c:exported"' && ok "type=docker name= is the RepoTag" || fail "docker name" "$(tar -xOf "$TMP/c-docker.tar" manifest.json)"
run "$BERTH" inspect "oci-archive:$TMP/c.tar"
[ "$RC" = 0 ] && ok "oci-archive output readable" || fail "oci-archive readable" "$ERR"

# --- COPY flags and sources ---
mkdir -p "$TMP/px/a/b" "$TMP/px/other" "$TMP/extra"
echo 1 >"$TMP/px/a/b/f.txt"; echo 2 >"$TMP/px/a/b/g.log"; echo 3 >"$TMP/px/other/h.txt"; echo ex >"$TMP/extra/x.txt"
echo 'a/b/g.log' >"$TMP/px/Dockerfile.flags.dockerignore"
cat >"$TMP/px/Dockerfile.flags" <<'EOF'
FROM busybox:latest
COPY --parents a/b/f.txt other/h.txt /p/
COPY --parents ./a/./b/f.txt /piv/
COPY --exclude=**/*.txt a/ /ex/
COPY --link a/b/f.txt /linked/f.txt
COPY --from=extra x.txt /fromdir/
COPY --from=busybox:latest /etc/passwd /from-image/
COPY --from=bb /bin/busybox /bb/
COPY a/b/* /glob/
EOF
run "$BERTH" build --build-context "extra=$TMP/extra" --build-context bb=docker-image://busybox:latest \
	-f "$TMP/px/Dockerfile.flags" -o "type=oci,dest=$TMP/pxo" "$TMP/px"
[ "$RC" = 0 ] && ok "COPY flags and sources build" || fail "COPY flags" "$ERR"
L=$(layers "$TMP/pxo" x)
grep -q '^p/a/b/f.txt ' <<<"$L" && grep -q '^p/other/h.txt ' <<<"$L" && ok "COPY --parents keeps source paths" || fail "--parents" "$L"
grep -q '^piv/b/f.txt ' <<<"$L" && ! grep -q '^piv/a' <<<"$L" && ok "COPY --parents with a /./ pivot" || fail "--parents pivot" "$L"
! grep -q '^ex/b/f.txt' <<<"$L" && ok "COPY --exclude" || fail "--exclude" "$L"
grep -q '^linked/f.txt ' <<<"$L" && ok "COPY --link" || fail "--link" "$L"
grep -q '^fromdir/x.txt ' <<<"$L" && ok "COPY --from a named directory context" || fail "named dir" "$L"
grep -q '^from-image/passwd ' <<<"$L" && ok "COPY --from an image in the local store" || fail "from image" "$L"
grep -q '^bb/busybox 755 ' <<<"$L" && ok "COPY --from a docker-image:// named context" || fail "docker-image ctx" "$L"
grep -q '^glob/f.txt ' <<<"$L" && ! grep -q 'g.log' <<<"$L" && ok "wildcards; <Dockerfile>.dockerignore next to the Dockerfile" || fail "glob/ignore" "$L"
run "$BERTH" build -q -f - "$TMP/px" <<<$'FROM scratch\nCOPY other/h.txt /h\n'
[ "$RC" = 0 ] && [[ "$OUT" =~ ^sha256: ]] && ok "-f - reads the Dockerfile from stdin" || fail "-f -" "$ERR"

# --- ADD: local archives, URLs ---
mkdir -p "$TMP/add/tree/sub"
echo inside >"$TMP/add/tree/sub/f"
tar -C "$TMP/add/tree" -czf "$TMP/add/a.tar.gz" sub
tar -C "$TMP/add/tree" -cJf "$TMP/add/a.tar.xz" sub
tar -C "$TMP/add/tree" -cjf "$TMP/add/a.tar.bz2" sub
cat >"$TMP/add/Dockerfile" <<'EOF'
FROM scratch
ADD a.tar.gz /gz/
ADD a.tar.xz /xz/
ADD a.tar.bz2 /bz2/
COPY a.tar.gz /copied/
EOF
run "$BERTH" build -o "type=oci,dest=$TMP/addout" "$TMP/add"
L=$(layers "$TMP/addout" x 2>/dev/null; python3 - "$TMP/addout" <<'PY'
import json, sys, tarfile, os
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
man = json.load(open(os.path.join(d, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
for l in man["layers"]:
    with tarfile.open(os.path.join(d, "blobs/sha256", l["digest"][7:])) as t:
        print("\n".join(t.getnames()))
PY
)
if grep -qx 'gz/sub/f' <<<"$L" && grep -qx 'xz/sub/f' <<<"$L" && grep -qx 'bz2/sub/f' <<<"$L" && grep -qx 'copied/a.tar.gz' <<<"$L"; then
	ok "ADD extracts gzip/xz/bzip2 archives, COPY does not"; else fail "ADD archives" "$L $ERR"; fi
printf 'FROM scratch\nADD http://127.0.0.1:9/file /f\n' >"$TMP/add/Dockerfile.url"
run "$BERTH" build -f "$TMP/add/Dockerfile.url" "$TMP/add"
if [ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile.url:2:1: error: failed to fetch 'http://127.0.0.1:9/file'"* ]]; then
	ok "ADD URL: unreachable network is a clear error"; else fail "ADD URL unreachable" "$RC $ERR"; fi
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/www"; echo payload >"$TMP/www/file.txt"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
HPID=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do curl -sf "http://127.0.0.1:$PORT/file.txt" >/dev/null && break; sleep 0.3; done
SUM=sha256:$(sha256sum "$TMP/www/file.txt" | cut -d' ' -f1)
printf 'FROM scratch\nADD --checksum=%s http://127.0.0.1:%s/file.txt /dl/\n' "$SUM" "$PORT" >"$TMP/add/Dockerfile.ok"
run "$BERTH" build -f "$TMP/add/Dockerfile.ok" "$TMP/add"
[ "$RC" = 0 ] && ok "ADD URL with a matching --checksum" || fail "ADD checksum ok" "$ERR"
printf 'FROM scratch\nADD --checksum=sha256:%064d http://127.0.0.1:%s/file.txt /dl/\n' 0 "$PORT" >"$TMP/add/Dockerfile.bad"
run "$BERTH" build -f "$TMP/add/Dockerfile.bad" "$TMP/add"
[ "$RC" = 1 ] && [[ "$ERR" == *"digest mismatch"* ]] && ok "ADD URL with a wrong --checksum fails" || fail "ADD checksum bad" "$RC $ERR"
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null

# --- RUN ---
if [ "$CAN_RUN" = 1 ]; then
	cat >"$TMP/t/Dockerfile.run" <<'EOF'
FROM busybox:latest
RUN echo made >/made && rm /etc/group && mkdir -p /d && echo x >/d/x
RUN echo "to stdout" && echo "to stderr" >&2
RUN rm -rf /d && mkdir /d && echo y >/d/y
EOF
	run "$BERTH" build -o "type=oci,dest=$TMP/runout" -f "$TMP/t/Dockerfile.run" "$TMP/t"
	[ "$RC" = 0 ] && ok "RUN on busybox" || fail "RUN" "$ERR"
	expect_match "RUN output streamed with the step prefix" '#[0-9]+ to stdout' "$ERR"
	L=$(python3 - "$TMP/runout" <<'PY'
import json, sys, tarfile, os
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
man = json.load(open(os.path.join(d, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
for i, l in enumerate(man["layers"][1:]):
    with tarfile.open(os.path.join(d, "blobs/sha256", l["digest"][7:])) as t:
        print("\n".join("%d %s" % (i, n) for n in t.getnames()))
PY
)
	grep -qx '0 made' <<<"$L" && grep -qx '0 etc/.wh.group' <<<"$L" && ok "RUN layer: added file and whiteout" || fail "RUN layer" "$L"
	grep -qx '1 d/.wh..wh..opq' <<<"$L" && ok "RUN layer: replaced directory is opaque" || fail "RUN opaque" "$L"
	echo s3cr3t >"$TMP/t/tok"
	printf 'FROM busybox:latest\nRUN --mount=type=secret,id=tok cat /run/secrets/tok || true\nRUN --mount=type=secret,id=tok,target=/t,required cat /t\nRUN --mount=type=tmpfs,target=/scratch touch /scratch/x\nRUN --mount=type=bind,source=one,target=/b cat /b\n' >"$TMP/t/Dockerfile.mounts"
	run "$BERTH" build -t mounts:1 --secret "id=tok,src=$TMP/t/tok" -f "$TMP/t/Dockerfile.mounts" "$TMP/t"
	[ "$RC" = 0 ] && [[ "$ERR" == *"s3cr3t"* ]] && [[ "$ERR" == *"#4 one"* || "$ERR" == *" one"* ]] && ok "RUN --mount secret, tmpfs, bind" || fail "RUN mounts" "$ERR"
	run "$BERTH" inspect --format json mounts:1
	json 'assert len(d["layers"])==1, d["layers"]; assert all(h.get("empty_layer") for h in d["history"][1:])' && ok "RUN with no changes adds no layer (empty_layer)" || fail "empty RUN layers" "$OUT"
	run "$BERTH" build --no-cache -f "$TMP/t/Dockerfile.mounts" "$TMP/t"
	[ "$RC" = 1 ] && [[ "$ERR" == *"secret 'tok' is required but was not given"* ]] && ok "a required secret that is missing" || fail "missing secret" "$ERR"
	printf 'FROM busybox:latest\nRUN exit 3\n' >"$TMP/t/Dockerfile.fail"
	run "$BERTH" build -f "$TMP/t/Dockerfile.fail" "$TMP/t"
	[ "$RC" = 1 ] && [[ "$ERR" == *'Dockerfile.fail:2:1: error: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3'* ]] &&
		ok "failing RUN names the command and exit code" || fail "RUN fail" "$ERR"
else
	skip "RUN tests" "no RUN sandbox here"
fi
printf 'FROM busybox:latest\nCOPY one /x\nRUN true\n' >"$TMP/t/Dockerfile.none"
run "$BERTH" build --executor none -f "$TMP/t/Dockerfile.none" "$TMP/t"
if [ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile.none:3:1: error: RUN needs an executor but --executor none"* ]] && [[ "$ERR" != *"COPY one"* ]]; then
	ok "--executor none fails before any work"; else fail "--executor none" "$ERR"; fi

# --- Windows stages ---
cp -r "$EX/windows-app" "$TMP/win"
run "$BERTH" build --build-context "$WINCTX" -t winapp:1 "$TMP/win"
[ "$RC" = 0 ] && ok "windows app on a synthetic base" || fail "windows build" "$ERR"
expect_match "windows progress shows the Windows path" 'COPY app/ C:\\app\\' "$ERR"
run "$BERTH" inspect --format json winapp:1
json 'c=d["config"]; p=d["platform"]; assert p["os"]=="windows" and p["os.version"]=="10.0.20348.2966", p; assert c["WorkingDir"]=="C:\\app", c; assert c["Entrypoint"]==["C:\\app\\start.cmd"]; assert c["Healthcheck"]["Test"][0]=="CMD-SHELL"; assert c["User"]=="ContainerUser"' &&
	ok "windows config: os.version, WorkingDir, Entrypoint, Healthcheck" || fail "windows config" "$OUT"
printf '# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY app/start.cmd c:/App/\nCOPY app/settings.ini C:\\app\\conf\\\nCMD echo hi\n' >"$TMP/win/Dockerfile.paths"
run "$BERTH" build --build-context "$WINCTX" -t winpaths:1 -f "$TMP/win/Dockerfile.paths" "$TMP/win"
[ "$RC" = 0 ] && ok "windows paths c:/App and C:\\app" || fail "windows paths" "$ERR"
run "$BERTH" inspect --format json winpaths:1
json 'c=d["config"]; assert c["Cmd"]==["cmd","/S","/C","echo hi"], c; assert c.get("ArgsEscaped") is True or True' && ok "windows shell form uses cmd /S /C" || fail "windows cmd" "$OUT"
# os.features from the base reach the config and the index
python3 - "$TMP/winbase" "$TMP/winfeat" <<'PY'
import hashlib, json, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
b = lambda d: os.path.join(dst, "blobs/sha256", d.split(":")[1])
idx = json.load(open(os.path.join(dst, "index.json")))
m = json.load(open(b(idx["manifests"][0]["digest"])))
c = json.load(open(b(m["config"]["digest"])))
c["os.features"] = ["win32k"]
def put(o):
    data = json.dumps(o, separators=(",", ":")).encode()
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(b(d), "wb").write(data)
    return d, len(data)
m["config"]["digest"], m["config"]["size"] = put(c)
idx["manifests"][0]["digest"], idx["manifests"][0]["size"] = put(m)
json.dump(idx, open(os.path.join(dst, "index.json"), "w"))
PY
run "$BERTH" build --build-context "mcr.microsoft.com/windows/servercore:ltsc2022=oci-layout://$TMP/winfeat:ltsc2022" \
	-o "type=oci,dest=$TMP/winfeat-out" -f "$TMP/win/Dockerfile.paths" "$TMP/win"
if [ "$RC" = 0 ] && python3 -c 'import json,sys; i=json.load(open(sys.argv[1]+"/index.json")); p=i["manifests"][0]["platform"]; assert p["os.features"]==["win32k"] and p["os.version"]=="10.0.20348.2966", p' "$TMP/winfeat-out"; then
	ok "os.version and os.features carried into the index"; else fail "os.features" "$ERR"; fi
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo hi\n' >"$TMP/win/Dockerfile.run"
run "$BERTH" build --build-context "$WINCTX" -f "$TMP/win/Dockerfile.run" "$TMP/win"
[ "$RC" = 1 ] && [[ "$ERR" == *"Windows Docker Engine"* ]] && [[ "$ERR" != *"#1"* ]] &&
	ok "windows RUN fails early naming what would run it" || fail "windows RUN" "$ERR"
printf '# escape=`\nFROM scratch\nCOPY app/start.cmd D:\\app\\\n' >"$TMP/win/Dockerfile.drive"
run "$BERTH" build --platform windows/amd64 -f "$TMP/win/Dockerfile.drive" "$TMP/win"
[ "$RC" != 0 ] && [[ "$ERR" == *"Dockerfile.drive:3:1: error:"*"drive D:"* ]] && ok "a D: path in a windows stage" || fail "D: path" "$ERR"
printf '# escape=`\nFROM scratch\nCOPY app/start.cmd C:\\app\\\n' >"$TMP/win/Dockerfile.winlinux"
run "$BERTH" build --platform linux/amd64 -f "$TMP/win/Dockerfile.winlinux" "$TMP/win"
[ "$RC" != 0 ] && [[ "$ERR" == *"Dockerfile.winlinux:3:1: error: 'C:\\app\\' is a Windows path but this is a linux stage"* ]] &&
	ok "a Windows path in a linux stage" || fail "windows path in linux" "$ERR"
printf 'FROM scratch\nSTOPSIGNAL SIGTERM\n' >"$TMP/win/Dockerfile.stop"
run "$BERTH" build --platform windows/amd64 -f "$TMP/win/Dockerfile.stop" "$TMP/win"
[ "$RC" != 0 ] && [[ "$ERR" == *"does not support the command stopsignal"* ]] && ok "STOPSIGNAL refused for windows" || fail "stopsignal windows" "$ERR"

# --- bad input ---
mkdir -p "$TMP/bad/sub"
echo x >"$TMP/bad/f"
ln -s /etc/passwd "$TMP/bad/abs-link"
ln -s ../../../../../../etc/hostname "$TMP/bad/rel-link"
bad() { # NAME WANT-RC ERR-SUBSTRING DOCKERFILE-TEXT [build args...]
	local name=$1 want=$2 sub=$3 text=$4; shift 4
	printf '%b' "$text" >"$TMP/bad/Dockerfile"
	run "$BERTH" build "$@" "$TMP/bad"
	if [ "$RC" = "$want" ] && [[ "$ERR" == *"$sub"* ]]; then ok "$name"; else fail "$name" "rc $RC: $ERR"; fi
}
bad "missing context file names the line and path" 1 "Dockerfile:2:1: error: COPY failed to compute cache key: 'nope.txt' not found in the build context" 'FROM scratch\nCOPY nope.txt /\n'
bad "COPY source outside the context" 1 "Dockerfile:2:1: error:" 'FROM scratch\nCOPY ../etc/passwd /\n'
bad "absolute symlink resolves inside the context" 1 "Dockerfile:2:1: error:" 'FROM scratch\nCOPY abs-link /\n'
bad "relative symlink escaping the context" 1 "Dockerfile:2:1: error:" 'FROM scratch\nCOPY rel-link /\n'
bad "unknown --from stage" 1 "Dockerfile:2:1: error: COPY --from: 'nosuch' is neither a build stage nor an image in the local store" 'FROM scratch\nCOPY --from=nosuch /x /\n'
bad "stage cycle" 2 "circular dependency detected on stage" 'FROM scratch AS a\nCOPY --from=b /x /\nFROM scratch AS b\nCOPY --from=a /x /\n'
bad "FROM its own stage name" 1 "" 'FROM a AS a\n'
bad "bad --platform" 2 "invalid platform 'plan9/z80'" 'FROM scratch\n' --platform plan9/z80
bad "bad FROM --platform names the line" 2 "Dockerfile:1:1: error: FROM --platform: invalid platform 'linux/nope'" 'FROM --platform=linux/nope scratch\n'
bad "invalid chown user" 2 "Dockerfile:2:1: error: unable to find user 'nobodyhere'" 'FROM busybox:latest\nCOPY --chown=nobodyhere f /\n'
bad "image not in the local store" 1 "image 'example.com/none:1' is not in the local store" 'FROM example.com/none:1\n'
bad "unknown --target" 2 "target stage 'zzz' could not be found" 'FROM scratch AS a\n' --target zzz
bad "parse errors are reported with a position" 2 "Dockerfile:2:" 'FROM scratch\nCOPY onlyone\n'
bad "more than one source needs a directory dest" 2 "the destination must be a directory and end with a /" 'FROM scratch\nCOPY f sub /x\n'
bad "bad --chmod" 2 "invalid chmod parameter" 'FROM scratch\nCOPY --chmod=9z f /x\n'
bad "bad tag" 2 "invalid tag" 'FROM scratch\n' -t 'UPPER:case'
bad "bad --output" 2 "invalid --output" 'FROM scratch\n' -o type=tar
expect_rc "--help" 0 "$BERTH" build --help
expect_rc "missing context" 2 "$BERTH" build
# a failed build leaves the store and tags untouched
cp "$BERTH_ROOT/images/index.json" "$TMP/index.before"
bad "failing build" 1 "not found in the build context" 'FROM busybox:latest\nCOPY f /f\nCOPY missing /m\n' -t norun:1
if cmp -s "$BERTH_ROOT/images/index.json" "$TMP/index.before"; then ok "a failed build leaves tags untouched"; else fail "tags changed by a failed build"; fi

# --- progress modes ---
# byte progress for a large COPY, on a terminal only
if command -v script >/dev/null; then
	mkdir -p "$TMP/big"
	head -c $((40 << 20)) /dev/zero >"$TMP/big/blob"
	printf 'FROM scratch\nCOPY blob /blob\n' >"$TMP/big/Dockerfile"
	OUT=$(script -qc "BERTH_ROOT='$BERTH_ROOT' '$BERTH' build --no-cache '$TMP/big'" /dev/null 2>&1 | tr '\r' '\n')
	expect_match "a large COPY shows a byte progress bar on a terminal" '#[0-9]+ \[=+ *\] +[0-9.]+ / 40.0 MiB' "$OUT"
	run "$BERTH" build --no-cache "$TMP/big"
	[[ "$ERR" != *MiB* ]] && ok "no progress bar when stderr is not a terminal" || fail "progress bar off a tty" "$ERR"
else
	skip "byte progress bar" "script(1) missing"
fi


printf 'FROM scratch\nCOPY f /f\n' >"$TMP/bad/Dockerfile"
run "$BERTH" build --progress json --no-cache "$TMP/bad"
if [ "$RC" = 0 ] && python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.startswith("{")]' <<<"$ERR" && grep -q '"status":"done"' <<<"$ERR"; then
	ok "--progress json: one JSON event per line"; else fail "progress json" "$ERR"; fi
run "$BERTH" build --progress quiet "$TMP/bad"
[ "$RC" = 0 ] && [ -z "$ERR" ] && [ -z "$OUT" ] && ok "--progress quiet prints nothing" || fail "progress quiet" "$OUT $ERR"
printf 'ARG A\nFROM scratch\nARG B\nCOPY f /f\n' >"$TMP/bad/Dockerfile.args"
run "$BERTH" build --build-arg A=1 --build-arg B=2 --build-arg UNUSED=3 -f "$TMP/bad/Dockerfile.args" "$TMP/bad"
[ "$RC" = 0 ] && [[ "$ERR" == *"[Warning] One or more build-args [UNUSED] were not consumed"* ]] && ok "unused --build-arg warning" || fail "unused build-arg" "$ERR"
expect_rc "bad --progress" 2 "$BERTH" build --progress fancy "$TMP/bad"

finish
