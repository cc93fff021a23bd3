/* tapevault tests: fault-injecting tape wrapper (a test hook, like SQLite's
 * test VFS; built into test binaries only).  Enabled for every tape opened
 * through tv_tape_open() when the environment has TAPEVAULT_TEST_FAULT, e.g.
 *   TAPEVAULT_TEST_FAULT=powerloss=12
 *   TAPEVAULT_TEST_FAULT=flip_record=3,flip_offset=100
 *
 * Counting (all 1-based, per opened tape):
 *   read_eio=N     the Nth call of read() fails with TV_ERR_IO, without
 *                  reaching the tape (the position does not move).
 *   write_eio=N    the Nth write call fails with TV_ERR_IO, nothing written;
 *                  record writes and write_filemarks calls share the count.
 *   powerloss=N    after the Nth successful write call (records and filemark
 *                  calls both count; TV_ERR_EW counts as success) the power
 *                  is gone: every later operation, close included, fails
 *                  with TV_ERR_IO and nothing more reaches the tape.  The
 *                  image ends exactly after the Nth write.  (Close still
 *                  releases the inner tape; for a vtape that only syncs
 *                  what was already written.  Meant for vtapes: an st drive
 *                  would write its own filemark on close.)
 *   flip_record=N  the Nth record successfully read gets the byte at
 *                  flip_offset (modulo the record length) inverted, as a
 *                  medium error that the drive did not notice would.
 *                  Zero-length records count but cannot be flipped.
 *   only_tape=K    the faults apply to the Kth tape this process opens
 *                  only (1-based; 0 or absent: every tape), e.g. the
 *                  second tape of a write job, while its other tapes work. */
#include "tape_faulty.h"

#include "util/err.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct faulty {
	struct tv_tape base;
	struct tv_tape *inner;
	struct tv_fault_spec spec;
	long reads;              /* read calls */
	long records_read;       /* successful reads */
	long writes;             /* write + write_filemarks calls */
	long writes_ok;
	int dead;                /* power lost */
};

static struct faulty *FT(struct tv_tape *t) { return (struct faulty *)t; }

static int ft_dead(struct faulty *f)
{
	return tv_errf(TV_ERR_IO, "tape %s: injected power loss (TAPEVAULT_TEST_FAULT "
	               "powerloss=%ld): the drive is gone", f->base.name,
	               f->spec.powerloss);
}

/* Copies the inner tape's spacing counters' growth into ours. */
struct ft_mark { uint64_t rs, fs; };

static struct ft_mark ft_mark(struct faulty *f)
{
	struct ft_mark m = { f->inner->stats.records_spaced, f->inner->stats.files_spaced };
	return m;
}

static void ft_credit(struct faulty *f, struct ft_mark m)
{
	f->base.stats.records_spaced += f->inner->stats.records_spaced - m.rs;
	f->base.stats.files_spaced += f->inner->stats.files_spaced - m.fs;
}

static int ft_read(struct tv_tape *t, void *buf, size_t cap, size_t *got)
{
	struct faulty *f = FT(t);
	int rc;

	*got = 0;
	if (f->dead)
		return ft_dead(f);
	f->reads++;
	if (f->spec.read_eio > 0 && f->reads == f->spec.read_eio)
		return tv_errf(TV_ERR_IO, "tape %s: injected read error (TAPEVAULT_TEST_FAULT "
		               "read_eio=%ld)", t->name, f->spec.read_eio);
	rc = f->inner->ops->read(f->inner, buf, cap, got);
	if (rc != 0)
		return rc;
	f->records_read++;
	if (f->spec.flip_record > 0 && f->records_read == f->spec.flip_record &&
	    *got > 0) {
		size_t at = (size_t)((unsigned long)f->spec.flip_offset % *got);
		((unsigned char *)buf)[at] ^= 0xFF;
	}
	return 0;
}

static int ft_write_common(struct faulty *f, int (*op)(struct faulty *, const void *,
                                                       size_t), const void *buf,
                           size_t n)
{
	int rc;

	if (f->dead)
		return ft_dead(f);
	f->writes++;
	if (f->spec.write_eio > 0 && f->writes == f->spec.write_eio)
		return tv_errf(TV_ERR_IO, "tape %s: injected write error "
		               "(TAPEVAULT_TEST_FAULT write_eio=%ld); nothing written",
		               f->base.name, f->spec.write_eio);
	rc = op(f, buf, n);
	if (rc == 0 || rc == TV_ERR_EW) {
		f->writes_ok++;
		if (f->spec.powerloss > 0 && f->writes_ok >= f->spec.powerloss)
			f->dead = 1;
	}
	return rc;
}

