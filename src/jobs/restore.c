/* tapevault: restore job.
 *
 * Files are restored tape by tape in tape-file order, positioning by file
 * number (no reading of the files in between).  Directories are created
 * first, symbolic links last (so no link made by the restore can redirect
 * a file written by it), directory modes and times after everything. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "crypto/password.h"
#include "crypto/secmem.h"
#include "crypto/slot.h"
#include "format/record.h"
#include "jobs/kmsglue.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/restore_int.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/path.h"

static int set_query(struct tv_home *h, const char *sql, const char *ref, int64_t *set_id,
                     uint8_t uuid[16], int *n)
{
	struct tv_stmt *st;
	int r;

	*n = 0;
	if ((r = tv_db_query(h->db, &st, sql, "t", ref)) != 0)
		return r;
	while ((r = tv_stmt_step(st)) == 1) {
		size_t len;
		const void *u = tv_stmt_blob(st, 1, &len);
		if (*n == 0) {
			*set_id = tv_stmt_int(st, 0);
			if (u && len == 16)
				memcpy(uuid, u, 16);
		}
		(*n)++;
	}
	tv_stmt_free(st);
	return r < 0 ? r : 0;
}

int tv_set_lookup(struct tv_home *h, const char *ref, int64_t *set_id, uint8_t uuid[16])
{
	char like[80];
	int r, n = 0;

	/* an exact name, else a (unique) prefix of the id with or without dashes */
	if ((r = set_query(h, "SELECT id, uuid FROM backup_sets WHERE name=?", ref, set_id, uuid,
	                   &n)) != 0)
		return r;
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

static int matches(const char *path, char *const *paths, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(paths[i]);
		while (l > 1 && paths[i][l - 1] == '/')
			l--;
		if (strncmp(path, paths[i], l) == 0 && (path[l] == '\0' || path[l] == '/'))
			return 1;
		/* a parent directory of a selected path is restored too */
		if (strncmp(paths[i], path, strlen(path)) == 0 && paths[i][strlen(path)] == '/')
			return 2;
	}
	return 0;
}

struct rfile {
	struct tv_progress *prog;
	uint64_t *progress_bytes;
	int64_t file_id;
	int fd;
	char full[PATH_MAX];
	uint64_t size, written;
	uint64_t mode, uid, gid;
	int64_t mtime_sec;
	uint64_t mtime_nsec;
	uint64_t eflags;
	int failed;
};

static void rfile_fail(struct rfile *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
		unlink(f->full);
	}
	f->failed = 1;
}

static int rfile_finish(struct tv_home *h, struct rfile *f)
{
	struct timespec ts[2];
	int r = 0;

	if (f->fd < 0)
		return 0;
	if (f->written != f->size) {
		r = tv_errf(TV_ERR_FORMAT, "%s: restored %llu of %llu bytes", f->full,
		            (unsigned long long)f->written, (unsigned long long)f->size);
		rfile_fail(f);
		return r;
	}
	if (geteuid() == 0 && fchown(f->fd, (uid_t)f->uid, (gid_t)f->gid) != 0)
		tv_warn(h, "%s: cannot set owner: %s", f->full, strerror(errno));
	if (fchmod(f->fd, (mode_t)(f->mode & 07777)) != 0)
		tv_warn(h, "%s: cannot set mode: %s", f->full, strerror(errno));
	ts[0].tv_sec = f->mtime_sec;
	ts[0].tv_nsec = (long)f->mtime_nsec;
	ts[1] = ts[0];
	if (futimens(f->fd, ts) != 0)
		tv_warn(h, "%s: cannot set times: %s", f->full, strerror(errno));
	if (close(f->fd) != 0) {
		f->fd = -1;
		r = tv_errf(TV_ERR_IO, "%s: %s", f->full, strerror(errno));
		unlink(f->full);
		f->failed = 1;
		return r;
	}
	f->fd = -1;
	return 0;
}

/* Read one part: position, check the header, stream data into f. */
static int restore_part(struct tv_home *h, struct tv_tape *t, struct tv_treader *rd,
                        const char *barcode, uint64_t file_no,
                        const uint8_t content_uuid[16], const uint8_t *dek,
                        uint64_t offset, uint64_t length, uint32_t want_crc,
                        struct rfile *f)
{
	struct tv_content_header ch;
	struct tv_file_header fh;
	struct tv_entry *e = NULL;
	struct tv_buf b;
	uint64_t got_file_no, done = 0;
	uint32_t crc = 0;
	size_t got;
	int r, have_entry = 0;

