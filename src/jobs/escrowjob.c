/* tapevault: escrow jobs (see escrowjob.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/escrow.h"
#include "crypto/pkey.h"
#include "crypto/secmem.h"
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

	tv_errclear();   /* a new job: no earlier failure's detail */

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

	tv_errclear();   /* a new job: no earlier failure's detail */

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
		struct tv_stmt *q;
		uint8_t uuid[16], dek[TV_DEK_LEN];
		int have = 0, found_slot = 0, opened = 0;

		if ((r = tv_db_query(h->db, &q, "SELECT uuid, ms_label FROM tapes WHERE barcode=?",
		                     "t", barcodes[i])) != 0)
			goto out;
		if ((r = tv_stmt_step(q)) == 1) {
			size_t ul, ml;
			const void *u = tv_stmt_blob(q, 0, &ul), *m = tv_stmt_blob(q, 1, &ml);
			if (u && ul == 16 && m && tv_ms_label_decode(m, ml, ms) == 0) {
				memcpy(uuid, u, 16);
				have = 1;
			}
		}
		tv_stmt_free(q);
		if (r < 0)
			goto out;
		if (!have) {
			tv_warn(h, "%s: not cataloged here (insert it and run 'tapevault catalog' first)",
			        barcodes[i]);
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
		tv_wipe(dek, sizeof(dek));
		if (r != 0)
			goto out;
		tv_audit(h, "escrow recover", fs, barcodes[i], "unlocked");
		tv_info(h, "%s: unlocked through escrow key set %s", barcodes[i], fs);
		if ((r = tv_catalog_tape_contents(h, barcodes[i])) != 0) {
			tv_warn(h, "%s: %s", barcodes[i], tv_errmsg(r));
			failed++;
		}
	}
	r = failed ? tv_errf(TV_ERR_PARTIAL, "%d of %zu tape(s) not recovered", failed, n) : 0;
out:
	free(ms);
	EVP_PKEY_free(priv);
	return r;
}

/* ---- request / respond / apply ---- */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/escrow_msg.h"
#include "crypto/identity.h"
#include "crypto/rand.h"

