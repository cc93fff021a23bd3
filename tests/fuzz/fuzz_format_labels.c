/* Fuzz target: content headers, label and header bodies, label files
 * (format v2, format.h and record.h).
 *
 * Input byte 0 selects the mode:
 *   bit 7 clear  the rest is a content header (TVC2): decoded, re-encoded
 *                byte for byte; its body (and the rest itself, to get past
 *                the CRC) goes to the volume label, media set label, data
 *                header and catalog header decoders.  Whatever decodes must
 *                re-encode to a form that decodes to the same structure,
 *                and key slot AADs must be computable.
 *   bit 7 set    the rest is a tape image (test_format_memtape.h: items
 *                "u8 kind | u24 length | bytes", kind 0 a filemark) read
 *                with tv_labels_read; a sealed media set label is then
 *                verified with the fixed DEK.  Bit 0: fix the record and
 *                content header CRCs of every record first.
 *
 * Fixed key material (the seeds in corpus/fuzz_format_labels use it): DEK
 * bytes 0x00..0x1f.  Errors are fine; crashes, sanitizer reports and broken
 * round trips are not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "../unit/test_format_memtape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "broken: %s (%s:%d)\n", #c, \
	__FILE__, __LINE__); abort(); } } while (0)

static void bodies(const uint8_t *p, size_t n)
{
	static struct tv_media_set_label ms, ms2;
	struct tv_volume_label vl, vl2;
	struct tv_data_header dh, dh2;
	struct tv_catalog_header cat, cat2;
	struct tv_buf b;
	uint8_t tape[TV_UUID_LEN] = { 1, 2, 3 };

	tv_buf_init(&b);
	if (tv_vol_label_decode(p, n, &vl) == 0) {
		CHECK(tv_vol_label_encode(&b, &vl) == 0);
		CHECK(tv_vol_label_decode(b.d, b.len, &vl2) == 0);
		CHECK(memcmp(&vl, &vl2, sizeof(vl)) == 0);
		CHECK(vl.record_size >= TV_RECORD_SIZE_MIN && vl.record_size <= TV_RECORD_SIZE_MAX);
	}
	tv_buf_reset(&b);
	if (tv_ms_label_decode(p, n, &ms) == 0) {
		CHECK(tv_ms_label_encode(&b, &ms) == 0);
		CHECK(tv_ms_label_decode(b.d, b.len, &ms2) == 0);
		/* the writer signature goes last when re-encoded (docs/FORMAT.md 9.4) */
		CHECK(ms.has_wsig == ms2.has_wsig);
		CHECK(!ms.has_wsig || (ms2.wsig_len == ms.wsig_len &&
		                       ms2.wsig_off + ms2.wsig_len == b.len));
		ms.wsig_off = ms2.wsig_off = 0;
		CHECK(memcmp(&ms, &ms2, sizeof(ms)) == 0);
		CHECK(ms.enc.nslots <= TV_MAX_SLOTS);
		for (size_t i = 0; i < ms.enc.nslots; i++) {
			struct tv_buf a, a2;
			struct tv_keyslot s = ms.enc.slots[i];
			tv_buf_init(&a);
			tv_buf_init(&a2);
			CHECK(tv_keyslot_aad(&a, tape, &ms.enc.slots[i]) == 0);
			/* the AAD does not depend on the wrapped key or its IV */
			memset(s.wrapped, 0, sizeof(s.wrapped));
			memset(s.iv, 0, sizeof(s.iv));
			CHECK(tv_keyslot_aad(&a2, tape, &s) == 0);
			CHECK(a.len == a2.len && memcmp(a.d, a2.d, a.len) == 0);
			tv_buf_free(&a);
			tv_buf_free(&a2);
		}
	}
	tv_buf_reset(&b);
	if (tv_data_header_decode(p, n, &dh) == 0) {
		CHECK(tv_data_header_encode(&b, &dh) == 0);
		CHECK(tv_data_header_decode(b.d, b.len, &dh2) == 0);
		CHECK(memcmp(&dh, &dh2, sizeof(dh)) == 0);
	}
	tv_buf_reset(&b);
	if (tv_catalog_header_decode(p, n, &cat) == 0) {
		CHECK(tv_catalog_header_encode(&b, &cat) == 0);
		CHECK(tv_catalog_header_decode(b.d, b.len, &cat2) == 0);
		CHECK(memcmp(&cat, &cat2, sizeof(cat)) == 0);
	}
	tv_buf_free(&b);
}

