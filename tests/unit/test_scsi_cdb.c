/* Unit tests: SCSI command blocks, sense data and running commands
 * (src/scsi: cdb.c, sense.c, transport.c).  The expected bytes are laid
 * out field by field from the standards' tables (SPC-4 6.6 INQUIRY, 6.11
 * MODE SELECT(6), 6.13 MODE SENSE(6), 6.6 LOG SENSE, 4.5 sense data,
 * 6.40/6.41 SECURITY PROTOCOL IN/OUT; SSC-4 7.1 LOCATE(16), 7.4 READ
 * BLOCK LIMITS, 7.7 READ POSITION, 6.x READ(6), WRITE(6), SPACE(6),
 * WRITE FILEMARKS(6), LOAD UNLOAD; SMC-3 6.x MOVE MEDIUM, READ ELEMENT
 * STATUS), as drive and library SCSI references print them. */
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/scsi.h"
#include "util/err.h"

#include "testlib.h"

static void expect_hex(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[512];
	size_t wn = tl_unhex(hex, want, sizeof(want));
	char *got = tl_tohex(p, n);

	if (wn != n || memcmp(p, want, n) != 0)
		fail_msg("got %s, expected %s", got, hex);
	free(got);
}

static void test_cdb_builders(void **state)
{
	uint8_t c[TV_CDB_MAX];
	size_t n;

	(void)state;
	n = tv_cdb_test_unit_ready(c);
	expect_hex(c, n, "000000000000");
	n = tv_cdb_inquiry(c, 0, 0, 96);                 /* standard data */
	expect_hex(c, n, "120000006000");
	n = tv_cdb_inquiry(c, 1, 0x80, 255);             /* unit serial number page */
	expect_hex(c, n, "12018000ff00");
	n = tv_cdb_mode_sense6(c, 1, 0x1D, 255);         /* DBD, element address page */
	expect_hex(c, n, "1a081d00ff00");
	n = tv_cdb_mode_select6(c, 12);                  /* PF, header + block descriptor */
	expect_hex(c, n, "151000000c00");
	n = tv_cdb_log_sense(c, 0x31, 64);               /* PC 01b, tape capacity */
	expect_hex(c, n, "4d007100000000004000");
	n = tv_cdb_read_block_limits(c);
	expect_hex(c, n, "050000000000");
	n = tv_cdb_read6(c, 262144, 0);                  /* variable, 256 KiB */
	expect_hex(c, n, "080004000000");
	n = tv_cdb_read6(c, 65536, 1);                   /* SILI */
	expect_hex(c, n, "080201000000");
	n = tv_cdb_write6(c, 262144);
	expect_hex(c, n, "0a0004000000");
	n = tv_cdb_write6(c, 0xFFFFFF);
	expect_hex(c, n, "0a00ffffff00");
	n = tv_cdb_write_filemarks6(c, 1, 1);            /* IMMED */
	expect_hex(c, n, "100100000100");
	n = tv_cdb_write_filemarks6(c, 0, 0);            /* write the buffer */
	expect_hex(c, n, "100000000000");
	n = tv_cdb_space6(c, TV_SPACE_FILEMARKS, -1);    /* 24-bit two's complement */
	expect_hex(c, n, "1101ffffff00");
	n = tv_cdb_space6(c, TV_SPACE_BLOCKS, 3);
	expect_hex(c, n, "110000000300");
	n = tv_cdb_space6(c, TV_SPACE_BLOCKS, -0x800000);
	expect_hex(c, n, "110080000000");
	n = tv_cdb_space6(c, TV_SPACE_EOD, 0);
	expect_hex(c, n, "110300000000");
	n = tv_cdb_locate16(c, TV_LOCATE_FILE, 2);       /* DEST_TYPE 001b */
	expect_hex(c, n, "92080000" "0000000000000002" "00000000");
	n = tv_cdb_locate16(c, TV_LOCATE_OBJECT, 0x123456789AULL);
	expect_hex(c, n, "92000000" "000000123456789a" "00000000");
	n = tv_cdb_read_position(c, TV_RP_LONG);
	expect_hex(c, n, "34060000000000000000");
	n = tv_cdb_read_position(c, TV_RP_SHORT);
	expect_hex(c, n, "34000000000000000000");
	n = tv_cdb_rewind(c, 0);
	expect_hex(c, n, "010000000000");
	n = tv_cdb_load_unload(c, 1, 0);
	expect_hex(c, n, "1b0000000100");
	n = tv_cdb_load_unload(c, 0, 1);
	expect_hex(c, n, "1b0100000000");
	n = tv_cdb_init_element_status(c);
	expect_hex(c, n, "070000000000");
	n = tv_cdb_read_element_status(c, TV_ELEM_ALL, 1, 0, 0xFFFF, 0, 0x1000);
	expect_hex(c, n, "b8100000ffff000010000000");
	n = tv_cdb_read_element_status(c, TV_ELEM_DATA_TRANSFER, 0, 0x1F4, 2, 1, 0xFFFFFF);
	expect_hex(c, n, "b80401f4000201ffffff0000");
	n = tv_cdb_move_medium(c, 0x0001, 0x0400, 0x0100);
	expect_hex(c, n, "a50000010400010000000000");
	n = tv_cdb_security_in(c, 0x20, 0x0010, 0x2000);
	expect_hex(c, n, "a220001000000000200000" "00");
	n = tv_cdb_security_out(c, 0x20, 0x0010, 0x34);
	expect_hex(c, n, "b520001000000000003400" "00");
}

