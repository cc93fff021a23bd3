#include "crypto/kdf.h"
#include "crypto/aead.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

/* ---- HKDF / fingerprint ---- */

int tv_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                   const void *info, size_t info_len, void *out, size_t out_len)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5], *p = params;
	static const uint8_t empty[1];
	int r;

	if (out_len == 0 || out_len > 255 * 32)
		return tv_errf(TV_ERR_INVAL, "HKDF output length %zu", out_len);
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (kdf == NULL || (ctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "HKDF unavailable");
		goto out;
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
		(void *)(uintptr_t)(ikm_len ? ikm : empty), ikm_len);
	if (salt_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
			(void *)(uintptr_t)salt, salt_len);
	if (info_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
			(void *)(uintptr_t)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "HKDF-SHA256");
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r;
}

int tv_dek_fingerprint(const uint8_t dek[TV_DEK_LEN], uint8_t fpr[TV_FPR_LEN])
{
	static const char label[] = "tapevault dek fingerprint v1";
	uint8_t mac[32];
	size_t maclen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, dek, TV_DEK_LEN,
	              (const unsigned char *)label, sizeof(label) - 1,
	              mac, sizeof(mac), &maclen) == NULL || maclen != sizeof(mac))
		return tv_ossl_err(TV_ERR_CRYPTO, "DEK fingerprint");
	memcpy(fpr, mac, TV_FPR_LEN);
	return 0;
}

void tv_dek_fpr_hex(const uint8_t fpr[TV_FPR_LEN], char out[TV_FPR_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < TV_FPR_LEN; i++) {
		out[2 * i] = hex[fpr[i] >> 4];
		out[2 * i + 1] = hex[fpr[i] & 15];
	}
	out[2 * TV_FPR_LEN] = '\0';
}

/* ---- raw password KDFs ---- */

int tv_pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t salt_len,
                     uint64_t iter, void *out, size_t out_len)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5];
	static const uint8_t empty[1];
	uint64_t it = iter;
	int r;

	if (iter == 0 || iter > TV_PBKDF2_RAW_ITER_MAX)
		return tv_errf(TV_ERR_INVAL, "PBKDF2 iteration count %llu",
		               (unsigned long long)iter);
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_PBKDF2, NULL);
	if (kdf == NULL || (ctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "PBKDF2 unavailable");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
		(void *)(uintptr_t)(pwlen ? pw : empty), pwlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		(void *)(uintptr_t)(salt_len ? salt : empty), salt_len);
	params[3] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &it);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "PBKDF2-HMAC-SHA256");
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r;
}

int tv_argon2id(const void *pw, size_t pwlen, const void *salt, size_t salt_len,
                uint32_t t_cost, uint32_t m_kib, uint32_t par, void *out, size_t out_len)
{
	int ar;

	if (pwlen > UINT32_MAX || salt_len > UINT32_MAX || out_len > UINT32_MAX)
		return tv_errf(TV_ERR_INVAL, "Argon2id input too long");
	ar = argon2id_hash_raw(t_cost, m_kib, par, pw, pwlen, salt, salt_len,
	                       out, out_len);
	if (ar == ARGON2_MEMORY_ALLOCATION_ERROR)
		return tv_errf(TV_ERR_NOMEM, "Argon2id: cannot allocate %u KiB", m_kib);
	if (ar != ARGON2_OK)
		return tv_errf(TV_ERR_CRYPTO, "Argon2id: %s", argon2_error_message(ar));
	return 0;
}

/* ---- parameters and policy ---- */

int tv_kdf_params_new(struct tv_kdf_params *p, enum tv_kdf kdf)
{
	memset(p, 0, sizeof(*p));
	if (kdf == 0)
		kdf = TV_KDF_PBKDF2_SHA256;
	p->kdf = kdf;
	switch (kdf) {
	case TV_KDF_PBKDF2_SHA256:
		p->iter = TV_PBKDF2_ITER_DEFAULT;
		break;
	case TV_KDF_ARGON2ID:
		p->iter = TV_ARGON2_T_DEFAULT;
		p->mem_kib = TV_ARGON2_M_DEFAULT;
		p->par = TV_ARGON2_P_DEFAULT;
		break;
	default:
		return tv_errf(TV_ERR_INVAL, "unknown password KDF %d", (int)kdf);
	}
	p->salt_len = TV_KDF_SALT_DEFAULT;
	return tv_random(p->salt, p->salt_len);
}

