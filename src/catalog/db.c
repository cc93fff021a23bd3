/* tapevault catalog: what both backends share (see db_int.h).  Every
 * public entry point checks its state and goes to the backend through
 * its ops table. */
#include "catalog/catalog.h"
#include "catalog/db_int.h"
#include "util/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	struct tv_db *local;

	if (db == NULL)
		return;
	if (db->in_tx)
		tv_db_rollback(db);
	local = db->local;
	db->ops->close(db);
	tv_db_close(local);
}

/* ---- secrets on each server (catalog.h) ---- */

/* The tables that hold a server's secrets, or name its own key sources. */
static const char *const secret_tables[] = {
	"passwords", "tape_keys", "kms_servers", "kms_keys", "escrow_requests",
};
enum { SECRET_TAPE_KEYS = 1 << 1 };

static int secret_index(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(secret_tables) / sizeof(secret_tables[0]); i++)
		if (strlen(secret_tables[i]) == n && strncasecmp(secret_tables[i], w, n) == 0)
			return (int)i;
	return -1;
}

static int word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/* What a statement names: *secret, a bit per secret table anywhere in it;
 * *shared, 1 when a table it reads or writes (after FROM, JOIN, INTO,
 * UPDATE, TABLE) is another; *reads, 1 when it is a SELECT (or WITH).
 * String literals, quoted names and comments are skipped. */
static void sql_names(const char *sql, unsigned *secret, int *shared, int *reads)
{
	const char *p = sql;
	int want_table = 0, first = 1;

	*secret = 0;
	*shared = 0;
	*reads = 0;
	while (*p) {
		if (*p == '\'' || *p == '"') {
			char qc = *p++;
			while (*p && *p != qc)
				p++;
			if (*p)
				p++;
			want_table = 0;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			const char *w = p;
			size_t n;
			int si;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			n = (size_t)(p - w);
			if (*p == '.' && want_table) {   /* schema.table: the table follows */
				p++;
				continue;
			}
			if (first) {
				*reads = word_is(w, n, "SELECT") || word_is(w, n, "WITH");
				first = 0;
			}
			si = secret_index(w, n);
			if (si >= 0)
				*secret |= 1u << si;
			if (want_table) {
				if (si < 0 && !word_is(w, n, "SET") && !word_is(w, n, "OR") &&
				    !word_is(w, n, "IGNORE") && !word_is(w, n, "INTO") &&
				    !word_is(w, n, "TABLE"))
					*shared = 1;
				want_table = word_is(w, n, "OR") || word_is(w, n, "IGNORE") ||
				             word_is(w, n, "INTO") || word_is(w, n, "TABLE");
			} else {
				want_table = word_is(w, n, "FROM") || word_is(w, n, "JOIN") ||
				             word_is(w, n, "INTO") || word_is(w, n, "UPDATE") ||
				             word_is(w, n, "TABLE");
			}
		} else {
			if (!isspace((unsigned char)*p))
				want_table = 0;
			p++;
		}
	}
}

/* The session copy of which tapes this server holds keys for, on the
 * catalog's connection (PostgreSQL: a temporary table, seen by this
 * connection only, that hides the shared table of the same name): tape
 * UUID, key fingerprint, how it was got; never the sealed key. */
static const char shadow_ddl[] =
	"CREATE TEMP TABLE IF NOT EXISTS tape_keys(tape_uuid BLOB PRIMARY KEY, "
	"dek_fpr BLOB NOT NULL, source TEXT NOT NULL, created INTEGER NOT NULL)";
static const char shadow_fill[] =
	"INSERT INTO pg_temp.tape_keys(tape_uuid, dek_fpr, source, created) "
	"SELECT decode(split_part(x, ':', 1), 'hex'), decode(split_part(x, ':', 2), 'hex'), "
	"convert_from(decode(split_part(x, ':', 3), 'hex'), 'UTF8'), "
	"CAST(split_part(x, ':', 4) AS BIGINT) FROM unnest(string_to_array(?, ',')) AS x";

/* Runs one statement on db itself (no routing). */
static int exec_here(struct tv_db *db, const char *sql, const char *types, ...);

/* A growing text: raw bytes (hex = 0) or their hex digits (hex = 1). */
struct text {
	char *p;
	size_t len, cap;
};

