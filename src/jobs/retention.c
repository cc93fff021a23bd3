/* tapevault: retention: pools' retention, expire, retired tapes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "jobs/audit.h"
#include "jobs/jobs.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "jobs/retention.h"
#include "util/err.h"

static const struct { char unit; int64_t secs; } units[] = {
	{'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
};

int tv_duration_parse(const char *s, int64_t *secs)
{
	char *end;
	long long v;

	*secs = 0;
	if (strcmp(s, "keep") == 0 || strcmp(s, "none") == 0 || strcmp(s, "0") == 0)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno != 0 || v <= 0 || *s == '-' || *s == '+')
		return tv_errf(TV_ERR_INVAL, "'%s' is not a duration (e.g. 30d, 12h, 90m, 10s, 2w; "
		               "keep: for ever)", s);
	if (*end == '\0') {
		*secs = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (end[0] == units[i].unit && end[1] == '\0') {
			if (v > INT64_MAX / units[i].secs)
				return tv_errf(TV_ERR_RANGE, "duration '%s' is too long", s);
			*secs = v * units[i].secs;
			return 0;
		}
	return tv_errf(TV_ERR_INVAL, "'%s' is not a duration (e.g. 30d, 12h, 90m, 10s, 2w; keep: "
	               "for ever)", s);
}

void tv_duration_str(int64_t secs, char *out, size_t outsz)
{
	if (secs <= 0) {
		snprintf(out, outsz, "keep");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (secs % units[i].secs == 0) {
			snprintf(out, outsz, "%lld%c", (long long)(secs / units[i].secs), units[i].unit);
			return;
		}
}

int tv_pool_set_retention(struct tv_home *h, const char *pool, int64_t secs)
{
	int r;

	if (secs > 0)
		r = tv_db_exec(h->db, "UPDATE pools SET retention=? WHERE name=?", "it", secs, pool);
	else
		r = tv_db_exec(h->db, "UPDATE pools SET retention=NULL WHERE name=?", "t", pool);
	if (r != 0)
		return r;
	if (tv_db_changes(h->db) == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no media pool named '%s'", pool);
	return 0;
}

/* ---- expire ---- */

static const char due_sql[] =
	"SELECT m.id, m.uuid, p.name, MAX(b.created), MAX(b.created) + p.retention,"
	" COUNT(b.id), (SELECT group_concat(barcode, ',') FROM (SELECT t.barcode FROM tapes t"
	"   WHERE t.media_set_id=m.id ORDER BY t.seq) AS ms_tapes)"
	" FROM media_sets m JOIN pools p ON p.id=m.pool_id"
	" JOIN backup_sets b ON b.media_set_id=m.id"
	" WHERE p.retention IS NOT NULL GROUP BY m.id, m.uuid, p.name, p.retention"
	" HAVING MAX(b.created) + p.retention <= ? ORDER BY m.id";
enum { DU_ID, DU_UUID, DU_POOL, DU_NEWEST, DU_EXPIRED, DU_SETS, DU_TAPES };

/* One media set's sets leave the catalog; its tapes become free tapes of
 * the pool (a retired one stays retired), to be labeled anew. */
