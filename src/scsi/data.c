/* tapevault: SCSI parameter data (see data.h). */
#include "scsi/data.h"

#include "scsi/cdb.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static int get24(struct tv_buf *b, uint32_t *v)
{
	uint8_t x[3];
	int rc = tv_buf_get(b, x, 3);

	if (rc == 0)
		*v = (uint32_t)x[0] << 16 | (uint32_t)x[1] << 8 | x[2];
	return rc;
}

static int put24(struct tv_buf *b, uint32_t v)
{
	uint8_t x[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return tv_buf_put(b, x, 3);
}

static int put_zero(struct tv_buf *b, size_t n)
{
	uint8_t *p;
	int rc = tv_buf_reserve(b, n, &p);

	if (rc == 0)
		memset(p, 0, n);
	return rc;
}

/* ASCII field of fixed width: copied, trailing spaces and NULs cut. */
static int get_ascii(struct tv_buf *b, size_t width, char *out, size_t outsz)
{
	const uint8_t *p;
	size_t n;
	int rc = tv_buf_get_ptr(b, &p, width);

	out[0] = '\0';
	if (rc != 0)
		return rc;
	n = width < outsz - 1 ? width : outsz - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '\0';
	out[n] = '\0';
	n = strnlen(out, n);        /* a NUL ends the text */
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return 0;
}

static int put_ascii(struct tv_buf *b, const char *s, size_t width)
{
	uint8_t *p;
	size_t n = s != NULL ? strnlen(s, width) : 0;
	int rc = tv_buf_reserve(b, width, &p);

	if (rc != 0)
		return rc;
	memset(p, ' ', width);
	if (n > 0)
		memcpy(p, s, n);
	return 0;
}

static int short_data(const char *what, size_t n, size_t need)
{
	return tv_errf(TV_ERR_FORMAT, "%s: %zu bytes, at least %zu needed", what, n, need);
}

/* ---- INQUIRY ---- */

int tv_scsi_parse_inquiry(const uint8_t *p, size_t n, struct tv_scsi_inquiry *q)
{
	struct tv_buf b;
	uint8_t b0, b1, addl;

	memset(q, 0, sizeof(*q));
	if (p == NULL || n < 5)
		return short_data("INQUIRY data", n, 5);
	tv_buf_view(&b, p, n);
	if (tv_buf_get_u8(&b, &b0) || tv_buf_get_u8(&b, &b1) || tv_buf_get_u8(&b, &q->version) ||
	    tv_buf_consume(&b, 1) || tv_buf_get_u8(&b, &addl))
		return short_data("INQUIRY data", n, 5);
	q->qualifier = b0 >> 5;
	q->type = b0 & 0x1F;
	q->removable = (b1 & 0x80) != 0;
	/* identification only when the device sent it (36 bytes) */
	if ((size_t)addl + 5 < 36 || n < 36)
		return 0;
	if (tv_buf_consume(&b, 3) || get_ascii(&b, 8, q->vendor, sizeof(q->vendor)) ||
	    get_ascii(&b, 16, q->product, sizeof(q->product)) ||
	    get_ascii(&b, 4, q->revision, sizeof(q->revision)))
		return short_data("INQUIRY data", n, 36);
	return 0;
}

int tv_scsi_build_inquiry(struct tv_buf *b, const struct tv_scsi_inquiry *q)
{
	int rc;

	if ((rc = tv_buf_put_u8(b, (uint8_t)(q->qualifier << 5 | (q->type & 0x1F)))) ||
	    (rc = tv_buf_put_u8(b, q->removable ? 0x80 : 0)) ||
	    (rc = tv_buf_put_u8(b, q->version)) ||
	    (rc = tv_buf_put_u8(b, 0x02)) ||            /* response data format 2 */
	    (rc = tv_buf_put_u8(b, 31)) ||              /* 36 - 5 */
	    (rc = put_zero(b, 3)) ||
	    (rc = put_ascii(b, q->vendor, 8)) || (rc = put_ascii(b, q->product, 16)) ||
	    (rc = put_ascii(b, q->revision, 4)))
		return rc;
	return 0;
}

int tv_scsi_parse_serial(const uint8_t *p, size_t n, char *out, size_t sz)
{
	struct tv_buf b;
	uint8_t page;
	uint16_t len;

	out[0] = '\0';
	if (p == NULL || n < 4)
		return short_data("serial number page", n, 4);
	tv_buf_view(&b, p, n);
	if (tv_buf_consume(&b, 1) || tv_buf_get_u8(&b, &page) || tv_buf_get_u16(&b, &len))
		return short_data("serial number page", n, 4);
	if (page != 0x80)
		return tv_errf(TV_ERR_FORMAT, "VPD page %02Xh where 80h was asked", page);
	if (len > tv_buf_avail(&b))
		len = (uint16_t)tv_buf_avail(&b);   /* cut by the allocation length */
	return get_ascii(&b, len < sz - 1 ? len : sz - 1, out, sz);
}

int tv_scsi_build_serial(struct tv_buf *b, const char *serial)
{
	size_t n = strnlen(serial, 64);
	int rc;

	if ((rc = tv_buf_put_u8(b, TV_SCSI_TYPE_TAPE)) || (rc = tv_buf_put_u8(b, 0x80)) ||
	    (rc = tv_buf_put_u16(b, (uint16_t)n)))
		return rc;
	return put_ascii(b, serial, n);
}

/* ---- READ BLOCK LIMITS ---- */

int tv_scsi_parse_block_limits(const uint8_t *p, size_t n, struct tv_block_limits *bl)
{
	struct tv_buf b;
	uint8_t g;

	memset(bl, 0, sizeof(*bl));
	if (p == NULL || n < 6)
		return short_data("READ BLOCK LIMITS data", n, 6);
	tv_buf_view(&b, p, n);
	if (tv_buf_get_u8(&b, &g) || get24(&b, &bl->max_len) || tv_buf_get_u16(&b, &bl->min_len))
		return short_data("READ BLOCK LIMITS data", n, 6);
	bl->granularity = g & 0x1F;
	if (bl->max_len != 0 && bl->min_len > bl->max_len)
		return tv_errf(TV_ERR_FORMAT, "READ BLOCK LIMITS data: minimum block length "
		               "%u above the maximum %u", bl->min_len, bl->max_len);
	return 0;
}

int tv_scsi_build_block_limits(struct tv_buf *b, const struct tv_block_limits *bl)
{
	int rc;

	if ((rc = tv_buf_put_u8(b, bl->granularity & 0x1F)) || (rc = put24(b, bl->max_len)))
		return rc;
	return tv_buf_put_u16(b, bl->min_len);
}

/* ---- MODE SENSE(6) ---- */

int tv_scsi_parse_mode6(const uint8_t *p, size_t n, struct tv_mode6 *m)
{
	struct tv_buf b, bd;
	uint8_t mdl, dsp, bdl;
	size_t total;

	memset(m, 0, sizeof(*m));
	if (p == NULL || n < 4)
		return short_data("mode parameter header", n, 4);
	tv_buf_view(&b, p, n);
	if (tv_buf_get_u8(&b, &mdl) || tv_buf_get_u8(&b, &m->medium_type) ||
	    tv_buf_get_u8(&b, &dsp) || tv_buf_get_u8(&b, &bdl))
		return short_data("mode parameter header", n, 4);
	total = (size_t)mdl + 1;        /* the data may be cut by the allocation */
	if (total < 4)
		return tv_errf(TV_ERR_FORMAT, "mode parameter header: mode data length %u", mdl);
	if (total > n)
		total = n;
	m->wp = (dsp & 0x80) != 0;
	m->buffered = (dsp >> 4) & 0x07;
	if (bdl != 0 && bdl != 8)
		return tv_errf(TV_ERR_FORMAT, "mode parameter header: block descriptor length "
		               "%u (0 or 8 expected)", bdl);
	if (4 + (size_t)bdl > total)
		return tv_errf(TV_ERR_FORMAT, "mode data: the block descriptor is cut (%zu "
		               "bytes)", total);
	if (bdl == 8) {
		if (tv_buf_froms(&b, &bd, 8) || tv_buf_get_u8(&bd, &m->density) ||
		    get24(&bd, &m->nblocks) || tv_buf_consume(&bd, 1) || get24(&bd, &m->block_len))
			return short_data("mode block descriptor", n, 12);
		m->has_bd = 1;
	}
	m->pages_off = 4 + bdl;
	m->pages_len = total - m->pages_off;
	return 0;
}

int tv_scsi_build_mode6(struct tv_buf *b, const struct tv_mode6 *m, const uint8_t *pages,
                        size_t pages_len, int for_select)
{
	size_t total = 4 + (m->has_bd ? 8 : 0) + pages_len;
	int rc;

	if (total > 255)
		return tv_errf(TV_ERR_RANGE, "mode data of %zu bytes: MODE SENSE(6) holds 255",
		               total);
	if ((rc = tv_buf_put_u8(b, for_select ? 0 : (uint8_t)(total - 1))) ||
	    (rc = tv_buf_put_u8(b, m->medium_type)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((m->wp ? 0x80 : 0) | (m->buffered & 7) << 4))) ||
	    (rc = tv_buf_put_u8(b, m->has_bd ? 8 : 0)))
		return rc;
	if (m->has_bd &&
	    ((rc = tv_buf_put_u8(b, m->density)) || (rc = put24(b, m->nblocks)) ||
	     (rc = tv_buf_put_u8(b, 0)) || (rc = put24(b, m->block_len))))
		return rc;
	return pages_len > 0 ? tv_buf_put(b, pages, pages_len) : 0;
}

