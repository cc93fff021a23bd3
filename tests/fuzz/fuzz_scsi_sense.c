/* Fuzz target: sense data from a device (src/scsi/sense.c), fixed and
 * descriptor format.  Checks, beyond "no crash": what decodes describes
 * itself, and fixed-format sense built from what was decoded decodes to
 * the same key, ASC/ASCQ, stream bits and information. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "scsi/scsi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_sense s, t;
	uint8_t b[32];
	char text[256];
	size_t n;

	if (tv_sense_decode(data, size, &s) != 0) {
		CHECK(!s.valid);
		return 0;
	}
	CHECK(s.valid && s.key <= 0x0F);
	CHECK(tv_sense_describe(&s, text, sizeof(text)) == text && text[0] != '\0');
	n = tv_sense_build_fixed(b, s.key, s.asc, s.ascq, s.filemark, s.eom, s.ili, s.info_valid,
	                         (int32_t)s.info);
	CHECK(tv_sense_decode(b, n, &t) == 0);
	CHECK(t.key == s.key && t.asc == s.asc && t.ascq == s.ascq);
	CHECK(t.filemark == s.filemark && t.eom == s.eom && t.ili == s.ili);
	CHECK(t.info_valid == s.info_valid && t.info == (int32_t)s.info);
	return 0;
}
