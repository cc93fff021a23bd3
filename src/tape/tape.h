/* tapevault: tape device layer.
 *
 * One ops table, several backends (vtape: SIMH .tap images; st: Linux SCSI
 * tape; in test builds a fault-injecting wrapper).  Every backend presents
 * the same semantics, described here; backend quirks (st's ENOSPC
 * alternation, EIO after EOD, ENOMEM on short buffers) are mapped into
 * these by the backend, never seen by callers.
 *
 * Position model (like MTIOCGET's mt_fileno / mt_blkno): the tape is a
 * sequence of records and filemarks.  `file_no` counts filemarks passed
 * since BOT, `block_no` counts records since the last filemark (or BOT).
 *
 * read():   reads the next record.  Returns 0 and *got = length; or
 *           TV_ERR_FILEMARK (the filemark is consumed: position is now the
 *           start of the next file); TV_ERR_EOD at end of recorded data
 *           (position unchanged, repeated calls keep returning EOD);
 *           TV_ERR_RANGE when the record is longer than cap (record
 *           skipped, like st's ENOMEM); TV_ERR_BADREC for a record marked
 *           bad (skipped); TV_ERR_IO for anything else.
 * write():  writes one record at the current position; everything after
 *           the position is discarded first (as a real drive does).
 *           Returns 0; or TV_ERR_EW: the record WAS written but the early
 *           warning point is passed (finish up: write a catalog, close);
 *           or TV_ERR_NOSPC: the record was NOT written (physical end);
 *           TV_ERR_WPROT.
 * write_filemarks(n): like write, discards what follows; may also
 *           return TV_ERR_EW (written) or TV_ERR_NOSPC (not written).
 * space_files(n): n > 0: forward over n filemarks (MTFSF: ends just
 *           after the nth filemark); n < 0: backward over |n| filemarks
 *           (MTBSF: ends just before (BOT side of) the filemark).
 *           Hitting EOD going forward: TV_ERR_EOD; hitting BOT going
 *           backward: TV_ERR_EOF (positioned at BOT).
 * space_records(n): forward/backward over n records; meeting a
 *           filemark stops with TV_ERR_FILEMARK and leaves the position on
 *           the near side of the filemark (not crossed).
 * seek_eod(): position at end of recorded data (MTEOM); file_no is then
 *           the number of filemarks on the tape, block_no the records after
 *           the last one.
 * locate(file_no, block_no) (ops version 3, optional): position at
 *           record block_no of tape file file_no (block_no 0: the start
 *           of the file), by the drive's own positioning (SCSI LOCATE)
 *           rather than by spacing.  TV_ERR_NOTFOUND when the tape ends
 *           first.  Without it, tv_tape_locate rewinds or spaces
 *           (tv_tape_goto_file, then space_records).
 * Spacing does not read record data (the stats count only data read).
 *
 * Drive encryption (ops version 3, optional; tv_tape_set_encryption):
 * a drive that encrypts (LTO, SSC-4 SECURITY PROTOCOL 20h) is given a
 * 256-bit key and key-associated data (KAD, recorded in clear with every
 * record it encrypts).  With encrypt set, records written in tape files
 * from_file and later are encrypted by the drive; those before (the
 * labels) stay clear.  With decrypt set, encrypted records are decrypted
 * when read and clear ones read as they are.  Reading an encrypted record
 * without the right key fails with TV_ERR_LOCKED (no key) or
 * TV_ERR_BADKEY (another key), the detail naming the record's KAD.  The
 * key leaves the drive when the tape is closed (and when the cartridge is
 * unloaded).  Backends without it: TV_ERR_UNSUPPORTED.
 *
 * Stats: the generic entry points count records_read/bytes_read (data
 * actually transferred), records_written/bytes_written/filemarks_written
 * (including writes that returned TV_ERR_EW), and records_spaced for
 * records a read() skipped (TV_ERR_RANGE, TV_ERR_BADREC).  Backends count
 * records_spaced/files_spaced of their space ops themselves (only they
 * know how far a space op got before it stopped).
 *
 * Errors: every error return carries a detail (tv_errdetail()) naming the
 * tape and the position. */
