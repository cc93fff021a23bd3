/* tapevault: the backup-to-tape job.
 *
 * Walks the source paths (directory by directory, names sorted, through
 * directory descriptors) and writes every item as an entry into the byte
 * stream of a data tape file: entries are packed back to back into frames
 * and records (format v2), so small files cost neither a record nor a
 * filemark.  A data tape file ends at a size threshold, at the end of the
 * job or at the end of the tape; an item that does not fit continues as
 * its next part in the next data file, on the same or the next tape.
 * Every item is stored with what the file system holds (jobs/fsmeta.c):
 * owner and group names, extended attributes (ACLs, SELinux labels and
 * capabilities among them), a sparse file as its map and data regions,
 * FIFOs and device nodes; a socket is named and passed over.
 *
 * The catalog rows of the entries are inserted by the tape writer's I/O
 * thread once each frame's place on tape is known (the `placed`
 * callback), with prepared statements inside one transaction per tape; the
 * walking thread never waits for the database.  A crash loses at most the
 * tape in progress, and that tape can still be recovered by the catalog
 * job's scan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backup/backup.h"
#include "crypto/rand.h"
#include "format/record.h"
#include "jobs/drivecrypt.h"
#include "jobs/fsmeta.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/lease.h"
#include "jobs/prestat.h"
#include "jobs/ptree.h"
#include "jobs/session.h"
#include "library/vlib.h"
#include "util/err.h"
#include "util/stop.h"

#define SMALL_FILE (64u * 1024u)        /* read whole before its header */
#define ITEM_RETRY 2                    /* store_item: write the item again */
#define MAX_FAILED_TAPES 3              /* then the drive is suspected: stop */
#define TAPE_FILE_SIZE_DEFAULT ((uint64_t)4 << 30)

/* Side data of an entry, attached to the frame it begins in; the path and
 * the link target (NUL-terminated) follow it, then, of a first part, its
 * optional fields as the catalog keeps them (tv_entry_ext_put: without
 * the names, which set_names keeps once per id; a regular file's xattr
 * list left out). */
struct wside {
	uint64_t idx, part, off, size, mode, uid, gid, nsec, eflags;
	int64_t mtime;
	int64_t ctime;               /* change time and inode, for the next incremental */
	uint64_t ctime_nsec, ino;
	uint32_t entry_off, ftype, path_len, link_len, ext_len;
};

/* An item written again after a tape failed: its index, from which part
 * and offset (idx < 0: none). */
struct resend {
	int64_t idx;
	uint64_t part, off;
};

/* Files with more than one link seen so far: (device, inode) -> the stored
 * path of the first name, an open-addressing table that grows. */
struct hlink {
	dev_t dev;
	ino_t ino;
	char *path;
};
struct hltab {
	struct hlink *t;
	size_t n, cap;
};

static size_t hl_slot(const struct hltab *h, dev_t dev, ino_t ino)
{
	uint64_t k = ((uint64_t)dev * 0x9e3779b97f4a7c15u) ^ (uint64_t)ino;
	size_t i;

	k ^= k >> 29;
	for (i = (size_t)(k * 0xbf58476d1ce4e5b9u) & (h->cap - 1); h->t[i].path != NULL &&
	     !(h->t[i].dev == dev && h->t[i].ino == ino); i = (i + 1) & (h->cap - 1))
		;
	return i;
}

/* The first name of (dev, ino), or NULL after recording path as it. */
static const char *hl_first(struct hltab *h, dev_t dev, ino_t ino, const char *path, int *err)
{
	size_t i;

	*err = 0;
	if (h->n + 1 > h->cap / 2) {
		struct hltab nh = { NULL, h->n, h->cap ? h->cap * 2 : 64 };
		if ((nh.t = calloc(nh.cap, sizeof(*nh.t))) == NULL) {
			*err = TV_ERR_NOMEM;
			return NULL;
		}
		for (size_t k = 0; k < h->cap; k++)
			if (h->t[k].path != NULL)
				nh.t[hl_slot(&nh, h->t[k].dev, h->t[k].ino)] = h->t[k];
		free(h->t);
		*h = nh;
	}
	i = hl_slot(h, dev, ino);
	if (h->t[i].path != NULL)
		return h->t[i].path;
	if ((h->t[i].path = strdup(path)) == NULL) {
		*err = TV_ERR_NOMEM;
		return NULL;
	}
	h->t[i].dev = dev;
	h->t[i].ino = ino;
	h->n++;
	return NULL;
}

static void hl_free(struct hltab *h)
{
	for (size_t k = 0; k < h->cap; k++)
		free(h->t[k].path);
	free(h->t);
}

void (*tv_write_test_hook)(const char *path, uint64_t done);

struct wjob {
	struct tv_home *h;
	struct hltab links;
	struct tv_pool pool;
	struct tv_twriter_opts wo;
	struct tv_vlib *lib;
	int64_t lib_id, ms_id, set_id;
	uint8_t ms_uuid[16], set_uuid[16];
	char set_name[TV_NAME_MAX];
	uint64_t created;
	uint64_t file_index;
	struct tv_session s;         /* the tape being written */
	int have_tape;
	int started_new_ms;
	uint64_t first_seq;
	uint64_t tape_file_size;
	int in_data;                 /* a data tape file is open */
	uint8_t cuuid[16];
	uint64_t files, bytes, tapes, skipped, stored;
	uint64_t nproblems;          /* set_problems rows so far (their key) */
	int problem_err;             /* the first catalog error naming one */
	int changed;                 /* this item changed while it was read */
	int cut;                     /* a signal stopped the job inside this item */
	uint64_t item_bytes0;        /* bytes before this item */
	struct stat st0;             /* this regular file as opened */
	struct tv_progress prog;
	/* reused for every item: no allocation per file */
	struct tv_entry *e;
	struct tv_buf eb;
	uint8_t *side;
	size_t side_cap;
	uint8_t *small;
	char rel[TV_PATH_MAX];
	struct tv_fsmeta *fm;        /* names, xattrs, sparse maps (jobs/fsmeta.c) */
	struct tv_buf xa;            /* the item's xattr list */
	struct tv_buf map;           /* the item's sparse map */
	size_t reg_i;                /* reading a sparse file: region, its start in D */
	uint64_t reg_base;
	/* prepared once */
	struct tv_stmt *ins_file, *ins_part, *upd_nparts;
	/* incremental and differential: the parent set and its tree */
	int level;
	int64_t parent_id;
	uint8_t parent_uuid[16];
	struct tv_ptree *prev;       /* its tree, loading while the walk runs */
	size_t nchain;               /* the sets of its chain */
	struct tv_prestat *pst;      /* the walk's stats, taken ahead (prestat.h) */
	uint64_t unchanged, deleted;
	struct stat cst;             /* the item's change time and inode as stored */
	/* left out: --exclude globs, --one-file-system, the installation's state */
	char *const *excludes;
	size_t nexcludes;
	uint64_t nexcluded;
	char abs[TV_PATH_MAX + 2];
	int one_fs;
	dev_t root_dev;
	struct {
		dev_t dev;
		ino_t ino;
		const char *what;
		int said;
	} skip[4];
	size_t nskip;
	/* a tape the drive fails on (tape_failed): what this job wrote to it
	 * is undone in the catalog (savepoint tv_tape) and written again to
	 * another tape, from the log of what it took */
	FILE *tlog;                  /* the current tape's log (tlrec records) */
	uint64_t tlog_n;
	int tlog_err;                /* the log could not be written: no retry */
	struct resend rs;            /* writing an item again */
	uint64_t pend_part, pend_off;   /* split_item: where the next tape takes over */
	struct { uint64_t files, bytes, skipped, stored, first_seq; } snap;
	unsigned failed_tapes;
	char failed[MAX_FAILED_TAPES][32];
	int drive;                   /* the drive the job writes with (-1: none yet) */
};

/* A record of the tape log: an item begun on the tape ('I'), an item
 * continued on it from an earlier tape ('C', its part and offset and how
 * the file was when opened), or an item passed over while the tape was
 * loaded ('P', its reason: the row the rollback takes away).  The path and
 * the reason follow.  A private temporary file of this process. */
struct tlrec {
	uint8_t kind;
	uint64_t idx, part, off, size, ino, mtime_ns, ctime_ns;
	int64_t mtime, ctime;
	uint32_t path_len, reason_len;
};

/* ---- catalog rows, on the writer's I/O thread ---- */

static int on_placed(void *ctx, uint32_t file_no, uint64_t frame_index,
                     uint64_t frame_off, const uint8_t *side, size_t len)
{
	struct wjob *j = ctx;
	size_t o = 0;
	int r = 0;

	(void)frame_index;
	while (o < len && r == 0) {
		struct wside ws;
		const char *path, *link;
		const uint8_t *ext;
		if (len - o < sizeof(ws))
			return tv_errf(TV_ERR_INTERNAL, "write: side data cut");
		memcpy(&ws, side + o, sizeof(ws));
		o += sizeof(ws);
		if (len - o < (size_t)ws.path_len + ws.link_len + ws.ext_len)
			return tv_errf(TV_ERR_INTERNAL, "write: side data cut");
		path = (const char *)side + o;
		o += ws.path_len;
		link = ws.link_len ? (const char *)side + o : NULL;
		o += ws.link_len;
		ext = ws.ext_len ? side + o : NULL;
		o += ws.ext_len;
		if (ws.part == 1) {
			r = tv_stmt_run(j->ins_file, "iitiiiiiiitiiiiibiii", j->set_id,
			                (int64_t)ws.idx, path, (int64_t)ws.ftype,
			                (int64_t)ws.mode, (int64_t)ws.uid, (int64_t)ws.gid,
			                ws.mtime, (int64_t)ws.nsec, (int64_t)ws.size, link,
			                (int64_t)ws.eflags, (int64_t)j->s.seq, (int64_t)file_no,
			                (int64_t)frame_off, (int64_t)ws.entry_off, ext,
			                (size_t)ws.ext_len, ws.ctime, (int64_t)ws.ctime_nsec,
			                (int64_t)(ws.ino & INT64_MAX));
		} else {
			r = tv_stmt_run(j->ins_part, "iiiiiiii", j->set_id, (int64_t)ws.idx,
			                (int64_t)ws.part, (int64_t)ws.off, (int64_t)j->s.seq,
			                (int64_t)file_no, (int64_t)frame_off,
			                (int64_t)ws.entry_off);
			if (r == 0)
				r = tv_stmt_run(j->upd_nparts, "iii", (int64_t)ws.part, j->set_id,
				                (int64_t)ws.idx);
		}
	}
	return r;
}

/* ---- what was not stored whole ---- */

/* An item not stored whole (changed while it was read, skipped,
 * unreadable, cut by a signal): named in the set's problems, with its
 * index when it has a files row (idx < 0: none); the set ends partial.
 * The caller has said it in a warning.  A catalog error here is kept for
 * the end of the job: the walk goes on. */
static void tlog_put(struct wjob *j, uint8_t kind, uint64_t part, uint64_t off,
                     const char *path, const char *reason);

