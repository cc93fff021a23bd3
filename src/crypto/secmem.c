#include "crypto/secmem.h"
#include "util/err.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void tv_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void tv_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	tv_wipe(p, n);
	free(p);
}

void tv_freezero_str(char *s)
{
	if (s != NULL)
		tv_freezero(s, strlen(s) + 1);
}

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
