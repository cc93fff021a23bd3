/* tapevault: the installation's Ed25519 identity key (see identity.h). */
#include "crypto/identity.h"
#include "crypto/aead.h"
#include "crypto/escrow.h"
#include "crypto/keystore.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int id_paths(const char *home, char *dir, size_t dsz, char *file, size_t fsz)
{
	if (home == NULL || home[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "no state directory");
	if ((size_t)snprintf(dir, dsz, "%s/%s", home, TV_KEYSTORE_DIR) >= dsz ||
	    (size_t)snprintf(file, fsz, "%s/%s/%s", home, TV_KEYSTORE_DIR,
	                     TV_IDENTITY_FILE) >= fsz)
		return tv_errf(TV_ERR_INVAL, "state directory path too long");
	return 0;
}

int tv_identity_path(const char *home, char *out, size_t outsz)
{
	char dir[4096];

	return id_paths(home, dir, sizeof(dir), out, outsz);
}

int tv_identity_check(EVP_PKEY *key)
{
	if (key == NULL || !EVP_PKEY_is_a(key, "ED25519"))
		return tv_errf(TV_ERR_INVAL, "not an Ed25519 identity key");
	return 0;
}

int tv_identity_fingerprint(EVP_PKEY *key, uint8_t out[TV_PKFPR_LEN])
{
	int r;

	if ((r = tv_identity_check(key)) != 0)
		return r;
	return tv_pubkey_fingerprint(key, out);
}

int tv_identity_create(const char *home, uint8_t fpr_out[TV_PKFPR_LEN])
{
	char dir[4096], file[4096];
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	struct stat sb;
	char *pem;
	long n;
	int fd, r;

	if ((r = id_paths(home, dir, sizeof(dir), file, sizeof(file))) != 0)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return tv_errf(TV_ERR_IO, "%s: %s", dir, strerror(errno));
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_IO, "%s is not a directory", dir);
	if (sb.st_uid == geteuid() && (sb.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return tv_errf(TV_ERR_IO, "%s: chmod: %s", dir, strerror(errno));
	if (lstat(file, &sb) == 0)
		return tv_errf(TV_ERR_EXISTS, "%s already exists: this installation has "
		               "its identity (it is never replaced)", file);
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		return tv_ossl_err(TV_ERR_CRYPTO, "making the identity key");
	/* secure memory BIO: cleansed when freed */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "encoding the identity key");
		goto out;
	}
	n = BIO_get_mem_data(bio, &pem);
	if (n <= 0) {
		r = tv_errf(TV_ERR_INTERNAL, "empty identity key encoding");
		goto out;
	}
	r = tv_write_file_excl(file, pem, (size_t)n, 0600);
	if (r == TV_ERR_EXISTS)
		r = tv_errf(TV_ERR_EXISTS, "%s already exists: this installation has "
		            "its identity (it is never replaced)", file);
	if (r != 0)
		goto out;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	if (fpr_out != NULL)
		r = tv_pubkey_fingerprint(key, fpr_out);
out:
	BIO_free(bio);
	EVP_PKEY_free(key);
	return r;
}

