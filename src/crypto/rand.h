/* tapevault: random numbers and UUIDs.
 *
 * All randomness comes from the OpenSSL DRBG (RAND_bytes), seeded by the
 * operating system. */
#ifndef TV_CRYPTO_RAND_H
#define TV_CRYPTO_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fill p with n cryptographically strong random bytes.
 * Returns 0 or TV_ERR_CRYPTO (the DRBG failed: never continue then). */
int tv_random(void *p, size_t n);

/* ---- UUIDs (RFC 4122 version 4, random) ---- */
#define TV_UUID_BYTES 16
#define TV_UUID_STR_LEN 37     /* 36 characters + NUL */

/* A fresh random UUID (version 4, variant 10x). */
int tv_uuid_new(uint8_t uuid[TV_UUID_BYTES]);
/* Canonical lower-case form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
void tv_uuid_to_str(const uint8_t uuid[TV_UUID_BYTES], char out[TV_UUID_STR_LEN]);
/* Parses the canonical form (either case); also accepts the 32 hex
 * digits without dashes.  Any other input: TV_ERR_INVAL with a detail. */
int tv_uuid_parse(const char *s, uint8_t uuid[TV_UUID_BYTES]);
/* 1 if all 16 bytes are zero (the nil UUID: "unset" in our structures). */
int tv_uuid_is_nil(const uint8_t uuid[TV_UUID_BYTES]);

#endif
