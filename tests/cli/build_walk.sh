#!/usr/bin/env bash
# The context walk reads directories ahead of the visit on helper threads
# (builder/bld_context.c): the image must not depend on how many threads
# read, on a descriptor limit that stops them opening directories ahead, or
# on which thread found a remembered digest; a change anywhere is seen.
. "$(dirname "$0")/../lib.sh"

C=$TMP/ctx
mkdir -p "$C"
# 300 directories (wider than the 256 opened ahead), nested ones, links,
# an ignored directory and an ignored file re-included below it
for i in $(seq -w 0 299); do
	mkdir -p "$C/tree/d$i"
	echo "file $i" >"$C/tree/d$i/f.txt"
	echo "more $i" >"$C/tree/d$i/g.txt"
done
for i in 000 150 299; do
	mkdir -p "$C/tree/d$i/sub/deeper"
	echo "deep $i" >"$C/tree/d$i/sub/deeper/h.txt"
	ln -s f.txt "$C/tree/d$i/link"
done
mkdir -p "$C/tree/d100/cache"
echo keep >"$C/tree/d100/cache/keep.txt"
echo drop >"$C/tree/d100/cache/drop.txt"
printf 'tree/*/cache\n!tree/d100/cache/keep.txt\n' >"$C/.dockerignore"
printf 'FROM scratch\nCOPY tree /data\n' >"$C/Dockerfile"
find "$C" -exec touch -h -d '3 seconds ago' {} +

# build ROOT THREADS [ulimit -n]: prints the manifest digest
build() {
	local root=$1 threads=$2 fds=${3:-}
	(
		[ -n "$fds" ] && ulimit -n "$fds"
		BERTH_ROOT=$root BERTH_WALK_THREADS=$threads \
			"$BERTH" build -q --source-date-epoch 1700000000 "$C"
	)
}

d1=$(build "$TMP/r1" 1)
d4=$(build "$TMP/r4" 4)
[ -n "$d1" ] && [ "$d1" = "$d4" ] && ok "one thread or four: the same image" ||
	fail "threads change the image" "$d1 / $d4"

dl=$(build "$TMP/rl" 4 48 2>"$TMP/ulimit.err")
[ "$dl" = "$d1" ] && ok "48 descriptors (helpers cannot open 300 ahead): the same image" ||
	fail "low descriptor limit" "$dl $(cat "$TMP/ulimit.err")"

# the layer holds the re-included file and not the ignored one
run env BERTH_ROOT="$TMP/r4" "$BERTH" save -o "$TMP/img.tar" "$d1"
if [ "$RC" = 0 ]; then
	mkdir -p "$TMP/x" && tar -xf "$TMP/img.tar" -C "$TMP/x"
	layer=$(find "$TMP/x/blobs" -type f -size +1k | head -1)
	list=$(tar -tzf "$layer" 2>/dev/null || tar -tf "$layer")
	[[ "$list" == *data/d100/cache/keep.txt* ]] && [[ "$list" != *drop.txt* ]] &&
		[[ "$list" == *data/d299/sub/deeper/h.txt* ]] && [[ "$list" == *data/d150/link* ]] &&
		ok "the layer has what the walk must visit, and not the ignored file" ||
		fail "layer contents" "$(echo "$list" | head -5)"
else
	fail "save" "$ERR"
fi

# nothing changed: the remembered digests (found by helpers) give the same image
again=$(build "$TMP/r4" 4)
[ "$again" = "$d1" ] && ok "a rebuild with nothing changed: the same image" ||
	fail "cached rebuild" "$again"
run env BERTH_ROOT="$TMP/r4" BERTH_WALK_THREADS=4 "$BERTH" build --progress=plain \
	--source-date-epoch 1700000000 "$C"
[[ "$ERR" == *CACHED* ]] && ok "and the COPY step is CACHED" || fail "not cached" "$ERR"

# one file deep in a directory a helper reads, same size, changed
echo "file 2X7" >"$C/tree/d277/f.txt"
touch -d '2 seconds ago' "$C/tree/d277/f.txt"
changed=$(build "$TMP/r4" 4)
[ -n "$changed" ] && [ "$changed" != "$d1" ] && ok "a same-size edit far down the tree is seen" ||
	fail "edit not seen" "$changed"
fresh=$(build "$TMP/rf" 1)
[ "$fresh" = "$changed" ] && ok "and gives the image a fresh single-threaded build gives" ||
	fail "edited image differs from a fresh build" "$changed / $fresh"

finish
