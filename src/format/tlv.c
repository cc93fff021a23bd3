/* tapevault: TLV items and the table-driven structure codec. */
#include "format/format_int.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TLV_HDR 6

int tv_tlv_put_bytes(struct tv_buf *b, uint16_t tag, const void *p, size_t n)
{
	uint8_t *d;
	int r;

	if (n > UINT32_MAX)
		return tv_errf(TV_ERR_RANGE, "TLV tag %u: value of %zu bytes too long",
		               (unsigned)tag, n);
	if ((r = tv_buf_reserve(b, TLV_HDR + n, &d)) != 0)
		return r;
	tv_put_be16(d, tag);
	tv_put_be32(d + 2, (uint32_t)n);
	if (n > 0)
		memcpy(d + TLV_HDR, p, n);
	return 0;
}

int tv_tlv_put_u64(struct tv_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t t[8];
	tv_put_be64(t, v);
	return tv_tlv_put_bytes(b, tag, t, sizeof(t));
}

int tv_tlv_put_str(struct tv_buf *b, uint16_t tag, const char *s)
{
	return tv_tlv_put_bytes(b, tag, s, s != NULL ? strlen(s) : 0);
}

int tv_tlv_begin_nested(struct tv_buf *b, uint16_t tag, size_t *mark)
{
	uint8_t *d;
	int r;

	if ((r = tv_buf_reserve(b, TLV_HDR, &d)) != 0)
		return r;
	tv_put_be16(d, tag);
	tv_put_be32(d + 2, 0);
	*mark = tv_buf_avail(b);
	return 0;
}

int tv_tlv_end_nested(struct tv_buf *b, size_t mark)
{
	size_t n;

	if (mark < TLV_HDR || mark > tv_buf_avail(b))
		return tv_errf(TV_ERR_INTERNAL, "bad nested TLV mark");
	n = tv_buf_avail(b) - mark;
	if (n > UINT32_MAX)
		return tv_errf(TV_ERR_RANGE, "nested TLV too long");
	return tv_buf_poke_u32(b, mark - 4, (uint32_t)n);
}

int tv_tlv_next(struct tv_buf *b, struct tv_tlv *it)
{
	size_t avail = tv_buf_avail(b), at = tv_buf_tell(b);
	const uint8_t *val = NULL;
	uint16_t tag = 0;
	uint32_t n = 0;
	int r;

	if (avail == 0)
		return TV_ERR_EOF;   /* the end of the list, not an error */
	if (tv_buf_peek_u16(b, 0, &tag) != 0 || tv_buf_peek_u32(b, 2, &n) != 0)
		return tv_errf(TV_ERR_FORMAT, "TLV item at offset %zu truncated "
		               "(%zu bytes left, header needs 6)", at, avail);
	if (n > avail - TLV_HDR)
		return tv_errf(TV_ERR_FORMAT, "TLV item tag %u at offset %zu: "
		               "length %" PRIu32 " exceeds the %zu bytes left",
		               (unsigned)tag, at, n, avail - TLV_HDR);
	if ((r = tv_buf_consume(b, TLV_HDR)) != 0 ||
	    (r = tv_buf_get_ptr(b, &val, n)) != 0)
		return r;
	it->tag = tag;
	it->val = val;
	it->len = n;
	return 0;
}

/* The value of an item of exactly 8 bytes (the caller checked the length). */
static int val_u64(const struct tv_tlv *it, uint64_t *v)
{
	struct tv_buf b;

	tv_buf_view(&b, it->val, it->len);
	return tv_buf_get_u64(&b, v);
}

int tv_tlv_u64(const struct tv_tlv *it, uint64_t *v)
{
	if (it->len != 8)
		return tv_errf(TV_ERR_FORMAT, "TLV tag %u: integer of %zu bytes "
		               "(expected 8)", (unsigned)it->tag, it->len);
	return val_u64(it, v);
}

int tv_tlv_uuid(const struct tv_tlv *it, uint8_t out[TV_UUID_LEN])
{
	if (it->len != TV_UUID_LEN)
		return tv_errf(TV_ERR_FORMAT, "TLV tag %u: UUID of %zu bytes "
		               "(expected 16)", (unsigned)it->tag, it->len);
	memcpy(out, it->val, TV_UUID_LEN);
	return 0;
}

