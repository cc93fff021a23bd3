/* tapevault: KMIP TTLV codec (Tag-Type-Length-Value).
 *
 * Wire format (KMIP 1.x/2.x, all big-endian):
 *   tag     3 bytes  (0x42xxxx standard, 0x54xxxx extensions)
 *   type    1 byte   (enum tv_ttlv_type)
 *   length  4 bytes  (length of the value, without padding)
 *   value   `length` bytes, then zero padding up to a multiple of 8
 *
 * Decoder: tv_ttlv_decode() turns one complete message into a tree of
 * nodes.  It is written for hostile input: every length is checked
 * against the enclosing structure, fixed-size types must have their fixed
 * length, padding must be zero, booleans must be 0 or 1, nesting depth,
 * node count and total size are bounded, and the root item must span the
 * input exactly.  Nodes point into the caller's buffer (no copies): keep
 * the buffer alive while using the tree and wipe it afterwards if it held
 * key material.
 *
 * Encoder: struct tv_ttlv_enc appends items to a tv_buf; structures are
 * opened with tv_ttlv_begin() and closed with tv_ttlv_end(), which
 * back-patches the length.  Errors are sticky: a sequence of put calls
 * can be checked once with tv_ttlv_enc_finish().
 */
#ifndef TV_KMS_TTLV_H
#define TV_KMS_TTLV_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum tv_ttlv_type {
	TV_TTLV_STRUCT = 0x01,
	TV_TTLV_INT = 0x02,        /* 32-bit signed, len 4 */
	TV_TTLV_LONG = 0x03,       /* 64-bit signed, len 8 */
	TV_TTLV_BIGINT = 0x04,     /* two's complement, len multiple of 8 */
	TV_TTLV_ENUM = 0x05,       /* 32-bit unsigned, len 4 */
	TV_TTLV_BOOL = 0x06,       /* 64-bit 0 or 1, len 8 */
	TV_TTLV_TEXT = 0x07,       /* UTF-8, any len */
	TV_TTLV_BYTES = 0x08,      /* any len */
	TV_TTLV_DATETIME = 0x09,   /* 64-bit signed POSIX seconds, len 8 */
	TV_TTLV_INTERVAL = 0x0A,   /* 32-bit unsigned seconds, len 4 */
	TV_TTLV_DATETIME_EXT = 0x0B /* KMIP 2.0: 64-bit microseconds, len 8 */
};

/* Bounds of the decoder (and the encoder's nesting). */
#define TV_TTLV_MAX_DEPTH 24
#define TV_TTLV_MAX_NODES 16384
#define TV_TTLV_MAX_MSG ((size_t)4 * 1024 * 1024)
#define TV_TTLV_HDR 8

struct tv_ttlv {
	uint32_t tag;                 /* 24-bit */
	uint8_t type;                 /* enum tv_ttlv_type */
	uint32_t len;                 /* value length as encoded (unpadded) */
	const uint8_t *val;           /* value bytes in the decoded buffer */
	struct tv_ttlv *child;        /* first child (structures) */
	struct tv_ttlv *next;         /* next sibling */
	uint32_t nchild;
	uint16_t depth;               /* 0 for the root */
};

struct tv_ttlv_doc {
	struct tv_ttlv *nodes;        /* nodes[0] is the root */
	size_t n, cap;
};

/* Length of the complete message whose 8-byte header is at hdr (header +
 * padded value), for reading a message off a stream.  Fails when the
 * header is not a structure or the length exceeds max. */
int tv_ttlv_msg_len(const uint8_t hdr[TV_TTLV_HDR], size_t max, size_t *total);

/* Decode exactly one item filling [p, p+n).  On success doc->nodes[0] is
 * the root; free with tv_ttlv_doc_free (also safe after a failure). */
