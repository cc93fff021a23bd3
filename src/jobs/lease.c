/* tapevault: leases on what several tape servers share (see lease.h). */
#include "jobs/lease.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/rand.h"
#include "jobs/jobs.h"
#include "util/err.h"
#include "util/stop.h"

static struct {
	pthread_mutex_t mu;          /* the fields below and the connection */
	pthread_cond_t cv;
	unsigned users;              /* tv_lease_open calls not yet closed */
	struct tv_db *db;            /* the lease connection: autocommit */
	char owner[200];             /* host:pid:random, this process */
	char server[PATH_MAX + 160]; /* host:home, this tape server */
	char job[32];
	pthread_t thr;
	int thr_started, quit;
} L = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* The catalog URI of a home whose catalog is kept elsewhere, or "". */
static void catalog_url(const struct tv_home *h, char *url, size_t n)
{
	char path[PATH_MAX + 32];
	FILE *f;

	url[0] = '\0';
	snprintf(path, sizeof(path), "%s/catalog.url", h->dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(url, (int)n, f) == NULL)
		url[0] = '\0';
	url[strcspn(url, "\n")] = '\0';
	fclose(f);
}

static void *renewer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&L.mu);
	while (!L.quit) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += TV_LEASE_RENEW;
		while (!L.quit && pthread_cond_timedwait(&L.cv, &L.mu, &ts) != ETIMEDOUT)
			;
		if (L.quit)
			break;
		int64_t now = (int64_t)tv_now();
		/* a failure is retried at the next turn; the lease lives TTL */
		(void)tv_db_exec(L.db, "UPDATE reservations SET expires=? WHERE owner=?", "it",
		                 now + TV_LEASE_TTL, L.owner);
		(void)tv_db_exec(L.db, "UPDATE servers SET last_seen=? WHERE name=?", "it", now,
		                 L.server);
	}
	pthread_mutex_unlock(&L.mu);
	return NULL;
}

static int sweep_on(struct tv_db *db, uint64_t *swept)
{
	int64_t now = (int64_t)tv_now();
	int r;

	if (swept != NULL)
		*swept = 0;
	/* the set of a job whose process is gone: failed, not running */
	if ((r = tv_db_exec(db, "UPDATE backup_sets SET state='failed' WHERE state IS NULL AND "
	                    "uuid IN (SELECT set_uuid FROM reservations WHERE set_uuid IS NOT "
	                    "NULL AND expires<?)", "i", now)) != 0 ||
	    (r = tv_db_exec(db, "DELETE FROM reservations WHERE expires<?", "i", now)) != 0)
		return r;
	if (swept != NULL)
		*swept = (uint64_t)tv_db_changes(db);
	return 0;
}

int tv_lease_sweep(struct tv_home *h, uint64_t *swept)
{
	int r;

	pthread_mutex_lock(&L.mu);
	r = sweep_on(L.db != NULL ? L.db : h->db, swept);
	pthread_mutex_unlock(&L.mu);
	return r;
}

