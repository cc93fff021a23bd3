/* tapevault: entry headers and catalog stream items. */
#include "format/format_int.h"
#include "format/record.h"
#include "util/err.h"
#include "util/wipe.h"

#include <stdio.h>
#include <string.h>

/* ---- entry ---- */

#define EN struct tv_entry
enum {
	EF_PATH, EF_FTYPE, EF_MODE, EF_UID, EF_GID, EF_MTIME, EF_NSEC, EF_SIZE,
	EF_OFFSET, EF_LINK, EF_FLAGS, EF_INDEX, EF_PART, EF_LENGTH, EF_N_
};
static const struct tv_field ent_f[] = {
	[EF_PATH] = TVF_STR(EN, path, 1, 1),
	[EF_FTYPE] = TVF_ENUM(EN, ftype, 2, 1, 0, INT32_MAX),
	[EF_MODE] = TVF_U64(EN, mode, 3, 0, 0, 07777),
	[EF_UID] = TVF_U64(EN, uid, 4, 0, 0, UINT32_MAX),
	[EF_GID] = TVF_U64(EN, gid, 5, 0, 0, UINT32_MAX),
	[EF_MTIME] = TVF_I64(EN, mtime_sec, 6, 0),
	[EF_NSEC] = TVF_U64(EN, mtime_nsec, 7, 0, 0, 999999999),
	[EF_SIZE] = TVF_U64(EN, size, 8, 1, 0, INT64_MAX),
	[EF_OFFSET] = TVF_U64(EN, offset, 9, 0, 0, INT64_MAX),
	[EF_LINK] = TVF_STR(EN, link, 10, 0),
	[EF_FLAGS] = TVF_U64(EN, flags, 11, 0, 0, UINT64_MAX),
	[EF_INDEX] = TVF_U64(EN, file_index, 13, 1, 0, INT64_MAX),
	[EF_PART] = TVF_U64(EN, part, 14, 0, 1, INT64_MAX),
	[EF_LENGTH] = TVF_U64(EN, length, 15, 1, 0, INT64_MAX),
};
#undef EN
_Static_assert(EF_N_ == sizeof(ent_f) / sizeof(ent_f[0]), "entry table");
/* Entry flags this version understands; others change the meaning of the
 * data (a newer writer), so such entries are refused. */
#define ENTRY_FLAGS_KNOWN ((uint64_t)(TV_EF_INNER_ENCRYPTED | TV_EF_SPARSE | \
                                      TV_EF_XATTR_DATA))

/* Fields written for an entry: optional ones only when not their default. */
static uint64_t entry_mask(const struct tv_entry *e)
{
	uint64_t m = TV_FBIT(EF_PATH) | TV_FBIT(EF_FTYPE) | TV_FBIT(EF_MODE) |
	             TV_FBIT(EF_UID) | TV_FBIT(EF_GID) | TV_FBIT(EF_MTIME) |
	             TV_FBIT(EF_NSEC) | TV_FBIT(EF_SIZE) | TV_FBIT(EF_INDEX) |
	             TV_FBIT(EF_LENGTH);

	if (e->offset != 0)
		m |= TV_FBIT(EF_OFFSET);
	if (e->link[0] != '\0')
		m |= TV_FBIT(EF_LINK);
	if (e->flags != 0)
		m |= TV_FBIT(EF_FLAGS);
	if (e->part != 1)
		m |= TV_FBIT(EF_PART);
	return m;
}

/* Relative, '/'-separated, no "." or ".." component, not empty; the data
 * length fits the file. */
