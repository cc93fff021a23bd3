/* tapevault: KMS client, KMIP 1.4 over mutual TLS (OpenSSL). */
#include "kms/client.h"
#include "kms/conn_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kms/kmip.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"

/* ---- KMIP calls ---- */

static int uid_ok(struct tv_kms *k, const char *uid)
{
	if (uid == NULL || uid[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "empty key id for %s", k->where);
	if (strlen(uid) >= TV_KMS_UID_MAX)
		return tv_errf(TV_ERR_INVAL, "key id of %zu characters is too long (limit %d)",
		               strlen(uid), TV_KMS_UID_MAX - 1);
	return 0;
}



struct call {
	struct tv_buf req, resp;
	struct tv_ttlv_enc e;
	struct tv_kmip_resp r;
	uint32_t op;
	int nitems;
	uint32_t ops[TV_KMIP_MAX_BATCH];
	uint8_t ids[TV_KMIP_MAX_BATCH][TV_KMIP_BATCH_ID_LEN];
};

/* Start a request of nitems batch items of operation op.  Every item gets
 * a Unique Batch Item ID unique on this connection (a counter from a
 * random start), so a late answer to an earlier request cannot pass for
 * this one.  With one item, its payload is opened here. */
static void call_begin(struct tv_kms *k, struct call *c, uint32_t op, int nitems)
{
	memset(c, 0, sizeof(*c));
	tv_buf_init_max(&c->req, TV_TTLV_MAX_MSG);
	tv_buf_init_max(&c->resp, TV_TTLV_MAX_MSG);
	c->op = op;
	c->nitems = nitems;
	for (int i = 0; i < nitems && i < TV_KMIP_MAX_BATCH; i++) {
		c->ops[i] = op;
		tv_put_be64(c->ids[i], k->batch_seq++);
	}
	tv_kmip_req_begin(&c->e, &c->req, KMIP_MAJOR, KMIP_MINOR, nitems);
	if (nitems == 1)
		tv_kmip_item_begin(&c->e, op, c->ids[0], TV_KMIP_BATCH_ID_LEN);
}

/* Open batch item i of a multi-item call. */
static void call_item(struct call *c, int i)
{
	tv_kmip_item_begin(&c->e, c->ops[i], c->ids[i], TV_KMIP_BATCH_ID_LEN);
}

static void call_end(struct call *c)
{
	tv_kmip_resp_free(&c->r);
	tv_buf_free(&c->req);        /* wipes: may hold key material */
	tv_buf_free(&c->resp);
}

/* Finish the request, exchange it and parse the response; the batch items
 * must answer ours (tv_kmip_resp_match: ids, operations; reordered to
 * request order).  Item results are not checked here. */
static int call_run(struct tv_kms *k, struct call *c, int resend)
{
	const char *opn = tv_kmip_op_name(c->op);
	int r;

	if (c->nitems == 1)
		tv_kmip_item_end(&c->e);
	if ((r = tv_kmip_req_end(&c->e)) != 0)
		return tv_errctx(r, "building KMIP %s request", opn);
	if ((r = kms_exchange(k, &c->req, opn, resend, &c->resp)) != 0)
		return r;
	if ((r = tv_kmip_resp_parse(tv_buf_ptr(&c->resp), tv_buf_avail(&c->resp),
	                              &c->r)) != 0) {
		kms_disconnect(k);
		return tv_errctx(r, "%s answered %s", k->where, opn);
	}
	if ((r = tv_kmip_resp_match(&c->r, c->ops, (const uint8_t (*)[TV_KMIP_BATCH_ID_LEN])c->ids,
	                            (size_t)c->nitems)) != 0) {
		/* out of step with the server: start afresh next time */
		kms_disconnect(k);
		return tv_errctx(r, "%s answered our %s request with a response that does not "
		                 "match it", k->where, opn);
	}
	return 0;
}

static int item_failed(struct tv_kms *k, const struct tv_kmip_item *it, uint32_t op,
                       const char *uid);

/* Run a single-item call and turn a failed result into an error. */
static int call_simple(struct tv_kms *k, struct call *c, int resend, const char *uid,
                       const struct tv_ttlv **payload)
{
	int r;

	*payload = NULL;
	if ((r = call_run(k, c, resend)) != 0)
		return r;
	if (c->r.items[0].status != TV_KSTATUS_SUCCESS)
		return item_failed(k, &c->r.items[0], c->op, uid);
	*payload = c->r.items[0].payload;
	return 0;
}

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* "(KMIP: Permission Denied: server message)" */
static void kmip_why(const struct tv_kmip_item *it, char *out, size_t outsz)
{
	if (it->reason != 0 && it->message[0] != '\0')
		snprintf(out, outsz, "(KMIP Result Reason: %s: %s)",
		         tv_kmip_reason_name(it->reason), it->message);
	else if (it->reason != 0)
		snprintf(out, outsz, "(KMIP Result Reason: %s)", tv_kmip_reason_name(it->reason));
	else
		snprintf(out, outsz, "(KMIP Result Status: %s%s%s)",
		         tv_kmip_status_name(it->status), it->message[0] ? ": " : "",
		         it->message);
}

static int item_failed(struct tv_kms *k, const struct tv_kmip_item *it, uint32_t op,
                       const char *uid)
{
	char why[700], key[200];
	const char *opn = tv_kmip_op_name(op);

	kmip_why(it, why, sizeof(why));
	if (uid != NULL)
		snprintf(key, sizeof(key), "key '%s'", uid);
	else
		snprintf(key, sizeof(key), "the request");
	if (it->status == TV_KSTATUS_PENDING || it->status == TV_KSTATUS_UNDONE)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s on %s: %s %s", opn, k->where,
		               tv_kmip_status_name(it->status), why);
	switch (it->reason) {
	case TV_KR_ITEM_NOT_FOUND:
		return tv_errf(TV_ERR_NOTFOUND, "%s does not exist on %s %s", key, k->where, why);
	case TV_KR_PERMISSION_DENIED:
		/* PyKMIP feigns ignorance of other owners' objects this way */
		if (uid != NULL && contains(it->message, "Could not locate"))
			return tv_errf(TV_ERR_NOTFOUND,
			               "%s does not exist on %s or is not visible to our client "
			               "certificate's identity %s", key, k->where, why);
		if (op == TV_KOP_DESTROY && contains(it->message, "active"))
			return tv_errf(TV_ERR_STATE, "%s on %s is still active and cannot be "
			               "destroyed; revoke it first %s", key, k->where, why);
		return tv_errf(TV_ERR_PERM, "%s on %s: permission denied for %s %s", key,
		               k->where, opn, why);
	case TV_KR_AUTHENTICATION_NOT_SUCCESSFUL:
		return tv_errf(TV_ERR_PERM, "%s did not accept our client certificate %s for "
		               "%s (a client certificate needs the clientAuth extended key "
		               "usage) %s", k->where, k->c.cert, opn, why);
	case TV_KR_OPERATION_NOT_SUPPORTED:
	case TV_KR_FEATURE_NOT_SUPPORTED:
		return tv_errf(TV_ERR_UNSUPPORTED, "%s does not support %s %s", k->where, opn,
		               why);
	case TV_KR_ILLEGAL_OPERATION:
		return tv_errf(TV_ERR_STATE, "%s on %s: %s is not possible in the key's "
		               "current state %s", key, k->where, opn, why);
	case TV_KR_INVALID_MESSAGE:
		return tv_errf(TV_ERR_KMIP, "%s rejected our %s request as invalid (KMIP "
		               "%d.%d) %s", k->where, opn, KMIP_MAJOR, KMIP_MINOR, why);
	default:
		return tv_errf(TV_ERR_KMIP, "%s on %s: %s failed %s", key, k->where, opn, why);
	}
}

