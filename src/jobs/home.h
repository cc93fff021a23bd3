/* tapevault: the installation state directory ("home") and job context.
 *
 *   HOME/catalog.db      the catalog (SQLite)
 *   HOME/keys/           the key store (master key, mode 0700/0600)
 *   HOME/log/jobs.log    job log (never secrets)                      */
#ifndef TV_HOME_H
#define TV_HOME_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "crypto/rand.h"   /* tv_uuid_to_str */
#include "util/progress.h"

struct tv_keystore;
struct tv_keyctx;

struct tv_home {
	char dir[PATH_MAX];
	struct tv_db *db;
	struct tv_keystore *ks;
	int verbose, quiet, json;
	int assume_yes;
	FILE *log;
	char job[64];            /* current job name for the log */
	struct tv_keyctx *kc;    /* per-process key caches (jobs/keys.c) */
	void *kms;               /* open KMS connections (jobs/kmsglue.c) */
	/* what the current job did, for the job history (jobs/history.h):
	 * warnings counts tv_warn calls; jobs that know add their items and
	 * bytes */
	uint64_t warnings, job_files, job_bytes;
	/* a watcher of the running job besides the terminal (the web server's
	 * job table, web/webjobs.c); NULL: none.  progress_fn is called by
	 * tv_progress_start/update (what, bytes done, total or 0), warn_fn by
	 * tv_warn with the message; both on the job's thread. */
	void (*progress_fn)(void *ctx, const char *what, uint64_t done, uint64_t total);
	void (*warn_fn)(void *ctx, const char *msg);
	void (*item_fn)(void *ctx, const char *name);   /* tv_progress_item's item */
	void *watch_ctx;
	/* whose tapes and backup files the command accepts besides this
	 * installation's and the trusted ones (jobs/writer.h): fingerprints the
	 * operator gave (--trust-writer), and how to ask (NULL: no terminal) */
	char *const *trust_writer;
	size_t ntrust_writer;
	int (*ask_writer)(void *ctx, const char *question);
	void *ask_ctx;
};

/* --home option, else $TAPEVAULT_HOME, else (as root) /var/lib/tapevault,
 * else $XDG_DATA_HOME/tapevault, else ~/.local/share/tapevault. */
#define TV_HOME_SYSTEM "/var/lib/tapevault"
int tv_home_resolve(const char *opt, char *out, size_t outsz);
/* Create the state directory, catalog and key store. */
int tv_home_init(const char *dir, const char *catalog_url);
/* 1 when dir holds an installation (its catalog, or a catalog.url naming
 * one kept elsewhere), else 0 */
int tv_home_exists(const char *dir);
/* The same; a home whose catalog is gone but whose key store and identity
 * are there gets a new catalog and keeps them (*kept_keys = 1, may be NULL):
 * the lost-catalog recovery.  Keys are made first and the catalog, under a
 * temporary name, last: a failed init leaves no catalog behind. */
int tv_home_init_report(const char *dir, const char *catalog_url, int *kept_keys);
int tv_home_open(const char *dir, struct tv_home **out);
void tv_home_close(struct tv_home *h);
/* After a job that may have added many items to the catalog (a catalog
 * run, a large write): on PostgreSQL the planner's statistics of the
 * files table are taken again (ANALYZE, a sample: a fraction of a second
 * at 1M items).  Autovacuum may not have come yet, and without them a
 * query of 1M items can take a plan several times slower.  A failure is a
 * warning; SQLite needs nothing. */
void tv_home_refresh_stats(struct tv_home *h);

/* Messages: info goes to stderr unless quiet; verbose only with -v; log
 * lines go to the job log (and to stderr with -v). */
void tv_info(struct tv_home *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tv_verbose(struct tv_home *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tv_warn(struct tv_home *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tv_log(struct tv_home *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress on stderr when it is a terminal (and not quiet). */
struct tv_progress {
	struct tv_home *h;
	const char *what;
	uint64_t total, done;
	double last;
	int active;                  /* updates are wanted: a terminal or a watcher */
	int tty;                     /* shown on stderr */
	uint64_t item;               /* items begun (tv_progress_item) */
	struct tv_prog bar;          /* the line on stderr (util/progress.h) */
};
void tv_progress_start(struct tv_progress *p, struct tv_home *h, const char *what,
                       uint64_t total);
void tv_progress_update(struct tv_progress *p, uint64_t done);
void tv_progress_end(struct tv_progress *p);
/* An item begins (its name shown on the line; counted): done as for
 * update.  total_items: how many there are, when known (0: not). */
void tv_progress_item(struct tv_progress *p, uint64_t done, const char *name);
void tv_progress_items(struct tv_progress *p, uint64_t total_items);

uint64_t tv_now(void);   /* unix seconds */
void tv_hex(const uint8_t *p, size_t n, char *out);  /* out: 2n+1 */

#endif
