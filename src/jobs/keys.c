/* tapevault: key management glue (see keys.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "catalog/query.h"
#include "crypto/escrow.h"
#include "crypto/kdf.h"
#include "crypto/keystore.h"
#include "crypto/pkey.h"
#include "crypto/rand.h"
#include "crypto/slot.h"
#include "jobs/keys.h"
#include "jobs/kmsglue.h"
#include "util/err.h"
#include "util/wipe.h"

#define MAX_WRITE_KEKS 8

struct tv_keyctx {
	struct tv_kek_cache *cache;            /* for opening password slots */
	struct {
		char name[TV_NAME_MAX];
		struct tv_kek kek;
		int used;
	} wk[MAX_WRITE_KEKS];                  /* one KDF run per password per job */
};

int tv_keys_init_store(const char *homedir) { return tv_keystore_create(homedir); }

int tv_keys_open_store(struct tv_home *h)
{
	int r;

	if ((r = tv_keystore_load(h->dir, &h->ks)) != 0)
		return r;
	if ((h->kc = calloc(1, sizeof(*h->kc))) == NULL)
		return TV_ERR_NOMEM;
	return tv_kek_cache_new(&h->kc->cache, 0);
}

void tv_keys_close_store(struct tv_home *h)
{
	if (h->kc != NULL) {
		tv_kek_cache_free(h->kc->cache);
		for (int i = 0; i < MAX_WRITE_KEKS; i++)
			if (h->kc->wk[i].used)
				tv_kek_wipe(&h->kc->wk[i].kek);
		tv_wipe(h->kc, sizeof(*h->kc));
		free(h->kc);
		h->kc = NULL;
	}
	tv_kmsglue_close_all(h);
	tv_keystore_free(h->ks);
	h->ks = NULL;
}

int tv_keys_seal(struct tv_home *h, const char *purpose, const void *pt, size_t n,
                 struct tv_buf *out)
{
	return tv_keystore_seal(h->ks, purpose, strlen(purpose), pt, n, out);
}

int tv_keys_unseal(struct tv_home *h, const char *purpose, const void *blob, size_t n,
                   struct tv_buf *out)
{
	return tv_keystore_open(h->ks, purpose, strlen(purpose), blob, n, out);
}

static void dek_purpose(const uint8_t uuid[16], char out[64])
{
	char u[37];
	tv_uuid_to_str(uuid, u);
	snprintf(out, 64, "dek:%s", u);
}

int tv_keys_save_dek(struct tv_home *h, const uint8_t tape_uuid[16],
                     const uint8_t dek[TV_DEK_LEN], const char *source)
{
	char purpose[64];
	uint8_t fpr[TV_FPR_LEN];
	struct tv_buf b;
	int r;

	tv_buf_init(&b);
	dek_purpose(tape_uuid, purpose);
	if ((r = tv_dek_fingerprint(dek, fpr)) != 0 ||
	    (r = tv_keys_seal(h, purpose, dek, TV_DEK_LEN, &b)) != 0)
		goto out;
	r = tv_db_exec(h->db,
	               "INSERT INTO tape_keys(tape_uuid, dek_fpr, sealed, source, created) "
	               "VALUES(?,?,?,?,?) ON CONFLICT(tape_uuid) DO UPDATE SET "
	               "dek_fpr=excluded.dek_fpr, sealed=excluded.sealed, source=excluded.source",
	               "bbbti", tape_uuid, (size_t)16, fpr, (size_t)TV_FPR_LEN, tv_buf_ptr(&b),
	               tv_buf_avail(&b), source, (int64_t)tv_now());
	if (r == 0)
		r = tv_db_exec(h->db, "UPDATE tapes SET locked=0 WHERE uuid=?", "b", tape_uuid,
		               (size_t)16);
out:
	tv_buf_free(&b);
	return r;
}

