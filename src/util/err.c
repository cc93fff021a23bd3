#include "util/err.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char detail[1024];
static _Thread_local int detail_err;   /* the code the detail belongs to */

static const char *const msgs[] = {
	[0] = "success",
	[-TV_ERR_INTERNAL] = "internal error",
	[-TV_ERR_NOMEM] = "out of memory",
	[-TV_ERR_INVAL] = "invalid argument",
	[-TV_ERR_IO] = "input/output error",
	[-TV_ERR_EOF] = "unexpected end of data",
	[-TV_ERR_FORMAT] = "malformed data",
	[-TV_ERR_CRC] = "checksum mismatch",
	[-TV_ERR_AUTH] = "authentication failed (data tampered or wrong key)",
	[-TV_ERR_NOSPC] = "medium full",
	[-TV_ERR_EW] = "early warning: end of medium near",
	[-TV_ERR_FILEMARK] = "filemark",
	[-TV_ERR_EOD] = "end of recorded data",
	[-TV_ERR_WPROT] = "medium is write protected",
	[-TV_ERR_NOTFOUND] = "not found",
	[-TV_ERR_EXISTS] = "already exists",
	[-TV_ERR_BADKEY] = "wrong password or key",
	[-TV_ERR_LOCKED] = "encrypted and not unlocked",
	[-TV_ERR_UNSUPPORTED] = "not supported",
	[-TV_ERR_RANGE] = "value out of range",
	[-TV_ERR_STATE] = "operation not valid in this state",
	[-TV_ERR_DB] = "catalog database error",
	[-TV_ERR_CRYPTO] = "cryptographic library failure",
	[-TV_ERR_NET] = "network error",
	[-TV_ERR_TLS] = "TLS failure",
	[-TV_ERR_KMIP] = "KMS reported an error",
	[-TV_ERR_PROTO] = "protocol error",
	[-TV_ERR_PERM] = "permission denied",
	[-TV_ERR_BADREC] = "bad record on medium",
	[-TV_ERR_CANCELED] = "canceled",
	[-TV_ERR_PARTIAL] = "partial success",
	[-TV_ERR_SIG] = "signature verification failed",
	[-TV_ERR_RETRY] = "too many attempts",
	[-TV_ERR_INTERRUPTED] = "interrupted",
};

const char *tv_strerror(int err)
{
	if (err > 0 || err <= TV_ERR_MAX_ || msgs[-err] == NULL)
		return "unknown error";
	return msgs[-err];
}

int tv_verrf(int err, const char *fmt, va_list ap)
{
	char msg[sizeof(detail)];

	/* formatted aside first: the arguments may be the current detail
	 * (tv_errf(r, "...: %s", tv_errmsg(r)) adds to a message) */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	memcpy(detail, msg, sizeof(detail));
	detail_err = err;
	return err;
}

int tv_errf(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tv_verrf(err, fmt, ap);
	va_end(ap);
	return err;
}

int tv_errctx(int err, const char *fmt, ...)
{
	char ctx[512], old[sizeof(detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (detail[0] != '\0' && detail_err == err)
		memcpy(old, detail, sizeof(old));
	else
		snprintf(old, sizeof(old), "%s", tv_strerror(err));
	{
		/* "ctx: old", truncated to fit (explicit lengths keep the
		 * compiler's truncation analysis quiet and the result bounded) */
		size_t lc = strnlen(ctx, sizeof(detail) - 3);
		size_t lo = strnlen(old, sizeof(old));
		if (lc + 2 + lo >= sizeof(detail))
			lo = sizeof(detail) - 3 - lc;
		memcpy(detail, ctx, lc);
		memcpy(detail + lc, ": ", 2);
		memcpy(detail + lc + 2, old, lo);
		detail[lc + 2 + lo] = '\0';
	}
	detail_err = err;
	return err;
}

const char *tv_errdetail(void) { return detail; }

void tv_errclear(void)
{
	detail[0] = '\0';
	detail_err = 0;
}

const char *tv_errmsg(int err)
{
	return detail[0] != '\0' && detail_err == err ? detail : tv_strerror(err);
}
