/* tapevault: jobs/prestat.c, a directory's entries stat'ed ahead on a
 * helper thread: every result is what a stat of that name alone gives
 * (type, inode, size, mode), a name that is not there has its errno,
 * batches of every size follow each other and nest (the helper moves to
 * the inner one and back), without a helper the walking thread does it
 * all, and an old result is not given. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "jobs/prestat.h"

#define N 1000

struct tree {
	int dfd;
	char *names[N];
};

/* N entries: files of i % 7 bytes, every 10th a directory, every 13th a
 * symbolic link, every 97th a name that is not there. */
static void make_tree(struct tree *t)
{
	const char *dir = tl_tmpdir("prestat");

	t->dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(t->dfd >= 0);
	for (int i = 0; i < N; i++) {
		t->names[i] = tl_strf("e%04d", i);
		if (i % 97 == 0)
			continue;
		if (i % 10 == 0) {
			assert_int_equal(mkdirat(t->dfd, t->names[i], 0750), 0);
		} else if (i % 13 == 0) {
			assert_int_equal(symlinkat("nowhere", t->dfd, t->names[i]), 0);
		} else {
			int fd = openat(t->dfd, t->names[i], O_WRONLY | O_CREAT, 0600 | (i & 044));
			assert_true(fd >= 0);
			assert_int_equal(write(fd, "0123456", (size_t)(i % 7)), i % 7);
			close(fd);
		}
	}
}

static void free_tree(struct tree *t)
{
	for (int i = 0; i < N; i++)
		free(t->names[i]);
	close(t->dfd);
}

/* entry k of the batch of names[off..] against a stat of it alone */
static void check_one(struct tv_prestat *p, struct tv_pbatch *b, struct tree *t, size_t off,
                      size_t k)
{
	struct stat one;
	const struct stat *st;
	size_t i = off + k;
	int err = 0x5555;

	st = tv_prestat_get(p, b, k, &err);
	assert_non_null(st);   /* taken just now: fresh */
	if (fstatat(t->dfd, t->names[i], &one, AT_SYMLINK_NOFOLLOW) != 0) {
		assert_int_equal(err, errno);
		assert_int_equal(err, ENOENT);
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(st->st_ino, one.st_ino);
	assert_int_equal(st->st_mode, one.st_mode);
	assert_int_equal(st->st_size, one.st_size);
	assert_int_equal(st->st_ctim.tv_nsec, one.st_ctim.tv_nsec);
}

/* names[off .. off+n), in order, as a walk asks for them */
static void check_batch(struct tv_prestat *p, struct tree *t, size_t off, size_t n)
{
	struct tv_pbatch b;

	assert_int_equal(tv_prestat_push(p, &b, 0, t->dfd, t->names + off, n), 0);
	for (size_t k = 0; k < n; k++)
		check_one(p, &b, t, off, k);
	tv_prestat_pop(p, &b);
}

/* an outer batch asked for in part, an inner one whole, the outer's rest
 * (a walk that descends at entry `at`) */
static void check_nested(struct tv_prestat *p, struct tree *t, size_t at)
{
	struct tv_pbatch outer, inner;

	assert_int_equal(tv_prestat_push(p, &outer, 0, t->dfd, t->names, N), 0);
	for (size_t k = 0; k <= at; k++)
		check_one(p, &outer, t, 0, k);
	assert_int_equal(tv_prestat_push(p, &inner, 1, t->dfd, t->names + 250, 500), 0);
	for (size_t k = 0; k < 500; k++)
		check_one(p, &inner, t, 250, k);
	tv_prestat_pop(p, &inner);
	for (size_t k = at + 1; k < N; k++)
		check_one(p, &outer, t, 0, k);
	tv_prestat_pop(p, &outer);
}

/* a batch left before its end (a walk stopped by an error) */
static void check_left(struct tv_prestat *p, struct tree *t)
{
	struct tv_pbatch b;

	assert_int_equal(tv_prestat_push(p, &b, 0, t->dfd, t->names, N), 0);
	check_one(p, &b, t, 0, 3);
	tv_prestat_pop(p, &b);   /* the helper is out of it: the room can be used again */
}

static void test_two_threads(void **state)
{
	struct tree t;
	struct tv_prestat *p;
	(void)state;

	make_tree(&t);
	assert_int_equal(tv_prestat_new(&p, 1), 0);
	assert_non_null(p);
	check_batch(p, &t, 0, N);
	/* batches of every size, one after another: empty, below a chunk,
	 * around one, large */
	for (size_t n = 0, off = 0; n < 300; n += 7, off = (off + 131) % (N - 300))
		check_batch(p, &t, off, n);
	for (int k = 0; k < 20; k++) {
		check_batch(p, &t, 0, N);
		check_nested(p, &t, (size_t)k * 37);
		check_left(p, &t);
	}
	tv_prestat_free(p);
	free_tree(&t);
}

static void test_one_thread(void **state)
{
	struct tree t;
	struct tv_prestat *p;
	(void)state;

	make_tree(&t);
	assert_int_equal(tv_prestat_new(&p, 0), 0);
	check_batch(p, &t, 0, N);
	check_batch(p, &t, 5, 3);
	check_nested(p, &t, 100);
	check_left(p, &t);
	tv_prestat_free(p);
	tv_prestat_free(NULL);
	free_tree(&t);
}

/* a result older than TV_PRESTAT_FRESH seconds is not given (the walk
 * then stats the entry itself); a chunk taken later is */
static void test_stale(void **state)
{
	struct tree t;
	struct tv_prestat *p;
	struct tv_pbatch b;
	int err;
	(void)state;

	make_tree(&t);
	assert_int_equal(tv_prestat_new(&p, 0), 0);
	assert_int_equal(tv_prestat_push(p, &b, 0, t.dfd, t.names, N), 0);
	assert_non_null(tv_prestat_get(p, &b, 1, &err));
	sleep(TV_PRESTAT_FRESH + 2);
	assert_null(tv_prestat_get(p, &b, 2, &err));   /* the same chunk: old */
	assert_non_null(tv_prestat_get(p, &b, TV_PRESTAT_CHUNK, &err));   /* taken now */
	tv_prestat_pop(p, &b);
	tv_prestat_free(p);
	free_tree(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_one_thread),
		cmocka_unit_test(test_stale),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