static int read_text(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	long n;

	*text = NULL;
	if (f == NULL)
		return tv_errf(TV_ERR_NOTFOUND, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    (size_t)n > TV_ESCROW_TEXT_MAX || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return tv_errf(TV_ERR_RANGE, "%s: not a tapevault escrow message (too large)", path);
	}
	if ((*text = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return TV_ERR_NOMEM;
	}
	if (fread(*text, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*text);
		*text = NULL;
		return tv_errf(TV_ERR_IO, "%s: read error", path);
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return 0;
}

static int write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	ssize_t w;

	if (fd < 0)
		return tv_errf(TV_ERR_IO, "%s: %s", path, strerror(errno));
	w = write(fd, text, len);
	if (w != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return tv_errf(TV_ERR_IO, "%s: write error", path);
	}
	return close(fd) == 0 ? 0 : tv_errf(TV_ERR_IO, "%s: %s", path, strerror(errno));
}

static void id_purpose(const uint8_t id[TV_ESCROW_ID_LEN], char out[80])
{
	char hex[TV_ESCROW_ID_HEX_LEN];
	tv_escrow_id_hex(id, hex);
	snprintf(out, 80, "escrow-onetime:%s", hex);
}

int tv_escrow_make_request(struct tv_home *h, char *const *barcodes, size_t n,
                           const char *out_path, size_t *skipped)
{
	struct tv_escrow_item *items = NULL;
	struct tv_media_set_label *ms = NULL;
	struct tv_escrow_request *req = NULL;
	EVP_PKEY *ident = NULL, *onetime = NULL;
	char *text = NULL, host[TV_NAME_MAX] = "";
	uint8_t *der = NULL;
	size_t derlen = 0, k = 0;
	struct tv_buf sealed;
	char purpose[80], idhex[TV_ESCROW_ID_HEX_LEN], tapes[1024] = "";
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	tv_buf_init(&sealed);
	*skipped = 0;
	snprintf(h->job, sizeof(h->job), "escrow-request");
	if ((items = calloc(n ? n : 1, sizeof(*items))) == NULL ||
	    (ms = calloc(1, sizeof(*ms))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct tv_stmt *q;
		int found = 0, known = 0;
		r = tv_db_query(h->db, &q, "SELECT t.uuid, t.ms_label, t.seq, COALESCE(p.name,'') "
		                "FROM tapes t LEFT JOIN pools p ON p.id=t.pool_id WHERE t.barcode=?",
		                "t", barcodes[i]);
		if (r != 0)
			goto out;
		if ((r = tv_stmt_step(q)) == 1) {
			size_t ul, ml;
			const void *u = tv_stmt_blob(q, 0, &ul), *m = tv_stmt_blob(q, 1, &ml);
			if (u && ul == 16 && m && tv_ms_label_decode(m, ml, ms) == 0) {
				known = 1;
				for (size_t s = 0; s < ms->enc.nslots && !found; s++) {
					if (ms->enc.slots[s].type != TV_SLOT_ESCROW)
						continue;
					memcpy(items[k].tape_uuid, u, 16);
					snprintf(items[k].barcode, sizeof(items[k].barcode), "%s", barcodes[i]);
					snprintf(items[k].pool, sizeof(items[k].pool), "%s", tv_stmt_text(q, 3));
					items[k].media_set_seq = (uint64_t)tv_stmt_int(q, 2);
					memcpy(items[k].dek_fpr, ms->enc.dek_fpr, TV_FPR_LEN);
					items[k].slot = ms->enc.slots[s];
					found = 1;
				}
			}
		}
		tv_stmt_free(q);
		if (r < 0)
			goto out;
		if (!known) {
			tv_warn(h, "%s: not cataloged here: insert it and run 'tapevault catalog' first",
			        barcodes[i]);
			(*skipped)++;
		} else if (!found) {
			tv_warn(h, "%s: %s", barcodes[i], ms->enc.alg == TV_ENC_NONE
			        ? "not encrypted: nothing to recover"
			        : "no escrow slot: written before password loss protection was enabled");
			(*skipped)++;
		} else {
			size_t l = strlen(tapes);
			snprintf(tapes + l, sizeof(tapes) - l, "%s%s", l ? "," : "", barcodes[i]);
			k++;
		}
	}
	if (k == 0) {
		r = tv_errf(TV_ERR_NOTFOUND, "no tape with an escrow slot: no request made");
		goto out;
	}
	if ((r = tv_identity_load(h->dir, &ident)) == TV_ERR_NOTFOUND) {
		if ((r = tv_identity_create(h->dir, NULL)) == 0)
			r = tv_identity_load(h->dir, &ident);
	}
	if (r != 0)
		goto out;
	gethostname(host, sizeof(host) - 1);
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "tapevault");
	if ((r = tv_escrow_request_make(items, k, host, ident, &text, &onetime)) != 0 ||
	    (r = tv_escrow_request_parse(text, strlen(text), &req)) != 0 ||
	    (r = tv_x25519_priv_to_der(onetime, &der, &derlen)) != 0)
		goto out;
	id_purpose(req->id, purpose);
	if ((r = tv_keys_seal(h, purpose, der, derlen, &sealed)) != 0)
		goto out;
	if ((r = write_text(out_path, text)) != 0)
		goto out;
	r = tv_db_exec(h->db, "INSERT INTO escrow_requests(id, hash, request, sealed_key, created)"
	               " VALUES(?,?,?,?,?)", "bbtbi", req->id, (size_t)TV_ESCROW_ID_LEN,
	               req->hash, (size_t)TV_ESCROW_HASH_LEN, text, tv_buf_ptr(&sealed),
	               tv_buf_avail(&sealed), (int64_t)tv_now());
	if (r != 0) {
		unlink(out_path);
		goto out;
	}
	tv_escrow_id_hex(req->id, idhex);
	tv_audit(h, "escrow request", idhex, tapes, "request made");
	tv_info(h, "escrow request %s for %zu tape(s) written to %s: send it to the escrow "
	        "authority, then run 'tapevault escrow apply RESPONSE.txt'", idhex, k, out_path);
out:
	if (der != NULL)
		tv_freezero(der, derlen);
	tv_buf_free(&sealed);
	EVP_PKEY_free(onetime);
	EVP_PKEY_free(ident);
	tv_escrow_request_free(req);
	free(text);
	free(items);
	free(ms);
	return r;
}

static int try_open_home_audit(struct tv_home *h, const char *action, const char *path,
                               const char *tapes, const char *detail)
{
	if (h != NULL)
		tv_audit(h, action, path, tapes, detail);
	return 0;
}

/* ---- the authority's trust list (installation identities) ---- */

static int trust_store(struct tv_home *h, EVP_PKEY *pub, const char *installation,
                       uint8_t fpr[TV_PKFPR_LEN])
{
	char *pem = NULL;
	size_t len = 0;
	int r;

	if ((r = tv_identity_fingerprint(pub, fpr)) != 0 ||
	    (r = tv_pubkey_to_pem(pub, &pem, &len)) != 0)
		return r;
	r = tv_db_exec(h->db, "INSERT INTO escrow_trusted(fingerprint, public_pem, installation, "
	               "added) VALUES(?,?,?,?) ON CONFLICT(fingerprint) DO UPDATE SET "
	               "installation=CASE WHEN excluded.installation<>'' THEN "
	               "excluded.installation ELSE escrow_trusted.installation END", "btti", fpr,
	               (size_t)TV_PKFPR_LEN, pem, installation ? installation : "",
	               (int64_t)tv_now());
	free(pem);
	return r;
}

int tv_escrow_trust_add(struct tv_home *h, const char *pub_path, const char *installation,
                        char *fpr_out, size_t fprsz)
{
	EVP_PKEY *pub = NULL;
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */
	if ((r = tv_identity_pub_load(pub_path, &pub)) != 0)
		return r;
	if ((r = trust_store(h, pub, installation, fpr)) == 0) {
		tv_pkfpr_format(fpr, fs);
		snprintf(fpr_out, fprsz, "%s", fs);
		tv_audit(h, "escrow trust add", fs, "-", installation && *installation ?
		         installation : "installation identity trusted");
	}
	EVP_PKEY_free(pub);
	return r;
}

int tv_escrow_trust_remove(struct tv_home *h, const char *fpr_text)
{
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */
	if ((r = tv_pkfpr_parse(fpr_text, fpr)) != 0)
		return r;
	if ((r = tv_db_exec(h->db, "DELETE FROM escrow_trusted WHERE fingerprint=?", "b", fpr,
	                    (size_t)TV_PKFPR_LEN)) != 0)
		return r;
	tv_pkfpr_format(fpr, fs);
	if (tv_db_changes(h->db) == 0)
		return tv_errf(TV_ERR_NOTFOUND, "identity %s is not in the trust list", fs);
	tv_audit(h, "escrow trust remove", fs, "-", "installation identity no longer trusted");
	return 0;
}

int tv_escrow_trust_list(struct tv_home *h, tv_escrow_trust_fn *fn, void *ctx)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q, "SELECT fingerprint, installation, added FROM "
	                     "escrow_trusted ORDER BY added, installation", NULL)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		size_t fl = 0;
		const void *f = tv_stmt_blob(q, 0, &fl);
		char fs[TV_PKFPR_STR_LEN];
		if (f == NULL || fl != TV_PKFPR_LEN)
			continue;
		tv_pkfpr_format(f, fs);
		if ((r = fn(ctx, fs, tv_stmt_text(q, 1), (uint64_t)tv_stmt_int(q, 2))) != 0)
			break;
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

