#!/usr/bin/env bash
# RUN through `berth build` with the linux executor (namespaces + overlayfs),
# on the busybox base of scripts/mk-busybox-base (docs/exec-linux.md):
# layer contents (files, whiteouts, opaque dirs, symlinks, hardlinks), USER
# by name/number/uid:gid with supplementary groups, WORKDIR, ENV/ARG, exec and
# shell forms, SHELL, failures (message, store untouched), cache mounts
# (persistence, sharing=shared|private|locked with two concurrent builds),
# secrets (absent from every blob, decompressed, and from history), ssh
# agent forwarding, networks, and nothing left behind (mounts, processes,
# temporaries, fsck) after success, failure and SIGINT/SIGTERM mid-RUN.
# Needs root (the sandbox's unprivileged mode is tested by tests/unit).
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then skip "linux RUN executor" "not root"; finish; exit $?; fi
if [ ! -x /bin/busybox ]; then skip "linux RUN executor" "/bin/busybox missing"; finish; exit $?; fi
export BERTH_ROOT=$TMP/root
export SOURCE_DATE_EPOCH=1700000000
"$ROOT/scripts/mk-busybox-base" "$TMP" >/dev/null
"$BERTH" import "$TMP/busybox-rootfs.tar" busybox:latest >/dev/null
C=$TMP/ctx
mkdir -p "$C"
if ! printf 'FROM busybox:latest\nRUN true\n' | "$BERTH" build -q -f - "$C" >/dev/null 2>"$TMP/probe"; then
	skip "linux RUN executor" "the sandbox cannot run here: $(tail -1 "$TMP/probe")"
	finish
	exit $?
fi

