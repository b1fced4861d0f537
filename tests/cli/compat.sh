#!/usr/bin/env bash
# berth compat: check, audit, releases, explain (exit codes, messages, JSON fields)
. "$(dirname "$0")/../lib.sh"
D=$ROOT/testdata/compat
DATE=--date=2026-08-20

# --- check: exit codes follow the verdict for the asked mode ---
expect_rc "check ltsc2019 on ws2022 auto runs (hyperv)" 0 \
	"$BERTH" compat check --image mcr.microsoft.com/windows/servercore:ltsc2019 --host ws2022
expect_rc "check ltsc2019 on ws2022 process fails" 1 \
	"$BERTH" compat check --image mcr.microsoft.com/windows/servercore:ltsc2019 --host ws2022 --isolation process
expect_rc "check ltsc2019 on ws2022 hyperv runs" 0 \
	"$BERTH" compat check --image mcr.microsoft.com/windows/servercore:ltsc2019 --host 10.0.20348 --isolation hyperv
expect_rc "newer image never runs" 1 \
	"$BERTH" compat check --image mcr.microsoft.com/windows/servercore:ltsc2022 --host 10.0.17763.5329
expect_rc "ltsc2022 on Windows 11 process" 0 \
	"$BERTH" compat check --image mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-ltsc2022 --host win11-23h2 --isolation process
expect_rc "bare version image" 0 \
	"$BERTH" compat check --image 10.0.26100.1742 --host ws2025 --isolation process

run "$BERTH" compat check --image mcr.microsoft.com/windows/servercore:ltsc2019 --host ws2022 --format json $DATE
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '
	.image.build == 17763 and .image.release == "ws2019" and .host.build == 20348 and
	(.verdicts[] | select(.isolation == "process") | .level == "blocked" and (.source | test("VC-HEAD"))) and
	(.verdicts[] | select(.isolation == "hyperv") | .level == "supported" and .runs) and
	.result.runs == true and
	(.pull[] | select(.runtime == "docker") | .accepts)' >/dev/null; then
	ok "check json fields"; else fail "check json fields" "$OUT"; fi

run "$BERTH" compat check --image mcr.microsoft.com/windows/server:ltsc2022 --host win11-25h2 --format json $DATE
if echo "$OUT" | jq -e '(.pull[] | select(.runtime == "containerd-2.2") | .accepts == false) and
	(.pull[] | select(.runtime == "containerd-main") | .accepts)' >/dev/null; then
	ok "moby#53397 modelled"; else fail "moby#53397 modelled" "$OUT"; fi

run "$BERTH" compat check --image 10.0.17763.973 --host 10.0.17763.1039 --isolation process
expect_match "2B baseline text" "February 2020 baseline" "$OUT"
[ "$RC" = 1 ] && ok "2B baseline exit 1" || fail "2B baseline exit 1" "rc $RC"

run "$BERTH" compat check --image 10.0.14393.3504 --host 10.0.14393.4000 --isolation process --format json
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '.verdicts[0].level == "works-but-unsupported"' >/dev/null; then
	ok "ws2016 revision mismatch unsupported"; else fail "ws2016 revision mismatch unsupported" "$OUT"; fi

run "$BERTH" compat check --image mcr.microsoft.com/windows/servercore:ltsc2022 --host 10.0.30000
[ "$RC" = 1 ] && ok "host newer than KB exits 1" || fail "host newer than KB exits 1" "rc $RC"
expect_match "host newer than KB: unknown" "unknown: host build 30000 is newer" "$OUT"
expect_match "host newer than KB: hint" "--releases FILE" "$OUT"

run "$BERTH" compat check --image mcr.microsoft.com/windows/servercore:latest --host ws2022 --format json
if [ "$RC" = 1 ] && echo "$OUT" | jq -e '.verdicts[0].level == "unknown" and
	(.notes | map(test("2019-04-16")) | any)' >/dev/null; then
	ok "latest tag is unknown"; else fail "latest tag is unknown" "$OUT"; fi

