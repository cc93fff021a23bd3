#!/usr/bin/env bash
# Browsing the catalog (issue 11): files SET [GLOB...], find GLOB... [--set
# SET], restore --dry-run (items, tapes needed, where each cartridge is,
# locked or not), with their --json and their errors.
. "$(dirname "$0")/lib.sh"
H=$WORK/home
new_home home lib 10 || { echo "not ok - setup"; exit 1; }
tv "$H" tape new lib VT0001L9 VT0002L9 VT0003L9; expect_rc 0 "tapes"
tv "$H" pool create p --library lib;         expect_rc 0 "pool"
mkdir -p "$WORK/src/etc/ssh" "$WORK/src/home/u/docs"
echo "a=1" > "$WORK/src/etc/app.conf"
echo "b=2" > "$WORK/src/etc/ssh/sshd.conf"
head -c 5000 /dev/urandom > "$WORK/src/home/u/docs/report.txt"
ln -s ../etc/app.conf "$WORK/src/home/u/link"
chmod 640 "$WORK/src/etc/app.conf"
tv "$H" write p "$WORK/src" --name first;    expect_rc 0 "first set written"
echo "a=2, changed" > "$WORK/src/etc/app.conf"
tv "$H" write p "$WORK/src" --name second;   expect_rc 0 "second set written"

# --- files
tv "$H" files first;                         expect_rc 0 "files SET"
expect_out "^-rw-r----- [^ ]+/[^ ]+ +4 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z $S/src/etc/app.conf$" \
	"ls -l style line: mode, owner/group, size, ISO mtime, stored path"
expect_out "^d[rwx-]{9} .* $S/src/etc/ssh$" "directories listed with d"
expect_out "^l[rwx-]{9} .* $S/src/home/u/link -> ../etc/app.conf$" "symlink with its target"
check "every item of the set is listed" test "$(printf '%s\n' "$OUT" | grep -c "$S/src")" -ge 8
tv "$H" files first "/$S/src/etc/*.conf";  expect_rc 0 "files SET GLOB"
check "the glob selects one item" test "$(printf '%s\n' "$OUT" | wc -l)" -eq 1
expect_out "$S/src/etc/app.conf$" "the one it matches"
tv "$H" files first "$S/src/etc";            expect_rc 0 "files SET PATH"
expect_out "$S/src/etc/ssh/sshd.conf$" "a path names everything under it"
expect_out "$S/src/etc$" "and itself"
tv "$H" files first "$S/src/*/u";            expect_rc 0 "glob in the middle"
expect_out "$S/src/home/u/docs/report.txt$" "selects what is under a matched directory"
tv "$H" files first "$S/src/nothing*" "$S/src/etc/app.conf"; expect_rc 1 "a glob matching nothing fails"
expect_err "$S/src/nothing\*: matches nothing in the backup set" "names the glob"
expect_out "app.conf" "the rest is listed all the same"
tv "$H" files nosuchset;                     expect_rc 1 "unknown set"
expect_err "no backup set 'nosuchset'" "says which set"
tv "$H" files;                               expect_rc 2 "files without a set is a usage error"
tv "$H" files first --frob;                  expect_rc 2 "unknown option"
tv "$H" --json files first "$S/src/etc/app.conf"; expect_rc 0 "files --json"
check "files --json: typed" python3 - "$OUT" <<'EOF'
import json, re, sys
d = json.loads(sys.argv[1])
f = d["files"]
assert isinstance(f, list) and len(f) == 1, f
x = f[0]
assert x["type"] == "file" and x["size"] == 4 and isinstance(x["mode"], int), x
assert x["mode"] == 0o640, x
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", x["mtime"]), x
assert isinstance(x["mtime_unix"], int) and isinstance(x["uid"], int), x
assert d["backup_set"]["name"] == "first" and re.match(r"^[0-9a-f-]{36}$", d["backup_set"]["id"])
assert d["items"] == 1 and d["bytes"] == 4
EOF
tv "$H" --json files first nomatch;          expect_rc 1 "files --json of a glob matching nothing"
check "still one document, with the error" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["files"]==[] and "error" in d' "$OUT"