/* 1 if the identity that signed req is on this authority's trust list. */
static int identity_trusted(struct tv_home *h, const struct tv_escrow_request *req, int *yes)
{
	struct tv_stmt *q;
	int r;

	*yes = 0;
	if (h == NULL)
		return 0;
	if ((r = tv_db_query(h->db, &q, "SELECT 1 FROM escrow_trusted WHERE fingerprint=?", "b",
	                     req->identity_fpr, (size_t)TV_PKFPR_LEN)) != 0)
		return r;
	r = tv_stmt_step(q);
	tv_stmt_free(q);
	if (r < 0)
		return r;
	*yes = r == 1;
	return 0;
}

/* An unknown identity: refused, or with --trust-new shown, confirmed and
 * (where the authority has an installation) remembered. */
static int check_identity(struct tv_home *h, const struct tv_escrow_request *req,
                          const struct tv_escrow_respond_opts *o)
{
	char fs[TV_PKFPR_STR_LEN], q[512];
	uint8_t fpr[TV_PKFPR_LEN];
	int r, known = 0;

	if ((r = identity_trusted(h, req, &known)) != 0 || known)
		return r;
	tv_pkfpr_format(req->identity_fpr, fs);
	if (!o->trust_new)
		return tv_errf(TV_ERR_PERM, "request signed by identity %s (installation '%s'), "
		               "which this authority does not trust: compare the fingerprint with "
		               "that installation's ('tapevault identity export' there prints it), "
		               "then 'tapevault escrow trust add IDENTITY.pub', or answer with "
		               "--trust-new", fs, req->installation);
	printf("  the identity %s is NOT on this authority's trust list:\n"
	       "  answer only if that installation confirms this fingerprint\n", fs);
	fflush(stdout);
	snprintf(q, sizeof(q), "Trust installation '%s' with identity %s?", req->installation, fs);
	if (o->confirm != NULL && !o->confirm(o->confirm_ctx, q))
		return tv_errf(TV_ERR_CANCELED, "identity %s not confirmed: no response made", fs);
	if (h == NULL) {
		fprintf(stderr, "identity %s trusted for this answer only (no installation here "
		        "to remember it: 'tapevault init' keeps a trust list)\n", fs);
		return 0;
	}
	if ((r = trust_store(h, req->identity, req->installation, fpr)) != 0)
		return r;
	tv_audit(h, "escrow trust add", fs, "-", "trusted with --trust-new");
	fprintf(stderr, "identity %s of installation '%s' added to the trust list\n", fs,
	        req->installation);
	return 0;
}

