/* tapevault: the catalog side of reading tapes.
 *
 * The tapes are the truth: everything here can be rebuilt from them.  A
 * tape's last file is its session catalog (tapes of the media set, backup
 * sets, file parts, and on encrypted tapes the key ring).  When that file
 * is missing or damaged (a session cut short by a crash), the tape is
 * scanned file by file and every complete file is recovered. */
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"
#include "format/record.h"
#include "jobs/ingest.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "tape/tape.h"
#include "util/err.h"

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
	snprintf(nm, sizeof(nm), "%s", name);
	if (tv_db_get_int(h->db, &other, "SELECT id FROM pools WHERE name=?", "t", nm) == 0) {
		char u[37];
		tv_uuid_to_str(uuid, u);
		snprintf(nm, sizeof(nm), "%.100s-%.8s", name, u);
	}
	r = tv_db_exec(h->db,
	               "INSERT INTO pools(uuid, name, library_id, encryption, imported, created)"
	               " VALUES(?,?,?, 'imported', 1, ?)",
	               "bti" "i", uuid, (size_t)16, nm, lib_id, (int64_t)tv_now());
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

/* Find or create the tapes row for (uuid, barcode). */
static int ensure_tape(struct tv_home *h, const uint8_t uuid[16], const char *barcode,
                       int64_t *tape_id)
{
	int r;

	r = tv_db_get_int(h->db, tape_id, "SELECT id FROM tapes WHERE uuid=?", "b", uuid,
	                  (size_t)16);
	if (r == 0)
		return tv_db_exec(h->db, "UPDATE tapes SET barcode=? WHERE id=? AND NOT EXISTS "
		                  "(SELECT 1 FROM tapes WHERE barcode=? AND id<>?)", "titi",
		                  barcode, *tape_id, barcode, *tape_id);
	if (r != TV_ERR_NOTFOUND)
		return r;
	r = tv_db_get_int(h->db, tape_id, "SELECT id FROM tapes WHERE barcode=?", "t", barcode);
	if (r == 0)
		return tv_db_exec(h->db, "UPDATE tapes SET uuid=? WHERE id=?", "bi", uuid,
		                  (size_t)16, *tape_id);
	if (r != TV_ERR_NOTFOUND)
		return r;
	r = tv_db_exec(h->db, "INSERT INTO tapes(barcode, uuid, state) VALUES(?,?,'imported')",
	               "tb", barcode, uuid, (size_t)16);
	if (r == 0)
		*tape_id = tv_db_last_id(h->db);
	return r;
}

int tv_ingest_labels(struct tv_home *h, int64_t lib_id, const char *barcode,
                     const struct tv_volume_label *vol, struct tv_tape_info *ti)
{
	struct tv_buf msb;
	int64_t imported = 1;
	int r;

	tv_buf_init(&msb);
	snprintf(ti->barcode, sizeof(ti->barcode), "%s", barcode);
	memcpy(ti->uuid, vol->tape_uuid, 16);
	ti->lib_id = lib_id;
	ti->seq = ti->ms.seq;
	ti->encrypted = ti->ms.enc.alg != TV_ENC_NONE;
	if ((r = ensure_pool(h, ti->ms.pool_name, ti->ms.pool_uuid, lib_id, &ti->pool_id)) != 0 ||
	    (r = ensure_ms(h, ti->ms.media_set_uuid, ti->pool_id, ti->ms.created, &ti->ms_id)) != 0 ||
	    (r = ensure_tape(h, vol->tape_uuid, barcode, &ti->tape_id)) != 0)
		goto out;
	tv_db_get_int(h->db, &imported, "SELECT imported FROM pools WHERE id=?", "i", ti->pool_id);
	if ((r = tv_ms_label_encode(&msb, &ti->ms)) != 0)
		goto out;
	r = tv_db_exec(h->db,
	               "UPDATE tapes SET library_id=?, state=?, pool_id=?, media_set_id=?, seq=?,"
	               " encrypted=?, dek_fpr=?, ms_label=?, cataloged=? WHERE id=?",
	               "itiiiibbii", lib_id, imported ? "imported" : "pool", ti->pool_id,
	               ti->ms_id, (int64_t)ti->seq, (int64_t)ti->encrypted,
	               ti->encrypted ? ti->ms.enc.dek_fpr : NULL, (size_t)TV_FPR_LEN,
	               tv_buf_ptr(&msb), tv_buf_avail(&msb), (int64_t)tv_now(), ti->tape_id);
out:
	tv_buf_free(&msb);
	return r;
}

