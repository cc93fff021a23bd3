/* tapevault: public-key helpers (RSA-OAEP-SHA256, SPKI fingerprints,
 * PEM public keys).  Used by escrow slots and KMS RSA slots. */
#ifndef TV_CRYPTO_PKEY_H
#define TV_CRYPTO_PKEY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#define TV_PKFPR_LEN 32                      /* SHA-256 */
#define TV_PKFPR_STR_LEN (7 + 2 * TV_PKFPR_LEN + 1)  /* "SHA256:" + hex + NUL */
#define TV_RSA_MIN_BITS 2048

/* RSA-OAEP with SHA-256 for the hash and MGF1; label bound to the
 * ciphertext (we pass the slot AAD).  *outlen: in = room at out, out =
 * bytes written (the modulus size).  Keys under TV_RSA_MIN_BITS or not
 * RSA: TV_ERR_INVAL. */
int tv_rsa_oaep_encrypt(EVP_PKEY *pub, const void *label, size_t label_len,
                        const void *in, size_t in_len, uint8_t *out, size_t *outlen);
/* Decryption failure (wrong key, wrong label, modified ciphertext):
 * TV_ERR_BADKEY without detail.  out is wiped on failure. */
int tv_rsa_oaep_decrypt(EVP_PKEY *priv, const void *label, size_t label_len,
                        const void *in, size_t in_len, uint8_t *out, size_t *outlen);

/* SHA-256 of the key's SubjectPublicKeyInfo DER (works on private keys
 * too: only the public half is encoded). */
int tv_pubkey_fingerprint(EVP_PKEY *key, uint8_t out[TV_PKFPR_LEN]);
/* "SHA256:" followed by 64 lower-case hex digits. */
void tv_pkfpr_format(const uint8_t fpr[TV_PKFPR_LEN], char out[TV_PKFPR_STR_LEN]);
/* Parses that form (the "SHA256:" prefix optional, either case). */
int tv_pkfpr_parse(const char *s, uint8_t fpr[TV_PKFPR_LEN]);

/* Loads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) file; an RSA key of
 * at least TV_RSA_MIN_BITS.  Errors: TV_ERR_IO/NOTFOUND (file),
 * TV_ERR_FORMAT (not a public key PEM), TV_ERR_INVAL (not RSA, small). */
int tv_pubkey_load(const char *path, EVP_PKEY **pub);
/* Same from memory (PEM text). */
int tv_pubkey_from_pem(const void *pem, size_t len, EVP_PKEY **pub);
/* PEM SubjectPublicKeyInfo of key into a malloc'd NUL-terminated string. */
int tv_pubkey_to_pem(EVP_PKEY *key, char **pem, size_t *len);
/* 0 if key is RSA with at least TV_RSA_MIN_BITS bits, else TV_ERR_INVAL. */
int tv_pubkey_check_rsa(EVP_PKEY *key);

#endif
