/* tapevault: the job history (the jobs table): one row per job the CLI
 * runs (write, restore, verify, catalog, inventory, decrypt, ...),
 * inserted as 'running' when the job opens the state directory and
 * finished with its result, counts and warnings when it returns. */
#ifndef TV_JOBS_HISTORY_H
#define TV_JOBS_HISTORY_H

#include <stdint.h>

#include "jobs/home.h"

int tv_history_start(struct tv_home *h, const char *kind, const char *args, int64_t *id);
/* result: ok | partial | failed; error: the failure's message or NULL */
int tv_history_end(struct tv_home *h, int64_t id, const char *result, uint64_t files,
                   uint64_t bytes, uint64_t warnings, const char *error);

struct tv_job_row {
	int64_t id;
	const char *kind, *args;
	int64_t started_ms;           /* milliseconds since the epoch */
	int64_t duration_ms;          /* so far, while running; -1 interrupted */
	int64_t files, bytes, warnings;
	const char *result;           /* running | ok | partial | failed | interrupted */
	const char *error;            /* "" when none */
};
typedef int tv_job_fn(void *ctx, const struct tv_job_row *row);
/* Newest first; limit 0: all. */
int tv_history_list(struct tv_home *h, int64_t limit, tv_job_fn *fn, void *ctx);

/* ISO 8601 in UTC, "2026-12-01T10:47:18Z"; "" for 0 (jobs/browse.c). */
void tv_iso8601(int64_t unix_sec, char out[32]);

#endif
