/* tapevault: KMIP TTLV codec.  See ttlv.h for the rules it enforces. */
#include "kms/ttlv.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static int tag_ok(uint32_t tag)
{
	uint32_t hi = tag >> 16;
	return hi == 0x42 || hi == 0x54;
}

/* Required value length of fixed-size types; 0 for variable ones. */
static uint32_t fixed_len(uint8_t type)
{
	switch (type) {
	case TV_TTLV_INT: case TV_TTLV_ENUM: case TV_TTLV_INTERVAL:
		return 4;
	case TV_TTLV_LONG: case TV_TTLV_BOOL: case TV_TTLV_DATETIME:
	case TV_TTLV_DATETIME_EXT:
		return 8;
	default:
		return 0;
	}
}

static int type_known(uint8_t type)
{
	return type >= TV_TTLV_STRUCT && type <= TV_TTLV_DATETIME_EXT;
}

int tv_ttlv_msg_len(const uint8_t hdr[TV_TTLV_HDR], size_t max, size_t *total)
{
	uint32_t tag = (uint32_t)hdr[0] << 16 | (uint32_t)hdr[1] << 8 | hdr[2];
	uint32_t len = tv_get_be32(hdr + 4);

	if (!tag_ok(tag) || hdr[3] != TV_TTLV_STRUCT)
		return tv_errf(TV_ERR_PROTO, "not a KMIP message (tag 0x%06X type 0x%02X)",
		               (unsigned)tag, hdr[3]);
	if (len % 8 != 0)
		return tv_errf(TV_ERR_PROTO, "KMIP message length %u is not a multiple of 8",
		               (unsigned)len);
	if ((size_t)len > max - TV_TTLV_HDR)
		return tv_errf(TV_ERR_PROTO, "KMIP message of %u bytes exceeds the limit of %zu",
		               (unsigned)len, max);
	*total = (size_t)len + TV_TTLV_HDR;
	return 0;
}

struct dctx {
	struct tv_ttlv_doc *doc;
	const uint8_t *base;
};

static int parse_seq(struct dctx *c, size_t off, size_t n, uint16_t depth,
                     struct tv_ttlv *parent);

/* Parse one item at base+off with `avail` bytes left; returns its node and
 * the bytes it occupies (header + padded value). */
static int parse_item(struct dctx *c, size_t off, size_t avail, uint16_t depth,
                      struct tv_ttlv **out, size_t *used)
{
	const uint8_t *h = c->base + off;
	struct tv_ttlv *nd;
	uint32_t tag, len, fl;
	uint8_t type;
	size_t padded;
	int r;

	if (avail < TV_TTLV_HDR)
		return tv_errf(TV_ERR_FORMAT, "TTLV: truncated header at offset %zu", off);
	tag = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	type = h[3];
	len = tv_get_be32(h + 4);
	if (!tag_ok(tag))
		return tv_errf(TV_ERR_FORMAT, "TTLV: invalid tag 0x%06X at offset %zu",
		               (unsigned)tag, off);
	if (!type_known(type))
		return tv_errf(TV_ERR_FORMAT, "TTLV: unknown type 0x%02X (tag 0x%06X) at offset %zu",
		               type, (unsigned)tag, off);
	fl = fixed_len(type);
	if (fl != 0 && len != fl)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X type 0x%02X must have length %u, has %u",
		               (unsigned)tag, type, (unsigned)fl, (unsigned)len);
	if ((type == TV_TTLV_STRUCT || type == TV_TTLV_BIGINT) && len % 8 != 0)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X length %u not a multiple of 8",
		               (unsigned)tag, (unsigned)len);
	if ((size_t)len > avail - TV_TTLV_HDR)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X length %u exceeds the %zu bytes left",
		               (unsigned)tag, (unsigned)len, avail - TV_TTLV_HDR);
	padded = pad8(len);
	if (padded > avail - TV_TTLV_HDR)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X padding runs past the end",
		               (unsigned)tag);
	for (size_t i = len; i < padded; i++)
		if (h[TV_TTLV_HDR + i] != 0)
			return tv_errf(TV_ERR_FORMAT, "TTLV: nonzero padding after tag 0x%06X",
			               (unsigned)tag);
	if (type == TV_TTLV_BOOL) {
		uint64_t v = tv_get_be64(h + TV_TTLV_HDR);
		if (v > 1)
			return tv_errf(TV_ERR_FORMAT, "TTLV: boolean tag 0x%06X is not 0 or 1",
			               (unsigned)tag);
	}
	if (c->doc->n >= c->doc->cap)
		return tv_errf(TV_ERR_RANGE, "TTLV: more than %zu items", c->doc->cap);
	nd = &c->doc->nodes[c->doc->n++];
	memset(nd, 0, sizeof(*nd));
	nd->tag = tag;
	nd->type = type;
	nd->len = len;
	nd->val = h + TV_TTLV_HDR;
	nd->depth = depth;
	if (type == TV_TTLV_STRUCT) {
		if (depth + 1 >= TV_TTLV_MAX_DEPTH)
			return tv_errf(TV_ERR_RANGE, "TTLV: nesting deeper than %d",
			               TV_TTLV_MAX_DEPTH);
		if ((r = parse_seq(c, off + TV_TTLV_HDR, len, (uint16_t)(depth + 1), nd)) != 0)
			return r;
	}
	*out = nd;
	*used = TV_TTLV_HDR + padded;
	return 0;
}