int tv_scsi_parse_element_map(const uint8_t *p, size_t n, struct tv_element_map *em)
{
	struct tv_buf b, pg;
	uint8_t code, len8;
	uint16_t len;

	memset(em, 0, sizeof(*em));
	tv_buf_view(&b, p, n);
	while (tv_buf_avail(&b) >= 2) {
		if (tv_buf_get_u8(&b, &code))
			break;
		if (code & 0x40) {            /* SPF: subpage format, u16 length */
			if (tv_buf_consume(&b, 1) || tv_buf_get_u16(&b, &len))
				break;
		} else {
			if (tv_buf_get_u8(&b, &len8))
				break;
			len = len8;
		}
		if (tv_buf_froms(&b, &pg, len) != 0)
			return tv_errf(TV_ERR_FORMAT, "mode page %02Xh claims %u bytes, %zu left",
			               code & 0x3F, len, tv_buf_avail(&b));
		if ((code & 0x3F) != TV_MODE_PAGE_ELEMENT_ADDRESS || (code & 0x40))
			continue;
		if (tv_buf_get_u16(&pg, &em->transport_first) ||
		    tv_buf_get_u16(&pg, &em->transport_n) ||
		    tv_buf_get_u16(&pg, &em->storage_first) ||
		    tv_buf_get_u16(&pg, &em->storage_n) || tv_buf_get_u16(&pg, &em->ie_first) ||
		    tv_buf_get_u16(&pg, &em->ie_n) || tv_buf_get_u16(&pg, &em->drive_first) ||
		    tv_buf_get_u16(&pg, &em->drive_n))
			return tv_errf(TV_ERR_FORMAT, "element address assignment page: %u bytes, "
			               "16 needed", len);
		return 0;
	}
	return tv_errf(TV_ERR_FORMAT, "mode data holds no element address assignment page "
	               "(1Dh)");
}