# layers DIR: "INDEX TYPE UID:GID MODE NAME[ -> LINK]" per entry of each layer
# of the image in the OCI layout DIR (layer 0 is the base)
layers() {
	python3 - "$1" <<'PY'
import json, os, sys, tarfile
d = sys.argv[1]
blob = lambda dg: os.path.join(d, "blobs/sha256", dg.split(":")[1])
idx = json.load(open(os.path.join(d, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
for i, l in enumerate(man["layers"]):
    with tarfile.open(blob(l["digest"])) as t:
        for e in t:
            k = "d" if e.isdir() else "l" if e.issym() else "h" if e.islnk() else "c" if e.ischr() else "f"
            print("%d %s %d:%d %o %s%s" % (i, k, e.uid, e.gid, e.mode, e.name.rstrip("/"),
                  " -> " + e.linkname if e.linkname else ""))
PY
}
waitfor() { # CMD...: poll up to 60 s
	local end=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done; return 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1" <<<"$OUT"; }
# mounts berth made that are still visible from here (the host namespace)
# processes whose command line holds the marker $1
procs_with() { pgrep -f -- "$1" | grep -vx "$$" | wc -l; }
# for waitfor: counted at every poll (a $(procs_with) argument would be
# counted once, before the first poll)
has_procs() { [ "$(procs_with "$1")" -gt 0 ]; }
tmp_left() { find "$BERTH_ROOT/cache/tmp" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
nothing_left() { # NAME MARKER
	local m p t ml
	ml=$(grep -e "$BERTH_ROOT" /proc/self/mountinfo); m=$(grep -c . <<<"$ml"); p=$(procs_with "$2"); t=$(tmp_left)
	if [ "$m" = 0 ] && [ "$p" = 0 ] && [ "$t" = 0 ]; then ok "$1: no mounts, processes or temporaries left"
	else fail "$1: left behind" "mounts=$m processes=$p tmp=$t $ml $(pgrep -af -- "$2")"; fi
	run "$BERTH" fsck
	[ "$RC" = 0 ] && ok "$1: berth fsck is clean" || fail "$1: fsck" "$OUT $ERR"
}

# --- filesystem changes as layer entries ---
cat >"$C/Dockerfile.fs" <<'EOF'
FROM busybox:latest
RUN echo new >/new && echo extra >>/etc/passwd && rm /bin/whoami && mkdir -p /d/sub && echo 1 >/d/sub/f && rm -rf /var
RUN rm -rf /d && mkdir /d && echo 2 >/d/g
RUN ln -s /new /sym && ln /new /hard && mkdir /hl && echo x >/hl/a && ln /hl/a /hl/b && chmod 4750 /hl/a && chown 1000:100 /hl
EOF
run "$BERTH" build -t fs:1 -o "type=oci,dest=$TMP/fs" -f "$C/Dockerfile.fs" "$C"
[ "$RC" = 0 ] && ok "RUN steps build" || fail "RUN fs build" "$ERR"
L=$(layers "$TMP/fs")
has() { grep -qxF -- "$1" <<<"$L"; }
has "1 f 0:0 644 new" && ok "created file in the layer" || fail "created file" "$L"
has "1 f 0:0 644 etc/passwd" && ok "modified file in the layer" || fail "modified file" "$L"
has "1 c 0:0 0 bin/.wh.whoami" || has "1 f 0:0 0 bin/.wh.whoami" && ok "deleted file is a whiteout" || fail "whiteout" "$L"
has "1 f 0:0 0 .wh.var" || has "1 c 0:0 0 .wh.var" && ok "deleted directory is a whiteout" || fail "dir whiteout" "$L"
grep -q '^1 .* bin/busybox$' <<<"$L" && fail "untouched file copied into the layer" "$L" || ok "untouched files stay out of the layer"
grep -Eq '^1 .* (proc|dev|sys|etc/hosts|etc/resolv.conf|etc/hostname)$' <<<"$L" &&
	fail "sandbox mountpoints leaked into the layer" "$L" || ok "no sandbox mountpoints in the layer"
has "2 f 0:0 0 d/.wh..wh..opq" && has "2 f 0:0 644 d/g" && ok "replaced directory is opaque" || fail "opaque" "$L"
grep -q '^2 .* d/sub' <<<"$L" && fail "opaque dir still lists old content" "$L" || ok "opaque layer holds only the new content"
has "3 l 0:0 777 sym -> /new" && ok "symlink" || fail "symlink" "$L"
{ has "3 h 0:0 644 hard -> new" || has "3 h 0:0 644 new -> hard"; } && ok "hardlink to a lower file" || fail "hardlink" "$L"
has "3 h 0:0 4750 hl/b -> hl/a" && ok "hardlink pair with setuid mode" || fail "hardlink pair" "$L"
has "3 d 1000:100 755 hl" && ok "chown in RUN kept in the layer" || fail "chown" "$L"
printf 'FROM fs:1\nRUN cat /hard /hl/b /d/g && test ! -e /d/sub && test ! -e /bin/whoami && test -L /sym && test "$(stat -c %%h /hl/a)" = 2\n' >"$C/Dockerfile.fs2"
run "$BERTH" build -f "$C/Dockerfile.fs2" "$C"
[ "$RC" = 0 ] && [[ "$ERR" == *"#2 new"* ]] && ok "a later build sees the changes (links, deletions)" || fail "fs reuse" "$ERR"

# --- USER, WORKDIR, ENV/ARG, exec and shell forms, SHELL ---
cat >"$C/Dockerfile.user" <<'EOF'
FROM busybox:latest
USER user
RUN id >/tmp/id-name
USER 1000
RUN id >/tmp/id-num
USER 1000:100
RUN id >/tmp/id-ug
USER daemon:users
RUN id >/tmp/id-nameg
USER 4242
RUN id >/tmp/id-unknown; touch /tmp/by-4242
USER root
RUN for f in /tmp/id-*; do echo "$f: $(cat $f)"; done
EOF
run "$BERTH" build -o "type=oci,dest=$TMP/user" -f "$C/Dockerfile.user" "$C"
[ "$RC" = 0 ] && ok "USER builds" || fail "USER build" "$ERR"
line() { grep -o "/tmp/id-$1: .*" <<<"$ERR"; }
[ "$(line name)" = "/tmp/id-name: uid=1000(user) gid=1000(user) groups=100(users)" ] &&
	ok "USER name: uid, gid and supplementary groups from /etc/group" || fail "USER name" "$(line name)"
[ "$(line num)" = "/tmp/id-num: uid=1000(user) gid=1000(user) groups=100(users)" ] &&
	ok "USER number: resolved like the name" || fail "USER number" "$(line num)"
[ "$(line ug)" = "/tmp/id-ug: uid=1000(user) gid=100(users)" ] &&
	ok "USER uid:gid: no supplementary groups" || fail "USER uid:gid" "$(line ug)"
[ "$(line nameg)" = "/tmp/id-nameg: uid=1(daemon) gid=100(users)" ] &&
	ok "USER name:group" || fail "USER name:group" "$(line nameg)"
[ "$(line unknown)" = "/tmp/id-unknown: uid=4242 gid=0(root)" ] &&
	ok "USER unknown number: gid 0" || fail "USER unknown" "$(line unknown)"
L=$(layers "$TMP/user")
grep -qx '1 f 1000:1000 644 tmp/id-name' <<<"$L" && grep -qx '5 f 4242:0 644 tmp/by-4242' <<<"$L" &&
	ok "files owned by the USER in the layer" || fail "USER owners" "$L"
printf 'FROM busybox:latest\nUSER nosuch\nRUN true\n' >"$C/Dockerfile.nouser"
run "$BERTH" build -f "$C/Dockerfile.nouser" "$C"
[ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile.nouser:3:1: error:"*"unable to find user 'nosuch'"* ]] &&
	ok "unknown USER name fails naming the user" || fail "unknown user" "$RC $ERR"

cat >"$C/Dockerfile.env" <<'EOF'
FROM busybox:latest
ARG A=argval
ARG B
ENV E=envval P=/w
WORKDIR $P/$E
RUN echo "$A|$B|$E|$(pwd)" >out1
RUN ["/bin/sh", "-c", "echo exec $A $E >out2"]
RUN ["echo", "$E", "not expanded"]
SHELL ["/bin/echo", "shell:"]
RUN hello world
SHELL ["/bin/sh", "-eu", "-c"]
RUN echo "$0 $-" >out3 && echo "E=$E" && env | sort | grep -E '^(A|B|E|HOME|PATH)=' >out4
WORKDIR rel
RUN pwd >/w/envval/out5
EOF
run "$BERTH" build --build-arg B=cli -o "type=oci,dest=$TMP/env" -f "$C/Dockerfile.env" "$C"
[ "$RC" = 0 ] && ok "ENV/ARG/WORKDIR/SHELL builds" || fail "env build" "$ERR"
mkdir -p "$TMP/envfs"
for l in "$TMP"/env/blobs/sha256/*; do tar -xzf "$l" -C "$TMP/envfs" 2>/dev/null; done
[ "$(cat "$TMP/envfs/w/envval/out1" 2>/dev/null)" = "argval|cli|envval|/w/envval" ] &&
	ok "shell form: ARG (default and --build-arg), ENV and WORKDIR" || fail "shell form env" "$(cat "$TMP/envfs/w/envval/out1")"
[ "$(cat "$TMP/envfs/w/envval/out2" 2>/dev/null)" = "exec argval envval" ] &&
	ok "exec form runs argv with the environment" || fail "exec form" "$(cat "$TMP/envfs/w/envval/out2")"
[[ "$ERR" == *'#'*' $E not expanded'* ]] && ok "exec form: no variable expansion" || fail "exec no expansion" "$ERR"
[[ "$ERR" == *'#'*' shell: hello world'* ]] && ok "SHELL replaces /bin/sh -c for shell form" || fail "SHELL" "$ERR"
o3=$(cat "$TMP/envfs/w/envval/out3" 2>/dev/null)
[[ "$o3" == "/bin/sh "*e* ]] && [[ "$o3" == "/bin/sh "*u* ]] && ok "SHELL flags reach the shell" || fail "SHELL flags" "$(cat "$TMP/envfs/w/envval/out3")"
[ "$(cat "$TMP/envfs/w/envval/out4" 2>/dev/null)" = "A=argval
B=cli
E=envval
HOME=/root
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ] && ok "environment: ARGs, ENV, HOME from passwd, default PATH" ||
	fail "environment" "$(cat "$TMP/envfs/w/envval/out4")"
[ "$(cat "$TMP/envfs/w/envval/out5" 2>/dev/null)" = "/w/envval/rel" ] && ok "relative WORKDIR" || fail "relative WORKDIR"
run "$BERTH" inspect --format json "$(ls "$TMP/env/blobs/sha256" | head -0)" 2>/dev/null
python3 - "$TMP/env" >"$TMP/hist" <<'PY'
import json, os, sys
d = sys.argv[1]
b = lambda dg: os.path.join(d, "blobs/sha256", dg.split(":")[1])
m = json.load(open(b(json.load(open(os.path.join(d, "index.json")))["manifests"][0]["digest"])))
c = json.load(open(b(m["config"]["digest"])))
for h in c["history"]:
    print(h["created_by"])
PY
grep -qxF 'RUN |2 A=argval B=cli /bin/sh -c echo "$A|$B|$E|$(pwd)" >out1 # buildkit' "$TMP/hist" &&
	ok "history names the ARGs of a RUN as BuildKit" || fail "RUN history" "$(cat "$TMP/hist")"

# --- a failing command: message, store and tags untouched ---
printf 'FROM busybox:latest\nRUN echo keep >/keep\n' >"$C/Dockerfile.ok"
"$BERTH" build -q -t keep:1 -f "$C/Dockerfile.ok" "$C" >/dev/null
snap() { (cd "$BERTH_ROOT/images" && find . -type f | sort | xargs sha256sum); }
before=$(snap)
cat >"$C/Dockerfile.fail" <<'EOF'
FROM busybox:latest
RUN echo one >/one
RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "line-$i"; done; echo "to-stderr" >&2; exit 3
RUN echo never
EOF
run "$BERTH" build -t keep:1 -f "$C/Dockerfile.fail" "$C"
[ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile.fail:3:1: error: process \"/bin/sh -c for i in"*"did not complete successfully: exit code: 3"* ]] &&
	ok "failing RUN: file:line, command and exit code" || fail "failing RUN message" "$RC $ERR"
tailmsg=$(sed -n '/last 10 lines of output/,$p' <<<"$ERR")
[[ "$tailmsg" == *"line-4"*"line-12"*"to-stderr"* ]] && [[ "$tailmsg" != *"line-3"$'\n'* ]] &&
	ok "failing RUN: the error repeats the last 10 lines of output" || fail "failing RUN tail" "$ERR"
[[ "$ERR" != *never* ]] && ok "steps after the failure do not run" || fail "ran after failure"
[ "$(snap)" = "$before" ] && ok "failed build: local store and tags untouched" || fail "store changed" "$(diff <(echo "$before") <(snap))"
nothing_left "failure" "line-12"
run "$BERTH" build -q -f "$C/Dockerfile.fail" --progress quiet "$C"
[[ "$ERR" == *"line-12"* ]] && ok "the output tail is in the error even with --progress quiet" || fail "quiet tail" "$ERR"
nothing_left "success" "echo keep"

# --- cache mounts ---
cat >"$C/Dockerfile.cache" <<'EOF'
FROM busybox:latest
RUN --mount=type=cache,target=/var/cache/t sh -c 'echo run >>/var/cache/t/log; echo "runs=$(wc -l </var/cache/t/log)"; touch /made'
EOF
"$BERTH" build --no-cache -o "type=oci,dest=$TMP/c1" -f "$C/Dockerfile.cache" "$C" 2>"$TMP/c1.err"
run "$BERTH" build --no-cache -o "type=oci,dest=$TMP/c2" -f "$C/Dockerfile.cache" "$C"
grep -q 'runs=1' "$TMP/c1.err" && [[ "$ERR" == *"runs=2"* ]] && ok "cache mount persists between builds" || fail "cache persist" "$(cat "$TMP/c1.err") $ERR"
L=$(layers "$TMP/c2")
grep -q 'var/cache' <<<"$L" && fail "cache mount content in the layer" "$L" || ok "cache mount content and mountpoint stay out of the layer"
printf 'FROM busybox:latest\nRUN --mount=type=cache,id=..,target=/c touch /c/x && ls -a /c\n' >"$C/Dockerfile.cacheid"
run "$BERTH" build --no-cache -f "$C/Dockerfile.cacheid" "$C"
[ "$RC" = 0 ] && [ -d "$BERTH_ROOT/cache/blobs" ] && [ ! -e "$BERTH_ROOT/cache/x" ] && [[ "$ERR" != *"#"*" blobs"* ]] &&
	ok "cache id '..' gets its own directory" || fail "cache id escape" "$ERR"
printf 'FROM busybox:latest\nRUN --mount=type=cache,target=/c,uid=1000,gid=100,mode=0770 stat -c "%%u:%%g %%a" /c\n' >"$C/Dockerfile.cacheown"
run "$BERTH" build --no-cache -f "$C/Dockerfile.cacheown" "$C"
[[ "$ERR" == *"#"*" 1000:100 770"* ]] && ok "cache mount uid, gid and mode for a new directory" || fail "cache owner" "$ERR"
printf 'FROM busybox:latest\nRUN --mount=type=cache,target=/c,ro touch /c/x\n' >"$C/Dockerfile.cachero"
run "$BERTH" build --no-cache -f "$C/Dockerfile.cachero" "$C"
[ "$RC" = 1 ] && [[ "$ERR" == *"Read-only file system"* ]] && ok "read-only cache mount" || fail "cache ro" "$ERR"

# sharing modes: build A holds the mount until the test creates /c/go, build
# B runs meanwhile
cachedir() { find "$BERTH_ROOT/cache/mounts" -maxdepth 1 -type d -name "$1-*" ! -name '*.[0-9]*' | head -1; }
for mode in shared private locked; do
	printf 'FROM busybox:latest\nRUN --mount=type=cache,id=s-%s,target=/c,sharing=%s sh -c '"'"'touch /c/a-start; i=0; while [ ! -e /c/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; touch /c/a-end'"'"'\n' "$mode" "$mode" >"$C/Dockerfile.A-$mode"
	printf 'FROM busybox:latest\nRUN --mount=type=cache,id=s-%s,target=/c,sharing=%s sh -c '"'"'echo "B sees:" $(ls /c)'"'"'\n' "$mode" "$mode" >"$C/Dockerfile.B-$mode"
	"$BERTH" build --no-cache -f "$C/Dockerfile.A-$mode" "$C" >"$TMP/A.out" 2>&1 &
	APID=$!
	started() { test -e "$(cachedir "s-$mode")/a-start"; }
	if ! waitfor started; then
		fail "sharing=$mode: build A did not start" "$(cat "$TMP/A.out")"
		kill "$APID"; wait "$APID"
		continue
	fi
	"$BERTH" build --no-cache -f "$C/Dockerfile.B-$mode" "$C" >"$TMP/B.out" 2>&1 &
	BPID=$!
	if [ "$mode" = locked ]; then
		waitfor grep -q "waiting for cache mount 's-locked'" "$TMP/B.out" &&
			ok "sharing=locked: the second build waits" || fail "locked wait" "$(cat "$TMP/B.out")"
	else
		wait "$BPID"
	fi
	touch "$(cachedir "s-$mode")/go"
	wait "$APID"; arc=$?
	wait "$BPID"; brc=$?
	seen=$(sed -n 's/^#[0-9]* \(B sees:.*\)/\1/p' "$TMP/B.out")
	[ "$arc" = 0 ] && [ "$brc" = 0 ] || fail "sharing=$mode builds" "$(cat "$TMP/A.out" "$TMP/B.out")"
	case $mode in
	shared) [ "$seen" = "B sees: a-start" ] && ok "sharing=shared: both builds use the directory at once" || fail "shared" "$seen" ;;
	private) [ "$seen" = "B sees:" ] && [ -n "$(find "$BERTH_ROOT/cache/mounts" -maxdepth 1 -type d -name 's-private-*.1')" ] &&
		ok "sharing=private: a fresh directory while the first is in use" || fail "private" "$seen" ;;
	locked) [ "$seen" = "B sees: a-end a-start go" ] && ok "sharing=locked: the second build runs after the first released it" || fail "locked" "$seen" ;;
	esac
done
run "$BERTH" build --no-cache -f "$C/Dockerfile.B-private" "$C"
[[ "$ERR" == *"B sees: a-end a-start go"* ]] && ok "sharing=private: a free directory is reused" || fail "private reuse" "$ERR"

# --- secrets: never in a blob, decompressed or not, nor in history ---
SECRET="berth-secret-$RANDOM$RANDOM-value"
printf '%s' "$SECRET" >"$TMP/secret.txt"
cat >"$C/Dockerfile.secret" <<'EOF'
FROM busybox:latest
RUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = "$(cat /run/secrets/tok)" && wc -c </run/secrets/tok >/len && ls -l /run/secrets >/listing
RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0440,uid=1000 stat -c '%a %u %s' /etc/tok
RUN --mount=type=secret,id=envtok cat /run/secrets/envtok | wc -c
EOF
run env MY_SECRET_ENV="$SECRET" "$BERTH" build --no-cache -t sec:1 --secret "id=tok,src=$TMP/secret.txt" \
	--secret id=envtok,env=MY_SECRET_ENV -o "type=oci,dest=$TMP/sec" -f "$C/Dockerfile.secret" "$C"
[ "$RC" = 0 ] && [[ "$ERR" == *"#"*" 440 1000 ${#SECRET}"* ]] && ok "secret mount with target, mode and uid" || fail "secret build" "$ERR"
leaks=$(grep -rlaF "$SECRET" "$BERTH_ROOT" "$TMP/sec" | wc -l)
while IFS= read -r f; do
	for cat in zcat zstdcat; do
		if $cat "$f" 2>/dev/null | grep -aqF "$SECRET"; then leaks=$((leaks + 1)); echo "secret in $f ($cat)"; fi
	done
done < <(find "$BERTH_ROOT" "$TMP/sec" -path '*/blobs/sha256/*' -type f)
[ "$leaks" = 0 ] && ok "secret absent from every file and blob (raw, gunzipped, unzstd'ed)" || fail "secret leaked" "$leaks"
run "$BERTH" inspect --format json sec:1
[[ "$OUT" != *"$SECRET"* ]] && [[ "$OUT" == *"--mount=type=secret"* || "$OUT" == *"RUN"* ]] && ok "secret absent from history and config" || fail "secret in inspect" "$OUT"
L=$(layers "$TMP/sec")
grep -Eq 'run/secrets|etc/tok' <<<"$L" && fail "secret mountpoint in the layer" "$L" || ok "secret mountpoints stay out of the layer"

# --- ssh agent forwarding ---
if command -v cc >/dev/null && cc -static -O -o "$C/agentq" -x c - 2>/dev/null <<'EOF'
/* asks the agent at $SSH_AUTH_SOCK for its identities, prints their count */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void)
{
	const char *p = getenv("SSH_AUTH_SOCK");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (!p) { puts("no SSH_AUTH_SOCK"); return 1; }
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) { perror("connect"); return 1; }
	unsigned char q[5] = { 0, 0, 0, 1, 11 }, r[9];
	if (write(fd, q, 5) != 5) return 1;
	size_t n = 0;
	while (n < 9) { ssize_t k = read(fd, r + n, 9 - n); if (k <= 0) return 1; n += (size_t)k; }
	printf("agent-type=%d identities=%u\n", r[4], (unsigned)r[5] << 24 | r[6] << 16 | r[7] << 8 | r[8]);
	return 0;
}
EOF
then
	AGENT_SOCK=$TMP/agent.sock
	want_ids=1
	if command -v ssh-agent >/dev/null && command -v ssh-keygen >/dev/null; then
		ssh-agent -a "$AGENT_SOCK" >"$TMP/agent.env"
		AGENT_PID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$TMP/agent.env")
		ssh-keygen -q -t ed25519 -N '' -f "$TMP/key" >/dev/null
		SSH_AUTH_SOCK=$AGENT_SOCK ssh-add -q "$TMP/key" 2>/dev/null
	else
		# a stand-in agent: answers every request with "0 identities"
		want_ids=0
		python3 - "$AGENT_SOCK" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); c.recv(1024); c.sendall(bytes([0, 0, 0, 5, 12, 0, 0, 0, 0])); c.close()
PY
		AGENT_PID=$!
		waitfor test -S "$AGENT_SOCK"
	fi
	cat >"$C/Dockerfile.ssh" <<'EOF'
FROM busybox:latest
COPY agentq /agentq
RUN --mount=type=ssh echo "sock=$SSH_AUTH_SOCK" && /agentq
RUN --mount=type=ssh,id=other,target=/tmp/agent /agentq && echo "sock2=$SSH_AUTH_SOCK"
EOF
	run env SSH_AUTH_SOCK="$AGENT_SOCK" "$BERTH" build --no-cache -o "type=oci,dest=$TMP/ssh" \
		--ssh default --ssh "other=$AGENT_SOCK" -f "$C/Dockerfile.ssh" "$C"
	[ "$RC" = 0 ] && [[ "$ERR" == *"sock=/run/buildkit/ssh_agent.0"* ]] && [[ "$ERR" == *"identities=$want_ids"* ]] &&
		ok "RUN --mount=type=ssh forwards \$SSH_AUTH_SOCK (--ssh default)" || fail "ssh default" "$ERR"
	[[ "$ERR" == *"sock2=/tmp/agent"* ]] && [ "$(grep -c "identities=$want_ids" <<<"$ERR")" = 2 ] &&
		ok "--ssh ID=SOCKET with a custom target" || fail "ssh id" "$ERR"
	L=$(layers "$TMP/ssh")
	grep -Eq 'run/buildkit|tmp/agent' <<<"$L" && fail "ssh mountpoint in the layer" "$L" || ok "ssh mountpoints stay out of the layer"
	printf 'FROM busybox:latest\nRUN --mount=type=ssh test -z "$SSH_AUTH_SOCK" && echo optional-skipped\n' >"$C/Dockerfile.sshopt"
	run env -u SSH_AUTH_SOCK "$BERTH" build --no-cache -f "$C/Dockerfile.sshopt" "$C"
	[ "$RC" = 0 ] && [[ "$ERR" == *optional-skipped* ]] && ok "an ssh mount without --ssh is skipped" || fail "ssh optional" "$ERR"
	printf 'FROM busybox:latest\nRUN --mount=type=ssh,required true\n' >"$C/Dockerfile.sshreq"
	run "$BERTH" build --no-cache -f "$C/Dockerfile.sshreq" "$C"
	[ "$RC" = 1 ] && [[ "$ERR" == *"ssh agent 'default' is required but was not given"* ]] && ok "a required ssh mount without --ssh fails" || fail "ssh required" "$ERR"
	run "$BERTH" build --no-cache --ssh "default=$TMP/key" -f "$C/Dockerfile.sshopt" "$C"
	[ "$RC" = 1 ] && [[ "$ERR" == *"is not a socket"* ]] && ok "--ssh with a key file is refused with a hint" || fail "ssh key file" "$RC $ERR"
	run env -u SSH_AUTH_SOCK "$BERTH" build --no-cache --ssh default -f "$C/Dockerfile.sshopt" "$C"
	[ "$RC" = 2 ] && [[ "$ERR" == *"SSH_AUTH_SOCK is not set"* ]] && ok "--ssh default without SSH_AUTH_SOCK" || fail "ssh no env" "$RC $ERR"
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
else
	skip "ssh forwarding" "no C compiler with static libc for the in-container agent client"
fi

# --- networks ---
ifaces() { awk -F: 'NR>2 {gsub(/ /,"",$1); print $1}' "$1" | sort | tr '\n' ' '; }
cat >"$C/Dockerfile.net" <<'EOF'
FROM busybox:latest
RUN --network=none echo "none: $(awk -F: 'NR>2 {gsub(/ /,"",$1); print $1}' /proc/net/dev | sort | tr '\n' ' ')"
RUN --network=host echo "host: $(awk -F: 'NR>2 {gsub(/ /,"",$1); print $1}' /proc/net/dev | sort | tr '\n' ' ')"
RUN echo "default: $(awk -F: 'NR>2 {gsub(/ /,"",$1); print $1}' /proc/net/dev | sort | tr '\n' ' ')"
EOF
# busybox awk is an applet, not linked in the base image: use it through busybox
sed -i 's/\$(awk /$(busybox awk /' "$C/Dockerfile.net"
run "$BERTH" build --no-cache -f "$C/Dockerfile.net" "$C"
host=$(ifaces /proc/net/dev)
[[ "$ERR" == *"none: lo "* ]] && ok "--network=none: only lo" || fail "network none" "$ERR"
[[ "$ERR" == *"host: $host"* ]] && ok "--network=host: the host's interfaces" || fail "network host" "$ERR (host: $host)"
[[ "$ERR" == *"default: $host"* ]] && ok "default network: the host's (documented)" || fail "network default" "$ERR"
printf 'FROM busybox:latest\nRUN --network=none cat /etc/hosts /etc/hostname && busybox hostname\n' >"$C/Dockerfile.hosts"
run "$BERTH" build --no-cache -o "type=oci,dest=$TMP/hosts" -f "$C/Dockerfile.hosts" "$C"
[[ "$ERR" == *"127.0.0.1"*"localhost"* ]] && [[ "$ERR" == *"buildkitsandbox"* ]] && ok "/etc/hosts and hostname provided" || fail "hosts" "$ERR"

# --- interrupted builds: SIGINT and SIGTERM mid-RUN ---
for sig in INT TERM; do
	# a duration nothing else uses marks the RUN's process (busybox sh execs
	# the last command, so the shell's own command line is gone)
	dur=9$(printf %05d $RANDOM)
	printf 'FROM busybox:latest\nRUN echo started; sleep %s\nRUN echo never\n' "$dur" >"$C/Dockerfile.sig-$sig"
	"$BERTH" build --no-cache -t sig:1 -f "$C/Dockerfile.sig-$sig" "$C" >"$TMP/sig.out" 2>&1 &
	SPID=$!
	if ! waitfor grep -q '#2 started' "$TMP/sig.out"; then
		fail "SIG$sig: RUN did not start" "$(cat "$TMP/sig.out")"; kill "$SPID"; wait "$SPID"; continue
	fi
	waitfor has_procs "sleep $dur" || fail "SIG$sig: the RUN's process is not visible"
	kill -"$sig" "$SPID"
	wait "$SPID"; src=$?
	want=$([ $sig = INT ] && echo 130 || echo 143)
	[ "$src" = "$want" ] && grep -q "Dockerfile.sig-$sig:2:1: error: build cancelled" "$TMP/sig.out" &&
		ok "SIG$sig mid-RUN: exit $want with a clear message" || fail "SIG$sig exit" "$src $(cat "$TMP/sig.out")"
	grep -q '#[0-9]* never' "$TMP/sig.out" && fail "SIG$sig: later steps ran" || true
	nothing_left "SIG$sig mid-RUN (command)" "sleep $dur"
	nothing_left "SIG$sig mid-RUN (sandbox helper)" "Dockerfile.sig-$sig"
	run "$BERTH" inspect sig:1
	[ "$RC" != 0 ] && ok "SIG$sig: no image tagged" || fail "SIG$sig tagged"
done

finish
