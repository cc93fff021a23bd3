/* tapevault unit tests: writer signatures (issue 10, finding 2).
 *
 * The installation's Ed25519 identity signs and verifies
 * (crypto/identity.h); the media set label is signed as docs/FORMAT.md 9.4
 * says, checked here by an independent verifier that rebuilds the signed
 * message from the record bytes with plain OpenSSL calls; a flipped byte,
 * another tape's signature or another key do not verify; the catalog
 * message binds its header, the item count and the stream digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "crypto/identity.h"
#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include "test_format_memtape.h"
#include "testlib.h"

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	return k;
}

static int sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	return tv_identity_sign(ctx, msg, len, sig);
}

static void signer_of(EVP_PKEY *k, struct tv_signer *sg)
{
	memset(sg, 0, sizeof(*sg));
	assert_int_equal(tv_identity_raw_pub(k, sg->pub), 0);
	assert_int_equal(tv_identity_fingerprint(k, sg->fpr), 0);
	sg->sign = sign_cb;
	sg->ctx = k;
}

static void test_sign_verify(void **state)
{
	EVP_PKEY *k = new_key(), *k2 = new_key();
	uint8_t pub[32], pub2[32], sig[64], fpr[32], fpr2[32];
	static const char msg[] = "tapevault v2 label signature: a message";
	(void)state;

	assert_int_equal(tv_identity_raw_pub(k, pub), 0);
	assert_int_equal(tv_identity_raw_pub(k2, pub2), 0);
	assert_int_equal(tv_identity_sign(k, msg, sizeof(msg), sig), 0);
	assert_int_equal(tv_identity_verify_raw(pub, msg, sizeof(msg), sig), 0);
	/* another key, another message, a flipped signature bit */
	assert_int_equal(tv_identity_verify_raw(pub2, msg, sizeof(msg), sig), TV_ERR_SIG);
	assert_int_equal(tv_identity_verify_raw(pub, msg, sizeof(msg) - 1, sig), TV_ERR_SIG);
	sig[10] ^= 0x01;
	assert_int_equal(tv_identity_verify_raw(pub, msg, sizeof(msg), sig), TV_ERR_SIG);
	/* the fingerprint from the raw key equals that of the key */
	assert_int_equal(tv_identity_raw_fingerprint(pub, fpr), 0);
	assert_int_equal(tv_identity_fingerprint(k, fpr2), 0);
	assert_memory_equal(fpr, fpr2, 32);
	/* and is SHA-256 of the SPKI DER: 302a300506032b6570032100 || key */
	{
		uint8_t der[44] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03,
		                    0x21, 0x00 };
		memcpy(der + 12, pub, 32);
		SHA256(der, sizeof(der), fpr2);
		assert_memory_equal(fpr, fpr2, 32);
	}
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void sample(struct tv_volume_label *vol, struct tv_media_set_label *ms, uint8_t seed)
{
	memset(vol, 0, sizeof(*vol));
	memset(ms, 0, sizeof(*ms));
	tl_fill_seq(vol->tape_uuid, 16, seed);
	strcpy(vol->barcode, "VT0042L9");
	vol->created = 1700000000;
	strcpy(vol->writer, "tapevault test");
	vol->record_size = TV_RECORD_SIZE_MIN;
	strcpy(ms->pool_name, "weekly");
	tl_fill_seq(ms->pool_uuid, 16, 0x30);
	tl_fill_seq(ms->media_set_uuid, 16, 0x40);
	ms->seq = 1;
	ms->created = 1700000001;
}

static struct memtape *labeled(const struct tv_volume_label *vol,
                               const struct tv_media_set_label *ms,
                               const struct tv_signer *sg)
{
	struct tv_twriter_opts o = { .record_size = TV_RECORD_SIZE_MIN, .workers = 1 };
	struct memtape *m = memtape_new();
	struct tv_twriter *w;

	assert_int_equal(tv_twriter_open(&w, &m->base, "VT0042L9", vol->tape_uuid, &o), 0);
	assert_int_equal(tv_labels_write_signed(w, vol, ms, NULL, sg), 0);
	assert_int_equal(tv_twriter_close(w), 0);
	m->pos = 0;
	return m;
}

