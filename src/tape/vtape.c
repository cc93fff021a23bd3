/* tapevault: virtual tapes as SIMH .tap images (docs/FORMAT.md section 2).
 *
 * Image layout: a sequence of
 *   record    LEN (u32 LE) | data, padded to even length | LEN
 *   filemark  0x00000000
 *   EOM       0xFFFFFFFF (optional; the end of the file is also EOM)
 * LEN bits 31..28 are the SIMH record class: 0 = good record, 8 = bad
 * record (bit 31, "read returns TV_ERR_BADREC and skips it"); every other
 * class is refused as TV_ERR_FORMAT.  Bits 27..0 are the data length; SIMH
 * limits it to 24 bits, and so do we (TV_VTAPE_MAX_RECORD).
 *
 * The image is untrusted input (anyone can insert a file as a cartridge):
 * every length is checked against the file size before use, a record's
 * leading and trailing LEN must agree, and every loop advances by at least
 * four bytes, so a malformed image gives TV_ERR_FORMAT with the image name
 * and byte offset, never a crash or a hang.
 *
 * Torn tail: a write cut off by a crash or power loss leaves an incomplete
 * last record.  An incomplete record at the end of the file whose LEN word
 * is plausible (valid class, length <= TV_VTAPE_MAX_RECORD) reads as end of
 * data; status() then reports torn = 1 and the EOD detail says so; the next
 * write at EOD cuts it off.  An implausible LEN reaching past the end of
 * the file is corruption: TV_ERR_FORMAT.
 *
 * Performance: one pwritev() per record (header, caller's data, pad and
 * trailer in one call) and, when overwriting, one ftruncate() before it;
 * one preadv() per record read (data straight into the caller's buffer,
 * plus the trailer and the next record's LEN word, which is cached).
 * Forward spacing reads only the LEN words (8 bytes per record).
 *
 * Durability: data written is fsync'ed on close (and on nothing else:
 * an fdatasync per filemark would make 10,000 small files crawl).  A crash
 * before close can lose the tail; what survives is read back as whole
 * records up to a torn tail, as above.
 *
 * Exclusive use: an open image holds an flock (shared for read-only, else
 * exclusive), like a cartridge sits in one drive; a second writer gets
 * TV_ERR_STATE instead of corrupting the image. */
#include "tape/tape.h"
#include "tape/tfile.h"

#include "util/buf.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define VT_EOM       0xFFFFFFFFu
#define VT_LEN_MASK  0x0FFFFFFFu
#define VT_CLASS_BAD 0x8u
#define VT_MAX_REC   TV_VTAPE_MAX_RECORD
#define VT_MAX_FM    (1u << 20)          /* filemarks per call */
#define SIDECAR_MAX  (64 * 1024)

struct vtape {
	struct tv_tape base;
	int fd;
	int wp;                  /* write protected (sidecar or file mode) */
	int wp_file;             /* ... because the image file is not writable */
	int dirty;               /* written since open: fsync on close */
	struct tv_vtape_attrs attrs;
	uint64_t size;           /* image file size */
	uint64_t pos;            /* byte offset of the current position */
	uint64_t file_no;
	uint64_t block_no;
	int block_known;         /* 0 after spacing backward over a filemark */
	/* end of data, once found (or after a write) */
	int eod_known;
	uint64_t eod_off, eod_file, eod_block;
	int eod_block_known;
	int torn;
	uint64_t torn_off, torn_have;
	/* the next LEN word, read along with the previous trailer */
	int peek_valid;
	uint64_t peek_off;
	uint32_t peek_word;
};

enum vt_kind { VT_REC, VT_BADREC, VT_FM, VT_EOD, VT_BOT };

struct vt_obj {
	enum vt_kind kind;
	uint32_t word;           /* the LEN word */
	uint32_t len;            /* data length */
	uint64_t extent;         /* bytes on the image: 8 + len + pad, or 4 */
	uint64_t start;          /* byte offset of the object (backward probe) */
};

static const struct tv_tape_ops vtape_ops;

static struct vtape *VT(struct tv_tape *t) { return (struct vtape *)t; }

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

uint64_t tv_vtape_default_ew(uint64_t capacity)
{
	uint64_t margin, half = capacity / 2;

	if (capacity == 0)
		return 0;
	/* the margin must hold what a writer has in flight when it learns of
	 * the early warning plus the session catalog.  The writer keeps no
	 * more than capacity/16 in flight on a tape of known capacity (and no
	 * more than its ring, under 100 MiB, on any): an eighth, at least
	 * 1 MiB, at most 1 GiB */
	margin = capacity / 8;
	if (margin < ((uint64_t)1 << 20))
		margin = (uint64_t)1 << 20;
	if (margin > ((uint64_t)1 << 30))
		margin = (uint64_t)1 << 30;
	if (margin >= capacity || capacity - margin < half)
		return capacity - half;   /* = ceil(capacity / 2) */
	return capacity - margin;
}

/* ------------------------------------------------------------------ */
/* low-level I/O                                                       */

static int vt_ioerr(struct vtape *v, const char *op, uint64_t off, int err)
{
	return tv_errf(TV_ERR_IO, "tape image %s: %s at byte offset %llu: %s",
	               v->base.name, op, ull(off), strerror(err));
}

/* Drop the first n bytes from an iovec array. */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt > 0 && n > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

