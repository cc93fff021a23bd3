/* The KMS client against a real PyKMIP server (tests/kms/pykmip-server.sh),
 * started in a private temporary directory on a random free port.
 *
 * Without python3-pykmip the first test FAILS with an explanation and the
 * others are skipped: a missing KMS must never look like a pass.
 * Timings (connect, Decrypt round trip) are printed, not asserted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include "kms/client.h"
#include "kms/kmip.h"
#include "kms/ttlv.h"
#include "util/err.h"

#include "testlib.h"

static struct {
	const char *src;          /* repository root */
	char dir[256];            /* server directory (tl_tmpdir; "" once stopped) */
	char out[8192];           /* output of the last script run */
	int status;               /* -1 not tried, 0 up, 3 not installed, else failed */
	char host[64], port[16], ca[512], cert[512], key[512];
	char other_ca[512], other_cert[512], other_key[512];
	char server_cert[512], server_key[512], wrong_cert[512], wrong_key[512];
	char aes_uid[TV_KMS_UID_MAX];
} S = { .status = -1 };

/* Run a shell command, capture stdout+stderr into S.out; exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *f;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	S.out[0] = '\0';
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (n + 1 < sizeof(S.out)) {
		size_t r = fread(S.out + n, 1, sizeof(S.out) - 1 - n, f);
		if (r == 0)
			break;
		n += r;
	}
	S.out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* KEY=VALUE from S.out */
static int getvar(const char *name, char *val, size_t valsz)
{
	size_t ln = strlen(name);
	const char *p = S.out;

	while (p != NULL && *p) {
		if (strncmp(p, name, ln) == 0 && p[ln] == '=') {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p - ln - 1) : strlen(p + ln + 1);
			if (len >= valsz)
				return -1;
			memcpy(val, p + ln + 1, len);
			val[len] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static int server_start(const char *port)
{
	int rc = run("KMS_WATCH_PID=%d KMS_CLIENT_NAME=tapevault-live bash '%s/tests/kms/"
	             "pykmip-server.sh' start '%s' %s 2>&1", (int)getpid(), S.src, S.dir,
	             port ? port : "");
	if (rc != 0)
		return rc;
	if (getvar("KMS_HOST", S.host, sizeof(S.host)) || getvar("KMS_PORT", S.port, sizeof(S.port)) ||
	    getvar("KMS_CA", S.ca, sizeof(S.ca)) || getvar("KMS_CERT", S.cert, sizeof(S.cert)) ||
	    getvar("KMS_KEY", S.key, sizeof(S.key)) ||
	    getvar("KMS_OTHER_CA", S.other_ca, sizeof(S.other_ca)) ||
	    getvar("KMS_OTHER_CERT", S.other_cert, sizeof(S.other_cert)) ||
	    getvar("KMS_OTHER_KEY", S.other_key, sizeof(S.other_key)) ||
	    getvar("KMS_SERVER_CERT", S.server_cert, sizeof(S.server_cert)) ||
	    getvar("KMS_SERVER_KEY", S.server_key, sizeof(S.server_key)) ||
	    getvar("KMS_WRONGHOST_CERT", S.wrong_cert, sizeof(S.wrong_cert)) ||
	    getvar("KMS_WRONGHOST_KEY", S.wrong_key, sizeof(S.wrong_key)))
		return 1;
	return 0;
}

static void server_stop(void)
{
	char cmd[4600];
	if (S.dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/kms/pykmip-server.sh' stop '%s' >/dev/null 2>&1",
	         S.src, S.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: stopping the PyKMIP server failed\n");
}

/* Stops the server; the harness removes its directory (or keeps it when a
 * test failed, or with TV_TEST_KEEP=1). */
static void cleanup(void)
{
	if (S.dir[0] == '\0')
		return;
	server_stop();
	S.dir[0] = '\0';
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int group_setup(void **state)
{
	(void)state;
	S.src = tl_srcdir();
	assert_true((size_t)snprintf(S.dir, sizeof(S.dir), "%s", tl_tmpdir("kms")) <
	            sizeof(S.dir));
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal);      /* stdout piped into `head` */
	S.status = server_start(NULL);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

#define NEED_SERVER() do { if (S.status != 0) skip(); } while (0)

static void conf_init(struct tv_kms_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "live");
	snprintf(c->host, sizeof(c->host), "%s", S.host);
	c->port = (unsigned)atoi(S.port);
	snprintf(c->ca, sizeof(c->ca), "%s", S.ca);
	snprintf(c->cert, sizeof(c->cert), "%s", S.cert);
	snprintf(c->key, sizeof(c->key), "%s", S.key);
	c->timeout_ms = 15000;
}

static struct tv_kms *connect_ok(void)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	int r;

	conf_init(&c);
	r = tv_kms_connect(&c, &k);
	if (r != 0)
		fail_msg("connect: %s", tv_errmsg(r));
	return k;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

#define ASSERT_ERR(expr, code, text) do { \
	int r_ = (expr); \
	if (r_ != (code)) \
		fail_msg("%s: expected %d, got %d: %s", #expr, (code), r_, tv_errmsg(r_)); \
	if (strstr(tv_errdetail(), (text)) == NULL) \
		fail_msg("%s: message lacks \"%s\": %s", #expr, (text), tv_errdetail()); \
	printf("    expected error: %s\n", tv_errdetail()); \
} while (0)

#define ASSERT_OK(expr) do { \
	int r_ = (expr); \
	if (r_ != 0) \
		fail_msg("%s: %d: %s", #expr, r_, tv_errmsg(r_)); \
} while (0)

/* ---- tests ---- */

static void test_server_available(void **state)
{
	(void)state;
	if (S.status == 3)
		fail_msg("python3-pykmip (or the openssl CLI) is not installed, so the KMS "
		         "tests cannot run. Install it: apt-get install python3-pykmip "
		         "(tools/install-deps.sh does). Script said: %s", S.out);
	if (S.status != 0)
		fail_msg("the PyKMIP test server did not start (status %d):\n%s", S.status, S.out);
	printf("    PyKMIP server on %s:%s in %s\n", S.host, S.port, S.dir);
}

static void test_connect_discover_query(void **state)
{
	struct tv_kms *k;
	char buf[2048], vendor[128];
	struct timespec t0;
	int n = 5;

	(void)state;
	NEED_SERVER();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		k = connect_ok();
		tv_kms_close(k);
	}
	printf("    time per connect (TCP + TLS 1.2 mutual auth, PyKMIP): %.2f ms (avg of %d)\n",
	       ms_since(&t0) / n, n);
	k = connect_ok();
	assert_int_equal(tv_kms_connects(k), 1);
	ASSERT_OK(tv_kms_discover_versions(k, buf, sizeof(buf)));
	printf("    versions: %s\n", buf);
	assert_non_null(strstr(buf, "1.4"));
	ASSERT_OK(tv_kms_query_operations(k, buf, sizeof(buf), vendor, sizeof(vendor)));
	printf("    operations: %s\n    vendor: %s\n", buf, vendor);
	assert_non_null(strstr(buf, "Decrypt"));
	assert_non_null(strstr(buf, "Create Key Pair"));
	assert_non_null(strstr(vendor, "PyKMIP"));
	assert_int_equal(tv_kms_round_trips(k), 2);
	assert_non_null(strstr(tv_kms_where(k), "KMS live (127.0.0.1:"));
	tv_kms_close(k);

	/* also by DNS name: the server certificate names localhost too */
	{
		struct tv_kms_conf c;
		conf_init(&c);
		snprintf(c.host, sizeof(c.host), "localhost");
		if (tv_kms_connect(&c, &k) == 0) {
			ASSERT_OK(tv_kms_discover_versions(k, buf, sizeof(buf)));
			tv_kms_close(k);
		} else {
			/* localhost may resolve to ::1 only where the server is not */
			printf("    note: 'localhost' not usable here: %s\n", tv_errdetail());
		}
	}
}

static const uint8_t iv[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const char aad[] = "VOL001L8";

static void test_aes_gcm(void **state)
{
	struct tv_kms *k;
	uint8_t dek[32], ct[32], tag[16], back[32], badtag[16], kek[64];
	uint8_t lct[32], ltag[16];
	size_t keklen;
	struct timespec t0;
	int n = 50, len;

	(void)state;
	NEED_SERVER();
	k = connect_ok();
	ASSERT_OK(tv_kms_create_aes(k, "tv-live-aes", S.aes_uid));
	printf("    created AES key id %s\n", S.aes_uid);
	assert_int_equal(RAND_bytes(dek, 32), 1);
	ASSERT_OK(tv_kms_encrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)aad, 8, dek, 32, ct, tag));
	assert_memory_not_equal(ct, dek, 32);
	ASSERT_OK(tv_kms_decrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)aad, 8, ct, 32, tag, back));
	assert_memory_equal(back, dek, 32);

	/* the KMS really did AES-256-GCM with our IV and AAD */
	ASSERT_OK(tv_kms_get_symmetric_key(k, S.aes_uid, kek, sizeof(kek), &keklen));
	assert_int_equal(keklen, 32);
	{
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, iv), 1);
		assert_int_equal(EVP_EncryptUpdate(c, NULL, &len, (const uint8_t *)aad, 8), 1);
		assert_int_equal(EVP_EncryptUpdate(c, lct, &len, dek, 32), 1);
		assert_int_equal(EVP_EncryptFinal_ex(c, lct + len, &len), 1);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ltag), 1);
		EVP_CIPHER_CTX_free(c);
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	assert_memory_equal(lct, ct, 32);
	assert_memory_equal(ltag, tag, 16);

	/* wrong AAD (another tape's label) and a damaged tag: TV_ERR_AUTH */
	ASSERT_ERR(tv_kms_decrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)"VOL002L8", 8, ct, 32,
	                              tag, back), TV_ERR_AUTH, "tag mismatch");
	memcpy(badtag, tag, 16);
	badtag[0] ^= 1;
	ASSERT_ERR(tv_kms_decrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)aad, 8, ct, 32, badtag,
	                              back), TV_ERR_AUTH, "tag mismatch");
	/* the connection survives errors */
	ASSERT_OK(tv_kms_decrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)aad, 8, ct, 32, tag, back));
	assert_memory_equal(back, dek, 32);
	/* no AAD at all is fine too */
	ASSERT_OK(tv_kms_encrypt_gcm(k, S.aes_uid, iv, NULL, 0, dek, 32, ct, tag));
	ASSERT_OK(tv_kms_decrypt_gcm(k, S.aes_uid, iv, NULL, 0, ct, 32, tag, back));
	assert_memory_equal(back, dek, 32);
	ASSERT_OK(tv_kms_encrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)aad, 8, dek, 32, ct, tag));

	/* unwrap timing: one Decrypt round trip each */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		ASSERT_OK(tv_kms_decrypt_gcm(k, S.aes_uid, iv, (const uint8_t *)aad, 8, ct, 32, tag,
		                             back));
	printf("    time per unwrap (KMIP Decrypt round trip, PyKMIP): %.2f ms (avg of %d)\n",
	       ms_since(&t0) / n, n);
	assert_int_equal(tv_kms_connects(k), 1);
	OPENSSL_cleanse(dek, sizeof(dek));
	OPENSSL_cleanse(back, sizeof(back));
	tv_kms_close(k);
}

