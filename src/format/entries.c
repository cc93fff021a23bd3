/* tapevault: the entry cursor: entries (data files) and catalog items
 * (catalog files) out of the frames a tape reader delivers.  An entry
 * header or item may straddle frames; it is then assembled in a bounded
 * buffer, else parsed in place.  Below it, the optional entry fields
 * (tags 16-22: device numbers, owner names, sparse maps, xattr lists) for
 * the entry and catalog item codecs of catitems.c. */
#include "format/format_int.h"
#include "format/record_int.h"
#include "util/err.h"
#include "util/wipe.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HBUF_MAX (5 + TV_CI_MAX > TV_ENTRY_HDR + TV_ENTRY_MAX ? 5 + TV_CI_MAX \
                  : TV_ENTRY_HDR + TV_ENTRY_MAX)

struct tv_ecursor {
	struct tv_treader *r;
	enum tv_content_type kind;
	const uint8_t *p;             /* current frame's raw bytes */
	size_t n, pos;
	struct tv_frame_info fi;
	int have;                     /* a frame is in p */
	int ended;                    /* the tape file ended */
	int resync;                   /* after damage: wait for a frame's first entry */
	int started_here;             /* an entry began in the current frame */
	uint32_t skip;
	uint8_t *hbuf;
	int in_entry;
	int skipping;                 /* the entry is of a newer kind: no data */
	uint64_t data_left;
	/* catalog files: SHA-256 of the byte stream so far, and of the bytes
	 * before the last writer signature item (docs/FORMAT.md 11.2) */
	EVP_MD_CTX *md;
	int md_broken, have_wdigest;
	uint8_t wdigest[32];
};

int tv_ecursor_open(struct tv_ecursor **out, struct tv_treader *r,
                    enum tv_content_type kind, uint32_t skip)
{
	struct tv_ecursor *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->hbuf = malloc(HBUF_MAX)) == NULL) {
		free(c);
		return TV_ERR_NOMEM;
	}
	c->r = r;
	c->kind = kind;
	c->skip = skip;
	if (kind == TV_CT_CATALOG) {
		/* a cursor opened after a seek does not see the stream from 0 */
		c->md_broken = skip != 0;
		if ((c->md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(c->md);
			free(c->hbuf);
			free(c);
			return tv_errf(TV_ERR_CRYPTO, "SHA-256 is not available");
		}
	}
	*out = c;
	return 0;
}

void tv_ecursor_close(struct tv_ecursor *c)
{
	if (c == NULL)
		return;
	/* catalog items may hold key ring keys */
	tv_wipe(c->hbuf, HBUF_MAX);
	EVP_MD_CTX_free(c->md);
	free(c->hbuf);
	free(c);
}

/* Bytes in the current frame: 1, 0 at the end of the tape file, or an
 * error (the cursor then resynchronises). */
static int fill(struct tv_ecursor *c)
{
	int rc;

	while (!c->have || c->pos >= c->n) {
		if (c->ended)
			return 0;
		c->have = 0;
		rc = tv_treader_next(c->r, &c->p, &c->n, &c->fi);
		if (rc == 0) {
			c->ended = 1;
			return 0;
		}
		if (rc < 0) {
			c->resync = 1;
			c->in_entry = 0;
			return rc;
		}
		c->have = 1;
		c->pos = 0;
		c->started_here = 0;
		if (c->skip) {
			if (c->skip > c->n)
				return tv_errf(TV_ERR_FORMAT, "entry offset %" PRIu32 " beyond the "
				               "frame's %zu bytes", c->skip, c->n);
			c->pos = c->skip;
			c->skip = 0;
			c->started_here = 1;   /* a seek lands on an entry: no cross-check */
		}
		if (c->resync) {
			if (c->fi.first_entry == TV_NO_OFFSET) {
				c->pos = c->n;   /* nothing begins here */
				continue;
			}
			c->pos = c->fi.first_entry;
			c->resync = 0;
			c->in_entry = 0;
		}
	}
	return 1;
}

static int where(struct tv_ecursor *c, int code, const char *what)
{
	return tv_errf(code, "frame %" PRIu64 " (record %" PRIu64 "): %s", c->fi.index,
	               c->fi.record, what);
}

