/* tapevault: entry headers (the byte stream of a data file) and catalog
 * items (that of a catalog file), format v2: layouts checked against TLV
 * lists assembled here field by field, round trips of every item type,
 * hostile input (truncation, oversize lengths, duplicated and unknown
 * tags, unknown item types, unknown file types and flags, path rules,
 * offset and length consistency), and both read back through the writer
 * and the entry cursor, straddling frames, with damage in between. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/record_int.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

#define RS TV_RECORD_SIZE_MIN

static void sample_entry(struct tv_entry *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->path, "srv/backups/job1/vm-100.tvb");
	e->ftype = TV_FT_REG;
	e->mode = 0640;
	e->uid = 1000;
	e->gid = 100;
	e->mtime_sec = -86400;         /* before 1970: negative */
	e->mtime_nsec = 999999999;
	e->size = 5ull << 40;
	e->offset = 3ull << 40;
	e->length = e->size - e->offset;
	e->flags = TV_EF_INNER_ENCRYPTED;
	e->file_index = 7;
	e->part = 2;
}

/* ---- TLV lists assembled by hand (independent of the encoders) ---- */

enum { F_PATH, F_FTYPE, F_MODE, F_UID, F_GID, F_MTIME, F_NSEC, F_SIZE, F_OFFSET,
       F_LINK, F_FLAGS, F_INDEX, F_PART, F_LENGTH, F_N };
static const uint16_t ftag[F_N] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15 };
#define BIT(f) (1u << (f))
/* the fields an encoder writes for a default entry */
#define F_DEFAULT (BIT(F_PATH) | BIT(F_FTYPE) | BIT(F_MODE) | BIT(F_UID) | BIT(F_GID) | \
                   BIT(F_MTIME) | BIT(F_NSEC) | BIT(F_SIZE) | BIT(F_INDEX) |         \
                   BIT(F_LENGTH))

/* The fields of e selected by mask, in tag order; those in dup twice. */
static void put_entry_fields(struct tv_buf *b, const struct tv_entry *e, unsigned mask,
                             unsigned dup)
{
	for (int f = 0; f < F_N; f++) {
		for (int k = 0; k < ((dup & BIT(f)) ? 2 : 1); k++) {
			uint16_t t = ftag[f];
			if (!(mask & BIT(f)))
				continue;
			switch (f) {
			case F_PATH: assert_int_equal(tv_tlv_put_str(b, t, e->path), 0); break;
			case F_FTYPE: assert_int_equal(tv_tlv_put_u64(b, t, (uint64_t)e->ftype), 0); break;
			case F_MODE: assert_int_equal(tv_tlv_put_u64(b, t, e->mode), 0); break;
			case F_UID: assert_int_equal(tv_tlv_put_u64(b, t, e->uid), 0); break;
			case F_GID: assert_int_equal(tv_tlv_put_u64(b, t, e->gid), 0); break;
			case F_MTIME: assert_int_equal(tv_tlv_put_u64(b, t, (uint64_t)e->mtime_sec), 0); break;
			case F_NSEC: assert_int_equal(tv_tlv_put_u64(b, t, e->mtime_nsec), 0); break;
			case F_SIZE: assert_int_equal(tv_tlv_put_u64(b, t, e->size), 0); break;
			case F_OFFSET: assert_int_equal(tv_tlv_put_u64(b, t, e->offset), 0); break;
			case F_LINK: assert_int_equal(tv_tlv_put_str(b, t, e->link), 0); break;
			case F_FLAGS: assert_int_equal(tv_tlv_put_u64(b, t, e->flags), 0); break;
			case F_INDEX: assert_int_equal(tv_tlv_put_u64(b, t, e->file_index), 0); break;
			case F_PART: assert_int_equal(tv_tlv_put_u64(b, t, e->part), 0); break;
			case F_LENGTH: assert_int_equal(tv_tlv_put_u64(b, t, e->length), 0); break;
			}
		}
	}
}

/* "TVE2" | u32 L | body */
static void wrap_entry(struct tv_buf *out, const struct tv_buf *body)
{
	assert_int_equal(tv_buf_put(out, TV_ENTRY_MAGIC, 4), 0);
	assert_int_equal(tv_buf_put_u32(out, (uint32_t)body->len), 0);
	assert_int_equal(tv_buf_put(out, body->d, body->len), 0);
}

/* u8 type | u32 L | body */
static void wrap_item(struct tv_buf *out, uint8_t type, const struct tv_buf *body)
{
	assert_int_equal(tv_buf_put_u8(out, type), 0);
	assert_int_equal(tv_buf_put_u32(out, (uint32_t)body->len), 0);
	assert_int_equal(tv_buf_put(out, body->d, body->len), 0);
}

/* Decodes an entry header assembled from e (fields in mask, extra TLV
 * bytes appended to the body). */
static int decode_fields(const struct tv_entry *e, unsigned mask, unsigned dup,
                         const struct tv_buf *extra, struct tv_entry *out)
{
	struct tv_buf body, rec;
	size_t used, need;
	int rc;

	tv_buf_init(&body);
	tv_buf_init(&rec);
	put_entry_fields(&body, e, mask, dup);
	if (extra != NULL)
		assert_int_equal(tv_buf_put(&body, extra->d, extra->len), 0);
	wrap_entry(&rec, &body);
	rc = tv_entry_decode(rec.d, rec.len, out, &used, &need);
	if (rc == 0) {
		assert_int_equal(used, rec.len);
		assert_int_equal(need, rec.len);
	}
	tv_buf_free(&body);
	tv_buf_free(&rec);
	return rc;
}

/* The fields an encoder writes for e: defaults left out. */
static unsigned mask_of(const struct tv_entry *e)
{
	unsigned m = F_DEFAULT;
	if (e->offset != 0)
		m |= BIT(F_OFFSET);
	if (e->link[0] != '\0')
		m |= BIT(F_LINK);
	if (e->flags != 0)
		m |= BIT(F_FLAGS);
	if (e->part != 1)
		m |= BIT(F_PART);
	return m;
}

/* ---- entries ---- */

static void test_entry_layout(void **state)
{
	struct tv_entry *e = calloc(1, sizeof(*e));
	struct tv_buf got, body, want;
	(void)state;

	tv_buf_init(&got);
	tv_buf_init(&body);
	tv_buf_init(&want);
	sample_entry(e);
	for (int v = 0; v < 5; v++) {
		switch (v) {
		case 4:   /* a hard link: another name of file 2 */
			strcpy(e->path, "etc/zoneinfo-link");
			e->ftype = TV_FT_HARDLINK;
			e->mode = 0644;
			strcpy(e->link, "etc/localtime");
			e->size = 1234;
			e->file_index = 3;
			break;
		case 1:   /* the first part of a file: offset, part left out */
			e->offset = 0;
			e->part = 1;
			e->length = e->size;
			e->flags = 0;
			break;
		case 2:
			memset(e, 0, sizeof(*e));
			strcpy(e->path, "etc");
			e->ftype = TV_FT_DIR;
			e->mode = 0755;
			e->part = 1;
			break;
		case 3:
			strcpy(e->path, "etc/localtime");
			e->ftype = TV_FT_SYMLINK;
			e->mode = 0777;
			strcpy(e->link, "/usr/share/zoneinfo/UTC");
			e->file_index = 2;
			break;
		}
		tv_buf_reset(&got);
		tv_buf_reset(&body);
		tv_buf_reset(&want);
		assert_int_equal(tv_entry_encode(&got, e), 0);
		put_entry_fields(&body, e, mask_of(e), 0);
		wrap_entry(&want, &body);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.d, want.d, want.len);
	}
	/* the first TLV of the doc's shape: "TVE2", length, tag 1 path */
	assert_memory_equal(got.d, "TVE2", 4);
	assert_int_equal(tv_get_be32(got.d + 4), got.len - 8);
	assert_int_equal(tv_get_be16(got.d + 8), 1);
	assert_int_equal(tv_get_be32(got.d + 10), strlen("etc/zoneinfo-link"));
	tv_buf_free(&got);
	tv_buf_free(&body);
	tv_buf_free(&want);
	free(e);
}

static void test_entry_roundtrip(void **state)
{
	struct tv_entry *e = calloc(1, sizeof(*e)), *e2 = calloc(1, sizeof(*e2));
	struct tv_buf b;
	size_t used, need, hl;
	(void)state;

	sample_entry(e);
	tv_buf_init(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	hl = b.len;
	assert_memory_equal(b.d, "TVE2", 4);
	assert_int_equal(tv_get_be32(b.d + 4), hl - TV_ENTRY_HDR);
	/* followed by data bytes: decode stops at the header's end */
	assert_int_equal(tv_buf_put(&b, "DATA", 4), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, &need), 0);
	assert_int_equal(used, hl);
	assert_memory_equal(e, e2, sizeof(*e));
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	/* every truncation: "need more bytes", and how many once known */
	for (size_t n = 0; n < hl; n++) {
		assert_int_equal(tv_entry_decode(b.d, n, e2, &used, &need), TV_ERR_EOF);
		assert_int_equal(used, 0);
		assert_int_equal(need, n < TV_ENTRY_HDR ? TV_ENTRY_HDR : hl);
	}
	/* part 1 and offset 0 are the defaults: left out, read back as such */
	e->part = 1;
	e->offset = 0;
	e->length = e->size;
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	/* symlink with its target (absolute targets are data, not paths);
	 * maximal path and target */
	sample_entry(e);
	e->ftype = TV_FT_SYMLINK;
	e->size = e->offset = e->length = 0;
	e->part = 1;
	strcpy(e->link, "/etc/../target with spaces");
	memset(e->path, 'a', TV_PATH_MAX - 1);
	e->path[TV_PATH_MAX - 1] = '\0';
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	memset(e->link, 'b', TV_PATH_MAX - 1);
	e->link[TV_PATH_MAX - 1] = '\0';
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_true(b.len - TV_ENTRY_HDR <= TV_ENTRY_MAX);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	/* directory; empty regular file; the extremes of every integer */
	memset(e, 0, sizeof(*e));
	strcpy(e->path, "d");
	e->ftype = TV_FT_DIR;
	e->part = 1;
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	e->ftype = TV_FT_REG;
	e->mode = 07777;
	e->uid = e->gid = UINT32_MAX;
	e->mtime_sec = INT64_MIN;
	e->mtime_nsec = 999999999;
	e->size = e->length = INT64_MAX;
	e->file_index = INT64_MAX;
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	e->offset = INT64_MAX;
	e->length = 0;
	e->part = INT64_MAX;
	e->mtime_sec = INT64_MAX;
	tv_buf_reset(&b);
	assert_int_equal(tv_entry_encode(&b, e), 0);
	assert_int_equal(tv_entry_decode(b.d, b.len, e2, &used, NULL), 0);
	assert_memory_equal(e, e2, sizeof(*e));
	tv_buf_free(&b);
	free(e);
	free(e2);
}

