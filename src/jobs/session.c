/* tapevault: write sessions (see session.h). */
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "format/record.h"
#include "jobs/keys.h"
#include "jobs/session.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

static int load_blob16(struct tv_stmt *st, int col, uint8_t out[16])
{
	size_t n;
	const void *p = tv_stmt_blob(st, col, &n);

	if (p == NULL || n != 16)
		return TV_ERR_FORMAT;
	memcpy(out, p, 16);
	return 0;
}

int tv_session_open(struct tv_session *s, struct tv_home *h, struct tv_vlib *lib,
                    int drive, int64_t tape_id, const char *barcode, int append,
                    size_t record_size)
{
	struct tv_volume_label vol;
	struct tv_stmt *st = NULL;
	int64_t next_file = 0;
	int r;

	memset(s, 0, sizeof(*s));
	s->h = h;
	s->lib = lib;
	s->drive = drive;
	s->tape_id = tape_id;
	s->record_size = record_size;
	snprintf(s->barcode, sizeof(s->barcode), "%s", barcode);
	if ((r = tv_vlib_load(lib, barcode, drive, TV_TAPE_RDWR, &s->t, NULL)) != 0)
		return r;
	if (!append)
		return 0;
	if ((r = tv_db_query(h->db, &st,
	                     "SELECT uuid, encrypted, next_file, seq, pool_id, media_set_id,"
	                     " (SELECT uuid FROM media_sets WHERE id=tapes.media_set_id) "
	                     "FROM tapes WHERE id=?", "i", tape_id)) != 0)
		goto fail;
	if ((r = tv_stmt_step(st)) != 1) {
		r = r < 0 ? r : tv_errf(TV_ERR_NOTFOUND, "tape %s vanished from the catalog", barcode);
		goto fail;
	}
	if (load_blob16(st, 0, s->uuid) != 0 || load_blob16(st, 6, s->ms_uuid) != 0) {
		r = tv_errf(TV_ERR_DB, "catalog entry of tape %s is damaged", barcode);
		goto fail;
	}
	s->encrypted = (int)tv_stmt_int(st, 1);
	next_file = tv_stmt_int(st, 2);
	s->seq = (uint64_t)tv_stmt_int(st, 3);
	s->pool_id = tv_stmt_int(st, 4);
	s->ms_id = tv_stmt_int(st, 5);
	tv_stmt_free(st);
	st = NULL;
	/* the tape in the drive must be the one the catalog describes */
	if ((r = tv_media_read_labels(s->t, barcode, &vol, NULL)) != 0) {
		tv_errctx(r, "tape %s: cannot append", barcode);
		goto fail;
	}
	if (memcmp(vol.tape_uuid, s->uuid, 16) != 0) {
		r = tv_errf(TV_ERR_STATE, "tape %s carries another tape's labels than the catalog "
		            "knows (relabeled or swapped?): run 'tapevault inventory' first",
		            barcode);
		goto fail;
	}
	if (s->encrypted && (r = tv_keys_load_dek(h, s->uuid, s->dek)) != 0) {
		tv_errctx(r, "tape %s: its data key is not unlocked", barcode);
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
	if ((r = tv_twriter_open(&s->w, s->t, s->barcode, s->uuid, s->record_size)) != 0)
		goto fail;
	return 0;
fail:
	tv_stmt_free(st);
	tv_session_abort(s);
	return r;
}

static int write_label_file(struct tv_session *s, uint32_t file_no,
                            enum tv_content_type type, struct tv_buf *body)
{
	uint8_t cuuid[16];
	struct tv_file_result fr;
	int r;

	tv_uuid_new(cuuid);
	if ((r = tv_twriter_begin_file(s->w, file_no, type, cuuid, tv_buf_ptr(body),
	                               tv_buf_avail(body), NULL)) != 0)
		return r;
	return tv_twriter_end_file(s->w, 0, &fr);
}

int tv_session_label(struct tv_session *s, const struct tv_pool *pool, int64_t ms_id,
                     const uint8_t ms_uuid[16], uint64_t seq)
{
	struct tv_volume_label vol;
	struct tv_media_set_label *ms = NULL;
	struct tv_buf body, msbody;
	int r;

	tv_buf_init(&body);
	tv_buf_init(&msbody);
	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return TV_ERR_NOMEM;
	memset(&vol, 0, sizeof(vol));
	tv_uuid_new(s->uuid);
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
	s->pool_id = pool->id;
	s->ms_id = ms_id;
	memcpy(s->ms_uuid, ms_uuid, 16);

	if ((r = tv_vol_label_encode(&body, &vol)) != 0 ||
	    (r = tv_ms_label_encode(&msbody, ms)) != 0)
		goto out;
	if ((r = tv_tape_rewind(s->t)) != 0)
		goto out;
	if ((r = tv_twriter_open(&s->w, s->t, s->barcode, s->uuid, s->record_size)) != 0)
		goto out;
	if ((r = write_label_file(s, 0, TV_CT_VOLUME_LABEL, &body)) != 0 ||
	    (r = write_label_file(s, 1, TV_CT_MEDIA_SET_LABEL, &msbody)) != 0)
		goto out;
	s->file_no = 2;
	r = tv_db_exec(s->h->db,
	               "UPDATE tapes SET uuid=?, state='pool', pool_id=?, media_set_id=?, seq=?,"
	               " encrypted=?, locked=0, dek_fpr=?, ms_label=?, next_file=2, sessions=0,"
	               " full=0, contents_cataloged=1, written=?, enc_spec=? WHERE id=?",
	               "biiiibbiti", s->uuid, (size_t)16, pool->id, ms_id, (int64_t)seq,
	               (int64_t)s->encrypted, s->encrypted ? ms->enc.dek_fpr : NULL,
	               (size_t)TV_FPR_LEN, tv_buf_ptr(&msbody), tv_buf_avail(&msbody),
	               (int64_t)tv_now(), pool->encryption, s->tape_id);
	if (r != 0)
		goto out;
	if (s->encrypted)
		r = tv_keys_save_dek(s->h, s->uuid, s->dek, "written here");
	tv_log(s->h, "labeled tape %s for pool %s, media set sequence %llu%s", s->barcode,
	       pool->name, (unsigned long long)seq, s->encrypted ? ", encrypted" : "");
out:
	tv_buf_free(&body);
	tv_buf_free(&msbody);
	free(ms);
	return r;
}

/* ---- the session catalog ---- */

static int put_item(struct tv_session *s, struct tv_buf *b, const struct tv_cat_item_v *it,
                    uint64_t *count)
{
	int r;

	tv_buf_reset(b);
	if ((r = tv_cat_item_encode(b, it)) != 0)
		return r;
	(*count)++;
	return tv_twriter_write(s->w, tv_buf_ptr(b), tv_buf_avail(b));
}

static int write_catalog(struct tv_session *s, uint64_t session_no)
{
	struct tv_catalog_header ch;
	struct tv_cat_item_v *it = NULL;
	struct tv_buf b;
	struct tv_stmt *st = NULL;
	struct tv_file_result fr;
	uint8_t cuuid[16];
	uint64_t count = 0;
	char pool_name[TV_NAME_MAX] = "";
	uint8_t pool_uuid[16] = {0};
	int r;

	tv_buf_init(&b);
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_db_query(s->h->db, &st, "SELECT name, uuid FROM pools WHERE id=?", "i",
	                     s->pool_id)) != 0)
		goto out;
	if (tv_stmt_step(st) == 1) {
		snprintf(pool_name, sizeof(pool_name), "%s", tv_stmt_text(st, 0));
		load_blob16(st, 1, pool_uuid);
	}
	tv_stmt_free(st);
	st = NULL;

	memset(&ch, 0, sizeof(ch));
	memcpy(ch.tape_uuid, s->uuid, 16);
	memcpy(ch.media_set_uuid, s->ms_uuid, 16);
	ch.session = session_no;
	ch.encrypted = s->encrypted;
	if ((r = tv_catalog_header_encode(&b, &ch)) != 0)
		goto out;
	tv_uuid_new(cuuid);
	if ((r = tv_twriter_begin_file(s->w, s->file_no, TV_CT_CATALOG, cuuid, tv_buf_ptr(&b),
	                               tv_buf_avail(&b), s->encrypted ? s->dek : NULL)) != 0)
		goto out;

	/* tapes of the media set up to this one */
	if ((r = tv_db_query(s->h->db, &st,
	                     "SELECT uuid, barcode, seq, dek_fpr FROM tapes "
	                     "WHERE media_set_id=? AND seq<=? AND uuid IS NOT NULL ORDER BY seq",
	                     "ii", s->ms_id, (int64_t)s->seq)) != 0)
		goto out;
	while ((r = tv_stmt_step(st)) == 1) {
		size_t n;
		const void *f;
		memset(it, 0, sizeof(*it));
		it->type = TV_CI_TAPE;
		load_blob16(st, 0, it->u.tape.tape_uuid);
		snprintf(it->u.tape.barcode, sizeof(it->u.tape.barcode), "%s", tv_stmt_text(st, 1));
		it->u.tape.seq = (uint64_t)tv_stmt_int(st, 2);
		if ((f = tv_stmt_blob(st, 3, &n)) != NULL && n == TV_FPR_LEN)
			memcpy(it->u.tape.dek_fpr, f, TV_FPR_LEN);
		snprintf(it->u.tape.pool_name, sizeof(it->u.tape.pool_name), "%s", pool_name);
		memcpy(it->u.tape.pool_uuid, pool_uuid, 16);
		memcpy(it->u.tape.media_set_uuid, s->ms_uuid, 16);
		if ((r = put_item(s, &b, it, &count)) != 0)
			goto out;
	}
	tv_stmt_free(st);
	st = NULL;
	if (r < 0)
		goto out;

	/* backup sets of the media set */
	if ((r = tv_db_query(s->h->db, &st,
	                     "SELECT uuid, name, created, first_seq, last_seq, complete, nfiles,"
	                     " nbytes FROM backup_sets WHERE media_set_id=? AND first_seq<=? "
	                     "ORDER BY id", "ii", s->ms_id, (int64_t)s->seq)) != 0)
		goto out;
	while ((r = tv_stmt_step(st)) == 1) {
		memset(it, 0, sizeof(*it));
		it->type = TV_CI_SET;
		load_blob16(st, 0, it->u.set.set_uuid);
		snprintf(it->u.set.name, sizeof(it->u.set.name), "%s", tv_stmt_text(st, 1));
		it->u.set.created = (uint64_t)tv_stmt_int(st, 2);
		it->u.set.first_seq = (uint64_t)tv_stmt_int(st, 3);
		it->u.set.last_seq = (uint64_t)tv_stmt_int(st, 4);
		it->u.set.complete = (uint64_t)tv_stmt_int(st, 5);
		it->u.set.nfiles = (uint64_t)tv_stmt_int(st, 6);
		it->u.set.nbytes = (uint64_t)tv_stmt_int(st, 7);
		if ((r = put_item(s, &b, it, &count)) != 0)
			goto out;
	}
	tv_stmt_free(st);
	st = NULL;
	if (r < 0)
		goto out;

	/* file parts on the tapes of the media set */
	if ((r = tv_db_query(s->h->db, &st,
	                     "SELECT p.tape_uuid, p.file_no, p.content_uuid, b.uuid, f.file_index,"
	                     " p.part_no, p.last_part, p.records, p.length, p.crc, f.path, f.ftype,"
	                     " f.mode, f.uid, f.gid, f.mtime_sec, f.mtime_nsec, f.size, p.offset,"
	                     " f.link, f.eflags "
	                     "FROM parts p JOIN files f ON p.file_id=f.id "
	                     "JOIN backup_sets b ON f.set_id=b.id JOIN tapes t ON t.uuid=p.tape_uuid "
	                     "WHERE t.media_set_id=? AND t.seq<=? ORDER BY t.seq, p.file_no",
	                     "ii", s->ms_id, (int64_t)s->seq)) != 0)
		goto out;
	while ((r = tv_stmt_step(st)) == 1) {
		struct tv_ci_part *p = &it->u.part;
		memset(it, 0, sizeof(*it));
		it->type = TV_CI_PART;
		load_blob16(st, 0, p->tape_uuid);
		p->file_no = (uint64_t)tv_stmt_int(st, 1);
		load_blob16(st, 2, p->content_uuid);
		load_blob16(st, 3, p->set_uuid);
		p->file_index = (uint64_t)tv_stmt_int(st, 4);
		p->part_no = (uint64_t)tv_stmt_int(st, 5);
		p->last_part = (uint64_t)tv_stmt_int(st, 6);
		p->records = (uint64_t)tv_stmt_int(st, 7);
		p->length = (uint64_t)tv_stmt_int(st, 8);
		p->crc = (uint32_t)tv_stmt_int(st, 9);
		snprintf(p->e.path, sizeof(p->e.path), "%s", tv_stmt_text(st, 10));
		p->e.ftype = (enum tv_ftype)tv_stmt_int(st, 11);
		p->e.mode = (uint64_t)tv_stmt_int(st, 12);
		p->e.uid = (uint64_t)tv_stmt_int(st, 13);
		p->e.gid = (uint64_t)tv_stmt_int(st, 14);
		p->e.mtime_sec = tv_stmt_int(st, 15);
		p->e.mtime_nsec = (uint64_t)tv_stmt_int(st, 16);
		p->e.size = (uint64_t)tv_stmt_int(st, 17);
		p->e.offset = (uint64_t)tv_stmt_int(st, 18);
		snprintf(p->e.link, sizeof(p->e.link), "%s", tv_stmt_text(st, 19));
		p->e.flags = (uint64_t)tv_stmt_int(st, 20);
		if ((r = put_item(s, &b, it, &count)) != 0)
			goto out;
	}
	tv_stmt_free(st);
	st = NULL;
	if (r < 0)
		goto out;

	/* key ring: the data keys of the pool's other tapes ("latest key
	 * decrypts all"); only inside an encrypted catalog */
	if (s->encrypted) {
		if ((r = tv_db_query(s->h->db, &st,
		                     "SELECT t.uuid, k.dek_fpr FROM tapes t JOIN tape_keys k "
		                     "ON k.tape_uuid=t.uuid WHERE t.pool_id=? AND t.uuid<>? "
		                     "ORDER BY t.id", "ib", s->pool_id, s->uuid, (size_t)16)) != 0)
			goto out;
		while ((r = tv_stmt_step(st)) == 1) {
			size_t n;
			const void *f;
			memset(it, 0, sizeof(*it));
			it->type = TV_CI_KEYRING;
			load_blob16(st, 0, it->u.ring.tape_uuid);
			if ((f = tv_stmt_blob(st, 1, &n)) != NULL && n == TV_FPR_LEN)
				memcpy(it->u.ring.dek_fpr, f, TV_FPR_LEN);
			if (tv_keys_load_dek(s->h, it->u.ring.tape_uuid, it->u.ring.dek) != 0)
				continue;
			r = put_item(s, &b, it, &count);
			tv_keys_wipe(it->u.ring.dek, sizeof(it->u.ring.dek));
			if (r != 0)
				goto out;
		}
		tv_stmt_free(st);
		st = NULL;
		if (r < 0)
			goto out;
	}
	memset(it, 0, sizeof(*it));
	it->type = TV_CI_END;
	it->u.end_count = count;
	tv_buf_reset(&b);
	if ((r = tv_cat_item_encode(&b, it)) != 0 ||
	    (r = tv_twriter_write(s->w, tv_buf_ptr(&b), tv_buf_avail(&b))) != 0)
		goto out;
	r = tv_twriter_end_file(s->w, 0, &fr);
