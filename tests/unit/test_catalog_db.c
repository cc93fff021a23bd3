/* tapevault: the catalog database layer (src/catalog): open and migrate a
 * fresh catalog, migrate a version-1 catalog, refuse a newer schema with a
 * message that says what to do, roll a failed migration back, transactions,
 * every binding type, prepared statements run and rebound many times,
 * constraint errors as TV_ERR_EXISTS, step errors surfaced (not taken for
 * the end of the rows), and the single-value helpers. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/schema.h"
#include "util/err.h"

#include "testlib.h"

/* expr is 0; else the failure names the code and its detail */
#define ASSERT_OK(expr) do { \
	int r_ = (expr); \
	if (r_ != 0) \
		fail_msg("%s: %d: %s", #expr, r_, tv_errmsg(r_)); \
} while (0)

#define ASSERT_DETAIL(needle) do { \
	if (strstr(tv_errdetail(), (needle)) == NULL) \
		fail_msg("error detail \"%s\" lacks \"%s\"", tv_errdetail(), (needle)); \
} while (0)

static char *db_path(const char *tag)
{
	return tl_path(tl_tmpdir(tag), "catalog.db");
}

static struct tv_db *open_fresh(void)
{
	char *path = db_path("db");
	struct tv_db *db = NULL;

	ASSERT_OK(tv_db_open(path, 1, &db));
	assert_non_null(db);
	free(path);
	ASSERT_OK(tv_db_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, i INTEGER, u INTEGER,"
	                     " s TEXT, b BLOB, n, nn TEXT NOT NULL DEFAULT 'x',"
	                     " uq TEXT UNIQUE)", ""));
	return db;
}

/* Runs sql on the file with plain sqlite3 (no migration). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	return v;
}

/* ---- open and migrate ---- */

static void test_open_fresh(void **state)
{
	static const char *const tables[] = {
		"settings", "libraries", "pools", "media_sets", "tapes", "tape_keys",
		"backup_sets", "files", "parts", "data_files", "passwords", "kms_servers",
		"kms_keys", "escrow_keys", "escrow_requests", "audit",
	};
	char *path = db_path("fresh");
	struct tv_db *db = NULL;
	int64_t v;
	(void)state;

	assert_int_equal(tv_schema_count, TV_DB_SCHEMA_VERSION);
	ASSERT_OK(tv_db_open(path, 1, &db));
	assert_int_equal(tv_db_schema_version(db), TV_DB_SCHEMA_VERSION);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		int r = tv_db_get_int(db, &v, "SELECT COUNT(*) FROM sqlite_master WHERE "
		                      "type='table' AND name=?", "t", tables[i]);
		assert_int_equal(r, 0);
		if (v != 1)
			fail_msg("table %s missing from a fresh catalog", tables[i]);
	}
	/* version 2 columns: files are keyed by (set, index); pools compress */
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM pragma_table_info('files') "
	                        "WHERE name IN ('idx','tseq','frame_off','entry_off')", ""));
	assert_int_equal(v, 4);
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM pragma_table_info('files') "
	                        "WHERE name='file_index'", ""));
	assert_int_equal(v, 0);
	/* what tv_db_open promises: foreign keys on, WAL */
	ASSERT_OK(tv_db_get_int(db, &v, "PRAGMA foreign_keys", ""));
	assert_int_equal(v, 1);
	{
		char mode[16];
		ASSERT_OK(tv_db_get_text(db, mode, sizeof(mode), "PRAGMA journal_mode", ""));
		assert_string_equal(mode, "wal");
	}
	tv_db_close(db);

	/* reopened without create: no migration runs again, data stays */
	db = NULL;
	ASSERT_OK(tv_db_open(path, 0, &db));
	assert_int_equal(tv_db_schema_version(db), TV_DB_SCHEMA_VERSION);
	ASSERT_OK(tv_db_exec(db, "INSERT INTO settings(key, value) VALUES('k','v')", ""));
	tv_db_close(db);
	db = NULL;
	ASSERT_OK(tv_db_open(path, 0, &db));
	{
		char val[8];
		ASSERT_OK(tv_db_get_text(db, val, sizeof(val), "SELECT value FROM settings "
		                         "WHERE key=?", "t", "k"));
		assert_string_equal(val, "v");
	}
	tv_db_close(db);
	tv_db_close(NULL);
	free(path);
}

