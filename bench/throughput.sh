#!/usr/bin/env bash
# tapevault throughput of one big file, as ratios to dd in the same run (no
# absolute thresholds: machines differ, ratios travel).
#
#   bench/throughput.sh [path/to/tapevault] [SIZE_MiB]
#
# Incompressible data (an AES-CTR keystream), on tmpfs (/dev/shm), so the
# figures measure tapevault's own pipeline (read the source, frames, zstd's
# pass over data that does not compress, AES-256-GCM, CRC32C, records,
# write the image), not a disk.  Baselines: `dd bs=256k` copying the source
# to the same place (for write) and copying the tape image (for restore).
# Three runs of each, alternating baseline and tapevault; each run has a
# fresh home and a fresh tape (pool: password-encrypted unless PLAIN=1,
# default compression unless COMPRESSION is set), and is preceded by
# writing and deleting as much as it will write: this VM hands freed pages
# back to its host within seconds and the next first write to a page is
# slow, so an unwarmed run measures the VM, not the program.
set -euo pipefail
T=${1:-build/tapevault}
MIB=${2:-2048}
T=$(realpath "$T")
D=$(mktemp -d /dev/shm/tvbench.XXXXXX)
trap 'rm -rf "$D"' EXIT
cd "$D"
BYTES=$((MIB * 1048576))
now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
warm() { dd if=/dev/zero of="$D/warm" bs=1M count=$((MIB + 64)) status=none; rm -f "$D/warm"; }
timed() { local s e; warm; s=$(now); "$@" >/dev/null 2>"$D/err" || { cat "$D/err" >&2; exit 1; }; e=$(now); awk -v s="$s" -v e="$e" 'BEGIN{print e-s}'; }

mkdir src
set +o pipefail
openssl enc -aes-128-ctr -nosalt -pass pass:tvbench -in /dev/zero 2>/dev/null | head -c $BYTES > src/data
set -o pipefail
printf 'bench password\n' > pw; chmod 600 pw
ENC=(--encryption password:bp); [ "${PLAIN:-0}" = 1 ] && ENC=()
COMP=(); [ -n "${COMPRESSION:-}" ] && COMP=(--compression "$COMPRESSION")

fresh() {
	rm -rf "$D/home" "$D/lib" "$D/out"
	"$T" --home "$D/home" -q init
	"$T" --home "$D/home" -q library create lib --path "$D/lib" --slots 4
	"$T" --home "$D/home" -q tape new lib BN0001L9 --capacity $((MIB + 512))M
	"$T" --home "$D/home" -q password add bp --hint bench --password-file pw
	"$T" --home "$D/home" -q pool create p --library lib "${ENC[@]}" "${COMP[@]}" 2>/dev/null
}

dw=() tw=() dr=() tr=()
for i in 1 2 3; do
	dw+=("$(timed dd if=src/data of=dd.out bs=256k)"); rm -f dd.out
	fresh
	tw+=("$(timed "$T" --home "$D/home" -q write p src --name s)")
	dr+=("$(timed dd if="$D/lib/BN0001L9.tap" of=dd.out bs=256k)"); rm -f dd.out
	tr+=("$(timed "$T" --home "$D/home" -q restore s --to "$D/out")")
	# stored paths are the absolute source path without its leading '/'
	cmp -s src/data "$D/out/${D#/}/src/data" || { echo "restored data differs" >&2; exit 1; }
done

echo "tapevault throughput, ${MIB} MiB of incompressible data, tmpfs, $(nproc) cores," \
     "pool: ${ENC[*]:-plaintext} ${COMP[*]:-(default compression)}"
printf '%-30s %8s %8s %8s %8s\n' "MiB/s" median "run 1" "run 2" "run 3"
row() { local what=$1; shift; printf '%-30s %8s %8s %8s %8s\n' "$what" "$(rate $BYTES "$(median "$@")")" \
	"$(rate $BYTES "$1")" "$(rate $BYTES "$2")" "$(rate $BYTES "$3")"; }
ratios() { local what=$1 a=("${!2}") b=("${!3}"); printf '%-30s %8s %8s %8s %8s\n' "$what" \
	"$(ratio "$(median "${a[@]}")" "$(median "${b[@]}")")" "$(ratio "${a[0]}" "${b[0]}")" \
	"$(ratio "${a[1]}" "${b[1]}")" "$(ratio "${a[2]}" "${b[2]}")"; }
row "dd copy of the source" "${dw[@]}"
row "tapevault write" "${tw[@]}"
ratios "  ratio write / dd" dw[@] tw[@]
row "dd copy of the tape image" "${dr[@]}"
row "tapevault restore" "${tr[@]}"
ratios "  ratio restore / dd" dr[@] tr[@]
echo "(ratio = dd time / tapevault time of the same run; 1.00 = as fast as dd; an LTO-9 drive streams at ~400 MB/s)"
