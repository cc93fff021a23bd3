/* tapevault: escrow recovery messages, wire format v1 (see escrow_msg.h
 * for the byte layout). */
#include "crypto/escrow_msg.h"
#include "crypto/aead.h"
#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "crypto/slot.h"
#include "util/buf.h"
#include "util/err.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REQ_MAGIC "TVEQ"
#define RESP_MAGIC "TVER"
#define REQ_DOMAIN "tapevault escrow request v1"
#define RESP_INFO "tapevault escrow response v1"
#define SIG_LEN 64
#define RAWKEY_LEN 32
#define SPKI_LEN 44
#define P8_LEN 48
#define B64_LINE 64
#define B64_LINE_MAX 76
/* smallest encodings of one item (used to bound N before allocating) */
#define REQ_ITEM_MIN (TV_UUID_LEN + 2 + 2 + 8 + TV_FPR_LEN + 2 + 1)
#define RESP_ITEM_MIN (TV_UUID_LEN + 1)
#define RESP_SEALED (TV_GCM_IV_LEN + TV_DEK_LEN + TV_GCM_TAG_LEN)

/* DER prefixes of the only key encodings we write and read (RFC 8410) */
static const uint8_t spki_ed25519[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
static const uint8_t spki_x25519[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00 };
static const uint8_t p8_x25519[16] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e,
	0x04, 0x22, 0x04, 0x20 };

struct kind {
	const char *what;        /* "request" */
	const char *label;       /* "REQUEST" */
	const char *other_what;
	const char *other_label;
};
static const struct kind K_REQ = { "request", "REQUEST", "response", "RESPONSE" };
static const struct kind K_RESP = { "response", "RESPONSE", "request", "REQUEST" };

/* ------------------------------------------------------------------ */
/* small helpers */

const char *tv_escrow_status_str(enum tv_escrow_status s)
{
	switch (s) {
	case TV_ESCROW_OK: return "ok";
	case TV_ESCROW_NO_SLOT: return "no slot for this key set";
	case TV_ESCROW_SLOT_BAD: return "slot does not open";
	case TV_ESCROW_KEY_MISMATCH: return "key does not match the tape's fingerprint";
	}
	return "unknown status";
}

void tv_escrow_id_hex(const uint8_t id[TV_ESCROW_ID_LEN], char out[TV_ESCROW_ID_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < TV_ESCROW_ID_LEN; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * TV_ESCROW_ID_LEN] = '\0';
}

/* "3f2a1b4c…" for messages */
static void short_id(const uint8_t id[TV_ESCROW_ID_LEN], char out[16])
{
	char h[TV_ESCROW_ID_HEX_LEN];

	tv_escrow_id_hex(id, h);
	snprintf(out, 16, "%.8s\xe2\x80\xa6", h);
}

/* UTF-8 without control characters (C0, DEL, C1); ascii: 0x20..0x7e only. */
static int text_ok(const uint8_t *p, size_t n, int ascii)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t len;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (ascii)
			return 0;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* keys */

static int raw_pub(EVP_PKEY *key, uint8_t raw[RAWKEY_LEN])
{
	size_t n = RAWKEY_LEN;

	if (EVP_PKEY_get_raw_public_key(key, raw, &n) != 1 || n != RAWKEY_LEN)
		return tv_ossl_err(TV_ERR_CRYPTO, "public key");
	return 0;
}

/* key16 field: u16 length (44) || SPKI DER */
static int put_key16(struct tv_buf *b, EVP_PKEY *key, const uint8_t prefix[12])
{
	uint8_t raw[RAWKEY_LEN];
	int r;

	if ((r = raw_pub(key, raw)) != 0)
		return r;
	if ((r = tv_buf_put_u16(b, SPKI_LEN)) != 0 || (r = tv_buf_put(b, prefix, 12)) != 0 ||
	    (r = tv_buf_put(b, raw, RAWKEY_LEN)) != 0)
		return r;
	return 0;
}

/* SPKI DER of exactly prefix || raw key (the caller words the error) */
static int key_from_spki(const uint8_t *p, size_t n, const uint8_t prefix[12], int type,
                         EVP_PKEY **out)
{
	struct tv_buf b;
	const uint8_t *pre = NULL, *raw = NULL;

	*out = NULL;
	tv_buf_view(&b, p, n);
	if (n != SPKI_LEN || tv_buf_get_ptr(&b, &pre, 12) != 0 ||
	    memcmp(pre, prefix, 12) != 0 || tv_buf_get_ptr(&b, &raw, RAWKEY_LEN) != 0)
		return TV_ERR_FORMAT;
	*out = EVP_PKEY_new_raw_public_key(type, NULL, raw, RAWKEY_LEN);
	if (*out == NULL) {
		ERR_clear_error();
		return TV_ERR_FORMAT;
	}
	return 0;
}

static int is_x25519_priv(EVP_PKEY *key)
{
	uint8_t raw[RAWKEY_LEN];
	size_t n = sizeof(raw);
	int ok;

	if (key == NULL || !EVP_PKEY_is_a(key, "X25519"))
		return 0;
	ok = EVP_PKEY_get_raw_private_key(key, raw, &n) == 1 && n == RAWKEY_LEN;
	tv_wipe(raw, sizeof(raw));
	ERR_clear_error();
	return ok;
}

int tv_x25519_priv_to_der(EVP_PKEY *key, uint8_t **der, size_t *len)
{
	uint8_t *d;
	size_t n = RAWKEY_LEN;

	*der = NULL;
	*len = 0;
	if (!is_x25519_priv(key))
		return tv_errf(TV_ERR_INVAL, "not an X25519 private key");
	if ((d = malloc(P8_LEN)) == NULL)
		return TV_ERR_NOMEM;
	memcpy(d, p8_x25519, sizeof(p8_x25519));
	if (EVP_PKEY_get_raw_private_key(key, d + sizeof(p8_x25519), &n) != 1 ||
	    n != RAWKEY_LEN) {
		tv_freezero(d, P8_LEN);
		return tv_ossl_err(TV_ERR_CRYPTO, "X25519 private key");
	}
	*der = d;
	*len = P8_LEN;
	return 0;
}

int tv_x25519_priv_from_der(const uint8_t *der, size_t len, EVP_PKEY **key)
{
	struct tv_buf b;
	const uint8_t *pre = NULL, *raw = NULL;

	*key = NULL;
	tv_buf_view(&b, der, der != NULL ? len : 0);
	if (der == NULL || len != P8_LEN ||
	    tv_buf_get_ptr(&b, &pre, sizeof(p8_x25519)) != 0 ||
	    memcmp(pre, p8_x25519, sizeof(p8_x25519)) != 0 ||
	    tv_buf_get_ptr(&b, &raw, RAWKEY_LEN) != 0)
		return tv_errf(TV_ERR_FORMAT, "not an X25519 private key (PKCS#8 DER)");
	*key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, raw, RAWKEY_LEN);
	if (*key == NULL)
		return tv_ossl_err(TV_ERR_CRYPTO, "X25519 private key");
	return 0;
}

