/* tapevault: content header (TVC2), TLV helpers, labels, key slots and
 * their AAD, data and catalog file headers (format v2): round trips,
 * hostile input; and the label files themselves, written with
 * tv_labels_write on an in-memory tape and read back with tv_labels_read /
 * tv_labels_verify: a sealed media set label authenticates both labels, an
 * edited one (CRCs fixed up) does not, a v1 tape is named as another
 * format version.  (The worked examples of docs/FORMAT.md are in
 * test_format_seeds.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

/* ---- content header ---- */

static void test_magics(void **state)
{
	static const struct { enum tv_content_type t; const char *name; } v[] = {
		{ TV_CT_VOLUME_LABEL, "tapevault volume label v2" },
		{ TV_CT_MEDIA_SET_LABEL, "tapevault media set label v2" },
		{ TV_CT_DATA, "tapevault data v2" },
		{ TV_CT_CATALOG, "tapevault catalog v2" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t md[32];
		unsigned mdlen;
		assert_int_equal(EVP_Digest(v[i].name, strlen(v[i].name), md, &mdlen,
		                            EVP_sha256(), NULL), 1);
		assert_memory_equal(tv_content_magic(v[i].t), md, 8);
		assert_int_equal(tv_content_type_of(md), v[i].t);
		/* "tapevault data v2" -> "data" */
		assert_non_null(strstr(v[i].name, tv_content_type_name(v[i].t)));
	}
	assert_int_equal(tv_content_type_of((const uint8_t *)"12345678"), TV_CT_UNKNOWN);
	assert_int_equal(tv_content_type_of(tv_content_magic(TV_CT_UNKNOWN)), TV_CT_UNKNOWN);
	assert_string_equal(tv_content_type_name((enum tv_content_type)77), "unknown");
	assert_memory_equal(tv_content_magic((enum tv_content_type)77), "\0\0\0\0\0\0\0\0", 8);
}

/* The layout of format.h, assembled by hand. */
static void ref_hdr(struct tv_buf *out, const uint8_t magic[8], const uint8_t uuid[16],
                    const void *body, size_t n, uint16_t version, uint16_t flags)
{
	uint8_t f[TV_HDR_FIXED];
	uint32_t crc;

	memcpy(f, "TVC2", 4);
	tv_put_be16(f + 4, version);
	tv_put_be16(f + 6, flags);
	memcpy(f + 8, magic, 8);
	memcpy(f + 16, uuid, 16);
	tv_put_be32(f + 32, (uint32_t)n);
	crc = tv_crc32c(tv_crc32c(0, f, 36), body, n);
	tv_put_be32(f + 36, crc);
	assert_int_equal(tv_buf_put(out, f, sizeof(f)), 0);
	assert_int_equal(tv_buf_put(out, body, n), 0);
}

static void test_ch_roundtrip(void **state)
{
	struct tv_content_header ch;
	struct tv_buf b, want;
	uint8_t uuid[16], body[300];
	(void)state;

	tl_fill_seq(uuid, 16, 0x10);
	tl_fill_seq(body, sizeof(body), 0);
	tv_buf_init(&b);
	tv_buf_init(&want);
	assert_int_equal(tv_hdr_encode(&b, TV_CT_DATA, uuid, body, sizeof(body)), 0);
	ref_hdr(&want, tv_content_magic(TV_CT_DATA), uuid, body, sizeof(body), 2, 0);
	assert_int_equal(b.len, TV_HDR_FIXED + sizeof(body));
	assert_memory_equal(b.d, want.d, want.len);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), 0);
	assert_int_equal(ch.type, TV_CT_DATA);
	assert_memory_equal(ch.magic, tv_content_magic(TV_CT_DATA), 8);
	assert_memory_equal(ch.uuid, uuid, 16);
	assert_int_equal(ch.body_len, sizeof(body));
	assert_ptr_equal(ch.body, b.d + TV_HDR_FIXED);   /* in place */

	/* every truncation is rejected */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_hdr_decode(b.d, n, &ch), TV_ERR_FORMAT);
	/* trailing garbage too */
	assert_int_equal(tv_buf_put_u8(&b, 0), 0);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_FORMAT);
	b.len--;
	/* every single-bit corruption is rejected: magic and length as format
	 * errors (a "TVC" magic of another version as unsupported), everything
	 * else by the CRC, version and flags included (checked after it) */
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;
			b.d[i] ^= (uint8_t)(1u << bit);
			rc = tv_hdr_decode(b.d, b.len, &ch);
			b.d[i] ^= (uint8_t)(1u << bit);
			if (i < 3 || (i >= 32 && i < 36))
				assert_int_equal(rc, TV_ERR_FORMAT);
			else if (i == 3)
				assert_int_equal(rc, TV_ERR_UNSUPPORTED);
			else
				assert_int_equal(rc, TV_ERR_CRC);
		}
	}
	/* empty body; the largest body */
	tv_buf_reset(&b);
	assert_int_equal(tv_hdr_encode(&b, TV_CT_CATALOG, uuid, NULL, 0), 0);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), 0);
	assert_int_equal(ch.body_len, 0);
	{
		uint8_t *big = calloc(1, TV_HDR_BODY_MAX + 1);
		tv_buf_reset(&b);
		assert_int_equal(tv_hdr_encode(&b, TV_CT_CATALOG, uuid, big, TV_HDR_BODY_MAX), 0);
		assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), 0);
		/* the encoder refuses oversize bodies, unknown types, no body */
		tv_buf_reset(&b);
		assert_int_equal(tv_hdr_encode(&b, TV_CT_CATALOG, uuid, big, TV_HDR_BODY_MAX + 1),
		                 TV_ERR_RANGE);
		free(big);
	}
	assert_int_equal(tv_hdr_encode(&b, TV_CT_UNKNOWN, uuid, body, 1), TV_ERR_INVAL);
	assert_int_equal(tv_hdr_encode(&b, (enum tv_content_type)9, uuid, body, 1),
	                 TV_ERR_INVAL);
	assert_int_equal(tv_hdr_encode(&b, TV_CT_DATA, uuid, NULL, 1), TV_ERR_INVAL);
	assert_int_equal(b.len, 0);
	tv_buf_free(&b);
	tv_buf_free(&want);
}

