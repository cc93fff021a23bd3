/* tapevault unit tests: the one test harness (see testlib.h).
 *
 * Selecting cases: the harness matches the pattern itself (with the rules
 * of cmocka_set_test_filter: '*' and '?', the whole name) and hands cmocka
 * only the cases that match, so it knows which case runs when.  Every case
 * runs through three trampolines (setup, body, teardown) that attribute
 * the temporary directories made meanwhile to that case and note whether
 * its body returned (an assertion that fails longjmps out of it). */
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- state of the run ---- */

struct tl_dir {
	char *path;
	long owner;              /* index of the case in the run, -1 the group */
	int gone;                /* removed, or kept and reported */
};

static struct {
	const char *prog;        /* basename of argv[0] (NULL: the process name) */
	struct CMUnitTest *cases;   /* the cases that run, as given */
	size_t ncases;
	long next;               /* index of the next case to set up */
	long cur;                /* the case running, -1 none */
	int returned;            /* its body returned */
	int skipped;             /* it called tl_skip */
	int keep;                /* TV_TEST_KEEP=1 */
	struct tl_dir *dirs;
	size_t ndirs;
} T = { .cur = -1 };

static const char *prog(void)
{
	return T.prog != NULL ? T.prog : program_invocation_short_name;
}

static int env_is_1(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && strcmp(v, "1") == 0;
}

static void tl_dirs_finish(long owner, int passed)
{
	for (size_t i = 0; i < T.ndirs; i++) {
		struct tl_dir *d = &T.dirs[i];
		if (d->gone || d->owner != owner)
			continue;
		d->gone = 1;
		if (passed && !T.keep) {
			tl_rmtree(d->path);
			continue;
		}
		fprintf(stderr, "# %s: temporary directory kept: %s\n",
		        owner >= 0 ? T.cases[owner].name : prog(), d->path);
	}
}

/* ---- the trampolines ---- */

static int tl_setup_tramp(void **state)
{
	T.cur = T.next++;
	T.returned = 0;
	T.skipped = 0;
	if (T.cases[T.cur].setup_func != NULL)
		return T.cases[T.cur].setup_func(state);
	return 0;
}

static void tl_test_tramp(void **state)
{
	T.cases[T.cur].test_func(state);
	T.returned = 1;
}

static int tl_teardown_tramp(void **state)
{
	long cur = T.cur;
	int rc = 0;

	if (T.cases[cur].teardown_func != NULL)
		rc = T.cases[cur].teardown_func(state);
	tl_dirs_finish(cur, rc == 0 && (T.returned || T.skipped));
	T.cur = -1;
	return rc;
}

void tl_skip_why(const char *fmt, ...)
{
	va_list ap;

	T.skipped = 1;
	fprintf(stderr, "# %s skipped: ", T.cur >= 0 ? T.cases[T.cur].name : prog());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- running ---- */

/* cmocka's c_strmatch: '*' any run, '?' one character, the whole string. */
static int tl_match(const char *s, const char *p)
{
	for (; *p != '\0'; p++, s++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			if (p[1] == '\0')
				return 1;
			for (; *s != '\0'; s++)
				if (tl_match(s, p + 1))
					return 1;
			return 0;
		}
		if (*s == '\0' || (*p != '?' && *p != *s))
			return 0;
	}
	return *s == '\0';
}

static void tl_usage(const struct CMUnitTest *tests, size_t n, FILE *f)
{
	fprintf(f, "usage: %s [PATTERN | --list]\n"
	        "  PATTERN  run the test cases whose whole name matches ('*', '?')\n"
	        "  env: TV_TEST_CASE=PATTERN, TV_TEST_KEEP=1 (keep temporary directories),\n"
	        "       CMOCKA_TEST_ABORT=1 (abort at the first failure), TV_SOURCE_DIR\n"
	        "test cases:\n", prog());
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %s\n", tests[i].name);
}

