/* tapevault: the optional entry fields, tags 16-22 (docs/FORMAT.md 10.2,
 * 10.4, 10.5): device numbers, owner and group names, sparse maps and
 * xattr lists, with the new file types (FIFO, devices) and flags (SPARSE,
 * XATTR_DATA).  Layouts checked against TLV lists assembled here byte by
 * byte; round trips through entry headers and catalog entry items (tags
 * in ascending order, 16-22 before the location's 32-35); hostile input:
 * overlapping, unordered, empty and oversize map regions, maps past the
 * file, malformed xattr lists (names empty, too long or with a NUL,
 * values too long, fields missing or twice), fields on the wrong kind of
 * entry, flags without their field and fields without their flag, each
 * refused with a message naming the field; the encoder refusing the same;
 * the optional fields alone, as the catalog database keeps them;
 * the entry cursor keeping a header's map and xattr list valid while the
 * data moves on to later frames; and the seed inputs of the entry fuzz
 * target (tests/fuzz/corpus/fuzz_format_catitems/fsmeta_*), byte for
 * byte (TV_FORMAT_WRITE_SEEDS=1 rewrites them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/record_int.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

#define RS TV_RECORD_SIZE_MIN
#define T_CAT "fuzz_format_catitems"

static const uint8_t tape_uuid[16] = { 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16,
                                       0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16 };

#define ASSERT_DETAIL(s) do { if (strstr(tv_errdetail(), (s)) == NULL) \
	fail_msg("detail \"%s\" lacks \"%s\"", tv_errdetail(), (s)); } while (0)

/* ---- building entries ---- */

static struct tv_entry *new_entry(const char *path, enum tv_ftype t)
{
	struct tv_entry *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->ftype = t;
	e->mode = 0644;
	e->uid = 1001;
	e->gid = 1002;
	e->mtime_sec = 1700000000;
	e->mtime_nsec = 5;
	e->file_index = 3;
	e->part = 1;
	return e;
}

/* A sparse regular file of size bytes with the regions of map. */
static struct tv_entry *sparse_entry(const char *path, uint64_t size, const struct tv_buf *map)
{
	struct tv_entry *e = new_entry(path, TV_FT_REG);

	e->size = size;
	e->flags = TV_EF_SPARSE;
	e->sparse = tv_buf_avail(map) ? tv_buf_ptr(map) : (const uint8_t *)"";
	e->sparse_len = tv_buf_avail(map);
	e->length = tv_entry_data_size(e);
	return e;
}

static void map_of(struct tv_buf *m, const uint64_t *r, size_t n)
{
	tv_buf_reset(m);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tv_sparse_put(m, r[2 * i], r[2 * i + 1]), 0);
}

/* The same entry, the map and xattr list compared by content. */
static void assert_entry_same(const struct tv_entry *a, const struct tv_entry *b)
{
	struct tv_entry x = *a, y = *b;

	assert_int_equal(a->sparse == NULL, b->sparse == NULL);
	assert_int_equal(a->sparse_len, b->sparse_len);
	if (a->sparse_len)
		assert_memory_equal(a->sparse, b->sparse, a->sparse_len);
	assert_int_equal(a->xattrs_len, b->xattrs_len);
	if (a->xattrs_len)
		assert_memory_equal(a->xattrs, b->xattrs, a->xattrs_len);
	x.sparse = y.sparse = NULL;
	x.xattrs = y.xattrs = NULL;
	assert_memory_equal(&x, &y, sizeof(x));
}

static void roundtrip(const struct tv_entry *e)
{
	struct tv_entry *o = calloc(1, sizeof(*o));
	struct tv_cat_item_v *it = calloc(1, sizeof(*it)), *got = calloc(1, sizeof(*got));
	struct tv_buf b;
	size_t used, need;

	tv_buf_init(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, &need), 0);
	assert_int_equal(used, b.len);
	assert_entry_same(e, o);
	/* the catalog entry item: the same fields, 16-22 before 32-35 */
	it->type = TV_CI_ENTRY;
	it->u.entry.e = *e;
	it->u.entry.loc.tseq = 1;
	it->u.entry.loc.file_no = 2;
	it->u.entry.loc.frame_off = 123456;
	it->u.entry.loc.entry_off = 77;
	tv_buf_reset(&b);
	assert_int_equal(tv_cat_item_encode(&b, it), 0);
	assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), 0);
	assert_int_equal(used, b.len);
	assert_entry_same(&it->u.entry.e, &got->u.entry.e);
	assert_memory_equal(&it->u.entry.loc, &got->u.entry.loc, sizeof(got->u.entry.loc));
	{
		struct tv_buf body;
		struct tv_tlv t;
		unsigned last = 0;
		tv_buf_view(&body, b.d + 5, b.len - 5);
		while (tv_tlv_next(&body, &t) == 0) {
			assert_true(t.tag > last);
			last = t.tag;
		}
		assert_int_equal(last, 35);
	}
	tv_buf_free(&b);
	free(o);
	free(it);
	free(got);
}

/* ---- TLV lists assembled by hand ---- */

static void put16(struct tv_buf *b, uint16_t v) { assert_int_equal(tv_buf_put_u16(b, v), 0); }
static void put32(struct tv_buf *b, uint32_t v) { assert_int_equal(tv_buf_put_u32(b, v), 0); }
static void put(struct tv_buf *b, const void *p, size_t n) { assert_int_equal(tv_buf_put(b, p, n), 0); }

