#include "catalog/catalog.h"
#include "catalog/schema.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tv_db {
	sqlite3 *h;
	int in_tx;
};

struct tv_stmt {
	struct tv_db *db;
	sqlite3_stmt *s;
};

static int db_err(struct tv_db *db, const char *what)
{
	return tv_errf(TV_ERR_DB, "catalog database: %s: %s", what,
	               sqlite3_errmsg(db->h));
}

static int bind_args_how(struct tv_db *db, sqlite3_stmt *s, const char *types,
                         va_list ap, sqlite3_destructor_type how)
{
	int i, rc = SQLITE_OK;

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
			rc = t ? sqlite3_bind_text(s, idx, t, -1, how)
			       : sqlite3_bind_null(s, idx);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = p ? sqlite3_bind_blob64(s, idx, p, n, how)
			       : sqlite3_bind_null(s, idx);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(s, idx);
			break;
		default:
			return tv_errf(TV_ERR_INTERNAL, "bad bind type '%c'", types[i]);
		}
		if (rc != SQLITE_OK)
			return db_err(db, "bind");
	}
	return 0;
}

static int bind_args(struct tv_db *db, sqlite3_stmt *s, const char *types,
                     va_list ap)
{
	return bind_args_how(db, s, types, ap, SQLITE_TRANSIENT);
}

/* One call runs one statement: SQLite would quietly ignore the rest. */
static int one_statement(sqlite3_stmt **s, const char *tail)
{
	while (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == ';')
		tail++;
	if (*tail == '\0')
		return 0;
	sqlite3_finalize(*s);
	*s = NULL;
	return tv_errf(TV_ERR_INTERNAL, "catalog: more than one SQL statement in one call "
	               "(\"%.40s\" was not run)", tail);
}

/* A constraint failure by kind: a duplicate is TV_ERR_EXISTS; a missing or
 * still referenced row TV_ERR_STATE; a value a CHECK or NOT NULL refuses
 * TV_ERR_INVAL. */
static int constraint_err(struct tv_db *db)
{
	int ext = sqlite3_extended_errcode(db->h), code;

	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    ext == SQLITE_CONSTRAINT_ROWID)
		code = TV_ERR_EXISTS;
	else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		code = TV_ERR_STATE;
	else
		code = TV_ERR_INVAL;
	return tv_errf(code, "catalog: %s", sqlite3_errmsg(db->h));
}

static int prepare(struct tv_db *db, sqlite3_stmt **s, const char *sql,
                   const char *types, va_list ap)
{
	const char *tail = NULL;
	int r;

	if (sqlite3_prepare_v2(db->h, sql, -1, s, &tail) != SQLITE_OK)
		return db_err(db, "prepare");
	if ((r = one_statement(s, tail)) != 0)
		return r;
	if ((r = bind_args(db, *s, types, ap)) != 0) {
		sqlite3_finalize(*s);
		*s = NULL;
	}
	return r;
}

