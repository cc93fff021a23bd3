#include "crypto/secmem.h"
#include "util/err.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int tv_secure_init(void)
{
	struct rlimit rl = { 0, 0 };
	int err = 0;

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		err = tv_errf(TV_ERR_PERM, "cannot disable core dumps: %s",
		              strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 && err == 0)
		err = tv_errf(TV_ERR_PERM, "cannot mark the process non-dumpable: %s",
		              strerror(errno));
	return err;
}

int tv_secret_file_open(const char *dir, const char *file, const char *what,
                        const char *missing, int *fd, struct stat *sb)
{
	uid_t dir_uid = (uid_t)-1;
	int f, r;

	*fd = -1;
	if (stat(dir, sb) == 0)
		dir_uid = sb->st_uid;
	if (dir_uid != (uid_t)-1 && (sb->st_mode & 077) != 0)
		return tv_errf(TV_ERR_PERM, "%s is accessible by group or others "
		               "(mode %03o): run chmod 700 %s", dir,
		               (unsigned)(sb->st_mode & 0777), dir);
	f = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT)
			return tv_errf(TV_ERR_NOTFOUND, "%s", missing);
		if (errno == ELOOP)
			return tv_errf(TV_ERR_PERM, "%s is a symbolic link: refused", file);
		return tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO, "%s: %s",
		               file, strerror(errno));
	}
	if (fstat(f, sb) != 0 || !S_ISREG(sb->st_mode)) {
		r = tv_errf(TV_ERR_FORMAT, "%s is not a regular file", file);
		goto fail;
	}
	if ((sb->st_mode & 077) != 0) {
		r = tv_errf(TV_ERR_PERM, "%s is accessible by group or others (mode %03o): "
		            "refusing to use it; run chmod 600 %s and consider the %s exposed",
		            file, (unsigned)(sb->st_mode & 0777), file, what);
		goto fail;
	}
	/* ours, root's (root can replace it anyway), or, when we are root, one
	 * in a private directory of root's or of the file's owner: the CLI run
	 * as root and the packaged service (its own user) share
	 * /var/lib/tapevault, and only they can put files there */
	if (sb->st_uid != geteuid() && sb->st_uid != 0 &&
	    !(geteuid() == 0 && (dir_uid == 0 || dir_uid == sb->st_uid))) {
		r = tv_errf(TV_ERR_PERM, "%s is owned by uid %u, not by us (uid %u): refused",
		            file, (unsigned)sb->st_uid, (unsigned)geteuid());
		goto fail;
	}
	*fd = f;
	return 0;
fail:
	close(f);
	return r;
}