static int entry_with_path(const char *path, int ftype, struct tv_entry *out)
{
	struct tv_entry *e = calloc(1, sizeof(*e));
	int rc;

	sample_entry(e);
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->ftype = (enum tv_ftype)ftype;
	if (ftype == TV_FT_SYMLINK || ftype == TV_FT_HARDLINK)
		strcpy(e->link, "t");
	if (ftype != TV_FT_REG) {
		e->size = e->offset = e->length = 0;
		e->part = 1;
	}
	rc = decode_fields(e, mask_of(e) | BIT(F_FTYPE), 0, NULL, out);
	free(e);
	return rc;
}

static void test_entry_paths(void **state)
{
	static const char *ok[] = { "a", "a/b", "a/..b/c..", "...", ".hidden", "a/.b",
	                            "a/b.", "..a", "a/b/c/d/e/f", "with space/\xc3\xa9t\xc3\xa9",
	                            "a\\b" };
	static const char *bad[] = { "", "/etc/passwd", "/", ".", "..", "./a", "a/.",
	                             "a/./b", "../x", "a/..", "a/../b", "a/../../etc",
	                             "a//b", "//a" };
	struct tv_entry *e = calloc(1, sizeof(*e));
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		for (int ft = TV_FT_REG; ft <= TV_FT_HARDLINK; ft++)
			if (entry_with_path(ok[i], ft, e) != 0)
				fail_msg("path \"%s\" (type %d) refused: %s", ok[i], ft,
				         tv_errdetail());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int ft = TV_FT_REG; ft <= TV_FT_HARDLINK; ft++) {
			struct tv_buf b;
			int rc = entry_with_path(bad[i], ft, e);
			if (rc != TV_ERR_FORMAT)
				fail_msg("path \"%s\" (type %d): %d, not a format error", bad[i], ft,
				         rc);
			assert_non_null(strstr(tv_errdetail(), "path"));
			/* and the encoder refuses to write it */
			sample_entry(e);
			snprintf(e->path, sizeof(e->path), "%s", bad[i]);
			tv_buf_init(&b);
			assert_int_equal(tv_buf_put(&b, "keep", 4), 0);
			assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
			assert_int_equal(b.len, 4);
			assert_memory_equal(b.d, "keep", 4);
			tv_buf_free(&b);
		}
	}
	assert_int_equal(entry_with_path("/abs", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "absolute"));
	assert_int_equal(entry_with_path("a/../b", TV_FT_REG, e), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "\"..\""));
	free(e);
}

static void test_entry_hostile(void **state)
{
	struct tv_entry *e = calloc(1, sizeof(*e)), *o = calloc(1, sizeof(*o));
	struct tv_buf x, b;
	size_t used, need;
	(void)state;

	tv_buf_init(&x);
	tv_buf_init(&b);
	sample_entry(e);
	assert_int_equal(decode_fields(e, mask_of(e), 0, NULL, o), 0);
	assert_memory_equal(e, o, sizeof(*e));
	/* every field in the list, defaults included: the same entry */
	assert_int_equal(decode_fields(e, (1u << F_N) - 1, 0, NULL, o), 0);
	/* unknown tags are skipped (tag 12 was v1's set name) */
	assert_int_equal(tv_tlv_put_str(&x, 12, "set name"), 0);
	assert_int_equal(tv_tlv_put_u64(&x, 999, 1), 0);
	assert_int_equal(tv_tlv_put_bytes(&x, 0xffff, "", 0), 0);
	assert_int_equal(decode_fields(e, mask_of(e), 0, &x, o), 0);
	assert_memory_equal(e, o, sizeof(*e));
	/* every field duplicated: refused, named */
	for (int f = 0; f < F_N; f++) {
		assert_int_equal(decode_fields(e, (1u << F_N) - 1, BIT(f), NULL, o),
		                 TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "duplicated"));
	}
	/* mandatory fields missing */
	{
		static const int mand[] = { F_PATH, F_FTYPE, F_SIZE, F_INDEX, F_LENGTH };
		for (size_t i = 0; i < 5; i++) {
			assert_int_equal(decode_fields(e, mask_of(e) & ~BIT(mand[i]), 0, NULL, o),
			                 TV_ERR_FORMAT);
			assert_non_null(strstr(tv_errdetail(), "missing"));
		}
	}
	/* unknown file types and flags change what the data means (a newer
	 * writer): unsupported, not malformed */
	{
		static const int ft[] = { 0, TV_FT_LAST + 1, 99, INT32_MAX };
		for (size_t i = 0; i < 4; i++) {
			sample_entry(e);
			e->ftype = (enum tv_ftype)ft[i];
			assert_int_equal(decode_fields(e, mask_of(e), 0, NULL, o), TV_ERR_UNSUPPORTED);
			assert_non_null(strstr(tv_errdetail(), "ftype"));
			assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
		}
		sample_entry(e);
		e->ftype = (enum tv_ftype)0;
		/* an ftype wider than an int: a format error */
		tv_buf_reset(&x);
		put_entry_fields(&x, e, mask_of(e) & ~BIT(F_FTYPE), 0);
		assert_int_equal(tv_tlv_put_u64(&x, 2, 1ull << 32), 0);
		tv_buf_reset(&b);
		wrap_entry(&b, &x);
		assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
	}
	{
		static const uint64_t fl[] = { 0x8, 0x9, 0x80, 1ull << 63 };
		for (size_t i = 0; i < 4; i++) {
			sample_entry(e);
			e->flags = fl[i];
			assert_int_equal(decode_fields(e, mask_of(e), 0, NULL, o), TV_ERR_UNSUPPORTED);
			assert_non_null(strstr(tv_errdetail(), "flags"));
			tv_buf_reset(&b);
			assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
			assert_int_equal(b.len, 0);
		}
	}
	/* ranges */
	{
		static const struct { int f; uint64_t v; } r[] = {
			{ F_MODE, 010000 }, { F_UID, 1ull << 32 }, { F_GID, 1ull << 32 },
			{ F_NSEC, 1000000000 }, { F_SIZE, 1ull << 63 }, { F_OFFSET, 1ull << 63 },
			{ F_INDEX, 1ull << 63 }, { F_PART, 0 }, { F_PART, 1ull << 63 },
			{ F_LENGTH, 1ull << 63 },
		};
		for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
			sample_entry(e);
			switch (r[i].f) {
			case F_MODE: e->mode = r[i].v; break;
			case F_UID: e->uid = r[i].v; break;
			case F_GID: e->gid = r[i].v; break;
			case F_NSEC: e->mtime_nsec = r[i].v; break;
			case F_SIZE: e->size = r[i].v; break;
			case F_OFFSET: e->offset = r[i].v; break;
			case F_INDEX: e->file_index = r[i].v; break;
			case F_PART: e->part = r[i].v; break;
			case F_LENGTH: e->length = r[i].v; break;
			}
			assert_int_equal(decode_fields(e, mask_of(e) | BIT(r[i].f), 0, NULL, o),
			                 TV_ERR_FORMAT);
			assert_non_null(strstr(tv_errdetail(), "range"));
			tv_buf_reset(&b);
			assert_int_not_equal(tv_entry_encode(&b, e), 0);
			assert_int_equal(b.len, 0);
		}
	}
	/* offset and length must describe the rest of the file from offset */
	{
		static const struct { uint64_t size, offset, length; int ok; } c[] = {
			{ 100, 0, 100, 1 }, { 100, 40, 60, 1 }, { 100, 100, 0, 1 },
			{ 100, 0, 99, 0 }, { 100, 0, 101, 0 }, { 100, 40, 100, 0 },
			{ 100, 101, 0, 0 }, { 100, 101, UINT64_MAX, 0 }, { 0, 0, 1, 0 },
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			int want = c[i].ok ? 0 : TV_ERR_FORMAT;
			sample_entry(e);
			e->size = c[i].size;
			e->offset = c[i].offset;
			e->length = c[i].length;
			if (c[i].length > INT64_MAX)
				want = TV_ERR_FORMAT;
			assert_int_equal(decode_fields(e, mask_of(e) | BIT(F_OFFSET), 0, NULL, o),
			                 want);
			tv_buf_reset(&b);
			assert_int_equal(tv_entry_encode(&b, e), c[i].ok ? 0 : TV_ERR_INVAL);
		}
	}
	/* directories and links carry no data and have one part; symbolic and
	 * hard links have a target, nothing else does */
	{
		for (int v = 0; v < 11; v++) {
			sample_entry(e);
			e->ftype = v < 4 ? TV_FT_DIR : v < 7 ? TV_FT_SYMLINK : TV_FT_HARDLINK;
			e->size = e->offset = e->length = 0;
			e->part = 1;
			e->flags = 0;
			if (e->ftype != TV_FT_DIR)
				strcpy(e->link, "target");
			switch (v) {
			case 0: e->length = 1; e->size = 1; break;
			case 1: e->offset = 1; e->size = 1; break;
			case 2: e->part = 2; break;
			case 3: strcpy(e->link, "x"); break;
			case 4: e->link[0] = '\0'; break;
			case 5: e->length = 5; e->size = 5; break;
			case 6: e->part = 3; break;
			case 7: e->link[0] = '\0'; break;
			case 8: e->length = 5; e->size = 5; break;
			case 9: e->offset = 2; e->size = 5; break;
			case 10: e->part = 2; break;
			}
			assert_int_equal(decode_fields(e, mask_of(e) | BIT(F_OFFSET) | BIT(F_PART),
			                               0, NULL, o), TV_ERR_FORMAT);
			tv_buf_reset(&b);
			assert_int_equal(tv_entry_encode(&b, e), TV_ERR_INVAL);
		}
		sample_entry(e);
		strcpy(e->link, "x");
		assert_int_equal(decode_fields(e, mask_of(e), 0, NULL, o), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "link"));
		/* a hard link: the size of the file it names, no data of its own */
		sample_entry(e);
		e->ftype = TV_FT_HARDLINK;
		strcpy(e->link, "srv/backups/job1/first-name.tvb");
		e->offset = e->length = 0;
		e->part = 1;
		assert_int_equal(decode_fields(e, mask_of(e), 0, NULL, o), 0);
		assert_memory_equal(e, o, sizeof(*e));
		tv_buf_reset(&b);
		assert_int_equal(tv_entry_encode(&b, e), 0);
	}
	/* strings: NUL inside, too long for the field */
	sample_entry(e);
	tv_buf_reset(&x);
	put_entry_fields(&x, e, mask_of(e) & ~BIT(F_PATH), 0);
	assert_int_equal(tv_tlv_put_bytes(&x, 1, "a\0b", 3), 0);
	tv_buf_reset(&b);
	wrap_entry(&b, &x);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "NUL"));
	{
		char *p = malloc(TV_PATH_MAX + 1);
		memset(p, 'a', TV_PATH_MAX);
		p[TV_PATH_MAX] = '\0';
		tv_buf_reset(&x);
		put_entry_fields(&x, e, mask_of(e) & ~BIT(F_PATH), 0);
		assert_int_equal(tv_tlv_put_str(&x, 1, p), 0);
		tv_buf_reset(&b);
		wrap_entry(&b, &x);
		assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "too long"));
		free(p);
	}
	/* integers of the wrong width */
	tv_buf_reset(&x);
	put_entry_fields(&x, e, mask_of(e) & ~BIT(F_SIZE), 0);
	assert_int_equal(tv_tlv_put_bytes(&x, 8, "1234567", 7), 0);
	tv_buf_reset(&b);
	wrap_entry(&b, &x);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
	/* a TLV running past the header's length */
	tv_buf_reset(&x);
	put_entry_fields(&x, e, mask_of(e), 0);
	tv_put_be32(x.d + 2, (uint32_t)x.len);   /* the path's length */
	tv_buf_reset(&b);
	wrap_entry(&b, &x);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
	/* a TLV cut inside its 6-byte header */
	tv_buf_reset(&x);
	put_entry_fields(&x, e, mask_of(e), 0);
	assert_int_equal(tv_buf_put(&x, "\x00\x63\x00", 3), 0);
	tv_buf_reset(&b);
	wrap_entry(&b, &x);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
	/* magic: another version, not an entry */
	tv_buf_reset(&x);
	put_entry_fields(&x, e, mask_of(e), 0);
	tv_buf_reset(&b);
	wrap_entry(&b, &x);
	b.d[3] = '1';
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, NULL), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "magic"));
	/* the header length: over its limit (refused before the bytes are
	 * there), at the limit (needs them) */
	memcpy(b.d, TV_ENTRY_MAGIC, 4);
	tv_put_be32(b.d + 4, TV_ENTRY_MAX + 1);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, &need), TV_ERR_FORMAT);
	tv_put_be32(b.d + 4, UINT32_MAX);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, &need), TV_ERR_FORMAT);
	tv_put_be32(b.d + 4, TV_ENTRY_MAX);
	assert_int_equal(tv_entry_decode(b.d, b.len, o, &used, &need), TV_ERR_EOF);
	assert_int_equal(need, TV_ENTRY_HDR + TV_ENTRY_MAX);
	/* an empty header: no mandatory fields */
	tv_put_be32(b.d + 4, 0);
	assert_int_equal(tv_entry_decode(b.d, TV_ENTRY_HDR, o, &used, &need), TV_ERR_FORMAT);
	tv_buf_free(&x);
	tv_buf_free(&b);
	free(e);
	free(o);
}

