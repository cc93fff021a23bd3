/* tapevault: key slots (docs/FORMAT.md section 9.3).
 *
 * A DEK (32 random bytes, one per tape and one per job-encrypted backup
 * file) is stored only wrapped, once per protector, in a struct
 * tv_keyslot (format/format.h).  Every wrapping binds the slot's
 * metadata and the UUID of the tape (or backup file) that carries it:
 * AAD / OAEP label = tv_keyslot_aad(uuid, slot).  A slot copied onto
 * another tape, or whose name, hint, KDF parameters or KMS identity were
 * edited, does not open.
 *
 *   password  AES-256-GCM(KEK, random 96-bit IV, AAD), KEK from PBKDF2-
 *             HMAC-SHA256 (>= 600,000 iterations, 64-byte salt) or
 *             Argon2id (t=3, m=64 MiB, p=1); a tape may ask for at most
 *             10^7 iterations, or t*m <= 3 GiB with m <= 1 GiB; wrapped = ct(32) || tag(16)
 *   escrow    RSA-OAEP-SHA256 to the escrow authority's public key
 *             (RSA-4096); escrow_fpr = SHA-256 of its SPKI DER
 *   kms/rsa   RSA-OAEP-SHA256 to the KMS key pair's public key
 *   kms/aes   KMIP Encrypt with AES-256-GCM on the KMS (done by the KMS
 *             client): iv = 12 bytes, wrapped = ct(32) || tag(16)
 *
 * The `uuid` parameters below are the tape UUID for tape slots and the
 * backup UUID for backup file slots. */
#ifndef TV_CRYPTO_SLOT_H
#define TV_CRYPTO_SLOT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "crypto/kdf.h"
#include "format/format.h"
#include "util/buf.h"

/* A fresh random DEK. */
int tv_dek_new(uint8_t dek[TV_DEK_LEN]);
/* 0 if dek has fingerprint fpr, else TV_ERR_BADKEY ("key does not match:
 * fingerprint X, expected Y"). */
int tv_dek_verify(const uint8_t dek[TV_DEK_LEN], const uint8_t fpr[TV_FPR_LEN]);

/* ---- password slots ----
 * kek NULL: derive a KEK with a fresh salt and the defaults of kdf
 * (0 = PBKDF2), from pw.  kek non-NULL: a KEK derived earlier in this job
 * (tv_kek_derive) is used with its salt and parameters; pw is then
 * ignored and may be NULL.  name is required (the password's name, e.g.
 * "weekly"), hint optional (NULL or "").  Both are stored in the clear.
 * Errors: TV_ERR_INVAL (name/hint too long, parameters under policy),
 * TV_ERR_CRYPTO, TV_ERR_NOMEM. */
int tv_slot_password_make(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                          const uint8_t dek[TV_DEK_LEN], const void *pw, size_t pwlen,
                          const char *name, const char *hint, enum tv_kdf kdf,
                          const struct tv_kek *kek);
/* Unwraps with pw.  cache NULL: derive every time.  Errors:
 * TV_ERR_BADKEY "wrong password for slot NAME (hint: HINT)",
 * TV_ERR_FORMAT (not a password slot, damaged, KDF parameters outside the
 * policy: refused before any work). */
int tv_slot_password_open(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                          const void *pw, size_t pwlen, struct tv_kek_cache *cache,
                          uint8_t dek_out[TV_DEK_LEN]);

/* tv_slot_password_open within a work budget (crypto/kdf.h): a
 * derivation that would take b->spent past the limit is not started:
 * TV_ERR_RANGE ("its key slots ask for more key derivation work than one
 * tape may cost ...").  A KEK the cache holds costs nothing. */
int tv_slot_password_open_budget(const struct tv_keyslot *slot,
                                 const uint8_t uuid[TV_UUID_LEN], const void *pw, size_t pwlen,
                                 struct tv_kek_cache *cache, struct tv_kdf_budget *b,
                                 uint8_t dek_out[TV_DEK_LEN]);

/* ---- escrow slots ("password loss protection") ----
 * pub: the authority's public key (RSA, >= 2048 bits; 4096 in practice). */
int tv_slot_escrow_make(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                        const uint8_t dek[TV_DEK_LEN], EVP_PKEY *pub);
/* priv: the authority's private key.  A slot for another authority:
 * TV_ERR_BADKEY naming both fingerprints; decryption failure:
 * TV_ERR_BADKEY. */
int tv_slot_escrow_open(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                        EVP_PKEY *priv, uint8_t dek_out[TV_DEK_LEN]);

/* ---- KMS slots ----
 * 1. tv_slot_kms_init: identity of the key (recorded in the clear so a
 *    fresh installation can say "key id X on KMS server Y").
 * 2a. kind TV_KMS_RSA: tv_slot_kms_rsa_wrap with the KMS key pair's
 *     public key (cached locally); unwrap with the private key
 *     (KMIP Decrypt is not available everywhere: PyKMIP does no RSA;
 *     the KMS client may Get the private key into memory).
 * 2b. kind TV_KMS_AES: the slot gets a fresh 12-byte IV; the KMS client
 *     sends KMIP Encrypt(key_id, DEK, IV, AAD = tv_slot_kms_aad(), AES-GCM)
 *     and stores the answer with tv_slot_kms_aes_set_wrapped(); to unwrap,
 *     tv_slot_kms_aes_get_wrapped() gives ciphertext and tag for KMIP
 *     Decrypt with the same IV and AAD. */