run "$BERTH" compat check --image alpine:3.19 --host ws2022
[ "$RC" = 1 ] && ok "unrecognised tag exits 1" || fail "unrecognised tag exits 1" "rc $RC"
expect_match "unrecognised tag says so" "does not name a Windows release" "$OUT"

run "$BERTH" compat check --image microsoft/windowsservercore:1709 --host 16299
expect_match "retired repo note" "retired Docker Hub repository; use mcr.microsoft.com/windows/servercore" "$OUT"

# --- bad input: exit 2 with a clear message ---
run "$BERTH" compat check --image 10.0.x --host ws2022
[ "$RC" = 2 ] && ok "bad version exit 2" || fail "bad version exit 2" "rc $RC"
expect_match "bad version message" "invalid Windows version '10.0.x'" "$ERR"
run "$BERTH" compat check --image ltsc2022 --host 21H2
[ "$RC" = 2 ] && ok "ambiguous host exit 2" || fail "ambiguous host exit 2" "rc $RC"
expect_match "ambiguous host message" "ambiguous Windows release '21H2'" "$ERR"
run "$BERTH" compat check --image ltsc2022 --host "Windows 12"
expect_match "unknown host message" "unknown Windows release 'Windows 12'" "$ERR"
expect_rc "missing --host" 2 "$BERTH" compat check --image ltsc2022
expect_rc "bad --isolation" 2 "$BERTH" compat check --image ltsc2022 --host ws2022 --isolation vm
expect_rc "bad --format" 2 "$BERTH" compat check --image ltsc2022 --host ws2022 --format yaml
expect_rc "unknown subcommand" 2 "$BERTH" compat frobnicate
expect_rc "no subcommand" 2 "$BERTH" compat
expect_rc "image path missing" 2 "$BERTH" compat check --image ./no/such/layout --host ws2022
expect_rc "help" 0 "$BERTH" compat --help
expect_rc "check help" 0 "$BERTH" compat check --help

# --- image sources: OCI layout and docker-archive, os.version from the config ---
mk_blob() { # dir content -> prints digest hex
	local h; h=$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)
	mkdir -p "$1/blobs/sha256"; printf '%s' "$2" >"$1/blobs/sha256/$h"; echo "$h"
}
L=$TMP/layout
cfg='{"architecture":"amd64","os":"windows","os.version":"10.0.17763.5329","rootfs":{"type":"layers","diff_ids":[]}}'
ch=$(mk_blob "$L" "$cfg")
man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$ch\",\"size\":${#cfg}},\"layers\":[]}"
mh=$(mk_blob "$L" "$man")
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0.17763.5329"}}]}' "$mh" ${#man} >"$L/index.json"
run "$BERTH" compat check --image "$L" --host ws2019 --isolation process --format json
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '.image.os_version == "10.0.17763.5329" and .image.release == "ws2019"' >/dev/null; then
	ok "oci layout os.version"; else fail "oci layout os.version" "$OUT $ERR"; fi
expect_rc "oci layout on ws2022 process" 1 "$BERTH" compat check --image "oci:$L" --host ws2022 --isolation process
( cd "$L" && tar -cf "$TMP/oci.tar" oci-layout index.json blobs )
expect_rc "oci-archive tar" 0 "$BERTH" compat check --image "$TMP/oci.tar" --host 17763 --isolation process

# tampered blob: digest verified
cp -r "$L" "$TMP/bad-layout"
printf '%s' "${cfg/5329/5330}" >"$TMP/bad-layout/blobs/sha256/$ch"
run "$BERTH" compat check --image "$TMP/bad-layout" --host ws2019
[ "$RC" = 1 ] && ok "tampered blob fails" || fail "tampered blob fails" "rc $RC"
expect_match "tampered blob message" "digest mismatch" "$ERR"

# docker-archive (docker save layout)
A=$TMP/darch; mkdir -p "$A"
lcfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
lh=$(printf '%s' "$lcfg" | sha256sum | cut -d' ' -f1)
printf '%s' "$lcfg" >"$A/$lh.json"
printf '[{"Config":"%s.json","RepoTags":["alpine:3.19"],"Layers":[]}]' "$lh" >"$A/manifest.json"
( cd "$A" && tar -cf "$TMP/docker.tar" manifest.json "$lh.json" )
run "$BERTH" compat check --image "$TMP/docker.tar" --host ws2022 --format json
if [ "$RC" = 1 ] && echo "$OUT" | jq -e '.verdicts[0].level == "blocked" and .image.os == "linux"' >/dev/null; then
	ok "linux docker-archive blocked"; else fail "linux docker-archive blocked" "$OUT $ERR"; fi
