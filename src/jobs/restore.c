/* tapevault: restore job.
 *
 * Phases: directories first; then regular files in tape order (the order
 * of their index in the set), each part read from where the catalog says
 * it is: the reader seeks to the frame (positioning by tape file and
 * record, reading only the records the entry covers) unless the entry
 * follows closely on what was just read, in which case the stream is read
 * on; every entry header read is checked against the catalog's row before
 * its data is written (a sparse file's regions at their offsets, its holes
 * left as holes); hard links; FIFOs and device nodes; symbolic links last
 * (so no link made by the restore can redirect a file written by it);
 * directory modes and times after everything.  Every item gets its owner
 * (by name where the name exists here), mode, extended attributes and
 * times through jobs/fsmeta.c: a regular file's from its entry header on
 * tape, the others' from the catalog.  Frames are authenticated, decrypted
 * and decompressed by the reader's worker threads while this thread writes
 * files out. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "crypto/password.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "crypto/slot.h"
#include "format/record.h"
#include "jobs/drivecrypt.h"
#include "jobs/fsmeta.h"
#include "jobs/kmsglue.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/restore_int.h"
#include "jobs/writer.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/path.h"
#include "util/stop.h"

static int set_query(struct tv_home *h, const char *sql, const char *ref, int64_t *set_id,
                     uint8_t uuid[16], int *n)
{
	struct tv_stmt *q;
	int r;

	*n = 0;
	if ((r = tv_db_query(h->db, &q, sql, "t", ref)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		size_t len;
		const void *u = tv_stmt_blob(q, 1, &len);
		if (*n == 0) {
			*set_id = tv_stmt_int(q, 0);
			if (u && len == 16)
				memcpy(uuid, u, 16);
		}
		(*n)++;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

int tv_set_lookup(struct tv_home *h, const char *ref, int64_t *set_id, uint8_t uuid[16])
{
	char like[80];
	int r, n = 0;

	/* an exact name, else a (unique) prefix of the id with or without dashes;
	 * a name shared by the sets of an incremental chain (one of them is
	 * not a full) means the newest of them, said */
	if ((r = set_query(h, "SELECT id, uuid FROM backup_sets WHERE name=? ORDER BY created "
	                   "DESC, id DESC", ref, set_id, uuid, &n)) != 0)
		return r;
	if (n > 1) {
		int64_t chained = 0;
		if ((r = tv_db_get_int(h->db, &chained, "SELECT COUNT(*) FROM backup_sets WHERE "
		                       "name=? AND level<>0", "t", ref)) != 0)
			return r;
		if (chained > 0) {
			char u[37];
			tv_uuid_to_str(uuid, u);
			tv_info(h, "'%s' names %d backup sets (an incremental chain): the newest, %s",
			        ref, n, u);
			return 0;
		}
	}
	if (n == 0 && strlen(ref) >= 4 && strlen(ref) < 60 && strspn(ref, "0123456789abcdefABCDEF-") == strlen(ref)) {
		snprintf(like, sizeof(like), "%s%%", ref);
		r = set_query(h, "SELECT id, uuid FROM backup_sets WHERE "
		              " lower(substr(hex(uuid),1,8)||'-'||substr(hex(uuid),9,4)||'-'||"
		              " substr(hex(uuid),13,4)||'-'||substr(hex(uuid),17,4)||'-'||"
		              " substr(hex(uuid),21)) LIKE lower(?1) OR lower(hex(uuid)) LIKE lower(?1)",
		              like, set_id, uuid, &n);
		if (r != 0)
			return r;
	}
	if (n == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no backup set '%s' (see 'tapevault backups')", ref);
	if (n > 1)
		return tv_errf(TV_ERR_INVAL, "'%s' matches %d backup sets: give (more of) the id", ref, n);
	return 0;
}

int tv_restore_safe_path(const char *p)
{
	const char *s = p;

	if (*p == '\0' || *p == '/')
		return 0;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/')
			s++;
	}
	return 1;
}


/* Unlocks job-encrypted backup files for restore --extract: the given
 * password, then registered KMS servers, then stored passwords. */
struct inner_unlock {
	struct tv_home *h;
	const char *pw;
	size_t pwlen;
};

static int inner_unlock_cb(void *ctx, const struct tv_keyslot *slots, size_t n,
                           const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN])
{
	struct inner_unlock *u = ctx;
	char used[300];

	for (size_t i = 0; i < n; i++) {
		const struct tv_keyslot *s = &slots[i];
		if (s->type == TV_SLOT_PASSWORD) {
			char *pw = NULL;
			size_t len = 0;
			if (u->pw != NULL &&
			    tv_slot_password_open(s, uuid, u->pw, u->pwlen, NULL, dek_out) == 0)
				return 0;
			if (tv_keys_password_get(u->h, s->name, &pw, &len) == 0) {
				int r = tv_slot_password_open(s, uuid, pw, len, NULL, dek_out);
				tv_freezero(pw, len + 1);
				if (r == 0)
					return 0;
			}
		} else if (s->type == TV_SLOT_KMS) {
			if (tv_kmsglue_open_slot(u->h, s, uuid, NULL, NULL, dek_out, used,
			                         sizeof(used)) == 0)
				return 0;
		}
	}
	{
		char d[800];
		tv_slots_describe(slots, n, d, sizeof(d));
		return tv_errf(TV_ERR_LOCKED, "no key for this backup file here: it needs %s "
		               "(give --password-file)", d);
	}
}

static int extract_inner(struct tv_home *h, char **files, size_t n, const char *password_file)
{
	struct inner_unlock u = {h, NULL, 0};
	/* the catalog flags these files as job-encrypted: a plaintext one is refused */
	struct tv_unlocker un = {inner_unlock_cb, &u, 1};
	char *pw = NULL;
	size_t pwlen = 0;
	int failed = 0, r;

	if (password_file != NULL) {
		if ((r = tv_password_read(password_file, "Backup password: ", 0, &pw, &pwlen)) != 0)
			return r;
		u.pw = pw;
		u.pwlen = pwlen;
	}
	for (size_t i = 0; i < n; i++) {
		struct tv_backup_stats bs;
		char dest[PATH_MAX + 16];
		memset(&bs, 0, sizeof(bs));
		snprintf(dest, sizeof(dest), "%s.extracted", files[i]);
		r = tv_writer_backup_extract(h, files[i], dest, &un, &bs);   /* signed by whom */
		if (r != 0) {
			tv_warn(h, "%s: %s", files[i], tv_errmsg(r));
			failed++;
			continue;
		}
		tv_info(h, "%s: job-encrypted backup opened into %s (%llu file(s))", files[i], dest,
		        (unsigned long long)bs.files);
	}
	if (pw != NULL)
		tv_freezero(pw, pwlen + 1);
	return failed ? tv_errf(TV_ERR_PARTIAL, "%d job-encrypted backup file(s) could not be "
	                        "opened", failed) : 0;
}


/* An entry this close after the last one read is reached by reading on;
 * farther, by positioning. */
#define READ_ON_LIMIT ((uint64_t)32 << 20)

struct rtape {                  /* the tape being read */
	char barcode[32];
	int64_t ms_id;              /* its media set */
	uint64_t tseq;
	uint8_t uuid[16];
	struct tv_vlib *lib;
	struct tv_lib_use use;      /* its drive (and leases, on a shared catalog) */
	struct tv_tape *t;
	struct tv_treader *rd;
	uint8_t dek[TV_DEK_LEN];
	int have_dek;
	int failed;                 /* not readable here: every part on it fails */
	struct tv_ecursor *c;       /* open on file_no */
	uint64_t file_no;
	uint8_t cuuid[16];
	uint64_t last_frame_off;    /* frame of the last entry read */
	int at_next;                /* the cursor is right after an entry */
	uint64_t checked_file;      /* a data file whose record 0 was checked, +1 */
};

struct rfile {
	int64_t set_id, ms_id;      /* the set whose data it is (an incremental's chain) */
	int64_t idx;
	char path[TV_PATH_MAX];
	char full[PATH_MAX];
	const char *base;           /* last component of full */
	uint64_t size, mode, uid, gid, eflags, nparts;
	int64_t mtime_sec;
	uint64_t mtime_nsec;
	struct tv_loc loc;          /* of part 1 */
	int fd;
	char tmp[48];               /* replacing an existing file: the name written */
	uint64_t written;           /* bytes of its data D */
	const char *uname, *gname;  /* kept by the set (rj->fm), "" when none */
	/* from part 1's header: D's size, the map, the xattr list (from the
	 * header, or gathered from D's start: xattr_data bytes) */
	uint64_t dsize, eflags_tape, xattr_data;
	uint8_t map[TV_SPARSE_MAX * TV_SPARSE_REGION];
	size_t map_len;
	struct tv_buf xa;
	size_t reg_i;               /* writing a sparse file: the region, its start in D */
	uint64_t reg_base;
};

/* A selection pattern: a path or a glob, and how often it matched. */
struct pat {
	char *p;                    /* no leading or trailing '/' */
	int glob;
	size_t lit;                 /* length of its literal leading directories */
	uint64_t hits;
};

/* A set below a full is restored with its chain: the tree as it was at
 * that backup is, per path, the newest item of the chain, less what a
 * later set recorded deleted (temp.rsel); each item is read from the
 * tapes of the set that stored it. */
