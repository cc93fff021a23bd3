/* tapevault: an SSC-4 tape drive driven with SCSI commands (see tape.h,
 * "sgtape").
 *
 * The drive does the positioning; this backend keeps track of where it
 * is (tape file, record in it, logical object number: records and
 * filemarks since BOT) from what its commands did, and asks the drive
 * (READ POSITION, long form) when it lost track: after an error, a
 * backward space over filemarks, a LOCATE by file.  The logical object
 * number where each tape file starts is remembered once seen, so a locate
 * into a known file is one LOCATE(16).
 *
 * Sense handling follows SSC-4 4.2 and 6: a READ that meets a filemark
 * ends after it (CHECK CONDITION, FILEMARK bit); end of data is BLANK
 * CHECK 00h/05h; a record shorter than asked comes back with ILI and a
 * positive residue in INFORMATION, a longer one with a negative residue
 * (the record is passed over); a WRITE past early warning completes with
 * EOM set (NO SENSE 00h/02h or 00h/07h) and one at the physical end
 * fails with VOLUME OVERFLOW having written nothing; SPACE over records
 * stops past a filemark (forward) or before it (backward), and tape.h
 * wants the near side, so the filemark is crossed back.
 *
 * Drive encryption (SSC-4 8.5, security protocol 20h): the key is set
 * with SECURITY PROTOCOL OUT page 0010h, AES-256-GCM as the drive's
 * capabilities page names it, the KAD as unauthenticated key-associated
 * data, "clear key on demount" set; while records are written in the
 * first tape files (the labels) the drive's encryption mode is switched
 * off and back on at the first record of a later file, the decryption
 * mode staying "mixed" (encrypted records are decrypted, clear ones read
 * as they are).  The key is taken out of the drive on close.  A write
 * thread and the caller's thread may both use the tape (the tape writer
 * writes in its own thread while its owner sets the key): the encryption
 * state is kept under a mutex. */
#include "tape/tape.h"

#include "scsi/cdb.h"
#include "scsi/data.h"
#include "scsi/scsi.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UNK TV_TAPE_POS_UNKNOWN
#define MAX_FSTART 65536u              /* tape files whose start is remembered */
#define SPACE_MAX 0x7FFFFF             /* SPACE(6) counts are 24-bit signed */
#define XFER_MAX 0xFFFFFFu             /* READ(6)/WRITE(6) lengths are 24-bit */
#define MIB ((uint64_t)1 << 20)

struct sgt {
	struct tv_tape base;
	struct tv_scsi_transport *tr;
	int own;
	uint32_t max_block;
	int wp, wrote;
	uint64_t file, block, obj;         /* where the drive is; UNK */
	int eod, ew;
	uint64_t *fstart;                  /* object number of each file's start */
	size_t nfstart;
	int log_checked, log_ok;
	uint64_t capacity;
	/* encryption (under mu) */
	pthread_mutex_t mu;
	int caps_known, capable;
	uint8_t alg_index;
	int key_set, enc_wanted, dec_wanted, enc_active;
	uint64_t enc_from;
	uint8_t key[TV_TAPE_KEY_LEN];
	uint8_t kad[TV_TAPE_KAD_MAX];
	size_t kad_len;
};

static struct sgt *SG(struct tv_tape *t) { return (struct sgt *)t; }

/* ---- commands ---- */

static int run(struct sgt *s, const uint8_t *cdb, size_t n, enum tv_scsi_dir dir, void *buf,
               size_t len, unsigned timeout, struct tv_scsi_result *res)
{
	int rc = tv_scsi_run(s->tr, cdb, n, dir, buf, len, timeout, res);

	if (rc < 0)
		tv_errctx(rc, "%s", s->base.name);
	return rc;
}

/* The detail for a command the drive refused: "NAME: CMD failed: SENSE". */
static int refused(struct sgt *s, int err, const uint8_t *cdb, size_t n,
                   const struct tv_scsi_result *res, const char *advice)
{
	char what[200];

	if (res->has_sense)
		tv_sense_describe(&res->sense, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "CHECK CONDITION without usable sense data");
	return tv_errf(err, "%s: %s failed: %s%s%s", s->base.name, tv_scsi_cmd_name(cdb, n),
	               what, advice != NULL ? "; " : "", advice != NULL ? advice : "");
}

static const struct tv_sense *sense_of(const struct tv_scsi_result *res)
{
	static const struct tv_sense none;

	return res->has_sense ? &res->sense : &none;
}

/* ---- where the drive is ---- */

static void pos_unknown(struct sgt *s)
{
	s->file = s->block = s->obj = UNK;
	s->eod = 0;
}

static void pos_bot(struct sgt *s)
{
	s->file = s->block = s->obj = 0;
	s->eod = 0;
	s->ew = 0;
}

static uint64_t fstart_get(const struct sgt *s, uint64_t file)
{
	if (file == 0)
		return 0;            /* BOT is object 0 */
	return file < s->nfstart ? s->fstart[file] : UNK;
}

static void fstart_set(struct sgt *s, uint64_t file, uint64_t obj)
{
	size_t n;
	uint64_t *nf;

	if (file == UNK || obj == UNK || file >= MAX_FSTART)
		return;
	if (file >= s->nfstart) {
		n = s->nfstart ? s->nfstart : 16;
		while (n <= file)
			n *= 2;
		if ((nf = realloc(s->fstart, n * sizeof(*nf))) == NULL)
			return;     /* only a cache */
		for (size_t i = s->nfstart; i < n; i++)
			nf[i] = UNK;
		s->fstart = nf;
		s->nfstart = n;
	}
	s->fstart[file] = obj;
}

/* Writing at file f discards the files after it. */
static void fstart_trunc(struct sgt *s, uint64_t file)
{
	if (file == UNK)
		file = 0;
	for (size_t i = (size_t)file + 1; i < s->nfstart; i++)
		s->fstart[i] = UNK;
}

