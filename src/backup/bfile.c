/* tapevault: the backup container: header codec, chunk writer and
 * authenticating reader (layout in backup/bfile.h). */
#include "backup/bfile.h"
#include "crypto/aead.h"
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

int tv_backup_header_encode(struct tv_buf *out, struct tv_backup_info *info)
{
	struct tv_buf body, slot;
	uint8_t fixed[TV_BF_FIXED];
	int enc = info->alg != TV_ENC_NONE;
	size_t start = tv_buf_avail(out);
	int r;

	tv_buf_init_max(&body, TV_BACKUP_HDR_MAX);
	tv_buf_init(&slot);
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
	tv_put_be16(fixed + 4, TV_BACKUP_VERSION);
	tv_put_be16(fixed + 6, enc ? TV_BF_ENCRYPTED : 0);
	tv_put_be32(fixed + 8, (uint32_t)tv_buf_avail(&body));
	if ((r = sha256(fixed, sizeof(fixed), tv_buf_ptr(&body), tv_buf_avail(&body), NULL,
	                0, info->header_hash)) != 0)
		goto out;
	if ((r = tv_buf_put(out, fixed, sizeof(fixed))) != 0 ||
	    (r = tv_buf_put(out, tv_buf_ptr(&body), tv_buf_avail(&body))) != 0 ||
	    (r = tv_buf_put(out, info->header_hash, TV_BF_HASH)) != 0)
		goto out;
	info->header_len = tv_buf_avail(out) - start;
out:
	tv_buf_free(&body);
	tv_buf_free(&slot);
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
	if (version != TV_BACKUP_VERSION)
		return tv_errf(TV_ERR_UNSUPPORTED, "backup file format version %u "
		               "(this tapevault reads version %d)", version, TV_BACKUP_VERSION);
	if ((flags & ~TV_BF_ENCRYPTED) != 0)
		return tv_errf(TV_ERR_UNSUPPORTED, "backup file with unknown flags 0x%04x", flags);
	if (blen > TV_BACKUP_HDR_MAX)
		return tv_errf(TV_ERR_FORMAT, "backup header of %u bytes (at most %u)",
		               blen, TV_BACKUP_HDR_MAX);
	*hdr_len = TV_BF_FIXED + (size_t)blen + TV_BF_HASH;
	if (n < *hdr_len)
		return TV_ERR_EOF;
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
};

int tv_bwriter_open(struct tv_bwriter **out, const char *name, tv_backup_write_fn fn,
                    void *ctx, struct tv_backup_info *info, const uint8_t *dek)
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
	if ((r = tv_backup_header_encode(&hdr, info)) != 0)
		goto fail;
	memcpy(w->hh, info->header_hash, 32);
	if ((w->buf = malloc(TV_BF_CHUNK_HDR + w->chunk_size + TV_BF_TAG)) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	if ((r = fn(ctx, tv_buf_ptr(&hdr), tv_buf_avail(&hdr))) != 0)
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
		r = w->fn(w->ctx, w->buf, total);
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

int tv_bwriter_finish(struct tv_bwriter *w)
{
	int r;

	if (w->finished || w->failed)
		return tv_errf(TV_ERR_STATE, "%s: finished twice or after an error", w->name);
	if ((r = flush_chunk(w, 1)) != 0)
		return r;
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
		*got += g;
	}
	return 0;
}

int tv_backup_reader_open(struct tv_backup_reader **out, const char *name,
                          tv_backup_read_fn fn, void *ctx)
{
	struct tv_backup_reader *r;
	uint8_t fixed[TV_BF_FIXED];
	uint8_t *hdr = NULL;
	size_t got, need = 0;
	int e;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TV_ERR_NOMEM;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "backup");
	r->fn = fn;
	r->ctx = ctx;
	if ((e = read_full(r, fixed, sizeof(fixed), &got)) != 0)
		goto fail;
	if (got < 4 || !tv_backup_probe(fixed, got)) {
		e = rfail(r, TV_ERR_FORMAT, "not a tapevault backup file");
		goto fail;
	}
	e = tv_backup_header_parse(fixed, got, &r->info, &need);
	if (e == TV_ERR_EOF && got < sizeof(fixed)) {
		e = rfail(r, TV_ERR_EOF, "truncated in the header");
		goto fail;
	}
	if (e != TV_ERR_EOF || need <= sizeof(fixed)) {
		e = rfail(r, e ? e : TV_ERR_FORMAT, "%s", e ? tv_errmsg(e) : "bad header");
		goto fail;
	}
	if ((hdr = malloc(need)) == NULL) {
		e = TV_ERR_NOMEM;
		goto fail;
	}
	memcpy(hdr, fixed, sizeof(fixed));
	if ((e = read_full(r, hdr + sizeof(fixed), need - sizeof(fixed), &got)) != 0)
		goto fail;
	if (got < need - sizeof(fixed)) {
		e = rfail(r, TV_ERR_EOF, "truncated in the header");
		goto fail;
	}
	if ((e = tv_backup_header_parse(hdr, need, &r->info, &need)) != 0) {
		e = rfail(r, e, "%s", tv_errmsg(e));
		goto fail;
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
		if ((e = read_full(r, &extra, 1, &got)) != 0)
			return e;
		if (got != 0)
			return rfail(r, TV_ERR_FORMAT, "data after the last chunk (chunk %llu)",
			             idx);
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
	tv_freezero(r, sizeof(*r));
}
