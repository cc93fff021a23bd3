/* tapevault: SCSI parameter data, decoded and built.
 *
 * Decoders take the bytes a device returned (untrusted: every one is
 * read through util/buf.h) and fail with TV_ERR_FORMAT, naming the field,
 * when they are short or inconsistent; a length a device claims beyond
 * what it transferred is cut to what is there (devices truncate to the
 * allocation length) only where the standard says so (element status,
 * log and security pages): the parsers say which.  Builders write the
 * same layouts (the emulator answers with them, the tests compare them);
 * they append to a tv_buf.
 *
 * Layouts: SPC-4 6.6 (INQUIRY), 7.5 (mode parameter header), 7.3 (log
 * page); SSC-4 7.4 (READ BLOCK LIMITS), 7.7 (READ POSITION), 8.5.2
 * (SECURITY PROTOCOL pages of protocol 20h), 8.2.3 (tape capacity log);
 * SMC-3 6.10 (READ ELEMENT STATUS), 7.3.3 (element address assignment). */
#ifndef TV_SCSI_DATA_H
#define TV_SCSI_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- INQUIRY (standard data) ---- */
#define TV_SCSI_TYPE_DISK 0x00
#define TV_SCSI_TYPE_TAPE 0x01
#define TV_SCSI_TYPE_CHANGER 0x08
struct tv_scsi_inquiry {
	uint8_t qualifier;       /* 0: a device is connected */
	uint8_t type;            /* TV_SCSI_TYPE_* */
	int removable;
	uint8_t version;
	char vendor[9], product[17], revision[5];  /* trailing spaces cut */
};
int tv_scsi_parse_inquiry(const uint8_t *p, size_t n, struct tv_scsi_inquiry *q);
int tv_scsi_build_inquiry(struct tv_buf *b, const struct tv_scsi_inquiry *q);
/* VPD page 80h: the unit serial number (trailing spaces cut). */
int tv_scsi_parse_serial(const uint8_t *p, size_t n, char *out, size_t sz);
int tv_scsi_build_serial(struct tv_buf *b, const char *serial);

/* ---- READ BLOCK LIMITS ---- */
struct tv_block_limits {
	uint8_t granularity;
	uint32_t max_len;        /* 0: no limit given */
	uint16_t min_len;
};
int tv_scsi_parse_block_limits(const uint8_t *p, size_t n, struct tv_block_limits *bl);
int tv_scsi_build_block_limits(struct tv_buf *b, const struct tv_block_limits *bl);

/* ---- MODE SENSE(6) / MODE SELECT(6) data ---- */
struct tv_mode6 {
	uint8_t medium_type;
	int wp;                  /* device-specific parameter bit 7 (SSC) */
	uint8_t buffered;        /* buffered mode (bits 6-4) */
	int has_bd;              /* a block descriptor was there */
	uint8_t density;
	uint32_t nblocks, block_len;
	size_t pages_off, pages_len;  /* the mode pages after it, in p */
};
int tv_scsi_parse_mode6(const uint8_t *p, size_t n, struct tv_mode6 *m);
/* header + one 8-byte block descriptor when m->has_bd (+ pages); for
 * MODE SELECT the mode data length is 0, as SPC-4 wants. */
int tv_scsi_build_mode6(struct tv_buf *b, const struct tv_mode6 *m, const uint8_t *pages,
                        size_t pages_len, int for_select);

/* Element address assignment page (mode page 1Dh). */
struct tv_element_map {
	uint16_t transport_first, transport_n;
	uint16_t storage_first, storage_n;
	uint16_t ie_first, ie_n;
	uint16_t drive_first, drive_n;
};
/* p/n: the mode pages (tv_mode6.pages_off/len); finds page 1Dh. */
int tv_scsi_parse_element_map(const uint8_t *p, size_t n, struct tv_element_map *em);
int tv_scsi_build_element_map(struct tv_buf *b, const struct tv_element_map *em);

/* ---- READ ELEMENT STATUS ---- */
#define TV_VOLTAG_LEN 32
struct tv_element {
	uint8_t type;            /* TV_ELEM_TRANSPORT .. TV_ELEM_DATA_TRANSFER */
	uint16_t addr;
	int full, except, access, impexp;
	uint8_t asc, ascq;       /* the element's condition when except */
	int svalid;              /* source below is valid */
	int invert;
	uint8_t medium_type;
	uint16_t source;
	int has_voltag;          /* the primary volume tag field was returned */
	char voltag[TV_VOLTAG_LEN + 1];  /* trailing spaces and NULs cut: "" when
	                                  * the changer could not read the label */
};
/* Decodes every element status page.  The report may stop short of what
 * the header announces (the allocation length cut it): what is complete
 * is returned and *more says elements were left out.  *out is malloc'd
 * (free it); at most max_elements are taken. */
int tv_scsi_parse_element_status(const uint8_t *p, size_t n, struct tv_element **out,
                                 size_t *count, int *more, size_t max_elements);
/* Pages of consecutive elements of one type, PVOLTAG when voltag; the
 * header's first element address and count from e[0] and n. */
int tv_scsi_build_element_status(struct tv_buf *b, const struct tv_element *e, size_t n,
                                 int voltag);

