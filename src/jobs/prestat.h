/* tapevault: a directory's entries stat'ed ahead, on a helper thread.
 *
 * An incremental decides from a stat of every item whether it changed;
 * with nothing to read, those stats are nearly all of its time.  The walk
 * pushes a batch for each directory it enters (its sorted names) and asks
 * for entry i when it gets there; a helper thread stats the newest
 * batch's entries ahead of it, in chunks, while the walk decides about
 * the ones already done.  When the walk catches up it takes the next
 * chunk itself.  Batches nest as the walk descends (the helper serves the
 * innermost), and each chunk records when it was taken, so an entry met
 * long after its stat can be stat'ed again.  One walking thread. */
#ifndef TV_JOBS_PRESTAT_H
#define TV_JOBS_PRESTAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

struct tv_prestat;

/* One directory's batch, the walking thread's (on its stack); its arrays
 * stay valid until it is popped. */
struct tv_pbatch {
	int dfd;
	int hdfd;                    /* the helper's own descriptor of it, or -1 */
	char *const *names;
	size_t n;
	struct stat *st;             /* n of them */
	int *err;                    /* n: 0, or the errno of the stat */
	atomic_uchar *done;          /* one flag per chunk */
	time_t *when;                /* one per chunk: CLOCK_MONOTONIC_COARSE seconds */
	atomic_size_t next;          /* the next entry nobody has taken */
	int users;                   /* the helper inside it (under the mutex) */
	struct tv_pbatch *outer;
};

#define TV_PRESTAT_CHUNK 32

/* The chunks of n entries. */
static inline size_t tv_prestat_chunks(size_t n)
{
	return (n + TV_PRESTAT_CHUNK - 1) / TV_PRESTAT_CHUNK;
}

/* The helper thread, started; without one (it could not be started),
 * *out is NULL and the walking thread takes every chunk itself. */
void tv_prestat_new(struct tv_prestat **out);
void tv_prestat_free(struct tv_prestat *p);

/* b becomes the innermost batch: stats of names[0..n) in directory dfd
 * (not following symbolic links) into st and err; done and when hold
 * tv_prestat_chunks(n) elements.  p may be NULL. */
void tv_prestat_push(struct tv_prestat *p, struct tv_pbatch *b, int dfd, char *const *names,
                     size_t n, struct stat *st, int *err, atomic_uchar *done, time_t *when);
/* Entry i of b is stat'ed: on return st[i] and err[i] hold its result,
 * taken at when[i / TV_PRESTAT_CHUNK]. */
void tv_prestat_wait(struct tv_prestat *p, struct tv_pbatch *b, size_t i);
/* b (the innermost) is left: the helper is out of it when this returns. */
void tv_prestat_pop(struct tv_prestat *p, struct tv_pbatch *b);

#endif
