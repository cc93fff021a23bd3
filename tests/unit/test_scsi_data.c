/* Unit tests: SCSI parameter data (src/scsi/data.c), decoded from byte
 * strings laid out field by field from the standards' tables (SPC-4 6.6.2
 * standard INQUIRY data, 7.8.x VPD 80h, 7.5.4 mode parameter header and
 * block descriptor, 7.3 log page; SSC-4 7.4 READ BLOCK LIMITS, 7.7 READ
 * POSITION short and long forms, 8.2.3 tape capacity log page, 8.5.2
 * data encryption capabilities, set data encryption, data encryption
 * status and next block encryption status pages; SMC-3 6.10 element
 * status data and pages, 7.3.3 element address assignment page), then
 * built back where tapevault builds them (the emulator). */
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/data.h"
#include "util/buf.h"
#include "util/err.h"

#include "testlib.h"

/* A byte string from pieces: hex, or 'a'-prefixed ASCII padded with
 * spaces to a width ("a8:IBM"). */
static size_t bytes(uint8_t *out, size_t cap, const char *const *parts)
{
	size_t n = 0;

	for (; *parts != NULL; parts++) {
		const char *p = *parts;
		if (p[0] == 'a') {
			char *end;
			long w = strtol(p + 1, &end, 10);
			size_t l = strlen(end + 1);
			assert_true(*end == ':' && n + (size_t)w <= cap && l <= (size_t)w);
			memset(out + n, ' ', (size_t)w);
			memcpy(out + n, end + 1, l);
			n += (size_t)w;
		} else {
			n += tl_unhex(p, out + n, cap - n);
		}
	}
	return n;
}

static void expect_buf(const struct tv_buf *b, const uint8_t *want, size_t n)
{
	char *got = tl_tohex(tv_buf_ptr(b), tv_buf_avail(b)), *w = tl_tohex(want, n);

	if (tv_buf_avail(b) != n || memcmp(tv_buf_ptr(b), want, n) != 0)
		fail_msg("built %s, expected %s", got, w);
	free(got);
	free(w);
}

static void test_inquiry(void **state)
{
	static const char *const lto[] = { "0180060259000000", "a8:IBM", "a16:ULT3580-TD9",
	                                   "a4:R3C0", NULL };
	static const char *const changer[] = { "0880050259000000", "a8:HP", "a16:MSL G3 Series",
	                                       "a4:E.00", NULL };
	struct tv_scsi_inquiry q;
	struct tv_buf b;
	uint8_t d[96];
	size_t n;
	char serial[32];

	(void)state;
	n = bytes(d, sizeof(d), lto);
	assert_int_equal(tv_scsi_parse_inquiry(d, n, &q), 0);
	assert_int_equal(q.type, TV_SCSI_TYPE_TAPE);
	assert_int_equal(q.qualifier, 0);
	assert_true(q.removable);
	assert_int_equal(q.version, 6);
	assert_string_equal(q.vendor, "IBM");
	assert_string_equal(q.product, "ULT3580-TD9");
	assert_string_equal(q.revision, "R3C0");
	n = bytes(d, sizeof(d), changer);
	assert_int_equal(tv_scsi_parse_inquiry(d, n, &q), 0);
	assert_int_equal(q.type, TV_SCSI_TYPE_CHANGER);
	assert_string_equal(q.product, "MSL G3 Series");
	/* 5 bytes: the type, no identification; 4: refused */
	n = tl_unhex("0180060200", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_inquiry(d, n, &q), 0);
	assert_string_equal(q.vendor, "");
	assert_int_equal(tv_scsi_parse_inquiry(d, 4, &q), TV_ERR_FORMAT);
	/* built: 36 bytes, additional length 31 */
	n = bytes(d, sizeof(d), changer);
	assert_int_equal(tv_scsi_parse_inquiry(d, n, &q), 0);
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_inquiry(&b, &q), 0);
	n = bytes(d, sizeof(d), (const char *const[]){ "088005021f000000", "a8:HP",
	                                                "a16:MSL G3 Series", "a4:E.00", NULL });
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	/* unit serial number page */
	n = bytes(d, sizeof(d), (const char *const[]){ "0180000a", "a10:1097000153", NULL });
	assert_int_equal(tv_scsi_parse_serial(d, n, serial, sizeof(serial)), 0);
	assert_string_equal(serial, "1097000153");
	d[1] = 0x83;
	assert_int_equal(tv_scsi_parse_serial(d, n, serial, sizeof(serial)), TV_ERR_FORMAT);
}