static int text_put(struct text *t, const void *p, size_t n, int hex)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t need = t->len + (hex ? 2 * n : n) + 1;

	if (need > t->cap) {
		size_t nc = t->cap ? t->cap : 4096;
		char *np;
		while (nc < need)
			nc *= 2;
		if ((np = realloc(t->p, nc)) == NULL)
			return TV_ERR_NOMEM;
		t->p = np;
		t->cap = nc;
	}
	for (size_t i = 0; i < n; i++) {
		if (hex) {
			t->p[t->len++] = hx[b[i] >> 4];
			t->p[t->len++] = hx[b[i] & 15];
		} else {
			t->p[t->len++] = (char)b[i];
		}
	}
	t->p[t->len] = '\0';
	return 0;
}

/* Refreshes the session copy from the local store in one round trip:
 * rows as "uuid:fingerprint:source:created" (hex, hex, hex, decimal). */
static int shadow_sync(struct tv_db *db)
{
	struct tv_db *lo = db->local;
	struct tv_stmt *q = NULL;
	struct text t = { NULL, 0, 0 };
	char num[32];
	int r;

	if ((r = exec_here(db, "DELETE FROM pg_temp.tape_keys", "")) != 0)
		return r;
	if ((r = lo->ops->prepare(lo, "SELECT tape_uuid, dek_fpr, source, created FROM tape_keys",
	                          0, &q)) != 0)
		return r;
	while ((r = lo->ops->step(q)) == 1) {
		size_t un, fn;
		const void *u = lo->ops->col_blob(q, 0, &un);
		const void *f = lo->ops->col_blob(q, 1, &fn);
		const char *src = lo->ops->col_text(q, 2);
		if (u == NULL || f == NULL)
			continue;
		if (src == NULL)
			src = "";
		snprintf(num, sizeof(num), ":%lld", (long long)lo->ops->col_int(q, 3));
		if ((t.len > 0 && (r = text_put(&t, ",", 1, 0)) != 0) ||
		    (r = text_put(&t, u, un, 1)) != 0 || (r = text_put(&t, ":", 1, 0)) != 0 ||
		    (r = text_put(&t, f, fn, 1)) != 0 || (r = text_put(&t, ":", 1, 0)) != 0 ||
		    (r = text_put(&t, src, strlen(src), 1)) != 0 ||
		    (r = text_put(&t, num, strlen(num), 0)) != 0)
			break;
	}
	lo->ops->finalize(q);
	if (r == 0 && t.len > 0)
		r = exec_here(db, shadow_fill, "t", t.p);
	free(t.p);
	if (r == 0)
		db->shadow_dirty = 0;
	return r < 0 ? r : 0;
}

int tv_db_attach_local(struct tv_db *db, struct tv_db *local)
{
	int r;

	if (db->local != NULL || local == NULL || local->local != NULL || local == db)
		return tv_errf(TV_ERR_INTERNAL, "catalog: a local store is attached once");
	if (strcmp(db->ops->name, "postgresql") != 0)
		return tv_errf(TV_ERR_INTERNAL, "catalog: only a shared catalog has a local store");
	if ((r = exec_here(db, shadow_ddl, "")) != 0)
		return r;
	db->local = local;
	db->shadow_dirty = 1;
	return 0;
}

struct tv_db *tv_db_local(struct tv_db *db)
{
	return db->local != NULL ? db->local : db;
}

int tv_db_shared(struct tv_db *db)
{
	return db->local != NULL;
}

/* SQLite's data_version of the local store: it moves when another
 * connection (another process, or another handle of this home) committed a
 * change to it; -1 when it cannot be read (then every join refreshes). */
static int64_t local_version(struct tv_db *lo)
{
	struct tv_stmt *q = NULL;
	int64_t v = -1;

	if (lo->ops->prepare(lo, "PRAGMA data_version", 0, &q) != 0)
		return -1;
	if (lo->ops->step(q) == 1)
		v = lo->ops->col_int(q, 0);
	lo->ops->finalize(q);
	return v;
}

