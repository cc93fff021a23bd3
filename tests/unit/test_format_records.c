/* tapevault: records, frames and the content header tag (format v2,
 * src/format/record.h): header layouts byte by byte, hostile headers,
 * CRC32C, the HKDF file key, sealing and opening frames (stored, zstd,
 * AES-256-GCM), the tag of a sealed record 0, decompression of hostile
 * data, and tampering: every header byte flipped must be detected.
 *
 * The cryptography is checked against an independent implementation of
 * record.h written here with plain OpenSSL calls (HMAC for HKDF, EVP
 * AES-256-GCM), and zstd frames against libzstd's one-shot API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zstd.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

#define RS TV_RECORD_SIZE_MIN

static uint8_t dek[32], dek2[32], tape[16], tape2[16], content[16];

static void fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i * 13);
}

/* compressible text */
static void text(uint8_t *p, size_t n)
{
	static const char w[] = "tapevault frames records keys slots ";
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)w[(i * 7 / 5) % (sizeof(w) - 1)];
}

static int setup(void **state)
{
	(void)state;
	fill(dek, 32, 0x01);
	fill(dek2, 32, 0x02);
	fill(tape, 16, 0x40);
	fill(tape2, 16, 0x41);
	fill(content, 16, 0x80);
	return 0;
}

/* ---- an independent implementation of record.h's cryptography ---- */

/* HKDF-SHA256 (RFC 5869) with HMAC only, one output block. */
static void ref_hkdf(uint8_t out[32], const uint8_t ikm[32], const uint8_t salt[16],
                     const char *info)
{
	uint8_t prk[32], t[64];
	unsigned l = 0;
	size_t il = strlen(info);

	assert_non_null(HMAC(EVP_sha256(), salt, 16, ikm, 32, prk, &l));
	memcpy(t, info, il);
	t[il] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, 32, t, il + 1, out, &l));
}

static void ref_file_key(uint8_t out[32], const uint8_t *k, const uint8_t *cu)
{
	ref_hkdf(out, k, cu, "tapevault v2 file key");
}

/* AES-256-GCM: enc 1 writes out and tag, enc 0 checks tag (returns 0 on
 * mismatch). */
static int ref_gcm(int enc, const uint8_t key[32], const uint8_t nonce[12],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t n,
                   uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t fin[16];
	int l = 0, ok;

	ok = x != NULL && EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(x, NULL, &l, aad, (int)aad_len) == 1 &&
	     (n == 0 || EVP_CipherUpdate(x, out, &l, in, (int)n) == 1);
	if (ok && enc)
		ok = EVP_CipherFinal_ex(x, fin, &l) == 1 &&
		     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
		     EVP_CipherFinal_ex(x, fin, &l) == 1;
	EVP_CIPHER_CTX_free(x);
	return ok;
}

static void nonce_of(uint8_t n[12], uint32_t domain, uint64_t v)
{
	tv_put_be32(n, domain);
	tv_put_be64(n + 4, v);
}

/* ---- record header ---- */

static void make_record(uint8_t *rec, const struct tv_rec_hdr *h, size_t n_payload,
                        uint8_t pstart)
{
	fill(rec + TV_REC_HDR, n_payload, pstart);
	tv_rec_hdr_encode(rec, h);
	tv_put_be32(rec + 28, tv_rec_crc(rec, n_payload));
}

/* What a reader checks of one record by itself: header, then CRC. */
static int check_record(const uint8_t *rec, size_t n)
{
	struct tv_rec_hdr h;
	int rc = tv_rec_hdr_decode(rec, n, &h);
	if (rc != 0)
		return rc;
	return tv_rec_crc(rec, n - TV_REC_HDR) == h.crc ? 0 : TV_ERR_CRC;
}

static void test_rec_hdr_layout(void **state)
{
	struct tv_rec_hdr h = { .flags = TV_RF_END | TV_RF_CONT, .payload_len = 100,
	                        .file_no = 0x01020304, .seq = 0x0506070809101112ull,
	                        .first_frame = 42 }, d;
	uint8_t rec[TV_REC_HDR + 100];
	uint32_t crc;
	(void)state;

	make_record(rec, &h, 100, 7);
	assert_memory_equal(rec, "TVR2\x03\x00\x00\x00\x00\x00\x00\x64\x01\x02\x03\x04"
	                    "\x05\x06\x07\x08\x09\x10\x11\x12\x00\x00\x00\x2a", 28);
	/* CRC32C of bytes 0..27, then the payload (the CRC field itself is not
	 * covered) */
	crc = tv_crc32c(tv_crc32c(0, rec, 28), rec + 32, 100);
	assert_int_equal(tv_get_be32(rec + 28), crc);
	assert_int_equal(tv_rec_crc(rec, 100), crc);
	assert_int_equal(tv_rec_hdr_decode(rec, sizeof(rec), &d), 0);
	assert_int_equal(d.flags, h.flags);
	assert_int_equal(d.payload_len, 100);
	assert_int_equal(d.file_no, h.file_no);
	assert_true(d.seq == h.seq);
	assert_int_equal(d.first_frame, 42);
	assert_int_equal(d.crc, crc);
	/* the CRC test vector of crc32c.h, so the checksum is the Castagnoli one */
	assert_int_equal(tv_crc32c(0, "123456789", 9), 0xE3069283u);
}

/* Re-encodes rec's header after an edit and fixes its CRC. */
static int edited(uint8_t *rec, size_t n, size_t off, uint8_t v)
{
	rec[off] = v;
	tv_put_be32(rec + 28, tv_rec_crc(rec, n - TV_REC_HDR));
	return check_record(rec, n);
}

