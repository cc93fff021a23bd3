#!/usr/bin/env bash
# SIGINT and SIGTERM end a write cleanly (issue 9, item 5): exit 130, the
# current record finished, the tape gets its catalog, the set is marked
# interrupted (text and --json, on this installation and on a fresh one),
# the tape keeps its true used space and stays appendable: the next write
# appends and both sets restore; verify of every tape exits 0, and a tape
# the job never wrote stays free.  A job killed (SIGKILL) is not shown
# complete.  Restore and verify stop on SIGINT with exit 130 too.
# The SIGINT comes at a known point through tapevault-test's write hook
# (TAPEVAULT_TEST_WRITE=sigint=NAME: when the job has opened NAME); the
# SIGTERM from outside, once the job has written a few megabytes.
. "$(dirname "$0")/lib.sh"
A=$WORK/a
new_home a lib 10 || exit 1
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 --capacity 256M
tv "$A" pool create p --library lib
hw() { # hw HOOK HOME ARGS...: the test build of the CLI with a write hook
	local hook=$1 home=$2; shift 2
	OUT=$(TAPEVAULT_TEST_WRITE="$hook" "$TAPEVAULT_TEST" --home "$home" "$@" 2>"$WORK/.err"); RC=$?
	ERR=$(cat "$WORK/.err")
}
jq_py() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert eval(sys.argv[2]), d' "$1" "$2"; }
used_of() { # used_of HOME BARCODE: bytes the catalog says are written on it
	"$T" --home "$1" --json tape show "$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); t=d.get("tape", d); print(t["used"])'
}
img_size() { stat -c %s "$WORK/a-lib/$1.tap" 2>/dev/null || echo 0; }

mkdir -p src
for i in 1 2 3 4 5; do head -c 3000000 /dev/urandom > src/f$i; done

# --- SIGINT when the job opens f3 (after f1 and f2 are on tape): it
# stops before f3
hw sigint=f3 "$A" write p src --name cut; expect_rc 130 "SIGINT: exit 130"
expect_err "stopped by SIGINT: backup set .* is marked interrupted \(3 item\(s\) stored" "says it was stopped, how the set is marked and what it holds"
CUT=$OUT
check "the interrupted set's id is printed" test -n "$CUT"
tv "$A" backups;                       expect_out "cut .* interrupted " "backups: interrupted"
tv "$A" --json backups cut
check "--json: status interrupted, complete false, files 3" \
	jq_py "$OUT" '(lambda b: b["status"]=="interrupted" and b["state"]=="interrupted" and b["complete"] is False and b["files"]==3)(d["backups"][0])'
tv "$A" tape list
expect_out "VT0001L9 +pool " "the tape written is in the pool"
expect_out "VT0002L9 +free " "the tapes it never took stay free"
used1=$(used_of "$A" VT0001L9)
check "the tape's used space is what is on it ($used1 of $(img_size VT0001L9) bytes)" \
	test "$used1" -gt 6000000 -a "$used1" -le "$(img_size VT0001L9)"
tv "$A" tape show VT0001L9;            expect_out "ull.*(no|false|0)|appendable" "the tape is not marked full"

# --- the next write appends to the same tape; both sets restore
tv "$A" write p src --name after;      expect_rc 0 "the next write"
expect_err "appending to tape VT0001L9" "appends to the interrupted set's tape"
tv "$A" restore after --to "$WORK/r1"; expect_rc 0 "the later set restores"
check "byte-exact" same_tree src "$WORK/r1/$S/src"
tv "$A" restore cut --to "$WORK/r2";   expect_rc 1 "restoring the interrupted set exits 1"
expect_err "backup set cut is interrupted.*the items after the last one it wrote are not in it" "saying what it lacks"
tv "$A" restore cut --to "$WORK/r3" --allow-partial; expect_rc 0 "--allow-partial"
for i in 1 2; do check "f$i of the interrupted set byte-exact" cmp src/f$i "$WORK/r3/$S/src/f$i"; done
check "f3 is not there (not half)" test ! -e "$WORK/r3/$S/src/f3"
tv "$A" verify VT0001L9 VT0002L9 VT0003L9; expect_rc 0 "verify of every tape: exit 0"
expect_err "VT0002L9: blank: nothing to verify" "an unwritten tape is blank, not a failure"

# --- SIGINT before anything reached a tape: no set, the tape stays free
head -c 2000000 /dev/urandom > one
hw sigint=one "$A" write p "$WORK/one" --name never; expect_rc 130 "SIGINT before any data: exit 130"
expect_err "before anything was written: no backup set was made" "says nothing was made"
tv "$A" backups;                       check "no set listed" bash -c "! printf '%s' \"\$1\" | grep -q ' never '" _ "$OUT"
tv "$A" tape list;                     expect_out "VT0002L9 +free " "the next free tape is still free"

# --- SIGTERM inside a file (1 MiB of b2 read): the item is cut, named,
# and not in the set; the record in progress is finished
mkdir -p big; for i in 1 2 3; do head -c 6000000 /dev/urandom > big/b$i; done
hw midterm=b2 "$A" write p big --name term; expect_rc 130 "SIGTERM inside a file: exit 130"
expect_err "stopped by SIGTERM" "says SIGTERM"
expect_err "big/b2: not stored: the job was stopped while it was read" "names the file it was reading"
tv "$A" --json backups term
check "--json: interrupted, b2 named as not stored" \
	jq_py "$OUT" '(lambda b: b["status"]=="interrupted" and b["files"]==2 and [p["path"].rsplit("/",1)[1] for p in b["problems"]]==["b2"] and b["problems"][0]["reason"].startswith("interrupted: not stored"))(d["backups"][0])'
