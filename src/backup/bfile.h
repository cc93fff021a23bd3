/* tapevault: backup container internals (not for other layers; the unit
 * tests and the fuzz target use them).
 *
 * Layout (all integers big-endian; docs/FORMAT.md section 16 is normative):
 *   header  0  4  magic "TVB1"
 *           4  2  version: 1 unsigned (before writer signatures), 2 signed
 *           6  2  flags: 0x0001 encrypted (others must be 0)
 *           8  4  body length B (<= TV_BACKUP_HDR_MAX)
 *          12  B  body, TLV (format/format.h):
 *                   1 backup UUID (16)     2 created (u64)
 *                   3 chunk size (u64)     4 algorithm (u64: 0 none,
 *                                            1 AES-256-GCM + HKDF)
 *                   5 DEK fingerprint (16, encrypted only)
 *                   6 key slot (tv_slot_encode), repeated, <= 8
 *                   7 writer (string)
 *        12+B 32  SHA-256 of bytes 0 .. 12+B  ("header hash" H)
 *   version 2 only:
 *        44+B 6+S header signature: one TLV item, tag 1, S <= TV_BF_SIG_MAX:
 *                 a writer signature (tv_wsig: alg, public key, fingerprint,
 *                 signature; docs/FORMAT.md 9.4) of
 *                   M_h = "tapevault backup header signature" (33) || H
 *   chunk   0  1  flags: 0x01 LAST
 *           1  3  zero
 *           4  4  stored length L = payload + 16
 *           8  L  payload (ciphertext) || 16-byte tag
 *   Every chunk but the last carries exactly chunk-size payload bytes; the
 *   LAST chunk 0 .. chunk size.  Version 1: nothing follows the LAST chunk.
 *   Version 2: the trailer follows it, and nothing after that:
 *   trailer 0  4  magic "TVBT"
 *           4 6+S one TLV item, tag 2, S <= TV_BF_SIG_MAX: a writer
 *                 signature by the header's key of
 *                   M_t = "tapevault backup file signature" (31) || H
 *                         || be64(N) || SHA-256(bytes 0 .. N)
 *                 N = the number of bytes before the trailer (header,
 *                 header signature and every chunk).
 *   Encrypted: key = HKDF-SHA256(DEK, salt = backup UUID,
 *                                info = "tapevault backup chunk key v1")
 *              nonce = 00000000 || chunk index (u64), index from 0
 *              AAD = header hash || chunk index (u64) || chunk bytes 0..7
 *              tag = the GCM tag
 *   Plaintext: tag = SHA-256("tapevault backup chunk v1" || AAD || payload),
 *              first 16 bytes. */
#ifndef TV_BACKUP_BFILE_H
#define TV_BACKUP_BFILE_H

#include "backup/backup.h"

#define TV_BF_FIXED 12
#define TV_BF_HASH 32
#define TV_BF_CHUNK_HDR 8
#define TV_BF_TAG 16
#define TV_BF_LAST 0x01
#define TV_BF_ENCRYPTED 0x0001
#define TV_BF_ITEM_HDR 6            /* a TLV item's tag (u16) and length (u32) */
#define TV_BF_SIG_MAX 1024          /* a signature item's value, at most */
#define TV_BF_TAG_HEADER_SIG 1      /* the header signature item */
#define TV_BF_TAG_FILE_SIG 2        /* the trailer's signature item */
#define TV_BF_TRAILER_MAGIC "TVBT"
#define TV_BF_TRAILER_FIXED (4 + TV_BF_ITEM_HDR)
/* Context strings of the signed messages (ASCII, no NUL) */
#define TV_BF_CTX_HEADER "tapevault backup header signature"
#define TV_BF_CTX_FILE "tapevault backup file signature"

/* Encodes the header for info (uuid, created, chunk_size, alg, dek_fpr,
 * slots, writer) into out, and sets info->version, header_len and
 * header_hash.  With sg: version 2, signed by sg (info->wsig is set).
 * Without: version 2 with the signature item info->wsig when
 * info->has_wsig (a header as decoded keeps its signature, which verifies
 * only if nothing changed), else version 1 (unsigned). */
int tv_backup_header_encode_signed(struct tv_buf *out, struct tv_backup_info *info,
                                   const struct tv_signer *sg);
int tv_backup_header_encode(struct tv_buf *out, struct tv_backup_info *info);

/* The trailer of a version 2 file from memory (p: its n bytes, the end of
 * the file): 0 with *s decoded (not verified), TV_ERR_EOF when incomplete,
 * TV_ERR_FORMAT.  Bytes after the item: TV_ERR_FORMAT. */
int tv_backup_trailer_parse(const uint8_t *p, size_t n, struct tv_wsig *s);
/* M_t of section "trailer" above, into msg (appended). */
int tv_backup_file_signed_msg(struct tv_buf *msg, const uint8_t hh[TV_BF_HASH],
                              uint64_t nbytes, const uint8_t digest[32]);

typedef int (*tv_backup_write_fn)(void *ctx, const void *p, size_t n);
struct tv_bwriter;
/* Writes the header of info (see tv_backup_header_encode); dek is
 * required iff info->alg != TV_ENC_NONE and must match info->dek_fpr. */
int tv_bwriter_open(struct tv_bwriter **w, const char *name, tv_backup_write_fn fn,
                    void *ctx, struct tv_backup_info *info, const uint8_t *dek);
/* The same, signed by sg (version 2; NULL: version 1, unsigned): the
 * header now, every byte in the trailer tv_bwriter_finish writes.  sg (its
 * ctx) must stay valid until tv_bwriter_finish. */
int tv_bwriter_open_signed(struct tv_bwriter **w, const char *name, tv_backup_write_fn fn,
                           void *ctx, struct tv_backup_info *info, const uint8_t *dek,
                           const struct tv_signer *sg);
int tv_bwriter_write(struct tv_bwriter *w, const void *p, size_t n);
/* Writes the LAST chunk (and, signed, the trailer).  No writes after. */
int tv_bwriter_finish(struct tv_bwriter *w);
uint64_t tv_bwriter_chunks(const struct tv_bwriter *w);
uint64_t tv_bwriter_bytes(const struct tv_bwriter *w);   /* container bytes */
void tv_bwriter_free(struct tv_bwriter *w);

#endif