/* The database a statement runs on (catalog.h: secrets on each server). */
static int route(struct tv_db *db, const char *sql, struct tv_db **to)
{
	unsigned secret;
	int shared, reads, r;

	*to = db;
	if (db->local == NULL)
		return 0;
	sql_names(sql, &secret, &shared, &reads);
	if (secret == 0)
		return 0;
	if (!shared) {
		*to = db->local;
		if ((secret & SECRET_TAPE_KEYS) && !reads)
			db->shadow_dirty = 1;
		return 0;
	}
	if (secret == SECRET_TAPE_KEYS && reads) {
		/* which tapes this server holds keys for, joined with the catalog */
		int64_t v = local_version(db->local);
		if (v < 0 || v != db->local_version)
			db->shadow_dirty = 1;
		if (db->shadow_dirty && (r = shadow_sync(db)) != 0)
			return r;
		db->local_version = v;
		return 0;
	}
	return tv_errf(TV_ERR_INTERNAL, "catalog: a statement that mixes this server's secret "
	               "tables with the shared catalog (\"%.60s\"): secrets stay on each server",
	               sql);
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

/* Notes the database a statement given to db runs on. */
static void ran_on(struct tv_db *db, struct tv_db *to)
{
	if (db->local != NULL)
		db->last = to;
}

static int exec_here(struct tv_db *db, const char *sql, const char *types, ...)
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

int tv_db_exec(struct tv_db *cat, const char *sql, const char *types, ...)
{
	struct tv_stmt *q;
	struct tv_db *db;
	va_list ap;
	int r;

	int own_tx = 0;

	if ((r = route(cat, sql, &db)) != 0)
		return r;
	ran_on(cat, db);
	/* a secret written to the local store is committed now, whatever reads
	 * of it this process has open: in autocommit mode SQLite would hold
	 * the write back until every statement of the connection is done (a
	 * long-lived process, the web server, kept a decrypted tape's key from
	 * a CLI beside it); an explicit COMMIT does not wait for readers */
	if (db != cat && !db->in_tx) {
		if ((r = db->ops->tx(db, TV_TX_BEGIN)) != 0)
			return r;
		own_tx = 1;
	}
	va_start(ap, types);
	r = prepare_bound(db, &q, sql, types, ap);
	va_end(ap);
	if (r == 0) {
		r = db->ops->step(q);
		db->ops->finalize(q);
	}
	if (own_tx) {
		int c = r >= 0 ? db->ops->tx(db, TV_TX_COMMIT) : 0;
		if (r < 0 || c != 0)
			db->ops->tx(db, TV_TX_ROLLBACK);
		if (c != 0)
			r = c;
	}
	return r < 0 ? r : 0;
}

int64_t tv_db_last_id(struct tv_db *db)
{
	struct tv_db *on = db->last != NULL ? db->last : db;
	return on->ops->last_id(on);
}

int tv_db_changes(struct tv_db *db)
{
	struct tv_db *on = db->last != NULL ? db->last : db;
	return on->ops->changes(on);
}

int tv_db_query(struct tv_db *cat, struct tv_stmt **out, const char *sql,
                const char *types, ...)
{
	struct tv_db *db;
	va_list ap;
	int r;

	*out = NULL;
	if ((r = route(cat, sql, &db)) != 0)
		return r;
	ran_on(cat, db);
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

int tv_db_prepare(struct tv_db *cat, struct tv_stmt **out, const char *sql)
{
	struct tv_db *db;
	int r;

	*out = NULL;
	if ((r = route(cat, sql, &db)) != 0)
		return r;
	if ((r = db->ops->prepare(db, sql, 1, out)) == 0 && cat->local != NULL)
		(*out)->via = cat;
	return r;
}

int tv_stmt_run(struct tv_stmt *q, const char *types, ...)
{
	const struct tv_db_ops *ops = q->db->ops;
	va_list ap;
	int r;

	if (q->via != NULL)
		ran_on(q->via, q->db);
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
static int first_row(struct tv_db *cat, struct tv_stmt **q, const char *sql,
                     const char *types, va_list ap)
{
	struct tv_db *db;
	int r;

	*q = NULL;
	if ((r = route(cat, sql, &db)) != 0)
		return r;
	ran_on(cat, db);
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
	*out = q->db->ops->col_int(q, 0);
	q->db->ops->finalize(q);
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
	t = q->db->ops->col_text(q, 0);
	n = t ? strlen(t) : 0;
	if (n >= outsz)
		r = tv_errf(TV_ERR_RANGE, "catalog value too long");
	else
		memcpy(out, t ? t : "", n + 1);
	q->db->ops->finalize(q);
	return r;
}
