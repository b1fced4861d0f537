#!/usr/bin/env bash
# Registries and engines that lie or stall (issue 10), served by
# tests/integration/lying_peers.py on loopback / a unix socket. Each lie
# must give a clear error naming what is wrong, store nothing unverified
# (no blob, no temp file, no tag), and never hang: stalls must end by
# berth's own timeout (BERTH_REGISTRY_TIMEOUT / BERTH_ENGINE_TIMEOUT, set
# low here), well inside the `timeout` guard around every command.
# The docker-registry suite (registry.sh) covers corrupted blobs through a
# proxy, cut downloads resumed with Range, retries and redirects between
# loopback origins; this suite adds the lies it does not.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/registry-lib.sh"

command -v python3 >/dev/null || { skip "lying peers" "python3 missing"; finish; exit; }
PEERS=$ROOT/tests/integration/lying_peers.py
GUARD=120 # seconds; a command still running then is a hang
export BERTH_REGISTRY_TIMEOUT=3 BERTH_ENGINE_TIMEOUT=3 DOCKER_CONFIG=$TMP/dc
unset DOCKER_HOST DOCKER_AUTH_CONFIG

bg_start lie python3 "$PEERS" registry "$TMP/reg.port" 2>"$TMP/reg.log"
wait_port_file "$TMP/reg.port"
R=127.0.0.1:$(cat "$TMP/reg.port")

store_clean() { # no blob but what an honest pull stores, no temp file, no tag
	local n t
	n=$(find "$BERTH_ROOT/images/blobs/sha256" -type f 2>/dev/null | wc -l)
	t=$(find "$BERTH_ROOT/images" -name '*.tmp-*' -o -name '.tmp-*' 2>/dev/null | wc -l)
	[ "$t" = 0 ] && [ "$n" -le "${1:-1}" ] && ! "$BERTH" inspect "$2" >/dev/null 2>&1
}

pull() { # NAME REF: pull into a fresh store; sets RC/OUT/ERR
	export BERTH_ROOT=$TMP/root-$1
	run timeout "$GUARD" "$BERTH" pull -q --retries 0 "$2"
}

pull ok "$R/ok/img:1"
[ "$RC" = 0 ] && ok "registry: the honest repository pulls" || fail "honest pull" "$RC $ERR"

pull longblob "$R/longblob/img:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"layer 0"* ]] && [[ "$ERR" == *"larger than its descriptor's size"* ]] &&
	ok "registry: a layer longer than its descriptor is refused" || fail "long blob" "$RC $ERR"
store_clean 2 "$R/longblob/img:1" && ok "registry: nothing stored from the long layer" || fail "long blob stored"

pull shortblob "$R/shortblob/img:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"layer 0"* ]] && ok "registry: a layer cut short is an error naming the layer" ||
	fail "short blob" "$RC $ERR"
store_clean 2 "$R/shortblob/img:1" && ok "registry: nothing stored from the cut layer" || fail "short blob stored"

pull bigcl "$R/bigcl/img:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"manifest"* || "$ERR" == *"GET"* ]] &&
	ok "registry: a manifest whose Content-Length lies (1 GiB, closed early) is an error" || fail "big CL" "$RC $ERR"
store_clean 0 "$R/bigcl/img:1" && ok "registry: nothing stored from the lying manifest" || fail "big CL stored"

pull wrongblob "$R/wrongblob/img:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"is corrupt: content hashes to"* ]] &&
	ok "registry: a layer with other bytes is refused (digest)" || fail "wrong blob" "$RC $ERR"
store_clean 2 "$R/wrongblob/img:1" && ok "registry: nothing stored from the wrong layer" || fail "wrong blob stored"

GOOD=$(BERTH_ROOT=$TMP/root-ok "$BERTH" inspect --format json "$R/ok/img:1" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
pull wrongman "$R/wrongman/img@$GOOD"
[ "$RC" = 1 ] && [[ "$ERR" == *"$GOOD"* || "$ERR" == *"digest"* ]] &&
	ok "registry: a manifest by digest with other bytes is refused" || fail "wrong manifest" "$RC $ERR"
store_clean 0 "$R/wrongman/img@$GOOD" && ok "registry: nothing stored from the wrong manifest" || fail "wrong manifest stored"

pull liedigest "$R/liedigest/img:1"
got=$(BERTH_ROOT=$TMP/root-liedigest "$BERTH" inspect --format json "$R/liedigest/img:1" 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])' 2>/dev/null)
if [ "$RC" = 1 ] || [ "$got" = "$GOOD" ]; then
	ok "registry: a lying Docker-Content-Digest is refused or ignored (the digest is the bytes')"