/* ---- catalog items ---- */

#define NITEMS 11

static void sample_items(struct tv_cat_item_v *v)
{
	size_t k = 0;

	memset(v, 0, NITEMS * sizeof(*v));
	v[k].type = TV_CI_TAPE;
	tl_fill_seq(v[k].u.tape.tape_uuid, 16, 1);
	strcpy(v[k].u.tape.barcode, "VT0001L9");
	v[k].u.tape.seq = 1;
	strcpy(v[k].u.tape.pool_name, "daily");
	tl_fill_seq(v[k].u.tape.pool_uuid, 16, 2);
	tl_fill_seq(v[k].u.tape.media_set_uuid, 16, 3);
	tl_fill_seq(v[k].u.tape.dek_fpr, 16, 4);
	v[k].u.tape.record_size = TV_RECORD_SIZE_DEFAULT;
	k++;
	v[k].type = TV_CI_TAPE;             /* unencrypted: no fingerprint */
	tl_fill_seq(v[k].u.tape.tape_uuid, 16, 0x11);
	v[k].u.tape.seq = 2;
	tl_fill_seq(v[k].u.tape.media_set_uuid, 16, 3);
	v[k].u.tape.record_size = TV_RECORD_SIZE_MAX;
	k++;
	v[k].type = TV_CI_SET;
	tl_fill_seq(v[k].u.set.set_uuid, 16, 5);
	strcpy(v[k].u.set.name, "job1 2024-03-13 02:00");
	v[k].u.set.created = 1710295200;
	v[k].u.set.first_seq = 1;
	v[k].u.set.last_seq = 2;
	v[k].u.set.complete = 1;
	v[k].u.set.nfiles = 10;
	v[k].u.set.nbytes = 1ull << 35;
	k++;
	v[k].type = TV_CI_DATA;
	v[k].u.data.tseq = 1;
	v[k].u.data.file_no = 2;
	tl_fill_seq(v[k].u.data.content_uuid, 16, 6);
	v[k].u.data.raw_bytes = 1ull << 34;
	v[k].u.data.stored_bytes = (1ull << 34) + 4096;
	v[k].u.data.complete = 1;
	k++;
	v[k].type = TV_CI_ENTRY;
	sample_entry(&v[k].u.entry.e);
	v[k].u.entry.loc.tseq = 2;
	v[k].u.entry.loc.file_no = 3;
	v[k].u.entry.loc.frame_off = 123456789;
	v[k].u.entry.loc.entry_off = TV_FRAME_RAW_MAX - 1;
	k++;
	v[k].type = TV_CI_ENTRY;            /* a directory, first part, at 0 */
	strcpy(v[k].u.entry.e.path, "srv");
	v[k].u.entry.e.ftype = TV_FT_DIR;
	v[k].u.entry.e.mode = 0755;
	v[k].u.entry.e.part = 1;
	v[k].u.entry.loc.tseq = 1;
	v[k].u.entry.loc.file_no = 2;
	k++;
	v[k].type = TV_CI_SET;              /* an interrupted set (tag 9) */
	tl_fill_seq(v[k].u.set.set_uuid, 16, 12);
	strcpy(v[k].u.set.name, "cut");
	v[k].u.set.first_seq = 1;
	v[k].u.set.last_seq = 1;
	v[k].u.set.nfiles = 3;
	v[k].u.set.state = TV_SET_INTERRUPTED;
	k++;
	v[k].type = TV_CI_PROBLEM;          /* one with an entry */
	strcpy(v[k].u.problem.path, "srv/data/grows.log");
	strcpy(v[k].u.problem.reason, "changed while it was read");
	v[k].u.problem.file_index = 2;
	v[k].u.problem.n = 0;
	k++;
	v[k].type = TV_CI_PROBLEM;          /* one without */
	strcpy(v[k].u.problem.path, "srv/secret");
	strcpy(v[k].u.problem.reason, "unreadable: cannot open: Permission denied");
	v[k].u.problem.file_index = TV_PROBLEM_NO_INDEX;
	v[k].u.problem.n = 1;
	k++;
	v[k].type = TV_CI_KEYRING;
	tl_fill_seq(v[k].u.ring.tape_uuid, 16, 9);
	tl_fill_seq(v[k].u.ring.dek_fpr, 16, 10);
	tl_fill_seq(v[k].u.ring.dek, 32, 11);
	k++;
	v[k].type = TV_CI_END;
	v[k].u.end_count = 7;
	k++;
	assert_int_equal(k, NITEMS);
}