int tv_scsi_build_element_map(struct tv_buf *b, const struct tv_element_map *em)
{
	int rc;

	if ((rc = tv_buf_put_u8(b, TV_MODE_PAGE_ELEMENT_ADDRESS)) || (rc = tv_buf_put_u8(b, 0x12)) ||
	    (rc = tv_buf_put_u16(b, em->transport_first)) ||
	    (rc = tv_buf_put_u16(b, em->transport_n)) ||
	    (rc = tv_buf_put_u16(b, em->storage_first)) ||
	    (rc = tv_buf_put_u16(b, em->storage_n)) || (rc = tv_buf_put_u16(b, em->ie_first)) ||
	    (rc = tv_buf_put_u16(b, em->ie_n)) || (rc = tv_buf_put_u16(b, em->drive_first)) ||
	    (rc = tv_buf_put_u16(b, em->drive_n)))
		return rc;
	return put_zero(b, 2);
}

/* ---- READ ELEMENT STATUS ---- */

#define VOLTAG_FIELD 36     /* 32 identifier, 2 reserved, 2 sequence number */

static int parse_element(struct tv_buf *d, uint8_t type, int pvoltag, struct tv_element *e)
{
	uint8_t flags, b9;
	struct tv_buf vt;

	memset(e, 0, sizeof(*e));
	e->type = type;
	if (tv_buf_get_u16(d, &e->addr) || tv_buf_get_u8(d, &flags) || tv_buf_consume(d, 1) ||
	    tv_buf_get_u8(d, &e->asc) || tv_buf_get_u8(d, &e->ascq) || tv_buf_consume(d, 3) ||
	    tv_buf_get_u8(d, &b9) || tv_buf_get_u16(d, &e->source))
		return tv_errf(TV_ERR_FORMAT, "element descriptor shorter than 12 bytes");
	e->full = flags & 0x01;
	e->impexp = (flags & 0x02) != 0;
	e->except = (flags & 0x04) != 0;
	e->access = (flags & 0x08) != 0;
	e->svalid = (b9 & 0x80) != 0;
	e->invert = (b9 & 0x40) != 0;
	e->medium_type = b9 & 0x07;
	if (!e->svalid)
		e->source = 0;
	if (!pvoltag)
		return 0;
	if (tv_buf_froms(d, &vt, VOLTAG_FIELD) != 0)
		return tv_errf(TV_ERR_FORMAT, "element %u: the volume tag is cut", e->addr);
	e->has_voltag = 1;
	return get_ascii(&vt, TV_VOLTAG_LEN, e->voltag, sizeof(e->voltag));
}

