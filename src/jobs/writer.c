/* tapevault: who wrote a tape or a backup file (see writer.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "backup/backup.h"
#include "crypto/identity.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/writer.h"
#include "util/err.h"

static int sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[TV_WSIG_SIG_LEN])
{
	return tv_identity_sign((EVP_PKEY *)ctx, msg, len, sig);
}

int tv_writer_signer_open(struct tv_home *h, struct tv_wsigner *ws)
{
	int r;

	memset(ws, 0, sizeof(*ws));
	if ((r = tv_identity_load(h->dir, &ws->priv)) == TV_ERR_NOTFOUND) {
		tv_errclear();
		/* a home made before identities: make it now, as init would */
		if ((r = tv_identity_create(h->dir, NULL)) != 0 && r != TV_ERR_EXISTS)
			return tv_errctx(r, "creating this installation's identity");
		tv_log(h, "created this installation's identity (it signs what it writes)");
		r = tv_identity_load(h->dir, &ws->priv);
	}
	if (r != 0)
		return tv_errctx(r, "this installation's identity (it signs what it writes)");
	if ((r = tv_identity_raw_pub(ws->priv, ws->sg.pub)) != 0 ||
	    (r = tv_identity_fingerprint(ws->priv, ws->sg.fpr)) != 0) {
		tv_writer_signer_close(ws);
		return r;
	}
	ws->sg.sign = sign_cb;
	ws->sg.ctx = ws->priv;
	return 0;
}

void tv_writer_signer_close(struct tv_wsigner *ws)
{
	EVP_PKEY_free(ws->priv);
	ws->priv = NULL;
	ws->sg.ctx = NULL;
}

int tv_writer_own(struct tv_home *h, uint8_t pub[TV_WSIG_PUB_LEN], uint8_t fpr[TV_PKFPR_LEN])
{
	EVP_PKEY *k = NULL;
	int r;

	if ((r = tv_identity_load(h->dir, &k)) == 0 &&
	    (r = tv_identity_raw_pub(k, pub)) == 0)
		r = tv_identity_fingerprint(k, fpr);
	EVP_PKEY_free(k);
	return r;
}

int tv_writer_is_trusted(struct tv_home *h, const uint8_t fpr[TV_PKFPR_LEN])
{
	int64_t one;
	int r;

	r = tv_db_get_int(h->db, &one, "SELECT 1 FROM writers_trusted WHERE fingerprint=?", "b",
	                  fpr, (size_t)TV_PKFPR_LEN);
	if (r == TV_ERR_NOTFOUND) {
		tv_errclear();
		return 0;
	}
	return r == 0 ? 1 : r;
}

int tv_writer_trust_add(struct tv_home *h, const uint8_t pub[TV_WSIG_PUB_LEN],
                        const char *how)
{
	uint8_t fpr[TV_PKFPR_LEN];
	int r;

	if ((r = tv_identity_raw_fingerprint(pub, fpr)) != 0)
		return r;
	return tv_db_exec(h->db, "INSERT INTO writers_trusted(fingerprint, public_key, how, added)"
	                  " VALUES(?,?,?,?) ON CONFLICT(fingerprint) DO NOTHING", "bbti", fpr,
	                  (size_t)TV_PKFPR_LEN, pub, (size_t)TV_WSIG_PUB_LEN, how,
	                  (int64_t)tv_now());
}

int tv_writer_check(struct tv_home *h, const struct tv_wsig *s, const void *msg, size_t len,
                    struct tv_writer *w)
{
	uint8_t own_pub[TV_WSIG_PUB_LEN], own_fpr[TV_PKFPR_LEN];
	int r;

	memset(w, 0, sizeof(*w));
	w->kind = TV_WRITER_UNSIGNED;
	snprintf(w->fpr_str, sizeof(w->fpr_str), "unsigned");
	if (s == NULL || s->alg != TV_WSIG_ED25519)
		return 0;   /* none, or of a newer algorithm: not interpreted */
	if ((r = tv_identity_raw_fingerprint(s->pub, w->fpr)) != 0)
		return TV_ERR_SIG;
	if (CRYPTO_memcmp(w->fpr, s->fpr, TV_PKFPR_LEN) != 0)
		return TV_ERR_SIG;   /* the fingerprint shown would not be the key's */
	if ((r = tv_identity_verify_raw(s->pub, msg, len, s->sig)) != 0)
		return r == TV_ERR_SIG ? r : TV_ERR_SIG;
	memcpy(w->pub, s->pub, TV_WSIG_PUB_LEN);
	w->signed_ = 1;
	tv_pkfpr_format(w->fpr, w->fpr_str);
	w->kind = TV_WRITER_UNKNOWN;
	if (tv_writer_own(h, own_pub, own_fpr) == 0 &&
	    memcmp(own_fpr, w->fpr, TV_PKFPR_LEN) == 0) {
		w->kind = TV_WRITER_OWN;
		return 0;
	}
	tv_errclear();
	if ((r = tv_writer_is_trusted(h, w->fpr)) < 0)
		return r;
	if (r == 1)
		w->kind = TV_WRITER_TRUSTED;
	return 0;
}

