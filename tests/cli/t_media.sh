#!/usr/bin/env bash
# Media (issue 11): a write reuses an expired tape of its pool before a
# blank one; tape erase (refuses unexpired data without --force, asks unless
# --yes, the catalog forgets what was on the tape, a spanning set becomes
# incomplete, audited, --json), also on an emulated SCSI library; progress.
. "$(dirname "$0")/lib.sh"
H=$WORK/home
jq() { # jq PY-EXPR DESCRIPTION (d: the last stdout as JSON)
	check "$2" python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($1) else 1)" "$OUT"
}
tapes_of() { # tapes_of SETNAME: the barcodes of the set (from backups --json)
	"$T" --home "$H" --json backups | python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(','.join(b['tapes']) for b in d['backups'] if b['name'] == sys.argv[1]))" "$1"
}
new_home home lib 12 || { echo "not ok - setup"; exit 1; }
mkdir -p "$WORK/big" "$WORK/small"
head -c $((6 << 20)) /dev/urandom > "$WORK/big/r"
echo small > "$WORK/small/f"

# --- 2: a write reuses the pool's expired tapes before a blank one
tv "$H" tape new lib VT0005L9 VT0006L9 --capacity 4M; expect_rc 0 "two small tapes"
tv "$H" pool create short --library lib --retention 3s --compression none; expect_rc 0 "pool with retention"
tv "$H" write short "$WORK/big" --name fill;  expect_rc 0 "fill: a set over two tapes"
check "it filled VT0005L9 and went on to VT0006L9" test "$(tapes_of fill)" = "VT0005L9,VT0006L9"
tv "$H" tape new lib VT0001L9 VT0002L9 --capacity 4M; expect_rc 0 "blank tapes with lower barcodes"
sleep 4
tv "$H" expire;                              expect_rc 0 "expire"
tv "$H" tape list --pool short;              expect_out "^VT0005L9 +free +short" "the expired tape is a free tape of the pool"
tv "$H" write short "$WORK/small" --name again; expect_rc 0 "write again"
check "the expired tape is reused (same barcode), not a blank one" test "$(tapes_of again)" = "VT0005L9"
tv "$H" backups;                             expect_rc 0 "backups"
check "the old set is gone" bash -c "! printf '%s' \"\$1\" | grep -q ' fill '" _ "$OUT"
tv "$H" restore again --to "$WORK/r1";       expect_rc 0 "the new set restores"
check "restored right" test "$(cat "$WORK/r1/$S/small/f")" = small
tv "$H" tape list;                           expect_out "^VT0001L9 +free " "the blank tape stayed blank"
# --- 3: tape list: used space, last written, expiry
expect_out "^VT0005L9 +pool +short +[0-9a-f]{8}:1 +none +lib +[0-9.]+[KMGT]? +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z " \
	"tape list: the reused tape's used space, when it was last written and when it expires"
tv "$H" --json tape list
jq '[(isinstance(t["used"], int) and t["used"] > 0 and t["last_written"].endswith("Z") and t["expires"].endswith("Z")) for t in d["tapes"] if t["barcode"] == "VT0005L9"] == [True]' \
	"tape list --json: used (bytes), last_written and expires"

# --- 1: tape erase
tv "$H" pool create keep --library lib --compression none; expect_rc 0 "a pool that keeps for ever"
tv "$H" write keep "$WORK/small" --name kept; expect_rc 0 "a set kept for ever"
K=$(tapes_of kept)
check "on the blank tape" test "$K" = VT0001L9
tv "$H" tape erase "$K" --yes;               expect_rc 1 "erase refuses unexpired data"
expect_err "holds data that has not expired .*--force" "says why and what to do"
tv "$H" backups;                             expect_out " kept " "nothing changed"
OUT=$("$T" --home "$H" tape erase "$K" --force </dev/null 2>"$WORK/.err"); RC=$?; ERR=$(cat "$WORK/.err")
expect_rc 1 "without --yes and no terminal: refused"
expect_err "standard input is not a terminal; add --yes" "says to use --yes"
tv "$H" backups;                             expect_out " kept " "still nothing changed"
tv "$H" --json tape erase "$K" --force --yes; expect_rc 0 "erase --force --yes"
jq 'd["barcode"] == "VT0001L9" and d["erased"] is True and d["forced"] is True and [s["name"] for s in d["removed_sets"]] == ["kept"] and d["incomplete_sets"] == []' \
	"erase --json: the set that left the catalog"
tv "$H" backups;                             check "the set left the catalog" bash -c "! printf '%s' \"\$1\" | grep -q ' kept '" _ "$OUT"
tv "$H" files kept;                          expect_rc 1 "its files are gone"
tv "$H" tape list;                           expect_out "^VT0001L9 +free +- " "a blank free tape of no pool"
tv "$H" inventory lib VT0001L9;              expect_rc 0 "inventory"
expect_err "VT0001L9: blank tape" "the cartridge itself is blank"
tv "$H" audit;                               expect_out "tape erase .*VT0001L9" "the audit log records it"
tv "$H" jobs;                                expect_out " tape erase " "and the job history"
tv "$H" tape erase VT9999L9 --yes;           expect_rc 1 "an unknown tape"
expect_err "no tape VT9999L9 in the catalog" "names it"
tv "$H" tape erase;                          expect_rc 2 "erase without a barcode"
tv "$H" tape erase --help;                   expect_rc 0 "tape erase --help"
expect_out "refused unless --force" "help says it"