static void test_ch_version_flags_unknown(void **state)
{
	static const uint8_t future[8] = { 'n', 'e', 'w', 't', 'y', 'p', 'e', '!' };
	struct tv_content_header ch;
	struct tv_buf b;
	uint8_t uuid[16] = { 1 };
	(void)state;

	tv_buf_init(&b);
	/* another version or flags with a valid CRC: unsupported, named */
	ref_hdr(&b, tv_content_magic(TV_CT_CATALOG), uuid, "ab", 2, 1, 0);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "version 1"));
	tv_buf_reset(&b);
	ref_hdr(&b, tv_content_magic(TV_CT_CATALOG), uuid, "ab", 2, 3, 0);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_UNSUPPORTED);
	tv_buf_reset(&b);
	ref_hdr(&b, tv_content_magic(TV_CT_CATALOG), uuid, "ab", 2, 2, 0x8000);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "flags"));
	/* a v1 content header ("TVC1"): another format version */
	tv_buf_reset(&b);
	ref_hdr(&b, tv_content_magic(TV_CT_CATALOG), uuid, "ab", 2, 1, 0);
	b.d[3] = '1';
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "version 1"));
	/* an unknown type magic decodes as TV_CT_UNKNOWN (readers skip it) */
	tv_buf_reset(&b);
	ref_hdr(&b, future, uuid, "ab", 2, 2, 0);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), 0);
	assert_int_equal(ch.type, TV_CT_UNKNOWN);
	assert_memory_equal(ch.magic, future, 8);
	/* body length over the limit, whatever follows */
	tv_put_be32(b.d + 32, TV_HDR_BODY_MAX + 1);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_FORMAT);
	tv_put_be32(b.d + 32, UINT32_MAX);
	assert_int_equal(tv_hdr_decode(b.d, b.len, &ch), TV_ERR_FORMAT);
	tv_buf_free(&b);
}

/* ---- TLV ---- */

static void test_tlv(void **state)
{
	struct tv_buf b, r;
	struct tv_tlv it;
	uint64_t v;
	uint8_t u[16];
	char s[8];
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_tlv_put_u64(&b, 7, 0x0102030405060708ull), 0);
	assert_int_equal(tv_tlv_put_str(&b, 9, "abc"), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 3, "0123456789abcdef", 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 4, "a\0b", 3), 0);
	assert_int_equal(tv_tlv_put_str(&b, 5, "12345678"), 0);
	assert_int_equal(b.len, 6 + 8 + 6 + 3 + 6 + 16 + 6 + 3 + 6 + 8);
	assert_memory_equal(b.d, "\x00\x07\x00\x00\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08", 14);

	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_tlv_next(&r, &it), 0);
	assert_int_equal(it.tag, 7);
	assert_int_equal(tv_tlv_u64(&it, &v), 0);
	assert_true(v == 0x0102030405060708ull);
	assert_int_equal(tv_tlv_uuid(&it, u), TV_ERR_FORMAT);
	assert_int_equal(tv_tlv_next(&r, &it), 0);
	assert_int_equal(tv_tlv_str(&it, s, sizeof(s)), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(tv_tlv_str(&it, s, 3), TV_ERR_FORMAT);   /* no room for NUL */
	assert_int_equal(tv_tlv_u64(&it, &v), TV_ERR_FORMAT);
	assert_int_equal(tv_tlv_next(&r, &it), 0);
	assert_int_equal(tv_tlv_uuid(&it, u), 0);
	assert_memory_equal(u, "0123456789abcdef", 16);
	assert_int_equal(tv_tlv_next(&r, &it), 0);
	assert_int_equal(tv_tlv_str(&it, s, sizeof(s)), TV_ERR_FORMAT);   /* NUL */
	assert_int_equal(tv_tlv_next(&r, &it), 0);
	assert_int_equal(tv_tlv_str(&it, s, sizeof(s)), TV_ERR_FORMAT);   /* 8 > 7 */
	assert_int_equal(tv_tlv_next(&r, &it), TV_ERR_EOF);

	/* truncated anywhere inside an item: a format error, never a read
	 * past the end */
	for (size_t n = 1; n < 14; n++) {
		tv_buf_view(&r, b.d, n);
		assert_int_equal(tv_tlv_next(&r, &it), TV_ERR_FORMAT);
	}
	tv_buf_view(&r, b.d, 0);
	assert_int_equal(tv_tlv_next(&r, &it), TV_ERR_EOF);
	/* a length near 2^32 */
	b.d[2] = 0xff;
	tv_buf_view(&r, b.d, b.len);
	assert_int_equal(tv_tlv_next(&r, &it), TV_ERR_FORMAT);
	tv_buf_free(&b);
}

/* ---- labels ---- */

static void sample_vol(struct tv_volume_label *l)
{
	memset(l, 0, sizeof(*l));
	tl_fill_seq(l->tape_uuid, 16, 0xa0);
	strcpy(l->barcode, "VT0042L9");
	l->created = 1700000000;
	strcpy(l->writer, "tapevault 0.2.0");
	l->record_size = TV_RECORD_SIZE_DEFAULT;
}

