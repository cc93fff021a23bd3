#ifndef TV_RESTORE_INT_H
#define TV_RESTORE_INT_H
#include <stddef.h>
#include <stdint.h>
struct tv_home;
/* 1 when p is a relative path without empty, "." or ".." components */
int tv_restore_safe_path(const char *p);
/* The chain of set set_id: itself, then its parents down to a full (ids
 * and media sets, newest first: *chain and *ms, the caller's to free, also
 * after an error).  For a set below a full (*n > 1), the tree as it was at
 * that backup is put in the connection's temp.rsel(p, sid, sidx): per
 * path, the newest item of the chain, less what a later set recorded
 * deleted (docs/FORMAT.md 11.4).  A parent not in the catalog, or a
 * chain that loops, is an error naming it. */
int tv_set_chain(struct tv_home *h, int64_t set_id, int64_t **chain, int64_t **ms,
                 size_t *n);
#endif
