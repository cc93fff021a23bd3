#include "crypto/slot.h"
#include "crypto/aead.h"
#include "crypto/pkey.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define PW_WRAPPED_LEN (TV_DEK_LEN + TV_GCM_TAG_LEN)
#define RSA_WRAPPED_MIN 256   /* RSA-2048 */

int tv_dek_new(uint8_t dek[TV_DEK_LEN])
{
	return tv_random(dek, TV_DEK_LEN);
}

int tv_dek_verify(const uint8_t dek[TV_DEK_LEN], const uint8_t fpr[TV_FPR_LEN])
{
	uint8_t got[TV_FPR_LEN];
	char a[TV_FPR_HEX_LEN], b[TV_FPR_HEX_LEN];
	int r;

	if ((r = tv_dek_fingerprint(dek, got)) != 0)
		return r;
	if (CRYPTO_memcmp(got, fpr, TV_FPR_LEN) == 0)
		return 0;
	tv_dek_fpr_hex(got, a);
	tv_dek_fpr_hex(fpr, b);
	return tv_errf(TV_ERR_BADKEY, "key does not match: fingerprint %s, expected %s", a, b);
}

/* ---- helpers ---- */

static int copy_str(char *dst, size_t dstsz, const char *src, const char *what, int required)
{
	size_t n = src ? strlen(src) : 0;

	if (n == 0 && required)
		return tv_errf(TV_ERR_INVAL, "%s is required", what);
	if (n >= dstsz)
		return tv_errf(TV_ERR_INVAL, "%s is too long (%zu bytes, at most %zu)",
		               what, n, dstsz - 1);
	memset(dst, 0, dstsz);
	if (n > 0)
		memcpy(dst, src, n);
	return 0;
}

static int slot_aad(struct tv_buf *aad, const uint8_t uuid[TV_UUID_LEN],
                    const struct tv_keyslot *s)
{
	int r;

	tv_buf_init(aad);
	if ((r = tv_keyslot_aad(aad, uuid, s)) != 0)
		return tv_errctx(r, "key slot AAD");
	return 0;
}

/* Printable copy of an untrusted string (names and hints come from tapes). */
static void sanitize(char *out, size_t outsz, const char *in)
{
	size_t o = 0;

	if (outsz == 0)
		return;
	for (; *in != '\0' && o + 1 < outsz; in++)
		out[o++] = ((unsigned char)*in < 0x20 || *in == 0x7f) ? '?' : *in;
	out[o] = '\0';
}

static int str_terminated(const char *s, size_t sz)
{
	return memchr(s, '\0', sz) != NULL;
}

/* ---- password slots ---- */

static void pw_slot_label(const struct tv_keyslot *s, char *out, size_t outsz)
{
	char name[TV_NAME_MAX], hint[TV_HINT_MAX];

	sanitize(name, sizeof(name), str_terminated(s->name, sizeof(s->name)) ? s->name : "");
	sanitize(hint, sizeof(hint), str_terminated(s->hint, sizeof(s->hint)) ? s->hint : "");
	if (hint[0] != '\0')
		snprintf(out, outsz, "%s (hint: %s)", name[0] ? name : "(unnamed)", hint);
	else
		snprintf(out, outsz, "%s (no hint)", name[0] ? name : "(unnamed)");
}

