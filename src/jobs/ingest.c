/* tapevault: the catalog side of reading tapes.
 *
 * The tapes are the truth: everything here can be rebuilt from them.  A
 * tape's last file is its newest session catalog (tapes of the media set,
 * backup sets, their data files and entries, and on encrypted tapes the key
 * ring); it is bulk-loaded with prepared statements.  Earlier sessions'
 * catalogs stay on the tape (an append starts after them), so a session
 * killed while appending leaves the previous one to find.  When that file is
 * missing, damaged or refused (a session cut short by a crash, or a forged
 * file), the tape is scanned file by file and every complete entry is
 * recovered.  On an encrypted tape nothing unauthenticated is taken: a
 * plaintext tape file there is refused and named. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/kdf.h"
#include "format/record.h"
#include "jobs/drivecrypt.h"
#include "jobs/ingest.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/writer.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/wipe.h"

/* pool by UUID, else a new imported pool named after the label */
static int ensure_pool(struct tv_home *h, const char *name, const uint8_t uuid[16],
                       int64_t lib_id, int64_t *pool_id)
{
	char nm[TV_NAME_MAX + 24];
	int64_t other;
	int r;

	r = tv_db_get_int(h->db, pool_id, "SELECT id FROM pools WHERE uuid=?", "b", uuid,
	                  (size_t)16);
	if (r != TV_ERR_NOTFOUND)
		return r;
	snprintf(nm, sizeof(nm), "%s", name[0] ? name : "imported");
	r = tv_db_get_int(h->db, &other, "SELECT id FROM pools WHERE name=?", "t", nm);
	if (r == 0) {
		char u[37];
		tv_uuid_to_str(uuid, u);
		snprintf(nm, sizeof(nm), "%.100s-%.8s", name, u);
	} else if (r != TV_ERR_NOTFOUND) {
		return r;
	}
	r = tv_db_exec(h->db,
	               "INSERT INTO pools(uuid, name, library_id, encryption, imported, created)"
	               " VALUES(?,?,?, 'imported', 1, ?)",
	               "btii", uuid, (size_t)16, nm, lib_id, (int64_t)tv_now());
	if (r != 0)
		return r;
	*pool_id = tv_db_last_id(h->db);
	tv_log(h, "imported pool %s", nm);
	return 0;
}

static int ensure_ms(struct tv_home *h, const uint8_t uuid[16], int64_t pool_id,
                     uint64_t created, int64_t *ms_id)
{
	int r = tv_db_get_int(h->db, ms_id, "SELECT id FROM media_sets WHERE uuid=?", "b",
	                      uuid, (size_t)16);
	if (r != TV_ERR_NOTFOUND)
		return r;
	r = tv_db_exec(h->db, "INSERT INTO media_sets(uuid, pool_id, created) VALUES(?,?,?)",
	               "bii", uuid, (size_t)16, pool_id, (int64_t)created);
	if (r == 0)
		*ms_id = tv_db_last_id(h->db);
	return r;
}

/* Find or create the tapes row for (uuid, barcode).  A barcode whose row
 * holds another, encrypted tape is not pointed at this one. */
