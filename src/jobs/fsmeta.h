/* tapevault: what a file system holds besides the bytes and stat's
 * numbers: owner and group names, extended attributes (which carry POSIX
 * ACLs, SELinux labels and file capabilities), sparse files' holes, FIFOs
 * and device nodes.  Captured from disk by the write job (jobs/write.c),
 * applied by restore (jobs/restore.c); docs/FORMAT.md 10.4 and 10.5 say
 * how they are stored.
 *
 * One struct tv_fsmeta per job holds the name caches (one getpwuid or
 * getgrgid per distinct id, one getpwnam or getgrnam per distinct name, so
 * many small files cost a hash lookup each) and the buffers reused for
 * every item. */
#ifndef TV_FSMETA_H
#define TV_FSMETA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "format/format.h"
#include "jobs/home.h"

struct tv_fsmeta;

struct tv_fsmeta_opts {
	int no_xattrs;               /* capture / apply no extended attributes */
	int numeric_owner;           /* restore: the stored ids, not the names */
};
int tv_fsmeta_new(struct tv_fsmeta **out, struct tv_home *h,
                  const struct tv_fsmeta_opts *o);
void tv_fsmeta_free(struct tv_fsmeta *m);

/* ---- capture (write) ---- */

/* The names of uid and gid on this machine ("" when they have none);
 * valid until tv_fsmeta_free. */
const char *tv_fsmeta_uname(struct tv_fsmeta *m, uid_t uid);
const char *tv_fsmeta_gname(struct tv_fsmeta *m, gid_t gid);

/* The extended attributes of an item into list (emptied first), as an
 * xattr list (tv_xattr_put): of the open file fd, or, when fd < 0, of
 * name in directory dfd without following a symbolic link.  Every
 * namespace the process may read is taken (trusted.* only as root).  One
 * that cannot be read, or a list over TV_XATTR_LIST_MAX, is named (src)
 * and counted in *problems; the item is then stored without it.  Returns
 * 0, or TV_ERR_NOMEM. */
int tv_fsmeta_xattrs(struct tv_fsmeta *m, int fd, int dfd, const char *name,
                     const char *src, struct tv_buf *list, uint64_t *problems);

/* The data regions of the open regular file fd (sb: its lstat) into map
 * (emptied first; tv_sparse_put), at most TV_SPARSE_MAX of them (the
 * smallest holes are filled in when there are more).  *sparse = 0 when
 * the file has no hole: a file whose blocks cover its size costs no
 * system call, another one lseek.  Else *sparse = 1 and *data = the bytes
 * in the regions.  The file offset is left at 0.  Returns 0 (a file
 * system that cannot tell gives *sparse = 0). */
int tv_fsmeta_sparse(struct tv_fsmeta *m, int fd, const struct stat *sb,
                     struct tv_buf *map, int *sparse, uint64_t *data);

/* ---- the names a backup set's catalog keeps (one per id and kind) ----
 * The catalog database keeps an owner's and a group's name once per set
 * (set_names), not in every row; these tables carry them between the
 * database and the rows (group: 0 owner, 1 group). */
int tv_fsmeta_name_add(struct tv_fsmeta *m, int group, uint32_t id, const char *name);
/* The name added for id, or "" */
const char *tv_fsmeta_name_of(struct tv_fsmeta *m, int group, uint32_t id);
/* Every name met by tv_fsmeta_uname/gname so far (those that exist), to
 * fn; stops at fn's first error. */
int tv_fsmeta_names_each(struct tv_fsmeta *m, int (*fn)(void *ctx, int group, uint32_t id,
                                                         const char *name), void *ctx);

/* ---- apply (restore) ---- */

/* The owner or group to give an item: the id the stored name has on this
 * machine (tar's rule), or the stored id when the name is empty or
 * unknown here, or with numeric_owner. */
uid_t tv_fsmeta_uid(struct tv_fsmeta *m, const char *uname, uint64_t uid);
gid_t tv_fsmeta_gid(struct tv_fsmeta *m, const char *gname, uint64_t gid);

/* An item's metadata as restore applies it. */
struct tv_fsmeta_item {
	const char *path;            /* where it is (named in messages) */
	enum tv_ftype ftype;
	uint64_t mode, uid, gid;     /* gid/uid: as stored */
	const char *uname, *gname;   /* as stored, may be "" or NULL */
	int64_t mtime_sec;
	uint64_t mtime_nsec;
	const uint8_t *xattrs;       /* xattr list, may be NULL */
	size_t xattrs_len;
};

/* Owner (as root), mode (setuid/setgid bits again after the owner; never
 * on a symbolic link), extended attributes (security.capability last:
 * changing the owner clears it), then times, in that order (tar's), on
 * the open file fd, or when fd < 0 on it->path, not following a symbolic
 * link there.  Owner, mode or times that cannot be set are named; each
 * extended attribute the file system refuses is named with the reason.
 * Returns how many were refused (0: all set), or a negative error
 * (TV_ERR_FORMAT for a malformed list). */
int tv_fsmeta_apply(struct tv_fsmeta *m, int fd, const struct tv_fsmeta_item *it);

/* Makes the FIFO or device node name in directory dfd, with the
 * permission bits of mode (the owner and the rest: tv_fsmeta_apply).
 * TV_ERR_PERM, named, for a device when not root. */
int tv_fsmeta_mknod(int dfd, const char *name, const char *full, enum tv_ftype t,
                    uint64_t mode, uint64_t major, uint64_t minor);

#endif
