/* tapevault: a directory's entries stat'ed ahead, on a helper thread
 * (prestat.h).
 *
 * A chunk is taken by moving the batch's `next` counter past it (either
 * thread), stat'ed, stamped and then flagged done (release; the walk
 * reads the flag with acquire before the results).  The helper serves the
 * innermost batch (the one the walk needs next), looking again after each
 * chunk; `users` under the mutex tells pop when the helper is out of a
 * batch.  The helper blocks every signal: they stay the walking
 * thread's. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "jobs/prestat.h"

struct tv_prestat {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_idle;
	struct tv_pbatch *top;       /* the innermost batch */
	int quit;
};

static time_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* One chunk of b taken and done (through dfd): 0 when none was left. */
static int take_chunk(struct tv_pbatch *b, int dfd)
{
	size_t i = atomic_fetch_add(&b->next, TV_PRESTAT_CHUNK), end, c;

	if (i >= b->n)
		return 0;
	c = i / TV_PRESTAT_CHUNK;
	end = i + TV_PRESTAT_CHUNK < b->n ? i + TV_PRESTAT_CHUNK : b->n;
	for (; i < end; i++)
		b->err[i] = fstatat(dfd, b->names[i], &b->st[i], AT_SYMLINK_NOFOLLOW) != 0
		            ? errno : 0;
	b->when[c] = coarse_now();
	atomic_store_explicit(&b->done[c], 1, memory_order_release);
	return 1;
}

static void *helper_main(void *arg)
{
	struct tv_prestat *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->quit) {
		struct tv_pbatch *b = p->top;
		if (b == NULL || atomic_load(&b->next) >= b->n) {
			pthread_cond_wait(&p->cv_work, &p->mu);
			continue;
		}
		b->users++;
		pthread_mutex_unlock(&p->mu);
		take_chunk(b, b->hdfd >= 0 ? b->hdfd : b->dfd);
		pthread_mutex_lock(&p->mu);
		if (--b->users == 0)
			pthread_cond_broadcast(&p->cv_idle);
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
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&p->th, NULL, helper_main, p) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_cond_destroy(&p->cv_idle);
		pthread_cond_destroy(&p->cv_work);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return;   /* the walking thread does it all */
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

void tv_prestat_push(struct tv_prestat *p, struct tv_pbatch *b, int dfd, char *const *names,
                     size_t n, struct stat *st, int *err, atomic_uchar *done, time_t *when)
{
	b->dfd = dfd;
	b->names = names;
	b->n = n;
	b->st = st;
	b->err = err;
	b->done = done;
	b->when = when;
	b->users = 0;
	for (size_t c = 0; c < tv_prestat_chunks(n); c++)
		atomic_init(&done[c], 0);
	atomic_init(&b->next, 0);
	b->outer = NULL;
	b->hdfd = -1;
	if (p == NULL)
		return;
	/* a descriptor of the helper's own: two threads using one open
	 * directory share its reference count, a cache line that bounces
	 * between them on every stat */
	if (n >= 4 * TV_PRESTAT_CHUNK)
		b->hdfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pthread_mutex_lock(&p->mu);
	b->outer = p->top;
	p->top = b;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
}

void tv_prestat_wait(struct tv_prestat *p, struct tv_pbatch *b, size_t i)
{
	size_t c = i / TV_PRESTAT_CHUNK;

	(void)p;
	while (!atomic_load_explicit(&b->done[c], memory_order_acquire)) {
		/* the next chunk nobody has taken (this one, or one after it
		 * while the helper finishes this one); none left: the helper
		 * is a few stats from done */
		if (!take_chunk(b, b->dfd))
			sched_yield();
	}
}

void tv_prestat_pop(struct tv_prestat *p, struct tv_pbatch *b)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->top == b)
		p->top = b->outer;
	while (b->users > 0)
		pthread_cond_wait(&p->cv_idle, &p->mu);
	if (p->top != NULL)
		pthread_cond_signal(&p->cv_work);   /* the outer batch's rest */
	pthread_mutex_unlock(&p->mu);
	if (b->hdfd >= 0)
		close(b->hdfd);
}
