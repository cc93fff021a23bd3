/* tapevault: tv_tape_erase (tape erase): on a tape image, everything after
 * the position goes and end of data is there; at BOT the tape reads as
 * blank; a read-only or write-protected tape is refused and unchanged. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testlib.h"
#include "tape/tape.h"
#include "util/err.h"

static char *image(const char *tag)
{
	char *p = tl_path(tl_tmpdir(tag), "VT0001L9.tap");
	struct tv_vtape_attrs a;

	memset(&a, 0, sizeof(a));
	snprintf(a.barcode, sizeof(a.barcode), "VT0001L9");
	assert_int_equal(tv_vtape_create(p, &a), 0);
	return p;
}

/* two files of two records each */
static void fill(struct tv_tape *t)
{
	for (int f = 0; f < 2; f++) {
		assert_int_equal(tv_tape_write(t, "record one", 10), 0);
		assert_int_equal(tv_tape_write(t, "record two", 10), 0);
		assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	}
}

static void test_erase_at_bot(void **state)
{
	char *p = image("erase-bot"), buf[64];
	struct tv_tape *t = NULL;
	struct stat sb;
	size_t got;
	(void)state;

	assert_int_equal(tv_vtape_open(p, TV_TAPE_RDWR, &t), 0);
	fill(t);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_erase(t), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_EOD);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_size, 0);          /* blank, as tape new made it */
	assert_int_equal(tv_vtape_open(p, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_EOD);
	assert_int_equal(tv_tape_close(t), 0);
	free(p);
}

static void test_erase_after_a_file(void **state)
{
	char *p = image("erase-mid"), buf[64];
	struct tv_tape *t = NULL;
	size_t got;
	(void)state;

	assert_int_equal(tv_vtape_open(p, TV_TAPE_RDWR, &t), 0);
	fill(t);
	assert_int_equal(tv_tape_goto_file(t, 1), 0);
	assert_int_equal(tv_tape_erase(t), 0);
	assert_int_equal(tv_tape_rewind(t), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 10);
	assert_int_equal(tv_tape_space_files(t, 1), 0);    /* the first file stays */
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_EOD);
	/* written on after the erase, as after any end of data */
	assert_int_equal(tv_tape_write(t, "again", 5), 0);
	assert_int_equal(tv_tape_close(t), 0);
	free(p);
}

static void test_erase_refused(void **state)
{
	char *p = image("erase-ro"), buf[64];
	struct tv_tape *t = NULL;
	struct tv_vtape_attrs a;
	size_t got;
	(void)state;

	assert_int_equal(tv_vtape_open(p, TV_TAPE_RDWR, &t), 0);
	fill(t);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vtape_open(p, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_erase(t), TV_ERR_STATE);  /* opened read-only */
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vtape_read_attrs(p, &a), 0);
	a.write_protected = 1;
	assert_int_equal(tv_vtape_write_attrs(p, &a), 0);
	assert_int_equal(tv_vtape_open(p, TV_TAPE_RDWR, &t), 0);
	assert_int_equal(tv_tape_erase(t), TV_ERR_WPROT);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);   /* still there */
	assert_int_equal(tv_tape_close(t), 0);
	free(p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erase_at_bot),
		cmocka_unit_test(test_erase_after_a_file),
		cmocka_unit_test(test_erase_refused),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
