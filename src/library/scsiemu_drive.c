/* tapevault: the emulated library's tape drives (see scsiemu.h): an SSC-4
 * front over a SIMH image (tape/vtape.c).
 *
 * The medium is the image of the cartridge the changer put in this drive,
 * opened when a command first needs it (the drive then reports a unit
 * attention, as a drive does after a cartridge change).  The logical
 * object numbers of READ POSITION and LOCATE (records and filemarks since
 * BOT) come from an index of the image's files, built by spacing through
 * it when first asked and dropped when the drive writes. */
#include "library/scsiemu.h"

#include "library/vlib_int.h"
#include "scsi/cdb.h"
#include "scsi/data.h"
#include "scsi/scsi.h"
#include "tape/tape.h"
#include "tape/tfile.h"
#include "util/aead.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"

#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_MAGIC "TVEMUENC"
#define ENC_MAGIC_LEN 8
#define ENC_KAD_MAX 32
#define ENC_OVERHEAD (ENC_MAGIC_LEN + 1 + ENC_KAD_MAX + TV_GCM_IV_LEN + TV_GCM_TAG_LEN)
#define MAX_BLOCK (TV_VTAPE_MAX_RECORD - ENC_OVERHEAD)
#define ALG_INDEX 1
#define MIB ((uint64_t)1 << 20)

struct emu_drive {
	struct tv_scsi_transport base;
	pthread_mutex_t mu;
	char *dir;
	unsigned idx;
	int mode;
	struct tv_tape *vt;              /* the medium, NULL when none is open */
	char bc[32];
	int ua;                          /* a unit attention is due */
	struct tv_scsiemu_drive_mem mem;
	int ix_valid;
	uint64_t *frecs;                 /* records in each tape file */
	size_t nfiles;
	uint8_t *rbuf;
	size_t rcap;
	struct tv_aead *aead;
	uint32_t fixed_len;
};

/* ---- sense replies ---- */

static int check(uint8_t *sense, size_t *slen, uint8_t key, uint8_t asc, uint8_t ascq)
{
	return tv_scsiemu_check(sense, slen, key, asc, ascq);
}

/* With the stream bits and INFORMATION (a residue). */
static int check_info(uint8_t *sense, size_t *slen, uint8_t key, uint8_t asc, uint8_t ascq,
                      int fm, int eom, int ili, int64_t info)
{
	*slen = tv_sense_build_fixed(sense, key, asc, ascq, fm, eom, ili, 1, (int32_t)info);
	return TV_SCSI_CHECK_CONDITION;
}

static int bad_cdb(uint8_t *sense, size_t *slen)
{
	return check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

/* ---- the medium ---- */

static void medium_close(struct emu_drive *d)
{
	if (d->vt != NULL)
		tv_tape_close(d->vt);
	d->vt = NULL;
	d->bc[0] = '\0';
	d->ix_valid = 0;
}

/* The barcode of the cartridge in this drive, "" when empty. */
static int drive_cartridge(struct emu_drive *d, char *bc, size_t sz)
{
	struct tv_vlib *l = NULL;
	struct tv_vlib_elem *e = NULL;
	size_t n = 0;
	int rc;

	bc[0] = '\0';
	if ((rc = tv_vlib_dir_open(d->dir, TV_SCSIEMU_STATE, TV_SCSIEMU_LOCK, &l)) != 0)
		return rc;
	rc = l->ops->status(l, NULL, &e, &n);
	l->ops->close(l);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (e[i].type == TV_ELEM_DRIVE && e[i].index == d->idx)
			snprintf(bc, sz, "%s", e[i].barcode);
	free(e);
	return rc;
}

/* 0 when a cartridge is loaded and its image open; else the reply. */
static int medium(struct emu_drive *d, uint8_t *sense, size_t *slen)
{
	char bc[32], path[PATH_MAX];
	int rc;

	if (d->vt != NULL)
		return 0;
	if ((rc = tv_scsiemu_mem_get(d->dir, d->idx, &d->mem)) != 0 ||
	    (rc = drive_cartridge(d, bc, sizeof(bc))) != 0)
		return rc;
	if (bc[0] == '\0')
		return check(sense, slen, TV_SK_NOT_READY, 0x3A, 0x00);
	if (!d->mem.threaded)     /* ejected: waits for LOAD or the robot */
		return check(sense, slen, TV_SK_NOT_READY, 0x04, 0x02);
	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s.tap", d->dir, bc)) != 0)
		return rc;
	rc = tv_vtape_open(path, d->mode, &d->vt);
	if (rc == TV_ERR_STATE)   /* another process has this drive's cartridge open */
		return TV_SCSI_BUSY;
	if (rc != 0)
		return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x30, 0x01);
	snprintf(d->bc, sizeof(d->bc), "%s", bc);
	d->ua = 1;
	d->ix_valid = 0;
	return 0;
}

static int grow(struct emu_drive *d, size_t need)
{
	uint8_t *p;

	if (need <= d->rcap)
		return 0;
	if (need < ((size_t)1 << 18) + 4096)
		need = ((size_t)1 << 18) + 4096;
	if ((p = malloc(need)) == NULL)
		return tv_errf(TV_ERR_NOMEM, "emulated drive: out of memory");
	if (d->rbuf != NULL)
		tv_freezero(d->rbuf, d->rcap);
	d->rbuf = p;
	d->rcap = need;
	return 0;
}

