/* tapevault: tape writer and reader streams (tv_twriter / tv_treader) over
 * an in-memory tape double and over a real vtape image: round trips,
 * early warning, full tape, I/O errors, truncated files, tampering, keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "test_format_memtape.h"

#define RS (64u * 1024u)                    /* record size in these tests */
#define CAPB (RS - TV_REC_HDR - TV_TAG_LEN)  /* data bytes per record */

static uint8_t dek[32], dek2[32], tape_uuid[16];
static uint32_t rng = 1;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static int setup(void **state)
{
	(void)state;
	pattern(dek, 32, 1);
	pattern(dek2, 32, 2);
	pattern(tape_uuid, 16, 3);
	return 0;
}

static void cuuid(uint8_t u[16], unsigned file_no)
{
	pattern(u, 16, 1000 + file_no);
}

/* Writes file file_no with len bytes of pattern(seed) in random chunks. */
static int write_file(struct tv_twriter *w, unsigned file_no, size_t len,
                      const uint8_t *key, int incomplete, struct tv_file_result *res)
{
	uint8_t u[16], *buf = malloc(len ? len : 1);
	size_t off = 0;
	char body[32];
	int rc;

	assert_non_null(buf);
	pattern(buf, len, file_no);
	cuuid(u, file_no);
	snprintf(body, sizeof(body), "body of %u", file_no);
	rc = tv_twriter_begin_file(w, file_no, TV_CT_FILE_DATA, u, body, strlen(body), key);
	while (rc == 0 && off < len) {
		size_t k = rnd() % 3 == 0 ? rnd() % 100 : rnd() % (3 * RS);
		if (k > len - off)
			k = len - off;
		rc = tv_twriter_write(w, buf + off, k);
		off += k;
	}
	if (rc == 0)
		rc = tv_twriter_end_file(w, incomplete, res);
	free(buf);
	return rc;
}

