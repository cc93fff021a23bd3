/* tapevault: bounded byte buffer with typed big-endian get/put.
 *
 * A tv_buf owns (or borrows, for reading) a byte array.  Writers append
 * at the end; readers consume from the front.  Never cast structs onto
 * bytes: use these.
 *
 * Every untrusted byte (tape, catalog, KMS, backup file, escrow text) is
 * read through a tv_buf, as OpenSSH reads everything through sshbuf: a
 * getter checks the bounds, consumes what it returns and, when the bytes
 * are not there, returns TV_ERR_EOF with a detail that says what was short
 * ("buffer: 3 bytes left, 8 needed") and leaves the buffer as it was.
 * Structures inside structures are read from sub-buffers (tv_buf_froms),
 * which see exactly their own bytes.  The fields of struct tv_buf are
 * private to buf.c: everything else uses the functions below. */
#ifndef TV_BUF_H
#define TV_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Private to buf.c (declared here so that buffers can live on the stack). */
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
void tv_buf_reset(struct tv_buf *b);                  /* empty again, wiped */
/* Hands the storage over: *p (malloc'd, never NULL; the caller frees it,
 * wiping it first if it held secrets) starts with the *len unread bytes.
 * The buffer is left empty.  TV_ERR_STATE for a read-only view. */
int tv_buf_steal(struct tv_buf *b, uint8_t **p, size_t *len);

size_t tv_buf_avail(const struct tv_buf *b);         /* unread bytes */
const uint8_t *tv_buf_ptr(const struct tv_buf *b);   /* the first unread byte */
size_t tv_buf_tell(const struct tv_buf *b);          /* bytes consumed so far */

/* ---- writing ---- */
/* Appends n bytes and points *out (may be NULL) at them. */
int tv_buf_reserve(struct tv_buf *b, size_t n, uint8_t **out);
int tv_buf_put(struct tv_buf *b, const void *p, size_t n);
int tv_buf_put_u8(struct tv_buf *b, uint8_t v);
int tv_buf_put_u16(struct tv_buf *b, uint16_t v);
int tv_buf_put_u32(struct tv_buf *b, uint32_t v);
int tv_buf_put_u64(struct tv_buf *b, uint64_t v);
/* u32 length + bytes */
int tv_buf_put_string(struct tv_buf *b, const void *p, size_t n);
int tv_buf_put_cstring(struct tv_buf *b, const char *s);
/* Overwrites bytes already written, at off from the first unread byte
 * (back-patching a length): TV_ERR_RANGE past the end. */
int tv_buf_poke(struct tv_buf *b, size_t off, const void *p, size_t n);
int tv_buf_poke_u32(struct tv_buf *b, size_t off, uint32_t v);
/* Drops (and wipes) the last n bytes: undoes a partial append. */
int tv_buf_consume_end(struct tv_buf *b, size_t n);

/* ---- reading ---- */
/* Copies n bytes out (p may be NULL to skip them). */
int tv_buf_get(struct tv_buf *b, void *p, size_t n);
int tv_buf_consume(struct tv_buf *b, size_t n);       /* skips n bytes */
/* Points *p at the next n bytes in the buffer (no copy) and consumes them. */
int tv_buf_get_ptr(struct tv_buf *b, const uint8_t **p, size_t n);
/* Sub-buffer: *sub becomes a read-only view of exactly the next n bytes
 * of b, which are consumed from b.  sub borrows b's storage: do not write
 * to or free b while sub is in use. */
int tv_buf_froms(struct tv_buf *b, struct tv_buf *sub, size_t n);
int tv_buf_get_u8(struct tv_buf *b, uint8_t *v);
int tv_buf_get_u16(struct tv_buf *b, uint16_t *v);
int tv_buf_get_u32(struct tv_buf *b, uint32_t *v);
int tv_buf_get_u64(struct tv_buf *b, uint64_t *v);
/* Reads without consuming, at off from the first unread byte. */
int tv_buf_peek(const struct tv_buf *b, size_t off, void *p, size_t n);
int tv_buf_peek_u8(const struct tv_buf *b, size_t off, uint8_t *v);
int tv_buf_peek_u16(const struct tv_buf *b, size_t off, uint16_t *v);
int tv_buf_peek_u32(const struct tv_buf *b, size_t off, uint32_t *v);
int tv_buf_peek_u64(const struct tv_buf *b, size_t off, uint64_t *v);
/* u32 length + bytes, pointer into the buffer (no copy); len <= maxlen
 * (else TV_ERR_RANGE). */
int tv_buf_get_string_direct(struct tv_buf *b, const uint8_t **p, size_t *n,
                             size_t maxlen);
/* u32 length + bytes into a fresh NUL-terminated string; rejects embedded
 * NULs (TV_ERR_FORMAT); len <= maxlen. Caller frees. */
int tv_buf_get_cstring(struct tv_buf *b, char **s, size_t maxlen);

/* Raw big-endian helpers for fixed layouts that are written, not parsed
 * (records and frames assembled in place).  Bytes from outside are read
 * with the getters above. */
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