static void test_rec_hdr_hostile(void **state)
{
	struct tv_rec_hdr h = { .flags = 0, .payload_len = 64, .file_no = 3, .seq = 2,
	                        .first_frame = 10 }, d;
	uint8_t rec[TV_REC_HDR + 64], c[sizeof(rec)];
	(void)state;

	make_record(rec, &h, 64, 1);
	assert_int_equal(check_record(rec, sizeof(rec)), 0);
	/* shorter than a header, any length */
	for (size_t n = 0; n < TV_REC_HDR; n++)
		assert_int_equal(tv_rec_hdr_decode(rec, n, &d), TV_ERR_FORMAT);
	/* the payload length must match what the record carries, both ways */
	for (size_t n = TV_REC_HDR; n < sizeof(rec); n++)
		assert_int_equal(tv_rec_hdr_decode(rec, n, &d), TV_ERR_FORMAT);
	/* another format version: unsupported, named */
	memcpy(c, rec, sizeof(c));
	assert_int_equal(edited(c, sizeof(c), 3, '1'), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "version 1"));
	memcpy(c, rec, sizeof(c));
	assert_int_equal(edited(c, sizeof(c), 0, 'X'), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "not a tapevault record"));
	/* unknown flags, reserved bytes */
	for (int bit = 3; bit < 8; bit++) {
		memcpy(c, rec, sizeof(c));
		assert_int_equal(edited(c, sizeof(c), 4, (uint8_t)(1u << bit)), TV_ERR_FORMAT);
	}
	for (size_t off = 5; off < 8; off++) {
		memcpy(c, rec, sizeof(c));
		assert_int_equal(edited(c, sizeof(c), off, 0x01), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "reserved"));
	}
	/* CONT without END; SEALED on a data record */
	memcpy(c, rec, sizeof(c));
	assert_int_equal(edited(c, sizeof(c), 4, TV_RF_CONT), TV_ERR_FORMAT);
	assert_int_equal(edited(c, sizeof(c), 4, TV_RF_CONT | TV_RF_END), 0);
	assert_int_equal(edited(c, sizeof(c), 4, TV_RF_SEALED), TV_ERR_FORMAT);
	/* first frame offset: inside the payload or "none" */
	h.first_frame = 63;
	make_record(c, &h, 64, 1);
	assert_int_equal(check_record(c, sizeof(c)), 0);
	h.first_frame = 64;
	make_record(c, &h, 64, 1);
	assert_int_equal(check_record(c, sizeof(c)), TV_ERR_FORMAT);
	h.first_frame = TV_NO_OFFSET;
	make_record(c, &h, 64, 1);
	assert_int_equal(check_record(c, sizeof(c)), 0);
	/* record 0: first frame 0, even when empty; SEALED allowed */
	h.seq = 0;
	h.first_frame = 0;
	h.flags = TV_RF_SEALED | TV_RF_END;
	make_record(c, &h, 64, 1);
	assert_int_equal(check_record(c, sizeof(c)), 0);
	h.payload_len = 0;
	make_record(c, &h, 0, 1);
	assert_int_equal(check_record(c, TV_REC_HDR), 0);
	h.payload_len = 64;
	h.first_frame = 5;
	make_record(c, &h, 64, 1);
	assert_int_equal(check_record(c, sizeof(c)), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "content header record"));
	h.first_frame = TV_NO_OFFSET;
	make_record(c, &h, 64, 1);
	assert_int_equal(check_record(c, sizeof(c)), TV_ERR_FORMAT);
}

/* Every bit of every header byte, and every payload byte, flipped: the
 * record is refused (magic and structure by the decoder, the rest by the
 * CRC). */
static void test_rec_every_byte(void **state)
{
	struct tv_rec_hdr h = { .flags = TV_RF_END, .payload_len = 200, .file_no = 2,
	                        .seq = 1, .first_frame = 0 };
	uint8_t rec[TV_REC_HDR + 200], c[sizeof(rec)];
	(void)state;

	make_record(rec, &h, 200, 9);
	for (size_t i = 0; i < TV_REC_HDR; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;
			memcpy(c, rec, sizeof(c));
			c[i] ^= (uint8_t)(1u << bit);
			rc = check_record(c, sizeof(c));
			if (rc == 0)
				fail_msg("record header byte %zu bit %d flipped: accepted", i, bit);
			if (i >= 8 && i < 12)
				assert_int_equal(rc, TV_ERR_FORMAT);   /* length vs. record */
		}
	}
	for (size_t i = TV_REC_HDR; i < sizeof(rec); i++) {
		memcpy(c, rec, sizeof(c));
		c[i] ^= 0x10;
		assert_int_equal(check_record(c, sizeof(c)), TV_ERR_CRC);
	}
}

/* ---- frame header ---- */

static void sample_fh(struct tv_frame_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->method = TV_COMP_STORED;
	h->flags = TV_FF_LAST;
	h->stored_len = 1000;
	h->raw_len = 1000;
	h->first_entry = 17;
	h->crc = 0xcafebabe;
	h->index = 0x0102030405060708ull;
	memcpy(h->content_uuid, content, 16);
}

/* record.h ("Frame = 48-byte header + stored bytes", since 685794b) and
 * docs/FORMAT.md section 7 (stored bytes at offset 48; AAD = tape UUID ||
 * the 48-byte header): the content UUID at 32..47, then the stored bytes.
 * Fails while TV_FRAME_HDR is 56 (record.h): tv_frame_hdr_encode writes 48
 * bytes of a 56-byte header, so every frame on tape carries 8 bytes that
 * no encoder writes, no decoder checks and the spec does not have, and its
 * stored bytes begin 8 bytes after where a reader of the spec looks. */
static void test_frame_hdr_layout(void **state)
{
	struct tv_frame_hdr h, d;
	uint8_t p[TV_FRAME_HDR + 8];
	char problems[512] = "";
	size_t unwritten = 0;
	(void)state;

	sample_fh(&h);
	memset(p, 0xee, sizeof(p));
	tv_frame_hdr_encode(p, &h);
	assert_memory_equal(p, "TVF2\x00\x01\x00\x00\x00\x00\x03\xe8\x00\x00\x03\xe8"
	                    "\x00\x00\x00\x11\xca\xfe\xba\xbe"
	                    "\x01\x02\x03\x04\x05\x06\x07\x08", 32);
	assert_memory_equal(p + 32, content, 16);
	assert_int_equal(tv_frame_hdr_decode(p, &d), 0);
	assert_true(d.index == h.index);
	assert_memory_equal(d.content_uuid, content, 16);
	for (size_t i = 0; i < TV_FRAME_HDR; i++)
		unwritten += p[i] == 0xee;
	if (TV_FRAME_HDR != 48)
		snprintf(problems + strlen(problems), sizeof(problems) - strlen(problems),
		         "TV_FRAME_HDR is %d, the documented header 48 bytes; ",
		         (int)TV_FRAME_HDR);
	if (unwritten > 0)
		snprintf(problems + strlen(problems), sizeof(problems) - strlen(problems),
		         "tv_frame_hdr_encode leaves %zu of the header's bytes unwritten; ",
		         unwritten);
	/* on tape: a record holding one plaintext stored frame has the raw
	 * bytes right after the 48-byte header */
	{
		struct tv_twriter_opts o = { .record_size = RS, .workers = 1 };
		struct memtape *m = memtape_new();
		struct tv_twriter *w;
		const uint8_t *rec;
		assert_int_equal(tv_twriter_open(&w, &m->base, "T1", tape, &o), 0);
		assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_DATA, content, NULL, 0, NULL),
		                 0);
		assert_int_equal(tv_twriter_write(w, "0123456789", 10), 0);
		assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
		assert_int_equal(tv_twriter_close(w), 0);
		rec = m->it[1].data;
		assert_int_equal(tv_get_be32(rec + TV_REC_HDR + 12), 10);   /* U */
		if (m->it[1].len != TV_REC_HDR + 48 + 10 ||
		    memcmp(rec + TV_REC_HDR + 48, "0123456789", 10) != 0)
			snprintf(problems + strlen(problems), sizeof(problems) - strlen(problems),
			         "a record with one 10-byte stored frame is %zu bytes (not %d), "
			         "its stored bytes not at header offset 48; ", m->it[1].len,
			         TV_REC_HDR + 48 + 10);
		tv_tape_close(&m->base);
	}
	if (problems[0] != '\0')
		fail_msg("frame header: %s", problems);
}

