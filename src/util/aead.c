#include "util/aead.h"
#include "util/err.h"
#include "util/wipe.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct tv_aead {
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *cipher;
	uint8_t key[TV_GCM_KEY_LEN];   /* the key loaded into ctx */
	int keyed;
	int enc;                       /* ctx keyed for sealing */
};

int tv_ossl_err(int err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char msg[256];

	if (e != 0) {
		ERR_error_string_n(e, msg, sizeof(msg));
		ERR_clear_error();
		return tv_errf(err, "%s: %s", what, msg);
	}
	return tv_errf(err, "%s", what);
}

int tv_aead_new(struct tv_aead **out)
{
	struct tv_aead *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return TV_ERR_NOMEM;
	a->ctx = EVP_CIPHER_CTX_new();
	a->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (a->ctx == NULL || a->cipher == NULL) {
		tv_aead_free(a);
		return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM context unavailable");
	}
	*out = a;
	return 0;
}

void tv_aead_free(struct tv_aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);   /* wipes the key schedule */
	EVP_CIPHER_free(a->cipher);
	tv_wipe(a, sizeof(*a));
	free(a);
}

/* Loads key for the direction unless it is there already, then the nonce. */
static int start(struct tv_aead *a, int enc, const uint8_t *key, const uint8_t *iv)
{
	if (!a->keyed || a->enc != enc || CRYPTO_memcmp(a->key, key, TV_GCM_KEY_LEN) != 0) {
		a->keyed = 0;
		if (EVP_CipherInit_ex(a->ctx, a->cipher, NULL, key, NULL, enc) != 1)
			return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM key setup");
		memcpy(a->key, key, TV_GCM_KEY_LEN);
		a->keyed = 1;
		a->enc = enc;
	}
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, enc) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM nonce");
	return 0;
}

/* EVP update lengths are int: feed large buffers in pieces. */
static int update(struct tv_aead *a, uint8_t *out, const uint8_t *in, size_t n)
{
	int outl;

	while (n > 0) {
		int chunk = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;

		if (EVP_CipherUpdate(a->ctx, out, &outl, in, chunk) != 1)
			return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM");
		if (out != NULL)
			out += outl;
		in += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static int feed_aad(struct tv_aead *a, const struct tv_aad *aad, size_t naad)
{
	int r;

	for (size_t i = 0; i < naad; i++)
		if (aad[i].n > 0 && (r = update(a, NULL, aad[i].p, aad[i].n)) != 0)
			return r;
	return 0;
}

int tv_aead_seal(struct tv_aead *a, const uint8_t key[TV_GCM_KEY_LEN],
                 const uint8_t iv[TV_GCM_IV_LEN], const struct tv_aad *aad, size_t naad,
                 const void *in, void *out, size_t n, uint8_t tag[TV_GCM_TAG_LEN])
{
	uint8_t fin[32];
	int outl, r;

	if ((r = start(a, 1, key, iv)) != 0 || (r = feed_aad(a, aad, naad)) != 0 ||
	    (n > 0 && (r = update(a, out, in, n)) != 0))
		return r;
	if (EVP_CipherFinal_ex(a->ctx, fin, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, TV_GCM_TAG_LEN, tag) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM seal");
	return 0;
}

int tv_aead_open(struct tv_aead *a, const uint8_t key[TV_GCM_KEY_LEN],
                 const uint8_t iv[TV_GCM_IV_LEN], const struct tv_aad *aad, size_t naad,
                 const void *in, void *out, size_t n, const uint8_t tag[TV_GCM_TAG_LEN])
{
	uint8_t fin[32];
	int outl, r;

	if ((r = start(a, 0, key, iv)) != 0 || (r = feed_aad(a, aad, naad)) != 0 ||
	    (n > 0 && (r = update(a, out, in, n)) != 0))
		return r;
	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, TV_GCM_TAG_LEN,
	                        (void *)(uintptr_t)tag) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM open");
	if (EVP_CipherFinal_ex(a->ctx, fin, &outl) != 1) {
		ERR_clear_error();
		tv_wipe(out, n);   /* never hand out unauthenticated data */
		return TV_ERR_AUTH;
	}
	return 0;
}

int tv_gcm_seal(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *pt, size_t len,
                void *ct, uint8_t tag[TV_GCM_TAG_LEN])
{
	struct tv_aead *a;
	struct tv_aad one = { aad, aad_len };
	int r;

	if ((r = tv_aead_new(&a)) != 0)
		return r;
	r = tv_aead_seal(a, key, iv, &one, 1, pt, ct, len, tag);
	tv_aead_free(a);
	return r;
}

int tv_gcm_open(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *ct, size_t len,
                const uint8_t tag[TV_GCM_TAG_LEN], void *pt)
{
	struct tv_aead *a;
	struct tv_aad one = { aad, aad_len };
	int r;

	if ((r = tv_aead_new(&a)) != 0)
		return r;
	r = tv_aead_open(a, key, iv, &one, 1, ct, pt, len, tag);
	tv_aead_free(a);
	return r;
}
