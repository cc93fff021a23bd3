/* tapevault: verify job: read back every record of a tape and check it:
 * CRC32C of every record (works on locked tapes too: the CRC covers the
 * ciphertext), AES-GCM authentication where the data key is unlocked,
 * record sequence, file completeness, and each file's checksum against the
 * catalog. */
#include <stdlib.h>
#include <string.h>

#include "format/record.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

static int verify_one(struct tv_home *h, const char *barcode, uint64_t *nerr)
{
	struct tv_vlib *lib = NULL;
	struct tv_tape *t = NULL;
	struct tv_treader *rd = NULL;
	struct tv_volume_label vol;
	struct tv_media_set_label *ms = NULL;
	struct tv_content_header ch;
	uint8_t dek[TV_DEK_LEN];
	uint8_t *chunk = NULL;
	int64_t lib_id;
	int have_dek = 0, r;
	uint64_t files = 0, bytes = 0, file_no;

	if ((ms = calloc(1, sizeof(*ms))) == NULL || (chunk = malloc(1 << 20)) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if ((r = tv_lib_open_for_tape(h, barcode, &lib, &lib_id)) != 0 ||
	    (r = tv_vlib_load(lib, barcode, 0, TV_TAPE_RDONLY, &t, NULL)) != 0)
		goto out;
	if ((r = tv_media_read_labels(t, barcode, &vol, ms)) != 0)
		goto out;
	if (ms->enc.alg != TV_ENC_NONE) {
		if (tv_keys_load_dek(h, vol.tape_uuid, dek) == 0)
			have_dek = 1;
		else {
			tv_errclear();
			tv_info(h, "%s: locked: checking record checksums only (unlock it to check "
			        "authentication too)", barcode);
		}
	}
	if ((r = tv_tape_goto_file(t, 2)) != 0)
		goto out;
	if ((r = tv_treader_open(&rd, t, barcode, vol.tape_uuid, TV_RECORD_SIZE_MAX)) != 0)
		goto out;
	for (;;) {
		int enc = 0, fr;
		uint32_t crc = 0;
		size_t got;

		r = tv_treader_begin_file(rd, &ch, &file_no);
		if (r == TV_ERR_EOD) {
			r = 0;
			break;
		}
		if (r == TV_ERR_FILEMARK)
			continue;
		if (r != 0) {
			tv_warn(h, "%s", tv_errmsg(r));
			tv_errclear();
			(*nerr)++;
			if (tv_treader_end_file(rd) != 0)
				break;
			continue;
		}
		if (ch.type == TV_CT_FILE_DATA) {
			struct tv_file_header fh;
			if (tv_file_header_decode(ch.body, ch.body_len, &fh) == 0)
				enc = (int)fh.encrypted;
		} else if (ch.type == TV_CT_CATALOG) {
			struct tv_catalog_header cat;
			if (tv_catalog_header_decode(ch.body, ch.body_len, &cat) == 0)
				enc = (int)cat.encrypted;
		}
		if (enc && !have_dek)
			tv_treader_set_crc_only(rd, 1);
		else
			tv_treader_set_dek(rd, enc ? dek : NULL);
		for (;;) {
			fr = tv_treader_read(rd, chunk, 1 << 20, &got);
			if (fr != 0 || got == 0)
				break;
			crc = tv_crc32c(crc, chunk, got);
			bytes += got;
		}
		tv_treader_set_crc_only(rd, 0);
		if (fr != 0) {
			tv_warn(h, "%s", tv_errmsg(fr));
			tv_errclear();
			(*nerr)++;
		} else if (tv_treader_truncated(rd)) {
			tv_warn(h, "tape %s file %llu: cut off (no end record): written by a session "
			        "that did not finish", barcode, (unsigned long long)file_no);
			(*nerr)++;
		} else if (ch.type == TV_CT_FILE_DATA && (!enc || have_dek)) {
			int64_t want;
			if (tv_db_get_int(h->db, &want, "SELECT crc FROM parts WHERE tape_uuid=? AND "
			                  "file_no=? AND content_uuid=?", "bib", vol.tape_uuid,
			                  (size_t)16, (int64_t)file_no, ch.uuid, (size_t)16) == 0 &&
			    (uint32_t)want != crc) {
				tv_warn(h, "tape %s file %llu: file checksum differs from the catalog",
				        barcode, (unsigned long long)file_no);
				(*nerr)++;
			}
		}
		files++;
		r = tv_treader_end_file(rd);
		if (r == TV_ERR_EOD) {
			r = 0;
			break;
		}
		if (r != 0)
			break;
	}
	tv_info(h, "%s: %llu tape file(s), %llu bytes checked, %llu record(s) read%s", barcode,
	        (unsigned long long)files, (unsigned long long)bytes,
	        (unsigned long long)t->stats.records_read,
	        ms->enc.alg != TV_ENC_NONE && !have_dek ? " (checksums only)" : "");
out:
	tv_keys_wipe(dek, sizeof(dek));
	tv_treader_close(rd);
	tv_tape_close(t);
	if (lib != NULL) {
		tv_lib_unload_quiet(lib, 0);
		tv_vlib_close(lib);
	}
	free(ms);
	free(chunk);
	return r;
}

int tv_job_verify(struct tv_home *h, char *const *barcodes, size_t n)
{
	uint64_t nerr = 0;
	int failed = 0;

	snprintf(h->job, sizeof(h->job), "verify");
	for (size_t i = 0; i < n; i++) {
		uint64_t e = 0;
		int r = verify_one(h, barcodes[i], &e);
		if (r != 0) {
			tv_warn(h, "%s: %s", barcodes[i], tv_errmsg(r));
			tv_errclear();
			failed++;
		}
		nerr += e;
	}
	if (nerr > 0 || failed > 0)
		return tv_errf(TV_ERR_CRC, "verify found %llu error(s)%s", (unsigned long long)nerr,
		               failed ? " and could not read every tape" : "");
	return 0;
}
