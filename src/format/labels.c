/* tapevault: content header, labels, key slots, file and catalog headers. */
#include "format/format_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- content header ---- */

/* First 8 bytes of SHA-256 of the type names (tested against OpenSSL). */
static const uint8_t ct_magic[][8] = {
	[TV_CT_UNKNOWN] = { 0 },
	[TV_CT_VOLUME_LABEL] = { 0x16, 0x0e, 0x71, 0x4e, 0x2d, 0x7b, 0x39, 0x65 },
	[TV_CT_MEDIA_SET_LABEL] = { 0xfe, 0x3c, 0xbc, 0xb7, 0x21, 0xff, 0xec, 0xda },
	[TV_CT_DATA] = { 0x72, 0xe8, 0x49, 0x5c, 0xb9, 0xf4, 0x0e, 0xaa },
	[TV_CT_CATALOG] = { 0x46, 0xfe, 0xb7, 0x85, 0x61, 0xa2, 0xe4, 0x2e },
};
static const char *const ct_names[] = {
	[TV_CT_UNKNOWN] = "unknown",
	[TV_CT_VOLUME_LABEL] = "volume label",
	[TV_CT_MEDIA_SET_LABEL] = "media set label",
	[TV_CT_DATA] = "data",
	[TV_CT_CATALOG] = "catalog",
};
#define CT_COUNT (sizeof(ct_magic) / sizeof(ct_magic[0]))

const uint8_t *tv_content_magic(enum tv_content_type t)
{
	if ((unsigned)t >= CT_COUNT)
		t = TV_CT_UNKNOWN;
	return ct_magic[t];
}

const char *tv_content_type_name(enum tv_content_type t)
{
	if ((unsigned)t >= CT_COUNT)
		t = TV_CT_UNKNOWN;
	return ct_names[t];
}

enum tv_content_type tv_content_type_of(const uint8_t magic[8])
{
	for (unsigned i = 1; i < CT_COUNT; i++)
		if (memcmp(magic, ct_magic[i], 8) == 0)
			return (enum tv_content_type)i;
	return TV_CT_UNKNOWN;
}

int tv_hdr_encode(struct tv_buf *out, enum tv_content_type type,
                 const uint8_t uuid[TV_UUID_LEN], const void *body, size_t body_len)
{
	uint8_t *d;
	uint32_t crc;
	int r;

	if ((unsigned)type >= CT_COUNT || type == TV_CT_UNKNOWN)
		return tv_errf(TV_ERR_INVAL, "content header: unknown content type %d",
		               (int)type);
	if (body_len > TV_HDR_BODY_MAX)
		return tv_errf(TV_ERR_RANGE, "content header: body of %zu bytes "
		               "exceeds %u", body_len, TV_HDR_BODY_MAX);
	if (body_len > 0 && body == NULL)
		return tv_errf(TV_ERR_INVAL, "content header: no body");
	if ((r = tv_buf_reserve(out, TV_HDR_FIXED + body_len, &d)) != 0)
		return r;
	memcpy(d, TV_HDR_MAGIC, 4);
	tv_put_be16(d + 4, TV_FORMAT_VERSION);
	tv_put_be16(d + 6, 0);
	memcpy(d + 8, ct_magic[type], 8);
	memcpy(d + 16, uuid, TV_UUID_LEN);
	tv_put_be32(d + 32, (uint32_t)body_len);
	if (body_len > 0)
		memmove(d + TV_HDR_FIXED, body, body_len);
	crc = tv_crc32c(0, d, 36);
	crc = tv_crc32c(crc, d + TV_HDR_FIXED, body_len);
	tv_put_be32(d + 36, crc);
	return 0;
}

