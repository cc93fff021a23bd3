/* tapevault: KMIP request builders and response parsers. */
#include "kms/kmip.h"

#include <inttypes.h>
#include <string.h>

#include "util/err.h"

/* ---- requests ---- */

int tv_kmip_req_begin(struct tv_ttlv_enc *e, struct tv_buf *b, int major, int minor,
                      int batch_count)
{
	tv_ttlv_enc_init(e, b);
	tv_ttlv_begin(e, TV_KT_REQUEST_MESSAGE);
	tv_ttlv_begin(e, TV_KT_REQUEST_HEADER);
	tv_ttlv_begin(e, TV_KT_PROTOCOL_VERSION);
	tv_ttlv_put_int(e, TV_KT_PROTOCOL_VERSION_MAJOR, major);
	tv_ttlv_put_int(e, TV_KT_PROTOCOL_VERSION_MINOR, minor);
	tv_ttlv_end(e);
	tv_ttlv_put_int(e, TV_KT_BATCH_COUNT, batch_count);
	return tv_ttlv_end(e);
}

int tv_kmip_item_begin(struct tv_ttlv_enc *e, uint32_t op, const uint8_t *id,
                       size_t id_len)
{
	tv_ttlv_begin(e, TV_KT_BATCH_ITEM);
	tv_ttlv_put_enum(e, TV_KT_OPERATION, op);
	if (id_len > 0)
		tv_ttlv_put_bytes(e, TV_KT_UNIQUE_BATCH_ITEM_ID, id, id_len);
	return tv_ttlv_begin(e, TV_KT_REQUEST_PAYLOAD);
}

int tv_kmip_item_end(struct tv_ttlv_enc *e)
{
	tv_ttlv_end(e);               /* Request Payload */
	return tv_ttlv_end(e);        /* Batch Item */
}

int tv_kmip_req_end(struct tv_ttlv_enc *e)
{
	tv_ttlv_end(e);               /* Request Message */
	return tv_ttlv_enc_finish(e);
}

int tv_kmip_pl_query(struct tv_ttlv_enc *e, const uint32_t *funcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tv_ttlv_put_enum(e, TV_KT_QUERY_FUNCTION, funcs[i]);
	return e->err;
}

static void attr_begin(struct tv_ttlv_enc *e, const char *name)
{
	tv_ttlv_begin(e, TV_KT_ATTRIBUTE);
	tv_ttlv_put_text(e, TV_KT_ATTRIBUTE_NAME, name);
}

static void attr_enum(struct tv_ttlv_enc *e, const char *name, uint32_t v)
{
	attr_begin(e, name);
	tv_ttlv_put_enum(e, TV_KT_ATTRIBUTE_VALUE, v);
	tv_ttlv_end(e);
}

static void attr_int(struct tv_ttlv_enc *e, const char *name, int32_t v)
{
	attr_begin(e, name);
	tv_ttlv_put_int(e, TV_KT_ATTRIBUTE_VALUE, v);
	tv_ttlv_end(e);
}

static void attr_name(struct tv_ttlv_enc *e, const char *name)
{
	attr_begin(e, "Name");
	tv_ttlv_begin(e, TV_KT_ATTRIBUTE_VALUE);
	tv_ttlv_put_text(e, TV_KT_NAME_VALUE, name);
	tv_ttlv_put_enum(e, TV_KT_NAME_TYPE, TV_KNAME_TEXT);
	tv_ttlv_end(e);
	tv_ttlv_end(e);
}

int tv_kmip_pl_create_symmetric(struct tv_ttlv_enc *e, uint32_t alg, int32_t bits,
                                uint32_t usage, const char *name)
{
	tv_ttlv_put_enum(e, TV_KT_OBJECT_TYPE, TV_KOBJ_SYMMETRIC_KEY);
	tv_ttlv_begin(e, TV_KT_TEMPLATE_ATTRIBUTE);
	attr_enum(e, "Cryptographic Algorithm", alg);
	attr_int(e, "Cryptographic Length", bits);
	attr_int(e, "Cryptographic Usage Mask", (int32_t)usage);
	if (name != NULL)
		attr_name(e, name);
	return tv_ttlv_end(e);
}

