/* tapevault: generic tape entry points (see tape.h): argument and state
 * checks, dispatch to the backend, statistics, goto_file, open by name. */
#include "tape/tape.h"

#include "util/err.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

static int check(struct tv_tape *t, const char *op)
{
	if (t == NULL || t->ops == NULL)
		return tv_errf(TV_ERR_INVAL, "%s: no tape", op);
	if (t->ops->version < TV_TAPE_OPS_VERSION_MIN || t->ops->version > TV_TAPE_OPS_VERSION)
		return tv_errf(TV_ERR_INTERNAL, "%s: tape %s has ops version %d, "
		               "expected %d to %d", op, t->name, t->ops->version,
		               TV_TAPE_OPS_VERSION_MIN, TV_TAPE_OPS_VERSION);
	return 0;
}

/* The version 3 operations of a backend, NULL for older tables. */
static int (*op_locate(const struct tv_tape *t))(struct tv_tape *, uint64_t, uint64_t)
{
	return t->ops->version >= 3 ? t->ops->locate : NULL;
}

static int check_writable(struct tv_tape *t, const char *op)
{
	int rc = check(t, op);

	if (rc != 0)
		return rc;
	if (t->readonly)
		return tv_errf(TV_ERR_STATE, "tape %s was opened read-only; cannot %s",
		               t->name, op);
	return 0;
}

int tv_tape_read(struct tv_tape *t, void *buf, size_t cap, size_t *got)
{
	size_t n = 0;
	int rc;

	if (got != NULL)
		*got = 0;
	rc = check(t, "read");
	if (rc != 0)
		return rc;
	if (got == NULL || (buf == NULL && cap > 0))
		return tv_errf(TV_ERR_INVAL, "read from tape %s: no buffer", t->name);
	rc = t->ops->read(t, buf, cap, &n);
	if (rc == 0) {
		if (n > cap)
			return tv_errf(TV_ERR_INTERNAL, "tape %s: backend returned %zu "
			               "bytes for a %zu-byte buffer", t->name, n, cap);
		t->stats.records_read++;
		t->stats.bytes_read += n;
		*got = n;
	} else if (rc == TV_ERR_RANGE || rc == TV_ERR_BADREC) {
		t->stats.records_spaced++;   /* skipped without transfer */
	}
	return rc;
}

