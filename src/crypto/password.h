/* tapevault: reading passwords (never from the command line).
 *
 * Sources, first match wins:
 *  1. --password-file FILE: its first line, without the line end ("\n"
 *     or "\r\n").  A file readable by group or others is used, with a
 *     warning on stderr.
 *  2. the environment variable TAPEVAULT_PASSWORD (less safe: other
 *     processes of the same user can read it in /proc/PID/environ, and
 *     child processes inherit it).
 *  3. the controlling terminal (/dev/tty), echo off; with confirm the
 *     password is asked twice and must match.
 *  Otherwise: TV_ERR_INVAL "no password: use --password-file FILE (or
 *  set TAPEVAULT_PASSWORD)".
 * Empty passwords are refused; at most TV_PASSWORD_MAX bytes. */
#ifndef TV_CRYPTO_PASSWORD_H
#define TV_CRYPTO_PASSWORD_H

#include <stddef.h>

#define TV_PASSWORD_ENV "TAPEVAULT_PASSWORD"
#define TV_PASSWORD_MAX 4096

/* *pw: malloc'd, NUL-terminated, *len bytes without the NUL.  Release
 * with tv_freezero(*pw, *len + 1) (or tv_freezero_str).  prompt NULL:
 * "Password: ".  On error *pw is NULL. */
int tv_password_read(const char *file_or_null, const char *prompt, int confirm,
                     char **pw, size_t *len);

#endif
