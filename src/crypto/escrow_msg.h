/* tapevault: escrow recovery messages, wire format v1 (docs/SECURITY.md section 6).
 *
 * When a tape's password is lost or its KMS is gone, the DEK can still be
 * recovered through the tape's escrow slot (RSA-OAEP to the escrow
 * authority's key set, crypto/slot.h).  The authority keeps its private
 * key elsewhere, so recovery is a copy-paste exchange of two text
 * messages, safe to e-mail:
 *
 *   1. the backup server makes a REQUEST: which tapes, with their escrow
 *      slots, signed with the installation's identity key
 *      (crypto/identity.h), carrying a fresh one-time X25519 public key;
 *   2. the authority checks the signature, shows what is asked, opens the
 *      slots made for its key set and makes a RESPONSE: the DEKs encrypted
 *      to the request's one-time key, bound to the request's hash;
 *   3. the backup server opens the response with the one-time private key
 *      it kept (sealed in its key store) and unlocks the tapes.
 *
 * Only the installation that holds the one-time private key can read the
 * DEKs.  The authority should compare the identity fingerprint shown for
 * a request with the one it knows for that installation: a request signed
 * with another key was made by someone else.
 *
 * ===================================================================
 * Armor (both messages).  ASCII text, lines ending in LF:
 *
 *   -----BEGIN TAPEVAULT ESCROW REQUEST-----      (or RESPONSE)
 *   Version: 1
 *   <empty line>
 *   <base64 (RFC 4648, '+/', '=' padding) of the payload, 64 chars a line>
 *   -----END TAPEVAULT ESCROW REQUEST-----        (or RESPONSE)
 *
 * Readers accept CRLF line ends, spaces/tabs at line ends, empty lines
 * before BEGIN and after END, and base64 lines of 1..76 characters;
 * nothing else: no text before BEGIN or after END, exactly the one
 * header line, only canonical base64 (padding only at the end, unused
 * bits zero).  The Version header must equal the version inside the
 * payload.  The whole text is at most TV_ESCROW_TEXT_MAX bytes.
 *
 * All integers are big-endian and unsigned.  "str16" is a u16 length and
 * that many bytes of UTF-8 without NUL or control characters (barcodes:
 * printable ASCII).  "key16" is a u16 length (44) and a DER
 * SubjectPublicKeyInfo of the named algorithm, in its canonical encoding.
 *
 * ===================================================================
 * REQUEST payload = body || signature (64 bytes, Ed25519)
 *
 *   body:
 *     4  magic "TVEQ"
 *     2  version (1)
 *     2  flags (0)
 *    16  request id (random)
 *     8  created, unix seconds
 *   str16 installation name (1..127 bytes)
 *   key16 identity public key (Ed25519)
 *   key16 one-time public key for the response (X25519)
 *     4  N, number of items (1..1024)
 *     N times:
 *      16  tape UUID (unique within the request)
 *     str16 barcode (0..31 bytes, printable ASCII)
 *     str16 pool name (0..127 bytes)
 *       8  media set sequence number
 *      16  DEK fingerprint (crypto/kdf.h)
 *       2  S, slot length (1..TV_ESCROW_SLOT_MAX)
 *       S  the tape's escrow key slot, tv_slot_encode() TLV in canonical
 *          form (decodes and re-encodes to the same bytes); type escrow
 *   The body ends after the last item.
 *
 *   request hash H = SHA-256("tapevault escrow request v1" || body)
 *   signature      = Ed25519(identity private key, H)   (pure Ed25519 over
 *                    the 32 bytes of H)
 *
 * ===================================================================
 * RESPONSE payload = body (no signature: see "trust" below)
 *
 *     4  magic "TVER"
 *     2  version (1)
 *     2  flags (0)
 *    16  request id          (as in the request)
 *    32  request hash H      (of the request answered)
 *    32  authority key fingerprint (SHA-256 of the key set's SPKI DER)
 *     8  created, unix seconds
 *   str16 installation name (1..127 bytes, copied from the request)
 *   key16 ephemeral public key of this response (X25519)
 *     4  N, number of items (1..1024)
 *     N times:
 *      16  tape UUID (unique within the response)
 *       1  status: 0 ok, 1 no slot for this key set, 2 slot does not
 *          open, 3 opened key does not match the DEK fingerprint
 *     status 0 only:
 *      12  IV (random)
 *      32  encrypted DEK
 *      16  GCM tag
 *   The body ends after the last item.
 *
 *   Z   = X25519(ephemeral private, request's one-time public)
 *         (= X25519(one-time private, ephemeral public))
 *   K   = HKDF-SHA256(ikm = Z, salt = H, info = "tapevault escrow response v1"),
 *         32 bytes
 *   DEK sealed with AES-256-GCM(K, IV, AAD = H || tape UUID)
 *
 * Trust: anyone could make a response, but only DEKs that match the
 * tapes' fingerprints are of use.  tv_escrow_answer_check() (or
 * tv_dek_verify against the catalog) must accept a DEK before it is used.
 * ===================================================================
 *
 * Errors set a detail a user can act on, starting with "request: " or
 * "response: ".  TV_ERR_FORMAT (malformed, truncated, wrong armor),
 * TV_ERR_UNSUPPORTED (version), TV_ERR_SIG (request signature), TV_ERR_AUTH
 * (response does not decrypt / answers another version of the request),
 * TV_ERR_INVAL (bad arguments; response to another request),
 * TV_ERR_NOMEM, TV_ERR_CRYPTO. */