static void test_block_limits(void **state)
{
	struct tv_block_limits bl;
	struct tv_buf b;
	uint8_t d[8];
	size_t n;

	(void)state;
	n = tl_unhex("00ffffff0001", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_block_limits(d, n, &bl), 0);
	assert_int_equal(bl.max_len, 0xFFFFFF);
	assert_int_equal(bl.min_len, 1);
	n = tl_unhex("0080000000"/*max 8 MiB*/ "01", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_block_limits(d, n, &bl), 0);
	assert_int_equal(bl.max_len, 0x800000);
	n = tl_unhex("000000100020", d, sizeof(d));          /* min above max */
	assert_int_equal(tv_scsi_parse_block_limits(d, n, &bl), TV_ERR_FORMAT);
	assert_int_equal(tv_scsi_parse_block_limits(d, 5, &bl), TV_ERR_FORMAT);
	bl.granularity = 0;
	bl.max_len = 0x40000;
	bl.min_len = 1;
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_block_limits(&b, &bl), 0);
	n = tl_unhex("000400000001", d, sizeof(d));
	expect_buf(&b, d, n);
	tv_buf_free(&b);
}

static void test_mode_pages(void **state)
{
	struct tv_mode6 m;
	struct tv_element_map em;
	struct tv_buf b;
	uint8_t d[64];
	size_t n;

	(void)state;
	/* a tape drive: buffered mode 1, LTO-7 density, variable blocks */
	n = tl_unhex("0b001008" "5c000000000000" "00", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_mode6(d, n, &m), 0);
	assert_false(m.wp);
	assert_int_equal(m.buffered, 1);
	assert_true(m.has_bd);
	assert_int_equal(m.density, 0x5C);
	assert_int_equal(m.block_len, 0);
	/* write protected, fixed 1024-byte blocks */
	n = tl_unhex("0b009008" "5c000000000004" "00", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_mode6(d, n, &m), 0);
	assert_true(m.wp);
	assert_int_equal(m.block_len, 0x400);
	/* MODE SELECT back to variable: mode data length 0 */
	m.block_len = 0;
	m.wp = 0;
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_mode6(&b, &m, NULL, 0, 1), 0);
	n = tl_unhex("00001008" "5c000000000000" "00", d, sizeof(d));
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	/* a changer's element address assignment page (no block descriptor) */
	n = tl_unhex("17000000" "1d12" "0001" "0001" "03e8" "0014" "000a" "0002" "01f4" "0002"
	             "0000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_mode6(d, n, &m), 0);
	assert_false(m.has_bd);
	assert_int_equal(m.pages_off, 4);
	assert_int_equal(m.pages_len, 20);
	assert_int_equal(tv_scsi_parse_element_map(d + m.pages_off, m.pages_len, &em), 0);
	assert_int_equal(em.transport_first, 1);
	assert_int_equal(em.storage_first, 1000);
	assert_int_equal(em.storage_n, 20);
	assert_int_equal(em.ie_first, 10);
	assert_int_equal(em.ie_n, 2);
	assert_int_equal(em.drive_first, 500);
	assert_int_equal(em.drive_n, 2);
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_element_map(&b, &em), 0);
	expect_buf(&b, d + 4, 20);
	tv_buf_free(&b);
	/* after another page; a list without it */
	n = tl_unhex("1e020000" "1d12" "0001000103e80014000a000201f400020000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_element_map(d, n, &em), 0);
	assert_int_equal(em.drive_first, 500);
	assert_int_equal(tv_scsi_parse_element_map(d, 4, &em), TV_ERR_FORMAT);
	n = tl_unhex("1d12" "0001", d, sizeof(d));           /* cut */
	assert_int_equal(tv_scsi_parse_element_map(d, n, &em), TV_ERR_FORMAT);
	/* a block descriptor length of 4: refused */
	n = tl_unhex("07000004" "00000000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_mode6(d, n, &m), TV_ERR_FORMAT);
}

/* One element descriptor of dlen bytes (12 + a 36-byte volume tag +
 * padding up to dlen). */
static size_t desc(uint8_t *p, size_t dlen, uint16_t addr, uint8_t flags, uint8_t asc,
                   uint8_t ascq, uint8_t b9, uint16_t src, const char *tag)
{
	memset(p, 0, dlen);
	tv_put_be16(p, addr);
	p[2] = flags;
	p[4] = asc;
	p[5] = ascq;
	p[9] = b9;
	tv_put_be16(p + 10, src);
	if (tag != NULL) {
		memset(p + 12, ' ', 32);
		memcpy(p + 12, tag, strlen(tag));
	}
	return dlen;
}

/* A page header (8 bytes): type, PVOLTAG, descriptor length, bytes. */
static size_t page(uint8_t *p, uint8_t type, uint16_t dlen, unsigned count)
{
	p[0] = type;
	p[1] = 0x80;
	tv_put_be16(p + 2, dlen);
	p[4] = 0;
	p[5] = (uint8_t)((dlen * count) >> 16);
	p[6] = (uint8_t)((dlen * count) >> 8);
	p[7] = (uint8_t)(dlen * count);
	return 8;
}

/* A library: its transport, two slots (one full), a mail slot, a drive
 * loaded from slot 1001, a slot whose label cannot be read.  Descriptors
 * of 52 bytes (a library that reports 4 more than the volume tag). */
static size_t library_report(uint8_t *d)
{
	size_t n = 8, dl = 52;

	n += page(d + n, TV_ELEM_TRANSPORT, (uint16_t)dl, 1);
	n += desc(d + n, dl, 0x0001, 0x00, 0, 0, 0x00, 0, NULL);
	n += page(d + n, TV_ELEM_STORAGE, (uint16_t)dl, 3);
	n += desc(d + n, dl, 0x03e8, 0x09, 0, 0, 0x01, 0, "VT0001L9");       /* FULL ACCESS */
	n += desc(d + n, dl, 0x03e9, 0x08, 0, 0, 0x00, 0, NULL);             /* empty */
	n += desc(d + n, dl, 0x03ea, 0x0d, 0x83, 0x09, 0x01, 0, NULL);       /* EXCEPT */
	n += page(d + n, TV_ELEM_IMPORT_EXPORT, (uint16_t)dl, 1);
	n += desc(d + n, dl, 0x000a, 0x3a, 0, 0, 0x00, 0, NULL);             /* INENAB EXENAB ACCESS IMPEXP */
	n += page(d + n, TV_ELEM_DATA_TRANSFER, (uint16_t)dl, 1);
	n += desc(d + n, dl, 0x01f4, 0x09, 0, 0, 0x81, 0x03e9, "VT0002L9");  /* SVALID */
	tv_put_be16(d, 0x0001);
	tv_put_be16(d + 2, 6);
	d[4] = 0;
	d[5] = (uint8_t)((n - 8) >> 16);
	d[6] = (uint8_t)((n - 8) >> 8);
	d[7] = (uint8_t)(n - 8);
	return n;
}

static void test_element_status(void **state)
{
	uint8_t *d = calloc(1, 1024);
	struct tv_element *e = NULL, *e2 = NULL;
	struct tv_buf b;
	size_t n = library_report(d), count, count2;
	int more;

	(void)state;
	assert_int_equal(tv_scsi_parse_element_status(d, n, &e, &count, &more, 100), 0);
	assert_int_equal(count, 6);
	assert_false(more);
	assert_int_equal(e[0].type, TV_ELEM_TRANSPORT);
	assert_int_equal(e[1].addr, 0x03e8);
	assert_true(e[1].full);
	assert_true(e[1].access);
	assert_true(e[1].has_voltag);
	assert_string_equal(e[1].voltag, "VT0001L9");
	assert_false(e[2].full);
	assert_string_equal(e[2].voltag, "");
	assert_true(e[3].full);
	assert_true(e[3].except);
	assert_int_equal(e[3].asc, 0x83);
	assert_int_equal(e[3].ascq, 0x09);
	assert_string_equal(e[3].voltag, "");
	assert_int_equal(e[4].type, TV_ELEM_IMPORT_EXPORT);
	assert_true(e[4].impexp);
	assert_int_equal(e[5].type, TV_ELEM_DATA_TRANSFER);
	assert_true(e[5].svalid);
	assert_int_equal(e[5].source, 0x03e9);
	assert_string_equal(e[5].voltag, "VT0002L9");
	/* built (48-byte descriptors) and read back: the same elements */
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_element_status(&b, e, count, 1), 0);
	assert_int_equal(tv_scsi_parse_element_status(tv_buf_ptr(&b), tv_buf_avail(&b), &e2,
	                                              &count2, &more, 100), 0);
	assert_int_equal(count2, count);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(e2[i].addr, e[i].addr);
		assert_int_equal(e2[i].full, e[i].full);
		assert_int_equal(e2[i].except, e[i].except);
		assert_int_equal(e2[i].source, e[i].source);
		assert_string_equal(e2[i].voltag, e[i].voltag);
	}
	tv_buf_free(&b);
	free(e2);
	free(e);
	/* cut by the allocation length: what is whole, and "more" */
	assert_int_equal(tv_scsi_parse_element_status(d, n - 30, &e, &count, &more, 100), 0);
	assert_int_equal(count, 5);
	assert_true(more);
	free(e);
	assert_int_equal(tv_scsi_parse_element_status(d, 20, &e, &count, &more, 100), 0);
	assert_int_equal(count, 0);
	assert_true(more);
	free(e);
	/* more elements than allowed */
	assert_int_equal(tv_scsi_parse_element_status(d, n, &e, &count, &more, 3), TV_ERR_RANGE);
	assert_null(e);
	/* a page of an unknown type, a descriptor too short for its volume tag */
	d[8] = 7;
	assert_int_equal(tv_scsi_parse_element_status(d, n, &e, &count, &more, 100),
	                 TV_ERR_FORMAT);
	d[8] = TV_ELEM_TRANSPORT;
	tv_put_be16(d + 10, 20);
	assert_int_equal(tv_scsi_parse_element_status(d, n, &e, &count, &more, 100),
	                 TV_ERR_FORMAT);
	assert_int_equal(tv_scsi_parse_element_status(d, 7, &e, &count, &more, 100),
	                 TV_ERR_FORMAT);
	free(d);
}