/* Encodes h, edits one field, decodes. */
static int fh_decode(const struct tv_frame_hdr *h)
{
	uint8_t p[TV_FRAME_HDR] = { 0 };
	struct tv_frame_hdr d;

	tv_frame_hdr_encode(p, h);
	return tv_frame_hdr_decode(p, &d);
}

static void test_frame_hdr_hostile(void **state)
{
	struct tv_frame_hdr h, d;
	uint8_t p[TV_FRAME_HDR] = { 0 };
	(void)state;

	sample_fh(&h);
	assert_int_equal(fh_decode(&h), 0);
	tv_frame_hdr_encode(p, &h);
	assert_int_equal(tv_frame_hdr_decode(p, &d), 0);
	assert_int_equal(d.method, h.method);
	assert_int_equal(d.flags, h.flags);
	assert_int_equal(d.stored_len, h.stored_len);
	assert_int_equal(d.raw_len, h.raw_len);
	assert_int_equal(d.first_entry, h.first_entry);
	assert_int_equal(d.crc, h.crc);
	assert_true(d.index == h.index);
	/* magic: not a frame, or a frame of another version */
	p[3] = '1';
	assert_int_equal(tv_frame_hdr_decode(p, &d), TV_ERR_FORMAT);
	p[3] = '2';
	p[6] = 1;
	assert_int_equal(tv_frame_hdr_decode(p, &d), TV_ERR_FORMAT);
	p[6] = 0;
	p[7] = 0x80;
	assert_int_equal(tv_frame_hdr_decode(p, &d), TV_ERR_FORMAT);
	/* an unknown method: a newer writer */
	sample_fh(&h);
	h.method = 2;
	assert_int_equal(fh_decode(&h), TV_ERR_UNSUPPORTED);
	assert_non_null(strstr(tv_errdetail(), "method 2"));
	/* flags */
	for (int bit = 3; bit < 8; bit++) {
		sample_fh(&h);
		h.flags = (uint8_t)(1u << bit);
		assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	}
	sample_fh(&h);
	h.flags = TV_FF_CONT;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	h.flags = TV_FF_CONT | TV_FF_LAST;
	assert_int_equal(fh_decode(&h), 0);
	/* lengths */
	sample_fh(&h);
	h.raw_len = h.stored_len = TV_FRAME_RAW_MAX;
	h.first_entry = TV_NO_OFFSET;
	assert_int_equal(fh_decode(&h), 0);
	h.raw_len = h.stored_len = TV_FRAME_RAW_MAX + 1;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	sample_fh(&h);
	h.method = TV_COMP_ZSTD;
	h.stored_len = (uint32_t)tv_frame_stored_bound(TV_FRAME_RAW_MAX);
	assert_int_equal(fh_decode(&h), 0);
	h.stored_len++;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	h.stored_len = UINT32_MAX;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	/* a stored frame: stored bytes = raw bytes (+ the tag when sealed) */
	sample_fh(&h);
	h.stored_len = 999;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	h.stored_len = 1016;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	h.flags |= TV_FF_SEALED;
	h.crc = 0;
	assert_int_equal(fh_decode(&h), 0);
	h.stored_len = 1000;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	/* sealed: no raw checksum, room for the tag */
	h.stored_len = 1016;
	h.crc = 1;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	sample_fh(&h);
	h.method = TV_COMP_ZSTD;
	h.flags = TV_FF_SEALED;
	h.crc = 0;
	h.stored_len = 15;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	h.stored_len = 16;
	assert_int_equal(fh_decode(&h), 0);
	/* first entry inside the raw bytes, or none */
	sample_fh(&h);
	h.first_entry = 999;
	assert_int_equal(fh_decode(&h), 0);
	h.first_entry = 1000;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
	h.first_entry = TV_NO_OFFSET;
	assert_int_equal(fh_decode(&h), 0);
	h.raw_len = h.stored_len = 0;
	assert_int_equal(fh_decode(&h), 0);
	h.first_entry = 0;
	assert_int_equal(fh_decode(&h), TV_ERR_FORMAT);
}

/* ---- file key, sealing, opening ---- */

static void test_file_key(void **state)
{
	struct tv_fcodec c;
	uint8_t k[32], k2[32], want[32], cu2[16];
	(void)state;

	assert_int_equal(tv_fcodec_init(&c), 0);
	assert_int_equal(tv_file_key(&c, k, dek, content), 0);
	ref_file_key(want, dek, content);
	assert_memory_equal(k, want, 32);
	/* another tape file (content UUID), another DEK: another key */
	memcpy(cu2, content, 16);
	cu2[15] ^= 1;
	assert_int_equal(tv_file_key(&c, k2, dek, cu2), 0);
	assert_memory_not_equal(k, k2, 32);
	assert_int_equal(tv_file_key(&c, k2, dek2, content), 0);
	assert_memory_not_equal(k, k2, 32);
	tv_fcodec_free(&c);
}

struct sealed {
	struct tv_frame_hdr h;
	uint8_t hdr[TV_FRAME_HDR];
	uint8_t *out;          /* tv_frame_stored_bound(n) bytes */
	const uint8_t *stored;
};

static int seal(struct tv_fcodec *c, int zstd, const uint8_t *key, const uint8_t *raw,
                size_t n, uint8_t flags, uint64_t index, struct sealed *s)
{
	struct tv_compression comp = { zstd ? TV_COMP_ZSTD : TV_COMP_STORED, 3 };
	size_t cap = tv_frame_stored_bound(n);

	memset(&s->h, 0, sizeof(s->h));
	memset(s->hdr, 0, sizeof(s->hdr));
	s->h.flags = flags;
	s->h.first_entry = n > 0 ? 0 : TV_NO_OFFSET;
	s->h.index = index;
	memcpy(s->h.content_uuid, content, 16);
	s->out = malloc(cap);
	assert_non_null(s->out);
	return tv_frame_seal(c, &comp, key, tape, &s->h, raw, n, s->hdr, s->out, cap,
	                     &s->stored);
}

/* Opens a copy of s's stored bytes under header hdr (which may claim
 * other lengths than s->h: the bytes it claims beyond s's are zeros, as if
 * read from tape), into an out buffer of exactly the raw length hdr gives,
 * so that ASan sees any write past it.  *got is malloc'd. */