/* Prints what a request asks (stdout); tapes: the barcodes, comma separated. */
static void show_request(const struct tv_escrow_request *req, const char *idhex, char *tapes,
                         size_t tapesz)
{
	char fs[TV_PKFPR_STR_LEN], ts[32];
	time_t t = (time_t)req->created;
	struct tm tm;

	tv_pkfpr_format(req->identity_fpr, fs);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("Escrow request %s\n  from installation '%s' (identity %s)\n  made %s\n"
	       "  asks to unlock %zu tape(s):\n", idhex, req->installation, fs, ts, req->n);
	tapes[0] = '\0';
	for (size_t i = 0; i < req->n; i++) {
		char u[37], kf[TV_PKFPR_STR_LEN];
		size_t l = strlen(tapes);
		tv_uuid_to_str(req->items[i].tape_uuid, u);
		tv_pkfpr_format(req->items[i].slot.escrow_fpr, kf);
		printf("    %-9s pool %-16s sequence %-4llu tape %s (key set %.23s...)\n",
		       req->items[i].barcode, req->items[i].pool,
		       (unsigned long long)req->items[i].media_set_seq, u, kf);
		snprintf(tapes + l, tapesz - l, "%s%s", l ? "," : "", req->items[i].barcode);
	}
	fflush(stdout);
}