static void test_open_missing(void **state)
{
	const char *dir = tl_tmpdir("missing");
	char *path = tl_path(dir, "none.db"), *deep = tl_path(dir, "no/such/dir/c.db");
	struct tv_db *db = (struct tv_db *)1;
	(void)state;

	/* without create: NOTFOUND, and the message says what to run */
	assert_int_equal(tv_db_open(path, 0, &db), TV_ERR_NOTFOUND);
	assert_null(db);
	ASSERT_DETAIL(path);
	ASSERT_DETAIL("tapevault init");
	assert_false(tl_exists(path));
	/* with create, where no file can be made: a database error */
	db = (struct tv_db *)1;
	assert_int_equal(tv_db_open(deep, 1, &db), TV_ERR_DB);
	assert_null(db);
	ASSERT_DETAIL(deep);
	/* a file that is not a database */
	tl_write_file(path, "this is not an SQLite database, not at all........", 50, 0600);
	db = (struct tv_db *)1;
	assert_int_not_equal(tv_db_open(path, 0, &db), 0);
	assert_null(db);
	free(path);
	free(deep);
}

/* A version-1 catalog (format v1 sets) moves to version 2: v1 file rows
 * cannot be read by this version, so the sets go, the rest stays. */
static void test_migrate_from_v1(void **state)
{
	char *path = db_path("v1");
	char *sql;
	struct tv_db *db = NULL;
	int64_t v;
	(void)state;

	sql = tl_strf("BEGIN; %s PRAGMA user_version=1; COMMIT;", tv_schema_migrations[0]);
	raw_exec(path, sql);
	free(sql);
	raw_exec(path, "INSERT INTO libraries(name, path, created) VALUES('vault','/srv',1);"
	         "INSERT INTO pools(uuid, name, library_id, created) VALUES(x'01',"
	         "'offsite',1,1);"
	         "INSERT INTO backup_sets(uuid, name, pool_id, created) VALUES(x'02','old',1,1);"
	         "INSERT INTO files(set_id, file_index, path, ftype, mode, uid, gid, mtime_sec,"
	         " mtime_nsec, size) VALUES(1,0,'a',1,420,0,0,0,0,5);");
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 1);

	ASSERT_OK(tv_db_open(path, 0, &db));
	assert_int_equal(tv_db_schema_version(db), TV_DB_SCHEMA_VERSION);
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM backup_sets", ""));
	assert_int_equal(v, 0);
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM libraries", ""));
	assert_int_equal(v, 1);
	{
		char comp[32];
		ASSERT_OK(tv_db_get_text(db, comp, sizeof(comp), "SELECT compression FROM pools "
		                         "WHERE name=?", "t", "offsite"));
		assert_string_equal(comp, "zstd:1");
	}
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM pragma_table_info('files') "
	                        "WHERE name='idx'", ""));
	assert_int_equal(v, 1);
	tv_db_close(db);
	free(path);
}

/* A migration that fails leaves the catalog as it was (one transaction
 * per step) and says which version it was going to. */
static void test_failed_migration_rolls_back(void **state)
{
	char *path = db_path("badmig");
	char *sql;
	struct tv_db *db = (struct tv_db *)1;
	(void)state;

	/* a version-1 catalog where migration 2 cannot create data_files */
	sql = tl_strf("BEGIN; %s CREATE TABLE data_files(x); PRAGMA user_version=1; COMMIT;",
	              tv_schema_migrations[0]);
	raw_exec(path, sql);
	free(sql);
	raw_exec(path, "INSERT INTO backup_sets(uuid, name, created) VALUES(x'02','old',1);");
	assert_int_equal(tv_db_open(path, 0, &db), TV_ERR_DB);
	assert_null(db);
	ASSERT_DETAIL("migration to version 2 failed");
	ASSERT_DETAIL("data_files");
	/* nothing of migration 2 stayed */
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM backup_sets"), 1);
	assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM pragma_table_info('files') "
	                         "WHERE name='file_index'"), 1);
	assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM pragma_table_info('pools') "
	                         "WHERE name='compression'"), 0);
	free(path);
}

