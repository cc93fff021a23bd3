/* Unit tests: vtape (SIMH images) and the generic tape layer. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#include "tape/tape.h"
#include "util/err.h"


#define WS(p, s) tl_write_file((p), (s), strlen(s), 0644)

struct fx {
	const char *dir;
	char *img;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tl_tmpdir("vtape");
	f->img = tl_path(f->dir, "VT0001L9.tap");
	unsetenv("TAPEVAULT_TEST_FAULT");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->img);
	free(f);
	return 0;
}

static struct tv_tape *mk(struct fx *f, uint64_t cap, uint64_t ew)
{
	struct tv_vtape_attrs a;
	struct tv_tape *t = NULL;

	memset(&a, 0, sizeof(a));
	strcpy(a.barcode, "VT0001L9");
	a.capacity = cap;
	a.early_warning = ew;
	assert_int_equal(tv_vtape_create(f->img, &a), 0);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
	return t;
}

static struct tv_tape *reopen(struct fx *f, struct tv_tape *t, int mode)
{
	struct tv_tape *n = NULL;

	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_tape_open(f->img, mode, &n), 0);
	return n;
}

static void wr(struct tv_tape *t, size_t len, unsigned seed)
{
	unsigned char *b = malloc(len);

	tl_fill_random(b, len, seed);
	assert_int_equal(tv_tape_write(t, b, len), 0);
	free(b);
}

static void rd_expect(struct tv_tape *t, size_t len, unsigned seed)
{
	unsigned char *b = malloc(len + 16), *e = malloc(len + 1);
	size_t got = 12345;
	int rc = tv_tape_read(t, b, len + 16, &got);

	if (rc != 0)
		fail_msg("read: %s", tv_errmsg(rc));
	assert_int_equal(got, len);
	tl_fill_random(e, len, seed);
	assert_memory_equal(b, e, len);
	free(b);
	free(e);
}

static int rd_code(struct tv_tape *t)
{
	unsigned char b[64];
	size_t got;

	return tv_tape_read(t, b, sizeof(b), &got);
}

static void status(struct tv_tape *t, uint64_t file, uint64_t block)
{
	struct tv_tape_status st;
	int rc = tv_tape_status(t, &st);

	if (rc != 0)
		fail_msg("status: %s", tv_errmsg(rc));
	assert_int_equal(st.file_no, file);
	assert_int_equal(st.block_no, block);
}

/* ------------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0);
	static const size_t sizes[] = { 1, 2, 3, 4095, 4096, 262144, 262143, 17 };
	struct tv_tape_status st;

	for (size_t i = 0; i < 8; i++)
		wr(t, sizes[i], (unsigned)i);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	wr(t, 100, 100);
	assert_int_equal(tv_tape_write_filemarks(t, 2), 0);
	assert_int_equal(t->stats.records_written, 9);
	assert_int_equal(t->stats.filemarks_written, 3);
	status(t, 3, 0);
	t = reopen(f, t, TV_TAPE_RDONLY);
	assert_string_equal(t->ops->kind, "vtape");
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_true(st.bot);
	assert_false(st.eod);
	for (size_t i = 0; i < 8; i++)
		rd_expect(t, sizes[i], (unsigned)i);
	status(t, 0, 8);
	assert_int_equal(rd_code(t), TV_ERR_FILEMARK);
	status(t, 1, 0);
	rd_expect(t, 100, 100);
	assert_int_equal(rd_code(t), TV_ERR_FILEMARK);
	assert_int_equal(rd_code(t), TV_ERR_FILEMARK);
	status(t, 3, 0);
	assert_int_equal(rd_code(t), TV_ERR_EOD);
	assert_int_equal(rd_code(t), TV_ERR_EOD);   /* stays at EOD */
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_true(st.eod);
	assert_false(st.torn);
	assert_int_equal(t->stats.records_read, 9);
	assert_int_equal(t->stats.bytes_read, 1 + 2 + 3 + 4095 + 4096 + 262144 +
	                 262143 + 17 + 100);
	/* writes refused on a read-only open */
	assert_int_equal(tv_tape_write(t, "x", 1), TV_ERR_STATE);
	assert_int_equal(tv_tape_write_filemarks(t, 1), TV_ERR_STATE);
	assert_int_equal(tv_tape_close(t), 0);
	/* exact SIMH layout of the first record: LEN | data | pad | LEN */
	{
		size_t n;
		unsigned char *img = tl_read_file(f->img, &n);
		assert_non_null(img);
		assert_int_equal(img[0], 1);
		assert_int_equal(img[1] | img[2] | img[3], 0);
		assert_int_equal(img[5], 0);               /* pad */
		assert_int_equal(img[6], 1);               /* trailer */
		assert_int_equal(img[10], 2);              /* next record */
		free(img);
	}
}

