#!/usr/bin/env bash
# tapevault with compression: speed and bytes on tape against
# tar | zstd -1 | openssl in the same run (machines differ, ratios travel).
#
#   bench/compress.sh TAPEVAULT_BINARY [TREE...]
#
#   TREE...        the mixed data set (default: /usr/share/doc and
#                  /usr/lib/x86_64-linux-gnu, about 1.2 GB), copied with cp -a
#                  to tmpfs first
#   RANDOM_MIB=N   size of the random data set, one file from /dev/urandom
#                  (default 2048)
#   COMPRESSION=X  the pool's --compression (default zstd:1; set but empty:
#                  no --compression option at all, the binary's default)
#
# Everything lives on tmpfs (/dev/shm), warmed first (this VM pays for the
# first write to each page; as freed pages go back to the host within
# seconds, every timed run is preceded by writing and deleting a file about
# the size of what it writes).  Per data set, each run 3 times, alternating:
#   baseline   backup  tar -cf - -C SRC . | zstd -1 -T0 -q | openssl enc -aes-256-ctr -pbkdf2 > OUT
#              restore openssl enc -d < OUT | zstd -d -T0 -q | tar -xf - -C NEW
#   tapevault  backup  tapevault -q write p SRC (password-encrypted pool with
#                      compression; fresh home and library every run, only the
#                      write is timed)
#              restore tapevault -q restore s --to NEW (fresh NEW every run)
#   dd         (random data set only) dd if=SRC of=COPY bs=256k, after a warm-up
# Figures are medians of the 3 runs (each run's MB/s is shown too).
# MB/s = data bytes (sum of file sizes) / 10^6 / seconds.  speed ratio =
# baseline time / tapevault time: 1.00 = as fast as the baseline, higher is
# better.  Output bytes: the size of OUT for the baseline; for tapevault the
# whole .tap images written (labels, headers and SIMH framing included).
# bytes ratio = tapevault bytes / baseline bytes: below 1.00 = smaller.
# The last restore of each data set is compared with the source (diff -r).
set -euo pipefail

. "$(dirname "$0")/lib.sh"