static void problem(struct wjob *j, const char *path, const char *reason, int64_t idx)
{
	int r;

	if (idx < 0)
		tlog_put(j, 'P', 0, 0, path, reason);
	j->skipped++;
	if (idx >= 0)
		r = tv_db_exec(j->h->db, "INSERT INTO set_problems(set_id, n, path, reason, idx) "
		               "VALUES(?,?,?,?,?)", "iitti", j->set_id, (int64_t)j->nproblems,
		               path, reason, idx);
	else
		r = tv_db_exec(j->h->db, "INSERT INTO set_problems(set_id, n, path, reason, idx) "
		               "VALUES(?,?,?,?,?)", "iittn", j->set_id, (int64_t)j->nproblems,
		               path, reason);
	j->nproblems++;
	if (r != 0 && j->problem_err == 0)
		j->problem_err = r;
}

/* The files rows of the items named as changed (all placed by now: after
 * a sync of the tape writer), before the transaction they are in ends. */
static int mark_changed(struct wjob *j)
{
	return tv_db_exec(j->h->db, "UPDATE files SET changed=1 WHERE set_id=?1 AND idx IN "
	                  "(SELECT idx FROM set_problems WHERE set_id=?1 AND idx IS NOT NULL"
	                  " AND reason LIKE 'changed%')", "i", j->set_id);
}

/* Whether the regular file open as fd is still as it was opened (size,
 * modification and change times); when not, it is named.  Of a file that
 * grew, the bytes up to its size at the open are stored. */
static void check_changed(struct wjob *j, int fd)
{
	struct stat st;
	const struct stat *a = &j->st0;

	if (!j->changed) {   /* else named already (it shrank) */
		int grew = 0;
		if (fstat(fd, &st) == 0) {
			if (st.st_size == a->st_size && st.st_mtim.tv_sec == a->st_mtim.tv_sec &&
			    st.st_mtim.tv_nsec == a->st_mtim.tv_nsec &&
			    st.st_ctim.tv_sec == a->st_ctim.tv_sec &&
			    st.st_ctim.tv_nsec == a->st_ctim.tv_nsec)
				return;
			grew = st.st_size > a->st_size;
		}
		tv_warn(j->h, "%s: changed while it was read%s", j->e->path,
		        grew ? " (it grew: stored up to its size at the open)" : "");
	}
	j->changed = 0;
	problem(j, j->e->path, "changed while it was read", (int64_t)j->e->file_index);
}

static int cmp_names(const void *a, const void *b);

/* ---- incremental and differential: the parent's tree (ptree.h) ---- */

#define CHAIN_MAX 4096

/* The set this one is based on (the newest of its name in the pool, of
 * any level for an incremental, a full for a differential) and the tree
 * as that set saw it: its chain down to a full, merged.  Without one, or
 * with a chain that is not whole in this catalog, the set is a full. */
