/* Fuzz target: records, alone and as a tape.
 *
 * Input byte 0 selects the mode:
 *   bit 0      recompute the record CRC before opening (gets the fuzzer past
 *              the checksum into header checks and AES-GCM)
 *   bits 1-2   key state: 0 none given, 1 plaintext expected, 2 the fixed
 *              key below, 3 checksums only
 *   bit 7      tape mode: the rest is a tape, items "u8 kind | u16 length |
 *              bytes" (kind 0 = filemark, else a record), read with
 *              tv_treader file by file
 * Otherwise the rest is one record: tv_rec_hdr_decode, then tv_rec_open
 * expecting the file number and sequence the header claims.
 *
 * Fixed key material (the seeds in corpus/fuzz_format_records use it):
 * DEK bytes 0x00..0x1f, tape UUID bytes 0xa0..0xaf, content UUID (record
 * mode) bytes 0xc0..0xcf. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/record_int.h"
#include "util/err.h"

#include "../unit/test_format_memtape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "broken: %s (%s:%d)\n", #c, \
	__FILE__, __LINE__); abort(); } } while (0)

static uint8_t dek[32], tape_uuid[16], content_uuid[16];
static struct tv_rec_crypto crypto;
static int ready;

static void init(void)
{
	for (int i = 0; i < 32; i++)
		dek[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++) {
		tape_uuid[i] = (uint8_t)(0xa0 + i);
		content_uuid[i] = (uint8_t)(0xc0 + i);
	}
	if (tv_rec_crypto_init(&crypto) != 0 ||
	    tv_rec_crypto_key(&crypto, 0, dek, tape_uuid, content_uuid) != 0)
		abort();
	ready = 1;
}

static void one_record(int mode, const uint8_t *p, size_t n)
{
	static const enum tv_key_state ks[] = { TV_KEY_UNSET, TV_KEY_NONE, TV_KEY_SET,
	                                        TV_KEY_CRC_ONLY };
	struct tv_rec_where w = { "FUZZ00L9", 0, 0 };
	struct tv_rec_hdr h;
	uint8_t *buf = malloc(n ? n : 1), *d;
	size_t dl;

	if (buf == NULL)
		abort();
	if (n > 0)
		memcpy(buf, p, n);
	if (tv_rec_hdr_decode(buf, n, &h) == 0)
		CHECK((size_t)h.payload_len + TV_REC_HDR == n);
	if ((mode & 1) && n >= TV_REC_HDR)
		tv_put_be32(buf + 24, tv_rec_crc(buf, n - TV_REC_HDR));
	if (n >= 24) {
		w.file_no = tv_get_be32(buf + 12);
		w.seq = tv_get_be64(buf + 16);
	}
	if (tv_rec_open(&crypto, ks[(mode >> 1) & 3], &w, buf, n, -1, &h, &d, &dl) == 0) {
		CHECK(d >= buf + TV_REC_HDR && d + dl <= buf + n);
		CHECK(dl <= n - TV_REC_HDR);
	}
	free(buf);
}

static void tape(int mode, const uint8_t *p, size_t n)
{
	struct memtape *m = memtape_new();
	struct tv_treader *r;
	struct tv_content_header ch;
	uint8_t out[3000];
	uint64_t fno;
	size_t off = 0, got;

	/* the tape image */
	while (off + 3 <= n) {
		size_t len = (size_t)p[off + 1] << 8 | p[off + 2];
		int fm = p[off] == 0;
		off += 3;
		if (fm) {
			mt_append(m, NULL, 0, 1);
			continue;
		}
		if (len > n - off)
			len = n - off;
		if (len == 0)
			continue;
		mt_append(m, p + off, len, 0);
		off += len;
	}
	m->pos = 0;
	if (tv_treader_open(&r, &m->base, "FUZZ00L9", tape_uuid, TV_RECORD_SIZE_MIN) != 0)
		abort();
	for (int files = 0; files < 64; files++) {
		int rc = tv_treader_begin_file(r, &ch, &fno);
		if (rc == TV_ERR_EOD)
			break;
		if (rc == 0) {
			switch ((mode >> 1) & 3) {
			case 1: rc = tv_treader_set_dek(r, NULL); break;
			case 2: rc = tv_treader_set_dek(r, dek); break;
			case 3: tv_treader_set_crc_only(r, 1); break;
			}
			CHECK(rc == 0);
			for (int k = 0; k < 1000; k++) {
				rc = tv_treader_read(r, out, (size_t)(k % 7) * 500 + 1, &got);
				if (rc != 0 || got == 0)
					break;
			}
		}
		if (tv_treader_end_file(r) != 0)
			break;
	}
	tv_treader_close(r);
	tv_tape_close(&m->base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		init();
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		tape(data[0], data + 1, size - 1);
	else
		one_record(data[0], data + 1, size - 1);
	tv_errclear();
	return 0;
}
