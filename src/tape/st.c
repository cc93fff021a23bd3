/* tapevault: Linux SCSI tape backend (/dev/nstN, variable block mode).
 *
 * NOTE: this backend cannot be exercised in CI or on development machines
 * without a tape drive; the errno/status mapping it relies on lives in
 * st_map.c and is unit-tested in tests/unit/test_tape_st.c.  What is left
 * here is thin ioctl plumbing; check it on real hardware (mt-st's `mt` and
 * `tapevault tape dump /dev/nst0`) before trusting a release with it.
 *
 * Use the non-rewinding device (/dev/nstN): /dev/stN rewinds on close.
 * The st driver writes a filemark on close after a record write (unlike
 * vtape); filemarks are written with MTWEOFI (immediate, no buffer flush,
 * so many small tape files keep streaming) and the buffer is flushed with
 * MTWEOF 0 on close after writes. */
#include "tape/st_map.h"
#include "tape/tape.h"

#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <unistd.h>

#ifndef MTWEOFI
#define MTWEOFI 35              /* linux/mtio.h, since 2.6.37 */
#endif

#define ST_MAX_RETRY 8          /* EINTR retries */

struct st_tape {
	struct tv_tape base;
	int fd;
	int wp;
	int wrote;
	struct tv_st_mstate ms;
};

static struct st_tape *ST(struct tv_tape *t) { return (struct st_tape *)t; }

static int st_op(struct st_tape *s, short op, int count)
{
	struct mtop mt = { .mt_op = op, .mt_count = count };
	int rc;

	while ((rc = ioctl(s->fd, MTIOCTOP, &mt)) != 0 && errno == EINTR)
		;
	return rc;
}

static void st_getpos(struct st_tape *s, struct tv_st_pos *p)
{
	struct mtget g;

	memset(p, 0, sizeof(*p));
	p->fileno = p->blkno = -1;
	if (ioctl(s->fd, MTIOCGET, &g) != 0)
		return;
	p->valid = 1;
	p->fileno = (long)g.mt_fileno;
	p->blkno = (long)g.mt_blkno;
	p->gstat = (unsigned long)g.mt_gstat;
	p->resid = g.mt_resid;
}

/* Prefix the mapping's detail with the device and its logical block
 * position (MTIOCPOS), so an error names where on the tape it happened. */
static int st_ctx(struct st_tape *s, int rc)
{
	struct mtpos mp;

	if (rc >= 0)
		return rc;
	if (ioctl(s->fd, MTIOCPOS, &mp) == 0)
		return tv_errctx(rc, "tape drive %s (logical block %ld)", s->base.name,
		                 (long)mp.mt_blkno);
	return tv_errctx(rc, "tape drive %s", s->base.name);
}

static int st_read(struct tv_tape *t, void *buf, size_t cap, size_t *got)
{
	struct st_tape *s = ST(t);
	struct tv_st_pos pos;
	int rc;

	*got = 0;
	if (s->ms.eod)
		return tv_errf(TV_ERR_EOD, "tape drive %s: end of recorded data", t->name);
	if (cap > (size_t)INT_MAX)
		cap = (size_t)INT_MAX;
	for (int tries = 0; ; tries++) {
		ssize_t n = read(s->fd, buf, cap);
		int err = n < 0 ? errno : 0;

		memset(&pos, 0, sizeof(pos));
		if (tv_st_read_needs_status((long)n, err))
			st_getpos(s, &pos);
		rc = tv_st_map_read(&s->ms, (long)n, err, &pos);
		if (rc == TV_ST_RETRY && tries < ST_MAX_RETRY)
			continue;
		if (rc == TV_ST_RETRY)
			rc = tv_errf(TV_ERR_IO, "read interrupted too often");
		if (rc == 0)
			*got = (size_t)n;
		break;
	}
	return rc == 0 || rc == TV_ERR_FILEMARK ? rc : st_ctx(s, rc);
}

static int st_write(struct tv_tape *t, const void *buf, size_t len)
{
	struct st_tape *s = ST(t);
	int rc;

	if (s->wp)
		return tv_errf(TV_ERR_WPROT, "tape drive %s: the tape is write "
		               "protected", t->name);
	if (len > (size_t)INT_MAX)
		return tv_errf(TV_ERR_RANGE, "tape drive %s: record of %zu bytes is too "
		               "large", t->name, len);
	tv_st_map_write_begin(&s->ms);
	for (int tries = 0; ; tries++) {
		ssize_t n = write(s->fd, buf, len);
		rc = tv_st_map_write(&s->ms, (long)n, len, n < 0 ? errno : 0);
		if (rc != TV_ST_RETRY)
			break;
		if (tries >= ST_MAX_RETRY) {
			rc = tv_errf(TV_ERR_IO, "write interrupted too often");
			break;
		}
	}
	if (rc == 0 || rc == TV_ERR_EW)
		s->wrote = 1;
	return rc == 0 ? 0 : st_ctx(s, rc);
}