static int entry_check(const struct tv_entry *e, const char *what, int code)
{
	const char *p = e->path;
	int r;

	if (p[0] == '\0')
		return tv_errf(code, "%s: field path (tag 1): empty", what);
	if (p[0] == '/')
		return tv_errf(code, "%s: field path (tag 1): absolute path \"%.200s\"",
		               what, p);
	if (p[strlen(p) - 1] == '/')
		return tv_errf(code, "%s: field path (tag 1): trailing '/' in \"%.200s\"",
		               what, p);
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return tv_errf(code, "%s: field path (tag 1): empty, \".\" or \"..\" "
			               "component in \"%.200s\"", what, e->path);
		p += n;
		if (*p == '/')
			p++;
	}
	if (e->ftype < TV_FT_REG || e->ftype > TV_FT_LAST)
		return tv_errf(code == TV_ERR_FORMAT ? TV_ERR_UNSUPPORTED : code,
		               "%s: field ftype (tag 2): unknown type %d (written by a "
		               "newer tapevault?)", what, (int)e->ftype);
	if (e->flags & ~ENTRY_FLAGS_KNOWN)
		return tv_errf(code == TV_ERR_FORMAT ? TV_ERR_UNSUPPORTED : code,
		               "%s: field flags (tag 11): unknown flags 0x%llx", what,
		               (unsigned long long)(e->flags & ~ENTRY_FLAGS_KNOWN));
	if ((e->ftype == TV_FT_SYMLINK || e->ftype == TV_FT_HARDLINK) && e->link[0] == '\0')
		return tv_errf(code, "%s: field link (tag 10): link without target", what);
	if (e->ftype != TV_FT_SYMLINK && e->ftype != TV_FT_HARDLINK && e->link[0] != '\0')
		return tv_errf(code, "%s: field link (tag 10): only links have one", what);
	if ((r = tv_entry_ext_check(e, what, code)) != 0)   /* tags 16-22 (entries.c) */
		return r;
	if (e->ftype == TV_FT_REG) {
		uint64_t d = tv_entry_data_size(e);   /* the file, or its map's regions */
		if (e->offset > d || e->length != d - e->offset)
			return tv_errf(code, "%s: offset %llu and length %llu do not fit a "
			               "file of %llu bytes (%llu of data)", what,
			               (unsigned long long)e->offset,
			               (unsigned long long)e->length,
			               (unsigned long long)e->size, (unsigned long long)d);
	} else if (e->length != 0 || e->offset != 0 || e->part != 1) {
		return tv_errf(code, "%s: data in a %s entry", what, tv_ftype_name(e->ftype));
	}
	return 0;
}

int tv_entry_body_encode(struct tv_buf *b, const struct tv_entry *e)
{
	struct tv_fields fs = { "entry", ent_f, EF_N_ };
	int r;

	if (strnlen(e->path, sizeof(e->path)) == sizeof(e->path))
		return tv_errf(TV_ERR_INVAL, "entry: path not NUL-terminated");
	if ((r = entry_check(e, "entry", TV_ERR_INVAL)) != 0)
		return r;
	if ((r = tv_fields_encode(b, &fs, e, entry_mask(e))) != 0)
		return r;
	return tv_entry_ext_encode(b, e);
}

int tv_entry_body_decode(const uint8_t *p, size_t len, struct tv_entry *e,
                         const char *what)
{
	struct tv_fields fs = { what, ent_f, EF_N_ };
	struct tv_entry_ext x = { e, what, 0 };
	uint64_t present;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = tv_fields_decode(&fs, p, len, e, tv_entry_ext_field, &x, &present)) != 0)
		return r;
	if (!(present & TV_FBIT(EF_PART)))
		e->part = 1;
	return entry_check(e, what, TV_ERR_FORMAT);
}

int tv_entry_encode(struct tv_buf *out, const struct tv_entry *e)
{
	size_t start = tv_buf_avail(out);
	size_t n;
	int r;

	if ((r = tv_buf_put(out, TV_ENTRY_MAGIC, 4)) != 0 ||
	    (r = tv_buf_put_u32(out, 0)) != 0 ||
	    (r = tv_entry_body_encode(out, e)) != 0)
		goto fail;
	n = tv_buf_avail(out) - start - TV_ENTRY_HDR;
	if (n > TV_ENTRY_MAX) {
		r = tv_errf(TV_ERR_RANGE, "entry header of %zu bytes exceeds %u", n,
		            TV_ENTRY_MAX);
		goto fail;
	}
	if ((r = tv_buf_poke_u32(out, start + 4, (uint32_t)n)) != 0)
		goto fail;
	return 0;
fail:
	if (tv_buf_avail(out) > start)   /* leave the buffer as it was */
		(void)tv_buf_consume_end(out, tv_buf_avail(out) - start);
	return r;
}

/* The fixed part of an entry header or catalog item: the bytes after it
 * (n), or TV_ERR_EOF without a detail when the whole item is not there
 * yet (the caller reads more). */
static int item_len(struct tv_buf *b, size_t fixed, size_t len_at, uint32_t *n)
{
	if (tv_buf_avail(b) < fixed)
		return TV_ERR_EOF;
	return tv_buf_peek_u32(b, len_at, n);
}