static void add(uint64_t *v, int64_t d)
{
	if (*v != UNK)
		*v = (uint64_t)((int64_t)*v + d);
}

/* Past n records in the current file. */
static void past_records(struct sgt *s, int64_t n)
{
	add(&s->block, n);
	add(&s->obj, n);
}

/* Just past a filemark, at the start of the next file (read or written
 * one object at a time: the object number is known). */
static void past_filemark(struct sgt *s)
{
	add(&s->file, 1);
	add(&s->obj, 1);
	s->block = s->file != UNK ? 0 : UNK;
	fstart_set(s, s->file, s->obj);
}

/* At the start of the next file after spacing over filemarks (records
 * were passed too: the object number is what is known of the file). */
static void next_file_start(struct sgt *s)
{
	add(&s->file, 1);
	s->block = s->file != UNK ? 0 : UNK;
	s->obj = fstart_get(s, s->file);
}

/* A short command that reads data from the drive: *got bytes came back.
 * A CHECK CONDITION is refused with the drive's sense. */
static int data_in(struct sgt *s, const uint8_t *cdb, size_t n, uint8_t *data, size_t len,
                   size_t *got)
{
	struct tv_scsi_result res;
	int rc = run(s, cdb, n, TV_SCSI_FROM_DEV, data, len, TV_SCSI_T_SHORT, &res);

	if (rc == TV_SCSI_CHECK)
		return refused(s, TV_ERR_IO, cdb, n, &res, NULL);
	*got = rc == 0 ? len - res.resid : 0;
	return rc;
}

static int read_position(struct sgt *s, uint8_t form, struct tv_read_position *rp)
{
	uint8_t cdb[TV_CDB_MAX], data[32];
	size_t got, n = tv_cdb_read_position(cdb, form);
	int rc = data_in(s, cdb, n, data, sizeof(data), &got);

	if (rc != 0)
		return rc;
	return tv_scsi_parse_read_position(data, got, form, rp);
}

/* Asks the drive where it is (long form; the short form from drives that
 * lack it). */
static int refresh(struct sgt *s)
{
	struct tv_read_position rp;
	uint64_t fs;
	int rc = read_position(s, TV_RP_LONG, &rp);

	if (rc != 0 && (rc = read_position(s, TV_RP_SHORT, &rp)) != 0) {
		pos_unknown(s);
		return tv_errctx(rc, "%s: cannot tell the position (READ POSITION)", s->base.name);
	}
	if (rp.bop) {
		pos_bot(s);
		fstart_set(s, 0, 0);
		return 0;
	}
	s->obj = rp.object_unknown || rp.perr ? UNK : rp.object;
	s->file = rp.file_valid && !rp.perr ? rp.file : UNK;
	fs = fstart_get(s, s->file);
	s->block = s->obj != UNK && fs != UNK && s->obj >= fs ? s->obj - fs : UNK;
	if (rp.bpew)
		s->ew = 1;
	return 0;
}

/* ---- opening ---- */

static int wait_ready(struct sgt *s)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_test_unit_ready(cdb);
	time_t start = time(NULL);
	int rc;

	for (;;) {
		const struct tv_sense *sn;
		long waited = (long)(time(NULL) - start);
		rc = run(s, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_SHORT, &res);
		if (rc != TV_SCSI_CHECK)
			return rc;
		sn = sense_of(&res);
		if (sn->key != TV_SK_NOT_READY)
			return refused(s, TV_ERR_IO, cdb, n, &res, NULL);
		/* becoming ready: a cartridge being threaded (the library, which
		 * knows it just moved one in, waits for "not present" itself) */
		if (!(sn->asc == 0x04 && sn->ascq == 0x01 && waited < TV_SGTAPE_READY_SECONDS))
			return refused(s, sn->asc == 0x3A ? TV_ERR_NOTFOUND : TV_ERR_IO, cdb, n, &res,
			               sn->asc == 0x3A ? "no cartridge in the drive" :
			               "the drive is not ready");
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
}

static int check_inquiry(struct sgt *s)
{
	struct tv_scsi_inquiry q;
	uint8_t cdb[TV_CDB_MAX], data[96];
	size_t got, n = tv_cdb_inquiry(cdb, 0, 0, sizeof(data));
	int rc = data_in(s, cdb, n, data, sizeof(data), &got);

	if (rc != 0 || (rc = tv_scsi_parse_inquiry(data, got, &q)) != 0)
		return rc;
	if (q.qualifier != 0 || q.type != TV_SCSI_TYPE_TAPE)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s: %s is not a tape drive (SCSI peripheral "
		               "type %02Xh; a tape drive is 01h)", s->base.name, s->tr->name, q.type);
	return 0;
}

static int block_limits(struct sgt *s)
{
	struct tv_block_limits bl;
	uint8_t cdb[TV_CDB_MAX], data[6];
	size_t got, n = tv_cdb_read_block_limits(cdb);
	int rc = data_in(s, cdb, n, data, sizeof(data), &got);

	if (rc != 0 || (rc = tv_scsi_parse_block_limits(data, got, &bl)))
		return rc;
	s->max_block = bl.max_len != 0 && bl.max_len < XFER_MAX ? bl.max_len : XFER_MAX;
	return 0;
}

/* Write protection from the mode header; variable block mode set when
 * the drive is in fixed mode. */
static int variable_mode(struct sgt *s)
{
	struct tv_scsi_result res;
	struct tv_mode6 m;
	struct tv_buf b;
	uint8_t cdb[TV_CDB_MAX], data[12];
	size_t got, n = tv_cdb_mode_sense6(cdb, 0, 0, sizeof(data));
	int rc = data_in(s, cdb, n, data, sizeof(data), &got);

	if (rc != 0 || (rc = tv_scsi_parse_mode6(data, got, &m)) != 0)
		return rc;
	if (m.wp)
		s->wp = 1;
	if (!m.has_bd || m.block_len == 0)
		return 0;
	m.block_len = 0;
	m.wp = 0;
	tv_buf_init(&b);
	if ((rc = tv_scsi_build_mode6(&b, &m, NULL, 0, 1)) == 0) {
		n = tv_cdb_mode_select6(cdb, (uint8_t)tv_buf_avail(&b));
		rc = run(s, cdb, n, TV_SCSI_TO_DEV, (void *)(uintptr_t)tv_buf_ptr(&b),
		         tv_buf_avail(&b), TV_SCSI_T_SHORT, &res);
		if (rc == TV_SCSI_CHECK)
			rc = refused(s, TV_ERR_IO, cdb, n, &res, "cannot set variable block mode");
	}
	tv_buf_free(&b);
	return rc;
}

