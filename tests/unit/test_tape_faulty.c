/* Unit tests: the fault-injecting tape wrapper and its spec parser. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#include "tape/tape.h"
#include "tape_faulty.h"
#include "util/err.h"


struct fx {
	const char *dir;
	char *img;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tv_vtape_attrs a;

	f->dir = tl_tmpdir("faulty");
	f->img = tl_path(f->dir, "VT0001L9.tap");
	memset(&a, 0, sizeof(a));
	strcpy(a.barcode, "VT0001L9");
	assert_int_equal(tv_vtape_create(f->img, &a), 0);
	unsetenv("TAPEVAULT_TEST_FAULT");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unsetenv("TAPEVAULT_TEST_FAULT");
	free(f->img);
	free(f);
	return 0;
}

static struct tv_tape *open_faulty(struct fx *f, const char *spec, int mode)
{
	struct tv_tape *t = NULL;

	setenv("TAPEVAULT_TEST_FAULT", spec, 1);
	assert_int_equal(tv_tape_open(f->img, mode, &t), 0);
	unsetenv("TAPEVAULT_TEST_FAULT");
	assert_string_equal(t->ops->kind, "faulty");
	assert_string_equal(t->name, f->img);
	return t;
}

static void put(struct tv_tape *t, unsigned char v, size_t n)
{
	unsigned char b[64];

	memset(b, v, sizeof(b));
	assert_int_equal(tv_tape_write(t, b, n), 0);
}

/* Plain vtape with records 1..n of 10 bytes each filled with their number,
 * one filemark after record 3. */
static void fill(struct fx *f, int n)
{
	struct tv_tape *t = NULL;

	assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &t), 0);
	for (int i = 1; i <= n; i++) {
		put(t, (unsigned char)i, 10);
		if (i == 3)
			assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	}
	assert_int_equal(tv_tape_close(t), 0);
}

static void test_parse(void **state)
{
	struct tv_fault_spec s;

	(void)state;
	assert_int_equal(tv_fault_parse("", &s), 0);
	assert_int_equal(s.read_eio + s.write_eio + s.powerloss + s.flip_record, 0);
	assert_int_equal(tv_fault_parse("read_eio=3", &s), 0);
	assert_int_equal(s.read_eio, 3);
	assert_int_equal(tv_fault_parse("read_eio=1,write_eio=2,powerloss=30,"
	                                 "flip_record=4,flip_offset=1000", &s), 0);
	assert_int_equal(s.read_eio, 1);
	assert_int_equal(s.write_eio, 2);
	assert_int_equal(s.powerloss, 30);
	assert_int_equal(s.flip_record, 4);
	assert_int_equal(s.flip_offset, 1000);

	assert_int_equal(tv_fault_parse("bogus=1", &s), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "unknown fault \"bogus\""));
	assert_non_null(strstr(tv_errdetail(), "powerloss"));
	assert_int_equal(tv_fault_parse("read_eio", &s), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "=N"));
	assert_int_equal(tv_fault_parse("read_eio=", &s), TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse("read_eio=-1", &s), TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse("read_eio=1x", &s), TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse("read_eio=1,", &s), TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse(",read_eio=1", &s), TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse("read_eio=1,,write_eio=2", &s), TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse("read_eio=1,read_eio=2", &s), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "twice"));
	assert_int_equal(tv_fault_parse("powerloss=99999999999999999999999", &s),
	                 TV_ERR_INVAL);
	assert_int_equal(tv_fault_parse(NULL, &s), TV_ERR_INVAL);
}

static void test_env_bad_spec(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = NULL;

	setenv("TAPEVAULT_TEST_FAULT", "powerloss=x", 1);
	assert_int_equal(tv_tape_open(f->img, TV_TAPE_RDWR, &t), TV_ERR_INVAL);
	assert_null(t);
	assert_non_null(strstr(tv_errdetail(), "TAPEVAULT_TEST_FAULT"));
	/* the image was not left locked */
	unsetenv("TAPEVAULT_TEST_FAULT");
	assert_int_equal(tv_tape_open(f->img, TV_TAPE_RDWR, &t), 0);
	assert_string_equal(t->ops->kind, "vtape");
	tv_tape_close(t);
}

static void test_read_eio(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t;
	unsigned char b[64];
	size_t got;

	fill(f, 5);
	t = open_faulty(f, "read_eio=2", TV_TAPE_RDONLY);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[0], 1);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_IO);
	assert_non_null(strstr(tv_errdetail(), "read_eio"));
	assert_int_equal(got, 0);
	/* only the 2nd read fails; the position did not move */
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[0], 2);
	assert_int_equal(t->stats.records_read, 2);
	assert_int_equal(tv_tape_close(t), 0);
}

