/* tapevault: golden vectors of on-tape format v2, which double as the seed
 * corpora of the format fuzz targets (tests/fuzz/corpus/fuzz_format_*),
 * and the worked examples docs/FORMAT.md quotes.
 *
 * The generator is deterministic: every UUID, key, time and byte of data
 * is fixed here (no random number generator is used: the label files are
 * written the way tv_labels_write writes them, but with a fixed media set
 * content UUID, and checked to read and verify with tv_labels_read /
 * tv_labels_verify).  Normally the test regenerates every seed in memory
 * and requires the committed file to be byte-identical: a change to the
 * encoders that alters what lands on tape fails here.  Seeds holding zstd
 * output are the exception (libzstd does not promise the same bytes across
 * versions): those are checked by what they decode to.
 *
 *   TV_FORMAT_WRITE_SEEDS=1  (re)write the seed files instead of checking
 *   TV_PRINT_VECTORS=1       print the worked examples as annotated hex
 *
 * Fixed key material shared with the fuzz targets: DEK bytes 0x00..0x1f,
 * tape UUID bytes 0xa0..0xaf, data file content UUID bytes 0xc0..0xcf,
 * record size 64 KiB (262144 in the volume label example).
 *
 * The worked examples are checked against layouts assembled here by hand
 * from record.h and format.h, and their cryptography against plain
 * OpenSSL EVP calls (HKDF through EVP_PKEY, AES-256-GCM through
 * EVP_aes_256_gcm), independent of src/format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <zstd.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

#define RS TV_RECORD_SIZE_MIN

static int writing, printing;

static uint8_t DEK[32], TAPE[16], CU_DATA[16], CU_MS[16], CU_CAT[16];

static int setup(void **state)
{
	(void)state;
	tl_fill_seq(DEK, 32, 0x00);
	tl_fill_seq(TAPE, 16, 0xa0);
	tl_fill_seq(CU_DATA, 16, 0xc0);
	tl_fill_seq(CU_MS, 16, 0xd0);
	tl_fill_seq(CU_CAT, 16, 0xe0);
	return 0;
}

/* ---- seed files ---- */

static char *seed_path(const char *target, const char *name)
{
	static char path[2048];
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s/%s", tl_srcdir(), target, name);
	return path;
}

static uint8_t *read_seed(const char *target, const char *name, size_t *n)
{
	const char *path = seed_path(target, name);
	uint8_t *p = tl_read_file(path, n);

	if (p == NULL)
		fail_msg("%s is missing: run this test with TV_FORMAT_WRITE_SEEDS=1", path);
	return p;
}

static void write_seed(const char *target, const char *name, const void *p, size_t n)
{
	tl_write_file(seed_path(target, name), p, n, 0644);
}

/* A seed: mode byte (or -1 for none), then the bytes. */
static void seed(const char *target, const char *name, int mode, const void *p, size_t n)
{
	uint8_t *want = malloc(n + 1), *have;
	size_t k = 0, hn;

	if (mode >= 0)
		want[k++] = (uint8_t)mode;
	memcpy(want + k, p, n);
	n += k;
	if (writing) {
		write_seed(target, name, want, n);
		free(want);
		return;
	}
	have = read_seed(target, name, &hn);
	if (hn != n || memcmp(have, want, n) != 0)
		fail_msg("%s differs from what the encoders produce now: the on-tape "
		         "format changed (regenerate only if intended, with "
		         "TV_FORMAT_WRITE_SEEDS=1)", seed_path(target, name));
	free(have);
	free(want);
}

/* A seed holding zstd output: written as is; checked by check(). */
static void seed_zstd(const char *target, const char *name, int mode, const void *p,
                      size_t n, void (*check)(const uint8_t *p, size_t n))
{
	uint8_t *have;
	size_t hn;

	if (writing) {
		uint8_t *want = malloc(n + 1);
		want[0] = (uint8_t)mode;
		memcpy(want + 1, p, n);
		write_seed(target, name, want, n + 1);
		free(want);
		return;
	}
	have = read_seed(target, name, &hn);
	assert_true(hn >= 1);
	assert_int_equal(have[0], mode);
	check(have + 1, hn - 1);
	free(have);
}

static void seed_tape(const char *target, const char *name, int mode, const struct memtape *m)
{
	struct tv_buf b;

	tv_buf_init(&b);
	assert_int_equal(mt_image(m, &b), 0);
	seed(target, name, mode, b.d, b.len);
	tv_buf_free(&b);
}

/* ---- printing ---- */

static void hex(const char *what, const uint8_t *p, size_t n)
{
	if (!printing)
		return;
	for (size_t i = 0; i < n; i += 32) {
		size_t k = n - i < 32 ? n - i : 32;
		for (size_t j = 0; j < k; j++)
			printf("%02x", p[i + j]);
		if (i == 0 && what != NULL && what[0] != '\0')
			printf("%*s  %s", (int)(2 * (32 - k)), "", what);
		printf("\n");
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	if (!printing)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* A record's header, field by field (record.h). */
static void print_rec_hdr(const uint8_t *r)
{
	hex("magic \"TVR2\"", r, 4);
	hex("flags", r + 4, 1);
	hex("reserved", r + 5, 3);
	hex("payload length P", r + 8, 4);
	hex("tape file number", r + 12, 4);
	hex("sequence", r + 16, 8);
	hex("first frame offset", r + 24, 4);
	hex("CRC32C of bytes 0..27 || payload", r + 28, 4);
}

static void print_content_hdr(const uint8_t *h, const char *type)
{
	char t[96];
	snprintf(t, sizeof(t), "type: %s", type);
	hex("magic \"TVC2\"", h, 4);
	hex("format version 2", h + 4, 2);
	hex("flags", h + 6, 2);
	hex(t, h + 8, 8);
	hex("content UUID", h + 16, 16);
	hex("body length B", h + 32, 4);
	hex("CRC32C of bytes 0..35 || body", h + 36, 4);
}

/* Prints a TLV list, one item a line (long values go on). */
static void print_tlv(const uint8_t *p, size_t n, const char *const *names, size_t nn)
{
	struct tv_buf b;
	struct tv_tlv it;

	if (!printing)
		return;
	tv_buf_view(&b, p, n);
	while (tv_tlv_next(&b, &it) == 0) {
		const char *nm = it.tag < nn && names[it.tag] != NULL ? names[it.tag] : "";
		size_t k = it.len < 16 ? it.len : 16;
		printf("%04x %08zx ", (unsigned)it.tag, it.len);
		for (size_t j = 0; j < k; j++)
			printf("%02x", it.val[j]);
		printf("%*s  tag %u %s\n", (int)(2 * (16 - k)), "", (unsigned)it.tag, nm);
		if (it.len > 16)
			hex(NULL, it.val + 16, it.len - 16);
	}
}

static void print_frame_hdr(const uint8_t *f)
{
	hex("magic \"TVF2\"", f, 4);
	hex("method (0 stored, 1 zstd)", f + 4, 1);
	hex("flags (LAST 01, CONT 02, SEALED 04)", f + 5, 1);
	hex("reserved", f + 6, 2);
	hex("stored length S", f + 8, 4);
	hex("raw length U", f + 12, 4);
	hex("first entry offset", f + 16, 4);
	hex("CRC32C of the raw bytes (0 when sealed)", f + 20, 4);
	hex("frame index", f + 24, 8);
	hex("content UUID", f + 32, 16);
	if (TV_FRAME_HDR != 48) {
		hex("WARNING: bytes 48..55, not in the spec (TV_FRAME_HDR is 56)", f + 48,
		    TV_FRAME_HDR - 48);
		say("WARNING: this frame header is %d bytes, the spec's 48: do not quote it "
		    "before\ntest_frame_hdr_layout (test_format_records) passes\n",
		    (int)TV_FRAME_HDR);
	}
}

/* ---- an independent implementation of the cryptography ---- */

static void ref_file_key(uint8_t out[32], const uint8_t dek[32], const uint8_t cu[16])
{
	static const char info[] = "tapevault v2 file key";
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t n = 32;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_derive_init(k), 1);
	assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(k, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(k, dek, 32), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(k, cu, 16), 1);
	assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(k, (const unsigned char *)info,
	                                             sizeof(info) - 1), 1);
	assert_int_equal(EVP_PKEY_derive(k, out, &n), 1);
	assert_int_equal(n, 32);
	EVP_PKEY_CTX_free(k);
}

