/* tapevault: capture and apply a file's metadata beyond stat (see
 * fsmeta.h).  Written by hand rather than on libarchive's disk layer:
 * archive_read_disk_entry_from_file costs 3 to 7 us more per file than
 * these calls (it also asks for file flags and probes ACLs per file),
 * which the small-file figures cannot afford. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "jobs/fsmeta.h"
#include "util/err.h"
#include "util/priv.h"

/* ---- name caches: id -> name (write), name -> id (restore) ---- */

struct nslot {
	char *name;
	uint32_t id;
	uint8_t used;
	uint8_t found;               /* by name: the name exists here */
};
struct ntab {
	struct nslot *t;
	size_t n, cap;               /* cap: a power of two */
	int by_name;
};

static uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return mix64(h);
}

static uint64_t key_hash(const struct ntab *t, uint32_t id, const char *name)
{
	return t->by_name ? hash_str(name) : mix64(id);
}

static struct nslot *nt_slot(struct ntab *t, uint32_t id, const char *name)
{
	size_t i = (size_t)key_hash(t, id, name) & (t->cap - 1);

	for (;; i = (i + 1) & (t->cap - 1)) {
		struct nslot *s = &t->t[i];
		if (!s->used)
			return s;
		if (t->by_name ? strcmp(s->name, name) == 0 : s->id == id)
			return s;
	}
}

static int nt_grow(struct ntab *t)
{
	struct ntab nt = { NULL, t->n, t->cap ? t->cap * 2 : 32, t->by_name };

	if ((nt.t = calloc(nt.cap, sizeof(*nt.t))) == NULL)
		return TV_ERR_NOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->t[i].used)
			*nt_slot(&nt, t->t[i].id, t->t[i].name) = t->t[i];
	free(t->t);
	*t = nt;
	return 0;
}

/* The slot for the key; *fresh when it was just made (the caller fills
 * it).  NULL when out of memory. */
static struct nslot *nt_get(struct ntab *t, uint32_t id, const char *name, int *fresh)
{
	struct nslot *s;

	*fresh = 0;
	if ((t->n + 1) * 2 > t->cap && nt_grow(t) != 0)
		return NULL;
	s = nt_slot(t, id, name);
	if (s->used)
		return s;
	if (t->by_name && (s->name = strdup(name)) == NULL)
		return NULL;
	s->used = 1;
	s->id = id;
	t->n++;
	*fresh = 1;
	return s;
}

static void nt_free(struct ntab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->t[i].name);
	free(t->t);
	memset(t, 0, sizeof(*t));
}

/* ---- the job's state ---- */

struct region {
	uint64_t start, len;
};

struct tv_fsmeta {
	struct tv_home *h;
	struct tv_fsmeta_opts o;
	uid_t euid;
	gid_t egid;
	int chown_ok;                /* root, or the service with CAP_CHOWN */
	struct ntab unames, gnames;  /* by id: the names here (capture) */
	struct ntab uids, gids;      /* by name: the ids here (restore) */
	struct ntab stored[2];       /* by id: a set's names (owner, group) */
	char *names;                 /* listxattr buffer */
	size_t names_cap;
	uint8_t *val;                /* getxattr buffer */
	size_t val_cap;
	char path[PATH_MAX + 64];    /* /proc/self/fd/N/NAME */
	struct region *reg;          /* sparse map being built */
	size_t nreg;
};

int tv_fsmeta_new(struct tv_fsmeta **out, struct tv_home *h, const struct tv_fsmeta_opts *o)
{
	struct tv_fsmeta *m;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return TV_ERR_NOMEM;
	m->h = h;
	if (o != NULL)
		m->o = *o;
	m->euid = geteuid();
	m->egid = getegid();
	m->chown_ok = tv_priv_can_chown();
	m->uids.by_name = m->gids.by_name = 1;
	*out = m;
	return 0;
}

void tv_fsmeta_free(struct tv_fsmeta *m)
{
	if (m == NULL)
		return;
	nt_free(&m->unames);
	nt_free(&m->gnames);
	nt_free(&m->uids);
	nt_free(&m->gids);
	nt_free(&m->stored[0]);
	nt_free(&m->stored[1]);
	free(m->names);
	free(m->val);
	free(m->reg);
	free(m);
}