int tv_keys_load_dek(struct tv_home *h, const uint8_t tape_uuid[16], uint8_t dek[TV_DEK_LEN])
{
	struct tv_stmt *q;
	struct tv_buf out;
	char purpose[64];
	int r;

	tv_buf_init(&out);
	if ((r = tv_db_query(h->db, &q, "SELECT sealed, dek_fpr FROM tape_keys WHERE tape_uuid=?",
	                     "b", tape_uuid, (size_t)16)) != 0)
		return r;
	r = tv_stmt_step(q);
	if (r == 1) {
		size_t n, fn;
		const void *p = tv_stmt_blob(q, 0, &n);
		const void *fp = tv_stmt_blob(q, 1, &fn);
		dek_purpose(tape_uuid, purpose);
		r = tv_keys_unseal(h, purpose, p, n, &out);
		if (r == 0 && tv_buf_avail(&out) != TV_DEK_LEN)
			r = tv_errf(TV_ERR_FORMAT, "stored data key has a wrong length");
		if (r == 0) {
			memcpy(dek, tv_buf_ptr(&out), TV_DEK_LEN);
			if (fp == NULL || fn != TV_FPR_LEN || tv_dek_verify(dek, fp) != 0) {
				tv_wipe(dek, TV_DEK_LEN);
				r = tv_errf(TV_ERR_BADKEY, "stored data key does not match its fingerprint");
			}
		}
	} else if (r == 0) {
		r = TV_ERR_NOTFOUND;
	}
	tv_stmt_free(q);
	tv_buf_free(&out);
	return r;
}

int tv_keys_password_add(struct tv_home *h, const char *name, const char *hint,
                         const char *pw, size_t len, enum tv_kdf kdf)
{
	char purpose[TV_NAME_MAX + 16];
	struct tv_kdf_params p;
	struct tv_buf b;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if (name == NULL || *name == '\0' || strlen(name) >= TV_NAME_MAX)
		return tv_errf(TV_ERR_INVAL, "password name must be 1 to %d characters",
		               TV_NAME_MAX - 1);
	if (hint == NULL || strlen(hint) >= TV_HINT_MAX)
		return tv_errf(TV_ERR_INVAL, "hint must be at most %d characters", TV_HINT_MAX - 1);
	if (len >= 1 && strstr(hint, pw) != NULL)
		return tv_errf(TV_ERR_INVAL, "the hint must not contain the password");
	if ((r = tv_kdf_params_new(&p, kdf)) != 0)   /* a KDF this version knows */
		return r;
	tv_buf_init(&b);
	snprintf(purpose, sizeof(purpose), "password:%s", name);
	if ((r = tv_keys_seal(h, purpose, pw, len, &b)) != 0)
		goto out;
	/* no key-encryption key is kept: every writing job derives its own
	 * (write_kek), with a fresh salt */
	r = tv_db_exec(h->db, "INSERT INTO passwords(name, hint, sealed, created, kdf)"
	               " VALUES(?,?,?,?,?)", "ttbit", name, hint, tv_buf_ptr(&b),
	               tv_buf_avail(&b), (int64_t)tv_now(),
	               p.kdf == TV_KDF_ARGON2ID ? "argon2id" : "pbkdf2");
	if (r == TV_ERR_EXISTS)
		r = tv_errf(TV_ERR_EXISTS, "a password named '%s' already exists", name);
out:
	tv_wipe(&p, sizeof(p));
	tv_buf_free(&b);
	return r;
}