static void test_cdb_len(void **state)
{
	(void)state;
	assert_int_equal(tv_cdb_len(TV_OP_READ6), 6);          /* group 0 */
	assert_int_equal(tv_cdb_len(TV_OP_READ_POSITION), 10); /* group 1 */
	assert_int_equal(tv_cdb_len(TV_OP_LOG_SENSE), 10);     /* group 2 */
	assert_int_equal(tv_cdb_len(TV_OP_LOCATE16), 16);      /* group 4 */
	assert_int_equal(tv_cdb_len(TV_OP_MOVE_MEDIUM), 12);   /* group 5 */
	assert_int_equal(tv_cdb_len(0xC0), 0);                 /* vendor specific */
	assert_int_equal(tv_cdb_len(0x60), 0);                 /* reserved group 3 */
}

static void test_cdb_decoders(void **state)
{
	uint8_t c[TV_CDB_MAX];
	struct tv_cdb_rw rw;
	struct tv_cdb_space sp;
	struct tv_cdb_locate lo;
	struct tv_cdb_res res;
	struct tv_cdb_move mv;
	struct tv_cdb_security sec;
	uint32_t v;
	int immed;
	size_t n;

	(void)state;
	n = tv_cdb_read6(c, 4096, 1);
	assert_int_equal(tv_cdb_get_rw(c, n, &rw), 0);
	assert_int_equal(rw.len, 4096);
	assert_true(rw.sili);
	assert_false(rw.fixed);
	n = tv_cdb_space6(c, TV_SPACE_BLOCKS, -5);
	assert_int_equal(tv_cdb_get_space(c, n, &sp), 0);
	assert_int_equal(sp.code, TV_SPACE_BLOCKS);
	assert_int_equal(sp.count, -5);
	n = tv_cdb_space6(c, TV_SPACE_FILEMARKS, 0x7FFFFF);
	assert_int_equal(tv_cdb_get_space(c, n, &sp), 0);
	assert_int_equal(sp.count, 0x7FFFFF);
	n = tv_cdb_locate16(c, TV_LOCATE_FILE, 7);
	assert_int_equal(tv_cdb_get_locate(c, n, &lo), 0);
	assert_int_equal(lo.dest_type, TV_LOCATE_FILE);
	assert_int_equal(lo.id, 7);
	n = tv_cdb_read_element_status(c, TV_ELEM_STORAGE, 1, 0x400, 10, 0, 4096);
	assert_int_equal(tv_cdb_get_res(c, n, &res), 0);
	assert_int_equal(res.type, TV_ELEM_STORAGE);
	assert_true(res.voltag);
	assert_int_equal(res.start, 0x400);
	assert_int_equal(res.count, 10);
	assert_int_equal(res.alloc, 4096);
	n = tv_cdb_move_medium(c, 1, 0x400, 0x100);
	assert_int_equal(tv_cdb_get_move(c, n, &mv), 0);
	assert_int_equal(mv.transport, 1);
	assert_int_equal(mv.src, 0x400);
	assert_int_equal(mv.dst, 0x100);
	n = tv_cdb_security_out(c, 0x20, 0x10, 52);
	assert_int_equal(tv_cdb_get_security(c, n, &sec), 0);
	assert_int_equal(sec.protocol, 0x20);
	assert_int_equal(sec.page, 0x10);
	assert_int_equal(sec.len, 52);
	n = tv_cdb_write_filemarks6(c, 3, 1);
	assert_int_equal(tv_cdb_get_filemarks(c, n, &v, &immed), 0);
	assert_int_equal(v, 3);
	assert_true(immed);
	n = tv_cdb_log_sense(c, 0x31, 64);
	assert_int_equal(tv_cdb_get_alloc(c, n, &v), 0);
	assert_int_equal(v, 64);
	/* refused: wrong opcode, wrong length */
	n = tv_cdb_write6(c, 10);
	assert_int_equal(tv_cdb_get_space(c, n, &sp), TV_ERR_FORMAT);
	assert_int_equal(tv_cdb_get_rw(c, 5, &rw), TV_ERR_FORMAT);
	n = tv_cdb_locate16(c, 0, 0);
	assert_int_equal(tv_cdb_get_locate(c, 10, &lo), TV_ERR_FORMAT);
	assert_int_equal(tv_cdb_get_alloc(c, n, &v), TV_ERR_FORMAT);
}

