/* tapevault catalog: the SQLite backend (the embedded default).
 *
 * Foreign keys on, WAL, a busy timeout; the schema version is PRAGMA
 * user_version and every migration runs in its own IMMEDIATE
 * transaction. */
#include "catalog/db_int.h"
#include "catalog/schema.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_db {
	struct tv_db base;
	sqlite3 *h;
};

struct sl_stmt {
	struct tv_stmt base;
	sqlite3_stmt *s;
};

static sqlite3 *H(struct tv_db *db) { return ((struct sl_db *)db)->h; }
static sqlite3_stmt *S(struct tv_stmt *q) { return ((struct sl_stmt *)q)->s; }

static int db_err(struct tv_db *db, const char *what)
{
	return tv_errf(TV_ERR_DB, "catalog database: %s: %s", what, sqlite3_errmsg(H(db)));
}

/* A constraint failure by kind: a duplicate is TV_ERR_EXISTS; a missing or
 * still referenced row TV_ERR_STATE; a value a CHECK or NOT NULL refuses
 * TV_ERR_INVAL. */
static int constraint_err(struct tv_db *db)
{
	int ext = sqlite3_extended_errcode(H(db)), code;

	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    ext == SQLITE_CONSTRAINT_ROWID)
		code = TV_ERR_EXISTS;
	else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		code = TV_ERR_STATE;
	else
		code = TV_ERR_INVAL;
	return tv_errf(code, "catalog: %s", sqlite3_errmsg(H(db)));
}