static void sample_slots(struct tv_encdesc *e)
{
	struct tv_keyslot *s;

	memset(e, 0, sizeof(*e));
	e->alg = TV_ENC_AES256GCM_HKDF;
	tl_fill_seq(e->dek_fpr, 16, 0x55);
	e->nslots = 5;
	s = &e->slots[0];          /* password, PBKDF2 */
	s->type = TV_SLOT_PASSWORD;
	s->wrap = TV_WRAP_AES256GCM;
	tl_fill_seq(s->wrapped, 48, 1);
	s->wrapped_len = 48;
	tl_fill_seq(s->iv, 12, 2);
	s->iv_len = 12;
	s->kdf = TV_KDF_PBKDF2_SHA256;
	tl_fill_seq(s->salt, 64, 3);
	s->salt_len = 64;
	s->kdf_iter = 600000;
	strcpy(s->name, "weekly");
	strcpy(s->hint, "the usual one, with a \xc3\xa9");
	s = &e->slots[1];          /* password, Argon2id */
	s->type = TV_SLOT_PASSWORD;
	s->wrap = TV_WRAP_AES256GCM;
	tl_fill_seq(s->wrapped, 48, 4);
	s->wrapped_len = 48;
	tl_fill_seq(s->iv, 12, 5);
	s->iv_len = 12;
	s->kdf = TV_KDF_ARGON2ID;
	tl_fill_seq(s->salt, 16, 6);
	s->salt_len = 16;
	s->kdf_iter = 3;
	s->kdf_mem_kib = 65536;
	s->kdf_par = 4;
	strcpy(s->name, "argon");
	s = &e->slots[2];          /* KMS, RSA */
	s->type = TV_SLOT_KMS;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	s->kms_kind = TV_KMS_RSA;
	tl_fill_seq(s->wrapped, 512, 7);
	s->wrapped_len = 512;
	strcpy(s->name, "pool-key");
	strcpy(s->kms_name, "corp-kms");
	strcpy(s->kms_host, "kms.example.com");
	s->kms_port = 5696;
	strcpy(s->key_id, "b2f1c7de-8d3a-4a55-9a83-0f2b6d6f4c11");
	s = &e->slots[3];          /* KMS, AES (server side GCM) */
	s->type = TV_SLOT_KMS;
	s->wrap = TV_WRAP_KMIP_AESGCM;
	s->kms_kind = TV_KMS_AES;
	tl_fill_seq(s->wrapped, 48, 8);
	s->wrapped_len = 48;
	tl_fill_seq(s->iv, 12, 9);
	s->iv_len = 12;
	strcpy(s->kms_name, "pykmip");
	strcpy(s->kms_host, "127.0.0.1");
	s->kms_port = 5696;
	strcpy(s->key_id, "42");
	s = &e->slots[4];          /* escrow */
	s->type = TV_SLOT_ESCROW;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	tl_fill_seq(s->wrapped, 512, 10);
	s->wrapped_len = 512;
	tl_fill_seq(s->escrow_fpr, 32, 11);
	strcpy(s->name, "escrow authority");
}

static void sample_ms(struct tv_media_set_label *l)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->pool_name, "offsite");
	tl_fill_seq(l->pool_uuid, 16, 0x20);
	tl_fill_seq(l->media_set_uuid, 16, 0x30);
	l->seq = 3;
	l->created = 1700000001;
	sample_slots(&l->enc);
}

static void test_vol_label(void **state)
{
	struct tv_volume_label l, l2;
	struct tv_buf b;
	(void)state;

	sample_vol(&l);
	tv_buf_init(&b);
	assert_int_equal(tv_vol_label_encode(&b, &l), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), 0);
	assert_memory_equal(&l, &l2, sizeof(l));
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_vol_label_decode(b.d, n, &l2), TV_ERR_FORMAT);
	/* record size out of range, both ways */
	l.record_size = 100;
	tv_buf_reset(&b);
	assert_int_equal(tv_vol_label_encode(&b, &l), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "record_size"));
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_bytes(&b, 1, l.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 3, 5), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 5, 1u << 30), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "record_size"));
	/* optional fields absent, unknown tags skipped */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_u64(&b, 999, 5), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 1, l.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_str(&b, 1000, "future"), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 3, 5), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 5, 65536), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), 0);
	assert_string_equal(l2.barcode, "");
	assert_int_equal(l2.record_size, 65536);
	/* duplicated tag */
	assert_int_equal(tv_tlv_put_u64(&b, 3, 6), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "created"));
	assert_non_null(strstr(tv_errdetail(), "duplicated"));
	/* missing mandatory field */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_u64(&b, 3, 5), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 5, 65536), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "tape_uuid"));
	assert_non_null(strstr(tv_errdetail(), "missing"));
	/* string too long for its field, string with a NUL */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_bytes(&b, 1, l.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 3, 5), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 5, 65536), 0);
	assert_int_equal(tv_tlv_put_str(&b, 2, "0123456789012345678901234567890123"), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "barcode"));
	b.len -= 6 + 34;
	assert_int_equal(tv_tlv_put_bytes(&b, 2, "VT\0001", 4), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "NUL"));
	/* wrong integer / UUID widths */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_bytes(&b, 1, l.tape_uuid, 15), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_bytes(&b, 3, "1234", 4), 0);
	assert_int_equal(tv_vol_label_decode(b.d, b.len, &l2), TV_ERR_FORMAT);
	/* encoder refuses an unterminated string */
	sample_vol(&l);
	memset(l.barcode, 'A', sizeof(l.barcode));
	tv_buf_reset(&b);
	assert_int_equal(tv_vol_label_encode(&b, &l), TV_ERR_INVAL);
	tv_buf_free(&b);
}

static void test_ms_label(void **state)
{
	struct tv_media_set_label l, l2;
	struct tv_buf b;
	(void)state;

	sample_ms(&l);
	tv_buf_init(&b);
	assert_int_equal(tv_ms_label_encode(&b, &l), 0);
	assert_int_equal(tv_ms_label_decode(b.d, b.len, &l2), 0);
	assert_memory_equal(&l, &l2, sizeof(l));
	for (size_t n = 0; n < b.len; n++)
		assert_int_not_equal(tv_ms_label_decode(b.d, n, &l2), 0);

	/* unencrypted */
	memset(&l.enc, 0, sizeof(l.enc));
	tv_buf_reset(&b);
	assert_int_equal(tv_ms_label_encode(&b, &l), 0);
	assert_int_equal(tv_ms_label_decode(b.d, b.len, &l2), 0);
	assert_memory_equal(&l, &l2, sizeof(l));
	for (size_t n = 0; n < b.len; n++)
		assert_int_not_equal(tv_ms_label_decode(b.d, n, &l2), 0);
	/* seq 0 refused */
	l.seq = 0;
	tv_buf_reset(&b);
	assert_int_equal(tv_ms_label_encode(&b, &l), TV_ERR_INVAL);
	tv_buf_free(&b);
}

/* Encodes l, then replaces the encryption descriptor by a hand-made one. */
static int ms_with_enc(const struct tv_buf *enc_body, struct tv_media_set_label *out)
{
	struct tv_media_set_label l;
	struct tv_buf b;
	int rc;

	sample_ms(&l);
	memset(&l.enc, 0, sizeof(l.enc));
	tv_buf_init(&b);
	assert_int_equal(tv_ms_label_encode(&b, &l), 0);
	b.len -= 6 + 14;        /* drop the encoder's "alg 0" descriptor */
	assert_int_equal(tv_tlv_put_bytes(&b, 6, enc_body->d, enc_body->len), 0);
	rc = tv_ms_label_decode(b.d, b.len, out);
	tv_buf_free(&b);
	return rc;
}

