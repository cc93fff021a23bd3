/* tapevault: the label files (tape files 0 and 1): writing them, reading
 * them back, and authenticating them once the tape's key is known. */
#include "format/record_int.h"
#include "util/err.h"
#include "util/wipe.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* M = context || be32(len VH) || VH || ms content UUID || be32(len B') || B'
 * (docs/FORMAT.md 9.4).  b2 (may be NULL) is B' after b1. */
static int label_msg(struct tv_buf *msg, const uint8_t *vh, size_t vh_len,
                     const uint8_t mu[TV_UUID_LEN], const uint8_t *b1, size_t n1,
                     const uint8_t *b2, size_t n2)
{
	int r;

	if (vh_len > UINT32_MAX || n1 + n2 > UINT32_MAX)
		return tv_errf(TV_ERR_RANGE, "label signature: labels too long");
	if ((r = tv_buf_put(msg, TV_WSIG_CTX_LABEL, strlen(TV_WSIG_CTX_LABEL))) != 0 ||
	    (r = tv_buf_put_u32(msg, (uint32_t)vh_len)) != 0 ||
	    (r = tv_buf_put(msg, vh, vh_len)) != 0 ||
	    (r = tv_buf_put(msg, mu, TV_UUID_LEN)) != 0 ||
	    (r = tv_buf_put_u32(msg, (uint32_t)(n1 + n2))) != 0 ||
	    (n1 > 0 && (r = tv_buf_put(msg, b1, n1)) != 0) ||
	    (n2 > 0 && (r = tv_buf_put(msg, b2, n2)) != 0))
		return r;
	return 0;
}

int tv_labels_signed_msg(const struct tv_tape_labels *l, struct tv_buf *msg)
{
	struct tv_content_header ch;
	size_t hlen;
	int r;

	if (!l->has_ms || !l->ms.has_wsig || l->ms_rec == NULL || l->vol_hdr == NULL)
		return tv_errf(TV_ERR_STATE, "no signed media set label");
	hlen = l->ms_rec_len - TV_REC_HDR - (l->ms_sealed ? TV_TAG_LEN : 0);
	if ((r = tv_hdr_decode(l->ms_rec + TV_REC_HDR, hlen, &ch)) != 0)
		return r;
	if (l->ms.wsig_off > ch.body_len || l->ms.wsig_len > ch.body_len - l->ms.wsig_off)
		return tv_errf(TV_ERR_INTERNAL, "writer signature outside the label body");
	return label_msg(msg, l->vol_hdr, l->vol_hdr_len, ch.uuid, ch.body, l->ms.wsig_off,
	                 ch.body + l->ms.wsig_off + l->ms.wsig_len,
	                 ch.body_len - l->ms.wsig_off - l->ms.wsig_len);
}

int tv_catalog_signed_msg(struct tv_buf *msg, const uint8_t content_uuid[TV_UUID_LEN],
                          const uint8_t *body, size_t body_len, uint64_t count,
                          const uint8_t digest[32])
{
	struct tv_buf ch;
	int r;

	tv_buf_init(&ch);
	if ((r = tv_hdr_encode(&ch, TV_CT_CATALOG, content_uuid, body, body_len)) == 0 &&
	    (r = tv_buf_put(msg, TV_WSIG_CTX_CATALOG, strlen(TV_WSIG_CTX_CATALOG))) == 0 &&
	    (r = tv_buf_put_u32(msg, (uint32_t)tv_buf_avail(&ch))) == 0 &&
	    (r = tv_buf_put(msg, tv_buf_ptr(&ch), tv_buf_avail(&ch))) == 0 &&
	    (r = tv_buf_put_u64(msg, count)) == 0)
		r = tv_buf_put(msg, digest, 32);
	tv_buf_free(&ch);
	return r;
}

int tv_labels_write(struct tv_twriter *w, const struct tv_volume_label *vol,
                    const struct tv_media_set_label *ms, const uint8_t *dek)
{
	return tv_labels_write_signed(w, vol, ms, dek, NULL);
}

