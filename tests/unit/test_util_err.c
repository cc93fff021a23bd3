/* tapevault unit tests: util/err (a detail belongs to the failure that set it) */
#include "testlib.h"

#include "util/err.h"

#include <string.h>

static void test_detail_shown_for_its_code(void **state)
{
	(void)state;
	tv_errclear();
	assert_int_equal(tv_errf(TV_ERR_CRC, "tape %s record %d", "VT0001L9", 6), TV_ERR_CRC);
	assert_string_equal(tv_errmsg(TV_ERR_CRC), "tape VT0001L9 record 6");
	assert_string_equal(tv_errdetail(), "tape VT0001L9 record 6");
}

static void test_stale_detail_not_shown_for_another_code(void **state)
{
	(void)state;
	/* a lookup's NOTFOUND was handled; a later failure with no detail of
	 * its own must not be explained by it */
	tv_errf(TV_ERR_NOTFOUND, "no pool named 'x'");
	assert_string_equal(tv_errmsg(TV_ERR_NOMEM), tv_strerror(TV_ERR_NOMEM));
	assert_string_equal(tv_errmsg(TV_ERR_IO), "input/output error");
}

static void test_clear(void **state)
{
	(void)state;
	tv_errf(TV_ERR_IO, "disk on fire");
	tv_errclear();
	assert_string_equal(tv_errdetail(), "");
	assert_string_equal(tv_errmsg(TV_ERR_IO), tv_strerror(TV_ERR_IO));
}

static void test_context_prefixes_own_detail(void **state)
{
	(void)state;
	tv_errf(TV_ERR_AUTH, "frame 3 does not authenticate");
	assert_int_equal(tv_errctx(TV_ERR_AUTH, "tape %s", "VT0002L9"), TV_ERR_AUTH);
	assert_string_equal(tv_errmsg(TV_ERR_AUTH), "tape VT0002L9: frame 3 does not authenticate");
}

static void test_context_over_another_codes_detail(void **state)
{
	(void)state;
	/* the detail there is another failure's: the context goes with the
	 * code's own description, and the result belongs to the new code */
	tv_errf(TV_ERR_NOTFOUND, "no such key");
	tv_errctx(TV_ERR_EOF, "reading %s", "f1");
	assert_string_equal(tv_errmsg(TV_ERR_EOF), "reading f1: unexpected end of data");
	assert_string_equal(tv_errmsg(TV_ERR_NOTFOUND), tv_strerror(TV_ERR_NOTFOUND));
}

static void test_context_truncates_long_detail(void **state)
{
	char big[2000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tv_errf(TV_ERR_FORMAT, "%s", big);
	tv_errctx(TV_ERR_FORMAT, "ctx");
	assert_true(strncmp(tv_errmsg(TV_ERR_FORMAT), "ctx: aaa", 8) == 0);
	assert_true(strlen(tv_errmsg(TV_ERR_FORMAT)) < 1024);
}

static void test_detail_may_quote_itself(void **state)
{
	(void)state;
	/* adding to a message: the argument is the detail being replaced */
	tv_errf(TV_ERR_NOSPC, "/srv/x: the target file system is full");
	tv_errf(TV_ERR_NOSPC, "%s: restore stopped", tv_errmsg(TV_ERR_NOSPC));
	assert_string_equal(tv_errmsg(TV_ERR_NOSPC),
	                    "/srv/x: the target file system is full: restore stopped");
}

static void test_strerror_every_code(void **state)
{
	(void)state;
	assert_string_equal(tv_strerror(0), "success");
	for (int e = TV_ERR_INTERNAL; e > TV_ERR_MAX_; e--)
		assert_string_not_equal(tv_strerror(e), "unknown error");
	assert_string_equal(tv_strerror(TV_ERR_MAX_), "unknown error");
	assert_string_equal(tv_strerror(5), "unknown error");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detail_shown_for_its_code),
		cmocka_unit_test(test_stale_detail_not_shown_for_another_code),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_context_prefixes_own_detail),
		cmocka_unit_test(test_context_over_another_codes_detail),
		cmocka_unit_test(test_context_truncates_long_detail),
		cmocka_unit_test(test_detail_may_quote_itself),
		cmocka_unit_test(test_strerror_every_code),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
