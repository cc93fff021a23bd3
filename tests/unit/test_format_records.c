/* tapevault: record header, sealing and opening (CRC32C, AES-256-GCM with
 * the HKDF file key), tamper detection, checked against an independent
 * implementation of docs/FORMAT.md with plain OpenSSL calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#define CAP 8192

static uint8_t dek[32], tape[16], content[16];

static void fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i * 13);
}

static int setup(void **state)
{
	(void)state;
	fill(dek, 32, 0x01);
	fill(tape, 16, 0x40);
	fill(content, 16, 0x80);
	return 0;
}

/* HKDF-SHA256 from RFC 5869, with HMAC only. */
static void ref_hkdf(uint8_t out[32], const uint8_t *ikm, const uint8_t *salt,
                     size_t salt_len, const char *info)
{
	uint8_t prk[32], t[64];
	unsigned l = 0;
	size_t il = strlen(info);

	assert_non_null(HMAC(EVP_sha256(), salt, (int)salt_len, ikm, 32, prk, &l));
	memcpy(t, info, il);
	t[il] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, 32, t, il + 1, out, &l));
}

static void test_file_key(void **state)
{
	struct tv_rec_crypto c;
	uint8_t k[32], want[32];
	(void)state;

	assert_int_equal(tv_rec_crypto_init(&c), 0);
	assert_int_equal(tv_rec_file_key(&c, k, dek, content), 0);
	ref_hkdf(want, dek, content, 16, "tapevault record key v1");
	assert_memory_equal(k, want, 32);
	tv_rec_crypto_free(&c);
}

static size_t seal(struct tv_rec_crypto *c, uint8_t *rec, uint8_t flags,
                   uint32_t file_no, uint64_t seq, size_t n)
{
	size_t total = 0;
	fill(rec + TV_REC_HDR, n, (uint8_t)seq);
	assert_int_equal(tv_rec_seal(c, rec, CAP, flags, file_no, seq, n, &total), 0);
	return total;
}

static int open_rec(struct tv_rec_crypto *c, enum tv_key_state ks, uint32_t file_no,
                    uint64_t seq, uint8_t *rec, size_t n, uint8_t **data, size_t *dlen)
{
	struct tv_rec_where w = { "VT0001L9", file_no, seq };
	struct tv_rec_hdr h;
	return tv_rec_open(c, ks, &w, rec, n, -1, &h, data, dlen);
}

static void fix_crc(uint8_t *rec, size_t n)
{
	tv_put_be32(rec + 24, tv_rec_crc(rec, n - TV_REC_HDR));
}

