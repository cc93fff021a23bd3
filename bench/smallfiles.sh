#!/usr/bin/env bash
# tapevault on many small files: backup, restore and catalog rebuild, as
# ratios to tar | openssl in the same run (machines differ, ratios travel).
#
#   bench/smallfiles.sh TAPEVAULT_BINARY [N]        N files, default 100000
#   COMPRESSION=zstd:1 bench/smallfiles.sh ...      pool gets --compression zstd:1
#                                                   (unset or empty: no option, the default)
#
# Data: N files of 768-1280 random bytes (uniform) in 100 x 10 directories
# (d00..d99/s0..s9), all on tmpfs (/dev/shm), which is warmed first (this
# VM pays for the first write to each page; as freed pages go back to the
# host within seconds, every timed run is preceded by a small warm-up too).
#
# Baseline:  backup  tar -cf - -C SRC . | openssl enc -aes-256-ctr -pbkdf2 > OUT
#            restore openssl enc -d < OUT | tar -xf - -C NEW
# tapevault: backup  tapevault -q write p SRC  (password-encrypted pool,
#                    fresh home and library for every run; only the write is timed)
#            restore tapevault -q restore s --to NEW  (fresh NEW every run)
# Each is run 3 times, baseline and tapevault alternating; the table shows
# files/s, median and each run, and ratio = tapevault files/s / baseline
# files/s (= baseline time / tapevault time): 1.00 = as fast as tar|openssl,
# higher is better.  The restored tree is compared with the source (diff -r).
#
# Then a catalog rebuild: a fresh home gets the tape images of the last
# write (tape insert --copy) and the password; 'tapevault catalog' is timed
# with /usr/bin/time: seconds and peak RSS.  Last, the images themselves:
# size against the data (sum of file sizes), SIMH records and tape files,
# and how many records have the most common (full) size: when every record
# but the first and last of each tape file is full, "interior records" and
# "full-size among them" are equal.
set -euo pipefail

. "$(dirname "$0")/lib.sh"

T=$1
N=${2:-100000}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, not '$N'"
{ [ -f "$T" ] && [ -x "$T" ]; } || die "$T: not an executable file (give the tapevault binary)"
T=$(realpath "$T")
PY=/usr/bin/python3
for c in tar openssl diff awk "$PY" /usr/bin/time; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install tar openssl diffutils mawk python3 time)"
done
COMP_ARGS=()
if [ -n "${COMPRESSION:-}" ]; then COMP_ARGS=(--compression "$COMPRESSION"); fi
HERE=$(cd "$(dirname "$0")" && pwd)
SIMH=$HERE/../tests/cli/simh.py

D=$(mktemp -d /dev/shm/tvsmall.XXXXXX)
trap 'rm -rf "$D"' EXIT
cd "$D"
SRC=$D/src
PW=$D/pw
OUT=$D/base.out
LOG=$D/cmd.log

