/* tapevault: content header, TLV helpers, labels, key slots, file and
 * catalog headers: round trips, hostile input, the worked example of
 * docs/FORMAT.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "format/format.h"
#include "util/crc32c.h"
#include "util/err.h"

static void fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* ---- content header ---- */

static void test_magics(void **state)
{
	static const struct { enum tv_content_type t; const char *name; } v[] = {
		{ TV_CT_VOLUME_LABEL, "tapevault volume label v1" },
		{ TV_CT_MEDIA_SET_LABEL, "tapevault media set label v1" },
		{ TV_CT_FILE_DATA, "tapevault file data v1" },
		{ TV_CT_CATALOG, "tapevault catalog v1" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t md[32];
		unsigned mdlen;
		assert_int_equal(EVP_Digest(v[i].name, strlen(v[i].name), md, &mdlen,
		                            EVP_sha256(), NULL), 1);
		assert_memory_equal(tv_content_magic(v[i].t), md, 8);
		assert_int_equal(tv_content_type_of(md), v[i].t);
	}
	assert_int_equal(tv_content_type_of((const uint8_t *)"12345678"), TV_CT_UNKNOWN);
}

static void test_ch_roundtrip(void **state)
{
	struct tv_content_header ch;
	struct tv_buf b;
	uint8_t uuid[16], body[300];
	(void)state;

	fill(uuid, 16, 0x10);
	fill(body, sizeof(body), 0);
	tv_buf_init(&b);
	assert_int_equal(tv_ch_encode(&b, TV_CT_FILE_DATA, uuid, body, sizeof(body)), 0);
	assert_int_equal(b.len, 40 + sizeof(body));
	assert_int_equal(tv_ch_decode(b.d, b.len, &ch), 0);
	assert_int_equal(ch.type, TV_CT_FILE_DATA);
	assert_memory_equal(ch.uuid, uuid, 16);
	assert_int_equal(ch.body_len, sizeof(body));
	assert_memory_equal(ch.body, body, sizeof(body));

	/* every truncation is rejected */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_ch_decode(b.d, n, &ch), TV_ERR_FORMAT);
	/* trailing garbage too */
	assert_int_equal(tv_buf_put_u8(&b, 0), 0);
	assert_int_equal(tv_ch_decode(b.d, b.len, &ch), TV_ERR_FORMAT);
	b.len--;
	/* every single-byte corruption is rejected: magic and length as format
	 * errors, everything else by the CRC */
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			int rc;
			b.d[i] ^= (uint8_t)(1u << bit);
			rc = tv_ch_decode(b.d, b.len, &ch);
			b.d[i] ^= (uint8_t)(1u << bit);
			if (i < 4 || (i >= 32 && i < 36))
				assert_int_equal(rc, TV_ERR_FORMAT);
			else
				assert_int_equal(rc, TV_ERR_CRC);
		}
	}
	/* encoder refuses oversize bodies and unknown types */
	assert_int_equal(tv_ch_encode(&b, TV_CT_UNKNOWN, uuid, body, 1), TV_ERR_INVAL);
	assert_int_equal(tv_ch_encode(&b, TV_CT_CATALOG, uuid, body, TV_CH_BODY_MAX + 1),
	                 TV_ERR_RANGE);
	tv_buf_free(&b);
}

static void test_ch_version_flags_unknown(void **state)
{
	struct tv_content_header ch;
	struct tv_buf b;
	uint8_t uuid[16] = { 1 };
	uint32_t crc;
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_ch_encode(&b, TV_CT_CATALOG, uuid, "ab", 2), 0);
	/* version 2 with a valid CRC: unsupported, not a CRC error */
	b.d[5] = 2;
	crc = tv_crc32c(tv_crc32c(0, b.d, 36), b.d + 40, 2);
	tv_put_be32(b.d + 36, crc);
	assert_int_equal(tv_ch_decode(b.d, b.len, &ch), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "version 2"));
	b.d[5] = 1;
	b.d[7] = 1;
	tv_put_be32(b.d + 36, tv_crc32c(tv_crc32c(0, b.d, 36), b.d + 40, 2));
	assert_int_equal(tv_ch_decode(b.d, b.len, &ch), TV_ERR_UNSUPPORTED);
	b.d[7] = 0;
	/* unknown type magic decodes as TV_CT_UNKNOWN (readers skip it) */
	memcpy(b.d + 8, "newtype!", 8);
	tv_put_be32(b.d + 36, tv_crc32c(tv_crc32c(0, b.d, 36), b.d + 40, 2));
	assert_int_equal(tv_ch_decode(b.d, b.len, &ch), 0);
	assert_int_equal(ch.type, TV_CT_UNKNOWN);
	assert_memory_equal(ch.magic, "newtype!", 8);
	/* body length over the limit */
	tv_put_be32(b.d + 32, TV_CH_BODY_MAX + 1);
	assert_int_equal(tv_ch_decode(b.d, b.len, &ch), TV_ERR_FORMAT);
	tv_buf_free(&b);
}