static int grow(struct tv_element **v, size_t *cap, size_t need, size_t max)
{
	struct tv_element *nv;
	size_t nc;

	if (need <= *cap)
		return 0;
	if (need > max)
		return tv_errf(TV_ERR_RANGE, "element status: more than %zu elements", max);
	nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	if (nc > max)
		nc = max;
	if ((nv = realloc(*v, nc * sizeof(**v))) == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	*v = nv;
	*cap = nc;
	return 0;
}

/* One element status page: header, then descriptors of dlen bytes. */
static int parse_page(struct tv_buf *b, struct tv_element **v, size_t *count, size_t *cap,
                      int *more, size_t max)
{
	struct tv_buf page, d;
	uint8_t type, flags;
	uint16_t dlen;
	uint32_t bytes;
	int rc;

	if (tv_buf_get_u8(b, &type) || tv_buf_get_u8(b, &flags) || tv_buf_get_u16(b, &dlen) ||
	    tv_buf_consume(b, 1) || get24(b, &bytes)) {
		*more = 1;      /* a page header cut by the allocation length */
		return 0;
	}
	type &= 0x0F;
	if (type < TV_ELEM_TRANSPORT || type > TV_ELEM_DATA_TRANSFER)
		return tv_errf(TV_ERR_FORMAT, "element status page of type %u (1-4 expected)",
		               type);
	if (dlen < 12 || ((flags & 0x80) && dlen < 12 + VOLTAG_FIELD))
		return tv_errf(TV_ERR_FORMAT, "element status page: descriptor length %u too "
		               "small", dlen);
	if (bytes > tv_buf_avail(b)) {
		bytes = (uint32_t)tv_buf_avail(b);
		*more = 1;
	}
	if ((rc = tv_buf_froms(b, &page, bytes)) != 0)
		return rc;
	while (tv_buf_avail(&page) >= dlen) {
		if ((rc = grow(v, cap, *count + 1, max)) != 0)
			return rc;
		if ((rc = tv_buf_froms(&page, &d, dlen)) != 0 ||
		    (rc = parse_element(&d, type, (flags & 0x80) != 0, &(*v)[*count])) != 0)
			return rc;
		(*count)++;
	}
	if (tv_buf_avail(&page) > 0)
		*more = 1;
	return 0;
}

int tv_scsi_parse_element_status(const uint8_t *p, size_t n, struct tv_element **out,
                                 size_t *count, int *more, size_t max_elements)
{
	struct tv_buf b, rep;
	struct tv_element *v = NULL;
	uint16_t first, avail;
	uint32_t bytes;
	size_t cap = 0, k = 0;
	int rc = 0, cut = 0;

	*out = NULL;
	*count = 0;
	*more = 0;
	if (p == NULL || n < 8)
		return short_data("element status data", n, 8);
	tv_buf_view(&b, p, n);
	if (tv_buf_get_u16(&b, &first) || tv_buf_get_u16(&b, &avail) || tv_buf_consume(&b, 1) ||
	    get24(&b, &bytes))
		return short_data("element status data", n, 8);
	if (bytes > tv_buf_avail(&b)) {
		bytes = (uint32_t)tv_buf_avail(&b);
		cut = 1;
	}
	if ((rc = tv_buf_froms(&b, &rep, bytes)) != 0)
		return rc;
	while (tv_buf_avail(&rep) > 0 && rc == 0)
		rc = parse_page(&rep, &v, &k, &cap, &cut, max_elements);
	if (rc != 0) {
		free(v);
		return rc;
	}
	if (k < avail)
		cut = 1;
	*out = v;
	*count = k;
	*more = cut;
	return 0;
}

static int build_element(struct tv_buf *b, const struct tv_element *e, int voltag)
{
	uint8_t flags = (uint8_t)((e->full ? 0x01 : 0) | (e->impexp ? 0x02 : 0) |
	                          (e->except ? 0x04 : 0) | (e->access ? 0x08 : 0));
	int rc;

	if ((rc = tv_buf_put_u16(b, e->addr)) || (rc = tv_buf_put_u8(b, flags)) ||
	    (rc = tv_buf_put_u8(b, 0)) || (rc = tv_buf_put_u8(b, e->asc)) ||
	    (rc = tv_buf_put_u8(b, e->ascq)) || (rc = put_zero(b, 3)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((e->svalid ? 0x80 : 0) | (e->invert ? 0x40 : 0) |
	                                     (e->medium_type & 7)))) ||
	    (rc = tv_buf_put_u16(b, e->svalid ? e->source : 0)))
		return rc;
	if (!voltag)
		return 0;
	if (e->voltag[0] != '\0') {
		if ((rc = put_ascii(b, e->voltag, TV_VOLTAG_LEN)) != 0)
			return rc;
	} else if ((rc = put_zero(b, TV_VOLTAG_LEN)) != 0) {   /* empty or unreadable */
		return rc;
	}
	return put_zero(b, VOLTAG_FIELD - TV_VOLTAG_LEN);
}

int tv_scsi_build_element_status(struct tv_buf *b, const struct tv_element *e, size_t n,
                                 int voltag)
{
	size_t dlen = 12 + (voltag ? VOLTAG_FIELD : 0), total = 0;
	int rc;

	/* the report's length first: one page header per run of a type */
	for (size_t i = 0; i < n; i++)
		total += dlen + (i == 0 || e[i].type != e[i - 1].type ? 8 : 0);
	if (total > 0xFFFFFF || n > 0xFFFF)
		return tv_errf(TV_ERR_RANGE, "element status: %zu elements is too many", n);
	if ((rc = tv_buf_put_u16(b, n > 0 ? e[0].addr : 0)) ||
	    (rc = tv_buf_put_u16(b, (uint16_t)n)) || (rc = tv_buf_put_u8(b, 0)) ||
	    (rc = put24(b, (uint32_t)total)))
		return rc;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && e[j].type == e[i].type)
			j++;
		if ((rc = tv_buf_put_u8(b, e[i].type)) ||
		    (rc = tv_buf_put_u8(b, voltag ? 0x80 : 0)) ||
		    (rc = tv_buf_put_u16(b, (uint16_t)dlen)) || (rc = tv_buf_put_u8(b, 0)) ||
		    (rc = put24(b, (uint32_t)((j - i) * dlen))))
			return rc;
		for (; i < j; i++)
			if ((rc = build_element(b, &e[i], voltag)) != 0)
				return rc;
	}
	return 0;
}

/* ---- READ POSITION ---- */

