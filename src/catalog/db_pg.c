/* tapevault catalog: the PostgreSQL backend (libpq), for a site whose tape
 * servers share one catalog.
 *
 * The jobs' SQL is rewritten once per statement (sqlpg.c) and sent with
 * PQexecParams: integers as int8 and text as text (both in text form),
 * blobs as binary bytea.  Results come as text; bytea columns are decoded
 * on demand.  Inside a transaction every statement runs under a savepoint
 * (SAVEPOINT, the statement, RELEASE sent as one pipeline: one round trip):
 * PostgreSQL aborts a whole transaction at the first error, where SQLite
 * (and the jobs, which expect a duplicate to be reported and the work to
 * go on) fails only the statement.
 *
 * The schema is the SQLite one, rewritten (sqlpg.c, DDL mode), plus the
 * few SQLite functions the jobs call (hex, group_concat); its version is
 * in tv_schema; migrations run under an advisory lock, so tape servers
 * starting together migrate once.
 *
 * A libpq connection serves one request at a time, and the jobs use the
 * catalog from two threads (the write job records placed items on its
 * tape writer's I/O thread): every round trip holds the connection's
 * mutex, as SQLite's FULLMUTEX connections serialise their calls. */
#include "catalog/db_int.h"
#include "catalog/schema.h"
#include "util/err.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_MAX_PARAMS 999

/* SQLite functions the jobs use, as PostgreSQL functions. */
static const char pg_prelude[] =
	"CREATE OR REPLACE FUNCTION hex(bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
	"AS $$ SELECT upper(encode($1, 'hex')) $$;\n"
	"CREATE OR REPLACE FUNCTION tv_group_concat_step(text, text, text) RETURNS text "
	"LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN $2 IS NULL THEN $1 "
	"WHEN $1 IS NULL THEN $2 ELSE $1 || $3 || $2 END $$;\n"
	"CREATE OR REPLACE AGGREGATE group_concat(text, text) "
	"(SFUNC = tv_group_concat_step, STYPE = text);\n"
	"CREATE TABLE tv_schema(version INTEGER NOT NULL);\n"
	"INSERT INTO tv_schema VALUES(0);\n";

/* Secrets stay on each server (catalog.h): whether a tape is locked is each
 * server's own truth (it holds the tape's key in its local store, or not),
 * so the shared 'locked' column holds none: a server that cannot unlock a
 * tape must not make it look locked to the others, nor its contents
 * uncataloged (they are in the catalog, whoever cataloged them).  The
 * catalog keeps locked = 0; each server computes its own (query.c). */
static const char pg_shared_lock[] =
	"CREATE OR REPLACE FUNCTION tv_tapes_shared_lock() RETURNS trigger LANGUAGE plpgsql "
	"AS $$ BEGIN "
	"IF TG_OP = 'UPDATE' AND NEW.locked <> 0 AND NEW.uuid IS NOT DISTINCT FROM OLD.uuid THEN "
	"NEW.contents_cataloged := OLD.contents_cataloged; END IF; "
	"NEW.locked := 0; RETURN NEW; END $$;\n"
	"CREATE TRIGGER tv_tapes_shared_lock BEFORE INSERT OR UPDATE ON tapes "
	"FOR EACH ROW EXECUTE FUNCTION tv_tapes_shared_lock();\n"
	"UPDATE tapes SET locked=0 WHERE locked<>0;\n";

struct pg_db {
	struct tv_db base;
	PGconn *c;
	pthread_mutex_t mu;          /* one round trip at a time */
	int changes;
	int64_t savepoints;
	uint64_t named;              /* server-side prepared statements made */
};

struct pg_stmt {
	struct tv_stmt base;
	char *sql;                   /* rewritten */
	int nparams;
	int txctl;                   /* SAVEPOINT, RELEASE, ROLLBACK ...: not wrapped */
	int persistent;              /* tv_db_prepare'd: run many times (see execute) */
	char name[32];               /* its server-side prepared statement, once made */
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	unsigned oids[PG_MAX_PARAMS];
	char *owned[PG_MAX_PARAMS];  /* copies and number texts, freed at reset */
	PGresult *res;
	int row, nrows, ran;
	unsigned char **blobs;       /* decoded bytea of the current row, per column */
	size_t *blob_len;
	int ncols;
};

