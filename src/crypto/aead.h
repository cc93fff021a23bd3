/* tapevault: AES-256-GCM one-shot helpers (OpenSSL EVP).
 *
 * Used for key slots, the local key store and backup file chunks.  The
 * caller provides a nonce that never repeats under one key (random
 * 96-bit for low-volume keys, a counter for streams). */
#ifndef TV_CRYPTO_AEAD_H
#define TV_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define TV_GCM_KEY_LEN 32
#define TV_GCM_IV_LEN 12
#define TV_GCM_TAG_LEN 16

/* ct may equal pt (in place).  aad may be NULL when aad_len is 0.
 * Returns 0 or TV_ERR_CRYPTO. */
int tv_gcm_seal(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *pt, size_t len,
                void *ct, uint8_t tag[TV_GCM_TAG_LEN]);
/* pt may equal ct.  Returns 0, TV_ERR_AUTH when the tag does not verify
 * (wrong key or modified data: pt content is then undefined and wiped),
 * or TV_ERR_CRYPTO.  No detail message is set for TV_ERR_AUTH: callers
 * know what was being opened and say it. */
int tv_gcm_open(const uint8_t key[TV_GCM_KEY_LEN], const uint8_t iv[TV_GCM_IV_LEN],
                const void *aad, size_t aad_len, const void *ct, size_t len,
                const uint8_t tag[TV_GCM_TAG_LEN], void *pt);

/* Records the current OpenSSL error queue as the detail of err (with a
 * context prefix) and clears the queue.  Returns err. */
int tv_ossl_err(int err, const char *what);

#endif
