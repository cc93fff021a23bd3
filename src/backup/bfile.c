/* tapevault: the backup container: header codec, chunk writer and
 * authenticating reader (layout in backup/bfile.h). */
#include "backup/bfile.h"
#include "crypto/aead.h"
#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	BT_UUID = 1, BT_CREATED = 2, BT_CHUNK = 3, BT_ALG = 4, BT_FPR = 5,
	BT_SLOT = 6, BT_WRITER = 7
};

static const char chunk_key_info[] = "tapevault backup chunk key v1";
static const char plain_label[] = "tapevault backup chunk v1";

int tv_backup_probe(const void *p, size_t n)
{
	return n >= 4 && memcmp(p, TV_BACKUP_MAGIC, 4) == 0;
}

int tv_backup_probe_encrypted(const void *p, size_t n)
{
	struct tv_buf b;
	uint16_t flags = 0;

	if (n < 8 || !tv_backup_probe(p, n))
		return 0;
	tv_buf_view(&b, p, n);
	if (tv_buf_consume(&b, 6) != 0 || tv_buf_get_u16(&b, &flags) != 0)
		return 0;
	return (flags & TV_BF_ENCRYPTED) != 0;
}

static int sha256(const void *a, size_t alen, const void *b, size_t blen,
                  const void *c, size_t clen, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int l = 0;
	int ok;

	if (md == NULL)
		return TV_ERR_NOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     (alen == 0 || EVP_DigestUpdate(md, a, alen) == 1) &&
	     (blen == 0 || EVP_DigestUpdate(md, b, blen) == 1) &&
	     (clen == 0 || EVP_DigestUpdate(md, c, clen) == 1) &&
	     EVP_DigestFinal_ex(md, out, &l) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
}

/* ---- header ---- */

int tv_backup_header_signed_msg(struct tv_buf *msg, const struct tv_backup_info *info)
{
	int r;

	if ((r = tv_buf_put(msg, TV_BF_CTX_HEADER, strlen(TV_BF_CTX_HEADER))) != 0)
		return r;
	return tv_buf_put(msg, info->header_hash, TV_BF_HASH);
}

int tv_backup_file_signed_msg(struct tv_buf *msg, const uint8_t hh[TV_BF_HASH],
                              uint64_t nbytes, const uint8_t digest[32])
{
	int r;

	if ((r = tv_buf_put(msg, TV_BF_CTX_FILE, strlen(TV_BF_CTX_FILE))) != 0 ||
	    (r = tv_buf_put(msg, hh, TV_BF_HASH)) != 0 ||
	    (r = tv_buf_put_u64(msg, nbytes)) != 0)
		return r;
	return tv_buf_put(msg, digest, 32);
}

/* A signer's signature of msg (alg, its key, the signature). */
static int sign_msg(const struct tv_signer *sg, const struct tv_buf *msg, struct tv_wsig *ws)
{
	memset(ws, 0, sizeof(*ws));
	ws->alg = TV_WSIG_ED25519;
	memcpy(ws->pub, sg->pub, TV_WSIG_PUB_LEN);
	memcpy(ws->fpr, sg->fpr, TV_WSIG_FPR_LEN);
	return sg->sign(sg->ctx, tv_buf_ptr(msg), tv_buf_avail(msg), ws->sig);
}

/* Does ws (Ed25519) sign msg, and is its fingerprint its key's?  0 or
 * TV_ERR_SIG (no message: the caller names what). */
static int verify_msg(const struct tv_wsig *ws, const struct tv_buf *msg)
{
	uint8_t fpr[TV_PKFPR_LEN];

	if (tv_identity_raw_fingerprint(ws->pub, fpr) != 0 ||
	    CRYPTO_memcmp(fpr, ws->fpr, TV_PKFPR_LEN) != 0 ||
	    tv_identity_verify_raw(ws->pub, tv_buf_ptr(msg), tv_buf_avail(msg), ws->sig) != 0) {
		tv_errclear();
		return TV_ERR_SIG;
	}
	return 0;
}

/* A signature item (tag, length, writer signature) of at most
 * TV_BF_SIG_MAX value bytes. */
static int put_sig_item(struct tv_buf *out, uint16_t tag, const struct tv_wsig *ws)
{
	size_t start = tv_buf_avail(out);
	int r;

	if ((r = tv_wsig_encode(out, tag, ws)) != 0)
		return r;
	if (tv_buf_avail(out) - start > TV_BF_ITEM_HDR + TV_BF_SIG_MAX)
		return tv_errf(TV_ERR_INTERNAL, "backup writer signature too long");
	return 0;
}