int tv_lease_open(struct tv_home *h, const char *job)
{
	char url[PATH_MAX + 32], host[128] = "localhost", rnd[8];
	int64_t now = (int64_t)tv_now();
	uint64_t swept = 0;
	int r;

	pthread_mutex_lock(&L.mu);
	if (L.users++ > 0) {
		pthread_mutex_unlock(&L.mu);
		return 0;
	}
	catalog_url(h, url, sizeof(url));
	if (!tv_db_is_pg_url(url)) {
		pthread_mutex_unlock(&L.mu);
		return 0;   /* the embedded catalog: one server */
	}
	if ((r = tv_db_open(url, 0, &L.db)) != 0) {
		L.users--;
		pthread_mutex_unlock(&L.mu);
		return tv_errctx(r, "the shared catalog, for leases");
	}
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if ((r = tv_random(rnd, sizeof(rnd))) != 0)
		goto fail;
	snprintf(L.owner, sizeof(L.owner), "%s:%ld:%02x%02x%02x%02x%02x%02x%02x%02x", host,
	         (long)getpid(), (unsigned char)rnd[0], (unsigned char)rnd[1],
	         (unsigned char)rnd[2], (unsigned char)rnd[3], (unsigned char)rnd[4],
	         (unsigned char)rnd[5], (unsigned char)rnd[6], (unsigned char)rnd[7]);
	snprintf(L.server, sizeof(L.server), "%s:%s", host, h->dir);
	snprintf(L.job, sizeof(L.job), "%s", job);
	if ((r = tv_db_exec(L.db, "INSERT INTO servers(name, host, home, pid, version, started,"
	                    " last_seen) VALUES(?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
	                    " pid=excluded.pid, version=excluded.version,"
	                    " last_seen=excluded.last_seen", "tttitii", L.server, host, h->dir,
	                    (int64_t)getpid(), TV_VERSION, now, now)) != 0 ||
	    (r = sweep_on(L.db, &swept)) != 0)
		goto fail;
	if (swept > 0)
		tv_info(h, "%llu lease(s) of tape servers' jobs that stopped without ending were "
		        "released (their sets, if any, are marked failed)", (unsigned long long)swept);
	L.quit = 0;
	if (pthread_create(&L.thr, NULL, renewer, NULL) != 0) {
		r = tv_errf(TV_ERR_INTERNAL, "cannot start the lease renewer: %s", strerror(errno));
		goto fail;
	}
	L.thr_started = 1;
	pthread_mutex_unlock(&L.mu);
	return 0;
fail:
	tv_db_close(L.db);
	L.db = NULL;
	L.users--;
	pthread_mutex_unlock(&L.mu);
	return r;
}

void tv_lease_close(void)
{
	pthread_mutex_lock(&L.mu);
	if (L.users == 0 || --L.users > 0 || L.db == NULL) {
		pthread_mutex_unlock(&L.mu);
		return;
	}
	L.quit = 1;
	pthread_cond_broadcast(&L.cv);
	pthread_mutex_unlock(&L.mu);
	if (L.thr_started)
		pthread_join(L.thr, NULL);
	L.thr_started = 0;
	pthread_mutex_lock(&L.mu);
	(void)tv_db_exec(L.db, "DELETE FROM reservations WHERE owner=?", "t", L.owner);
	(void)tv_db_exec(L.db, "UPDATE servers SET last_seen=? WHERE name=?", "it",
	                 (int64_t)tv_now(), L.server);
	tv_db_close(L.db);
	L.db = NULL;
	pthread_mutex_unlock(&L.mu);
}

int tv_lease_active(void)
{
	int a;

	pthread_mutex_lock(&L.mu);
	a = L.db != NULL;
	pthread_mutex_unlock(&L.mu);
	return a;
}

int tv_lease_take(const char *resource, const uint8_t *set_uuid, int *got, char *who,
                  size_t whosz)
{
	int64_t now = (int64_t)tv_now();
	int r;

	*got = 1;
	if (who != NULL && whosz > 0)
		who[0] = '\0';
	pthread_mutex_lock(&L.mu);
	if (L.db == NULL) {
		pthread_mutex_unlock(&L.mu);
		return 0;
	}
	/* free, expired, or ours: one statement, so two servers never both win */
	r = tv_db_exec(L.db, "INSERT INTO reservations(resource, owner, server, pid, job, set_uuid,"
	               " taken, expires) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(resource) DO UPDATE"
	               " SET owner=excluded.owner, server=excluded.server, pid=excluded.pid,"
	               " job=excluded.job, set_uuid=excluded.set_uuid, taken=excluded.taken,"
	               " expires=excluded.expires WHERE reservations.expires<? OR"
	               " reservations.owner=?", "tttitbiiit", resource, L.owner, L.server,
	               (int64_t)getpid(), L.job, set_uuid, set_uuid != NULL ? (size_t)16 : 0,
	               now, now + TV_LEASE_TTL, now, L.owner);
	if (r == 0) {
		*got = tv_db_changes(L.db) > 0;
		if (!*got && who != NULL)
			(void)tv_db_get_text(L.db, who, whosz, "SELECT 'server ' || server || ' (' ||"
			                     " job || ', pid ' || pid || ')' FROM reservations WHERE"
			                     " resource=?", "t", resource);
	}
	pthread_mutex_unlock(&L.mu);
	return r;
}

