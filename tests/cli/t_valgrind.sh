#!/usr/bin/env bash
# Zero leaks and no invalid accesses under valgrind on the CLI paths the
# other tests drive (plain build; the sanitizer build has LeakSanitizer).
. "$(dirname "$0")/lib.sh"
if [ -n "${TV_SANITIZED:-}" ] || ! command -v valgrind >/dev/null; then
	echo "valgrind pass runs in the plain build"; echo "1 passed, 0 failed"; exit 0
fi
vg() { # vg HOME args...: run under valgrind, fail on leaks or errors
	local home=$1; shift
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--suppressions="$TV_SOURCE_DIR/tests/cli/valgrind.supp" -q "$T" --home "$home" "$@" >"$WORK/vg.out" 2>"$WORK/vg.err"; RC=$?
	OUT=$(cat "$WORK/vg.out"); ERR=$(cat "$WORK/vg.err")
	if [ "$RC" -eq 99 ]; then fail "valgrind: $*"; else pass "valgrind clean: $*"; fi
}
A=$WORK/a; new_home a lib 6 || exit 1
secret pw "valgrind pass"; secret app "authority"
tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 --capacity 16M
vg "$A" password add p --hint h --password-file pw
vg "$A" pool create e --library lib --encryption password:p
mkdir -p s; head -c 20000000 /dev/urandom > s/big; echo small > s/small; ln -s small s/link
vg "$A" write e s --name v
vg "$A" tape list
vg "$A" backups
vg "$A" verify VT0001L9
vg "$A" restore v --to "$WORK/r"
check "restored" cmp s/big "$WORK/r/$S/s/big"
# everything a file system holds (issue 16): holes, xattrs, a FIFO, a socket, owners
mkdir -p fs/d; echo data > fs/d/f; mkfifo fs/fifo; truncate -s 64M fs/sparse
printf x | dd of=fs/sparse bs=1 seek=1000000 conv=notrunc status=none
setfattr -n user.v -v 1 fs/d 2>/dev/null; setfattr -n user.f -v 2 fs/d/f 2>/dev/null
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' fs/sock
vg "$A" write e fs --name fs
vg "$A" write e fs --name fsnx --no-xattrs
# incrementals: the stat helper and the thread that loads the parent's tree
mkdir -p inc; for i in $(seq 1 150); do echo "$i" > "inc/f$i"; done
vg "$A" write e inc --name inc
echo changed > inc/f7; rm inc/f9
vg "$A" write e inc --name inc --level incremental
vg "$A" write e inc --name inc --level incremental
vg "$A" restore fs --to "$WORK/fsr" --numeric-owner
vg "$A" restore fs --to "$WORK/fsr2" --no-xattrs
check "the sparse file restored" cmp fs/sparse "$WORK/fsr/$S/fs/sparse"
vg "$A" backup create s/small --out "$WORK/j.tvb" --encryption password:p
vg "$A" backup extract "$WORK/j.tvb" --to "$WORK/x" --password-file pw
tv "$A" escrow keygen --out "$WORK/ks.pem" --password-file app
tv "$A" escrow public "$WORK/ks.pem" --out "$WORK/pub.pem" --password-file app
vg "$A" escrow enable --public "$WORK/pub.pem"
vg "$A" write e s/small --name v2
tv "$A" tape export VT0001L9 VT0002L9 --to "$WORK/box"
B=$WORK/b; new_home b lib 6
trust_writer "$A" "$B"
tv "$B" tape insert lib "$WORK/box/VT0001L9.tap" "$WORK/box/VT0002L9.tap"
vg "$B" catalog lib
vg "$B" decrypt VT0002L9 --password-file pw --yes
vg "$B" escrow request VT0002L9 --out "$WORK/req.txt"
vg "$A" escrow respond --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/resp.txt" --password-file app --yes --trust-new
vg "$B" escrow apply "$WORK/resp.txt"
vg "$B" audit
vg "$B" tape dump "$WORK/b-lib/VT0001L9.tap"
# the emulated SCSI library (issue 14): changer, drives, LOCATE, hardware
# encryption, a fresh installation reading it
C=$WORK/c; "$T" --home "$C" -q init; head -c 1000000 /dev/urandom > s/mid
vg "$C" library create lib --path "$WORK/c-lib" --slots 4 --drives 2 --scsi-emulation
vg "$C" tape new lib VT0001L9 VT0002L9 --capacity 16M
tv "$C" password add p --hint h --password-file pw
vg "$C" pool create hw --library lib --encryption password:p --drive-encryption on
vg "$C" write hw s/mid s/small --name hw
vg "$C" library status lib
vg "$C" -v restore hw "$S/s/small" --to "$WORK/rs"
check "restored through the emulated drive" cmp s/small "$WORK/rs/$S/s/small"
vg "$C" tape load lib VT0002L9 --drive 1
vg "$C" tape move lib drive:1 mail:1
vg "$C" tape move lib VT0002L9 slot:2
vg "$C" tape export VT0001L9 --to "$WORK/cbox"
D=$WORK/d; "$T" --home "$D" -q init
trust_writer "$C" "$D"
"$T" --home "$D" -q library create lib --path "$WORK/d-lib" --slots 4 --scsi-emulation
vg "$D" tape insert lib "$WORK/cbox/VT0001L9.tap"
vg "$D" catalog lib
vg "$D" verify VT0001L9
vg "$D" decrypt VT0001L9 --password-file pw --yes
vg "$D" verify VT0001L9
finish