/* An unsigned tape this installation labeled itself before tapes were
 * signed (an upgrade): its catalog has the tape, written here, with this
 * very media set label.  It counts as its own. */
static int written_here(struct tv_home *h, const struct tv_tape_labels *l,
                        struct tv_writer *w)
{
	struct tv_stmt *q;
	struct tv_buf b;
	int r;

	tv_buf_init(&b);
	if ((r = tv_ms_label_encode(&b, &l->ms)) != 0)
		goto out;
	if ((r = tv_db_query(h->db, &q, "SELECT ms_label FROM tapes WHERE uuid=? AND written "
	                     "IS NOT NULL", "b", l->vol.tape_uuid, (size_t)16)) != 0)
		goto out;
	if ((r = tv_stmt_step(q)) == 1) {
		size_t n = 0;
		const void *m = tv_stmt_blob(q, 0, &n);
		if (m != NULL && n == tv_buf_avail(&b) && memcmp(m, tv_buf_ptr(&b), n) == 0) {
			w->kind = TV_WRITER_OWN;
			snprintf(w->fpr_str, sizeof(w->fpr_str), "this installation (unsigned)");
		}
	}
	tv_stmt_free(q);
	r = r < 0 ? r : 0;
out:
	tv_buf_free(&b);
	return r;
}

int tv_writer_check_labels(struct tv_home *h, const char *barcode,
                           const struct tv_tape_labels *l, struct tv_writer *w)
{
	struct tv_buf msg;
	int r;

	if (!l->has_ms || !l->ms.has_wsig) {
		if ((r = tv_writer_check(h, NULL, NULL, 0, w)) != 0)
			return r;
		return l->has_ms ? written_here(h, l, w) : 0;
	}
	tv_buf_init(&msg);
	if ((r = tv_labels_signed_msg(l, &msg)) == 0)
		r = tv_writer_check(h, &l->ms.wsig, tv_buf_ptr(&msg), tv_buf_avail(&msg), w);
	tv_buf_free(&msg);
	if (r == TV_ERR_SIG)
		return tv_errf(TV_ERR_SIG, "tape %s file 1 record 0: the writer signature of the "
		               "labels does not verify (labels changed after signing, or a "
		               "signature taken from another tape): a forgery or damage, "
		               "refused", barcode);
	return r;
}

/* Writers the operator declined in this process: not asked again. */
static uint8_t declined[16][TV_PKFPR_LEN];
static int ndeclined, declined_unsigned;
/* Unsigned tapes the operator accepted in this process (there is no
 * identity to put on the trust list): not asked again. */
static int accepted_unsigned;

static int was_declined(const struct tv_writer *w)
{
	if (!w->signed_)
		return declined_unsigned;
	for (int i = 0; i < ndeclined; i++)
		if (memcmp(declined[i], w->fpr, TV_PKFPR_LEN) == 0)
			return 1;
	return 0;
}

static void decline(const struct tv_writer *w)
{
	if (!w->signed_)
		declined_unsigned = 1;
	else if (ndeclined < 16)
		memcpy(declined[ndeclined++], w->fpr, TV_PKFPR_LEN);
}

/* --trust-writer FPR (or "unsigned") given for this command? */
static int given(struct tv_home *h, const struct tv_writer *w)
{
	for (size_t i = 0; i < h->ntrust_writer; i++) {
		uint8_t f[TV_PKFPR_LEN];
		const char *a = h->trust_writer[i];
		if (!w->signed_) {
			if (strcmp(a, "unsigned") == 0)
				return 1;
			continue;
		}
		if (tv_pkfpr_parse(a, f) == 0 && memcmp(f, w->fpr, TV_PKFPR_LEN) == 0)
			return 1;
		tv_errclear();
	}
	return 0;
}