/* Capacity from the tape capacity log page (LOG SENSE 31h), when the
 * drive has it: capacity and used bytes, MiB granularity. */
static void capacity_log(struct sgt *s, struct tv_tape_status *ts)
{
	struct tv_scsi_result res;
	struct tv_tape_capacity c;
	uint8_t cdb[TV_CDB_MAX], data[64];
	size_t n;

	if (s->log_checked && !s->log_ok)
		return;
	s->log_checked = 1;
	n = tv_cdb_log_sense(cdb, TV_LOG_PAGE_TAPE_CAPACITY, sizeof(data));
	if (run(s, cdb, n, TV_SCSI_FROM_DEV, data, sizeof(data), TV_SCSI_T_SHORT, &res) != 0 ||
	    tv_scsi_parse_capacity_log(data, sizeof(data) - res.resid, &c) != 0 || !c.has_max) {
		s->log_ok = 0;
		return;
	}
	s->log_ok = 1;
	s->capacity = (uint64_t)c.max * MIB;
	if (ts != NULL) {
		ts->capacity = s->capacity;
		if (c.has_remaining && c.remaining <= c.max)
			ts->used = (uint64_t)(c.max - c.remaining) * MIB;
	}
}

/* ---- encryption ---- */

static int spin(struct sgt *s, uint16_t page, uint8_t *data, size_t cap, size_t *got)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_security_in(cdb, TV_SECURITY_PROTOCOL_TAPE, page, (uint32_t)cap);
	int rc = run(s, cdb, n, TV_SCSI_FROM_DEV, data, cap, TV_SCSI_T_SHORT, &res);

	*got = 0;
	if (rc == TV_SCSI_CHECK)
		return refused(s, TV_ERR_UNSUPPORTED, cdb, n, &res, NULL);
	if (rc == 0)
		*got = cap - res.resid;
	return rc;
}

/* Does the drive encrypt with AES-256-GCM?  (Once per open.) */
static int crypto_caps(struct sgt *s)
{
	struct tv_sp_caps c;
	uint8_t data[512];
	size_t got;
	int rc;

	if (s->caps_known)
		return 0;
	s->caps_known = 1;
	if ((rc = spin(s, TV_SP_PAGE_CAPABILITIES, data, sizeof(data), &got)) != 0)
		return rc == TV_ERR_UNSUPPORTED ? 0 : rc;    /* a drive that cannot */
	if ((rc = tv_sp_parse_caps(data, got, &c)) != 0)
		return tv_errctx(rc, "%s", s->base.name);
	for (size_t i = 0; i < c.nalg; i++) {
		const struct tv_sp_algorithm *a = &c.alg[i];
		if (a->code == TV_SP_ALG_AES256_GCM && a->encrypt_c >= 2 && a->decrypt_c >= 2 &&
		    a->key_len == TV_TAPE_KEY_LEN && (a->max_ukad == 0 || a->max_ukad >= 16)) {
			s->capable = 1;
			s->alg_index = a->index;
			return 0;
		}
	}
	return 0;
}