static void test_newer_schema_refused(void **state)
{
	char *path = db_path("newer");
	char want[128], *sql;
	struct tv_db *db = NULL;
	(void)state;

	ASSERT_OK(tv_db_open(path, 1, &db));
	tv_db_close(db);
	sql = tl_strf("PRAGMA user_version=%d; CREATE TABLE from_the_future(x);",
	              TV_DB_SCHEMA_VERSION + 1);
	raw_exec(path, sql);
	free(sql);
	db = (struct tv_db *)1;
	assert_int_equal(tv_db_open(path, 0, &db), TV_ERR_UNSUPPORTED);
	assert_null(db);
	snprintf(want, sizeof(want), "catalog schema version %d is newer than this tapevault "
	         "understands (%d)", TV_DB_SCHEMA_VERSION + 1, TV_DB_SCHEMA_VERSION);
	ASSERT_DETAIL(want);
	ASSERT_DETAIL("upgrade tapevault");
	/* untouched: still the newer version, its table still there */
	assert_int_equal(raw_int(path, "PRAGMA user_version"), TV_DB_SCHEMA_VERSION + 1);
	assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM from_the_future"), 0);
	free(path);
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
	char *path = db_path("tx");
	struct tv_db *db = NULL;
	int64_t v;
	(void)state;

	ASSERT_OK(tv_db_open(path, 1, &db));
	/* rolled back: gone */
	ASSERT_OK(tv_db_begin(db));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO settings(key, value) VALUES('a','1')", ""));
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM settings WHERE key='a'", ""));
	assert_int_equal(v, 1);
	tv_db_rollback(db);
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM settings WHERE key='a'", ""));
	assert_int_equal(v, 0);
	tv_db_rollback(db);                  /* none open: nothing happens */
	/* committed: stays */
	ASSERT_OK(tv_db_begin(db));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO settings(key, value) VALUES('b','2')", ""));
	ASSERT_OK(tv_db_commit(db));
	/* nesting and committing nothing are mistakes the caller hears of */
	ASSERT_OK(tv_db_begin(db));
	assert_int_equal(tv_db_begin(db), TV_ERR_STATE);
	ASSERT_DETAIL("already open");
	ASSERT_OK(tv_db_commit(db));
	assert_int_equal(tv_db_commit(db), TV_ERR_STATE);
	ASSERT_DETAIL("no catalog transaction");
	/* closing with a transaction open rolls it back */
	ASSERT_OK(tv_db_begin(db));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO settings(key, value) VALUES('c','3')", ""));
	tv_db_close(db);
	db = NULL;
	ASSERT_OK(tv_db_open(path, 0, &db));
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM settings WHERE key IN "
	                        "('a','b','c')", ""));
	assert_int_equal(v, 1);
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM settings WHERE key='b'", ""));
	assert_int_equal(v, 1);
	tv_db_close(db);
	free(path);
}

/* ---- binding ---- */