int tv_tlv_str(const struct tv_tlv *it, char *out, size_t outsz)
{
	if (outsz == 0 || it->len > outsz - 1)
		return tv_errf(TV_ERR_FORMAT, "TLV tag %u: string of %zu bytes "
		               "does not fit (max %zu)", (unsigned)it->tag, it->len,
		               outsz ? outsz - 1 : 0);
	if (it->len > 0 && memchr(it->val, '\0', it->len) != NULL)
		return tv_errf(TV_ERR_FORMAT, "TLV tag %u: string contains a NUL "
		               "byte", (unsigned)it->tag);
	if (it->len > 0)
		memcpy(out, it->val, it->len);
	out[it->len] = '\0';
	return 0;
}

/* ---- table codec ---- */

static int field_fail(int code, const struct tv_fields *fs, const struct tv_field *f,
                      const char *problem)
{
	return tv_errf(code, "%s: field %s (tag %u): %s", fs->what, f->name,
	               (unsigned)f->tag, problem);
}

static int check_range(const struct tv_fields *fs, const struct tv_field *f,
                       uint64_t v, int code)
{
	char msg[128];

	if (v >= f->lo && v <= f->hi)
		return 0;
	snprintf(msg, sizeof(msg), "value %" PRIu64 " out of range [%" PRIu64
	         ", %" PRIu64 "]", v, f->lo, f->hi);
	return field_fail(code, fs, f, msg);
}

static int decode_field(const struct tv_fields *fs, const struct tv_field *f,
                        const struct tv_tlv *it, uint8_t *o)
{
	char msg[128];
	uint64_t v;
	int iv, r;

	switch (f->kind) {
	case TV_FK_U64:
	case TV_FK_I64:
	case TV_FK_U32:
	case TV_FK_ENUM:
		if (it->len != 8) {
			snprintf(msg, sizeof(msg), "integer of %zu bytes (expected 8)",
			         it->len);
			return field_fail(TV_ERR_FORMAT, fs, f, msg);
		}
		if ((r = val_u64(it, &v)) != 0)
			return r;
		if (f->kind == TV_FK_I64) {
			int64_t sv = (int64_t)v;   /* two's complement (C11 impl.) */
			if (f->size != sizeof(int64_t))
				return TV_ERR_INTERNAL;
			memcpy(o + f->off, &sv, sizeof(sv));
			return 0;
		}
		if (check_range(fs, f, v, TV_ERR_FORMAT) != 0)
			return TV_ERR_FORMAT;
		if (f->kind == TV_FK_U64) {
			if (f->size != sizeof(uint64_t))
				return TV_ERR_INTERNAL;
			memcpy(o + f->off, &v, sizeof(v));
		} else if (f->kind == TV_FK_U32) {
			uint32_t v32 = (uint32_t)v;
			if (f->size != sizeof(uint32_t) || v > UINT32_MAX)
				return TV_ERR_INTERNAL;
			memcpy(o + f->off, &v32, sizeof(v32));
		} else {
			if (f->size != sizeof(int) || v > INT32_MAX)
				return TV_ERR_INTERNAL;
			iv = (int)v;
			memcpy(o + f->off, &iv, sizeof(iv));
		}
		return 0;
	case TV_FK_UUID:
		if (it->len != TV_UUID_LEN || f->size != TV_UUID_LEN) {
			snprintf(msg, sizeof(msg), "UUID of %zu bytes (expected 16)",
			         it->len);
			return field_fail(TV_ERR_FORMAT, fs, f, msg);
		}
		memcpy(o + f->off, it->val, TV_UUID_LEN);
		return 0;
	case TV_FK_STR:
		if (it->len > f->size - 1) {
			snprintf(msg, sizeof(msg), "string of %zu bytes too long "
			         "(max %zu)", it->len, f->size - 1);
			return field_fail(TV_ERR_FORMAT, fs, f, msg);
		}
		if (it->len > 0 && memchr(it->val, '\0', it->len) != NULL)
			return field_fail(TV_ERR_FORMAT, fs, f, "string contains a NUL byte");
		if (it->len > 0)
			memcpy(o + f->off, it->val, it->len);
		o[f->off + it->len] = '\0';
		return 0;
	case TV_FK_FIXED:
		if (it->len != f->size) {
			snprintf(msg, sizeof(msg), "%zu bytes (expected %zu)", it->len,
			         f->size);
			return field_fail(TV_ERR_FORMAT, fs, f, msg);
		}
		memcpy(o + f->off, it->val, f->size);
		return 0;
	case TV_FK_VAR:
		if (it->len > f->size) {
			snprintf(msg, sizeof(msg), "%zu bytes too long (max %zu)",
			         it->len, f->size);
			return field_fail(TV_ERR_FORMAT, fs, f, msg);
		}
		if (it->len > 0)
			memcpy(o + f->off, it->val, it->len);
		memcpy(o + f->len_off, &it->len, sizeof(size_t));
		return 0;
	}
	return tv_errf(TV_ERR_INTERNAL, "%s: field %s: bad kind", fs->what, f->name);
}