int tv_ttlv_decode(const uint8_t *p, size_t n, struct tv_ttlv_doc *doc);
void tv_ttlv_doc_free(struct tv_ttlv_doc *doc);
static inline const struct tv_ttlv *tv_ttlv_root(const struct tv_ttlv_doc *d)
{ return d->n ? &d->nodes[0] : NULL; }

/* --- tree access (NULL-safe: a NULL parent finds nothing) --- */
/* First child of s with this tag, or NULL. */
const struct tv_ttlv *tv_ttlv_find(const struct tv_ttlv *s, uint32_t tag);
/* Next sibling after n with the same tag, or NULL. */
const struct tv_ttlv *tv_ttlv_find_next(const struct tv_ttlv *n);
/* Number of children of s with this tag. */
size_t tv_ttlv_count(const struct tv_ttlv *s, uint32_t tag);

/* Typed getters: TV_ERR_FORMAT when the node has another type. */
int tv_ttlv_int(const struct tv_ttlv *n, int32_t *v);
int tv_ttlv_long(const struct tv_ttlv *n, int64_t *v);
int tv_ttlv_enum(const struct tv_ttlv *n, uint32_t *v);
int tv_ttlv_bool(const struct tv_ttlv *n, int *v);
int tv_ttlv_datetime(const struct tv_ttlv *n, int64_t *v);
int tv_ttlv_interval(const struct tv_ttlv *n, uint32_t *v);
/* Integer or Enumeration child (KMIP attribute values are either). */
int tv_ttlv_find_u32(const struct tv_ttlv *s, uint32_t tag, uint32_t *v);
/* Text into a NUL-terminated buffer: rejects embedded NULs and strings
 * that do not fit (TV_ERR_RANGE). */
int tv_ttlv_text(const struct tv_ttlv *n, char *out, size_t outsz);
/* Byte or text string, pointer into the decoded buffer. */
int tv_ttlv_bytes(const struct tv_ttlv *n, const uint8_t **p, size_t *len);

/* --- encoder --- */
struct tv_ttlv_enc {
	struct tv_buf *b;
	size_t open[TV_TTLV_MAX_DEPTH];   /* offsets of open structure headers */
	int depth;
	int err;                          /* sticky first error */
};

void tv_ttlv_enc_init(struct tv_ttlv_enc *e, struct tv_buf *b);
int tv_ttlv_begin(struct tv_ttlv_enc *e, uint32_t tag);
int tv_ttlv_end(struct tv_ttlv_enc *e);
int tv_ttlv_put_int(struct tv_ttlv_enc *e, uint32_t tag, int32_t v);
int tv_ttlv_put_long(struct tv_ttlv_enc *e, uint32_t tag, int64_t v);
int tv_ttlv_put_bigint(struct tv_ttlv_enc *e, uint32_t tag, const uint8_t *p, size_t n);
int tv_ttlv_put_enum(struct tv_ttlv_enc *e, uint32_t tag, uint32_t v);
int tv_ttlv_put_bool(struct tv_ttlv_enc *e, uint32_t tag, int v);
int tv_ttlv_put_text(struct tv_ttlv_enc *e, uint32_t tag, const char *s);
int tv_ttlv_put_text_n(struct tv_ttlv_enc *e, uint32_t tag, const char *s, size_t n);
int tv_ttlv_put_bytes(struct tv_ttlv_enc *e, uint32_t tag, const uint8_t *p, size_t n);
int tv_ttlv_put_datetime(struct tv_ttlv_enc *e, uint32_t tag, int64_t v);
int tv_ttlv_put_interval(struct tv_ttlv_enc *e, uint32_t tag, uint32_t v);
/* Re-encode a decoded node (recursively): decode + encode is the identity
 * on every message the decoder accepts. */
int tv_ttlv_put_node(struct tv_ttlv_enc *e, const struct tv_ttlv *n);
/* 0 when every put succeeded and all structures are closed. */
int tv_ttlv_enc_finish(struct tv_ttlv_enc *e);

#endif