/* One xattr item, byte by byte: 1 | L | (1 | nl | name) (2 | vl | value). */
static void hand_xattr(struct tv_buf *b, const char *name, const void *v, size_t vl)
{
	size_t nl = strlen(name);

	put16(b, 1);
	put32(b, (uint32_t)(12 + nl + vl));
	put16(b, 1);
	put32(b, (uint32_t)nl);
	put(b, name, nl);
	put16(b, 2);
	put32(b, (uint32_t)vl);
	put(b, v, vl);
}

/* The fields 1-15 an encoder writes for e (defaults left out). */
static void hand_base(struct tv_buf *b, const struct tv_entry *e)
{
	assert_int_equal(tv_tlv_put_str(b, 1, e->path), 0);
	assert_int_equal(tv_tlv_put_u64(b, 2, (uint64_t)e->ftype), 0);
	assert_int_equal(tv_tlv_put_u64(b, 3, e->mode), 0);
	assert_int_equal(tv_tlv_put_u64(b, 4, e->uid), 0);
	assert_int_equal(tv_tlv_put_u64(b, 5, e->gid), 0);
	assert_int_equal(tv_tlv_put_u64(b, 6, (uint64_t)e->mtime_sec), 0);
	assert_int_equal(tv_tlv_put_u64(b, 7, e->mtime_nsec), 0);
	assert_int_equal(tv_tlv_put_u64(b, 8, e->size), 0);
	if (e->offset)
		assert_int_equal(tv_tlv_put_u64(b, 9, e->offset), 0);
	if (e->link[0])
		assert_int_equal(tv_tlv_put_str(b, 10, e->link), 0);
	if (e->flags)
		assert_int_equal(tv_tlv_put_u64(b, 11, e->flags), 0);
	assert_int_equal(tv_tlv_put_u64(b, 13, e->file_index), 0);
	if (e->part != 1)
		assert_int_equal(tv_tlv_put_u64(b, 14, e->part), 0);
	assert_int_equal(tv_tlv_put_u64(b, 15, e->length), 0);
}

/* The record last decoded: o->sparse and o->xattrs point into it. */
static struct tv_buf rec;

static int group_setup(void **state)
{
	(void)state;
	tv_buf_init(&rec);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tv_buf_free(&rec);
	return 0;
}

/* "TVE2" | L | body, decoded. */
static int decode_body(const struct tv_buf *body, struct tv_entry *o)
{
	size_t used, need;

	tv_buf_reset(&rec);
	put(&rec, TV_ENTRY_MAGIC, 4);
	put32(&rec, (uint32_t)body->len);
	put(&rec, body->d, body->len);
	return tv_entry_decode(rec.d, rec.len, o, &used, &need);
}

static void test_xattr_list_layout(void **state)
{
	struct tv_buf got, want;
	struct tv_xattr x;
	uint8_t big[TV_XATTR_VALUE_MAX];
	(void)state;

	tv_buf_init(&got);
	tv_buf_init(&want);
	memset(big, 0xab, sizeof(big));
	assert_int_equal(tv_xattr_put(&got, "user.a", "xyz", 3), 0);
	assert_int_equal(tv_xattr_put(&got, "security.capability", "", 0), 0);
	assert_int_equal(tv_xattr_put(&got, "trusted.big", big, sizeof(big)), 0);
	hand_xattr(&want, "user.a", "xyz", 3);
	hand_xattr(&want, "security.capability", "", 0);
	hand_xattr(&want, "trusted.big", big, sizeof(big));
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.d, want.d, got.len);
	assert_int_equal(tv_xattr_list_check(got.d, got.len), 0);
	/* read back, in order */
	{
		struct tv_buf r;
		tv_buf_view(&r, got.d, got.len);
		assert_int_equal(tv_xattr_next(&r, &x), 1);
		assert_string_equal(x.name, "user.a");
		assert_int_equal(x.len, 3);
		assert_memory_equal(x.value, "xyz", 3);
		assert_int_equal(tv_xattr_next(&r, &x), 1);
		assert_string_equal(x.name, "security.capability");
		assert_int_equal(x.len, 0);
		assert_int_equal(tv_xattr_next(&r, &x), 1);
		assert_int_equal(x.len, sizeof(big));
		assert_int_equal(tv_xattr_next(&r, &x), 0);
	}
	/* what the writer refuses */
	{
		char name[TV_XATTR_NAME_MAX + 1];
		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		tv_buf_reset(&got);
		assert_int_equal(tv_xattr_put(&got, "", "v", 1), TV_ERR_INVAL);
		assert_int_equal(tv_xattr_put(&got, name, "v", 1), TV_ERR_INVAL);
		name[TV_XATTR_NAME_MAX - 1] = '\0';   /* 255 bytes: the longest */
		assert_int_equal(tv_xattr_put(&got, name, "v", 1), 0);
		assert_int_equal(tv_xattr_put(&got, "user.x", big, sizeof(big) + 1), TV_ERR_INVAL);
		ASSERT_DETAIL("65537");
	}
	tv_buf_free(&got);
	tv_buf_free(&want);
}

