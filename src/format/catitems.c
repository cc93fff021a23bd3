/* tapevault: entry headers and catalog stream items. */
#include "format/format_int.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

/* ---- entry ---- */

#define EN struct tv_entry
static const struct tv_field ent_f[] = {
	TVF_STR(EN, path, 1, 1),
	TVF_ENUM(EN, ftype, 2, 1, TV_FT_REG, TV_FT_SYMLINK),
	TVF_U64(EN, mode, 3, 0, 0, UINT64_MAX),
	TVF_U64(EN, uid, 4, 0, 0, UINT64_MAX),
	TVF_U64(EN, gid, 5, 0, 0, UINT64_MAX),
	TVF_I64(EN, mtime_sec, 6, 0),
	TVF_U64(EN, mtime_nsec, 7, 0, 0, 999999999),
	TVF_U64(EN, size, 8, 1, 0, UINT64_MAX),
	TVF_U64(EN, offset, 9, 1, 0, UINT64_MAX),
	TVF_STR(EN, link, 10, 0),
	TVF_U64(EN, flags, 11, 0, 0, UINT64_MAX),
	TVF_STR(EN, set_name, 12, 0),
};
/* Entry flags this version understands; others change the meaning of the
 * data (a newer writer), so they are refused. */
#define ENTRY_FLAGS_KNOWN ((uint64_t)TV_EF_INNER_ENCRYPTED)
#undef EN
#define ENT_N (sizeof(ent_f) / sizeof(ent_f[0]))

/* Relative, '/'-separated, no ".." component, not empty. */
static int entry_check(const struct tv_entry *e, const char *what, int code)
{
	const char *p = e->path;

	if (p[0] == '\0')
		return tv_errf(code, "%s: field path (tag 1): empty", what);
	if (p[0] == '/')
		return tv_errf(code, "%s: field path (tag 1): absolute path \"%.200s\"",
		               what, p);
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return tv_errf(code, "%s: field path (tag 1): \"..\" component "
			               "in \"%.200s\"", what, e->path);
		p += n;
		if (*p == '/')
			p++;
	}
	if (e->flags & ~ENTRY_FLAGS_KNOWN)
		return tv_errf(code == TV_ERR_FORMAT ? TV_ERR_UNSUPPORTED : code,
		               "%s: field flags (tag 11): unknown flags 0x%llx", what,
		               (unsigned long long)(e->flags & ~ENTRY_FLAGS_KNOWN));
	if (e->ftype == TV_FT_SYMLINK && e->link[0] == '\0')
		return tv_errf(code, "%s: field link (tag 10): symlink without target",
		               what);
	return 0;
}

int tv_entry_body_encode(struct tv_buf *b, const struct tv_entry *e)
{
	struct tv_fields fs = { "entry", ent_f, ENT_N };
	int r;

	if (strnlen(e->path, sizeof(e->path)) == sizeof(e->path))
		return tv_errf(TV_ERR_INVAL, "entry: path not NUL-terminated");
	if ((r = entry_check(e, "entry", TV_ERR_INVAL)) != 0)
		return r;
	return tv_fields_encode(b, &fs, e, TV_FIELD_ALL);
}

int tv_entry_body_decode(const uint8_t *p, size_t len, struct tv_entry *e,
                         const char *what)
{
	struct tv_fields fs = { what, ent_f, ENT_N };
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = tv_fields_decode(&fs, p, len, e, NULL, NULL, NULL)) != 0)
		return r;
	return entry_check(e, what, TV_ERR_FORMAT);
}

int tv_entry_encode(struct tv_buf *out, const struct tv_entry *e)
{
	size_t start = out->len;
	size_t n;
	int r;

	if ((r = tv_buf_put(out, TV_ENTRY_MAGIC, 4)) != 0 ||
	    (r = tv_buf_put_u32(out, 0)) != 0 ||
	    (r = tv_entry_body_encode(out, e)) != 0)
		goto fail;
	n = out->len - start - 8;
	if (n > TV_ENTRY_MAX) {
		r = tv_errf(TV_ERR_RANGE, "entry header of %zu bytes exceeds %d", n,
		            TV_ENTRY_MAX);
		goto fail;
	}
	tv_put_be32(out->d + start + 4, (uint32_t)n);
	return 0;
fail:
	if (out->len > start)
		out->len = start;   /* leave the buffer as it was */
	return r;
}

