/* Unit tests: the SCSI tape backend (tape/sgtape.c) against a drive of the
 * emulated library (library/scsiemu_drive.c): the tape.h semantics the
 * vtape backend has, reached through READ(6)/WRITE(6)/SPACE/LOCATE and
 * their sense data; drive encryption; the faults the emulator injects. */
#include <stdlib.h>
#include <string.h>

#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

#include "scsiemu_faults.h"
#include "testlib.h"

struct fx {
	const char *dir;
	struct tv_vlib *l;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tl_path(tl_tmpdir("sgtape"), "lib");
	assert_int_equal(tv_vlib_create_emulated(f->dir, "lib", 4, 2, 1, &f->l), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 2u << 20, 0, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tv_scsi_fault_install(NULL);
	tv_vlib_close(f->l);
	free((void *)f->dir);
	free(f);
	return 0;
}

static struct tv_tape *load(struct fx *f, int mode)
{
	struct tv_tape *t = NULL;

	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 0, mode, &t, NULL), 0);
	assert_string_equal(t->ops->kind, "scsi");
	return t;
}

static void put(struct tv_tape *t, size_t len, uint8_t fill)
{
	uint8_t *b = malloc(len);

	memset(b, fill, len);
	assert_int_equal(tv_tape_write(t, b, len), 0);
	free(b);
}

/* file 0: 1000 and 70000 bytes, file 1: 500 bytes, then end of data */
static void write_sample(struct tv_tape *t)
{
	assert_int_equal(tv_tape_rewind(t), 0);
	put(t, 1000, 'a');
	put(t, 70000, 'b');
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
	put(t, 500, 'c');
	assert_int_equal(tv_tape_write_filemarks(t, 1), 0);
}

static void where(struct tv_tape *t, uint64_t file, uint64_t block)
{
	struct tv_tape_status ts;

	assert_int_equal(tv_tape_status(t, &ts), 0);
	assert_int_equal(ts.file_no, file);
	assert_int_equal(ts.block_no, block);
}

static void test_records(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = load(f, TV_TAPE_RDWR);
	static uint8_t buf[200000];
	size_t got;

	write_sample(t);
	where(t, 2, 0);
	assert_int_equal(tv_tape_rewind(t), 0);
	where(t, 0, 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);       /* short: ILI */
	assert_int_equal(got, 1000);
	assert_int_equal(buf[999], 'a');
	assert_int_equal(tv_tape_read(t, buf, 100, &got), TV_ERR_RANGE);    /* longer: skipped */
	where(t, 0, 2);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_FILEMARK);
	where(t, 1, 0);
	assert_int_equal(tv_tape_read(t, buf, 500, &got), 0);               /* exact */
	assert_int_equal(got, 500);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_FILEMARK);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_EOD);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_EOD);
	where(t, 2, 0);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
}

static void test_space(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = load(f, TV_TAPE_RDWR);
	uint8_t buf[1024];
	size_t got;

	write_sample(t);
	assert_int_equal(tv_tape_rewind(t), 0);
	/* forward over records: stops before the filemark */
	assert_int_equal(tv_tape_space_records(t, 5), TV_ERR_FILEMARK);
	where(t, 0, 2);
	assert_int_equal(t->stats.records_spaced, 2);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_FILEMARK);
	/* back over records from inside file 1: stops after the filemark */
	assert_int_equal(tv_tape_space_records(t, 1), 0);
	assert_int_equal(tv_tape_space_records(t, -4), TV_ERR_FILEMARK);
	where(t, 1, 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);
	assert_int_equal(buf[0], 'c');
	/* back over a filemark: its BOT side, the end of file 0 */
	assert_int_equal(tv_tape_space_files(t, -1), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_FILEMARK);
	/* forward over files to end of data; back to BOT */
	assert_int_equal(tv_tape_space_files(t, 5), TV_ERR_EOD);
	assert_int_equal(tv_tape_space_files(t, -9), TV_ERR_EOF);
	where(t, 0, 0);
	assert_int_equal(tv_tape_space_records(t, -1), TV_ERR_EOF);
	assert_int_equal(tv_tape_seek_eod(t), 0);
	where(t, 2, 0);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
}

static void test_locate(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = load(f, TV_TAPE_RDWR);
	static uint8_t buf[100000];
	size_t got;

	write_sample(t);
	assert_int_equal(tv_tape_close(t), 0);
	t = load(f, TV_TAPE_RDONLY);            /* a new process: nothing remembered */
	assert_int_equal(tv_tape_locate(t, 1, 0), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);
	assert_int_equal(buf[0], 'c');
	assert_int_equal(tv_tape_locate(t, 0, 1), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 70000);
	where(t, 0, 2);
	assert_true(t->stats.locates >= 2);
	/* into a known file: one LOCATE */
	{
		uint64_t before = t->stats.locates;
		assert_int_equal(tv_tape_locate(t, 1, 0), 0);
		assert_int_equal(t->stats.locates, before + 1);
	}
	assert_int_equal(tv_tape_goto_file(t, 2), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_EOD);
	assert_int_equal(tv_tape_locate(t, 7, 0), TV_ERR_NOTFOUND);
	assert_int_equal(tv_tape_locate(t, 1, 9), TV_ERR_NOTFOUND);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
}

static void test_early_warning(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = load(f, TV_TAPE_RDWR);
	struct tv_tape_status ts;
	static uint8_t rec[65536];
	int rc = 0, n = 0, ew = 0;

	assert_int_equal(tv_tape_status(t, &ts), 0);
	assert_int_equal(ts.capacity, 2u << 20);       /* from LOG SENSE 31h */
	while (n < 100 && (rc = tv_tape_write(t, rec, sizeof(rec))) != TV_ERR_NOSPC) {
		if (rc == TV_ERR_EW)
			ew++;
		else
			assert_int_equal(rc, 0);
		n++;
	}
	assert_int_equal(rc, TV_ERR_NOSPC);
	assert_true(ew > 0);
	assert_true(n < 40);
	assert_int_equal(tv_tape_status(t, &ts), 0);
	assert_true(ts.ew);
	assert_true(ts.used > 0);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
}