	tv_buf_init_max(&b, TV_ENTRY_MAX + 16);
	if ((r = tv_tape_goto_file(t, file_no)) != 0) {
		tv_errctx(r, "tape %s: positioning at file %llu", barcode, (unsigned long long)file_no);
		goto out;
	}
	if ((r = tv_treader_begin_file(rd, &ch, &got_file_no)) != 0)
		goto out;
	if (ch.type != TV_CT_FILE_DATA || memcmp(ch.uuid, content_uuid, 16) != 0) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s file %llu is not the file the catalog names "
		            "(tape overwritten since it was cataloged?)", barcode,
		            (unsigned long long)file_no);
		goto out;
	}
	if ((r = tv_file_header_decode(ch.body, ch.body_len, &fh)) != 0)
		goto out;
	if ((r = tv_treader_set_dek(rd, fh.encrypted ? dek : NULL)) != 0)
		goto out;
	if (fh.encrypted && dek == NULL) {
		r = tv_errf(TV_ERR_LOCKED, "tape %s is encrypted and not unlocked", barcode);
		goto out;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		const uint8_t *data, *chunk;
		size_t dlen;
		/* decrypted bytes in place in the reader's record buffer: no copy */
		if ((r = tv_treader_next(rd, &chunk, &got)) != 0)
			goto out;
		if (got == 0)
			break;
		crc = tv_crc32c(crc, chunk, got);
		data = chunk;
		dlen = got;
		if (!have_entry) {
			size_t room = (TV_ENTRY_MAX + 16) - tv_buf_avail(&b);
			size_t take = got < room ? got : room;
			if ((r = tv_buf_put(&b, chunk, take)) != 0)
				goto out;
			r = tv_entry_decode(&b, e);
			if (r == TV_ERR_EOF && take == got)
				continue;
			if (r != 0)
				goto out;
			have_entry = 1;
			if (e->offset != offset) {
				r = tv_errf(TV_ERR_FORMAT, "tape %s file %llu: part offset %llu, catalog "
				            "says %llu", barcode, (unsigned long long)file_no,
				            (unsigned long long)e->offset, (unsigned long long)offset);
				goto out;
			}
			/* leftover data bytes in the entry buffer */
			if (tv_buf_avail(&b) > 0) {
				size_t n = tv_buf_avail(&b);
				if (done + n > length) {
					r = tv_errf(TV_ERR_FORMAT, "tape %s file %llu: more data than cataloged",
					            barcode, (unsigned long long)file_no);
					goto out;
				}
				if (pwrite(f->fd, tv_buf_ptr(&b), n, (off_t)(offset + done)) != (ssize_t)n) {
					r = tv_errf(TV_ERR_IO, "%s: write: %s", f->full, strerror(errno));
					goto out;
				}
				done += n;
			}
			data = chunk + take;
			dlen = got - take;
		}
		if (dlen == 0)
			continue;
		if (done + dlen > length) {
			r = tv_errf(TV_ERR_FORMAT, "tape %s file %llu: more data than cataloged", barcode,
			            (unsigned long long)file_no);
			goto out;
		}
		{
			size_t off = 0;
			while (off < dlen) {
				ssize_t w = pwrite(f->fd, data + off, dlen - off, (off_t)(offset + done + off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					r = tv_errf(TV_ERR_IO, "%s: write: %s", f->full,
					            w < 0 ? strerror(errno) : "no space");
					goto out;
				}
				off += (size_t)w;
			}
		}
		done += dlen;
		if (f->prog != NULL) {
			*f->progress_bytes += dlen;
			tv_progress_update(f->prog, *f->progress_bytes);
		}
	}
	if (!have_entry || done != length) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s file %llu: %llu data bytes, catalog says %llu",
		            barcode, (unsigned long long)file_no, (unsigned long long)done,
		            (unsigned long long)length);
		goto out;
	}
	if (crc != want_crc) {
		r = tv_errf(TV_ERR_CRC, "tape %s file %llu: checksum of the file differs from the "
		            "catalog", barcode, (unsigned long long)file_no);
		goto out;
	}
	f->written += done;
