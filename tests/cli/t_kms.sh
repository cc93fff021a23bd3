#!/usr/bin/env bash
# Issue 4 "must show": the seed's story against a real PyKMIP server.
. "$(dirname "$0")/lib.sh"
KMSH=$TV_SOURCE_DIR/tests/kms/pykmip-server.sh
KD=$WORK/kms
export KMS_WATCH_PID=$$
out=$(bash "$KMSH" start "$KD") || { echo "$out"; fail "PyKMIP server did not start (is python3-pykmip installed?)"; finish; exit 1; }
eval "$out"
cleanup_hooks+=("bash '$KMSH' stop '$KD' >/dev/null 2>&1")
kms_add() { tv "$1" kms add "$2" --host "${3:-127.0.0.1}" --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"; }

A=$WORK/a; new_home a lib 30 || exit 1
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 VT0007L9 VT0008L9 VT0009L9 --capacity 64M
kms_add "$A" corp;                   expect_rc 0 "kms add"
tv "$A" kms test corp;               expect_rc 0 "kms test"; expect_out "1\.4" "reports protocol versions"; expect_out "Decrypt" "reports operations"
mkdir -p src/one src/two; head -c 700000 /dev/urandom > src/one/a; echo two > src/two/b
echo "KMS-MARKER-c0ffee" > src/one/marker.txt

# pool on K1 (created by tapevault), rotation to K2
tv "$A" pool create kp --library lib --encryption kms:corp; expect_rc 0 "pool creates its KMS key"
expect_err "created key [0-9a-f-]+" "says which key it created"
tv "$A" write kp src/one --name k1set; expect_rc 0 "write under K1"
tv "$A" kms key create corp --name rotated-k2; expect_rc 0 "kms key create"; K2=$OUT
tv "$A" pool set kp --encryption kms:corp:"$K2"; expect_rc 0 "rotate to K2"
tv "$A" write kp src/two --name k2set; expect_rc 0 "write under K2"
tv "$A" tape list --pool kp
expect_out "VT0001L9 .*KMS AES key id [0-9a-f-]+ .*on server corp \(127\.0\.0\.1:$KMS_PORT\)" "tape 1 names key and server"
expect_out "VT0002L9 .*KMS AES key id $K2 " "tape 2 under K2"
check "no plaintext on KMS tapes" bash -c "! grep -q KMS-MARKER '$WORK'/a-lib/VT000[12]L9.tap"
tv "$A" tape export VT0001L9 VT0002L9 --to "$WORK/box"

# fresh installation without the KMS: locked, shows key ids and server
B=$WORK/b; new_home b lib 30
trust_writer "$A" "$B"
tv "$B" tape insert --copy lib "$WORK"/box/VT000{1,2}L9.tap
tv "$B" catalog lib;                 expect_rc 0 "catalog without KMS"
expect_err "VT0002L9: encrypted, locked .*key id $K2 .*corp \(127\.0\.0\.1:$KMS_PORT\)" "locked tape names key id and KMS"
tv "$B" tape show VT0002L9;          expect_out "key .*KMS AES key id $K2" "tape show names the key"
kms_add "$B" corp
tv "$B" decrypt VT0002L9 --kms corp --yes; expect_rc 0 "decrypt with the KMS"
expect_err "key id $K2 .*on KMS server corp" "decrypt shows key id and server before unlocking"
expect_err "key ring unlocked 1 other" "the latest key unlocks the earlier tape too"
tv "$B" backups;                     expect_out "k1set .*restorable" "k1set restorable"; expect_out "k2set .*restorable" "k2set restorable"
tv "$B" restore k1set --to "$WORK/rb"; expect_rc 0 "restore"
check "byte-exact" same_tree src/one "$WORK/rb/$S/src/one"

# decrypt confirmation: without --yes and without a terminal nothing happens
B2=$WORK/b2; new_home b2 lib 30
trust_writer "$A" "$B2"
tv "$B2" tape insert --copy lib "$WORK/box/VT0001L9.tap"; tv "$B2" catalog lib; kms_add "$B2" corp
OUT=$(setsid "$T" --home "$B2" decrypt VT0001L9 --kms corp </dev/null 2>"$WORK/confirm.err"); RC=$?; ERR=$(cat "$WORK/confirm.err")
expect_rc 1 "no confirmation, no decrypt"
tv "$B2" tape list;                  expect_out "VT0001L9 .*locked" "still locked"

# fresh installation with the KMS registered: automatic, and under another
# name and address (localhost instead of 127.0.0.1): matched by key id
C=$WORK/c; new_home c lib 30
trust_writer "$A" "$C"
kms_add "$C" other-name localhost
tv "$C" tape insert --copy lib "$WORK"/box/VT000{1,2}L9.tap
tv "$C" -v catalog lib;              expect_rc 0 "catalog with the KMS registered"
expect_err "unlocked by KMS key .* on other-name" "says which server it used"
expect_err "KMIP round trip" "reports KMIP round trips"
tv "$C" backups;                     expect_out "k1set .*restorable" "restorable with no decrypt step"

# a key made by PyKMIP's own client (not tapevault) as pool key
eval "$(/usr/bin/python3 "$TV_SOURCE_DIR/tests/kms/pykmip-client-create.py" "$KD" foreign-key --rsa 2048)"
check "PyKMIP client made keys" test -n "$AES_UID" -a -n "$RSA_PRIV_UID"
tv "$A" pool create foreign --library lib --encryption kms:corp:"$AES_UID"; expect_rc 0 "pool on a PyKMIP-client key"
tv "$A" write foreign src/two --name fset; expect_rc 0 "write on it"

# double encryption with both layers on KMS keys
tv "$A" kms key create corp --name job-key; JK=$OUT
tv "$A" backup create src/one --out "$WORK/job.tvb" --encryption kms:corp:"$JK"; expect_rc 0 "job backup on a KMS key"
mkdir -p dbl; cp "$WORK/job.tvb" dbl/
tv "$A" write kp dbl --name dblset; expect_rc 0 "job backup to the KMS pool"

# asymmetric: RSA pair; the public key is cached, writing works with the KMS down
tv "$A" pool create rsa --library lib --encryption kms:corp:"$RSA_PRIV_UID"; expect_rc 0 "pool on an RSA key pair"
bash "$KMSH" stop "$KD" >/dev/null
tv "$A" write rsa src/two --name rsaset; expect_rc 0 "RSA pool writes while the KMS is down"
D=$WORK/d; new_home d lib 30; kms_add "$D" corp
trust_writer "$A" "$D"
tv "$A" tape list --pool rsa;        rt=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1; exit}')
tv "$A" tape list --pool kp;         dt=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1}' | tail -1)
tv "$A" tape export "$rt" "$dt" --to "$WORK/box2"
tv "$D" tape insert --copy lib "$WORK/box2/$rt.tap" "$WORK/box2/$dt.tap"
tv "$D" catalog lib;                 expect_rc 0 "catalog with the KMS down"
expect_err "locked .*(unreachable|refused|connect)" "says the KMS is unreachable"
out=$(bash "$KMSH" start "$KD" "$KMS_PORT") || fail "KMS restart"
tv "$D" catalog lib;                 expect_rc 0 "catalog after the KMS is back"
tv "$D" backups;                     expect_out "rsaset .*restorable" "RSA tape readable (private key fetched into memory)"
expect_out "dblset .*backup encrypted" "double-encrypted set: backup encrypted"
tv "$D" restore dblset --to "$WORK/rd"; expect_rc 0 "restore the job backup file"
tv "$D" backup extract "$WORK/rd/$S/dbl/job.tvb" --to "$WORK/xd" --kms corp; expect_rc 0 "extract with the job KMS key"
check "double KMS encryption byte-exact (content)" diff -r src/one "$WORK/xd/one"
check "the KMS private key never reached the disk (only the installation's own identity key is there)" bash -c "! grep -rqa --exclude=identity.pem 'PRIVATE KEY' '$D'"