static int migrate(struct tv_db *db)
{
	int v = tv_db_schema_version(db);
	char *msg = NULL;

	if (v > tv_schema_count)
		return tv_errf(TV_ERR_UNSUPPORTED,
		               "catalog schema version %d is newer than this tapevault "
		               "understands (%d): upgrade tapevault", v, tv_schema_count);
	for (; v < tv_schema_count; v++) {
		char pragma[64];
		if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(db->h, tv_schema_migrations[v], NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
		if (sqlite3_exec(db->h, pragma, NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	tv_errf(TV_ERR_DB, "catalog migration to version %d failed: %s", v + 1,
	        msg ? msg : sqlite3_errmsg(db->h));
	sqlite3_free(msg);
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return TV_ERR_DB;
}

int tv_db_snapshot(struct tv_db *db, const char *path)
{
	/* one consistent copy, written as a new compact database file */
	return tv_db_exec(db, "VACUUM INTO ?", "t", path);
}

const char *tv_db_lib_version(void)
{
	return sqlite3_libversion();
}

/* The catalog holds the file names of encrypted sets: a new one is made
 * 0600 whatever the umask (SQLite gives its -wal and -shm files the
 * database's mode).  An existing file we own is brought to 0600 too.  A
 * path that cannot be opened is left to SQLite to report. */
static int create_private(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && sb.st_uid == geteuid() && (sb.st_mode & 077) != 0 &&
	    fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		return tv_errf(TV_ERR_IO, "catalog %s: chmod 0600: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

int tv_db_open(const char *path, int create, struct tv_db **out)
{
	struct tv_db *db;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	int r;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return TV_ERR_NOMEM;
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
		r = db_err(db, "configure");
		goto fail;
	}
	if ((r = migrate(db)) != 0)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_close(db->h);
	free(db);
	return r;
}

void tv_db_close(struct tv_db *db)
{
	if (db == NULL)
		return;
	if (db->in_tx)
		tv_db_rollback(db);
	sqlite3_close(db->h);
	free(db);
}

int tv_db_schema_version(struct tv_db *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

int tv_db_begin(struct tv_db *db)
{
	if (db->in_tx)
		return tv_errf(TV_ERR_STATE, "catalog transaction already open");
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, "begin transaction");
	db->in_tx = 1;
	return 0;
}

int tv_db_commit(struct tv_db *db)
{
	if (!db->in_tx)
		return tv_errf(TV_ERR_STATE, "no catalog transaction open");
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, "commit");
	db->in_tx = 0;
	return 0;
}

void tv_db_rollback(struct tv_db *db)
{
	if (db->in_tx)
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	db->in_tx = 0;
}

int tv_db_exec(struct tv_db *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int r, rc;

	va_start(ap, types);
	r = prepare(db, &s, sql, types, ap);
	va_end(ap);
	if (r != 0)
		return r;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			r = constraint_err(db);
		else
			r = db_err(db, "step");
	}
	sqlite3_finalize(s);
	return r;
}

int64_t tv_db_last_id(struct tv_db *db) { return sqlite3_last_insert_rowid(db->h); }
int tv_db_changes(struct tv_db *db) { return sqlite3_changes(db->h); }

int tv_db_query(struct tv_db *db, struct tv_stmt **out, const char *sql,
                const char *types, ...)
{
	struct tv_stmt *q;
	va_list ap;
	int r;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TV_ERR_NOMEM;
	q->db = db;
	va_start(ap, types);
	r = prepare(db, &q->s, sql, types, ap);
	va_end(ap);
	if (r != 0) {
		free(q);
		return r;
	}
	*out = q;
	return 0;
}

int tv_stmt_step(struct tv_stmt *q)
{
	int rc = sqlite3_step(q->s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_err(q->db, "query");
}

int64_t tv_stmt_int(struct tv_stmt *q, int col) { return sqlite3_column_int64(q->s, col); }

const char *tv_stmt_text(struct tv_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q->s, col);
	return t ? (const char *)t : "";
}

int tv_stmt_isnull(struct tv_stmt *q, int col)
{
	return sqlite3_column_type(q->s, col) == SQLITE_NULL;
}

const void *tv_stmt_blob(struct tv_stmt *q, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(q->s, col);
	*len = (size_t)sqlite3_column_bytes(q->s, col);
	return p;
}

void tv_stmt_free(struct tv_stmt *q)
{
	if (q == NULL)
		return;
	sqlite3_finalize(q->s);
	free(q);
}

int tv_db_prepare(struct tv_db *db, struct tv_stmt **out, const char *sql)
{
	struct tv_stmt *q;
	const char *tail = NULL;
	int r;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TV_ERR_NOMEM;
	q->db = db;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->s,
	                       &tail) != SQLITE_OK) {
		free(q);
		return db_err(db, "prepare");
	}
	if ((r = one_statement(&q->s, tail)) != 0) {
		free(q);
		return r;
	}
	*out = q;
	return 0;
}

int tv_stmt_run(struct tv_stmt *q, const char *types, ...)
{
	va_list ap;
	int r, rc;

	sqlite3_reset(q->s);
	va_start(ap, types);
	r = bind_args_how(q->db, q->s, types, ap, SQLITE_STATIC);
	va_end(ap);
	if (r != 0)
		return r;
	rc = sqlite3_step(q->s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			r = constraint_err(q->db);
		else
			r = db_err(q->db, "step");
	}
	sqlite3_reset(q->s);
	sqlite3_clear_bindings(q->s);
	return r;
}

int tv_stmt_bind(struct tv_stmt *q, const char *types, ...)
{
	va_list ap;
	int r;

	sqlite3_reset(q->s);
	sqlite3_clear_bindings(q->s);
	va_start(ap, types);
	r = bind_args(q->db, q->s, types, ap);
	va_end(ap);
	return r;
}

/* Prepares, binds and steps once: 0 with *s on the first row (caller
 * finalizes), TV_ERR_NOTFOUND when there is none, or an error. */
static int first_row(struct tv_db *db, sqlite3_stmt **s, const char *sql,
                     const char *types, va_list ap)
{
	int r, rc;

	if ((r = prepare(db, s, sql, types, ap)) != 0)
		return r;
	rc = sqlite3_step(*s);
	if (rc == SQLITE_ROW)
		return 0;
	r = rc == SQLITE_DONE ? TV_ERR_NOTFOUND : db_err(db, "query");
	sqlite3_finalize(*s);
	*s = NULL;
	return r;
}

int tv_db_get_int(struct tv_db *db, int64_t *out, const char *sql,
                  const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int r;

	va_start(ap, types);
	r = first_row(db, &s, sql, types, ap);
	va_end(ap);
	if (r != 0)
		return r;
	*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

int tv_db_get_text(struct tv_db *db, char *out, size_t outsz, const char *sql,
                   const char *types, ...)
{
	sqlite3_stmt *s;
	const unsigned char *t;
	va_list ap;
	size_t n;
	int r;

	va_start(ap, types);
	r = first_row(db, &s, sql, types, ap);
	va_end(ap);
	if (r != 0)
		return r;
	t = sqlite3_column_text(s, 0);
	n = t ? strlen((const char *)t) : 0;
	if (n >= outsz)
		r = tv_errf(TV_ERR_RANGE, "catalog value too long");
	else
		memcpy(out, t ? (const char *)t : "", n + 1);
	sqlite3_finalize(s);
	return r;
}
