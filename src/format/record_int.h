/* tapevault: record and frame codec (internal to the format layer; also
 * used by its tests, fuzz targets and benchmarks). */
#ifndef TV_RECORD_INT_H
#define TV_RECORD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "format/record.h"

/* One per thread: AES-256-GCM, HKDF and zstd contexts. */
struct tv_fcodec {
	struct tv_aead *aead;      /* AES-256-GCM (util/aead.h), keeps the file key */
	EVP_KDF *kdf;
	void *zc;                  /* ZSTD_CCtx */
	void *zd;                  /* ZSTD_DCtx */
	int zlevel;                /* level set on zc (INT32_MIN: none yet) */
};
int tv_fcodec_init(struct tv_fcodec *c);
void tv_fcodec_free(struct tv_fcodec *c);

/* file key = HKDF-SHA256(IKM = dek, salt = content UUID,
 *                        info = "tapevault v2 file key"), 32 bytes */
int tv_file_key(struct tv_fcodec *c, uint8_t out[TV_DEK_LEN],
                const uint8_t dek[TV_DEK_LEN], const uint8_t content_uuid[TV_UUID_LEN]);

/* Tag of a sealed record 0 (see record.h): computes it into tag (verify 0)
 * or checks it (verify 1: TV_ERR_AUTH on mismatch). */
int tv_hdr_tag(struct tv_fcodec *c, const uint8_t key[TV_DEK_LEN],
               const uint8_t tape_uuid[TV_UUID_LEN], const uint8_t rec_hdr[24],
               const uint8_t *hdr, size_t hdr_len, const void *extra,
               size_t extra_len, uint8_t tag[TV_TAG_LEN], int verify);

/* Room a sealed frame of raw_len bytes may need after its header. */
size_t tv_frame_stored_bound(size_t raw_len);

/* Seals one frame: h carries flags (LAST/CONT), first_entry, index and
 * content_uuid; raw_len is set from n.  Compresses (when comp says so and
 * it pays), encrypts when key is set (SEALED), computes the header.  The
 * header goes to hdr; the stored bytes are *stored (stored_len of them):
 * either inside out (cap bytes, at least tv_frame_stored_bound(n)) or, for
 * a plaintext frame stored as is, raw itself. */
int tv_frame_seal(struct tv_fcodec *c, const struct tv_compression *comp,
                  const uint8_t *key, const uint8_t tape_uuid[TV_UUID_LEN],
                  struct tv_frame_hdr *h, const uint8_t *raw, size_t n,
                  uint8_t hdr[TV_FRAME_HDR], uint8_t *out, size_t cap,
                  const uint8_t **stored);

/* Opens one frame: stored (h->stored_len bytes, modified in place when
 * sealed) -> *raw (h->raw_len bytes: in stored itself, or in out, which
 * holds at least h->raw_len bytes).  key NULL: the frame must be
 * plaintext.  Errors: TV_ERR_AUTH (tag), TV_ERR_FORMAT (decompression,
 * length), TV_ERR_CRC (raw CRC), TV_ERR_LOCKED (sealed, no key); the
 * detail says what, the caller adds where. */
int tv_frame_open(struct tv_fcodec *c, const uint8_t *key,
                  const uint8_t tape_uuid[TV_UUID_LEN], const struct tv_frame_hdr *h,
                  const uint8_t hdr[TV_FRAME_HDR], uint8_t *stored, uint8_t *out,
                  const uint8_t **raw);

/* Number of CPUs for worker pools (1..8). */
unsigned tv_default_workers(void);
/* Called by a worker thread as it starts: it runs at a lower priority
 * than the threads that move data to and from the tape and the disk, so
 * that those (the pipeline's sequential stages) keep a core when there are
 * more busy threads than cores. */
void tv_worker_yield(void);

#endif
