/* Unit tests: the Linux st result mapping (st_map.c), without a drive.
 * The sequences follow Documentation/scsi/st.rst and BRIEF §6. */
#include <errno.h>
#include <string.h>
#include <sys/mtio.h>

#include "tape/st_map.h"
#include "tape/tape.h"
#include "util/err.h"

#include "testlib.h"

#define S_EOD  0x08000000UL
#define S_EOF  0x80000000UL
#define S_BOT  0x40000000UL
#define S_EOT  0x20000000UL
#define S_WP   0x04000000UL

static struct tv_st_pos P(long file, long blk, unsigned long gstat)
{
	struct tv_st_pos p = { .valid = 1, .fileno = file, .blkno = blk,
	                       .gstat = gstat, .resid = 0 };
	return p;
}

static void test_gstat_bits(void **state)
{
	(void)state;
	/* our test constants are the kernel's */
	assert_true(GMT_EOD(S_EOD));
	assert_true(GMT_EOF(S_EOF));
	assert_true(GMT_BOT(S_BOT));
	assert_true(GMT_EOT(S_EOT));
	assert_true(GMT_WR_PROT(S_WP));
}

/* One write through the mapping, as st.c loops: the drive answers with
 * the results in seq (n, errno pairs) in turn. */
struct drive_ans { long n; int err; };

static int do_write(struct tv_st_mstate *s, const struct drive_ans *seq,
                    size_t *i, size_t len)
{
	int rc;

	tv_st_map_write_begin(s);
	for (;;) {
		const struct drive_ans *a = &seq[(*i)++];
		rc = tv_st_map_write(s, a->n, len, a->err);
		if (rc != TV_ST_RETRY)
			return rc;
	}
}

static void test_write_ew_alternation(void **state)
{
	struct tv_st_mstate s;
	/* what st does around early warning, per st.rst: the write that
	 * reaches EW succeeds; the next fails ENOSPC, the retry succeeds,
	 * then alternating, until the physical end fails twice. */
	static const struct drive_ans seq[] = {
		{ 100, 0 }, { 100, 0 },                 /* normal */
		{ 100, 0 },                             /* reaches EW silently */
		{ -1, ENOSPC }, { 100, 0 },             /* EW announced, retry ok */
		{ 100, 0 },                             /* alternation: success */
		{ -1, ENOSPC }, { 100, 0 },
		{ -1, ENOSPC }, { -1, ENOSPC },         /* physical end */
		{ -1, ENOSPC }, { -1, ENOSPC },         /* still full */
	};
	size_t i = 0;

	(void)state;
	tv_st_map_init(&s);
	assert_int_equal(do_write(&s, seq, &i, 100), 0);
	assert_int_equal(do_write(&s, seq, &i, 100), 0);
	assert_int_equal(do_write(&s, seq, &i, 100), 0);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_EW);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_EW);   /* sticky */
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_EW);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_NOSPC);
	assert_non_null(strstr(tv_errdetail(), "nothing written"));
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_NOSPC);
	assert_int_equal(i, sizeof(seq) / sizeof(seq[0]));
	/* rewinding forgets the early warning */
	tv_st_map_moved(&s, 1);
	{
		static const struct drive_ans ok[] = { { 100, 0 } };
		size_t j = 0;
		assert_int_equal(do_write(&s, ok, &j, 100), 0);
	}
}

static void test_write_errors(void **state)
{
	struct tv_st_mstate s;
	static const struct drive_ans seq[] = {
		{ -1, EROFS }, { -1, EACCES }, { -1, EIO }, { 50, 0 },
		{ -1, EINTR }, { 100, 0 }, { -1, EINVAL }, { 0, 0 },
	};
	size_t i = 0;

	(void)state;
	tv_st_map_init(&s);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_WPROT);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_WPROT);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_IO);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_IO);   /* short */
	assert_non_null(strstr(tv_errdetail(), "50 of 100"));
	assert_int_equal(do_write(&s, seq, &i, 100), 0);           /* EINTR retried */
	assert_int_equal(do_write(&s, seq, &i, 1 << 30), TV_ERR_RANGE);
	assert_int_equal(do_write(&s, seq, &i, 100), TV_ERR_IO);   /* 0 bytes */
	/* filemark ioctl: n = 0, len = 0 on success */
	assert_int_equal(tv_st_map_write(&s, 0, 0, 0), 0);
	tv_st_map_write_begin(&s);
	assert_int_equal(tv_st_map_write(&s, -1, 0, ENOSPC), TV_ST_RETRY);
	assert_int_equal(tv_st_map_write(&s, 0, 0, 0), TV_ERR_EW);
}