/* AES-256-GCM encryption: out = ciphertext, tag. */
static void ref_gcm(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
                    uint8_t tag[16])
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t fin[16];
	int l = 0;

	assert_non_null(x);
	assert_int_equal(EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(x, NULL, &l, aad, (int)aad_len), 1);
	if (n > 0)
		assert_int_equal(EVP_EncryptUpdate(x, out, &l, in, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(x, fin, &l), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(x);
}

/* ---- hand-assembled layouts ---- */

static void put_rec_hdr(struct tv_buf *b, uint8_t flags, uint32_t plen, uint32_t file_no,
                        uint64_t seq, uint32_t first)
{
	assert_int_equal(tv_buf_put(b, "TVR2", 4), 0);
	assert_int_equal(tv_buf_put_u8(b, flags), 0);
	assert_int_equal(tv_buf_put(b, "\0\0\0", 3), 0);
	assert_int_equal(tv_buf_put_u32(b, plen), 0);
	assert_int_equal(tv_buf_put_u32(b, file_no), 0);
	assert_int_equal(tv_buf_put_u64(b, seq), 0);
	assert_int_equal(tv_buf_put_u32(b, first), 0);
	assert_int_equal(tv_buf_put_u32(b, 0), 0);   /* CRC, patched */
}

static void patch_rec_crc(struct tv_buf *b, size_t start)
{
	uint8_t *r = b->d + start;
	size_t plen = b->len - start - TV_REC_HDR;
	tv_put_be32(r + 28, tv_crc32c(tv_crc32c(0, r, 28), r + 32, plen));
}

static void put_content_hdr(struct tv_buf *b, const uint8_t magic[8], const uint8_t uuid[16],
                            const struct tv_buf *body)
{
	size_t start = b->len;
	uint8_t *h;

	assert_int_equal(tv_buf_put(b, "TVC2\x00\x02\x00\x00", 8), 0);
	assert_int_equal(tv_buf_put(b, magic, 8), 0);
	assert_int_equal(tv_buf_put(b, uuid, 16), 0);
	assert_int_equal(tv_buf_put_u32(b, (uint32_t)body->len), 0);
	assert_int_equal(tv_buf_put_u32(b, 0), 0);
	assert_int_equal(tv_buf_put(b, body->d, body->len), 0);
	h = b->d + start;
	tv_put_be32(h + 36, tv_crc32c(tv_crc32c(0, h, 36), h + 40, body->len));
}

/* SHA-256 of the type name, first 8 bytes. */
static void type_magic(uint8_t out[8], const char *name)
{
	uint8_t md[32];
	unsigned l;
	assert_int_equal(EVP_Digest(name, strlen(name), md, &l, EVP_sha256(), NULL), 1);
	memcpy(out, md, 8);
}

static const char *const vol_tags[] = { NULL, "tape_uuid", "barcode", "created",
                                        "writer", "record_size" };
static const char *const dh_tags[] = { NULL, "set_uuid", "set_name", "created", "session" };
static const char *const ent_tags[] = { NULL, "path", "ftype", "mode", "uid", "gid",
                                        "mtime_sec", "mtime_nsec", "size", "offset",
                                        "link", "flags", NULL, "file_index", "part",
                                        "length" };
static const char *const slot_tags[] = { NULL, "type", "wrap", "wrapped", "iv", "kdf",
                                         "salt", "kdf_iter", "kdf_mem_kib", "kdf_par",
                                         "name", "hint" };

/* ---- the examples ---- */

#define T_REC "fuzz_format_records"
#define T_LAB "fuzz_format_labels"
#define T_CAT "fuzz_format_catitems"
#define T_STR "fuzz_format_stream"

static void example_volume_label(struct tv_volume_label *l)
{
	memset(l, 0, sizeof(*l));
	for (int i = 0; i < 16; i++)
		l->tape_uuid[i] = (uint8_t)(i * 0x11);
	strcpy(l->barcode, "VT0001L9");
	l->created = 1710343552;     /* 2024-03-13T15:25:52Z */
	strcpy(l->writer, "tapevault 0.2.0");
	l->record_size = 262144;
}

static struct tv_twriter *open_writer(struct memtape *m, const uint8_t tape[16])
{
	struct tv_twriter_opts o = { .record_size = RS, .workers = 1 };
	struct tv_twriter *w;
	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0001L9", tape, &o), 0);
	return w;
}

/* 12.x: record 0 of tape file 0, a volume label. */
static void test_volume_label_record(void **state)
{
	struct tv_volume_label l;
	struct tv_buf body, want;
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	uint8_t magic[8];
	(void)state;

	example_volume_label(&l);
	tv_buf_init(&body);
	tv_buf_init(&want);
	w = open_writer(m, l.tape_uuid);
	assert_int_equal(tv_vol_label_encode(&body, &l), 0);
	assert_int_equal(tv_twriter_header_file(w, 0, TV_CT_VOLUME_LABEL, l.tape_uuid,
	                                        body.d, body.len, NULL, NULL, 0), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(m->n, 2);   /* the record, a filemark */
	/* by hand: TLVs in tag order, content header, record header */
	tv_buf_reset(&body);
	assert_int_equal(tv_tlv_put_bytes(&body, 1, l.tape_uuid, 16), 0);
	assert_int_equal(tv_tlv_put_str(&body, 2, "VT0001L9"), 0);
	assert_int_equal(tv_tlv_put_u64(&body, 3, 1710343552), 0);
	assert_int_equal(tv_tlv_put_str(&body, 4, "tapevault 0.2.0"), 0);
	assert_int_equal(tv_tlv_put_u64(&body, 5, 262144), 0);
	type_magic(magic, "tapevault volume label v2");
	put_rec_hdr(&want, TV_RF_END, (uint32_t)(TV_HDR_FIXED + body.len), 0, 0, 0);
	put_content_hdr(&want, magic, l.tape_uuid, &body);
	patch_rec_crc(&want, 0);
	assert_int_equal(m->it[0].len, want.len);
	assert_memory_equal(m->it[0].data, want.d, want.len);

	say("\n== Volume label: record 0 of tape file 0 (%zu bytes) ==\n", want.len);
	say("tape UUID 00112233445566778899aabbccddeeff (= content UUID), barcode "
	    "VT0001L9,\ncreated 1710343552, writer \"tapevault 0.2.0\", record size "
	    "262144\n\n");
	print_rec_hdr(want.d);
	print_content_hdr(want.d + 32, "volume label, SHA-256(\"tapevault volume label v2\")[0..7]");
	print_tlv(want.d + 32 + 40, body.len, vol_tags, 6);
	say("\nas one string:\n");
	hex(NULL, want.d, want.len);

	seed(T_REC, "volume_label_record", 0x00, want.d, want.len);
	seed(T_LAB, "volume_label", 0x00, want.d + 32, want.len - 32);
	seed(T_LAB, "volume_label_body", 0x00, body.d, body.len);
	tv_buf_free(&body);
	tv_buf_free(&want);
	tv_tape_close(&m->base);
}

/* The entry of the data record examples: a 9-byte file. */
static void example_entry(struct tv_entry *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->path, "etc/motd");
	e->ftype = TV_FT_REG;
	e->mode = 0644;
	e->uid = 0;
	e->gid = 0;
	e->mtime_sec = 1710343552;
	e->size = 9;
	e->file_index = 0;
	e->part = 1;
	e->length = 9;
}

static void example_data_header(struct tv_buf *body)
{
	struct tv_data_header h;
	memset(&h, 0, sizeof(h));
	tl_fill_seq(h.set_uuid, 16, 0x50);
	strcpy(h.set_name, "nightly");
	h.created = 1710343552;
	h.session = 1;
	assert_int_equal(tv_data_header_encode(body, &h), 0);
}

/* Writes tape file 2 (a data file) holding example_entry and "tapevault":
 * record 0, one data record, a filemark. */
static struct memtape *example_data_file(const uint8_t *dek, struct tv_buf *raw)
{
	struct memtape *m = memtape_new();
	struct tv_twriter *w = open_writer(m, TAPE);
	struct tv_entry *e = malloc(sizeof(*e));
	struct tv_buf body;
	uint64_t fi;
	uint32_t eo;

	tv_buf_init(&body);
	example_data_header(&body);
	example_entry(e);
	assert_int_equal(tv_entry_encode(raw, e), 0);
	assert_int_equal(tv_buf_put(raw, "tapevault", 9), 0);
	assert_int_equal(tv_twriter_begin_file(w, 2, TV_CT_DATA, CU_DATA, body.d, body.len,
	                                       dek), 0);
	assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
	assert_int_equal(fi, 0);
	assert_int_equal(eo, 0);
	assert_int_equal(tv_twriter_write(w, raw->d, raw->len), 0);
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(m->n, 3);
	tv_buf_free(&body);
	free(e);
	return m;
}

/* Checks a frame header against record.h field by field (its length is
 * test_format_records' test_frame_hdr_layout). */
static void check_frame_hdr(const uint8_t *f, uint8_t method, uint8_t flags, uint32_t s,
                            uint32_t u, uint32_t first, uint32_t crc, uint64_t index)
{
	uint8_t want[32];
	memcpy(want, "TVF2", 4);
	want[4] = method;
	want[5] = flags;
	want[6] = want[7] = 0;
	tv_put_be32(want + 8, s);
	tv_put_be32(want + 12, u);
	tv_put_be32(want + 16, first);
	tv_put_be32(want + 20, crc);
	tv_put_be64(want + 24, index);
	assert_memory_equal(f, want, 32);
	assert_memory_equal(f + 32, CU_DATA, 16);
}

/* The entry header of example_entry, by hand. */
static void example_entry_by_hand(struct tv_buf *b)
{
	struct tv_buf t;
	tv_buf_init(&t);
	assert_int_equal(tv_tlv_put_str(&t, 1, "etc/motd"), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 2, TV_FT_REG), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 3, 0644), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 4, 0), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 5, 0), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 6, 1710343552), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 7, 0), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 8, 9), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 13, 0), 0);
	assert_int_equal(tv_tlv_put_u64(&t, 15, 9), 0);
	assert_int_equal(tv_buf_put(b, "TVE2", 4), 0);
	assert_int_equal(tv_buf_put_u32(b, (uint32_t)t.len), 0);
	assert_int_equal(tv_buf_put(b, t.d, t.len), 0);
	tv_buf_free(&t);
}