static int ft_do_write(struct faulty *f, const void *buf, size_t len)
{
	return f->inner->ops->write(f->inner, buf, len);
}

static int ft_do_filemarks(struct faulty *f, const void *buf, size_t count)
{
	(void)buf;
	return f->inner->ops->write_filemarks(f->inner, (unsigned)count);
}

static int ft_write(struct tv_tape *t, const void *buf, size_t len)
{
	return ft_write_common(FT(t), ft_do_write, buf, len);
}

static int ft_write_filemarks(struct tv_tape *t, unsigned count)
{
	return ft_write_common(FT(t), ft_do_filemarks, NULL, count);
}

static int ft_rewind(struct tv_tape *t)
{
	struct faulty *f = FT(t);

	return f->dead ? ft_dead(f) : f->inner->ops->rewind(f->inner);
}

static int ft_space_files(struct tv_tape *t, long count)
{
	struct faulty *f = FT(t);
	struct ft_mark m;
	int rc;

	if (f->dead)
		return ft_dead(f);
	m = ft_mark(f);
	rc = f->inner->ops->space_files(f->inner, count);
	ft_credit(f, m);
	return rc;
}

static int ft_space_records(struct tv_tape *t, long count)
{
	struct faulty *f = FT(t);
	struct ft_mark m;
	int rc;

	if (f->dead)
		return ft_dead(f);
	m = ft_mark(f);
	rc = f->inner->ops->space_records(f->inner, count);
	ft_credit(f, m);
	return rc;
}

static int ft_seek_eod(struct tv_tape *t)
{
	struct faulty *f = FT(t);

	return f->dead ? ft_dead(f) : f->inner->ops->seek_eod(f->inner);
}

static int ft_status(struct tv_tape *t, struct tv_tape_status *ts)
{
	struct faulty *f = FT(t);

	return f->dead ? ft_dead(f) : f->inner->ops->status(f->inner, ts);
}

/* Positioning by the drive and its encryption go to the inner tape (its
 * generic entry points fall back when it has neither). */
static int ft_locate(struct tv_tape *t, uint64_t file_no, uint64_t block_no)
{
	struct faulty *f = FT(t);
	struct ft_mark m = ft_mark(f);
	uint64_t l = f->inner->stats.locates;
	int rc;

	if (f->dead)
		return ft_dead(f);
	rc = tv_tape_locate(f->inner, file_no, block_no);
	ft_credit(f, m);
	t->stats.locates += f->inner->stats.locates - l;
	return rc;
}

static int ft_set_encryption(struct tv_tape *t, const struct tv_tape_crypto *c)
{
	struct faulty *f = FT(t);

	return f->dead ? ft_dead(f) : tv_tape_set_encryption(f->inner, c);
}

static int ft_encryption_status(struct tv_tape *t, struct tv_tape_crypto_status *s)
{
	struct faulty *f = FT(t);

	return f->dead ? ft_dead(f) : tv_tape_encryption_status(f->inner, s);
}

static int ft_close(struct tv_tape *t)
{
	struct faulty *f = FT(t);
	int dead = f->dead, rc;

	rc = f->inner->ops->close(f->inner);
	if (dead)
		rc = ft_dead(f);
	free(f);
	return rc;
}

static const struct tv_tape_ops faulty_ops = {
	.version = TV_TAPE_OPS_VERSION,
	.kind = "faulty",
	.read = ft_read,
	.write = ft_write,
	.write_filemarks = ft_write_filemarks,
	.rewind = ft_rewind,
	.space_files = ft_space_files,
	.space_records = ft_space_records,
	.seek_eod = ft_seek_eod,
	.status = ft_status,
	.close = ft_close,
	.locate = ft_locate,
	.set_encryption = ft_set_encryption,
	.encryption_status = ft_encryption_status,
};

int tv_faulty_wrap(struct tv_tape *inner, const struct tv_fault_spec *spec,
                   struct tv_tape **out)
{
	struct faulty *f;

