/* tapevault: escrow authority key sets ("password loss protection").
 *
 * The escrow authority (a second administrator, ideally on another
 * machine) generates an RSA-4096 key pair.  The private key is kept as an
 * encrypted PKCS#8 PEM file ("BEGIN ENCRYPTED PRIVATE KEY": PBES2 with
 * PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-CBC), readable with
 * `openssl pkey`.  The public key (PEM SubjectPublicKeyInfo) is given to
 * backup servers (`tapevault escrow enable --public PUB.pem`), which add
 * an escrow slot to every tape they write.  Keys are named by their
 * fingerprint: SHA-256 of the SPKI DER, shown as "SHA256:<hex>". */
#ifndef TV_CRYPTO_ESCROW_H
#define TV_CRYPTO_ESCROW_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "crypto/pkey.h"

#define TV_ESCROW_RSA_BITS 4096
#define TV_ESCROW_PBKDF2_ITER 600000

/* Generates a key set and writes it to path_out (mode 0600, created
 * exclusively: an existing file is never overwritten -> TV_ERR_EXISTS).
 * The passphrase must not be empty.  fpr_out (may be NULL) receives the
 * fingerprint.  Takes seconds (RSA-4096). */
int tv_escrow_keygen(const char *path_out, const void *pp, size_t pplen,
                     uint8_t fpr_out[TV_PKFPR_LEN]);
/* Same with a chosen modulus size (>= 2048; tests use 2048). */
int tv_escrow_keygen_bits(const char *path_out, const void *pp, size_t pplen,
                          int bits, uint8_t fpr_out[TV_PKFPR_LEN]);

/* Loads and decrypts a key set.  Errors: TV_ERR_NOTFOUND/TV_ERR_IO,
 * TV_ERR_FORMAT ("not an encrypted key set"), TV_ERR_BADKEY ("wrong
 * passphrase for key set FILE"), TV_ERR_INVAL (not RSA or too small).
 * A key set readable by group/others only gets a warning on stderr. */
int tv_escrow_load_keyset(const char *path, const void *pp, size_t pplen, EVP_PKEY **priv);

/* Writes the public half of key (private or public) as PEM
 * SubjectPublicKeyInfo to path (mode 0644, never overwrites:
 * TV_ERR_EXISTS). */
int tv_escrow_export_public(EVP_PKEY *key, const char *path);

/* Writes the data to path created exclusively with mode, fsyncs, and
 * removes the file again on any failure.  (Shared by key writers.) */
int tv_write_file_excl(const char *path, const void *data, size_t len, unsigned mode);

#endif