else fail "lying Docker-Content-Digest" "rc $RC, stored as '$got', bytes are '$GOOD'"; fi

pull cfgsize "$R/cfgsize/img:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"larger than its descriptor's size"* ]] && ok "registry: a config larger than its descriptor is refused" ||
	fail "config size" "$RC $ERR"

t0=$(date +%s)
pull stallhead "$R/stallhead/img:1"
t=$(($(date +%s) - t0))
[ "$RC" = 1 ] && [[ "$ERR" == *"stalled"* ]] && ok "registry: no answer to the manifest request -> 'stalled' error (${t}s)" ||
	fail "stalled manifest" "rc $RC (124 = hang) $ERR"

t0=$(date +%s)
pull stallbody "$R/stallbody/img:1"
t=$(($(date +%s) - t0))
[ "$RC" = 1 ] && [[ "$ERR" == *"stalled"* ]] && [[ "$ERR" == *"layer 0"* ]] &&
	ok "registry: a layer that stops mid-body -> 'stalled' error naming the layer (${t}s)" ||
	fail "stalled layer" "rc $RC (124 = hang) $ERR"
store_clean 2 "$R/stallbody/img:1" && ok "registry: nothing stored from the stalled layer" || fail "stalled stored"

pull redirect "$R/redirect/img:1"
[ "$RC" = 1 ] && [[ "$ERR" == *"redirect to '192.0.2.1:5000' refused"* ]] &&
	ok "registry: a loopback registry redirecting to a non-loopback address is refused" ||
	fail "non-loopback redirect" "$RC $ERR"
store_clean 2 "$R/redirect/img:1" && ok "registry: nothing stored after the refused redirect" || fail "redirect stored"

bg_stop lie

# --- engines ---
D=$(mktemp -d /tmp/berth-lie.XXXXXX) # short path: unix socket length limit
cleanup_extra() { rm -rf "$D"; }
engine_info() { # LIE: sets RC/OUT/ERR
	local s=$D/$1-e.sock
	bg_start eng python3 "$PEERS" engine "$s" 2>>"$TMP/eng.log"
	for _ in $(seq 1 100); do [ -S "$s" ] && break; sleep 0.1; done
	run timeout "$GUARD" "$BERTH" engine info --engine "unix://$s"
	bg_stop eng
}
engine_info stall
[ "$RC" = 1 ] && [[ "$ERR" == *"did not answer within 3 s"* ]] && ok "engine: a stalled /version ends with a timeout error" ||
	fail "engine stall" "rc $RC (124 = hang) $ERR"
engine_info short
[ "$RC" = 1 ] && [[ "$ERR" == *"/version"* ]] && ok "engine: a short /version body (Content-Length lies) is an error" ||
	fail "engine short" "$RC $ERR"
engine_info json
[ "$RC" != 0 ] && [ "$RC" != 124 ] && [[ "$ERR" == *"/version"* ]] && ok "engine: a /version that is not JSON is an error naming it" ||
	fail "engine json" "$RC $ERR"
engine_info huge
[ "$RC" = 1 ] && [[ "$ERR" == *"exceeds the limit"* ]] && ok "engine: a 64 MiB /version is refused (size cap)" ||
	fail "engine huge" "$RC $ERR"
run env BERTH_ENGINE_TIMEOUT=soon "$BERTH" engine info --engine "unix://$D/x.sock"
[ "$RC" = 2 ] && [[ "$ERR" == *"BERTH_ENGINE_TIMEOUT"* ]] && ok "engine: a bad BERTH_ENGINE_TIMEOUT is a usage error" ||
	fail "bad engine timeout" "$RC $ERR"
rm -rf "$D"