/* 12.x: a plaintext data record holding one stored frame with one entry. */
static void test_plain_data_record(void **state)
{
	struct tv_buf raw, want, body;
	struct memtape *m;
	const struct mt_item *r0, *r1;
	const uint8_t *f;
	uint8_t magic[8];
	(void)state;

	tv_buf_init(&raw);
	tv_buf_init(&want);
	tv_buf_init(&body);
	m = example_data_file(NULL, &raw);
	r0 = &m->it[0];
	r1 = &m->it[1];
	/* the byte stream: the entry header, by hand, then its data */
	example_entry_by_hand(&want);
	assert_int_equal(tv_buf_put(&want, "tapevault", 9), 0);
	assert_int_equal(raw.len, want.len);
	assert_memory_equal(raw.d, want.d, want.len);
	/* record 0: the content header, data file header body */
	tv_buf_reset(&want);
	example_data_header(&body);
	type_magic(magic, "tapevault data v2");
	put_rec_hdr(&want, 0, (uint32_t)(TV_HDR_FIXED + body.len), 2, 0, 0);
	put_content_hdr(&want, magic, CU_DATA, &body);
	patch_rec_crc(&want, 0);
	assert_int_equal(r0->len, want.len);
	assert_memory_equal(r0->data, want.d, want.len);
	/* record 1: END, one frame at 0 holding the stream as is */
	assert_int_equal(r1->len, TV_REC_HDR + TV_FRAME_HDR + raw.len);
	tv_buf_reset(&want);
	put_rec_hdr(&want, TV_RF_END, (uint32_t)(TV_FRAME_HDR + raw.len), 2, 1, 0);
	assert_memory_equal(r1->data, want.d, 28);
	assert_int_equal(tv_get_be32(r1->data + 28), tv_rec_crc(r1->data, r1->len - 32));
	f = r1->data + TV_REC_HDR;
	check_frame_hdr(f, TV_COMP_STORED, TV_FF_LAST, (uint32_t)raw.len, (uint32_t)raw.len, 0,
	                tv_crc32c(0, raw.d, raw.len), 0);
	assert_memory_equal(f + TV_FRAME_HDR, raw.d, raw.len);

	say("\n== A data file (tape file 2), plaintext: record 0 (%zu bytes) ==\n", r0->len);
	say("content UUID c0c1..cf; data file header: set UUID 5051..5f, name "
	    "\"nightly\",\ncreated 1710343552, session 1\n\n");
	print_rec_hdr(r0->data);
	print_content_hdr(r0->data + 32, "data, SHA-256(\"tapevault data v2\")[0..7]");
	print_tlv(r0->data + 72, body.len, dh_tags, 5);
	say("\n== ... and record 1 (%zu bytes): one stored frame, one entry ==\n", r1->len);
	say("entry: etc/motd, regular file, mode 0644, uid 0, gid 0, mtime "
	    "1710343552, size 9,\nfile index 0 (part 1 and offset 0 are defaults, left "
	    "out), data \"tapevault\"\n\n");
	print_rec_hdr(r1->data);
	print_frame_hdr(f);
	hex("entry magic \"TVE2\"", f + TV_FRAME_HDR, 4);
	hex("entry header length L", f + TV_FRAME_HDR + 4, 4);
	print_tlv(f + TV_FRAME_HDR + 8, raw.len - 8 - 9, ent_tags, 16);
	hex("data \"tapevault\"", f + TV_FRAME_HDR + raw.len - 9, 9);
	say("\nas one string:\n");
	hex(NULL, r1->data, r1->len);

	seed(T_REC, "data_record0_plain", 0x00, r0->data, r0->len);
	seed(T_REC, "data_record_plain", 0x00, r1->data, r1->len);
	seed(T_REC, "frame_plain", 0x01, f, r1->len - TV_REC_HDR);
	{
		/* the same record with its CRC damaged: the target fixes it */
		uint8_t *c = malloc(r1->len);
		memcpy(c, r1->data, r1->len);
		c[28] ^= 0xff;
		seed(T_REC, "data_record_fixcrc", 0x04, c, r1->len);
		free(c);
	}
	seed(T_LAB, "data_header", 0x00, r0->data + 32, r0->len - 32);
	seed(T_CAT, "entry_reg", -1, raw.d, raw.len);
	tv_buf_free(&raw);
	tv_buf_free(&want);
	tv_buf_free(&body);
	tv_tape_close(&m->base);
}