# a docker-archive's small layers are looked at, not kept: only JSON members
# are (64 MiB of them at most). 20 layers of 4 MB pass; the same bytes as
# JSON members are refused.
B=$TMP/bigarch
mkdir -p "$B"
cp "$A/$lh.json" "$B/"
layers=
for i in $(seq -w 1 20); do
	head -c 4000000 /dev/zero >"$B/layer$i.tar"
	layers="$layers,\"layer$i.tar\""
done
printf '[{"Config":"%s.json","RepoTags":["alpine:3.19"],"Layers":[%s]}]' "$lh" "${layers#,}" >"$B/manifest.json"
( cd "$B" && tar -cf "$TMP/bigarch.tar" manifest.json "$lh.json" layer*.tar )
run "$BERTH" compat check --image "$TMP/bigarch.tar" --host ws2022 --format json
[ "$RC" = 1 ] && echo "$OUT" | jq -e '.image.os == "linux"' >/dev/null &&
	ok "80 MB of small layers in an archive: read past, not kept" || fail "small layers" "$RC $ERR"
for i in $(seq -w 1 20); do
	{ printf '{'; head -c 3999999 /dev/zero | tr '\0' ' '; } >"$B/layer$i.tar"
done
( cd "$B" && tar -cf "$TMP/bigjson.tar" manifest.json "$lh.json" layer*.tar )
run "$BERTH" compat check --image "$TMP/bigjson.tar" --host ws2022
[ "$RC" = 2 ] && [[ "$ERR" == *"bigjson.tar: more than 64 MiB of JSON members"* ]] &&
	ok "more than 64 MiB of JSON in an archive: a bad archive (exit 2)" || fail "json cap" "$RC $ERR"
rm -rf "$B" "$TMP/bigarch.tar" "$TMP/bigjson.tar"
# indexes nested five deep (the limit is four): a bad image, exit 2
DEEP=$TMP/deep
prev=$mh prevsize=${#man}
cp -r "$L" "$DEEP"
for i in 1 2 3 4 5; do
	idx="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"sha256:$prev\",\"size\":$prevsize}]}"
	[ $i = 1 ] && idx=${idx/image.index.v1+json\",\"digest/image.manifest.v1+json\",\"digest}
	prev=$(mk_blob "$DEEP" "$idx") prevsize=${#idx}
done
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%d}]}' "$prev" "$prevsize" >"$DEEP/index.json"
run "$BERTH" compat check --image "$DEEP" --host ws2019
[ "$RC" = 2 ] && [[ "$ERR" == *"indexes nested deeper than 4"* ]] &&
	ok "indexes nested too deep: a bad image (exit 2)" || fail "nested indexes" "$RC $ERR"
printf 'not a tar' >"$TMP/junk.tar"
expect_rc "junk archive exit 2" 2 "$BERTH" compat check --image "$TMP/junk.tar" --host ws2022

# an index with two Windows entries: which one each runtime picks (docker/for-win#13986)
ML=$TMP/mlist
c1='{"architecture":"amd64","os":"windows","os.version":"10.0.17763.5000"}'
c2='{"architecture":"amd64","os":"windows","os.version":"10.0.20348.100"}'
h1=$(mk_blob "$ML" "$c1"); h2=$(mk_blob "$ML" "$c2")
m1="{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:$h1\",\"size\":${#c1}},\"layers\":[]}"
m2="{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:$h2\",\"size\":${#c2}},\"layers\":[]}"
mh1=$(mk_blob "$ML" "$m1"); mh2=$(mk_blob "$ML" "$m2")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0.17763.5000"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0.20348.100"}}]}' \
	"$mh1" ${#m1} "$mh2" ${#m2} >"$ML/index.json"