static void test_read_mapping(void **state)
{
	struct tv_st_mstate s;
	struct tv_st_pos fm = P(1, 0, S_EOF), eod = P(2, 0, S_EOD), none = P(0, 3, 0);

	(void)state;
	tv_st_map_init(&s);
	assert_int_equal(tv_st_map_read(&s, 512, 0, NULL), 0);
	assert_false(tv_st_read_needs_status(512, 0));
	/* read returning 0: filemark or EOD, told apart by GMT_EOD */
	assert_true(tv_st_read_needs_status(0, 0));
	assert_int_equal(tv_st_map_read(&s, 0, 0, &fm), TV_ERR_FILEMARK);
	assert_false(s.eod);
	assert_int_equal(tv_st_map_read(&s, 0, 0, &none), TV_ERR_FILEMARK);
	assert_int_equal(tv_st_map_read(&s, 0, 0, &eod), TV_ERR_EOD);
	assert_true(s.eod);
	/* at EOD st returns 0 once more, then EIO: both stay EOD */
	assert_int_equal(tv_st_map_read(&s, 0, 0, &eod), TV_ERR_EOD);
	assert_true(tv_st_read_needs_status(-1, EIO));
	assert_int_equal(tv_st_map_read(&s, -1, EIO, &none), TV_ERR_EOD);
	/* a move forgets it; then EIO without EOD is a real error */
	tv_st_map_moved(&s, 0);
	assert_int_equal(tv_st_map_read(&s, -1, EIO, &none), TV_ERR_IO);
	assert_int_equal(tv_st_map_read(&s, -1, EIO, &eod), TV_ERR_EOD);
	tv_st_map_moved(&s, 1);
	/* short buffer */
	assert_int_equal(tv_st_map_read(&s, -1, ENOMEM, NULL), TV_ERR_RANGE);
	assert_int_equal(tv_st_map_read(&s, -1, EINTR, NULL), TV_ST_RETRY);
	assert_int_equal(tv_st_map_read(&s, -1, ENOSPC, NULL), TV_ERR_EOD);
	tv_st_map_moved(&s, 1);
	assert_int_equal(tv_st_map_read(&s, -1, EBADF, NULL), TV_ERR_IO);
	/* status unavailable after a 0 read: a filemark */
	{
		struct tv_st_pos bad = { 0 };
		assert_int_equal(tv_st_map_read(&s, 0, 0, &bad), TV_ERR_FILEMARK);
	}
	/* data after EOD state clears it */
	s.eod = 1;
	assert_int_equal(tv_st_map_read(&s, 10, 0, NULL), 0);
	assert_false(s.eod);
}