static uint8_t *image(struct fx *f, size_t *n)
{
	char *p = tl_path(f->dir, "VT0001L9.tap");
	uint8_t *d = tl_read_file(p, n);

	free(p);
	return d;
}

static void test_encryption(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = load(f, TV_TAPE_RDWR);
	struct tv_tape_crypto c;
	struct tv_tape_crypto_status cs;
	uint8_t buf[1024];
	size_t got, n;
	uint8_t *img;

	memset(&c, 0, sizeof(c));
	c.encrypt = c.decrypt = 1;
	c.from_file = 1;
	memset(c.key, 0x42, sizeof(c.key));
	memcpy(c.kad, "\xde\xad\xbe\xef", 4);
	c.kad_len = 4;
	assert_int_equal(tv_tape_set_encryption(t, &c), 0);
	write_sample(t);                       /* file 0 clear, file 1 encrypted */
	assert_int_equal(tv_tape_encryption_status(t, &cs), 0);
	assert_true(cs.capable);
	assert_true(cs.encrypting);
	assert_int_equal(cs.kad_len, 4);
	assert_int_equal(tv_tape_close(t), 0);     /* takes the key out */
	img = image(f, &n);
	assert_true(n > 8 && memcmp(img + 4, "aaaa", 4) == 0);
	assert_non_null(memmem(img, n, "TVEMUENC", 8));
	assert_null(memmem(img, n, "cccc", 4));
	free(img);
	/* read without the key: the clear file reads, the encrypted one not */
	t = load(f, TV_TAPE_RDONLY);
	assert_int_equal(tv_tape_encryption_status(t, &cs), 0);
	assert_false(cs.decrypting);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);
	assert_int_equal(tv_tape_locate(t, 1, 0), 0);
	assert_int_equal(tv_tape_encryption_status(t, &cs), 0);
	assert_int_equal(cs.next_block, TV_TAPE_NB_ENCRYPTED_NO_KEY);
	assert_int_equal(cs.next_kad_len, 4);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_LOCKED);
	assert_non_null(strstr(tv_errdetail(), "74h/01h"));
	assert_non_null(strstr(tv_errdetail(), "deadbeef"));
	/* with another key */
	memset(c.key, 0x43, sizeof(c.key));
	c.encrypt = 0;
	assert_int_equal(tv_tape_set_encryption(t, &c), 0);
	assert_int_equal(tv_tape_locate(t, 1, 0), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), TV_ERR_BADKEY);
	assert_non_null(strstr(tv_errdetail(), "74h/03h"));
	/* with its key */
	memset(c.key, 0x42, sizeof(c.key));
	assert_int_equal(tv_tape_set_encryption(t, &c), 0);
	assert_int_equal(tv_tape_locate(t, 1, 0), 0);
	assert_int_equal(tv_tape_read(t, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 500);
	assert_int_equal(buf[0], 'c');
	assert_int_equal(tv_tape_close(t), 0);
	/* the key left with the close */
	t = load(f, TV_TAPE_RDONLY);
	assert_int_equal(tv_tape_encryption_status(t, &cs), 0);
	assert_false(cs.decrypting);
	assert_false(cs.encrypting);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
}

static void test_medium_error(void **state)
{
	struct fx *f = *state;
	struct tv_scsi_fault_spec spec = { 0, 2, "" };
	struct tv_tape *t = load(f, TV_TAPE_RDWR);
	uint8_t rec[100] = {0};

	tv_scsi_fault_install(&spec);
	assert_int_equal(tv_tape_write(t, rec, sizeof(rec)), 0);
	assert_int_equal(tv_tape_write(t, rec, sizeof(rec)), TV_ERR_IO);
	assert_non_null(strstr(tv_errdetail(), "MEDIUM ERROR, write error (ASC/ASCQ 0Ch/00h)"));
	assert_non_null(strstr(tv_errdetail(), "VT0001L9 in drive 0"));
	assert_int_equal(tv_tape_write(t, rec, sizeof(rec)), 0);   /* once */
	where(t, 0, 2);
	tv_scsi_fault_install(NULL);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
}

static void test_by_name(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = NULL;
	char *name;

	/* an emulated drive by name, once a library registered the backend */
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 1, TV_TAPE_RDONLY, &t, NULL), 0);
	assert_int_equal(tv_tape_close(t), 0);
	name = tl_strf("emulated:1@%s", f->dir);
	assert_int_equal(tv_tape_open(name, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_close(t), 0);
	free(name);
	assert_int_equal(tv_tape_open("emulated:x", TV_TAPE_RDONLY, &t), TV_ERR_INVAL);
	/* an empty drive: not ready, medium not present */
	name = tl_strf("emulated:0@%s", f->dir);
	assert_int_equal(tv_tape_open(name, TV_TAPE_RDONLY, &t), TV_ERR_NOTFOUND);
	free(name);
	assert_int_equal(tv_vlib_unload(f->l, 1, NULL), 0);
	/* a vtape cannot encrypt */
	name = tl_path(f->dir, "VT0001L9.tap");
	assert_int_equal(tv_tape_open(name, TV_TAPE_RDONLY, &t), 0);
	assert_int_equal(tv_tape_set_encryption(t, NULL), TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_tape_close(t), 0);
	free(name);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_early_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encryption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_medium_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_name, setup, teardown),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