/* ---- capture: names ---- */

static const char *id_name(struct ntab *t, uint32_t id, int group)
{
	int fresh;
	struct nslot *s = nt_get(t, id, NULL, &fresh);
	const char *n = NULL;

	if (s == NULL)
		return "";   /* out of memory: the name is left out, the id stays */
	if (fresh) {
		if (group) {
			struct group *gr = getgrgid((gid_t)id);
			n = gr != NULL ? gr->gr_name : NULL;
		} else {
			struct passwd *pw = getpwuid((uid_t)id);
			n = pw != NULL ? pw->pw_name : NULL;
		}
		if (n != NULL && strlen(n) < TV_OWNER_MAX)
			s->name = strdup(n);
	}
	return s->name != NULL ? s->name : "";
}

const char *tv_fsmeta_uname(struct tv_fsmeta *m, uid_t uid)
{
	return id_name(&m->unames, (uint32_t)uid, 0);
}

const char *tv_fsmeta_gname(struct tv_fsmeta *m, gid_t gid)
{
	return id_name(&m->gnames, (uint32_t)gid, 1);
}

/* ---- names kept per set ---- */

int tv_fsmeta_name_add(struct tv_fsmeta *m, int group, uint32_t id, const char *name)
{
	int fresh;
	struct nslot *s = nt_get(&m->stored[group != 0], id, NULL, &fresh);

	if (s == NULL)
		return TV_ERR_NOMEM;
	if (fresh && (s->name = strdup(name)) == NULL)
		return TV_ERR_NOMEM;
	return 0;
}

const char *tv_fsmeta_name_of(struct tv_fsmeta *m, int group, uint32_t id)
{
	struct ntab *t = &m->stored[group != 0];
	struct nslot *s;

	if (t->n == 0)
		return "";
	s = nt_slot(t, id, NULL);
	return s->used && s->name != NULL ? s->name : "";
}

int tv_fsmeta_names_each(struct tv_fsmeta *m, int (*fn)(void *ctx, int group, uint32_t id,
                                                         const char *name), void *ctx)
{
	for (int g = 0; g < 2; g++) {
		struct ntab *t = g ? &m->gnames : &m->unames;
		for (size_t i = 0; i < t->cap; i++) {
			int r;
			if (t->t[i].used && t->t[i].name != NULL &&
			    (r = fn(ctx, g, t->t[i].id, t->t[i].name)) != 0)
				return r;
		}
	}
	return 0;
}

/* ---- capture: extended attributes ---- */

static int grow(void **p, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	void *np;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return 0;
	if ((np = realloc(*p, n)) == NULL)
		return TV_ERR_NOMEM;
	*p = np;
	*cap = n;
	return 0;
}

/* The item's path for the l*xattr calls: name itself from the current
 * directory, else through the directory's descriptor. */
static const char *item_path(struct tv_fsmeta *m, int dfd, const char *name)
{
	if (dfd == AT_FDCWD || name[0] == '/')
		return name;
	snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d/%s", dfd, name);
	return m->path;
}

/* The names, NUL-separated: the size first (the kernel allocates as big
 * a buffer as it is given for every call; most files have none), then
 * the names when there are any. */
static ssize_t list_names(struct tv_fsmeta *m, int fd, const char *path)
{
	for (;;) {
		ssize_t n = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
		if (n <= 0)
			return n;
		if (grow((void **)&m->names, &m->names_cap, (size_t)n + 1) != 0) {
			errno = ENOMEM;
			return -1;
		}
		n = fd >= 0 ? flistxattr(fd, m->names, m->names_cap)
		            : llistxattr(path, m->names, m->names_cap);
		if (n >= 0 || errno != ERANGE)
			return n;   /* ERANGE: one was added since: again */
	}
}

