#!/usr/bin/env bash
# Incremental and differential backups, excludes, --one-file-system
# (issue 11 items 2 and 3): change detection from the catalog, deletions
# recorded, a restore of an incremental gives the tree as it was at that
# backup (also on a fresh installation that cataloged the tapes), and what
# a write leaves out.
. "$(dirname "$0")/lib.sh"
H=$WORK/home
new_home home lib 10 || { echo "not ok - setup"; exit 1; }
tv "$H" tape new lib VT0001L9 VT0002L9 VT0003L9; expect_rc 0 "tapes"
tv "$H" pool create p --library lib;             expect_rc 0 "pool"
jq() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert $1, d" "$OUT"; }
out_set() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["backup_set"])' "$OUT"; }

# --- a tree: files, a subdirectory, a symlink, hard links, a large file
mkdir -p src/sub src/empty
echo alpha > src/a.txt; echo bravo > src/b.txt
echo charlie > src/sub/c.txt; echo delta > src/sub/d.txt
ln -s a.txt src/link
echo hard > src/hl1; ln src/hl1 src/hl2
head -c 300000 /dev/urandom > src/big
snap() { rm -rf "$WORK/$1"; cp -a src "$WORK/$1"; }

tv "$H" write p src --name docs;                 expect_rc 0 "full backup"
FULL=$OUT
snap snap0
tv "$H" --json backups
check "backups --json: a full has level full and no parent" \
	jq '[(b["level"], b["parent"]) for b in d["backups"] if b["id"] == "'"$FULL"'"] == [("full", None)]'

# --- change one file, add one, delete one
echo "alpha changed" > src/a.txt
echo new > src/new.txt
rm src/sub/d.txt
tv "$H" --json write p src --name docs --level incremental; expect_rc 0 "incremental"
check "write --json: level, parent, unchanged, deleted" \
	jq 'd["level"] == "incremental" and d["parent"] == "'"$FULL"'" and d["deleted"] == 1 and d["unchanged"] >= 4'
INC1=$(out_set)
expect_err "based on set $FULL" "says which set it is based on"
tv "$H" --json backups "$INC1"
check "the incremental stored only what changed (not big, not c.txt)" \
	jq 'd["backups"][0]["files"] <= 6 and d["backups"][0]["deleted"] == 1'
snap snap1
tv "$H" restore "$INC1" --to "$WORK/r1";          expect_rc 0 "restore the incremental"
expect_err "2 set\(s\) of its chain" "reads its chain"
check "restored tree = the tree at the incremental (deleted file absent)" same_tree "$WORK/snap1" "$WORK/r1/$S/src"
check "the deleted file is not restored" test ! -e "$WORK/r1/$S/src/sub/d.txt"
check "an unchanged file came from the full's data" cmp "$WORK/snap0/big" "$WORK/r1/$S/src/big"
tv "$H" files "$INC1";                            expect_rc 0 "files of the incremental"
expect_out "$S/src/big\$" "lists its tree: an unchanged file of the full"
expect_out "$S/src/new.txt\$" "and a new one"
check "not the deleted one" bash -c "! printf '%s' \"\$1\" | grep -q 'sub/d.txt'" _ "$OUT"
tv "$H" restore "$INC1" --dry-run --to "$WORK/dry"; expect_rc 0 "restore --dry-run of the incremental"
expect_out "VT0001L9" "names the tape"
check "lists the unchanged file" bash -c "printf '%s' \"\$1\" | grep -q 'src/big'" _ "$OUT"
tv "$H" restore "$FULL" --to "$WORK/r0";          expect_rc 0 "restore the full"
check "the full still restores as it was" same_tree "$WORK/snap0" "$WORK/r0/$S/src"

# --- a second incremental (chain of 3), then a differential (since the full)
echo "bravo changed" > src/b.txt
rm src/new.txt
tv "$H" write p src --name docs --level incremental; expect_rc 0 "second incremental"
INC2=$OUT
snap snap2
echo "charlie changed" > src/sub/c.txt
tv "$H" --json write p src --name docs --level differential; expect_rc 0 "differential"
check "a differential is based on the full" jq 'd["level"] == "differential" and d["parent"] == "'"$FULL"'"'
DIFF=$(out_set)
snap snap3
tv "$H" backups
expect_out "^$INC2 +docs .* incremental +${INC1:0:8} " "backups: level and parent of the second incremental"
expect_out "^$DIFF +docs .* differential +${FULL:0:8} " "backups: level and parent of the differential"
tv "$H" backups "$INC2"
expect_out "level: incremental, based on set $INC1" "backups SET: level and parent"
tv "$H" restore "$INC2" --to "$WORK/r2";          expect_rc 0 "restore the second incremental"
check "restored = the tree at the second incremental" same_tree "$WORK/snap2" "$WORK/r2/$S/src"
tv "$H" restore "$DIFF" --to "$WORK/r3";          expect_rc 0 "restore the differential"
check "restored = the tree at the differential" same_tree "$WORK/snap3" "$WORK/r3/$S/src"
tv "$H" restore docs --to "$WORK/r4";             expect_rc 0 "restore by name: the newest of the chain"
check "by name: the differential's tree" same_tree "$WORK/snap3" "$WORK/r4/$S/src"
tv "$H" restore "$INC1" "$WORK/src/big" --to "$WORK/r5"; expect_rc 0 "one unchanged file of an incremental"
check "it is the full's copy" cmp "$WORK/snap0/big" "$WORK/r5/$S/src/big"

