/* tapevault: the record layer and tape file streams.
 *
 * Record = 32-byte header + stored payload, written as ONE tape record:
 *  0  4  magic "TVR1"
 *  4  1  version (1)
 *  5  1  flags: END 0x01 (last record of the tape file), INCOMPLETE 0x02
 *        (the content continues in a further part, on another tape),
 *        ENCRYPTED 0x04
 *  6  2  reserved (0)
 *  8  4  stored payload length P (ciphertext + 16-byte tag when encrypted)
 * 12  4  tape file number
 * 16  8  sequence: index of the record in its tape file (content header
 *        record = 0, data records 1, 2, ...)
 * 24  4  CRC32C of bytes 0..23, then 4 zero bytes, then bytes 28..31,
 *        then the stored payload
 * 28  4  reserved (0)
 *
 * Encryption (AES-256-GCM, per record, random access):
 *   file key = HKDF-SHA256(IKM = tape DEK, salt = content UUID,
 *                          info = "tapevault record key v1"), 32 bytes
 *   nonce    = 00 00 00 00 || sequence (8 bytes BE)
 *   AAD      = tape UUID || content UUID || record header bytes 0..23
 * The content UUID is fresh for every tape file written, so a (key, nonce)
 * pair never repeats, even when a tape is appended to or overwritten. */
#ifndef TV_RECORD_H
#define TV_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "tape/tape.h"

#define TV_REC_MAGIC "TVR1"
#define TV_REC_HDR 32
#define TV_TAG_LEN 16
enum { TV_RF_END = 0x01, TV_RF_INCOMPLETE = 0x02, TV_RF_ENCRYPTED = 0x04 };

struct tv_rec_hdr {
	uint8_t flags;
	uint32_t payload_len;
	uint32_t file_no;
	uint64_t seq;
	uint32_t crc;
};
/* Parses and checks magic/version/length against n (does not check CRC). */
int tv_rec_hdr_decode(const uint8_t *rec, size_t n, struct tv_rec_hdr *h);

uint32_t tv_crc32c(uint32_t crc, const void *p, size_t n);  /* util/crc32c.c */

/* ---- writer: one per tape session; owns an I/O thread so that record
 * sealing (CRC, AES-GCM) overlaps the tape writes. ---- */
struct tv_twriter;
struct tv_file_result {
	uint64_t records;        /* data records written (excl. content header) */
	uint64_t length;         /* data bytes */
	uint32_t crc;            /* CRC32C of the data bytes */
};
/* name: for messages ("VT0001L9"). record_size: total bytes per record. */
int tv_twriter_open(struct tv_twriter **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN], size_t record_size);
/* Starts tape file file_no at the tape's current position: queues the
 * content header record.  dek NULL = plaintext records. */
int tv_twriter_begin_file(struct tv_twriter *w, uint32_t file_no,
                          enum tv_content_type type,
                          const uint8_t content_uuid[TV_UUID_LEN],
                          const void *ch_body, size_t ch_len,
                          const uint8_t *dek);
int tv_twriter_write(struct tv_twriter *w, const void *p, size_t n);
/* Zero-copy variant: *p points at free room (*room > 0 bytes) in the
 * current record; the caller fills some of it (e.g. read(2) straight into
 * it) and commits what it filled.  Nothing else may be called between. */
int tv_twriter_reserve(struct tv_twriter *w, uint8_t **p, size_t *room);
int tv_twriter_commit(struct tv_twriter *w, size_t n);
/* Final record (flag END, plus INCOMPLETE when the content continues on
 * another tape; an empty record if needed) and a filemark. */
int tv_twriter_end_file(struct tv_twriter *w, int incomplete,
                        struct tv_file_result *res);
/* Waits for all queued I/O; returns the first I/O error, if any. */
int tv_twriter_sync(struct tv_twriter *w);
/* 1 once the tape reported early warning for any record written so far. */
int tv_twriter_ew(struct tv_twriter *w);
/* sync, stop the thread, free (the tape stays open).  NULL ok. */
int tv_twriter_close(struct tv_twriter *w);

/* ---- reader: reads tape files; a read-ahead thread overlaps tape reads
 * with CRC/decryption.  Errors name tape, file and record. ---- */
struct tv_treader;
int tv_treader_open(struct tv_treader **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN] /* NULL until known */,
                    size_t max_record);
void tv_treader_set_tape_uuid(struct tv_treader *r, const uint8_t tape_uuid[TV_UUID_LEN]);
/* Reads the content header of the tape file at the current position.
 * *file_no is the tape's file number.  Returns TV_ERR_EOD at end of data;
 * TV_ERR_FILEMARK for an empty tape file (position moves past it).
 * ch->body stays valid until the next begin_file. */
int tv_treader_begin_file(struct tv_treader *r, struct tv_content_header *ch,
                          uint64_t *file_no);
/* Key for the current file's records (NULL = expect plaintext). */
int tv_treader_set_dek(struct tv_treader *r, const uint8_t *dek);
/* Checksums only (verifying a tape whose key is not at hand): encrypted
 * records are checked (header, file number, sequence, CRC32C) but not
 * decrypted, and read() returns their ciphertext (tag excluded).  Nothing
 * is authenticated in this mode.  Stays set until turned off. */
void tv_treader_set_crc_only(struct tv_treader *r, int on);
/* Data bytes; *got = 0 at the end of the tape file.  TV_ERR_CRC,
 * TV_ERR_AUTH, TV_ERR_FORMAT, TV_ERR_LOCKED (encrypted, no key) name the
 * record in tv_errdetail(). */
int tv_treader_read(struct tv_treader *r, void *p, size_t n, size_t *got);
/* Zero-copy variant: *p points at the next data bytes of the current
 * record (*got of them, 0 at the end of the tape file), valid until the
 * next call on the reader.  Same errors as tv_treader_read. */
int tv_treader_next(struct tv_treader *r, const uint8_t **p, size_t *got);
/* After the end was reached: 1 if the last record carried INCOMPLETE. */
int tv_treader_incomplete(struct tv_treader *r);
/* 1 if the file ended without an END record (cut off: filemark or EOD
 * came first). */
int tv_treader_truncated(struct tv_treader *r);
/* Skips the rest of the current tape file (spacing, not reading) and its
 * filemark. */
int tv_treader_end_file(struct tv_treader *r);
uint64_t tv_treader_records(struct tv_treader *r);  /* data records read */
void tv_treader_close(struct tv_treader *r);

#endif
