/* tapevault: tape libraries.
 *
 * Two kinds behind one API, chosen by what DIR/library.json says when the
 * library is opened:
 * - a virtual library (described below): a directory of tape images;
 * - a SCSI library: a medium changer (SMC-3) and its drives, real
 *   (`tapevault library add NAME --changer /dev/sgN --drive DEV...`:
 *   library.json then only names the devices, the changer reports what is
 *   where) or emulated (`library create ... --scsi-emulation`: the same
 *   SCSI commands answered in-process by library/scsiemu.c, cartridges
 *   stored as SIMH images in DIR).  Drives are /dev/nstN (st) or /dev/sgN
 *   (SCSI commands over SG_IO).
 * Element numbering, barcodes, status text and errors are the same for
 * both; what only one kind can do says so (TV_ERR_UNSUPPORTED).
 *
 * A virtual library is a directory:
 *   DIR/library.json        name, element counts, what is where
 *   DIR/library.lock        flock'ed: shared to read, exclusive to change
 *   DIR/BARCODE.tap         cartridge images (SIMH, see tape.h)
 *   DIR/BARCODE.tap.json    their sidecars
 *
 * Elements, numbered as `mtx status` prints them:
 *   drives      0 .. D-1   ("Data Transfer Element 0")
 *   slots       1 .. S     ("Storage Element 1")
 *   mail slots  1 .. M     (import/export; mtx prints them as storage
 *                           elements S+1 .. S+M, "IMPORT/EXPORT")
 * A standalone drive is a library with one drive and no slots.
 *
 * State lives on disk only: every call takes the lock, reads library.json,
 * and a mutating call writes it back atomically (temporary file, fsync,
 * rename, fsync of the directory) before unlocking.  So several tapevault
 * processes can share a library, and a crash leaves either the old or the
 * new state.  A library handle caches nothing but the directory and name.
 *
 * Errors carry a detail that says what to do next (tv_errdetail()). */
#ifndef TV_VLIB_H
#define TV_VLIB_H

#include <stddef.h>
#include <stdint.h>

#include "tape/tape.h"

#define TV_VLIB_NAME_MAX 64            /* [A-Za-z0-9._-], 1..64 chars */
#define TV_VLIB_MAX_SLOTS 10000
#define TV_VLIB_MAX_DRIVES 64
#define TV_VLIB_MAX_MAILSLOTS 64
/* Capacity of a new virtual cartridge when none is given: 1 GiB.  Large
 * enough for demos and benchmarks, small enough that a forgotten job does
 * not fill the disk; images only take the space actually written. */
#define TV_VLIB_DEFAULT_CAPACITY ((uint64_t)1 << 30)
#define TV_VLIB_ANY_DRIVE (-1)

/* Barcodes: 6 characters [A-Z0-9] and a 2-character media id [A-Z][A-Z0-9]
 * (e.g. VT0001L9), uppercase.  Returns 0 or TV_ERR_INVAL with a detail. */
#define TV_BARCODE_LEN 8
int tv_barcode_check(const char *barcode);

struct tv_vlib;

enum tv_vlib_elem_type {
	TV_ELEM_DRIVE = 1,
	TV_ELEM_SLOT = 2,
	TV_ELEM_MAILSLOT = 3,
};

struct tv_vlib_elem {
	enum tv_vlib_elem_type type;
	unsigned index;          /* drive 0..D-1, slot 1..S, mail slot 1..M */
	char barcode[32];        /* "" = empty (or, with full, unreadable) */
	unsigned source_slot;    /* drives: the slot the cartridge came from
	                          * (unload returns it there); 0 = unknown */
	int full;                /* holds a cartridge (barcode or not) */
	int except;              /* the changer reports a problem: note */
	char note[160];
};

struct tv_vlib_info {
	char name[TV_VLIB_NAME_MAX + 1];
	unsigned slots, drives, mailslots;
	char kind[32];           /* "directory", "scsi", "emulated scsi" */
	char changer[200];       /* scsi: device, vendor, product, revision */
};