int tv_kmip_pl_create_key_pair(struct tv_ttlv_enc *e, uint32_t alg, int32_t bits,
                               uint32_t priv_usage, const char *priv_name,
                               uint32_t pub_usage, const char *pub_name)
{
	tv_ttlv_begin(e, TV_KT_COMMON_TEMPLATE_ATTRIBUTE);
	attr_enum(e, "Cryptographic Algorithm", alg);
	attr_int(e, "Cryptographic Length", bits);
	tv_ttlv_end(e);
	tv_ttlv_begin(e, TV_KT_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
	attr_int(e, "Cryptographic Usage Mask", (int32_t)priv_usage);
	if (priv_name != NULL)
		attr_name(e, priv_name);
	tv_ttlv_end(e);
	tv_ttlv_begin(e, TV_KT_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
	attr_int(e, "Cryptographic Usage Mask", (int32_t)pub_usage);
	if (pub_name != NULL)
		attr_name(e, pub_name);
	return tv_ttlv_end(e);
}

int tv_kmip_pl_uid(struct tv_ttlv_enc *e, const char *uid)
{
	if (uid == NULL)
		return e->err;
	return tv_ttlv_put_text(e, TV_KT_UNIQUE_IDENTIFIER, uid);
}

int tv_kmip_pl_get_attributes(struct tv_ttlv_enc *e, const char *uid,
                              const char *const *names, size_t n)
{
	if (uid != NULL)       /* none: the ID Placeholder of the batch */
		tv_ttlv_put_text(e, TV_KT_UNIQUE_IDENTIFIER, uid);
	for (size_t i = 0; i < n; i++)
		tv_ttlv_put_text(e, TV_KT_ATTRIBUTE_NAME, names[i]);
	return e->err;
}

int tv_kmip_pl_locate_name(struct tv_ttlv_enc *e, const char *name)
{
	attr_name(e, name);
	return e->err;
}

int tv_kmip_pl_revoke(struct tv_ttlv_enc *e, const char *uid, uint32_t reason_code)
{
	tv_kmip_pl_uid(e, uid);
	tv_ttlv_begin(e, TV_KT_REVOCATION_REASON);
	tv_ttlv_put_enum(e, TV_KT_REVOCATION_REASON_CODE, reason_code);
	return tv_ttlv_end(e);
}

static void put_cparams(struct tv_ttlv_enc *e, const struct tv_kmip_cparams *cp)
{
	if (cp == NULL)
		return;
	tv_ttlv_begin(e, TV_KT_CRYPTOGRAPHIC_PARAMETERS);
	if (cp->mode)
		tv_ttlv_put_enum(e, TV_KT_BLOCK_CIPHER_MODE, cp->mode);
	if (cp->padding)
		tv_ttlv_put_enum(e, TV_KT_PADDING_METHOD, cp->padding);
	if (cp->hash)
		tv_ttlv_put_enum(e, TV_KT_HASHING_ALGORITHM, cp->hash);
	if (cp->alg)
		tv_ttlv_put_enum(e, TV_KT_CRYPTOGRAPHIC_ALGORITHM, cp->alg);
	if (cp->tag_len)
		tv_ttlv_put_int(e, TV_KT_TAG_LENGTH, cp->tag_len);
	if (cp->mgf)
		tv_ttlv_put_enum(e, TV_KT_MASK_GENERATOR, cp->mgf);
	if (cp->mgf_hash)
		tv_ttlv_put_enum(e, TV_KT_MASK_GENERATOR_HASH, cp->mgf_hash);
	if (cp->p_source != NULL && cp->p_source_len > 0)
		tv_ttlv_put_bytes(e, TV_KT_P_SOURCE, cp->p_source, cp->p_source_len);
	tv_ttlv_end(e);
}

int tv_kmip_pl_encrypt(struct tv_ttlv_enc *e, const char *uid,
                       const struct tv_kmip_cparams *cp,
                       const uint8_t *data, size_t n, const uint8_t *iv, size_t ivn,
                       const uint8_t *aad, size_t aadn)
{
	return tv_kmip_pl_decrypt(e, uid, cp, data, n, iv, ivn, aad, aadn, NULL, 0);
}

int tv_kmip_pl_decrypt(struct tv_ttlv_enc *e, const char *uid,
                       const struct tv_kmip_cparams *cp,
                       const uint8_t *data, size_t n, const uint8_t *iv, size_t ivn,
                       const uint8_t *aad, size_t aadn, const uint8_t *tag, size_t tagn)
{
	/* Encrypt and Decrypt share the field order; Encrypt has no tag. */
	if (uid != NULL)
		tv_ttlv_put_text(e, TV_KT_UNIQUE_IDENTIFIER, uid);
	put_cparams(e, cp);
	tv_ttlv_put_bytes(e, TV_KT_DATA, data, n);
	if (iv != NULL && ivn > 0)
		tv_ttlv_put_bytes(e, TV_KT_IV_COUNTER_NONCE, iv, ivn);
	if (aad != NULL && aadn > 0)
		tv_ttlv_put_bytes(e, TV_KT_AAD, aad, aadn);
	if (tag != NULL && tagn > 0)
		tv_ttlv_put_bytes(e, TV_KT_AUTH_TAG, tag, tagn);
	return e->err;
}

/* ---- responses ---- */

static void sanitize(const struct tv_ttlv *n, char *out, size_t outsz)
{
	size_t k = 0;

	out[0] = '\0';
	if (n == NULL || n->type != TV_TTLV_TEXT)
		return;
	for (size_t i = 0; i < n->len && k + 1 < outsz; i++) {
		uint8_t c = n->val[i];
		out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[k] = '\0';
}

static int proto(const char *what)
{
	return tv_errf(TV_ERR_PROTO, "malformed KMIP response: %s", what);
}

static int get_i32(const struct tv_ttlv *s, uint32_t tag, int32_t *v)
{
	const struct tv_ttlv *n = tv_ttlv_find(s, tag);
	if (n == NULL || n->type != TV_TTLV_INT)
		return -1;
	*v = (int32_t)tv_get_be32(n->val);
	return 0;
}

static int get_enum(const struct tv_ttlv *s, uint32_t tag, uint32_t *v)
{
	const struct tv_ttlv *n = tv_ttlv_find(s, tag);
	if (n == NULL || n->type != TV_TTLV_ENUM)
		return -1;
	*v = tv_get_be32(n->val);
	return 0;
}

int tv_kmip_resp_parse(const uint8_t *p, size_t n, struct tv_kmip_resp *r)
{
	const struct tv_ttlv *root, *hdr, *pv, *ts, *it;
	int32_t count;
	int rc;

	memset(r, 0, sizeof(*r));
	if (tv_ttlv_decode(p, n, &r->doc) != 0)
		return tv_errctx(TV_ERR_PROTO, "malformed KMIP response");
	root = tv_ttlv_root(&r->doc);
	if (root->tag != TV_KT_RESPONSE_MESSAGE || root->type != TV_TTLV_STRUCT) {
		rc = proto(root->tag == TV_KT_REQUEST_MESSAGE ? "got a request message"
		                                              : "not a Response Message");
		goto fail;
	}
	hdr = tv_ttlv_find(root, TV_KT_RESPONSE_HEADER);
	if (hdr == NULL || hdr->type != TV_TTLV_STRUCT) {
		rc = proto("no Response Header");
		goto fail;
	}
	pv = tv_ttlv_find(hdr, TV_KT_PROTOCOL_VERSION);
	if (get_i32(pv, TV_KT_PROTOCOL_VERSION_MAJOR, &r->major) != 0 ||
	    get_i32(pv, TV_KT_PROTOCOL_VERSION_MINOR, &r->minor) != 0) {
		rc = proto("no Protocol Version");
		goto fail;
	}
	ts = tv_ttlv_find(hdr, TV_KT_TIME_STAMP);
	if (ts != NULL && tv_ttlv_datetime(ts, &r->timestamp) != 0) {
		rc = proto("Time Stamp is not a Date-Time");
		goto fail;
	}
	if (get_i32(hdr, TV_KT_BATCH_COUNT, &count) != 0) {
		rc = proto("no Batch Count");
		goto fail;
	}
	if (count < 1 || count > TV_KMIP_MAX_BATCH) {
		rc = tv_errf(TV_ERR_PROTO, "malformed KMIP response: Batch Count %" PRId32,
		             count);
		goto fail;
	}
	for (it = tv_ttlv_find(root, TV_KT_BATCH_ITEM); it; it = tv_ttlv_find_next(it)) {
		struct tv_kmip_item *bi;
		const struct tv_ttlv *x;

		if (r->nitems >= TV_KMIP_MAX_BATCH) {
			rc = proto("too many batch items");
			goto fail;
		}
		if (it->type != TV_TTLV_STRUCT) {
			rc = proto("Batch Item is not a structure");
			goto fail;
		}
		bi = &r->items[r->nitems++];
		if ((x = tv_ttlv_find(it, TV_KT_OPERATION)) != NULL &&
		    tv_ttlv_enum(x, &bi->op) != 0) {
			rc = proto("Operation is not an enumeration");
			goto fail;
		}
		if ((x = tv_ttlv_find(it, TV_KT_UNIQUE_BATCH_ITEM_ID)) != NULL) {
			if (x->type != TV_TTLV_BYTES) {
				rc = proto("Unique Batch Item ID is not a byte string");
				goto fail;
			}
			bi->id = x->val;
			bi->id_len = x->len;
		}
		if (get_enum(it, TV_KT_RESULT_STATUS, &bi->status) != 0) {
			rc = proto("batch item without Result Status");
			goto fail;
		}
		if ((x = tv_ttlv_find(it, TV_KT_RESULT_REASON)) != NULL &&
		    tv_ttlv_enum(x, &bi->reason) != 0) {
			rc = proto("Result Reason is not an enumeration");
			goto fail;
		}
		sanitize(tv_ttlv_find(it, TV_KT_RESULT_MESSAGE), bi->message,
		         sizeof(bi->message));
		x = tv_ttlv_find(it, TV_KT_RESPONSE_PAYLOAD);
		if (x != NULL && x->type != TV_TTLV_STRUCT) {
			rc = proto("Response Payload is not a structure");
			goto fail;
		}
		bi->payload = x;
	}
	if (r->nitems != (size_t)count) {
		rc = tv_errf(TV_ERR_PROTO,
		             "malformed KMIP response: Batch Count %" PRId32 " but %zu items",
		             count, r->nitems);
		goto fail;
	}
	return 0;
fail:
	tv_kmip_resp_free(r);
	return rc;
}

void tv_kmip_resp_free(struct tv_kmip_resp *r)
{
	tv_ttlv_doc_free(&r->doc);
	memset(r, 0, sizeof(*r));
}

int tv_kmip_resp_whole_failure(const struct tv_kmip_resp *r)
{
	return r->nitems == 1 && r->items[0].status != TV_KSTATUS_SUCCESS &&
	       r->items[0].op == 0 && r->items[0].id == NULL;
}

/* Index of the request item whose id this response item carries, or -1. */
static int match_id(const struct tv_kmip_item *it,
                    const uint8_t (*ids)[TV_KMIP_BATCH_ID_LEN], size_t n)
{
	if (it->id == NULL || it->id_len != TV_KMIP_BATCH_ID_LEN)
		return -1;
	for (size_t j = 0; j < n; j++)
		if (memcmp(it->id, ids[j], TV_KMIP_BATCH_ID_LEN) == 0)
			return (int)j;
	return -1;
}

/* Check one response item against the request item it names. */
static int match_item(const struct tv_kmip_item *it, size_t i, int j, const uint32_t *ops)
{
	int ok = it->status == TV_KSTATUS_SUCCESS;

	if (j < 0 && (ok || it->id != NULL))
		return tv_errf(TV_ERR_PROTO, "batch item %zu of the response %s", i + 1,
		               it->id ? "carries a Unique Batch Item ID we did not send"
		                      : "carries no Unique Batch Item ID");
	if (it->op == 0 && ok)
		return tv_errf(TV_ERR_PROTO, "batch item %zu of the response reports success "
		               "without naming the operation", i + 1);
	if (it->op != 0 && j >= 0 && it->op != ops[j])
		return tv_errf(TV_ERR_PROTO, "our %s request was answered with a %s response",
		               tv_kmip_op_name(ops[j]), tv_kmip_op_name(it->op));
	return 0;
}

int tv_kmip_resp_match(struct tv_kmip_resp *r, const uint32_t *ops,
                       const uint8_t (*ids)[TV_KMIP_BATCH_ID_LEN], size_t n)
{
	struct tv_kmip_item sorted[TV_KMIP_MAX_BATCH];
	int seen[TV_KMIP_MAX_BATCH] = { 0 }, failed = 0, rc;

	if (n == 0 || n > TV_KMIP_MAX_BATCH)
		return tv_errf(TV_ERR_INVAL, "batch of %zu items", n);
	if (tv_kmip_resp_whole_failure(r))
		return 0;
	if (r->nitems > n)
		return tv_errf(TV_ERR_PROTO, "%zu batch items answer a request of %zu",
		               r->nitems, n);
	for (size_t i = 0; i < r->nitems; i++) {
		const struct tv_kmip_item *it = &r->items[i];
		int j = match_id(it, ids, n);

		if ((rc = match_item(it, i, j, ops)) != 0)
			return rc;
		if (j < 0)      /* a failed item without our id: not placeable */
			return tv_errf(TV_ERR_PROTO, "failed batch item %zu of the response "
			               "carries no Unique Batch Item ID", i + 1);
		if (seen[j]++)
			return tv_errf(TV_ERR_PROTO, "two batch items of the response answer "
			               "request item %d", j + 1);
		failed |= it->status != TV_KSTATUS_SUCCESS;
		sorted[j] = *it;
	}
	if (r->nitems < n && !failed)
		return tv_errf(TV_ERR_PROTO, "%zu batch items answer a request of %zu and "
		               "none failed", r->nitems, n);
	/* request order; with fewer items (a batch stopped at a failure) the
	 * answered ones first */
	for (size_t j = 0, k = 0; j < n; j++)
		if (seen[j])
			r->items[k++] = sorted[j];
	return 0;
}

/* ---- payload parsers ---- */

static int need_payload(const struct tv_ttlv *pl)
{
	if (pl == NULL || pl->type != TV_TTLV_STRUCT)
		return proto("no Response Payload");
	return 0;
}

static int uid_text(const struct tv_ttlv *n, char uid[TV_KMIP_UID_MAX], const char *what)
{
	if (n == NULL)
		return tv_errf(TV_ERR_PROTO, "malformed KMIP response: no %s", what);
	if (n->type != TV_TTLV_TEXT || n->len == 0)
		return tv_errf(TV_ERR_PROTO, "malformed KMIP response: bad %s", what);
	if (tv_ttlv_text(n, uid, TV_KMIP_UID_MAX) != 0)
		return tv_errf(TV_ERR_PROTO,
		               "malformed KMIP response: %s of %u bytes (limit %d) or with NUL",
		               what, (unsigned)n->len, TV_KMIP_UID_MAX - 1);
	return 0;
}

int tv_kmip_parse_versions(const struct tv_ttlv *pl, struct tv_kmip_version *v,
                           size_t max, size_t *n)
{
	int r;

	*n = 0;
	if ((r = need_payload(pl)) != 0)
		return r;
	for (const struct tv_ttlv *x = tv_ttlv_find(pl, TV_KT_PROTOCOL_VERSION); x;
	     x = tv_ttlv_find_next(x)) {
		struct tv_kmip_version t;
		if (get_i32(x, TV_KT_PROTOCOL_VERSION_MAJOR, &t.major) != 0 ||
		    get_i32(x, TV_KT_PROTOCOL_VERSION_MINOR, &t.minor) != 0)
			return proto("bad Protocol Version");
		if (*n < max)
			v[*n] = t;
		(*n)++;
	}
	if (*n > max)
		*n = max;
	return 0;
}

int tv_kmip_parse_query(const struct tv_ttlv *pl, uint32_t *ops, size_t max,
                        size_t *nops, char *vendor, size_t vendorsz)
{
	const struct tv_ttlv *x;
	size_t k = 0;
	int r;

	if (nops != NULL)
		*nops = 0;
	if (vendor != NULL && vendorsz > 0)
		vendor[0] = '\0';
	if ((r = need_payload(pl)) != 0)
		return r;
	for (x = tv_ttlv_find(pl, TV_KT_OPERATION); x; x = tv_ttlv_find_next(x)) {
		uint32_t op;
		if (tv_ttlv_enum(x, &op) != 0)
			return proto("Operation is not an enumeration");
		if (ops != NULL && k < max)
			ops[k++] = op;
	}
	if (nops != NULL)
		*nops = k;
	if (vendor != NULL && vendorsz > 0)
		sanitize(tv_ttlv_find(pl, TV_KT_VENDOR_IDENTIFICATION), vendor, vendorsz);
	return 0;
}

int tv_kmip_parse_uid(const struct tv_ttlv *pl, char uid[TV_KMIP_UID_MAX])
{
	int r;
	if ((r = need_payload(pl)) != 0)
		return r;
	return uid_text(tv_ttlv_find(pl, TV_KT_UNIQUE_IDENTIFIER), uid, "Unique Identifier");
}

int tv_kmip_parse_uids(const struct tv_ttlv *pl, char (*uids)[TV_KMIP_UID_MAX],
                       size_t max, size_t *n)
{
	int r;

	*n = 0;
	if (pl == NULL)          /* Locate with no match may omit the payload body */
		return 0;
	if ((r = need_payload(pl)) != 0)
		return r;
	for (const struct tv_ttlv *x = tv_ttlv_find(pl, TV_KT_UNIQUE_IDENTIFIER); x;
	     x = tv_ttlv_find_next(x)) {
		if (*n < max) {
			if ((r = uid_text(x, uids[*n], "Unique Identifier")) != 0)
				return r;
		}
		(*n)++;
	}
	return 0;
}

int tv_kmip_parse_key_pair(const struct tv_ttlv *pl, char priv[TV_KMIP_UID_MAX],
                           char pub[TV_KMIP_UID_MAX])
{
	int r;
	if ((r = need_payload(pl)) != 0)
		return r;
	if ((r = uid_text(tv_ttlv_find(pl, TV_KT_PRIVATE_KEY_UNIQUE_IDENTIFIER), priv,
	                  "Private Key Unique Identifier")) != 0)
		return r;
	return uid_text(tv_ttlv_find(pl, TV_KT_PUBLIC_KEY_UNIQUE_IDENTIFIER), pub,
	                "Public Key Unique Identifier");
}

int tv_kmip_parse_get(const struct tv_ttlv *pl, struct tv_kmip_key *k)
{
	const struct tv_ttlv *obj = NULL, *kb, *kv, *km;
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = need_payload(pl)) != 0)
		return r;
	if (get_enum(pl, TV_KT_OBJECT_TYPE, &k->object_type) != 0)
		return proto("Get response without Object Type");
	if ((r = uid_text(tv_ttlv_find(pl, TV_KT_UNIQUE_IDENTIFIER), k->uid,
	                  "Unique Identifier")) != 0)
		return r;
	/* The managed object is the structure holding a Key Block. */
	for (const struct tv_ttlv *c = pl->child; c != NULL; c = c->next)
		if (c->type == TV_TTLV_STRUCT && tv_ttlv_find(c, TV_KT_KEY_BLOCK) != NULL) {
			obj = c;
			break;
		}
	if (obj == NULL)
		return tv_errf(TV_ERR_UNSUPPORTED, "Get returned a %s, not a key",
		               tv_kmip_object_type_name(k->object_type));
	kb = tv_ttlv_find(obj, TV_KT_KEY_BLOCK);
	if (kb->type != TV_TTLV_STRUCT || get_enum(kb, TV_KT_KEY_FORMAT_TYPE, &k->format) != 0)
		return proto("Key Block without Key Format Type");
	(void)get_enum(kb, TV_KT_CRYPTOGRAPHIC_ALGORITHM, &k->alg);
	(void)get_i32(kb, TV_KT_CRYPTOGRAPHIC_LENGTH, &k->bits);
	k->wrapped = tv_ttlv_find(kb, TV_KT_KEY_WRAPPING_DATA) != NULL;
	kv = tv_ttlv_find(kb, TV_KT_KEY_VALUE);
	if (kv == NULL)
		return proto("Key Block without Key Value");
	if (kv->type == TV_TTLV_BYTES) {          /* wrapped: opaque bytes */
		k->material = kv->val;
		k->material_len = kv->len;
		return 0;
	}
	if (kv->type != TV_TTLV_STRUCT)
		return proto("Key Value has a wrong type");
	km = tv_ttlv_find(kv, TV_KT_KEY_MATERIAL);
	if (km == NULL)
		return proto("Key Value without Key Material");
	if (km->type == TV_TTLV_BYTES) {
		k->material = km->val;
		k->material_len = km->len;
	}
	/* Transparent formats (a structure) leave material NULL. */
	return 0;
}

int tv_kmip_parse_get_checked(const struct tv_ttlv *pl, const char *want_uid,
                              struct tv_kmip_key *k)
{
	int r;

	if ((r = tv_kmip_parse_get(pl, k)) != 0)
		return r;
	if (want_uid == NULL || strcmp(k->uid, want_uid) != 0) {
		char got[TV_KMIP_UID_MAX + 8];
		struct tv_ttlv t = { .type = TV_TTLV_TEXT, .len = (uint32_t)strlen(k->uid),
		                     .val = (const uint8_t *)k->uid };
		sanitize(&t, got, sizeof(got));
		r = tv_errf(TV_ERR_PROTO, "asked for key '%s', the KMS returned key '%s'",
		            want_uid ? want_uid : "", got);
		memset(k, 0, sizeof(*k));
		return r;
	}
	return 0;
}

static void attr_value(struct tv_kmip_attrs *a, const char *name,
                       const struct tv_ttlv *v)
{
	uint32_t u;

	if (v == NULL)
		return;
	if (strcmp(name, "Object Type") == 0 && tv_ttlv_enum(v, &u) == 0) {
		a->object_type = u;
		a->have |= TV_KATTR_OBJECT_TYPE;
	} else if (strcmp(name, "Cryptographic Algorithm") == 0 && tv_ttlv_enum(v, &u) == 0) {
		a->alg = u;
		a->have |= TV_KATTR_ALG;
	} else if (strcmp(name, "Cryptographic Length") == 0 &&
	           tv_ttlv_int(v, &a->bits) == 0) {
		a->have |= TV_KATTR_BITS;
	} else if (strcmp(name, "State") == 0 && tv_ttlv_enum(v, &u) == 0) {
		a->state = u;
		a->have |= TV_KATTR_STATE;
	} else if (strcmp(name, "Cryptographic Usage Mask") == 0 && v->type == TV_TTLV_INT) {
		a->usage = tv_get_be32(v->val);
		a->have |= TV_KATTR_USAGE;
	} else if (strcmp(name, "Name") == 0 && !(a->have & TV_KATTR_NAME)) {
		const struct tv_ttlv *nv = tv_ttlv_find(v, TV_KT_NAME_VALUE);
		if (nv != NULL && nv->type == TV_TTLV_TEXT) {
			sanitize(nv, a->name, sizeof(a->name));
			a->have |= TV_KATTR_NAME;
		}
	} else if (strcmp(name, "Link") == 0) {
		const struct tv_ttlv *lid = tv_ttlv_find(v, TV_KT_LINKED_OBJECT_IDENTIFIER);
		if (get_enum(v, TV_KT_LINK_TYPE, &u) != 0 || lid == NULL)
			return;
		if (u == TV_KLINK_PUBLIC_KEY && tv_ttlv_text(lid, a->link_public,
		                                             sizeof(a->link_public)) == 0)
			a->have |= TV_KATTR_LINK_PUBLIC;
		else if (u == TV_KLINK_PRIVATE_KEY && tv_ttlv_text(lid, a->link_private,
		                                                   sizeof(a->link_private)) == 0)
			a->have |= TV_KATTR_LINK_PRIVATE;
	}
}

static const struct { uint32_t tag; const char *name; } attr_tags[] = {
	{ TV_KT_OBJECT_TYPE, "Object Type" },
	{ TV_KT_CRYPTOGRAPHIC_ALGORITHM, "Cryptographic Algorithm" },
	{ TV_KT_CRYPTOGRAPHIC_LENGTH, "Cryptographic Length" },
	{ TV_KT_STATE, "State" },
	{ TV_KT_CRYPTOGRAPHIC_USAGE_MASK, "Cryptographic Usage Mask" },
	{ TV_KT_NAME, "Name" },
	{ TV_KT_LINK, "Link" },
};

int tv_kmip_parse_attributes(const struct tv_ttlv *pl, struct tv_kmip_attrs *a)
{
	const struct tv_ttlv *x;
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = need_payload(pl)) != 0)
		return r;
	if ((r = uid_text(tv_ttlv_find(pl, TV_KT_UNIQUE_IDENTIFIER), a->uid,
	                  "Unique Identifier")) != 0)
		return r;
	for (x = tv_ttlv_find(pl, TV_KT_ATTRIBUTE); x; x = tv_ttlv_find_next(x)) {
		char name[64];
		if (x->type != TV_TTLV_STRUCT)
			return proto("Attribute is not a structure");
		if (tv_ttlv_text(tv_ttlv_find(x, TV_KT_ATTRIBUTE_NAME), name, sizeof(name)) != 0)
			continue;     /* long/odd custom attribute names: not ours */
		attr_value(a, name, tv_ttlv_find(x, TV_KT_ATTRIBUTE_VALUE));
	}
	x = tv_ttlv_find(pl, TV_KT_ATTRIBUTES);       /* KMIP 2.0 */
	if (x != NULL && x->type == TV_TTLV_STRUCT)
		for (const struct tv_ttlv *c = x->child; c != NULL; c = c->next)
			for (size_t i = 0; i < sizeof(attr_tags) / sizeof(attr_tags[0]); i++)
				if (c->tag == attr_tags[i].tag)
					attr_value(a, attr_tags[i].name, c);
	return 0;
}