# --- an engine that stalls in the middle of a build ---
# Every request but the container wait and the attach stream is bounded:
# a stalled API call or commit ends by BERTH_ENGINE_TIMEOUT, a load upload or
# an export body that stops moving by BERTH_ENGINE_STALL_TIMEOUT. The build
# fails naming the request and the limit, and leaves no container, temp dir or
# stored object behind. The fake is tests/integration/fake_wengine.py (a
# Windows engine) with its FAKE_STALL / FAKE_STALL_BODY hooks.
if [ -x /usr/bin/python3 ]; then
	WD=$(mktemp -d /tmp/berth-stall.XXXXXX) # short path: unix socket length limit
	export BERTH_ROOT=$TMP/root-stall BERTH_ENGINE_STALL_TIMEOUT=3
	"$ROOT/scripts/mk-windows-base" "$TMP" >/dev/null
	SOURCE_DATE_EPOCH=1700000000 "$BERTH" import --platform windows/amd64 --os-version 10.0.17763.5329 \
		"$TMP/windows-base.tar" berth-test/win:1809 >/dev/null 2>"$TMP/wimport.err" ||
		fail "import the Windows base" "$(cat "$TMP/wimport.err")"
	mkdir -p "$TMP/wctx"
	printf 'FROM berth-test/win:1809\nRUN echo stalled > out.txt\n' >"$TMP/wctx/Dockerfile"
	# the image store byte for byte, and the build cache's records (the
	# stage's own config may be staged as a cache blob before the RUN)
	store_sum() { (cd "$BERTH_ROOT" && find images cache/blobs/index.json -type f -print0 | sort -z |
		xargs -0 sha256sum | sha256sum); }
	# a first build creates the build cache store; stalled builds must add nothing
	printf 'FROM berth-test/win:1809\nLABEL x=1\n' >"$TMP/wctx/Dockerfile.init"
	"$BERTH" build -q -f "$TMP/wctx/Dockerfile.init" "$TMP/wctx" >/dev/null 2>&1
	BEFORE=$(store_sum)
	stall_build() { # NAME VAR=VALUE: build against a fake engine stalling so; sets RC/ERR, LEFT
		local s=$WD/$1.sock
		mkdir -p "$WD/$1"
		env "$2" /usr/bin/python3 "$ROOT/tests/integration/fake_wengine.py" "$s" \
			"$ROOT/testdata/engine/ws2019-info.json" "$ROOT/testdata/engine/ws2019-version.json" \
			"$WD/$1" >"$WD/$1/ready" 2>>"$TMP/eng.log" &
		local pid=$!
		for _ in $(seq 1 200); do [ -s "$WD/$1/ready" ] && break; sleep 0.05; done
		run timeout "$GUARD" "$BERTH" build --executor docker --engine "unix://$s" -t berth-test/stall:1 "$TMP/wctx"
		# containers the build left in the engine, then temp dirs and
		# whether the store changed
		LEFT="$(curl -s --unix-socket "$s" 'http://localhost/containers/json?all=1') $(ls -A "$BERTH_ROOT/cache/tmp" | wc -l)"
		[ "$(store_sum)" = "$BEFORE" ] || LEFT="$LEFT store-changed"
		"$BERTH" inspect berth-test/stall:1 >/dev/null 2>&1 && LEFT="$LEFT tagged"
		grep -q STALLED "$WD/$1/requests.jsonl" || LEFT="$LEFT never-stalled"
		"$BERTH" fsck >/dev/null 2>&1 || LEFT="$LEFT fsck-unclean"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	}
	for c in "load|POST|/images/load|did not answer within 3 s" \
		"create|POST|^/containers/create|did not answer within 3 s" \
		"start|POST|/start$|did not answer within 3 s" \
		"attach|POST|/attach|did not answer within 3 s" \
		"commit|POST|^/commit|did not answer within 3 s" \
		"export|BODY|/get$|moved no data for 3 s"; do
		IFS='|' read -r name method re want <<<"$c"
		if [ "$method" = BODY ]; then stall_build "$name" "FAKE_STALL_BODY=$re"
		else stall_build "$name" "FAKE_STALL=$method $re"; fi
		[ "$RC" = 1 ] && [[ "$ERR" == *"$want"* ]] && [[ "$ERR" == *"${re//[\^\$]/}"* ]] && [ "$LEFT" = "[] 0" ] &&
			ok "engine: a build whose $name request stalls fails naming it and the limit, leaves nothing" ||
			fail "engine stall: $name" "rc $RC (124 = hang), left '$LEFT': $ERR"
	done
	unset BERTH_ENGINE_STALL_TIMEOUT
	rm -rf "$WD"
else
	skip "engine stalls in a build" "/usr/bin/python3 not installed"
fi

finish
