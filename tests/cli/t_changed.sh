#!/usr/bin/env bash
# Files that change while they are read, and items that are skipped or
# unreadable (issue 9, item 2): each is named in a warning, the item is
# marked in the catalog (and on tape: a fresh installation knows it too),
# the set is partial in `backups` (text and --json, with the list of what
# was not stored whole), and the write exits 1 unless --allow-partial.
# The changes happen at a known point: tapevault-test's write hook
# (TAPEVAULT_TEST_WRITE, tests/support/write_hooks.c) changes a file after
# the job opened it and before it reads it.
. "$(dirname "$0")/lib.sh"
A=$WORK/a
new_home a lib 10 || exit 1
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 --capacity 64M
tv "$A" pool create p --library lib
# hw ARGS...: the test build of the CLI with a write hook (HOOK=...)
hw() {
	local home=$1; shift
	OUT=$(TAPEVAULT_TEST_WRITE="$HOOK" "$TAPEVAULT_TEST" --home "$home" "$@" 2>"$WORK/.err"); RC=$?
	ERR=$(cat "$WORK/.err")
}
jq_py() { # jq_py JSON PYTHON-EXPR: the expression over d must hold
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert eval(sys.argv[2]), d' "$1" "$2"
}

mkdir -p src/d
head -c 3000000 /dev/urandom > src/d/grows      # large: read after its header
head -c 2000000 /dev/urandom > src/d/shrinks
echo "small and touched" > src/d/touched        # small: read whole first
head -c 100000 /dev/urandom > src/d/steady
cp -a src orig                                  # the files as they were opened

# --- a clean set first: complete, nothing to name
tv "$A" write p src --name clean;            expect_rc 0 "an unchanged tree: exit 0"
expect_no_err "changed while" "and no warning"
tv "$A" --json backups clean
check "--json: status complete, complete true, no problems" \
	jq_py "$OUT" 'd["backups"][0]["status"]=="complete" and d["backups"][0]["complete"] is True and d["backups"][0]["problems"]==[] and d["backups"][0]["state"]=="restorable"'

# --- a file that grows, one that shrinks, one whose mtime moves
HOOK=grow=grows,shrink=shrinks,touch=touched
hw "$A" write p src --name moving;           expect_rc 1 "files changed while read: exit 1"
expect_err "src/d/grows: changed while it was read \(it grew" "the grown file is named"
expect_err "src/d/shrinks: changed while it was read \(it shrank" "the shrunk file is named"
expect_err "src/d/touched: changed while it was read" "the touched file is named"
expect_err "3 item\(s\) were not stored whole.*marked partial" "the job says the set is partial"
expect_no_err "steady: changed" "the steady file is not named"
SET=$OUT
check "the set's id is printed all the same" test -n "$SET"
tv "$A" backups;                             expect_out "moving .* p .* partial " "backups: the set is partial"
expect_out "clean .* p .* restorable " "the clean set stays restorable"
tv "$A" backups moving;                      expect_rc 0 "backups SET"
expect_out "not stored whole \(3\)" "backups SET counts them"
expect_out "src/d/grows: changed while it was read" "and names the grown file"
expect_out "src/d/shrinks: changed while it was read" "the shrunk file"
expect_out "src/d/touched: changed while it was read" "the touched file"
tv "$A" backups nope;                        expect_rc 1 "backups of an unknown set exits 1"
expect_err "no backup set 'nope'" "and names it"
tv "$A" backups moving clean;                expect_rc 2 "backups takes one set at most (usage)"
tv "$A" --json backups "$SET"
check "--json: status partial, complete false, 3 problems with path and reason" \
	jq_py "$OUT" 'len(d["backups"])==1 and d["backups"][0]["status"]=="partial" and d["backups"][0]["complete"] is False and sorted(p["path"].rsplit("/",1)[1] for p in d["backups"][0]["problems"])==["grows","shrinks","touched"] and all(p["reason"]=="changed while it was read" for p in d["backups"][0]["problems"])'