static void test_layout(void **state)
{
	struct tv_entry *e = new_entry("dev/null", TV_FT_CHR);
	struct tv_buf got, want, body, xa;
	(void)state;

	tv_buf_init(&got);
	tv_buf_init(&want);
	tv_buf_init(&body);
	tv_buf_init(&xa);
	e->rdev_major = 1;
	e->rdev_minor = 3;
	strcpy(e->uname, "root");
	strcpy(e->gname, "wheel");
	assert_int_equal(tv_xattr_put(&xa, "security.selinux", "system_u:null_device_t", 22), 0);
	e->xattrs = xa.d;
	e->xattrs_len = xa.len;
	assert_int_equal(tv_entry_encode(&got, e), 0);
	hand_base(&body, e);
	assert_int_equal(tv_tlv_put_u64(&body, 16, 1), 0);
	assert_int_equal(tv_tlv_put_u64(&body, 17, 3), 0);
	assert_int_equal(tv_tlv_put_str(&body, 18, "root"), 0);
	assert_int_equal(tv_tlv_put_str(&body, 19, "wheel"), 0);
	put16(&body, 21);
	put32(&body, (uint32_t)xa.len);
	hand_xattr(&body, "security.selinux", "system_u:null_device_t", 22);
	put(&want, TV_ENTRY_MAGIC, 4);
	put32(&want, (uint32_t)body.len);
	put(&want, body.d, body.len);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.d, want.d, got.len);
	roundtrip(e);

	/* a sparse file: the map after the names; D = the regions */
	{
		static const uint64_t r[] = { 0, 4096, 1 << 20, 10, (2u << 20) - 1, 1 };
		struct tv_buf map;
		struct tv_entry *s;
		tv_buf_init(&map);
		map_of(&map, r, 3);
		s = sparse_entry("img", 2u << 20, &map);
		assert_int_equal(s->length, 4096 + 10 + 1);
		tv_buf_reset(&got);
		tv_buf_reset(&body);
		tv_buf_reset(&want);
		assert_int_equal(tv_entry_encode(&got, s), 0);
		hand_base(&body, s);
		put16(&body, 20);
		put32(&body, 48);
		for (int i = 0; i < 6; i++)
			assert_int_equal(tv_buf_put_u64(&body, r[i]), 0);
		put(&want, TV_ENTRY_MAGIC, 4);
		put32(&want, (uint32_t)body.len);
		put(&want, body.d, body.len);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.d, want.d, got.len);
		roundtrip(s);
		free(s);
		tv_buf_free(&map);
	}
	tv_buf_free(&got);
	tv_buf_free(&want);
	tv_buf_free(&body);
	tv_buf_free(&xa);
	free(e);
}

static void test_roundtrip(void **state)
{
	struct tv_buf xa, map;
	struct tv_entry *e;
	(void)state;

	tv_buf_init(&xa);
	tv_buf_init(&map);
	assert_int_equal(tv_xattr_put(&xa, "user.k", "v", 1), 0);
	assert_int_equal(tv_xattr_put(&xa, "system.posix_acl_default", "\x02\0\0\0", 4), 0);
	/* every new kind, with and without names and xattrs */
	for (int t = TV_FT_FIFO; t <= TV_FT_BLK; t++) {
		e = new_entry("srv/node", (enum tv_ftype)t);
		roundtrip(e);
		if (t != TV_FT_FIFO) {
			e->rdev_major = UINT32_MAX;
			e->rdev_minor = 0;
			roundtrip(e);
			e->rdev_major = 0;   /* 0:0 (an overlay whiteout): the default */
			roundtrip(e);
		}
		strcpy(e->uname, "tvtest_owner");
		e->xattrs = xa.d;
		e->xattrs_len = xa.len;
		roundtrip(e);
		free(e);
	}
	e = new_entry("srv", TV_FT_DIR);
	e->xattrs = xa.d;
	e->xattrs_len = xa.len;
	strcpy(e->gname, "g");
	roundtrip(e);
	free(e);
	e = new_entry("srv/l", TV_FT_SYMLINK);
	strcpy(e->link, "target");
	e->xattrs = xa.d;
	e->xattrs_len = xa.len;
	roundtrip(e);
	free(e);
	/* a file all hole: an empty map */
	tv_buf_reset(&map);
	e = sparse_entry("hole", 1ull << 40, &map);
	assert_int_equal(e->length, 0);
	roundtrip(e);
	/* a later part of a sparse file: offset and length count D */
	{
		static const uint64_t r[] = { 100, 1000, 5000, 3000 };
		free(e);
		map_of(&map, r, 2);
		e = sparse_entry("part", 10000, &map);
		assert_int_equal(tv_entry_data_size(e), 4000);
		e->part = 3;
		e->offset = 2500;
		e->length = 1500;
		roundtrip(e);
		/* with the xattr list at D's start too */
		e->flags |= TV_EF_XATTR_DATA;
		e->xattr_data = 700;
		e->length = 4700 - 2500;
		roundtrip(e);
		free(e);
	}
	/* a regular file with its xattrs in the header, then in its data */
	e = new_entry("f", TV_FT_REG);
	e->size = e->length = 10;
	e->xattrs = xa.d;
	e->xattrs_len = xa.len;
	roundtrip(e);
	e->xattrs = NULL;
	e->xattrs_len = 0;
	e->flags = TV_EF_XATTR_DATA | TV_EF_INNER_ENCRYPTED;
	e->xattr_data = TV_XATTR_LIST_MAX;
	e->length = 10 + TV_XATTR_LIST_MAX;
	roundtrip(e);
	free(e);
	tv_buf_free(&xa);
	tv_buf_free(&map);
}

