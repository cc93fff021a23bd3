/* tapevault: SCSI commands for real tape libraries (SPC-4, SSC-4, SMC-3).
 *
 * A transport carries one command at a time to one device: a CDB, an
 * optional data phase in one direction, the SCSI status and the sense
 * data back.  Two transports exist: Linux SG_IO (an ioctl on /dev/sgN, or
 * on an st device node) and tapevault's own emulated library
 * (library/scsiemu.c), which answers the same CDBs with the same bytes,
 * so everything above the transport runs the code real hardware runs.
 *
 * Nothing here interprets what the device says beyond decoding it: the
 * tape and library layers decide what a sense means for them.  Every
 * decoder of device bytes reads through util/buf.h (a device is not
 * trusted to send well-formed data) and fails with TV_ERR_FORMAT naming
 * what was malformed.
 *
 * Byte layouts: scsi/cdb.h (commands), scsi/data.h (parameter data). */
#ifndef TV_SCSI_H
#define TV_SCSI_H

#include <stddef.h>
#include <stdint.h>

/* SCSI status codes (SAM-5). */
#define TV_SCSI_GOOD 0x00
#define TV_SCSI_CHECK_CONDITION 0x02
#define TV_SCSI_BUSY 0x08
#define TV_SCSI_RESERVATION_CONFLICT 0x18

/* Sense keys (SPC-4 table 27). */
enum tv_sense_key {
	TV_SK_NO_SENSE = 0x0, TV_SK_RECOVERED_ERROR = 0x1, TV_SK_NOT_READY = 0x2,
	TV_SK_MEDIUM_ERROR = 0x3, TV_SK_HARDWARE_ERROR = 0x4,
	TV_SK_ILLEGAL_REQUEST = 0x5, TV_SK_UNIT_ATTENTION = 0x6,
	TV_SK_DATA_PROTECT = 0x7, TV_SK_BLANK_CHECK = 0x8,
	TV_SK_VENDOR_SPECIFIC = 0x9, TV_SK_COPY_ABORTED = 0xA,
	TV_SK_ABORTED_COMMAND = 0xB, TV_SK_VOLUME_OVERFLOW = 0xD,
	TV_SK_MISCOMPARE = 0xE,
};

/* Largest sense data SPC-4 allows. */
#define TV_SENSE_MAX 252

enum tv_scsi_dir { TV_SCSI_NONE = 0, TV_SCSI_FROM_DEV = 1, TV_SCSI_TO_DEV = 2 };

/* ---- transports ---- */

struct tv_scsi_transport;
struct tv_scsi_transport_ops {
	/* Runs one command.  Returns the SCSI status (>= 0: TV_SCSI_GOOD,
	 * TV_SCSI_CHECK_CONDITION, ...) with *resid the bytes of buf not
	 * transferred and sense[0 .. *sense_len) the sense data (sense holds
	 * TV_SENSE_MAX bytes), or a negative TV_ERR_* when the command did
	 * not reach the device or did not come back (timeout, host or driver
	 * error) with a detail naming the device. */
	int (*exec)(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
	            enum tv_scsi_dir dir, void *buf, size_t len, size_t *resid,
	            uint8_t *sense, size_t *sense_len, unsigned timeout_ms);
	void (*close)(struct tv_scsi_transport *tr);   /* frees tr */
};

/* Base object: transports allocate a struct starting with this. */
struct tv_scsi_transport {
	const struct tv_scsi_transport_ops *ops;
	char name[256];          /* device, for messages ("/dev/sg3") */
	uint64_t commands;       /* commands run through tv_scsi_run */
};

/* Linux SG_IO on a device node (/dev/sgN; also /dev/nstN, whose driver
 * passes SG_IO through).  TV_ERR_NOTFOUND, TV_ERR_PERM (with "is the user
 * in the 'tape' or 'disk' group?"), TV_ERR_STATE (busy). */