int tv_backup_header_encode_signed(struct tv_buf *out, struct tv_backup_info *info,
                                   const struct tv_signer *sg)
{
	struct tv_buf body, slot, msg;
	uint8_t fixed[TV_BF_FIXED];
	int enc = info->alg != TV_ENC_NONE;
	unsigned version = sg != NULL || info->has_wsig ? TV_BACKUP_VERSION_SIGNED
	                                                : TV_BACKUP_VERSION;
	size_t start = tv_buf_avail(out);
	int r;

	tv_buf_init_max(&body, TV_BACKUP_HDR_MAX);
	tv_buf_init(&slot);
	tv_buf_init(&msg);
	if (info->alg != TV_ENC_NONE && info->alg != TV_ENC_AES256GCM_HKDF) {
		r = tv_errf(TV_ERR_INVAL, "unknown backup encryption %d", (int)info->alg);
		goto out;
	}
	if (info->chunk_size < TV_BACKUP_CHUNK_MIN || info->chunk_size > TV_BACKUP_CHUNK_MAX ||
	    info->nslots > TV_MAX_SLOTS || (enc && info->nslots == 0) ||
	    (!enc && info->nslots != 0)) {
		r = tv_errf(TV_ERR_INVAL, "backup header: bad chunk size or key slots");
		goto out;
	}
	if ((r = tv_tlv_put_bytes(&body, BT_UUID, info->uuid, TV_UUID_LEN)) != 0 ||
	    (r = tv_tlv_put_u64(&body, BT_CREATED, info->created)) != 0 ||
	    (r = tv_tlv_put_u64(&body, BT_CHUNK, info->chunk_size)) != 0 ||
	    (r = tv_tlv_put_u64(&body, BT_ALG, (uint64_t)info->alg)) != 0 ||
	    (enc && (r = tv_tlv_put_bytes(&body, BT_FPR, info->dek_fpr, TV_FPR_LEN)) != 0))
		goto out;
	for (size_t i = 0; i < info->nslots; i++) {
		tv_buf_reset(&slot);
		if ((r = tv_slot_encode(&slot, &info->slots[i])) != 0 ||
		    (r = tv_tlv_put_bytes(&body, BT_SLOT, tv_buf_ptr(&slot),
		                          tv_buf_avail(&slot))) != 0)
			goto out;
	}
	if (memchr(info->writer, '\0', sizeof(info->writer)) == NULL) {
		r = tv_errf(TV_ERR_INVAL, "backup header: writer not terminated");
		goto out;
	}
	if (info->writer[0] != '\0' &&
	    (r = tv_tlv_put_str(&body, BT_WRITER, info->writer)) != 0)
		goto out;
	memcpy(fixed, TV_BACKUP_MAGIC, 4);
	tv_put_be16(fixed + 4, (uint16_t)version);
	tv_put_be16(fixed + 6, enc ? TV_BF_ENCRYPTED : 0);
	tv_put_be32(fixed + 8, (uint32_t)tv_buf_avail(&body));
	if ((r = sha256(fixed, sizeof(fixed), tv_buf_ptr(&body), tv_buf_avail(&body), NULL,
	                0, info->header_hash)) != 0)
		goto out;
	if ((r = tv_buf_put(out, fixed, sizeof(fixed))) != 0 ||
	    (r = tv_buf_put(out, tv_buf_ptr(&body), tv_buf_avail(&body))) != 0 ||
	    (r = tv_buf_put(out, info->header_hash, TV_BF_HASH)) != 0)
		goto out;
	if (sg != NULL) {
		/* the header hash covers every field before it: the signature
		 * of M_h binds the DEK fingerprint and every key slot */
		if ((r = tv_backup_header_signed_msg(&msg, info)) != 0 ||
		    (r = sign_msg(sg, &msg, &info->wsig)) != 0)
			goto out;
		info->has_wsig = 1;
		info->signed_ = 1;
	}
	if (version == TV_BACKUP_VERSION_SIGNED &&
	    (r = put_sig_item(out, TV_BF_TAG_HEADER_SIG, &info->wsig)) != 0)
		goto out;
	info->version = version;
	info->header_len = tv_buf_avail(out) - start;
out:
	tv_buf_free(&body);
	tv_buf_free(&slot);
	tv_buf_free(&msg);
	return r;
}

int tv_backup_header_encode(struct tv_buf *out, struct tv_backup_info *info)
{
	return tv_backup_header_encode_signed(out, info, NULL);
}

/* A signature item at p (n bytes available): TV_ERR_EOF with *need (the
 * item's whole length, when its header is there), or 0 with *ws decoded. */
static int sig_item_parse(const uint8_t *p, size_t n, uint16_t want_tag, const char *what,
                          struct tv_wsig *ws, size_t *need)
{
	struct tv_buf b;
	uint16_t tag = 0;
	uint32_t len = 0;
	int r;

	*need = TV_BF_ITEM_HDR;
	if (n < TV_BF_ITEM_HDR)
		return TV_ERR_EOF;
	tv_buf_view(&b, p, n);
	if ((r = tv_buf_get_u16(&b, &tag)) != 0 || (r = tv_buf_get_u32(&b, &len)) != 0)
		return r;
	if (tag != want_tag || len == 0 || len > TV_BF_SIG_MAX)
		return tv_errf(TV_ERR_FORMAT, "%s: malformed (item %u of %u bytes)", what,
		               tag, len);
	*need = TV_BF_ITEM_HDR + (size_t)len;
	if (n < *need)
		return TV_ERR_EOF;
	return tv_wsig_decode(p + TV_BF_ITEM_HDR, len, ws, what);
}

