#!/usr/bin/env bash
# Issue 3 "must show": password pools, fresh-installation decrypt, key
# rotation and the key ring, non-last tapes, double encryption, tampering.
. "$(dirname "$0")/lib.sh"
SIMH="python3 $TV_SOURCE_DIR/tests/cli/simh.py"
A=$WORK/a
new_home a lib 30 || exit 1
secret pw1 "alpha one"; secret pw2 "bravo two"; secret pw3 "charlie three"; secret pwj "job secret"
secret wrong "not it"
tv "$A" password add p1 --hint "hint for p1" --password-file pw1; expect_rc 0 "password p1"
tv "$A" password add p2 --hint "hint for p2" --password-file pw2 --kdf argon2id; expect_rc 0 "password p2 (Argon2id)"
tv "$A" password add p3 --hint "hint for p3" --password-file pw3; expect_rc 0 "password p3"
tv "$A" password add px --hint x --password-file pw3 --kdf scrypt; expect_rc 2 "unknown KDF is a usage error"
tv "$A" password list;               expect_out "p2 .*argon2id .*hint for p2" "password list shows the KDF"
tv "$A" password add job --hint "the job one" --password-file pwj
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 VT0007L9 VT0008L9 --capacity 64M
mkdir -p src/s1 src/s2 src/s3 src/s4
echo "MARKER-7f3a9c-PLAINTEXT-SHOULD-NOT-APPEAR" > src/s1/secret-name-MARKER.txt
head -c 3000000 /dev/urandom > src/s1/data
for i in 2 3 4; do head -c $((500000 + i)) /dev/urandom > src/s$i/data; done

# --- rotation: P1, then P2, then none, then P3 (continue policy: a key
# change starts a new tape of the media set)
tv "$A" pool create rot --library lib --encryption password:p1; expect_rc 0 "pool on p1"
expect_err "password loss protection is off" "warns that escrow is off"
tv "$A" write rot src/s1 --name w1; expect_rc 0 "write under p1"
tv "$A" pool set rot --encryption password:p2; expect_rc 0 "rotate to p2"
tv "$A" write rot src/s2 --name w2; expect_rc 0 "write under p2"
tv "$A" pool set rot --encryption none; expect_rc 0 "switch to none"
tv "$A" write rot src/s3 --name w3; expect_rc 0 "write unencrypted"
tv "$A" pool set rot --encryption password:p3; expect_rc 0 "switch to p3"
tv "$A" write rot src/s4 --name w4; expect_rc 0 "write under p3"
tv "$A" tape list --pool rot
expect_out "VT0001L9 .*rot .*:1 .*encrypted .*p1" "tape 1 under p1"
expect_out "VT0002L9 .*rot .*:2 .*encrypted .*p2" "tape 2 under p2"
expect_out "VT0003L9 .*rot .*:3 .*none" "tape 3 plaintext"
expect_out "VT0004L9 .*rot .*:4 .*encrypted .*p3" "tape 4 under p3"
check "no plaintext marker on the encrypted tape" bash -c "! grep -q MARKER '$WORK/a-lib/VT0001L9.tap'"
check "no plaintext file name on the encrypted tape" bash -c "! grep -q secret-name '$WORK/a-lib/VT0001L9.tap'"
check "no password on tape or in state" bash -c "! grep -rq 'alpha one' '$WORK/a-lib' '$A'"
tv "$A" tape export VT0001L9 VT0002L9 VT0003L9 VT0004L9 --to "$WORK/box"

# fresh installation, knows only p3, catalogs all tapes incl. the last one
B=$WORK/b; new_home b lib 30
trust_writer "$A" "$B"
tv "$B" password add latest --hint "hint for p3" --password-file pw3
tv "$B" tape insert --copy lib "$WORK"/box/VT000{1,2,3,4}L9.tap
tv "$B" catalog lib;                 expect_rc 0 "catalog all tapes with only p3"
expect_err "key ring holds the keys of 2 other" "the last tape's key ring"
tv "$B" tape list;                   check "no tape left locked" bash -c "! printf '%s' \"\$1\" | grep -q locked" _ "$OUT"
tv "$B" backups
for s in w1 w2 w3 w4; do expect_out "$s .*restorable" "$s restorable"; done
tv "$B" restore w1 --to "$WORK/rb";  expect_rc 0 "restore w1 (p1 tape) via the key ring"
check "w1 byte-exact" same_tree src/s1 "$WORK/rb/$S/src/s1"

