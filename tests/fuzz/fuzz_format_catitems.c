/* Fuzz target: catalog items and entry headers (format v2, format.h).
 *
 * The input is decoded three ways:
 *   - as a catalog file's byte stream, arriving in pieces of 1..64 bytes
 *     (byte 0 says how big) so that the "need more bytes" paths run, item
 *     by item until the first error;
 *   - as a data file's byte stream: entry header, its data, the next entry
 *     header, ... until the first error;
 *   - as one entry header at the start.
 * Whatever decodes must re-encode, and the re-encoding must decode to the
 * same structure (an entry's sparse map and xattr list compared by
 * content: they point into the decoded bytes).  Errors are fine; crashes,
 * sanitizer reports, broken round trips and reads past the input are
 * not. */
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

/* The same entry: the map and xattr list by content, the rest by bytes. */
static int same_entry(const struct tv_entry *a, const struct tv_entry *b)
{
	static struct tv_entry x, y;

	if ((a->sparse == NULL) != (b->sparse == NULL) || a->sparse_len != b->sparse_len ||
	    (a->sparse_len && memcmp(a->sparse, b->sparse, a->sparse_len) != 0) ||
	    a->xattrs_len != b->xattrs_len ||
	    (a->xattrs_len && memcmp(a->xattrs, b->xattrs, a->xattrs_len) != 0))
		return 0;
	x = *a;
	y = *b;
	x.sparse = y.sparse = NULL;
	x.xattrs = y.xattrs = NULL;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static size_t member_size(enum tv_cat_item t)
{
	switch (t) {
	case TV_CI_TAPE: return sizeof(struct tv_ci_tape);
	case TV_CI_SET: return sizeof(struct tv_ci_set);
	case TV_CI_ENTRY: return sizeof(struct tv_ci_entry);
	case TV_CI_KEYRING: return sizeof(struct tv_ci_keyring);
	case TV_CI_DATA: return sizeof(struct tv_ci_data);
	case TV_CI_PROBLEM: return sizeof(struct tv_ci_problem);
	case TV_CI_DELETED: return sizeof(struct tv_ci_deleted);
	case TV_CI_WRITER: return sizeof(struct tv_wsig);
	case TV_CI_END: return sizeof(uint64_t);
	}
	return 0;
}

static void roundtrip_item(void)
{
	struct tv_buf b;
	size_t used;

	if (member_size(it.type) == 0)
		return;   /* an unknown type: returned without content */
	tv_buf_init(&b);
	CHECK(tv_cat_item_encode(&b, &it) == 0);
	memset(&it2, 0x55, sizeof(it2));
	CHECK(tv_cat_item_decode(b.d, b.len, &it2, &used) == 0);
	CHECK(used == b.len);
	CHECK(it2.type == it.type);
	if (it.type == TV_CI_ENTRY)
		CHECK(same_entry(&it.u.entry.e, &it2.u.entry.e) &&
		      memcmp(&it.u.entry.loc, &it2.u.entry.loc, sizeof(it.u.entry.loc)) == 0);
	else
		CHECK(memcmp(&it.u, &it2.u, member_size(it.type)) == 0);
	tv_buf_free(&b);
}

static void roundtrip_entry(void)
{
	struct tv_buf o;
	size_t used, need;

	tv_buf_init(&o);
	CHECK(tv_entry_encode(&o, &e) == 0);
	CHECK(o.len - TV_ENTRY_HDR <= TV_ENTRY_MAX);
	CHECK(tv_entry_decode(o.d, o.len, &e2, &used, &need) == 0);
	CHECK(used == o.len && need == o.len);
	CHECK(same_entry(&e, &e2));
	/* what decodes satisfies the rules the encoder enforces */
	CHECK(e.path[0] != '\0' && e.path[0] != '/');
	CHECK(e.ftype >= TV_FT_REG && e.ftype <= TV_FT_LAST);
	CHECK(e.part >= 1);
	CHECK(e.ftype != TV_FT_REG || (e.offset <= tv_entry_data_size(&e) &&
	                               e.length == tv_entry_data_size(&e) - e.offset));
	CHECK(e.ftype == TV_FT_REG || e.length == 0);
	CHECK(!(e.flags & TV_EF_SPARSE) == (e.sparse == NULL));
	CHECK(e.xattrs_len == 0 || tv_xattr_list_check(e.xattrs, e.xattrs_len) == 0);
	tv_buf_free(&o);
}

static void catalog_stream(const uint8_t *data, size_t size)
{
	size_t have = 0, off = 0, step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;

	for (;;) {
		size_t used = 99;
		int r;
		memset(&it, 0xee, sizeof(it));   /* decode must set what it returns */
		r = tv_cat_item_decode(data + off, have - off, &it, &used);
		if (r == 0) {
			CHECK(used >= 5 && used <= have - off);
			CHECK(used - 5 == ((size_t)data[off + 1] << 24 | (size_t)data[off + 2] << 16 |
			                   (size_t)data[off + 3] << 8 | data[off + 4]));
			CHECK((int)it.type == data[off]);
			roundtrip_item();
			off += used;
			continue;
		}
		CHECK(used == 0);
		if (r != TV_ERR_EOF || have == size)
			break;
		have += step < size - have ? step : size - have;
	}
}

static void data_stream(const uint8_t *data, size_t size)
{
	size_t off = 0;

	for (int k = 0; k < 10000 && off < size; k++) {
		size_t used = 99, need = 0;
		int r = tv_entry_decode(data + off, size - off, &e, &used, &need);
		if (r == TV_ERR_EOF) {
			CHECK(used == 0 && need > size - off);
			CHECK(need <= TV_ENTRY_HDR + TV_ENTRY_MAX);
			break;
		}
		if (r != 0) {
			CHECK(used == 0);
			break;
		}
		CHECK(used >= TV_ENTRY_HDR && used <= size - off && need == used);
		roundtrip_entry();
		off += used;
		if (e.length > size - off)
			break;
		off += (size_t)e.length;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	catalog_stream(data, size);
	data_stream(data, size);
	if (size > 0)
		data_stream(data + 1, size - 1);
	tv_errclear();
	return 0;
}