/* ---- READ POSITION ---- */
struct tv_read_position {
	int bop, eop, bpew;      /* beginning / end of partition, past early warning */
	int perr;                /* position error: the rest is unreliable */
	int object_unknown;      /* short form LOCU / long form MPU */
	uint32_t partition;
	uint64_t object;         /* logical object number (blocks and filemarks
	                          * since BOP) */
	int file_valid;          /* long form: logical file identifier valid */
	uint64_t file;           /* filemarks since BOP (long form) */
};
int tv_scsi_parse_read_position(const uint8_t *p, size_t n, uint8_t form,
                                struct tv_read_position *rp);
int tv_scsi_build_read_position(struct tv_buf *b, uint8_t form,
                                const struct tv_read_position *rp);

/* ---- LOG SENSE page 31h (tape capacity), in MiB ---- */
struct tv_tape_capacity {
	int has_remaining, has_max;
	uint32_t remaining, max;   /* main partition, 1,048,576-byte units */
};
int tv_scsi_parse_capacity_log(const uint8_t *p, size_t n, struct tv_tape_capacity *c);
int tv_scsi_build_capacity_log(struct tv_buf *b, const struct tv_tape_capacity *c);

/* ---- SECURITY PROTOCOL 20h pages (tape data encryption) ---- */
#define TV_SP_ALG_AES256_GCM 0x00010014u   /* security algorithm code */
#define TV_SP_ENC_DISABLE 0
#define TV_SP_ENC_EXTERNAL 1
#define TV_SP_ENC_ENCRYPT 2
#define TV_SP_DEC_DISABLE 0
#define TV_SP_DEC_RAW 1
#define TV_SP_DEC_DECRYPT 2
#define TV_SP_DEC_MIXED 3
#define TV_SP_KAD_UKAD 0x00
#define TV_SP_KAD_AKAD 0x01
#define TV_SP_KADF_BINARY 0x01
#define TV_SP_SCOPE_PUBLIC 0
#define TV_SP_SCOPE_LOCAL 1
#define TV_SP_SCOPE_ALL_IT 2
/* next block encryption status (page 0021h byte 12, bits 3-0) */
#define TV_NBES_UNKNOWN 1
#define TV_NBES_NOT_BLOCK 2
#define TV_NBES_CLEAR 3
#define TV_NBES_UNSUPPORTED_ALG 4
#define TV_NBES_ENCRYPTED_KEY 5      /* encrypted, the key is there */
#define TV_NBES_ENCRYPTED_NO_KEY 6   /* encrypted, key missing or wrong */

#define TV_SP_MAX_ALGS 8
#define TV_SP_MAX_KADS 4
#define TV_SP_KAD_MAX 64
#define TV_SP_KEY_MAX 64

struct tv_sp_algorithm {         /* one descriptor of page 0010h (IN) */
	uint8_t index;
	int avfmv;                   /* valid for the mounted volume */
	uint8_t decrypt_c, encrypt_c;  /* 0 none, 1 external, 2 hardware, 3 both */
	uint16_t max_ukad, max_akad, key_len;
	uint32_t code;               /* TV_SP_ALG_* */
};
struct tv_sp_caps {
	uint8_t cfg_p;               /* configuration prevented */
	size_t nalg;
	struct tv_sp_algorithm alg[TV_SP_MAX_ALGS];
	int more;                    /* descriptors past TV_SP_MAX_ALGS ignored */
};
struct tv_sp_kad {
	uint8_t type;                /* TV_SP_KAD_* */
	uint8_t authenticated;
	uint16_t len;
	uint8_t data[TV_SP_KAD_MAX];
};
struct tv_sp_set {               /* page 0010h (OUT): set data encryption */
	uint8_t scope;
	int lock, ckod, ckorp, ckorl;
	uint8_t encrypt_mode, decrypt_mode, alg_index, key_format, kad_format;
	uint16_t key_len;
	uint8_t key[TV_SP_KEY_MAX];  /* wiped by whoever built it */
	size_t nkad;
	struct tv_sp_kad kad[TV_SP_MAX_KADS];
};
struct tv_sp_status {            /* page 0020h (IN): data encryption status */
	uint8_t it_scope, key_scope, encrypt_mode, decrypt_mode, alg_index;
	uint32_t key_instance;
	int vcelb, rdmd;
	uint8_t kad_format;
	size_t nkad;
	struct tv_sp_kad kad[TV_SP_MAX_KADS];
};
struct tv_sp_next_block {        /* page 0021h (IN): next block encryption status */
	uint64_t object;
	uint8_t compression, status, alg_index, kad_format;
	int emes, rdmds;
	size_t nkad;
	struct tv_sp_kad kad[TV_SP_MAX_KADS];
};
int tv_sp_parse_caps(const uint8_t *p, size_t n, struct tv_sp_caps *c);
int tv_sp_build_caps(struct tv_buf *b, const struct tv_sp_caps *c);
int tv_sp_parse_set(const uint8_t *p, size_t n, struct tv_sp_set *s);
int tv_sp_build_set(struct tv_buf *b, const struct tv_sp_set *s);
int tv_sp_parse_status(const uint8_t *p, size_t n, struct tv_sp_status *s);
int tv_sp_build_status(struct tv_buf *b, const struct tv_sp_status *s);
int tv_sp_parse_next_block(const uint8_t *p, size_t n, struct tv_sp_next_block *nb);
int tv_sp_build_next_block(struct tv_buf *b, const struct tv_sp_next_block *nb);
/* The KAD of a type in a list, or NULL. */
const struct tv_sp_kad *tv_sp_find_kad(const struct tv_sp_kad *k, size_t n, uint8_t type);

#endif
