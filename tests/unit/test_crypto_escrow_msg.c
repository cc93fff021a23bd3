/* tapevault: escrow recovery messages and the installation identity key:
 * round trip with real RSA escrow slots, signature and armor tampering,
 * truncation, versions, hostile re-signed bodies, responses to other
 * requests or other one-time keys, items for other authorities, the
 * one-time key DER helpers, the identity key file, and the seed corpora of
 * the fuzz targets (fuzz_escrow_request, fuzz_escrow_response).
 *
 * With TV_ESCROW_WRITE_SEEDS=1 in the environment the seed files are
 * (re)written; normally the committed seeds must still parse / open (the
 * seed test finds them through tl_srcdir() and fails when it cannot). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include "crypto/escrow_msg.h"
#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/pkey.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "crypto/slot.h"
#include "util/err.h"

#include "testlib.h"

/* Shared with tests/fuzz/fuzz_escrow_response.c: the response seeds are
 * made for this one-time key and this request hash. */
static const uint8_t FUZZ_ONETIME_RAW[32] = {
	0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72,
	0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
	0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a };
#define FUZZ_HASH_BYTE 0x5a

#define NTAPES 3

static EVP_PKEY *auth_a;      /* escrow authority A (RSA-2048 for speed) */
static EVP_PKEY *auth_b;      /* another authority */
static EVP_PKEY *ident;       /* installation identity (Ed25519) */
static EVP_PKEY *ident2;      /* another installation */

static struct tv_escrow_item items[NTAPES];
static uint8_t deks[NTAPES][32];

static void make_item(struct tv_escrow_item *it, uint8_t dek[32], const char *barcode,
                      const char *pool, uint64_t seq, EVP_PKEY *pub)
{
	memset(it, 0, sizeof(*it));
	assert_int_equal(tv_uuid_new(it->tape_uuid), 0);
	snprintf(it->barcode, sizeof(it->barcode), "%s", barcode);
	snprintf(it->pool, sizeof(it->pool), "%s", pool);
	it->media_set_seq = seq;
	assert_int_equal(tv_dek_new(dek), 0);
	assert_int_equal(tv_dek_fingerprint(dek, it->dek_fpr), 0);
	assert_int_equal(tv_slot_escrow_make(&it->slot, it->tape_uuid, dek, pub), 0);
}

static int setup(void **state)
{
	(void)state;
	auth_a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	auth_b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ident = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ident2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!auth_a || !auth_b || !ident || !ident2)
		return -1;
	make_item(&items[0], deks[0], "VT0001L9", "offsite", 1, auth_a);
	make_item(&items[1], deks[1], "VT0002L9", "offsite", 2, auth_a);
	make_item(&items[2], deks[2], "VT0003L9", "weekly", 1, auth_b);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(auth_a);
	EVP_PKEY_free(auth_b);
	EVP_PKEY_free(ident);
	EVP_PKEY_free(ident2);
	return 0;
}

/* ---- test-side armor codec (independent of the library's) ---- */

static const char *label_of(int response)
{
	return response ? "RESPONSE" : "REQUEST";
}

/* payload of an armored text (malloc'd) */
static size_t dearmor(const char *text, uint8_t **out)
{
	const char *b = strstr(text, "\n\n"), *e = strstr(text, "-----END");
	char *clean;
	size_t n = 0, pad = 0;
	int len;

	assert_non_null(b);
	assert_non_null(e);
	clean = malloc((size_t)(e - b) + 1);
	assert_non_null(clean);
	for (const char *p = b + 2; p < e; p++)
		if (*p != '\n')
			clean[n++] = *p;
	clean[n] = '\0';
	if (n > 0 && clean[n - 1] == '=')
		pad++;
	if (n > 1 && clean[n - 2] == '=')
		pad++;
	*out = malloc(n / 4 * 3 + 1);
	assert_non_null(*out);
	len = EVP_DecodeBlock(*out, (unsigned char *)clean, (int)n);
	assert_true(len >= 0);
	free(clean);
	return (size_t)len - pad;
}

static char *armor(const uint8_t *p, size_t n, int response, const char *version)
{
	size_t b64n = 4 * ((n + 2) / 3);
	char *b64 = malloc(b64n + 1), *t = malloc(b64n + b64n / 64 + 200), *o;

	assert_non_null(b64);
	assert_non_null(t);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, p, (int)n), (int)b64n);
	o = t + sprintf(t, "-----BEGIN TAPEVAULT ESCROW %s-----\nVersion: %s\n\n",
	                label_of(response), version);
	for (size_t i = 0; i < b64n; i += 64) {
		size_t m = b64n - i < 64 ? b64n - i : 64;
		memcpy(o, b64 + i, m);
		o += m;
		*o++ = '\n';
	}
	sprintf(o, "-----END TAPEVAULT ESCROW %s-----\n", label_of(response));
	free(b64);
	return t;
}

/* body || Ed25519(SHA-256(domain || body)), armored */
static char *resign(const uint8_t *body, size_t blen, EVP_PKEY *key)
{
	static const char dom[] = "tapevault escrow request v1";
	uint8_t h[32], *p = malloc(blen + 64);
	size_t sl = 64;
	EVP_MD_CTX *md;
	char *t;

	assert_non_null(p);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(md, dom, sizeof(dom) - 1), 1);
	assert_int_equal(EVP_DigestUpdate(md, body, blen), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, h, NULL), 1);
	EVP_MD_CTX_free(md);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, p + blen, &sl, h, 32), 1);
	EVP_MD_CTX_free(md);
	memcpy(p, body, blen);
	t = armor(p, blen + 64, 0, "1");
	free(p);
	return t;
}

/* offsets inside a request body */
struct req_layout {
	size_t count_off;       /* u32 N */
	size_t item_off[NTAPES + 1];
};

static void layout(const uint8_t *b, size_t blen, struct req_layout *l)
{
	size_t o = 32;
	uint32_t n;

	o += 2 + tv_get_be16(b + o);          /* installation */
	o += 2 + tv_get_be16(b + o);          /* identity key */
	o += 2 + tv_get_be16(b + o);          /* one-time key */
	l->count_off = o;
	n = tv_get_be32(b + o);
	o += 4;
	assert_true(n <= NTAPES);
	for (uint32_t i = 0; i < n; i++) {
		l->item_off[i] = o;
		o += 16;
		o += 2 + tv_get_be16(b + o);      /* barcode */
		o += 2 + tv_get_be16(b + o);      /* pool */
		o += 8 + 16;
		o += 2 + tv_get_be16(b + o);      /* slot */
	}
	l->item_off[n] = o;
	assert_int_equal(o, blen);
}

