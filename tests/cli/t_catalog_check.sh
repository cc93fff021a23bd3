#!/usr/bin/env bash
# 'catalog check': a catalog as the jobs leave it is consistent (also one
# rebuilt from a single tape of a set); each kind of inconsistency, made
# by editing the database, is found, named, and exits 1.
. "$(dirname "$0")/lib.sh"
A=$WORK/a
new_home a lib 20 || exit 1
mkdir -p src; for i in 1 2 3 4 5 6; do head -c 900000 /dev/urandom > src/f$i; done
secret "$WORK/pw" "check pw"
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 --capacity 2M
tv "$A" password add pw --hint h --password-file "$WORK/pw"
tv "$A" pool create p --library lib --encryption password:pw
tv "$A" pool create q --library lib
tv "$A" write p src --name spans;   expect_rc 0 "a set that spans tapes"
tv "$A" tape list --pool p;         ntapes=$(printf '%s\n' "$OUT" | grep -c '^VT')
check "it spans ($ntapes tapes)" test "$ntapes" -ge 3
tv "$A" catalog check;              expect_rc 0 "the catalog the jobs made is consistent"
expect_err "catalog check: consistent \([0-9]+ tape\(s\), 1 media set\(s\), 1 backup set\(s\), 7 item\(s\)\)" "says what it checked"
tv "$A" --json catalog check
check "--json: an empty problem list and the counts" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["problems"]==[] and d["backup_sets"]==1 and d["files"]==7, d' "$OUT"

# a fresh installation that has only the middle tape of the set
tv "$A" tape export VT0002L9 --to "$WORK/box"
B=$WORK/b; new_home b lib 5
tv "$B" tape insert lib "$WORK/box/VT0002L9.tap"
tv "$B" catalog lib
tv "$B" decrypt VT0002L9 --password-file "$WORK/pw" --yes
tv "$B" catalog check;              expect_rc 0 "a catalog of one tape of a set is consistent"
tv "$A" tape insert lib "$WORK/box/VT0002L9.tap"

sq() { catalog_sql "$A" "$1"; }
# one inconsistency at a time, undone after each
sq "UPDATE backup_sets SET nfiles = nfiles + 2"
tv "$A" catalog check;              expect_rc 1 "a complete set with a wrong item count"
expect_out "complete set whose item count differs: backup set spans says 9 item\(s\), the catalog holds 7" "named"
expect_err "1 problem\(s\) in the catalog" "counted"
sq "UPDATE backup_sets SET nfiles = nfiles - 2"

sq "UPDATE tapes SET pool_id = (SELECT id FROM pools WHERE name='q') WHERE barcode='VT0001L9'"
tv "$A" catalog check;              expect_rc 1 "a tape in a media set of another pool"
expect_out "tape in a media set of another pool: tape VT0001L9 belongs to pool q but its media set to pool p" "named"
sq "UPDATE tapes SET pool_id = (SELECT id FROM pools WHERE name='p') WHERE barcode='VT0001L9'"

sq "UPDATE tapes SET seq = 1 WHERE barcode='VT0002L9'"
tv "$A" catalog check;              expect_rc 1 "two tapes in one place of a media set"
expect_out "two tapes with one place in a media set: tapes VT000[12]L9, VT000[12]L9 all claim sequence 1" "named"
sq "UPDATE tapes SET seq = 2 WHERE barcode='VT0002L9'"

# the stored keys are the home's own (on a shared catalog: its local store)
u=$(catalog_sql "$A" "SELECT hex(uuid) FROM tapes WHERE barcode='VT0001L9'")
pg_mode && u=$(catalog_sql "$A" "SELECT upper(encode(uuid, 'hex')) FROM tapes WHERE barcode='VT0001L9'")
secret_sql "$A" "UPDATE tape_keys SET dek_fpr = zeroblob(16) WHERE hex(tape_uuid) = '$u'"
tv "$A" catalog check;              expect_rc 1 "a stored key that is not the tape's"
expect_out "stored tape key that is not the tape's: tape VT0001L9" "named"
tv "$A" --json catalog check
check "--json lists it with its check" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [p for p in d["problems"] if p["check"]=="stored tape key that is not the tape'"'"'s"], d' "$OUT"

sq "INSERT INTO parts(set_id, idx, part, off, tseq, file_no, frame_off, entry_off) VALUES((SELECT id FROM backup_sets), 999, 2, 0, 1, 2, 0, 0)"
tv "$A" catalog check;              expect_rc 1 "a part of an unknown item"
expect_out "part of an unknown item: backup set spans: part 2 of item 999" "named"
expect_err "2 problem\(s\)" "both problems counted"
finish