int tv_tape_write(struct tv_tape *t, const void *buf, size_t len)
{
	int rc = check_writable(t, "write");

	if (rc != 0)
		return rc;
	if (buf == NULL || len == 0)
		return tv_errf(TV_ERR_INVAL, "write to tape %s: empty record (a tape "
		               "record holds at least one byte)", t->name);
	rc = t->ops->write(t, buf, len);
	if (rc == 0 || rc == TV_ERR_EW) {
		t->stats.records_written++;
		t->stats.bytes_written += len;
	}
	return rc;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

static int bounce(struct tv_tape *t, size_t n)
{
	if (n <= t->bounce_cap)
		return 0;
	free(t->bounce);
	t->bounce_cap = 0;
	if ((t->bounce = malloc(n)) == NULL)
		return tv_errf(TV_ERR_NOMEM, "tape %s: no memory for a %zu-byte record",
		               t->name, n);
	t->bounce_cap = n;
	return 0;
}

int tv_tape_readv(struct tv_tape *t, const struct iovec *iov, int n, size_t *got)
{
	size_t cap, k = 0;
	int rc;

	if (got != NULL)
		*got = 0;
	if ((rc = check(t, "read")) != 0)
		return rc;
	if (got == NULL || iov == NULL || n < 1 || n > TV_TAPE_IOV_MAX)
		return tv_errf(TV_ERR_INVAL, "read from tape %s: bad buffers", t->name);
	cap = iov_total(iov, n);
	if (t->ops->readv != NULL) {
		rc = t->ops->readv(t, iov, n, &k);
		if (rc == 0) {
			if (k > cap)
				return tv_errf(TV_ERR_INTERNAL, "tape %s: backend returned %zu "
				               "bytes for %zu", t->name, k, cap);
			t->stats.records_read++;
			t->stats.bytes_read += k;
			*got = k;
		} else if (rc == TV_ERR_RANGE || rc == TV_ERR_BADREC) {
			t->stats.records_spaced++;
		}
		return rc;
	}
	if ((rc = bounce(t, cap)) != 0)
		return rc;
	if ((rc = tv_tape_read(t, t->bounce, cap, &k)) != 0)
		return rc;
	*got = k;
	for (int i = 0; i < n && k > 0; i++) {
		size_t c = iov[i].iov_len < k ? iov[i].iov_len : k;
		memcpy(iov[i].iov_base, (uint8_t *)t->bounce + (*got - k), c);
		k -= c;
	}
	return 0;
}

int tv_tape_writev(struct tv_tape *t, const struct iovec *iov, int n)
{
	size_t len, off = 0;
	int rc = check_writable(t, "write");

	if (rc != 0)
		return rc;
	if (iov == NULL || n < 1 || n > TV_TAPE_IOV_MAX || (len = iov_total(iov, n)) == 0)
		return tv_errf(TV_ERR_INVAL, "write to tape %s: empty record (a tape "
		               "record holds at least one byte)", t->name);
	if (t->ops->writev != NULL) {
		rc = t->ops->writev(t, iov, n);
		if (rc == 0 || rc == TV_ERR_EW) {
			t->stats.records_written++;
			t->stats.bytes_written += len;
		}
		return rc;
	}
	if ((rc = bounce(t, len)) != 0)
		return rc;
	for (int i = 0; i < n; i++) {
		memcpy((uint8_t *)t->bounce + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return tv_tape_write(t, t->bounce, len);
}

int tv_tape_write_filemarks(struct tv_tape *t, unsigned count)
{
	int rc = check_writable(t, "write filemarks");

	if (rc != 0)
		return rc;
	rc = t->ops->write_filemarks(t, count);
	if (rc == 0 || rc == TV_ERR_EW)
		t->stats.filemarks_written += count;
	return rc;
}

int tv_tape_rewind(struct tv_tape *t)
{
	int rc = check(t, "rewind");

	if (rc != 0)
		return rc;
	t->stats.positionings++;
	return t->ops->rewind(t);
}

int tv_tape_space_files(struct tv_tape *t, long count)
{
	int rc = check(t, "space files");

	if (rc != 0)
		return rc;
	if (count == 0)
		return 0;
	if (count == LONG_MIN)
		return tv_errf(TV_ERR_RANGE, "space files on tape %s: count out of "
		               "range", t->name);
	t->stats.positionings++;
	return t->ops->space_files(t, count);
}

int tv_tape_space_records(struct tv_tape *t, long count)
{
	int rc = check(t, "space records");

	if (rc != 0)
		return rc;
	if (count == 0)
		return 0;
	if (count == LONG_MIN)
		return tv_errf(TV_ERR_RANGE, "space records on tape %s: count out of "
		               "range", t->name);
	t->stats.positionings++;
	return t->ops->space_records(t, count);
}

int tv_tape_seek_eod(struct tv_tape *t)
{
	int rc = check(t, "seek to end of data");

	if (rc != 0)
		return rc;
	t->stats.positionings++;
	return t->ops->seek_eod(t);
}

int tv_tape_status(struct tv_tape *t, struct tv_tape_status *ts)
{
	int rc = check(t, "status");

	if (rc != 0)
		return rc;
	if (ts == NULL)
		return tv_errf(TV_ERR_INVAL, "status of tape %s: no output", t->name);
	memset(ts, 0, sizeof(*ts));
	return t->ops->status(t, ts);
}

static int goto_forward(struct tv_tape *t, uint64_t n, uint64_t target)
{
	int rc;

	if (n == 0)
		return 0;
	if (n > LONG_MAX)
		return tv_errf(TV_ERR_RANGE, "tape %s: file %llu is out of range",
		               t->name, (unsigned long long)target);
	rc = tv_tape_space_files(t, (long)n);
	if (rc == TV_ERR_EOD)
		return tv_errf(TV_ERR_NOTFOUND, "tape %s has no file %llu (end of data "
		               "reached first)", t->name, (unsigned long long)target);
	return rc;
}

static int goto_from_bot(struct tv_tape *t, uint64_t file_no)
{
	int rc = tv_tape_rewind(t);

	return rc != 0 ? rc : goto_forward(t, file_no, file_no);
}

int tv_tape_goto_file(struct tv_tape *t, uint64_t file_no)
{
	struct tv_tape_status ts;
	uint64_t back;
	int rc = check(t, "go to file");

	if (rc != 0)
		return rc;
	if (op_locate(t) != NULL)
		return tv_tape_locate(t, file_no, 0);
	if (file_no == 0)
		return tv_tape_rewind(t);
	rc = t->ops->status(t, &ts);
	if (rc != 0 || ts.file_no == TV_TAPE_POS_UNKNOWN)
		return goto_from_bot(t, file_no);
	if (file_no > ts.file_no)
		return goto_forward(t, file_no - ts.file_no, file_no);
	if (file_no == ts.file_no && ts.block_no == 0)
		return 0;
	/* Backward: over (F - N + 1) filemarks lands just before the filemark
	 * that ends file N-1; one forward crosses it.  Cheaper than rewinding
	 * and spacing N forward when the target is closer than BOT. */
	back = ts.file_no - file_no + 1;
	if (back > file_no || back > LONG_MAX)
		return goto_from_bot(t, file_no);
	rc = tv_tape_space_files(t, -(long)back);
	if (rc == TV_ERR_EOF)          /* met BOT: the position was not what
	                                * status said; start over from BOT */
		return goto_from_bot(t, file_no);
	if (rc != 0)
		return rc;
	return tv_tape_space_files(t, 1);
}

int tv_tape_locate(struct tv_tape *t, uint64_t file_no, uint64_t block_no)
{
	int rc = check(t, "locate");

	if (rc != 0)
		return rc;
	if (op_locate(t) != NULL) {
		t->stats.positionings++;
		return t->ops->locate(t, file_no, block_no);
	}
	if ((rc = tv_tape_goto_file(t, file_no)) != 0 || block_no == 0)
		return rc;
	if (block_no > LONG_MAX)
		return tv_errf(TV_ERR_RANGE, "tape %s: record %llu is out of range", t->name,
		               (unsigned long long)block_no);
	rc = tv_tape_space_records(t, (long)block_no);
	if (rc == TV_ERR_FILEMARK || rc == TV_ERR_EOD)
		return tv_errf(TV_ERR_NOTFOUND, "tape %s file %llu has no record %llu",
		               t->name, (unsigned long long)file_no,
		               (unsigned long long)block_no);
	return rc;
}

int tv_tape_set_encryption(struct tv_tape *t, const struct tv_tape_crypto *c)
{
	int rc = check(t, "set drive encryption");

	if (rc != 0)
		return rc;
	if (t->ops->version < 3 || t->ops->set_encryption == NULL)
		return tv_errf(TV_ERR_UNSUPPORTED, "tape %s: this drive (%s) cannot encrypt: "
		               "drive encryption needs an LTO drive of a SCSI library",
		               t->name, t->ops->kind);
	if (c != NULL && c->kad_len > TV_TAPE_KAD_MAX)
		return tv_errf(TV_ERR_RANGE, "tape %s: key-associated data of %zu bytes (at most "
		               "%d)", t->name, c->kad_len, TV_TAPE_KAD_MAX);
	return t->ops->set_encryption(t, c);
}

int tv_tape_encryption_status(struct tv_tape *t, struct tv_tape_crypto_status *s)
{
	int rc = check(t, "drive encryption status");

	if (rc != 0)
		return rc;
	if (s == NULL)
		return tv_errf(TV_ERR_INVAL, "encryption status of tape %s: no output", t->name);
	memset(s, 0, sizeof(*s));
	if (t->ops->version < 3 || t->ops->encryption_status == NULL)
		return 0;       /* not capable */
	return t->ops->encryption_status(t, s);
}

int tv_tape_close(struct tv_tape *t)
{
	if (t == NULL)
		return 0;
	free(t->bounce);
	t->bounce = NULL;
	t->bounce_cap = 0;
	if (t->ops == NULL || t->ops->close == NULL) {
		free(t);
		return tv_errf(TV_ERR_INTERNAL, "close: tape without ops");
	}
	return t->ops->close(t);
}

/* ---- backends by name, and the test hook ---- */

#define MAX_BACKENDS 8
static const struct tv_tape_backend *backends[MAX_BACKENDS];
static int nbackends;
static int builtin_done;
static tv_tape_wrap_fn wrapper;

/* The newest registration is asked first, so a backend registered later
 * (the emulated library's drives) comes before vtape, which claims every
 * name; tape/backends.c registers the catch-all first. */
int tv_tape_register(const struct tv_tape_backend *b)
{
	for (int i = 0; i < nbackends; i++)
		if (backends[i] == b)
			return 0;
	if (nbackends == MAX_BACKENDS)
		return tv_errf(TV_ERR_RANGE, "tape backends: at most %d", MAX_BACKENDS);
	if (!builtin_done) {
		builtin_done = 1;
		tv_tape_register_builtin();
	}
	memmove(backends + 1, backends, (size_t)nbackends * sizeof(backends[0]));
	backends[0] = b;
	nbackends++;
	return 0;
}

void tv_tape_set_wrapper(tv_tape_wrap_fn fn)
{
	wrapper = fn;
}

int tv_tape_adopt(struct tv_tape *t, struct tv_tape **out)
{
	int rc;

	if (out == NULL || t == NULL) {
		tv_tape_close(t);
		return tv_errf(TV_ERR_INVAL, "adopt: no tape");
	}
	*out = t;
	if (wrapper == NULL)
		return 0;
	if ((rc = wrapper(t, out)) != 0)   /* the wrapper closed t */
		*out = NULL;
	return rc;
}

int tv_tape_open(const char *path, int mode, struct tv_tape **out)
{
	struct tv_tape *t = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || path[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "open tape: no device or image name");
	if (!builtin_done) {
		builtin_done = 1;
		tv_tape_register_builtin();
	}
	for (int i = 0; i < nbackends; i++) {
		if (!backends[i]->claims(path))
			continue;
		if ((rc = backends[i]->open(path, mode, &t)) != 0)
			return rc;
		if (wrapper != NULL && (rc = wrapper(t, &t)) != 0)
			return rc;   /* the wrapper closed the tape */
		*out = t;
		return 0;
	}
	return tv_errf(TV_ERR_UNSUPPORTED, "open tape %s: no tape backend for this name",
	               path);
}

int tv_tape_erase(struct tv_tape *t)
{
	int rc = check_writable(t, "erase");

	if (rc != 0)
		return rc;
	if (t->ops->version < 3 || t->ops->erase == NULL)
		return tv_errf(TV_ERR_UNSUPPORTED, "tape %s: this drive (%s) cannot erase",
		               t->name, t->ops->kind);
	t->stats.positionings++;
	return t->ops->erase(t);
}