int tv_slot_password_make(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                          const uint8_t dek[TV_DEK_LEN], const void *pw, size_t pwlen,
                          const char *name, const char *hint, enum tv_kdf kdf,
                          const struct tv_kek *kek)
{
	struct tv_kek own;
	const struct tv_kek *k = kek;
	struct tv_buf aad;
	int r;

	memset(&own, 0, sizeof(own));
	tv_buf_init(&aad);
	memset(slot, 0, sizeof(*slot));
	slot->type = TV_SLOT_PASSWORD;
	slot->wrap = TV_WRAP_AES256GCM;
	if ((r = copy_str(slot->name, sizeof(slot->name), name, "password name", 1)) != 0 ||
	    (r = copy_str(slot->hint, sizeof(slot->hint), hint, "password hint", 0)) != 0)
		goto out;
	if (k == NULL) {
		if (pw == NULL || pwlen == 0) {
			r = tv_errf(TV_ERR_INVAL, "empty password");
			goto out;
		}
		if ((r = tv_kek_derive(&own, kdf, NULL, pw, pwlen)) != 0)
			goto out;
		k = &own;
	} else if ((r = tv_kdf_params_check(&k->params)) != 0) {
		r = TV_ERR_INVAL;
		goto out;
	}
	tv_kdf_params_to_slot(slot, &k->params);
	slot->iv_len = TV_GCM_IV_LEN;
	if ((r = tv_random(slot->iv, TV_GCM_IV_LEN)) != 0)
		goto out;
	if ((r = slot_aad(&aad, uuid, slot)) != 0)
		goto out;
	if ((r = tv_gcm_seal(k->key, slot->iv, tv_buf_ptr(&aad), tv_buf_avail(&aad), dek, TV_DEK_LEN,
	                     slot->wrapped, slot->wrapped + TV_DEK_LEN)) != 0)
		goto out;
	slot->wrapped_len = PW_WRAPPED_LEN;
out:
	tv_kek_wipe(&own);
	tv_buf_free(&aad);
	if (r != 0)
		tv_wipe(slot, sizeof(*slot));
	return r;
}

int tv_slot_password_open(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                          const void *pw, size_t pwlen, struct tv_kek_cache *cache,
                          uint8_t dek_out[TV_DEK_LEN])
{
	struct tv_kdf_params p;
	uint8_t kek[TV_KEK_LEN];
	struct tv_buf aad;
	char label[TV_NAME_MAX + TV_HINT_MAX + 16];
	int r;

	tv_buf_init(&aad);
	if (slot->type != TV_SLOT_PASSWORD)
		return tv_errf(TV_ERR_INVAL, "not a password slot");
	if ((r = tv_slot_validate(slot)) != 0)
		return r;
	tv_kdf_params_from_slot(&p, slot);
	if (cache != NULL)
		r = tv_kek_cache_get(cache, &p, pw, pwlen, kek);
	else
		r = tv_kdf_derive(&p, pw, pwlen, kek);
	if (r != 0)
		goto out;
	if ((r = slot_aad(&aad, uuid, slot)) != 0)
		goto out;
	r = tv_gcm_open(kek, slot->iv, tv_buf_ptr(&aad), tv_buf_avail(&aad), slot->wrapped, TV_DEK_LEN,
	                slot->wrapped + TV_DEK_LEN, dek_out);
	if (r == TV_ERR_AUTH) {
		pw_slot_label(slot, label, sizeof(label));
		r = tv_errf(TV_ERR_BADKEY, "wrong password for slot %s", label);
	}
out:
	tv_wipe(kek, sizeof(kek));
	tv_wipe(&p, sizeof(p));
	tv_buf_free(&aad);
	if (r != 0)
		tv_wipe(dek_out, TV_DEK_LEN);
	return r;
}

int tv_slot_password_open_budget(const struct tv_keyslot *slot,
                                 const uint8_t uuid[TV_UUID_LEN], const void *pw, size_t pwlen,
                                 struct tv_kek_cache *cache, struct tv_kdf_budget *b,
                                 uint8_t dek_out[TV_DEK_LEN])
{
	struct tv_kdf_params p;
	uint64_t cost, limit = b->limit ? b->limit : TV_KDF_BUDGET_TAPE;
	int r;

	if (slot->type != TV_SLOT_PASSWORD)
		return tv_errf(TV_ERR_INVAL, "not a password slot");
	if ((r = tv_slot_validate(slot)) != 0)
		return r;
	tv_kdf_params_from_slot(&p, slot);
	cost = tv_kek_cache_has(cache, &p, pw, pwlen) ? 0 : tv_kdf_cost(&p);
	tv_wipe(&p, sizeof(p));
	if (cost > 0 && b->spent + cost > limit)
		return tv_errf(TV_ERR_RANGE, "its key slots ask for more key derivation work than "
		               "one tape may cost (%llu of %llu units spent, %llu derivation(s); a "
		               "unit is one derivation at the defaults)",
		               (unsigned long long)b->spent, (unsigned long long)limit,
		               (unsigned long long)b->derivations);
	b->spent += cost;
	if (cost > 0)
		b->derivations++;
	return tv_slot_password_open(slot, uuid, pw, pwlen, cache, dek_out);
}