# one pool switched from a password to the KMS; separate catalog runs for
# its password tape and its KMS tape on a fresh installation
secret mpw "mixed pool password"
tv "$A" password add mixpw --hint "mixed" --password-file mpw
tv "$A" pool create mixed --library lib --encryption password:mixpw
tv "$A" write mixed src/two --name mix-pw; expect_rc 0 "mixed pool: password tape"
tv "$A" pool set mixed --encryption kms:corp:"$K2"
tv "$A" write mixed src/one --name mix-kms; expect_rc 0 "mixed pool: KMS tape"
tv "$A" tape list --pool mixed;      mt=$(printf '%s\n' "$OUT" | awk 'NR>1{print $1}')
mp=$(echo "$mt" | head -1); mk=$(echo "$mt" | tail -1)
tv "$A" tape export $mt --to "$WORK/box4"
M=$WORK/m; new_home m lib 30; kms_add "$M" corp
trust_writer "$A" "$M"
tv "$M" password add mixpw --hint "mixed" --password-file mpw
tv "$M" tape insert --copy lib "$WORK/box4/$mp.tap"
tv "$M" catalog lib "$mp";           expect_rc 0 "catalog run 1: the password tape"
expect_err "$mp: cataloged .*unlocked by password" "unlocked by the password"
tv "$M" tape insert --copy lib "$WORK/box4/$mk.tap"
tv "$M" catalog lib "$mk";           expect_rc 0 "catalog run 2: the KMS tape"
expect_err "$mk: cataloged .*unlocked by KMS key $K2" "unlocked by the KMS"
tv "$M" backups;                     expect_out "mix-pw .*restorable" "password set restorable"; expect_out "mix-kms .*restorable" "KMS set restorable"

# revoked and destroyed keys
tv "$A" kms key revoke corp "$K2" --yes; expect_rc 0 "revoke K2"
E=$WORK/e; new_home e lib 30; kms_add "$E" corp
trust_writer "$A" "$E"
tv "$E" tape insert --copy lib "$WORK/box/VT0002L9.tap"
tv "$E" catalog lib;                 expect_err "revoked|not usable|state" "revoked key: clear reason"
tv "$E" decrypt VT0002L9 --kms corp --yes; expect_rc 1 "decrypt with a revoked key fails"
tv "$A" kms key destroy corp "$K2" --yes; expect_rc 0 "destroy K2"
tv "$E" decrypt VT0002L9 --kms corp --yes; expect_rc 1 "decrypt with a destroyed key fails"
expect_err "escrow" "destroyed key: says only escrow can recover"

# TLS failures
F=$WORK/f; new_home f lib 4
tv "$F" kms add wrongca --host 127.0.0.1 --port "$KMS_PORT" --ca "$KD/other-ca.pem" --cert "$KMS_CERT" --key "$KMS_KEY"
tv "$F" kms test wrongca;            expect_rc 1 "wrong CA refused"; expect_err "TLS|certificate" "says TLS/certificate"
tv "$F" kms add badclient --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KD/other-client.pem" --key "$KD/other-client.key"
tv "$F" kms test badclient;          expect_rc 1 "client certificate refused by the server"
cp "$KMS_KEY" "$WORK/open.key"; chmod 644 "$WORK/open.key"
tv "$F" kms add openkey --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$WORK/open.key"
expect_rc 1 "world-readable client key refused"; expect_err "chmod 600" "says chmod 600"
finish
