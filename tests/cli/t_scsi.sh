#!/usr/bin/env bash
# Issue 14 "must show", on the emulated SCSI library (changer and 2 LTO
# drives answering SCSI commands in-process): tape load/unload/move,
# LTO hardware encryption (no plaintext on the cartridges, a fresh
# installation with the password or the KMS unlocks and restores, a read
# without the key gives the drive's sense and names the tape and its key),
# LOCATE for a single-file restore, and the emulator's faults (a robot
# that fails, a medium error mid-write, an unreadable label): each a clear
# message and nothing lost.
. "$(dirname "$0")/lib.sh"
TT=$TAPEVAULT_TEST
ttv() { # ttv HOME FAULTS args...: the test build with emulator faults
	local home=$1 faults=$2; shift 2
	OUT=$(TAPEVAULT_TEST_SCSI_FAULT="$faults" "$TT" --home "$home" "$@" 2>"$WORK/.err"); RC=$?
	ERR=$(cat "$WORK/.err")
}
scsi_home() { # scsi_home NAME: an installation with an emulated library "lib"
	"$T" --home "$WORK/$1" -q init || return 1
	"$T" --home "$WORK/$1" -q library create lib --path "$WORK/$1-lib" --slots 12 --drives 2 \
		--mailslots 1 --scsi-emulation
}
out_lacks() { # out_lacks REGEX description  (stdout)
	if printf '%s' "$OUT" | grep -Eq -- "$1"; then fail "$2 (stdout has /$1/)"; else pass "$2"; fi
}
# the records of an image: clear tapevault records in the labels (files 0
# and 1), and after them how many the drive encrypted, how many are clear
records() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(); o = 0; f = 0; labels = enc = clear = 0
while o + 4 <= len(d):
    n, = struct.unpack('<I', d[o:o+4])
    if n == 0: f += 1; o += 4; continue
    if n == 0xffffffff: break
    l = n & 0xffffff; r = d[o+4:o+4+l]; o += 8 + l + (l & 1)
    if f < 2: labels += r.startswith(b'TVR2')
    elif r.startswith(b'TVEMUENC'): enc += 1
    elif r.startswith(b'TVR2'): clear += 1
print(labels, enc, clear)
PY
}

A=$WORK/a; scsi_home a || exit 1
tv "$A" library status lib --scan;   expect_rc 0 "library status --scan (INITIALIZE ELEMENT STATUS)"
expect_out "Storage Changer lib \(emulated TAPEVALT EMULATED LIB" "status names the changer INQUIRY reports"
expect_out "2 Drives, 13 Slots \( 1 Import/Export \)" "mtx-style counts"
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 --capacity 16M
expect_rc 0 "blank cartridges into the emulated library"