static char *make_req(const struct tv_escrow_item *its, size_t n, EVP_PKEY **ot)
{
	char *text = NULL;

	assert_int_equal(tv_escrow_request_make(its, n, "hq", ident, &text, ot), 0);
	assert_non_null(text);
	return text;
}

static struct tv_escrow_request *parse_ok(const char *text)
{
	struct tv_escrow_request *req = NULL;
	int r = tv_escrow_request_parse(text, strlen(text), &req);

	if (r != 0)
		fail_msg("parse: %s", tv_errmsg(r));
	return req;
}

static int parse_rc(const char *text, size_t len)
{
	struct tv_escrow_request *req = NULL;
	int r = tv_escrow_request_parse(text, len, &req);

	if (r == 0)
		tv_escrow_request_free(req);
	else
		assert_null(req);
	return r;
}

static void assert_detail(const char *needle)
{
	if (strstr(tv_errdetail(), needle) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", tv_errdetail(), needle);
}

/* ---- identity ---- */

static void test_identity(void **state)
{
	const char *home = tl_tmpdir("ident");
	char path[4096], dir[4096], link[4200];
	uint8_t fpr[32], fpr2[32], *data;
	size_t n;
	EVP_PKEY *k = NULL;
	struct stat st;
	FILE *f;
	(void)state;

	assert_non_null(home);
	assert_int_equal(tv_identity_path(home, path, sizeof(path)), 0);
	snprintf(dir, sizeof(dir), "%s/keys", home);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_NOTFOUND);
	assert_detail("tapevault init");
	assert_int_equal(tv_identity_create(home, fpr), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	data = tl_read_file(path, &n);
	assert_non_null(data);
	assert_true(n > 0);
	assert_non_null(strstr((char *)data, "-----BEGIN PRIVATE KEY-----"));
	free(data);
	assert_int_equal(tv_identity_create(home, NULL), TV_ERR_EXISTS);

	assert_int_equal(tv_identity_load(home, &k), 0);
	assert_int_equal(tv_identity_check(k), 0);
	assert_int_equal(tv_identity_fingerprint(k, fpr2), 0);
	assert_memory_equal(fpr, fpr2, 32);
	EVP_PKEY_free(k);
	k = NULL;
	assert_int_equal(tv_identity_check(auth_a), TV_ERR_INVAL);
	assert_int_equal(tv_identity_fingerprint(auth_a, fpr2), TV_ERR_INVAL);

	/* group/other readable file or directory: refused */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_PERM);
	assert_null(k);
	assert_detail("chmod 600");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(dir, 0750), 0);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_PERM);
	assert_int_equal(chmod(dir, 0700), 0);

	/* symlink: refused */
	snprintf(link, sizeof(link), "%s/real.pem", dir);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_PERM);
	assert_detail("symbolic link");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(link, path), 0);
	assert_int_equal(tv_identity_load(home, &k), 0);
	EVP_PKEY_free(k);
	k = NULL;

	/* not a key, and a key of another type */
	tl_write_file(path, "garbage\n", 8, 0600);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_FORMAT);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, auth_a, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_FORMAT);
	assert_detail("not an Ed25519");
	/* an encrypted key is refused without prompting */
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, ident, EVP_aes_256_cbc(), NULL, 0,
	                                           NULL, (void *)"pw"), 1);
	fclose(f);
	assert_int_equal(tv_identity_load(home, &k), TV_ERR_FORMAT);
	assert_null(k);

	assert_int_equal(tv_identity_create("", NULL), TV_ERR_INVAL);
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
	struct tv_escrow_request *req;
	struct tv_escrow_resp_report rep;
	struct tv_escrow_resp_info info;
	struct tv_escrow_answer *ans = NULL;
	EVP_PKEY *ot = NULL, *ot2 = NULL;
	uint8_t h[32], id[16], fpr_a[32], fpr_b[32], fpr_i[32], *der = NULL;
	char *text, *resp = NULL, *resp_b = NULL, *line;
	size_t derlen = 0;
	time_t now = time(NULL);
	(void)state;

	text = make_req(items, NTAPES, &ot);
	assert_non_null(ot);
	assert_true(EVP_PKEY_is_a(ot, "X25519"));
	/* armor shape */
	assert_int_equal(strncmp(text, "-----BEGIN TAPEVAULT ESCROW REQUEST-----\nVersion: 1\n\n",
	                         53), 0);
	assert_non_null(strstr(text, "\n-----END TAPEVAULT ESCROW REQUEST-----\n"));
	for (line = strstr(text, "\n\n") + 2; strncmp(line, "-----END", 8) != 0;
	     line = strchr(line, '\n') + 1)
		assert_true(strchr(line, '\n') - line <= 64);

	req = parse_ok(text);
	assert_string_equal(req->installation, "hq");
	assert_true(req->created >= (uint64_t)now - 5 && req->created <= (uint64_t)now + 5);
	assert_int_equal(req->n, NTAPES);
	assert_int_equal(tv_pubkey_fingerprint(ident, fpr_i), 0);
	assert_memory_equal(req->identity_fpr, fpr_i, 32);
	for (size_t i = 0; i < NTAPES; i++) {
		assert_memory_equal(req->items[i].tape_uuid, items[i].tape_uuid, 16);
		assert_string_equal(req->items[i].barcode, items[i].barcode);
		assert_string_equal(req->items[i].pool, items[i].pool);
		assert_int_equal(req->items[i].media_set_seq, items[i].media_set_seq);
		assert_memory_equal(req->items[i].dek_fpr, items[i].dek_fpr, 16);
		assert_memory_equal(req->items[i].slot.escrow_fpr, items[i].slot.escrow_fpr, 32);
		assert_int_equal(req->items[i].slot.wrapped_len, items[i].slot.wrapped_len);
	}
	tv_escrow_request_hash(req, h);
	assert_memory_equal(h, req->hash, 32);

	/* authority A answers tapes 1 and 2, not 3 */
	assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, &rep), 0);
	assert_int_equal(tv_pubkey_fingerprint(auth_a, fpr_a), 0);
	assert_memory_equal(rep.authority_fpr, fpr_a, 32);
	assert_int_equal(rep.n, 3);
	assert_int_equal(rep.n_ok, 2);
	assert_int_equal(rep.n_no_slot, 1);
	assert_int_equal(rep.n_failed, 0);
	assert_int_equal(rep.items[2].status, TV_ESCROW_NO_SLOT);
	assert_non_null(strstr(rep.items[2].detail, "is for key set SHA256:"));
	tv_escrow_resp_report_free(&rep);
	assert_int_equal(strncmp(resp, "-----BEGIN TAPEVAULT ESCROW RESPONSE-----\nVersion: 1\n\n",
	                         54), 0);
	/* the response carries no DEK in the clear */
	{
		uint8_t *p;
		size_t n = dearmor(resp, &p);
		for (size_t i = 0; i + 32 <= n; i++)
			for (size_t t = 0; t < 2; t++)
				assert_false(memcmp(p + i, deks[t], 32) == 0);
		free(p);
	}

	assert_int_equal(tv_escrow_response_peek(resp, strlen(resp), id), 0);
	assert_memory_equal(id, req->id, 16);
	assert_int_equal(tv_escrow_response_info(resp, strlen(resp), &info), 0);
	assert_memory_equal(info.request_hash, req->hash, 32);
	assert_memory_equal(info.authority_fpr, fpr_a, 32);
	assert_string_equal(info.installation, "hq");
	assert_int_equal(info.n, 3);

	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot, req->id, req->hash,
	                                         &ans), 0);
	assert_int_equal(ans->n, 3);
	assert_memory_equal(ans->authority_fpr, fpr_a, 32);
	for (size_t i = 0; i < 2; i++) {
		assert_memory_equal(ans->items[i].tape_uuid, items[i].tape_uuid, 16);
		assert_int_equal(ans->items[i].status, TV_ESCROW_OK);
		assert_memory_equal(ans->items[i].dek, deks[i], 32);
	}
	assert_int_equal(ans->items[2].status, TV_ESCROW_NO_SLOT);
	assert_int_equal(tv_escrow_answer_check(ans, req), 0);
	/* a DEK that does not match its fingerprint is caught by the check */
	ans->items[1].dek[0] ^= 1;
	assert_int_equal(tv_escrow_answer_check(ans, req), TV_ERR_BADKEY);
	assert_detail("VT0002L9");
	tv_escrow_answer_free(ans);
	ans = NULL;

	/* authority B answers tape 3 */
	assert_int_equal(tv_escrow_response_make(req, auth_b, &resp_b, NULL), 0);
	assert_int_equal(tv_pubkey_fingerprint(auth_b, fpr_b), 0);
	/* the one-time key survives a trip through DER (the key store) */
	assert_int_equal(tv_x25519_priv_to_der(ot, &der, &derlen), 0);
	assert_int_equal(derlen, 48);
	assert_int_equal(tv_x25519_priv_from_der(der, derlen, &ot2), 0);
	{
		EVP_PKEY *bad = NULL;
		assert_int_equal(tv_x25519_priv_from_der(der, derlen - 1, &bad), TV_ERR_FORMAT);
		assert_null(bad);
	}
	tv_freezero(der, derlen);
	assert_int_equal(tv_x25519_priv_to_der(ident, &der, &derlen), TV_ERR_INVAL);
	assert_int_equal(tv_escrow_response_open(resp_b, strlen(resp_b), ot2, req->id, req->hash,
	                                         &ans), 0);
	assert_int_equal(ans->items[0].status, TV_ESCROW_NO_SLOT);
	assert_int_equal(ans->items[2].status, TV_ESCROW_OK);
	assert_memory_equal(ans->items[2].dek, deks[2], 32);
	assert_memory_equal(ans->authority_fpr, fpr_b, 32);
	assert_int_equal(tv_escrow_answer_check(ans, req), 0);
	tv_escrow_answer_free(ans);

	/* CRLF line ends and surrounding empty lines are accepted (e-mail) */
	{
		size_t n = strlen(text);
		char *crlf = malloc(2 * n + 8), *o = crlf;
		struct tv_escrow_request *r2;

		o += sprintf(o, "\r\n \n");
		for (size_t i = 0; i < n; i++) {
			if (text[i] == '\n')
				*o++ = '\r';
			*o++ = text[i];
		}
		o += sprintf(o, "\r\n");
		r2 = parse_ok(crlf);
		assert_memory_equal(r2->hash, req->hash, 32);
		tv_escrow_request_free(r2);
		free(crlf);
	}

	EVP_PKEY_free(ot);
	EVP_PKEY_free(ot2);
	tv_escrow_request_free(req);
	free(text);
	free(resp);
	free(resp_b);
}