static void test_ms_label_hostile(void **state)
{
	struct tv_media_set_label l;
	struct tv_buf enc, slot;
	uint8_t fpr[16] = { 0 };
	(void)state;

	tv_buf_init(&enc);
	tv_buf_init(&slot);
	/* alg none with slots */
	assert_int_equal(tv_tlv_put_u64(&enc, 1, 0), 0);
	assert_int_equal(tv_tlv_put_bytes(&enc, 3, "", 0), 0);
	assert_int_equal(ms_with_enc(&enc, &l), TV_ERR_FORMAT);
	/* unknown algorithm */
	tv_buf_reset(&enc);
	assert_int_equal(tv_tlv_put_u64(&enc, 1, 7), 0);
	assert_int_equal(ms_with_enc(&enc, &l), TV_ERR_UNSUPPORTED);
	/* encrypted without fingerprint */
	tv_buf_reset(&enc);
	assert_int_equal(tv_tlv_put_u64(&enc, 1, 1), 0);
	assert_int_equal(ms_with_enc(&enc, &l), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "dek_fpr"));
	/* encrypted, no slots: valid (keys may come from a key ring) */
	assert_int_equal(tv_tlv_put_bytes(&enc, 2, fpr, 16), 0);
	assert_int_equal(ms_with_enc(&enc, &l), 0);
	assert_int_equal(l.enc.nslots, 0);
	/* a slot of an unknown type is skipped; a known one decodes */
	assert_int_equal(tv_tlv_put_u64(&slot, 1, 77), 0);
	assert_int_equal(tv_tlv_put_str(&slot, 2, "whatever"), 0);
	assert_int_equal(tv_tlv_put_bytes(&enc, 3, slot.d, slot.len), 0);
	assert_int_equal(ms_with_enc(&enc, &l), 0);
	assert_int_equal(l.enc.nslots, 0);
	/* nine slots: refused */
	tv_buf_reset(&enc);
	assert_int_equal(tv_tlv_put_u64(&enc, 1, 1), 0);
	assert_int_equal(tv_tlv_put_bytes(&enc, 2, fpr, 16), 0);
	tv_buf_reset(&slot);
	assert_int_equal(tv_tlv_put_u64(&slot, 1, 77), 0);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tv_tlv_put_bytes(&enc, 3, slot.d, slot.len), 0);
	assert_int_equal(ms_with_enc(&enc, &l), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "more than 8"));
	/* a duplicated descriptor */
	{
		struct tv_media_set_label m;
		struct tv_buf mb;
		sample_ms(&m);
		tv_buf_init(&mb);
		assert_int_equal(tv_ms_label_encode(&mb, &m), 0);
		assert_int_equal(tv_tlv_put_bytes(&mb, 6, enc.d, 14), 0);
		assert_int_equal(tv_ms_label_decode(mb.d, mb.len, &l), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "duplicated"));
		tv_buf_free(&mb);
	}
	tv_buf_free(&enc);
	tv_buf_free(&slot);
}

/* Builds a label with one slot given as raw TLV. */
static int decode_one_slot(const struct tv_buf *slot, struct tv_keyslot *out)
{
	struct tv_media_set_label l;
	struct tv_buf enc;
	uint8_t fpr[16] = { 1 };
	int rc;

	tv_buf_init(&enc);
	assert_int_equal(tv_tlv_put_u64(&enc, 1, 1), 0);
	assert_int_equal(tv_tlv_put_bytes(&enc, 2, fpr, 16), 0);
	assert_int_equal(tv_tlv_put_bytes(&enc, 3, slot->d, slot->len), 0);
	rc = ms_with_enc(&enc, &l);
	if (rc == 0) {
		assert_int_equal(l.enc.nslots, 1);
		*out = l.enc.slots[0];
	}
	tv_buf_free(&enc);
	return rc;
}

static void test_slot_validation(void **state)
{
	struct tv_encdesc e;
	struct tv_keyslot s, s2;
	struct tv_media_set_label m, m2;
	struct tv_buf b;
	(void)state;

	tv_buf_init(&b);
	/* a hand-made password slot, field by field */
	assert_int_equal(tv_tlv_put_u64(&b, 1, TV_SLOT_PASSWORD), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 2, TV_WRAP_AES256GCM), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 3, "0123456789abcdef0123456789abcdef0123456789abcdef", 48), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 4, "0123456789ab", 12), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 5, TV_KDF_PBKDF2_SHA256), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 6, "0123456789abcdef", 16), 0);
	assert_int_equal(decode_one_slot(&b, &s), TV_ERR_FORMAT);   /* no kdf_iter */
	assert_non_null(strstr(tv_errdetail(), "kdf_iter"));
	assert_int_equal(tv_tlv_put_u64(&b, 7, 1000), 0);
	assert_int_equal(decode_one_slot(&b, &s), 0);
	assert_int_equal(s.kdf_iter, 1000);
	assert_int_equal(s.salt_len, 16);
	/* the crypto layer's own serialisation omits empty strings: fine */
	assert_string_equal(s.name, "");
	/* iv of the wrong size */
	b.d[6 + 8 + 6 + 8 + 6 + 48 + 5] = 11;
	assert_int_equal(decode_one_slot(&b, &s), TV_ERR_FORMAT);
	tv_buf_free(&b);

	/* semantic mismatches, checked by the encoder (INVAL) too */
	sample_slots(&e);
	sample_ms(&m);
	tv_buf_init(&b);
	for (int c = 0; c < 8; c++) {
		m.enc = e;
		s = m.enc.slots[c < 4 ? 0 : 2];
		switch (c) {
		case 0: s.wrap = TV_WRAP_RSA_OAEP_SHA256; break;
		case 1: s.salt_len = 8; break;
		case 2: s.kdf_iter = 0; break;
		case 3: s.iv_len = 16; break;
		case 4: s.kms_kind = TV_KMS_AES; break;
		case 5: s.key_id[0] = '\0'; break;
		case 6: s.wrapped_len = 64; break;
		case 7: s.wrapped_len = 2000; break;
		}
		m.enc.slots[0] = s;
		tv_buf_reset(&b);
		assert_int_equal(tv_ms_label_encode(&b, &m), TV_ERR_INVAL);
	}
	/* fields not meaningful for a slot type are not stored */
	m.enc = e;
	m.enc.slots[4].kdf_iter = 99;
	strcpy(m.enc.slots[4].key_id, "junk");
	tv_buf_reset(&b);
	assert_int_equal(tv_ms_label_encode(&b, &m), 0);
	assert_int_equal(tv_ms_label_decode(b.d, b.len, &m2), 0);
	assert_int_equal(m2.enc.slots[4].kdf_iter, 0);
	assert_string_equal(m2.enc.slots[4].key_id, "");
	assert_memory_equal(m2.enc.slots[4].escrow_fpr, e.slots[4].escrow_fpr, 32);
	/* ... and a reader clears such fields when a tape carries them */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_u64(&b, 1, TV_SLOT_ESCROW), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 2, TV_WRAP_RSA_OAEP_SHA256), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 3, e.slots[4].wrapped, 256), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 4, "12345", 5), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 7, 42), 0);
	assert_int_equal(tv_tlv_put_str(&b, 11, "a hint"), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 17, e.slots[4].escrow_fpr, 32), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 300, 1), 0);        /* unknown: skipped */
	assert_int_equal(decode_one_slot(&b, &s2), 0);
	assert_int_equal(s2.type, TV_SLOT_ESCROW);
	assert_int_equal(s2.wrapped_len, 256);
	assert_int_equal(s2.iv_len, 0);
	assert_int_equal(s2.kdf_iter, 0);
	assert_string_equal(s2.hint, "");
	assert_memory_equal(s2.escrow_fpr, e.slots[4].escrow_fpr, 32);
	tv_buf_free(&b);
}