run "$BERTH" compat check --image "$ML" --host win11-23h2 --format json
if echo "$OUT" | jq -e '
	(.manifest_list_picks[] | select(.runtime == "docker") | .os_version == "10.0.17763.5000") and
	(.manifest_list_picks[] | select(.runtime == "containerd-compat") | .os_version == "10.0.20348.100") and
	(.manifest_list_picks[] | select(.runtime == "containerd-prefix") | .index == null)' >/dev/null; then
	ok "manifest list picks per runtime"; else fail "manifest list picks per runtime" "$OUT"; fi

# a layout whose index.json points at a nested index (what `skopeo copy --all`
# writes for a manifest list): followed to the Windows image, no crash
NL=$TMP/nested
cp -r "$ML" "$NL"
nested=$(cat "$ML/index.json")
nh=$(mk_blob "$NL" "$nested")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%d}]}' \
	"$nh" ${#nested} >"$NL/index.json"
run "$BERTH" compat check --image "$NL" --host ws2019 --isolation process --format json
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '.image.os_version == "10.0.17763.5000"' >/dev/null; then
	ok "nested index followed"; else fail "nested index followed" "rc $RC $OUT $ERR"; fi

# --- releases ---
run "$BERTH" compat releases --json --date 2026-08-20
if [ "$RC" = 0 ] && echo "$OUT" | jq -e '
	(.releases | length) >= 30 and
	(.releases[] | select(.id == "ws2019") | .status == "extended" and .build == 17763 and
	  .baseline_2020_02["2b"] == 1039) and
	(.releases[] | select(.id == "ws2025") | .status == "supported") and
	(.releases[] | select(.id == "ws1903") | .status == "ended") and
	(.releases[] | select(.id == "ws2022") | .images["mcr.microsoft.com/windows/server"] == ["ltsc2022"])' >/dev/null; then
	ok "releases json"; else fail "releases json" "$(echo "$OUT" | head -5)"; fi
run "$BERTH" compat releases --date 2027-01-13
expect_match "ws2016 ended after 2027-01-12" "ws2016 .* ended" "$(echo "$OUT" | grep '^ws2016 ')"
expect_rc "bad --date" 2 "$BERTH" compat releases --date 2026-02-30

# --- knowledge base override ---
jq '(.releases[] | select(.id == "ws2025") | .name) = "Windows Server 2025 (override)"' \
	"$ROOT/compat/releases.json" >"$TMP/kb.json"
run "$BERTH" compat --releases "$TMP/kb.json" releases
expect_match "--releases override" "Windows Server 2025 \\(override\\)" "$OUT"
run env BERTH_RELEASES="$TMP/kb.json" "$BERTH" compat releases --json
expect_match "BERTH_RELEASES override" "override" "$OUT"
printf '{"schema":1,' >"$TMP/broken.json"
run "$BERTH" compat releases --releases "$TMP/broken.json"
[ "$RC" = 2 ] && ok "broken KB exit 2" || fail "broken KB exit 2" "rc $RC"
expect_match "broken KB names the file" "broken.json" "$ERR"

# --- explain ---
run "$BERTH" compat explain 'hcsshim::CreateComputeSystem 5b1: The container operating system does not match the host operating system.'
[ "$RC" = 0 ] && ok "explain exit 0" || fail "explain exit 0" "rc $RC"
expect_match "explain hcs" "HCS_E_IMAGE_MISMATCH" "$OUT"
run "$BERTH" compat explain --format json 'Error response from daemon: no matching manifest for windows/amd64 10.0.17763 in the manifest list entries'
if echo "$OUT" | jq -e '.matches[0].id == "no-manifest-classic" and (.matches[0].detail | test("Windows Server 2019"))' >/dev/null; then
	ok "explain json"; else fail "explain json" "$OUT"; fi
echo 'image operating system "windows" cannot be used on this platform' >"$TMP/msg"
run "$BERTH" compat explain - <"$TMP/msg"
expect_match "explain from stdin" "Linux engine" "$OUT"
expect_rc "explain unknown text exit 1" 1 "$BERTH" compat explain "all good"
expect_rc "explain without text exit 2" 2 "$BERTH" compat explain

finish
