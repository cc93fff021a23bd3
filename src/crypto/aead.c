#include "crypto/aead.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>

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

static int gcm_init(EVP_CIPHER_CTX **ctx, int enc, const uint8_t *key,
                    const uint8_t *iv)
{
	*ctx = EVP_CIPHER_CTX_new();
	if (*ctx == NULL)
		return TV_ERR_NOMEM;
	if (EVP_CipherInit_ex2(*ctx, EVP_aes_256_gcm(), NULL, NULL, enc, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(*ctx, EVP_CTRL_GCM_SET_IVLEN, TV_GCM_IV_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex2(*ctx, NULL, key, iv, enc, NULL) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM setup");
	return 0;
}

/* EVP update lengths are int: feed large buffers in pieces. */
static int gcm_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t n)
{
	int outl;

	while (n > 0) {
		int chunk = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;

		if (EVP_CipherUpdate(ctx, out, &outl, in, chunk) != 1)
			return tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM");
		if (out != NULL)
			out += outl;
		in += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

int tv_gcm_seal(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *pt, size_t len,
                void *ct, uint8_t tag[TV_GCM_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t fin[32];
	int outl, r;

	if ((r = gcm_init(&ctx, 1, key, iv)) != 0)
		goto out;
	if (aad_len > 0 && (r = gcm_update(ctx, NULL, aad, aad_len)) != 0)
		goto out;
	if (len > 0 && (r = gcm_update(ctx, ct, pt, len)) != 0)
		goto out;
	if (EVP_CipherFinal_ex(ctx, fin, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TV_GCM_TAG_LEN, tag) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM seal");
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int tv_gcm_open(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *ct, size_t len,
                const uint8_t tag[TV_GCM_TAG_LEN], void *pt)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t fin[32];
	int outl, r;

	if ((r = gcm_init(&ctx, 0, key, iv)) != 0)
		goto out;
	if (aad_len > 0 && (r = gcm_update(ctx, NULL, aad, aad_len)) != 0)
		goto out;
	if (len > 0 && (r = gcm_update(ctx, pt, ct, len)) != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TV_GCM_TAG_LEN,
	                        (void *)(uintptr_t)tag) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "AES-256-GCM open");
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, fin, &outl) != 1) {
		ERR_clear_error();
		tv_wipe(pt, len);
		r = TV_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}