/* The member of it->u that its type uses (the decoder sets only that). */
static size_t member_size(enum tv_cat_item t)
{
	switch (t) {
	case TV_CI_TAPE: return sizeof(struct tv_ci_tape);
	case TV_CI_SET: return sizeof(struct tv_ci_set);
	case TV_CI_ENTRY: return sizeof(struct tv_ci_entry);
	case TV_CI_KEYRING: return sizeof(struct tv_ci_keyring);
	case TV_CI_DATA: return sizeof(struct tv_ci_data);
	case TV_CI_PROBLEM: return sizeof(struct tv_ci_problem);
	case TV_CI_WRITER: return sizeof(struct tv_wsig);
	case TV_CI_DELETED: return sizeof(struct tv_ci_deleted);
	case TV_CI_END: return sizeof(uint64_t);
	}
	return 0;
}

static void assert_item_equal(const struct tv_cat_item_v *a, const struct tv_cat_item_v *b)
{
	assert_int_equal(a->type, b->type);
	assert_memory_equal(&a->u, &b->u, member_size(a->type));
}

/* The TLV body of an item, assembled by hand from v (independent of the
 * encoder's tables): the layout of format.h, tags ascending. */
static void put_item_fields(struct tv_buf *b, const struct tv_cat_item_v *v)
{
	const struct tv_ci_tape *t = &v->u.tape;
	const struct tv_ci_set *s = &v->u.set;
	const struct tv_ci_data *d = &v->u.data;
	const struct tv_ci_keyring *k = &v->u.ring;
	static const uint8_t zero[16];

	switch (v->type) {
	case TV_CI_TAPE:
		assert_int_equal(tv_tlv_put_bytes(b, 1, t->tape_uuid, 16), 0);
		assert_int_equal(tv_tlv_put_str(b, 2, t->barcode), 0);
		assert_int_equal(tv_tlv_put_u64(b, 3, t->seq), 0);
		assert_int_equal(tv_tlv_put_str(b, 4, t->pool_name), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 5, t->pool_uuid, 16), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 6, t->media_set_uuid, 16), 0);
		if (memcmp(t->dek_fpr, zero, 16) != 0)
			assert_int_equal(tv_tlv_put_bytes(b, 7, t->dek_fpr, 16), 0);
		assert_int_equal(tv_tlv_put_u64(b, 8, t->record_size), 0);
		break;
	case TV_CI_SET:
		assert_int_equal(tv_tlv_put_bytes(b, 1, s->set_uuid, 16), 0);
		assert_int_equal(tv_tlv_put_str(b, 2, s->name), 0);
		assert_int_equal(tv_tlv_put_u64(b, 3, s->created), 0);
		assert_int_equal(tv_tlv_put_u64(b, 4, s->first_seq), 0);
		assert_int_equal(tv_tlv_put_u64(b, 5, s->last_seq), 0);
		assert_int_equal(tv_tlv_put_u64(b, 6, s->complete), 0);
		assert_int_equal(tv_tlv_put_u64(b, 7, s->nfiles), 0);
		assert_int_equal(tv_tlv_put_u64(b, 8, s->nbytes), 0);
		if (s->state != 0)
			assert_int_equal(tv_tlv_put_u64(b, 9, s->state), 0);
		if (s->level != 0) {
			assert_int_equal(tv_tlv_put_u64(b, 10, s->level), 0);
			assert_int_equal(tv_tlv_put_bytes(b, 11, s->parent_uuid, 16), 0);
		}
		break;
	case TV_CI_DELETED:
		assert_int_equal(tv_tlv_put_str(b, 1, v->u.deleted.path), 0);
		assert_int_equal(tv_tlv_put_u64(b, 2, v->u.deleted.n), 0);
		break;
	case TV_CI_PROBLEM:
		assert_int_equal(tv_tlv_put_str(b, 1, v->u.problem.path), 0);
		assert_int_equal(tv_tlv_put_str(b, 2, v->u.problem.reason), 0);
		if (v->u.problem.file_index != TV_PROBLEM_NO_INDEX)
			assert_int_equal(tv_tlv_put_u64(b, 3, v->u.problem.file_index), 0);
		assert_int_equal(tv_tlv_put_u64(b, 4, v->u.problem.n), 0);
		break;
	case TV_CI_ENTRY:
		put_entry_fields(b, &v->u.entry.e, mask_of(&v->u.entry.e), 0);
		assert_int_equal(tv_tlv_put_u64(b, 32, v->u.entry.loc.tseq), 0);
		assert_int_equal(tv_tlv_put_u64(b, 33, v->u.entry.loc.file_no), 0);
		assert_int_equal(tv_tlv_put_u64(b, 34, v->u.entry.loc.frame_off), 0);
		assert_int_equal(tv_tlv_put_u64(b, 35, v->u.entry.loc.entry_off), 0);
		break;
	case TV_CI_KEYRING:
		assert_int_equal(tv_tlv_put_bytes(b, 1, k->tape_uuid, 16), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 2, k->dek_fpr, 16), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 3, k->dek, 32), 0);
		break;
	case TV_CI_END:
		assert_int_equal(tv_tlv_put_u64(b, 1, v->u.end_count), 0);
		break;
	case TV_CI_DATA:
		assert_int_equal(tv_tlv_put_u64(b, 1, d->tseq), 0);
		assert_int_equal(tv_tlv_put_u64(b, 2, d->file_no), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 3, d->content_uuid, 16), 0);
		assert_int_equal(tv_tlv_put_u64(b, 4, d->raw_bytes), 0);
		assert_int_equal(tv_tlv_put_u64(b, 5, d->stored_bytes), 0);
		assert_int_equal(tv_tlv_put_u64(b, 6, d->complete), 0);
		break;
	case TV_CI_WRITER:
		assert_int_equal(tv_tlv_put_u64(b, 1, v->u.wsig.alg), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 2, v->u.wsig.pub, 32), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 3, v->u.wsig.fpr, 32), 0);
		assert_int_equal(tv_tlv_put_bytes(b, 4, v->u.wsig.sig, 64), 0);
		break;
	}
}

