#!/usr/bin/env bash
# Issue 12 must-show: a catalog rebuild of N files (default 1000000) and
# 'find' / 'files' over it, SQLite against PostgreSQL, in one run.
#
#   bench/catalog_pg.sh TAPEVAULT_BINARY [N]
#   KEEP=1 bench/catalog_pg.sh ...       keep the scratch directory (named)
#   PGSTAT=1 bench/catalog_pg.sh ...     load pg_stat_statements into the
#                                        server and print, after the PG
#                                        rebuild, its statements by calls
#
# The tape is made the honest way, as bench/catalog_scale.sh does: a real
# 'tapevault write' of N empty files (1000 directories d000..d999 of
# N/1000 files each; every 1000th file is cNNNNNNN.conf, the others
# fNNNNNNN.dat) from tmpfs (/dev/shm) into a virtual library on tmpfs.
# Then, for each backend, a fresh home ('init', with --catalog
# postgresql://... for PostgreSQL) trusts the writer's identity, gets a
# copy of the tape image ('tape insert --copy') and rebuilds its catalog
# from it ('tapevault catalog lib'): wall seconds, CPU of tapevault (user
# + system), CPU of the PostgreSQL server (its processes' ticks, from
# /proc) and peak RSS of tapevault (/usr/bin/time %M).  Then the queries
# of bench/catalog_scale.sh, 3 times each: the median wall time per query
# and the sum of the medians per kind ('files SET GLOB', 'find GLOB').
# Each query's output line count is checked against what it must find,
# and the two backends' outputs are compared.
#
# PostgreSQL: a throwaway server (tests/support/pg_server.sh, fsync=off,
# Unix socket only) in /tmp/tv-catalog-pg.PID, stopped and removed on exit.
# The SQLite homes are on tmpfs, where fsync costs nothing either.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
T=$1
N=${2:-1000000}
{ [ -f "$T" ] && [ -x "$T" ]; } || die "$T: not an executable file (give the tapevault binary)"
T=$(realpath "$T")
[[ $N =~ ^[1-9][0-9]*$ ]] && [ "$N" -ge 1000 ] && [ $((N % 1000)) -eq 0 ] ||
	die "N must be a multiple of 1000, not '$N'"
HERE=$(cd "$(dirname "$0")" && pwd)
PGS=$HERE/../tests/support/pg_server.sh
[ -f "$PGS" ] || die "$PGS not found"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/psql" ] || die "no PostgreSQL installed (apt-get install postgresql)"
for c in python3 awk /usr/bin/time; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install python3 mawk time)"
done

W=$(mktemp -d /dev/shm/tv-catalog-pg.XXXXXX)
# the socket directory: postgres must reach it, so not inside a 0700 mktemp
P=/tmp/tv-catalog-pg.$$
cleanup() {
	sh "$PGS" stop "$P" >/dev/null 2>&1 || true
	if [ "${KEEP:-}" = 1 ]; then echo "scratch kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
as_pg() { runuser -u postgres -- "$@"; }
psql_q() { as_pg "$PGBIN/psql" -X -q -A -t -h "$P" -U postgres -d "$1" -c "$2"; }
PER=$((N / 1000))
C=$((N / 1000))   # the .conf files
LOG=$W/cmd.log
# step DESC CMD...: run, output to the log, stop with the log on failure.
step() {
	local what=$1; shift
	"$@" >"$LOG" 2>&1 </dev/null || { tail -n 20 "$LOG" >&2; die "$what failed"; }
}
T0=$(now)

# --- PostgreSQL ----------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root (pg_server.sh runs initdb as the postgres user)"
sh "$PGS" start "$P" || die "cannot start PostgreSQL in $P"
if [ "${PGSTAT:-}" = 1 ]; then
	psql_q postgres "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
	as_pg "$PGBIN/pg_ctl" -D "$P/data" -l "$P/server.log" -w restart >/dev/null ||
		die "PostgreSQL did not restart with pg_stat_statements"
fi
PGVER=$("$PGBIN/postgres" --version | awk '{ print $3 }')
# pg_cpu: CPU ticks of the server so far: the postmaster's own, the
# children it reaped (a finished backend) and its live children's.
pg_cpu() {
	local pm; pm=$(head -n 1 "$P/data/postmaster.pid")
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" '
		{
			pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
			# f[1] = state, f[2] = ppid, f[12..15] = utime stime cutime cstime
			if (pid == pm) t += f[12] + f[13] + f[14] + f[15]
			else if (f[2] == pm) t += f[12] + f[13]
		}
		END { print t + 0 }'
}
TICK=$(getconf CLK_TCK)

# --- the tree and the write ------------------------------------------------------
s=$(now)
catalog_tree "$W/src" "$PER"
e=$(now)
echo "tree: $N empty files in 1000 directories under $W/src ($(secs "$s" "$e") s)"

WH=$W/writer
step "init (writer)" "$T" --home "$WH" -q init
step "library create (writer)" "$T" --home "$WH" -q library create lib --path "$W/lib" --slots 4
step "tape new (writer)" "$T" --home "$WH" -q tape new lib VT0001L9
step "pool create (writer)" "$T" --home "$WH" -q pool create p --library lib
s=$(now)
step "write" "$T" --home "$WH" -q write p "$W/src" --name big
e=$(now)
WRITE_S=$(secs "$s" "$e")
echo "write of $N files (SQLite writer home): $WRITE_S s"
step "identity export (writer)" "$T" --home "$WH" -q identity export --out "$W/writer.pub"
images=()
for img in "$W"/lib/*.tap; do
	[ -s "$img" ] && images+=("$img")
done
[ ${#images[@]} -gt 0 ] || die "the write left no tape image in $W/lib"
echo "tape images: $(for i in "${images[@]}"; do printf '%s (%s) ' "${i##*/}" "$(du -h "$i" | cut -f1)"; done)"
rm -rf "$W/src"   # the queries need the catalog only; give tmpfs back

