#!/usr/bin/env bash
# Issue 2 "must show": a tree of 10,000 files plus large files spanning
# 64 MiB tapes; export; fresh installation; insert; catalog; restore.
. "$(dirname "$0")/lib.sh"
A=$WORK/a; B=$WORK/b
new_home a lib 30 || exit 1

# --- source tree: 10,000 small files in 100 dirs, symlinks, odd modes, 2 big files
mkdir -p src
python3 - "$WORK/src" <<'PY'
import os, sys, random
root = sys.argv[1]
rnd = random.Random(7)
for d in range(100):
    dd = os.path.join(root, "tree", "d%03d" % d)
    os.makedirs(dd)
    for f in range(100):
        p = os.path.join(dd, "f%03d" % f)
        with open(p, "wb") as fh:
            fh.write(rnd.randbytes(rnd.randrange(0, 3000)))
        os.chmod(p, rnd.choice([0o644, 0o600, 0o755, 0o640]))
        os.utime(p, ns=(1_600_000_000_000_000_000 + d * 1000 + f, 1_600_000_000_123_456_789 + d * 1000 + f))
    os.symlink("d%03d/f000" % d, os.path.join(root, "tree", "link%03d" % d))
os.symlink("/nonexistent/target", os.path.join(root, "tree", "dangling"))
os.chmod(os.path.join(root, "tree", "d050"), 0o750)
PY
head -c $((101 * 1024 * 1024)) /dev/urandom > src/big1
head -c $((105 * 1024 * 1024 + 12345)) /dev/urandom > src/big2
touch -d '2020-01-02 03:04:05.123456789' src/big1

tv "$A" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 --capacity 64M; expect_rc 0 "six 64 MiB cartridges"
tv "$A" pool create p --library lib; expect_rc 0 "pool"
tv "$A" write p src --name rt;      expect_rc 0 "write spans tapes"
SET=$OUT
tv "$A" backups;                    expect_out "rt .*restorable .*VT0001L9,VT0002L9,VT0003L9,VT0004L9" "set spans 4 tapes"
echo "tapes of the set: $(printf "%s" "$OUT" | awk "/ rt /{print \$NF}")"
tv "$A" --json backups
check "json backups" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=d["backups"][0]; assert s["state"]=="restorable" and s["files"]>10000' "$OUT"

# --- export, fresh installation, insert, catalog
tv "$A" tape export VT0001L9 VT0002L9 VT0003L9 VT0004L9 --to "$WORK/box"; expect_rc 0 "export"
check "images left the library" test -f "$WORK/box/VT0003L9.tap" -a ! -e "$WORK/a-lib/VT0003L9.tap"
new_home b lib 30
trust_writer "$A" "$B"
tv "$B" tape insert lib --copy "$WORK"/box/VT000{1,2,3,4}L9.tap; expect_rc 0 "insert"
tv "$B" catalog lib;                expect_rc 0 "catalog on a fresh installation"
if pg_mode; then
	check "PostgreSQL: the catalog run refreshed the planner's statistics of files" test \
		"$(catalog_sql "$B" "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'files'")" = t
fi
tv "$B" backups;                    expect_out "$SET +rt .*restorable" "set rebuilt from the tapes"
tv "$B" restore "$SET" --to "$WORK/restored"; expect_rc 0 "restore"
check "restored tree identical (content, modes, mtimes, symlinks)" same_tree "$WORK/src" "$WORK/restored/$S/src"

# --- one file from the large set: positioning by file number
tv "$B" -v restore rt "$WORK/src/tree/d099/f099" --to "$WORK/one"; expect_rc 0 "restore one file"
check "the one file is right" cmp "$WORK/src/tree/d099/f099" "$WORK/one/$S/src/tree/d099/f099"
recs=$(printf '%s' "$ERR" | sed -n 's/.*tape VT000.L9: \([0-9]*\) records read.*/\1/p' | head -1)
if [ -n "$recs" ] && [ "$recs" -le 3 ]; then pass "one-file restore read $recs records (at most 3)"; else fail "one-file restore read '${recs}' records"; fi

# --- only the last tape / only a middle tape, on fresh installations
C=$WORK/c; new_home c lib 30
trust_writer "$A" "$C"
tv "$C" tape insert --copy lib "$WORK/box/VT0004L9.tap"; expect_rc 0 "insert last tape only"
tv "$C" catalog lib;                expect_rc 0 "catalog last tape only"
expect_err "missing tape\(s\): VT0001L9 \(sequence 1\), VT0002L9 \(sequence 2\), VT0003L9 \(sequence 3\)" "names the missing tapes"
tv "$C" backups;                    expect_out "rt .*(incomplete|offline)" "set known but not restorable"
D=$WORK/d; new_home d lib 30
trust_writer "$A" "$D"
tv "$D" tape insert lib --copy "$WORK/box/VT0002L9.tap"; expect_rc 0 "insert middle tape only"
tv "$D" catalog lib;                expect_rc 0 "catalog middle tape only"
expect_err "missing tape\(s\): VT0001L9 \(sequence 1\)" "names the earlier tape"
expect_err "ends .*not cataloged" "says the end of the set is unknown"
finish
