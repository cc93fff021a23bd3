#!/usr/bin/env bash
# tapevault hardware checklist: one SCSI library, one drive, one scratch
# cartridge, step by step, each step's result printed.
#
#   tools/hwtest.sh CHANGER DRIVE BARCODE [--yes]
#       CHANGER  the changer's sg device (lsscsi -g: "mediumx")
#       DRIVE    the drive: /dev/sgN (SCSI commands: LOCATE, encryption)
#                or /dev/nstN (the st driver)
#       BARCODE  a scratch cartridge in the library: it is written (its
#                contents are lost); nothing else is written or moved
#                except into and out of the drive
#   tools/hwtest.sh emulated     the same on an emulated library (what
#                                the test suite runs)
#
# It never touches the site's tapevault state: every step runs in
# temporary state directories (removed at the end, kept on a failure).
# TAPEVAULT names the binary (default: tapevault on PATH, else
# build/tapevault next to this script).
#
# Steps: inventory (library status), load and unload, write a test tree,
# position (a single-file restore by LOCATE), read back and compare,
# verify, hardware encryption on (write, read back, a read without the key
# refused by the drive), hardware encryption off (the drive no longer
# encrypts), unload.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=${TAPEVAULT:-$(command -v tapevault || echo "$here/../build/tapevault")}
if [ $# -eq 1 ] && [ "$1" = emulated ]; then
	MODE=emulated; CHANGER=emulated; DRIVE=emulated:0; BC=HW0001L9; YES=1
elif [ $# -ge 3 ]; then
	MODE=real; CHANGER=$1; DRIVE=$2; BC=$3; YES=0
	[ "${4:-}" = --yes ] && YES=1
else
	echo "usage: $0 CHANGER DRIVE BARCODE [--yes]   |   $0 emulated" >&2
	exit 2
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/tv-hwtest.XXXXXX")
PASSN=0; FAILN=0
step() { # step "what" command...: runs it, prints [PASS]/[FAIL] with its output on failure
	local what=$1; shift
	if out=$("$@" 2>&1); then
		PASSN=$((PASSN + 1)); printf '[PASS] %s\n' "$what"
	else
		FAILN=$((FAILN + 1)); printf '[FAIL] %s\n' "$what"; printf '%s\n' "$out" | sed 's/^/       /' | head -20
	fi
	LAST=$out
}
tvh() { local home=$1; shift; "$T" --home "$W/$home" "$@"; }

echo "tapevault hardware checklist: changer $CHANGER, drive $DRIVE, scratch cartridge $BC"
echo "binary: $T ($("$T" --version 2>/dev/null))"
echo "work: $W"
if [ "$MODE" = real ] && [ "$YES" -eq 0 ]; then
	printf 'Cartridge %s will be overwritten. Go on? [y/N] ' "$BC"
	read -r a; [ "$a" = y ] || [ "$a" = Y ] || { echo "stopped"; exit 1; }
fi

# an installation registering the library: the real one (the same devices
# every time); emulated, a library of its own with a blank cartridge, or
# (READER) the library of the installation that wrote the tape
new_home() { # new_home NAME [WRITER]
	"$T" --home "$W/$1" -q init || return 1
	if [ -n "${2:-}" ]; then   # it reads WRITER's tapes: trust its identity
		"$T" --home "$W/$2" -q identity export --out "$W/$2.pub" >/dev/null 2>&1 &&
			"$T" --home "$W/$1" -q identity trust "$W/$2.pub" >/dev/null 2>&1 || return 1
	fi
	if [ "$MODE" = real ]; then
		"$T" --home "$W/$1" -q library add hw --changer "$CHANGER" --drive "$DRIVE"
	elif [ -n "${2:-}" ]; then
		"$T" --home "$W/$1" -q library attach hw --path "$W/lib-$2"
	else
		"$T" --home "$W/$1" -q library create hw --path "$W/lib-$1" --slots 4 --drives 2 \
			--scsi-emulation && "$T" --home "$W/$1" -q tape new hw "$BC" --capacity 64M
	fi
}
# the real cartridge is blank as far as a new installation knows
scratch() { [ "$MODE" = emulated ] || "$T" --home "$W/$1" -q tape new hw "$BC"; }

mkdir -p "$W/src/d"
head -c 20000000 /dev/urandom > "$W/src/d/big"
head -c 300000 /dev/urandom > "$W/src/d/mid"
echo "HWTEST-MARKER-$$" > "$W/src/d/small.txt"
S=${W#/}

# 1 inventory
step "library add / attach: the changer answers (INQUIRY, element address page)" new_home one
step "inventory: READ ELEMENT STATUS with volume tags" tvh one library status hw
printf '%s\n' "$LAST" | sed 's/^/       /'
step "the scratch cartridge $BC is in the library" bash -c "printf '%s' \"\$1\" | grep -q 'VolumeTag *= *$BC'" _ "$LAST"
# 2 load, unload
step "load $BC into drive 0 (MOVE MEDIUM, TEST UNIT READY)" tvh one tape load hw "$BC" --drive 0
step "unload drive 0 (drive ejects, MOVE MEDIUM back)" tvh one tape unload hw --drive 0
# 3 write
step "register $BC as blank" scratch one
step "pool without encryption" tvh one pool create plain --library hw
step "write a test tree (20 MB, WRITE(6) in 256 KiB records)" tvh one write plain "$W/src/d" --name plain
# 4 position, 5 read back
step "single-file restore by LOCATE(16)" tvh one -v restore plain "$S/src/d/small.txt" --to "$W/r1"
printf '%s\n' "$LAST" | grep -E 'LOCATE|records read' | sed 's/^/       /'
step "the position was found by LOCATE" bash -c "printf '%s' \"\$1\" | grep -Eq ' [1-9][0-9]* LOCATE'" _ "$LAST"
step "the file read back is the one written" cmp "$W/src/d/small.txt" "$W/r1/$S/src/d/small.txt"
step "read back the whole set" tvh one restore plain --to "$W/r2"
step "what was read is what was written" diff -r "$W/src/d" "$W/r2/$S/src/d"
step "verify every record" tvh one verify "$BC"
# 6 hardware encryption on
printf 'hwtest password\n' > "$W/pw"; chmod 600 "$W/pw"
new_home two >/dev/null 2>&1; scratch two
step "a pool with drive encryption (the drive reports AES-256-GCM)" bash -c \
	"'$T' --home '$W/two' -q password add p --hint hwtest --password-file '$W/pw' && '$T' --home '$W/two' pool create enc --library hw --encryption password:p --drive-encryption on"
step "write with drive encryption (SECURITY PROTOCOL OUT 0010h)" tvh two -v write enc "$W/src/d" --name enc
step "read back with the key in the drive" tvh two restore enc --to "$W/r3"
step "what was read is what was written" diff -r "$W/src/d" "$W/r3/$S/src/d"
new_home three two >/dev/null 2>&1
tvh three -q catalog hw >/dev/null 2>&1
step "a read without the key is refused by the drive (DATA PROTECT 74h/xx)" bash -c \
	"! '$T' --home '$W/three' verify '$BC' > '$W/v.out' 2>&1 && grep -q 'ASC/ASCQ 74h' '$W/v.out'"
step "with the password, the drive gets the key and reads" bash -c \
	"'$T' --home '$W/three' decrypt '$BC' --password-file '$W/pw' --yes && '$T' --home '$W/three' verify '$BC'"
# 7 hardware encryption off
new_home four >/dev/null 2>&1; scratch four
step "a pool without drive encryption (software encryption only)" bash -c \
	"'$T' --home '$W/four' -q password add p --hint hwtest --password-file '$W/pw' && '$T' --home '$W/four' pool create soft --library hw --encryption password:p"
step "write without drive encryption" tvh four write soft "$W/src/d" --name soft
new_home five four >/dev/null 2>&1
tvh five -q catalog hw >/dev/null 2>&1
step "the drive no longer encrypts: its records are readable without a drive key" bash -c \
	"'$T' --home '$W/five' verify '$BC' 2>&1 | grep -q 'checksums only' && ! '$T' --home '$W/five' verify '$BC' 2>&1 | grep -q 'ASC/ASCQ 74h'"
# 8 unload
step "unload: nothing left in the drives" tvh one tape unload hw
step "the library after the checklist" tvh one library status hw
printf '%s\n' "$LAST" | sed 's/^/       /'

echo "$PASSN passed, $FAILN failed"
if [ "$FAILN" -eq 0 ]; then rm -rf "$W"; else echo "kept $W for inspection"; fi
[ "$FAILN" -eq 0 ]