int tv_keys_password_get(struct tv_home *h, const char *name, char **pw, size_t *len)
{
	struct tv_stmt *q;
	struct tv_buf out;
	char purpose[TV_NAME_MAX + 16];
	int r;

	*pw = NULL;
	tv_buf_init(&out);
	if ((r = tv_db_query(h->db, &q, "SELECT sealed FROM passwords WHERE name=?", "t",
	                     name)) != 0)
		return r;
	r = tv_stmt_step(q);
	if (r == 1) {
		size_t n;
		const void *p = tv_stmt_blob(q, 0, &n);
		snprintf(purpose, sizeof(purpose), "password:%s", name);
		r = tv_keys_unseal(h, purpose, p, n, &out);
		if (r == 0) {
			*len = tv_buf_avail(&out);
			if ((*pw = malloc(*len + 1)) == NULL)
				r = TV_ERR_NOMEM;
			else {
				memcpy(*pw, tv_buf_ptr(&out), *len);
				(*pw)[*len] = '\0';
			}
		}
	} else if (r == 0) {
		r = tv_errf(TV_ERR_NOTFOUND, "no password named '%s'", name);
	}
	tv_stmt_free(q);
	tv_buf_free(&out);
	return r;
}

static void free_pw(char *pw, size_t len)
{
	if (pw != NULL) {
		tv_wipe(pw, len + 1);
		free(pw);
	}
}

