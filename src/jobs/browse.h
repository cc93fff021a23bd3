/* tapevault: browsing the catalog without reading a tape: the items of a
 * backup set (files), every stored version of paths across sets (find),
 * and what a restore would read (restore --dry-run).
 *
 * Selection, for files and restore --dry-run, is restore's: a PATH names
 * itself and everything under it; a GLOB is a shell pattern (fnmatch with
 * FNM_PATHNAME: '*' stays within one component) that selects what it
 * matches and everything under that.  For find, a GLOB with a '/' is
 * matched against whole stored paths, one without against the last
 * component (as find -name).  A leading '/' is ignored either way (stored
 * paths have none).  The catalog is read over the range of paths that
 * starts with a pattern's literal prefix (an index), so a pattern with
 * one answers in time independent of the catalog's size.
 *
 * A pattern that matches nothing is named (tv_warn) and the call returns
 * TV_ERR_NOTFOUND once the rest is listed. */
#ifndef TV_JOBS_BROWSE_H
#define TV_JOBS_BROWSE_H

#include <stddef.h>
#include <stdint.h>

#include "jobs/history.h"   /* tv_iso8601 */
#include "jobs/home.h"

/* An item as the catalog has it.  Strings are valid during the callback. */
struct tv_item {
	const char *path;             /* stored path (no leading '/') */
	int ftype;                    /* TV_FT_* (format/format.h) */
	uint32_t mode;                /* permission bits */
	int64_t uid, gid;
	const char *owner, *group;    /* names stored with the set; "" when none */
	int64_t mtime_sec, mtime_nsec;
	int64_t size;
	const char *link;             /* symlink target, hard link's first name; "" */
	/* the set it belongs to */
	const uint8_t *set_uuid;      /* 16 bytes */
	const char *set_name;
	int64_t set_created;          /* unix seconds */
	/* find and restore --dry-run: the tapes holding its data, by sequence
	 * (none for items restored from the catalog alone) */
	const char *const *tapes;
	size_t ntapes;
};
typedef int tv_item_fn(void *ctx, const struct tv_item *it);

/* The set as resolved (SET: id, prefix of it, or name). */
struct tv_set_ref {
	uint8_t uuid[16];
	char name[256];
	int64_t created;
};

/* The set SET names. */
int tv_set_ref_get(struct tv_home *h, const char *set, struct tv_set_ref *ref);
/* An item's kind in words, as --json and the REST API give it ("file",
 * "directory", "symlink", "hardlink", "fifo", "char", "block"; "?"). */
const char *tv_item_type_name(int ftype);

/* files SET [GLOB...]: fn per selected item, in stored order (with globs:
 * by path).  ref (may be NULL) gets the set. */
int tv_browse_files(struct tv_home *h, const char *set, char *const *globs, size_t nglobs,
                    tv_item_fn *fn, void *ctx, struct tv_set_ref *ref);

/* find GLOB... [--set SET]: every stored version, by path then set. */
int tv_browse_find(struct tv_home *h, char *const *globs, size_t nglobs, const char *set,
                   tv_item_fn *fn, void *ctx);

/* restore --dry-run: the items restore would restore (fn, like files),
 * then each tape it would read (tape_fn), in media set order. */
struct tv_plan_tape {
	int64_t seq;                  /* in the set's media set */
	const char *barcode;          /* "" when the catalog knows no tape there */
	const char *library;          /* "" when in none (exported) */
	const char *where;            /* "library LIB, slot 3" (drive 0, mail slot 1),
	                               * "exported", "not in library LIB", "unknown tape ..." */
	int locked, encrypted;
	uint64_t items;               /* selected items with data on it */
};
typedef int tv_plan_tape_fn(void *ctx, const struct tv_plan_tape *t);
int tv_restore_plan(struct tv_home *h, const char *set, char *const *paths, size_t npaths,
                    tv_item_fn *fn, tv_plan_tape_fn *tape_fn, void *ctx,
                    struct tv_set_ref *ref);

#endif
