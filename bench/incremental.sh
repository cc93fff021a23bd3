#!/usr/bin/env bash
# tapevault: an incremental of N unchanged files against the time `find`
# takes to walk the same tree (issue 11 "must show": within 2x).
#
#   bench/incremental.sh [path/to/tapevault] [N]        (N default 1000000)
#
# The tree (N small/empty files, 1000 per directory) is on tmpfs
# (/dev/shm), so both sides measure walking and deciding, not a disk.  One
# full backup first (a plain pool, media set per job, so each incremental
# gets a tape and a tape catalog of its own, as a nightly job does); then,
# three times each, alternating: `find DIR -printf ''` and `tapevault write
# --level incremental` of the same tree, nothing changed; and two more
# baselines: a find that stats every file as an incremental must (`-printf
# '%s %T@ %C@ %i\n'`: size, both times, inode), and the least any program
# that stats every entry can take here, bench/statwalk.c (lists each
# directory, stats its entries on 2 threads, decides nothing).  Prints the
# medians and the ratios.  Set KEEP=1 to keep the scratch directory.
set -euo pipefail
T=${1:-build/tapevault}
N=${2:-1000000}
T=$(realpath "$T")
SW=$(realpath "$(dirname "$0")")/statwalk.c
D=$(mktemp -d /dev/shm/tvbench-incr.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$D"' EXIT
cd "$D"
${CC:-cc} -std=c11 -O2 -Wall -Wextra "$SW" -lpthread -o "$D/statwalk"
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
timed() { local s e; s=$(now); "$@" >/dev/null 2>"$D/err" || { cat "$D/err" >&2; exit 1; }; e=$(now); awk -v s="$s" -v e="$e" 'BEGIN{print e-s}'; }

echo "building a tree of $N files in $D/src ..." >&2
python3 - "$D/src" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = 1000
for i in range(n):
    if i % per == 0:
        d = os.path.join(root, "d%05d" % (i // per))
        os.makedirs(d)
    p = os.path.join(d, "f%04d" % (i % per))
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    if i % 10 == 0:
        os.write(fd, b"x" * (i % 200))
    os.close(fd)
PY
H=$D/home
"$T" --home "$H" -q init
"$T" --home "$H" -q library create lib --path "$D/lib" --slots 20
"$T" --home "$H" -q tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 VT0007L9 VT0008L9 VT0009L9 VT0010L9
"$T" --home "$H" -q pool create p --library lib --encryption none --media-set per-job
find "$D/src" -printf '' # warm the dentry and inode caches
s=$(now)
"$T" --home "$H" -q write p "$D/src" --name bench >/dev/null
e=$(now)
echo "full backup of $N files: $(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", e-s}') s" >&2
F=(); S=(); W=(); I=()
for k in 1 2 3; do
	F+=("$(timed find "$D/src" -printf '')")
	S+=("$(timed find "$D/src" -printf '%s %T@ %C@ %i\n')")
	W+=("$(timed "$D/statwalk" "$D/src" 2)")
	I+=("$(timed "$T" --home "$H" -q write p "$D/src" --name bench --level incremental)")
	echo "run $k: find ${F[-1]} s, find with stat ${S[-1]} s, statwalk ${W[-1]} s," \
		"incremental ${I[-1]} s" >&2
done
fm=$(median "${F[@]}"); sm=$(median "${S[@]}"); wm=$(median "${W[@]}"); im=$(median "${I[@]}")
echo "files: $N"
echo "find -printf '' (median of 3): $fm s"
echo "find -printf '%s %T@ %C@ %i\n', a stat per file (median of 3): $sm s"
echo "statwalk, every entry stat'ed on 2 threads, nothing decided (median of 3): $wm s"
echo "write --level incremental, nothing changed (median of 3): $im s"
echo "ratio incremental/find: $(ratio "$im" "$fm") (goal: <= 2)"
echo "ratio statwalk/find (the least a stat of every file costs here): $(ratio "$wm" "$fm")"
echo "ratio incremental/statwalk: $(ratio "$im" "$wm")"
echo "ratio incremental/find-with-stat: $(ratio "$im" "$sm")"