int tv_fields_decode(const struct tv_fields *fs, const uint8_t *p, size_t len,
                     void *obj, tv_extra_fn extra, void *ctx, uint64_t *present)
{
	struct tv_buf b;
	struct tv_tlv it;
	uint64_t seen = 0;
	uint8_t *o = obj;
	size_t i;
	int r;

	if (present != NULL)
		*present = 0;
	tv_buf_view(&b, p, len);
	for (;;) {
		r = tv_tlv_next(&b, &it);
		if (r == TV_ERR_EOF)
			break;
		if (r != 0)
			return tv_errctx(r, "%s", fs->what);
		for (i = 0; i < fs->n; i++)
			if (fs->f[i].tag == it.tag)
				break;
		if (i == fs->n) {
			if (extra != NULL && (r = extra(obj, &it, ctx)) < 0)
				return r;
			continue;   /* unknown tag: skipped */
		}
		if (seen & TV_FBIT(i))
			return field_fail(TV_ERR_FORMAT, fs, &fs->f[i], "duplicated");
		if ((r = decode_field(fs, &fs->f[i], &it, o)) != 0)
			return r;
		seen |= TV_FBIT(i);
	}
	if (present != NULL)
		*present = seen;
	return tv_fields_require(fs, seen, 0);
}

int tv_fields_require(const struct tv_fields *fs, uint64_t present,
                      uint64_t extra_mand)
{
	for (size_t i = 0; i < fs->n; i++) {
		int need = fs->f[i].mand || (extra_mand & TV_FBIT(i));
		if (need && !(present & TV_FBIT(i)))
			return field_fail(TV_ERR_FORMAT, fs, &fs->f[i],
			                  "mandatory field missing");
	}
	return 0;
}

int tv_fields_encode(struct tv_buf *b, const struct tv_fields *fs,
                     const void *obj, uint64_t mask)
{
	const uint8_t *o = obj;
	uint64_t v;
	int64_t sv;
	uint32_t v32;
	size_t n;
	int iv, r;

	for (size_t i = 0; i < fs->n; i++) {
		const struct tv_field *f = &fs->f[i];
		if (!(mask & TV_FBIT(i)))
			continue;
		switch (f->kind) {
		case TV_FK_U64:
			memcpy(&v, o + f->off, sizeof(v));
			if ((r = check_range(fs, f, v, TV_ERR_INVAL)) != 0)
				return r;
			r = tv_tlv_put_u64(b, f->tag, v);
			break;
		case TV_FK_I64:
			memcpy(&sv, o + f->off, sizeof(sv));
			r = tv_tlv_put_u64(b, f->tag, (uint64_t)sv);
			break;
		case TV_FK_U32:
			memcpy(&v32, o + f->off, sizeof(v32));
			r = tv_tlv_put_u64(b, f->tag, v32);
			break;
		case TV_FK_ENUM:
			memcpy(&iv, o + f->off, sizeof(iv));
			if (iv < 0)
				return field_fail(TV_ERR_INVAL, fs, f, "negative value");
			if ((r = check_range(fs, f, (uint64_t)iv, TV_ERR_INVAL)) != 0)
				return r;
			r = tv_tlv_put_u64(b, f->tag, (uint64_t)iv);
			break;
		case TV_FK_UUID:
		case TV_FK_FIXED:
			r = tv_tlv_put_bytes(b, f->tag, o + f->off, f->size);
			break;
		case TV_FK_STR:
			n = strnlen((const char *)o + f->off, f->size);
			if (n == f->size)
				return field_fail(TV_ERR_INVAL, fs, f,
				                  "string not NUL-terminated");
			r = tv_tlv_put_bytes(b, f->tag, o + f->off, n);
			break;
		case TV_FK_VAR:
			memcpy(&n, o + f->len_off, sizeof(n));
			if (n > f->size)
				return field_fail(TV_ERR_INVAL, fs, f, "length over its bound");
			r = tv_tlv_put_bytes(b, f->tag, o + f->off, n);
			break;
		default:
			return tv_errf(TV_ERR_INTERNAL, "%s: field %s: bad kind",
			               fs->what, f->name);
		}
		if (r != 0)
			return r;
	}
	return 0;
}