static PGconn *C(struct tv_db *db) { return ((struct pg_db *)db)->c; }

static int conn_err(struct tv_db *db, const char *what)
{
	const char *m = PQerrorMessage(C(db));
	size_t n = strlen(m);

	while (n > 0 && m[n - 1] == '\n')
		n--;
	return tv_errf(TV_ERR_DB, "catalog database: %s: %.*s", what, (int)n, m);
}

/* An error result by kind, as the SQLite backend reports them. */
static int result_err(PGresult *res, const char *what)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	int code = TV_ERR_DB;

	if (state != NULL && strncmp(state, "23", 2) == 0) {
		if (strcmp(state, "23505") == 0)
			code = TV_ERR_EXISTS;
		else if (strcmp(state, "23503") == 0)
			code = TV_ERR_STATE;
		else
			code = TV_ERR_INVAL;
		return tv_errf(code, "catalog: %s", m ? m : "constraint failed");
	}
	return tv_errf(code, "catalog database: %s: %s", what, m ? m : "failed");
}

/* Runs SQL without parameters; 0 or an error. */
static int run(struct tv_db *db, const char *sql, const char *what)
{
	PGresult *res = PQexec(C(db), sql);
	int r = 0;

	if (res == NULL)
		return conn_err(db, what);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		r = result_err(res, what);
	PQclear(res);
	return r;
}

static void lock(struct tv_db *db) { pthread_mutex_lock(&((struct pg_db *)db)->mu); }
static void unlock(struct tv_db *db) { pthread_mutex_unlock(&((struct pg_db *)db)->mu); }

