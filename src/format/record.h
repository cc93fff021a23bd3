/* tapevault: records, frames and the tape file streams (format v2).
 *
 * Record = 32-byte header + payload, written as ONE tape record:
 *  0  4  magic "TVR2"
 *  4  1  flags: END 0x01 (last record of the tape file), CONT 0x02 (the
 *        file's last entry continues in a later tape file), SEALED 0x04
 *        (record 0 only: the content header carries a GCM tag)
 *  5  1  reserved (0)
 *  6  2  reserved (0)
 *  8  4  payload length P
 * 12  4  tape file number
 * 16  8  sequence: index of the record in its tape file (content header
 *        record 0, data records 1, 2, ...)
 * 24  4  first frame: offset in the payload of the first frame header that
 *        begins in this record; 0xFFFFFFFF when none does (record 0: 0)
 * 28  4  CRC32C of bytes 0..27, then the payload
 *
 * Data records are exactly R bytes (the volume label's record_size); only
 * the last record of a tape file may be shorter.  Their payloads, in
 * sequence, form the file's data stream: frames back to back.
 *
 * Frame = 48-byte header + stored bytes:
 *  0  4  magic "TVF2"
 *  4  1  method: 0 stored, 1 zstd
 *  5  1  flags: LAST 0x01 (last frame of the tape file), CONT 0x02 (with
 *        LAST: the last entry continues in a later tape file), SEALED 0x04
 *  6  2  reserved (0)
 *  8  4  stored length S (bytes after the header, tag included)
 * 12  4  raw length U (<= 1 MiB): bytes of the file's byte stream
 * 16  4  first entry: offset in the raw bytes of the first entry (or catalog
 *        item) that begins in this frame; 0xFFFFFFFF when none does
 * 20  4  CRC32C of the U raw bytes (0 when sealed)
 * 24  8  frame index in the tape file (0, 1, ...): a file read from its
 *        start must begin with frame 0 and go on without gaps
 * 32 16  content UUID of the tape file
 *
 * Sealed (encrypted tape):
 *   file key = HKDF-SHA256(IKM = DEK, salt = content UUID,
 *                          info = "tapevault v2 file key"), 32 bytes
 *   frame:  nonce = 00000001 || frame index (8 bytes BE);
 *           AAD = tape UUID || frame header (48 bytes, S including the tag);
 *           stored bytes = AES-256-GCM(compressed or raw bytes) || tag
 *   record 0: payload = content header || tag, tag = GCM with nonce
 *           00000000 || 0 (8 bytes), empty plaintext, AAD = tape UUID ||
 *           record header bytes 0..23 || content header || extra (the volume
 *           label's content header, for the media set label)
 * The content UUID is fresh for every tape file written, so a (key, nonce)
 * pair never repeats, even when a tape is appended to or overwritten. */
#ifndef TV_RECORD_H
#define TV_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "tape/tape.h"

#define TV_REC_MAGIC "TVR2"
#define TV_REC_HDR 32
#define TV_TAG_LEN 16
#define TV_NO_OFFSET 0xFFFFFFFFu
enum { TV_RF_END = 0x01, TV_RF_CONT = 0x02, TV_RF_SEALED = 0x04 };

#define TV_FRAME_MAGIC "TVF2"
#define TV_FRAME_HDR 48
#define TV_FRAME_RAW_MAX (1024u * 1024u)
enum { TV_FF_LAST = 0x01, TV_FF_CONT = 0x02, TV_FF_SEALED = 0x04 };
enum tv_comp { TV_COMP_STORED = 0, TV_COMP_ZSTD = 1 };
#define TV_ZSTD_LEVEL_DEFAULT 1

struct tv_rec_hdr {
	uint8_t flags;
	uint32_t payload_len;
	uint32_t file_no;
	uint64_t seq;
	uint32_t first_frame;
	uint32_t crc;
};
/* Parses and checks magic, reserved bytes, flags and length against n (not
 * the CRC). */
int tv_rec_hdr_decode(const uint8_t *rec, size_t n, struct tv_rec_hdr *h);
void tv_rec_hdr_encode(uint8_t rec[TV_REC_HDR], const struct tv_rec_hdr *h);
/* CRC32C of a record: header bytes 0..27 then the payload. */
uint32_t tv_rec_crc(const uint8_t *rec, size_t payload_len);

