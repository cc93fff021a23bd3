/* Fuzz target: the stream reader and the entry cursor (format v2,
 * record.h): frame assembly across records, resynchronisation after
 * damage, seeking by location, entry and catalog item parsing.
 *
 * Input byte 0 selects the mode:
 *   bits 0-1  key: 0 plaintext expected, 1 the fixed key, 2 checksums only,
 *             3 the fixed key when record 0 is sealed, else none
 *   bit 7 clear: a tape image (test_format_memtape.h: items "u8 kind | u24
 *             length | bytes", kind 0 a filemark) read file by file;
 *             bit 2: fix up record and content header CRCs first
 *   bit 7 set: a tape file written with tv_twriter from the input, then
 *             damaged, then read back:
 *             bit 2  zstd          bit 3  a catalog file (else data)
 *             bit 4  CONT          bit 5  fix record CRCs after damage
 *             bit 6  sealed (with the fixed key)
 *             byte 1: damage count (bits 0-1), byte 2: repeat count - 1; then
 *             per damage "u16 record | u16 offset | u8 xor | u8 unused";
 *             the rest, repeated, is the file's byte stream.  Marks go
 *             where a writer would put them (each entry header or item the
 *             harness finds walking the stream).  Undamaged, the read back
 *             must give the stream and exactly the entries or items marked.
 * Each file is read as its content header says: data files entry by entry
 * (tv_ecursor_next / _data), catalog files item by item, others frame by
 * frame.
 *
 * Fixed key material (the seeds in corpus/fuzz_format_stream use it): DEK
 * bytes 0x00..0x1f, tape UUID bytes 0xa0..0xaf, content UUID (writer mode)
 * bytes 0xc0..0xcf, record size 64 KiB.  Errors are fine; crashes, hangs,
 * sanitizer reports and broken invariants are not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "../unit/test_format_memtape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "broken: %s (%s:%d)\n", #c, \
	__FILE__, __LINE__); abort(); } } while (0)

#define RS TV_RECORD_SIZE_MIN
#define STREAM_MAX (512u * 1024u)
#define MARKS_MAX 4096
#define STEPS_MAX 20000           /* cursor calls per tape */

static uint8_t dek[32], tape_uuid[16], content_uuid[16];
static struct tv_entry ent;
static struct tv_cat_item_v item;

static void init(void)
{
	for (int i = 0; i < 32; i++)
		dek[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++) {
		tape_uuid[i] = (uint8_t)(0xa0 + i);
		content_uuid[i] = (uint8_t)(0xc0 + i);
	}
}

/* What one tape file read gave. */
struct result {
	int type;
	size_t errors, units;         /* entries or items (or frames) */
	uint64_t data;                /* entry data bytes read */
	int last_eof, last_cont;      /* the last entry's data ran into the end */
	uint8_t *raw;                 /* frame mode: the raw stream */
	size_t raw_len;
};

static void read_data(struct tv_treader *r, struct result *res, int *steps)
{
	struct tv_ecursor *c;
	struct tv_loc loc;
	int rc;

	CHECK(tv_ecursor_open(&c, r, TV_CT_DATA, 0) == 0);
	while (++*steps < STEPS_MAX) {
		const uint8_t *p;
		size_t n;
		int cont;
		rc = tv_ecursor_next(c, &ent, &loc);
		if (rc == 0)
			break;
		if (rc < 0) {
			res->errors++;
			continue;
		}
		res->units++;
		CHECK(loc.entry_off < TV_FRAME_RAW_MAX);
		res->last_eof = 0;
		while (++*steps < STEPS_MAX && (rc = tv_ecursor_data(c, &p, &n, &cont)) == 1) {
			CHECK(p != NULL && n > 0);
			res->data += n;
		}
		if (rc == TV_ERR_EOF) {
			res->last_eof = 1;
			res->last_cont = cont;
		} else if (rc < 0) {
			res->errors++;
		}
	}
	tv_ecursor_close(c);
}

static void read_catalog(struct tv_treader *r, struct result *res, int *steps)
{
	struct tv_ecursor *c;
	int rc;

	CHECK(tv_ecursor_open(&c, r, TV_CT_CATALOG, 0) == 0);
	while (++*steps < STEPS_MAX) {
		rc = tv_ecursor_item(c, &item, NULL);
		if (rc == 0)
			break;
		if (rc < 0)
			res->errors++;
		else
			res->units++;
		if (rc == 1 && item.type == TV_CI_WRITER) {
			/* the digest a writer signature covers (docs/FORMAT.md 9.4) */
			uint8_t dg[32];
			(void)tv_ecursor_writer_digest(c, dg);
		}
	}
	tv_ecursor_close(c);
}