now() { date +%s.%N; }
fps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# fail DESC CMD...: show the command and its output, stop.
fail() {
	local what=$1; shift
	if [ "$1" = tv ]; then shift; set -- "$T" --home "$@"; fi
	{
		printf '%s: FAILED: %s\n  command:' "$me" "$what"
		printf ' %q' "$@"; printf '\n'
		sed -e 's/^/  | /' "$LOG" | tail -n 20
		if grep -q -e '--compression' "$LOG" && [ ${#COMP_ARGS[@]} -gt 0 ]; then
			echo "  this tapevault does not accept --compression; unset COMPRESSION to run with its default"
		fi
	} >&2
	exit 1
}
# step DESC CMD...: run untimed, output to the log, stop on failure.
step() { local what=$1; shift; "$@" >"$LOG" 2>&1 </dev/null || fail "$what" "$@"; }
# timed DESC CMD...: run, set ELAPSED (seconds, wall clock), stop on failure.
# Pages freed on tmpfs go back to this VM's host within seconds (free page
# reporting), and the first write to such a page is slow again: so each
# timed run is preceded by writing and deleting WARM_BYTES, about what
# the run will write, and takes those pages while they are still warm.
ELAPSED=0
WARM_BYTES=0
prewarm() {
	[ "$1" -gt 0 ] || return 0
	dd if=/dev/zero of="$D/warm" bs=1M count=$(( ($1 + 1048575) / 1048576 )) status=none
	rm -f "$D/warm"
}
timed() {
	local what=$1 s e; shift
	prewarm "$WARM_BYTES"
	s=$(now)
	"$@" >"$LOG" 2>&1 </dev/null || fail "$what" "$@"
	e=$(now)
	ELAPSED=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f", e - s }')
}
tv() { local h=$1; shift; "$T" --home "$h" "$@"; }
base_backup() { tar -cf - -C "$SRC" . | openssl enc -aes-256-ctr -pbkdf2 -pass file:"$PW" >"$OUT"; }
base_restore() { openssl enc -d -aes-256-ctr -pbkdf2 -pass file:"$PW" <"$OUT" | tar -xf - -C "$1"; }
# A fresh home and library (with the password pool) in $1.
tv_fresh() {
	local r=$1
	rm -rf "$r"; mkdir -p "$r"
	step "init" tv "$r/home" init
	step "library create" tv "$r/home" library create lib --path "$r/lib" --slots 10
	step "tape new" tv "$r/home" tape new lib VT0001L9 VT0002L9 --capacity 64G
	step "password add" tv "$r/home" password add pw --hint h --password-file "$PW"
	step "pool create" tv "$r/home" pool create p --library lib --encryption password:pw "${COMP_ARGS[@]}"
}

printf 'bench password\n' >"$PW"
chmod 600 "$PW"
# Setup once before anything slow: an option this binary rejects stops us here.
tv_fresh "$D/tv"
rm -rf "$D/tv"

# --- warm tmpfs: data set and tape images (4 KiB pages per file) ---------------
need=$(( (N * 16384 + 256 * 1048576) / 1048576 ))   # source, output, images, restored copy
avail=$(df --output=avail -B1M /dev/shm | tail -n 1 | tr -d ' ')
[ "$avail" -gt "$need" ] || die "/dev/shm has ${avail} MiB free, this run needs about ${need} MiB"
prewarm $((N * 8192 + 64 * 1048576))
WARM_BYTES=$((N * 4096 + 4 * 1048576))   # before each timed run: one restored tree's pages

# --- data: one python process --------------------------------------------------
BYTES=$("$PY" - "$N" "$SRC" <<'EOF'
import os, random, sys
n, root = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(20251201)
for d in range(100):
    for s in range(10):
        os.makedirs(f"{root}/d{d:02d}/s{s}")
total = 0
for i in range(n):
    size = rnd.randint(768, 1280)
    fd = os.open(f"{root}/d{i % 100:02d}/s{i // 100 % 10}/f{i:07d}",
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, os.urandom(size))
    os.close(fd)
    total += size
print(total)
EOF
)

# --- backup: baseline and tapevault alternating ----------------------------
bb=() tb=()
for i in 1 2 3; do
	rm -f "$OUT"
	timed "baseline backup (tar | openssl), run $i" base_backup
	bb+=("$ELAPSED")
	tv_fresh "$D/tv"
	timed "tapevault write, run $i" tv "$D/tv/home" -q write p "$SRC" --name s
	tb+=("$ELAPSED")
done

# --- restore: fresh directories ---------------------------------------------
br=() tr=()
for i in 1 2 3; do
	rm -rf "$D/new"; mkdir "$D/new"
	timed "baseline restore (openssl | tar), run $i" base_restore "$D/new"
	br+=("$ELAPSED")
	rm -rf "$D/new"; mkdir "$D/new"
	timed "tapevault restore, run $i" tv "$D/tv/home" -q restore s --to "$D/new"
	tr+=("$ELAPSED")
done

# Where did the tree land?  NEW/<basename SRC> (old) or NEW/<SRC without '/'> (tar's rule).
got=$(find "$D/new" -type d -name d00 -print -quit)
got=${got%/d00}
case $got in
"$D/new/${SRC##*/}" | "$D/new/${SRC#/}") ;;
"") die "the restore of set s put no d00 directory under $D/new: $(find "$D/new" -maxdepth 4 | head -n 5 | tr '\n' ' ')" ;;
*) die "the restore put the tree at ${got#"$D"/} (expected new/${SRC##*/} or new/${SRC#/})" ;;
esac
diff -r --no-dereference "$SRC" "$got" >"$LOG" 2>&1 ||
	{ sed -n 1,10p "$LOG" >&2; die "the restored tree (${got#"$D"/}) differs from the source"; }