# ---- tape load / unload / move ----
tv "$A" tape load lib VT0001L9 --drive 1; expect_rc 0 "tape load --drive 1"
expect_err "VT0001L9: loaded into drive 1" "says where"
tv "$A" tape load lib VT0002L9;          expect_rc 0 "tape load (first empty drive)"
tv "$A" library status lib
expect_out "Data Transfer Element 0:Full \(Storage Element 2 Loaded\):VolumeTag = VT0002L9" "drive 0 holds VT0002L9 from slot 2"
expect_out "Data Transfer Element 1:Full \(Storage Element 1 Loaded\):VolumeTag = VT0001L9" "drive 1 holds VT0001L9 from slot 1"
tv "$A" tape load lib VT0003L9 --drive 0; expect_rc 1 "load into a full drive refuses"
expect_err "drive 0 of library lib is full \(VT0002L9 loaded\)" "says which cartridge is there"
tv "$A" tape unload lib --drive 1;       expect_rc 0 "tape unload --drive 1"
expect_err "VT0001L9: drive 1 unloaded into slot 1" "back into its slot"
tv "$A" tape unload lib;                 expect_rc 0 "tape unload (every drive)"
tv "$A" tape unload lib --drive 0;       expect_rc 1 "unload of an empty drive"
tv "$A" tape move lib VT0003L9 mail:1;   expect_rc 0 "tape move BARCODE mail:1"
tv "$A" library status lib
expect_out "Storage Element 13 IMPORT/EXPORT:Full :VolumeTag=VT0003L9" "in the mail slot"
tv "$A" tape move lib mail:1 drive:1;    expect_rc 0 "tape move mail:1 drive:1"
tv "$A" tape move lib drive:1 slot:3;    expect_rc 0 "tape move drive:1 slot:3 (the drive ejects first)"
tv "$A" tape move lib slot:11 slot:12;   expect_rc 1 "move from an empty slot"
expect_err "slot 11 is empty" "names the empty slot"
tv "$A" tape move lib slot:1 slot:2;     expect_rc 1 "move onto a full slot"
expect_err "slot 2 is full \(VT0002L9\)" "names what is there"
tv "$A" tape move lib slot:1 shelf:2;    expect_rc 2 "an element that is none is a usage error"
tv "$A" library status lib;              expect_out "Storage Element 3:Full :VolumeTag=VT0003L9" "VT0003L9 back in slot 3"
tv "$A" --json library status lib
expect_out '"kind": "emulated scsi"' "--json says the kind"
tv "$A" library add real --changer /dev/sg-tapevault-none --drive /dev/nst-tapevault-none
expect_rc 1 "library add of a changer that is not there fails"
expect_err "cannot open /dev/sg-tapevault-none" "names the device"
tv "$A" library list;                    out_lacks "^real " "and registers nothing"

# ---- LOCATE for a single-file restore ----
mkdir -p src/big; head -c 3000000 /dev/urandom > src/big/a; head -c 2000000 /dev/urandom > src/big/b
echo "the small one" > src/big/z
tv "$A" pool create plain --library lib; expect_rc 0 "pool on the emulated library"
tv "$A" write plain src/big --name big;  expect_rc 0 "write to the emulated drive"
tv "$A" -v restore big "$S/src/big/z" --to "$WORK/rz"; expect_rc 0 "single-file restore"
check "restored byte-exact" cmp src/big/z "$WORK/rz/$S/src/big/z"
expect_err "tape VT000[0-9]L9: [0-9]+ records read, [0-9]+ bytes, [0-9]+ positioning operations, [1-9][0-9]* LOCATE commands" "restore -v counts the LOCATE commands"
recs=$(printf '%s' "$ERR" | sed -n 's/.* \([0-9]*\) records read.*/\1/p' | head -1)
check "the restore read $recs record(s), not the 20 of the tape file" test "${recs:-99}" -le 3
tv "$A" -v restore big --to "$WORK/rall"; expect_rc 0 "whole set"
check "whole set byte-exact" same_tree src/big "$WORK/rall/$S/src/big"