# --- per backend: fresh home, rebuild, queries -------------------------------------
# rebuild B [--catalog URL]: a fresh home $W/B/home with a copy of the
# images; sets REB_S REB_CPU REB_KB REB_PGCPU ITEMS
rebuild() {
	local b=$1 h=$W/$1/home pc0 pc1 s e; shift
	mkdir -p "$W/$b"
	step "init ($b)" "$T" --home "$h" -q init "$@"
	step "identity trust ($b)" "$T" --home "$h" -q identity trust "$W/writer.pub"
	step "library create ($b)" "$T" --home "$h" -q library create lib --path "$W/$b/lib" --slots 4
	for img in "${images[@]}"; do
		step "tape insert ${img##*/} ($b)" "$T" --home "$h" -q tape insert lib --copy "$img"
	done
	pc0=$(pg_cpu)
	s=$(now)
	/usr/bin/time -f '%e %U %S %M' -o "$W/$b/time" "$T" --home "$h" -q catalog lib \
		>"$LOG" 2>&1 </dev/null || { tail -n 20 "$LOG" >&2; die "catalog rebuild ($b) failed"; }
	e=$(now)
	pc1=$(pg_cpu)
	REB_S=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }')
	read -r _ u sy REB_KB <"$W/$b/time"
	REB_CPU=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.1f", u + s }')
	REB_PGCPU=$(awk -v a="$pc0" -v b="$pc1" -v t="$TICK" 'BEGIN { printf "%.1f", (b - a) / t }')
	ITEMS=$("$T" --home "$h" --json backups | python3 -c \
		'import json,sys; print(sum(b["files"] for b in json.load(sys.stdin)["backups"]))')
	[ "$ITEMS" -ge "$N" ] || die "$b: after the rebuild the catalog holds $ITEMS items, not $N"
}