int tv_hdr_decode(const uint8_t *rec, size_t len, struct tv_content_header *ch)
{
	struct tv_buf b, fixed;
	const uint8_t *head = NULL, *magic = NULL, *type = NULL, *uuid = NULL;
	const uint8_t *body = NULL;
	uint32_t blen = 0, crc, want = 0;
	uint16_t ver = 0, flags = 0;
	int r;

	memset(ch, 0, sizeof(*ch));
	if (len < TV_HDR_FIXED)
		return tv_errf(TV_ERR_FORMAT, "content header: %zu bytes, shorter "
		               "than its fixed part of 40", len);
	/* the 36 bytes the CRC covers, the CRC, the body */
	tv_buf_view(&b, rec, len);
	if ((r = tv_buf_froms(&b, &fixed, 36)) != 0 ||
	    (r = tv_buf_get_u32(&b, &want)) != 0)
		return r;
	head = tv_buf_ptr(&fixed);
	if ((r = tv_buf_get_ptr(&fixed, &magic, 4)) != 0 ||
	    (r = tv_buf_get_u16(&fixed, &ver)) != 0 ||
	    (r = tv_buf_get_u16(&fixed, &flags)) != 0 ||
	    (r = tv_buf_get_ptr(&fixed, &type, 8)) != 0 ||
	    (r = tv_buf_get_ptr(&fixed, &uuid, TV_UUID_LEN)) != 0 ||
	    (r = tv_buf_get_u32(&fixed, &blen)) != 0)
		return r;
	if (memcmp(magic, "TVC", 3) == 0 && magic[3] != TV_HDR_MAGIC[3])
		return tv_errf(TV_ERR_UNSUPPORTED, "content header of format version %c "
		               "(this tapevault reads version %d)", magic[3],
		               TV_FORMAT_VERSION);
	if (memcmp(magic, TV_HDR_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "content header: bad magic "
		               "%02x%02x%02x%02x (not a tapevault tape file)",
		               magic[0], magic[1], magic[2], magic[3]);
	if (blen > TV_HDR_BODY_MAX)
		return tv_errf(TV_ERR_FORMAT, "content header: body length %" PRIu32
		               " exceeds %u", blen, TV_HDR_BODY_MAX);
	if (tv_buf_avail(&b) != (size_t)blen)
		return tv_errf(TV_ERR_FORMAT, "content header: body length %" PRIu32
		               " but %zu bytes follow the fixed part", blen,
		               tv_buf_avail(&b));
	if ((r = tv_buf_get_ptr(&b, &body, blen)) != 0)
		return r;
	crc = tv_crc32c(0, head, 36);
	crc = tv_crc32c(crc, body, blen);
	if (crc != want)
		return tv_errf(TV_ERR_CRC, "content header: CRC32C mismatch (stored "
		               "%08" PRIx32 ", computed %08" PRIx32 ")", want, crc);
	/* Checked after the CRC so that a damaged header is reported as such. */
	if (ver != TV_FORMAT_VERSION)
		return tv_errf(TV_ERR_UNSUPPORTED, "content header: format version "
		               "%u (this tapevault reads version %d)", (unsigned)ver,
		               TV_FORMAT_VERSION);
	if (flags != 0)
		return tv_errf(TV_ERR_UNSUPPORTED, "content header: unknown flags "
		               "0x%04x", (unsigned)flags);
	memcpy(ch->magic, type, 8);
	ch->type = tv_content_type_of(ch->magic);
	memcpy(ch->uuid, uuid, TV_UUID_LEN);
	ch->body = body;
	ch->body_len = blen;
	return 0;
}

/* ---- volume label ---- */

#define VL struct tv_volume_label
static const struct tv_field vol_f[] = {
	TVF_UUID(VL, tape_uuid, 1, 1),
	TVF_STR(VL, barcode, 2, 0),
	TVF_U64(VL, created, 3, 1, 0, UINT64_MAX),
	TVF_STR(VL, writer, 4, 0),
	TVF_U64(VL, record_size, 5, 1, TV_RECORD_SIZE_MIN, TV_RECORD_SIZE_MAX),
};
#undef VL
static const struct tv_fields vol_fs = { "volume label", vol_f,
                                         sizeof(vol_f) / sizeof(vol_f[0]) };

int tv_vol_label_encode(struct tv_buf *body, const struct tv_volume_label *l)
{
	return tv_fields_encode(body, &vol_fs, l, TV_FIELD_ALL);
}

int tv_vol_label_decode(const uint8_t *body, size_t len, struct tv_volume_label *l)
{
	memset(l, 0, sizeof(*l));
	return tv_fields_decode(&vol_fs, body, len, l, NULL, NULL, NULL);
}

/* ---- key slots ---- */

#define KS struct tv_keyslot
enum {
	KS_TYPE, KS_WRAP, KS_WRAPPED, KS_IV, KS_KDF, KS_SALT, KS_ITER, KS_MEM,
	KS_PAR, KS_NAME, KS_HINT, KS_KMS_NAME, KS_KMS_HOST, KS_KMS_PORT,
	KS_KEY_ID, KS_KMS_KIND, KS_ESCROW_FPR, KS_N_
};
static const struct tv_field slot_f[] = {
	[KS_TYPE] = TVF_ENUM(KS, type, 1, 1, TV_SLOT_PASSWORD, TV_SLOT_ESCROW),
	[KS_WRAP] = TVF_ENUM(KS, wrap, 2, 1, TV_WRAP_AES256GCM, TV_WRAP_RSA_OAEP_SHA256),
	[KS_WRAPPED] = TVF_VAR(KS, wrapped, wrapped_len, 3, 1),
	[KS_IV] = TVF_VAR(KS, iv, iv_len, 4, 0),
	[KS_KDF] = TVF_ENUM(KS, kdf, 5, 0, TV_KDF_PBKDF2_SHA256, TV_KDF_ARGON2ID),
	[KS_SALT] = TVF_VAR(KS, salt, salt_len, 6, 0),
	[KS_ITER] = TVF_U64(KS, kdf_iter, 7, 0, 0, UINT64_MAX),
	[KS_MEM] = TVF_U64(KS, kdf_mem_kib, 8, 0, 0, UINT64_MAX),
	[KS_PAR] = TVF_U64(KS, kdf_par, 9, 0, 0, UINT64_MAX),
	[KS_NAME] = TVF_STR(KS, name, 10, 0),
	[KS_HINT] = TVF_STR(KS, hint, 11, 0),
	[KS_KMS_NAME] = TVF_STR(KS, kms_name, 12, 0),
	[KS_KMS_HOST] = TVF_STR(KS, kms_host, 13, 0),
	[KS_KMS_PORT] = TVF_U64(KS, kms_port, 14, 0, 0, 65535),
	[KS_KEY_ID] = TVF_STR(KS, key_id, 15, 0),
	[KS_KMS_KIND] = TVF_ENUM(KS, kms_kind, 16, 0, TV_KMS_AES, TV_KMS_RSA),
	[KS_ESCROW_FPR] = TVF_FIXED(KS, escrow_fpr, 17, 0),
};
#undef KS
_Static_assert(KS_N_ == sizeof(slot_f) / sizeof(slot_f[0]), "slot table");
_Static_assert(sizeof(enum tv_slot_type) == sizeof(int) &&
               sizeof(enum tv_wrap) == sizeof(int) &&
               sizeof(enum tv_kdf) == sizeof(int) &&
               sizeof(enum tv_kms_kind) == sizeof(int) &&
               sizeof(enum tv_enc_alg) == sizeof(int) &&
               sizeof(enum tv_ftype) == sizeof(int), "enums are int sized");

#define KS_COMMON (TV_FBIT(KS_TYPE) | TV_FBIT(KS_WRAP) | TV_FBIT(KS_WRAPPED) | \
                   TV_FBIT(KS_NAME))