int tv_kmip_parse_crypt(const struct tv_ttlv *pl, const uint8_t **data, size_t *n,
                        const uint8_t **tag, size_t *tagn)
{
	const struct tv_ttlv *d, *t;
	int r;

	if ((r = need_payload(pl)) != 0)
		return r;
	d = tv_ttlv_find(pl, TV_KT_DATA);
	if (d == NULL || d->type != TV_TTLV_BYTES)
		return proto("no Data");
	*data = d->val;
	*n = d->len;
	if (tag != NULL) {
		t = tv_ttlv_find(pl, TV_KT_AUTH_TAG);
		*tag = NULL;
		*tagn = 0;
		if (t != NULL) {
			if (t->type != TV_TTLV_BYTES)
				return proto("Authenticated Encryption Tag is not a byte string");
			*tag = t->val;
			*tagn = t->len;
		}
	}
	return 0;
}

/* ---- names ---- */

struct name_map { uint32_t v; const char *name; };

static const char *lookup(const struct name_map *m, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].v == v)
			return m[i].name;
	return NULL;
}
#define LOOKUP(m, v) lookup((m), sizeof(m) / sizeof((m)[0]), (v))

static const struct name_map op_names[] = {
	{ 0x01, "Create" }, { 0x02, "Create Key Pair" }, { 0x03, "Register" },
	{ 0x04, "Re-key" }, { 0x05, "Derive Key" }, { 0x06, "Certify" },
	{ 0x07, "Re-certify" }, { 0x08, "Locate" }, { 0x09, "Check" }, { 0x0A, "Get" },
	{ 0x0B, "Get Attributes" }, { 0x0C, "Get Attribute List" },
	{ 0x0D, "Add Attribute" }, { 0x0E, "Modify Attribute" },
	{ 0x0F, "Delete Attribute" }, { 0x10, "Obtain Lease" },
	{ 0x11, "Get Usage Allocation" }, { 0x12, "Activate" }, { 0x13, "Revoke" },
	{ 0x14, "Destroy" }, { 0x15, "Archive" }, { 0x16, "Recover" },
	{ 0x17, "Validate" }, { 0x18, "Query" }, { 0x19, "Cancel" }, { 0x1A, "Poll" },
	{ 0x1B, "Notify" }, { 0x1C, "Put" }, { 0x1D, "Re-key Key Pair" },
	{ 0x1E, "Discover Versions" }, { 0x1F, "Encrypt" }, { 0x20, "Decrypt" },
	{ 0x21, "Sign" }, { 0x22, "Signature Verify" }, { 0x23, "MAC" },
	{ 0x24, "MAC Verify" }, { 0x25, "RNG Retrieve" }, { 0x26, "RNG Seed" },
	{ 0x27, "Hash" }, { 0x28, "Create Split Key" }, { 0x29, "Join Split Key" },
	{ 0x2A, "Import" }, { 0x2B, "Export" },
};