out:
	tv_stmt_free(st);
	tv_buf_free(&b);
	if (it != NULL) {
		tv_keys_wipe(it, sizeof(*it));
		free(it);
	}
	return r;
}

int tv_session_finish(struct tv_session *s, int64_t set_id, int set_complete)
{
	struct tv_tape_status ts;
	int64_t sessions = 0;
	int r, full;

	(void)set_id;
	(void)set_complete;
	if (s->w == NULL)
		return tv_errf(TV_ERR_STATE, "tape %s: no write session", s->barcode);
	tv_db_get_int(s->h->db, &sessions, "SELECT sessions FROM tapes WHERE id=?", "i",
	              s->tape_id);
	if ((r = write_catalog(s, (uint64_t)sessions + 1)) != 0) {
		tv_errctx(r, "tape %s: writing the session catalog", s->barcode);
		goto fail;
	}
	if ((r = tv_twriter_sync(s->w)) != 0)
		goto fail;
	full = tv_twriter_ew(s->w);
	memset(&ts, 0, sizeof(ts));
	tv_tape_status(s->t, &ts);
	r = tv_db_exec(s->h->db,
	               "UPDATE tapes SET next_file=?, sessions=sessions+1, full=?, written=?,"
	               " used=?, capacity=? WHERE id=?",
	               "iiiiii", (int64_t)s->file_no, (int64_t)full, (int64_t)tv_now(),
	               (int64_t)ts.used, (int64_t)ts.capacity, s->tape_id);
	if (r != 0)
		goto fail;
	r = tv_twriter_close(s->w);
	s->w = NULL;
	if (r != 0)
		goto fail;
	r = tv_tape_close(s->t);
	s->t = NULL;
	tv_keys_wipe(s->dek, sizeof(s->dek));
	if (r != 0)
		return tv_errctx(r, "tape %s: closing", s->barcode);
	return 0;
fail:
	tv_session_abort(s);
	return r;
}

void tv_session_abort(struct tv_session *s)
{
	if (s->w != NULL)
		tv_twriter_close(s->w);
	s->w = NULL;
	if (s->t != NULL)
		tv_tape_close(s->t);
	s->t = NULL;
	tv_keys_wipe(s->dek, sizeof(s->dek));
}