/* ---- RSA-OAEP slots (escrow, KMS RSA) ---- */

static int rsa_wrap(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                    const uint8_t dek[TV_DEK_LEN], EVP_PKEY *pub)
{
	struct tv_buf aad;
	size_t outlen = sizeof(slot->wrapped);
	int r;

	if ((r = slot_aad(&aad, uuid, slot)) != 0)
		goto out;
	if ((r = tv_rsa_oaep_encrypt(pub, tv_buf_ptr(&aad), tv_buf_avail(&aad), dek, TV_DEK_LEN,
	                             slot->wrapped, &outlen)) != 0)
		goto out;
	slot->wrapped_len = outlen;
out:
	tv_buf_free(&aad);
	return r;
}

static int rsa_unwrap(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                      EVP_PKEY *priv, uint8_t dek_out[TV_DEK_LEN], const char *what)
{
	struct tv_buf aad;
	uint8_t out[TV_DEK_LEN];
	size_t outlen = sizeof(out);
	int r;

	if ((r = slot_aad(&aad, uuid, slot)) != 0)
		goto out;
	r = tv_rsa_oaep_decrypt(priv, tv_buf_ptr(&aad), tv_buf_avail(&aad), slot->wrapped, slot->wrapped_len,
	                        out, &outlen);
	if (r == TV_ERR_BADKEY) {
		r = tv_errf(TV_ERR_BADKEY, "%s does not unwrap with this key "
		            "(wrong key, slot of another tape, or modified slot)", what);
		goto out;
	}
	if (r != 0)
		goto out;
	if (outlen != TV_DEK_LEN) {
		r = tv_errf(TV_ERR_FORMAT, "%s holds %zu bytes instead of a %d-byte key",
		            what, outlen, TV_DEK_LEN);
		goto out;
	}
	memcpy(dek_out, out, TV_DEK_LEN);
out:
	tv_wipe(out, sizeof(out));
	tv_buf_free(&aad);
	return r;
}

int tv_slot_escrow_make(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                        const uint8_t dek[TV_DEK_LEN], EVP_PKEY *pub)
{
	int r;

	memset(slot, 0, sizeof(*slot));
	if ((r = tv_pubkey_check_rsa(pub)) != 0)
		return tv_errctx(r, "escrow public key");
	slot->type = TV_SLOT_ESCROW;
	slot->wrap = TV_WRAP_RSA_OAEP_SHA256;
	if ((r = tv_pubkey_fingerprint(pub, slot->escrow_fpr)) != 0 ||
	    (r = rsa_wrap(slot, uuid, dek, pub)) != 0)
		memset(slot, 0, sizeof(*slot));
	return r;
}

int tv_slot_escrow_open(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                        EVP_PKEY *priv, uint8_t dek_out[TV_DEK_LEN])
{
	uint8_t fpr[TV_PKFPR_LEN];
	char want[TV_PKFPR_STR_LEN], have[TV_PKFPR_STR_LEN];
	int r;

	if (slot->type != TV_SLOT_ESCROW)
		return tv_errf(TV_ERR_INVAL, "not an escrow slot");
	if ((r = tv_slot_validate(slot)) != 0)
		return r;
	if ((r = tv_pubkey_fingerprint(priv, fpr)) != 0)
		return r;
	if (memcmp(fpr, slot->escrow_fpr, TV_PKFPR_LEN) != 0) {
		tv_pkfpr_format(slot->escrow_fpr, want);
		tv_pkfpr_format(fpr, have);
		return tv_errf(TV_ERR_BADKEY, "the escrow slot is for authority %s, "
		               "the key set given is %s", want, have);
	}
	return rsa_unwrap(slot, uuid, priv, dek_out, "escrow slot");
}

