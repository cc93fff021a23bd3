/* Fuzz target: records, frames and the record 0 tag (format v2, record.h).
 *
 * Input byte 0 selects the mode (bits 0-1) and options:
 *   mode 0  a record: tv_rec_hdr_decode (its decoded header must re-encode
 *           to the same 32 bytes), then its payload: record 0's content
 *           header (and, when sealed, its tag under the fixed key), or a
 *           data record's frames from its first frame offset on, each
 *           opened with tv_frame_open
 *   mode 1  one frame: its header (TV_FRAME_HDR bytes), then the stored
 *           bytes; opened, and
 *           what opens is sealed again and must open to the same bytes
 *   mode 2  a seal-and-tamper property: byte 1 frame flags, bytes 2-3 the
 *           position of one byte to flip (in header || stored bytes),
 *           byte 4 the XOR mask, the rest raw bytes; the frame is sealed,
 *           must open, and once flipped must not open when sealed
 *   mode 3  like mode 0, then like mode 1 on the same bytes
 *   bit 2   fix up checksums first (record CRC; raw CRC of a stored
 *           plaintext frame; content header CRC), so the fuzzer gets past
 *           them into the structure and AES-GCM checks
 *   bit 3   the fixed key (sealed frames and record 0 tags), else none
 *   bit 4   mode 2: zstd
 *
 * Fixed key material (the seeds in corpus/fuzz_format_records use it):
 * DEK bytes 0x00..0x1f, tape UUID bytes 0xa0..0xaf, content UUID bytes
 * 0xc0..0xcf (frames are opened with the file key of that content UUID).
 * Errors are fine; crashes, sanitizer reports and broken invariants are
 * not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "broken: %s (%s:%d)\n", #c, \
	__FILE__, __LINE__); abort(); } } while (0)

static uint8_t dek[32], tape_uuid[16], content_uuid[16], file_key[32];
static struct tv_fcodec codec;
static int ready;

static void init(void)
{
	for (int i = 0; i < 32; i++)
		dek[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++) {
		tape_uuid[i] = (uint8_t)(0xa0 + i);
		content_uuid[i] = (uint8_t)(0xc0 + i);
	}
	if (tv_fcodec_init(&codec) != 0 ||
	    tv_file_key(&codec, file_key, dek, content_uuid) != 0)
		abort();
	ready = 1;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

/* Opens one frame (header hdr, stored bytes p of at least h->stored_len)
 * from copies of exactly the sizes the header gives; returns the raw bytes
 * (malloc'd) or NULL. */
static uint8_t *open_frame(const uint8_t hdr[TV_FRAME_HDR], const struct tv_frame_hdr *h,
                           const uint8_t *p, const uint8_t *key, int *rc)
{
	uint8_t *st = xmalloc(h->stored_len), *out = xmalloc(h->raw_len), *copy = NULL;
	const uint8_t *raw = NULL;

	memcpy(st, p, h->stored_len);
	*rc = tv_frame_open(&codec, key, tape_uuid, h, hdr, st, out, &raw);
	if (*rc == 0) {
		CHECK(raw == st || raw == out);
		CHECK(key == NULL || (h->flags & TV_FF_SEALED));
		CHECK(key != NULL || !(h->flags & TV_FF_SEALED));
		if (!(h->flags & TV_FF_SEALED))
			CHECK(tv_crc32c(0, raw, h->raw_len) == h->crc);
		copy = xmalloc(h->raw_len);
		memcpy(copy, raw, h->raw_len);
	} else {
		CHECK(raw == NULL);
	}
	free(st);
	free(out);
	return copy;
}

/* A frame that opened seals again (same method family, same key) and
 * opens to the same bytes; its header fields survive encode/decode. */
