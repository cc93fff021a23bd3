#include "crypto/password.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define BUFSZ (TV_PASSWORD_MAX + 2)

static int finish(const char *buf, size_t n, const char *src, char **pw, size_t *len)
{
	if (n == 0)
		return tv_errf(TV_ERR_INVAL, "empty password from %s", src);
	if (n > TV_PASSWORD_MAX)
		return tv_errf(TV_ERR_INVAL, "password from %s is longer than %d bytes",
		               src, TV_PASSWORD_MAX);
	if (memchr(buf, '\0', n) != NULL)
		return tv_errf(TV_ERR_INVAL, "password from %s contains a NUL byte", src);
	if ((*pw = malloc(n + 1)) == NULL)
		return TV_ERR_NOMEM;
	memcpy(*pw, buf, n);
	(*pw)[n] = '\0';
	*len = n;
	return 0;
}

/* Length of the first line of buf[0..n) without its line end. */
static size_t first_line(const char *buf, size_t n, int *complete)
{
	const char *nl = memchr(buf, '\n', n);
	size_t l = nl ? (size_t)(nl - buf) : n;

	*complete = nl != NULL;
	if (l > 0 && buf[l - 1] == '\r')
		l--;
	return l;
}

static int from_file(const char *path, char **pw, size_t *len)
{
	char buf[BUFSZ];
	struct stat sb;
	size_t n = 0, l;
	int fd, complete, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND :
		               errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "password file %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0)
		fprintf(stderr, "tapevault: warning: password file %s is accessible by "
		        "group or others (mode %03o); run chmod 600 %s\n", path,
		        (unsigned)(sb.st_mode & 0777), path);
	while (n < sizeof(buf)) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = tv_errf(TV_ERR_IO, "password file %s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (memchr(buf + n - (size_t)got, '\n', (size_t)got) != NULL)
			break;
	}
	l = first_line(buf, n, &complete);
	if (!complete && n == sizeof(buf)) {
		r = tv_errf(TV_ERR_INVAL, "password file %s: first line longer than %d bytes",
		            path, TV_PASSWORD_MAX);
		goto out;
	}
	r = finish(buf, l, path, pw, len);
	if (r == TV_ERR_INVAL && l == 0)
		r = tv_errf(TV_ERR_INVAL, "password file %s is empty (the password is its "
		            "first line)", path);
out:
	close(fd);
	tv_wipe(buf, sizeof(buf));
	return r;
}

/* ---- terminal ---- */

static volatile sig_atomic_t got_signal;
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
#define NSIG_TTY (sizeof(tty_signals) / sizeof(tty_signals[0]))

static void on_signal(int sig)
{
	got_signal = sig;
}

static void tty_puts(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one line with echo off.  Returns 0, TV_ERR_CANCELED (signal or
 * end of input), TV_ERR_IO. */
static int tty_line(int fd, const char *prompt, char *buf, size_t bufsz, size_t *n)
{
	struct termios old, quiet;
	struct sigaction sa, saved[NSIG_TTY];
	int r = 0, sig;

	*n = 0;
	if (tcgetattr(fd, &old) != 0)
		return tv_errf(TV_ERR_IO, "terminal: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: read() returns EINTR */
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	for (size_t i = 0; i < NSIG_TTY; i++)
		sigaction(tty_signals[i], &sa, &saved[i]);
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		r = tv_errf(TV_ERR_IO, "terminal: %s", strerror(errno));
		goto restore;
	}
	tty_puts(fd, prompt);
	for (;;) {
		char c;
		ssize_t got = read(fd, &c, 1);

		if (got < 0 && errno == EINTR) {
			if (got_signal)
				break;
			continue;
		}
		if (got < 0) {
			r = tv_errf(TV_ERR_IO, "terminal: %s", strerror(errno));
			break;
		}
		if (got == 0) {
			r = tv_errf(TV_ERR_CANCELED, "no password entered");
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (*n < bufsz)
			buf[(*n)++] = c;
		else
			*n = bufsz;    /* too long: reported by finish() */
	}
	tty_puts(fd, "\n");
	tcsetattr(fd, TCSAFLUSH, &old);
restore:
	for (size_t i = 0; i < NSIG_TTY; i++)
		sigaction(tty_signals[i], &saved[i], NULL);
	sig = got_signal;
	if (sig != 0) {
		tv_wipe(buf, bufsz);
		*n = 0;
		raise(sig);     /* the terminal is restored: now let it act */
		return tv_errf(TV_ERR_CANCELED, "interrupted");
	}
	return r;
}

static int from_tty(const char *prompt, int confirm, char **pw, size_t *len)
{
	char a[BUFSZ], b[BUFSZ];
	size_t na = 0, nb = 0;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		return tv_errf(TV_ERR_INVAL, "no password: use --password-file FILE "
		               "(or set %s)", TV_PASSWORD_ENV);
	}
	if ((r = tty_line(fd, prompt ? prompt : "Password: ", a, TV_PASSWORD_MAX + 1, &na)) != 0)
		goto out;
	if (confirm) {
		if ((r = tty_line(fd, "Repeat the password: ", b, TV_PASSWORD_MAX + 1, &nb)) != 0)
			goto out;
		if (na != nb || memcmp(a, b, na) != 0) {
			r = tv_errf(TV_ERR_INVAL, "the passwords do not match");
			goto out;
		}
	}
	r = finish(a, na, "the terminal", pw, len);
out:
	close(fd);
	tv_wipe(a, sizeof(a));
	tv_wipe(b, sizeof(b));
	return r;
}

int tv_password_read(const char *file_or_null, const char *prompt, int confirm,
                     char **pw, size_t *len)
{
	const char *env;

	*pw = NULL;
	*len = 0;
	if (file_or_null != NULL)
		return from_file(file_or_null, pw, len);
	env = getenv(TV_PASSWORD_ENV);
	if (env != NULL)
		return finish(env, strlen(env), TV_PASSWORD_ENV, pw, len);
	return from_tty(prompt, confirm, pw, len);
}