#define CHAIN_MAX 4096
struct rjob {
	struct tv_home *h;
	const struct tv_restore_opts *o;
	int64_t set_id, ms_id;
	int64_t *chain, *chain_ms;  /* the set and its parents down to a full */
	size_t nchain;
	int64_t cur_set, cur_ms;    /* the set and media set being read */
	char from[192];             /* the FROM and WHERE start of the rows restored */
	int whole;                  /* no selection: read the set's stream on */
	struct rtape rt;
	struct tv_entry *e;         /* entry header as read */
	struct tv_stmt *q_part, *q_tape, *q_data;   /* Q_PART, Q_TAPE, Q_DATA */   /* columns: PC_*, TC_*, one */
	uint64_t nfiles, nfailed, nbytes, parts_read;
	uint64_t nkept;             /* existing items kept (--overwrite never) */
	uint64_t nsetprob;          /* items selected that the set holds not whole */
	uint64_t fail_more;         /* further items on a tape already reported unreadable */
	uint64_t fail_tseq;         /* that tape (+1) */
	struct pat *pats;
	size_t npats;
	char root[PATH_MAX];        /* target root: --to DIR, or "" for --to-original */
	struct tv_progress prog;
	uint64_t pbytes;
	char **inner;
	size_t ninner;
	mode_t old_umask;
	uid_t euid;
	gid_t egid;
	char dir[PATH_MAX];         /* the directory files are being created in */
	int dfd;                    /* open on it (files come in directory order) */
	struct tv_fsmeta *fm;       /* owners by name, xattrs (jobs/fsmeta.c) */
};

/* The prepared statements and the names of their columns. */
#define Q_PART "SELECT part, off, tseq, file_no, frame_off, entry_off FROM parts " \
               "WHERE set_id=? AND idx=? ORDER BY part"
enum { PC_PART, PC_OFF, PC_TSEQ, PC_FILE_NO, PC_FRAME_OFF, PC_ENTRY_OFF };
#define Q_TAPE "SELECT barcode, uuid, locked, encrypted, COALESCE(record_size, 262144) " \
               "FROM tapes WHERE media_set_id=? AND seq=?"
/* The rows of the items restored, as f: of the set, or of its chain. */
#define FROM_SET "files f WHERE f.set_id=?1"
#define FROM_CHAIN "temp.rsel s JOIN files f ON f.set_id=s.sid AND f.idx=s.sidx WHERE ?1=?1"
enum { TC_BARCODE, TC_UUID, TC_LOCKED, TC_ENCRYPTED, TC_RECORD_SIZE };
#define Q_DATA "SELECT content_uuid FROM data_files WHERE set_id=? AND tseq=? AND file_no=?"

/* ---- selection: paths and globs ---- */

static int pats_build(struct rjob *rj)
{
	const struct tv_restore_opts *o = rj->o;

	if (o->npaths == 0)
		return 0;
	if ((rj->pats = calloc(o->npaths, sizeof(*rj->pats))) == NULL)
		return TV_ERR_NOMEM;
	for (size_t i = 0; i < o->npaths; i++) {
		const char *s = o->paths[i];
		struct pat *pt = &rj->pats[rj->npats];
		size_t l;

		while (*s == '/')
			s++;   /* stored paths have no leading '/' */
		l = strlen(s);
		while (l > 0 && s[l - 1] == '/')
			l--;
		if (l == 0)
			return tv_errf(TV_ERR_INVAL, "'%s': an empty path selects nothing (give no "
			               "path to restore the whole set)", o->paths[i]);
		if ((pt->p = strndup(s, l)) == NULL)
			return TV_ERR_NOMEM;
		pt->glob = strpbrk(pt->p, "*?[") != NULL;
		if (pt->glob) {
			const char *g = strpbrk(pt->p, "*?["), *d = g;
			while (d > pt->p && d[-1] != '/')
				d--;
			pt->lit = d > pt->p ? (size_t)(d - pt->p) - 1 : 0;
		} else {
			pt->lit = l;
		}
		rj->npats++;
	}
	return 0;
}

static void pats_free(struct rjob *rj)
{
	for (size_t i = 0; i < rj->npats; i++)
		free(rj->pats[i].p);
	free(rj->pats);
}

/* path or one of its parent directories matches pt */
static int pat_selects(const struct pat *pt, const char *path)
{
	size_t l;

	if (!pt->glob) {
		l = strlen(pt->p);
		return strncmp(path, pt->p, l) == 0 && (path[l] == '\0' || path[l] == '/');
	}
	if (fnmatch(pt->p, path, FNM_PATHNAME) == 0)
		return 1;
	for (const char *s = strchr(path, '/'); s != NULL; s = strchr(s + 1, '/')) {
		char pre[TV_PATH_MAX];
		l = (size_t)(s - path);
		if (l >= sizeof(pre))
			break;
		memcpy(pre, path, l);
		pre[l] = '\0';
		if (fnmatch(pt->p, pre, FNM_PATHNAME) == 0)
			return 1;
	}
	return 0;
}

/* path is a directory on the way to what pt names */
static int pat_passes(const struct pat *pt, const char *path)
{
	size_t l = strlen(path);

	return l < pt->lit && strncmp(pt->p, path, l) == 0 && pt->p[l] == '/';
}

/* 1: path is selected (and counted for every pattern that selects it);
 * 2: a parent directory of what is selected; 0: neither. */
static int matches(struct rjob *rj, const char *path)
{
	int sel = 0, pass = 0;

	if (rj->npats == 0)
		return 1;
	for (size_t i = 0; i < rj->npats; i++) {
		if (pat_selects(&rj->pats[i], path)) {
			rj->pats[i].hits++;
			sel = 1;
		} else if (pat_passes(&rj->pats[i], path)) {
			pass = 1;
		}
	}
	return sel ? 1 : pass ? 2 : 0;
}

/* Names every pattern that matched nothing; their count. */
static size_t pats_unmatched(struct rjob *rj)
{
	size_t n = 0;

	for (size_t i = 0; i < rj->npats; i++)
		if (rj->pats[i].hits == 0) {
			tv_warn(rj->h, "%s: matches nothing in the backup set", rj->o->paths[i]);
			n++;
		}
	return n;
}

/* ---- existing items at the target ---- */

enum { T_ABSENT, T_REPLACE, T_KEEP };

/* What to do about name (in dfd) before restoring an item there, by the
 * --overwrite policy; a kept item is named and counted. */
static int target_state(struct rjob *rj, int dfd, const char *name, const char *full,
                        int64_t mtime_sec, uint64_t mtime_nsec, int is_dir)
{
	struct stat sb;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return T_ABSENT;
	if (S_ISDIR(sb.st_mode) && !is_dir) {
		tv_warn(rj->h, "%s: a directory is in the way (kept)", full);
		rj->nkept++;
		return T_KEEP;
	}
	switch (rj->o->overwrite) {
	case TV_OVERWRITE_ALWAYS:
		return T_REPLACE;
	case TV_OVERWRITE_IF_NEWER:
		if (mtime_sec > (int64_t)sb.st_mtim.tv_sec ||
		    (mtime_sec == (int64_t)sb.st_mtim.tv_sec &&
		     mtime_nsec > (uint64_t)sb.st_mtim.tv_nsec))
			return T_REPLACE;
		tv_verbose(rj->h, "%s: the file here is as new or newer (kept)", full);
		return T_KEEP;
	default:
		tv_warn(rj->h, "%s: exists (kept; restore with --overwrite always or if-newer "
		        "to replace it)", full);
		rj->nkept++;
		return T_KEEP;
	}
}

/* A name for the replacement of an existing item, beside it. */
static void tmp_name(char *out, size_t outsz)
{
	static unsigned long seq;

	snprintf(out, outsz, ".tapevault-restore.%ld.%lu", (long)getpid(), ++seq);
}

/* Puts the item made under tmp in place of name (atomically). */
static int replace_with(int dfd, const char *tmp, const char *name, const char *full)
{
	if (renameat(dfd, tmp, dfd, name) == 0)
		return 0;
	unlinkat(dfd, tmp, 0);
	return tv_errf(TV_ERR_IO, "%s: cannot replace: %s", full, strerror(errno));
}

static void tape_more_report(struct rjob *rj)
{
	if (rj->fail_more > 0)
		tv_warn(rj->h, "... and %llu more item(s) on the same tape not restored",
		        (unsigned long long)rj->fail_more);
	rj->fail_more = 0;
}

/* One line per unreadable tape, not one per item on it. */
static int tape_already_reported(struct rjob *rj)
{
	if (rj->rt.failed && rj->fail_tseq == rj->rt.tseq + 1) {
		rj->fail_more++;
		rj->nfailed++;
		return 1;
	}
	if (rj->rt.failed) {
		tape_more_report(rj);
		rj->fail_tseq = rj->rt.tseq + 1;
	}
	return 0;
}

static int parent_dirs(const char *full)
{
	char tmp[PATH_MAX];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", full);
	slash = strrchr(tmp, '/');
	if (slash == NULL || slash == tmp)
		return 0;
	*slash = '\0';
	return tv_mkdir_p(tmp, 0700, 0700);
}

/* ---- the tape being read ---- */

static void rt_close_file(struct rtape *rt)
{
	tv_ecursor_close(rt->c);
	rt->c = NULL;
	rt->at_next = 0;
}

static int rt_close(struct rjob *rj, int rc)
{
	struct rtape *rt = &rj->rt;

	if (rt->rd != NULL && rt->t != NULL)
		tv_verbose(rj->h, "tape %s: %llu records read, %llu bytes, %llu positioning "
		           "operations, %llu LOCATE commands", rt->barcode,
		           (unsigned long long)rt->t->stats.records_read,
		           (unsigned long long)rt->t->stats.bytes_read,
		           (unsigned long long)rt->t->stats.positionings,
		           (unsigned long long)rt->t->stats.locates);
	rt_close_file(rt);
	tv_treader_close(rt->rd);
	rt->rd = NULL;
	tv_tape_close(rt->t);
	rt->t = NULL;
	if (rt->lib != NULL) {
		rc = tv_lib_unload_job(rt->lib, &rt->use, rc);
		tv_vlib_close(rt->lib);
		rt->lib = NULL;
	}
	tv_wipe(rt->dek, sizeof(rt->dek));
	rt->have_dek = 0;
	rt->barcode[0] = '\0';
	rt->tseq = 0;
	rt->failed = 0;
	rt->checked_file = 0;
	return rc;
}

