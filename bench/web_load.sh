#!/usr/bin/env bash
# Load on tapevault serve (issue 13): CLIENTS concurrent HTTPS clients for
# SECONDS on loopback, listing tapes and pages of files of an N-file
# backup set (bench/web_load.js: keep-alive, alternating the two routes).
#
#   bench/web_load.sh TAPEVAULT_BINARY [N [CLIENTS [SECONDS [PAGE]]]]
#                     defaults: 100000 files, 50 clients, 60 s, 1000 a page
#
# Data: N files of 1 KiB in 100 directories on /dev/shm, written to a
# password-encrypted pool; the server is this installation's, with TLS
# (its self-signed certificate).  Also times one whole listing of the set
# (no limit).  Prints requests, errors and p50/p90/p99 latencies.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
T=$(realpath "$1"); N=${2:-100000}; C=${3:-50}; SECS=${4:-60}; PAGE=${5:-1000}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /dev/shm/tv-webload.XXXXXX)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$W"' EXIT
SPID=
cd "$W"
"$T" --home h -q init
"$T" --home h -q library create lib --path lib --slots 4
"$T" --home h -q tape new lib VT0001L9 VT0002L9 --capacity 8G
printf 'load test pw\n' > pw; chmod 600 pw
printf 'load pw 2\n' > upw; chmod 600 upw
"$T" --home h -q password add p --hint load --password-file pw
"$T" --home h -q pool create p --library lib --encryption password:p 2>/dev/null
python3 - "$N" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = "src/d%02d" % (i % 100)
    if i < 100:
        os.makedirs(d, exist_ok=True)
    with open("%s/f%06d" % (d, i), "wb") as f:
        f.write(os.urandom(1024))
PY
echo "writing $N files ..."
/usr/bin/time -f "write: %e s, %M KiB peak" "$T" --home h -q write p src --name big >/dev/null
"$T" --home h -q user add load --role viewer --password-file upw
"$T" --home h serve --listen 127.0.0.1:0 --port-file port 2>serve.log &
SPID=$!
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.1; done
URL=https://127.0.0.1:$(cat port)
TOKEN=$(curl -sk -X POST -H 'Content-Type: application/json' \
	--data-binary '{"user":"load","password":"load pw 2"}' "$URL/api/v1/login" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
echo "one whole listing of the $N-file set (no limit):"
curl -sk -o whole.json -w '  %{time_total} s, %{size_download} bytes\n' \
	-H "Authorization: Bearer $TOKEN" "$URL/api/v1/backups/big/files"
python3 -c 'import json,sys; d=json.load(open("whole.json")); print("  items", d["items"], "listed", len(d["files"]))'
# the server's CPU time over the run (utime+stime of its process): a cost per
# request that does not depend on what else the machine runs
cpu() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
C0=$(cpu)
rc=0
NODE_PATH=${NODE_PATH:-} node "$HERE/web_load.js" "$URL" "$TOKEN" big "$N" "$C" "$SECS" "$PAGE" \
	| tee load.out || rc=$?
C1=$(cpu)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
REQS=$(sed -n 's/.*requests \([0-9]*\),.*/\1/p' load.out)
awk -v c0="$C0" -v c1="$C1" -v hz="$(getconf CLK_TCK)" -v n="${REQS:-0}" -v s="$SECS" 'BEGIN {
	cs = (c1 - c0) / hz
	printf "server CPU: %.1f s over %d s (%.2f cores busy), %.2f ms per request\n", cs, s, cs / s,
	       (n > 0) ? 1000 * cs / n : 0 }'
exit "$rc"
