#!/usr/bin/env bash
# Damaged tapes: a flipped byte is found and named; a write cut by power
# loss leaves every complete file recoverable.
. "$(dirname "$0")/lib.sh"
SIMH="python3 $TV_SOURCE_DIR/tests/cli/simh.py"
A=$WORK/a
new_home a lib 10 || exit 1
mkdir -p src
for i in 1 2 3 4 5; do head -c $((600 * 1024 + i)) /dev/urandom > src/f$i; done
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 --capacity 64M
tv "$A" pool create p --library lib
tv "$A" write p src --name s;        expect_rc 0 "write"
IMG=$WORK/a-lib/VT0001L9.tap
# tape files: 0 vol, 1 ms, 2 data (src, f1..f5 packed into full records),
# 3 catalog.  f3 is bytes ~1.23M..1.84M of the data stream: record 6
# (payload bytes 1.31M..1.57M) lies inside it
nrec=$($SIMH list "$IMG" | awk '$1=="rec" && $2==2' | wc -l)
check "the five files share one tape file of full records ($nrec records)" test "$nrec" -ge 9 -a "$nrec" -le 14
off=$($SIMH flip "$IMG" 2 6)
check "flipped a byte of tape file 2 record 6" test -n "$off"
tv "$A" verify VT0001L9;             expect_rc 1 "verify fails"
expect_err "VT0001L9 file 2 record 6" "verify names tape, file and record"
tv "$A" restore s --to "$WORK/r";    expect_rc 1 "restore reports the damage"
expect_err "src/f3.*VT0001L9 file 2 record 6" "restore names file, tape, file number and record"
check "damaged file not left behind" test ! -e "$WORK/r/$S/src/f3"
for i in 1 2 4 5; do check "f$i still restores" cmp src/f$i "$WORK/r/$S/src/f$i"; done
$SIMH flip "$IMG" 2 6 >/dev/null   # flip back
tv "$A" verify VT0001L9;             expect_rc 0 "verify clean after repair"

# --- power loss in the middle of a write job
for i in $(seq 1 20); do head -c $((300 * 1024 + i)) /dev/urandom > src/g$i; done
# the release binary has no fault injector: the variable changes nothing
TAPEVAULT_TEST_FAULT=powerloss=1 "$T" --home "$A" verify VT0001L9 >/dev/null 2>"$WORK/e"; RC=$?; ERR=$(cat "$WORK/e")
expect_rc 0 "release binary ignores TAPEVAULT_TEST_FAULT"
TAPEVAULT_TEST_FAULT=read_eio=1 "$TAPEVAULT_TEST" --home "$A" verify VT0001L9 >/dev/null 2>"$WORK/e"; RC=$?; ERR=$(cat "$WORK/e")
expect_rc 1 "tapevault-test injects the fault"
TAPEVAULT_TEST_FAULT=powerloss=20 "$TAPEVAULT_TEST" --home "$A" write p src --name cut >"$WORK/o" 2>"$WORK/e"; RC=$?; ERR=$(cat "$WORK/e")
expect_rc 1 "write fails at power loss"
tv "$A" tape export VT0001L9 --to "$WORK/box"
B=$WORK/b; new_home b lib 10
trust_writer "$A" "$B"
tv "$B" tape insert lib "$WORK/box/VT0001L9.tap"
tv "$B" catalog lib;                 expect_rc 0 "catalog the cut tape"
expect_err "did not finish|scanning" "says the session was cut and scans"
expect_err "recovered [0-9]+ complete entr" "reports recovered entries"
tv "$B" --json backups
check "the cut set is listed as recovered, under its name" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[b for b in d["backups"] if b["name"]=="cut"]; assert s and s[0]["recovered"], d' "$OUT"
tv "$B" restore cut --to "$WORK/rc" --allow-partial
n=0; bad=0
for f in "$WORK/rc/$S"/src/*; do
	[ -f "$f" ] || continue
	n=$((n + 1)); cmp -s "$f" "src/$(basename "$f")" || bad=$((bad + 1))
done
if [ "$n" -ge 5 ] && [ "$bad" -eq 0 ]; then pass "$n recovered files are byte-exact"; else fail "recovered $n files, $bad differ"; fi
# the append started after the first session's catalog and left it in
# place: the scan reads it, so the first set is known complete (by its
# catalog, not rebuilt from file headers)
tv "$B" --json backups
check "the first set is complete and not merely recovered" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[b for b in d["backups"] if b["name"]=="s"]; assert s and s[0]["complete"] and not s[0]["recovered"], d' "$OUT"
tv "$B" restore s --to "$WORK/rs";   expect_rc 0 "the first (complete) set restores from the cut tape, by name"
for i in 1 2 3 4 5; do check "first set f$i" cmp src/f$i "$WORK/rs/$S/src/f$i"; done
finish
