/* tapevault: inventory and catalog jobs.
 *
 * For every tape asked for (or every cartridge of the library): read the
 * labels, record the tape, unlock it with what this installation has, read
 * its session catalog (or scan it), and follow key rings: a tape unlocked
 * by another tape's key ring later in the same run is read as well. */
#include <stdlib.h>
#include <string.h>

#include "jobs/ingest.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/writer.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/stop.h"
#include "util/wipe.h"

struct cat_run {
	struct tv_home *h;
	struct tv_vlib *lib;
	int64_t lib_id;
	const struct tv_catalog_opts *o;
	int locked, failed, cataloged, blank, foreign, expired;
	uint64_t refused;
	int prepass;                 /* newest_first's labels pass: decide nothing */
	int untrusted;               /* tapes of unknown writers, not cataloged */
	char untrusted_fpr[4][TV_PKFPR_STR_LEN];   /* their writers, for the summary */
	int nuntrusted_fpr;
};

static void note_untrusted(struct cat_run *cr, const struct tv_writer *w)
{
	cr->untrusted++;
	for (int i = 0; i < cr->nuntrusted_fpr; i++)
		if (strcmp(cr->untrusted_fpr[i], w->fpr_str) == 0)
			return;
	if (cr->nuntrusted_fpr < 4)
		snprintf(cr->untrusted_fpr[cr->nuntrusted_fpr++], TV_PKFPR_STR_LEN, "%s",
		         w->fpr_str);
}

/* Who wrote the tape (jobs/writer.h): 0 to go on, 1 when its contents stay
 * out of the catalog (an unknown writer the operator did not accept: its
 * labels are recorded and shown, so that decrypt or escrow apply with
 * --trust-writer can go on from there), or an error (a forged signature:
 * refused, nothing recorded). */
static int writer_ok(struct cat_run *cr, const char *barcode, struct tv_tape_info *ti)
{
	struct tv_home *h = cr->h;
	struct tv_writer w;
	char what[64], need[600];
	int r;

	if ((r = tv_writer_check_labels(h, barcode, &ti->lab, &w)) != 0)
		return r;
	if (w.kind == TV_WRITER_OWN || w.kind == TV_WRITER_TRUSTED)
		return 0;
	if (cr->o->labels_only) {
		if (!cr->prepass)
			tv_info(h, "%s: written by %s%s, not known here: its contents are cataloged "
			        "only once it is trusted", barcode, w.signed_ ? "installation " : "",
			        w.signed_ ? w.fpr_str : "an unknown installation (no writer signature)");
		return 0;
	}
	snprintf(what, sizeof(what), "tape %s", barcode);
	r = tv_writer_accept(h, what, &w);
	if (r != TV_ERR_PERM)
		return r;
	/* shown, not cataloged */
	tv_keys_describe(&ti->lab.ms.enc, need, sizeof(need));
	tv_info(h, "%s: untrusted writer %s: pool %s, media set sequence %llu, %s%s; contents "
	        "not cataloged", barcode, w.fpr_str, ti->lab.ms.pool_name,
	        (unsigned long long)ti->lab.ms.seq,
	        ti->lab.ms.enc.alg != TV_ENC_NONE ? "encrypted, key: " : "not encrypted",
	        ti->lab.ms.enc.alg != TV_ENC_NONE ? need : "");
	tv_verbose(h, "%s", tv_errmsg(r));
	tv_errclear();
	note_untrusted(cr, &w);
	return 1;
}

/* 1 when the tape holds a media set that expired here (retention.c sets
 * closed=2) and has not been written anew since (its row lost its UUID
 * then; a relabeled tape carries another media set). */
static int expired_here(struct cat_run *cr, const char *barcode, const struct tv_tape_info *ti)
{
	int64_t n = 0;

	if (cr->o->include_expired)
		return 0;
	if (tv_db_get_int(cr->h->db, &n,
	                  "SELECT COUNT(*) FROM media_sets m, tapes t WHERE m.uuid=? AND "
	                  "m.closed=2 AND t.barcode=? AND t.uuid IS NULL", "bt",
	                  ti->lab.ms.media_set_uuid, (size_t)16, barcode) != 0)
		return 0;   /* not known to have expired: cataloged */
	return n > 0;
}

/* One tape: labels, unlock, contents.  *locked_out set when it stays
 * locked. */