/* Read exactly `total` bytes (the sum of the iovecs) at off. */
static int vt_preadv(struct vtape *v, struct iovec *iov, int cnt, uint64_t off,
                     size_t total)
{
	size_t done = 0;

	while (done < total) {
		ssize_t n = preadv(v->fd, iov, cnt, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vt_ioerr(v, "read error", off + done, errno);
		}
		if (n == 0)
			return tv_errf(TV_ERR_IO, "tape image %s: file ends at byte offset "
			               "%llu, before the end of the record being read (was "
			               "the image changed by another program while in use?)",
			               v->base.name, ull(off + done));
		done += (size_t)n;
		iov_advance(&iov, &cnt, (size_t)n);
	}
	return 0;
}

static int vt_pread(struct vtape *v, void *buf, size_t n, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = n };

	return vt_preadv(v, &iov, 1, off, n);
}

static int vt_pwritev(struct vtape *v, struct iovec *iov, int cnt, uint64_t off,
                      size_t total)
{
	size_t done = 0;

	while (done < total) {
		ssize_t n = pwritev(v->fd, iov, cnt, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC || errno == EDQUOT)
				return tv_errf(TV_ERR_IO, "tape image %s: the file system "
				               "holding the image is full (writing at byte "
				               "offset %llu): %s; free space there (this is "
				               "not the tape's capacity)", v->base.name,
				               ull(off + done), strerror(errno));
			return vt_ioerr(v, "write error", off + done, errno);
		}
		if (n == 0)
			return vt_ioerr(v, "write error", off + done, EIO);
		done += (size_t)n;
		iov_advance(&iov, &cnt, (size_t)n);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */

static int vt_bad_word(struct vtape *v, uint32_t w, uint64_t off, const char *where)
{
	unsigned cls = w >> 28;

	if (cls != 0 && cls != VT_CLASS_BAD)
		return tv_errf(TV_ERR_FORMAT, "tape image %s: unsupported SIMH %s word "
		               "0x%08X (class %X) at byte offset %llu: the image is "
		               "corrupt or uses SIMH extensions tapevault does not read",
		               v->base.name, where, (unsigned)w, cls, ull(off));
	return tv_errf(TV_ERR_FORMAT, "tape image %s: record length %u in the %s "
	               "word at byte offset %llu exceeds the SIMH maximum of %u "
	               "bytes: the image is corrupt", v->base.name,
	               (unsigned)(w & VT_LEN_MASK), where, ull(off), VT_MAX_REC);
}

static int vt_word_ok(uint32_t w)
{
	unsigned cls = w >> 28;

	return (cls == 0 || cls == VT_CLASS_BAD) && (w & VT_LEN_MASK) <= VT_MAX_REC;
}

static uint64_t vt_extent(uint32_t len) { return 8u + (uint64_t)len + (len & 1u); }

/* Describe the object at byte offset off (a record boundary). */
static int vt_probe(struct vtape *v, uint64_t off, struct vt_obj *o)
{
	uint64_t avail;
	uint32_t w;
	int rc;

	memset(o, 0, sizeof(*o));
	o->start = off;
	if (off >= v->size) {
		o->kind = VT_EOD;
		return 0;
	}
	avail = v->size - off;
	if (avail < 4) {
		v->torn = 1;
		v->torn_off = off;
		v->torn_have = avail;
		o->kind = VT_EOD;
		return 0;
	}
	if (v->peek_valid && v->peek_off == off) {
		w = v->peek_word;
	} else {
		/* Read the word after it too: if this is a filemark, that is the
		 * next LEN word (files of one small record stay one syscall per
		 * object). */
		uint8_t b8[8];
		size_t n = avail >= 8 ? 8 : 4;
		rc = vt_pread(v, b8, n, off);
		if (rc != 0)
			return rc;
		w = tv_get_le32(b8);
		if (w == 0 && n == 8) {
			v->peek_valid = 1;
			v->peek_off = off + 4;
			v->peek_word = tv_get_le32(b8 + 4);
		}
	}
	o->word = w;
	if (w == VT_EOM) {
		o->kind = VT_EOD;
		return 0;
	}
	if (w == 0) {
		o->kind = VT_FM;
		o->extent = 4;
		return 0;
	}
	if (!vt_word_ok(w))
		return vt_bad_word(v, w, off, "record length");
	o->len = w & VT_LEN_MASK;
	o->extent = vt_extent(o->len);
	o->kind = (w >> 28) == VT_CLASS_BAD ? VT_BADREC : VT_REC;
	if (o->extent > avail) {
		/* Incomplete last record: a torn write. */
		v->torn = 1;
		v->torn_off = off;
		v->torn_have = avail;
		o->kind = VT_EOD;
		o->extent = 0;
	}
	return 0;
}

/* Size of what follows a record's data that we read in the same call:
 * pad byte, trailer, and (if present) the next LEN word. */
static size_t vt_tail_len(struct vtape *v, const struct vt_obj *o)
{
	uint64_t end = o->start + o->extent;
	uint64_t next = v->size > end ? v->size - end : 0;

	return (o->len & 1u) + 4u + (size_t)(next < 4 ? next : 4);
}

/* Check the trailer in tail[] and cache the next LEN word. */
static int vt_check_tail(struct vtape *v, const struct vt_obj *o,
                         const uint8_t *tail, size_t tlen)
{
	size_t pad = o->len & 1u;
	uint32_t trailer = tv_get_le32(tail + pad);

	if (trailer != o->word)
		return tv_errf(TV_ERR_FORMAT, "tape image %s: record at byte offset "
		               "%llu: leading length word 0x%08X does not match its "
		               "trailing length word 0x%08X (at byte offset %llu): the "
		               "image is corrupt", v->base.name, ull(o->start),
		               (unsigned)o->word, (unsigned)trailer,
		               ull(o->start + 4 + o->len + pad));
	if (tlen == pad + 8) {
		v->peek_valid = 1;
		v->peek_off = o->start + o->extent;
		v->peek_word = tv_get_le32(tail + pad + 4);
	} else {
		v->peek_valid = 0;
	}
	return 0;
}

static void vt_fwd_record(struct vtape *v, const struct vt_obj *o)
{
	v->pos = o->start + o->extent;
	if (v->block_known)
		v->block_no++;
}

static void vt_fwd_filemark(struct vtape *v)
{
	v->pos += 4;
	v->file_no++;
	v->block_no = 0;
	v->block_known = 1;
}

/* Skip a record forward without reading its data (checks the trailer). */
static int vt_skip(struct vtape *v, const struct vt_obj *o)
{
	uint8_t tail[9];
	size_t tlen = vt_tail_len(v, o);
	int rc = vt_pread(v, tail, tlen, o->start + 4 + o->len);

	if (rc == 0)
		rc = vt_check_tail(v, o, tail, tlen);
	if (rc == 0)
		vt_fwd_record(v, o);
	return rc;
}

static void vt_note_eod(struct vtape *v)
{
	v->eod_known = 1;
	v->eod_off = v->pos;
	v->eod_file = v->file_no;
	v->eod_block = v->block_no;
	v->eod_block_known = v->block_known;
}

static int vt_eod(struct vtape *v)
{
	vt_note_eod(v);
	if (v->torn && v->torn_off == v->pos)
		return tv_errf(TV_ERR_EOD, "tape image %s: end of data at byte offset "
		               "%llu (file %llu): an incomplete record follows (%llu "
		               "bytes, cut off by a crash or power loss while writing); "
		               "it is ignored, and writing here discards it",
		               v->base.name, ull(v->pos), ull(v->file_no),
		               ull(v->torn_have));
	return tv_errf(TV_ERR_EOD, "tape image %s: end of recorded data (file %llu, "
	               "byte offset %llu)", v->base.name, ull(v->file_no), ull(v->pos));
}

/* Describe the object just before byte offset off (backward). */
static int vt_probe_back(struct vtape *v, uint64_t off, struct vt_obj *o)
{
	uint8_t b[4];
	uint32_t w, head;
	int rc;

	memset(o, 0, sizeof(*o));
	if (off == 0) {
		o->kind = VT_BOT;
		return 0;
	}
	if (off < 4)
		return tv_errf(TV_ERR_INTERNAL, "tape image %s: position %llu is not a "
		               "record boundary", v->base.name, ull(off));
	rc = vt_pread(v, b, 4, off - 4);
	if (rc != 0)
		return rc;
	w = tv_get_le32(b);
	o->word = w;
	if (w == 0) {
		o->kind = VT_FM;
		o->extent = 4;
		o->start = off - 4;
		return 0;
	}
	if (w == VT_EOM)
		return tv_errf(TV_ERR_FORMAT, "tape image %s: end-of-medium marker "
		               "before byte offset %llu, in the middle of the data: the "
		               "image is corrupt", v->base.name, ull(off));
	if (!vt_word_ok(w))
		return vt_bad_word(v, w, off - 4, "trailing length");
	o->len = w & VT_LEN_MASK;
	o->extent = vt_extent(o->len);
	if (o->extent > off)
		return tv_errf(TV_ERR_FORMAT, "tape image %s: trailing length word "
		               "0x%08X at byte offset %llu points before the start of "
		               "the image: the image is corrupt", v->base.name,
		               (unsigned)w, ull(off - 4));
	o->start = off - o->extent;
	rc = vt_pread(v, b, 4, o->start);
	if (rc != 0)
		return rc;
	head = tv_get_le32(b);
	if (head != w)
		return tv_errf(TV_ERR_FORMAT, "tape image %s: record ending at byte "
		               "offset %llu: trailing length word 0x%08X does not match "
		               "the leading length word 0x%08X at byte offset %llu: the "
		               "image is corrupt", v->base.name, ull(off), (unsigned)w,
		               (unsigned)head, ull(o->start));
	o->kind = (w >> 28) == VT_CLASS_BAD ? VT_BADREC : VT_REC;
	return 0;
}

static void vt_back_record(struct vtape *v, const struct vt_obj *o)
{
	v->pos = o->start;
	if (v->block_known) {
		if (v->block_no > 0)
			v->block_no--;
		else
			v->block_known = 0;   /* cannot happen on a consistent walk */
	}
}

static void vt_back_filemark(struct vtape *v, const struct vt_obj *o)
{
	v->pos = o->start;
	if (v->file_no > 0)
		v->file_no--;
	v->block_known = 0;
}

/* Records between the last filemark (or BOT) and the position. */
static int vt_count_block(struct vtape *v, uint64_t *blocks)
{
	uint64_t off = v->pos, n = 0;
	struct vt_obj o;
	int rc;

	for (;;) {
		rc = vt_probe_back(v, off, &o);
		if (rc != 0)
			return rc;
		if (o.kind == VT_BOT || o.kind == VT_FM)
			break;
		n++;
		off = o.start;
	}
	*blocks = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ops                                                                 */

/* One record into the pieces uiov[0..un) (cap bytes in all). */
static int vt_read_iov(struct tv_tape *t, const struct iovec *uiov, int un, size_t cap,
                       size_t *got)
{
	struct vtape *v = VT(t);
	struct vt_obj o;
	uint8_t tail[9];
	struct iovec iov[TV_TAPE_IOV_MAX + 1];
	size_t tlen, left;
	int rc, n = 0;

	*got = 0;
	rc = vt_probe(v, v->pos, &o);
	if (rc != 0)
		return rc;
	switch (o.kind) {
	case VT_EOD:
		return vt_eod(v);
	case VT_FM:
		vt_fwd_filemark(v);
		return tv_errf(TV_ERR_FILEMARK, "tape image %s: filemark (now at the "
		               "start of file %llu)", v->base.name, ull(v->file_no));
	case VT_BADREC:
		rc = vt_skip(v, &o);
		if (rc != 0)
			return rc;
		return tv_errf(TV_ERR_BADREC, "tape image %s: record %llu of file %llu "
		               "(byte offset %llu, %u bytes) is marked bad; skipped",
		               v->base.name, ull(v->block_known ? v->block_no - 1 : 0),
		               ull(v->file_no), ull(o.start), (unsigned)o.len);
	case VT_REC:
		break;
	default:
		return tv_errf(TV_ERR_INTERNAL, "vtape: unexpected object");
	}
	if (o.len > cap) {
		rc = vt_skip(v, &o);
		if (rc != 0)
			return rc;
		return tv_errf(TV_ERR_RANGE, "tape image %s: record at byte offset %llu "
		               "(file %llu) is %u bytes, larger than the read buffer "
		               "(%zu bytes); skipped", v->base.name, ull(o.start),
		               ull(v->file_no), (unsigned)o.len, cap);
	}
	tlen = vt_tail_len(v, &o);
	for (left = o.len; n < un && left > 0; n++) {
		iov[n].iov_base = uiov[n].iov_base;
		iov[n].iov_len = uiov[n].iov_len < left ? uiov[n].iov_len : left;
		left -= iov[n].iov_len;
	}
	iov[n].iov_base = tail;
	iov[n].iov_len = tlen;
	rc = vt_preadv(v, iov, n + 1, o.start + 4, o.len + tlen);
	if (rc == 0)
		rc = vt_check_tail(v, &o, tail, tlen);
	if (rc != 0)
		return rc;
	vt_fwd_record(v, &o);
	*got = o.len;
	return 0;
}

static int vt_read(struct tv_tape *t, void *buf, size_t cap, size_t *got)
{
	struct iovec iov = { buf, cap };

	return vt_read_iov(t, &iov, 1, cap, got);
}

static int vt_readv(struct tv_tape *t, const struct iovec *iov, int n, size_t *got)
{
	size_t cap = 0;

	for (int i = 0; i < n; i++)
		cap += iov[i].iov_len;
	return vt_read_iov(t, iov, n, cap, got);
}

/* Common part of writing `total` bytes at the position: checks, discards
 * what follows, writes.  Updates size/pos; the caller updates file/block
 * numbers and the EOD note. */
static int vt_put(struct vtape *v, struct iovec *iov, int cnt, size_t total,
                  const char *what)
{
	uint64_t start = v->pos, end;
	int rc;

	if (v->wp) {
		if (v->wp_file)
			return tv_errf(TV_ERR_WPROT, "tape image %s is write protected "
			               "(the file is not writable for this user)",
			               v->base.name);
		return tv_errf(TV_ERR_WPROT, "tape image %s (barcode %s) is write "
		               "protected (write_protected in %s.json); clear it to "
		               "write", v->base.name,
		               v->attrs.barcode[0] ? v->attrs.barcode : "none",
		               v->base.name);
	}
	if (total > UINT64_MAX - start)
		return tv_errf(TV_ERR_RANGE, "tape image %s: write too large",
		               v->base.name);
	end = start + total;
	if (v->attrs.capacity != 0 && end > v->attrs.capacity)
		return tv_errf(TV_ERR_NOSPC, "tape image %s is full: writing %s at byte "
		               "offset %llu would pass its capacity of %llu bytes; "
		               "nothing was written (continue on another tape)",
		               v->base.name, what, ull(start), ull(v->attrs.capacity));
	if (end > (uint64_t)INT64_MAX)
		return tv_errf(TV_ERR_NOSPC, "tape image %s: byte offset %llu is beyond "
		               "what a file can hold", v->base.name, ull(end));
	v->peek_valid = 0;
	v->eod_known = 0;
	v->torn = 0;
	if (v->size > start) {
		/* Cut first: if we crash between the two calls, the image ends
		 * cleanly at the position instead of mixing old and new. */
		if (ftruncate(v->fd, (off_t)start) != 0)
			return vt_ioerr(v, "cannot discard the data after the position",
			                start, errno);
		v->size = start;
		v->dirty = 1;
	}
	rc = vt_pwritev(v, iov, cnt, start, total);
	if (rc != 0) {
		struct stat sb;
		/* Leave no partial record behind. */
		if (ftruncate(v->fd, (off_t)start) == 0)
			v->size = start;
		else if (fstat(v->fd, &sb) == 0)
			v->size = (uint64_t)sb.st_size;
		v->dirty = 1;
		return rc;
	}
	v->size = end;
	v->pos = end;
	v->dirty = 1;
	return 0;
}

static int vt_after_write(struct vtape *v, const char *what)
{
	vt_note_eod(v);
	if (v->attrs.early_warning != 0 && v->pos > v->attrs.early_warning)
		return tv_errf(TV_ERR_EW, "tape image %s: early warning: %s written up "
		               "to byte offset %llu, past the early warning point (%llu "
		               "of %llu bytes): finish this tape and continue on another",
		               v->base.name, what, ull(v->pos),
		               ull(v->attrs.early_warning), ull(v->attrs.capacity));
	return 0;
}

static int vt_writev(struct tv_tape *t, const struct iovec *uiov, int un)
{
	struct vtape *v = VT(t);
	uint8_t head[4], tail[5] = { 0 };
	struct iovec iov[TV_TAPE_IOV_MAX + 2];
	size_t len = 0, pad;
	int rc;

	if (un < 1 || un > TV_TAPE_IOV_MAX)
		return tv_errf(TV_ERR_INVAL, "tape image %s: %d pieces for a record",
		               v->base.name, un);
	for (int i = 0; i < un; i++) {
		iov[1 + i].iov_base = uiov[i].iov_base;
		iov[1 + i].iov_len = uiov[i].iov_len;
		len += uiov[i].iov_len;
	}
	if (len == 0 || len > VT_MAX_REC)
		return tv_errf(TV_ERR_RANGE, "tape image %s: cannot write a record of "
		               "%zu bytes (a SIMH record holds 1 to %u bytes)",
		               v->base.name, len, VT_MAX_REC);
	pad = len & 1u;
	tv_put_le32(head, (uint32_t)len);
	tv_put_le32(tail + pad, (uint32_t)len);
	iov[0].iov_base = head;
	iov[0].iov_len = 4;
	iov[1 + un].iov_base = tail;
	iov[1 + un].iov_len = pad + 4;
	rc = vt_put(v, iov, un + 2, 8 + len + pad, "a record");
	if (rc != 0)
		return rc;
	if (v->block_known)
		v->block_no++;
	return vt_after_write(v, "record");
}

static int vt_write(struct tv_tape *t, const void *buf, size_t len)
{
	struct iovec iov = { (void *)(uintptr_t)buf, len };

	return vt_writev(t, &iov, 1);
}

static int vt_write_filemarks(struct tv_tape *t, unsigned count)
{
	static const uint8_t zeros[1024];
	struct vtape *v = VT(t);
	struct iovec iov[64];
	uint8_t *big = NULL;
	size_t total;
	int rc;

	if (count == 0)
		return 0;
	if (count > VT_MAX_FM)
		return tv_errf(TV_ERR_RANGE, "tape image %s: cannot write %u filemarks "
		               "in one call (limit %u)", v->base.name, count, VT_MAX_FM);
	total = (size_t)count * 4;
	if (total <= sizeof(zeros) * 64) {
		int n = 0;
		for (size_t left = total; left > 0; n++) {
			size_t c = left < sizeof(zeros) ? left : sizeof(zeros);
			iov[n].iov_base = (void *)(uintptr_t)zeros;
			iov[n].iov_len = c;
			left -= c;
		}
		rc = vt_put(v, iov, n, total, count == 1 ? "a filemark" : "filemarks");
	} else {
		big = calloc(count, 4);
		if (big == NULL)
			return tv_errf(TV_ERR_NOMEM, "out of memory");
		iov[0].iov_base = big;
		iov[0].iov_len = total;
		rc = vt_put(v, iov, 1, total, "filemarks");
		free(big);
	}
	if (rc != 0)
		return rc;
	v->file_no += count;
	v->block_no = 0;
	v->block_known = 1;
	return vt_after_write(v, count == 1 ? "filemark" : "filemarks");
}

static int vt_rewind(struct tv_tape *t)
{
	struct vtape *v = VT(t);

	v->pos = 0;
	v->file_no = 0;
	v->block_no = 0;
	v->block_known = 1;
	return 0;
}

static int vt_space_files(struct tv_tape *t, long count)
{
	struct vtape *v = VT(t);
	struct vt_obj o;
	int rc;

	if (count > 0) {
		unsigned long left = (unsigned long)count;
		while (left > 0) {
			rc = vt_probe(v, v->pos, &o);
			if (rc != 0)
				return rc;
			switch (o.kind) {
			case VT_EOD:
				vt_note_eod(v);
				return tv_errf(TV_ERR_EOD, "tape image %s: end of data after "
				               "file %llu while spacing forward over %ld "
				               "filemarks (%lu not found)", v->base.name,
				               ull(v->file_no), count, left);
			case VT_FM:
				vt_fwd_filemark(v);
				t->stats.files_spaced++;
				left--;
				break;
			default:
				rc = vt_skip(v, &o);
				if (rc != 0)
					return rc;
				t->stats.records_spaced++;
				break;
			}
		}
		return 0;
	}
	if (count < 0) {
		unsigned long left = 0UL - (unsigned long)count;
		while (left > 0) {
			rc = vt_probe_back(v, v->pos, &o);
			if (rc != 0)
				return rc;
			switch (o.kind) {
			case VT_BOT:
				vt_rewind(t);
				return tv_errf(TV_ERR_EOF, "tape image %s: reached the "
				               "beginning of the tape while spacing back over "
				               "%ld filemarks", v->base.name, -count);
			case VT_FM:
				vt_back_filemark(v, &o);
				t->stats.files_spaced++;
				left--;
				break;
			default:
				vt_back_record(v, &o);
				t->stats.records_spaced++;
				break;
			}
		}
	}
	return 0;
}

static int vt_space_records(struct tv_tape *t, long count)
{
	struct vtape *v = VT(t);
	struct vt_obj o;
	int rc;

	if (count > 0) {
		for (long i = 0; i < count; i++) {
			rc = vt_probe(v, v->pos, &o);
			if (rc != 0)
				return rc;
			if (o.kind == VT_EOD) {
				vt_note_eod(v);
				return tv_errf(TV_ERR_EOD, "tape image %s: end of data after "
				               "spacing %ld of %ld records", v->base.name, i,
				               count);
			}
			if (o.kind == VT_FM)
				return tv_errf(TV_ERR_FILEMARK, "tape image %s: filemark after "
				               "spacing %ld of %ld records", v->base.name, i,
				               count);
			rc = vt_skip(v, &o);
			if (rc != 0)
				return rc;
			t->stats.records_spaced++;
		}
		return 0;
	}
	if (count < 0) {
		unsigned long left = 0UL - (unsigned long)count;
		for (unsigned long i = 0; i < left; i++) {
			rc = vt_probe_back(v, v->pos, &o);
			if (rc != 0)
				return rc;
			if (o.kind == VT_BOT) {
				vt_rewind(t);
				return tv_errf(TV_ERR_EOF, "tape image %s: beginning of tape "
				               "after spacing back %lu of %lu records",
				               v->base.name, i, left);
			}
			if (o.kind == VT_FM)
				return tv_errf(TV_ERR_FILEMARK, "tape image %s: filemark after "
				               "spacing back %lu of %lu records", v->base.name,
				               i, left);
			vt_back_record(v, &o);
			t->stats.records_spaced++;
		}
	}
	return 0;
}

static int vt_seek_eod(struct tv_tape *t)
{
	struct vtape *v = VT(t);
	struct vt_obj o;
	int rc;

	if (v->eod_known) {
		v->pos = v->eod_off;
		v->file_no = v->eod_file;
		v->block_no = v->eod_block;
		v->block_known = v->eod_block_known;
		return 0;
	}
	for (;;) {
		rc = vt_probe(v, v->pos, &o);
		if (rc != 0)
			return rc;
		if (o.kind == VT_EOD)
			break;
		if (o.kind == VT_FM) {
			vt_fwd_filemark(v);
			continue;
		}
		rc = vt_skip(v, &o);
		if (rc != 0)
			return rc;
	}
	vt_note_eod(v);
	return 0;
}

static int vt_status(struct tv_tape *t, struct tv_tape_status *ts)
{
	struct vtape *v = VT(t);
	struct vt_obj o;
	int rc;

	memset(ts, 0, sizeof(*ts));
	if (!v->block_known) {
		uint64_t b;
		rc = vt_count_block(v, &b);
		if (rc != 0)
			return rc;
		v->block_no = b;
		v->block_known = 1;
	}
	ts->file_no = v->file_no;
	ts->block_no = v->block_no;
	ts->bot = v->pos == 0;
	if (v->eod_known && v->eod_off == v->pos) {
		ts->eod = 1;
	} else {
		rc = vt_probe(v, v->pos, &o);
		if (rc != 0)
			return rc;
		ts->eod = o.kind == VT_EOD;
		if (ts->eod)
			vt_note_eod(v);
	}
	ts->ew = v->attrs.early_warning != 0 && v->pos > v->attrs.early_warning;
	ts->write_protected = v->wp;
	ts->capacity = v->attrs.capacity;
	ts->used = v->eod_known ? v->eod_off : v->size;
	ts->torn = v->torn;
	return 0;
}

static int vt_close(struct tv_tape *t)
{
	struct vtape *v = VT(t);
	int rc = 0;

	if (v->dirty && fsync(v->fd) != 0)
		rc = tv_errf(TV_ERR_IO, "tape image %s: cannot sync to disk on close: "
		             "%s (the last records written may be lost)", v->base.name,
		             strerror(errno));
	if (close(v->fd) != 0 && rc == 0 && v->dirty)
		rc = tv_errf(TV_ERR_IO, "tape image %s: error on close: %s",
		             v->base.name, strerror(errno));
	free(v);
	return rc;
}

/* Erase: the image ends at the position (end of data here). */
static int vt_erase(struct tv_tape *t)
{
	struct vtape *v = VT(t);

	if (v->wp)
		return tv_errf(TV_ERR_WPROT, "tape image %s is write protected: cannot erase it",
		               v->base.name);
	if (v->size > v->pos) {
		if (ftruncate(v->fd, (off_t)v->pos) != 0)
			return vt_ioerr(v, "cannot erase the data after the position", v->pos, errno);
		v->size = v->pos;
	}
	v->dirty = 1;
	v->peek_valid = 0;
	v->torn = 0;
	vt_note_eod(v);
	return 0;
}

static const struct tv_tape_ops vtape_ops = {
	.version = TV_TAPE_OPS_VERSION,
	.kind = "vtape",
	.read = vt_read,
	.write = vt_write,
	.write_filemarks = vt_write_filemarks,
	.rewind = vt_rewind,
	.space_files = vt_space_files,
	.space_records = vt_space_records,
	.seek_eod = vt_seek_eod,
	.status = vt_status,
	.close = vt_close,
	.readv = vt_readv,
	.writev = vt_writev,
	.erase = vt_erase,
};

/* ------------------------------------------------------------------ */
/* sidecar                                                             */

static int sidecar_path(const char *path, char *buf, size_t sz)
{
	return tv_tfile_path(buf, sz, "%s.json", path);
}

static int barcode_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '/' || *s == '\\')
			return 0;
	return 1;
}