VERIFIED=${got#"$D"/new/}
rm -rf "$D/new"

# --- catalog rebuild on a fresh home -------------------------------------------
# Blank = no SIMH record at all; the images are SIMH .tap files (list: one
# line per record "rec FILE REC OFFSET LEN", per filemark "fm FILE REC OFFSET 0").
simh_list() {
	if [ -f "$SIMH" ]; then
		"$PY" "$SIMH" list "$1"
	else
		"$PY" - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
pos = f = r = 0
while pos + 4 <= len(data):
    (n,) = struct.unpack_from("<I", data, pos)
    if n == 0xFFFFFFFF:
        break
    if n == 0:
        print("fm", f, r, pos, 0); f += 1; r = 0; pos += 4; continue
    ln = n & 0x7FFFFFFF
    print("rec", f, r, pos + 4, ln); r += 1
    pos += 4 + ln + (ln & 1) + 4
EOF
	fi
}
images=()
img_bytes=0
: >"$D/records"
for img in "$D"/tv/lib/VT*.tap; do
	[ -s "$img" ] || continue
	simh_list "$img" >"$D/list" || die "cannot parse $img as a SIMH tape image"
	grep -q '^rec' "$D/list" || continue
	{ echo "img ${img##*/}"; cat "$D/list"; } >>"$D/records"
	images+=("$img")
	img_bytes=$((img_bytes + $(stat -c %s "$img")))
done
[ ${#images[@]} -gt 0 ] || die "the write left no non-blank image in $D/tv/lib"

# 'tape insert --copy' straight from the write's library: the barcode comes
# from the image's sidecar (IMAGE.tap.json) when there is one, else from the
# file name; the sidecar is not required.
C=$D/cat
mkdir -p "$C"
step "init (catalog home)" tv "$C/home" init
step "library create (catalog home)" tv "$C/home" library create lib --path "$C/lib" --slots 10
step "password add (catalog home)" tv "$C/home" password add pw --hint h --password-file "$PW"
# the tapes are signed by the writing home's identity: trust it, as an
# operator would once (GUIDE 5.1)
step "identity export (writer)" tv "$D/tv/home" identity export --out "$D/writer.pub"
step "identity trust (catalog home)" tv "$C/home" identity trust "$D/writer.pub"
for img in "${images[@]}"; do
	step "tape insert ${img##*/}" tv "$C/home" tape insert lib --copy "$img"
done
/usr/bin/time -f '%e %M' -o "$D/cat.time" "$T" --home "$C/home" -q catalog lib >"$LOG" 2>&1 </dev/null ||
	fail "catalog rebuild" "$T" --home "$C/home" -q catalog lib
read -r cat_s cat_kb <"$D/cat.time"
step "backups (catalog home)" tv "$C/home" backups
grep -Eq '^[0-9a-f-]+ +s +.*restorable' "$LOG" ||
	echo "$me: warning: after the rebuild, 'tapevault backups' does not list set s as restorable" >&2

# records: totals, tape files, the most common size, and records that are
# neither the first nor the last of their tape file (all full, ideally).
recstats=$(awk '
	$1 == "img" { pend = 0; img = $2; next }
	$1 == "fm"  { fms++; pend = 0; next }
	$1 == "rec" {
		recs++; size[$5]++; if ($5 + 0 > max) max = $5 + 0
		key = img ":" $2; if (!(key in seen)) { seen[key] = 1; files++ }
		if (pend && pfile == key && prec > 0) { inner++; innersz[plen]++ }
		pend = 1; pfile = key; prec = $3; plen = $5
	}
	END {
		for (s in size) if (size[s] > best || (size[s] == best && s + 0 > mode + 0)) { best = size[s]; mode = s }
		printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", recs, files, fms, mode, best, inner, innersz[mode] + 0, max
	}' "$D/records")
read -r recs tfiles fms mode nmode inner innerfull maxrec <<<"$recstats"

# --- report --------------------------------------------------------------------
bbm=$(median "${bb[@]}") tbm=$(median "${tb[@]}") brm=$(median "${br[@]}") trm=$(median "${tr[@]}")
row() { # label median t1 t2 t3 (times) -> files/s
	printf '%-36s %9s %9s %9s %9s\n' "$1" "$(fps "$N" "$2")" "$(fps "$N" "$3")" "$(fps "$N" "$4")" "$(fps "$N" "$5")"
}
rrow() { # label base-median tv-median b1 t1 b2 t2 b3 t3 (times)
	printf '%-36s %9s %9s %9s %9s\n' "$1" "$(ratio "$2" "$3")" "$(ratio "$4" "$5")" "$(ratio "$6" "$7")" "$(ratio "$8" "$9")"
}
echo "tapevault small files: $N files of 768-1280 random bytes ($(mib "$BYTES") MiB) in 1000 directories, tmpfs, $(nproc) cores"
echo "pool: password-encrypted, compression: ${COMPRESSION:-the default (COMPRESSION unset)}"
printf '%-36s %9s %9s %9s %9s\n' "files/s" median "run 1" "run 2" "run 3"
row "backup:  tar | openssl (baseline)" "$bbm" "${bb[@]}"
row "backup:  tapevault write" "$tbm" "${tb[@]}"
rrow "         ratio tapevault/baseline" "$bbm" "$tbm" "${bb[0]}" "${tb[0]}" "${bb[1]}" "${tb[1]}" "${bb[2]}" "${tb[2]}"
row "restore: openssl | tar (baseline)" "$brm" "${br[@]}"
row "restore: tapevault restore" "$trm" "${tr[@]}"
rrow "         ratio tapevault/baseline" "$brm" "$trm" "${br[0]}" "${tr[0]}" "${br[1]}" "${tr[1]}" "${br[2]}" "${tr[2]}"
echo "(ratio = tapevault files/s / baseline files/s; 1.00 = as fast as tar|openssl, higher is better;"
echo " median column: ratio of the medians; run columns: run i against baseline run i)"
echo "restored tree: identical to the source (diff -r), restored under NEW/$VERIFIED"
printf 'catalog rebuild (fresh home, %d tape(s) inserted): %.2f s, peak RSS %s MiB\n' \
	"${#images[@]}" "$cat_s" "$(awk -v k="$cat_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
printf 'tape images: %s, %d bytes; data %d bytes (sum of file sizes); image/data %s\n' \
	"$(for i in "${images[@]}"; do printf '%s ' "${i##*/}"; done | sed 's/ $//')" \
	"$img_bytes" "$BYTES" "$(awk -v a="$img_bytes" -v b="$BYTES" 'BEGIN { printf "%.3f", a / b }')"
printf 'SIMH records: %d in %d tape files (%d filemarks); most common size %d bytes: %d records; largest %d bytes\n' \
	"$recs" "$tfiles" "$fms" "$mode" "$nmode" "$maxrec"
if [ "$mode" = "$maxrec" ]; then full="full"; else full="most common, not the largest"; fi
printf 'records neither first nor last of their tape file: %d, of which %d-byte (%s): %d\n' \
	"$inner" "$mode" "$full" "$innerfull"