static void test_bind_types(void **state)
{
	struct tv_db *db = open_fresh();
	static const uint8_t blob[5] = { 0, 1, 0, 0xff, 0 };
	struct tv_stmt *st = NULL;
	const void *p;
	size_t n;
	(void)state;

	/* i: int64 at both ends; u: an unsigned stays positive; t: text with
	 * UTF-8; b: bytes with zeros; n: NULL */
	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, i, u, s, b, n) VALUES(?,?,?,?,?,?)", "iiutbn",
	                     (int64_t)1, INT64_MIN, 0xffffffffu, "K\xc3\xa4se", blob,
	                     sizeof(blob)));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, i) VALUES(?,?)", "ii", (int64_t)2, INT64_MAX));
	/* NULL pointers bind NULL; an empty, non-NULL blob is an empty blob */
	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, s, b) VALUES(3,?,?)", "tb", (const char *)NULL,
	                     (const void *)NULL, (size_t)7));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, s, b) VALUES(4,?,?)", "tb", "", blob, (size_t)0));

	ASSERT_OK(tv_db_query(db, &st, "SELECT k, i, u, s, b, n, typeof(s), typeof(b) FROM t "
	                      "WHERE k>=? ORDER BY k", "u", 1u));
	assert_int_equal(tv_stmt_step(st), 1);
	assert_int_equal(tv_stmt_int(st, 1), INT64_MIN);
	assert_int_equal(tv_stmt_int(st, 2), 4294967295LL);
	assert_string_equal(tv_stmt_text(st, 3), "K\xc3\xa4se");
	p = tv_stmt_blob(st, 4, &n);
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	assert_true(tv_stmt_isnull(st, 5));
	assert_false(tv_stmt_isnull(st, 4));
	assert_int_equal(tv_stmt_step(st), 1);
	assert_int_equal(tv_stmt_int(st, 1), INT64_MAX);
	assert_true(tv_stmt_isnull(st, 2));
	assert_string_equal(tv_stmt_text(st, 3), "");        /* NULL reads as "" */
	assert_int_equal(tv_stmt_step(st), 1);
	assert_true(tv_stmt_isnull(st, 3));
	assert_true(tv_stmt_isnull(st, 4));
	p = tv_stmt_blob(st, 4, &n);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(tv_stmt_step(st), 1);
	assert_string_equal(tv_stmt_text(st, 6), "text");
	assert_string_equal(tv_stmt_text(st, 7), "blob");
	tv_stmt_blob(st, 4, &n);
	assert_int_equal(n, 0);
	assert_int_equal(tv_stmt_step(st), 0);
	assert_int_equal(tv_stmt_step(st), 1);                 /* steps again from the start */
	tv_stmt_free(st);
	tv_stmt_free(NULL);

	/* an unknown binding type is a bug, said as one */
	assert_int_equal(tv_db_exec(db, "INSERT INTO t(k) VALUES(?)", "x", (int64_t)9),
	                 TV_ERR_INTERNAL);
	ASSERT_DETAIL("bad bind type 'x'");
	st = (struct tv_stmt *)1;
	assert_int_equal(tv_db_query(db, &st, "SELECT ?", "q", 1), TV_ERR_INTERNAL);
	assert_null(st);
	/* more arguments than placeholders: SQLite's range error */
	assert_int_equal(tv_db_exec(db, "SELECT ?", "ii", (int64_t)1, (int64_t)2), TV_ERR_DB);
	ASSERT_DETAIL("bind");
	tv_db_close(db);
}