static int st_write_filemarks(struct tv_tape *t, unsigned count)
{
	struct st_tape *s = ST(t);
	int rc;

	if (s->wp)
		return tv_errf(TV_ERR_WPROT, "tape drive %s: the tape is write "
		               "protected", t->name);
	if (count > INT_MAX)
		return tv_errf(TV_ERR_RANGE, "tape drive %s: too many filemarks", t->name);
	if (count == 0)
		return 0;
	tv_st_map_write_begin(&s->ms);
	for (int tries = 0; ; tries++) {
		int r = st_op(s, MTWEOFI, (int)count);
		if (r != 0 && errno == EINVAL && tries == 0)   /* old kernel */
			r = st_op(s, MTWEOF, (int)count);
		rc = tv_st_map_write(&s->ms, r == 0 ? 0 : -1, 0, r == 0 ? 0 : errno);
		if (rc != TV_ST_RETRY)
			break;
		if (tries >= ST_MAX_RETRY) {
			rc = tv_errf(TV_ERR_IO, "filemark write interrupted too often");
			break;
		}
	}
	if (rc == 0 || rc == TV_ERR_EW)
		s->wrote = 1;
	return rc == 0 ? 0 : st_ctx(s, rc);
}

static int st_rewind(struct tv_tape *t)
{
	struct st_tape *s = ST(t);

	tv_st_map_moved(&s->ms, 1);
	if (st_op(s, MTREW, 1) != 0)
		return st_ctx(s, tv_errf(TV_ERR_IO, "rewind failed: %s", strerror(errno)));
	return 0;
}

static int st_space(struct st_tape *s, enum tv_st_space op, long count)
{
	static const short mtops[] = {
		[TV_ST_FSF] = MTFSF, [TV_ST_BSF] = MTBSF,
		[TV_ST_FSR] = MTFSR, [TV_ST_BSR] = MTBSR,
	};
	struct tv_st_pos before, after;
	enum tv_st_fix fix;
	int backward = op == TV_ST_BSF || op == TV_ST_BSR;
	int files = op == TV_ST_FSF || op == TV_ST_BSF;
	int rc, err;

	if (count > INT_MAX)
		return tv_errf(TV_ERR_RANGE, "tape drive %s: space count %ld too large",
		               s->base.name, count);
	tv_st_map_moved(&s->ms, backward);
	st_getpos(s, &before);
	if (st_op(s, mtops[op], (int)count) == 0) {
		if (files)
			s->base.stats.files_spaced += (uint64_t)count;
		else
			s->base.stats.records_spaced += (uint64_t)count;
		return 0;
	}
	err = errno;
	st_getpos(s, &after);
	if (after.valid && after.resid >= 0 && after.resid <= count) {
		uint64_t done = (uint64_t)(count - after.resid);
		if (files)
			s->base.stats.files_spaced += done;
		else
			s->base.stats.records_spaced += done;
	}
	rc = tv_st_map_space(op, err, &before, &after, &fix);
	if (fix == TV_ST_FIX_BSF1 && st_op(s, MTBSF, 1) != 0)
		rc = tv_errf(TV_ERR_IO, "cannot move back over the filemark met while "
		             "spacing: %s", strerror(errno));
	else if (fix == TV_ST_FIX_FSF1 && st_op(s, MTFSF, 1) != 0)
		rc = tv_errf(TV_ERR_IO, "cannot move forward over the filemark met "
		             "while spacing: %s", strerror(errno));
	return st_ctx(s, rc);
}

static int st_space_files(struct tv_tape *t, long count)
{
	if (count > 0)
		return st_space(ST(t), TV_ST_FSF, count);
	if (count < 0)
		return st_space(ST(t), TV_ST_BSF, -count);
	return 0;
}

static int st_space_records(struct tv_tape *t, long count)
{
	if (count > 0)
		return st_space(ST(t), TV_ST_FSR, count);
	if (count < 0)
		return st_space(ST(t), TV_ST_BSR, -count);
	return 0;
}

static int st_seek_eod(struct tv_tape *t)
{
	struct st_tape *s = ST(t);

	tv_st_map_moved(&s->ms, 0);
	if (st_op(s, MTEOM, 1) != 0)
		return st_ctx(s, tv_errf(TV_ERR_IO, "cannot space to end of data: %s",
		                         strerror(errno)));
	return 0;
}

