#!/usr/bin/env bash
# Retention (issue 11 item 4): pool create/set --retention DURATION, tape
# list's expiry, expire [--dry-run] (sets leave the catalog, tapes become
# free tapes of the pool, audited, reused by the next write), tape retire.
. "$(dirname "$0")/lib.sh"
H=$WORK/home
new_home home lib 10 || { echo "not ok - setup"; exit 1; }
tv "$H" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9; expect_rc 0 "tapes"
tv "$H" pool create short --library lib --retention 4s --media-set per-job; expect_rc 0 "pool create --retention"
tv "$H" pool create long --library lib --retention 30d; expect_rc 0 "a pool kept 30 days"
tv "$H" pool create bad --library lib --retention 3x; expect_rc 2 "a bad duration is a usage error"
expect_err "'3x' is not a duration \(e.g. 30d" "says what a duration is"
tv "$H" pool create bad --library lib --retention -5d; expect_rc 2 "a negative duration is a usage error"
tv "$H" pool list;                           expect_rc 0 "pool list"
expect_out "^short .*\(retention 4s\)" "shows the retention"
expect_out "^long .*\(retention 30d\)" "in the largest unit"
tv "$H" --json pool show long;               jq() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert $1, d" "$OUT"; }
check "pool show --json: retention in seconds" jq 'd["pool"]["retention"] == 30 * 86400'
tv "$H" pool set long --retention keep;      expect_rc 0 "pool set --retention keep"
expect_err "retention is now keep" "says so"
tv "$H" --json pool show long
check "keep: null" jq 'd["pool"]["retention"] is None'
tv "$H" pool set nosuch --retention 1d;      expect_rc 1 "pool set of an unknown pool"
expect_err "no media pool named 'nosuch'" "names it"

mkdir -p "$WORK/src"; echo one > "$WORK/src/f"
tv "$H" write short "$WORK/src" --name old;  expect_rc 0 "a set in the short pool"
tv "$H" tape list;                           expect_rc 0 "tape list"
expect_out "^VT0001L9 +pool +short .* [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z " \
	"a tape of a pool with retention: last written and when it expires"
tv "$H" --json tape list
check "tape list --json: expires ISO 8601" jq '[t["expires"] for t in d["tapes"] if t["barcode"] == "VT0001L9"][0].endswith("Z")'
tv "$H" pool create month --library lib --retention 30d; expect_rc 0 "a pool kept a month"
tv "$H" write month "$WORK/src" --name kept; expect_rc 0 "a set in it"
tv "$H" expire --dry-run;                    expect_rc 0 "expire --dry-run"
check "a set of a month ago is not due" bash -c "! printf '%s' \"\$1\" | grep -q '^month '" _ "$OUT"
sleep 5
tv "$H" expire --dry-run;                    expect_rc 0 "expire --dry-run"
expect_out "^short +[0-9a-f-]{36} .* 1 +VT0001L9$" "lists the media set, its sets and tapes"
check "only that one" test "$(printf '%s\n' "$OUT" | wc -l)" -eq 2
expect_err "1 media set\(s\) would expire \(--dry-run: nothing changed\)" "and changes nothing"
tv "$H" backups;                             expect_out " old " "the set is still there"
tv "$H" --json expire;                       expect_rc 0 "expire"
check "expire --json: what expired" jq 'd["dry_run"] is False and d["expired"][0]["tapes"] == ["VT0001L9"] and d["expired"][0]["backup_sets"] == 1'
tv "$H" backups;                             expect_rc 0 "backups"
expect_out " kept " "the month's set stays"
check "the set left the catalog" bash -c "! printf '%s' \"\$1\" | grep -q ' old '" _ "$OUT"
tv "$H" files old;                           expect_rc 1 "its files are gone with it"
tv "$H" tape list;                           expect_out "^VT0001L9 +free +short " "the tape is a free tape of the pool"
tv "$H" audit;                               expect_out "expire" "the audit log records it"
tv "$H" expire;                              expect_rc 0 "expire again"
expect_err "^0 media set\(s\) expired" "nothing more"
# the expired tape still holds the old labels and catalog: a catalog run
# (or an inventory) must not bring the expired set back, unless asked
tv "$H" catalog lib;                         expect_rc 0 "catalog after expire"
expect_err "VT0001L9: its media set \(pool short\) expired here: a free tape, its old sets are not cataloged again" "says the tape's media set expired here"
expect_err "1 expired \(free\)" "counts it in the summary"
tv "$H" backups
check "the expired set stays out of the catalog" bash -c "! printf '%s' \"\$1\" | grep -q ' old '" _ "$OUT"
tv "$H" inventory lib;                       expect_rc 0 "inventory after expire"
tv "$H" tape list;                           expect_out "^VT0001L9 +free +short " "the tape stays a free tape of the pool"
# --include-expired, on a copy of the home (a copy of a PostgreSQL home
# shares its catalog: there the expired set would come back for H too)
if ! pg_mode; then
	cp -r "$H" "$WORK/home2"
	tv "$WORK/home2" catalog lib VT0001L9 --include-expired; expect_rc 0 "catalog --include-expired"
	tv "$WORK/home2" backups;                expect_out " old " "brings the expired set back"
fi
tv "$H" write short "$WORK/src" --name new;  expect_rc 0 "a new write"
tv "$H" --json backups
check "the expired tape is written again" jq '[b["tapes"] for b in d["backups"] if b["name"] == "new"] == [["VT0001L9"]]'
tv "$H" restore new --to "$WORK/r";          expect_rc 0 "and restores"
check "restored" test "$(cat "$WORK/r/$S/src/f")" = one

# retire: never written again, its data stays restorable
tv "$H" tape retire VT0001L9;                expect_rc 0 "tape retire"
tv "$H" tape list --state retired;           expect_out "^VT0001L9 +retired" "retired"
tv "$H" restore new --to "$WORK/r2";         expect_rc 0 "a retired tape's data stays restorable"
tv "$H" pool create cont --library lib;      expect_rc 0 "a pool that appends"
tv "$H" write cont "$WORK/src" --name c1;    expect_rc 0 "write"
tv "$H" --json backups
check "not onto the retired tape" jq '[b["tapes"] for b in d["backups"] if b["name"] == "c1"] == [["VT0003L9"]]'
tv "$H" tape retire VT0003L9;                expect_rc 0 "retire the tape a pool appends to"
tv "$H" write cont "$WORK/src" --name c2;    expect_rc 0 "the next write"
tv "$H" --json backups
check "does not append to it" jq '[b["tapes"] for b in d["backups"] if b["name"] == "c2"] == [["VT0004L9"]]'
tv "$H" tape retire VT9999L9;                expect_rc 1 "retire an unknown tape"
expect_err "no tape VT9999L9 in the catalog" "names it"
tv "$H" tape retire;                         expect_rc 2 "retire without a barcode"
tv "$H" jobs;                                expect_out " expire " "expire is in the job history"

finish
