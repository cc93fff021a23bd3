/* tapevault: the catalog database (SQLite).
 *
 * Thin layer over sqlite3: open with schema migrations (versioned by
 * PRAGMA user_version), foreign keys on, WAL, a busy timeout; typed
 * binding helpers so the jobs never build SQL with string formatting.
 *
 * Binding type strings: one character per argument:
 *   'i' int64_t     'u' unsigned (promoted)   't' const char * (NULL = NULL)
 *   'b' const void *, size_t (blob; NULL pointer = NULL)   'n' NULL */
#ifndef TV_CATALOG_H
#define TV_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct tv_db;
struct tv_stmt;

#define TV_DB_SCHEMA_VERSION 12

/* target: a SQLite file, or a PostgreSQL URI (a site's shared catalog) */
int tv_db_open(const char *target, int create, struct tv_db **out);
/* 1 when target names a PostgreSQL catalog (postgresql:// or postgres://) */
int tv_db_is_pg_url(const char *target);
const char *tv_db_lib_version(void);   /* the SQLite library in use */
/* "sqlite" or "postgresql": the backend db runs on */
const char *tv_db_backend(struct tv_db *db);
/* A consistent copy of the whole catalog into a new file at path. */
int tv_db_snapshot(struct tv_db *db, const char *path);
void tv_db_close(struct tv_db *db);
int tv_db_schema_version(struct tv_db *db);

/* Secrets stay on each server.  A shared catalog (PostgreSQL: several
 * tape servers) never holds a server's secret tables: passwords,
 * tape_keys, kms_servers, kms_keys, escrow_requests.  Each home keeps them
 * in a local SQLite store (HOME/local.db, mode 0600, the same schema)
 * attached to the catalog: db takes ownership of local.  From then on
 * every statement given to db that names only secret tables runs on the
 * local store (so the jobs' SQL is unchanged); one that joins tape_keys
 * with shared tables (a SELECT) runs on the catalog against a session-only
 * copy of which tapes this server holds keys for (uuid, fingerprint,
 * source: no sealed key); any other mix of secret and shared tables is
 * refused (TV_ERR_INTERNAL).  The local store is not part of the catalog's
 * transactions: a secret is committed when written, so a key is stored
 * before the catalog refers to it.  With SQLite, catalog and secrets are
 * one database and nothing is attached. */
#define TV_DB_LOCAL_FILE "local.db"   /* in the home */
int tv_db_attach_local(struct tv_db *db, struct tv_db *local);
/* The database that holds the secret tables: the attached local store, or
 * db itself. */
struct tv_db *tv_db_local(struct tv_db *db);
/* 1 when db is a shared catalog with a local store attached: whether a
 * tape is locked is then this server's truth (its encrypted tapes it
 * holds no key for), not the catalog's 'locked' column. */
int tv_db_shared(struct tv_db *db);

int tv_db_begin(struct tv_db *db);
int tv_db_commit(struct tv_db *db);
void tv_db_rollback(struct tv_db *db);

/* Every call takes one SQL statement (more is TV_ERR_INTERNAL, a bug:
 * nothing is run in part).  A constraint failure is
 * TV_ERR_EXISTS for a duplicate (UNIQUE, PRIMARY KEY), TV_ERR_STATE for a
 * FOREIGN KEY, TV_ERR_INVAL for CHECK and NOT NULL.
 *
 * Run a statement that returns no rows. */
int tv_db_exec(struct tv_db *db, const char *sql, const char *types, ...);
int64_t tv_db_last_id(struct tv_db *db);
int tv_db_changes(struct tv_db *db);

/* Query: tv_stmt_step returns 1 for a row, 0 when done, <0 on error. */
int tv_db_query(struct tv_db *db, struct tv_stmt **q, const char *sql,
                const char *types, ...);
int tv_stmt_step(struct tv_stmt *q);
int64_t tv_stmt_int(struct tv_stmt *q, int col);
const char *tv_stmt_text(struct tv_stmt *q, int col);   /* "" for NULL */
int tv_stmt_isnull(struct tv_stmt *q, int col);
const void *tv_stmt_blob(struct tv_stmt *q, int col, size_t *len);
void tv_stmt_free(struct tv_stmt *q);

/* Prepared once, run many times (hot paths: one row per stored file).
 * tv_stmt_run resets the statement, binds (text and blobs are used in
 * place: valid for the call only) and steps it to completion; 0 or an
 * error (constraint failures as for tv_db_exec).  tv_stmt_bind resets and binds
 * for a query to step through. */
int tv_db_prepare(struct tv_db *db, struct tv_stmt **q, const char *sql);
int tv_stmt_run(struct tv_stmt *q, const char *types, ...);
int tv_stmt_bind(struct tv_stmt *q, const char *types, ...);

/* Single-value helpers: TV_ERR_NOTFOUND when no row. */
int tv_db_get_int(struct tv_db *db, int64_t *out, const char *sql,
                  const char *types, ...);
/* Copies text of first column into out (truncation is an error). */
int tv_db_get_text(struct tv_db *db, char *out, size_t outsz, const char *sql,
                   const char *types, ...);

#endif