# --- a fresh installation catalogs the tapes and restores the chain
TAPES=$("$T" --home "$H" --json backups | python3 -c 'import json,sys; print(" ".join(sorted({t for b in json.load(sys.stdin)["backups"] for t in b["tapes"]})))')
tv "$H" tape export $TAPES --to "$WORK/box";      expect_rc 0 "export the tapes ($TAPES)"
B=$WORK/b; new_home b lib 10
trust_writer "$H" "$B" || true
for t in $TAPES; do "$T" --home "$B" -q tape insert lib --copy "$WORK/box/$t.tap"; done
tv "$B" catalog lib;                              expect_rc 0 "catalog on a fresh installation"
tv "$B" --json backups
check "levels and parents rebuilt from the tapes" \
	jq '{b["id"]: (b["level"], b["parent"]) for b in d["backups"]}["'"$INC2"'"] == ("incremental", "'"$INC1"'") and {b["id"]: b["deleted"] for b in d["backups"]}["'"$INC1"'"] == 1'
tv "$B" restore "$INC1" --to "$WORK/f1";          expect_rc 0 "fresh installation: restore the incremental"
check "fresh installation: the tree at the incremental" same_tree "$WORK/snap1" "$WORK/f1/$S/src"
tv "$B" restore "$DIFF" --to "$WORK/f3";          expect_rc 0 "fresh installation: restore the differential"
check "fresh installation: the tree at the differential" same_tree "$WORK/snap3" "$WORK/f3/$S/src"
echo "echo changed again" > src/a.txt
tv "$B" pool create q --library lib;              expect_rc 0 "a pool on the fresh installation"
"$T" --home "$B" -q tape new lib VT0009L9
tv "$B" write q src --name docs --level incremental; expect_rc 0 "an incremental there"
expect_err "no earlier backup set named 'docs' in pool q" "another pool's sets are not its chain"

# --- a directory of many entries: an incremental stats them on two threads
# (jobs/prestat.c), then stats again what it stores
mkdir -p many
for i in $(seq 1 300); do echo "file $i" > "many/f$i"; done
tv "$H" write p many --name many;                 expect_rc 0 "full backup of 300 files"
for i in 7 70 170 270; do echo "FILE $i" > "many/f$i"; done   # same size, new content
chmod 600 many/f100                                 # metadata only: its ctime
rm many/f5 many/f150 many/f299
rm many/f200; mkdir many/f200; echo inner > many/f200/x   # a file became a directory
echo added > many/zz-new
snap_many() { rm -rf "$WORK/$1"; cp -a many "$WORK/$1"; }
snap_many many1
tv "$H" --json write p many --name many --level incremental; expect_rc 0 "incremental of the 300"
# 297 names of the full are left; 6 of them changed (4 rewritten, a chmod,
# f200); stored: those, f200/x, zz-new and the directory itself
check "exactly what changed is stored" \
	jq 'd["deleted"] == 3 and d["unchanged"] == 291 and d["files"] == 9'
MANY1=$(out_set)
tv "$H" restore "$MANY1" --to "$WORK/rmany";     expect_rc 0 "restore it"
check "restored = the tree at the incremental" same_tree "$WORK/many1" "$WORK/rmany/$S/many"
tv "$H" --json write p many --name many --level incremental; expect_rc 0 "again, nothing changed"
check "nothing stored, nothing deleted" jq 'd["files"] == 0 and d["deleted"] == 0 and d["unchanged"] == 300'
# against a chain of three: what a later set deleted comes back, what it
# changed changes again, what it added or changed goes
echo "file 5 again" > many/f5; echo "FILE 7 again" > many/f7
rm many/zz-new many/f100
snap_many many3
tv "$H" --json write p many --name many --level incremental; expect_rc 0 "a third incremental"
check "f5 back, f7 again and the directory stored; zz-new and f100 deleted" \
	jq 'd["files"] == 3 and d["deleted"] == 2 and d["unchanged"] == 296'
MANY3=$(out_set)
tv "$H" restore "$MANY3" --to "$WORK/rmany3";    expect_rc 0 "restore it (a chain of four)"
check "restored = the tree at the third incremental" same_tree "$WORK/many3" "$WORK/rmany3/$S/many"
# sets whose recorded item counts are too small: the tree outgrows the
# room made for it while the walk reads it, and still answers right
NF=$(catalog_sql "$H" "SELECT id || ' ' || nfiles FROM backup_sets WHERE name = 'many'")
catalog_sql "$H" "UPDATE backup_sets SET nfiles = 0 WHERE name = 'many'" >/dev/null
tv "$H" --json write p many --name many --level incremental; expect_rc 0 "an incremental with no room made"
check "nothing stored, nothing deleted, all 299 met" \
	jq 'd["files"] == 0 and d["deleted"] == 0 and d["unchanged"] == 299'