static void read_frames(struct tv_treader *r, struct result *res, int *steps, int keep)
{
	struct tv_frame_info fi;
	const uint8_t *p;
	size_t n;
	int rc;

	while (++*steps < STEPS_MAX) {
		rc = tv_treader_next(r, &p, &n, &fi);
		if (rc == 0)
			break;
		if (rc < 0) {
			res->errors++;
			continue;
		}
		res->units++;
		CHECK(n == 0 || p != NULL);
		CHECK(n <= TV_FRAME_RAW_MAX);
		if (keep && n > 0) {
			uint8_t *q = realloc(res->raw, res->raw_len + n);
			if (q == NULL)
				abort();
			res->raw = q;
			memcpy(q + res->raw_len, p, n);
			res->raw_len += n;
		}
	}
}

static struct tv_treader *open_reader(struct memtape *m)
{
	struct tv_treader_opts o = { .workers = 1 };
	struct tv_treader *r;

	CHECK(tv_treader_open(&r, &m->base, "FUZZ00L9", tape_uuid, &o) == 0);
	tv_treader_set_record_size(r, RS);
	return r;
}

/* Reads up to 8 tape files from the tape's start.  frames_only: every file
 * frame by frame (keeping the raw stream of the first).  One reader serves
 * every pass over a tape (opening one costs two 4 MiB buffers). */
static void read_tape(struct tv_treader *r, struct memtape *m, int keymode,
                      int frames_only, struct result *res, size_t nres)
{
	int steps = 0;

	(void)tv_treader_end_file(r);
	m->pos = 0;
	tv_treader_set_crc_only(r, keymode == 2);
	for (size_t f = 0; f < 8 && steps < STEPS_MAX; f++) {
		struct tv_content_header ch;
		struct result dummy, *rs = f < nres ? &res[f] : &dummy;
		uint64_t fno;
		int sealed, rc;
		const uint8_t *key = NULL;

		memset(&dummy, 0, sizeof(dummy));
		rc = tv_treader_begin_file(r, &ch, &fno, &sealed);
		if (rc == TV_ERR_EOD)
			break;
		if (rc == TV_ERR_FILEMARK)
			continue;
		if (rc != 0) {
			rs->errors++;
			if (tv_treader_end_file(r) != 0)
				break;
			continue;
		}
		rs->type = ch.type;
		if (keymode == 1 || (keymode == 3 && sealed))
			key = dek;
		rc = tv_treader_set_key(r, key, NULL, 0);
		if (rc == 0) {
			if (frames_only || keymode == 2 || (ch.type != TV_CT_DATA &&
			                                    ch.type != TV_CT_CATALOG))
				read_frames(r, rs, &steps, frames_only && f == 0);
			else if (ch.type == TV_CT_DATA)
				read_data(r, rs, &steps);
			else
				read_catalog(r, rs, &steps);
		} else {
			rs->errors++;
			/* the stream cannot be read now; next() says so too */
			CHECK(tv_treader_next(r, &(const uint8_t *){ NULL }, &(size_t){ 0 },
			                      NULL) < 0);
		}
		if (tv_treader_end_file(r) != 0)
			break;
	}
	tv_treader_set_crc_only(r, 0);
}

/* ---- tape image mode ---- */

static void fix_crcs(struct memtape *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mt_item *it = &m->it[i];
		if (it->data == NULL || it->len < TV_REC_HDR)
			continue;
		if (it->len >= TV_REC_HDR + TV_HDR_FIXED && tv_get_be64(it->data + 16) == 0) {
			uint8_t *h = it->data + TV_REC_HDR;
			size_t bl = tv_get_be32(h + 32);
			if (bl <= it->len - TV_REC_HDR - TV_HDR_FIXED)
				tv_put_be32(h + 36, tv_crc32c(tv_crc32c(0, h, 36), h + TV_HDR_FIXED, bl));
		}
		mt_fix_rec_crc(m, i);
	}
}

