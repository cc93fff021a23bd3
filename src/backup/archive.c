/* tapevault: backup files <-> directory trees, through libarchive.
 * The container (encryption, framing) is bfile.c. */
#include "backup/backup.h"
#include "backup/bfile.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "util/err.h"
#include "util/priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef TV_VERSION
#define TV_VERSION "0"
#endif

/* ---- small helpers ---- */

__attribute__((format(printf, 2, 3)))
static void problem(struct tv_backup_stats *bs, const char *fmt, ...)
{
	va_list ap;

	bs->skipped++;
	if (bs->skipped > 1)
		return;
	va_start(ap, fmt);
	vsnprintf(bs->first_problem, sizeof(bs->first_problem), fmt, ap);
	va_end(ap);
}

static int fd_write(void *ctx, const void *p, size_t n)
{
	int fd = *(int *)ctx;
	const uint8_t *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return tv_errf(TV_ERR_IO, "write: %s", w < 0 ? strerror(errno) : "short write");
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fd_read(void *ctx, void *p, size_t n, size_t *got)
{
	int fd = *(int *)ctx;
	ssize_t g;

	do
		g = read(fd, p, n);
	while (g < 0 && errno == EINTR);
	if (g < 0)
		return tv_errf(TV_ERR_IO, "read: %s", strerror(errno));
	*got = (size_t)g;
	return 0;
}

static void fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* rename without replacing an existing target */
static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* file systems without RENAME_NOREPLACE: link + unlink (files only) */
	if (link(from, to) != 0)
		return -1;
	unlink(from);
	return 0;
}

/* ---- create ---- */

struct source {
	char *path;        /* as given, trailing slashes removed */
	size_t plen;
	char *base;        /* name in the archive */
};

static void sources_free(struct source *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].path);
		free(s[i].base);
	}
	free(s);
}

static int source_prepare(const char *given, struct source *s)
{
	struct stat sb;
	const char *slash;
	size_t n = strlen(given);

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return tv_errf(TV_ERR_INVAL, "empty source path");
	while (n > 1 && given[n - 1] == '/')
		n--;
	if ((s->path = strndup(given, n)) == NULL)
		return TV_ERR_NOMEM;
	s->plen = n;
	if (strcmp(s->path, "/") == 0)
		return tv_errf(TV_ERR_INVAL, "source /: back up the directories under it "
		               "instead (each source is stored under its own name)");
	if (lstat(s->path, &sb) != 0)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO, "%s: %s",
		               s->path, strerror(errno));
	slash = strrchr(s->path, '/');
	slash = slash ? slash + 1 : s->path;
	if (strcmp(slash, ".") == 0 || strcmp(slash, "..") == 0) {
		char real[PATH_MAX];
		const char *b;

		if (realpath(s->path, real) == NULL)
			return tv_errf(TV_ERR_IO, "%s: %s", s->path, strerror(errno));
		b = strrchr(real, '/');
		b = b ? b + 1 : real;
		if (*b == '\0')
			return tv_errf(TV_ERR_INVAL, "source %s is the root directory", s->path);
		s->base = strdup(b);
	} else {
		s->base = strdup(slash);
	}
	return s->base ? 0 : TV_ERR_NOMEM;
}

struct wctx {
	struct tv_bwriter *w;
	int err;
};

static la_ssize_t arch_write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct wctx *c = ctx;
	int r = tv_bwriter_write(c->w, buf, n);

	if (r != 0) {
		c->err = r;
		archive_set_error(a, EIO, "%s", tv_errmsg(r));
		return -1;
	}
	return (la_ssize_t)n;
}

