/* tapevault: CDB builders and decoders (see cdb.h). */
#include "scsi/cdb.h"

#include "util/buf.h"
#include "util/err.h"

#include <string.h>

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static size_t six(uint8_t *cdb, uint8_t op)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = op;
	return 6;
}

size_t tv_cdb_test_unit_ready(uint8_t *cdb)
{
	return six(cdb, TV_OP_TEST_UNIT_READY);
}

size_t tv_cdb_inquiry(uint8_t *cdb, int evpd, uint8_t page, uint16_t alloc)
{
	six(cdb, TV_OP_INQUIRY);
	cdb[1] = evpd ? 0x01 : 0;
	cdb[2] = evpd ? page : 0;
	tv_put_be16(cdb + 3, alloc);
	return 6;
}

size_t tv_cdb_mode_sense6(uint8_t *cdb, int dbd, uint8_t page, uint8_t alloc)
{
	six(cdb, TV_OP_MODE_SENSE6);
	cdb[1] = dbd ? 0x08 : 0;
	cdb[2] = page & 0x3F;        /* PC 00b: current values */
	cdb[4] = alloc;
	return 6;
}

size_t tv_cdb_mode_select6(uint8_t *cdb, uint8_t param_len)
{
	six(cdb, TV_OP_MODE_SELECT6);
	cdb[1] = 0x10;               /* PF: the parameters follow SPC */
	cdb[4] = param_len;
	return 6;
}

size_t tv_cdb_log_sense(uint8_t *cdb, uint8_t page, uint16_t alloc)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = TV_OP_LOG_SENSE;
	cdb[2] = (uint8_t)(0x40 | (page & 0x3F));   /* PC 01b: current cumulative */
	tv_put_be16(cdb + 7, alloc);
	return 10;
}

size_t tv_cdb_read_block_limits(uint8_t *cdb)
{
	return six(cdb, TV_OP_READ_BLOCK_LIMITS);
}

size_t tv_cdb_read6(uint8_t *cdb, uint32_t len, int sili)
{
	six(cdb, TV_OP_READ6);
	cdb[1] = sili ? 0x02 : 0;    /* FIXED 0: variable block mode */
	put24(cdb + 2, len);
	return 6;
}

size_t tv_cdb_write6(uint8_t *cdb, uint32_t len)
{
	six(cdb, TV_OP_WRITE6);
	put24(cdb + 2, len);
	return 6;
}

size_t tv_cdb_write_filemarks6(uint8_t *cdb, uint32_t count, int immed)
{
	six(cdb, TV_OP_WRITE_FILEMARKS6);
	cdb[1] = immed ? 0x01 : 0;
	put24(cdb + 2, count);
	return 6;
}

size_t tv_cdb_space6(uint8_t *cdb, int code, int32_t count)
{
	six(cdb, TV_OP_SPACE6);
	cdb[1] = (uint8_t)(code & 0x0F);
	put24(cdb + 2, (uint32_t)count & 0xFFFFFFu);
	return 6;
}

size_t tv_cdb_locate16(uint8_t *cdb, int dest_type, uint64_t id)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = TV_OP_LOCATE16;
	cdb[1] = (uint8_t)((dest_type & 0x07) << 3);
	tv_put_be64(cdb + 4, id);
	return 16;
}

size_t tv_cdb_read_position(uint8_t *cdb, uint8_t form)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = TV_OP_READ_POSITION;
	cdb[1] = form & 0x1F;
	return 10;
}

size_t tv_cdb_rewind(uint8_t *cdb, int immed)
{
	six(cdb, TV_OP_REWIND);
	cdb[1] = immed ? 0x01 : 0;
	return 6;
}

size_t tv_cdb_erase6(uint8_t *cdb, int long_erase, int immed)
{
	six(cdb, TV_OP_ERASE6);
	cdb[1] = (uint8_t)((long_erase ? 0x01 : 0) | (immed ? 0x02 : 0));
	return 6;
}

size_t tv_cdb_load_unload(uint8_t *cdb, int load, int immed)
{
	six(cdb, TV_OP_LOAD_UNLOAD);
	cdb[1] = immed ? 0x01 : 0;
	cdb[4] = load ? 0x01 : 0;
	return 6;
}

size_t tv_cdb_init_element_status(uint8_t *cdb)
{
	return six(cdb, TV_OP_INIT_ELEMENT_STATUS);
}

