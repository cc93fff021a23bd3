/* tapevault: careful file helpers (see tfile.h). */
#include "tape/tfile.h"

#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK ((size_t)1 << 20)

int tv_tfile_path(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz)
		return tv_errf(TV_ERR_RANGE, "path too long (limit %zu bytes): %.200s...",
		               sz - 1, buf);
	return 0;
}

/* Directory part of path into buf ("." when there is none). */
static int parent_of(const char *path, char *buf, size_t sz)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return tv_tfile_path(buf, sz, ".");
	if (slash == path)
		return tv_tfile_path(buf, sz, "/");
	n = (size_t)(slash - path);
	if (n >= sz)
		return tv_errf(TV_ERR_RANGE, "path too long: %.200s", path);
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

int tv_tfile_fsync_dir(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tv_errf(TV_ERR_IO, "cannot open directory %s to sync it: %s",
		               dir, strerror(errno));
	/* Some file systems refuse fsync on directories (EINVAL); they do not
	 * need it either. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		rc = tv_errf(TV_ERR_IO, "cannot sync directory %s: %s", dir,
		             strerror(errno));
	close(fd);
	return rc;
}

int tv_tfile_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	int rc = parent_of(path, dir, sizeof(dir));

	if (rc != 0)
		return rc;
	return tv_tfile_fsync_dir(dir);
}

static int write_all(int fd, const void *data, size_t len, const char *what)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return tv_errf(TV_ERR_IO, "cannot write %s: %s", what,
			               strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tv_tfile_write_atomic(const char *path, const void *data, size_t len,
                          mode_t mode)
{
	static _Atomic unsigned counter;
	char tmp[PATH_MAX];
	int fd = -1, rc;

	rc = tv_tfile_path(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(),
	                   counter++);
	if (rc != 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return tv_errf(errno == EACCES || errno == EPERM ? TV_ERR_PERM : TV_ERR_IO,
		               "cannot create %s: %s", tmp, strerror(errno));
	rc = write_all(fd, data, len, tmp);
	if (rc == 0 && fsync(fd) != 0)
		rc = tv_errf(TV_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = tv_errf(TV_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
	fd = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = tv_errf(TV_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
		             strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return tv_tfile_fsync_parent(path);
}

int tv_tfile_read_small(const char *path, size_t max, char **data, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	size_t have = 0;
	int fd, rc = 0;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return tv_errf(TV_ERR_NOTFOUND, "%s does not exist", path);
		return tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0) {
		rc = tv_errf(TV_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = tv_errf(TV_ERR_FORMAT, "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		rc = tv_errf(TV_ERR_FORMAT, "%s is too large (%lld bytes, limit %zu): "
		             "it is not a file tapevault wrote", path,
		             (long long)sb.st_size, max);
		goto out;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	/* Read up to max+1 bytes: the file may grow between fstat and read. */
	while (have <= max) {
		ssize_t n = read(fd, buf + have, max + 1 - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = tv_errf(TV_ERR_IO, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	if (have > max) {
		rc = tv_errf(TV_ERR_FORMAT, "%s is too large (limit %zu bytes)", path, max);
		goto out;
	}
	buf[have] = '\0';
	*data = buf;
	*len = have;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int tv_tfile_exists(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return 1;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return tv_errf(TV_ERR_IO, "cannot check %s: %s", path, strerror(errno));
}

/* Copy src to a temporary file next to dst, fsync it and link it into place
 * without replacing an existing dst. */
int tv_tfile_copy(const char *src, const char *dst)
{
	char tmp[PATH_MAX];
	char *buf = NULL;
	int in = -1, out = -1, rc;

	rc = tv_tfile_path(tmp, sizeof(tmp), "%s.part.%ld", dst, (long)getpid());
	if (rc != 0)
		return rc;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO,
		             "cannot open %s: %s", src, strerror(errno));
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		rc = tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		             "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	buf = malloc(COPY_CHUNK);
	if (buf == NULL) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory copying %s", src);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = tv_errf(TV_ERR_IO, "cannot read %s: %s", src, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		rc = write_all(out, buf, (size_t)n, tmp);
		if (rc != 0)
			goto out;
	}
	if (fsync(out) != 0) {
		rc = tv_errf(TV_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(out) != 0) {
		out = -1;
		rc = tv_errf(TV_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	out = -1;
	/* link() refuses to replace dst: no clobbering even if dst appeared
	 * meanwhile. */
	if (link(tmp, dst) != 0) {
		if (errno == EEXIST)
			rc = tv_errf(TV_ERR_EXISTS, "%s already exists: not replacing it", dst);
		else
			rc = tv_errf(TV_ERR_IO, "cannot create %s: %s", dst, strerror(errno));
		goto out;
	}
	unlink(tmp);
	tmp[0] = '\0';
	rc = tv_tfile_fsync_parent(dst);
out:
	free(buf);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc != 0 && tmp[0] != '\0')
		unlink(tmp);
	return rc;
}

int tv_tfile_move(const char *src, const char *dst)
{
	int rc = tv_tfile_exists(dst);

	if (rc < 0)
		return rc;
	if (rc == 1)
		return tv_errf(TV_ERR_EXISTS, "%s already exists: not replacing it", dst);
	/* Same file system: a hard link never replaces dst; then drop src.
	 * (Callers hold the library lock, so nobody races us inside it.) */
	if (link(src, dst) == 0) {
		if (unlink(src) != 0) {
			rc = tv_errf(TV_ERR_IO, "cannot remove %s after linking it to %s: %s",
			             src, dst, strerror(errno));
			unlink(dst);
			return rc;
		}
	} else if (errno == EEXIST) {
		return tv_errf(TV_ERR_EXISTS, "%s already exists: not replacing it", dst);
	} else if (errno == ENOENT) {
		return tv_errf(TV_ERR_NOTFOUND, "cannot move %s to %s: %s", src, dst,
		               strerror(errno));
	} else if (errno == EXDEV || errno == EPERM || errno == EMLINK ||
	           errno == ENOTSUP || errno == EOPNOTSUPP) {
		/* Other file system, or one without hard links: rename if we
		 * can (same fs), else copy. */
		if (errno != EXDEV && rename(src, dst) == 0)
			goto synced;
		rc = tv_tfile_copy(src, dst);
		if (rc != 0)
			return rc;
		if (unlink(src) != 0)
			return tv_errf(TV_ERR_IO, "copied %s to %s but cannot remove the "
			               "original: %s (remove it by hand)", src, dst,
			               strerror(errno));
	} else {
		return tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "cannot move %s to %s: %s", src, dst, strerror(errno));
	}
synced:
	rc = tv_tfile_fsync_parent(dst);
	if (rc == 0)
		rc = tv_tfile_fsync_parent(src);
	return rc;
}

int tv_tfile_mkdirs(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat sb;
	size_t n;
	int rc = tv_tfile_path(buf, sizeof(buf), "%s", dir);

	if (rc != 0)
		return rc;
	if (buf[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "empty directory name");
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (char *p = buf + 1; ; p++) {
		int last = (*p == '\0');
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
			               "cannot create directory %s: %s", buf, strerror(errno));
		if (last)
			break;
		*p = '/';
	}
	if (stat(buf, &sb) != 0)
		return tv_errf(TV_ERR_IO, "cannot use directory %s: %s", buf, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_INVAL, "%s exists and is not a directory", buf);
	return 0;
}
