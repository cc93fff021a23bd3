/* tapevault: the seed inputs of the format fuzz targets, which double as
 * golden vectors of on-tape format v1.
 *
 * Normally this test regenerates every seed in memory and requires the
 * committed file (tests/fuzz/corpus/fuzz_format_*) to be byte-identical: a
 * change to the encoders that alters what lands on tape fails here.  With
 * TV_FORMAT_WRITE_SEEDS=1 in the environment it (re)writes the files
 * instead.  Needs TV_SOURCE_DIR (set by CTest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/record_int.h"
#include "util/err.h"

#include "test_format_memtape.h"

static const char *srcdir;
static int writing;

static void fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static void seed(const char *target, const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s/%s", srcdir, target, name);
	if (writing) {
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(p, 1, n, f), n);
		assert_int_equal(fclose(f), 0);
		return;
	}
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s is missing: run this test with TV_FORMAT_WRITE_SEEDS=1", path);
	{
		uint8_t *have = malloc(n + 1);
		size_t got = fread(have, 1, n + 1, f);
		fclose(f);
		if (got != n || memcmp(have, p, n) != 0)
			fail_msg("%s differs from what the encoders produce now: the "
			         "on-tape format changed (regenerate only if intended, "
			         "with TV_FORMAT_WRITE_SEEDS=1)", path);
		free(have);
	}
}

static void ch_seed(const char *name, enum tv_content_type type, const struct tv_buf *body)
{
	struct tv_buf rec;
	uint8_t u[16];

	fill(u, 16, 0x30);
	tv_buf_init(&rec);
	assert_int_equal(tv_ch_encode(&rec, type, u, body->d, body->len), 0);
	seed("fuzz_format_labels", name, rec.d, rec.len);
	tv_buf_free(&rec);
}

static void sample_ms(struct tv_media_set_label *l, int enc)
{
	struct tv_keyslot *s;

	memset(l, 0, sizeof(*l));
	strcpy(l->pool_name, "offsite");
	fill(l->pool_uuid, 16, 0x20);
	fill(l->media_set_uuid, 16, 0x40);
	l->seq = 2;
	l->created = 1710000000;
	if (!enc)
		return;
	l->enc.alg = TV_ENC_AES256GCM_HKDF;
	fill(l->enc.dek_fpr, 16, 0x50);
	l->enc.nslots = 4;
	s = &l->enc.slots[0];
	s->type = TV_SLOT_PASSWORD;
	s->wrap = TV_WRAP_AES256GCM;
	fill(s->wrapped, 48, 1);
	s->wrapped_len = 48;
	fill(s->iv, 12, 2);
	s->iv_len = 12;
	s->kdf = TV_KDF_ARGON2ID;
	fill(s->salt, 64, 3);
	s->salt_len = 64;
	s->kdf_iter = 3;
	s->kdf_mem_kib = 65536;
	s->kdf_par = 1;
	strcpy(s->name, "weekly");
	strcpy(s->hint, "the usual");
	s = &l->enc.slots[1];
	s->type = TV_SLOT_KMS;
	s->wrap = TV_WRAP_KMIP_AESGCM;
	s->kms_kind = TV_KMS_AES;
	fill(s->wrapped, 48, 4);
	s->wrapped_len = 48;
	fill(s->iv, 12, 5);
	s->iv_len = 12;
	strcpy(s->kms_name, "corp-kms");
	strcpy(s->kms_host, "kms.example");
	s->kms_port = 5696;
	strcpy(s->key_id, "42");
	s = &l->enc.slots[2];
	s->type = TV_SLOT_KMS;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	s->kms_kind = TV_KMS_RSA;
	fill(s->wrapped, 256, 6);
	s->wrapped_len = 256;
	strcpy(s->name, "pool-key");
	strcpy(s->kms_name, "corp-kms");
	strcpy(s->kms_host, "kms.example");
	s->kms_port = 5696;
	strcpy(s->key_id, "43");
	s = &l->enc.slots[3];
	s->type = TV_SLOT_ESCROW;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	fill(s->wrapped, 512, 7);
	s->wrapped_len = 512;
	fill(s->escrow_fpr, 32, 8);
}

static void test_label_seeds(void **state)
{
	struct tv_volume_label vl;
	struct tv_media_set_label ms;
	struct tv_file_header fh;
	struct tv_catalog_header cat;
	struct tv_buf b;
	(void)state;

	tv_buf_init(&b);
	memset(&vl, 0, sizeof(vl));
	fill(vl.tape_uuid, 16, 0x10);
	strcpy(vl.barcode, "VT0001L9");
	vl.created = 1710000000;
	strcpy(vl.writer, "tapevault 0.1.0");
	vl.record_size = TV_RECORD_SIZE_DEFAULT;
	assert_int_equal(tv_vol_label_encode(&b, &vl), 0);
	ch_seed("volume_label", TV_CT_VOLUME_LABEL, &b);
	seed("fuzz_format_labels", "volume_label_body", b.d, b.len);

	tv_buf_reset(&b);
	sample_ms(&ms, 0);
	assert_int_equal(tv_ms_label_encode(&b, &ms), 0);
	ch_seed("media_set_label_plain", TV_CT_MEDIA_SET_LABEL, &b);
	tv_buf_reset(&b);
	sample_ms(&ms, 1);
	assert_int_equal(tv_ms_label_encode(&b, &ms), 0);
	ch_seed("media_set_label_encrypted", TV_CT_MEDIA_SET_LABEL, &b);
	seed("fuzz_format_labels", "media_set_label_body", b.d, b.len);

	tv_buf_reset(&b);
	memset(&fh, 0, sizeof(fh));
	fill(fh.set_uuid, 16, 0x60);
	fh.file_index = 7;
	fh.part_no = 1;
	fh.offset = 0;
	fh.encrypted = 1;
	assert_int_equal(tv_file_header_encode(&b, &fh), 0);
	ch_seed("file_header", TV_CT_FILE_DATA, &b);

	tv_buf_reset(&b);
	memset(&cat, 0, sizeof(cat));
	fill(cat.tape_uuid, 16, 0x10);
	fill(cat.media_set_uuid, 16, 0x40);
	cat.session = 1;
	cat.encrypted = 1;
	assert_int_equal(tv_catalog_header_encode(&b, &cat), 0);
	ch_seed("catalog_header", TV_CT_CATALOG, &b);
	tv_buf_free(&b);
}

static void test_catitem_seeds(void **state)
{
	struct tv_cat_item_v *v = calloc(1, sizeof(*v));
	struct tv_buf b;
	(void)state;

	tv_buf_init(&b);
	v->type = TV_CI_TAPE;
	fill(v->u.tape.tape_uuid, 16, 0x10);
	strcpy(v->u.tape.barcode, "VT0001L9");
	v->u.tape.seq = 1;
	strcpy(v->u.tape.pool_name, "offsite");
	fill(v->u.tape.pool_uuid, 16, 0x20);
	fill(v->u.tape.media_set_uuid, 16, 0x40);
	fill(v->u.tape.dek_fpr, 16, 0x50);
	assert_int_equal(tv_cat_item_encode(&b, v), 0);
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_SET;
	fill(v->u.set.set_uuid, 16, 0x60);
	strcpy(v->u.set.name, "nightly");
	v->u.set.created = 1710000000;
	v->u.set.first_seq = 1;
	v->u.set.last_seq = 1;
	v->u.set.complete = 1;
	v->u.set.nfiles = 1;
	v->u.set.nbytes = 1000;
	assert_int_equal(tv_cat_item_encode(&b, v), 0);
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_PART;
	fill(v->u.part.tape_uuid, 16, 0x10);
	v->u.part.file_no = 2;
	fill(v->u.part.content_uuid, 16, 0x70);
	fill(v->u.part.set_uuid, 16, 0x60);
	v->u.part.file_index = 0;
	v->u.part.part_no = 1;
	v->u.part.last_part = 1;
	v->u.part.records = 1;
	v->u.part.length = 1060;
	v->u.part.crc = 0x12345678;
	strcpy(v->u.part.e.path, "job/vm-100.tvb");
	v->u.part.e.ftype = TV_FT_REG;
	v->u.part.e.mode = 0100600;
	v->u.part.e.mtime_sec = 1710000000;
	v->u.part.e.size = 1000;
	v->u.part.e.flags = TV_EF_INNER_ENCRYPTED;
	assert_int_equal(tv_cat_item_encode(&b, v), 0);
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_KEYRING;
	fill(v->u.ring.tape_uuid, 16, 0x11);
	fill(v->u.ring.dek_fpr, 16, 0x51);
	fill(v->u.ring.dek, 32, 0x90);
	assert_int_equal(tv_cat_item_encode(&b, v), 0);
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_END;
	v->u.end_count = 4;
	assert_int_equal(tv_cat_item_encode(&b, v), 0);
	seed("fuzz_format_catitems", "catalog_stream", b.d, b.len);

	tv_buf_reset(&b);
	memset(v, 0, sizeof(*v));
	strcpy(v->u.part.e.path, "dir/link");
	v->u.part.e.ftype = TV_FT_SYMLINK;
	strcpy(v->u.part.e.link, "../target");
	v->u.part.e.mode = 0120777;
	assert_int_equal(tv_entry_encode(&b, &v->u.part.e), 0);
	assert_int_equal(tv_buf_put(&b, "file data follows", 17), 0);
	seed("fuzz_format_catitems", "entry_symlink", b.d, b.len);
	tv_buf_free(&b);
	free(v);
}

/* The fuzz target's fixed key material. */
static uint8_t fz_dek[32], fz_tape[16], fz_content[16];

