#include "crypto/escrow.h"
#include "crypto/aead.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYSET_MAX (1024 * 1024)

int tv_write_file_excl(const char *path, const void *data, size_t len, unsigned mode)
{
	const uint8_t *p = data;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return tv_errf(TV_ERR_EXISTS, "%s already exists (not overwritten)", path);
		return tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO, "%s: %s",
		               path, strerror(errno));
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = tv_errf(TV_ERR_IO, "%s: write: %s", path, w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		r = tv_errf(TV_ERR_IO, "%s: fsync: %s", path, strerror(errno));
out:
	if (close(fd) != 0 && r == 0)
		r = tv_errf(TV_ERR_IO, "%s: close: %s", path, strerror(errno));
	if (r != 0)
		unlink(path);
	return r;
}

int tv_escrow_keygen_bits(const char *path_out, const void *pp, size_t pplen,
                          int bits, uint8_t fpr_out[TV_PKFPR_LEN])
{
	EVP_PKEY *key = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	BIO *bio = NULL;
	unsigned char salt[16];
	char *pem;
	long n;
	int r;

	if (pp == NULL || pplen == 0)
		return tv_errf(TV_ERR_INVAL, "the key set passphrase must not be empty");
	if (pplen > INT_MAX)
		return tv_errf(TV_ERR_INVAL, "passphrase too long");
	if (bits < TV_RSA_MIN_BITS || bits > 16384)
		return tv_errf(TV_ERR_INVAL, "RSA key size %d", bits);
	/* Fail early (before seconds of key generation) if the file exists. */
	if (access(path_out, F_OK) == 0)
		return tv_errf(TV_ERR_EXISTS, "%s already exists (not overwritten)", path_out);
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)) == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "RSA key generation");
		goto out;
	}
	if ((r = tv_random(salt, sizeof(salt))) != 0)
		goto out;
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "PKCS#8 encoding");
		goto out;
	}
	/* pbe_nid -1: PBES2 with cipher, PBKDF2-HMAC-SHA256 and iter. */
	sig = PKCS8_encrypt_ex(-1, EVP_aes_256_cbc(), pp, (int)pplen, salt, sizeof(salt),
	                       TV_ESCROW_PBKDF2_ITER, p8, NULL, NULL);
	if (sig == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "encrypting the private key");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if (PEM_write_bio_PKCS8(bio, sig) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "PEM encoding");
		goto out;
	}
	n = BIO_get_mem_data(bio, &pem);
	if (n <= 0) {
		r = tv_errf(TV_ERR_INTERNAL, "empty PEM");
		goto out;
	}
	if ((r = tv_write_file_excl(path_out, pem, (size_t)n, 0600)) != 0)
		goto out;
	if (fpr_out != NULL)
		r = tv_pubkey_fingerprint(key, fpr_out);
out:
	BIO_free(bio);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(key);
	return r;
}

int tv_escrow_keygen(const char *path_out, const void *pp, size_t pplen,
                     uint8_t fpr_out[TV_PKFPR_LEN])
{
	return tv_escrow_keygen_bits(path_out, pp, pplen, TV_ESCROW_RSA_BITS, fpr_out);
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

static int read_small_file(const char *path, char **data, size_t *len, struct stat *sb)
{
	int fd;
	char *buf;
	size_t n = 0;
	int r = 0;

	*data = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND :
		               errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "%s: %s", path, strerror(errno));
	if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return tv_errf(TV_ERR_IO, "%s: not a regular file", path);
	}
	if (sb->st_size > KEYSET_MAX) {
		close(fd);
		return tv_errf(TV_ERR_FORMAT, "%s: too large for a key file", path);
	}
	if ((buf = malloc((size_t)sb->st_size + 1)) == NULL) {
		close(fd);
		return TV_ERR_NOMEM;
	}
	while (n < (size_t)sb->st_size) {
		ssize_t got = read(fd, buf + n, (size_t)sb->st_size - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = tv_errf(TV_ERR_IO, "%s: read: %s", path, got < 0 ? strerror(errno) : "short read");
			break;
		}
		n += (size_t)got;
	}
	close(fd);
	if (r != 0) {
		tv_freezero(buf, (size_t)sb->st_size + 1);
		return r;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int tv_escrow_load_keyset(const char *path, const void *pp, size_t pplen, EVP_PKEY **priv)
{
	struct stat sb;
	char *data = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;
	int r;

	*priv = NULL;
	if (pplen > INT_MAX)
		return tv_errf(TV_ERR_INVAL, "passphrase too long");
	if ((r = read_small_file(path, &data, &len, &sb)) != 0)
		return r;
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	sig = PEM_read_bio_PKCS8(bio, NULL, no_passphrase, NULL);
	if (sig == NULL) {
		ERR_clear_error();
		if (strstr(data, "-----BEGIN PRIVATE KEY-----") != NULL ||
		    strstr(data, "-----BEGIN RSA PRIVATE KEY-----") != NULL)
			r = tv_errf(TV_ERR_FORMAT, "%s: the private key is not encrypted; "
			            "an escrow key set must be protected by a passphrase", path);
		else
			r = tv_errf(TV_ERR_FORMAT, "%s: not an escrow key set (expected "
			            "\"BEGIN ENCRYPTED PRIVATE KEY\")", path);
		goto out;
	}
	p8 = PKCS8_decrypt_ex(sig, pp, (int)pplen, NULL, NULL);
	if (p8 == NULL) {
		ERR_clear_error();
		r = tv_errf(TV_ERR_BADKEY, "wrong passphrase for key set %s", path);
		goto out;
	}
	if ((key = EVP_PKCS82PKEY_ex(p8, NULL, NULL)) == NULL) {
		r = tv_ossl_err(TV_ERR_FORMAT, "decoding the private key");
		tv_errctx(r, "%s", path);
		goto out;
	}
	if ((r = tv_pubkey_check_rsa(key)) != 0) {
		tv_errctx(r, "%s", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0)
		fprintf(stderr, "tapevault: warning: key set %s is accessible by group or "
		        "others (mode %03o); run chmod 600 %s\n", path,
		        (unsigned)(sb.st_mode & 0777), path);
	*priv = key;
	key = NULL;
out:
	EVP_PKEY_free(key);
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	BIO_free(bio);
	tv_freezero(data, len + 1);
	return r;
}

int tv_escrow_export_public(EVP_PKEY *key, const char *path)
{
	char *pem = NULL;
	size_t len = 0;
	int r;

	if ((r = tv_pubkey_check_rsa(key)) != 0)
		return r;
	if ((r = tv_pubkey_to_pem(key, &pem, &len)) != 0)
		return r;
	r = tv_write_file_excl(path, pem, len, 0644);
	free(pem);
	return r;
}
