#!/usr/bin/env bash
# tapevault throughput, as ratios to dd in the same run (no absolute
# thresholds: machines differ, ratios travel).
#
#   bench/throughput.sh [path/to/tapevault] [SIZE_MiB]
#
# Each figure is the best of two runs.  The encrypted write includes the
# job's one PBKDF2 derivation (600,000 iterations, ~0.25 s).  Everything lives on tmpfs (/dev/shm) so the figures measure tapevault's
# own pipeline (read source, frame records, CRC32C, AES-256-GCM, write
# image), not a disk.  Baselines: `dd bs=256k` copying the same source to
# the same place (write), and dd reading the tape image (read).
set -euo pipefail
T=${1:-build/tapevault}
MIB=${2:-2048}
T=$(realpath "$T")
D=$(mktemp -d /dev/shm/tvbench.XXXXXX)
trap 'rm -rf "$D"' EXIT
cd "$D"
export TAPEVAULT_HOME=$D/home
now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

mkdir src
# incompressible data, quickly: AES-CTR keystream from openssl
set +o pipefail
openssl enc -aes-128-ctr -nosalt -pass pass:tvbench -in /dev/zero 2>/dev/null | head -c $((MIB * 1048576)) > src/data
set -o pipefail
BYTES=$((MIB * 1048576))
"$T" -q init
"$T" -q library create lib --path "$D/lib" --slots 8
"$T" -q tape new lib BN0001L9 BN0002L9 BN0003L9 BN0004L9 BN0005L9 BN0006L9 --capacity $((MIB + 512))M
printf 'bench password\n' > pw; chmod 600 pw
"$T" -q password add bp --hint bench --password-file pw
"$T" -q pool create plain --library lib
"$T" -q pool create enc --library lib --encryption password:bp 2>/dev/null

run_dd_write() { local s e; s=$(now); dd if=src/data of=dd.out bs=256k status=none; sync; e=$(now); rm -f dd.out; awk -v s="$s" -v e="$e" 'BEGIN{print e-s}'; }
run_tv_write() { local s e; s=$(now); "$T" -q write "$1" src --name "$2" >/dev/null; e=$(now); awk -v s="$s" -v e="$e" 'BEGIN{print e-s}'; }
run_dd_read() { local s e; s=$(now); dd if="$1" of=dd.out bs=256k status=none; sync; e=$(now); rm -f dd.out; awk -v s="$s" -v e="$e" 'BEGIN{print e-s}'; }
run_tv_read() { local s e; rm -rf out; s=$(now); "$T" -q restore "$1" --to out; e=$(now); rm -rf out; awk -v s="$s" -v e="$e" 'BEGIN{print e-s}'; }

best() { awk -v a="$1" -v b="$2" 'BEGIN{print (a<b)?a:b}'; }
dw1=$(run_dd_write)
tw1=$(run_tv_write plain p1)
te1=$(run_tv_write enc e1)
dw2=$(run_dd_write)
tw2=$(run_tv_write plain p2)
te2=$(run_tv_write enc e2)
dw=$(best "$dw1" "$dw2"); tw=$(best "$tw1" "$tw2"); te=$(best "$te1" "$te2")
img_plain=$D/lib/BN0001L9.tap
img_enc=$D/lib/BN0002L9.tap   # (the write runs alternate plain/enc tapes)
dr=$(best "$(run_dd_read "$img_plain")" "$(run_dd_read "$img_enc")")
tr=$(best "$(run_tv_read p1)" "$(run_tv_read p1)")
tre=$(best "$(run_tv_read e1)" "$(run_tv_read e1)")

echo "tapevault throughput, ${MIB} MiB file, tmpfs, $(nproc) cores"
printf '%-34s %8s MiB/s\n' "dd bs=256k write (baseline)" "$(rate $BYTES "$dw")"
printf '%-34s %8s MiB/s  ratio %s\n' "tapevault write, plaintext" "$(rate $BYTES "$tw")" "$(ratio "$dw" "$tw")"
printf '%-34s %8s MiB/s  ratio %s\n' "tapevault write, AES-256-GCM" "$(rate $BYTES "$te")" "$(ratio "$dw" "$te")"
printf '%-34s %8s MiB/s\n' "dd bs=256k copy of the image" "$(rate $BYTES "$dr")"
printf '%-34s %8s MiB/s  ratio %s\n' "tapevault restore, plaintext" "$(rate $BYTES "$tr")" "$(ratio "$dr" "$tr")"
printf '%-34s %8s MiB/s  ratio %s\n' "tapevault restore, AES-256-GCM" "$(rate $BYTES "$tre")" "$(ratio "$dr" "$tre")"
echo "(ratio = dd time / tapevault time; 1.00 = as fast as dd; a drive streams at ~400 MiB/s)"
