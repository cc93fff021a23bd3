/* tapevault: the backup-to-tape job.
 *
 * Walks the source paths, writes one tape file per file (or file part),
 * spans to the next tape of the pool at early warning, writes the session
 * catalog at the end of every tape it used, and records everything in the
 * catalog database (one transaction per tape, so a crash loses at most
 * the tape in progress — and that tape can still be recovered by the
 * catalog job's scan). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "crypto/rand.h"
#include "format/record.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/session.h"
#include "library/vlib.h"
#include "util/err.h"


struct wjob {
	struct tv_home *h;
	struct tv_pool pool;
	struct tv_vlib *lib;
	int64_t lib_id;
	int64_t ms_id;
	uint8_t ms_uuid[16];
	int64_t set_id;
	uint8_t set_uuid[16];
	char set_name[TV_NAME_MAX];
	uint64_t file_index;
	struct tv_session s;         /* the tape being written */
	int have_tape;
	int started_new_ms;
	uint64_t first_seq;
	size_t record_size;
	uint64_t files, bytes, tapes, skipped;
	struct tv_progress prog;
	uint64_t total_bytes;
};

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
			struct tv_stmt *st;
			j->ms_id = id;
			if ((r = tv_db_query(j->h->db, &st, "SELECT uuid FROM media_sets WHERE id=?",
			                     "i", id)) != 0)
				return r;
			if (tv_stmt_step(st) == 1) {
				const void *u = tv_stmt_blob(st, 0, &n);
				if (u && n == 16)
					memcpy(j->ms_uuid, u, 16);
			}
			tv_stmt_free(st);
			return 0;
		}
		if (r != TV_ERR_NOTFOUND)
			return r;
	} else {
		/* per-job: close the pool's open media set */
		if ((r = tv_db_exec(j->h->db, "UPDATE media_sets SET closed=1 WHERE pool_id=?",
		                    "i", j->pool.id)) != 0)
			return r;
	}
	tv_uuid_new(j->ms_uuid);
	if ((r = tv_db_exec(j->h->db,
	                    "INSERT INTO media_sets(uuid, pool_id, created) VALUES(?,?,?)",
	                    "bii", j->ms_uuid, (size_t)16, j->pool.id, (int64_t)tv_now())) != 0)
		return r;
	j->ms_id = tv_db_last_id(j->h->db);
	j->started_new_ms = 1;
	return 0;
}

/* Pick the tape to continue on (policy continue, last tape not full) or a
 * free one, load it and prepare a session. */
