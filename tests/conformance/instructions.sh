#!/usr/bin/env bash
# Instruction layer vs BuildKit: for every reference/**/Dockerfile.instructions
# run `berth validate --format instructions` on the matching Dockerfile under
# parser/ and compare line by line (one test per reference line: the verdict,
# the error message or the JSON summary must agree). Negative parser cases
# have no .instructions file (they fail in the parser layer).
. "$(dirname "$0")/../lib.sh"

CONF=$SHARED/conformance/buildkit
if [ ! -d "$CONF/reference" ] || [ ! -d "$CONF/parser" ]; then
	skip "instructions conformance" "no $CONF (set BERTH_SHARED)"
	finish
	exit $?
fi

nfiles=0
while IFS= read -r ref; do
	rel=${ref#"$CONF/reference/"}
	rel=${rel%/Dockerfile.instructions}
	df=$CONF/parser/$rel/Dockerfile
	nfiles=$((nfiles + 1))
	if [ ! -f "$df" ]; then
		fail "$rel" "missing $df"
		continue
	fi
	"$BERTH" validate --format instructions "$df" >"$TMP/got" 2>"$TMP/err"
	rc=$?
	# exit status follows the PARSE verdict
	if grep -q $'^PARSE\tok\t' "$ref"; then want_rc=0; else want_rc=2; fi
	if [ "$rc" = "$want_rc" ]; then ok "$rel: exit $rc"; else
		fail "$rel: exit" "got $rc, want $want_rc; $(head -c 300 "$TMP/err")"; fi
	mapfile -t want <"$ref"
	mapfile -t got <"$TMP/got"
	for i in "${!want[@]}"; do
		w=${want[$i]}
		g=${got[$i]-<missing>}
		key=$(printf '%s' "$w" | cut -f1-3)
		if [ "$w" = "$g" ]; then
			ok "$rel: $key"
		else
			# tell verdict mismatches from summary differences
			if [ "$(printf '%s' "$g" | cut -f1-3)" = "$key" ]; then
				fail "$rel: $key" "same verdict, different detail: got '${g:0:200}'"
			else
				fail "$rel: $key" "got '${g:0:200}'"
			fi
		fi
	done
	if [ "${#got[@]}" -gt "${#want[@]}" ]; then
		fail "$rel: extra lines" "${got[${#want[@]}]:0:200}"
	fi
done < <(find "$CONF/reference" -name Dockerfile.instructions | LC_ALL=C sort)

[ "$nfiles" -gt 0 ] || fail "instructions conformance" "no reference files found"
finish
