#!/usr/bin/env bash
# Issue 11 must-show: with N items in the catalog (default 1000000),
# 'files SET GLOB' and 'find GLOB' answer within 1 s.  Each query is
# timed 3 times; the median and every run are printed, in seconds.
#
#   bench/catalog_scale.sh TAPEVAULT_BINARY [N]
#   KEEP=1 bench/catalog_scale.sh ...     keep the scratch directory (named)
#   REUSE=DIR bench/catalog_scale.sh T N   the queries again, on a kept one
#
# The catalog is made the honest way: a real 'tapevault write' of N empty
# files (1000 directories d000..d999 of N/1000 files each; every 1000th
# file is named cNNNNNNN.conf, the others fNNNNNNN.dat) from tmpfs
# (/dev/shm) into a virtual library on tmpfs, so every row, index and
# statistic is what the write job itself makes.  The time the write took
# is printed too.  Each query's output line count is checked against what
# it must find (the queries print to a file, not a terminal).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
T=$(realpath "$1")
N=${2:-1000000}
[ "$N" -ge 1000 ] && [ $((N % 1000)) -eq 0 ] || die "N must be a multiple of 1000"
if [ -n "${REUSE:-}" ]; then
	W=$REUSE            # a scratch directory KEEP=1 left: the queries only
else
	W=$(mktemp -d /dev/shm/tv-catalog-scale.XXXXXX)
	[ "${KEEP:-}" = 1 ] && echo "scratch: $W" || trap 'rm -rf "$W"' EXIT
fi
H=$W/home
tv() { "$T" --home "$H" "$@"; }
now() { date +%s.%N; }
PER=$((N / 1000))

if [ -z "${REUSE:-}" ]; then
# the tree: N empty files
catalog_tree "$W/src" "$PER"
echo "tree: $N empty files in 1000 directories under $W/src"

tv -q init
tv -q library create lib --path "$W/lib" --slots 4
tv -q tape new lib VT0001L9
tv -q pool create p --library lib
s=$(now)
tv -q write p "$W/src" --name big >/dev/null
e=$(now)
echo "write of $N files: $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s"
rows=$(tv --json backups | python3 -c 'import json,sys; print(sum(b["files"] for b in json.load(sys.stdin)["backups"]))')
echo "catalog: $rows items ($(du -h "$H/catalog.db" | cut -f1) catalog.db)"
[ "$rows" -ge "$N" ] || die "the catalog holds $rows items, not $N"
fi

# time_query LINES DESCRIPTION ARGS...: 3 runs; the median wall clock time
# and each run, and the median CPU time (user + system: what the query
# costs, whatever else the machine runs)
worst=0
time_query() {
	local want=$1 what=$2 runs=() cpus=() s e got; shift 2
	for _ in 1 2 3; do
		s=$(now)
		/usr/bin/time -f '%U %S' -o "$W/cpu" "$T" --home "$H" "$@" > "$W/out" 2>"$W/err" ||
			{ cat "$W/err" >&2; die "$what failed"; }
		e=$(now)
		runs+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')")
		cpus+=("$(awk '{ printf "%.2f", $1 + $2 }' "$W/cpu")")
	done
	got=$(wc -l < "$W/out")
	[ "$got" -eq "$want" ] || die "$what: $got lines, $want expected"
	med=$(printf '%s\n' "${runs[@]}" | sort -g | sed -n 2p)
	cmed=$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n 2p)
	printf '%-44s wall median %6.3f s (runs %s), cpu median %5.2f s  %s\n' "$what" "$med" \
		"${runs[*]}" "$cmed" \
		"$(awk -v m="$med" 'BEGIN { print (m < 1.0) ? "ok: < 1 s" : "SLOW: >= 1 s" }')"
	awk -v m="$med" 'BEGIN { exit !(m >= 1.0) }' && worst=1
	return 0
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPU(s)"
S=${W#/}
C=$((N / 1000))   # the .conf files
# files prints one line per item; find a header line, then one per version
time_query $PER "files big '$S/src/d500/*' (one directory)" files big "$S/src/d500/*"
time_query $C "files big '$S/src/*/c*.conf' ($C items)" files big "$S/src/*/c*.conf"
time_query 1 "files big '$S/src/d123/f...dat' (one item)" files big "$S/src/d123/$(printf 'f%07d.dat' $((123 * PER + 5)))"
time_query $((C + 1)) "find '*.conf' ($C versions)" find '*.conf'
time_query 2 "find 'f...dat' (a name, any directory)" find "$(printf 'f%07d.dat' $((654 * PER + 3)))"
time_query $((PER + 1)) "find '$S/src/d777/*' (one directory)" find "$S/src/d777/*"
exit $worst
