/* tapevault: the "Specify Password" step (decrypt) and cataloging the
 * contents of a tape once it is unlocked. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto/password.h"
#include "crypto/secmem.h"
#include "crypto/slot.h"
#include "jobs/audit.h"
#include "jobs/ingest.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/kmsglue.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

#define FREE_ATTEMPTS 3
#define MAX_BACKOFF 3600

int tv_catalog_tape_contents(struct tv_home *h, const char *barcode)
{
	struct tv_vlib *lib = NULL;
	struct tv_tape *t = NULL;
	struct tv_tape_info *ti;
	uint8_t dek[TV_DEK_LEN];
	int64_t lib_id;
	struct tv_lib_use use = { 0 };
	int r, scanned = 0, unlocked = 0, have = 0;

	if ((ti = calloc(1, sizeof(*ti))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_lib_open_for_tape(h, barcode, &lib, &lib_id)) != 0)
		goto out;
	if ((r = tv_lib_load_job(h, lib, lib_id, barcode, TV_TAPE_RDONLY, &t, &use)) != 0)
		goto out;
	if ((r = tv_labels_read(t, barcode, &ti->lab, 1)) != 0)
		goto out;
	if (!ti->lab.has_ms) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s is labeled but in no media set", barcode);
		goto out;
	}
	if ((r = tv_db_begin(h->db)) != 0)
		goto out;
	if ((r = tv_ingest_labels(h, lib_id, barcode, ti)) != 0)
		goto rollback;
	if (ti->encrypted) {
		if ((r = tv_keys_load_dek(h, ti->uuid, dek)) != 0)
			goto rollback;
		have = 1;
	}
	if ((r = tv_ingest_contents(h, t, ti, have ? dek : NULL, &scanned, &unlocked)) != 0)
		goto rollback;
	if ((r = tv_db_commit(h->db)) != 0)
		goto out;
	tv_info(h, "%s: contents cataloged%s", barcode, scanned ? " (recovered by scanning)" : "");
	if (ti->refused > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%s: %llu tape file(s) or item(s) refused or not "
		            "recovered (see above)", barcode, (unsigned long long)ti->refused);
	if (unlocked)
		tv_info(h, "%s: its key ring unlocked %d other tape(s)", barcode, unlocked);
	goto out;
rollback:
	tv_db_rollback(h->db);
out:
	tv_wipe(dek, sizeof(dek));
	tv_tape_close(t);
	if (lib != NULL) {
		r = tv_lib_unload_job(lib, &use, r);
		tv_vlib_close(lib);
	}
	tv_labels_free(&ti->lab);
	free(ti);
	return r;
}

/* Tapes unlocked (by a key ring) whose contents are not cataloged yet and
 * that are in a library: catalog them now. */