static int schema_version(struct tv_db *db)
{
	PGresult *res = PQexec(C(db), "SELECT version FROM tv_schema");
	int v = -1;

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int table_exists(struct tv_db *db, int *yes)
{
	PGresult *res = PQexec(C(db), "SELECT to_regclass('tv_schema') IS NOT NULL");
	int r = 0;

	if (res == NULL)
		return conn_err(db, "schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = result_err(res, "schema");
	else
		*yes = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return r;
}

/* The trigger that keeps the shared 'locked' column at 0 (pg_shared_lock),
 * made once per catalog. */
static int shared_lock(struct tv_db *db)
{
	PGresult *res = PQexec(C(db), "SELECT 1 FROM pg_trigger WHERE tgname = "
	                       "'tv_tapes_shared_lock'");
	int r = 0, have;

	if (res == NULL)
		return conn_err(db, "schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = result_err(res, "schema");
		PQclear(res);
		return r;
	}
	have = PQntuples(res) > 0;
	PQclear(res);
	if (have)
		return 0;
	if ((r = run(db, "BEGIN", "begin")) == 0 &&
	    (r = run(db, pg_shared_lock, "per-server lock state")) == 0)
		r = run(db, "COMMIT", "commit");
	if (r != 0)
		run(db, "ROLLBACK", "rollback");
	return r;
}

/* Brings the schema up to date, once per site: under an advisory lock,
 * each migration in its own transaction. */
static int migrate(struct tv_db *db, int create)
{
	char sql[96];
	int r, v, have = 0;

	/* the advisory lock's key: "tape" */
	if ((r = run(db, "SELECT pg_advisory_lock(1952543845)", "lock for migrations")) != 0)
		return r;
	if ((r = table_exists(db, &have)) != 0)
		goto out;
	if (!have && !create) {
		r = tv_errf(TV_ERR_NOTFOUND, "the PostgreSQL catalog holds no tapevault "
		            "schema (run 'tapevault init --catalog URL' first)");
		goto out;
	}
	if (!have) {
		if ((r = run(db, "BEGIN", "begin")) != 0)
			goto out;
		if ((r = run(db, pg_prelude, "create the schema")) != 0 ||
		    (r = run(db, "COMMIT", "commit")) != 0) {
			run(db, "ROLLBACK", "rollback");
			goto out;
		}
	}
	v = schema_version(db);
	if (v < 0) {
		r = tv_errf(TV_ERR_DB, "catalog database: cannot read the schema version");
		goto out;
	}
	if (v > tv_schema_count) {
		r = tv_errf(TV_ERR_UNSUPPORTED, "catalog schema version %d is newer than this "
		            "tapevault understands (%d): upgrade tapevault", v, tv_schema_count);
		goto out;
	}
	for (; v < tv_schema_count; v++) {
		char *ddl = tv_sql_to_pg(tv_schema_migrations[v], 1, NULL);
		if (ddl == NULL) {
			r = tv_errf(TV_ERR_INTERNAL, "catalog migration %d cannot be carried to "
			            "PostgreSQL", v + 1);
			goto out;
		}
		snprintf(sql, sizeof(sql), "UPDATE tv_schema SET version=%d", v + 1);
		if ((r = run(db, "BEGIN", "begin")) == 0 &&
		    (r = run(db, ddl, "migration")) == 0 &&
		    (r = run(db, sql, "migration")) == 0)
			r = run(db, "COMMIT", "commit");
		free(ddl);
		if (r != 0) {
			run(db, "ROLLBACK", "rollback");
			r = tv_errctx(r, "catalog migration to version %d failed", v + 1);
			goto out;
		}
	}
	if ((r = shared_lock(db)) != 0)
		goto out;
out:
	run(db, "SELECT pg_advisory_unlock(1952543845)", "unlock");
	return r;
}

static int pg_open(const char *url, int create, struct tv_db **out)
{
	struct pg_db *db;
	int r;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return TV_ERR_NOMEM;
	db->base.ops = &tv_db_pg_ops;
	pthread_mutex_init(&db->mu, NULL);
	db->c = PQconnectdb(url);
	if (db->c == NULL) {
		pthread_mutex_destroy(&db->mu);
		free(db);
		return TV_ERR_NOMEM;
	}
	if (PQstatus(db->c) != CONNECTION_OK) {
		r = conn_err(&db->base, "connect");
		goto fail;
	}
	/* a lock held longer than this is a stuck job: fail as SQLite's busy
	 * timeout does, do not wait for ever */
	if ((r = run(&db->base, "SET client_min_messages = warning", "configure")) != 0 ||
	    (r = run(&db->base, "SET lock_timeout = '30s'", "configure")) != 0)
		goto fail;
	if ((r = migrate(&db->base, create)) != 0)
		goto fail;
	*out = &db->base;
	return 0;
fail:
	PQfinish(db->c);
	pthread_mutex_destroy(&db->mu);
	free(db);
	return r;
}

static void pg_close(struct tv_db *db)
{
	PQfinish(C(db));
	pthread_mutex_destroy(&((struct pg_db *)db)->mu);
	free(db);
}

static int pg_schema_version(struct tv_db *db)
{
	int v;

	lock(db);
	v = schema_version(db);
	unlock(db);
	return v;
}

static int pg_tx(struct tv_db *db, enum tv_db_tx what)
{
	static const char *const sql[] = { "BEGIN", "COMMIT", "ROLLBACK" };
	static const char *const name[] = { "begin transaction", "commit", "rollback" };
	int r;

	lock(db);
	r = run(db, sql[what], name[what]);
	unlock(db);
	return r;
}

static void clear_row(struct pg_stmt *q)
{
	int i;

	for (i = 0; q->blobs && i < q->ncols; i++) {
		PQfreemem(q->blobs[i]);
		q->blobs[i] = NULL;
	}
}

static void clear_result(struct pg_stmt *q)
{
	clear_row(q);
	free(q->blobs);
	free(q->blob_len);
	q->blobs = NULL;
	q->blob_len = NULL;
	q->ncols = 0;
	PQclear(q->res);
	q->res = NULL;
	q->row = q->nrows = q->ran = 0;
}

static void clear_params(struct pg_stmt *q)
{
	int i;

	for (i = 0; i < PG_MAX_PARAMS; i++) {
		free(q->owned[i]);
		q->owned[i] = NULL;
		q->values[i] = NULL;
		q->lengths[i] = q->formats[i] = 0;
		q->oids[i] = 0;
	}
}

static int pg_prepare(struct tv_db *db, const char *sql, int persistent,
                      struct tv_stmt **out)
{
	struct pg_stmt *q;
	const char *p;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TV_ERR_NOMEM;
	q->base.db = db;
	q->persistent = persistent;
	if ((q->sql = tv_sql_to_pg(sql, 0, &q->nparams)) == NULL) {
		free(q);
		return tv_errf(TV_ERR_INTERNAL, "catalog: SQL that PostgreSQL cannot take: "
		               "\"%.60s\"", sql);
	}
	/* one statement per call, as for SQLite: a ';' outside quotes with
	 * more after it is a bug */
	for (p = q->sql; *p; p++) {
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				;
			if (!*p)
				break;
		} else if (*p == ';' && p[strspn(p, " \t\n;")] != '\0') {
			int r = tv_errf(TV_ERR_INTERNAL, "catalog: more than one SQL statement in "
			                "one call (\"%.40s\" was not run)", p + 1);
			free(q->sql);
			free(q);
			return r;
		}
	}
	{
		static const char *const ctl[] = { "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN",
		                                   "COMMIT", "END" };
		size_t n = strspn(q->sql, " \t\n"), w = strcspn(q->sql + n, " \t\n;");
		for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
			if (strlen(ctl[i]) == w && strncasecmp(q->sql + n, ctl[i], w) == 0)
				q->txctl = 1;
	}
	*out = &q->base;
	return 0;
}

static int pg_bind(struct tv_stmt *qq, const char *types, va_list ap, int copy)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;
	int i;

	clear_result(q);
	clear_params(q);
	for (i = 0; types != NULL && types[i] != '\0'; i++) {
		char num[32];
		if (i >= PG_MAX_PARAMS)
			return tv_errf(TV_ERR_INTERNAL, "catalog: too many values");
		switch (types[i]) {
		case 'i':
		case 'u':
			if (types[i] == 'i')
				snprintf(num, sizeof(num), "%lld", (long long)va_arg(ap, int64_t));
			else
				snprintf(num, sizeof(num), "%u", va_arg(ap, unsigned));
			if ((q->owned[i] = strdup(num)) == NULL)
				return TV_ERR_NOMEM;
			q->values[i] = q->owned[i];
			q->oids[i] = 20;   /* int8 */
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);
			if (t != NULL && copy) {
				if ((q->owned[i] = strdup(t)) == NULL)
					return TV_ERR_NOMEM;
				t = q->owned[i];
			}
			q->values[i] = t;
			q->oids[i] = 25;   /* text */
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			if (p != NULL) {
				if (n > 0x7fffffff)
					return tv_errf(TV_ERR_RANGE, "catalog: value too large");
				if (copy || n == 0) {
					if ((q->owned[i] = malloc(n ? n : 1)) == NULL)
						return TV_ERR_NOMEM;
					memcpy(q->owned[i], p, n);
					p = q->owned[i];
				}
				q->values[i] = p;
				q->lengths[i] = (int)n;
				q->formats[i] = 1;
				q->oids[i] = 17;   /* bytea */
			}
			break;
		}
		case 'n':
			break;
		default:
			return tv_errf(TV_ERR_INTERNAL, "bad bind type '%c'", types[i]);
		}
	}
	return 0;
}