static void test_keyslot_aad(void **state)
{
	struct tv_encdesc e;
	struct tv_media_set_label m, m2;
	struct tv_buf b, a1, a2;
	uint8_t tape[16], tape2[16];
	(void)state;

	tl_fill_seq(tape, 16, 0x77);
	tl_fill_seq(tape2, 16, 0x78);
	sample_ms(&m);
	tv_buf_init(&b);
	tv_buf_init(&a1);
	tv_buf_init(&a2);
	assert_int_equal(tv_ms_label_encode(&b, &m), 0);
	assert_int_equal(tv_ms_label_decode(b.d, b.len, &m2), 0);
	for (size_t i = 0; i < m.enc.nslots; i++) {
		struct tv_keyslot s;
		tv_buf_reset(&a1);
		tv_buf_reset(&a2);
		/* the same before writing and after reading back */
		assert_int_equal(tv_keyslot_aad(&a1, tape, &m.enc.slots[i]), 0);
		assert_int_equal(tv_keyslot_aad(&a2, tape, &m2.enc.slots[i]), 0);
		assert_int_equal(a1.len, a2.len);
		assert_memory_equal(a1.d, a2.d, a1.len);
		assert_memory_equal(a1.d, "tapevault keyslot v1", 20);
		assert_memory_equal(a1.d + 20, tape, 16);
		/* independent of the wrapped key and IV (computed before them) */
		s = m.enc.slots[i];
		s.wrapped_len = 0;
		memset(s.iv, 0, sizeof(s.iv));
		tv_buf_reset(&a2);
		assert_int_equal(tv_keyslot_aad(&a2, tape, &s), 0);
		assert_int_equal(a1.len, a2.len);
		assert_memory_equal(a1.d, a2.d, a1.len);
		/* bound to the tape */
		tv_buf_reset(&a2);
		assert_int_equal(tv_keyslot_aad(&a2, tape2, &m.enc.slots[i]), 0);
		assert_memory_not_equal(a1.d, a2.d, a1.len);
		/* and to the slot's metadata */
		s = m.enc.slots[i];
		switch (s.type) {
		case TV_SLOT_PASSWORD: s.kdf_iter++; break;
		case TV_SLOT_KMS: s.kms_port++; break;
		case TV_SLOT_ESCROW: s.escrow_fpr[0] ^= 1; break;
		}
		tv_buf_reset(&a2);
		assert_int_equal(tv_keyslot_aad(&a2, tape, &s), 0);
		assert_false(a1.len == a2.len && memcmp(a1.d, a2.d, a1.len) == 0);
		s = m.enc.slots[i];
		s.name[0] ^= 1;
		tv_buf_reset(&a2);
		assert_int_equal(tv_keyslot_aad(&a2, tape, &s), 0);
		assert_false(a1.len == a2.len && memcmp(a1.d, a2.d, a1.len) == 0);
	}
	/* hint is bound for password slots */
	{
		struct tv_keyslot s = m.enc.slots[0];
		tv_buf_reset(&a1);
		tv_buf_reset(&a2);
		assert_int_equal(tv_keyslot_aad(&a1, tape, &s), 0);
		strcpy(s.hint, "changed");
		assert_int_equal(tv_keyslot_aad(&a2, tape, &s), 0);
		assert_false(a1.len == a2.len && memcmp(a1.d, a2.d, a1.len) == 0);
	}
	sample_slots(&e);
	e.slots[0].type = (enum tv_slot_type)9;
	assert_int_equal(tv_keyslot_aad(&a1, tape, &e.slots[0]), TV_ERR_INVAL);
	tv_buf_free(&b);
	tv_buf_free(&a1);
	tv_buf_free(&a2);
}