int tv_kdf_params_check(const struct tv_kdf_params *p)
{
	if (p->salt_len < TV_KDF_SALT_MIN || p->salt_len > TV_SALT_MAX)
		return tv_errf(TV_ERR_FORMAT, "password KDF salt of %zu bytes (need %u to %u)",
		               p->salt_len, TV_KDF_SALT_MIN, TV_SALT_MAX);
	switch (p->kdf) {
	case TV_KDF_PBKDF2_SHA256:
		if (p->iter < TV_PBKDF2_ITER_MIN)
			return tv_errf(TV_ERR_FORMAT,
			               "PBKDF2 with %llu iterations is too weak (minimum %u)",
			               (unsigned long long)p->iter, TV_PBKDF2_ITER_MIN);
		if (p->iter > TV_KDF_ITER_MAX)
			return tv_errf(TV_ERR_FORMAT,
			               "PBKDF2 with %llu iterations refused (maximum %u)",
			               (unsigned long long)p->iter, TV_KDF_ITER_MAX);
		if (p->mem_kib != 0 || p->par != 0)
			return tv_errf(TV_ERR_FORMAT, "PBKDF2 slot with Argon2 parameters");
		return 0;
	case TV_KDF_ARGON2ID:
		if (p->iter < TV_ARGON2_T_MIN || p->iter > TV_ARGON2_T_MAX)
			return tv_errf(TV_ERR_FORMAT, "Argon2id time cost %llu refused (%u to %u)",
			               (unsigned long long)p->iter, TV_ARGON2_T_MIN, TV_ARGON2_T_MAX);
		if (p->mem_kib < TV_ARGON2_M_MIN || p->mem_kib > TV_ARGON2_M_MAX)
			return tv_errf(TV_ERR_FORMAT,
			               "Argon2id memory cost %llu KiB refused (%u KiB to %u KiB)",
			               (unsigned long long)p->mem_kib, TV_ARGON2_M_MIN,
			               TV_ARGON2_M_MAX);
		if (p->iter * p->mem_kib < TV_ARGON2_TM_MIN)
			return tv_errf(TV_ERR_FORMAT,
			               "Argon2id t=%llu m=%llu KiB is too weak",
			               (unsigned long long)p->iter, (unsigned long long)p->mem_kib);
		if (p->iter * p->mem_kib > TV_ARGON2_TM_MAX)
			return tv_errf(TV_ERR_FORMAT,
			               "Argon2id t=%llu m=%llu KiB refused: it would take too long "
			               "(t*m at most %llu KiB)",
			               (unsigned long long)p->iter, (unsigned long long)p->mem_kib,
			               (unsigned long long)TV_ARGON2_TM_MAX);
		if (p->par < 1 || p->par > TV_ARGON2_P_MAX)
			return tv_errf(TV_ERR_FORMAT, "Argon2id parallelism %llu refused (1 to %u)",
			               (unsigned long long)p->par, TV_ARGON2_P_MAX);
		if (p->mem_kib < 8 * p->par)
			return tv_errf(TV_ERR_FORMAT, "Argon2id memory below 8 KiB per lane");
		return 0;
	default:
		return tv_errf(TV_ERR_FORMAT, "unknown password KDF %d", (int)p->kdf);
	}
}

uint64_t tv_kdf_cost(const struct tv_kdf_params *p)
{
	uint64_t unit, work;

	if (p->kdf == TV_KDF_ARGON2ID) {
		unit = (uint64_t)TV_ARGON2_T_DEFAULT * TV_ARGON2_M_DEFAULT;
		work = p->iter <= TV_ARGON2_T_MAX && p->mem_kib <= TV_ARGON2_M_MAX ?
		       p->iter * p->mem_kib : UINT64_MAX / 2;
	} else {
		unit = TV_PBKDF2_ITER_DEFAULT;
		work = p->iter <= UINT64_MAX / 2 ? p->iter : UINT64_MAX / 2;
	}
	work = (work + unit - 1) / unit;
	return work ? work : 1;
}

void tv_kdf_params_from_slot(struct tv_kdf_params *p, const struct tv_keyslot *s)
{
	memset(p, 0, sizeof(*p));
	p->kdf = s->kdf;
	p->salt_len = s->salt_len <= TV_SALT_MAX ? s->salt_len : TV_SALT_MAX + 1;
	if (s->salt_len <= TV_SALT_MAX)
		memcpy(p->salt, s->salt, s->salt_len);
	p->iter = s->kdf_iter;
	p->mem_kib = s->kdf_mem_kib;
	p->par = s->kdf_par;
}

void tv_kdf_params_to_slot(struct tv_keyslot *s, const struct tv_kdf_params *p)
{
	s->kdf = p->kdf;
	memset(s->salt, 0, sizeof(s->salt));
	memcpy(s->salt, p->salt, p->salt_len);
	s->salt_len = p->salt_len;
	s->kdf_iter = p->iter;
	s->kdf_mem_kib = p->mem_kib;
	s->kdf_par = p->par;
}

int tv_kdf_params_equal(const struct tv_kdf_params *a, const struct tv_kdf_params *b)
{
	return a->kdf == b->kdf && a->salt_len == b->salt_len && a->iter == b->iter &&
	       a->mem_kib == b->mem_kib && a->par == b->par &&
	       a->salt_len <= TV_SALT_MAX && memcmp(a->salt, b->salt, a->salt_len) == 0;
}

int tv_kdf_derive(const struct tv_kdf_params *p, const void *pw, size_t pwlen,
                  uint8_t kek[TV_KEK_LEN])
{
	int r;

	if ((r = tv_kdf_params_check(p)) != 0)
		return r;
	if (p->kdf == TV_KDF_PBKDF2_SHA256)
		return tv_pbkdf2_sha256(pw, pwlen, p->salt, p->salt_len, p->iter,
		                        kek, TV_KEK_LEN);
	return tv_argon2id(pw, pwlen, p->salt, p->salt_len, (uint32_t)p->iter,
	                   (uint32_t)p->mem_kib, (uint32_t)p->par, kek, TV_KEK_LEN);
}

