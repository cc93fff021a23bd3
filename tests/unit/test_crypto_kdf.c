/* tapevault: crypto primitives: random, UUIDs, HKDF and PBKDF2 known
 * answers, DEK fingerprints, KDF parameter policy, Argon2id, KEK cache,
 * AES-256-GCM helpers. */
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include "testlib.h"

static void test_random_and_uuid(void **state)
{
	uint8_t a[64], b[64], u[16], v[16];
	char s[TV_UUID_STR_LEN];
	(void)state;

	assert_int_equal(tv_random(a, sizeof(a)), 0);
	assert_int_equal(tv_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(tv_random(a, 0), 0);

	assert_int_equal(tv_uuid_new(u), 0);
	assert_int_equal(u[6] >> 4, 4);
	assert_int_equal(u[8] & 0xc0, 0x80);
	tv_uuid_to_str(u, s);
	assert_int_equal(strlen(s), 36);
	assert_int_equal(s[8], '-');
	assert_int_equal(s[14], '4');
	assert_int_equal(tv_uuid_parse(s, v), 0);
	assert_memory_equal(u, v, 16);
	assert_false(tv_uuid_is_nil(u));
	memset(v, 0, 16);
	assert_true(tv_uuid_is_nil(v));

	assert_int_equal(tv_uuid_parse("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", v), 0);
	tv_uuid_to_str(v, s);
	assert_string_equal(s, "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
	assert_int_equal(tv_uuid_parse("6ba7b8109dad11d180b400c04fd430c8", u), 0);
	assert_memory_equal(u, v, 16);
	assert_int_equal(tv_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430c", u), TV_ERR_INVAL);
	assert_int_equal(tv_uuid_parse("6ba7b810x9dad-11d1-80b4-00c04fd430c8", u), TV_ERR_INVAL);
	assert_int_equal(tv_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430cg", u), TV_ERR_INVAL);
	assert_int_equal(tv_uuid_parse("", u), TV_ERR_INVAL);
}

/* RFC 5869 A.1 (test case 1) */
static void test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	(void)state;

	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	tl_unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	        "34007208d5b887185865", want, sizeof(want));
	assert_int_equal(tv_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info,
	                                sizeof(info), okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));
	/* RFC 5869 A.3: no salt, no info */
	tl_unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	        "9d201395faa4b61a96c8", want, sizeof(want));
	assert_int_equal(tv_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, 42), 0);
	assert_memory_equal(okm, want, 42);
	assert_int_equal(tv_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, 0),
	                 TV_ERR_INVAL);
}

struct pbkdf2_kat {
	const char *pw;
	size_t pwlen;
	const char *salt;
	size_t saltlen;
	uint64_t iter;
	const char *dk;
};

/* RFC 7914 section 11 (PBKDF2-HMAC-SHA-256) and the widely used SHA-256
 * versions of the RFC 6070 inputs. */
static const struct pbkdf2_kat kats[] = {
	{ "passwd", 6, "salt", 4, 1,
	  "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	  "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783" },
	{ "Password", 8, "NaCl", 4, 80000,
	  "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	  "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d" },
	{ "password", 8, "salt", 4, 1,
	  "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b" },
	{ "password", 8, "salt", 4, 4096,
	  "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a" },
	{ "passwordPASSWORDpassword", 24, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096,
	  "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9" },
	{ "pass\0word", 9, "sa\0lt", 5, 4096, "89b69d0516f829893c696226650a8687" },
};

static void test_pbkdf2_kat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		uint8_t want[64], got[64];
		int n = (int)tl_unhex(kats[i].dk, want, sizeof(want));

		assert_true(n > 0);
		assert_int_equal(tv_pbkdf2_sha256(kats[i].pw, kats[i].pwlen, kats[i].salt,
		                                  kats[i].saltlen, kats[i].iter, got,
		                                  (size_t)n), 0);
		assert_memory_equal(got, want, (size_t)n);
	}
}

static void test_dek_fingerprint(void **state)
{
	uint8_t dek[32], fpr[16], fpr2[16], want[16];
	char hex[TV_FPR_HEX_LEN];
	(void)state;

	memset(dek, 0x42, sizeof(dek));
	/* HMAC-SHA256(key = 32 x 0x42, "tapevault dek fingerprint v1")[0..16) */
	tl_unhex("f90a000a027540a891a90b06e7924648", want, sizeof(want));
	assert_int_equal(tv_dek_fingerprint(dek, fpr), 0);
	assert_memory_equal(fpr, want, 16);
	tv_dek_fpr_hex(fpr, hex);
	assert_string_equal(hex, "f90a000a027540a891a90b06e7924648");
	dek[31] ^= 1;
	assert_int_equal(tv_dek_fingerprint(dek, fpr2), 0);
	assert_memory_not_equal(fpr, fpr2, 16);
}

