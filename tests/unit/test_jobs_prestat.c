/* tapevault: jobs/prestat.c, a directory's entries stat'ed on two
 * threads: every result is what a stat of that name alone gives (type,
 * inode, size, mode), a name that is not there has its errno, batches of
 * every size follow each other (the helper's hand-over), and without a
 * helper the calling thread does it all. */
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

/* names[off .. off+n) against a stat of each alone */
static void check_batch(struct tv_prestat *p, struct tree *t, size_t off, size_t n)
{
	struct stat *st = calloc(n ? n : 1, sizeof(*st));
	int *err = calloc(n ? n : 1, sizeof(*err));

	assert_non_null(st);
	assert_non_null(err);
	memset(err, 0x55, n * sizeof(*err));
	tv_prestat_run(p, t->dfd, t->names + off, n, st, err);
	for (size_t k = 0; k < n; k++) {
		struct stat one;
		size_t i = off + k;
		if (fstatat(t->dfd, t->names[i], &one, AT_SYMLINK_NOFOLLOW) != 0) {
			assert_int_equal(err[k], errno);
			assert_int_equal(err[k], ENOENT);
			continue;
		}
		assert_int_equal(err[k], 0);
		assert_int_equal(st[k].st_ino, one.st_ino);
		assert_int_equal(st[k].st_mode, one.st_mode);
		assert_int_equal(st[k].st_size, one.st_size);
		assert_int_equal(st[k].st_ctim.tv_nsec, one.st_ctim.tv_nsec);
	}
	free(st);
	free(err);
}

static void test_two_threads(void **state)
{
	struct tree t;
	struct tv_prestat *p;
	(void)state;

	make_tree(&t);
	tv_prestat_new(&p);
	assert_non_null(p);
	check_batch(p, &t, 0, N);
	/* batches of every size, one after another: below the threshold,
	 * around a chunk, large */
	for (size_t n = 0, off = 0; n < 300; n += 7, off = (off + 131) % (N - 300))
		check_batch(p, &t, off, n);
	for (int k = 0; k < 50; k++)
		check_batch(p, &t, 0, N);
	tv_prestat_free(p);
	free_tree(&t);
}

static void test_one_thread(void **state)
{
	struct tree t;
	(void)state;

	make_tree(&t);
	check_batch(NULL, &t, 0, N);
	check_batch(NULL, &t, 5, 3);
	tv_prestat_free(NULL);
	free_tree(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_one_thread),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