static void test_prepare_run_reuse(void **state)
{
	struct tv_db *db = open_fresh();
	struct tv_stmt *ins = NULL, *sel = NULL;
	char text[16];
	int64_t v;
	(void)state;

	ASSERT_OK(tv_db_prepare(db, &ins, "INSERT INTO t(k, s, b, uq) VALUES(?,?,?,?)"));
	/* text and blobs are used in place, for the call only: the same buffer
	 * holds another value on every run */
	for (int k = 1; k <= 100; k++) {
		uint8_t b[8];
		snprintf(text, sizeof(text), "row %d", k);
		tl_fill_random(b, sizeof(b), (uint32_t)k);
		ASSERT_OK(tv_stmt_run(ins, "itbn", (int64_t)k, text, b, sizeof(b)));
		assert_int_equal(tv_db_last_id(db), k);
		assert_int_equal(tv_db_changes(db), 1);
	}
	memset(text, 'X', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ASSERT_OK(tv_db_get_text(db, text, sizeof(text), "SELECT s FROM t WHERE k=?", "i",
	                         (int64_t)57));
	assert_string_equal(text, "row 57");
	{
		uint8_t want[8];
		const void *p;
		size_t n;
		tl_fill_random(want, sizeof(want), 57);
		ASSERT_OK(tv_db_query(db, &sel, "SELECT b FROM t WHERE k=57", ""));
		assert_int_equal(tv_stmt_step(sel), 1);
		p = tv_stmt_blob(sel, 0, &n);
		assert_int_equal(n, 8);
		assert_memory_equal(p, want, 8);
		tv_stmt_free(sel);
		sel = NULL;
	}
	/* a run binds what it is given and nothing left from the last one */
	ASSERT_OK(tv_stmt_run(ins, "it", (int64_t)101, "only two"));
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT b IS NULL AND uq IS NULL FROM t WHERE k=101", ""));
	assert_int_equal(v, 1);
	/* a constraint is TV_ERR_EXISTS, and the statement runs on after it */
	assert_int_equal(tv_stmt_run(ins, "it", (int64_t)5, "dup"), TV_ERR_EXISTS);
	ASSERT_DETAIL("UNIQUE constraint failed");
	ASSERT_OK(tv_stmt_run(ins, "ittt", (int64_t)102, "u", NULL, "unique-1"));
	assert_int_equal(tv_stmt_run(ins, "ittt", (int64_t)103, "u", NULL, "unique-1"),
	                 TV_ERR_EXISTS);
	ASSERT_OK(tv_stmt_run(ins, "ittt", (int64_t)104, "u", NULL, "unique-2"));
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT COUNT(*) FROM t", ""));
	assert_int_equal(v, 103);

	/* tv_stmt_bind: rebinding resets, also in the middle of the rows */
	ASSERT_OK(tv_db_prepare(db, &sel, "SELECT k FROM t WHERE k<=? ORDER BY k"));
	ASSERT_OK(tv_stmt_bind(sel, "i", (int64_t)3));
	for (int k = 1; k <= 3; k++) {
		assert_int_equal(tv_stmt_step(sel), 1);
		assert_int_equal(tv_stmt_int(sel, 0), k);
	}
	assert_int_equal(tv_stmt_step(sel), 0);
	ASSERT_OK(tv_stmt_bind(sel, "i", (int64_t)50));
	assert_int_equal(tv_stmt_step(sel), 1);
	assert_int_equal(tv_stmt_int(sel, 0), 1);
	ASSERT_OK(tv_stmt_bind(sel, "i", (int64_t)2));      /* mid-way */
	assert_int_equal(tv_stmt_step(sel), 1);
	assert_int_equal(tv_stmt_int(sel, 0), 1);
	assert_int_equal(tv_stmt_step(sel), 1);
	assert_int_equal(tv_stmt_int(sel, 0), 2);
	assert_int_equal(tv_stmt_step(sel), 0);
	/* tv_stmt_bind copies: the buffer may change before the steps */
	tv_stmt_free(sel);
	ASSERT_OK(tv_db_prepare(db, &sel, "SELECT k FROM t WHERE s=?"));
	snprintf(text, sizeof(text), "row 42");
	ASSERT_OK(tv_stmt_bind(sel, "t", text));
	snprintf(text, sizeof(text), "row 43");
	assert_int_equal(tv_stmt_step(sel), 1);
	assert_int_equal(tv_stmt_int(sel, 0), 42);
	tv_stmt_free(sel);
	tv_stmt_free(ins);

	/* a statement that does not compile */
	sel = (struct tv_stmt *)1;
	assert_int_equal(tv_db_prepare(db, &sel, "SELEKT 1"), TV_ERR_DB);
	assert_null(sel);
	ASSERT_DETAIL("prepare");
	ASSERT_DETAIL("syntax error");
	tv_db_close(db);
}

/* A constraint failure by kind, with SQLite's message: a duplicate is
 * TV_ERR_EXISTS, a foreign key TV_ERR_STATE, CHECK and NOT NULL
 * TV_ERR_INVAL; one call runs one statement. */
static void test_constraints(void **state)
{
	char *path = db_path("constraints");
	struct tv_db *db = NULL;
	struct tv_stmt *st = NULL;
	(void)state;

	ASSERT_OK(tv_db_open(path, 1, &db));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO libraries(name, path, created) VALUES(?,?,?)", "tti",
	                     "vault", "/srv/vault", (int64_t)1));
	assert_int_equal(tv_db_exec(db, "INSERT INTO libraries(name, path, created) VALUES(?,?,?)",
	                            "tti", "vault", "/elsewhere", (int64_t)2), TV_ERR_EXISTS);
	ASSERT_DETAIL("catalog: UNIQUE constraint failed: libraries.name");
	/* foreign keys are enforced */
	assert_int_equal(tv_db_exec(db, "INSERT INTO pools(uuid, name, library_id, created) "
	                            "VALUES(?,?,?,?)", "btii", "0123456789abcdef", (size_t)16,
	                            "p", (int64_t)99, (int64_t)1), TV_ERR_STATE);
	ASSERT_DETAIL("FOREIGN KEY constraint failed");
	/* CHECK and NOT NULL */
	assert_int_equal(tv_db_exec(db, "INSERT INTO pools(uuid, name, library_id, created,"
	                            " media_set_policy) VALUES(x'01','p',1,1,'sometimes')", ""),
	                 TV_ERR_INVAL);
	ASSERT_DETAIL("CHECK constraint failed");
	assert_int_equal(tv_db_exec(db, "INSERT INTO libraries(name, created) VALUES('x', 1)", ""),
	                 TV_ERR_INVAL);
	ASSERT_DETAIL("NOT NULL constraint failed: libraries.path");
	/* two statements in one call: refused whole, nothing run */
	assert_int_equal(tv_db_exec(db, "INSERT INTO libraries(name, path, created) VALUES"
	                            "('two', '/t', 1); DELETE FROM libraries", ""), TV_ERR_INTERNAL);
	ASSERT_DETAIL("more than one SQL statement");
	{
		int64_t n = -1;
		ASSERT_OK(tv_db_get_int(db, &n, "SELECT COUNT(*) FROM libraries", ""));
		assert_int_equal(n, 1);
	}
	assert_int_equal(tv_db_prepare(db, &st, "SELECT 1; SELECT 2"), TV_ERR_INTERNAL);
	assert_null(st);
	ASSERT_OK(tv_db_exec(db, "DELETE FROM libraries WHERE name='nobody';  ", ""));
	tv_db_close(db);
	free(path);
}