/* Decodes the base fields of e plus extra TLV bytes: the result code. */
static int decode_with(const struct tv_entry *e, const struct tv_buf *extra, struct tv_entry *o)
{
	struct tv_buf body;
	int r;

	tv_buf_init(&body);
	hand_base(&body, e);
	if (extra != NULL)
		put(&body, extra->d, extra->len);
	r = decode_body(&body, o);
	tv_buf_free(&body);
	return r;
}

static void put_map(struct tv_buf *x, const uint64_t *r, size_t n)
{
	put16(x, 20);
	put32(x, (uint32_t)(16 * n));
	for (size_t i = 0; i < 2 * n; i++)
		assert_int_equal(tv_buf_put_u64(x, r[i]), 0);
}

static void test_hostile_map(void **state)
{
	struct tv_entry *e = new_entry("img", TV_FT_REG), *o = calloc(1, sizeof(*o));
	struct tv_buf x;
	static const struct {
		uint64_t r[6];
		size_t n;
		const char *why;
	} bad[] = {
		{ { 0, 10, 5, 10 }, 2, "overlaps" },              /* overlapping */
		{ { 500, 10, 100, 10 }, 2, "overlaps or precedes" }, /* out of order */
		{ { 0, 0 }, 1, "empty" },                         /* a region of no byte */
		{ { 900, 200 }, 1, "past the file" },             /* past the size (1000) */
		{ { 1000, 1 }, 1, "past the file" },
		{ { UINT64_MAX, 2 }, 1, "past the file" },        /* start + len wraps */
		{ { 10, UINT64_MAX }, 1, "past the file" },
	};
	(void)state;

	tv_buf_init(&x);
	e->size = 1000;
	e->flags = TV_EF_SPARSE;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t d = 0;
		for (size_t k = 0; k < bad[i].n; k++)
			d += bad[i].r[2 * k + 1];
		e->length = d <= INT64_MAX ? d : 0;
		tv_buf_reset(&x);
		put_map(&x, bad[i].r, bad[i].n);
		assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
		ASSERT_DETAIL("field sparse (tag 20)");
		ASSERT_DETAIL(bad[i].why);
	}
	/* adjacent regions are fine; the length must be D's, not the size's */
	{
		static const uint64_t ok[] = { 0, 10, 10, 10 };
		tv_buf_reset(&x);
		put_map(&x, ok, 2);
		e->length = 20;
		assert_int_equal(decode_with(e, &x, o), 0);
		assert_int_equal(tv_entry_data_size(o), 20);
		e->length = 1000;
		assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
		ASSERT_DETAIL("(20 of data)");
	}
	/* not a whole number of regions; too many regions */
	tv_buf_reset(&x);
	put16(&x, 20);
	put32(&x, 15);
	put(&x, "012345678901234", 15);
	e->length = 0;
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("not a map");
	tv_buf_reset(&x);
	put16(&x, 20);
	put32(&x, 16 * (TV_SPARSE_MAX + 1));
	for (uint64_t k = 0; k <= TV_SPARSE_MAX; k++) {
		assert_int_equal(tv_buf_put_u64(&x, k), 0);
		assert_int_equal(tv_buf_put_u64(&x, 1), 0);
	}
	e->size = TV_SPARSE_MAX + 1;
	e->length = TV_SPARSE_MAX + 1;
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("not a map of 0 to 512 regions");
	/* the flag without the map, the map without the flag, twice */
	e->size = 1000;
	e->length = 1000;
	assert_int_equal(decode_with(e, NULL, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("missing (flag SPARSE is set)");
	{
		static const uint64_t r[] = { 0, 10 };
		tv_buf_reset(&x);
		put_map(&x, r, 1);
		e->flags = 0;
		assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
		ASSERT_DETAIL("without flag SPARSE");
		e->flags = TV_EF_SPARSE;
		e->length = 10;
		put_map(&x, r, 1);
		assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
		ASSERT_DETAIL("field sparse (tag 20): duplicated");
	}
	/* a map on a directory */
	free(e);
	e = new_entry("d", TV_FT_DIR);
	e->flags = TV_EF_SPARSE;
	tv_buf_reset(&x);
	put_map(&x, NULL, 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("flag SPARSE on a directory");
	/* the encoder refuses what the decoder refuses */
	{
		static const uint64_t r[] = { 5, 10, 0, 1 };
		struct tv_buf map, b;
		struct tv_entry *s;
		tv_buf_init(&map);
		tv_buf_init(&b);
		map_of(&map, r, 2);
		s = sparse_entry("img", 100, &map);
		assert_int_equal(tv_entry_encode(&b, s), TV_ERR_INVAL);
		ASSERT_DETAIL("field sparse (tag 20)");
		assert_int_equal(b.len, 0);
		s->sparse = NULL;
		s->length = 100;
		assert_int_equal(tv_entry_encode(&b, s), TV_ERR_INVAL);
		ASSERT_DETAIL("missing");
		free(s);
		tv_buf_free(&map);
		tv_buf_free(&b);
	}
	tv_buf_free(&x);
	free(e);
	free(o);
}

/* An xattr list item of tag 21 around the bytes of list. */
static void put_xattrs(struct tv_buf *x, const struct tv_buf *list)
{
	put16(x, 21);
	put32(x, (uint32_t)list->len);
	put(x, list->d, list->len);
}

static void test_hostile_xattrs(void **state)
{
	struct tv_entry *e = new_entry("d", TV_FT_DIR), *o = calloc(1, sizeof(*o));
	struct tv_buf x, l;
	char name[300];
	(void)state;

	tv_buf_init(&x);
	tv_buf_init(&l);
	/* names: empty, 256 bytes, a NUL inside */
	hand_xattr(&l, "", "v", 1);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("field xattrs (tag 21)");
	ASSERT_DETAIL("name of 0 bytes");
	memset(name, 'a', 256);
	name[256] = '\0';
	tv_buf_reset(&l);
	tv_buf_reset(&x);
	hand_xattr(&l, name, "v", 1);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("name of 256 bytes");
	assert_int_equal(tv_xattr_list_check(l.d, l.len), TV_ERR_FORMAT);
	tv_buf_reset(&l);
	tv_buf_reset(&x);
	put16(&l, 1);
	put32(&l, 6 + 3 + 6 + 1);
	put16(&l, 1);
	put32(&l, 3);
	put(&l, "a\0b", 3);
	put16(&l, 2);
	put32(&l, 1);
	put(&l, "v", 1);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("NUL");
	/* a value over 64 KiB (only the list in the data can hold one) */
	{
		size_t n = TV_XATTR_VALUE_MAX + 1;
		uint8_t *v = calloc(1, n);
		tv_buf_reset(&l);
		hand_xattr(&l, "user.big", v, n);
		assert_int_equal(tv_xattr_list_check(l.d, l.len), TV_ERR_FORMAT);
		ASSERT_DETAIL("value of 65537 bytes");
		free(v);
	}
	/* a list over its limit */
	{
		uint8_t *v = calloc(1, TV_XATTR_VALUE_MAX);
		tv_buf_reset(&l);
		for (int k = 0; k < 17; k++) {
			char nm[32];
			snprintf(nm, sizeof(nm), "user.v%d", k);
			hand_xattr(&l, nm, v, TV_XATTR_VALUE_MAX);
		}
		assert_int_equal(tv_xattr_list_check(l.d, l.len), TV_ERR_FORMAT);
		ASSERT_DETAIL("at most 1048576");
		free(v);
	}
	/* a field missing, a field twice, a truncated item */
	{
		static const struct { const uint8_t b[24]; size_t n; const char *why; } raw[] = {
			{ { 0, 1, 0, 0, 0, 7, 0, 1, 0, 0, 0, 1, 'a' }, 13, "without its value" },
			{ { 0, 1, 0, 0, 0, 7, 0, 2, 0, 0, 0, 1, 'v' }, 13, "without its name" },
			{ { 0, 1, 0, 0, 0, 14, 0, 1, 0, 0, 0, 1, 'a', 0, 1, 0, 0, 0, 1, 'b' }, 20,
			  "name (tag 1) twice" },
			{ { 0, 1, 0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 'a' }, 13, "exceeds" },
		};
		for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
			tv_buf_reset(&l);
			tv_buf_reset(&x);
			put(&l, raw[i].b, raw[i].n);
			put_xattrs(&x, &l);
			assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
			ASSERT_DETAIL(raw[i].why);
		}
	}
	/* unknown tags inside an xattr, unknown items in the list: skipped */
	tv_buf_reset(&l);
	tv_buf_reset(&x);
	put16(&l, 9);
	put32(&l, 2);
	put(&l, "zz", 2);
	put16(&l, 1);
	put32(&l, 6 + (6 + 6) + (6 + 1));
	put16(&l, 7);
	put32(&l, 0);
	put16(&l, 1);
	put32(&l, 6);
	put(&l, "user.a", 6);
	put16(&l, 2);
	put32(&l, 1);
	put(&l, "v", 1);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), 0);
	{
		struct tv_buf r;
		struct tv_xattr xa;
		tv_buf_view(&r, o->xattrs, o->xattrs_len);
		assert_int_equal(tv_xattr_next(&r, &xa), 1);
		assert_string_equal(xa.name, "user.a");
		assert_int_equal(tv_xattr_next(&r, &xa), 0);
	}
	/* an empty list is no list */
	tv_buf_reset(&l);
	tv_buf_reset(&x);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), 0);
	assert_null(o->xattrs);
	/* xattrs on a hard link (its file has them) */
	free(e);
	e = new_entry("h", TV_FT_HARDLINK);
	strcpy(e->link, "f");
	tv_buf_reset(&l);
	tv_buf_reset(&x);
	hand_xattr(&l, "user.a", "v", 1);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("on a hard link");
	/* the list in the data: the flag and tag 22 go together, without tag 21 */
	free(e);
	e = new_entry("f", TV_FT_REG);
	e->size = 10;
	e->flags = TV_EF_XATTR_DATA;
	e->length = 10 + 100;
	tv_buf_reset(&x);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("missing (flag XATTR_DATA is set)");
	assert_int_equal(tv_tlv_put_u64(&x, 22, 100), 0);
	assert_int_equal(decode_with(e, &x, o), 0);
	assert_int_equal(o->xattr_data, 100);
	put_xattrs(&x, &l);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("with flag XATTR_DATA");
	e->flags = 0;
	e->length = 10;
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_u64(&x, 22, 100), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("without flag XATTR_DATA");
	e->flags = TV_EF_XATTR_DATA;
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_u64(&x, 22, 0), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("field xattr_data (tag 22): value 0 out of range");
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_u64(&x, 22, TV_XATTR_LIST_MAX + 1), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	/* the encoder refuses a malformed list and a list on a hard link */
	{
		struct tv_buf b;
		tv_buf_init(&b);
		free(e);
		e = new_entry("d", TV_FT_DIR);
		tv_buf_reset(&l);
		hand_xattr(&l, "", "v", 1);
		e->xattrs = l.d;
		e->xattrs_len = l.len;
		assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
		ASSERT_DETAIL("field xattrs (tag 21)");
		assert_int_equal(b.len, 0);
		tv_buf_free(&b);
	}
	tv_buf_free(&x);
	tv_buf_free(&l);
	free(e);
	free(o);
}