static void test_create_exists(void **state)
{
	struct fx *f = *state;
	struct tv_vtape_attrs a, b;

	memset(&a, 0, sizeof(a));
	strcpy(a.barcode, "VT0002L9");
	a.capacity = 1 << 20;
	a.early_warning = 1 << 19;
	assert_int_equal(tv_vtape_create(f->img, &a), 0);
	assert_int_equal(tv_vtape_create(f->img, &a), TV_ERR_EXISTS);
	assert_non_null(strstr(tv_errdetail(), f->img));
	assert_int_equal(tv_vtape_read_attrs(f->img, &b), 0);
	assert_string_equal(b.barcode, "VT0002L9");
	assert_int_equal(b.capacity, 1 << 20);
	assert_int_equal(b.early_warning, 1 << 19);
	assert_int_equal(b.write_protected, 0);
	/* bad attributes */
	a.early_warning = a.capacity + 1;
	assert_int_equal(tv_vtape_create("/nonexistent-dir/x.tap", &a), TV_ERR_INVAL);
}

static void test_sidecar(void **state)
{
	struct fx *f = *state;
	struct tv_vtape_attrs a;
	struct tv_tape *t = mk(f, 5000, 4000);
	char *sc = tl_path(f->dir, "VT0001L9.tap.json");
	size_t n;
	char *txt;

	tv_tape_close(t);
	/* unknown keys survive a rewrite */
	txt = (char *)tl_read_file(sc, &n);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "\"created\""));
	free(txt);
	WS(sc, "{\"barcode\":\"VT0001L9\",\"capacity\":5000,"
	   "\"early_warning\":4000,\"owner\":\"bob\"}");
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), 0);
	a.write_protected = 1;
	assert_int_equal(tv_vtape_write_attrs(f->img, &a), 0);
	txt = (char *)tl_read_file(sc, &n);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "\"owner\": \"bob\""));
	assert_non_null(strstr(txt, "\"write_protected\": true"));
	free(txt);
	/* malformed sidecars */
	WS(sc, "{\"capacity\": -5}");
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), TV_ERR_FORMAT);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t), TV_ERR_FORMAT);
	assert_null(t);
	WS(sc, "[1,2]");
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), TV_ERR_FORMAT);
	WS(sc, "{\"capacity\": 10, \"early_warning\": 20}");
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), TV_ERR_FORMAT);
	WS(sc, "{\"write_protected\": \"yes\"}");
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), TV_ERR_FORMAT);
	WS(sc, "{not json");
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), sc));
	/* no sidecar: opens without limits */
	unlink(sc);
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), TV_ERR_NOTFOUND);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
	wr(t, 10, 1);
	tv_tape_close(t);
	free(sc);
}

