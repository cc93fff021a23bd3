/* tapevault: record header, CRC, AES-256-GCM sealing and opening. */
#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <string.h>

#define REC_VERSION 1
#define REC_FLAGS_KNOWN (TV_RF_END | TV_RF_INCOMPLETE | TV_RF_ENCRYPTED)
#define AAD_LEN (2 * TV_UUID_LEN + 24)
static const char hkdf_info[] = "tapevault record key v1";

int tv_rec_hdr_decode(const uint8_t *rec, size_t n, struct tv_rec_hdr *h)
{
	uint32_t plen;

	memset(h, 0, sizeof(*h));
	if (n < TV_REC_HDR)
		return tv_errf(TV_ERR_FORMAT, "record of %zu bytes is shorter than "
		               "the 32-byte record header", n);
	if (memcmp(rec, TV_REC_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "bad record magic %02x%02x%02x%02x "
		               "(not a tapevault record)", rec[0], rec[1], rec[2], rec[3]);
	if (rec[4] != REC_VERSION)
		return tv_errf(TV_ERR_UNSUPPORTED, "record version %u (this tapevault "
		               "reads version %d)", (unsigned)rec[4], REC_VERSION);
	if (rec[5] & ~REC_FLAGS_KNOWN)
		return tv_errf(TV_ERR_FORMAT, "unknown record flags 0x%02x",
		               (unsigned)rec[5]);
	if (rec[6] != 0 || rec[7] != 0 || tv_get_be32(rec + 28) != 0)
		return tv_errf(TV_ERR_FORMAT, "reserved record header bytes are "
		               "not zero");
	plen = tv_get_be32(rec + 8);
	if ((size_t)plen != n - TV_REC_HDR)
		return tv_errf(TV_ERR_FORMAT, "record payload length %" PRIu32
		               " but the record carries %zu bytes", plen, n - TV_REC_HDR);
	if ((rec[5] & TV_RF_ENCRYPTED) && plen < TV_TAG_LEN)
		return tv_errf(TV_ERR_FORMAT, "encrypted record of %" PRIu32 " payload "
		               "bytes cannot hold its 16-byte tag", plen);
	h->flags = rec[5];
	h->payload_len = plen;
	h->file_no = tv_get_be32(rec + 12);
	h->seq = tv_get_be64(rec + 16);
	h->crc = tv_get_be32(rec + 24);
	return 0;
}

uint32_t tv_rec_crc(const uint8_t *rec, size_t payload_len)
{
	static const uint8_t zero4[4];
	uint32_t crc;

	crc = tv_crc32c(0, rec, 24);
	crc = tv_crc32c(crc, zero4, 4);
	crc = tv_crc32c(crc, rec + 28, 4);
	return tv_crc32c(crc, rec + TV_REC_HDR, payload_len);
}

/* ---- crypto ---- */

int tv_rec_crypto_init(struct tv_rec_crypto *c)
{
	memset(c, 0, sizeof(*c));
	c->ctx = EVP_CIPHER_CTX_new();
	c->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	c->kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (c->ctx == NULL || c->cipher == NULL || c->kdf == NULL) {
		tv_rec_crypto_free(c);
		return tv_errf(TV_ERR_CRYPTO, "OpenSSL: AES-256-GCM or HKDF "
		               "unavailable");
	}
	return 0;
}

void tv_rec_crypto_free(struct tv_rec_crypto *c)
{
	EVP_CIPHER_CTX_free(c->ctx);   /* wipes the key schedule */
	EVP_CIPHER_free(c->cipher);
	EVP_KDF_free(c->kdf);
	OPENSSL_cleanse(c, sizeof(*c));
}

int tv_rec_file_key(struct tv_rec_crypto *c, uint8_t out[TV_DEK_LEN],
                    const uint8_t dek[TV_DEK_LEN],
                    const uint8_t content_uuid[TV_UUID_LEN])
{
	EVP_KDF_CTX *k;
	OSSL_PARAM p[5];
	int ok;

	if ((k = EVP_KDF_CTX_new(c->kdf)) == NULL)
		return tv_errf(TV_ERR_CRYPTO, "HKDF context");
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	                                         (void *)(uintptr_t)dek, TV_DEK_LEN);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	                                         (void *)(uintptr_t)content_uuid,
	                                         TV_UUID_LEN);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	                                         (void *)(uintptr_t)hkdf_info,
	                                         sizeof(hkdf_info) - 1);
	p[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(k, out, TV_DEK_LEN, p) > 0;
	EVP_KDF_CTX_free(k);
	if (!ok) {
		OPENSSL_cleanse(out, TV_DEK_LEN);
		return tv_errf(TV_ERR_CRYPTO, "HKDF-SHA256 failed");
	}
	return 0;
}