static int open_copy(struct tv_fcodec *c, const uint8_t *key, const uint8_t *tuuid,
                     const struct sealed *s, const uint8_t *hdr, uint8_t **got,
                     size_t *n, uint8_t **stored_after)
{
	struct tv_frame_hdr h;
	uint8_t *st = NULL, *out = NULL;
	const uint8_t *raw = NULL;
	int rc;

	*got = NULL;
	*n = 0;
	if (stored_after != NULL)
		*stored_after = NULL;
	rc = tv_frame_hdr_decode(hdr, &h);
	if (rc != 0)
		return rc;
	st = calloc(1, h.stored_len ? h.stored_len : 1);
	out = malloc(h.raw_len ? h.raw_len : 1);
	assert_non_null(st);
	assert_non_null(out);
	memcpy(st, s->stored, h.stored_len < s->h.stored_len ? h.stored_len
	       : s->h.stored_len);
	rc = tv_frame_open(c, key, tuuid, &h, hdr, st, out, &raw);
	if (rc == 0) {
		assert_non_null(raw);
		assert_true(raw == st || raw == out);
		*n = h.raw_len;
		*got = malloc(*n + 1);
		memcpy(*got, raw, *n);
	} else {
		assert_null(raw);
	}
	if (stored_after != NULL)
		*stored_after = st;
	else
		free(st);
	free(out);
	return rc;
}

static void test_frame_plain(void **state)
{
	static const size_t sizes[] = { 0, 1, 100, 4096, 65536, TV_FRAME_RAW_MAX };
	struct tv_fcodec c;
	uint8_t *raw = malloc(TV_FRAME_RAW_MAX), *got;
	size_t n;
	(void)state;

	assert_int_equal(tv_fcodec_init(&c), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		for (int kind = 0; kind < 3; kind++) {   /* stored; zstd text; zstd noise */
			struct sealed s;
			if (kind == 1)
				text(raw, len);
			else
				tl_fill_random(raw, len, (uint32_t)(len + kind));
			assert_int_equal(seal(&c, kind > 0, NULL, raw, len,
			                      TV_FF_LAST | TV_FF_CONT | TV_FF_SEALED, 5, &s), 0);
			/* the header: SEALED is the sealer's to set, not the caller's */
			assert_int_equal(s.h.flags, TV_FF_LAST | TV_FF_CONT);
			assert_int_equal(s.h.raw_len, len);
			assert_int_equal(s.h.crc, tv_crc32c(0, raw, len));
			assert_memory_equal(s.hdr, "TVF2", 4);
			assert_int_equal(s.hdr[5], TV_FF_LAST | TV_FF_CONT);
			assert_int_equal(tv_get_be32(s.hdr + 8), s.h.stored_len);
			assert_int_equal(tv_get_be32(s.hdr + 12), len);
			assert_int_equal(tv_get_be32(s.hdr + 20), s.h.crc);
			assert_int_equal(tv_get_be64(s.hdr + 24), 5);
			if (s.h.method == TV_COMP_ZSTD) {
				size_t z;
				uint8_t *dz = malloc(len);
				assert_int_equal(kind, 1);
				assert_true(s.h.stored_len < len);
				/* a plain zstd frame that announces its size */
				assert_true(ZSTD_getFrameContentSize(s.stored, s.h.stored_len) == len);
				z = ZSTD_decompress(dz, len, s.stored, s.h.stored_len);
				assert_int_equal(z, len);
				assert_memory_equal(dz, raw, len);
				free(dz);
			} else {
				/* text compresses once there is enough of it; stored
				 * frames are kept as they are, in place: no copy */
				assert_false(kind == 1 && len >= 4096);
				assert_int_equal(s.h.method, TV_COMP_STORED);
				assert_int_equal(s.h.stored_len, len);
				assert_ptr_equal(s.stored, raw);
			}
			assert_int_equal(open_copy(&c, NULL, tape, &s, s.hdr, &got, &n, NULL), 0);
			assert_int_equal(n, len);
			assert_memory_equal(got, raw, len);
			free(got);
			/* a plaintext frame where the tape is encrypted: refused */
			assert_int_equal(open_copy(&c, dek, tape, &s, s.hdr, &got, &n, NULL),
			                 TV_ERR_FORMAT);
			assert_non_null(strstr(tv_errdetail(), "plaintext"));
			/* damaged data: the raw CRC (or zstd) says so */
			if (len > 0) {
				uint8_t *copy = malloc(s.h.stored_len);
				const uint8_t *keep = s.stored;
				int rc;
				memcpy(copy, s.stored, s.h.stored_len);
				copy[s.h.stored_len / 2] ^= 0x04;
				s.stored = copy;
				rc = open_copy(&c, NULL, tape, &s, s.hdr, &got, &n, NULL);
				if (s.h.method == TV_COMP_STORED)
					assert_int_equal(rc, TV_ERR_CRC);
				else
					assert_true(rc == TV_ERR_CRC || rc == TV_ERR_FORMAT);
				s.stored = keep;
				free(copy);
			}
			free(s.out);
		}
	}
	/* the raw CRC is checked for stored frames */
	{
		struct sealed s;
		fill(raw, 300, 1);
		assert_int_equal(seal(&c, 0, NULL, raw, 300, 0, 0, &s), 0);
		raw[10] ^= 1;
		assert_int_equal(open_copy(&c, NULL, tape, &s, s.hdr, &got, &n, NULL),
		                 TV_ERR_CRC);
		assert_non_null(strstr(tv_errdetail(), "frame 0"));
		free(s.out);
	}
	/* too large a frame, too small a buffer: the sealer refuses */
	{
		struct tv_frame_hdr h = { 0 };
		uint8_t hdr[TV_FRAME_HDR];
		const uint8_t *stp;
		uint8_t *big = malloc(tv_frame_stored_bound(TV_FRAME_RAW_MAX + 1));
		assert_int_equal(tv_frame_seal(&c, NULL, NULL, tape, &h, big,
		                               TV_FRAME_RAW_MAX + 1, hdr, big,
		                               tv_frame_stored_bound(TV_FRAME_RAW_MAX + 1),
		                               &stp), TV_ERR_INTERNAL);
		assert_int_equal(tv_frame_seal(&c, NULL, dek, tape, &h, raw, 100, hdr, big,
		                               tv_frame_stored_bound(100) - 1, &stp),
		                 TV_ERR_INTERNAL);
		free(big);
	}
	tv_fcodec_free(&c);
	free(raw);
}

/* Opens a sealed frame independently: the file key, the nonce, the AAD of
 * record.h; returns the compressed or raw bytes in out. */