/* ---- public API ---- */

int tv_kms_connect(const struct tv_kms_conf *c, struct tv_kms **out)
{
	struct sigpipe_guard g;
	struct tv_kms *k;
	struct in6_addr a6;
	int r;

	*out = NULL;
	if (c == NULL || c->host[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "KMS configuration without a host");
	if (c->port > 65535)
		return tv_errf(TV_ERR_INVAL, "KMS port %u out of range", c->port);
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return TV_ERR_NOMEM;
	k->c = *c;
	k->c.name[sizeof(k->c.name) - 1] = '\0';
	k->c.host[sizeof(k->c.host) - 1] = '\0';
	k->c.ca[sizeof(k->c.ca) - 1] = '\0';
	k->c.cert[sizeof(k->c.cert) - 1] = '\0';
	k->c.key[sizeof(k->c.key) - 1] = '\0';
	if (k->c.port == 0)
		k->c.port = TV_KMS_DEFAULT_PORT;
	k->fd = -1;
	{
		uint8_t seed[8];
		if (RAND_bytes(seed, sizeof(seed)) != 1) {
			free(k);
			return tv_errf(TV_ERR_CRYPTO, "no randomness for KMIP batch item ids");
		}
		k->batch_seq = tv_get_be64(seed);
	}
	k->is_ip = inet_pton(AF_INET, k->c.host, &a6) == 1 ||
	           inet_pton(AF_INET6, k->c.host, &a6) == 1;
	snprintf(k->where, sizeof(k->where), strchr(k->c.host, ':') ? "KMS %s ([%s]:%u)"
	                                                          : "KMS %s (%s:%u)",
	         k->c.name[0] ? k->c.name : k->c.host, k->c.host, k->c.port);
	kms_sigpipe_block(&g);
	if ((r = kms_ctx_setup(k)) == 0)
		r = kms_open_conn(k);
	kms_sigpipe_restore(&g);
	if (r != 0) {
		tv_kms_close(k);
		return r;
	}
	*out = k;
	return 0;
}

void tv_kms_close(struct tv_kms *k)
{
	struct sigpipe_guard g;

	if (k == NULL)
		return;
	kms_sigpipe_block(&g);
	kms_disconnect(k);
	kms_sigpipe_restore(&g);
	SSL_CTX_free(k->ctx);
	tv_wipe(k, sizeof(*k));
	free(k);
}

const char *tv_kms_where(const struct tv_kms *k) { return k ? k->where : "KMS"; }
uint64_t tv_kms_round_trips(const struct tv_kms *k) { return k ? k->round_trips : 0; }
uint64_t tv_kms_connects(const struct tv_kms *k) { return k ? k->connects : 0; }

/* Every public operation runs under the SIGPIPE guard. */
#define GUARDED(expr) do { \
	struct sigpipe_guard g_; int r_; \
	kms_sigpipe_block(&g_); r_ = (expr); kms_sigpipe_restore(&g_); return r_; \
} while (0)

