/* tapevault: the built-in tape backends (the one place that names them,
 * as libarchive's archive_read_support_format_all does). */
#include "tape/tape.h"

#include <string.h>

static int st_claims(const char *path)
{
	return strncmp(path, "/dev/nst", 8) == 0 || strncmp(path, "/dev/st", 7) == 0;
}

static int vtape_claims(const char *path)
{
	(void)path;
	return 1;   /* anything else is an image file */
}

static const struct tv_tape_backend st_backend = { "st", st_claims, tv_st_open };
static const struct tv_tape_backend vtape_backend = { "vtape", vtape_claims, tv_vtape_open };

void tv_tape_register_builtin(void)
{
	(void)tv_tape_register(&st_backend);
	(void)tv_tape_register(&vtape_backend);
}
