/* tapevault: sense data, decoded into words (SPC-4 4.5). */
#include "scsi/scsi.h"

#include "util/buf.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static const char *const key_names[16] = {
	"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
	"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK",
	"VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND", "sense key 0Ch",
	"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
};

const char *tv_sense_key_name(uint8_t key)
{
	return key_names[key & 0x0F];
}

/* The ASC/ASCQ codes a tape drive or a changer gives tapevault to deal
 * with, with the standard's wording (SPC-4 annex D, lowercased). */
static const struct {
	uint8_t asc, ascq;
	const char *text;
} asc_table[] = {
	{0x00, 0x00, "no additional sense information"},
	{0x00, 0x01, "filemark detected"},
	{0x00, 0x02, "end-of-partition/medium detected"},
	{0x00, 0x04, "beginning-of-partition/medium detected"},
	{0x00, 0x05, "end-of-data detected"},
	{0x00, 0x07, "programmable early warning detected"},
	{0x00, 0x16, "operation in progress"},
	{0x04, 0x00, "logical unit not ready, cause not reportable"},
	{0x04, 0x01, "logical unit is in process of becoming ready"},
	{0x04, 0x02, "logical unit not ready, initializing command required"},
	{0x04, 0x03, "logical unit not ready, manual intervention required"},
	{0x04, 0x12, "logical unit not ready, offline"},
	{0x0C, 0x00, "write error"},
	{0x11, 0x00, "unrecovered read error"},
	{0x14, 0x00, "recorded entity not found"},
	{0x15, 0x01, "mechanical positioning error"},
	{0x1A, 0x00, "parameter list length error"},
	{0x20, 0x00, "invalid command operation code"},
	{0x21, 0x01, "invalid element address"},
	{0x24, 0x00, "invalid field in cdb"},
	{0x25, 0x00, "logical unit not supported"},
	{0x26, 0x00, "invalid field in parameter list"},
	{0x27, 0x00, "write protected"},
	{0x28, 0x00, "not ready to ready change, medium may have changed"},
	{0x28, 0x01, "import or export element accessed"},
	{0x29, 0x00, "power on, reset, or bus device reset occurred"},
	{0x2A, 0x01, "mode parameters changed"},
	{0x2A, 0x11, "data encryption parameters changed by another i_t nexus"},
	{0x2A, 0x12, "data encryption parameters changed by vendor specific event"},
	{0x2C, 0x00, "command sequence error"},
	{0x30, 0x00, "incompatible medium installed"},
	{0x30, 0x01, "cannot read medium - unknown format"},
	{0x30, 0x02, "cannot read medium - incompatible format"},
	{0x30, 0x03, "cleaning cartridge installed"},
	{0x31, 0x00, "medium format corrupted"},
	{0x3A, 0x00, "medium not present"},
	{0x3A, 0x02, "medium not present - tray open"},
	{0x3B, 0x00, "sequential positioning error"},
	{0x3B, 0x0C, "position past beginning of medium"},
	{0x3B, 0x0D, "medium destination element full"},
	{0x3B, 0x0E, "medium source element empty"},
	{0x3B, 0x11, "medium magazine not accessible"},
	{0x3B, 0x12, "medium magazine removed"},
	{0x3F, 0x01, "microcode has been changed"},
	{0x3F, 0x03, "inquiry data has changed"},
	{0x44, 0x00, "internal target failure"},
	{0x50, 0x00, "write append error"},
	{0x51, 0x00, "erase failure"},
	{0x52, 0x00, "cartridge fault"},
	{0x53, 0x00, "media load or eject failed"},
	{0x53, 0x01, "unload tape failure"},
	{0x53, 0x02, "medium removal prevented"},
	{0x5D, 0x00, "failure prediction threshold exceeded"},
	{0x74, 0x00, "security error"},
	{0x74, 0x01, "unable to decrypt data"},
	{0x74, 0x02, "unencrypted data encountered while decrypting"},
	{0x74, 0x03, "incorrect data encryption key"},
	{0x74, 0x04, "cryptographic integrity validation failed"},
	{0x74, 0x05, "error decrypting data"},
	/* ASC 80h..FFh are vendor specific; this one is what several
	 * libraries (and mhvtl) report for an element whose label the
	 * scanner cannot read */
	{0x83, 0x09, "vendor specific: unable to read the bar code label"},
};