static int do_discover(struct tv_kms *k, char *out, size_t outsz)
{
	struct tv_kmip_version v[16];
	const struct tv_ttlv *pl;
	struct call c;
	size_t n = 0, off = 0;
	int r;

	call_begin(k, &c, TV_KOP_DISCOVER_VERSIONS, 1);
	if ((r = call_simple(k, &c, 1, NULL, &pl)) != 0 ||
	    (r = tv_kmip_parse_versions(pl, v, 16, &n)) != 0)
		goto out;
	if (outsz > 0)
		out[0] = '\0';
	for (size_t i = 0; i < n && off < outsz; i++) {
		int w = snprintf(out + off, outsz - off, "%s%d.%d", i ? " " : "",
		                 (int)v[i].major, (int)v[i].minor);
		if (w < 0 || (size_t)w >= outsz - off) {
			r = tv_errf(TV_ERR_RANGE, "version list does not fit");
			goto out;
		}
		off += (size_t)w;
	}
out:
	call_end(&c);
	return r;
}

int tv_kms_discover_versions(struct tv_kms *k, char *out, size_t outsz)
{
	GUARDED(do_discover(k, out, outsz));
}

static int do_query(struct tv_kms *k, char *out, size_t outsz, char *vendor,
                    size_t vendorsz)
{
	static const uint32_t funcs[] = { TV_KQUERY_OPERATIONS, TV_KQUERY_SERVER_INFO };
	uint32_t ops[128];
	const struct tv_ttlv *pl;
	struct call c;
	size_t n = 0, off = 0;
	int r;

	call_begin(k, &c, TV_KOP_QUERY, 1);
	tv_kmip_pl_query(&c.e, funcs, 2);
	if ((r = call_simple(k, &c, 1, NULL, &pl)) != 0 ||
	    (r = tv_kmip_parse_query(pl, ops, 128, &n, vendor, vendorsz)) != 0)
		goto out;
	if (outsz > 0)
		out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + off, outsz - off, "%s%s", i ? ", " : "",
		                 tv_kmip_op_name(ops[i]));
		if (w < 0 || (size_t)w >= outsz - off) {
			r = tv_errf(TV_ERR_RANGE, "operation list does not fit");
			goto out;
		}
		off += (size_t)w;
	}