/* Makes tape tseq of the set's media set the one being read. */
static int rt_tape(struct rjob *rj, uint64_t tseq)
{
	struct rtape *rt = &rj->rt;
	struct tv_stmt *q = rj->q_tape;
	int64_t lib_id, rs;
	int r, locked, enc;

	if (rt->tseq == tseq && rt->ms_id == rj->cur_ms && (rt->rd != NULL || rt->failed))
		return rt->failed ? TV_ERR_LOCKED : 0;
	if ((r = rt_close(rj, 0)) != 0)
		return r;
	rt->tseq = tseq;
	rt->ms_id = rj->cur_ms;
	if ((r = tv_stmt_bind(q, "ii", rj->cur_ms, (int64_t)tseq)) != 0 ||
	    (r = tv_stmt_step(q)) < 0)
		return r;
	if (r == 0) {
		rt->failed = 1;
		return tv_errf(TV_ERR_NOTFOUND, "tape %llu of the media set was never cataloged "
		               "here", (unsigned long long)tseq);
	}
	{
		size_t n;
		const void *u = tv_stmt_blob(q, TC_UUID, &n);
		snprintf(rt->barcode, sizeof(rt->barcode), "%s", tv_stmt_text(q, TC_BARCODE));
		if (u == NULL || n != 16) {
			rt->failed = 1;
			return tv_errf(TV_ERR_DB, "tape %s: no UUID in the catalog", rt->barcode);
		}
		memcpy(rt->uuid, u, 16);
	}
	locked = (int)tv_stmt_int(q, TC_LOCKED);
	enc = (int)tv_stmt_int(q, TC_ENCRYPTED);
	rs = tv_stmt_int(q, TC_RECORD_SIZE);
	if (locked) {
		rt->failed = 1;
		return tv_errf(TV_ERR_LOCKED, "tape %s is locked: unlock it with 'tapevault "
		               "decrypt %s'", rt->barcode, rt->barcode);
	}
	if (enc && (r = tv_keys_load_dek(rj->h, rt->uuid, rt->dek)) != 0) {
		rt->failed = 1;
		if (r != TV_ERR_NOTFOUND)   /* a key is stored, and cannot be used */
			return tv_errctx(r, "tape %s: its stored data key", rt->barcode);
		return tv_errf(TV_ERR_LOCKED, "tape %s is locked here (this server holds no key "
		               "for it): unlock it with 'tapevault decrypt %s'", rt->barcode,
		               rt->barcode);
	}
	rt->have_dek = enc;
	if ((r = tv_lib_open_for_tape(rj->h, rt->barcode, &rt->lib, &lib_id)) != 0 ||
	    (r = tv_lib_load_job(rj->h, rt->lib, lib_id, rt->barcode, TV_TAPE_RDONLY, &rt->t,
	                         &rt->use)) != 0 ||
	    (enc && (r = tv_drivecrypt_read(rj->h, rt->t, rt->barcode, rt->dek)) != 0) ||
	    (r = tv_treader_open(&rt->rd, rt->t, rt->barcode, rt->uuid, NULL)) != 0) {
		rt->failed = 1;
		return tv_errctx(r, "tape %s", rt->barcode);
	}
	tv_treader_set_record_size(rt->rd, (size_t)rs);
	tv_info(rj->h, "reading tape %s", rt->barcode);
	return 0;
}

/* Content UUID of a data file of the set. */
static int data_file_uuid(struct rjob *rj, uint64_t tseq, uint64_t file_no,
                          uint8_t out[16])
{
	struct tv_stmt *q = rj->q_data;
	int r;

	if ((r = tv_stmt_bind(q, "iii", rj->cur_set, (int64_t)tseq, (int64_t)file_no)) != 0 ||
	    (r = tv_stmt_step(q)) < 0)
		return r;
	if (r == 1) {
		size_t n;
		const void *u = tv_stmt_blob(q, 0, &n);
		if (u != NULL && n == 16) {
			memcpy(out, u, 16);
			return 0;
		}
	}
	return tv_errf(TV_ERR_DB, "tape %s file %llu: no data file of this set in the "
	               "catalog", rj->rt.barcode, (unsigned long long)file_no);
}

/* Reads a data file from its start: its content header is authenticated
 * and must be the one the catalog names (a whole set is read this way). */
static int rt_open_file(struct rjob *rj, uint64_t file_no)
{
	struct rtape *rt = &rj->rt;
	struct tv_content_header ch;
	uint64_t got;
	int r, sealed;

	/* the reader ends the file it was in first (else begin_file would end
	 * it after the positioning, moving the tape on past file_no: a file
	 * continued in the next data file of the same tape) */
	(void)tv_treader_end_file(rt->rd);
	if ((r = tv_tape_goto_file(rt->t, file_no)) != 0)
		return tv_errctx(r, "tape %s: positioning at file %llu", rt->barcode,
		                 (unsigned long long)file_no);
	if ((r = tv_treader_begin_file(rt->rd, &ch, &got, &sealed)) != 0)
		return r;
	if (ch.type != TV_CT_DATA || memcmp(ch.uuid, rt->cuuid, 16) != 0)
		return tv_errf(TV_ERR_FORMAT, "tape %s file %llu record 0: not the data file the "
		               "catalog names (tape overwritten since it was cataloged?)",
		               rt->barcode, (unsigned long long)file_no);
	if ((r = tv_treader_set_key(rt->rd, rt->have_dek ? rt->dek : NULL, NULL, 0)) != 0)
		return r;
	return tv_ecursor_open(&rt->c, rt->rd, TV_CT_DATA, 0);
}

/* Puts the cursor at the entry at loc (need: raw bytes it needs from the
 * frame's start), reading on when it follows closely on the last one.  A
 * whole set reads each data file from its start; a selection seeks to the
 * entry's frame, reading only the records it covers (the frames then
 * authenticate themselves: key and content UUID come from the catalog). */
static int rt_position(struct rjob *rj, const struct tv_loc *loc, uint64_t need)
{
	struct rtape *rt = &rj->rt;
	int r;

	if ((r = rt_tape(rj, loc->tseq)) != 0)
		return r;
	if (rt->c != NULL && rt->at_next && rt->file_no == loc->file_no &&
	    loc->frame_off >= rt->last_frame_off &&
	    loc->frame_off - rt->last_frame_off < READ_ON_LIMIT)
		return 0;   /* read on: the entries in between are passed over */
	rt_close_file(rt);
	if ((r = data_file_uuid(rj, loc->tseq, loc->file_no, rt->cuuid)) != 0)
		return r;
	if (rj->whole && rt->checked_file != loc->file_no + 1) {
		/* once per data file: after damage, the next entries are sought */
		rt->checked_file = loc->file_no + 1;
		if ((r = rt_open_file(rj, loc->file_no)) != 0)
			return r;
		rt->file_no = loc->file_no;
		rt->last_frame_off = 0;
		rt->at_next = 1;
		return 0;
	}
	if ((r = tv_treader_seek(rt->rd, loc->file_no, loc->frame_off, rt->cuuid,
	                         rt->have_dek ? rt->dek : NULL,
	                         rj->whole ? UINT64_MAX : need)) != 0)
		return r;
	if ((r = tv_ecursor_open(&rt->c, rt->rd, TV_CT_DATA, (uint32_t)loc->entry_off)) != 0)
		return r;
	rt->file_no = loc->file_no;
	rt->last_frame_off = loc->frame_off;
	return 0;
}

/* The entry at loc, checked against what the catalog says of it. */
static int rt_entry(struct rjob *rj, const struct rfile *f, uint64_t part,
                    uint64_t offset, const struct tv_loc *loc)
{
	struct rtape *rt = &rj->rt;
	struct tv_loc got;
	int r;

	for (;;) {
		rt->at_next = 0;
		r = tv_ecursor_next(rt->c, rj->e, &got);
		if (r == 0)
			return tv_errf(TV_ERR_FORMAT, "tape %s file %llu: the entry is not there "
			               "(tape overwritten since it was cataloged?)", rt->barcode,
			               (unsigned long long)loc->file_no);
		if (r < 0) {
			rt_close_file(rt);
			return tv_errctx(r, "tape %s file %llu", rt->barcode,
			                 (unsigned long long)loc->file_no);
		}
		rt->last_frame_off = got.frame_off;
		if (got.frame_off < loc->frame_off ||
		    (got.frame_off == loc->frame_off && got.entry_off < loc->entry_off))
			continue;   /* an entry before it: passed over */
		break;
	}
	if (got.frame_off != loc->frame_off || got.entry_off != loc->entry_off ||
	    rj->e->file_index != (uint64_t)f->idx || rj->e->part != part ||
	    rj->e->offset != offset || rj->e->size != f->size ||
	    strcmp(rj->e->path, f->path) != 0) {
		rt_close_file(rt);
		return tv_errf(TV_ERR_FORMAT, "tape %s file %llu: the entry found is not the one "
		               "the catalog names (tape overwritten since it was cataloged?)",
		               rt->barcode, (unsigned long long)loc->file_no);
	}
	return 0;
}

/* ---- files ---- */

/* The directory of f, open (one open(2) per directory, not per file). */
static int file_dir(struct rjob *rj, struct rfile *f)
{
	size_t dl = (size_t)(f->base - f->full) - 1;

	if (rj->dfd >= 0 && strlen(rj->dir) == dl && memcmp(rj->dir, f->full, dl) == 0)
		return rj->dfd;
	if (rj->dfd >= 0)
		close(rj->dfd);
	rj->dir[0] = '\0';
	memcpy(rj->dir, f->full, dl);
	rj->dir[dl] = '\0';
	rj->dfd = open(rj->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rj->dfd < 0 && errno == ENOENT && tv_mkdir_p(rj->dir, 0700, 0700) == 0)
		rj->dfd = open(rj->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rj->dfd < 0)
		rj->dir[0] = '\0';
	return rj->dfd;
}