/* Several key sets (rotation): the one most of the request's slots name. */
static int pick_keyset(const struct tv_escrow_request *req, char *const *keysets,
                       size_t nkeysets, const char *pp, size_t pplen, EVP_PKEY **priv,
                       uint8_t afpr[TV_PKFPR_LEN])
{
	size_t best = 0;
	int r;

	*priv = NULL;
	for (size_t k = 0; k < nkeysets; k++) {
		EVP_PKEY *cand = NULL;
		uint8_t cf[TV_PKFPR_LEN];
		size_t hits = 0;
		if ((r = tv_escrow_load_keyset(keysets[k], pp, pplen, &cand)) != 0 ||
		    (r = tv_pubkey_fingerprint(cand, cf)) != 0) {
			EVP_PKEY_free(cand);
			return r;
		}
		for (size_t i = 0; i < req->n; i++)
			if (memcmp(req->items[i].slot.escrow_fpr, cf, TV_PKFPR_LEN) == 0)
				hits++;
		if (*priv == NULL || hits > best) {
			EVP_PKEY_free(*priv);
			*priv = cand;
			memcpy(afpr, cf, TV_PKFPR_LEN);
			best = hits;
		} else {
			EVP_PKEY_free(cand);
		}
	}
	if (best == 0) {
		char want[TV_PKFPR_STR_LEN];
		tv_pkfpr_format(req->items[0].slot.escrow_fpr, want);
		return tv_errf(TV_ERR_NOTFOUND, "none of the given key sets is the one these tapes' "
		               "escrow slots name (%s)", want);
	}
	if (nkeysets > 1) {
		char fs2[TV_PKFPR_STR_LEN];
		tv_pkfpr_format(afpr, fs2);
		fprintf(stderr, "answering with key set %s\n", fs2);
	}
	return 0;
}

int tv_escrow_answer_request(struct tv_home *h, char *const *keysets, size_t nkeysets,
                             const char *pp, size_t pplen, const char *request_path,
                             const char *out_path, const struct tv_escrow_respond_opts *o)
{
	struct tv_escrow_request *req = NULL;
	struct tv_escrow_resp_report rep;
	EVP_PKEY *priv = NULL;
	char *text = NULL, *resp = NULL, idhex[TV_ESCROW_ID_HEX_LEN], fs[TV_PKFPR_STR_LEN];
	char tapes[1024];
	uint8_t afpr[TV_PKFPR_LEN];
	size_t len = 0;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	memset(&rep, 0, sizeof(rep));
	if ((r = read_text(request_path, &text, &len)) != 0)
		return r;
	if ((r = tv_escrow_request_parse(text, len, &req)) != 0 ||
	    (r = tv_escrow_request_check_age(req, tv_now(), o->max_age ? o->max_age :
	                                     TV_ESCROW_MAX_AGE_DEFAULT)) != 0) {
		tv_errctx(r, "%s", request_path);
		goto out;
	}
	tv_escrow_id_hex(req->id, idhex);
	show_request(req, idhex, tapes, sizeof(tapes));
	if ((r = check_identity(h, req, o)) != 0)
		goto out;
	if (o->confirm && !o->confirm(o->confirm_ctx, "Answer this request with your key set?")) {
		r = tv_errf(TV_ERR_CANCELED, "not confirmed: no response made");
		goto out;
	}
	if ((r = pick_keyset(req, keysets, nkeysets, pp, pplen, &priv, afpr)) != 0)
		goto out;
	r = tv_escrow_response_make(req, priv, &resp, &rep);
	for (size_t i = 0; i < rep.n; i++)
		if (rep.items[i].status != TV_ESCROW_OK)
			fprintf(stderr, "  %s: %s%s%s\n", i < req->n ? req->items[i].barcode : "?",
			        tv_escrow_status_str(rep.items[i].status),
			        rep.items[i].detail[0] ? ": " : "", rep.items[i].detail);
	if (r != 0)
		goto out;
	if ((r = write_text(out_path, resp)) != 0)
		goto out;
	tv_pkfpr_format(afpr, fs);
	try_open_home_audit(h, "escrow respond", fs, tapes, idhex);
	fprintf(stderr, "response for %zu of %zu tape(s) written to %s (only the requesting "
	        "installation can use it)\n", rep.n_ok, rep.n, out_path);
out:
	tv_escrow_resp_report_free(&rep);
	EVP_PKEY_free(priv);
	tv_escrow_request_free(req);
	free(text);
	free(resp);
	return r;
}