static void test_default_ew(void **state)
{
	(void)state;
	assert_int_equal(tv_vtape_default_ew(0), 0);
	/* capacity/8 (a writer keeps at most capacity/16 in flight) */
	assert_int_equal(tv_vtape_default_ew((uint64_t)1 << 30),
	                 ((uint64_t)1 << 30) - ((uint64_t)1 << 27));
	assert_int_equal(tv_vtape_default_ew((uint64_t)16 << 20), (uint64_t)14 << 20);
	/* at most 1 GiB of margin on a large tape */
	assert_int_equal(tv_vtape_default_ew((uint64_t)400 << 30),
	                 ((uint64_t)400 << 30) - ((uint64_t)1 << 30));
	/* at least 1 MiB */
	assert_int_equal(tv_vtape_default_ew((uint64_t)4 << 20), (uint64_t)3 << 20);
	/* never below capacity/2 */
	assert_int_equal(tv_vtape_default_ew((uint64_t)2 << 20), (uint64_t)1 << 20);
	assert_int_equal(tv_vtape_default_ew((uint64_t)1 << 20), (uint64_t)1 << 19);
	assert_int_equal(tv_vtape_default_ew(1000), 500);
	assert_int_equal(tv_vtape_default_ew(1), 1);
}

static void test_truncate_on_write(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0);

	for (unsigned i = 0; i < 5; i++)
		wr(t, 1000, i);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	wr(t, 1000, 9);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_space_records(t, 2), 0);
	wr(t, 333, 77);
	assert_int_equal(tl_file_size(f->img), 2 * 1008 + 342);
	assert_int_equal(tv_tape_rewind(t), 0);
	rd_expect(t, 1000, 0);
	rd_expect(t, 1000, 1);
	rd_expect(t, 333, 77);
	assert_int_equal(rd_code(t), TV_ERR_EOD);
	/* a filemark written mid-tape discards the rest too */
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_space_records(t, 1), 0);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	assert_int_equal(tl_file_size(f->img), 1008 + 4);
	status(t, 1, 0);
	assert_int_equal(rd_code(t), TV_ERR_EOD);
	/* write_filemarks(0) is a no-op that discards nothing */
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_write_filemarks(t, 0), 0);
	assert_int_equal(tl_file_size(f->img), 1008 + 4);
	tv_tape_close(t);
}

/* file 0: 3 records, FM; file 1: 2 records, FM; file 2: 1 record */
static struct tv_tape *layout(struct fx *f)
{
	struct tv_tape *t = mk(f, 0, 0);

	wr(t, 11, 0);
	wr(t, 12, 1);
	wr(t, 13, 2);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	wr(t, 21, 3);
	wr(t, 22, 4);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	wr(t, 31, 5);
	return reopen(f, t, TV_TAPE_RDONLY);
}

static void test_backward(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = layout(f);
	struct tv_tape_status st;

	assert_int_equal(tv_tape_seek_eod(t), 0);
	status(t, 2, 1);
	assert_int_equal(tv_tape_space_records(t, -1), 0);
	status(t, 2, 0);
	rd_expect(t, 31, 5);
	assert_int_equal(tv_tape_space_records(t, -1), 0);
	/* a filemark stops backward record spacing, not crossed */
	assert_int_equal(tv_tape_space_records(t, -1), TV_ERR_FILEMARK);
	status(t, 2, 0);
	rd_expect(t, 31, 5);
	/* back over one filemark: just before it, at the end of file 1 */
	assert_int_equal(tv_tape_space_files(t, -1), 0);
	status(t, 1, 2);
	assert_int_equal(rd_code(t), TV_ERR_FILEMARK);
	status(t, 2, 0);
	assert_int_equal(tv_tape_space_files(t, -2), 0);
	status(t, 0, 3);
	assert_int_equal(tv_tape_space_records(t, -2), 0);
	status(t, 0, 1);
	rd_expect(t, 12, 1);
	/* BOT going backward */
	assert_int_equal(tv_tape_space_records(t, -5), TV_ERR_EOF);
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_true(st.bot);
	assert_int_equal(tv_tape_space_files(t, 1), 0);
	assert_int_equal(tv_tape_space_files(t, -3), TV_ERR_EOF);
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_true(st.bot);
	rd_expect(t, 11, 0);
	/* forward record spacing stops at the filemark, not crossed */
	assert_int_equal(tv_tape_space_records(t, 5), TV_ERR_FILEMARK);
	status(t, 0, 3);
	assert_int_equal(rd_code(t), TV_ERR_FILEMARK);
	assert_int_equal(tv_tape_space_records(t, 2), 0);
	assert_int_equal(tv_tape_space_files(t, 5), TV_ERR_EOD);
	status(t, 2, 1);
	assert_int_equal(rd_code(t), TV_ERR_EOD);
	/* stats: nothing spacing touched counts as read */
	assert_int_equal(t->stats.records_read, 4);
	assert_true(t->stats.records_spaced >= 10);
	assert_true(t->stats.files_spaced >= 5);
	tv_tape_close(t);
}