static void image_mode(int mode, const uint8_t *p, size_t n)
{
	struct memtape *m = memtape_new();
	struct tv_treader *r;
	struct result res[8];

	memset(res, 0, sizeof(res));
	mt_load(m, p, n);
	if (mode & 4)
		fix_crcs(m);
	r = open_reader(m);
	read_tape(r, m, mode & 3, 0, res, 8);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

/* ---- writer mode ---- */

struct walk {
	size_t at[MARKS_MAX];        /* stream offsets of the marks */
	size_t n;
	int clean;                   /* every unit decodes; the last may be cut */
	uint64_t data;               /* entry data bytes in the stream */
	int cut;                     /* the last entry's data runs past the end */
};

/* Where a writer would put marks: each entry header (data) or item
 * (catalog) found walking the stream from its start. */
static void walk_stream(const uint8_t *s, size_t len, int catalog, struct walk *w)
{
	size_t pos = 0;

	memset(w, 0, sizeof(*w));
	w->clean = 1;
	while (pos < len && w->n < MARKS_MAX) {
		size_t used = 0;
		if (catalog) {
			uint32_t n;
			if (len - pos < 5) {
				w->clean = 0;
				break;
			}
			n = tv_get_be32(s + pos + 1);
			if (n > TV_CI_MAX || n > len - pos - 5) {
				w->clean = 0;
				break;
			}
			w->at[w->n++] = pos;
			if (tv_cat_item_decode(s + pos, len - pos, &item, &used) != 0)
				w->clean = 0;
			pos += 5 + n;
			continue;
		}
		if (tv_entry_decode(s + pos, len - pos, &ent, &used, NULL) != 0) {
			const uint8_t *next;
			w->clean = 0;
			next = memmem(s + pos + 1, len - pos - 1, TV_ENTRY_MAGIC, 4);
			if (next == NULL)
				break;
			pos = (size_t)(next - s);
			continue;
		}
		w->at[w->n++] = pos;
		pos += used;
		if (ent.length > len - pos) {
			w->data += len - pos;
			w->cut = 1;
			break;
		}
		w->data += ent.length;
		pos += (size_t)ent.length;
	}
	if (pos < len && !w->cut)
		w->clean = 0;
	if (w->n == MARKS_MAX)
		w->clean = 0;
}

struct placed {
	uint64_t off[4096];
	size_t n;
};

static int on_placed(void *ctx, uint32_t file_no, uint64_t index, uint64_t off,
                     const uint8_t *side, size_t side_len)
{
	struct placed *pl = ctx;
	(void)file_no;
	(void)side;
	(void)side_len;
	CHECK(index == pl->n);
	if (pl->n < 4096)
		pl->off[pl->n++] = off;
	return 0;
}

/* Writes the stream as tape file 0 with marks; mark k's frame index and
 * offset in it go to fidx[k], eoff[k]. */
static void write_file(struct memtape *m, int mode, const uint8_t *s, size_t len,
                       const struct walk *w, struct placed *pl, uint64_t *fidx,
                       uint32_t *eoff)
{
	struct tv_twriter_opts o = { .record_size = RS, .workers = 1 };
	struct tv_twriter *tw;
	size_t pos = 0;

	o.comp.method = (mode & 4) ? TV_COMP_ZSTD : TV_COMP_STORED;
	o.comp.level = 1;
	o.placed = on_placed;
	o.placed_ctx = pl;
	CHECK(tv_twriter_open(&tw, &m->base, "FUZZ00L9", tape_uuid, &o) == 0);
	CHECK(tv_twriter_begin_file(tw, 0, (mode & 8) ? TV_CT_CATALOG : TV_CT_DATA,
	                            content_uuid, "fuzz", 4, (mode & 64) ? dek : NULL) == 0);
	for (size_t k = 0; k <= w->n; k++) {
		size_t end = k < w->n ? w->at[k] : len;
		if (end > pos)
			CHECK(tv_twriter_write(tw, s + pos, end - pos) == 0);
		pos = end;
		if (k < w->n)
			CHECK(tv_twriter_mark(tw, &fidx[k], &eoff[k]) == 0);
	}
	CHECK(tv_twriter_end_file(tw, (mode & 16) != 0, NULL) == 0);
	CHECK(tv_twriter_close(tw) == 0);
}

/* Positioned at each of a few marks (as a restore is): the unit there
 * decodes, and is the one the walk found. */
static void seek_marks(struct tv_treader *r, int mode, const uint8_t *s, size_t len,
                       const struct walk *w, const struct placed *pl,
                       const uint64_t *fidx, const uint32_t *eoff, int damaged)
{
	int catalog = (mode & 8) != 0;

	for (size_t k = 0; k < w->n; k += 1 + w->n / 4) {
		struct tv_ecursor *c;
		struct tv_loc loc;
		size_t used;
		int rc;
		if (fidx[k] >= pl->n)
			break;
		if (tv_treader_seek(r, 0, pl->off[fidx[k]], content_uuid,
		                    (mode & 64) ? dek : NULL, 1) != 0)
			continue;
		CHECK(tv_ecursor_open(&c, r, catalog ? TV_CT_CATALOG : TV_CT_DATA, eoff[k]) == 0);
		if (catalog) {
			rc = tv_ecursor_item(c, &item, &loc);
			if (!damaged && w->clean) {
				struct tv_cat_item_v *want = malloc(sizeof(*want));
				CHECK(want != NULL);
				CHECK(rc == 1);
				CHECK(tv_cat_item_decode(s + w->at[k], len - w->at[k], want, &used) == 0);
				CHECK(want->type == item.type);
				free(want);
			}
		} else {
			rc = tv_ecursor_next(c, &ent, &loc);
			if (!damaged && w->clean) {
				struct tv_entry *want = malloc(sizeof(*want));
				CHECK(want != NULL);
				CHECK(rc == 1);
				CHECK(tv_entry_decode(s + w->at[k], len - w->at[k], want, &used,
				                      NULL) == 0);
				CHECK(memcmp(want, &ent, sizeof(ent)) == 0);
				free(want);
			}
		}
		if (rc == 1) {
			CHECK(loc.frame_off == pl->off[fidx[k]]);
			CHECK(loc.entry_off == eoff[k]);
		}
		tv_ecursor_close(c);
	}
}

static void damage(struct memtape *m, const uint8_t *d, size_t nd, int fix)
{
	for (size_t k = 0; k < nd; k++, d += 6) {
		size_t rec = ((size_t)d[0] << 8 | d[1]) % m->n, off;
		struct mt_item *it = &m->it[rec];
		if (it->data == NULL || it->len == 0)
			continue;
		off = ((size_t)d[2] << 8 | d[3]) % it->len;
		it->data[off] ^= d[4] ? d[4] : 1;
		if (fix)
			mt_fix_rec_crc(m, rec);
	}
}

static void writer_mode(int mode, const uint8_t *p, size_t n)
{
	static uint64_t fidx[MARKS_MAX];
	static uint32_t eoff[MARKS_MAX];
	static struct walk w;
	static struct placed pl;
	struct memtape *m;
	struct tv_treader *r;
	struct result res[1];
	size_t nd, rep, len;
	uint8_t *s;
	int catalog = (mode & 8) != 0, keymode = mode & 3, sealed = (mode & 64) != 0;

	if (n < 2)
		return;
	nd = p[0] & 3;
	rep = 1 + (size_t)p[1];
	p += 2;
	n -= 2;
	if (n < 6 * nd)
		return;
	len = n - 6 * nd;
	if (len * rep > STREAM_MAX)
		rep = STREAM_MAX / (len ? len : 1);
	if (rep == 0)
		return;
	s = malloc(len * rep + 1);
	if (s == NULL)
		abort();
	for (size_t k = 0; k < rep; k++)
		memcpy(s + k * len, p + 6 * nd, len);
	len *= rep;

	walk_stream(s, len, catalog, &w);
	pl.n = 0;
	m = memtape_new();
	write_file(m, mode, s, len, &w, &pl, fidx, eoff);
	damage(m, p, nd, (mode & 32) != 0);
	r = open_reader(m);

	/* frame by frame: the stream, as written */
	memset(res, 0, sizeof(res));
	read_tape(r, m, keymode, 1, res, 1);
	if (nd == 0 && keymode != 2 && (keymode == 3 || !!keymode == sealed)) {
		CHECK(res[0].errors == 0);
		CHECK(res[0].raw_len == len);
		CHECK(len == 0 || memcmp(res[0].raw, s, len) == 0);
	}
	free(res[0].raw);
	/* unit by unit */
	memset(res, 0, sizeof(res));
	read_tape(r, m, keymode, 0, res, 1);
	if (nd == 0 && keymode != 2 && (keymode == 3 || !!keymode == sealed) && w.clean) {
		CHECK(res[0].errors == 0);
		CHECK(res[0].units == w.n);
		if (!catalog) {
			CHECK(res[0].data == w.data);
			CHECK(res[0].last_eof == w.cut);
			if (w.cut)
				CHECK(res[0].last_cont == ((mode & 16) != 0));
		}
	}
	free(res[0].raw);
	/* by location */
	if (keymode != 2 && (keymode == 3 || !!keymode == sealed))
		seek_marks(r, mode, s, len, &w, &pl, fidx, eoff, nd > 0);
	tv_treader_close(r);
	tv_tape_close(&m->base);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		writer_mode(data[0], data + 1, size - 1);
	else
		image_mode(data[0], data + 1, size - 1);
	tv_errclear();
	return 0;
}