static int attrs_check(const char *path, const struct tv_vtape_attrs *a)
{
	if (strnlen(a->barcode, sizeof(a->barcode)) >= sizeof(a->barcode) ||
	    !barcode_chars_ok(a->barcode))
		return tv_errf(TV_ERR_INVAL, "tape image %s: barcode must be printable "
		               "ASCII without spaces or slashes, at most %zu characters",
		               path, sizeof(a->barcode) - 1);
	if (a->capacity > (uint64_t)INT64_MAX || a->early_warning > (uint64_t)INT64_MAX)
		return tv_errf(TV_ERR_INVAL, "tape image %s: capacity too large", path);
	if (a->capacity != 0 && a->early_warning > a->capacity)
		return tv_errf(TV_ERR_INVAL, "tape image %s: early warning point %llu "
		               "is beyond the capacity %llu", path,
		               ull(a->early_warning), ull(a->capacity));
	return 0;
}

static int json_u64(json_t *root, const char *key, uint64_t *out,
                    const char *sc)
{
	json_t *j = json_object_get(root, key);

	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return tv_errf(TV_ERR_FORMAT, "sidecar %s: \"%s\" must be a "
		               "non-negative integer (bytes)", sc, key);
	*out = (uint64_t)json_integer_value(j);
	return 0;
}

