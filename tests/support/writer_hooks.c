/* tapevault tests: the writer signature's test hook (jobs/writer.h,
 * tv_writer_test_unsigned), linked into test programs only.  With
 *
 *   TAPEVAULT_TEST_UNSIGNED=backup
 *
 * in the environment, 'backup create' (and 'config backup') write an
 * unsigned backup file in the format from before signatures (version 1),
 * as an older tapevault did: what a reader must take only with
 * --trust-writer unsigned. */
#include <stdlib.h>
#include <string.h>

#include "jobs/writer.h"

static const char *what_unsigned;

static int unsigned_hook(const char *what)
{
	return strstr(what_unsigned, what) != NULL;
}

__attribute__((constructor)) static void install(void)
{
	const char *s = getenv("TAPEVAULT_TEST_UNSIGNED");

	if (s == NULL || *s == '\0')
		return;
	what_unsigned = s;
	tv_writer_test_unsigned = unsigned_hook;
}