/* ---- catalog items ---- */

struct ingest {
	struct tv_home *h;
	struct tv_tape_info *ti;
	int64_t last_set_id;
	uint8_t last_set_uuid[16];
	int unlocked;
	uint64_t items, parts;
};

static int set_id_of(struct ingest *in, const uint8_t set_uuid[16], int64_t *id)
{
	int r;

	if (in->last_set_id && memcmp(in->last_set_uuid, set_uuid, 16) == 0) {
		*id = in->last_set_id;
		return 0;
	}
	r = tv_db_get_int(in->h->db, id, "SELECT id FROM backup_sets WHERE uuid=?", "b",
	                  set_uuid, (size_t)16);
	if (r == TV_ERR_NOTFOUND) {
		/* a part of a set we have no set item for (scan): a recovered set */
		char u[37], name[64];
		tv_uuid_to_str(set_uuid, u);
		snprintf(name, sizeof(name), "recovered-%.8s", u);
		r = tv_db_exec(in->h->db,
		               "INSERT INTO backup_sets(uuid, name, pool_id, media_set_id, created,"
		               " first_seq, last_seq, recovered) VALUES(?,?,?,?,?,?,?,1)",
		               "btiiiii", set_uuid, (size_t)16, name, in->ti->pool_id,
		               in->ti->ms_id, (int64_t)tv_now(), (int64_t)in->ti->seq,
		               (int64_t)in->ti->seq);
		if (r != 0)
			return r;
		*id = tv_db_last_id(in->h->db);
	} else if (r != 0) {
		return r;
	}
	in->last_set_id = *id;
	memcpy(in->last_set_uuid, set_uuid, 16);
	return 0;
}

static int add_part(struct ingest *in, const struct tv_ci_part *p)
{
	int64_t set_id, file_id;
	const struct tv_entry *e = &p->e;
	int r;

	if ((r = set_id_of(in, p->set_uuid, &set_id)) != 0)
		return r;
	r = tv_db_exec(in->h->db,
	               "INSERT OR IGNORE INTO files(set_id, file_index, path, ftype, mode, uid,"
	               " gid, mtime_sec, mtime_nsec, size, link, eflags) "
	               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	               "iitiiiiiiiti", set_id, (int64_t)p->file_index, e->path,
	               (int64_t)e->ftype, (int64_t)e->mode, (int64_t)e->uid, (int64_t)e->gid,
	               (int64_t)e->mtime_sec, (int64_t)e->mtime_nsec, (int64_t)e->size,
	               e->ftype == TV_FT_SYMLINK ? e->link : NULL, (int64_t)e->flags);
	if (r != 0)
		return r;
	if ((r = tv_db_get_int(in->h->db, &file_id,
	                       "SELECT id FROM files WHERE set_id=? AND file_index=?", "ii",
	                       set_id, (int64_t)p->file_index)) != 0)
		return r;
	r = tv_db_exec(in->h->db,
	               "INSERT OR IGNORE INTO parts(file_id, part_no, last_part, tape_uuid, file_no,"
	               " content_uuid, offset, length, records, crc) VALUES(?,?,?,?,?,?,?,?,?,?)",
	               "iiibibiiii", file_id, (int64_t)p->part_no, (int64_t)p->last_part,
	               p->tape_uuid, (size_t)16, (int64_t)p->file_no, p->content_uuid,
	               (size_t)16, (int64_t)e->offset, (int64_t)p->length, (int64_t)p->records,
	               (int64_t)p->crc);
	if (r == 0)
		in->parts++;
	return r;
}