/* Reads the next file and checks it against write_file's pattern. */
static void check_file(struct tv_treader *r, unsigned file_no, size_t len,
                       const uint8_t *key, int incomplete)
{
	struct tv_content_header ch;
	uint8_t u[16], *want = malloc(len ? len : 1), *got = malloc(len + 2 * RS);
	uint64_t fno;
	size_t off = 0, n;
	char body[32];

	pattern(want, len, file_no);
	cuuid(u, file_no);
	snprintf(body, sizeof(body), "body of %u", file_no);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	assert_int_equal(fno, file_no);
	assert_int_equal(ch.type, TV_CT_FILE_DATA);
	assert_memory_equal(ch.uuid, u, 16);
	assert_int_equal(ch.body_len, strlen(body));
	assert_memory_equal(ch.body, body, ch.body_len);
	assert_int_equal(tv_treader_set_dek(r, key), 0);
	for (;;) {
		size_t k = rnd() % 2 ? rnd() % 1000 + 1 : rnd() % (2 * RS) + 1;
		if (k > len + 2 * RS - off)
			k = len + 2 * RS - off;
		assert_int_equal(tv_treader_read(r, got + off, k, &n), 0);
		if (n == 0)
			break;
		off += n;
	}
	assert_int_equal(off, len);
	assert_memory_equal(got, want, len);
	assert_int_equal(tv_treader_incomplete(r), incomplete);
	assert_int_equal(tv_treader_truncated(r), 0);
	assert_int_equal(tv_treader_records(r), len / CAPB + (len % CAPB || !len ? 1 : 0));
	/* reading again at the end: still 0 */
	assert_int_equal(tv_treader_read(r, got, 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(tv_treader_end_file(r), 0);
	free(want);
	free(got);
}

static const size_t sizes[] = { 0, 1, CAPB - 1, CAPB, CAPB + 1, 2 * CAPB,
	3 * 1024 * 1024 + 17, 100, 5 * CAPB - 3 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void roundtrip(struct tv_tape *t, int encrypted)
{
	struct tv_twriter *w;
	struct tv_treader *r;
	struct tv_content_header ch;
	struct tv_file_result res;
	uint64_t fno;
	const uint8_t *key = encrypted ? dek : NULL;

	assert_int_equal(tv_twriter_open(&w, t, "VT0001L9", tape_uuid, RS), 0);
	for (unsigned i = 0; i < NSIZES; i++) {
		uint8_t *buf = malloc(sizes[i] + 1);
		assert_int_equal(write_file(w, i, sizes[i], key, i == 4, &res), 0);
		pattern(buf, sizes[i], i);
		assert_int_equal(res.length, sizes[i]);
		assert_int_equal(res.crc, tv_crc32c(0, buf, sizes[i]));
		assert_int_equal(res.records, sizes[i] / CAPB +
		                 (sizes[i] % CAPB || !sizes[i] ? 1 : 0));
		free(buf);
	}
	assert_int_equal(tv_twriter_sync(w), 0);
	assert_int_equal(tv_twriter_ew(w), 0);
	assert_int_equal(tv_twriter_close(w), 0);

	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_treader_open(&r, t, "VT0001L9", tape_uuid, TV_RECORD_SIZE_MAX), 0);
	for (unsigned i = 0; i < NSIZES; i++)
		check_file(r, i, sizes[i], key, i == 4);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
	/* skipping files by spacing: begin + end_file only reads one record */
	assert_int_equal(tv_tape_rewind(t), 0);
	t->stats.records_read = 0;
	for (unsigned i = 0; i < NSIZES; i++) {
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
		assert_int_equal(fno, i);
		assert_int_equal(tv_treader_end_file(r), 0);
	}
	assert_int_equal(t->stats.records_read, NSIZES);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
	/* partial reads then end_file; begin_file without end_file */
	assert_int_equal(tv_tape_rewind(t), 0);
	for (unsigned i = 0; i < NSIZES; i++) {
		uint8_t tmp[100];
		size_t n;
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
		assert_int_equal(fno, i);
		assert_int_equal(tv_treader_set_dek(r, key), 0);
		assert_int_equal(tv_treader_read(r, tmp, sizeof(tmp), &n), 0);
		assert_int_equal(n, sizes[i] < 100 ? sizes[i] : 100);
		if (i % 2)
			assert_int_equal(tv_treader_end_file(r), 0);
	}
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
	tv_treader_close(r);
}

static void test_roundtrip_memtape(void **state)
{
	(void)state;
	for (int enc = 0; enc < 2; enc++) {
		struct memtape *m = memtape_new();
		roundtrip(&m->base, enc);
		/* record sizes on tape: header record, full records of exactly
		 * RS (encrypted) or RS - 16 (plaintext), a short last one */
		assert_true(m->it[mt_find(m, 5, 1)].len == (enc ? RS : RS - 16));
		assert_true(m->it[mt_find(m, 0, 1)].len == (size_t)(enc ? 48 : 32));
		assert_true(m->it[mt_find(m, 1, 1)].len == (size_t)(enc ? 49 : 33));
		tv_tape_close(&m->base);
	}
}

static void test_roundtrip_vtape(void **state)
{
	char dir[] = "/tmp/tv_fmt_XXXXXX", path[256];
	struct tv_vtape_attrs a;
	struct tv_tape *t;
	(void)state;

	assert_non_null(mkdtemp(dir));
	for (int enc = 0; enc < 2; enc++) {
		snprintf(path, sizeof(path), "%s/t%d.tap", dir, enc);
		memset(&a, 0, sizeof(a));
		strcpy(a.barcode, "VT0001L9");
		assert_int_equal(tv_vtape_create(path, &a), 0);
		assert_int_equal(tv_vtape_open(path, TV_TAPE_RDWR, &t), 0);
		roundtrip(t, enc);
		assert_int_equal(tv_tape_close(t), 0);
		/* and again after reopening the image */
		assert_int_equal(tv_vtape_open(path, TV_TAPE_RDONLY, &t), 0);
		{
			struct tv_treader *r;
			assert_int_equal(tv_treader_open(&r, t, "VT0001L9", tape_uuid,
			                                 TV_RECORD_SIZE_MAX), 0);
			for (unsigned i = 0; i < NSIZES; i++)
				check_file(r, i, sizes[i], enc ? dek : NULL, i == 4);
			tv_treader_close(r);
		}
		assert_int_equal(tv_tape_close(t), 0);
		unlink(path);
		snprintf(path, sizeof(path), "%s/t%d.tap.json", dir, enc);
		unlink(path);
	}
	rmdir(dir);
}

static void test_many_files(void **state)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	struct tv_treader *r;
	size_t len[60];
	(void)state;

	rng = 7;
	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0002L9", tape_uuid, RS), 0);
	assert_int_equal(write_file(w, 0, 10, NULL, 0, NULL), 0);
	assert_int_equal(write_file(w, 1, 10, NULL, 0, NULL), 0);
	for (unsigned i = 0; i < 60; i++) {
		len[i] = rnd() % 4 == 0 ? rnd() % (4 * RS) : rnd() % 300;
		assert_int_equal(write_file(w, i + 2, len[i], i % 3 ? dek : NULL, 0, NULL), 0);
	}
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(tv_tape_goto_file(&m->base, 2), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "VT0002L9", tape_uuid, RS), 0);
	for (unsigned i = 0; i < 60; i++)
		check_file(r, i + 2, len[i], i % 3 ? dek : NULL, 0);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

/* A slow tape: the ring fills, the writer waits; order is kept. */
static void test_slow_tape(void **state)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	struct tv_treader *r;
	(void)state;

	m->slow_us = 2000;
	assert_int_equal(tv_twriter_open(&w, &m->base, "SLOW", tape_uuid, RS), 0);
	assert_int_equal(write_file(w, 0, 20 * CAPB + 5, dek, 0, NULL), 0);
	assert_int_equal(write_file(w, 1, 7, dek, 1, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(tv_tape_rewind(&m->base), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "SLOW", tape_uuid, RS), 0);
	check_file(r, 0, 20 * CAPB + 5, dek, 0);
	check_file(r, 1, 7, dek, 1);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

static void test_early_warning_and_full(void **state)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	struct tv_treader *r;
	struct tv_content_header ch;
	unsigned i;
	uint64_t fno;
	int rc = 0;
	(void)state;

	/* early warning: flagged, not an error; everything is on tape */
	m->early_warning = 10 * RS;
	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0003L9", tape_uuid, RS), 0);
	for (i = 0; i < 20 && !tv_twriter_ew(w); i++) {
		assert_int_equal(write_file(w, i, 3 * CAPB, dek, 0, NULL), 0);
		assert_int_equal(tv_twriter_sync(w), 0);
	}
	assert_true(tv_twriter_ew(w));
	assert_true(i >= 3 && i < 6);
	/* finishing the current file and a catalog still works */
	assert_int_equal(write_file(w, i, 1000, dek, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(tv_tape_rewind(&m->base), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "VT0003L9", tape_uuid, RS), 0);
	for (unsigned k = 0; k < i; k++)
		check_file(r, k, 3 * CAPB, dek, 0);
	check_file(r, i, 1000, dek, 0);
	tv_treader_close(r);
	tv_tape_close(&m->base);

	/* physical end: an error, sticky; nothing after it is written */
	m = memtape_new();
	m->capacity = 10 * RS + 100;
	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0004L9", tape_uuid, RS), 0);
	for (i = 0; i < 20 && rc == 0; i++)
		rc = write_file(w, i, 3 * CAPB, dek, 0, NULL);
	if (rc == 0)
		rc = tv_twriter_sync(w);
	assert_int_equal(rc, TV_ERR_NOSPC);
	assert_non_null(strstr(tv_errdetail(), "VT0004L9"));
	assert_non_null(strstr(tv_errdetail(), "not written"));
	assert_int_equal(tv_twriter_write(w, "x", 1), TV_ERR_NOSPC);
	assert_int_equal(tv_twriter_sync(w), TV_ERR_NOSPC);
	assert_int_equal(tv_twriter_close(w), TV_ERR_NOSPC);
	assert_true(mt_used(m, m->n) <= 10 * RS + 100);
	/* what is on tape reads back: whole files, then a cut-off one */
	assert_int_equal(tv_tape_rewind(&m->base), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "VT0004L9", tape_uuid, RS), 0);
	check_file(r, 0, 3 * CAPB, dek, 0);
	check_file(r, 1, 3 * CAPB, dek, 0);
	check_file(r, 2, 3 * CAPB, dek, 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	assert_int_equal(tv_treader_set_dek(r, dek), 0);
	{
		uint8_t *buf = malloc(4 * RS);
		size_t n, tot = 0;
		do {
			assert_int_equal(tv_treader_read(r, buf, 4 * RS, &n), 0);
			tot += n;
		} while (n > 0);
		assert_true(tot < 3 * CAPB);
		assert_int_equal(tv_treader_truncated(r), 1);
		free(buf);
	}
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

static void test_io_error(void **state)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	int rc = 0;
	(void)state;

	m->fail_write_after = 7;
	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0005L9", tape_uuid, RS), 0);
	for (unsigned i = 0; i < 10 && rc == 0; i++)
		rc = write_file(w, i, CAPB + 1, NULL, 0, NULL);
	if (rc == 0)
		rc = tv_twriter_sync(w);
	assert_int_equal(rc, TV_ERR_IO);
	assert_non_null(strstr(tv_errdetail(), "injected write error"));
	assert_int_equal(tv_twriter_close(w), TV_ERR_IO);
	assert_int_equal(m->n, 6);      /* the six writes before the failing one */
	tv_tape_close(&m->base);
}

/* A write cut short (power loss): the file ends without an END record. */
static void test_truncated(void **state)
{
	struct tv_twriter *w;
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	uint8_t *buf = malloc(8 * RS), *want = malloc(8 * RS);
	size_t n, tot;
	(void)state;

	pattern(want, 5 * CAPB, 1);
	for (int mode = 0; mode < 4; mode++) {
		struct memtape *m = memtape_new();
		assert_int_equal(tv_twriter_open(&w, &m->base, "VT0006L9", tape_uuid, RS), 0);
		assert_int_equal(write_file(w, 0, 10, mode & 1 ? dek : NULL, 0, NULL), 0);
		assert_int_equal(write_file(w, 1, 5 * CAPB, mode & 1 ? dek : NULL, 0, NULL), 0);
		assert_int_equal(write_file(w, 2, 10, mode & 1 ? dek : NULL, 0, NULL), 0);
		assert_int_equal(tv_twriter_close(w), 0);
		/* cut file 1 after its 3rd data record: mode 0/1 at end of data,
		 * mode 2/3 with a filemark (and file 2 after it) */
		{
			size_t cut = mt_find(m, 1, 3) + 1;
			if (mode < 2) {
				mt_truncate(m, cut);
			} else {
				size_t fm = mt_find(m, 2, 0) - 1;
				for (size_t k = cut; k < fm; k++)
					free(m->it[k].data);
				memmove(&m->it[cut], &m->it[fm], (m->n - fm) * sizeof(m->it[0]));
				m->n -= fm - cut;
			}
		}
		assert_int_equal(tv_tape_rewind(&m->base), 0);
		assert_int_equal(tv_treader_open(&r, &m->base, "VT0006L9", tape_uuid, RS), 0);
		check_file(r, 0, 10, mode & 1 ? dek : NULL, 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
		assert_int_equal(fno, 1);
		assert_int_equal(tv_treader_set_dek(r, mode & 1 ? dek : NULL), 0);
		tot = 0;
		do {
			assert_int_equal(tv_treader_read(r, buf + tot, 8 * RS - tot, &n), 0);
			tot += n;
		} while (n > 0);
		assert_int_equal(tot, 3 * CAPB);
		assert_memory_equal(buf, want, tot);
		assert_int_equal(tv_treader_truncated(r), 1);
		assert_int_equal(tv_treader_records(r), 3);
		assert_int_equal(tv_treader_end_file(r), 0);
		if (mode >= 2)
			check_file(r, 2, 10, mode & 1 ? dek : NULL, 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
		/* end_file without reading, on a cut-off file */
		assert_int_equal(tv_tape_goto_file(&m->base, 1), 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
		assert_int_equal(tv_treader_end_file(r), 0);
		if (mode >= 2)
			check_file(r, 2, 10, mode & 1 ? dek : NULL, 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
		tv_treader_close(r);
		tv_tape_close(&m->base);
	}
	free(buf);
	free(want);
}

/* Writes three encrypted or plain files into a memtape. */
static struct memtape *three_files(int enc)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;

	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0007L9", tape_uuid, RS), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(write_file(w, i, 4 * CAPB, enc ? dek : NULL, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(tv_tape_rewind(&m->base), 0);
	return m;
}

static char lastmsg[1024];

/* Reads file 1 completely; returns the error (0 if none) and the bytes
 * delivered before it; the error detail is kept in lastmsg. */
static int read_file1(struct memtape *m, const uint8_t *key, int set_key, size_t *tot)
{
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	uint8_t *buf = malloc(RS);
	size_t n;
	int rc;

	*tot = 0;
	assert_int_equal(tv_tape_goto_file(&m->base, 1), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "VT0007L9", tape_uuid, RS), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	if (set_key)
		assert_int_equal(tv_treader_set_dek(r, key), 0);
	while ((rc = tv_treader_read(r, buf, RS, &n)) == 0 && n > 0)
		*tot += n;
	snprintf(lastmsg, sizeof(lastmsg), "%s", tv_errdetail());
	/* sticky, with the same detail */
	if (rc != 0) {
		tv_errclear();
		assert_int_equal(tv_treader_read(r, buf, RS, &n), rc);
		assert_string_equal(tv_errdetail(), lastmsg);
	}
	/* the next file is still reachable */
	assert_int_equal(tv_treader_end_file(r), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	assert_int_equal(fno, 2);
	tv_treader_close(r);
	free(buf);
	return rc;
}

static void test_keys(void **state)
{
	struct memtape *m = three_files(1), *p = three_files(0);
	size_t tot;
	(void)state;

	assert_int_equal(read_file1(m, dek, 1, &tot), 0);
	assert_int_equal(tot, 4 * CAPB);
	assert_int_equal(read_file1(m, dek2, 1, &tot), TV_ERR_AUTH);
	assert_int_equal(tot, 0);
	assert_string_equal(lastmsg, "tape VT0007L9 file 1 record 1: "
	                    "authentication failed: data was modified or the key is wrong");
	assert_int_equal(read_file1(m, NULL, 0, &tot), TV_ERR_LOCKED);
	assert_non_null(strstr(lastmsg, "file 1 record 1"));
	assert_int_equal(read_file1(m, NULL, 1, &tot), TV_ERR_FORMAT);
	assert_int_equal(read_file1(p, dek, 1, &tot), TV_ERR_FORMAT);
	assert_int_equal(read_file1(p, NULL, 0, &tot), 0);
	/* the key needs the tape UUID */
	{
		struct tv_treader *r;
		struct tv_content_header ch;
		uint64_t fno;
		assert_int_equal(tv_tape_rewind(&m->base), 0);
		assert_int_equal(tv_treader_open(&r, &m->base, "X", NULL, RS), 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
		assert_int_equal(tv_treader_set_dek(r, dek), TV_ERR_STATE);
		tv_treader_set_tape_uuid(r, tape_uuid);
		assert_int_equal(tv_treader_set_dek(r, dek), 0);
		tv_treader_close(r);
	}
	/* checksums only: reads the ciphertext, verifies CRCs */
	{
		struct tv_treader *r;
		struct tv_content_header ch;
		uint64_t fno;
		uint8_t *buf = malloc(RS);
		size_t n, total = 0;
		assert_int_equal(tv_tape_rewind(&m->base), 0);
		assert_int_equal(tv_treader_open(&r, &m->base, "X", NULL, RS), 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
		tv_treader_set_crc_only(r, 1);
		while (tv_treader_read(r, buf, RS, &n) == 0 && n > 0)
			total += n;
		assert_int_equal(total, 4 * CAPB);
		assert_int_equal(tv_treader_truncated(r), 0);
		tv_treader_close(r);
		free(buf);
	}
	tv_tape_close(&m->base);
	tv_tape_close(&p->base);
}

static void test_tamper(void **state)
{
	size_t tot, i1, i2;
	(void)state;

	for (int enc = 0; enc < 2; enc++) {
		const uint8_t *key = enc ? dek : NULL;
		struct memtape *m;
		struct mt_item tmp;

		/* a flipped bit in record 3: CRC error naming it, after the
		 * good records' data */
		m = three_files(enc);
		m->it[mt_find(m, 1, 3)].data[100] ^= 4;
		assert_int_equal(read_file1(m, key, 1, &tot), TV_ERR_CRC);
		assert_non_null(strstr(lastmsg, "tape VT0007L9 file 1 record 3"));
		assert_int_equal(tot, 2 * CAPB);
		tv_tape_close(&m->base);

		/* flipped bit, CRC recomputed: auth (encrypted) */
		if (enc) {
			struct mt_item *it;
			m = three_files(enc);
			it = &m->it[mt_find(m, 1, 2)];
			it->data[200] ^= 4;
			tv_put_be32(it->data + 24, tv_rec_crc(it->data, it->len - 32));
			assert_int_equal(read_file1(m, key, 1, &tot), TV_ERR_AUTH);
			assert_int_equal(tot, CAPB);
			tv_tape_close(&m->base);
		}

		/* two records swapped */
		m = three_files(enc);
		i1 = mt_find(m, 1, 2);
		i2 = mt_find(m, 1, 3);
		tmp = m->it[i1];
		m->it[i1] = m->it[i2];
		m->it[i2] = tmp;
		assert_int_equal(read_file1(m, key, 1, &tot), TV_ERR_FORMAT);
		assert_non_null(strstr(lastmsg, "reordered"));
		tv_tape_close(&m->base);

		/* a record dropped */
		m = three_files(enc);
		i1 = mt_find(m, 1, 2);
		free(m->it[i1].data);
		memmove(&m->it[i1], &m->it[i1 + 1], (m->n - i1 - 1) * sizeof(m->it[0]));
		m->n--;
		assert_int_equal(read_file1(m, key, 1, &tot), TV_ERR_FORMAT);
		tv_tape_close(&m->base);

		/* a record of file 2 in file 1's place: file number differs;
		 * with the header patched to claim file 1: auth (encrypted) */
		m = three_files(enc);
		i1 = mt_find(m, 1, 2);
		i2 = mt_find(m, 2, 2);
		memcpy(m->it[i1].data, m->it[i2].data, m->it[i1].len);
		assert_int_equal(read_file1(m, key, 1, &tot), TV_ERR_FORMAT);
		assert_non_null(strstr(lastmsg, "belongs to tape file 2"));
		if (enc) {
			tv_put_be32(m->it[i1].data + 12, 1);
			tv_put_be32(m->it[i1].data + 24,
			            tv_rec_crc(m->it[i1].data, m->it[i1].len - 32));
			assert_int_equal(read_file1(m, key, 1, &tot), TV_ERR_AUTH);
		}
		tv_tape_close(&m->base);

		/* the END record removed: the file looks cut off */
		m = three_files(enc);
		i1 = mt_find(m, 1, 4);
		free(m->it[i1].data);
		memmove(&m->it[i1], &m->it[i1 + 1], (m->n - i1 - 1) * sizeof(m->it[0]));
		m->n--;
		{
			struct tv_treader *r;
			struct tv_content_header ch;
			uint64_t fno;
			uint8_t *buf = malloc(RS);
			size_t n;
			assert_int_equal(tv_tape_goto_file(&m->base, 1), 0);
			assert_int_equal(tv_treader_open(&r, &m->base, "VT0007L9", tape_uuid, RS), 0);
			assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
			assert_int_equal(tv_treader_set_dek(r, key), 0);
			tot = 0;
			while (tv_treader_read(r, buf, RS, &n) == 0 && n > 0)
				tot += n;
			assert_int_equal(tot, 3 * CAPB);
			assert_int_equal(tv_treader_truncated(r), 1);
			tv_treader_close(r);
			free(buf);
		}
		tv_tape_close(&m->base);
	}
}

static void test_hostile_tape(void **state)
{
	struct memtape *m = three_files(0);
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	size_t tot;
	(void)state;

	/* records longer than the reader accepts */
	assert_int_equal(tv_treader_open(&r, &m->base, "VT0007L9", tape_uuid, 16384), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);   /* header is short */
	{
		uint8_t buf[100];
		size_t n;
		assert_int_equal(tv_treader_read(r, buf, sizeof(buf), &n), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "file 0 record 1: record longer"));
	}
	/* the next begin_file skips the rest of the failed file */
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	assert_int_equal(fno, 1);
	tv_treader_close(r);

	/* a foreign record where the content header should be */
	m->it[mt_find(m, 1, 0)].data[0] = 'X';
	assert_int_equal(tv_tape_rewind(&m->base), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "VT0007L9", tape_uuid, RS), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "tape VT0007L9 file 1 record 0"));
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), 0);
	assert_int_equal(fno, 2);
	tv_treader_close(r);
	(void)tot;
	tv_tape_close(&m->base);

	/* an empty tape file (two filemarks) */
	m = memtape_new();
	assert_int_equal(tv_tape_write_filemarks(&m->base, 1), 0);
	assert_int_equal(tv_tape_rewind(&m->base), 0);
	assert_int_equal(tv_treader_open(&r, &m->base, "E", tape_uuid, RS), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_FILEMARK);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno), TV_ERR_EOD);
	assert_int_equal(fno, 1);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

static void test_api_misuse(void **state)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	struct tv_treader *r;
	uint8_t u[16] = { 1 }, big[100];
	size_t n;
	(void)state;

	assert_int_equal(tv_twriter_open(&w, &m->base, "X", tape_uuid, 1000), TV_ERR_INVAL);
	assert_int_equal(tv_twriter_open(&w, &m->base, "X", tape_uuid, TV_RECORD_SIZE_MIN), 0);
	assert_int_equal(tv_twriter_write(w, "a", 1), TV_ERR_STATE);
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), TV_ERR_STATE);
	/* a content header that does not fit a 4 KiB record */
	{
		uint8_t *body = calloc(1, 5000);
		assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_CATALOG, u, body, 5000, NULL),
		                 TV_ERR_RANGE);
		free(body);
	}
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_CATALOG, u, "b", 1, NULL), 0);
	assert_int_equal(tv_twriter_begin_file(w, 1, TV_CT_CATALOG, u, "b", 1, NULL),
	                 TV_ERR_STATE);
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(tv_twriter_close(NULL), 0);

	assert_int_equal(tv_treader_open(&r, &m->base, "X", NULL, 100), TV_ERR_INVAL);
	assert_int_equal(tv_treader_open(&r, &m->base, "X", NULL, TV_RECORD_SIZE_MIN), 0);
	assert_int_equal(tv_treader_read(r, big, sizeof(big), &n), TV_ERR_STATE);
	assert_int_equal(tv_treader_set_dek(r, NULL), TV_ERR_STATE);
	assert_int_equal(tv_treader_end_file(r), 0);
	tv_treader_close(r);
	tv_treader_close(NULL);
	tv_tape_close(&m->base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_memtape),
		cmocka_unit_test(test_roundtrip_vtape),
		cmocka_unit_test(test_many_files),
		cmocka_unit_test(test_slow_tape),
		cmocka_unit_test(test_early_warning_and_full),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_hostile_tape),
		cmocka_unit_test(test_api_misuse),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