/* 12.x: the same file sealed: record 0's tag and the sealed frame. */
static void test_sealed_data_file(void **state)
{
	struct tv_buf raw, body, aad;
	struct memtape *m;
	const struct mt_item *r0, *r1;
	const uint8_t *f;
	uint8_t key[32], nonce[12], tag[16], *ct;
	size_t hl;
	(void)state;

	tv_buf_init(&raw);
	tv_buf_init(&body);
	tv_buf_init(&aad);
	m = example_data_file(DEK, &raw);
	r0 = &m->it[0];
	r1 = &m->it[1];
	ref_file_key(key, DEK, CU_DATA);
	/* record 0: content header || tag; flags SEALED */
	example_data_header(&body);
	hl = TV_HDR_FIXED + body.len;
	assert_int_equal(r0->len, TV_REC_HDR + hl + 16);
	assert_int_equal(r0->data[4], TV_RF_SEALED);
	assert_int_equal(tv_get_be32(r0->data + 8), hl + 16);
	memset(nonce, 0, 12);
	assert_int_equal(tv_buf_put(&aad, TAPE, 16), 0);
	assert_int_equal(tv_buf_put(&aad, r0->data, 24), 0);
	assert_int_equal(tv_buf_put(&aad, r0->data + 32, hl), 0);
	ref_gcm(key, nonce, aad.d, aad.len, NULL, 0, NULL, tag);
	assert_memory_equal(r0->data + 32 + hl, tag, 16);
	/* record 1: the sealed frame */
	f = r1->data + TV_REC_HDR;
	assert_int_equal(r1->len, TV_REC_HDR + TV_FRAME_HDR + raw.len + 16);
	check_frame_hdr(f, TV_COMP_STORED, TV_FF_LAST | TV_FF_SEALED, (uint32_t)raw.len + 16,
	                (uint32_t)raw.len, 0, 0, 0);
	tv_put_be32(nonce, 1);        /* 00000001 || frame index 0 */
	tv_put_be64(nonce + 4, 0);
	tv_buf_reset(&aad);
	assert_int_equal(tv_buf_put(&aad, TAPE, 16), 0);
	assert_int_equal(tv_buf_put(&aad, f, TV_FRAME_HDR), 0);
	ct = malloc(raw.len);
	ref_gcm(key, nonce, aad.d, aad.len, raw.d, raw.len, ct, tag);
	assert_memory_equal(f + TV_FRAME_HDR, ct, raw.len);
	assert_memory_equal(f + TV_FRAME_HDR + raw.len, tag, 16);
	assert_int_equal(tv_get_be32(r1->data + 28), tv_rec_crc(r1->data, r1->len - 32));

	say("\n== The same data file sealed (DEK 000102..1f, tape UUID a0a1..af, content "
	    "UUID c0c1..cf) ==\n");
	hex("file key = HKDF-SHA256(IKM = DEK, salt = content UUID, info = \"tapevault v2 "
	    "file key\")", key, 32);
	say("\nrecord 0 (%zu bytes): flags SEALED, payload = content header || tag\n",
	    r0->len);
	memset(nonce, 0, 12);
	hex("nonce of record 0", nonce, 12);
	say("AAD = tape UUID || record header bytes 0..23 || content header (%zu bytes)\n",
	    16 + 24 + hl);
	hex("tag (GCM over the AAD, empty plaintext)", r0->data + 32 + hl, 16);
	say("record 0 as one string:\n");
	hex(NULL, r0->data, r0->len);
	say("\nrecord 1 (%zu bytes): one sealed frame\n", r1->len);
	tv_put_be32(nonce, 1);
	hex("nonce = 00000001 || frame index", nonce, 12);
	say("AAD = tape UUID || the %d-byte frame header:\n", (int)TV_FRAME_HDR);
	hex(NULL, aad.d, aad.len);
	print_rec_hdr(r1->data);
	print_frame_hdr(f);
	hex("ciphertext of the entry header and data", f + TV_FRAME_HDR, raw.len);
	hex("tag", f + TV_FRAME_HDR + raw.len, 16);
	say("\nas one string:\n");
	hex(NULL, r1->data, r1->len);

	seed(T_REC, "data_record0_sealed", 0x08, r0->data, r0->len);
	seed(T_REC, "data_record_sealed", 0x08, r1->data, r1->len);
	seed(T_REC, "frame_sealed", 0x09, f, r1->len - TV_REC_HDR);
	free(ct);
	tv_buf_free(&raw);
	tv_buf_free(&body);
	tv_buf_free(&aad);
	tv_tape_close(&m->base);
}

/* 12.x: the AAD of a password slot.  The expected bytes are those of the
 * v1 document (section 12.4): key slots did not change in v2. */
static void test_slot_aad(void **state)
{
	static const char want_hex[] =
		"746170657661756c74206b6579736c6f74207631" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
		"0001" "00000008" "0000000000000001" "0002" "00000008" "0000000000000001"
		"0005" "00000008" "0000000000000001"
		"0006" "00000010" "000102030405060708090a0b0c0d0e0f"
		"0007" "00000008" "00000000000927c0" "0008" "00000008" "0000000000000000"
		"0009" "00000008" "0000000000000000" "000a" "00000006" "7765656b6c79"
		"000b" "00000005" "757375616c";
	struct tv_keyslot s;
	struct tv_buf a;
	uint8_t want[200];
	size_t n = tl_unhex(want_hex, want, sizeof(want));
	(void)state;

	memset(&s, 0, sizeof(s));
	s.type = TV_SLOT_PASSWORD;
	s.wrap = TV_WRAP_AES256GCM;
	tl_fill_seq(s.wrapped, 48, 0x99);     /* not part of the AAD */
	s.wrapped_len = 48;
	tl_fill_seq(s.iv, 12, 0x77);
	s.iv_len = 12;
	s.kdf = TV_KDF_PBKDF2_SHA256;
	tl_fill_seq(s.salt, 16, 0);
	s.salt_len = 16;
	s.kdf_iter = 600000;
	strcpy(s.name, "weekly");
	strcpy(s.hint, "usual");
	tv_buf_init(&a);
	assert_int_equal(tv_keyslot_aad(&a, TAPE, &s), 0);
	assert_int_equal(a.len, 165);
	assert_int_equal(a.len, n);
	assert_memory_equal(a.d, want, n);

	say("\n== Key slot AAD (%zu bytes) ==\n", a.len);
	say("password slot, PBKDF2, salt 000102..0f, 600000 iterations, name \"weekly\", "
	    "hint \"usual\",\non the tape with UUID a0a1..af\n\n");
	hex("\"tapevault keyslot v1\"", a.d, 20);
	hex("tape UUID", a.d + 20, 16);
	print_tlv(a.d + 36, a.len - 36, slot_tags, 12);

	seed(T_LAB, "slot_aad_password", -1, a.d, a.len);
	tv_buf_free(&a);
}