out:
	call_end(&c);
	return r;
}

int tv_kms_query_operations(struct tv_kms *k, char *out, size_t outsz, char *vendor,
                            size_t vendorsz)
{
	GUARDED(do_query(k, out, outsz, vendor, vendorsz));
}

/* An operation whose request payload is just the object's unique id
 * (Activate, Destroy). */
static int do_uid_op(struct tv_kms *k, uint32_t op, const char *uid)
{
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(k, &c, op, 1);
	tv_kmip_pl_uid(&c.e, uid);
	r = call_simple(k, &c, 0, uid, &pl);
	call_end(&c);
	return r;
}

static int do_activate(struct tv_kms *k, const char *uid)
{
	return do_uid_op(k, TV_KOP_ACTIVATE, uid);
}

int tv_kms_activate(struct tv_kms *k, const char *uid) { GUARDED(do_activate(k, uid)); }

static int do_create_aes(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX])
{
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if (name == NULL || name[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "a KMS key needs a name");
	call_begin(k, &c, TV_KOP_CREATE, 1);
	tv_kmip_pl_create_symmetric(&c.e, TV_KALG_AES, 256,
	                            TV_KUSE_ENCRYPT | TV_KUSE_DECRYPT | TV_KUSE_WRAP |
	                            TV_KUSE_UNWRAP, name);
	if ((r = call_simple(k, &c, 0, NULL, &pl)) == 0)
		r = tv_kmip_parse_uid(pl, uid);
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "creating AES key '%s' on %s", name, k->where);
	if ((r = do_activate(k, uid)) != 0)
		return tv_errctx(r, "activating new AES key '%s' (id %s)", name, uid);
	return 0;
}

int tv_kms_create_aes(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX])
{
	GUARDED(do_create_aes(k, name, uid));
}

static int do_create_rsa(struct tv_kms *k, const char *name, int bits,
                         char priv[TV_KMS_UID_MAX], char pub[TV_KMS_UID_MAX])
{
	char pubname[300];
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if (name == NULL || name[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "a KMS key needs a name");
	if (bits == 0)
		bits = TV_KMS_RSA_BITS_DEFAULT;
	if (bits < 2048 || bits > 16384)
		return tv_errf(TV_ERR_INVAL, "RSA key size %d out of range (2048..16384)", bits);
	snprintf(pubname, sizeof(pubname), "%s.pub", name);
	call_begin(k, &c, TV_KOP_CREATE_KEY_PAIR, 1);
	tv_kmip_pl_create_key_pair(&c.e, TV_KALG_RSA, bits,
	                           TV_KUSE_DECRYPT | TV_KUSE_UNWRAP | TV_KUSE_SIGN, name,
	                           TV_KUSE_ENCRYPT | TV_KUSE_WRAP | TV_KUSE_VERIFY, pubname);
	if ((r = call_simple(k, &c, 0, NULL, &pl)) == 0)
		r = tv_kmip_parse_key_pair(pl, priv, pub);
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "creating RSA-%d key pair '%s' on %s", bits, name, k->where);
	/* Activate both halves in one batch (batch items need ids). */
	call_begin(k, &c, TV_KOP_ACTIVATE, 2);
	call_item(&c, 0);
	tv_kmip_pl_uid(&c.e, priv);
	tv_kmip_item_end(&c.e);
	call_item(&c, 1);
	tv_kmip_pl_uid(&c.e, pub);
	tv_kmip_item_end(&c.e);
	if ((r = call_run(k, &c, 0)) == 0) {
		for (size_t i = 0; i < c.r.nitems && r == 0; i++)
			if (c.r.items[i].status != TV_KSTATUS_SUCCESS)
				r = item_failed(k, &c.r.items[i], TV_KOP_ACTIVATE, i ? pub : priv);
	}
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "activating new RSA key pair '%s' (ids %s, %s)", name, priv,
		                 pub);
	return 0;
}