/* SAVEPOINT, the statement and RELEASE in one round trip (libpq's pipeline
 * mode): three round trips per row made a catalog rebuild 22 times slower
 * than with SQLite (bench/catalog_pg.sh).  *failed: the statement failed
 * (its error result is q->res), so the savepoint is still there to roll
 * back to.  Returns an error of the connection or of the savepoint. */
static int pipelined(struct pg_db *db, struct pg_stmt *q, int *failed)
{
	PGconn *c = db->c;
	PGresult *res[3] = { NULL, NULL, NULL }, *x;
	int r = 0;

	*failed = 0;
	if (!PQenterPipelineMode(c))
		return conn_err(&db->base, "pipeline");
	if (!PQsendQueryParams(c, "SAVEPOINT tv_stmt", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryParams(c, q->sql, q->nparams, q->oids, q->values, q->lengths,
	                       q->formats, 0) ||
	    !PQsendQueryParams(c, "RELEASE SAVEPOINT tv_stmt", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQpipelineSync(c))
		r = conn_err(&db->base, "query");
	/* each command's result, then NULL; then the sync */
	for (int i = 0; i < 3 && r == 0; i++) {
		if ((res[i] = PQgetResult(c)) == NULL) {
			r = conn_err(&db->base, "query");
			break;
		}
		while ((x = PQgetResult(c)) != NULL)
			PQclear(x);
	}
	while ((x = PQgetResult(c)) != NULL) {
		int sync = PQresultStatus(x) == PGRES_PIPELINE_SYNC;
		PQclear(x);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(c) && r == 0)
		r = conn_err(&db->base, "pipeline");
	if (r == 0 && PQresultStatus(res[0]) != PGRES_COMMAND_OK)
		r = result_err(res[0], "savepoint");
	if (r == 0) {
		ExecStatusType st = PQresultStatus(res[1]);
		q->res = res[1];
		res[1] = NULL;
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
			*failed = 1;
		else if (PQresultStatus(res[2]) != PGRES_COMMAND_OK)
			r = result_err(res[2], "savepoint");
	}
	for (int i = 0; i < 3; i++)
		PQclear(res[i]);
	return r;
}

/* Runs the statement: under a savepoint inside a transaction, so that a
 * failed statement does not abort the transaction. */
static int execute(struct pg_stmt *q)
{
	struct pg_db *db = (struct pg_db *)q->base.db;
	/* a job's own savepoints are not nested in ours: releasing ours would
	 * release them with it */
	int sp = db->base.in_tx && !q->txctl && !q->persistent, r = 0, failed = 0;
	ExecStatusType st;

	lock(&db->base);
	if (q->persistent && !q->txctl) {
		/* a statement a job runs once per row (the rows of a tape's items):
		 * parsed and planned once on the server, and run without a
		 * savepoint of its own, since a savepoint per row is a
		 * subtransaction per row.  Its callers treat a failure as the end
		 * of their unit of work, which they roll back (a job's own
		 * savepoint, or the transaction), so an error here may leave the
		 * transaction aborted until they do. */
		if (q->name[0] == '\0') {
			PGresult *pr;
			char name[32];
			snprintf(name, sizeof(name), "tv_p%llu", (unsigned long long)++db->named);
			pr = PQprepare(db->c, name, q->sql, q->nparams, q->oids);
			if (pr == NULL || PQresultStatus(pr) != PGRES_COMMAND_OK) {
				r = pr ? result_err(pr, "prepare") : conn_err(&db->base, "prepare");
				PQclear(pr);
				unlock(&db->base);
				return r;
			}
			PQclear(pr);
			memcpy(q->name, name, sizeof(name));
		}
		q->res = PQexecPrepared(db->c, q->name, q->nparams, q->values, q->lengths,
		                        q->formats, 0);
		q->ran = 1;
	} else if (sp) {
		q->ran = 1;
		if ((r = pipelined(db, q, &failed)) != 0) {
			unlock(&db->base);
			return r;
		}
		sp = failed;   /* only a failed statement's savepoint is left */
	} else {
		q->res = PQexecParams(db->c, q->sql, q->nparams, q->oids, q->values, q->lengths,
		                      q->formats, 0);
		q->ran = 1;
	}
	if (q->res == NULL) {
		r = conn_err(&db->base, "query");
		goto out;
	}
	st = PQresultStatus(q->res);
	if (st == PGRES_TUPLES_OK) {
		q->nrows = PQntuples(q->res);
		q->ncols = PQnfields(q->res);
		q->blobs = calloc((size_t)q->ncols + 1, sizeof(*q->blobs));
		q->blob_len = calloc((size_t)q->ncols + 1, sizeof(*q->blob_len));
		if (q->blobs == NULL || q->blob_len == NULL)
			r = TV_ERR_NOMEM;
		db->changes = 0;
	} else if (st == PGRES_COMMAND_OK) {
		db->changes = atoi(PQcmdTuples(q->res));
	} else {
		r = result_err(q->res, "query");
	}
out:
	if (sp)   /* the statement failed: what it began is undone, the transaction goes on */
		run(&db->base, "ROLLBACK TO SAVEPOINT tv_stmt", "savepoint");
	unlock(&db->base);
	return r;
}

static int pg_step(struct tv_stmt *qq)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;
	int r;

	if (!q->ran) {
		if ((r = execute(q)) != 0)
			return r;
		q->row = -1;
	}
	clear_row(q);
	if (q->res == NULL || q->row + 1 >= q->nrows)
		return 0;
	q->row++;
	return 1;
}

static void pg_reset(struct tv_stmt *qq)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;

	clear_result(q);
	clear_params(q);
}