static void structures(const uint8_t *data, size_t size)
{
	struct tv_content_header ch;

	if (tv_hdr_decode(data, size, &ch) == 0) {
		CHECK(ch.body_len == size - TV_HDR_FIXED);
		CHECK(ch.body == data + TV_HDR_FIXED);
		CHECK(ch.type == tv_content_type_of(ch.magic));
		if (ch.type != TV_CT_UNKNOWN) {
			struct tv_content_header ch2;
			struct tv_buf b;
			tv_buf_init(&b);
			CHECK(tv_hdr_encode(&b, ch.type, ch.uuid, ch.body, ch.body_len) == 0);
			CHECK(b.len == size && memcmp(b.d, data, size) == 0);
			CHECK(tv_hdr_decode(b.d, b.len, &ch2) == 0);
			tv_buf_free(&b);
		}
		bodies(ch.body, ch.body_len);
	}
	bodies(data, size);
}

static void fix_crcs(struct memtape *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mt_item *it = &m->it[i];
		if (it->data == NULL || it->len < TV_REC_HDR)
			continue;
		if (it->len >= TV_REC_HDR + TV_HDR_FIXED) {
			uint8_t *h = it->data + TV_REC_HDR;
			size_t bl = tv_get_be32(h + 32);
			if (bl <= it->len - TV_REC_HDR - TV_HDR_FIXED)
				tv_put_be32(h + 36, tv_crc32c(tv_crc32c(0, h, 36), h + TV_HDR_FIXED, bl));
		}
		mt_fix_rec_crc(m, i);
	}
}

static void tape(int fix, const uint8_t *p, size_t n)
{
	static uint8_t dek[32];
	struct memtape *m = memtape_new();
	struct tv_tape_labels l;
	int rc;

	for (int i = 0; i < 32; i++)
		dek[i] = (uint8_t)i;
	mt_load(m, p, n);
	if (fix)
		fix_crcs(m);
	rc = tv_labels_read(&m->base, "FUZZ00L9", &l, 1);
	if (rc == 0) {
		CHECK(l.vol_hdr != NULL && l.vol_hdr_len >= TV_HDR_FIXED);
		CHECK(memcmp(l.vol_hdr + 16, l.vol.tape_uuid, TV_UUID_LEN) == 0);
		CHECK(!l.has_ms || (l.ms_rec != NULL && l.ms_rec_len >= TV_REC_HDR + TV_HDR_FIXED));
		if (l.has_ms && l.ms.has_wsig) {
			/* the writer signature's message (docs/FORMAT.md 9.4), and its check */
			struct tv_buf msg;
			tv_buf_init(&msg);
			CHECK(tv_labels_signed_msg(&l, &msg) == 0);
			CHECK(msg.len >= 28 + 4 + TV_HDR_FIXED + 16 + 4);
			(void)tv_identity_verify_raw(l.ms.wsig.pub, msg.d, msg.len, l.ms.wsig.sig);
			tv_buf_free(&msg);
		}
		rc = tv_labels_verify(&l, "FUZZ00L9", dek);
		if (rc == 0)
			CHECK(l.has_ms && l.ms_sealed);
		tv_labels_free(&l);
	}
	tv_tape_close(&m->base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		tape(data[0] & 1, data + 1, size - 1);
	else
		structures(data + 1, size - 1);
	tv_errclear();
	return 0;
}
