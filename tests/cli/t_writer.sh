#!/usr/bin/env bash
# Issue 10, finding 2: key slots do not prove who wrote a tape.  Anyone
# with the escrow authority's public key (or a KMS RSA public key) can write
# a whole tape with a fresh data key and valid slots.  Every installation
# signs what it writes with its Ed25519 identity; a reader catalogs what its
# own and trusted identities wrote, refuses a signature that does not verify
# (a forgery, not a question), and asks before it catalogs the contents of a
# tape by an unknown writer (--trust-writer FPR, 'identity trust', or yes on
# a terminal).
. "$(dirname "$0")/lib.sh"
SIMH_PY=$TV_SOURCE_DIR/tests/cli/simh.py
secret pw "victim password"; secret app "authority passphrase"; secret fpw "forger password"

# the escrow authority: its public key is public
AUTH=$WORK/auth; "$T" --home "$AUTH" -q init || exit 1
tv "$AUTH" escrow keygen --out "$WORK/ks.pem" --password-file app
tv "$AUTH" escrow public "$WORK/ks.pem" --out "$WORK/escrow.pub" --password-file app

# --- the victim A: an encrypted pool with escrow, and a plaintext pool ------
A=$WORK/a; new_home a lib 20 || exit 1
mkdir -p src; echo "genuine" > src/g; head -c 30000 /dev/urandom > src/r
tv "$A" password add p --hint h --password-file pw
tv "$A" escrow enable --public "$WORK/escrow.pub"
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 --capacity 64M
tv "$A" pool create enc --library lib --encryption password:p
tv "$A" pool create plain --library lib --compression none
tv "$A" pool create plainb --library lib --compression none
tv "$A" write enc src --name genuine;   expect_rc 0 "A writes an encrypted set (password + escrow slots)"
tv "$A" write plain src --name plainset; expect_rc 0 "A writes a plaintext set"
tv "$A" write plainb src --name plain2; PLAIN2_RC=$RC
tv "$A" tape list
T_ENC=$(printf '%s\n' "$OUT" | awk '$3=="enc"{print $1; exit}')
T_PLAIN=$(printf '%s\n' "$OUT" | awk '$3=="plain"{print $1; exit}')
T_PLAIN2=$(printf '%s\n' "$OUT" | awk '$3=="plainb"{print $1; exit}')
tv "$A" tape export $T_ENC $T_PLAIN ${T_PLAIN2:+$T_PLAIN2} --to "$WORK/box"
A_FPR=$(writer_fpr "$A")
check "A has an identity fingerprint" test -n "$A_FPR"
tv "$A" catalog lib;                    expect_rc 0 "A catalogs its own tapes without a question"
expect_no_err "untrusted|not known here" "no writer question for its own tapes"

# --- identity list / trust ---------------------------------------------------
tv "$A" --json identity list;           expect_rc 0 "identity list --json"
check "lists A's own fingerprint" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["own"]==sys.argv[2] and d["trusted"]==[], d' "$OUT" "$A_FPR"

# --- the forger F: the escrow public key and a fresh data key ---------------
F=$WORK/f; new_home f lib 10 || exit 1
mkdir -p evil; echo "FORGED-MARKER" > evil/x
tv "$F" password add p --hint h --password-file fpw
tv "$F" escrow enable --public "$WORK/escrow.pub"; expect_rc 0 "the forger uses the (public) escrow key"
tv "$F" tape new lib VT0009L9 --capacity 64M
tv "$F" pool create enc --library lib --encryption password:p
tv "$F" write enc evil --name genuine;  expect_rc 0 "the forger writes a whole tape with valid slots"
F_FPR=$(writer_fpr "$F")
check "another identity" test "$F_FPR" != "$A_FPR"