static void test_goto_file(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = layout(f);

	assert_int_equal(tv_tape_goto_file(t, 2), 0);
	rd_expect(t, 31, 5);
	assert_int_equal(tv_tape_goto_file(t, 1), 0);
	status(t, 1, 0);
	rd_expect(t, 21, 3);
	assert_int_equal(tv_tape_goto_file(t, 1), 0);   /* back to its start */
	rd_expect(t, 21, 3);
	rd_expect(t, 22, 4);
	assert_int_equal(tv_tape_goto_file(t, 0), 0);
	rd_expect(t, 11, 0);
	assert_int_equal(tv_tape_goto_file(t, 2), 0);
	assert_int_equal(tv_tape_goto_file(t, 2), 0);
	rd_expect(t, 31, 5);
	assert_int_equal(tv_tape_goto_file(t, 3), TV_ERR_NOTFOUND);
	assert_int_equal(tv_tape_goto_file(t, 1), 0);
	rd_expect(t, 21, 3);
	assert_int_equal(tv_tape_goto_file(NULL, 1), TV_ERR_INVAL);
	tv_tape_close(t);
}

static void test_goto_many_files(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0);

	for (unsigned i = 0; i < 50; i++) {
		wr(t, 40 + i, i);
		wr(t, 7, 1000 + i);
		assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	}
	for (unsigned k = 0; k < 200; k++) {
		unsigned n = (k * 37) % 50;
		assert_int_equal(tv_tape_goto_file(t, n), 0);
		status(t, n, 0);
		if (k % 3 == 0)
			rd_expect(t, 40 + n, n);
	}
	tv_tape_close(t);
}

static void test_ew_nospc(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 10000, 6000);
	struct tv_tape_status st;
	unsigned char b[1000];
	int rc;

	tl_fill_random(b, sizeof(b), 1);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(tv_tape_write(t, b, 1000), 0);   /* ends at 5040 */
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_false(st.ew);
	assert_int_equal(st.capacity, 10000);
	assert_int_equal(st.used, 5040);
	for (int i = 6; i <= 9; i++) {
		rc = tv_tape_write(t, b, 1000);
		assert_int_equal(rc, TV_ERR_EW);                   /* written */
	}
	assert_non_null(strstr(tv_errdetail(), "early warning"));
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_true(st.ew);
	assert_int_equal(t->stats.records_written, 9);
	assert_int_equal(tl_file_size(f->img), 9072);
	rc = tv_tape_write(t, b, 1000);                         /* would end 10080 */
	assert_int_equal(rc, TV_ERR_NOSPC);
	assert_non_null(strstr(tv_errdetail(), "capacity"));
	assert_int_equal(tl_file_size(f->img), 9072);          /* nothing written */
	assert_int_equal(t->stats.records_written, 9);
	assert_int_equal(tv_tape_write_filemarks(t, 1), TV_ERR_EW);
	assert_int_equal(tv_tape_write(t, b, 900), TV_ERR_EW);  /* 9076+908 = 9984 */
	assert_int_equal(tv_tape_write(t, b, 10), TV_ERR_NOSPC); /* 9984+18 > 10000 */
	assert_int_equal(tv_tape_write(t, b, 8), TV_ERR_EW);     /* 9984+16: fits */
	tv_tape_close(t);
	t = NULL;
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	for (int i = 1; i <= 9; i++)
		rd_expect(t, 1000, 1);
	assert_int_equal(rd_code(t), TV_ERR_FILEMARK);
	tv_tape_close(t);
}

