#!/usr/bin/env bash
# Issue 12 item 3: secrets stay on each server.  Two tape servers (homes A
# and B) share one PostgreSQL catalog.  A's password and the tapes' data
# keys stay in A's home (local.db, sealed by A's key store); B sees A's
# sets but the tape locked, as a fresh installation would, until B runs
# 'decrypt' with the password; A is never locked; the shared database
# holds no secret.  PostgreSQL run only (cli-pg/: the pg fixture).
. "$(dirname "$0")/lib.sh"
pg_shared_catalog || exit 1   # PG_DB, URI, REAL; T is the real binary
PW="correct horse $RANDOM battery"
secret pw "$PW"
A=$WORK/a B=$WORK/b

tv "$A" init --catalog "$URI";              expect_rc 0 "server A joins the shared catalog"
tv "$B" init --catalog "$URI";              expect_rc 0 "server B joins the same catalog"
check "A's local store is mode 0600" test "$(stat -c %a "$A/local.db")" = 600
check "B's local store is mode 0600" test "$(stat -c %a "$B/local.db")" = 600
tv "$A" library create vault --path "$WORK/vault" --slots 10; expect_rc 0 "library on A"
tv "$B" library list;                       expect_out "vault" "B sees the site's library"
tv "$A" tape new vault VT0001L9 --capacity 64M
tv "$A" password add weekly --hint "the usual one" --password-file pw; expect_rc 0 "password on A"
tv "$B" password list;                      check "B does not see A's password" \
	bash -c "! printf '%s' \"\$1\" | grep -q weekly" _ "$OUT"
# A's KMS registration (its client certificate and key paths) and the
# site's escrow authority (a public key: shared, every server adds the slot)
touch "$WORK/ca.pem" "$WORK/a-client.pem" "$WORK/a-client.key"; chmod 600 "$WORK/a-client.key"
tv "$A" kms add corp --host 127.0.0.1 --ca "$WORK/ca.pem" --cert "$WORK/a-client.pem" --key "$WORK/a-client.key"
expect_rc 0 "A registers its KMS client"
tv "$B" kms list;                           check "B does not see A's KMS registration" \
	bash -c "! printf '%s' \"\$1\" | grep -q a-client" _ "$OUT"
AUTH=$WORK/auth
secret app "authority pass"
"$REAL" --home "$AUTH" -q init && "$REAL" --home "$AUTH" -q escrow keygen --out "$WORK/ks.pem" --password-file app &&
	"$REAL" --home "$AUTH" -q escrow public "$WORK/ks.pem" --out "$WORK/pub.pem" --password-file app
tv "$A" escrow enable --public "$WORK/pub.pem"; expect_rc 0 "A: escrow enabled for the site"
tv "$A" pool create offsite --library vault --encryption password:weekly
expect_rc 0 "A: a password pool (its password is A's)"
mkdir -p src/d
head -c 700000 /dev/urandom > src/d/data
echo "plain text file" > src/d/note.txt
tv "$A" write offsite src/d --name nightly;  expect_rc 0 "A writes an encrypted set"

# A holds the key: never locked
tv "$A" tape list
expect_out "VT0001L9 .*encrypted" "A: the tape is encrypted"
check "A: the tape is not locked" bash -c "! printf '%s' \"\$1\" | grep -q locked" _ "$OUT"
tv "$A" backups;                            expect_out "nightly .*restorable" "A: the set is restorable"

# B: the set is in the shared catalog, the tape locked for B
trust_writer "$A" "$B"
tv "$B" backups;                            expect_out "nightly" "B lists A's set"
expect_out "nightly .*tape encrypted" "B: the set needs a tape key B lacks"
tv "$B" tape list;                          expect_out "VT0001L9 .*locked" "B: the tape is locked for B"
tv "$B" --json tape list
check "B: --json says locked" bash -c "printf '%s' \"\$1\" | grep -q '\"locked\": *true'" _ "$OUT"
tv "$B" tape list --state locked;           expect_out "VT0001L9" "B: --state locked lists it"
tv "$A" tape list --state locked;           check "A: --state locked lists nothing" \
	bash -c "! printf '%s' \"\$1\" | grep -q VT0001L9" _ "$OUT"
tv "$B" restore nightly --to "$WORK/rb";    expect_rc 1 "B: restore refused"
expect_err "locked" "B: the refusal says the tape is locked"
check "B: nothing restored" test ! -e "$WORK/rb/$S/src/d/data"
tv "$A" tape list;                          check "A: still not locked after B looked" \
	bash -c "! printf '%s' \"\$1\" | grep -q locked" _ "$OUT"

