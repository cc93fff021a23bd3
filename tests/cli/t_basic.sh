#!/usr/bin/env bash
# CLI contract: help, usage errors, state commands, clear errors.
. "$(dirname "$0")/lib.sh"
H=$WORK/home

tv "$H" help;                       expect_rc 0 "help"; expect_out "catalog" "help lists commands"
tv "$H" write --help;               expect_rc 0 "write --help"; expect_out "usage: tapevault write POOL" "write usage"
tv "$H" tape;                       expect_rc 2 "bare 'tape' is a usage error"; expect_err "tape list" "lists tape subcommands"
tv "$H" frobnicate;                 expect_rc 2 "unknown command"
tv "$H" tape list;                  expect_rc 1 "tape list before init fails"; expect_err "tapevault .*init" "says to run init"
tv "$H" init;                       expect_rc 0 "init"
tv "$H" init;                       expect_rc 1 "second init refused"; expect_err "already initialized" "says already initialized"
check "state dir is private" test "$(stat -c %a "$H")" = 700
check "master key is private" test "$(stat -c %a "$H/keys/master.key")" = 600
tv "$H" library create lib --path "$WORK/lib" --slots 4 --mailslots 1; expect_rc 0 "library create"
tv "$H" library create lib --path "$WORK/lib2" --slots 4; expect_rc 1 "duplicate library name"
tv "$H" library create x --slots 4; expect_rc 2 "library create without --path is a usage error"
tv "$H" tape new lib VT0001L9 VT0002L9 --capacity 16M; expect_rc 0 "tape new"
tv "$H" tape new lib bad;           expect_rc 1 "bad barcode refused"; expect_err "barcode" "names the barcode rule"
tv "$H" tape new lib VT0001L9;      expect_rc 1 "duplicate barcode refused"
tv "$H" tape new lib VT0003L9 --capacity 12Q; expect_rc 2 "bad size suffix is a usage error"
tv "$H" library status lib;         expect_rc 0 "library status"
expect_out "Storage Element 1:Full :VolumeTag=VT0001L9" "mtx-style slot line"
expect_out "Data Transfer Element 0:Empty" "mtx-style drive line"
expect_out "IMPORT/EXPORT:Empty" "mtx-style mail slot line"
tv "$H" --json library status lib;  expect_rc 0 "library status --json"
check "json parses" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert any(e.get("barcode")=="VT0001L9" for e in d["elements"])' "$OUT"
tv "$H" tape list;                  expect_out "VT0001L9 +free" "tape list shows free tape"
tv "$H" pool create p --library nolib; expect_rc 1 "pool on unknown library"; expect_err "no library named 'nolib'" "names the library"
tv "$H" pool create p --library lib --encryption password:nope; expect_rc 1 "unknown password"; expect_err "password add" "says how to add the password"
tv "$H" pool create p --library lib --encryption rot13; expect_rc 1 "unknown encryption"
tv "$H" pool create p --library lib --media-set sometimes; expect_rc 1 "bad media set policy"
tv "$H" pool create p --library lib; expect_rc 0 "pool create"
tv "$H" pool list;                  expect_out "^p +lib +none" "pool list"
tv "$H" write p "$WORK/does-not-exist"; expect_rc 1 "write of a missing path fails"; expect_err "does-not-exist" "names the path"
tv "$H" restore nosuchset --to "$WORK/r"; expect_rc 1 "restore of unknown set"; expect_err "no backup set" "says no backup set"
tv "$H" restore x;                  expect_rc 2 "restore without --to is a usage error"
echo "not a tape" > "$WORK/junk.tap"
tv "$H" tape dump "$WORK/junk.tap"; expect_rc 1 "dump of junk fails cleanly"
tv "$H" decrypt VT0001L9;           expect_rc 1 "decrypt without a key source"
# passwords never on the command line: there is no such option
tv "$H" password add x --hint h --password secret; expect_rc 2 "no --password option"
secret "$WORK/pw" "correct horse"
tv "$H" password add weekly --hint "the usual" --password-file "$WORK/pw"; expect_rc 0 "password add"
tv "$H" password add weekly --hint "again" --password-file "$WORK/pw"; expect_rc 1 "duplicate password name"
tv "$H" password add h2 --hint "correct horse here" --password-file "$WORK/pw"; expect_rc 1 "hint containing the password refused"
tv "$H" password list;              expect_out "weekly .*the usual" "password list shows name and hint"
check "password not in catalog" bash -c "! grep -q 'correct horse' '$H/catalog.db'"
check "password not in job log" bash -c "! grep -rq 'correct horse' '$H/log'"