static void test_locate_and_attributes(void **state)
{
	struct tv_kms *k;
	char uid[TV_KMS_UID_MAX];
	struct tv_kmip_attrs a;
	size_t count = 0;

	(void)state;
	NEED_SERVER();
	if (S.aes_uid[0] == '\0')
		skip();
	k = connect_ok();
	ASSERT_OK(tv_kms_locate(k, "tv-live-aes", uid, &count));
	assert_string_equal(uid, S.aes_uid);
	assert_int_equal(count, 1);
	ASSERT_ERR(tv_kms_locate(k, "tv-live-no-such-key", uid, NULL), TV_ERR_NOTFOUND,
	           "no key named 'tv-live-no-such-key' on KMS live");
	ASSERT_OK(tv_kms_get_attributes(k, S.aes_uid, &a));
	assert_true(a.have & TV_KATTR_OBJECT_TYPE);
	assert_int_equal(a.object_type, TV_KOBJ_SYMMETRIC_KEY);
	assert_int_equal(a.alg, TV_KALG_AES);
	assert_int_equal(a.bits, 256);
	assert_int_equal(a.state, TV_KSTATE_ACTIVE);
	assert_int_equal(a.usage, TV_KUSE_ENCRYPT | TV_KUSE_DECRYPT | TV_KUSE_WRAP |
	                          TV_KUSE_UNWRAP);
	assert_string_equal(a.name, "tv-live-aes");
	tv_kms_close(k);
}

