/* tapevault: the built-in tape backends (the one place that names them,
 * as libarchive's archive_read_support_format_all does).
 *
 *   /dev/nstN, /dev/stN   st: the Linux SCSI tape driver's ioctls
 *   /dev/sgN              sgtape: SCSI commands over SG_IO
 *   scsi:DEVICE           sgtape over SG_IO on any node that passes it
 *                         through (scsi:/dev/nst0)
 *   anything else         vtape: a SIMH image file
 * The emulated library's drives ("emulated:N@DIR") are registered by the
 * library layer, which holds the emulator. */
#include "tape/tape.h"

#include "scsi/scsi.h"
#include "util/err.h"

#include <string.h>

static int st_claims(const char *path)
{
	return strncmp(path, "/dev/nst", 8) == 0 || strncmp(path, "/dev/st", 7) == 0;
}

static int sg_claims(const char *path)
{
	return strncmp(path, "/dev/sg", 7) == 0 || strncmp(path, "scsi:", 5) == 0;
}

static int sg_open(const char *path, int mode, struct tv_tape **out)
{
	struct tv_scsi_transport *tr;
	const char *dev = strncmp(path, "scsi:", 5) == 0 ? path + 5 : path;
	int rc;

	if (*dev == '\0')
		return tv_errf(TV_ERR_INVAL, "open tape %s: scsi: needs a device (scsi:/dev/nst0)",
		               path);
	if ((rc = tv_scsi_sg_open(dev, &tr)) != 0)
		return rc;
	return tv_sgtape_open(tr, 1, dev, mode, out);
}

static int vtape_claims(const char *path)
{
	(void)path;
	return 1;   /* anything else is an image file */
}

static const struct tv_tape_backend st_backend = { "st", st_claims, tv_st_open };
static const struct tv_tape_backend sg_backend = { "scsi", sg_claims, sg_open };
static const struct tv_tape_backend vtape_backend = { "vtape", vtape_claims, tv_vtape_open };

/* Asked newest first: vtape, which takes every name, goes in first. */
void tv_tape_register_builtin(void)
{
	(void)tv_tape_register(&vtape_backend);
	(void)tv_tape_register(&sg_backend);
	(void)tv_tape_register(&st_backend);
}