static void test_kdf_policy(void **state)
{
	struct tv_kdf_params p, q;
	(void)state;

	assert_int_equal(tv_kdf_params_new(&p, 0), 0);
	assert_int_equal(p.kdf, TV_KDF_PBKDF2_SHA256);
	assert_int_equal(p.iter, 600000);
	assert_int_equal(p.salt_len, 64);
	assert_int_equal(tv_kdf_params_check(&p), 0);
	assert_int_equal(tv_kdf_params_new(&q, 0), 0);
	assert_memory_not_equal(p.salt, q.salt, 64);      /* fresh salt */
	assert_false(tv_kdf_params_equal(&p, &q));
	q = p;
	assert_true(tv_kdf_params_equal(&p, &q));

	q.iter = 599999;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.iter = 100000000;                                /* 10^8 (~28 s): hostile */
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "refused (maximum 10000000)"));
	q.iter = 10000001;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.iter = 10000000;                                 /* the cap: ~17 defaults */
	assert_int_equal(tv_kdf_params_check(&q), 0);
	assert_int_equal(tv_kdf_cost(&q), 17);
	q.iter = 600000;
	assert_int_equal(tv_kdf_cost(&q), 1);
	q.iter = 600000;
	q.salt_len = 8;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.salt_len = 65;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);

	assert_int_equal(tv_kdf_params_new(&q, TV_KDF_ARGON2ID), 0);
	assert_int_equal(q.iter, 3);
	assert_int_equal(q.mem_kib, 65536);
	assert_int_equal(q.par, 1);
	assert_int_equal(tv_kdf_params_check(&q), 0);
	assert_int_equal(tv_kdf_cost(&q), 1);
	q.mem_kib = (uint64_t)4 * 1024 * 1024;             /* 4 GiB: hostile */
	q.iter = 1;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.mem_kib = (uint64_t)1024 * 1024 + 1;             /* > 1 GiB */
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "memory cost"));
	q.mem_kib = (uint64_t)1024 * 1024;                 /* 1 GiB, t=3: the cap */
	q.iter = 3;
	assert_int_equal(tv_kdf_params_check(&q), 0);
	assert_int_equal(tv_kdf_cost(&q), 16);
	q.iter = 4;                                        /* t*m over 3 GiB */
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "too long"));
	q.iter = 33;                                       /* t over 32 */
	q.mem_kib = 19 * 1024;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.iter = 2;
	assert_int_equal(tv_kdf_params_check(&q), 0);
	assert_int_equal(tv_kdf_cost(&q), 1);              /* never less than one unit */
	q.iter = 3;
	q.mem_kib = 1024;                                  /* too weak */
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.mem_kib = 65536;
	q.iter = 1000000;                                  /* would hang */
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.iter = 3;
	q.par = 0;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);
	q.par = 1;
	q.kdf = (enum tv_kdf)7;
	assert_int_equal(tv_kdf_params_check(&q), TV_ERR_FORMAT);

	/* tv_kdf_derive refuses out-of-policy parameters before any work */
	{
		uint8_t kek[32];
		q.kdf = TV_KDF_PBKDF2_SHA256;
		q.iter = UINT64_MAX;
		q.mem_kib = q.par = 0;
		assert_int_equal(tv_kdf_derive(&q, "pw", 2, kek), TV_ERR_FORMAT);
	}
}