/* Z = X25519(priv, peer); K = HKDF-SHA256(Z, salt H, info) */
static int response_key(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t h[TV_ESCROW_HASH_LEN],
                        uint8_t key[TV_GCM_KEY_LEN])
{
	EVP_PKEY_CTX *ctx;
	uint8_t z[RAWKEY_LEN];
	size_t zl = sizeof(z);
	int r;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL)
		return tv_ossl_err(TV_ERR_CRYPTO, "X25519 context");
	if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zl) != 1 || zl != sizeof(z)) {
		/* e.g. a small-order peer key: all-zero shared secret refused */
		ERR_clear_error();
		r = TV_ERR_FORMAT;
		goto out;
	}
	r = tv_hkdf_sha256(z, sizeof(z), h, TV_ESCROW_HASH_LEN, RESP_INFO,
	                   sizeof(RESP_INFO) - 1, key, TV_GCM_KEY_LEN);
out:
	tv_wipe(z, sizeof(z));
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int request_digest(const uint8_t *body, size_t len, uint8_t h[TV_ESCROW_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int hl = 0;
	int r = 0;

	if (md == NULL)
		return TV_ERR_NOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, REQ_DOMAIN, sizeof(REQ_DOMAIN) - 1) != 1 ||
	    EVP_DigestUpdate(md, body, len) != 1 ||
	    EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != TV_ESCROW_HASH_LEN)
		r = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
	EVP_MD_CTX_free(md);
	return r;
}

static int ed25519_sign(EVP_PKEY *key, const uint8_t h[TV_ESCROW_HASH_LEN], uint8_t sig[SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t sl = SIG_LEN;
	int r = 0;

	if (md == NULL)
		return TV_ERR_NOMEM;
	if (EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &sl, h, TV_ESCROW_HASH_LEN) != 1 || sl != SIG_LEN)
		r = tv_ossl_err(TV_ERR_CRYPTO, "signing the request with the identity key");
	EVP_MD_CTX_free(md);
	return r;
}

/* 0 good, TV_ERR_SIG bad (no detail), other errors */
static int ed25519_verify(EVP_PKEY *key, const uint8_t h[TV_ESCROW_HASH_LEN],
                          const uint8_t sig[SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r;

	if (md == NULL)
		return TV_ERR_NOMEM;
	if (EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "Ed25519 verification");
		goto out;
	}
	r = EVP_DigestVerify(md, sig, SIG_LEN, h, TV_ESCROW_HASH_LEN) == 1 ? 0 : TV_ERR_SIG;
	ERR_clear_error();
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* ------------------------------------------------------------------ */
/* base64 and armor */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int armor_encode(const struct kind *k, const uint8_t *p, size_t n, char **out)
{
	struct tv_buf b;
	char line[B64_LINE + 1];
	uint8_t *text;
	size_t col = 0, tlen;
	int r;

	*out = NULL;
	tv_buf_init_max(&b, TV_ESCROW_TEXT_MAX + 1);
	if (snprintf(line, sizeof(line), "Version: %d\n\n", TV_ESCROW_MSG_VERSION) < 0)
		return TV_ERR_INTERNAL;
	if ((r = tv_buf_put(&b, "-----BEGIN TAPEVAULT ESCROW ", 28)) != 0 ||
	    (r = tv_buf_put(&b, k->label, strlen(k->label))) != 0 ||
	    (r = tv_buf_put(&b, "-----\n", 6)) != 0 ||
	    (r = tv_buf_put(&b, line, strlen(line))) != 0)
		goto out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64chars[v >> 18 & 63];
		q[1] = b64chars[v >> 12 & 63];
		q[2] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? b64chars[v & 63] : '=';
		for (size_t j = 0; j < 4; j++) {
			line[col++] = q[j];
			if (col == B64_LINE) {
				line[col++] = '\n';
				if ((r = tv_buf_put(&b, line, col)) != 0)
					goto out;
				col = 0;
			}
		}
	}
	if (col > 0) {
		line[col++] = '\n';
		if ((r = tv_buf_put(&b, line, col)) != 0)
			goto out;
	}
	if ((r = tv_buf_put(&b, "-----END TAPEVAULT ESCROW ", 26)) != 0 ||
	    (r = tv_buf_put(&b, k->label, strlen(k->label))) != 0 ||
	    (r = tv_buf_put(&b, "-----\n", 7)) != 0)   /* with the NUL */
		goto out;
	if ((r = tv_buf_steal(&b, &text, &tlen)) != 0)
		goto out;
	*out = (char *)text;   /* NUL-terminated: the NUL was put last */
out:
	tv_buf_free(&b);
	if (r == TV_ERR_RANGE)
		r = tv_errf(TV_ERR_RANGE, "%s: too large", k->what);
	return r;
}

/* Next line of the text in l, without its end (LF, CRLF) and trailing
 * spaces/tabs.  0 at end of text, 1 with a line. */
static int next_line(struct tv_buf *l, const char **s, size_t *n)
{
	const char *start = (const char *)tv_buf_ptr(l), *nl;
	size_t avail = tv_buf_avail(l), m;

	if (avail == 0)
		return 0;
	nl = memchr(start, '\n', avail);
	m = nl != NULL ? (size_t)(nl - start) : avail;
	if (tv_buf_consume(l, m + (nl != NULL)) != 0)
		return 0;
	while (m > 0 && (start[m - 1] == '\r' || start[m - 1] == ' ' || start[m - 1] == '\t'))
		m--;
	*s = start;
	*n = m;
	return 1;
}

static int line_is(const char *s, size_t n, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

	return n == la + lb + lc && memcmp(s, a, la) == 0 && memcmp(s + la, b, lb) == 0 &&
	       memcmp(s + la + lb, c, lc) == 0;
}

/* Strict base64: length a multiple of 4, '=' only at the very end (one or
 * two), unused bits zero (one text per payload).  out has room for
 * n / 4 * 3 bytes. */