# --- find
tv "$H" find '*.conf';                       expect_rc 0 "find NAME-GLOB"
check "two sets x two .conf files" test "$(printf '%s\n' "$OUT" | grep -c '\.conf$')" -eq 4
expect_out "^[0-9a-f]{8} +first +[0-9-]{10}T[0-9:]{8}Z +4 .* VT0001L9 +$S/src/etc/app.conf$" \
	"set id and name, date, size, tapes, path"
expect_out "^[0-9a-f]{8} +second +.* 13 .*$S/src/etc/app.conf$" "the changed version of the later set"
tv "$H" find '*.conf' --set second;          expect_rc 0 "find --set"
check "only that set" test "$(printf '%s\n' "$OUT" | grep -c '\.conf$')" -eq 2
expect_no_err "." "nothing on stderr"
tv "$H" find "/$S/src/home/*/docs/*.txt";    expect_rc 0 "find PATH-GLOB"
check "both versions of report.txt" test "$(printf '%s\n' "$OUT" | grep -c 'report.txt$')" -eq 2
tv "$H" find "$S/src/*.conf";                expect_rc 1 "'*' stays within one component"
expect_err "matches nothing in the catalog" "says so"
tv "$H" find sshd.conf nosuch.file;          expect_rc 1 "one of two patterns matches nothing"
expect_err "nosuch.file: matches nothing in the catalog" "names the pattern"
expect_out "sshd.conf$" "the other is listed"
# names holding what a glob or SQL's LIKE treat as special: on PostgreSQL
# the server filters with a LIKE made from the glob, which must keep every
# match (fnmatch decides)
mkdir -p "$WORK/odd"
for f in '50%_off.txt' 'a_b.txt' 'axb.txt' '[x].txt' 'back\slash.txt'; do echo o > "$WORK/odd/$f"; done
tv "$H" write p "$WORK/odd" --name odd;       expect_rc 0 "a set of odd names"
nfound() { printf '%s\n' "$OUT" | grep -c "$S/odd/" || true; }
tv "$H" find '50%_off.txt';                   expect_rc 0 "find a name with % and _"
check "found once" test "$(nfound)" -eq 1
tv "$H" find 'a_b.txt';                       expect_rc 0 "find a name with _"
check "a_b.txt only" test "$(nfound)" -eq 1
tv "$H" find 'a[_x]b.txt';                    expect_rc 0 "a bracket expression"
check "a_b.txt and axb.txt" test "$(nfound)" -eq 2
tv "$H" find '\[x\].txt';                     expect_rc 0 "escaped brackets are literal"
check "[x].txt" test "$(nfound)" -eq 1
tv "$H" find '[[]x].txt';                     expect_rc 0 "a bracket holding ["
check "[x].txt again" test "$(nfound)" -eq 1
tv "$H" find '*%*' 'back\\slash.txt';          expect_rc 0 "a wildcard around %, an escaped backslash"
check "50%_off.txt and back\\slash.txt" test "$(nfound)" -eq 2
tv "$H" files odd "$S/odd/a?b.txt";           expect_rc 0 "files SET GLOB with ?"
check "a_b.txt and axb.txt" test "$(nfound)" -eq 2
tv "$H" files odd "$S/odd/*_*";               expect_rc 0 "files SET GLOB with a literal _"
check "50%_off.txt and a_b.txt" test "$(nfound)" -eq 2
tv "$H" find '*.conf' --set nosuchset;       expect_rc 1 "find --set of an unknown set"
expect_err "no backup set 'nosuchset'" "says which set"
tv "$H" find;                                expect_rc 2 "find without a pattern is a usage error"
tv "$H" find /;                              expect_rc 1 "an empty pattern is refused"
expect_err "empty pattern" "says why"
tv "$H" --json find app.conf;                expect_rc 0 "find --json"
check "find --json: typed, tapes an array" python3 - "$OUT" <<'EOF'
import json, sys
v = json.loads(sys.argv[1])["versions"]
assert len(v) == 2, v
for x in v:
    assert isinstance(x["tapes"], list) and x["tapes"] == ["VT0001L9"], x
    assert isinstance(x["size"], int) and x["type"] == "file", x
    assert len(x["set_id"]) == 36 and x["set_created"].endswith("Z"), x