tv "$B" escrow request VT0001L9 --out "$WORK/req.txt"; expect_rc 0 "B: an escrow request"
check "B's one-time key is in B's local store" test "$(sqlite3 "$B/local.db" 'SELECT COUNT(*) FROM escrow_requests WHERE length(sealed_key) > 0')" = 1

# B: the fresh installation's step, for B only
tv "$B" decrypt VT0001L9 --password-file pw --yes; expect_rc 0 "B: decrypt with the password"
tv "$B" tape list;                          check "B: unlocked now" \
	bash -c "! printf '%s' \"\$1\" | grep -q locked" _ "$OUT"
tv "$B" restore nightly --to "$WORK/rb";    expect_rc 0 "B: restore after decrypt"
check "B: byte-exact" same_tree src/d "$WORK/rb/$S/src/d"
tv "$A" restore nightly --to "$WORK/ra";    expect_rc 0 "A: restore (never locked)"
check "A: byte-exact" same_tree src/d "$WORK/ra/$S/src/d"

# the shared database: no secret in it
dump=$WORK/shared.sql
pg_dump -h "$TV_PG_HOST" -U postgres -d "$PG_DB" > "$dump" 2>"$WORK/.dumperr"
check "pg_dump of the shared catalog" test -s "$dump"
check "no password in the shared catalog" bash -c "! grep -qF '$PW' '$dump'"
for t in passwords tape_keys escrow_requests kms_servers kms_keys; do
	n=$(psql -qtA -h "$TV_PG_HOST" -U postgres -d "$PG_DB" -c "SELECT COUNT(*) FROM public.$t")
	check "no rows in the shared $t" test "$n" = 0
done
# a sealed key store blob: the key store's AEAD output as bytea (\x...) in
# a COPY block of a secret table would show; and the local store holds them
check "A's local store holds its tape key" test "$(sqlite3 "$A/local.db" 'SELECT COUNT(*) FROM tape_keys')" = 1
check "A's local store holds its KMS registration" test "$(sqlite3 "$A/local.db" "SELECT key FROM kms_servers")" = "$WORK/a-client.key"
check "no KMS client key path in the dump" bash -c "! grep -q a-client '$dump'"
check "A's local store holds its password, sealed" test "$(sqlite3 "$A/local.db" 'SELECT COUNT(*) FROM passwords WHERE length(sealed) > 0')" = 1
check "B's local store holds its own tape key" test "$(sqlite3 "$B/local.db" 'SELECT COUNT(*) FROM tape_keys')" = 1
sealed=$(sqlite3 "$A/local.db" "SELECT hex(sealed) FROM tape_keys" | tr 'A-F' 'a-f' | cut -c1-40)
check "no sealed data key in the dump" bash -c "! grep -qi '$sealed' '$dump'"
sealed=$(sqlite3 "$A/local.db" "SELECT hex(sealed) FROM passwords" | tr 'A-F' 'a-f' | cut -c1-40)
check "no sealed password in the dump" bash -c "! grep -qi '$sealed' '$dump'"

# config backup on a shared catalog: A's own state (local store, key store,
# the catalog's name) in one encrypted file; a new home restored from it is
# A again, holding A's keys
tv "$A" config backup --to "$WORK/a.tvb" --encryption password:weekly
expect_rc 0 "A: config backup on a shared catalog"
expect_err "secrets" "A: the backup says it holds this server's secrets"
check "the backup file holds no password in clear" bash -c "! grep -qF '$PW' '$WORK/a.tvb'"
C=$WORK/c
tv "$C" config restore "$WORK/a.tvb" --password-file pw; expect_rc 0 "config restore into a new home"
check "the restored home names the shared catalog" grep -q '^postgresql://' "$C/catalog.url"
check "the restored local store is mode 0600" test "$(stat -c %a "$C/local.db")" = 600
tv "$C" password list;                      expect_out "weekly" "C holds A's password"
tv "$C" tape list;                          check "C: the tape is not locked (A's keys)" \
	bash -c "! printf '%s' \"\$1\" | grep -q locked" _ "$OUT"
tv "$C" restore nightly --to "$WORK/rc";    expect_rc 0 "C: restore with the restored keys"
check "C: byte-exact" same_tree src/d "$WORK/rc/$S/src/d"
finish
