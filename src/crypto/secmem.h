/* tapevault: process hardening and secret key files.  Wiping secrets:
 * util/wipe.h (included here for the callers of both). */
#ifndef TV_CRYPTO_SECMEM_H
#define TV_CRYPTO_SECMEM_H

#include <stddef.h>

#include "util/wipe.h"

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