struct tv_frame_hdr {
	uint8_t method;
	uint8_t flags;
	uint32_t stored_len;
	uint32_t raw_len;
	uint32_t first_entry;
	uint32_t crc;
	uint64_t index;
	uint8_t content_uuid[TV_UUID_LEN];
};
void tv_frame_hdr_encode(uint8_t p[TV_FRAME_HDR], const struct tv_frame_hdr *h);
/* Checks magic, method, flags, reserved bytes and lengths. */
int tv_frame_hdr_decode(const uint8_t p[TV_FRAME_HDR], struct tv_frame_hdr *h);

/* Writer's frame size (raw bytes per frame) for a record size: frames of
 * incompressible data then span at most two records. */
size_t tv_frame_raw_size(size_t record_size);

/* Compression setting of a writer. */
struct tv_compression {
	enum tv_comp method;     /* TV_COMP_STORED: never compress */
	int level;               /* zstd level */
};
/* Parses "none" | "zstd" | "zstd:LEVEL" (LEVEL -7..19). */
int tv_compression_parse(const char *s, struct tv_compression *c);
void tv_compression_format(const struct tv_compression *c, char *out, size_t outsz);
/* The version of the zstd library the frames are compressed with. */
const char *tv_compression_lib_version(void);

/* ==== writer: one per tape session ====
 *
 * The caller's thread fills frames with the file's byte stream; worker
 * threads compress and seal frames; one I/O thread packs sealed frames into
 * records, in order, and writes them to the tape.  Memory is bounded (a
 * ring of frame slots).  A callback on the I/O thread reports where each
 * frame landed, with side data the caller attached to the frame (used to
 * record catalog rows once their position is known). */
struct tv_twriter;
struct tv_twriter_opts {
	size_t record_size;              /* R; 0 = default */
	struct tv_compression comp;
	unsigned workers;                /* 0 = one per CPU (at most 8) */
	/* Called on the I/O thread, in frame order, once the frame's position in
	 * the data stream is fixed: side data is what tv_twriter_side attached
	 * while the frame was filled.  A non-zero return stops the writer. */
	int (*placed)(void *ctx, uint32_t file_no, uint64_t frame_index,
	              uint64_t frame_off, const uint8_t *side, size_t side_len);
	void *placed_ctx;
};
struct tv_file_result {
	uint64_t frames;         /* frames in the tape file */
	uint64_t records;        /* data records (excl. the content header record) */
	uint64_t raw_bytes;      /* bytes of the byte stream */
	uint64_t stored_bytes;   /* bytes of the data stream (frames with headers) */
};
struct tv_twriter_stats {
	uint64_t raw_bytes, stored_bytes, frames, frames_compressed;
};
int tv_twriter_open(struct tv_twriter **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN],
                    const struct tv_twriter_opts *o);
/* A tape file of one record (labels): content header, END, filemark.  dek
 * non-NULL: the record is sealed, binding extra (may be NULL) as well. */
int tv_twriter_header_file(struct tv_twriter *w, uint32_t file_no,
                           enum tv_content_type type,
                           const uint8_t content_uuid[TV_UUID_LEN],
                           const void *body, size_t body_len, const uint8_t *dek,
                           const void *extra, size_t extra_len);
/* Starts a stream tape file at the tape's position: queues its content
 * header record.  dek NULL = plaintext frames. */
int tv_twriter_begin_file(struct tv_twriter *w, uint32_t file_no,
                          enum tv_content_type type,
                          const uint8_t content_uuid[TV_UUID_LEN],
                          const void *body, size_t body_len, const uint8_t *dek);
/* Marks that an entry (or catalog item) begins at the current position of
 * the byte stream.  *frame_index / *entry_off: where it begins. */
int tv_twriter_mark(struct tv_twriter *w, uint64_t *frame_index, uint32_t *entry_off);
/* Attaches side data to the frame the last mark fell in. */
int tv_twriter_side(struct tv_twriter *w, const void *p, size_t n);
int tv_twriter_write(struct tv_twriter *w, const void *p, size_t n);
/* Zero-copy variant: *p points at free room (*room > 0 bytes) in the
 * current frame; the caller fills some of it (e.g. read(2) straight into
 * it) and commits what it filled.  Nothing else may be called between. */
int tv_twriter_reserve(struct tv_twriter *w, uint8_t **p, size_t *room);
int tv_twriter_commit(struct tv_twriter *w, size_t n);
/* Ends the stream tape file: last frame (LAST, plus CONT when cont), last
 * record (END, plus CONT), filemark.  res may be NULL; its figures are
 * final after tv_twriter_sync. */
int tv_twriter_end_file(struct tv_twriter *w, int cont, struct tv_file_result *res);
/* Bytes of the current tape file so far (stored bytes placed, plus raw
 * bytes still on their way): for a size threshold. */