static void test_write_protect(void **state)
{
	struct fx *f = *state;
	struct tv_vtape_attrs a;
	struct tv_tape *t = mk(f, 0, 0);
	struct tv_tape_status st;

	wr(t, 10, 1);
	tv_tape_close(t);
	assert_int_equal(tv_vtape_read_attrs(f->img, &a), 0);
	a.write_protected = 1;
	assert_int_equal(tv_vtape_write_attrs(f->img, &a), 0);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_true(st.write_protected);
	assert_int_equal(tv_tape_write(t, "abc", 3), TV_ERR_WPROT);
	assert_non_null(strstr(tv_errdetail(), "write protected"));
	assert_int_equal(tv_tape_write_filemarks(t, 1), TV_ERR_WPROT);
	rd_expect(t, 10, 1);
	tv_tape_close(t);
	assert_int_equal(tl_file_size(f->img), 18);
	/* an image file the user may not write opens write protected */
	a.write_protected = 0;
	assert_int_equal(tv_vtape_write_attrs(f->img, &a), 0);
	if (geteuid() != 0) {
		chmod(f->img, 0444);
		assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
		assert_int_equal(tv_tape_write(t, "abc", 3), TV_ERR_WPROT);
		tv_tape_close(t);
		chmod(f->img, 0644);
	}
}

static void test_lock(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0), *t2 = NULL, *r1 = NULL, *r2 = NULL;

	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t2), TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "in use"));
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t2), TV_ERR_STATE);
	tv_tape_close(t);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &r1), 0);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &r2), 0);
	tv_tape_close(r1);
	tv_tape_close(r2);
	assert_int_equal(tv_tape_close(NULL), 0);
}

static void test_open_errors(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = NULL;
	char *nx = tl_path(f->dir, "nope.tap");

	assert_int_equal(tv_vtape_open(nx, TV_TAPE_RDONLY, &t), TV_ERR_NOTFOUND);
	assert_non_null(strstr(tv_errdetail(), nx));
	assert_int_equal(tv_vtape_open(f->dir, TV_TAPE_RDONLY, &t), TV_ERR_INVAL);
	assert_int_equal(tv_vtape_open(NULL, TV_TAPE_RDONLY, &t), TV_ERR_INVAL);
	assert_int_equal(tv_tape_open(nx, TV_TAPE_RDONLY, &t), TV_ERR_NOTFOUND);
	assert_null(t);
	free(nx);
}

static void test_range_and_args(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0);
	unsigned char b[100];
	size_t got = 99;

	wr(t, 100, 1);
	wr(t, 50, 2);
	assert_int_equal(tv_tape_write(t, b, 0), TV_ERR_INVAL);
	assert_int_equal(tv_tape_write(t, NULL, 5), TV_ERR_INVAL);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_read(t, b, 99, &got), TV_ERR_RANGE);
	assert_int_equal(got, 0);
	assert_non_null(strstr(tv_errdetail(), "100 bytes"));
	rd_expect(t, 50, 2);            /* the long record was skipped */
	assert_int_equal(t->stats.records_read, 1);
	assert_int_equal(t->stats.records_spaced, 1);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), NULL), TV_ERR_INVAL);
	assert_int_equal(tv_tape_read(NULL, b, sizeof(b), &got), TV_ERR_INVAL);
	assert_int_equal(tv_tape_status(t, NULL), TV_ERR_INVAL);
	tv_tape_close(t);
}

static void test_append_after_reopen(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = layout(f);

	t = reopen(f, t, TV_TAPE_RDWR);
	assert_int_equal(tv_tape_seek_eod(t), 0);
	status(t, 2, 1);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	wr(t, 41, 6);
	assert_int_equal(tv_tape_goto_file(t, 3), 0);
	rd_expect(t, 41, 6);
	assert_int_equal(tv_tape_goto_file(t, 2), 0);
	rd_expect(t, 31, 5);
	tv_tape_close(t);
}