int tv_entry_decode(const uint8_t *p, size_t avail, struct tv_entry *e, size_t *used,
                    size_t *need)
{
	struct tv_buf b, body;
	const uint8_t *magic = NULL;
	uint32_t n = 0;
	int r;

	*used = 0;
	if (need != NULL)
		*need = TV_ENTRY_HDR;
	tv_buf_view(&b, p, avail);
	if ((r = item_len(&b, TV_ENTRY_HDR, 4, &n)) != 0)
		return r;
	if ((r = tv_buf_get_ptr(&b, &magic, 4)) != 0)
		return r;
	if (memcmp(magic, TV_ENTRY_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "entry header: bad magic "
		               "%02x%02x%02x%02x", magic[0], magic[1], magic[2], magic[3]);
	if (n > TV_ENTRY_MAX)
		return tv_errf(TV_ERR_FORMAT, "entry header: length %u exceeds %u",
		               (unsigned)n, TV_ENTRY_MAX);
	if (need != NULL)
		*need = TV_ENTRY_HDR + (size_t)n;
	if (tv_buf_avail(&b) - 4 < n)
		return TV_ERR_EOF;
	if ((r = tv_buf_consume(&b, 4)) != 0 || (r = tv_buf_froms(&b, &body, n)) != 0)
		return r;
	if ((r = tv_entry_body_decode(tv_buf_ptr(&body), tv_buf_avail(&body), e,
	                              "entry header")) != 0)
		return r;
	*used = tv_buf_tell(&b);
	return 0;
}

/* ---- catalog items ---- */

#define CT struct tv_ci_tape
static const struct tv_field ci_tape_f[] = {
	TVF_UUID(CT, tape_uuid, 1, 1),
	TVF_STR(CT, barcode, 2, 0),
	TVF_U64(CT, seq, 3, 1, 1, UINT32_MAX),
	TVF_STR(CT, pool_name, 4, 0),
	TVF_UUID(CT, pool_uuid, 5, 0),
	TVF_UUID(CT, media_set_uuid, 6, 1),
	TVF_FIXED(CT, dek_fpr, 7, 0),
	TVF_U64(CT, record_size, 8, 1, TV_RECORD_SIZE_MIN, TV_RECORD_SIZE_MAX),
};
#undef CT
#define CT_FPR_BIT TV_FBIT(6)

#define CS struct tv_ci_set
static const struct tv_field ci_set_f[] = {
	TVF_UUID(CS, set_uuid, 1, 1),
	TVF_STR(CS, name, 2, 0),
	TVF_U64(CS, created, 3, 0, 0, INT64_MAX),
	TVF_U64(CS, first_seq, 4, 1, 1, UINT32_MAX),
	TVF_U64(CS, last_seq, 5, 1, 1, UINT32_MAX),
	TVF_U64(CS, complete, 6, 1, 0, 1),
	TVF_U64(CS, nfiles, 7, 1, 0, INT64_MAX),
	TVF_U64(CS, nbytes, 8, 1, 0, INT64_MAX),
	TVF_U64(CS, state, 9, 0, 0, UINT32_MAX),
	TVF_U64(CS, level, 10, 0, 0, TV_LEVEL_DIFFERENTIAL),
	TVF_UUID(CS, parent_uuid, 11, 0),
};
#undef CS
#define CS_STATE_BIT TV_FBIT(8)
#define CS_LEVEL_BIT TV_FBIT(9)
#define CS_PARENT_BIT TV_FBIT(10)

#define CX struct tv_ci_deleted
static const struct tv_field ci_deleted_f[] = {
	TVF_STR(CX, path, 1, 1),
	TVF_U64(CX, n, 2, 1, 0, INT64_MAX),
};
#undef CX

#define CP struct tv_ci_problem
static const struct tv_field ci_problem_f[] = {
	TVF_STR(CP, path, 1, 1),
	TVF_STR(CP, reason, 2, 1),
	TVF_U64(CP, file_index, 3, 0, 0, INT64_MAX),
	TVF_U64(CP, n, 4, 1, 0, INT64_MAX),
};
#undef CP
#define CP_INDEX_BIT TV_FBIT(2)

/* An entry item: the entry's fields (tags 1..15) plus where it is. */
#define CE struct tv_ci_entry
static const struct tv_field ci_entry_f[] = {
	TVF_STR(CE, e.path, 1, 1),
	TVF_ENUM(CE, e.ftype, 2, 1, 0, INT32_MAX),
	TVF_U64(CE, e.mode, 3, 0, 0, 07777),
	TVF_U64(CE, e.uid, 4, 0, 0, UINT32_MAX),
	TVF_U64(CE, e.gid, 5, 0, 0, UINT32_MAX),
	TVF_I64(CE, e.mtime_sec, 6, 0),
	TVF_U64(CE, e.mtime_nsec, 7, 0, 0, 999999999),
	TVF_U64(CE, e.size, 8, 1, 0, INT64_MAX),
	TVF_U64(CE, e.offset, 9, 0, 0, INT64_MAX),
	TVF_STR(CE, e.link, 10, 0),
	TVF_U64(CE, e.flags, 11, 0, 0, UINT64_MAX),
	TVF_U64(CE, e.file_index, 13, 1, 0, INT64_MAX),
	TVF_U64(CE, e.part, 14, 0, 1, INT64_MAX),
	TVF_U64(CE, e.length, 15, 1, 0, INT64_MAX),
	TVF_U64(CE, loc.tseq, 32, 1, 1, UINT32_MAX),
	TVF_U64(CE, loc.file_no, 33, 1, 2, UINT32_MAX),
	TVF_U64(CE, loc.frame_off, 34, 1, 0, INT64_MAX),
	TVF_U64(CE, loc.entry_off, 35, 1, 0, TV_FRAME_RAW_MAX - 1),
	TVF_I64(CE, ctime_sec, 36, 0),
	TVF_U64(CE, ctime_nsec, 37, 0, 0, 999999999),
	TVF_U64(CE, ino, 38, 0, 0, UINT64_MAX),
};
#undef CE
_Static_assert(sizeof(ci_entry_f) / sizeof(ci_entry_f[0]) == EF_N_ + 7,
               "entry item table");
#define CE_LOC (TV_FBIT(EF_N_) | TV_FBIT(EF_N_ + 1) | TV_FBIT(EF_N_ + 2) | \
                TV_FBIT(EF_N_ + 3))