#define KS_PASSWORD (TV_FBIT(KS_KDF) | TV_FBIT(KS_SALT) | TV_FBIT(KS_ITER) |     \
                     TV_FBIT(KS_MEM) | TV_FBIT(KS_PAR) | TV_FBIT(KS_HINT))
#define KS_KMS (TV_FBIT(KS_KMS_NAME) | TV_FBIT(KS_KMS_HOST) |                    \
                TV_FBIT(KS_KMS_PORT) | TV_FBIT(KS_KEY_ID) | TV_FBIT(KS_KMS_KIND))
#define KS_ESCROW TV_FBIT(KS_ESCROW_FPR)

static int wrap_is_gcm(enum tv_wrap w)
{
	return w == TV_WRAP_AES256GCM || w == TV_WRAP_KMIP_AESGCM;
}

/* The fields a slot of this type carries (on tape and in its AAD). */
static uint64_t slot_mask(const struct tv_keyslot *s)
{
	uint64_t m = KS_COMMON;

	if (wrap_is_gcm(s->wrap))
		m |= TV_FBIT(KS_IV);
	switch (s->type) {
	case TV_SLOT_PASSWORD: return m | KS_PASSWORD;
	case TV_SLOT_KMS: return m | KS_KMS;
	case TV_SLOT_ESCROW: return m | KS_ESCROW;
	}
	return m;
}