static void test_argon2id(void **state)
{
	uint8_t a[32], b[32], c[32];
	struct tv_kdf_params p;
	(void)state;

	/* raw: determinism and sensitivity (small cost, below policy) */
	assert_int_equal(tv_argon2id("password", 8, "somesaltsomesalt", 16, 2, 256, 1, a, 32), 0);
	assert_int_equal(tv_argon2id("password", 8, "somesaltsomesalt", 16, 2, 256, 1, b, 32), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(tv_argon2id("passwore", 8, "somesaltsomesalt", 16, 2, 256, 1, c, 32), 0);
	assert_memory_not_equal(a, c, 32);
	assert_int_equal(tv_argon2id("password", 8, "somesaltsomesalt", 16, 3, 256, 1, c, 32), 0);
	assert_memory_not_equal(a, c, 32);
	/* through the policy, at the minimum cost */
	assert_int_equal(tv_kdf_params_new(&p, TV_KDF_ARGON2ID), 0);
	p.iter = 2;
	p.mem_kib = TV_ARGON2_M_MIN;
	assert_int_equal(tv_kdf_derive(&p, "pw", 2, a), 0);
	assert_int_equal(tv_argon2id("pw", 2, p.salt, p.salt_len, 2, TV_ARGON2_M_MIN, 1, b, 32), 0);
	assert_memory_equal(a, b, 32);
}

static void test_kek_cache(void **state)
{
	struct tv_kek_cache *c;
	struct tv_kdf_params p, q;
	struct tv_kek k;
	uint8_t a[32], b[32], d[32];
	(void)state;

	assert_int_equal(tv_kek_cache_new(&c, 2), 0);
	assert_int_equal(tv_kdf_params_new(&p, TV_KDF_ARGON2ID), 0);
	p.iter = 2;
	p.mem_kib = TV_ARGON2_M_MIN;
	q = p;
	q.salt[0] ^= 1;
	assert_int_equal(tv_kek_cache_get(c, &p, "one", 3, a), 0);
	assert_int_equal(tv_kek_cache_get(c, &p, "one", 3, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(tv_kek_cache_derivations(c), 1);
	assert_int_equal(tv_kek_cache_get(c, &p, "two", 3, d), 0);   /* other password */
	assert_memory_not_equal(a, d, 32);
	assert_int_equal(tv_kek_cache_derivations(c), 2);
	assert_int_equal(tv_kek_cache_get(c, &q, "one", 3, d), 0);   /* other salt; evicts */
	assert_memory_not_equal(a, d, 32);
	assert_int_equal(tv_kek_cache_derivations(c), 3);
	assert_int_equal(tv_kek_cache_get(c, &p, "one", 3, b), 0);   /* evicted earlier? */
	assert_memory_equal(a, b, 32);
	/* seeded entries are used without deriving */
	assert_int_equal(tv_kek_derive(&k, TV_KDF_ARGON2ID, &p, "three", 5), 0);
	assert_int_equal(tv_kek_cache_put(c, &k, "three", 5), 0);
	{
		uint64_t before = tv_kek_cache_derivations(c);
		assert_int_equal(tv_kek_cache_get(c, &p, "three", 5, d), 0);
		assert_memory_equal(d, k.key, 32);
		assert_int_equal(tv_kek_cache_derivations(c), before);
	}
	tv_kek_wipe(&k);
	tv_kek_cache_free(c);
	tv_kek_cache_free(NULL);
}

static void test_gcm(void **state)
{
	uint8_t key[32], iv[12], pt[100], ct[100], out[100], tag[16];
	(void)state;

	memset(key, 7, sizeof(key));
	memset(iv, 9, sizeof(iv));
	for (int i = 0; i < 100; i++)
		pt[i] = (uint8_t)i;
	assert_int_equal(tv_gcm_seal(key, iv, "aad", 3, pt, sizeof(pt), ct, tag), 0);
	assert_memory_not_equal(pt, ct, sizeof(pt));
	assert_int_equal(tv_gcm_open(key, iv, "aad", 3, ct, sizeof(ct), tag, out), 0);
	assert_memory_equal(pt, out, sizeof(pt));
	assert_int_equal(tv_gcm_open(key, iv, "aae", 3, ct, sizeof(ct), tag, out), TV_ERR_AUTH);
	ct[50] ^= 1;
	assert_int_equal(tv_gcm_open(key, iv, "aad", 3, ct, sizeof(ct), tag, out), TV_ERR_AUTH);
	ct[50] ^= 1;
	key[0] ^= 1;
	assert_int_equal(tv_gcm_open(key, iv, "aad", 3, ct, sizeof(ct), tag, out), TV_ERR_AUTH);
	/* in place, empty message */
	key[0] ^= 1;
	memcpy(out, pt, sizeof(pt));
	assert_int_equal(tv_gcm_seal(key, iv, NULL, 0, out, sizeof(out), out, tag), 0);
	assert_int_equal(tv_gcm_open(key, iv, NULL, 0, out, sizeof(out), tag, out), 0);
	assert_memory_equal(pt, out, sizeof(pt));
	assert_int_equal(tv_gcm_seal(key, iv, NULL, 0, NULL, 0, NULL, tag), 0);
	assert_int_equal(tv_gcm_open(key, iv, NULL, 0, NULL, 0, tag, NULL), 0);
}

static void test_secmem(void **state)
{
	char *s = strdup("secret");
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	(void)state;

	tv_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	tv_freezero_str(s);
	tv_freezero(NULL, 10);
	tv_wipe(NULL, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_and_uuid),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_pbkdf2_kat),
		cmocka_unit_test(test_dek_fingerprint),
		cmocka_unit_test(test_kdf_policy),
		cmocka_unit_test(test_argon2id),
		cmocka_unit_test(test_kek_cache),
		cmocka_unit_test(test_gcm),
		cmocka_unit_test(test_secmem),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