#define CE_STATE (TV_FBIT(EF_N_ + 4) | TV_FBIT(EF_N_ + 5) | TV_FBIT(EF_N_ + 6))

#define CK struct tv_ci_keyring
static const struct tv_field ci_ring_f[] = {
	TVF_UUID(CK, tape_uuid, 1, 1),
	TVF_FIXED(CK, dek_fpr, 2, 1),
	TVF_FIXED(CK, dek, 3, 1),
};
#undef CK

#define CD struct tv_ci_data
static const struct tv_field ci_data_f[] = {
	TVF_U64(CD, tseq, 1, 1, 1, UINT32_MAX),
	TVF_U64(CD, file_no, 2, 1, 2, UINT32_MAX),
	TVF_UUID(CD, content_uuid, 3, 1),
	TVF_U64(CD, raw_bytes, 4, 1, 0, INT64_MAX),
	TVF_U64(CD, stored_bytes, 5, 1, 0, INT64_MAX),
	TVF_U64(CD, complete, 6, 1, 0, 1),
};
#undef CD

#define CW struct tv_wsig
static const struct tv_field ci_writer_f[] = {   /* docs/FORMAT.md 9.4, 11.2 */
	TVF_U64(CW, alg, 1, 1, 1, UINT64_MAX),
	TVF_FIXED(CW, pub, 2, 1),
	TVF_FIXED(CW, fpr, 3, 1),
	TVF_FIXED(CW, sig, 4, 1),
};
#undef CW

struct end_item { uint64_t count; };
static const struct tv_field ci_end_f[] = {
	TVF_U64(struct end_item, count, 1, 1, 0, UINT64_MAX),
};

#define NF(t) (sizeof(t) / sizeof(t[0]))
static const struct tv_fields ci_fs[] = {
	[TV_CI_TAPE] = { "catalog tape item", ci_tape_f, NF(ci_tape_f) },
	[TV_CI_SET] = { "catalog backup set item", ci_set_f, NF(ci_set_f) },
	[TV_CI_ENTRY] = { "catalog entry item", ci_entry_f, NF(ci_entry_f) },
	[TV_CI_KEYRING] = { "catalog key ring item", ci_ring_f, NF(ci_ring_f) },
	[TV_CI_END] = { "catalog end item", ci_end_f, NF(ci_end_f) },
	[TV_CI_DATA] = { "catalog data file item", ci_data_f, NF(ci_data_f) },
	[TV_CI_PROBLEM] = { "catalog problem item", ci_problem_f, NF(ci_problem_f) },
	[TV_CI_DELETED] = { "catalog deleted item", ci_deleted_f, NF(ci_deleted_f) },
	[TV_CI_WRITER] = { "catalog writer signature item", ci_writer_f, NF(ci_writer_f) },
};

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int set_check(const struct tv_ci_set *s, int code)
{
	int has_parent = !all_zero(s->parent_uuid, TV_UUID_LEN);

	if (s->last_seq < s->first_seq)
		return tv_errf(code, "catalog backup set item: last_seq %llu before "
		               "first_seq %llu", (unsigned long long)s->last_seq,
		               (unsigned long long)s->first_seq);
	if (s->level > TV_LEVEL_DIFFERENTIAL)
		return tv_errf(code, "catalog backup set item: field level (tag 10): unknown "
		               "level %llu", (unsigned long long)s->level);
	if (s->level != TV_LEVEL_FULL && !has_parent)
		return tv_errf(code, "catalog backup set item: an incremental or differential "
		               "set without its parent (tag 11)");
	if (s->level == TV_LEVEL_FULL && has_parent)
		return tv_errf(code, "catalog backup set item: a full set with a parent (tag 11)");
	if (has_parent && memcmp(s->parent_uuid, s->set_uuid, TV_UUID_LEN) == 0)
		return tv_errf(code, "catalog backup set item: a set that is its own parent");
	return 0;
}