/* Creates f, or its replacement beside an existing file (made under a
 * temporary name and renamed over it when whole, so a failed restore never
 * destroys what was there).  TV_ERR_EXISTS: kept by the --overwrite policy
 * (already said). */
static int file_create(struct rjob *rj, struct rfile *f)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int dfd = file_dir(rj, f), st = T_ABSENT;

	f->tmp[0] = '\0';
	if (dfd < 0)
		return tv_errf(TV_ERR_IO, "%s: cannot create its directory: %s", f->full,
		               strerror(errno));
	for (int tries = 0; tries < 2; tries++) {
		if (st == T_REPLACE)
			tmp_name(f->tmp, sizeof(f->tmp));
		f->fd = openat(dfd, f->tmp[0] ? f->tmp : f->base, flags, (mode_t)(f->mode & 07777));
		if (f->fd >= 0)
			return 0;
		if (errno != EEXIST || st != T_ABSENT)
			break;
		if ((st = target_state(rj, dfd, f->base, f->full, f->mtime_sec, f->mtime_nsec,
		                       0)) == T_KEEP)
			return TV_ERR_EXISTS;
	}
	f->tmp[0] = '\0';
	if (errno == ENOSPC || errno == EDQUOT)
		return tv_errf(TV_ERR_NOSPC, "%s: the target file system is full", f->full);
	return tv_errf(TV_ERR_IO, "%s: cannot create: %s", f->full, strerror(errno));
}

/* Removes what file_create made (never the file it was to replace). */
static void file_discard(struct rjob *rj, struct rfile *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	f->fd = -1;
	if (rj->dfd >= 0)
		unlinkat(rj->dfd, f->tmp[0] ? f->tmp : f->base, 0);
	f->tmp[0] = '\0';
}

/* Owner, mode, xattrs and times of a file (jobs/fsmeta.c); xattrs the
 * file system refuses are named there, and the item counts as failed
 * (it stays). */
static void file_meta(struct rjob *rj, struct rfile *f)
{
	struct tv_fsmeta_item it = {
		.path = f->full, .ftype = TV_FT_REG, .mode = f->mode, .uid = f->uid,
		.gid = f->gid, .uname = f->uname, .gname = f->gname,
		.mtime_sec = f->mtime_sec, .mtime_nsec = f->mtime_nsec,
		.xattrs = tv_buf_ptr(&f->xa), .xattrs_len = tv_buf_avail(&f->xa),
	};
	int r = tv_fsmeta_apply(rj->fm, f->fd, &it);

	if (r < 0)
		tv_warn(rj->h, "%s: extended attributes not restored: %s", f->full, tv_errmsg(r));
	if (r != 0)
		rj->nfailed++;
}

static int file_finish(struct rjob *rj, struct rfile *f)
{
	int r = 0;

	if (f->written != f->dsize) {
		r = tv_errf(TV_ERR_FORMAT, "%s: restored %llu of %llu bytes", f->full,
		            (unsigned long long)f->written, (unsigned long long)f->dsize);
		file_discard(rj, f);
		return r;
	}
	if ((f->eflags_tape & TV_EF_SPARSE) && ftruncate(f->fd, (off_t)f->size) != 0) {
		r = tv_errf(errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? TV_ERR_NOSPC :
		            TV_ERR_IO, "%s: cannot make it %llu bytes long: %s", f->full,
		            (unsigned long long)f->size, strerror(errno));
		file_discard(rj, f);
		return r;
	}
	file_meta(rj, f);
	if (close(f->fd) != 0) {
		r = tv_errf(errno == ENOSPC || errno == EDQUOT ? TV_ERR_NOSPC : TV_ERR_IO, "%s: %s",
		            f->full, strerror(errno));
		f->fd = -1;
		if (rj->dfd >= 0)
			unlinkat(rj->dfd, f->tmp[0] ? f->tmp : f->base, 0);
		f->tmp[0] = '\0';
		return r;
	}
	f->fd = -1;
	if (f->tmp[0] != '\0') {
		r = replace_with(rj->dfd, f->tmp, f->base, f->full);
		f->tmp[0] = '\0';
	}
	return r;
}

static int write_at(struct rfile *f, const uint8_t *p, size_t n, uint64_t at)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = pwrite(f->fd, p + off, n - off, (off_t)(at + off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0 && (w == 0 || errno == ENOSPC || errno == EDQUOT || errno == EFBIG))
			return tv_errf(TV_ERR_NOSPC, "%s: the target file system is full", f->full);
		if (w < 0)
			return tv_errf(TV_ERR_IO, "%s: write: %s", f->full, strerror(errno));
		off += (size_t)w;
	}
	return 0;
}

/* Bytes [pos, pos + n) of f's data D: the xattr list carried in the data
 * first (kept for file_finish), then the file's bytes, for a sparse file
 * through its map (the holes stay holes). */