static int load_parent(struct wjob *j)
{
	int64_t *chain = NULL, id = 0, level = 0;
	uint8_t pu[16];
	size_t n = 0;
	struct tv_stmt *q = NULL;
	const char *kind = j->level == TV_LEVEL_DIFFERENTIAL ? "differential" : "incremental";
	int r;

	r = tv_db_query(j->h->db, &q, "SELECT id, uuid FROM backup_sets WHERE pool_id=? AND"
	                " name=? AND (level=0 OR ?=1) AND (state IN ('complete','partial',"
	                "'interrupted') OR (state IS NULL AND complete=1 AND pid IS NULL))"
	                " ORDER BY created DESC, id DESC LIMIT 1", "iti", j->pool.id,
	                j->set_name, (int64_t)(j->level == TV_LEVEL_INCREMENTAL));
	if (r != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		size_t l;
		const void *u = tv_stmt_blob(q, 1, &l);
		id = tv_stmt_int(q, 0);
		if (u != NULL && l == 16)
			memcpy(j->parent_uuid, u, 16);
		else
			id = 0;
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (id == 0) {
		tv_info(j->h, "no earlier %sbackup set named '%s' in pool %s: this %s backup is "
		        "a full backup", j->level == TV_LEVEL_DIFFERENTIAL ? "full " : "",
		        j->set_name, j->pool.name, kind);
		j->level = TV_LEVEL_FULL;
		return 0;
	}
	if ((chain = malloc(CHAIN_MAX * sizeof(*chain))) == NULL)
		return TV_ERR_NOMEM;
	/* newest first, down to a full */
	for (;;) {
		if (n == CHAIN_MAX) {
			r = tv_errf(TV_ERR_FORMAT, "backup set '%s': a chain of more than %d sets "
			            "(a loop?)", j->set_name, CHAIN_MAX);
			goto out;
		}
		chain[n++] = id;
		if ((r = tv_db_query(j->h->db, &q, "SELECT level, parent_uuid FROM backup_sets "
		                     "WHERE id=?", "i", id)) != 0)
			goto out;
		if ((r = tv_stmt_step(q)) == 1) {
			size_t l;
			const void *u = tv_stmt_blob(q, 1, &l);
			level = tv_stmt_int(q, 0);
			if (u != NULL && l == 16)
				memcpy(pu, u, 16);
			else
				level = 0;
		}
		tv_stmt_free(q);
		if (r < 0)
			goto out;
		if (level == TV_LEVEL_FULL)
			break;
		r = tv_db_get_int(j->h->db, &id, "SELECT id FROM backup_sets WHERE uuid=?", "b",
		                  pu, (size_t)16);
		if (r == TV_ERR_NOTFOUND) {
			char u[37];
			tv_uuid_to_str(pu, u);
			tv_warn(j->h, "the chain of backup set '%s' needs set %s, which this "
			        "catalog does not hold: this %s backup is a full backup",
			        j->set_name, u, kind);
			j->level = TV_LEVEL_FULL;
			r = 0;
			goto out;
		}
		if (r != 0)
			goto out;
	}
	{
		/* room from the sets' item counts (no scan of their rows; the
		 * tree takes more if a catalog holds more), the full first */
		int64_t rows = 0, c;
		for (size_t k = 0; k < n / 2; k++) {
			int64_t t = chain[k];
			chain[k] = chain[n - 1 - k];
			chain[n - 1 - k] = t;
		}
		for (size_t k = 0; k < n; k++) {
			if ((r = tv_db_get_int(j->h->db, &c, "SELECT MAX(nfiles, 0) FROM backup_sets "
			                       "WHERE id=?", "i", chain[k])) != 0)
				goto out;
			rows += c;
		}
		if ((r = tv_ptree_start(j->h->db, chain, n, (uint64_t)rows, &j->prev)) != 0)
			goto out;
		j->parent_id = chain[n - 1];
		j->nchain = n;
	}
out:
	free(chain);
	return r;
}

/* What the parent's tree held that this walk did not meet: recorded as
 * deleted (path order). */
static int record_deleted(struct wjob *j)
{
	char **paths = NULL;
	size_t n = 0;
	int r;

	j->deleted = 0;
	if ((r = tv_ptree_deleted(j->prev, &paths, &n)) != 0)
		return r;
	for (size_t k = 0; k < n && r == 0; k++) {
		r = tv_db_exec(j->h->db, "INSERT INTO set_deleted(set_id, n, path) VALUES(?,?,?)",
		               "iit", j->set_id, (int64_t)k, paths[k]);
		tv_verbose(j->h, "%s: deleted since the last backup", paths[k]);
	}
	if (r == 0)
		j->deleted = n;
	for (size_t k = 0; k < n; k++)
		free(paths[k]);
	free(paths);
	return r;
}

/* ---- what is left out ---- */

/* 1 when an --exclude glob matches the item at j->rel: its absolute path
 * or its base name. */
static int excluded(struct wjob *j)
{
	const char *base;

	if (j->nexcludes == 0)
		return 0;
	j->abs[0] = '/';
	memcpy(j->abs + 1, j->rel, strlen(j->rel) + 1);
	base = strrchr(j->abs, '/') + 1;
	for (size_t k = 0; k < j->nexcludes; k++)
		if (fnmatch(j->excludes[k], j->abs, 0) == 0 ||
		    (*base && fnmatch(j->excludes[k], base, 0) == 0)) {
			tv_verbose(j->h, "%s: excluded (%s)", j->abs, j->excludes[k]);
			j->nexcluded++;
			return 1;
		}
	return 0;
}

/* The installation's own state (home directory, catalog file), which is
 * never backed up into itself: once said, passed over. */
static void skip_add(struct wjob *j, const char *path, const char *what)
{
	struct stat sb;

	if (j->nskip < sizeof(j->skip) / sizeof(j->skip[0]) && stat(path, &sb) == 0) {
		j->skip[j->nskip].dev = sb.st_dev;
		j->skip[j->nskip].ino = sb.st_ino;
		j->skip[j->nskip].what = what;
		j->nskip++;
	}
}

static void skips_setup(struct wjob *j)
{
	char path[PATH_MAX + 64], url[PATH_MAX + 32];
	FILE *f;

	skip_add(j, j->h->dir, "the tapevault home directory");
	snprintf(path, sizeof(path), "%s/catalog.db", j->h->dir);
	snprintf(url, sizeof(url), "%s/catalog.url", j->h->dir);
	if ((f = fopen(url, "re")) != NULL) {   /* a catalog elsewhere (home.c) */
		if (fgets(url, sizeof(url), f) != NULL) {
			url[strcspn(url, "\n")] = '\0';
			if (strncmp(url, "sqlite:", 7) == 0 && url[7])
				snprintf(path, sizeof(path), "%s", url + 7);
		}
		fclose(f);
	}
	skip_add(j, path, "the tapevault catalog");
	strncat(path, "-wal", sizeof(path) - strlen(path) - 1);
	skip_add(j, path, "the tapevault catalog");
	path[strlen(path) - 4] = '\0';
	strncat(path, "-shm", sizeof(path) - strlen(path) - 1);
	skip_add(j, path, "the tapevault catalog");
}

/* 1 when the item is the installation's own state (said once). */
static int skipped_state(struct wjob *j, const struct stat *sb)
{
	for (size_t k = 0; k < j->nskip; k++)
		if (j->skip[k].dev == sb->st_dev && j->skip[k].ino == sb->st_ino) {
			if (!j->skip[k].said)
				tv_info(j->h, "/%s: %s is not backed up into itself (left out)", j->rel,
				        j->skip[k].what);
			j->skip[k].said = 1;
			return 1;
		}
	return 0;
}

/* ---- media sets and tapes ---- */

static int open_media_set(struct wjob *j)
{
	int64_t id;
	int r;

	if (strcmp(j->pool.policy, "per-job") != 0 || j->started_new_ms) {
		r = tv_db_get_int(j->h->db, &id,
		                  "SELECT id FROM media_sets WHERE pool_id=? AND closed=0 "
		                  "ORDER BY id DESC LIMIT 1", "i", j->pool.id);
		if (r == 0) {
			size_t n;
			struct tv_stmt *q;
			char res[48], what[TV_NAME_MAX + 64];
			/* appended to by one job at a time, whichever server runs it */
			snprintf(res, sizeof(res), "ms:%lld", (long long)id);
			snprintf(what, sizeof(what), "the open media set of pool %s", j->pool.name);
			if ((r = tv_lease_wait(j->h, res, NULL, what)) != 0)
				return r;
			j->ms_id = id;
			if ((r = tv_db_query(j->h->db, &q, "SELECT uuid FROM media_sets WHERE id=?",
			                     "i", id)) != 0)
				return r;
			if ((r = tv_stmt_step(q)) == 1) {
				const void *u = tv_stmt_blob(q, 0, &n);
				if (u && n == 16)
					memcpy(j->ms_uuid, u, 16);
			}
			tv_stmt_free(q);
			return r < 0 ? r : 0;
		}
		if (r != TV_ERR_NOTFOUND)
			return r;
	} else {
		/* per-job: close the pool's open media set (not one another tape
		 * server's running job writes: its lease says so) */
		if ((r = tv_db_exec(j->h->db, "UPDATE media_sets SET closed=1 WHERE pool_id=? AND "
		                    "closed=0 AND NOT EXISTS(SELECT 1 FROM reservations r WHERE "
		                    "r.resource='ms:' || media_sets.id AND r.expires>=?)", "ii",
		                    j->pool.id, (int64_t)tv_now())) != 0)
			return r;
	}
	if ((r = tv_uuid_new(j->ms_uuid)) != 0)
		return r;
	if ((r = tv_db_exec(j->h->db,
	                    "INSERT INTO media_sets(uuid, pool_id, created) VALUES(?,?,?)",
	                    "bii", j->ms_uuid, (size_t)16, j->pool.id, (int64_t)tv_now())) != 0)
		return r;
	j->ms_id = tv_db_last_id(j->h->db);
	j->started_new_ms = 1;
	{
		char res[48];
		int got;
		snprintf(res, sizeof(res), "ms:%lld", (long long)j->ms_id);
		return tv_lease_take(res, NULL, &got, NULL, 0);   /* new: nobody else's */
	}
}

/* Ends the open data tape file (cont: the last item continues in the next
 * one) and records its figures. */
/* A tape whose session finished leaves the drive; if it cannot, the data
 * is safe and cataloged, so the job goes on and says so. */
static void unload_done(struct tv_home *h, struct tv_vlib *lib, int drive)
{
	int r = tv_lib_unload(lib, (unsigned)drive, 0);

	if (r != 0)
		tv_warn(h, "%s (the tape stays in the drive)", tv_errmsg(r));
}

static int end_data(struct wjob *j, int cont)
{
	struct tv_file_result res;
	int r;

	if (!j->in_data)
		return 0;
	j->in_data = 0;
	if ((r = tv_twriter_end_file(j->s.w, cont, &res)) != 0)
		return r;
	j->stored += res.stored_bytes;
	r = tv_db_exec(j->h->db, "UPDATE data_files SET raw_bytes=?, stored_bytes=? WHERE "
	               "set_id=? AND tseq=? AND file_no=?", "iiiii", (int64_t)res.raw_bytes,
	               (int64_t)res.stored_bytes, j->set_id, (int64_t)j->s.seq,
	               (int64_t)j->s.file_no);
	j->s.file_no++;
	return r;
}

static int put_name(void *ctx, int group, uint32_t id, const char *name)
{
	struct wjob *j = ctx;

	return tv_db_exec(j->h->db, "INSERT OR IGNORE INTO set_names(set_id, kind, id, name) "
	                  "VALUES(?,?,?,?)", "iiit", j->set_id, (int64_t)group, (int64_t)id,
	                  name);
}

/* The owners' and groups' names met so far, kept once per set (before a
 * session catalog is written from the database). */
static int put_names(struct wjob *j)
{
	return tv_fsmeta_names_each(j->fm, put_name, j);
}

/* Writes the session catalog and lets the tape go. */
static int finish_tape(struct wjob *j)
{
	int r;

	if ((r = end_data(j, 0)) != 0 || (r = put_names(j)) != 0)
		return r;
	/* the set so far: what this tape's catalog tells of it */
	if ((r = tv_db_exec(j->h->db, "UPDATE backup_sets SET nfiles=?, nbytes=?, "
	                    "stored_bytes=? WHERE id=?", "iiii", (int64_t)j->files,
	                    (int64_t)j->bytes, (int64_t)j->stored, j->set_id)) != 0)
		return r;
	if ((r = tv_session_finish(&j->s)) != 0)
		return r;
	j->have_tape = 0;
	unload_done(j->h, j->lib, j->drive);
	if ((r = mark_changed(j)) != 0 || (r = tv_db_commit(j->h->db)) != 0)
		return r;
	return tv_db_begin(j->h->db);
}

/* ---- a tape the drive fails on ---- */

/* The tape log gets a record (when a tape is loaded: what happens between
 * two tapes is not undone by a tape's failure). */
static void tlog_put(struct wjob *j, uint8_t kind, uint64_t part, uint64_t off,
                     const char *path, const char *reason)
{
	struct tlrec t;

	if (!j->have_tape || j->tlog == NULL || j->tlog_err != 0)
		return;
	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.idx = j->e->file_index;
	t.part = part;
	t.off = off;
	if (kind == 'C') {
		t.size = (uint64_t)j->st0.st_size;
		t.ino = (uint64_t)j->st0.st_ino;
		t.mtime = (int64_t)j->st0.st_mtim.tv_sec;
		t.mtime_ns = (uint64_t)j->st0.st_mtim.tv_nsec;
		t.ctime = (int64_t)j->st0.st_ctim.tv_sec;
		t.ctime_ns = (uint64_t)j->st0.st_ctim.tv_nsec;
	}
	t.path_len = (uint32_t)strlen(path);
	t.reason_len = reason != NULL ? (uint32_t)strlen(reason) : 0;
	if (fwrite(&t, sizeof(t), 1, j->tlog) != 1 ||
	    fwrite(path, 1, t.path_len, j->tlog) != t.path_len ||
	    (t.reason_len && fwrite(reason, 1, t.reason_len, j->tlog) != t.reason_len))
		j->tlog_err = tv_errf(TV_ERR_IO, "write: the log of tape %s: %s", j->s.barcode,
		                      strerror(errno));
	j->tlog_n++;
}

/* A tape is loaded and labeled: what follows can be undone (savepoint
 * tv_tape), the figures as they are now are kept, the tape's log starts
 * (with the item split_item carries over, if any). */
static int tape_begin(struct wjob *j)
{
	int r;

	if ((r = tv_db_exec(j->h->db, "SAVEPOINT tv_tape", "")) != 0)
		return r;
	j->snap.files = j->files;
	j->snap.bytes = j->bytes;
	j->snap.skipped = j->skipped;
	j->snap.stored = j->stored;
	j->snap.first_seq = j->first_seq;
	if (j->tlog == NULL && (j->tlog = tmpfile()) == NULL)
		return tv_errf(TV_ERR_IO, "write: a temporary file for the tape's log: %s",
		               strerror(errno));
	rewind(j->tlog);
	if (ftruncate(fileno(j->tlog), 0) != 0)
		return tv_errf(TV_ERR_IO, "write: the tape's log: %s", strerror(errno));
	j->tlog_n = 0;
	j->tlog_err = 0;
	if (j->pend_part > 0)
		tlog_put(j, 'C', j->pend_part, j->pend_off, j->e->path, NULL);
	return 0;
}

/* The error r came from the drive writing the current tape. */
static int tape_error(struct wjob *j, int r)
{
	return r < 0 && r != TV_ERR_INTERRUPTED && j->have_tape &&
	       (j->s.dev_failed || (j->s.w != NULL && tv_twriter_device_failed(j->s.w)));
}

static int resend_one(struct wjob *j, const struct tlrec *t, const char *path,
                      const char *reason);

/* The drive failed on the current tape (r): the tape leaves the drive and
 * is marked full (nothing more is appended to it), the catalog forgets
 * what this job put on it, and every item of its log is written again to
 * another tape; the items passed over while it was loaded are named again.
 * *listed: the item idx was in its log (it has been written again). */
static int tape_failed(struct wjob *j, int err, uint64_t idx, int *listed)
{
	char why[1024], bc[32];
	FILE *log = j->tlog;
	uint64_t n = j->tlog_n, k;
	int64_t tape_id = j->s.tape_id;
	struct resend rs = j->rs;
	int r;

	*listed = 0;
	snprintf(why, sizeof(why), "%s", tv_errmsg(err));
	snprintf(bc, sizeof(bc), "%s", j->s.barcode);
	tv_session_abort(&j->s);
	j->have_tape = 0;
	j->in_data = 0;
	if ((r = tv_lib_unload(j->lib, (unsigned)j->drive, 0)) != 0)
		tv_warn(j->h, "%s (tape %s stays in the drive)", tv_errmsg(r), bc);
	if (j->tlog_err != 0)
		return tv_errf(err, "%s (and the log of what the job wrote to tape %s could not "
		               "be kept, so it cannot be written again elsewhere)", why, bc);
	if (j->failed_tapes >= MAX_FAILED_TAPES - 1)
		return tv_errf(err, "%s: the %s tape this job has lost to write errors (%s, %s): "
		               "the drive itself is suspect; the job stops", why,
		               MAX_FAILED_TAPES == 3 ? "third" : "last", j->failed[0],
		               j->failed[1]);
	snprintf(j->failed[j->failed_tapes++], sizeof(j->failed[0]), "%s", bc);
	/* (the parent's tree loaded first: no query of it open across the
	 * rollback) */
	if ((j->prev != NULL && (r = tv_ptree_wait(j->prev)) != 0) ||
	    (r = tv_db_exec(j->h->db, "ROLLBACK TO SAVEPOINT tv_tape", "")) != 0 ||
	    (r = tv_db_exec(j->h->db, "UPDATE tapes SET full=1 WHERE id=?", "i", tape_id)) != 0)
		return r;
	j->files = j->snap.files;
	j->bytes = j->snap.bytes;
	j->skipped = j->snap.skipped;
	j->stored = j->snap.stored;
	j->first_seq = j->snap.first_seq;
	j->tapes--;
	tv_warn(j->h, "%s", why);
	tv_warn(j->h, "tape %s failed: the %llu item(s) this job wrote to it are written again "
	        "to another tape; %s is marked full (nothing more is appended to it): check it "
	        "with 'tapevault verify' or retire it", bc, (unsigned long long)n, bc);
	tv_log(j->h, "tape %s: write failed, its part of the job written again elsewhere", bc);
	/* the next tape gets a log of its own: this one is read now */
	j->tlog = NULL;
	rewind(log);
	r = 0;
	for (k = 0; k < n && r == 0; k++) {
		struct tlrec t;
		char *path = NULL, *reason = NULL;
		if (fread(&t, sizeof(t), 1, log) != 1 || t.path_len >= TV_PATH_MAX ||
		    t.reason_len >= 4096 || (path = calloc(1, (size_t)t.path_len + 1)) == NULL ||
		    (reason = calloc(1, (size_t)t.reason_len + 1)) == NULL ||
		    fread(path, 1, t.path_len, log) != t.path_len ||
		    fread(reason, 1, t.reason_len, log) != t.reason_len) {
			r = tv_errf(TV_ERR_IO, "write: reading back the log of tape %s", bc);
		} else if (t.kind == 'P') {
			problem(j, path, reason, -1);   /* said when it was met */
		} else {
			if (t.idx == idx)
				*listed = 1;
			r = resend_one(j, &t, path, reason);
		}
		free(path);
		free(reason);
	}
	fclose(log);
	j->rs = rs;
	return r;
}

/* ---- what several tape servers share (jobs/lease.h) ---- */

/* The drive the job writes with, for all its tapes (media.c: leased on a
 * shared catalog, and emptied of what a job that died left in it). */
static int job_drive(struct wjob *j)
{
	char res[64];
	unsigned d;
	int r;

	if (j->drive >= 0)
		return 0;
	if ((r = tv_lib_lease_drive(j->h, j->lib, j->lib_id, &d, res, sizeof(res))) != 0)
		return r;
	j->drive = (int)d;
	if ((r = tv_lib_clear_stale(j->h, j->lib, j->lib_id, j->drive, 1, NULL)) != 0)
		return r;
	if (res[0])
		tv_verbose(j->h, "writing with drive %d of library %s", j->drive,
		           tv_vlib_name(j->lib));
	return 0;
}

/* This job's lease on the tape; 0 with *got 0 when another job holds it. */
static int tape_lease(const char *barcode, int *got)
{
	char res[64];

	snprintf(res, sizeof(res), "tape:%s", barcode);
	return tv_lease_take(res, NULL, got, NULL, 0);
}

/* Pick the tape to continue on (policy continue, last tape not full) or a
 * free one, load it and prepare a session. */
static int next_tape(struct wjob *j)
{
	struct tv_stmt *q = NULL;
	char barcode[32] = "";
	int64_t tape_id = 0, seq = 0;
	int append = 0, r;

	if (j->tapes == 0) {
		/* start of job: continue the media set's last tape if it has room */
		r = tv_db_query(j->h->db, &q,
		                "SELECT id, barcode, seq, full, COALESCE(enc_spec,''), "
		                "COALESCE(format,0) FROM tapes WHERE media_set_id=? "
		                "ORDER BY seq DESC LIMIT 1", "i", j->ms_id);
		if (r != 0)
			return r;
		/* a tape labeled under another encryption setting is not appended
		 * to: after a key change, new data goes under the new key */
		struct tv_vlib_elem el;
		if ((r = tv_stmt_step(q)) == 1 && tv_stmt_int(q, 3) == 0 &&
		    strcmp(tv_stmt_text(q, 4), j->pool.encryption) == 0 &&
		    tv_stmt_int(q, 5) == TV_FORMAT_VERSION &&
		    tv_vlib_find(j->lib, tv_stmt_text(q, 1), &el) == 0) {
			tape_id = tv_stmt_int(q, 0);
			snprintf(barcode, sizeof(barcode), "%s", tv_stmt_text(q, 1));
			seq = tv_stmt_int(q, 2);
			append = 1;
		}
		tv_stmt_free(q);
		q = NULL;
		if (r < 0)
			return r;
		if (append) {
			int got;
			if ((r = tape_lease(barcode, &got)) != 0)
				return r;
			append = got;   /* in another job's hands: a new tape */
		}
	}
	if (!append) {
		r = tv_db_get_int(j->h->db, &seq,
		                  "SELECT COALESCE(MAX(seq),0)+1 FROM tapes WHERE media_set_id=?",
		                  "i", j->ms_id);
		if (r != 0)
			return r;
		/* a free tape no other job took first */
		for (int tries = 0;; tries++) {
			int got;
			r = tv_pool_free_tape(j->h, &j->pool, j->lib_id, &tape_id, barcode,
			                      sizeof(barcode));
			if (r <= 0 || (r = tape_lease(barcode, &got)) != 0)
				break;
			if (got) {
				r = 1;
				break;
			}
			if (tries == 50)
				return tv_errf(TV_ERR_STATE, "no free tape of pool '%s' could be taken: "
				               "other jobs took each first", j->pool.name);
		}
		if (r < 0)
			return r;
		if (r == 0)
			return tv_errf(TV_ERR_NOSPC,
			               "no free tape left in the library of pool '%s' (needed for "
			               "media set sequence %lld): add blank cartridges with "
			               "'tapevault tape new' and run the job again",
			               j->pool.name, (long long)seq);
	}
	if ((r = job_drive(j)) != 0 ||
	    (r = tv_lib_clear_stale(j->h, j->lib, j->lib_id, j->drive, 0, barcode)) != 0)
		return r;
	r = tv_session_open(&j->s, j->h, j->lib, j->drive, tape_id, barcode, append, &j->wo);
	if (r != 0)
		return r;
	if (!append) {
		r = tv_session_label(&j->s, &j->pool, j->ms_id, j->ms_uuid, (uint64_t)seq);
		if (r != 0) {
			tv_session_abort(&j->s);
			return tv_lib_unload(j->lib, (unsigned)j->drive, r);
		}
	}
	if ((r = tv_drivecrypt_write(j->h, &j->s)) != 0) {   /* LTO hardware encryption */
		tv_session_abort(&j->s);
		return tv_lib_unload(j->lib, (unsigned)j->drive, r);
	}
	j->have_tape = 1;
	j->tapes++;
	if ((r = tape_begin(j)) != 0)
		return r;
	if (j->first_seq == 0) {
		j->first_seq = j->s.seq;
		if ((r = tv_db_exec(j->h->db, "UPDATE backup_sets SET first_seq=? WHERE id=?",
		                    "ii", (int64_t)j->s.seq, j->set_id)) != 0)
			return r;
	}
	if ((r = tv_db_exec(j->h->db, "UPDATE backup_sets SET last_seq=? WHERE id=?", "ii",
	                    (int64_t)j->s.seq, j->set_id)) != 0)
		return r;
	tv_info(j->h, "%s tape %s (pool %s, media set sequence %llu)",
	        append ? "appending to" : "writing", j->s.barcode, j->pool.name,
	        (unsigned long long)j->s.seq);
	return 0;
}

/* A tape with room and an open data tape file. */
static int ensure_data(struct wjob *j)
{
	struct tv_data_header dh;
	int r;

	if (j->have_tape && tv_twriter_ew(j->s.w) && (r = finish_tape(j)) != 0)
		return r;
	if (!j->have_tape && (r = next_tape(j)) != 0)
		return r;
	if (j->in_data)
		return 0;
	memset(&dh, 0, sizeof(dh));
	memcpy(dh.set_uuid, j->set_uuid, 16);
	snprintf(dh.set_name, sizeof(dh.set_name), "%s", j->set_name);
	dh.created = j->created;
	dh.session = j->s.session_no;
	tv_buf_reset(&j->eb);
	if ((r = tv_data_header_encode(&j->eb, &dh)) != 0 ||
	    (r = tv_uuid_new(j->cuuid)) != 0)
		return r;
	if ((r = tv_twriter_begin_file(j->s.w, j->s.file_no, TV_CT_DATA, j->cuuid,
	                               tv_buf_ptr(&j->eb), tv_buf_avail(&j->eb),
	                               j->s.encrypted ? j->s.dek : NULL)) != 0)
		return r;
	j->in_data = 1;
	return tv_db_exec(j->h->db, "INSERT INTO data_files(set_id, tseq, file_no, content_uuid)"
	                  " VALUES(?,?,?,?)", "iiib", j->set_id, (int64_t)j->s.seq,
	                  (int64_t)j->s.file_no, j->cuuid, (size_t)16);
}

/* The data file should end: the tape's early warning, or the threshold. */
static int want_split(struct wjob *j)
{
	return tv_twriter_ew(j->s.w) || tv_twriter_file_bytes(j->s.w) >= j->tape_file_size;
}

/* Writes the header of entry j->e (part, offset already set) with its
 * catalog side data. */
static int put_header(struct wjob *j)
{
	struct tv_entry *e = j->e;
	struct wside ws;
	uint64_t fi;
	uint32_t eo;
	size_t pl = strlen(e->path) + 1, ll = e->link[0] ? strlen(e->link) + 1 : 0;
	size_t hl, xl = 0, need;
	int r;

	e->length = e->ftype == TV_FT_REG ? tv_entry_data_size(e) - e->offset : 0;
	tv_buf_reset(&j->eb);
	if ((r = tv_entry_encode(&j->eb, e)) != 0)
		return r;
	hl = tv_buf_avail(&j->eb);
	/* the catalog row's optional fields (first part only), after the
	 * header in eb: a regular file's xattrs stay on tape */
	if (e->part == 1 &&
	    (r = tv_entry_ext_put(&j->eb, e, e->ftype != TV_FT_REG ? TV_EXT_XATTRS : 0)) != 0)
		return r;
	xl = tv_buf_avail(&j->eb) - hl;
	need = sizeof(ws) + pl + ll + xl;
	if ((r = tv_twriter_mark(j->s.w, &fi, &eo)) != 0)
		return r;
	memset(&ws, 0, sizeof(ws));
	ws.idx = e->file_index;
	ws.part = e->part;
	ws.off = e->offset;
	ws.size = e->size;
	ws.mode = e->mode;
	ws.uid = e->uid;
	ws.gid = e->gid;
	ws.mtime = e->mtime_sec;
	ws.nsec = e->mtime_nsec;
	ws.eflags = e->flags;
	ws.ctime = (int64_t)j->cst.st_ctim.tv_sec;
	ws.ctime_nsec = (uint64_t)j->cst.st_ctim.tv_nsec;
	ws.ino = (uint64_t)j->cst.st_ino;
	ws.entry_off = eo;
	ws.ftype = (uint32_t)e->ftype;
	ws.path_len = (uint32_t)pl;
	ws.link_len = (uint32_t)ll;
	ws.ext_len = (uint32_t)xl;
	if (need > j->side_cap) {
		uint8_t *p = realloc(j->side, need);
		if (p == NULL)
			return TV_ERR_NOMEM;
		j->side = p;
		j->side_cap = need;
	}
	memcpy(j->side, &ws, sizeof(ws));
	memcpy(j->side + sizeof(ws), e->path, pl);
	if (ll)
		memcpy(j->side + sizeof(ws) + pl, e->link, ll);
	if (xl)
		memcpy(j->side + sizeof(ws) + pl + ll, tv_buf_ptr(&j->eb) + hl, xl);
	if ((r = tv_twriter_side(j->s.w, j->side, need)) != 0)
		return r;
	return tv_twriter_write(j->s.w, tv_buf_ptr(&j->eb), hl);
}

/* The data file (and maybe the tape) ends inside the current item: the
 * rest follows as its next part. */
static int split_item(struct wjob *j, uint64_t done)
{
	int r;

	if ((r = end_data(j, 1)) != 0)
		return r;
	if (tv_twriter_ew(j->s.w) && (r = finish_tape(j)) != 0)
		return r;
	j->pend_part = j->e->part + 1;   /* a new tape logs it: it takes over here */
	j->pend_off = done;
	r = ensure_data(j);
	j->pend_part = 0;
	if (r != 0)
		return r;
	j->e->part++;
	j->e->offset = done;
	tv_verbose(j->h, "%s continues in tape file %u of tape %s (part %llu)", j->e->path,
	           (unsigned)j->s.file_no, j->s.barcode, (unsigned long long)j->e->part);
	return put_header(j);
}

static int read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t k = read(fd, p + *got, n - *got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		*got += (size_t)k;
	}
	return 0;
}

