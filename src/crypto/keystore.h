/* tapevault: the installation's local key store.
 *
 * HOME/keys/ (mode 0700) holds master.key (mode 0600): a random 256-bit
 * master key made by `tapevault init`.  Secrets the installation keeps
 * for itself (passwords registered with `password add`, so that it can
 * unlock its own tapes without asking again; cached DEKs in the catalog)
 * are sealed under it:
 *
 *   blob = "TVKS" | version (1) | key id (8) | IV (12) | ciphertext | tag (16)
 *   AES-256-GCM, key = HKDF-SHA256(master, info "tapevault keystore seal v1"),
 *   AAD = the blob's first 13 bytes || the caller's AAD
 *
 * The caller's AAD says what the blob is for (e.g. "password:weekly" or
 * "dek:<tape uuid>"), so a blob moved to another purpose does not open.
 * Anyone who can read the state directory can do what the installation
 * can (docs/SECURITY.md). */
#ifndef TV_CRYPTO_KEYSTORE_H
#define TV_CRYPTO_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define TV_KEYSTORE_DIR "keys"
#define TV_KEYSTORE_FILE "master.key"
#define TV_KEYSTORE_MAGIC "TVKS"
#define TV_KEYSTORE_VERSION 1
#define TV_KEYSTORE_OVERHEAD (4 + 1 + 8 + 12 + 16)

struct tv_keystore;

/* Creates HOME/keys (0700, if missing) and HOME/keys/master.key (0600)
 * with a fresh key.  An existing master key: TV_ERR_EXISTS (never
 * replaced: that would orphan every sealed secret). */
int tv_keystore_create(const char *home);
/* Loads the master key.  Refuses (TV_ERR_PERM) a key file or key
 * directory accessible by group/others or owned by another user, and a
 * symlinked key file; TV_ERR_NOTFOUND without one ("run tapevault
 * init"); TV_ERR_FORMAT for a damaged file. */
int tv_keystore_load(const char *home, struct tv_keystore **ks);
void tv_keystore_free(struct tv_keystore *ks);   /* wipes; NULL ok */
/* Hex key id (16 digits) identifying the master key (not secret). */
void tv_keystore_id(const struct tv_keystore *ks, char out[17]);

/* Appends the sealed blob to out. */
int tv_keystore_seal(struct tv_keystore *ks, const void *aad, size_t aad_len,
                     const void *pt, size_t len, struct tv_buf *out);
/* Appends the plaintext to out (use a buffer you tv_buf_free: it wipes).
 * Errors: TV_ERR_FORMAT (not a key store blob / unknown version),
 * TV_ERR_BADKEY (sealed by another key store), TV_ERR_AUTH (modified, or
 * different AAD). */
int tv_keystore_open(struct tv_keystore *ks, const void *aad, size_t aad_len,
                     const void *blob, size_t blob_len, struct tv_buf *out);

#endif