static void test_unknown_key(void **state)
{
	struct tv_kms *k;
	uint8_t ct[32] = { 0 }, tag[16] = { 0 }, pt[32];
	struct tv_kmip_attrs a;
	EVP_PKEY *pk = NULL;
	char msg[256];

	(void)state;
	NEED_SERVER();
	k = connect_ok();
	snprintf(msg, sizeof(msg), "key '424242' does not exist on KMS live (127.0.0.1:%s)",
	         S.port);
	ASSERT_ERR(tv_kms_decrypt_gcm(k, "424242", iv, NULL, 0, ct, 32, tag, pt),
	           TV_ERR_NOTFOUND, msg);
	ASSERT_ERR(tv_kms_get_attributes(k, "424242", &a), TV_ERR_NOTFOUND, msg);
	ASSERT_ERR(tv_kms_get_private_key(k, "424242", &pk), TV_ERR_NOTFOUND, msg);
	ASSERT_ERR(tv_kms_get_public_key(k, "", &pk), TV_ERR_INVAL, "empty key id");
	assert_null(pk);
	if (S.aes_uid[0] != '\0')
		ASSERT_ERR(tv_kms_get_public_key(k, S.aes_uid, &pk), TV_ERR_INVAL,
		           "is a Symmetric Key, not a Public Key");
	tv_kms_close(k);
}

/* RSA-OAEP(SHA-256) with a key pair on the KMS: wrap locally with the public
 * key, unwrap with the private key fetched into memory. */
