/* tapevault: record and frame headers, CRC, the file key, sealing and
 * opening frames (AES-256-GCM, zstd). */
#include "format/record_int.h"
#include "util/aead.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <inttypes.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#define REC_FLAGS_KNOWN (TV_RF_END | TV_RF_CONT | TV_RF_SEALED)
#define FRAME_FLAGS_KNOWN (TV_FF_LAST | TV_FF_CONT | TV_FF_SEALED)
static const char hkdf_info[] = "tapevault v2 file key";

/* ---- records ---- */

void tv_rec_hdr_encode(uint8_t rec[TV_REC_HDR], const struct tv_rec_hdr *h)
{
	memcpy(rec, TV_REC_MAGIC, 4);
	rec[4] = h->flags;
	rec[5] = 0;
	rec[6] = rec[7] = 0;
	tv_put_be32(rec + 8, h->payload_len);
	tv_put_be32(rec + 12, h->file_no);
	tv_put_be64(rec + 16, h->seq);
	tv_put_be32(rec + 24, h->first_frame);
	tv_put_be32(rec + 28, h->crc);
}

int tv_rec_hdr_decode(const uint8_t *rec, size_t n, struct tv_rec_hdr *h)
{
	struct tv_buf b;
	const uint8_t *magic = NULL;
	uint8_t flags = 0, rsv[3] = { 0 };
	uint32_t plen = 0;
	int r;

	memset(h, 0, sizeof(*h));
	if (n < TV_REC_HDR)
		return tv_errf(TV_ERR_FORMAT, "record of %zu bytes is shorter than "
		               "the 32-byte record header", n);
	tv_buf_view(&b, rec, n);
	if ((r = tv_buf_get_ptr(&b, &magic, 4)) != 0)
		return r;
	if (memcmp(magic, TV_REC_MAGIC, 4) != 0) {
		if (memcmp(magic, "TVR", 3) == 0)
			return tv_errf(TV_ERR_UNSUPPORTED, "record of format version %c "
			               "(this tapevault reads version %d)", magic[3],
			               TV_FORMAT_VERSION);
		return tv_errf(TV_ERR_FORMAT, "bad record magic %02x%02x%02x%02x "
		               "(not a tapevault record)", magic[0], magic[1], magic[2],
		               magic[3]);
	}
	if ((r = tv_buf_get_u8(&b, &flags)) != 0 ||
	    (r = tv_buf_get(&b, rsv, sizeof(rsv))) != 0)
		return r;
	if (flags & ~REC_FLAGS_KNOWN)
		return tv_errf(TV_ERR_FORMAT, "unknown record flags 0x%02x",
		               (unsigned)flags);
	if (rsv[0] != 0 || rsv[1] != 0 || rsv[2] != 0)
		return tv_errf(TV_ERR_FORMAT, "reserved record header bytes are "
		               "not zero");
	if ((r = tv_buf_get_u32(&b, &plen)) != 0)
		return r;
	if ((size_t)plen != n - TV_REC_HDR)
		return tv_errf(TV_ERR_FORMAT, "record payload length %" PRIu32
		               " but the record carries %zu bytes", plen, n - TV_REC_HDR);
	h->flags = flags;
	h->payload_len = plen;
	if ((r = tv_buf_get_u32(&b, &h->file_no)) != 0 ||
	    (r = tv_buf_get_u64(&b, &h->seq)) != 0 ||
	    (r = tv_buf_get_u32(&b, &h->first_frame)) != 0 ||
	    (r = tv_buf_get_u32(&b, &h->crc)) != 0)
		return r;
	if (h->first_frame != TV_NO_OFFSET && h->first_frame >= plen &&
	    !(h->seq == 0 && h->first_frame == 0))
		return tv_errf(TV_ERR_FORMAT, "record first frame offset %" PRIu32
		               " outside its %" PRIu32 "-byte payload", h->first_frame,
		               plen);
	if (h->seq == 0 && h->first_frame != 0)
		return tv_errf(TV_ERR_FORMAT, "content header record with a frame "
		               "offset");
	if (h->seq > 0 && (h->flags & TV_RF_SEALED))
		return tv_errf(TV_ERR_FORMAT, "data record with the SEALED flag");
	if ((h->flags & TV_RF_CONT) && !(h->flags & TV_RF_END))
		return tv_errf(TV_ERR_FORMAT, "record flag CONT without END");
	return 0;
}