static int add_item(struct ingest *in, const struct tv_cat_item_v *it)
{
	struct tv_home *h = in->h;
	int64_t id;
	int r = 0;

	in->items++;
	switch (it->type) {
	case TV_CI_TAPE: {
		const struct tv_ci_tape *t = &it->u.tape;
		int64_t pool_id, ms_id;
		if (memcmp(t->tape_uuid, in->ti->uuid, 16) == 0)
			return 0;
		if ((r = ensure_pool(h, t->pool_name, t->pool_uuid, in->ti->lib_id, &pool_id)) != 0 ||
		    (r = ensure_ms(h, t->media_set_uuid, pool_id, 0, &ms_id)) != 0)
			return r;
		r = tv_db_get_int(h->db, &id, "SELECT id FROM tapes WHERE uuid=?", "b",
		                  t->tape_uuid, (size_t)16);
		if (r == TV_ERR_NOTFOUND) {
			/* known from another tape's catalog only: not (yet) in a library */
			int64_t imported = 1;
			static const uint8_t zero[TV_FPR_LEN];
			int enc = memcmp(t->dek_fpr, zero, TV_FPR_LEN) != 0;
			tv_db_get_int(h->db, &imported, "SELECT imported FROM pools WHERE id=?", "i",
			              pool_id);
			r = tv_db_exec(h->db,
			               "INSERT OR IGNORE INTO tapes(barcode, uuid, state, pool_id,"
			               " media_set_id, seq, encrypted, locked, dek_fpr,"
			               " contents_cataloged) VALUES(?,?,?,?,?,?,?,?,?,0)",
			               "tbtiiiiib", t->barcode, t->tape_uuid, (size_t)16,
			               imported ? "imported" : "pool", pool_id, ms_id, (int64_t)t->seq,
			               (int64_t)enc, (int64_t)enc, enc ? t->dek_fpr : NULL,
			               (size_t)TV_FPR_LEN);
		}
		return r;
	}
	case TV_CI_SET: {
		const struct tv_ci_set *s = &it->u.set;
		r = tv_db_get_int(h->db, &id, "SELECT id FROM backup_sets WHERE uuid=?", "b",
		                  s->set_uuid, (size_t)16);
		if (r == TV_ERR_NOTFOUND)
			return tv_db_exec(h->db,
			                  "INSERT INTO backup_sets(uuid, name, pool_id, media_set_id,"
			                  " created, first_seq, last_seq, complete, nfiles, nbytes)"
			                  " VALUES(?,?,?,?,?,?,?,?,?,?)",
			                  "btiiiiiiii", s->set_uuid, (size_t)16, s->name,
			                  in->ti->pool_id, in->ti->ms_id, (int64_t)s->created,
			                  (int64_t)s->first_seq, (int64_t)s->last_seq,
			                  (int64_t)s->complete, (int64_t)s->nfiles, (int64_t)s->nbytes);
		if (r != 0)
			return r;
		/* a later tape knows more: widen, never narrow */
		return tv_db_exec(h->db,
		                  "UPDATE backup_sets SET name=CASE WHEN recovered=1 THEN ? ELSE name END,"
		                  " recovered=0, first_seq=MIN(COALESCE(first_seq,?),?),"
		                  " last_seq=MAX(COALESCE(last_seq,0),?),"
		                  " complete=MAX(complete,?),"
		                  " nfiles=CASE WHEN ?=1 THEN ? ELSE nfiles END,"
		                  " nbytes=CASE WHEN ?=1 THEN ? ELSE nbytes END WHERE id=?",
		                  "tiiiiiiiii", s->name, (int64_t)s->first_seq, (int64_t)s->first_seq,
		                  (int64_t)s->last_seq, (int64_t)s->complete, (int64_t)s->complete,
		                  (int64_t)s->nfiles, (int64_t)s->complete, (int64_t)s->nbytes, id);
	}
	case TV_CI_PART:
		return add_part(in, &it->u.part);
	case TV_CI_KEYRING: {
		uint8_t fpr[TV_FPR_LEN], have[TV_DEK_LEN];
		const struct tv_ci_keyring *k = &it->u.ring;
		if ((r = tv_dek_fingerprint(k->dek, fpr)) != 0)
			return r;
		if (memcmp(fpr, k->dek_fpr, TV_FPR_LEN) != 0) {
			tv_warn(h, "tape %s: key ring entry with a wrong fingerprint ignored",
			        in->ti->barcode);
			return 0;
		}
		if (tv_keys_load_dek(h, k->tape_uuid, have) == 0) {
			tv_keys_wipe(have, sizeof(have));
			return 0;
		}
		{
			char src[80];
			snprintf(src, sizeof(src), "key ring of tape %s", in->ti->barcode);
			if ((r = tv_keys_save_dek(h, k->tape_uuid, k->dek, src)) != 0)
				return r;
		}
		in->unlocked++;
		return 0;
	}
	case TV_CI_END:
		return 0;
	}
	return 0;
}