static int parse_seq(struct dctx *c, size_t off, size_t n, uint16_t depth,
                     struct tv_ttlv *parent)
{
	struct tv_ttlv *last = NULL, *nd;
	size_t pos = 0, used;
	int r;

	while (pos < n) {
		if ((r = parse_item(c, off + pos, n - pos, depth, &nd, &used)) != 0)
			return r;
		if (last == NULL)
			parent->child = nd;
		else
			last->next = nd;
		last = nd;
		parent->nchild++;
		pos += used;
	}
	return 0;
}

int tv_ttlv_decode(const uint8_t *p, size_t n, struct tv_ttlv_doc *doc)
{
	struct dctx c;
	struct tv_ttlv *root;
	size_t used = 0, cap;
	int r;

	memset(doc, 0, sizeof(*doc));
	if (n < TV_TTLV_HDR)
		return tv_errf(TV_ERR_FORMAT, "TTLV: message of %zu bytes is too short", n);
	if (n > TV_TTLV_MAX_MSG)
		return tv_errf(TV_ERR_RANGE, "TTLV: message of %zu bytes exceeds the limit of %zu",
		               n, TV_TTLV_MAX_MSG);
	/* Each item takes at least 8 bytes, so n/8 nodes always suffice;
	 * allocating them up front keeps node pointers stable. */
	cap = n / TV_TTLV_HDR;
	if (cap > TV_TTLV_MAX_NODES)
		cap = TV_TTLV_MAX_NODES;
	doc->nodes = calloc(cap, sizeof(*doc->nodes));
	if (doc->nodes == NULL)
		return TV_ERR_NOMEM;
	doc->cap = cap;
	c.doc = doc;
	c.base = p;
	if ((r = parse_item(&c, 0, n, 0, &root, &used)) != 0)
		goto fail;
	if (used != n) {
		r = tv_errf(TV_ERR_FORMAT, "TTLV: %zu trailing bytes after the message", n - used);
		goto fail;
	}
	return 0;
fail:
	tv_ttlv_doc_free(doc);
	return r;
}

void tv_ttlv_doc_free(struct tv_ttlv_doc *doc)
{
	free(doc->nodes);
	memset(doc, 0, sizeof(*doc));
}

/* ---- access ---- */

const struct tv_ttlv *tv_ttlv_find(const struct tv_ttlv *s, uint32_t tag)
{
	if (s == NULL || s->type != TV_TTLV_STRUCT)
		return NULL;
	for (const struct tv_ttlv *c = s->child; c != NULL; c = c->next)
		if (c->tag == tag)
			return c;
	return NULL;
}

const struct tv_ttlv *tv_ttlv_find_next(const struct tv_ttlv *n)
{
	if (n == NULL)
		return NULL;
	for (const struct tv_ttlv *c = n->next; c != NULL; c = c->next)
		if (c->tag == n->tag)
			return c;
	return NULL;
}

size_t tv_ttlv_count(const struct tv_ttlv *s, uint32_t tag)
{
	size_t k = 0;
	for (const struct tv_ttlv *c = tv_ttlv_find(s, tag); c; c = tv_ttlv_find_next(c))
		k++;
	return k;
}

static int want(const struct tv_ttlv *n, uint8_t type)
{
	if (n == NULL)
		return tv_errf(TV_ERR_FORMAT, "TTLV: missing item");
	if (n->type != type)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X has type 0x%02X, expected 0x%02X",
		               (unsigned)n->tag, n->type, type);
	return 0;
}

int tv_ttlv_int(const struct tv_ttlv *n, int32_t *v)
{
	int r = want(n, TV_TTLV_INT);
	if (r == 0)
		*v = (int32_t)tv_get_be32(n->val);
	return r;
}

int tv_ttlv_long(const struct tv_ttlv *n, int64_t *v)
{
	int r = want(n, TV_TTLV_LONG);
	if (r == 0)
		*v = (int64_t)tv_get_be64(n->val);
	return r;
}