static int ensure_tape(struct tv_home *h, const uint8_t uuid[16], const char *barcode,
                       int64_t *tape_id)
{
	struct tv_stmt *q;
	int r;

	r = tv_db_get_int(h->db, tape_id, "SELECT id FROM tapes WHERE uuid=?", "b", uuid,
	                  (size_t)16);
	if (r == 0)
		return tv_db_exec(h->db, "UPDATE tapes SET barcode=? WHERE id=? AND NOT EXISTS "
		                  "(SELECT 1 FROM tapes WHERE barcode=? AND id<>?)", "titi",
		                  barcode, *tape_id, barcode, *tape_id);
	if (r != TV_ERR_NOTFOUND)
		return r;
	if ((r = tv_db_query(h->db, &q, "SELECT id, uuid IS NOT NULL AND encrypted=1 FROM "
	                     "tapes WHERE barcode=?", "t", barcode)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		*tape_id = tv_stmt_int(q, 0);
		if (tv_stmt_int(q, 1)) {
			tv_stmt_free(q);
			return tv_errf(TV_ERR_FORMAT, "tape %s: the cartridge carries another tape "
			               "than the encrypted one this installation knows under that "
			               "barcode (relabeled?): refused", barcode);
		}
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (r == 1)
		return tv_db_exec(h->db, "UPDATE tapes SET uuid=? WHERE id=?", "bi", uuid,
		                  (size_t)16, *tape_id);
	r = tv_db_exec(h->db, "INSERT INTO tapes(barcode, uuid, state) VALUES(?,?,'imported')",
	               "tb", barcode, uuid, (size_t)16);
	if (r == 0)
		*tape_id = tv_db_last_id(h->db);
	return r;
}

/* The installation fixes a tape's encryption state the first time it sees
 * it: what the tape says later never lowers it. */
static int check_known_state(struct tv_home *h, const char *barcode,
                             const struct tv_tape_info *ti)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q, "SELECT encrypted, dek_fpr FROM tapes WHERE uuid=?",
	                     "b", ti->uuid, (size_t)16)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1 && tv_stmt_int(q, 0)) {
		size_t n;
		const void *f = tv_stmt_blob(q, 1, &n);
		if (ti->lab.ms.enc.alg == TV_ENC_NONE)
			r = tv_errf(TV_ERR_FORMAT, "tape %s file 1 record 0: the label now says the "
			            "tape is not encrypted, but this installation knows it as "
			            "encrypted: refused (relabeled?)", barcode);
		else if (f != NULL && n == TV_FPR_LEN &&
		         memcmp(f, ti->lab.ms.enc.dek_fpr, TV_FPR_LEN) != 0)
			r = tv_errf(TV_ERR_FORMAT, "tape %s file 1 record 0: the label names another "
			            "data key than the one this installation knows for the tape: "
			            "refused (relabeled?)", barcode);
		else
			r = 0;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

int tv_ingest_labels(struct tv_home *h, int64_t lib_id, const char *barcode,
                     struct tv_tape_info *ti)
{
	struct tv_buf msb;
	int64_t imported = 1;
	int r;

	tv_buf_init(&msb);
	snprintf(ti->barcode, sizeof(ti->barcode), "%s", barcode);
	memcpy(ti->uuid, ti->lab.vol.tape_uuid, 16);
	ti->lib_id = lib_id;
	ti->seq = ti->lab.ms.seq;
	ti->encrypted = ti->lab.ms.enc.alg != TV_ENC_NONE;
	if ((r = check_known_state(h, barcode, ti)) != 0)
		goto out;
	if ((r = ensure_pool(h, ti->lab.ms.pool_name, ti->lab.ms.pool_uuid, lib_id,
	                     &ti->pool_id)) != 0 ||
	    (r = ensure_ms(h, ti->lab.ms.media_set_uuid, ti->pool_id, ti->lab.ms.created,
	                   &ti->ms_id)) != 0 ||
	    (r = ensure_tape(h, ti->uuid, barcode, &ti->tape_id)) != 0)
		goto out;
	if ((r = tv_db_get_int(h->db, &imported, "SELECT imported FROM pools WHERE id=?", "i",
	                       ti->pool_id)) != 0 ||
	    (r = tv_ms_label_encode(&msb, &ti->lab.ms)) != 0)
		goto out;
	r = tv_db_exec(h->db,
	               "UPDATE tapes SET library_id=?, state=?, pool_id=?, media_set_id=?, seq=?,"
	               " encrypted=?, dek_fpr=?, ms_label=?, cataloged=?, record_size=?,"
	               " format=2 WHERE id=?",
	               "itiiiibbiii", lib_id, imported ? "imported" : "pool", ti->pool_id,
	               ti->ms_id, (int64_t)ti->seq, (int64_t)ti->encrypted,
	               ti->encrypted ? ti->lab.ms.enc.dek_fpr : NULL, (size_t)TV_FPR_LEN,
	               tv_buf_ptr(&msb), tv_buf_avail(&msb), (int64_t)tv_now(),
	               (int64_t)ti->lab.vol.record_size, ti->tape_id);
out:
	tv_buf_free(&msb);
	return r;
}

/* ---- catalog items ---- */

struct ingest {
	struct tv_home *h;
	struct tv_tape_info *ti;
	int sealed;                  /* the stream was authenticated (key ring ok) */
	struct tv_writer lw;         /* who signed the labels (jobs/writer.h) */
	int64_t set_id;              /* the SET item the next items belong to */
	int64_t set_ms_id;
	uint64_t items, entries, unlocked;
	struct tv_stmt *ins_file, *ins_part, *upd_nparts, *ins_data;
	struct tv_buf ext;           /* an entry's optional fields, for its row */
	struct tv_stmt *ins_name;
	int64_t name_set[2];         /* the last name kept, per kind: its set and id */
	int64_t name_id[2];
};

static int prepare(struct ingest *in)
{
	struct tv_db *db = in->h->db;
	int r;

	if ((r = tv_db_prepare(db, &in->ins_file,
	                       "INSERT OR IGNORE INTO files(set_id, idx, path, ftype, mode,"
	                       " uid, gid, mtime_sec, mtime_nsec, size, link, eflags, tseq,"
	                       " file_no, frame_off, entry_off, ext, ctime_sec, ctime_nsec,"
	                       " ino) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) != 0 ||
	    (r = tv_db_prepare(db, &in->ins_part,
	                       "INSERT OR IGNORE INTO parts(set_id, idx, part, off, tseq,"
	                       " file_no, frame_off, entry_off) VALUES(?,?,?,?,?,?,?,?)")) != 0 ||
	    (r = tv_db_prepare(db, &in->ins_name,
	                       "INSERT OR IGNORE INTO set_names(set_id, kind, id, name) "
	                       "VALUES(?,?,?,?)")) != 0 ||
	    (r = tv_db_prepare(db, &in->upd_nparts,
	                       "UPDATE files SET nparts=MAX(nparts, ?) WHERE set_id=? AND "
	                       "idx=?")) != 0 ||
	    (r = tv_db_prepare(db, &in->ins_data,
	                       "INSERT INTO data_files(set_id, tseq, file_no, content_uuid,"
	                       " raw_bytes, stored_bytes, complete) VALUES(?,?,?,?,?,?,?) "
	                       "ON CONFLICT(set_id, tseq, file_no) DO UPDATE SET "
	                       "raw_bytes=MAX(data_files.raw_bytes, excluded.raw_bytes), "
	                       "stored_bytes=MAX(data_files.stored_bytes, excluded.stored_bytes), "
	                       "complete=MAX(data_files.complete, excluded.complete)")) != 0)
		return r;
	return 0;
}

static void unprepare(struct ingest *in)
{
	tv_buf_free(&in->ext);
	tv_stmt_free(in->ins_name);
	tv_stmt_free(in->ins_file);
	tv_stmt_free(in->ins_part);
	tv_stmt_free(in->upd_nparts);
	tv_stmt_free(in->ins_data);
}

/* The set with this UUID; a set no SET item told of (a scan) is created as
 * recovered, named after the data file header. */
static int set_of(struct ingest *in, const uint8_t set_uuid[16], const char *name,
                  uint64_t created)
{
	int r;

	r = tv_db_get_int(in->h->db, &in->set_id, "SELECT id FROM backup_sets WHERE uuid=?",
	                  "b", set_uuid, (size_t)16);
	if (r == TV_ERR_NOTFOUND) {
		char u[37], nm[TV_NAME_MAX];
		tv_uuid_to_str(set_uuid, u);
		if (name != NULL && name[0])
			snprintf(nm, sizeof(nm), "%s", name);
		else
			snprintf(nm, sizeof(nm), "recovered-%.8s", u);
		r = tv_db_exec(in->h->db,
		               "INSERT INTO backup_sets(uuid, name, pool_id, media_set_id, created,"
		               " first_seq, last_seq, recovered) VALUES(?,?,?,?,?,?,?,1)",
		               "btiiiii", set_uuid, (size_t)16, nm, in->ti->pool_id,
		               in->ti->ms_id, (int64_t)(created ? created : tv_now()),
		               (int64_t)in->ti->seq, (int64_t)in->ti->seq);
		if (r != 0)
			return r;
		in->set_id = tv_db_last_id(in->h->db);
		return 0;
	}
	if (r != 0)
		return r;
	/* a recovered set seen again on another tape: widen its tapes */
	return tv_db_exec(in->h->db, "UPDATE backup_sets SET first_seq=MIN(first_seq, ?),"
	                  " last_seq=MAX(last_seq, ?) WHERE id=? AND recovered=1", "iii",
	                  (int64_t)in->ti->seq, (int64_t)in->ti->seq, in->set_id);
}

/* An owner's or group's name, kept once per set and id (the entries of a
 * set mostly repeat the last one: that is not asked again). */
static int add_name(struct ingest *in, int kind, uint64_t id, const char *name)
{
	int r;

	if (name[0] == '\0' || (in->name_set[kind] == in->set_id &&
	                         in->name_id[kind] == (int64_t)id))
		return 0;
	if ((r = tv_stmt_run(in->ins_name, "iiit", in->set_id, (int64_t)kind, (int64_t)id,
	                     name)) != 0)
		return r;
	in->name_set[kind] = in->set_id;
	in->name_id[kind] = (int64_t)id;
	return 0;
}

/* ce: the catalog item when it is one (its change time and inode), NULL
 * for an entry a scan found. */
static int add_entry(struct ingest *in, const struct tv_entry *e, const struct tv_loc *l,
                     const struct tv_ci_entry *ce)
{
	int r;

	in->entries++;
	if (e->part == 1) {
		/* the optional fields as on tape; a regular file's xattrs stay on
		 * tape (restore reads its header) */
		tv_buf_reset(&in->ext);
		if ((r = add_name(in, 0, e->uid, e->uname)) != 0 ||
		    (r = add_name(in, 1, e->gid, e->gname)) != 0 ||
		    (r = tv_entry_ext_put(&in->ext, e, e->ftype != TV_FT_REG ? TV_EXT_XATTRS : 0))
		    != 0)
			return r;
		/* the change time and inode, when said: what the next incremental
		 * compares with (unsaid: NULL, it stores the item again) */
		if (ce != NULL && ce->has_state && ce->ino <= (uint64_t)INT64_MAX)
			return tv_stmt_run(in->ins_file, "iitiiiiiiitiiiiibiii", in->set_id,
			                   (int64_t)e->file_index, e->path, (int64_t)e->ftype,
			                   (int64_t)e->mode, (int64_t)e->uid, (int64_t)e->gid,
			                   e->mtime_sec, (int64_t)e->mtime_nsec, (int64_t)e->size,
			                   e->link[0] ? e->link : NULL, (int64_t)e->flags,
			                   (int64_t)l->tseq, (int64_t)l->file_no,
			                   (int64_t)l->frame_off, (int64_t)l->entry_off,
			                   tv_buf_avail(&in->ext) ? tv_buf_ptr(&in->ext) : NULL,
			                   tv_buf_avail(&in->ext), ce->ctime_sec,
			                   (int64_t)ce->ctime_nsec, (int64_t)ce->ino);
		return tv_stmt_run(in->ins_file, "iitiiiiiiitiiiiibnnn", in->set_id,
		                   (int64_t)e->file_index, e->path, (int64_t)e->ftype,
		                   (int64_t)e->mode, (int64_t)e->uid, (int64_t)e->gid,
		                   e->mtime_sec, (int64_t)e->mtime_nsec, (int64_t)e->size,
		                   e->link[0] ? e->link : NULL, (int64_t)e->flags,
		                   (int64_t)l->tseq, (int64_t)l->file_no, (int64_t)l->frame_off,
		                   (int64_t)l->entry_off,
		                   tv_buf_avail(&in->ext) ? tv_buf_ptr(&in->ext) : NULL,
		                   tv_buf_avail(&in->ext));
	}
	if ((r = tv_stmt_run(in->ins_part, "iiiiiiii", in->set_id, (int64_t)e->file_index,
	                     (int64_t)e->part, (int64_t)e->offset, (int64_t)l->tseq,
	                     (int64_t)l->file_no, (int64_t)l->frame_off,
	                     (int64_t)l->entry_off)) != 0)
		return r;
	return tv_stmt_run(in->upd_nparts, "iii", (int64_t)e->part, in->set_id,
	                   (int64_t)e->file_index);
}

static int add_tape(struct ingest *in, const struct tv_ci_tape *t)
{
	struct tv_home *h = in->h;
	static const uint8_t zero[TV_FPR_LEN];
	int64_t pool_id, ms_id, id, imported = 1;
	int r, enc;

	if (memcmp(t->tape_uuid, in->ti->uuid, 16) == 0)
		return 0;
	if ((r = ensure_pool(h, t->pool_name, t->pool_uuid, in->ti->lib_id, &pool_id)) != 0 ||
	    (r = ensure_ms(h, t->media_set_uuid, pool_id, 0, &ms_id)) != 0)
		return r;
	r = tv_db_get_int(h->db, &id, "SELECT id FROM tapes WHERE uuid=?", "b",
	                  t->tape_uuid, (size_t)16);
	if (r != TV_ERR_NOTFOUND)
		return r;
	/* known from another tape's catalog only: not (yet) in a library */
	enc = memcmp(t->dek_fpr, zero, TV_FPR_LEN) != 0;
	if ((r = tv_db_get_int(h->db, &imported, "SELECT imported FROM pools WHERE id=?", "i",
	                       pool_id)) != 0)
		return r;
	return tv_db_exec(h->db,
	                  "INSERT OR IGNORE INTO tapes(barcode, uuid, state, pool_id,"
	                  " media_set_id, seq, encrypted, locked, dek_fpr,"
	                  " contents_cataloged, record_size, format) "
	                  "VALUES(?,?,?,?,?,?,?,?,?,0,?,2)",
	                  "tbtiiiiibi", t->barcode, t->tape_uuid, (size_t)16,
	                  imported ? "imported" : "pool", pool_id, ms_id, (int64_t)t->seq,
	                  (int64_t)enc, (int64_t)enc, enc ? t->dek_fpr : NULL,
	                  (size_t)TV_FPR_LEN, (int64_t)t->record_size);
}

/* A SET item's tag 9 as the state column (NULL: not said). */
static const char *set_state_name(uint64_t code)
{
	switch (code) {
	case TV_SET_PARTIAL: return "partial";
	case TV_SET_INTERRUPTED: return "interrupted";
	case TV_SET_FAILED: return "failed";
	default: return NULL;
	}
}

/* An item of the set not stored whole, as its writer named it; one named
 * changed marks its files row. */
static int add_problem(struct ingest *in, const struct tv_ci_problem *p)
{
	int has_idx = p->file_index != TV_PROBLEM_NO_INDEX;
	int r;

	if (has_idx)
		r = tv_db_exec(in->h->db, "INSERT OR IGNORE INTO set_problems(set_id, n, path,"
		               " reason, idx) VALUES(?,?,?,?,?)", "iitti", in->set_id,
		               (int64_t)p->n, p->path, p->reason, (int64_t)p->file_index);
	else
		r = tv_db_exec(in->h->db, "INSERT OR IGNORE INTO set_problems(set_id, n, path,"
		               " reason, idx) VALUES(?,?,?,?,?)", "iittn", in->set_id,
		               (int64_t)p->n, p->path, p->reason);
	if (r != 0 || !has_idx || strncmp(p->reason, "changed", 7) != 0)
		return r;
	return tv_db_exec(in->h->db, "UPDATE files SET changed=1 WHERE set_id=? AND idx=?", "ii",
	                  in->set_id, (int64_t)p->file_index);
}

static int add_set(struct ingest *in, const struct tv_ci_set *s)
{
	struct tv_home *h = in->h;
	int r;

	r = tv_db_get_int(h->db, &in->set_id, "SELECT id FROM backup_sets WHERE uuid=?", "b",
	                  s->set_uuid, (size_t)16);
	if (r == TV_ERR_NOTFOUND) {
		r = tv_db_exec(h->db,
		               "INSERT INTO backup_sets(uuid, name, pool_id, media_set_id,"
		               " created, first_seq, last_seq, complete, nfiles, nbytes, state,"
		               " level, parent_uuid) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
		               "btiiiiiiiitib", s->set_uuid, (size_t)16, s->name,
		               in->ti->pool_id, in->ti->ms_id, (int64_t)s->created,
		               (int64_t)s->first_seq, (int64_t)s->last_seq,
		               (int64_t)s->complete, (int64_t)s->nfiles, (int64_t)s->nbytes,
		               set_state_name(s->state), (int64_t)s->level,
		               s->level != TV_LEVEL_FULL ? s->parent_uuid : NULL, (size_t)16);
		if (r == 0)
			in->set_id = tv_db_last_id(h->db);
		return r;
	}
	if (r != 0)
		return r;
	/* a later tape knows more: widen, never narrow */
	return tv_db_exec(h->db,
	                  "UPDATE backup_sets SET name=CASE WHEN recovered=1 THEN ? ELSE name END,"
	                  " recovered=0, first_seq=MIN(COALESCE(first_seq,?),?),"
	                  " last_seq=MAX(COALESCE(last_seq,0),?),"
	                  " complete=MAX(complete,?),"
	                  " nfiles=CASE WHEN ?=1 THEN ? ELSE nfiles END,"
	                  " nbytes=CASE WHEN ?=1 THEN ? ELSE nbytes END,"
	                  " state=COALESCE(?, state), level=?, parent_uuid=? WHERE id=?",
	                  "tiiiiiiiitibi", s->name, (int64_t)s->first_seq, (int64_t)s->first_seq,
	                  (int64_t)s->last_seq, (int64_t)s->complete, (int64_t)s->complete,
	                  (int64_t)s->nfiles, (int64_t)s->complete, (int64_t)s->nbytes,
	                  set_state_name(s->state), (int64_t)s->level,
	                  s->level != TV_LEVEL_FULL ? s->parent_uuid : NULL, (size_t)16,
	                  in->set_id);
}

/* A key ring item is used only from an authenticated catalog, and only when
 * its key matches the fingerprint recorded for the tape it claims to
 * unlock (when none is recorded yet, the key is kept: unlocking checks it
 * against that tape's label before it is used). */
static int add_keyring(struct ingest *in, const struct tv_ci_keyring *k)
{
	struct tv_home *h = in->h;
	uint8_t fpr[TV_FPR_LEN], have[TV_DEK_LEN];
	struct tv_stmt *q;
	char src[80];
	int r, known = 0;

	if (!in->sealed) {
		in->ti->refused++;
		tv_warn(h, "tape %s: key ring item in an unauthenticated catalog refused",
		        in->ti->barcode);
		return 0;
	}
	if ((r = tv_dek_fingerprint(k->dek, fpr)) != 0)
		return r;
	if (CRYPTO_memcmp(fpr, k->dek_fpr, TV_FPR_LEN) != 0) {
		tv_warn(h, "tape %s: key ring entry with a wrong fingerprint ignored",
		        in->ti->barcode);
		return 0;
	}
	if ((r = tv_db_query(h->db, &q, "SELECT dek_fpr FROM tapes WHERE uuid=?", "b",
	                     k->tape_uuid, (size_t)16)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		size_t n;
		const void *f = tv_stmt_blob(q, 0, &n);
		if (f != NULL && n == TV_FPR_LEN) {
			known = 1;
			if (memcmp(f, fpr, TV_FPR_LEN) != 0)
				known = -1;
		}
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (known < 0) {
		tv_warn(h, "tape %s: a key ring entry does not match the key fingerprint "
		        "recorded for the tape it names: ignored", in->ti->barcode);
		return 0;
	}
	if (tv_keys_load_dek(h, k->tape_uuid, have) == 0) {
		tv_wipe(have, sizeof(have));
		return 0;
	}
	snprintf(src, sizeof(src), "key ring of tape %s", in->ti->barcode);
	if ((r = tv_keys_save_dek(h, k->tape_uuid, k->dek, src)) != 0)
		return r;
	in->unlocked++;
	return 0;
}

static int add_item(struct ingest *in, const struct tv_cat_item_v *it)
{
	in->items++;
	switch (it->type) {
	case TV_CI_TAPE:
		return add_tape(in, &it->u.tape);
	case TV_CI_SET:
		return add_set(in, &it->u.set);
	case TV_CI_PROBLEM:
		if (in->set_id == 0)
			return tv_errf(TV_ERR_FORMAT, "tape %s: catalog item of no backup set",
			               in->ti->barcode);
		return add_problem(in, &it->u.problem);
	case TV_CI_DELETED:
		if (in->set_id == 0)
			return tv_errf(TV_ERR_FORMAT, "tape %s: catalog item of no backup set",
			               in->ti->barcode);
		return tv_db_exec(in->h->db, "INSERT OR IGNORE INTO set_deleted(set_id, n, path) "
		                  "VALUES(?,?,?)", "iit", in->set_id, (int64_t)it->u.deleted.n,
		                  it->u.deleted.path);
	case TV_CI_ENTRY:
	case TV_CI_DATA:
		if (in->set_id == 0)
			return tv_errf(TV_ERR_FORMAT, "tape %s: catalog item of no backup set",
			               in->ti->barcode);
		if (it->type == TV_CI_ENTRY)
			return add_entry(in, &it->u.entry.e, &it->u.entry.loc, &it->u.entry);
		return tv_stmt_run(in->ins_data, "iiibiii", in->set_id,
		                   (int64_t)it->u.data.tseq, (int64_t)it->u.data.file_no,
		                   it->u.data.content_uuid, (size_t)16,
		                   (int64_t)it->u.data.raw_bytes, (int64_t)it->u.data.stored_bytes,
		                   (int64_t)it->u.data.complete);
	case TV_CI_KEYRING:
		return add_keyring(in, &it->u.ring);
	case TV_CI_WRITER:   /* read_items checks it */
	case TV_CI_END:
		return 0;
	}
	return 0;   /* an item type of a newer version */
}

/* The catalog's WRITER item: its signature must verify, and be by the
 * installation that signed the labels (or by this one or a trusted one). */
static int check_writer(struct ingest *in, struct tv_ecursor *c,
                        const struct tv_content_header *ch, uint64_t file_no,
                        const struct tv_wsig *ws)
{
	struct tv_buf msg;
	struct tv_writer w;
	uint8_t dg[32];
	int r;

	tv_buf_init(&msg);
	if ((r = tv_ecursor_writer_digest(c, dg)) == 0 &&
	    (r = tv_catalog_signed_msg(&msg, ch->uuid, ch->body, ch->body_len, in->items,
	                               dg)) == 0)
		r = tv_writer_check(in->h, ws, tv_buf_ptr(&msg), tv_buf_avail(&msg), &w);
	tv_buf_free(&msg);
	if (r == TV_ERR_SIG || r == TV_ERR_STATE)
		return tv_errf(TV_ERR_SIG, "tape %s file %llu: the catalog's writer signature does "
		               "not verify (items changed after signing, or a signature taken "
		               "from another catalog): a forgery or damage, refused",
		               in->ti->barcode, (unsigned long long)file_no);
	if (r != 0)
		return r;
	if (!w.signed_)
		return tv_errf(TV_ERR_SIG, "tape %s file %llu: the catalog's writer signature is "
		               "of an unknown algorithm: refused", in->ti->barcode,
		               (unsigned long long)file_no);
	if ((in->lw.signed_ && memcmp(w.fpr, in->lw.fpr, TV_PKFPR_LEN) == 0) ||
	    w.kind == TV_WRITER_OWN || w.kind == TV_WRITER_TRUSTED)
		return 0;
	return tv_errf(TV_ERR_SIG, "tape %s file %llu: the catalog is signed by installation "
	               "%s, not by the writer of the tape's labels (%s): refused",
	               in->ti->barcode, (unsigned long long)file_no, w.fpr_str, in->lw.fpr_str);
}

/* Reads the item stream of the catalog file rd is in (ch: its header). */
static int read_items_(struct ingest *in, struct tv_treader *rd,
                       const struct tv_content_header *ch, uint64_t file_no)
{
	struct tv_ecursor *c = NULL;
	struct tv_cat_item_v *it;
	int r, saw_end = 0, saw_writer = 0;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_ecursor_open(&c, rd, TV_CT_CATALOG, 0)) != 0)
		goto out;
	in->set_id = 0;
	while ((r = tv_ecursor_item(c, it, NULL)) != 0) {
		if (r == TV_ERR_UNSUPPORTED) {
			/* written by a newer version: counted, reported, passed over */
			in->items++;
			tv_warn(in->h, "tape %s: %s (skipped)", in->ti->barcode, tv_errmsg(r));
			continue;
		}
		if (r < 0)
			break;
		if (saw_end) {
			r = tv_errf(TV_ERR_FORMAT, "tape %s: catalog items after its end marker",
			            in->ti->barcode);
			goto out;
		}
		if (saw_writer && it->type != TV_CI_END) {
			r = tv_errf(TV_ERR_SIG, "tape %s file %llu: catalog items after its writer "
			            "signature (not signed): refused", in->ti->barcode,
			            (unsigned long long)file_no);
			goto out;
		}
		if (it->type == TV_CI_WRITER) {
			if ((r = check_writer(in, c, ch, file_no, &it->u.wsig)) != 0)
				goto out;
			saw_writer = 1;
			in->items++;
			continue;
		}
		if (it->type == TV_CI_END) {
			if (it->u.end_count != in->items) {
				r = tv_errf(TV_ERR_FORMAT, "tape %s: catalog holds %llu items, its end "
				            "marker says %llu", in->ti->barcode,
				            (unsigned long long)in->items,
				            (unsigned long long)it->u.end_count);
				goto out;
			}
			saw_end = 1;
			continue;
		}
		if ((r = add_item(in, it)) != 0)
			goto out;
	}
	if (r == 0 && !saw_end)
		r = tv_errf(TV_ERR_FORMAT, "tape %s: catalog file ends without its end marker",
		            in->ti->barcode);
	if (r == 0 && !saw_writer && in->lw.signed_)
		r = tv_errf(TV_ERR_SIG, "tape %s file %llu: the catalog carries no writer signature "
		            "but the tape's labels do: refused", in->ti->barcode,
		            (unsigned long long)file_no);
out:
	tv_ecursor_close(c);
	tv_wipe(it, sizeof(*it));
	free(it);
	return r;
}

/* The same, all or nothing: what a catalog that turns out forged (its
 * signature is checked at its end) put in the database is taken back. */
static int read_items(struct ingest *in, struct tv_treader *rd,
                      const struct tv_content_header *ch, uint64_t file_no)
{
	uint64_t items = in->items, entries = in->entries, unlocked = in->unlocked;
	int r, r2;

	if ((r = tv_db_exec(in->h->db, "SAVEPOINT tv_catalog_file", "")) != 0)
		return r;
	r = read_items_(in, rd, ch, file_no);
	if (r != 0) {
		in->items = items;
		in->entries = entries;
		in->unlocked = unlocked;
		in->set_id = 0;
		in->name_set[0] = in->name_set[1] = 0;
		(void)tv_db_exec(in->h->db, "ROLLBACK TO SAVEPOINT tv_catalog_file", "");
	}
	r2 = tv_db_exec(in->h->db, "RELEASE SAVEPOINT tv_catalog_file", "");
	return r != 0 ? r : r2;
}

/* Every complete entry of one data file (frames authenticated on an
 * encrypted tape).  Damage is reported once per position. */
static int scan_data_file(struct ingest *in, struct tv_treader *rd,
                          const struct tv_content_header *ch, uint64_t file_no,
                          uint64_t *recovered, uint64_t *lost)
{
	struct tv_data_header dh;
	struct tv_ecursor *c = NULL;
	struct tv_entry *e = NULL;
	struct tv_loc loc;
	uint64_t raw = 0;
	int r, complete = 1;

	if ((r = tv_data_header_decode(ch->body, ch->body_len, &dh)) != 0)
		return r;
	if ((r = set_of(in, dh.set_uuid, dh.set_name, dh.created)) != 0)
		return r;
	if ((e = malloc(sizeof(*e))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_ecursor_open(&c, rd, TV_CT_DATA, 0)) != 0)
		goto out;
	memset(&loc, 0, sizeof(loc));
	loc.tseq = in->ti->seq;
	loc.file_no = file_no;
	for (;;) {
		const uint8_t *p;
		size_t n;
		int cont = 0;
		r = tv_ecursor_next(c, e, &loc);
		if (r == 0)
			break;
		if (r < 0) {
			(*lost)++;
			complete = 0;
			tv_warn(in->h, "tape %s file %llu: %s", in->ti->barcode,
			        (unsigned long long)file_no, tv_errmsg(r));
			continue;
		}
		/* the whole entry must be there (or continue in a later part) */
		while ((r = tv_ecursor_data(c, &p, &n, &cont)) == 1)
			raw += n;
		if (r == TV_ERR_EOF && !cont) {
			(*lost)++;
			complete = 0;
			tv_verbose(in->h, "tape %s file %llu: %s was cut off", in->ti->barcode,
			           (unsigned long long)file_no, e->path);
			break;
		}
		if (r < 0 && r != TV_ERR_EOF) {
			(*lost)++;
			complete = 0;
			tv_warn(in->h, "tape %s file %llu: %s: %s", in->ti->barcode,
			        (unsigned long long)file_no, e->path, tv_errmsg(r));
			continue;
		}
		if ((r = add_entry(in, e, &loc, NULL)) != 0)
			goto out;
		(*recovered)++;
	}
	if (tv_treader_truncated(rd))
		complete = 0;
	r = tv_stmt_run(in->ins_data, "iiibiii", in->set_id, (int64_t)in->ti->seq,
	                (int64_t)file_no, ch->uuid, (size_t)16, (int64_t)raw, (int64_t)0,
	                (int64_t)complete);
out:
	tv_ecursor_close(c);
	free(e);
	return r;
}

static int scan_tape(struct ingest *in, struct tv_tape *t, const uint8_t *dek,
                     uint64_t *recovered, uint64_t *lost)
{
	struct tv_treader *rd = NULL;
	struct tv_content_header ch;
	uint64_t file_no;
	int r, sealed;

	*recovered = *lost = 0;
	if ((r = tv_tape_goto_file(t, 2)) != 0)   /* labels only: nothing to scan */
		return r == TV_ERR_EOD || r == TV_ERR_NOTFOUND ? 0 : r;
	if ((r = tv_treader_open(&rd, t, in->ti->barcode, in->ti->uuid, NULL)) != 0)
		return r;
	tv_treader_set_record_size(rd, in->ti->lab.vol.record_size);
	for (;;) {
		r = tv_treader_begin_file(rd, &ch, &file_no, &sealed);
		if (r == TV_ERR_EOD) {
			r = 0;
			break;
		}
		if (r == TV_ERR_FILEMARK)
			continue;
		if (r == 0 && (ch.type == TV_CT_DATA || ch.type == TV_CT_CATALOG))
			r = tv_treader_set_key(rd, dek, NULL, 0);
		if (r != 0) {
			/* an unreadable header, or a forged file: refused, named */
			(*lost)++;
			in->ti->refused++;
			tv_warn(in->h, "%s", tv_errmsg(r));
		} else if (ch.type == TV_CT_DATA) {
			if ((r = scan_data_file(in, rd, &ch, file_no, recovered, lost)) != 0)
				break;
		} else if (ch.type == TV_CT_CATALOG) {
			in->sealed = dek != NULL;
			if (read_items(in, rd, &ch, file_no) != 0) {
				tv_verbose(in->h, "tape %s file %llu: an earlier catalog: %s",
				           in->ti->barcode, (unsigned long long)file_no,
				           tv_errmsg(TV_ERR_FORMAT));
			}
		}
		if ((r = tv_treader_end_file(rd)) != 0) {
			if (r == TV_ERR_EOD)
				r = 0;
			break;
		}
	}
	tv_treader_close(rd);
	return r;
}

/* Items whose later parts were found (a scanned tape) before their first
 * part's row was made (an earlier tape's catalog read after it): their
 * count of parts from the parts rows. */
static int fix_nparts(struct tv_home *h)
{
	return tv_db_exec(h->db, "UPDATE files SET nparts=(SELECT MAX(p.part) FROM parts p WHERE "
	                  "p.set_id=files.set_id AND p.idx=files.idx) WHERE (set_id, idx) IN "
	                  "(SELECT set_id, idx FROM parts) AND nparts < (SELECT MAX(p.part) FROM "
	                  "parts p WHERE p.set_id=files.set_id AND p.idx=files.idx)", "");
}

/* A tape whose last catalog is missing or refused: every file scanned,
 * what was recovered said. */
static int scan_contents(struct ingest *in, struct tv_tape *t, const uint8_t *dek,
                         int *unlocked)
{
	struct tv_home *h = in->h;
	struct tv_tape_info *ti = in->ti;
	uint64_t rec = 0, lost = 0;
	int r;

	if ((r = scan_tape(in, t, dek, &rec, &lost)) != 0)
		return r;
	tv_info(h, "tape %s: scan recovered %llu complete entr%s%s", ti->barcode,
	        (unsigned long long)rec, rec == 1 ? "y" : "ies",
	        lost ? "; some were incomplete, damaged or refused" : "");
	if (lost)
		tv_info(h, "tape %s: %llu entr%s or tape file(s) could not be recovered (cut "
		        "off, damaged or refused)", ti->barcode, (unsigned long long)lost,
		        lost == 1 ? "y" : "ies");
	*unlocked = (int)in->unlocked;
	/* the later parts of an item may have come before its first */
	if ((r = fix_nparts(h)) != 0)
		return r;
	/* a tape without a valid catalog cannot be appended to safely */
	return tv_db_exec(h->db, "UPDATE tapes SET contents_cataloged=1, locked=0, full=1,"
	                  " cataloged=? WHERE id=?", "ii", (int64_t)tv_now(), ti->tape_id);
}

int tv_ingest_contents(struct tv_home *h, struct tv_tape *t, struct tv_tape_info *ti,
                       const uint8_t *dek, int *scanned, int *unlocked)
{
	struct ingest in;
	struct tv_tape_status ts;
	struct tv_treader *rd = NULL;
	struct tv_content_header ch;
	struct tv_catalog_header cat;
	uint64_t file_no;
	int r, sealed;

	memset(&in, 0, sizeof(in));
	tv_buf_init(&in.ext);
	in.h = h;
	in.ti = ti;
	*scanned = 0;
	*unlocked = 0;
	if ((r = prepare(&in)) != 0)
		goto out;
	/* who wrote it: nothing of an unknown writer goes into the catalog
	 * before the operator accepts it, nothing of a forged one ever */
	if ((r = tv_writer_gate(h, ti->barcode, &ti->lab, &in.lw)) != 0)
		goto out;
	if (ti->encrypted) {
		if (dek == NULL) {
			r = tv_errf(TV_ERR_LOCKED, "tape %s is encrypted and not unlocked",
			            ti->barcode);
			goto out;
		}
		if ((r = tv_labels_verify(&ti->lab, ti->barcode, dek)) != 0 ||
		    (r = tv_drivecrypt_read(h, t, ti->barcode, dek)) != 0)
			goto out;
	} else {
		dek = NULL;
	}
	/* the session catalog is the last file before end of data */
	if ((r = tv_tape_seek_eod(t)) != 0 || (r = tv_tape_status(t, &ts)) != 0)
		goto scan;
	if (ts.block_no != 0 || ts.file_no < 3) {
		if (ts.file_no >= 2)
			tv_warn(h, "tape %s: the last write session did not finish (no catalog at "
			        "the end): scanning the tape", ti->barcode);
		goto scan;
	}
	if ((r = tv_tape_goto_file(t, ts.file_no - 1)) != 0)
		goto scan;
	if ((r = tv_treader_open(&rd, t, ti->barcode, ti->uuid, NULL)) != 0)
		goto out;
	tv_treader_set_record_size(rd, ti->lab.vol.record_size);
	r = tv_treader_begin_file(rd, &ch, &file_no, &sealed);
	if (r != 0 || ch.type != TV_CT_CATALOG) {
		tv_warn(h, "tape %s: no session catalog at the end of the tape: scanning the tape",
		        ti->barcode);
		goto scan;
	}
	if ((r = tv_catalog_header_decode(ch.body, ch.body_len, &cat)) != 0 ||
	    memcmp(cat.tape_uuid, ti->uuid, 16) != 0) {
		tv_warn(h, "tape %s: its catalog %s: scanning the tape", ti->barcode,
		        r != 0 ? "is damaged" : "belongs to another tape");
		goto scan;
	}
	if ((r = tv_treader_set_key(rd, dek, NULL, 0)) != 0) {
		/* a catalog that is not what the tape's key wrote: refused */
		ti->refused++;
		tv_warn(h, "%s: scanning the tape", tv_errmsg(r));
		goto scan;
	}
	in.sealed = dek != NULL;
	if ((r = read_items(&in, rd, &ch, file_no)) != 0) {
		if (r == TV_ERR_AUTH || r == TV_ERR_SIG || (dek != NULL && r == TV_ERR_FORMAT))
			ti->refused++;
		tv_warn(h, "tape %s: catalog unreadable (%s): scanning the tape", ti->barcode,
		        tv_errmsg(r));
		goto scan;
	}
	tv_treader_close(rd);
	rd = NULL;
	*unlocked = (int)in.unlocked;
	if ((r = fix_nparts(h)) != 0)
		goto out;
	r = tv_db_exec(h->db, "UPDATE tapes SET contents_cataloged=1, locked=0, next_file=?,"
	               " cataloged=? WHERE id=?", "iii", (int64_t)ts.file_no,
	               (int64_t)tv_now(), ti->tape_id);
	tv_verbose(h, "tape %s: %llu catalog items, %llu entries", ti->barcode,
	           (unsigned long long)in.items, (unsigned long long)in.entries);
	goto out;
scan:
	tv_treader_close(rd);
	rd = NULL;
	*scanned = 1;
	r = scan_contents(&in, t, dek, unlocked);
out:
	tv_treader_close(rd);
	unprepare(&in);
	return r;
}
