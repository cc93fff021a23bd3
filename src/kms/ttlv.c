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

/* Tag (24 bits) and type of an item header. */
static int get_tag_type(struct tv_buf *b, uint32_t *tag, uint8_t *type)
{
	uint32_t tt;
	int r;

	if ((r = tv_buf_get_u32(b, &tt)) != 0)
		return r;
	*tag = tt >> 8;
	*type = (uint8_t)tt;
	return 0;
}

int tv_ttlv_msg_len(const uint8_t hdr[TV_TTLV_HDR], size_t max, size_t *total)
{
	struct tv_buf b;
	uint32_t tag = 0, len = 0;
	uint8_t type = 0;
	int r;

	tv_buf_view(&b, hdr, TV_TTLV_HDR);
	if ((r = get_tag_type(&b, &tag, &type)) != 0 || (r = tv_buf_get_u32(&b, &len)) != 0)
		return r;
	if (!tag_ok(tag) || type != TV_TTLV_STRUCT)
		return tv_errf(TV_ERR_PROTO, "not a KMIP message (tag 0x%06X type 0x%02X)",
		               (unsigned)tag, type);
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
};

static int parse_seq(struct dctx *c, struct tv_buf *b, size_t base, uint16_t depth,
                     struct tv_ttlv *parent);

/* Parses the next item of b, which starts `base` bytes into the message
 * (for the offsets in messages); consumes the item's header, value and
 * padding. */
static int parse_item(struct dctx *c, struct tv_buf *b, size_t base, uint16_t depth,
                      struct tv_ttlv **out)
{
	size_t off = base + tv_buf_tell(b), avail = tv_buf_avail(b);
	struct tv_buf val;
	const uint8_t *pad = NULL;
	struct tv_ttlv *nd;
	uint32_t tag = 0, len = 0, fl;
	uint8_t type = 0;
	size_t padded;
	int r;

	if (avail < TV_TTLV_HDR)
		return tv_errf(TV_ERR_FORMAT, "TTLV: truncated header at offset %zu", off);
	if ((r = get_tag_type(b, &tag, &type)) != 0 || (r = tv_buf_get_u32(b, &len)) != 0)
		return r;
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
	if ((size_t)len > tv_buf_avail(b))
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X length %u exceeds the %zu bytes left",
		               (unsigned)tag, (unsigned)len, tv_buf_avail(b));
	padded = pad8(len);
	if (padded > tv_buf_avail(b))
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X padding runs past the end",
		               (unsigned)tag);
	if ((r = tv_buf_froms(b, &val, len)) != 0 ||
	    (r = tv_buf_get_ptr(b, &pad, padded - len)) != 0)
		return r;
	for (size_t i = 0; i < padded - len; i++)
		if (pad[i] != 0)
			return tv_errf(TV_ERR_FORMAT, "TTLV: nonzero padding after tag 0x%06X",
			               (unsigned)tag);
	if (type == TV_TTLV_BOOL) {
		uint64_t v = 0;
		if ((r = tv_buf_peek_u64(&val, 0, &v)) != 0)
			return r;
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
	nd->val = tv_buf_ptr(&val);
	nd->depth = depth;
	if (type == TV_TTLV_STRUCT) {
		if (depth + 1 >= TV_TTLV_MAX_DEPTH)
			return tv_errf(TV_ERR_RANGE, "TTLV: nesting deeper than %d",
			               TV_TTLV_MAX_DEPTH);
		if ((r = parse_seq(c, &val, off + TV_TTLV_HDR, (uint16_t)(depth + 1), nd)) != 0)
			return r;
	}
	*out = nd;
	return 0;
}

static int parse_seq(struct dctx *c, struct tv_buf *b, size_t base, uint16_t depth,
                     struct tv_ttlv *parent)
{
	struct tv_ttlv *last = NULL, *nd;
	int r;

	while (tv_buf_avail(b) > 0) {
		if ((r = parse_item(c, b, base, depth, &nd)) != 0)
			return r;
		if (last == NULL)
			parent->child = nd;
		else
			last->next = nd;
		last = nd;
		parent->nchild++;
	}
	return 0;
}

