#!/usr/bin/env bash
# Issue 5 "must show": password loss protection through an escrow
# authority that needs nothing but the tapevault binary.
. "$(dirname "$0")/lib.sh"
secret app "authority passphrase"; secret pw "forgotten soon"
AUTH=$WORK/auth                      # the authority's machine: the key set, its trust list
"$T" --home "$AUTH" -q init || exit 1
tv "$AUTH" escrow keygen --out "$WORK/ks.pem" --password-file app; expect_rc 0 "escrow keygen"
expect_out "^SHA256:[0-9a-f]{64}$" "prints the fingerprint"; FPR=$OUT
check "key set is private" test "$(stat -c %a "$WORK/ks.pem")" = 600
check "key set is encrypted" grep -q "ENCRYPTED PRIVATE KEY" "$WORK/ks.pem"
tv "$AUTH" escrow keygen --out "$WORK/ks.pem" --password-file app; expect_rc 1 "keygen never overwrites"
tv "$AUTH" escrow public "$WORK/ks.pem" --out "$WORK/pub.pem" --password-file app; expect_rc 0 "escrow public"
expect_out "$FPR" "same fingerprint"
secret badpp "nope"
tv "$AUTH" escrow public "$WORK/ks.pem" --out "$WORK/pub2.pem" --password-file badpp; expect_rc 1 "wrong passphrase"

A=$WORK/a; new_home a lib 20 || exit 1
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 --capacity 64M
tv "$A" password add p --hint "you will forget" --password-file pw
tv "$A" pool create old --library lib --encryption password:p
mkdir -p src/early src/data; echo early > src/early/f; head -c 2000000 /dev/urandom > src/data/blob; echo x > src/data/small
tv "$A" write old src/early --name before; expect_rc 0 "a tape written before escrow"
tv "$A" escrow enable --public "$WORK/pub.pem"; expect_rc 0 "escrow enable"; expect_out "$FPR" "enable names the key set"
tv "$A" pool create safe --library lib --encryption password:p; expect_rc 0 "pool with escrow on"
expect_no_err "password loss protection is off" "no warning once escrow is on"
tv "$A" write safe src/data --name protected; expect_rc 0 "write with escrow slot"
tv "$A" tape list;                   t_old=$(printf '%s\n' "$OUT" | awk '$3=="old"{print $1}'); t_safe=$(printf '%s\n' "$OUT" | awk '$3=="safe"{print $1}')
tv "$A" tape export "$t_old" "$t_safe" --to "$WORK/box"

# fresh installation, password forgotten
B=$WORK/b; new_home b lib 20
trust_writer "$A" "$B"
tv "$B" tape insert lib --copy "$WORK/box/$t_old.tap" "$WORK/box/$t_safe.tap"
tv "$B" catalog lib;                 expect_rc 0 "catalog: locked"
tv "$B" escrow request "$t_old" "$t_safe" --out "$WORK/req.txt"; expect_rc 1 "request with a tape lacking an escrow slot"
expect_err "$t_old: no escrow slot: written before password loss protection" "says so for that tape"
check "request written for the other tape" grep -q "BEGIN TAPEVAULT ESCROW REQUEST" "$WORK/req.txt"
tv "$B" escrow request "$t_safe" --out "$WORK/req.txt"; expect_rc 0 "escrow request"
tv "$B" identity export --out "$WORK/b-id.pub"; expect_rc 0 "identity export"
tv "$AUTH" escrow trust add "$WORK/b-id.pub" --name b; expect_rc 0 "the authority trusts B"