/* ---- request tampering ---- */

static void test_request_tamper_bytes(void **state)
{
	EVP_PKEY *ot = NULL;
	char *text = make_req(items, NTAPES, &ot), *t;
	struct req_layout l;
	uint8_t *p;
	size_t n = dearmor(text, &p);
	int r;
	(void)state;

	layout(p, n - 64, &l);
	/* unchanged, re-armored by the test: accepted */
	t = armor(p, n, 0, "1");
	assert_int_equal(parse_rc(t, strlen(t)), 0);
	free(t);
	for (size_t i = 0; i < n; i++) {
		for (int m = 0; m < 2; m++) {
			uint8_t mask = m ? 0x80 : 0x01;

			p[i] ^= mask;
			t = armor(p, n, 0, "1");
			r = parse_rc(t, strlen(t));
			if (r == 0)
				fail_msg("byte %zu ^ 0x%02x accepted", i, mask);
			/* inside the items, after the identity key: the signature speaks */
			if (i >= l.item_off[0] && i < l.item_off[NTAPES] && r != TV_ERR_SIG &&
			    r != TV_ERR_FORMAT)
				fail_msg("byte %zu: %d", i, r);
			free(t);
			p[i] ^= mask;
		}
	}
	/* a modified UUID: signature message */
	p[l.item_off[1]] ^= 0x10;
	t = armor(p, n, 0, "1");
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_SIG);
	assert_detail("request: signature does not verify: the request was modified after it was made");
	free(t);
	p[l.item_off[1]] ^= 0x10;
	/* a modified identity key re-signed by someone else still verifies, but
	 * names another identity: the authority must compare fingerprints */
	{
		struct tv_escrow_request *req;
		uint8_t *b = malloc(n), fpr2[32];
		size_t ko = 34 + 2 + 2 + 12;   /* raw identity key in "hq" request */

		memcpy(b, p, n - 64);
		assert_int_equal(tv_get_be16(b + 32), 2);
		{
			uint8_t raw[32];
			size_t rl = 32;
			assert_int_equal(EVP_PKEY_get_raw_public_key(ident2, raw, &rl), 1);
			memcpy(b + ko, raw, 32);
		}
		t = resign(b, n - 64, ident2);
		req = parse_ok(t);
		assert_int_equal(tv_pubkey_fingerprint(ident2, fpr2), 0);
		assert_memory_equal(req->identity_fpr, fpr2, 32);
		tv_escrow_request_free(req);
		free(t);
		/* but signing with another key than the one embedded fails */
		t = resign(p, n - 64, ident2);
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_SIG);
		free(t);
		free(b);
	}
	free(p);
	free(text);
	EVP_PKEY_free(ot);
}

