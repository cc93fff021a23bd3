/* tapevault: tape writer and reader streams (format v2) over an in-memory
 * tape double: round trips (plaintext, sealed, stored, zstd), full records,
 * positioning by frame offset, resynchronisation after a damaged record,
 * cut-off files, tampering and key mismatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

#define RS (64u * 1024u)                    /* record size in these tests */

static uint8_t dek[32], dek2[32], tape_uuid[16];
static uint32_t rng = 1;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* compressible when text: a few words picked by xorshift; else its noise
 * (tl_fill_random) */
static void pattern(uint8_t *p, size_t n, uint32_t seed, int text)
{
	static const char *words[] = { "tape ", "vault ", "frame ", "record ", "key ",
	                               "slot\n" };
	uint32_t x = seed * 2654435761u + 1;
	size_t i = 0;

	if (!text) {
		tl_fill_random(p, n, seed);
		return;
	}
	while (i < n) {
		const char *w;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		for (w = words[x % 6]; *w && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

static int setup(void **state)
{
	(void)state;
	pattern(dek, 32, 1, 0);
	pattern(dek2, 32, 2, 0);
	pattern(tape_uuid, 16, 3, 0);
	return 0;
}

static void cuuid(uint8_t u[16], unsigned file_no)
{
	pattern(u, 16, 1000 + file_no, 0);
}

struct placed_log {
	uint64_t index[4096];
	uint64_t off[4096];
	size_t n;
};

static int on_placed(void *ctx, uint32_t file_no, uint64_t index, uint64_t off,
                     const uint8_t *side, size_t side_len)
{
	struct placed_log *l = ctx;
	(void)file_no;
	(void)side;
	(void)side_len;
	if (l->n < 4096) {
		l->index[l->n] = index;
		l->off[l->n] = off;
		l->n++;
	}
	return 0;
}

static struct tv_twriter *open_writer(struct tv_tape *t, int zstd, struct placed_log *log)
{
	struct tv_twriter_opts o = { .record_size = RS, .workers = 2 };
	struct tv_twriter *w;

	o.comp.method = zstd ? TV_COMP_ZSTD : TV_COMP_STORED;
	o.comp.level = 1;
	o.placed = on_placed;
	o.placed_ctx = log;
	assert_int_equal(tv_twriter_open(&w, t, "T1", tape_uuid, &o), 0);
	return w;
}

/* Writes file file_no: len bytes of pattern(file_no) in random chunks, a
 * mark every `every` bytes (0: none). */
static int write_file(struct tv_twriter *w, unsigned file_no, size_t len, int text,
                      const uint8_t *key, int cont, size_t every,
                      struct tv_file_result *res)
{
	uint8_t u[16], *buf = malloc(len ? len : 1);
	size_t off = 0, next_mark = 0;
	char body[32];
	int rc;

	assert_non_null(buf);
	pattern(buf, len, file_no, text);
	cuuid(u, file_no);
	snprintf(body, sizeof(body), "body of %u", file_no);
	rc = tv_twriter_begin_file(w, file_no, TV_CT_DATA, u, body, strlen(body), key);
	while (rc == 0 && off < len) {
		size_t k = rnd() % 3 == 0 ? rnd() % 100 : rnd() % (3 * RS);
		if (every && off >= next_mark) {
			uint64_t fi;
			uint32_t eo;
			rc = tv_twriter_mark(w, &fi, &eo);
			next_mark += every;
			if (rc != 0)
				break;
		}
		if (k > len - off)
			k = len - off;
		if (every && k > next_mark - off)
			k = next_mark - off;
		if (rnd() % 2) {
			rc = tv_twriter_write(w, buf + off, k);
		} else {
			uint8_t *p;
			size_t room;
			rc = tv_twriter_reserve(w, &p, &room);
			if (rc == 0) {
				if (k > room)
					k = room;
				memcpy(p, buf + off, k);
				rc = tv_twriter_commit(w, k);
			}
		}
		off += k;
	}
	if (rc == 0)
		rc = tv_twriter_end_file(w, cont, res);
	free(buf);
	return rc;
}

/* Reads the next file and checks it against write_file's pattern. */
static void check_file(struct tv_treader *r, unsigned file_no, size_t len, int text,
                       const uint8_t *key, int cont)
{
	struct tv_content_header ch;
	struct tv_frame_info fi;
	uint8_t u[16], *want = malloc(len ? len : 1);
	uint64_t fno, idx = 0;
	size_t off = 0, n;
	const uint8_t *p;
	char body[32];
	int sealed, rc;

	pattern(want, len, file_no, text);
	cuuid(u, file_no);
	snprintf(body, sizeof(body), "body of %u", file_no);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(fno, file_no);
	assert_int_equal(ch.type, TV_CT_DATA);
	assert_int_equal(sealed, key != NULL);
	assert_memory_equal(ch.uuid, u, 16);
	assert_int_equal(ch.body_len, strlen(body));
	assert_memory_equal(ch.body, body, ch.body_len);
	assert_int_equal(tv_treader_set_key(r, key, NULL, 0), 0);
	while ((rc = tv_treader_next(r, &p, &n, &fi)) == 1) {
		assert_int_equal(fi.index, idx++);
		assert_true(off + n <= len);
		assert_memory_equal(p, want + off, n);
		off += n;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(off, len);
	assert_int_equal(tv_treader_cont(r), cont);
	assert_int_equal(tv_treader_truncated(r), 0);
	assert_int_equal(tv_treader_next(r, &p, &n, NULL), 0);
	assert_int_equal(tv_treader_end_file(r), 0);
	free(want);
}

/* Every record of every stream file: R bytes except record 0 and the last. */
static void check_records(const struct memtape *m)
{
	size_t i = 0;

	while (i < m->n) {
		size_t start = i;
		while (i < m->n && m->it[i].data != NULL)
			i++;
		for (size_t k = start + 1; k + 1 < i; k++)
			assert_int_equal(m->it[k].len, RS);
		i++;   /* filemark */
	}
}

static const size_t sizes[] = { 0, 1, 100, RS - 1, RS, RS + 1, 3 * RS - 7,
	1024 * 1024 + 17, 5 * RS + 3 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void roundtrip(int sealedw, int zstd, int text)
{
	struct memtape *m = memtape_new();
	struct placed_log log = { .n = 0 };
	struct tv_twriter *w = open_writer(&m->base, zstd, &log);
	struct tv_treader *r;
	struct tv_twriter_stats st;
	const uint8_t *key = sealedw ? dek : NULL;

	for (unsigned i = 0; i < NSIZES; i++) {
		struct tv_file_result res;
		assert_int_equal(write_file(w, i, sizes[i], text, key, i == 3, 0, &res), 0);
		assert_int_equal(res.raw_bytes, sizes[i]);
		assert_true(res.frames >= 1);
	}
	tv_twriter_stats(w, &st);
	assert_int_equal(tv_twriter_close(w), 0);
	if (zstd && text)
		assert_true(st.frames_compressed > 0 && st.stored_bytes < st.raw_bytes);
	if (!text)
		assert_int_equal(st.frames_compressed, 0);
	check_records(m);
	m->base.ops->rewind(&m->base);
	assert_int_equal(tv_treader_open(&r, &m->base, "T1", tape_uuid, NULL), 0);
	tv_treader_set_record_size(r, RS);
	for (unsigned i = 0; i < NSIZES; i++)
		check_file(r, i, sizes[i], text, key, i == 3);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

static void test_roundtrip_plain(void **state) { (void)state; roundtrip(0, 0, 0); }
static void test_roundtrip_sealed(void **state) { (void)state; roundtrip(1, 0, 0); }
static void test_roundtrip_zstd(void **state) { (void)state; roundtrip(0, 1, 1); }
static void test_roundtrip_zstd_sealed(void **state) { (void)state; roundtrip(1, 1, 1); }
static void test_roundtrip_zstd_random(void **state) { (void)state; roundtrip(1, 1, 0); }

/* Marks every 1000 bytes; seeking to a mark reads only the records the
 * frame covers, and gives the stream from the mark on. */
static void test_seek(void **state)
{
	struct memtape *m;
	struct placed_log log = { .n = 0 };
	struct tv_twriter *w;
	struct tv_treader *r;
	size_t len = 2 * 1024 * 1024, fsz = tv_frame_raw_size(RS);
	uint8_t *want = malloc(len);
	(void)state;

	for (int sealed = 0; sealed < 2; sealed++) {
		const uint8_t *key = sealed ? dek : NULL;
		uint8_t u[16];
		m = memtape_new();
		log.n = 0;
		w = open_writer(&m->base, 1, &log);
		assert_int_equal(write_file(w, 0, len, 0, key, 0, 1000, NULL), 0);
		assert_int_equal(tv_twriter_close(w), 0);
		pattern(want, len, 0, 0);
		cuuid(u, 0);
		assert_true(log.n == len / fsz + 1);
		assert_int_equal(tv_treader_open(&r, &m->base, "T1", tape_uuid, NULL), 0);
		tv_treader_set_record_size(r, RS);
		for (size_t k = 0; k < log.n; k += 3) {
			struct tv_frame_info fi;
			const uint8_t *p;
			size_t n;
			assert_int_equal(tv_treader_seek(r, 0, log.off[k], u, key, 10), 0);
			assert_int_equal(tv_treader_next(r, &p, &n, &fi), 1);
			assert_int_equal(fi.index, log.index[k]);
			assert_int_equal(fi.stream_off, log.off[k]);
			assert_memory_equal(p, want + k * fsz, n);
			/* one frame of random data: at most two records */
			assert_true(tv_treader_records(r) <= 2);
			if (k + 1 < log.n) {
				/* reading on goes past what the seek asked for */
				assert_int_equal(tv_treader_next(r, &p, &n, &fi), 1);
				assert_int_equal(fi.index, log.index[k + 1]);
				assert_memory_equal(p, want + (k + 1) * fsz, n);
			}
		}
		tv_treader_close(r);
		tv_tape_close(&m->base);
	}
	free(want);
}

/* A damaged record is reported once, named; the frames after it are read. */
static void test_resync(void **state)
{
	struct memtape *m = memtape_new();
	struct placed_log log = { .n = 0 };
	struct tv_twriter *w = open_writer(&m->base, 0, &log);
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	size_t len = 20 * RS, off = 0, n, idx;
	uint8_t *want = malloc(len);
	const uint8_t *p;
	struct tv_frame_info fi;
	int sealed, rc, errors = 0, frames = 0;
	(void)state;

	assert_int_equal(write_file(w, 0, len, 0, dek, 0, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	m->base.ops->rewind(&m->base);
	pattern(want, len, 0, 0);
	idx = mt_find(m, 0, 7);          /* record 7 of the only file */
	m->it[idx].data[100] ^= 1;
	assert_int_equal(tv_treader_open(&r, &m->base, "T1", tape_uuid, NULL), 0);
	tv_treader_set_record_size(r, RS);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, dek, NULL, 0), 0);
	for (;;) {
		rc = tv_treader_next(r, &p, &n, &fi);
		if (rc == 0)
			break;
		if (rc < 0) {
			assert_int_equal(rc, TV_ERR_CRC);
			assert_non_null(strstr(tv_errdetail(), "file 0 record 7"));
			errors++;
			continue;
		}
		frames++;
		off = fi.index * tv_frame_raw_size(RS);
		assert_memory_equal(p, want + off, n);
	}
	assert_int_equal(errors, 1);
	assert_true(frames >= (int)(len / tv_frame_raw_size(RS)) - 1);
	tv_treader_close(r);
	tv_tape_close(&m->base);
	free(want);
}

/* A file cut off by a crash: its whole frames are read, then truncated. */
static void test_truncated(void **state)
{
	struct memtape *m = memtape_new();
	struct placed_log log = { .n = 0 };
	struct tv_twriter *w = open_writer(&m->base, 0, &log);
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	size_t n, total = 0;
	const uint8_t *p;
	int sealed, rc, errors = 0;
	(void)state;

	assert_int_equal(write_file(w, 0, 10 * RS, 0, NULL, 0, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	mt_truncate(m, 6);
	m->base.ops->rewind(&m->base);   /* record 0 and 5 data records */
	assert_int_equal(tv_treader_open(&r, &m->base, "T1", tape_uuid, NULL), 0);
	tv_treader_set_record_size(r, RS);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, NULL, NULL, 0), 0);
	while ((rc = tv_treader_next(r, &p, &n, NULL)) != 0) {
		if (rc < 0) {
			assert_non_null(strstr(tv_errdetail(), "cut off"));
			errors++;
			continue;
		}
		total += n;
	}
	assert_int_equal(errors, 1);
	assert_true(total >= 4 * tv_frame_raw_size(RS));
	assert_int_equal(tv_treader_truncated(r), 1);
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

/* Flips bit 0 of the first body byte of a sealed record 0 and fixes both
 * CRCs (content header and record), as an attacker would. */
static void fix_header(uint8_t *rec, size_t len, int sealed)
{
	uint8_t *h = rec + TV_REC_HDR;
	size_t hl = len - TV_REC_HDR - (sealed ? TV_TAG_LEN : 0);
	uint32_t crc;

	h[TV_HDR_FIXED] ^= 1;
	crc = tv_crc32c(0, h, 36);
	crc = tv_crc32c(crc, h + TV_HDR_FIXED, hl - TV_HDR_FIXED);
	tv_put_be32(h + 36, crc);
	tv_put_be32(rec + 28, tv_rec_crc(rec, len - TV_REC_HDR));
}

/* Plaintext where sealed is expected, a wrong key, an edited header. */
static void test_tamper(void **state)
{
	struct memtape *m = memtape_new();
	struct placed_log log = { .n = 0 };
	struct tv_twriter *w = open_writer(&m->base, 1, &log);
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	const uint8_t *p;
	size_t n, idx;
	int sealed, rc;
	(void)state;

	assert_int_equal(write_file(w, 0, 3 * RS, 1, NULL, 0, 0, NULL), 0);
	assert_int_equal(write_file(w, 1, 3 * RS, 0, dek, 0, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	m->base.ops->rewind(&m->base);
	assert_int_equal(tv_treader_open(&r, &m->base, "T1", tape_uuid, NULL), 0);
	tv_treader_set_record_size(r, RS);
	/* a plaintext file where the tape is encrypted: refused */
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(sealed, 0);
	assert_int_equal(tv_treader_set_key(r, dek, NULL, 0), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "plaintext tape file on an encrypted tape"));
	assert_int_equal(tv_treader_end_file(r), 0);
	/* a wrong key: the header does not authenticate */
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, dek2, NULL, 0), TV_ERR_AUTH);
	assert_non_null(strstr(tv_errdetail(), "file 1 record 0"));
	assert_int_equal(tv_treader_end_file(r), 0);
	/* an edited content header (CRCs fixed up): refused */
	idx = mt_find(m, 1, 0);
	fix_header(m->it[idx].data, m->it[idx].len, 1);
	m->base.ops->rewind(&m->base);
	assert_int_equal(tv_tape_space_files(&m->base, 1), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, dek, NULL, 0), TV_ERR_AUTH);
	fix_header(m->it[idx].data, m->it[idx].len, 1);
	assert_int_equal(tv_treader_end_file(r), 0);
	/* an edited frame byte (record CRC fixed up): authentication fails */
	idx = mt_find(m, 1, 2);
	m->it[idx].data[TV_REC_HDR + 5000] ^= 1;
	tv_put_be32(m->it[idx].data + 28, tv_rec_crc(m->it[idx].data, m->it[idx].len - TV_REC_HDR));
	m->base.ops->rewind(&m->base);
	assert_int_equal(tv_tape_space_files(&m->base, 1), 0);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, dek, NULL, 0), 0);
	while ((rc = tv_treader_next(r, &p, &n, NULL)) == 1)
		;
	assert_int_equal(rc, TV_ERR_AUTH);
	assert_non_null(strstr(tv_errdetail(), "tape T1 file 1 record"));
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

/* An I/O error is sticky and named. */
static void test_io_error(void **state)
{
	struct memtape *m = memtape_new();
	struct placed_log log = { .n = 0 };
	struct tv_twriter *w = open_writer(&m->base, 0, &log);
	int rc;
	(void)state;

	m->fail_write_after = 5;
	rc = write_file(w, 2, 20 * RS, 0, NULL, 0, 0, NULL); /* numbered 2: in messages */
	if (rc == 0)
		rc = tv_twriter_sync(w);
	assert_int_equal(rc, TV_ERR_IO);
	assert_non_null(strstr(tv_errdetail(), "tape T1 file 2 record"));
	assert_int_equal(tv_twriter_close(w), TV_ERR_IO);
	tv_tape_close(&m->base);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_roundtrip_plain, setup),
		cmocka_unit_test_setup(test_roundtrip_sealed, setup),
		cmocka_unit_test_setup(test_roundtrip_zstd, setup),
		cmocka_unit_test_setup(test_roundtrip_zstd_sealed, setup),
		cmocka_unit_test_setup(test_roundtrip_zstd_random, setup),
		cmocka_unit_test_setup(test_seek, setup),
		cmocka_unit_test_setup(test_resync, setup),
		cmocka_unit_test_setup(test_truncated, setup),
		cmocka_unit_test_setup(test_tamper, setup),
		cmocka_unit_test_setup(test_io_error, setup),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