int tv_kms_create_rsa(struct tv_kms *k, const char *name, int bits,
                      char priv_uid[TV_KMS_UID_MAX], char pub_uid[TV_KMS_UID_MAX])
{
	GUARDED(do_create_rsa(k, name, bits, priv_uid, pub_uid));
}

static int do_locate(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX],
                     size_t *count)
{
	char uids[1][TV_KMIP_UID_MAX];
	const struct tv_ttlv *pl;
	struct call c;
	size_t n = 0;
	int r;

	if (name == NULL || name[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "locate needs a key name");
	call_begin(k, &c, TV_KOP_LOCATE, 1);
	tv_kmip_pl_locate_name(&c.e, name);
	if ((r = call_simple(k, &c, 1, NULL, &pl)) == 0)
		r = tv_kmip_parse_uids(pl, uids, 1, &n);
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "locating key '%s'", name);
	if (count != NULL)
		*count = n;
	if (n == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no key named '%s' on %s", name, k->where);
	memcpy(uid, uids[0], TV_KMIP_UID_MAX);
	return 0;
}

int tv_kms_locate(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX],
                  size_t *count)
{
	GUARDED(do_locate(k, name, uid, count));
}

static int do_get_attributes(struct tv_kms *k, const char *uid, struct tv_kmip_attrs *a)
{
	static const char *const names[] = {
		"Object Type", "Cryptographic Algorithm", "Cryptographic Length", "State",
		"Cryptographic Usage Mask", "Name", "Link"
	};
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(k, &c, TV_KOP_GET_ATTRIBUTES, 1);
	tv_kmip_pl_get_attributes(&c.e, uid, names, sizeof(names) / sizeof(names[0]));
	if ((r = call_simple(k, &c, 1, uid, &pl)) == 0)
		r = tv_kmip_parse_attributes(pl, a);
	call_end(&c);
	return r;
}

int tv_kms_get_attributes(struct tv_kms *k, const char *uid, struct tv_kmip_attrs *a)
{
	GUARDED(do_get_attributes(k, uid, a));
}

/* Get an object; the response stays in c (caller runs call_end). */
static int get_key(struct tv_kms *k, struct call *c, const char *uid, uint32_t want,
                   struct tv_kmip_key *key)
{
	const struct tv_ttlv *pl;
	int r;

	call_begin(k, c, TV_KOP_GET, 1);
	if ((r = uid_ok(k, uid)) != 0)
		return r;
	tv_kmip_pl_uid(&c->e, uid);
	if ((r = call_simple(k, c, 1, uid, &pl)) != 0)
		return r;
	if ((r = tv_kmip_parse_get_checked(pl, uid, key)) != 0) {
		if (r == TV_ERR_PROTO)
			kms_disconnect(k);
		return tv_errctx(r, "Get of key '%s' on %s", uid, k->where);
	}
	if (key->object_type != want)
		return tv_errf(TV_ERR_INVAL, "key '%s' on %s is a %s, not a %s", uid, k->where,
		               tv_kmip_object_type_name(key->object_type),
		               tv_kmip_object_type_name(want));
	if (key->wrapped)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s returned key '%s' wrapped", k->where, uid);
	if (key->material == NULL || key->material_len == 0)
		return tv_errf(TV_ERR_UNSUPPORTED,
		               "%s returned key '%s' in a format we do not read (Key Format "
		               "Type %u)", k->where, uid, (unsigned)key->format);
	return 0;
}

static int do_get_public(struct tv_kms *k, const char *uid, EVP_PKEY **pub)
{
	struct tv_kmip_key key;
	struct call c;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	int r;

	*pub = NULL;
	if ((r = get_key(k, &c, uid, TV_KOBJ_PUBLIC_KEY, &key)) != 0)
		goto out;
	ERR_clear_error();
	if (key.format != TV_KFMT_PKCS1) {        /* X.509 SubjectPublicKeyInfo */
		p = key.material;
		pk = d2i_PUBKEY(NULL, &p, (long)key.material_len);
	}
	if (pk == NULL && (key.format == TV_KFMT_PKCS1 || key.format == TV_KFMT_RAW ||
	                   key.format == TV_KFMT_X509)) {
		p = key.material;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)key.material_len);
	}
	if (pk == NULL) {
		r = tv_errf(TV_ERR_FORMAT,
		            "public key '%s' from %s (Key Format Type %u) is not a DER RSA "
		            "public key: %s", uid, k->where, (unsigned)key.format,
		            kms_ssl_reason(ERR_get_error()));
		goto out;
	}
	*pub = pk;