/* ---- logical object numbers ---- */

static int ix_build(struct emu_drive *d)
{
	struct tv_tape_status ts;
	uint64_t file, block, *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (d->ix_valid)
		return 0;
	if ((rc = tv_tape_status(d->vt, &ts)) != 0)
		return rc;
	file = ts.file_no;
	block = ts.block_no;
	if ((rc = tv_tape_rewind(d->vt)) != 0)
		return rc;
	for (;;) {
		uint64_t before = d->vt->stats.records_spaced;
		rc = tv_tape_space_records(d->vt, LONG_MAX / 2);
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL) {
				free(v);
				return tv_errf(TV_ERR_NOMEM, "emulated drive: out of memory");
			}
			v = nv;
		}
		v[n++] = d->vt->stats.records_spaced - before;
		if (rc == TV_ERR_FILEMARK && (rc = tv_tape_space_files(d->vt, 1)) == 0)
			continue;
		if (rc == 0 || rc == TV_ERR_EOD)
			break;
		free(v);
		return rc;
	}
	free(d->frecs);
	d->frecs = v;
	d->nfiles = n;
	d->ix_valid = 1;
	if ((rc = tv_tape_goto_file(d->vt, file)) == 0 && block > 0)
		rc = tv_tape_space_records(d->vt, (long)block);
	return rc == TV_ERR_EOD ? 0 : rc;
}

static uint64_t obj_of(const struct emu_drive *d, uint64_t file, uint64_t block)
{
	uint64_t o = 0;

	for (uint64_t i = 0; i < file && i < d->nfiles; i++)
		o += d->frecs[i] + 1;
	return o + block;
}

/* (file, block) of an object number; 1 when it lies beyond the data. */
static int loc_of(const struct emu_drive *d, uint64_t obj, uint64_t *file, uint64_t *block)
{
	for (size_t i = 0; i < d->nfiles; i++) {
		if (obj <= d->frecs[i]) {     /* == frecs: before the filemark (or EOD) */
			*file = i;
			*block = obj;
			return 0;
		}
		obj -= d->frecs[i] + 1;
	}
	return 1;
}

static int position(struct emu_drive *d, struct tv_read_position *rp)
{
	struct tv_tape_status ts;
	int rc;

	memset(rp, 0, sizeof(*rp));
	if ((rc = ix_build(d)) != 0 || (rc = tv_tape_status(d->vt, &ts)) != 0)
		return rc;
	rp->bop = ts.file_no == 0 && ts.block_no == 0;
	rp->bpew = ts.ew;
	rp->file_valid = 1;
	rp->file = ts.file_no;
	rp->object = obj_of(d, ts.file_no, ts.block_no);
	return 0;
}

/* ---- encryption of records ---- */

static int is_sealed(const uint8_t *p, size_t n)
{
	return n >= ENC_MAGIC_LEN + 1 + TV_GCM_IV_LEN + TV_GCM_TAG_LEN &&
	       memcmp(p, ENC_MAGIC, ENC_MAGIC_LEN) == 0;
}

/* The record's KAD (pointer into p). */
static int sealed_kad(const uint8_t *p, size_t n, const uint8_t **kad, size_t *kad_len)
{
	size_t kl = p[ENC_MAGIC_LEN];

	if (kl > ENC_KAD_MAX || ENC_MAGIC_LEN + 1 + kl + TV_GCM_IV_LEN + TV_GCM_TAG_LEN > n)
		return TV_ERR_FORMAT;
	*kad = p + ENC_MAGIC_LEN + 1;
	*kad_len = kl;
	return 0;
}

/* Seals len bytes of data into d->rbuf; *out_len the stored record. */
static int seal(struct emu_drive *d, const void *data, size_t len, size_t *out_len)
{
	size_t kl = d->mem.kad_len, hl = ENC_MAGIC_LEN + 1 + kl;
	uint8_t *iv, *ct;
	int rc;

	if ((rc = grow(d, len + ENC_OVERHEAD)) != 0)
		return rc;
	memcpy(d->rbuf, ENC_MAGIC, ENC_MAGIC_LEN);
	d->rbuf[ENC_MAGIC_LEN] = (uint8_t)kl;
	memcpy(d->rbuf + ENC_MAGIC_LEN + 1, d->mem.kad, kl);
	iv = d->rbuf + hl;
	ct = iv + TV_GCM_IV_LEN;
	if (RAND_bytes(iv, TV_GCM_IV_LEN) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "emulated drive: random nonce");
	if (d->aead == NULL && (rc = tv_aead_new(&d->aead)) != 0)
		return rc;
	{
		struct tv_aad aad = { d->rbuf, hl };
		rc = tv_aead_seal(d->aead, d->mem.key, iv, &aad, 1, data, ct, len, ct + len);
	}
	*out_len = hl + TV_GCM_IV_LEN + len + TV_GCM_TAG_LEN;
	return rc;
}