static int load_sidecar(const char *sc, json_t **out)
{
	json_error_t jerr;
	char *data = NULL;
	size_t len;
	json_t *root;
	int rc;

	*out = NULL;
	rc = tv_tfile_read_small(sc, SIDECAR_MAX, &data, &len);
	if (rc != 0)
		return rc;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL)
		return tv_errf(TV_ERR_FORMAT, "sidecar %s: invalid JSON (line %d: %s)",
		               sc, jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return tv_errf(TV_ERR_FORMAT, "sidecar %s: not a JSON object", sc);
	}
	*out = root;
	return 0;
}

int tv_vtape_read_attrs(const char *path, struct tv_vtape_attrs *a)
{
	char sc[PATH_MAX];
	json_t *root = NULL, *j;
	int rc;

	if (path == NULL || a == NULL)
		return tv_errf(TV_ERR_INVAL, "tv_vtape_read_attrs: NULL argument");
	memset(a, 0, sizeof(*a));
	rc = sidecar_path(path, sc, sizeof(sc));
	if (rc != 0)
		return rc;
	rc = load_sidecar(sc, &root);
	if (rc == TV_ERR_NOTFOUND)
		return tv_errf(TV_ERR_NOTFOUND, "tape image %s has no sidecar %s", path, sc);
	if (rc != 0)
		return rc;
	j = json_object_get(root, "barcode");
	if (j != NULL && !json_is_null(j)) {
		const char *s = json_string_value(j);
		if (s == NULL || strlen(s) >= sizeof(a->barcode) || !barcode_chars_ok(s)) {
			rc = tv_errf(TV_ERR_FORMAT, "sidecar %s: \"barcode\" must be a "
			             "string of at most %zu printable characters", sc,
			             sizeof(a->barcode) - 1);
			goto out;
		}
		memcpy(a->barcode, s, strlen(s) + 1);
	}
	rc = json_u64(root, "capacity", &a->capacity, sc);
	if (rc == 0)
		rc = json_u64(root, "early_warning", &a->early_warning, sc);
	if (rc != 0)
		goto out;
	if (a->capacity > (uint64_t)INT64_MAX ||
	    (a->capacity != 0 && a->early_warning > a->capacity)) {
		rc = tv_errf(TV_ERR_FORMAT, "sidecar %s: early_warning (%llu) must not "
		             "exceed capacity (%llu)", sc, ull(a->early_warning),
		             ull(a->capacity));
		goto out;
	}
	j = json_object_get(root, "write_protected");
	if (j != NULL && !json_is_null(j)) {
		if (!json_is_boolean(j)) {
			rc = tv_errf(TV_ERR_FORMAT, "sidecar %s: \"write_protected\" must "
			             "be true or false", sc);
			goto out;
		}
		a->write_protected = json_is_true(j);
	}
out:
	json_decref(root);
	return rc;
}