/* SECURITY PROTOCOL OUT page 0010h: the modes, with the key or without. */
static int spout(struct sgt *s, uint8_t enc, uint8_t dec, int with_key)
{
	struct tv_scsi_result res;
	struct tv_sp_set *set = calloc(1, sizeof(*set));
	struct tv_buf b;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int rc;

	if (set == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	tv_buf_init(&b);
	set->scope = TV_SP_SCOPE_ALL_IT;
	set->ckod = 1;                   /* the key leaves with the cartridge */
	set->encrypt_mode = enc;
	set->decrypt_mode = dec;
	set->alg_index = s->alg_index;
	if (with_key) {
		set->key_len = TV_TAPE_KEY_LEN;
		memcpy(set->key, s->key, TV_TAPE_KEY_LEN);
		set->kad_format = TV_SP_KADF_BINARY;
		if (s->kad_len > 0) {
			set->nkad = 1;
			set->kad[0].type = TV_SP_KAD_UKAD;
			set->kad[0].len = (uint16_t)s->kad_len;
			memcpy(set->kad[0].data, s->kad, s->kad_len);
		}
	}
	rc = tv_sp_build_set(&b, set);
	tv_freezero(set, sizeof(*set));
	if (rc != 0)
		goto out;
	n = tv_cdb_security_out(cdb, TV_SECURITY_PROTOCOL_TAPE, TV_SP_PAGE_SET_ENCRYPTION,
	                        (uint32_t)tv_buf_avail(&b));
	rc = run(s, cdb, n, TV_SCSI_TO_DEV, (void *)(uintptr_t)tv_buf_ptr(&b), tv_buf_avail(&b),
	         TV_SCSI_T_SHORT, &res);
	if (rc == TV_SCSI_CHECK)
		rc = refused(s, TV_ERR_IO, cdb, n, &res, with_key ? "the drive did not take the "
		             "encryption key" : "the drive did not clear its encryption key");
out:
	tv_buf_free(&b);      /* wiped */
	return rc;
}

/* Before a record is written: the drive encrypts exactly in the files
 * from enc_from on.  Called with mu held. */
static int arm(struct sgt *s)
{
	int want, rc;

	if (!s->key_set || !s->enc_wanted)
		return 0;
	if (s->file == UNK)
		refresh(s);
	want = s->file == UNK || s->file >= s->enc_from;
	if (want == s->enc_active)
		return 0;
	rc = spout(s, want ? TV_SP_ENC_ENCRYPT : TV_SP_ENC_DISABLE,
	           s->dec_wanted ? TV_SP_DEC_MIXED : TV_SP_DEC_DISABLE, 1);
	if (rc == 0)
		s->enc_active = want;
	return rc;
}

static int sg_set_encryption(struct tv_tape *t, const struct tv_tape_crypto *c)
{
	struct sgt *s = SG(t);
	int rc;

	pthread_mutex_lock(&s->mu);
	if (c == NULL) {
		/* a drive that cannot encrypt holds no key */
		if ((rc = crypto_caps(s)) != 0 || !s->capable)
			goto out;
		rc = spout(s, TV_SP_ENC_DISABLE, TV_SP_DEC_DISABLE, 0);
		s->key_set = s->enc_wanted = s->dec_wanted = s->enc_active = 0;
		tv_wipe(s->key, sizeof(s->key));
		goto out;
	}
	if ((rc = crypto_caps(s)) != 0)
		goto out;
	if (!s->capable) {
		rc = tv_errf(TV_ERR_UNSUPPORTED, "%s: the drive does not encrypt with AES-256-GCM "
		             "(its SECURITY PROTOCOL IN capabilities page 0010h names no such "
		             "algorithm): use software encryption for this pool "
		             "('tapevault pool set POOL --drive-encryption off')", t->name);
		goto out;
	}
	memcpy(s->key, c->key, TV_TAPE_KEY_LEN);
	memcpy(s->kad, c->kad, c->kad_len);
	s->kad_len = c->kad_len;
	s->enc_wanted = c->encrypt;
	s->dec_wanted = c->decrypt || c->encrypt;
	s->enc_from = c->from_file;
	s->enc_active = 0;
	/* the key goes in now, for reading; encryption starts at the first
	 * record written in file from_file */
	rc = spout(s, TV_SP_ENC_DISABLE, s->dec_wanted ? TV_SP_DEC_MIXED : TV_SP_DEC_DISABLE, 1);
	s->key_set = 1;        /* also when refused: close clears it anyway */
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int nbes_code(uint8_t st)
{
	switch (st) {
	case TV_NBES_NOT_BLOCK: return TV_TAPE_NB_NOT_RECORD;
	case TV_NBES_CLEAR: return TV_TAPE_NB_CLEAR;
	case TV_NBES_ENCRYPTED_KEY: return TV_TAPE_NB_ENCRYPTED;
	case TV_NBES_UNSUPPORTED_ALG:
	case TV_NBES_ENCRYPTED_NO_KEY: return TV_TAPE_NB_ENCRYPTED_NO_KEY;
	default: return TV_TAPE_NB_UNKNOWN;
	}
}

static void copy_kad(const struct tv_sp_kad *k, size_t n, uint8_t *out, size_t *len)
{
	const struct tv_sp_kad *u = tv_sp_find_kad(k, n, TV_SP_KAD_UKAD);

	*len = 0;
	if (u == NULL)
		u = tv_sp_find_kad(k, n, TV_SP_KAD_AKAD);
	if (u != NULL && u->len <= TV_TAPE_KAD_MAX) {
		memcpy(out, u->data, u->len);
		*len = u->len;
	}
}

static int next_block(struct sgt *s, struct tv_tape_crypto_status *cs)
{
	struct tv_sp_next_block nb;
	uint8_t data[256];
	size_t got;
	int rc;

	if ((rc = spin(s, TV_SP_PAGE_NEXT_BLOCK, data, sizeof(data), &got)) != 0 ||
	    (rc = tv_sp_parse_next_block(data, got, &nb)) != 0)
		return rc;
	cs->next_block = nbes_code(nb.status);
	copy_kad(nb.kad, nb.nkad, cs->next_kad, &cs->next_kad_len);
	return 0;
}

static int sg_encryption_status(struct tv_tape *t, struct tv_tape_crypto_status *cs)
{
	struct sgt *s = SG(t);
	struct tv_sp_status st;
	uint8_t data[256];
	size_t got;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = crypto_caps(s)) != 0 || !s->capable)
		goto out;
	cs->capable = 1;
	if ((rc = spin(s, TV_SP_PAGE_STATUS, data, sizeof(data), &got)) != 0 ||
	    (rc = tv_sp_parse_status(data, got, &st)) != 0)
		goto out;
	cs->encrypting = st.encrypt_mode == TV_SP_ENC_ENCRYPT;
	cs->decrypting = st.decrypt_mode == TV_SP_DEC_DECRYPT || st.decrypt_mode == TV_SP_DEC_MIXED;
	copy_kad(st.kad, st.nkad, cs->kad, &cs->kad_len);
	if (next_block(s, cs) != 0)
		cs->next_block = TV_TAPE_NB_UNKNOWN;   /* not every drive says */
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void hex(const uint8_t *p, size_t n, char *out, size_t sz)
{
	size_t k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && k + 3 <= sz; i++, k += 2)
		snprintf(out + k, sz - k, "%02x", p[i]);
}

/* A record the drive could not decrypt: which key it needs, if the drive
 * says (the record's KAD, tapevault's fingerprint of the tape's key). */
