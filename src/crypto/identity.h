/* tapevault: the installation's identity key (escrow requests).
 *
 * `tapevault init` makes an Ed25519 key pair for the installation.  It
 * signs the escrow requests the installation makes (crypto/escrow_msg.h),
 * so that the escrow authority can see which installation asks and that
 * nobody changed the request on its way.  The authority recognises an
 * installation by the fingerprint of its identity key: SHA-256 of the
 * SubjectPublicKeyInfo DER, shown as "SHA256:<hex>" (crypto/pkey.h).
 *
 * The private key is kept as an unencrypted PKCS#8 PEM file
 * ("BEGIN PRIVATE KEY", readable with `openssl pkey`) at
 * HOME/keys/identity.pem, mode 0600, next to the key store's master key
 * and protected the same way: by file modes (docs/SECURITY.md). */
#ifndef TV_CRYPTO_IDENTITY_H
#define TV_CRYPTO_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "crypto/pkey.h"

#define TV_IDENTITY_FILE "identity.pem"   /* in HOME/keys (TV_KEYSTORE_DIR) */
#define TV_IDENTITY_FILE_MAX 4096          /* bytes: a PEM Ed25519 key is ~120 */

/* HOME/keys/identity.pem into out.  TV_ERR_INVAL (no home, too long). */
int tv_identity_path(const char *home, char *out, size_t outsz);

/* Creates HOME/keys (0700, if missing) and HOME/keys/identity.pem (0600,
 * created exclusively) with a fresh Ed25519 key.  fpr_out (may be NULL)
 * receives the fingerprint.  An existing identity: TV_ERR_EXISTS (never
 * replaced: the escrow authority knows the installation by it). */
int tv_identity_create(const char *home, uint8_t fpr_out[TV_PKFPR_LEN]);

/* Loads the identity private key.  Refuses (TV_ERR_PERM) a key file or
 * key directory accessible by group/others or owned by another user, and
 * a symlinked key file; TV_ERR_NOTFOUND without one ("run tapevault
 * init"); TV_ERR_FORMAT for a file that is not an unencrypted Ed25519
 * private key PEM.  Free *priv with EVP_PKEY_free. */
int tv_identity_load(const char *home, EVP_PKEY **priv);

/* 0 if key is an Ed25519 key (private or public half), else TV_ERR_INVAL. */
int tv_identity_check(EVP_PKEY *key);

/* Fingerprint of an identity key (private or public): tv_pubkey_fingerprint
 * after tv_identity_check. */
int tv_identity_fingerprint(EVP_PKEY *key, uint8_t out[TV_PKFPR_LEN]);

/* Writes the public half of this installation's identity as a PEM
 * "PUBLIC KEY" (SubjectPublicKeyInfo) file, mode 0644, for the escrow
 * authority's trust list (`escrow trust add`).  An existing out_path is
 * not replaced (TV_ERR_EXISTS).  fpr_out (may be NULL): its fingerprint. */
int tv_identity_export(const char *home, const char *out_path,
                       uint8_t fpr_out[TV_PKFPR_LEN]);

/* Loads an identity public key: a PEM "PUBLIC KEY" holding an Ed25519 key
 * (what tv_identity_export writes).  TV_ERR_NOTFOUND/TV_ERR_IO (file),
 * TV_ERR_FORMAT (not a public key PEM, not Ed25519).  EVP_PKEY_free. */
int tv_identity_pub_load(const char *path, EVP_PKEY **pub);
/* Same from PEM text in memory. */
int tv_identity_pub_from_pem(const void *pem, size_t len, EVP_PKEY **pub);

/* ---- signing what the installation writes (docs/FORMAT.md 9.4) ----
 * Tapes carry the writer's raw 32-byte public key; the fingerprint is
 * that of the key's SubjectPublicKeyInfo, as above. */
#define TV_IDENTITY_PUB_LEN 32
#define TV_IDENTITY_SIG_LEN 64
/* The raw public key of an identity key (private or public half). */
int tv_identity_raw_pub(EVP_PKEY *key, uint8_t out[TV_IDENTITY_PUB_LEN]);
/* An EVP_PKEY (public) from a raw key; TV_ERR_FORMAT when it is not one. */
int tv_identity_from_raw(const uint8_t pub[TV_IDENTITY_PUB_LEN], EVP_PKEY **out);
int tv_identity_raw_fingerprint(const uint8_t pub[TV_IDENTITY_PUB_LEN],
                                uint8_t fpr[TV_PKFPR_LEN]);
/* Ed25519 (PureEdDSA, RFC 8032) over msg with EVP_DigestSign. */
int tv_identity_sign(EVP_PKEY *priv, const void *msg, size_t len,
                     uint8_t sig[TV_IDENTITY_SIG_LEN]);
/* 0 when sig is pub's signature of msg; TV_ERR_SIG when not (no message:
 * the caller names what failed); TV_ERR_FORMAT for a bad key. */
int tv_identity_verify_raw(const uint8_t pub[TV_IDENTITY_PUB_LEN], const void *msg,
                           size_t len, const uint8_t sig[TV_IDENTITY_SIG_LEN]);

#endif