static int catalog_one(struct cat_run *cr, const char *barcode, int *locked_out)
{
	struct tv_home *h = cr->h;
	struct tv_tape *t = NULL;
	struct tv_tape_info *ti;
	uint8_t dek[TV_DEK_LEN];
	char how[512] = "";
	struct tv_lib_use use = { 0 };
	int r, scanned = 0, unlocked = 0, have_dek = 0, untrusted;

	*locked_out = 0;
	if ((ti = calloc(1, sizeof(*ti))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_lib_load_job(h, cr->lib, cr->lib_id, barcode, TV_TAPE_RDONLY, &t, &use)) != 0)
		goto out;
	r = tv_labels_read(t, barcode, &ti->lab, 1);
	if (r == 0 && !ti->lab.has_ms)
		r = tv_errf(TV_ERR_FORMAT, "tape %s is labeled but in no media set", barcode);
	if (r == TV_ERR_EOD) {
		cr->blank++;
		tv_info(h, "%s: blank tape (free)", barcode);
		r = tv_db_exec(h->db, "INSERT INTO tapes(barcode, library_id, state) VALUES(?,?,'free')"
		               " ON CONFLICT(barcode) DO UPDATE SET library_id=excluded.library_id,"
		               " state=CASE WHEN tapes.uuid IS NULL THEN 'free' ELSE tapes.state END",
		               "ti", barcode, cr->lib_id);
		goto out;
	}
	if (r != 0) {
		cr->foreign++;
		tv_warn(h, "%s: not a tapevault tape or unreadable labels: %s", barcode, tv_errmsg(r));
		r = tv_db_exec(h->db, "INSERT INTO tapes(barcode, library_id, state) "
		               "VALUES(?,?,'unrecognized') ON CONFLICT(barcode) DO UPDATE SET "
		               "library_id=excluded.library_id, state='unrecognized'",
		               "ti", barcode, cr->lib_id);
		goto out;
	}
	if (strcmp(ti->lab.vol.barcode, barcode) != 0)
		tv_warn(h, "%s: the tape's label says barcode %s (cartridge relabeled?)", barcode,
		        ti->lab.vol.barcode);
	if (expired_here(cr, barcode, ti)) {
		if (!cr->prepass) {
			cr->expired++;
			tv_info(h, "%s: its media set (pool %s) expired here: a free tape, its old "
			        "sets are not cataloged again ('catalog --include-expired' brings "
			        "them back)", barcode, ti->lab.ms.pool_name);
		}
		r = 0;
		goto out;
	}
	if ((r = writer_ok(cr, barcode, ti)) < 0)
		goto out;
	untrusted = r == 1;
	if ((r = tv_db_begin(h->db)) != 0)
		goto out;
	if ((r = tv_ingest_labels(h, cr->lib_id, barcode, ti)) != 0)
		goto rollback;
	if (untrusted) {
		/* its labels only: nothing it says of its contents is taken */
		r = tv_db_exec(h->db, "UPDATE tapes SET contents_cataloged=0 WHERE id=?", "i",
		               ti->tape_id);
		goto commit;
	}
	if (cr->o->labels_only) {
		tv_info(h, "%s: pool %s, media set sequence %llu%s", barcode, ti->lab.ms.pool_name,
		        (unsigned long long)ti->seq, ti->encrypted ? ", encrypted" : "");
		goto commit;
	}
	if (ti->encrypted) {
		r = tv_keys_unlock(h, ti->uuid, &ti->lab.ms.enc, dek, how, sizeof(how));
		if (r == TV_ERR_LOCKED || r == TV_ERR_BADKEY || r == TV_ERR_NET ||
		    r == TV_ERR_TLS || r == TV_ERR_KMIP) {
			char need[600];
			tv_keys_describe(&ti->lab.ms.enc, need, sizeof(need));
			tv_info(h, "%s: encrypted, locked (pool %s, sequence %llu): needs %s%s%s",
			        barcode, ti->lab.ms.pool_name, (unsigned long long)ti->seq, need,
			        how[0] ? "; " : "", how);
			r = tv_db_exec(h->db, "UPDATE tapes SET locked=1, contents_cataloged=0 "
			               "WHERE id=?", "i", ti->tape_id);
			*locked_out = 1;
			cr->locked++;
			goto commit;
		}
		if (r != 0)
			goto rollback;
		have_dek = 1;
		tv_verbose(h, "%s: unlocked by %s", barcode, how);
	}
	r = tv_ingest_contents(h, t, ti, have_dek ? dek : NULL, &scanned, &unlocked);
	if (r == TV_ERR_AUTH) {
		tv_errctx(r, "%s: the key that unlocked the tape does not decrypt its catalog "
		          "(label tampered with?)", barcode);
		goto rollback;
	}
	if (r != 0)
		goto rollback;
	if (ti->refused > 0) {
		cr->refused += ti->refused;
		tv_warn(h, "%s: %llu tape file(s) or item(s) refused (see above): nothing was "
		        "taken from them", barcode, (unsigned long long)ti->refused);
	}
	cr->cataloged++;
	tv_info(h, "%s: cataloged (pool %s, sequence %llu%s%s%s)", barcode, ti->lab.ms.pool_name,
	        (unsigned long long)ti->seq, have_dek ? ", unlocked by " : "", have_dek ? how : "",
	        scanned ? ", recovered by scanning" : "");
	if (unlocked)
		tv_info(h, "%s: its key ring holds the keys of %d other tape(s)", barcode, unlocked);
commit:
	r = tv_db_commit(h->db);
	goto out;
rollback:
	tv_db_rollback(h->db);
out:
	tv_wipe(dek, sizeof(dek));
	tv_tape_close(t);
	r = tv_lib_unload_job(cr->lib, &use, r);
	tv_labels_free(&ti->lab);
	free(ti);
	return r;
}

