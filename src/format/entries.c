/* tapevault: the entry cursor: entries (data files) and catalog items
 * (catalog files) out of the frames a tape reader delivers.  An entry
 * header or item may straddle frames; it is then assembled in a bounded
 * buffer, else parsed in place. */
#include "format/record_int.h"
#include "util/err.h"
#include "util/wipe.h"

#include <inttypes.h>
#include <openssl/crypto.h>
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
	*out = c;
	return 0;
}

void tv_ecursor_close(struct tv_ecursor *c)
{
	if (c == NULL)
		return;
	/* catalog items may hold key ring keys */
	tv_wipe(c->hbuf, HBUF_MAX);
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
