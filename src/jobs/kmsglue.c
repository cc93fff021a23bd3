/* tapevault: jobs <-> KMS client glue (see kmsglue.h).
 *
 * One connection per KMS server per process, opened on first use and kept
 * for the whole job: a catalog of N tapes under one key costs one TLS
 * handshake and one KMIP Decrypt per tape. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "crypto/rand.h"
#include "crypto/slot.h"
#include "jobs/admin.h"
#include "jobs/kmsglue.h"
#include "kms/client.h"
#include "util/err.h"
#include "util/wipe.h"

#define MAX_CONN 8

struct kms_conns {
	struct {
		char name[TV_NAME_MAX];
		struct tv_kms *k;
	} c[MAX_CONN];
};


static int get_conn(struct tv_home *h, const char *name, struct tv_kms **out)
{
	struct kms_conns *cs = h->kms;
	struct tv_kms_conf conf;
	int i, r, freei = -1;

	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return TV_ERR_NOMEM;
		h->kms = cs;
	}
	for (i = 0; i < MAX_CONN; i++) {
		if (cs->c[i].k != NULL && strcmp(cs->c[i].name, name) == 0) {
			*out = cs->c[i].k;
			return 0;
		}
		if (cs->c[i].k == NULL && freei < 0)
			freei = i;
	}
	if (freei < 0)
		return tv_errf(TV_ERR_RANGE, "too many KMS servers in one job");
	if ((r = tv_admin_kms_conf(h, name, &conf, NULL)) != 0)
		return r;
	if ((r = tv_kms_connect(&conf, &cs->c[freei].k)) != 0)
		return r;
	snprintf(cs->c[freei].name, sizeof(cs->c[freei].name), "%s", name);
	tv_log(h, "connected to %s", tv_kms_where(cs->c[freei].k));
	*out = cs->c[freei].k;
	return 0;
}

void tv_kmsglue_close_all(struct tv_home *h)
{
	struct kms_conns *cs = h->kms;

	if (cs == NULL)
		return;
	for (int i = 0; i < MAX_CONN; i++)
		if (cs->c[i].k != NULL) {
			tv_log(h, "%s: %llu KMIP round trip(s)", tv_kms_where(cs->c[i].k),
			       (unsigned long long)tv_kms_round_trips(cs->c[i].k));
			tv_kms_close(cs->c[i].k);
		}
	free(cs);
	h->kms = NULL;
}

/* Record a KMS key in kms_keys; for RSA cache its public key `pub`. */
static int remember_key(struct tv_home *h, int64_t server_id, const char *uid,
                        const char *name, const char *kind, EVP_PKEY *pub)
{
	unsigned char *der = NULL;
	int derlen = 0, r;

	if (pub != NULL) {
		derlen = i2d_PUBKEY(pub, &der);
		if (derlen <= 0)
			return tv_errf(TV_ERR_CRYPTO, "cannot encode the KMS public key");
	}
	r = tv_db_exec(h->db,
	               "INSERT INTO kms_keys(server_id, uid, name, kind, public_der, created) "
	               "VALUES(?,?,?,?,?,?) ON CONFLICT(server_id, uid) DO UPDATE SET "
	               "name=excluded.name, kind=excluded.kind, public_der=excluded.public_der",
	               "itttbi", server_id, uid, name, kind, der, (size_t)(derlen > 0 ? derlen : 0),
	               (int64_t)tv_now());
	OPENSSL_free(der);
	return r;
}

/* The public half of a private key held in memory (a copy without the
 * private parts). */
static int public_half(EVP_PKEY *priv, EVP_PKEY **pub)
{
	unsigned char *der = NULL;
	const unsigned char *q;
	int n = i2d_PUBKEY(priv, &der);

	*pub = NULL;
	if (n > 0) {
		q = der;
		*pub = d2i_PUBKEY(NULL, &q, n);
	}
	OPENSSL_free(der);
	return *pub ? 0 : tv_errf(TV_ERR_CRYPTO, "cannot take the public half of a KMS key");
}