static void test_read_position(void **state)
{
	struct tv_read_position rp;
	struct tv_buf b;
	uint8_t d[40];
	size_t n;

	(void)state;
	/* short form at BOP */
	n = tl_unhex("80000000" "00000000" "00000000" "00000000" "00000000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_read_position(d, n, TV_RP_SHORT, &rp), 0);
	assert_true(rp.bop);
	assert_int_equal(rp.object, 0);
	/* short form past early warning, object 0x1234 */
	n = tl_unhex("01000000" "00001234" "00001234" "00000000" "00000000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_read_position(d, n, TV_RP_SHORT, &rp), 0);
	assert_true(rp.bpew);
	assert_false(rp.bop);
	assert_int_equal(rp.object, 0x1234);
	/* long form: object 0x1234 in logical file 3 */
	n = tl_unhex("00000000" "00000000" "0000000000001234" "0000000000000003"
	             "0000000000000000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_read_position(d, n, TV_RP_LONG, &rp), 0);
	assert_true(rp.file_valid);
	assert_int_equal(rp.file, 3);
	assert_int_equal(rp.object, 0x1234);
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_read_position(&b, TV_RP_LONG, &rp), 0);
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	d[0] = 0x08;                                /* MPU: the file is not known */
	assert_int_equal(tv_scsi_parse_read_position(d, n, TV_RP_LONG, &rp), 0);
	assert_false(rp.file_valid);
	assert_int_equal(tv_scsi_parse_read_position(d, 31, TV_RP_LONG, &rp), TV_ERR_FORMAT);
	assert_int_equal(tv_scsi_parse_read_position(d, 19, TV_RP_SHORT, &rp), TV_ERR_FORMAT);
	assert_int_equal(tv_scsi_parse_read_position(d, n, 0x08, &rp), TV_ERR_UNSUPPORTED);
}

static void test_capacity_log(void **state)
{
	struct tv_tape_capacity c;
	struct tv_buf b;
	uint8_t d[64];
	size_t n;

	(void)state;
	n = tl_unhex("31000020" "0001400400001000" "0002400400000000" "0003400400002000"
	             "0004400400000000", d, sizeof(d));
	assert_int_equal(tv_scsi_parse_capacity_log(d, n, &c), 0);
	assert_true(c.has_remaining && c.has_max);
	assert_int_equal(c.remaining, 4096);
	assert_int_equal(c.max, 8192);
	tv_buf_init(&b);
	assert_int_equal(tv_scsi_build_capacity_log(&b, &c), 0);
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	/* cut after the first parameter */
	assert_int_equal(tv_scsi_parse_capacity_log(d, 12, &c), 0);
	assert_true(c.has_remaining);
	assert_false(c.has_max);
	d[0] = 0x17;
	assert_int_equal(tv_scsi_parse_capacity_log(d, n, &c), TV_ERR_FORMAT);
}

#define KEY32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KAD16 "df3b8ba90dca762484cd062468df4e98"

static void test_security_pages(void **state)
{
	struct tv_sp_caps caps;
	struct tv_sp_set set, back;
	struct tv_sp_status st;
	struct tv_sp_next_block nb;
	struct tv_buf b;
	uint8_t d[256];
	size_t n;

	(void)state;
	/* capabilities: one algorithm, AES-256-GCM (00010014h), hardware
	 * encryption and decryption, 32-byte keys, U-KAD up to 32 bytes */
	n = tl_unhex("00100028" "00" "000000000000000000000000000000"
	             "01000014" "8a0c" "0020" "000c" "0020" "00" "00" "0000" "0000" "0000"
	             "00010014", d, sizeof(d));
	assert_int_equal(tv_sp_parse_caps(d, n, &caps), 0);
	assert_int_equal(caps.nalg, 1);
	assert_int_equal(caps.alg[0].index, 1);
	assert_true(caps.alg[0].avfmv);
	assert_int_equal(caps.alg[0].encrypt_c, 2);
	assert_int_equal(caps.alg[0].decrypt_c, 2);
	assert_int_equal(caps.alg[0].key_len, 32);
	assert_int_equal(caps.alg[0].max_ukad, 32);
	assert_int_equal(caps.alg[0].code, TV_SP_ALG_AES256_GCM);
	n = tl_unhex("00100028" "00", d, sizeof(d));      /* cut in the header */
	assert_int_equal(tv_sp_parse_caps(d, n, &caps), TV_ERR_FORMAT);
	/* set data encryption: scope all I_T nexus, CKOD, encrypt, decrypt
	 * mixed, algorithm 1, plain key, binary KAD, one U-KAD */
	memset(&set, 0, sizeof(set));
	set.scope = TV_SP_SCOPE_ALL_IT;
	set.ckod = 1;
	set.encrypt_mode = TV_SP_ENC_ENCRYPT;
	set.decrypt_mode = TV_SP_DEC_MIXED;
	set.alg_index = 1;
	set.kad_format = TV_SP_KADF_BINARY;
	set.key_len = 32;
	tl_unhex(KEY32, set.key, sizeof(set.key));
	set.nkad = 1;
	set.kad[0].len = 16;
	tl_unhex(KAD16, set.kad[0].data, sizeof(set.kad[0].data));
	tv_buf_init(&b);
	assert_int_equal(tv_sp_build_set(&b, &set), 0);
	n = tl_unhex("00100044" "40" "04" "02" "03" "01" "00" "01" "00000000000000" "0020" KEY32
	             "00000010" KAD16, d, sizeof(d));
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	assert_int_equal(tv_sp_parse_set(d, n, &back), 0);
	assert_int_equal(back.key_len, 32);
	assert_memory_equal(back.key, set.key, 32);
	assert_int_equal(back.nkad, 1);
	assert_memory_equal(back.kad[0].data, set.kad[0].data, 16);
	assert_true(back.ckod);
	/* a KAD longer than what is left; a key longer than 64 bytes */
	d[n - 17] = 0x20;
	assert_int_equal(tv_sp_parse_set(d, n, &back), TV_ERR_FORMAT);
	d[n - 17] = 0x10;
	d[18] = 0x00;
	d[19] = 0x50;
	assert_int_equal(tv_sp_parse_set(d, n, &back), TV_ERR_FORMAT);
	/* data encryption status: encrypting, decrypting mixed, key instance 5,
	 * volume holds encrypted blocks */
	n = tl_unhex("00200028" "42" "02" "03" "01" "00000005" "08" "01" "0000"
	             "0000000000000000" "00000010" KAD16, d, sizeof(d));
	assert_int_equal(tv_sp_parse_status(d, n, &st), 0);
	assert_int_equal(st.encrypt_mode, TV_SP_ENC_ENCRYPT);
	assert_int_equal(st.decrypt_mode, TV_SP_DEC_MIXED);
	assert_int_equal(st.key_instance, 5);
	assert_true(st.vcelb);
	assert_non_null(tv_sp_find_kad(st.kad, st.nkad, TV_SP_KAD_UKAD));
	tv_buf_init(&b);
	assert_int_equal(tv_sp_build_status(&b, &st), 0);
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	/* next block: object 7, encrypted, key missing, its U-KAD */
	n = tl_unhex("00210020" "0000000000000007" "06" "01" "00" "01" "00000010" KAD16, d,
	             sizeof(d));
	assert_int_equal(tv_sp_parse_next_block(d, n, &nb), 0);
	assert_int_equal(nb.object, 7);
	assert_int_equal(nb.status, TV_NBES_ENCRYPTED_NO_KEY);
	assert_int_equal(nb.nkad, 1);
	assert_int_equal(nb.kad[0].len, 16);
	tv_buf_init(&b);
	assert_int_equal(tv_sp_build_next_block(&b, &nb), 0);
	expect_buf(&b, d, n);
	tv_buf_free(&b);
	/* the wrong page; five KADs */
	assert_int_equal(tv_sp_parse_status(d, n, &st), TV_ERR_FORMAT);
	n = tl_unhex("00210024" "0000000000000007" "06010001" "00000001aa" "00000001aa"
	             "00000001aa" "00000001aa" "00000001aa", d, sizeof(d));
	tv_put_be16(d + 2, (uint16_t)(n - 4));
	assert_int_equal(tv_sp_parse_next_block(d, n, &nb), TV_ERR_FORMAT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inquiry),
		cmocka_unit_test(test_block_limits),
		cmocka_unit_test(test_mode_pages),
		cmocka_unit_test(test_element_status),
		cmocka_unit_test(test_read_position),
		cmocka_unit_test(test_capacity_log),
		cmocka_unit_test(test_security_pages),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