/* A step that fails is an error, wherever it happens: not "no more rows". */
static void test_step_errors(void **state)
{
	struct tv_db *db = open_fresh();
	struct tv_stmt *st = NULL;
	char text[16];
	int64_t v = 77;
	int r;
	(void)state;

	/* abs() of the smallest integer fails at run time, not at prepare */
	ASSERT_OK(tv_db_query(db, &st, "SELECT abs(x) FROM (SELECT 1 AS x UNION ALL "
	                      "SELECT -9223372036854775807 - 1)", ""));
	assert_int_equal(tv_stmt_step(st), 1);
	assert_int_equal(tv_stmt_int(st, 0), 1);
	r = tv_stmt_step(st);
	assert_int_equal(r, TV_ERR_DB);
	ASSERT_DETAIL("catalog database: query: integer overflow");
	tv_stmt_free(st);

	assert_int_equal(tv_db_exec(db, "INSERT INTO t(k, i) VALUES(1, abs(?))", "i", INT64_MIN),
	                 TV_ERR_DB);
	ASSERT_DETAIL("query");
	ASSERT_DETAIL("integer overflow");
	/* the single-value helpers: an error, never TV_ERR_NOTFOUND */
	assert_int_equal(tv_db_get_int(db, &v, "SELECT abs(?)", "i", INT64_MIN), TV_ERR_DB);
	assert_int_equal(v, 77);
	assert_int_equal(tv_db_get_text(db, text, sizeof(text), "SELECT abs(?)", "i", INT64_MIN),
	                 TV_ERR_DB);
	/* prepared statements */
	ASSERT_OK(tv_db_prepare(db, &st, "INSERT INTO t(k, i) VALUES(?, abs(?))"));
	assert_int_equal(tv_stmt_run(st, "ii", (int64_t)1, INT64_MIN), TV_ERR_DB);
	ASSERT_DETAIL("integer overflow");
	ASSERT_OK(tv_stmt_run(st, "ii", (int64_t)1, (int64_t)-5));
	tv_stmt_free(st);
	ASSERT_OK(tv_db_prepare(db, &st, "SELECT abs(?)"));
	ASSERT_OK(tv_stmt_bind(st, "i", INT64_MIN));
	assert_int_equal(tv_stmt_step(st), TV_ERR_DB);
	ASSERT_OK(tv_stmt_bind(st, "i", (int64_t)-3));
	assert_int_equal(tv_stmt_step(st), 1);
	assert_int_equal(tv_stmt_int(st, 0), 3);
	tv_stmt_free(st);
	/* a query that does not compile */
	st = (struct tv_stmt *)1;
	assert_int_equal(tv_db_query(db, &st, "SELECT nosuchcolumn FROM t", ""), TV_ERR_DB);
	assert_null(st);
	ASSERT_DETAIL("no such column: nosuchcolumn");
	tv_db_close(db);
}