uint32_t tv_rec_crc(const uint8_t *rec, size_t payload_len)
{
	uint32_t crc = tv_crc32c(0, rec, 28);
	return tv_crc32c(crc, rec + TV_REC_HDR, payload_len);
}

/* ---- frames ---- */

void tv_frame_hdr_encode(uint8_t p[TV_FRAME_HDR], const struct tv_frame_hdr *h)
{
	memcpy(p, TV_FRAME_MAGIC, 4);
	p[4] = h->method;
	p[5] = h->flags;
	p[6] = p[7] = 0;
	tv_put_be32(p + 8, h->stored_len);
	tv_put_be32(p + 12, h->raw_len);
	tv_put_be32(p + 16, h->first_entry);
	tv_put_be32(p + 20, h->crc);
	tv_put_be64(p + 24, h->index);
	memcpy(p + 32, h->content_uuid, TV_UUID_LEN);
}

int tv_frame_hdr_decode(const uint8_t p[TV_FRAME_HDR], struct tv_frame_hdr *h)
{
	struct tv_buf b;
	const uint8_t *magic = NULL;
	uint8_t rsv[2] = { 0 };
	int r;

	memset(h, 0, sizeof(*h));
	tv_buf_view(&b, p, TV_FRAME_HDR);
	if ((r = tv_buf_get_ptr(&b, &magic, 4)) != 0)
		return r;
	if (memcmp(magic, TV_FRAME_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "bad frame magic %02x%02x%02x%02x",
		               magic[0], magic[1], magic[2], magic[3]);
	if ((r = tv_buf_get_u8(&b, &h->method)) != 0 ||
	    (r = tv_buf_get_u8(&b, &h->flags)) != 0 ||
	    (r = tv_buf_get(&b, rsv, sizeof(rsv))) != 0)
		return r;
	if (h->method != TV_COMP_STORED && h->method != TV_COMP_ZSTD)
		return tv_errf(TV_ERR_UNSUPPORTED, "frame compression method %u "
		               "unknown (written by a newer tapevault?)",
		               (unsigned)h->method);
	if (h->flags & ~FRAME_FLAGS_KNOWN)
		return tv_errf(TV_ERR_FORMAT, "unknown frame flags 0x%02x",
		               (unsigned)h->flags);
	if ((h->flags & TV_FF_CONT) && !(h->flags & TV_FF_LAST))
		return tv_errf(TV_ERR_FORMAT, "frame flag CONT without LAST");
	if (rsv[0] != 0 || rsv[1] != 0)
		return tv_errf(TV_ERR_FORMAT, "reserved frame header bytes are not zero");
	if ((r = tv_buf_get_u32(&b, &h->stored_len)) != 0 ||
	    (r = tv_buf_get_u32(&b, &h->raw_len)) != 0 ||
	    (r = tv_buf_get_u32(&b, &h->first_entry)) != 0 ||
	    (r = tv_buf_get_u32(&b, &h->crc)) != 0 ||
	    (r = tv_buf_get_u64(&b, &h->index)) != 0 ||
	    (r = tv_buf_get(&b, h->content_uuid, TV_UUID_LEN)) != 0)
		return r;
	if (h->raw_len > TV_FRAME_RAW_MAX)
		return tv_errf(TV_ERR_FORMAT, "frame of %" PRIu32 " raw bytes (at most "
		               "%u)", h->raw_len, TV_FRAME_RAW_MAX);
	if (h->stored_len > tv_frame_stored_bound(TV_FRAME_RAW_MAX))
		return tv_errf(TV_ERR_FORMAT, "frame of %" PRIu32 " stored bytes",
		               h->stored_len);
	if (h->first_entry != TV_NO_OFFSET && h->first_entry >= h->raw_len)
		return tv_errf(TV_ERR_FORMAT, "frame first entry offset %" PRIu32
		               " outside its %" PRIu32 " raw bytes", h->first_entry,
		               h->raw_len);
	if (h->method == TV_COMP_STORED &&
	    h->stored_len != h->raw_len + ((h->flags & TV_FF_SEALED) ? TV_TAG_LEN : 0))
		return tv_errf(TV_ERR_FORMAT, "stored frame of %" PRIu32 " raw bytes "
		               "with %" PRIu32 " stored bytes", h->raw_len, h->stored_len);
	if ((h->flags & TV_FF_SEALED) && (h->crc != 0 || h->stored_len < TV_TAG_LEN))
		return tv_errf(TV_ERR_FORMAT, "sealed frame with a raw checksum or "
		               "without room for its tag");
	return 0;
}

size_t tv_frame_raw_size(size_t record_size)
{
	size_t f = record_size - 1024;
	return f > TV_FRAME_RAW_MAX ? TV_FRAME_RAW_MAX : f;
}

size_t tv_frame_stored_bound(size_t raw_len)
{
	return ZSTD_COMPRESSBOUND(raw_len) + TV_TAG_LEN;
}

const char *tv_compression_lib_version(void)
{
	return ZSTD_versionString();
}

int tv_compression_parse(const char *s, struct tv_compression *c)
{
	memset(c, 0, sizeof(*c));
	if (strcmp(s, "none") == 0 || strcmp(s, "off") == 0) {
		c->method = TV_COMP_STORED;
		return 0;
	}
	if (strcmp(s, "zstd") == 0 || strcmp(s, "on") == 0) {
		c->method = TV_COMP_ZSTD;
		c->level = TV_ZSTD_LEVEL_DEFAULT;
		return 0;
	}
	if (strncmp(s, "zstd:", 5) == 0) {
		char *end;
		long v = strtol(s + 5, &end, 10);
		if (s[5] != '\0' && *end == '\0' && v >= -7 && v <= 19 && v != 0) {
			c->method = TV_COMP_ZSTD;
			c->level = (int)v;
			return 0;
		}
	}
	return tv_errf(TV_ERR_INVAL, "compression '%s': use none, zstd or zstd:LEVEL "
	               "(LEVEL -7..19, not 0)", s);
}

void tv_compression_format(const struct tv_compression *c, char *out, size_t outsz)
{
	if (c->method == TV_COMP_ZSTD)
		snprintf(out, outsz, "zstd:%d", c->level);
	else
		snprintf(out, outsz, "none");
}

void tv_worker_yield(void)
{
	/* a nicer thread: no privilege needed to lower one's own priority */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
}

unsigned tv_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

/* ---- codec ---- */

int tv_fcodec_init(struct tv_fcodec *c)
{
	memset(c, 0, sizeof(*c));
	c->zlevel = INT_MIN;
	(void)tv_aead_new(&c->aead);
	c->kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	c->zc = ZSTD_createCCtx();
	c->zd = ZSTD_createDCtx();
	if (c->aead == NULL || c->kdf == NULL || c->zc == NULL || c->zd == NULL) {
		tv_fcodec_free(c);
		return tv_errf(TV_ERR_CRYPTO, "OpenSSL AES-256-GCM/HKDF or zstd "
		               "contexts unavailable");
	}
	return 0;
}

void tv_fcodec_free(struct tv_fcodec *c)
{
	tv_aead_free(c->aead);   /* wipes the key */
	EVP_KDF_free(c->kdf);
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	OPENSSL_cleanse(c, sizeof(*c));
}

int tv_file_key(struct tv_fcodec *c, uint8_t out[TV_DEK_LEN],
                const uint8_t dek[TV_DEK_LEN], const uint8_t content_uuid[TV_UUID_LEN])
{
	EVP_KDF_CTX *k;
	OSSL_PARAM p[5];
	int ok;

	if ((k = EVP_KDF_CTX_new(c->kdf)) == NULL)
		return tv_errf(TV_ERR_CRYPTO, "HKDF context");
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	                                         (void *)(uintptr_t)dek, TV_DEK_LEN);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	                                         (void *)(uintptr_t)content_uuid,
	                                         TV_UUID_LEN);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	                                         (void *)(uintptr_t)hkdf_info,
	                                         sizeof(hkdf_info) - 1);
	p[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(k, out, TV_DEK_LEN, p) > 0;
	EVP_KDF_CTX_free(k);
	if (!ok) {
		OPENSSL_cleanse(out, TV_DEK_LEN);
		return tv_errf(TV_ERR_CRYPTO, "HKDF-SHA256 failed");
	}
	return 0;
}

