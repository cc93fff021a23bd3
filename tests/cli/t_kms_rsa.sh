#!/usr/bin/env bash
# Issue 10 findings 6 and 7, end to end, against PyKMIP extended by the test
# harness (tests/kms/pykmip-rsa-server.py: RSA-OAEP Decrypt, KMIP 1.4
# Cryptographic Parameters, Link attributes; DIR/harness.json switches its
# test modes) and, for the fallback PyKMIP users meet, the stock server:
#  - an RSA KMS slot is unwrapped by the KMS (KMIP Decrypt), even when the
#    private key cannot be exported at all;
#  - the Get fallback only when the KMS says it cannot decrypt with RSA;
#    a refusal about the key (revoked) is final;
#  - the public key of a pair is the one the Link names (checked both
#    ways), never one found by its name;
#  - every new KMS slot is test-unwrapped before the tape is written.
. "$(dirname "$0")/lib.sh"
KMSH=$TV_SOURCE_DIR/tests/kms/pykmip-server.sh
KD=$WORK/kms
export KMS_WATCH_PID=$$
out=$(KMS_EXTENDED=1 bash "$KMSH" start "$KD") || { echo "$out"; fail "extended PyKMIP server did not start (is python3-pykmip installed?)"; finish; exit 1; }
eval "$out"
cleanup_hooks+=("bash '$KMSH' stop '$KD' >/dev/null 2>&1")
kms_add() { tv "$1" kms add "$2" --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"; }
harness() { printf '%s\n' "$1" > "$KD/harness.json"; }
count() { grep -c -- "$1" "$KD/server.log"; }
# copies of the tapes of pool $2 of home $1 (exported once, to box-$2) in a
# new installation $3 with the KMS registered
fresh_with_pool() {
	local from=$1 pool=$2 name=$3 tapes t
	if [ ! -d "$WORK/box-$pool" ]; then
		tv "$from" tape list --pool "$pool"; tapes=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1}')
		tv "$from" tape export $tapes --to "$WORK/box-$pool"
	fi
	new_home "$name" lib 30; kms_add "$WORK/$name" corp
	trust_writer "$from" "$WORK/$name"
	for t in "$WORK/box-$pool"/*.tap; do tv "$WORK/$name" tape insert --copy lib "$t"; done
	tv "$WORK/$name" tape list
	check "installation $name has the tapes of pool $pool" test -n "$(ls "$WORK/box-$pool"/*.tap 2>/dev/null)"
}

A=$WORK/a; new_home a lib 40 || exit 1
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 VT0007L9 VT0008L9 --capacity 64M
kms_add "$A" corp;                   expect_rc 0 "kms add"
mkdir -p src/one; head -c 300000 /dev/urandom > src/one/a; echo marker > src/one/b

# --- finding 6: server-side RSA Decrypt ---
tv "$A" kms key create corp --name rk --type rsa; RK=$OUT; expect_rc 0 "RSA pair on the KMS"
tv "$A" pool create rp --library lib --encryption kms:corp:"$RK"; expect_rc 0 "pool on the RSA pair"
n0=$(count "RSA-OAEP Decrypt with private key $RK\$")
tv "$A" write rp src/one --name rset;  expect_rc 0 "write on the RSA pool"
n1=$(count "RSA-OAEP Decrypt with private key $RK\$")
check "finding 7: the new slot was unwrapped by the KMS before the tape was written" test "$n1" -gt "$n0"

harness '{"export_private": false}'  # Get of a private key now fails: only Decrypt can unlock
fresh_with_pool "$A" rp b; B=$WORK/b
gets0=$(count "Processing operation: Get\$")
tv "$B" -v catalog lib;              expect_rc 0 "catalog, private key not exportable"
expect_err "unlocked by KMS key $RK" "the tape is unlocked"
expect_err "unwrapped the slot \(KMIP Decrypt, RSA-OAEP with key $RK\)" "by KMIP Decrypt on the KMS"
n2=$(count "RSA-OAEP Decrypt with private key $RK\$")
check "the KMS logged the RSA-OAEP Decrypt" test "$n2" -gt "$n1"
check "no Get of the private key was sent" test "$(count "Processing operation: Get\$")" -eq "$gets0"
tv "$B" restore rset --to "$WORK/rb"; expect_rc 0 "restore"
check "restored byte-exact" diff -r src/one "$WORK/rb/$S/src/one"

# the KMS says it cannot decrypt with RSA: the Get fallback
harness '{"rsa_decrypt": "unsupported"}'
fresh_with_pool "$A" rp c; C=$WORK/c
tv "$C" -v catalog lib;              expect_rc 0 "catalog, KMS without RSA decryption"
expect_err "Operation Not Supported" "the KMS said it cannot"
expect_err "private key $RK fetched into memory only" "private key fetched (fallback)"
expect_err "unlocked by KMS key $RK" "the tape is unlocked through the fallback"
# ... but not when it also refuses the export: locked, clearly
harness '{"rsa_decrypt": "unsupported", "export_private": false}'
fresh_with_pool "$A" rp c2; C2=$WORK/c2
tv "$C2" catalog lib;                expect_err "locked" "no Decrypt and no Get: stays locked"
expect_err "not exportable" "says why"

# --- finding 6: public key by Link, never by name ---
harness '{}'
tv "$A" kms key create corp --name twin --type rsa; T1=$OUT
tv "$A" kms key create corp --name twin --type rsa; T2=$OUT
# a fresh installation meets T2 on a server that keeps no Links for it: two
# public keys are named "twin.pub"; the first one listed is T1's
/usr/bin/python3 - "$KD/links.json" "$T2" <<'EOF'
import json, sys
path, uid = sys.argv[1], sys.argv[2]
links = json.load(open(path))
pub = links.pop(uid)["public"]
links.pop(pub, None)
json.dump(links, open(path, "w"))
EOF
new_home e lib 30; E=$WORK/e; kms_add "$E" corp
tv "$E" tape new lib VT0101L9 VT0102L9 VT0103L9 --capacity 64M
tv "$E" -v pool create tw --library lib --encryption kms:corp:"$T2"; expect_rc 0 "pool on a key without Links"
expect_err "keeps no Link .*derived from the private key" "public key derived from the private key, not found by name"
tv "$E" write tw src/one --name twset; expect_rc 0 "write with the derived public key"
fresh_with_pool "$E" tw f; F=$WORK/f
tv "$F" catalog lib;                 expect_rc 0 "catalog it"
tv "$F" backups;                     expect_out "twset .*restorable" "readable: the slot was wrapped to the right key"
# no Link and no export: refused, not guessed
harness '{"export_private": false}'
new_home g lib 30; G=$WORK/g; kms_add "$G" corp
tv "$G" pool create tw --library lib --encryption kms:corp:"$T2"; expect_rc 1 "no Link, no export: refused"
expect_err "does not pick a public key by its name" "says it will not guess by name"
harness '{}'
# a Link that points at another pair's public key: refused
/usr/bin/python3 - "$KD/links.json" "$T2" "$T1" <<'EOF'
import json, sys
path, uid, other = sys.argv[1], sys.argv[2], sys.argv[3]
links = json.load(open(path))
links[uid] = {"public": links[other]["public"]}
json.dump(links, open(path, "w"))
EOF
new_home h lib 30; H=$WORK/h; kms_add "$H" corp
tv "$H" pool create tl --library lib --encryption kms:corp:"$T2"; expect_rc 1 "mismatched Link refused"
expect_err "links to private key $T1 instead" "names both ends of the mismatch"

# --- finding 7: a slot that cannot be unwrapped fails the write up front ---
# an AES key this client may encrypt with but not decrypt with (a KMS policy)
tv "$A" kms key create corp --name enc-only; EO=$OUT
harness "{\"decrypt_denied\": [\"$EO\"]}"
tv "$A" pool create eo --library lib --encryption kms:corp:"$EO"; expect_rc 0 "pool on an encrypt-only AES key"
tv "$A" write eo src/one --name eoset; expect_rc 1 "write refused: the key cannot decrypt"
expect_err "could not be unwrapped again" "says the slot could not be unwrapped"
expect_err "may encrypt but not decrypt" "with the KMS's reason"
harness '{}'
check "no backup set was recorded for the refused write" bash -c "! printf '%s' \"\$OUT\" | grep -q eoset"
# a revoked RSA key: its public key is still cached, but the write stops
tv "$A" kms key revoke corp "$RK" --yes; expect_rc 0 "revoke the RSA key"
tv "$A" write rp src/one --name after-revoke; expect_rc 1 "write with a revoked RSA key refused"
expect_err "could not be unwrapped again.*(revoked|Active)" "says the key was revoked"
# and a revoked key is final on read too: no Get behind the KMS's back
fresh_with_pool "$A" rp i; I=$WORK/i
gets0=$(count "Processing operation: Get\$")
tv "$I" catalog lib;                 expect_err "locked" "revoked key: locked"
check "no Get of the private key after the refusal" test "$(count "Processing operation: Get\$")" -eq "$gets0"

finish
