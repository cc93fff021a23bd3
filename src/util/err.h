/* tapevault: one namespace of negative error codes, plus a per-thread
 * detail message so the CLI can say *what* failed and what to do next. */
#ifndef TV_ERR_H
#define TV_ERR_H

#include <stdarg.h>

enum tv_err {
	TV_OK = 0,
	TV_ERR_INTERNAL = -1,      /* bug: invariant broken */
	TV_ERR_NOMEM = -2,         /* allocation failed */
	TV_ERR_INVAL = -3,         /* bad argument from the caller / user */
	TV_ERR_IO = -4,            /* I/O error (errno in detail) */
	TV_ERR_EOF = -5,           /* unexpected end of data */
	TV_ERR_FORMAT = -6,        /* malformed on-tape / on-disk structure */
	TV_ERR_CRC = -7,           /* checksum mismatch */
	TV_ERR_AUTH = -8,          /* AEAD tag mismatch: tampered or wrong key */
	TV_ERR_NOSPC = -9,         /* medium full (past capacity) */
	TV_ERR_EW = -10,           /* early warning reached: finish up */
	TV_ERR_FILEMARK = -11,     /* read hit a filemark */
	TV_ERR_EOD = -12,          /* read hit end of recorded data */
	TV_ERR_WPROT = -13,        /* medium is write protected */
	TV_ERR_NOTFOUND = -14,     /* no such object (tape, pool, key, file) */
	TV_ERR_EXISTS = -15,       /* object already exists */
	TV_ERR_BADKEY = -16,       /* wrong password / key does not unlock */
	TV_ERR_LOCKED = -17,       /* tape/backup encrypted and not unlocked */
	TV_ERR_UNSUPPORTED = -18,  /* not supported (version, feature) */
	TV_ERR_RANGE = -19,        /* value out of range / buffer bound */
	TV_ERR_STATE = -20,        /* call not valid in the object's state */
	TV_ERR_DB = -21,           /* catalog database error */
	TV_ERR_CRYPTO = -22,       /* crypto library failure */
	TV_ERR_NET = -23,          /* network: unreachable, timeout */
	TV_ERR_TLS = -24,          /* TLS handshake / certificate failure */
	TV_ERR_KMIP = -25,         /* KMS answered with an error */
	TV_ERR_PROTO = -26,        /* peer protocol violation */
	TV_ERR_PERM = -27,         /* permission denied */
	TV_ERR_BADREC = -28,       /* record flagged bad (SIMH bit 31) */
	TV_ERR_CANCELED = -29,     /* user declined a confirmation */
	TV_ERR_PARTIAL = -30,      /* job finished but skipped something */
	TV_ERR_SIG = -31,          /* signature verification failed */
	TV_ERR_RETRY = -32,        /* too many attempts; back off */
	TV_ERR_INTERRUPTED = -33,  /* stopped by SIGINT/SIGTERM (util/stop.h), cleanly */
	TV_ERR_MAX_ = -34
};

/* Static description of a code ("checksum mismatch"). Never NULL. */
const char *tv_strerror(int err);

/* The detail is owned by the failing call (as libarchive keeps it on the
 * handle): every error return sets one, or passes up a code whose callee
 * set one.  Each detail is recorded with its code, and tv_errmsg(err) shows
 * it only for that code, so a detail left by an error that was handled
 * (a lookup's NOTFOUND, a slot that did not open) is never shown for a later,
 * different failure.  Jobs and the library's public entry points reset it
 * (tv_errclear) as they start.
 *
 * Record a detail message for the calling thread and return err, so that
 * callers can write `return tv_errf(TV_ERR_CRC, "tape %s file %u", ...)`. */
int tv_errf(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int tv_verrf(int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Prefix the detail with more context: "ctx: old detail" (when the current
 * detail belongs to another code: "ctx: tv_strerror(err)"). */
int tv_errctx(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Current detail, whatever its code (empty string when none). */
const char *tv_errdetail(void);
void tv_errclear(void);
/* The detail if it was recorded for err, else tv_strerror(err). */
const char *tv_errmsg(int err);

#endif