static void test_items_layout_roundtrip(void **state)
{
	struct tv_cat_item_v *v = calloc(NITEMS, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_buf b, want, body;
	size_t ends[NITEMS], off = 0, used;
	(void)state;

	sample_items(v);
	tv_buf_init(&b);
	tv_buf_init(&want);
	tv_buf_init(&body);
	for (size_t i = 0; i < NITEMS; i++) {
		assert_int_equal(tv_cat_item_encode(&b, &v[i]), 0);
		ends[i] = b.len;
		tv_buf_reset(&body);
		put_item_fields(&body, &v[i]);
		wrap_item(&want, (uint8_t)v[i].type, &body);
		assert_int_equal(want.len, b.len);
	}
	assert_memory_equal(b.d, want.d, b.len);
	/* the numbers format.h gives the item types */
	assert_int_equal(TV_CI_TAPE, 1);
	assert_int_equal(TV_CI_SET, 2);
	assert_int_equal(TV_CI_ENTRY, 3);
	assert_int_equal(TV_CI_KEYRING, 4);
	assert_int_equal(TV_CI_END, 5);
	assert_int_equal(TV_CI_DATA, 6);
	for (size_t i = 0; i < NITEMS; i++) {
		memset(got, 0xee, sizeof(*got));
		assert_int_equal(tv_cat_item_decode(b.d + off, b.len - off, got, &used), 0);
		assert_item_equal(got, &v[i]);
		off += used;
		assert_int_equal(off, ends[i]);
	}
	assert_int_equal(tv_cat_item_decode(b.d + off, 0, got, &used), TV_ERR_EOF);
	/* any cut inside an item: need more bytes */
	off = 0;
	for (size_t i = 0; i < NITEMS; i++) {
		for (size_t cut = off; cut < ends[i]; cut++) {
			assert_int_equal(tv_cat_item_decode(b.d + off, cut - off, got, &used),
			                 TV_ERR_EOF);
			assert_int_equal(used, 0);
		}
		off = ends[i];
	}
	tv_buf_free(&b);
	tv_buf_free(&want);
	tv_buf_free(&body);
	free(v);
	free(got);
}

/* The mandatory tags of each item type (format.h). */
static int mandatory(enum tv_cat_item t, uint16_t tag)
{
	switch (t) {
	case TV_CI_TAPE: return tag == 1 || tag == 3 || tag == 6 || tag == 8;
	case TV_CI_SET: return tag == 1 || (tag >= 4 && tag <= 8);
	case TV_CI_ENTRY:
		return tag == 1 || tag == 2 || tag == 8 || tag == 13 || tag == 15 ||
		       (tag >= 32 && tag <= 35);
	case TV_CI_KEYRING: return tag >= 1 && tag <= 3;
	case TV_CI_END: return tag == 1;
	case TV_CI_DATA: return tag >= 1 && tag <= 6;
	case TV_CI_PROBLEM: return tag == 1 || tag == 2 || tag == 4;
	case TV_CI_WRITER: return tag >= 1 && tag <= 4;
	case TV_CI_DELETED: return tag == 1 || tag == 2;
	}
	return 0;
}

/* Decodes one item made of type and raw body. */
static int item_raw(uint8_t type, const struct tv_buf *body, struct tv_cat_item_v *got,
                    size_t *used)
{
	struct tv_buf b;
	int rc;

	tv_buf_init(&b);
	wrap_item(&b, type, body);
	rc = tv_cat_item_decode(b.d, b.len, got, used);
	if (rc == 0)
		assert_int_equal(*used, b.len);
	tv_buf_free(&b);
	return rc;
}

/* v[i]'s body, with one u64 field (tag) replaced by value. */
static int item_with(const struct tv_cat_item_v *v, uint16_t tag, uint64_t value,
                     struct tv_cat_item_v *got)
{
	struct tv_buf body, edited;
	struct tv_tlv t;
	size_t used;
	int rc, found = 0;

	tv_buf_init(&body);
	tv_buf_init(&edited);
	put_item_fields(&body, v);
	while (tv_tlv_next(&body, &t) == 0) {
		if (t.tag == tag) {
			assert_int_equal(tv_tlv_put_u64(&edited, tag, value), 0);
			found = 1;
		} else {
			assert_int_equal(tv_tlv_put_bytes(&edited, t.tag, t.val, t.len), 0);
		}
	}
	if (!found)
		assert_int_equal(tv_tlv_put_u64(&edited, tag, value), 0);
	rc = item_raw((uint8_t)v->type, &edited, got, &used);
	tv_buf_free(&body);
	tv_buf_free(&edited);
	return rc;
}

/* Incremental sets (docs/FORMAT.md 11.2): a SET item's level and parent,
 * an ENTRY item's change time and inode, DELETED items; what a tape may
 * not say is refused. */
static void test_items_incremental(void **state)
{
	struct tv_cat_item_v *v = calloc(NITEMS, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_cat_item_v *d = calloc(1, sizeof(*d));
	struct tv_buf b, body;
	size_t used;
	(void)state;

	sample_items(v);
	tv_buf_init(&b);
	tv_buf_init(&body);
	/* an incremental set round-trips with its level and parent */
	v[2].u.set.level = TV_LEVEL_INCREMENTAL;
	tl_fill_seq(v[2].u.set.parent_uuid, 16, 0x40);
	assert_int_equal(tv_cat_item_encode(&b, &v[2]), 0);
	assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), 0);
	assert_int_equal(used, b.len);
	assert_memory_equal(&got->u.set, &v[2].u.set, sizeof(got->u.set));
	/* level out of range, missing or wrong parent: refused both ways */
	assert_int_equal(item_with(&v[2], 10, 3, got), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "level"));
	v[2].u.set.level = 3;
	tv_buf_reset(&b);
	assert_int_equal(tv_cat_item_encode(&b, &v[2]), TV_ERR_INVAL);
	v[2].u.set.level = TV_LEVEL_DIFFERENTIAL;
	memset(v[2].u.set.parent_uuid, 0, 16);
	assert_int_equal(tv_cat_item_encode(&b, &v[2]), TV_ERR_INVAL);
	memcpy(v[2].u.set.parent_uuid, v[2].u.set.set_uuid, 16);
	assert_int_equal(tv_cat_item_encode(&b, &v[2]), TV_ERR_INVAL);
	assert_int_equal(b.len, 0);
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, v[2].u.set.set_uuid, 16), 0);
	for (uint16_t tag = 4; tag <= 8; tag++)
		assert_int_equal(tv_tlv_put_u64(&body, tag, 1), 0);
	assert_int_equal(tv_tlv_put_u64(&body, 10, TV_LEVEL_INCREMENTAL), 0);
	assert_int_equal(item_raw(TV_CI_SET, &body, got, &used), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "without its parent"));
	assert_int_equal(tv_tlv_put_bytes(&body, 11, v[2].u.set.set_uuid, 16), 0);
	assert_int_equal(item_raw(TV_CI_SET, &body, got, &used), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "its own parent"));
	/* a full with a parent */
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, v[2].u.set.set_uuid, 16), 0);
	for (uint16_t tag = 4; tag <= 8; tag++)
		assert_int_equal(tv_tlv_put_u64(&body, tag, 1), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 11, v[2].u.set.parent_uuid, 16), 0);
	assert_int_equal(item_raw(TV_CI_SET, &body, got, &used), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "a full set with a parent"));
	/* deleted items: round trip; unsafe paths refused */
	d->type = TV_CI_DELETED;
	strcpy(d->u.deleted.path, "srv/data/gone.txt");
	d->u.deleted.n = 3;
	tv_buf_reset(&b);
	assert_int_equal(tv_cat_item_encode(&b, d), 0);
	assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), 0);
	assert_int_equal(got->type, TV_CI_DELETED);
	assert_string_equal(got->u.deleted.path, "srv/data/gone.txt");
	assert_int_equal(got->u.deleted.n, 3);
	{
		static const char *const bad[] = { "", "/etc/passwd", "a/../b", "a//b", "a/", ".." };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			tv_buf_reset(&body);
			assert_int_equal(tv_tlv_put_str(&body, 1, bad[i]), 0);
			assert_int_equal(tv_tlv_put_u64(&body, 2, 0), 0);
			assert_int_equal(item_raw(TV_CI_DELETED, &body, got, &used), TV_ERR_FORMAT);
			strcpy(d->u.deleted.path, bad[i]);
			tv_buf_reset(&b);
			assert_int_equal(tv_cat_item_encode(&b, d), TV_ERR_INVAL);
			assert_int_equal(b.len, 0);
		}
	}
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_u64(&body, 2, 0), 0);
	assert_int_equal(item_raw(TV_CI_DELETED, &body, got, &used), TV_ERR_FORMAT);
	/* an entry item's change time and inode round-trip; absent: not said */
	for (size_t k = 0; k < NITEMS; k++) {
		if (v[k].type != TV_CI_ENTRY)
			continue;
		v[k].u.entry.has_state = 1;
		v[k].u.entry.ctime_sec = -5;
		v[k].u.entry.ctime_nsec = 999999999;
		v[k].u.entry.ino = UINT64_MAX;
		tv_buf_reset(&b);
		assert_int_equal(tv_cat_item_encode(&b, &v[k]), 0);
		assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), 0);
		assert_int_equal(got->u.entry.has_state, 1);
		assert_int_equal(got->u.entry.ctime_sec, -5);
		assert_int_equal(got->u.entry.ctime_nsec, 999999999);
		assert_true(got->u.entry.ino == UINT64_MAX);
		assert_int_equal(item_with(&v[k], 37, 1000000000, got), TV_ERR_FORMAT);
		v[k].u.entry.has_state = 0;
		tv_buf_reset(&b);
		assert_int_equal(tv_cat_item_encode(&b, &v[k]), 0);
		assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), 0);
		assert_int_equal(got->u.entry.has_state, 0);
		break;
	}
	tv_buf_free(&b);
	tv_buf_free(&body);
	free(v);
	free(got);
	free(d);
}