static int sl_schema_version(struct tv_db *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(H(db), "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int migrate(struct tv_db *db)
{
	int v = sl_schema_version(db);
	char *msg = NULL;

	if (v > tv_schema_count)
		return tv_errf(TV_ERR_UNSUPPORTED,
		               "catalog schema version %d is newer than this tapevault "
		               "understands (%d): upgrade tapevault", v, tv_schema_count);
	for (; v < tv_schema_count; v++) {
		char pragma[64];
		if (sqlite3_exec(H(db), "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(H(db), tv_schema_migrations[v], NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
		if (sqlite3_exec(H(db), pragma, NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(H(db), "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	tv_errf(TV_ERR_DB, "catalog migration to version %d failed: %s", v + 1,
	        msg ? msg : sqlite3_errmsg(H(db)));
	sqlite3_free(msg);
	sqlite3_exec(H(db), "ROLLBACK", NULL, NULL, NULL);
	return TV_ERR_DB;
}

/* The catalog holds the file names of encrypted sets: a new one is made
 * 0600 whatever the umask (SQLite gives its -wal and -shm files the
 * database's mode).  An existing file we own is brought to 0600 too, by
 * path: never open(2) and close(2) an existing database here, since a
 * close drops every POSIX lock this process holds on the file, those of
 * its SQLite connections included (a process with two handles on one
 * home, the web server, then lost its WAL to the next CLI that closed the
 * file).  A path that cannot be opened is left to SQLite to report. */
static int create_private(const char *path)
{
	struct stat sb;
	int fd;

	if (lstat(path, &sb) == 0) {
		if (S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077) != 0 &&
		    chmod(path, 0600) != 0)
			return tv_errf(TV_ERR_IO, "catalog %s: chmod 0600: %s", path,
			               strerror(errno));
		return 0;
	}
	/* new: nobody holds it yet */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int sl_open(const char *path, int create, struct tv_db **out)
{
	struct sl_db *db;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	int r;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return TV_ERR_NOMEM;
	db->base.ops = &tv_db_sqlite_ops;
	if (create) {
		flags |= SQLITE_OPEN_CREATE;
		if ((r = create_private(path)) != 0) {
			free(db);
			return r;
		}
	}
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		r = tv_errf(create ? TV_ERR_DB : TV_ERR_NOTFOUND,
		            "cannot open catalog %s: %s%s", path,
		            db->h ? sqlite3_errmsg(db->h) : "out of memory",
		            create ? "" : " (run 'tapevault init' first)");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 30000);
	sqlite3_extended_result_codes(db->h, 1);
	if (sqlite3_exec(db->h, "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL;"
	                 "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_err(&db->base, "configure");
		goto fail;
	}
	if ((r = migrate(&db->base)) != 0)
		goto fail;
	*out = &db->base;
	return 0;
fail:
	sqlite3_close(db->h);
	free(db);
	return r;
}

static void sl_close(struct tv_db *db)
{
	sqlite3_close(H(db));
	free(db);
}

static int sl_tx(struct tv_db *db, enum tv_db_tx what)
{
	static const char *const sql[] = { "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK" };
	static const char *const name[] = { "begin transaction", "commit", "rollback" };

	if (sqlite3_exec(H(db), sql[what], NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, name[what]);
	return 0;
}

/* One call runs one statement: SQLite would quietly ignore the rest. */
static int one_statement(const char *tail)
{
	while (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == ';')
		tail++;
	if (*tail == '\0')
		return 0;
	return tv_errf(TV_ERR_INTERNAL, "catalog: more than one SQL statement in one call "
	               "(\"%.40s\" was not run)", tail);
}

static int sl_prepare(struct tv_db *db, const char *sql, int persistent,
                      struct tv_stmt **out)
{
	struct sl_stmt *q;
	const char *tail = NULL;
	int r;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TV_ERR_NOMEM;
	q->base.db = db;
	if (sqlite3_prepare_v3(H(db), sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
	                       &q->s, &tail) != SQLITE_OK) {
		free(q);
		return db_err(db, "prepare");
	}
	if ((r = one_statement(tail)) != 0) {
		sqlite3_finalize(q->s);
		free(q);
		return r;
	}
	*out = &q->base;
	return 0;
}

static int sl_bind(struct tv_stmt *q, const char *types, va_list ap, int copy)
{
	sqlite3_destructor_type how = copy ? SQLITE_TRANSIENT : SQLITE_STATIC;
	sqlite3_stmt *s = S(q);
	int i, rc = SQLITE_OK;

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	for (i = 0; types != NULL && types[i] != '\0'; i++) {
		int idx = i + 1;
		switch (types[i]) {
		case 'i':
			rc = sqlite3_bind_int64(s, idx, va_arg(ap, int64_t));
			break;
		case 'u':
			rc = sqlite3_bind_int64(s, idx, (int64_t)va_arg(ap, unsigned));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);
			rc = t ? sqlite3_bind_text(s, idx, t, -1, how) : sqlite3_bind_null(s, idx);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = p ? sqlite3_bind_blob64(s, idx, p, n, how) : sqlite3_bind_null(s, idx);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(s, idx);
			break;
		default:
			return tv_errf(TV_ERR_INTERNAL, "bad bind type '%c'", types[i]);
		}
		if (rc != SQLITE_OK)
			return db_err(q->db, "bind");
	}
	return 0;
}

static int sl_step(struct tv_stmt *q)
{
	int rc = sqlite3_step(S(q));

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return constraint_err(q->db);
	return db_err(q->db, "query");
}

static void sl_reset(struct tv_stmt *q)
{
	sqlite3_reset(S(q));
	sqlite3_clear_bindings(S(q));
}

static int64_t sl_col_int(struct tv_stmt *q, int col) { return sqlite3_column_int64(S(q), col); }

static const char *sl_col_text(struct tv_stmt *q, int col)
{
	return (const char *)sqlite3_column_text(S(q), col);
}

static int sl_col_isnull(struct tv_stmt *q, int col)
{
	return sqlite3_column_type(S(q), col) == SQLITE_NULL;
}

static const void *sl_col_blob(struct tv_stmt *q, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(S(q), col);
	*len = (size_t)sqlite3_column_bytes(S(q), col);
	return p;
}

static void sl_finalize(struct tv_stmt *q)
{
	sqlite3_finalize(S(q));
	free(q);
}

static int64_t sl_last_id(struct tv_db *db) { return sqlite3_last_insert_rowid(H(db)); }
static int sl_changes(struct tv_db *db) { return sqlite3_changes(H(db)); }

static int sl_snapshot(struct tv_db *db, const char *path)
{
	/* one consistent copy, written as a new compact database file */
	return tv_db_exec(db, "VACUUM INTO ?", "t", path);
}

const struct tv_db_ops tv_db_sqlite_ops = {
	.version = TV_DB_OPS_VERSION,
	.name = "sqlite",
	.open = sl_open,
	.close = sl_close,
	.schema_version = sl_schema_version,
	.tx = sl_tx,
	.prepare = sl_prepare,
	.bind = sl_bind,
	.step = sl_step,
	.reset = sl_reset,
	.col_int = sl_col_int,
	.col_text = sl_col_text,
	.col_isnull = sl_col_isnull,
	.col_blob = sl_col_blob,
	.finalize = sl_finalize,
	.last_id = sl_last_id,
	.changes = sl_changes,
	.snapshot = sl_snapshot,
};

const char *tv_db_lib_version(void)
{
	return sqlite3_libversion();
}