/* A SIMH image built by hand: records (length word, data, pad byte to an
 * even length, length word), filemarks and raw words. */
struct simh_img {
	unsigned char *d;
	size_t n, cap;
};

static void img_raw(struct simh_img *im, const void *p, size_t n)
{
	if (im->n + n > im->cap) {
		im->cap = (im->n + n) * 2 + 64;
		im->d = realloc(im->d, im->cap);
		assert_non_null(im->d);
	}
	memcpy(im->d + im->n, p, n);
	im->n += n;
}

static void img_word(struct simh_img *im, uint32_t w)
{
	unsigned char b[4] = { (unsigned char)w, (unsigned char)(w >> 8),
	                       (unsigned char)(w >> 16), (unsigned char)(w >> 24) };
	img_raw(im, b, 4);
}

static void img_rec(struct simh_img *im, uint32_t word, const void *p, size_t n)
{
	static const unsigned char zero = 0;

	img_word(im, word);
	img_raw(im, p, n);
	if (n & 1)
		img_raw(im, &zero, 1);
	img_word(im, word);
}

static void write_image(struct fx *f, const struct simh_img *im, size_t n)
{
	tl_write_file(f->img, im->d, n, 0644);
}

static void test_bad_record(void **state)
{
	struct fx *f = *state;
	struct simh_img im = { 0 };
	struct tv_tape *t = NULL;
	unsigned char d[8] = "abcdefg";

	img_rec(&im, 5, d, 5);
	img_rec(&im, 0x80000000u | 3, d, 3);   /* bad record */
	img_rec(&im, 0x80000000u, d, 0);       /* bad, empty */
	img_rec(&im, 7, d, 7);
	img_word(&im, 0);
	write_image(f, &im, im.n);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	{
		unsigned char b[16];
		size_t got;
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
		assert_int_equal(got, 5);
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_BADREC);
		assert_non_null(strstr(tv_errdetail(), "bad"));
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_BADREC);
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
		assert_int_equal(got, 7);
		assert_memory_equal(b, "abcdefg", 7);
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_FILEMARK);
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_EOD);
	}
	/* spacing over bad records both ways */
	assert_int_equal(tv_tape_space_files(t, -1), 0);
	status(t, 0, 4);
	assert_int_equal(tv_tape_space_records(t, -3), 0);
	status(t, 0, 1);
	tv_tape_close(t);
	free(im.d);
}

static void test_eom_marker(void **state)
{
	struct fx *f = *state;
	struct simh_img im = { 0 };
	struct tv_tape *t = NULL;
	unsigned char d[4] = "abc";

	img_rec(&im, 3, d, 3);
	img_word(&im, 0xFFFFFFFFu);
	img_raw(&im, "garbage!", 8);
	write_image(f, &im, im.n);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
	assert_int_equal(rd_code(t), 0);
	assert_int_equal(rd_code(t), TV_ERR_EOD);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_seek_eod(t), 0);
	status(t, 0, 1);
	/* appending replaces the marker and what follows */
	wr(t, 9, 3);
	assert_int_equal(tl_file_size(f->img), 12 + 18);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(rd_code(t), 0);
	rd_expect(t, 9, 3);
	assert_int_equal(rd_code(t), TV_ERR_EOD);
	tv_tape_close(t);
	free(im.d);
}

/* Every cut of an image: whole records before the cut read back, then
 * EOD; backward spacing works from there; appending repairs it. */