/* Room an entry header keeps for its fixed fields (tags 1-22 with their
 * TLV headers, offset and part of a later part included) besides its
 * strings, map and xattr list. */
#define HDR_FIXED_ROOM 512

static const uint8_t no_regions[1];   /* the map of a file that is all hole */

/* The names of the item's owner and group (cached per id). */
static void item_names(struct wjob *j, const struct stat *sb)
{
	const char *u = tv_fsmeta_uname(j->fm, sb->st_uid);
	const char *g = tv_fsmeta_gname(j->fm, sb->st_gid);

	memcpy(j->e->uname, u, strlen(u) + 1);   /* < TV_OWNER_MAX (fsmeta.c) */
	memcpy(j->e->gname, g, strlen(g) + 1);
}

/* Where the item's xattr list (j->xa) goes: into its header when it fits
 * there, with room for a later part's fields; else, for a regular file,
 * at the start of its data (XATTR_DATA); else it is left out, named. */
static void place_xattrs(struct wjob *j)
{
	struct tv_entry *e = j->e;
	size_t n = tv_buf_avail(&j->xa);
	size_t used = strlen(e->path) + strlen(e->link) + strlen(e->uname) +
	              strlen(e->gname) + e->sparse_len + HDR_FIXED_ROOM;

	e->xattrs = NULL;
	e->xattrs_len = 0;
	e->xattr_data = 0;
	if (n == 0)
		return;
	if (used + n <= TV_ENTRY_MAX) {
		e->xattrs = tv_buf_ptr(&j->xa);
		e->xattrs_len = n;
	} else if (e->ftype == TV_FT_REG) {
		e->flags |= TV_EF_XATTR_DATA;
		e->xattr_data = n;
	} else {
		tv_warn(j->h, "%s: its extended attributes (%zu bytes) do not fit the entry "
		        "header of a %s: stored without them", e->path, n,
		        tv_ftype_name(e->ftype));
		problem(j, e->path, "stored without its extended attributes (too large for its "
		        "entry header)", (int64_t)j->file_index);
		tv_buf_reset(&j->xa);
	}
}

