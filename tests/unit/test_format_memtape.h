/* tapevault tests: an in-memory tape implementing the tape.h semantics (a
 * test double for the format layer), with capacity, early warning, write
 * errors after N writes, helpers to inspect or modify stored records, and
 * a byte-string form of a whole tape (seed corpora and fuzz targets).
 * Header-only: every function is static inline. */
#ifndef TEST_FORMAT_MEMTAPE_H
#define TEST_FORMAT_MEMTAPE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/record.h"
#include "tape/tape.h"
#include "util/buf.h"
#include "util/err.h"

struct mt_item {
	uint8_t *data;     /* NULL: filemark */
	size_t len;
};

struct memtape {
	struct tv_tape base;
	struct mt_item *it;
	size_t n, cap_items;
	size_t pos;                /* index of the next item */
	uint64_t capacity;         /* bytes; 0 = unlimited */
	uint64_t early_warning;    /* bytes; 0 = none */
	long fail_write_after;     /* the Nth write call (1-based) fails with IO; 0 off */
	long writes;
	int slow_us;               /* sleep per record write (ordering tests) */
};

static inline uint64_t mt_used(const struct memtape *m, size_t upto)
{
	uint64_t u = 0;
	for (size_t i = 0; i < upto && i < m->n; i++)
		u += m->it[i].data ? m->it[i].len : 1;
	return u;
}

static inline void mt_truncate(struct memtape *m, size_t at)
{
	for (size_t i = at; i < m->n; i++)
		free(m->it[i].data);
	if (at < m->n)
		m->n = at;
}

static inline int mt_append(struct memtape *m, const void *p, size_t len, int fm)
{
	uint64_t used, add = fm ? 1 : len;

	m->writes++;
	if (m->fail_write_after && m->writes >= m->fail_write_after)
		return tv_errf(TV_ERR_IO, "memtape: injected write error");
	mt_truncate(m, m->pos);
	used = mt_used(m, m->n);
	if (m->capacity && used + add > m->capacity)
		return tv_errf(TV_ERR_NOSPC, "memtape: full");
	if (m->n == m->cap_items) {
		size_t nc = m->cap_items ? m->cap_items * 2 : 64;
		struct mt_item *ni = realloc(m->it, nc * sizeof(*ni));
		if (ni == NULL)
			return TV_ERR_NOMEM;
		m->it = ni;
		m->cap_items = nc;
	}
	m->it[m->n].len = fm ? 0 : len;
	m->it[m->n].data = NULL;
	if (!fm) {
		m->it[m->n].data = malloc(len);
		if (m->it[m->n].data == NULL)
			return TV_ERR_NOMEM;
		memcpy(m->it[m->n].data, p, len);
	}
	m->n++;
	m->pos = m->n;
	if (m->early_warning && used + add > m->early_warning)
		return TV_ERR_EW;
	return 0;
}

static inline int mt_read(struct tv_tape *t, void *buf, size_t cap, size_t *got)
{
	struct memtape *m = (struct memtape *)t;
	struct mt_item *i;

	*got = 0;
	if (m->pos >= m->n)
		return TV_ERR_EOD;
	i = &m->it[m->pos++];
	if (i->data == NULL)
		return TV_ERR_FILEMARK;
	if (i->len > cap)
		return tv_errf(TV_ERR_RANGE, "memtape: record of %zu bytes", i->len);
	memcpy(buf, i->data, i->len);
	*got = i->len;
	return 0;
}

static inline int mt_write(struct tv_tape *t, const void *buf, size_t len)
{
	struct memtape *m = (struct memtape *)t;
	if (m->slow_us) {
		struct timespec ts = { 0, m->slow_us * 1000L };
		nanosleep(&ts, NULL);
	}
	return mt_append(m, buf, len, 0);
}

static inline int mt_write_fm(struct tv_tape *t, unsigned count)
{
	struct memtape *m = (struct memtape *)t;
	int r = 0;
	for (unsigned k = 0; k < count; k++) {
		r = mt_append(m, NULL, 0, 1);
		if (r != 0 && r != TV_ERR_EW)
			return r;
	}
	return r;
}

static inline int mt_rewind(struct tv_tape *t)
{
	((struct memtape *)t)->pos = 0;
	return 0;
}

static inline int mt_space_files(struct tv_tape *t, long count)
{
	struct memtape *m = (struct memtape *)t;

	while (count > 0) {
		if (m->pos >= m->n)
			return TV_ERR_EOD;
		if (m->it[m->pos++].data == NULL)
			count--;
	}
	while (count < 0) {
		if (m->pos == 0)
			return TV_ERR_EOF;
		if (m->it[--m->pos].data == NULL)
			count++;
	}
	return 0;
}