static int ref_open_frame(const uint8_t *hdr, const uint8_t *stored, size_t stored_len,
                          const uint8_t *k, const uint8_t *tuuid, const uint8_t *cu,
                          uint8_t *out)
{
	uint8_t key[32], nonce[12], aad[16 + TV_FRAME_HDR], tag[16];

	ref_file_key(key, k, cu);
	nonce_of(nonce, 1, tv_get_be64(hdr + 24));
	memcpy(aad, tuuid, 16);
	memcpy(aad + 16, hdr, TV_FRAME_HDR);
	memcpy(tag, stored + stored_len - 16, 16);
	return ref_gcm(0, key, nonce, aad, sizeof(aad), stored, stored_len - 16, out, tag);
}

static void test_frame_sealed(void **state)
{
	static const size_t sizes[] = { 0, 1, 1000, 70000 };
	struct tv_fcodec c, c2;
	uint8_t *raw = malloc(70000), *got, *st, fkey[32];
	size_t n;
	(void)state;

	assert_int_equal(tv_fcodec_init(&c), 0);
	assert_int_equal(tv_fcodec_init(&c2), 0);
	assert_int_equal(tv_file_key(&c, fkey, dek, content), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		for (int kind = 0; kind < 3; kind++) {
			struct sealed s;
			uint8_t *plain;
			if (kind == 1)
				text(raw, len);
			else
				tl_fill_random(raw, len, (uint32_t)(3 * len + kind));
			assert_int_equal(seal(&c, kind > 0, fkey, raw, len, TV_FF_LAST,
			                      1000 + i, &s), 0);
			assert_int_equal(s.h.flags, TV_FF_LAST | TV_FF_SEALED);
			assert_int_equal(s.h.crc, 0);
			assert_int_equal(tv_get_be32(s.hdr + 20), 0);
			assert_ptr_equal(s.stored, s.out);
			if (kind == 1 && len >= 1000)
				assert_int_equal(s.h.method, TV_COMP_ZSTD);
			if (kind != 1)
				assert_int_equal(s.h.method, TV_COMP_STORED);
			if (s.h.method == TV_COMP_STORED) {
				assert_int_equal(s.h.stored_len, len + 16);
				if (len >= 16)
					assert_memory_not_equal(s.stored, raw, 16);
			}
			/* the independent implementation opens it */
			plain = malloc(s.h.stored_len);
			assert_true(ref_open_frame(s.hdr, s.stored, s.h.stored_len, dek, tape,
			                           content, plain));
			if (s.h.method == TV_COMP_STORED) {
				assert_memory_equal(plain, raw, len);
			} else {
				uint8_t *dz = malloc(len);
				assert_int_equal(ZSTD_decompress(dz, len, plain, s.h.stored_len - 16),
				                 len);
				assert_memory_equal(dz, raw, len);
				free(dz);
			}
			free(plain);
			/* and so does tv_frame_open, from another codec */
			assert_int_equal(open_copy(&c2, fkey, tape, &s, s.hdr, &got, &n, NULL), 0);
			assert_int_equal(n, len);
			assert_memory_equal(got, raw, len);
			free(got);
			/* no key: locked; another key, another tape: authentication
			 * fails and nothing unauthenticated is left in the buffer */
			assert_int_equal(open_copy(&c2, NULL, tape, &s, s.hdr, &got, &n, NULL),
			                 TV_ERR_LOCKED);
			assert_int_equal(open_copy(&c2, dek, tape, &s, s.hdr, &got, &n, &st),
			                 TV_ERR_AUTH);
			for (size_t k = 0; k + 16 < s.h.stored_len; k++)
				assert_int_equal(st[k], 0);
			free(st);
			assert_int_equal(open_copy(&c2, fkey, tape2, &s, s.hdr, &got, &n, NULL),
			                 TV_ERR_AUTH);
			assert_non_null(strstr(tv_errdetail(), "authentication failed"));
			/* every stored byte (data and tag) flipped */
			for (size_t k = 0; k < s.h.stored_len; k += (len > 1000 ? 97 : 1)) {
				struct sealed t = s;
				uint8_t *copy = malloc(s.h.stored_len);
				memcpy(copy, s.stored, s.h.stored_len);
				copy[k] ^= 0x01;
				t.stored = copy;
				assert_int_equal(open_copy(&c2, fkey, tape, &t, s.hdr, &got, &n, NULL),
				                 TV_ERR_AUTH);
				free(copy);
			}
			/* every header byte flipped (all are in the AAD): refused by
			 * the decoder or by the tag, never opened */
			for (size_t k = 0; k < TV_FRAME_HDR; k++) {
				for (int bit = 0; bit < 8; bit += 7) {
					uint8_t hdr[TV_FRAME_HDR];
					int rc;
					memcpy(hdr, s.hdr, sizeof(hdr));
					hdr[k] ^= (uint8_t)(1u << bit);
					rc = open_copy(&c2, fkey, tape, &s, hdr, &got, &n, NULL);
					if (rc == 0)
						fail_msg("sealed frame (%zu bytes, method %u): header byte "
						         "%zu bit %d flipped: opened", len,
						         (unsigned)s.h.method, k, bit);
				}
			}
			free(s.out);
		}
	}
	tv_fcodec_free(&c);
	tv_fcodec_free(&c2);
	free(raw);
}

/* zstd data that lies: decompression stays within the raw length the
 * header gives (out is exactly that big: ASan checks), whatever the data
 * claims, authenticated or not. */
