#include "util/path.h"
#include "util/err.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

int tv_mkdir_p(const char *path, mode_t parent_mode, mode_t last_mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return tv_errf(TV_ERR_RANGE, "path too long: %s", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, parent_mode) != 0 && errno != EEXIST)
			return tv_errf(TV_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, last_mode) != 0 && errno != EEXIST)
		return tv_errf(TV_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
	return 0;
}