int tl_run_group(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
                 CMFixtureFunction group_setup, CMFixtureFunction group_teardown)
{
	const char *pattern = getenv("TV_TEST_CASE");
	struct CMUnitTest *run;
	size_t nrun = 0;
	int rc;

	if (argc > 0 && argv[0] != NULL) {
		const char *s = strrchr(argv[0], '/');
		T.prog = s != NULL ? s + 1 : argv[0];
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "--list") != 0 &&
	                 strcmp(argv[1], "-l") != 0)) {
		tl_usage(tests, n, argc == 2 && (strcmp(argv[1], "-h") == 0 ||
		                                 strcmp(argv[1], "--help") == 0) ? stdout : stderr);
		return argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		       ? 0 : 2;
	}
	if (argc == 2 && (strcmp(argv[1], "--list") == 0 || strcmp(argv[1], "-l") == 0)) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (argc == 2)
		pattern = argv[1];
	if (pattern != NULL && pattern[0] == '\0')
		pattern = NULL;
	T.keep = env_is_1("TV_TEST_KEEP");
	if ((run = calloc(n ? n : 1, sizeof(*run))) == NULL ||
	    (T.cases = calloc(n ? n : 1, sizeof(*T.cases))) == NULL) {
		perror(prog());
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (pattern != NULL && !tl_match(tests[i].name, pattern))
			continue;
		T.cases[nrun] = tests[i];
		run[nrun] = tests[i];
		run[nrun].setup_func = tl_setup_tramp;
		run[nrun].test_func = tl_test_tramp;
		run[nrun].teardown_func = tl_teardown_tramp;
		nrun++;
	}
	T.ncases = nrun;
	if (nrun == 0) {
		fprintf(stderr, "%s: no test case matches '%s'\n", prog(), pattern ? pattern : "");
		tl_usage(tests, n, stderr);
		tl_dirs_finish(-1, 1);
		rc = 1;
		goto out;
	}
	rc = _cmocka_run_group_tests(prog(), run, nrun, group_setup, group_teardown);
	/* the group's directories, and those of a case whose setup failed */
	for (long i = -1; i < (long)nrun; i++)
		tl_dirs_finish(i, rc == 0);
out:
	for (size_t i = 0; i < T.ndirs; i++)
		free(T.dirs[i].path);
	free(T.dirs);
	T.dirs = NULL;
	T.ndirs = 0;
	free(run);
	free(T.cases);
	T.cases = NULL;
	return rc;
}

/* ---- temporary directories and paths ---- */

const char *tl_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	struct tl_dir *nd;
	char *p;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	p = tl_strf("%s/tv-%s-%s-XXXXXX", base, prog(), tag ? tag : "tmp");
	if (mkdtemp(p) == NULL)
		fail_msg("cannot make a temporary directory %s: %s", p, strerror(errno));
	nd = realloc(T.dirs, (T.ndirs + 1) * sizeof(*nd));
	assert_non_null(nd);
	T.dirs = nd;
	T.dirs[T.ndirs].path = p;
	T.dirs[T.ndirs].owner = T.cur;
	T.dirs[T.ndirs].gone = 0;
	T.ndirs++;
	/* the end-of-case report does not come when the process aborts */
	if (T.keep || env_is_1("CMOCKA_TEST_ABORT"))
		fprintf(stderr, "# %s: temporary directory %s\n",
		        T.cur >= 0 ? T.cases[T.cur].name : prog(), p);
	return p;
}

char *tl_strf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	assert_true(r >= 0);
	return p;
}

char *tl_path(const char *dir, const char *name)
{
	return tl_strf("%s/%s", dir, name);
}