static int st_status(struct tv_tape *t, struct tv_tape_status *ts)
{
	struct st_tape *s = ST(t);
	struct tv_st_pos pos;

	st_getpos(s, &pos);
	if (!pos.valid)
		return tv_errf(TV_ERR_IO, "tape drive %s: cannot read the drive status "
		               "(MTIOCGET): %s", t->name, strerror(errno));
	tv_st_map_status(&pos, &s->ms, ts);
	if (s->wp)
		ts->write_protected = 1;
	return 0;
}

static int st_close(struct tv_tape *t)
{
	struct st_tape *s = ST(t);
	int rc = 0;

	/* Flush the drive buffer so that what we reported written is on the
	 * medium (MTWEOF with count 0 writes no filemark). */
	if (s->wrote && st_op(s, MTWEOF, 0) != 0)
		rc = tv_errf(TV_ERR_IO, "tape drive %s: flushing the drive buffer "
		             "failed: %s (the last records may not be on tape)",
		             t->name, strerror(errno));
	if (close(s->fd) != 0 && rc == 0 && s->wrote)
		rc = tv_errf(TV_ERR_IO, "tape drive %s: error on close: %s", t->name,
		             strerror(errno));
	free(s);
	return rc;
}

/* Short erase (MTERASE 0: ERASE with LONG=0): end of data here. */
static int st_erase(struct tv_tape *t)
{
	struct st_tape *s = ST(t);

	if (s->wp)
		return tv_errf(TV_ERR_WPROT, "tape drive %s: the tape is write protected", t->name);
	tv_st_map_moved(&s->ms, 0);
	if (st_op(s, MTERASE, 0) != 0)
		return st_ctx(s, tv_errf(TV_ERR_IO, "erase failed: %s", strerror(errno)));
	s->wrote = 0;
	return 0;
}

static const struct tv_tape_ops st_ops = {
	.version = TV_TAPE_OPS_VERSION,
	.kind = "st",
	.read = st_read,
	.write = st_write,
	.write_filemarks = st_write_filemarks,
	.rewind = st_rewind,
	.space_files = st_space_files,
	.space_records = st_space_records,
	.seek_eod = st_seek_eod,
	.status = st_status,
	.close = st_close,
	.erase = st_erase,
};

int tv_st_open(const char *dev, int mode, struct tv_tape **out)
{
	struct st_tape *s;
	struct tv_st_pos pos;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (dev == NULL || out == NULL)
		return tv_errf(TV_ERR_INVAL, "tv_st_open: no device");
	if (strlen(dev) >= sizeof(s->base.name))
		return tv_errf(TV_ERR_RANGE, "tape device name too long");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	s->base.ops = &st_ops;
	s->base.readonly = mode != TV_TAPE_RDWR;
	memcpy(s->base.name, dev, strlen(dev) + 1);
	tv_st_map_init(&s->ms);
	s->fd = open(dev, (mode == TV_TAPE_RDWR ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (s->fd < 0 && mode == TV_TAPE_RDWR && errno == EROFS) {
		/* The cartridge's write protect tab is set. */
		s->fd = open(dev, O_RDONLY | O_CLOEXEC);
		s->wp = 1;
	}
	if (s->fd < 0) {
		int err = errno;
		rc = tv_st_map_open_errno(err);
		if (rc == TV_ERR_PERM)
			rc = tv_errf(rc, "cannot open tape drive %s: %s (is the user in "
			             "the 'tape' group?)", dev, strerror(err));
		else if (rc == TV_ERR_STATE)
			rc = tv_errf(rc, "tape drive %s is busy (used by another "
			             "process)", dev);
		else
			rc = tv_errf(rc, "cannot open tape drive %s: %s (is a tape "
			             "loaded?)", dev, strerror(err));
		free(s);
		return rc;
	}
	/* Variable block mode: one write() = one record of any size. */
	if (st_op(s, MTSETBLK, 0) != 0) {
		rc = tv_errf(TV_ERR_IO, "tape drive %s: cannot set variable block mode "
		             "(MTSETBLK 0): %s", dev, strerror(errno));
		close(s->fd);
		free(s);
		return rc;
	}
	st_getpos(s, &pos);
	if (pos.valid && GMT_WR_PROT(pos.gstat))
		s->wp = 1;
	*out = &s->base;
	return 0;
}

int tv_st_unload(const char *dev)
{
	struct st_tape s;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s.fd < 0) {
		int err = errno;
		return tv_errf(tv_st_map_open_errno(err), "cannot open tape drive %s to eject: %s",
		               dev, strerror(err));
	}
	if (st_op(&s, MTOFFL, 1) != 0 && errno != ENOMEDIUM)
		rc = tv_errf(errno == EBUSY ? TV_ERR_STATE : TV_ERR_IO, "tape drive %s: cannot "
		             "eject the cartridge (MTOFFL): %s", dev, strerror(errno));
	close(s.fd);
	return rc;
}
