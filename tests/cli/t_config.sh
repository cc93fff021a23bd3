#!/usr/bin/env bash
# The backup server's own state (issue 11 item 8): 'config backup' puts
# the catalog and key store in one encrypted file; 'config restore' on a
# fresh machine lists every set and restores without a catalog run.
. "$(dirname "$0")/lib.sh"
A=$WORK/a
new_home a lib 10 || exit 1
mkdir -p src/d; head -c 300000 /dev/urandom > src/d/big; echo small > src/d/small
secret "$WORK/pw" "weekly secret"
secret "$WORK/cfgpw" "config secret"
tv "$A" tape new lib VT0001L9 VT0002L9 --capacity 64M
tv "$A" password add weekly --hint "the usual" --password-file "$WORK/pw"
tv "$A" password add cfg --hint "the config one" --password-file "$WORK/cfgpw"
tv "$A" pool create p --library lib --encryption password:weekly
tv "$A" write p src --name nightly;   expect_rc 0 "a backup set on an encrypted tape"
# A trusts the tapes of another installation W (its writer trust list)
"$T" --home "$WORK/w" -q init && "$T" --home "$WORK/w" -q identity export --out "$WORK/w.pub" >/dev/null
tv "$A" identity trust "$WORK/w.pub";  expect_rc 0 "identity trust"; W_FPR=$OUT
A_FPR=$(writer_fpr "$A")

tv "$A" config backup --to "$WORK/cfg.tvb"
expect_rc 2 "config backup without --encryption is refused"
expect_err "holds every key of this installation: protect it with --encryption" "says why"
check "and writes nothing" test ! -e "$WORK/cfg.tvb"
tv "$A" config backup --to "$WORK/cfg.tvb" --encryption password:cfg
expect_rc 0 "config backup"
expect_err "configuration backup .*cfg.tvb: the catalog \(1 library, 1 pool\(s\), 2 tape\(s\), 1 backup set\(s\), 2 password\(s\), 0 KMS server\(s\)\) and the key store" "summarises what it holds"
check "the file is private (0600)" test "$(stat -c %a "$WORK/cfg.tvb")" = 600
check "no plaintext catalog inside (no set name, no SQLite header)" sh -c "! grep -q -e nightly -e 'SQLite format' '$WORK/cfg.tvb'"
check "no staging directory left in the home" sh -c "! ls -a '$A' | grep -q config-stage"
tv "$A" audit;                         expect_out "config backup .*password:cfg" "audited"

# the server is lost; a fresh machine (no state directory at all) gets it back
B=$WORK/b
tv "$B" config restore "$WORK/cfg.tvb" --password-file "$WORK/pw"
expect_rc 1 "a wrong password is refused"
expect_err "wrong password for slot cfg" "names the slot"
check "and leaves no catalog or key store" sh -c "! test -e '$B/catalog.db' && ! test -e '$B/keys'"
tv "$B" config restore "$WORK/cfg.tvb" --password-file "$WORK/cfgpw"
expect_rc 0 "config restore on a fresh machine"
expect_err "restored from .*cfg.tvb: the catalog \(1 library" "says what came back"
check "the home is private (0700)" test "$(stat -c %a "$B")" = 700
check "the key store too (0700)" test "$(stat -c %a "$B/keys")" = 700
tv "$B" backups;                       expect_out "nightly .*restorable" "every set is listed, no catalog run"
tv "$B" restore nightly --to "$WORK/r"; expect_rc 0 "the encrypted set restores: its tape key came back"
check "byte-exact" same_tree src "$WORK/r/$S/src"
tv "$B" audit;                         expect_out "config restore .*cfg.tvb .*restored" "the restore is audited"
tv "$B" write p src --name after;      expect_rc 0 "the restored server writes on (stored password)"
# its identity came back with the key store, its trust list with the catalog
check "the restored machine keeps its identity" test "$(writer_fpr "$B")" = "$A_FPR"
tv "$B" --json identity list
check "and its trust list" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["own"]==sys.argv[2] and [t["fingerprint"] for t in d["trusted"]]==[sys.argv[3]], d' "$OUT" "$A_FPR" "$W_FPR"
tv "$B" catalog lib;                   expect_rc 0 "its own tapes catalog without a trust question"
expect_no_err "untrusted|not known here" "no writer question for its own tapes"

# only onto a fresh installation
tv "$B" config restore "$WORK/cfg.tvb" --password-file "$WORK/cfgpw"
expect_rc 1 "not over a catalog in use"
expect_err "already holds a catalog in use \(1 library, 1 pool\(s\), 2 tape\(s\)\): a configuration restore is for a fresh installation" "says why"
C=$WORK/c
"$T" --home "$C" -q init
tv "$C" config restore "$WORK/cfg.tvb" --password-file "$WORK/cfgpw"
expect_rc 0 "onto a home 'init' just made"
tv "$C" backups;                       expect_out "nightly .*restorable" "lists the sets"

# a plaintext or damaged file is refused
mkdir -p "$WORK/fake/keys"; echo x > "$WORK/fake/catalog.db"; echo k > "$WORK/fake/keys/master.key"
tv "$A" backup create "$WORK/fake/catalog.db" "$WORK/fake/keys" --out "$WORK/plain.tvb"
tv "$WORK/d" config restore "$WORK/plain.tvb" --password-file "$WORK/cfgpw"
expect_rc 1 "a plaintext configuration file is refused"
expect_err "not encrypted|plaintext|unencrypted" "says it is not encrypted"
check "nothing installed" test ! -e "$WORK/d/catalog.db"
cp "$WORK/cfg.tvb" "$WORK/bad.tvb"
sz=$(stat -c %s "$WORK/bad.tvb")
printf '\x55' | dd of="$WORK/bad.tvb" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
tv "$WORK/e" config restore "$WORK/bad.tvb" --password-file "$WORK/cfgpw"
expect_rc 1 "a damaged configuration file is refused"
check "nothing installed" test ! -e "$WORK/e/catalog.db"
finish
