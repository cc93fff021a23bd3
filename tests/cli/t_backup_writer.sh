#!/usr/bin/env bash
# Issue 10, finding 2 for backup files: anyone with the escrow public key or
# a KMS RSA public key can make a whole backup file with a fresh data key and
# valid slots.  So 'backup create' signs the file with the installation's
# identity (docs/FORMAT.md section 16: the header, and every byte in a
# trailer); 'backup extract' and 'restore --extract' read what this
# installation and its trusted writers made, name an unknown writer (and
# how to trust it), refuse a forged, cut or unsigned file (an unsigned one
# is read with --trust-writer unsigned) and leave nothing of it behind.
. "$(dirname "$0")/lib.sh"
secret pw "job password"

A=$WORK/a; new_home a lib 20 || exit 1
B=$WORK/b; new_home b lib 20 || exit 1
mkdir -p src/d/sub; echo "genuine" > src/d/f; head -c 300000 /dev/urandom > src/d/sub/r
A_FPR=$(writer_fpr "$A"); B_FPR=$(writer_fpr "$B")
check "both installations have an identity" test -n "$A_FPR" -a -n "$B_FPR"
version() { od -An -tu1 -j4 -N2 "$1" | awk '{print $1 * 256 + $2}'; }
nothing() { check "$1: nothing extracted" test ! -e "$2"; }

# --- (a) a signed round trip ------------------------------------------------
tv "$A" backup create src/d --out "$WORK/a.tvb";          expect_rc 0 "backup create (plaintext)"
check "the file is signed: format version 2" test "$(version "$WORK/a.tvb")" = 2
check "it ends with the signature trailer" bash -c "tail -c 170 '$WORK/a.tvb' | head -c 4 | grep -q TVBT"
tv "$A" backup extract "$WORK/a.tvb" --to "$WORK/x1";    expect_rc 0 "its own file extracts"
expect_no_err "not known here|no writer signature" "no writer question for its own file"
check "byte-exact" same_tree src/d "$WORK/x1/d"
tv "$A" password add job --hint "the job one" --password-file pw
tv "$A" backup create src/d --out "$WORK/e.tvb" --encryption password:job; expect_rc 0 "backup create (encrypted)"
check "encrypted and signed: version 2" test "$(version "$WORK/e.tvb")" = 2
tv "$A" backup extract "$WORK/e.tvb" --to "$WORK/x1e" --password-file pw; expect_rc 0 "encrypted own file extracts"
check "byte-exact (encrypted)" same_tree src/d "$WORK/x1e/d"

# --- (b) a file made by another installation --------------------------------
tv "$B" backup extract "$WORK/a.tvb" --to "$WORK/x2"
expect_rc 1 "B refuses A's file"
expect_err "backup file .*a\.tvb: written by installation $A_FPR, not known here" "names the writer's fingerprint"
expect_err "--trust-writer $A_FPR" "says --trust-writer FPR"
expect_err "identity trust" "and 'identity trust'"
nothing "untrusted writer" "$WORK/x2"
tv "$B" backup extract "$WORK/e.tvb" --to "$WORK/x2e" --password-file pw
expect_rc 1 "B refuses A's encrypted file too, with the right password"
expect_err "written by installation $A_FPR, not known here" "names the writer"
nothing "untrusted writer, encrypted" "$WORK/x2e"
tv "$B" backup extract "$WORK/a.tvb" --to "$WORK/x2" --trust-writer "$B_FPR"
expect_rc 1 "another fingerprint given does not help"
tv "$B" backup extract "$WORK/a.tvb" --to "$WORK/x2" --trust-writer nonsense
expect_rc 2 "a --trust-writer that is no fingerprint is a usage error"
tv "$B" backup extract "$WORK/a.tvb" --to "$WORK/x2" --trust-writer "$A_FPR"
expect_rc 0 "--trust-writer FPR accepts it"
expect_err "trusted from now on" "and says it is trusted from now on"
check "byte-exact after --trust-writer" same_tree src/d "$WORK/x2/d"
tv "$B" identity list;                 expect_out "trusted .*$A_FPR" "A is on B's trust list"
tv "$B" backup extract "$WORK/e.tvb" --to "$WORK/x2e" --password-file pw
expect_rc 0 "then A's other files need nothing more"
C=$WORK/c; new_home c lib 20 || exit 1
tv "$C" backup extract "$WORK/a.tvb" --to "$WORK/x3";  expect_rc 1 "C refuses A's file"
trust_writer "$A" "$C"
tv "$C" backup extract "$WORK/a.tvb" --to "$WORK/x3";  expect_rc 0 "after 'identity trust' C reads it"
check "byte-exact after identity trust" same_tree src/d "$WORK/x3/d"