/* ---- applying a response ---- */

/* The pending request a response answers: its hash, its text and its
 * one-time key (unsealed into der).  A request applied before, or one
 * this installation did not make, is refused. */
static int load_pending(struct tv_home *h, const struct tv_escrow_resp_info *info,
                        const char *idhex, uint8_t hash[TV_ESCROW_HASH_LEN], char **reqtext,
                        struct tv_buf *der)
{
	struct tv_stmt *q = NULL;
	char purpose[80];
	int r, found = 0;
	int64_t applied = 0;

	*reqtext = NULL;
	if ((r = tv_db_query(h->db, &q, "SELECT hash, request, sealed_key, applied FROM "
	                     "escrow_requests WHERE id=?", "b", info->request_id,
	                     (size_t)TV_ESCROW_ID_LEN)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		size_t hl = 0, sl = 0;
		const void *hp = tv_stmt_blob(q, 0, &hl), *sp = tv_stmt_blob(q, 2, &sl);
		found = 1;
		applied = tv_stmt_isnull(q, 3) ? 0 : tv_stmt_int(q, 3);
		if (hp && hl == TV_ESCROW_HASH_LEN)
			memcpy(hash, hp, TV_ESCROW_HASH_LEN);
		id_purpose(info->request_id, purpose);
		if (applied != 0)
			r = 0;
		else if ((*reqtext = strdup(tv_stmt_text(q, 1))) == NULL)
			r = TV_ERR_NOMEM;
		else if (sp == NULL || sl == 0 || hp == NULL || hl != TV_ESCROW_HASH_LEN)
			r = tv_errf(TV_ERR_FORMAT, "request %s: the catalog holds no one-time key "
			            "for it", idhex);
		else
			r = tv_keys_unseal(h, purpose, sp, sl, der);
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (!found)
		return tv_errf(TV_ERR_STATE, "response answers request %s made by installation "
		               "'%s': this installation did not make it (apply it where the "
		               "request was made)", idhex, info->installation);
	if (applied != 0) {
		time_t t = (time_t)applied;
		char ts[32];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", &tm);
		return tv_errf(TV_ERR_STATE, "the response to request %s was applied already "
		               "(%s): a response is used once and its one-time key is gone; for "
		               "tapes still locked make a new request", idhex, ts);
	}
	return 0;
}

/* The request item an answer item is for, by tape UUID (never by
 * position: a response may list its items in any order). */
static const struct tv_escrow_item *item_for(const struct tv_escrow_request *req,
                                             const uint8_t uuid[TV_UUID_LEN])
{
	for (size_t i = 0; i < req->n; i++)
		if (memcmp(req->items[i].tape_uuid, uuid, TV_UUID_LEN) == 0)
			return &req->items[i];
	return NULL;
}

/* Saves the DEKs of the answer and marks the request applied, deleting its
 * one-time key, in one transaction.  ok[i]: answer item i unlocked. */
static int save_answers(struct tv_home *h, const struct tv_escrow_answer *ans,
                        const struct tv_escrow_request *req, const char *idhex,
                        unsigned char *ok, int *failed)
{
	char src[200];
	int r;

	snprintf(src, sizeof(src), "escrow response %.16s", idhex);
	if ((r = tv_db_begin(h->db)) != 0)
		return r;
	for (size_t i = 0; i < ans->n; i++) {
		const struct tv_escrow_item *it = item_for(req, ans->items[i].tape_uuid);
		ok[i] = 0;
		if (it == NULL) {
			r = tv_errf(TV_ERR_INVAL, "response: answers a tape the request did not ask for");
			goto fail;
		}
		if (ans->items[i].status != TV_ESCROW_OK) {
			tv_warn(h, "%s: the authority could not unlock it: %s", it->barcode,
			        tv_escrow_status_str(ans->items[i].status));
			(*failed)++;
			continue;
		}
		if ((r = tv_keys_save_dek(h, it->tape_uuid, ans->items[i].dek, src)) != 0)
			goto fail;
		ok[i] = 1;
	}
	if ((r = tv_db_exec(h->db, "UPDATE escrow_requests SET applied=?, sealed_key=X'' "
	                    "WHERE id=?", "ib", (int64_t)tv_now(), req->id,
	                    (size_t)TV_ESCROW_ID_LEN)) != 0)
		goto fail;
	return tv_db_commit(h->db);
fail:
	tv_db_rollback(h->db);
	return r;
}

static int open_answer(struct tv_home *h, const char *text, size_t len,
                       const struct tv_escrow_resp_info *info, const char *idhex,
                       struct tv_escrow_request **req, struct tv_escrow_answer **ans)
{
	uint8_t hash[TV_ESCROW_HASH_LEN];
	EVP_PKEY *onetime = NULL;
	char *reqtext = NULL;
	struct tv_buf der;
	int r;

	tv_buf_init(&der);
	if ((r = load_pending(h, info, idhex, hash, &reqtext, &der)) != 0)
		goto out;
	if ((r = tv_x25519_priv_from_der(tv_buf_ptr(&der), tv_buf_avail(&der), &onetime)) != 0 ||
	    (r = tv_escrow_response_open(text, len, onetime, info->request_id, hash, ans)) != 0 ||
	    (r = tv_escrow_request_parse(reqtext, strlen(reqtext), req)) != 0)
		goto out;
	r = tv_escrow_answer_check(*ans, *req);
out:
	tv_buf_free(&der);          /* wipes the one-time key's DER */
	EVP_PKEY_free(onetime);     /* OpenSSL cleanses the key */
	free(reqtext);
	return r;
}

int tv_escrow_apply_response(struct tv_home *h, const char *response_path)
{
	struct tv_escrow_resp_info info;
	struct tv_escrow_answer *ans = NULL;
	struct tv_escrow_request *req = NULL;
	unsigned char *ok = NULL;
	char *text = NULL, idhex[TV_ESCROW_ID_HEX_LEN], afs[TV_PKFPR_STR_LEN];
	size_t len = 0;
	int r, failed = 0;

	tv_errclear();   /* a new job: no earlier failure's detail */

	snprintf(h->job, sizeof(h->job), "escrow-apply");
	if ((r = read_text(response_path, &text, &len)) != 0)
		return r;
	if ((r = tv_escrow_response_info(text, len, &info)) != 0) {
		tv_errctx(r, "%s", response_path);
		goto out;
	}
	tv_escrow_id_hex(info.request_id, idhex);
	if ((r = open_answer(h, text, len, &info, idhex, &req, &ans)) != 0) {
		tv_errctx(r, "%s", response_path);
		goto out;
	}
	if ((ok = calloc(ans->n ? ans->n : 1, 1)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if ((r = save_answers(h, ans, req, idhex, ok, &failed)) != 0)
		goto out;
	tv_pkfpr_format(ans->authority_fpr, afs);
	for (size_t i = 0; i < ans->n; i++) {
		const struct tv_escrow_item *it = item_for(req, ans->items[i].tape_uuid);
		if (!ok[i] || it == NULL)
			continue;
		tv_audit(h, "escrow apply", afs, it->barcode, "unlocked");
		tv_info(h, "%s: unlocked through escrow", it->barcode);
		if ((r = tv_catalog_tape_contents(h, it->barcode)) != 0) {
			tv_warn(h, "%s: %s", it->barcode, tv_errmsg(r));
			failed++;
		}
	}
	r = failed ? tv_errf(TV_ERR_PARTIAL, "%d tape(s) not unlocked or not cataloged", failed) : 0;
out:
	free(ok);
	tv_escrow_answer_free(ans);
	tv_escrow_request_free(req);
	free(text);
	return r;
}