static void record_seed(const char *name, uint8_t mode, int enc, uint8_t flags,
                        size_t n)
{
	struct tv_rec_crypto c;
	uint8_t rec[1 + 4096];
	size_t total;

	assert_int_equal(tv_rec_crypto_init(&c), 0);
	if (enc)
		assert_int_equal(tv_rec_crypto_key(&c, 1, fz_dek, fz_tape, fz_content), 0);
	rec[0] = mode;
	fill(rec + 1 + TV_REC_HDR, n, 0x33);
	assert_int_equal(tv_rec_seal(&c, rec + 1, 4096, flags, 3, 9, n, &total), 0);
	seed("fuzz_format_records", name, rec, total + 1);
	tv_rec_crypto_free(&c);
}

static void tape_seed(const char *name, uint8_t mode, int enc)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	struct tv_buf b;
	uint8_t u[16], data[3000];
	char body[] = "fuzz";

	fill(data, sizeof(data), 0x44);
	assert_int_equal(tv_twriter_open(&w, &m->base, "FUZZ00L9", fz_tape,
	                                 TV_RECORD_SIZE_MIN), 0);
	for (unsigned f = 0; f < 2; f++) {
		fill(u, 16, (uint8_t)(0xd0 + f));
		assert_int_equal(tv_twriter_begin_file(w, f, TV_CT_FILE_DATA, u, body, 4,
		                                       enc ? fz_dek : NULL), 0);
		assert_int_equal(tv_twriter_write(w, data, f ? sizeof(data) : 100), 0);
		assert_int_equal(tv_twriter_end_file(w, (int)f, NULL), 0);
	}
	assert_int_equal(tv_twriter_close(w), 0);
	tv_buf_init(&b);
	assert_int_equal(tv_buf_put_u8(&b, mode), 0);
	for (size_t i = 0; i < m->n; i++) {
		assert_int_equal(tv_buf_put_u8(&b, m->it[i].data ? 1 : 0), 0);
		assert_int_equal(tv_buf_put_u16(&b, (uint16_t)m->it[i].len), 0);
		assert_int_equal(tv_buf_put(&b, m->it[i].data, m->it[i].len), 0);
	}
	seed("fuzz_format_records", name, b.d, b.len);
	tv_buf_free(&b);
	tv_tape_close(&m->base);
}

static void test_record_seeds(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++)
		fz_dek[i] = (uint8_t)i;
	fill(fz_tape, 16, 0xa0);
	fill(fz_content, 16, 0xc0);
	record_seed("plain_end", 0x02, 0, TV_RF_END, 100);
	record_seed("plain_empty", 0x00, 0, TV_RF_END | TV_RF_INCOMPLETE, 0);
	record_seed("encrypted", 0x04, 1, 0, 200);
	record_seed("encrypted_fixcrc", 0x05, 1, TV_RF_END, 17);
	record_seed("encrypted_crc_only", 0x06, 1, TV_RF_END, 64);
	tape_seed("tape_plain", 0x82, 0);
	tape_seed("tape_encrypted", 0x84, 1);
	tape_seed("tape_locked", 0x80, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_seeds),
		cmocka_unit_test(test_catitem_seeds),
		cmocka_unit_test(test_record_seeds),
	};
	srcdir = getenv("TV_SOURCE_DIR");
	writing = getenv("TV_FORMAT_WRITE_SEEDS") != NULL;
	if (srcdir == NULL) {
		fprintf(stderr, "TV_SOURCE_DIR not set: nothing to check\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