/* ---- KMS slots ---- */

int tv_slot_kms_init(struct tv_keyslot *slot, const struct tv_kms_ident *id,
                     enum tv_kms_kind kind)
{
	int r;

	memset(slot, 0, sizeof(*slot));
	if (kind != TV_KMS_AES && kind != TV_KMS_RSA)
		return tv_errf(TV_ERR_INVAL, "unknown KMS key kind %d", (int)kind);
	slot->type = TV_SLOT_KMS;
	slot->kms_kind = kind;
	slot->wrap = kind == TV_KMS_RSA ? TV_WRAP_RSA_OAEP_SHA256 : TV_WRAP_KMIP_AESGCM;
	if ((r = copy_str(slot->kms_name, sizeof(slot->kms_name), id->server,
	                  "KMS server name", 1)) != 0 ||
	    (r = copy_str(slot->kms_host, sizeof(slot->kms_host), id->host,
	                  "KMS host", 0)) != 0 ||
	    (r = copy_str(slot->key_id, sizeof(slot->key_id), id->key_id,
	                  "KMS key id", 1)) != 0 ||
	    (r = copy_str(slot->name, sizeof(slot->name), id->key_name,
	                  "KMS key name", 0)) != 0)
		goto fail;
	if (id->port > 65535) {
		r = tv_errf(TV_ERR_INVAL, "KMS port %llu", (unsigned long long)id->port);
		goto fail;
	}
	slot->kms_port = id->port;
	if (kind == TV_KMS_AES) {
		slot->iv_len = TV_GCM_IV_LEN;
		if ((r = tv_random(slot->iv, TV_GCM_IV_LEN)) != 0)
			goto fail;
	}
	return 0;
fail:
	memset(slot, 0, sizeof(*slot));
	return r;
}

int tv_slot_kms_aad(struct tv_buf *out, const uint8_t uuid[TV_UUID_LEN],
                    const struct tv_keyslot *slot)
{
	if (slot->type != TV_SLOT_KMS)
		return tv_errf(TV_ERR_INVAL, "not a KMS slot");
	return tv_keyslot_aad(out, uuid, slot);
}

int tv_slot_kms_rsa_wrap(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                         const uint8_t dek[TV_DEK_LEN], EVP_PKEY *pub)
{
	int r;

	if (slot->type != TV_SLOT_KMS || slot->kms_kind != TV_KMS_RSA ||
	    slot->wrap != TV_WRAP_RSA_OAEP_SHA256)
		return tv_errf(TV_ERR_INVAL, "not an initialised KMS RSA slot");
	if ((r = tv_pubkey_check_rsa(pub)) != 0)
		return tv_errctx(r, "KMS public key");
	return rsa_wrap(slot, uuid, dek, pub);
}

int tv_slot_kms_rsa_unwrap(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                           EVP_PKEY *priv, uint8_t dek_out[TV_DEK_LEN])
{
	int r;

	if (slot->type != TV_SLOT_KMS || slot->kms_kind != TV_KMS_RSA)
		return tv_errf(TV_ERR_INVAL, "not a KMS RSA slot");
	if ((r = tv_slot_validate(slot)) != 0)
		return r;
	return rsa_unwrap(slot, uuid, priv, dek_out, "KMS slot");
}

int tv_slot_kms_aes_set_wrapped(struct tv_keyslot *slot, const void *ct, size_t ct_len,
                                const void *tag, size_t tag_len)
{
	if (slot->type != TV_SLOT_KMS || slot->kms_kind != TV_KMS_AES)
		return tv_errf(TV_ERR_INVAL, "not a KMS AES slot");
	if (ct_len != TV_DEK_LEN || tag_len != TV_GCM_TAG_LEN)
		return tv_errf(TV_ERR_PROTO, "KMS returned %zu bytes of ciphertext and a "
		               "%zu-byte tag (expected %d and %d)", ct_len, tag_len,
		               TV_DEK_LEN, TV_GCM_TAG_LEN);
	memcpy(slot->wrapped, ct, ct_len);
	memcpy(slot->wrapped + ct_len, tag, tag_len);
	slot->wrapped_len = ct_len + tag_len;
	return 0;
}