static void test_items_hostile(void **state)
{
	struct tv_cat_item_v *v = calloc(NITEMS, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_buf b, body;
	size_t used;
	(void)state;

	sample_items(v);
	tv_buf_init(&b);
	tv_buf_init(&body);
	/* unknown item types (a newer writer) come back with their type and
	 * length, nothing else, so that readers skip them (and count them) */
	{
		/* 7: problem, 8: writer, 9: deleted */
		static const uint8_t types[] = { 0, 10, 11, 200, 255 };
		for (size_t i = 0; i < sizeof(types); i++) {
			tv_buf_reset(&b);
			assert_int_equal(tv_buf_put_u8(&b, types[i]), 0);
			assert_int_equal(tv_buf_put_u32(&b, 3), 0);
			assert_int_equal(tv_buf_put(&b, "xyz", 3), 0);
			assert_int_equal(tv_cat_item_encode(&b, &v[NITEMS - 1]), 0);
			assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), 0);
			assert_int_equal((int)got->type, types[i]);
			assert_int_equal(used, 8);
			assert_int_equal(tv_cat_item_decode(b.d + used, b.len - used, got, &used), 0);
			assert_int_equal(got->type, TV_CI_END);
			assert_int_equal(got->u.end_count, 7);
			/* an unknown type's body is not looked at, even when empty */
			tv_buf_reset(&body);
			assert_int_equal(item_raw(types[i], &body, got, &used), 0);
		}
	}
	/* oversize items: refused as soon as the length is seen */
	tv_buf_reset(&b);
	assert_int_equal(tv_buf_put_u8(&b, TV_CI_SET), 0);
	assert_int_equal(tv_buf_put_u32(&b, TV_CI_MAX + 1), 0);
	assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), TV_ERR_FORMAT);
	b.d[0] = 99;   /* whatever the type */
	assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), TV_ERR_FORMAT);
	tv_put_be32(b.d + 1, TV_CI_MAX);
	assert_int_equal(tv_cat_item_decode(b.d, b.len, got, &used), TV_ERR_EOF);
	/* every known type: unknown tags skipped; every tag duplicated; every
	 * mandatory field missing; a body that is not TLV */
	for (size_t i = 0; i < NITEMS; i++) {
		struct tv_tlv t;
		struct tv_buf full;
		size_t ntags = 0;
		uint16_t tags[32];
		tv_buf_init(&full);
		put_item_fields(&full, &v[i]);
		while (tv_tlv_next(&full, &t) == 0)
			tags[ntags++] = t.tag;
		tv_buf_reset(&body);
		assert_int_equal(tv_tlv_put_u64(&body, 999, 1), 0);
		assert_int_equal(tv_buf_put(&body, full.d, full.len), 0);
		assert_int_equal(tv_tlv_put_str(&body, 31, "future"), 0);
		assert_int_equal(item_raw((uint8_t)v[i].type, &body, got, &used), 0);
		assert_item_equal(got, &v[i]);
		for (size_t k = 0; k < ntags; k++) {
			struct tv_buf dup, miss;
			int rc;
			tv_buf_init(&dup);
			tv_buf_init(&miss);
			full.off = 0;
			while (tv_tlv_next(&full, &t) == 0) {
				assert_int_equal(tv_tlv_put_bytes(&dup, t.tag, t.val, t.len), 0);
				if (t.tag == tags[k])
					assert_int_equal(tv_tlv_put_bytes(&dup, t.tag, t.val, t.len), 0);
				else
					assert_int_equal(tv_tlv_put_bytes(&miss, t.tag, t.val, t.len), 0);
			}
			assert_int_equal(item_raw((uint8_t)v[i].type, &dup, got, &used),
			                 TV_ERR_FORMAT);
			assert_non_null(strstr(tv_errdetail(), "duplicated"));
			rc = item_raw((uint8_t)v[i].type, &miss, got, &used);
			if (mandatory(v[i].type, tags[k])) {
				assert_int_equal(rc, TV_ERR_FORMAT);
				assert_non_null(strstr(tv_errdetail(), "missing"));
			} else if (v[i].type == TV_CI_ENTRY && tags[k] == 9) {
				/* without its offset the part no longer adds up */
				assert_int_equal(rc, TV_ERR_FORMAT);
			} else if (rc != 0) {
				fail_msg("item type %d without optional tag %u: %d (%s)",
				         (int)v[i].type, (unsigned)tags[k], rc, tv_errdetail());
			}
			tv_buf_free(&dup);
			tv_buf_free(&miss);
		}
		/* a TLV cut short inside the item */
		tv_buf_reset(&body);
		assert_int_equal(tv_buf_put(&body, full.d, full.len), 0);
		assert_int_equal(tv_buf_put(&body, "\x00\x01\x00\x00\x00\x10" "abc", 9), 0);
		assert_int_equal(item_raw((uint8_t)v[i].type, &body, got, &used), TV_ERR_FORMAT);
		tv_buf_free(&full);
	}
	/* ranges */
	assert_int_equal(item_with(&v[0], 3, 0, got), TV_ERR_FORMAT);            /* seq */
	assert_int_equal(item_with(&v[0], 8, TV_RECORD_SIZE_MIN - 1, got), TV_ERR_FORMAT);
	assert_int_equal(item_with(&v[0], 8, TV_RECORD_SIZE_MAX + 1, got), TV_ERR_FORMAT);
	assert_int_equal(item_with(&v[2], 6, 2, got), TV_ERR_FORMAT);            /* complete */
	assert_int_equal(item_with(&v[2], 5, 0, got), TV_ERR_FORMAT);            /* last_seq */
	assert_int_equal(item_with(&v[2], 4, 3, got), TV_ERR_FORMAT);   /* first after last */
	assert_non_null(strstr(tv_errdetail(), "last_seq"));
	assert_int_equal(item_with(&v[2], 7, 1ull << 63, got), TV_ERR_FORMAT);   /* nfiles */
	assert_int_equal(item_with(&v[3], 1, 0, got), TV_ERR_FORMAT);            /* tseq */
	assert_int_equal(item_with(&v[3], 2, 1, got), TV_ERR_FORMAT);  /* files 0, 1: labels */
	assert_int_equal(item_with(&v[3], 2, 2, got), 0);
	assert_int_equal(item_with(&v[3], 6, 2, got), TV_ERR_FORMAT);            /* complete */
	assert_int_equal(item_with(&v[3], 4, 1ull << 63, got), TV_ERR_FORMAT);
	assert_int_equal(item_with(&v[4], 32, 0, got), TV_ERR_FORMAT);           /* loc.tseq */
	assert_int_equal(item_with(&v[4], 33, 1, got), TV_ERR_FORMAT);           /* file_no */
	assert_int_equal(item_with(&v[4], 34, 1ull << 63, got), TV_ERR_FORMAT);  /* frame_off */
	assert_int_equal(item_with(&v[4], 35, TV_FRAME_RAW_MAX, got), TV_ERR_FORMAT);
	assert_int_equal(item_with(&v[7], 1, UINT64_MAX, got), 0);               /* END */
	assert_int_equal(got->u.end_count, UINT64_MAX);
	/* an entry item follows the entry rules */
	assert_int_equal(item_with(&v[4], 2, TV_FT_LAST + 1, got), TV_ERR_UNSUPPORTED); /* ftype */
	assert_int_equal(item_with(&v[4], 11, 0x10, got), TV_ERR_UNSUPPORTED);   /* flags */
	assert_int_equal(item_with(&v[4], 15, 1, got), TV_ERR_FORMAT);           /* length */
	assert_int_equal(item_with(&v[4], 14, 0, got), TV_ERR_FORMAT);           /* part */
	assert_int_equal(item_with(&v[5], 15, 1, got), TV_ERR_FORMAT);     /* dir with data */
	{
		struct tv_cat_item_v *w = calloc(1, sizeof(*w));
		static const char *bad[] = { "", "/srv", "a/../b", ".", "a//b" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			*w = v[4];
			strcpy(w->u.entry.e.path, bad[i]);
			tv_buf_reset(&body);
			put_item_fields(&body, w);
			assert_int_equal(item_raw(TV_CI_ENTRY, &body, got, &used), TV_ERR_FORMAT);
			tv_buf_reset(&b);
			assert_int_equal(tv_cat_item_encode(&b, w), TV_ERR_INVAL);
			assert_int_equal(b.len, 0);
		}
		/* a DATA item is only a tape file's bytes; file numbers from 2 */
		*w = v[3];
		w->u.data.file_no = 1;
		assert_int_equal(tv_cat_item_encode(&b, w), TV_ERR_INVAL);
		free(w);
	}
	/* a key ring with a short key: refused, nothing left behind */
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, v[6].u.ring.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 2, v[6].u.ring.dek_fpr, 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 3, v[6].u.ring.dek, 31), 0);
	memset(got, 0, sizeof(*got));
	assert_int_equal(item_raw(TV_CI_KEYRING, &body, got, &used), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "dek"));
	for (size_t i = 0; i < sizeof(got->u); i++)
		assert_int_equal(((uint8_t *)&got->u)[i], 0);
	/* ... also when the key came first and a later field was bad */
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_bytes(&body, 3, v[6].u.ring.dek, 32), 0);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, v[6].u.ring.tape_uuid, 15), 0);
	assert_int_equal(item_raw(TV_CI_KEYRING, &body, got, &used), TV_ERR_FORMAT);
	for (size_t i = 0; i < sizeof(got->u); i++)
		assert_int_equal(((uint8_t *)&got->u)[i], 0);
	/* the encoder refuses what the decoder would, leaving the buffer */
	tv_buf_reset(&b);
	assert_int_equal(tv_buf_put(&b, "keep", 4), 0);
	v[2].u.set.last_seq = 0;
	assert_int_equal(tv_cat_item_encode(&b, &v[2]), TV_ERR_INVAL);
	v[2].u.set.last_seq = 2;
	v[2].u.set.complete = 2;
	assert_int_equal(tv_cat_item_encode(&b, &v[2]), TV_ERR_INVAL);
	v[0].u.tape.record_size = 100;
	assert_int_equal(tv_cat_item_encode(&b, &v[0]), TV_ERR_INVAL);
	v[0].type = (enum tv_cat_item)12;
	assert_int_equal(tv_cat_item_encode(&b, &v[0]), TV_ERR_INVAL);
	v[0].type = (enum tv_cat_item)0;
	assert_int_equal(tv_cat_item_encode(&b, &v[0]), TV_ERR_INVAL);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.d, "keep", 4);
	tv_buf_free(&b);
	tv_buf_free(&body);
	free(v);
	free(got);
}

/* ---- through the writer and the entry cursor ---- */

static const uint8_t tape_uuid[16] = { 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
                                       0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f };
static const uint8_t dek[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                 31, 32 };

struct placed {
	uint64_t frame_off[64];
	uint64_t index[64];
	size_t n;
};

static int on_placed(void *ctx, uint32_t file_no, uint64_t index, uint64_t off,
                     const uint8_t *side, size_t side_len)
{
	struct placed *p = ctx;
	(void)file_no;
	(void)side;
	(void)side_len;
	if (p->n < 64) {
		p->index[p->n] = index;
		p->frame_off[p->n] = off;
		p->n++;
	}
	return 0;
}

static struct tv_twriter *writer(struct memtape *m, struct placed *pl, int zstd)
{
	struct tv_twriter_opts o = { .record_size = RS, .workers = 2 };
	struct tv_twriter *w;

	o.comp.method = zstd ? TV_COMP_ZSTD : TV_COMP_STORED;
	o.comp.level = 1;
	o.placed = on_placed;
	o.placed_ctx = pl;
	assert_int_equal(tv_twriter_open(&w, &m->base, "T9", tape_uuid, &o), 0);
	return w;
}

static struct tv_treader *reader(struct memtape *m)
{
	struct tv_treader_opts o = { .workers = 2 };
	struct tv_treader *r;

	m->pos = 0;
	assert_int_equal(tv_treader_open(&r, &m->base, "T9", tape_uuid, &o), 0);
	tv_treader_set_record_size(r, RS);
	return r;
}

static void begin(struct tv_treader *r, const uint8_t *key, enum tv_content_type want)
{
	struct tv_content_header ch;
	uint64_t fno;
	int sealed;

	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(ch.type, want);
	assert_int_equal(tv_treader_set_key(r, key, NULL, 0), 0);
}

#define NENT 40