static void test_request_tamper_text(void **state)
{
	EVP_PKEY *ot = NULL;
	char *text = make_req(items, 1, &ot);
	size_t n = strlen(text);
	static const uint8_t masks[] = { 0x01, 0x02, 0x20, 0x40 };
	(void)state;

	for (size_t i = 0; i < n; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			char c = text[i];
			int r;

			text[i] = (char)(c ^ masks[m]);
			r = parse_rc(text, n);
			if (r == 0)
				fail_msg("char %zu ('%c' -> '%c') accepted", i, c, text[i]);
			text[i] = c;
		}
	}
	assert_int_equal(parse_rc(text, n), 0);
	/* non-canonical base64: one byte is two characters and "=="; the
	 * second character's low 4 bits are unused ('A', 'Q', 'g' or 'w'):
	 * its successor ('B', 'R', 'h', 'x') decodes to the same byte */
	{
		char *t = armor((const uint8_t *)"T", 1, 0, "1"), *e = strstr(t, "==");

		assert_non_null(e);
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
		assert_detail("request: truncated");
		e[-1] = (char)(e[-1] + 1);
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
		assert_detail("non-zero padding bits");
		free(t);
	}
	/* garbage around the armor */
	{
		char *t = malloc(n + 32);
		sprintf(t, "Hello,\n%s", text);
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
		assert_detail("must start with the line -----BEGIN TAPEVAULT ESCROW REQUEST-----");
		sprintf(t, "%sthanks\n", text);
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
		assert_detail("unexpected text after");
		sprintf(t, "%s\n\n  \n", text);
		assert_int_equal(parse_rc(t, strlen(t)), 0);
		/* a NUL inside */
		memcpy(t, text, n + 1);
		assert_int_equal(parse_rc(t, n + 1), TV_ERR_FORMAT);
		assert_detail("NUL");
		free(t);
	}
	/* a response is not a request, and the other way round */
	{
		struct tv_escrow_request *req = parse_ok(text);
		char *resp = NULL;
		uint8_t id[16];

		assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, NULL), 0);
		assert_int_equal(parse_rc(resp, strlen(resp)), TV_ERR_FORMAT);
		assert_detail("request: this is an escrow response, not an escrow request");
		assert_int_equal(tv_escrow_response_peek(text, n, id), TV_ERR_FORMAT);
		assert_detail("response: this is an escrow request, not an escrow response");
		free(resp);
		tv_escrow_request_free(req);
	}
	free(text);
	EVP_PKEY_free(ot);
}

static void test_truncation(void **state)
{
	EVP_PKEY *ot = NULL;
	char *text = make_req(items, NTAPES, &ot), *t;
	size_t n = strlen(text), pn;
	uint8_t *p;
	(void)state;

	/* cut text: everything before the complete END line is refused */
	for (size_t k = 0; k < n - 1; k++) {
		int r = parse_rc(text, k);
		if (r == 0)
			fail_msg("text cut at %zu of %zu accepted", k, n);
		if (k > 60 && k < n - 40)
			assert_detail("request: truncated");
	}
	assert_int_equal(parse_rc(text, n - 1), 0);   /* only the last LF missing */

	/* cut payload, re-armored */
	pn = dearmor(text, &p);
	for (size_t k = 0; k < pn; k++) {
		t = armor(p, k, 0, "1");
		if (k == 0) {
			assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
		} else if (parse_rc(t, strlen(t)) == 0) {
			fail_msg("payload cut at %zu of %zu accepted", k, pn);
		}
		free(t);
	}
	/* the body cut inside its header and re-signed: "truncated" */
	t = resign(p, 40, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("request: truncated");
	free(t);
	free(p);
	free(text);
	EVP_PKEY_free(ot);
}

static void test_versions(void **state)
{
	EVP_PKEY *ot = NULL;
	char *text = make_req(items, 1, &ot), *t, *v;
	uint8_t *p;
	size_t n;
	struct tv_escrow_request *req;
	char *resp = NULL;
	(void)state;

	/* armor header */
	t = strdup(text);
	v = strstr(t, "Version: 1");
	v[9] = '7';
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_UNSUPPORTED);
	assert_detail("request: version 7 is not supported (this tapevault reads version 1)");
	v[9] = '0';
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_UNSUPPORTED);
	free(t);
	/* a long version number */
	{
		const char *rest = strstr(text, "\n\n");
		char *u = malloc(strlen(text) + 40);
		sprintf(u, "-----BEGIN TAPEVAULT ESCROW REQUEST-----\nVersion: 123456789012345%s", rest);
		assert_int_equal(parse_rc(u, strlen(u)), TV_ERR_UNSUPPORTED);
		sprintf(u, "-----BEGIN TAPEVAULT ESCROW REQUEST-----\nComment: hi%s", rest);
		assert_int_equal(parse_rc(u, strlen(u)), TV_ERR_FORMAT);
		assert_detail("Version: 1");
		sprintf(u, "-----BEGIN TAPEVAULT ESCROW REQUEST-----\nVersion: 01%s", rest);
		assert_int_equal(parse_rc(u, strlen(u)), TV_ERR_FORMAT);
		sprintf(u, "-----BEGIN TAPEVAULT ESCROW REQUEST-----\nVersion: 1%s", rest);
		assert_int_equal(parse_rc(u, strlen(u)), 0);
		free(u);
	}
	/* version inside the signed body */
	n = dearmor(text, &p);
	p[5] = 7;
	t = resign(p, n - 64, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_UNSUPPORTED);
	assert_detail("request: version 7 is not supported (this tapevault reads version 1)");
	free(t);
	p[5] = 1;
	p[7] = 1;   /* flags */
	t = resign(p, n - 64, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_UNSUPPORTED);
	free(t);
	free(p);

	/* response version */
	req = parse_ok(text);
	assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, NULL), 0);
	t = strdup(resp);
	v = strstr(t, "Version: 1");
	v[9] = '2';
	{
		struct tv_escrow_answer *a = NULL;
		uint8_t id[16];

		assert_int_equal(tv_escrow_response_open(t, strlen(t), ot, req->id, req->hash, &a),
		                 TV_ERR_UNSUPPORTED);
		assert_detail("response: version 2 is not supported (this tapevault reads version 1)");
		assert_int_equal(tv_escrow_response_peek(t, strlen(t), id), TV_ERR_UNSUPPORTED);
		free(t);
		n = dearmor(resp, &p);
		p[5] = 9;
		t = armor(p, n, 1, "1");
		assert_int_equal(tv_escrow_response_open(t, strlen(t), ot, req->id, req->hash, &a),
		                 TV_ERR_UNSUPPORTED);
		assert_detail("response: version 9 is not supported");
		free(p);
	}
	free(t);
	free(resp);
	tv_escrow_request_free(req);
	free(text);
	EVP_PKEY_free(ot);
}