/* ---- sense data ---- */

static struct tv_sense decode_hex(const char *hex)
{
	uint8_t b[TV_SENSE_MAX];
	struct tv_sense s;
	size_t n = tl_unhex(hex, b, sizeof(b));

	assert_int_equal(tv_sense_decode(b, n, &s), 0);
	assert_true(s.valid);
	return s;
}

static void test_sense_fixed(void **state)
{
	struct tv_sense s;
	char text[200];

	(void)state;
	/* READ(6) of 262144 bytes met a filemark: NO SENSE, FILEMARK, VALID,
	 * INFORMATION = the residue, 00h/01h */
	s = decode_hex("f00080" "00040000" "0a" "00000000" "0001" "00" "000000");
	assert_int_equal(s.response, 0x70);
	assert_int_equal(s.key, TV_SK_NO_SENSE);
	assert_true(s.filemark);
	assert_false(s.eom);
	assert_true(s.info_valid);
	assert_int_equal(s.info, 262144);
	assert_int_equal(s.asc, 0x00);
	assert_int_equal(s.ascq, 0x01);
	/* a 4096-byte record read with 8192: ILI, residue +4096 */
	s = decode_hex("f00020" "00001000" "0a" "00000000" "0000" "00" "000000");
	assert_true(s.ili);
	assert_int_equal(s.info, 4096);
	/* a 12288-byte record read with 8192: ILI, residue -4096 */
	s = decode_hex("f00020" "fffff000" "0a" "00000000" "0000" "00" "000000");
	assert_int_equal(s.info, -4096);
	/* end of data: BLANK CHECK, 00h/05h */
	s = decode_hex("700008" "00000000" "0a" "00000000" "0005" "00" "000000");
	assert_int_equal(s.key, TV_SK_BLANK_CHECK);
	assert_false(s.info_valid);
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "BLANK CHECK, end-of-data detected (ASC/ASCQ 00h/05h)");
	/* a write past early warning: NO SENSE, EOM, 00h/02h */
	s = decode_hex("700040" "00000000" "0a" "00000000" "0002" "00" "000000");
	assert_true(s.eom);
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "NO SENSE, end-of-partition/medium detected (ASC/ASCQ 00h/02h) [EOM]");
	/* a write error */
	s = decode_hex("700003" "00000000" "0a" "00000000" "0c00" "00" "000000");
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "MEDIUM ERROR, write error (ASC/ASCQ 0Ch/00h)");
	/* an encrypted block read without its key */
	s = decode_hex("700007" "00000000" "0a" "00000000" "7401" "00" "000000");
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "DATA PROTECT, unable to decrypt data (ASC/ASCQ 74h/01h)");
	/* a mechanical fault of a changer, with sense-key specific bytes */
	s = decode_hex("700004" "00000000" "0a" "00000000" "1501" "00" "800012");
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "HARDWARE ERROR, mechanical positioning error (ASC/ASCQ 15h/01h)");
	assert_true(s.sks_valid);
	/* deferred error (71h) */
	s = decode_hex("710003" "00000000" "0a" "00000000" "0c00" "00" "000000");
	assert_true(s.deferred);
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "deferred MEDIUM ERROR, write error (ASC/ASCQ 0Ch/00h)");
	/* an unknown ASC: the numbers */
	s = decode_hex("700005" "00000000" "0a" "00000000" "9942" "00" "000000");
	assert_null(tv_asc_name(0x99, 0x42));
	assert_string_equal(tv_sense_describe(&s, text, sizeof(text)),
	                    "ILLEGAL REQUEST, ASC/ASCQ 99h/42h");
	/* cut by a small sense buffer: key and flags only */
	s = decode_hex("700002" "00000000");
	assert_int_equal(s.key, TV_SK_NOT_READY);
	assert_int_equal(s.asc, 0);
	/* additional length beyond the buffer: what is there */
	s = decode_hex("700006" "00000000" "ff" "00000000" "2800");
	assert_int_equal(s.key, TV_SK_UNIT_ATTENTION);
	assert_int_equal(s.asc, 0x28);
}