static void test_frame_hostile_zstd(void **state)
{
	const size_t raw_len = 1000, bomb_len = 2u << 20;
	uint8_t *zeros = calloc(1, bomb_len), *z = malloc(2 * ZSTD_compressBound(bomb_len));
	uint8_t raw[1000], fkey[32], *got;
	struct tv_fcodec c;
	size_t zn, n;
	(void)state;

	assert_int_equal(tv_fcodec_init(&c), 0);
	assert_int_equal(tv_file_key(&c, fkey, dek, content), 0);
	text(raw, raw_len);
	for (int v = 0; v < 6; v++) {
		struct sealed s;
		uint8_t *buf;
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		size_t b;
		switch (v) {
		case 0:   /* 2 MiB of zeros announced as such: a bomb */
			zn = ZSTD_compress(z, ZSTD_compressBound(bomb_len), zeros, bomb_len, 1);
			break;
		case 1:   /* no content size in the frame */
			ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
			zn = ZSTD_compress2(cc, z, ZSTD_compressBound(raw_len), raw, raw_len);
			break;
		case 2:   /* the right frame, then a second one */
			zn = ZSTD_compress(z, ZSTD_compressBound(raw_len), raw, raw_len, 1);
			b = ZSTD_compress(z + zn, ZSTD_compressBound(bomb_len), zeros, bomb_len, 1);
			assert_false(ZSTD_isError(b));
			zn += b;
			break;
		case 3:   /* the right frame, cut short */
			zn = ZSTD_compress(z, ZSTD_compressBound(raw_len), raw, raw_len, 1) - 5;
			break;
		case 4:   /* the right frame, one byte more */
			zn = ZSTD_compress(z, ZSTD_compressBound(raw_len), raw, raw_len, 1);
			z[zn++] = 0;
			break;
		default:  /* not zstd */
			fill(z, 200, 3);
			zn = 200;
			break;
		}
		ZSTD_freeCCtx(cc);
		assert_false(ZSTD_isError(zn));
		/* plaintext: a header claiming raw_len raw bytes */
		memset(&s, 0, sizeof(s));
		s.h.method = TV_COMP_ZSTD;
		s.h.raw_len = (uint32_t)raw_len;
		s.h.stored_len = (uint32_t)zn;
		s.h.first_entry = TV_NO_OFFSET;
		s.h.crc = tv_crc32c(0, raw, raw_len);
		memcpy(s.h.content_uuid, content, 16);
		tv_frame_hdr_encode(s.hdr, &s.h);
		s.stored = z;
		assert_int_equal(open_copy(&c, NULL, tape, &s, s.hdr, &got, &n, NULL),
		                 TV_ERR_FORMAT);
		/* sealed by someone holding the key: authentic, still refused */
		s.h.flags = TV_FF_SEALED;
		s.h.crc = 0;
		s.h.stored_len = (uint32_t)(zn + 16);
		tv_frame_hdr_encode(s.hdr, &s.h);
		buf = malloc(zn + 16);
		{
			uint8_t nonce[12], aad[16 + TV_FRAME_HDR];
			nonce_of(nonce, 1, 0);
			memcpy(aad, tape, 16);
			memcpy(aad + 16, s.hdr, TV_FRAME_HDR);
			assert_true(ref_gcm(1, fkey, nonce, aad, sizeof(aad), z, zn, buf, buf + zn));
		}
		s.stored = buf;
		assert_int_equal(open_copy(&c, fkey, tape, &s, s.hdr, &got, &n, NULL),
		                 TV_ERR_FORMAT);
		free(buf);
	}
	/* the same frame, honest: opens (so the refusals above are about the
	 * data, not the harness) */
	{
		struct sealed s;
		memset(&s, 0, sizeof(s));
		zn = ZSTD_compress(z, ZSTD_compressBound(raw_len), raw, raw_len, 1);
		s.h.method = TV_COMP_ZSTD;
		s.h.raw_len = (uint32_t)raw_len;
		s.h.stored_len = (uint32_t)zn;
		s.h.first_entry = 0;
		s.h.crc = tv_crc32c(0, raw, raw_len);
		tv_frame_hdr_encode(s.hdr, &s.h);
		s.stored = z;
		assert_int_equal(open_copy(&c, NULL, tape, &s, s.hdr, &got, &n, NULL), 0);
		assert_memory_equal(got, raw, raw_len);
		free(got);
		/* ... but the raw CRC is still checked after decompression */
		s.h.crc ^= 1;
		tv_frame_hdr_encode(s.hdr, &s.h);
		assert_int_equal(open_copy(&c, NULL, tape, &s, s.hdr, &got, &n, NULL),
		                 TV_ERR_CRC);
	}
	tv_fcodec_free(&c);
	free(zeros);
	free(z);
}

/* ---- the tag of a sealed record 0 ---- */

static void test_hdr_tag(void **state)
{
	struct tv_fcodec c;
	uint8_t key[32], rec_hdr[24], hdr[120], extra[60], tag[16], want[16];
	uint8_t aad[16 + 24 + sizeof(hdr) + sizeof(extra)], nonce[12] = { 0 };
	(void)state;

	assert_int_equal(tv_fcodec_init(&c), 0);
	assert_int_equal(tv_file_key(&c, key, dek, content), 0);
	fill(rec_hdr, 24, 0x33);
	fill(hdr, sizeof(hdr), 0x44);
	fill(extra, sizeof(extra), 0x55);
	assert_int_equal(tv_hdr_tag(&c, key, tape, rec_hdr, hdr, sizeof(hdr), extra,
	                            sizeof(extra), tag, 0), 0);
	/* AES-256-GCM, nonce 0, empty plaintext, AAD = tape UUID || record
	 * header bytes 0..23 || content header || extra */
	memcpy(aad, tape, 16);
	memcpy(aad + 16, rec_hdr, 24);
	memcpy(aad + 40, hdr, sizeof(hdr));
	memcpy(aad + 40 + sizeof(hdr), extra, sizeof(extra));
	assert_true(ref_gcm(1, key, nonce, aad, sizeof(aad), NULL, 0, NULL, want));
	assert_memory_equal(tag, want, 16);
	assert_int_equal(tv_hdr_tag(&c, key, tape, rec_hdr, hdr, sizeof(hdr), extra,
	                            sizeof(extra), tag, 1), 0);
	/* without extra: the AAD stops after the header */
	assert_int_equal(tv_hdr_tag(&c, key, tape, rec_hdr, hdr, sizeof(hdr), NULL, 0, tag,
	                            0), 0);
	assert_true(ref_gcm(1, key, nonce, aad, 40 + sizeof(hdr), NULL, 0, NULL, want));
	assert_memory_equal(tag, want, 16);
	assert_int_equal(tv_hdr_tag(&c, key, tape, rec_hdr, hdr, sizeof(hdr), extra,
	                            sizeof(extra), tag, 1), TV_ERR_AUTH);
	assert_int_equal(tv_hdr_tag(&c, key, tape, rec_hdr, hdr, sizeof(hdr), extra,
	                            sizeof(extra), tag, 0), 0);
	/* every bound byte flipped: tape UUID, record header, header, extra,
	 * tag; and another key */
	for (size_t i = 0; i < sizeof(aad) + 16; i++) {
		uint8_t t2[16], rh[24], h2[sizeof(hdr)], x2[sizeof(extra)], tu[16];
		memcpy(t2, tag, 16);
		memcpy(rh, rec_hdr, 24);
		memcpy(h2, hdr, sizeof(hdr));
		memcpy(x2, extra, sizeof(extra));
		memcpy(tu, tape, 16);
		if (i < 16)
			tu[i] ^= 1;
		else if (i < 40)
			rh[i - 16] ^= 1;
		else if (i < 40 + sizeof(hdr))
			h2[i - 40] ^= 1;
		else if (i < sizeof(aad))
			x2[i - 40 - sizeof(hdr)] ^= 1;
		else
			t2[i - sizeof(aad)] ^= 1;
		assert_int_equal(tv_hdr_tag(&c, key, tu, rh, h2, sizeof(h2), x2, sizeof(x2),
		                            t2, 1), TV_ERR_AUTH);
	}
	assert_non_null(strstr(tv_errdetail(), "content header authentication failed"));
	{
		uint8_t k2[32];
		assert_int_equal(tv_file_key(&c, k2, dek2, content), 0);
		assert_int_equal(tv_hdr_tag(&c, k2, tape, rec_hdr, hdr, sizeof(hdr), extra,
		                            sizeof(extra), tag, 1), TV_ERR_AUTH);
	}
	/* the same codec goes on sealing frames after tags (key and direction
	 * switches) */
	{
		struct sealed s;
		uint8_t raw[500], *got;
		size_t n;
		fill(raw, sizeof(raw), 9);
		assert_int_equal(seal(&c, 0, key, raw, sizeof(raw), 0, 1, &s), 0);
		assert_int_equal(tv_hdr_tag(&c, key, tape, rec_hdr, hdr, sizeof(hdr), extra,
		                            sizeof(extra), tag, 1), 0);
		assert_int_equal(open_copy(&c, key, tape, &s, s.hdr, &got, &n, NULL), 0);
		assert_memory_equal(got, raw, sizeof(raw));
		free(got);
		free(s.out);
	}
	tv_fcodec_free(&c);
}