/* The public key of RSA private key `uid` (attributes a): the one the
 * server's Link attribute names, and only if that key links back to `uid`
 * (never a key found by its name: anyone allowed to create keys on the KMS
 * can create "NAME.pub").  A server that keeps no Links (PyKMIP 0.10): the
 * public half of the private key itself, fetched into memory only. */
static int rsa_public_of(struct tv_home *h, struct tv_kms *k, const char *uid,
                         const struct tv_kmip_attrs *a, EVP_PKEY **pub)
{
	struct tv_kmip_attrs pa;
	EVP_PKEY *priv = NULL;
	int r;

	*pub = NULL;
	if (!(a->have & TV_KATTR_LINK_PUBLIC) || a->link_public[0] == '\0') {
		if ((r = tv_kms_get_private_key(k, uid, &priv)) != 0)
			return tv_errctx(r, "%s reports no Link from RSA key %s to its public key "
			                 "and the private key cannot be read to derive it; tapevault "
			                 "does not pick a public key by its name", tv_kms_where(k), uid);
		r = public_half(priv, pub);
		EVP_PKEY_free(priv);
		if (r == 0)
			tv_log(h, "%s keeps no Link between the halves of RSA key %s: public key "
			       "derived from the private key (fetched into memory only, wiped)",
			       tv_kms_where(k), uid);
		return r;
	}
	if ((r = tv_kms_get_attributes(k, a->link_public, &pa)) != 0)
		return tv_errctx(r, "public key %s that RSA key %s links to", a->link_public, uid);
	if (pa.object_type != TV_KOBJ_PUBLIC_KEY)
		return tv_errf(TV_ERR_INVAL, "RSA key %s on %s links to object %s, which is a %s, "
		               "not a public key: refusing it", uid, tv_kms_where(k),
		               a->link_public, tv_kmip_object_type_name(pa.object_type));
	if (!(pa.have & TV_KATTR_LINK_PRIVATE) || strcmp(pa.link_private, uid) != 0)
		return tv_errf(TV_ERR_INVAL, "RSA key %s on %s links to public key %s, but that "
		               "key %s%s%s: the pair does not match, refusing to wrap keys to it",
		               uid, tv_kms_where(k), a->link_public,
		               (pa.have & TV_KATTR_LINK_PRIVATE) ? "links to private key "
		                                                 : "has no Private Key Link",
		               (pa.have & TV_KATTR_LINK_PRIVATE) ? pa.link_private : "",
		               (pa.have & TV_KATTR_LINK_PRIVATE) ? " instead" : "");
	return tv_kms_get_public_key(k, a->link_public, pub);
}

int tv_kmsglue_create_key(struct tv_home *h, const char *server, const char *name,
                          const char *kind, char *uid_out, size_t uidsz, char *pub_out,
                          size_t pubsz)
{
	struct tv_kms_conf conf;
	struct tv_kms *k;
	int64_t server_id;
	char uid[TV_KMS_UID_MAX], pub[TV_KMS_UID_MAX] = "";
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if ((r = tv_admin_kms_conf(h, server, &conf, &server_id)) != 0 ||
	    (r = get_conn(h, server, &k)) != 0)
		return r;
	if (strcmp(kind, "aes") == 0)
		r = tv_kms_create_aes(k, name, uid);
	else if (strcmp(kind, "rsa") == 0)
		r = tv_kms_create_rsa(k, name, 0, uid, pub);
	else
		return tv_errf(TV_ERR_INVAL, "key type must be aes or rsa");
	if (r != 0)
		return r;
	{
		/* the pair as the CreateKeyPair response named it */
		EVP_PKEY *pk = NULL;
		if (pub[0] != '\0' && (r = tv_kms_get_public_key(k, pub, &pk)) != 0)
			return r;
		r = remember_key(h, server_id, uid, name, kind, pk);
		EVP_PKEY_free(pk);
		if (r != 0)
			return r;
	}
	snprintf(uid_out, uidsz, "%s", uid);
	if (pub_out)
		snprintf(pub_out, pubsz, "%s", pub);
	tv_log(h, "created %s key %s '%s' on %s", kind, uid, name, tv_kms_where(k));
	return 0;
}