int tv_writer_accept(struct tv_home *h, const char *what, struct tv_writer *w)
{
	char q[768];
	int r;

	if (w->kind == TV_WRITER_OWN || w->kind == TV_WRITER_TRUSTED)
		return 0;
	if (!w->signed_ && accepted_unsigned)
		return 0;
	if (given(h, w)) {
		if (!w->signed_) {
			tv_info(h, "%s: carries no writer signature; read as --trust-writer unsigned "
			        "says", what);
			accepted_unsigned = 1;
			return 0;
		}
		if ((r = tv_writer_trust_add(h, w->pub, "--trust-writer")) != 0)
			return r;
		tv_info(h, "%s: written by installation %s: trusted from now on, as "
		        "--trust-writer says", what, w->fpr_str);
		w->kind = TV_WRITER_TRUSTED;
		return 0;
	}
	if (h->ask_writer != NULL && !was_declined(w)) {
		if (w->signed_)
			snprintf(q, sizeof(q),
			         "%s was written by installation %s, not known here.\n"
			         "Every installation signs the tapes and backup files it writes; this one "
			         "trusts its own and those on its list. After a disaster, this is the "
			         "installation whose tapes you are recovering: compare the fingerprint "
			         "with what 'tapevault identity list' shows there (or your records).\n"
			         "Trust it (its tapes are then cataloged without asking again)?", what,
			         w->fpr_str);
		else
			snprintf(q, sizeof(q),
			         "%s carries no writer signature (written by a tapevault before tapes "
			         "were signed, or by someone else): nothing proves who wrote it.\n"
			         "Read its contents anyway?", what);
		if (h->ask_writer(h->ask_ctx, q)) {
			if (!w->signed_) {
				accepted_unsigned = 1;
				return 0;
			}
			if ((r = tv_writer_trust_add(h, w->pub, "confirmed")) != 0)
				return r;
			tv_info(h, "installation %s is trusted from now on", w->fpr_str);
			w->kind = TV_WRITER_TRUSTED;
			return 0;
		}
		decline(w);
	}
	if (!w->signed_)
		return tv_errf(TV_ERR_PERM, "%s: no writer signature, nothing proves who wrote it: "
		               "its contents were not read. If you know where it comes from, run "
		               "again with --trust-writer unsigned", what);
	return tv_errf(TV_ERR_PERM, "%s: written by installation %s, not known here (untrusted "
	               "writer): its contents were not read. If that is the installation you "
	               "recover (compare the fingerprint with 'tapevault identity list' there), "
	               "run again with --trust-writer %s, or first 'tapevault identity trust "
	               "IDENTITY.pub' with the file 'tapevault identity export' writes there",
	               what, w->fpr_str, w->fpr_str);
}

int tv_writer_gate(struct tv_home *h, const char *barcode, const struct tv_tape_labels *l,
                   struct tv_writer *w)
{
	char what[64];
	int r;

	if ((r = tv_writer_check_labels(h, barcode, l, w)) != 0)
		return r;
	snprintf(what, sizeof(what), "tape %s", barcode);
	return tv_writer_accept(h, what, w);
}

/* ---- backup files ---- */

int (*tv_writer_test_unsigned)(const char *what);

int tv_writer_backup_create(struct tv_home *h, const char *const *sources, size_t nsrc,
                            const char *out_path, const struct tv_backup_keys *keys,
                            struct tv_backup_stats *bs)
{
	struct tv_wsigner ws;
	int r;

	if (tv_writer_test_unsigned != NULL && tv_writer_test_unsigned("backup"))
		return tv_backup_create(sources, nsrc, out_path, keys, bs);
	if ((r = tv_writer_signer_open(h, &ws)) != 0)
		return r;
	r = tv_backup_create_signed(sources, nsrc, out_path, keys, &ws.sg, bs);
	tv_writer_signer_close(&ws);
	return r;
}

int tv_writer_check_backup(struct tv_home *h, const char *path,
                           const struct tv_backup_info *info, struct tv_writer *w)
{
	struct tv_buf msg;
	int r;

	if (!info->has_wsig)
		return tv_writer_check(h, NULL, NULL, 0, w);   /* version 1: unsigned */
	tv_buf_init(&msg);
	if ((r = tv_backup_header_signed_msg(&msg, info)) == 0)
		r = tv_writer_check(h, &info->wsig, tv_buf_ptr(&msg), tv_buf_avail(&msg), w);
	tv_buf_free(&msg);
	if (r == TV_ERR_SIG)
		return tv_errf(TV_ERR_SIG, "%s: the writer signature of the backup file's header "
		               "does not verify (header changed after signing, or a signature "
		               "taken from another file): a forgery or damage, refused", path);
	return r;
}

int tv_writer_backup_gate(struct tv_home *h, const char *path,
                          const struct tv_backup_info *info, struct tv_writer *w)
{
	char what[PATH_MAX + 16];
	int r;

	if ((r = tv_writer_check_backup(h, path, info, w)) != 0)
		return r;
	snprintf(what, sizeof(what), "backup file %s", path);
	return tv_writer_accept(h, what, w);
}

static int backup_accept(void *ctx, const char *name, const struct tv_backup_info *info)
{
	struct tv_writer w;

	return tv_writer_backup_gate(ctx, name, info, &w);
}

int tv_writer_backup_extract(struct tv_home *h, const char *path, const char *dest_dir,
                             const struct tv_unlocker *unlocker, struct tv_backup_stats *bs)
{
	struct tv_backup_trust trust = { backup_accept, h };

	return tv_backup_extract_trusted(path, dest_dir, unlocker, &trust, bs);
}