static void test_space_mapping(void **state)
{
	struct tv_st_pos before = P(2, 5, 0), after;
	enum tv_st_fix fix;

	(void)state;
	after = P(4, 0, S_EOD);
	assert_int_equal(tv_st_map_space(TV_ST_FSF, EIO, &before, &after, &fix),
	                 TV_ERR_EOD);
	assert_int_equal(fix, TV_ST_FIX_NONE);
	after = P(0, 0, S_BOT);
	assert_int_equal(tv_st_map_space(TV_ST_BSF, EIO, &before, &after, &fix),
	                 TV_ERR_EOF);
	/* FSR crossed a filemark: move back over it (near side) */
	after = P(3, 0, S_EOF);
	assert_int_equal(tv_st_map_space(TV_ST_FSR, EIO, &before, &after, &fix),
	                 TV_ERR_FILEMARK);
	assert_int_equal(fix, TV_ST_FIX_BSF1);
	after = P(3, 0, 0);       /* told by the file number alone */
	assert_int_equal(tv_st_map_space(TV_ST_FSR, EIO, &before, &after, &fix),
	                 TV_ERR_FILEMARK);
	assert_int_equal(fix, TV_ST_FIX_BSF1);
	/* BSR crossed a filemark backward: forward over it again */
	after = P(1, -1, 0);
	assert_int_equal(tv_st_map_space(TV_ST_BSR, EIO, &before, &after, &fix),
	                 TV_ERR_FILEMARK);
	assert_int_equal(fix, TV_ST_FIX_FSF1);
	after = P(0, 0, S_BOT);
	assert_int_equal(tv_st_map_space(TV_ST_BSR, EIO, &before, &after, &fix),
	                 TV_ERR_EOF);
	assert_int_equal(fix, TV_ST_FIX_NONE);
	after = P(2, 9, S_EOD);
	assert_int_equal(tv_st_map_space(TV_ST_FSR, EIO, &before, &after, &fix),
	                 TV_ERR_EOD);
	/* anything else is an I/O error */
	after = P(2, 5, 0);
	assert_int_equal(tv_st_map_space(TV_ST_FSR, EIO, &before, &after, &fix),
	                 TV_ERR_IO);
	assert_int_equal(tv_st_map_space(TV_ST_FSF, EIO, &before, &after, &fix),
	                 TV_ERR_IO);
	assert_int_equal(tv_st_map_space(TV_ST_BSF, EIO, &before, &after, &fix),
	                 TV_ERR_IO);
	{
		struct tv_st_pos bad = { 0 };
		assert_int_equal(tv_st_map_space(TV_ST_BSR, EIO, &before, &bad, &fix),
		                 TV_ERR_IO);
		assert_int_equal(fix, TV_ST_FIX_NONE);
		assert_int_equal(tv_st_map_space(TV_ST_FSF, ENOSPC, &before, &bad, &fix),
		                 TV_ERR_EOD);
	}
}

static void test_status_mapping(void **state)
{
	struct tv_st_mstate s;
	struct tv_tape_status st;
	struct tv_st_pos p = P(3, 7, S_WP | S_EOT);

	(void)state;
	tv_st_map_init(&s);
	tv_st_map_status(&p, &s, &st);
	assert_int_equal(st.file_no, 3);
	assert_int_equal(st.block_no, 7);
	assert_true(st.write_protected);
	assert_true(st.ew);
	assert_false(st.bot);
	assert_false(st.eod);
	p = P(-1, -1, S_BOT);
	tv_st_map_status(&p, &s, &st);
	assert_int_equal(st.file_no, TV_TAPE_POS_UNKNOWN);
	assert_int_equal(st.block_no, TV_TAPE_POS_UNKNOWN);
	assert_true(st.bot);
	s.eod = 1;
	p = P(1, 0, 0);
	tv_st_map_status(&p, &s, &st);
	assert_true(st.eod);
}

static void test_open_errno(void **state)
{
	(void)state;
	assert_int_equal(tv_st_map_open_errno(ENOENT), TV_ERR_NOTFOUND);
	assert_int_equal(tv_st_map_open_errno(EACCES), TV_ERR_PERM);
	assert_int_equal(tv_st_map_open_errno(EBUSY), TV_ERR_STATE);
	assert_int_equal(tv_st_map_open_errno(EROFS), TV_ERR_WPROT);
	assert_int_equal(tv_st_map_open_errno(EIO), TV_ERR_IO);
}

static void test_open_no_device(void **state)
{
	struct tv_tape *t = NULL;
	int rc;

	(void)state;
	/* no such drive here: a clear error, nothing leaks */
	rc = tv_tape_open("/dev/nst-tapevault-test-none", TV_TAPE_RDONLY, &t);
	assert_int_equal(rc, TV_ERR_NOTFOUND);
	assert_null(t);
	assert_non_null(strstr(tv_errdetail(), "/dev/nst-tapevault-test-none"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gstat_bits),
		cmocka_unit_test(test_write_ew_alternation),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_read_mapping),
		cmocka_unit_test(test_space_mapping),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_open_errno),
		cmocka_unit_test(test_open_no_device),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
