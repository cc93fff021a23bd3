#include "util/buf.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void tv_buf_init_max(struct tv_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void tv_buf_init(struct tv_buf *b) { tv_buf_init_max(b, TV_BUF_MAX_DEFAULT); }

void tv_buf_view(struct tv_buf *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->d = (uint8_t *)(uintptr_t)p;
	b->len = len;
	b->max = len;
	b->borrowed = 1;
}

void tv_buf_free(struct tv_buf *b)
{
	if (!b->borrowed && b->d != NULL) {
		OPENSSL_cleanse(b->d, b->cap);
		free(b->d);
	}
	memset(b, 0, sizeof(*b));
}

void tv_buf_reset(struct tv_buf *b)
{
	if (!b->borrowed && b->d != NULL)
		OPENSSL_cleanse(b->d, b->len);
	b->len = b->off = 0;
}

size_t tv_buf_avail(const struct tv_buf *b) { return b->len - b->off; }
const uint8_t *tv_buf_ptr(const struct tv_buf *b)
{
	/* an empty buffer may have no storage: NULL + 0 is undefined, and
	 * callers pass the result to memcpy & co. with length 0 */
	static const uint8_t empty[1];
	return b->d == NULL ? empty : b->d + b->off;
}

int tv_buf_reserve(struct tv_buf *b, size_t n, uint8_t **out)
{
	size_t need, ncap;
	uint8_t *nd;

	if (b->borrowed)
		return tv_errf(TV_ERR_STATE, "write to a read-only buffer");
	if (n > b->max || b->len > b->max - n)
		return tv_errf(TV_ERR_RANGE, "buffer limit of %zu bytes exceeded", b->max);
	need = b->len + n;
	if (need > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < need)
			ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
		if (ncap > b->max)
			ncap = b->max;
		/* realloc would leave key material in the freed block: copy+wipe */
		nd = malloc(ncap);
		if (nd == NULL)
			return TV_ERR_NOMEM;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->len);
			OPENSSL_cleanse(b->d, b->cap);
			free(b->d);
		}
		b->d = nd;
		b->cap = ncap;
	}
	if (out != NULL)
		*out = b->d + b->len;
	b->len += n;
	return 0;
}

int tv_buf_put(struct tv_buf *b, const void *p, size_t n)
{
	uint8_t *dst;
	int r;

	if (n == 0)
		return 0;
	if ((r = tv_buf_reserve(b, n, &dst)) != 0)
		return r;
	memcpy(dst, p, n);
	return 0;
}

int tv_buf_put_u8(struct tv_buf *b, uint8_t v) { return tv_buf_put(b, &v, 1); }
int tv_buf_put_u16(struct tv_buf *b, uint16_t v)
{ uint8_t t[2]; tv_put_be16(t, v); return tv_buf_put(b, t, 2); }
int tv_buf_put_u32(struct tv_buf *b, uint32_t v)
{ uint8_t t[4]; tv_put_be32(t, v); return tv_buf_put(b, t, 4); }
int tv_buf_put_u64(struct tv_buf *b, uint64_t v)
{ uint8_t t[8]; tv_put_be64(t, v); return tv_buf_put(b, t, 8); }

int tv_buf_put_string(struct tv_buf *b, const void *p, size_t n)
{
	int r;
	if (n > UINT32_MAX)
		return tv_errf(TV_ERR_RANGE, "string too long");
	if ((r = tv_buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	return tv_buf_put(b, p, n);
}

int tv_buf_put_cstring(struct tv_buf *b, const char *s)
{
	return tv_buf_put_string(b, s, s ? strlen(s) : 0);
}

int tv_buf_get(struct tv_buf *b, void *p, size_t n)
{
	if (tv_buf_avail(b) < n)
		return TV_ERR_EOF;
	if (p != NULL && n > 0)
		memcpy(p, b->d + b->off, n);
	b->off += n;
	return 0;
}

int tv_buf_skip(struct tv_buf *b, size_t n) { return tv_buf_get(b, NULL, n); }

int tv_buf_get_u8(struct tv_buf *b, uint8_t *v) { return tv_buf_get(b, v, 1); }
int tv_buf_get_u16(struct tv_buf *b, uint16_t *v)
{ uint8_t t[2]; int r = tv_buf_get(b, t, 2); if (r == 0) *v = tv_get_be16(t); return r; }
int tv_buf_get_u32(struct tv_buf *b, uint32_t *v)
{ uint8_t t[4]; int r = tv_buf_get(b, t, 4); if (r == 0) *v = tv_get_be32(t); return r; }
int tv_buf_get_u64(struct tv_buf *b, uint64_t *v)
{ uint8_t t[8]; int r = tv_buf_get(b, t, 8); if (r == 0) *v = tv_get_be64(t); return r; }

int tv_buf_get_string_direct(struct tv_buf *b, const uint8_t **p, size_t *n,
                             size_t maxlen)
{
	uint32_t len;
	size_t save = b->off;
	int r;

	if ((r = tv_buf_get_u32(b, &len)) != 0)
		return r;
	if (len > maxlen || tv_buf_avail(b) < len) {
		b->off = save;
		return len > maxlen ? TV_ERR_RANGE : TV_ERR_EOF;
	}
	*p = b->d + b->off;
	*n = len;
	b->off += len;
	return 0;
}

int tv_buf_get_cstring(struct tv_buf *b, char **s, size_t maxlen)
{
	const uint8_t *p;
	size_t n;
	size_t save = b->off;
	int r;

	*s = NULL;
	if ((r = tv_buf_get_string_direct(b, &p, &n, maxlen)) != 0)
		return r;
	if (memchr(p, '\0', n) != NULL) {
		b->off = save;
		return TV_ERR_FORMAT;
	}
	if ((*s = malloc(n + 1)) == NULL) {
		b->off = save;
		return TV_ERR_NOMEM;
	}
	memcpy(*s, p, n);
	(*s)[n] = '\0';
	return 0;
}