static int write_attrs(const char *path, const struct tv_vtape_attrs *a, int merge)
{
	char sc[PATH_MAX];
	json_t *root = NULL;
	char *text = NULL;
	int rc;

	rc = attrs_check(path, a);
	if (rc == 0)
		rc = sidecar_path(path, sc, sizeof(sc));
	if (rc != 0)
		return rc;
	if (merge) {
		/* Keep keys we do not know (written by newer versions or users). */
		rc = load_sidecar(sc, &root);
		if (rc != 0 && rc != TV_ERR_NOTFOUND)
			return rc;
	}
	if (root == NULL)
		root = json_object();
	if (root == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	if (json_object_get(root, "created") == NULL) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(root, "created", json_string(when));
	}
	if (json_object_set_new(root, "format", json_string("tapevault-vtape")) ||
	    json_object_set_new(root, "version", json_integer(1)) ||
	    json_object_set_new(root, "barcode", json_string(a->barcode)) ||
	    json_object_set_new(root, "capacity", json_integer((json_int_t)a->capacity)) ||
	    json_object_set_new(root, "early_warning",
	                        json_integer((json_int_t)a->early_warning)) ||
	    json_object_set_new(root, "write_protected",
	                        json_boolean(a->write_protected))) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
		goto out;
	}
	text = json_dumps(root, JSON_INDENT(2));
	if (text == NULL) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		/* json_dumps has no trailing newline; add one for humans. */
		size_t n = strlen(text);
		char *t2 = realloc(text, n + 2);
		if (t2 == NULL) {
			rc = tv_errf(TV_ERR_NOMEM, "out of memory");
			goto out;
		}
		text = t2;
		text[n] = '\n';
		text[n + 1] = '\0';
		rc = tv_tfile_write_atomic(sc, text, n + 1, 0644);
	}