out:
	/* leave the reader idle: the next part is reached by positioning */
	if (tv_treader_end_file(rd) != 0 && r == 0)
		r = TV_ERR_IO;
	free(e);
	tv_buf_free(&b);
	return r;
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
			tv_errclear();
			if (tv_keys_password_get(u->h, s->name, &pw, &len) == 0) {
				int r = tv_slot_password_open(s, uuid, pw, len, NULL, dek_out);
				tv_freezero(pw, len + 1);
				if (r == 0)
					return 0;
			}
			tv_errclear();
		} else if (s->type == TV_SLOT_KMS) {
			if (tv_kmsglue_open_slot(u->h, s, uuid, NULL, NULL, dek_out, used,
			                         sizeof(used)) == 0)
				return 0;
			tv_errclear();
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
	struct tv_unlocker un = {inner_unlock_cb, &u};
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
		struct tv_backup_stats st;
		char dest[PATH_MAX + 16];
		memset(&st, 0, sizeof(st));
		snprintf(dest, sizeof(dest), "%s.extracted", files[i]);
		r = tv_backup_extract(files[i], dest, &un, &st);
		if (r != 0) {
			tv_warn(h, "%s: %s", files[i], tv_errmsg(r));
			tv_errclear();
			failed++;
			continue;
		}
		tv_info(h, "%s: job-encrypted backup opened into %s (%llu file(s))", files[i], dest,
		        (unsigned long long)st.files);
	}
	if (pw != NULL)
		tv_freezero(pw, pwlen + 1);
	return failed ? tv_errf(TV_ERR_PARTIAL, "%d job-encrypted backup file(s) could not be "
	                        "opened", failed) : 0;
}

struct dirfix {
	char *full;
	uint64_t mode, uid, gid;
	int64_t mtime_sec;
	uint64_t mtime_nsec;
};