/* An element as the CLI names it: "slot:N", "drive:N", "mail:N". */
struct tv_vlib_loc {
	enum tv_vlib_elem_type type;
	unsigned index;
};
int tv_vlib_parse_loc(const char *s, struct tv_vlib_loc *loc);

/* Creates DIR (and its parents) if missing and an empty library in it.
 * TV_ERR_EXISTS if DIR already holds a library.json.  out may be NULL. */
int tv_vlib_create(const char *dir, const char *name, unsigned slots,
                   unsigned drives, unsigned mailslots, struct tv_vlib **out);
/* An emulated SCSI library in DIR: library.json names the emulated
 * changer and drives, DIR/emulator.json holds the elements' state, the
 * cartridges are DIR/BARCODE.tap as in a virtual library. */
int tv_vlib_create_emulated(const char *dir, const char *name, unsigned slots,
                            unsigned drives, unsigned mailslots, struct tv_vlib **out);
/* A real SCSI library: DIR (created) gets a library.json naming the
 * changer's device and the drives' (in the order of the changer's data
 * transfer elements); the changer is then asked what it holds
 * (TV_ERR_NOTFOUND, TV_ERR_PERM ... when it cannot be reached: DIR is
 * removed again). */
int tv_vlib_add_scsi(const char *dir, const char *name, const char *changer,
                     const char *const *drives, unsigned ndrives, struct tv_vlib **out);
/* TV_ERR_NOTFOUND when DIR holds no library.json. */
int tv_vlib_open(const char *dir, struct tv_vlib **out);
void tv_vlib_close(struct tv_vlib *l);               /* NULL ok */
const char *tv_vlib_name(const struct tv_vlib *l);
const char *tv_vlib_dir(const struct tv_vlib *l);
const char *tv_vlib_kind(const struct tv_vlib *l);   /* as tv_vlib_info.kind */

/* All elements: drives, then slots, then mail slots (*n = D + S + M).
 * info may be NULL.  Caller frees *elems. */
int tv_vlib_status(struct tv_vlib *l, struct tv_vlib_info *info,
                   struct tv_vlib_elem **elems, size_t *n);
/* The same as text modeled on `mtx status` (caller frees *text):
 *   "  Storage Changer NAME:1 Drives, 5 Slots ( 1 Import/Export )"
 *   "Data Transfer Element 0:Empty"
 *   "Data Transfer Element 0:Full (Storage Element 3 Loaded):VolumeTag = VT0001L9"
 *   "      Storage Element 1:Full :VolumeTag=VT0001L9"
 *   "      Storage Element 5 IMPORT/EXPORT:Empty"
 * As in mtx, the Slots count includes the import/export slots. */
int tv_vlib_status_text(struct tv_vlib *l, char **text);

/* A blank cartridge BARCODE.tap in the first free storage slot.
 * capacity 0 = TV_VLIB_DEFAULT_CAPACITY; early_warning 0 =
 * tv_vtape_default_ew(capacity).  *slot (may be NULL) gets the slot.
 * Errors: TV_ERR_INVAL (barcode), TV_ERR_EXISTS (barcode in the library,
 * or a stray image file of that name), TV_ERR_NOSPC (no free slot). */
int tv_vlib_new_tape(struct tv_vlib *l, const char *barcode, uint64_t capacity,
                     uint64_t early_warning, unsigned *slot);

/* Moves the cartridge from its slot (or mail slot) into `drive`
 * (TV_VLIB_ANY_DRIVE: the first empty one) and opens it with
 * tv_tape_open(mode) (so a test build's fault wrapper applies).  If the cartridge
 * already sits in that drive it is just opened.  *drive_out (may be NULL)
 * gets the drive.  The caller closes the tape, then unloads.
 * Errors: TV_ERR_NOTFOUND, TV_ERR_STATE (drive full, cartridge in another
 * drive, all drives full), and whatever opening the image gives. */