static int next_tape(struct wjob *j)
{
	struct tv_stmt *st = NULL;
	char barcode[32] = "";
	int64_t tape_id = 0, seq = 0;
	int append = 0, r;

	if (j->have_tape) {
		if ((r = tv_session_finish(&j->s, j->set_id, 0)) != 0)
			return r;
		j->have_tape = 0;
		tv_lib_unload_quiet(j->lib, 0);
		if ((r = tv_db_commit(j->h->db)) != 0)
			return r;
		if ((r = tv_db_begin(j->h->db)) != 0)
			return r;
		/* a full tape: the media set continues on a new tape */
	} else {
		/* start of job: continue the media set's last tape if it has room */
		r = tv_db_query(j->h->db, &st,
		                "SELECT id, barcode, seq, full, COALESCE(enc_spec,'') FROM tapes WHERE media_set_id=? "
		                "ORDER BY seq DESC LIMIT 1", "i", j->ms_id);
		if (r != 0)
			return r;
		/* a tape labeled under another encryption setting is not appended
		 * to: after a key change, new data goes under the new key */
		struct tv_vlib_elem el;
		if ((r = tv_stmt_step(st)) == 1 && tv_stmt_int(st, 3) == 0 &&
		    strcmp(tv_stmt_text(st, 4), j->pool.encryption) == 0 &&
		    tv_vlib_find(j->lib, tv_stmt_text(st, 1), &el) == 0) {
			tape_id = tv_stmt_int(st, 0);
			snprintf(barcode, sizeof(barcode), "%s", tv_stmt_text(st, 1));
			seq = tv_stmt_int(st, 2);
			append = 1;
		}
		tv_stmt_free(st);
		st = NULL;
		tv_errclear();   /* a last tape that left the library is not appended to */
		if (r < 0)
			return r;
	}
	if (!append) {
		r = tv_db_get_int(j->h->db, &seq,
		                  "SELECT COALESCE(MAX(seq),0)+1 FROM tapes WHERE media_set_id=?",
		                  "i", j->ms_id);
		if (r != 0)
			return r;
		r = tv_db_query(j->h->db, &st,
		                "SELECT id, barcode FROM tapes WHERE state='free' AND library_id=? "
		                "ORDER BY barcode LIMIT 1", "i", j->lib_id);
		if (r != 0)
			return r;
		r = tv_stmt_step(st);
		if (r == 1) {
			tape_id = tv_stmt_int(st, 0);
			snprintf(barcode, sizeof(barcode), "%s", tv_stmt_text(st, 1));
		}
		tv_stmt_free(st);
		if (r < 0)
			return r;
		if (r == 0)
			return tv_errf(TV_ERR_NOSPC,
			               "no free tape left in the library of pool '%s' (needed for "
			               "media set sequence %lld): add blank cartridges with "
			               "'tapevault tape new' and run the job again",
			               j->pool.name, (long long)seq);
	}
	r = tv_session_open(&j->s, j->h, j->lib, 0, tape_id, barcode, append, j->record_size);
	if (r != 0)
		return r;
	if (!append) {
		r = tv_session_label(&j->s, &j->pool, j->ms_id, j->ms_uuid, (uint64_t)seq);
		if (r != 0) {
			tv_session_abort(&j->s);
			tv_lib_unload_quiet(j->lib, 0);
			return r;
		}
	}
	j->have_tape = 1;
	j->tapes++;
	if (j->first_seq == 0) {
		j->first_seq = j->s.seq;
		tv_db_exec(j->h->db, "UPDATE backup_sets SET first_seq=? WHERE id=?", "ii",
		           (int64_t)j->s.seq, j->set_id);
	}
	tv_db_exec(j->h->db, "UPDATE backup_sets SET last_seq=? WHERE id=?", "ii",
	           (int64_t)j->s.seq, j->set_id);
	tv_info(j->h, "%s tape %s (pool %s, media set sequence %llu)",
	        append ? "appending to" : "writing", j->s.barcode, j->pool.name,
	        (unsigned long long)j->s.seq);
	return 0;
}

static int ensure_room(struct wjob *j)
{
	if (!j->have_tape || tv_twriter_ew(j->s.w))
		return next_tape(j);
	return 0;
}