static void rsa_roundtrip(struct tv_kms *k, const char *priv_uid, const char *pub_uid,
                          int bits)
{
	EVP_PKEY *pub = NULL, *priv = NULL;
	EVP_PKEY_CTX *c;
	uint8_t dek[32], ct[1024], pt[1024];
	size_t ctlen = sizeof(ct), ptlen = sizeof(pt);
	struct timespec t0;

	ASSERT_OK(tv_kms_get_public_key(k, pub_uid, &pub));
	assert_int_equal(EVP_PKEY_get_bits(pub), bits);
	assert_int_equal(RAND_bytes(dek, 32), 1);
	c = EVP_PKEY_CTX_new(pub, NULL);
	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0);
	assert_int_equal(EVP_PKEY_encrypt(c, ct, &ctlen, dek, 32), 1);
	EVP_PKEY_CTX_free(c);

	/* PyKMIP cannot decrypt with RSA: the caller's cue to Get the key */
	ASSERT_ERR(tv_kms_rsa_decrypt(k, priv_uid, NULL, 0, ct, ctlen, pt, sizeof(pt), &ptlen),
	           TV_ERR_UNSUPPORTED, "cannot decrypt with RSA");
	/* remembered: no second round trip */
	{
		uint64_t rt = tv_kms_round_trips(k);
		assert_int_equal(tv_kms_rsa_decrypt(k, priv_uid, NULL, 0, ct, ctlen, pt, sizeof(pt),
		                                    &ptlen), TV_ERR_UNSUPPORTED);
		assert_int_equal(tv_kms_round_trips(k), rt);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_OK(tv_kms_get_private_key(k, priv_uid, &priv));
	printf("    Get of the RSA-%d private key: %.2f ms\n", bits, ms_since(&t0));
	assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
	c = EVP_PKEY_CTX_new(priv, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0);
	ptlen = sizeof(pt);
	assert_int_equal(EVP_PKEY_decrypt(c, pt, &ptlen, ct, ctlen), 1);
	EVP_PKEY_CTX_free(c);
	assert_int_equal(ptlen, 32);
	assert_memory_equal(pt, dek, 32);
	OPENSSL_cleanse(pt, sizeof(pt));
	OPENSSL_cleanse(dek, sizeof(dek));
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

static void test_rsa_key_pair(void **state)
{
	struct tv_kms *k;
	char priv[TV_KMS_UID_MAX], pub[TV_KMS_UID_MAX], uid[TV_KMS_UID_MAX];
	struct tv_kmip_attrs a;
	EVP_PKEY *pk = NULL;
	struct timespec t0;

	(void)state;
	NEED_SERVER();
	k = connect_ok();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_OK(tv_kms_create_rsa(k, "tv-live-rsa", 0, priv, pub));
	printf("    created RSA-3072 pair: private %s, public %s (%.0f ms)\n", priv, pub,
	       ms_since(&t0));
	ASSERT_OK(tv_kms_get_attributes(k, priv, &a));
	assert_int_equal(a.object_type, TV_KOBJ_PRIVATE_KEY);
	assert_int_equal(a.alg, TV_KALG_RSA);
	assert_int_equal(a.bits, 3072);
	assert_int_equal(a.state, TV_KSTATE_ACTIVE);
	assert_string_equal(a.name, "tv-live-rsa");
	ASSERT_OK(tv_kms_get_attributes(k, pub, &a));
	assert_int_equal(a.object_type, TV_KOBJ_PUBLIC_KEY);
	assert_int_equal(a.state, TV_KSTATE_ACTIVE);
	assert_string_equal(a.name, "tv-live-rsa.pub");
	ASSERT_OK(tv_kms_locate(k, "tv-live-rsa.pub", uid, NULL));
	assert_string_equal(uid, pub);
	/* handing the wrong half is caught */
	ASSERT_ERR(tv_kms_get_public_key(k, priv, &pk), TV_ERR_INVAL,
	           "is a Private Key, not a Public Key");
	rsa_roundtrip(k, priv, pub, 3072);
	tv_kms_close(k);
}

static void test_revoke_destroy(void **state)
{
	struct tv_kms *k;
	char uid[TV_KMS_UID_MAX];
	uint8_t dek[32] = { 7 }, ct[32], tag[16], pt[32];
	struct tv_kmip_attrs a;

	(void)state;
	NEED_SERVER();
	k = connect_ok();
	ASSERT_OK(tv_kms_create_aes(k, "tv-live-revoke", uid));
	ASSERT_OK(tv_kms_encrypt_gcm(k, uid, iv, (const uint8_t *)aad, 8, dek, 32, ct, tag));
	ASSERT_ERR(tv_kms_destroy(k, uid), TV_ERR_STATE, "revoke it first");
	ASSERT_OK(tv_kms_revoke(k, uid));
	ASSERT_OK(tv_kms_get_attributes(k, uid, &a));
	assert_int_equal(a.state, TV_KSTATE_DEACTIVATED);
	ASSERT_ERR(tv_kms_decrypt_gcm(k, uid, iv, (const uint8_t *)aad, 8, ct, 32, tag, pt),
	           TV_ERR_STATE, "was revoked");
	ASSERT_ERR(tv_kms_encrypt_gcm(k, uid, iv, NULL, 0, dek, 32, ct, tag), TV_ERR_STATE,
	           "was revoked");
	ASSERT_OK(tv_kms_destroy(k, uid));
	ASSERT_ERR(tv_kms_decrypt_gcm(k, uid, iv, (const uint8_t *)aad, 8, ct, 32, tag, pt),
	           TV_ERR_NOTFOUND, "does not exist on KMS live");
	ASSERT_ERR(tv_kms_revoke(k, uid), TV_ERR_NOTFOUND, "does not exist");
	tv_kms_close(k);
}

/* Keys made by PyKMIP's own client (not by tapevault) work the same. */
static void test_keys_from_pykmip_client(void **state)
{
	struct tv_kms *k;
	char aes[TV_KMS_UID_MAX], priv[TV_KMS_UID_MAX], pub[TV_KMS_UID_MAX];
	uint8_t dek[32], ct[32], tag[16], pt[32];
	int rc;

	(void)state;
	NEED_SERVER();
	rc = run("/usr/bin/python3 '%s/tests/kms/pykmip-client-create.py' '%s' pykmip-made "
	         "--rsa 2048 2>&1", S.src, S.dir);
	if (rc != 0)
		fail_msg("pykmip-client-create.py failed (%d):\n%s", rc, S.out);
	assert_int_equal(getvar("AES_UID", aes, sizeof(aes)), 0);
	assert_int_equal(getvar("RSA_PRIV_UID", priv, sizeof(priv)), 0);
	assert_int_equal(getvar("RSA_PUB_UID", pub, sizeof(pub)), 0);
	printf("    PyKMIP client made AES %s, RSA private %s, public %s\n", aes, priv, pub);
	k = connect_ok();
	assert_int_equal(RAND_bytes(dek, 32), 1);
	ASSERT_OK(tv_kms_encrypt_gcm(k, aes, iv, (const uint8_t *)aad, 8, dek, 32, ct, tag));
	ASSERT_OK(tv_kms_decrypt_gcm(k, aes, iv, (const uint8_t *)aad, 8, ct, 32, tag, pt));
	assert_memory_equal(pt, dek, 32);
	{
		char uid[TV_KMS_UID_MAX];
		ASSERT_OK(tv_kms_locate(k, "pykmip-made", uid, NULL));
		assert_string_equal(uid, aes);
	}
	rsa_roundtrip(k, priv, pub, 2048);
	tv_kms_close(k);
}

/* The server restarts under an open connection: the next call reconnects
 * once, transparently. */
static void test_reconnect(void **state)
{
	struct tv_kms *k;
	char buf[256];
	uint8_t dek[32] = { 1 }, ct[32], tag[16], pt[32];
	int rc;

	(void)state;
	NEED_SERVER();
	if (S.aes_uid[0] == '\0')
		skip();
	k = connect_ok();
	ASSERT_OK(tv_kms_encrypt_gcm(k, S.aes_uid, iv, NULL, 0, dek, 32, ct, tag));
	server_stop();
	rc = server_start(S.port);
	if (rc != 0) {
		S.status = rc;
		fail_msg("restarting the PyKMIP server failed:\n%s", S.out);
	}
	ASSERT_OK(tv_kms_decrypt_gcm(k, S.aes_uid, iv, NULL, 0, ct, 32, tag, pt));
	assert_memory_equal(pt, dek, 32);
	assert_int_equal(tv_kms_connects(k), 2);
	ASSERT_OK(tv_kms_discover_versions(k, buf, sizeof(buf)));
	assert_int_equal(tv_kms_connects(k), 2);
	tv_kms_close(k);
}

static void test_tls_failures(void **state)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	char path[600], cmd[2048];

	(void)state;
	NEED_SERVER();

	/* we do not trust the server: wrong CA file */
	conf_init(&c);
	snprintf(c.ca, sizeof(c.ca), "%s", S.other_ca);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_TLS, "we rejected the server's certificate");
	assert_null(k);

	/* the server does not trust us: client certificate of another CA */
	conf_init(&c);
	snprintf(c.cert, sizeof(c.cert), "%s", S.other_cert);
	snprintf(c.key, sizeof(c.key), "%s", S.other_key);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_TLS, "server rejected our client certificate");
	assert_null(k);

	/* key and certificate that do not belong together */
	conf_init(&c);
	snprintf(c.key, sizeof(c.key), "%s", S.other_key);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_TLS, "does not belong to certificate");

	/* a key file others can read is refused before any network I/O */
	snprintf(path, sizeof(path), "%s/open.key", S.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 644 '%s'", S.key, path, path);
	assert_int_equal(system(cmd), 0);
	conf_init(&c);
	snprintf(c.key, sizeof(c.key), "%s", path);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_PERM, "chmod 600");
	assert_non_null(strstr(tv_errdetail(), "mode 0644"));
	chmod(path, 0600);
	k = NULL;
	ASSERT_OK(tv_kms_connect(&c, &k));
	tv_kms_close(k);

	/* missing file */
	conf_init(&c);
	snprintf(c.ca, sizeof(c.ca), "%s/no-such-ca.pem", S.dir);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_IO, "no-such-ca.pem");
}

/* Bind a port, then close it: nothing listens there. */
static unsigned dead_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* A one-connection TLS server in a thread: completes the handshake with the
 * given certificate, then reads and never answers (until the peer leaves
 * or 10 s pass). */
struct mini {
	int lfd;
	unsigned port;
	SSL_CTX *ctx;
	pthread_t th;
};

static void *mini_run(void *arg)
{
	struct mini *m = arg;
	struct timeval tv = { 10, 0 };
	uint8_t buf[512];
	int fd = accept(m->lfd, NULL, NULL);
	SSL *s;

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	s = SSL_new(m->ctx);
	SSL_set_fd(s, fd);
	if (SSL_accept(s) == 1)
		while (SSL_read(s, buf, sizeof(buf)) > 0)
			;
	SSL_free(s);
	close(fd);
	return NULL;
}

static void mini_start(struct mini *m, const char *cert, const char *key)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(m, 0, sizeof(*m));
	m->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(m->ctx);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(m->ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(m->ctx, key, SSL_FILETYPE_PEM), 1);
	m->lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(m->lfd, 4), 0);
	assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&a, &al), 0);
	m->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&m->th, NULL, mini_run, m), 0);
}

static void mini_stop(struct mini *m)
{
	shutdown(m->lfd, SHUT_RDWR);
	pthread_join(m->th, NULL);
	close(m->lfd);
	SSL_CTX_free(m->ctx);
}