# B recovers A: it trusts A's identity, not F's
B=$WORK/b; new_home b lib 10
tv "$A" identity export --out "$WORK/a.pub"
tv "$B" identity trust "$WORK/a.pub";   expect_rc 0 "B trusts A"; expect_out "^$A_FPR\$" "identity trust prints the fingerprint"
expect_err "trusted installation $A_FPR" "and says what it did"
tv "$B" identity trust "$WORK/a.pub";   expect_rc 0 "trusting twice is harmless"
tv "$B" password add p --hint h --password-file pw
tv "$B" tape insert lib --copy "$WORK/box/$T_ENC.tap" "$WORK/f-lib/VT0009L9.tap"
tv "$B" catalog lib;                    expect_rc 1 "the forged tape is not cataloged: exit 1"
expect_err "VT0009L9: untrusted writer $F_FPR" "shown with the writer's fingerprint"
expect_err "VT0009L9: untrusted writer .*pool enc, media set sequence 1, encrypted, key: password p \\(hint: h\\)" "its labels are shown (pool, key, hint)"
expect_err "run: tapevault catalog lib --trust-writer $F_FPR" "the command to run is named"
expect_err "$T_ENC: cataloged" "A's tape is cataloged"
tv "$B" backups
check "only one set named genuine: A's" test "$(printf '%s\n' "$OUT" | grep -c genuine)" = 1
tv "$B" restore genuine --to "$WORK/rb"; expect_rc 0 "the genuine set restores"
check "A's files" same_tree src "$WORK/rb/$S/src"
check "nothing of the forger's" bash -c "! grep -rq FORGED-MARKER '$WORK/rb'"
tv "$B" catalog lib VT0009L9;           expect_rc 1 "asked again: still not without trust"
# the operator decides: --trust-writer catalogs it (and trusts F from now on)
tv "$B" catalog lib VT0009L9 --trust-writer "$F_FPR"; expect_rc 0 "--trust-writer FPR: cataloged"
expect_err "written by installation $F_FPR: trusted from now on" "says the writer is trusted now"
tv "$B" --json identity list
check "F is on the trust list now" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert sys.argv[2] in [t["fingerprint"] for t in d["trusted"]], d' "$OUT" "$F_FPR"
tv "$B" catalog lib --trust-writer nonsense; expect_rc 2 "a malformed fingerprint is a usage error"

# --- signatures that do not verify: forgeries, refused, never asked ----------
# sig IMG FILE ACTION [FROM]: edit the media set label's signature (tag 7)
sig() {
	python3 - "$@" "$SIMH_PY" <<'PY'
import struct, sys
img, action = sys.argv[1], sys.argv[2]
frm = sys.argv[3] if len(sys.argv) > 4 else None
src = open(sys.argv[-1]).read().replace("\nmain()\n", "\n")
ns = {}; exec(src, ns)
def find(data, fileno, recno=0):
    for kind, f, r, off, ln in ns["records"](data):
        if kind == "rec" and f == fileno and r == recno:
            return off, ln
def sig_item(data):
    off, ln = find(data, 1)
    body = off + 32 + 40
    blen = struct.unpack_from(">I", data, off + 32 + 32)[0]
    at = body
    while at < body + blen:
        tag, n = struct.unpack_from(">HI", data, at)
        if tag == 7:
            return off, ln, at, 6 + n
        at += 6 + n
    raise SystemExit("no signature")
data = bytearray(open(img, "rb").read())
off, ln, at, n = sig_item(data)
if action == "flip":
    data[at + n - 10] ^= 0x01            # inside the Ed25519 signature
elif action == "copy":
    other = bytearray(open(frm, "rb").read())
    o_off, o_ln, o_at, o_n = sig_item(other)
    assert o_n == n
    data[at:at + n] = other[o_at:o_at + o_n]
data[off:off + ln] = ns["fix_record"](bytes(data[off:off + ln]))
open(img, "wb").write(data)
PY
}
C=$WORK/c; new_home c lib 10
trust_writer "$A" "$C"
mkdir -p "$WORK/t"
cp "$WORK/box/$T_PLAIN.tap" "$WORK/t/$T_PLAIN.tap"
sig "$WORK/t/$T_PLAIN.tap" flip
tv "$C" tape insert lib "$WORK/t/$T_PLAIN.tap"
tv "$C" catalog lib;                    expect_rc 1 "a flipped signature bit: refused"
expect_err "$T_PLAIN file 1 record 0: the writer signature of the labels does not verify" "named as a forgery, by tape, file and record"
expect_no_err "untrusted writer|--trust-writer" "not asked as a trust question"
tv "$C" catalog lib --trust-writer "$A_FPR"; expect_rc 1 "--trust-writer does not override a forgery"
tv "$C" backups
check "nothing cataloged from it" bash -c "! printf '%s' \"\$0\" | grep -q plainset" "$OUT"
# a valid signature copied from another tape of the same installation
if [ "$PLAIN2_RC" -eq 0 ] && [ -n "$T_PLAIN2" ]; then
	D=$WORK/d; new_home d lib 10
	trust_writer "$A" "$D"
	mkdir -p "$WORK/t2"; cp "$WORK/box/$T_PLAIN.tap" "$WORK/t2/$T_PLAIN.tap"
	sig "$WORK/t2/$T_PLAIN.tap" copy "$WORK/box/$T_PLAIN2.tap"
	tv "$D" tape insert lib "$WORK/t2/$T_PLAIN.tap"
	tv "$D" catalog lib;                expect_rc 1 "a signature copied from another tape: refused"
	expect_err "$T_PLAIN file 1 record 0: the writer signature of the labels does not verify" "named as a forgery"
