/* tapevault unit tests: the one test harness (tests/unit/testlib.c is
 * compiled into every unit test).  Modeled on libarchive's
 * test_utils/test_main.c: run one test case by name, find reference files
 * in the source tree, keep the temporary directories of a failed test.
 *
 * Running (every test binary):
 *   test_x                 all test cases
 *   test_x PATTERN         the cases whose name matches PATTERN ('*' and
 *                          '?' wildcards, whole name: test_seek, 'test_*tamper*');
 *                          a pattern that matches no case is a failure
 *   test_x --list          the names of the cases
 *   TV_TEST_CASE=PATTERN   the same as the argument (for wrappers)
 *   TV_TEST_KEEP=1         keep every temporary directory
 *   CMOCKA_TEST_ABORT=1    abort() at the first failed assertion (for gdb)
 *
 * Temporary directories belong to the test case that made them (in its
 * setup or body) or to the group (group setup, main): a case's directories
 * are removed after its teardown when it passed, and kept, their path
 * printed, when it failed; the group's are removed at the end when every
 * case passed.  Tests never remove them themselves.
 *
 * Every helper that cannot do its job fails the running test (an
 * assertion), so a test cannot pass having checked nothing. */
#ifndef TV_TESTLIB_H
#define TV_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/types.h>

/* ---- running ---- */

/* main(): return tl_run(argc, argv, tests, group_setup, group_teardown); */
#define tl_run(argc, argv, tests, setup, teardown) \
	tl_run_group((argc), (argv), (tests), sizeof(tests) / sizeof((tests)[0]), \
	             (setup), (teardown))
int tl_run_group(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
                 CMFixtureFunction group_setup, CMFixtureFunction group_teardown);

/* Skips the running case, saying why (its temporary directories go as if
 * it had passed). */
void tl_skip_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define tl_skip(...) do { tl_skip_why(__VA_ARGS__); skip(); } while (0)

/* ---- temporary directories and paths ---- */

/* A fresh directory $TMPDIR/tv-TEST-TAG-XXXXXX (mode 0700), owned by the
 * harness: valid until the process ends, never freed by the caller. */
const char *tl_tmpdir(const char *tag);
/* "dir/name" (malloc'd; the caller frees). */
char *tl_path(const char *dir, const char *name);
/* A formatted path or string (malloc'd; the caller frees). */
char *tl_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Removes a file or a tree (directories made writable first); a missing
 * path is fine. */
void tl_rmtree(const char *path);

/* ---- the source tree and reference files ---- */

/* The repository root: $TV_SOURCE_DIR (CTest sets it), else derived from
 * where testlib.c was compiled; the running test fails when neither holds
 * tests/unit/testlib.c. */
const char *tl_srcdir(void);
/* The shared folder beside the repository: $TV_SHARED_DIR, else
 * SRCDIR/../shared (fails the test when it is not a directory). */
const char *tl_shared_dir(void);
/* SRCDIR/REL (malloc'd; the file need not exist: seed writers use it). */
char *tl_src_path(const char *rel);
/* Reads SRCDIR/REL; the test fails, naming the path, when it cannot be read. */
uint8_t *tl_read_ref(const char *rel, size_t *n);

/* ---- files ---- */

/* The whole file, NUL-terminated (so text can be used as a string), its
 * size in *n; NULL (errno set, *n = 0) when it cannot be read. */
uint8_t *tl_read_file(const char *path, size_t *n);
/* Creates or truncates path with mode (fchmod'ed: the umask does not
 * apply); fails the test on any error. */
void tl_write_file(const char *path, const void *data, size_t n, mode_t mode);
/* Size of a file, -1 when it does not exist. */
long long tl_file_size(const char *path);
/* lstat(path) succeeds. */
int tl_exists(const char *path);

/* ---- bytes ---- */

/* Hex (upper or lower case, no separators) into out; fails the test on an
 * odd length, a non-hex digit or more than max bytes.  Returns the length. */
size_t tl_unhex(const char *hex, uint8_t *out, size_t max);
/* Lowercase hex of p (malloc'd; the caller frees). */
char *tl_tohex(const void *p, size_t n);
/* Deterministic pseudo-random bytes: xorshift32 from seed (the same seed
 * gives the same bytes on every machine; incompressible). */
void tl_fill_random(void *p, size_t n, uint32_t seed);
/* p[i] = start + i (mod 256). */
void tl_fill_seq(void *p, size_t n, uint8_t start);

/* ---- environment ---- */

/* TV_SANITIZED=1: the build runs under ASan (slow, big shadow memory). */
int tl_sanitized(void);

#endif