/* ---- tv_kek ---- */

int tv_kek_derive(struct tv_kek *k, enum tv_kdf kdf, const struct tv_kdf_params *p,
                  const void *pw, size_t pwlen)
{
	int r;

	memset(k, 0, sizeof(*k));
	if (p != NULL)
		k->params = *p;
	else if ((r = tv_kdf_params_new(&k->params, kdf)) != 0)
		return r;
	if ((r = tv_kdf_derive(&k->params, pw, pwlen, k->key)) != 0)
		tv_kek_wipe(k);
	return r;
}

void tv_kek_wipe(struct tv_kek *k)
{
	tv_wipe(k, sizeof(*k));
}

/* ---- KEK cache ---- */

struct kek_entry {
	struct tv_kdf_params params;
	uint8_t pwhash[32];
	uint8_t kek[TV_KEK_LEN];
	uint64_t used;            /* LRU clock; 0 = empty */
};

struct tv_kek_cache {
	struct kek_entry *e;
	size_t n;
	uint64_t clock;
	uint64_t derivations;
};

int tv_kek_cache_new(struct tv_kek_cache **out, size_t max_entries)
{
	struct tv_kek_cache *c;

	*out = NULL;
	if (max_entries == 0)
		max_entries = 16;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TV_ERR_NOMEM;
	if ((c->e = calloc(max_entries, sizeof(*c->e))) == NULL) {
		free(c);
		return TV_ERR_NOMEM;
	}
	c->n = max_entries;
	*out = c;
	return 0;
}

void tv_kek_cache_free(struct tv_kek_cache *c)
{
	if (c == NULL)
		return;
	tv_freezero(c->e, c->n * sizeof(*c->e));
	free(c);
}

static int pw_hash(const void *pw, size_t pwlen, uint8_t out[32])
{
	unsigned int len = 0;
	static const uint8_t empty[1];

	if (EVP_Digest(pwlen ? pw : empty, pwlen, out, &len, EVP_sha256(), NULL) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
	return 0;
}

static struct kek_entry *cache_find(struct tv_kek_cache *c, const struct tv_kdf_params *p,
                                    const uint8_t pwh[32])
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].used != 0 && tv_kdf_params_equal(&c->e[i].params, p) &&
		    CRYPTO_memcmp(c->e[i].pwhash, pwh, 32) == 0)
			return &c->e[i];
	return NULL;
}

static struct kek_entry *cache_slot(struct tv_kek_cache *c)
{
	struct kek_entry *victim = &c->e[0];

	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].used == 0)
			return &c->e[i];
		if (c->e[i].used < victim->used)
			victim = &c->e[i];
	}
	tv_wipe(victim, sizeof(*victim));
	return victim;
}

int tv_kek_cache_get(struct tv_kek_cache *c, const struct tv_kdf_params *p,
                     const void *pw, size_t pwlen, uint8_t kek[TV_KEK_LEN])
{
	struct kek_entry *e;
	uint8_t pwh[32];
	int r;

	if ((r = tv_kdf_params_check(p)) != 0)
		return r;
	if ((r = pw_hash(pw, pwlen, pwh)) != 0)
		goto out;
	if ((e = cache_find(c, p, pwh)) == NULL) {
		if ((r = tv_kdf_derive(p, pw, pwlen, kek)) != 0)
			goto out;
		c->derivations++;
		e = cache_slot(c);
		e->params = *p;
		memcpy(e->pwhash, pwh, 32);
		memcpy(e->kek, kek, TV_KEK_LEN);
	} else {
		memcpy(kek, e->kek, TV_KEK_LEN);
	}
	e->used = ++c->clock;
	r = 0;
out:
	tv_wipe(pwh, sizeof(pwh));
	return r;
}

int tv_kek_cache_put(struct tv_kek_cache *c, const struct tv_kek *k,
                     const void *pw, size_t pwlen)
{
	struct kek_entry *e;
	uint8_t pwh[32];
	int r;

	if ((r = pw_hash(pw, pwlen, pwh)) != 0)
		return r;
	if ((e = cache_find(c, &k->params, pwh)) == NULL)
		e = cache_slot(c);
	e->params = k->params;
	memcpy(e->pwhash, pwh, 32);
	memcpy(e->kek, k->key, TV_KEK_LEN);
	e->used = ++c->clock;
	tv_wipe(pwh, sizeof(pwh));
	return 0;
}

int tv_kek_cache_has(struct tv_kek_cache *c, const struct tv_kdf_params *p,
                     const void *pw, size_t pwlen)
{
	uint8_t pwh[32];
	int found;

	if (c == NULL || pw_hash(pw, pwlen, pwh) != 0)
		return 0;
	found = cache_find(c, p, pwh) != NULL;
	tv_wipe(pwh, sizeof(pwh));
	return found;
}

uint64_t tv_kek_cache_derivations(const struct tv_kek_cache *c)
{
	return c->derivations;
}
