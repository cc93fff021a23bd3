/* tapevault: AES-256-GCM, the one implementation (OpenSSL EVP).
 *
 * Key slots, the local key store, escrow messages and backup file chunks
 * (src/crypto, src/backup) and tape frames and sealed headers (src/format)
 * all seal and open through here.  It sits in util, below every layer, so
 * the format layer needs no crypto layer above it.
 *
 * The caller provides a nonce that never repeats under one key (random
 * 96-bit for low-volume keys, a counter for streams).  A context keeps its
 * key schedule between calls with the same key and direction: the frame
 * path sets only the nonce per frame. */
#ifndef TV_UTIL_AEAD_H
#define TV_UTIL_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define TV_GCM_KEY_LEN 32
#define TV_GCM_IV_LEN 12
#define TV_GCM_TAG_LEN 16

/* One piece of additional authenticated data. */
struct tv_aad {
	const void *p;
	size_t n;
};

struct tv_aead;
int tv_aead_new(struct tv_aead **out);
void tv_aead_free(struct tv_aead *a);   /* wipes the key; NULL ok */

/* out may equal in.  Returns 0 or TV_ERR_CRYPTO (with a detail). */
int tv_aead_seal(struct tv_aead *a, const uint8_t key[TV_GCM_KEY_LEN],
                 const uint8_t iv[TV_GCM_IV_LEN], const struct tv_aad *aad, size_t naad,
                 const void *in, void *out, size_t n, uint8_t tag[TV_GCM_TAG_LEN]);
/* out may equal in.  Returns 0, TV_ERR_AUTH when the tag does not verify
 * (wrong key or modified data: out is then wiped, never handed out) with
 * no detail set (callers know what was being opened and say it), or
 * TV_ERR_CRYPTO. */
int tv_aead_open(struct tv_aead *a, const uint8_t key[TV_GCM_KEY_LEN],
                 const uint8_t iv[TV_GCM_IV_LEN], const struct tv_aad *aad, size_t naad,
                 const void *in, void *out, size_t n, const uint8_t tag[TV_GCM_TAG_LEN]);

/* One-shot forms (a context for one call), one AAD piece (may be NULL
 * when aad_len is 0). */
int tv_gcm_seal(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *pt, size_t len,
                void *ct, uint8_t tag[TV_GCM_TAG_LEN]);
int tv_gcm_open(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *ct, size_t len,
                const uint8_t tag[TV_GCM_TAG_LEN], void *pt);

/* Records the current OpenSSL error queue as the detail of err (with a
 * context prefix) and clears the queue.  Returns err. */
int tv_ossl_err(int err, const char *what);

#endif