int tv_slot_kms_aes_get_wrapped(const struct tv_keyslot *slot, const uint8_t **ct,
                                size_t *ct_len, const uint8_t **tag, size_t *tag_len,
                                const uint8_t **iv, size_t *iv_len)
{
	int r;

	if (slot->type != TV_SLOT_KMS || slot->kms_kind != TV_KMS_AES)
		return tv_errf(TV_ERR_FORMAT, "not a KMS AES slot");
	if ((r = tv_slot_validate(slot)) != 0)
		return r;
	*ct = slot->wrapped;
	*ct_len = TV_DEK_LEN;
	*tag = slot->wrapped + TV_DEK_LEN;
	*tag_len = TV_GCM_TAG_LEN;
	*iv = slot->iv;
	*iv_len = slot->iv_len;
	return 0;
}

/* ---- validation, description, serialisation ---- */

int tv_slot_validate(const struct tv_keyslot *s)
{
	struct tv_kdf_params p;

	if (s->wrapped_len > sizeof(s->wrapped) || s->iv_len > sizeof(s->iv) ||
	    s->salt_len > sizeof(s->salt))
		return tv_errf(TV_ERR_FORMAT, "key slot field too long");
	if (!str_terminated(s->name, sizeof(s->name)) ||
	    !str_terminated(s->hint, sizeof(s->hint)) ||
	    !str_terminated(s->kms_name, sizeof(s->kms_name)) ||
	    !str_terminated(s->kms_host, sizeof(s->kms_host)) ||
	    !str_terminated(s->key_id, sizeof(s->key_id)))
		return tv_errf(TV_ERR_FORMAT, "key slot string not terminated");
	switch (s->type) {
	case TV_SLOT_PASSWORD:
		if (s->wrap != TV_WRAP_AES256GCM || s->iv_len != TV_GCM_IV_LEN ||
		    s->wrapped_len != PW_WRAPPED_LEN)
			return tv_errf(TV_ERR_FORMAT, "malformed password slot");
		tv_kdf_params_from_slot(&p, s);
		return tv_kdf_params_check(&p);
	case TV_SLOT_KMS:
		if (s->key_id[0] == '\0')
			return tv_errf(TV_ERR_FORMAT, "KMS slot without a key id");
		if (s->kms_port > 65535)
			return tv_errf(TV_ERR_FORMAT, "KMS slot with port %llu",
			               (unsigned long long)s->kms_port);
		if (s->kms_kind == TV_KMS_RSA) {
			if (s->wrap != TV_WRAP_RSA_OAEP_SHA256 ||
			    s->wrapped_len < RSA_WRAPPED_MIN)
				return tv_errf(TV_ERR_FORMAT, "malformed KMS RSA slot");
			return 0;
		}
		if (s->kms_kind == TV_KMS_AES) {
			if (s->wrap != TV_WRAP_KMIP_AESGCM || s->iv_len != TV_GCM_IV_LEN ||
			    s->wrapped_len != PW_WRAPPED_LEN)
				return tv_errf(TV_ERR_FORMAT, "malformed KMS AES slot");
			return 0;
		}
		return tv_errf(TV_ERR_FORMAT, "KMS slot of unknown kind %d", (int)s->kms_kind);
	case TV_SLOT_ESCROW:
		if (s->wrap != TV_WRAP_RSA_OAEP_SHA256 || s->wrapped_len < RSA_WRAPPED_MIN)
			return tv_errf(TV_ERR_FORMAT, "malformed escrow slot");
		return 0;
	default:
		return tv_errf(TV_ERR_FORMAT, "key slot of unknown type %d", (int)s->type);
	}
}