while read -r id nf; do
	catalog_sql "$H" "UPDATE backup_sets SET nfiles = $nf WHERE id = $id" >/dev/null
done <<<"$NF"

# --- an incremental without an earlier set is a full, and says so
tv "$H" write p src --name other --level incremental; expect_rc 0 "incremental without an earlier set"
expect_err "no earlier backup set named 'other' in pool p: this incremental backup is a full backup" "says it is a full"
OTHER=$OUT
tv "$H" --json backups "$OTHER"
check "recorded as a full" jq 'd["backups"][0]["level"] == "full" and d["backups"][0]["parent"] is None'

# --- usage errors
tv "$H" write p src --name docs --level weekly;   expect_rc 2 "a bad --level is a usage error"
expect_err "--level must be full, incremental or differential \(not 'weekly'\)" "names the values"
tv "$H" write p src --level incremental;          expect_rc 2 "--level incremental needs --name"
expect_err "needs --name SETNAME" "says so"
tv "$H" write p src --name x --exclude-from "$WORK/nosuch"; expect_rc 2 "a missing --exclude-from file is a usage error"
expect_err "--exclude-from $WORK/nosuch: cannot read it: No such file or directory" "names the file and why"
tv "$H" write --help;                             expect_rc 0 "write --help"
expect_out "absolute source path, or" "the help says what an exclude matches"

# --- excludes
mkdir -p ex/cache ex/keep ex/tmp1
echo 1 > ex/app.log; echo 2 > ex/keep/x.log; echo 3 > ex/cache/blob; echo 4 > ex/keep/data
echo 5 > ex/tmp1/t; echo 6 > ex/main.c; echo 7 > ex/tmpfile
printf '# build output\n\n  *.o  \ntmp*\n' > "$WORK/excl.txt"
echo 8 > ex/main.o
tv "$H" write p ex --name ex --exclude '*.log' --exclude "$WORK/ex/cache" --exclude-from "$WORK/excl.txt"
expect_rc 0 "write with excludes"
expect_err "left out by --exclude" "says items were left out"
tv "$H" restore ex --to "$WORK/rex";              expect_rc 0 "restore it"
R=$WORK/rex/$S/ex
check "kept what no glob matches" test -f "$R/main.c" -a -f "$R/keep/data"
check "*.log matches base names at any depth" test ! -e "$R/app.log" -a ! -e "$R/keep/x.log"
check "an absolute path excludes a directory and its contents" test ! -e "$R/cache"
check "--exclude-from globs (comment and blank lines ignored, spaces trimmed)" test ! -e "$R/main.o" -a ! -e "$R/tmp1" -a ! -e "$R/tmpfile"

# --- the home directory is never backed up into itself
mkdir -p inner/data; echo d > inner/data/f
HI=$WORK/inner/state
"$T" --home "$HI" -q init && "$T" --home "$HI" -q library create lib --path "$WORK/lib-inner" --slots 4 &&
	"$T" --home "$HI" -q tape new lib VT0101L9 && "$T" --home "$HI" -q pool create p --library lib
tv "$HI" write p inner --name self;              expect_rc 0 "a write of a tree holding the home"
expect_err "tapevault home directory is not backed up into itself" "says the home is left out"
check "said once" test "$(printf '%s\n' "$ERR" | grep -c 'not backed up into itself')" -eq 1
tv "$HI" restore self --to "$WORK/rself";        expect_rc 0 "restore it"
check "the data is there, the home is not" test -f "$WORK/rself/$S/inner/data/f" -a ! -e "$WORK/rself/$S/inner/state"
tv "$HI" --json backups self
check "not a partial set" jq 'd["backups"][0]["status"] == "complete"'

# --- --one-file-system: a tmpfs mounted inside the tree
mkdir -p ofs/mnt; echo top > ofs/top
if mount -t tmpfs -o size=1m tvtest "$WORK/ofs/mnt" 2>/dev/null; then
	cleanup_hooks+=("umount '$WORK/ofs/mnt'")
	echo inside > ofs/mnt/inside
	tv "$H" write p ofs --name ofs1 --one-file-system; expect_rc 0 "write --one-file-system"
	tv "$H" restore ofs1 --to "$WORK/rofs1";      expect_rc 0 "restore it"
	check "the mount point itself is stored" test -d "$WORK/rofs1/$S/ofs/mnt"
	check "what is under it is not" test ! -e "$WORK/rofs1/$S/ofs/mnt/inside" -a -f "$WORK/rofs1/$S/ofs/top"
	tv "$H" write p ofs --name ofs2;              expect_rc 0 "write without it"
	tv "$H" restore ofs2 --to "$WORK/rofs2";      expect_rc 0 "restore it"
	check "without --one-file-system the mounted tree is stored" test -f "$WORK/rofs2/$S/ofs/mnt/inside"
else
	echo "# skipped --one-file-system: cannot mount a tmpfs here"
fi
finish
