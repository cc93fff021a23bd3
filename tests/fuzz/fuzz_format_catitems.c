/* Fuzz target: the catalog item stream and entry headers.
 *
 * The input is decoded as a stream of catalog items (as the catalog job
 * reads them, fed in pieces so that "need more bytes" paths run) and as an
 * entry header.  Every decoded item must re-encode to a form that decodes
 * to the same item.  Errors are fine; crashes, sanitizer reports, broken
 * round trips and reads past the input are not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "broken: %s (%s:%d)\n", #c, \
	__FILE__, __LINE__); abort(); } } while (0)

static struct tv_cat_item_v it, it2;
static struct tv_entry e, e2;

static void roundtrip_item(void)
{
	struct tv_buf b, r;

	if (it.type < TV_CI_TAPE || it.type > TV_CI_END)
		return;   /* unknown type: returned without content */
	tv_buf_init(&b);
	CHECK(tv_cat_item_encode(&b, &it) == 0);
	tv_buf_view(&r, b.d, b.len);
	CHECK(tv_cat_item_decode(&r, &it2) == 0);
	CHECK(tv_buf_avail(&r) == 0);
	CHECK(memcmp(&it, &it2, sizeof(it)) == 0);
	tv_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_buf b;
	size_t have = 0, step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	int r;

	/* a stream arriving in pieces */
	tv_buf_init_max(&b, 1u << 24);
	for (;;) {
		size_t save = b.off;
		memset(&it, 0xee, sizeof(it));   /* decode must set what it returns */
		r = tv_cat_item_decode(&b, &it);
		if (r == 0) {
			CHECK(b.off > save);
			roundtrip_item();
			continue;
		}
		CHECK(b.off == save);
		if (r != TV_ERR_EOF || have == size)
			break;
		{
			size_t k = step < size - have ? step : size - have;
			CHECK(tv_buf_put(&b, data + have, k) == 0);
			have += k;
		}
	}
	tv_buf_free(&b);

	/* an entry header at the start of a record stream */
	tv_buf_view(&b, data, size);
	if (tv_entry_decode(&b, &e) == 0) {
		struct tv_buf o, r2;
		CHECK(b.off <= size);
		tv_buf_init(&o);
		CHECK(tv_entry_encode(&o, &e) == 0);
		tv_buf_view(&r2, o.d, o.len);
		CHECK(tv_entry_decode(&r2, &e2) == 0);
		CHECK(memcmp(&e, &e2, sizeof(e)) == 0);
		tv_buf_free(&o);
	}
	tv_errclear();
	return 0;
}