/* ---- the single-value helpers ---- */

static void test_get_helpers(void **state)
{
	struct tv_db *db = open_fresh();
	char text[8];
	int64_t v = 5;
	(void)state;

	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, i, s) VALUES(1, 42, 'seven!')", ""));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, i, s) VALUES(2, NULL, NULL)", ""));
	ASSERT_OK(tv_db_exec(db, "INSERT INTO t(k, i, s) VALUES(3, 1, 'eight!!!')", ""));
	/* no row */
	assert_int_equal(tv_db_get_int(db, &v, "SELECT i FROM t WHERE k=?", "i", (int64_t)9),
	                 TV_ERR_NOTFOUND);
	assert_int_equal(v, 5);
	assert_int_equal(tv_db_get_text(db, text, sizeof(text), "SELECT s FROM t WHERE k=?", "i",
	                                (int64_t)9), TV_ERR_NOTFOUND);
	/* a row */
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT i FROM t WHERE k=?", "i", (int64_t)1));
	assert_int_equal(v, 42);
	ASSERT_OK(tv_db_get_text(db, text, sizeof(text), "SELECT s FROM t WHERE k=?", "i",
	                         (int64_t)1));
	assert_string_equal(text, "seven!");              /* 7 bytes with the NUL: fits */
	/* the first row of several; NULL is 0 and "" */
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT k FROM t ORDER BY k DESC", ""));
	assert_int_equal(v, 3);
	ASSERT_OK(tv_db_get_int(db, &v, "SELECT i FROM t WHERE k=2", ""));
	assert_int_equal(v, 0);
	memset(text, 'x', sizeof(text));
	ASSERT_OK(tv_db_get_text(db, text, sizeof(text), "SELECT s FROM t WHERE k=2", ""));
	assert_string_equal(text, "");
	/* a value that does not fit is an error, not a cut string */
	assert_int_equal(tv_db_get_text(db, text, sizeof(text), "SELECT s FROM t WHERE k=3", ""),
	                 TV_ERR_RANGE);
	ASSERT_DETAIL("too long");
	tv_db_close(db);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_fresh),
		cmocka_unit_test(test_open_missing),
		cmocka_unit_test(test_migrate_from_v1),
		cmocka_unit_test(test_failed_migration_rolls_back),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_bind_types),
		cmocka_unit_test(test_prepare_run_reuse),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_step_errors),
		cmocka_unit_test(test_get_helpers),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