out:
	call_end(&c);
	return r;
}

int tv_kms_get_public_key(struct tv_kms *k, const char *uid, EVP_PKEY **pub)
{
	GUARDED(do_get_public(k, uid, pub));
}

static int do_get_private(struct tv_kms *k, const char *uid, EVP_PKEY **priv)
{
	struct tv_kmip_key key;
	struct call c;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	int r;

	*priv = NULL;
	if ((r = get_key(k, &c, uid, TV_KOBJ_PRIVATE_KEY, &key)) != 0)
		goto out;
	ERR_clear_error();
	p = key.material;
	/* PKCS#8 PrivateKeyInfo or PKCS#1 RSAPrivateKey */
	pk = d2i_AutoPrivateKey(NULL, &p, (long)key.material_len);
	if (pk == NULL) {
		r = tv_errf(TV_ERR_FORMAT, "private key '%s' from %s (Key Format Type %u) is "
		            "not a DER private key: %s", uid, k->where, (unsigned)key.format,
		            kms_ssl_reason(ERR_get_error()));
		goto out;
	}
	*priv = pk;
out:
	call_end(&c);              /* wipes the response holding the key */
	return r;
}

int tv_kms_get_private_key(struct tv_kms *k, const char *uid, EVP_PKEY **priv)
{
	GUARDED(do_get_private(k, uid, priv));
}

static int do_get_symmetric(struct tv_kms *k, const char *uid, uint8_t *out, size_t cap,
                            size_t *len)
{
	struct tv_kmip_key key;
	struct call c;
	int r;

	if ((r = get_key(k, &c, uid, TV_KOBJ_SYMMETRIC_KEY, &key)) != 0)
		goto out;
	if (key.material_len > cap) {
		r = tv_errf(TV_ERR_RANGE, "key '%s' has %zu bytes, buffer %zu", uid,
		            key.material_len, cap);
		goto out;
	}
	memcpy(out, key.material, key.material_len);
	*len = key.material_len;
out:
	call_end(&c);
	return r;
}

int tv_kms_get_symmetric_key(struct tv_kms *k, const char *uid, uint8_t *key,
                             size_t cap, size_t *len)
{
	GUARDED(do_get_symmetric(k, uid, key, cap, len));
}

/* An Encrypt/Decrypt was refused: if the key is not Active, say what
 * happened to it (revoked, destroyed, ...), which is what people need. */
static int explain_state(struct tv_kms *k, int r, const char *uid, const char *use,
                         const struct tv_kmip_item *it)
{
	struct tv_kmip_attrs a;
	char why[700], saved[1024];
	const char *what;

	if (r != TV_ERR_PERM)
		return r;
	snprintf(saved, sizeof(saved), "%s", tv_errmsg(r));   /* the denial, said again below */
	kmip_why(it, why, sizeof(why));
	if (do_get_attributes(k, uid, &a) != 0 || !(a.have & TV_KATTR_STATE) ||
	    a.state == TV_KSTATE_ACTIVE) {
		tv_errf(r, "%s", saved);
		return r;
	}
	switch (a.state) {
	case TV_KSTATE_PRE_ACTIVE: what = "has not been activated yet"; break;
	case TV_KSTATE_DEACTIVATED: what = "was revoked (state Deactivated)"; break;
	case TV_KSTATE_COMPROMISED: what = "was revoked as compromised"; break;
	case TV_KSTATE_DESTROYED:
	case TV_KSTATE_DESTROYED_COMPROMISED: what = "was destroyed"; break;
	default: what = "is not active"; break;
	}
	return tv_errf(TV_ERR_STATE, "key '%s' on %s %s and can no longer %s %s", uid,
	               k->where, what, use, why);
}

