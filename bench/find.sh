#!/usr/bin/env bash
# 'files' and 'find' on a catalog of N items (default 1000000): each query
# timed 3 times, median and each run in seconds, against the target of 1 s.
#
#   bench/find.sh TAPEVAULT_BINARY [N]
#   KEEP=1 bench/find.sh ...            keep the scratch directory (named)
#
# The catalog: a real backup set of a few files written with the CLI (so
# there are a pool, a media set and a tape), then a second set, "big",
# of N rows made directly with SQL (sqlite3, one INSERT from a recursive
# CTE) on the same media set: paths data/dNNN/sM/fNNNNNNN.dat (1000
# directories of 10 x 100 files), every 1000th file named cNNNNNNN.conf.
# The catalog is migrated by tapevault first, so the rows go into the
# schema and indexes it has.  Output goes to /dev/null; each query's
# count of output lines is checked against what it must find.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
T=$(realpath "$1")
N=${2:-1000000}
command -v sqlite3 >/dev/null || die "needs the sqlite3 shell (apt-get install sqlite3)"
W=$(mktemp -d "${TMPDIR:-/tmp}/tv-bench-find.XXXXXX")
[ "${KEEP:-}" = 1 ] && echo "scratch: $W" || trap 'rm -rf "$W"' EXIT
H=$W/home
tv() { "$T" --home "$H" "$@"; }

tv -q init
tv -q library create lib --path "$W/lib" --slots 4
tv -q tape new lib VT0001L9
tv -q pool create p --library lib
mkdir -p "$W/src/etc" && echo x > "$W/src/etc/a.conf"
tv -q write p "$W/src" --name small >/dev/null
sqlite3 "$H/catalog.db" <<EOF
PRAGMA journal_mode=WAL;
BEGIN;
INSERT INTO backup_sets(uuid, name, pool_id, media_set_id, created, first_seq, last_seq,
                        complete, nfiles, nbytes, state)
  SELECT randomblob(16), 'big', pool_id, media_set_id, created + 1, 1, 1, 1, $N, 0,
         'complete' FROM backup_sets WHERE name='small';
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $N)
INSERT INTO files(set_id, idx, path, ftype, mode, uid, gid, mtime_sec, mtime_nsec, size,
                  tseq, file_no, frame_off, entry_off)
  SELECT (SELECT id FROM backup_sets WHERE name='big'), i,
         printf('data/d%03d/s%d/%s%07d.%s', i / 1000, (i / 100) % 10,
                CASE WHEN i % 1000 = 7 THEN 'c' ELSE 'f' END, i,
                CASE WHEN i % 1000 = 7 THEN 'conf' ELSE 'dat' END),
         1, 420, 0, 0, 1700000000 + i, 0, 1000 + i % 5000, 1, 1, i * 2, 0 FROM n;
COMMIT;
ANALYZE;
EOF
rows=$(sqlite3 "$H/catalog.db" "SELECT COUNT(*) FROM files")
echo "catalog: $rows items in 2 sets ($(du -h "$H/catalog.db" | cut -f1) catalog.db)"

# time_query LINES DESCRIPTION ARGS...: 3 runs, the median; checks the
# number of lines (-1: not)
time_query() {
	local want=$1 what=$2; shift 2
	local runs=() got
	for _ in 1 2 3; do
		local t0 t1
		t0=$(date +%s.%N)
		got=$(tv "$@" | wc -l)
		t1=$(date +%s.%N)
		runs+=("$(echo "$t1 - $t0" | bc)")
	done
	[ "$want" -lt 0 ] || [ "$got" -eq "$want" ] || die "$what: $got lines, wanted $want"
	local med
	med=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
	printf '%-58s %8s s  (%s)  %s\n' "$what" "$med" "${runs[*]}" \
		"$(echo "$med < 1" | bc | sed 's/1/within 1 s/;s/0/OVER 1 s/')"
}

k=$((N / 2000 * 1000))   # a directory in the middle
d=$(printf 'data/d%03d' $((k / 1000)))
time_query 101 "find GLOB (literal prefix: $d/s5/*)" \
	find "$d/s5/*"
time_query 1000 "files big GLOB (a directory: $d/*)" files big "$d/*"
time_query 100 "files big GLOB (files of one subdirectory: /$d/s3/f*.dat)" \
	files big "/$d/s3/f*.dat"
time_query 2 "find NAME (no prefix: whole catalog, f$(printf %07d $k).dat)" \
	find "f$(printf %07d $k).dat"
time_query $((N / 1000 + 2)) "find '*.conf' (no prefix: whole catalog)" find '*.conf'
time_query $((N / 1000 + 1)) "find '*.conf' --set big" find '*.conf' --set big
time_query -1 "find --json (one path, its tapes)" --json find "$d/s5/f$(printf %07d $((k + 500))).dat"
time_query $((1001 + 4)) "restore big $d --dry-run (items and tapes)" \
	restore big "$d" --dry-run
time_query "$N" "files big (the whole set, $N lines)" files big
