/* tapevault: 'catalog check', the consistency of the catalog.
 *
 * Each check is one query whose rows are problems, described in words;
 * the database's own integrity and foreign keys are checked first.  A
 * catalog rebuilt from a part of a media set (one tape of three) is
 * consistent: what is merely not known yet is not a problem. */
#ifndef TV_JOBS_CHECK_H
#define TV_JOBS_CHECK_H

#include <stdint.h>

#include "jobs/home.h"

struct tv_check_counts {
	int64_t tapes, media_sets, sets, files, problems;
};

/* Calls problem(ctx, check, detail) for every problem found (at most
 * `limit` per check, 0: 100); fills *n.  Returns 0 when the checks ran (the
 * problems are in n->problems), else the error that stopped them. */
int tv_catalog_check(struct tv_home *h, unsigned limit,
                     void (*problem)(void *ctx, const char *check, const char *detail),
                     void *ctx, struct tv_check_counts *n);

#endif