/* Per-type mandatory fields beyond the table's. */
static uint64_t slot_required(const struct tv_keyslot *s)
{
	uint64_t m = wrap_is_gcm(s->wrap) ? TV_FBIT(KS_IV) : 0;

	switch (s->type) {
	case TV_SLOT_PASSWORD:
		return m | TV_FBIT(KS_KDF) | TV_FBIT(KS_SALT) | TV_FBIT(KS_ITER);
	case TV_SLOT_KMS:
		return m | TV_FBIT(KS_KEY_ID) | TV_FBIT(KS_KMS_KIND);
	case TV_SLOT_ESCROW:
		return m | TV_FBIT(KS_ESCROW_FPR);
	}
	return m;
}

/* Clears the fields a slot of its type does not carry, so that a slot read
 * from tape holds exactly what its encoding and AAD cover. */
static void slot_normalize(struct tv_keyslot *s)
{
	uint64_t m = slot_mask(s);

	for (size_t i = 0; i < KS_N_; i++) {
		const struct tv_field *f = &slot_f[i];
		if (m & TV_FBIT(i))
			continue;
		memset((uint8_t *)s + f->off, 0, f->size);
		if (f->kind == TV_FK_VAR)
			memset((uint8_t *)s + f->len_off, 0, sizeof(size_t));
	}
}

/* Semantic checks shared by encoder (code TV_ERR_INVAL) and decoder
 * (TV_ERR_FORMAT).  check_wrapped = 0 skips the wrapped key (for AAD). */
static int slot_check(const struct tv_keyslot *s, const char *what, int code,
                      int check_wrapped)
{
	switch (s->type) {
	case TV_SLOT_PASSWORD:
		if (s->wrap != TV_WRAP_AES256GCM)
			return tv_errf(code, "%s: password slot must use wrap %d "
			               "(AES-256-GCM), not %d", what, TV_WRAP_AES256GCM,
			               (int)s->wrap);
		if (s->kdf != TV_KDF_PBKDF2_SHA256 && s->kdf != TV_KDF_ARGON2ID)
			return tv_errf(code, "%s: field kdf (tag 5): unknown KDF %d",
			               what, (int)s->kdf);
		if (s->salt_len < 16)
			return tv_errf(code, "%s: field salt (tag 6): %zu bytes, at "
			               "least 16 required", what, s->salt_len);
		if (s->kdf_iter < 1 || s->kdf_iter > UINT32_MAX)
			return tv_errf(code, "%s: field kdf_iter (tag 7): %" PRIu64
			               " out of range [1, 4294967295]", what, s->kdf_iter);
		if (s->kdf == TV_KDF_ARGON2ID) {
			if (s->kdf_par < 1 || s->kdf_par > 0xffffff)
				return tv_errf(code, "%s: field kdf_par (tag 9): %" PRIu64
				               " out of range [1, 16777215]", what, s->kdf_par);
			if (s->kdf_mem_kib < 8 * s->kdf_par || s->kdf_mem_kib > UINT32_MAX)
				return tv_errf(code, "%s: field kdf_mem_kib (tag 8): %" PRIu64
				               " out of range [8 * kdf_par, 4294967295]", what,
				               s->kdf_mem_kib);
		}
		break;
	case TV_SLOT_KMS:
		if (s->kms_kind == TV_KMS_AES ? s->wrap != TV_WRAP_KMIP_AESGCM
		    : s->kms_kind == TV_KMS_RSA ? s->wrap != TV_WRAP_RSA_OAEP_SHA256
		    : 1)
			return tv_errf(code, "%s: KMS key kind %d does not match wrap %d",
			               what, (int)s->kms_kind, (int)s->wrap);
		if (s->key_id[0] == '\0')
			return tv_errf(code, "%s: field key_id (tag 15): empty", what);
		break;
	case TV_SLOT_ESCROW:
		if (s->wrap != TV_WRAP_RSA_OAEP_SHA256)
			return tv_errf(code, "%s: escrow slot must use wrap %d "
			               "(RSA-OAEP-SHA256), not %d", what,
			               TV_WRAP_RSA_OAEP_SHA256, (int)s->wrap);
		break;
	default:
		return tv_errf(code, "%s: unknown slot type %d", what, (int)s->type);
	}
	if (wrap_is_gcm(s->wrap) && s->iv_len != 12)
		return tv_errf(code, "%s: field iv (tag 4): %zu bytes (expected 12)",
		               what, s->iv_len);
	if (!check_wrapped)
		return 0;
	if (wrap_is_gcm(s->wrap) && s->wrapped_len != TV_DEK_LEN + 16)
		return tv_errf(code, "%s: field wrapped (tag 3): %zu bytes (expected "
		               "48: wrapped key and GCM tag)", what, s->wrapped_len);
	if (!wrap_is_gcm(s->wrap) && s->wrapped_len < 128)
		return tv_errf(code, "%s: field wrapped (tag 3): %zu bytes, too short "
		               "for RSA-OAEP", what, s->wrapped_len);
	return 0;
}