static int make_slots(const struct tv_backup_keys *k, struct tv_backup_info *info,
                      const uint8_t dek[TV_DEK_LEN])
{
	size_t added = 0;
	int r;

	if (k->password != NULL || k->kek != NULL) {
		if ((r = tv_slot_password_make(&info->slots[info->nslots], info->uuid, dek,
		                               k->password, k->password_len,
		                               k->password_name ? k->password_name : "backup",
		                               k->password_hint, k->kdf, k->kek)) != 0)
			return r;
		info->nslots++;
	}
	for (size_t i = 0; i < k->nescrow; i++) {
		if (info->nslots >= TV_MAX_SLOTS)
			return tv_errf(TV_ERR_INVAL, "more than %d key slots", TV_MAX_SLOTS);
		if ((r = tv_slot_escrow_make(&info->slots[info->nslots], info->uuid, dek,
		                             k->escrow[i])) != 0)
			return r;
		info->nslots++;
	}
	if (k->add_slots != NULL) {
		r = k->add_slots(k->add_ctx, info->uuid, dek, &info->slots[info->nslots],
		                 TV_MAX_SLOTS - info->nslots, &added);
		if (r != 0)
			return r;
		if (added > TV_MAX_SLOTS - info->nslots)
			return tv_errf(TV_ERR_INTERNAL, "add_slots overflowed");
		info->nslots += added;
	}
	if (info->nslots == 0)
		return tv_errf(TV_ERR_INVAL, "encryption requested without any key "
		               "(password, KMS key or escrow key)");
	return 0;
}

/* Copies the file data of the current entry.  Returns 0 (maybe after
 * recording a problem) or a fatal error (output side). */
static int copy_data(struct archive *disk, struct archive *a, struct archive_entry *e,
                     const char *name, struct tv_backup_stats *bs, struct wctx *wc)
{
	static const uint8_t zeros[16384];
	la_int64_t size = archive_entry_size(e), expect = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(disk, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			problem(bs, "%s: read error, content incomplete in the backup: %s",
			        name, archive_error_string(disk));
			return 0;
		}
		while (off > expect) {       /* hole */
			size_t z = off - expect > (la_int64_t)sizeof(zeros)
			           ? sizeof(zeros) : (size_t)(off - expect);
			if (archive_write_data(a, zeros, z) < 0)
				goto wfail;
			expect += (la_int64_t)z;
		}
		if (len > 0 && archive_write_data(a, buf, len) < 0)
			goto wfail;
		expect += (la_int64_t)len;
	}
	if (expect < size)
		problem(bs, "%s: file shrank while it was read, content incomplete in the "
		        "backup", name);
	return 0;
wfail:
	return wc->err ? wc->err
	       : tv_errf(TV_ERR_IO, "writing the archive: %s", archive_error_string(a));
}

static int walk_source(struct archive *disk, struct archive *a,
                       struct archive_entry_linkresolver *lr, const struct source *src,
                       dev_t skip_dev, ino_t skip_ino, struct tv_backup_stats *bs,
                       struct wctx *wc)
{
	struct archive_entry *e = NULL, *spare = NULL;
	char *name = NULL;
	int r;

	if (archive_read_disk_open(disk, src->path) != ARCHIVE_OK)
		return tv_errf(TV_ERR_IO, "%s: %s", src->path, archive_error_string(disk));
	for (;;) {
		const char *p;
		size_t nlen;

		archive_entry_free(e);
		if ((e = archive_entry_new()) == NULL) {
			r = TV_ERR_NOMEM;
			goto out;
		}
		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			r = tv_errf(TV_ERR_IO, "%s: %s", src->path, archive_error_string(disk));
			goto out;
		}
		p = archive_entry_pathname(e);
		if (r == ARCHIVE_FAILED) {
			problem(bs, "%s: %s", p ? p : src->path, archive_error_string(disk));
			continue;
		}
		if (archive_entry_dev(e) == skip_dev && (ino_t)archive_entry_ino(e) == skip_ino)
			continue;        /* our own output file */
		if (archive_read_disk_can_descend(disk))
			archive_read_disk_descend(disk);
		if (p == NULL || strncmp(p, src->path, src->plen) != 0 ||
		    (p[src->plen] != '\0' && p[src->plen] != '/')) {
			problem(bs, "%s: unexpected path from the directory walk", p ? p : "?");
			continue;
		}
		nlen = strlen(src->base) + strlen(p + src->plen) + 1;
		free(name);
		if ((name = malloc(nlen)) == NULL) {
			r = TV_ERR_NOMEM;
			goto out;
		}
		snprintf(name, nlen, "%s%s", src->base, p + src->plen);
		archive_entry_copy_pathname(e, name);
		/* Keep mtime (to the nanosecond), not the access/change/birth
		 * times: pax writes a time only when it is set. */
		archive_entry_unset_atime(e);
		archive_entry_unset_ctime(e);
		archive_entry_unset_birthtime(e);
		archive_entry_linkify(lr, &e, &spare);
		archive_entry_free(spare);
		spare = NULL;
		if (e == NULL)
			continue;
		r = archive_write_header(a, e);
		if (r == ARCHIVE_FATAL) {
			r = wc->err ? wc->err : tv_errf(TV_ERR_IO, "writing the archive: %s",
			                                archive_error_string(a));
			goto out;
		}
		if (r == ARCHIVE_FAILED) {
			problem(bs, "%s: not stored: %s", name, archive_error_string(a));
			continue;
		}
		switch (archive_entry_filetype(e)) {
		case AE_IFREG:
			bs->files++;
			if (archive_entry_size(e) > 0) {
				bs->bytes += (uint64_t)archive_entry_size(e);
				if ((r = copy_data(disk, a, e, name, bs, wc)) != 0)
					goto out;
			}
			break;
		case AE_IFDIR: bs->dirs++; break;
		case AE_IFLNK: bs->symlinks++; break;
		default: bs->others++; break;
		}
		if (archive_write_finish_entry(a) < ARCHIVE_WARN) {
			r = wc->err ? wc->err : tv_errf(TV_ERR_IO, "writing the archive: %s",
			                                archive_error_string(a));
			goto out;
		}
	}
	r = 0;