int tv_rec_crypto_key(struct tv_rec_crypto *c, int enc, const uint8_t dek[TV_DEK_LEN],
                      const uint8_t tape_uuid[TV_UUID_LEN],
                      const uint8_t content_uuid[TV_UUID_LEN])
{
	uint8_t key[TV_DEK_LEN];
	int r, ok;

	tv_rec_crypto_unkey(c);
	if ((r = tv_rec_file_key(c, key, dek, content_uuid)) != 0)
		return r;
	ok = EVP_CipherInit_ex(c->ctx, c->cipher, NULL, key, NULL, enc ? 1 : 0) > 0;
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return tv_errf(TV_ERR_CRYPTO, "AES-256-GCM key setup failed");
	memcpy(c->ids, tape_uuid, TV_UUID_LEN);
	memcpy(c->ids + TV_UUID_LEN, content_uuid, TV_UUID_LEN);
	c->keyed = 1;
	c->enc = enc ? 1 : 0;
	return 0;
}

void tv_rec_crypto_unkey(struct tv_rec_crypto *c)
{
	if (c->keyed && c->ctx != NULL)
		EVP_CIPHER_CTX_reset(c->ctx);
	c->keyed = 0;
}

static void make_nonce(uint8_t nonce[12], uint64_t seq)
{
	memset(nonce, 0, 4);
	tv_put_be64(nonce + 4, seq);
}

int tv_rec_seal(struct tv_rec_crypto *c, uint8_t *rec, size_t cap, uint8_t flags,
                uint32_t file_no, uint64_t seq, size_t n, size_t *total)
{
	int enc = c != NULL && c->keyed;
	size_t plen = n + (enc ? TV_TAG_LEN : 0);
	uint8_t nonce[12];
	int la = 0, l1 = 0, l2 = 0;

	if (flags & ~(TV_RF_END | TV_RF_INCOMPLETE))
		return tv_errf(TV_ERR_INVAL, "record flags 0x%02x", (unsigned)flags);
	if (cap < TV_REC_HDR || plen > cap - TV_REC_HDR || plen > UINT32_MAX)
		return tv_errf(TV_ERR_RANGE, "record payload of %zu bytes does not fit "
		               "in %zu", plen, cap);
	if (enc && !c->enc)
		return tv_errf(TV_ERR_INTERNAL, "record key loaded for decryption");
	if (enc)
		flags |= TV_RF_ENCRYPTED;
	memcpy(rec, TV_REC_MAGIC, 4);
	rec[4] = REC_VERSION;
	rec[5] = flags;
	rec[6] = rec[7] = 0;
	tv_put_be32(rec + 8, (uint32_t)plen);
	tv_put_be32(rec + 12, file_no);
	tv_put_be64(rec + 16, seq);
	tv_put_be32(rec + 24, 0);
	tv_put_be32(rec + 28, 0);
	if (enc) {
		uint8_t *p = rec + TV_REC_HDR;
		make_nonce(nonce, seq);
		if (EVP_EncryptInit_ex(c->ctx, NULL, NULL, NULL, nonce) <= 0 ||
		    EVP_EncryptUpdate(c->ctx, NULL, &la, c->ids, sizeof(c->ids)) <= 0 ||
		    EVP_EncryptUpdate(c->ctx, NULL, &la, rec, 24) <= 0 ||
		    (n > 0 && EVP_EncryptUpdate(c->ctx, p, &l1, p, (int)n) <= 0) ||
		    EVP_EncryptFinal_ex(c->ctx, p + l1, &l2) <= 0 ||
		    (size_t)l1 + (size_t)l2 != n ||
		    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_GET_TAG, TV_TAG_LEN, p + n) <= 0)
			return tv_errf(TV_ERR_CRYPTO, "AES-256-GCM encryption of file %"
			               PRIu32 " record %" PRIu64 " failed", file_no, seq);
	}
	tv_put_be32(rec + 24, tv_rec_crc(rec, plen));
	*total = TV_REC_HDR + plen;
	return 0;
}