/* ---- a scripted KMIP server: crafted responses to the client's real
 * requests, for what a well-behaved PyKMIP never sends ---- */

enum script {
	SC_ECHO,           /* success, our op and id, payload {UID "7"} */
	SC_WRONG_ID,       /* success with another Unique Batch Item ID */
	SC_NO_ID,          /* success without Unique Batch Item ID */
	SC_NO_OP,          /* success without Operation */
	SC_OTHER_OP,       /* success naming another operation */
	SC_GET_OTHER_UID,  /* Get answered with key "other" */
	SC_GET_SAME_UID,   /* Get answered with the key asked for */
	SC_FAIL,           /* failed item: op, id, reason sc_reason */
	SC_FAIL_WHOLE,     /* PyKMIP's parse failure: no op, no id, Invalid Message */
	SC_PLAIN           /* Decrypt success returning 32 bytes 0x5A */
};

struct fake {
	struct mini m;
	enum script sc;
	uint32_t reason;
	uint8_t req[16384];   /* the last request */
	size_t reqn;
};

static int ssl_read_all(SSL *s, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		int r = SSL_read(s, p + got, (int)(n - got));
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void fake_answer(struct fake *f, struct tv_buf *out)
{
	static const uint8_t key[32] = { 1 };
	struct tv_ttlv_doc d;
	const struct tv_ttlv *bi, *x, *uidn;
	struct tv_ttlv_enc e;
	uint32_t op = 0;
	uint8_t id[16] = { 0 };
	size_t idn = 0;
	char uid[64] = "7";

	assert_int_equal(tv_ttlv_decode(f->req, f->reqn, &d), 0);
	bi = tv_ttlv_find(tv_ttlv_root(&d), TV_KT_BATCH_ITEM);
	assert_int_equal(tv_ttlv_enum(tv_ttlv_find(bi, TV_KT_OPERATION), &op), 0);
	if ((x = tv_ttlv_find(bi, TV_KT_UNIQUE_BATCH_ITEM_ID)) != NULL && x->len <= 16) {
		memcpy(id, x->val, x->len);
		idn = x->len;
	}
	uidn = tv_ttlv_find(tv_ttlv_find(bi, TV_KT_REQUEST_PAYLOAD), TV_KT_UNIQUE_IDENTIFIER);
	if (uidn != NULL)
		tv_ttlv_text(uidn, uid, sizeof(uid));
	tv_ttlv_doc_free(&d);
	if (f->sc == SC_WRONG_ID)
		id[0] ^= 0xff;
	if (f->sc == SC_OTHER_OP)
		op = TV_KOP_LOCATE;
	if (f->sc == SC_GET_OTHER_UID)
		snprintf(uid, sizeof(uid), "other");
	tv_ttlv_enc_init(&e, out);
	tv_ttlv_begin(&e, TV_KT_RESPONSE_MESSAGE);
	tv_ttlv_begin(&e, TV_KT_RESPONSE_HEADER);
	tv_ttlv_begin(&e, TV_KT_PROTOCOL_VERSION);
	tv_ttlv_put_int(&e, TV_KT_PROTOCOL_VERSION_MAJOR, 1);
	tv_ttlv_put_int(&e, TV_KT_PROTOCOL_VERSION_MINOR, 4);
	tv_ttlv_end(&e);
	tv_ttlv_put_int(&e, TV_KT_BATCH_COUNT, 1);
	tv_ttlv_end(&e);
	tv_ttlv_begin(&e, TV_KT_BATCH_ITEM);
	if (f->sc != SC_NO_OP && f->sc != SC_FAIL_WHOLE)
		tv_ttlv_put_enum(&e, TV_KT_OPERATION, op);
	if (f->sc != SC_NO_ID && f->sc != SC_FAIL_WHOLE && idn > 0)
		tv_ttlv_put_bytes(&e, TV_KT_UNIQUE_BATCH_ITEM_ID, id, idn);
	if (f->sc == SC_FAIL || f->sc == SC_FAIL_WHOLE) {
		tv_ttlv_put_enum(&e, TV_KT_RESULT_STATUS, TV_KSTATUS_FAILED);
		tv_ttlv_put_enum(&e, TV_KT_RESULT_REASON,
		                 f->sc == SC_FAIL ? f->reason : TV_KR_INVALID_MESSAGE);
		tv_ttlv_put_text(&e, TV_KT_RESULT_MESSAGE, "scripted failure");
	} else {
		tv_ttlv_put_enum(&e, TV_KT_RESULT_STATUS, TV_KSTATUS_SUCCESS);
		tv_ttlv_begin(&e, TV_KT_RESPONSE_PAYLOAD);
		if (f->sc == SC_GET_OTHER_UID || f->sc == SC_GET_SAME_UID)
			tv_ttlv_put_enum(&e, TV_KT_OBJECT_TYPE, TV_KOBJ_SYMMETRIC_KEY);
		tv_ttlv_put_text(&e, TV_KT_UNIQUE_IDENTIFIER, uid);
		if (f->sc == SC_GET_OTHER_UID || f->sc == SC_GET_SAME_UID) {
			tv_ttlv_begin(&e, TV_KT_SYMMETRIC_KEY);
			tv_ttlv_begin(&e, TV_KT_KEY_BLOCK);
			tv_ttlv_put_enum(&e, TV_KT_KEY_FORMAT_TYPE, TV_KFMT_RAW);
			tv_ttlv_begin(&e, TV_KT_KEY_VALUE);
			tv_ttlv_put_bytes(&e, TV_KT_KEY_MATERIAL, key, sizeof(key));
			tv_ttlv_end(&e);
			tv_ttlv_put_enum(&e, TV_KT_CRYPTOGRAPHIC_ALGORITHM, TV_KALG_AES);
			tv_ttlv_put_int(&e, TV_KT_CRYPTOGRAPHIC_LENGTH, 256);
			tv_ttlv_end(&e);
			tv_ttlv_end(&e);
		}
		if (f->sc == SC_PLAIN) {
			uint8_t pt[32];
			memset(pt, 0x5A, sizeof(pt));
			tv_ttlv_put_bytes(&e, TV_KT_DATA, pt, sizeof(pt));
		}
		tv_ttlv_end(&e);
	}
	tv_ttlv_end(&e);
	tv_ttlv_end(&e);
	assert_int_equal(tv_ttlv_enc_finish(&e), 0);
}

/* One connection; every request answered as f->sc says (f->sc may be
 * changed between requests: the client waits for each answer). */
static void *fake_run(void *arg)
{
	struct fake *f = arg;
	struct timeval tv = { 10, 0 };
	int fd = accept(f->m.lfd, NULL, NULL);
	SSL *s;

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s = SSL_new(f->m.ctx);
	SSL_set_fd(s, fd);
	if (SSL_accept(s) == 1) {
		for (;;) {
			struct tv_buf out;
			size_t total;
			if (ssl_read_all(s, f->req, 8) != 0 ||
			    tv_ttlv_msg_len(f->req, sizeof(f->req), &total) != 0 ||
			    ssl_read_all(s, f->req + 8, total - 8) != 0)
				break;
			f->reqn = total;
			tv_buf_init(&out);
			fake_answer(f, &out);
			SSL_write(s, tv_buf_ptr(&out), (int)tv_buf_avail(&out));
			tv_buf_free(&out);
		}
	}
	SSL_free(s);
	close(fd);
	return NULL;
}

static struct tv_kms *fake_start(struct fake *f)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	struct mini *m = &f->m;

	memset(f, 0, sizeof(*f));
	m->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(m->ctx);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(m->ctx, S.server_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(m->ctx, S.server_key, SSL_FILETYPE_PEM), 1);
	m->lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(m->lfd, 4), 0);
	assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&a, &al), 0);
	m->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&m->th, NULL, fake_run, f), 0);
	conf_init(&c);
	c.port = m->port;
	c.timeout_ms = 3000;
	ASSERT_OK(tv_kms_connect(&c, &k));
	return k;
}

