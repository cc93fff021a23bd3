#!/usr/bin/env bash
# A drive that fails a write in the middle of a job (issue 14): the tape is
# given up and marked full, the catalog forgets what the job put on it,
# and everything the job had written to it goes again to another tape,
# whether it began there, continued there from an earlier tape, or was
# passed over while it was loaded.  The set is as it would have been
# without the failure; a fresh installation that reads every tape, the
# failed one too, restores it; three failed tapes in a row stop the job.
. "$(dirname "$0")/lib.sh"
TT=$TAPEVAULT_TEST
ftv() { # ftv HOME FAULTS args...: the test build with tape faults
	local home=$1 faults=$2; shift 2
	OUT=$(TAPEVAULT_TEST_FAULT="$faults" "$TT" --home "$home" "$@" 2>"$WORK/.err"); RC=$?
	ERR=$(cat "$WORK/.err")
}
failed_tape() { printf '%s' "$ERR" | sed -n 's/.*tape \(VT[0-9]*L9\) failed: the .*/\1/p' | head -1; }
set_json() { # set_json NAME: the set's backups --json object into $SET
	tv "$A" --json backups
	SET=$(python3 -c 'import json,sys; print(json.dumps([b for b in json.loads(sys.argv[1])["backups"] if b["name"]==sys.argv[2]][-1]))' "$OUT" "$1")
}
A=$WORK/a; new_home a lib 20 || exit 1
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 VT0007L9 \
	VT0008L9 VT0009L9 VT0010L9 --capacity 8M
tv "$A" pool create p --library lib --media-set per-job
mkdir -p src/d/e src/empty
head -c 11000000 /dev/urandom > src/d/big        # spans tapes of 8 MiB
for i in $(seq 1 40); do head -c $((3000 + i * 97)) /dev/urandom > src/d/e/s$i; done
ln src/d/e/s1 src/d/e/s1-link; ln -s e/s2 src/d/sym
# a path too long to store: passed over (a problem of the set) while the
# second tape is loaded, so its failure must not forget it
python3 - <<'PY'
import os
os.chdir("src/d/e")
for i in range(17):
    n = "x" * 250; os.mkdir(n); os.chdir(n)
open("f", "w").write("deep")
PY
N=$(find src 2>/dev/null | wc -l)   # what find can name: the walk stores the same

# 1. the second tape fails while the big file continues on it: the big
#    file's part 1 is on tape 1 (its catalog written), its rest and the
#    small files go again to a third tape
ftv "$A" only_tape=2,write_eio=5 write p src --name one
expect_rc 1 "a write error on the second tape: the job goes on (and ends partial: the long path)"
expect_err "injected write error" "the drive's error is said"
BAD=$(failed_tape); check "the failed tape is named ($BAD)" test -n "$BAD"
expect_err "tape $BAD failed: the [0-9]+ item\(s\) this job wrote to it are written again to another tape; $BAD is marked full" "its part goes again to another tape"
expect_err "tape $BAD failed during this job: everything the job had written to it was written again" "the end of the job says it again"
set_json one; ONE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$SET")
check "set one: partial (the long path named once), every other item, not on $BAD" python3 -c '
import json,sys; s=json.loads(sys.argv[1]); n=int(sys.argv[2]); bad=sys.argv[3]
assert s["status"] == "partial" and s["state"] == "partial", s
assert len(s["problems"]) == 1 and "too long" in s["problems"][0]["reason"], s
assert bad not in s["tapes"] and len(s["tapes"]) == 2, s' "$SET" "$N" "$BAD"
tv "$A" --json tape list --pool p
check "$BAD is full, holds no set" python3 -c '
import json,sys; t={x["barcode"]:x for x in json.loads(sys.argv[1])["tapes"]}
assert t[sys.argv[2]]["full"] is True, t[sys.argv[2]]' "$OUT" "$BAD"
tv "$A" restore one --to "$WORK/r1" --allow-partial; expect_rc 0 "set one restores (all but the long path)"
check "byte-exact (the big file across the tapes)" cmp src/d/big "$WORK/r1/$S/src/d/big"
for i in 1 20 40; do check "small file s$i" cmp src/d/e/s$i "$WORK/r1/$S/src/d/e/s$i"; done
check "the hard link is a hard link" test "$(stat -c %i "$WORK/r1/$S/src/d/e/s1")" = "$(stat -c %i "$WORK/r1/$S/src/d/e/s1-link")"
check "the symlink is a symlink" test "$(readlink "$WORK/r1/$S/src/d/sym")" = e/s2

# 2. the first tape of a job fails at once (a new tape, labeled, then
#    the data refused): an incremental after a change and a deletion
echo changed >> src/d/e/s3; rm src/d/e/s4
ftv "$A" only_tape=1,write_eio=4 write p src --name one --level incremental
expect_err "injected write error" "the first tape fails"
BAD2=$(failed_tape); check "named ($BAD2)" test -n "$BAD2"
set_json one
check "the incremental: level, 1 deleted, the changed file stored, not on $BAD2" python3 -c '
import json,sys; s=json.loads(sys.argv[1]); bad=sys.argv[2]
assert s["level"] == "incremental" and s["deleted"] == 1, s
assert bad not in s["tapes"] and s["tapes"], s' "$SET" "$BAD2"
tv "$A" restore one --to "$WORK/r2" --allow-partial; expect_rc 0 "the incremental restores"
check "the changed file as changed" cmp src/d/e/s3 "$WORK/r2/$S/src/d/e/s3"
check "the deleted file absent" test ! -e "$WORK/r2/$S/src/d/e/s4"
check "the big file from the full set's tapes" cmp src/d/big "$WORK/r2/$S/src/d/big"

# 3. a fresh installation reads every tape of the pool, the failed ones too
F=$WORK/f; new_home f lib 20; trust_writer "$A" "$F"
tv "$A" tape list --pool p;         PT=$(printf '%s' "$OUT" | awk '/^VT/{print $1}')
for t in $PT; do tv "$A" tape export "$t" --to "$WORK/box" >/dev/null; tv "$F" tape insert lib "$WORK/box/$t.tap"; done
tv "$F" catalog lib;                expect_rc 0 "a fresh installation catalogs them, the failed tapes among them"
tv "$F" restore "$ONE" --to "$WORK/f1" --allow-partial; expect_rc 0 "and restores set one"
check "byte-exact on the fresh installation" cmp src/d/big "$WORK/f1/$S/src/d/big"
check "the small files too" cmp src/d/e/s40 "$WORK/f1/$S/src/d/e/s40"
tv "$F" restore one --to "$WORK/f2" --allow-partial; expect_rc 0 "and the incremental (the newest set one)"
check "as it was" cmp src/d/e/s3 "$WORK/f2/$S/src/d/e/s3"
check "without the deleted file" test ! -e "$WORK/f2/$S/src/d/e/s4"

# 4. every tape fails: the third one stops the job, nothing reported done
ftv "$A" write_eio=4 write p src --name three
expect_rc 1 "three failed tapes stop the job"
expect_err "the third tape this job has lost to write errors .*the drive itself is suspect" "and say the drive is suspect"
tv "$A" --json backups
check "set three is not reported done" python3 -c '
import json,sys; s=[b for b in json.loads(sys.argv[1])["backups"] if b["name"]=="three"]
assert not s or s[0]["state"] != "restorable", s' "$OUT"
finish
