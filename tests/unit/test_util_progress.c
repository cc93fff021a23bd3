/* tapevault: util/progress.c, the progress line: what it says (percent,
 * MiB done of the total, items, rate, time left, the current item, its
 * end kept when the line is narrow) and when it says nothing. */
#include <string.h>

#include "testlib.h"
#include "util/progress.h"

static void with(struct tv_prog *p, const char *what, uint64_t tb, uint64_t ti, uint64_t db,
                 uint64_t item, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total_bytes = tb;
	p->total_items = ti;
	p->done_bytes = db;
	p->item = item;
	snprintf(p->name, sizeof(p->name), "%s", name);
}

static void test_known_total(void **state)
{
	struct tv_prog p;
	char line[300];
	(void)state;

	/* 100 of 400 MiB in 10 s: 10 MiB/s, 300 MiB left: 0:30 */
	with(&p, "restoring", 400ull << 20, 0, 100ull << 20, 7, "home/a/b.txt");
	tv_prog_format(&p, 10.0, 200, line, sizeof(line));
	assert_string_equal(line, "restoring:  25.0% 100/400 MiB, item 7, 10.0 MiB/s, 0:30 left"
	                    "  home/a/b.txt");
	/* an hour and more */
	with(&p, "verifying", 40000ull << 20, 10, 10ull << 20, 2, "");
	tv_prog_format(&p, 10.0, 200, line, sizeof(line));
	assert_string_equal(line, "verifying:   0.0% 10/40000 MiB, 2/10, 1.0 MiB/s, 11:06:30 left");
}

static void test_unknown_total(void **state)
{
	struct tv_prog p;
	char line[300];
	(void)state;

	/* no total: the rate, no time left */
	with(&p, "writing", 0, 0, 50ull << 20, 3, "x");
	tv_prog_format(&p, 2.0, 200, line, sizeof(line));
	assert_string_equal(line, "writing: 50 MiB, item 3, 25.0 MiB/s, --:-- left  x");
	/* items known (catalog: tapes): time left by items */
	with(&p, "cataloging", 0, 4, 0, 1, "VT0001L9");
	tv_prog_format(&p, 60.0, 200, line, sizeof(line));
	assert_string_equal(line, "cataloging: 0 MiB, 1/4, 0.0 MiB/s, 3:00 left  VT0001L9");
}

static void test_narrow(void **state)
{
	struct tv_prog p;
	char line[300];
	(void)state;

	with(&p, "writing", 0, 0, 0, 1, "very/long/path/to/some/file.txt");
	tv_prog_format(&p, 1.0, 60, line, sizeof(line));
	assert_true(strlen(line) < 60);
	assert_non_null(strstr(line, "...")); /* the name's end is kept */
	assert_true(strcmp(line + strlen(line) - 8, "file.txt") == 0);
	tv_prog_format(&p, 1.0, 20, line, sizeof(line));   /* no room: no name */
	assert_null(strstr(line, "file"));
}

static void test_not_active(void **state)
{
	struct tv_prog p;
	(void)state;

	tv_prog_force(0);
	tv_prog_start(&p, "writing", 10, 0, 1);   /* quiet: never drawn */
	assert_int_equal(p.active, 0);
	tv_prog_force(1);
	tv_prog_start(&p, "writing", 10, 0, 1);   /* quiet wins over --progress */
	assert_int_equal(p.active, 0);
	tv_prog_start(&p, "writing", 10, 0, 0);
	assert_int_equal(p.active, 1);
	tv_prog_force(0);
	p.active = 0;
	tv_prog_finish(&p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_total),
		cmocka_unit_test(test_unknown_total),
		cmocka_unit_test(test_narrow),
		cmocka_unit_test(test_not_active),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