static const struct name_map reason_names[] = {
	{ 0x01, "Item Not Found" }, { 0x02, "Response Too Large" },
	{ 0x03, "Authentication Not Successful" }, { 0x04, "Invalid Message" },
	{ 0x05, "Operation Not Supported" }, { 0x06, "Missing Data" },
	{ 0x07, "Invalid Field" }, { 0x08, "Feature Not Supported" },
	{ 0x09, "Operation Canceled By Requester" }, { 0x0A, "Cryptographic Failure" },
	{ 0x0B, "Illegal Operation" }, { 0x0C, "Permission Denied" },
	{ 0x0D, "Object Archived" }, { 0x0E, "Index Out of Bounds" },
	{ 0x0F, "Application Namespace Not Supported" },
	{ 0x10, "Key Format Type Not Supported" },
	{ 0x11, "Key Compression Type Not Supported" }, { 0x12, "Encoding Option Error" },
	{ 0x13, "Key Value Not Present" }, { 0x14, "Attestation Required" },
	{ 0x15, "Attestation Failed" }, { 0x16, "Sensitive" },
	{ 0x17, "Not Extractable" }, { 0x18, "Object Already Exists" },
	{ 0x100, "General Failure" },
};

static const struct name_map status_names[] = {
	{ 0, "Success" }, { 1, "Operation Failed" }, { 2, "Operation Pending" },
	{ 3, "Operation Undone" },
};

