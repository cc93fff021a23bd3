/* tapevault: an emulated SCSI tape library, in-process (library layer
 * internal; `library create ... --scsi-emulation`).
 *
 * Its changer and drives are SCSI transports (scsi/scsi.h) that take the
 * CDBs real hardware takes and answer with the bytes real hardware sends:
 * parameter data built with scsi/data.h, errors as fixed-format sense
 * data with the standards' sense keys and ASC/ASCQ.  Above the transport
 * everything is the code a real library runs (library/vlib_scsi.c,
 * tape/sgtape.c), so the emulation tests that code.
 *
 * Files in DIR:
 *   library.json          the SCSI library's configuration (vlib_scsi.c)
 *   emulator.json, .lock  the elements (a directory library's state file:
 *                         which cartridge is where)
 *   emulator-drives.json  each drive's memory: cartridge threaded or
 *                         ejected, its encryption key and modes (mode
 *                         0600: the drive's key lives here)
 *   BARCODE.tap (.json)   the cartridges: SIMH images (tape/vtape.c)
 *
 * The medium changer (SMC-3) answers TEST UNIT READY, INQUIRY, MODE
 * SENSE(6) page 1Dh, INITIALIZE ELEMENT STATUS, READ ELEMENT STATUS (with
 * volume tags) and MOVE MEDIUM; elements are addressed: transport 0001h,
 * mail slots 0010h.., drives 0100h.., storage slots 0400h...  A cartridge
 * leaves a drive only after the drive ejected it (LOAD UNLOAD), as on the
 * libraries that need that, and not while a process holds it open
 * (53h/02h, medium removal prevented).
 *
 * A drive (SSC-4) answers TEST UNIT READY, INQUIRY (and VPD 80h), READ
 * BLOCK LIMITS, MODE SENSE/SELECT(6), READ(6), WRITE(6), WRITE
 * FILEMARKS(6), SPACE(6), LOCATE(16), READ POSITION (short and long),
 * REWIND, LOAD UNLOAD, LOG SENSE 31h and SECURITY PROTOCOL IN/OUT 20h
 * pages 0010h, 0020h, 0021h.  In encryption mode it seals every record it
 * writes with AES-256-GCM under the key it was given (a random 96-bit
 * nonce per record, the KAD in clear, authenticated): on the image an
 * encrypted record is "TVEMUENC" | KAD length (1) | KAD | nonce (12) |
 * ciphertext | tag (16).  Reading one without the key fails with DATA
 * PROTECT 74h/01h (unable to decrypt data), with another key 74h/03h
 * (incorrect data encryption key), the position staying before it. */
#ifndef TV_LIBRARY_SCSIEMU_H
#define TV_LIBRARY_SCSIEMU_H

#include <stddef.h>
#include <stdint.h>

struct tv_scsi_transport;

#define TV_SCSIEMU_CHANGER "emulated"
#define TV_SCSIEMU_DRIVE_PREFIX "emulated:"
#define TV_SCSIEMU_STATE "emulator.json"
#define TV_SCSIEMU_LOCK "emulator.lock"

/* element addresses */
#define TV_SCSIEMU_A_TRANSPORT 0x0001
#define TV_SCSIEMU_A_MAIL 0x0010
#define TV_SCSIEMU_A_DRIVE 0x0100
#define TV_SCSIEMU_A_SLOT 0x0400

/* The emulator's state files in DIR (library.json is the caller's). */
int tv_scsiemu_create(const char *dir, const char *name, unsigned slots, unsigned drives,
                      unsigned mailslots);
int tv_scsiemu_changer_open(const char *dir, struct tv_scsi_transport **out);
/* mode: TV_TAPE_RDONLY or TV_TAPE_RDWR, how the drive opens its cartridge
 * image (a read-only opener shares it). */
int tv_scsiemu_drive_open(const char *dir, unsigned drive, int mode,
                          struct tv_scsi_transport **out);

/* Test hooks (tests/support/scsiemu_faults.c sets them in test builds;
 * the product never does):
 *   command: called before each command a device runs (drive -1 is the
 *     changer); returning 1 fails it with sense[0..2] = key, ASC, ASCQ,
 *     having done nothing;
 *   label_unreadable: 1 when the changer cannot read this cartridge's
 *     bar code label (its element is then reported full, with EXCEPT set,
 *     ASC/ASCQ 83h/09h and no volume tag). */
struct tv_scsiemu_hooks {
	int (*command)(int drive, const uint8_t *cdb, size_t cdb_len, uint8_t sense[3]);
	int (*label_unreadable)(const char *barcode);
};
void tv_scsiemu_set_hooks(const struct tv_scsiemu_hooks *h);

/* ---- shared by scsiemu.c and scsiemu_drive.c ---- */

/* What a drive remembers across processes (emulator-drives.json). */
struct tv_scsiemu_drive_mem {
	int threaded;            /* the cartridge is loaded, not ejected */
	int key_set;
	uint8_t key[32];
	uint8_t kad[64];
	size_t kad_len;
	uint8_t encrypt_mode, decrypt_mode;
	int ckod;
	uint32_t key_instance;
};
int tv_scsiemu_mem_get(const char *dir, unsigned drive, struct tv_scsiemu_drive_mem *m);
int tv_scsiemu_mem_put(const char *dir, unsigned drive, const struct tv_scsiemu_drive_mem *m);
const struct tv_scsiemu_hooks *tv_scsiemu_hooks(void);
/* Fixed-format sense into sense (TV_SENSE_MAX bytes); returns CHECK
 * CONDITION. */
int tv_scsiemu_check(uint8_t *sense, size_t *sense_len, uint8_t key, uint8_t asc,
                     uint8_t ascq);
/* Copies a reply into the data-in buffer (cut to len). */
void tv_scsiemu_reply(const void *data, size_t n, void *buf, size_t len, size_t *resid);
/* INQUIRY (standard data or VPD page 80h) of an emulated device. */
int tv_scsiemu_inquiry(const uint8_t *cdb, size_t n, void *buf, size_t len, size_t *resid,
                       uint8_t *sense, size_t *slen, uint8_t type, const char *product,
                       const char *serial);

#endif
