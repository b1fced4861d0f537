#!/usr/bin/env bash
# berth build: --check-host (compat before any work), the build context from
# stdin (a tar archive in any compression docker accepts, or a Dockerfile),
# -f - with a directory, and COPY --chown in Windows stages.
. "$(dirname "$0")/../lib.sh"

export BERTH_ROOT=$TMP/root
unset SOURCE_DATE_EPOCH
"$ROOT/scripts/mk-windows-base" "$TMP" >/dev/null
for v in 10.0.20348.2966:ltsc2022 10.0.17763.5329:ltsc2019; do
	SOURCE_DATE_EPOCH=1700000000 "$BERTH" import --platform windows/amd64 --os-version "${v%%:*}" \
		-o "oci:$TMP/win-${v##*:}:${v##*:}" "$TMP/windows-base.tar" >/dev/null
done
W22=mcr.microsoft.com/windows/servercore:ltsc2022=oci-layout://$TMP/win-ltsc2022:ltsc2022
W19=mcr.microsoft.com/windows/servercore:ltsc2019=oci-layout://$TMP/win-ltsc2019:ltsc2019
mkdir -p "$TMP/c"
echo hello >"$TMP/c/a.txt"
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS app\nCOPY a.txt C:/app/\n' >"$TMP/c/Dockerfile.22"
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2019\nCOPY a.txt C:/app/\n' >"$TMP/c/Dockerfile.19"

# --- --check-host ---
run "$BERTH" build --build-context "$W22" --check-host ltsc2022 -f "$TMP/c/Dockerfile.22" "$TMP/c"
[ "$RC" = 0 ] && [[ "$ERR" == *"check-host 'ltsc2022' (build 20348, Windows Server 2022): stage 'app' (os.version 10.0.20348.2966) runs with process isolation (supported)"* ]] &&
	ok "--check-host ltsc2022 on a 2022 image passes with a progress line" || fail "check-host pass" "$RC $ERR"
N0=$(ls "$BERTH_ROOT/cache/blobs/blobs/sha256" 2>/dev/null | wc -l)
run "$BERTH" build --build-context "$W22" --check-host 10.0.20348 --check-host 1809 -f "$TMP/c/Dockerfile.22" "$TMP/c"
[ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile.22:1:1: error: --check-host '1809' (build 17763, Windows Server 2019): stage 'app' (base 'mcr.microsoft.com/windows/servercore:ltsc2022', os.version 10.0.20348.2966) cannot run there (blocked in both isolation modes): the image (build 20348) is newer than the host (build 17763)"* ]] &&
	ok "--check-host 1809 on a 2022 image fails with compat's reason at the FROM line" || fail "check-host fail" "$RC $ERR"
[[ "$ERR" == *"it runs with process isolation on Windows Server 2022 (20348)"* ]] &&
	ok "the failure names the hosts that fit" || fail "check-host fit" "$ERR"
[[ "$ERR" != *"COPY"* ]] && [ "$(ls "$BERTH_ROOT/cache/blobs/blobs/sha256" 2>/dev/null | wc -l)" = "$N0" ] &&
	ok "a failed --check-host does no work" || fail "check-host early" "$ERR"
run "$BERTH" build -q --build-context "$W19" --check-host ltsc2022 --check-host 17763 -f "$TMP/c/Dockerfile.19" "$TMP/c"
[ "$RC" = 0 ] && ok "a 2019 image passes on a 2022 host (Hyper-V) and a 2019 host" || fail "check-host hyperv" "$ERR"
run "$BERTH" build --build-context "$W19" --check-host ltsc2022 -f "$TMP/c/Dockerfile.19" "$TMP/c"
expect_match "which isolation works is named" "runs with Hyper-V isolation only \\(supported; process isolation blocked" "$ERR"
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo hi\n' >"$TMP/c/Dockerfile.run"
run "$BERTH" build --build-context "$W22" --check-host ltsc2019 -f "$TMP/c/Dockerfile.run" "$TMP/c"
[ "$RC" = 1 ] && [[ "$ERR" == *"error: --check-host 'ltsc2019'"* ]] &&
	ok "--check-host answers before the executor check" || fail "check-host before executors" "$RC $ERR"
# a Linux stage feeding a Windows target is not checked
printf 'FROM scratch AS files\nCOPY a.txt /a.txt\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY --from=files /a.txt C:/app/\n' >"$TMP/c/Dockerfile.mixed"
run "$BERTH" build --build-context "$W22" --check-host ltsc2022 -f "$TMP/c/Dockerfile.mixed" "$TMP/c"
[ "$RC" = 0 ] && [ "$(grep -c 'check-host' <<<"$ERR")" = 1 ] && ok "linux stages are not checked" || fail "mixed" "$ERR"
printf 'FROM scratch\nCOPY a.txt /\n' >"$TMP/c/Dockerfile.lin"
run "$BERTH" build --check-host ltsc2022 -f "$TMP/c/Dockerfile.lin" "$TMP/c"
[ "$RC" = 2 ] && [[ "$ERR" == *"--check-host checks Windows hosts, but the target stage is linux/"* ]] &&
	ok "--check-host with a linux target is a usage error" || fail "linux target" "$RC $ERR"
run "$BERTH" build --platform windows/amd64 --check-host ltsc2022 -f "$TMP/c/Dockerfile.lin" "$TMP/c"
[ "$RC" = 1 ] && [[ "$ERR" == *"os.version unknown) cannot run there (unknown in both isolation modes)"* ]] &&
	ok "a windows stage without os.version fails as unknown" || fail "unknown" "$RC $ERR"
run "$BERTH" build --build-context "$W22" --check-host win99 -f "$TMP/c/Dockerfile.22" "$TMP/c"
[ "$RC" = 2 ] && [[ "$ERR" == *"invalid --check-host 'win99'"* ]] && ok "bad --check-host is a usage error" || fail "bad host" "$RC $ERR"

# --- context from stdin ---
mkdir -p "$TMP/s/sub"
echo "from the tar" >"$TMP/s/a.txt"
echo "ignored" >"$TMP/s/junk.txt"
printf 'junk.txt\n' >"$TMP/s/.dockerignore"
printf 'FROM scratch\nCOPY a.txt /a.txt\n' >"$TMP/s/Dockerfile"
printf 'FROM scratch\nCOPY a.txt /alt.txt\nCOPY . /all/\n' >"$TMP/s/sub/Alt"
unpack() { # image ref -> file list of the top layer in $TMP/u
	rm -rf "$TMP/u" "$TMP/o"
	"$BERTH" save -o "$TMP/o.tar" "$1" >/dev/null 2>&1 && mkdir -p "$TMP/o" && tar -C "$TMP/o" -xf "$TMP/o.tar" &&
		python3 - "$TMP/o" <<'EOF'
import json, sys, tarfile
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))[0]
for l in m["Layers"]:
    t = tarfile.open(d + "/" + l)
    for e in t:
        print(e.name, (t.extractfile(e).read().decode().strip() if e.isfile() else ""))
