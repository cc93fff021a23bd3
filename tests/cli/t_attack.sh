#!/usr/bin/env bash
# Whoever holds a tape can rewrite every byte of it.  On an encrypted tape
# nothing a forger writes without the key is taken: a plaintext data file or
# catalog appended to it, a bit flipped in any header (with every CRC fixed
# up), a relabeled tape that claims to be plaintext.  Each is refused, named
# by tape, file and record; nothing is restored from it; the job exits 1.
. "$(dirname "$0")/lib.sh"
SIMH="python3 $TV_SOURCE_DIR/tests/cli/simh.py"

# --- the victim: an encrypted tape with one set ---------------------------
A=$WORK/a
new_home a lib 10 || exit 1
secret pw "victim password"
mkdir -p src/sub
for i in 1 2 3; do head -c $((20000 + i)) /dev/urandom > src/f$i; done
echo "genuine" > src/sub/g
tv "$A" password add p --hint h --password-file pw
tv "$A" tape new lib VT0001L9 VT0002L9 --capacity 64M
tv "$A" pool create enc --library lib --encryption password:p
tv "$A" write enc src --name s;        expect_rc 0 "victim writes an encrypted set"
SET=$OUT
tv "$A" tape export VT0001L9 --to "$WORK/box"
CLEAN=$WORK/clean.tap; cp "$WORK/box/VT0001L9.tap" "$CLEAN"
tv "$A" tape insert lib "$WORK/box/VT0001L9.tap"

# --- the forger: a plaintext tape with a file of his --------------------------
F=$WORK/f
new_home f lib 10 || exit 1
mkdir -p evil; echo "FORGED-MARKER" > evil/x
tv "$F" tape new lib VT0009L9 --capacity 64M
tv "$F" pool create plain --library lib --compression none
tv "$F" write plain evil --name e;     expect_rc 0 "forger writes a plaintext tape"
EVIL=$WORK/f-lib/VT0009L9.tap

# the data file claims the victim's set: patch the set UUID in its data
# header (the first TLV item of the body) and fix the CRCs up
python3 - "$EVIL" "$SET" "$TV_SOURCE_DIR/tests/cli" <<'PY'
import struct, sys, uuid
img, set_uuid = sys.argv[1], uuid.UUID(sys.argv[2]).bytes
data = bytearray(open(img, "rb").read())
# simh.py runs main() on import: read its helpers by executing the parts we need
src = open(sys.argv[3] + "/simh.py").read().replace("\nmain()\n", "\n")
ns = {}
exec(src, ns)
for kind, f, r, off, ln in ns["records"](data):
    if kind == "rec" and f == 2 and r == 0:
        body = off + 32 + 40
        assert struct.unpack_from(">HI", data, body) == (1, 16)
        data[body + 6:body + 22] = set_uuid
        data[off:off + ln] = ns["fix_record"](bytes(data[off:off + ln]))
open(img, "wb").write(data)
PY

# --- 1. a forged plaintext data file and catalog appended -------------------
FORGED=$WORK/forged/VT0001L9.tap; mkdir -p "$WORK/forged"
cp "$CLEAN" "$FORGED"
$SIMH append-files "$FORGED" "$EVIL" 2 2
nf=$($SIMH list "$FORGED" | awk '$1=="fm"' | wc -l)
check "two tape files appended (now $nf)" test "$nf" -eq 6
B=$WORK/b; new_home b lib 10
trust_writer "$A" "$B"   # B recovers A's tapes: it trusts A's identity
tv "$B" password add p --hint h --password-file pw
tv "$B" tape insert lib --copy "$FORGED"
tv "$B" catalog lib;                   expect_rc 1 "catalog exits 1"
expect_err "VT0001L9 file 5 record 0: plaintext tape file on an encrypted tape" "the forged catalog is refused, named"
expect_err "VT0001L9 file 4 record 0: plaintext tape file on an encrypted tape" "the forged data file is refused, named"
tv "$B" restore s --to "$WORK/rb";     expect_rc 0 "the genuine set restores"
check "the genuine files come back" same_tree src "$WORK/rb/$S/src"
check "nothing of the forger's is restored" bash -c "! grep -rq FORGED-MARKER '$WORK/rb'"
tv "$B" verify VT0001L9;               expect_rc 1 "verify exits 1"
expect_err "VT0001L9 file 4 record 0" "verify names the forged file"
# the installation that wrote the tape refuses it too
cp "$FORGED" "$WORK/a-lib/VT0001L9.tap"
tv "$A" catalog lib VT0001L9;          expect_rc 1 "the writer's installation refuses the forged files"
tv "$A" restore s --to "$WORK/ra";     expect_rc 0 "and restores the genuine set"
check "nothing of the forger's there either" bash -c "! grep -rq FORGED-MARKER '$WORK/ra'"
cp "$CLEAN" "$WORK/a-lib/VT0001L9.tap"

# --- 2. a bit flipped in every kind of header, CRCs fixed up -----------------
# flip KIND FILE REC OFF: a fresh installation catalogs and restores the
# tampered tape; the damage must be named, and nothing of it restored
flip_case() {
	local what=$1 file=$2 rec=$3 off=$4 img=$WORK/t-$1/VT0001L9.tap home=$WORK/h-$1
	mkdir -p "$WORK/t-$1"
	cp "$CLEAN" "$img"
	$SIMH flip "$img" "$file" "$rec" "$off" fix >/dev/null
	new_home "h-$what" lib 10
	trust_writer "$A" "$home"
	tv "$home" password add p --hint h --password-file pw
	tv "$home" tape insert lib "$img"
	tv "$home" catalog lib;        CAT_RC=$RC; CAT_ERR=$ERR
	tv "$home" restore s --to "$WORK/r-$what"; RST_RC=$RC; RST_ERR=$ERR
	tv "$home" verify VT0001L9;    VER_RC=$RC; VER_ERR=$ERR
}
named() { printf '%s\n%s\n%s\n' "$CAT_ERR" "$RST_ERR" "$VER_ERR" | grep -Eq -- "$1"; }