static void reseal(const struct tv_frame_hdr *h, const uint8_t *raw, const uint8_t *key)
{
	struct tv_compression comp = { h->method == TV_COMP_ZSTD ? TV_COMP_ZSTD
	                               : TV_COMP_STORED, 1 };
	struct tv_frame_hdr h2, d;
	uint8_t hdr[TV_FRAME_HDR] = { 0 }, *out = xmalloc(tv_frame_stored_bound(h->raw_len));
	const uint8_t *stored;
	uint8_t *again;
	int rc;

	memset(&h2, 0, sizeof(h2));
	h2.flags = h->flags & (TV_FF_LAST | TV_FF_CONT);
	h2.first_entry = h->first_entry;
	h2.index = h->index;
	memcpy(h2.content_uuid, h->content_uuid, TV_UUID_LEN);
	CHECK(tv_frame_seal(&codec, &comp, key, tape_uuid, &h2, raw, h->raw_len, hdr, out,
	                    tv_frame_stored_bound(h->raw_len), &stored) == 0);
	CHECK(tv_frame_hdr_decode(hdr, &d) == 0);
	CHECK(d.flags == h->flags && d.raw_len == h->raw_len && d.index == h->index &&
	      d.first_entry == h->first_entry && d.stored_len == h2.stored_len &&
	      memcmp(d.content_uuid, h->content_uuid, TV_UUID_LEN) == 0);
	again = open_frame(hdr, &d, stored, key, &rc);
	CHECK(rc == 0 && again != NULL);
	CHECK(memcmp(again, raw, h->raw_len) == 0);
	free(again);
	free(out);
}

/* One frame at p (n bytes: header, then at least its stored bytes). */
static void one_frame(int opts, uint8_t *p, size_t n)
{
	const uint8_t *key = (opts & 8) ? file_key : NULL;
	struct tv_frame_hdr h;
	uint8_t *raw;
	int rc;

	if (n < TV_FRAME_HDR || tv_frame_hdr_decode(p, &h) != 0)
		return;
	if (h.stored_len > n - TV_FRAME_HDR)
		return;
	if ((opts & 4) && h.method == TV_COMP_STORED && !(h.flags & TV_FF_SEALED)) {
		tv_put_be32(p + 20, tv_crc32c(0, p + TV_FRAME_HDR, h.raw_len));
		CHECK(tv_frame_hdr_decode(p, &h) == 0);
	}
	raw = open_frame(p, &h, p + TV_FRAME_HDR, key, &rc);
	if (raw != NULL) {
		reseal(&h, raw, key);
		free(raw);
	}
}

static void one_record(int opts, uint8_t *p, size_t n)
{
	struct tv_rec_hdr h;
	uint8_t again[TV_REC_HDR];
	size_t pos;

	if ((opts & 4) && n >= TV_REC_HDR) {
		if (n >= TV_REC_HDR + TV_HDR_FIXED && memcmp(p + TV_REC_HDR, TV_HDR_MAGIC, 4) == 0) {
			uint8_t *ch = p + TV_REC_HDR;
			size_t bl = tv_get_be32(ch + 32);
			if (bl <= n - TV_REC_HDR - TV_HDR_FIXED)
				tv_put_be32(ch + 36, tv_crc32c(tv_crc32c(0, ch, 36), ch + TV_HDR_FIXED,
				                               bl));
		}
		tv_put_be32(p + 28, tv_rec_crc(p, n - TV_REC_HDR));
	}
	if (tv_rec_hdr_decode(p, n, &h) != 0)
		return;
	CHECK((size_t)h.payload_len + TV_REC_HDR == n);
	CHECK(!(h.flags & ~(TV_RF_END | TV_RF_CONT | TV_RF_SEALED)));
	CHECK(h.seq == 0 ? h.first_frame == 0 : (h.first_frame == TV_NO_OFFSET ||
	                                         h.first_frame < h.payload_len));
	tv_rec_hdr_encode(again, &h);
	CHECK(memcmp(again, p, TV_REC_HDR) == 0);
	if ((opts & 4))
		CHECK(tv_rec_crc(p, h.payload_len) == h.crc);

	if (h.seq == 0) {
		/* record 0: a content header, with its tag when sealed */
		struct tv_content_header ch;
		size_t hl = h.payload_len;
		if (h.flags & TV_RF_SEALED) {
			if (hl < TV_TAG_LEN)
				return;
			hl -= TV_TAG_LEN;
		}
		if (tv_hdr_decode(p + TV_REC_HDR, hl, &ch) != 0)
			return;
		CHECK(ch.body == p + TV_REC_HDR + TV_HDR_FIXED && ch.body_len == hl - TV_HDR_FIXED);
		if ((h.flags & TV_RF_SEALED) && (opts & 8)) {
			uint8_t k[32];
			CHECK(tv_file_key(&codec, k, dek, ch.uuid) == 0);
			(void)tv_hdr_tag(&codec, k, tape_uuid, p, p + TV_REC_HDR, hl, NULL, 0,
			                 p + TV_REC_HDR + hl, 1);
		}
		return;
	}
	/* a data record: the frames that begin in it and end in it */
	if (h.first_frame == TV_NO_OFFSET)
		return;
	pos = h.first_frame;
	for (int k = 0; k < 64 && h.payload_len - pos >= TV_FRAME_HDR; k++) {
		struct tv_frame_hdr fh;
		uint8_t *f = p + TV_REC_HDR + pos;
		if (tv_frame_hdr_decode(f, &fh) != 0 ||
		    fh.stored_len > h.payload_len - pos - TV_FRAME_HDR)
			break;
		one_frame(opts, f, TV_FRAME_HDR + fh.stored_len);
		pos += TV_FRAME_HDR + fh.stored_len;
	}
}