/* Never prompt for a passphrase: the identity key is not encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int tv_identity_load(const char *home, EVP_PKEY **priv)
{
	char dir[4096], file[4096];
	uint8_t *data = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	struct stat sb;
	int fd = -1, r;

	*priv = NULL;
	if ((r = id_paths(home, dir, sizeof(dir), file, sizeof(file))) != 0)
		return r;
	{
		char missing[PATH_MAX + 96];
		snprintf(missing, sizeof(missing), "this installation has no identity key (%s is missing): run tapevault init", file);
		if ((r = tv_secret_file_open(dir, file, "identity key", missing, &fd, &sb)) != 0)
			return r;
	}
	if (sb.st_size <= 0 || sb.st_size > TV_IDENTITY_FILE_MAX) {
		r = tv_errf(TV_ERR_FORMAT, "%s: %lld bytes is not an identity key file",
		            file, (long long)sb.st_size);
		goto out;
	}
	if ((data = malloc((size_t)sb.st_size + 1)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	/* read at most one byte more than fstat said, to notice growth */
	while (len < (size_t)sb.st_size + 1) {
		ssize_t n = read(fd, data + len, (size_t)sb.st_size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = tv_errf(TV_ERR_IO, "%s: read: %s", file, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != (size_t)sb.st_size) {
		r = tv_errf(TV_ERR_IO, "%s changed while being read", file);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	ERR_clear_error();
	if (key == NULL) {
		r = tv_errf(TV_ERR_FORMAT, "%s is not an unencrypted private key PEM "
		            "(damaged identity key file)", file);
		goto out;
	}
	if (!EVP_PKEY_is_a(key, "ED25519")) {
		r = tv_errf(TV_ERR_FORMAT, "%s holds a %s key, not an Ed25519 identity key",
		            file, EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key)
		                                               : "unknown");
		goto out;
	}
	*priv = key;
	key = NULL;
	r = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(key);
	if (data != NULL)
		tv_freezero(data, (size_t)sb.st_size + 1);
	if (fd >= 0)
		close(fd);
	return r;
}

int tv_identity_export(const char *home, const char *out_path,
                       uint8_t fpr_out[TV_PKFPR_LEN])
{
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	size_t len = 0;
	int r;

	if ((r = tv_identity_load(home, &key)) != 0)
		return r;
	if ((r = tv_pubkey_to_pem(key, &pem, &len)) != 0)
		goto out;
	r = tv_write_file_excl(out_path, pem, len, 0644);
	if (r == TV_ERR_EXISTS)
		r = tv_errf(TV_ERR_EXISTS, "%s already exists (not replaced)", out_path);
	if (r == 0 && fpr_out != NULL)
		r = tv_pubkey_fingerprint(key, fpr_out);
out:
	free(pem);
	EVP_PKEY_free(key);
	return r;
}

int tv_identity_pub_from_pem(const void *pem, size_t len, EVP_PKEY **pub)
{
	BIO *bio;
	EVP_PKEY *k;

	*pub = NULL;
	if (len > TV_IDENTITY_FILE_MAX)
		return tv_errf(TV_ERR_FORMAT, "%zu bytes is not an identity public key", len);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return TV_ERR_NOMEM;
	k = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (k == NULL)
		return tv_errf(TV_ERR_FORMAT, "not a PEM public key (expected \"BEGIN PUBLIC "
		               "KEY\", as 'tapevault identity export' writes)");
	if (!EVP_PKEY_is_a(k, "ED25519")) {
		EVP_PKEY_free(k);
		return tv_errf(TV_ERR_FORMAT, "not an installation identity (an Ed25519 public "
		               "key, as 'tapevault identity export' writes)");
	}
	*pub = k;
	return 0;
}

int tv_identity_pub_load(const char *path, EVP_PKEY **pub)
{
	char buf[TV_IDENTITY_FILE_MAX + 1];
	FILE *f;
	size_t n;
	int r;

	*pub = NULL;
	if ((f = fopen(path, "rbe")) == NULL)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO, "%s: %s", path,
		               strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	r = ferror(f) ? tv_errf(TV_ERR_IO, "%s: read error", path) : 0;
	fclose(f);
	if (r == 0 && (r = tv_identity_pub_from_pem(buf, n, pub)) != 0)
		tv_errctx(r, "%s", path);
	return r;
}

/* ---- signing what the installation writes (docs/FORMAT.md 9.4) ---- */

int tv_identity_raw_pub(EVP_PKEY *key, uint8_t out[TV_IDENTITY_PUB_LEN])
{
	size_t n = TV_IDENTITY_PUB_LEN;
	int r;

	if ((r = tv_identity_check(key)) != 0)
		return r;
	if (EVP_PKEY_get_raw_public_key(key, out, &n) != 1 || n != TV_IDENTITY_PUB_LEN) {
		ERR_clear_error();
		return tv_errf(TV_ERR_CRYPTO, "cannot read the identity's public key");
	}
	return 0;
}

int tv_identity_from_raw(const uint8_t pub[TV_IDENTITY_PUB_LEN], EVP_PKEY **out)
{
	*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, TV_IDENTITY_PUB_LEN);
	if (*out == NULL) {
		ERR_clear_error();
		return tv_errf(TV_ERR_FORMAT, "not an Ed25519 public key");
	}
	return 0;
}

int tv_identity_raw_fingerprint(const uint8_t pub[TV_IDENTITY_PUB_LEN],
                                uint8_t fpr[TV_PKFPR_LEN])
{
	EVP_PKEY *k = NULL;
	int r;

	if ((r = tv_identity_from_raw(pub, &k)) == 0)
		r = tv_pubkey_fingerprint(k, fpr);
	EVP_PKEY_free(k);
	return r;
}

int tv_identity_sign(EVP_PKEY *priv, const void *msg, size_t len,
                     uint8_t sig[TV_IDENTITY_SIG_LEN])
{
	EVP_MD_CTX *md = NULL;
	size_t n = TV_IDENTITY_SIG_LEN;
	int r = 0;

	if ((r = tv_identity_check(priv)) != 0)
		return r;
	/* Ed25519 is one-shot: no digest is named (RFC 8032 PureEdDSA) */
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, priv, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &n, msg, len) != 1 || n != TV_IDENTITY_SIG_LEN) {
		ERR_clear_error();
		r = tv_errf(TV_ERR_CRYPTO, "signing with the installation's identity failed");
	}
	EVP_MD_CTX_free(md);
	return r;
}

int tv_identity_verify_raw(const uint8_t pub[TV_IDENTITY_PUB_LEN], const void *msg,
                           size_t len, const uint8_t sig[TV_IDENTITY_SIG_LEN])
{
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = NULL;
	int r, ok;

	if ((r = tv_identity_from_raw(pub, &k)) != 0)
		return r;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, k, NULL) != 1) {
		r = tv_errf(TV_ERR_CRYPTO, "Ed25519 verification is not available");
		goto out;
	}
	ok = EVP_DigestVerify(md, sig, TV_IDENTITY_SIG_LEN, msg, len);
	r = ok == 1 ? 0 : TV_ERR_SIG;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r;
}
