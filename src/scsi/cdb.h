/* tapevault: command descriptor blocks (CDBs) for the commands tapevault
 * sends.  Each builder fills cdb (at least TV_CDB_MAX bytes, zeroed
 * first) and returns the CDB's length.  Field layouts are those of
 * SPC-4 (INQUIRY, TEST UNIT READY, MODE SENSE/SELECT(6), LOG SENSE,
 * SECURITY PROTOCOL IN/OUT), SSC-4 (READ BLOCK LIMITS, READ(6), WRITE(6),
 * WRITE FILEMARKS(6), SPACE(6), LOCATE(16), READ POSITION, REWIND,
 * LOAD UNLOAD) and SMC-3 (INITIALIZE ELEMENT STATUS, READ ELEMENT STATUS,
 * MOVE MEDIUM); all multi-byte fields big-endian.
 *
 * The decoders (tv_cdb_*_get) are for the emulator, which receives these
 * bytes: each checks the opcode and length and fails with TV_ERR_FORMAT. */
#ifndef TV_SCSI_CDB_H
#define TV_SCSI_CDB_H

#include <stddef.h>
#include <stdint.h>

#define TV_CDB_MAX 16

/* operation codes */
#define TV_OP_TEST_UNIT_READY 0x00
#define TV_OP_REWIND 0x01
#define TV_OP_REQUEST_SENSE 0x03
#define TV_OP_READ_BLOCK_LIMITS 0x05
#define TV_OP_INIT_ELEMENT_STATUS 0x07
#define TV_OP_READ6 0x08
#define TV_OP_WRITE6 0x0A
#define TV_OP_WRITE_FILEMARKS6 0x10
#define TV_OP_SPACE6 0x11
#define TV_OP_INQUIRY 0x12
#define TV_OP_ERASE6 0x19
#define TV_OP_MODE_SELECT6 0x15
#define TV_OP_MODE_SENSE6 0x1A
#define TV_OP_LOAD_UNLOAD 0x1B
#define TV_OP_READ_POSITION 0x34
#define TV_OP_LOG_SENSE 0x4D
#define TV_OP_LOCATE16 0x92
#define TV_OP_SECURITY_IN 0xA2
#define TV_OP_MOVE_MEDIUM 0xA5
#define TV_OP_SECURITY_OUT 0xB5
#define TV_OP_READ_ELEMENT_STATUS 0xB8

/* SPACE(6) codes, LOCATE(16) destination types, READ POSITION forms */
#define TV_SPACE_BLOCKS 0
#define TV_SPACE_FILEMARKS 1
#define TV_SPACE_EOD 3
#define TV_LOCATE_OBJECT 0
#define TV_LOCATE_FILE 1
#define TV_LOCATE_EOD 3
#define TV_RP_SHORT 0x00
#define TV_RP_LONG 0x06

/* element type codes (SMC-3) */
#define TV_ELEM_ALL 0
#define TV_ELEM_TRANSPORT 1
#define TV_ELEM_STORAGE 2
#define TV_ELEM_IMPORT_EXPORT 3
#define TV_ELEM_DATA_TRANSFER 4

/* security protocol 20h (tape data encryption) pages (SSC-4 8.5) */
#define TV_SECURITY_PROTOCOL_TAPE 0x20
#define TV_SP_PAGE_CAPABILITIES 0x0010  /* IN */
#define TV_SP_PAGE_SET_ENCRYPTION 0x0010 /* OUT */
#define TV_SP_PAGE_STATUS 0x0020        /* IN */
#define TV_SP_PAGE_NEXT_BLOCK 0x0021    /* IN */

/* mode pages */
#define TV_MODE_PAGE_ELEMENT_ADDRESS 0x1D  /* SMC-3 element address assignment */
#define TV_LOG_PAGE_TAPE_CAPACITY 0x31     /* SSC-4 tape capacity */