/* The worked example of docs/FORMAT.md (section "Worked example"): keep
 * both in sync. */
static void test_doc_example(void **state)
{
	struct tv_volume_label l, l2;
	struct tv_content_header ch;
	struct tv_buf body, rec;
	(void)state;

	memset(&l, 0, sizeof(l));
	for (int i = 0; i < 16; i++)
		l.tape_uuid[i] = (uint8_t)(i * 0x11);
	strcpy(l.barcode, "VT0001L9");
	l.created = 1710343552;     /* 2024-03-13T15:25:52Z */
	strcpy(l.writer, "tapevault 0.1.0");
	l.record_size = 262144;
	tv_buf_init(&body);
	tv_buf_init(&rec);
	assert_int_equal(tv_vol_label_encode(&body, &l), 0);
	assert_int_equal(tv_ch_encode(&rec, TV_CT_VOLUME_LABEL, l.tape_uuid, body.d,
	                              body.len), 0);
	{
		static const char want[] =
			"54564331" "0001" "0000" "de55e1612f02feb4"
			"00112233445566778899aabbccddeeff" "00000055" "121af45c"
			"0001" "00000010" "00112233445566778899aabbccddeeff"
			"0002" "00000008" "5654303030314c39"
			"0003" "00000008" "0000000065f1c580"
			"0004" "0000000f" "746170657661756c7420302e312e30"
			"0005" "00000008" "0000000000040000";
		char got[2 * 256 + 1];
		assert_true(rec.len * 2 < sizeof(got));
		for (size_t i = 0; i < rec.len; i++)
			snprintf(got + 2 * i, 3, "%02x", rec.d[i]);
		print_message("worked example: %s\n", got);
		assert_int_equal(strlen(want), 2 * rec.len);
		assert_memory_equal(got, want, strlen(want));
	}
	assert_int_equal(tv_ch_decode(rec.d, rec.len, &ch), 0);
	assert_int_equal(tv_vol_label_decode(ch.body, ch.body_len, &l2), 0);
	assert_memory_equal(&l, &l2, sizeof(l));
	tv_buf_free(&body);
	tv_buf_free(&rec);
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
	fill(l->tape_uuid, 16, 0xa0);
	strcpy(l->barcode, "VT0042L9");
	l->created = 1700000000;
	strcpy(l->writer, "tapevault 0.1.0");
	l->record_size = TV_RECORD_SIZE_DEFAULT;
}