# fresh installation, only the early tape: needs its own password
C=$WORK/c; new_home c lib 30
trust_writer "$A" "$C"
tv "$C" tape insert --copy lib "$WORK/box/VT0001L9.tap"
tv "$C" catalog lib;                 expect_rc 0 "catalog leaves it locked"
expect_err "VT0001L9: encrypted, locked .*password p1 \(hint: hint for p1\)" "says which password (hint)"
tv "$C" tape list;                   expect_out "VT0001L9 .*encrypted/locked .*hint for p1.*fpr [0-9a-f]{16}" "tape list shows hint and key fingerprint"
tv "$C" backups;                     check "nothing restorable yet" bash -c "! printf '%s' \"\$1\" | grep -q restorable" _ "$OUT"
tv "$C" decrypt VT0001L9 --password-file pw3 --yes; expect_rc 1 "p3 refused for the early tape"
expect_err "wrong password for tape VT0001L9: it needs password p1 \(hint: hint for p1\)" "refusal names the needed key's hint"
expect_err "attempt\(s\) left" "tells about the retry limit"
tv "$C" decrypt VT0001L9 --password-file pw1 --yes; expect_rc 0 "decrypt with p1"
expect_err "protected by password p1 \(hint: hint for p1\)" "decrypt shows the hint first"
expect_err "contents cataloged" "decrypt catalogs the contents by itself"
tv "$C" restore w1 --to "$WORK/rc"; expect_rc 0 "restore after decrypt"
check "byte-exact after decrypt" same_tree src/s1 "$WORK/rc/$S/src/s1"
tv "$C" audit;                       expect_out "decrypt .*password p1" "audit records the unlock"

# back-off after repeated wrong passwords
D=$WORK/d; new_home d lib 30
trust_writer "$A" "$D"
tv "$D" tape insert --copy lib "$WORK/box/VT0002L9.tap"
tv "$D" catalog lib
for i in 1 2 3; do tv "$D" decrypt VT0002L9 --password-file wrong --yes; done
tv "$D" decrypt VT0002L9 --password-file pw2 --yes; expect_rc 1 "back-off after three wrong passwords"
expect_err "wait [0-9]+ s" "says how long to wait"

# --- a spanning set on an encrypted pool: decrypt a non-last tape
mkdir -p span; head -c $((90 * 1024 * 1024)) /dev/urandom > span/big; echo small > span/small
tv "$A" pool create sp --library lib --encryption password:p2
tv "$A" write sp span --name spanset; expect_rc 0 "spanning encrypted write"
tv "$A" tape list --pool sp;          tapes=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1}')
first=$(echo "$tapes" | head -1); last=$(echo "$tapes" | tail -1)
check "set spans two tapes" test "$first" != "$last"
tv "$A" tape export $tapes --to "$WORK/box2"
E=$WORK/e; new_home e lib 30
trust_writer "$A" "$E"
tv "$E" tape insert lib --copy "$WORK/box2/$first.tap" "$WORK/box2/$last.tap"
tv "$E" catalog lib;                  expect_rc 0 "both locked"
tv "$E" decrypt "$first" --password-file pw2 --yes; expect_rc 0 "decrypt the first (non-last) tape"
tv "$E" --json backups
check "its files are cataloged without another catalog run" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[b for b in d["backups"] if b["name"]=="spanset"][0]; assert s["files"]>=2, s' "$OUT"
tv "$E" decrypt "$last" --password-file pw2 --yes; expect_rc 0 "decrypt the last tape"
tv "$E" restore spanset --to "$WORK/re"; expect_rc 0 "restore the spanning set"
check "spanning set byte-exact" same_tree span "$WORK/re/$S/span"