int tv_scsi_parse_read_position(const uint8_t *p, size_t n, uint8_t form,
                                struct tv_read_position *rp)
{
	struct tv_buf b;
	uint8_t f, part8;
	uint32_t first;

	memset(rp, 0, sizeof(*rp));
	tv_buf_view(&b, p, n);
	if (form == TV_RP_SHORT) {
		if (p == NULL || n < 20)
			return short_data("READ POSITION short form", n, 20);
		if (tv_buf_get_u8(&b, &f) || tv_buf_get_u8(&b, &part8) || tv_buf_consume(&b, 2) ||
		    tv_buf_get_u32(&b, &first))
			return short_data("READ POSITION short form", n, 20);
		rp->bop = (f & 0x80) != 0;
		rp->eop = (f & 0x40) != 0;
		rp->object_unknown = (f & 0x20) != 0;     /* LOCU */
		rp->perr = (f & 0x02) != 0;
		rp->bpew = f & 0x01;
		rp->partition = part8;
		rp->object = first;
		return 0;
	}
	if (form == TV_RP_LONG) {
		if (p == NULL || n < 32)
			return short_data("READ POSITION long form", n, 32);
		if (tv_buf_get_u8(&b, &f) || tv_buf_consume(&b, 3) ||
		    tv_buf_get_u32(&b, &rp->partition) || tv_buf_get_u64(&b, &rp->object) ||
		    tv_buf_get_u64(&b, &rp->file))
			return short_data("READ POSITION long form", n, 32);
		rp->bop = (f & 0x80) != 0;
		rp->eop = (f & 0x40) != 0;
		rp->file_valid = (f & 0x08) == 0;          /* MPU: mark position unknown */
		rp->object_unknown = (f & 0x04) != 0;      /* LONU */
		rp->bpew = f & 0x01;
		return 0;
	}
	return tv_errf(TV_ERR_UNSUPPORTED, "READ POSITION form %02Xh not supported", form);
}

int tv_scsi_build_read_position(struct tv_buf *b, uint8_t form,
                                const struct tv_read_position *rp)
{
	uint8_t f;
	int rc;

	if (form == TV_RP_SHORT) {
		f = (uint8_t)((rp->bop ? 0x80 : 0) | (rp->eop ? 0x40 : 0) |
		              (rp->object_unknown ? 0x20 : 0) | 0x10 /* BYCU */ |
		              (rp->perr ? 0x02 : 0) | (rp->bpew ? 0x01 : 0));
		if (rp->object_unknown)
			f |= 0x04;                              /* LOLU */
		if ((rc = tv_buf_put_u8(b, f)) || (rc = tv_buf_put_u8(b, (uint8_t)rp->partition)) ||
		    (rc = put_zero(b, 2)) || (rc = tv_buf_put_u32(b, (uint32_t)rp->object)) ||
		    (rc = tv_buf_put_u32(b, (uint32_t)rp->object)))
			return rc;
		return put_zero(b, 8);
	}
	f = (uint8_t)((rp->bop ? 0x80 : 0) | (rp->eop ? 0x40 : 0) | (rp->file_valid ? 0 : 0x08) |
	              (rp->object_unknown ? 0x04 : 0) | (rp->bpew ? 0x01 : 0));
	if ((rc = tv_buf_put_u8(b, f)) || (rc = put_zero(b, 3)) ||
	    (rc = tv_buf_put_u32(b, rp->partition)) || (rc = tv_buf_put_u64(b, rp->object)) ||
	    (rc = tv_buf_put_u64(b, rp->file)))
		return rc;
	return put_zero(b, 8);
}

/* ---- LOG SENSE page 31h ---- */

int tv_scsi_parse_capacity_log(const uint8_t *p, size_t n, struct tv_tape_capacity *c)
{
	struct tv_buf b, page, par;
	uint8_t code, ctl, len;
	uint16_t plen, pcode;
	uint32_t v;

	memset(c, 0, sizeof(*c));
	if (p == NULL || n < 4)
		return short_data("tape capacity log page", n, 4);
	tv_buf_view(&b, p, n);
	if (tv_buf_get_u8(&b, &code) || tv_buf_consume(&b, 1) || tv_buf_get_u16(&b, &plen))
		return short_data("tape capacity log page", n, 4);
	if ((code & 0x3F) != TV_LOG_PAGE_TAPE_CAPACITY)
		return tv_errf(TV_ERR_FORMAT, "log page %02Xh where 31h was asked", code & 0x3F);
	if (plen > tv_buf_avail(&b))
		plen = (uint16_t)tv_buf_avail(&b);    /* cut by the allocation length */
	tv_buf_froms(&b, &page, plen);
	while (tv_buf_avail(&page) >= 4) {
		if (tv_buf_get_u16(&page, &pcode) || tv_buf_get_u8(&page, &ctl) ||
		    tv_buf_get_u8(&page, &len))
			break;
		if (tv_buf_froms(&page, &par, len) != 0)
			break;                        /* a parameter cut short */
		if ((pcode != 1 && pcode != 3) || len != 4 || tv_buf_get_u32(&par, &v) != 0)
			continue;
		if (pcode == 1) {
			c->has_remaining = 1;
			c->remaining = v;
		} else {
			c->has_max = 1;
			c->max = v;
		}
	}
	return 0;
}