int tv_rec_open(struct tv_rec_crypto *c, enum tv_key_state key_state,
                const struct tv_rec_where *w, uint8_t *rec, size_t n, int crc_ok,
                struct tv_rec_hdr *h, uint8_t **data, size_t *data_len)
{
	const char *tape = w->tape != NULL ? w->tape : "?";
	uint8_t nonce[12];
	uint8_t *p;
	size_t clen;
	int la = 0, l1 = 0, l2 = 0, r;

	*data = NULL;
	*data_len = 0;
	if (n < TV_REC_HDR || memcmp(rec, TV_REC_MAGIC, 4) != 0) {
		r = tv_rec_hdr_decode(rec, n, h);
		return tv_errctx(r, "tape %s file %" PRIu32 " record %" PRIu64, tape,
		                 w->file_no, w->seq);
	}
	if (crc_ok < 0)
		crc_ok = tv_rec_crc(rec, n - TV_REC_HDR) == tv_get_be32(rec + 24);
	if (!crc_ok)
		return tv_errf(TV_ERR_CRC, "tape %s file %" PRIu32 " record %" PRIu64
		               ": checksum mismatch: the record is damaged", tape,
		               w->file_no, w->seq);
	if ((r = tv_rec_hdr_decode(rec, n, h)) != 0)
		return tv_errctx(r, "tape %s file %" PRIu32 " record %" PRIu64, tape,
		                 w->file_no, w->seq);
	if (h->file_no != w->file_no)
		return tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record %" PRIu64
		               ": record belongs to tape file %" PRIu32
		               " (records moved between files)", tape, w->file_no,
		               w->seq, h->file_no);
	if (h->seq != w->seq)
		return tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record %" PRIu64
		               ": record carries sequence %" PRIu64 " (records missing,"
		               " duplicated or reordered)", tape, w->file_no, w->seq,
		               h->seq);
	p = rec + TV_REC_HDR;
	if (!(h->flags & TV_RF_ENCRYPTED)) {
		if (key_state == TV_KEY_SET)
			return tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record %"
			               PRIu64 ": plaintext record in an encrypted file",
			               tape, w->file_no, w->seq);
		*data = p;
		*data_len = h->payload_len;
		return 0;
	}
	if (key_state == TV_KEY_CRC_ONLY) {
		*data = p;
		*data_len = h->payload_len - TV_TAG_LEN;
		return 0;
	}
	if (key_state == TV_KEY_NONE)
		return tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record %" PRIu64
		               ": encrypted record in a file written in plaintext", tape,
		               w->file_no, w->seq);
	if (key_state != TV_KEY_SET || c == NULL || !c->keyed)
		return tv_errf(TV_ERR_LOCKED, "tape %s file %" PRIu32 " record %" PRIu64
		               ": encrypted, and the tape's key is not unlocked", tape,
		               w->file_no, w->seq);
	if (c->enc)
		return tv_errf(TV_ERR_INTERNAL, "record key loaded for encryption");
	clen = h->payload_len - TV_TAG_LEN;
	make_nonce(nonce, h->seq);
	if (EVP_DecryptInit_ex(c->ctx, NULL, NULL, NULL, nonce) <= 0 ||
	    EVP_DecryptUpdate(c->ctx, NULL, &la, c->ids, sizeof(c->ids)) <= 0 ||
	    EVP_DecryptUpdate(c->ctx, NULL, &la, rec, 24) <= 0 ||
	    (clen > 0 && EVP_DecryptUpdate(c->ctx, p, &l1, p, (int)clen) <= 0) ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, TV_TAG_LEN, p + clen) <= 0)
		return tv_errf(TV_ERR_CRYPTO, "tape %s file %" PRIu32 " record %" PRIu64
		               ": AES-256-GCM decryption failed", tape, w->file_no, w->seq);
	if (EVP_DecryptFinal_ex(c->ctx, p + l1, &l2) <= 0) {
		OPENSSL_cleanse(p, clen);   /* never hand out unauthenticated data */
		return tv_errf(TV_ERR_AUTH, "tape %s file %" PRIu32 " record %" PRIu64
		               ": authentication failed: data was modified or the key "
		               "is wrong", tape, w->file_no, w->seq);
	}
	*data = p;
	*data_len = clen;
	return 0;
}