out:
	archive_entry_free(e);
	free(name);
	archive_read_close(disk);
	return r;
}

/* The sources, each with a name no other has in the backup. */
static int sources_check(const char *const *sources, size_t nsrc, struct source *srcs)
{
	int r;

	for (size_t i = 0; i < nsrc; i++) {
		if ((r = source_prepare(sources[i], &srcs[i])) != 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp(srcs[i].base, srcs[j].base) == 0)
				return tv_errf(TV_ERR_INVAL, "sources %s and %s have the same name "
				               "\"%s\" in the backup", srcs[j].path, srcs[i].path,
				               srcs[i].base);
	}
	return 0;
}

/* The file header: identity, chunking, and with keys a new data key in its
 * slots. */
static int header_init(struct tv_backup_info *info, const struct tv_backup_keys *keys,
                       uint8_t dek[TV_DEK_LEN])
{
	int r;

	if ((r = tv_uuid_new(info->uuid)) != 0)
		return r;
	info->created = (uint64_t)time(NULL);
	info->chunk_size = TV_BACKUP_CHUNK_DEFAULT;
	snprintf(info->writer, sizeof(info->writer), "tapevault %s", TV_VERSION);
	if (keys == NULL)
		return 0;
	info->alg = TV_ENC_AES256GCM_HKDF;
	if ((r = tv_dek_new(dek)) != 0 || (r = tv_dek_fingerprint(dek, info->dek_fpr)) != 0)
		return r;
	return make_slots(keys, info, dek);
}

/* A temporary file beside out_path (renamed into place when whole). */
static int tmp_create(const char *out_path, char **tmp, int *fd, struct stat *sb)
{
	if (asprintf(tmp, "%s.tmp-XXXXXX", out_path) < 0) {
		*tmp = NULL;
		return TV_ERR_NOMEM;
	}
	if ((*fd = mkostemp(*tmp, O_CLOEXEC)) < 0) {
		int e = errno;
		free(*tmp);
		*tmp = NULL;
		return tv_errf(e == EACCES ? TV_ERR_PERM : TV_ERR_IO, "%s: cannot create a file "
		               "there: %s", out_path, strerror(e));
	}
	if (fstat(*fd, sb) != 0)
		return tv_errf(TV_ERR_IO, "%s: %s", *tmp, strerror(errno));
	return 0;
}

