/* tapevault: key management glue for jobs: the installation's key store,
 * tape data keys, and turning a pool's encryption setting into key slots,
 * and key slots back into a data key. */
#ifndef TV_JOBS_KEYS_H
#define TV_JOBS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "jobs/home.h"
#include "util/buf.h"
#include "util/wipe.h"

int tv_keys_init_store(const char *homedir);
int tv_keys_open_store(struct tv_home *h);
void tv_keys_close_store(struct tv_home *h);

/* Seal / unseal small secrets with the key store's master key; purpose is
 * bound as associated data ("password:NAME", "dek:UUID"). */
int tv_keys_seal(struct tv_home *h, const char *purpose, const void *pt, size_t n,
                 struct tv_buf *out);
int tv_keys_unseal(struct tv_home *h, const char *purpose, const void *blob, size_t n,
                   struct tv_buf *out);

/* Data keys of tapes, kept sealed in the catalog (tape_keys). */
int tv_keys_save_dek(struct tv_home *h, const uint8_t tape_uuid[16],
                     const uint8_t dek[TV_DEK_LEN], const char *source);
int tv_keys_load_dek(struct tv_home *h, const uint8_t tape_uuid[16],
                     uint8_t dek[TV_DEK_LEN]);   /* TV_ERR_NOTFOUND */

/* Passwords (sealed in the catalog). */
/* kdf: TV_KDF_PBKDF2_SHA256 or TV_KDF_ARGON2ID (remembered with the
 * password).  No key-encryption key is kept: each writing job (one
 * struct tv_home) derives one per password with a fresh salt and makes
 * the slots of all the tapes it writes from it; every tape's slot still
 * binds its own tape UUID and has its own IV. */
int tv_keys_password_add(struct tv_home *h, const char *name, const char *hint,
                         const char *pw, size_t len, enum tv_kdf kdf);
int tv_keys_password_get(struct tv_home *h, const char *name, char **pw, size_t *len);

/* A fresh DEK and the encryption descriptor for a new tape of a pool with
 * encryption spec (none | password:NAME | kms:SERVER:KEYID); adds an escrow
 * slot when password loss protection is on.  enc->alg NONE for "none". */
int tv_keys_new_tape(struct tv_home *h, const char *spec, const uint8_t tape_uuid[16],
                     uint8_t dek[TV_DEK_LEN], struct tv_encdesc *enc);

/* Try to unlock a tape from its media set label with what this
 * installation has (known DEK, stored passwords, registered and reachable
 * KMS).  On success saves the DEK and describes the way in `how`.
 * TV_ERR_LOCKED when nothing worked (how says what would be needed). */
int tv_keys_unlock(struct tv_home *h, const uint8_t tape_uuid[16],
                   const struct tv_encdesc *enc, uint8_t dek[TV_DEK_LEN],
                   char *how, size_t howsz);

/* Human description of what unlocks a tape: "password 'p1' (hint: ...)",
 * "KMS key 42 'pool-key' on kms1 (127.0.0.1:5696)". */
void tv_keys_describe(const struct tv_encdesc *enc, char *out, size_t outsz);

#endif