#ifndef TV_CRYPTO_ESCROW_MSG_H
#define TV_CRYPTO_ESCROW_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "crypto/pkey.h"
#include "format/format.h"

#define TV_ESCROW_MSG_VERSION 1
#define TV_ESCROW_ID_LEN 16
#define TV_ESCROW_HASH_LEN 32
#define TV_ESCROW_MAX_ITEMS 1024
#define TV_ESCROW_SLOT_MAX 2048            /* encoded slot bytes */
#define TV_ESCROW_BARCODE_MAX 31
#define TV_ESCROW_NAME_MAX (TV_NAME_MAX - 1) /* installation and pool names */
#define TV_ESCROW_TEXT_MAX ((size_t)4 * 1024 * 1024)
#define TV_ESCROW_ID_HEX_LEN (2 * TV_ESCROW_ID_LEN + 1)

/* One tape asked for. */
struct tv_escrow_item {
	uint8_t tape_uuid[TV_UUID_LEN];
	char barcode[TV_ESCROW_BARCODE_MAX + 1];
	char pool[TV_NAME_MAX];
	uint64_t media_set_seq;
	uint8_t dek_fpr[TV_FPR_LEN];
	struct tv_keyslot slot;            /* type TV_SLOT_ESCROW */
};

/* A parsed, signature-checked request. */
struct tv_escrow_request {
	uint8_t id[TV_ESCROW_ID_LEN];
	uint64_t created;
	char installation[TV_NAME_MAX];
	EVP_PKEY *identity;                /* Ed25519 public key that signed it */
	uint8_t identity_fpr[TV_PKFPR_LEN];
	EVP_PKEY *onetime;                 /* X25519 public key for the response */
	uint8_t hash[TV_ESCROW_HASH_LEN];  /* H, see above */
	size_t n;
	struct tv_escrow_item *items;
};

enum tv_escrow_status {
	TV_ESCROW_OK = 0,
	TV_ESCROW_NO_SLOT = 1,       /* the tape's slot is for another key set */
	TV_ESCROW_SLOT_BAD = 2,      /* the slot does not open with this key set */
	TV_ESCROW_KEY_MISMATCH = 3,  /* it opened, but not to the tape's DEK */
};
/* "ok", "no slot for this key set", "slot does not open",
 * "key does not match the tape's fingerprint". */
const char *tv_escrow_status_str(enum tv_escrow_status s);

/* What the authority side did, item by item (request order). */
struct tv_escrow_resp_item {
	uint8_t tape_uuid[TV_UUID_LEN];
	enum tv_escrow_status status;
	char detail[256];                  /* why, when not ok */
};
struct tv_escrow_resp_report {
	uint8_t authority_fpr[TV_PKFPR_LEN];
	size_t n, n_ok, n_no_slot, n_failed;   /* n_failed: SLOT_BAD + KEY_MISMATCH */
	struct tv_escrow_resp_item *items;     /* n entries */
};

/* An opened response. */
struct tv_escrow_answer_item {
	uint8_t tape_uuid[TV_UUID_LEN];
	enum tv_escrow_status status;
	uint8_t dek[TV_DEK_LEN];           /* status TV_ESCROW_OK only, else zero */
};
struct tv_escrow_answer {
	uint8_t request_id[TV_ESCROW_ID_LEN];
	uint8_t request_hash[TV_ESCROW_HASH_LEN];
	uint8_t authority_fpr[TV_PKFPR_LEN];
	uint64_t created;
	char installation[TV_NAME_MAX];
	size_t n;
	struct tv_escrow_answer_item *items;
};

/* Header of a response, readable without any key. */
struct tv_escrow_resp_info {
	uint8_t request_id[TV_ESCROW_ID_LEN];
	uint8_t request_hash[TV_ESCROW_HASH_LEN];
	uint8_t authority_fpr[TV_PKFPR_LEN];
	uint64_t created;
	char installation[TV_NAME_MAX];
	size_t n;
};

/* ---- request (backup server) ---- */

/* Makes and signs a request for items[0..n) (1 <= n <= 1024, distinct
 * tape UUIDs, escrow slots).  installation: this installation's name
 * (1..127 bytes, no control characters).  identity_priv: the identity key
 * (tv_identity_load).  On success *text is a malloc'd NUL-terminated
 * armored text (free()) and *onetime_priv the one-time X25519 private key
 * that opens the response: keep it (tv_x25519_priv_to_der, sealed in the
 * key store) until the response is applied; EVP_PKEY_free it.  The
 * request id and hash: tv_escrow_request_parse the text. */