static void test_hostile_fields(void **state)
{
	struct tv_entry *e = new_entry("p", TV_FT_FIFO), *o = calloc(1, sizeof(*o));
	struct tv_buf x, b;
	char name[300];
	(void)state;

	tv_buf_init(&x);
	tv_buf_init(&b);
	/* device numbers on a FIFO; over 32 bits; of the wrong size; twice */
	assert_int_equal(tv_tlv_put_u64(&x, 16, 8), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("field rdev_major (tag 16): only devices have one");
	e->ftype = TV_FT_BLK;
	assert_int_equal(decode_with(e, &x, o), 0);
	assert_int_equal(o->rdev_major, 8);
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_u64(&x, 17, 1ull << 32), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("field rdev_minor (tag 17): value 4294967296 out of range");
	tv_buf_reset(&x);
	put16(&x, 16);
	put32(&x, 4);
	put32(&x, 8);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("integer of 4 bytes");
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_u64(&x, 16, 8), 0);
	assert_int_equal(tv_tlv_put_u64(&x, 16, 8), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("field rdev_major (tag 16): duplicated");
	/* names: 255 bytes fit, 256 do not; no NUL */
	memset(name, 'u', 255);
	name[255] = '\0';
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_str(&x, 18, name), 0);
	assert_int_equal(decode_with(e, &x, o), 0);
	assert_string_equal(o->uname, name);
	strcat(name, "u");
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_str(&x, 19, name), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("field gname (tag 19): string of 256 bytes too long");
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_bytes(&x, 18, "a\0b", 3), 0);
	assert_int_equal(decode_with(e, &x, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("NUL");
	/* data in a FIFO or device entry */
	e->ftype = TV_FT_CHR;
	e->length = 1;
	assert_int_equal(decode_with(e, NULL, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("data in a character device entry");
	/* the encoder: device numbers on a FIFO */
	e->ftype = TV_FT_FIFO;
	e->length = 0;
	e->rdev_minor = 1;
	assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
	ASSERT_DETAIL("only devices have one");
	/* tags past 22 are a newer writer's: skipped */
	e->rdev_minor = 0;
	tv_buf_reset(&x);
	assert_int_equal(tv_tlv_put_u64(&x, 23, 1), 0);
	assert_int_equal(tv_tlv_put_u64(&x, 31, 1), 0);
	assert_int_equal(decode_with(e, &x, o), 0);
	tv_buf_free(&x);
	tv_buf_free(&b);
	free(e);
	free(o);
}

/* The optional fields alone (how the catalog database keeps them): what
 * is asked for, back as it was; the rest of the entry untouched. */
static void test_ext_put_get(void **state)
{
	static const uint64_t reg[] = { 10, 20 };
	struct tv_entry *e = new_entry("dev/sda", TV_FT_BLK), *o = new_entry("x", TV_FT_REG);
	struct tv_buf b, xa, map;
	(void)state;

	tv_buf_init(&b);
	tv_buf_init(&xa);
	tv_buf_init(&map);
	assert_int_equal(tv_xattr_put(&xa, "security.selinux", "fixed_disk_device_t", 19), 0);
	e->rdev_major = 8;
	e->rdev_minor = 16;
	strcpy(e->uname, "root");
	strcpy(e->gname, "disk");
	e->xattrs = xa.d;
	e->xattrs_len = xa.len;
	assert_int_equal(tv_entry_ext_put(&b, e, TV_EXT_NAMES | TV_EXT_XATTRS), 0);
	strcpy(o->uname, "stale");
	o->xattr_data = 9;
	assert_int_equal(tv_entry_ext_get(b.d, b.len, o), 0);
	assert_int_equal(o->rdev_major, 8);
	assert_int_equal(o->rdev_minor, 16);
	assert_string_equal(o->uname, "root");
	assert_string_equal(o->gname, "disk");
	assert_int_equal(o->xattrs_len, xa.len);
	assert_memory_equal(o->xattrs, xa.d, xa.len);
	assert_int_equal(o->xattr_data, 0);       /* cleared: not in the list */
	assert_string_equal(o->path, "x");        /* the rest untouched */
	/* without names and xattrs: device numbers only */
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_ext_put(&b, e, 0), 0);
	assert_int_equal(b.len, 2 * 14);
	assert_int_equal(tv_entry_ext_get(b.d, b.len, o), 0);
	assert_string_equal(o->uname, "");
	assert_null(o->xattrs);
	/* a map; nothing at all is an empty list */
	free(e);
	map_of(&map, reg, 1);
	e = sparse_entry("img", 100, &map);
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_ext_put(&b, e, TV_EXT_NAMES), 0);
	assert_int_equal(tv_entry_ext_get(b.d, b.len, o), 0);
	assert_int_equal(o->sparse_len, 16);
	assert_memory_equal(o->sparse, map.d, 16);
	free(e);
	e = new_entry("plain", TV_FT_REG);
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_ext_put(&b, e, TV_EXT_NAMES | TV_EXT_XATTRS), 0);
	assert_int_equal(b.len, 0);
	/* malformed: refused */
	assert_int_equal(tv_tlv_put_u64(&b, 17, 1ull << 40), 0);
	assert_int_equal(tv_entry_ext_get(b.d, b.len, o), TV_ERR_FORMAT);
	ASSERT_DETAIL("rdev_minor");
	tv_buf_free(&b);
	tv_buf_free(&xa);
	tv_buf_free(&map);
	free(e);
	free(o);
}

