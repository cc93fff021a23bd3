/* Fuzz target: what a tape drive returns (src/scsi/data.c): READ
 * POSITION (short and long), READ BLOCK LIMITS, INQUIRY and its serial
 * number page, MODE SENSE(6), the tape capacity log page.  Checks, beyond
 * "no crash": a decoded READ POSITION or capacity page builds back and
 * decodes to the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/data.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s\n", #c); abort(); } } while (0)

static void position(const uint8_t *data, size_t size, uint8_t form)
{
	struct tv_read_position rp, rp2;
	struct tv_buf b;

	if (tv_scsi_parse_read_position(data, size, form, &rp) != 0)
		return;
	tv_buf_init(&b);
	CHECK(tv_scsi_build_read_position(&b, form, &rp) == 0);
	CHECK(tv_scsi_parse_read_position(tv_buf_ptr(&b), tv_buf_avail(&b), form, &rp2) == 0);
	CHECK(rp2.bop == rp.bop && rp2.eop == rp.eop && rp2.bpew == rp.bpew);
	if (form == TV_RP_LONG)
		CHECK(rp2.object == rp.object && rp2.file_valid == rp.file_valid &&
		      rp2.file == rp.file);
	else
		CHECK(rp2.object == (uint32_t)rp.object);
	tv_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_block_limits bl;
	struct tv_scsi_inquiry q;
	struct tv_mode6 m;
	struct tv_tape_capacity c, c2;
	struct tv_buf b;
	char serial[64];

	position(data, size, TV_RP_SHORT);
	position(data, size, TV_RP_LONG);
	if (tv_scsi_parse_block_limits(data, size, &bl) == 0)
		CHECK(bl.max_len == 0 || bl.min_len <= bl.max_len);
	if (tv_scsi_parse_inquiry(data, size, &q) == 0)
		CHECK(strlen(q.vendor) <= 8 && strlen(q.product) <= 16 && strlen(q.revision) <= 4);
	if (tv_scsi_parse_serial(data, size, serial, sizeof(serial)) == 0)
		CHECK(strlen(serial) < sizeof(serial));
	if (tv_scsi_parse_mode6(data, size, &m) == 0)
		CHECK(m.pages_off + m.pages_len <= size);
	if (tv_scsi_parse_capacity_log(data, size, &c) == 0) {
		tv_buf_init(&b);
		CHECK(tv_scsi_build_capacity_log(&b, &c) == 0);
		CHECK(tv_scsi_parse_capacity_log(tv_buf_ptr(&b), tv_buf_avail(&b), &c2) == 0);
		CHECK(c2.remaining == c.remaining && c2.max == c.max);
		tv_buf_free(&b);
	}
	return 0;
}
