/* tapevault: the one way to wipe a secret.
 *
 * Every buffer that held a password, a KEK or a DEK is wiped with
 * tv_wipe() before it goes out of scope, or released with tv_freezero()
 * (OpenSSH's explicit_bzero/freezero).  tv_wipe is OPENSSL_cleanse, which
 * the compiler cannot optimise away.  See docs/SECURITY.md. */
#ifndef TV_UTIL_WIPE_H
#define TV_UTIL_WIPE_H

#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler keeps.
 * p may be NULL when n is 0. */
void tv_wipe(void *p, size_t n);

/* Wipe n bytes at p, then free(p).  NULL is fine.  n must not exceed the
 * allocation (pass the allocated size, or strlen()+1 for strings). */
void tv_freezero(void *p, size_t n);

/* Wipe and free a NUL-terminated secret string (n = strlen + 1). */
void tv_freezero_str(char *s);

#endif
