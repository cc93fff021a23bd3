/* KMIP TTLV codec and message layer against the captured PyKMIP exchanges
 * (tests/kms/vectors, copied from kmip-vectors/): every message decodes and
 * re-encodes to identical bytes, our request builders produce the exact
 * requests PyKMIP accepted, response parsers extract what matters, and the
 * decoder rejects hostile input. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kms/kmip.h"
#include "kms/ttlv.h"
#include "util/buf.h"
#include "util/err.h"

#include "testlib.h"

/* The captured exchanges: tests/kms/vectors in the source tree, else the
 * shared kmip-vectors folder they were copied from.  Caller frees. */
static char *vector_path(const char *rel)
{
	static char *vdir;

	if (vdir == NULL) {
		char *probe;
		vdir = tl_src_path("tests/kms/vectors");
		probe = tl_path(vdir, "raw/01-discover-versions.resp.bin");
		if (!tl_exists(probe)) {
			free(vdir);
			vdir = tl_path(tl_shared_dir(), "kmip-vectors");
		}
		free(probe);
	}
	return tl_path(vdir, rel);
}

static uint8_t *load(const char *rel, size_t *n)
{
	char *path = vector_path(rel);
	uint8_t *p = tl_read_file(path, n);

	if (p == NULL)
		fail_msg("cannot open test vector %s", path);
	free(path);
	return p;
}

/* decode + re-encode == identity */
static void roundtrip_bytes(const uint8_t *p, size_t n, const char *name)
{
	struct tv_ttlv_doc doc;
	struct tv_ttlv_enc e;
	struct tv_buf b;
	int r;

	r = tv_ttlv_decode(p, n, &doc);
	if (r != 0)
		fail_msg("%s: decode failed: %s", name, tv_errmsg(r));
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	tv_ttlv_put_node(&e, tv_ttlv_root(&doc));
	assert_int_equal(tv_ttlv_enc_finish(&e), 0);
	if (b.len != n || memcmp(b.d, p, n) != 0)
		fail_msg("%s: re-encoding differs (%zu vs %zu bytes)", name, b.len, n);
	tv_buf_free(&b);
	tv_ttlv_doc_free(&doc);
}

static void test_all_vectors_roundtrip(void **state)
{
	static const char *const dirs[] = { "raw", "proxy" };
	size_t nresp = 0, nreq = 0;

	(void)state;
	for (size_t d = 0; d < 2; d++) {
		char *path = vector_path(dirs[d]);
		DIR *dh;
		struct dirent *de;

		dh = opendir(path);
		if (dh == NULL)
			fail_msg("no test vectors in %s", path);
		free(path);
		while ((de = readdir(dh)) != NULL) {
			char rel[600];
			size_t n, len = strlen(de->d_name);
			uint8_t *p;
			int is_resp;

			if (len < 5 || strcmp(de->d_name + len - 4, ".bin") != 0)
				continue;
			is_resp = strstr(de->d_name, "resp") != NULL;
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d], de->d_name);
			p = load(rel, &n);
			roundtrip_bytes(p, n, rel);
			if (is_resp) {
				struct tv_kmip_resp r;
				int rc = tv_kmip_resp_parse(p, n, &r);
				if (rc != 0)
					fail_msg("%s: response parse failed: %s", rel, tv_errmsg(rc));
				assert_true(r.nitems >= 1);
				assert_int_equal(r.major, r.major == 2 ? 2 : 1);
				for (size_t i = 0; i < r.nitems; i++)
					if (r.items[i].status == TV_KSTATUS_SUCCESS)
						assert_non_null(r.items[i].payload);
					else
						assert_true(r.items[i].reason != 0);
				tv_kmip_resp_free(&r);
				nresp++;
			} else {
				nreq++;
			}
			free(p);
		}
		closedir(dh);
	}
	/* 30 raw + 11 proxy exchanges */
	assert_int_equal(nresp, 41);
	assert_int_equal(nreq, 41);
}

/* ---- encoder vs. captured requests ---- */

static void expect_req(struct tv_buf *b, const char *rel)
{
	size_t n;
	uint8_t *p = load(rel, &n);

	if (b->len != n || memcmp(b->d, p, n) != 0) {
		size_t i = 0;
		while (i < n && i < b->len && b->d[i] == p[i])
			i++;
		fail_msg("%s: our request differs at byte %zu (ours %zu bytes, vector %zu)",
		         rel, i, b->len, n);
	}
	free(p);
	tv_buf_free(b);
}