void tl_rmtree(const char *path)
{
	struct stat st;

	if (path == NULL || lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d;
		struct dirent *e;

		chmod(path, 0700);
		if ((d = opendir(path)) != NULL) {
			while ((e = readdir(d)) != NULL) {
				char *c;
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				if (asprintf(&c, "%s/%s", path, e->d_name) >= 0) {
					tl_rmtree(c);
					free(c);
				}
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* ---- the source tree and reference files ---- */

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_srcdir(const char *dir)
{
	char *probe = tl_path(dir, "tests/unit/testlib.c");
	int ok = access(probe, R_OK) == 0;

	free(probe);
	return ok;
}

const char *tl_srcdir(void)
{
	static char *dir;
	const char *env = getenv("TV_SOURCE_DIR");
	const char *self = __FILE__, *cut;

	if (dir != NULL)
		return dir;
	if (env != NULL && env[0] != '\0') {
		if (!is_srcdir(env))
			fail_msg("TV_SOURCE_DIR=%s is not the tapevault source tree "
			         "(no tests/unit/testlib.c there)", env);
		return dir = strdup(env);
	}
	/* __FILE__ is .../tests/unit/testlib.c as the compiler was given it
	 * (absolute with CMake; relative to where the build ran otherwise) */
	cut = strstr(self, "tests/unit/testlib.c");
	if (cut != NULL) {
		char *cand = cut == self ? strdup(".") : strndup(self, (size_t)(cut - self - 1));
		if (cand != NULL && cand[0] == '\0') {
			free(cand);
			cand = strdup("/");
		}
		if (cand != NULL && is_srcdir(cand))
			return dir = cand;
		free(cand);
	}
	fail_msg("the tapevault source tree is not found (compiled from %s): set "
	         "TV_SOURCE_DIR to the repository root", self);
	return NULL;
}

const char *tl_shared_dir(void)
{
	static char *dir;
	const char *env = getenv("TV_SHARED_DIR");

	if (dir != NULL)
		return dir;
	if (env != NULL && env[0] != '\0')
		dir = strdup(env);
	else
		dir = tl_path(tl_srcdir(), "../shared");
	if (!is_dir(dir))
		fail_msg("the shared folder %s is not found: set TV_SHARED_DIR", dir);
	return dir;
}

char *tl_src_path(const char *rel)
{
	return tl_path(tl_srcdir(), rel);
}

uint8_t *tl_read_ref(const char *rel, size_t *n)
{
	char *path = tl_src_path(rel);
	uint8_t *p = tl_read_file(path, n);

	if (p == NULL)
		fail_msg("reference file %s cannot be read: %s", path, strerror(errno));
	free(path);
	return p;
}

/* ---- files ---- */

uint8_t *tl_read_file(const char *path, size_t *n)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;
	int fd, e;

	*n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EISDIR;
		goto fail;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		e = ENOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? errno : EIO;
			goto fail;
		}
		got += (size_t)r;
	}
	close(fd);
	p[got] = '\0';
	*n = got;
	return p;
fail:
	free(p);
	close(fd);
	errno = e;
	return NULL;
}

void tl_write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t done = 0;

	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	while (done < n) {
		ssize_t w = write(fd, (const uint8_t *)data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			fail_msg("cannot write %s: %s", path, strerror(errno));
		}
		done += (size_t)w;
	}
	if (fchmod(fd, mode) != 0 || close(fd) != 0)
		fail_msg("cannot finish %s: %s", path, strerror(errno));
}

long long tl_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int tl_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- bytes ---- */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t tl_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t len = strlen(hex);

	if (len % 2 != 0)
		fail_msg("hex string of odd length %zu: %.40s", len, hex);
	if (len / 2 > max)
		fail_msg("hex string of %zu bytes, room for %zu: %.40s", len / 2, max, hex);
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexdigit(hex[2 * i]), lo = hexdigit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail_msg("not a hex digit at offset %zu of %.40s", 2 * i, hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return len / 2;
}

char *tl_tohex(const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = p;
	char *s = malloc(2 * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hx[b[i] >> 4];
		s[2 * i + 1] = hx[b[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

void tl_fill_random(void *p, size_t n, uint32_t seed)
{
	uint8_t *b = p;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

void tl_fill_seq(void *p, size_t n, uint8_t start)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(start + i);
}

/* ---- environment ---- */

int tl_sanitized(void)
{
	const char *s = getenv("TV_SANITIZED");
	return s != NULL && s[0] == '1';
}
