/* tapevault: verify job: read back every record of a tape and check it:
 * CRC32C of every record and the frame structure (this works on locked
 * tapes too: the CRC covers what is on tape), and where the data key is
 * unlocked the authentication of every header and frame, decompression,
 * and the structure of every entry and catalog item.  Damage is reported
 * once per position, named by tape, file and record. */
#include <stdlib.h>
#include <string.h>

#include "format/record.h"
#include "jobs/drivecrypt.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/stop.h"
#include "util/wipe.h"

struct vstats {
	uint64_t files, entries, items, bytes, errors;
	/* the progress line: bytes read from the tapes verified before (base)
	 * and from this one */
	struct tv_progress *prog;
	struct tv_tape *t;
	uint64_t base;
};

static uint64_t vdone(const struct vstats *vs)
{
	return vs->base + (vs->t != NULL ? vs->t->stats.bytes_read : 0);
}

static void report(struct tv_home *h, struct vstats *vs, int r)
{
	tv_warn(h, "%s", tv_errmsg(r));
	vs->errors++;
}

/* Reads a data file to its end through the entry cursor. */
static void verify_data(struct tv_home *h, struct tv_treader *rd, struct vstats *vs)
{
	struct tv_ecursor *c = NULL;
	struct tv_entry *e = malloc(sizeof(*e));
	int r;

	if (e == NULL || (r = tv_ecursor_open(&c, rd, TV_CT_DATA, 0)) != 0) {
		report(h, vs, e == NULL ? TV_ERR_NOMEM : r);
		free(e);
		return;
	}
	for (;;) {
		const uint8_t *p;
		size_t n;
		int cont;
		r = tv_ecursor_next(c, e, NULL);
		if (r == 0)
			break;
		if (r < 0) {
			report(h, vs, r);
			continue;
		}
		vs->entries++;
		tv_progress_item(vs->prog, vdone(vs), e->path);
		while ((r = tv_ecursor_data(c, &p, &n, &cont)) == 1) {
			vs->bytes += n;
			tv_progress_update(vs->prog, vdone(vs));
		}
		if (r == TV_ERR_EOF && cont)
			r = 0;   /* continues in the next part */
		if (r != 0)
			report(h, vs, r);
	}
	tv_ecursor_close(c);
	free(e);
}

static void verify_catalog(struct tv_home *h, struct tv_treader *rd, struct vstats *vs)
{
	struct tv_ecursor *c = NULL;
	struct tv_cat_item_v *it = malloc(sizeof(*it));
	int r;

	if (it == NULL || (r = tv_ecursor_open(&c, rd, TV_CT_CATALOG, 0)) != 0) {
		report(h, vs, it == NULL ? TV_ERR_NOMEM : r);
		free(it);
		return;
	}
	while ((r = tv_ecursor_item(c, it, NULL)) != 0) {
		if (r < 0)
			report(h, vs, r);
		else
			vs->items++;
	}
	tv_ecursor_close(c);
	tv_wipe(it, sizeof(*it));
	free(it);
}

/* Without the key: records and frame headers only. */
static void verify_crc_only(struct tv_home *h, struct tv_treader *rd, struct vstats *vs)
{
	struct tv_frame_info fi;
	const uint8_t *p;
	size_t n;
	int r;

	while ((r = tv_treader_next(rd, &p, &n, &fi)) != 0) {
		if (r < 0)
			report(h, vs, r);
		tv_progress_update(vs->prog, vdone(vs));
	}
}

/* An encrypted tape's key, when it is unlocked here (*have_dek); else
 * the checksums only are checked, and said. */
static int verify_key(struct tv_home *h, struct tv_tape *t, const char *barcode,
                      const struct tv_tape_labels *lab, uint8_t dek[TV_DEK_LEN], int *have_dek,
                      struct vstats *vs)
{
	int vr = tv_keys_load_dek(h, lab->vol.tape_uuid, dek);

	if (vr == 0 && (vr = tv_labels_verify(lab, barcode, dek)) == 0) {
		*have_dek = 1;
		return tv_drivecrypt_read(h, t, barcode, dek);
	}
	if (vr == TV_ERR_AUTH)
		report(h, vs, vr);   /* the key is ours: the labels were edited */
	tv_info(h, "%s: locked: checking record checksums only (unlock it to check "
	        "authentication too)", barcode);
	return 0;
}