/* A regular file's holes: with any, its data is the map's regions only. */
static int item_sparse(struct wjob *j, int fd, const struct stat *sb)
{
	struct tv_entry *e = j->e;
	uint64_t data;
	int sparse, r;

	if ((r = tv_fsmeta_sparse(j->fm, fd, sb, &j->map, &sparse, &data)) != 0 || !sparse)
		return r;
	e->flags |= TV_EF_SPARSE;
	e->sparse_len = tv_buf_avail(&j->map);
	e->sparse = e->sparse_len ? tv_buf_ptr(&j->map) : no_regions;
	tv_verbose(j->h, "%s: sparse, %llu of %llu bytes in %zu region(s)", e->path,
	           (unsigned long long)data, (unsigned long long)e->size,
	           e->sparse_len / TV_SPARSE_REGION);
	return 0;
}

/* Bytes of the item's data D from its byte pos into dst: from the xattr
 * list, then from the file (through its map when sparse).  *want is
 * clipped to what one read gives; returns the bytes read (0: the file
 * ends here, it shrank), or -1 with errno. */
static ssize_t item_read(struct wjob *j, int fd, uint64_t pos, uint8_t *dst, size_t *want)
{
	struct tv_entry *e = j->e;
	uint64_t fpos, s = 0, l = 0;

	if (pos < e->xattr_data) {
		if (*want > e->xattr_data - pos)
			*want = (size_t)(e->xattr_data - pos);
		memcpy(dst, tv_buf_ptr(&j->xa) + pos, *want);
		return (ssize_t)*want;
	}
	fpos = pos -= e->xattr_data;
	if (e->flags & TV_EF_SPARSE) {
		/* D is read in order: the region only moves forward */
		for (;;) {
			tv_sparse_region(e->sparse, j->reg_i, &s, &l);
			if (pos < j->reg_base + l)
				break;
			j->reg_base += l;
			j->reg_i++;
		}
		fpos = s + (pos - j->reg_base);
		if (*want > j->reg_base + l - pos)
			*want = (size_t)(j->reg_base + l - pos);
	}
	return pread(fd, dst, *want, (off_t)fpos);
}

/* A read of the item's data that gave nothing (n == 0: the file shrank)
 * or failed (n < 0): the rest of the promised size is zeros, and the item
 * is named once (*bad) as changed or unreadable. */
static ssize_t item_read_short(struct wjob *j, ssize_t n, uint8_t *dst, size_t want, int *bad)
{
	const char *path = j->e->path;

	if (!*bad && n == 0) {
		tv_warn(j->h, "%s: changed while it was read (it shrank: padded with zeros)", path);
		j->changed = 1;   /* named with its index once it is stored */
	} else if (!*bad) {
		char why[160];
		snprintf(why, sizeof(why), "unreadable: read error: %s (the rest is zeros)",
		         strerror(errno));
		tv_warn(j->h, "%s: %s", path, why);
		problem(j, path, why, (int64_t)j->e->file_index);
	}
	*bad = 1;
	memset(dst, 0, want);
	return (ssize_t)want;
}

/* The data D of a regular file after its header, read(2) straight into
 * the frames; a data file that should end inside it continues it as its
 * next part.  A stop request ends it where it is (j->cut). */
static int item_data(struct wjob *j, int fd, uint64_t done)
{
	struct tv_entry *e = j->e;
	uint64_t dsize = tv_entry_data_size(e);
	int bad = 0, r;

	j->reg_i = 0;
	j->reg_base = 0;
	while (done < dsize) {
		uint8_t *dst;
		size_t room, want;
		ssize_t n;
		if (tv_stop_requested()) {
			j->cut = 1;   /* the rest of this item never comes */
			return TV_ERR_INTERRUPTED;
		}
		if ((r = tv_twriter_reserve(j->s.w, &dst, &room)) != 0)
			return r;
		want = dsize - done < room ? (size_t)(dsize - done) : room;
		n = bad ? 0 : item_read(j, fd, done, dst, &want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			n = item_read_short(j, n, dst, want, &bad);
		if ((r = tv_twriter_commit(j->s.w, (size_t)n)) != 0)
			return r;
		if (done >= e->xattr_data)
			j->bytes += (uint64_t)n;
		done += (uint64_t)n;
		if (tv_write_test_hook != NULL)
			tv_write_test_hook(e->path, done);
		tv_progress_update(&j->prog, j->bytes);
		if (done < dsize && want_split(j) && (r = split_item(j, done)) != 0)
			return r;
	}
	if (e->flags & TV_EF_SPARSE)
		j->bytes += e->size - (dsize - e->xattr_data);   /* the holes */
	return 0;
}

/* The item's xattr list into j->xa; those that cannot be read are named
 * (by fsmeta) and the item is a problem of the set. */
static int item_xattrs(struct wjob *j, int fd, int dfd, const char *name)
{
	uint64_t missed = 0;
	int r;

	r = tv_fsmeta_xattrs(j->fm, fd, dfd, name, j->e->path, &j->xa, &missed);
	if (r == 0 && missed > 0)
		problem(j, j->e->path, "stored without some of its extended attributes",
		        (int64_t)j->file_index);
	return r;
}

/* A regular file: opened, its xattrs and holes found; a small one read
 * whole now (the header can say what it is, one read(2)). */
static int item_reg(struct wjob *j, int dfd, const char *name, const struct stat *sb,
                    int *fd, size_t *small_len, int *small)
{
	struct tv_entry *e = j->e;
	uint8_t magic[8];
	ssize_t m;
	int r;

	e->ftype = TV_FT_REG;
	*fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0) {
		char why[160];
		snprintf(why, sizeof(why), "unreadable: cannot open: %s", strerror(errno));
		tv_warn(j->h, "%s: %s (skipped)", e->path, why + 12);
		problem(j, e->path, why, -1);
		return 1;
	}
	/* the file as opened is what is stored, and what it is compared with
	 * when it has been read (check_changed) */
	if (fstat(*fd, &j->st0) != 0 || !S_ISREG(j->st0.st_mode))
		j->st0 = *sb;
	j->cst = j->st0;
	e->size = (uint64_t)j->st0.st_size;
	e->mtime_sec = j->st0.st_mtim.tv_sec;
	e->mtime_nsec = (uint64_t)j->st0.st_mtim.tv_nsec;
	if (tv_write_test_hook != NULL)
		tv_write_test_hook(e->path, 0);
	if ((r = item_xattrs(j, *fd, dfd, name)) != 0 || (r = item_sparse(j, *fd, &j->st0)) != 0)
		return r;
	place_xattrs(j);
	if (e->size <= SMALL_FILE && !(e->flags & (TV_EF_SPARSE | TV_EF_XATTR_DATA))) {
		if (read_full(*fd, j->small, (size_t)e->size, small_len) != 0) {
			char why[160];
			snprintf(why, sizeof(why), "unreadable: read error: %s", strerror(errno));
			tv_warn(j->h, "%s: %s (skipped)", e->path, why + 12);
			problem(j, e->path, why, -1);
			return 1;
		}
		*small = 1;
		if (tv_backup_probe_encrypted(j->small, *small_len))
			e->flags |= TV_EF_INNER_ENCRYPTED;
		return 0;
	}
	m = pread(*fd, magic, sizeof(magic), 0);
	posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (m >= 8 && tv_backup_probe_encrypted(magic, (size_t)m))
		e->flags |= TV_EF_INNER_ENCRYPTED;
	return 0;
}

/* Anything but a regular file or a hard link: 0 to store it, 1 when it
 * is passed over (said), or an error. */