static void test_sense_descriptor(void **state)
{
	struct tv_sense s;

	(void)state;
	/* descriptor format: MEDIUM ERROR 11h/00h; an information descriptor
	 * (type 00h, VALID, 8 bytes) and a stream commands descriptor (type
	 * 04h: FILEMARK, ILI) */
	s = decode_hex("72031100000000" "10"
	               "000a" "8000" "0000000000001234"
	               "0402" "00a0");
	assert_int_equal(s.response, 0x72);
	assert_int_equal(s.key, TV_SK_MEDIUM_ERROR);
	assert_int_equal(s.asc, 0x11);
	assert_true(s.info_valid);
	assert_int_equal(s.info, 0x1234);
	assert_true(s.filemark);
	assert_true(s.ili);
	assert_false(s.eom);
	/* a descriptor type it does not know is passed over */
	s = decode_hex("72050000000000" "06" "8004" "01020304");
	assert_int_equal(s.key, TV_SK_ILLEGAL_REQUEST);
}

static void test_sense_hostile(void **state)
{
	uint8_t b[64];
	struct tv_sense s;
	size_t n;

	(void)state;
	assert_int_equal(tv_sense_decode(NULL, 0, &s), TV_ERR_FORMAT);
	n = tl_unhex("7e0000000000", b, sizeof(b));            /* vendor-specific format */
	assert_int_equal(tv_sense_decode(b, n, &s), TV_ERR_FORMAT);
	assert_false(s.valid);
	n = tl_unhex("7000", b, sizeof(b));                    /* too short */
	assert_int_equal(tv_sense_decode(b, n, &s), TV_ERR_FORMAT);
	n = tl_unhex("7203110000000004" "000a8000", b, sizeof(b));  /* descriptor cut */
	assert_int_equal(tv_sense_decode(b, n, &s), TV_ERR_FORMAT);
	n = tl_unhex("7203110000000002" "0001", b, sizeof(b));  /* information too short */
	assert_int_equal(tv_sense_decode(b, n, &s), TV_ERR_FORMAT);
}

static void test_sense_names_and_build(void **state)
{
	uint8_t b[32];
	struct tv_sense s;
	size_t n;

	(void)state;
	assert_string_equal(tv_sense_key_name(TV_SK_VOLUME_OVERFLOW), "VOLUME OVERFLOW");
	assert_string_equal(tv_sense_key_name(0x13), "MEDIUM ERROR");   /* low nibble */
	assert_string_equal(tv_asc_name(0x3B, 0x0E), "medium source element empty");
	assert_string_equal(tv_asc_name(0x53, 0x02), "medium removal prevented");
	n = tv_sense_build_fixed(b, TV_SK_NO_SENSE, 0x00, 0x01, 1, 0, 0, 1, 512);
	expect_hex(b, n, "f00080" "00000200" "0a" "00000000" "0001" "00" "000000");
	assert_int_equal(tv_sense_decode(b, n, &s), 0);
	assert_true(s.filemark);
	assert_int_equal(s.info, 512);
}