int tv_lease_wait(struct tv_home *h, const char *resource, const uint8_t *set_uuid,
                  const char *what)
{
	char who[400];
	int got, said = 0, r;

	for (unsigned waited = 0;; waited += 2) {
		if ((r = tv_lease_take(resource, set_uuid, &got, who, sizeof(who))) != 0 || got)
			return r;
		if (!said++)
			tv_info(h, "waiting for %s: %s holds it", what, who[0] ? who : "another job");
		if (tv_stop_requested())
			return TV_ERR_INTERRUPTED;
		if (waited >= TV_LEASE_WAIT_MAX)
			return tv_errf(TV_ERR_STATE, "%s stayed in use by %s for %d s: try again "
			               "later ('tapevault servers' shows the running jobs)", what, who,
			               TV_LEASE_WAIT_MAX);
		sleep(2);
	}
}

int tv_lease_drop(const char *resource)
{
	int r = 0;

	pthread_mutex_lock(&L.mu);
	if (L.db != NULL)
		r = tv_db_exec(L.db, "DELETE FROM reservations WHERE resource=? AND owner=?", "tt",
		               resource, L.owner);
	pthread_mutex_unlock(&L.mu);
	return r;
}

/* ---- 'tapevault servers' ---- */

int tv_servers_list(struct tv_home *h, uint64_t *swept, tv_server_fn *fn, void *ctx)
{
	char url[PATH_MAX + 32];
	struct tv_stmt *q = NULL, *lq = NULL;
	struct tv_lease_row *rows = NULL;
	int64_t now = (int64_t)tv_now();
	int r;

	*swept = 0;
	catalog_url(h, url, sizeof(url));
	if (!tv_db_is_pg_url(url))
		return tv_errf(TV_ERR_UNSUPPORTED, "this installation's catalog is its own (SQLite): "
		               "it is the only tape server ('init --catalog postgresql://...' makes "
		               "a catalog several servers share)");
	if ((r = tv_lease_sweep(h, swept)) != 0)
		return r;
	if ((r = tv_db_query(h->db, &q, "SELECT name, host, home, COALESCE(pid,0), version, "
	                     "started, last_seen FROM servers ORDER BY name", "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_server_row s;
		size_t cap = 0;
		memset(&s, 0, sizeof(s));
		s.name = tv_stmt_text(q, 0);
		s.host = tv_stmt_text(q, 1);
		s.home = tv_stmt_text(q, 2);
		s.pid = tv_stmt_int(q, 3);
		s.version = tv_stmt_text(q, 4);
		s.started = tv_stmt_int(q, 5);
		s.last_seen = tv_stmt_int(q, 6);
		s.live = now - s.last_seen <= TV_LEASE_TTL;
		if ((r = tv_db_query(h->db, &lq, "SELECT resource, job, pid, taken, expires FROM "
		                     "reservations WHERE server=? AND expires>=? ORDER BY resource",
		                     "ti", s.name, now)) != 0)
			break;
		/* the texts live as long as lq: rows are read whole, then shown */
		while ((r = tv_stmt_step(lq)) == 1) {
			if (s.nleases == cap) {
				struct tv_lease_row *n;
				cap = cap ? cap * 2 : 8;
				if ((n = realloc(rows, cap * sizeof(*n))) == NULL) {
					r = TV_ERR_NOMEM;
					break;
				}
				rows = n;
			}
			rows[s.nleases].resource = strdup(tv_stmt_text(lq, 0));
			rows[s.nleases].job = strdup(tv_stmt_text(lq, 1));
			rows[s.nleases].pid = tv_stmt_int(lq, 2);
			rows[s.nleases].taken = tv_stmt_int(lq, 3);
			rows[s.nleases].expires = tv_stmt_int(lq, 4);
			if (rows[s.nleases].resource == NULL || rows[s.nleases].job == NULL) {
				free((void *)rows[s.nleases].resource);
				free((void *)rows[s.nleases].job);
				r = TV_ERR_NOMEM;
				break;
			}
			s.jobs += strncmp(rows[s.nleases].resource, "job:", 4) == 0;
			s.nleases++;
		}
		tv_stmt_free(lq);
		lq = NULL;
		if (r >= 0) {
			s.leases = rows;
			r = fn(ctx, &s);
		}
		for (size_t k = 0; k < s.nleases; k++) {
			free((void *)rows[k].resource);
			free((void *)rows[k].job);
		}
		if (r != 0)
			break;
	}
	tv_stmt_free(q);
	free(rows);
	return r < 0 ? r : 0;
}