int tv_ttlv_enum(const struct tv_ttlv *n, uint32_t *v)
{
	int r = want(n, TV_TTLV_ENUM);
	if (r == 0)
		*v = tv_get_be32(n->val);
	return r;
}

int tv_ttlv_bool(const struct tv_ttlv *n, int *v)
{
	int r = want(n, TV_TTLV_BOOL);
	if (r == 0)
		*v = tv_get_be64(n->val) != 0;
	return r;
}

int tv_ttlv_datetime(const struct tv_ttlv *n, int64_t *v)
{
	int r = want(n, TV_TTLV_DATETIME);
	if (r == 0)
		*v = (int64_t)tv_get_be64(n->val);
	return r;
}

int tv_ttlv_interval(const struct tv_ttlv *n, uint32_t *v)
{
	int r = want(n, TV_TTLV_INTERVAL);
	if (r == 0)
		*v = tv_get_be32(n->val);
	return r;
}

int tv_ttlv_find_u32(const struct tv_ttlv *s, uint32_t tag, uint32_t *v)
{
	const struct tv_ttlv *n = tv_ttlv_find(s, tag);

	if (n == NULL)
		return tv_errf(TV_ERR_NOTFOUND, "TTLV: no item with tag 0x%06X", (unsigned)tag);
	if (n->type != TV_TTLV_INT && n->type != TV_TTLV_ENUM)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X is not an integer", (unsigned)tag);
	*v = tv_get_be32(n->val);
	return 0;
}

int tv_ttlv_text(const struct tv_ttlv *n, char *out, size_t outsz)
{
	int r = want(n, TV_TTLV_TEXT);

	if (r != 0)
		return r;
	if (outsz == 0 || n->len >= outsz)
		return tv_errf(TV_ERR_RANGE, "TTLV: text of %u bytes (tag 0x%06X) too long",
		               (unsigned)n->len, (unsigned)n->tag);
	if (memchr(n->val, '\0', n->len) != NULL)
		return tv_errf(TV_ERR_FORMAT, "TTLV: text (tag 0x%06X) contains a NUL byte",
		               (unsigned)n->tag);
	memcpy(out, n->val, n->len);
	out[n->len] = '\0';
	return 0;
}

int tv_ttlv_bytes(const struct tv_ttlv *n, const uint8_t **p, size_t *len)
{
	if (n == NULL)
		return tv_errf(TV_ERR_FORMAT, "TTLV: missing item");
	if (n->type != TV_TTLV_BYTES && n->type != TV_TTLV_TEXT)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X is not a byte string",
		               (unsigned)n->tag);
	*p = n->val;
	*len = n->len;
	return 0;
}

/* ---- encoder ---- */

void tv_ttlv_enc_init(struct tv_ttlv_enc *e, struct tv_buf *b)
{
	memset(e, 0, sizeof(*e));
	e->b = b;
}

static int enc_fail(struct tv_ttlv_enc *e, int r)
{
	if (e->err == 0)
		e->err = r;
	return e->err;
}

static int put_hdr(struct tv_ttlv_enc *e, uint32_t tag, uint8_t type, uint32_t len)
{
	uint8_t h[TV_TTLV_HDR];
	int r;

	if (e->err != 0)
		return e->err;
	if (!tag_ok(tag))
		return enc_fail(e, tv_errf(TV_ERR_INVAL, "TTLV: invalid tag 0x%06X", (unsigned)tag));
	h[0] = (uint8_t)(tag >> 16);
	h[1] = (uint8_t)(tag >> 8);
	h[2] = (uint8_t)tag;
	h[3] = type;
	tv_put_be32(h + 4, len);
	if ((r = tv_buf_put(e->b, h, sizeof(h))) != 0)
		return enc_fail(e, r);
	return 0;
}

static int put_val(struct tv_ttlv_enc *e, uint32_t tag, uint8_t type,
                   const void *p, size_t n)
{
	static const uint8_t zeros[8];
	int r;

	if (n > UINT32_MAX - 8)
		return enc_fail(e, tv_errf(TV_ERR_RANGE, "TTLV: value too long"));
	if ((r = put_hdr(e, tag, type, (uint32_t)n)) != 0)
		return r;
	if ((r = tv_buf_put(e->b, p, n)) != 0 ||
	    (r = tv_buf_put(e->b, zeros, pad8(n) - n)) != 0)
		return enc_fail(e, r);
	return 0;
}

