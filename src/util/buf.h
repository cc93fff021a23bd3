/* tapevault: bounded byte buffer with typed big-endian get/put.
 *
 * A tv_buf owns (or borrows, for reading) a byte array.  Writers append
 * at the end; readers consume from `off`.  Every get checks bounds and
 * returns TV_ERR_EOF instead of reading past the end.  Never cast structs
 * onto bytes: use these. */
#ifndef TV_BUF_H
#define TV_BUF_H

#include <stddef.h>
#include <stdint.h>

struct tv_buf {
	uint8_t *d;        /* storage */
	size_t off;        /* read offset */
	size_t len;        /* bytes of valid data */
	size_t cap;        /* allocated size (0 for borrowed read-only views) */
	size_t max;        /* growth limit */
	int borrowed;      /* d not owned */
};

#define TV_BUF_MAX_DEFAULT ((size_t)256 * 1024 * 1024)

void tv_buf_init(struct tv_buf *b);                   /* empty, growable */
void tv_buf_init_max(struct tv_buf *b, size_t max);
/* Read-only view on existing bytes (not copied, not freed). */
void tv_buf_view(struct tv_buf *b, const void *p, size_t len);
/* Release; wipes the contents first (buffers often carry key material). */
void tv_buf_free(struct tv_buf *b);
void tv_buf_reset(struct tv_buf *b);                  /* len = off = 0, wiped */

size_t tv_buf_avail(const struct tv_buf *b);         /* len - off */
const uint8_t *tv_buf_ptr(const struct tv_buf *b);   /* d + off */
int tv_buf_reserve(struct tv_buf *b, size_t n, uint8_t **out);

int tv_buf_put(struct tv_buf *b, const void *p, size_t n);
int tv_buf_put_u8(struct tv_buf *b, uint8_t v);
int tv_buf_put_u16(struct tv_buf *b, uint16_t v);
int tv_buf_put_u32(struct tv_buf *b, uint32_t v);
int tv_buf_put_u64(struct tv_buf *b, uint64_t v);
/* u32 length + bytes */
int tv_buf_put_string(struct tv_buf *b, const void *p, size_t n);
int tv_buf_put_cstring(struct tv_buf *b, const char *s);

int tv_buf_get(struct tv_buf *b, void *p, size_t n);
int tv_buf_skip(struct tv_buf *b, size_t n);
int tv_buf_get_u8(struct tv_buf *b, uint8_t *v);
int tv_buf_get_u16(struct tv_buf *b, uint16_t *v);
int tv_buf_get_u32(struct tv_buf *b, uint32_t *v);
int tv_buf_get_u64(struct tv_buf *b, uint64_t *v);
/* u32 length + bytes, pointer into the buffer (no copy); len <= maxlen */
int tv_buf_get_string_direct(struct tv_buf *b, const uint8_t **p, size_t *n,
                             size_t maxlen);
/* u32 length + bytes into a fresh NUL-terminated string; rejects embedded
 * NULs; len <= maxlen. Caller frees. */
int tv_buf_get_cstring(struct tv_buf *b, char **s, size_t maxlen);

/* Raw big-endian helpers for fixed layouts. */
static inline void tv_put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void tv_put_be32(uint8_t *p, uint32_t v)
{ p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static inline void tv_put_be64(uint8_t *p, uint64_t v)
{ tv_put_be32(p, (uint32_t)(v >> 32)); tv_put_be32(p + 4, (uint32_t)v); }
static inline uint16_t tv_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t tv_get_be32(const uint8_t *p)
{ return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint64_t tv_get_be64(const uint8_t *p)
{ return (uint64_t)tv_get_be32(p) << 32 | tv_get_be32(p + 4); }
static inline void tv_put_le32(uint8_t *p, uint32_t v)
{ p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = v >> 24; }
static inline uint32_t tv_get_le32(const uint8_t *p)
{ return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }

#endif