static int report_missing(struct tv_home *h)
{
	enum { B_NAME, B_MS, B_FIRST, B_LAST, B_COMPLETE, B_STATE, B_CUT };
	enum { T_SEQ, T_BARCODE, T_LIB };
	struct tv_stmt *q, *st2;
	int r, r2;

	/* backup sets whose tapes are not all here and readable */
	if ((r = tv_db_query(h->db, &q,
	                     "SELECT b.name, b.media_set_id, b.first_seq, b.last_seq, b.complete,"
	                     " b.state, b.state IN ('interrupted','failed') OR b.recovered=1 OR"
	                     " EXISTS(SELECT 1 FROM data_files d WHERE d.set_id=b.id AND"
	                     " d.complete=0) FROM backup_sets b ORDER BY b.id", "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		char msg[2048] = "";
		size_t used = 0;
		int missing = 0;

		if ((r = tv_db_query(h->db, &st2,
		                     "SELECT s.seq, t.barcode, t.library_id FROM "
		                     "(WITH RECURSIVE q(seq) AS (SELECT ? UNION ALL SELECT seq+1 "
		                     "  FROM q WHERE seq < ?) SELECT seq FROM q) s "
		                     "LEFT JOIN tapes t ON t.media_set_id=? AND t.seq=s.seq "
		                     "ORDER BY s.seq", "iii", tv_stmt_int(q, B_FIRST),
		                     tv_stmt_int(q, B_LAST), tv_stmt_int(q, B_MS))) != 0)
			break;
		while ((r2 = tv_stmt_step(st2)) == 1) {
			int n;
			if (!tv_stmt_isnull(st2, T_BARCODE) && !tv_stmt_isnull(st2, T_LIB))
				continue;
			n = snprintf(msg + used, sizeof(msg) - used, "%s%s (sequence %lld)",
			             missing ? ", " : "",
			             tv_stmt_isnull(st2, T_BARCODE) ? "unknown barcode"
			                                            : tv_stmt_text(st2, T_BARCODE),
			             (long long)tv_stmt_int(st2, T_SEQ));
			if (n > 0 && (size_t)n < sizeof(msg) - used)
				used += (size_t)n;
			missing++;
		}
		tv_stmt_free(st2);
		if ((r = r2) < 0)
			break;
		if (missing)
			tv_info(h, "backup set %s: missing tape(s): %s", tv_stmt_text(q, B_NAME), msg);
		if (!tv_stmt_int(q, B_COMPLETE) && tv_stmt_int(q, B_CUT))
			tv_info(h, "backup set %s: its write job did not end (%s): it holds what "
			        "the job wrote whole before", tv_stmt_text(q, B_NAME),
			        tv_stmt_isnull(q, B_STATE) ? "killed, or a crash"
			                                   : tv_stmt_text(q, B_STATE));
		else if (!tv_stmt_int(q, B_COMPLETE))
			tv_info(h, "backup set %s: the tape where it ends (after sequence %lld) was not "
			        "cataloged: files written after it are unknown", tv_stmt_text(q, B_NAME),
			        (long long)tv_stmt_int(q, B_LAST));
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* Read all labels first, then catalog the newest tape of each pool first:
 * its key ring then unlocks the older tapes without asking the KMS or a
 * password again (one KMIP round trip per pool instead of one per tape). */
static int newest_first(struct cat_run *cr, char **list, size_t n)
{
	struct tv_catalog_opts lo = *cr->o;
	const struct tv_catalog_opts *saved = cr->o;
	struct tv_stmt *q;
	size_t k = 0;
	int locked, quiet = cr->h->quiet, r;

	lo.labels_only = 1;
	cr->o = &lo;
	cr->h->quiet = 1;
	cr->prepass = 1;
	for (size_t i = 0; i < n; i++)
		(void)catalog_one(cr, list[i], &locked);   /* quiet: labels only */
	tv_errclear();
	cr->prepass = 0;
	cr->h->quiet = quiet;
	cr->o = saved;
	cr->blank = cr->foreign = 0;
	/* reorder list in place: known tapes newest first, the rest after */
	if ((r = tv_db_query(cr->h->db, &q,
	                     "SELECT t.barcode FROM tapes t LEFT JOIN media_sets m ON "
	                     "m.id=t.media_set_id ORDER BY t.pool_id IS NULL, t.pool_id, "
	                     "m.created DESC, m.id DESC, t.seq DESC", "")) != 0)
		return r;
	while (k < n && (r = tv_stmt_step(q)) == 1) {
		const char *b = tv_stmt_text(q, 0);
		for (size_t i = k; i < n; i++)
			if (strcmp(list[i], b) == 0) {
				char *tmp = list[k];
				list[k] = list[i];
				list[i] = tmp;
				k++;
				break;
			}
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* Tapes read locked before the tape whose key ring unlocks them: read
 * again, until a round unlocks nothing more. */
static int retry_unlocked(struct cat_run *cr, char **list, int *locked, size_t n)
{
	int progress, r;

	do {
		progress = 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t uuid[16], dek[TV_DEK_LEN];
			struct tv_stmt *q;
			int got = 0;
			if (!locked[i])
				continue;
			if ((r = tv_db_query(cr->h->db, &q, "SELECT uuid FROM tapes WHERE barcode=?",
			                     "t", list[i])) != 0)
				return r;
			if ((r = tv_stmt_step(q)) == 1) {
				size_t ln;
				const void *u = tv_stmt_blob(q, 0, &ln);
				if (u && ln == 16) {
					memcpy(uuid, u, 16);
					got = 1;
				}
			}
			tv_stmt_free(q);
			if (r < 0)
				return r;
			if (!got || tv_keys_load_dek(cr->h, uuid, dek) != 0)
				continue;
			tv_wipe(dek, sizeof(dek));
			cr->locked--;
			if ((r = catalog_one(cr, list[i], &locked[i])) != 0) {
				cr->failed++;
				tv_warn(cr->h, "%s: %s", list[i], tv_errmsg(r));
				locked[i] = 0;
				continue;
			}
			if (!locked[i])
				progress = 1;
		}
	} while (progress);
	return 0;
}

int tv_job_catalog(struct tv_home *h, const char *library, char *const *barcodes,
                   size_t nbarcodes, const struct tv_catalog_opts *o)
{
	struct cat_run cr;
	struct tv_progress prog;
	char **list = NULL;
	size_t n = 0;
	int *locked = NULL;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	memset(&prog, 0, sizeof(prog));
	memset(&cr, 0, sizeof(cr));
	cr.h = h;
	cr.o = o;
	snprintf(h->job, sizeof(h->job), "%s", o->labels_only ? "inventory" : "catalog");
	if ((r = tv_lib_open_by_name(h, library, &cr.lib, &cr.lib_id)) != 0)
		return r;
	if (nbarcodes > 0) {
		struct tv_vlib_elem el;
		for (size_t i = 0; i < nbarcodes; i++)
			if (tv_vlib_find(cr.lib, barcodes[i], &el) != 0) {
				r = tv_errf(TV_ERR_NOTFOUND, "tape %s is not in library %s", barcodes[i],
				            library);
				goto out;
			}
		list = calloc(nbarcodes, sizeof(*list));
		if (list == NULL) {
			r = TV_ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < nbarcodes; i++)
			if ((list[n++] = strdup(barcodes[i])) == NULL) {
				r = TV_ERR_NOMEM;
				goto out;
			}
	} else {
		char **all = NULL;
		size_t na = 0;
		if ((r = tv_vlib_barcodes(cr.lib, &all, &na)) != 0)
			goto out;
		tv_lib_warn_unreadable(h, cr.lib);
		list = calloc(na ? na : 1, sizeof(*list));
		for (size_t i = 0; list != NULL && i < na; i++)
			if ((list[n] = strdup(all[i])) != NULL)
				n++;
		free(all);
		if (list == NULL || n != na) {
			r = TV_ERR_NOMEM;
			goto out;
		}
	}
	if ((locked = calloc(n ? n : 1, sizeof(*locked))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if (!o->labels_only && n > 1 && (r = newest_first(&cr, list, n)) != 0)
		goto out;
	tv_lib_progress_start(h, &prog, o->labels_only ? "inventory" : "cataloging", n);
	for (size_t i = 0; i < n; i++) {
		if (tv_stop_requested()) {   /* between two tapes: each is in whole or not */
			r = tv_errf(TV_ERR_INTERRUPTED, "stopped by %s: %zu of %zu tape(s) read, the "
			            "others not (%d cataloged)", tv_stop_name(), i, n, cr.cataloged);
			goto out;
		}
		tv_lib_progress_tape(h, &prog, list, i);
		if ((r = catalog_one(&cr, list[i], &locked[i])) != 0) {
			cr.failed++;
			tv_warn(h, "%s: %s", list[i], tv_errmsg(r));
		}
	}
	tv_lib_progress_tape(h, &prog, list, n);
	tv_progress_end(&prog);
	/* key rings read in this run may have unlocked tapes that were read
	 * (locked) before the tape carrying the ring */
	if (!o->labels_only && (r = retry_unlocked(&cr, list, locked, n)) != 0)
		goto out;
	if (!o->labels_only && (r = report_missing(h)) != 0) {
		tv_warn(h, "the report of missing tapes is incomplete: %s", tv_errmsg(r));
		cr.failed++;
	}
	{
		char unt[48] = "";
		if (cr.untrusted > 0)
			snprintf(unt, sizeof(unt), ", %d of an untrusted writer", cr.untrusted);
		char exp[48] = "";
		if (cr.expired > 0)
			snprintf(exp, sizeof(exp), ", %d expired (free)", cr.expired);
		tv_info(h, "%s: %zu tape(s): %d cataloged, %d locked, %d blank, %d unrecognized, "
		        "%d failed%s%s", o->labels_only ? "inventory" : "catalog", n, cr.cataloged,
		        cr.locked, cr.blank, cr.foreign, cr.failed, unt, exp);
	}
	if (cr.cataloged > 0)
		tv_home_refresh_stats(h);
	r = 0;
	if (cr.untrusted > 0) {
		char cmd[400] = "";
		size_t used = 0;
		for (int i = 0; i < cr.nuntrusted_fpr; i++) {
			int k = snprintf(cmd + used, sizeof(cmd) - used, " --trust-writer %s",
			                 cr.untrusted_fpr[i]);
			if (k < 0 || (size_t)k >= sizeof(cmd) - used)
				break;
			used += (size_t)k;
		}
		tv_info(h, "%d tape(s) were written by an installation this one does not know "
		        "(untrusted writer): their labels are shown above, their contents were not "
		        "cataloged. Tapes are signed by the installation that wrote them; after a "
		        "disaster that is the installation you are recovering. Once you have "
		        "checked the fingerprint, run: tapevault catalog %s%s", cr.untrusted,
		        library, cmd);
	}
	if (cr.failed > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%d tape(s) could not be read", cr.failed);
	else if (cr.untrusted > 0)
		r = tv_errf(TV_ERR_PERM, "%d tape(s) of an untrusted writer not cataloged",
		            cr.untrusted);
	else if (cr.refused > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%llu tape file(s) or item(s) were refused or could "
		            "not be recovered (see above)", (unsigned long long)cr.refused);
	else if (cr.locked > 0)
		/* Locked is a state, not a failure: the tapes are cataloged as
		 * imported + encrypted, as the user expects on a fresh install. */
		tv_info(h, "%d tape(s) stay locked: unlock them with 'tapevault decrypt BARCODE "
		        "--password-file F' or 'tapevault decrypt BARCODE --kms SERVER'", cr.locked);
out:
	tv_progress_end(&prog);
	for (size_t i = 0; i < n; i++)
		free(list ? list[i] : NULL);
	free(list);
	free(locked);
	tv_vlib_close(cr.lib);
	return r;
}
