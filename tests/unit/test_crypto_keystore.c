/* tapevault: the local key store (master key file, seal/open, tamper,
 * permissions) and password input (file, environment). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "crypto/keystore.h"
#include "crypto/password.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include "testlib.h"

static const char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tl_tmpdir("ks");
	unsetenv(TV_PASSWORD_ENV);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return 0;
}

static void test_create_load_seal_open(void **state)
{
	char *home = tl_path(dir, "home1"), *keyf, *keyd;
	struct tv_keystore *ks = NULL, *ks2 = NULL;
	struct tv_buf blob, pt;
	struct stat st;
	char id[17], id2[17];
	(void)state;

	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_NOTFOUND);
	assert_non_null(strstr(tv_errdetail(), "tapevault init"));
	assert_int_equal(tv_keystore_create(home), 0);
	assert_int_equal(tv_keystore_create(home), TV_ERR_EXISTS);
	assert_true(asprintf(&keyf, "%s/keys/master.key", home) > 0);
	assert_true(asprintf(&keyd, "%s/keys", home) > 0);
	assert_int_equal(stat(keyf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 48);
	assert_int_equal(stat(keyd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	assert_int_equal(tv_keystore_load(home, &ks), 0);
	assert_int_equal(tv_keystore_load(home, &ks2), 0);
	tv_keystore_id(ks, id);
	tv_keystore_id(ks2, id2);
	assert_string_equal(id, id2);
	assert_int_equal(strlen(id), 16);

	tv_buf_init(&blob);
	tv_buf_init(&pt);
	assert_int_equal(tv_keystore_seal(ks, "password:weekly", 15, "hunter2", 7, &blob), 0);
	assert_int_equal(blob.len, 7 + TV_KEYSTORE_OVERHEAD);
	assert_memory_equal(blob.d, "TVKS", 4);
	assert_null(memmem(blob.d, blob.len, "hunter2", 7));
	assert_int_equal(tv_keystore_open(ks2, "password:weekly", 15, blob.d, blob.len, &pt), 0);
	assert_int_equal(pt.len, 7);
	assert_memory_equal(pt.d, "hunter2", 7);
	tv_buf_reset(&pt);
	/* other purpose (AAD) */
	assert_int_equal(tv_keystore_open(ks, "password:daily", 14, blob.d, blob.len, &pt),
	                 TV_ERR_AUTH);
	assert_int_equal(pt.len, 0);
	/* every byte matters */
	for (size_t i = 0; i < blob.len; i++) {
		blob.d[i] ^= 0x20;
		assert_int_not_equal(tv_keystore_open(ks, "password:weekly", 15, blob.d,
		                                      blob.len, &pt), 0);
		assert_int_equal(pt.len, 0);
		blob.d[i] ^= 0x20;
	}
	/* truncated / not a blob */
	assert_int_equal(tv_keystore_open(ks, "password:weekly", 15, blob.d, 20, &pt),
	                 TV_ERR_FORMAT);
	assert_int_equal(tv_keystore_open(ks, "password:weekly", 15, blob.d, blob.len - 1, &pt),
	                 TV_ERR_AUTH);
	/* two seals differ (fresh IV) */
	{
		struct tv_buf b2;
		tv_buf_init(&b2);
		assert_int_equal(tv_keystore_seal(ks, "a", 1, "hunter2", 7, &b2), 0);
		assert_memory_not_equal(b2.d + 13, blob.d + 13, 12);
		tv_buf_free(&b2);
	}
	/* empty secret */
	tv_buf_reset(&blob);
	assert_int_equal(tv_keystore_seal(ks, NULL, 0, NULL, 0, &blob), 0);
	assert_int_equal(tv_keystore_open(ks, NULL, 0, blob.d, blob.len, &pt), 0);
	assert_int_equal(pt.len, 0);
	tv_buf_free(&blob);
	tv_buf_free(&pt);
	tv_keystore_free(ks);
	tv_keystore_free(ks2);
	free(keyf);
	free(keyd);
	free(home);
}

