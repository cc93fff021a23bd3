#!/usr/bin/env bash
# Crash safety (issue 9): a write killed (SIGKILL) at 20 random points, to a
# multi-tape media set and while appending; after each, a fresh
# installation catalogs the tapes: every set that finished restores
# byte-exact, every file the killed job finished is byte-exact, and the
# next write on the first installation appends.
. "$(dirname "$0")/lib.sh"
ROUNDS=${TV_CRASH_ROUNDS:-20}
A=$WORK/a
new_home a lib 60 || exit 1
mkdir -p src/d1 src/d2
head -c 9000000 /dev/urandom > src/d1/big
for i in $(seq 1 60); do head -c $((5000 + i * 331)) /dev/urandom > src/d2/f$i; done
tapes=""; for i in $(seq -w 1 50); do tapes="$tapes VT00${i}L9"; done
tv "$A" tape new lib $tapes --capacity 4M
tv "$A" pool create p --library lib
A_FPR=$(writer_fpr "$A")
t0=$(date +%s%N)
tv "$A" write p src --name base;       expect_rc 0 "a first, complete set"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))   # how long a write takes here
[ "$ms" -gt 20 ] || ms=20
done_sets="base"
RANDOM=4242   # the same points every run
for round in $(seq 1 "$ROUNDS"); do
	delay=$(( RANDOM % ms + 5 ))   # ms: somewhere in a write
	"$T" --home "$A" -q write p src --name "cut$round" >/dev/null 2>"$WORK/crash.err" &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then state=killed; else state=finished; fi
	wait "$pid" 2>/dev/null; wrc=$?
	[ "$state" = finished ] && [ "$wrc" -eq 0 ] && done_sets="$done_sets cut$round"
	# a fresh installation reads the tapes
	B=$WORK/b$round
	"$T" --home "$B" -q init || { fail "round $round: init"; continue; }
	tv "$B" library attach lib --path "$WORK/a-lib"
	tv "$B" catalog lib --trust-writer "$A_FPR"   # A's tapes: A's identity
	if [ "$RC" -ne 0 ]; then fail "round $round ($state after ${delay} ms): catalog exit $RC"; continue; fi
	bad=0
	for s in $done_sets; do
		tv "$B" restore "$s" --to "$WORK/r$round-$s"
		if [ "$RC" -ne 0 ] || ! same_tree src "$WORK/r$round-$s/$S/src" >/dev/null; then
			bad=1; fail "round $round: complete set $s does not restore whole (exit $RC)"
		fi
		rm -rf "$WORK/r$round-$s"
	done
	if [ "$state" = killed ]; then
		tv "$B" restore "cut$round" --to "$WORK/rc$round" --allow-partial
		n=0
		while IFS= read -r -d '' f; do
			n=$((n + 1))
			cmp -s "$f" "src/${f#"$WORK/rc$round/$S/src/"}" || { bad=1; fail "round $round: $f differs"; }
		done < <(find "$WORK/rc$round" -type f -print0 2>/dev/null)
		rm -rf "$WORK/rc$round"
	fi
	rm -rf "$B"
	[ "$bad" -eq 0 ] && pass "round $round ($state after ${delay} ms, exit $wrc): the sets so far restore whole"
	# the first installation goes on: the next write appends
	tv "$A" write p src/d2 --name "after$round"
	if [ "$RC" -eq 0 ]; then done_sets="$done_sets"; pass "round $round: the next write succeeds"
	else fail "round $round: the next write fails (exit $RC)"; fi
done
tv "$A" verify $(cd "$WORK/a-lib" && ls *.tap 2>/dev/null | sed 's/\.tap$//' | head -40)
[ "$RC" -eq 0 ] || printf "%s\n" "$ERR" | grep -v " checked, " | head -20
expect_rc 0 "verify of every tape after the crashes"
finish