/* hostile bodies that carry a valid signature */
static void test_resigned_malformed(void **state)
{
	EVP_PKEY *ot = NULL;
	char *text = make_req(items, NTAPES, &ot), *t;
	struct req_layout l;
	uint8_t *p, *b;
	size_t n, bl;
	(void)state;

	n = dearmor(text, &p);
	bl = n - 64;
	layout(p, bl, &l);
	b = malloc(bl + 16);

	/* as made: fine */
	t = resign(p, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), 0);
	free(t);
	/* trailing bytes inside the signed body */
	memcpy(b, p, bl);
	memset(b + bl, 0, 16);
	t = resign(b, bl + 16, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("16 bytes of unexpected data after the last item");
	free(t);
	/* trailing bytes after the signature */
	{
		uint8_t *q = malloc(n + 3);
		memcpy(q, p, n);
		memset(q + n, 0xaa, 3);
		t = armor(q, n + 3, 0, "1");
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_SIG);
		free(t);
		free(q);
	}
	/* N = 0, N too large, N larger than the items */
	memcpy(b, p, bl);
	tv_put_be32(b + l.count_off, 0);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("request: asks for no tape");
	free(t);
	tv_put_be32(b + l.count_off, 1025);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("at most 1024");
	free(t);
	tv_put_be32(b + l.count_off, 0xffffffffu);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	free(t);
	tv_put_be32(b + l.count_off, 4);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("request: truncated");
	free(t);
	tv_put_be32(b + l.count_off, 2);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("unexpected data after the last item");
	free(t);
	/* only the first two items: fine */
	tv_put_be32(b + l.count_off, 2);
	t = resign(b, l.item_off[2], ident);
	assert_int_equal(parse_rc(t, strlen(t)), 0);
	free(t);
	/* duplicated item: tape 1 twice */
	memcpy(b, p, bl);
	memcpy(b + l.item_off[1], b + l.item_off[0], 16);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("asks for the same tape as item 1");
	free(t);
	/* control characters in the installation name */
	memcpy(b, p, bl);
	b[34] = '\n';
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("installation name contains control characters");
	free(t);
	/* wrong magic */
	memcpy(b, p, bl);
	b[0] = 'X';
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	assert_detail("not a tapevault escrow request");
	free(t);
	/* a barcode length running past the end */
	memcpy(b, p, bl);
	tv_put_be16(b + l.item_off[2] + 16, 0xffff);
	t = resign(b, bl, ident);
	assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
	free(t);
	/* a non-escrow slot type inside an item (TLV tag 1 value is at +6+7) */
	memcpy(b, p, bl);
	{
		size_t so = l.item_off[0] + 16;
		so += 2 + tv_get_be16(b + so);
		so += 2 + tv_get_be16(b + so);
		so += 8 + 16 + 2;
		assert_int_equal(tv_get_be16(b + so), 1);     /* ST_TYPE */
		assert_int_equal(b[so + 13], TV_SLOT_ESCROW);
		b[so + 13] = TV_SLOT_PASSWORD;
		t = resign(b, bl, ident);
		assert_int_equal(parse_rc(t, strlen(t)), TV_ERR_FORMAT);
		free(t);
	}
	free(b);
	free(p);
	free(text);
	EVP_PKEY_free(ot);
}

/* ---- responses for other requests / other keys ---- */

