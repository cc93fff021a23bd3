/* tapevault: a directory's entries stat'ed on two threads.
 *
 * An incremental decides from a stat of every item whether it changed;
 * with nothing to read, those stats are nearly all of its time.  A
 * helper thread takes half of each batch (chunks handed out from one
 * counter, so the faster thread takes more), while the calling thread
 * does the rest: a tree's stats take about half the time.  One batch at a
 * time, from one calling thread. */
#ifndef TV_JOBS_PRESTAT_H
#define TV_JOBS_PRESTAT_H

#include <stddef.h>
#include <sys/stat.h>

struct tv_prestat;

/* The helper thread, started; without one (it could not be started),
 * *out is NULL and every batch runs on the calling thread alone. */
void tv_prestat_new(struct tv_prestat **out);
void tv_prestat_free(struct tv_prestat *p);

/* st[i] and err[i] (0, or the errno of a failed stat) for every names[i]
 * in directory dfd, not following symbolic links.  p may be NULL. */
void tv_prestat_run(struct tv_prestat *p, int dfd, char *const *names, size_t n,
                    struct stat *st, int *err);

#endif