static int b64_decode(const struct kind *k, const char *s, size_t n, uint8_t *out, size_t *olen)
{
	size_t o = 0;

	if (n % 4 != 0)
		return tv_errf(TV_ERR_FORMAT, "%s: truncated or damaged base64 (%zu characters "
		               "left over)", k->what, n % 4);
	for (size_t i = 0; i < n; i += 4) {
		int last = i + 4 == n, pad = 0, v[4];
		uint32_t q;

		if (last && s[i + 3] == '=')
			pad = s[i + 2] == '=' ? 2 : 1;
		for (int j = 0; j < 4; j++) {
			v[j] = j >= 4 - pad ? 0 : b64val((uint8_t)s[i + (size_t)j]);
			if (v[j] < 0) {
				if (s[i + (size_t)j] == '=')
					return tv_errf(TV_ERR_FORMAT, "%s: damaged base64 (misplaced "
					               "'=')", k->what);
				return tv_errf(TV_ERR_FORMAT, "%s: damaged base64 (character 0x%02x "
				               "is not base64)", k->what, (unsigned)(uint8_t)s[i + (size_t)j]);
			}
		}
		q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if ((pad == 1 && (q & 0xff) != 0) || (pad == 2 && (q & 0xffff) != 0))
			return tv_errf(TV_ERR_FORMAT, "%s: damaged base64 (non-zero padding bits)",
			               k->what);
		out[o++] = (uint8_t)(q >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(q >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)q;
	}
	*olen = o;
	return 0;
}

/* Checks the armor of kind k and decodes its payload (malloc'd). */
static int armor_decode(const struct kind *k, const void *text, size_t len,
                        uint8_t **payload, size_t *plen)
{
	struct tv_buf l;
	uint8_t *out = NULL;
	char *b64 = NULL;
	size_t nb = 0, o = 0, n;
	unsigned long ver = 0;
	const char *s;
	int r;

	*payload = NULL;
	*plen = 0;
	if (text == NULL || len == 0)
		return tv_errf(TV_ERR_FORMAT, "%s: empty: not a tapevault escrow %s", k->what, k->what);
	if (len > TV_ESCROW_TEXT_MAX)
		return tv_errf(TV_ERR_FORMAT, "%s: %zu bytes is too large for an escrow %s "
		               "(at most %zu)", k->what, len, k->what, TV_ESCROW_TEXT_MAX);
	if (memchr(text, '\0', len) != NULL)
		return tv_errf(TV_ERR_FORMAT, "%s: contains NUL bytes: binary data, not a "
		               "tapevault escrow %s", k->what, k->what);
	tv_buf_view(&l, text, len);
	/* BEGIN line, after empty lines */
	do {
		if (!next_line(&l, &s, &n))
			return tv_errf(TV_ERR_FORMAT, "%s: empty: not a tapevault escrow %s",
			               k->what, k->what);
	} while (n == 0);
	if (!line_is(s, n, "-----BEGIN TAPEVAULT ESCROW ", k->label, "-----")) {
		if (line_is(s, n, "-----BEGIN TAPEVAULT ESCROW ", k->other_label, "-----"))
			return tv_errf(TV_ERR_FORMAT, "%s: this is an escrow %s, not an escrow %s",
			               k->what, k->other_what, k->what);
		return tv_errf(TV_ERR_FORMAT, "%s: not a tapevault escrow %s (it must start "
		               "with the line -----BEGIN TAPEVAULT ESCROW %s-----)",
		               k->what, k->what, k->label);
	}
	/* Version header */
	if (!next_line(&l, &s, &n))
		return tv_errf(TV_ERR_FORMAT, "%s: truncated after the BEGIN line", k->what);
	if (n < 10 || memcmp(s, "Version: ", 9) != 0 || (n > 10 && s[9] == '0'))
		return tv_errf(TV_ERR_FORMAT, "%s: the line after BEGIN must be the header "
		               "'Version: %d'", k->what, TV_ESCROW_MSG_VERSION);
	for (size_t i = 9; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return tv_errf(TV_ERR_FORMAT, "%s: bad Version header", k->what);
		if (ver < 1000000)
			ver = ver * 10 + (unsigned long)(s[i] - '0');
	}
	if (ver != TV_ESCROW_MSG_VERSION)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s: version %lu%s is not supported (this "
		               "tapevault reads version %d)", k->what, ver,
		               ver >= 1000000 ? "..." : "", TV_ESCROW_MSG_VERSION);
	if (!next_line(&l, &s, &n))
		return tv_errf(TV_ERR_FORMAT, "%s: truncated after the Version header", k->what);
	if (n != 0)
		return tv_errf(TV_ERR_FORMAT, "%s: expected an empty line after the Version "
		               "header", k->what);
	/* base64 lines up to END */
	if ((b64 = malloc(len)) == NULL)
		return TV_ERR_NOMEM;
	for (;;) {
		if (!next_line(&l, &s, &n)) {
			r = tv_errf(TV_ERR_FORMAT, "%s: truncated (the -----END TAPEVAULT ESCROW "
			            "%s----- line is missing: copy the whole text)", k->what, k->label);
			goto fail;
		}
		if (line_is(s, n, "-----END TAPEVAULT ESCROW ", k->label, "-----"))
			break;
		if (n == 0) {
			r = tv_errf(TV_ERR_FORMAT, "%s: empty line inside the base64 text", k->what);
			goto fail;
		}
		if (n >= 5 && memcmp(s, "-----", 5) == 0) {
			r = tv_errf(TV_ERR_FORMAT, "%s: wrong END line (expected -----END "
			            "TAPEVAULT ESCROW %s-----)", k->what, k->label);
			goto fail;
		}
		if (n > B64_LINE_MAX) {
			r = tv_errf(TV_ERR_FORMAT, "%s: base64 line of %zu characters (at most %d)",
			            k->what, n, B64_LINE_MAX);
			goto fail;
		}
		memcpy(b64 + nb, s, n);
		nb += n;
	}
	/* nothing but empty lines after END */
	while (next_line(&l, &s, &n)) {
		if (n != 0) {
			r = tv_errf(TV_ERR_FORMAT, "%s: unexpected text after the -----END "
			            "TAPEVAULT ESCROW %s----- line", k->what, k->label);
			goto fail;
		}
	}
	if (nb == 0) {
		r = tv_errf(TV_ERR_FORMAT, "%s: no data between BEGIN and END", k->what);
		goto fail;
	}
	if ((out = malloc(nb / 4 * 3 + 3)) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	if ((r = b64_decode(k, b64, nb, out, &o)) != 0)
		goto fail;
	free(b64);
	*payload = out;
	*plen = o;
	return 0;
fail:
	free(b64);
	free(out);
	return r;
}

/* ------------------------------------------------------------------ */
/* reading bodies */

struct cur {
	struct tv_buf b;
	const char *what;
};

static int trunc_err(const struct cur *c)
{
	return tv_errf(TV_ERR_FORMAT, "%s: truncated", c->what);
}

static int c_get(struct cur *c, void *p, size_t n)
{
	return tv_buf_get(&c->b, p, n) == 0 ? 0 : trunc_err(c);
}

static int c_ptr(struct cur *c, const uint8_t **p, size_t n)
{
	return tv_buf_get_ptr(&c->b, p, n) == 0 ? 0 : trunc_err(c);
}

static int c_u8(struct cur *c, uint8_t *v)
{
	return tv_buf_get_u8(&c->b, v) == 0 ? 0 : trunc_err(c);
}

static int c_u16(struct cur *c, uint16_t *v)
{
	return tv_buf_get_u16(&c->b, v) == 0 ? 0 : trunc_err(c);
}

static int c_u32(struct cur *c, uint32_t *v)
{
	return tv_buf_get_u32(&c->b, v) == 0 ? 0 : trunc_err(c);
}

static int c_u64(struct cur *c, uint64_t *v)
{
	return tv_buf_get_u64(&c->b, v) == 0 ? 0 : trunc_err(c);
}

/* str16 into out[outsz]; length in [min, max]; ascii: printable ASCII */
static int c_str(struct cur *c, char *out, size_t outsz, size_t min, size_t max, int ascii,
                 const char *field)
{
	const uint8_t *p = NULL;
	uint16_t n;
	int r;

	if ((r = c_u16(c, &n)) != 0)
		return r;
	if (n > tv_buf_avail(&c->b))
		return trunc_err(c);
	if (n < min || n > max || n >= outsz)
		return tv_errf(TV_ERR_FORMAT, "%s: %s of %u bytes (allowed: %zu to %zu)",
		               c->what, field, (unsigned)n, min, max);
	if ((r = c_ptr(c, &p, n)) != 0)
		return r;
	if (!text_ok(p, n, ascii))
		return tv_errf(TV_ERR_FORMAT, "%s: %s contains control characters or is not "
		               "%s", c->what, field, ascii ? "printable ASCII" : "valid UTF-8");
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int c_key(struct cur *c, const uint8_t prefix[12], int type, EVP_PKEY **key,
                 const char *field)
{
	const uint8_t *p = NULL;
	uint16_t n;
	int r;

	if ((r = c_u16(c, &n)) != 0 || (r = c_ptr(c, &p, n)) != 0)
		return r;
	if (key_from_spki(p, n, prefix, type, key) != 0)
		return tv_errf(TV_ERR_FORMAT, "%s: the %s is not a valid %s public key",
		               c->what, field, type == EVP_PKEY_ED25519 ? "Ed25519" : "X25519");
	return 0;
}

static int c_magic(struct cur *c, const struct kind *k, const char *mine, const char *other)
{
	uint8_t m[4];
	uint16_t ver, flags;
	int r;

	if ((r = c_get(c, m, 4)) != 0)
		return r;
	if (memcmp(m, mine, 4) != 0) {
		if (memcmp(m, other, 4) == 0)
			return tv_errf(TV_ERR_FORMAT, "%s: this is an escrow %s, not an escrow %s",
			               k->what, k->other_what, k->what);
		return tv_errf(TV_ERR_FORMAT, "%s: not a tapevault escrow %s (bad magic)",
		               k->what, k->what);
	}
	if ((r = c_u16(c, &ver)) != 0 || (r = c_u16(c, &flags)) != 0)
		return r;
	if (ver != TV_ESCROW_MSG_VERSION)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s: version %u is not supported (this "
		               "tapevault reads version %d)", k->what, (unsigned)ver,
		               TV_ESCROW_MSG_VERSION);
	if (flags != 0)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s: unknown flags 0x%04x (made by a newer "
		               "tapevault?)", k->what, (unsigned)flags);
	return 0;
}

static void item_name(const uint8_t uuid[TV_UUID_LEN], const char *barcode, size_t idx,
                      char *out, size_t outsz)
{
	char u[TV_UUID_STR_LEN];

	tv_uuid_to_str(uuid, u);
	if (barcode != NULL && barcode[0] != '\0')
		snprintf(out, outsz, "item %zu (tape %s, %s)", idx + 1, barcode, u);
	else
		snprintf(out, outsz, "item %zu (tape %s)", idx + 1, u);
}

/* ------------------------------------------------------------------ */
/* request */

void tv_escrow_request_free(struct tv_escrow_request *req)
{
	if (req == NULL)
		return;
	EVP_PKEY_free(req->identity);
	EVP_PKEY_free(req->onetime);
	free(req->items);
	free(req);
}

void tv_escrow_request_hash(const struct tv_escrow_request *req, uint8_t out[TV_ESCROW_HASH_LEN])
{
	memcpy(out, req->hash, TV_ESCROW_HASH_LEN);
}

static int check_str_arg(const char *s, size_t sz, size_t min, size_t max, int ascii,
                         const char *what)
{
	size_t n = strnlen(s, sz);

	if (n == sz)
		return tv_errf(TV_ERR_INVAL, "%s is not terminated", what);
	if (n < min || n > max)
		return tv_errf(TV_ERR_INVAL, "%s of %zu bytes (allowed: %zu to %zu)", what, n,
		               min, max);
	if (!text_ok((const uint8_t *)s, n, ascii))
		return tv_errf(TV_ERR_INVAL, "%s contains control characters or is not %s",
		               what, ascii ? "printable ASCII" : "valid UTF-8");
	return 0;
}

static int put_str16(struct tv_buf *b, const char *s)
{
	size_t n = strlen(s);
	int r;

	if ((r = tv_buf_put_u16(b, (uint16_t)n)) != 0)
		return r;
	return tv_buf_put(b, s, n);
}

int tv_escrow_request_make(const struct tv_escrow_item *items, size_t n,
                           const char *installation, EVP_PKEY *identity_priv,
                           char **text, EVP_PKEY **onetime_priv)
{
	struct tv_buf body, slot;
	EVP_PKEY *ot = NULL;
	uint8_t id[TV_ESCROW_ID_LEN], h[TV_ESCROW_HASH_LEN], sig[SIG_LEN];
	char what[128], field[192];
	int r;

	*text = NULL;
	*onetime_priv = NULL;
	tv_buf_init_max(&body, TV_ESCROW_TEXT_MAX);
	tv_buf_init_max(&slot, TV_ESCROW_SLOT_MAX);
	if (n == 0)
		return tv_errf(TV_ERR_INVAL, "escrow request: no tape to ask for");
	if (n > TV_ESCROW_MAX_ITEMS)
		return tv_errf(TV_ERR_INVAL, "escrow request: %zu tapes (at most %d in one "
		               "request: make several)", n, TV_ESCROW_MAX_ITEMS);
	if (installation == NULL)
		return tv_errf(TV_ERR_INVAL, "escrow request: no installation name");
	if ((r = check_str_arg(installation, TV_NAME_MAX, 1, TV_ESCROW_NAME_MAX, 0,
	                       "escrow request: the installation name")) != 0)
		return r;
	if (identity_priv == NULL || tv_identity_check(identity_priv) != 0)
		return tv_errf(TV_ERR_INVAL, "escrow request: the identity key is not an "
		               "Ed25519 key");
	for (size_t i = 0; i < n; i++) {
		const struct tv_escrow_item *it = &items[i];

		item_name(it->tape_uuid, NULL, i, what, sizeof(what));
		snprintf(field, sizeof(field), "escrow request: %s: barcode", what);
		if ((r = check_str_arg(it->barcode, sizeof(it->barcode), 0,
		                       TV_ESCROW_BARCODE_MAX, 1, field)) != 0)
			return r;
		snprintf(field, sizeof(field), "escrow request: %s: pool name", what);
		if ((r = check_str_arg(it->pool, sizeof(it->pool), 0, TV_ESCROW_NAME_MAX, 0,
		                       field)) != 0)
			return r;
		if (it->slot.type != TV_SLOT_ESCROW)
			return tv_errf(TV_ERR_INVAL, "escrow request: %s: not an escrow key slot",
			               what);
		for (size_t j = 0; j < i; j++)
			if (memcmp(items[j].tape_uuid, it->tape_uuid, TV_UUID_LEN) == 0)
				return tv_errf(TV_ERR_INVAL, "escrow request: %s: the same tape as "
				               "item %zu", what, j + 1);
	}
	if ((r = tv_random(id, sizeof(id))) != 0)
		goto out;
	if ((ot = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "making the one-time key");
		goto out;
	}
	if ((r = tv_buf_put(&body, REQ_MAGIC, 4)) != 0 ||
	    (r = tv_buf_put_u16(&body, TV_ESCROW_MSG_VERSION)) != 0 ||
	    (r = tv_buf_put_u16(&body, 0)) != 0 ||
	    (r = tv_buf_put(&body, id, sizeof(id))) != 0 ||
	    (r = tv_buf_put_u64(&body, (uint64_t)time(NULL))) != 0 ||
	    (r = put_str16(&body, installation)) != 0 ||
	    (r = put_key16(&body, identity_priv, spki_ed25519)) != 0 ||
	    (r = put_key16(&body, ot, spki_x25519)) != 0 ||
	    (r = tv_buf_put_u32(&body, (uint32_t)n)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct tv_escrow_item *it = &items[i];

		tv_buf_reset(&slot);
		if ((r = tv_slot_encode(&slot, &it->slot)) != 0) {
			item_name(it->tape_uuid, it->barcode, i, what, sizeof(what));
			r = tv_errctx(r, "escrow request: %s", what);
			goto out;
		}
		if ((r = tv_buf_put(&body, it->tape_uuid, TV_UUID_LEN)) != 0 ||
		    (r = put_str16(&body, it->barcode)) != 0 ||
		    (r = put_str16(&body, it->pool)) != 0 ||
		    (r = tv_buf_put_u64(&body, it->media_set_seq)) != 0 ||
		    (r = tv_buf_put(&body, it->dek_fpr, TV_FPR_LEN)) != 0 ||
		    (r = tv_buf_put_u16(&body, (uint16_t)tv_buf_avail(&slot))) != 0 ||
		    (r = tv_buf_put(&body, tv_buf_ptr(&slot), tv_buf_avail(&slot))) != 0)
			goto out;
	}
	if ((r = request_digest(tv_buf_ptr(&body), tv_buf_avail(&body), h)) != 0 ||
	    (r = ed25519_sign(identity_priv, h, sig)) != 0 ||
	    (r = tv_buf_put(&body, sig, SIG_LEN)) != 0)
		goto out;
	if ((r = armor_encode(&K_REQ, tv_buf_ptr(&body), tv_buf_avail(&body), text)) != 0)
		goto out;
	*onetime_priv = ot;
	ot = NULL;
out:
	if (r == TV_ERR_RANGE)
		r = tv_errf(TV_ERR_RANGE, "escrow request: too large");
	EVP_PKEY_free(ot);
	tv_buf_free(&body);
	tv_buf_free(&slot);
	return r;
}

/* Parses the body after the identity key (c positioned there). */
static int parse_request_rest(struct cur *c, struct tv_escrow_request *req)
{
	struct tv_buf re;
	char what[128];
	uint32_t n;
	int r;

	tv_buf_init_max(&re, TV_ESCROW_SLOT_MAX);
	if ((r = c_key(c, spki_x25519, EVP_PKEY_X25519, &req->onetime, "one-time key")) != 0 ||
	    (r = c_u32(c, &n)) != 0)
		goto out;
	if (n == 0) {
		r = tv_errf(TV_ERR_FORMAT, "request: asks for no tape");
		goto out;
	}
	if (n > TV_ESCROW_MAX_ITEMS) {
		r = tv_errf(TV_ERR_FORMAT, "request: asks for %" PRIu32 " tapes (at most %d "
		            "in one request)", n, TV_ESCROW_MAX_ITEMS);
		goto out;
	}
	if ((size_t)n * REQ_ITEM_MIN > tv_buf_avail(&c->b)) {
		r = trunc_err(c);
		goto out;
	}
	if ((req->items = calloc(n, sizeof(*req->items))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct tv_escrow_item *it = &req->items[i];
		const uint8_t *sp = NULL;
		uint16_t sl;

		if ((r = c_get(c, it->tape_uuid, TV_UUID_LEN)) != 0 ||
		    (r = c_str(c, it->barcode, sizeof(it->barcode), 0, TV_ESCROW_BARCODE_MAX, 1,
		               "barcode")) != 0 ||
		    (r = c_str(c, it->pool, sizeof(it->pool), 0, TV_ESCROW_NAME_MAX, 0,
		               "pool name")) != 0 ||
		    (r = c_u64(c, &it->media_set_seq)) != 0 ||
		    (r = c_get(c, it->dek_fpr, TV_FPR_LEN)) != 0 ||
		    (r = c_u16(c, &sl)) != 0)
			goto out;
		item_name(it->tape_uuid, it->barcode, i, what, sizeof(what));
		if (sl == 0 || sl > TV_ESCROW_SLOT_MAX) {
			r = tv_errf(TV_ERR_FORMAT, "request: %s: key slot of %u bytes", what,
			            (unsigned)sl);
			goto out;
		}
		if ((r = c_ptr(c, &sp, sl)) != 0)
			goto out;
		if ((r = tv_slot_decode(sp, sl, &it->slot)) != 0) {
			r = tv_errctx(TV_ERR_FORMAT, "request: %s", what);
			goto out;
		}
		if (it->slot.type != TV_SLOT_ESCROW) {
			r = tv_errf(TV_ERR_FORMAT, "request: %s: not an escrow key slot", what);
			goto out;
		}
		tv_buf_reset(&re);
		if (tv_slot_encode(&re, &it->slot) != 0 || tv_buf_avail(&re) != sl ||
		    memcmp(tv_buf_ptr(&re), sp, sl) != 0) {
			r = tv_errf(TV_ERR_FORMAT, "request: %s: key slot not in canonical form",
			            what);
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (memcmp(req->items[j].tape_uuid, it->tape_uuid, TV_UUID_LEN) == 0) {
				r = tv_errf(TV_ERR_FORMAT, "request: %s asks for the same tape as "
				            "item %zu", what, j + 1);
				goto out;
			}
		}
		req->n = i + 1;
	}
	if (tv_buf_avail(&c->b) != 0) {
		r = tv_errf(TV_ERR_FORMAT, "request: %zu bytes of unexpected data after the "
		            "last item", tv_buf_avail(&c->b));
		goto out;
	}
	r = 0;
out:
	tv_buf_free(&re);
	return r;
}

static int parse_request(const uint8_t *p, size_t len, struct tv_escrow_request *req)
{
	struct cur c = { .what = "request" };
	struct tv_buf all;
	const uint8_t *sig = NULL;
	size_t blen;
	int r, rs;

	if (len < SIG_LEN + 4)
		return tv_errf(TV_ERR_FORMAT, "request: truncated");
	/* the signed body, then the signature */
	blen = len - SIG_LEN;
	tv_buf_view(&all, p, len);
	if (tv_buf_froms(&all, &c.b, blen) != 0 || tv_buf_get_ptr(&all, &sig, SIG_LEN) != 0)
		return trunc_err(&c);
	if ((r = c_magic(&c, &K_REQ, REQ_MAGIC, RESP_MAGIC)) != 0 ||
	    (r = c_get(&c, req->id, TV_ESCROW_ID_LEN)) != 0 ||
	    (r = c_u64(&c, &req->created)) != 0 ||
	    (r = c_str(&c, req->installation, sizeof(req->installation), 1,
	               TV_ESCROW_NAME_MAX, 0, "installation name")) != 0 ||
	    (r = c_key(&c, spki_ed25519, EVP_PKEY_ED25519, &req->identity,
	               "identity key")) != 0)
		return r;
	/* The rest is parsed before the signature is checked (so that fuzzing
	 * reaches it); a failed signature then takes precedence: whatever is
	 * wrong, the request was modified after it was made. */
	r = parse_request_rest(&c, req);
	if ((rs = request_digest(p, blen, req->hash)) != 0)
		return rs;
	rs = ed25519_verify(req->identity, req->hash, sig);
	if (rs == TV_ERR_SIG)
		return tv_errf(TV_ERR_SIG, "request: signature does not verify: the request "
		               "was modified after it was made");
	if (rs != 0)
		return rs;
	if (r != 0)
		return r;
	return tv_identity_fingerprint(req->identity, req->identity_fpr);
}

int tv_escrow_request_parse(const void *text, size_t len, struct tv_escrow_request **out)
{
	struct tv_escrow_request *req = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if ((r = armor_decode(&K_REQ, text, len, &p, &n)) != 0)
		return r;
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if ((r = parse_request(p, n, req)) != 0)
		goto out;
	*out = req;
	req = NULL;
out:
	tv_escrow_request_free(req);
	free(p);
	return r;
}

static void utc_date(uint64_t t, char out[32])
{
	time_t tt = t > (uint64_t)INT64_MAX ? (time_t)INT64_MAX : (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "%llu", (unsigned long long)t);
}

int tv_escrow_request_check_age(const struct tv_escrow_request *req, uint64_t now,
                                uint64_t max_age)
{
	char when[32];

	utc_date(req->created, when);
	if (req->created > now && req->created - now > TV_ESCROW_FUTURE_SKEW)
		return tv_errf(TV_ERR_STATE, "request: dated %s, in the future (more than %llu "
		               "minutes ahead of this machine's clock): refused; check the "
		               "clocks and ask for a new request", when,
		               (unsigned long long)(TV_ESCROW_FUTURE_SKEW / 60));
	if (req->created < now && now - req->created > max_age)
		return tv_errf(TV_ERR_STATE, "request: made %s, %llu day(s) ago: older than the "
		               "%llu day(s) accepted (--max-age): refused; ask the installation "
		               "for a new request", when,
		               (unsigned long long)((now - req->created) / 86400),
		               (unsigned long long)(max_age / 86400));
	return 0;
}

/* ------------------------------------------------------------------ */
/* response */

void tv_escrow_resp_report_free(struct tv_escrow_resp_report *report)
{
	if (report == NULL)
		return;
	free(report->items);
	report->items = NULL;
	report->n = report->n_ok = report->n_no_slot = report->n_failed = 0;
}

int tv_escrow_response_make(const struct tv_escrow_request *req, EVP_PKEY *authority_priv,
                            char **text, struct tv_escrow_resp_report *report)
{
	struct tv_escrow_resp_report rep;
	struct tv_buf body, aad;
	EVP_PKEY *eph = NULL;
	uint8_t fpr[TV_PKFPR_LEN], key[TV_GCM_KEY_LEN], dek[TV_DEK_LEN];
	uint8_t sealed[RESP_SEALED];
	char fs[TV_PKFPR_STR_LEN];
	size_t first = 0;
	int r;

	*text = NULL;
	memset(&rep, 0, sizeof(rep));
	if (report != NULL)
		memset(report, 0, sizeof(*report));
	tv_buf_init_max(&body, TV_ESCROW_TEXT_MAX);
	tv_buf_init(&aad);
	if (req == NULL || req->n == 0 || req->n > TV_ESCROW_MAX_ITEMS || req->items == NULL ||
	    req->onetime == NULL)
		return tv_errf(TV_ERR_INVAL, "escrow response: not a parsed request");
	if ((r = tv_pubkey_check_rsa(authority_priv)) != 0)
		return tv_errctx(r, "escrow response: the key set");
	if ((r = tv_pubkey_fingerprint(authority_priv, fpr)) != 0)
		return r;
	tv_pkfpr_format(fpr, fs);
	memcpy(rep.authority_fpr, fpr, sizeof(fpr));
	if ((rep.items = calloc(req->n, sizeof(*rep.items))) == NULL)
		return TV_ERR_NOMEM;
	rep.n = req->n;
	if ((eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "making the response key");
		goto out;
	}
	if ((r = response_key(eph, req->onetime, req->hash, key)) != 0) {
		if (r == TV_ERR_FORMAT)
			r = tv_errf(TV_ERR_FORMAT, "request: the one-time key is not usable "
			            "(invalid X25519 key)");
		goto out;
	}
	if ((r = tv_buf_put(&body, RESP_MAGIC, 4)) != 0 ||
	    (r = tv_buf_put_u16(&body, TV_ESCROW_MSG_VERSION)) != 0 ||
	    (r = tv_buf_put_u16(&body, 0)) != 0 ||
	    (r = tv_buf_put(&body, req->id, TV_ESCROW_ID_LEN)) != 0 ||
	    (r = tv_buf_put(&body, req->hash, TV_ESCROW_HASH_LEN)) != 0 ||
	    (r = tv_buf_put(&body, fpr, sizeof(fpr))) != 0 ||
	    (r = tv_buf_put_u64(&body, (uint64_t)time(NULL))) != 0 ||
	    (r = put_str16(&body, req->installation)) != 0 ||
	    (r = put_key16(&body, eph, spki_x25519)) != 0 ||
	    (r = tv_buf_put_u32(&body, (uint32_t)req->n)) != 0)
		goto out;
	for (size_t i = 0; i < req->n; i++) {
		const struct tv_escrow_item *it = &req->items[i];
		struct tv_escrow_resp_item *ri = &rep.items[i];
		char have[TV_PKFPR_STR_LEN];

		memcpy(ri->tape_uuid, it->tape_uuid, TV_UUID_LEN);
		if (it->slot.type != TV_SLOT_ESCROW ||
		    CRYPTO_memcmp(it->slot.escrow_fpr, fpr, sizeof(fpr)) != 0) {
			tv_pkfpr_format(it->slot.escrow_fpr, have);
			ri->status = TV_ESCROW_NO_SLOT;
			snprintf(ri->detail, sizeof(ri->detail), "the tape's escrow slot is for key set "
			         "%s, not this one", have);
			rep.n_no_slot++;
		} else if ((r = tv_slot_escrow_open(&it->slot, it->tape_uuid, authority_priv,
		                                    dek)) != 0) {
			if (r != TV_ERR_BADKEY && r != TV_ERR_FORMAT && r != TV_ERR_INVAL)
				goto out;
			ri->status = TV_ESCROW_SLOT_BAD;
			snprintf(ri->detail, sizeof(ri->detail), "%s", tv_errmsg(r));
			rep.n_failed++;
		} else if ((r = tv_dek_verify(dek, it->dek_fpr)) != 0) {
			ri->status = TV_ESCROW_KEY_MISMATCH;
			snprintf(ri->detail, sizeof(ri->detail), "%s", tv_errmsg(r));
			rep.n_failed++;
		} else {
			ri->status = TV_ESCROW_OK;
			rep.n_ok++;
		}
		r = 0;
		if ((r = tv_buf_put(&body, it->tape_uuid, TV_UUID_LEN)) != 0 ||
		    (r = tv_buf_put_u8(&body, (uint8_t)ri->status)) != 0)
			goto out;
		if (ri->status != TV_ESCROW_OK)
			continue;
		tv_buf_reset(&aad);
		if ((r = tv_random(sealed, TV_GCM_IV_LEN)) != 0 ||
		    (r = tv_buf_put(&aad, req->hash, TV_ESCROW_HASH_LEN)) != 0 ||
		    (r = tv_buf_put(&aad, it->tape_uuid, TV_UUID_LEN)) != 0 ||
		    (r = tv_gcm_seal(key, sealed, tv_buf_ptr(&aad), tv_buf_avail(&aad), dek,
		                     TV_DEK_LEN, sealed + TV_GCM_IV_LEN,
		                     sealed + TV_GCM_IV_LEN + TV_DEK_LEN)) != 0)
			goto out;
		tv_wipe(dek, sizeof(dek));
		if ((r = tv_buf_put(&body, sealed, sizeof(sealed))) != 0)
			goto out;
	}
	if (rep.n_ok == 0) {
		while (first + 1 < rep.n && rep.items[first].status == TV_ESCROW_NO_SLOT &&
		       rep.n_failed > 0)
			first++;
		if (rep.n_failed == 0) {
			char other[TV_PKFPR_STR_LEN];

			tv_pkfpr_format(req->items[0].slot.escrow_fpr, other);
			r = tv_errf(TV_ERR_NOTFOUND, "escrow response: none of the %zu tape(s) "
			            "asked for by '%s' has an escrow slot for this key set (%s); "
			            "the first is for key set %s: nothing to answer", req->n,
			            req->installation, fs, other);
		} else
			r = tv_errf(TV_ERR_BADKEY, "escrow response: no key could be recovered "
			            "for the %zu tape(s) asked for by '%s' (first problem: %s)",
			            req->n, req->installation, rep.items[first].detail);
		goto out;
	}
	r = armor_encode(&K_RESP, tv_buf_ptr(&body), tv_buf_avail(&body), text);
out:
	tv_wipe(dek, sizeof(dek));
	tv_wipe(key, sizeof(key));
	tv_wipe(sealed, sizeof(sealed));
	EVP_PKEY_free(eph);
	tv_buf_free(&body);
	tv_buf_free(&aad);
	if (report != NULL)
		*report = rep;
	else
		tv_escrow_resp_report_free(&rep);
	return r;
}

struct resp_item {
	uint8_t uuid[TV_UUID_LEN];
	uint8_t status;
	const uint8_t *sealed;    /* RESP_SEALED bytes when status ok */
};

struct resp {
	struct tv_escrow_resp_info info;
	EVP_PKEY *eph;
	struct resp_item *items;
};

static void resp_clear(struct resp *rs)
{
	EVP_PKEY_free(rs->eph);
	free(rs->items);
	memset(rs, 0, sizeof(*rs));
}

/* Items point into p: keep it while using rs. */
static int parse_response(const uint8_t *p, size_t len, struct resp *rs)
{
	struct cur c = { .what = "response" };
	uint32_t n;
	int r;

	memset(rs, 0, sizeof(*rs));
	tv_buf_view(&c.b, p, len);
	if ((r = c_magic(&c, &K_RESP, RESP_MAGIC, REQ_MAGIC)) != 0 ||
	    (r = c_get(&c, rs->info.request_id, TV_ESCROW_ID_LEN)) != 0 ||
	    (r = c_get(&c, rs->info.request_hash, TV_ESCROW_HASH_LEN)) != 0 ||
	    (r = c_get(&c, rs->info.authority_fpr, TV_PKFPR_LEN)) != 0 ||
	    (r = c_u64(&c, &rs->info.created)) != 0 ||
	    (r = c_str(&c, rs->info.installation, sizeof(rs->info.installation), 1,
	               TV_ESCROW_NAME_MAX, 0, "installation name")) != 0 ||
	    (r = c_key(&c, spki_x25519, EVP_PKEY_X25519, &rs->eph, "response key")) != 0 ||
	    (r = c_u32(&c, &n)) != 0)
		goto fail;
	if (n == 0) {
		r = tv_errf(TV_ERR_FORMAT, "response: answers no tape");
		goto fail;
	}
	if (n > TV_ESCROW_MAX_ITEMS) {
		r = tv_errf(TV_ERR_FORMAT, "response: answers %" PRIu32 " tapes (at most %d)",
		            n, TV_ESCROW_MAX_ITEMS);
		goto fail;
	}
	if ((size_t)n * RESP_ITEM_MIN > tv_buf_avail(&c.b)) {
		r = trunc_err(&c);
		goto fail;
	}
	if ((rs->items = calloc(n, sizeof(*rs->items))) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct resp_item *it = &rs->items[i];
		char what[128];

		if ((r = c_get(&c, it->uuid, TV_UUID_LEN)) != 0 || (r = c_u8(&c, &it->status)) != 0)
			goto fail;
		item_name(it->uuid, NULL, i, what, sizeof(what));
		if (it->status > TV_ESCROW_KEY_MISMATCH) {
			r = tv_errf(TV_ERR_FORMAT, "response: %s: unknown status %u", what,
			            (unsigned)it->status);
			goto fail;
		}
		if (it->status == TV_ESCROW_OK && (r = c_ptr(&c, &it->sealed, RESP_SEALED)) != 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (memcmp(rs->items[j].uuid, it->uuid, TV_UUID_LEN) == 0) {
				r = tv_errf(TV_ERR_FORMAT, "response: %s answers the same tape as "
				            "item %zu", what, j + 1);
				goto fail;
			}
		}
		rs->info.n = i + 1;
	}
	if (tv_buf_avail(&c.b) != 0) {
		r = tv_errf(TV_ERR_FORMAT, "response: %zu bytes of unexpected data after the "
		            "last item", tv_buf_avail(&c.b));
		goto fail;
	}
	return 0;
fail:
	resp_clear(rs);
	return r;
}

int tv_escrow_response_info(const void *text, size_t len, struct tv_escrow_resp_info *info)
{
	struct resp rs;
	uint8_t *p = NULL;
	size_t n = 0;
	int r;

	memset(info, 0, sizeof(*info));
	if ((r = armor_decode(&K_RESP, text, len, &p, &n)) != 0)
		return r;
	if ((r = parse_response(p, n, &rs)) == 0) {
		*info = rs.info;
		resp_clear(&rs);
	}
	free(p);
	return r;
}

int tv_escrow_response_peek(const void *text, size_t len, uint8_t request_id[TV_ESCROW_ID_LEN])
{
	struct tv_escrow_resp_info info;
	int r;

	if ((r = tv_escrow_response_info(text, len, &info)) != 0)
		return r;
	memcpy(request_id, info.request_id, TV_ESCROW_ID_LEN);
	return 0;
}

void tv_escrow_answer_free(struct tv_escrow_answer *a)
{
	if (a == NULL)
		return;
	if (a->items != NULL)
		tv_freezero(a->items, a->n * sizeof(*a->items));
	tv_freezero(a, sizeof(*a));
}

int tv_escrow_response_open(const void *text, size_t len, EVP_PKEY *onetime_priv,
                            const uint8_t request_id[TV_ESCROW_ID_LEN],
                            const uint8_t request_hash[TV_ESCROW_HASH_LEN],
                            struct tv_escrow_answer **out)
{
	struct tv_escrow_answer *a = NULL;
	struct resp rs;
	uint8_t *p = NULL, key[TV_GCM_KEY_LEN], aad[TV_ESCROW_HASH_LEN + TV_UUID_LEN];
	size_t n = 0, nok = 0, nbad = 0, firstbad = 0;
	char sid[16], mine[16];
	int r;

	*out = NULL;
	memset(&rs, 0, sizeof(rs));
	if (!is_x25519_priv(onetime_priv))
		return tv_errf(TV_ERR_INVAL, "response: the one-time key given is not an "
		               "X25519 private key");
	if ((r = armor_decode(&K_RESP, text, len, &p, &n)) != 0)
		return r;
	if ((r = parse_response(p, n, &rs)) != 0)
		goto out;
	short_id(rs.info.request_id, sid);
	if (CRYPTO_memcmp(rs.info.request_id, request_id, TV_ESCROW_ID_LEN) != 0) {
		short_id(request_id, mine);
		r = tv_errf(TV_ERR_INVAL, "response: answers request %s made by installation "
		            "'%s', not request %s of this installation", sid,
		            rs.info.installation, mine);
		goto out;
	}
	if (CRYPTO_memcmp(rs.info.request_hash, request_hash, TV_ESCROW_HASH_LEN) != 0) {
		r = tv_errf(TV_ERR_AUTH, "response: answers a different request under the id "
		            "%s (its request hash differs): the request the authority answered "
		            "is not the one this installation made", sid);
		goto out;
	}
	if ((r = response_key(onetime_priv, rs.eph, request_hash, key)) != 0) {
		if (r == TV_ERR_FORMAT)
			r = tv_errf(TV_ERR_FORMAT, "response: its key is not a usable X25519 key");
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->items = calloc(rs.info.n, sizeof(*a->items))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	a->n = rs.info.n;
	memcpy(a->request_id, rs.info.request_id, TV_ESCROW_ID_LEN);
	memcpy(a->request_hash, rs.info.request_hash, TV_ESCROW_HASH_LEN);
	memcpy(a->authority_fpr, rs.info.authority_fpr, TV_PKFPR_LEN);
	a->created = rs.info.created;
	memcpy(a->installation, rs.info.installation, sizeof(a->installation));
	memcpy(aad, request_hash, TV_ESCROW_HASH_LEN);
	for (size_t i = 0; i < rs.info.n; i++) {
		const struct resp_item *it = &rs.items[i];
		struct tv_escrow_answer_item *ai = &a->items[i];

		memcpy(ai->tape_uuid, it->uuid, TV_UUID_LEN);
		ai->status = (enum tv_escrow_status)it->status;
		if (it->status != TV_ESCROW_OK)
			continue;
		nok++;
		memcpy(aad + TV_ESCROW_HASH_LEN, it->uuid, TV_UUID_LEN);
		r = tv_gcm_open(key, it->sealed, aad, sizeof(aad), it->sealed + TV_GCM_IV_LEN,
		                TV_DEK_LEN, it->sealed + TV_GCM_IV_LEN + TV_DEK_LEN, ai->dek);
		if (r == TV_ERR_AUTH) {
			if (nbad++ == 0)
				firstbad = i;
			continue;
		}
		if (r != 0)
			goto out;
	}
	if (nbad > 0 && nbad == nok) {
		r = tv_errf(TV_ERR_AUTH, "response: does not decrypt with the one-time key of "
		            "request %s: this response was made for another installation's "
		            "request", sid);
		goto out;
	}
	if (nbad > 0) {
		char what[128];

		item_name(rs.items[firstbad].uuid, NULL, firstbad, what, sizeof(what));
		r = tv_errf(TV_ERR_AUTH, "response: %s does not decrypt: the response was "
		            "modified after it was made", what);
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
out:
	tv_wipe(key, sizeof(key));
	tv_escrow_answer_free(a);
	resp_clear(&rs);
	free(p);
	return r;
}

int tv_escrow_answer_check(const struct tv_escrow_answer *a,
                           const struct tv_escrow_request *req)
{
	char sid[16], what[128];
	int r;

	if (a == NULL || req == NULL)
		return tv_errf(TV_ERR_INVAL, "response: nothing to check");
	short_id(req->id, sid);
	if (CRYPTO_memcmp(a->request_id, req->id, TV_ESCROW_ID_LEN) != 0 ||
	    CRYPTO_memcmp(a->request_hash, req->hash, TV_ESCROW_HASH_LEN) != 0)
		return tv_errf(TV_ERR_INVAL, "response: does not answer request %s", sid);
	if (a->n != req->n)
		return tv_errf(TV_ERR_INVAL, "response: answers %zu tape(s), request %s asked "
		               "for %zu", a->n, sid, req->n);
	for (size_t i = 0; i < req->n; i++) {
		const struct tv_escrow_item *it = &req->items[i];
		const struct tv_escrow_answer_item *ai = NULL;

		for (size_t j = 0; j < a->n; j++) {
			if (memcmp(a->items[j].tape_uuid, it->tape_uuid, TV_UUID_LEN) == 0) {
				ai = &a->items[j];
				break;
			}
		}
		item_name(it->tape_uuid, it->barcode, i, what, sizeof(what));
		if (ai == NULL)
			return tv_errf(TV_ERR_INVAL, "response: no answer for %s of request %s",
			               what, sid);
		if (ai->status != TV_ESCROW_OK)
			continue;
		if ((r = tv_dek_verify(ai->dek, it->dek_fpr)) != 0)
			return tv_errctx(r, "response: the key returned for %s", what);
	}
	return 0;
}