EOF
}
D0=
for c in none gzip bzip2 xz zstd; do
	if [ "$c" = none ]; then tar -C "$TMP/s" -cf "$TMP/ctx.tar" .; else tar -C "$TMP/s" -cf - . | $c >"$TMP/ctx.tar"; fi
	run "$BERTH" build -q --source-date-epoch 1700000000 -t "stdin-$c:1" - <"$TMP/ctx.tar"
	if [ "$RC" = 0 ] && [ -n "$OUT" ]; then
		[ -z "$D0" ] && D0=$OUT
		[ "$OUT" = "$D0" ] && ok "stdin context as a tar ($c)" || fail "stdin $c digest" "$OUT vs $D0"
	else
		fail "stdin context ($c)" "$RC $ERR"
	fi
done
L=$(unpack stdin-none:1)
expect_match "the tar's file is copied" '^a\.txt from the tar$' "$L"
tar -C "$TMP/s" -czf "$TMP/ctx.tgz" .
run "$BERTH" build -t stdin-f:1 -f sub/Alt - <"$TMP/ctx.tgz"
L=$(unpack stdin-f:1)
[ "$RC" = 0 ] && [[ "$L" == *"alt.txt from the tar"* ]] && ok "-f names the Dockerfile inside the archive" || fail "-f in tar" "$RC $ERR $L"
[[ "$L" == *"all/a.txt"* ]] && ! grep -q '^all/junk.txt' <<<"$L" && ok ".dockerignore inside the archive applies" || fail "dockerignore in tar" "$L"
run "$BERTH" build -f nope - <"$TMP/ctx.tgz"
[ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile 'nope' not found in the build context from stdin"* ]] && ok "missing -f in the archive" || fail "missing -f" "$RC $ERR"
mkdir -p "$TMP/evil"; ln -s /etc/passwd "$TMP/evil/Dockerfile"; tar -C "$TMP/evil" -cf "$TMP/evil.tar" .
run "$BERTH" build - <"$TMP/evil.tar"
[ "$RC" != 0 ] && [[ "$ERR" == *"leads outside it"* ]] && ok "a Dockerfile symlink out of the archive is refused" || fail "evil dockerfile" "$RC $ERR"
python3 - "$TMP/escape.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
i = tarfile.TarInfo("../../outside.txt"); d = b"x\n"; i.size = len(d); t.addfile(i, io.BytesIO(d))
t.close()
EOF
run "$BERTH" build - <"$TMP/escape.tar"
[ "$RC" != 0 ] && [ ! -e "$TMP/outside.txt" ] && [ ! -e "$BERTH_ROOT/cache/outside.txt" ] &&
	ok "a tar entry escaping the context is refused" || fail "escape tar" "$RC $ERR"
run "$BERTH" build -q - <"$TMP/s/Dockerfile"
[ "$RC" != 0 ] && [[ "$ERR" == *"Dockerfile:2:1: error: COPY 'a.txt': there is no build context (the Dockerfile came from stdin"* ]] &&
	ok "a Dockerfile on stdin: COPY fails clearly" || fail "no context copy" "$RC $ERR"
run "$BERTH" build -q - <<'EOF'
FROM scratch
COPY <<EOT /hello.txt
hi
EOT
EOF
[ "$RC" = 0 ] && ok "a Dockerfile on stdin with a heredoc COPY builds" || fail "heredoc stdin" "$RC $ERR"
run "$BERTH" build -f - - <"$TMP/s/Dockerfile"
[ "$RC" = 2 ] && [[ "$ERR" == *"cannot both come from stdin"* ]] && ok "-f - with context - is a usage error" || fail "both stdin" "$RC $ERR"
run "$BERTH" build -f sub/Alt - <"$TMP/s/Dockerfile"
[ "$RC" = 2 ] && [[ "$ERR" == *"stdin is a Dockerfile, not a tar archive"* ]] && ok "-f with a Dockerfile on stdin" || fail "-f no tar" "$RC $ERR"
[ -z "$(ls -A "$BERTH_ROOT/cache/tmp" 2>/dev/null)" ] && ok "stdin temporaries are removed" || fail "tmp left" "$(ls "$BERTH_ROOT/cache/tmp")"
# -f - with a directory context
run "$BERTH" build -t dash-f:1 -f - "$TMP/s" <"$TMP/s/sub/Alt"
L=$(unpack dash-f:1)
[ "$RC" = 0 ] && [[ "$L" == *"alt.txt from the tar"* ]] && ! grep -q '^all/junk.txt' <<<"$L" &&
	ok "-f - reads the Dockerfile from stdin with a directory context" || fail "-f -" "$RC $ERR $L"

# --- COPY --chown in a windows stage: the owner SID of the entries ---
owners() { # oci dir -> "name owner-sid" of the top layer
	python3 - "$1" <<'EOF'
import base64, json, sys, tarfile
d = sys.argv[1]
i = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + i["manifests"][0]["digest"][7:]))
for e in tarfile.open(d + "/blobs/sha256/" + m["layers"][-1]["digest"][7:]):
    sd = base64.b64decode(e.pax_headers["MSWINDOWS.rawsd"])
    o = int.from_bytes(sd[4:8], "little"); n = sd[o + 1]
    subs = [str(int.from_bytes(sd[o + 8 + 4 * k:o + 12 + 4 * k], "little")) for k in range(n)]
    print(e.name, "S-1-%d-%s" % (int.from_bytes(sd[o + 2:o + 8], "big"), "-".join(subs)))