static const char *const ms_tags[] = { NULL, "pool_name", "pool_uuid", "media_set_uuid",
                                       "seq", "created", "encryption" };
static const char *const enc_tags[] = { NULL, "alg", "dek_fpr", "key slot" };

/* 12.x: the media set label of an encrypted tape (tape file 1, record 0),
 * sealed with the fixed DEK, binding the volume label. */
static void test_ms_label_sealed(void **state)
{
	struct tv_volume_label vol;
	struct tv_media_set_label ms;
	struct tv_keyslot *sl;
	struct tv_tape_labels l;
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	struct tv_buf vb, mb, vh, aad;
	const struct mt_item *r1;
	uint8_t key[32], nonce[12] = { 0 }, tag[16], fpr[32];
	unsigned fl = 0;
	size_t hl;
	(void)state;

	tv_buf_init(&vb);
	tv_buf_init(&mb);
	tv_buf_init(&vh);
	tv_buf_init(&aad);
	example_volume_label(&vol);
	memcpy(vol.tape_uuid, TAPE, 16);
	memset(&ms, 0, sizeof(ms));
	strcpy(ms.pool_name, "offsite");
	tl_fill_seq(ms.pool_uuid, 16, 0x20);
	tl_fill_seq(ms.media_set_uuid, 16, 0x40);
	ms.seq = 1;
	ms.created = 1710343552;
	ms.enc.alg = TV_ENC_AES256GCM_HKDF;
	/* dek_fpr = HMAC-SHA256(DEK, "tapevault dek fingerprint v1")[0..15] */
	assert_non_null(HMAC(EVP_sha256(), DEK, 32,
	                     (const unsigned char *)"tapevault dek fingerprint v1", 28, fpr,
	                     &fl));
	memcpy(ms.enc.dek_fpr, fpr, 16);
	ms.enc.nslots = 1;
	sl = &ms.enc.slots[0];      /* the slot of the key slot AAD example */
	sl->type = TV_SLOT_PASSWORD;
	sl->wrap = TV_WRAP_AES256GCM;
	tl_fill_seq(sl->wrapped, 48, 0x60);
	sl->wrapped_len = 48;
	tl_fill_seq(sl->iv, 12, 0x90);
	sl->iv_len = 12;
	sl->kdf = TV_KDF_PBKDF2_SHA256;
	tl_fill_seq(sl->salt, 16, 0);
	sl->salt_len = 16;
	sl->kdf_iter = 600000;
	strcpy(sl->name, "weekly");
	strcpy(sl->hint, "usual");
	/* as tv_labels_write writes them, with the content UUID d0d1..df */
	w = open_writer(m, TAPE);
	assert_int_equal(tv_vol_label_encode(&vb, &vol), 0);
	assert_int_equal(tv_ms_label_encode(&mb, &ms), 0);
	assert_int_equal(tv_hdr_encode(&vh, TV_CT_VOLUME_LABEL, TAPE, vb.d, vb.len), 0);
	assert_int_equal(tv_twriter_header_file(w, 0, TV_CT_VOLUME_LABEL, TAPE, vb.d, vb.len,
	                                        NULL, NULL, 0), 0);
	assert_int_equal(tv_twriter_header_file(w, 1, TV_CT_MEDIA_SET_LABEL, CU_MS, mb.d,
	                                        mb.len, DEK, vh.d, vh.len), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	assert_int_equal(m->n, 4);
	r1 = &m->it[2];
	hl = TV_HDR_FIXED + mb.len;
	assert_int_equal(r1->len, TV_REC_HDR + hl + 16);
	assert_int_equal(r1->data[4], TV_RF_END | TV_RF_SEALED);
	assert_int_equal(tv_get_be32(r1->data + 12), 1);
	/* the tag, independently: AAD = tape UUID || record header 0..23 ||
	 * content header || the volume label's content header */
	ref_file_key(key, DEK, CU_MS);
	assert_int_equal(tv_buf_put(&aad, TAPE, 16), 0);
	assert_int_equal(tv_buf_put(&aad, r1->data, 24), 0);
	assert_int_equal(tv_buf_put(&aad, r1->data + 32, hl), 0);
	assert_int_equal(m->it[0].len - TV_REC_HDR, vh.len);
	assert_memory_equal(m->it[0].data + TV_REC_HDR, vh.d, vh.len);
	assert_int_equal(tv_buf_put(&aad, vh.d, vh.len), 0);
	ref_gcm(key, nonce, aad.d, aad.len, NULL, 0, NULL, tag);
	assert_memory_equal(r1->data + 32 + hl, tag, 16);
	/* and what the label reader makes of it */
	assert_int_equal(tv_labels_read(&m->base, "VT0001L9", &l, 1), 0);
	assert_int_equal(tv_labels_verify(&l, "VT0001L9", DEK), 0);
	assert_memory_equal(&l.ms, &ms, sizeof(ms));
	tv_labels_free(&l);

	say("\n== Media set label of an encrypted tape: record 0 of tape file 1 (%zu "
	    "bytes) ==\n", r1->len);
	say("tape UUID a0a1..af; volume label as in the first example but for its tape "
	    "UUID;\ncontent UUID d0d1..df; pool \"offsite\" 2021..2f, media set 4041..4f, "
	    "sequence 1,\ncreated 1710343552; AES-256-GCM with HKDF file keys, one "
	    "password slot\n(the one of the key slot AAD example, wrapped key 6061..8f, "
	    "IV 9091..9b); DEK 000102..1f\n\n");
	hex("dek_fpr = HMAC-SHA256(DEK, \"tapevault dek fingerprint v1\")[0..15]", fpr, 16);
	hex("file key = HKDF-SHA256(DEK, salt = content UUID, info = \"tapevault v2 file "
	    "key\")", key, 32);
	print_rec_hdr(r1->data);
	print_content_hdr(r1->data + 32, "media set label, SHA-256(\"tapevault media set "
	                  "label v2\")[0..7]");
	print_tlv(r1->data + 72, mb.len, ms_tags, 7);
	{
		/* the encryption descriptor (tag 6), and the slot in it (tag 3) */
		struct tv_buf b;
		struct tv_tlv t, e;
		tv_buf_view(&b, r1->data + 72, mb.len);
		while (tv_tlv_next(&b, &t) == 0) {
			struct tv_buf eb;
			if (t.tag != 6)
				continue;
			say("encryption descriptor (tag 6):\n");
			print_tlv(t.val, t.len, enc_tags, 4);
			tv_buf_view(&eb, t.val, t.len);
			while (tv_tlv_next(&eb, &e) == 0)
				if (e.tag == 3) {
					say("key slot (tag 3 of the descriptor):\n");
					print_tlv(e.val, e.len, slot_tags, 12);
				}
		}
	}
	hex("nonce of record 0", nonce, 12);
	say("AAD = tape UUID || record header bytes 0..23 || this content header ||\n"
	    "      the volume label's content header (tape file 0's payload):\n");
	hex(NULL, aad.d, aad.len);
	hex("tag", r1->data + 32 + hl, 16);
	say("\nas one string:\n");
	hex(NULL, r1->data, r1->len);

	seed(T_REC, "ms_label_record_sealed", 0x08, r1->data, r1->len);
	seed_tape(T_LAB, "tape_example_sealed", 0x80, m);
	tv_buf_free(&vb);
	tv_buf_free(&mb);
	tv_buf_free(&vh);
	tv_buf_free(&aad);
	tv_tape_close(&m->base);
}

/* ---- label seeds ---- */

static void sample_ms(struct tv_media_set_label *l, int enc)
{
	struct tv_keyslot *s;

	memset(l, 0, sizeof(*l));
	strcpy(l->pool_name, "offsite");
	tl_fill_seq(l->pool_uuid, 16, 0x20);
	tl_fill_seq(l->media_set_uuid, 16, 0x40);
	l->seq = 2;
	l->created = 1710000000;
	if (!enc)
		return;
	l->enc.alg = TV_ENC_AES256GCM_HKDF;
	tl_fill_seq(l->enc.dek_fpr, 16, 0x50);
	l->enc.nslots = 4;
	s = &l->enc.slots[0];
	s->type = TV_SLOT_PASSWORD;
	s->wrap = TV_WRAP_AES256GCM;
	tl_fill_seq(s->wrapped, 48, 1);
	s->wrapped_len = 48;
	tl_fill_seq(s->iv, 12, 2);
	s->iv_len = 12;
	s->kdf = TV_KDF_ARGON2ID;
	tl_fill_seq(s->salt, 64, 3);
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
	tl_fill_seq(s->wrapped, 48, 4);
	s->wrapped_len = 48;
	tl_fill_seq(s->iv, 12, 5);
	s->iv_len = 12;
	strcpy(s->kms_name, "corp-kms");
	strcpy(s->kms_host, "kms.example");
	s->kms_port = 5696;
	strcpy(s->key_id, "42");
	s = &l->enc.slots[2];
	s->type = TV_SLOT_KMS;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	s->kms_kind = TV_KMS_RSA;
	tl_fill_seq(s->wrapped, 256, 6);
	s->wrapped_len = 256;
	strcpy(s->name, "pool-key");
	strcpy(s->kms_name, "corp-kms");
	strcpy(s->kms_host, "kms.example");
	s->kms_port = 5696;
	strcpy(s->key_id, "43");
	s = &l->enc.slots[3];
	s->type = TV_SLOT_ESCROW;
	s->wrap = TV_WRAP_RSA_OAEP_SHA256;
	tl_fill_seq(s->wrapped, 512, 7);
	s->wrapped_len = 512;
	tl_fill_seq(s->escrow_fpr, 32, 8);
}

static void sample_vol(struct tv_volume_label *l)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->tape_uuid, TAPE, 16);
	strcpy(l->barcode, "FUZZ00L9");
	l->created = 1710000000;
	strcpy(l->writer, "tapevault 0.2.0");
	l->record_size = RS;
}