static int valid_col(struct pg_stmt *q, int col)
{
	return q->res != NULL && q->row >= 0 && q->row < q->nrows && col >= 0 && col < q->ncols;
}

static int64_t pg_col_int(struct tv_stmt *qq, int col)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;
	const char *v;

	if (!valid_col(q, col) || PQgetisnull(q->res, q->row, col))
		return 0;
	v = PQgetvalue(q->res, q->row, col);
	if (v[0] == 't' && v[1] == '\0')   /* a boolean, as SQLite's 1 */
		return 1;
	if (v[0] == 'f' && v[1] == '\0')
		return 0;
	return strtoll(v, NULL, 10);
}

static const char *pg_col_text(struct tv_stmt *qq, int col)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;

	if (!valid_col(q, col) || PQgetisnull(q->res, q->row, col))
		return NULL;
	return PQgetvalue(q->res, q->row, col);
}

static int pg_col_isnull(struct tv_stmt *qq, int col)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;

	return !valid_col(q, col) || PQgetisnull(q->res, q->row, col);
}

static const void *pg_col_blob(struct tv_stmt *qq, int col, size_t *len)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;

	*len = 0;
	if (!valid_col(q, col) || PQgetisnull(q->res, q->row, col))
		return NULL;
	if (q->blobs[col] == NULL) {
		q->blobs[col] = PQunescapeBytea((const unsigned char *)
		                                PQgetvalue(q->res, q->row, col),
		                                &q->blob_len[col]);
		if (q->blobs[col] == NULL)
			return NULL;
	}
	*len = q->blob_len[col];
	return q->blobs[col];
}

