/* tapevault: how Linux st (SCSI tape) results map onto the tape.h
 * semantics.  Pure functions of (syscall result, errno, MTIOCGET status,
 * a little state), kept apart from st.c so tests/unit/test_tape_st.c can
 * drive the state machine without a drive.  Internal to src/tape.
 *
 * The st quirks being mapped (the Linux kernel's Documentation/scsi/st.rst):
 * - variable block mode: one write() is one record;
 * - read() returning 0 is a filemark, or end of data (told apart with
 *   MTIOCGET's GMT_EOD); at EOD a second read returns 0 and later reads
 *   fail with EIO: we remember EOD and answer it without asking the drive;
 * - a read buffer smaller than the record: ENOMEM, the record is skipped;
 * - early warning: the write that reaches it succeeds, the next write
 *   fails with ENOSPC having written nothing, and after that writes
 *   alternate between success and ENOSPC until the physical end, where
 *   they fail for good.  We retry a write once after ENOSPC: success then
 *   is TV_ERR_EW (written), a second ENOSPC is TV_ERR_NOSPC (not written);
 *   once past EW every successful write reports TV_ERR_EW;
 * - MTFSR/MTBSR stop on a filemark after crossing it: the caller moves
 *   back over it (tape.h wants the near side) as told by *fix. */
#ifndef TV_TAPE_ST_MAP_H
#define TV_TAPE_ST_MAP_H

#include <stddef.h>

#include "tape/tape.h"

/* Positive, so it never collides with a TV_ERR_* code: issue the same
 * operation again. */
#define TV_ST_RETRY 1

struct tv_st_mstate {
	int ew;          /* early warning passed (cleared by rewind/back space) */
	int eod;         /* a read met EOD: answer EOD until the next move */
	int enospc;      /* the current write already got one ENOSPC */
};

/* Drive status as read with MTIOCGET (valid = 0 when that failed). */
struct tv_st_pos {
	int valid;
	long fileno;     /* mt_fileno, -1 unknown */
	long blkno;      /* mt_blkno, -1 unknown */
	unsigned long gstat;
	long resid;
};

enum tv_st_space { TV_ST_FSF, TV_ST_BSF, TV_ST_FSR, TV_ST_BSR };
enum tv_st_fix { TV_ST_FIX_NONE = 0, TV_ST_FIX_BSF1, TV_ST_FIX_FSF1 };

void tv_st_map_init(struct tv_st_mstate *s);
/* After a positioning op; backward (or rewind) also forgets EW. */
void tv_st_map_moved(struct tv_st_mstate *s, int backward);

/* Call before each write (or filemark write) operation. */
void tv_st_map_write_begin(struct tv_st_mstate *s);
/* n: write()'s result (-1 on error, err = errno), len the record size;
 * for MTWEOF(I) pass n = 0 and len = 0 on success, n = -1 on failure.
 * Returns 0, TV_ERR_EW, TV_ERR_NOSPC, TV_ERR_WPROT, TV_ERR_RANGE (the
 * drive refuses that block size), TV_ERR_IO, or TV_ST_RETRY. */
int tv_st_map_write(struct tv_st_mstate *s, long n, size_t len, int err);

/* 1 when the read result needs the drive status (MTIOCGET) to be mapped. */
int tv_st_read_needs_status(long n, int err);
/* n: read()'s result (-1 on error, err = errno); pos: status after the
 * read (needed when tv_st_read_needs_status).  Returns 0 (n > 0 bytes),
 * TV_ERR_FILEMARK, TV_ERR_EOD, TV_ERR_RANGE (record longer than the
 * buffer: skipped), TV_ERR_IO, or TV_ST_RETRY (EINTR). */
int tv_st_map_read(struct tv_st_mstate *s, long n, int err,
                   const struct tv_st_pos *pos);

/* A spacing ioctl failed with err; before/after: status around it.
 * Returns TV_ERR_EOD, TV_ERR_EOF (BOT), TV_ERR_FILEMARK (record spacing
 * met a filemark; *fix says how to get back to its near side) or
 * TV_ERR_IO. */
int tv_st_map_space(enum tv_st_space op, int err, const struct tv_st_pos *before,
                    const struct tv_st_pos *after, enum tv_st_fix *fix);

/* Fill a tv_tape_status from MTIOCGET values and the mapping state. */
void tv_st_map_status(const struct tv_st_pos *pos, const struct tv_st_mstate *s,
                      struct tv_tape_status *ts);

/* errno of a failed open() -> TV_ERR_* code. */
int tv_st_map_open_errno(int err);

#endif