int tv_ttlv_decode(const uint8_t *p, size_t n, struct tv_ttlv_doc *doc)
{
	struct dctx c;
	struct tv_ttlv *root;
	struct tv_buf b;
	size_t cap;
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
		return tv_errf(TV_ERR_NOMEM, "TTLV: out of memory for %zu items", cap);
	doc->cap = cap;
	c.doc = doc;
	tv_buf_view(&b, p, n);
	if ((r = parse_item(&c, &b, 0, 0, &root)) != 0)
		goto fail;
	if (tv_buf_avail(&b) != 0) {
		r = tv_errf(TV_ERR_FORMAT, "TTLV: %zu trailing bytes after the message",
		            tv_buf_avail(&b));
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

/* The value of a node of a fixed-length type (the decoder checked its
 * length; a node built by hand that is too short fails here). */
static int node_u32(const struct tv_ttlv *n, uint32_t *v)
{
	struct tv_buf b;

	tv_buf_view(&b, n->val, n->len);
	return tv_buf_get_u32(&b, v);
}

static int node_u64(const struct tv_ttlv *n, uint64_t *v)
{
	struct tv_buf b;

	tv_buf_view(&b, n->val, n->len);
	return tv_buf_get_u64(&b, v);
}

int tv_ttlv_int(const struct tv_ttlv *n, int32_t *v)
{
	uint32_t u = 0;
	int r = want(n, TV_TTLV_INT);

	if (r == 0 && (r = node_u32(n, &u)) == 0)
		*v = (int32_t)u;
	return r;
}

int tv_ttlv_long(const struct tv_ttlv *n, int64_t *v)
{
	uint64_t u = 0;
	int r = want(n, TV_TTLV_LONG);

	if (r == 0 && (r = node_u64(n, &u)) == 0)
		*v = (int64_t)u;
	return r;
}

int tv_ttlv_enum(const struct tv_ttlv *n, uint32_t *v)
{
	int r = want(n, TV_TTLV_ENUM);

	if (r == 0)
		r = node_u32(n, v);
	return r;
}

int tv_ttlv_bool(const struct tv_ttlv *n, int *v)
{
	uint64_t u = 0;
	int r = want(n, TV_TTLV_BOOL);

	if (r == 0 && (r = node_u64(n, &u)) == 0)
		*v = u != 0;
	return r;
}

int tv_ttlv_datetime(const struct tv_ttlv *n, int64_t *v)
{
	uint64_t u = 0;
	int r = want(n, TV_TTLV_DATETIME);

	if (r == 0 && (r = node_u64(n, &u)) == 0)
		*v = (int64_t)u;
	return r;
}

int tv_ttlv_interval(const struct tv_ttlv *n, uint32_t *v)
{
	int r = want(n, TV_TTLV_INTERVAL);

	if (r == 0)
		r = node_u32(n, v);
	return r;
}

int tv_ttlv_find_u32(const struct tv_ttlv *s, uint32_t tag, uint32_t *v)
{
	const struct tv_ttlv *n = tv_ttlv_find(s, tag);

	if (n == NULL)
		return tv_errf(TV_ERR_NOTFOUND, "TTLV: no item with tag 0x%06X", (unsigned)tag);
	if (n->type != TV_TTLV_INT && n->type != TV_TTLV_ENUM)
		return tv_errf(TV_ERR_FORMAT, "TTLV: tag 0x%06X is not an integer", (unsigned)tag);
	return node_u32(n, v);
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
	size_t off = tv_buf_avail(e->b);   /* where the header goes */
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
	int r;

	if (e->err != 0)
		return e->err;
	if (e->depth == 0)
		return enc_fail(e, tv_errf(TV_ERR_INTERNAL, "TTLV: end without begin"));
	off = e->open[--e->depth];
	len = tv_buf_avail(e->b) - off - TV_TTLV_HDR;
	if (len > UINT32_MAX)
		return enc_fail(e, tv_errf(TV_ERR_RANGE, "TTLV: structure too long"));
	if ((r = tv_buf_poke_u32(e->b, off + 4, (uint32_t)len)) != 0)
		return enc_fail(e, r);
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
