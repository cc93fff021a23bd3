/* tapevault: the tree an incremental compares with (ptree.h).
 *
 * Items.  An item is known by a 64-bit XXH3 hash of its path with a random
 * per-job seed, not by the path: 64 bytes an item and no copy of a path,
 * which halves the time a tree of 1M items takes to load.  The row it
 * came from (its set's place in the chain, its index in that set) gives
 * the path back when it is needed: for the items recorded as deleted.
 * Two paths of one hash (2^-64 a pair, and unknowable without the seed)
 * share an entry: a file then compared with the other's recorded state
 * (another inode, another change time) is stored again, never skipped; at
 * worst a deleted path is not recorded as deleted.
 *
 * Tables.  The items are one dense array; a table of 32-bit item numbers
 * (open addressing on the hash) is made only when an item must be looked
 * up rather than met in order.
 *
 * Loading.  A thread of its own: first the later sets of the chain,
 * newest first, into a small table where the first word on a path wins
 * (a stored row or a deletion: the newest set's); then the full's rows in
 * their order (the order the walk meets them, names sorted), each merged
 * with the later sets' word on its path and appended to the array, which
 * was sized beforehand and never moves while the walk reads it; the walk
 * reads items below `avail` (published with release).  Last, the later
 * sets' items the full did not have.  Rows beyond the room go to a side
 * array the walking thread appends once the loading is over.  Errors are
 * carried to the walking thread with their text (the detail of an error
 * is thread-local). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "catalog/catalog.h"
#include "crypto/rand.h"
#include "format/format.h"
#include "jobs/ptree.h"
#include "util/err.h"
#include "util/progress.h"

#define ROW_SHIFT 48             /* row: chain place << ROW_SHIFT | idx */
#define PUBLISH_EVERY 4096       /* rows between two wake-ups of a waiting walk */

struct pent {
	uint64_t id;                 /* the path's keyed hash */
	uint64_t row;
	int64_t size, mtime, ctime;
	uint64_t ino;
	uint32_t mtime_ns, ctime_ns;
	uint8_t ftype;
	uint8_t known;               /* ctime and inode recorded, not changed while read */
	uint8_t present;             /* 0: deleted by a later set of the chain */
	uint8_t seen;                /* met by the walk (in the overlay: merged) */
};

struct ptab {
	struct pent *e;
	size_t n, ecap;
	uint32_t *idx;               /* item + 1, 0 free; cap slots, at most 3/4 full */
	size_t cap;
};

struct tv_ptree {
	struct tv_db *db;
	uint64_t seed;
	int64_t *chain;              /* the full first */
	size_t nchain;
	struct ptab t;               /* the tree */
	struct ptab ov;              /* the later sets' word on their paths (loading only) */
	struct pent *side;           /* rows beyond the room (appended by the walk) */
	size_t nside, sidecap;
	size_t next;                 /* the item the walk likely meets next */
	/* the loading */
	pthread_t th;
	int started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_size_t avail;         /* t.e[0 .. avail) are final */
	int done;                    /* under mu */
	atomic_int stop;
	int result;
	char msg[512];
	double secs;
};

static uint64_t path_id(const struct tv_ptree *pt, const char *path)
{
	return XXH3_64bits_withSeed(path, strlen(path), pt->seed);
}

/* ---- the tables ---- */

/* The pages of [p, p + len) made present at once: faulted in one at a
 * time as the tree loads they cost several times more (a kernel without
 * MADV_POPULATE_WRITE faults them later). */