/* Entry i of the data file test: big headers (paths of up to 4 KiB) and
 * data of various sizes; data lengths are planned so that some headers
 * begin just before a frame ends (even inside their 8 fixed bytes), so
 * that they straddle frames. */
#define DATA_MAX 70000
static uint64_t lens[NENT];

static void entry_base(struct tv_entry *e, unsigned i)
{
	size_t plen = 1 + (i * 977) % 4000;
	memset(e, 0, sizeof(*e));
	for (size_t k = 0; k < plen; k++)
		e->path[k] = (char)('a' + (i + k) % 26);
	if (plen > 10)
		e->path[plen / 2] = '/';
	e->ftype = i % 5 == 4 ? TV_FT_DIR : TV_FT_REG;
	e->mode = 0644;
	e->file_index = i;
	e->part = 1;
}

static void entry_i(struct tv_entry *e, unsigned i)
{
	entry_base(e, i);
	if (e->ftype == TV_FT_REG)
		e->size = e->length = lens[i];
}

static void plan_lengths(void)
{
	static const size_t before_end[] = { 100, 3, 7, 1000 };
	struct tv_entry *e = malloc(sizeof(*e));
	size_t fsize = tv_frame_raw_size(RS), pos = 0;
	struct tv_buf b;

	tv_buf_init(&b);
	for (unsigned i = 0; i < NENT; i++) {
		entry_base(e, i);
		lens[i] = (i * 7919) % 50000;
		if (e->ftype == TV_FT_REG && i % 3 == 1) {
			size_t want = before_end[(i / 3) % 4];
			e->size = e->length = 0;
			tv_buf_reset(&b);
			assert_int_equal(tv_entry_encode(&b, e), 0);
			/* the next header then begins `want` bytes before a frame ends */
			lens[i] = (2 * fsize - want - (pos + b.len) % fsize) % fsize;
		}
		if (e->ftype != TV_FT_REG)
			lens[i] = 0;
		entry_i(e, i);
		tv_buf_reset(&b);
		assert_int_equal(tv_entry_encode(&b, e), 0);
		pos += b.len + lens[i];
	}
	tv_buf_free(&b);
	free(e);
}

static void entry_data(uint8_t *p, size_t n, unsigned i)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(i * 31 + k * 7);
}

/* Writes the data file test's entries as file 2; loc[i] where they went. */
static void write_entries(struct memtape *m, const uint8_t *key, int zstd,
                          struct tv_loc *loc, uint8_t content[16])
{
	struct placed pl = { .n = 0 };
	struct tv_twriter *w = writer(m, &pl, zstd);
	struct tv_entry *e = malloc(sizeof(*e));
	struct tv_buf b;
	uint8_t *data = malloc(DATA_MAX);
	uint64_t fidx[NENT];
	int straddling = 0;

	tv_buf_init(&b);
	tl_fill_seq(content, 16, 0xc0);
	assert_int_equal(tv_twriter_begin_file(w, 2, TV_CT_DATA, content, "h", 1, key), 0);
	for (unsigned i = 0; i < NENT; i++) {
		uint32_t eo;
		entry_i(e, i);
		tv_buf_reset(&b);
		assert_int_equal(tv_entry_encode(&b, e), 0);
		assert_int_equal(tv_twriter_mark(w, &fidx[i], &eo), 0);
		loc[i].entry_off = eo;
		if (eo + b.len > tv_frame_raw_size(RS))
			straddling++;   /* the header continues in the next frame */
		assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
		entry_data(data, e->length, i);
		assert_int_equal(tv_twriter_write(w, data, e->length), 0);
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_true(straddling >= 6);
	for (unsigned i = 0; i < NENT; i++) {
		assert_true(fidx[i] < pl.n);
		assert_int_equal(pl.index[fidx[i]], fidx[i]);
		loc[i].frame_off = pl.frame_off[fidx[i]];
		loc[i].file_no = 2;
	}
	tv_buf_free(&b);
	free(e);
	free(data);
}

/* Reads every entry with its data, from the start of file 2. */
static void check_entries(struct memtape *m, const uint8_t *key, const struct tv_loc *want)
{
	struct tv_treader *r = reader(m);
	struct tv_ecursor *c;
	struct tv_entry *e = malloc(sizeof(*e)), *x = malloc(sizeof(*x));
	uint8_t *data = malloc(DATA_MAX), *expect = malloc(DATA_MAX);
	struct tv_loc loc;
	unsigned i = 0;
	int rc;

	assert_int_equal(tv_tape_space_files(&m->base, 2), 0);
	begin(r, key, TV_CT_DATA);
	assert_int_equal(tv_ecursor_open(&c, r, TV_CT_DATA, 0), 0);
	assert_int_equal(tv_ecursor_item(c, NULL, NULL), TV_ERR_STATE);
	while ((rc = tv_ecursor_next(c, e, &loc)) == 1) {
		const uint8_t *p;
		size_t n, got = 0;
		int cont;
		assert_true(i < NENT);
		entry_i(x, i);
		assert_memory_equal(e, x, sizeof(*e));
		assert_true(loc.frame_off == want[i].frame_off);
		assert_true(loc.entry_off == want[i].entry_off);
		/* every other entry: its data is read; else passed over */
		if (i % 2 == 0) {
			while ((rc = tv_ecursor_data(c, &p, &n, &cont)) == 1) {
				assert_true(got + n <= e->length);
				memcpy(data + got, p, n);
				got += n;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(got, e->length);
			entry_data(expect, got, i);
			assert_memory_equal(data, expect, got);
		}
		i++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(i, NENT);
	tv_ecursor_close(c);
	tv_treader_close(r);
	free(e);
	free(x);
	free(data);
	free(expect);
}

static void entries_roundtrip(const uint8_t *key, int zstd)
{
	struct memtape *m = memtape_new();
	struct tv_loc loc[NENT];
	struct tv_entry *e = malloc(sizeof(*e)), *x = malloc(sizeof(*x));
	uint8_t content[16];
	struct tv_treader *r;

	plan_lengths();
	/* files 0 and 1 as label stand-ins, so that the data file is file 2 */
	assert_int_equal(mt_write_fm(&m->base, 1), 0);
	assert_int_equal(mt_write_fm(&m->base, 1), 0);
	write_entries(m, key, zstd, loc, content);
	check_entries(m, key, loc);
	/* positioned at an entry by its location (as a restore does): that
	 * entry, then the next ones */
	r = reader(m);
	for (unsigned i = 0; i < NENT; i += 7) {
		struct tv_ecursor *c;
		struct tv_loc got;
		assert_int_equal(tv_treader_seek(r, 2, loc[i].frame_off, content, key, 1), 0);
		assert_int_equal(tv_ecursor_open(&c, r, TV_CT_DATA, (uint32_t)loc[i].entry_off),
		                 0);
		for (unsigned k = i; k < i + 3 && k < NENT; k++) {
			assert_int_equal(tv_ecursor_next(c, e, &got), 1);
			entry_i(x, k);
			assert_memory_equal(e, x, sizeof(*e));
			assert_true(got.frame_off == loc[k].frame_off);
		}
		tv_ecursor_close(c);
	}
	tv_treader_close(r);
	tv_tape_close(&m->base);
	free(e);
	free(x);
}

static void test_cursor_entries_plain(void **state) { (void)state; entries_roundtrip(NULL, 0); }
static void test_cursor_entries_sealed(void **state) { (void)state; entries_roundtrip(dek, 0); }
static void test_cursor_entries_zstd(void **state) { (void)state; entries_roundtrip(dek, 1); }

/* A cut-off entry: its data ends early with the file; CONT says it goes
 * on in a later tape file. */
static void test_cursor_cont(void **state)
{
	struct memtape *m = memtape_new();
	struct placed pl = { .n = 0 };
	struct tv_twriter *w = writer(m, &pl, 0);
	struct tv_treader *r;
	struct tv_ecursor *c;
	struct tv_entry *e = malloc(sizeof(*e));
	struct tv_buf b;
	uint8_t content[16] = { 9 }, data[3000];
	const uint8_t *p;
	size_t n, got = 0;
	uint64_t fi;
	uint32_t eo;
	int cont, rc;
	(void)state;

	tv_buf_init(&b);
	sample_entry(e);
	e->size = 10000;
	e->offset = 0;
	e->length = 10000;
	e->part = 1;
	e->flags = 0;
	assert_int_equal(tv_entry_encode(&b, e), 0);
	tl_fill_seq(data, sizeof(data), 1);
	for (int cut = 0; cut < 2; cut++) {
		m->pos = 0;
		assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_DATA, content, NULL, 0, NULL),
		                 0);
		assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
		assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
		assert_int_equal(tv_twriter_write(w, data, sizeof(data)), 0);
		assert_int_equal(tv_twriter_end_file(w, !cut, NULL), 0);
		assert_int_equal(tv_twriter_sync(w), 0);
		r = reader(m);
		begin(r, NULL, TV_CT_DATA);
		assert_int_equal(tv_ecursor_open(&c, r, TV_CT_DATA, 0), 0);
		assert_int_equal(tv_ecursor_next(c, e, NULL), 1);
		got = 0;
		while ((rc = tv_ecursor_data(c, &p, &n, &cont)) == 1)
			got += n;
		assert_int_equal(rc, TV_ERR_EOF);
		assert_int_equal(got, sizeof(data));
		assert_int_equal(cont, !cut);
		assert_int_equal(tv_ecursor_next(c, e, NULL), 0);
		tv_ecursor_close(c);
		tv_treader_close(r);
		mt_truncate(m, 0);
		m->pos = 0;
	}
	assert_int_equal(tv_twriter_close(w), 0);
	tv_buf_free(&b);
	free(e);
	tv_tape_close(&m->base);
}

/* Entries and items of a newer kind (an unknown file type or flag): each
 * is reported once, unsupported, and passed over by its length; the ones
 * after it come back. */
static void test_cursor_newer_kinds(void **state)
{
	struct memtape *m = memtape_new();
	struct placed pl = { .n = 0 };
	struct tv_twriter *w = writer(m, &pl, 0);
	struct tv_treader *r;
	struct tv_ecursor *c;
	struct tv_entry *e = malloc(sizeof(*e));
	struct tv_cat_item_v *v = calloc(NITEMS, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_buf b, body;
	uint8_t content[16] = { 5 }, data[100];
	const uint8_t *p;
	size_t n;
	uint64_t fi;
	uint32_t eo;
	int cont;
	(void)state;

	tv_buf_init(&b);
	tv_buf_init(&body);
	tl_fill_seq(data, sizeof(data), 0x41);
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_DATA, content, NULL, 0, NULL), 0);
	for (int k = 0; k < 3; k++) {
		sample_entry(e);
		e->size = e->length = sizeof(data);
		e->offset = 0;
		e->part = 1;
		e->file_index = (uint64_t)k;
		if (k == 1)
			e->ftype = (enum tv_ftype)(TV_FT_LAST + 1);   /* from the future */
		tv_buf_reset(&body);
		tv_buf_reset(&b);
		put_entry_fields(&body, e, mask_of(e), 0);
		wrap_entry(&b, &body);
		assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
		assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
		assert_int_equal(tv_twriter_write(w, data, sizeof(data)), 0);
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	r = reader(m);
	begin(r, NULL, TV_CT_DATA);
	assert_int_equal(tv_ecursor_open(&c, r, TV_CT_DATA, 0), 0);
	assert_int_equal(tv_ecursor_next(c, e, NULL), 1);
	assert_int_equal(e->file_index, 0);
	assert_int_equal(tv_ecursor_next(c, e, NULL), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "ftype"));
	assert_int_equal(tv_ecursor_next(c, e, NULL), 1);   /* its data passed over */
	assert_int_equal(e->file_index, 2);
	assert_int_equal(tv_ecursor_data(c, &p, &n, &cont), 1);
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(p, data, n);
	assert_int_equal(tv_ecursor_next(c, e, NULL), 0);
	tv_ecursor_close(c);
	tv_treader_close(r);
	tv_tape_close(&m->base);

