/* tapevault: retention (issue 11 item 4).  A pool keeps its media sets for
 * its retention (pool create/set --retention DURATION; none: for ever);
 * a media set expires when its newest backup set is older than that.
 * expire frees the expired media sets: their backup sets leave the
 * catalog, their tapes become free tapes of the pool (a write labels them
 * anew), the media set is closed, and the audit log says so.  A retired
 * tape is never written again (its data stays restorable until it
 * expires). */
#ifndef TV_JOBS_RETENTION_H
#define TV_JOBS_RETENTION_H

#include <stdint.h>

#include "format/format.h"
#include "jobs/home.h"

/* "30d", "12h", "90m", "10s", "2w", a number of seconds; "keep" (or
 * "none", "0") is 0: for ever.  TV_ERR_INVAL with a detail. */
int tv_duration_parse(const char *s, int64_t *secs);
/* "30d" style, the largest unit that divides it; "keep" for 0. */
void tv_duration_str(int64_t secs, char *out, size_t outsz);

/* secs 0: keep for ever.  TV_ERR_NOTFOUND when there is no such pool. */
int tv_pool_set_retention(struct tv_home *h, const char *pool, int64_t secs);

struct tv_expiry {
	const char *pool;
	const uint8_t *media_set_uuid;   /* 16 bytes */
	int64_t newest;               /* its newest backup set (unix seconds) */
	int64_t expired;              /* when it expired: newest + retention */
	int64_t sets;                 /* backup sets it holds */
	const char *tapes;            /* barcodes by sequence, ','-separated */
};
typedef int tv_expiry_fn(void *ctx, const struct tv_expiry *e);
/* Every media set expired at now: fn, then (unless dry_run) freed, each
 * in its own transaction.  *n: how many. */
int tv_expire(struct tv_home *h, int dry_run, int64_t now, tv_expiry_fn *fn, void *ctx,
              int *n);

/* Never write the tape again.  TV_ERR_NOTFOUND when not in the catalog. */
int tv_tape_retire(struct tv_home *h, const char *barcode);

/* tape erase: the cartridge is rewound and erased (blank: its labels are
 * gone) and the catalog forgets what was on it.  A tape whose media set
 * has not expired and holds backup sets (or is locked: its contents are
 * not known) is refused with TV_ERR_STATE unless force.  confirm (may be
 * NULL) is asked after the check, before anything is done: 0 gives
 * TV_ERR_CANCELED.  Sets that lived only on the tape leave the catalog;
 * a set that spans it and other tapes stays, incomplete (a tape missing);
 * the media set is closed; the tape becomes a blank free tape (of no pool;
 * a retired one stays retired).  Audited. */
struct tv_erase_opts {
	int force;
	int64_t now;
	int (*confirm)(void *ctx, const char *question);
	void *confirm_ctx;
};
struct tv_erase_set {
	int64_t id;
	char uuid[37];
	char name[TV_NAME_MAX];
	int only_here;            /* 1: left the catalog; 0: now incomplete */
};
struct tv_erase_result {
	int64_t tape_id, ms_id, seq;
	char state[16], pool[TV_NAME_MAX];
	uint8_t tape_uuid[16];
	int has_uuid, locked, ms_open, expired, unexpired;
	struct tv_erase_set *sets;   /* tv_erase_result_free */
	size_t nsets;
};
int tv_job_tape_erase(struct tv_home *h, const char *barcode, const struct tv_erase_opts *o,
                      struct tv_erase_result *res);
void tv_erase_result_free(struct tv_erase_result *res);

#endif