static void test_torn_every_offset(void **state)
{
	struct fx *f = *state;
	struct simh_img im = { 0 };
	static const size_t lens[] = { 5, 1, 8, 0 /* FM */, 3, 0, 0, 12 };
	size_t bounds[16], nb = 0;
	unsigned char d[16];

	bounds[nb++] = 0;
	for (size_t i = 0; i < 8; i++) {
		if (lens[i] == 0) {
			img_word(&im, 0);
		} else {
			tl_fill_random(d, lens[i], (unsigned)i);
			img_rec(&im, (uint32_t)lens[i], d, lens[i]);
		}
		bounds[nb++] = im.n;
	}
	for (size_t cut = 0; cut <= im.n; cut++) {
		struct tv_tape *t = NULL;
		struct tv_tape_status st;
		size_t whole = 0, expect_torn;
		int rc;

		while (whole + 1 < nb && bounds[whole + 1] <= cut)
			whole++;            /* objects entirely before the cut */
		expect_torn = bounds[whole] != cut;
		write_image(f, &im, cut);
		assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
		for (size_t i = 0; i < whole; i++) {
			unsigned char b[16], e[16];
			size_t got;
			rc = tv_tape_read(t, b, sizeof(b), &got);
			if (lens[i] == 0) {
				assert_int_equal(rc, TV_ERR_FILEMARK);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(got, lens[i]);
				tl_fill_random(e, lens[i], (unsigned)i);
				assert_memory_equal(b, e, got);
			}
		}
		rc = rd_code(t);
		if (rc != TV_ERR_EOD)
			fail_msg("cut %zu: expected EOD, got %d (%s)", cut, rc,
			         tv_errmsg(rc));
		if (expect_torn)
			assert_non_null(strstr(tv_errdetail(), "incomplete"));
		assert_int_equal(tv_tape_status(t, &st), 0);
		assert_int_equal(st.eod, 1);
		assert_int_equal(st.torn, (int)expect_torn);
		assert_int_equal(st.used, bounds[whole]);
		/* back to BOT over everything whole */
		assert_int_equal(tv_tape_space_files(t, -10), TV_ERR_EOF);
		assert_int_equal(tv_tape_seek_eod(t), 0);
		/* append: the torn tail goes */
		wr(t, 6, 99);
		assert_int_equal(tl_file_size(f->img), bounds[whole] + 14);
		assert_int_equal(tv_tape_space_records(t, -1), 0);
		rd_expect(t, 6, 99);
		assert_int_equal(rd_code(t), TV_ERR_EOD);
		assert_int_equal(tv_tape_status(t, &st), 0);
		assert_false(st.torn);
		assert_int_equal(tv_tape_close(t), 0);
	}
	free(im.d);
}

static void expect_format(struct fx *f, const struct simh_img *im, int reads_ok)
{
	struct tv_tape *t = NULL;
	int rc;

	write_image(f, im, im->n);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	for (int i = 0; i < reads_ok; i++)
		assert_int_equal(rd_code(t), 0);
	rc = rd_code(t);
	if (rc != TV_ERR_FORMAT)
		fail_msg("expected FORMAT, got %d (%s)", rc, tv_errmsg(rc));
	assert_non_null(strstr(tv_errdetail(), f->img));
	assert_non_null(strstr(tv_errdetail(), "offset"));
	/* stays put, keeps failing: no loop, no crash */
	assert_int_equal(rd_code(t), TV_ERR_FORMAT);
	assert_int_equal(tv_tape_seek_eod(t), TV_ERR_FORMAT);
	tv_tape_close(t);
}

static void test_corrupt_lengths(void **state)
{
	struct fx *f = *state;
	unsigned char d[32];
	struct simh_img im = { 0 };

	memset(d, 'x', sizeof(d));
	/* leading LEN does not match the trailer */
	img_rec(&im, 4, d, 4);
	img_word(&im, 6);
	img_raw(&im, d, 6);
	img_word(&im, 7);
	img_rec(&im, 4, d, 4);
	expect_format(f, &im, 1);
	/* a length far beyond the end of the file */
	im.n = 0;
	img_rec(&im, 4, d, 4);
	img_word(&im, 0x00FFFFF0u + 0x0F000000u);
	img_raw(&im, d, 20);
	expect_format(f, &im, 1);
	/* an unsupported record class */
	im.n = 0;
	img_rec(&im, 0x40000004u, d, 4);
	expect_format(f, &im, 0);
	/* SIMH erase gap marker */
	im.n = 0;
	img_word(&im, 0xFFFFFFFEu);
	img_rec(&im, 4, d, 4);
	expect_format(f, &im, 0);
	/* a trailer word corrupted: found reading forward */
	im.n = 0;
	img_rec(&im, 4, d, 4);
	img_rec(&im, 8, d, 8);
	im.d[im.n - 1] = 0x12;
	expect_format(f, &im, 1);
	free(im.d);
}

