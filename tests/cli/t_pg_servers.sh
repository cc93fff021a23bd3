#!/usr/bin/env bash
# Issue 12 must-shows: several tape servers on one PostgreSQL catalog.
# - stress: 4 writers on 2 servers (2 each), 4 sets each, into one pool
#   with per-job media sets, all at once, sharing one library of 4 drives:
#   every set listed by both servers, no tape in two media sets or two
#   sets, every set restores byte-exact on the other server, 'catalog
#   check' clean on both;
# - a writer killed with SIGKILL mid-job: the other server's job goes on,
#   the killed job's leases (drive, tape, media set, job) are released
#   within 60 s, its set is marked failed, 'catalog check' is clean, and
#   and the next job runs (a cartridge the dead job left in a drive goes
#   back to its slot first);
# - 'servers' names both servers and their running jobs.
# PostgreSQL run only (cli-pg/: the pg fixture).
. "$(dirname "$0")/lib.sh"
pg_shared_catalog || exit 1   # PG_DB, URI, REAL; T is the real binary
A=$WORK/a B=$WORK/b
jq() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert $1, d" "$OUT"; }

tv "$A" init --catalog "$URI";              expect_rc 0 "server A joins the shared catalog"
OUT=$(TAPEVAULT_CATALOG="$URI" "$REAL" --home "$B" init 2>&1); RC=$?
expect_rc 0 "server B joins the same catalog (TAPEVAULT_CATALOG)"
check "B's catalog is the shared one" test "$(cat "$B/catalog.url")" = "$URI"
trust_writer "$A" "$B"; trust_writer "$B" "$A"
tv "$A" library create vault --path "$WORK/vault" --slots 60 --drives 4; expect_rc 0 "a library of 4 drives"
tv "$A" tape new vault $(for i in $(seq 1 40); do printf 'VT%04dL9 ' "$i"; done) --capacity 8M
expect_rc 0 "40 blank tapes"
tv "$A" pool create p --library vault --media-set per-job; expect_rc 0 "a pool with per-job media sets"

# ---- stress: 4 writers, 2 per server, 4 sets each, all at once ----
for w in a1 a2 b1 b2; do
	mkdir -p "src/$w"
	for k in 1 2 3 4; do
		mkdir -p "src/$w/s$k"
		head -c $((1500000 + RANDOM)) /dev/urandom > "src/$w/s$k/data"
		for f in 1 2 3 4 5; do head -c $((RANDOM + 100)) /dev/urandom > "src/$w/s$k/f$f"; done
	done
done
writer() { # writer HOME NAME: 4 sets, one after another
	local rc=0
	for k in 1 2 3 4; do
		"$REAL" --home "$1" -v write p "src/$2/s$k" --name "$2-s$k" >"$WORK/$2-$k.out" 2>&1 || rc=1
	done
	return $rc
}
writer "$A" a1 & p1=$!; writer "$A" a2 & p2=$!; writer "$B" b1 & p3=$!; writer "$B" b2 & p4=$!
ok=1
for p in $p1 $p2 $p3 $p4; do wait "$p" || ok=0; done
if [ $ok = 1 ]; then pass "4 writers on 2 servers, 16 sets at once: every job succeeded"
else fail "a writer failed: $(cat "$WORK"/*-?.out | grep -v '^[0-9a-f-]*$' | head -20)"; fi

drives=$(cat "$WORK"/[ab][12]-?.out | sed -n 's/.*writing with drive \([0-9]\) of library vault.*/\1/p' | sort -u | wc -l)
check "the jobs ran at once, on different drives ($drives of 4 used)" test "$drives" -ge 3
for H in "$A" "$B"; do
	tv "$H" --json backups
	check "$(basename "$H"): all 16 sets listed, complete and restorable" jq \
		'len([b for b in d["backups"] if b["status"]=="complete" and b["state"]=="restorable"]) == 16'
done
check "no tape holds two sets (per-job media sets)" jq 'len(sum([b["tapes"] for b in d["backups"]], [])) == len(set(sum([b["tapes"] for b in d["backups"]], [])))'
twice=$(catalog_sql "$A" "SELECT COUNT(*) FROM (SELECT media_set_id, seq FROM tapes WHERE media_set_id IS NOT NULL GROUP BY media_set_id, seq HAVING COUNT(*) > 1) x")
check "no two tapes in one place of a media set" test "$twice" = 0
# what each tape's labels say: one media set, the one the catalog names
tv "$B" inventory vault;                    expect_rc 0 "B reads every tape's labels"
tv "$A" --json backups;                     SETS=$OUT
tv "$B" --json backups
check "the inventory changed nothing: the same sets on the same tapes" python3 -c '
import json,sys; a=json.loads(sys.argv[1])["backups"]; b=json.loads(sys.argv[2])["backups"]
assert sorted((x["id"], tuple(x["tapes"])) for x in a) == sorted((x["id"], tuple(x["tapes"])) for x in b)' "$SETS" "$OUT"
# each set restores byte-exact on the server that did not write it
bad=0
for w in a1 a2 b1 b2; do
	case $w in a*) R=$B ;; *) R=$A ;; esac
	for k in 1 2 3 4; do
		"$REAL" --home "$R" restore "$w-s$k" --to "$WORK/r-$w-$k" >/dev/null 2>"$WORK/r.err" || { bad=$((bad + 1)); cat "$WORK/r.err"; continue; }
		same_tree "src/$w/s$k" "$WORK/r-$w-$k/$S/src/$w/s$k" >/dev/null 2>&1 || bad=$((bad + 1))
	done