#ifndef TV_TAPE_H
#define TV_TAPE_H

#include <stddef.h>
#include <stdint.h>

struct tv_tape;

struct tv_tape_status {
	uint64_t file_no;        /* filemarks since BOT */
	uint64_t block_no;       /* records since last filemark / BOT */
	int bot;                 /* at beginning of tape */
	int eod;                 /* at end of recorded data */
	int ew;                  /* past early warning */
	int write_protected;
	uint64_t capacity;       /* bytes, 0 = unknown */
	uint64_t used;           /* bytes up to end of data, 0 = unknown */
	int torn;                /* vtape: the image ends in an incomplete record
	                          * (a write cut off by a crash or power loss);
	                          * it reads as end of data and the next write at
	                          * EOD discards it.  Known once EOD was reached. */
};
/* file_no / block_no when the backend cannot tell (st after MTEOM or after
 * spacing backward over a filemark). */
#define TV_TAPE_POS_UNKNOWN UINT64_MAX

struct tv_tape_stats {
	uint64_t records_read;   /* records whose data was transferred */
	uint64_t bytes_read;
	uint64_t records_written;
	uint64_t bytes_written;
	uint64_t filemarks_written;
	uint64_t records_spaced; /* records skipped without reading */
	uint64_t files_spaced;   /* filemarks crossed by space ops */
	uint64_t positionings;   /* rewind, space, seek_eod and locate calls
	                          * that reached the backend */
	uint64_t locates;        /* SCSI LOCATE commands sent (backend) */
};

/* Drive encryption settings (see above).  kad: at most 32 bytes. */
#define TV_TAPE_KEY_LEN 32
#define TV_TAPE_KAD_MAX 32
struct tv_tape_crypto {
	int encrypt;
	int decrypt;
	uint64_t from_file;
	uint8_t key[TV_TAPE_KEY_LEN];
	uint8_t kad[TV_TAPE_KAD_MAX];
	size_t kad_len;
};
struct tv_tape_crypto_status {
	int capable;             /* the drive can encrypt with AES-256-GCM */
	int encrypting;          /* the drive encrypts what it writes now */
	int decrypting;          /* it holds a key for reading */
	uint8_t kad[TV_TAPE_KAD_MAX];  /* the key's KAD as the drive reports it */
	size_t kad_len;
	int next_block;          /* TV_TAPE_NB_*: the record at the position */
	uint8_t next_kad[TV_TAPE_KAD_MAX];
	size_t next_kad_len;
};
#define TV_TAPE_NB_UNKNOWN 0
#define TV_TAPE_NB_NOT_RECORD 1   /* a filemark or end of data */
#define TV_TAPE_NB_CLEAR 2
#define TV_TAPE_NB_ENCRYPTED 3    /* and the drive holds its key */
#define TV_TAPE_NB_ENCRYPTED_NO_KEY 4

/* Version 3 adds the optional locate, set_encryption and
 * encryption_status; a version 2 table (without them) is still accepted. */
#define TV_TAPE_OPS_VERSION 3
#define TV_TAPE_OPS_VERSION_MIN 2

struct iovec;

struct tv_tape_ops {
	int version;             /* TV_TAPE_OPS_VERSION */
	const char *kind;        /* "vtape", "st" ("faulty" in tests) */
	int (*read)(struct tv_tape *t, void *buf, size_t cap, size_t *got);
	int (*write)(struct tv_tape *t, const void *buf, size_t len);
	int (*write_filemarks)(struct tv_tape *t, unsigned count);
	int (*rewind)(struct tv_tape *t);
	int (*space_files)(struct tv_tape *t, long count);
	int (*space_records)(struct tv_tape *t, long count);
	int (*seek_eod)(struct tv_tape *t);
	int (*status)(struct tv_tape *t, struct tv_tape_status *ts);
	int (*close)(struct tv_tape *t); /* frees t */
	/* Optional (version 2): one record read into / written from several
	 * pieces, as read/write do with one buffer.  Without them the generic
	 * entry points go through a bounce buffer (a real drive needs the
	 * record in one piece anyway). */
	int (*readv)(struct tv_tape *t, const struct iovec *iov, int n, size_t *got);
	int (*writev)(struct tv_tape *t, const struct iovec *iov, int n);
	/* Optional (version 3): see above. */
	int (*locate)(struct tv_tape *t, uint64_t file_no, uint64_t block_no);
	int (*set_encryption)(struct tv_tape *t, const struct tv_tape_crypto *c);
	int (*encryption_status)(struct tv_tape *t, struct tv_tape_crypto_status *s);
	/* Optional (version 3, may be NULL): erase from the position to the
	 * end of the medium (SSC ERASE with LONG=0: end of data here). */
	int (*erase)(struct tv_tape *t);
};