static int put_data(struct rfile *f, uint64_t pos, const uint8_t *p, size_t n)
{
	int r;

	while (n > 0) {
		size_t k = n;
		uint64_t at = pos - f->xattr_data, s = 0, l = 0;
		if (pos < f->xattr_data) {
			if (k > f->xattr_data - pos)
				k = (size_t)(f->xattr_data - pos);
			if (pos != tv_buf_avail(&f->xa))
				return tv_errf(TV_ERR_FORMAT, "%s: its xattr list comes out of order",
				               f->full);
			if ((r = tv_buf_put(&f->xa, p, k)) != 0)
				return r;
		} else {
			if (f->eflags_tape & TV_EF_SPARSE) {
				/* D comes in order: the region only moves forward */
				for (;;) {
					if (f->reg_i >= f->map_len / TV_SPARSE_REGION)
						return tv_errf(TV_ERR_FORMAT, "%s: data past its map",
						               f->full);
					tv_sparse_region(f->map, f->reg_i, &s, &l);
					if (at < f->reg_base + l)
						break;
					f->reg_base += l;
					f->reg_i++;
				}
				if (k > f->reg_base + l - at)
					k = (size_t)(f->reg_base + l - at);
				at = s + (at - f->reg_base);
			}
			if ((r = write_at(f, p, k, at)) != 0)
				return r;
		}
		pos += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* What part 1's header says of the file's data (the map, where its xattr
 * list is), kept for the later parts, which must say the same. */
static int part_layout(struct rjob *rj, struct rfile *f, uint64_t part)
{
	const struct tv_entry *e = rj->e;

	if (part == 1) {
		f->dsize = tv_entry_data_size(e);
		f->eflags_tape = e->flags;
		f->xattr_data = e->xattr_data;
		f->map_len = e->sparse_len;
		if (f->map_len > 0)
			memcpy(f->map, e->sparse, f->map_len);
		f->reg_i = 0;
		f->reg_base = 0;
		tv_buf_reset(&f->xa);
		return e->xattrs_len > 0 ? tv_buf_put(&f->xa, e->xattrs, e->xattrs_len) : 0;
	}
	if (e->flags != f->eflags_tape || e->xattr_data != f->xattr_data ||
	    e->sparse_len != f->map_len || (f->map_len && memcmp(e->sparse, f->map, f->map_len)))
		return tv_errf(TV_ERR_FORMAT, "%s: part %llu lays out the data otherwise than "
		               "part 1", f->full, (unsigned long long)part);
	return 0;
}

/* Writes the data of the entry under the cursor (a part starting at
 * offset) into f; *cont: the part ended early, continuing in a later one. */
static int part_data(struct rjob *rj, struct rfile *f, uint64_t offset, int *cont)
{
	struct rtape *rt = &rj->rt;
	uint64_t done = 0;
	const uint8_t *p;
	size_t n;
	int r;

	*cont = 0;
	while ((r = tv_ecursor_data(rt->c, &p, &n, cont)) == 1) {
		if ((r = put_data(f, offset + done, p, n)) != 0)
			return r;
		done += n;
		if (rj->prog.active) {
			rj->pbytes += n;
			tv_progress_update(&rj->prog, rj->pbytes);
		}
	}
	f->written += done;
	if (r == TV_ERR_EOF) {
		rt->at_next = 0;
		rt_close_file(rt);
		if (*cont)
			return 0;
		return tv_errf(TV_ERR_FORMAT, "tape %s file %llu: the tape file ends inside "
		               "the entry (cut off)", rt->barcode,
		               (unsigned long long)rt->file_no);
	}
	if (r < 0) {
		rt_close_file(rt);
		return tv_errctx(r, "tape %s file %llu", rt->barcode,
		                 (unsigned long long)rt->file_no);
	}
	rt->at_next = 1;
	return 0;
}

/* One part: position, check the entry, write its data. */
static int restore_part(struct rjob *rj, struct rfile *f, uint64_t part, uint64_t offset,
                        const struct tv_loc *loc)
{
	int r, cont;

	/* a sparse file's data is less than its size: the reader reads on
	 * as it needs, past the header */
	if ((r = rt_position(rj, loc, loc->entry_off + TV_ENTRY_HDR + TV_ENTRY_MAX +
	                     ((f->eflags & TV_EF_SPARSE) || offset > f->dsize ? 0 :
	                      f->dsize - offset))) != 0)
		return r;
	if ((r = rt_entry(rj, f, part, offset, loc)) != 0 || (r = part_layout(rj, f, part)) != 0)
		return r;
	if ((r = part_data(rj, f, offset, &cont)) != 0)
		return r;
	rj->parts_read++;
	if (cont && part >= f->nparts)
		return tv_errf(TV_ERR_FORMAT, "%s: part %llu continues on a later tape that is "
		               "not cataloged here", f->path, (unsigned long long)part);
	return 0;
}

/* Every part of a regular file, then its metadata. */
static int restore_file(struct rjob *rj, struct rfile *f)
{
	int r;

	tv_progress_item(&rj->prog, rj->pbytes, f->full);
	if ((r = file_create(rj, f)) != 0)
		return r;
	rj->cur_set = f->set_id;
	rj->cur_ms = f->ms_id;
	if ((r = restore_part(rj, f, 1, 0, &f->loc)) != 0)
		goto fail;
	if (f->nparts > 1) {
		struct tv_stmt *q = rj->q_part;
		if ((r = tv_stmt_bind(q, "ii", f->set_id, f->idx)) != 0)
			goto fail;
		for (uint64_t k = 2; k <= f->nparts; k++) {
			struct tv_loc loc;
			uint64_t off;
			if ((r = tv_stmt_step(q)) <= 0) {
				if (r == 0)
					r = tv_errf(TV_ERR_NOTFOUND, "%s: part %llu is on a tape that was "
					            "not cataloged here", f->full, (unsigned long long)k);
				goto fail;
			}
			if ((uint64_t)tv_stmt_int(q, PC_PART) != k) {
				r = tv_errf(TV_ERR_NOTFOUND, "%s: part %llu is missing", f->full,
				            (unsigned long long)k);
				goto fail;
			}
			off = (uint64_t)tv_stmt_int(q, PC_OFF);
			loc.tseq = (uint64_t)tv_stmt_int(q, PC_TSEQ);
			loc.file_no = (uint64_t)tv_stmt_int(q, PC_FILE_NO);
			loc.frame_off = (uint64_t)tv_stmt_int(q, PC_FRAME_OFF);
			loc.entry_off = (uint64_t)tv_stmt_int(q, PC_ENTRY_OFF);
			if (off != f->written) {
				r = tv_errf(TV_ERR_FORMAT, "%s: part %llu starts at byte %llu, the earlier "
				            "parts end at %llu", f->full, (unsigned long long)k,
				            (unsigned long long)off, (unsigned long long)f->written);
				goto fail;
			}
			if ((r = restore_part(rj, f, k, off, &loc)) != 0)
				goto fail;
		}
	}
	return file_finish(rj, f);
fail:
	file_discard(rj, f);
	return r;
}

/* Where stored path p goes: ROOT/p.  TV_ERR_RANGE when too long. */
static int target_path(const struct rjob *rj, const char *p, char out[PATH_MAX])
{
	size_t lr = strlen(rj->root), lp = strlen(p);

	if (lr + 1 + lp >= PATH_MAX)
		return tv_errf(TV_ERR_RANGE, "%s/%s: path too long for this system", rj->root, p);
	memcpy(out, rj->root, lr);
	out[lr] = '/';
	memcpy(out + lr + 1, p, lp + 1);
	return 0;
}

/* An item that was not restored: said once (an unreadable tape once for
 * all its items), counted.  Returns the error that ends the job (out of
 * memory, the catalog, a full target) or 0 to go on. */
static int item_failed(struct rjob *rj, const char *path, int r)
{
	if (r == TV_ERR_EXISTS)
		return 0;   /* kept by --overwrite: said and counted */
	if (r == TV_ERR_NOMEM || r == TV_ERR_DB)
		return r;
	if (r == TV_ERR_NOSPC) {
		char why[1024];
		snprintf(why, sizeof(why), "%s", tv_errmsg(r));
		return tv_errf(r, "%s: restore stopped (%llu item(s) restored so far)", why,
		               (unsigned long long)rj->nfiles);
	}
	if (tape_already_reported(rj))
		return 0;
	tv_warn(rj->h, "%s: %s", path, tv_errmsg(r));
	rj->nfailed++;
	return 0;
}

/* The columns of a files row as restore reads them, and their names. */
#define FILE_COLUMNS "f.idx, f.path, f.size, f.mode, f.uid, f.gid, f.mtime_sec, " \
                     "f.mtime_nsec, f.eflags, f.nparts, f.tseq, f.file_no, f.frame_off, " \
                     "f.entry_off, f.set_id"
enum {
	FC_IDX, FC_PATH, FC_SIZE, FC_MODE, FC_UID, FC_GID, FC_MTIME, FC_MTIME_NS, FC_EFLAGS,
	FC_NPARTS, FC_TSEQ, FC_FILE_NO, FC_FRAME_OFF, FC_ENTRY_OFF, FC_SET
};

/* The media set of a set of the chain. */
static int64_t chain_ms(const struct rjob *rj, int64_t set_id)
{
	for (size_t k = 0; k < rj->nchain; k++)
		if (rj->chain[k] == set_id)
			return rj->chain_ms[k];
	return rj->ms_id;
}

/* A query of the rows restored: sql with "%s" where their FROM and the
 * start of their WHERE go (binds ?1 to the set; more with types). */
static int rows_query(struct rjob *rj, struct tv_stmt **q, const char *sql,
                      const char *types, int64_t a, int64_t b, int64_t c)
{
	char buf[1024];
	const char *at = strstr(sql, "%s");
	size_t pre = at != NULL ? (size_t)(at - sql) : 0;

	if (at == NULL || pre + strlen(rj->from) + strlen(at + 2) + 1 > sizeof(buf))
		return tv_errf(TV_ERR_INTERNAL, "restore: bad query");
	memcpy(buf, sql, pre);
	memcpy(buf + pre, rj->from, strlen(rj->from));
	memcpy(buf + pre + strlen(rj->from), at + 2, strlen(at + 2) + 1);
	return tv_db_query(rj->h->db, q, buf, types, rj->set_id, a, b, c);
}

/* A row's optional fields (the ext column: device numbers, the xattr list
 * of an item restored from the catalog) into rj->e, which the entry
 * header read next replaces: use them at once.  (The names are kept per
 * set: rj->fm.) */
static int row_ext(struct rjob *rj, struct tv_stmt *q, int col, const char *path)
{
	size_t n = 0;
	const void *x = tv_stmt_blob(q, col, &n);
	int r;

	if ((r = tv_entry_ext_get(x != NULL ? x : "", x != NULL ? n : 0, rj->e)) != 0)
		return tv_errctx(r, "%s: its catalog row", path);
	return 0;
}

/* Fills f from a files row selected as FILE_COLUMNS. */
static int rfile_row(struct rjob *rj, struct tv_stmt *q, struct rfile *f,
                     const char *full_path)
{
	const char *path = tv_stmt_text(q, FC_PATH);
	int r;

	f->idx = tv_stmt_int(q, FC_IDX);
	f->set_id = tv_stmt_int(q, FC_SET);
	f->ms_id = chain_ms(rj, f->set_id);
	snprintf(f->path, sizeof(f->path), "%s", path);
	if ((r = target_path(rj, full_path ? full_path : path, f->full)) != 0)
		return r;
	f->base = strrchr(f->full, '/') + 1;
	f->size = (uint64_t)tv_stmt_int(q, FC_SIZE);
	f->mode = (uint64_t)tv_stmt_int(q, FC_MODE);
	f->uid = (uint64_t)tv_stmt_int(q, FC_UID);
	f->gid = (uint64_t)tv_stmt_int(q, FC_GID);
	f->mtime_sec = tv_stmt_int(q, FC_MTIME);
	f->mtime_nsec = (uint64_t)tv_stmt_int(q, FC_MTIME_NS);
	f->eflags = (uint64_t)tv_stmt_int(q, FC_EFLAGS);
	f->nparts = (uint64_t)tv_stmt_int(q, FC_NPARTS);
	f->loc.tseq = (uint64_t)tv_stmt_int(q, FC_TSEQ);
	f->loc.file_no = (uint64_t)tv_stmt_int(q, FC_FILE_NO);
	f->loc.frame_off = (uint64_t)tv_stmt_int(q, FC_FRAME_OFF);
	f->loc.entry_off = (uint64_t)tv_stmt_int(q, FC_ENTRY_OFF);
	f->uname = tv_fsmeta_name_of(rj->fm, 0, (uint32_t)f->uid);
	f->gname = tv_fsmeta_name_of(rj->fm, 1, (uint32_t)f->gid);
	f->dsize = f->size;   /* until part 1's header says */
	f->eflags_tape = f->xattr_data = 0;
	f->map_len = 0;
	tv_buf_reset(&f->xa);
	f->written = 0;
	f->fd = -1;
	return 0;
}

static int phase_files(struct rjob *rj)
{
	struct tv_stmt *q = NULL;
	struct rfile *f;
	int r, rr;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return TV_ERR_NOMEM;
	f->fd = -1;
	tv_buf_init(&f->xa);
	if ((r = rows_query(rj, &q, "SELECT " FILE_COLUMNS " FROM %s AND f.ftype=? ORDER BY "
	                    "f.set_id, f.idx", "ii", (int64_t)TV_FT_REG, 0, 0)) != 0)
		goto out;
	while ((rr = tv_stmt_step(q)) == 1) {
		const char *path = tv_stmt_text(q, FC_PATH);
		if (tv_stop_requested()) {   /* between two files: each is whole or absent */
			r = tv_errf(TV_ERR_INTERRUPTED, "stopped by %s: %llu item(s) restored, the "
			            "rest of the set was not", tv_stop_name(),
			            (unsigned long long)rj->nfiles);
			goto out;
		}
		if (matches(rj, path) != 1)
			continue;
		if (!tv_restore_safe_path(path) || strlen(path) >= sizeof(f->path)) {
			tv_warn(rj->h, "unsafe path on tape skipped: %s", path);
			rj->nfailed++;
			continue;
		}
		if ((r = rfile_row(rj, q, f, NULL)) != 0 || (r = restore_file(rj, f)) != 0) {
			if ((r = item_failed(rj, path, r)) != 0)
				goto out;
			continue;
		}
		rj->nfiles++;
		rj->nbytes += f->size;
		if ((f->eflags & TV_EF_INNER_ENCRYPTED) && rj->o->extract) {
			char **ni = realloc(rj->inner, (rj->ninner + 1) * sizeof(*rj->inner));
			if (ni != NULL) {
				rj->inner = ni;
				if ((rj->inner[rj->ninner] = strdup(f->full)) != NULL)
					rj->ninner++;
			}
		}
	}
	if (rr < 0)
		r = rr;
out:
	file_discard(rj, f);
	tv_buf_free(&f->xa);
	free(f);
	tv_stmt_free(q);
	return r;
}

/* Where a link or special file is made: its parent directory (opened,
 * returned; dir its path) and, by the --overwrite policy, TV_ERR_EXISTS
 * (kept), or tmp set to the name to make it under before it is renamed over
 * the existing one ("" when nothing is there: make it under its own name). */
static int node_target(struct rjob *rj, const char *full, int64_t mtime_sec,
                       uint64_t mtime_nsec, char dir[PATH_MAX], char tmp[48])
{
	const char *base = strrchr(full, '/') + 1;
	int dfd, st;

	snprintf(dir, PATH_MAX, "%.*s", (int)(base - full - 1), full);
	if ((dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tv_errf(TV_ERR_IO, "%s: %s", dir, strerror(errno));
	st = target_state(rj, dfd, base, full, mtime_sec, mtime_nsec, 0);
	if (st == T_KEEP) {
		close(dfd);
		return TV_ERR_EXISTS;
	}
	tmp[0] = '\0';
	if (st == T_REPLACE)
		tmp_name(tmp, 48);
	return dfd;
}

/* Makes full a hard link to target, or a symbolic link holding symlink,
 * by the --overwrite policy (a replacement is made beside and renamed in). */
static int make_link(struct rjob *rj, const char *full, const char *target,
                     const char *symlink_to, int64_t mtime_sec, uint64_t mtime_nsec)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 64], t[48];
	const char *base = strrchr(full, '/') + 1;
	int dfd, ok;

	if ((dfd = node_target(rj, full, mtime_sec, mtime_nsec, dir, t)) < 0)
		return dfd;
	snprintf(tmp, sizeof(tmp), "%s/%s", dir, t[0] ? t : base);
	ok = symlink_to != NULL ? symlink(symlink_to, tmp) == 0 : link(target, tmp) == 0;
	if (!ok) {
		int e = errno;
		close(dfd);
		return tv_errf(e == ENOSPC || e == EDQUOT ? TV_ERR_NOSPC : TV_ERR_IO,
		               "%s: cannot create the %s: %s", full,
		               symlink_to ? "symbolic link" : "hard link", strerror(e));
	}
	ok = t[0] == '\0' ? 0 : replace_with(dfd, t, base, full);
	close(dfd);
	return ok;
}

/* Hard links: a link to the first name when that was restored here, else
 * the first name's data under this name (the first restored name of a
 * file gets its data). */
static int phase_hardlinks(struct rjob *rj)
{
	struct tv_stmt *links, *q = NULL;
	struct rfile *f = NULL;
	int r, rr;

	if ((r = rows_query(rj, &links, "SELECT f.path, f.link, f.set_id FROM %s AND f.ftype=? "
	                    "ORDER BY f.set_id, f.idx", "ii", (int64_t)TV_FT_HARDLINK, 0, 0)) != 0)
		return r;
	while ((rr = tv_stmt_step(links)) == 1) {
		const char *p = tv_stmt_text(links, 0), *first = tv_stmt_text(links, 1);
		char full[PATH_MAX], target[PATH_MAX];
		if (matches(rj, p) != 1)
			continue;
		if (!tv_restore_safe_path(p) || !tv_restore_safe_path(first)) {
			tv_warn(rj->h, "unsafe path on tape skipped: %s", p);
			rj->nfailed++;
			continue;
		}
		if ((r = target_path(rj, p, full)) != 0 || (r = target_path(rj, first, target)) != 0) {
			if ((r = item_failed(rj, p, r)) != 0)
				break;
			continue;
		}
		if (matches(rj, first) == 1) {
			if ((r = parent_dirs(full)) != 0)
				break;
			if ((r = make_link(rj, full, target, NULL, 0, 0)) != 0) {
				if ((r = item_failed(rj, p, r)) != 0)
					break;
				continue;
			}
			rj->nfiles++;
			continue;
		}
		/* the first name is not being restored: its data goes here */
		if (f == NULL) {
			if ((f = calloc(1, sizeof(*f))) == NULL) {
				r = TV_ERR_NOMEM;
				break;
			}
			tv_buf_init(&f->xa);
		}
		if (q == NULL && (r = tv_db_prepare(rj->h->db, &q, "SELECT " FILE_COLUMNS
		                                    " FROM files f WHERE f.set_id=? AND f.path=?"
		                                    " AND f.ftype=1")) != 0)
			break;
		/* the first name is in the set of the link (both names of a
		 * file are stored by the same set) */
		if ((r = tv_stmt_bind(q, "it", tv_stmt_int(links, 2), first)) != 0 ||
		    (r = tv_stmt_step(q)) < 0)
			break;
		if (r == 0) {
			tv_warn(rj->h, "%s: the file it is a hard link of (%s) is not in the set", p,
			        first);
			rj->nfailed++;
			r = 0;
			continue;
		}
		if ((r = rfile_row(rj, q, f, p)) != 0 || (r = restore_file(rj, f)) != 0) {
			if ((r = item_failed(rj, p, r)) != 0)
				break;
			continue;
		}
		rj->nfiles++;
		rj->nbytes += f->size;
	}
	tv_stmt_free(links);
	tv_stmt_free(q);
	if (f != NULL)
		tv_buf_free(&f->xa);
	free(f);
	return r != 0 ? r : rr < 0 ? rr : 0;
}

/* ---- directories and links ---- */

static int phase_dirs(struct rjob *rj)
{
	struct tv_stmt *q;
	int r, rr;

	if ((r = rows_query(rj, &q, "SELECT f.path FROM %s AND f.ftype=? ORDER BY f.path", "ii",
	                    (int64_t)TV_FT_DIR, 0, 0)) != 0)
		return r;
	while ((rr = tv_stmt_step(q)) == 1) {
		const char *p = tv_stmt_text(q, 0);
		char full[PATH_MAX];
		if (!matches(rj, p))
			continue;
		if (!tv_restore_safe_path(p)) {
			tv_warn(rj->h, "unsafe path on tape skipped: %s", p);
			rj->nfailed++;
			continue;
		}
		if ((r = target_path(rj, p, full)) != 0) {
			if ((r = item_failed(rj, p, r)) != 0)
				break;
			continue;
		}
		if ((r = tv_mkdir_p(full, 0700, 0700)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r != 0 ? r : rr < 0 ? rr : 0;
}

/* The metadata columns of a files row as the phases that restore from
 * the catalog alone read them (after their own columns, at col). */
#define META_COLUMNS "mode, uid, gid, mtime_sec, mtime_nsec, ext"
enum { MC_MODE, MC_UID, MC_GID, MC_MTIME, MC_MTIME_NS, MC_EXT };

/* Owner, mode, xattrs and times of the item at full (jobs/fsmeta.c), from
 * the row's META_COLUMNS at col (its optional fields in rj->e: row_ext);
 * xattrs the file system refuses are named there, and the item counts as
 * failed (it stays). */
static void path_meta(struct rjob *rj, struct tv_stmt *q, int col, enum tv_ftype t,
                      const char *full)
{
	const struct tv_entry *e = rj->e;
	struct tv_fsmeta_item it = {
		.path = full, .ftype = t, .mode = (uint64_t)tv_stmt_int(q, col + MC_MODE),
		.uid = (uint64_t)tv_stmt_int(q, col + MC_UID),
		.gid = (uint64_t)tv_stmt_int(q, col + MC_GID),
		.uname = tv_fsmeta_name_of(rj->fm, 0, (uint32_t)tv_stmt_int(q, col + MC_UID)),
		.gname = tv_fsmeta_name_of(rj->fm, 1, (uint32_t)tv_stmt_int(q, col + MC_GID)),
		.mtime_sec = tv_stmt_int(q, col + MC_MTIME),
		.mtime_nsec = (uint64_t)tv_stmt_int(q, col + MC_MTIME_NS),
		.xattrs = e->xattrs, .xattrs_len = e->xattrs_len,
	};
	int r = tv_fsmeta_apply(rj->fm, -1, &it);

	if (r < 0)
		tv_warn(rj->h, "%s: extended attributes not restored: %s", full, tv_errmsg(r));
	if (r != 0)
		rj->nfailed++;
}

/* The start every kind of row shares: selected?  a safe path?  its target
 * path, its optional fields, its parent directories.  1: go on with full;
 * 0: passed over (a failure is named and counted); < 0: stop the job. */
static int item_target(struct rjob *rj, struct tv_stmt *q, const char *p, int ext_col,
                       char full[PATH_MAX])
{
	int r;

	if (matches(rj, p) != 1)
		return 0;
	if (!tv_restore_safe_path(p)) {
		tv_warn(rj->h, "unsafe path on tape skipped: %s", p);
		rj->nfailed++;
		return 0;
	}
	if ((r = target_path(rj, p, full)) != 0 || (r = row_ext(rj, q, ext_col, p)) != 0)
		return item_failed(rj, p, r);
	if ((r = parent_dirs(full)) != 0)
		return r;
	return 1;
}

static int phase_links(struct rjob *rj)
{
	struct tv_stmt *q;
	int r, rr;

	enum { L_PATH, L_LINK, L_META };

	if ((r = rows_query(rj, &q, "SELECT f.path, f.link, " META_COLUMNS " FROM %s AND "
	                    "f.ftype=? ORDER BY f.set_id, f.idx", "ii", (int64_t)TV_FT_SYMLINK,
	                    0, 0)) != 0)
		return r;
	while ((rr = tv_stmt_step(q)) == 1) {
		const char *p = tv_stmt_text(q, L_PATH);
		char full[PATH_MAX];
		if ((r = item_target(rj, q, p, L_META + MC_EXT, full)) <= 0) {
			if (r < 0)
				break;
			continue;
		}
		r = 0;
		if ((r = make_link(rj, full, NULL, tv_stmt_text(q, L_LINK),
		                   tv_stmt_int(q, L_META + MC_MTIME),
		                   (uint64_t)tv_stmt_int(q, L_META + MC_MTIME_NS))) != 0) {
			if ((r = item_failed(rj, p, r)) != 0)
				break;
			continue;
		}
		path_meta(rj, q, L_META, TV_FT_SYMLINK, full);
		rj->nfiles++;
	}
	tv_stmt_free(q);
	return r != 0 ? r : rr < 0 ? rr : 0;
}

/* Makes the FIFO or device node at full by the --overwrite policy (a
 * replacement is made beside and renamed in). */
static int make_special(struct rjob *rj, const char *full, enum tv_ftype t, uint64_t mode,
                        uint64_t major, uint64_t minor, int64_t mtime_sec,
                        uint64_t mtime_nsec)
{
	char dir[PATH_MAX], tmp[48];
	const char *base = strrchr(full, '/') + 1;
	int dfd, r;

	if ((dfd = node_target(rj, full, mtime_sec, mtime_nsec, dir, tmp)) < 0)
		return dfd;
	r = tv_fsmeta_mknod(dfd, tmp[0] ? tmp : base, full, t, mode, major, minor);
	if (r == 0 && tmp[0] != '\0')
		r = replace_with(dfd, tmp, base, full);
	close(dfd);
	return r;
}

/* FIFOs and device nodes (devices only as root: else each is named and
 * counts as failed). */
static int phase_special(struct rjob *rj)
{
	struct tv_stmt *q;
	int r, rr;

	enum { S_PATH, S_FTYPE, S_META };

	if ((r = rows_query(rj, &q, "SELECT f.path, f.ftype, " META_COLUMNS " FROM %s AND "
	                    "f.ftype IN (?,?,?) ORDER BY f.set_id, f.idx", "iiii",
	                    (int64_t)TV_FT_FIFO, (int64_t)TV_FT_CHR, (int64_t)TV_FT_BLK)) != 0)
		return r;
	while ((rr = tv_stmt_step(q)) == 1) {
		const char *p = tv_stmt_text(q, S_PATH);
		enum tv_ftype t = (enum tv_ftype)tv_stmt_int(q, S_FTYPE);
		char full[PATH_MAX];
		if ((r = item_target(rj, q, p, S_META + MC_EXT, full)) <= 0) {
			if (r < 0)
				break;
			continue;
		}
		r = 0;
		if ((r = make_special(rj, full, t, (uint64_t)tv_stmt_int(q, S_META + MC_MODE),
		                      rj->e->rdev_major, rj->e->rdev_minor,
		                      tv_stmt_int(q, S_META + MC_MTIME),
		                      (uint64_t)tv_stmt_int(q, S_META + MC_MTIME_NS))) != 0) {
			if ((r = item_failed(rj, p, r)) != 0)
				break;
			continue;
		}
		path_meta(rj, q, S_META, t, full);
		rj->nfiles++;
	}
	tv_stmt_free(q);
	return r != 0 ? r : rr < 0 ? rr : 0;
}

/* Directory modes and times, deepest first (after their contents). */
static int phase_dir_meta(struct rjob *rj)
{
	struct tv_stmt *q;
	int r, rr;

	enum { D_PATH, D_META };

	/* deepest first: in one set, index order reversed; across a chain,
	 * path order reversed (a directory's contents sort after it) */
	if ((r = rows_query(rj, &q, rj->nchain > 1 ?
	                    "SELECT f.path, " META_COLUMNS " FROM %s AND f.ftype=? ORDER BY "
	                    "f.path DESC" :
	                    "SELECT f.path, " META_COLUMNS " FROM %s AND f.ftype=? ORDER BY "
	                    "f.idx DESC", "ii", (int64_t)TV_FT_DIR, 0, 0)) != 0)
		return r;
	while ((rr = tv_stmt_step(q)) == 1) {
		const char *p = tv_stmt_text(q, D_PATH);
		char full[PATH_MAX];
		if (!matches(rj, p) || !tv_restore_safe_path(p))
			continue;
		if ((r = target_path(rj, p, full)) != 0 ||
		    (r = row_ext(rj, q, D_META + MC_EXT, p)) != 0) {
			if ((r = item_failed(rj, p, r)) != 0)
				break;
			continue;
		}
		path_meta(rj, q, D_META, TV_FT_DIR, full);
		rj->nfiles++;
	}
	tv_stmt_free(q);
	return r != 0 ? r : rr < 0 ? rr : 0;
}

/* What the set itself lacks, said before anything is read: the items its
 * write job did not store whole (changed while read: restored as read;
 * skipped, unreadable, interrupted: not in it) among those selected, and,
 * for a whole restore, a set whose job did not end (interrupted, killed,
 * failed): the items after the last one it wrote are not in it.  Each
 * makes the job partial. */
static int set_problems_report(struct rjob *rj)
{
	struct tv_stmt *q;
	int r;

	/* of a chain: the set's own, and the earlier sets' items restored */
	if ((r = tv_db_query(rj->h->db, &q, rj->nchain > 1 ?
	                     "SELECT p.path, p.reason, p.idx IS NOT NULL FROM set_problems p "
	                     "WHERE p.set_id=?1 OR EXISTS(SELECT 1 FROM temp.rsel s WHERE "
	                     "s.sid=p.set_id AND s.sidx=p.idx) ORDER BY p.set_id, p.n" :
	                     "SELECT path, reason, idx IS NOT NULL FROM "
	                     "set_problems WHERE set_id=? ORDER BY n", "i", rj->set_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		const char *p = tv_stmt_text(q, 0), *why = tv_stmt_text(q, 1);
		if (matches(rj, p) != 1)
			continue;
		rj->nsetprob++;
		if (strncmp(why, "changed", 7) == 0 && tv_stmt_int(q, 2))
			tv_warn(rj->h, "%s: restored as it was read, but it %s when it was backed "
			        "up", p, why);
		else
			tv_warn(rj->h, "%s: not whole in the backup set (%s)", p, why);
	}
	tv_stmt_free(q);
	if (r < 0 || !rj->whole)
		return r < 0 ? r : 0;
	/* as tv_backup_state says it (catalog/query.c): a job that did not end
	 * is known by its state, its process, a data file a scan found cut
	 * off, or a later tape of its media set */
	if ((r = tv_db_query(rj->h->db, &q, "SELECT name, CASE WHEN state IS NOT NULL THEN state"
	                     " WHEN complete=1 THEN 'complete' WHEN COALESCE(pid, 0) > 0 OR"
	                     " EXISTS(SELECT 1 FROM data_files d WHERE d.set_id=b.id AND"
	                     " d.complete=0) OR EXISTS(SELECT 1 FROM tapes t WHERE"
	                     " t.media_set_id=b.media_set_id AND t.seq > b.last_seq AND"
	                     " t.contents_cataloged=1) THEN 'interrupted' ELSE 'unknown' END"
	                     " FROM backup_sets b WHERE id=?", "i", rj->set_id)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1 && (strcmp(tv_stmt_text(q, 1), "interrupted") == 0 ||
	                                  strcmp(tv_stmt_text(q, 1), "failed") == 0)) {
		tv_warn(rj->h, "backup set %s is %s (its write job did not end, or its end is "
		        "not cataloged): the items after the last one it wrote are not in it",
		        tv_stmt_text(q, 0), tv_stmt_text(q, 1));
		rj->nsetprob++;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* The job's result: every item not restored, kept or unmatched is said
 * and makes the job partial (exit 1 unless --allow-partial). */
static int restore_result(struct rjob *rj)
{
	size_t unmatched = pats_unmatched(rj);
	char what[256] = "";
	size_t n = 0;

	if (rj->nfailed > 0)
		n += (size_t)snprintf(what + n, sizeof(what) - n, "%llu item(s) could not be "
		                      "restored", (unsigned long long)rj->nfailed);
	if (rj->nkept > 0 && n < sizeof(what))
		n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%llu existing item(s) were "
		                      "kept", n ? ", " : "", (unsigned long long)rj->nkept);
	if (rj->nsetprob > 0 && n < sizeof(what))
		n += (size_t)snprintf(what + n, sizeof(what) - n, "%sthe backup set holds %llu "
		                      "of the items asked for not whole", n ? ", " : "",
		                      (unsigned long long)rj->nsetprob);
	if (unmatched > 0 && n < sizeof(what))
		n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%zu path(s) matched nothing",
		                      n ? ", " : "", unmatched);
	if (n == 0)
		return 0;
	if (unmatched == rj->npats && rj->nfiles == 0 && rj->nfailed == 0 && rj->nkept == 0 &&
	    rj->nsetprob == 0)
		return tv_errf(TV_ERR_NOTFOUND, "%s", what);
	return tv_errf(TV_ERR_PARTIAL, "%s (see the messages above)", what);
}

/* The owners' and groups' names the set keeps (set_names), for the
 * mapping by name. */
static int load_names(struct rjob *rj)
{
	struct tv_stmt *q;
	int r;

	/* of every set of the chain, the newest last (it wins) */
	for (size_t k = rj->nchain; k-- > 0;) {
		if ((r = tv_db_query(rj->h->db, &q, "SELECT kind, id, name FROM set_names WHERE "
		                     "set_id=?", "i", rj->chain[k])) != 0)
			return r;
		while ((r = tv_stmt_step(q)) == 1)
			if ((r = tv_fsmeta_name_add(rj->fm, (int)tv_stmt_int(q, 0),
			                            (uint32_t)tv_stmt_int(q, 1),
			                            tv_stmt_text(q, 2))) != 0)
				break;
		tv_stmt_free(q);
		if (r < 0)
			return r;
	}
	return 0;
}

int tv_set_chain(struct tv_home *h, int64_t set_id, int64_t **chain_out,
                 int64_t **ms_out, size_t *n_out)
{
	struct tv_db *db = h->db;
	int64_t id = set_id, *chain, *chain_ms;
	size_t nchain = 0;
	int r;

	*chain_out = chain = malloc(CHAIN_MAX * sizeof(*chain));
	*ms_out = chain_ms = malloc(CHAIN_MAX * sizeof(*chain_ms));
	*n_out = 0;
	if (chain == NULL || chain_ms == NULL)
		return TV_ERR_NOMEM;
	for (;;) {
		struct tv_stmt *q;
		uint8_t pu[16];
		char name[TV_NAME_MAX] = "";
		int64_t level = 0, ms = 0;
		if (nchain == CHAIN_MAX)
			return tv_errf(TV_ERR_FORMAT, "backup set: a chain of more than %d sets "
			               "(a loop?)", CHAIN_MAX);
		if ((r = tv_db_query(db, &q, "SELECT level, parent_uuid, COALESCE(media_set_id,0),"
		                     " name FROM backup_sets WHERE id=?", "i", id)) != 0)
			return r;
		if ((r = tv_stmt_step(q)) == 1) {
			size_t l;
			const void *u = tv_stmt_blob(q, 1, &l);
			level = tv_stmt_int(q, 0);
			ms = tv_stmt_int(q, 2);
			snprintf(name, sizeof(name), "%s", tv_stmt_text(q, 3));
			if (level != 0 && (u == NULL || l != 16))
				r = tv_errf(TV_ERR_FORMAT, "backup set '%s': an incremental without "
				            "its parent in the catalog", name);
			else if (u != NULL && l == 16)
				memcpy(pu, u, 16);
		}
		tv_stmt_free(q);
		if (r < 0)
			return r;
		chain[nchain] = id;
		chain_ms[nchain++] = ms;
		*n_out = nchain;
		if (level == 0)
			break;
		r = tv_db_get_int(db, &id, "SELECT id FROM backup_sets WHERE uuid=?", "b", pu,
		                  (size_t)16);
		if (r == TV_ERR_NOTFOUND) {
			char u[37];
			tv_uuid_to_str(pu, u);
			return tv_errf(TV_ERR_NOTFOUND, "backup set '%s' is based on set %s, which "
			               "this catalog does not hold: catalog the tapes of that set "
			               "(and of the sets before it) and restore again", name, u);
		}
		if (r != 0)
			return r;
		for (size_t k = 0; k < nchain; k++)
			if (chain[k] == id)
				return tv_errf(TV_ERR_FORMAT, "backup set '%s': its chain of parents "
				               "loops", name);
	}
	if (nchain == 1)
		return 0;
	if ((r = tv_db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS rsel(p TEXT PRIMARY KEY,"
	                    " sid INTEGER NOT NULL, sidx INTEGER NOT NULL) WITHOUT ROWID",
	                    "")) != 0 ||
	    (r = tv_db_exec(db, "DELETE FROM temp.rsel", "")) != 0 ||
	    (r = tv_db_begin(db)) != 0)
		return r;
	for (size_t k = nchain; k-- > 0 && r == 0;) {
		if ((r = tv_db_exec(db, "DELETE FROM temp.rsel WHERE p IN (SELECT path FROM "
		                    "set_deleted WHERE set_id=?)", "i", chain[k])) == 0)
			r = tv_db_exec(db, "INSERT INTO temp.rsel(p, sid, sidx) SELECT path, set_id,"
			               " idx FROM files WHERE set_id=? ON CONFLICT(p) DO UPDATE SET"
			               " sid=excluded.sid, sidx=excluded.sidx", "i", chain[k]);
	}
	if (r != 0) {
		tv_db_rollback(db);
		return r;
	}
	return tv_db_commit(db);
}

/* The set's chain and the rows restored: of the set, or of its chain. */
static int chain_build(struct rjob *rj)
{
	int r = tv_set_chain(rj->h, rj->set_id, &rj->chain, &rj->chain_ms, &rj->nchain);

	if (r != 0)
		return r;
	if (rj->nchain == 1) {
		snprintf(rj->from, sizeof(rj->from), "%s", FROM_SET);
		return 0;
	}
	tv_info(rj->h, "restoring the tree as it was at that backup: %zu set(s) of its chain",
	        rj->nchain);
	snprintf(rj->from, sizeof(rj->from), "%s", FROM_CHAIN);
	return 0;
}

static int prepare(struct rjob *rj)
{
	struct tv_db *db = rj->h->db;
	int r;

	if ((r = tv_db_prepare(db, &rj->q_part, Q_PART)) != 0 ||
	    (r = tv_db_prepare(db, &rj->q_tape, Q_TAPE)) != 0 ||
	    (r = tv_db_prepare(db, &rj->q_data, Q_DATA)) != 0)
		return r;
	return 0;
}

int tv_job_restore(struct tv_home *h, const char *setref, const struct tv_restore_opts *o)
{
	struct rjob rj;
	uint8_t set_uuid[16];
	int64_t total = 0;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	memset(&rj, 0, sizeof(rj));
	rj.h = h;
	rj.o = o;
	rj.dfd = -1;
	rj.euid = geteuid();
	rj.egid = getegid();
	rj.whole = o->npaths == 0;
	rj.old_umask = umask(0);   /* read it; set to 0 below, put back at the end */
	umask(rj.old_umask);
	snprintf(h->job, sizeof(h->job), "restore");
	if ((r = tv_set_lookup(h, setref, &rj.set_id, set_uuid)) != 0)
		return r;
	if ((r = tv_db_get_int(h->db, &rj.ms_id, "SELECT media_set_id FROM backup_sets "
	                       "WHERE id=?", "i", rj.set_id)) != 0)
		return r;
	rj.cur_set = rj.set_id;
	rj.cur_ms = rj.ms_id;
	if ((o->to == NULL) == !o->to_original)
		return tv_errf(TV_ERR_INVAL, "restore needs --to DIR or --to-original");
	if (o->to != NULL) {
		size_t l = strlen(o->to);
		while (l > 1 && o->to[l - 1] == '/')
			l--;
		if (l >= sizeof(rj.root))
			return tv_errf(TV_ERR_RANGE, "%s: path too long", o->to);
		memcpy(rj.root, o->to, l);
		rj.root[l] = '\0';
		if (strcmp(rj.root, "/") == 0)
			rj.root[0] = '\0';
		if ((r = tv_mkdir_p(o->to, 0700, 0755)) != 0)
			return r;
	}
	if ((r = pats_build(&rj)) != 0 || (r = chain_build(&rj)) != 0)
		goto out;
	if ((rj.e = malloc(sizeof(*rj.e))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	{
		struct tv_fsmeta_opts fo = { o->no_xattrs, o->numeric_owner };
		if ((r = tv_fsmeta_new(&rj.fm, h, &fo)) != 0 || (r = load_names(&rj)) != 0)
			goto out;
	}
	/* modes are given to open(2) as they are on tape */
	umask(0);
	if ((r = prepare(&rj)) != 0 || (r = set_problems_report(&rj)) != 0)
		goto out;
	if ((r = phase_dirs(&rj)) != 0)
		goto out;
	{
		struct tv_stmt *tq;
		if (rows_query(&rj, &tq, "SELECT COALESCE(SUM(f.size),0) FROM %s AND f.ftype=?",
		               "ii", (int64_t)TV_FT_REG, 0, 0) == 0) {
			if (tv_stmt_step(tq) == 1)
				total = tv_stmt_int(tq, 0);
			tv_stmt_free(tq);
		}
	}
	tv_progress_start(&rj.prog, h, "restoring", o->npaths ? 0 : (uint64_t)total);
	r = phase_files(&rj);
	tv_progress_end(&rj.prog);
	r = rt_close(&rj, r);
	if (r != 0)
		goto out;
	if ((r = phase_hardlinks(&rj)) != 0 || (r = phase_special(&rj)) != 0)
		goto out;
	if ((r = rt_close(&rj, r)) != 0 || (r = phase_links(&rj)) != 0 || (r = phase_dir_meta(&rj)) != 0)
		goto out;
	tape_more_report(&rj);
	h->job_files = rj.nfiles;   /* for the job history */
	h->job_bytes = rj.nbytes;
	tv_info(h, "restored %llu item(s), %llu bytes of file data into %s (%llu part(s) read "
	        "from tape)%s", (unsigned long long)rj.nfiles, (unsigned long long)rj.nbytes,
	        o->to_original ? "their original places" : o->to,
	        (unsigned long long)rj.parts_read, rj.nfailed || rj.nkept ? ": NOT ALL" : "");
	if (rj.ninner > 0 && (r = extract_inner(h, rj.inner, rj.ninner, o->password_file)) != 0)
		goto out;
	if (o->extract && rj.ninner == 0)
		tv_info(h, "--extract: the restored files hold no job-encrypted backup file");
	r = restore_result(&rj);
out:
	pats_free(&rj);
	if (rj.dfd >= 0)
		close(rj.dfd);
	umask(rj.old_umask);
	r = rt_close(&rj, r);
	tv_stmt_free(rj.q_part);
	tv_stmt_free(rj.q_tape);
	tv_stmt_free(rj.q_data);
	for (size_t i = 0; i < rj.ninner; i++)
		free(rj.inner[i]);
	free(rj.inner);
	free(rj.e);
	free(rj.chain);
	free(rj.chain_ms);
	tv_fsmeta_free(rj.fm);
	return r;
}