/* The pax writer into the backup file, and the disk reader. */
static int tar_open(struct archive **a, struct archive **disk,
                    struct archive_entry_linkresolver **lr, struct wctx *wc)
{
	if ((*a = archive_write_new()) == NULL || (*disk = archive_read_disk_new()) == NULL ||
	    (*lr = archive_entry_linkresolver_new()) == NULL)
		return TV_ERR_NOMEM;
	/* pax interchange rather than "restricted": restricted pax drops the
	 * sub-second part of mtimes unless an entry needs an extended header
	 * anyway; full pax writes "mtime" whenever it has one. */
	if (archive_write_set_format_pax(*a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(*a) != ARCHIVE_OK ||
	    archive_write_open2(*a, wc, NULL, arch_write_cb, NULL, NULL) != ARCHIVE_OK)
		return wc->err ? wc->err : tv_errf(TV_ERR_INTERNAL, "libarchive: %s",
		                                   archive_error_string(*a));
	archive_entry_linkresolver_set_strategy(*lr, archive_format(*a));
	archive_read_disk_set_symlink_physical(*disk);
	archive_read_disk_set_standard_lookup(*disk);
	archive_read_disk_set_behavior(*disk, ARCHIVE_READDISK_NO_XATTR |
	                               ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS |
	                               ARCHIVE_READDISK_NO_SPARSE);
	return 0;
}

/* Makes the finished temporary file the backup: synced, closed, renamed
 * (never over an existing file), the directory synced. */
static int publish(const char *tmp, int *fd, const char *out_path)
{
	if (fsync(*fd) != 0)
		return tv_errf(TV_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
	if (close(*fd) != 0) {
		*fd = -1;
		return tv_errf(TV_ERR_IO, "%s: close: %s", tmp, strerror(errno));
	}
	*fd = -1;
	if (rename_noreplace(tmp, out_path) != 0)
		return errno == EEXIST
		       ? tv_errf(TV_ERR_EXISTS, "%s already exists (not overwritten)", out_path)
		       : tv_errf(TV_ERR_IO, "%s: rename: %s", out_path, strerror(errno));
	fsync_parent(out_path);
	return 0;
}

int tv_backup_create(const char *const *sources, size_t nsrc, const char *out_path,
                     const struct tv_backup_keys *keys, struct tv_backup_stats *bsp)
{
	return tv_backup_create_signed(sources, nsrc, out_path, keys, NULL, bsp);
}

int tv_backup_create_signed(const char *const *sources, size_t nsrc, const char *out_path,
                            const struct tv_backup_keys *keys,
                            const struct tv_signer *signer, struct tv_backup_stats *bsp)
{
	struct tv_backup_stats local;
	struct tv_backup_stats *bs = bsp ? bsp : &local;
	struct tv_backup_info *info = NULL;
	struct source *srcs = NULL;
	struct tv_bwriter *w = NULL;
	struct archive *a = NULL, *disk = NULL;
	struct archive_entry_linkresolver *lr = NULL;
	struct wctx wc = { 0 };
	uint8_t dek[TV_DEK_LEN];
	char *tmp = NULL;
	struct stat sb;
	int fd = -1, r;

	memset(bs, 0, sizeof(*bs));
	memset(dek, 0, sizeof(dek));
	if (nsrc == 0)
		return tv_errf(TV_ERR_INVAL, "nothing to back up");
	if (lstat(out_path, &sb) == 0)
		return tv_errf(TV_ERR_EXISTS, "%s already exists (not overwritten)", out_path);
	if ((srcs = calloc(nsrc, sizeof(*srcs))) == NULL ||
	    (info = calloc(1, sizeof(*info))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if ((r = sources_check(sources, nsrc, srcs)) != 0 ||
	    (r = header_init(info, keys, dek)) != 0 ||
	    (r = tmp_create(out_path, &tmp, &fd, &sb)) != 0)
		goto out;
	memcpy(bs->uuid, info->uuid, TV_UUID_LEN);
	if ((r = tv_bwriter_open_signed(&w, out_path, fd_write, &fd, info, keys ? dek : NULL,
	                                signer)) != 0)
		goto out;
	wc.w = w;
	if ((r = tar_open(&a, &disk, &lr, &wc)) != 0)
		goto out;
	for (size_t i = 0; i < nsrc; i++)
		if ((r = walk_source(disk, a, lr, &srcs[i], sb.st_dev, sb.st_ino, bs, &wc)) != 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = wc.err ? wc.err : tv_errf(TV_ERR_IO, "finishing the archive: %s",
		                              archive_error_string(a));
		goto out;
	}
	if ((r = tv_bwriter_finish(w)) != 0)
		goto out;
	bs->chunks = tv_bwriter_chunks(w);
	bs->file_bytes = tv_bwriter_bytes(w);
	if ((r = publish(tmp, &fd, out_path)) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	if (bs->skipped > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%s: %llu entries not stored (first: %s)",
		            out_path, (unsigned long long)bs->skipped, bs->first_problem);
out:
	if (r != 0 && r != TV_ERR_PARTIAL)
		tv_errctx(r, "backup %s", out_path);
	if (a != NULL)
		archive_write_free(a);      /* no-op close when already closed */
	if (disk != NULL)
		archive_read_free(disk);
	archive_entry_linkresolver_free(lr);
	tv_bwriter_free(w);
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	tv_wipe(dek, sizeof(dek));
	if (info != NULL)
		tv_freezero(info, sizeof(*info));
	sources_free(srcs, nsrc);
	return r;
}

/* ---- extract ---- */

struct rctx {
	struct tv_backup_reader *r;
	int err;
	char msg[1024];           /* the reader's message, kept for later */
};

static la_ssize_t arch_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct rctx *c = ctx;
	const uint8_t *p;
	size_t n;
	int r = tv_backup_reader_next(c->r, &p, &n);

	if (r != 0) {
		c->err = r;
		snprintf(c->msg, sizeof(c->msg), "%s", tv_errmsg(r));
		archive_set_error(a, EIO, "%s", c->msg);
		return -1;
	}
	*buf = p;
	return (la_ssize_t)n;
}

/* A relative path without ".." components. */
static int safe_relpath(const char *p)
{
	const char *s = p;

	if (p == NULL || *p == '\0' || *p == '/')
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

static void rmtree_at(int dfd, const char *name, int depth)
{
	struct stat sb;

	if (depth > 4096 || fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		int fd;
		DIR *d;
		struct dirent *de;

		if (fchmodat(dfd, name, 0700, 0) != 0) {
			/* best effort: what cannot be opened below is left */
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if ((d = fdopendir(fd)) == NULL) {
				close(fd);
			} else {
				while ((de = readdir(d)) != NULL) {
					if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
						continue;
					rmtree_at(dirfd(d), de->d_name, depth + 1);
				}
				closedir(d);
			}
		}
		(void)unlinkat(dfd, name, AT_REMOVEDIR);
	} else {
		(void)unlinkat(dfd, name, 0);
	}
}

static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned int m = 022;

	if (f == NULL)
		return 022;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	fclose(f);
	return (mode_t)(m & 0777);
}

/* dest must not exist, or be an empty directory (*exists = 1, *mode). */
static int check_dest(const char *dest, int *exists, mode_t *mode)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	int empty = 1;

	*exists = 0;
	if (lstat(dest, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		return tv_errf(TV_ERR_IO, "%s: %s", dest, strerror(errno));
	}
	if (!S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_EXISTS, "%s exists and is not a directory", dest);
	if ((d = opendir(dest)) == NULL)
		return tv_errf(TV_ERR_IO, "%s: %s", dest, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	if (!empty)
		return tv_errf(TV_ERR_EXISTS, "%s exists and is not empty (extract into a new "
		               "or empty directory)", dest);
	*exists = 1;
	*mode = sb.st_mode & 07777;
	return 0;
}

static int join(char **out, const char *dir, const char *rel)
{
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (asprintf(out, "%s/%s", dir, rel) < 0) {
		*out = NULL;
		return TV_ERR_NOMEM;
	}
	return 0;
}

static int fatal_read(struct archive *ar, struct rctx *rc, const char *what)
{
	if (rc->err != 0)
		return tv_errf(rc->err, "%s", rc->msg);
	return tv_errf(TV_ERR_FORMAT, "%s: damaged archive inside the backup: %s",
	               what, archive_error_string(ar));
}

static int extract_entries(struct archive *ar, struct archive *ext, const char *root,
                           struct rctx *rc, const char *name, struct tv_backup_stats *bs)
{
	struct archive_entry *e;
	char *full = NULL, *lfull = NULL;
	int r;

	for (;;) {
		const char *p, *hl;
		int ftype;

		free(full);
		free(lfull);
		full = lfull = NULL;
		r = archive_read_next_header(ar, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			r = fatal_read(ar, rc, name);
			goto out;
		}
		p = archive_entry_pathname(e);
		hl = archive_entry_hardlink(e);
		if (!safe_relpath(p) || (hl != NULL && !safe_relpath(hl))) {
			problem(bs, "%s: unsafe path in the archive, not restored", p ? p : "?");
			continue;
		}
		ftype = hl != NULL ? (int)AE_IFREG : (int)archive_entry_filetype(e);
		if ((r = join(&full, root, p)) != 0 ||
		    (hl != NULL && (r = join(&lfull, root, hl)) != 0))
			goto out;
		archive_entry_copy_pathname(e, full);
		if (lfull != NULL)
			archive_entry_copy_hardlink(e, lfull);
		r = archive_write_header(ext, e);
		if (r < ARCHIVE_WARN) {
			if (r == ARCHIVE_FATAL) {
				r = tv_errf(TV_ERR_IO, "%s: %s", p, archive_error_string(ext));
				goto out;
			}
			problem(bs, "%s: not restored: %s", p, archive_error_string(ext));
			continue;
		}
		if (archive_entry_size(e) > 0) {
			for (;;) {
				const void *buf;
				size_t len;
				la_int64_t off;

				r = archive_read_data_block(ar, &buf, &len, &off);
				if (r == ARCHIVE_EOF)
					break;
				if (r < ARCHIVE_WARN) {
					r = fatal_read(ar, rc, name);
					goto out;
				}
				if (archive_write_data_block(ext, buf, len, off) < ARCHIVE_WARN) {
					problem(bs, "%s: not fully restored: %s", p,
					        archive_error_string(ext));
					break;
				}
			}
		}
		if (archive_write_finish_entry(ext) < ARCHIVE_WARN) {
			problem(bs, "%s: %s", p, archive_error_string(ext));
			continue;
		}
		switch (ftype) {
		case AE_IFREG:
			bs->files++;
			bs->bytes += (uint64_t)archive_entry_size(e);
			break;
		case AE_IFDIR: bs->dirs++; break;
		case AE_IFLNK: bs->symlinks++; break;
		default: bs->others++; break;
		}
	}
	r = 0;
out:
	free(full);
	free(lfull);
	return r;
}

int tv_backup_extract_stream(struct tv_backup_reader *rd, const char *dest_dir,
                             struct tv_backup_stats *bsp)
{
	struct tv_backup_stats local;
	struct tv_backup_stats *bs = bsp ? bsp : &local;
	const struct tv_backup_info *info = tv_backup_reader_info(rd);
	struct archive *ar = NULL, *ext = NULL;
	struct rctx rc = { rd, 0, "" };
	char *dest = NULL, *dcopy = NULL, *bcopy = NULL, *tmp = NULL, *root = NULL;
	const char *parent, *base;
	int exists = 0, flags, r;
	mode_t mode = 0;

	memset(bs, 0, sizeof(*bs));
	memcpy(bs->uuid, info->uuid, TV_UUID_LEN);
	if (dest_dir == NULL || dest_dir[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "no destination directory");
	if ((dest = strdup(dest_dir)) == NULL)
		return TV_ERR_NOMEM;
	for (size_t n = strlen(dest); n > 1 && dest[n - 1] == '/'; n--)
		dest[n - 1] = '\0';
	if ((r = check_dest(dest, &exists, &mode)) != 0)
		goto out;
	if ((dcopy = strdup(dest)) == NULL || (bcopy = strdup(dest)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	parent = dirname(dcopy);
	base = basename(bcopy);
	if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		r = tv_errf(TV_ERR_INVAL, "%s: give the destination directory by name", dest);
		goto out;
	}
	if (asprintf(&tmp, "%s/.%s.tvtmp-XXXXXX", parent, base) < 0) {
		tmp = NULL;
		r = TV_ERR_NOMEM;
		goto out;
	}
	if (mkdtemp(tmp) == NULL) {
		r = tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO,
		            "%s: cannot create a directory next to it: %s", dest, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* A symlink-free absolute root: libarchive's symlink checks walk the
	 * whole path, and its no-absolute-paths check would refuse the
	 * prefix, so we apply that check to the entry names ourselves. */
	if ((root = realpath(tmp, NULL)) == NULL) {
		r = tv_errf(TV_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((ar = archive_read_new()) == NULL || (ext = archive_write_disk_new()) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	archive_read_support_format_tar(ar);
	if (archive_read_open(ar, &rc, NULL, arch_read_cb, NULL) != ARCHIVE_OK) {
		r = fatal_read(ar, &rc, dest);
		goto out;
	}
	flags = ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	        ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM;
	if (tv_priv_can_chown())
		flags |= ARCHIVE_EXTRACT_OWNER;
	archive_write_disk_set_options(ext, flags);
	archive_write_disk_set_standard_lookup(ext);
	if ((r = extract_entries(ar, ext, root, &rc, dest, bs)) != 0)
		goto out;
	/* Authenticate what follows the tar end marker, up to the LAST chunk. */
	for (;;) {
		const uint8_t *p;
		size_t n;

		if ((r = tv_backup_reader_next(rd, &p, &n)) != 0)
			goto out;
		if (n == 0)
			break;
	}
	bs->chunks = tv_backup_reader_chunks(rd);
	/* directory modes and times are applied on close */
	if (archive_write_close(ext) < ARCHIVE_WARN)
		problem(bs, "%s: %s", dest, archive_error_string(ext));
	if (chmod(tmp, exists ? mode : (0777 & ~current_umask())) != 0) {
		r = tv_errf(TV_ERR_IO, "%s: chmod: %s", tmp, strerror(errno));
		goto out;
	}
	if ((exists ? rename(tmp, dest) : renameat2(AT_FDCWD, tmp, AT_FDCWD, dest,
	                                            RENAME_NOREPLACE)) != 0) {
		r = (errno == EEXIST || errno == ENOTEMPTY)
		    ? tv_errf(TV_ERR_EXISTS, "%s appeared meanwhile and is not empty", dest)
		    : tv_errf(TV_ERR_IO, "%s: rename: %s", dest, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	fsync_parent(dest);
	r = 0;
	if (bs->skipped > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%s: %llu entries not restored (first: %s)", dest,
		            (unsigned long long)bs->skipped, bs->first_problem);
out:
	if (ext != NULL)
		archive_write_free(ext);
	if (ar != NULL)
		archive_read_free(ar);
	if (tmp != NULL) {
		rmtree_at(AT_FDCWD, tmp, 0);
		free(tmp);
	}
	free(root);
	free(dest);
	free(dcopy);
	free(bcopy);
	return r;
}

static int open_backup(const char *path, int *fd, struct tv_backup_reader **rd)
{
	int r;

	*rd = NULL;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND :
		               errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "%s: %s", path, strerror(errno));
	if ((r = tv_backup_reader_open(rd, path, fd_read, fd)) != 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

int tv_backup_extract(const char *path, const char *dest_dir,
                      const struct tv_unlocker *unlocker, struct tv_backup_stats *bs)
{
	return tv_backup_extract_trusted(path, dest_dir, unlocker, NULL, bs);
}

int tv_backup_extract_trusted(const char *path, const char *dest_dir,
                              const struct tv_unlocker *unlocker,
                              const struct tv_backup_trust *trust,
                              struct tv_backup_stats *bs)
{
	struct tv_backup_reader *rd;
	int fd, r;

	if (bs != NULL)
		memset(bs, 0, sizeof(*bs));
	if ((r = open_backup(path, &fd, &rd)) != 0)
		return r;
	/* who wrote it, on the header this very stream carries (its trailer
	 * must then be signed by the same key): before a key is asked for
	 * and before anything is created */
	r = 0;
	if (trust != NULL && trust->accept != NULL)
		r = trust->accept(trust->ctx, path, tv_backup_reader_info(rd));
	if (r == 0 && (r = tv_backup_reader_unlock(rd, unlocker)) == 0)
		r = tv_backup_extract_stream(rd, dest_dir, bs);
	tv_backup_reader_close(rd);
	close(fd);
	return r;
}

int tv_backup_inspect(const char *path, struct tv_backup_info *info)
{
	struct tv_backup_reader *rd;
	int fd, r;

	memset(info, 0, sizeof(*info));
	if ((r = open_backup(path, &fd, &rd)) != 0)
		return r;
	*info = *tv_backup_reader_info(rd);
	tv_backup_reader_close(rd);
	close(fd);
	return 0;
}
