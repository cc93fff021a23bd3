/* tapevault web: the server's TLS certificate.  Without --tls-cert and
 * --tls-key, a self-signed one (ECDSA P-256, for localhost, 127.0.0.1 and
 * ::1) is made at first start into HOME/web/, its key readable by the
 * owner only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/err.h"
#include "web/web_int.h"

#define CERT_DAYS 825

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static X509 *make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tapevault",
	                                -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
	                                -1, -1, 0) &&
	     X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	     add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	     add_ext(x, NID_key_usage, "critical,digitalSignature") &&
	     add_ext(x, NID_ext_key_usage, "serverAuth") &&
	     add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") &&
	     X509_sign(x, key, EVP_sha256()) > 0;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Writes a PEM file created with mode; the key with 0600, never wider. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0)
		return tv_errf(TV_ERR_IO, "%s: %s", path, strerror(errno));
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return tv_errf(TV_ERR_IO, "%s: %s", path, strerror(errno));
	}
	ok = key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
	                 : PEM_write_X509(f, cert);
	if (fclose(f) != 0 || !ok) {
		unlink(path);
		return tv_errf(TV_ERR_IO, "%s: could not be written", path);
	}
	return 0;
}

static int make_pair(const char *cert, const char *key)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = NULL;
	int r;

	if (pk == NULL || (x = make_cert(pk)) == NULL) {
		r = tv_errf(TV_ERR_CRYPTO, "making the server's TLS certificate failed");
		goto out;
	}
	if ((r = write_pem(key, 0600, pk, NULL)) != 0)
		goto out;
	if ((r = write_pem(cert, 0644, NULL, x)) != 0)
		unlink(key);
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return r;
}

int tv_web_tls_ensure(const char *home, char *cert, size_t certsz, char *key, size_t keysz,
                      int *made)
{
	char dir[4096];
	struct stat st;

	*made = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/web", home) >= sizeof(dir) ||
	    (size_t)snprintf(cert, certsz, "%s/tls.crt", dir) >= certsz ||
	    (size_t)snprintf(key, keysz, "%s/tls.key", dir) >= keysz)
		return tv_errf(TV_ERR_RANGE, "state directory path too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return tv_errf(TV_ERR_IO, "%s: %s", dir, strerror(errno));
	if (stat(cert, &st) == 0 && stat(key, &st) == 0)
		return 0;
	unlink(cert);
	unlink(key);
	*made = 1;
	return make_pair(cert, key);
}

int tv_web_tls_fingerprint(const char *pem, char *out, size_t outsz)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int r = 0;

	out[0] = '\0';
	if (x == NULL || !X509_digest(x, EVP_sha256(), md, &n) || outsz < 3 * n + 1) {
		r = tv_errf(TV_ERR_FORMAT, "the TLS certificate does not read as PEM");
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 3 * i, outsz - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
out:
	X509_free(x);
	BIO_free(b);
	return r;
}