static void sample_slots(struct tv_encdesc *e)
{
	struct tv_keyslot *s;

	memset(e, 0, sizeof(*e));
	e->alg = TV_ENC_AES256GCM_HKDF;
	fill(e->dek_fpr, 16, 0x55);
	e->nslots = 5;
	s = &e->slots[0];          /* password, PBKDF2 */
	s->type = TV_SLOT_PASSWORD;
	s->wrap = TV_WRAP_AES256GCM;
	fill(s->wrapped, 48, 1);
	s->wrapped_len = 48;
	fill(s->iv, 12, 2);
	s->iv_len = 12;
	s->kdf = TV_KDF_PBKDF2_SHA256;
	fill(s->salt, 64, 3);
	s->salt_len = 64;
	s->kdf_iter = 600000;
	strcpy(s->name, "weekly");
	strcpy(s->hint, "the usual one, with a \xc3\xa9");
	s = &e->slots[1];          /* password, Argon2id */
	s->type = TV_SLOT_PASSWORD;
	s->wrap = TV_WRAP_AES256GCM;
	fill(s->wrapped, 48, 4);
	s->wrapped_len = 48;
	fill(s->iv, 12, 5);
	s->iv_len = 12;
	s->kdf = TV_KDF_ARGON2ID;
	fill(s->salt, 16, 6);
	s->salt_len = 16;
	s->kdf_iter = 3;
	s->kdf_mem_kib = 65536;
	s->kdf_par = 4;
	strcpy(s->name, "argon");
	s = &e->slots[2];          /* KMS, RSA */
	s->type = TV_SLOT_KMS;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	s->kms_kind = TV_KMS_RSA;
	fill(s->wrapped, 512, 7);
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
	fill(s->wrapped, 48, 8);
	s->wrapped_len = 48;
	fill(s->iv, 12, 9);
	s->iv_len = 12;
	strcpy(s->kms_name, "pykmip");
	strcpy(s->kms_host, "127.0.0.1");
	s->kms_port = 5696;
	strcpy(s->key_id, "42");
	s = &e->slots[4];          /* escrow */
	s->type = TV_SLOT_ESCROW;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	fill(s->wrapped, 512, 10);
	s->wrapped_len = 512;
	fill(s->escrow_fpr, 32, 11);
	strcpy(s->name, "escrow authority");
}

static void sample_ms(struct tv_media_set_label *l)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->pool_name, "offsite");
	fill(l->pool_uuid, 16, 0x20);
	fill(l->media_set_uuid, 16, 0x30);
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

	fill(tape, 16, 0x77);
	fill(tape2, 16, 0x78);
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

static void test_file_and_catalog_headers(void **state)
{
	struct tv_file_header h, h2;
	struct tv_catalog_header c, c2;
	struct tv_buf b;
	(void)state;

	memset(&h, 0, sizeof(h));
	fill(h.set_uuid, 16, 0x40);
	h.file_index = 12345;
	h.part_no = 2;
	h.offset = 1ull << 40;
	h.encrypted = 1;
	tv_buf_init(&b);
	assert_int_equal(tv_file_header_encode(&b, &h), 0);
	assert_int_equal(tv_file_header_decode(b.d, b.len, &h2), 0);
	assert_memory_equal(&h, &h2, sizeof(h));
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_file_header_decode(b.d, n, &h2), TV_ERR_FORMAT);
	h.encrypted = 2;
	tv_buf_reset(&b);
	assert_int_equal(tv_file_header_encode(&b, &h), TV_ERR_INVAL);
	h.encrypted = 0;
	h.part_no = 0;
	assert_int_equal(tv_file_header_encode(&b, &h), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "part_no"));

	memset(&c, 0, sizeof(c));
	fill(c.tape_uuid, 16, 0x50);
	fill(c.media_set_uuid, 16, 0x60);
	c.session = 4;
	c.encrypted = 1;
	tv_buf_reset(&b);
	assert_int_equal(tv_catalog_header_encode(&b, &c), 0);
	assert_int_equal(tv_catalog_header_decode(b.d, b.len, &c2), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(tv_catalog_header_decode(b.d, n, &c2), TV_ERR_FORMAT);
	/* the documented tag numbers of the catalog header */
	assert_int_equal(tv_get_be16(b.d), 1);
	assert_int_equal(tv_get_be16(b.d + 22), 2);
	assert_int_equal(tv_get_be16(b.d + 44), 3);
	assert_int_equal(tv_get_be16(b.d + 58), 4);
	tv_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magics),
		cmocka_unit_test(test_ch_roundtrip),
		cmocka_unit_test(test_ch_version_flags_unknown),
		cmocka_unit_test(test_doc_example),
		cmocka_unit_test(test_tlv),
		cmocka_unit_test(test_vol_label),
		cmocka_unit_test(test_ms_label),
		cmocka_unit_test(test_ms_label_hostile),
		cmocka_unit_test(test_slot_validation),
		cmocka_unit_test(test_keyslot_aad),
		cmocka_unit_test(test_file_and_catalog_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