/* Reads an item stream from the current file of rd. */
static int read_items(struct ingest *in, struct tv_treader *rd, int *saw_end)
{
	struct tv_buf b;
	struct tv_cat_item_v *it;
	uint8_t *chunk;
	size_t got;
	int r = 0;

	*saw_end = 0;
	tv_buf_init_max(&b, 64u * 1024 * 1024);
	it = calloc(1, sizeof(*it));
	chunk = malloc(65536);
	if (it == NULL || chunk == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if ((r = tv_treader_read(rd, chunk, 65536, &got)) != 0)
			goto out;
		if (got == 0)
			break;
		/* compact consumed bytes, then append */
		if (b.off > 0) {
			memmove(b.d, b.d + b.off, b.len - b.off);
			b.len -= b.off;
			b.off = 0;
		}
		if ((r = tv_buf_put(&b, chunk, got)) != 0)
			goto out;
		while (!*saw_end) {
			size_t save = b.off;
			r = tv_cat_item_decode(&b, it);
			if (r == TV_ERR_EOF) {
				b.off = save;
				r = 0;
				break;
			}
			if (r != 0)
				goto out;
			if (it->type == TV_CI_END) {
				if (it->u.end_count != in->items) {
					r = tv_errf(TV_ERR_FORMAT, "tape %s: catalog holds %llu items, its end "
					            "marker says %llu", in->ti->barcode,
					            (unsigned long long)in->items,
					            (unsigned long long)it->u.end_count);
					goto out;
				}
				*saw_end = 1;
			} else if ((r = add_item(in, it)) != 0) {
				goto out;
			}
		}
	}
	if (!*saw_end)
		r = tv_errf(TV_ERR_FORMAT, "tape %s: catalog file ends without its end marker",
		            in->ti->barcode);
out:
	if (it) {
		tv_keys_wipe(it, sizeof(*it));
		free(it);
	}
	free(chunk);
	tv_buf_free(&b);
	return r;
}