/* Base object: backends allocate a struct starting with this. */
struct tv_tape {
	const struct tv_tape_ops *ops;
	char name[512];          /* device path or image path, for messages */
	int readonly;
	struct tv_tape_stats stats;
	void *bounce;            /* generic code only: readv/writev fallback */
	size_t bounce_cap;
};

/* Generic entry points: check state, dispatch, count stats. */
int tv_tape_read(struct tv_tape *t, void *buf, size_t cap, size_t *got);
int tv_tape_write(struct tv_tape *t, const void *buf, size_t len);
/* The same, for a record in pieces (at most TV_TAPE_IOV_MAX): readv fills
 * the pieces in order (cap = their total); writev writes their
 * concatenation as one record. */
#define TV_TAPE_IOV_MAX 16
int tv_tape_readv(struct tv_tape *t, const struct iovec *iov, int n, size_t *got);
int tv_tape_writev(struct tv_tape *t, const struct iovec *iov, int n);
int tv_tape_write_filemarks(struct tv_tape *t, unsigned count);
int tv_tape_rewind(struct tv_tape *t);
int tv_tape_space_files(struct tv_tape *t, long count);
int tv_tape_space_records(struct tv_tape *t, long count);
int tv_tape_seek_eod(struct tv_tape *t);
int tv_tape_status(struct tv_tape *t, struct tv_tape_status *ts);
/* Position at the start of tape file `file_no` (rewind + space forward, or
 * a cheaper relative move when already nearby). */
int tv_tape_goto_file(struct tv_tape *t, uint64_t file_no);
/* Record block_no of file file_no: the backend's locate, else goto_file
 * and space_records. */
int tv_tape_locate(struct tv_tape *t, uint64_t file_no, uint64_t block_no);
/* c NULL: take the key out of the drive (encryption and decryption off).
 * TV_ERR_UNSUPPORTED when the backend cannot encrypt. */
int tv_tape_set_encryption(struct tv_tape *t, const struct tv_tape_crypto *c);
int tv_tape_encryption_status(struct tv_tape *t, struct tv_tape_crypto_status *s);
/* Erase from the position on: whatever followed is gone and end of data is
 * here; at BOT the tape is blank (tape erase).  TV_ERR_UNSUPPORTED when
 * the backend cannot; TV_ERR_WPROT when the medium is write protected. */
int tv_tape_erase(struct tv_tape *t);
int tv_tape_close(struct tv_tape *t);   /* NULL ok */

/* ---- vtape: SIMH .tap image + JSON sidecar (IMAGE.json) ----
 * Records hold 1..TV_VTAPE_MAX_RECORD bytes (SIMH's 24-bit length).
 * Capacity and early warning count bytes of image data (the byte offset
 * the write ends at).  A malformed image gives TV_ERR_FORMAT naming the
 * byte offset; an incomplete last record (a write cut off by a crash)
 * reads as end of data and sets status.torn.  Written data is fsync'ed on
 * close, not per record or filemark.  An open image is flock'ed (shared
 * for RDONLY, exclusive for RDWR): a second opener gets TV_ERR_STATE.
 * An image without sidecar opens with no limits and not write protected;
 * an image file the user cannot write opens RDWR as write protected.
 * Sidecar keys: format, version, barcode, capacity, early_warning,
 * write_protected, created (unknown keys are kept on rewrite). */
