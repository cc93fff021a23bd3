/* tapevault: leases on what several tape servers share (jobs/lease.c).
 *
 * On a shared catalog (PostgreSQL, several homes with one catalog URI: the
 * tape servers of a site) a job takes a lease before it uses a drive, a
 * tape or a media set: a row of the catalog's `reservations` table, keyed
 * by the resource ("drive:LIBID:N", "tape:BARCODE", "ms:ID", "job:UUID"),
 * written on a connection of its own so that it is committed at once and
 * other servers see it while the job's own transaction is still open.  A
 * thread renews this process's leases every TV_LEASE_RENEW seconds; a
 * lease not renewed for TV_LEASE_TTL seconds (its process was killed, its
 * server lost) may be taken by anyone, and is swept (a job's set is then
 * marked failed) by the next process that opens the catalog.  Each process
 * also keeps its server's row of `servers` up to date (last seen).
 *
 * With the embedded SQLite catalog (one server) every call succeeds at
 * once and records nothing: the database's own lock serialises the jobs
 * of one installation. */
#ifndef TV_JOBS_LEASE_H
#define TV_JOBS_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "jobs/home.h"

#define TV_LEASE_TTL 20          /* seconds a lease lives without renewal */
#define TV_LEASE_RENEW 5         /* seconds between renewals */

/* Opens the lease connection when h's catalog is shared, registers this
 * server, sweeps the expired leases and starts the renewer.  job: what this
 * process does ("write", "restore" ...), shown by 'servers'.  No-op (0)
 * for an SQLite catalog.  Call once per process; tv_lease_close ends it
 * (and drops every lease still held). */
int tv_lease_open(struct tv_home *h, const char *job);
void tv_lease_close(void);
/* 1 when leases are in force (a shared catalog, tv_lease_open done). */
int tv_lease_active(void);

/* Takes resource for this process: *got 1 when it is ours now (it was
 * free, expired, or ours already), 0 when another live process holds it
 * (who: its server and job, for a message; may be NULL).  set_uuid (may
 * be NULL): the backup set a "job:" lease stands for. */
int tv_lease_take(const char *resource, const uint8_t *set_uuid, int *got, char *who,
                  size_t whosz);
/* tv_lease_take until the lease is ours: while another job holds it, says
 * once who (what: for the message) and waits, up to TV_LEASE_WAIT_MAX
 * seconds or a stop request. */
#define TV_LEASE_WAIT_MAX 3600
int tv_lease_wait(struct tv_home *h, const char *resource, const uint8_t *set_uuid,
                  const char *what);
/* Gives resource back (no error when it was not held). */
int tv_lease_drop(const char *resource);

/* Expired leases: a job's set not ended is marked failed, the rows go.
 * *swept (may be NULL) gets how many went.  Runs on h's own connection
 * (catalog check, servers) or the lease connection. */
int tv_lease_sweep(struct tv_home *h, uint64_t *swept);

/* ---- 'tapevault servers' ---- */

/* A lease as 'servers' shows it. */
struct tv_lease_row {
	const char *resource;        /* "drive:LIBID:N", "tape:BARCODE", "ms:ID", "job:UUID" */
	const char *job;             /* what its process does ("write" ...) */
	int64_t pid, taken, expires;
};
struct tv_server_row {
	const char *name;            /* host:home */
	const char *host, *home, *version;
	int64_t pid, started, last_seen;
	int live;                    /* seen within TV_LEASE_TTL */
	const struct tv_lease_row *leases;   /* its live leases */
	size_t nleases;
	uint64_t jobs;               /* of them, running jobs */
};
typedef int tv_server_fn(void *ctx, const struct tv_server_row *s);
/* Every tape server of the catalog, after a sweep (*swept: the expired
 * leases released).  TV_ERR_UNSUPPORTED on an embedded (SQLite) catalog:
 * one server, not recorded. */
int tv_servers_list(struct tv_home *h, uint64_t *swept, tv_server_fn *fn, void *ctx);

#endif