uint64_t tv_twriter_file_bytes(struct tv_twriter *w);
/* Waits for all queued work; returns the first error, if any. */
int tv_twriter_sync(struct tv_twriter *w);
/* 1 once the tape reported early warning for any record written so far. */
int tv_twriter_ew(struct tv_twriter *w);
/* 1 when the writer's (sticky) error came from the tape device: a record
 * or filemark the drive refused (medium or hardware error, end of medium).
 * What was queued after it is not on tape; the tape may be given up and the
 * data written again elsewhere. */
int tv_twriter_device_failed(struct tv_twriter *w);
void tv_twriter_stats(struct tv_twriter *w, struct tv_twriter_stats *ts);
/* sync, stop the threads, free (the tape stays open).  NULL ok. */
int tv_twriter_close(struct tv_twriter *w);

/* ==== reader ====
 *
 * One read-ahead thread reads records (checking their CRC and headers) and
 * cuts the data stream into frames; worker threads open frames (verify the
 * tag, decrypt, decompress, check the raw CRC); the caller gets each frame's
 * raw bytes in order.  Errors name tape, file and record. */
struct tv_treader;
struct tv_treader_opts {
	unsigned workers;          /* 0 = one per CPU (at most 8) */
};
int tv_treader_open(struct tv_treader **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN] /* NULL until known */,
                    const struct tv_treader_opts *o);
void tv_treader_set_tape_uuid(struct tv_treader *r, const uint8_t tape_uuid[TV_UUID_LEN]);
/* Record size R of the tape (from its volume label); until set, streams
 * cannot be positioned by offset. */
void tv_treader_set_record_size(struct tv_treader *r, size_t record_size);
/* Reads record 0 of the tape file at the current position.  *file_no is
 * the tape's file number.  TV_ERR_EOD at end of data; TV_ERR_FILEMARK for
 * an empty tape file (position moves past it).  ch->body stays valid until
 * the next begin_file/seek.  *sealed: record 0 carries a tag. */
int tv_treader_begin_file(struct tv_treader *r, struct tv_content_header *ch,
                          uint64_t *file_no, int *sealed);
/* Key for the current file.  dek NULL: plaintext expected (a sealed record
 * 0 or frame is refused).  dek set: record 0 is authenticated now (extra:
 * bytes its tag also binds) and every frame must be sealed.  A plaintext
 * record 0 is refused, named. */
int tv_treader_set_key(struct tv_treader *r, const uint8_t *dek,
                       const void *extra, size_t extra_len);
/* Checksums only (verifying a tape whose key is not at hand): records and
 * frame headers are checked, frames are not opened; next() returns no
 * data.  Until turned off. */
void tv_treader_set_crc_only(struct tv_treader *r, int on);
/* Positions at frame_off of the data stream of tape file file_no without
 * reading record 0: content_uuid and dek (NULL: plaintext) come from the
 * catalog.  The read-ahead stops once frames covering raw_need bytes (from
 * the frame's start) are read; tv_treader_want raises that. */
int tv_treader_seek(struct tv_treader *r, uint64_t file_no, uint64_t frame_off,
                    const uint8_t content_uuid[TV_UUID_LEN], const uint8_t *dek,
                    uint64_t raw_need);
void tv_treader_want(struct tv_treader *r, uint64_t raw_need);
/* Next frame: returns 1 with its raw bytes in place (*p, *n; valid until
 * the next call; none in checksums-only mode), 0 at the end of the tape
 * file, or an error naming tape, file and record.  After an error (a
 * damaged record or frame) the next call goes on with the next frame that
 * can be read: fi->index tells how many were lost. */
struct tv_frame_info {
	uint64_t index;
	uint64_t stream_off;        /* where its header is in the data stream */
	uint32_t first_entry;
	uint32_t raw_len;
	uint64_t record;            /* record its header begins in */
	int last, cont, method, sealed;
};
int tv_treader_next(struct tv_treader *r, const uint8_t **p, size_t *n,
                    struct tv_frame_info *fi);
/* After the end: 1 if the file ended with CONT; 1 if it was cut off (no END
 * record: filemark or end of data came first). */
int tv_treader_cont(struct tv_treader *r);
int tv_treader_truncated(struct tv_treader *r);
/* Skips the rest of the current tape file (spacing) and its filemark. */
int tv_treader_end_file(struct tv_treader *r);
uint64_t tv_treader_records(struct tv_treader *r);  /* data records read */
void tv_treader_close(struct tv_treader *r);