/* docs/FORMAT.md 9.4, from the bytes on tape: 0 when the media set label's
 * signature verifies under the public key it carries. */
static int independent_verify(const struct memtape *m)
{
	const uint8_t *vrec = m->it[0].data, *mrec = m->it[2].data;
	const uint8_t *vh = vrec + 32, *mh = mrec + 32, *body = mh + 40, *p, *pub = NULL;
	const uint8_t *sig = NULL;
	size_t vh_len = m->it[0].len - 32, blen = tv_get_be32(mh + 32), at = 0, wat = 0, wlen = 0;
	uint8_t msg[70000];
	size_t n = 0;
	EVP_PKEY *k;
	EVP_MD_CTX *md;
	int ok;

	while (at + 6 <= blen) {
		uint16_t tag = tv_get_be16(body + at);
		uint32_t len = tv_get_be32(body + at + 2);
		if (tag == 7) {
			wat = at;
			wlen = 6 + len;
			for (p = body + at + 6; p < body + at + 6 + len;) {
				uint16_t t2 = tv_get_be16(p);
				uint32_t l2 = tv_get_be32(p + 2);
				if (t2 == 2 && l2 == 32)
					pub = p + 6;
				if (t2 == 4 && l2 == 64)
					sig = p + 6;
				p += 6 + l2;
			}
		}
		at += 6 + len;
	}
	if (pub == NULL || sig == NULL)
		return -1;
	memcpy(msg, "tapevault v2 label signature", 28);
	n = 28;
	tv_put_be32(msg + n, (uint32_t)vh_len);
	n += 4;
	memcpy(msg + n, vh, vh_len);
	n += vh_len;
	memcpy(msg + n, mh + 16, 16);   /* the media set label's content UUID */
	n += 16;
	tv_put_be32(msg + n, (uint32_t)(blen - wlen));
	n += 4;
	memcpy(msg + n, body, wat);
	n += wat;
	memcpy(msg + n, body + wat + wlen, blen - wat - wlen);
	n += blen - wat - wlen;
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	md = EVP_MD_CTX_new();
	ok = k != NULL && md != NULL &&
	     EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, k, NULL) == 1 &&
	     EVP_DigestVerify(md, sig, 64, msg, n) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return ok ? 0 : 1;
}

static int verify_labels(struct memtape *m, struct tv_tape_labels *l)
{
	struct tv_buf msg;
	int r;

	m->pos = 0;
	assert_int_equal(tv_labels_read(&m->base, "VT0042L9", l, 1), 0);
	if (!l->ms.has_wsig)
		return -1;
	tv_buf_init(&msg);
	assert_int_equal(tv_labels_signed_msg(l, &msg), 0);
	r = tv_identity_verify_raw(l->ms.wsig.pub, tv_buf_ptr(&msg), tv_buf_avail(&msg),
	                           l->ms.wsig.sig);
	tv_buf_free(&msg);
	return r;
}

static void refix(uint8_t *rec, size_t len)
{
	uint8_t *h = rec + TV_REC_HDR;
	size_t blen = tv_get_be32(h + 32);
	tv_put_be32(h + 36, tv_crc32c(tv_crc32c(0, h, 36), h + TV_HDR_FIXED, blen));
	tv_put_be32(rec + 28, tv_rec_crc(rec, len - TV_REC_HDR));
}