	/* a catalog: an entry item with an unknown flag between two others */
	sample_items(v);
	m = memtape_new();
	w = writer(m, &pl, 0);
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_CATALOG, content, NULL, 0, NULL), 0);
	for (int k = 0; k < 3; k++) {
		struct tv_cat_item_v it = v[4];
		tv_buf_reset(&body);
		tv_buf_reset(&b);
		if (k == 1)
			it.u.entry.e.flags |= 0x100;
		put_item_fields(&body, &it);
		wrap_item(&b, TV_CI_ENTRY, &body);
		assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
		assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	r = reader(m);
	begin(r, NULL, TV_CT_CATALOG);
	assert_int_equal(tv_ecursor_open(&c, r, TV_CT_CATALOG, 0), 0);
	assert_int_equal(tv_ecursor_item(c, got, NULL), 1);
	assert_int_equal(tv_ecursor_item(c, got, NULL), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "flags"));
	assert_int_equal(tv_ecursor_item(c, got, NULL), 1);
	assert_item_equal(got, &v[4]);
	assert_int_equal(tv_ecursor_item(c, got, NULL), 0);
	tv_ecursor_close(c);
	tv_treader_close(r);
	tv_tape_close(&m->base);
	tv_buf_free(&b);
	tv_buf_free(&body);
	free(e);
	free(v);
	free(got);
}

/* A catalog file: every item type, unknown ones in between, large items
 * straddling frames; then damage: an item that does not decode, a header
 * over its limit, a lying frame header. */
static void test_cursor_catalog(void **state)
{
	struct tv_cat_item_v *v = calloc(NITEMS, sizeof(*v)), *got = calloc(1, sizeof(*got));
	struct tv_cat_item_v *big = calloc(1, sizeof(*big));
	struct memtape *m = memtape_new();
	struct placed pl = { .n = 0 };
	struct tv_twriter *w = writer(m, &pl, 0);
	struct tv_treader *r;
	struct tv_ecursor *c;
	struct tv_buf b;
	uint8_t content[16] = { 7 };
	size_t expect = 0;
	uint64_t fi;
	uint32_t eo;
	int rc;
	(void)state;

	sample_items(v);
	*big = v[4];
	memset(big->u.entry.e.path, 'p', TV_PATH_MAX - 1);
	big->u.entry.e.path[TV_PATH_MAX / 2] = '/';
	tv_buf_init(&b);
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_CATALOG, content, NULL, 0, dek), 0);
	for (int round = 0; round < 60; round++) {
		for (size_t i = 0; i < NITEMS; i++) {
			const struct tv_cat_item_v *it = (i == 4 && round % 2) ? big : &v[i];
			tv_buf_reset(&b);
			assert_int_equal(tv_cat_item_encode(&b, it), 0);
			assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
			assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
			expect++;
		}
		/* an item of a type from the future */
		assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
		assert_int_equal(tv_twriter_write(w, "\x2a\x00\x00\x00\x02zz", 7), 0);
		expect++;
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_true(pl.n >= 3);   /* several frames */

	r = reader(m);
	begin(r, dek, TV_CT_CATALOG);
	assert_int_equal(tv_ecursor_open(&c, r, TV_CT_CATALOG, 0), 0);
	assert_int_equal(tv_ecursor_next(c, NULL, NULL), TV_ERR_STATE);
	for (size_t k = 0; k < expect; k++) {
		size_t i = k % (NITEMS + 1);
		struct tv_loc loc;
		memset(got, 0xee, sizeof(*got));
		assert_int_equal(tv_ecursor_item(c, got, &loc), 1);
		if (i == NITEMS) {
			assert_int_equal((int)got->type, 0x2a);
			continue;
		}
		assert_item_equal(got, (i == 4 && (k / (NITEMS + 1)) % 2) ? big : &v[i]);
	}
	assert_int_equal(tv_ecursor_item(c, got, NULL), 0);
	tv_ecursor_close(c);
	tv_treader_close(r);
	tv_tape_close(&m->base);

	/* damage inside frames (plaintext, CRCs fixed so that the entry
	 * cursor sees it): one error each, then it resynchronises on the next
	 * frame's first item */
	for (int dmg = 0; dmg < 3; dmg++) {
		int errors = 0, items = 0;
		m = memtape_new();
		pl.n = 0;
		w = writer(m, &pl, 0);
		assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_CATALOG, content, NULL, 0,
		                                       NULL), 0);
		for (int k = 0; k < 2000; k++) {
			tv_buf_reset(&b);
			assert_int_equal(tv_cat_item_encode(&b, &v[k % NITEMS]), 0);
			if (k == 3 && dmg == 0)
				b.d[5 + 2] = 0x7f;        /* the first TLV runs over the item */
			if (k == 3 && dmg == 1)
				tv_put_be32(b.d + 1, TV_CI_MAX + 1);   /* over the limit */
			assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
			if (k == 3 && dmg == 1)
				assert_int_equal(tv_twriter_write(w, b.d, 5), 0);
			else
				assert_int_equal(tv_twriter_write(w, b.d, b.len), 0);
		}
		assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
		assert_int_equal(tv_twriter_close(w), 0);
		if (dmg == 2) {
			/* frame 0 lies about where its first item is (frame and
			 * record CRCs fixed) */
			size_t idx = mt_find(m, 0, 1);
			uint8_t *fh = m->it[idx].data + TV_REC_HDR;
			struct tv_frame_hdr h;
			assert_int_equal(tv_frame_hdr_decode(fh, &h), 0);
			assert_int_equal(h.first_entry, 0);
			tv_put_be32(fh + 16, 5);
			mt_fix_rec_crc(m, idx);
		}
		r = reader(m);
		begin(r, NULL, TV_CT_CATALOG);
		assert_int_equal(tv_ecursor_open(&c, r, TV_CT_CATALOG, 0), 0);
		for (int k = 0; k < 3000; k++) {
			rc = tv_ecursor_item(c, got, NULL);
			if (rc == 0)
				break;
			if (rc < 0) {
				assert_int_equal(rc, TV_ERR_FORMAT);
				assert_non_null(strstr(tv_errdetail(), "frame 0"));
				errors++;
				continue;
			}
			items++;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(errors, 1);
		/* what the first frame held after the damage is lost, the rest
		 * comes back */
		assert_true(items > 1000 && items < 1997);
		tv_ecursor_close(c);
		tv_treader_close(r);
		tv_tape_close(&m->base);
	}
	tv_buf_free(&b);
	free(v);
	free(got);
	free(big);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_layout),
		cmocka_unit_test(test_entry_roundtrip),
		cmocka_unit_test(test_entry_paths),
		cmocka_unit_test(test_entry_hostile),
		cmocka_unit_test(test_items_layout_roundtrip),
		cmocka_unit_test(test_items_hostile),
		cmocka_unit_test(test_items_incremental),
		cmocka_unit_test(test_cursor_entries_plain),
		cmocka_unit_test(test_cursor_entries_sealed),
		cmocka_unit_test(test_cursor_entries_zstd),
		cmocka_unit_test(test_cursor_cont),
		cmocka_unit_test(test_cursor_newer_kinds),
		cmocka_unit_test(test_cursor_catalog),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