done
check "all 16 sets restore byte-exact on the other server" test "$bad" = 0
# a reader and writers at once: each takes a drive of its own
"$REAL" --home "$A" write p src/a1 --name conc-a >"$WORK/conc-a.out" 2>&1 & pc1=$!
"$REAL" --home "$B" write p src/b1 --name conc-b >"$WORK/conc-b.out" 2>&1 & pc2=$!
tv "$B" restore a2-s1 --to "$WORK/rconc"; expect_rc 0 "B restores while both servers write"
check "byte-exact" same_tree src/a2/s1 "$WORK/rconc/$S/src/a2/s1"
wait "$pc1"; rc1=$?; wait "$pc2"; rc2=$?
check "the two writes at the same time succeeded" test "$rc1$rc2" = 00
tv "$A" catalog check;                      expect_rc 0 "catalog check clean on A"
tv "$B" catalog check;                      expect_rc 0 "catalog check clean on B"

# a lease on a tape the catalog does not hold: catalog check names it
catalog_sql "$A" "INSERT INTO reservations(resource, owner, server, pid, job, taken, expires) VALUES('tape:ZZ9999L9', 'x', 'nowhere:/x', 1, 'write', 0, 9999999999)" >/dev/null
tv "$A" catalog check;                      expect_rc 1 "catalog check: a lease on an unknown tape"
expect_out "lease tape:ZZ9999L9 of server nowhere:/x names no tape of the catalog" "names the lease"
expect_out "names server nowhere:/x, which the catalog does not know" "and its unknown server"
catalog_sql "$A" "DELETE FROM reservations WHERE resource='tape:ZZ9999L9'" >/dev/null
# ---- servers ----
tv "$A" servers;                            expect_rc 0 "servers"
expect_out "^[^ ]*:$A +[0-9T:-]+Z" "names server A with when it was last seen"
expect_out "^[^ ]*:$B " "and server B"
tv "$A" --json servers
check "servers --json: 2 servers, no job running" jq 'len(d["servers"]) == 2 and all(s["running_jobs"] == 0 for s in d["servers"])'

# ---- a writer killed with SIGKILL in the middle of its job ----
mkdir -p src/k
head -c 9000000 /dev/urandom > src/k/a-big     # fills the first tape: it is committed
head -c 3000000 /dev/urandom > src/k/victim    # the job dies inside this one
head -c 4000000 /dev/urandom > src/other
"$REAL" --home "$B" write p src/other --name other-b >"$WORK/other.out" 2>&1 & pb=$!
TAPEVAULT_TEST_WRITE=midkill=victim "$TAPEVAULT_TEST" --home "$A" write p src/k --name killed >"$WORK/k.out" 2>&1
krc=$?
check "the writer on A was killed (SIGKILL: status 137)" test "$krc" = 137
wait "$pb"; brc=$?
check "B's job went on and succeeded" test "$brc" = 0
tv "$B" --json servers
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert any(s['name'].endswith(':' + sys.argv[2]) and any(l['resource'].startswith('job:') for l in s['leases']) for s in d['servers']), d" "$OUT" "$A" \
	&& pass "A's lease on its job is listed" || fail "A's lease on its job is listed"
t0=$(date +%s); released=0
while [ $(( $(date +%s) - t0 )) -le 60 ]; do
	OUT=$("$REAL" --home "$B" --json servers 2>/dev/null)
	if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert not any(s['name'].endswith(':' + sys.argv[2]) and s['leases'] for s in d['servers'])" "$OUT" "$A" 2>/dev/null; then
		released=1; break
	fi
	sleep 2
done
check "the killed job's leases are released within 60 s ($(( $(date +%s) - t0 )) s)" test "$released" = 1
tv "$B" --json backups
check "its set is marked failed" jq '[b["state"] for b in d["backups"] if b["name"] == "killed"] == ["failed"]'
check "the other sets are untouched" jq 'len([b for b in d["backups"] if b["state"] == "restorable"]) == 19'
tv "$B" catalog check;                      expect_rc 0 "catalog check clean after the kill"
tv "$A" write p src/other --name after;     expect_rc 0 "the next write on A"
tv "$A" restore after --to "$WORK/ra";      expect_rc 0 "restores"
check "byte-exact" cmp src/other "$WORK/ra/$S/src/other"
finish
