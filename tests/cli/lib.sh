# tapevault CLI test helpers: source from a test script.
set -u
: "${TAPEVAULT:?TAPEVAULT must point at the binary (ctest sets it)}"
TV_SOURCE_DIR=${TV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$TAPEVAULT
# the same CLI with the test-only fault-injecting tape (tests/support/)
TAPEVAULT_TEST=${TAPEVAULT_TEST:-$(dirname "$TAPEVAULT")/tapevault-test}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tvtest.XXXXXX")
# stored paths are the source's absolute path without the leading '/':
# a source given relative to $WORK is restored under DIR/$S/
S=${WORK#/}
PASSES=0
FAILS=0
cleanup_hooks=()
on_exit() {
	for h in "${cleanup_hooks[@]+"${cleanup_hooks[@]}"}"; do eval "$h" || true; done
	if [ "$FAILS" -eq 0 ]; then rm -rf "$WORK"; else echo "kept $WORK for inspection"; fi
}
trap on_exit EXIT
cd "$WORK"

# tv HOME args...: run tapevault with a state directory; output in $OUT/$ERR, status in $RC
tv() {
	local home=$1; shift
	OUT=$("$T" --home "$home" "$@" 2>"$WORK/.err"); RC=$?
	ERR=$(cat "$WORK/.err")
	return 0
}
pass() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "not ok - $*"; echo "  stdout: ${OUT:-}" | head -20; echo "  stderr: ${ERR:-}" | head -20; }
expect_rc() { # expect_rc N description
	if [ "$RC" -eq "$1" ]; then pass "$2"; else fail "$2 (exit $RC, wanted $1)"; fi
}
expect_out() { # expect_out REGEX description  (stdout)
	if printf '%s' "$OUT" | grep -Eq -- "$1"; then pass "$2"; else fail "$2 (stdout lacks /$1/)"; fi
}
expect_err() { # expect_err REGEX description  (stderr)
	if printf '%s' "$ERR" | grep -Eq -- "$1"; then pass "$2"; else fail "$2 (stderr lacks /$1/)"; fi
}
expect_no_err() {
	if printf '%s' "$ERR" | grep -Eq -- "$1"; then fail "$2 (stderr has /$1/)"; else pass "$2"; fi
}
check() { # check "description" command...
	local d=$1; shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}
# Compare two trees: content, modes, mtimes, symlink targets.
same_tree() {
	local a=$1 b=$2
	diff -r --no-dereference "$a" "$b" >/dev/null || { echo "content differs"; diff -r --no-dereference "$a" "$b" | head; return 1; }
	local la lb
	la=$(cd "$a" && find . -printf '%p %y %m %T@ %l\n' | sort)
	lb=$(cd "$b" && find . -printf '%p %y %m %T@ %l\n' | sort)
	[ "$la" = "$lb" ] || { echo "metadata differs"; diff <(echo "$la") <(echo "$lb") | head; return 1; }
}
finish() {
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
# The kind of library new_home makes: TV_TEST_LIBRARY=scsi makes it an
# emulated SCSI library with 2 drives (the suite's second run, cli-scsi/),
# whose cartridges are image files in the same place.
LIBRARY_OPTS=()
if [ "${TV_TEST_LIBRARY:-}" = scsi ]; then LIBRARY_OPTS=(--scsi-emulation --drives 2); fi
# A fresh installation with one library: new_home NAME LIB SLOTS
new_home() {
	local home=$WORK/$1 lib=$2 slots=${3:-20}
	"$T" --home "$home" -q init || return 1
	"$T" --home "$home" -q library create "$lib" --path "$WORK/$1-$lib" --slots "$slots" \
		"${LIBRARY_OPTS[@]+"${LIBRARY_OPTS[@]}"}" || return 1
}
# catalog_sql HOME SQL: SQL on HOME's catalog, the SQLite file or (the
# suite's PostgreSQL run, cli-pg/) the database its catalog.url names
catalog_sql() {
	if [ -f "$1/catalog.url" ] && grep -q '^postgres' "$1/catalog.url"; then
		psql -qtA "$(cat "$1/catalog.url")" -c "$2"
	else
		sqlite3 "$1/catalog.db" "$2"
	fi
}
pg_mode() { [ -n "${TV_PG_HOST:-}" ]; }
# pg_shared_catalog: for the stories of several tape servers on one
# catalog (t_pg_*): a database of its own on the suite's PostgreSQL server,
# dropped at exit, its name in PG_DB and URI in URI; T becomes the real
# binary (REAL), so that every 'init' names that catalog itself instead of
# the one pg_wrap.sh would give it.
pg_shared_catalog() {
	pg_mode || { echo "needs the PostgreSQL test server (ctest -R cli-pg/)"; return 1; }
	REAL=${TV_REAL_TAPEVAULT:-$T}
	PG_DB=tv_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	URI="postgresql:///$PG_DB?host=$TV_PG_HOST&user=postgres"
	psql -q -h "$TV_PG_HOST" -U postgres -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null ||
		return 1
	cleanup_hooks+=("psql -q -h '$TV_PG_HOST' -U postgres -d postgres -c 'DROP DATABASE IF EXISTS $PG_DB' >/dev/null 2>&1")
	T=$REAL
}
# secret_sql HOME SQL: SQL (SQLite's dialect) on the database that holds
# HOME's secret tables (passwords, tape_keys, kms_servers, kms_keys,
# escrow_requests): the catalog itself, or, when the catalog is a shared
# PostgreSQL one, the home's own local store (local.db: secrets stay on
# each server).  It holds no shared table rows: look tapes up with
# catalog_sql first.
secret_sql() {
	if [ -f "$1/catalog.url" ] && grep -q '^postgres' "$1/catalog.url"; then
		sqlite3 "$1/local.db" "$2"
	else
		sqlite3 "$1/catalog.db" "$2"
	fi
}
secret() { # secret FILE TEXT: a password file with mode 600
	printf '%s\n' "$2" > "$1"; chmod 600 "$1"
}
# Writer identities (jobs/writer.h): every installation signs the tapes it
# writes, and catalogs the tapes of another only once it trusts it.
# writer_fpr HOME: prints HOME's identity fingerprint (SHA256:...)
writer_fpr() {
	local f; f=$(mktemp -u "$WORK/.identity.XXXXXX.pub")
	"$T" --home "$1" -q identity export --out "$f" 2>/dev/null && rm -f "$f"
}
# trust_writer FROM TO: TO accepts what FROM writes ('identity trust')
trust_writer() {
	local f; f=$(mktemp -u "$WORK/.identity.XXXXXX.pub")
	"$T" --home "$1" -q identity export --out "$f" >/dev/null 2>&1 &&
		"$T" --home "$2" -q identity trust "$f" >/dev/null 2>&1
	local rc=$?
	rm -f "$f"
	return $rc
}
