/* tapevault: backup container internals (not for other layers; the unit
 * tests and the fuzz target use them).
 *
 * Layout (all integers big-endian):
 *   header  0  4  magic "TVB1"
 *           4  2  version (1)
 *           6  2  flags: 0x0001 encrypted (others must be 0)
 *           8  4  body length B (<= TV_BACKUP_HDR_MAX)
 *          12  B  body, TLV (format/format.h):
 *                   1 backup UUID (16)     2 created (u64)
 *                   3 chunk size (u64)     4 algorithm (u64: 0 none,
 *                                            1 AES-256-GCM + HKDF)
 *                   5 DEK fingerprint (16, encrypted only)
 *                   6 key slot (tv_slot_encode), repeated, <= 8
 *                   7 writer (string)
 *        12+B 32  SHA-256 of bytes 0 .. 12+B  ("header hash")
 *   chunk   0  1  flags: 0x01 LAST
 *           1  3  zero
 *           4  4  stored length L = payload + 16
 *           8  L  payload (ciphertext) || 16-byte tag
 *   Every chunk but the last carries exactly chunk-size payload bytes; the
 *   LAST chunk 0 .. chunk size.  Nothing follows the LAST chunk.
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

/* Encodes the header for info (uuid, created, chunk_size, alg, dek_fpr,
 * slots, writer) into out, and sets info->header_len/header_hash. */
int tv_backup_header_encode(struct tv_buf *out, struct tv_backup_info *info);

typedef int (*tv_backup_write_fn)(void *ctx, const void *p, size_t n);
struct tv_bwriter;
/* Writes the header of info (see tv_backup_header_encode); dek is
 * required iff info->alg != TV_ENC_NONE and must match info->dek_fpr. */
int tv_bwriter_open(struct tv_bwriter **w, const char *name, tv_backup_write_fn fn,
                    void *ctx, struct tv_backup_info *info, const uint8_t *dek);
int tv_bwriter_write(struct tv_bwriter *w, const void *p, size_t n);
/* Writes the LAST chunk.  No writes after. */
int tv_bwriter_finish(struct tv_bwriter *w);
uint64_t tv_bwriter_chunks(const struct tv_bwriter *w);
uint64_t tv_bwriter_bytes(const struct tv_bwriter *w);   /* container bytes */
void tv_bwriter_free(struct tv_bwriter *w);

#endif