static void test_other_keystore(void **state)
{
	char *h1 = tl_path(dir, "h1"), *h2 = tl_path(dir, "h2");
	struct tv_keystore *a, *b;
	struct tv_buf blob, pt;
	(void)state;

	mkdir(h1, 0700);
	mkdir(h2, 0700);
	assert_int_equal(tv_keystore_create(h1), 0);
	assert_int_equal(tv_keystore_create(h2), 0);
	assert_int_equal(tv_keystore_load(h1, &a), 0);
	assert_int_equal(tv_keystore_load(h2, &b), 0);
	tv_buf_init(&blob);
	tv_buf_init(&pt);
	assert_int_equal(tv_keystore_seal(a, "x", 1, "secret", 6, &blob), 0);
	assert_int_equal(tv_keystore_open(b, "x", 1, blob.d, blob.len, &pt), TV_ERR_BADKEY);
	tv_buf_free(&blob);
	tv_buf_free(&pt);
	tv_keystore_free(a);
	tv_keystore_free(b);
	free(h1);
	free(h2);
}

static void test_permissions_and_damage(void **state)
{
	char *home = tl_path(dir, "home3"), *keyf, *keyd;
	struct tv_keystore *ks = NULL;
	uint8_t *data;
	size_t n;
	(void)state;

	mkdir(home, 0700);
	assert_int_equal(tv_keystore_create(home), 0);
	assert_true(asprintf(&keyf, "%s/keys/master.key", home) > 0);
	assert_true(asprintf(&keyd, "%s/keys", home) > 0);
	chmod(keyf, 0640);
	assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_PERM);
	assert_non_null(strstr(tv_errdetail(), "chmod 600"));
	chmod(keyf, 0604);
	assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_PERM);
	chmod(keyf, 0600);
	chmod(keyd, 0755);
	assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_PERM);
	chmod(keyd, 0700);
	assert_int_equal(tv_keystore_load(home, &ks), 0);
	tv_keystore_free(ks);
	/* damaged key file */
	data = tl_read_file(keyf, &n);
	assert_non_null(data);
	assert_int_equal(n, 48);
	data[20] ^= 1;
	tl_write_file(keyf, data, n, 0600);
	assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_FORMAT);
	tl_write_file(keyf, data, 10, 0600);
	assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_FORMAT);
	/* a symlinked key file is refused */
	unlink(keyf);
	data[20] ^= 1;
	{
		char *real = tl_path(dir, "realkey");
		tl_write_file(real, data, 48, 0600);
		assert_int_equal(symlink(real, keyf), 0);
		assert_int_equal(tv_keystore_load(home, &ks), TV_ERR_PERM);
		free(real);
	}
	free(data);
	free(keyf);
	free(keyd);
	free(home);
}

static void test_password_file(void **state)
{
	char *f = tl_path(dir, "pw.txt"), *pw = NULL;
	size_t len = 0;
	(void)state;

	tl_write_file(f, "s3cret pass\nsecond line\n", 24, 0600);
	assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), 0);
	assert_string_equal(pw, "s3cret pass");
	assert_int_equal(len, 11);
	tv_freezero(pw, len + 1);

	tl_write_file(f, "dos\r\n", 5, 0600);
	assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), 0);
	assert_string_equal(pw, "dos");
	tv_freezero_str(pw);

	tl_write_file(f, "no newline", 10, 0644);   /* warns only */
	assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), 0);
	assert_string_equal(pw, "no newline");
	tv_freezero_str(pw);

	tl_write_file(f, "\nafter", 6, 0600);
	assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), TV_ERR_INVAL);
	assert_null(pw);
	assert_non_null(strstr(tv_errdetail(), "empty"));
	tl_write_file(f, "", 0, 0600);
	assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), TV_ERR_INVAL);

	{
		char big[TV_PASSWORD_MAX + 10];
		memset(big, 'a', sizeof(big));
		tl_write_file(f, big, sizeof(big), 0600);
		assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), TV_ERR_INVAL);
		big[TV_PASSWORD_MAX] = '\n';
		tl_write_file(f, big, sizeof(big), 0600);
		assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), 0);
		assert_int_equal(len, TV_PASSWORD_MAX);
		tv_freezero(pw, len + 1);
	}
	free(f);
	f = tl_path(dir, "missing");
	assert_int_equal(tv_password_read(f, NULL, 0, &pw, &len), TV_ERR_NOTFOUND);
	free(f);
}