/* Opens a sealed record in d->rbuf in place: *plain points at the data. */
static int unseal(struct emu_drive *d, size_t n, uint8_t **plain, size_t *plen)
{
	const uint8_t *kad;
	size_t kl, hl;
	uint8_t *iv, *ct;
	struct tv_aad aad;
	int rc;

	if (sealed_kad(d->rbuf, n, &kad, &kl) != 0)
		return TV_ERR_FORMAT;
	hl = ENC_MAGIC_LEN + 1 + kl;
	iv = d->rbuf + hl;
	ct = iv + TV_GCM_IV_LEN;
	*plen = n - hl - TV_GCM_IV_LEN - TV_GCM_TAG_LEN;
	if (d->aead == NULL && (rc = tv_aead_new(&d->aead)) != 0)
		return rc;
	aad.p = d->rbuf;
	aad.n = hl;
	if ((rc = tv_aead_open(d->aead, d->mem.key, iv, &aad, 1, ct, ct, *plen,
	                       ct + *plen)) != 0)
		return rc;
	*plain = ct;
	return 0;
}

/* ---- reads ---- */

/* The next record into d->rbuf, whatever its size. */
static int read_raw(struct emu_drive *d, size_t *got)
{
	int rc;

	/* a default record (256 KiB) sealed fits; larger ones are read again */
	if ((rc = grow(d, ((size_t)1 << 18) + 4096)) != 0)
		return rc;
	rc = tv_tape_read(d->vt, d->rbuf, d->rcap, got);
	if (rc == TV_ERR_RANGE) {           /* larger: read it again, whole */
		if ((rc = tv_tape_space_records(d->vt, -1)) != 0 ||
		    (rc = grow(d, TV_VTAPE_MAX_RECORD)) != 0)
			return rc;
		rc = tv_tape_read(d->vt, d->rbuf, d->rcap, got);
	}
	return rc;
}

static int read6(struct emu_drive *d, const uint8_t *cdb, size_t n, void *buf, size_t len,
                 size_t *resid, uint8_t *sense, size_t *slen)
{
	struct tv_cdb_rw rw;
	uint8_t *data;
	size_t got = 0, plen;
	int rc;

	if (tv_cdb_get_rw(cdb, n, &rw) != 0 || rw.fixed || rw.len > len)
		return bad_cdb(sense, slen);
	if (rw.len == 0)
		return TV_SCSI_GOOD;
	rc = read_raw(d, &got);
	if (rc == TV_ERR_FILEMARK)
		return check_info(sense, slen, TV_SK_NO_SENSE, 0x00, 0x01, 1, 0, 0, rw.len);
	if (rc == TV_ERR_EOD)
		return check_info(sense, slen, TV_SK_BLANK_CHECK, 0x00, 0x05, 0, 0, 0, rw.len);
	if (rc != 0)
		return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x11, 0x00);
	data = d->rbuf;
	plen = got;
	if (is_sealed(d->rbuf, got)) {
		int mode = d->mem.decrypt_mode;
		if (!d->mem.key_set || (mode != TV_SP_DEC_DECRYPT && mode != TV_SP_DEC_MIXED)) {
			tv_tape_space_records(d->vt, -1);        /* stays before it */
			return check(sense, slen, TV_SK_DATA_PROTECT, 0x74, 0x01);
		}
		if ((rc = unseal(d, got, &data, &plen)) != 0) {
			tv_tape_space_records(d->vt, -1);
			return check(sense, slen, TV_SK_DATA_PROTECT, 0x74,
			             rc == TV_ERR_AUTH ? 0x03 : 0x05);
		}
	} else if (d->mem.decrypt_mode == TV_SP_DEC_DECRYPT) {
		tv_tape_space_records(d->vt, -1);
		return check(sense, slen, TV_SK_DATA_PROTECT, 0x74, 0x02);
	}
	tv_scsiemu_reply(data, plen, buf, rw.len, resid);
	*resid += len - rw.len;
	if (plen == rw.len)
		return TV_SCSI_GOOD;
	/* ILI: INFORMATION = asked minus the record's length */
	return check_info(sense, slen, TV_SK_NO_SENSE, 0x00, 0x00, 0, 0, 1,
	                  (int64_t)rw.len - (int64_t)plen);
}

/* ---- writes ---- */

static int write_result(int rc, uint32_t len, uint8_t *sense, size_t *slen)
{
	switch (rc) {
	case 0:
		return TV_SCSI_GOOD;
	case TV_ERR_EW:           /* written: early warning */
		return check_info(sense, slen, TV_SK_NO_SENSE, 0x00, 0x02, 0, 1, 0, 0);
	case TV_ERR_NOSPC:        /* not written */
		return check_info(sense, slen, TV_SK_VOLUME_OVERFLOW, 0x00, 0x02, 0, 1, 0, len);
	case TV_ERR_WPROT:
		return check(sense, slen, TV_SK_DATA_PROTECT, 0x27, 0x00);
	default:
		return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x0C, 0x00);
	}
}