static void seal_and_tamper(int opts, const uint8_t *p, size_t n)
{
	struct tv_compression comp = { (opts & 16) ? TV_COMP_ZSTD : TV_COMP_STORED, 1 };
	const uint8_t *key = (opts & 8) ? file_key : NULL;
	struct tv_frame_hdr h, d;
	uint8_t hdr[TV_FRAME_HDR] = { 0 }, *out, *raw, *all;
	const uint8_t *stored;
	size_t flip, total;
	int rc;

	if (n < 4)
		return;
	memset(&h, 0, sizeof(h));
	h.flags = p[0] & (TV_FF_LAST | TV_FF_CONT);
	if ((h.flags & TV_FF_CONT) && !(h.flags & TV_FF_LAST))
		h.flags |= TV_FF_LAST;
	flip = (size_t)p[1] << 8 | p[2];
	h.index = p[1];
	p += 4;
	n -= 4;
	if (n > TV_FRAME_RAW_MAX)
		n = TV_FRAME_RAW_MAX;
	h.first_entry = n > 0 ? (uint32_t)(flip % n) : TV_NO_OFFSET;
	memcpy(h.content_uuid, content_uuid, TV_UUID_LEN);
	out = xmalloc(tv_frame_stored_bound(n));
	CHECK(tv_frame_seal(&codec, &comp, key, tape_uuid, &h, p, n, hdr, out,
	                    tv_frame_stored_bound(n), &stored) == 0);
	CHECK(tv_frame_hdr_decode(hdr, &d) == 0);
	CHECK(d.raw_len == n && d.stored_len == h.stored_len);
	CHECK(!!(d.flags & TV_FF_SEALED) == (key != NULL));
	raw = open_frame(hdr, &d, stored, key, &rc);
	CHECK(rc == 0 && raw != NULL && memcmp(raw, p, n) == 0);
	free(raw);
	/* one byte of header || stored bytes flipped */
	total = TV_FRAME_HDR + d.stored_len;
	all = xmalloc(total);
	memcpy(all, hdr, TV_FRAME_HDR);
	memcpy(all + TV_FRAME_HDR, stored, d.stored_len);
	all[flip % total] ^= p[-1] ? p[-1] : 1;
	if (tv_frame_hdr_decode(all, &d) == 0 && d.stored_len <= total - TV_FRAME_HDR) {
		raw = open_frame(all, &d, all + TV_FRAME_HDR, key, &rc);
		if (key != NULL)
			CHECK(raw == NULL);    /* every byte is authenticated */
		free(raw);
	}
	free(all);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	size_t n;

	if (!ready)
		init();
	if (size < 1)
		return 0;
	n = size - 1;
	p = xmalloc(n);
	if (n > 0)
		memcpy(p, data + 1, n);
	switch (data[0] & 3) {
	case 0: one_record(data[0], p, n); break;
	case 1: one_frame(data[0], p, n); break;
	case 2: seal_and_tamper(data[0], p, n); break;
	case 3:
		one_record(data[0], p, n);
		memcpy(p, data + 1, n);
		one_frame(data[0], p, n);
		break;
	}
	free(p);
	tv_errclear();
	return 0;
}
