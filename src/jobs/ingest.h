/* tapevault: reading a tape's contents into the catalog (catalog job,
 * decrypt, escrow apply). */
#ifndef TV_INGEST_H
#define TV_INGEST_H

#include <stdint.h>

#include "format/format.h"
#include "jobs/home.h"

struct tv_tape;

struct tv_tape_info {
	int64_t tape_id;
	char barcode[32];
	uint8_t uuid[16];
	int64_t pool_id, ms_id, lib_id;
	uint64_t seq;
	int encrypted;
	struct tv_media_set_label ms;
};

/* Record labels of a tape in the catalog (insert or update), creating an
 * imported pool / media set when they are unknown. */
int tv_ingest_labels(struct tv_home *h, int64_t lib_id, const char *barcode,
                     const struct tv_volume_label *vol, struct tv_tape_info *ti);
/* Read the tape's session catalog (or scan it when the catalog is missing
 * or damaged) into the catalog database.  dek NULL for plaintext tapes.
 * *scanned is set when the scan fallback ran.  Key ring entries unlock
 * further tapes (returned in *unlocked, count of new keys). */
int tv_ingest_contents(struct tv_home *h, struct tv_tape *t, struct tv_tape_info *ti,
                       const uint8_t *dek, int *scanned, int *unlocked);

#endif