int tv_scsi_sg_open(const char *dev, struct tv_scsi_transport **out);
/* The same on a descriptor someone else owns (not closed by close). */
int tv_scsi_sg_wrap_fd(int fd, const char *name, struct tv_scsi_transport **out);
void tv_scsi_close(struct tv_scsi_transport *tr);   /* NULL ok */

/* ---- sense data (SPC-4 4.5) ---- */

struct tv_sense {
	int valid;               /* a known response code was decoded */
	uint8_t response;        /* 70h/71h fixed, 72h/73h descriptor */
	int deferred;            /* 71h/73h: about an earlier command */
	uint8_t key;             /* enum tv_sense_key */
	uint8_t asc, ascq;
	int filemark, eom, ili;  /* stream commands bits */
	int info_valid;
	int64_t info;            /* INFORMATION, sign-extended from 32 bits
	                          * in fixed format (SSC residues are signed) */
	int sks_valid;           /* sense-key specific bytes */
	uint8_t sks[3];
};

/* Decodes fixed (70h/71h) and descriptor (72h/73h) sense data.  Short,
 * inconsistent or unknown-format data is TV_ERR_FORMAT; s is zeroed first. */
int tv_sense_decode(const uint8_t *p, size_t n, struct tv_sense *s);
/* "MEDIUM ERROR" ... ; never NULL. */
const char *tv_sense_key_name(uint8_t key);
/* The standard's text for an ASC/ASCQ, lowercase ("write error"), or NULL
 * when the table does not know it. */
const char *tv_asc_name(uint8_t asc, uint8_t ascq);
/* "MEDIUM ERROR, write error (ASC/ASCQ 0Ch/00h)"; with the filemark, EOM
 * and ILI bits when set.  Returns buf. */
char *tv_sense_describe(const struct tv_sense *s, char *buf, size_t sz);
/* Builds fixed-format sense data (18 bytes) into p (>= 18 bytes); returns
 * its length.  For the emulator and the tests. */
size_t tv_sense_build_fixed(uint8_t *p, uint8_t key, uint8_t asc, uint8_t ascq,
                            int filemark, int eom, int ili, int info_valid,
                            int32_t info);

/* ---- running commands ---- */

struct tv_scsi_result {
	uint8_t status;
	size_t resid;            /* bytes not transferred */
	int has_sense;           /* sense decoded into .sense */
	struct tv_sense sense;
	uint8_t raw[TV_SENSE_MAX];
	size_t raw_len;
};

/* The outcome of tv_scsi_run when the device answered CHECK CONDITION:
 * positive, so it never collides with a TV_ERR_* code.  res->sense says
 * why (res->has_sense is 0 when the sense data was missing or malformed). */
#define TV_SCSI_CHECK 1

/* Runs a command and classifies the answer: 0 GOOD; TV_SCSI_CHECK; a
 * negative TV_ERR_* for a transport failure or another status (BUSY,
 * RESERVATION CONFLICT: TV_ERR_STATE), with a detail naming the device and
 * the command.  A UNIT ATTENTION (medium changed, reset, parameters
 * changed) is reported once by a device after such an event and says
 * nothing about the command: the command is run again, up to 3 times. */
int tv_scsi_run(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
                enum tv_scsi_dir dir, void *buf, size_t len, unsigned timeout_ms,
                struct tv_scsi_result *res);
/* The name of a command by its CDB ("WRITE(6)", "MOVE MEDIUM"). */
const char *tv_scsi_cmd_name(const uint8_t *cdb, size_t cdb_len);
/* tv_errf(err, "DEV: CMD failed: <sense described>"): the detail for a
 * command the device refused. */
int tv_scsi_errf(int err, struct tv_scsi_transport *tr, const uint8_t *cdb,
                 size_t cdb_len, const struct tv_scsi_result *res);

/* Default timeouts (ms): quick commands, data transfer, positioning and
 * robot moves (an LTO locate or rewind takes minutes). */
#define TV_SCSI_T_SHORT 30000u
#define TV_SCSI_T_IO 900000u
#define TV_SCSI_T_MOVE 3600000u

#endif