static int follow_keyrings(struct tv_home *h, int64_t pool_id)
{
	struct tv_stmt *q;
	char **todo = NULL;
	size_t n = 0, failed = 0;
	int r;

	if ((r = tv_db_query(h->db, &q,
	                     "SELECT t.barcode FROM tapes t JOIN tape_keys k ON k.tape_uuid=t.uuid "
	                     "WHERE t.pool_id=? AND t.contents_cataloged=0 AND t.library_id IS NOT "
	                     "NULL ORDER BY t.seq", "i", pool_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		char **nt = realloc(todo, (n + 1) * sizeof(*todo));
		if (nt == NULL || (nt[n] = strdup(tv_stmt_text(q, 0))) == NULL) {
			r = TV_ERR_NOMEM;
			if (nt != NULL)
				todo = nt;
			break;
		}
		todo = nt;
		n++;
	}
	tv_stmt_free(q);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		int cr = tv_catalog_tape_contents(h, todo[i]);
		if (cr != 0) {
			tv_warn(h, "%s: %s", todo[i], tv_errmsg(cr));
			failed++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(todo[i]);
	free(todo);
	if (r < 0)
		return r;
	if (failed > 0)
		return tv_errf(TV_ERR_PARTIAL, "%zu tape(s) unlocked by a key ring could not be "
		               "cataloged (see above)", failed);
	return 0;
}

static int64_t setting_int(struct tv_home *h, const char *key)
{
	char v[64] = "0";
	tv_db_get_text(h->db, v, sizeof(v), "SELECT value FROM settings WHERE key=?", "t", key);
	return strtoll(v, NULL, 10);
}

static void setting_set(struct tv_home *h, const char *key, int64_t val)
{
	char v[32];
	snprintf(v, sizeof(v), "%lld", (long long)val);
	tv_db_exec(h->db, "INSERT INTO settings(key, value) VALUES(?,?) ON CONFLICT(key) DO "
	           "UPDATE SET value=excluded.value", "tt", key, v);
}

/* Wrong-password back-off: FREE_ATTEMPTS tries, then waits doubling from
 * 5 s, shared by all decrypt runs of this installation. */
static int backoff_check(struct tv_home *h)
{
	int64_t fails = setting_int(h, "unlock_failures");
	int64_t last = setting_int(h, "unlock_last_failure");
	int64_t wait, left;

	if (fails < FREE_ATTEMPTS)
		return 0;
	wait = 5;
	for (int64_t i = FREE_ATTEMPTS; i < fails && wait < MAX_BACKOFF; i++)
		wait *= 2;
	if (wait > MAX_BACKOFF)
		wait = MAX_BACKOFF;
	left = last + wait - (int64_t)tv_now();
	if (left > 0)
		return tv_errf(TV_ERR_RETRY, "%lld wrong passwords in a row: wait %lld s before the "
		               "next attempt", (long long)fails, (long long)left);
	return 0;
}

static void backoff_fail(struct tv_home *h)
{
	int64_t fails = setting_int(h, "unlock_failures") + 1;
	setting_set(h, "unlock_failures", fails);
	setting_set(h, "unlock_last_failure", (int64_t)tv_now());
	if (fails < FREE_ATTEMPTS)
		tv_info(h, "%lld attempt(s) left before a waiting time applies",
		        (long long)(FREE_ATTEMPTS - fails));
	else
		tv_info(h, "further attempts are delayed (doubling from 5 s)");
}

struct tape_row {
	char barcode[32];
	uint8_t uuid[16];
	int64_t pool_id;
	uint64_t seq;
	int encrypted, locked, cataloged;
	struct tv_media_set_label ms;
	char pool[TV_NAME_MAX];
};

static int load_tape_row(struct tv_home *h, const char *barcode, struct tape_row *tr)
{
	struct tv_stmt *q;
	int r;

	memset(tr, 0, sizeof(*tr));
	if ((r = tv_db_query(h->db, &q,
	                     "SELECT t.uuid, t.pool_id, t.seq, t.encrypted, t.locked,"
	                     " t.contents_cataloged, t.ms_label, p.name FROM tapes t LEFT JOIN pools p"
	                     " ON p.id=t.pool_id WHERE t.barcode=?", "t", barcode)) != 0)
		return r;
	r = tv_stmt_step(q);
	if (r == 1) {
		size_t n;
		const void *p = tv_stmt_blob(q, 0, &n);
		snprintf(tr->barcode, sizeof(tr->barcode), "%s", barcode);
		if (p == NULL || n != 16) {
			r = tv_errf(TV_ERR_STATE, "tape %s has not been cataloged: run 'tapevault catalog "
			            "LIBRARY %s' first", barcode, barcode);
			goto out;
		}
		memcpy(tr->uuid, p, 16);
		tr->pool_id = tv_stmt_int(q, 1);
		tr->seq = (uint64_t)tv_stmt_int(q, 2);
		tr->encrypted = (int)tv_stmt_int(q, 3);
		tr->locked = (int)tv_stmt_int(q, 4);
		tr->cataloged = (int)tv_stmt_int(q, 5);
		snprintf(tr->pool, sizeof(tr->pool), "%s", tv_stmt_text(q, 7));
		p = tv_stmt_blob(q, 6, &n);
		if (p == NULL) {
			r = tv_errf(TV_ERR_STATE, "tape %s: its labels were never read here: insert it and "
			            "run 'tapevault catalog LIBRARY %s'", barcode, barcode);
			goto out;
		}
		r = tv_ms_label_decode(p, n, &tr->ms);
	} else if (r == 0) {
		r = tv_errf(TV_ERR_NOTFOUND, "no tape %s in the catalog: insert it and run "
		            "'tapevault catalog LIBRARY'", barcode);
	}
out:
	tv_stmt_free(q);
	return r;
}

static int unlock_with_password(struct tv_home *h, struct tape_row *tr, const char *pw,
                                size_t len, struct tv_kek_cache *cache, uint8_t dek[TV_DEK_LEN],
                                char *how, size_t howsz)
{
	const struct tv_encdesc *enc = &tr->ms.enc;
	struct tv_kdf_budget b = { TV_KDF_BUDGET_TAPE, 0, 0 };
	int any = 0, r;

	for (size_t i = 0; i < enc->nslots; i++) {
		const struct tv_keyslot *s = &enc->slots[i];
		if (s->type != TV_SLOT_PASSWORD)
			continue;
		any = 1;
		r = tv_slot_password_open_budget(s, tr->uuid, pw, len, cache, &b, dek);
		if (r == 0) {
			snprintf(how, howsz, "password '%s'", s->name);
			return 0;
		}
		if (r == TV_ERR_RANGE)
			return tv_errf(TV_ERR_LOCKED, "tape %s: %s; left locked", tr->barcode,
			               tv_errmsg(r));
	}
	if (!any) {
		char need[700];
		tv_keys_describe(enc, need, sizeof(need));
		return tv_errf(TV_ERR_BADKEY, "tape %s has no password slot: it needs %s", tr->barcode,
		               need);
	}
	{
		char need[700];
		tv_keys_describe(enc, need, sizeof(need));
		return tv_errf(TV_ERR_BADKEY, "wrong password for tape %s: it needs %s", tr->barcode,
		               need);
	}
}

struct djob {
	struct tv_home *h;
	const struct tv_decrypt_opts *o;
	struct tape_row *tr;
	struct tv_kek_cache *cache;
	char *pw;                   /* read once, for every tape */
	size_t pwlen;
	int stop;                   /* the job cannot go on (brute-force back-off, no password) */
};

/* The KMS path: say which key on which server, ask, unwrap. */
static int by_kms(struct djob *d, const char *bc, const char *desc, uint8_t dek[TV_DEK_LEN],
                  char *how, size_t howsz)
{
	const struct tv_decrypt_opts *o = d->o;
	const struct tape_row *tr = d->tr;
	const struct tv_keyslot *ks = NULL;
	char used[300];
	int r;

	for (size_t k = 0; k < tr->ms.enc.nslots; k++)
		if (tr->ms.enc.slots[k].type == TV_SLOT_KMS)
			ks = &tr->ms.enc.slots[k];
	if (ks == NULL)
		return tv_errf(TV_ERR_BADKEY, "tape %s has no KMS key slot: it needs %s", bc, desc);
	/* the question: on stderr, stdout is for results */
	fprintf(stderr, "Tape %s (pool %s, sequence %llu) is encrypted with KMS key id %s%s%s%s "
	        "on KMS server %s (%s:%llu).\nDecrypt it using KMS server '%s'%s%s?\n", bc,
	        tr->ms.pool_name, (unsigned long long)tr->seq, ks->key_id,
	        ks->name[0] ? " (" : "", ks->name, ks->name[0] ? ")" : "", ks->kms_name,
	        ks->kms_host, (unsigned long long)ks->kms_port, o->kms,
	        o->key_id ? " with key id " : "", o->key_id ? o->key_id : "");
	if (o->confirm && !o->confirm(o->confirm_ctx, "Proceed?"))
		return tv_errf(TV_ERR_CANCELED, "%s: not confirmed; nothing changed", bc);
	r = tv_kmsglue_open_slot(d->h, ks, tr->uuid, o->kms, o->key_id, dek, used, sizeof(used));
	if (r != 0)
		return tv_errctx(r, "%s", bc);
	snprintf(how, howsz, "KMS key %s on %s", o->key_id ? o->key_id : ks->key_id, used);
	return 0;
}

/* The password path: show the hint, ask, try the password (a wrong one
 * is audited and counts toward the back-off). */
static int by_password(struct djob *d, const char *bc, const char *desc,
                       uint8_t dek[TV_DEK_LEN], char *how, size_t howsz)
{
	const struct tv_decrypt_opts *o = d->o;
	char msg[1024];
	int r;

	fprintf(stderr, "Tape %s (pool %s, sequence %llu) is protected by %s.\n", bc,
	        d->tr->ms.pool_name, (unsigned long long)d->tr->seq, desc);
	if (o->confirm && !o->confirm(o->confirm_ctx, "Decrypt it with the given password?"))
		return tv_errf(TV_ERR_CANCELED, "%s: not confirmed; nothing changed", bc);
	if ((r = backoff_check(d->h)) != 0 ||
	    (d->pw == NULL &&
	     (r = tv_password_read(o->password_file, "Password: ", 0, &d->pw, &d->pwlen)) != 0)) {
		d->stop = 1;
		return r;
	}
	r = unlock_with_password(d->h, d->tr, d->pw, d->pwlen, d->cache, dek, how, howsz);
	if (r == TV_ERR_BADKEY) {
		snprintf(msg, sizeof(msg), "%s", tv_errmsg(r));
		backoff_fail(d->h);
		tv_audit(d->h, "decrypt", "password (wrong)", bc, msg);
		return tv_errf(r, "%s", msg);   /* the audit may have said something else */
	}
	if (r == 0)
		setting_set(d->h, "unlock_failures", 0);
	return r;
}

/* A tape that is not encrypted, or unlocked already: only its contents
 * may still need cataloging.  1: that was the case. */
static int nothing_to_unlock(struct djob *d, const char *bc, int *r)
{
	uint8_t dek[TV_DEK_LEN];

	*r = 0;
	if (d->tr->encrypted && (d->tr->locked || tv_keys_load_dek(d->h, d->tr->uuid, dek) != 0))
		return 0;
	if (d->tr->encrypted)
		tv_wipe(dek, sizeof(dek));
	tv_info(d->h, "%s: %s", bc, d->tr->encrypted ? "already unlocked" : "not encrypted");
	if (!d->tr->cataloged)
		*r = tv_catalog_tape_contents(d->h, bc);
	return 1;
}

/* Unlocks one tape, keeps its key, catalogs its contents and what its key
 * ring unlocks (*ring_failed counts a ring that could not be followed). */
static int decrypt_one(struct djob *d, const char *bc, int *ring_failed)
{
	uint8_t dek[TV_DEK_LEN];
	char how[700] = "", desc[700], src[800];
	int r;

	if ((r = load_tape_row(d->h, bc, d->tr)) != 0 || nothing_to_unlock(d, bc, &r))
		return r;
	tv_keys_describe(&d->tr->ms.enc, desc, sizeof(desc));
	r = d->o->kms != NULL ? by_kms(d, bc, desc, dek, how, sizeof(how))
	                      : by_password(d, bc, desc, dek, how, sizeof(how));
	if (r == 0 && (r = tv_dek_verify(dek, d->tr->ms.enc.dek_fpr)) != 0)
		tv_errctx(r, "%s: the unwrapped key does not match the tape's fingerprint", bc);
	if (r == 0) {
		snprintf(src, sizeof(src), "decrypt: %s", how);
		r = tv_keys_save_dek(d->h, d->tr->uuid, dek, src);
	}
	tv_wipe(dek, sizeof(dek));
	if (r != 0)
		return r;
	tv_audit(d->h, "decrypt", how, bc, "unlocked");
	tv_info(d->h, "%s: unlocked by %s", bc, how);
	/* the tape's contents, now readable, go into the catalog */
	if ((r = tv_catalog_tape_contents(d->h, bc)) != 0)
		return r;
	if ((r = follow_keyrings(d->h, d->tr->pool_id)) != 0) {
		if (r != TV_ERR_PARTIAL)
			tv_warn(d->h, "%s", tv_errmsg(r));
		(*ring_failed)++;
	}
	return 0;
}

int tv_job_decrypt(struct tv_home *h, char *const *barcodes, size_t n,
                   const struct tv_decrypt_opts *o)
{
	struct djob d = { .h = h, .o = o };
	int r = 0, failed = 0, ring_failed = 0;

	tv_errclear();   /* a new job: no earlier failure's detail */

	snprintf(h->job, sizeof(h->job), "decrypt");
	if ((o->password_file == NULL) == (o->kms == NULL))
		return tv_errf(TV_ERR_INVAL, "give either --password-file F or --kms SERVER");
	if ((d.tr = calloc(1, sizeof(*d.tr))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_kek_cache_new(&d.cache, 0)) != 0)
		goto out;
	for (size_t i = 0; i < n && !d.stop; i++) {
		if ((r = decrypt_one(&d, barcodes[i], &ring_failed)) == 0)
			continue;
		failed++;
		if (n > 1 && !d.stop)
			tv_warn(h, "%s", tv_errmsg(r));
	}
	if (d.stop)
		goto out;
	if (failed > 0 && n > 1)
		r = tv_errf(TV_ERR_PARTIAL, "%d of %zu tape(s) could not be decrypted", failed, n);
	else if (failed == 0 && ring_failed > 0)
		r = tv_errf(TV_ERR_PARTIAL, "tapes unlocked by the key ring of %d tape(s) could "
		            "not all be cataloged (see above)", ring_failed);
	else if (failed == 0)
		r = 0;
out:
	if (d.pw != NULL)
		tv_freezero(d.pw, d.pwlen + 1);
	tv_kek_cache_free(d.cache);
	if (d.tr != NULL) {
		tv_wipe(d.tr, sizeof(*d.tr));
		free(d.tr);
	}
	return r;
}