int tv_labels_write_signed(struct tv_twriter *w, const struct tv_volume_label *vol,
                           const struct tv_media_set_label *ms, const uint8_t *dek,
                           const struct tv_signer *sg)
{
	struct tv_buf vb, mb, vh, msg;
	uint8_t vu[TV_UUID_LEN], mu[TV_UUID_LEN];
	int r;

	tv_buf_init(&vb);
	tv_buf_init(&mb);
	tv_buf_init(&vh);
	tv_buf_init(&msg);
	/* the content UUID of the volume label is the tape UUID: a fresh random
	 * value, and the one thing that identifies the tape */
	memcpy(vu, vol->tape_uuid, TV_UUID_LEN);
	if (RAND_bytes(mu, sizeof(mu)) != 1) {
		r = tv_errf(TV_ERR_CRYPTO, "the random number generator failed: nothing "
		            "written");
		goto out;
	}
	mu[6] = (uint8_t)((mu[6] & 0x0f) | 0x40);   /* version 4 */
	mu[8] = (uint8_t)((mu[8] & 0x3f) | 0x80);   /* variant 10x */
	if ((r = tv_vol_label_encode(&vb, vol)) != 0 ||
	    (r = tv_ms_label_encode(&mb, ms)) != 0 ||
	    (r = tv_hdr_encode(&vh, TV_CT_VOLUME_LABEL, vu, tv_buf_ptr(&vb),
	                       tv_buf_avail(&vb))) != 0)
		goto out;
	if (sg != NULL) {
		/* sign the labels as they go on tape, then append the signature
		 * as the body's last item (tag 7) */
		struct tv_wsig ws;
		memset(&ws, 0, sizeof(ws));
		ws.alg = TV_WSIG_ED25519;
		memcpy(ws.pub, sg->pub, sizeof(ws.pub));
		memcpy(ws.fpr, sg->fpr, sizeof(ws.fpr));
		if ((r = label_msg(&msg, tv_buf_ptr(&vh), tv_buf_avail(&vh), mu, tv_buf_ptr(&mb),
		                   tv_buf_avail(&mb), NULL, 0)) != 0 ||
		    (r = sg->sign(sg->ctx, tv_buf_ptr(&msg), tv_buf_avail(&msg), ws.sig)) != 0 ||
		    (r = tv_wsig_encode(&mb, TV_MS_TAG_WSIG, &ws)) != 0)
			goto out;
	}
	if ((r = tv_twriter_header_file(w, 0, TV_CT_VOLUME_LABEL, vu, tv_buf_ptr(&vb),
	                                tv_buf_avail(&vb), NULL, NULL, 0)) != 0 ||
	    (r = tv_twriter_header_file(w, 1, TV_CT_MEDIA_SET_LABEL, mu, tv_buf_ptr(&mb),
	                                tv_buf_avail(&mb), dek, tv_buf_ptr(&vh),
	                                tv_buf_avail(&vh))) != 0)
		goto out;
out:
	tv_buf_free(&vb);
	tv_buf_free(&mb);
	tv_buf_free(&vh);
	tv_buf_free(&msg);
	return r;
}

/* Reads record 0 of the tape file at the position: a label file of one
 * record.  *rec (malloc'd) is the record, ch and *hlen the content header in
 * it. */
static int read_label(struct tv_tape *t, const char *name, unsigned file_no,
                      enum tv_content_type want, uint8_t **rec, size_t *reclen,
                      struct tv_content_header *ch, size_t *hlen, int *sealed)
{
	struct tv_rec_hdr h;
	uint8_t *b = malloc(TV_RECORD_SIZE_MAX);
	size_t got = 0;
	int r;

	*rec = NULL;
	if (b == NULL)
		return TV_ERR_NOMEM;
	r = tv_tape_read(t, b, TV_RECORD_SIZE_MAX, &got);
	if (r == TV_ERR_EOD && file_no == 0) {
		r = tv_errf(TV_ERR_EOD, "tape %s is blank", name);
		goto fail;
	}
	if (r == TV_ERR_RANGE) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s file %u: a record longer than 4 MiB: "
		            "not a tapevault tape", name, file_no);
		goto fail;
	}
	if (r != 0) {
		tv_errctx(r, "tape %s: reading label file %u", name, file_no);
		goto fail;
	}
	if ((r = tv_rec_hdr_decode(b, got, &h)) != 0) {
		tv_errctx(r, "tape %s file %u record 0", name, file_no);
		goto fail;
	}
	if (tv_rec_crc(b, got - TV_REC_HDR) != h.crc) {
		r = tv_errf(TV_ERR_CRC, "tape %s file %u record 0: checksum mismatch: the "
		            "label is damaged", name, file_no);
		goto fail;
	}
	if (h.file_no != file_no || h.seq != 0 || !(h.flags & TV_RF_END) ||
	    (h.flags & TV_RF_CONT)) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s file %u record 0: not a label record "
		            "(file %" PRIu32 ", sequence %" PRIu64 ", flags 0x%02x)", name,
		            file_no, h.file_no, h.seq, (unsigned)h.flags);
		goto fail;
	}
	*sealed = (h.flags & TV_RF_SEALED) != 0;
	*hlen = h.payload_len - (*sealed ? TV_TAG_LEN : 0);
	if (*sealed && h.payload_len < TV_TAG_LEN) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s file %u: sealed label without its tag",
		            name, file_no);
		goto fail;
	}
	if ((r = tv_hdr_decode(b + TV_REC_HDR, *hlen, ch)) != 0) {
		tv_errctx(r, "tape %s file %u", name, file_no);
		goto fail;
	}
	if (ch->type != want) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s: file %u is a %s, not a %s", name,
		            file_no, tv_content_type_name(ch->type),
		            tv_content_type_name(want));
		goto fail;
	}
	*rec = b;
	*reclen = got;
	return 0;