static void test_label_signature(void **state)
{
	EVP_PKEY *k = new_key(), *k2 = new_key();
	struct tv_signer sg, sg2;
	struct tv_volume_label vol, vol2;
	struct tv_media_set_label ms, ms2;
	struct tv_tape_labels l;
	struct memtape *m, *m2;
	(void)state;

	signer_of(k, &sg);
	signer_of(k2, &sg2);
	sample(&vol, &ms, 0xa0);
	m = labeled(&vol, &ms, &sg);
	assert_int_equal(verify_labels(m, &l), 0);
	assert_memory_equal(l.ms.wsig.pub, sg.pub, 32);
	assert_memory_equal(l.ms.wsig.fpr, sg.fpr, 32);
	assert_int_equal(l.ms.wsig.alg, TV_WSIG_ED25519);
	/* the body decodes as without a signature otherwise */
	assert_string_equal(l.ms.pool_name, "weekly");
	assert_int_equal(l.ms.seq, 1);
	tv_labels_free(&l);
	assert_int_equal(independent_verify(m), 0);

	/* an unsigned label: no signature to find */
	m2 = labeled(&vol, &ms, NULL);
	assert_int_equal(verify_labels(m2, &l), -1);
	tv_labels_free(&l);
	tv_tape_close(&m2->base);

	/* a byte of the media set label flipped (the sequence), CRCs fixed */
	m2 = labeled(&vol, &ms, &sg);
	{
		struct mt_item *it = &m2->it[2];
		uint8_t *body = it->data + 72;
		size_t at = 0;
		while (tv_get_be16(body + at) != 4)
			at += 6 + tv_get_be32(body + at + 2);
		body[at + 6 + 7] ^= 0x02;   /* seq 1 -> 3 */
		refix(it->data, it->len);
	}
	assert_int_equal(verify_labels(m2, &l), TV_ERR_SIG);
	assert_int_equal(l.ms.seq, 3);
	tv_labels_free(&l);
	assert_int_equal(independent_verify(m2), 1);
	tv_tape_close(&m2->base);

	/* the volume label edited (barcode): bound too */
	m2 = labeled(&vol, &ms, &sg);
	{
		struct mt_item *it = &m2->it[0];
		for (size_t i = 0; i + 8 <= it->len; i++)
			if (memcmp(it->data + i, "VT0042L9", 8) == 0) {
				it->data[i + 5] = '3';
				break;
			}
		refix(it->data, it->len);
	}
	assert_int_equal(verify_labels(m2, &l), TV_ERR_SIG);
	tv_labels_free(&l);
	tv_tape_close(&m2->base);

	/* the signature item of one tape copied onto another tape's label
	 * (same pool, media set and key slots, another tape UUID) */
	sample(&vol2, &ms2, 0xb0);
	m2 = labeled(&vol2, &ms2, &sg);
	{
		struct mt_item *a = &m->it[2], *b = &m2->it[2];
		size_t sa = a->len, sb = b->len;
		/* the signature is the last 6 + 4 * 6 + 8 + 32 + 32 + 64 bytes */
		size_t wl = 6 + 4 * 6 + 8 + 32 + 32 + 64;
		assert_int_equal(sa, sb);
		memcpy(b->data + sb - wl, a->data + sa - wl, wl);
		refix(b->data, b->len);
	}
	assert_int_equal(verify_labels(m2, &l), TV_ERR_SIG);
	tv_labels_free(&l);
	tv_tape_close(&m2->base);

	/* the same label signed by another identity verifies, under that key:
	 * who signed is the reader's trust question, not a forgery */
	m2 = labeled(&vol, &ms, &sg2);
	assert_int_equal(verify_labels(m2, &l), 0);
	assert_memory_equal(l.ms.wsig.fpr, sg2.fpr, 32);
	/* ...and its key swapped for the first one's does not verify */
	memcpy(l.ms.wsig.pub, sg.pub, 32);
	{
		struct tv_buf msg;
		tv_buf_init(&msg);
		assert_int_equal(tv_labels_signed_msg(&l, &msg), 0);
		assert_int_equal(tv_identity_verify_raw(l.ms.wsig.pub, tv_buf_ptr(&msg),
		                                        tv_buf_avail(&msg), l.ms.wsig.sig),
		                 TV_ERR_SIG);
		tv_buf_free(&msg);
	}
	tv_labels_free(&l);
	tv_tape_close(&m2->base);
	tv_tape_close(&m->base);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void test_wsig_codec(void **state)
{
	struct tv_wsig s, t;
	struct tv_buf b;
	struct tv_cat_item_v it, it2;
	size_t used;
	(void)state;

	memset(&s, 0, sizeof(s));
	s.alg = TV_WSIG_ED25519;
	tl_fill_seq(s.pub, 32, 1);
	tl_fill_seq(s.fpr, 32, 2);
	tl_fill_seq(s.sig, 64, 3);
	tv_buf_init(&b);
	assert_int_equal(tv_wsig_encode(&b, 7, &s), 0);
	assert_int_equal(tv_get_be16(b.d), 7);
	assert_int_equal(tv_get_be32(b.d + 2), 4 * 6 + 8 + 32 + 32 + 64);
	assert_int_equal(tv_wsig_decode(b.d + 6, b.len - 6, &t, "t"), 0);
	assert_memory_equal(&s, &t, sizeof(s));
	/* a short key, a missing signature: format errors */
	b.d[6 + 14 + 5] = 31;   /* pub's length 32 -> 31 */
	assert_int_equal(tv_wsig_decode(b.d + 6, b.len - 6, &t, "t"), TV_ERR_FORMAT);
	tv_buf_free(&b);
	tv_buf_init(&b);
	assert_int_equal(tv_tlv_put_u64(&b, 1, 1), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 2, s.pub, 32), 0);
	assert_int_equal(tv_tlv_put_bytes(&b, 3, s.fpr, 32), 0);
	assert_int_equal(tv_wsig_decode(b.d, b.len, &t, "t"), TV_ERR_FORMAT);
	tv_buf_free(&b);
	/* the catalog item round-trips */
	memset(&it, 0, sizeof(it));
	it.type = TV_CI_WRITER;
	it.u.wsig = s;
	tv_buf_init(&b);
	assert_int_equal(tv_cat_item_encode(&b, &it), 0);
	assert_int_equal(b.d[0], 8);
	assert_int_equal(tv_cat_item_decode(b.d, b.len, &it2, &used), 0);
	assert_int_equal(used, b.len);
	assert_int_equal(it2.type, TV_CI_WRITER);
	assert_memory_equal(&it2.u.wsig, &s, sizeof(s));
	tv_buf_free(&b);
}

