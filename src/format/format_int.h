/* tapevault: internals of the format layer (not for other layers).
 *
 * Table-driven TLV structures: each structure is described by a table of
 * fields (tag, kind, name, offset in the C struct, bounds).  One encoder and
 * one decoder walk the tables, so every structure gets the same hostile-input
 * checks: exact lengths for integers and UUIDs, strings without NUL that fit
 * their array, byte strings within their bound, ranges, no duplicated tags,
 * mandatory fields present.  Tags not in a table go to an optional callback
 * (nested structures) or are skipped (forward compatibility). */
#ifndef TV_FORMAT_INT_H
#define TV_FORMAT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"

enum tv_fk {
	TV_FK_U64,     /* uint64_t, 8-byte value */
	TV_FK_I64,     /* int64_t, 8-byte two's complement value */
	TV_FK_U32,     /* uint32_t stored as an 8-byte value <= 0xffffffff */
	TV_FK_ENUM,    /* enum (int sized) stored as an 8-byte value */
	TV_FK_UUID,    /* uint8_t[16] */
	TV_FK_STR,     /* char[size], UTF-8 without NUL, < size bytes */
	TV_FK_FIXED,   /* uint8_t[size], exactly size bytes */
	TV_FK_VAR,     /* uint8_t[size] + size_t length at len_off, <= size */
};

struct tv_field {
	uint16_t tag;
	uint8_t kind;
	uint8_t mand;          /* decoder: missing is a format error */
	const char *name;
	size_t off;
	size_t size;
	size_t len_off;
	uint64_t lo, hi;       /* U64/U32/ENUM: allowed range */
};

struct tv_fields {
	const char *what;      /* "volume label" */
	const struct tv_field *f;
	size_t n;
};

#define TV_FIELD_ALL UINT64_MAX
#define TV_FBIT(i) ((uint64_t)1 << (i))

#define TVF_(S, m, tg, kd, md, lo_, hi_)                                    \
	{ .tag = (tg), .kind = (kd), .mand = (md), .name = #m,                \
	  .off = offsetof(S, m), .size = sizeof(((S *)0)->m), .len_off = 0, \
	  .lo = (lo_), .hi = (hi_) }
#define TVF_U64(S, m, tg, md, lo, hi) TVF_(S, m, tg, TV_FK_U64, md, lo, hi)
#define TVF_I64(S, m, tg, md) TVF_(S, m, tg, TV_FK_I64, md, 0, 0)
#define TVF_U32(S, m, tg, md) TVF_(S, m, tg, TV_FK_U32, md, 0, UINT32_MAX)
#define TVF_ENUM(S, m, tg, md, lo, hi) TVF_(S, m, tg, TV_FK_ENUM, md, lo, hi)
#define TVF_UUID(S, m, tg, md) TVF_(S, m, tg, TV_FK_UUID, md, 0, 0)
#define TVF_STR(S, m, tg, md) TVF_(S, m, tg, TV_FK_STR, md, 0, 0)
#define TVF_FIXED(S, m, tg, md) TVF_(S, m, tg, TV_FK_FIXED, md, 0, 0)
#define TVF_VAR(S, m, lm, tg, md)                                            \
	{ .tag = (tg), .kind = TV_FK_VAR, .mand = (md), .name = #m,           \
	  .off = offsetof(S, m), .size = sizeof(((S *)0)->m),               \
	  .len_off = offsetof(S, lm), .lo = 0, .hi = 0 }

/* Callback for tags that are not in the table: returns 1 when it consumed
 * the item, 0 to skip it as unknown, or a negative error. */
typedef int (*tv_extra_fn)(void *obj, const struct tv_tlv *it, void *ctx);

/* Decodes a TLV list into obj (which the caller zeroed).  *present (may be
 * NULL) receives the bitmask of table fields seen.  Errors are
 * TV_ERR_FORMAT with a detail "WHAT: field NAME (tag T): problem". */
int tv_fields_decode(const struct tv_fields *fs, const uint8_t *p, size_t len,
                     void *obj, tv_extra_fn extra, void *ctx, uint64_t *present);
/* Appends the fields of obj selected by mask (bit i = table entry i), in
 * table order (tables are sorted by tag).  Values are checked as the
 * decoder would (TV_ERR_INVAL naming the field). */
int tv_fields_encode(struct tv_buf *b, const struct tv_fields *fs,
                     const void *obj, uint64_t mask);
/* Checks the mandatory fields (mand) plus those in extra_mand against
 * present; TV_ERR_FORMAT naming the first missing one. */
int tv_fields_require(const struct tv_fields *fs, uint64_t present,
                      uint64_t extra_mand);

/* Begins a nested TLV item: writes the tag and a length placeholder and
 * returns the offset to patch with tv_tlv_end_nested. */
int tv_tlv_begin_nested(struct tv_buf *b, uint16_t tag, size_t *mark);
int tv_tlv_end_nested(struct tv_buf *b, size_t mark);

/* Entry TLV body (shared by the entry header and catalog part items). */
int tv_entry_body_encode(struct tv_buf *b, const struct tv_entry *e);
int tv_entry_body_decode(const uint8_t *p, size_t len, struct tv_entry *e,
                         const char *what);

/* The optional entry fields, tags 16-22 (entries.c), shared by entry
 * headers and catalog entry items.  tv_entry_ext_encode appends those e
 * has (ascending tags); tv_entry_ext_field is the tv_extra_fn of their
 * decoders (ctx: a struct tv_entry_ext); tv_entry_ext_check holds their
 * rules (code: TV_ERR_INVAL encoding, TV_ERR_FORMAT decoding). */
struct tv_entry_ext {
	struct tv_entry *e;
	const char *what;
	uint32_t seen;
};
int tv_entry_ext_encode(struct tv_buf *b, const struct tv_entry *e);
int tv_entry_ext_field(void *obj, const struct tv_tlv *it, void *ctx);
int tv_entry_ext_check(const struct tv_entry *e, const char *what, int code);

#endif