assert sorted(x["set_name"] for x in v) == ["first", "second"]
EOF

# --- restore --dry-run
tv "$H" restore first --dry-run --to "$WORK/r1"; expect_rc 0 "restore --dry-run"
check "nothing written (not even the target directory)" test ! -e "$WORK/r1"
expect_out "$S/src/etc/app.conf$" "lists the items"
expect_out "tapes needed:" "and the tapes"
expect_out "VT0001L9 +seq 1 +library lib, slot [0-9]+ +not encrypted +[0-9]+ item" \
	"barcode, sequence, where the cartridge is, locked or not"
expect_out "would restore [0-9]+ item\(s\), 5008 bytes of file data from backup set first" "a summary"
tv "$H" restore first "$S/src/home/u/link" --dry-run; expect_rc 0 "dry run of a symlink only"
expect_out "tapes needed: none" "no tape needed for an item kept in the catalog"
tv "$H" restore first "$S/src/nope" --dry-run; expect_rc 1 "dry run of a path matching nothing"
expect_err "$S/src/nope: matches nothing in the backup set" "names it"
tv "$H" restore nosuchset --dry-run;         expect_rc 1 "dry run of an unknown set"
expect_err "no backup set 'nosuchset'" "says which set"
tv "$H" --json restore second "$S/src/etc" --dry-run; expect_rc 0 "restore --dry-run --json"
check "dry run --json: items and tapes, typed" python3 - "$OUT" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
assert d["dry_run"] is True and d["backup_set"]["name"] == "second"
assert isinstance(d["items"], list) and len(d["items"]) == 4, d["items"]
t = d["tapes"]
assert len(t) == 1 and t[0]["barcode"] == "VT0001L9" and t[0]["locked"] is False, t
assert t[0]["library"] == "lib" and t[0]["location"].startswith("library lib, slot"), t
assert isinstance(t[0]["seq"], int) and t[0]["items"] == 2, t
assert d["files"] == 4 and d["bytes"] == 17
EOF
# an encrypted pool: unlocked here; then the cartridge leaves the library
secret "$WORK/pw" "browse pass"
tv "$H" password add pw --hint "the browse one" --password-file "$WORK/pw"; expect_rc 0 "password"
tv "$H" pool create enc --library lib --encryption password:pw; expect_rc 0 "encrypted pool"
tv "$H" write enc "$WORK/src/etc" --name secret; expect_rc 0 "encrypted set written"
tv "$H" restore secret --dry-run;            expect_rc 0 "dry run of an encrypted set"
expect_out "VT0002L9 +seq 1 +library lib, slot [0-9]+ +unlocked" "says the tape is encrypted and unlocked"
tv "$H" tape export VT0002L9 --to "$WORK/box"; expect_rc 0 "export the tape"
tv "$H" restore secret --dry-run;            expect_rc 0 "dry run with the tape out"
expect_out "VT0002L9 +seq 1 +exported" "says the cartridge is exported"
tv "$H" tape list;                           expect_rc 0 "tape list"
expect_out "^BARCODE .* USED +LAST-WRITTEN +EXPIRES +KEY" "used space, last written and expiry columns"
expect_out "^VT0001L9 +pool .* [0-9.]+[KMB] +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +- " "a written tape: used, when last written, no expiry"
expect_out "^VT0003L9 +free .* 0B +- +- " "a blank tape: never written"
tv "$H" files secret;                        expect_rc 0 "files of a set whose tape is out: from the catalog"
expect_out "sshd.conf$" "lists it"

finish