/* Files 0 and 1 as tv_labels_write writes them, with a fixed media set
 * content UUID (CU_MS) instead of a random one. */
static void write_labels(struct tv_twriter *w, const struct tv_volume_label *vol,
                         const struct tv_media_set_label *ms, const uint8_t *dek)
{
	struct tv_buf vb, mb, vh;

	tv_buf_init(&vb);
	tv_buf_init(&mb);
	tv_buf_init(&vh);
	assert_int_equal(tv_vol_label_encode(&vb, vol), 0);
	assert_int_equal(tv_ms_label_encode(&mb, ms), 0);
	assert_int_equal(tv_hdr_encode(&vh, TV_CT_VOLUME_LABEL, vol->tape_uuid, vb.d, vb.len), 0);
	assert_int_equal(tv_twriter_header_file(w, 0, TV_CT_VOLUME_LABEL, vol->tape_uuid, vb.d,
	                                        vb.len, NULL, NULL, 0), 0);
	assert_int_equal(tv_twriter_header_file(w, 1, TV_CT_MEDIA_SET_LABEL, CU_MS, mb.d,
	                                        mb.len, dek, vh.d, vh.len), 0);
	tv_buf_free(&vb);
	tv_buf_free(&mb);
	tv_buf_free(&vh);
}

static struct memtape *label_tape(const uint8_t *dek)
{
	struct tv_volume_label vol;
	struct tv_media_set_label ms;
	struct memtape *m = memtape_new();
	struct tv_twriter *w = open_writer(m, TAPE);
	struct tv_tape_labels l;

	sample_vol(&vol);
	sample_ms(&ms, dek != NULL);
	write_labels(w, &vol, &ms, dek);
	assert_int_equal(tv_twriter_close(w), 0);
	/* what tv_labels_read and tv_labels_verify make of it */
	assert_int_equal(tv_labels_read(&m->base, "FUZZ00L9", &l, 1), 0);
	assert_memory_equal(&l.vol, &vol, sizeof(vol));
	assert_memory_equal(&l.ms, &ms, sizeof(ms));
	assert_int_equal(l.ms_sealed, dek != NULL);
	if (dek != NULL)
		assert_int_equal(tv_labels_verify(&l, "FUZZ00L9", dek), 0);
	tv_labels_free(&l);
	m->pos = 0;
	return m;
}

static void test_label_seeds(void **state)
{
	struct tv_media_set_label ms;
	struct tv_catalog_header cat;
	struct tv_buf b, h;
	struct memtape *m;
	(void)state;

	tv_buf_init(&b);
	tv_buf_init(&h);
	sample_ms(&ms, 0);
	assert_int_equal(tv_ms_label_encode(&b, &ms), 0);
	assert_int_equal(tv_hdr_encode(&h, TV_CT_MEDIA_SET_LABEL, CU_MS, b.d, b.len), 0);
	seed(T_LAB, "media_set_label_plain", 0x00, h.d, h.len);
	tv_buf_reset(&b);
	tv_buf_reset(&h);
	sample_ms(&ms, 1);
	assert_int_equal(tv_ms_label_encode(&b, &ms), 0);
	assert_int_equal(tv_hdr_encode(&h, TV_CT_MEDIA_SET_LABEL, CU_MS, b.d, b.len), 0);
	seed(T_LAB, "media_set_label_encrypted", 0x00, h.d, h.len);
	seed(T_LAB, "media_set_label_body", 0x00, b.d, b.len);
	tv_buf_reset(&b);
	tv_buf_reset(&h);
	memset(&cat, 0, sizeof(cat));
	memcpy(cat.tape_uuid, TAPE, 16);
	tl_fill_seq(cat.media_set_uuid, 16, 0x40);
	cat.session = 1;
	assert_int_equal(tv_catalog_header_encode(&b, &cat), 0);
	assert_int_equal(tv_hdr_encode(&h, TV_CT_CATALOG, CU_CAT, b.d, b.len), 0);
	seed(T_LAB, "catalog_header", 0x00, h.d, h.len);

	m = label_tape(NULL);
	seed_tape(T_LAB, "tape_plain", 0x80, m);
	mt_truncate(m, 2);
	seed_tape(T_LAB, "tape_volume_only", 0x80, m);
	tv_tape_close(&m->base);
	m = label_tape(DEK);
	seed_tape(T_LAB, "tape_sealed", 0x80, m);
	m->it[2].data[100] ^= 0x01;   /* a damaged media set label: the target fixes CRCs */
	seed_tape(T_LAB, "tape_sealed_fixcrc", 0x81, m);
	tv_tape_close(&m->base);
	tv_buf_free(&b);
	tv_buf_free(&h);
}

/* ---- catalog item and entry seeds ---- */