tv "$A" verify VT0001L9;               expect_rc 0 "the tape verifies (the cut file's data ends cleanly)"
tv "$A" write p src --name after2;     expect_rc 0 "and the next write appends"
expect_err "appending to tape VT0001L9" "to the same tape"
tv "$A" restore term --to "$WORK/r4" --allow-partial; expect_rc 0 "what the stopped job wrote restores"
check "b1 byte-exact" cmp big/b1 "$WORK/r4/$S/big/b1"
check "b2 (cut) is not restored" test ! -e "$WORK/r4/$S/big/b2"
check "nor b3 (never begun)" test ! -e "$WORK/r4/$S/big/b3"

# --- SIGTERM from another process during a long write (when the job is
# still running then; on a machine fast enough to finish first this
# part says so and counts nothing)
mkdir -p huge; for i in 1 2 3 4 5 6; do head -c 20000000 /dev/urandom > huge/h$i; done
s0=$(img_size VT0001L9)
"$T" --home "$A" write p huge --name ext >"$WORK/ext.out" 2>"$WORK/ext.err" &
pid=$!
for _ in $(seq 1 1000); do [ "$(img_size VT0001L9)" -gt "$s0" ] && break; sleep 0.005; done
kill -TERM "$pid"; wait "$pid"; RC=$?; ERR=$(cat "$WORK/ext.err")
if [ "$RC" -eq 0 ]; then echo "# the write ended before the signal: not counted"; else
	expect_rc 130 "SIGTERM from outside: exit 130"
	tv "$A" --json backups ext
	check "--json: interrupted" jq_py "$OUT" 'd["backups"][0]["status"]=="interrupted"'
	tv "$A" verify VT0001L9;           expect_rc 0 "the tape verifies"
fi

# --- a fresh installation reads the tape: the sets are as they were
B=$WORK/b
"$T" --home "$B" -q init
trust_writer "$A" "$B"
tv "$B" library attach lib --path "$WORK/a-lib"; expect_rc 0 "a fresh installation attaches the library"
tv "$B" catalog lib;                   expect_rc 0 "and catalogs it"
tv "$B" --json backups
check "fresh installation: cut and term interrupted, after and after2 complete" \
	jq_py "$OUT" '(lambda m: m["cut"]=="interrupted" and m["after"]=="complete" and m["term"]=="interrupted" and m["after2"]=="complete" and m.get("ext", "interrupted") in ("interrupted", "complete"))({b["name"]:b["status"] for b in d["backups"]})'
tv "$B" restore after2 --to "$WORK/r5"; expect_rc 0 "a complete set restores there"
check "byte-exact" same_tree src "$WORK/r5/$S/src"

# --- SIGKILL (hook: when 1 MiB of k3 is read) of a write spanning small
# tapes: the set is not shown complete, here or on a fresh installation
K=$WORK/k
new_home k klib 8 || exit 1
tv "$K" tape new klib VT0011L9 VT0012L9 VT0013L9 VT0014L9 --capacity 4M
tv "$K" pool create q --library klib
mkdir -p kill; for i in 1 2 3 4; do head -c 3000000 /dev/urandom > kill/k$i; done
hw midkill=k3 "$K" write q kill --name killed; expect_rc 137 "SIGKILL: the process is killed"
tv "$K" --json backups killed;         expect_rc 0 "the killed set is listed (its first tape was finished)"
check "here: status interrupted, complete false" \
	jq_py "$OUT" '(lambda b: b["status"]=="interrupted" and b["state"]=="interrupted" and b["complete"] is False)(d["backups"][0])'
tv "$K" backups;                       expect_out "killed .* interrupted " "text: interrupted"
C=$WORK/c
"$T" --home "$C" -q init
trust_writer "$K" "$C"
tv "$C" library attach klib --path "$WORK/k-klib"
tv "$C" catalog klib
expect_err "backup set killed: its write job did not end \(killed, or a crash\)" "the catalog job says the killed set did not end"
tv "$C" --json backups
check "fresh installation: the killed set is interrupted, not complete" \
	jq_py "$OUT" '(lambda k: len(k)==1 and k[0]["status"]=="interrupted" and not k[0]["complete"])([b for b in d["backups"] if b["name"]=="killed"])'
tv "$C" restore killed --to "$WORK/rk";  expect_rc 1 "its restore exits 1"
expect_err "backup set killed is interrupted" "saying why"
tv "$C" restore killed --to "$WORK/rk2" --allow-partial; expect_rc 0 "--allow-partial"
for i in 1 2; do check "k$i byte-exact" cmp kill/k$i "$WORK/rk2/$S/kill/k$i"; done

# --- restore and verify stop on SIGINT too
"$T" --home "$A" restore after2 --to "$WORK/r6" >/dev/null 2>"$WORK/rs.err" &
pid=$!
for _ in $(seq 1 500); do [ -e "$WORK/r6/$S/src/f1" ] && break; sleep 0.01; done
kill -INT "$pid"; wait "$pid"; RC=$?; ERR=$(cat "$WORK/rs.err")
if [ "$RC" -eq 0 ]; then echo "# restore ended before the signal: not counted"; else
	expect_rc 130 "restore stopped by SIGINT: exit 130"
	expect_err "stopped by SIGINT: [0-9]+ item\(s\) restored, the rest of the set was not" "and says what it did"
fi
finish
