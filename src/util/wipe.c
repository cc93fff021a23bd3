#include "util/wipe.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

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