/* ==== entry cursor: entries (or catalog items) of a stream tape file ====
 *
 * On top of a reader positioned at a stream tape file (begin_file and
 * set_key, or seek): walks the byte stream item by item.  Entries are
 * parsed from authenticated frames only.  After an error (a damaged record
 * or frame) the cursor goes on with the first entry that begins in the
 * next readable frame. */
struct tv_ecursor;
/* kind: TV_CT_DATA (entries) or TV_CT_CATALOG (catalog items).  skip: raw
 * bytes to pass over in the first frame (after a seek: the entry offset). */
int tv_ecursor_open(struct tv_ecursor **out, struct tv_treader *r,
                    enum tv_content_type kind, uint32_t skip);
void tv_ecursor_close(struct tv_ecursor *c);
/* Data files.  Next entry header: 1 (*e filled; *loc: frame_off,
 * entry_off of its header; the data follows), 0 at the end of the tape
 * file, or an error (the cursor then resynchronises on the next call).
 * The rest of the previous entry's data is passed over.  e->sparse and
 * e->xattrs stay valid until the next call. */
int tv_ecursor_next(struct tv_ecursor *c, struct tv_entry *e, struct tv_loc *loc);
/* The current entry's data: 1 with a chunk (in place, valid until the next
 * call), 0 when all of it was read (or the entry was refused, e.g. of a
 * newer kind: its data is passed over), TV_ERR_EOF when the tape file ended
 * first: *cont says whether it continues in a later part (CONT) or was cut
 * off.  Other errors: damage, named. */
int tv_ecursor_data(struct tv_ecursor *c, const uint8_t **p, size_t *n, int *cont);
/* Catalog files.  Next item: 1 (*it filled), 0 at the end, or an error. */
int tv_ecursor_item(struct tv_ecursor *c, struct tv_cat_item_v *it, struct tv_loc *loc);
/* After a TV_CI_WRITER item: SHA-256 of the catalog byte stream before it
 * (docs/FORMAT.md 11.2); TV_ERR_STATE when the cursor did not see all of
 * it (damage, a seek). */
int tv_ecursor_writer_digest(struct tv_ecursor *c, uint8_t out[32]);

/* ==== label files (tape files 0 and 1) ==== */
struct tv_tape_labels {
	struct tv_volume_label vol;
	struct tv_media_set_label ms;
	int has_ms;                  /* 0: a tape labeled but not in a media set */
	int ms_sealed;               /* record 0 of file 1 carries a tag */
	uint8_t *vol_hdr;            /* file 0's content header, as read */
	size_t vol_hdr_len;
	uint8_t *ms_rec;             /* file 1's record 0, as read */
	size_t ms_rec_len;
};
/* Writes files 0 and 1 at the start of the tape (the writer must be at
 * BOT).  dek non-NULL: the media set label is sealed, binding the volume
 * label too. */
int tv_labels_write(struct tv_twriter *w, const struct tv_volume_label *vol,
                    const struct tv_media_set_label *ms, const uint8_t *dek);
/* The same, the media set label signed by sg (NULL: unsigned) as
 * docs/FORMAT.md 9.4 says. */
int tv_labels_write_signed(struct tv_twriter *w, const struct tv_volume_label *vol,
                           const struct tv_media_set_label *ms, const uint8_t *dek,
                           const struct tv_signer *sg);
/* The message a media set label's writer signature signs (docs/FORMAT.md
 * 9.4): from the labels as read (l->has_ms and l->ms.has_wsig), appended
 * to msg. */
int tv_labels_signed_msg(const struct tv_tape_labels *l, struct tv_buf *msg);
/* The message a catalog file's writer signature signs: the catalog's
 * content header (as decoded: type, UUID, body), the number of items
 * before the WRITER item and the digest of the stream before it. */
int tv_catalog_signed_msg(struct tv_buf *msg, const uint8_t content_uuid[TV_UUID_LEN],
                          const uint8_t *body, size_t body_len, uint64_t count,
                          const uint8_t digest[32]);
/* Rewinds and reads both labels.  TV_ERR_EOD for a blank tape,
 * TV_ERR_FORMAT for a tape that is not ours, TV_ERR_UNSUPPORTED for
 * another format version (named).  with_ms 0: the volume label only. */
int tv_labels_read(struct tv_tape *t, const char *name, struct tv_tape_labels *l,
                   int with_ms);
/* With the tape's data key: the media set label (and with it the volume
 * label) is authenticated; TV_ERR_AUTH / TV_ERR_FORMAT when not. */
int tv_labels_verify(const struct tv_tape_labels *l, const char *name,
                     const uint8_t dek[TV_DEK_LEN]);
void tv_labels_free(struct tv_tape_labels *l);

#endif