static int do_encrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                          size_t ptlen, uint8_t *ct, uint8_t tag[16])
{
	static const struct tv_kmip_cparams cp = {
		.mode = TV_KMODE_GCM, .alg = TV_KALG_AES, .tag_len = 16
	};
	const struct tv_ttlv *pl;
	const uint8_t *d, *t;
	size_t dn, tn;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(k, &c, TV_KOP_ENCRYPT, 1);
	tv_kmip_pl_encrypt(&c.e, uid, &cp, pt, ptlen, iv, 12, aad, aadlen);
	r = call_simple(k, &c, 1, uid, &pl);
	if (r != 0) {
		if (c.r.nitems == 1)
			r = explain_state(k, r, uid, "encrypt", &c.r.items[0]);
		goto out;
	}
	if ((r = tv_kmip_parse_crypt(pl, &d, &dn, &t, &tn)) != 0)
		goto out;
	if (dn != ptlen || tn != 16) {
		r = tv_errf(TV_ERR_PROTO, "%s returned %zu bytes and a %zu-byte tag for AES-GCM "
		            "encryption of %zu bytes with key '%s'", k->where, dn, tn, ptlen, uid);
		goto out;
	}
	memcpy(ct, d, dn);
	memcpy(tag, t, 16);
out:
	call_end(&c);
	return r;
}

int tv_kms_encrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                       const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                       size_t ptlen, uint8_t *ct, uint8_t tag[16])
{
	GUARDED(do_encrypt_gcm(k, uid, iv, aad, aadlen, pt, ptlen, ct, tag));
}

static int do_decrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                          size_t ctlen, const uint8_t tag[16], uint8_t *pt)
{
	static const struct tv_kmip_cparams cp = {
		.mode = TV_KMODE_GCM, .alg = TV_KALG_AES, .tag_len = 16
	};
	const struct tv_ttlv *pl;
	const uint8_t *d;
	size_t dn;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(k, &c, TV_KOP_DECRYPT, 1);
	tv_kmip_pl_decrypt(&c.e, uid, &cp, ct, ctlen, iv, 12, aad, aadlen, tag, 16);
	r = call_simple(k, &c, 1, uid, &pl);
	if (r != 0) {
		if (c.r.nitems == 1) {
			const struct tv_kmip_item *it = &c.r.items[0];
			char why[700];
			/* PyKMIP reports a GCM tag mismatch as General Failure */
			if (it->reason == TV_KR_GENERAL_FAILURE ||
			    it->reason == TV_KR_CRYPTOGRAPHIC_FAILURE) {
				kmip_why(it, why, sizeof(why));
				r = tv_errf(TV_ERR_AUTH,
				            "key '%s' on %s could not authenticate the wrapped data: "
				            "AES-GCM tag mismatch (wrong key, wrong associated data, "
				            "or the data was altered) %s", uid, k->where, why);
			} else {
				r = explain_state(k, r, uid, "decrypt", it);
			}
		}
		goto out;
	}
	if ((r = tv_kmip_parse_crypt(pl, &d, &dn, NULL, NULL)) != 0)
		goto out;
	if (dn != ctlen) {
		r = tv_errf(TV_ERR_PROTO, "%s returned %zu bytes for AES-GCM decryption of %zu "
		            "bytes with key '%s'", k->where, dn, ctlen, uid);
		goto out;
	}
	memcpy(pt, d, dn);
out:
	call_end(&c);
	return r;
}

int tv_kms_decrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                       const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                       size_t ctlen, const uint8_t tag[16], uint8_t *pt)
{
	GUARDED(do_decrypt_gcm(k, uid, iv, aad, aadlen, ct, ctlen, tag, pt));
}

/* Did the server say it cannot do RSA decryption?  Only an explicit
 * "not supported" counts, and a request refused as a whole for being
 * unreadable (Invalid Message, no Operation): a KMIP 1.2-era server such as
 * PyKMIP 0.10 cannot parse the KMIP 1.4 Cryptographic Parameters (Mask
 * Generator, P Source) the RSA-OAEP request needs.  Everything else
 * (permission, state, item not found, cryptographic failure) is an answer
 * about the key, not about the server, and must not lead to a Get. */