static ssize_t get_value(struct tv_fsmeta *m, int fd, const char *path, const char *name)
{
	for (;;) {
		ssize_t n = fd >= 0 ? fgetxattr(fd, name, m->val, m->val_cap)
		                    : lgetxattr(path, name, m->val, m->val_cap);
		if (n >= 0 || errno != ERANGE)
			return n;
		n = fd >= 0 ? fgetxattr(fd, name, NULL, 0) : lgetxattr(path, name, NULL, 0);
		if (n < 0)
			return n;
		if (grow((void **)&m->val, &m->val_cap, (size_t)n + 1) != 0) {
			errno = ENOMEM;
			return -1;
		}
	}
}

int tv_fsmeta_xattrs(struct tv_fsmeta *m, int fd, int dfd, const char *name,
                     const char *src, struct tv_buf *list, uint64_t *problems)
{
	const char *path = fd >= 0 ? NULL : item_path(m, dfd, name);
	ssize_t n;
	int r;

	tv_buf_reset(list);
	if (m->o.no_xattrs)
		return 0;
	/* a buffer of size 0 would ask for sizes only */
	if ((m->names_cap == 0 && grow((void **)&m->names, &m->names_cap, 4096) != 0) ||
	    (m->val_cap == 0 && grow((void **)&m->val, &m->val_cap, 4096) != 0))
		return TV_ERR_NOMEM;
	n = list_names(m, fd, path);
	if (n <= 0) {
		if (n < 0 && errno == ENOMEM)
			return TV_ERR_NOMEM;
		if (n < 0 && errno != ENOTSUP && errno != ENOSYS && errno != ENOENT) {
			tv_warn(m->h, "%s: cannot list its extended attributes: %s (stored "
			        "without them)", src, strerror(errno));
			(*problems)++;
		}
		return 0;
	}
	for (size_t o = 0; o < (size_t)n;) {
		const char *xn = m->names + o;
		size_t l = strnlen(xn, (size_t)n - o);
		ssize_t v;
		if (l == (size_t)n - o)
			break;      /* not NUL-terminated: not a name */
		o += l + 1;
		if (l == 0)
			continue;
		if ((v = get_value(m, fd, path, xn)) < 0) {
			if (errno == ENOMEM)
				return TV_ERR_NOMEM;
			if (errno == ENODATA)
				continue;   /* removed since it was listed */
			tv_warn(m->h, "%s: cannot read extended attribute %s: %s (stored without "
			        "it)", src, xn, strerror(errno));
			(*problems)++;
			continue;
		}
		if ((r = tv_xattr_put(list, xn, m->val, (size_t)v)) != 0) {
			if (r == TV_ERR_NOMEM)
				return r;
			tv_warn(m->h, "%s: %s (stored without it)", src, tv_errmsg(r));
			(*problems)++;
		}
	}
	if (tv_buf_avail(list) > TV_XATTR_LIST_MAX) {
		tv_warn(m->h, "%s: its extended attributes take %zu bytes, over the limit of %u "
		        "(stored without them)", src, tv_buf_avail(list), TV_XATTR_LIST_MAX);
		(*problems)++;
		tv_buf_reset(list);
	}
	return 0;
}

/* ---- capture: sparse files ---- */

/* Merges the regions whose gap is under gap (filling those holes in). */
static void regions_merge(struct tv_fsmeta *m, uint64_t gap)
{
	size_t k = 0;

	for (size_t i = 1; i < m->nreg; i++) {
		struct region *a = &m->reg[k], *b = &m->reg[i];
		if (b->start - (a->start + a->len) < gap)
			a->len = b->start + b->len - a->start;
		else
			m->reg[++k] = *b;
	}
	if (m->nreg > 0)
		m->nreg = k + 1;
}

/* Appends a region; past TV_SPARSE_MAX the smallest holes are filled in,
 * by a gap threshold that doubles. */
static void region_add(struct tv_fsmeta *m, uint64_t *gap, uint64_t start, uint64_t len)
{
	if (m->nreg > 0) {
		struct region *last = &m->reg[m->nreg - 1];
		if (start - (last->start + last->len) < *gap) {
			last->len = start + len - last->start;
			return;
		}
	}
	while (m->nreg == TV_SPARSE_MAX) {
		*gap = *gap ? *gap * 2 : 4096;
		regions_merge(m, *gap);
	}
	m->reg[m->nreg].start = start;
	m->reg[m->nreg].len = len;
	m->nreg++;
}