static int decrypt_refused(struct sgt *s, const uint8_t *cdb, size_t n,
                           const struct tv_scsi_result *res)
{
	struct tv_tape_crypto_status cs;
	char what[200], kad[2 * TV_TAPE_KAD_MAX + 1] = "";
	uint64_t file = s->file, block = s->block;
	const struct tv_sense *sn = sense_of(res);
	int no_key = sn->ascq == 0x01 || sn->ascq == 0x02;

	tv_sense_describe(sn, what, sizeof(what));
	memset(&cs, 0, sizeof(cs));
	if (next_block(s, &cs) == 0 && cs.next_kad_len > 0)
		hex(cs.next_kad, cs.next_kad_len, kad, sizeof(kad));
	pos_unknown(s);
	(void)cdb;
	(void)n;
	if (file == UNK || block == UNK)
		return tv_errf(no_key ? TV_ERR_LOCKED : TV_ERR_BADKEY, "%s: the drive cannot "
		               "decrypt the record (%s)%s%s%s", s->base.name, what,
		               kad[0] ? ": it is encrypted under key-associated data " : "", kad,
		               kad[0] ? " (the fingerprint of the tape's data key)" : "");
	return tv_errf(no_key ? TV_ERR_LOCKED : TV_ERR_BADKEY, "%s: the drive cannot decrypt "
	               "record %llu of tape file %llu: %s%s%s%s", s->base.name,
	               (unsigned long long)block, (unsigned long long)file, what,
	               kad[0] ? "; it is encrypted under key-associated data " : "", kad,
	               kad[0] ? " (the fingerprint of the tape's data key)" : "");
}

/* ---- records ---- */

static int read_check(struct sgt *s, const uint8_t *cdb, size_t n,
                      const struct tv_scsi_result *res, uint32_t len, size_t *got)
{
	const struct tv_sense *sn = sense_of(res);

	if (!res->has_sense) {
		pos_unknown(s);
		return refused(s, TV_ERR_IO, cdb, n, res, NULL);
	}
	if (sn->filemark) {
		past_filemark(s);
		return tv_errf(TV_ERR_FILEMARK, "%s: filemark", s->base.name);
	}
	if (sn->key == TV_SK_BLANK_CHECK) {
		s->eod = 1;
		return tv_errf(TV_ERR_EOD, "%s: end of recorded data", s->base.name);
	}
	if (sn->ili && sn->info_valid && sn->key == TV_SK_NO_SENSE) {
		past_records(s, 1);
		if (sn->info > 0 && (uint64_t)sn->info < len) {
			*got = len - (size_t)sn->info;
			return 0;
		}
		if (sn->info < 0)
			return tv_errf(TV_ERR_RANGE, "%s: a record of %lld bytes, larger than the "
			               "%u-byte read buffer: skipped", s->base.name,
			               (long long)len - (long long)sn->info, len);
		return tv_errf(TV_ERR_IO, "%s: a record of 0 bytes", s->base.name);
	}
	if (sn->eom && sn->asc == 0x00 && sn->ascq == 0x02) {
		s->eod = 1;
		return tv_errf(TV_ERR_EOD, "%s: end of medium", s->base.name);
	}
	if (sn->key == TV_SK_DATA_PROTECT && sn->asc == 0x74)
		return decrypt_refused(s, cdb, n, res);
	pos_unknown(s);
	if (sn->key == TV_SK_MEDIUM_ERROR)
		return refused(s, TV_ERR_IO, cdb, n, res, "the record cannot be read (medium "
		               "error): clean the drive and try again, or read the tape in "
		               "another drive");
	return refused(s, TV_ERR_IO, cdb, n, res, NULL);
}

static int sg_read(struct tv_tape *t, void *buf, size_t cap, size_t *got)
{
	struct sgt *s = SG(t);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	uint32_t len = cap > s->max_block ? s->max_block : (uint32_t)cap;
	size_t n;
	int rc;

	*got = 0;
	if (len == 0)
		return tv_errf(TV_ERR_RANGE, "%s: read with no buffer", t->name);
	n = tv_cdb_read6(cdb, len, 0);
	rc = run(s, cdb, n, TV_SCSI_FROM_DEV, buf, len, TV_SCSI_T_IO, &res);
	if (rc == 0) {
		s->eod = 0;
		past_records(s, 1);
		*got = len - res.resid;
		return 0;
	}
	if (rc == TV_SCSI_CHECK)
		return read_check(s, cdb, n, &res, len, got);
	pos_unknown(s);
	return rc;
}

static int write_check(struct sgt *s, const uint8_t *cdb, size_t n,
                       const struct tv_scsi_result *res, int records, int filemarks)
{
	const struct tv_sense *sn = sense_of(res);
	uint64_t file = s->file, block = s->block;

	if (!res->has_sense) {
		pos_unknown(s);
		return refused(s, TV_ERR_IO, cdb, n, res, NULL);
	}
	if ((sn->key == TV_SK_NO_SENSE || sn->key == TV_SK_RECOVERED_ERROR) && sn->eom &&
	    sn->asc == 0x00 && (sn->ascq == 0x02 || sn->ascq == 0x07)) {
		/* written; the early warning point is passed */
		s->ew = 1;
		s->wrote = 1;
		past_records(s, records);
		for (int i = 0; i < filemarks; i++)
			past_filemark(s);
		return tv_errf(TV_ERR_EW, "%s: early warning: end of medium near; finish this "
		               "tape and continue on another", s->base.name);
	}
	if (sn->key == TV_SK_RECOVERED_ERROR) {
		s->wrote = 1;
		past_records(s, records);
		for (int i = 0; i < filemarks; i++)
			past_filemark(s);
		return 0;
	}
	if (sn->key == TV_SK_VOLUME_OVERFLOW) {
		s->ew = 1;
		return tv_errf(TV_ERR_NOSPC, "%s: end of medium: nothing written (%s refused with "
		               "VOLUME OVERFLOW); continue on another tape", s->base.name,
		               tv_scsi_cmd_name(cdb, n));
	}
	if (sn->key == TV_SK_DATA_PROTECT && sn->asc == 0x27) {
		s->wp = 1;
		return refused(s, TV_ERR_WPROT, cdb, n, res, "the cartridge is write protected");
	}
	pos_unknown(s);
	if (sn->key == TV_SK_MEDIUM_ERROR) {
		char where[96] = "";
		if (file != UNK && block != UNK)
			snprintf(where, sizeof(where), " (record %llu of tape file %llu)",
			         (unsigned long long)block, (unsigned long long)file);
		char what[200];
		tv_sense_describe(sn, what, sizeof(what));
		return tv_errf(TV_ERR_IO, "%s: the drive reports a medium error while writing%s: "
		               "%s: the cartridge may be damaged; what this job wrote to it "
		               "after its last complete tape file is not safe there", s->base.name,
		               where, what);
	}
	if (sn->key == TV_SK_ILLEGAL_REQUEST && sn->asc == 0x24)
		return refused(s, TV_ERR_RANGE, cdb, n, res, "the drive refuses a block of this "
		               "size");
	return refused(s, TV_ERR_IO, cdb, n, res, NULL);
}