size_t tv_cdb_read_element_status(uint8_t *cdb, int type, int voltag, uint16_t start,
                                  uint16_t count, int dvcid, uint32_t alloc)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = TV_OP_READ_ELEMENT_STATUS;
	cdb[1] = (uint8_t)((voltag ? 0x10 : 0) | (type & 0x0F));
	tv_put_be16(cdb + 2, start);
	tv_put_be16(cdb + 4, count);
	cdb[6] = dvcid ? 0x01 : 0;
	put24(cdb + 7, alloc);
	return 12;
}

size_t tv_cdb_move_medium(uint8_t *cdb, uint16_t transport, uint16_t src, uint16_t dst)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = TV_OP_MOVE_MEDIUM;
	tv_put_be16(cdb + 2, transport);
	tv_put_be16(cdb + 4, src);
	tv_put_be16(cdb + 6, dst);
	return 12;
}

static size_t security(uint8_t *cdb, uint8_t op, uint8_t protocol, uint16_t page,
                       uint32_t len)
{
	memset(cdb, 0, TV_CDB_MAX);
	cdb[0] = op;
	cdb[1] = protocol;
	tv_put_be16(cdb + 2, page);
	tv_put_be32(cdb + 6, len);
	return 12;
}

size_t tv_cdb_security_in(uint8_t *cdb, uint8_t protocol, uint16_t page, uint32_t alloc)
{
	return security(cdb, TV_OP_SECURITY_IN, protocol, page, alloc);
}

size_t tv_cdb_security_out(uint8_t *cdb, uint8_t protocol, uint16_t page, uint32_t len)
{
	return security(cdb, TV_OP_SECURITY_OUT, protocol, page, len);
}

/* ---- decoding ---- */

size_t tv_cdb_len(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0: return 6;
	case 1: case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	default: return 0;
	}
}

/* A view of the CDB after checking its opcode and length. */
static int cdb_view(const uint8_t *cdb, size_t n, uint8_t op, struct tv_buf *b)
{
	size_t want = tv_cdb_len(op);

	if (cdb == NULL || n < 1 || cdb[0] != op)
		return tv_errf(TV_ERR_FORMAT, "CDB: opcode %02Xh expected", op);
	if (n != want)
		return tv_errf(TV_ERR_FORMAT, "CDB %02Xh: %zu bytes, %zu expected", op, n, want);
	tv_buf_view(b, cdb, n);
	return tv_buf_consume(b, 1);
}

static int get24(struct tv_buf *b, uint32_t *v)
{
	uint8_t x[3];
	int rc = tv_buf_get(b, x, 3);

	if (rc == 0)
		*v = (uint32_t)x[0] << 16 | (uint32_t)x[1] << 8 | x[2];
	return rc;
}

int tv_cdb_get_rw(const uint8_t *cdb, size_t n, struct tv_cdb_rw *rw)
{
	struct tv_buf b;
	uint8_t f;
	int rc;

	memset(rw, 0, sizeof(*rw));
	if (n < 1 || (cdb[0] != TV_OP_READ6 && cdb[0] != TV_OP_WRITE6))
		return tv_errf(TV_ERR_FORMAT, "CDB: not READ(6) or WRITE(6)");
	if ((rc = cdb_view(cdb, n, cdb[0], &b)) != 0 || (rc = tv_buf_get_u8(&b, &f)) != 0 ||
	    (rc = get24(&b, &rw->len)) != 0)
		return rc;
	rw->fixed = f & 0x01;
	rw->sili = (f & 0x02) != 0;
	return 0;
}

int tv_cdb_get_space(const uint8_t *cdb, size_t n, struct tv_cdb_space *sp)
{
	struct tv_buf b;
	uint8_t f;
	uint32_t c;
	int rc;

	memset(sp, 0, sizeof(*sp));
	if ((rc = cdb_view(cdb, n, TV_OP_SPACE6, &b)) != 0 || (rc = tv_buf_get_u8(&b, &f)) != 0 ||
	    (rc = get24(&b, &c)) != 0)
		return rc;
	sp->code = f & 0x0F;
	sp->count = (c & 0x800000u) ? (int32_t)c - 0x1000000 : (int32_t)c;
	return 0;
}

int tv_cdb_get_locate(const uint8_t *cdb, size_t n, struct tv_cdb_locate *lo)
{
	struct tv_buf b;
	uint8_t f;
	int rc;

	memset(lo, 0, sizeof(*lo));
	if ((rc = cdb_view(cdb, n, TV_OP_LOCATE16, &b)) != 0 || (rc = tv_buf_get_u8(&b, &f)) != 0 ||
	    (rc = tv_buf_consume(&b, 1)) != 0 || (rc = tv_buf_get_u8(&b, &lo->partition)) != 0 ||
	    (rc = tv_buf_get_u64(&b, &lo->id)) != 0)
		return rc;
	lo->dest_type = (f >> 3) & 0x07;
	lo->cp = (f & 0x02) != 0;
	lo->immed = f & 0x01;
	return 0;
}