# --- (c) forged files: refused, named, nothing left -------------------------
sz=$(stat -c %s "$WORK/a.tvb")
forge() { # forge NAME OFFSET: a copy of a.tvb with one byte changed at OFFSET
	cp "$WORK/a.tvb" "$WORK/$1"
	printf '\x55' | dd of="$WORK/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
forge hdr.tvb 30
tv "$A" backup extract "$WORK/hdr.tvb" --to "$WORK/f1"; expect_rc 1 "a byte of the header changed"
expect_err "hdr\.tvb: backup header damaged" "named"
nothing "header" "$WORK/f1"
python3 - "$WORK/hdr.tvb" <<'EOF'
import hashlib, struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
b = struct.unpack_from(">I", d, 8)[0]
d[12 + b:44 + b] = hashlib.sha256(d[:12 + b]).digest()   # the forger fixes the hash
open(sys.argv[1], "wb").write(d)
EOF
tv "$A" backup extract "$WORK/hdr.tvb" --to "$WORK/f1"; expect_rc 1 "... and with its hash recomputed"
expect_err "hdr\.tvb: the writer signature of the header does not verify .*forgery or damage, refused" "the header signature does not verify"
nothing "header, hash fixed" "$WORK/f1"
forge mid.tvb $((sz / 2))
tv "$A" backup extract "$WORK/mid.tvb" --to "$WORK/f2"; expect_rc 1 "a byte in the middle changed"
expect_err "mid\.tvb: checksum mismatch at chunk" "named"
nothing "middle" "$WORK/f2"
forge sig.tvb $((sz - 10))
tv "$A" backup extract "$WORK/sig.tvb" --to "$WORK/f3"; expect_rc 1 "a byte of the trailer's signature changed"
expect_err "sig\.tvb: the writer signature of the file's contents does not verify" "the contents' signature does not verify"
nothing "trailer signature" "$WORK/f3"
check "no temporary directory left either" bash -c "! ls -A '$WORK' | grep -q tvtmp"
head -c $((sz / 2)) "$WORK/a.tvb" > "$WORK/half.tvb"
tv "$A" backup extract "$WORK/half.tvb" --to "$WORK/f4"; expect_rc 1 "truncated in the middle"
expect_err "half\.tvb: truncated" "named"
nothing "truncated" "$WORK/f4"
head -c $((sz - 170)) "$WORK/a.tvb" > "$WORK/strip.tvb"
tv "$A" backup extract "$WORK/strip.tvb" --to "$WORK/f5"; expect_rc 1 "the trailer stripped"
expect_err "strip\.tvb: truncated: the file ends after its last chunk, without the writer signature" "says the signature is missing"
nothing "trailer stripped" "$WORK/f5"
head -c $((sz - 30)) "$WORK/a.tvb" > "$WORK/cut.tvb"
tv "$A" backup extract "$WORK/cut.tvb" --to "$WORK/f6"; expect_rc 1 "cut in the trailer"
nothing "cut in the trailer" "$WORK/f6"
tv "$A" backup extract "$WORK/strip.tvb" --to "$WORK/f5" --trust-writer unsigned
expect_rc 1 "--trust-writer unsigned does not make a stripped signed file readable"
nothing "trailer stripped, --trust-writer unsigned" "$WORK/f5"

# --- (d) an unsigned file (the format before signatures) --------------------
TAPEVAULT_TEST_UNSIGNED=backup "$TAPEVAULT_TEST" --home "$A" -q backup create src/d --out "$WORK/old.tvb"
check "the test hook made a version 1 file" test "$(version "$WORK/old.tvb")" = 1
tv "$A" backup extract "$WORK/old.tvb" --to "$WORK/u1"
expect_rc 1 "an unsigned file is refused, even by the installation that made it"
expect_err "backup file .*old\.tvb: no writer signature, nothing proves who wrote it" "says it is unsigned"
expect_err "--trust-writer unsigned" "and how to read it anyway"
nothing "unsigned" "$WORK/u1"
tv "$B" backup extract "$WORK/old.tvb" --to "$WORK/u1" --trust-writer "$A_FPR"
expect_rc 1 "a fingerprint does not accept an unsigned file"
tv "$A" backup extract "$WORK/old.tvb" --to "$WORK/u1" --trust-writer unsigned
expect_rc 0 "--trust-writer unsigned reads it"
expect_err "carries no writer signature; read as --trust-writer unsigned says" "and says so"
check "byte-exact (unsigned)" same_tree src/d "$WORK/u1/d"

# --- restore --extract: the inner file's writer is checked too -------------
tv "$B" password add job --hint "the job one" --password-file pw
mkdir -p jobs
tv "$B" backup create src/d --out "$WORK/jobs/bjob.tvb" --encryption password:job; expect_rc 0 "B makes an encrypted backup file"
D=$WORK/dd; new_home dd lib 20 || exit 1
tv "$D" tape new lib VT0001L9 --capacity 64M
tv "$D" pool create p --library lib
tv "$D" write p jobs --name jobs;       expect_rc 0 "D writes B's file to tape"
tv "$D" restore jobs --to "$WORK/r1" --extract --password-file pw
expect_rc 1 "restore --extract refuses the inner file of an unknown writer"
expect_err "bjob\.tvb: backup file .*bjob\.tvb: written by installation $B_FPR, not known here" "names the file and its writer"
check "the restored file itself is there" test -f "$WORK/r1/$S/jobs/bjob.tvb"
nothing "restore --extract, unknown writer" "$WORK/r1/$S/jobs/bjob.tvb.extracted"
trust_writer "$B" "$D"
tv "$D" restore jobs --to "$WORK/r2" --extract --password-file pw
expect_rc 0 "after 'identity trust' restore --extract opens it"
check "restore --extract byte-exact" same_tree src/d "$WORK/r2/$S/jobs/bjob.tvb.extracted/d"
finish