static inline int mt_space_records(struct tv_tape *t, long count)
{
	struct memtape *m = (struct memtape *)t;

	for (; count > 0; count--) {
		if (m->pos >= m->n)
			return TV_ERR_EOD;
		if (m->it[m->pos].data == NULL)
			return TV_ERR_FILEMARK;
		m->pos++;
	}
	for (; count < 0; count++) {
		if (m->pos == 0)
			return TV_ERR_EOF;
		if (m->it[m->pos - 1].data == NULL)
			return TV_ERR_FILEMARK;
		m->pos--;
	}
	return 0;
}

static inline int mt_seek_eod(struct tv_tape *t)
{
	struct memtape *m = (struct memtape *)t;
	m->pos = m->n;
	return 0;
}

static inline int mt_status(struct tv_tape *t, struct tv_tape_status *st)
{
	struct memtape *m = (struct memtape *)t;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < m->pos; i++) {
		if (m->it[i].data == NULL) {
			st->file_no++;
			st->block_no = 0;
		} else {
			st->block_no++;
		}
	}
	st->bot = m->pos == 0;
	st->eod = m->pos == m->n;
	st->capacity = m->capacity;
	st->used = mt_used(m, m->n);
	return 0;
}

static inline int mt_close(struct tv_tape *t)
{
	struct memtape *m = (struct memtape *)t;
	mt_truncate(m, 0);
	free(m->it);
	free(m);
	return 0;
}

static const struct tv_tape_ops memtape_ops = {
	.version = TV_TAPE_OPS_VERSION,
	.kind = "memtape",
	.read = mt_read,
	.write = mt_write,
	.write_filemarks = mt_write_fm,
	.rewind = mt_rewind,
	.space_files = mt_space_files,
	.space_records = mt_space_records,
	.seek_eod = mt_seek_eod,
	.status = mt_status,
	.close = mt_close,
};

static inline struct memtape *memtape_new(void)
{
	struct memtape *m = calloc(1, sizeof(*m));
	if (m == NULL)
		abort();
	m->base.ops = &memtape_ops;
	snprintf(m->base.name, sizeof(m->base.name), "memtape");
	return m;
}

/* ---- tape images as bytes (seed corpora, fuzz targets) ----
 *
 * A memtape as one byte string: items "u8 kind | u24 length | bytes",
 * kind 0 a filemark (length 0, no bytes), any other kind a record of
 * `length` bytes.  mt_load is total: a length running past the input is
 * cut to what is left, empty records are dropped. */
#define MT_IMAGE_ITEM_HDR 4

static inline int mt_image(const struct memtape *m, struct tv_buf *out)
{
	int r = 0;

	for (size_t i = 0; i < m->n && r == 0; i++) {
		const struct mt_item *it = &m->it[i];
		if (it->len > 0xFFFFFF)
			return tv_errf(TV_ERR_RANGE, "memtape image: record of %zu bytes",
			               it->len);
		if ((r = tv_buf_put_u8(out, it->data != NULL ? 1 : 0)) == 0 &&
		    (r = tv_buf_put_u8(out, (uint8_t)(it->len >> 16))) == 0 &&
		    (r = tv_buf_put_u16(out, (uint16_t)it->len)) == 0 && it->data != NULL)
			r = tv_buf_put(out, it->data, it->len);
	}
	return r;
}

/* Appends the items of an image; the position is left at BOT. */
static inline void mt_load(struct memtape *m, const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (n - off >= MT_IMAGE_ITEM_HDR) {
		size_t len = (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 | p[off + 3];
		int fm = p[off] == 0;
		off += MT_IMAGE_ITEM_HDR;
		if (fm) {
			mt_append(m, NULL, 0, 1);
			continue;
		}
		if (len > n - off)
			len = n - off;
		if (len > 0)
			mt_append(m, p + off, len, 0);
		off += len;
	}
	m->pos = 0;
}

/* Recomputes the CRC of the record in item i (after an edit, as an
 * attacker would), when it is long enough to have a header. */
static inline void mt_fix_rec_crc(struct memtape *m, size_t i)
{
	struct mt_item *it = &m->it[i];

	if (it->data != NULL && it->len >= TV_REC_HDR)
		tv_put_be32(it->data + 28, tv_rec_crc(it->data, it->len - TV_REC_HDR));
}

/* Index of the item that holds record `rec` (0-based, counting records
 * only) of tape file `file`, or (size_t)-1. */
static inline size_t mt_find(const struct memtape *m, unsigned file, unsigned rec)
{
	unsigned f = 0, r = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->it[i].data == NULL) {
			f++;
			r = 0;
			continue;
		}
		if (f == file && r == rec)
			return i;
		r++;
	}
	return (size_t)-1;
}

#endif