# a request edited in any byte is refused
python3 - "$WORK/req.txt" "$WORK/req-edited.txt" <<'PY'
import base64, sys
t = open(sys.argv[1]).read().splitlines()
body = [i for i, l in enumerate(t) if l and not l.startswith("-----") and ":" not in l]
raw = bytearray(base64.b64decode("".join(t[i] for i in body)))
raw[len(raw) // 2] ^= 0x01
enc = base64.b64encode(bytes(raw)).decode()
lines = [enc[i:i+64] for i in range(0, len(enc), 64)]
out = t[:body[0]] + lines + t[body[-1]+1:]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req-edited.txt" --out "$WORK/resp-x.txt" --password-file app --yes
expect_rc 1 "edited request refused"; expect_err "signature|modified|hash|request" "says why"
check "no response for an edited request" test ! -e "$WORK/resp-x.txt"
sed 's/^\(.\{10\}\)./\1A/' "$WORK/req.txt" | head -c 100000 > /dev/null
python3 - "$WORK/req.txt" "$WORK/req-trunc.txt" <<'PY'
import sys; t = open(sys.argv[1]).read(); open(sys.argv[2], "w").write(t[: len(t) // 2])
PY
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req-trunc.txt" --out "$WORK/resp-t.txt" --password-file app --yes
expect_rc 1 "truncated request refused"

# the authority answers (its own --home holds only the key set)
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/resp.txt" --password-file app
expect_rc 1 "respond without a terminal to confirm: refused"
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/resp.txt" --password-file app --yes
expect_rc 0 "escrow respond"; expect_out "$t_safe .*pool safe" "shows what it is asked to unlock"
expect_out "installation" "shows the requesting installation"
# key set rotation: the authority holds several, the matching one answers
tv "$AUTH" escrow keygen --out "$WORK/ks2.pem" --password-file app; expect_rc 0 "a second (newer) key set"
tv "$AUTH" escrow respond --keyset "$WORK/ks2.pem" "$WORK/req.txt" --out "$WORK/resp-n.txt" --password-file app --yes
expect_rc 1 "a key set the slots do not name cannot answer"; expect_err "none of the given key sets" "says so"
tv "$AUTH" escrow respond --keyset "$WORK/ks2.pem" --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/resp-r.txt" --password-file app --yes
expect_rc 0 "with both key sets the matching one answers"; expect_err "answering with key set $FPR" "names the key set used"

# applied on another installation: refused
C=$WORK/c; new_home c lib 20
trust_writer "$A" "$C"
tv "$C" tape insert lib --copy "$WORK/box/$t_safe.tap"; tv "$C" catalog lib
tv "$C" escrow apply "$WORK/resp.txt"; expect_rc 1 "response on another installation refused"
expect_err "did not make it" "says this installation did not make the request"
tv "$C" tape list;                   expect_out "$t_safe .*locked" "nothing changed there"

tv "$B" escrow apply "$WORK/resp.txt"; expect_rc 0 "escrow apply"
expect_err "unlocked through escrow" "unlocks"; expect_err "contents cataloged" "and catalogs"
tv "$B" restore protected --to "$WORK/rb"; expect_rc 0 "restore after escrow"
check "byte-exact after escrow recovery" same_tree src/data "$WORK/rb/$S/src/data"
tv "$B" audit;                       expect_out "escrow request" "audit: request"; expect_out "escrow apply .*$t_safe" "audit: apply"

# break-glass on the authority's machine
D=$WORK/d; new_home d lib 20
trust_writer "$A" "$D"
tv "$D" tape insert lib --copy "$WORK/box/$t_safe.tap"; tv "$D" catalog lib
tv "$D" escrow recover --keyset "$WORK/ks.pem" "$t_safe" --password-file app; expect_rc 0 "escrow recover"
tv "$D" backups;                     expect_out "protected .*restorable" "restorable after break-glass"
tv "$D" audit;                       expect_out "escrow recover .*$t_safe" "audited"

# KMS tape recoverable through escrow while the KMS is down
KMSH=$TV_SOURCE_DIR/tests/kms/pykmip-server.sh; KD=$WORK/kms; export KMS_WATCH_PID=$$
if out=$(bash "$KMSH" start "$KD"); then
	eval "$out"; cleanup_hooks+=("bash '$KMSH' stop '$KD' >/dev/null 2>&1")
	tv "$A" kms add corp --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"
	tv "$A" pool create kp --library lib --encryption kms:corp; expect_rc 0 "KMS pool with escrow"
	tv "$A" write kp src/data --name kmsdata; expect_rc 0 "write KMS tape"
	tv "$A" tape list --pool kp;     kt=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1; exit}')
	tv "$A" tape export "$kt" --to "$WORK/box"
	bash "$KMSH" stop "$KD" >/dev/null
	E=$WORK/e; new_home e lib 20
	trust_writer "$A" "$E"
	tv "$E" kms add corp --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"
	tv "$E" tape insert lib --copy "$WORK/box/$kt.tap"
	tv "$E" catalog lib;             expect_err "locked" "KMS down: locked"
	tv "$E" escrow request "$kt" --out "$WORK/req2.txt"; expect_rc 0 "request for the KMS tape"
	tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/req2.txt" --out "$WORK/resp2.txt" --password-file app --yes --trust-new
	expect_rc 0 "an unknown installation answered with --trust-new --yes"
	tv "$E" escrow apply "$WORK/resp2.txt"; expect_rc 0 "KMS tape recovered through escrow with the KMS down"
	tv "$E" restore kmsdata --to "$WORK/re"; expect_rc 0 "restore"
	check "KMS tape byte-exact via escrow" same_tree src/data "$WORK/re/$S/src/data"
else
	fail "PyKMIP did not start"
fi
finish