static int slot_encode(struct tv_buf *b, const struct tv_keyslot *s, const char *what)
{
	static const struct tv_fields fs0 = { "key slot", slot_f, KS_N_ };
	struct tv_fields fs = fs0;
	int r;

	fs.what = what;
	if ((r = slot_check(s, what, TV_ERR_INVAL, 1)) != 0)
		return r;
	return tv_fields_encode(b, &fs, s, slot_mask(s));
}

int tv_keyslot_aad(struct tv_buf *out, const uint8_t tape_uuid[TV_UUID_LEN],
                   const struct tv_keyslot *s)
{
	struct tv_fields fs = { "key slot AAD", slot_f, KS_N_ };
	static const char ctx[] = "tapevault keyslot v1";
	int r;

	if (s->type < TV_SLOT_PASSWORD || s->type > TV_SLOT_ESCROW)
		return tv_errf(TV_ERR_INVAL, "key slot AAD: unknown slot type %d",
		               (int)s->type);
	if ((r = tv_buf_put(out, ctx, sizeof(ctx) - 1)) != 0 ||
	    (r = tv_buf_put(out, tape_uuid, TV_UUID_LEN)) != 0)
		return r;
	return tv_fields_encode(out, &fs, s, slot_mask(s) &
	                        ~(TV_FBIT(KS_WRAPPED) | TV_FBIT(KS_IV)));
}

/* Slot type without decoding the rest (to skip unknown types). */
static int slot_peek_type(const struct tv_tlv *it, uint64_t *type, const char *what)
{
	struct tv_buf b;
	struct tv_tlv f;
	int r, found = 0;

	tv_buf_view(&b, it->val, it->len);
	while ((r = tv_tlv_next(&b, &f)) == 0) {
		if (f.tag != 1)
			continue;
		if (found)
			return tv_errf(TV_ERR_FORMAT, "%s: field type (tag 1): duplicated",
			               what);
		if ((r = tv_tlv_u64(&f, type)) != 0)
			return tv_errf(TV_ERR_FORMAT, "%s: field type (tag 1): integer "
			               "of %zu bytes (expected 8)", what, f.len);
		found = 1;
	}
	if (r != TV_ERR_EOF)
		return tv_errctx(r, "%s", what);
	if (!found)
		return tv_errf(TV_ERR_FORMAT, "%s: field type (tag 1): mandatory "
		               "field missing", what);
	return 0;
}

/* ---- encryption descriptor ---- */

#define ED struct tv_encdesc
static const struct tv_field enc_f[] = {
	TVF_ENUM(ED, alg, 1, 1, 0, 255),
	TVF_FIXED(ED, dek_fpr, 2, 0),
};
#undef ED
#define ENC_TAG_SLOT 3

struct enc_ctx {
	unsigned slot_items;
};

static int enc_extra(void *obj, const struct tv_tlv *it, void *vctx)
{
	struct tv_encdesc *e = obj;
	struct enc_ctx *c = vctx;
	struct tv_fields fs = { NULL, slot_f, KS_N_ };
	struct tv_keyslot *s;
	char what[64];
	uint64_t type = 0, present;
	int r;

	if (it->tag != ENC_TAG_SLOT)
		return 0;
	snprintf(what, sizeof(what), "media set label: key slot %u", c->slot_items + 1);
	if (++c->slot_items > TV_MAX_SLOTS)
		return tv_errf(TV_ERR_FORMAT, "media set label: more than %d key slots",
		               TV_MAX_SLOTS);
	if ((r = slot_peek_type(it, &type, what)) != 0)
		return r;
	if (type < TV_SLOT_PASSWORD || type > TV_SLOT_ESCROW)
		return 1;   /* a slot type of a newer version: ignored */
	s = &e->slots[e->nslots];
	memset(s, 0, sizeof(*s));
	fs.what = what;
	if ((r = tv_fields_decode(&fs, it->val, it->len, s, NULL, NULL, &present)) != 0 ||
	    (r = tv_fields_require(&fs, present, slot_required(s))) != 0 ||
	    (r = slot_check(s, what, TV_ERR_FORMAT, 1)) != 0) {
		memset(s, 0, sizeof(*s));
		return r;
	}
	slot_normalize(s);
	e->nslots++;
	return 1;
}