# --- double encryption: job-encrypted backup file on an encrypted pool
tv "$A" backup create src/s1 --out "$WORK/job.tvb" --encryption password:job; expect_rc 0 "backup create (job password)"
check "no marker in the backup file" bash -c "! grep -q MARKER '$WORK/job.tvb'"
mkdir -p dbl; cp "$WORK/job.tvb" dbl/
tv "$A" pool create dbl --library lib --encryption password:p3
tv "$A" write dbl dbl --name double; expect_rc 0 "write backup file to encrypted pool"
tv "$A" tape list --pool dbl;        dt=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1; exit}')
tv "$A" tape export "$dt" --to "$WORK/box3"
F=$WORK/f; new_home f lib 30
trust_writer "$A" "$F"
tv "$F" tape insert lib "$WORK/box3/$dt.tap"
tv "$F" catalog lib
tv "$F" backups;                     expect_out "on locked $dt.*tape encrypted" "first: tape encrypted"
tv "$F" decrypt "$dt" --password-file pw3 --yes; expect_rc 0 "decrypt the tape (pool key)"
tv "$F" backups;                     expect_out "double .*backup encrypted" "then: backup encrypted"
tv "$F" restore double --to "$WORK/rf"; expect_rc 0 "restore gives the encrypted backup file"
check "restored backup file identical" cmp "$WORK/job.tvb" "$WORK/rf/$S/dbl/job.tvb"
tv "$F" backup extract "$WORK/rf/$S/dbl/job.tvb" --to "$WORK/xf" --password-file wrong; expect_rc 1 "wrong job password"
expect_err "wrong password" "clear wrong-password error"
check "nothing extracted on failure" test ! -e "$WORK/xf/s1"
tv "$F" backup extract "$WORK/rf/$S/dbl/job.tvb" --to "$WORK/xf" --password-file pwj; expect_rc 0 "extract with the job password"
check "double-encrypted tree byte-exact" same_tree src/s1 "$WORK/xf/s1"
tv "$F" restore double --to "$WORK/rx" --extract --password-file pwj; expect_rc 0 "restore --extract opens the inner layer"
check "restore --extract tree byte-exact" same_tree src/s1 "$WORK/rx/$S/dbl/job.tvb.extracted/s1"
head -c 100000 "$WORK/job.tvb" > "$WORK/trunc.tvb"
tv "$F" backup extract "$WORK/trunc.tvb" --to "$WORK/xt" --password-file pwj; expect_rc 1 "truncated backup file refused"
check "no partial output" test ! -e "$WORK/xt/s1"

# --- tampering: a flipped bit in an encrypted record
cp "$WORK/box/VT0002L9.tap" "$WORK/t2.tap"; cp "$WORK/box/VT0002L9.tap.json" "$WORK/t2.tap.json"
G=$WORK/g; new_home g lib 30
trust_writer "$A" "$G"
tv "$G" password add p2 --hint x --password-file pw2
$SIMH flip "$WORK/t2.tap" 2 1 >/dev/null   # the data file (file 3 is the catalog)
tv "$G" tape insert lib "$WORK/t2.tap"
tv "$G" catalog lib;                 expect_rc 0 "catalog the tampered tape (catalog file intact)"
tv "$G" verify VT0002L9;             expect_rc 1 "verify detects the flipped bit"
expect_err "VT0002L9 file 2 record 1" "verify names tape, file and record"
tv "$G" restore w2 --to "$WORK/rg";  expect_rc 1 "restore reports the tampered file"
expect_err "file 2 record 1" "restore names the record"

# --- a label edited to carry another pool's key slot does not decrypt
python3 - "$WORK/box/VT0004L9.tap" "$WORK/box/VT0001L9.tap" "$WORK/swap.tap" <<'PY'
import struct, sys
def parse(path):
    d = open(path, "rb").read(); pos = 0; out = []
    while pos + 4 <= len(d):
        (n,) = struct.unpack_from("<I", d, pos)
        if n == 0: out.append(None); pos += 4; continue
        ln = n & 0x7FFFFFFF; out.append(d[pos+4:pos+4+ln]); pos += 8 + ln + (ln & 1)
    return out
def build(recs):
    b = bytearray()
    for r in recs:
        if r is None: b += b"\0\0\0\0"; continue
        b += struct.pack("<I", len(r)) + r + (b"\0" if len(r) & 1 else b"") + struct.pack("<I", len(r))
    return bytes(b)
a, b = parse(sys.argv[1]), parse(sys.argv[2])
# replace tape file 1 (media set label) of a with that of b
def files(recs):
    fs, cur = [], []
    for r in recs:
        if r is None: fs.append(cur); cur = []
        else: cur.append(r)
    return fs, cur
fa, ta = files(a); fb, _ = files(b)
fa[1] = fb[1]
out = []
for f in fa: out += f + [None]
out += ta
open(sys.argv[3], "wb").write(build(out))
PY
printf '{"barcode": "VT0009L9", "capacity": 67108864, "early_warning": 62914560, "write_protected": false}\n' > "$WORK/swap.tap.json"
H=$WORK/h; new_home h lib 30
trust_writer "$A" "$H"
tv "$H" password add p1 --hint x --password-file pw1
tv "$H" tape insert lib "$WORK/swap.tap"
tv "$H" catalog lib;                 expect_rc 1 "swapped label: refused"
# the media set label signs the volume label of the tape it was written on
expect_err "VT0009L9 file 1 record 0: the writer signature of the labels does not verify" "as a forgery (it signs another tape's volume label)"
tv "$H" tape list;                   expect_no_err "VT0009L9 .*(restorable|unlocked)" "swapped label: nothing of it is readable"
tv "$H" decrypt VT0009L9 --password-file pw1 --yes; expect_rc 1 "decrypt with the other pool's password fails"
finish