out:
	free(text);
	json_decref(root);
	return rc;
}

int tv_vtape_write_attrs(const char *path, const struct tv_vtape_attrs *a)
{
	if (path == NULL || a == NULL)
		return tv_errf(TV_ERR_INVAL, "tv_vtape_write_attrs: NULL argument");
	return write_attrs(path, a, 1);
}

int tv_vtape_create(const char *path, const struct tv_vtape_attrs *a)
{
	int fd, rc;

	if (path == NULL || a == NULL || path[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "tv_vtape_create: no path or attributes");
	rc = attrs_check(path, a);
	if (rc != 0)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return tv_errf(TV_ERR_EXISTS, "tape image %s already exists; "
			               "choose another name or remove it first", path);
		return tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "cannot create tape image %s: %s", path, strerror(errno));
	}
	close(fd);
	rc = write_attrs(path, a, 0);   /* also syncs the directory */
	if (rc != 0)
		unlink(path);
	return rc;
}

int tv_vtape_open(const char *path, int mode, struct tv_tape **out)
{
	struct vtape *v = NULL;
	struct stat sb;
	int rc, flags, lk;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || path[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "tv_vtape_open: no path");
	if (mode != TV_TAPE_RDONLY && mode != TV_TAPE_RDWR)
		return tv_errf(TV_ERR_INVAL, "tv_vtape_open: bad mode %d", mode);
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	v->fd = -1;
	v->base.ops = &vtape_ops;
	v->base.readonly = mode == TV_TAPE_RDONLY;
	if (strlen(path) >= sizeof(v->base.name)) {
		rc = tv_errf(TV_ERR_RANGE, "tape image path too long (limit %zu): %.100s...",
		             sizeof(v->base.name) - 1, path);
		goto out;
	}
	memcpy(v->base.name, path, strlen(path) + 1);
	rc = tv_vtape_read_attrs(path, &v->attrs);
	if (rc == TV_ERR_NOTFOUND) {
		/* A bare SIMH image: no limits, not protected. */
		memset(&v->attrs, 0, sizeof(v->attrs));
	} else if (rc != 0) {
		goto out;
	}
	v->wp = v->attrs.write_protected;
	flags = O_CLOEXEC | ((mode == TV_TAPE_RDWR && !v->wp) ? O_RDWR : O_RDONLY);
	v->fd = open(path, flags);
	if (v->fd < 0 && (flags & O_RDWR) && (errno == EACCES || errno == EROFS ||
	                                      errno == EPERM)) {
		v->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (v->fd >= 0)
			v->wp = v->wp_file = 1;
	}
	if (v->fd < 0) {
		if (errno == ENOENT)
			rc = tv_errf(TV_ERR_NOTFOUND, "tape image %s does not exist", path);
		else
			rc = tv_errf(errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
			             "cannot open tape image %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(v->fd, &sb) != 0) {
		rc = tv_errf(TV_ERR_IO, "cannot stat tape image %s: %s", path,
		             strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = tv_errf(TV_ERR_INVAL, "%s is not a tape image (not a regular file)",
		             path);
		goto out;
	}
	lk = mode == TV_TAPE_RDWR ? LOCK_EX : LOCK_SH;
	while ((rc = flock(v->fd, lk | LOCK_NB)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		if (errno == EWOULDBLOCK)
			rc = tv_errf(TV_ERR_STATE, "tape image %s is in use (open%s by "
			             "another job or process); wait for it to finish",
			             path, mode == TV_TAPE_RDWR ? "" : " for writing");
		else
			rc = tv_errf(TV_ERR_IO, "cannot lock tape image %s: %s", path,
			             strerror(errno));
		goto out;
	}
	v->size = (uint64_t)sb.st_size;
	v->block_known = 1;
	*out = &v->base;
	return 0;
out:
	if (v->fd >= 0)
		close(v->fd);
	free(v);
	return rc;
}