int tv_scsi_build_capacity_log(struct tv_buf *b, const struct tv_tape_capacity *c)
{
	static const uint16_t codes[4] = { 1, 2, 3, 4 };
	uint32_t vals[4] = { c->remaining, 0, c->max, 0 };
	int rc;

	if ((rc = tv_buf_put_u8(b, TV_LOG_PAGE_TAPE_CAPACITY)) || (rc = tv_buf_put_u8(b, 0)) ||
	    (rc = tv_buf_put_u16(b, 4 * 8)))
		return rc;
	for (int i = 0; i < 4; i++)
		if ((rc = tv_buf_put_u16(b, codes[i])) || (rc = tv_buf_put_u8(b, 0x40)) ||
		    (rc = tv_buf_put_u8(b, 4)) || (rc = tv_buf_put_u32(b, vals[i])))
			return rc;
	return 0;
}

/* ---- SECURITY PROTOCOL 20h pages ---- */

/* The page header: its code must be `want`; *body holds the page's bytes
 * after the header, cut to what was transferred. */
static int sp_page(const uint8_t *p, size_t n, uint16_t want, const char *what,
                   struct tv_buf *body, struct tv_buf *b)
{
	uint16_t code, len;

	if (p == NULL || n < 4)
		return short_data(what, n, 4);
	tv_buf_view(b, p, n);
	if (tv_buf_get_u16(b, &code) || tv_buf_get_u16(b, &len))
		return short_data(what, n, 4);
	if (code != want)
		return tv_errf(TV_ERR_FORMAT, "%s: page %04Xh where %04Xh was asked", what, code,
		               want);
	if (len > tv_buf_avail(b))
		len = (uint16_t)tv_buf_avail(b);
	return tv_buf_froms(b, body, len);
}

static int parse_kads(struct tv_buf *b, struct tv_sp_kad *k, size_t *nk, const char *what)
{
	uint8_t type, fl;
	uint16_t len;

	*nk = 0;
	while (tv_buf_avail(b) > 0) {
		struct tv_buf d;
		if (tv_buf_get_u8(b, &type) || tv_buf_get_u8(b, &fl) || tv_buf_get_u16(b, &len))
			return tv_errf(TV_ERR_FORMAT, "%s: a key-associated data descriptor is cut",
			               what);
		if (tv_buf_froms(b, &d, len) != 0)
			return tv_errf(TV_ERR_FORMAT, "%s: key-associated data of %u bytes, %zu "
			               "left", what, len, tv_buf_avail(b));
		if (len > TV_SP_KAD_MAX)
			return tv_errf(TV_ERR_FORMAT, "%s: key-associated data of %u bytes (at most "
			               "%d)", what, len, TV_SP_KAD_MAX);
		if (*nk == TV_SP_MAX_KADS)
			return tv_errf(TV_ERR_FORMAT, "%s: more than %d key-associated data "
			               "descriptors", what, TV_SP_MAX_KADS);
		k[*nk].type = type;
		k[*nk].authenticated = fl & 0x07;
		k[*nk].len = len;
		tv_buf_get(&d, k[*nk].data, len);
		(*nk)++;
	}
	return 0;
}

static int put_kads(struct tv_buf *b, const struct tv_sp_kad *k, size_t nk)
{
	int rc;

	for (size_t i = 0; i < nk; i++)
		if ((rc = tv_buf_put_u8(b, k[i].type)) ||
		    (rc = tv_buf_put_u8(b, k[i].authenticated & 0x07)) ||
		    (rc = tv_buf_put_u16(b, k[i].len)) || (rc = tv_buf_put(b, k[i].data, k[i].len)))
			return rc;
	return 0;
}

/* Patches the page length (bytes 2-3) of a page begun at `start`. */
static int end_page(struct tv_buf *b, size_t start)
{
	size_t len = tv_buf_avail(b) - start - 4;
	uint8_t v[2];

	if (len > 0xFFFF)
		return tv_errf(TV_ERR_RANGE, "security protocol page of %zu bytes", len);
	tv_put_be16(v, (uint16_t)len);
	return tv_buf_poke(b, start + 2, v, 2);
}

static int parse_alg(struct tv_buf *b, struct tv_sp_algorithm *a)
{
	struct tv_buf d;
	uint8_t f1;
	uint16_t len;

	memset(a, 0, sizeof(*a));
	if (tv_buf_get_u8(b, &a->index) || tv_buf_consume(b, 1) || tv_buf_get_u16(b, &len))
		return tv_errf(TV_ERR_FORMAT, "encryption capabilities: an algorithm "
		               "descriptor is cut");
	if (tv_buf_froms(b, &d, len) != 0)
		return tv_errf(TV_ERR_FORMAT, "encryption capabilities: algorithm %u claims "
		               "%u bytes, %zu left", a->index, len, tv_buf_avail(b));
	if (len < 20 || tv_buf_get_u8(&d, &f1) || tv_buf_consume(&d, 1) ||
	    tv_buf_get_u16(&d, &a->max_ukad) || tv_buf_get_u16(&d, &a->max_akad) ||
	    tv_buf_get_u16(&d, &a->key_len) || tv_buf_consume(&d, 8) ||
	    tv_buf_get_u32(&d, &a->code))
		return tv_errf(TV_ERR_FORMAT, "encryption capabilities: algorithm %u: %u bytes, "
		               "20 needed", a->index, len);
	a->avfmv = (f1 & 0x80) != 0;
	a->decrypt_c = (f1 >> 2) & 0x03;
	a->encrypt_c = f1 & 0x03;
	return 0;
}