/* need = fixed + the u32 body length at len_at of a header's fixed part. */
static int header_need(const uint8_t *p, size_t fixed, size_t len_at, size_t *need)
{
	struct tv_buf b;
	uint32_t n = 0;
	int rc;

	tv_buf_view(&b, p, fixed);
	if ((rc = tv_buf_peek_u32(&b, len_at, &n)) != 0)
		return rc;
	*need = fixed + (size_t)n;
	return 0;
}

/* Reads one header (an entry header or a catalog item): `fixed` bytes
 * hold, at len_at, the u32 length of the body that follows them; at most
 * max bytes in all.  *out points at the whole header (in place, or
 * assembled in hbuf when it straddles frames), *len its size. */
static int read_header(struct tv_ecursor *c, size_t fixed, size_t len_at, size_t max,
                       const uint8_t **out, size_t *len, struct tv_loc *loc)
{
	size_t fill_n = 0, need = 0;   /* need 0: not known yet */
	int rc;

	for (;;) {
		size_t avail, k;
		if ((rc = fill(c)) <= 0) {
			if (rc == 0 && fill_n > 0)
				return where(c, TV_ERR_FORMAT, "the tape file ends inside a header "
				             "(cut off)");
			return rc;
		}
		avail = c->n - c->pos;
		if (fill_n == 0) {
			/* the first byte: where it is, and is it where the frame says */
			if (!c->started_here && c->fi.first_entry != c->pos) {
				c->resync = 1;
				c->pos = c->n;
				return where(c, TV_ERR_FORMAT, "an entry begins where the frame "
				             "header says none does");
			}
			c->started_here = 1;
			if (loc != NULL) {
				loc->frame_off = c->fi.stream_off;
				loc->entry_off = c->pos;
			}
			if (avail >= fixed) {
				if ((rc = header_need(c->p + c->pos, fixed, len_at, &need)) != 0)
					return rc;
				if (need > max) {
					c->resync = 1;
					c->pos = c->n;
					return where(c, TV_ERR_FORMAT, "header length over its limit");
				}
				if (avail >= need) {
					*out = c->p + c->pos;   /* in place */
					*len = need;
					c->pos += need;
					return 1;
				}
			}
		}
		k = (need ? need : fixed) - fill_n;
		if (k > avail)
			k = avail;
		memcpy(c->hbuf + fill_n, c->p + c->pos, k);
		fill_n += k;
		c->pos += k;
		if (need == 0 && fill_n == fixed) {
			if ((rc = header_need(c->hbuf, fixed, len_at, &need)) != 0)
				return rc;
			if (need > max) {
				c->resync = 1;
				return where(c, TV_ERR_FORMAT, "header length over its limit");
			}
		}
		if (need != 0 && fill_n == need) {
			*out = c->hbuf;
			*len = need;
			return 1;
		}
	}
}

/* A header parsed in place lives in the frame, which goes when the data
 * moves on to the next one: one whose map or xattr list e points at is
 * kept in hbuf (which the next header reuses) and e is pointed there. */
static void keep_header(struct tv_ecursor *c, const uint8_t *h, size_t len,
                        struct tv_entry *e)
{
	if (h == c->hbuf || (e->xattrs == NULL && e->sparse_len == 0))
		return;
	memcpy(c->hbuf, h, len);
	if (e->xattrs != NULL)
		e->xattrs = c->hbuf + (e->xattrs - h);
	if (e->sparse_len > 0)
		e->sparse = c->hbuf + (e->sparse - h);
}

int tv_ecursor_next(struct tv_ecursor *c, struct tv_entry *e, struct tv_loc *loc)
{
	const uint8_t *h;
	size_t len, used;
	int rc;

	if (c->kind != TV_CT_DATA)
		return tv_errf(TV_ERR_STATE, "entry cursor: not a data file");
	/* pass over the rest of the current entry's data */
	while (c->in_entry && c->data_left > 0) {
		size_t k;
		if ((rc = fill(c)) <= 0) {
			c->in_entry = 0;
			return rc;
		}
		k = c->n - c->pos;
		if (k > c->data_left)
			k = (size_t)c->data_left;
		c->pos += k;
		c->data_left -= k;
	}
	c->in_entry = 0;
	c->skipping = 0;
	if ((rc = read_header(c, TV_ENTRY_HDR, 4, TV_ENTRY_HDR + TV_ENTRY_MAX, &h, &len,
	                      loc)) <= 0)
		return rc;
	if ((rc = tv_entry_decode(h, len, e, &used, NULL)) != 0) {
		if (rc == TV_ERR_UNSUPPORTED) {
			/* a newer kind of entry: its length says how far to skip */
			c->in_entry = 1;
			c->skipping = 1;
			c->data_left = e->length;
			return tv_errctx(rc, "frame %" PRIu64 " (record %" PRIu64 ")",
			                 c->fi.index, c->fi.record);
		}
		if (rc == TV_ERR_EOF)
			rc = TV_ERR_FORMAT;
		c->resync = 1;
		c->pos = c->n;
		return tv_errctx(rc, "frame %" PRIu64 " (record %" PRIu64 ")", c->fi.index,
		                 c->fi.record);
	}
	keep_header(c, h, len, e);
	c->in_entry = 1;
	c->data_left = e->length;
	return 1;
}