static int rsa_unsupported(const struct tv_kmip_resp *r)
{
	const struct tv_kmip_item *it = &r->items[0];

	if (r->nitems != 1 || it->status != TV_KSTATUS_FAILED)
		return 0;
	if (it->reason == TV_KR_OPERATION_NOT_SUPPORTED ||
	    it->reason == TV_KR_FEATURE_NOT_SUPPORTED)
		return 1;
	return it->reason == TV_KR_INVALID_MESSAGE && tv_kmip_resp_whole_failure(r);
}

static int rsa_decrypt_failed(struct tv_kms *k, struct call *c, int r, const char *uid)
{
	const struct tv_kmip_item *it = &c->r.items[0];
	char why[700];

	if (c->r.nitems != 1)
		return r;
	kmip_why(it, why, sizeof(why));
	if (rsa_unsupported(&c->r)) {
		k->no_rsa_decrypt = 1;
		return tv_errf(TV_ERR_UNSUPPORTED, "%s cannot decrypt with RSA key '%s' on the "
		               "server %s", k->where, uid, why);
	}
	if (it->reason == TV_KR_CRYPTOGRAPHIC_FAILURE)
		return tv_errf(TV_ERR_BADKEY, "key '%s' on %s could not decrypt the wrapped data "
		               "(RSA-OAEP: wrong key, wrong label, or the data was altered) %s",
		               uid, k->where, why);
	if (r == TV_ERR_UNSUPPORTED)     /* pending / undone: not a "no" to RSA */
		return tv_errf(TV_ERR_KMIP, "RSA Decrypt with key '%s' on %s did not complete "
		               "%s", uid, k->where, why);
	return explain_state(k, r, uid, "decrypt", it);
}

static int do_rsa_decrypt(struct tv_kms *k, const char *uid, const uint8_t *label,
                          size_t labellen, const uint8_t *ct, size_t ctlen, uint8_t *pt,
                          size_t ptcap, size_t *ptlen)
{
	struct tv_kmip_cparams cp = {
		.padding = TV_KPAD_OAEP, .hash = TV_KHASH_SHA256, .alg = TV_KALG_RSA,
		.mgf = TV_KMGF_MGF1, .mgf_hash = TV_KHASH_SHA256,
		.p_source = label, .p_source_len = labellen
	};
	const struct tv_ttlv *pl;
	const uint8_t *d;
	size_t dn;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	if (k->no_rsa_decrypt)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s cannot decrypt with RSA keys", k->where);
	call_begin(k, &c, TV_KOP_DECRYPT, 1);
	tv_kmip_pl_decrypt(&c.e, uid, &cp, ct, ctlen, NULL, 0, NULL, 0, NULL, 0);
	r = call_simple(k, &c, 1, uid, &pl);
	if (r != 0) {
		r = rsa_decrypt_failed(k, &c, r, uid);
		goto out;
	}
	if ((r = tv_kmip_parse_crypt(pl, &d, &dn, NULL, NULL)) != 0)
		goto out;
	if (dn > ptcap) {
		r = tv_errf(TV_ERR_RANGE, "RSA plaintext of %zu bytes exceeds buffer of %zu",
		            dn, ptcap);
		goto out;
	}
	memcpy(pt, d, dn);
	*ptlen = dn;
out:
	call_end(&c);              /* wipes the response holding the plaintext */
	return r;
}

int tv_kms_rsa_decrypt(struct tv_kms *k, const char *uid, const uint8_t *label,
                       size_t labellen, const uint8_t *ct, size_t ctlen, uint8_t *pt,
                       size_t ptcap, size_t *ptlen)
{
	GUARDED(do_rsa_decrypt(k, uid, label, labellen, ct, ctlen, pt, ptcap, ptlen));
}

static int do_revoke(struct tv_kms *k, const char *uid)
{
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(k, &c, TV_KOP_REVOKE, 1);
	tv_kmip_pl_revoke(&c.e, uid, TV_KREVOKE_CESSATION);
	r = call_simple(k, &c, 0, uid, &pl);
	call_end(&c);
	return r;
}

int tv_kms_revoke(struct tv_kms *k, const char *uid) { GUARDED(do_revoke(k, uid)); }

static int do_destroy(struct tv_kms *k, const char *uid)
{
	return do_uid_op(k, TV_KOP_DESTROY, uid);
}

int tv_kms_destroy(struct tv_kms *k, const char *uid) { GUARDED(do_destroy(k, uid)); }
