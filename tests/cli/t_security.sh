#!/usr/bin/env bash
# Issue 10 (security hardening), findings 1, 3, 4, 5 and 8, end to end:
# a backup file swapped for a plaintext one, the escrow authority's trust
# list and request age, escrow apply by tape UUID and only once, the local
# files' modes.  (Finding 5's forged slots and work budget: unit tests
# test_crypto_slot and test_jobs_home; finding 9: test_jobs_home.)
. "$(dirname "$0")/lib.sh"
secret pw "job password"; secret app "authority passphrase"; secret tpw "tape password"

# ---- finding 8: the catalog 0600 and the home 0700, wherever they are ----
umask 022
mkdir -m 755 "$WORK/pre"                       # a home made beforehand, too open
tv "$WORK/pre" init; expect_rc 0 "init in an existing directory"
check "home made 0700 at init" test "$(stat -c %a "$WORK/pre")" = 700
if ! pg_mode; then
	check "catalog created 0600" test "$(stat -c %a "$WORK/pre/catalog.db")" = 600
fi
mkdir -m 755 "$WORK/shared"
tv "$WORK/h2" init --catalog "sqlite:$WORK/shared/cat.db"; expect_rc 0 "init with --catalog elsewhere"
check "catalog elsewhere created 0600" test "$(stat -c %a "$WORK/shared/cat.db")" = 600
check "its home 0700" test "$(stat -c %a "$WORK/h2")" = 700
tv "$WORK/h2" library list                     # opens it: WAL files appear
for f in "$WORK/shared"/cat.db-*; do
	[ -e "$f" ] && check "$(basename "$f") is 0600 too" test "$(stat -c %a "$f")" = 600
done

# ---- finding 1: an encrypted backup file swapped for a plaintext one ----
A=$WORK/a; new_home a lib 20 || exit 1
tv "$A" password add job --hint "the job one" --password-file pw
mkdir -p src/real src/evil; echo "real data" > src/real/f; echo "attacker content" > src/evil/f
tv "$A" backup create src/real --out "$WORK/job.tvb" --encryption password:job; expect_rc 0 "encrypted backup file"
tv "$A" backup create src/evil --out "$WORK/evil.tvb"; expect_rc 0 "a plaintext one (the attacker's)"
mv "$WORK/evil.tvb" "$WORK/job.tvb"            # the swap
tv "$A" backup extract "$WORK/job.tvb" --to "$WORK/x1" --password-file pw
expect_rc 1 "extract with --password-file refuses a plaintext file"
expect_err "refused: the file is not encrypted, but it should be" "names the refusal"
check "nothing extracted" test ! -e "$WORK/x1"
tv "$A" backup extract "$WORK/job.tvb" --to "$WORK/x2"
expect_rc 0 "without a key a plaintext file is a plaintext file"
check "(and its content is what it is)" grep -q "attacker content" "$WORK/x2/evil/f"

# ---- escrow: two tapes with escrow slots, a fresh installation ----
AUTH=$WORK/auth; "$T" --home "$AUTH" -q init || exit 1
tv "$AUTH" escrow keygen --out "$WORK/ks.pem" --password-file app
tv "$AUTH" escrow public "$WORK/ks.pem" --out "$WORK/pub.pem" --password-file app
tv "$A" escrow enable --public "$WORK/pub.pem"
tv "$A" tape new lib VT0001L9 VT0002L9 --capacity 64M
tv "$A" password add tp --hint "lost" --password-file tpw
tv "$A" pool create p1 --library lib --encryption password:tp
tv "$A" pool create p2 --library lib --encryption password:tp
mkdir -p src/d1 src/d2; echo one > src/d1/f; echo two > src/d2/f
tv "$A" write p1 src/d1 --name s1; expect_rc 0 "tape 1"
tv "$A" write p2 src/d2 --name s2; expect_rc 0 "tape 2"
tv "$A" tape export VT0001L9 VT0002L9 --to "$WORK/box"
B=$WORK/b; new_home b lib 20
trust_writer "$A" "$B"
tv "$B" tape insert lib --copy "$WORK/box/VT0001L9.tap" "$WORK/box/VT0002L9.tap"
tv "$B" catalog lib
tv "$B" escrow request VT0001L9 VT0002L9 --out "$WORK/req.txt"; expect_rc 0 "request for two tapes"

