/* tapevault: record sealing and opening (internal to the format layer; also
 * used by its tests, fuzz targets and benchmarks). */
#ifndef TV_RECORD_INT_H
#define TV_RECORD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "format/record.h"

/* Per-stream AES-256-GCM state: one cipher context, re-keyed per tape file,
 * only the nonce reset per record. */
struct tv_rec_crypto {
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *cipher;
	EVP_KDF *kdf;
	int keyed;                             /* a file key is loaded */
	int enc;                               /* loaded for encryption */
	uint8_t ids[2 * TV_UUID_LEN];          /* tape UUID || content UUID */
};

int tv_rec_crypto_init(struct tv_rec_crypto *c);
void tv_rec_crypto_free(struct tv_rec_crypto *c);
/* file key = HKDF-SHA256(dek, salt = content UUID, info = "tapevault record
 * key v1"), 32 bytes. */
int tv_rec_file_key(struct tv_rec_crypto *c, uint8_t out[TV_DEK_LEN],
                    const uint8_t dek[TV_DEK_LEN],
                    const uint8_t content_uuid[TV_UUID_LEN]);
/* Derives and loads the file key (enc = 1 to seal, 0 to open). */
int tv_rec_crypto_key(struct tv_rec_crypto *c, int enc, const uint8_t dek[TV_DEK_LEN],
                      const uint8_t tape_uuid[TV_UUID_LEN],
                      const uint8_t content_uuid[TV_UUID_LEN]);
void tv_rec_crypto_unkey(struct tv_rec_crypto *c);

/* Seals the record in rec (cap bytes): the data is at rec + TV_REC_HDR,
 * n bytes.  Writes the header, encrypts in place and appends the tag when
 * c is keyed (c may be NULL: plaintext), computes the CRC.  *total is the
 * tape record length (32 + n, or 32 + n + 16 encrypted). */
int tv_rec_seal(struct tv_rec_crypto *c, uint8_t *rec, size_t cap, uint8_t flags,
                uint32_t file_no, uint64_t seq, size_t n, size_t *total);

/* CRC32C of a record as stored in bytes 24..27 (the record must be at
 * least 32 + payload_len long). */
uint32_t tv_rec_crc(const uint8_t *rec, size_t payload_len);

enum tv_key_state {
	TV_KEY_UNSET = 0,      /* no key given: encrypted records are LOCKED */
	TV_KEY_NONE = 1,       /* plaintext expected: encrypted is a format error */
	TV_KEY_SET = 2,        /* encrypted expected: plaintext is a format error */
	TV_KEY_CRC_ONLY = 3,   /* no decryption: *data is the ciphertext */
};

struct tv_rec_where {
	const char *tape;      /* for messages */
	uint32_t file_no;      /* expected tape file number */
	uint64_t seq;          /* expected sequence */
};

/* Verifies one record as read from tape (n bytes) and decrypts it in place:
 * header, file number, sequence, CRC (crc_ok: 1 already verified, 0 known
 * bad, -1 compute here), encryption flag against key_state, AES-GCM tag.
 * On success *data / *data_len is the plaintext, *h the header.  Errors
 * name tape, file and record in the detail. */
int tv_rec_open(struct tv_rec_crypto *c, enum tv_key_state key_state,
                const struct tv_rec_where *w, uint8_t *rec, size_t n, int crc_ok,
                struct tv_rec_hdr *h, uint8_t **data, size_t *data_len);

#endif