size_t tv_cdb_test_unit_ready(uint8_t *cdb);
size_t tv_cdb_inquiry(uint8_t *cdb, int evpd, uint8_t page, uint16_t alloc);
size_t tv_cdb_mode_sense6(uint8_t *cdb, int dbd, uint8_t page, uint8_t alloc);
size_t tv_cdb_mode_select6(uint8_t *cdb, uint8_t param_len);
size_t tv_cdb_log_sense(uint8_t *cdb, uint8_t page, uint16_t alloc);
size_t tv_cdb_read_block_limits(uint8_t *cdb);
/* Variable-block READ(6)/WRITE(6): len is the byte count (< 2^24). */
size_t tv_cdb_read6(uint8_t *cdb, uint32_t len, int sili);
size_t tv_cdb_write6(uint8_t *cdb, uint32_t len);
size_t tv_cdb_write_filemarks6(uint8_t *cdb, uint32_t count, int immed);
/* count: signed 24 bits (negative = toward BOT). */
size_t tv_cdb_space6(uint8_t *cdb, int code, int32_t count);
size_t tv_cdb_locate16(uint8_t *cdb, int dest_type, uint64_t id);
size_t tv_cdb_read_position(uint8_t *cdb, uint8_t form);
size_t tv_cdb_rewind(uint8_t *cdb, int immed);
/* ERASE(6): long 0 is a short erase (end of data at the position). */
size_t tv_cdb_erase6(uint8_t *cdb, int long_erase, int immed);
size_t tv_cdb_load_unload(uint8_t *cdb, int load, int immed);
size_t tv_cdb_init_element_status(uint8_t *cdb);
size_t tv_cdb_read_element_status(uint8_t *cdb, int type, int voltag, uint16_t start,
                                  uint16_t count, int dvcid, uint32_t alloc);
size_t tv_cdb_move_medium(uint8_t *cdb, uint16_t transport, uint16_t src, uint16_t dst);
size_t tv_cdb_security_in(uint8_t *cdb, uint8_t protocol, uint16_t page, uint32_t alloc);
size_t tv_cdb_security_out(uint8_t *cdb, uint8_t protocol, uint16_t page, uint32_t len);

/* ---- decoding (the emulator's side) ---- */

/* Length of the CDB an opcode starts (group code rule of SPC-4 4.2.5.1),
 * 0 for the vendor groups. */
size_t tv_cdb_len(uint8_t opcode);

struct tv_cdb_rw {        /* READ(6), WRITE(6) */
	uint32_t len;
	int fixed, sili;
};
struct tv_cdb_space {     /* SPACE(6) */
	int code;
	int32_t count;
};
struct tv_cdb_locate {    /* LOCATE(16) */
	int dest_type, cp, immed;
	uint8_t partition;
	uint64_t id;
};
struct tv_cdb_res {       /* READ ELEMENT STATUS */
	int type, voltag, curdata, dvcid;
	uint16_t start, count;
	uint32_t alloc;
};
struct tv_cdb_move {      /* MOVE MEDIUM */
	uint16_t transport, src, dst;
	int invert;
};
struct tv_cdb_security {  /* SECURITY PROTOCOL IN/OUT */
	uint8_t protocol;
	uint16_t page;
	uint32_t len;
	int inc512;
};
int tv_cdb_get_rw(const uint8_t *cdb, size_t n, struct tv_cdb_rw *rw);
int tv_cdb_get_space(const uint8_t *cdb, size_t n, struct tv_cdb_space *sp);
int tv_cdb_get_locate(const uint8_t *cdb, size_t n, struct tv_cdb_locate *lo);
int tv_cdb_get_res(const uint8_t *cdb, size_t n, struct tv_cdb_res *res);
int tv_cdb_get_move(const uint8_t *cdb, size_t n, struct tv_cdb_move *mv);
int tv_cdb_get_security(const uint8_t *cdb, size_t n, struct tv_cdb_security *sec);
/* Allocation length of INQUIRY/MODE SENSE(6)/LOG SENSE/READ POSITION,
 * and the count of WRITE FILEMARKS(6) (with *immed). */
int tv_cdb_get_alloc(const uint8_t *cdb, size_t n, uint32_t *alloc);
int tv_cdb_get_filemarks(const uint8_t *cdb, size_t n, uint32_t *count, int *immed);

#endif