static int sg_write(struct tv_tape *t, const void *buf, size_t len)
{
	struct sgt *s = SG(t);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int rc;

	if (s->wp)
		return tv_errf(TV_ERR_WPROT, "%s: the cartridge is write protected", t->name);
	if (len > s->max_block)
		return tv_errf(TV_ERR_RANGE, "%s: a record of %zu bytes; the drive takes at most "
		               "%u", t->name, len, s->max_block);
	pthread_mutex_lock(&s->mu);
	rc = arm(s);
	pthread_mutex_unlock(&s->mu);
	if (rc != 0)
		return rc;
	fstart_trunc(s, s->file);
	n = tv_cdb_write6(cdb, (uint32_t)len);
	rc = run(s, cdb, n, TV_SCSI_TO_DEV, (void *)(uintptr_t)buf, len, TV_SCSI_T_IO, &res);
	s->eod = 0;
	if (rc == 0) {
		s->wrote = 1;
		past_records(s, 1);
		return 0;
	}
	if (rc == TV_SCSI_CHECK)
		return write_check(s, cdb, n, &res, 1, 0);
	pos_unknown(s);
	return rc;
}

static int sg_write_filemarks(struct tv_tape *t, unsigned count)
{
	struct sgt *s = SG(t);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int rc;

	if (s->wp)
		return tv_errf(TV_ERR_WPROT, "%s: the cartridge is write protected", t->name);
	if (count == 0)
		return 0;
	if (count > XFER_MAX)
		return tv_errf(TV_ERR_RANGE, "%s: %u filemarks at once", t->name, count);
	fstart_trunc(s, s->file);
	n = tv_cdb_write_filemarks6(cdb, count, 1);
	rc = run(s, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_IO, &res);
	s->eod = 0;
	if (rc == 0) {
		s->wrote = 1;
		for (unsigned i = 0; i < count; i++)
			past_filemark(s);
		return 0;
	}
	if (rc == TV_SCSI_CHECK)
		return write_check(s, cdb, n, &res, 0, (int)count);
	pos_unknown(s);
	return rc;
}

/* Short erase: end of data at the position. */
static int sg_erase(struct tv_tape *t)
{
	struct sgt *s = SG(t);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int rc;

	if (s->wp)
		return tv_errf(TV_ERR_WPROT, "%s: the cartridge is write protected", t->name);
	fstart_trunc(s, s->file);
	n = tv_cdb_erase6(cdb, 0, 0);
	rc = run(s, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);
	if (rc == TV_SCSI_CHECK) {
		pos_unknown(s);
		return refused(s, TV_ERR_IO, cdb, n, &res, "the drive did not erase the tape");
	}
	if (rc != 0) {
		pos_unknown(s);
		return rc;
	}
	s->eod = 1;
	return 0;
}

/* ---- positioning ---- */

static int sg_rewind(struct tv_tape *t)
{
	struct sgt *s = SG(t);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_rewind(cdb, 0);
	int rc = run(s, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);

	if (rc == TV_SCSI_CHECK) {
		pos_unknown(s);
		return refused(s, TV_ERR_IO, cdb, n, &res, NULL);
	}
	if (rc != 0) {
		pos_unknown(s);
		return rc;
	}
	pos_bot(s);
	fstart_set(s, 0, 0);
	return 0;
}

/* One SPACE(6); *done gets how far it went (from the residue). */
static int space6(struct sgt *s, int code, int32_t count, struct tv_scsi_result *res,
                  int32_t *done, uint8_t *cdb, size_t *n)
{
	int rc;

	*n = tv_cdb_space6(cdb, code, count);
	rc = run(s, cdb, *n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, res);
	*done = count;
	if (rc == TV_SCSI_CHECK && res->has_sense && res->sense.info_valid) {
		int64_t left = res->sense.info;
		if (left < 0)
			left = -left;
		if (left <= (count < 0 ? -(int64_t)count : count))
			*done = count < 0 ? -(int32_t)(-(int64_t)count - left)
			                  : (int32_t)(count - left);
	} else if (rc != 0) {
		*done = 0;
	}
	return rc;
}

static int at_bot_error(struct sgt *s, const char *what)
{
	pos_bot(s);
	return tv_errf(TV_ERR_EOF, "%s: beginning of tape while spacing back over %s",
	               s->base.name, what);
}

static int is_bot(const struct tv_scsi_result *res)
{
	return res->has_sense && res->sense.eom && res->sense.asc == 0x00 &&
	       res->sense.ascq == 0x04;
}

static int space_files_once(struct sgt *s, int32_t count)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int32_t done;
	int rc = space6(s, TV_SPACE_FILEMARKS, count, &res, &done, cdb, &n);

	s->base.stats.files_spaced += (uint64_t)(done < 0 ? -(int64_t)done : done);
	if (count > 0) {
		for (int32_t i = 0; i < done; i++)
			next_file_start(s);
		if (rc == 0)
			return 0;
		if (rc == TV_SCSI_CHECK && res.has_sense && res.sense.key == TV_SK_BLANK_CHECK) {
			s->block = s->obj = UNK;
			s->eod = 1;
			return tv_errf(TV_ERR_EOD, "%s: end of data while spacing forward over "
			               "filemarks", s->base.name);
		}
	} else {
		/* on the BOT side of the last filemark crossed: in the file
		 * before it, at its end */
		if (rc == 0 || done != 0) {
			add(&s->file, done);
			s->obj = fstart_get(s, s->file == UNK ? UNK : s->file + 1);
			add(&s->obj, -1);
			s->block = s->obj != UNK && fstart_get(s, s->file) != UNK ?
			           s->obj - fstart_get(s, s->file) : UNK;
			s->eod = 0;
		}
		if (rc == 0)
			return 0;
		if (rc == TV_SCSI_CHECK && is_bot(&res))
			return at_bot_error(s, "filemarks");
	}
	pos_unknown(s);
	if (rc == TV_SCSI_CHECK)
		return refused(s, TV_ERR_IO, cdb, n, &res, NULL);
	return rc;
}