static void test_data_and_catalog_headers(void **state)
{
	struct tv_data_header h, h2;
	struct tv_catalog_header c, c2;
	struct tv_buf b;
	(void)state;

	memset(&h, 0, sizeof(h));
	tl_fill_seq(h.set_uuid, 16, 0x40);
	strcpy(h.set_name, "nightly");
	h.created = 1710000000;
	h.session = 3;
	tv_buf_init(&b);
	assert_int_equal(tv_data_header_encode(&b, &h), 0);
	assert_int_equal(tv_data_header_decode(b.d, b.len, &h2), 0);
	assert_memory_equal(&h, &h2, sizeof(h));
	/* the documented tags: 1 set UUID, 2 name, 3 created, 4 session */
	assert_int_equal(tv_get_be16(b.d), 1);
	assert_int_equal(tv_get_be16(b.d + 22), 2);
	assert_int_equal(tv_get_be16(b.d + 35), 3);
	assert_int_equal(tv_get_be16(b.d + 49), 4);
	assert_int_equal(b.len, 63);
	/* cut anywhere: refused, except between fields after the mandatory
	 * set UUID */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_data_header_decode(b.d, n, &h2),
		                 n == 22 || n == 35 || n == 49 ? 0 : TV_ERR_FORMAT);
	/* only the set UUID is mandatory */
	tv_buf_reset(&b);
	assert_int_equal(tv_tlv_put_bytes(&b, 1, h.set_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_u64(&b, 77, 1), 0);
	assert_int_equal(tv_data_header_decode(b.d, b.len, &h2), 0);
	assert_string_equal(h2.set_name, "");
	assert_int_equal(tv_tlv_put_bytes(&b, 1, h.set_uuid, 16), 0);
	assert_int_equal(tv_data_header_decode(b.d, b.len, &h2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "duplicated"));
	tv_buf_reset(&b);
	assert_int_equal(tv_data_header_decode(b.d, 0, &h2), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "set_uuid"));

	memset(&c, 0, sizeof(c));
	tl_fill_seq(c.tape_uuid, 16, 0x50);
	tl_fill_seq(c.media_set_uuid, 16, 0x60);
	c.session = 4;
	tv_buf_reset(&b);
	assert_int_equal(tv_catalog_header_encode(&b, &c), 0);
	assert_int_equal(tv_catalog_header_decode(b.d, b.len, &c2), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_catalog_header_decode(b.d, n, &c2), TV_ERR_FORMAT);
	/* the documented tag numbers of the catalog header */
	assert_int_equal(b.len, 22 + 22 + 14);
	assert_int_equal(tv_get_be16(b.d), 1);
	assert_int_equal(tv_get_be16(b.d + 22), 2);
	assert_int_equal(tv_get_be16(b.d + 44), 3);
	/* all three mandatory */
	for (size_t drop = 0; drop < 3; drop++) {
		struct tv_buf x;
		static const size_t at[] = { 0, 22, 44, 58 };
		tv_buf_init(&x);
		for (size_t k = 0; k < 3; k++)
			if (k != drop)
				assert_int_equal(tv_buf_put(&x, b.d + at[k], at[k + 1] - at[k]), 0);
		assert_int_equal(tv_catalog_header_decode(x.d, x.len, &c2), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "missing"));
		tv_buf_free(&x);
	}
	tv_buf_free(&b);
}

/* ---- the label files, through the writer and back ---- */

static const uint8_t dek[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f };
static const uint8_t dek2[32] = { 1 };

/* A tape with its two label files (sealed when key is set). */
static struct memtape *labeled(const struct tv_volume_label *vol,
                               const struct tv_media_set_label *ms, const uint8_t *key)
{
	struct tv_twriter_opts o = { .record_size = TV_RECORD_SIZE_MIN, .workers = 1 };
	struct memtape *m = memtape_new();
	struct tv_twriter *w;

	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0042L9", vol->tape_uuid, &o), 0);
	assert_int_equal(tv_labels_write(w, vol, ms, key), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	m->pos = 0;
	return m;
}

/* Recomputes the content header CRC and the record CRC of a label record
 * after an edit (as an attacker would). */
static void fix_label(uint8_t *rec, size_t len)
{
	uint8_t *h = rec + TV_REC_HDR;
	size_t blen = tv_get_be32(h + 32);
	uint32_t crc = tv_crc32c(tv_crc32c(0, h, 36), h + TV_HDR_FIXED, blen);

	tv_put_be32(h + 36, crc);
	tv_put_be32(rec + 28, tv_rec_crc(rec, len - TV_REC_HDR));
}

/* The offset of the first occurrence of needle in the record. */
static size_t find(const struct mt_item *it, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= it->len; i++)
		if (memcmp(it->data + i, needle, n) == 0)
			return i;
	fail_msg("\"%s\" not found in the record", needle);
	return 0;
}