void tv_slot_describe(const struct tv_keyslot *s, char *out, size_t outsz)
{
	char a[TV_NAME_MAX + TV_HINT_MAX + 16], b[TV_KEYID_MAX], c[TV_NAME_MAX],
	     d[TV_HOST_MAX], f[TV_PKFPR_STR_LEN];

	if (outsz == 0)
		return;
	/* no tv_slot_validate() here: it would overwrite the error detail */
	if (s->type < TV_SLOT_PASSWORD || s->type > TV_SLOT_ESCROW) {
		snprintf(out, outsz, "unknown key slot type %d", (int)s->type);
		return;
	}
	switch (s->type) {
	case TV_SLOT_PASSWORD:
		pw_slot_label(s, a, sizeof(a));
		snprintf(out, outsz, "password %s", a);
		break;
	case TV_SLOT_KMS:
		sanitize(b, sizeof(b), str_terminated(s->key_id, sizeof(s->key_id)) ? s->key_id : "");
		sanitize(a, sizeof(a), str_terminated(s->name, sizeof(s->name)) ? s->name : "");
		sanitize(c, sizeof(c), str_terminated(s->kms_name, sizeof(s->kms_name)) ? s->kms_name : "");
		sanitize(d, sizeof(d), str_terminated(s->kms_host, sizeof(s->kms_host)) ? s->kms_host : "");
		snprintf(out, outsz, "KMS %s key id %s%s%s%s on server %s (%s:%llu)",
		         s->kms_kind == TV_KMS_RSA ? "RSA" : "AES", b,
		         a[0] ? " \"" : "", a, a[0] ? "\"" : "", c[0] ? c : "(unnamed)",
		         d[0] ? d : "?", (unsigned long long)s->kms_port);
		break;
	case TV_SLOT_ESCROW:
		tv_pkfpr_format(s->escrow_fpr, f);
		snprintf(out, outsz, "escrow authority %s", f);
		break;
	}
}

