/* tapevault: KMS client (KMIP 1.4 over mutual TLS).
 *
 * One struct tv_kms is one TLS connection to one KMS, kept open for many
 * operations (a job holds it for its whole run).  If the server closed an
 * idle connection, the next call reconnects transparently once; a request
 * that may have been executed already (Create, Activate, Revoke, ...) is
 * only re-sent when it provably never left this host.  Not thread-safe:
 * use one struct tv_kms per thread.
 *
 * TLS: TLS 1.2 or newer, the server certificate must chain to `ca` and name
 * `host` (DNS name or IP address in subjectAltName), and we present `cert`
 * with `key`.  The key file must belong to the process's effective user
 * and not be accessible by group or others.
 *
 * Every call has a deadline of conf.timeout_ms (connect: TCP + handshake;
 * operations: send + receive).  Failures return a TV_ERR_* code and leave a
 * message meant for people in tv_errdetail(), always naming the KMS as
 * "KMS NAME (HOST:PORT)", e.g.
 *   key '42' does not exist on KMS kms1 (127.0.0.1:5696) (KMIP: Item Not Found: ...)
 *
 * Error codes:
 *   TV_ERR_NET         unreachable, refused, timeout, connection lost
 *   TV_ERR_TLS         handshake failed; the message says which side
 *                      rejected which certificate when that can be told
 *   TV_ERR_PERM        client key file too open; KMS denied the operation
 *   TV_ERR_NOTFOUND    no such key (or not visible to our client identity)
 *   TV_ERR_STATE       key not usable in its state (revoked, deactivated,
 *                      compromised, destroyed, not yet active; or still
 *                      active for Destroy)
 *   TV_ERR_AUTH        GCM tag mismatch on Decrypt (wrong key/AAD, tampering)
 *   TV_ERR_UNSUPPORTED the KMS cannot do this (e.g. RSA decryption)
 *   TV_ERR_BADKEY      RSA Decrypt reported a Cryptographic Failure
 *   TV_ERR_KMIP        any other KMIP failure (reason + server message kept)
 *   TV_ERR_PROTO       the server sent something that is not valid KMIP, or
 *                      a response that does not answer our request (Unique
 *                      Batch Item IDs, Operation, the UID a Get returned)
 *   TV_ERR_INVAL / TV_ERR_IO  bad configuration or unreadable files
 */
#ifndef TV_KMS_CLIENT_H
#define TV_KMS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "kms/kmip.h"

#define TV_KMS_DEFAULT_PORT 5696
#define TV_KMS_DEFAULT_TIMEOUT_MS 10000
#define TV_KMS_UID_MAX TV_KMIP_UID_MAX        /* 128, incl. NUL */
#define TV_KMS_RSA_BITS_DEFAULT 3072

struct tv_kms_conf {
	char name[128];          /* the KMS's name in tapevault ("kms1") */
	char host[256];          /* DNS name or IP address (IPv6 without brackets) */
	unsigned port;           /* 0: 5696 */
	char ca[4096];           /* PEM file: CA(s) that sign the server certificate */
	char cert[4096];         /* PEM file: our client certificate (+ chain) */
	char key[4096];          /* PEM file: its private key, mode 0600 or stricter */
	int timeout_ms;          /* <= 0: TV_KMS_DEFAULT_TIMEOUT_MS */
};

struct tv_kms;

/* Connect (TCP + TLS handshake) and return a handle.  Checks the key file
 * permissions ("chmod 600 FILE") and that certificate and key match before
 * touching the network. */
int tv_kms_connect(const struct tv_kms_conf *c, struct tv_kms **out);
void tv_kms_close(struct tv_kms *k);                 /* NULL-safe */
/* "KMS kms1 (127.0.0.1:5696)" */
const char *tv_kms_where(const struct tv_kms *k);

/* Counters for job reports: KMIP request/response exchanges, TLS
 * connections made (1 + reconnects). */
uint64_t tv_kms_round_trips(const struct tv_kms *k);
uint64_t tv_kms_connects(const struct tv_kms *k);