int tv_cdb_get_res(const uint8_t *cdb, size_t n, struct tv_cdb_res *res)
{
	struct tv_buf b;
	uint8_t f, g;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = cdb_view(cdb, n, TV_OP_READ_ELEMENT_STATUS, &b)) != 0 ||
	    (rc = tv_buf_get_u8(&b, &f)) != 0 || (rc = tv_buf_get_u16(&b, &res->start)) != 0 ||
	    (rc = tv_buf_get_u16(&b, &res->count)) != 0 || (rc = tv_buf_get_u8(&b, &g)) != 0 ||
	    (rc = get24(&b, &res->alloc)) != 0)
		return rc;
	res->voltag = (f & 0x10) != 0;
	res->type = f & 0x0F;
	res->curdata = (g & 0x02) != 0;
	res->dvcid = g & 0x01;
	return 0;
}

int tv_cdb_get_move(const uint8_t *cdb, size_t n, struct tv_cdb_move *mv)
{
	struct tv_buf b;
	uint8_t f;
	int rc;

	memset(mv, 0, sizeof(*mv));
	if ((rc = cdb_view(cdb, n, TV_OP_MOVE_MEDIUM, &b)) != 0 || (rc = tv_buf_consume(&b, 1)) ||
	    (rc = tv_buf_get_u16(&b, &mv->transport)) != 0 ||
	    (rc = tv_buf_get_u16(&b, &mv->src)) != 0 || (rc = tv_buf_get_u16(&b, &mv->dst)) != 0 ||
	    (rc = tv_buf_consume(&b, 2)) != 0 || (rc = tv_buf_get_u8(&b, &f)) != 0)
		return rc;
	mv->invert = f & 0x01;
	return 0;
}

int tv_cdb_get_security(const uint8_t *cdb, size_t n, struct tv_cdb_security *sec)
{
	struct tv_buf b;
	uint8_t f;
	int rc;

	memset(sec, 0, sizeof(*sec));
	if (n < 1 || (cdb[0] != TV_OP_SECURITY_IN && cdb[0] != TV_OP_SECURITY_OUT))
		return tv_errf(TV_ERR_FORMAT, "CDB: not SECURITY PROTOCOL IN or OUT");
	if ((rc = cdb_view(cdb, n, cdb[0], &b)) != 0 ||
	    (rc = tv_buf_get_u8(&b, &sec->protocol)) != 0 ||
	    (rc = tv_buf_get_u16(&b, &sec->page)) != 0 || (rc = tv_buf_get_u8(&b, &f)) != 0 ||
	    (rc = tv_buf_consume(&b, 1)) != 0 || (rc = tv_buf_get_u32(&b, &sec->len)) != 0)
		return rc;
	sec->inc512 = (f & 0x80) != 0;
	return 0;
}

int tv_cdb_get_alloc(const uint8_t *cdb, size_t n, uint32_t *alloc)
{
	*alloc = 0;
	if (n < 1 || n != tv_cdb_len(cdb[0]))
		return tv_errf(TV_ERR_FORMAT, "CDB: bad length");
	switch (cdb[0]) {
	case TV_OP_INQUIRY:
		*alloc = tv_get_be16(cdb + 3);
		return 0;
	case TV_OP_MODE_SENSE6:
		*alloc = cdb[4];
		return 0;
	case TV_OP_LOG_SENSE:
	case TV_OP_READ_POSITION:
		*alloc = tv_get_be16(cdb + 7);
		return 0;
	default:
		return tv_errf(TV_ERR_FORMAT, "CDB %02Xh has no allocation length", cdb[0]);
	}
}

int tv_cdb_get_filemarks(const uint8_t *cdb, size_t n, uint32_t *count, int *immed)
{
	struct tv_buf b;
	uint8_t f;
	int rc;

	*count = 0;
	*immed = 0;
	if ((rc = cdb_view(cdb, n, TV_OP_WRITE_FILEMARKS6, &b)) != 0 ||
	    (rc = tv_buf_get_u8(&b, &f)) != 0 || (rc = get24(&b, count)) != 0)
		return rc;
	*immed = f & 0x01;
	return 0;
}
