/* tapevault tests: the write job's test hook (jobs/jobs.h,
 * tv_write_test_hook), linked into test programs only.  With
 *
 *   TAPEVAULT_TEST_WRITE="ACTION=NAME[,ACTION=NAME...]"
 *
 * in the environment, when the write job has opened a regular file whose
 * last path component is NAME, and before it reads it, ACTION happens
 * (once per entry):
 *   grow    1 MiB more is appended to the file
 *   shrink  the file is cut to half its size
 *   touch   its modification time moves one second on (size unchanged)
 *   sigint, sigterm   the process gets that signal (as from a terminal
 *           or a service manager, at a point known to the test)
 *   midint, midterm, midkill   SIGINT, SIGTERM or SIGKILL once 1 MiB of
 *           the file's data has been read (the job is inside the file) */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs/jobs.h"

#define MAX_ACTIONS 8

static struct action {
	char what[8];
	char name[256];
	int done;
} actions[MAX_ACTIONS];
static int nactions;

static void act(const struct action *a, const char *abs)
{
	struct stat st;
	int fd;

	if (strcmp(a->what, "sigint") == 0 || strcmp(a->what, "sigterm") == 0) {
		raise(a->what[3] == 'i' ? SIGINT : SIGTERM);
		return;
	}
	if ((fd = open(abs, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "TAPEVAULT_TEST_WRITE: %s: cannot open\n", abs);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (strcmp(a->what, "grow") == 0) {
		static char chunk[64 * 1024];
		memset(chunk, 'g', sizeof(chunk));
		for (int i = 0; i < 16; i++)
			if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				break;
	} else if (strcmp(a->what, "shrink") == 0) {
		if (ftruncate(fd, st.st_size / 2) != 0)
			fprintf(stderr, "TAPEVAULT_TEST_WRITE: %s: cannot shrink\n", abs);
	} else if (strcmp(a->what, "touch") == 0) {
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		ts[1].tv_sec += 1;
		if (futimens(fd, ts) != 0)
			fprintf(stderr, "TAPEVAULT_TEST_WRITE: %s: cannot touch\n", abs);
	}
	close(fd);
}

static void on_open(const char *path, uint64_t done)
{
	const char *base = strrchr(path, '/');
	char abs[4200];

	base = base != NULL ? base + 1 : path;
	for (int i = 0; i < nactions; i++) {
		int mid = strncmp(actions[i].what, "mid", 3) == 0;
		if (actions[i].done || strcmp(actions[i].name, base) != 0)
			continue;
		if (mid ? done < (1u << 20) : done != 0)
			continue;
		if (mid) {
			actions[i].done = 1;
			raise(strcmp(actions[i].what, "midint") == 0    ? SIGINT
			      : strcmp(actions[i].what, "midterm") == 0 ? SIGTERM
			                                                : SIGKILL);
			continue;
		}
		actions[i].done = 1;
		snprintf(abs, sizeof(abs), "/%s", path);   /* stored paths lack the '/' */
		act(&actions[i], abs);
	}
}

__attribute__((constructor)) static void install(void)
{
	const char *spec = getenv("TAPEVAULT_TEST_WRITE");
	char buf[2048], *save = NULL, *tok;

	if (spec == NULL || *spec == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok != NULL && nactions < MAX_ACTIONS;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		struct action *a = &actions[nactions];
		if (eq == NULL || (size_t)(eq - tok) >= sizeof(a->what)) {
			fprintf(stderr, "TAPEVAULT_TEST_WRITE: bad action '%s'\n", tok);
			exit(2);
		}
		memcpy(a->what, tok, (size_t)(eq - tok));
		a->what[eq - tok] = '\0';
		snprintf(a->name, sizeof(a->name), "%s", eq + 1);
		if (strcmp(a->what, "grow") && strcmp(a->what, "shrink") && strcmp(a->what, "touch") &&
		    strcmp(a->what, "sigint") && strcmp(a->what, "sigterm") &&
		    strcmp(a->what, "midint") && strcmp(a->what, "midterm") &&
		    strcmp(a->what, "midkill")) {
			fprintf(stderr, "TAPEVAULT_TEST_WRITE: unknown action '%s'\n", a->what);
			exit(2);
		}
		nactions++;
	}
	tv_write_test_hook = on_open;
}