static int item_other(struct wjob *j, int dfd, const char *name, const struct stat *sb)
{
	struct tv_entry *e = j->e;
	int r;

	if (S_ISDIR(sb->st_mode)) {
		e->ftype = TV_FT_DIR;
	} else if (S_ISLNK(sb->st_mode)) {
		ssize_t n;
		e->ftype = TV_FT_SYMLINK;
		n = readlinkat(dfd, name, e->link, sizeof(e->link) - 1);
		if (n <= 0) {
			char why[160];
			snprintf(why, sizeof(why), "unreadable: cannot read link: %s",
			         n < 0 ? strerror(errno) : "empty target");
			tv_warn(j->h, "%s: %s (skipped)", e->path, why + 12);
			problem(j, e->path, why, -1);
			return 1;
		}
		e->link[n] = '\0';
	} else if (S_ISFIFO(sb->st_mode)) {
		e->ftype = TV_FT_FIFO;
	} else if (S_ISCHR(sb->st_mode) || S_ISBLK(sb->st_mode)) {
		e->ftype = S_ISCHR(sb->st_mode) ? TV_FT_CHR : TV_FT_BLK;
		e->rdev_major = major(sb->st_rdev);
		e->rdev_minor = minor(sb->st_rdev);
	} else if (S_ISSOCK(sb->st_mode)) {
		/* made by the program that listens on it, not restored: a note */
		tv_info(j->h, "%s: a socket, not stored", e->path);
		return 1;
	} else {
		tv_warn(j->h, "%s: a file of an unknown type (mode 0%o): skipped", e->path,
		        (unsigned)sb->st_mode);
		problem(j, e->path, "skipped: a file of an unknown type", -1);
		return 1;
	}
	if ((r = item_xattrs(j, -1, dfd, name)) != 0)
		return r;
	place_xattrs(j);
	return 0;
}

/* The entry fields every item starts from. */
static void item_reset(struct wjob *j, const struct stat *sb)
{
	struct tv_entry *e = j->e;

	e->path[0] = '\0';
	e->link[0] = '\0';
	e->flags = 0;
	e->offset = 0;
	e->part = 1;
	e->size = 0;
	e->mode = sb->st_mode & 07777;
	e->uid = sb->st_uid;
	e->gid = sb->st_gid;
	e->mtime_sec = sb->st_mtim.tv_sec;
	e->mtime_nsec = (uint64_t)sb->st_mtim.tv_nsec;
	e->rdev_major = e->rdev_minor = 0;
	e->sparse = NULL;
	e->sparse_len = 0;
	e->xattrs = NULL;
	e->xattrs_len = 0;
	e->xattr_data = 0;
	tv_buf_reset(&j->xa);
	j->changed = 0;
	j->cut = 0;
	j->cst = *sb;
	item_names(j, sb);
}

/* The entry of j->e (its fields set) and its data: a small file's from
 * j->small, a larger one's read from fd; then it is checked for changes,
 * and the data file may end after it. */
static int store_body(struct wjob *j, int fd, size_t small_len, int small, uint64_t part,
                      uint64_t off)
{
	struct tv_entry *e = j->e;
	int r;

	if ((r = ensure_data(j)) != 0)
		return r;
	tlog_put(j, part == 1 ? 'I' : 'C', part, off, e->path, NULL);
	e->part = part;
	e->offset = off;
	if ((r = put_header(j)) != 0)
		return r;
	tv_progress_item(&j->prog, j->bytes, e->path);
	if (small) {
		if (small_len < e->size) {
			tv_warn(j->h, "%s: changed while it was read (it shrank: padded with zeros)",
			        e->path);
			j->changed = 1;
			memset(j->small + small_len, 0, (size_t)e->size - small_len);
		}
		if ((r = tv_twriter_write(j->s.w, j->small, (size_t)e->size)) != 0)
			return r;
		j->bytes += e->size;
	} else if (e->ftype == TV_FT_REG && (r = item_data(j, fd, off)) != 0) {
		return r;
	}
	if (fd >= 0)
		check_changed(j, fd);
	j->files++;
	if (!want_split(j))
		return 0;
	/* the next item begins a new data file (or a new tape) */
	if ((r = end_data(j, 0)) == 0 && tv_twriter_ew(j->s.w))
		r = finish_tape(j);
	return r;
}

/* The item j->e (its fields set): from its first part, or when it is
 * written again after a tape failed (j->rs), with the index it had and
 * from the part that tape took.  ITEM_RETRY: a tape failed before the item
 * reached it, write it from the start. */
static int store_item(struct wjob *j, int fd, size_t small_len, int small)
{
	int again = j->rs.idx >= 0, listed = 0, r;
	uint64_t idx = again ? (uint64_t)j->rs.idx : j->file_index;

	if (tv_stop_requested())
		return TV_ERR_INTERRUPTED;   /* not begun: no tape taken for it */
	j->e->file_index = idx;
	j->item_bytes0 = j->bytes;
	r = store_body(j, fd, small_len, small, again ? j->rs.part : 1, again ? j->rs.off : 0);
	if (tape_error(j, r)) {
		if ((r = tape_failed(j, r, idx, &listed)) == 0 && !listed)
			return ITEM_RETRY;
	}
	if (r == 0 && !again)
		j->file_index++;
	return r;
}

/* The item at j->rel, whose stat failed with err: skipped, said. */
static void stat_skipped(struct wjob *j, int err)
{
	char why[160];

	snprintf(why, sizeof(why), "skipped: %s", strerror(err));
	tv_warn(j->h, "%s: %s (skipped)", j->rel, why + 9);
	problem(j, j->rel, why, -1);
}

/* One item: a regular file (or another name of one: a hard link), a
 * directory, a symbolic link, a FIFO or a device node. */
static int write_item_once(struct wjob *j, int dfd, const char *name, struct stat *sb,
                           int *early)
{
	struct tv_entry *e = j->e;
	size_t small_len = 0, rl = strlen(j->rel);
	int fd = -1, r = 0, small = 0;

	if (rl >= sizeof(e->path)) {
		tv_warn(j->h, "%s: path too long, skipped", j->rel);
		problem(j, j->rel, "skipped: path too long", -1);
		return 0;
	}
	if (j->level != TV_LEVEL_FULL && j->rs.idx < 0 &&
	    (r = tv_ptree_unchanged(j->prev, j->rel, sb)) != 0) {
		if (r < 0)
			return r;
		j->unchanged++;   /* the earlier set's copy stands for it */
		return 0;
	}
	if (*early) {
		/* stat'ed ahead of the walk (prestat.h): what is stored is the
		 * item as it is now */
		if (fstatat(dfd, name, sb, AT_SYMLINK_NOFOLLOW) != 0) {
			stat_skipped(j, errno);
			return 0;
		}
		*early = 0;
	}
	item_reset(j, sb);
	memcpy(e->path, j->rel, rl + 1);
	if (S_ISREG(sb->st_mode) && sb->st_nlink > 1) {
		/* a name of a file met before: a hard link to its first name */
		int err;
		const char *first = hl_first(&j->links, sb->st_dev, sb->st_ino, e->path, &err);
		if (err != 0)
			return err;
		if (first != NULL && strcmp(first, e->path) != 0) {   /* not itself, again */
			e->ftype = TV_FT_HARDLINK;
			e->size = (uint64_t)sb->st_size;
			snprintf(e->link, sizeof(e->link), "%s", first);
			return store_item(j, -1, 0, 0);
		}
	}
	r = S_ISREG(sb->st_mode) ? item_reg(j, dfd, name, sb, &fd, &small_len, &small)
	                         : item_other(j, dfd, name, sb);
	if (r == 0)
		r = store_item(j, fd, small_len, small);
	else if (r > 0)
		r = 0;   /* passed over (said) */
	if (fd >= 0)
		close(fd);
	return r;
}

/* sb: a stat of the item, taken now, or with its directory's entries
 * (early: then taken again when it is stored) */
static int write_item(struct wjob *j, int dfd, const char *name, const struct stat *sb,
                      int early)
{
	struct stat cur = *sb;
	int r;

	while ((r = write_item_once(j, dfd, name, &cur, &early)) == ITEM_RETRY)
		;
	return r;
}

/* An item of a failed tape's log, written again: from the start ('I'), or
 * from the part that tape took ('C', only if the file is still as it was
 * opened, since its earlier parts are on an earlier tape). */