/* Make sure we know kind (and for RSA the public key) of a key id. */
static int learn_key(struct tv_home *h, const char *server, const char *uid)
{
	struct tv_kms *k;
	struct tv_kmip_attrs a;
	int64_t server_id, id;
	struct tv_kms_conf conf;
	int r;

	if ((r = tv_admin_kms_conf(h, server, &conf, &server_id)) != 0)
		return r;
	if (tv_db_get_int(h->db, &id, "SELECT id FROM kms_keys WHERE server_id=? AND uid=?", "it",
	                  server_id, uid) == 0)
		return 0;
	if ((r = get_conn(h, server, &k)) != 0)
		return r;
	memset(&a, 0, sizeof(a));
	if ((r = tv_kms_get_attributes(k, uid, &a)) != 0)
		return r;
	if (a.object_type == TV_KOBJ_SYMMETRIC_KEY)
		return remember_key(h, server_id, uid, a.name, "aes", NULL);
	if (a.object_type == TV_KOBJ_PRIVATE_KEY) {
		EVP_PKEY *pub = NULL;
		if ((r = rsa_public_of(h, k, uid, &a, &pub)) != 0)
			return r;
		r = remember_key(h, server_id, uid, a.name, "rsa", pub);
		EVP_PKEY_free(pub);
		return r;
	}
	if (a.object_type == TV_KOBJ_PUBLIC_KEY)
		return tv_errf(TV_ERR_INVAL, "key %s on %s is a public key: give the id of the "
		               "private key of the pair (it is used to unwrap)", uid, tv_kms_where(k));
	return tv_errf(TV_ERR_INVAL, "object %s on %s is not a key tapevault can use", uid,
	               tv_kms_where(k));
}

int tv_kmsglue_resolve_spec(struct tv_home *h, const char *pool, const char *spec,
                            char *out, size_t outsz)
{
	char server[TV_NAME_MAX], *colon, uid[TV_KMS_UID_MAX];
	struct tv_kms_conf conf;
	int r;

	snprintf(server, sizeof(server), "%s", spec);
	if ((colon = strchr(server, ':')) != NULL)
		*colon++ = '\0';
	if ((r = tv_admin_kms_conf(h, server, &conf, NULL)) != 0)
		return r;
	if (colon == NULL || *colon == '\0') {
		char name[TV_NAME_MAX + 40];
		snprintf(name, sizeof(name), "tapevault-pool-%s-%llu", pool,
		         (unsigned long long)tv_now());
		if ((r = tv_kmsglue_create_key(h, server, name, "aes", uid, sizeof(uid), NULL, 0)) != 0)
			return r;
		tv_info(h, "created key %s ('%s') on KMS %s for pool %s", uid, name, server, pool);
	} else {
		snprintf(uid, sizeof(uid), "%s", colon);
		if ((r = learn_key(h, server, uid)) != 0)
			return r;
	}
	snprintf(out, outsz, "kms:%s:%s", server, uid);
	return 0;
}

static int open_with(struct tv_home *h, const char *server, const struct tv_keyslot *slot,
                     const uint8_t tape_uuid[16], const char *keyid, uint8_t dek[TV_DEK_LEN]);

static int wrap_slot(struct tv_home *h, const char *server, const char *keyid,
                     const uint8_t tape_uuid[16], const uint8_t dek[TV_DEK_LEN],
                     struct tv_keyslot *slot)
{
	struct tv_kms_conf conf;
	struct tv_kms_ident id;
	struct tv_stmt *kq = NULL;
	struct tv_buf aad;
	int64_t server_id;
	char kind[8] = "", name[256] = "";
	unsigned char *der = NULL;
	size_t derlen = 0;
	int r;