static void test_label_files(void **state)
{
	struct tv_volume_label vol;
	struct tv_media_set_label ms, plain;
	struct tv_tape_labels l;
	struct memtape *m;
	struct mt_item *v, *s;
	(void)state;

	sample_vol(&vol);
	sample_ms(&ms);
	plain = ms;
	memset(&plain.enc, 0, sizeof(plain.enc));

	/* an unencrypted tape: both labels read back; nothing to verify */
	m = labeled(&vol, &plain, NULL);
	assert_int_equal(m->n, 4);   /* record, filemark, record, filemark */
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
	assert_memory_equal(&l.vol, &vol, sizeof(vol));
	assert_memory_equal(&l.ms, &plain, sizeof(plain));
	assert_int_equal(l.has_ms, 1);
	assert_int_equal(l.ms_sealed, 0);
	/* the volume label's content header as read: content UUID = tape UUID */
	assert_int_equal(l.vol_hdr_len, m->it[0].len - TV_REC_HDR);
	assert_memory_equal(l.vol_hdr, m->it[0].data + TV_REC_HDR, l.vol_hdr_len);
	assert_memory_equal(l.vol_hdr + 16, vol.tape_uuid, 16);
	assert_int_equal(l.ms_rec_len, m->it[2].len);
	assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "not sealed"));
	tv_labels_free(&l);
	/* the volume label only */
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 0), 0);
	assert_int_equal(l.has_ms, 0);
	assert_null(l.ms_rec);
	assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), TV_ERR_STATE);
	tv_labels_free(&l);
	/* labeled, not (yet) in a media set */
	mt_truncate(m, 2);
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
	assert_int_equal(l.has_ms, 0);
	tv_labels_free(&l);
	tv_tape_close(&m->base);

	/* an encrypted tape: the media set label is sealed and binds both */
	m = labeled(&vol, &ms, dek);
	v = &m->it[0];
	s = &m->it[2];
	assert_int_equal(s->data[4], TV_RF_END | TV_RF_SEALED);
	assert_int_equal(v->data[4], TV_RF_END);
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
	assert_int_equal(l.ms_sealed, 1);
	assert_memory_equal(&l.ms, &ms, sizeof(ms));
	assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), 0);
	assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek2), TV_ERR_AUTH);
	assert_non_null(strstr(tv_errdetail(), "tape VT0042L9 file 1 record 0"));
	tv_labels_free(&l);
	/* the stream reader authenticates it the same way (extra = the volume
	 * label's content header) */
	{
		struct tv_treader *r;
		struct tv_content_header ch;
		uint64_t fno;
		int sealed;
		const uint8_t *vh = v->data + TV_REC_HDR;
		size_t vhl = v->len - TV_REC_HDR;
		assert_int_equal(tv_treader_open(&r, &m->base, "VT0042L9", vol.tape_uuid, NULL),
		                 0);
		m->pos = 0;
		assert_int_equal(tv_tape_space_files(&m->base, 1), 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
		assert_int_equal(fno, 1);
		assert_int_equal(sealed, 1);
		assert_int_equal(ch.type, TV_CT_MEDIA_SET_LABEL);
		assert_int_equal(tv_treader_set_key(r, dek, vh, vhl), 0);
		assert_int_equal(tv_treader_end_file(r), 0);
		m->pos = 0;
		assert_int_equal(tv_tape_space_files(&m->base, 1), 0);
		assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
		assert_int_equal(tv_treader_set_key(r, dek, NULL, 0), TV_ERR_AUTH);
		tv_treader_close(r);
	}

	/* an edited volume label (barcode), CRCs fixed: it reads, it does not
	 * authenticate */
	{
		size_t at = find(v, "VT0042L9");
		v->data[at + 5] = '9';
		fix_label(v->data, v->len);
		assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
		assert_string_equal(l.vol.barcode, "VT0049L9");
		assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), TV_ERR_AUTH);
		assert_non_null(strstr(tv_errdetail(), "edited or swapped"));
		tv_labels_free(&l);
		v->data[at + 5] = '2';
		fix_label(v->data, v->len);
	}
	/* an edited media set label (pool name, a slot's hint, the record
	 * header's file number bytes are not editable: the reader checks
	 * them), CRCs fixed */
	{
		static const char *edits[] = { "offsite", "the usual one", "kms.example.com" };
		for (size_t k = 0; k < 3; k++) {
			size_t at = find(s, edits[k]);
			s->data[at] ^= 0x20;
			fix_label(s->data, s->len);
			assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
			assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), TV_ERR_AUTH);
			tv_labels_free(&l);
			s->data[at] ^= 0x20;
			fix_label(s->data, s->len);
		}
		/* the tag itself */
		s->data[s->len - 1] ^= 1;
		fix_label(s->data, s->len);
		assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
		assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), TV_ERR_AUTH);
		tv_labels_free(&l);
		s->data[s->len - 1] ^= 1;
		fix_label(s->data, s->len);
		assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
		assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), 0);
		tv_labels_free(&l);
	}
	/* the seal stripped (tag cut off, flag cleared, CRCs fixed): reads as
	 * an unsealed label, which verify refuses */
	{
		uint8_t keep[16];
		memcpy(keep, s->data + s->len - 16, 16);
		s->len -= 16;
		s->data[4] = TV_RF_END;
		tv_put_be32(s->data + 8, (uint32_t)(s->len - TV_REC_HDR));
		fix_label(s->data, s->len);
		assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), 0);
		assert_int_equal(l.ms_sealed, 0);
		assert_int_equal(tv_labels_verify(&l, "VT0042L9", dek), TV_ERR_FORMAT);
		tv_labels_free(&l);
		memcpy(s->data + s->len, keep, 16);
		s->len += 16;
		s->data[4] = TV_RF_END | TV_RF_SEALED;
		tv_put_be32(s->data + 8, (uint32_t)(s->len - TV_REC_HDR));
		fix_label(s->data, s->len);
	}
	/* swapped: the media set label of another tape (same key) */
	{
		struct tv_volume_label vol2 = vol;
		struct memtape *m2;
		vol2.tape_uuid[0] ^= 1;
		m2 = labeled(&vol2, &ms, dek);
		assert_int_equal(tv_labels_read(&m2->base, "X", &l, 1), 0);
		assert_int_equal(tv_labels_verify(&l, "X", dek), 0);
		tv_labels_free(&l);
		free(m2->it[2].data);
		m2->it[2].data = malloc(s->len);
		memcpy(m2->it[2].data, s->data, s->len);
		m2->it[2].len = s->len;
		assert_int_equal(tv_labels_read(&m2->base, "X", &l, 1), 0);
		assert_int_equal(tv_labels_verify(&l, "X", dek), TV_ERR_AUTH);
		tv_labels_free(&l);
		tv_tape_close(&m2->base);
	}
	/* damage without CRC fix-up: a checksum error, named */
	v->data[TV_REC_HDR + 50] ^= 1;
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), TV_ERR_CRC);
	assert_non_null(strstr(tv_errdetail(), "file 0"));
	v->data[TV_REC_HDR + 50] ^= 1;
	s->data[TV_REC_HDR + 50] ^= 1;
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", &l, 1), TV_ERR_CRC);
	assert_non_null(strstr(tv_errdetail(), "file 1"));
	s->data[TV_REC_HDR + 50] ^= 1;
	tv_tape_close(&m->base);
}

/* Writes one record holding a content header (of any type) as file 0. */
static struct memtape *one_label(enum tv_content_type type, const uint8_t uuid[16],
                                 const struct tv_buf *body, uint8_t flags)
{
	struct memtape *m = memtape_new();
	struct tv_rec_hdr h = { .flags = flags, .file_no = 0, .seq = 0, .first_frame = 0 };
	struct tv_buf rec;

	tv_buf_init(&rec);
	assert_int_equal(tv_buf_put(&rec, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	                            "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", TV_REC_HDR), 0);
	assert_int_equal(tv_hdr_encode(&rec, type, uuid, body->d, body->len), 0);
	if (flags & TV_RF_SEALED)
		assert_int_equal(tv_buf_put(&rec, "0123456789abcdef", 16), 0);
	h.payload_len = (uint32_t)(rec.len - TV_REC_HDR);
	tv_rec_hdr_encode(rec.d, &h);
	tv_put_be32(rec.d + 28, tv_rec_crc(rec.d, rec.len - TV_REC_HDR));
	assert_int_equal(mt_write(&m->base, rec.d, rec.len), 0);
	assert_int_equal(mt_write_fm(&m->base, 1), 0);
	m->pos = 0;
	tv_buf_free(&rec);
	return m;
}