static void test_password_env(void **state)
{
	char *pw = NULL;
	size_t len = 0;
	(void)state;

	setenv(TV_PASSWORD_ENV, "from env", 1);
	assert_int_equal(tv_password_read(NULL, NULL, 1, &pw, &len), 0);
	assert_string_equal(pw, "from env");
	tv_freezero_str(pw);
	setenv(TV_PASSWORD_ENV, "", 1);
	assert_int_equal(tv_password_read(NULL, NULL, 0, &pw, &len), TV_ERR_INVAL);
	unsetenv(TV_PASSWORD_ENV);
	/* no file, no env: the terminal (absent under ctest) */
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (tty >= 0)
		close(tty);
	else {
		assert_int_equal(tv_password_read(NULL, NULL, 0, &pw, &len), TV_ERR_INVAL);
		assert_non_null(strstr(tv_errdetail(), "--password-file"));
	}
}

/* Reads from master until needle was seen (or timeout); returns 1 if seen. */
static int pty_expect(int master, const char *needle, char *seen, size_t seensz)
{
	size_t n = strlen(seen);

	for (int i = 0; i < 500 && strstr(seen, needle) == NULL; i++) {
		struct pollfd pfd = { master, POLLIN, 0 };
		ssize_t got;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		got = read(master, seen + n, seensz - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		seen[n] = '\0';
	}
	return strstr(seen, needle) != NULL;
}

/* The terminal path, on a pseudo-terminal that is the child's controlling
 * terminal: prompt, echo off, confirmation. */
static void run_tty_case(const char *first, const char *second, int want_rc,
                         const char *want_pw)
{
	int master, p[2], status;
	char seen[4096] = "", result[256] = "";
	pid_t pid;
	ssize_t n;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *pw = NULL;
		size_t len = 0;
		int rc, slave;

		close(p[0]);
		setsid();
		slave = open(ptsname(master), O_RDWR);     /* becomes the controlling tty */
		if (slave < 0)
			_exit(2);
		unsetenv(TV_PASSWORD_ENV);
		rc = tv_password_read(NULL, "PW: ", 1, &pw, &len);
		dprintf(p[1], "%d:%s", rc, rc == 0 ? pw : "");
		_exit(0);
	}
	close(p[1]);
	assert_true(pty_expect(master, "PW: ", seen, sizeof(seen)));
	assert_true(write(master, first, strlen(first)) > 0);
	assert_true(pty_expect(master, "Repeat", seen, sizeof(seen)));
	assert_true(write(master, second, strlen(second)) > 0);
	n = read(p[0], result, sizeof(result) - 1);
	assert_true(n > 0);
	result[n] = '\0';
	waitpid(pid, &status, 0);
	close(p[0]);
	close(master);
	assert_null(strstr(seen, "typed-secret"));     /* never echoed */
	{
		char want[256];
		snprintf(want, sizeof(want), "%d:%s", want_rc, want_pw);
		assert_string_equal(result, want);
	}
}

static void test_password_tty(void **state)
{
	(void)state;
	run_tty_case("typed-secret\n", "typed-secret\n", 0, "typed-secret");
	run_tty_case("typed-secret\n", "typed-secreT\n", TV_ERR_INVAL, "");
}

static void test_secure_init(void **state)
{
	pid_t pid;
	int status;
	(void)state;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		if (tv_secure_init() != 0)
			_exit(1);
		if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
			_exit(2);
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_load_seal_open),
		cmocka_unit_test(test_other_keystore),
		cmocka_unit_test(test_permissions_and_damage),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_password_env),
		cmocka_unit_test(test_password_tty),
		cmocka_unit_test(test_secure_init),
	};
	return tl_run(argc, argv, tests, setup, teardown);
}