static void prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), b = ((uintptr_t)p + len) & ~(pg - 1);

	if (len >= ((size_t)1 << 20) && b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

/* Room for n items (the array may move). */
static int tab_room(struct ptab *t, size_t n)
{
	struct pent *ne;

	if (n > UINT32_MAX - 1)
		return tv_errf(TV_ERR_RANGE, "incremental: more than 2^32 items in the parent's tree");
	if (n <= t->ecap)
		return 0;
	if ((ne = realloc(t->e, n * sizeof(*ne))) == NULL)
		return TV_ERR_NOMEM;
	prefault(ne + t->ecap, (n - t->ecap) * sizeof(*ne));
	t->e = ne;
	t->ecap = n;
	return 0;
}

static size_t tab_slot(const struct ptab *t, uint64_t id)
{
	size_t i = (size_t)id & (t->cap - 1);

	while (t->idx[i] != 0 && t->e[t->idx[i] - 1].id != id)
		i = (i + 1) & (t->cap - 1);
	return i;
}

/* The table over every item, for a count of up to `want` items. */
static int tab_index(struct ptab *t, size_t want)
{
	size_t cap = 1024;
	uint32_t *ni;

	if (want < t->n)
		want = t->n;
	while (want * 4 > cap * 3)
		cap *= 2;
	if (t->idx != NULL && cap == t->cap)
		return 0;
	if ((ni = calloc(cap, sizeof(*ni))) == NULL)
		return TV_ERR_NOMEM;
	free(t->idx);
	t->idx = ni;
	t->cap = cap;
	for (size_t k = 0; k < t->n; k++) {
		size_t i = (size_t)t->e[k].id & (cap - 1);
		while (ni[i] != 0)
			i = (i + 1) & (cap - 1);
		ni[i] = (uint32_t)(k + 1);
	}
	return 0;
}

static struct pent *tab_find(const struct ptab *t, uint64_t id)
{
	size_t i;

	if (t->idx == NULL)
		return NULL;
	i = tab_slot(t, id);
	return t->idx[i] != 0 ? &t->e[t->idx[i] - 1] : NULL;
}

/* The item of id in an indexed table, added blank (seen 0) when new;
 * *isnew says which. */
static int tab_get(struct ptab *t, uint64_t id, struct pent **out, int *isnew)
{
	size_t i;
	int r;

	if ((t->n + 1) * 4 > t->cap * 3 && (r = tab_index(t, (t->n + 1) * 2)) != 0)
		return r;
	i = tab_slot(t, id);
	*isnew = t->idx[i] == 0;
	if (!*isnew) {
		*out = &t->e[t->idx[i] - 1];
		return 0;
	}
	if (t->n == t->ecap && (r = tab_room(t, t->ecap ? t->ecap * 2 : 1024)) != 0)
		return r;
	*out = &t->e[t->n];
	memset(*out, 0, sizeof(**out));
	(*out)->id = id;
	t->idx[i] = (uint32_t)(++t->n);
	return 0;
}

static void tab_free(struct ptab *t)
{
	free(t->e);
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

/* ---- loading ---- */

/* The state of a files row (columns 2..10 of the queries below). */
static void row_state(struct tv_stmt *q, struct pent *e)
{
	e->present = 1;
	e->ftype = (uint8_t)tv_stmt_int(q, 2);
	e->size = tv_stmt_int(q, 3);
	e->mtime = tv_stmt_int(q, 4);
	e->mtime_ns = (uint32_t)tv_stmt_int(q, 5);
	e->ctime = tv_stmt_int(q, 6);
	e->ctime_ns = (uint32_t)tv_stmt_int(q, 7);
	e->ino = (uint64_t)tv_stmt_int(q, 8);
	e->known = tv_stmt_int(q, 9) == 0 && tv_stmt_int(q, 10) != 0;
}

#define FILES_SQL "SELECT idx, path, ftype, size, mtime_sec, mtime_nsec, ctime_sec," \
	" ctime_nsec, ino, changed, ctime_sec IS NOT NULL AND ino IS NOT NULL FROM files" \
	" WHERE set_id=?"

static int row_of(struct tv_stmt *q, size_t k, uint64_t *row)
{
	uint64_t idx = (uint64_t)tv_stmt_int(q, 0);

	if (idx >> ROW_SHIFT != 0)
		return tv_errf(TV_ERR_FORMAT, "catalog: item index %llu of a set is out of range",
		               (unsigned long long)idx);
	*row = (uint64_t)k << ROW_SHIFT | idx;
	return 0;
}

/* The later sets (k = nchain-1 .. 1) into ov: the first word on a path,
 * the newest set's, stands (a row: its state; a deletion: not present). */
static int load_later(struct tv_ptree *pt)
{
	struct tv_stmt *q;
	struct pent *e;
	int r = 0, isnew;

	for (size_t k = pt->nchain; k-- > 1 && r == 0;) {
		if ((r = tv_db_query(pt->db, &q, FILES_SQL, "i", pt->chain[k])) != 0)
			return r;
		while ((r = tv_stmt_step(q)) == 1) {
			uint64_t row = 0;
			if ((r = row_of(q, k, &row)) != 0 ||
			    (r = tab_get(&pt->ov, path_id(pt, tv_stmt_text(q, 1)), &e, &isnew)) != 0)
				break;
			if (isnew) {
				row_state(q, e);
				e->row = row;
			}
		}
		tv_stmt_free(q);
		if (r < 0)
			return r;
		if ((r = tv_db_query(pt->db, &q, "SELECT path FROM set_deleted WHERE set_id=?", "i",
		                     pt->chain[k])) != 0)
			return r;
		while ((r = tv_stmt_step(q)) == 1)
			if ((r = tab_get(&pt->ov, path_id(pt, tv_stmt_text(q, 0)), &e, &isnew)) != 0)
				break;   /* new: blank, not present */
		tv_stmt_free(q);
		if (r < 0)
			return r;
		r = 0;
	}
	return r;
}

/* One more item at the end of the tree, or of the side array once the
 * room is used (the array must not move while the walk reads it). */
static int append(struct tv_ptree *pt, const struct pent *src)
{
	if (pt->t.n < pt->t.ecap) {
		pt->t.e[pt->t.n++] = *src;
		if (pt->t.n % PUBLISH_EVERY == 0) {
			atomic_store_explicit(&pt->avail, pt->t.n, memory_order_release);
			pthread_mutex_lock(&pt->mu);
			pthread_cond_broadcast(&pt->cv);
			pthread_mutex_unlock(&pt->mu);
		}
		return 0;
	}
	if (pt->nside == pt->sidecap) {
		size_t c = pt->sidecap ? pt->sidecap * 2 : 1024;
		struct pent *ns = realloc(pt->side, c * sizeof(*ns));
		if (ns == NULL)
			return TV_ERR_NOMEM;
		pt->side = ns;
		pt->sidecap = c;
	}
	pt->side[pt->nside++] = *src;
	return 0;
}

/* The full's rows in their order, each with the later sets' word on its
 * path; then what only the later sets hold. */
static int load_full(struct tv_ptree *pt)
{
	struct tv_stmt *q;
	struct pent e, *o;
	int r;

	if ((r = tv_db_query(pt->db, &q, FILES_SQL, "i", pt->chain[0])) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		if (atomic_load(&pt->stop)) {
			r = TV_ERR_INTERRUPTED;
			break;
		}
		memset(&e, 0, sizeof(e));
		e.id = path_id(pt, tv_stmt_text(q, 1));
		if ((o = tab_find(&pt->ov, e.id)) != NULL) {
			e = *o;   /* a later set stored it again, or deleted it */
			o->seen = 1;
		} else {
			if ((r = row_of(q, 0, &e.row)) != 0)
				break;
			row_state(q, &e);
		}
		e.seen = 0;
		if ((r = append(pt, &e)) != 0)
			break;
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	for (size_t k = 0; k < pt->ov.n; k++) {
		o = &pt->ov.e[k];
		if (o->present && !o->seen) {
			e = *o;
			e.seen = 0;
			if ((r = append(pt, &e)) != 0)
				return r;
		}
	}
	return 0;
}

static void *loader_main(void *arg)
{
	struct tv_ptree *pt = arg;
	double t0 = tv_mono();
	int r;

	if ((r = load_later(pt)) == 0)
		r = load_full(pt);
	pthread_mutex_lock(&pt->mu);
	pt->result = r;
	if (r != 0)
		snprintf(pt->msg, sizeof(pt->msg), "%s", tv_errdetail() ? tv_errdetail() : "");
	pt->secs = tv_mono() - t0;
	atomic_store_explicit(&pt->avail, pt->t.n, memory_order_release);
	pt->done = 1;
	pthread_cond_broadcast(&pt->cv);
	pthread_mutex_unlock(&pt->mu);
	return NULL;
}

int tv_ptree_start(struct tv_db *db, const int64_t *chain, size_t n, uint64_t rows,
                   struct tv_ptree **out)
{
	struct tv_ptree *pt;
	sigset_t all, old;
	int r;

	*out = NULL;
	if (n == 0 || n > ((size_t)1 << (64 - ROW_SHIFT)))
		return tv_errf(TV_ERR_INVAL, "incremental: a chain of %zu sets", n);
	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return TV_ERR_NOMEM;
	pt->db = db;
	pthread_mutex_init(&pt->mu, NULL);
	pthread_cond_init(&pt->cv, NULL);
	atomic_init(&pt->avail, 0);
	atomic_init(&pt->stop, 0);
	if ((pt->chain = malloc(n * sizeof(*pt->chain))) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	memcpy(pt->chain, chain, n * sizeof(*chain));
	pt->nchain = n;
	if ((r = tv_random(&pt->seed, sizeof(pt->seed))) != 0 ||
	    (r = tab_room(&pt->t, rows + 1 < SIZE_MAX / sizeof(struct pent) ? (size_t)rows + 1 : 1))
	    != 0 || (r = tab_index(&pt->ov, 0)) != 0)
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);   /* signals stay the walk's */
	if (pthread_create(&pt->th, NULL, loader_main, pt) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		r = tv_errf(TV_ERR_NOMEM, "incremental: cannot start the thread that loads the "
		            "parent's tree");
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pt->started = 1;
	*out = pt;
	return 0;
fail:
	tv_ptree_free(pt);
	return r;
}

/* The loading's error, on the calling thread, with its text. */
static int carried(const struct tv_ptree *pt)
{
	if (pt->result == 0)
		return 0;
	return pt->msg[0] ? tv_errf(pt->result, "%s", pt->msg) : pt->result;
}

/* The loading over, the side rows appended: the whole tree is the walk's. */
int tv_ptree_wait(struct tv_ptree *pt)
{
	int r;

	if (pt->joined)
		return carried(pt);
	pthread_join(pt->th, NULL);
	pt->joined = 1;
	if (pt->result == 0 && pt->nside > 0) {
		if ((r = tab_room(&pt->t, pt->t.n + pt->nside)) != 0) {
			pt->result = r;
			snprintf(pt->msg, sizeof(pt->msg), "out of memory for the parent's tree");
		} else {
			memcpy(pt->t.e + pt->t.n, pt->side, pt->nside * sizeof(*pt->side));
			pt->t.n += pt->nside;
		}
	}
	free(pt->side);
	pt->side = NULL;
	pt->nside = pt->sidecap = 0;
	tab_free(&pt->ov);
	return carried(pt);
}

/* The items published so far, at least `want` of them unless the loading
 * ends first. */
static size_t wait_avail(struct tv_ptree *pt, size_t want)
{
	size_t a = atomic_load_explicit(&pt->avail, memory_order_acquire);

	if (a >= want)
		return a;
	pthread_mutex_lock(&pt->mu);
	while ((a = atomic_load_explicit(&pt->avail, memory_order_acquire)) < want && !pt->done)
		pthread_cond_wait(&pt->cv, &pt->mu);
	pthread_mutex_unlock(&pt->mu);
	return a;
}

/* The entry type of a stat. */
static int ftype_of(const struct stat *sb)
{
	if (S_ISREG(sb->st_mode))
		return TV_FT_REG;
	if (S_ISDIR(sb->st_mode))
		return TV_FT_DIR;
	if (S_ISLNK(sb->st_mode))
		return TV_FT_SYMLINK;
	if (S_ISFIFO(sb->st_mode))
		return TV_FT_FIFO;
	if (S_ISCHR(sb->st_mode))
		return TV_FT_CHR;
	if (S_ISBLK(sb->st_mode))
		return TV_FT_BLK;
	return -1;
}

int tv_ptree_unchanged(struct tv_ptree *pt, const char *path, const struct stat *sb)
{
	uint64_t id = path_id(pt, path);
	struct pent *e = NULL;
	size_t a;
	int r;

	/* the walk meets the items in the order the full stored them (names
	 * sorted): the one after the last met is tried first, in order, and
	 * while the tree loads, the walk needs no more than that */
	a = pt->joined ? pt->t.n : wait_avail(pt, pt->next + 1);
	if (pt->next < a && pt->t.e[pt->next].id == id)
		e = &pt->t.e[pt->next];
	if (e == NULL) {
		/* not where the order says: looked up in the whole tree */
		if ((r = tv_ptree_wait(pt)) != 0 ||
		    (r = tab_index(&pt->t, pt->t.n)) != 0)
			return r;
		e = tab_find(&pt->t, id);
	}
	if (e == NULL)
		return 0;
	pt->next = (size_t)(e - pt->t.e) + 1;   /* (past a deleted one too: in order) */
	if (!e->present)
		return 0;
	e->seen = 1;
	if (!e->known || e->ftype != ftype_of(sb) || e->ino != (uint64_t)sb->st_ino ||
	    e->mtime != (int64_t)sb->st_mtim.tv_sec ||
	    e->mtime_ns != (uint32_t)sb->st_mtim.tv_nsec ||
	    e->ctime != (int64_t)sb->st_ctim.tv_sec ||
	    e->ctime_ns != (uint32_t)sb->st_ctim.tv_nsec)
		return 0;
	if (S_ISREG(sb->st_mode) && (sb->st_nlink > 1 || e->size != (int64_t)sb->st_size))
		return 0;
	return 1;
}

/* Whether an item of this id was met (a set that stored a path twice,
 * from a source given twice, has two items of it, both in the table). */
static int seen_any(const struct ptab *t, uint64_t id)
{
	for (size_t i = (size_t)id & (t->cap - 1); t->idx[i] != 0; i = (i + 1) & (t->cap - 1)) {
		const struct pent *e = &t->e[t->idx[i] - 1];
		if (e->seen && e->id == id)
			return 1;
	}
	return 0;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tv_ptree_deleted(struct tv_ptree *pt, char ***out, size_t *count)
{
	struct tv_stmt *q = NULL;
	char **paths = NULL;
	size_t n = 0, got = 0, kept = 0;
	int r;

	*out = NULL;
	*count = 0;
	if ((r = tv_ptree_wait(pt)) != 0)
		return r;
	for (size_t k = 0; k < pt->t.n; k++)
		n += pt->t.e[k].present && !pt->t.e[k].seen;
	if (n == 0)
		return 0;   /* nothing gone: no table needed */
	if ((r = tab_index(&pt->t, pt->t.n)) != 0)
		return r;
	if ((paths = calloc(n, sizeof(*paths))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_db_prepare(pt->db, &q, "SELECT path FROM files WHERE set_id=? AND idx=?"))
	    != 0)
		goto out;
	for (size_t k = 0; k < pt->t.n && r == 0; k++) {
		const struct pent *e = &pt->t.e[k];
		uint64_t set = e->row >> ROW_SHIFT;
		if (!e->present || e->seen || seen_any(&pt->t, e->id))
			continue;
		if (set >= pt->nchain)
			r = tv_errf(TV_ERR_INTERNAL, "incremental: an item of the parent's tree "
			            "from no set");
		else if ((r = tv_stmt_bind(q, "ii", pt->chain[set],
		                           (int64_t)(e->row & (((uint64_t)1 << ROW_SHIFT) - 1))))
		         == 0 && (r = tv_stmt_step(q)) == 1)
			r = (paths[got++] = strdup(tv_stmt_text(q, 0))) == NULL ? TV_ERR_NOMEM : 0;
		else if (r == 0)
			r = tv_errf(TV_ERR_STATE, "catalog: an item of set %lld is gone while an "
			            "incremental based on it runs", (long long)pt->chain[set]);
	}
	tv_stmt_free(q);
	if (r != 0)
		goto out;
	qsort(paths, got, sizeof(*paths), cmp_paths);
	for (size_t k = 0; k < got; k++) {
		if (kept > 0 && strcmp(paths[k], paths[kept - 1]) == 0) {
			free(paths[k]);   /* two items of one path, neither met */
			continue;
		}
		paths[kept++] = paths[k];
	}
	*out = paths;
	*count = kept;
	return 0;
out:
	for (size_t k = 0; k < got; k++)
		free(paths[k]);
	free(paths);
	return r;
}

uint64_t tv_ptree_items(const struct tv_ptree *pt)
{
	uint64_t n = 0;

	for (size_t k = 0; k < pt->t.n; k++)
		n += pt->t.e[k].present;
	return n;
}

double tv_ptree_load_seconds(const struct tv_ptree *pt)
{
	return pt->secs;
}

void tv_ptree_free(struct tv_ptree *pt)
{
	if (pt == NULL)
		return;
	if (pt->started && !pt->joined) {
		atomic_store(&pt->stop, 1);
		pthread_join(pt->th, NULL);
	}
	tab_free(&pt->t);
	tab_free(&pt->ov);
	free(pt->side);
	free(pt->chain);
	pthread_cond_destroy(&pt->cv);
	pthread_mutex_destroy(&pt->mu);
	free(pt);
}