/* The volume label of docs/FORMAT.md v1, section 12.1, in a v1 record
 * (section 6.1: magic, version, flags, reserved, P, file, sequence, CRC,
 * reserved). */
static const char v1_label_hex[] =
	"54564331" "0001" "0000" "de55e1612f02feb4"
	"00112233445566778899aabbccddeeff" "00000055" "121af45c"
	"0001" "00000010" "00112233445566778899aabbccddeeff"
	"0002" "00000008" "5654303030314c39"
	"0003" "00000008" "0000000065f1c580"
	"0004" "0000000f" "746170657661756c7420302e312e30"
	"0005" "00000008" "0000000000040000";

static void test_label_files_hostile(void **state)
{
	struct tv_tape_labels l;
	struct tv_volume_label vol;
	struct tv_buf body;
	struct memtape *m;
	(void)state;

	sample_vol(&vol);
	tv_buf_init(&body);
	assert_int_equal(tv_vol_label_encode(&body, &vol), 0);
	/* a blank tape */
	m = memtape_new();
	assert_int_equal(tv_labels_read(&m->base, "BLANK", &l, 1), TV_ERR_EOD);
	assert_non_null(strstr(tv_errdetail(), "blank"));
	tv_tape_close(&m->base);
	/* a v1 tape: TVR1 record, TVC1 content header */
	{
		uint8_t rec[32 + 125];
		uint32_t crc;
		m = memtape_new();
		memset(rec, 0, sizeof(rec));
		memcpy(rec, "TVR1\x01\x01\x00\x00", 8);
		tv_put_be32(rec + 8, 125);
		assert_int_equal(tl_unhex(v1_label_hex, rec + 32, 125), 125);
		crc = tv_crc32c(tv_crc32c(0, rec, 24), "\0\0\0\0", 4);
		crc = tv_crc32c(crc, rec + 28, 4 + 125);
		tv_put_be32(rec + 24, crc);
		assert_int_equal(mt_write(&m->base, rec, sizeof(rec)), 0);
		assert_int_equal(mt_write_fm(&m->base, 1), 0);
		m->pos = 0;
		assert_int_equal(tv_labels_read(&m->base, "VT0001L9", &l, 1), TV_ERR_UNSUPPORTED);
		assert_non_null(strstr(tv_errdetail(), "tape VT0001L9"));
		assert_non_null(strstr(tv_errdetail(), "version 1"));
		/* the same v1 content header in a v2 record */
		{
			struct tv_rec_hdr h = { .flags = TV_RF_END, .payload_len = 125 };
			tv_rec_hdr_encode(rec, &h);
			tv_put_be32(rec + 28, tv_rec_crc(rec, 125));
			memcpy(m->it[0].data, rec, sizeof(rec));
			assert_int_equal(tv_labels_read(&m->base, "VT0001L9", &l, 1),
			                 TV_ERR_UNSUPPORTED);
			assert_non_null(strstr(tv_errdetail(), "version 1"));
		}
		tv_tape_close(&m->base);
	}
	/* not ours: another program's record; a record over 4 MiB */
	{
		uint8_t junk[512];
		uint8_t *big = calloc(1, TV_RECORD_SIZE_MAX + 1);
		tl_fill_seq(junk, sizeof(junk), 0x20);
		m = memtape_new();
		assert_int_equal(mt_write(&m->base, junk, sizeof(junk)), 0);
		m->pos = 0;
		assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
		mt_truncate(m, 0);
		m->pos = 0;
		assert_int_equal(mt_write(&m->base, big, TV_RECORD_SIZE_MAX + 1), 0);
		m->pos = 0;
		assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "4 MiB"));
		tv_tape_close(&m->base);
		free(big);
	}
	/* file 0 holds something else than a volume label */
	m = one_label(TV_CT_DATA, vol.tape_uuid, &body, TV_RF_END);
	assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "not a volume label"));
	tv_tape_close(&m->base);
	/* a sealed volume label; one without END; its content UUID is not the
	 * tape UUID */
	m = one_label(TV_CT_VOLUME_LABEL, vol.tape_uuid, &body, TV_RF_END | TV_RF_SEALED);
	assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "sealed volume label"));
	tv_tape_close(&m->base);
	m = one_label(TV_CT_VOLUME_LABEL, vol.tape_uuid, &body, 0);
	assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
	tv_tape_close(&m->base);
	{
		uint8_t other[16];
		memcpy(other, vol.tape_uuid, 16);
		other[0] ^= 1;
		m = one_label(TV_CT_VOLUME_LABEL, other, &body, TV_RF_END);
		assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "content UUID"));
		tv_tape_close(&m->base);
	}
	/* the right volume label, then a data file where the media set label
	 * belongs */
	m = one_label(TV_CT_VOLUME_LABEL, vol.tape_uuid, &body, TV_RF_END);
	{
		struct memtape *d = one_label(TV_CT_DATA, vol.tape_uuid, &body, TV_RF_END);
		d->it[0].data[12 + 3] = 1;   /* file 1 */
		mt_fix_rec_crc(d, 0);
		m->pos = m->n;
		assert_int_equal(mt_write(&m->base, d->it[0].data, d->it[0].len), 0);
		tv_tape_close(&d->base);
	}
	m->pos = 0;
	assert_int_equal(tv_labels_read(&m->base, "T", &l, 0), 0);
	tv_labels_free(&l);
	assert_int_equal(tv_labels_read(&m->base, "T", &l, 1), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "file 1 is a data"));
	tv_tape_close(&m->base);
	tv_buf_free(&body);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magics),
		cmocka_unit_test(test_ch_roundtrip),
		cmocka_unit_test(test_ch_version_flags_unknown),
		cmocka_unit_test(test_tlv),
		cmocka_unit_test(test_vol_label),
		cmocka_unit_test(test_ms_label),
		cmocka_unit_test(test_ms_label_hostile),
		cmocka_unit_test(test_slot_validation),
		cmocka_unit_test(test_keyslot_aad),
		cmocka_unit_test(test_data_and_catalog_headers),
		cmocka_unit_test(test_label_files),
		cmocka_unit_test(test_label_files_hostile),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
