/* tapevault: jobs <-> KMS client glue (KMS servers from the catalog,
 * one connection per job and server, kms key slots). */
#ifndef TV_KMSGLUE_H
#define TV_KMSGLUE_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "jobs/home.h"

/* "SERVER[:KEYID]" -> "kms:SERVER:KEYID", creating a key for the pool
 * when no KEYID is given. */
int tv_kmsglue_resolve_spec(struct tv_home *h, const char *pool, const char *spec,
                            char *out, size_t outsz);
/* Build a kms slot wrapping dek for a new tape, then unwrap it once as a
 * reader would (KMIP Decrypt, or the private key where the KMS cannot
 * decrypt with RSA) and compare: a slot that does not give dek back fails
 * here, before the tape is written.  RSA slots are only wrapped (with the
 * cached public key) when the KMS is unreachable (TV_ERR_NET). */
int tv_kmsglue_make_slot(struct tv_home *h, const char *server, const char *keyid,
                         const uint8_t tape_uuid[16], const uint8_t dek[TV_DEK_LEN],
                         struct tv_keyslot *slot);
/* Unwrap a kms slot with a registered server; server_override names the
 * server to use (NULL: match by name, then host:port, then try all).
 * used: which server was used (for messages). */
int tv_kmsglue_open_slot(struct tv_home *h, const struct tv_keyslot *slot,
                         const uint8_t tape_uuid[16], const char *server_override,
                         const char *keyid_override, uint8_t dek[TV_DEK_LEN],
                         char *used, size_t usedsz);
void tv_kmsglue_close_all(struct tv_home *h);
/* Revoke (destroy=0) or destroy (destroy=1) a key on a KMS. */
int tv_kmsglue_retire_key(struct tv_home *h, const char *server, const char *uid, int destroy);
/* Create a key on a KMS (kind "aes" or "rsa") and remember it. */
int tv_kmsglue_create_key(struct tv_home *h, const char *server, const char *name,
                          const char *kind, char *uid_out, size_t uidsz, char *pub_out,
                          size_t pubsz);

#endif