static const uint8_t dek[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	0x1c, 0x1d, 0x1e, 0x1f
};
static const uint8_t iv12[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const char aad[] = "VOL001L8";

/* single-item request with the given op; payload written by the caller */
#define REQ(b, e, minor, op) \
	tv_buf_init(&(b)); tv_kmip_req_begin(&(e), &(b), 1, (minor), 1); \
	tv_kmip_item_begin(&(e), (op), NULL, 0)
#define END(e) do { tv_kmip_item_end(&(e)); assert_int_equal(tv_kmip_req_end(&(e)), 0); } while (0)

static void test_requests_match_raw(void **state)
{
	static const uint32_t q3[] = { 1, 2, 3 }, q_info[] = { 3 }, q_ops[] = { 1 };
	static const char *const ga[] = { "State", "Cryptographic Usage Mask", "Name" };
	static const char *const ga_state[] = { "State" };
	const struct tv_kmip_cparams gcm = { .mode = TV_KMODE_GCM, .alg = TV_KALG_AES,
	                                     .tag_len = 16 };
	uint8_t ct[32], tag[16], zero_tag[16] = { 0 };
	struct tv_ttlv_enc e;
	struct tv_buf b;

	(void)state;
	tl_unhex("58fb26963ac06eae6fd00c80b87c4f8f090ce35a7b2d72ae658b84deed51836b", ct, 32);
	tl_unhex("e3d84796feca4243a7e4305125a16e00", tag, 16);

	REQ(b, e, 4, TV_KOP_DISCOVER_VERSIONS); END(e);
	expect_req(&b, "raw/01-discover-versions.req.bin");

	REQ(b, e, 4, TV_KOP_QUERY); tv_kmip_pl_query(&e, q3, 3); END(e);
	expect_req(&b, "raw/02-query.req.bin");

	REQ(b, e, 4, TV_KOP_CREATE);
	tv_kmip_pl_create_symmetric(&e, TV_KALG_AES, 256, 60, "tape-kek-vector"); END(e);
	expect_req(&b, "raw/03-create-aes256-kek.req.bin");

	REQ(b, e, 4, TV_KOP_ACTIVATE); tv_kmip_pl_uid(&e, "20"); END(e);
	expect_req(&b, "raw/04-activate.req.bin");

	REQ(b, e, 4, TV_KOP_GET); tv_kmip_pl_uid(&e, "20"); END(e);
	expect_req(&b, "raw/05-get.req.bin");

	REQ(b, e, 4, TV_KOP_GET_ATTRIBUTES); tv_kmip_pl_get_attributes(&e, "20", ga, 3); END(e);
	expect_req(&b, "raw/06-get-attributes.req.bin");

	REQ(b, e, 4, TV_KOP_LOCATE); tv_kmip_pl_locate_name(&e, "tape-kek-vector"); END(e);
	expect_req(&b, "raw/07-locate-by-name.req.bin");

	REQ(b, e, 4, TV_KOP_ENCRYPT);
	tv_kmip_pl_encrypt(&e, "20", &gcm, dek, 32, iv12, 12, (const uint8_t *)aad, 8); END(e);
	expect_req(&b, "raw/08-encrypt-gcm-wrap-dek.req.bin");

	REQ(b, e, 4, TV_KOP_DECRYPT);
	tv_kmip_pl_decrypt(&e, "20", &gcm, ct, 32, iv12, 12, (const uint8_t *)aad, 8, tag, 16);
	END(e);
	expect_req(&b, "raw/09-decrypt-gcm-unwrap-dek.req.bin");

	REQ(b, e, 4, TV_KOP_DECRYPT);
	tv_kmip_pl_decrypt(&e, "20", &gcm, ct, 32, iv12, 12, (const uint8_t *)aad, 8,
	                   zero_tag, 16);
	END(e);
	expect_req(&b, "raw/10-decrypt-gcm-bad-tag.req.bin");

	REQ(b, e, 4, TV_KOP_ENCRYPT);
	tv_kmip_pl_encrypt(&e, "20", NULL, dek, 32, NULL, 0, NULL, 0); END(e);
	expect_req(&b, "raw/11-encrypt-no-crypto-params.req.bin");

	REQ(b, e, 4, TV_KOP_CREATE);
	tv_kmip_pl_create_symmetric(&e, TV_KALG_AES, 256, 12, "tape-dek-VOL001L8"); END(e);
	expect_req(&b, "raw/12-create-aes256-dek.req.bin");

	REQ(b, e, 4, TV_KOP_CREATE_KEY_PAIR);
	tv_kmip_pl_create_key_pair(&e, TV_KALG_RSA, 2048, 41, "tape-rsa-prv", 22,
	                           "tape-rsa-pub");
	END(e);
	expect_req(&b, "raw/15-create-key-pair-rsa2048.req.bin");

	/* two batch items with ids; GetAttributes on the ID Placeholder */
	tv_buf_init(&b);
	tv_kmip_req_begin(&e, &b, 1, 4, 2);
	tv_kmip_item_begin(&e, TV_KOP_CREATE, (const uint8_t *)"\x01", 1);
	tv_kmip_pl_create_symmetric(&e, TV_KALG_AES, 256, 12, NULL);
	tv_kmip_item_end(&e);
	tv_kmip_item_begin(&e, TV_KOP_GET_ATTRIBUTES, (const uint8_t *)"\x02", 1);
	tv_kmip_pl_get_attributes(&e, NULL, ga_state, 1);
	tv_kmip_item_end(&e);
	assert_int_equal(tv_kmip_req_end(&e), 0);
	expect_req(&b, "raw/16-batch-create-getattributes.req.bin");

	REQ(b, e, 4, TV_KOP_ACTIVATE); tv_kmip_pl_uid(&e, "25"); END(e);
	expect_req(&b, "raw/18-activate-batch-key.req.bin");

	REQ(b, e, 4, TV_KOP_REVOKE); tv_kmip_pl_uid(&e, "25"); END(e);
	expect_req(&b, "raw/19-revoke-no-reason.req.bin");

	REQ(b, e, 4, TV_KOP_REVOKE); tv_kmip_pl_revoke(&e, "25", TV_KREVOKE_CESSATION); END(e);
	expect_req(&b, "raw/20-revoke.req.bin");

	REQ(b, e, 4, TV_KOP_DESTROY); tv_kmip_pl_uid(&e, "25"); END(e);
	expect_req(&b, "raw/21-destroy.req.bin");

	REQ(b, e, 4, TV_KOP_GET); tv_kmip_pl_uid(&e, "25"); END(e);
	expect_req(&b, "raw/22-get-destroyed.req.bin");

	REQ(b, e, 4, TV_KOP_DESTROY); tv_kmip_pl_uid(&e, "20"); END(e);
	expect_req(&b, "raw/23-destroy-active-kek.req.bin");

	REQ(b, e, 5, TV_KOP_QUERY); tv_kmip_pl_query(&e, q_info, 1); END(e);
	expect_req(&b, "raw/28-version-1.5.req.bin");

	tv_buf_init(&b);
	tv_kmip_req_begin(&e, &b, 1, 4, 2);
	tv_kmip_item_begin(&e, TV_KOP_QUERY, NULL, 0);
	tv_kmip_pl_query(&e, q_info, 1);
	tv_kmip_item_end(&e);
	tv_kmip_item_begin(&e, TV_KOP_QUERY, NULL, 0);
	tv_kmip_pl_query(&e, q_ops, 1);
	tv_kmip_item_end(&e);
	assert_int_equal(tv_kmip_req_end(&e), 0);
	expect_req(&b, "raw/30-batch-without-item-ids.req.bin");
}

/* PyKMIP's own client (KMIP 1.2) sends the same encodings. */
static void test_requests_match_proxy(void **state)
{
	static const char *const ga[] = { "State", "Cryptographic Length" };
	static const uint32_t q_ops[] = { 1 };
	const struct tv_kmip_cparams cbc = { .mode = TV_KMODE_CBC, .padding = TV_KPAD_PKCS5,
	                                     .alg = TV_KALG_AES };
	uint8_t pt[32], ct[48], iv[16] = { 0 };
	struct tv_ttlv_enc e;
	struct tv_buf b;

	(void)state;
	memcpy(pt, "0123456789abcdef0123456789abcdef", 32);
	tl_unhex("a34d293415ef03be1bbd73574c5e7f585e499e24bb306c8a77fc40b2893746a8"
	         "13ae62b5181cac0b7e1c7a34b3ae7b31", ct, 48);

	REQ(b, e, 2, TV_KOP_CREATE);
	tv_kmip_pl_create_symmetric(&e, TV_KALG_AES, 256, 12, "captured-kek"); END(e);
	expect_req(&b, "proxy/c01-001-req.bin");
	REQ(b, e, 2, TV_KOP_ACTIVATE); tv_kmip_pl_uid(&e, "27"); END(e);
	expect_req(&b, "proxy/c01-002-req.bin");
	REQ(b, e, 2, TV_KOP_GET); tv_kmip_pl_uid(&e, "27"); END(e);
	expect_req(&b, "proxy/c01-003-req.bin");
	REQ(b, e, 2, TV_KOP_ENCRYPT);
	tv_kmip_pl_encrypt(&e, "27", &cbc, pt, 32, iv, 16, NULL, 0); END(e);
	expect_req(&b, "proxy/c01-004-req.bin");
	REQ(b, e, 2, TV_KOP_DECRYPT);
	tv_kmip_pl_decrypt(&e, "27", &cbc, ct, 48, iv, 16, NULL, 0, NULL, 0); END(e);
	expect_req(&b, "proxy/c01-005-req.bin");
	REQ(b, e, 2, TV_KOP_LOCATE); tv_kmip_pl_locate_name(&e, "captured-kek"); END(e);
	expect_req(&b, "proxy/c01-006-req.bin");
	REQ(b, e, 2, TV_KOP_GET_ATTRIBUTES); tv_kmip_pl_get_attributes(&e, "27", ga, 2); END(e);
	expect_req(&b, "proxy/c01-007-req.bin");
	REQ(b, e, 2, TV_KOP_QUERY); tv_kmip_pl_query(&e, q_ops, 1); END(e);
	expect_req(&b, "proxy/c01-008-req.bin");
	REQ(b, e, 2, TV_KOP_CREATE_KEY_PAIR);
	tv_kmip_pl_create_key_pair(&e, TV_KALG_RSA, 2048, 8, NULL, 4, NULL); END(e);
	expect_req(&b, "proxy/c01-009-req.bin");
	REQ(b, e, 2, TV_KOP_REVOKE); tv_kmip_pl_revoke(&e, "27", TV_KREVOKE_CESSATION); END(e);
	expect_req(&b, "proxy/c01-010-req.bin");
	REQ(b, e, 2, TV_KOP_DESTROY); tv_kmip_pl_uid(&e, "27"); END(e);
	expect_req(&b, "proxy/c01-011-req.bin");
}

/* ---- response semantics ---- */

struct loaded { uint8_t *p; size_t n; struct tv_kmip_resp r; };

static const struct tv_kmip_item *resp(struct loaded *l, const char *rel)
{
	int rc;
	l->p = load(rel, &l->n);
	rc = tv_kmip_resp_parse(l->p, l->n, &l->r);
	if (rc != 0)
		fail_msg("%s: %s", rel, tv_errmsg(rc));
	return &l->r.items[0];
}

static void unload(struct loaded *l)
{
	tv_kmip_resp_free(&l->r);
	free(l->p);
}

static void test_response_semantics(void **state)
{
	struct loaded l;
	const struct tv_kmip_item *it;
	char uid[TV_KMIP_UID_MAX], pub[TV_KMIP_UID_MAX], vendor[64];
	struct tv_kmip_version v[8];
	uint32_t ops[32];
	size_t n;
	struct tv_kmip_key key;
	struct tv_kmip_attrs a;
	const uint8_t *d, *t;
	size_t dn, tn;
	uint8_t kek[32];

	(void)state;
	it = resp(&l, "raw/01-discover-versions.resp.bin");
	assert_int_equal(it->op, TV_KOP_DISCOVER_VERSIONS);
	assert_int_equal(tv_kmip_parse_versions(it->payload, v, 8, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(v[0].major, 2);
	assert_int_equal(v[1].major, 1);
	assert_int_equal(v[1].minor, 4);
	assert_int_equal(l.r.timestamp, 1795869544);
	unload(&l);

	it = resp(&l, "raw/02-query.resp.bin");
	assert_int_equal(tv_kmip_parse_query(it->payload, ops, 32, &n, vendor,
	                                     sizeof(vendor)), 0);
	assert_int_equal(n, 18);
	assert_int_equal(ops[14], TV_KOP_DECRYPT);
	assert_string_equal(vendor, "PyKMIP 0.10.0 Software Server");
	unload(&l);

	it = resp(&l, "raw/03-create-aes256-kek.resp.bin");
	assert_int_equal(it->status, TV_KSTATUS_SUCCESS);
	assert_int_equal(tv_kmip_parse_uid(it->payload, uid), 0);
	assert_string_equal(uid, "20");
	unload(&l);

	it = resp(&l, "raw/05-get.resp.bin");
	assert_int_equal(tv_kmip_parse_get(it->payload, &key), 0);
	assert_string_equal(key.uid, "20");
	assert_int_equal(key.object_type, TV_KOBJ_SYMMETRIC_KEY);
	assert_int_equal(key.format, TV_KFMT_RAW);
	assert_int_equal(key.alg, TV_KALG_AES);
	assert_int_equal(key.bits, 256);
	assert_int_equal(key.wrapped, 0);
	assert_int_equal(key.material_len, 32);
	tl_unhex("a2cb98d082a80c0a423596a4b86f703e5c2fe917aac3dcc7f96b4717cd68f32e", kek, 32);
	assert_memory_equal(key.material, kek, 32);
	unload(&l);

	it = resp(&l, "raw/06-get-attributes.resp.bin");
	assert_int_equal(tv_kmip_parse_attributes(it->payload, &a), 0);
	assert_true(a.have & TV_KATTR_STATE);
	assert_int_equal(a.state, TV_KSTATE_ACTIVE);
	assert_int_equal(a.usage, 60);
	assert_string_equal(a.name, "tape-kek-vector");
	unload(&l);

	it = resp(&l, "raw/07-locate-by-name.resp.bin");
	{
		char uids[4][TV_KMIP_UID_MAX];
		assert_int_equal(tv_kmip_parse_uids(it->payload, uids, 4, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(uids[0], "20");
	}
	unload(&l);

	/* The GCM result can be recomputed offline with the KEK from 05. */
	it = resp(&l, "raw/08-encrypt-gcm-wrap-dek.resp.bin");
	assert_int_equal(tv_kmip_parse_crypt(it->payload, &d, &dn, &t, &tn), 0);
	assert_int_equal(dn, 32);
	assert_int_equal(tn, 16);
	{
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		uint8_t out[32], otag[16];
		int len;
		assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, iv12), 1);
		assert_int_equal(EVP_EncryptUpdate(c, NULL, &len, (const uint8_t *)aad, 8), 1);
		assert_int_equal(EVP_EncryptUpdate(c, out, &len, dek, 32), 1);
		assert_int_equal(EVP_EncryptFinal_ex(c, out + len, &len), 1);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, otag), 1);
		EVP_CIPHER_CTX_free(c);
		assert_memory_equal(out, d, 32);
		assert_memory_equal(otag, t, 16);
	}
	unload(&l);

	it = resp(&l, "raw/09-decrypt-gcm-unwrap-dek.resp.bin");
	assert_int_equal(tv_kmip_parse_crypt(it->payload, &d, &dn, &t, &tn), 0);
	assert_int_equal(dn, 32);
	assert_memory_equal(d, dek, 32);
	assert_null(t);
	unload(&l);

	it = resp(&l, "raw/10-decrypt-gcm-bad-tag.resp.bin");
	assert_int_equal(it->status, TV_KSTATUS_FAILED);
	assert_int_equal(it->reason, TV_KR_GENERAL_FAILURE);
	assert_int_equal(it->op, TV_KOP_DECRYPT);
	assert_null(it->payload);
	assert_string_equal(it->message,
	                    "Operation failed. See the server logs for more information.");
	unload(&l);

	it = resp(&l, "raw/11-encrypt-no-crypto-params.resp.bin");
	assert_int_equal(it->reason, TV_KR_INVALID_FIELD);
	unload(&l);

	it = resp(&l, "raw/13-get-dek-wrapped-nist-kw.resp.bin");
	assert_int_equal(tv_kmip_parse_get(it->payload, &key), 0);
	assert_int_equal(key.wrapped, 1);
	assert_int_equal(key.material_len, 40);
	unload(&l);

	it = resp(&l, "raw/15-create-key-pair-rsa2048.resp.bin");
	assert_int_equal(tv_kmip_parse_key_pair(it->payload, uid, pub), 0);
	assert_string_equal(uid, "24");
	assert_string_equal(pub, "23");
	unload(&l);

	it = resp(&l, "raw/16-batch-create-getattributes.resp.bin");
	assert_int_equal(l.r.nitems, 2);
	assert_int_equal(it->id_len, 1);
	assert_int_equal(it->id[0], 1);
	assert_int_equal(l.r.items[1].id[0], 2);
	assert_int_equal(l.r.items[1].op, TV_KOP_GET_ATTRIBUTES);
	assert_int_equal(tv_kmip_parse_attributes(l.r.items[1].payload, &a), 0);
	assert_string_equal(a.uid, "25");
	assert_int_equal(a.state, TV_KSTATE_PRE_ACTIVE);
	unload(&l);

	/* header-level failures: no Operation in the item, version 1.0 */
	it = resp(&l, "raw/17-batch-create-activate-placeholder.resp.bin");
	assert_int_equal(it->op, 0);
	assert_int_equal(it->reason, TV_KR_INVALID_MESSAGE);
	assert_int_equal(l.r.minor, 0);
	unload(&l);

	it = resp(&l, "raw/22-get-destroyed.resp.bin");
	assert_int_equal(it->reason, TV_KR_ITEM_NOT_FOUND);
	assert_string_equal(it->message, "Could not locate object: 25");
	unload(&l);

	it = resp(&l, "raw/23-destroy-active-kek.resp.bin");
	assert_int_equal(it->reason, TV_KR_PERMISSION_DENIED);
	assert_string_equal(it->message, "Object is active and cannot be destroyed.");
	unload(&l);

	it = resp(&l, "raw/24-create-aes256-kmip20.resp.bin");
	assert_int_equal(l.r.major, 2);
	assert_int_equal(tv_kmip_parse_uid(it->payload, uid), 0);
	assert_string_equal(uid, "26");
	unload(&l);

	it = resp(&l, "raw/26-timestamp-future-5s.resp.bin");
	assert_string_equal(it->message, "Future request rejected by server.");
	unload(&l);

	it = resp(&l, "proxy/c01-007-resp.bin");
	assert_int_equal(tv_kmip_parse_attributes(it->payload, &a), 0);
	assert_int_equal(a.have, TV_KATTR_STATE | TV_KATTR_BITS);
	assert_int_equal(a.bits, 256);
	unload(&l);

	/* the dump names tags and reasons and hides key bytes */
	{
		char *buf = NULL;
		size_t sz = 0;
		FILE *f = open_memstream(&buf, &sz);
		it = resp(&l, "raw/22-get-destroyed.resp.bin");
		tv_kmip_dump(tv_ttlv_root(&l.r.doc), f, 0);
		unload(&l);
		it = resp(&l, "raw/05-get.resp.bin");
		tv_kmip_dump(tv_ttlv_root(&l.r.doc), f, 0);
		unload(&l);
		fclose(f);
		assert_non_null(strstr(buf, "Result Reason (0x42007E) = 0x00000001 (Item Not Found)"));
		assert_non_null(strstr(buf, "Key Material (0x420043) [32 bytes]\n"));
		assert_null(strstr(buf, "a2cb98"));
		free(buf);
	}
}

/* ---- hostile input ---- */

static int decode_hex(const char *hex)
{
	uint8_t buf[512];
	size_t n = tl_unhex(hex, buf, sizeof(buf));
	struct tv_ttlv_doc doc;
	int r;

	r = tv_ttlv_decode(buf, n, &doc);
	tv_ttlv_doc_free(&doc);
	return r;
}

static void test_decoder_rejects(void **state)
{
	(void)state;
	/* valid baseline: structure holding one Integer */
	assert_int_equal(decode_hex("4200780100000010" "42006a0200000004" "0000000100000000"), 0);
	/* empty input, short header */
	assert_int_equal(decode_hex(""), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("42007801000000"), TV_ERR_FORMAT);
	/* length beyond the buffer */
	assert_int_equal(decode_hex("4200780100000018" "42006a0200000004" "0000000100000000"),
	                 TV_ERR_FORMAT);
	/* child length beyond its structure */
	assert_int_equal(decode_hex("4200780100000010" "42006a0200000008" "0000000100000000"),
	                 TV_ERR_FORMAT);
	/* Integer with length 8, Enumeration with length 3 */
	assert_int_equal(decode_hex("42006a0200000008" "0000000000000001"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("42005c0500000003" "0000010000000000"), TV_ERR_FORMAT);
	/* Boolean, Long, DateTime must be 8; Interval 4 */
	assert_int_equal(decode_hex("4200000600000004" "0000000100000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200000300000004" "0000000100000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200000900000004" "0000000100000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200000a00000008" "0000000000000001"), TV_ERR_FORMAT);
	/* Boolean must be 0 or 1 */
	assert_int_equal(decode_hex("4200000600000008" "0000000000000001"), 0);
	assert_int_equal(decode_hex("4200000600000008" "0000000000000002"), TV_ERR_FORMAT);
	/* nonzero padding */
	assert_int_equal(decode_hex("42006a0200000004" "0000000100000001"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200550700000001" "4100000000000000"), 0);
	assert_int_equal(decode_hex("4200550700000001" "4100000000000100"), TV_ERR_FORMAT);
	/* value padding missing at the end */
	assert_int_equal(decode_hex("4200550700000001" "41"), TV_ERR_FORMAT);
	/* trailing bytes after the root */
	assert_int_equal(decode_hex("42006a0200000004" "0000000100000000" "00"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("42006a0200000004" "0000000100000000"
	                            "42006a0200000004" "0000000100000000"), TV_ERR_FORMAT);
	/* unknown types, bad tags */
	assert_int_equal(decode_hex("4200000c00000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200000000000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4100780100000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("5400010100000000"), 0);
	/* structure / big integer lengths must be multiples of 8 */
	assert_int_equal(decode_hex("4200780100000004" "0000000000000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200000400000004" "0000000100000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("4200000400000008" "ffffffffffffff00"), 0);
	/* length near 2^32 must not wrap */
	assert_int_equal(decode_hex("42005507fffffff9" "4100000000000000"), TV_ERR_FORMAT);
	assert_int_equal(decode_hex("42007801fffffff8" "4100000000000000"), TV_ERR_FORMAT);
}

static void test_decoder_limits(void **state)
{
	uint8_t *buf;
	size_t n, depth;
	struct tv_ttlv_doc doc;

	(void)state;
	/* nesting: depth TV_TTLV_MAX_DEPTH - 1 structures is fine, one more is not */
	for (depth = TV_TTLV_MAX_DEPTH - 1; depth <= TV_TTLV_MAX_DEPTH; depth++) {
		n = depth * 8;
		buf = calloc(1, n);
		for (size_t i = 0; i < depth; i++) {
			uint8_t *h = buf + i * 8;
			h[0] = 0x42; h[1] = 0x00; h[2] = 0x01; h[3] = TV_TTLV_STRUCT;
			tv_put_be32(h + 4, (uint32_t)(n - (i + 1) * 8));
		}
		assert_int_equal(tv_ttlv_decode(buf, n, &doc),
		                 depth < TV_TTLV_MAX_DEPTH ? 0 : TV_ERR_RANGE);
		tv_ttlv_doc_free(&doc);
		free(buf);
	}
	/* node count: a structure of TV_TTLV_MAX_NODES empty strings */
	n = 8 + (size_t)TV_TTLV_MAX_NODES * 8;
	buf = calloc(1, n);
	buf[0] = 0x42; buf[2] = 0x01; buf[3] = TV_TTLV_STRUCT;
	tv_put_be32(buf + 4, (uint32_t)(n - 8));
	for (size_t i = 0; i < TV_TTLV_MAX_NODES; i++) {
		uint8_t *h = buf + 8 + i * 8;
		h[0] = 0x42; h[2] = 0x55; h[3] = TV_TTLV_TEXT;
	}
	assert_int_equal(tv_ttlv_decode(buf, n, &doc), TV_ERR_RANGE);
	tv_ttlv_doc_free(&doc);
	tv_put_be32(buf + 4, (uint32_t)(n - 16));       /* one item fewer: fits */
	assert_int_equal(tv_ttlv_decode(buf, n - 8, &doc), 0);
	assert_int_equal(tv_ttlv_root(&doc)->nchild, TV_TTLV_MAX_NODES - 1);
	tv_ttlv_doc_free(&doc);
	free(buf);
	/* total size */
	n = TV_TTLV_MAX_MSG + 8;
	buf = calloc(1, n);
	buf[0] = 0x42; buf[3] = TV_TTLV_BYTES;
	tv_put_be32(buf + 4, (uint32_t)(n - 8));
	assert_int_equal(tv_ttlv_decode(buf, n, &doc), TV_ERR_RANGE);
	free(buf);
	/* stream framing */
	{
		const uint8_t ok[8] = { 0x42, 0x00, 0x7b, 0x01, 0, 0, 0x01, 0x70 };
		const uint8_t big[8] = { 0x42, 0x00, 0x7b, 0x01, 0x7f, 0, 0, 0 };
		const uint8_t odd[8] = { 0x42, 0x00, 0x7b, 0x01, 0, 0, 0, 0x0c };
		const uint8_t text[8] = { 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31 };
		assert_int_equal(tv_ttlv_msg_len(ok, TV_TTLV_MAX_MSG, &n), 0);
		assert_int_equal(n, 376);
		assert_int_equal(tv_ttlv_msg_len(big, TV_TTLV_MAX_MSG, &n), TV_ERR_PROTO);
		assert_int_equal(tv_ttlv_msg_len(odd, TV_TTLV_MAX_MSG, &n), TV_ERR_PROTO);
		assert_int_equal(tv_ttlv_msg_len(text, TV_TTLV_MAX_MSG, &n), TV_ERR_PROTO);
	}
}

/* Every truncation fails cleanly; every single-byte corruption either fails
 * cleanly or still round-trips. */
static void test_mutations(void **state)
{
	static const char *const files[] = {
		"raw/05-get.resp.bin", "raw/16-batch-create-getattributes.resp.bin",
		"raw/06-get-attributes.resp.bin", "raw/15-create-key-pair-rsa2048.req.bin"
	};

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t n;
		uint8_t *p = load(files[f], &n);
		struct tv_ttlv_doc doc;
		struct tv_kmip_resp r;

		for (size_t cut = 0; cut < n; cut++) {
			assert_int_not_equal(tv_ttlv_decode(p, cut, &doc), 0);
			assert_int_not_equal(tv_kmip_resp_parse(p, cut, &r), 0);
		}
		for (size_t i = 0; i < n; i++) {
			static const uint8_t flips[] = { 0x01, 0x80, 0xff };
			for (size_t j = 0; j < sizeof(flips); j++) {
				p[i] ^= flips[j];
				if (tv_ttlv_decode(p, n, &doc) == 0) {
					tv_ttlv_doc_free(&doc);
					roundtrip_bytes(p, n, files[f]);
				}
				if (tv_kmip_resp_parse(p, n, &r) == 0)
					tv_kmip_resp_free(&r);
				p[i] ^= flips[j];
			}
		}
		free(p);
	}
}

static void test_encoder(void **state)
{
	struct tv_ttlv_enc e;
	struct tv_buf b;
	struct tv_ttlv_doc doc;
	const struct tv_ttlv *root, *x;
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	int bv;
	char txt[8];
	const uint8_t *bp;
	size_t bn;

	(void)state;
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	tv_ttlv_begin(&e, 0x420001);
	tv_ttlv_put_int(&e, 0x420002, -5);
	tv_ttlv_put_long(&e, 0x420003, -1234567890123LL);
	tv_ttlv_put_enum(&e, 0x420004, 0xdeadbeef);
	tv_ttlv_put_bool(&e, 0x420005, 7);
	tv_ttlv_put_text(&e, 0x420006, "hello");
	tv_ttlv_put_bytes(&e, 0x420007, (const uint8_t *)"\x00\x01\x02", 3);
	tv_ttlv_put_datetime(&e, 0x420008, 1795869544);
	tv_ttlv_put_interval(&e, 0x420009, 86400);
	tv_ttlv_put_bigint(&e, 0x42000a, (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xfe", 8);
	tv_ttlv_begin(&e, 0x42000b);
	tv_ttlv_end(&e);
	tv_ttlv_end(&e);
	assert_int_equal(tv_ttlv_enc_finish(&e), 0);
	assert_int_equal(b.len % 8, 0);
	assert_int_equal(tv_ttlv_decode(b.d, b.len, &doc), 0);
	root = tv_ttlv_root(&doc);
	assert_int_equal(root->nchild, 10);
	assert_int_equal(tv_ttlv_int(tv_ttlv_find(root, 0x420002), &i32), 0);
	assert_int_equal(i32, -5);
	assert_int_equal(tv_ttlv_long(tv_ttlv_find(root, 0x420003), &i64), 0);
	assert_true(i64 == -1234567890123LL);
	assert_int_equal(tv_ttlv_enum(tv_ttlv_find(root, 0x420004), &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(tv_ttlv_bool(tv_ttlv_find(root, 0x420005), &bv), 0);
	assert_int_equal(bv, 1);
	assert_int_equal(tv_ttlv_text(tv_ttlv_find(root, 0x420006), txt, sizeof(txt)), 0);
	assert_string_equal(txt, "hello");
	assert_int_equal(tv_ttlv_text(tv_ttlv_find(root, 0x420006), txt, 5), TV_ERR_RANGE);
	assert_int_equal(tv_ttlv_bytes(tv_ttlv_find(root, 0x420007), &bp, &bn), 0);
	assert_int_equal(bn, 3);
	assert_int_equal(tv_ttlv_datetime(tv_ttlv_find(root, 0x420008), &i64), 0);
	assert_true(i64 == 1795869544);
	assert_int_equal(tv_ttlv_interval(tv_ttlv_find(root, 0x420009), &u32), 0);
	assert_int_equal(u32, 86400);
	x = tv_ttlv_find(root, 0x42000b);
	assert_non_null(x);
	assert_int_equal(x->nchild, 0);
	/* wrong-type access fails */
	assert_int_equal(tv_ttlv_int(tv_ttlv_find(root, 0x420004), &i32), TV_ERR_FORMAT);
	assert_int_equal(tv_ttlv_int(NULL, &i32), TV_ERR_FORMAT);
	assert_null(tv_ttlv_find(NULL, 1));
	assert_int_equal(tv_ttlv_count(root, 0x420002), 1);
	tv_ttlv_doc_free(&doc);
	tv_buf_free(&b);

	/* text with NUL is rejected on the way out */
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	tv_ttlv_put_text_n(&e, 0x420055, "a\0b", 3);
	assert_int_equal(tv_ttlv_enc_finish(&e), 0);
	assert_int_equal(tv_ttlv_decode(b.d, b.len, &doc), 0);
	assert_int_equal(tv_ttlv_text(tv_ttlv_root(&doc), txt, sizeof(txt)), TV_ERR_FORMAT);
	tv_ttlv_doc_free(&doc);
	tv_buf_free(&b);

	/* unbalanced, bad tag, bad bigint: sticky errors */
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	tv_ttlv_begin(&e, 0x420001);
	assert_int_not_equal(tv_ttlv_enc_finish(&e), 0);
	tv_buf_free(&b);
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	assert_int_not_equal(tv_ttlv_end(&e), 0);
	assert_int_not_equal(tv_ttlv_put_int(&e, 0x420002, 1), 0);  /* sticky */
	tv_buf_free(&b);
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	assert_int_equal(tv_ttlv_put_int(&e, 0x990002, 1), TV_ERR_INVAL);
	tv_buf_free(&b);
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	assert_int_equal(tv_ttlv_put_bigint(&e, 0x420002, (const uint8_t *)"\x01", 1),
	                 TV_ERR_INVAL);
	tv_buf_free(&b);
	/* depth limit */
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	for (int i = 0; i < TV_TTLV_MAX_DEPTH - 1; i++)
		assert_int_equal(tv_ttlv_begin(&e, 0x420001), 0);
	assert_int_equal(tv_ttlv_begin(&e, 0x420001), TV_ERR_RANGE);
	tv_buf_free(&b);
}

static void test_response_structure_errors(void **state)
{
	size_t n;
	uint8_t *p;
	struct tv_kmip_resp r;

	(void)state;
	/* a request is not a response */
	p = load("raw/05-get.req.bin", &n);
	assert_int_equal(tv_kmip_resp_parse(p, n, &r), TV_ERR_PROTO);
	free(p);
	/* Batch Count must match the items: 04-activate response says 1, make it 2 */
	p = load("raw/04-activate.resp.bin", &n);
	assert_int_equal(p[0x50 + 3], 1);
	p[0x50 + 3] = 2;
	assert_int_equal(tv_kmip_resp_parse(p, n, &r), TV_ERR_PROTO);
	assert_non_null(strstr(tv_errdetail(), "Batch Count 2 but 1 items"));
	p[0x50 + 3] = 0;
	assert_int_equal(tv_kmip_resp_parse(p, n, &r), TV_ERR_PROTO);
	/* Result Status as Integer instead of Enumeration */
	p[0x50 + 3] = 1;
	assert_int_equal(p[0x73], 0x05);
	p[0x73] = 0x02;
	assert_int_equal(tv_kmip_resp_parse(p, n, &r), TV_ERR_PROTO);
	free(p);
	/* payload parsers on a missing payload */
	{
		char uid[TV_KMIP_UID_MAX];
		struct tv_kmip_key key;
		assert_int_equal(tv_kmip_parse_uid(NULL, uid), TV_ERR_PROTO);
		assert_int_equal(tv_kmip_parse_get(NULL, &key), TV_ERR_PROTO);
	}
}

/* ---- issue 10: responses must answer our request ---- */

struct citem { uint32_t op; int id; uint32_t status; };   /* id -1: none */

/* A response of n items; item i carries Operation c[i].op (0: none),
 * Unique Batch Item ID {id,id,...} (8 bytes) and Result Status. */
static void craft(struct tv_buf *b, const struct citem *c, size_t n)
{
	struct tv_ttlv_enc e;

	tv_buf_init(b);
	tv_ttlv_enc_init(&e, b);
	tv_ttlv_begin(&e, TV_KT_RESPONSE_MESSAGE);
	tv_ttlv_begin(&e, TV_KT_RESPONSE_HEADER);
	tv_ttlv_begin(&e, TV_KT_PROTOCOL_VERSION);
	tv_ttlv_put_int(&e, TV_KT_PROTOCOL_VERSION_MAJOR, 1);
	tv_ttlv_put_int(&e, TV_KT_PROTOCOL_VERSION_MINOR, 4);
	tv_ttlv_end(&e);
	tv_ttlv_put_int(&e, TV_KT_BATCH_COUNT, (int32_t)n);
	tv_ttlv_end(&e);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[8];
		memset(id, c[i].id, sizeof(id));
		tv_ttlv_begin(&e, TV_KT_BATCH_ITEM);
		if (c[i].op)
			tv_ttlv_put_enum(&e, TV_KT_OPERATION, c[i].op);
		if (c[i].id >= 0)
			tv_ttlv_put_bytes(&e, TV_KT_UNIQUE_BATCH_ITEM_ID, id, sizeof(id));
		tv_ttlv_put_enum(&e, TV_KT_RESULT_STATUS, c[i].status);
		if (c[i].status != TV_KSTATUS_SUCCESS)
			tv_ttlv_put_enum(&e, TV_KT_RESULT_REASON, TV_KR_ITEM_NOT_FOUND);
		tv_ttlv_end(&e);
	}
	tv_ttlv_end(&e);
	assert_int_equal(tv_ttlv_enc_finish(&e), 0);
}

/* tv_kmip_resp_match of a crafted response against a request of nreq
 * Activate items with ids {1..}, {2..}, ... */
static int match_crafted(const struct citem *c, size_t n, size_t nreq,
                         struct tv_kmip_resp *r)
{
	static const uint32_t ops[4] = { TV_KOP_ACTIVATE, TV_KOP_ACTIVATE, TV_KOP_ACTIVATE,
	                                 TV_KOP_ACTIVATE };
	uint8_t ids[4][TV_KMIP_BATCH_ID_LEN];
	struct tv_buf b;
	int rc;

	for (int i = 0; i < 4; i++)
		memset(ids[i], i + 1, TV_KMIP_BATCH_ID_LEN);
	craft(&b, c, n);
	assert_int_equal(tv_kmip_resp_parse(b.d, b.len, r), 0);
	rc = tv_kmip_resp_match(r, ops, (const uint8_t (*)[TV_KMIP_BATCH_ID_LEN])ids, nreq);
	tv_buf_free(&b);      /* r points into b: callers look only at ids */
	return rc;
}

#define MATCH_ERR(c, nreq, text) do { \
	struct tv_kmip_resp r_; \
	assert_int_equal(match_crafted((c), sizeof(c) / sizeof((c)[0]), (nreq), &r_), \
	                 TV_ERR_PROTO); \
	if (strstr(tv_errdetail(), (text)) == NULL) \
		fail_msg("message lacks \"%s\": %s", (text), tv_errdetail()); \
	tv_kmip_resp_free(&r_); \
} while (0)

static void test_response_match(void **state)
{
	const uint32_t A = TV_KOP_ACTIVATE, OK = TV_KSTATUS_SUCCESS, NO = TV_KSTATUS_FAILED;
	struct tv_kmip_resp r;

	(void)state;
	{       /* answered out of order: put back in request order */
		const struct citem c[] = { { A, 2, NO }, { A, 1, OK } };
		assert_int_equal(match_crafted(c, 2, 2, &r), 0);
		assert_int_equal(r.items[0].status, OK);
		assert_int_equal(r.items[1].status, NO);
		tv_kmip_resp_free(&r);
	}
	{       /* PyKMIP's answer to a request it could not parse */
		const struct citem c[] = { { 0, -1, NO } };
		assert_int_equal(match_crafted(c, 1, 2, &r), 0);
		assert_true(tv_kmip_resp_whole_failure(&r));
		tv_kmip_resp_free(&r);
	}
	{       /* a batch stopped at its first failure */
		const struct citem c[] = { { A, 1, NO } };
		assert_int_equal(match_crafted(c, 1, 2, &r), 0);
		tv_kmip_resp_free(&r);
	}
	{
		const struct citem c1[] = { { A, 1, OK } };
		const struct citem c2[] = { { A, 9, OK } };
		const struct citem c3[] = { { A, -1, OK } };
		const struct citem c4[] = { { 0, 1, OK } };
		const struct citem c5[] = { { TV_KOP_GET, 1, OK } };
		const struct citem c6[] = { { A, 1, OK }, { A, 1, OK } };
		const struct citem c7[] = { { A, 1, OK }, { A, 2, OK }, { A, 3, OK } };
		const struct citem c8[] = { { A, 1, NO }, { A, -1, NO } };
		MATCH_ERR(c1, 2, "1 batch items answer a request of 2 and none failed");
		MATCH_ERR(c2, 1, "Unique Batch Item ID we did not send");
		MATCH_ERR(c3, 1, "carries no Unique Batch Item ID");
		MATCH_ERR(c4, 1, "without naming the operation");
		MATCH_ERR(c5, 1, "our Activate request was answered with a Get response");
		MATCH_ERR(c6, 2, "two batch items of the response answer request item 1");
		MATCH_ERR(c7, 2, "3 batch items answer a request of 2");
		MATCH_ERR(c8, 2, "failed batch item 2 of the response carries no Unique");
	}
}

static void test_get_uid_checked(void **state)
{
	struct loaded l;
	const struct tv_kmip_item *it;
	struct tv_kmip_key key;

	(void)state;
	it = resp(&l, "raw/05-get.resp.bin");
	assert_int_equal(tv_kmip_parse_get_checked(it->payload, "20", &key), 0);
	assert_int_equal(key.material_len, 32);
	assert_int_equal(tv_kmip_parse_get_checked(it->payload, "21", &key), TV_ERR_PROTO);
	assert_non_null(strstr(tv_errdetail(), "asked for key '21', the KMS returned key '20'"));
	assert_null(key.material);
	unload(&l);
}

/* RSA-OAEP Decrypt parameters in KMIP 1.4 field order. */
static void test_rsa_oaep_params(void **state)
{
	static const uint32_t want[] = {
		TV_KT_PADDING_METHOD, TV_KT_HASHING_ALGORITHM, TV_KT_CRYPTOGRAPHIC_ALGORITHM,
		TV_KT_MASK_GENERATOR, TV_KT_MASK_GENERATOR_HASH, TV_KT_P_SOURCE
	};
	const struct tv_kmip_cparams cp = {
		.padding = TV_KPAD_OAEP, .hash = TV_KHASH_SHA256, .alg = TV_KALG_RSA,
		.mgf = TV_KMGF_MGF1, .mgf_hash = TV_KHASH_SHA256,
		.p_source = (const uint8_t *)"label", .p_source_len = 5
	};
	static const uint8_t ct[4] = { 1, 2, 3, 4 };
	struct tv_ttlv_enc e;
	struct tv_ttlv_doc d;
	struct tv_buf b;
	const struct tv_ttlv *x;
	size_t i = 0;

	(void)state;
	tv_buf_init(&b);
	tv_ttlv_enc_init(&e, &b);
	tv_ttlv_begin(&e, TV_KT_REQUEST_PAYLOAD);
	tv_kmip_pl_decrypt(&e, "9", &cp, ct, sizeof(ct), NULL, 0, NULL, 0, NULL, 0);
	tv_ttlv_end(&e);
	assert_int_equal(tv_ttlv_enc_finish(&e), 0);
	assert_int_equal(tv_ttlv_decode(b.d, b.len, &d), 0);
	x = tv_ttlv_find(tv_ttlv_root(&d), TV_KT_CRYPTOGRAPHIC_PARAMETERS);
	assert_non_null(x);
	for (const struct tv_ttlv *c = x->child; c != NULL; c = c->next, i++) {
		assert_true(i < sizeof(want) / sizeof(want[0]));
		assert_int_equal(c->tag, want[i]);
	}
	assert_int_equal(i, sizeof(want) / sizeof(want[0]));
	x = tv_ttlv_find(x, TV_KT_P_SOURCE);
	assert_int_equal(x->type, TV_TTLV_BYTES);
	assert_memory_equal(x->val, "label", 5);
	assert_string_equal(tv_kmip_tag_name(TV_KT_P_SOURCE), "P Source");
	tv_ttlv_doc_free(&d);
	tv_buf_free(&b);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_vectors_roundtrip),
		cmocka_unit_test(test_requests_match_raw),
		cmocka_unit_test(test_requests_match_proxy),
		cmocka_unit_test(test_response_semantics),
		cmocka_unit_test(test_decoder_rejects),
		cmocka_unit_test(test_decoder_limits),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_response_structure_errors),
		cmocka_unit_test(test_response_match),
		cmocka_unit_test(test_get_uid_checked),
		cmocka_unit_test(test_rsa_oaep_params),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