static void test_response_wrong_request(void **state)
{
	EVP_PKEY *ot1 = NULL, *ot2 = NULL;
	char *t1 = make_req(items, NTAPES, &ot1), *t2 = make_req(items, NTAPES, &ot2);
	struct tv_escrow_request *r1 = parse_ok(t1), *r2 = parse_ok(t2);
	struct tv_escrow_answer *a = NULL;
	char *resp = NULL, hex[TV_ESCROW_ID_HEX_LEN], want[64];
	uint8_t *p;
	size_t n;
	(void)state;

	assert_memory_not_equal(r1->id, r2->id, 16);
	assert_memory_not_equal(r1->hash, r2->hash, 32);
	assert_int_equal(tv_escrow_response_make(r1, auth_a, &resp, NULL), 0);

	/* another request entirely */
	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot2, r2->id, r2->hash, &a),
	                 TV_ERR_INVAL);
	assert_null(a);
	tv_escrow_id_hex(r1->id, hex);
	snprintf(want, sizeof(want), "response: answers request %.8s", hex);
	assert_detail(want);
	assert_detail("made by installation 'hq'");
	/* same id, different request hash */
	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot1, r1->id, r2->hash, &a),
	                 TV_ERR_AUTH);
	assert_detail("request hash differs");
	/* right id and hash, another one-time key */
	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot2, r1->id, r1->hash, &a),
	                 TV_ERR_AUTH);
	assert_detail("this response was made for another installation's request");
	assert_null(a);
	/* not a key at all */
	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ident, r1->id, r1->hash, &a),
	                 TV_ERR_INVAL);
	/* the right one */
	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot1, r1->id, r1->hash, &a), 0);
	assert_int_equal(tv_escrow_answer_check(a, r1), 0);
	assert_int_equal(tv_escrow_answer_check(a, r2), TV_ERR_INVAL);
	tv_escrow_answer_free(a);
	a = NULL;

	/* every byte of the payload that matters to the DEKs is checked */
	n = dearmor(resp, &p);
	{
		/* header: 88 fixed + 8 created + 2+2 name + 2+44 key + 4 count */
		size_t o = 88 + 8 + 2 + 2 + 2 + 44 + 4;
		size_t okpos[2];
		assert_int_equal(tv_get_be16(p + 96), 2);
		okpos[0] = o;
		okpos[1] = o + 17 + 60;
		for (size_t i = 0; i < n; i++) {
			int must_fail = i < 8 + 16 + 32 ||                       /* id, hash */
			                (i >= 100 + 2 && i < 100 + 2 + 44) ||   /* eph key */
			                (i >= okpos[0] && i < okpos[0] + 77) ||
			                (i >= okpos[1] && i < okpos[1] + 77);
			char *t;
			int r;

			p[i] ^= 0x01;
			t = armor(p, n, 1, "1");
			r = tv_escrow_response_open(t, strlen(t), ot1, r1->id, r1->hash, &a);
			if (r == 0) {
				if (must_fail)
					fail_msg("response byte %zu flipped: accepted", i);
				/* whatever was accepted (times, names, the
				 * UUID of an unanswered tape), the DEKs are right */
				r = tv_escrow_answer_check(a, r1);
				assert_true(r == 0 || r == TV_ERR_INVAL);
				tv_escrow_answer_free(a);
				a = NULL;
			}
			free(t);
			p[i] ^= 0x01;
		}
	}
	/* cut at every length */
	for (size_t k = 0; k < n; k++) {
		char *t = armor(p, k, 1, "1");
		if (tv_escrow_response_open(t, strlen(t), ot1, r1->id, r1->hash, &a) == 0)
			fail_msg("response cut at %zu accepted", k);
		free(t);
	}
	for (size_t k = 0; k + 1 < strlen(resp); k++)
		assert_int_not_equal(tv_escrow_response_open(resp, k, ot1, r1->id, r1->hash, &a), 0);
	/* trailing garbage in the payload */
	{
		uint8_t *q = malloc(n + 1);
		char *t;
		memcpy(q, p, n);
		q[n] = 0;
		t = armor(q, n + 1, 1, "1");
		assert_int_equal(tv_escrow_response_open(t, strlen(t), ot1, r1->id, r1->hash, &a),
		                 TV_ERR_FORMAT);
		assert_detail("unexpected data after the last item");
		free(t);
		free(q);
	}
	/* a DEK modified in one item only: "modified" */
	{
		char *t;
		p[88 + 8 + 2 + 2 + 2 + 44 + 4 + 17 + 12] ^= 1;
		t = armor(p, n, 1, "1");
		assert_int_equal(tv_escrow_response_open(t, strlen(t), ot1, r1->id, r1->hash, &a),
		                 TV_ERR_AUTH);
		assert_detail("the response was modified after it was made");
		free(t);
	}
	free(p);
	free(resp);
	tv_escrow_request_free(r1);
	tv_escrow_request_free(r2);
	free(t1);
	free(t2);
	EVP_PKEY_free(ot1);
	EVP_PKEY_free(ot2);
}

/* ---- items the authority cannot answer ---- */

static void test_other_authority(void **state)
{
	struct tv_escrow_item its[4];
	uint8_t dk[4][32];
	struct tv_escrow_resp_report rep;
	struct tv_escrow_request *req;
	struct tv_escrow_answer *a = NULL;
	EVP_PKEY *ot = NULL;
	char *text, *resp = NULL;
	(void)state;

	/* only slots for B: A has nothing to answer */
	text = make_req(&items[2], 1, &ot);
	req = parse_ok(text);
	assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, &rep), TV_ERR_NOTFOUND);
	assert_null(resp);
	assert_detail("has an escrow slot for this key set (SHA256:");
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.n_no_slot, 1);
	assert_int_equal(rep.items[0].status, TV_ESCROW_NO_SLOT);
	tv_escrow_resp_report_free(&rep);
	tv_escrow_request_free(req);
	free(text);
	EVP_PKEY_free(ot);

	/* a slot that does not open, a slot that opens to the wrong key, one
	 * good and one for B */
	make_item(&its[0], dk[0], "BAD001L9", "p", 1, auth_a);
	its[0].slot.wrapped[17] ^= 0x40;
	make_item(&its[1], dk[1], "MIS001L9", "p", 1, auth_a);
	its[1].dek_fpr[0] ^= 1;
	make_item(&its[2], dk[2], "GOOD01L9", "p", 1, auth_a);
	make_item(&its[3], dk[3], "OTHR01L9", "p", 1, auth_b);
	text = make_req(its, 4, &ot);
	req = parse_ok(text);
	assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, &rep), 0);
	assert_int_equal(rep.n_ok, 1);
	assert_int_equal(rep.n_failed, 2);
	assert_int_equal(rep.n_no_slot, 1);
	assert_int_equal(rep.items[0].status, TV_ESCROW_SLOT_BAD);
	assert_non_null(strstr(rep.items[0].detail, "does not unwrap"));
	assert_int_equal(rep.items[1].status, TV_ESCROW_KEY_MISMATCH);
	assert_non_null(strstr(rep.items[1].detail, "key does not match"));
	assert_int_equal(rep.items[2].status, TV_ESCROW_OK);
	assert_int_equal(rep.items[3].status, TV_ESCROW_NO_SLOT);
	tv_escrow_resp_report_free(&rep);
	assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot, req->id, req->hash, &a), 0);
	assert_int_equal(a->items[0].status, TV_ESCROW_SLOT_BAD);
	assert_int_equal(a->items[1].status, TV_ESCROW_KEY_MISMATCH);
	assert_int_equal(a->items[2].status, TV_ESCROW_OK);
	assert_memory_equal(a->items[2].dek, dk[2], 32);
	assert_int_equal(a->items[3].status, TV_ESCROW_NO_SLOT);
	for (size_t i = 0; i < 4; i++)
		if (i != 2)
			for (size_t j = 0; j < 32; j++)
				assert_int_equal(a->items[i].dek[j], 0);
	assert_int_equal(tv_escrow_answer_check(a, req), 0);
	assert_string_equal(tv_escrow_status_str(a->items[3].status), "no slot for this key set");
	assert_string_equal(tv_escrow_status_str(a->items[0].status), "slot does not open");
	tv_escrow_answer_free(a);
	free(resp);
	resp = NULL;

	/* only failures: no response, the reason named */
	tv_escrow_request_free(req);
	free(text);
	EVP_PKEY_free(ot);
	text = make_req(its, 2, &ot);
	req = parse_ok(text);
	assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, NULL), TV_ERR_BADKEY);
	assert_null(resp);
	assert_detail("no key could be recovered");
	/* not an RSA key set */
	assert_int_equal(tv_escrow_response_make(req, ident, &resp, NULL), TV_ERR_INVAL);
	tv_escrow_request_free(req);
	free(text);
	EVP_PKEY_free(ot);
}