static void test_write_eio(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = open_faulty(f, "write_eio=3", TV_TAPE_RDWR);
	unsigned char b[64];
	size_t got;

	put(t, 1, 10);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);   /* counts as write 2 */
	assert_int_equal(tv_tape_write(t, b, 10), TV_ERR_IO);
	assert_non_null(strstr(tv_errdetail(), "write_eio"));
	put(t, 4, 10);
	assert_int_equal(t->stats.records_written, 2);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_tape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[0], 1);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_FILEMARK);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[0], 4);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_EOD);
	tv_tape_close(t);
}

static void test_powerloss(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = open_faulty(f, "powerloss=3", TV_TAPE_RDWR);
	struct tv_tape_status st;
	unsigned char b[64];
	size_t got;

	put(t, 1, 10);
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	put(t, 3, 10);                                        /* 3rd: succeeds */
	assert_int_equal(tv_tape_write(t, b, 10), TV_ERR_IO); /* power gone */
	assert_non_null(strstr(tv_errdetail(), "power"));
	assert_int_equal(tv_tape_write_filemarks(t, 1), TV_ERR_IO);
	assert_int_equal(tv_tape_rewind(t), TV_ERR_IO);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_IO);
	assert_int_equal(tv_tape_status(t, &st), TV_ERR_IO);
	assert_int_equal(tv_tape_space_files(t, -1), TV_ERR_IO);
	assert_int_equal(tv_tape_space_records(t, -1), TV_ERR_IO);
	assert_int_equal(tv_tape_seek_eod(t), TV_ERR_IO);
	assert_int_equal(tv_tape_close(t), TV_ERR_IO);
	/* the image ends exactly after the 3rd write */
	assert_int_equal(tl_file_size(f->img), 18 + 4 + 18);
	assert_int_equal(tv_tape_open(f->img, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_FILEMARK);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[0], 3);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), TV_ERR_EOD);
	tv_tape_close(t);
}

static void test_flip(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t;
	unsigned char b[64];
	size_t got;

	fill(f, 5);
	t = open_faulty(f, "flip_record=4,flip_offset=13", TV_TAPE_RDONLY);
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
		assert_int_equal(got, 10);
		for (size_t k = 0; k < 10; k++) {
			unsigned char want = (unsigned char)i;
			if (i == 4 && k == 13 % 10)
				want ^= 0xFF;
			assert_int_equal(b[k], want);
		}
		if (i == 3)   /* filemarks are not records */
			assert_int_equal(tv_tape_read(t, b, sizeof(b), &got),
			                 TV_ERR_FILEMARK);
	}
	/* the image itself is untouched */
	assert_int_equal(tv_tape_goto_file(t, 1), 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[3], 4);
	tv_tape_close(t);
}

static void test_passthrough(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t;
	struct tv_tape_status st;
	unsigned char b[64];
	size_t got;

	fill(f, 5);
	t = open_faulty(f, "read_eio=1000", TV_TAPE_RDONLY);
	assert_int_equal(tv_tape_seek_eod(t), 0);
	assert_int_equal(tv_tape_status(t, &st), 0);
	assert_int_equal(st.file_no, 1);
	assert_int_equal(st.block_no, 2);
	assert_int_equal(tv_tape_space_records(t, -2), 0);
	assert_int_equal(tv_tape_space_files(t, -1), 0);
	assert_int_equal(t->stats.records_spaced, 2 + 0);
	assert_int_equal(t->stats.files_spaced, 1);
	assert_int_equal(tv_tape_space_records(t, -1), 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_int_equal(b[0], 3);
	assert_int_equal(tv_tape_write(t, b, 1), TV_ERR_STATE);   /* read-only */
	tv_tape_close(t);
	/* wrap directly */
	{
		struct tv_fault_spec spec;
		struct tv_tape *in = NULL, *w = NULL;
		memset(&spec, 0, sizeof(spec));
		assert_int_equal(tv_vtape_open(f->img, TV_TAPE_RDWR, &in), 0);
		assert_int_equal(tv_faulty_wrap(in, &spec, &w), 0);
		assert_int_equal(tv_tape_seek_eod(w), 0);
		put(w, 9, 5);
		assert_int_equal(tv_tape_close(w), 0);
		assert_int_equal(tv_faulty_wrap(NULL, &spec, &w), TV_ERR_INVAL);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_env_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_powerloss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passthrough, setup, teardown),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