/* ---- through the writer and the entry cursor ---- */

static int no_placed(void *ctx, uint32_t file_no, uint64_t index, uint64_t off,
                     const uint8_t *side, size_t side_len)
{
	(void)ctx, (void)file_no, (void)index, (void)off, (void)side, (void)side_len;
	return 0;
}

/* A sparse entry's data spans frames: its map and xattr list, read from
 * the header in the first frame, are still there after the data. */
static void test_cursor_keeps_header(void **state)
{
	struct memtape *m = memtape_new();
	struct tv_twriter_opts wo = { .record_size = RS, .workers = 2 };
	struct tv_treader_opts ro = { .workers = 2 };
	struct tv_twriter *w;
	struct tv_treader *r;
	struct tv_ecursor *c;
	struct tv_content_header ch;
	struct tv_entry *e, *got = calloc(1, sizeof(*got));
	struct tv_buf map, xa, b;
	static const uint64_t reg[] = { 0, 100000, 500000, 150000 };
	uint8_t *data = malloc(250000), content[16] = { 7 };
	uint64_t fi, fno, total = 0;
	uint32_t eo;
	int sealed, cont;
	(void)state;

	tv_buf_init(&map);
	tv_buf_init(&xa);
	tv_buf_init(&b);
	map_of(&map, reg, 2);
	e = sparse_entry("big.img", 1000000, &map);
	assert_int_equal(tv_xattr_put(&xa, "user.k", "value", 5), 0);
	e->xattrs = xa.d;
	e->xattrs_len = xa.len;
	tl_fill_random(data, 250000, 16);
	wo.comp.method = TV_COMP_STORED;
	wo.placed = no_placed;
	assert_int_equal(tv_twriter_open(&w, &m->base, "T16", tape_uuid, &wo), 0);
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_DATA, content, NULL, 0, NULL), 0);
	for (int k = 0; k < 2; k++) {
		e->file_index = (uint64_t)k;
		tv_buf_reset(&b);
		assert_int_equal(tv_entry_encode(&b, e), 0);
		assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
		assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
		assert_int_equal(tv_twriter_write(w, data, 250000), 0);
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);

	m->pos = 0;
	assert_int_equal(tv_treader_open(&r, &m->base, "T16", tape_uuid, &ro), 0);
	tv_treader_set_record_size(r, RS);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, NULL, NULL, 0), 0);
	assert_int_equal(tv_ecursor_open(&c, r, TV_CT_DATA, 0), 0);
	for (int k = 0; k < 2; k++) {
		const uint8_t *p;
		size_t n;
		assert_int_equal(tv_ecursor_next(c, got, NULL), 1);
		total = 0;
		while (tv_ecursor_data(c, &p, &n, &cont) == 1) {
			assert_memory_equal(p, data + total, n);
			total += n;
		}
		assert_int_equal(total, 250000);
		/* four frames later: the header's map and list are intact */
		assert_int_equal(got->sparse_len, map.len);
		assert_memory_equal(got->sparse, map.d, map.len);
		assert_int_equal(got->xattrs_len, xa.len);
		assert_memory_equal(got->xattrs, xa.d, xa.len);
	}
	assert_int_equal(tv_ecursor_next(c, got, NULL), 0);
	tv_ecursor_close(c);
	tv_treader_close(r);
	tv_tape_close(&m->base);
	tv_buf_free(&map);
	tv_buf_free(&xa);
	tv_buf_free(&b);
	free(data);
	free(e);
	free(got);
}