static void fake_stop(struct fake *f, struct tv_kms *k)
{
	tv_kms_close(k);
	mini_stop(&f->m);
}

/* The Unique Batch Item ID of the last request (8 bytes), checked present. */
static void last_request_id(struct fake *f, uint8_t id[8])
{
	struct tv_ttlv_doc d;
	const struct tv_ttlv *x;

	assert_int_equal(tv_ttlv_decode(f->req, f->reqn, &d), 0);
	x = tv_ttlv_find(tv_ttlv_find(tv_ttlv_root(&d), TV_KT_BATCH_ITEM),
	                 TV_KT_UNIQUE_BATCH_ITEM_ID);
	assert_non_null(x);
	assert_int_equal(x->type, TV_TTLV_BYTES);
	assert_int_equal(x->len, 8);
	memcpy(id, x->val, 8);
	tv_ttlv_doc_free(&d);
}

/* Issue 10 finding 7: batch item ids set and checked, the operation of a
 * response checked, the UID a Get returns checked. */
static void test_strict_responses(void **state)
{
	struct fake f;
	struct tv_kms *k;
	char uid[TV_KMS_UID_MAX];
	uint8_t id1[8], id2[8], key[64];
	size_t n;

	(void)state;
	NEED_SERVER();
	k = fake_start(&f);
	f.sc = SC_ECHO;
	ASSERT_OK(tv_kms_locate(k, "x", uid, NULL));
	assert_string_equal(uid, "7");
	last_request_id(&f, id1);
	ASSERT_OK(tv_kms_activate(k, "7"));
	last_request_id(&f, id2);
	assert_memory_not_equal(id1, id2, 8);          /* unique per request */

	f.sc = SC_WRONG_ID;
	ASSERT_ERR(tv_kms_activate(k, "7"), TV_ERR_PROTO, "Unique Batch Item ID we did not send");
	fake_stop(&f, k);               /* a mismatch drops the connection */

	k = fake_start(&f);
	f.sc = SC_NO_ID;
	ASSERT_ERR(tv_kms_activate(k, "7"), TV_ERR_PROTO, "carries no Unique Batch Item ID");
	fake_stop(&f, k);
	k = fake_start(&f);
	f.sc = SC_NO_OP;
	ASSERT_ERR(tv_kms_activate(k, "7"), TV_ERR_PROTO, "without naming the operation");
	fake_stop(&f, k);
	k = fake_start(&f);
	f.sc = SC_OTHER_OP;
	ASSERT_ERR(tv_kms_activate(k, "7"), TV_ERR_PROTO,
	           "our Activate request was answered with a Locate response");
	fake_stop(&f, k);

	k = fake_start(&f);
	f.sc = SC_GET_SAME_UID;
	ASSERT_OK(tv_kms_get_symmetric_key(k, "k1", key, sizeof(key), &n));
	assert_int_equal(n, 32);
	f.sc = SC_GET_OTHER_UID;
	ASSERT_ERR(tv_kms_get_symmetric_key(k, "k1", key, sizeof(key), &n), TV_ERR_PROTO,
	           "asked for key 'k1', the KMS returned key 'other'");
	fake_stop(&f, k);

	/* failures keep their meaning: a failed item with our id and op */
	k = fake_start(&f);
	f.sc = SC_FAIL;
	f.reason = TV_KR_ITEM_NOT_FOUND;
	ASSERT_ERR(tv_kms_activate(k, "7"), TV_ERR_NOTFOUND, "does not exist");
	f.sc = SC_FAIL_WHOLE;
	ASSERT_ERR(tv_kms_activate(k, "7"), TV_ERR_KMIP, "rejected our Activate request");
	fake_stop(&f, k);
}

/* The Cryptographic Parameters of the last request's payload. */
static void last_cparams(struct fake *f, uint32_t *pad, uint32_t *hash, uint32_t *mgf,
                         uint32_t *mgfhash, uint8_t *label, size_t *labeln)
{
	struct tv_ttlv_doc d;
	const struct tv_ttlv *cp, *x;

	assert_int_equal(tv_ttlv_decode(f->req, f->reqn, &d), 0);
	cp = tv_ttlv_find(tv_ttlv_find(tv_ttlv_find(tv_ttlv_root(&d), TV_KT_BATCH_ITEM),
	                               TV_KT_REQUEST_PAYLOAD), TV_KT_CRYPTOGRAPHIC_PARAMETERS);
	assert_non_null(cp);
	assert_int_equal(tv_ttlv_enum(tv_ttlv_find(cp, TV_KT_PADDING_METHOD), pad), 0);
	assert_int_equal(tv_ttlv_enum(tv_ttlv_find(cp, TV_KT_HASHING_ALGORITHM), hash), 0);
	assert_int_equal(tv_ttlv_enum(tv_ttlv_find(cp, TV_KT_MASK_GENERATOR), mgf), 0);
	assert_int_equal(tv_ttlv_enum(tv_ttlv_find(cp, TV_KT_MASK_GENERATOR_HASH), mgfhash), 0);
	x = tv_ttlv_find(cp, TV_KT_P_SOURCE);
	assert_non_null(x);
	assert_true(x->len <= *labeln);
	memcpy(label, x->val, x->len);
	*labeln = x->len;
	tv_ttlv_doc_free(&d);
}

