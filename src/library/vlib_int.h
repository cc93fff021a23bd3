/* tapevault: inside the library layer.  A library is one of two kinds,
 * chosen when it is opened from what its library.json says:
 *
 *   directory  today's virtual library: state in DIR/library.json,
 *              cartridges DIR/BARCODE.tap (vlib.c)
 *   scsi       a SCSI medium changer and its drives (vlib_scsi.c): a real
 *              one (/dev/sgN and the drives' devices), or the emulated one
 *              of library/scsiemu.c, which keeps its own element state as
 *              a directory library in DIR/emulator.json
 *
 * The public tv_vlib_* functions (library.c) check their arguments and
 * call the kind's operations, as libarchive calls a format's. */
#ifndef TV_LIBRARY_VLIB_INT_H
#define TV_LIBRARY_VLIB_INT_H

#include "library/vlib.h"

struct vlib_ops {
	const char *kind;
	int (*status)(struct tv_vlib *l, struct tv_vlib_info *info,
	              struct tv_vlib_elem **elems, size_t *n);
	int (*new_tape)(struct tv_vlib *l, const char *barcode, uint64_t capacity,
	                uint64_t early_warning, unsigned *slot);
	int (*load)(struct tv_vlib *l, const char *barcode, int drive, int mode,
	            struct tv_tape **out, unsigned *drive_out);
	int (*unload)(struct tv_vlib *l, unsigned drive, unsigned *slot, int if_loaded);
	int (*move)(struct tv_vlib *l, const struct tv_vlib_loc *from,
	            const struct tv_vlib_loc *to);
	int (*export_tape)(struct tv_vlib *l, const char *barcode, const char *to_dir,
	                   char *where, size_t wsz);
	int (*insert)(struct tv_vlib *l, const char *file, int flags, char barcode_out[32],
	              unsigned *slot);
	int (*find)(struct tv_vlib *l, const char *barcode, struct tv_vlib_elem *e);
	int (*barcodes)(struct tv_vlib *l, char ***list, size_t *n);
	int (*tape_path)(struct tv_vlib *l, const char *barcode, char *buf, size_t bufsz);
	int (*scan)(struct tv_vlib *l);          /* optional */
	void (*close)(struct tv_vlib *l);
};

struct tv_vlib {
	const struct vlib_ops *ops;
	char *dir;
	char name[TV_VLIB_NAME_MAX + 1];
	/* directory kind: its state and lock files in dir */
	const char *state_file;
	const char *lock_file;
	void *impl;                      /* scsi kind */
};

#define TV_VLIB_JSON "library.json"
#define TV_VLIB_LOCK "library.lock"
#define TV_VLIB_FORMAT_DIR "tapevault-vlib"
#define TV_VLIB_FORMAT_SCSI "tapevault-scsi-library"

/* names (vlib.c) */
int tv_vlib_name_check(const char *name);

/* The directory kind on a state file of the caller's choice (the
 * emulator keeps its elements in one: EMU_STATE).  create: as
 * tv_vlib_create. */
extern const struct vlib_ops tv_vlib_dir_ops;
int tv_vlib_dir_create(const char *dir, const char *state_file, const char *lock_file,
                       const char *name, unsigned slots, unsigned drives,
                       unsigned mailslots, struct tv_vlib **out);
int tv_vlib_dir_open(const char *dir, const char *state_file, const char *lock_file,
                     struct tv_vlib **out);
/* insert flag (directory kind): the cartridge stays in a free mail slot
 * (*slot is then the mail slot), for the emulator's operator. */
#define TV_VLIB_INSERT_TO_MAIL 0x100
/* 1 if some process holds the cartridge image open (the vtape lock). */
int tv_vlib_image_in_use(const char *path);

/* The SCSI kind (vlib_scsi.c). */
int tv_vlib_scsi_open(const char *dir, struct tv_vlib **out);
int tv_vlib_scsi_write_config(const char *dir, const char *name, const char *changer,
                              const char *const *drives, unsigned ndrives);

#endif
