/* tapevault: write sessions (see session.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/rand.h"
#include "format/record.h"
#include "jobs/fsmeta.h"
#include "jobs/keys.h"
#include "jobs/session.h"
#include "jobs/writer.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/wipe.h"

static int load_blob16(struct tv_stmt *q, int col, uint8_t out[16])
{
	size_t n;
	const void *p = tv_stmt_blob(q, col, &n);

	if (p == NULL || n != 16)
		return TV_ERR_FORMAT;
	memcpy(out, p, 16);
	return 0;
}

int tv_session_open(struct tv_session *s, struct tv_home *h, struct tv_vlib *lib,
                    int drive, int64_t tape_id, const char *barcode, int append,
                    const struct tv_twriter_opts *wo)
{
	struct tv_tape_labels lab;
	struct tv_stmt *q = NULL;
	int64_t next_file = 0;
	int r;

	memset(s, 0, sizeof(*s));
	memset(&lab, 0, sizeof(lab));
	s->h = h;
	s->lib = lib;
	s->drive = drive;
	s->tape_id = tape_id;
	s->wo = *wo;
	s->record_size = wo->record_size ? wo->record_size : TV_RECORD_SIZE_DEFAULT;
	snprintf(s->barcode, sizeof(s->barcode), "%s", barcode);
	if ((r = tv_vlib_load(lib, barcode, drive, TV_TAPE_RDWR, &s->t, NULL)) != 0)
		return r;
	if (!append)
		return 0;
	if ((r = tv_db_query(h->db, &q,
	                     "SELECT uuid, encrypted, next_file, seq, pool_id, media_set_id,"
	                     " (SELECT uuid FROM media_sets WHERE id=tapes.media_set_id),"
	                     " sessions FROM tapes WHERE id=?", "i", tape_id)) != 0)
		goto fail;
	if ((r = tv_stmt_step(q)) != 1) {
		r = r < 0 ? r : tv_errf(TV_ERR_NOTFOUND, "tape %s vanished from the catalog", barcode);
		goto fail;
	}
	if (load_blob16(q, 0, s->uuid) != 0 || load_blob16(q, 6, s->ms_uuid) != 0) {
		r = tv_errf(TV_ERR_DB, "catalog entry of tape %s is damaged", barcode);
		goto fail;
	}
	s->encrypted = (int)tv_stmt_int(q, 1);
	next_file = tv_stmt_int(q, 2);
	s->seq = (uint64_t)tv_stmt_int(q, 3);
	s->pool_id = tv_stmt_int(q, 4);
	s->ms_id = tv_stmt_int(q, 5);
	s->session_no = (uint64_t)tv_stmt_int(q, 7) + 1;
	tv_stmt_free(q);
	q = NULL;
	/* the tape in the drive must be the one the catalog describes */
	if ((r = tv_labels_read(s->t, barcode, &lab, 1)) != 0) {
		tv_errctx(r, "tape %s: cannot append", barcode);
		goto fail;
	}
	if (memcmp(lab.vol.tape_uuid, s->uuid, 16) != 0 || !lab.has_ms) {
		r = tv_errf(TV_ERR_STATE, "tape %s carries another tape's labels than the catalog "
		            "knows (relabeled or swapped?): run 'tapevault inventory' first",
		            barcode);
		goto fail;
	}
	s->record_size = lab.vol.record_size;
	s->wo.record_size = s->record_size;
	if (s->encrypted) {
		if ((r = tv_keys_load_dek(h, s->uuid, s->dek)) != 0) {
			tv_errctx(r, "tape %s: its data key is not unlocked", barcode);
			goto fail;
		}
		if ((r = tv_labels_verify(&lab, barcode, s->dek)) != 0)
			goto fail;
	} else if (lab.ms.enc.alg != TV_ENC_NONE) {
		r = tv_errf(TV_ERR_STATE, "tape %s: its label says encrypted, the catalog says "
		            "not: run 'tapevault catalog' first", barcode);
		goto fail;
	}
	if (next_file < 2) {
		r = tv_errf(TV_ERR_DB, "catalog entry of tape %s has no append position", barcode);
		goto fail;
	}
	if ((r = tv_tape_goto_file(s->t, (uint64_t)next_file)) != 0) {
		tv_errctx(r, "tape %s: cannot position at file %lld to append", barcode,
		          (long long)next_file);
		goto fail;
	}
	s->file_no = (uint32_t)next_file;
	if ((r = tv_twriter_open(&s->w, s->t, s->barcode, s->uuid, &s->wo)) != 0)
		goto fail;
	tv_labels_free(&lab);
	return 0;