/* A SPACE count wider than the CDB's 24 bits, as several commands. */
static int space_chunked(struct sgt *s, long count, int (*once)(struct sgt *, int32_t))
{
	int rc = 0;

	while (count != 0 && rc == 0) {
		int32_t c = count > SPACE_MAX ? SPACE_MAX : count < -SPACE_MAX ? -SPACE_MAX :
		            (int32_t)count;
		rc = once(s, c);
		count -= c;
	}
	return rc;
}

static int sg_space_files(struct tv_tape *t, long count)
{
	return space_chunked(SG(t), count, space_files_once);
}

/* Back to the near side of the filemark a record space stopped at. */
static int fm_fix(struct sgt *s, int forward)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int32_t done;
	int rc = space6(s, TV_SPACE_FILEMARKS, forward ? -1 : 1, &res, &done, cdb, &n);

	if (rc == TV_SCSI_CHECK) {
		pos_unknown(s);
		return refused(s, TV_ERR_IO, cdb, n, &res, "cannot move back over the filemark "
		               "met while spacing");
	}
	return rc;
}

static int space_records_once(struct sgt *s, int32_t count)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int32_t done;
	uint64_t file = s->file;
	int rc = space6(s, TV_SPACE_BLOCKS, count, &res, &done, cdb, &n), r2;

	s->base.stats.records_spaced += (uint64_t)(done < 0 ? -(int64_t)done : done);
	past_records(s, done);
	s->eod = 0;
	if (rc == 0)
		return 0;
	if (rc == TV_SCSI_CHECK && res.has_sense && res.sense.filemark) {
		/* forward: past the filemark; backward: before it */
		if ((r2 = fm_fix(s, count > 0)) != 0)
			return r2;
		s->file = file;
		if (count < 0) {
			s->block = file != UNK ? 0 : UNK;   /* at the start of the file */
			fstart_set(s, file, s->obj);
		}
		return tv_errf(TV_ERR_FILEMARK, "%s: filemark while spacing %s over records",
		               s->base.name, count > 0 ? "forward" : "back");
	}
	if (rc == TV_SCSI_CHECK && res.has_sense && res.sense.key == TV_SK_BLANK_CHECK) {
		s->eod = 1;
		return tv_errf(TV_ERR_EOD, "%s: end of data while spacing forward over records",
		               s->base.name);
	}
	if (rc == TV_SCSI_CHECK && count < 0 && is_bot(&res))
		return at_bot_error(s, "records");
	pos_unknown(s);
	if (rc == TV_SCSI_CHECK)
		return refused(s, TV_ERR_IO, cdb, n, &res, NULL);
	return rc;
}

static int sg_space_records(struct tv_tape *t, long count)
{
	return space_chunked(SG(t), count, space_records_once);
}

static int sg_seek_eod(struct tv_tape *t)
{
	struct sgt *s = SG(t);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n;
	int32_t done;
	int rc = space6(s, TV_SPACE_EOD, 0, &res, &done, cdb, &n);

	if (rc == TV_SCSI_CHECK) {
		pos_unknown(s);
		return refused(s, TV_ERR_IO, cdb, n, &res, "cannot space to end of data");
	}
	if (rc != 0) {
		pos_unknown(s);
		return rc;
	}
	refresh(s);
	if (s->block == UNK && s->file != UNK && s->file > 0 && s->obj != UNK) {
		/* the drive says the file, not the record in it: where the
		 * file starts is one past its filemark, seen from its BOT side */
		uint64_t file = s->file, obj = s->obj;
		if (space6(s, TV_SPACE_FILEMARKS, -1, &res, &done, cdb, &n) == 0 && refresh(s) == 0 &&
		    s->obj != UNK)
			fstart_set(s, file, s->obj + 1);
		rc = space6(s, TV_SPACE_EOD, 0, &res, &done, cdb, &n);
		if (rc != 0) {
			pos_unknown(s);
			return rc == TV_SCSI_CHECK ? refused(s, TV_ERR_IO, cdb, n, &res, NULL) : rc;
		}
		s->file = file;
		s->obj = obj;
		s->block = fstart_get(s, file) != UNK ? obj - fstart_get(s, file) : UNK;
	}
	s->eod = 1;
	return 0;
}

static int locate16(struct sgt *s, int type, uint64_t id, uint64_t file, uint64_t block)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_locate16(cdb, type, id);
	int rc;

	s->base.stats.locates++;
	rc = run(s, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);
	s->eod = 0;
	if (rc == 0)
		return 0;
	pos_unknown(s);
	if (rc == TV_SCSI_CHECK && res.has_sense && (res.sense.key == TV_SK_BLANK_CHECK ||
	                                             res.sense.eom))
		return tv_errf(TV_ERR_NOTFOUND, "%s: no record %llu in tape file %llu (the "
		               "recorded data ends before it)", s->base.name,
		               (unsigned long long)block, (unsigned long long)file);
	if (rc == TV_SCSI_CHECK)
		return refused(s, TV_ERR_IO, cdb, n, &res, NULL);
	return rc;
}

/* The start of a file by LOCATE(16) to its logical file identifier; the
 * drive's READ POSITION then says which object that is.  A drive that
 * lands on the BOT side of the filemark instead is moved over it. */
