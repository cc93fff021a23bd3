/* tapevault: a directory's entries stat'ed ahead, on a helper thread
 * (prestat.h).
 *
 * A chunk is taken by moving the batch's `next` counter past it (either
 * thread), stat'ed, stamped and then flagged done (release; the walk
 * reads the flag with acquire before the results).  The helper serves the
 * innermost batch (the one the walk needs next), looking again after each
 * chunk; `users` under the mutex tells pop when the helper is out of a
 * batch.  A batch's results go to the room of its depth, grown when a
 * directory holds more entries than any before it at that depth.  The
 * helper blocks every signal: they stay the walking thread's. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs/prestat.h"
#include "util/err.h"

/* The results of one depth's batch, kept for the next one there. */
struct room {
	struct stat *st;
	int *err;
	size_t cap;
	atomic_uchar *done;
	time_t *when;
	size_t ccap;
};

struct tv_prestat {
	pthread_t th;
	int started;                 /* the helper runs */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_idle;
	struct tv_pbatch *top;       /* the innermost batch */
	int quit;
	struct room *rooms;          /* one per depth of the walk */
	size_t nrooms;
};

static time_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static size_t chunks(size_t n)
{
	return (n + TV_PRESTAT_CHUNK - 1) / TV_PRESTAT_CHUNK;
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

int tv_prestat_new(struct tv_prestat **out, int helper)
{
	struct tv_prestat *p = calloc(1, sizeof(*p));
	sigset_t all, old;

	if ((*out = p) == NULL)
		return TV_ERR_NOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_idle, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	p->started = helper && pthread_create(&p->th, NULL, helper_main, p) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;   /* without the helper, the walking thread does it all */
}

void tv_prestat_free(struct tv_prestat *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_signal(&p->cv_work);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	for (size_t k = 0; k < p->nrooms; k++) {
		free(p->rooms[k].st);
		free(p->rooms[k].err);
		free((void *)p->rooms[k].done);
		free(p->rooms[k].when);
	}
	free(p->rooms);
	pthread_cond_destroy(&p->cv_idle);
	pthread_cond_destroy(&p->cv_work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* The room of depth `depth`, for n results. */
static struct room *room_get(struct tv_prestat *p, int depth, size_t n)
{
	struct room *m;

	if ((size_t)depth >= p->nrooms) {
		size_t nn = (size_t)depth + 16;
		struct room *nr = realloc(p->rooms, nn * sizeof(*nr));
		if (nr == NULL)
			return NULL;
		memset(nr + p->nrooms, 0, (nn - p->nrooms) * sizeof(*nr));
		p->rooms = nr;
		p->nrooms = nn;
	}
	m = &p->rooms[depth];
	if (n > m->cap) {
		size_t c = n < 256 ? 256 : n;
		struct stat *st = realloc(m->st, c * sizeof(*st));
		int *err;
		if (st == NULL)
			return NULL;
		m->st = st;
		if ((err = realloc(m->err, c * sizeof(*err))) == NULL)
			return NULL;
		m->err = err;
		m->cap = c;
	}
	if (chunks(m->cap) > m->ccap) {
		size_t c = chunks(m->cap);
		atomic_uchar *done = realloc((void *)m->done, c * sizeof(*done));
		time_t *when;
		if (done == NULL)
			return NULL;
		m->done = done;
		if ((when = realloc(m->when, c * sizeof(*when))) == NULL)
			return NULL;
		m->when = when;
		m->ccap = c;
	}
	return m;
}

int tv_prestat_push(struct tv_prestat *p, struct tv_pbatch *b, int depth, int dfd,
                    char *const *names, size_t n)
{
	struct room *m = room_get(p, depth, n);

	if (m == NULL)
		return TV_ERR_NOMEM;
	b->dfd = dfd;
	b->hdfd = -1;
	b->names = names;
	b->n = n;
	b->st = m->st;
	b->err = m->err;
	b->done = m->done;
	b->when = m->when;
	b->users = 0;
	for (size_t c = 0; c < chunks(n); c++)
		atomic_init(&b->done[c], 0);
	atomic_init(&b->next, 0);
	/* a descriptor of the helper's own: two threads using one open
	 * directory share its reference count, a cache line that bounces
	 * between them on every stat */
	if (p->started && n >= 4 * TV_PRESTAT_CHUNK)
		b->hdfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pthread_mutex_lock(&p->mu);
	b->outer = p->top;
	p->top = b;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

const struct stat *tv_prestat_get(struct tv_prestat *p, struct tv_pbatch *b, size_t i,
                                  int *err)
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
	if (coarse_now() - b->when[c] > TV_PRESTAT_FRESH)
		return NULL;
	*err = b->err[i];
	return &b->st[i];
}

void tv_prestat_pop(struct tv_prestat *p, struct tv_pbatch *b)
{
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