fail:
	tv_labels_free(&lab);
	tv_stmt_free(q);
	tv_session_abort(s);
	return r;
}

int tv_session_label(struct tv_session *s, const struct tv_pool *pool, int64_t ms_id,
                     const uint8_t ms_uuid[16], uint64_t seq)
{
	struct tv_volume_label vol;
	struct tv_media_set_label *ms = NULL;
	struct tv_buf msbody;
	int r;

	tv_buf_init(&msbody);
	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return TV_ERR_NOMEM;
	memset(&vol, 0, sizeof(vol));
	if ((r = tv_uuid_new(s->uuid)) != 0)
		goto out;
	memcpy(vol.tape_uuid, s->uuid, 16);
	snprintf(vol.barcode, sizeof(vol.barcode), "%s", s->barcode);
	vol.created = tv_now();
	snprintf(vol.writer, sizeof(vol.writer), "tapevault %s", TV_VERSION);
	vol.record_size = s->record_size;

	snprintf(ms->pool_name, sizeof(ms->pool_name), "%s", pool->name);
	memcpy(ms->pool_uuid, pool->uuid, 16);
	memcpy(ms->media_set_uuid, ms_uuid, 16);
	ms->seq = seq;
	ms->created = vol.created;
	if ((r = tv_keys_new_tape(s->h, pool->encryption, s->uuid, s->dek, &ms->enc)) != 0)
		goto out;
	s->encrypted = ms->enc.alg != TV_ENC_NONE;
	s->seq = seq;
	s->session_no = 1;
	s->pool_id = pool->id;
	s->ms_id = ms_id;
	memcpy(s->ms_uuid, ms_uuid, 16);

	if ((r = tv_ms_label_encode(&msbody, ms)) != 0)
		goto out;
	if ((r = tv_tape_rewind(s->t)) != 0)
		goto out;
	s->wo.record_size = s->record_size;
	if ((r = tv_twriter_open(&s->w, s->t, s->barcode, s->uuid, &s->wo)) != 0)
		goto out;
	{
		/* the labels carry this installation's signature (writer.h) */
		struct tv_wsigner ws;
		if ((r = tv_writer_signer_open(s->h, &ws)) != 0)
			goto out;
		r = tv_labels_write_signed(s->w, &vol, ms, s->encrypted ? s->dek : NULL, &ws.sg);
		tv_writer_signer_close(&ws);
		if (r != 0)
			goto out;
	}
	s->file_no = 2;
	r = tv_db_exec(s->h->db,
	               "UPDATE tapes SET uuid=?, state='pool', pool_id=?, media_set_id=?, seq=?,"
	               " encrypted=?, locked=0, dek_fpr=?, ms_label=?, next_file=2, sessions=0,"
	               " full=0, contents_cataloged=1, written=?, enc_spec=?, record_size=?,"
	               " format=2 WHERE id=?",
	               "biiiibbitii", s->uuid, (size_t)16, pool->id, ms_id, (int64_t)seq,
	               (int64_t)s->encrypted, s->encrypted ? ms->enc.dek_fpr : NULL,
	               (size_t)TV_FPR_LEN, tv_buf_ptr(&msbody), tv_buf_avail(&msbody),
	               (int64_t)tv_now(), pool->encryption, (int64_t)s->record_size,
	               s->tape_id);
	if (r != 0)
		goto out;
	if (s->encrypted)
		r = tv_keys_save_dek(s->h, s->uuid, s->dek, "written here");
	tv_log(s->h, "labeled tape %s for pool %s, media set sequence %llu%s", s->barcode,
	       pool->name, (unsigned long long)seq, s->encrypted ? ", encrypted" : "");
out:
	tv_buf_free(&msbody);
	free(ms);
	return r;
}

/* ---- the session catalog ---- */