T=$1; shift
TREES=("$@")
[ ${#TREES[@]} -gt 0 ] || TREES=(/usr/share/doc /usr/lib/x86_64-linux-gnu)
RANDOM_MIB=${RANDOM_MIB:-2048}
[[ $RANDOM_MIB =~ ^[1-9][0-9]*$ ]] || die "RANDOM_MIB must be a positive integer, not '$RANDOM_MIB'"
{ [ -f "$T" ] && [ -x "$T" ]; } || die "$T: not an executable file (give the tapevault binary)"
T=$(realpath "$T")
for c in tar zstd openssl dd diff awk; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install tar zstd openssl coreutils diffutils mawk)"
done
if [ -z "${COMPRESSION+set}" ]; then
	COMP_ARGS=(--compression zstd:1) COMP_NAME=zstd:1
elif [ -z "$COMPRESSION" ]; then
	COMP_ARGS=() COMP_NAME="the binary's default (COMPRESSION empty)"
else
	COMP_ARGS=(--compression "$COMPRESSION") COMP_NAME=$COMPRESSION
fi
for i in "${!TREES[@]}"; do
	[ -e "${TREES[i]}" ] || die "${TREES[i]}: no such file or directory"
	TREES[i]=$(realpath "${TREES[i]}")
done

D=$(mktemp -d /dev/shm/tvcomp.XXXXXX)
trap 'rm -rf "$D"' EXIT
cd "$D"
PW=$D/pw
OUT=$D/base.out
NEW=$D/new
LOG=$D/cmd.log

now() { date +%s.%N; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

# fail DESC CMD...: show the command and its output, stop.
fail() {
	local what=$1; shift
	if [ "$1" = tv ]; then shift; set -- "$T" --home "$@"; fi
	{
		printf '%s: FAILED: %s\n  command:' "$me" "$what"
		printf ' %q' "$@"; printf '\n'
		sed -e 's/^/  | /' "$LOG" | tail -n 20
		if grep -q -e '--compression' "$LOG" && [ ${#COMP_ARGS[@]} -gt 0 ]; then
			echo "  this tapevault does not accept --compression; COMPRESSION= (set, empty) runs without the option"
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
base_backup() { tar -cf - -C "$1" . | zstd -1 -T0 -q | openssl enc -aes-256-ctr -pbkdf2 -pass file:"$PW" >"$OUT"; }
base_restore() { openssl enc -d -aes-256-ctr -pbkdf2 -pass file:"$PW" <"$OUT" | zstd -d -T0 -q | tar -xf - -C "$1"; }
dd_copy() { dd if="$1" of="$D/copy" bs=256k status=none; }
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
image_bytes() { find "$1" -maxdepth 1 -name '*.tap' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

printf 'bench password\n' >"$PW"
chmod 600 "$PW"
# Setup once before anything slow: an option this binary rejects stops us here.
tv_fresh "$D/tv"
rm -rf "$D/tv"

# --- warm tmpfs: the larger data set plus its tape images -------------------------
tree_bytes=$(du -scb "${TREES[@]}" | tail -n 1 | cut -f 1)
rnd_bytes=$((RANDOM_MIB * 1048576))
big=$((tree_bytes > rnd_bytes ? tree_bytes : rnd_bytes))
need=$(( (4 * big + 256 * 1048576) / 1048576 ))   # source, output, images, restored copy
avail=$(df --output=avail -B1M /dev/shm | tail -n 1 | tr -d ' ')
[ "$avail" -gt "$need" ] || die "/dev/shm has ${avail} MiB free, this run needs about ${need} MiB"
prewarm $((2 * big))

echo "tapevault compression: pool compression $COMP_NAME, password-encrypted; tmpfs, $(nproc) cores"

# bench_set LABEL SRC RANDOM(0|1): measure one data set and print its table.
bench_set() {
	local label=$1 src=$2 rnd=$3 i
	local bytes files bb=() tb=() br=() tr=() dc=() ob=() tbytes=()
	bytes=$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
	files=$(find "$src" -type f | wc -l)
	# before each timed run: the data's pages (file sizes rounded up to 4 KiB)
	WARM_BYTES=$(find "$src" -type f -printf '%s\n' | awk '{ s += int(($1 + 4095) / 4096) * 4096 } END { printf "%.0f\n", s + 4194304 }')
	if [ "$rnd" = 1 ]; then
		dd_copy "$src/data"; rm -f "$D/copy"   # warm-up
	fi
	for i in 1 2 3; do
		if [ "$rnd" = 1 ]; then
			timed "dd copy, run $i" dd_copy "$src/data"
			dc+=("$ELAPSED"); rm -f "$D/copy"
		fi
		rm -f "$OUT"
		timed "baseline backup (tar | zstd | openssl), run $i" base_backup "$src"
		bb+=("$ELAPSED"); ob+=("$(stat -c %s "$OUT")")
		tv_fresh "$D/tv"
		timed "tapevault write, run $i" tv "$D/tv/home" -q write p "$src" --name s
		tb+=("$ELAPSED"); tbytes+=("$(image_bytes "$D/tv/lib")")
	done
	for i in 1 2 3; do
		rm -rf "$NEW"; mkdir "$NEW"
		timed "baseline restore (openssl | zstd -d | tar), run $i" base_restore "$NEW"
		br+=("$ELAPSED")
		rm -rf "$NEW"; mkdir "$NEW"
		timed "tapevault restore, run $i" tv "$D/tv/home" -q restore s --to "$NEW"
		tr+=("$ELAPSED")
	done
	# NEW/<basename SRC> (old) or NEW/<SRC without '/'> (tar's rule)
	local got
	if [ -d "$NEW/${src##*/}" ]; then got=$NEW/${src##*/}
	elif [ -d "$NEW/${src#/}" ]; then got=$NEW/${src#/}
	else die "$label: the restore put neither new/${src##*/} nor new/${src#/} under $NEW: $(find "$NEW" -maxdepth 4 | head -n 5 | tr '\n' ' ')"
	fi
	diff -r --no-dereference "$src" "$got" >"$LOG" 2>&1 ||
		{ sed -n 1,10p "$LOG" >&2; die "$label: the restored tree (${got#"$D"/}) differs from the source"; }
	rm -rf "$NEW" "$OUT" "$D/tv"

	local bbm tbm brm trm obm tbm_bytes
	bbm=$(median "${bb[@]}") tbm=$(median "${tb[@]}") brm=$(median "${br[@]}") trm=$(median "${tr[@]}")
	obm=$(median "${ob[@]}") tbm_bytes=$(median "${tbytes[@]}")
	echo
	echo "$label: $files files, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
	printf '%-38s %8s %8s %8s %8s %7s %14s %7s\n' "" "MB/s" "run 1" "run 2" "run 3" "speed" "output" "bytes"
	printf '%-38s %8s %8s %8s %8s %7s %14s %7s\n' "" "median" "" "" "" "ratio" "bytes" "ratio"
	row() { # label median-time t1 t2 t3 speed-ratio out-bytes bytes-ratio
		printf '%-38s %8s %8s %8s %8s %7s %14s %7s\n' "$1" "$(mbs "$bytes" "$2")" \
			"$(mbs "$bytes" "$3")" "$(mbs "$bytes" "$4")" "$(mbs "$bytes" "$5")" "$6" "$7" "$8"
	}
	row "backup:  tar|zstd -1|openssl (baseline)" "$bbm" "${bb[@]}" 1.00 "$obm" 1.00
	row "backup:  tapevault write" "$tbm" "${tb[@]}" "$(ratio "$bbm" "$tbm")" "$tbm_bytes" "$(ratio "$tbm_bytes" "$obm")"
	row "restore: openssl|zstd -d|tar (baseline)" "$brm" "${br[@]}" 1.00 "" ""
	row "restore: tapevault restore" "$trm" "${tr[@]}" "$(ratio "$brm" "$trm")" "" ""
	if [ "$rnd" = 1 ]; then
		local dcm
		dcm=$(median "${dc[@]}")
		row "copy:    dd bs=256k" "$dcm" "${dc[@]}" "" "" ""
		printf '%-38s %8s\n' "         tapevault write / dd" "$(ratio "$dcm" "$tbm")"
		printf '%-38s %8s\n' "         tapevault restore / dd" "$(ratio "$dcm" "$trm")"
	fi
	printf 'output/data: baseline %s, tapevault %s; restored tree identical to the source (under NEW/%s)\n' \
		"$(ratio "$obm" "$bytes")" "$(ratio "$tbm_bytes" "$bytes")" "${got#"$NEW"/}"
}

# --- (a) the mixed tree ------------------------------------------------------------
for t in "${TREES[@]}"; do
	mkdir -p "$D/tree$(dirname "$t")"
	cp -a "$t" "$D/tree$(dirname "$t")/"
done
bench_set "mixed tree (${TREES[*]})" "$D/tree" 0
rm -rf "$D/tree"

# --- (b) random data -------------------------------------------------------------
mkdir "$D/random"
dd if=/dev/urandom of="$D/random/data" bs=1M count="$RANDOM_MIB" iflag=fullblock status=none
bench_set "random data (one file of $RANDOM_MIB MiB from /dev/urandom)" "$D/random" 1

echo
echo "(speed ratio = baseline time / tapevault time, or dd time / tapevault time: 1.00 = as fast, higher is better;"
echo " MB = 10^6 bytes of data (sum of file sizes); output bytes: baseline = size of OUT, tapevault = whole .tap"
echo " images, labels and SIMH framing included; bytes ratio = tapevault / baseline, below 1.00 = smaller)"