int tv_job_restore(struct tv_home *h, const char *setref, const struct tv_restore_opts *o)
{
	int64_t set_id;
	uint8_t set_uuid[16];
	struct tv_stmt *st = NULL;
	struct dirfix *dirs = NULL;
	size_t ndirs = 0, capdirs = 0;
	struct rfile f;
	struct tv_vlib *lib = NULL;
	struct tv_tape *t = NULL;
	struct tv_treader *rd = NULL;
	char cur_tape[32] = "";
	uint8_t dek[TV_DEK_LEN];
	int have_dek = 0, cur_failed = 0;
	uint64_t nfiles = 0, nfailed = 0, nbytes = 0, parts_read = 0, pbytes = 0;
	struct tv_progress prog;
	int64_t total = 0;
	char **inner = NULL;
	size_t ninner = 0;
	int r, rr;

	memset(&f, 0, sizeof(f));
	f.fd = -1;
	snprintf(h->job, sizeof(h->job), "restore");
	if ((r = tv_set_lookup(h, setref, &set_id, set_uuid)) != 0)
		return r;
	if ((r = tv_mkdir_p(o->to, 0700, 0755)) != 0)
		return r;

	/* 1. directories (and a selected file's parents) */
	if ((r = tv_db_query(h->db, &st,
	                     "SELECT path, mode, uid, gid, mtime_sec, mtime_nsec FROM files "
	                     "WHERE set_id=? AND ftype=? ORDER BY file_index", "ii", set_id,
	                     (int64_t)TV_FT_DIR)) != 0)
		goto out;
	while ((rr = tv_stmt_step(st)) == 1) {
		const char *p = tv_stmt_text(st, 0);
		char full[PATH_MAX];
		if (!matches(p, o->paths, o->npaths))
			continue;
		if (!tv_restore_safe_path(p)) {
			tv_warn(h, "unsafe path on tape skipped: %s", p);
			nfailed++;
			continue;
		}
		snprintf(full, sizeof(full), "%s/%s", o->to, p);
		if ((r = tv_mkdir_p(full, 0700, 0700)) != 0)
			goto out;
		if (ndirs == capdirs) {
			struct dirfix *nd;
			capdirs = capdirs ? capdirs * 2 : 64;
			if ((nd = realloc(dirs, capdirs * sizeof(*dirs))) == NULL) {
				r = TV_ERR_NOMEM;
				goto out;
			}
			dirs = nd;
		}
		dirs[ndirs].full = strdup(full);
		dirs[ndirs].mode = (uint64_t)tv_stmt_int(st, 1);
		dirs[ndirs].uid = (uint64_t)tv_stmt_int(st, 2);
		dirs[ndirs].gid = (uint64_t)tv_stmt_int(st, 3);
		dirs[ndirs].mtime_sec = tv_stmt_int(st, 4);
		dirs[ndirs].mtime_nsec = (uint64_t)tv_stmt_int(st, 5);
		if (dirs[ndirs].full == NULL) {
			r = TV_ERR_NOMEM;
			goto out;
		}
		ndirs++;
	}
	tv_stmt_free(st);
	st = NULL;
	if (rr < 0) {
		r = rr;
		goto out;
	}

	/* 2. regular files, part by part, tape by tape */
	tv_db_get_int(h->db, &total, "SELECT COALESCE(SUM(size),0) FROM files WHERE set_id=? AND "
	              "ftype=?", "ii", set_id, (int64_t)TV_FT_REG);
	tv_progress_start(&prog, h, "restoring", o->npaths ? 0 : (uint64_t)total);
	if ((r = tv_db_query(h->db, &st,
	                     "SELECT f.id, f.path, f.size, f.mode, f.uid, f.gid, f.mtime_sec,"
	                     " f.mtime_nsec, f.eflags, p.part_no, p.last_part, p.tape_uuid,"
	                     " p.file_no, p.content_uuid, p.offset, p.length, p.crc,"
	                     " t.barcode, t.locked, t.encrypted, t.seq "
	                     "FROM files f JOIN parts p ON p.file_id=f.id "
	                     "LEFT JOIN tapes t ON t.uuid=p.tape_uuid "
	                     "WHERE f.set_id=? AND f.ftype=? "
	                     "ORDER BY t.seq, p.file_no", "ii", set_id, (int64_t)TV_FT_REG)) != 0)
		goto out;
	while ((rr = tv_stmt_step(st)) == 1) {
		int64_t file_id = tv_stmt_int(st, 0);
		const char *path = tv_stmt_text(st, 1);
		int64_t part_no = tv_stmt_int(st, 9);
		int last = (int)tv_stmt_int(st, 10);
		const char *barcode = tv_stmt_isnull(st, 17) ? NULL : tv_stmt_text(st, 17);
		uint8_t tuuid[16], cuuid[16];
		size_t ln;
		const void *bp;

		if (matches(path, o->paths, o->npaths) != 1)
			continue;
		if (file_id != f.file_id) {
			/* a new file: the previous one must be complete */
			if (f.file_id != 0 && f.fd >= 0) {
				tv_warn(h, "%s: the rest of it is on a later tape of the set that is not "
				        "cataloged (or locked) here", f.full);
				rfile_fail(&f);
				nfailed++;
			}
			memset(&f, 0, sizeof(f));
			f.fd = -1;
			f.file_id = file_id;
			f.prog = &prog;
			f.progress_bytes = &pbytes;
			if (part_no != 1) {
				tv_warn(h, "%s: its first part is missing", path);
				f.failed = 1;
				nfailed++;
				continue;
			}
			if (!tv_restore_safe_path(path)) {
				tv_warn(h, "unsafe path on tape skipped: %s", path);
				f.failed = 1;
				nfailed++;
				continue;
			}
			snprintf(f.full, sizeof(f.full), "%s/%s", o->to, path);
			f.size = (uint64_t)tv_stmt_int(st, 2);
			f.mode = (uint64_t)tv_stmt_int(st, 3);
			f.uid = (uint64_t)tv_stmt_int(st, 4);
			f.gid = (uint64_t)tv_stmt_int(st, 5);
			f.mtime_sec = tv_stmt_int(st, 6);
			f.mtime_nsec = (uint64_t)tv_stmt_int(st, 7);
			f.eflags = (uint64_t)tv_stmt_int(st, 8);
			if ((r = parent_dirs(f.full)) != 0)
				goto out;
			f.fd = open(f.full, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (f.fd < 0) {
				tv_warn(h, "%s: cannot create: %s", f.full, strerror(errno));
				f.failed = 1;
				nfailed++;
				continue;
			}
		}
		if (f.failed)
			continue;
		if (barcode == NULL) {
			tv_warn(h, "%s: part %lld is on a tape that was never cataloged here", f.full,
			        (long long)part_no);
			rfile_fail(&f);
			nfailed++;
			continue;
		}
		if (tv_stmt_int(st, 18)) {
			tv_warn(h, "%s: tape %s is locked: unlock it with 'tapevault decrypt %s'", f.full,
			        barcode, barcode);
			rfile_fail(&f);
			nfailed++;
			continue;
		}
		if (strcmp(cur_tape, barcode) != 0) {
			if (rd != NULL) {
				tv_verbose(h, "tape %s: %llu records read, %llu bytes", cur_tape,
				           (unsigned long long)t->stats.records_read,
				           (unsigned long long)t->stats.bytes_read);
				tv_treader_close(rd);
				rd = NULL;
			}
			tv_tape_close(t);
			t = NULL;
			if (lib != NULL) {
				tv_lib_unload_quiet(lib, 0);
				tv_vlib_close(lib);
				lib = NULL;
			}
			tv_keys_wipe(dek, sizeof(dek));
			have_dek = 0;
			snprintf(cur_tape, sizeof(cur_tape), "%s", barcode);
			cur_failed = 0;
			{
				int64_t lib_id;
				if ((r = tv_lib_open_for_tape(h, barcode, &lib, &lib_id)) != 0 ||
				    (r = tv_vlib_load(lib, barcode, 0, TV_TAPE_RDONLY, &t, NULL)) != 0) {
					tv_warn(h, "tape %s: %s", barcode, tv_errmsg(r));
					tv_errclear();
					cur_failed = 1;
				}
			}
			if (!cur_failed && tv_stmt_int(st, 19)) {
				bp = tv_stmt_blob(st, 11, &ln);
				if (bp == NULL || ln != 16 || tv_keys_load_dek(h, bp, dek) != 0) {
					tv_warn(h, "tape %s: its data key is not unlocked here", barcode);
					tv_errclear();
					cur_failed = 1;
				} else {
					have_dek = 1;
				}
			}
			if (!cur_failed) {
				bp = tv_stmt_blob(st, 11, &ln);
				if ((r = tv_treader_open(&rd, t, barcode, bp, TV_RECORD_SIZE_MAX)) != 0)
					goto out;
				tv_info(h, "reading tape %s", barcode);
			}
		}
		if (cur_failed) {
			rfile_fail(&f);
			nfailed++;
			continue;
		}
		bp = tv_stmt_blob(st, 11, &ln);
		memcpy(tuuid, bp, 16);
		bp = tv_stmt_blob(st, 13, &ln);
		memcpy(cuuid, bp, 16);
		(void)tuuid;
		r = restore_part(h, t, rd, barcode, (uint64_t)tv_stmt_int(st, 12), cuuid,
		                 have_dek ? dek : NULL, (uint64_t)tv_stmt_int(st, 14),
		                 (uint64_t)tv_stmt_int(st, 15), (uint32_t)tv_stmt_int(st, 16), &f);
		parts_read++;
		if (r != 0) {
			tv_warn(h, "%s: %s", path, tv_errmsg(r));
			tv_errclear();
			rfile_fail(&f);
			nfailed++;
			r = 0;
			continue;
		}
		if (last) {
			if ((r = rfile_finish(h, &f)) != 0) {
				tv_warn(h, "%s", tv_errmsg(r));
				tv_errclear();
				nfailed++;
				r = 0;
				continue;
			}
			nfiles++;
			nbytes += f.size;
			if ((f.eflags & TV_EF_INNER_ENCRYPTED) && o->extract) {
				char **ni = realloc(inner, (ninner + 1) * sizeof(*inner));
				if (ni != NULL) {
					inner = ni;
					if ((inner[ninner] = strdup(f.full)) != NULL)
						ninner++;
				}
			}
		}
	}
	tv_stmt_free(st);
	st = NULL;
	tv_progress_end(&prog);
	if (rr < 0) {
		r = rr;
		goto out;
	}
	if (f.fd >= 0) {
		tv_warn(h, "%s: the rest of it is on a later tape of the set that is not "
		        "cataloged (or locked) here", f.full);
		rfile_fail(&f);
		nfailed++;
	}
	if (rd != NULL)
		tv_verbose(h, "tape %s: %llu records read, %llu bytes", cur_tape,
		           (unsigned long long)t->stats.records_read,
		           (unsigned long long)t->stats.bytes_read);

	/* 3. symbolic links, last */
	if ((r = tv_db_query(h->db, &st,
	                     "SELECT path, link, uid, gid, mtime_sec, mtime_nsec FROM files "
	                     "WHERE set_id=? AND ftype=? ORDER BY file_index", "ii", set_id,
	                     (int64_t)TV_FT_SYMLINK)) != 0)
		goto out;
	while ((rr = tv_stmt_step(st)) == 1) {
		const char *p = tv_stmt_text(st, 0);
		char full[PATH_MAX];
		struct timespec ts[2];
		if (matches(p, o->paths, o->npaths) != 1)
			continue;
		if (!tv_restore_safe_path(p)) {
			tv_warn(h, "unsafe path on tape skipped: %s", p);
			nfailed++;
			continue;
		}
		snprintf(full, sizeof(full), "%s/%s", o->to, p);
		if ((r = parent_dirs(full)) != 0)
			goto out;
		unlink(full);
		if (symlink(tv_stmt_text(st, 1), full) != 0) {
			tv_warn(h, "%s: cannot create symbolic link: %s", full, strerror(errno));
			nfailed++;
			continue;
		}
		if (geteuid() == 0)
			lchown(full, (uid_t)tv_stmt_int(st, 2), (gid_t)tv_stmt_int(st, 3));
		ts[0].tv_sec = tv_stmt_int(st, 4);
		ts[0].tv_nsec = (long)tv_stmt_int(st, 5);
		ts[1] = ts[0];
		utimensat(AT_FDCWD, full, ts, AT_SYMLINK_NOFOLLOW);
		nfiles++;
	}
	tv_stmt_free(st);
	st = NULL;
	if (rr < 0) {
		r = rr;
		goto out;
	}
	/* 4. directory metadata, deepest first */
	for (size_t i = ndirs; i-- > 0;) {
		struct timespec ts[2];
		if (geteuid() == 0)
			lchown(dirs[i].full, (uid_t)dirs[i].uid, (gid_t)dirs[i].gid);
		chmod(dirs[i].full, (mode_t)(dirs[i].mode & 07777));
		ts[0].tv_sec = dirs[i].mtime_sec;
		ts[0].tv_nsec = (long)dirs[i].mtime_nsec;
		ts[1] = ts[0];
		utimensat(AT_FDCWD, dirs[i].full, ts, AT_SYMLINK_NOFOLLOW);
		nfiles++;
	}
	tv_info(h, "restored %llu item(s), %llu bytes of file data into %s (%llu part(s) read "
	        "from tape)", (unsigned long long)nfiles, (unsigned long long)nbytes, o->to,
	        (unsigned long long)parts_read);
	if (ninner > 0 && (r = extract_inner(h, inner, ninner, o->password_file)) != 0)
		goto out;
	if (o->extract && ninner == 0)
		tv_info(h, "--extract: the restored files hold no job-encrypted backup file");
	if (nfailed > 0)
		r = tv_errf(o->allow_partial ? 0 : TV_ERR_PARTIAL,
		            "%llu item(s) could not be restored (see the messages above)",
		            (unsigned long long)nfailed);
	if (nfiles == 0 && nfailed == 0 && o->npaths > 0)
		r = tv_errf(TV_ERR_NOTFOUND, "no file of the backup set matches the given path(s)");
out:
	if (f.fd >= 0)
		rfile_fail(&f);
	tv_stmt_free(st);
	tv_treader_close(rd);
	tv_tape_close(t);
	if (lib != NULL) {
		tv_lib_unload_quiet(lib, 0);
		tv_vlib_close(lib);
	}
	tv_keys_wipe(dek, sizeof(dek));
	for (size_t i = 0; i < ninner; i++)
		free(inner[i]);
	free(inner);
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i].full);
	free(dirs);
	return r;
}