/* Protocol versions the server supports, newest first: "2.0 1.4 1.3 1.2". */
int tv_kms_discover_versions(struct tv_kms *k, char *out, size_t outsz);
/* Operations the server supports, comma separated ("Create, Get, ...") and
 * its vendor identification (vendor may be NULL). */
int tv_kms_query_operations(struct tv_kms *k, char *out, size_t outsz,
                            char *vendor, size_t vendorsz);

/* Create an AES-256 key (usage Encrypt|Decrypt|Wrap|Unwrap) named `name`
 * and activate it. */
int tv_kms_create_aes(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX]);
/* Create an RSA key pair (bits 0: 3072) and activate both halves.  The
 * private key is named `name`, the public key `name` + ".pub". */
int tv_kms_create_rsa(struct tv_kms *k, const char *name, int bits,
                      char priv_uid[TV_KMS_UID_MAX], char pub_uid[TV_KMS_UID_MAX]);
int tv_kms_activate(struct tv_kms *k, const char *uid);

/* Unique identifier of the key named `name`; TV_ERR_NOTFOUND if none.  When
 * several objects carry the name, the first the server lists is returned
 * and *count (if not NULL) tells how many there were. */
int tv_kms_locate(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX],
                  size_t *count);

/* Object type, algorithm, length, state, usage mask, name and (if the
 * server reports them) links between public and private key.  a->have
 * says which fields the server returned. */
int tv_kms_get_attributes(struct tv_kms *k, const char *uid, struct tv_kmip_attrs *a);

/* Public key of an RSA key pair (PKCS#1 or SubjectPublicKeyInfo DER). */
int tv_kms_get_public_key(struct tv_kms *k, const char *uid, EVP_PKEY **pub);
/* Private key (PKCS#8 or PKCS#1 DER), held in memory only: every buffer
 * that carried it is wiped.  Free with EVP_PKEY_free. */
int tv_kms_get_private_key(struct tv_kms *k, const char *uid, EVP_PKEY **priv);
/* Raw bytes of a symmetric key (tests, key export).  The caller wipes
 * `key` with tv_wipe. */
int tv_kms_get_symmetric_key(struct tv_kms *k, const char *uid, uint8_t *key,
                             size_t cap, size_t *len);

/* AES-GCM on the KMS with the key `uid`: explicit 12-byte IV, AAD (may be
 * empty), 16-byte tag; ciphertext and plaintext have the same length.
 * Decrypt returns TV_ERR_AUTH when the tag does not verify. */
int tv_kms_encrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                       const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                       size_t ptlen, uint8_t *ct, uint8_t tag[16]);
int tv_kms_decrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                       const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                       size_t ctlen, const uint8_t tag[16], uint8_t *pt);

/* RSA-OAEP decryption on the KMS with private key `uid`: KMIP 1.4 Decrypt
 * with Cryptographic Parameters Padding Method OAEP, Hashing Algorithm
 * SHA-256, Mask Generator MGF1, Mask Generator Hashing Algorithm SHA-256
 * and P Source = label (the OAEP label; none when labellen is 0).
 * TV_ERR_UNSUPPORTED only when the KMS says it cannot (Result Reason
 * Operation/Feature Not Supported, or it could not parse the KMIP 1.4
 * request at all: PyKMIP 0.10); the caller may then fall back to
 * tv_kms_get_private_key().  That answer is remembered for the connection,
 * so later calls fail fast.  A Cryptographic Failure is TV_ERR_BADKEY; a
 * refused key (revoked, permission) TV_ERR_STATE / TV_ERR_PERM as for
 * AES-GCM: no fallback then. */
int tv_kms_rsa_decrypt(struct tv_kms *k, const char *uid, const uint8_t *label,
                       size_t labellen, const uint8_t *ct, size_t ctlen, uint8_t *pt,
                       size_t ptcap, size_t *ptlen);

/* Revoke (reason: cessation of operation) and destroy.  Destroy of an
 * active key fails with TV_ERR_STATE: revoke it first. */
int tv_kms_revoke(struct tv_kms *k, const char *uid);
int tv_kms_destroy(struct tv_kms *k, const char *uid);

#endif
