/* tapevault catalog: the backend interface behind catalog.h.
 *
 * One catalog API (catalog.h), two backends: SQLite (db_sqlite.c, the
 * embedded default) and PostgreSQL (db_pg.c, a site's shared catalog).
 * db.c holds what both share (the typed helpers, one-statement calls,
 * transactions' bookkeeping) and calls a backend only through this table,
 * as SQLite calls its VFS.  A backend embeds struct tv_db / struct
 * tv_stmt as its structs' first member.
 *
 * The SQL the jobs write is SQLite's dialect where it is also standard
 * (placeholders '?' and '?N', ON CONFLICT upserts, hex(), group_concat());
 * the PostgreSQL backend rewrites what differs (sqlpg.c) and defines the
 * few SQLite functions the jobs use. */
#ifndef TV_DB_INT_H
#define TV_DB_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

#define TV_DB_OPS_VERSION 1

enum tv_db_tx { TV_TX_BEGIN, TV_TX_COMMIT, TV_TX_ROLLBACK };

struct tv_db_ops {
	int version;                         /* TV_DB_OPS_VERSION */
	const char *name;                    /* "sqlite", "postgresql" */
	/* target: a file path (sqlite) or a libpq URI; runs the migrations */
	int (*open)(const char *target, int create, struct tv_db **out);
	void (*close)(struct tv_db *db);
	int (*schema_version)(struct tv_db *db);
	int (*tx)(struct tv_db *db, enum tv_db_tx what);
	/* one statement (more is TV_ERR_INTERNAL); persistent: reused often */
	int (*prepare)(struct tv_db *db, const char *sql, int persistent,
	               struct tv_stmt **out);
	/* resets the statement and binds; copy: text and blobs are copied
	 * (else used in place until the next step) */
	int (*bind)(struct tv_stmt *q, const char *types, va_list ap, int copy);
	int (*step)(struct tv_stmt *q);      /* 1 row, 0 done, <0 error */
	void (*reset)(struct tv_stmt *q);
	int64_t (*col_int)(struct tv_stmt *q, int col);
	const char *(*col_text)(struct tv_stmt *q, int col);   /* NULL for NULL */
	int (*col_isnull)(struct tv_stmt *q, int col);
	const void *(*col_blob)(struct tv_stmt *q, int col, size_t *len);
	void (*finalize)(struct tv_stmt *q);
	int64_t (*last_id)(struct tv_db *db);
	int (*changes)(struct tv_db *db);
	int (*snapshot)(struct tv_db *db, const char *path);
};

struct tv_db {
	const struct tv_db_ops *ops;
	int in_tx;
	/* A shared catalog's companion (tv_db_attach_local): the home's own
	 * store of the secret tables, owned; NULL when this database holds
	 * them itself.  db.c sends it every statement that names only secret
	 * tables (tv_db_secret_route); last: the database that ran the last
	 * statement, for last_id and changes; shadow_dirty: the catalog
	 * connection's session copy of which tape keys the local store holds
	 * (a temporary table 'tape_keys' without the sealed keys) needs a
	 * refresh before the next statement that joins it. */
	struct tv_db *local;
	struct tv_db *last;
	int shadow_dirty;
	int64_t local_version;       /* the local store's data_version at the last
	                              * refresh: another process or handle of this
	                              * home (the web server's readers, a CLI
	                              * beside the service) wrote keys since */
};

struct tv_stmt {
	struct tv_db *db;
	struct tv_db *via;   /* the database it was prepared through (routing), or NULL */
};

extern const struct tv_db_ops tv_db_sqlite_ops;
#ifdef TV_HAVE_LIBPQ
extern const struct tv_db_ops tv_db_pg_ops;
#endif

/* The SQLite dialect the jobs write, as PostgreSQL takes it (sqlpg.c):
 * '?' and '?N' become '$N', INSERT OR IGNORE an ON CONFLICT DO NOTHING,
 * LIKE an ILIKE (SQLite's LIKE ignores ASCII case); string literals and
 * comments are copied as they are.  DDL (ddl = 1, or a statement that
 * begins with CREATE or ALTER) also maps the column
 * types: INTEGER PRIMARY KEY to an identity column, INTEGER to BIGINT,
 * BLOB to BYTEA, X'..' to a bytea literal, and drops WITHOUT ROWID.
 * Returns a malloc'ed string, or NULL (out of memory, or SQL it cannot
 * carry over: more than 999 placeholders).  *nparams (unless NULL): the
 * highest placeholder number, the count PQexecParams is given. */
char *tv_sql_to_pg(const char *sql, int ddl, int *nparams);

#endif
