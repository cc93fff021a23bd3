/* tapevault: entry headers and catalog stream items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/format.h"
#include "util/err.h"

static void fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static void sample_entry(struct tv_entry *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->path, "srv/backups/job1/vm-100.tvb");
	e->ftype = TV_FT_REG;
	e->mode = 0100640;
	e->uid = 1000;
	e->gid = 100;
	e->mtime_sec = -86400;         /* before 1970: negative */
	e->mtime_nsec = 999999999;
	e->size = 5ull << 40;
	e->offset = 3ull << 40;
	e->flags = TV_EF_INNER_ENCRYPTED;
}

static void test_entry_roundtrip(void **state)
{
	struct tv_entry *e = calloc(1, sizeof(*e)), *e2 = calloc(1, sizeof(*e2));
	struct tv_buf b, r;
	(void)state;

	sample_entry(e);
	tv_buf_init(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_memory_equal(b.d, "TVE1", 4);
	assert_int_equal(tv_get_be32(b.d + 4), b.len - 8);
	/* followed by data bytes: decode stops at the entry's end */
	assert_int_equal(tv_buf_put(&b, "DATA", 4), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_entry_decode(&r, e2), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	assert_int_equal(tv_buf_avail(&r), 4);
	/* every truncation: "need more bytes", position unchanged */
	for (size_t n = 0; n < b.len - 4; n++) {
		tv_buf_view(&r, b.d, n);
		assert_int_equal(tv_entry_decode(&r, e2), TV_ERR_EOF);
		assert_int_equal(r.off, 0);
	}
	/* symlink with its target; maximal paths */
	sample_entry(e);
	e->ftype = TV_FT_SYMLINK;
	strcpy(e->link, "/etc/../target with spaces");
	memset(e->path, 'a', TV_PATH_MAX - 1);
	e->path[TV_PATH_MAX - 1] = '\0';
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_entry_decode(&r, e2), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	memset(e->link, 'b', TV_PATH_MAX - 1);
	e->link[TV_PATH_MAX - 1] = '\0';
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_true(b.len - 8 <= TV_ENTRY_MAX);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_entry_decode(&r, e2), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	tv_buf_free(&b);
	free(e);
	free(e2);
}

static int entry_with_path(const char *path, int ftype, struct tv_entry *out)
{
	struct tv_buf b, r;
	int rc;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, "TVE1\0\0\0\0", 8), 0);
	assert_int_equal(tv_tlv_put_str(&b, 1, path), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 2, (uint64_t)ftype), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 8, 0), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 9, 0), 0);
	tv_put_be32(b.d + 4, (uint32_t)(b.len - 8));
	tv_buf_view(&r, b.d, b.len);
	rc = tv_entry_decode(&r, out);
	tv_buf_free(&b);
	return rc;
}

static void test_entry_hostile(void **state)
{
	struct tv_entry *e = calloc(1, sizeof(*e));
	struct tv_buf b, r;
	(void)state;

	assert_int_equal(entry_with_path("a/b", TV_FT_REG, e), 0);
	assert_int_equal(entry_with_path(".", TV_FT_DIR, e), 0);
	assert_int_equal(entry_with_path("a/..b/c..", TV_FT_REG, e), 0);
	assert_int_equal(entry_with_path("", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_int_equal(entry_with_path("/etc/passwd", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "absolute"));
	assert_int_equal(entry_with_path("..", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_int_equal(entry_with_path("a/../../etc", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), ".."));
	assert_int_equal(entry_with_path("a/..", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_int_equal(entry_with_path("a", 4, e), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "ftype"));
	assert_int_equal(entry_with_path("a", TV_FT_SYMLINK, e), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "link"));

	/* bad magic, oversize length */
	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, "TVE2\0\0\0\0", 8), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_entry_decode(&r, e), TV_ERR_FORMAT);
	memcpy(b.d, "TVE1", 4);
	tv_put_be32(b.d + 4, TV_ENTRY_MAX + 1);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_entry_decode(&r, e), TV_ERR_FORMAT);
	/* unknown entry flags change the data's meaning: refused */
	sample_entry(e);
	e->flags = 0x80;
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
	assert_int_equal(b.len, 0);
	/* encoder refuses what the decoder would */
	sample_entry(e);
	strcpy(e->path, "../x");
	assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
	assert_int_equal(b.len, 0);
	tv_buf_free(&b);
	free(e);
}

static void sample_items(struct tv_cat_item_v *v, size_t *n)
{
	size_t k = 0;

	memset(v, 0, 6 * sizeof(*v));
	v[k].type = TV_CI_TAPE;
	fill(v[k].u.tape.tape_uuid, 16, 1);
	strcpy(v[k].u.tape.barcode, "VT0001L9");
	v[k].u.tape.seq = 1;
	strcpy(v[k].u.tape.pool_name, "daily");
	fill(v[k].u.tape.pool_uuid, 16, 2);
	fill(v[k].u.tape.media_set_uuid, 16, 3);
	fill(v[k].u.tape.dek_fpr, 16, 4);
	k++;
	v[k].type = TV_CI_SET;
	fill(v[k].u.set.set_uuid, 16, 5);
	strcpy(v[k].u.set.name, "job1 2024-03-13 02:00");
	v[k].u.set.created = 1710295200;
	v[k].u.set.first_seq = 1;
	v[k].u.set.last_seq = 2;
	v[k].u.set.complete = 1;
	v[k].u.set.nfiles = 10;
	v[k].u.set.nbytes = 1ull << 35;
	k++;
	v[k].type = TV_CI_PART;
	fill(v[k].u.part.tape_uuid, 16, 1);
	v[k].u.part.file_no = 7;
	fill(v[k].u.part.content_uuid, 16, 6);
	fill(v[k].u.part.set_uuid, 16, 5);
	v[k].u.part.file_index = 3;
	v[k].u.part.part_no = 2;
	v[k].u.part.last_part = 1;
	v[k].u.part.records = 4000;
	v[k].u.part.length = 1ull << 30;
	v[k].u.part.crc = 0xdeadbeef;
	sample_entry(&v[k].u.part.e);
	k++;
	v[k].type = TV_CI_KEYRING;
	fill(v[k].u.ring.tape_uuid, 16, 9);
	fill(v[k].u.ring.dek_fpr, 16, 10);
	fill(v[k].u.ring.dek, 32, 11);
	k++;
	v[k].type = TV_CI_END;
	v[k].u.end_count = 4;
	k++;
	*n = k;
}

