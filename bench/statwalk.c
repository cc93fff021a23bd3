/* tapevault bench: the least an incremental can cost, as a baseline for
 * bench/incremental.sh.  Lists every directory of a tree (getdents) and
 * stats every entry (fstatat through the directory's descriptor, as the
 * write job does), the stats of each directory spread over THREADS
 * threads; decides nothing, stores nothing.  Prints the number of entries.
 *
 *   statwalk DIR [THREADS]        (THREADS default 2)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXT 16
#define CHUNK 32

static struct {
	pthread_barrier_t start, end;
	int dfd, quit;
	char **names;
	unsigned char *isdir;
	size_t n;
	atomic_size_t next;
} B;
static unsigned long long total;

static void stat_share(void)
{
	struct stat st;
	size_t i;

	while ((i = atomic_fetch_add(&B.next, CHUNK)) < B.n)
		for (size_t e = i + CHUNK < B.n ? i + CHUNK : B.n; i < e; i++)
			if (fstatat(B.dfd, B.names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
				B.isdir[i] = S_ISDIR(st.st_mode);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_barrier_wait(&B.start);
		if (B.quit)
			return NULL;
		stat_share();
		pthread_barrier_wait(&B.end);
	}
}

static void walk(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	char **names = NULL;
	unsigned char *isdir;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap && (names = realloc(names, (cap = cap ? 2 * cap : 256) *
		                                 sizeof(*names))) == NULL)
			exit(1);
		if ((names[n++] = strdup(de->d_name)) == NULL)
			exit(1);
	}
	if ((isdir = calloc(n + 1, 1)) == NULL)
		exit(1);
	B.dfd = dirfd(d);
	B.names = names;
	B.isdir = isdir;
	B.n = n;
	atomic_store(&B.next, 0);
	pthread_barrier_wait(&B.start);
	stat_share();
	pthread_barrier_wait(&B.end);
	total += n;
	for (size_t i = 0; i < n; i++) {
		if (isdir[i]) {
			int c = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (c >= 0)
				walk(c);
		}
		free(names[i]);
	}
	free(names);
	free(isdir);
	closedir(d);
}

int main(int argc, char **argv)
{
	pthread_t th[MAXT];
	int t = argc > 2 ? atoi(argv[2]) : 2, fd;

	if (argc < 2 || t < 1 || t > MAXT) {
		fprintf(stderr, "usage: statwalk DIR [THREADS (1-%d)]\n", MAXT);
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0) {
		perror(argv[1]);
		return 1;
	}
	pthread_barrier_init(&B.start, NULL, (unsigned)t);
	pthread_barrier_init(&B.end, NULL, (unsigned)t);
	for (int k = 1; k < t; k++)
		pthread_create(&th[k], NULL, worker, NULL);
	walk(fd);
	B.quit = 1;
	pthread_barrier_wait(&B.start);
	for (int k = 1; k < t; k++)
		pthread_join(th[k], NULL);
	printf("%llu\n", total);
	return 0;
}