int tv_entry_decode(struct tv_buf *b, struct tv_entry *e)
{
	size_t avail = tv_buf_avail(b);
	const uint8_t *p;
	uint32_t n;
	int r;

	if (avail < 8)
		return TV_ERR_EOF;
	p = tv_buf_ptr(b);
	if (memcmp(p, TV_ENTRY_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "entry header: bad magic "
		               "%02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
	n = tv_get_be32(p + 4);
	if (n > TV_ENTRY_MAX)
		return tv_errf(TV_ERR_FORMAT, "entry header: length %u exceeds %d",
		               (unsigned)n, TV_ENTRY_MAX);
	if (avail - 8 < n)
		return TV_ERR_EOF;
	if ((r = tv_entry_body_decode(p + 8, n, e, "entry header")) != 0)
		return r;
	b->off += 8 + (size_t)n;
	return 0;
}

/* ---- catalog items ---- */

#define CT struct tv_ci_tape
static const struct tv_field ci_tape_f[] = {
	TVF_UUID(CT, tape_uuid, 1, 1),
	TVF_STR(CT, barcode, 2, 0),
	TVF_U64(CT, seq, 3, 1, 1, UINT64_MAX),
	TVF_STR(CT, pool_name, 4, 0),
	TVF_UUID(CT, pool_uuid, 5, 0),
	TVF_UUID(CT, media_set_uuid, 6, 1),
	TVF_FIXED(CT, dek_fpr, 7, 0),
};
#undef CT

#define CS struct tv_ci_set
static const struct tv_field ci_set_f[] = {
	TVF_UUID(CS, set_uuid, 1, 1),
	TVF_STR(CS, name, 2, 0),
	TVF_U64(CS, created, 3, 0, 0, UINT64_MAX),
	TVF_U64(CS, first_seq, 4, 1, 1, UINT64_MAX),
	TVF_U64(CS, last_seq, 5, 1, 1, UINT64_MAX),
	TVF_U64(CS, complete, 6, 1, 0, 1),
	TVF_U64(CS, nfiles, 7, 0, 0, UINT64_MAX),
	TVF_U64(CS, nbytes, 8, 0, 0, UINT64_MAX),
};
#undef CS

#define CP struct tv_ci_part
static const struct tv_field ci_part_f[] = {
	TVF_UUID(CP, tape_uuid, 1, 1),
	TVF_U64(CP, file_no, 2, 1, 0, UINT32_MAX),
	TVF_UUID(CP, content_uuid, 3, 1),
	TVF_UUID(CP, set_uuid, 4, 1),
	TVF_U64(CP, file_index, 5, 1, 0, UINT64_MAX),
	TVF_U64(CP, part_no, 6, 1, 1, UINT64_MAX),
	TVF_U64(CP, last_part, 7, 1, 0, UINT64_MAX),
	TVF_U64(CP, records, 8, 1, 0, UINT64_MAX),
	TVF_U64(CP, length, 9, 1, 0, UINT64_MAX),
	TVF_U32(CP, crc, 10, 1),
};
#undef CP
#define PART_TAG_ENTRY 11

#define CK struct tv_ci_keyring
static const struct tv_field ci_ring_f[] = {
	TVF_UUID(CK, tape_uuid, 1, 1),
	TVF_FIXED(CK, dek_fpr, 2, 1),
	TVF_FIXED(CK, dek, 3, 1),
};
#undef CK

struct end_item { uint64_t count; };
static const struct tv_field ci_end_f[] = {
	TVF_U64(struct end_item, count, 1, 1, 0, UINT64_MAX),
};

#define NF(t) (sizeof(t) / sizeof(t[0]))
static const struct tv_fields ci_fs[] = {
	[TV_CI_TAPE] = { "catalog tape item", ci_tape_f, NF(ci_tape_f) },
	[TV_CI_SET] = { "catalog backup set item", ci_set_f, NF(ci_set_f) },
	[TV_CI_PART] = { "catalog part item", ci_part_f, NF(ci_part_f) },
	[TV_CI_KEYRING] = { "catalog keyring item", ci_ring_f, NF(ci_ring_f) },
	[TV_CI_END] = { "catalog end item", ci_end_f, NF(ci_end_f) },
};

static int set_check(const struct tv_ci_set *s, int code)
{
	if (s->last_seq < s->first_seq)
		return tv_errf(code, "catalog backup set item: last_seq %llu before "
		               "first_seq %llu", (unsigned long long)s->last_seq,
		               (unsigned long long)s->first_seq);
	return 0;
}

static int part_extra(void *obj, const struct tv_tlv *it, void *ctx)
{
	struct tv_ci_part *p = obj;
	int *seen = ctx;
	int r;

	if (it->tag != PART_TAG_ENTRY)
		return 0;
	if ((*seen)++)
		return tv_errf(TV_ERR_FORMAT, "catalog part item: field entry "
		               "(tag 11): duplicated");
	r = tv_entry_body_decode(it->val, it->len, &p->e, "catalog part item: entry");
	return r < 0 ? r : 1;
}

int tv_cat_item_encode(struct tv_buf *out, const struct tv_cat_item_v *it)
{
	size_t start = out->len, mark, n;
	struct end_item end;
	const void *obj;
	int r;

	switch (it->type) {
	case TV_CI_TAPE: obj = &it->u.tape; break;
	case TV_CI_SET:
		obj = &it->u.set;
		if ((r = set_check(&it->u.set, TV_ERR_INVAL)) != 0)
			return r;
		break;
	case TV_CI_PART: obj = &it->u.part; break;
	case TV_CI_KEYRING: obj = &it->u.ring; break;
	case TV_CI_END:
		end.count = it->u.end_count;
		obj = &end;
		break;
	default:
		return tv_errf(TV_ERR_INVAL, "catalog item: unknown type %d", (int)it->type);
	}
	if ((r = tv_buf_put_u8(out, (uint8_t)it->type)) != 0 ||
	    (r = tv_buf_put_u32(out, 0)) != 0 ||
	    (r = tv_fields_encode(out, &ci_fs[it->type], obj, TV_FIELD_ALL)) != 0)
		goto fail;
	if (it->type == TV_CI_PART) {
		if ((r = tv_tlv_begin_nested(out, PART_TAG_ENTRY, &mark)) != 0 ||
		    (r = tv_entry_body_encode(out, &it->u.part.e)) != 0 ||
		    (r = tv_tlv_end_nested(out, mark)) != 0)
			goto fail;
	}
	n = out->len - start - 5;
	if (n > TV_CI_MAX) {
		r = tv_errf(TV_ERR_RANGE, "catalog item of %zu bytes exceeds %u", n,
		            TV_CI_MAX);
		goto fail;
	}
	tv_put_be32(out->d + start + 1, (uint32_t)n);
	return 0;
fail:
	if (out->len > start) {
		OPENSSL_cleanse(out->d + start, out->len - start);
		out->len = start;
	}
	return r;
}

int tv_cat_item_decode(struct tv_buf *b, struct tv_cat_item_v *it)
{
	size_t avail = tv_buf_avail(b);
	struct end_item end = { 0 };
	const uint8_t *p;
	uint32_t n;
	uint8_t type;
	void *obj;
	int seen = 0, r;

	memset(it, 0, sizeof(*it));
	if (avail < 5)
		return TV_ERR_EOF;
	p = tv_buf_ptr(b);
	type = p[0];
	n = tv_get_be32(p + 1);
	if (n > TV_CI_MAX)
		return tv_errf(TV_ERR_FORMAT, "catalog item (type %u): length %u "
		               "exceeds %u", (unsigned)type, (unsigned)n, TV_CI_MAX);
	if (avail - 5 < n)
		return TV_ERR_EOF;
	it->type = (enum tv_cat_item)type;
	switch (type) {
	case TV_CI_TAPE: obj = &it->u.tape; break;
	case TV_CI_SET: obj = &it->u.set; break;
	case TV_CI_PART: obj = &it->u.part; break;
	case TV_CI_KEYRING: obj = &it->u.ring; break;
	case TV_CI_END: obj = &end; break;
	default:
		/* An item type of a newer version: returned with its type and
		 * no content; readers skip it (but count it for the END item). */
		b->off += 5 + (size_t)n;
		return 0;
	}
	r = tv_fields_decode(&ci_fs[type], p + 5, n, obj,
	                     type == TV_CI_PART ? part_extra : NULL, &seen, NULL);
	if (r == 0 && type == TV_CI_PART && !seen)
		r = tv_errf(TV_ERR_FORMAT, "catalog part item: field entry (tag 11): "
		            "mandatory field missing");
	if (r == 0 && type == TV_CI_SET)
		r = set_check(&it->u.set, TV_ERR_FORMAT);
	if (r != 0) {
		OPENSSL_cleanse(it, sizeof(*it));
		it->type = (enum tv_cat_item)0;
		return r;
	}
	if (type == TV_CI_END)
		it->u.end_count = end.count;
	b->off += 5 + (size_t)n;
	return 0;
}