# ---- LTO hardware encryption ----
secret pw "hardware password"
mkdir -p src/hw; echo "HW-MARKER-5a5a5a5a" > src/hw/marker.txt; head -c 600000 /dev/urandom > src/hw/data
tv "$A" password add hwp --hint "the hardware one" --password-file pw
tv "$A" pool create hw --library lib --encryption password:hwp --drive-encryption on
expect_rc 0 "pool with drive encryption"
tv "$A" pool show hw;                    expect_out "drive encryption: on" "pool show says so"
tv "$A" pool create noslot --library lib --drive-encryption on
expect_rc 1 "drive encryption without key slots refuses"
expect_err "give the pool a key first" "says what to do"
tv "$A" library create dirlib --path "$WORK/dirlib" --slots 2
tv "$A" pool create dirpool --library dirlib --encryption password:hwp --drive-encryption on
expect_rc 1 "drive encryption on a virtual library refuses"
expect_err "virtual library, whose drives cannot encrypt" "says why"
tv "$A" -v write hw src/hw --name hwset; expect_rc 0 "write with drive encryption"
expect_err "the drive encrypts its data \(key fingerprint [0-9a-f]{32}\)" "write -v names the drive key's fingerprint"
HWT=$(printf '%s' "$ERR" | sed -n 's/.*tape \(VT[0-9]*L9\): the drive encrypts.*/\1/p' | head -1)
check "no plaintext marker on the emulated cartridges" bash -c "! grep -q HW-MARKER '$WORK'/a-lib/*.tap"
read -r labels enc clear < <(records "$WORK/a-lib/$HWT.tap")
check "the drive encrypted the data records ($enc encrypted, $clear clear)" test "$enc" -gt 2 -a "$clear" -eq 0
check "the labels stay clear ($labels clear label records)" test "$labels" -eq 2
check "the key left the drive at the end of the job" bash -c "! grep -q '\"key\"' '$WORK/a-lib/emulator-drives.json'"
tv "$A" tape list;                       FPR=$(printf '%s' "$OUT" | sed -n "s/^$HWT .*\[fpr \([0-9a-f]*\)\].*/\1/p")
check "tape list shows the key fingerprint" test -n "$FPR"
tv "$A" restore hwset --to "$WORK/rhw";  expect_rc 0 "restore here"
check "restored byte-exact" same_tree src/hw "$WORK/rhw/$S/src/hw"
tv "$A" verify "$HWT";                   expect_rc 0 "verify with the key in the drive"
tv "$A" write hw src/big/z --name hw2;   expect_rc 0 "append with drive encryption"
tv "$A" tape export "$HWT" --to "$WORK/box"; expect_rc 0 "export the encrypted cartridge"

# a fresh installation with the password
B=$WORK/b; scsi_home b; trust_writer "$A" "$B"
tv "$B" tape insert lib --copy "$WORK/box/$HWT.tap"; expect_rc 0 "insert into a fresh installation"
tv "$B" catalog lib;                     expect_rc 0 "catalog: the clear labels are read"
expect_err "$HWT: encrypted, locked .*password hwp \(hint: the hardware one\)" "locked, names the password and hint"
tv "$B" verify "$HWT";                   expect_rc 1 "a read without the key fails"
expect_err "DATA PROTECT, unable to decrypt data \(ASC/ASCQ 74h/01h\)" "with the drive's sense"
expect_err "$HWT in drive 0 of library lib" "naming the tape"
expect_err "key-associated data $FPR" "and its key's fingerprint"
tv "$B" decrypt "$HWT" --password-file pw --yes; expect_rc 0 "decrypt with the password"
tv "$B" restore hwset --to "$WORK/rb";   expect_rc 0 "restore in the fresh installation"
check "byte-exact from the fresh installation" same_tree src/hw "$WORK/rb/$S/src/hw"
tv "$B" restore hw2 --to "$WORK/rb2";    expect_rc 0 "the appended set too"
check "appended set byte-exact" cmp src/big/z "$WORK/rb2/$S/src/big/z"