static const struct name_map state_names[] = {
	{ 1, "Pre-Active" }, { 2, "Active" }, { 3, "Deactivated" }, { 4, "Compromised" },
	{ 5, "Destroyed" }, { 6, "Destroyed Compromised" },
};

static const struct name_map objtype_names[] = {
	{ 1, "Certificate" }, { 2, "Symmetric Key" }, { 3, "Public Key" },
	{ 4, "Private Key" }, { 5, "Split Key" }, { 6, "Template" },
	{ 7, "Secret Data" }, { 8, "Opaque Object" }, { 9, "PGP Key" },
};

static const struct name_map tag_names[] = {
	{ 0x420008, "Attribute" }, { 0x420009, "Attribute Index" },
	{ 0x42000A, "Attribute Name" }, { 0x42000B, "Attribute Value" },
	{ 0x42000D, "Batch Count" }, { 0x42000F, "Batch Item" },
	{ 0x420011, "Block Cipher Mode" }, { 0x42001F, "Common Template-Attribute" },
	{ 0x420028, "Cryptographic Algorithm" }, { 0x42002A, "Cryptographic Length" },
	{ 0x42002B, "Cryptographic Parameters" }, { 0x42002C, "Cryptographic Usage Mask" },
	{ 0x420036, "Encryption Key Information" }, { 0x420038, "Hashing Algorithm" },
	{ 0x42003D, "IV/Counter/Nonce" }, { 0x420040, "Key Block" },
	{ 0x420041, "Key Compression Type" }, { 0x420042, "Key Format Type" },
	{ 0x420043, "Key Material" }, { 0x420045, "Key Value" },
	{ 0x420046, "Key Wrapping Data" }, { 0x420047, "Key Wrapping Specification" },
	{ 0x42004A, "Link" }, { 0x42004B, "Link Type" },
	{ 0x42004C, "Linked Object Identifier" }, { 0x420053, "Name" },
	{ 0x420054, "Name Type" }, { 0x420055, "Name Value" }, { 0x420057, "Object Type" },
	{ 0x42005C, "Operation" }, { 0x42005F, "Padding Method" },
	{ 0x420064, "Private Key" }, { 0x420065, "Private Key Template-Attribute" },
	{ 0x420066, "Private Key Unique Identifier" }, { 0x420069, "Protocol Version" },
	{ 0x42006A, "Protocol Version Major" }, { 0x42006B, "Protocol Version Minor" },
	{ 0x42006D, "Public Key" }, { 0x42006E, "Public Key Template-Attribute" },
	{ 0x42006F, "Public Key Unique Identifier" }, { 0x420074, "Query Function" },
	{ 0x420077, "Request Header" }, { 0x420078, "Request Message" },
	{ 0x420079, "Request Payload" }, { 0x42007A, "Response Header" },
	{ 0x42007B, "Response Message" }, { 0x42007C, "Response Payload" },
	{ 0x42007D, "Result Message" }, { 0x42007E, "Result Reason" },
	{ 0x42007F, "Result Status" }, { 0x420081, "Revocation Reason" },
	{ 0x420082, "Revocation Reason Code" }, { 0x420088, "Server Information" },
	{ 0x42008D, "State" }, { 0x42008F, "Symmetric Key" },
	{ 0x420091, "Template-Attribute" }, { 0x420092, "Time Stamp" },
	{ 0x420093, "Unique Batch Item ID" }, { 0x420094, "Unique Identifier" },
	{ 0x42009D, "Vendor Identification" }, { 0x42009E, "Wrapping Method" },
	{ 0x4200A3, "Encoding Option" }, { 0x4200C2, "Data" }, { 0x4200CE, "Tag Length" },
	{ 0x4200FE, "Authenticated Encryption Additional Data" },
	{ 0x4200FF, "Authenticated Encryption Tag" }, { 0x420101, "Mask Generator" },
	{ 0x420102, "Mask Generator Hashing Algorithm" }, { 0x420103, "P Source" },
	{ 0x420125, "Attributes" },
};