int tv_sp_parse_caps(const uint8_t *p, size_t n, struct tv_sp_caps *c)
{
	struct tv_buf b, body;
	uint8_t f;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = sp_page(p, n, TV_SP_PAGE_CAPABILITIES, "encryption capabilities page", &body,
	                  &b)) != 0)
		return rc;
	if (tv_buf_get_u8(&body, &f) || tv_buf_consume(&body, 15))
		return tv_errf(TV_ERR_FORMAT, "encryption capabilities page: %zu bytes, 20 "
		               "needed", n);
	c->cfg_p = f & 0x03;
	while (tv_buf_avail(&body) > 0) {
		struct tv_sp_algorithm a;
		if ((rc = parse_alg(&body, &a)) != 0)
			return rc;
		if (c->nalg == TV_SP_MAX_ALGS) {
			c->more = 1;
			continue;
		}
		c->alg[c->nalg++] = a;
	}
	return 0;
}

int tv_sp_build_caps(struct tv_buf *b, const struct tv_sp_caps *c)
{
	size_t start = tv_buf_avail(b);
	int rc;

	if ((rc = tv_buf_put_u16(b, TV_SP_PAGE_CAPABILITIES)) || (rc = tv_buf_put_u16(b, 0)) ||
	    (rc = tv_buf_put_u8(b, c->cfg_p & 0x03)) || (rc = put_zero(b, 15)))
		return rc;
	for (size_t i = 0; i < c->nalg; i++) {
		const struct tv_sp_algorithm *a = &c->alg[i];
		uint8_t f1 = (uint8_t)((a->avfmv ? 0x80 : 0) | 0x20 /* MAC_C */ | 0x10 /* DELB_C */ |
		                       (a->decrypt_c & 3) << 2 | (a->encrypt_c & 3));
		if ((rc = tv_buf_put_u8(b, a->index)) || (rc = tv_buf_put_u8(b, 0)) ||
		    (rc = tv_buf_put_u16(b, 20)) || (rc = tv_buf_put_u8(b, f1)) ||
		    (rc = tv_buf_put_u8(b, 0x0C)) ||    /* KADF_C, VCELB_C */
		    (rc = tv_buf_put_u16(b, a->max_ukad)) || (rc = tv_buf_put_u16(b, a->max_akad)) ||
		    (rc = tv_buf_put_u16(b, a->key_len)) || (rc = put_zero(b, 8)) ||
		    (rc = tv_buf_put_u32(b, a->code)))
			return rc;
	}
	return end_page(b, start);
}

int tv_sp_parse_set(const uint8_t *p, size_t n, struct tv_sp_set *s)
{
	struct tv_buf b, body;
	uint8_t f4, f5;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = sp_page(p, n, TV_SP_PAGE_SET_ENCRYPTION, "set data encryption page", &body,
	                  &b)) != 0)
		return rc;
	if (tv_buf_get_u8(&body, &f4) || tv_buf_get_u8(&body, &f5) ||
	    tv_buf_get_u8(&body, &s->encrypt_mode) || tv_buf_get_u8(&body, &s->decrypt_mode) ||
	    tv_buf_get_u8(&body, &s->alg_index) || tv_buf_get_u8(&body, &s->key_format) ||
	    tv_buf_get_u8(&body, &s->kad_format) || tv_buf_consume(&body, 7) ||
	    tv_buf_get_u16(&body, &s->key_len))
		return tv_errf(TV_ERR_FORMAT, "set data encryption page: %zu bytes, 20 needed", n);
	s->scope = f4 >> 5;
	s->lock = f4 & 0x01;
	s->ckod = (f5 & 0x04) != 0;
	s->ckorp = (f5 & 0x02) != 0;
	s->ckorl = f5 & 0x01;
	if (s->key_len > TV_SP_KEY_MAX)
		return tv_errf(TV_ERR_FORMAT, "set data encryption page: a %u-byte key (at most "
		               "%d)", s->key_len, TV_SP_KEY_MAX);
	if (tv_buf_get(&body, s->key, s->key_len) != 0)
		return tv_errf(TV_ERR_FORMAT, "set data encryption page: the key is cut");
	return parse_kads(&body, s->kad, &s->nkad, "set data encryption page");
}

