/* tapevault tests: a test hook of the web server (built into test binaries
 * only).  TAPEVAULT_TEST_WEB_SLOW=MS makes each progress report of a job
 * run from the API wait MS milliseconds (at most 1000), so that a short
 * job lasts long enough for a browser test to watch its progress move. */
#include <stdlib.h>
#include <time.h>

#include "web/web_int.h"

static long slow_ms;

static void slow(void)
{
	struct timespec ts = {slow_ms / 1000, (slow_ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

__attribute__((constructor)) static void install(void)
{
	const char *s = getenv("TAPEVAULT_TEST_WEB_SLOW");

	if (s == NULL || *s == '\0')
		return;
	slow_ms = strtol(s, NULL, 10);
	if (slow_ms <= 0 || slow_ms > 1000)
		return;
	tv_web_progress_test_hook = slow;
}
