/* Fuzz target: what a medium changer returns (src/scsi/data.c): READ
 * ELEMENT STATUS data and the element address assignment page.  Checks,
 * beyond "no crash": the elements decoded, built again (as the emulator
 * builds them) and decoded, are the same elements. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/data.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s\n", #c); abort(); } } while (0)

static void round_trip(const struct tv_element *e, size_t n)
{
	struct tv_element *e2 = NULL;
	struct tv_buf b;
	size_t n2;
	int more;

	/* the builder groups runs of a type: any order of types is fine */
	tv_buf_init(&b);
	if (tv_scsi_build_element_status(&b, e, n, 1) == 0) {
		CHECK(tv_scsi_parse_element_status(tv_buf_ptr(&b), tv_buf_avail(&b), &e2, &n2,
		                                   &more, 100000) == 0);
		CHECK(n2 == n && !more);
		for (size_t i = 0; i < n; i++) {
			CHECK(e2[i].type == e[i].type && e2[i].addr == e[i].addr);
			CHECK(e2[i].full == e[i].full && e2[i].except == e[i].except);
			CHECK(e2[i].svalid == e[i].svalid && e2[i].source == e[i].source);
			CHECK(strcmp(e2[i].voltag, e[i].voltag) == 0);
		}
		free(e2);
	}
	tv_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_element *e = NULL;
	struct tv_element_map em;
	struct tv_mode6 m;
	size_t n = 0;
	int more = 0;

	if (size > (1u << 20))
		return 0;
	if (tv_scsi_parse_element_status(data, size, &e, &n, &more, 4096) == 0) {
		CHECK(n == 0 || e != NULL);
		for (size_t i = 0; i < n; i++) {
			CHECK(e[i].type >= TV_ELEM_TRANSPORT && e[i].type <= TV_ELEM_DATA_TRANSFER);
			CHECK(strlen(e[i].voltag) <= TV_VOLTAG_LEN);
		}
		round_trip(e, n);
		free(e);
	} else {
		CHECK(e == NULL);
	}
	if (tv_scsi_parse_mode6(data, size, &m) == 0) {
		CHECK(m.pages_off + m.pages_len <= size);
		(void)tv_scsi_parse_element_map(data + m.pages_off, m.pages_len, &em);
	}
	(void)tv_scsi_parse_element_map(data, size, &em);
	return 0;
}