int tv_ecursor_data(struct tv_ecursor *c, const uint8_t **p, size_t *n, int *cont)
{
	size_t k;
	int rc;

	*p = NULL;
	*n = 0;
	*cont = 0;
	if (!c->in_entry || c->skipping || c->data_left == 0)
		return 0;
	rc = fill(c);
	if (rc == 0) {
		c->in_entry = 0;
		*cont = tv_treader_cont(c->r);
		return TV_ERR_EOF;
	}
	if (rc < 0)
		return rc;
	k = c->n - c->pos;
	if (k > c->data_left)
		k = (size_t)c->data_left;
	*p = c->p + c->pos;
	*n = k;
	c->pos += k;
	c->data_left -= k;
	return 1;
}

int tv_ecursor_item(struct tv_ecursor *c, struct tv_cat_item_v *it, struct tv_loc *loc)
{
	const uint8_t *h;
	size_t len, used;
	int rc;

	if (c->kind != TV_CT_CATALOG)
		return tv_errf(TV_ERR_STATE, "entry cursor: not a catalog file");
	if ((rc = read_header(c, 5, 1, 5 + TV_CI_MAX, &h, &len, loc)) <= 0)
		return rc;
	rc = tv_cat_item_decode(h, len, it, &used);
	if (c->md != NULL && !c->md_broken && (rc == 0 || rc == TV_ERR_UNSUPPORTED)) {
		/* the digest of the stream before a writer signature item */
		if (rc == 0 && it->type == TV_CI_WRITER) {
			EVP_MD_CTX *cp = EVP_MD_CTX_new();
			unsigned int dl = 0;
			c->have_wdigest = cp != NULL && EVP_MD_CTX_copy_ex(cp, c->md) == 1 &&
			                  EVP_DigestFinal_ex(cp, c->wdigest, &dl) == 1 && dl == 32;
			EVP_MD_CTX_free(cp);
		}
		if (EVP_DigestUpdate(c->md, h, len) != 1)
			c->md_broken = 1;
	} else if (rc != 0) {
		c->md_broken = 1;   /* the cursor resynchronises: the stream is not whole */
	}
	if (h == c->hbuf)
		tv_wipe(c->hbuf, len);
	if (rc == TV_ERR_UNSUPPORTED)
		/* a newer kind of item: passed over, the caller reports it */
		return tv_errctx(rc, "frame %" PRIu64 " (record %" PRIu64 ")", c->fi.index,
		                 c->fi.record);
	if (rc != 0) {
		if (rc == TV_ERR_EOF)
			rc = TV_ERR_FORMAT;
		c->resync = 1;
		c->pos = c->n;
		return tv_errctx(rc, "frame %" PRIu64 " (record %" PRIu64 ")", c->fi.index,
		                 c->fi.record);
	}
	return 1;
}

int tv_ecursor_writer_digest(struct tv_ecursor *c, uint8_t out[32])
{
	if (c->kind != TV_CT_CATALOG || c->md_broken || !c->have_wdigest)
		return tv_errf(TV_ERR_STATE, "no whole catalog stream before a writer "
		               "signature");
	memcpy(out, c->wdigest, 32);
	return 0;
}

/* ---- the optional entry fields (tags 16-22) ----
 * Shared by entry headers and catalog entry items (catitems.c calls in
 * here); docs/FORMAT.md 10.2, 10.4, 10.5. */

