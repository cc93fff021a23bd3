/* Fuzz target: KMIP TTLV decoding and response parsing of hostile bytes
 * (what a malicious or broken KMS could send).  Checks, beyond "no crash":
 * whatever the decoder accepts re-encodes to the identical bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/kmip.h"
#include "kms/ttlv.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_payload(const struct tv_ttlv *pl)
{
	char uid[TV_KMIP_UID_MAX], pub[TV_KMIP_UID_MAX], vendor[64];
	char uids[4][TV_KMIP_UID_MAX];
	struct tv_kmip_version v[4];
	struct tv_kmip_key key;
	struct tv_kmip_attrs a;
	uint32_t ops[8];
	const uint8_t *d, *t;
	size_t n, tn;

	(void)tv_kmip_parse_versions(pl, v, 4, &n);
	(void)tv_kmip_parse_query(pl, ops, 8, &n, vendor, sizeof(vendor));
	(void)tv_kmip_parse_uid(pl, uid);
	(void)tv_kmip_parse_uids(pl, uids, 4, &n);
	(void)tv_kmip_parse_key_pair(pl, uid, pub);
	(void)tv_kmip_parse_get_checked(pl, "1", &key);
	if (tv_kmip_parse_get(pl, &key) == 0 && key.material != NULL) {
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < key.material_len; i++)
			sink ^= key.material[i];
		(void)sink;
	}
	(void)tv_kmip_parse_attributes(pl, &a);
	(void)tv_kmip_parse_crypt(pl, &d, &n, &t, &tn);
}

/* Check the response against a request made of its own ids and operations
 * (so the matching succeeds as often as it can), with one request item
 * more, and against ids it does not carry. */
static void match(const struct tv_kmip_resp *r)
{
	uint8_t ids[TV_KMIP_MAX_BATCH][TV_KMIP_BATCH_ID_LEN];
	uint32_t ops[TV_KMIP_MAX_BATCH];
	struct tv_kmip_resp copy;
	size_t n = r->nitems;

	for (size_t i = 0; i < TV_KMIP_MAX_BATCH; i++) {
		const struct tv_kmip_item *it = i < n ? &r->items[i] : NULL;
		memset(ids[i], (int)i, TV_KMIP_BATCH_ID_LEN);
		if (it != NULL && it->id != NULL && it->id_len == TV_KMIP_BATCH_ID_LEN)
			memcpy(ids[i], it->id, TV_KMIP_BATCH_ID_LEN);
		ops[i] = it != NULL && it->op != 0 ? it->op : TV_KOP_GET;
	}
	for (size_t extra = 0; extra < 2; extra++) {
		if (n + extra == 0 || n + extra > TV_KMIP_MAX_BATCH)
			continue;
		copy = *r;          /* items are reordered in place */
		(void)tv_kmip_resp_match(&copy, ops, (const uint8_t (*)[TV_KMIP_BATCH_ID_LEN])ids,
		                         n + extra);
	}
	copy = *r;
	ids[0][0] ^= 0x80;
	(void)tv_kmip_resp_match(&copy, ops, (const uint8_t (*)[TV_KMIP_BATCH_ID_LEN])ids,
	                         n ? n : 1);
	(void)tv_kmip_resp_whole_failure(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct tv_ttlv_doc doc;
	struct tv_kmip_resp r;
	size_t total;

	if (devnull == NULL)
		devnull = fopen("/dev/null", "w");
	if (size >= TV_TTLV_HDR)
		(void)tv_ttlv_msg_len(data, TV_TTLV_MAX_MSG, &total);
	if (tv_ttlv_decode(data, size, &doc) == 0) {
		struct tv_ttlv_enc e;
		struct tv_buf b;

		tv_buf_init(&b);
		tv_ttlv_enc_init(&e, &b);
		tv_ttlv_put_node(&e, tv_ttlv_root(&doc));
		if (tv_ttlv_enc_finish(&e) != 0 || b.len != size || memcmp(b.d, data, size) != 0)
			abort();          /* accepted input must round-trip exactly */
		if (devnull != NULL)
			tv_kmip_dump(tv_ttlv_root(&doc), devnull, 1);
		tv_buf_free(&b);
		tv_ttlv_doc_free(&doc);
	}
	if (tv_kmip_resp_parse(data, size, &r) == 0) {
		for (size_t i = 0; i < r.nitems; i++)
			parse_payload(r.items[i].payload);
		match(&r);
		tv_kmip_resp_free(&r);
	}
	return 0;
}