static void nonce_of(uint8_t nonce[12], uint32_t domain, uint64_t n)
{
	tv_put_be32(nonce, domain);
	tv_put_be64(nonce + 4, n);
}

int tv_hdr_tag(struct tv_fcodec *c, const uint8_t key[TV_DEK_LEN],
               const uint8_t tape_uuid[TV_UUID_LEN], const uint8_t rec_hdr[24],
               const uint8_t *hdr, size_t hdr_len, const void *extra,
               size_t extra_len, uint8_t tag[TV_TAG_LEN], int verify)
{
	const struct tv_aad aad[4] = {
		{ tape_uuid, TV_UUID_LEN }, { rec_hdr, 24 }, { hdr, hdr_len }, { extra, extra_len }
	};
	uint8_t nonce[12];
	int r;

	nonce_of(nonce, 0, 0);
	if (!verify) {
		if ((r = tv_aead_seal(c->aead, key, nonce, aad, 4, NULL, NULL, 0, tag)) != 0)
			return tv_errctx(r, "tag of a content header");
		return 0;
	}
	r = tv_aead_open(c->aead, key, nonce, aad, 4, NULL, NULL, 0, tag);
	if (r == TV_ERR_AUTH)
		return tv_errf(TV_ERR_AUTH, "content header authentication failed: the "
		               "header was modified or the key is wrong");
	return r != 0 ? tv_errctx(r, "tag of a content header") : 0;
}