enum {
	XT_RDEV_MAJOR = 16, XT_RDEV_MINOR, XT_UNAME, XT_GNAME, XT_SPARSE, XT_XATTRS,
	XT_XATTR_DATA, XT_LAST_ = XT_XATTR_DATA
};
static const char *const xt_name[] = {
	"rdev_major", "rdev_minor", "uname", "gname", "sparse", "xattrs", "xattr_data",
};
_Static_assert(sizeof(xt_name) / sizeof(xt_name[0]) == XT_LAST_ - XT_RDEV_MAJOR + 1,
               "names of the optional entry fields");
static const uint8_t empty_map[1];   /* an empty sparse map points here */

static int xt_fail(int code, const char *what, unsigned tag, const char *problem)
{
	return tv_errf(code, "%s: field %s (tag %u): %s", what, xt_name[tag - XT_RDEV_MAJOR],
	               tag, problem);
}

const char *tv_ftype_name(enum tv_ftype t)
{
	switch (t) {
	case TV_FT_REG: return "regular file";
	case TV_FT_DIR: return "directory";
	case TV_FT_SYMLINK: return "symbolic link";
	case TV_FT_HARDLINK: return "hard link";
	case TV_FT_FIFO: return "FIFO";
	case TV_FT_CHR: return "character device";
	case TV_FT_BLK: return "block device";
	}
	return "entry of an unknown type";
}

void tv_sparse_region(const uint8_t *map, size_t i, uint64_t *start, uint64_t *len)
{
	*start = tv_get_be64(map + i * TV_SPARSE_REGION);
	*len = tv_get_be64(map + i * TV_SPARSE_REGION + 8);
}

int tv_sparse_put(struct tv_buf *map, uint64_t start, uint64_t len)
{
	int r;

	if ((r = tv_buf_put_u64(map, start)) != 0 || (r = tv_buf_put_u64(map, len)) != 0)
		return r;
	return 0;
}

uint64_t tv_entry_data_size(const struct tv_entry *e)
{
	uint64_t d = e->xattr_data, s, l;

	if (e->ftype != TV_FT_REG)
		return 0;
	if (!(e->flags & TV_EF_SPARSE))
		return d + e->size;
	for (size_t i = 0; i < e->sparse_len / TV_SPARSE_REGION; i++) {
		tv_sparse_region(e->sparse, i, &s, &l);
		d += l;
	}
	return d;
}

/* ---- xattr lists: items of tag 1, each a TLV list of name (tag 1) and
 * value (tag 2) ---- */

#define XA_ITEM 1
#define XA_NAME 1
#define XA_VALUE 2

int tv_xattr_put(struct tv_buf *list, const char *name, const void *value, size_t len)
{
	size_t nl = strlen(name);
	uint8_t *d;
	int r;

	if (nl == 0 || nl >= TV_XATTR_NAME_MAX)
		return tv_errf(TV_ERR_INVAL, "extended attribute name of %zu bytes (1 to %u)", nl,
		               TV_XATTR_NAME_MAX - 1);
	if (len > TV_XATTR_VALUE_MAX)
		return tv_errf(TV_ERR_INVAL, "extended attribute %s: value of %zu bytes (at most "
		               "%u)", name, len, TV_XATTR_VALUE_MAX);
	if ((r = tv_buf_reserve(list, 18 + nl + len, &d)) != 0)
		return r;
	tv_put_be16(d, XA_ITEM);
	tv_put_be32(d + 2, (uint32_t)(12 + nl + len));
	tv_put_be16(d + 6, XA_NAME);
	tv_put_be32(d + 8, (uint32_t)nl);
	memcpy(d + 12, name, nl);
	tv_put_be16(d + 12 + nl, XA_VALUE);
	tv_put_be32(d + 14 + nl, (uint32_t)len);
	if (len > 0)
		memcpy(d + 18 + nl, value, len);
	return 0;
}