const char *tv_asc_name(uint8_t asc, uint8_t ascq)
{
	for (size_t i = 0; i < sizeof(asc_table) / sizeof(asc_table[0]); i++)
		if (asc_table[i].asc == asc && asc_table[i].ascq == ascq)
			return asc_table[i].text;
	return NULL;
}

char *tv_sense_describe(const struct tv_sense *s, char *buf, size_t sz)
{
	const char *what;
	int n;

	if (buf == NULL || sz == 0)
		return buf;
	if (s == NULL || !s->valid) {
		snprintf(buf, sz, "no usable sense data");
		return buf;
	}
	what = tv_asc_name(s->asc, s->ascq);
	if (what != NULL)
		n = snprintf(buf, sz, "%s%s, %s (ASC/ASCQ %02Xh/%02Xh)",
		             s->deferred ? "deferred " : "", tv_sense_key_name(s->key), what,
		             s->asc, s->ascq);
	else
		n = snprintf(buf, sz, "%s%s, ASC/ASCQ %02Xh/%02Xh", s->deferred ? "deferred " : "",
		             tv_sense_key_name(s->key), s->asc, s->ascq);
	if (n > 0 && (size_t)n < sz && (s->filemark || s->eom || s->ili))
		snprintf(buf + n, sz - (size_t)n, " [%s%s%s]", s->filemark ? "FM" : "",
		         s->eom ? (s->filemark ? " EOM" : "EOM") : "",
		         s->ili ? (s->filemark || s->eom ? " ILI" : "ILI") : "");
	return buf;
}

/* Fixed format: byte 0 VALID|code, 2 FILEMARK|EOM|ILI|key, 3-6
 * INFORMATION, 7 additional length, 8-11 command specific, 12 ASC,
 * 13 ASCQ, 14 FRU, 15-17 sense-key specific. */
static int decode_fixed(struct tv_buf *b, uint8_t b0, struct tv_sense *s)
{
	uint8_t flags, addl = 0;
	uint32_t info;
	struct tv_buf rest;
	int rc;

	s->info_valid = (b0 & 0x80) != 0;
	if ((rc = tv_buf_consume(b, 2)) != 0 || (rc = tv_buf_get_u8(b, &flags)) != 0 ||
	    (rc = tv_buf_get_u32(b, &info)) != 0)
		return tv_errf(TV_ERR_FORMAT, "fixed sense data: %zu bytes, at least 8 needed",
		               tv_buf_tell(b) + tv_buf_avail(b));
	s->filemark = (flags & 0x80) != 0;
	s->eom = (flags & 0x40) != 0;
	s->ili = (flags & 0x20) != 0;
	s->key = flags & 0x0F;
	s->info = (int32_t)info;
	if (tv_buf_get_u8(b, &addl) != 0)
		return 0;       /* 7 bytes: key and flags only */
	/* the additional bytes may have been cut by the sense buffer: take
	 * what is there */
	if (addl > tv_buf_avail(b))
		addl = (uint8_t)tv_buf_avail(b);
	if ((rc = tv_buf_froms(b, &rest, addl)) != 0)
		return rc;
	if (tv_buf_consume(&rest, 4) != 0 || tv_buf_get_u8(&rest, &s->asc) != 0 ||
	    tv_buf_get_u8(&rest, &s->ascq) != 0)
		return 0;
	if (tv_buf_consume(&rest, 1) != 0 || tv_buf_get(&rest, s->sks, 3) != 0)
		return 0;
	s->sks_valid = (s->sks[0] & 0x80) != 0;
	return 0;
}