int tv_escrow_request_make(const struct tv_escrow_item *items, size_t n,
                           const char *installation, EVP_PKEY *identity_priv,
                           char **text, EVP_PKEY **onetime_priv);

/* Parses an armored request and verifies its signature against the
 * identity key it carries (the caller decides whether it trusts that key:
 * show req->identity_fpr).  *out: free with tv_escrow_request_free. */
int tv_escrow_request_parse(const void *text, size_t len, struct tv_escrow_request **out);
void tv_escrow_request_free(struct tv_escrow_request *req);   /* NULL ok */
/* The authority refuses stale requests (a request is answered within days
 * of being made; an old one, replayed or kept, is not answered) and
 * requests dated in the future beyond a small clock skew. */
#define TV_ESCROW_MAX_AGE_DEFAULT ((uint64_t)30 * 86400)   /* seconds */
#define TV_ESCROW_FUTURE_SKEW ((uint64_t)10 * 60)          /* seconds */
/* 0 when now - max_age <= req->created <= now + TV_ESCROW_FUTURE_SKEW;
 * else TV_ERR_STATE with "request: made DATE, N day(s) ago: older than
 * the M day(s) accepted ..." or "request: dated DATE, in the future ...". */
int tv_escrow_request_check_age(const struct tv_escrow_request *req, uint64_t now,
                                uint64_t max_age);
/* H: binds the response to exactly this request. */
void tv_escrow_request_hash(const struct tv_escrow_request *req,
                            uint8_t out[TV_ESCROW_HASH_LEN]);

/* ---- response (escrow authority) ---- */

/* Answers req with the authority's private key (RSA, the key set): every
 * item whose slot is for this key set is opened (tv_slot_escrow_open),
 * checked against its DEK fingerprint, and encrypted to the request's
 * one-time key; DEKs are wiped.  report (may be NULL) receives the outcome
 * per item, also on failure (free with tv_escrow_resp_report_free).  When
 * no item could be answered there is no response: TV_ERR_NOTFOUND (no
 * slot for this key set at all) or TV_ERR_BADKEY (slots did not open),
 * with a detail.  *text: malloc'd armored text, free(). */
int tv_escrow_response_make(const struct tv_escrow_request *req, EVP_PKEY *authority_priv,
                            char **text, struct tv_escrow_resp_report *report);
void tv_escrow_resp_report_free(struct tv_escrow_resp_report *report);  /* items only */

/* ---- applying a response (backup server) ---- */

/* The request id a response answers, to find the pending request and its
 * one-time key.  Checks the armor and the layout (no key needed); if no
 * pending request has this id, say "response: answers request <id> made by
 * installation '<info.installation>': this installation did not make it". */
int tv_escrow_response_peek(const void *text, size_t len,
                            uint8_t request_id[TV_ESCROW_ID_LEN]);
/* Same, with the rest of the header (shown before applying). */
int tv_escrow_response_info(const void *text, size_t len, struct tv_escrow_resp_info *info);

/* Opens a response to the request (request_id, request_hash) made with
 * onetime_priv.  Refuses a response to another request (TV_ERR_INVAL), to
 * another version of this request (TV_ERR_AUTH), and one that does not
 * decrypt with this one-time key (TV_ERR_AUTH: made for another
 * installation's request) or was modified (TV_ERR_AUTH).  All or nothing.
 * *out: free with tv_escrow_answer_free (wipes the DEKs).  The DEKs are
 * not yet checked: see tv_escrow_answer_check. */
int tv_escrow_response_open(const void *text, size_t len, EVP_PKEY *onetime_priv,
                            const uint8_t request_id[TV_ESCROW_ID_LEN],
                            const uint8_t request_hash[TV_ESCROW_HASH_LEN],
                            struct tv_escrow_answer **out);
void tv_escrow_answer_free(struct tv_escrow_answer *a);   /* NULL ok; wipes */

/* Checks an opened answer against the request it answers: same id and
 * hash, every request item answered exactly once, and every returned DEK
 * matches the item's DEK fingerprint (tv_dek_verify).  0, TV_ERR_INVAL
 * (not the answer to req / items missing or extra), TV_ERR_BADKEY (a DEK
 * does not match: names the tape). */
int tv_escrow_answer_check(const struct tv_escrow_answer *a,
                           const struct tv_escrow_request *req);

/* ---- helpers ---- */

/* Lower-case hex of a request id (32 digits + NUL). */
void tv_escrow_id_hex(const uint8_t id[TV_ESCROW_ID_LEN], char out[TV_ESCROW_ID_HEX_LEN]);

/* One-time X25519 private key <-> PKCS#8 DER (to seal in the key store).
 * *der is malloc'd: release with tv_freezero(*der, *len).  from_der:
 * TV_ERR_FORMAT unless it is exactly one X25519 private key. */
int tv_x25519_priv_to_der(EVP_PKEY *key, uint8_t **der, size_t *len);
int tv_x25519_priv_from_der(const uint8_t *der, size_t len, EVP_PKEY **key);

#endif