static int write6(struct emu_drive *d, const uint8_t *cdb, size_t n, const void *buf,
                  size_t len, uint8_t *sense, size_t *slen)
{
	struct tv_cdb_rw rw;
	size_t stored = 0;
	int rc;

	if (tv_cdb_get_rw(cdb, n, &rw) != 0 || rw.fixed || rw.len > len || rw.len > MAX_BLOCK)
		return bad_cdb(sense, slen);
	if (rw.len == 0)
		return TV_SCSI_GOOD;
	if (d->mode != TV_TAPE_RDWR)
		return check(sense, slen, TV_SK_DATA_PROTECT, 0x27, 0x00);
	d->ix_valid = 0;
	if (d->mem.encrypt_mode == TV_SP_ENC_ENCRYPT) {
		if (!d->mem.key_set)
			return check(sense, slen, TV_SK_DATA_PROTECT, 0x74, 0x00);
		if ((rc = seal(d, buf, rw.len, &stored)) != 0)
			return rc;
		rc = tv_tape_write(d->vt, d->rbuf, stored);
	} else {
		rc = tv_tape_write(d->vt, buf, rw.len);
	}
	return write_result(rc, rw.len, sense, slen);
}

static int write_filemarks(struct emu_drive *d, const uint8_t *cdb, size_t n,
                           uint8_t *sense, size_t *slen)
{
	uint32_t count;
	int immed;

	if (tv_cdb_get_filemarks(cdb, n, &count, &immed) != 0)
		return bad_cdb(sense, slen);
	if (count == 0)          /* write the buffer: nothing is buffered here */
		return TV_SCSI_GOOD;
	if (d->mode != TV_TAPE_RDWR)
		return check(sense, slen, TV_SK_DATA_PROTECT, 0x27, 0x00);
	d->ix_valid = 0;
	return write_result(tv_tape_write_filemarks(d->vt, count), count, sense, slen);
}

/* ---- positioning ---- */

static int space_blocks(struct emu_drive *d, int32_t count, uint8_t *sense, size_t *slen)
{
	uint64_t before = d->vt->stats.records_spaced;
	int64_t done, left;
	int rc = tv_tape_space_records(d->vt, count);

	done = (int64_t)(d->vt->stats.records_spaced - before);
	left = (count < 0 ? -(int64_t)count : count) - done;
	if (count < 0)
		left = -left;       /* INFORMATION: requested minus done, signed */
	if (rc == 0)
		return TV_SCSI_GOOD;
	if (rc == TV_ERR_FILEMARK) {
		/* SSC stops past the filemark going forward, before it going back */
		if ((rc = tv_tape_space_files(d->vt, count > 0 ? 1 : -1)) != 0)
			return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x3B, 0x00);
		return check_info(sense, slen, TV_SK_NO_SENSE, 0x00, 0x01, 1, 0, 0, left);
	}
	if (rc == TV_ERR_EOD)
		return check_info(sense, slen, TV_SK_BLANK_CHECK, 0x00, 0x05, 0, 0, 0, left);
	if (rc == TV_ERR_EOF)
		return check_info(sense, slen, TV_SK_NO_SENSE, 0x00, 0x04, 0, 1, 0, left);
	return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x3B, 0x00);
}

static int space_files(struct emu_drive *d, int32_t count, uint8_t *sense, size_t *slen)
{
	uint64_t before = d->vt->stats.files_spaced;
	int64_t done, left;
	int rc = tv_tape_space_files(d->vt, count);

	done = (int64_t)(d->vt->stats.files_spaced - before);
	left = (count < 0 ? -(int64_t)count : count) - done;
	if (count < 0)
		left = -left;
	if (rc == 0)
		return TV_SCSI_GOOD;
	if (rc == TV_ERR_EOD)
		return check_info(sense, slen, TV_SK_BLANK_CHECK, 0x00, 0x05, 0, 0, 0, left);
	if (rc == TV_ERR_EOF)
		return check_info(sense, slen, TV_SK_NO_SENSE, 0x00, 0x04, 0, 1, 0, left);
	return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x3B, 0x00);
}

static int space6(struct emu_drive *d, const uint8_t *cdb, size_t n, uint8_t *sense,
                  size_t *slen)
{
	struct tv_cdb_space sp;

	if (tv_cdb_get_space(cdb, n, &sp) != 0)
		return bad_cdb(sense, slen);
	switch (sp.code) {
	case TV_SPACE_BLOCKS:
		return sp.count == 0 ? TV_SCSI_GOOD : space_blocks(d, sp.count, sense, slen);
	case TV_SPACE_FILEMARKS:
		return sp.count == 0 ? TV_SCSI_GOOD : space_files(d, sp.count, sense, slen);
	case TV_SPACE_EOD:
		return tv_tape_seek_eod(d->vt) == 0 ? TV_SCSI_GOOD :
		       check(sense, slen, TV_SK_MEDIUM_ERROR, 0x3B, 0x00);
	default:
		return bad_cdb(sense, slen);
	}
}