# time_query B KIND LINES DESCRIPTION ARGS...: 3 runs; QMED = the median
# wall time; adds it to SUM[KIND]; keeps the output
QN=0
declare -A SUM
time_query() {
	local b=$1 kind=$2 want=$3 what=$4 runs=() s e got; shift 4
	QN=$((QN + 1))
	for _ in 1 2 3; do
		s=$(now)
		"$T" --home "$W/$b/home" "$@" >"$W/$b/q$QN.out" 2>"$LOG" ||
			{ cat "$LOG" >&2; die "$b: $what failed"; }
		e=$(now)
		runs+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')")
	done
	got=$(wc -l <"$W/$b/q$QN.out")
	[ "$got" -eq "$want" ] || die "$b: $what: $got lines, $want expected"
	QMED=$(median "${runs[@]}")
	printf '  %-8s %-44s %6.3f s (runs %s), %d lines\n' "$b" "$what" "$QMED" "${runs[*]}" "$got"
	SUM[$kind]=$(awk -v a="${SUM[$kind]}" -v b="$QMED" 'BEGIN { printf "%.3f", a + b }')
}
queries() {
	local b=$1 S=${W#/}
	SUM[files]=0 SUM[find]=0 QN=0
	# files prints one line per item; find a header line, then one per version
	time_query "$b" files $PER "files big '$S/src/d500/*' (one directory)" files big "$S/src/d500/*"
	time_query "$b" files $C "files big '$S/src/*/c*.conf' ($C items)" files big "$S/src/*/c*.conf"
	time_query "$b" files 1 "files big '$S/src/d123/f...dat' (one item)" files big "$S/src/d123/$(printf 'f%07d.dat' $((123 * PER + 5)))"
	time_query "$b" find $((C + 1)) "find '*.conf' ($C versions)" find '*.conf'
	time_query "$b" find 2 "find 'f...dat' (a name, any directory)" find "$(printf 'f%07d.dat' $((654 * PER + 3)))"
	time_query "$b" find $((PER + 1)) "find '$S/src/d777/*' (one directory)" find "$S/src/d777/*"
}

declare -A R_S R_CPU R_PGCPU R_KB R_FILES R_FIND R_ITEMS PH
for b in sqlite postgresql; do
	ps=$(now)
	if [ "$b" = sqlite ]; then
		rebuild sqlite
	else
		step "createdb" as_pg "$PGBIN/createdb" -h "$P" -U postgres tv_bench
		rebuild postgresql --catalog "postgresql:///tv_bench?host=$P&user=postgres"
	fi
	R_S[$b]=$REB_S R_CPU[$b]=$REB_CPU R_KB[$b]=$REB_KB R_PGCPU[$b]=$REB_PGCPU R_ITEMS[$b]=$ITEMS
	[ "$b" = sqlite ] && R_PGCPU[$b]=-
	echo "$b: rebuild $REB_S s (tapevault CPU $REB_CPU s$([ "$b" = postgresql ] && echo ", server CPU $REB_PGCPU s"), peak RSS $((REB_KB / 1024)) MiB), $ITEMS items; queries (median of 3):"
	if [ "$b" = postgresql ] && [ "${PGSTAT:-}" = 1 ]; then
		echo "  pg_stat_statements after the rebuild (top 12 by calls): calls | total ms | rows | query"
		psql_q tv_bench "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
		psql_q tv_bench "SELECT calls, round(total_exec_time::numeric), rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90)
			FROM pg_stat_statements ORDER BY calls DESC LIMIT 12" | sed 's/^/    /'
		psql_q tv_bench "SELECT 'statements: ' || sum(calls) FROM pg_stat_statements" | sed 's/^/  /'
	fi
	queries "$b"
	R_FILES[$b]=${SUM[files]} R_FIND[$b]=${SUM[find]}
	PH[$b]=$(secs "$ps" "$(now)")
done

# the two backends' answers: the same lines (each output sorted: an order
# neither query promises is not a difference)
same=0 differ=()
for ((i = 1; i <= QN; i++)); do
	if cmp -s <(sort "$W/sqlite/q$i.out") <(sort "$W/postgresql/q$i.out"); then
		same=$((same + 1))
	else
		differ+=("query $i")
	fi
done

# --- report ---------------------------------------------------------------------
echo
echo "tapevault catalog rebuild + queries, SQLite vs PostgreSQL $PGVER (fsync=off, Unix socket): $N files"
echo "$(nproc) CPU(s), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %10s %10s %10s %9s %11s %11s\n' backend "rebuild s" "tv CPU s" "server CPU" "peak RSS" "find s" "files s"
for b in sqlite postgresql; do
	printf '%-11s %10s %10s %10s %6s MiB %11s %11s\n' "$b" "${R_S[$b]}" "${R_CPU[$b]}" "${R_PGCPU[$b]}" \
		"$((R_KB[$b] / 1024))" "${R_FIND[$b]}" "${R_FILES[$b]}"
done
printf '%-11s %10s %10s %10s %9s %11s %11s\n' "PG/SQLite" "$(ratio "${R_S[postgresql]}" "${R_S[sqlite]}")" \
	"$(ratio "${R_CPU[postgresql]}" "${R_CPU[sqlite]}")" "" \
	"$(ratio "${R_KB[postgresql]}" "${R_KB[sqlite]}")" \
	"$(ratio "${R_FIND[postgresql]}" "${R_FIND[sqlite]}")" "$(ratio "${R_FILES[postgresql]}" "${R_FILES[sqlite]}")"
echo "(find s / files s: the sum of the 3 queries' medians of each kind, listed above; peak RSS: tapevault's"
echo " during the rebuild; server CPU: the PostgreSQL processes' user + system during the rebuild)"
echo "items after the rebuild: sqlite ${R_ITEMS[sqlite]}, postgresql ${R_ITEMS[postgresql]}"
echo "query line counts: as expected on both backends; outputs identical (sorted) in $same of $QN queries${differ:+ (differ: ${differ[*]})}"
echo "phases: write ${WRITE_S} s; sqlite (home, rebuild, queries) ${PH[sqlite]} s; postgresql ${PH[postgresql]} s; total $(secs "$T0" "$(now)") s"
[ "${R_ITEMS[sqlite]}" = "${R_ITEMS[postgresql]}" ] || die "the backends hold different item counts"