static int resend_one(struct wjob *j, const struct tlrec *t, const char *path,
                      const char *reason)
{
	char abs[TV_PATH_MAX + 2], *slash;
	struct stat sb;
	int dfd, r = 0;

	(void)reason;
	if (snprintf(abs, sizeof(abs), "/%s", path) >= (int)sizeof(abs))
		return tv_errf(TV_ERR_RANGE, "%s: path too long", path);
	snprintf(j->rel, sizeof(j->rel), "%s", path);
	slash = strrchr(abs, '/');
	*slash = '\0';
	dfd = open(abs[0] ? abs : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (dfd < 0 || fstatat(dfd, slash + 1, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		char why[160];
		snprintf(why, sizeof(why), "not stored: gone before it could be written again "
		         "after a tape failed (%s)", strerror(errno));
		tv_warn(j->h, "%s: %s", path, why);
		j->e->file_index = t->idx;
		problem(j, path, why, t->kind == 'C' ? (int64_t)t->idx : -1);
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	j->rs.idx = (int64_t)t->idx;
	j->rs.part = t->kind == 'C' ? t->part : 1;
	j->rs.off = t->kind == 'C' ? t->off : 0;
	if (t->kind == 'I') {
		r = write_item(j, dfd, slash + 1, &sb, 0);
	} else {
		/* its earlier parts are on tape: the rest must be of the same file */
		int fd = -1, small = 0;
		size_t small_len = 0;
		do {
			item_reset(j, &sb);
			memcpy(j->e->path, path, strlen(path) + 1);
			j->e->file_index = t->idx;
			r = S_ISREG(sb.st_mode) ? item_reg(j, dfd, slash + 1, &sb, &fd, &small_len,
			                                   &small) : 1;
			if (r == 0 && ((uint64_t)j->st0.st_size != t->size ||
			               (uint64_t)j->st0.st_ino != t->ino ||
			               (int64_t)j->st0.st_mtim.tv_sec != t->mtime ||
			               (uint64_t)j->st0.st_mtim.tv_nsec != t->mtime_ns ||
			               (int64_t)j->st0.st_ctim.tv_sec != t->ctime ||
			               (uint64_t)j->st0.st_ctim.tv_nsec != t->ctime_ns || small)) {
				tv_warn(j->h, "%s: changed before its part %llu could be written again "
				        "after a tape failed: stored without it", path,
				        (unsigned long long)t->part);
				problem(j, path, "changed while it was read: its later parts were lost "
				        "with a failed tape", (int64_t)t->idx);
				r = 1;
			}
			if (r == 0)
				r = store_item(j, fd, small_len, small);
			else if (r > 0 && r != ITEM_RETRY)
				r = 0;
			if (fd >= 0)
				close(fd);
			fd = -1;
		} while (r == ITEM_RETRY);
	}
	j->rs.idx = -1;
	close(dfd);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of directory d, sorted (a deterministic tape order), in one
 * arena: no allocation per file.  *names and *arena are the caller's to
 * free, also after an error. */
static int dir_names(DIR *d, char ***names, char **arena, size_t *count)
{
	struct dirent *de;
	size_t n = 0, cap = 0, alen = 0, acap = 0;

	while ((de = readdir(d)) != NULL) {
		size_t l;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		l = strlen(de->d_name) + 1;
		if (alen + l > acap) {
			char *na;
			acap = acap ? acap * 2 : 4096;
			while (acap < alen + l)
				acap *= 2;
			if ((na = realloc(*arena, acap)) == NULL)
				return TV_ERR_NOMEM;
			*arena = na;
		}
		memcpy(*arena + alen, de->d_name, l);
		if (n == cap) {
			char **nn;
			cap = cap ? cap * 2 : 64;
			if ((nn = realloc(*names, cap * sizeof(**names))) == NULL)
				return TV_ERR_NOMEM;
			*names = nn;
		}
		(*names)[n++] = (char *)(uintptr_t)alen;   /* an offset until the arena settles */
		alen += l;
	}
	for (size_t i = 0; i < n; i++)
		(*names)[i] = *arena + (uintptr_t)(*names)[i];
	if (n > 1)   /* an empty directory has no array to sort */
		qsort(*names, n, sizeof(**names), cmp_names);
	*count = n;
	return 0;
}

/* Item `name` in directory dfd, stored as j->rel; then, for a directory,
 * its entries, names sorted (a deterministic tape order).  pre: its stat
 * taken with its directory's entries (an incremental), or NULL; pre_err
 * that stat's errno. */
static int walk(struct wjob *j, int dfd, const char *name, int depth, const struct stat *pre,
                int pre_err)
{
	struct stat sb;
	struct tv_pbatch batch;
	DIR *d;
	char **names = NULL, *arena = NULL;
	size_t n = 0, rl;
	int r = 0, cfd, early = pre != NULL, pushed = 0, err = 0;

	if (tv_stop_requested())
		return TV_ERR_INTERRUPTED;   /* between two items: nothing cut */
	if (pre != NULL) {
		sb = *pre;
		err = pre_err;
	} else if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		err = errno;
	}
	if (err != 0) {
		stat_skipped(j, err);
		return 0;
	}
	if ((S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode)) && skipped_state(j, &sb))
		return 0;   /* the installation's own state: said once */
	if (j->rel[0] != '\0' && excluded(j))
		return 0;   /* with its contents */
	if (j->rel[0] != '\0' && (r = write_item(j, dfd, name, &sb, early)) != 0)
		return r;   /* "/" itself has no entry: its contents do */
	if (!S_ISDIR(sb.st_mode))
		return 0;
	if (j->one_fs && depth > 0 && sb.st_dev != j->root_dev) {
		tv_verbose(j->h, "/%s: another file system, not descended into "
		           "(--one-file-system)", j->rel);
		return 0;   /* the mount point itself is stored, as tar does */
	}
	if (depth > 4000) {
		tv_warn(j->h, "%s: directories nested too deep (skipped)", j->rel);
		problem(j, j->rel, "skipped: its contents are nested too deep", -1);
		return 0;
	}
	cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0 || (d = fdopendir(cfd)) == NULL) {
		char why[160];
		snprintf(why, sizeof(why), "unreadable: cannot read directory: %s",
		         strerror(errno));
		tv_warn(j->h, "%s: %s (its contents skipped)", j->rel, why + 12);
		problem(j, j->rel, why, -1);
		if (cfd >= 0)
			close(cfd);
		return 0;
	}
	if ((r = dir_names(d, &names, &arena, &n)) != 0)
		goto out;
	if (j->pst != NULL && n > 0) {
		/* an incremental: mostly stats, taken ahead on another thread */
		if ((r = tv_prestat_push(j->pst, &batch, depth, dirfd(d), names, n)) != 0)
			goto out;
		pushed = 1;
	}
	rl = strlen(j->rel);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t l = strlen(names[i]);
		const struct stat *st = NULL;
		int st_err = 0;
		if (rl + 1 + l >= sizeof(j->rel)) {
			char p[TV_PATH_MAX + 64];
			snprintf(p, sizeof(p), "%s/%.*s", j->rel, 60, names[i]);
			tv_warn(j->h, "%s/%s: path too long, skipped", j->rel, names[i]);
			problem(j, p, "skipped: path too long", -1);
			continue;
		}
		if (rl > 0)
			j->rel[rl] = '/';
		memcpy(j->rel + rl + (rl > 0), names[i], l + 1);
		/* (stat'ed long before, while an earlier entry was stored or
		 * walked: none, stat'ed again) */
		if (pushed)
			st = tv_prestat_get(j->pst, &batch, i, &st_err);
		r = walk(j, dirfd(d), names[i], depth + 1, st, st_err);
		j->rel[rl] = '\0';
	}
out:
	if (pushed)
		tv_prestat_pop(j->pst, &batch);   /* before its directory closes */
	closedir(d);
	free(names);
	free(arena);
	return r;
}