/* A stored path: relative, '/'-separated, no empty, "." or ".."
 * component (as an entry's, section 10.2). */
static int path_check(const char *p, const char *what, int code)
{
	const char *s = p;

	if (p[0] == '\0' || p[0] == '/')
		return tv_errf(code, "%s: field path (tag 1): empty or absolute", what);
	while (*s != '\0') {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return tv_errf(code, "%s: field path (tag 1): empty, \".\" or \"..\" "
			               "component in \"%.200s\"", what, p);
		s += n;
		if (*s == '/')
			s++;
	}
	if (s[-1] == '/')
		return tv_errf(code, "%s: field path (tag 1): trailing '/'", what);
	return 0;
}

int tv_cat_item_encode(struct tv_buf *out, const struct tv_cat_item_v *it)
{
	size_t start = tv_buf_avail(out), n;
	struct end_item end;
	uint64_t mask = TV_FIELD_ALL;
	const void *obj;
	int r;

	switch (it->type) {
	case TV_CI_TAPE:
		obj = &it->u.tape;
		if (all_zero(it->u.tape.dek_fpr, TV_FPR_LEN))
			mask &= ~CT_FPR_BIT;
		break;
	case TV_CI_SET:
		obj = &it->u.set;
		if ((r = set_check(&it->u.set, TV_ERR_INVAL)) != 0)
			return r;
		if (it->u.set.state == 0)
			mask &= ~CS_STATE_BIT;   /* not said: as written before tag 9 */
		if (it->u.set.level == TV_LEVEL_FULL)
			mask &= ~(CS_LEVEL_BIT | CS_PARENT_BIT);   /* as written before tag 10 */
		break;
	case TV_CI_DELETED:
		obj = &it->u.deleted;
		if ((r = path_check(it->u.deleted.path, "catalog deleted item",
		                    TV_ERR_INVAL)) != 0)
			return r;
		break;
	case TV_CI_ENTRY:
		obj = &it->u.entry;
		if ((r = entry_check(&it->u.entry.e, "catalog entry item", TV_ERR_INVAL)) != 0)
			return r;
		mask = entry_mask(&it->u.entry.e);   /* then tags 16-22, CE_LOC, CE_STATE */
		break;
	case TV_CI_KEYRING: obj = &it->u.ring; break;
	case TV_CI_DATA: obj = &it->u.data; break;
	case TV_CI_PROBLEM:
		obj = &it->u.problem;
		if (it->u.problem.file_index == TV_PROBLEM_NO_INDEX)
			mask &= ~CP_INDEX_BIT;
		break;
	case TV_CI_WRITER: obj = &it->u.wsig; break;
	case TV_CI_END:
		end.count = it->u.end_count;
		obj = &end;
		break;
	default:
		return tv_errf(TV_ERR_INVAL, "catalog item: unknown type %d", (int)it->type);
	}
	if ((r = tv_buf_put_u8(out, (uint8_t)it->type)) != 0 ||
	    (r = tv_buf_put_u32(out, 0)) != 0 ||
	    (r = tv_fields_encode(out, &ci_fs[it->type], obj, mask)) != 0)
		goto fail;
	if (it->type == TV_CI_ENTRY &&
	    ((r = tv_entry_ext_encode(out, &it->u.entry.e)) != 0 ||
	     (r = tv_fields_encode(out, &ci_fs[TV_CI_ENTRY], obj,
	                           CE_LOC | (it->u.entry.has_state ? CE_STATE : 0))) != 0))
		goto fail;
	n = tv_buf_avail(out) - start - 5;
	if (n > TV_CI_MAX) {
		r = tv_errf(TV_ERR_RANGE, "catalog item of %zu bytes exceeds %u", n,
		            TV_CI_MAX);
		goto fail;
	}
	if ((r = tv_buf_poke_u32(out, start + 1, (uint32_t)n)) != 0)
		goto fail;
	return 0;
fail:
	if (tv_buf_avail(out) > start)   /* wiped: items may hold keys */
		(void)tv_buf_consume_end(out, tv_buf_avail(out) - start);
	return r;
}