int tv_ttlv_begin(struct tv_ttlv_enc *e, uint32_t tag)
{
	size_t off = e->b->len;
	int r;

	if (e->err != 0)
		return e->err;
	if (e->depth >= TV_TTLV_MAX_DEPTH - 1)     /* what the decoder accepts */
		return enc_fail(e, tv_errf(TV_ERR_RANGE, "TTLV: nesting deeper than %d",
		                           TV_TTLV_MAX_DEPTH));
	if ((r = put_hdr(e, tag, TV_TTLV_STRUCT, 0)) != 0)
		return r;
	e->open[e->depth++] = off;
	return 0;
}

int tv_ttlv_end(struct tv_ttlv_enc *e)
{
	size_t off, len;

	if (e->err != 0)
		return e->err;
	if (e->depth == 0)
		return enc_fail(e, tv_errf(TV_ERR_INTERNAL, "TTLV: end without begin"));
	off = e->open[--e->depth];
	len = e->b->len - off - TV_TTLV_HDR;
	if (len > UINT32_MAX)
		return enc_fail(e, tv_errf(TV_ERR_RANGE, "TTLV: structure too long"));
	tv_put_be32(e->b->d + off + 4, (uint32_t)len);
	return 0;
}

int tv_ttlv_put_int(struct tv_ttlv_enc *e, uint32_t tag, int32_t v)
{
	uint8_t t[4];
	tv_put_be32(t, (uint32_t)v);
	return put_val(e, tag, TV_TTLV_INT, t, 4);
}

int tv_ttlv_put_long(struct tv_ttlv_enc *e, uint32_t tag, int64_t v)
{
	uint8_t t[8];
	tv_put_be64(t, (uint64_t)v);
	return put_val(e, tag, TV_TTLV_LONG, t, 8);
}

int tv_ttlv_put_bigint(struct tv_ttlv_enc *e, uint32_t tag, const uint8_t *p, size_t n)
{
	if (n % 8 != 0)
		return enc_fail(e, tv_errf(TV_ERR_INVAL,
		                           "TTLV: big integer length must be a multiple of 8"));
	return put_val(e, tag, TV_TTLV_BIGINT, p, n);
}

int tv_ttlv_put_enum(struct tv_ttlv_enc *e, uint32_t tag, uint32_t v)
{
	uint8_t t[4];
	tv_put_be32(t, v);
	return put_val(e, tag, TV_TTLV_ENUM, t, 4);
}

int tv_ttlv_put_bool(struct tv_ttlv_enc *e, uint32_t tag, int v)
{
	uint8_t t[8];
	tv_put_be64(t, v ? 1 : 0);
	return put_val(e, tag, TV_TTLV_BOOL, t, 8);
}

int tv_ttlv_put_text_n(struct tv_ttlv_enc *e, uint32_t tag, const char *s, size_t n)
{
	return put_val(e, tag, TV_TTLV_TEXT, s, n);
}

int tv_ttlv_put_text(struct tv_ttlv_enc *e, uint32_t tag, const char *s)
{
	return tv_ttlv_put_text_n(e, tag, s, s ? strlen(s) : 0);
}

int tv_ttlv_put_bytes(struct tv_ttlv_enc *e, uint32_t tag, const uint8_t *p, size_t n)
{
	return put_val(e, tag, TV_TTLV_BYTES, p, n);
}

int tv_ttlv_put_datetime(struct tv_ttlv_enc *e, uint32_t tag, int64_t v)
{
	uint8_t t[8];
	tv_put_be64(t, (uint64_t)v);
	return put_val(e, tag, TV_TTLV_DATETIME, t, 8);
}

int tv_ttlv_put_interval(struct tv_ttlv_enc *e, uint32_t tag, uint32_t v)
{
	uint8_t t[4];
	tv_put_be32(t, v);
	return put_val(e, tag, TV_TTLV_INTERVAL, t, 4);
}

int tv_ttlv_put_node(struct tv_ttlv_enc *e, const struct tv_ttlv *n)
{
	int r;

	if (n == NULL)
		return enc_fail(e, tv_errf(TV_ERR_INVAL, "TTLV: NULL node"));
	if (n->type != TV_TTLV_STRUCT)
		return put_val(e, n->tag, n->type, n->val, n->len);
	if ((r = tv_ttlv_begin(e, n->tag)) != 0)
		return r;
	for (const struct tv_ttlv *c = n->child; c != NULL; c = c->next)
		if ((r = tv_ttlv_put_node(e, c)) != 0)
			return r;
	return tv_ttlv_end(e);
}

int tv_ttlv_enc_finish(struct tv_ttlv_enc *e)
{
	if (e->err != 0)
		return e->err;
	if (e->depth != 0)
		return enc_fail(e, tv_errf(TV_ERR_INTERNAL, "TTLV: %d structure(s) left open",
		                           e->depth));
	return 0;
}