/* One xattr item's fields into x. */
static int xattr_item(const struct tv_tlv *item, struct tv_xattr *x)
{
	struct tv_buf b;
	struct tv_tlv f;
	int r, have_name = 0, have_value = 0;

	tv_buf_view(&b, item->val, item->len);
	while ((r = tv_tlv_next(&b, &f)) == 0) {
		if (f.tag == XA_NAME) {
			if (have_name++)
				return tv_errf(TV_ERR_FORMAT, "xattr list: name (tag 1) twice in "
				               "one xattr");
			if (f.len == 0 || f.len >= TV_XATTR_NAME_MAX)
				return tv_errf(TV_ERR_FORMAT, "xattr list: name of %zu bytes (1 to "
				               "%u)", f.len, TV_XATTR_NAME_MAX - 1);
			if (memchr(f.val, '\0', f.len) != NULL)
				return tv_errf(TV_ERR_FORMAT, "xattr list: name contains a NUL byte");
			memcpy(x->name, f.val, f.len);
			x->name[f.len] = '\0';
		} else if (f.tag == XA_VALUE) {
			if (have_value++)
				return tv_errf(TV_ERR_FORMAT, "xattr list: value (tag 2) twice in "
				               "one xattr");
			if (f.len > TV_XATTR_VALUE_MAX)
				return tv_errf(TV_ERR_FORMAT, "xattr list: value of %zu bytes (at "
				               "most %u)", f.len, TV_XATTR_VALUE_MAX);
			x->value = f.val;
			x->len = f.len;
		}   /* other tags: a newer writer's, skipped */
	}
	if (r != TV_ERR_EOF)
		return tv_errctx(r, "xattr list");
	if (!have_name || !have_value)
		return tv_errf(TV_ERR_FORMAT, "xattr list: an xattr without its %s",
		               have_name ? "value (tag 2)" : "name (tag 1)");
	return 0;
}

int tv_xattr_next(struct tv_buf *list, struct tv_xattr *x)
{
	struct tv_tlv it;
	int r;

	for (;;) {
		if ((r = tv_tlv_next(list, &it)) == TV_ERR_EOF)
			return 0;
		if (r != 0)
			return tv_errctx(TV_ERR_FORMAT, "xattr list");
		if (it.tag != XA_ITEM)
			continue;   /* a newer writer's item: skipped */
		if ((r = xattr_item(&it, x)) != 0)
			return r;
		return 1;
	}
}

int tv_xattr_list_check(const uint8_t *p, size_t n)
{
	struct tv_buf b;
	struct tv_xattr x;
	int r;

	if (n > TV_XATTR_LIST_MAX)
		return tv_errf(TV_ERR_FORMAT, "xattr list of %zu bytes (at most %u)", n,
		               TV_XATTR_LIST_MAX);
	tv_buf_view(&b, p, n);
	while ((r = tv_xattr_next(&b, &x)) == 1)
		;
	return r;
}

/* ---- encoding, decoding, rules ---- */

int tv_entry_ext_encode(struct tv_buf *b, const struct tv_entry *e)
{
	return tv_entry_ext_put(b, e, TV_EXT_NAMES | TV_EXT_XATTRS);
}

int tv_entry_ext_get(const uint8_t *p, size_t n, struct tv_entry *e)
{
	struct tv_entry_ext x = { e, "optional entry fields", 0 };
	struct tv_buf b;
	struct tv_tlv it;
	int r;

	e->rdev_major = e->rdev_minor = e->xattr_data = 0;
	e->uname[0] = e->gname[0] = '\0';
	e->sparse = e->xattrs = NULL;
	e->sparse_len = e->xattrs_len = 0;
	tv_buf_view(&b, p, n);
	while ((r = tv_tlv_next(&b, &it)) == 0)
		if ((r = tv_entry_ext_field(e, &it, &x)) < 0)
			return r;
	return r == TV_ERR_EOF ? 0 : r;
}

int tv_entry_ext_put(struct tv_buf *b, const struct tv_entry *e, unsigned what)
{
	int r = 0;

	if (e->rdev_major != 0 && (r = tv_tlv_put_u64(b, XT_RDEV_MAJOR, e->rdev_major)) != 0)
		return r;
	if (e->rdev_minor != 0 && (r = tv_tlv_put_u64(b, XT_RDEV_MINOR, e->rdev_minor)) != 0)
		return r;
	if ((what & TV_EXT_NAMES) && e->uname[0] != '\0' &&
	    (r = tv_tlv_put_str(b, XT_UNAME, e->uname)) != 0)
		return r;
	if ((what & TV_EXT_NAMES) && e->gname[0] != '\0' &&
	    (r = tv_tlv_put_str(b, XT_GNAME, e->gname)) != 0)
		return r;
	if ((e->flags & TV_EF_SPARSE) &&
	    (r = tv_tlv_put_bytes(b, XT_SPARSE, e->sparse, e->sparse_len)) != 0)
		return r;
	if ((what & TV_EXT_XATTRS) && e->xattrs_len > 0 &&
	    (r = tv_tlv_put_bytes(b, XT_XATTRS, e->xattrs, e->xattrs_len)) != 0)
		return r;
	if (e->xattr_data != 0 && (r = tv_tlv_put_u64(b, XT_XATTR_DATA, e->xattr_data)) != 0)
		return r;
	return 0;
}

