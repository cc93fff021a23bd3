/* tapevault: libraries and tape labels, shared by the jobs. */
#include <stdlib.h>
#include <string.h>

#include "format/record.h"
#include "jobs/jobs.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

int tv_lib_open_by_name(struct tv_home *h, const char *name, struct tv_vlib **lib,
                        int64_t *lib_id)
{
	struct tv_stmt *q;
	char path[PATH_MAX] = "";
	int r;

	*lib = NULL;
	if ((r = tv_db_query(h->db, &q, "SELECT id, path FROM libraries WHERE name=?", "t",
	                     name)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		*lib_id = tv_stmt_int(q, 0);
		snprintf(path, sizeof(path), "%s", tv_stmt_text(q, 1));
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (r == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no library named '%s' (see 'tapevault library list')",
		               name);
	if ((r = tv_vlib_open(path, lib)) != 0)
		return tv_errctx(r, "library %s", name);
	return 0;
}

/* 1 if some cartridge of the library has no readable volume tag. */
static int unreadable_labels(struct tv_vlib *lib)
{
	struct tv_vlib_elem *e = NULL;
	size_t n = 0;
	int any = 0;

	if (tv_vlib_status(lib, NULL, &e, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		any |= e[i].full && e[i].barcode[0] == '\0';
	free(e);
	return any;
}

int tv_lib_open_for_tape(struct tv_home *h, const char *barcode, struct tv_vlib **lib,
                         int64_t *lib_id)
{
	struct tv_stmt *q;
	struct tv_vlib_elem el;
	char name[TV_NAME_MAX] = "", home_miss[1024] = "";
	int r;

	*lib = NULL;
	r = tv_db_get_text(h->db, name, sizeof(name),
	                   "SELECT l.name FROM tapes t JOIN libraries l ON t.library_id=l.id "
	                   "WHERE t.barcode=?", "t", barcode);
	if (r == 0 && (r = tv_lib_open_by_name(h, name, lib, lib_id)) == 0) {
		if ((r = tv_vlib_find(*lib, barcode, &el)) == 0)
			return 0;
		/* what its own library says is the message if no other library
		 * has it, when its changer cannot read some label */
		if (unreadable_labels(*lib))
			snprintf(home_miss, sizeof(home_miss), "%s", tv_errmsg(r));
		tv_vlib_close(*lib);
		*lib = NULL;
	}
	/* not where the catalog thinks: look in every library */
	if ((r = tv_db_query(h->db, &q, "SELECT name FROM libraries ORDER BY id", "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		snprintf(name, sizeof(name), "%s", tv_stmt_text(q, 0));
		if (tv_lib_open_by_name(h, name, lib, lib_id) != 0)
			continue;
		if (tv_vlib_find(*lib, barcode, &el) == 0) {
			tv_stmt_free(q);
			tv_db_exec(h->db, "UPDATE tapes SET library_id=? WHERE barcode=?", "it",
			           *lib_id, barcode);
			return 0;
		}
		tv_vlib_close(*lib);
		*lib = NULL;
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (home_miss[0] != '\0')
		return tv_errf(TV_ERR_NOTFOUND, "%s", home_miss);
	return tv_errf(TV_ERR_NOTFOUND, "tape %s is in no library: insert it with "
	               "'tapevault tape insert LIBRARY FILE'", barcode);
}

void tv_lib_warn_unreadable(struct tv_home *h, struct tv_vlib *lib)
{
	struct tv_vlib_elem *e = NULL;
	size_t n = 0;

	if (tv_vlib_status(lib, NULL, &e, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (e[i].full && e[i].barcode[0] == '\0')
			tv_warn(h, "library %s: %s %u holds a cartridge whose volume tag the changer "
			        "cannot read (%s): it was not read; check its bar code label, then run "
			        "this again", tv_vlib_name(lib), e[i].type == TV_ELEM_DRIVE ? "drive" :
			        e[i].type == TV_ELEM_SLOT ? "slot" : "mail slot", e[i].index,
			        e[i].note[0] ? e[i].note : "no volume tag");
	free(e);
}

int tv_lib_unload(struct tv_vlib *lib, unsigned drive, int rc)
{
	char first[1024];
	int r;

	if (lib == NULL)
		return rc;
	if (rc != 0)
		snprintf(first, sizeof(first), "%s", tv_errmsg(rc));
	if ((r = tv_vlib_unload_if_loaded(lib, drive)) == 0 || rc == 0)
		return r == 0 ? rc : r;
	return tv_errf(rc, "%s; and unloading drive %u failed too: %s", first, drive,
	               tv_errmsg(r));
}

/* ---- progress of the jobs that go tape by tape (catalog, inventory) ---- */

void tv_lib_progress_start(struct tv_home *h, struct tv_progress *p, const char *what,
                           size_t ntapes)
{
	tv_progress_start(p, h, what, 0);
	tv_progress_items(p, ntapes);
}

void tv_lib_progress_tape(struct tv_home *h, struct tv_progress *p, char *const *barcodes,
                          size_t i)
{
	uint64_t done = 0;

	/* bytes: what the catalog says the tapes read so far hold */
	for (size_t k = 0; p->tty && k < i; k++) {
		int64_t used = 0;
		if (tv_db_get_int(h->db, &used, "SELECT COALESCE(used,0) FROM tapes WHERE "
		                  "barcode=?", "t", barcodes[k]) == 0 && used > 0)
			done += (uint64_t)used;
	}
	if (p->tty)
		tv_errclear();
	if (i < p->bar.total_items && barcodes != NULL)
		tv_progress_item(p, done, barcodes[i]);
	else
		tv_progress_update(p, done);
}