static int locate16(struct emu_drive *d, const uint8_t *cdb, size_t n, uint8_t *sense,
                    size_t *slen)
{
	struct tv_cdb_locate lo;
	uint64_t file, block;
	int rc;

	if (tv_cdb_get_locate(cdb, n, &lo) != 0 || lo.cp)
		return bad_cdb(sense, slen);
	if ((rc = ix_build(d)) != 0)
		return rc;
	switch (lo.dest_type) {
	case TV_LOCATE_OBJECT:
		if (loc_of(d, lo.id, &file, &block) != 0)
			goto eod;
		break;
	case TV_LOCATE_FILE:
		if (lo.id >= d->nfiles)
			goto eod;
		file = lo.id;
		block = 0;
		break;
	case TV_LOCATE_EOD:
		goto eod;
	default:
		return bad_cdb(sense, slen);
	}
	if ((rc = tv_tape_goto_file(d->vt, file)) != 0 ||
	    (block > 0 && (rc = tv_tape_space_records(d->vt, (long)block)) != 0))
		return check(sense, slen, TV_SK_MEDIUM_ERROR, 0x3B, 0x00);
	return TV_SCSI_GOOD;
eod:
	tv_tape_seek_eod(d->vt);
	if (lo.dest_type == TV_LOCATE_EOD)
		return TV_SCSI_GOOD;
	return check(sense, slen, TV_SK_BLANK_CHECK, 0x00, 0x05);
}