static uint64_t tree_bytes(int dfd, const char *name, int depth)
{
	struct stat sb;
	uint64_t sum = 0;
	struct dirent *de;
	DIR *d;
	int cfd;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (!S_ISDIR(sb.st_mode))
		return S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	if (depth > 64)
		return 0;
	cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0 || (d = fdopendir(cfd)) == NULL) {
		if (cfd >= 0)
			close(cfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			sum += tree_bytes(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return sum;
}

/* Stored name of a source argument: its absolute path, normalised
 * lexically (no "", "." or ".." components), without the leading '/'
 * (tar's rule), so sources with the same last component never collide.
 * "/" itself is "": its entries are stored under their own names. */
static int stored_name(const char *path, char *out, size_t outsz)
{
	char abs[PATH_MAX * 2];
	size_t n = 0;
	char *save = NULL, *c;

	if (path[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return tv_errf(TV_ERR_IO, "current directory: %s", strerror(errno));
		if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= sizeof(abs))
			return tv_errf(TV_ERR_RANGE, "%s: path too long", path);
	}
	out[0] = '\0';
	for (c = strtok_r(abs, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			char *s = strrchr(out, '/');
			n = s != NULL ? (size_t)(s - out) : 0;
			out[n] = '\0';
			continue;
		}
		if (n + (n > 0) + strlen(c) + 1 > outsz)
			return tv_errf(TV_ERR_RANGE, "%s: path too long to store", path);
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", n > 0 ? "/" : "", c);
	}
	return 0;
}

static int prepare_rows(struct wjob *j)
{
	int r;

	if ((r = tv_db_prepare(j->h->db, &j->ins_file,
	                       "INSERT INTO files(set_id, idx, path, ftype, mode, uid, gid,"
	                       " mtime_sec, mtime_nsec, size, link, eflags, tseq, file_no,"
	                       " frame_off, entry_off, ext, ctime_sec, ctime_nsec, ino) "
	                       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
	    != 0 ||
	    (r = tv_db_prepare(j->h->db, &j->ins_part,
	                       "INSERT INTO parts(set_id, idx, part, off, tseq, file_no,"
	                       " frame_off, entry_off) VALUES(?,?,?,?,?,?,?,?)")) != 0 ||
	    (r = tv_db_prepare(j->h->db, &j->upd_nparts,
	                       "UPDATE files SET nparts=? WHERE set_id=? AND idx=?")) != 0)
		return r;
	return 0;
}

/* The pool, the library, what every item reuses, the prepared rows. */
static int job_setup(struct wjob *j, const char *pool, char *const *paths, size_t npaths,
                     const struct tv_write_opts *o)
{
	struct tv_fsmeta_opts fo = { o != NULL && o->no_xattrs, 0 };
	char libname[TV_NAME_MAX] = "";
	struct tv_stmt *q;
	int r;

	j->wo.record_size = o && o->record_size ? o->record_size : TV_RECORD_SIZE_DEFAULT;
	j->wo.placed = on_placed;
	j->wo.placed_ctx = j;
	j->tape_file_size = o && o->tape_file_size ? o->tape_file_size : TAPE_FILE_SIZE_DEFAULT;
	j->level = o != NULL ? o->level : TV_LEVEL_FULL;
	if (j->level < TV_LEVEL_FULL || j->level > TV_LEVEL_DIFFERENTIAL)
		return tv_errf(TV_ERR_INVAL, "write: unknown level %d", j->level);
	if (o != NULL) {
		j->excludes = o->excludes;
		j->nexcludes = o->nexcludes;
		j->one_fs = o->one_file_system;
	}
	skips_setup(j);
	if ((r = tv_pool_get(j->h, pool, &j->pool)) != 0)
		return r;
	if (j->pool.imported)
		return tv_errf(TV_ERR_STATE, "pool '%s' was imported from tapes written elsewhere: "
		               "create a pool of this installation to write to", pool);
	if ((r = tv_compression_parse(j->pool.compression, &j->wo.comp)) != 0)
		return tv_errctx(r, "pool '%s'", pool);
	for (size_t i = 0; i < npaths; i++) {
		struct stat sb;
		if (lstat(paths[i], &sb) != 0)
			return tv_errf(TV_ERR_NOTFOUND, "%s: %s", paths[i], strerror(errno));
	}
	if ((j->e = calloc(1, sizeof(*j->e))) == NULL || (j->small = malloc(SMALL_FILE)) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_fsmeta_new(&j->fm, j->h, &fo)) != 0)
		return r;
	if ((r = tv_db_query(j->h->db, &q, "SELECT name FROM libraries WHERE id=?", "i",
	                     j->pool.library_id)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1)
		snprintf(libname, sizeof(libname), "%s", tv_stmt_text(q, 0));
	tv_stmt_free(q);
	if (r < 0 || (r = tv_lib_open_by_name(j->h, libname, &j->lib, &j->lib_id)) != 0)
		return r;
	return prepare_rows(j);
}

/* The media set and the set's row (in the job's first transaction). */
static int begin_set(struct wjob *j, const char *pool, const struct tv_write_opts *o)
{
	char uuidstr[37];
	int r;

	if ((r = open_media_set(j)) != 0 || (r = tv_uuid_new(j->set_uuid)) != 0)
		return r;
	tv_uuid_to_str(j->set_uuid, uuidstr);
	j->created = tv_now();
	if (o && o->set_name && *o->set_name)
		snprintf(j->set_name, sizeof(j->set_name), "%s", o->set_name);
	else
		snprintf(j->set_name, sizeof(j->set_name), "%s-%llu", pool,
		         (unsigned long long)j->created);
	if (j->level != TV_LEVEL_FULL && (r = load_parent(j)) != 0)
		return r;
	r = tv_db_exec(j->h->db,
	               "INSERT INTO backup_sets(uuid, name, pool_id, media_set_id, created, pid,"
	               " level, parent_uuid) VALUES(?,?,?,?,?,?,?,?)",
	               "btiiiiib", j->set_uuid, (size_t)16, j->set_name, j->pool.id, j->ms_id,
	               (int64_t)j->created, (int64_t)getpid(), (int64_t)j->level,
	               j->level != TV_LEVEL_FULL ? j->parent_uuid : NULL, (size_t)16);
	if (r != 0)
		return r;
	j->set_id = tv_db_last_id(j->h->db);
	{
		/* while it runs: 'servers' shows it, and if its process dies the
		 * set is marked failed once the lease expires */
		char res[64];
		int got;
		snprintf(res, sizeof(res), "job:%s", uuidstr);
		if ((r = tv_lease_take(res, j->set_uuid, &got, NULL, 0)) != 0)
			return r;
	}
	tv_log(j->h, "backup set %s '%s' to pool %s", uuidstr, j->set_name, pool);
	if (j->level != TV_LEVEL_FULL) {
		char pu[37];
		tv_uuid_to_str(j->parent_uuid, pu);
		tv_info(j->h, "%s backup of '%s' based on set %s (%zu set(s) in its chain)",
		        j->level == TV_LEVEL_INCREMENTAL ? "incremental" : "differential",
		        j->set_name, pu, j->nchain);
	}
	return 0;
}

/* Every source path, walked; TV_ERR_INTERRUPTED when a signal stopped it. */
static int walk_sources(struct wjob *j, char *const *paths, size_t npaths)
{
	double t0;
	int r = 0;

	if (j->level != TV_LEVEL_FULL && (r = tv_prestat_new(&j->pst, 1)) != 0)
		return r;
	tv_progress_start(&j->prog, j->h, "writing", 0);
	if (j->prog.active)
		for (size_t i = 0; i < npaths; i++)
			j->prog.total += tree_bytes(AT_FDCWD, paths[i], 0);
	t0 = tv_mono();
	for (size_t i = 0; i < npaths && r == 0; i++) {
		struct stat sb;
		if (stat(paths[i], &sb) == 0)
			j->root_dev = sb.st_dev;   /* --one-file-system: the source's own */
		if ((r = stored_name(paths[i], j->rel, sizeof(j->rel))) == 0)
			r = walk(j, AT_FDCWD, paths[i], 0, NULL, 0);
	}
	tv_progress_end(&j->prog);
	tv_verbose(j->h, "the walk: %.2f s", tv_mono() - t0);
	if (r == 0 && j->prev != NULL && (r = tv_ptree_wait(j->prev)) == 0)
		tv_verbose(j->h, "the parent's tree: %llu item(s), loaded from the catalog in "
		           "%.2f s while the walk ran", (unsigned long long)tv_ptree_items(j->prev),
		           tv_ptree_load_seconds(j->prev));
	return r;
}

/* The item a signal cut (its header and some of its data are on tape,
 * ending a data file that says it continues): no row, a problem. */
static int drop_cut(struct wjob *j)
{
	int r;

	j->bytes = j->item_bytes0;
	if ((r = tv_db_exec(j->h->db, "DELETE FROM parts WHERE set_id=? AND idx=?", "ii",
	                    j->set_id, (int64_t)j->e->file_index)) != 0 ||
	    (r = tv_db_exec(j->h->db, "DELETE FROM files WHERE set_id=? AND idx=?", "ii",
	                    j->set_id, (int64_t)j->e->file_index)) != 0)
		return r;
	tv_warn(j->h, "%s: not stored: the job was stopped while it was read", j->e->path);
	problem(j, j->e->path, "interrupted: not stored (the job was stopped while it was read)",
	        -1);
	return 0;
}

/* The end of the set: its last data file ends (an item cut by a signal
 * continues nowhere), its figures and state are recorded, its last tape
 * gets its catalog, and all of it commits.  state: complete, partial or
 * interrupted; an interrupted set between two tapes has no tape to end. */
static int finish_set(struct wjob *j, const char *state)
{
	int interrupted = strcmp(state, "interrupted") == 0, r;

	if (!j->have_tape && !interrupted && (r = next_tape(j)) != 0)
		return r;      /* empty source: still a (empty) set on tape */
	if (j->have_tape) {
		if ((r = end_data(j, j->cut)) != 0 || (r = tv_twriter_sync(j->s.w)) != 0)
			return r;
		if (j->cut && (r = drop_cut(j)) != 0)
			return r;
	}
	if ((r = mark_changed(j)) != 0)
		return r;
	if (j->problem_err != 0)
		return tv_errctx(j->problem_err, "recording the items not stored whole");
	r = tv_db_exec(j->h->db,
	               "UPDATE backup_sets SET complete=?, state=?, nfiles=?, nbytes=?,"
	               " stored_bytes=? WHERE id=?", "itiiii", (int64_t)!interrupted, state,
	               (int64_t)j->files, (int64_t)j->bytes, (int64_t)j->stored, j->set_id);
	if (r != 0)
		return r;
	if (j->have_tape) {
		if ((r = tv_db_exec(j->h->db, "UPDATE backup_sets SET last_seq=? WHERE id=?", "ii",
		                    (int64_t)j->s.seq, j->set_id)) != 0 ||
		    (r = put_names(j)) != 0 || (r = tv_session_finish(&j->s)) != 0)
			return r;
		j->have_tape = 0;
		unload_done(j->h, j->lib, j->drive);
	}
	return tv_db_commit(j->h->db);
}

/* What the job ends with, said: the set's state and the exit it means. */
static int job_outcome(struct wjob *j, int interrupted, const char *pool)
{
	char u[37];

	tv_uuid_to_str(j->set_uuid, u);
	if (j->level != TV_LEVEL_FULL)
		tv_log(j->h, "backup set %s: %s, %llu item(s) unchanged, %llu deleted", u,
		       j->level == TV_LEVEL_INCREMENTAL ? "incremental" : "differential",
		       (unsigned long long)j->unchanged, (unsigned long long)j->deleted);
	tv_log(j->h, "backup set %s: %s, %llu files, %llu bytes, %llu bytes on tape, %llu "
	       "tape(s)", u, interrupted ? "interrupted" : j->skipped ? "partial" : "complete",
	       (unsigned long long)j->files, (unsigned long long)j->bytes,
	       (unsigned long long)j->stored, (unsigned long long)j->tapes);
	for (unsigned k = 0; k < j->failed_tapes; k++)
		tv_warn(j->h, "tape %s failed during this job: everything the job had written to it "
		        "was written again to another tape (nothing of the set is on %s); check it "
		        "with 'tapevault verify' or retire it", j->failed[k], j->failed[k]);
	if (interrupted)
		return tv_errf(TV_ERR_INTERRUPTED, "stopped by %s: backup set %s is marked "
		               "interrupted (%llu item(s) stored; its tapes stay appendable: the "
		               "next write to pool %s continues them)", tv_stop_name(), u,
		               (unsigned long long)j->files, pool);
	if (j->skipped > 0)
		return tv_errf(TV_ERR_PARTIAL, "%llu item(s) were not stored whole (skipped, "
		               "unreadable or changed while read, named above): backup set %s is "
		               "marked partial ('tapevault backups %s' lists them)",
		               (unsigned long long)j->skipped, u, u);
	return 0;
}

static void job_free(struct wjob *j)
{
	tv_stmt_free(j->ins_file);
	tv_stmt_free(j->ins_part);
	tv_stmt_free(j->upd_nparts);
	tv_vlib_close(j->lib);
	tv_buf_free(&j->eb);
	tv_buf_free(&j->xa);
	tv_buf_free(&j->map);
	tv_fsmeta_free(j->fm);
	if (j->tlog != NULL)
		fclose(j->tlog);
	hl_free(&j->links);
	tv_ptree_free(j->prev);
	tv_prestat_free(j->pst);
	free(j->e);
	free(j->side);
	free(j->small);
}

int tv_job_write(struct tv_home *h, const char *pool, char *const *paths, size_t npaths,
                 const struct tv_write_opts *o, struct tv_write_result *res)
{
	struct wjob j;
	int r, in_tx = 0, interrupted = 0, leases = 0;

	tv_errclear();   /* a new job: no earlier failure's detail */

	memset(&j, 0, sizeof(j));
	memset(res, 0, sizeof(*res));
	tv_buf_init(&j.eb);
	tv_buf_init(&j.xa);
	tv_buf_init(&j.map);
	j.h = h;
	j.rs.idx = -1;
	j.drive = -1;
	snprintf(h->job, sizeof(h->job), "write");
	if ((r = job_setup(&j, pool, paths, npaths, o)) != 0)
		goto out;
	if ((r = tv_lease_open(h, "write")) != 0)
		goto out;
	leases = 1;
	if ((r = tv_db_begin(h->db)) != 0)
		goto out;
	in_tx = 1;
	if ((r = begin_set(&j, pool, o)) != 0)
		goto out;
	r = walk_sources(&j, paths, npaths);
	if (r == 0 && j.level != TV_LEVEL_FULL)
		r = record_deleted(&j);
	if (r == TV_ERR_INTERRUPTED && j.tapes == 0) {
		/* nothing reached a tape: no set, every tape stays as it was */
		r = tv_errf(TV_ERR_INTERRUPTED, "stopped by %s before anything was written: no "
		            "backup set was made", tv_stop_name());
		goto out;
	}
	if (r == TV_ERR_INTERRUPTED)
		interrupted = 1;
	else if (r != 0)
		goto out;
	/* a tape that fails at the end: its part is written again, then the
	 * end comes again (with the deletions, which the failure undid) */
	while ((r = finish_set(&j, interrupted ? "interrupted" : j.skipped ? "partial" :
	                       "complete")) != 0 && !interrupted && tape_error(&j, r)) {
		int listed;
		if ((r = tape_failed(&j, r, UINT64_MAX, &listed)) != 0)
			goto out;
		if (j.level != TV_LEVEL_FULL &&
		    ((r = tv_db_exec(h->db, "DELETE FROM set_deleted WHERE set_id=?", "i",
		                     j.set_id)) != 0 || (r = record_deleted(&j)) != 0))
			goto out;
	}
	if (r != 0)
		goto out;
	in_tx = 0;
	if (j.files >= 50000)
		tv_home_refresh_stats(h);   /* PostgreSQL: plans for a larger catalog */
	memcpy(res->set_uuid, j.set_uuid, 16);
	res->files = j.files;
	res->bytes = j.bytes;
	res->tapes = j.tapes;
	res->stored = j.stored;
	res->level = j.level;
	memcpy(res->parent_uuid, j.parent_uuid, 16);
	res->unchanged = j.unchanged;
	res->deleted = j.deleted;
	if (j.nexcluded > 0)
		tv_info(h, "%llu item(s) left out by --exclude", (unsigned long long)j.nexcluded);
	r = job_outcome(&j, interrupted, pool);
out:
	if (j.have_tape) {
		tv_session_abort(&j.s);
		r = tv_lib_unload(j.lib, (unsigned)j.drive, r);
	}
	tv_ptree_free(j.prev);   /* its queries stopped before the rollback */
	j.prev = NULL;
	if (in_tx)
		tv_db_rollback(h->db);
	if (r != 0 && r != TV_ERR_PARTIAL && r != TV_ERR_INTERRUPTED && j.set_id != 0)
		/* a set that earlier tapes committed: it failed */
		tv_db_exec(h->db, "UPDATE backup_sets SET state='failed' WHERE id=? AND state IS "
		           "NULL", "i", j.set_id);
	if (leases)
		tv_lease_close();   /* drive, tapes, media set, job: given back */
	job_free(&j);
	return r;
}
