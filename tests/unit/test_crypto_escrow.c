/* tapevault: escrow authority key sets: generation (mode 0600, no
 * overwrite), loading with right and wrong passphrases, public key export
 * and fingerprints, interoperability with `openssl pkey`. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include "crypto/escrow.h"
#include "crypto/pkey.h"
#include "crypto/rand.h"
#include "crypto/slot.h"
#include "util/err.h"

#include "testlib.h"

static const char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tl_tmpdir("escrow");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return 0;
}

static void test_keygen_load_export(void **state)
{
	char *ks = tl_path(dir, "keyset.pem"), *pub = tl_path(dir, "pub.pem");
	uint8_t fpr[32], fpr2[32], fpr3[32], uuid[16], dek[32], out[32];
	char fs[TV_PKFPR_STR_LEN];
	EVP_PKEY *priv = NULL, *pk = NULL;
	struct tv_keyslot s;
	struct stat st;
	uint8_t *data;
	size_t n;
	(void)state;

	assert_int_equal(tv_escrow_keygen_bits(ks, "authority pass", 14, 2048, fpr), 0);
	assert_int_equal(stat(ks, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	data = tl_read_file(ks, &n);
	assert_non_null(data);
	assert_true(n > 0);
	assert_non_null(strstr((char *)data, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	free(data);
	/* never overwritten */
	assert_int_equal(tv_escrow_keygen_bits(ks, "x", 1, 2048, NULL), TV_ERR_EXISTS);
	{
		char *k2 = tl_path(dir, "k2.pem");
		assert_int_equal(tv_escrow_keygen_bits(k2, "", 0, 2048, NULL), TV_ERR_INVAL);
		assert_int_equal(tv_escrow_keygen_bits(k2, "x", 1, 1024, NULL), TV_ERR_INVAL);
		assert_int_equal(access(k2, F_OK), -1);
		free(k2);
	}

	assert_int_equal(tv_escrow_load_keyset(ks, "wrong pass", 10, &priv), TV_ERR_BADKEY);
	assert_null(priv);
	assert_non_null(strstr(tv_errdetail(), "wrong passphrase"));
	assert_int_equal(tv_escrow_load_keyset(ks, "authority pass", 14, &priv), 0);
	assert_non_null(priv);
	assert_int_equal(EVP_PKEY_get_bits(priv), 2048);
	assert_int_equal(tv_pubkey_fingerprint(priv, fpr2), 0);
	assert_memory_equal(fpr, fpr2, 32);

	assert_int_equal(tv_escrow_export_public(priv, pub), 0);
	assert_int_equal(tv_escrow_export_public(priv, pub), TV_ERR_EXISTS);
	assert_int_equal(tv_pubkey_load(pub, &pk), 0);
	assert_int_equal(tv_pubkey_fingerprint(pk, fpr3), 0);
	assert_memory_equal(fpr, fpr3, 32);
	/* a public key file is not a key set, and vice versa */
	{
		EVP_PKEY *x = NULL;
		assert_int_equal(tv_escrow_load_keyset(pub, "authority pass", 14, &x), TV_ERR_FORMAT);
		assert_int_equal(tv_pubkey_load(ks, &x), TV_ERR_FORMAT);
		char *m = tl_path(dir, "missing.pem");
		assert_int_equal(tv_pubkey_load(m, &x), TV_ERR_NOTFOUND);
		free(m);
	}

	/* fingerprint text form */
	tv_pkfpr_format(fpr, fs);
	assert_int_equal(strncmp(fs, "SHA256:", 7), 0);
	assert_int_equal(strlen(fs), 7 + 64);
	assert_int_equal(tv_pkfpr_parse(fs, fpr3), 0);
	assert_memory_equal(fpr, fpr3, 32);
	assert_int_equal(tv_pkfpr_parse(fs + 7, fpr3), 0);
	assert_int_equal(tv_pkfpr_parse("SHA256:abc", fpr3), TV_ERR_INVAL);

	/* server side wraps with the public key, authority unwraps */
	tv_uuid_new(uuid);
	tv_dek_new(dek);
	assert_int_equal(tv_slot_escrow_make(&s, uuid, dek, pk), 0);
	assert_int_equal(tv_slot_escrow_open(&s, uuid, priv, out), 0);
	assert_memory_equal(dek, out, 32);

	EVP_PKEY_free(priv);
	EVP_PKEY_free(pk);
	free(ks);
	free(pub);
}

/* The key set is standard PKCS#8: openssl can read it with the passphrase. */
static void test_openssl_interop(void **state)
{
	char *ks, *ppf, *cmd;
	int rc;
	(void)state;

	if (system("openssl version >/dev/null 2>&1") != 0)
		skip();
	ks = tl_path(dir, "interop.pem");
	ppf = tl_path(dir, "pp.txt");
	assert_int_equal(tv_escrow_keygen_bits(ks, "s3cret", 6, 2048, NULL), 0);
	tl_write_file(ppf, "s3cret\n", 7, 0600);
	assert_true(asprintf(&cmd, "openssl pkey -in %s -passin file:%s -noout 2>/dev/null",
	                     ks, ppf) > 0);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	free(cmd);
	/* PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC */
	assert_true(asprintf(&cmd, "openssl asn1parse -in %s 2>/dev/null | grep -q hmacWithSHA256 && "
	                     "openssl asn1parse -in %s 2>/dev/null | grep -q aes-256-cbc",
	                     ks, ks) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(ks);
	free(ppf);
}

static void test_unencrypted_refused(void **state)
{
	char *p = tl_path(dir, "plain.pem");
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), *x = NULL;
	FILE *f;
	(void)state;

	assert_non_null(k);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	chmod(p, 0600);
	assert_int_equal(tv_escrow_load_keyset(p, "x", 1, &x), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "not encrypted"));
	EVP_PKEY_free(k);
	free(p);
}

/* The real default (RSA-4096): once, when not under sanitizers. */
static void test_keygen_4096(void **state)
{
	char *ks;
	EVP_PKEY *priv = NULL;
	uint8_t fpr[32];
	time_t t0 = time(NULL);
	(void)state;

	if (tl_sanitized())
		skip();
	ks = tl_path(dir, "k4096.pem");
	assert_int_equal(tv_escrow_keygen(ks, "pp", 2, fpr), 0);
	assert_int_equal(tv_escrow_load_keyset(ks, "pp", 2, &priv), 0);
	assert_int_equal(EVP_PKEY_get_bits(priv), 4096);
	assert_true(time(NULL) - t0 < 60);
	EVP_PKEY_free(priv);
	free(ks);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_load_export),
		cmocka_unit_test(test_openssl_interop),
		cmocka_unit_test(test_unencrypted_refused),
		cmocka_unit_test(test_keygen_4096),
	};
	return tl_run(argc, argv, tests, setup, teardown);
}