# --- hard links: stored once, restored as links (or with the data, when the
# first name is not restored); compression on and off
mkdir -p "$WORK/hl/a" "$WORK/hl/b"
head -c 300000 /dev/urandom > "$WORK/hl/a/f"
ln "$WORK/hl/a/f" "$WORK/hl/b/g"; ln "$WORK/hl/a/f" "$WORK/hl/h"
yes tapevault | head -c 2000000 > "$WORK/hl/text"
tv "$H" tape new lib VT0004L9 VT0005L9;  expect_rc 0 "two more tapes"
tv "$H" pool create hl --library lib --compression zstd:3; expect_rc 0 "pool with zstd:3"
tv "$H" pool create raw --library lib --compression none; expect_rc 0 "pool without compression"
tv "$H" pool create bad --library lib --compression lzma; expect_rc 2 "unknown compression is a usage error"
expect_err "use none, zstd or zstd:LEVEL" "says what compression takes"
tv "$H" pool list;                  expect_out "hl .*zstd:3" "pool list shows the compression"
tv "$H" write hl "$WORK/hl" --name links; expect_rc 0 "write hard links"
expect_err "bytes in, [0-9]+ bytes on 1 tape" "the summary says bytes in and on tape"
tv "$H" --json backups
check "the linked data is stored once, the text compressed" python3 -c 'import json,sys; s=[b for b in json.loads(sys.argv[1])["backups"] if b["name"]=="links"][0]; assert s["bytes"] == 2300000 and s["bytes_on_tape"] < 400000, s' "$OUT"
tv "$H" restore links --to "$WORK/hlr"; expect_rc 0 "restore hard links"
check "the three names are one file" test "$(stat -c %i "$WORK/hlr/$S/hl/a/f")" = "$(stat -c %i "$WORK/hlr/$S/hl/b/g")" -a "$(stat -c %i "$WORK/hlr/$S/hl/h")" = "$(stat -c %i "$WORK/hlr/$S/hl/a/f")"
check "with the data" cmp "$WORK/hl/a/f" "$WORK/hlr/$S/hl/h"
check "the compressed text is back" cmp "$WORK/hl/text" "$WORK/hlr/$S/hl/text"
tv "$H" restore links "$WORK/hl/b/g" --to "$WORK/hlg"; expect_rc 0 "restore only a later name"
check "it gets the data" cmp "$WORK/hl/a/f" "$WORK/hlg/$S/hl/b/g"
tv "$H" write raw "$WORK/hl/text" --name plaintext; expect_rc 0 "write without compression"
tv "$H" --json backups
check "stored as it is" python3 -c 'import json,sys; s=[b for b in json.loads(sys.argv[1])["backups"] if b["name"]=="plaintext"][0]; assert s["bytes_on_tape"] >= 2000000, s' "$OUT"
# --version: program, tape format, and the libraries it runs on
OUT=$("$T" --version 2>&1); RC=$?
expect_rc 0 "--version"
expect_out "^tapevault [0-9]+\.[0-9]+\.[0-9]+" "names the program version"
expect_out "tape format: writes version 2, reads version 2" "names the tape format versions"
expect_out "OpenSSL 3\.[0-9.]+.*SQLite 3\.[0-9.]+, zstd 1\.[0-9.]+" "names OpenSSL, SQLite and zstd"
OUT=$("$T" --json --version 2>&1); RC=$?
check "--json --version is one typed document" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["format_writes"]==2 and d["format_reads"]==[2] and d["openssl"].startswith("OpenSSL 3") and d["sqlite"] and d["zstd"], d' "$OUT"
# where the state lives without --home: as root the system's directory
# (as packaged), else the user's XDG data directory
if [ "$(id -u)" -eq 0 ] && [ ! -e /var/lib/tapevault ]; then
	OUT=$(env -u TAPEVAULT_HOME "$T" pool list 2>&1); RC=$?
	expect_rc 1 "root without --home and no installation"
	expect_out "no tapevault installation in /var/lib/tapevault" "root's state is /var/lib/tapevault"
fi
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	OUT=$(HOME=$WORK/nobody XDG_DATA_HOME= env -u TAPEVAULT_HOME setpriv --reuid=65534 --regid=65534 --clear-groups "$T" pool list 2>&1); RC=$?
	expect_out "no tapevault installation in $WORK/nobody/.local/share/tapevault" "another user's state is under its home"
fi
finish