/* ---- frame size and compression setting ---- */

static void test_sizes_and_compression(void **state)
{
	static const size_t rss[] = { TV_RECORD_SIZE_MIN, TV_RECORD_SIZE_DEFAULT,
	                              1024 * 1024, TV_RECORD_SIZE_MAX };
	static const char *good[] = { "none", "off", "zstd", "on", "zstd:1", "zstd:-7",
	                              "zstd:19", "zstd:3" };
	static const char *bad[] = { "", "zstd:", "zstd:0", "zstd:20", "zstd:-8",
	                             "zstd:3x", "gzip", "zstd:99999999999999999999" };
	struct tv_compression c;
	char s[32];
	(void)state;

	for (size_t i = 0; i < sizeof(rss) / sizeof(rss[0]); i++) {
		size_t f = tv_frame_raw_size(rss[i]);
		assert_true(f > 0 && f <= TV_FRAME_RAW_MAX);
		/* an incompressible sealed frame spans at most two records */
		assert_true(TV_FRAME_HDR + f + TV_TAG_LEN <= 2 * (rss[i] - TV_REC_HDR));
	}
	assert_int_equal(tv_frame_raw_size(TV_RECORD_SIZE_MAX), TV_FRAME_RAW_MAX);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tv_compression c2;
		assert_int_equal(tv_compression_parse(good[i], &c), 0);
		tv_compression_format(&c, s, sizeof(s));
		assert_int_equal(tv_compression_parse(s, &c2), 0);
		assert_int_equal(c2.method, c.method);
		if (c.method == TV_COMP_ZSTD)
			assert_int_equal(c2.level, c.level);
	}
	assert_int_equal(tv_compression_parse("zstd:-7", &c), 0);
	assert_int_equal(c.level, -7);
	tv_compression_format(&c, s, sizeof(s));
	assert_string_equal(s, "zstd:-7");
	assert_int_equal(tv_compression_parse("off", &c), 0);
	tv_compression_format(&c, s, sizeof(s));
	assert_string_equal(s, "none");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tv_compression_parse(bad[i], &c), TV_ERR_INVAL);
}

/* ---- through the writer and reader: every header byte on tape ---- */

static struct memtape *small_tape(const uint8_t *key, int zstd)
{
	struct tv_twriter_opts o = { .record_size = RS, .workers = 1 };
	struct memtape *m = memtape_new();
	struct tv_twriter *w;
	uint8_t *data = malloc(100000);

	o.comp.method = zstd ? TV_COMP_ZSTD : TV_COMP_STORED;
	o.comp.level = 1;
	if (zstd)
		text(data, 100000);
	else
		fill(data, 100000, 1);
	assert_int_equal(tv_twriter_open(&w, &m->base, "T1", tape, &o), 0);
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_DATA, content, "b", 1, key), 0);
	assert_int_equal(tv_twriter_write(w, data, 100000), 0);
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	free(data);
	return m;
}

/* Reads file 0; returns the first error, or 0 when everything read. */
static int read_all(struct memtape *m, const uint8_t *key, size_t *bytes)
{
	struct tv_treader_opts o = { .workers = 1 };
	struct tv_treader *r;
	struct tv_content_header ch;
	uint64_t fno;
	const uint8_t *p;
	size_t n;
	int sealed, rc, first = 0;

	*bytes = 0;
	m->pos = 0;
	assert_int_equal(tv_treader_open(&r, &m->base, "T1", tape, &o), 0);
	tv_treader_set_record_size(r, RS);
	rc = tv_treader_begin_file(r, &ch, &fno, &sealed);
	if (rc == 0)
		rc = tv_treader_set_key(r, key, NULL, 0);
	if (rc != 0) {
		tv_treader_close(r);
		return rc;
	}
	for (int k = 0; k < 100; k++) {
		rc = tv_treader_next(r, &p, &n, NULL);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (first == 0)
				first = rc;
			continue;
		}
		*bytes += n;
	}
	if (first == 0 && tv_treader_truncated(r))
		first = TV_ERR_FORMAT;
	tv_treader_close(r);
	return first;
}

static void tape_flips(const uint8_t *key, int zstd)
{
	struct memtape *m = small_tape(key, zstd);
	size_t bytes, rec1 = mt_find(m, 0, 1), rec0 = mt_find(m, 0, 0);
	uint32_t first;

	assert_int_equal(read_all(m, key, &bytes), 0);
	assert_int_equal(bytes, 100000);
	/* record headers (records 0 and 1), as found on tape */
	for (int which = 0; which < 2; which++) {
		size_t idx = which ? rec1 : rec0;
		for (size_t i = 0; i < TV_REC_HDR; i++) {
			for (int bit = 0; bit < 8; bit += 7) {
				int rc;
				m->it[idx].data[i] ^= (uint8_t)(1u << bit);
				rc = read_all(m, key, &bytes);
				m->it[idx].data[i] ^= (uint8_t)(1u << bit);
				if (rc == 0)
					fail_msg("record %d header byte %zu bit %d flipped: read without "
					         "error", which, i, bit);
			}
		}
	}
	/* the first frame's header, record CRC fixed up as an attacker would:
	 * sealed frames are refused (decoder or tag, all its bytes are in the
	 * AAD); plaintext ones in the fields the reader cross-checks (all but
	 * first_entry, which the entry cursor checks, and bytes 48..55, see
	 * test_frame_hdr_layout) */
	first = tv_get_be32(m->it[rec1].data + 24);
	assert_int_equal(first, 0);
	for (size_t i = 0; i < TV_FRAME_HDR; i++) {
		uint8_t *b = m->it[rec1].data + TV_REC_HDR + first + i;
		int rc;
		*b ^= 0x01;
		mt_fix_rec_crc(m, rec1);
		rc = read_all(m, key, &bytes);
		*b ^= 0x01;
		mt_fix_rec_crc(m, rec1);
		if (key != NULL && rc == 0)
			fail_msg("sealed frame header byte %zu flipped (record CRC fixed): read "
			         "without error", i);
		if (key == NULL && i < 48 && (i < 16 || i >= 20) && rc == 0)
			fail_msg("plaintext frame header byte %zu flipped (record CRC fixed): "
			         "read without error", i);
	}
	tv_tape_close(&m->base);
}