/* AES-256-GCM over one frame (in place allowed). */
static int frame_gcm(struct tv_fcodec *c, const uint8_t key[TV_DEK_LEN], int enc,
                     const uint8_t tape_uuid[TV_UUID_LEN], const uint8_t hdr[TV_FRAME_HDR],
                     uint64_t index, const uint8_t *in, uint8_t *out, size_t n,
                     uint8_t tag[TV_TAG_LEN])
{
	const struct tv_aad aad[2] = { { tape_uuid, TV_UUID_LEN }, { hdr, TV_FRAME_HDR } };
	uint8_t nonce[12];
	int r;

	nonce_of(nonce, 1, index);
	if (enc) {
		if ((r = tv_aead_seal(c->aead, key, nonce, aad, 2, in, out, n, tag)) != 0)
			return tv_errctx(r, "frame %" PRIu64, index);
		return 0;
	}
	r = tv_aead_open(c->aead, key, nonce, aad, 2, in, out, n, tag);
	if (r == TV_ERR_AUTH)   /* out is wiped: never unauthenticated data */
		return tv_errf(TV_ERR_AUTH, "frame %" PRIu64 ": authentication failed: "
		               "the data was modified or the key is wrong", index);
	return r != 0 ? tv_errctx(r, "frame %" PRIu64, index) : 0;
}