static int decode_descriptor_item(struct tv_buf *d, struct tv_sense *s)
{
	uint8_t type, len, v;
	struct tv_buf it;
	uint64_t info;
	int rc;

	if ((rc = tv_buf_get_u8(d, &type)) != 0 || (rc = tv_buf_get_u8(d, &len)) != 0)
		return tv_errf(TV_ERR_FORMAT, "descriptor sense data: a descriptor is cut "
		               "short");
	if (tv_buf_froms(d, &it, len) != 0)
		return tv_errf(TV_ERR_FORMAT, "descriptor sense data: descriptor type %02Xh "
		               "claims %u bytes, %zu left", type, len, tv_buf_avail(d));
	switch (type) {
	case 0x00:              /* information: VALID, reserved, 8 bytes */
		if (tv_buf_get_u8(&it, &v) != 0 || tv_buf_consume(&it, 1) != 0 ||
		    tv_buf_get_u64(&it, &info) != 0)
			return tv_errf(TV_ERR_FORMAT, "descriptor sense data: information "
			               "descriptor of %u bytes, 10 needed", len);
		s->info_valid = (v & 0x80) != 0;
		s->info = (int64_t)info;
		break;
	case 0x02:              /* sense key specific: 2 reserved, 3 bytes */
		if (tv_buf_consume(&it, 2) != 0 || tv_buf_get(&it, s->sks, 3) != 0)
			return tv_errf(TV_ERR_FORMAT, "descriptor sense data: sense key "
			               "specific descriptor of %u bytes, 6 needed", len);
		s->sks_valid = (s->sks[0] & 0x80) != 0;
		break;
	case 0x04:              /* stream commands: reserved, FILEMARK|EOM|ILI */
		if (tv_buf_consume(&it, 1) != 0 || tv_buf_get_u8(&it, &v) != 0)
			return tv_errf(TV_ERR_FORMAT, "descriptor sense data: stream commands "
			               "descriptor of %u bytes, 2 needed", len);
		s->filemark = (v & 0x80) != 0;
		s->eom = (v & 0x40) != 0;
		s->ili = (v & 0x20) != 0;
		break;
	default:                /* others: skipped */
		break;
	}
	return 0;
}

/* Descriptor format: byte 1 key, 2 ASC, 3 ASCQ, 7 additional length,
 * descriptors from byte 8 (type, additional length, ...). */
static int decode_descriptor(struct tv_buf *b, struct tv_sense *s)
{
	uint8_t key, addl;
	struct tv_buf d;
	int rc;

	if (tv_buf_consume(b, 1) != 0 || tv_buf_get_u8(b, &key) != 0 ||
	    tv_buf_get_u8(b, &s->asc) != 0 || tv_buf_get_u8(b, &s->ascq) != 0 ||
	    tv_buf_consume(b, 3) != 0 || tv_buf_get_u8(b, &addl) != 0)
		return tv_errf(TV_ERR_FORMAT, "descriptor sense data: %zu bytes, at least 8 "
		               "needed", tv_buf_tell(b) + tv_buf_avail(b));
	s->key = key & 0x0F;
	if (addl > tv_buf_avail(b))
		addl = (uint8_t)tv_buf_avail(b);   /* cut by the sense buffer */
	if ((rc = tv_buf_froms(b, &d, addl)) != 0)
		return rc;
	while (tv_buf_avail(&d) > 0)
		if ((rc = decode_descriptor_item(&d, s)) != 0)
			return rc;
	return 0;
}

int tv_sense_decode(const uint8_t *p, size_t n, struct tv_sense *s)
{
	struct tv_buf b;
	uint8_t b0;
	int rc;

	if (s == NULL)
		return tv_errf(TV_ERR_INVAL, "sense decode: no output");
	memset(s, 0, sizeof(*s));
	if (p == NULL || n == 0)
		return tv_errf(TV_ERR_FORMAT, "no sense data");
	tv_buf_view(&b, p, n);
	if ((rc = tv_buf_peek_u8(&b, 0, &b0)) != 0)
		return rc;
	s->response = b0 & 0x7F;
	switch (s->response) {
	case 0x70:
	case 0x71:
		rc = decode_fixed(&b, b0, s);
		break;
	case 0x72:
	case 0x73:
		rc = decode_descriptor(&b, s);
		break;
	default:
		return tv_errf(TV_ERR_FORMAT, "sense data with response code %02Xh (70h-73h "
		               "expected)", s->response);
	}
	if (rc != 0) {
		memset(s, 0, sizeof(*s));
		return rc;
	}
	s->deferred = s->response == 0x71 || s->response == 0x73;
	s->valid = 1;
	return 0;
}

size_t tv_sense_build_fixed(uint8_t *p, uint8_t key, uint8_t asc, uint8_t ascq,
                            int filemark, int eom, int ili, int info_valid, int32_t info)
{
	memset(p, 0, 18);
	p[0] = (uint8_t)(0x70 | (info_valid ? 0x80 : 0));
	p[2] = (uint8_t)((filemark ? 0x80 : 0) | (eom ? 0x40 : 0) | (ili ? 0x20 : 0) |
	                 (key & 0x0F));
	tv_put_be32(p + 3, (uint32_t)info);
	p[7] = 10;
	p[12] = asc;
	p[13] = ascq;
	return 18;
}