int tv_fsmeta_sparse(struct tv_fsmeta *m, int fd, const struct stat *sb,
                     struct tv_buf *map, int *sparse, uint64_t *data)
{
	uint64_t size = (uint64_t)sb->st_size, pos = 0, gap = 0, sum = 0;
	off_t d, hole;
	int r;

	*sparse = 0;
	*data = size;
	tv_buf_reset(map);
	if (size == 0 || (uint64_t)sb->st_blocks * 512 >= size)
		return 0;   /* its blocks cover it: no hole, no system call */
	hole = lseek(fd, 0, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole >= size)
		goto dense;   /* no hole (compressed or inline data), or cannot tell */
	if (m->reg == NULL && (m->reg = malloc(TV_SPARSE_MAX * sizeof(*m->reg))) == NULL)
		return TV_ERR_NOMEM;
	m->nreg = 0;
	while (pos < size) {
		if ((d = lseek(fd, (off_t)pos, SEEK_DATA)) < 0) {
			if (errno == ENXIO)
				break;   /* only a hole from here on */
			goto dense;
		}
		if ((uint64_t)d >= size)
			break;
		if ((hole = lseek(fd, d, SEEK_HOLE)) < 0)
			goto dense;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		if (hole <= d)
			goto dense;   /* the file changed under us */
		region_add(m, &gap, (uint64_t)d, (uint64_t)(hole - d));
		pos = (uint64_t)hole;
	}
	for (size_t i = 0; i < m->nreg; i++)
		sum += m->reg[i].len;
	if (sum >= size)
		goto dense;
	for (size_t i = 0; i < m->nreg; i++)
		if ((r = tv_sparse_put(map, m->reg[i].start, m->reg[i].len)) != 0)
			return r;
	lseek(fd, 0, SEEK_SET);
	*sparse = 1;
	*data = sum;
	return 0;
dense:
	lseek(fd, 0, SEEK_SET);
	tv_buf_reset(map);
	return 0;
}

/* ---- apply: owners ---- */

static uint32_t name_id(struct tv_fsmeta *m, struct ntab *t, const char *name,
                        uint64_t stored, int group)
{
	struct nslot *s;
	int fresh;

	if (m->o.numeric_owner || name == NULL || name[0] == '\0')
		return (uint32_t)stored;
	if ((s = nt_get(t, 0, name, &fresh)) == NULL)
		return (uint32_t)stored;
	if (fresh) {
		if (group) {
			struct group *gr = getgrnam(name);
			if (gr != NULL) {
				s->id = (uint32_t)gr->gr_gid;
				s->found = 1;
			}
		} else {
			struct passwd *pw = getpwnam(name);
			if (pw != NULL) {
				s->id = (uint32_t)pw->pw_uid;
				s->found = 1;
			}
		}
	}
	return s->found ? s->id : (uint32_t)stored;
}

uid_t tv_fsmeta_uid(struct tv_fsmeta *m, const char *uname, uint64_t uid)
{
	return (uid_t)name_id(m, &m->uids, uname, uid, 0);
}

gid_t tv_fsmeta_gid(struct tv_fsmeta *m, const char *gname, uint64_t gid)
{
	return (gid_t)name_id(m, &m->gids, gname, gid, 1);
}

/* ---- apply: the item ---- */

#define XATTR_CAPS "security.capability"

/* One pass over the list: the capabilities (caps = 1) or everything else. */
static int set_xattrs(struct tv_fsmeta *m, int fd, const struct tv_fsmeta_item *it,
                      int caps, int *refused)
{
	struct tv_buf b;
	struct tv_xattr x;
	int r;

	tv_buf_view(&b, it->xattrs, it->xattrs_len);
	while ((r = tv_xattr_next(&b, &x)) == 1) {
		int rc;
		if ((strcmp(x.name, XATTR_CAPS) == 0) != caps)
			continue;
		rc = fd >= 0 ? fsetxattr(fd, x.name, x.value, x.len, 0)
		             : lsetxattr(it->path, x.name, x.value, x.len, 0);
		if (rc != 0) {
			tv_warn(m->h, "%s: extended attribute %s not restored: %s%s", it->path,
			        x.name, strerror(errno), errno == EPERM && !m->chown_ok ?
			        " (as root it would be)" : errno == ENOTSUP ?
			        " (the file system does not take it)" : "");
			(*refused)++;
		}
	}
	return r;
}