# ---- finding 3: the authority answers trusted, fresh requests only ----
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/r0.txt" --password-file app --yes
expect_rc 1 "a request from an unknown identity is refused"
expect_err "does not trust" "says the identity is not trusted"
expect_err "SHA256:[0-9a-f]{64}" "and shows its fingerprint"
check "no response for it" test ! -e "$WORK/r0.txt"
tv "$B" identity export --out "$WORK/b.pub"; expect_rc 0 "identity export"; BFPR=$OUT
expect_out "^SHA256:[0-9a-f]{64}$" "prints the identity's fingerprint"
tv "$B" identity export --out "$WORK/b.pub"; expect_rc 1 "export never overwrites"
tv "$AUTH" escrow trust add "$WORK/pub.pem"; expect_rc 1 "an RSA key is not an identity"
expect_err "not an installation identity" "says so"
tv "$AUTH" escrow trust add "$WORK/b.pub" --name b; expect_rc 0 "escrow trust add"
expect_out "$BFPR" "prints the same fingerprint"
tv "$AUTH" escrow trust list; expect_out "$BFPR +b " "trust list shows it"

# forged requests: B's own identity key re-signs an edited request, as a
# thief of an old request or of B's key could (stale, future); an edited
# byte without re-signing; another installation's key
forge() { # forge IN OUT CREATED_OFFSET_SECONDS [flip]
	python3 - "$1" "$2" "$3" "$B/keys/identity.pem" "${4:-}" <<'PY'
import base64, hashlib, struct, sys, time
from cryptography.hazmat.primitives.serialization import load_pem_private_key
src, dst, off, keyf, flip = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lines = open(src).read().splitlines()
b64 = "".join(l for l in lines if l and not l.startswith("-----") and ":" not in l)
raw = bytearray(base64.b64decode(b64))
body, sig = raw[:-64], raw[-64:]
struct.pack_into(">Q", body, 24, int(time.time()) + off)
h = hashlib.sha256(b"tapevault escrow request v1" + bytes(body)).digest()
sig = load_pem_private_key(open(keyf, "rb").read(), None).sign(h)
out = bytearray(bytes(body) + sig)
if flip:
    out[len(body) - 5] ^= 1          # after signing: a tampered request
enc = base64.b64encode(bytes(out)).decode()
txt = ["-----BEGIN TAPEVAULT ESCROW REQUEST-----", "Version: 1", ""]
txt += [enc[i:i + 64] for i in range(0, len(enc), 64)]
txt += ["-----END TAPEVAULT ESCROW REQUEST-----"]
open(dst, "w").write("\n".join(txt) + "\n")
PY
}
forge "$WORK/req.txt" "$WORK/stale.txt" $((-40 * 86400))
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/stale.txt" --out "$WORK/r1.txt" --password-file app --yes
expect_rc 1 "a 40-day-old request is refused"; expect_err "40 day\(s\) ago: older than the 30 day\(s\) accepted" "says how old"
check "no response for it" test ! -e "$WORK/r1.txt"
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/stale.txt" --out "$WORK/r1.txt" --password-file app --yes --max-age 60
expect_rc 0 "--max-age 60 accepts it (the signature is B's)"
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/stale.txt" --out "$WORK/r1b.txt" --password-file app --yes --max-age 0
expect_rc 2 "--max-age 0 is a usage error"
forge "$WORK/req.txt" "$WORK/future.txt" 7200
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/future.txt" --out "$WORK/r2.txt" --password-file app --yes
expect_rc 1 "a request dated 2 hours ahead is refused"; expect_err "in the future" "says so"
forge "$WORK/req.txt" "$WORK/tampered.txt" 0 flip
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/tampered.txt" --out "$WORK/r3.txt" --password-file app --yes
expect_rc 1 "a tampered request is refused"; expect_err "signature does not verify" "says why"
C=$WORK/c; new_home c lib 20
trust_writer "$A" "$C"
tv "$C" tape insert lib --copy "$WORK/box/VT0001L9.tap"; tv "$C" catalog lib
tv "$C" escrow request VT0001L9 --out "$WORK/req-c.txt"; expect_rc 0 "another installation's request"
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req-c.txt" --out "$WORK/r4.txt" --password-file app --yes
expect_rc 1 "its identity is not trusted: refused"
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req-c.txt" --out "$WORK/r4.txt" --password-file app --trust-new
expect_rc 1 "--trust-new without a terminal and without --yes: not trusted"
expect_err "no terminal to confirm on" "asks for a confirmation it cannot get"
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req-c.txt" --out "$WORK/r4.txt" --password-file app --trust-new --yes
expect_rc 0 "--trust-new --yes answers"; expect_out "NOT on this authority's trust list" "after showing it is new"
expect_err "added to the trust list" "and remembers it"
tv "$AUTH" escrow trust list; expect_out "c.* " "C is listed now"
CFPR=$(printf '%s\n' "$OUT" | grep -v "$BFPR" | awk 'NR>1{print $1}')
tv "$AUTH" escrow trust remove "$CFPR"; expect_rc 0 "escrow trust remove"
tv "$AUTH" escrow trust remove "$CFPR"; expect_rc 1 "removing it twice: not found"

