/* tapevault: looking into tapes without a key: the structure of a tape
 * image, file by file (tape dump), and what unlocks a tape, from the media
 * set label the catalog keeps (tape list, tape show). */
#ifndef TV_JOBS_INSPECT_H
#define TV_JOBS_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"

/* What unlocks a tape, from its media set label body as stored in the
 * catalog: desc "password p1 (hint: ...)", "KMS key ... on kms1 (...)";
 * fpr its data key fingerprint in hex (when fprsz >= TV_FPR_HEX_LEN, else
 * left ""). Both are "" for a tape that is not encrypted or has no label.
 * TV_ERR_FORMAT (both "") when the label does not decode. */
int tv_inspect_key(const void *ms_label, size_t len, char *desc, size_t descsz, char *fpr,
                   size_t fprsz);

/* ---- walking a tape image (headers only: no key needed) ----
 * tv_inspect_next gives one item at a time, in tape order:
 *   FILE         a tape file's content header, its body decoded by type;
 *                a data or catalog file then gives its stream:
 *   FRAME_ERROR  a record or frame of the stream that does not read (err),
 *                the walk goes on with the next one;
 *   STREAM       the stream read to its end: what it held;
 *   EMPTY        an empty tape file (a filemark right away);
 *   BAD_FILE     a tape file whose first record does not read (err);
 *   END          end of data (cut_off: without a filemark after the last
 *                file). */
enum tv_inspect_kind {
	TV_INSPECT_FILE,
	TV_INSPECT_FRAME_ERROR,
	TV_INSPECT_STREAM,
	TV_INSPECT_EMPTY,
	TV_INSPECT_BAD_FILE,
	TV_INSPECT_END,
};

struct tv_inspect_stream {
	uint64_t records;            /* data records read */
	uint64_t frames;             /* frames whose headers read */
	uint64_t zstd_frames, sealed_frames;
	uint64_t raw_bytes;          /* the file's byte stream, before compression */
	uint64_t entry_frames;       /* frames where an entry (or catalog item) begins */
	int cont;                    /* the last entry continues in a later part */
	int truncated;               /* no END record: cut off */
};

struct tv_inspect_item {
	enum tv_inspect_kind kind;
	uint64_t file_no;            /* tape file (all but END) */
	int err;                     /* FRAME_ERROR, BAD_FILE: the code; tv_errmsg(err) says
	                              * what, until the next call */
	/* FILE */
	enum tv_content_type type;
	uint8_t content_uuid[TV_UUID_LEN];
	size_t body_len;
	int sealed;                  /* its first record carries a tag */
	/* the body decoded, for its type (NULL for other types, or when it does
	 * not decode); valid until the next call */
	const struct tv_volume_label *vol;
	const struct tv_media_set_label *ms;
	const struct tv_data_header *data;
	const struct tv_catalog_header *cat;
	/* STREAM */
	struct tv_inspect_stream stream;
	/* END */
	int cut_off;
};

struct tv_inspect;
/* Opens a tape image (read only). */
int tv_inspect_open(const char *path, struct tv_inspect **out);
/* 1 with the next item.  After END: 0 when every tape file read, or
 * TV_ERR_FORMAT naming how many did not.  Another error when the tape
 * cannot be read on (spacing past a file failed): the walk is over. */
int tv_inspect_next(struct tv_inspect *in, struct tv_inspect_item *it);
void tv_inspect_close(struct tv_inspect *in);   /* NULL-safe */

#endif