	tv_buf_init(&aad);
	if ((r = tv_admin_kms_conf(h, server, &conf, &server_id)) != 0)
		return r;
	if ((r = learn_key(h, server, keyid)) != 0)
		return r;
	if ((r = tv_db_query(h->db, &kq, "SELECT kind, name, public_der FROM kms_keys WHERE "
	                     "server_id=? AND uid=?", "it", server_id, keyid)) != 0)
		return r;
	if ((r = tv_stmt_step(kq)) == 1) {
		const void *p;
		snprintf(kind, sizeof(kind), "%s", tv_stmt_text(kq, 0));
		snprintf(name, sizeof(name), "%s", tv_stmt_text(kq, 1));
		if ((p = tv_stmt_blob(kq, 2, &derlen)) != NULL && derlen > 0 &&
		    (der = malloc(derlen)) != NULL)
			memcpy(der, p, derlen);
	}
	tv_stmt_free(kq);
	if (r < 0)
		goto out;
	memset(&id, 0, sizeof(id));
	id.server = conf.name;
	id.host = conf.host;
	id.port = conf.port ? conf.port : TV_KMS_DEFAULT_PORT;
	id.key_id = keyid;
	id.key_name = name;
	if (strcmp(kind, "rsa") == 0) {
		/* wrap locally with the cached public key: works while the KMS is down */
		const unsigned char *q = der;
		EVP_PKEY *pub = der ? d2i_PUBKEY(NULL, &q, (long)derlen) : NULL;
		if (pub == NULL) {
			r = tv_errf(TV_ERR_CRYPTO, "no cached public key for KMS key %s", keyid);
			goto out;
		}
		r = tv_slot_kms_init(slot, &id, TV_KMS_RSA);
		if (r == 0)
			r = tv_slot_kms_rsa_wrap(slot, tape_uuid, dek, pub);
		EVP_PKEY_free(pub);
	} else {
		struct tv_kms *k;
		uint8_t ct[TV_DEK_LEN], tag[16];
		/* tv_slot_kms_init chose a fresh 12-byte IV for the slot */
		if ((r = tv_slot_kms_init(slot, &id, TV_KMS_AES)) != 0 ||
		    (r = tv_slot_kms_aad(&aad, tape_uuid, slot)) != 0 ||
		    (r = get_conn(h, server, &k)) != 0)
			goto out;
		r = tv_kms_encrypt_gcm(k, keyid, slot->iv, tv_buf_ptr(&aad), tv_buf_avail(&aad), dek,
		                       TV_DEK_LEN, ct, tag);
		if (r == 0)
			r = tv_slot_kms_aes_set_wrapped(slot, ct, sizeof(ct), tag, sizeof(tag));
		tv_wipe(ct, sizeof(ct));
	}
out:
	tv_buf_free(&aad);
	free(der);
	return r;
}

/* A new slot is opened once, the way a reader will open it, before any
 * tape depends on it: a key that cannot decrypt (usage mask, permission,
 * state), a public key that is not the private key's, or a server that
 * mangles the AAD fail the write here, not on the day of the restore.  The
 * one exception: an RSA slot while the KMS is unreachable (the public key
 * is cached so that writing works then; it was tied to the private key
 * when the key was registered, by the KMS's Link or by deriving it). */
