/* tapevault: a write session on one tape: load, label or position for
 * append, stream tape files, and finish with the session catalog. */
#ifndef TV_SESSION_H
#define TV_SESSION_H

#include <stdint.h>

#include "format/format.h"
#include "format/record.h"
#include "jobs/home.h"
#include "jobs/jobs.h"

struct tv_session {
	struct tv_home *h;
	struct tv_vlib *lib;
	int drive;
	struct tv_tape *t;
	struct tv_twriter *w;
	int64_t tape_id;
	char barcode[32];
	uint8_t uuid[16];
	uint8_t dek[TV_DEK_LEN];
	int encrypted;
	uint32_t file_no;            /* next tape file number */
	uint64_t seq;                /* the tape's sequence in its media set */
	uint64_t session_no;         /* this write session on the tape */
	int64_t pool_id, ms_id;
	uint8_t ms_uuid[16];
	size_t record_size;
	struct tv_twriter_opts wo;   /* compression, frame callback */
	int dev_failed;              /* the drive refused a write: the session
	                              * is lost, the tape may be given up */
};

/* Loads the tape into drive; when append, checks its labels against the
 * catalog, loads its data key and positions at its old catalog file.  wo:
 * the writer's options (record_size is taken from the tape's label when
 * appending). */
int tv_session_open(struct tv_session *s, struct tv_home *h, struct tv_vlib *lib,
                    int drive, int64_t tape_id, const char *barcode, int append,
                    const struct tv_twriter_opts *wo);
/* New tape: fresh UUID and data key, key slots per the pool's encryption,
 * writes volume label and media set label, records the tape in the pool. */
int tv_session_label(struct tv_session *s, const struct tv_pool *pool, int64_t ms_id,
                     const uint8_t ms_uuid[16], uint64_t seq);
/* Writes the session catalog file and closes the tape. */
int tv_session_finish(struct tv_session *s);
void tv_session_abort(struct tv_session *s);

#endif
