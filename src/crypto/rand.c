#include "crypto/rand.h"
#include "util/err.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/rand.h>

int tv_random(void *p, size_t n)
{
	unsigned char *q = p;

	while (n > 0) {
		int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;

		if (RAND_bytes(q, chunk) != 1) {
			unsigned long e = ERR_get_error();
			char msg[256];

			ERR_error_string_n(e, msg, sizeof(msg));
			ERR_clear_error();
			return tv_errf(TV_ERR_CRYPTO, "random number generator failed: %s",
			               e ? msg : "no detail");
		}
		q += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}