static void catalog_items(struct tv_buf *b)
{
	struct tv_cat_item_v *v = calloc(1, sizeof(*v));
	uint64_t count = 0;

	v->type = TV_CI_TAPE;
	memcpy(v->u.tape.tape_uuid, TAPE, 16);
	strcpy(v->u.tape.barcode, "FUZZ00L9");
	v->u.tape.seq = 1;
	strcpy(v->u.tape.pool_name, "offsite");
	tl_fill_seq(v->u.tape.pool_uuid, 16, 0x20);
	tl_fill_seq(v->u.tape.media_set_uuid, 16, 0x40);
	tl_fill_seq(v->u.tape.dek_fpr, 16, 0x50);
	v->u.tape.record_size = RS;
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	count++;
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_SET;
	tl_fill_seq(v->u.set.set_uuid, 16, 0x50);
	strcpy(v->u.set.name, "nightly");
	v->u.set.created = 1710343552;
	v->u.set.first_seq = 1;
	v->u.set.last_seq = 1;
	v->u.set.complete = 1;
	v->u.set.nfiles = 2;
	v->u.set.nbytes = 9;
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	count++;
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_DATA;
	v->u.data.tseq = 1;
	v->u.data.file_no = 2;
	memcpy(v->u.data.content_uuid, CU_DATA, 16);
	v->u.data.raw_bytes = 100;
	v->u.data.stored_bytes = 156;
	v->u.data.complete = 1;
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	count++;
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_ENTRY;
	example_entry(&v->u.entry.e);
	v->u.entry.loc.tseq = 1;
	v->u.entry.loc.file_no = 2;
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	count++;
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_ENTRY;
	strcpy(v->u.entry.e.path, "etc/localtime");
	v->u.entry.e.ftype = TV_FT_SYMLINK;
	v->u.entry.e.mode = 0777;
	strcpy(v->u.entry.e.link, "/usr/share/zoneinfo/UTC");
	v->u.entry.e.file_index = 1;
	v->u.entry.e.part = 1;
	v->u.entry.loc.tseq = 1;
	v->u.entry.loc.file_no = 2;
	v->u.entry.loc.entry_off = 91;
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	count++;
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_KEYRING;
	tl_fill_seq(v->u.ring.tape_uuid, 16, 0x11);
	tl_fill_seq(v->u.ring.dek_fpr, 16, 0x51);
	tl_fill_seq(v->u.ring.dek, 32, 0x90);
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	count++;
	/* an item of a type from the future: skipped, counted */
	assert_int_equal(tv_buf_put(b, "\x07\x00\x00\x00\x06\x00\x01\x00\x00\x00\x00", 11), 0);
	count++;
	memset(v, 0, sizeof(*v));
	v->type = TV_CI_END;
	v->u.end_count = count;
	assert_int_equal(tv_cat_item_encode(b, v), 0);
	free(v);
}

/* A data file's byte stream: a regular file, a directory, a symbolic
 * link, a hard link to the first file, the second part of a job-encrypted
 * file. */
static void data_stream(struct tv_buf *b)
{
	struct tv_entry *e = malloc(sizeof(*e));
	uint8_t data[300];

	tl_fill_seq(data, sizeof(data), 0x30);
	example_entry(e);
	assert_int_equal(tv_entry_encode(b, e), 0);
	assert_int_equal(tv_buf_put(b, "tapevault", 9), 0);
	memset(e, 0, sizeof(*e));
	strcpy(e->path, "srv");
	e->ftype = TV_FT_DIR;
	e->mode = 0755;
	e->file_index = 1;
	e->part = 1;
	assert_int_equal(tv_entry_encode(b, e), 0);
	strcpy(e->path, "srv/link");
	e->ftype = TV_FT_SYMLINK;
	e->mode = 0777;
	strcpy(e->link, "../etc/motd");
	e->file_index = 2;
	assert_int_equal(tv_entry_encode(b, e), 0);
	strcpy(e->path, "srv/motd");
	e->ftype = TV_FT_HARDLINK;
	e->mode = 0644;
	strcpy(e->link, "etc/motd");
	e->size = 9;
	e->file_index = 3;
	assert_int_equal(tv_entry_encode(b, e), 0);
	memset(e, 0, sizeof(*e));
	strcpy(e->path, "srv/backups/vm-100.tvb");
	e->ftype = TV_FT_REG;
	e->mode = 0600;
	e->uid = 1000;
	e->gid = 1000;
	e->mtime_sec = 1710343552;
	e->mtime_nsec = 123456789;
	e->size = 500;
	e->offset = 200;
	e->length = 300;
	e->flags = TV_EF_INNER_ENCRYPTED;
	e->file_index = 4;
	e->part = 2;
	assert_int_equal(tv_entry_encode(b, e), 0);
	assert_int_equal(tv_buf_put(b, data, sizeof(data)), 0);
	free(e);
}

static void test_catitem_seeds(void **state)
{
	struct tv_buf b;
	(void)state;

	tv_buf_init(&b);
	catalog_items(&b);
	seed(T_CAT, "catalog_stream", -1, b.d, b.len);
	tv_buf_reset(&b);
	data_stream(&b);
	seed(T_CAT, "data_stream", -1, b.d, b.len);
	tv_buf_free(&b);
}

/* ---- record and frame seeds beyond the examples ---- */

static void check_zstd_frame(const uint8_t *p, size_t n, const uint8_t *key)
{
	struct tv_fcodec c;
	struct tv_frame_hdr h;
	uint8_t raw[4000], *st, *out;
	const uint8_t *got;

	memset(raw, 'z', sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i += 50)
		memcpy(raw + i, "tapevault ", 10);
	assert_true(n >= TV_FRAME_HDR);
	assert_int_equal(tv_frame_hdr_decode(p, &h), 0);
	assert_int_equal(h.method, TV_COMP_ZSTD);
	assert_int_equal(h.raw_len, sizeof(raw));
	assert_int_equal(n, TV_FRAME_HDR + h.stored_len);
	assert_int_equal(tv_fcodec_init(&c), 0);
	st = malloc(h.stored_len);
	out = malloc(h.raw_len);
	memcpy(st, p + TV_FRAME_HDR, h.stored_len);
	assert_int_equal(tv_frame_open(&c, key, TAPE, &h, p, st, out, &got), 0);
	assert_memory_equal(got, raw, sizeof(raw));
	tv_fcodec_free(&c);
	free(st);
	free(out);
}

static void check_zstd_plain(const uint8_t *p, size_t n) { check_zstd_frame(p, n, NULL); }

static void check_zstd_sealed(const uint8_t *p, size_t n)
{
	struct tv_fcodec c;
	uint8_t k[32];
	assert_int_equal(tv_fcodec_init(&c), 0);
	assert_int_equal(tv_file_key(&c, k, DEK, CU_DATA), 0);
	tv_fcodec_free(&c);
	check_zstd_frame(p, n, k);
}