EOF
}
for u in ContainerUser:S-1-5-93-2-2 containeradministrator:S-1-5-93-2-1 S-1-5-21-1-2-3-1001:S-1-5-21-1-2-3-1001; do
	printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY --chown=%s a.txt C:/app/\n' "${u%%:*}" >"$TMP/c/Dockerfile.chown"
	rm -rf "$TMP/wo"
	run "$BERTH" build --build-context "$W22" -o "type=oci,dest=$TMP/wo" -f "$TMP/c/Dockerfile.chown" "$TMP/c"
	O=$(owners "$TMP/wo" 2>&1)
	[ "$RC" = 0 ] && [[ "$O" == *"Files/app/a.txt ${u#*:}"* ]] && [[ "$O" == *"Files/app ${u#*:}"* ]] &&
		[[ "$O" == *"Files S-1-5-32-544"* ]] && ok "windows --chown=${u%%:*} owns the copied entries" ||
		fail "windows chown ${u%%:*}" "$RC $ERR $O"
done
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY a.txt C:/app/\n' >"$TMP/c/Dockerfile.nochown"
rm -rf "$TMP/wo"; run "$BERTH" build --build-context "$W22" -o "type=oci,dest=$TMP/wo" -f "$TMP/c/Dockerfile.nochown" "$TMP/c"
O=$(owners "$TMP/wo" 2>&1)
[[ "$O" == *"Files/app/a.txt S-1-5-32-544"* ]] && ok "without --chown: BUILTIN\\Administrators" || fail "default owner" "$O"
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY --chown=bob a.txt C:/app/\n' >"$TMP/c/Dockerfile.bob"
run "$BERTH" build --build-context "$W22" -f "$TMP/c/Dockerfile.bob" "$TMP/c"
[ "$RC" = 1 ] && [[ "$ERR" == *"Dockerfile.bob:2:1: error: --chown=bob in a windows stage: berth resolves ContainerAdministrator, ContainerUser and SIDs"* ]] &&
	ok "windows --chown with another name: clear error" || fail "chown bob" "$RC $ERR"
printf 'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY --chown=ContainerUser:Users a.txt C:/app/\n' >"$TMP/c/Dockerfile.ug"
run "$BERTH" build --build-context "$W22" -f "$TMP/c/Dockerfile.ug" "$TMP/c"
[ "$RC" = 2 ] && [[ "$ERR" == *"not user:group"* ]] && ok "windows --chown user:group: clear error" || fail "chown u:g" "$RC $ERR"

finish