/* ---- tv_scsi_run against a scripted device ---- */

struct script {
	struct tv_scsi_transport base;
	const int *status;        /* per call */
	const char *const *sense; /* per call, hex or NULL */
	int calls;
};

static int script_exec(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
                       enum tv_scsi_dir dir, void *buf, size_t len, size_t *resid,
                       uint8_t *sense, size_t *sense_len, unsigned timeout_ms)
{
	struct script *s = (struct script *)tr;
	int i = s->calls++;

	(void)cdb; (void)cdb_len; (void)dir; (void)buf; (void)timeout_ms;
	*resid = len;
	*sense_len = s->sense[i] != NULL ? tl_unhex(s->sense[i], sense, TV_SENSE_MAX) : 0;
	return s->status[i];
}

static void script_close(struct tv_scsi_transport *tr)
{
	(void)tr;
}

static const struct tv_scsi_transport_ops script_ops = { script_exec, script_close };

static void test_run(void **state)
{
	static const int ua_then_good[] = { 2, 2, 0 };
#define UA28 "700006000000000a000000002800000000"
	static const char *const ua_sense[] = { UA28, "700006000000000a000000002900000000", NULL };
	static const int ua_forever[] = { 2, 2, 2 };
	static const char *const ua3[] = { UA28, UA28, UA28 };
	static const int busy[] = { 8 };
	static const char *const none[] = { NULL };
	static const int check[] = { 2 };
	static const char *const media[] = { "700003000000000a000000000c00000000" };
	struct script s = { { &script_ops, "scripted", 0 }, ua_then_good, ua_sense, 0 };
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_test_unit_ready(cdb);

	(void)state;
	/* a unit attention (medium changed, then reset) is run again */
	assert_int_equal(tv_scsi_run(&s.base, cdb, n, TV_SCSI_NONE, NULL, 0, 1000, &res), 0);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.base.commands, 3);
	/* but not forever */
	s.status = ua_forever;
	s.sense = ua3;
	s.calls = 0;
	assert_int_equal(tv_scsi_run(&s.base, cdb, n, TV_SCSI_NONE, NULL, 0, 1000, &res),
	                 TV_SCSI_CHECK);
	assert_int_equal(s.calls, 3);
	assert_int_equal(res.sense.key, TV_SK_UNIT_ATTENTION);
	/* BUSY */
	s.status = busy;
	s.sense = none;
	s.calls = 0;
	assert_int_equal(tv_scsi_run(&s.base, cdb, n, TV_SCSI_NONE, NULL, 0, 1000, &res),
	                 TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "scripted"));
	/* CHECK CONDITION: decoded, and the detail tv_scsi_errf makes of it */
	s.status = check;
	s.sense = media;
	s.calls = 0;
	assert_int_equal(tv_scsi_run(&s.base, cdb, n, TV_SCSI_NONE, NULL, 0, 1000, &res),
	                 TV_SCSI_CHECK);
	assert_true(res.has_sense);
	assert_int_equal(tv_scsi_errf(TV_ERR_IO, &s.base, cdb, n, &res), TV_ERR_IO);
	assert_string_equal(tv_errmsg(TV_ERR_IO), "scripted: TEST UNIT READY failed: MEDIUM "
	                    "ERROR, write error (ASC/ASCQ 0Ch/00h)");
	assert_string_equal(tv_scsi_cmd_name(cdb, n), "TEST UNIT READY");
}

static void test_sg_open_missing(void **state)
{
	struct tv_scsi_transport *tr = NULL;

	(void)state;
	assert_int_equal(tv_scsi_sg_open("/dev/sg-tapevault-test-none", &tr), TV_ERR_NOTFOUND);
	assert_null(tr);
	assert_non_null(strstr(tv_errdetail(), "lsscsi"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cdb_builders),
		cmocka_unit_test(test_cdb_len),
		cmocka_unit_test(test_cdb_decoders),
		cmocka_unit_test(test_sense_fixed),
		cmocka_unit_test(test_sense_descriptor),
		cmocka_unit_test(test_sense_hostile),
		cmocka_unit_test(test_sense_names_and_build),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_sg_open_missing),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
