/* tapevault: the tree an incremental compares with.
 *
 * The parent set's tree as the catalog recorded it, its chain merged (a
 * differential's is its full; an incremental's, every set down to the
 * full): for each item its type, size, times and inode.  The write job's
 * walk asks, item by item, whether the item is as recorded (then the
 * earlier set's copy stands for it), and at the end which items it never
 * met (deleted since).
 *
 * The tree loads on a thread of its own while the walk runs: the later
 * sets of the chain first (they are small), then the full's rows in the
 * order the walk meets them, each published as it is merged; the walk
 * waits only when it is ahead of the loading, or when an item is not
 * where the order says (a new file: then it waits for the whole tree and
 * looks the item up).  Items are known by a keyed 64-bit hash of their
 * paths (see ptree.c), 64 bytes an item. */
#ifndef TV_JOBS_PTREE_H
#define TV_JOBS_PTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct tv_db;
struct tv_ptree;

/* Starts loading the tree of the chain (set ids, the full first) from db,
 * room made for `rows` items (more still fit, more slowly).  db is used
 * from the loading thread until tv_ptree_wait: its calls must be
 * serialised (both backends are). */
int tv_ptree_start(struct tv_db *db, const int64_t *chain, size_t n, uint64_t rows,
                   struct tv_ptree **out);

/* 1 when the item at path (stat sb) is as the tree recorded it, 0 when
 * not (new, changed, of several names), < 0 an error (of the loading). */
int tv_ptree_unchanged(struct tv_ptree *pt, const char *path, const struct stat *sb);

/* The loading done: 0, or its error.  Before anything that could undo
 * what its queries read (a rollback). */
int tv_ptree_wait(struct tv_ptree *pt);

/* The paths of the items the walk did not meet, sorted, each once (the
 * caller frees each and the array); read back from their rows in db. */
int tv_ptree_deleted(struct tv_ptree *pt, char ***paths, size_t *n);

/* Items in the tree (deleted ones not counted), and how long the loading
 * took; after tv_ptree_wait. */
uint64_t tv_ptree_items(const struct tv_ptree *pt);
double tv_ptree_load_seconds(const struct tv_ptree *pt);

/* Stops the loading (if it still runs) and frees pt; NULL is fine. */
void tv_ptree_free(struct tv_ptree *pt);

#endif