static void pg_finalize(struct tv_stmt *qq)
{
	struct pg_stmt *q = (struct pg_stmt *)qq;

	if (q->name[0] != '\0') {
		/* outside a failed transaction; in one, the server drops nothing,
		 * and the name is never used again */
		char sql[64];
		lock(q->base.db);
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", q->name);
		PQclear(PQexec(C(q->base.db), sql));
		unlock(q->base.db);
	}
	clear_result(q);
	clear_params(q);
	free(q->sql);
	free(q);
}

static int64_t pg_last_id(struct tv_db *db)
{
	PGresult *res;
	int64_t id = 0;

	lock(db);
	res = PQexec(C(db), "SELECT lastval()");
	unlock(db);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

static int pg_changes(struct tv_db *db) { return ((struct pg_db *)db)->changes; }

static int pg_snapshot(struct tv_db *db, const char *path)
{
	(void)db;
	return tv_errf(TV_ERR_UNSUPPORTED, "a copy of a PostgreSQL catalog into %s: use "
	               "pg_dump (the site's database backup)", path);
}

const struct tv_db_ops tv_db_pg_ops = {
	.version = TV_DB_OPS_VERSION,
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.tx = pg_tx,
	.prepare = pg_prepare,
	.bind = pg_bind,
	.step = pg_step,
	.reset = pg_reset,
	.col_int = pg_col_int,
	.col_text = pg_col_text,
	.col_isnull = pg_col_isnull,
	.col_blob = pg_col_blob,
	.finalize = pg_finalize,
	.last_id = pg_last_id,
	.changes = pg_changes,
	.snapshot = pg_snapshot,
};