static int free_media_set(struct tv_home *h, int64_t ms_id, const struct tv_expiry *e)
{
	char detail[200];
	int r;

	if ((r = tv_db_begin(h->db)) != 0)
		return r;
	if ((r = tv_db_exec(h->db, "DELETE FROM backup_sets WHERE media_set_id=?", "i",
	                    ms_id)) != 0 ||
	    (r = tv_db_exec(h->db, "UPDATE tapes SET state=CASE WHEN state='retired' THEN"
	                    " 'retired' ELSE 'free' END, uuid=NULL, media_set_id=NULL, seq=NULL,"
	                    " encrypted=0, locked=0, dek_fpr=NULL, enc_spec=NULL, ms_label=NULL,"
	                    " next_file=NULL, sessions=0, full=0, contents_cataloged=0, used=0,"
	                    " written=NULL WHERE media_set_id=?", "i", ms_id)) != 0 ||
	    /* closed=2: expired here, so that a catalog run does not bring
	     * its sets back from the tapes until they are written anew */
	    (r = tv_db_exec(h->db, "UPDATE media_sets SET closed=2 WHERE id=?", "i", ms_id)) != 0) {
		tv_db_rollback(h->db);
		return r;
	}
	if ((r = tv_db_commit(h->db)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "pool %s: media set expired, %lld backup set(s) left "
	         "the catalog, its tapes are free", e->pool, (long long)e->sets);
	tv_audit(h, "expire", "-", e->tapes, detail);
	return 0;
}

int tv_expire(struct tv_home *h, int dry_run, int64_t now, tv_expiry_fn *fn, void *ctx,
              int *n)
{
	struct tv_stmt *q;
	struct tv_expiry e;
	int64_t *ids = NULL;
	size_t nids = 0;
	int r, listed = 0;

	*n = 0;
	tv_errclear();
	snprintf(h->job, sizeof(h->job), "expire");
	if ((r = tv_db_query(h->db, &q, due_sql, "i", now)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		size_t len;
		int64_t *p;
		e.media_set_uuid = tv_stmt_blob(q, DU_UUID, &len);
		e.pool = tv_stmt_text(q, DU_POOL);
		e.newest = tv_stmt_int(q, DU_NEWEST);
		e.expired = tv_stmt_int(q, DU_EXPIRED);
		e.sets = tv_stmt_int(q, DU_SETS);
		e.tapes = tv_stmt_text(q, DU_TAPES);
		if (len != 16)
			e.media_set_uuid = NULL;
		if ((r = fn(ctx, &e)) != 0)
			break;
		listed++;
		if (dry_run)
			continue;
		if ((p = realloc(ids, (nids + 1) * sizeof(*ids))) == NULL) {
			r = TV_ERR_NOMEM;
			break;
		}
		ids = p;
		ids[nids++] = tv_stmt_int(q, DU_ID);
	}
	tv_stmt_free(q);
	/* freed after the query is done with them: one transaction each */
	for (size_t i = 0; r == 0 && i < nids; i++) {
		if ((r = tv_db_query(h->db, &q, "SELECT p.name, COUNT(b.id), (SELECT group_concat("
		                     "barcode, ',') FROM (SELECT barcode FROM tapes WHERE "
		                     "media_set_id=?1 ORDER BY seq) AS ms_tapes) FROM media_sets m JOIN pools p"
		                     " ON p.id=m.pool_id LEFT JOIN backup_sets b ON"
		                     " b.media_set_id=m.id WHERE m.id=?1 GROUP BY p.name", "i", ids[i])) != 0)
			break;
		if ((r = tv_stmt_step(q)) == 1) {
			e.pool = tv_stmt_text(q, 0);
			e.sets = tv_stmt_int(q, 1);
			e.tapes = tv_stmt_text(q, 2);
			r = free_media_set(h, ids[i], &e);
		}
		tv_stmt_free(q);
	}
	free(ids);
	if (r == 0)
		*n = listed;
	return r;
}

int tv_tape_retire(struct tv_home *h, const char *barcode)
{
	int r;

	/* full: a write does not append to it either */
	if ((r = tv_db_exec(h->db, "UPDATE tapes SET state='retired', full=1 WHERE barcode=?",
	                    "t", barcode)) != 0)
		return r;
	if (tv_db_changes(h->db) == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no tape %s in the catalog", barcode);
	tv_audit(h, "tape retire", "-", barcode, "never written again");
	return 0;
}

/* ---- tape erase ---- */

/* The tape's row and the sets it holds data of. */
static int erase_plan(struct tv_home *h, const char *barcode, int64_t now,
                      struct tv_erase_result *res)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q,
	                     "SELECT t.id, t.state, COALESCE(p.name,''), COALESCE(t.media_set_id,0),"
	                     " COALESCE(t.seq,0), t.locked, COALESCE(m.closed,1), t.uuid,"
	                     " p.retention, (SELECT MAX(b.created) FROM backup_sets b"
	                     "   WHERE b.media_set_id=t.media_set_id)"
	                     " FROM tapes t LEFT JOIN pools p ON p.id=t.pool_id"
	                     " LEFT JOIN media_sets m ON m.id=t.media_set_id WHERE t.barcode=?",
	                     "t", barcode)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		size_t ul;
		const void *u = tv_stmt_blob(q, 7, &ul);
		res->tape_id = tv_stmt_int(q, 0);
		snprintf(res->state, sizeof(res->state), "%s", tv_stmt_text(q, 1));
		snprintf(res->pool, sizeof(res->pool), "%s", tv_stmt_text(q, 2));
		res->ms_id = tv_stmt_int(q, 3);
		res->seq = tv_stmt_int(q, 4);
		res->locked = tv_stmt_int(q, 5) != 0;
		res->ms_open = tv_stmt_int(q, 6) == 0;
		if (u != NULL && ul == 16) {
			memcpy(res->tape_uuid, u, 16);
			res->has_uuid = 1;
		}
		/* expired: the pool has a retention and the media set's newest
		 * set is past it (or it holds none) */
		res->expired = !tv_stmt_isnull(q, 8) &&
		               (tv_stmt_isnull(q, 9) ||
		                tv_stmt_int(q, 9) + tv_stmt_int(q, 8) <= now);
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (r == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no tape %s in the catalog (see 'tapevault tape "
		               "list')", barcode);
	if (res->ms_id == 0)
		return 0;
	if ((r = tv_db_query(h->db, &q,
	                     "SELECT id, uuid, name, first_seq=?2 AND last_seq=?2 FROM backup_sets"
	                     " WHERE media_set_id=?1 AND ?2 BETWEEN first_seq AND last_seq"
	                     " ORDER BY created, id", "ii", res->ms_id, res->seq)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		struct tv_erase_set *s, *p;
		size_t ul;
		const void *u = tv_stmt_blob(q, 1, &ul);
		if ((p = realloc(res->sets, (res->nsets + 1) * sizeof(*p))) == NULL) {
			r = TV_ERR_NOMEM;
			break;
		}
		res->sets = p;
		s = &res->sets[res->nsets++];
		memset(s, 0, sizeof(*s));
		s->id = tv_stmt_int(q, 0);
		if (u != NULL && ul == 16)
			tv_uuid_to_str(u, s->uuid);
		snprintf(s->name, sizeof(s->name), "%s", tv_stmt_text(q, 2));
		s->only_here = tv_stmt_int(q, 3) != 0;
	}
	tv_stmt_free(q);
	return r;
}

void tv_erase_result_free(struct tv_erase_result *res)
{
	free(res->sets);
	res->sets = NULL;
	res->nsets = 0;
}

/* The catalog forgets what was on the tape, in one transaction. */
static int erase_catalog(struct tv_home *h, const struct tv_erase_result *res)
{
	int r;

	if ((r = tv_db_begin(h->db)) != 0)
		return r;
	for (size_t i = 0; i < res->nsets; i++)
		if (res->sets[i].only_here &&
		    (r = tv_db_exec(h->db, "DELETE FROM backup_sets WHERE id=?", "i",
		                    res->sets[i].id)) != 0)
			goto fail;
	/* the tape is blank: a retired one stays retired (never written) */
	if ((r = tv_db_exec(h->db, "UPDATE tapes SET state=CASE WHEN state='retired' THEN"
	                    " 'retired' ELSE 'free' END, uuid=NULL, pool_id=NULL,"
	                    " media_set_id=NULL, seq=NULL, encrypted=0, locked=0, dek_fpr=NULL,"
	                    " enc_spec=NULL, ms_label=NULL, next_file=NULL, sessions=0, full=0,"
	                    " contents_cataloged=0, used=0, written=NULL, format=NULL,"
	                    " record_size=NULL WHERE id=?", "i", res->tape_id)) != 0)
		goto fail;
	/* its key protected nothing any more */
	if (res->has_uuid &&
	    (r = tv_db_exec(h->db, "DELETE FROM tape_keys WHERE tape_uuid=?", "b",
	                    res->tape_uuid, (size_t)16)) != 0)
		goto fail;
	/* a media set that lost a tape takes no more data: the next write of
	 * the pool starts a new one (a later tape would take the erased one's
	 * sequence number) */
	if (res->ms_id != 0 &&
	    (r = tv_db_exec(h->db, "UPDATE media_sets SET closed=1 WHERE id=?", "i",
	                    res->ms_id)) != 0)
		goto fail;
	return tv_db_commit(h->db);
fail:
	tv_db_rollback(h->db);
	return r;
}

int tv_job_tape_erase(struct tv_home *h, const char *barcode, const struct tv_erase_opts *o,
                  struct tv_erase_result *res)
{
	struct tv_vlib *lib = NULL;
	struct tv_tape *t = NULL;
	char question[1024], detail[300];
	int64_t lib_id;
	struct tv_lib_use use = { 0 };
	size_t only = 0;
	int r;

	memset(res, 0, sizeof(*res));
	tv_errclear();
	snprintf(h->job, sizeof(h->job), "tape erase");
	if ((r = erase_plan(h, barcode, o->now, res)) != 0)
		return r;
	for (size_t i = 0; i < res->nsets; i++)
		only += res->sets[i].only_here;
	res->unexpired = res->ms_id != 0 && !res->expired && (res->nsets > 0 || res->locked);
	if (res->unexpired && !o->force)
		return tv_errf(TV_ERR_STATE, "tape %s holds data that has not expired (pool %s: "
		               "%zu backup set(s)%s): it was not erased; let it expire "
		               "('tapevault expire'), or add --force to erase it all the same",
		               barcode, res->pool, res->nsets,
		               res->locked ? ", and contents not cataloged: the tape is locked" : "");
	snprintf(question, sizeof(question), "Erase tape %s%s%s? %zu backup set(s) on it only "
	         "leave the catalog, %zu spanning other tapes become incomplete%s.", barcode,
	         res->pool[0] ? " of pool " : "", res->pool, only, res->nsets - only,
	         res->unexpired ? " (NOT expired: --force)" : "");
	if (o->confirm != NULL && !o->confirm(o->confirm_ctx, question))
		return tv_errf(TV_ERR_CANCELED, "tape %s: not erased (not confirmed)", barcode);
	if ((r = tv_lib_open_for_tape(h, barcode, &lib, &lib_id)) != 0)
		return r;
	if ((r = tv_lib_load_job(h, lib, lib_id, barcode, TV_TAPE_RDWR, &t, &use)) != 0)
		goto out;
	if ((r = tv_tape_rewind(t)) != 0 || (r = tv_tape_erase(t)) != 0)
		goto out;
	r = tv_tape_close(t);
	t = NULL;
out:
	if (t != NULL)
		tv_tape_close(t);
	r = tv_lib_unload_job(lib, &use, r);
	tv_vlib_close(lib);
	if (r != 0)
		return tv_errctx(r, "tape %s: not erased", barcode);
	/* the tape is blank now, whatever the catalog does */
	if ((r = erase_catalog(h, res)) != 0)
		return tv_errctx(r, "tape %s was erased but the catalog still lists its data: "
		                 "run 'tapevault catalog' on its library", barcode);
	snprintf(detail, sizeof(detail), "%s%s: erased%s; %zu backup set(s) left the catalog, "
	         "%zu became incomplete", res->pool[0] ? "pool " : "no pool", res->pool,
	         res->unexpired ? " with --force (data not expired)" : "", only,
	         res->nsets - only);
	tv_audit(h, "tape erase", "-", barcode, detail);
	return 0;
}
