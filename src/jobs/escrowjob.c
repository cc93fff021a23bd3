/* tapevault: escrow jobs (see escrowjob.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/escrow.h"
#include "crypto/pkey.h"
#include "crypto/slot.h"
#include "jobs/audit.h"
#include "jobs/escrowjob.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "util/err.h"

int tv_escrow_enable(struct tv_home *h, const char *pub_path, char *fpr_out, size_t fprsz)
{
	EVP_PKEY *pub = NULL;
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	char *pem = NULL;
	size_t pemlen = 0;
	int r;

	if ((r = tv_pubkey_load(pub_path, &pub)) != 0)
		return r;
	if ((r = tv_pubkey_check_rsa(pub)) != 0 || (r = tv_pubkey_fingerprint(pub, fpr)) != 0 ||
	    (r = tv_pubkey_to_pem(pub, &pem, &pemlen)) != 0)
		goto out;
	tv_pkfpr_format(fpr, fs);
	r = tv_db_exec(h->db, "INSERT INTO escrow_keys(fingerprint, public_pem, enabled, created) "
	               "VALUES(?,?,1,?) ON CONFLICT(fingerprint) DO UPDATE SET enabled=1",
	               "bti", fpr, (size_t)TV_PKFPR_LEN, pem, (int64_t)tv_now());
	if (r != 0)
		goto out;
	snprintf(fpr_out, fprsz, "%s", fs);
	tv_audit(h, "escrow enable", fs, "-", "password loss protection on for new tapes");
out:
	free(pem);
	EVP_PKEY_free(pub);
	return r;
}

int tv_escrow_recover_tapes(struct tv_home *h, const char *keyset, const char *pp, size_t pplen,
                            char *const *barcodes, size_t n)
{
	EVP_PKEY *priv = NULL;
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	struct tv_media_set_label *ms = NULL;
	int r, failed = 0;

	snprintf(h->job, sizeof(h->job), "escrow-recover");
	if ((r = tv_escrow_load_keyset(keyset, pp, pplen, &priv)) != 0)
		return r;
	if ((r = tv_pubkey_fingerprint(priv, fpr)) != 0)
		goto out;
	tv_pkfpr_format(fpr, fs);
	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct tv_stmt *st;
		uint8_t uuid[16], dek[TV_DEK_LEN];
		int have = 0, found_slot = 0, opened = 0;

		r = tv_db_query(h->db, &st, "SELECT uuid, ms_label FROM tapes WHERE barcode=?", "t",
		                barcodes[i]);
		if (r == 0 && tv_stmt_step(st) == 1) {
			size_t ul, ml;
			const void *u = tv_stmt_blob(st, 0, &ul), *m = tv_stmt_blob(st, 1, &ml);
			if (u && ul == 16 && m && tv_ms_label_decode(m, ml, ms) == 0) {
				memcpy(uuid, u, 16);
				have = 1;
			}
		}
		tv_stmt_free(st);
		if (!have) {
			tv_warn(h, "%s: not cataloged here (insert it and run 'tapevault catalog' first)",
			        barcodes[i]);
			tv_errclear();
			failed++;
			continue;
		}
		for (size_t k = 0; k < ms->enc.nslots && !opened; k++) {
			const struct tv_keyslot *s = &ms->enc.slots[k];
			if (s->type != TV_SLOT_ESCROW)
				continue;
			found_slot = 1;
			if (memcmp(s->escrow_fpr, fpr, TV_PKFPR_LEN) != 0)
				continue;
			if (tv_slot_escrow_open(s, uuid, priv, dek) == 0 &&
			    tv_dek_verify(dek, ms->enc.dek_fpr) == 0)
				opened = 1;
			tv_errclear();
		}
		if (!opened) {
			tv_warn(h, "%s: %s", barcodes[i],
			        found_slot ? "its escrow slot is for another key set"
			                   : "written before password loss protection was enabled: no "
			                     "escrow slot");
			tv_audit(h, "escrow recover", fs, barcodes[i], "no usable escrow slot");
			failed++;
			continue;
		}
		r = tv_keys_save_dek(h, uuid, dek, "escrow break-glass recovery");
		OPENSSL_cleanse(dek, sizeof(dek));
		if (r != 0)
			goto out;
		tv_audit(h, "escrow recover", fs, barcodes[i], "unlocked");
		tv_info(h, "%s: unlocked through escrow key set %s", barcodes[i], fs);
		if ((r = tv_catalog_tape_contents(h, barcodes[i])) != 0) {
			tv_warn(h, "%s: %s", barcodes[i], tv_errmsg(r));
			tv_errclear();
			failed++;
		}
	}
	r = failed ? tv_errf(TV_ERR_PARTIAL, "%d of %zu tape(s) not recovered", failed, n) : 0;
out:
	free(ms);
	EVP_PKEY_free(priv);
	return r;
}
