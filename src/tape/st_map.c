/* tapevault: st result mapping (see st_map.h).  No system calls here. */
#include "tape/st_map.h"

#include "util/err.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mtio.h>

void tv_st_map_init(struct tv_st_mstate *s)
{
	memset(s, 0, sizeof(*s));
}

void tv_st_map_moved(struct tv_st_mstate *s, int backward)
{
	s->eod = 0;
	s->enospc = 0;
	if (backward)
		s->ew = 0;
}

void tv_st_map_write_begin(struct tv_st_mstate *s)
{
	s->enospc = 0;
	s->eod = 0;
}

int tv_st_map_write(struct tv_st_mstate *s, long n, size_t len, int err)
{
	if (n >= 0 && (size_t)n == len) {
		if (s->enospc) {
			/* ENOSPC then success: the st early warning dance. */
			s->enospc = 0;
			s->ew = 1;
		}
		if (s->ew)
			return tv_errf(TV_ERR_EW, "early warning: end of medium near; "
			               "finish this tape and continue on another");
		return 0;
	}
	if (n >= 0)
		return tv_errf(TV_ERR_IO, "short write: the drive took %ld of %zu "
		               "bytes (a variable-block write must be all or nothing)",
		               n, len);
	switch (err) {
	case EINTR:
		return TV_ST_RETRY;
	case ENOSPC:
		if (!s->enospc) {
			s->enospc = 1;
			return TV_ST_RETRY;
		}
		s->enospc = 0;
		s->ew = 1;
		return tv_errf(TV_ERR_NOSPC, "end of medium: nothing written (the "
		               "drive refused the write twice with ENOSPC); continue "
		               "on another tape");
	case EROFS:
	case EACCES:
		return tv_errf(TV_ERR_WPROT, "the tape is write protected");
	case EINVAL:
		return tv_errf(TV_ERR_RANGE, "the drive refused a %zu-byte block (%s): "
		               "block too large for this drive or not in variable "
		               "block mode", len, strerror(err));
	default:
		return tv_errf(TV_ERR_IO, "write failed: %s", strerror(err));
	}
}

int tv_st_read_needs_status(long n, int err)
{
	return n == 0 || (n < 0 && err == EIO);
}

int tv_st_map_read(struct tv_st_mstate *s, long n, int err,
                   const struct tv_st_pos *pos)
{
	int have = pos != NULL && pos->valid;

	if (n > 0) {
		s->eod = 0;
		return 0;
	}
	if (n == 0) {
		if (have && GMT_EOD(pos->gstat)) {
			s->eod = 1;
			return tv_errf(TV_ERR_EOD, "end of recorded data");
		}
		/* 0 bytes without EOD: the filemark was read (consumed). */
		return tv_errf(TV_ERR_FILEMARK, "filemark");
	}
	switch (err) {
	case EINTR:
		return TV_ST_RETRY;
	case ENOMEM:
		return tv_errf(TV_ERR_RANGE, "record larger than the read buffer; "
		               "skipped");
	case ENOSPC:
		s->eod = 1;
		return tv_errf(TV_ERR_EOD, "end of medium");
	case EIO:
		if (s->eod || (have && GMT_EOD(pos->gstat))) {
			s->eod = 1;
			return tv_errf(TV_ERR_EOD, "end of recorded data");
		}
		return tv_errf(TV_ERR_IO, "read failed: %s (medium or drive error)",
		               strerror(err));
	default:
		return tv_errf(TV_ERR_IO, "read failed: %s", strerror(err));
	}
}

int tv_st_map_space(enum tv_st_space op, int err, const struct tv_st_pos *before,
                    const struct tv_st_pos *after, enum tv_st_fix *fix)
{
	int have = after != NULL && after->valid;
	int eod = have && GMT_EOD(after->gstat);
	int bot = have && GMT_BOT(after->gstat);
	int fm_crossed = have && GMT_EOF(after->gstat);

	*fix = TV_ST_FIX_NONE;
	if (have && before != NULL && before->valid && before->fileno >= 0 &&
	    after->fileno >= 0 && after->fileno != before->fileno)
		fm_crossed = 1;
	switch (op) {
	case TV_ST_FSF:
		if (eod || err == ENOSPC)
			return tv_errf(TV_ERR_EOD, "end of data while spacing forward "
			               "over filemarks");
		break;
	case TV_ST_BSF:
		if (bot)
			return tv_errf(TV_ERR_EOF, "beginning of tape while spacing back "
			               "over filemarks");
		break;
	case TV_ST_FSR:
		if (eod || err == ENOSPC)
			return tv_errf(TV_ERR_EOD, "end of data while spacing forward "
			               "over records");
		if (fm_crossed) {
			*fix = TV_ST_FIX_BSF1;
			return tv_errf(TV_ERR_FILEMARK, "filemark while spacing forward "
			               "over records");
		}
		break;
	case TV_ST_BSR:
		if (bot)
			return tv_errf(TV_ERR_EOF, "beginning of tape while spacing back "
			               "over records");
		if (fm_crossed) {
			*fix = TV_ST_FIX_FSF1;
			return tv_errf(TV_ERR_FILEMARK, "filemark while spacing back over "
			               "records");
		}
		break;
	}
	return tv_errf(TV_ERR_IO, "spacing failed: %s", strerror(err));
}

void tv_st_map_status(const struct tv_st_pos *pos, const struct tv_st_mstate *s,
                      struct tv_tape_status *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->file_no = pos->fileno >= 0 ? (uint64_t)pos->fileno : TV_TAPE_POS_UNKNOWN;
	ts->block_no = pos->blkno >= 0 ? (uint64_t)pos->blkno : TV_TAPE_POS_UNKNOWN;
	ts->bot = GMT_BOT(pos->gstat) != 0;
	ts->eod = GMT_EOD(pos->gstat) != 0 || s->eod;
	ts->ew = GMT_EOT(pos->gstat) != 0 || s->ew;
	ts->write_protected = GMT_WR_PROT(pos->gstat) != 0;
	ts->capacity = 0;
	ts->used = 0;
}

int tv_st_map_open_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return TV_ERR_NOTFOUND;
	case EACCES:
	case EPERM:
		return TV_ERR_PERM;
	case EBUSY:
		return TV_ERR_STATE;
	case EROFS:
		return TV_ERR_WPROT;
	default:
		return TV_ERR_IO;
	}
}