fail:
	free(b);
	return r;
}

int tv_labels_read(struct tv_tape *t, const char *name, struct tv_tape_labels *l,
                   int with_ms)
{
	struct tv_content_header ch;
	uint8_t *rec = NULL;
	size_t reclen, hlen;
	int sealed, r;

	memset(l, 0, sizeof(*l));
	if ((r = tv_tape_rewind(t)) != 0)
		return r;
	if ((r = read_label(t, name, 0, TV_CT_VOLUME_LABEL, &rec, &reclen, &ch, &hlen,
	                    &sealed)) != 0)
		return r;
	if (sealed) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s: sealed volume label", name);
		goto fail;
	}
	if ((r = tv_vol_label_decode(ch.body, ch.body_len, &l->vol)) != 0) {
		tv_errctx(r, "tape %s: volume label", name);
		goto fail;
	}
	if (memcmp(ch.uuid, l->vol.tape_uuid, TV_UUID_LEN) != 0) {
		r = tv_errf(TV_ERR_FORMAT, "tape %s: volume label content UUID is not the "
		            "tape UUID", name);
		goto fail;
	}
	if ((l->vol_hdr = malloc(hlen)) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	memcpy(l->vol_hdr, rec + TV_REC_HDR, hlen);
	l->vol_hdr_len = hlen;
	free(rec);
	rec = NULL;
	if (!with_ms)
		return 0;
	r = tv_tape_space_files(t, 1);
	if (r == 0)
		r = read_label(t, name, 1, TV_CT_MEDIA_SET_LABEL, &rec, &reclen, &ch, &hlen,
		               &sealed);
	if (r == TV_ERR_EOD || r == TV_ERR_FILEMARK) {
		return 0;   /* labeled, not in a media set */
	}
	if (r != 0)
		goto fail;
	if ((r = tv_ms_label_decode(ch.body, ch.body_len, &l->ms)) != 0) {
		tv_errctx(r, "tape %s: media set label", name);
		goto fail;
	}
	l->has_ms = 1;
	l->ms_sealed = sealed;
	l->ms_rec = rec;
	l->ms_rec_len = reclen;
	return 0;
fail:
	free(rec);
	tv_labels_free(l);
	return r;
}

int tv_labels_verify(const struct tv_tape_labels *l, const char *name,
                     const uint8_t dek[TV_DEK_LEN])
{
	struct tv_fcodec c;
	struct tv_content_header ch;
	uint8_t key[TV_DEK_LEN];
	size_t hlen;
	int r;

	if (!l->has_ms)
		return tv_errf(TV_ERR_STATE, "tape %s has no media set label", name);
	if (!l->ms_sealed)
		return tv_errf(TV_ERR_FORMAT, "tape %s file 1 record 0: the media set label "
		               "of an encrypted tape is not sealed (not written by the "
		               "tape's owner): refused", name);
	hlen = l->ms_rec_len - TV_REC_HDR - TV_TAG_LEN;
	if ((r = tv_hdr_decode(l->ms_rec + TV_REC_HDR, hlen, &ch)) != 0)
		return r;
	if ((r = tv_fcodec_init(&c)) != 0)
		return r;
	r = tv_file_key(&c, key, dek, ch.uuid);
	if (r == 0)
		r = tv_hdr_tag(&c, key, l->vol.tape_uuid, l->ms_rec, l->ms_rec + TV_REC_HDR,
		               hlen, l->vol_hdr, l->vol_hdr_len,
		               l->ms_rec + TV_REC_HDR + hlen, 1);
	tv_wipe(key, sizeof(key));
	tv_fcodec_free(&c);
	if (r == TV_ERR_AUTH)
		return tv_errf(TV_ERR_AUTH, "tape %s file 1 record 0: the labels do not "
		               "authenticate under the tape's key (edited or swapped)", name);
	return r;
}

void tv_labels_free(struct tv_tape_labels *l)
{
	free(l->vol_hdr);
	free(l->ms_rec);
	l->vol_hdr = l->ms_rec = NULL;
}