static void test_make_args(void **state)
{
	struct tv_escrow_item *big, two[2];
	char *text = NULL;
	EVP_PKEY *ot = NULL;
	(void)state;

	assert_int_equal(tv_escrow_request_make(items, 0, "hq", ident, &text, &ot), TV_ERR_INVAL);
	assert_int_equal(tv_escrow_request_make(items, 1, "", ident, &text, &ot), TV_ERR_INVAL);
	assert_int_equal(tv_escrow_request_make(items, 1, "h\tq", ident, &text, &ot), TV_ERR_INVAL);
	assert_int_equal(tv_escrow_request_make(items, 1, "h\xc3", ident, &text, &ot), TV_ERR_INVAL);
	assert_int_equal(tv_escrow_request_make(items, 1, "Zürich", ident, &text, &ot), 0);
	{
		struct tv_escrow_request *req = parse_ok(text);
		assert_string_equal(req->installation, "Zürich");
		tv_escrow_request_free(req);
	}
	free(text);
	EVP_PKEY_free(ot);
	ot = NULL;
	assert_int_equal(tv_escrow_request_make(items, 1, "hq", auth_a, &text, &ot), TV_ERR_INVAL);
	assert_null(text);
	assert_null(ot);
	two[0] = items[0];
	two[1] = items[0];
	assert_int_equal(tv_escrow_request_make(two, 2, "hq", ident, &text, &ot), TV_ERR_INVAL);
	assert_detail("the same tape as item 1");
	two[1] = items[1];
	two[1].slot.type = TV_SLOT_PASSWORD;
	assert_int_equal(tv_escrow_request_make(two, 2, "hq", ident, &text, &ot), TV_ERR_INVAL);
	assert_detail("not an escrow key slot");
	two[1] = items[1];
	snprintf(two[1].barcode, sizeof(two[1].barcode), "VT\n0002");
	assert_int_equal(tv_escrow_request_make(two, 2, "hq", ident, &text, &ot), TV_ERR_INVAL);
	/* empty barcode and pool are allowed */
	two[1] = items[1];
	two[1].barcode[0] = '\0';
	two[1].pool[0] = '\0';
	assert_int_equal(tv_escrow_request_make(two, 2, "hq", ident, &text, &ot), 0);
	free(text);
	EVP_PKEY_free(ot);
	ot = NULL;

	/* 1024 tapes: made, parsed, answered; 1025: refused */
	big = calloc(TV_ESCROW_MAX_ITEMS + 1, sizeof(*big));
	assert_non_null(big);
	for (size_t i = 0; i <= TV_ESCROW_MAX_ITEMS; i++) {
		big[i] = items[0];
		if (i > 0) {
			big[i].tape_uuid[11] ^= 0x5a;
			tv_put_be32(big[i].tape_uuid + 12, (uint32_t)i);
		}
	}
	assert_int_equal(tv_escrow_request_make(big, TV_ESCROW_MAX_ITEMS + 1, "hq", ident, &text,
	                                        &ot), TV_ERR_INVAL);
	assert_int_equal(tv_escrow_request_make(big, TV_ESCROW_MAX_ITEMS, "hq", ident, &text,
	                                        &ot), 0);
	{
		struct tv_escrow_request *req = parse_ok(text);
		struct tv_escrow_resp_report rep;
		struct tv_escrow_answer *a = NULL;
		char *resp = NULL;

		assert_int_equal(req->n, TV_ESCROW_MAX_ITEMS);
		assert_true(strlen(text) < TV_ESCROW_TEXT_MAX);
		/* the slots are bound to the first UUID: only item 0 opens */
		assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, &rep), 0);
		assert_int_equal(rep.n_ok, 1);
		assert_int_equal(rep.n_failed, TV_ESCROW_MAX_ITEMS - 1);
		tv_escrow_resp_report_free(&rep);
		assert_int_equal(tv_escrow_response_open(resp, strlen(resp), ot, req->id, req->hash,
		                                         &a), 0);
		assert_int_equal(a->n, TV_ESCROW_MAX_ITEMS);
		assert_memory_equal(a->items[0].dek, deks[0], 32);
		tv_escrow_answer_free(a);
		free(resp);
		tv_escrow_request_free(req);
	}
	free(text);
	EVP_PKEY_free(ot);
	free(big);
}

/* ---- seed corpora of the fuzz targets ---- */

static int writing;

static char *seed_path(const char *target, const char *name)
{
	return tl_strf("%s/tests/fuzz/corpus/%s/%s", tl_srcdir(), target, name);
}

static void seed_write_bytes(const char *target, const char *name, const void *p, size_t n)
{
	char *path = seed_path(target, name);
	tl_write_file(path, p, n, 0644);
	free(path);
}

/* the armored text, and its payload as NAME.bin (the fuzz targets armor
 * binary inputs themselves) */