static void test_plain(void **state)
{
	uint8_t rec[CAP], copy[CAP], want[CAP];
	struct tv_rec_hdr h;
	uint8_t *data;
	size_t n, dlen;
	uint32_t crc;
	static const uint8_t zero4[4];
	(void)state;

	n = seal(NULL, rec, TV_RF_END | TV_RF_INCOMPLETE, 9, 5, 1000);
	assert_int_equal(n, 1032);
	/* the layout of docs/FORMAT.md */
	assert_memory_equal(rec, "TVR1\x01\x03\x00\x00", 8);
	assert_int_equal(tv_get_be32(rec + 8), 1000);
	assert_int_equal(tv_get_be32(rec + 12), 9);
	assert_int_equal(tv_get_be64(rec + 16), 5);
	assert_int_equal(tv_get_be32(rec + 28), 0);
	crc = tv_crc32c(0, rec, 24);
	crc = tv_crc32c(crc, zero4, 4);
	crc = tv_crc32c(crc, rec + 28, 4 + 1000);
	assert_int_equal(tv_get_be32(rec + 24), crc);
	assert_int_equal(tv_rec_hdr_decode(rec, n, &h), 0);
	assert_int_equal(h.flags, 3);
	assert_int_equal(h.payload_len, 1000);
	assert_int_equal(h.file_no, 9);
	assert_int_equal(h.seq, 5);

	fill(want, 1000, 5);
	memcpy(copy, rec, n);
	assert_int_equal(open_rec(NULL, TV_KEY_UNSET, 9, 5, copy, n, &data, &dlen), 0);
	assert_int_equal(dlen, 1000);
	assert_memory_equal(data, want, 1000);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 9, 5, copy, n, &data, &dlen), 0);
	/* a plaintext record where encryption is expected: refused */
	assert_int_equal(open_rec(NULL, TV_KEY_SET, 9, 5, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "plaintext record"));
	/* wrong file or sequence */
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 8, 5, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "tape VT0001L9 file 8 record 5"));
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 9, 6, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "sequence 5"));

	/* every byte flipped: rejected, by the CRC except the magic */
	for (size_t i = 0; i < n; i++) {
		int rc;
		memcpy(copy, rec, n);
		copy[i] ^= 0x20;
		rc = open_rec(NULL, TV_KEY_NONE, 9, 5, copy, n, &data, &dlen);
		assert_int_equal(rc, i < 4 ? TV_ERR_FORMAT : TV_ERR_CRC);
	}
	/* every truncation rejected */
	for (size_t k = 0; k < n; k++) {
		memcpy(copy, rec, n);
		assert_int_not_equal(open_rec(NULL, TV_KEY_NONE, 9, 5, copy, k, &data, &dlen), 0);
		assert_int_not_equal(tv_rec_hdr_decode(copy, k, &h), 0);
	}
	/* header checks with a correct CRC */
	memcpy(copy, rec, n);
	copy[4] = 2;
	fix_crc(copy, n);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 9, 5, copy, n, &data, &dlen),
	                 TV_ERR_UNSUPPORTED);
	memcpy(copy, rec, n);
	copy[5] |= 0x10;
	fix_crc(copy, n);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 9, 5, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	memcpy(copy, rec, n);
	copy[30] = 1;
	fix_crc(copy, n);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 9, 5, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	memcpy(copy, rec, n);
	tv_put_be32(copy + 8, 999);
	fix_crc(copy, n);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 9, 5, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	/* empty record */
	n = seal(NULL, rec, TV_RF_END, 2, 1, 0);
	assert_int_equal(n, 32);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 2, 1, rec, n, &data, &dlen), 0);
	assert_int_equal(dlen, 0);
	/* does not fit */
	assert_int_equal(tv_rec_seal(NULL, rec, CAP, 0, 1, 1, CAP - 31, &n), TV_ERR_RANGE);
	assert_int_equal(tv_rec_seal(NULL, rec, CAP, 0x04, 1, 1, 10, &n), TV_ERR_INVAL);
}

/* Decrypts rec independently: HKDF, nonce, AAD exactly as documented. */
static int ref_open(const uint8_t *rec, size_t n, const uint8_t *tape_uuid,
                    const uint8_t *content_uuid, uint8_t *out)
{
	uint8_t key[32], nonce[12] = { 0 }, aad[56];
	size_t clen = n - 32 - 16;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l, ok;

	ref_hkdf(key, dek, content_uuid, 16, "tapevault record key v1");
	memcpy(nonce + 4, rec + 16, 8);
	memcpy(aad, tape_uuid, 16);
	memcpy(aad + 16, content_uuid, 16);
	memcpy(aad + 32, rec, 24);
	ok = EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	     EVP_DecryptUpdate(x, NULL, &l, aad, 56) == 1 &&
	     EVP_DecryptUpdate(x, out, &l, rec + 32, (int)clen) == 1 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16,
	                         (void *)(uintptr_t)(rec + 32 + clen)) == 1 &&
	     EVP_DecryptFinal_ex(x, out + l, &l) == 1;
	EVP_CIPHER_CTX_free(x);
	return ok;
}