int tv_backup_trailer_parse(const uint8_t *p, size_t n, struct tv_wsig *s)
{
	size_t need = 0;
	int r;

	memset(s, 0, sizeof(*s));
	if (n < 4)
		return TV_ERR_EOF;
	if (memcmp(p, TV_BF_TRAILER_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "no trailer after the last chunk");
	r = sig_item_parse(p + 4, n - 4, TV_BF_TAG_FILE_SIG, "backup trailer: writer "
	                   "signature", s, &need);
	if (r == 0 && n != 4 + need)
		r = tv_errf(TV_ERR_FORMAT, "data after the trailer");
	if (r != 0)
		memset(s, 0, sizeof(*s));
	return r;
}

int tv_backup_header_parse(const uint8_t *p, size_t n, struct tv_backup_info *info,
                           size_t *hdr_len)
{
	struct tv_buf all, b;
	struct tv_tlv it;
	const uint8_t *stored = NULL;
	uint8_t hash[32];
	uint16_t version = 0, flags = 0;
	uint32_t blen = 0;
	unsigned seen = 0;
	int r;

	memset(info, 0, sizeof(*info));
	*hdr_len = 0;
	if (n == 0)
		return TV_ERR_EOF;
	if (n < 4) {
		if (memcmp(p, TV_BACKUP_MAGIC, n) != 0)
			return tv_errf(TV_ERR_FORMAT, "not a tapevault backup file");
		return TV_ERR_EOF;
	}
	if (!tv_backup_probe(p, n))
		return tv_errf(TV_ERR_FORMAT, "not a tapevault backup file");
	if (n < TV_BF_FIXED)
		return TV_ERR_EOF;   /* no detail: the caller reads more */
	tv_buf_view(&all, p, n);
	if ((r = tv_buf_consume(&all, 4)) != 0 ||
	    (r = tv_buf_get_u16(&all, &version)) != 0 ||
	    (r = tv_buf_get_u16(&all, &flags)) != 0 ||
	    (r = tv_buf_get_u32(&all, &blen)) != 0)
		return r;
	if (version != TV_BACKUP_VERSION && version != TV_BACKUP_VERSION_SIGNED)
		return tv_errf(TV_ERR_UNSUPPORTED, "backup file format version %u "
		               "(this tapevault reads versions %d and %d)", version,
		               TV_BACKUP_VERSION, TV_BACKUP_VERSION_SIGNED);
	if ((flags & ~TV_BF_ENCRYPTED) != 0)
		return tv_errf(TV_ERR_UNSUPPORTED, "backup file with unknown flags 0x%04x", flags);
	if (blen > TV_BACKUP_HDR_MAX)
		return tv_errf(TV_ERR_FORMAT, "backup header of %u bytes (at most %u)",
		               blen, TV_BACKUP_HDR_MAX);
	*hdr_len = TV_BF_FIXED + (size_t)blen + TV_BF_HASH;
	if (n < *hdr_len)
		return TV_ERR_EOF;
	if (version == TV_BACKUP_VERSION_SIGNED) {
		/* the header signature item: its length first */
		size_t need = 0;

		r = sig_item_parse(p + *hdr_len, n - *hdr_len, TV_BF_TAG_HEADER_SIG,
		                   "backup header: writer signature", &info->wsig, &need);
		*hdr_len += need;
		if (r != 0) {
			memset(&info->wsig, 0, sizeof(info->wsig));
			return r;
		}
	}
	if ((r = tv_buf_froms(&all, &b, blen)) != 0 ||
	    (r = tv_buf_get_ptr(&all, &stored, TV_BF_HASH)) != 0)
		return r;
	/* the hash covers the fixed part and the body: all bytes before it */
	if ((r = sha256(p, tv_buf_tell(&all) - TV_BF_HASH, NULL, 0, NULL, 0, hash)) != 0)
		return r;
	if (memcmp(hash, stored, TV_BF_HASH) != 0)
		return tv_errf(TV_ERR_CRC, "backup header damaged (checksum mismatch)");
	memcpy(info->header_hash, hash, TV_BF_HASH);
	info->header_len = *hdr_len;
	while ((r = tv_tlv_next(&b, &it)) == 0) {
		uint64_t v;

		if (it.tag >= BT_UUID && it.tag <= BT_WRITER && it.tag != BT_SLOT) {
			if (seen & (1u << it.tag))
				return tv_errf(TV_ERR_FORMAT, "backup header: field %u repeated",
				               it.tag);
			seen |= 1u << it.tag;
		}
		switch (it.tag) {
		case BT_UUID:
			if ((r = tv_tlv_uuid(&it, info->uuid)) != 0)
				goto bad;
			break;
		case BT_CREATED:
			if ((r = tv_tlv_u64(&it, &info->created)) != 0)
				goto bad;
			break;
		case BT_CHUNK:
			if ((r = tv_tlv_u64(&it, &info->chunk_size)) != 0)
				goto bad;
			break;
		case BT_ALG:
			if ((r = tv_tlv_u64(&it, &v)) != 0)
				goto bad;
			if (v > 255)
				return tv_errf(TV_ERR_FORMAT, "backup header: algorithm %llu",
				               (unsigned long long)v);
			info->alg = (enum tv_enc_alg)v;
			break;
		case BT_FPR:
			if (it.len != TV_FPR_LEN)
				return tv_errf(TV_ERR_FORMAT, "backup header: DEK fingerprint "
				               "of %zu bytes", it.len);
			memcpy(info->dek_fpr, it.val, TV_FPR_LEN);
			break;
		case BT_SLOT:
			if (info->nslots >= TV_MAX_SLOTS)
				return tv_errf(TV_ERR_FORMAT, "backup header: more than %d key slots",
				               TV_MAX_SLOTS);
			if ((r = tv_slot_decode(it.val, it.len, &info->slots[info->nslots])) != 0)
				return tv_errctx(TV_ERR_FORMAT, "backup header: key slot %zu",
				                 info->nslots + 1);
			info->nslots++;
			break;
		case BT_WRITER:
			if ((r = tv_tlv_str(&it, info->writer, sizeof(info->writer))) != 0)
				goto bad;
			break;
		default:
			break;     /* unknown: skip (forward compatible) */
		}
	}
	if (r != TV_ERR_EOF)
		return tv_errctx(TV_ERR_FORMAT, "backup header");
	if ((seen & ((1u << BT_UUID) | (1u << BT_CREATED) | (1u << BT_CHUNK) | (1u << BT_ALG))) !=
	    ((1u << BT_UUID) | (1u << BT_CREATED) | (1u << BT_CHUNK) | (1u << BT_ALG)))
		return tv_errf(TV_ERR_FORMAT, "backup header: mandatory field missing");
	if (info->chunk_size < TV_BACKUP_CHUNK_MIN || info->chunk_size > TV_BACKUP_CHUNK_MAX)
		return tv_errf(TV_ERR_FORMAT, "backup header: chunk size %llu",
		               (unsigned long long)info->chunk_size);
	info->encrypted = (flags & TV_BF_ENCRYPTED) != 0;
	if (info->encrypted) {
		if (info->alg != TV_ENC_AES256GCM_HKDF)
			return tv_errf(TV_ERR_UNSUPPORTED, "backup encrypted with unknown "
			               "algorithm %d", (int)info->alg);
		if (!(seen & (1u << BT_FPR)) || info->nslots == 0)
			return tv_errf(TV_ERR_FORMAT, "encrypted backup without DEK "
			               "fingerprint or key slots");
	} else if (info->alg != TV_ENC_NONE || info->nslots != 0 || (seen & (1u << BT_FPR))) {
		return tv_errf(TV_ERR_FORMAT, "plaintext backup header with key material");
	}
	info->version = version;
	if (version == TV_BACKUP_VERSION_SIGNED) {
		info->has_wsig = 1;
		/* another algorithm: a newer writer's, not interpreted (unsigned) */
		if (info->wsig.alg == TV_WSIG_ED25519) {
			struct tv_buf msg;

			tv_buf_init(&msg);
			if ((r = tv_backup_header_signed_msg(&msg, info)) == 0)
				r = verify_msg(&info->wsig, &msg);
			tv_buf_free(&msg);
			if (r == TV_ERR_SIG)
				return tv_errf(TV_ERR_SIG, "the writer signature of the header does "
				               "not verify (header changed after signing, or a "
				               "signature taken from another file): a forgery or "
				               "damage, refused");
			if (r != 0)
				return r;
			info->signed_ = 1;
		}
	}
	return 0;
bad:
	return tv_errctx(TV_ERR_FORMAT, "backup header");
}

/* ---- chunk crypto shared by writer and reader ---- */

static void chunk_aad(uint8_t aad[48], const uint8_t hh[32], uint64_t index,
                      const uint8_t chdr[TV_BF_CHUNK_HDR])
{
	memcpy(aad, hh, 32);
	tv_put_be64(aad + 32, index);
	memcpy(aad + 40, chdr, TV_BF_CHUNK_HDR);
}

static void chunk_nonce(uint8_t iv[TV_GCM_IV_LEN], uint64_t index)
{
	memset(iv, 0, 4);
	tv_put_be64(iv + 4, index);
}

static int plain_tag(const uint8_t aad[48], const uint8_t *p, size_t n, uint8_t tag[16])
{
	uint8_t h[32];
	int r = sha256(plain_label, sizeof(plain_label) - 1, aad, 48, p, n, h);

	if (r == 0)
		memcpy(tag, h, 16);
	return r;
}

static int chunk_key(const uint8_t dek[TV_DEK_LEN], const uint8_t uuid[TV_UUID_LEN],
                     uint8_t key[32])
{
	return tv_hkdf_sha256(dek, TV_DEK_LEN, uuid, TV_UUID_LEN, chunk_key_info,
	                      sizeof(chunk_key_info) - 1, key, 32);
}

/* ---- writer ---- */

struct tv_bwriter {
	char name[256];
	tv_backup_write_fn fn;
	void *ctx;
	int encrypted;
	uint8_t key[32];
	uint8_t hh[32];
	size_t chunk_size;
	uint8_t *buf;             /* chunk header + payload + tag */
	size_t fill;              /* payload bytes in buf */
	uint64_t index;
	uint64_t bytes;
	int finished, failed;
	/* signed (version 2): the signer, and SHA-256 of every byte written */
	int sign;
	struct tv_signer sg;
	EVP_MD_CTX *md;
};

/* Writes n bytes of the file (and hashes them, signed). */
static int out_bytes(struct tv_bwriter *w, const void *p, size_t n)
{
	if (w->md != NULL && EVP_DigestUpdate(w->md, p, n) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
	return w->fn(w->ctx, p, n);
}

int tv_bwriter_open(struct tv_bwriter **out, const char *name, tv_backup_write_fn fn,
                    void *ctx, struct tv_backup_info *info, const uint8_t *dek)
{
	return tv_bwriter_open_signed(out, name, fn, ctx, info, dek, NULL);
}

int tv_bwriter_open_signed(struct tv_bwriter **out, const char *name, tv_backup_write_fn fn,
                           void *ctx, struct tv_backup_info *info, const uint8_t *dek,
                           const struct tv_signer *sg)
{
	struct tv_bwriter *w;
	struct tv_buf hdr;
	int r;

	*out = NULL;
	tv_buf_init(&hdr);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TV_ERR_NOMEM;
	snprintf(w->name, sizeof(w->name), "%s", name ? name : "backup");
	w->fn = fn;
	w->ctx = ctx;
	w->encrypted = info->alg != TV_ENC_NONE;
	w->chunk_size = (size_t)info->chunk_size;
	if (w->encrypted) {
		if (dek == NULL) {
			r = tv_errf(TV_ERR_INVAL, "encrypted backup without a DEK");
			goto fail;
		}
		if ((r = tv_dek_verify(dek, info->dek_fpr)) != 0 ||
		    (r = chunk_key(dek, info->uuid, w->key)) != 0)
			goto fail;
	}
	if (sg != NULL) {
		if (sg->sign == NULL) {
			r = tv_errf(TV_ERR_INVAL, "backup signer without a sign function");
			goto fail;
		}
		w->sign = 1;
		w->sg = *sg;
		if ((w->md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
			r = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
			goto fail;
		}
	} else {
		/* unsigned: version 1, whatever info held */
		info->has_wsig = 0;
		info->signed_ = 0;
	}
	if ((r = tv_backup_header_encode_signed(&hdr, info, sg)) != 0)
		goto fail;
	memcpy(w->hh, info->header_hash, 32);
	if ((w->buf = malloc(TV_BF_CHUNK_HDR + w->chunk_size + TV_BF_TAG)) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	if ((r = out_bytes(w, tv_buf_ptr(&hdr), tv_buf_avail(&hdr))) != 0)
		goto fail;
	w->bytes = tv_buf_avail(&hdr);
	tv_buf_free(&hdr);
	*out = w;
	return 0;
fail:
	tv_buf_free(&hdr);
	tv_bwriter_free(w);
	return r;
}

static int flush_chunk(struct tv_bwriter *w, int last)
{
	uint8_t aad[48], iv[TV_GCM_IV_LEN];
	uint8_t *payload = w->buf + TV_BF_CHUNK_HDR;
	size_t total = TV_BF_CHUNK_HDR + w->fill + TV_BF_TAG;
	int r;

	memset(w->buf, 0, TV_BF_CHUNK_HDR);
	w->buf[0] = last ? TV_BF_LAST : 0;
	tv_put_be32(w->buf + 4, (uint32_t)(w->fill + TV_BF_TAG));
	chunk_aad(aad, w->hh, w->index, w->buf);
	if (w->encrypted) {
		chunk_nonce(iv, w->index);
		r = tv_gcm_seal(w->key, iv, aad, sizeof(aad), payload, w->fill, payload,
		                payload + w->fill);
	} else {
		r = plain_tag(aad, payload, w->fill, payload + w->fill);
	}
	if (r == 0)
		r = out_bytes(w, w->buf, total);
	tv_wipe(w->buf, total);
	if (r != 0) {
		w->failed = 1;
		return r;
	}
	w->bytes += total;
	w->index++;
	w->fill = 0;
	return 0;
}

int tv_bwriter_write(struct tv_bwriter *w, const void *p, size_t n)
{
	const uint8_t *s = p;
	int r;

	if (w->finished || w->failed)
		return tv_errf(TV_ERR_STATE, "%s: write after the end or an error", w->name);
	while (n > 0) {
		size_t take;

		if (w->fill == w->chunk_size && (r = flush_chunk(w, 0)) != 0)
			return r;
		take = w->chunk_size - w->fill;
		if (take > n)
			take = n;
		memcpy(w->buf + TV_BF_CHUNK_HDR + w->fill, s, take);
		w->fill += take;
		s += take;
		n -= take;
	}
	return 0;
}

/* The trailer: "TVBT" and the signature of M_t (every byte so far). */
static int write_trailer(struct tv_bwriter *w)
{
	struct tv_buf msg, tr;
	struct tv_wsig ws;
	uint8_t dg[32];
	unsigned int dl = 0;
	int r;

	tv_buf_init(&msg);
	tv_buf_init(&tr);
	if (EVP_DigestFinal_ex(w->md, dg, &dl) != 1 || dl != sizeof(dg)) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
	if ((r = tv_backup_file_signed_msg(&msg, w->hh, w->bytes, dg)) != 0 ||
	    (r = sign_msg(&w->sg, &msg, &ws)) != 0 ||
	    (r = tv_buf_put(&tr, TV_BF_TRAILER_MAGIC, 4)) != 0 ||
	    (r = put_sig_item(&tr, TV_BF_TAG_FILE_SIG, &ws)) != 0 ||
	    (r = w->fn(w->ctx, tv_buf_ptr(&tr), tv_buf_avail(&tr))) != 0)
		goto out;
	w->bytes += tv_buf_avail(&tr);
out:
	tv_buf_free(&msg);
	tv_buf_free(&tr);
	return r;
}

int tv_bwriter_finish(struct tv_bwriter *w)
{
	int r;

	if (w->finished || w->failed)
		return tv_errf(TV_ERR_STATE, "%s: finished twice or after an error", w->name);
	if ((r = flush_chunk(w, 1)) != 0)
		return r;
	if (w->sign && (r = write_trailer(w)) != 0) {
		w->failed = 1;
		return r;
	}
	w->finished = 1;
	return 0;
}

uint64_t tv_bwriter_chunks(const struct tv_bwriter *w) { return w->index; }
uint64_t tv_bwriter_bytes(const struct tv_bwriter *w) { return w->bytes; }

void tv_bwriter_free(struct tv_bwriter *w)
{
	if (w == NULL)
		return;
	if (w->buf != NULL)
		tv_freezero(w->buf, TV_BF_CHUNK_HDR + w->chunk_size + TV_BF_TAG);
	EVP_MD_CTX_free(w->md);
	tv_freezero(w, sizeof(*w));
}

/* ---- reader ---- */

struct tv_backup_reader {
	char name[256];
	tv_backup_read_fn fn;
	void *ctx;
	struct tv_backup_info info;
	uint8_t key[32];
	int have_key;
	uint8_t *buf;
	size_t bufsz;
	const uint8_t *cur;       /* unread plaintext for tv_backup_reader_read */
	size_t curlen;
	uint64_t index;           /* next chunk */
	int done;
	int err;                  /* sticky */
	char errmsg[700];
	/* signed files: SHA-256 of every byte before the trailer */
	EVP_MD_CTX *md;
	uint64_t consumed;
};

/* Records a sticky error "NAME: message". */
__attribute__((format(printf, 3, 4)))
static int rfail(struct tv_backup_reader *r, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->err = code;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s", r->name, msg);
	return tv_errf(code, "%s", r->errmsg);
}

static int read_full(struct tv_backup_reader *r, void *p, size_t n, size_t *got)
{
	uint8_t *d = p;
	int e;

	*got = 0;
	while (*got < n) {
		size_t g = 0;

		if ((e = r->fn(r->ctx, d + *got, n - *got, &g)) != 0)
			return tv_errctx(e, "%s", r->name);
		if (g == 0)
			break;
		if (g > n - *got)
			return tv_errf(TV_ERR_INTERNAL, "%s: read callback overran", r->name);
		if (r->md != NULL && EVP_DigestUpdate(r->md, d + *got, g) != 1)
			return tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
		r->consumed += g;
		*got += g;
	}
	return 0;
}

/* the largest header: fixed part, body, hash, signature item */
#define HDR_TOTAL_MAX (TV_BF_FIXED + TV_BACKUP_HDR_MAX + TV_BF_HASH + TV_BF_ITEM_HDR + \
                       TV_BF_SIG_MAX)

int tv_backup_reader_open(struct tv_backup_reader **out, const char *name,
                          tv_backup_read_fn fn, void *ctx)
{
	struct tv_backup_reader *r;
	uint8_t *hdr = NULL;
	size_t got, have = 0, need = TV_BF_FIXED, cap = 0;
	int e;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TV_ERR_NOMEM;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "backup");
	r->fn = fn;
	r->ctx = ctx;
	/* every byte is hashed from the first: a signed file's trailer signs
	 * them all (the hash is dropped for an unsigned one) */
	if ((r->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1) {
		e = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
		goto fail;
	}
	/* the header in steps: the fixed part says the body's length, the
	 * signature item's header its own */
	for (;;) {
		if (need > HDR_TOTAL_MAX) {
			e = rfail(r, TV_ERR_FORMAT, "backup header too long");
			goto fail;
		}
		if (need > cap) {
			uint8_t *n2 = realloc(hdr, need);
			if (n2 == NULL) {
				e = TV_ERR_NOMEM;
				goto fail;
			}
			hdr = n2;
			cap = need;
		}
		if ((e = read_full(r, hdr + have, need - have, &got)) != 0)
			goto fail;
		have += got;
		if (have < 4 || !tv_backup_probe(hdr, have)) {
			e = rfail(r, TV_ERR_FORMAT, "not a tapevault backup file");
			goto fail;
		}
		if (have < need) {
			e = rfail(r, TV_ERR_EOF, "truncated in the header");
			goto fail;
		}
		e = tv_backup_header_parse(hdr, have, &r->info, &need);
		if (e == 0)
			break;
		if (e != TV_ERR_EOF || need <= have) {
			e = rfail(r, e ? e : TV_ERR_FORMAT, "%s", e ? tv_errmsg(e) : "bad header");
			goto fail;
		}
	}
	if (r->info.version == TV_BACKUP_VERSION) {
		EVP_MD_CTX_free(r->md);      /* no trailer */
		r->md = NULL;
	}
	r->bufsz = TV_BF_CHUNK_HDR + (size_t)r->info.chunk_size + TV_BF_TAG;
	if ((r->buf = malloc(r->bufsz)) == NULL) {
		e = TV_ERR_NOMEM;
		goto fail;
	}
	free(hdr);
	r->err = 0;
	*out = r;
	return 0;
fail:
	free(hdr);
	tv_backup_reader_close(r);
	return e;
}

const struct tv_backup_info *tv_backup_reader_info(const struct tv_backup_reader *r)
{
	return &r->info;
}

uint64_t tv_backup_reader_chunks(const struct tv_backup_reader *r)
{
	return r->index;
}

int tv_backup_reader_set_dek(struct tv_backup_reader *r, const uint8_t dek[TV_DEK_LEN])
{
	int e;

	if (!r->info.encrypted)
		return 0;
	if ((e = tv_dek_verify(dek, r->info.dek_fpr)) != 0)
		return tv_errctx(e, "%s", r->name);
	if ((e = chunk_key(dek, r->info.uuid, r->key)) != 0)
		return e;
	r->have_key = 1;
	return 0;
}

int tv_backup_reader_unlock(struct tv_backup_reader *r, const struct tv_unlocker *u)
{
	uint8_t dek[TV_DEK_LEN];
	char all[2048];
	int e;

	if (!r->info.encrypted && u != NULL && u->expect_encrypted)
		return rfail(r, TV_ERR_AUTH, "refused: the file is not encrypted, but it should "
		             "be (a key was given, or the catalog says it is encrypted); a "
		             "plaintext file in place of an encrypted backup is not "
		             "authenticated: it may have been replaced");
	if (!r->info.encrypted || r->have_key)
		return 0;
	if (u == NULL || u->unlock == NULL) {
		tv_slots_describe(r->info.slots, r->info.nslots, all, sizeof(all));
		return tv_errf(TV_ERR_LOCKED, "%s: backup encrypted (protected by: %s)",
		               r->name, all);
	}
	e = u->unlock(u->ctx, r->info.slots, r->info.nslots, r->info.uuid, dek);
	if (e == 0)
		e = tv_backup_reader_set_dek(r, dek);
	else
		tv_errctx(e, "%s", r->name);
	tv_wipe(dek, sizeof(dek));
	return e;
}

#define TRUNCATED_MSG "truncated (chunk %llu of an unknown total is missing its end marker)"

/* After the LAST chunk of a signed file: the trailer, whose signature by
 * the header's key must verify over every byte before it. */
static int read_trailer(struct tv_backup_reader *r)
{
	uint8_t fixed[TV_BF_TRAILER_FIXED], dg[32], *all = NULL;
	struct tv_buf msg;
	struct tv_wsig ws;
	uint64_t nbytes = r->consumed;
	unsigned int dl = 0;
	size_t got, len;
	int e;

	tv_buf_init(&msg);
	if (EVP_DigestFinal_ex(r->md, dg, &dl) != 1 || dl != sizeof(dg)) {
		e = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	EVP_MD_CTX_free(r->md);
	r->md = NULL;
	if ((e = read_full(r, fixed, sizeof(fixed), &got)) != 0)
		goto out;
	if (got == 0) {
		e = rfail(r, TV_ERR_EOF, "truncated: the file ends after its last chunk, without "
		          "the writer signature that must follow it (cut short, or the signature "
		          "removed): refused");
		goto out;
	}
	if (got >= 4 && memcmp(fixed, TV_BF_TRAILER_MAGIC, 4) != 0) {
		e = rfail(r, TV_ERR_FORMAT, "no writer signature after the last chunk, but other "
		          "data (the file is damaged or was changed): refused");
		goto out;
	}
	if (got < sizeof(fixed)) {
		e = rfail(r, TV_ERR_EOF, "truncated in the writer signature at its end: refused");
		goto out;
	}
	len = tv_get_be32(fixed + 6);
	if (tv_get_be16(fixed + 4) != TV_BF_TAG_FILE_SIG || len == 0 || len > TV_BF_SIG_MAX) {
		e = rfail(r, TV_ERR_FORMAT, "malformed writer signature at the end (the file is "
		          "damaged): refused");
		goto out;
	}
	if ((all = malloc(sizeof(fixed) + len)) == NULL) {
		e = TV_ERR_NOMEM;
		goto out;
	}
	memcpy(all, fixed, sizeof(fixed));
	if ((e = read_full(r, all + sizeof(fixed), len, &got)) != 0)
		goto out;
	if (got < len) {
		e = rfail(r, TV_ERR_EOF, "truncated in the writer signature at its end: refused");
		goto out;
	}
	if ((e = tv_backup_trailer_parse(all, sizeof(fixed) + len, &ws)) != 0) {
		e = rfail(r, TV_ERR_FORMAT, "%s (the file is damaged): refused", tv_errmsg(e));
		goto out;
	}
	if (!r->info.signed_) {
		e = 0;    /* a newer algorithm's signatures: not interpreted */
		goto out;
	}
	if (ws.alg != r->info.wsig.alg ||
	    CRYPTO_memcmp(ws.pub, r->info.wsig.pub, TV_WSIG_PUB_LEN) != 0 ||
	    CRYPTO_memcmp(ws.fpr, r->info.wsig.fpr, TV_WSIG_FPR_LEN) != 0) {
		e = rfail(r, TV_ERR_SIG, "the writer signature at the end is not by the writer "
		          "of the header: a forgery, refused");
		goto out;
	}
	if ((e = tv_backup_file_signed_msg(&msg, r->info.header_hash, nbytes, dg)) != 0)
		goto out;
	if ((e = verify_msg(&ws, &msg)) != 0) {
		e = rfail(r, TV_ERR_SIG, "the writer signature of the file's contents does not "
		          "verify (the file was changed after signing, or parts of another file "
		          "put in): a forgery or damage, refused");
		goto out;
	}
out:
	tv_buf_free(&msg);
	free(all);
	return e;
}

int tv_backup_reader_next(struct tv_backup_reader *r, const uint8_t **p, size_t *n)
{
	uint8_t aad[48], iv[TV_GCM_IV_LEN], extra, flags = 0, rsv[3] = { 0 };
	uint8_t *payload = r->buf + TV_BF_CHUNK_HDR;
	unsigned long long idx = (unsigned long long)r->index;
	struct tv_buf ch;
	uint32_t len32 = 0;
	size_t got, len, plen;
	int e, last;

	*p = NULL;
	*n = 0;
	if (r->err != 0)
		return tv_errf(r->err, "%s", r->errmsg);
	if (r->done)
		return 0;
	if (r->info.encrypted && !r->have_key)
		return tv_errf(TV_ERR_LOCKED, "%s: backup encrypted and not unlocked", r->name);
	if ((e = read_full(r, r->buf, TV_BF_CHUNK_HDR, &got)) != 0)
		return e;
	if (got < TV_BF_CHUNK_HDR)
		return rfail(r, TV_ERR_EOF, TRUNCATED_MSG, idx);
	tv_buf_view(&ch, r->buf, TV_BF_CHUNK_HDR);
	if ((e = tv_buf_get_u8(&ch, &flags)) != 0 || (e = tv_buf_get(&ch, rsv, 3)) != 0 ||
	    (e = tv_buf_get_u32(&ch, &len32)) != 0)
		return e;
	last = flags & TV_BF_LAST;
	len = len32;
	if ((flags & ~TV_BF_LAST) != 0 || rsv[0] || rsv[1] || rsv[2] ||
	    len < TV_BF_TAG || len - TV_BF_TAG > r->info.chunk_size ||
	    (!last && len - TV_BF_TAG != r->info.chunk_size))
		return rfail(r, TV_ERR_FORMAT, "chunk %llu: malformed chunk header "
		             "(the file is damaged)", idx);
	plen = len - TV_BF_TAG;
	if ((e = read_full(r, payload, len, &got)) != 0)
		return e;
	if (got < len)
		return rfail(r, TV_ERR_EOF, TRUNCATED_MSG, idx);
	chunk_aad(aad, r->info.header_hash, r->index, r->buf);
	if (r->info.encrypted) {
		chunk_nonce(iv, r->index);
		e = tv_gcm_open(r->key, iv, aad, sizeof(aad), payload, plen, payload + plen,
		                payload);
		if (e == TV_ERR_AUTH)
			return rfail(r, TV_ERR_AUTH, "authentication failed at chunk %llu: "
			             "the file was modified", idx);
		if (e != 0)
			return e;
	} else {
		uint8_t tag[16];

		if ((e = plain_tag(aad, payload, plen, tag)) != 0)
			return e;
		if (CRYPTO_memcmp(tag, payload + plen, 16) != 0)
			return rfail(r, TV_ERR_CRC, "checksum mismatch at chunk %llu: the file "
			             "is damaged", idx);
	}
	if (last) {
		int sgn = r->info.version == TV_BACKUP_VERSION_SIGNED;

		if (sgn && (e = read_trailer(r)) != 0) {
			tv_wipe(payload, plen);
			return e;
		}
		if ((e = read_full(r, &extra, 1, &got)) != 0)
			return e;
		if (got != 0)
			return rfail(r, TV_ERR_FORMAT, "data after the %s (chunk %llu)",
			             sgn ? "trailer" : "last chunk", idx);
		r->done = 1;
	}
	r->index++;
	*p = payload;
	*n = plen;
	return 0;
}

int tv_backup_reader_read(struct tv_backup_reader *r, void *p, size_t n, size_t *got)
{
	uint8_t *d = p;
	int e;

	*got = 0;
	while (*got < n) {
		size_t take;

		if (r->curlen == 0) {
			if (r->done && r->err == 0)
				break;
			if ((e = tv_backup_reader_next(r, &r->cur, &r->curlen)) != 0)
				return e;
			if (r->curlen == 0 && r->done)
				break;
			continue;
		}
		take = r->curlen < n - *got ? r->curlen : n - *got;
		memcpy(d + *got, r->cur, take);
		r->cur += take;
		r->curlen -= take;
		*got += take;
	}
	return 0;
}

void tv_backup_reader_close(struct tv_backup_reader *r)
{
	if (r == NULL)
		return;
	if (r->buf != NULL)
		tv_freezero(r->buf, r->bufsz);
	EVP_MD_CTX_free(r->md);
	tv_freezero(r, sizeof(*r));
}