static void test_record_seeds(void **state)
{
	struct tv_compression comp = { TV_COMP_ZSTD, 3 };
	struct tv_fcodec c;
	struct tv_frame_hdr h;
	uint8_t raw[4000], hdr[TV_FRAME_HDR], k[32], *out;
	const uint8_t *stored;
	struct tv_buf b;
	(void)state;

	memset(raw, 'z', sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i += 50)
		memcpy(raw + i, "tapevault ", 10);
	assert_int_equal(tv_fcodec_init(&c), 0);
	assert_int_equal(tv_file_key(&c, k, DEK, CU_DATA), 0);
	out = malloc(tv_frame_stored_bound(sizeof(raw)));
	tv_buf_init(&b);
	for (int sealed = 0; sealed < 2; sealed++) {
		memset(&h, 0, sizeof(h));
		memset(hdr, 0, sizeof(hdr));
		h.flags = TV_FF_LAST;
		h.first_entry = TV_NO_OFFSET;
		h.index = 7;
		memcpy(h.content_uuid, CU_DATA, 16);
		assert_int_equal(tv_frame_seal(&c, &comp, sealed ? k : NULL, TAPE, &h, raw,
		                               sizeof(raw), hdr, out,
		                               tv_frame_stored_bound(sizeof(raw)), &stored), 0);
		assert_int_equal(h.method, TV_COMP_ZSTD);
		tv_buf_reset(&b);
		assert_int_equal(tv_buf_put(&b, hdr, sizeof(hdr)), 0);
		assert_int_equal(tv_buf_put(&b, stored, h.stored_len), 0);
		if (sealed)
			seed_zstd(T_REC, "frame_zstd_sealed", 0x09, b.d, b.len, check_zstd_sealed);
		else
			seed_zstd(T_REC, "frame_zstd_plain", 0x01, b.d, b.len, check_zstd_plain);
	}
	/* seal-and-tamper inputs: flags, flip position, XOR mask, raw bytes */
	tv_buf_reset(&b);
	assert_int_equal(tv_buf_put(&b, "\x01\x00\x05\x01", 4), 0);
	assert_int_equal(tv_buf_put(&b, raw, 200), 0);
	seed(T_REC, "tamper_plain", 0x02, b.d, b.len);
	seed(T_REC, "tamper_sealed", 0x0a, b.d, b.len);
	tv_buf_reset(&b);
	assert_int_equal(tv_buf_put(&b, "\x03\x00\x30\x80", 4), 0);
	assert_int_equal(tv_buf_put(&b, raw, sizeof(raw)), 0);
	seed(T_REC, "tamper_zstd_sealed", 0x1a, b.d, b.len);
	free(out);
	tv_buf_free(&b);
	tv_fcodec_free(&c);
}

/* ---- stream seeds ---- */

/* A whole small tape: labels, a data file, a catalog file. */
static struct memtape *stream_tape(const uint8_t *dek)
{
	struct tv_volume_label vol;
	struct tv_media_set_label ms;
	struct tv_catalog_header cat;
	struct memtape *m = memtape_new();
	struct tv_twriter *w = open_writer(m, TAPE);
	struct tv_buf b, h;
	uint64_t fi;
	uint32_t eo;

	tv_buf_init(&b);
	tv_buf_init(&h);
	sample_vol(&vol);
	sample_ms(&ms, dek != NULL);
	write_labels(w, &vol, &ms, dek);
	example_data_header(&h);
	assert_int_equal(tv_twriter_begin_file(w, 2, TV_CT_DATA, CU_DATA, h.d, h.len, dek), 0);
	data_stream(&b);
	{
		/* entry by entry, as the write job does: a mark at each header */
		size_t pos = 0;
		while (pos < b.len) {
			struct tv_entry *e = malloc(sizeof(*e));
			size_t used;
			assert_int_equal(tv_entry_decode(b.d + pos, b.len - pos, e, &used, NULL), 0);
			assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
			assert_int_equal(tv_twriter_write(w, b.d + pos, used + e->length), 0);
			pos += used + e->length;
			free(e);
		}
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	tv_buf_reset(&h);
	memset(&cat, 0, sizeof(cat));
	memcpy(cat.tape_uuid, TAPE, 16);
	tl_fill_seq(cat.media_set_uuid, 16, 0x40);
	cat.session = 1;
	assert_int_equal(tv_catalog_header_encode(&h, &cat), 0);
	assert_int_equal(tv_twriter_begin_file(w, 3, TV_CT_CATALOG, CU_CAT, h.d, h.len, dek), 0);
	tv_buf_reset(&b);
	catalog_items(&b);
	{
		size_t pos = 0;
		while (pos < b.len) {
			size_t n = 5 + tv_get_be32(b.d + pos + 1);
			assert_int_equal(tv_twriter_mark(w, &fi, &eo), 0);
			assert_int_equal(tv_twriter_write(w, b.d + pos, n), 0);
			pos += n;
		}
	}
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	tv_buf_free(&b);
	tv_buf_free(&h);
	m->pos = 0;
	return m;
}

/* A writer-mode input: damage descriptors, repeat count, stream. */
static void writer_seed(const char *name, int mode, unsigned repeat, const uint8_t *damage,
                        size_t ndamage, const struct tv_buf *stream)
{
	struct tv_buf b;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_put_u8(&b, (uint8_t)ndamage), 0);
	assert_int_equal(tv_buf_put_u8(&b, (uint8_t)(repeat - 1)), 0);
	if (ndamage > 0)
		assert_int_equal(tv_buf_put(&b, damage, 6 * ndamage), 0);
	assert_int_equal(tv_buf_put(&b, stream->d, stream->len), 0);
	seed(T_STR, name, mode, b.d, b.len);
	tv_buf_free(&b);
}

static void test_stream_seeds(void **state)
{
	/* record 1 of file 0, byte 500, and record 2, byte 40000 (CRC fixed) */
	static const uint8_t dmg[] = { 0, 1, 0x01, 0xf4, 0x10, 0, 0, 2, 0x9c, 0x40, 0x01, 0 };
	struct memtape *m;
	struct tv_buf s;
	(void)state;

	m = stream_tape(NULL);
	seed_tape(T_STR, "image_plain", 0x00, m);
	tv_tape_close(&m->base);
	m = stream_tape(DEK);
	seed_tape(T_STR, "image_sealed", 0x03, m);
	seed_tape(T_STR, "image_crc_only", 0x02, m);
	/* a byte of the data file's frame changed, CRCs fixed by the target */
	m->it[mt_find(m, 2, 1)].data[TV_REC_HDR + TV_FRAME_HDR + 20] ^= 0x01;
	seed_tape(T_STR, "image_sealed_fixcrc", 0x07, m);
	tv_tape_close(&m->base);

	tv_buf_init(&s);
	data_stream(&s);
	writer_seed("writer_data_plain", 0x80, 200, NULL, 0, &s);
	writer_seed("writer_data_sealed_zstd", 0x80 | 0x40 | 0x04 | 1, 64, NULL, 0, &s);
	writer_seed("writer_data_damaged", 0x80 | 0x20 | 0x00, 200, dmg, 2, &s);
	writer_seed("writer_data_cont", 0x80 | 0x40 | 0x10 | 3, 1, NULL, 0, &s);
	s.len -= 100;   /* the last entry's data cut short */
	writer_seed("writer_data_cut", 0x80 | 0x10, 1, NULL, 0, &s);
	tv_buf_reset(&s);
	catalog_items(&s);
	writer_seed("writer_catalog_sealed", 0x80 | 0x40 | 0x08 | 3, 200, NULL, 0, &s);
	writer_seed("writer_catalog_damaged", 0x80 | 0x40 | 0x20 | 0x08 | 1, 200, dmg, 2, &s);
	tv_buf_free(&s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_volume_label_record, setup),
		cmocka_unit_test_setup(test_plain_data_record, setup),
		cmocka_unit_test_setup(test_sealed_data_file, setup),
		cmocka_unit_test_setup(test_slot_aad, setup),
		cmocka_unit_test_setup(test_ms_label_sealed, setup),
		cmocka_unit_test_setup(test_label_seeds, setup),
		cmocka_unit_test_setup(test_catitem_seeds, setup),
		cmocka_unit_test_setup(test_record_seeds, setup),
		cmocka_unit_test_setup(test_stream_seeds, setup),
	};
	const char *w = getenv("TV_FORMAT_WRITE_SEEDS"), *p = getenv("TV_PRINT_VECTORS");

	writing = w != NULL && strcmp(w, "1") == 0;
	printing = p != NULL && strcmp(p, "1") == 0;
	return tl_run(argc, argv, tests, NULL, NULL);
}
