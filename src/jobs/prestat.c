/* tapevault: a directory's entries stat'ed on two threads (prestat.h).
 *
 * The batch is published under the mutex; both threads then take chunks
 * of CHUNK entries from an atomic counter until none is left.  The caller
 * returns once the helper has left the batch, so the arrays it wrote are
 * complete and the next batch cannot be mixed with this one.  The helper
 * blocks every signal: they stay the calling thread's. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "jobs/prestat.h"

#define CHUNK 32
#define SMALL 64   /* a batch smaller than this is not worth a wake-up */

struct tv_prestat {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_idle;
	unsigned gen;          /* batches published */
	int busy;              /* the helper is inside a batch */
	int quit;
	/* the batch */
	int dfd;
	char *const *names;
	size_t n;
	struct stat *st;
	int *err;
	atomic_size_t next;
};

static void stat_chunks(struct tv_prestat *p, int dfd, char *const *names, size_t n,
                        struct stat *st, int *err)
{
	size_t i;

	while ((i = atomic_fetch_add(&p->next, CHUNK)) < n) {
		size_t end = i + CHUNK < n ? i + CHUNK : n;
		for (; i < end; i++)
			err[i] = fstatat(dfd, names[i], &st[i], AT_SYMLINK_NOFOLLOW) != 0 ? errno : 0;
	}
}

static void *helper_main(void *arg)
{
	struct tv_prestat *p = arg;
	unsigned seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		int dfd;
		char *const *names;
		size_t n;
		struct stat *st;
		int *err;

		while (p->gen == seen && !p->quit)
			pthread_cond_wait(&p->cv_work, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		p->busy = 1;
		dfd = p->dfd;
		names = p->names;
		n = p->n;
		st = p->st;
		err = p->err;
		pthread_mutex_unlock(&p->mu);
		stat_chunks(p, dfd, names, n, st, err);
		pthread_mutex_lock(&p->mu);
		p->busy = 0;
		pthread_cond_signal(&p->cv_idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

void tv_prestat_new(struct tv_prestat **out)
{
	struct tv_prestat *p = calloc(1, sizeof(*p));
	sigset_t all, old;

	*out = NULL;
	if (p == NULL)
		return;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_idle, NULL);
	atomic_init(&p->next, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&p->th, NULL, helper_main, p) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_cond_destroy(&p->cv_idle);
		pthread_cond_destroy(&p->cv_work);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return;   /* one thread does it all */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = p;
}

void tv_prestat_free(struct tv_prestat *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	pthread_cond_destroy(&p->cv_idle);
	pthread_cond_destroy(&p->cv_work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void tv_prestat_run(struct tv_prestat *p, int dfd, char *const *names, size_t n,
                    struct stat *st, int *err)
{
	if (p == NULL || n < SMALL) {
		for (size_t i = 0; i < n; i++)
			err[i] = fstatat(dfd, names[i], &st[i], AT_SYMLINK_NOFOLLOW) != 0 ? errno : 0;
		return;
	}
	pthread_mutex_lock(&p->mu);
	while (p->busy)   /* still in an earlier batch (it found nothing left) */
		pthread_cond_wait(&p->cv_idle, &p->mu);
	p->dfd = dfd;
	p->names = names;
	p->n = n;
	p->st = st;
	p->err = err;
	atomic_store(&p->next, 0);
	p->gen++;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	stat_chunks(p, dfd, names, n, st, err);
	pthread_mutex_lock(&p->mu);
	/* the helper may not have woken for this batch yet: then it will find
	 * nothing left, but the next batch must wait until it has looked */
	while (p->busy)
		pthread_cond_wait(&p->cv_idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