/* Issue 10 finding 6, the client's half: RSA Decrypt carries OAEP,
 * SHA-256, MGF1 with SHA-256 and the label as P Source; the answer is
 * returned; only "not supported" (or a whole request the server could not
 * parse) reads as TV_ERR_UNSUPPORTED, other refusals do not. */
static void test_rsa_decrypt_params(void **state)
{
	static const uint8_t ct[256] = { 9 };
	struct fake f;
	struct tv_kms *k;
	uint8_t pt[512], label[128], want[32];
	size_t ptlen = 0, labeln = sizeof(label);
	uint32_t pad, hash, mgf, mgfhash;

	(void)state;
	NEED_SERVER();
	k = fake_start(&f);
	f.sc = SC_PLAIN;
	ASSERT_OK(tv_kms_rsa_decrypt(k, "9", (const uint8_t *)"the-label", 9, ct, sizeof(ct),
	                             pt, sizeof(pt), &ptlen));
	memset(want, 0x5A, sizeof(want));
	assert_int_equal(ptlen, 32);
	assert_memory_equal(pt, want, 32);
	last_cparams(&f, &pad, &hash, &mgf, &mgfhash, label, &labeln);
	assert_int_equal(pad, TV_KPAD_OAEP);
	assert_int_equal(hash, TV_KHASH_SHA256);
	assert_int_equal(mgf, TV_KMGF_MGF1);
	assert_int_equal(mgfhash, TV_KHASH_SHA256);
	assert_int_equal(labeln, 9);
	assert_memory_equal(label, "the-label", 9);

	f.sc = SC_FAIL;
	f.reason = TV_KR_PERMISSION_DENIED;
	ASSERT_ERR(tv_kms_rsa_decrypt(k, "9", NULL, 0, ct, sizeof(ct), pt, sizeof(pt), &ptlen),
	           TV_ERR_PERM, "permission denied");
	f.reason = TV_KR_CRYPTOGRAPHIC_FAILURE;
	ASSERT_ERR(tv_kms_rsa_decrypt(k, "9", NULL, 0, ct, sizeof(ct), pt, sizeof(pt), &ptlen),
	           TV_ERR_BADKEY, "could not decrypt the wrapped data");
	f.reason = TV_KR_INVALID_FIELD;
	assert_int_not_equal(tv_kms_rsa_decrypt(k, "9", NULL, 0, ct, sizeof(ct), pt, sizeof(pt),
	                                        &ptlen), TV_ERR_UNSUPPORTED);
	f.reason = TV_KR_OPERATION_NOT_SUPPORTED;
	ASSERT_ERR(tv_kms_rsa_decrypt(k, "9", NULL, 0, ct, sizeof(ct), pt, sizeof(pt), &ptlen),
	           TV_ERR_UNSUPPORTED, "cannot decrypt with RSA key");
	fake_stop(&f, k);

	k = fake_start(&f);
	f.sc = SC_FAIL;
	f.reason = TV_KR_FEATURE_NOT_SUPPORTED;
	ASSERT_ERR(tv_kms_rsa_decrypt(k, "9", NULL, 0, ct, sizeof(ct), pt, sizeof(pt), &ptlen),
	           TV_ERR_UNSUPPORTED, "Feature Not Supported");
	fake_stop(&f, k);
	k = fake_start(&f);
	f.sc = SC_FAIL_WHOLE;      /* PyKMIP 0.10: cannot parse KMIP 1.4 parameters */
	ASSERT_ERR(tv_kms_rsa_decrypt(k, "9", NULL, 0, ct, sizeof(ct), pt, sizeof(pt), &ptlen),
	           TV_ERR_UNSUPPORTED, "Invalid Message");
	fake_stop(&f, k);
}

static void write_harness(const char *dir, const char *json)
{
	char *path = tl_path(dir, "harness.json");
	tl_write_file(path, json, strlen(json), 0600);
	free(path);
}

static int log_has(const char *dir, const char *needle)
{
	char *path = tl_path(dir, "server.log");
	size_t n;
	char *text = (char *)tl_read_file(path, &n);
	int found = text != NULL && strstr(text, needle) != NULL;
	free(text);
	free(path);
	return found;
}

static void rsa_encrypt_label(EVP_PKEY *pub, const char *label, const uint8_t *in,
                              size_t n, uint8_t *out, size_t *outn)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	unsigned char *l = OPENSSL_memdup(label, strlen(label));

	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0);
	assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(c, l, (int)strlen(label)) > 0);
	assert_int_equal(EVP_PKEY_encrypt(c, out, outn, in, n), 1);
	EVP_PKEY_CTX_free(c);
}

/* Issue 10 finding 6 against a real PyKMIP extended by the test harness
 * (tests/kms/pykmip-rsa-server.py) with RSA-OAEP Decrypt and Links. */