static int locate_file(struct sgt *s, uint64_t file)
{
	int rc;

	if (file == 0)
		return sg_rewind(&s->base);
	if ((rc = locate16(s, TV_LOCATE_FILE, file, file, 0)) != 0)
		return rc;
	if ((rc = refresh(s)) != 0)
		return rc;
	if (s->file != UNK && s->file + 1 == file && (rc = space_files_once(s, 1)) != 0) {
		if (rc == TV_ERR_EOD)
			return tv_errf(TV_ERR_NOTFOUND, "%s: the tape has no file %llu",
			               s->base.name, (unsigned long long)file);
		return rc;
	}
	if (s->file != file || s->obj == UNK)
		return tv_errf(TV_ERR_IO, "%s: LOCATE to tape file %llu left the drive at file "
		               "%lld", s->base.name, (unsigned long long)file,
		               s->file == UNK ? -1LL : (long long)s->file);
	s->block = 0;
	fstart_set(s, file, s->obj);
	return 0;
}

static int sg_locate(struct tv_tape *t, uint64_t file, uint64_t block)
{
	struct sgt *s = SG(t);
	uint64_t fs = fstart_get(s, file);
	int rc;

	if (file != UNK && s->file == file && s->block == block)
		return 0;   /* already there */
	if (fs == UNK) {
		if ((rc = locate_file(s, file)) != 0 || block == 0)
			return rc;
		fs = fstart_get(s, file);
		if (fs == UNK)
			return tv_errf(TV_ERR_IO, "%s: the drive does not tell where tape file %llu "
			               "starts", t->name, (unsigned long long)file);
	}
	if ((rc = locate16(s, TV_LOCATE_OBJECT, fs + block, file, block)) != 0)
		return rc;
	s->file = file;
	s->block = block;
	s->obj = fs + block;
	return 0;
}

/* ---- status, close ---- */

static int sg_status(struct tv_tape *t, struct tv_tape_status *ts)
{
	struct sgt *s = SG(t);

	if (s->file == UNK || s->block == UNK)
		refresh(s);
	ts->file_no = s->file;
	ts->block_no = s->block;
	ts->bot = s->file == 0 && s->block == 0;
	ts->eod = s->eod;
	ts->ew = s->ew;
	ts->write_protected = s->wp;
	capacity_log(s, ts);
	return 0;
}

static int flush(struct sgt *s)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_write_filemarks6(cdb, 0, 0);   /* 0 filemarks: write the buffer */
	int rc = run(s, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_IO, &res);

	if (rc == TV_SCSI_CHECK && !(res.has_sense && res.sense.eom &&
	                             (res.sense.key == TV_SK_NO_SENSE)))
		return refused(s, TV_ERR_IO, cdb, n, &res, "the last records may not be on tape");
	return rc == TV_SCSI_CHECK ? 0 : rc;
}

static int sg_close(struct tv_tape *t)
{
	struct sgt *s = SG(t);
	int rc = 0, r2;

	if (s->wrote)
		rc = flush(s);
	if (s->key_set) {
		r2 = spout(s, TV_SP_ENC_DISABLE, TV_SP_DEC_DISABLE, 0);
		if (r2 != 0 && rc == 0)
			rc = tv_errctx(r2, "%s: the drive may still hold the encryption key (it "
			               "clears it when the cartridge is unloaded)", t->name);
	}
	tv_wipe(s->key, sizeof(s->key));
	if (s->own)
		tv_scsi_close(s->tr);
	pthread_mutex_destroy(&s->mu);
	free(s->fstart);
	free(s);
	return rc;
}

static const struct tv_tape_ops sg_ops = {
	.version = TV_TAPE_OPS_VERSION,
	.kind = "scsi",
	.read = sg_read,
	.write = sg_write,
	.write_filemarks = sg_write_filemarks,
	.rewind = sg_rewind,
	.space_files = sg_space_files,
	.space_records = sg_space_records,
	.seek_eod = sg_seek_eod,
	.status = sg_status,
	.close = sg_close,
	.locate = sg_locate,
	.set_encryption = sg_set_encryption,
	.encryption_status = sg_encryption_status,
	.erase = sg_erase,
};

int tv_sgtape_open(struct tv_scsi_transport *tr, int own, const char *name, int mode,
                   struct tv_tape **out)
{
	struct sgt *s;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (tr == NULL || out == NULL) {
		if (own)
			tv_scsi_close(tr);
		return tv_errf(TV_ERR_INVAL, "tv_sgtape_open: no transport");
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		if (own)
			tv_scsi_close(tr);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	s->base.ops = &sg_ops;
	s->base.readonly = mode != TV_TAPE_RDWR;
	snprintf(s->base.name, sizeof(s->base.name), "%s", name != NULL ? name : tr->name);
	s->tr = tr;
	s->own = own;
	s->max_block = XFER_MAX;
	pthread_mutex_init(&s->mu, NULL);
	pos_unknown(s);
	fstart_set(s, 0, 0);          /* BOT is object 0 */
	if ((rc = wait_ready(s)) != 0 || (rc = check_inquiry(s)) != 0 ||
	    (rc = block_limits(s)) != 0 || (rc = variable_mode(s)) != 0) {
		s->key_set = 0;
		s->wrote = 0;
		sg_close(&s->base);
		return rc;
	}
	refresh(s);
	capacity_log(s, NULL);
	*out = &s->base;
	return 0;
}

int tv_sgtape_unload(struct tv_scsi_transport *tr)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_load_unload(cdb, 0, 0);
	int rc = tv_scsi_run(tr, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);

	if (rc == TV_SCSI_CHECK) {
		/* an empty drive has nothing to eject */
		if (res.has_sense && res.sense.key == TV_SK_NOT_READY && res.sense.asc == 0x3A)
			return 0;
		/* the medium is held (medium removal prevented): in use */
		return tv_scsi_errf(res.has_sense && res.sense.asc == 0x53 && res.sense.ascq == 0x02 ?
		                    TV_ERR_STATE : TV_ERR_IO, tr, cdb, n, &res);
	}
	return rc;
}