static int write_entry(struct wjob *j, const char *src, const char *rel,
                       const struct stat *sb)
{
	struct tv_entry *e;
	struct tv_buf eb;
	int fd = -1, r = 0, last, shrank = 0;
	uint64_t part = 1, done = 0, part_start;
	struct tv_file_result fr;
	int64_t file_id = 0;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return TV_ERR_NOMEM;
	tv_buf_init(&eb);
	if (strlen(rel) >= sizeof(e->path)) {
		tv_warn(j->h, "%s: path too long, skipped", src);
		j->skipped++;
		goto out;
	}
	snprintf(e->path, sizeof(e->path), "%s", rel);
	if (j->file_index == 0)
		snprintf(e->set_name, sizeof(e->set_name), "%s", j->set_name);
	e->mode = sb->st_mode & 07777;
	e->uid = sb->st_uid;
	e->gid = sb->st_gid;
	e->mtime_sec = sb->st_mtim.tv_sec;
	e->mtime_nsec = (uint64_t)sb->st_mtim.tv_nsec;
	if (S_ISREG(sb->st_mode)) {
		e->ftype = TV_FT_REG;
		e->size = (uint64_t)sb->st_size;
		fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			tv_warn(j->h, "%s: cannot open: %s (skipped)", src, strerror(errno));
			j->skipped++;
			goto out;
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		{
			/* a job-encrypted backup file (inner layer of double encryption)
			 * is marked so the catalog can show "backup encrypted" */
			uint8_t magic[8];
			ssize_t m = pread(fd, magic, sizeof(magic), 0);
			if (m >= 4 && tv_backup_probe(magic, (size_t)m))
				e->flags |= TV_EF_INNER_ENCRYPTED;
		}
	} else if (S_ISDIR(sb->st_mode)) {
		e->ftype = TV_FT_DIR;
	} else if (S_ISLNK(sb->st_mode)) {
		ssize_t n;
		e->ftype = TV_FT_SYMLINK;
		n = readlink(src, e->link, sizeof(e->link) - 1);
		if (n < 0) {
			tv_warn(j->h, "%s: cannot read link: %s (skipped)", src, strerror(errno));
			j->skipped++;
			goto out;
		}
		e->link[n] = '\0';
	} else {
		tv_warn(j->h, "%s: not a regular file, directory or symbolic link (skipped)", src);
		j->skipped++;
		goto out;
	}

	for (;;) {
		struct tv_file_header fh;
		uint8_t cuuid[16];
		int incomplete = 0;

		if ((r = ensure_room(j)) != 0)
			goto out;
		memset(&fh, 0, sizeof(fh));
		memcpy(fh.set_uuid, j->set_uuid, 16);
		fh.file_index = j->file_index;
		fh.part_no = part;
		fh.offset = done;
		fh.encrypted = j->s.encrypted;
		e->offset = done;
		tv_buf_reset(&eb);
		if ((r = tv_file_header_encode(&eb, &fh)) != 0)
			goto out;
		tv_uuid_new(cuuid);
		if ((r = tv_twriter_begin_file(j->s.w, j->s.file_no, TV_CT_FILE_DATA, cuuid,
		                               tv_buf_ptr(&eb), tv_buf_avail(&eb),
		                               j->s.encrypted ? j->s.dek : NULL)) != 0)
			goto out;
		tv_buf_reset(&eb);
		if ((r = tv_entry_encode(&eb, e)) != 0 ||
		    (r = tv_twriter_write(j->s.w, tv_buf_ptr(&eb), tv_buf_avail(&eb))) != 0)
			goto out;
		part_start = done;
		while (e->ftype == TV_FT_REG && done < e->size) {
			/* read(2) straight into the record buffer: no extra copy */
			uint8_t *dst;
			size_t room, want;
			ssize_t n;
			if ((r = tv_twriter_reserve(j->s.w, &dst, &room)) != 0)
				goto out;
			want = e->size - done < room ? (size_t)(e->size - done) : room;
			n = read(fd, dst, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = tv_errf(TV_ERR_IO, "%s: read error: %s", src, strerror(errno));
				goto out;
			}
			if (n == 0) {
				/* file shrank while we read it: keep the promised size */
				if (!shrank) {
					tv_warn(j->h, "%s: file shrank during backup; padded with zeros", src);
					j->skipped++;
					shrank = 1;
				}
				memset(dst, 0, want);
				n = (ssize_t)want;
			}
			if ((r = tv_twriter_commit(j->s.w, (size_t)n)) != 0)
				goto out;
			done += (uint64_t)n;
			j->bytes += (uint64_t)n;
			tv_progress_update(&j->prog, j->bytes);
			if (done < e->size && tv_twriter_ew(j->s.w)) {
				incomplete = 1;
				break;
			}
		}
		if ((r = tv_twriter_end_file(j->s.w, incomplete, &fr)) != 0)
			goto out;
		last = !incomplete;
		if (part == 1) {
			r = tv_db_exec(j->h->db,
			               "INSERT INTO files(set_id, file_index, path, ftype, mode, uid, gid,"
			               " mtime_sec, mtime_nsec, size, link, eflags) "
			               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
			               "iitiiiiiiiti", j->set_id, (int64_t)j->file_index, e->path,
			               (int64_t)e->ftype, (int64_t)e->mode, (int64_t)e->uid,
			               (int64_t)e->gid, (int64_t)e->mtime_sec, (int64_t)e->mtime_nsec,
			               (int64_t)e->size, e->ftype == TV_FT_SYMLINK ? e->link : NULL,
			               (int64_t)e->flags);
			if (r != 0)
				goto out;
			file_id = tv_db_last_id(j->h->db);
		}
		r = tv_db_exec(j->h->db,
		               "INSERT INTO parts(file_id, part_no, last_part, tape_uuid, file_no,"
		               " content_uuid, offset, length, records, crc) "
		               "VALUES(?,?,?,?,?,?,?,?,?,?)",
		               "iiibibiiii", file_id, (int64_t)part, (int64_t)last, j->s.uuid,
		               (size_t)16, (int64_t)j->s.file_no, cuuid, (size_t)16,
		               (int64_t)part_start, (int64_t)(done - part_start),
		               (int64_t)fr.records, (int64_t)fr.crc);
		if (r != 0)
			goto out;
		j->s.file_no++;
		if (last)
			break;
		tv_verbose(j->h, "%s continues on the next tape (part %llu)", rel,
		           (unsigned long long)part + 1);
		part++;
	}
	j->file_index++;
	j->files++;
out:
	if (fd >= 0)
		close(fd);
	tv_buf_free(&eb);
	free(e);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Depth-first, names sorted (deterministic tape order). */
static int walk(struct wjob *j, const char *src, const char *rel)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (lstat(src, &sb) != 0) {
		tv_warn(j->h, "%s: %s (skipped)", src, strerror(errno));
		j->skipped++;
		return 0;
	}
	if ((r = write_entry(j, src, rel, &sb)) != 0)
		return r;
	if (!S_ISDIR(sb.st_mode))
		return 0;
	if ((d = opendir(src)) == NULL) {
		tv_warn(j->h, "%s: cannot read directory: %s (skipped)", src, strerror(errno));
		j->skipped++;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;
			cap = cap ? cap * 2 : 64;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL) {
				r = TV_ERR_NOMEM;
				goto out;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = TV_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && r == 0; i++) {
		char *s2, *r2;
		if (asprintf(&s2, "%s/%s", src, names[i]) < 0) {
			r = TV_ERR_NOMEM;
			break;
		}
		if (asprintf(&r2, "%s/%s", rel, names[i]) < 0) {
			free(s2);
			r = TV_ERR_NOMEM;
			break;
		}
		r = walk(j, s2, r2);
		free(s2);
		free(r2);
	}
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static uint64_t tree_bytes(const char *path, int depth)
{
	struct stat sb;
	uint64_t sum = 0;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISDIR(sb.st_mode))
		return S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	if (depth > 64 || (d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *p;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
			break;
		sum += tree_bytes(p, depth + 1);
		free(p);
	}
	closedir(d);
	return sum;
}

/* Stored name of a source argument: its last path component. */
static const char *stored_name(const char *path, char *buf, size_t bufsz)
{
	size_t len = strlen(path);
	const char *s;

	while (len > 1 && path[len - 1] == '/')
		len--;
	snprintf(buf, bufsz, "%.*s", (int)len, path);
	s = strrchr(buf, '/');
	if (s != NULL && s[1] != '\0')
		return s + 1;
	if (strcmp(buf, "/") == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
		return "root";
	return buf;
}

int tv_job_write(struct tv_home *h, const char *pool, char *const *paths, size_t npaths,
                 const struct tv_write_opts *o, struct tv_write_result *res)
{
	struct wjob j;
	char uuidstr[37];
	int r, in_tx = 0;

	memset(&j, 0, sizeof(j));
	memset(res, 0, sizeof(*res));
	j.h = h;
	snprintf(h->job, sizeof(h->job), "write");
	j.record_size = o && o->record_size ? o->record_size : TV_RECORD_SIZE_DEFAULT;
	if ((r = tv_pool_get(h, pool, &j.pool)) != 0)
		return r;
	if (j.pool.imported)
		return tv_errf(TV_ERR_STATE, "pool '%s' was imported from tapes written elsewhere: "
		               "create a pool of this installation to write to", pool);
	for (size_t i = 0; i < npaths; i++) {
		struct stat sb;
		if (lstat(paths[i], &sb) != 0)
			return tv_errf(TV_ERR_NOTFOUND, "%s: %s", paths[i], strerror(errno));
	}
	{
		struct tv_stmt *st;
		char libname[TV_NAME_MAX] = "";
		if ((r = tv_db_query(h->db, &st, "SELECT name FROM libraries WHERE id=?", "i",
		                     j.pool.library_id)) != 0)
			return r;
		if (tv_stmt_step(st) == 1)
			snprintf(libname, sizeof(libname), "%s", tv_stmt_text(st, 0));
		tv_stmt_free(st);
		if ((r = tv_lib_open_by_name(h, libname, &j.lib, &j.lib_id)) != 0)
			return r;
	}
	if ((r = tv_db_begin(h->db)) != 0)
		goto out;
	in_tx = 1;
	if ((r = open_media_set(&j)) != 0)
		goto out;
	tv_uuid_new(j.set_uuid);
	tv_uuid_to_str(j.set_uuid, uuidstr);
	if (o && o->set_name && *o->set_name)
		snprintf(j.set_name, sizeof(j.set_name), "%s", o->set_name);
	else
		snprintf(j.set_name, sizeof(j.set_name), "%s-%llu", pool,
		         (unsigned long long)tv_now());
	r = tv_db_exec(h->db,
	               "INSERT INTO backup_sets(uuid, name, pool_id, media_set_id, created) "
	               "VALUES(?,?,?,?,?)",
	               "btiii", j.set_uuid, (size_t)16, j.set_name, j.pool.id, j.ms_id,
	               (int64_t)tv_now());
	if (r != 0)
		goto out;
	j.set_id = tv_db_last_id(h->db);
	tv_log(h, "backup set %s '%s' to pool %s", uuidstr, j.set_name, pool);

	for (size_t i = 0; i < npaths; i++)
		j.total_bytes += tree_bytes(paths[i], 0);
	tv_progress_start(&j.prog, h, "writing", j.total_bytes);
	for (size_t i = 0; i < npaths && r == 0; i++) {
		char nb[PATH_MAX];
		r = walk(&j, paths[i], stored_name(paths[i], nb, sizeof(nb)));
	}
	tv_progress_end(&j.prog);
	if (r != 0)
		goto out;
	if (!j.have_tape && (r = next_tape(&j)) != 0)
		goto out;      /* empty source: still a (empty) set on tape */
	r = tv_db_exec(h->db,
	               "UPDATE backup_sets SET complete=1, nfiles=?, nbytes=?, last_seq=? "
	               "WHERE id=?", "iiii", (int64_t)j.files, (int64_t)j.bytes,
	               (int64_t)j.s.seq, j.set_id);
	if (r != 0)
		goto out;
	if ((r = tv_session_finish(&j.s, j.set_id, 1)) != 0)
		goto out;
	j.have_tape = 0;
	tv_lib_unload_quiet(j.lib, 0);
	if ((r = tv_db_commit(h->db)) != 0)
		goto out;
	in_tx = 0;
	memcpy(res->set_uuid, j.set_uuid, 16);
	res->files = j.files;
	res->bytes = j.bytes;
	res->tapes = j.tapes;
	tv_log(h, "backup set %s: %llu files, %llu bytes, %llu tape(s)", uuidstr,
	       (unsigned long long)j.files, (unsigned long long)j.bytes,
	       (unsigned long long)j.tapes);
	if (j.skipped > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%llu item(s) were skipped or changed during the "
		            "backup (see the warnings above)", (unsigned long long)j.skipped);
out:
	if (j.have_tape) {
		tv_session_abort(&j.s);
		tv_lib_unload_quiet(j.lib, 0);
	}
	if (in_tx)
		tv_db_rollback(h->db);
	tv_vlib_close(j.lib);
	return r;
}