static void test_corrupt_backward(void **state)
{
	struct fx *f = *state;
	unsigned char d[32];
	struct simh_img im = { 0 };
	struct tv_tape *t = NULL;

	memset(d, 'y', sizeof(d));
	img_rec(&im, 4, d, 4);
	img_word(&im, 0);
	img_rec(&im, 8, d, 8);
	write_image(f, &im, im.n);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
	assert_int_equal(tv_tape_seek_eod(t), 0);
	tv_tape_close(t);
	/* a trailer that disagrees with its header: caught going forward
	 * (backward spacing checks the same pair from the other side) */
	im.d[im.n - 4] = 0x40;
	write_image(f, &im, im.n);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_space_files(t, 1), 0);
	/* going forward the trailer check catches it */
	assert_int_equal(tv_tape_space_records(t, 1), TV_ERR_FORMAT);
	tv_tape_close(t);
	/* trailer consistent with a record that is not there */
	im.n = 0;
	img_rec(&im, 4, d, 4);
	img_rec(&im, 8, d, 8);
	img_rec(&im, 8, d, 8);
	im.d[12] = 4;              /* leading LEN of record 2 := 4 ... */
	memcpy(im.d + 20, "\4\0\0\0", 4);  /* ... with a matching fake trailer */
	write_image(f, &im, im.n);
	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(rd_code(t), 0);
	assert_int_equal(rd_code(t), 0);             /* a 4-byte record */
	assert_int_equal(rd_code(t), TV_ERR_FORMAT); /* then garbage */
	tv_tape_close(t);
	free(im.d);
}

static void test_large_fast(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0);
	size_t rec = 256 * 1024;
	unsigned char *b = malloc(rec);
	size_t got;

	tl_fill_random(b, rec, 7);
	for (int i = 0; i < 64; i++) {
		b[0] = (unsigned char)i;
		assert_int_equal(tv_tape_write(t, b, rec), 0);
	}
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_space_records(t, 60), 0);
	assert_int_equal(t->stats.bytes_read, 0);
	assert_int_equal(tv_tape_read(t, b, rec, &got), 0);
	assert_int_equal(b[0], 60);
	assert_int_equal(tv_tape_space_records(t, -11), 0);
	assert_int_equal(tv_tape_read(t, b, rec, &got), 0);
	assert_int_equal(b[0], 50);
	assert_int_equal(tl_file_size(f->img), 64 * (rec + 8));
	tv_tape_close(t);
	free(b);
}

static void test_max_record(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = mk(f, 0, 0);
	unsigned char *b = calloc(1, TV_VTAPE_MAX_RECORD + 2);
	size_t got;

	assert_int_equal(tv_tape_write(t, b, TV_VTAPE_MAX_RECORD + 1), TV_ERR_RANGE);
	assert_int_equal(tv_tape_write(t, b, TV_VTAPE_MAX_RECORD), 0);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_read(t, b, TV_VTAPE_MAX_RECORD + 2, &got), 0);
	assert_int_equal(got, TV_VTAPE_MAX_RECORD);
	tv_tape_close(t);
	free(b);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sidecar, setup, teardown),
		cmocka_unit_test(test_default_ew),
		cmocka_unit_test_setup_teardown(test_truncate_on_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goto_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goto_many_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ew_nospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_protect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_and_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eom_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_backward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_record, setup, teardown),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
