/* tapevault: handling of secret memory, and process hardening.
 *
 * Every buffer that held a password, a KEK or a DEK is wiped with
 * tv_wipe() (OPENSSL_cleanse: not optimised away) before it goes out of
 * scope, or released with tv_freezero().  See docs/SECURITY.md. */
#ifndef TV_CRYPTO_SECMEM_H
#define TV_CRYPTO_SECMEM_H

#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler keeps.
 * p may be NULL when n is 0. */
void tv_wipe(void *p, size_t n);

/* Wipe n bytes at p, then free(p).  NULL is fine.  n must not exceed the
 * allocation (pass the allocated size, or strlen()+1 for strings). */
void tv_freezero(void *p, size_t n);

/* Wipe and free a NUL-terminated secret string (n = strlen + 1). */
void tv_freezero_str(char *s);

/* Process hardening for the CLI, called once at start-up before any
 * secret is read: no core dumps (RLIMIT_CORE 0, soft and hard) and not
 * dumpable (prctl PR_SET_DUMPABLE 0: also blocks ptrace attach and
 * /proc/PID/mem reads by other processes of the same user).
 * Returns 0, or TV_ERR_PERM/TV_ERR_INTERNAL with a detail; the CLI
 * should warn and continue on failure, not refuse to run. */
int tv_secure_init(void);

/* Opens a file holding a secret key for reading, refusing what an attacker
 * could have planted or read: a directory or file accessible by group or
 * others, a symbolic link, a non-regular file, a file owned by another user.
 * missing: the message for a missing file ("run tapevault init");
 * what: the key's name in messages ("master key").  On success *fd is open
 * and *sb describes it. */
struct stat;
int tv_secret_file_open(const char *dir, const char *file, const char *what,
                        const char *missing, int *fd, struct stat *sb);

#endif