struct catw {
	struct tv_session *s;
	struct tv_cat_item_v *it;
	struct tv_buf b;
	uint64_t count;
	EVP_MD_CTX *md;              /* SHA-256 of the byte stream, for the signature */
};

static int put_item(struct catw *c)
{
	uint64_t fi;
	uint32_t eo;
	int r;

	tv_buf_reset(&c->b);
	if ((r = tv_cat_item_encode(&c->b, c->it)) != 0)
		return r;
	c->count++;
	if (c->md != NULL && EVP_DigestUpdate(c->md, tv_buf_ptr(&c->b), tv_buf_avail(&c->b)) != 1)
		return tv_errf(TV_ERR_CRYPTO, "SHA-256 failed");
	if ((r = tv_twriter_mark(c->s->w, &fi, &eo)) != 0)
		return r;
	return tv_twriter_write(c->s->w, tv_buf_ptr(&c->b), tv_buf_avail(&c->b));
}

static int put_tapes(struct catw *c)
{
	struct tv_session *s = c->s;
	struct tv_stmt *q = NULL;
	char pool_name[TV_NAME_MAX] = "";
	uint8_t pool_uuid[16] = {0};
	int r;

	if ((r = tv_db_query(s->h->db, &q, "SELECT name, uuid FROM pools WHERE id=?", "i",
	                     s->pool_id)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		snprintf(pool_name, sizeof(pool_name), "%s", tv_stmt_text(q, 0));
		load_blob16(q, 1, pool_uuid);
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if ((r = tv_db_query(s->h->db, &q,
	                     "SELECT uuid, barcode, seq, dek_fpr, COALESCE(record_size, ?) "
	                     "FROM tapes WHERE media_set_id=? AND seq<=? AND uuid IS NOT NULL "
	                     "ORDER BY seq", "iii", (int64_t)s->record_size, s->ms_id,
	                     (int64_t)s->seq)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_ci_tape *t = &c->it->u.tape;
		size_t n;
		const void *f;
		memset(c->it, 0, sizeof(*c->it));
		c->it->type = TV_CI_TAPE;
		load_blob16(q, 0, t->tape_uuid);
		snprintf(t->barcode, sizeof(t->barcode), "%s", tv_stmt_text(q, 1));
		t->seq = (uint64_t)tv_stmt_int(q, 2);
		if ((f = tv_stmt_blob(q, 3, &n)) != NULL && n == TV_FPR_LEN)
			memcpy(t->dek_fpr, f, TV_FPR_LEN);
		t->record_size = (uint64_t)tv_stmt_int(q, 4);
		snprintf(t->pool_name, sizeof(t->pool_name), "%s", pool_name);
		memcpy(t->pool_uuid, pool_uuid, 16);
		memcpy(t->media_set_uuid, s->ms_uuid, 16);
		if ((r = put_item(c)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

static int put_data_files(struct catw *c, int64_t set_id)
{
	struct tv_stmt *q = NULL;
	int r;

	if ((r = tv_db_query(c->s->h->db, &q,
	                     "SELECT tseq, file_no, content_uuid, raw_bytes, stored_bytes, "
	                     "complete FROM data_files WHERE set_id=? AND tseq<=? "
	                     "ORDER BY tseq, file_no", "ii", set_id, (int64_t)c->s->seq)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_ci_data *d = &c->it->u.data;
		memset(c->it, 0, sizeof(*c->it));
		c->it->type = TV_CI_DATA;
		d->tseq = (uint64_t)tv_stmt_int(q, 0);
		d->file_no = (uint64_t)tv_stmt_int(q, 1);
		load_blob16(q, 2, d->content_uuid);
		d->raw_bytes = (uint64_t)tv_stmt_int(q, 3);
		d->stored_bytes = (uint64_t)tv_stmt_int(q, 4);
		d->complete = (uint64_t)tv_stmt_int(q, 5);
		if ((r = put_item(c)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* s into out (outsz bytes), cut to fit. */
static void copy_str(char *out, size_t outsz, const char *s)
{
	size_t n = strnlen(s, outsz - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

/* The fields of an entry item's entry that a files row may leave unset
 * (the strings are copied in whole). */
static void entry_row_reset(struct tv_entry *e)
{
	e->path[0] = e->link[0] = e->uname[0] = e->gname[0] = '\0';
	e->offset = 0;
	e->rdev_major = e->rdev_minor = e->xattr_data = 0;
	e->sparse = e->xattrs = NULL;
	e->sparse_len = e->xattrs_len = 0;
}

/* The owners' and groups' names of a set (set_names) into m. */
static int load_names(struct tv_home *h, int64_t set_id, struct tv_fsmeta *m)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q, "SELECT kind, id, name FROM set_names WHERE set_id=?",
	                     "i", set_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1)
		if ((r = tv_fsmeta_name_add(m, (int)tv_stmt_int(q, 0), (uint32_t)tv_stmt_int(q, 1),
		                            tv_stmt_text(q, 2))) != 0)
			break;
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* Entries of a set on the tapes up to this one: the first part of every
 * item from files, the later parts from parts (merged by index); their
 * names from set_names. */
static int put_entries(struct catw *c, int64_t set_id)
{
	struct tv_stmt *fs = NULL, *ps = NULL;
	struct tv_fsmeta *names = NULL;
	int64_t seq = (int64_t)c->s->seq;
	int r, pr;

	if ((r = tv_fsmeta_new(&names, c->s->h, NULL)) != 0 ||
	    (r = load_names(c->s->h, set_id, names)) != 0)
		goto out;
	if ((r = tv_db_query(c->s->h->db, &fs,
	                     "SELECT idx, path, ftype, mode, uid, gid, mtime_sec, mtime_nsec,"
	                     " size, link, eflags, tseq, file_no, frame_off, entry_off, ext,"
	                     " ctime_sec, ctime_nsec, ino "
	                     "FROM files WHERE set_id=? AND tseq<=? ORDER BY idx",
	                     "ii", set_id, seq)) != 0)
		goto out;
	if ((r = tv_db_query(c->s->h->db, &ps,
	                     "SELECT idx, part, off, tseq, file_no, frame_off, entry_off "
	                     "FROM parts WHERE set_id=? AND tseq<=? ORDER BY idx, part",
	                     "ii", set_id, seq)) != 0)
		goto out;
	pr = tv_stmt_step(ps);
	while ((r = tv_stmt_step(fs)) == 1) {
		struct tv_ci_entry *ce = &c->it->u.entry;
		struct tv_entry *e = &ce->e;
		int64_t idx = tv_stmt_int(fs, 0);
		/* every field is set below: no memset of the 9 KB entry per row */
		entry_row_reset(e);
		c->it->type = TV_CI_ENTRY;
		e->file_index = (uint64_t)idx;
		copy_str(e->path, sizeof(e->path), tv_stmt_text(fs, 1));
		e->ftype = (enum tv_ftype)tv_stmt_int(fs, 2);
		e->mode = (uint64_t)tv_stmt_int(fs, 3);
		e->uid = (uint64_t)tv_stmt_int(fs, 4);
		e->gid = (uint64_t)tv_stmt_int(fs, 5);
		e->mtime_sec = tv_stmt_int(fs, 6);
		e->mtime_nsec = (uint64_t)tv_stmt_int(fs, 7);
		e->size = (uint64_t)tv_stmt_int(fs, 8);
		copy_str(e->link, sizeof(e->link), tv_stmt_text(fs, 9));
		e->flags = (uint64_t)tv_stmt_int(fs, 10);
		e->part = 1;
		{
			/* the optional fields as on tape (a regular file's xattrs are
			 * on tape only); valid until the next step */
			size_t n = 0;
			const void *x = tv_stmt_blob(fs, 15, &n);
			if (x != NULL && (r = tv_entry_ext_get(x, n, e)) != 0) {
				r = tv_errctx(r, "catalog row of %s", e->path);
				goto out;
			}
		}
		/* the names, kept once per set */
		copy_str(e->uname, sizeof(e->uname), tv_fsmeta_name_of(names, 0, (uint32_t)e->uid));
		copy_str(e->gname, sizeof(e->gname), tv_fsmeta_name_of(names, 1, (uint32_t)e->gid));
		e->length = tv_entry_data_size(e);
		ce->loc.tseq = (uint64_t)tv_stmt_int(fs, 11);
		ce->loc.file_no = (uint64_t)tv_stmt_int(fs, 12);
		ce->loc.frame_off = (uint64_t)tv_stmt_int(fs, 13);
		ce->loc.entry_off = (uint64_t)tv_stmt_int(fs, 14);
		/* what the next incremental compares with (first part only) */
		ce->has_state = !tv_stmt_isnull(fs, 16) && !tv_stmt_isnull(fs, 17) &&
		                !tv_stmt_isnull(fs, 18);
		ce->ctime_sec = tv_stmt_int(fs, 16);
		ce->ctime_nsec = (uint64_t)tv_stmt_int(fs, 17);
		ce->ino = (uint64_t)tv_stmt_int(fs, 18);
		if ((r = put_item(c)) != 0)
			goto out;
		ce->has_state = 0;
		while (pr == 1 && tv_stmt_int(ps, 0) < idx)
			pr = tv_stmt_step(ps);
		while (pr == 1 && tv_stmt_int(ps, 0) == idx) {
			e->part = (uint64_t)tv_stmt_int(ps, 1);
			e->offset = (uint64_t)tv_stmt_int(ps, 2);
			e->length = tv_entry_data_size(e) - e->offset;
			ce->loc.tseq = (uint64_t)tv_stmt_int(ps, 3);
			ce->loc.file_no = (uint64_t)tv_stmt_int(ps, 4);
			ce->loc.frame_off = (uint64_t)tv_stmt_int(ps, 5);
			ce->loc.entry_off = (uint64_t)tv_stmt_int(ps, 6);
			if ((r = put_item(c)) != 0)
				goto out;
			pr = tv_stmt_step(ps);
		}
		if (pr < 0) {
			r = pr;
			goto out;
		}
	}
out:
	tv_stmt_free(fs);
	tv_stmt_free(ps);
	tv_fsmeta_free(names);
	return r < 0 ? r : 0;
}

/* The items of a set not stored whole, after its entries (so a reader
 * finds the entry a "changed" one names). */
static int put_problems(struct catw *c, int64_t set_id)
{
	struct tv_stmt *q = NULL;
	int r;

	if ((r = tv_db_query(c->s->h->db, &q, "SELECT n, path, reason, idx FROM set_problems "
	                     "WHERE set_id=? ORDER BY n", "i", set_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_ci_problem *p = &c->it->u.problem;
		c->it->type = TV_CI_PROBLEM;
		p->n = (uint64_t)tv_stmt_int(q, 0);
		copy_str(p->path, sizeof(p->path), tv_stmt_text(q, 1));
		copy_str(p->reason, sizeof(p->reason), tv_stmt_text(q, 2));
		p->file_index = tv_stmt_isnull(q, 3) ? TV_PROBLEM_NO_INDEX
		                                     : (uint64_t)tv_stmt_int(q, 3);
		if ((r = put_item(c)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* The items of its parent's tree a set below a full no longer has. */
static int put_deleted(struct catw *c, int64_t set_id)
{
	struct tv_stmt *q = NULL;
	int r;

	if ((r = tv_db_query(c->s->h->db, &q, "SELECT n, path FROM set_deleted WHERE set_id=? "
	                     "ORDER BY n", "i", set_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_ci_deleted *d = &c->it->u.deleted;
		c->it->type = TV_CI_DELETED;
		d->n = (uint64_t)tv_stmt_int(q, 0);
		copy_str(d->path, sizeof(d->path), tv_stmt_text(q, 1));
		if ((r = put_item(c)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* A set's state column as a SET item's tag 9 (0: not said). */
static uint64_t set_state_code(const char *state)
{
	if (strcmp(state, "partial") == 0)
		return TV_SET_PARTIAL;
	if (strcmp(state, "interrupted") == 0)
		return TV_SET_INTERRUPTED;
	if (strcmp(state, "failed") == 0)
		return TV_SET_FAILED;
	return 0;
}

static int put_sets(struct catw *c)
{
	struct tv_session *s = c->s;
	struct tv_stmt *q = NULL;
	int r;

	if ((r = tv_db_query(s->h->db, &q,
	                     "SELECT id, uuid, name, created, first_seq, last_seq, complete,"
	                     " nfiles, nbytes, COALESCE(state,''), level, parent_uuid FROM"
	                     " backup_sets WHERE"
	                     " media_set_id=? AND "
	                     "first_seq<=? ORDER BY id", "ii", s->ms_id, (int64_t)s->seq)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_ci_set *set = &c->it->u.set;
		int64_t set_id = tv_stmt_int(q, 0);
		memset(c->it, 0, sizeof(*c->it));
		c->it->type = TV_CI_SET;
		load_blob16(q, 1, set->set_uuid);
		snprintf(set->name, sizeof(set->name), "%s", tv_stmt_text(q, 2));
		set->created = (uint64_t)tv_stmt_int(q, 3);
		set->first_seq = (uint64_t)tv_stmt_int(q, 4);
		set->last_seq = (uint64_t)tv_stmt_int(q, 5);
		/* complete: it ended on this tape or an earlier one */
		set->complete = tv_stmt_int(q, 6) && set->last_seq <= s->seq ? 1 : 0;
		if (set->last_seq > s->seq)
			set->last_seq = s->seq;
		if (set->last_seq < set->first_seq)
			set->last_seq = set->first_seq;
		set->nfiles = (uint64_t)tv_stmt_int(q, 7);
		set->nbytes = (uint64_t)tv_stmt_int(q, 8);
		set->state = set_state_code(tv_stmt_text(q, 9));
		set->level = (uint64_t)tv_stmt_int(q, 10);
		if (set->level != TV_LEVEL_FULL)
			load_blob16(q, 11, set->parent_uuid);
		if ((r = put_item(c)) != 0 || (r = put_data_files(c, set_id)) != 0 ||
		    (r = put_entries(c, set_id)) != 0 || (r = put_problems(c, set_id)) != 0 ||
		    (r = put_deleted(c, set_id)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* Key ring: the data keys of the pool's other tapes ("latest key decrypts
 * all"); only inside an encrypted catalog. */
static int put_keyring(struct catw *c)
{
	struct tv_session *s = c->s;
	struct tv_stmt *q = NULL;
	int r;

	if (!s->encrypted)
		return 0;
	if ((r = tv_db_query(s->h->db, &q,
	                     "SELECT t.uuid, k.dek_fpr FROM tapes t JOIN tape_keys k "
	                     "ON k.tape_uuid=t.uuid WHERE t.pool_id=? AND t.uuid<>? "
	                     "ORDER BY t.id", "ib", s->pool_id, s->uuid, (size_t)16)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_ci_keyring *k = &c->it->u.ring;
		size_t n;
		const void *f;
		memset(c->it, 0, sizeof(*c->it));
		c->it->type = TV_CI_KEYRING;
		load_blob16(q, 0, k->tape_uuid);
		if ((f = tv_stmt_blob(q, 1, &n)) != NULL && n == TV_FPR_LEN)
			memcpy(k->dek_fpr, f, TV_FPR_LEN);
		if (tv_keys_load_dek(s->h, k->tape_uuid, k->dek) != 0) {
			continue;
		}
		r = put_item(c);
		tv_wipe(k->dek, sizeof(k->dek));
		if (r != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* The WRITER item (docs/FORMAT.md 11.2): this installation's signature of
 * the catalog header and the items so far. */
static int put_writer(struct catw *c, const uint8_t cuuid[16], const struct tv_buf *hb)
{
	struct tv_wsigner ws;
	struct tv_buf msg;
	uint8_t dg[32];
	unsigned int dl = 0;
	int r;

	tv_buf_init(&msg);
	if (EVP_DigestFinal_ex(c->md, dg, &dl) != 1 || dl != 32)
		return tv_errf(TV_ERR_CRYPTO, "SHA-256 failed");
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
	if ((r = tv_writer_signer_open(c->s->h, &ws)) != 0)
		return r;
	memset(c->it, 0, sizeof(*c->it));
	c->it->type = TV_CI_WRITER;
	c->it->u.wsig.alg = TV_WSIG_ED25519;
	memcpy(c->it->u.wsig.pub, ws.sg.pub, TV_WSIG_PUB_LEN);
	memcpy(c->it->u.wsig.fpr, ws.sg.fpr, TV_WSIG_FPR_LEN);
	if ((r = tv_catalog_signed_msg(&msg, cuuid, tv_buf_ptr(hb), tv_buf_avail(hb), c->count,
	                               dg)) == 0 &&
	    (r = ws.sg.sign(ws.sg.ctx, tv_buf_ptr(&msg), tv_buf_avail(&msg),
	                    c->it->u.wsig.sig)) == 0)
		r = put_item(c);
	tv_writer_signer_close(&ws);
	tv_buf_free(&msg);
	return r;
}

static int write_catalog(struct tv_session *s)
{
	struct tv_catalog_header cat;
	struct catw c;
	struct tv_buf hb;
	uint8_t cuuid[16];
	int r;

	memset(&c, 0, sizeof(c));
	c.s = s;
	tv_buf_init(&c.b);
	tv_buf_init(&hb);
	if ((c.it = calloc(1, sizeof(*c.it))) == NULL)
		return TV_ERR_NOMEM;
	if ((c.md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(c.md, EVP_sha256(), NULL) != 1) {
		r = tv_errf(TV_ERR_CRYPTO, "SHA-256 is not available");
		goto out;
	}
	memset(&cat, 0, sizeof(cat));
	memcpy(cat.tape_uuid, s->uuid, 16);
	memcpy(cat.media_set_uuid, s->ms_uuid, 16);
	cat.session = s->session_no;
	if ((r = tv_catalog_header_encode(&hb, &cat)) != 0 || (r = tv_uuid_new(cuuid)) != 0)
		goto out;
	if ((r = tv_twriter_begin_file(s->w, s->file_no, TV_CT_CATALOG, cuuid,
	                               tv_buf_ptr(&hb), tv_buf_avail(&hb),
	                               s->encrypted ? s->dek : NULL)) != 0)
		goto out;
	if ((r = put_tapes(&c)) != 0 || (r = put_sets(&c)) != 0 ||
	    (r = put_keyring(&c)) != 0 || (r = put_writer(&c, cuuid, &hb)) != 0)
		goto out;
	memset(c.it, 0, sizeof(*c.it));
	c.it->type = TV_CI_END;
	c.it->u.end_count = c.count;   /* the items before it */
	if ((r = put_item(&c)) != 0)
		goto out;
	r = tv_twriter_end_file(s->w, 0, NULL);
out:
	EVP_MD_CTX_free(c.md);
	tv_buf_free(&c.b);
	tv_buf_free(&hb);
	tv_wipe(c.it, sizeof(*c.it));
	free(c.it);
	return r;
}

int tv_session_finish(struct tv_session *s)
{
	struct tv_tape_status ts;
	int r, full;

	if (s->w == NULL)
		return tv_errf(TV_ERR_STATE, "tape %s: no write session", s->barcode);
	if ((r = tv_twriter_sync(s->w)) != 0)
		goto fail;
	if ((r = write_catalog(s)) != 0) {
		tv_errctx(r, "tape %s: writing the session catalog", s->barcode);
		goto fail;
	}
	if ((r = tv_twriter_sync(s->w)) != 0)
		goto fail;
	full = tv_twriter_ew(s->w);
	memset(&ts, 0, sizeof(ts));
	tv_tape_status(s->t, &ts);
	r = tv_db_exec(s->h->db,
	               "UPDATE tapes SET next_file=?, sessions=?, full=?, written=?,"
	               " used=?, capacity=? WHERE id=?",
	               "iiiiiii", (int64_t)s->file_no + 1, (int64_t)s->session_no, (int64_t)full,
	               (int64_t)tv_now(), (int64_t)ts.used, (int64_t)ts.capacity, s->tape_id);
	if (r != 0)
		goto fail;
	r = tv_twriter_close(s->w);
	s->w = NULL;
	if (r != 0)
		goto fail;
	r = tv_tape_close(s->t);
	s->t = NULL;
	tv_wipe(s->dek, sizeof(s->dek));
	if (r != 0)
		return tv_errctx(r, "tape %s: closing", s->barcode);
	return 0;
fail:
	tv_session_abort(s);
	return r;
}

void tv_session_abort(struct tv_session *s)
{
	if (s->w != NULL && tv_twriter_device_failed(s->w))
		s->dev_failed = 1;
	if (s->w != NULL)
		tv_twriter_close(s->w);
	s->w = NULL;
	if (s->t != NULL)
		tv_tape_close(s->t);
	s->t = NULL;
	tv_wipe(s->dek, sizeof(s->dek));
}