#define TV_VTAPE_MAX_RECORD 0x00FFFFFFu
struct tv_vtape_attrs {
	char barcode[32];        /* e.g. VT0001L9 */
	uint64_t capacity;       /* bytes of image data, 0 = unlimited */
	uint64_t early_warning;  /* bytes at which EW is reported; 0 = none */
	int write_protected;
};
#define TV_TAPE_RDONLY 0
#define TV_TAPE_RDWR 1
/* Creates an empty image (blank tape) and its sidecar; fails with
 * TV_ERR_EXISTS if the image exists. */
int tv_vtape_create(const char *path, const struct tv_vtape_attrs *a);
int tv_vtape_open(const char *path, int mode, struct tv_tape **out);
/* TV_ERR_NOTFOUND when the image has no sidecar (a zeroed *a). */
int tv_vtape_read_attrs(const char *path, struct tv_vtape_attrs *a);
int tv_vtape_write_attrs(const char *path, const struct tv_vtape_attrs *a);
/* Default early warning for a capacity: capacity - capacity/8, the margin
 * at least 1 MiB and at most 1 GiB; never below capacity/2. */
uint64_t tv_vtape_default_ew(uint64_t capacity);

/* ---- st: Linux SCSI tape (/dev/nstN), variable block mode ---- */
int tv_st_open(const char *dev, int mode, struct tv_tape **out);
/* Rewind and eject the cartridge (MTOFFL), for a changer to take it. */
int tv_st_unload(const char *dev);

/* ---- sgtape: an SSC-4 drive driven with SCSI commands ----
 * Over any SCSI transport (scsi/scsi.h): SG_IO on /dev/sgN, or a drive of
 * the emulated library.  Variable block mode (set with MODE SELECT if the
 * drive is not in it), READ(6)/WRITE(6) with ILI/FM/EOM sense handling,
 * WRITE FILEMARKS with the immediate bit (the buffer is flushed on close
 * after writing), SPACE, LOCATE(16) and READ POSITION, drive encryption.
 * With own set, closing the tape closes the transport.  `name` names the
 * tape in messages ("VT0001L9 in drive 0 of library lib (/dev/sg4)").
 * Waits (TEST UNIT READY) up to TV_SGTAPE_READY_SECONDS for a cartridge
 * that is still being loaded. */
struct tv_scsi_transport;
#define TV_SGTAPE_READY_SECONDS 300
int tv_sgtape_open(struct tv_scsi_transport *tr, int own, const char *name, int mode,
                   struct tv_tape **out);
/* A cartridge out of the drive (LOAD UNLOAD with LOAD 0), for changers
 * that take it only from a drive that ejected it. */
int tv_sgtape_unload(struct tv_scsi_transport *tr);

/* ---- backends by name ----
 * A backend says which names it claims and opens them; tv_tape_open asks
 * each registered backend in turn (the built-in ones, st and vtape, are
 * registered by tape/backends.c, so this layer's core names none). */
struct tv_tape_backend {
	const char *kind;
	int (*claims)(const char *path);     /* 1: this name is mine */
	int (*open)(const char *path, int mode, struct tv_tape **out);
};
int tv_tape_register(const struct tv_tape_backend *b);
void tv_tape_register_builtin(void);     /* tape/backends.c */
/* Open by name: the backends are asked newest registration first, the
 * built-in ones last ("/dev/nst*" -> st, "/dev/sg*" and "scsi:DEV" ->
 * sgtape, anything else -> vtape image). */
int tv_tape_open(const char *path, int mode, struct tv_tape **out);
/* A hook that wraps every tape tv_tape_open opens (NULL: none).  Only test
 * builds set one (the fault injector, tests/support/tape_faulty.c); the
 * product never does. */
typedef int (*tv_tape_wrap_fn)(struct tv_tape *t, struct tv_tape **out);
void tv_tape_set_wrapper(tv_tape_wrap_fn fn);
/* Applies that hook to a tape opened otherwise than by name (a library's
 * SCSI drive): *out is t itself, or the wrapper (which then owns t; on
 * failure t is closed). */
int tv_tape_adopt(struct tv_tape *t, struct tv_tape **out);

#endif