const char *tv_kmip_op_name(uint32_t op)
{
	const char *s = LOOKUP(op_names, op);
	return s ? s : "unknown operation";
}

const char *tv_kmip_reason_name(uint32_t reason)
{
	const char *s = LOOKUP(reason_names, reason);
	return s ? s : "unknown reason";
}

const char *tv_kmip_status_name(uint32_t status)
{
	const char *s = LOOKUP(status_names, status);
	return s ? s : "unknown status";
}

const char *tv_kmip_state_name(uint32_t state)
{
	const char *s = LOOKUP(state_names, state);
	return s ? s : "unknown state";
}

const char *tv_kmip_object_type_name(uint32_t t)
{
	const char *s = LOOKUP(objtype_names, t);
	return s ? s : "unknown object type";
}

const char *tv_kmip_tag_name(uint32_t tag) { return LOOKUP(tag_names, tag); }

static void dump_node(const struct tv_ttlv *n, FILE *f, int show_bytes)
{
	const char *name = tv_kmip_tag_name(n->tag);

	fprintf(f, "%*s%s (0x%06X) ", n->depth * 2, "", name ? name : "?",
	        (unsigned)n->tag);
	switch (n->type) {
	case TV_TTLV_STRUCT:
		fprintf(f, "{%u}\n", (unsigned)n->nchild);
		for (const struct tv_ttlv *c = n->child; c != NULL; c = c->next)
			dump_node(c, f, show_bytes);
		return;
	case TV_TTLV_INT:
		fprintf(f, "= %" PRId32 "\n", (int32_t)tv_get_be32(n->val));
		break;
	case TV_TTLV_ENUM:
		fprintf(f, "= 0x%08" PRIX32, tv_get_be32(n->val));
		if (n->tag == TV_KT_OPERATION)
			fprintf(f, " (%s)", tv_kmip_op_name(tv_get_be32(n->val)));
		else if (n->tag == TV_KT_RESULT_REASON)
			fprintf(f, " (%s)", tv_kmip_reason_name(tv_get_be32(n->val)));
		else if (n->tag == TV_KT_RESULT_STATUS)
			fprintf(f, " (%s)", tv_kmip_status_name(tv_get_be32(n->val)));
		fputc('\n', f);
		break;
	case TV_TTLV_LONG: case TV_TTLV_DATETIME: case TV_TTLV_DATETIME_EXT:
		fprintf(f, "= %" PRId64 "\n", (int64_t)tv_get_be64(n->val));
		break;
	case TV_TTLV_INTERVAL:
		fprintf(f, "= %" PRIu32 " s\n", tv_get_be32(n->val));
		break;
	case TV_TTLV_BOOL:
		fprintf(f, "= %s\n", tv_get_be64(n->val) ? "true" : "false");
		break;
	case TV_TTLV_TEXT: {
		char buf[256];
		struct tv_ttlv t = *n;
		if (t.len >= sizeof(buf))
			t.len = sizeof(buf) - 1;
		sanitize(&t, buf, sizeof(buf));
		fprintf(f, "= '%s'%s\n", buf, t.len < n->len ? "..." : "");
		break;
	}
	case TV_TTLV_BYTES: case TV_TTLV_BIGINT:
		fprintf(f, "[%u bytes]", (unsigned)n->len);
		if (show_bytes) {
			fputs(" ", f);
			for (uint32_t i = 0; i < n->len && i < 64; i++)
				fprintf(f, "%02x", n->val[i]);
			if (n->len > 64)
				fputs("...", f);
		}
		fputc('\n', f);
		break;
	default:
		fputc('\n', f);
	}
}

void tv_kmip_dump(const struct tv_ttlv *n, FILE *f, int show_bytes)
{
	if (n != NULL)
		dump_node(n, f, show_bytes);
}