static int verify_one(struct tv_home *h, const char *barcode, struct vstats *vs)
{
	struct tv_vlib *lib = NULL;
	struct tv_tape *t = NULL;
	struct tv_treader *rd = NULL;
	struct tv_tape_labels lab;
	struct tv_content_header ch;
	uint8_t dek[TV_DEK_LEN];
	int64_t lib_id;
	struct tv_lib_use use = { 0 };
	int have_dek = 0, enc, r;
	uint64_t file_no;

	memset(&lab, 0, sizeof(lab));
	if ((r = tv_lib_open_for_tape(h, barcode, &lib, &lib_id)) != 0 ||
	    (r = tv_lib_load_job(h, lib, lib_id, barcode, TV_TAPE_RDONLY, &t, &use)) != 0)
		goto out;
	vs->t = t;
	if ((r = tv_labels_read(t, barcode, &lab, 1)) != 0)
		goto out;
	if (!lab.has_ms) {
		r = tv_errf(TV_ERR_STATE, "tape %s is labeled but holds no data", barcode);
		goto out;
	}
	enc = lab.ms.enc.alg != TV_ENC_NONE;
	if (enc && (r = verify_key(h, t, barcode, &lab, dek, &have_dek, vs)) != 0)
		goto out;
	if ((r = tv_tape_goto_file(t, 2)) != 0) {
		if (r == TV_ERR_EOD)
			r = 0;   /* labeled, nothing written yet */
		goto summary;
	}
	if ((r = tv_treader_open(&rd, t, barcode, lab.vol.tape_uuid, NULL)) != 0)
		goto out;
	tv_treader_set_record_size(rd, lab.vol.record_size);
	for (;;) {
		int sealed;
		if (tv_stop_requested()) {   /* between two tape files */
			r = TV_ERR_INTERRUPTED;
			goto out;
		}
		r = tv_treader_begin_file(rd, &ch, &file_no, &sealed);
		if (r == TV_ERR_EOD) {
			r = 0;
			break;
		}
		if (r == TV_ERR_FILEMARK)
			continue;
		if (r != 0) {
			report(h, vs, r);
		} else if (ch.type == TV_CT_DATA || ch.type == TV_CT_CATALOG) {
			vs->files++;
			if (enc && !have_dek) {
				tv_treader_set_crc_only(rd, 1);
				verify_crc_only(h, rd, vs);
				tv_treader_set_crc_only(rd, 0);
			} else if ((r = tv_treader_set_key(rd, enc ? dek : NULL, NULL, 0)) != 0) {
				report(h, vs, r);
			} else if (ch.type == TV_CT_DATA) {
				verify_data(h, rd, vs);
			} else {
				verify_catalog(h, rd, vs);
			}
			if (tv_treader_truncated(rd)) {
				tv_warn(h, "tape %s file %llu: cut off (no end record): written by a "
				        "session that did not finish", barcode,
				        (unsigned long long)file_no);
				vs->errors++;
			}
		}
		r = tv_treader_end_file(rd);
		if (r == TV_ERR_EOD) {
			r = 0;
			break;
		}
		if (r != 0)
			goto out;
	}
summary:
	tv_info(h, "%s: %llu tape file(s), %llu entries, %llu bytes checked, %llu record(s) "
	        "read%s", barcode, (unsigned long long)vs->files,
	        (unsigned long long)vs->entries, (unsigned long long)vs->bytes,
	        (unsigned long long)t->stats.records_read,
	        enc && !have_dek ? " (checksums only)" : "");
out:
	tv_wipe(dek, sizeof(dek));
	tv_treader_close(rd);
	vs->base = vdone(vs);
	vs->t = NULL;
	tv_tape_close(t);
	if (lib != NULL) {
		r = tv_lib_unload_job(lib, &use, r);
		tv_vlib_close(lib);
	}
	tv_labels_free(&lab);
	return r;
}

static int verify_all(struct tv_home *h, char *const *barcodes, size_t n,
                      struct tv_progress *prog)
{
	uint64_t nerr = 0, total = 0, base = 0;
	int failed = 0;

	tv_errclear();   /* a new job: no earlier failure's detail */

	snprintf(h->job, sizeof(h->job), "verify");
	/* how much there is to read: what the catalog says the tapes hold */
	for (size_t i = 0; i < n; i++) {
		int64_t used = 0;
		if (tv_db_get_int(h->db, &used, "SELECT COALESCE(used,0) FROM tapes WHERE "
		                  "barcode=?", "t", barcodes[i]) == 0 && used > 0)
			total += (uint64_t)used;
	}
	tv_errclear();
	tv_progress_start(prog, h, "verifying", total);
	for (size_t i = 0; i < n; i++) {
		struct vstats vs;
		int r;
		memset(&vs, 0, sizeof(vs));
		vs.prog = prog;
		vs.base = base;
		r = verify_one(h, barcodes[i], &vs);
		base = vs.base;
		nerr += vs.errors;
		if (r == TV_ERR_INTERRUPTED || (r == 0 && tv_stop_requested() && i + 1 < n))
			return tv_errf(TV_ERR_INTERRUPTED, "stopped by %s: %zu of %zu tape(s) verified "
			               "whole, %llu error(s) found so far", tv_stop_name(),
			               r == 0 ? i + 1 : i, n, (unsigned long long)nerr);
		if (r == TV_ERR_EOD) {
			/* never written (a job reserved it and stopped): nothing to check */
			tv_info(h, "%s: blank: nothing to verify", barcodes[i]);
		} else if (r != 0) {
			tv_warn(h, "%s: %s", barcodes[i], tv_errmsg(r));
			failed++;
		}
		h->job_files += vs.entries;   /* for the job history */
		h->job_bytes += vs.bytes;
	}
	if (nerr > 0 && failed > 0)
		return tv_errf(TV_ERR_CRC, "verify found %llu error(s), and %d of %zu tape(s) could "
		               "not be verified (see above)", (unsigned long long)nerr, failed, n);
	if (nerr > 0)
		return tv_errf(TV_ERR_CRC, "verify found %llu error(s) (see above)",
		               (unsigned long long)nerr);
	if (failed > 0)
		return tv_errf(TV_ERR_PARTIAL, "%d of %zu tape(s) could not be verified (see above)",
		               failed, n);
	return 0;
}

int tv_job_verify(struct tv_home *h, char *const *barcodes, size_t n)
{
	struct tv_progress prog;
	int r = verify_all(h, barcodes, n, &prog);

	tv_progress_end(&prog);
	return r;
}
