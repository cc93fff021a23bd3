/* tapevault: jobs/prestat.c, a directory's entries stat'ed ahead on a
 * helper thread: every result is what a stat of that name alone gives
 * (type, inode, size, mode), a name that is not there has its errno,
 * batches of every size follow each other and nest (the helper moves to
 * the inner one and back), and without a helper the walking thread does
 * it all. */
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

struct room {
	struct stat *st;
	int *err;
	atomic_uchar *done;
	time_t *when;
};

static void room_new(struct room *m, size_t n)
{
	m->st = calloc(n ? n : 1, sizeof(*m->st));
	m->err = calloc(n ? n : 1, sizeof(*m->err));
	m->done = calloc(tv_prestat_chunks(n) + 1, sizeof(*m->done));
	m->when = calloc(tv_prestat_chunks(n) + 1, sizeof(*m->when));
	assert_true(m->st && m->err && m->done && m->when);
	memset(m->err, 0x55, (n ? n : 1) * sizeof(*m->err));
}

static void room_free(struct room *m)
{
	free(m->st);
	free(m->err);
	free((void *)m->done);
	free(m->when);
}

/* entry k of the batch of names[off..] against a stat of it alone */
static void check_one(struct tv_prestat *p, struct tv_pbatch *b, struct tree *t, size_t off,
                      size_t k)
{
	struct stat one;
	size_t i = off + k;

	tv_prestat_wait(p, b, k);
	assert_true(b->when[k / TV_PRESTAT_CHUNK] > 0);
	if (fstatat(t->dfd, t->names[i], &one, AT_SYMLINK_NOFOLLOW) != 0) {
		assert_int_equal(b->err[k], errno);
		assert_int_equal(b->err[k], ENOENT);
		return;
	}
	assert_int_equal(b->err[k], 0);
	assert_int_equal(b->st[k].st_ino, one.st_ino);
	assert_int_equal(b->st[k].st_mode, one.st_mode);
	assert_int_equal(b->st[k].st_size, one.st_size);
	assert_int_equal(b->st[k].st_ctim.tv_nsec, one.st_ctim.tv_nsec);
}

/* names[off .. off+n), in order, as a walk asks for them */
static void check_batch(struct tv_prestat *p, struct tree *t, size_t off, size_t n)
{
	struct tv_pbatch b;
	struct room m;

	room_new(&m, n);
	tv_prestat_push(p, &b, t->dfd, t->names + off, n, m.st, m.err, m.done, m.when);
	for (size_t k = 0; k < n; k++)
		check_one(p, &b, t, off, k);
	tv_prestat_pop(p, &b);
	room_free(&m);
}

/* an outer batch asked for in part, an inner one whole, the outer's rest
 * (a walk that descends at entry `at`) */
static void check_nested(struct tv_prestat *p, struct tree *t, size_t at)
{
	struct tv_pbatch outer, inner;
	struct room mo, mi;

	room_new(&mo, N);
	room_new(&mi, 500);
	tv_prestat_push(p, &outer, t->dfd, t->names, N, mo.st, mo.err, mo.done, mo.when);
	for (size_t k = 0; k <= at; k++)
		check_one(p, &outer, t, 0, k);
	tv_prestat_push(p, &inner, t->dfd, t->names + 250, 500, mi.st, mi.err, mi.done, mi.when);
	for (size_t k = 0; k < 500; k++)
		check_one(p, &inner, t, 250, k);
	tv_prestat_pop(p, &inner);
	for (size_t k = at + 1; k < N; k++)
		check_one(p, &outer, t, 0, k);
	tv_prestat_pop(p, &outer);
	room_free(&mo);
	room_free(&mi);
}

/* a batch left before its end (a walk stopped by an error) */
static void check_left(struct tv_prestat *p, struct tree *t)
{
	struct tv_pbatch b;
	struct room m;

	room_new(&m, N);
	tv_prestat_push(p, &b, t->dfd, t->names, N, m.st, m.err, m.done, m.when);
	check_one(p, &b, t, 0, 3);
	tv_prestat_pop(p, &b);   /* the helper is out of it: its room can go */
	room_free(&m);
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
	(void)state;

	make_tree(&t);
	check_batch(NULL, &t, 0, N);
	check_batch(NULL, &t, 5, 3);
	check_nested(NULL, &t, 100);
	check_left(NULL, &t);
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