static int check_slot(struct tv_home *h, const char *server, const char *keyid,
                      const struct tv_keyslot *slot, const uint8_t tape_uuid[16],
                      const uint8_t dek[TV_DEK_LEN])
{
	uint8_t back[TV_DEK_LEN];
	char why[1024];
	int r;

	r = open_with(h, server, slot, tape_uuid, keyid, back);
	if (r == 0 && CRYPTO_memcmp(back, dek, TV_DEK_LEN) != 0)
		r = tv_errf(TV_ERR_BADKEY, "it opened to a different key");
	tv_wipe(back, sizeof(back));
	if (r == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", tv_errmsg(r));
	if (r == TV_ERR_NET && slot->kms_kind == TV_KMS_RSA) {
		tv_info(h, "KMS %s is unreachable: the new slot for RSA key %s was wrapped with "
		        "the cached public key and could not be test-unwrapped (%s)", server,
		        keyid, why);
		return 0;
	}
	return tv_errf(r, "KMS key %s on %s: the new key slot could not be unwrapped again, "
	               "so a tape written with it could not be read back; nothing was "
	               "written with it (%s)", keyid, server, why);
}

int tv_kmsglue_make_slot(struct tv_home *h, const char *server, const char *keyid,
                         const uint8_t tape_uuid[16], const uint8_t dek[TV_DEK_LEN],
                         struct tv_keyslot *slot)
{
	int r;

	if ((r = wrap_slot(h, server, keyid, tape_uuid, dek, slot)) != 0)
		return r;
	return check_slot(h, server, keyid, slot, tape_uuid, dek);
}

/* RSA slot: KMIP Decrypt on the KMS (RSA-OAEP-SHA-256, label = the slot
 * AAD), its answer used as it is; only when the KMS says it cannot decrypt
 * with RSA keys, the private key is fetched (memory only) and the slot
 * unwrapped here.  Any other refusal (revoked, permission, wrong key) ends
 * the attempt: the KMS said no. */
static int open_rsa(struct tv_home *h, struct tv_kms *k, const struct tv_keyslot *slot,
                    const uint8_t tape_uuid[16], const char *keyid, uint8_t dek[TV_DEK_LEN])
{
	struct tv_buf aad;
	uint8_t pt[512];
	size_t ptlen = 0;
	EVP_PKEY *priv = NULL;
	int r;

	tv_buf_init(&aad);
	if ((r = tv_slot_validate(slot)) != 0 ||
	    (r = tv_slot_kms_aad(&aad, tape_uuid, slot)) != 0)
		goto out;
	r = tv_kms_rsa_decrypt(k, keyid, tv_buf_ptr(&aad), tv_buf_avail(&aad), slot->wrapped,
	                       slot->wrapped_len, pt, sizeof(pt), &ptlen);
	if (r == 0) {
		if (ptlen != TV_DEK_LEN) {
			r = tv_errf(TV_ERR_FORMAT, "%s decrypted the KMS slot to %zu bytes, not a "
			            "%d-byte key", tv_kms_where(k), ptlen, TV_DEK_LEN);
			goto out;
		}
		memcpy(dek, pt, TV_DEK_LEN);
		tv_log(h, "%s unwrapped the slot (KMIP Decrypt, RSA-OAEP with key %s)",
		       tv_kms_where(k), keyid);
		goto out;
	}
	if (r != TV_ERR_UNSUPPORTED)
		goto out;
	tv_log(h, "%s: %s", tv_kms_where(k), tv_errmsg(r));
	if ((r = tv_kms_get_private_key(k, keyid, &priv)) != 0)
		goto out;
	tv_log(h, "%s cannot decrypt with RSA keys: private key %s fetched into memory only, "
	       "used once and wiped", tv_kms_where(k), keyid);
	r = tv_slot_kms_rsa_unwrap(slot, tape_uuid, priv, dek);
	EVP_PKEY_free(priv);
out:
	tv_wipe(pt, sizeof(pt));
	tv_buf_free(&aad);
	return r;
}

static int open_with(struct tv_home *h, const char *server, const struct tv_keyslot *slot,
                     const uint8_t tape_uuid[16], const char *keyid, uint8_t dek[TV_DEK_LEN])
{
	struct tv_kms *k;
	struct tv_buf aad;
	int r;

	tv_buf_init(&aad);
	if ((r = get_conn(h, server, &k)) != 0)
		return r;
	if (slot->kms_kind == TV_KMS_RSA)
		return open_rsa(h, k, slot, tape_uuid, keyid, dek);
	{
		const uint8_t *ct, *tag, *iv;
		size_t ctl, tagl, ivl;
		if ((r = tv_slot_kms_aes_get_wrapped(slot, &ct, &ctl, &tag, &tagl, &iv, &ivl)) != 0)
			return r;
		if (ctl != TV_DEK_LEN || tagl != 16 || ivl != 12)
			return tv_errf(TV_ERR_FORMAT, "KMS key slot has wrong lengths");
		if ((r = tv_slot_kms_aad(&aad, tape_uuid, slot)) != 0)
			goto out;
		r = tv_kms_decrypt_gcm(k, keyid, iv, tv_buf_ptr(&aad), tv_buf_avail(&aad), ct, ctl,
		                       tag, dek);
	}
out:
	tv_buf_free(&aad);
	return r;
}

int tv_kmsglue_open_slot(struct tv_home *h, const struct tv_keyslot *slot,
                         const uint8_t tape_uuid[16], const char *server_override,
                         const char *keyid_override, uint8_t dek[TV_DEK_LEN],
                         char *used, size_t usedsz)
{
	struct tv_stmt *q;
	const char *keyid = keyid_override && *keyid_override ? keyid_override : slot->key_id;
	char first_err[1024] = "";
	int r, sr, first_rc = 0, tried = 0;

	if (server_override != NULL) {
		r = open_with(h, server_override, slot, tape_uuid, keyid, dek);
		if (r == 0)
			snprintf(used, usedsz, "%s", server_override);
		else if (r == TV_ERR_NOTFOUND) {
			char msg[1024];
			snprintf(msg, sizeof(msg), "%s", tv_errmsg(r));
			return tv_errf(r, "%s; if key %s was destroyed, the data under it is "
			               "unrecoverable except through escrow (password loss protection)",
			               msg, keyid);
		}
		return r;
	}
	/* candidates: same name, then same host:port, then every other server */
	if ((r = tv_db_query(h->db, &q,
	                     "SELECT name FROM kms_servers ORDER BY (name=?) DESC,"
	                     " (host=? AND port=?) DESC, id", "tti", slot->kms_name,
	                     slot->kms_host, (int64_t)slot->kms_port)) != 0)
		return r;
	while ((sr = tv_stmt_step(q)) == 1) {
		char name[TV_NAME_MAX];
		snprintf(name, sizeof(name), "%s", tv_stmt_text(q, 0));
		tried++;
		r = open_with(h, name, slot, tape_uuid, keyid, dek);
		if (r == 0) {
			snprintf(used, usedsz, "%s", name);
			tv_stmt_free(q);
			return 0;
		}
		if (first_rc == 0) {
			first_rc = r;
			snprintf(first_err, sizeof(first_err), "%s", tv_errmsg(r));
		}
	}
	tv_stmt_free(q);
	if (sr < 0)
		return sr;
	if (tried == 0)
		return tv_errf(TV_ERR_LOCKED, "KMS %s (%s:%llu) is not registered here: add it with "
		               "'tapevault kms add'", slot->kms_name, slot->kms_host,
		               (unsigned long long)slot->kms_port);
	if (first_rc == TV_ERR_NOTFOUND)
		return tv_errf(first_rc, "%s; if key %s was destroyed, the data under it is "
		               "unrecoverable except through escrow (password loss protection)",
		               first_err, keyid);
	return tv_errf(first_rc, "%s", first_err);
}

int tv_kmsglue_retire_key(struct tv_home *h, const char *server, const char *uid, int destroy)
{
	struct tv_kms *k;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if ((r = get_conn(h, server, &k)) != 0)
		return r;
	r = destroy ? tv_kms_destroy(k, uid) : tv_kms_revoke(k, uid);
	if (r == 0)
		tv_log(h, "%s key %s on %s", destroy ? "destroyed" : "revoked", uid, tv_kms_where(k));
	return r;
}