static int encdesc_decode(const uint8_t *p, size_t len, struct tv_encdesc *e)
{
	struct tv_fields fs = { "media set label: encryption", enc_f, 2 };
	struct enc_ctx c = { 0 };
	uint64_t present;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = tv_fields_decode(&fs, p, len, e, enc_extra, &c, &present)) != 0)
		return r;
	if (e->alg == TV_ENC_NONE) {
		if ((present & TV_FBIT(1)) || c.slot_items > 0)
			return tv_errf(TV_ERR_FORMAT, "media set label: encryption: "
			               "algorithm none with a DEK fingerprint or key slots");
		return 0;
	}
	if (e->alg != TV_ENC_AES256GCM_HKDF)
		return tv_errf(TV_ERR_UNSUPPORTED, "media set label: encryption "
		               "algorithm %d unknown (tape written by a newer version?)",
		               (int)e->alg);
	return tv_fields_require(&fs, present, TV_FBIT(1));
}

static int encdesc_encode(struct tv_buf *b, const struct tv_encdesc *e)
{
	struct tv_fields fs = { "media set label: encryption", enc_f, 2 };
	char what[64];
	size_t mark, smark;
	int r;

	if (e->alg != TV_ENC_NONE && e->alg != TV_ENC_AES256GCM_HKDF)
		return tv_errf(TV_ERR_INVAL, "media set label: unknown encryption "
		               "algorithm %d", (int)e->alg);
	if (e->nslots > TV_MAX_SLOTS || (e->alg == TV_ENC_NONE && e->nslots > 0))
		return tv_errf(TV_ERR_INVAL, "media set label: %zu key slots with "
		               "algorithm %d", e->nslots, (int)e->alg);
	if ((r = tv_tlv_begin_nested(b, 6, &mark)) != 0 ||
	    (r = tv_fields_encode(b, &fs, e, e->alg == TV_ENC_NONE ? TV_FBIT(0)
	                          : TV_FIELD_ALL)) != 0)
		return r;
	for (size_t i = 0; i < e->nslots; i++) {
		snprintf(what, sizeof(what), "media set label: key slot %zu", i + 1);
		if ((r = tv_tlv_begin_nested(b, ENC_TAG_SLOT, &smark)) != 0 ||
		    (r = slot_encode(b, &e->slots[i], what)) != 0 ||
		    (r = tv_tlv_end_nested(b, smark)) != 0)
			return r;
	}
	return tv_tlv_end_nested(b, mark);
}

/* ---- media set label ---- */

#define MS struct tv_media_set_label
static const struct tv_field ms_f[] = {
	TVF_STR(MS, pool_name, 1, 0),
	TVF_UUID(MS, pool_uuid, 2, 1),
	TVF_UUID(MS, media_set_uuid, 3, 1),
	TVF_U64(MS, seq, 4, 1, 1, UINT64_MAX),
	TVF_U64(MS, created, 5, 1, 0, UINT64_MAX),
};
#undef MS
static const struct tv_fields ms_fs = { "media set label", ms_f,
                                        sizeof(ms_f) / sizeof(ms_f[0]) };
#define MS_TAG_ENC 6

/* ---- writer signature (docs/FORMAT.md 9.4) ---- */

#define WS struct tv_wsig
static const struct tv_field wsig_f[] = {
	TVF_U64(WS, alg, 1, 1, 1, UINT64_MAX),
	TVF_FIXED(WS, pub, 2, 1),
	TVF_FIXED(WS, fpr, 3, 1),
	TVF_FIXED(WS, sig, 4, 1),
};
#undef WS

int tv_wsig_encode(struct tv_buf *b, uint16_t tag, const struct tv_wsig *s)
{
	struct tv_fields fs = { "writer signature", wsig_f, 4 };
	size_t mark;
	int r;

	if ((r = tv_tlv_begin_nested(b, tag, &mark)) != 0 ||
	    (r = tv_fields_encode(b, &fs, s, TV_FIELD_ALL)) != 0)
		return r;
	return tv_tlv_end_nested(b, mark);
}

int tv_wsig_decode(const uint8_t *p, size_t len, struct tv_wsig *s, const char *what)
{
	struct tv_fields fs = { what, wsig_f, 4 };
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = tv_fields_decode(&fs, p, len, s, NULL, NULL, NULL)) != 0)
		memset(s, 0, sizeof(*s));
	return r;
}