# the volume label (file 0): bound into the media set label's tag
flip_case vol 0 0 $((32 + 40 + 30))
check "volume label edited: refused (catalog exit $CAT_RC)" test "$CAT_RC" -eq 1
check "named: VT0001L9 file 1 record 0" named "VT0001L9 file 1 record 0"
check "nothing restored" test ! -e "$WORK/r-vol/$S/src/f1"
# the media set label (file 1): its pool name, say
flip_case ms 1 0 $((32 + 40 + 8))
check "media set label edited: refused (catalog exit $CAT_RC)" test "$CAT_RC" -eq 1
check "named: VT0001L9 file 1 record 0" named "VT0001L9 file 1 record 0"
check "nothing restored" test ! -e "$WORK/r-ms/$S/src/f1"
# the data file's content header (file 2 record 0): the catalog job reads
# only the (authenticated) catalog file; restoring the set and verifying
# read the data file from its start, and refuse it there
flip_case dhdr 2 0 $((32 + 40 + 10))
check "data file header edited: restore refuses it (exit $RST_RC)" test "$RST_RC" -eq 1
check "verify refuses it (exit $VER_RC)" test "$VER_RC" -eq 1
check "named: VT0001L9 file 2 record 0" named "VT0001L9 file 2 record 0"
check "nothing restored from it" test ! -e "$WORK/r-dhdr/$S/src/f1"
# a data record's header (file 2 record 1): its sequence number
flip_case rhdr 2 1 20
check "record header edited: restore exits 1 ($RST_RC)" test "$RST_RC" -eq 1
check "named: VT0001L9 file 2 record 1" named "VT0001L9 file 2 record 1"
check "verify exits 1 ($VER_RC)" test "$VER_RC" -eq 1
check "nothing restored from it" test ! -e "$WORK/r-rhdr/$S/src/f1"
# a frame header (file 2 record 1, the first frame's raw length)
flip_case fhdr 2 1 $((32 + 13))
check "frame header edited: restore exits 1 ($RST_RC)" test "$RST_RC" -eq 1
check "named: VT0001L9 file 2 record 1" named "VT0001L9 file 2 record 1"
check "nothing restored from it" test ! -e "$WORK/r-fhdr/$S/src/f1"
# an entry header (encrypted, inside the first frame)
flip_case ehdr 2 1 $((32 + 48 + 20))
check "entry header edited: restore exits 1 ($RST_RC)" test "$RST_RC" -eq 1
check "named: VT0001L9 file 2 record 1" named "VT0001L9 file 2 record 1"
check "nothing restored from it" test ! -e "$WORK/r-ehdr/$S/src/f1"
# a catalog item (the catalog file, file 3 record 1): refused, the tape is
# scanned instead, and the genuine set still comes back
flip_case cat 3 1 $((32 + 48 + 20))
check "catalog item edited: catalog exits 1 ($CAT_RC)" test "$CAT_RC" -eq 1
check "named: VT0001L9 file 3 record 1" named "VT0001L9 file 3 record 1"
check "the scan recovers the genuine set ($RST_RC)" test "$RST_RC" -eq 0
check "its files are byte-exact" same_tree src "$WORK/r-cat/$S/src"

# --- 3. a relabeled tape that claims to be plaintext -------------------------
# the forger splices a plaintext media set label (his) into the tape
RELABEL=$WORK/relabel/VT0001L9.tap; mkdir -p "$WORK/relabel"
$SIMH replace-file "$CLEAN" 1 "$EVIL" "$RELABEL"
cp "$RELABEL" "$WORK/a-lib/VT0001L9.tap"
tv "$A" inventory lib VT0001L9;        expect_rc 1 "the writer's installation refuses the relabeled tape"
# the forger's signed label does not sign A's volume label: a forgery
expect_err "VT0001L9 file 1 record 0: (the label now says the tape is not encrypted|the writer signature of the labels does not verify)" "named, with why"
tv "$A" tape list;                     expect_out "VT0001L9 .*encrypted" "the tape stays encrypted in its catalog"
tv "$A" restore s --to "$WORK/rr";     expect_rc 0 "its genuine set still restores (the key is the installation's)"
check "byte-exact" same_tree src "$WORK/rr/$S/src"
cp "$CLEAN" "$WORK/a-lib/VT0001L9.tap"
# a fresh installation believes the label, but the data files are sealed
C=$WORK/c; new_home c lib 10
trust_writer "$A" "$C"
tv "$C" tape insert lib "$RELABEL"
tv "$C" catalog lib;                   expect_rc 1 "a fresh installation: catalog exits 1"
# the spliced label carries the forger's signature over another volume
# label: refused as a forgery before anything else is read
expect_err "VT0001L9 file 1 record 0: the writer signature of the labels does not verify" "the spliced label is refused as a forgery, named"
tv "$C" backups
check "no restorable set from it" bash -c "! printf '%s' \"\$0\" | grep -q restorable" "$OUT"
finish