static void test_tape_flips_plain(void **state) { (void)state; tape_flips(NULL, 0); }
static void test_tape_flips_sealed(void **state) { (void)state; tape_flips(dek, 0); }
static void test_tape_flips_sealed_zstd(void **state) { (void)state; tape_flips(dek, 1); }

/* Cuts the first `drop` bytes off the data stream of tape file 0 (record 0
 * kept) and packs the rest into records again, headers and CRCs as a
 * writer makes them: what someone can do who can write the tape but does
 * not hold the key (records are only checksummed). */
static struct memtape *drop_stream_head(const struct memtape *m, size_t drop)
{
	struct memtape *n = memtape_new();
	size_t pay = RS - TV_REC_HDR, len = 0, nrec = 0, pos;
	uint8_t *s = malloc(RS * 16), *rec = malloc(RS), *starts = NULL;
	uint32_t file_no = tv_get_be32(m->it[0].data + 12);

	for (size_t i = 1; i < m->n && m->it[i].data != NULL; i++) {
		memcpy(s + len, m->it[i].data + TV_REC_HDR, m->it[i].len - TV_REC_HDR);
		len += m->it[i].len - TV_REC_HDR;
	}
	assert_true(drop < len);
	memmove(s, s + drop, len - drop);
	len -= drop;
	starts = calloc(len, 1);
	for (pos = 0; pos + TV_FRAME_HDR <= len; pos += TV_FRAME_HDR + tv_get_be32(s + pos + 8))
		starts[pos] = 1;   /* frame headers, walked by their stored lengths */
	assert_int_equal(pos, len);
	assert_int_equal(mt_write(&n->base, m->it[0].data, m->it[0].len), 0);
	for (size_t off = 0; off < len; off += pay, nrec++) {
		size_t k = len - off < pay ? len - off : pay;
		struct tv_rec_hdr h = { .flags = off + k == len ? TV_RF_END : 0,
		                        .payload_len = (uint32_t)k, .file_no = file_no,
		                        .seq = nrec + 1, .first_frame = TV_NO_OFFSET };
		for (size_t j = 0; j < k; j++)
			if (starts[off + j]) {
				h.first_frame = (uint32_t)j;
				break;
			}
		memcpy(rec + TV_REC_HDR, s + off, k);
		tv_rec_hdr_encode(rec, &h);
		tv_put_be32(rec + 28, tv_rec_crc(rec, k));
		assert_int_equal(mt_write(&n->base, rec, TV_REC_HDR + k), 0);
	}
	assert_int_equal(mt_write_fm(&n->base, 1), 0);
	n->pos = 0;
	free(s);
	free(rec);
	free(starts);
	return n;
}

/* Frames moved to the front of a sealed tape file must not read as the
 * whole file (docs/FORMAT.md 8.2: "a frame moved ... fails
 * authentication").  The frame header carries no stream offset, so the
 * tag cannot tell; the reader must (record.h since 685794b: "a file read
 * from its start must begin with frame 0").  Before that commit the frames
 * after a dropped head were delivered without an error, and the entries of
 * the dropped frames vanished silently. */
static void test_sealed_stream_head_dropped(void **state)
{
	struct tv_twriter_opts o = { .record_size = RS, .workers = 1 };
	struct memtape *m = memtape_new(), *cut;
	struct tv_twriter *w;
	struct tv_treader *r;
	struct tv_content_header ch;
	struct tv_frame_info fi;
	size_t fsize = tv_frame_raw_size(RS), n, frames = 0;
	uint8_t *data = malloc(3 * fsize);
	const uint8_t *p;
	uint64_t fno, first_index = UINT64_MAX;
	int sealed, rc, errors = 0;
	(void)state;

	tl_fill_random(data, 3 * fsize, 77);
	assert_int_equal(tv_twriter_open(&w, &m->base, "T1", tape, &o), 0);
	assert_int_equal(tv_twriter_begin_file(w, 0, TV_CT_DATA, content, "b", 1, dek), 0);
	assert_int_equal(tv_twriter_write(w, data, 3 * fsize - 100), 0);
	assert_int_equal(tv_twriter_end_file(w, 0, NULL), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	/* frame 0 (sealed, stored: header, raw bytes, tag) dropped */
	cut = drop_stream_head(m, TV_FRAME_HDR + fsize + TV_TAG_LEN);
	assert_int_equal(tv_treader_open(&r, &cut->base, "T1", tape, NULL), 0);
	tv_treader_set_record_size(r, RS);
	assert_int_equal(tv_treader_begin_file(r, &ch, &fno, &sealed), 0);
	assert_int_equal(tv_treader_set_key(r, dek, NULL, 0), 0);
	while ((rc = tv_treader_next(r, &p, &n, &fi)) != 0) {
		if (rc < 0) {
			errors++;
			continue;
		}
		if (frames++ == 0)
			first_index = fi.index;
	}
	tv_treader_close(r);
	if (errors == 0)
		fail_msg("a sealed tape file without its first frame read without an error: "
		         "%zu frames, the first with index %llu at stream offset 0", frames,
		         (unsigned long long)first_index);
	tv_tape_close(&cut->base);
	tv_tape_close(&m->base);
	free(data);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rec_hdr_layout),
		cmocka_unit_test(test_rec_hdr_hostile),
		cmocka_unit_test(test_rec_every_byte),
		cmocka_unit_test(test_frame_hdr_layout),
		cmocka_unit_test(test_frame_hdr_hostile),
		cmocka_unit_test(test_file_key),
		cmocka_unit_test(test_frame_plain),
		cmocka_unit_test(test_frame_sealed),
		cmocka_unit_test(test_frame_hostile_zstd),
		cmocka_unit_test(test_hdr_tag),
		cmocka_unit_test(test_sizes_and_compression),
		cmocka_unit_test(test_tape_flips_plain),
		cmocka_unit_test(test_tape_flips_sealed),
		cmocka_unit_test(test_tape_flips_sealed_zstd),
		cmocka_unit_test(test_sealed_stream_head_dropped),
	};
	return tl_run(argc, argv, tests, setup, NULL);
}