int tv_sp_build_set(struct tv_buf *b, const struct tv_sp_set *s)
{
	size_t start = tv_buf_avail(b);
	int rc;

	if (s->key_len > TV_SP_KEY_MAX)
		return tv_errf(TV_ERR_RANGE, "a %u-byte key", s->key_len);
	if ((rc = tv_buf_put_u16(b, TV_SP_PAGE_SET_ENCRYPTION)) || (rc = tv_buf_put_u16(b, 0)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((s->scope & 7) << 5 | (s->lock ? 1 : 0)))) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((s->ckod ? 0x04 : 0) | (s->ckorp ? 0x02 : 0) |
	                                     (s->ckorl ? 0x01 : 0)))) ||
	    (rc = tv_buf_put_u8(b, s->encrypt_mode)) || (rc = tv_buf_put_u8(b, s->decrypt_mode)) ||
	    (rc = tv_buf_put_u8(b, s->alg_index)) || (rc = tv_buf_put_u8(b, s->key_format)) ||
	    (rc = tv_buf_put_u8(b, s->kad_format)) || (rc = put_zero(b, 7)) ||
	    (rc = tv_buf_put_u16(b, s->key_len)) || (rc = tv_buf_put(b, s->key, s->key_len)) ||
	    (rc = put_kads(b, s->kad, s->nkad)))
		return rc;
	return end_page(b, start);
}

int tv_sp_parse_status(const uint8_t *p, size_t n, struct tv_sp_status *s)
{
	struct tv_buf b, body;
	uint8_t f4, f12;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = sp_page(p, n, TV_SP_PAGE_STATUS, "data encryption status page", &body,
	                  &b)) != 0)
		return rc;
	if (tv_buf_get_u8(&body, &f4) || tv_buf_get_u8(&body, &s->encrypt_mode) ||
	    tv_buf_get_u8(&body, &s->decrypt_mode) || tv_buf_get_u8(&body, &s->alg_index) ||
	    tv_buf_get_u32(&body, &s->key_instance) || tv_buf_get_u8(&body, &f12) ||
	    tv_buf_get_u8(&body, &s->kad_format) || tv_buf_consume(&body, 10))
		return tv_errf(TV_ERR_FORMAT, "data encryption status page: %zu bytes, 24 "
		               "needed", n);
	s->it_scope = f4 >> 5;
	s->key_scope = f4 & 0x07;
	s->vcelb = (f12 & 0x08) != 0;
	s->rdmd = f12 & 0x01;
	return parse_kads(&body, s->kad, &s->nkad, "data encryption status page");
}

int tv_sp_build_status(struct tv_buf *b, const struct tv_sp_status *s)
{
	size_t start = tv_buf_avail(b);
	int rc;

	if ((rc = tv_buf_put_u16(b, TV_SP_PAGE_STATUS)) || (rc = tv_buf_put_u16(b, 0)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((s->it_scope & 7) << 5 | (s->key_scope & 7)))) ||
	    (rc = tv_buf_put_u8(b, s->encrypt_mode)) || (rc = tv_buf_put_u8(b, s->decrypt_mode)) ||
	    (rc = tv_buf_put_u8(b, s->alg_index)) || (rc = tv_buf_put_u32(b, s->key_instance)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((s->vcelb ? 0x08 : 0) | (s->rdmd ? 1 : 0)))) ||
	    (rc = tv_buf_put_u8(b, s->kad_format)) || (rc = put_zero(b, 10)) ||
	    (rc = put_kads(b, s->kad, s->nkad)))
		return rc;
	return end_page(b, start);
}

int tv_sp_parse_next_block(const uint8_t *p, size_t n, struct tv_sp_next_block *nb)
{
	struct tv_buf b, body;
	uint8_t f12, f14;
	int rc;

	memset(nb, 0, sizeof(*nb));
	if ((rc = sp_page(p, n, TV_SP_PAGE_NEXT_BLOCK, "next block encryption status page",
	                  &body, &b)) != 0)
		return rc;
	if (tv_buf_get_u64(&body, &nb->object) || tv_buf_get_u8(&body, &f12) ||
	    tv_buf_get_u8(&body, &nb->alg_index) || tv_buf_get_u8(&body, &f14) ||
	    tv_buf_get_u8(&body, &nb->kad_format))
		return tv_errf(TV_ERR_FORMAT, "next block encryption status page: %zu bytes, 16 "
		               "needed", n);
	nb->compression = f12 >> 4;
	nb->status = f12 & 0x0F;
	nb->emes = (f14 & 0x02) != 0;
	nb->rdmds = f14 & 0x01;
	return parse_kads(&body, nb->kad, &nb->nkad, "next block encryption status page");
}

int tv_sp_build_next_block(struct tv_buf *b, const struct tv_sp_next_block *nb)
{
	size_t start = tv_buf_avail(b);
	int rc;

	if ((rc = tv_buf_put_u16(b, TV_SP_PAGE_NEXT_BLOCK)) || (rc = tv_buf_put_u16(b, 0)) ||
	    (rc = tv_buf_put_u64(b, nb->object)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((nb->compression & 0x0F) << 4 |
	                                     (nb->status & 0x0F)))) ||
	    (rc = tv_buf_put_u8(b, nb->alg_index)) ||
	    (rc = tv_buf_put_u8(b, (uint8_t)((nb->emes ? 2 : 0) | (nb->rdmds ? 1 : 0)))) ||
	    (rc = tv_buf_put_u8(b, nb->kad_format)) || (rc = put_kads(b, nb->kad, nb->nkad)))
		return rc;
	return end_page(b, start);
}

const struct tv_sp_kad *tv_sp_find_kad(const struct tv_sp_kad *k, size_t n, uint8_t type)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].type == type)
			return &k[i];
	return NULL;
}