struct ms_ctx {
	int seen;
	const uint8_t *body;
};

static int ms_extra(void *obj, const struct tv_tlv *it, void *ctx)
{
	struct tv_media_set_label *l = obj;
	struct ms_ctx *c = ctx;
	int r;

	if (it->tag == TV_MS_TAG_WSIG) {
		if (l->has_wsig)
			return tv_errf(TV_ERR_FORMAT, "media set label: field writer "
			               "signature (tag 7): duplicated");
		if ((r = tv_wsig_decode(it->val, it->len, &l->wsig,
		                        "media set label: writer signature")) != 0)
			return r;
		l->has_wsig = 1;
		l->wsig_off = (size_t)(it->val - c->body) - 6;   /* tag u16, length u32 */
		l->wsig_len = 6 + it->len;
		return 1;
	}
	if (it->tag != MS_TAG_ENC)
		return 0;
	if (c->seen++)
		return tv_errf(TV_ERR_FORMAT, "media set label: field encryption "
		               "(tag 6): duplicated");
	r = encdesc_decode(it->val, it->len, &l->enc);
	return r < 0 ? r : 1;
}

int tv_ms_label_encode(struct tv_buf *body, const struct tv_media_set_label *l)
{
	int r;

	if ((r = tv_fields_encode(body, &ms_fs, l, TV_FIELD_ALL)) != 0 ||
	    (r = encdesc_encode(body, &l->enc)) != 0)
		return r;
	/* a label as decoded keeps its signature (as the last item) */
	return l->has_wsig ? tv_wsig_encode(body, TV_MS_TAG_WSIG, &l->wsig) : 0;
}

int tv_ms_label_decode(const uint8_t *body, size_t len, struct tv_media_set_label *l)
{
	struct ms_ctx c = { 0, body };
	int r;

	memset(l, 0, sizeof(*l));
	r = tv_fields_decode(&ms_fs, body, len, l, ms_extra, &c, NULL);
	if (r == 0 && !c.seen)
		r = tv_errf(TV_ERR_FORMAT, "media set label: field encryption (tag 6): "
		            "mandatory field missing");
	if (r != 0) {
		memset(&l->enc, 0, sizeof(l->enc));
		l->has_wsig = 0;
		memset(&l->wsig, 0, sizeof(l->wsig));
	}
	return r;
}

/* ---- data file header ---- */

#define DH struct tv_data_header
static const struct tv_field dh_f[] = {
	TVF_UUID(DH, set_uuid, 1, 1),
	TVF_STR(DH, set_name, 2, 0),
	TVF_U64(DH, created, 3, 0, 0, UINT64_MAX),
	TVF_U64(DH, session, 4, 0, 0, UINT64_MAX),
};
#undef DH
static const struct tv_fields dh_fs = { "data file header", dh_f,
                                        sizeof(dh_f) / sizeof(dh_f[0]) };

int tv_data_header_encode(struct tv_buf *body, const struct tv_data_header *h)
{
	return tv_fields_encode(body, &dh_fs, h, TV_FIELD_ALL);
}

int tv_data_header_decode(const uint8_t *body, size_t len, struct tv_data_header *h)
{
	memset(h, 0, sizeof(*h));
	return tv_fields_decode(&dh_fs, body, len, h, NULL, NULL, NULL);
}

/* ---- catalog header ---- */

#define CAT struct tv_catalog_header
static const struct tv_field cath_f[] = {
	TVF_UUID(CAT, tape_uuid, 1, 1),
	TVF_UUID(CAT, media_set_uuid, 2, 1),
	TVF_U64(CAT, session, 3, 1, 0, UINT64_MAX),
};
#undef CAT
static const struct tv_fields cath_fs = { "catalog header", cath_f,
                                          sizeof(cath_f) / sizeof(cath_f[0]) };

int tv_catalog_header_encode(struct tv_buf *body, const struct tv_catalog_header *h)
{
	return tv_fields_encode(body, &cath_fs, h, TV_FIELD_ALL);
}

int tv_catalog_header_decode(const uint8_t *body, size_t len,
                             struct tv_catalog_header *h)
{
	memset(h, 0, sizeof(*h));
	return tv_fields_decode(&cath_fs, body, len, h, NULL, NULL, NULL);
}