static void test_encrypted(void **state)
{
	struct tv_rec_crypto wc, rc, other;
	uint8_t rec[CAP], copy[CAP], want[CAP], plain[CAP];
	uint8_t *data;
	size_t n, dlen;
	uint8_t tape2[16], content2[16], dek2[32];
	(void)state;

	fill(tape2, 16, 0x41);
	fill(content2, 16, 0x81);
	fill(dek2, 32, 0x02);
	assert_int_equal(tv_rec_crypto_init(&wc), 0);
	assert_int_equal(tv_rec_crypto_init(&rc), 0);
	assert_int_equal(tv_rec_crypto_init(&other), 0);
	assert_int_equal(tv_rec_crypto_key(&wc, 1, dek, tape, content), 0);
	assert_int_equal(tv_rec_crypto_key(&rc, 0, dek, tape, content), 0);

	n = seal(&wc, rec, TV_RF_END, 3, 17, 3000);
	assert_int_equal(n, 32 + 3000 + 16);
	assert_int_equal(rec[5], TV_RF_END | TV_RF_ENCRYPTED);
	assert_int_equal(tv_get_be32(rec + 8), 3016);
	fill(want, 3000, 17);
	assert_memory_not_equal(rec + 32, want, 3000);
	/* an independent implementation of the spec opens it */
	assert_true(ref_open(rec, n, tape, content, plain));
	assert_memory_equal(plain, want, 3000);

	memcpy(copy, rec, n);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 17, copy, n, &data, &dlen), 0);
	assert_int_equal(dlen, 3000);
	assert_memory_equal(data, want, 3000);
	/* checksums only: ciphertext out, no key needed */
	memcpy(copy, rec, n);
	assert_int_equal(open_rec(NULL, TV_KEY_CRC_ONLY, 3, 17, copy, n, &data, &dlen), 0);
	assert_int_equal(dlen, 3000);
	assert_memory_equal(data, rec + 32, 3000);
	/* no key: locked; plaintext expected: format error */
	memcpy(copy, rec, n);
	assert_int_equal(open_rec(NULL, TV_KEY_UNSET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_LOCKED);
	assert_int_equal(open_rec(NULL, TV_KEY_NONE, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "encrypted record"));

	/* every ciphertext or tag byte flipped (CRC fixed): authentication */
	for (size_t i = 32; i < n; i++) {
		memcpy(copy, rec, n);
		copy[i] ^= 0x01;
		fix_crc(copy, n);
		assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
		                 TV_ERR_AUTH);
	}
	assert_non_null(strstr(tv_errdetail(), "tape VT0001L9 file 3 record 17: "
	                       "authentication failed: data was modified or the key "
	                       "is wrong"));
	/* nothing unauthenticated is left in the buffer */
	for (size_t i = 0; i < 3000; i++)
		assert_true(copy[32 + i] == 0);
	/* header fields bound through the AAD and nonce: a record claiming
	 * another position, with a valid CRC, does not open there */
	memcpy(copy, rec, n);
	tv_put_be64(copy + 16, 18);
	fix_crc(copy, n);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 18, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	memcpy(copy, rec, n);
	tv_put_be32(copy + 12, 4);
	fix_crc(copy, n);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 4, 17, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	memcpy(copy, rec, n);
	copy[5] = TV_RF_ENCRYPTED;           /* END removed */
	fix_crc(copy, n);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	memcpy(copy, rec, n);
	copy[5] = TV_RF_END | TV_RF_INCOMPLETE | TV_RF_ENCRYPTED;
	fix_crc(copy, n);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	/* the ENCRYPTED flag removed: a plaintext record in an encrypted file */
	memcpy(copy, rec, n);
	copy[5] = TV_RF_END;
	fix_crc(copy, n);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_FORMAT);
	/* another tape, another tape file, another key: no */
	assert_int_equal(tv_rec_crypto_key(&other, 0, dek, tape2, content), 0);
	memcpy(copy, rec, n);
	assert_int_equal(open_rec(&other, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	assert_int_equal(tv_rec_crypto_key(&other, 0, dek, tape, content2), 0);
	memcpy(copy, rec, n);
	assert_int_equal(open_rec(&other, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	assert_int_equal(tv_rec_crypto_key(&other, 0, dek2, tape, content), 0);
	memcpy(copy, rec, n);
	assert_int_equal(open_rec(&other, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_AUTH);
	/* a CRC error is reported as such before anything else */
	memcpy(copy, rec, n);
	copy[40] ^= 1;
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 17, copy, n, &data, &dlen),
	                 TV_ERR_CRC);
	assert_non_null(strstr(tv_errdetail(), "file 3 record 17: checksum"));

	/* empty encrypted record: just the tag */
	n = seal(&wc, rec, TV_RF_END, 3, 1, 0);
	assert_int_equal(n, 48);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 1, rec, n, &data, &dlen), 0);
	assert_int_equal(dlen, 0);
	/* an encrypted record too short for its tag */
	memcpy(copy, rec, 48);
	tv_put_be32(copy + 8, 15);
	fix_crc(copy, 47);
	assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, 1, copy, 47, &data, &dlen),
	                 TV_ERR_FORMAT);
	/* many records with one context: IV reset per record works */
	for (uint64_t s = 1; s < 50; s++) {
		n = seal(&wc, rec, 0, 3, s, (size_t)(s * 97 % 4000));
		assert_int_equal(open_rec(&rc, TV_KEY_SET, 3, s, rec, n, &data, &dlen), 0);
		fill(want, dlen, (uint8_t)s);
		assert_memory_equal(data, want, dlen);
	}
	tv_rec_crypto_free(&wc);
	tv_rec_crypto_free(&rc);
	tv_rec_crypto_free(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_key),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_encrypted),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