static void test_items_roundtrip(void **state)
{
	struct tv_cat_item_v *v = calloc(6, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_buf b, r;
	size_t n, ends[6];
	(void)state;

	sample_items(v, &n);
	tv_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(tv_cat_item_encode(&b, &v[i]), 0);
		ends[i] = b.len;
	}
	tv_buf_view(&r, b.d, b.len);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(tv_cat_item_decode(&r, got), 0);
		assert_int_equal(got->type, v[i].type);
		assert_memory_equal(got, &v[i], sizeof(*got));
		assert_int_equal(r.off, ends[i]);
	}
	assert_int_equal(tv_cat_item_decode(&r, got), TV_ERR_EOF);
	/* any cut inside an item: need more bytes, position unchanged */
	for (size_t cut = 0; cut < b.len; cut++) {
		size_t start = 0;
		for (size_t i = 0; i < n && ends[i] <= cut; i++)
			start = ends[i];
		tv_buf_view(&r, b.d, cut);
		r.off = start;
		assert_int_equal(tv_cat_item_decode(&r, got), TV_ERR_EOF);
		assert_int_equal(r.off, start);
	}
	tv_buf_free(&b);
	free(v);
	free(got);
}

static void test_items_hostile(void **state)
{
	struct tv_cat_item_v *v = calloc(6, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_buf b, r, body;
	size_t n;
	(void)state;

	sample_items(v, &n);
	tv_buf_init(&b);
	tv_buf_init(&body);
	/* an unknown item type is returned as such and skipped */
	assert_int_equal(tv_buf_put_u8(&b, 200), 0);
	assert_int_equal(tv_buf_put_u32(&b, 3), 0);
	assert_int_equal(tv_buf_put(&b, "xyz", 3), 0);
	assert_int_equal(tv_cat_item_encode(&b, &v[4]), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_cat_item_decode(&r, got), 0);
	assert_int_equal((int)got->type, 200);
	assert_int_equal(tv_cat_item_decode(&r, got), 0);
	assert_int_equal(got->type, TV_CI_END);
	assert_int_equal(got->u.end_count, 4);
	/* oversize item */
	tv_buf_reset(&b);
	assert_int_equal(tv_buf_put_u8(&b, TV_CI_SET), 0);
	assert_int_equal(tv_buf_put_u32(&b, 1u << 20), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_cat_item_decode(&r, got), TV_ERR_FORMAT);
	/* a part without its entry */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, v[2].u.part.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_u64(&body, 2, 7), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 3, v[2].u.part.content_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 4, v[2].u.part.set_uuid, 16), 0);
	for (uint16_t t = 5; t <= 10; t++)
		assert_int_equal(tv_tlv_put_u64(&body, t, t == 6 ? 1 : 0), 0);
	assert_int_equal(tv_buf_put_u8(&b, TV_CI_PART), 0);
	assert_int_equal(tv_buf_put_string(&b, body.d, body.len), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_cat_item_decode(&r, got), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "entry"));
	assert_int_equal(r.off, 0);
	/* crc wider than 32 bits */
	tv_buf_reset(&b);
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_u64(&body, 10, 1ull << 32), 0);
	assert_int_equal(tv_buf_put_u8(&b, TV_CI_PART), 0);
	assert_int_equal(tv_buf_put_string(&b, body.d, body.len), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_cat_item_decode(&r, got), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "crc"));
	/* keyring with a short key: refused, nothing left behind */
	tv_buf_reset(&b);
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, v[3].u.ring.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 2, v[3].u.ring.dek_fpr, 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 3, v[3].u.ring.dek, 31), 0);
	assert_int_equal(tv_buf_put_u8(&b, TV_CI_KEYRING), 0);
	assert_int_equal(tv_buf_put_string(&b, body.d, body.len), 0);
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_cat_item_decode(&r, got), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "dek"));
	for (size_t i = 0; i < sizeof(*got); i++)
		assert_int_equal(((uint8_t *)got)[i], 0);
	/* set with last_seq < first_seq */
	v[1].u.set.last_seq = 0;
	tv_buf_reset(&b);
	assert_int_equal(tv_cat_item_encode(&b, &v[1]), TV_ERR_INVAL);
	assert_int_equal(b.len, 0);
	/* unknown type refused by the encoder */
	v[0].type = (enum tv_cat_item)9;
	assert_int_equal(tv_cat_item_encode(&b, &v[0]), TV_ERR_INVAL);
	tv_buf_free(&b);
	tv_buf_free(&body);
	free(v);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_roundtrip),
		cmocka_unit_test(test_entry_hostile),
		cmocka_unit_test(test_items_roundtrip),
		cmocka_unit_test(test_items_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
