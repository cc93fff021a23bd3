/* tapevault: reading a tape's contents into the catalog (catalog job,
 * decrypt, escrow apply). */
#ifndef TV_INGEST_H
#define TV_INGEST_H

#include <stdint.h>

#include "format/format.h"
#include "format/record.h"
#include "jobs/home.h"

struct tv_tape;

struct tv_tape_info {
	int64_t tape_id;
	char barcode[32];
	uint8_t uuid[16];
	int64_t pool_id, ms_id, lib_id;
	uint64_t seq;
	int encrypted;
	struct tv_tape_labels lab;   /* as read from the tape (tv_labels_read) */
	uint64_t refused;            /* tape files or items refused (forged, damaged) */
};

/* Record the labels in ti->lab in the catalog (insert or update), creating
 * an imported pool / media set when they are unknown.  A tape this
 * installation knows as encrypted stays so: a label that now says
 * plaintext, or names another data key, is refused (TV_ERR_FORMAT, named). */
int tv_ingest_labels(struct tv_home *h, int64_t lib_id, const char *barcode,
                     struct tv_tape_info *ti);
/* Read the tape's session catalog (or scan it when the catalog is missing,
 * damaged or refused) into the catalog database.  dek NULL for plaintext
 * tapes; with a dek the labels are authenticated first.  *scanned is set
 * when the scan ran; *unlocked counts new keys from key rings;
 * ti->refused counts what was refused. */
int tv_ingest_contents(struct tv_home *h, struct tv_tape *t, struct tv_tape_info *ti,
                       const uint8_t *dek, int *scanned, int *unlocked);

#endif