static int read_position(struct emu_drive *d, const uint8_t *cdb, size_t n, void *buf,
                         size_t len, size_t *resid, uint8_t *sense, size_t *slen)
{
	struct tv_read_position rp;
	struct tv_buf b;
	uint8_t form = cdb[1] & 0x1F;
	int rc;

	if (n != 10 || (form != TV_RP_SHORT && form != TV_RP_LONG))
		return bad_cdb(sense, slen);
	if ((rc = position(d, &rp)) != 0)
		return rc;
	tv_buf_init(&b);
	if ((rc = tv_scsi_build_read_position(&b, form, &rp)) == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf, len, resid);
	tv_buf_free(&b);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

/* ---- information ---- */

static int mode_sense(struct emu_drive *d, const uint8_t *cdb, size_t n, void *buf,
                      size_t len, size_t *resid, uint8_t *sense, size_t *slen)
{
	struct tv_tape_status ts;
	struct tv_mode6 m;
	struct tv_buf b;
	uint32_t alloc;
	int rc;

	if (tv_cdb_get_alloc(cdb, n, &alloc) != 0 ||
	    ((cdb[2] & 0x3F) != 0 && (cdb[2] & 0x3F) != 0x3F))
		return bad_cdb(sense, slen);
	memset(&m, 0, sizeof(m));
	memset(&ts, 0, sizeof(ts));
	if (tv_tape_status(d->vt, &ts) == 0)
		m.wp = ts.write_protected || d->mode != TV_TAPE_RDWR;
	m.buffered = 1;
	m.has_bd = !(cdb[1] & 0x08);
	m.density = 0x60;             /* LTO-9 */
	m.block_len = d->fixed_len;
	tv_buf_init(&b);
	if ((rc = tv_scsi_build_mode6(&b, &m, NULL, 0, 0)) == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf, len < alloc ? len : alloc,
		                 resid);
	if (rc == 0 && len > alloc)
		*resid += len - alloc;
	tv_buf_free(&b);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

static int mode_select(struct emu_drive *d, const uint8_t *cdb, size_t n, const void *buf,
                       size_t len, uint8_t *sense, size_t *slen)
{
	struct tv_mode6 m;

	if (n != 6 || cdb[4] > len || tv_scsi_parse_mode6(buf, cdb[4], &m) != 0)
		return check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x26, 0x00);
	if (m.has_bd)
		d->fixed_len = m.block_len;
	return TV_SCSI_GOOD;
}

static int block_limits(void *buf, size_t len, size_t *resid)
{
	struct tv_block_limits bl = { 0, MAX_BLOCK, 1 };
	struct tv_buf b;
	int rc;

	tv_buf_init(&b);
	if ((rc = tv_scsi_build_block_limits(&b, &bl)) == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf, len, resid);
	tv_buf_free(&b);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

static int log_sense(struct emu_drive *d, const uint8_t *cdb, size_t n, void *buf, size_t len,
                     size_t *resid, uint8_t *sense, size_t *slen)
{
	struct tv_tape_status ts;
	struct tv_tape_capacity c;
	struct tv_buf b;
	uint32_t alloc;
	int rc;

	if (tv_cdb_get_alloc(cdb, n, &alloc) != 0 || (cdb[2] & 0x3F) != TV_LOG_PAGE_TAPE_CAPACITY)
		return bad_cdb(sense, slen);
	if ((rc = tv_tape_status(d->vt, &ts)) != 0)
		return rc;
	memset(&c, 0, sizeof(c));
	c.has_max = c.has_remaining = 1;
	c.max = (uint32_t)(ts.capacity / MIB);
	c.remaining = ts.capacity > ts.used ? (uint32_t)((ts.capacity - ts.used) / MIB) : 0;
	tv_buf_init(&b);
	if ((rc = tv_scsi_build_capacity_log(&b, &c)) == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf, len < alloc ? len : alloc,
		                 resid);
	if (rc == 0 && len > alloc)
		*resid += len - alloc;
	tv_buf_free(&b);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

/* ---- security protocol 20h ---- */

static int sp_caps(struct emu_drive *d, struct tv_buf *b)
{
	struct tv_sp_caps c;

	memset(&c, 0, sizeof(c));
	c.nalg = 1;
	c.alg[0].index = ALG_INDEX;
	c.alg[0].avfmv = d->vt != NULL;
	c.alg[0].decrypt_c = 2;
	c.alg[0].encrypt_c = 2;
	c.alg[0].max_ukad = ENC_KAD_MAX;
	c.alg[0].max_akad = 12;
	c.alg[0].key_len = 32;
	c.alg[0].code = TV_SP_ALG_AES256_GCM;
	return tv_sp_build_caps(b, &c);
}

static int sp_status(struct emu_drive *d, struct tv_buf *b)
{
	struct tv_sp_status s;

	memset(&s, 0, sizeof(s));
	s.key_scope = d->mem.key_set ? TV_SP_SCOPE_ALL_IT : 0;
	s.encrypt_mode = d->mem.encrypt_mode;
	s.decrypt_mode = d->mem.decrypt_mode;
	s.alg_index = d->mem.key_set ? ALG_INDEX : 0;
	s.key_instance = d->mem.key_instance;
	s.kad_format = TV_SP_KADF_BINARY;
	if (d->mem.key_set && d->mem.kad_len > 0) {
		s.nkad = 1;
		s.kad[0].type = TV_SP_KAD_UKAD;
		s.kad[0].len = (uint16_t)d->mem.kad_len;
		memcpy(s.kad[0].data, d->mem.kad, d->mem.kad_len);
	}
	return tv_sp_build_status(b, &s);
}

/* What the next record is, the position unchanged. */
static int sp_next_block(struct emu_drive *d, struct tv_buf *b)
{
	struct tv_sp_next_block nb;
	struct tv_read_position rp;
	size_t got = 0;
	int rc;

	memset(&nb, 0, sizeof(nb));
	if ((rc = position(d, &rp)) != 0)
		return rc;
	nb.object = rp.object;
	rc = read_raw(d, &got);
	if (rc == TV_ERR_FILEMARK) {
		tv_tape_space_files(d->vt, -1);
		nb.status = TV_NBES_NOT_BLOCK;
	} else if (rc != 0) {
		nb.status = rc == TV_ERR_EOD ? TV_NBES_NOT_BLOCK : TV_NBES_UNKNOWN;
	} else {
		const uint8_t *kad;
		size_t kl;
		tv_tape_space_records(d->vt, -1);
		nb.status = TV_NBES_CLEAR;
		if (is_sealed(d->rbuf, got) && sealed_kad(d->rbuf, got, &kad, &kl) == 0) {
			uint8_t *plain;
			size_t plen;
			nb.alg_index = ALG_INDEX;
			nb.status = d->mem.key_set && unseal(d, got, &plain, &plen) == 0 ?
			            TV_NBES_ENCRYPTED_KEY : TV_NBES_ENCRYPTED_NO_KEY;
			nb.kad_format = TV_SP_KADF_BINARY;
			if (kl > 0) {
				nb.nkad = 1;
				nb.kad[0].type = TV_SP_KAD_UKAD;
				nb.kad[0].len = (uint16_t)kl;
				memcpy(nb.kad[0].data, kad, kl);
			}
		}
	}
	return tv_sp_build_next_block(b, &nb);
}

static int security_in(struct emu_drive *d, const uint8_t *cdb, size_t n, void *buf,
                       size_t len, size_t *resid, uint8_t *sense, size_t *slen)
{
	struct tv_cdb_security sec;
	struct tv_buf b;
	int rc;

	if (tv_cdb_get_security(cdb, n, &sec) != 0 || sec.protocol != TV_SECURITY_PROTOCOL_TAPE ||
	    sec.inc512)
		return bad_cdb(sense, slen);
	/* without a cartridge open, what the drive remembers is on disk */
	if (d->vt == NULL && (rc = tv_scsiemu_mem_get(d->dir, d->idx, &d->mem)) != 0)
		return rc;
	tv_buf_init(&b);
	switch (sec.page) {
	case TV_SP_PAGE_CAPABILITIES:
		rc = sp_caps(d, &b);
		break;
	case TV_SP_PAGE_STATUS:
		rc = sp_status(d, &b);
		break;
	case TV_SP_PAGE_NEXT_BLOCK:
		if ((rc = medium(d, sense, slen)) != 0) {
			tv_buf_free(&b);
			return rc;
		}
		rc = sp_next_block(d, &b);
		break;
	default:
		tv_buf_free(&b);
		return bad_cdb(sense, slen);
	}
	if (rc == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf,
		                 len < sec.len ? len : sec.len, resid);
	if (rc == 0 && len > sec.len)
		*resid += len - sec.len;
	tv_buf_free(&b);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

/* SECURITY PROTOCOL OUT page 0010h: what this drive accepts. */
static int set_ok(const struct tv_sp_set *s)
{
	int keyed = s->encrypt_mode != TV_SP_ENC_DISABLE || s->decrypt_mode != TV_SP_DEC_DISABLE;
	const struct tv_sp_kad *u = tv_sp_find_kad(s->kad, s->nkad, TV_SP_KAD_UKAD);

	if (s->encrypt_mode == TV_SP_ENC_EXTERNAL || s->decrypt_mode == TV_SP_DEC_RAW ||
	    s->encrypt_mode > TV_SP_ENC_ENCRYPT || s->decrypt_mode > TV_SP_DEC_MIXED)
		return 0;
	if (!keyed)
		return 1;
	return s->alg_index == ALG_INDEX && s->key_format == 0 && s->key_len == 32 &&
	       (u == NULL || u->len <= ENC_KAD_MAX);
}

static int security_out(struct emu_drive *d, const uint8_t *cdb, size_t n, const void *buf,
                        size_t len, uint8_t *sense, size_t *slen)
{
	struct tv_cdb_security sec;
	struct tv_sp_set *s;
	const struct tv_sp_kad *u;
	int rc;

	if (tv_cdb_get_security(cdb, n, &sec) != 0 || sec.protocol != TV_SECURITY_PROTOCOL_TAPE ||
	    sec.page != TV_SP_PAGE_SET_ENCRYPTION || sec.inc512 || sec.len > len)
		return bad_cdb(sense, slen);
	if (d->vt == NULL && (rc = tv_scsiemu_mem_get(d->dir, d->idx, &d->mem)) != 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	if (tv_sp_parse_set(buf, sec.len, s) != 0 || !set_ok(s)) {
		tv_freezero(s, sizeof(*s));
		return check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x26, 0x00);
	}
	d->mem.encrypt_mode = s->encrypt_mode;
	d->mem.decrypt_mode = s->decrypt_mode;
	d->mem.ckod = s->ckod;
	if (s->key_len == 32) {
		memcpy(d->mem.key, s->key, 32);
		d->mem.key_set = 1;
		d->mem.key_instance++;
		u = tv_sp_find_kad(s->kad, s->nkad, TV_SP_KAD_UKAD);
		d->mem.kad_len = u != NULL ? u->len : 0;
		if (u != NULL)
			memcpy(d->mem.kad, u->data, u->len);
	} else {
		tv_wipe(d->mem.key, sizeof(d->mem.key));
		d->mem.key_set = 0;
		d->mem.kad_len = 0;
	}
	tv_freezero(s, sizeof(*s));
	rc = tv_scsiemu_mem_put(d->dir, d->idx, &d->mem);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

/* ---- LOAD UNLOAD ---- */

static int load_unload(struct emu_drive *d, const uint8_t *cdb, size_t n, uint8_t *sense,
                       size_t *slen)
{
	int rc;

	if (n != 6 || (cdb[4] & 0x0E) != 0)
		return bad_cdb(sense, slen);
	if ((rc = tv_scsiemu_mem_get(d->dir, d->idx, &d->mem)) != 0)
		return rc;
	if (cdb[4] & 0x01) {                      /* LOAD */
		d->mem.threaded = 1;
		if ((rc = tv_scsiemu_mem_put(d->dir, d->idx, &d->mem)) != 0)
			return rc;
		rc = medium(d, sense, slen);
		d->ua = 0;
		return rc == 0 ? TV_SCSI_GOOD : rc;
	}
	if (d->vt == NULL) {
		/* another process has the cartridge open: its device holds the
		 * medium (PREVENT ALLOW MEDIUM REMOVAL, as st does) */
		char bc[32], path[PATH_MAX];
		if ((rc = drive_cartridge(d, bc, sizeof(bc))) != 0)
			return rc;
		if (bc[0] != '\0' && tv_tfile_path(path, sizeof(path), "%s/%s.tap", d->dir, bc) == 0 &&
		    tv_vlib_image_in_use(path))
			return check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x53, 0x02);
	}
	medium_close(d);                          /* UNLOAD: rewind and eject */
	d->mem.threaded = 0;
	if (d->mem.ckod) {                        /* clear key on demount */
		tv_wipe(d->mem.key, sizeof(d->mem.key));
		d->mem.key_set = 0;
		d->mem.kad_len = 0;
		d->mem.encrypt_mode = TV_SP_ENC_DISABLE;
		d->mem.decrypt_mode = TV_SP_DEC_DISABLE;
	}
	rc = tv_scsiemu_mem_put(d->dir, d->idx, &d->mem);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

/* ---- dispatch ---- */

/* Commands that work without a cartridge. */
static int no_medium_needed(uint8_t op)
{
	return op == TV_OP_INQUIRY || op == TV_OP_REQUEST_SENSE || op == TV_OP_READ_BLOCK_LIMITS ||
	       op == TV_OP_SECURITY_IN || op == TV_OP_SECURITY_OUT || op == TV_OP_LOAD_UNLOAD;
}

static int drive_cmd(struct emu_drive *d, const uint8_t *cdb, size_t n, enum tv_scsi_dir dir,
                     void *buf, size_t len, size_t *resid, uint8_t *sense, size_t *slen)
{
	char serial[16];
	int rc;

	if (!no_medium_needed(cdb[0])) {
		if ((rc = medium(d, sense, slen)) != 0)
			return rc;
		if (d->ua) {                      /* the cartridge changed */
			d->ua = 0;
			return check(sense, slen, TV_SK_UNIT_ATTENTION, 0x28, 0x00);
		}
	}
	switch (cdb[0]) {
	case TV_OP_TEST_UNIT_READY:
		return TV_SCSI_GOOD;
	case TV_OP_INQUIRY:
		snprintf(serial, sizeof(serial), "EMUDRV%04u", d->idx);
		return tv_scsiemu_inquiry(cdb, n, buf, len, resid, sense, slen, TV_SCSI_TYPE_TAPE,
		                          "EMULATED LTO", serial);
	case TV_OP_READ_BLOCK_LIMITS:
		return block_limits(buf, len, resid);
	case TV_OP_MODE_SENSE6:
		return mode_sense(d, cdb, n, buf, len, resid, sense, slen);
	case TV_OP_MODE_SELECT6:
		return dir == TV_SCSI_TO_DEV ? mode_select(d, cdb, n, buf, len, sense, slen) :
		       bad_cdb(sense, slen);
	case TV_OP_READ6:
		return read6(d, cdb, n, buf, len, resid, sense, slen);
	case TV_OP_WRITE6:
		return write6(d, cdb, n, buf, len, sense, slen);
	case TV_OP_WRITE_FILEMARKS6:
		return write_filemarks(d, cdb, n, sense, slen);
	case TV_OP_SPACE6:
		return space6(d, cdb, n, sense, slen);
	case TV_OP_ERASE6:         /* short erase only: end of data here */
		if (cdb[1] & 0x01)
			return bad_cdb(sense, slen);
		if (d->mode != TV_TAPE_RDWR)
			return check(sense, slen, TV_SK_DATA_PROTECT, 0x27, 0x00);
		d->ix_valid = 0;
		return write_result(tv_tape_erase(d->vt), 0, sense, slen);
	case TV_OP_LOCATE16:
		return locate16(d, cdb, n, sense, slen);
	case TV_OP_READ_POSITION:
		return read_position(d, cdb, n, buf, len, resid, sense, slen);
	case TV_OP_REWIND:
		return tv_tape_rewind(d->vt) == 0 ? TV_SCSI_GOOD :
		       check(sense, slen, TV_SK_MEDIUM_ERROR, 0x3B, 0x00);
	case TV_OP_LOAD_UNLOAD:
		return load_unload(d, cdb, n, sense, slen);
	case TV_OP_LOG_SENSE:
		return log_sense(d, cdb, n, buf, len, resid, sense, slen);
	case TV_OP_SECURITY_IN:
		return security_in(d, cdb, n, buf, len, resid, sense, slen);
	case TV_OP_SECURITY_OUT:
		return security_out(d, cdb, n, buf, len, sense, slen);
	default:
		return check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x20, 0x00);
	}
}

static int drive_exec(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
                      enum tv_scsi_dir dir, void *buf, size_t len, size_t *resid,
                      uint8_t *sense, size_t *sense_len, unsigned timeout_ms)
{
	struct emu_drive *d = (struct emu_drive *)tr;
	const struct tv_scsiemu_hooks *h = tv_scsiemu_hooks();
	uint8_t f[3];
	int rc;

	(void)timeout_ms;
	*resid = dir == TV_SCSI_FROM_DEV ? len : 0;
	*sense_len = 0;
	if (cdb_len == 0 || cdb_len != tv_cdb_len(cdb[0]))
		return check(sense, sense_len, TV_SK_ILLEGAL_REQUEST, 0x20, 0x00);
	pthread_mutex_lock(&d->mu);
	if (h != NULL && h->command != NULL && h->command((int)d->idx, cdb, cdb_len, f))
		rc = check(sense, sense_len, f[0], f[1], f[2]);
	else
		rc = drive_cmd(d, cdb, cdb_len, dir, buf, len, resid, sense, sense_len);
	pthread_mutex_unlock(&d->mu);
	if (rc < 0)
		tv_errctx(rc, "emulated drive %u", d->idx);
	return rc;
}

static void drive_close(struct tv_scsi_transport *tr)
{
	struct emu_drive *d = (struct emu_drive *)tr;

	medium_close(d);
	tv_aead_free(d->aead);
	if (d->rbuf != NULL)
		tv_freezero(d->rbuf, d->rcap);
	tv_wipe(&d->mem, sizeof(d->mem));
	pthread_mutex_destroy(&d->mu);
	free(d->frecs);
	free(d->dir);
	free(d);
}

static const struct tv_scsi_transport_ops drive_ops = { drive_exec, drive_close };

int tv_scsiemu_drive_open(const char *dir, unsigned drive, int mode,
                          struct tv_scsi_transport **out)
{
	struct tv_scsiemu_drive_mem mem;
	struct emu_drive *d;
	int rc;

	*out = NULL;
	if ((rc = tv_scsiemu_mem_get(dir, drive, &mem)) != 0)
		return tv_errctx(rc, "emulated library in %s", dir);
	tv_wipe(&mem, sizeof(mem));
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->dir = strdup(dir)) == NULL) {
		free(d);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	d->base.ops = &drive_ops;
	snprintf(d->base.name, sizeof(d->base.name), "emulated drive %u", drive);
	d->idx = drive;
	d->mode = mode;
	pthread_mutex_init(&d->mu, NULL);
	*out = &d->base;
	return 0;
}
