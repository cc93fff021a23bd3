/* tapevault catalog: what both backends share (see db_int.h).  Every
 * public entry point checks its state and goes to the backend through
 * its ops table. */
#include "catalog/catalog.h"
#include "catalog/db_int.h"
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tv_db_is_pg_url(const char *target)
{
	return target != NULL && (strncmp(target, "postgresql://", 13) == 0 ||
	                          strncmp(target, "postgres://", 11) == 0);
}

int tv_db_open(const char *target, int create, struct tv_db **out)
{
	*out = NULL;
	if (tv_db_is_pg_url(target)) {
#ifdef TV_HAVE_LIBPQ
		return tv_db_pg_ops.open(target, create, out);
#else
		return tv_errf(TV_ERR_UNSUPPORTED, "catalog %s: this tapevault was built "
		               "without PostgreSQL support (libpq)", target);
#endif
	}
	return tv_db_sqlite_ops.open(target, create, out);
}

const char *tv_db_backend(struct tv_db *db)
{
	return db->ops->name;
}

int tv_db_snapshot(struct tv_db *db, const char *path)
{
	return db->ops->snapshot(db, path);
}

void tv_db_close(struct tv_db *db)
{
	if (db == NULL)
		return;
	if (db->in_tx)
		tv_db_rollback(db);
	db->ops->close(db);
}

int tv_db_schema_version(struct tv_db *db)
{
	return db->ops->schema_version(db);
}

int tv_db_begin(struct tv_db *db)
{
	int r;

	if (db->in_tx)
		return tv_errf(TV_ERR_STATE, "catalog transaction already open");
	if ((r = db->ops->tx(db, TV_TX_BEGIN)) != 0)
		return r;
	db->in_tx = 1;
	return 0;
}

int tv_db_commit(struct tv_db *db)
{
	int r;

	if (!db->in_tx)
		return tv_errf(TV_ERR_STATE, "no catalog transaction open");
	if ((r = db->ops->tx(db, TV_TX_COMMIT)) != 0)
		return r;
	db->in_tx = 0;
	return 0;
}

void tv_db_rollback(struct tv_db *db)
{
	if (db->in_tx)
		db->ops->tx(db, TV_TX_ROLLBACK);
	db->in_tx = 0;
}

/* Prepares and binds (copying the values): the statement, or an error. */
static int prepare_bound(struct tv_db *db, struct tv_stmt **q, const char *sql,
                         const char *types, va_list ap)
{
	int r;

	if ((r = db->ops->prepare(db, sql, 0, q)) != 0)
		return r;
	if ((r = db->ops->bind(*q, types, ap, 1)) != 0) {
		db->ops->finalize(*q);
		*q = NULL;
	}
	return r;
}

int tv_db_exec(struct tv_db *db, const char *sql, const char *types, ...)
{
	struct tv_stmt *q;
	va_list ap;
	int r;

	va_start(ap, types);
	r = prepare_bound(db, &q, sql, types, ap);
	va_end(ap);
	if (r != 0)
		return r;
	r = db->ops->step(q);
	db->ops->finalize(q);
	return r < 0 ? r : 0;
}

int64_t tv_db_last_id(struct tv_db *db) { return db->ops->last_id(db); }
int tv_db_changes(struct tv_db *db) { return db->ops->changes(db); }

int tv_db_query(struct tv_db *db, struct tv_stmt **out, const char *sql,
                const char *types, ...)
{
	va_list ap;
	int r;

	*out = NULL;
	va_start(ap, types);
	r = prepare_bound(db, out, sql, types, ap);
	va_end(ap);
	return r;
}

int tv_stmt_step(struct tv_stmt *q)
{
	return q->db->ops->step(q);
}

int64_t tv_stmt_int(struct tv_stmt *q, int col) { return q->db->ops->col_int(q, col); }

const char *tv_stmt_text(struct tv_stmt *q, int col)
{
	const char *t = q->db->ops->col_text(q, col);
	return t ? t : "";
}

int tv_stmt_isnull(struct tv_stmt *q, int col) { return q->db->ops->col_isnull(q, col); }

const void *tv_stmt_blob(struct tv_stmt *q, int col, size_t *len)
{
	return q->db->ops->col_blob(q, col, len);
}

void tv_stmt_free(struct tv_stmt *q)
{
	if (q != NULL)
		q->db->ops->finalize(q);
}

int tv_db_prepare(struct tv_db *db, struct tv_stmt **out, const char *sql)
{
	*out = NULL;
	return db->ops->prepare(db, sql, 1, out);
}

int tv_stmt_run(struct tv_stmt *q, const char *types, ...)
{
	const struct tv_db_ops *ops = q->db->ops;
	va_list ap;
	int r;

	va_start(ap, types);
	r = ops->bind(q, types, ap, 0);
	va_end(ap);
	if (r == 0)
		r = ops->step(q);
	ops->reset(q);
	return r < 0 ? r : 0;
}

int tv_stmt_bind(struct tv_stmt *q, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = q->db->ops->bind(q, types, ap, 1);
	va_end(ap);
	return r;
}

/* Prepares, binds and steps once: 0 with *q on the first row (caller
 * frees), TV_ERR_NOTFOUND when there is none, or an error. */
static int first_row(struct tv_db *db, struct tv_stmt **q, const char *sql,
                     const char *types, va_list ap)
{
	int r;

	if ((r = prepare_bound(db, q, sql, types, ap)) != 0)
		return r;
	if ((r = db->ops->step(*q)) == 1)
		return 0;
	db->ops->finalize(*q);
	*q = NULL;
	return r == 0 ? TV_ERR_NOTFOUND : r;
}

int tv_db_get_int(struct tv_db *db, int64_t *out, const char *sql,
                  const char *types, ...)
{
	struct tv_stmt *q;
	va_list ap;
	int r;

	va_start(ap, types);
	r = first_row(db, &q, sql, types, ap);
	va_end(ap);
	if (r != 0)
		return r;
	*out = db->ops->col_int(q, 0);
	db->ops->finalize(q);
	return 0;
}

int tv_db_get_text(struct tv_db *db, char *out, size_t outsz, const char *sql,
                   const char *types, ...)
{
	struct tv_stmt *q;
	const char *t;
	va_list ap;
	size_t n;
	int r = 0;

	va_start(ap, types);
	r = first_row(db, &q, sql, types, ap);
	va_end(ap);
	if (r != 0)
		return r;
	t = db->ops->col_text(q, 0);
	n = t ? strlen(t) : 0;
	if (n >= outsz)
		r = tv_errf(TV_ERR_RANGE, "catalog value too long");
	else
		memcpy(out, t ? t : "", n + 1);
	db->ops->finalize(q);
	return r;
}
