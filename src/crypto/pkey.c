#include "crypto/pkey.h"
#include "crypto/aead.h"
#include "crypto/secmem.h"
#include "util/err.h"
#include "util/hex.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tv_pubkey_check_rsa(EVP_PKEY *key)
{
	if (key == NULL || !EVP_PKEY_is_a(key, "RSA"))
		return tv_errf(TV_ERR_INVAL, "not an RSA key");
	if (EVP_PKEY_get_bits(key) < TV_RSA_MIN_BITS)
		return tv_errf(TV_ERR_INVAL, "RSA key of %d bits is too small (minimum %d)",
		               EVP_PKEY_get_bits(key), TV_RSA_MIN_BITS);
	return 0;
}

static int oaep_ctx(EVP_PKEY *key, int decrypt, const void *label, size_t label_len,
                    EVP_PKEY_CTX **out)
{
	EVP_PKEY_CTX *ctx;
	unsigned char *lab = NULL;
	int r;

	*out = NULL;
	if ((r = tv_pubkey_check_rsa(key)) != 0)
		return r;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL)
		return tv_ossl_err(TV_ERR_CRYPTO, "RSA context");
	if ((decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA256", NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA256", NULL) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "RSA-OAEP setup");
		goto fail;
	}
	if (label_len > 0) {
		/* set0 takes ownership of an OPENSSL_malloc'd label */
		if ((lab = OPENSSL_memdup(label, label_len)) == NULL) {
			r = TV_ERR_NOMEM;
			goto fail;
		}
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, (int)label_len) != 1) {
			OPENSSL_free(lab);
			r = tv_ossl_err(TV_ERR_CRYPTO, "RSA-OAEP label");
			goto fail;
		}
	}
	*out = ctx;
	return 0;
fail:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int tv_rsa_oaep_encrypt(EVP_PKEY *pub, const void *label, size_t label_len,
                        const void *in, size_t in_len, uint8_t *out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx;
	size_t need = 0;
	int r;

	if (label_len > 65536)
		return tv_errf(TV_ERR_INVAL, "OAEP label too long");
	if ((r = oaep_ctx(pub, 0, label, label_len, &ctx)) != 0)
		return r;
	if (EVP_PKEY_encrypt(ctx, NULL, &need, in, in_len) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "RSA-OAEP encrypt");
		goto out;
	}
	if (need > *outlen) {
		r = tv_errf(TV_ERR_RANGE, "RSA ciphertext of %zu bytes does not fit", need);
		goto out;
	}
	if (EVP_PKEY_encrypt(ctx, out, outlen, in, in_len) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "RSA-OAEP encrypt");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int tv_rsa_oaep_decrypt(EVP_PKEY *priv, const void *label, size_t label_len,
                        const void *in, size_t in_len, uint8_t *out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx;
	uint8_t *tmp = NULL;
	size_t need = 0, alloc = 0, room = *outlen;
	int r;

	if (label_len > 65536)
		return tv_errf(TV_ERR_INVAL, "OAEP label too long");
	if ((r = oaep_ctx(priv, 1, label, label_len, &ctx)) != 0)
		return r;
	/* Decrypt into a modulus-sized buffer, then copy what fits. */
	if (EVP_PKEY_decrypt(ctx, NULL, &need, in, in_len) != 1 || need == 0 ||
	    need > 8192) {
		ERR_clear_error();
		r = TV_ERR_BADKEY;
		goto out;
	}
	alloc = need;
	if ((tmp = malloc(alloc)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_decrypt(ctx, tmp, &need, in, in_len) != 1) {
		ERR_clear_error();
		r = TV_ERR_BADKEY;
		goto out;
	}
	if (need > room) {
		r = tv_errf(TV_ERR_FORMAT, "RSA plaintext of %zu bytes, expected at most %zu",
		            need, room);
		goto out;
	}
	memcpy(out, tmp, need);
	*outlen = need;
	r = 0;
out:
	if (r != 0)
		tv_wipe(out, room);
	if (tmp != NULL)
		tv_freezero(tmp, alloc);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int tv_pubkey_fingerprint(EVP_PKEY *key, uint8_t out[TV_PKFPR_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, r = 0;

	len = i2d_PUBKEY(key, &der);
	if (len <= 0)
		return tv_ossl_err(TV_ERR_CRYPTO, "encoding the public key");
	if (EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) != 1)
		r = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
	OPENSSL_free(der);
	return r;
}

void tv_pkfpr_format(const uint8_t fpr[TV_PKFPR_LEN], char out[TV_PKFPR_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "SHA256:", 7);
	for (size_t i = 0; i < TV_PKFPR_LEN; i++) {
		out[7 + 2 * i] = hex[fpr[i] >> 4];
		out[8 + 2 * i] = hex[fpr[i] & 15];
	}
	out[7 + 2 * TV_PKFPR_LEN] = '\0';
}

int tv_pkfpr_parse(const char *s, uint8_t fpr[TV_PKFPR_LEN])
{
	const char *h = s;

	if (strncasecmp(h, "SHA256:", 7) == 0)
		h += 7;
	if (strlen(h) != 2 * TV_PKFPR_LEN)
		return tv_errf(TV_ERR_INVAL, "'%s' is not a SHA256 key fingerprint", s);
	for (size_t i = 0; i < TV_PKFPR_LEN; i++) {
		int hi = tv_hexval(h[2 * i]), lo = tv_hexval(h[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return tv_errf(TV_ERR_INVAL, "'%s' is not a SHA256 key fingerprint", s);
		fpr[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Never let OpenSSL prompt on the terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

int tv_pubkey_from_pem(const void *pem, size_t len, EVP_PKEY **pub)
{
	BIO *bio;
	EVP_PKEY *k;
	int r;

	*pub = NULL;
	if (len > 1024 * 1024)
		return tv_errf(TV_ERR_FORMAT, "public key PEM too large");
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return TV_ERR_NOMEM;
	k = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (k == NULL) {
		ERR_clear_error();
		return tv_errf(TV_ERR_FORMAT, "not a PEM public key (expected \"BEGIN PUBLIC KEY\")");
	}
	if ((r = tv_pubkey_check_rsa(k)) != 0) {
		EVP_PKEY_free(k);
		return r;
	}
	*pub = k;
	return 0;
}

int tv_pubkey_load(const char *path, EVP_PKEY **pub)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int r;

	*pub = NULL;
	if ((f = fopen(path, "rbe")) == NULL)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO, "%s: %s",
		               path, strerror(errno));
	if ((buf = malloc(1024 * 1024 + 1)) == NULL) {
		fclose(f);
		return TV_ERR_NOMEM;
	}
	n = fread(buf, 1, 1024 * 1024 + 1, f);
	if (ferror(f)) {
		r = tv_errf(TV_ERR_IO, "%s: read error", path);
		goto out;
	}
	if ((r = tv_pubkey_from_pem(buf, n, pub)) != 0)
		tv_errctx(r, "%s", path);
out:
	fclose(f);
	free(buf);
	return r;
}

int tv_pubkey_to_pem(EVP_PKEY *key, char **pem, size_t *len)
{
	BIO *bio;
	char *p;
	long n;
	int r = 0;

	*pem = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return TV_ERR_NOMEM;
	if (PEM_write_bio_PUBKEY(bio, key) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "encoding the public key");
		goto out;
	}
	n = BIO_get_mem_data(bio, &p);
	if (n <= 0 || (*pem = malloc((size_t)n + 1)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	memcpy(*pem, p, (size_t)n);
	(*pem)[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
out:
	BIO_free(bio);
	return r;
}