# an expired (not yet freed) media set: no --force needed
tv "$H" write short "$WORK/small" --name soon; expect_rc 0 "a set in the short pool"
E=$(tapes_of soon)
sleep 4
tv "$H" tape erase "$E" --yes;               expect_rc 0 "erase of expired data needs no --force"
tv "$H" backups;                             check "its sets left the catalog" bash -c "! printf '%s' \"\$1\" | grep -qE ' (soon|again) '" _ "$OUT"

# a set spanning the erased tape and another one becomes incomplete
tv "$H" write keep "$WORK/big" --name span;  expect_rc 0 "a set over two tapes"
SP=$(tapes_of span)
check "it spans two tapes" test "$(echo "$SP" | tr ',' ' ' | wc -w)" -eq 2
SECOND=${SP#*,}
tv "$H" --json tape erase "$SECOND" --force --yes; expect_rc 0 "erase its second tape"
jq 'd["removed_sets"] == [] and [s["name"] for s in d["incomplete_sets"]] == ["span"]' "erase --json: the set is incomplete"
expect_err "incomplete \(a tape erased\)" "says so"
tv "$H" --json backups
jq '[b["state"] for b in d["backups"] if b["name"] == "span"] == ["incomplete"]' "backups: the spanning set is incomplete"
tv "$H" restore span --to "$WORK/r2";         expect_rc 1 "and does not restore whole"
tv "$H" write keep "$WORK/small" --name after; expect_rc 0 "the next write of the pool"
check "starts a new media set (not on the first tape of the old one)" bash -c "[ \"\$1\" != \"\${2%%,*}\" ]" _ "$(tapes_of after)" "$SP"

# --- 4: progress: rate, time left, current item; only on a terminal or with --progress
tv "$H" write keep "$WORK/big" --name prog;  expect_rc 0 "a set to watch"
P=$(tapes_of prog); P=${P%%,*}
tv "$H" verify "$P";                         expect_rc 0 "verify, stderr not a terminal"
expect_no_err "MiB/s" "no progress line when stderr is not a terminal"
tv "$H" --progress verify "$P";              expect_rc 0 "verify --progress"
expect_err "verifying: +[0-9.]+% [0-9]+/[0-9]+ MiB, item [0-9]+, [0-9.]+ MiB/s, [0-9]+:[0-9]{2} left  $S/big/r" \
	"verify --progress: percent, rate, time left and the current item"
tv "$H" --progress restore prog --to "$WORK/r4"; expect_rc 0 "restore --progress"
expect_err "restoring: +[0-9.]+% .*[0-9.]+ MiB/s, [0-9]+:[0-9]{2} left" "restore: rate and time left"
tv "$H" --progress write keep "$WORK/small" --name prog2; expect_rc 0 "write --progress"
expect_err "writing: .*[0-9.]+ MiB/s, .* left  $S/small" "write: rate and the current item"
tv "$H" --progress catalog lib "$P";         expect_rc 0 "catalog --progress"
expect_err "cataloging: [0-9]+ MiB, 1/1, [0-9.]+ MiB/s, [0-9]+:[0-9]{2} left  $P" "catalog: tapes, rate, time left"
OUT=$(script -qec "'$T' --home '$H' verify $P" /dev/null 2>&1); RC=$?; ERR=$OUT
expect_rc 0 "verify on a terminal (script)"
expect_err $'\r''verifying: .* MiB/s, [0-9]+:[0-9]{2} left' "a terminal gets the line, redrawn in place"

# --- the same on an emulated SCSI library (ERASE through SG_IO)
H2=$WORK/scsi
"$T" --home "$H2" -q init && "$T" --home "$H2" -q library create sl --path "$WORK/sl" --slots 4 --scsi-emulation --drives 1 \
	|| { echo "not ok - scsi setup"; exit 1; }
tv "$H2" tape new sl VT0101L9;               expect_rc 0 "scsi: tape new"
tv "$H2" pool create sp --library sl;        expect_rc 0 "scsi: pool"
tv "$H2" write sp "$WORK/small" --name s;    expect_rc 0 "scsi: write"
tv "$H2" tape erase VT0101L9 --force --yes;  expect_rc 0 "scsi: erase"
tv "$H2" inventory sl VT0101L9;              expect_err "VT0101L9: blank tape" "scsi: the cartridge is blank"
tv "$H2" write sp "$WORK/small" --name s2;   expect_rc 0 "scsi: the erased tape is written again"
tv "$H2" restore s2 --to "$WORK/r3";         expect_rc 0 "scsi: and restores"

finish
