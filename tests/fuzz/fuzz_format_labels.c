/* Fuzz target: content header and every label / header body decoder.
 *
 * The input is decoded as a content header record; its body (or, to get
 * past the CRC, the raw input itself) goes to the volume label, media set
 * label, file header and catalog header decoders.  Whatever decodes must
 * re-encode, and the re-encoding must decode to the same structure (the
 * canonical form is stable), and key slot AADs must be computable.  Errors
 * are fine; crashes, sanitizer reports and broken round trips are not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "broken: %s (%s:%d)\n", #c, \
	__FILE__, __LINE__); abort(); } } while (0)

static void bodies(const uint8_t *p, size_t n)
{
	static struct tv_media_set_label ms, ms2;
	struct tv_volume_label vl, vl2;
	struct tv_file_header fh, fh2;
	struct tv_catalog_header cat, cat2;
	struct tv_buf b;
	uint8_t tape[TV_UUID_LEN] = { 1, 2, 3 };

	tv_buf_init(&b);
	if (tv_vol_label_decode(p, n, &vl) == 0) {
		CHECK(tv_vol_label_encode(&b, &vl) == 0);
		CHECK(tv_vol_label_decode(b.d, b.len, &vl2) == 0);
		CHECK(memcmp(&vl, &vl2, sizeof(vl)) == 0);
	}
	tv_buf_reset(&b);
	if (tv_ms_label_decode(p, n, &ms) == 0) {
		CHECK(tv_ms_label_encode(&b, &ms) == 0);
		CHECK(tv_ms_label_decode(b.d, b.len, &ms2) == 0);
		CHECK(memcmp(&ms, &ms2, sizeof(ms)) == 0);
		for (size_t i = 0; i < ms.enc.nslots; i++) {
			struct tv_buf a;
			tv_buf_init(&a);
			CHECK(tv_keyslot_aad(&a, tape, &ms.enc.slots[i]) == 0);
			tv_buf_free(&a);
		}
	}
	tv_buf_reset(&b);
	if (tv_file_header_decode(p, n, &fh) == 0) {
		CHECK(tv_file_header_encode(&b, &fh) == 0);
		CHECK(tv_file_header_decode(b.d, b.len, &fh2) == 0);
		CHECK(memcmp(&fh, &fh2, sizeof(fh)) == 0);
	}
	tv_buf_reset(&b);
	if (tv_catalog_header_decode(p, n, &cat) == 0) {
		CHECK(tv_catalog_header_encode(&b, &cat) == 0);
		CHECK(tv_catalog_header_decode(b.d, b.len, &cat2) == 0);
		CHECK(memcmp(&cat, &cat2, sizeof(cat)) == 0);
	}
	tv_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_content_header ch;

	if (tv_ch_decode(data, size, &ch) == 0) {
		struct tv_buf b;
		CHECK(ch.body_len == size - TV_CH_FIXED);
		if (ch.type != TV_CT_UNKNOWN) {
			struct tv_content_header ch2;
			tv_buf_init(&b);
			CHECK(tv_ch_encode(&b, ch.type, ch.uuid, ch.body, ch.body_len) == 0);
			CHECK(b.len == size && memcmp(b.d, data, size) == 0);
			CHECK(tv_ch_decode(b.d, b.len, &ch2) == 0);
			tv_buf_free(&b);
		}
		bodies(ch.body, ch.body_len);
	}
	bodies(data, size);
	tv_errclear();
	return 0;
}