static void seed_write(const char *target, const char *name, const char *text)
{
	char bin[128];
	uint8_t *p;
	size_t n;

	seed_write_bytes(target, name, text, strlen(text));
	if (strchr(text, '\r') != NULL)
		return;
	n = dearmor(text, &p);
	snprintf(bin, sizeof(bin), "%.*s.bin", (int)(strrchr(name, '.') - name), name);
	seed_write_bytes(target, bin, p, n);
	free(p);
}

/* a seed as text (binary seeds armored like the fuzz targets do) */
static char *seed_read(const char *target, const char *name, size_t *n)
{
	char *p = seed_path(target, name), *t;
	size_t l;
	uint8_t *d = tl_read_file(p, &l);

	if (d == NULL)
		fail_msg("%s is missing: run this test with TV_ESCROW_WRITE_SEEDS=1", p);
	free(p);
	if (l > 0 && d[0] == 'T') {
		t = armor(d, l, strstr(target, "response") != NULL, "1");
		free(d);
		*n = strlen(t);
		return t;
	}
	*n = l;
	return (char *)d;
}

static void make_fuzz_response(const char *name, const struct tv_escrow_item *its, size_t n)
{
	EVP_PKEY *ot = NULL, *fixed;
	char *text = make_req(its, n, &ot), *resp = NULL;
	struct tv_escrow_request *req = parse_ok(text);

	fixed = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, FUZZ_ONETIME_RAW, 32);
	assert_non_null(fixed);
	EVP_PKEY_free(req->onetime);
	req->onetime = fixed;           /* its public half is used */
	memset(req->hash, FUZZ_HASH_BYTE, 32);
	assert_int_equal(tv_escrow_response_make(req, auth_a, &resp, NULL), 0);
	seed_write("fuzz_escrow_response", name, resp);
	free(resp);
	tv_escrow_request_free(req);
	free(text);
	EVP_PKEY_free(ot);
}

static void test_seeds(void **state)
{
	static const char *reqs[] = { "one-item.txt", "three-items.txt", "crlf.txt",
	                              "one-item.bin", "three-items.bin" };
	static const char *resps[] = { "two-ok-one-noslot.txt", "statuses.txt",
	                               "two-ok-one-noslot.bin", "statuses.bin" };
	EVP_PKEY *fixed;
	(void)state;

	writing = getenv("TV_ESCROW_WRITE_SEEDS") != NULL &&
	          strcmp(getenv("TV_ESCROW_WRITE_SEEDS"), "1") == 0;
	if (writing) {
		EVP_PKEY *ot = NULL;
		char *t = make_req(items, 1, &ot), *crlf, *o;
		struct tv_escrow_item its[3];
		uint8_t dk[3][32];

		seed_write("fuzz_escrow_request", reqs[0], t);
		crlf = malloc(2 * strlen(t) + 1);
		assert_non_null(crlf);
		o = crlf;
		for (const char *c = t; *c; c++) {
			if (*c == '\n')
				*o++ = '\r';
			*o++ = *c;
		}
		*o = '\0';
		seed_write("fuzz_escrow_request", reqs[2], crlf);
		free(crlf);
		free(t);
		EVP_PKEY_free(ot);
		t = make_req(items, NTAPES, &ot);
		seed_write("fuzz_escrow_request", reqs[1], t);
		free(t);
		EVP_PKEY_free(ot);

		make_fuzz_response(resps[0], items, NTAPES);
		make_item(&its[0], dk[0], "BAD001L9", "p", 1, auth_a);
		its[0].slot.wrapped[17] ^= 0x40;
		make_item(&its[1], dk[1], "MIS001L9", "p", 1, auth_a);
		its[1].dek_fpr[0] ^= 1;
		make_item(&its[2], dk[2], "GOOD01L9", "p", 1, auth_a);
		make_fuzz_response(resps[1], its, 3);
	}
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		size_t n;
		char *t = seed_read("fuzz_escrow_request", reqs[i], &n);
		int r = parse_rc(t, n);

		if (r != 0)
			fail_msg("seed %s no longer parses: %s", reqs[i], tv_errmsg(r));
		free(t);
	}
	fixed = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, FUZZ_ONETIME_RAW, 32);
	for (size_t i = 0; i < sizeof(resps) / sizeof(resps[0]); i++) {
		struct tv_escrow_answer *a = NULL;
		uint8_t id[16], h[32];
		size_t n;
		char *t = seed_read("fuzz_escrow_response", resps[i], &n);
		int r;

		memset(h, FUZZ_HASH_BYTE, 32);
		assert_int_equal(tv_escrow_response_peek(t, n, id), 0);
		r = tv_escrow_response_open(t, n, fixed, id, h, &a);
		if (r != 0)
			fail_msg("seed %s no longer opens: %s", resps[i], tv_errmsg(r));
		assert_true(a->n >= 3);
		tv_escrow_answer_free(a);
		free(t);
	}
	EVP_PKEY_free(fixed);
}

/* issue 10 finding 3: the authority's age check on a request's creation
 * time (the CLI test re-signs real requests; here the bounds). */
static void test_request_age(void **state)
{
	struct tv_escrow_request req;
	const uint64_t now = 1800000000, day = 86400;
	(void)state;

	memset(&req, 0, sizeof(req));
	req.created = now;
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT), 0);
	req.created = now - 30 * day;                          /* exactly 30 days: fine */
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT), 0);
	req.created = now - 30 * day - 1;
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT),
	                 TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "30 day(s) ago: older than the 30 day(s)"));
	assert_int_equal(tv_escrow_request_check_age(&req, now, 31 * day), 0);
	req.created = now + TV_ESCROW_FUTURE_SKEW;             /* within the skew */
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT), 0);
	req.created = now + TV_ESCROW_FUTURE_SKEW + 1;
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT),
	                 TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "in the future"));
	req.created = UINT64_MAX;                             /* any value: a message */
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT),
	                 TV_ERR_STATE);
	req.created = 0;
	assert_int_equal(tv_escrow_request_check_age(&req, now, TV_ESCROW_MAX_AGE_DEFAULT),
	                 TV_ERR_STATE);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_request_tamper_bytes),
		cmocka_unit_test(test_request_tamper_text),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_resigned_malformed),
		cmocka_unit_test(test_response_wrong_request),
		cmocka_unit_test(test_other_authority),
		cmocka_unit_test(test_make_args),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_request_age),
	};
	return tl_run(argc, argv, tests, setup, teardown);
}