	if (out == NULL || inner == NULL || spec == NULL) {
		if (out != NULL)
			*out = NULL;
		tv_tape_close(inner);
		return tv_errf(TV_ERR_INVAL, "tv_faulty_wrap: NULL argument");
	}
	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		tv_tape_close(inner);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	f->base.ops = &faulty_ops;
	memcpy(f->base.name, inner->name, sizeof(f->base.name));
	f->base.name[sizeof(f->base.name) - 1] = '\0';
	f->base.readonly = inner->readonly;
	f->inner = inner;
	f->spec = *spec;
	*out = &f->base;
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	size_t off;
} fault_keys[] = {
	{ "read_eio", offsetof(struct tv_fault_spec, read_eio) },
	{ "write_eio", offsetof(struct tv_fault_spec, write_eio) },
	{ "powerloss", offsetof(struct tv_fault_spec, powerloss) },
	{ "flip_record", offsetof(struct tv_fault_spec, flip_record) },
	{ "flip_offset", offsetof(struct tv_fault_spec, flip_offset) },
	{ "only_tape", offsetof(struct tv_fault_spec, only_tape) },
};
#define NKEYS (sizeof(fault_keys) / sizeof(fault_keys[0]))

int tv_fault_parse(const char *s, struct tv_fault_spec *spec)
{
	unsigned seen = 0;
	const char *p = s;

	if (spec == NULL || s == NULL)
		return tv_errf(TV_ERR_INVAL, "fault spec: NULL argument");
	memset(spec, 0, sizeof(*spec));
	while (*p != '\0') {
		const char *key = p, *eq, *end;
		size_t klen, k;
		char *num_end;
		long val;

		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(key, '=', (size_t)(end - key));
		if (end == key)
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": empty item at "
			               "position %zu (items are NAME=N, separated by commas)",
			               s, (size_t)(key - s));
		if (eq == NULL)
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": item \"%.*s\" has "
			               "no \"=N\"", s, (int)(end - key), key);
		klen = (size_t)(eq - key);
		for (k = 0; k < NKEYS; k++)
			if (strlen(fault_keys[k].name) == klen &&
			    memcmp(fault_keys[k].name, key, klen) == 0)
				break;
		if (k == NKEYS)
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": unknown fault "
			               "\"%.*s\" (known: read_eio, write_eio, powerloss, "
			               "flip_record, flip_offset, only_tape)", s, (int)klen, key);
		if (seen & (1u << k))
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": \"%s\" given twice",
			               s, fault_keys[k].name);
		seen |= 1u << k;
		if (eq + 1 == end || eq[1] < '0' || eq[1] > '9')
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": \"%s\" needs a "
			               "non-negative decimal number", s, fault_keys[k].name);
		errno = 0;
		val = strtol(eq + 1, &num_end, 10);
		if (errno == ERANGE)
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": value of \"%s\" is "
			               "too large", s, fault_keys[k].name);
		if (num_end != end)
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": value of \"%s\" is "
			               "not a decimal number: \"%.*s\"", s,
			               fault_keys[k].name, (int)(end - eq - 1), eq + 1);
		*(long *)(void *)((char *)spec + fault_keys[k].off) = val;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return tv_errf(TV_ERR_INVAL, "fault spec \"%s\": trailing comma", s);
	}
	return 0;
}

/* ---- the hook: installed when a test binary starts ---- */

static int env_wrap(struct tv_tape *t, struct tv_tape **out)
{
	static long opened;   /* tapes opened by this process */
	struct tv_fault_spec spec;
	const char *fault = getenv("TAPEVAULT_TEST_FAULT");
	int rc;

	*out = t;
	if (fault == NULL || fault[0] == '\0')
		return 0;
	if ((rc = tv_fault_parse(fault, &spec)) != 0) {
		tv_tape_close(t);
		*out = NULL;
		return tv_errctx(rc, "environment TAPEVAULT_TEST_FAULT");
	}
	opened++;
	if (spec.only_tape > 0 && opened != spec.only_tape)
		return 0;   /* another tape: no faults */
	return tv_faulty_wrap(t, &spec, out);   /* closes t on failure */
}

__attribute__((constructor)) static void install(void)
{
	tv_tape_set_wrapper(env_wrap);
}