/* Read one data file completely (check every record), recover its part. */
static int scan_data_file(struct ingest *in, struct tv_treader *rd,
                          const struct tv_content_header *ch, uint64_t file_no,
                          const uint8_t *dek)
{
	struct tv_file_header fh;
	struct tv_ci_part *p = NULL;
	struct tv_buf b;
	uint8_t *chunk = NULL;
	size_t got;
	uint64_t len = 0;
	uint32_t crc = 0;
	int r, have_entry = 0;

	tv_buf_init_max(&b, TV_ENTRY_MAX + 16);
	if ((r = tv_file_header_decode(ch->body, ch->body_len, &fh)) != 0)
		return r;
	if (fh.encrypted && dek == NULL)
		return TV_ERR_LOCKED;
	if ((r = tv_treader_set_dek(rd, fh.encrypted ? dek : NULL)) != 0)
		return r;
	p = calloc(1, sizeof(*p));
	chunk = malloc(262144);
	if (p == NULL || chunk == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	/* the part CRC covers the whole record stream: entry header + data */
	for (;;) {
		if ((r = tv_treader_read(rd, chunk, 262144, &got)) != 0)
			goto out;
		if (got == 0)
			break;
		crc = tv_crc32c(crc, chunk, got);
		if (!have_entry) {
			size_t room = (TV_ENTRY_MAX + 16) - tv_buf_avail(&b);
			size_t take = got < room ? got : room;
			if ((r = tv_buf_put(&b, chunk, take)) != 0)
				goto out;
			r = tv_entry_decode(&b, &p->e);
			if (r == TV_ERR_EOF && take == got)
				continue;
			if (r != 0)
				goto out;
			have_entry = 1;
			len += tv_buf_avail(&b) + (got - take);
			continue;
		}
		len += got;
	}
	if (!have_entry || tv_treader_truncated(rd)) {
		r = TV_ERR_EOF;     /* cut off: not a complete file */
		goto out;
	}
	memcpy(p->tape_uuid, in->ti->uuid, 16);
	p->file_no = file_no;
	memcpy(p->content_uuid, ch->uuid, 16);
	memcpy(p->set_uuid, fh.set_uuid, 16);
	p->file_index = fh.file_index;
	p->part_no = fh.part_no;
	p->last_part = !tv_treader_incomplete(rd);
	p->records = tv_treader_records(rd);
	p->length = len;
	p->crc = crc;
	p->e.offset = fh.offset;
	r = add_part(in, p);
	if (r == 0 && p->e.set_name[0] != '\0')
		/* the set's first file carries its name: a recovered set gets it back */
		r = tv_db_exec(in->h->db, "UPDATE backup_sets SET name=? WHERE uuid=? AND "
		               "recovered=1", "tb", p->e.set_name, p->set_uuid, (size_t)16);
out:
	free(p);
	free(chunk);
	tv_buf_free(&b);
	return r;
}

static int scan_tape(struct ingest *in, struct tv_tape *t, const uint8_t *dek,
                     uint64_t *recovered, uint64_t *lost)
{
	struct tv_treader *rd = NULL;
	struct tv_content_header ch;
	uint64_t file_no;
	int r, saw_end;

	*recovered = *lost = 0;
	if ((r = tv_tape_goto_file(t, 2)) != 0)
		return r;
	if ((r = tv_treader_open(&rd, t, in->ti->barcode, in->ti->uuid, TV_RECORD_SIZE_MAX)) != 0)
		return r;
	for (;;) {
		r = tv_treader_begin_file(rd, &ch, &file_no);
		if (r == TV_ERR_EOD) {
			r = 0;
			break;
		}
		if (r == TV_ERR_FILEMARK)
			continue;
		if (r != 0) {
			/* unreadable header: skip this file */
			(*lost)++;
			tv_warn(in->h, "%s", tv_errmsg(r));
			tv_errclear();
			if ((r = tv_treader_end_file(rd)) != 0)
				break;
			continue;
		}
		if (ch.type == TV_CT_FILE_DATA) {
			r = scan_data_file(in, rd, &ch, file_no, dek);
			if (r == 0)
				(*recovered)++;
			else {
				(*lost)++;
				if (r != TV_ERR_EOF)
					tv_warn(in->h, "tape %s file %llu: %s (not recovered)",
					        in->ti->barcode, (unsigned long long)file_no, tv_errmsg(r));
				tv_errclear();
			}
		} else if (ch.type == TV_CT_CATALOG) {
			struct tv_catalog_header cat;
			if (tv_catalog_header_decode(ch.body, ch.body_len, &cat) == 0 &&
			    tv_treader_set_dek(rd, cat.encrypted ? dek : NULL) == 0 &&
			    (!cat.encrypted || dek != NULL)) {
				if (read_items(in, rd, &saw_end) != 0)
					tv_errclear();
			}
		}
		if ((r = tv_treader_end_file(rd)) != 0) {
			if (r == TV_ERR_EOD) {
				r = 0;
				break;
			}
			break;
		}
	}
	tv_treader_close(rd);
	return r;
}

int tv_ingest_contents(struct tv_home *h, struct tv_tape *t, struct tv_tape_info *ti,
                       const uint8_t *dek, int *scanned, int *unlocked)
{
	struct ingest in;
	struct tv_tape_status st;
	struct tv_treader *rd = NULL;
	struct tv_content_header ch;
	struct tv_catalog_header cat;
	uint64_t file_no;
	int r, saw_end = 0;

	memset(&in, 0, sizeof(in));
	in.h = h;
	in.ti = ti;
	*scanned = 0;
	*unlocked = 0;
	/* the session catalog is the last file before end of data */
	if ((r = tv_tape_seek_eod(t)) != 0 || (r = tv_tape_status(t, &st)) != 0)
		goto scan;
	if (st.block_no != 0 || st.file_no < 3) {
		tv_warn(h, "tape %s: the last write session did not finish (no catalog at the end): "
		        "scanning the tape", ti->barcode);
		goto scan;
	}
	if ((r = tv_tape_goto_file(t, st.file_no - 1)) != 0)
		goto scan;
	if ((r = tv_treader_open(&rd, t, ti->barcode, ti->uuid, TV_RECORD_SIZE_MAX)) != 0)
		goto out;
	r = tv_treader_begin_file(rd, &ch, &file_no);
	if (r != 0 || ch.type != TV_CT_CATALOG) {
		tv_warn(h, "tape %s: no session catalog at the end of the tape: scanning the tape",
		        ti->barcode);
		goto scan;
	}
	if ((r = tv_catalog_header_decode(ch.body, ch.body_len, &cat)) != 0)
		goto scan;
	if (memcmp(cat.tape_uuid, ti->uuid, 16) != 0) {
		tv_warn(h, "tape %s: its catalog belongs to another tape: scanning the tape",
		        ti->barcode);
		goto scan;
	}
	if (cat.encrypted && dek == NULL) {
		r = tv_errf(TV_ERR_LOCKED, "tape %s is encrypted and not unlocked", ti->barcode);
		goto out;
	}
	if ((r = tv_treader_set_dek(rd, cat.encrypted ? dek : NULL)) != 0)
		goto out;
	if ((r = read_items(&in, rd, &saw_end)) != 0) {
		if (r == TV_ERR_AUTH) {
			/* wrong key for this tape: do not go on with it */
			goto out;
		}
		tv_warn(h, "tape %s: catalog unreadable (%s): scanning the tape", ti->barcode,
		        tv_errmsg(r));
		tv_errclear();
		goto scan;
	}
	tv_treader_close(rd);
	rd = NULL;
	*unlocked = in.unlocked;
	r = tv_db_exec(h->db, "UPDATE tapes SET contents_cataloged=1, locked=0, next_file=?,"
	               " cataloged=? WHERE id=?", "iii", (int64_t)(st.file_no - 1),
	               (int64_t)tv_now(), ti->tape_id);
	tv_verbose(h, "tape %s: %llu catalog items, %llu file parts", ti->barcode,
	           (unsigned long long)in.items, (unsigned long long)in.parts);
	goto out;
scan:
	tv_errclear();
	tv_treader_close(rd);
	rd = NULL;
	*scanned = 1;
	{
		uint64_t rec = 0, lost = 0;
		if ((r = scan_tape(&in, t, dek, &rec, &lost)) != 0)
			goto out;
		tv_info(h, "tape %s: scan recovered %llu complete file(s)%s", ti->barcode,
		        (unsigned long long)rec, lost ? "; some were incomplete or damaged" : "");
		if (lost)
			tv_info(h, "tape %s: %llu file(s) could not be recovered (cut off or damaged)",
			        ti->barcode, (unsigned long long)lost);
		*unlocked = in.unlocked;
		/* a tape without a valid catalog cannot be appended to safely */
		r = tv_db_exec(h->db, "UPDATE tapes SET contents_cataloged=1, locked=0, full=1,"
		               " cataloged=? WHERE id=?", "ii", (int64_t)tv_now(), ti->tape_id);
	}
out:
	tv_treader_close(rd);
	return r;
}