static void test_catalog_message(void **state)
{
	struct tv_catalog_header ch;
	struct tv_buf body, m1, m2, hdr;
	uint8_t cu[16], dg[32];
	(void)state;

	memset(&ch, 0, sizeof(ch));
	tl_fill_seq(ch.tape_uuid, 16, 1);
	tl_fill_seq(ch.media_set_uuid, 16, 2);
	ch.session = 3;
	tl_fill_seq(cu, 16, 4);
	tl_fill_seq(dg, 32, 5);
	tv_buf_init(&body);
	tv_buf_init(&m1);
	tv_buf_init(&m2);
	tv_buf_init(&hdr);
	assert_int_equal(tv_catalog_header_encode(&body, &ch), 0);
	assert_int_equal(tv_catalog_signed_msg(&m1, cu, body.d, body.len, 42, dg), 0);
	/* context || be32(len CH) || CH || be64(count) || digest */
	assert_int_equal(tv_hdr_encode(&hdr, TV_CT_CATALOG, cu, body.d, body.len), 0);
	assert_int_equal(m1.len, 30 + 4 + hdr.len + 8 + 32);
	assert_memory_equal(m1.d, "tapevault v2 catalog signature", 30);
	assert_int_equal(tv_get_be32(m1.d + 30), hdr.len);
	assert_memory_equal(m1.d + 34, hdr.d, hdr.len);
	assert_int_equal(tv_get_be64(m1.d + 34 + hdr.len), 42);
	assert_memory_equal(m1.d + 34 + hdr.len + 8, dg, 32);
	/* another count, another content UUID: another message */
	assert_int_equal(tv_catalog_signed_msg(&m2, cu, body.d, body.len, 41, dg), 0);
	assert_memory_not_equal(m1.d, m2.d, m1.len);
	tv_buf_free(&body);
	tv_buf_free(&m1);
	tv_buf_free(&m2);
	tv_buf_free(&hdr);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_label_signature),
		cmocka_unit_test(test_wsig_codec),
		cmocka_unit_test(test_catalog_message),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