else
	fail "a second plaintext tape for the copied-signature case (write exit $PLAIN2_RC)"
fi

# --- the catalog file is signed too: an item edited on a plaintext tape -------
E=$WORK/e; new_home e lib 10
trust_writer "$A" "$E"
mkdir -p "$WORK/t3"; cp "$WORK/box/$T_PLAIN.tap" "$WORK/t3/$T_PLAIN.tap"
python3 - "$WORK/t3/$T_PLAIN.tap" "$SIMH_PY" <<'PY'
import struct, sys
img = sys.argv[1]
src = open(sys.argv[2]).read().replace("\nmain()\n", "\n")
ns = {}; exec(src, ns)
data = bytearray(open(img, "rb").read())
recs = [x for x in ns["records"](data) if x[0] == "rec"]
last_file = max(f for _, f, _, _, _ in recs)
off, ln = [(o, l) for k, f, r, o, l in recs if f == last_file and r == 1][0]
p = data.find(b"plainset", off, off + ln)
assert p > 0
data[p] = ord("P")                        # the set's name, in a catalog item
frame = off + 32                          # the first frame, stored (method 0)
assert data[frame:frame + 4] == b"TVF2" and data[frame + 4] == 0
u = struct.unpack_from(">I", data, frame + 12)[0]
struct.pack_into(">I", data, frame + 20, ns["crc32c"](bytes(data[frame + 48:frame + 48 + u])))
data[off:off + ln] = ns["fix_record"](bytes(data[off:off + ln]), False)
open(img, "wb").write(data)
PY
tv "$E" tape insert lib "$WORK/t3/$T_PLAIN.tap"
tv "$E" catalog lib;                    expect_rc 1 "an edited catalog item: the catalog is refused"
expect_err "the catalog's writer signature does not verify" "named"
expect_err "scanning the tape" "the tape is scanned instead"
tv "$E" backups
check "the edited name is not taken" bash -c "! printf '%s' \"\$0\" | grep -q Plainset" "$OUT"

# --- decrypt of a tape by an unknown writer: --trust-writer there too ---------
G=$WORK/g; new_home g lib 10
tv "$G" tape insert lib --copy "$WORK/box/$T_ENC.tap"
tv "$G" catalog lib;                    expect_rc 1 "untrusted: labels recorded, contents not"
tv "$G" tape list;                      expect_out "$T_ENC" "its labels are in the catalog (for decrypt / escrow)"
tv "$G" decrypt "$T_ENC" --password-file pw --yes; expect_rc 1 "decrypt without trust: contents not cataloged"
expect_err "written by installation $A_FPR, not known here" "says who wrote it"
tv "$G" decrypt "$T_ENC" --password-file pw --yes --trust-writer "$A_FPR"; expect_rc 0 "decrypt --trust-writer"
tv "$G" restore genuine --to "$WORK/rg"; expect_rc 0 "and the set restores"
check "byte-exact" same_tree src "$WORK/rg/$S/src"

# --- on a terminal: one question per writer, explained ------------------------
if command -v script >/dev/null; then
	I=$WORK/i; new_home i lib 10
	tv "$I" tape insert lib --copy "$WORK/box/$T_PLAIN.tap" "$WORK/box/$T_PLAIN2.tap"
	OUT=$(printf 'n\n' | script -qec "'$T' --home '$I' catalog lib" /dev/null 2>&1); RC=$?; ERR=$OUT
	expect_rc 1 "answered no: not cataloged"
	expect_err "was written by installation $A_FPR, not known here" "the question names the writer"
	check "asked once for two tapes of one writer" test "$(printf '%s\n' "$OUT" | grep -c 'Trust it')" = 1
	OUT=$(printf 'y\n' | script -qec "'$T' --home '$I' catalog lib" /dev/null 2>&1); RC=$?; ERR=$OUT
	expect_rc 0 "answered yes: cataloged"
	check "asked once for two tapes" test "$(printf '%s\n' "$OUT" | grep -c 'Trust it')" = 1
	expect_err "installation $A_FPR is trusted from now on" "says so"
	tv "$I" --json identity list
	check "on the trust list as confirmed" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [(t["fingerprint"],t["how"]) for t in d["trusted"]]==[(sys.argv[2],"confirmed")], d' "$OUT" "$A_FPR"
fi
finish