static int write_kek(struct tv_home *h, const char *name, const struct tv_kek **out)
{
	char *pw = NULL, kdfname[16] = "pbkdf2";
	size_t len = 0;
	int i, free_slot = -1, r;

	for (i = 0; i < MAX_WRITE_KEKS; i++) {
		if (h->kc->wk[i].used && strcmp(h->kc->wk[i].name, name) == 0) {
			*out = &h->kc->wk[i].kek;
			return 0;
		}
		if (!h->kc->wk[i].used && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		free_slot = 0;
		tv_kek_wipe(&h->kc->wk[0].kek);
	}
	/* one KDF run per password and job, with a fresh salt: the tapes of
	 * one job share it, the next job gets another (docs/SECURITY.md §3) */
	tv_db_get_text(h->db, kdfname, sizeof(kdfname), "SELECT kdf FROM passwords WHERE "
	               "name=?", "t", name);
	if ((r = tv_keys_password_get(h, name, &pw, &len)) != 0)
		return r;
	r = tv_kek_derive(&h->kc->wk[free_slot].kek, strcmp(kdfname, "argon2id") == 0 ?
	                  TV_KDF_ARGON2ID : TV_KDF_PBKDF2_SHA256, NULL, pw, len);
	free_pw(pw, len);
	if (r != 0)
		return r;
	snprintf(h->kc->wk[free_slot].name, sizeof(h->kc->wk[free_slot].name), "%s", name);
	h->kc->wk[free_slot].used = 1;
	*out = &h->kc->wk[free_slot].kek;
	return 0;
}

struct escrow_slots {
	const uint8_t *tape_uuid, *dek;
	struct tv_encdesc *enc;
};

static int add_escrow_slot(void *ctx, const struct tv_escrow_key_row *row)
{
	struct escrow_slots *e = ctx;
	EVP_PKEY *pub = NULL;
	int r;

	if (e->enc->nslots >= TV_MAX_SLOTS)
		return tv_errf(TV_ERR_RANGE, "too many key slots");
	if ((r = tv_pubkey_from_pem(row->public_pem, strlen(row->public_pem), &pub)) != 0)
		return r;
	r = tv_slot_escrow_make(&e->enc->slots[e->enc->nslots], e->tape_uuid, e->dek, pub);
	EVP_PKEY_free(pub);
	if (r == 0)
		e->enc->nslots++;
	return r;
}

/* A slot for every enabled escrow authority (password loss protection). */
static int add_escrow_slots(struct tv_home *h, const uint8_t tape_uuid[16],
                            const uint8_t dek[TV_DEK_LEN], struct tv_encdesc *enc)
{
	struct escrow_slots e = { tape_uuid, dek, enc };

	return tv_query_escrow_keys(h->db, add_escrow_slot, &e);
}

int tv_keys_new_tape(struct tv_home *h, const char *spec, const uint8_t tape_uuid[16],
                     uint8_t dek[TV_DEK_LEN], struct tv_encdesc *enc)
{
	int r;

	memset(enc, 0, sizeof(*enc));
	if (spec == NULL || strcmp(spec, "none") == 0) {
		enc->alg = TV_ENC_NONE;
		return 0;
	}
	if ((r = tv_dek_new(dek)) != 0)
		return r;
	enc->alg = TV_ENC_AES256GCM_HKDF;
	if ((r = tv_dek_fingerprint(dek, enc->dek_fpr)) != 0)
		goto fail;
	if (strncmp(spec, "password:", 9) == 0) {
		const struct tv_kek *kek;
		char hint[TV_HINT_MAX] = "";
		const char *name = spec + 9;
		if ((r = write_kek(h, name, &kek)) != 0)
			goto fail;
		tv_db_get_text(h->db, hint, sizeof(hint), "SELECT hint FROM passwords WHERE name=?",
		               "t", name);
		r = tv_slot_password_make(&enc->slots[0], tape_uuid, dek, NULL, 0, name, hint,
		                          kek->params.kdf, kek);
		if (r != 0)
			goto fail;
		enc->nslots = 1;
	} else if (strncmp(spec, "kms:", 4) == 0) {
		char server[TV_NAME_MAX], *colon;
		snprintf(server, sizeof(server), "%s", spec + 4);
		if ((colon = strchr(server, ':')) == NULL) {
			r = tv_errf(TV_ERR_INVAL, "pool encryption '%s' has no key id", spec);
			goto fail;
		}
		*colon = '\0';
		if ((r = tv_kmsglue_make_slot(h, server, colon + 1, tape_uuid, dek,
		                              &enc->slots[0])) != 0)
			goto fail;
		enc->nslots = 1;
	} else {
		r = tv_errf(TV_ERR_INVAL, "unknown pool encryption '%s'", spec);
		goto fail;
	}
	if ((r = add_escrow_slots(h, tape_uuid, dek, enc)) != 0)
		goto fail;
	return 0;
fail:
	tv_wipe(dek, TV_DEK_LEN);
	tv_wipe(enc, sizeof(*enc));
	return r;
}

void tv_keys_describe(const struct tv_encdesc *enc, char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < enc->nslots; i++) {
		char one[600];
		int n;
		if (enc->slots[i].type == TV_SLOT_ESCROW)
			continue;
		tv_slot_describe(&enc->slots[i], one, sizeof(one));
		n = snprintf(out + used, outsz - used, "%s%s", used ? " or " : "", one);
		if (n < 0 || (size_t)n >= outsz - used)
			break;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(out, outsz, "escrow recovery (no other key slot)");
}

/* Tries stored passwords on a password slot within the tape's work
 * budget: named_only, just the password the slot names; else every other
 * one.  0 (opened), TV_ERR_LOCKED (none fits), TV_ERR_RANGE (budget
 * spent: the detail says so), or a catalog error. */
static int try_passwords(struct tv_home *h, const struct tv_keyslot *s,
                         const uint8_t tape_uuid[16], int named_only, struct tv_kdf_budget *b,
                         uint8_t dek[TV_DEK_LEN], char *how, size_t howsz)
{
	struct tv_stmt *q;
	int r, sr, found = TV_ERR_LOCKED;

	if ((r = tv_db_query(h->db, &q, named_only ? "SELECT name FROM passwords WHERE name=?" :
	                     "SELECT name FROM passwords WHERE name<>? ORDER BY id", "t",
	                     s->name)) != 0)
		return r;
	while ((sr = tv_stmt_step(q)) == 1) {
		char *pw = NULL;
		size_t len = 0;
		char name[TV_NAME_MAX];
		snprintf(name, sizeof(name), "%s", tv_stmt_text(q, 0));
		if (tv_keys_password_get(h, name, &pw, &len) != 0)
			continue;
		r = tv_slot_password_open_budget(s, tape_uuid, pw, len, h->kc->cache, b, dek);
		free_pw(pw, len);
		if (r == 0) {
			snprintf(how, howsz, "password '%s'", name);
			found = 0;
			break;
		}
		if (r == TV_ERR_RANGE) {
			found = r;
			break;
		}
	}
	tv_stmt_free(q);
	return sr < 0 ? sr : found;
}

/* Stored passwords on the password slots, within the tape's budget b:
 * named_only, each slot's own password; else the others. */
static int unlock_by_passwords(struct tv_home *h, const uint8_t tape_uuid[16],
                               const struct tv_encdesc *enc, int named_only,
                               struct tv_kdf_budget *b, uint8_t dek[TV_DEK_LEN],
                               char *how, size_t howsz)
{
	int r;

	for (size_t i = 0; i < enc->nslots; i++) {
		if (enc->slots[i].type != TV_SLOT_PASSWORD)
			continue;
		r = try_passwords(h, &enc->slots[i], tape_uuid, named_only, b, dek, how, howsz);
		if (r != TV_ERR_LOCKED)
			return r;
	}
	return TV_ERR_LOCKED;
}

int tv_keys_unlock(struct tv_home *h, const uint8_t tape_uuid[16],
                   const struct tv_encdesc *enc, uint8_t dek[TV_DEK_LEN], char *how,
                   size_t howsz)
{
	struct tv_kdf_budget b = { TV_KDF_BUDGET_TAPE, 0, 0 };
	char why[512] = "";
	int r;

	how[0] = '\0';
	if (enc->alg == TV_ENC_NONE)
		return tv_errf(TV_ERR_INVAL, "tape is not encrypted");
	r = tv_keys_load_dek(h, tape_uuid, dek);
	if (r == 0) {
		if (tv_dek_verify(dek, enc->dek_fpr) == 0) {
			snprintf(how, howsz, "its data key known to this installation");
			return 0;
		}
		tv_wipe(dek, TV_DEK_LEN);
	}
	/* the password each slot names first: one derivation in the usual case */
	if ((r = unlock_by_passwords(h, tape_uuid, enc, 1, &b, dek, how, howsz)) == 0)
		goto got;
	if (r != TV_ERR_LOCKED && r != TV_ERR_RANGE)
		return r;
	for (size_t i = 0; r != TV_ERR_RANGE && i < enc->nslots; i++) {
		const struct tv_keyslot *s = &enc->slots[i];
		char used[300];
		if (s->type != TV_SLOT_KMS)
			continue;
		r = tv_kmsglue_open_slot(h, s, tape_uuid, NULL, NULL, dek, used, sizeof(used));
		if (r == 0) {
			snprintf(how, howsz, "KMS key %s on %s", s->key_id, used);
			goto got;
		}
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "%s", tv_errmsg(r));
	}
	if (r != TV_ERR_RANGE &&
	    (r = unlock_by_passwords(h, tape_uuid, enc, 0, &b, dek, how, howsz)) == 0)
		goto got;
	if (r == TV_ERR_RANGE) {
		/* a hostile (or very odd) tape: reported, left locked */
		snprintf(why, sizeof(why), "stored passwords not tried further: %s; left locked "
		         "(give the password with 'tapevault decrypt')", tv_errmsg(r));
		tv_warn(h, "%s", why);
	} else if (r != TV_ERR_LOCKED) {
		return r;
	}
	snprintf(how, howsz, "%s", why);
	return TV_ERR_LOCKED;
got:
	if ((r = tv_dek_verify(dek, enc->dek_fpr)) != 0) {
		tv_wipe(dek, TV_DEK_LEN);
		return tv_errf(TV_ERR_BADKEY, "a key slot opened but gave a key that does not match "
		               "the tape's key fingerprint (label tampered with?)");
	}
	{
		char src[600];
		snprintf(src, sizeof(src), "%s", how);
		return tv_keys_save_dek(h, tape_uuid, dek, src);
	}
}
