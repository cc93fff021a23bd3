/* tapevault: small, careful file helpers shared by the tape and library
 * layers (sidecars, library.json, moving cartridge images).
 *
 * Internal to src/tape and src/library.  Every failure returns a TV_ERR_*
 * code with a detail naming the file and the errno text. */
#ifndef TV_TAPE_TFILE_H
#define TV_TAPE_TFILE_H

#include <stddef.h>
#include <sys/types.h>

/* fsync the directory that holds `path` (a file path, not the directory
 * itself), so a create/rename/unlink in it is durable. */
int tv_tfile_fsync_parent(const char *path);
/* fsync a directory given by its own path. */
int tv_tfile_fsync_dir(const char *dir);

/* Replace `path` atomically with `len` bytes: write a temporary file in the
 * same directory, fsync it, rename it over `path`, fsync the directory.
 * Readers see the old or the new content, never a mix. */
int tv_tfile_write_atomic(const char *path, const void *data, size_t len,
                          mode_t mode);

/* Read a whole (small) file into a fresh NUL-terminated buffer.  Files
 * larger than `max` are refused (TV_ERR_FORMAT): the file may come from
 * anywhere and memory must stay bounded.  TV_ERR_NOTFOUND if it does not
 * exist.  Caller frees *data. */
int tv_tfile_read_small(const char *path, size_t max, char **data, size_t *len);

/* Move a file to `dst`, never replacing an existing `dst`
 * (TV_ERR_EXISTS).  Same file system: rename.  Across file systems: copy
 * to a temporary name next to dst, fsync, rename into place, fsync the
 * directory, then unlink the source.  Durable on return. */
int tv_tfile_move(const char *src, const char *dst);

/* Copy a file to `dst` (never replacing it), fsync'ed.  The source stays. */
int tv_tfile_copy(const char *src, const char *dst);

/* mkdir -p with `mode` for the created components. */
int tv_tfile_mkdirs(const char *dir, mode_t mode);

/* 1 if path exists (any type, symlinks not followed), 0 if not, or an
 * error code when that cannot be told (e.g. EACCES). */
int tv_tfile_exists(const char *path);

/* snprintf into buf; TV_ERR_RANGE with a detail when it does not fit. */
int tv_tfile_path(char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