int tv_cat_item_decode(const uint8_t *p, size_t avail, struct tv_cat_item_v *it,
                       size_t *used)
{
	struct end_item end = { 0 };
	struct tv_entry_ext ext = { &it->u.entry.e, "catalog entry item", 0 };
	struct tv_buf b, body;
	uint64_t present = 0;
	uint32_t n = 0;
	uint8_t type = 0;
	void *obj;
	int r;

	*used = 0;
	it->type = (enum tv_cat_item)0;
	tv_buf_view(&b, p, avail);
	if ((r = item_len(&b, 5, 1, &n)) != 0)
		return r;
	if ((r = tv_buf_get_u8(&b, &type)) != 0)
		return r;
	if (n > TV_CI_MAX)
		return tv_errf(TV_ERR_FORMAT, "catalog item (type %u): length %u "
		               "exceeds %u", (unsigned)type, (unsigned)n, TV_CI_MAX);
	if (tv_buf_avail(&b) - 4 < n)
		return TV_ERR_EOF;
	if ((r = tv_buf_consume(&b, 4)) != 0 || (r = tv_buf_froms(&b, &body, n)) != 0)
		return r;
	switch (type) {
	case TV_CI_TAPE: obj = &it->u.tape; memset(obj, 0, sizeof(it->u.tape)); break;
	case TV_CI_SET: obj = &it->u.set; memset(obj, 0, sizeof(it->u.set)); break;
	case TV_CI_ENTRY: obj = &it->u.entry; memset(obj, 0, sizeof(it->u.entry)); break;
	case TV_CI_KEYRING: obj = &it->u.ring; memset(obj, 0, sizeof(it->u.ring)); break;
	case TV_CI_DATA: obj = &it->u.data; memset(obj, 0, sizeof(it->u.data)); break;
	case TV_CI_PROBLEM:
		obj = &it->u.problem;
		memset(obj, 0, sizeof(it->u.problem));
		break;
	case TV_CI_DELETED:
		obj = &it->u.deleted;
		memset(obj, 0, sizeof(it->u.deleted));
		break;
	case TV_CI_WRITER: obj = &it->u.wsig; memset(obj, 0, sizeof(it->u.wsig)); break;
	case TV_CI_END: obj = &end; break;
	default:
		/* An item type of a newer version: returned with its type and
		 * no content; readers skip it (but count it for the END item). */
		it->type = (enum tv_cat_item)type;
		*used = tv_buf_tell(&b);
		return 0;
	}
	r = tv_fields_decode(&ci_fs[type], tv_buf_ptr(&body), tv_buf_avail(&body), obj,
	                     type == TV_CI_ENTRY ? tv_entry_ext_field : NULL, &ext, &present);
	if (r == 0 && type == TV_CI_SET)
		r = set_check(&it->u.set, TV_ERR_FORMAT);
	if (r == 0 && type == TV_CI_PROBLEM && !(present & CP_INDEX_BIT))
		it->u.problem.file_index = TV_PROBLEM_NO_INDEX;
	if (r == 0 && type == TV_CI_DELETED)
		r = path_check(it->u.deleted.path, "catalog deleted item", TV_ERR_FORMAT);
	if (r == 0 && type == TV_CI_ENTRY) {
		if (!(present & TV_FBIT(EF_PART)))
			it->u.entry.e.part = 1;
		it->u.entry.has_state = (present & CE_STATE) == CE_STATE;
		r = entry_check(&it->u.entry.e, "catalog entry item", TV_ERR_FORMAT);
	}
	if (r != 0) {
		tv_wipe(obj, type == TV_CI_END ? sizeof(end) : sizeof(it->u));
		return r;
	}
	it->type = (enum tv_cat_item)type;
	if (type == TV_CI_END)
		it->u.end_count = end.count;
	*used = tv_buf_tell(&b);
	return 0;
}