# a fresh installation with the KMS
KMSH=$TV_SOURCE_DIR/tests/kms/pykmip-server.sh
KD=$WORK/kms
export KMS_WATCH_PID=$$
if out=$(bash "$KMSH" start "$KD"); then
	eval "$out"
	cleanup_hooks+=("bash '$KMSH' stop '$KD' >/dev/null 2>&1")
	kms_add() { tv "$1" kms add "$2" --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"; }
	kms_add "$A" corp;                   expect_rc 0 "kms add"
	tv "$A" pool create hwk --library lib --encryption kms:corp --drive-encryption on
	expect_rc 0 "KMS pool with drive encryption"
	echo "KMS-HW-MARKER" > src/hw/kms.txt
	tv "$A" -v write hwk src/hw --name hwkset; expect_rc 0 "write to the KMS pool"
	KT=$(printf '%s' "$ERR" | sed -n 's/.*tape \(VT[0-9]*L9\): the drive encrypts.*/\1/p' | head -1)
	check "no plaintext on the KMS cartridge" bash -c "! grep -q KMS-HW-MARKER '$WORK/a-lib/$KT.tap'"
	tv "$A" tape export "$KT" --to "$WORK/box2"
	C=$WORK/c; scsi_home c; kms_add "$C" corp; trust_writer "$A" "$C"
	tv "$C" tape insert lib --copy "$WORK/box2/$KT.tap"
	tv "$C" catalog lib;                 expect_rc 0 "a fresh installation with the KMS catalogs"
	expect_err "$KT: cataloged .*unlocked by" "unlocked by the KMS"
	tv "$C" restore hwkset --to "$WORK/rc"; expect_rc 0 "and restores"
	check "byte-exact through the KMS" same_tree src/hw "$WORK/rc/$S/src/hw"
else
	echo "$out"; fail "PyKMIP server did not start (is python3-pykmip installed?)"
fi

# ---- faults ----
# the installed binary has no fault hooks: it ignores the variable
OUT=$(TAPEVAULT_TEST_SCSI_FAULT=move_fail=1 "$T" --home "$A" tape load lib VT0004L9 2>"$WORK/.err"); RC=$?; ERR=$(cat "$WORK/.err")
expect_rc 0 "tapevault (not the test build) ignores TAPEVAULT_TEST_SCSI_FAULT"
tv "$A" tape unload lib
# the robot fails: a clear message, the cartridge where it was
ttv "$A" move_fail=1 tape load lib VT0004L9; expect_rc 1 "MOVE MEDIUM fails"
expect_err "moving VT0004L9 from slot 4 to drive 0 failed: HARDWARE ERROR, mechanical positioning error \(ASC/ASCQ 15h/01h\)" "with the changer's sense"
expect_err "nothing was written or lost" "says nothing was lost"
tv "$A" library status lib;              expect_out "Storage Element 4:Full :VolumeTag=VT0004L9" "the cartridge is still in its slot"
ttv "$A" move_fail=1 write plain src/hw --name robot; expect_rc 1 "a write whose load fails"
expect_err "mechanical positioning error" "says why"
tv "$A" backups;                         out_lacks " robot " "the failed write left no set"
tv "$A" write plain src/hw --name robot; expect_rc 0 "the same write without the fault"
tv "$A" restore robot --to "$WORK/rr";   expect_rc 0 "restores"
check "byte-exact after the robot fault" same_tree src/hw "$WORK/rr/$S/src/hw"

# a medium error mid-write: the drive refuses a record of the tape the
# job appends to; that tape is given up (marked full), what the job wrote
# to it goes again to another tape, and the set is complete
head -c 4000000 /dev/urandom > src/big/c
tv "$A" tape list --pool plain;          BEFORE=$(printf '%s' "$OUT" | grep -c '^VT')
ttv "$A" write_medium_error=6 write plain src/big --name mid; expect_rc 0 "a medium error mid-write: the job goes on with another tape"
expect_err "MEDIUM ERROR, write error \(ASC/ASCQ 0Ch/00h\)" "with the drive's sense"
expect_err "VT000[0-9]L9 in drive 0 of library lib" "naming the tape and drive"
BAD=$(printf '%s' "$ERR" | sed -n 's/.*tape \(VT000[0-9]L9\) failed: the .*/\1/p' | head -1)
check "the failed tape is named" test -n "$BAD"
expect_err "tape $BAD failed: the [0-9]+ item\(s\) this job wrote to it are written again to another tape; $BAD is marked full" "says its part is written again and the tape is not used again"
expect_err "writing tape VT000[0-9]L9 \(pool plain" "a new tape takes over"
expect_err "tape $BAD failed during this job: everything the job had written to it was written again" "the summary names it again"
tv "$A" --json backups;                  expect_rc 0 "backups"
check "the set is complete, every file on another tape than the failed one" python3 -c '
import json,sys; d=json.loads(sys.argv[1])["backups"]; s=[b for b in d if b["name"]=="mid"]
assert len(s)==1 and s[0]["status"]=="complete" and s[0]["state"]=="restorable" and s[0]["files"]==int(sys.argv[3]) and not s[0]["problems"], s
assert sys.argv[2] not in s[0]["tapes"], s' "$OUT" "$BAD" "$(find src/big | wc -l)"
tv "$A" --json tape list --pool plain
check "the failed tape is marked full" python3 -c '
import json,sys; t={x["barcode"]:x for x in json.loads(sys.argv[1])["tapes"]}
assert t[sys.argv[2]]["full"] is True, t[sys.argv[2]]' "$OUT" "$BAD"
tv "$A" library status lib;              expect_out "Data Transfer Element 0:Empty" "the cartridges left the drive"
tv "$A" restore big --to "$WORK/rbig";   expect_rc 0 "the earlier set on the failed tape still restores"
check "byte-exact" cmp src/big/a "$WORK/rbig/$S/src/big/a"
tv "$A" restore mid --to "$WORK/rmid";   expect_rc 0 "the set restores"
check "byte-exact after the medium error" same_tree src/big "$WORK/rmid/$S/src/big"
tv "$A" write plain src/hw --name after; expect_rc 0 "the next write"
expect_err "writing tape|appending to tape" "takes a tape"
out_lacks "appending to tape $BAD" "and never appends to the failed tape"
printf '%s' "$ERR" | grep -q "appending to tape $BAD" && fail "the next write appended to $BAD" || pass "the next write does not append to $BAD"
# a fresh installation reads every tape of the pool, the failed one too
F=$WORK/f; scsi_home f; trust_writer "$A" "$F"
tv "$A" tape list --pool plain;          PT=$(printf '%s' "$OUT" | awk '/^VT/{print $1}')
for t in $PT; do tv "$A" tape export "$t" --to "$WORK/boxm"; tv "$F" tape insert lib --copy "$WORK/boxm/$t.tap"; done
tv "$F" catalog lib;                     expect_rc 0 "a fresh installation catalogs them, the failed tape among them"
tv "$F" restore mid --to "$WORK/fmid";   expect_rc 0 "and restores the set"
check "byte-exact on the fresh installation" same_tree src/big "$WORK/fmid/$S/src/big"
for t in $PT; do tv "$F" tape export "$t" --to "$WORK/boxm2"; tv "$A" tape insert lib --copy "$WORK/boxm2/$t.tap" >/dev/null 2>&1; done

# a cartridge whose label the changer cannot read
tv "$A" tape list --pool plain;          LT=$(printf '%s' "$OUT" | awk '/^VT/{print $1; exit}')
ttv "$A" "unreadable_tag=$LT" library status lib; expect_rc 0 "status with an unreadable label"
expect_out "Full \(volume tag unreadable: vendor specific: unable to read the bar code label \(ASC/ASCQ 83h/09h\)\)" "shows the element and the changer's code"
ttv "$A" "unreadable_tag=$LT" restore big --to "$WORK/rlab"; expect_rc 1 "a restore from that cartridge fails"
expect_err "cartridge $LT is not in library lib, as far as the changer can tell: slot [0-9]+ holds a cartridge whose volume tag it cannot read" "says the label is unreadable and where"
ttv "$A" "unreadable_tag=$LT" catalog lib; expect_err "slot [0-9]+ holds a cartridge whose volume tag the changer cannot read .*: it was not read" "catalog names the cartridge it passed over"
tv "$A" restore big --to "$WORK/rlab2";  expect_rc 0 "with the label readable again, it restores"
check "nothing lost" cmp src/big/a "$WORK/rlab2/$S/src/big/a"

# the hardware checklist sites run, on the emulation
OUT=$(TMPDIR=$WORK TAPEVAULT=$T bash "$TV_SOURCE_DIR/tools/hwtest.sh" emulated 2>&1); RC=$?; ERR=
expect_rc 0 "tools/hwtest.sh emulated: every step passes"
expect_out "\[PASS\] a read without the key is refused by the drive" "its encryption steps ran"
expect_out " 0 failed" "and it says so"
finish