static int ext_u64(struct tv_entry_ext *x, const struct tv_tlv *it, uint64_t lo,
                   uint64_t hi, uint64_t *out)
{
	struct tv_buf b;
	char msg[96];
	uint64_t v;

	if (it->len != 8) {
		snprintf(msg, sizeof(msg), "integer of %zu bytes (expected 8)", it->len);
		return xt_fail(TV_ERR_FORMAT, x->what, it->tag, msg);
	}
	tv_buf_view(&b, it->val, it->len);
	if (tv_buf_get_u64(&b, &v) != 0)
		return TV_ERR_INTERNAL;
	if (v < lo || v > hi) {
		snprintf(msg, sizeof(msg), "value %llu out of range [%llu, %llu]",
		         (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
		return xt_fail(TV_ERR_FORMAT, x->what, it->tag, msg);
	}
	*out = v;
	return 0;
}

static int ext_str(struct tv_entry_ext *x, const struct tv_tlv *it, char *out, size_t outsz)
{
	char msg[96];

	if (it->len > outsz - 1) {
		snprintf(msg, sizeof(msg), "string of %zu bytes too long (max %zu)", it->len,
		         outsz - 1);
		return xt_fail(TV_ERR_FORMAT, x->what, it->tag, msg);
	}
	if (it->len > 0 && memchr(it->val, '\0', it->len) != NULL)
		return xt_fail(TV_ERR_FORMAT, x->what, it->tag, "string contains a NUL byte");
	if (it->len > 0)
		memcpy(out, it->val, it->len);
	out[it->len] = '\0';
	return 0;
}

int tv_entry_ext_field(void *obj, const struct tv_tlv *it, void *ctx)
{
	struct tv_entry_ext *x = ctx;
	struct tv_entry *e = x->e;
	uint32_t bit;
	int r;

	(void)obj;
	if (it->tag < XT_RDEV_MAJOR || it->tag > XT_LAST_)
		return 0;   /* not one of ours: skipped as unknown */
	bit = 1u << (it->tag - XT_RDEV_MAJOR);
	if (x->seen & bit)
		return xt_fail(TV_ERR_FORMAT, x->what, it->tag, "duplicated");
	x->seen |= bit;
	switch (it->tag) {
	case XT_RDEV_MAJOR:
		r = ext_u64(x, it, 0, UINT32_MAX, &e->rdev_major);
		break;
	case XT_RDEV_MINOR:
		r = ext_u64(x, it, 0, UINT32_MAX, &e->rdev_minor);
		break;
	case XT_UNAME:
		r = ext_str(x, it, e->uname, sizeof(e->uname));
		break;
	case XT_GNAME:
		r = ext_str(x, it, e->gname, sizeof(e->gname));
		break;
	case XT_SPARSE:
		if (it->len % TV_SPARSE_REGION != 0 ||
		    it->len / TV_SPARSE_REGION > TV_SPARSE_MAX) {
			char msg[96];
			snprintf(msg, sizeof(msg), "%zu bytes: not a map of 0 to %u regions of %u "
			         "bytes", it->len, TV_SPARSE_MAX, TV_SPARSE_REGION);
			return xt_fail(TV_ERR_FORMAT, x->what, it->tag, msg);
		}
		e->sparse = it->len > 0 ? it->val : empty_map;
		e->sparse_len = it->len;
		r = 0;
		break;
	case XT_XATTRS:
		if ((r = tv_xattr_list_check(it->val, it->len)) != 0)
			return tv_errctx(r, "%s: field xattrs (tag %u)", x->what, (unsigned)it->tag);
		e->xattrs = it->len > 0 ? it->val : NULL;
		e->xattrs_len = it->len;
		break;
	default:   /* XT_XATTR_DATA */
		r = ext_u64(x, it, 1, TV_XATTR_LIST_MAX, &e->xattr_data);
		break;
	}
	return r != 0 ? r : 1;
}

/* The regions: each at least one byte, in ascending order without
 * overlapping, inside the file. */
static int sparse_check(const struct tv_entry *e, const char *what, int code)
{
	uint64_t end = 0, s, l;
	size_t n = e->sparse_len / TV_SPARSE_REGION;
	char msg[160];

	if (e->sparse_len % TV_SPARSE_REGION != 0 || n > TV_SPARSE_MAX) {
		snprintf(msg, sizeof(msg), "%zu bytes: not a map of 0 to %u regions",
		         e->sparse_len, TV_SPARSE_MAX);
		return xt_fail(code, what, XT_SPARSE, msg);
	}
	for (size_t i = 0; i < n; i++) {
		tv_sparse_region(e->sparse, i, &s, &l);
		if (l == 0)
			snprintf(msg, sizeof(msg), "region %zu is empty", i);
		else if (s < end)
			snprintf(msg, sizeof(msg), "region %zu (at %llu) overlaps or precedes the "
			         "one before it (ending at %llu)", i, (unsigned long long)s,
			         (unsigned long long)end);
		else if (s > e->size || l > e->size - s)
			snprintf(msg, sizeof(msg), "region %zu (%llu bytes at %llu) reaches past "
			         "the file's %llu bytes", i, (unsigned long long)l,
			         (unsigned long long)s, (unsigned long long)e->size);
		else {
			end = s + l;
			continue;
		}
		return xt_fail(code, what, XT_SPARSE, msg);
	}
	return 0;
}

int tv_entry_ext_check(const struct tv_entry *e, const char *what, int code)
{
	int dev = e->ftype == TV_FT_CHR || e->ftype == TV_FT_BLK, r;

	if (!dev && (e->rdev_major != 0 || e->rdev_minor != 0))
		return xt_fail(code, what, e->rdev_major ? XT_RDEV_MAJOR : XT_RDEV_MINOR,
		               "only devices have one");
	if (e->rdev_major > UINT32_MAX || e->rdev_minor > UINT32_MAX)
		return xt_fail(code, what, e->rdev_major > UINT32_MAX ? XT_RDEV_MAJOR :
		               XT_RDEV_MINOR, "out of range [0, 4294967295]");
	if (strnlen(e->uname, sizeof(e->uname)) == sizeof(e->uname) ||
	    strnlen(e->gname, sizeof(e->gname)) == sizeof(e->gname))
		return tv_errf(code, "%s: field uname or gname: not NUL-terminated", what);
	if ((e->flags & TV_EF_SPARSE) != 0) {
		if (e->ftype != TV_FT_REG)
			return tv_errf(code, "%s: flag SPARSE on a %s", what, tv_ftype_name(e->ftype));
		if (e->sparse == NULL)
			return xt_fail(code, what, XT_SPARSE, "missing (flag SPARSE is set)");
		if ((r = sparse_check(e, what, code)) != 0)
			return r;
	} else if (e->sparse != NULL) {
		return xt_fail(code, what, XT_SPARSE, "without flag SPARSE");
	}
	if ((e->flags & TV_EF_XATTR_DATA) != 0) {
		if (e->ftype != TV_FT_REG)
			return tv_errf(code, "%s: flag XATTR_DATA on a %s", what,
			               tv_ftype_name(e->ftype));
		if (e->xattr_data == 0 || e->xattr_data > TV_XATTR_LIST_MAX)
			return xt_fail(code, what, XT_XATTR_DATA, e->xattr_data == 0 ?
			               "missing (flag XATTR_DATA is set)" : "over the list limit");
		if (e->xattrs_len > 0)
			return xt_fail(code, what, XT_XATTRS, "with flag XATTR_DATA (the list is "
			               "in the data)");
	} else if (e->xattr_data != 0) {
		return xt_fail(code, what, XT_XATTR_DATA, "without flag XATTR_DATA");
	}
	if (e->xattrs_len > 0) {
		if (e->ftype == TV_FT_HARDLINK)
			return xt_fail(code, what, XT_XATTRS, "on a hard link (its file has them)");
		if (code != TV_ERR_FORMAT && (r = tv_xattr_list_check(e->xattrs, e->xattrs_len)) != 0)
			return tv_errf(code, "%s: field xattrs (tag %u): %s", what, XT_XATTRS,
			               tv_errmsg(r));
	}
	return 0;
}