static int set_mode(int fd, const char *path, uint64_t mode)
{
	return fd >= 0 ? fchmod(fd, (mode_t)(mode & 07777))
	               : chmod(path, (mode_t)(mode & 07777));
}

static void set_owner_mode(struct tv_fsmeta *m, int fd, const struct tv_fsmeta_item *it)
{
	int link = it->ftype == TV_FT_SYMLINK;

	if (m->chown_ok) {
		uid_t u = tv_fsmeta_uid(m, it->uname, it->uid);
		gid_t g = tv_fsmeta_gid(m, it->gname, it->gid);
		/* a file made by this process already has its owner */
		if ((fd < 0 || u != m->euid || g != m->egid) &&
		    (fd >= 0 ? fchown(fd, u, g) : lchown(it->path, u, g)) != 0)
			tv_warn(m->h, "%s: cannot set owner: %s", it->path, strerror(errno));
	}
	if (link)
		return;
	/* a file made by this process has its permission bits (umask 0); the
	 * setuid and setgid bits go with a change of owner */
	if (fd >= 0 && !(it->mode & 07000))
		return;
	if (set_mode(fd, it->path, it->mode) != 0)
		tv_warn(m->h, "%s: cannot set mode: %s", it->path, strerror(errno));
}

int tv_fsmeta_apply(struct tv_fsmeta *m, int fd, const struct tv_fsmeta_item *it)
{
	struct timespec ts[2];
	int refused = 0, r = 0;
	int xa = !m->o.no_xattrs && it->xattrs_len > 0;
	/* an ordinary user may set user.* xattrs only on what it may write:
	 * a read-only item is writable for that moment (its mode, ACL mask
	 * included, is the stored one again after) */
	int wtmp = xa && !m->chown_ok && it->ftype != TV_FT_SYMLINK && !(it->mode & 0200);

	set_owner_mode(m, fd, it);
	if (wtmp && set_mode(fd, it->path, it->mode | 0200) != 0)
		wtmp = 0;
	if (xa && ((r = set_xattrs(m, fd, it, 0, &refused)) < 0 ||
	           (r = set_xattrs(m, fd, it, 1, &refused)) < 0)) {
		if (wtmp)
			set_mode(fd, it->path, it->mode);
		return tv_errctx(r, "%s", it->path);
	}
	if (wtmp && set_mode(fd, it->path, it->mode) != 0)
		tv_warn(m->h, "%s: cannot set mode: %s", it->path, strerror(errno));
	ts[0].tv_sec = (time_t)it->mtime_sec;
	ts[0].tv_nsec = (long)it->mtime_nsec;
	ts[1] = ts[0];
	if ((fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, it->path, ts,
	                                            AT_SYMLINK_NOFOLLOW)) != 0)
		tv_warn(m->h, "%s: cannot set times: %s", it->path, strerror(errno));
	return refused;
}

int tv_fsmeta_mknod(int dfd, const char *name, const char *full, enum tv_ftype t,
                    uint64_t mode, uint64_t major, uint64_t minor)
{
	mode_t kind = t == TV_FT_FIFO ? S_IFIFO : t == TV_FT_CHR ? S_IFCHR : S_IFBLK;
	dev_t dev = t == TV_FT_FIFO ? 0 : makedev((unsigned)major, (unsigned)minor);

	if (mknodat(dfd, name, kind | (mode_t)(mode & 07777), dev) == 0)
		return 0;
	if (errno == EPERM && t != TV_FT_FIFO)
		return tv_errf(TV_ERR_PERM, "%s: a %s (%llu:%llu): only root can make one (not "
		               "restored)", full, tv_ftype_name(t), (unsigned long long)major,
		               (unsigned long long)minor);
	return tv_errf(errno == ENOSPC || errno == EDQUOT ? TV_ERR_NOSPC : TV_ERR_IO,
	               "%s: cannot make the %s: %s", full, tv_ftype_name(t), strerror(errno));
}