void tv_slots_describe(const struct tv_keyslot *slots, size_t n, char *out, size_t outsz)
{
	char one[TV_NAME_MAX + TV_HINT_MAX + TV_HOST_MAX + TV_KEYID_MAX + 64];
	size_t o = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (n == 0) {
		snprintf(out, outsz, "no key slot");
		return;
	}
	for (size_t i = 0; i < n && o + 1 < outsz; i++) {
		int w;

		tv_slot_describe(&slots[i], one, sizeof(one));
		w = snprintf(out + o, outsz - o, "%s%s", i ? "; " : "", one);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

enum {
	ST_TYPE = 1, ST_WRAP, ST_WRAPPED, ST_IV, ST_KDF, ST_SALT, ST_KDF_ITER,
	ST_KDF_MEM, ST_KDF_PAR, ST_NAME, ST_HINT, ST_KMS_NAME, ST_KMS_HOST,
	ST_KMS_PORT, ST_KEY_ID, ST_KMS_KIND, ST_ESCROW_FPR
};

static int put_str_opt(struct tv_buf *b, uint16_t tag, const char *s, size_t sz)
{
	if (!str_terminated(s, sz))
		return tv_errf(TV_ERR_INVAL, "key slot string not terminated");
	return s[0] ? tv_tlv_put_str(b, tag, s) : 0;
}

int tv_slot_encode(struct tv_buf *b, const struct tv_keyslot *s)
{
	int r;

	if ((r = tv_slot_validate(s)) != 0)
		return r == TV_ERR_FORMAT ? tv_errctx(TV_ERR_INVAL, "encoding a key slot") : r;
	if ((r = tv_tlv_put_u64(b, ST_TYPE, (uint64_t)s->type)) != 0 ||
	    (r = tv_tlv_put_u64(b, ST_WRAP, (uint64_t)s->wrap)) != 0 ||
	    (r = tv_tlv_put_bytes(b, ST_WRAPPED, s->wrapped, s->wrapped_len)) != 0 ||
	    (s->iv_len && (r = tv_tlv_put_bytes(b, ST_IV, s->iv, s->iv_len)) != 0) ||
	    (r = put_str_opt(b, ST_NAME, s->name, sizeof(s->name))) != 0 ||
	    (r = put_str_opt(b, ST_HINT, s->hint, sizeof(s->hint))) != 0)
		return r;
	switch (s->type) {
	case TV_SLOT_PASSWORD:
		if ((r = tv_tlv_put_u64(b, ST_KDF, (uint64_t)s->kdf)) != 0 ||
		    (r = tv_tlv_put_bytes(b, ST_SALT, s->salt, s->salt_len)) != 0 ||
		    (r = tv_tlv_put_u64(b, ST_KDF_ITER, s->kdf_iter)) != 0 ||
		    (s->kdf_mem_kib && (r = tv_tlv_put_u64(b, ST_KDF_MEM, s->kdf_mem_kib)) != 0) ||
		    (s->kdf_par && (r = tv_tlv_put_u64(b, ST_KDF_PAR, s->kdf_par)) != 0))
			return r;
		break;
	case TV_SLOT_KMS:
		if ((r = put_str_opt(b, ST_KMS_NAME, s->kms_name, sizeof(s->kms_name))) != 0 ||
		    (r = put_str_opt(b, ST_KMS_HOST, s->kms_host, sizeof(s->kms_host))) != 0 ||
		    (r = tv_tlv_put_u64(b, ST_KMS_PORT, s->kms_port)) != 0 ||
		    (r = put_str_opt(b, ST_KEY_ID, s->key_id, sizeof(s->key_id))) != 0 ||
		    (r = tv_tlv_put_u64(b, ST_KMS_KIND, (uint64_t)s->kms_kind)) != 0)
			return r;
		break;
	case TV_SLOT_ESCROW:
		if ((r = tv_tlv_put_bytes(b, ST_ESCROW_FPR, s->escrow_fpr,
		                          sizeof(s->escrow_fpr))) != 0)
			return r;
		break;
	}
	return 0;
}

static int tlv_small(const struct tv_tlv *it, uint64_t max, uint64_t *v)
{
	int r = tv_tlv_u64(it, v);

	if (r != 0)
		return TV_ERR_FORMAT;
	return *v > max ? TV_ERR_FORMAT : 0;
}

static int tlv_bytes(const struct tv_tlv *it, uint8_t *dst, size_t dstsz, size_t *len)
{
	if (it->len > dstsz)
		return TV_ERR_FORMAT;
	memcpy(dst, it->val, it->len);
	if (len != NULL)
		*len = it->len;
	return 0;
}

int tv_slot_decode(const uint8_t *p, size_t n, struct tv_keyslot *s)
{
	struct tv_buf b;
	struct tv_tlv it;
	uint64_t v;
	size_t fl;
	int r;

	memset(s, 0, sizeof(*s));
	tv_buf_view(&b, p, n);
	for (;;) {
		r = tv_tlv_next(&b, &it);
		if (r == TV_ERR_EOF)
			break;
		if (r != 0)
			return tv_errf(TV_ERR_FORMAT, "key slot: truncated TLV");
		switch (it.tag) {
		case ST_TYPE: r = tlv_small(&it, 255, &v); s->type = (enum tv_slot_type)v; break;
		case ST_WRAP: r = tlv_small(&it, 255, &v); s->wrap = (enum tv_wrap)v; break;
		case ST_KDF: r = tlv_small(&it, 255, &v); s->kdf = (enum tv_kdf)v; break;
		case ST_KMS_KIND: r = tlv_small(&it, 255, &v); s->kms_kind = (enum tv_kms_kind)v; break;
		case ST_KDF_ITER: r = tlv_small(&it, UINT64_MAX, &s->kdf_iter); break;
		case ST_KDF_MEM: r = tlv_small(&it, UINT64_MAX, &s->kdf_mem_kib); break;
		case ST_KDF_PAR: r = tlv_small(&it, UINT64_MAX, &s->kdf_par); break;
		case ST_KMS_PORT: r = tlv_small(&it, UINT64_MAX, &s->kms_port); break;
		case ST_WRAPPED: r = tlv_bytes(&it, s->wrapped, sizeof(s->wrapped), &s->wrapped_len); break;
		case ST_IV: r = tlv_bytes(&it, s->iv, sizeof(s->iv), &s->iv_len); break;
		case ST_SALT: r = tlv_bytes(&it, s->salt, sizeof(s->salt), &s->salt_len); break;
		case ST_ESCROW_FPR:
			r = tlv_bytes(&it, s->escrow_fpr, sizeof(s->escrow_fpr), &fl);
			if (r == 0 && fl != sizeof(s->escrow_fpr))
				r = TV_ERR_FORMAT;
			break;
		case ST_NAME: r = tv_tlv_str(&it, s->name, sizeof(s->name)); break;
		case ST_HINT: r = tv_tlv_str(&it, s->hint, sizeof(s->hint)); break;
		case ST_KMS_NAME: r = tv_tlv_str(&it, s->kms_name, sizeof(s->kms_name)); break;
		case ST_KMS_HOST: r = tv_tlv_str(&it, s->kms_host, sizeof(s->kms_host)); break;
		case ST_KEY_ID: r = tv_tlv_str(&it, s->key_id, sizeof(s->key_id)); break;
		default: r = 0; break;   /* unknown tag: skip (newer writer) */
		}
		if (r != 0) {
			memset(s, 0, sizeof(*s));
			return tv_errf(TV_ERR_FORMAT, "key slot: bad field %u", it.tag);
		}
	}
	if ((r = tv_slot_validate(s)) != 0) {
		memset(s, 0, sizeof(*s));
		return r;
	}
	return 0;
}

/* ---- unlockers ---- */

int tv_unlock_password(void *ctx, const struct tv_keyslot *slots, size_t n,
                       const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN])
{
	const struct tv_password_unlock *u = ctx;
	char msg[1024], label[TV_NAME_MAX + TV_HINT_MAX + 16], all[2048];
	size_t npw = 0, nbad = 0, o = 0;
	int other = 0, r;

	msg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (slots[i].type != TV_SLOT_PASSWORD)
			continue;
		npw++;
		r = tv_slot_password_open(&slots[i], uuid, u->pw, u->pwlen, u->cache, dek_out);
		if (r == 0)
			return 0;
		if (r == TV_ERR_BADKEY) {
			int w;

			pw_slot_label(&slots[i], label, sizeof(label));
			w = snprintf(msg + o, sizeof(msg) - o, "%s%s", nbad ? " or slot " : "", label);
			if (w > 0 && (size_t)w < sizeof(msg) - o)
				o += (size_t)w;
			nbad++;
		} else if (other == 0) {
			other = r;
		}
	}
	if (nbad > 0)
		return tv_errf(TV_ERR_BADKEY, "wrong password for slot %s", msg);
	if (other != 0)
		return other;
	(void)npw;
	tv_slots_describe(slots, n, all, sizeof(all));
	return tv_errf(TV_ERR_LOCKED, "no password slot (protected by: %s)", all);
}

int tv_unlock_escrow(void *ctx, const struct tv_keyslot *slots, size_t n,
                     const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN])
{
	const struct tv_escrow_unlock *u = ctx;
	uint8_t fpr[TV_PKFPR_LEN];
	char f[TV_PKFPR_STR_LEN], all[2048];
	int r, last = 0;

	if ((r = tv_pubkey_fingerprint(u->priv, fpr)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (slots[i].type != TV_SLOT_ESCROW ||
		    memcmp(slots[i].escrow_fpr, fpr, TV_PKFPR_LEN) != 0)
			continue;
		r = tv_slot_escrow_open(&slots[i], uuid, u->priv, dek_out);
		if (r == 0)
			return 0;
		last = r;
	}
	if (last != 0)
		return last;
	tv_pkfpr_format(fpr, f);
	tv_slots_describe(slots, n, all, sizeof(all));
	return tv_errf(TV_ERR_LOCKED, "no escrow slot for authority %s (protected by: %s)",
	               f, all);
}