/* ---- seeds of the entry fuzz target ---- */

static int writing;

static void seed(const char *name, const struct tv_buf *b)
{
	char *path = tl_strf("%s/tests/fuzz/corpus/%s/%s", tl_srcdir(), T_CAT, name);
	uint8_t *have;
	size_t n;

	if (writing) {
		tl_write_file(path, b->d, b->len, 0644);
		free(path);
		return;
	}
	if ((have = tl_read_file(path, &n)) == NULL)
		fail_msg("%s is missing: run this test with TV_FORMAT_WRITE_SEEDS=1", path);
	if (n != b->len || memcmp(have, b->d, n) != 0)
		fail_msg("%s differs from what the encoders produce now: the on-tape format "
		         "changed (regenerate only if intended, with TV_FORMAT_WRITE_SEEDS=1)",
		         path);
	free(have);
	free(path);
}

/* The entries of a tree with everything in it: a directory with a
 * default ACL, a sparse file, a file with its xattrs in the data, a FIFO,
 * devices, a symbolic link with an SELinux label, a hard link. */
static size_t seed_entries(struct tv_entry **es, struct tv_buf *xa, struct tv_buf *big,
                           struct tv_buf *map)
{
	static const uint64_t reg[] = { 0, 16, 1 << 20, 8 };
	static const uint8_t acl[] = { 2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff };
	uint8_t v[300];
	size_t n = 0;