struct tv_kms_ident {
	const char *server;     /* KMS name in our configuration ("corp-kms") */
	const char *host;
	uint64_t port;          /* 5696 */
	const char *key_id;     /* KMIP Unique Identifier */
	const char *key_name;   /* KMIP Name attribute (may be NULL) */
};
int tv_slot_kms_init(struct tv_keyslot *slot, const struct tv_kms_ident *id,
                     enum tv_kms_kind kind);
/* AAD bytes (tape / backup identity + slot metadata) to send with KMIP
 * Encrypt/Decrypt; the slot must be initialised (and for decryption as
 * read from the tape). */
int tv_slot_kms_aad(struct tv_buf *out, const uint8_t uuid[TV_UUID_LEN],
                    const struct tv_keyslot *slot);
int tv_slot_kms_rsa_wrap(struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                         const uint8_t dek[TV_DEK_LEN], EVP_PKEY *pub);
int tv_slot_kms_rsa_unwrap(const struct tv_keyslot *slot, const uint8_t uuid[TV_UUID_LEN],
                           EVP_PKEY *priv, uint8_t dek_out[TV_DEK_LEN]);
int tv_slot_kms_aes_set_wrapped(struct tv_keyslot *slot, const void *ct, size_t ct_len,
                                const void *tag, size_t tag_len);
/* Pointers into the slot; TV_ERR_FORMAT if the slot is not a well-formed
 * KMS AES slot. */
int tv_slot_kms_aes_get_wrapped(const struct tv_keyslot *slot, const uint8_t **ct,
                                size_t *ct_len, const uint8_t **tag, size_t *tag_len,
                                const uint8_t **iv, size_t *iv_len);

/* ---- describing and serialising slots ---- */
/* One line for humans: `password "weekly" (hint: the usual)`,
 * `KMS key 42 "pool-key" on server corp-kms (kms.example:5696)`,
 * `escrow authority SHA256:ab12...`.  Always NUL-terminates. */
void tv_slot_describe(const struct tv_keyslot *s, char *out, size_t outsz);
/* Checks the invariants of a slot read from outside (type/wrap known and
 * consistent, lengths, KDF policy for password slots).  TV_ERR_FORMAT. */
int tv_slot_validate(const struct tv_keyslot *s);
/* A slot as a TLV list (format/format.h TLV): for backup file headers,
 * escrow requests and catalog caches of wrapped DEKs.  Tags:
 *  1 type, 2 wrap, 3 wrapped, 4 iv, 5 kdf, 6 salt, 7 kdf_iter,
 *  8 kdf_mem_kib, 9 kdf_par, 10 name, 11 hint, 12 kms_name, 13 kms_host,
 *  14 kms_port, 15 key_id, 16 kms_kind, 17 escrow_fpr.
 * decode skips unknown tags and validates (tv_slot_validate). */
int tv_slot_encode(struct tv_buf *out, const struct tv_keyslot *s);
int tv_slot_decode(const uint8_t *p, size_t n, struct tv_keyslot *s);

/* ---- unlocking: try a set of slots ----
 * The tape layer and the backup file reader ask an unlocker for the DEK
 * of a tape or backup file.  The callback returns 0 with dek_out set,
 * TV_ERR_LOCKED (no slot it can use: detail lists the protectors),
 * TV_ERR_BADKEY (a usable slot refused the key), or another error. */
struct tv_unlocker {
	int (*unlock)(void *ctx, const struct tv_keyslot *slots, size_t n,
	              const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN]);
	void *ctx;
	/* Nonzero when the caller expects an encrypted file: it was given a
	 * key (--password-file, --kms) or its catalog says so.  A reader then
	 * refuses a plaintext file (TV_ERR_AUTH) instead of returning content
	 * nobody authenticated (docs/SECURITY.md, section 8). */
	int expect_encrypted;
};
/* Ready unlockers: set .unlock = tv_unlock_password, .ctx = &a_tv_password_unlock. */
struct tv_password_unlock {
	const void *pw;
	size_t pwlen;
	struct tv_kek_cache *cache;  /* optional */
};
int tv_unlock_password(void *ctx, const struct tv_keyslot *slots, size_t n,
                       const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN]);
struct tv_escrow_unlock {
	EVP_PKEY *priv;              /* authority private key */
};
int tv_unlock_escrow(void *ctx, const struct tv_keyslot *slots, size_t n,
                     const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN]);
/* Describes all slots for a "locked" message: "protected by: A; B". */
void tv_slots_describe(const struct tv_keyslot *slots, size_t n, char *out, size_t outsz);

#endif
