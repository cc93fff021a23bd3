#!/usr/bin/env bash
# Issue 10, finding 2: a tape without a writer signature (written by a
# tapevault from before signatures, or by something else) is an unknown
# writer: a fresh installation records its labels but catalogs nothing of
# it, until the operator says --trust-writer unsigned (docs/SECURITY.md 4.1).
# The unsigned tape is made the way an older tapevault wrote it: the
# signature item taken out of the media set label (CRCs recomputed) and no
# signed session catalog, by tests/cli/strip_label_sig.py.
. "$(dirname "$0")/lib.sh"
STRIP=$TV_SOURCE_DIR/tests/cli/strip_label_sig.py

A=$WORK/a; new_home a lib 20 || exit 1
mkdir -p src/d; echo "old data" > src/d/f; head -c 50000 /dev/urandom > src/d/r
tv "$A" tape new lib VT0001L9 --capacity 64M
tv "$A" pool create p --library lib
tv "$A" write p src/d --name oldset;   expect_rc 0 "A writes a plaintext set"
tv "$A" tape export VT0001L9 --to "$WORK/box"
A_FPR=$(writer_fpr "$A")
cp "$WORK/box/VT0001L9.tap" "$WORK/u.tap"; cp "$WORK/box/VT0001L9.tap.json" "$WORK/u.tap.json"
python3 "$STRIP" "$WORK/u.tap" --catalog
check "the labels lost their signature" python3 - "$WORK/u.tap" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
pos, f = 0, 0
while True:                       # record 0 of tape file 1
    (n,) = struct.unpack_from("<I", d, pos)
    if n == 0:
        f += 1; pos += 4; continue
    if f == 1:
        break
    pos += 8 + n + (n & 1)
body, off, tags = d[pos + 4 + 72:pos + 4 + n], 0, []
while off < len(body):
    t, l = struct.unpack_from(">HI", body, off); tags.append(t); off += 6 + l
sys.exit(7 in tags or 6 not in tags)
EOF

# without --trust-writer unsigned: labels shown, contents not cataloged
F=$WORK/f; new_home f lib 20 || exit 1
tv "$F" tape insert lib --copy "$WORK/u.tap"
tv "$F" catalog lib
expect_rc 1 "an unsigned tape is not cataloged"
expect_err "VT0001L9: untrusted writer unsigned: pool p" "its labels are shown, the writer named unsigned"
expect_err "catalog lib --trust-writer unsigned" "says what to run"
check "no backup set from it" bash -c "! '$T' --home '$F' backups | grep -q oldset"
tv "$F" catalog lib --trust-writer "$A_FPR"
expect_rc 1 "a writer's fingerprint does not accept an unsigned tape"
check "still no backup set" bash -c "! '$T' --home '$F' backups | grep -q oldset"

# with it: cataloged (by a scan: no signed catalog), and restorable
tv "$F" catalog lib --trust-writer unsigned
expect_rc 0 "--trust-writer unsigned catalogs it"
expect_err "tape VT0001L9: carries no writer signature; read as --trust-writer unsigned says" "and says why"
tv "$F" backups;                       expect_out "oldset" "its set is listed"
tv "$F" restore oldset --to "$WORK/r"; expect_rc 0 "and restores"
check "byte-exact" same_tree src/d "$WORK/r/$S/src/d"

# --trust-writer unsigned is about unsigned tapes only: a signed tape of an
# unknown writer still needs its fingerprint
G=$WORK/g; new_home g lib 20 || exit 1
tv "$G" tape insert lib --copy "$WORK/box/VT0001L9.tap"
tv "$G" catalog lib --trust-writer unsigned
expect_rc 1 "--trust-writer unsigned does not accept a signed tape of an unknown writer"
expect_err "untrusted writer $A_FPR" "which is named by its fingerprint"
finish
