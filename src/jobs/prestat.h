/* tapevault: a directory's entries stat'ed ahead, on a helper thread.
 *
 * An incremental decides from a stat of every item whether it changed;
 * with nothing to read, those stats are nearly all of its time.  The walk
 * pushes a batch for each directory it enters (its sorted names) and asks
 * for entry i when it gets there; a helper thread stats the newest
 * batch's entries ahead of it, in chunks, while the walk decides about
 * the ones already done.  When the walk catches up it takes the next
 * chunk itself.  Batches nest as the walk descends (the helper serves the
 * innermost); the room for their results is kept here, one per depth.  A
 * result older than TV_PRESTAT_FRESH seconds (the walk spent that long on
 * earlier entries) is not given: the walk stats the entry itself.  One
 * walking thread. */
#ifndef TV_JOBS_PRESTAT_H
#define TV_JOBS_PRESTAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

struct tv_prestat;

/* One directory's batch, on the walking thread's stack until popped. */
struct tv_pbatch {
	int dfd;
	int hdfd;                    /* the helper's own descriptor of it, or -1 */
	char *const *names;
	size_t n;
	struct stat *st;             /* n of them (the room of its depth) */
	int *err;                    /* n: 0, or the errno of the stat */
	atomic_uchar *done;          /* one flag per chunk */
	time_t *when;                /* one per chunk: CLOCK_MONOTONIC_COARSE seconds */
	atomic_size_t next;          /* the next entry nobody has taken */
	int users;                   /* the helper inside it (under the mutex) */
	struct tv_pbatch *outer;
};

#define TV_PRESTAT_CHUNK 32
#define TV_PRESTAT_FRESH 2

/* The state, and with `helper` the helper thread (without it, or when it
 * cannot be started, the walking thread takes every chunk itself):
 * TV_ERR_NOMEM or 0. */
int tv_prestat_new(struct tv_prestat **out, int helper);
void tv_prestat_free(struct tv_prestat *p);

/* b becomes the innermost batch: stats of names[0..n) in directory dfd
 * (not following symbolic links), in the room of depth `depth` (a batch
 * of each depth at a time).  TV_ERR_NOMEM or 0. */
int tv_prestat_push(struct tv_prestat *p, struct tv_pbatch *b, int depth, int dfd,
                    char *const *names, size_t n);
/* Entry i of b, stat'ed (waiting for it): its stat, and in *err 0 or the
 * errno of the stat; NULL when the stat is older than TV_PRESTAT_FRESH
 * seconds (then *err is not set). */
const struct stat *tv_prestat_get(struct tv_prestat *p, struct tv_pbatch *b, size_t i,
                                  int *err);
/* b (the innermost) is left: the helper is out of it when this returns. */
void tv_prestat_pop(struct tv_prestat *p, struct tv_pbatch *b);

#endif
