#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"

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
		tv_wipe(b->d, b->cap);
		free(b->d);
	}
	memset(b, 0, sizeof(*b));
}

void tv_buf_reset(struct tv_buf *b)
{
	if (!b->borrowed && b->d != NULL)
		tv_wipe(b->d, b->len);
	b->len = b->off = 0;
}

int tv_buf_steal(struct tv_buf *b, uint8_t **p, size_t *len)
{
	size_t n = b->len - b->off;

	*p = NULL;
	*len = 0;
	if (b->borrowed)
		return tv_errf(TV_ERR_STATE, "buffer: a read-only view has no storage "
		               "to hand over");
	if (b->d == NULL && (b->d = malloc(1)) == NULL)
		return tv_errf(TV_ERR_NOMEM, "buffer: out of memory");
	if (b->off > 0) {
		/* the unread bytes to the front; what they leave behind is wiped */
		memmove(b->d, b->d + b->off, n);
		tv_wipe(b->d + n, b->off);
	}
	*p = b->d;
	*len = n;
	b->d = NULL;
	b->off = b->len = b->cap = 0;
	return 0;
}

size_t tv_buf_avail(const struct tv_buf *b) { return b->len - b->off; }
size_t tv_buf_tell(const struct tv_buf *b) { return b->off; }

const uint8_t *tv_buf_ptr(const struct tv_buf *b)
{
	/* an empty buffer may have no storage: NULL + 0 is undefined, and
	 * callers pass the result to memcpy & co. with length 0 */
	static const uint8_t empty[1];
	return b->d == NULL ? empty : b->d + b->off;
}

/* ---- writing ---- */

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
			return tv_errf(TV_ERR_NOMEM, "buffer: out of memory growing to "
			               "%zu bytes", ncap);
		if (b->d != NULL) {
			memcpy(nd, b->d, b->len);
			tv_wipe(b->d, b->cap);
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

int tv_buf_poke(struct tv_buf *b, size_t off, const void *p, size_t n)
{
	size_t avail = tv_buf_avail(b);

	if (b->borrowed)
		return tv_errf(TV_ERR_STATE, "write to a read-only buffer");
	if (off > avail || n > avail - off)
		return tv_errf(TV_ERR_RANGE, "buffer: %zu bytes to overwrite at offset "
		               "%zu, %zu bytes written", n, off, avail);
	if (n > 0)
		memcpy(b->d + b->off + off, p, n);
	return 0;
}

int tv_buf_poke_u32(struct tv_buf *b, size_t off, uint32_t v)
{
	uint8_t t[4];

	tv_put_be32(t, v);
	return tv_buf_poke(b, off, t, sizeof(t));
}

int tv_buf_consume_end(struct tv_buf *b, size_t n)
{
	size_t avail = tv_buf_avail(b);

	if (n > avail)
		return tv_errf(TV_ERR_RANGE, "buffer: %zu bytes to drop, %zu bytes left",
		               n, avail);
	if (n > 0 && !b->borrowed)
		tv_wipe(b->d + b->len - n, n);
	b->len -= n;
	return 0;
}

/* ---- reading ---- */

static int short_err(size_t avail, size_t n)
{
	return tv_errf(TV_ERR_EOF, "buffer: %zu bytes left, %zu needed", avail, n);
}

int tv_buf_get_ptr(struct tv_buf *b, const uint8_t **p, size_t n)
{
	size_t avail = tv_buf_avail(b);

	if (avail < n)
		return short_err(avail, n);
	*p = tv_buf_ptr(b);
	b->off += n;
	return 0;
}

int tv_buf_get(struct tv_buf *b, void *p, size_t n)
{
	const uint8_t *s = NULL;
	int r;

	if ((r = tv_buf_get_ptr(b, &s, n)) != 0)
		return r;
	if (p != NULL && n > 0)
		memcpy(p, s, n);
	return 0;
}

int tv_buf_consume(struct tv_buf *b, size_t n) { return tv_buf_get(b, NULL, n); }

int tv_buf_froms(struct tv_buf *b, struct tv_buf *sub, size_t n)
{
	const uint8_t *p = NULL;
	int r;

	if ((r = tv_buf_get_ptr(b, &p, n)) != 0) {
		tv_buf_view(sub, NULL, 0);
		return r;
	}
	tv_buf_view(sub, p, n);
	return 0;
}

int tv_buf_get_u8(struct tv_buf *b, uint8_t *v) { return tv_buf_get(b, v, 1); }
int tv_buf_get_u16(struct tv_buf *b, uint16_t *v)
{ uint8_t t[2]; int r = tv_buf_get(b, t, 2); if (r == 0) *v = tv_get_be16(t); return r; }
int tv_buf_get_u32(struct tv_buf *b, uint32_t *v)
{ uint8_t t[4]; int r = tv_buf_get(b, t, 4); if (r == 0) *v = tv_get_be32(t); return r; }
int tv_buf_get_u64(struct tv_buf *b, uint64_t *v)
{ uint8_t t[8]; int r = tv_buf_get(b, t, 8); if (r == 0) *v = tv_get_be64(t); return r; }

int tv_buf_peek(const struct tv_buf *b, size_t off, void *p, size_t n)
{
	size_t avail = tv_buf_avail(b);

	if (off > avail || n > avail - off)
		return tv_errf(TV_ERR_EOF, "buffer: %zu bytes left, %zu needed at "
		               "offset %zu", avail, n, off);
	if (n > 0)
		memcpy(p, tv_buf_ptr(b) + off, n);
	return 0;
}

int tv_buf_peek_u8(const struct tv_buf *b, size_t off, uint8_t *v)
{ return tv_buf_peek(b, off, v, 1); }
int tv_buf_peek_u16(const struct tv_buf *b, size_t off, uint16_t *v)
{ uint8_t t[2]; int r = tv_buf_peek(b, off, t, 2); if (r == 0) *v = tv_get_be16(t); return r; }
int tv_buf_peek_u32(const struct tv_buf *b, size_t off, uint32_t *v)
{ uint8_t t[4]; int r = tv_buf_peek(b, off, t, 4); if (r == 0) *v = tv_get_be32(t); return r; }
int tv_buf_peek_u64(const struct tv_buf *b, size_t off, uint64_t *v)
{ uint8_t t[8]; int r = tv_buf_peek(b, off, t, 8); if (r == 0) *v = tv_get_be64(t); return r; }

int tv_buf_get_string_direct(struct tv_buf *b, const uint8_t **p, size_t *n,
                             size_t maxlen)
{
	uint32_t len;
	int r;

	if ((r = tv_buf_peek_u32(b, 0, &len)) != 0)
		return r;
	if (len > maxlen)
		return tv_errf(TV_ERR_RANGE, "buffer: string of %u bytes exceeds the "
		               "limit of %zu", (unsigned)len, maxlen);
	if ((size_t)len > tv_buf_avail(b) - 4)
		return tv_errf(TV_ERR_EOF, "buffer: string of %u bytes, %zu bytes left",
		               (unsigned)len, tv_buf_avail(b) - 4);
	if ((r = tv_buf_consume(b, 4)) != 0 || (r = tv_buf_get_ptr(b, p, len)) != 0)
		return r;
	*n = len;
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
		return tv_errf(TV_ERR_FORMAT, "buffer: string of %zu bytes contains a "
		               "NUL byte", n);
	}
	if ((*s = malloc(n + 1)) == NULL) {
		b->off = save;
		return tv_errf(TV_ERR_NOMEM, "buffer: out of memory for a string of "
		               "%zu bytes", n);
	}
	memcpy(*s, p, n);
	(*s)[n] = '\0';
	return 0;
}