	assert_int_equal(tv_xattr_put(xa, "system.posix_acl_default", acl, sizeof(acl)), 0);
	assert_int_equal(tv_xattr_put(xa, "user.comment", "seed", 4), 0);
	memset(v, 'x', sizeof(v));
	for (int k = 0; k < 3; k++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "user.big%d", k);
		assert_int_equal(tv_xattr_put(big, nm, v, sizeof(v)), 0);
	}
	map_of(map, reg, 2);
	es[n] = new_entry("srv", TV_FT_DIR);
	strcpy(es[n]->uname, "root");
	strcpy(es[n]->gname, "root");
	es[n]->xattrs = xa->d;
	es[n++]->xattrs_len = xa->len;
	es[n++] = sparse_entry("srv/disk.img", 2 << 20, map);
	es[n] = new_entry("srv/notes", TV_FT_REG);
	es[n]->size = 5;
	es[n]->flags = TV_EF_XATTR_DATA;
	es[n]->xattr_data = big->len;
	es[n]->length = 5 + big->len;
	strcpy(es[n++]->uname, "tvtest_owner");
	es[n++] = new_entry("srv/fifo", TV_FT_FIFO);
	es[n] = new_entry("srv/null", TV_FT_CHR);
	es[n]->rdev_major = 1;
	es[n++]->rdev_minor = 3;
	es[n] = new_entry("srv/sda", TV_FT_BLK);
	es[n++]->rdev_major = 8;
	es[n] = new_entry("srv/link", TV_FT_SYMLINK);
	strcpy(es[n]->link, "notes");
	es[n]->xattrs = xa->d + 0;
	es[n++]->xattrs_len = xa->len;
	es[n] = new_entry("srv/again", TV_FT_HARDLINK);
	strcpy(es[n]->link, "srv/notes");
	es[n++]->size = 5;
	for (size_t i = 0; i < n; i++)
		es[i]->file_index = i;
	return n;
}

static void test_seeds(void **state)
{
	struct tv_entry *es[16];
	struct tv_cat_item_v *it = calloc(1, sizeof(*it));
	struct tv_buf xa, big, map, data, cat;
	size_t n;
	(void)state;

	writing = getenv("TV_FORMAT_WRITE_SEEDS") != NULL;
	tv_buf_init(&xa);
	tv_buf_init(&big);
	tv_buf_init(&map);
	tv_buf_init(&data);
	tv_buf_init(&cat);
	n = seed_entries(es, &xa, &big, &map);
	/* a data file's byte stream: each header and its data D */
	for (size_t i = 0; i < n; i++) {
		uint64_t d = tv_entry_data_size(es[i]);
		assert_int_equal(tv_entry_encode(&data, es[i]), 0);
		if (es[i]->xattr_data > 0) {
			put(&data, big.d, big.len);
			d -= big.len;
		}
		for (uint64_t k = 0; k < d; k++)
			assert_int_equal(tv_buf_put_u8(&data, (uint8_t)('a' + k % 26)), 0);
	}
	seed("fsmeta_data_stream", &data);
	/* a catalog file's byte stream: the set, the entries (a regular file's
	 * xattrs stay on tape), the end */
	it->type = TV_CI_SET;
	memset(it->u.set.set_uuid, 0x16, 16);
	strcpy(it->u.set.name, "fidelity");
	it->u.set.first_seq = it->u.set.last_seq = 1;
	it->u.set.complete = 1;
	it->u.set.nfiles = n;
	assert_int_equal(tv_cat_item_encode(&cat, it), 0);
	for (size_t i = 0; i < n; i++) {
		memset(it, 0, sizeof(*it));
		it->type = TV_CI_ENTRY;
		it->u.entry.e = *es[i];
		it->u.entry.loc.tseq = 1;
		it->u.entry.loc.file_no = 2;
		it->u.entry.loc.frame_off = 0;
		it->u.entry.loc.entry_off = 100 * i;
		assert_int_equal(tv_cat_item_encode(&cat, it), 0);
	}
	memset(it, 0, sizeof(*it));
	it->type = TV_CI_END;
	it->u.end_count = n + 1;
	assert_int_equal(tv_cat_item_encode(&cat, it), 0);
	seed("fsmeta_catalog_stream", &cat);
	/* and they read back */
	{
		struct tv_entry *o = calloc(1, sizeof(*o));
		size_t off = 0, used, need;
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(tv_entry_decode(data.d + off, data.len - off, o, &used,
			                                 &need), 0);
			assert_entry_same(es[i], o);
			off += used + o->length;
		}
		assert_int_equal(off, data.len);
		free(o);
	}
	for (size_t i = 0; i < n; i++)
		free(es[i]);
	free(it);
	tv_buf_free(&xa);
	tv_buf_free(&big);
	tv_buf_free(&map);
	tv_buf_free(&data);
	tv_buf_free(&cat);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xattr_list_layout),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hostile_map),
		cmocka_unit_test(test_hostile_xattrs),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_ext_put_get),
		cmocka_unit_test(test_cursor_keeps_header),
		cmocka_unit_test(test_seeds),
	};
	return tl_run(argc, argv, tests, group_setup, group_teardown);
}