int tv_vlib_load(struct tv_vlib *l, const char *barcode, int drive, int mode,
                 struct tv_tape **out, unsigned *drive_out);
/* Returns the cartridge in `drive` to the slot it came from (or the first
 * free slot if that one was taken).  *slot (may be NULL) gets the slot.
 * The tape must be closed first.  TV_ERR_STATE if the drive is empty. */
int tv_vlib_unload(struct tv_vlib *l, unsigned drive, unsigned *slot);
/* The same at the end of a job: an empty drive is no error. */
int tv_vlib_unload_if_loaded(struct tv_vlib *l, unsigned drive);

/* Takes a cartridge out of the library: its image and sidecar move to
 * to_dir (created if missing; rename, or copy + fsync + unlink across file
 * systems) and its element becomes empty.  Files already in to_dir are
 * never replaced (TV_ERR_EXISTS).  TV_ERR_STATE if it is in a drive.
 * A real SCSI library moves it to a free mail slot for the operator to
 * take out (to_dir is not used).  where (may be NULL) gets where it went
 * ("/box", "mail slot 2"). */
int tv_vlib_export(struct tv_vlib *l, const char *barcode, const char *to_dir);
int tv_vlib_export_to(struct tv_vlib *l, const char *barcode, const char *to_dir,
                      char *where, size_t wsz);

/* Moves a cartridge from one element to another (`tape move`, mtx's
 * transfer/load/unload).  A cartridge leaving a drive is ejected first;
 * the drive's tape must be closed.  Errors: TV_ERR_INVAL (no such
 * element), TV_ERR_NOTFOUND (from is empty), TV_ERR_EXISTS (to is full),
 * TV_ERR_STATE (in use), TV_ERR_IO (the robot failed: the detail has the
 * changer's sense). */
int tv_vlib_move(struct tv_vlib *l, const struct tv_vlib_loc *from,
                 const struct tv_vlib_loc *to);

/* Puts a foreign cartridge image into the library.  The barcode comes from
 * the sidecar FILE.json if there is one (and names a barcode), else from
 * the file name BARCODE.tap.  The image (and sidecar; one is written if
 * missing, with capacity max(default, image size)) moves into the library
 * as BARCODE.tap, passes through a free mail slot if there is one, and
 * lands in the first free storage slot.  flags: TV_VLIB_INSERT_COPY copies
 * instead of moving (the file stays where it was).  barcode_out (32 bytes)
 * and *slot may be NULL.  Errors: TV_ERR_INVAL (no barcode to be found),
 * TV_ERR_EXISTS (barcode already in the library), TV_ERR_NOSPC (full). */
#define TV_VLIB_INSERT_COPY 0x1
int tv_vlib_insert(struct tv_vlib *l, const char *file, int flags,
                   char barcode_out[32], unsigned *slot);

/* A SCSI changer checks every element again (INITIALIZE ELEMENT STATUS:
 * scans the bar code labels; minutes on a large library).  Nothing to do
 * for a virtual library. */
int tv_vlib_scan(struct tv_vlib *l);

/* Where the cartridge is.  TV_ERR_NOTFOUND if not in the library. */
int tv_vlib_find(struct tv_vlib *l, const char *barcode, struct tv_vlib_elem *e);
/* Barcodes of all cartridges in the library, sorted.  *list is one
 * allocation (pointers followed by the strings): free(*list). */
int tv_vlib_barcodes(struct tv_vlib *l, char ***list, size_t *n);
/* Path of a cartridge's image (DIR/BARCODE.tap); TV_ERR_NOTFOUND if the
 * cartridge is not in the library; TV_ERR_UNSUPPORTED for a real one. */
int tv_vlib_tape_path(struct tv_vlib *l, const char *barcode, char *buf,
                      size_t bufsz);

#endif