# what is on tape: the bytes as read, up to the size at the open
tv "$A" restore moving --to "$WORK/r1";      expect_rc 1 "restoring a partial set exits 1"
expect_err "src/d/grows: restored as it was read, but it changed while it was read" "restore names the changed file"
expect_err "holds 3 of the items asked for not whole" "and says why it is partial"
tv "$A" restore moving --to "$WORK/r2" --allow-partial; expect_rc 0 "--allow-partial accepts it"
R=$WORK/r2/$S/src/d
check "grown file: its bytes up to the size at the open" cmp "$R/grows" orig/d/grows
check "the source did grow" test "$(stat -c %s src/d/grows)" -gt 3000000
check "shrunk file: the size at the open" test "$(stat -c %s "$R/shrinks")" -eq 2000000
check "shrunk file: the bytes that stayed" cmp -n 1000000 "$R/shrinks" orig/d/shrinks
check "shrunk file: zeros after them" cmp -s <(tail -c 1000000 "$R/shrinks") <(head -c 1000000 /dev/zero)
check "steady file byte-exact" cmp "$R/steady" orig/d/steady
check "touched file's contents" cmp "$R/touched" orig/d/touched
tv "$A" restore moving "$S/src/d/steady" --to "$WORK/r3"; expect_rc 0 "one steady file of the set: exit 0"
check "and it is right" cmp "$WORK/r3/$S/src/d/steady" orig/d/steady

# --- --allow-partial on the write
head -c 3000000 /dev/urandom > src/d/grows
HOOK=grow=grows
hw "$A" write p src --name allowed --allow-partial; expect_rc 0 "write --allow-partial: exit 0"
expect_err "grows: changed while it was read" "the file is still named"
expect_err "allowed by --allow-partial" "and the allowance said"
tv "$A" backups allowed;                     expect_out "allowed .* p .* partial " "the set is partial all the same"

# --- skipped items: a path too long to store, an unreadable file
python3 - <<'EOF'
import os
os.makedirs("deep", exist_ok=True)
os.chdir("deep")
for i in range(18):
    n = "d%02d" % i + "x" * 250
    os.mkdir(n); os.chdir(n)
open("lost", "w").write("too deep\n")
EOF
mkdir -p src2 && echo kept > src2/kept
if [ "$(id -u)" -ne 0 ]; then echo secret > src2/closed; chmod 000 src2/closed; fi
tv "$A" write p src2 deep --name skips;      expect_rc 1 "skipped items: exit 1"
expect_err "path too long, skipped" "the too-long path is named"
if [ "$(id -u)" -ne 0 ]; then expect_err "src2/closed: cannot open: Permission denied \(skipped\)" "the unreadable file is named"; fi
tv "$A" --json backups skips
check "--json: partial, the skipped item with its reason" \
	jq_py "$OUT" 'd["backups"][0]["status"]=="partial" and any(p["reason"]=="skipped: path too long" for p in d["backups"][0]["problems"])'
tv "$A" restore skips "$S/src2" --to "$WORK/r4"; expect_rc 0 "what was stored restores"
check "kept file is right" cmp "$WORK/r4/$S/src2/kept" src2/kept

# --- a fresh installation reads the same from the tapes
B=$WORK/b
"$T" --home "$B" -q init
trust_writer "$A" "$B"   # it recovers A's tapes
tv "$B" library attach lib --path "$WORK/a-lib"; expect_rc 0 "attach the library on a fresh installation"
tv "$B" catalog lib;                         expect_rc 0 "catalog it"
tv "$B" --json backups
check "fresh installation: clean complete, moving partial with its 3 changed files" \
	jq_py "$OUT" '{b["name"]:(b["status"],len(b["problems"])) for b in d["backups"]}=={"clean":("complete",0),"moving":("partial",3),"allowed":("partial",1),"skips":("partial",1)}'
tv "$B" restore moving --to "$WORK/r5";      expect_rc 1 "there too a restore of it exits 1"
expect_err "grows: restored as it was read, but it changed" "naming the changed file"
tv "$B" restore clean --to "$WORK/r6";       expect_rc 0 "the clean set restores"
check "byte-exact" same_tree orig/d "$WORK/r6/$S/src/d"

# --- the release binary has no hook
TAPEVAULT_TEST_WRITE=grow=steady "$T" --home "$A" -q write p src/d/steady --name nohook >/dev/null 2>"$WORK/e"; RC=$?
expect_rc 0 "the installed tapevault ignores TAPEVAULT_TEST_WRITE"
finish