int tv_frame_seal(struct tv_fcodec *c, const struct tv_compression *comp,
                  const uint8_t *key, const uint8_t tape_uuid[TV_UUID_LEN],
                  struct tv_frame_hdr *h, const uint8_t *raw, size_t n,
                  uint8_t hdr[TV_FRAME_HDR], uint8_t *out, size_t cap,
                  const uint8_t **stored)
{
	size_t body = n;
	int r;

	if (n > TV_FRAME_RAW_MAX || cap < tv_frame_stored_bound(n))
		return tv_errf(TV_ERR_INTERNAL, "frame of %zu bytes, buffer of %zu", n, cap);
	h->raw_len = (uint32_t)n;
	h->method = TV_COMP_STORED;
	h->flags &= (uint8_t)(TV_FF_LAST | TV_FF_CONT);
	if (comp != NULL && comp->method == TV_COMP_ZSTD && n > 0) {
		size_t z;
		if (c->zlevel != comp->level) {
			if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
			                                        comp->level)) ||
			    ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1)))
				return tv_errf(TV_ERR_INTERNAL, "zstd: cannot set level %d",
				               comp->level);
			c->zlevel = comp->level;
		}
		z = ZSTD_compress2(c->zc, out, cap - TV_TAG_LEN, raw, n);
		if (ZSTD_isError(z))
			return tv_errf(TV_ERR_INTERNAL, "zstd compression failed: %s",
			               ZSTD_getErrorName(z));
		if (z < n) {
			h->method = TV_COMP_ZSTD;
			body = z;
		}
	}
	if (key == NULL) {
		h->stored_len = (uint32_t)body;
		h->crc = tv_crc32c(0, raw, n);
		tv_frame_hdr_encode(hdr, h);
		*stored = h->method == TV_COMP_ZSTD ? out : raw;
		return 0;
	}
	h->flags |= TV_FF_SEALED;
	h->stored_len = (uint32_t)(body + TV_TAG_LEN);
	h->crc = 0;
	tv_frame_hdr_encode(hdr, h);
	r = frame_gcm(c, key, 1, tape_uuid, hdr, h->index,
	              h->method == TV_COMP_ZSTD ? out : raw, out, body, out + body);
	if (r != 0)
		return r;
	*stored = out;
	return 0;
}

int tv_frame_open(struct tv_fcodec *c, const uint8_t *key,
                  const uint8_t tape_uuid[TV_UUID_LEN], const struct tv_frame_hdr *h,
                  const uint8_t hdr[TV_FRAME_HDR], uint8_t *stored, uint8_t *out,
                  const uint8_t **raw)
{
	size_t body = h->stored_len;
	const uint8_t *data = stored;
	int r;

	*raw = NULL;
	if (h->flags & TV_FF_SEALED) {
		if (key == NULL)
			return tv_errf(TV_ERR_LOCKED, "frame %" PRIu64 " is encrypted and no "
			               "key is at hand", h->index);
		body -= TV_TAG_LEN;
		if ((r = frame_gcm(c, key, 0, tape_uuid, hdr, h->index, stored, stored,
		                   body, stored + body)) != 0)
			return r;
	} else if (key != NULL) {
		return tv_errf(TV_ERR_FORMAT, "frame %" PRIu64 " is plaintext on an "
		               "encrypted tape (not written by the tape's owner)", h->index);
	}
	if (h->method == TV_COMP_ZSTD) {
		unsigned long long want = ZSTD_getFrameContentSize(data, body);
		size_t z;
		if (want != h->raw_len)
			return tv_errf(TV_ERR_FORMAT, "frame %" PRIu64 ": compressed data "
			               "announces %llu bytes, the header %" PRIu32, h->index,
			               want, h->raw_len);
		z = ZSTD_decompressDCtx(c->zd, out, h->raw_len, data, body);
		if (ZSTD_isError(z) || z != h->raw_len)
			return tv_errf(TV_ERR_FORMAT, "frame %" PRIu64 ": compressed data is "
			               "damaged (%s)", h->index,
			               ZSTD_isError(z) ? ZSTD_getErrorName(z) : "short");
		data = out;
	} else if (body != h->raw_len) {
		return tv_errf(TV_ERR_FORMAT, "frame %" PRIu64 ": %zu stored bytes for %"
		               PRIu32 " raw bytes", h->index, body, h->raw_len);
	}
	if (!(h->flags & TV_FF_SEALED) && tv_crc32c(0, data, h->raw_len) != h->crc)
		return tv_errf(TV_ERR_CRC, "frame %" PRIu64 ": checksum of the data "
		               "differs: the frame is damaged", h->index);
	*raw = data;
	return 0;
}