static void test_rsa_server_side(void **state)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	struct tv_kmip_attrs a;
	char dir[512], port[16], priv[TV_KMS_UID_MAX], pub[TV_KMS_UID_MAX], needle[200];
	uint8_t dek[32], ct[512], pt[512];
	size_t ctlen = sizeof(ct), ptlen = 0;
	EVP_PKEY *pk = NULL;

	(void)state;
	NEED_SERVER();
	snprintf(dir, sizeof(dir), "%s", tl_tmpdir("kmsx"));
	if (run("KMS_EXTENDED=1 KMS_WATCH_PID=%d KMS_CLIENT_NAME=tapevault-live bash "
	        "'%s/tests/kms/pykmip-server.sh' start '%s' 2>&1", (int)getpid(), S.src, dir) != 0 ||
	    getvar("KMS_PORT", port, sizeof(port)) != 0)
		fail_msg("extended PyKMIP server did not start: %s", S.out);
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "kmsx");
	snprintf(c.host, sizeof(c.host), "127.0.0.1");
	c.port = (unsigned)atoi(port);
	snprintf(c.ca, sizeof(c.ca), "%s/ca.pem", dir);
	snprintf(c.cert, sizeof(c.cert), "%s/client.pem", dir);
	snprintf(c.key, sizeof(c.key), "%s/client.key", dir);
	ASSERT_OK(tv_kms_connect(&c, &k));
	ASSERT_OK(tv_kms_create_rsa(k, "tv-srv-rsa", 2048, priv, pub));
	ASSERT_OK(tv_kms_get_attributes(k, priv, &a));
	assert_true(a.have & TV_KATTR_LINK_PUBLIC);
	assert_string_equal(a.link_public, pub);
	ASSERT_OK(tv_kms_get_attributes(k, pub, &a));
	assert_true(a.have & TV_KATTR_LINK_PRIVATE);
	assert_string_equal(a.link_private, priv);

	ASSERT_OK(tv_kms_get_public_key(k, pub, &pk));
	tl_fill_random(dek, sizeof(dek), 61);
	rsa_encrypt_label(pk, "slot-aad-1", dek, sizeof(dek), ct, &ctlen);
	ASSERT_OK(tv_kms_rsa_decrypt(k, priv, (const uint8_t *)"slot-aad-1", 10, ct, ctlen, pt,
	                             sizeof(pt), &ptlen));
	assert_int_equal(ptlen, 32);
	assert_memory_equal(pt, dek, 32);
	snprintf(needle, sizeof(needle), "tv-harness: RSA-OAEP Decrypt with private key %s", priv);
	assert_true(log_has(dir, needle));
	/* another label (a slot moved to another tape): the KMS says no, no fallback */
	ASSERT_ERR(tv_kms_rsa_decrypt(k, priv, (const uint8_t *)"slot-aad-2", 10, ct, ctlen, pt,
	                              sizeof(pt), &ptlen), TV_ERR_BADKEY, "could not decrypt");
	/* private key not exportable: Decrypt still works, Get is refused */
	write_harness(dir, "{\"export_private\": false}");
	ASSERT_OK(tv_kms_rsa_decrypt(k, priv, (const uint8_t *)"slot-aad-1", 10, ct, ctlen, pt,
	                             sizeof(pt), &ptlen));
	{
		EVP_PKEY *sk = NULL;
		ASSERT_ERR(tv_kms_get_private_key(k, priv, &sk), TV_ERR_PERM, "not exportable");
	}
	/* the server says RSA decryption is not supported */
	write_harness(dir, "{\"rsa_decrypt\": \"unsupported\"}");
	ASSERT_ERR(tv_kms_rsa_decrypt(k, priv, (const uint8_t *)"slot-aad-1", 10, ct, ctlen, pt,
	                              sizeof(pt), &ptlen), TV_ERR_UNSUPPORTED,
	           "Operation Not Supported");
	OPENSSL_cleanse(pt, sizeof(pt));
	EVP_PKEY_free(pk);
	tv_kms_close(k);
	run("bash '%s/tests/kms/pykmip-server.sh' stop '%s' 2>&1", S.src, dir);
}

/* Issue 10 finding 7: the client key file must belong to our euid. */
static void test_key_file_owner(void **state)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	char path[600], cmd[3000];

	(void)state;
	NEED_SERVER();
	if (geteuid() != 0)
		tl_skip("needs root to give a file to another user");
	snprintf(path, sizeof(path), "%s/other-owner.key", S.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 600 '%s' && chown 65534 '%s'", S.key,
	         path, path, path);
	assert_int_equal(system(cmd), 0);
	conf_init(&c);
	snprintf(c.key, sizeof(c.key), "%s", path);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_PERM, "belongs to user id 65534");
	assert_null(k);
	assert_int_equal(chown(path, 0, 0), 0);
	ASSERT_OK(tv_kms_connect(&c, &k));
	tv_kms_close(k);
}

/* Hostname/IP verification: a certificate from the right CA for another
 * name is refused; a server that never answers hits the timeout. */
static void test_hostname_and_timeout(void **state)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	struct mini m;
	struct timespec t0;
	char buf[64];

	(void)state;
	NEED_SERVER();
	mini_start(&m, S.wrong_cert, S.wrong_key);
	conf_init(&c);
	c.port = m.port;
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_TLS, "IP address mismatch");
	assert_non_null(strstr(tv_errdetail(), "we rejected the server's certificate "
	                                       "(CN=wrong.example"));
	mini_stop(&m);

	mini_start(&m, S.server_cert, S.server_key);
	conf_init(&c);
	c.port = m.port;
	c.timeout_ms = 600;
	ASSERT_OK(tv_kms_connect(&c, &k));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_ERR(tv_kms_discover_versions(k, buf, sizeof(buf)), TV_ERR_NET,
	           "did not answer Discover Versions within 600 ms");
	assert_true(ms_since(&t0) < 5000);
	tv_kms_close(k);
	mini_stop(&m);
}

static void test_unreachable_and_timeout(void **state)
{
	struct tv_kms_conf c;
	struct tv_kms *k = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	struct timespec t0;
	char buf[64];
	int lfd;

	(void)state;
	NEED_SERVER();
	conf_init(&c);
	c.port = dead_port();
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_NET, "unreachable: connection refused");
	assert_null(k);

	/* a peer that accepts TCP but never speaks TLS: bounded by the timeout */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	conf_init(&c);
	c.port = ntohs(a.sin_port);
	c.timeout_ms = 700;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_ERR(tv_kms_connect(&c, &k), TV_ERR_NET, "timed out");
	assert_true(ms_since(&t0) < 5000);
	close(lfd);

	/* the server goes away under an open connection */
	k = connect_ok();
	ASSERT_OK(tv_kms_discover_versions(k, buf, sizeof(buf)));
	server_stop();
	S.status = 1;            /* later tests must not expect a server */
	ASSERT_ERR(tv_kms_discover_versions(k, buf, sizeof(buf)), TV_ERR_NET, "unreachable");
	tv_kms_close(k);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_available),
		cmocka_unit_test(test_connect_discover_query),
		cmocka_unit_test(test_aes_gcm),
		cmocka_unit_test(test_locate_and_attributes),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_rsa_key_pair),
		cmocka_unit_test(test_revoke_destroy),
		cmocka_unit_test(test_keys_from_pykmip_client),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_tls_failures),
		cmocka_unit_test(test_hostname_and_timeout),
		cmocka_unit_test(test_strict_responses),
		cmocka_unit_test(test_rsa_decrypt_params),
		cmocka_unit_test(test_key_file_owner),
		cmocka_unit_test(test_rsa_server_side),
		cmocka_unit_test(test_unreachable_and_timeout),   /* stops the server: last */
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return tl_run(argc, argv, tests, group_setup, group_teardown);
}