# ---- finding 4: apply by tape UUID, once; the one-time key deleted ----
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/resp.txt" --password-file app --yes
expect_rc 0 "the trusted, fresh request is answered"
# the response's items in the other order: each item is bound to its tape
# UUID (GCM AAD), so it stays valid; it must unlock the right tapes
python3 - "$WORK/resp.txt" "$WORK/resp-rev.txt" <<'PY'
import base64, struct, sys
lines = open(sys.argv[1]).read().splitlines()
raw = base64.b64decode("".join(l for l in lines if l and not l.startswith("-----") and ":" not in l))
o = 4 + 2 + 2 + 16 + 32 + 32 + 8
n, = struct.unpack_from(">H", raw, o); o += 2 + n          # installation
n, = struct.unpack_from(">H", raw, o); o += 2 + n          # ephemeral key
count, = struct.unpack_from(">I", raw, o); o += 4
head, items = raw[:o], []
for _ in range(count):
    st = raw[o + 16]
    ln = 17 + (60 if st == 0 else 0)
    items.append(raw[o:o + ln]); o += ln
assert o == len(raw) and count == 2
enc = base64.b64encode(head + b"".join(reversed(items))).decode()
txt = ["-----BEGIN TAPEVAULT ESCROW RESPONSE-----", "Version: 1", ""]
txt += [enc[i:i + 64] for i in range(0, len(enc), 64)]
txt += ["-----END TAPEVAULT ESCROW RESPONSE-----"]
open(sys.argv[2], "w").write("\n".join(txt) + "\n")
PY
tv "$B" escrow apply "$WORK/resp-rev.txt"; expect_rc 0 "a response with its items reordered applies"
expect_err "VT0001L9: contents cataloged" "tape 1 cataloged"; expect_err "VT0002L9: contents cataloged" "tape 2 cataloged"
tv "$B" restore s1 --to "$WORK/rs1"; expect_rc 0 "restore set 1"
check "set 1 is tape 1's data" same_tree src/d1 "$WORK/rs1/$S/src/d1"
tv "$B" restore s2 --to "$WORK/rs2"; expect_rc 0 "restore set 2"
check "set 2 is tape 2's data" same_tree src/d2 "$WORK/rs2/$S/src/d2"
key_len=$(secret_sql "$B" "SELECT length(sealed_key) FROM escrow_requests")
check "the one-time key is deleted from the catalog" test "$key_len" = 0
applied=$(secret_sql "$B" "SELECT CASE WHEN applied IS NOT NULL THEN 1 ELSE 0 END FROM escrow_requests")
check "the request is marked applied" test "$applied" = 1
tv "$B" escrow apply "$WORK/resp.txt"; expect_rc 1 "a second apply (replay) is refused"
expect_err "applied already" "says it was applied already"

# ---- finding 5 on the CLI: a stored password is tried on a tape's slot
# by name first (the budget itself: unit tests) ----
D=$WORK/d; new_home d lib 20
trust_writer "$A" "$D"
tv "$D" password add tp --hint "lost" --password-file tpw
tv "$D" tape insert lib --copy "$WORK/box/VT0001L9.tap"
tv "$D" catalog lib; expect_rc 0 "catalog with the stored password"
expect_err "unlocked by password 'tp'" "the slot's own password opened it"
finish
