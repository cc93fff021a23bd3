/* tapevault: libraries and tape labels, shared by the jobs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/record.h"
#include "jobs/jobs.h"
#include "jobs/lease.h"
#include "util/stop.h"
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

int tv_lib_lease_drive(struct tv_home *h, struct tv_vlib *lib, int64_t lib_id,
                       unsigned *drive, char *res, size_t ressz)
{
	struct tv_vlib_info info;
	struct tv_vlib_elem *el = NULL;
	size_t n = 0;
	int r, got = 0, said = 0;

	*drive = 0;
	res[0] = '\0';
	if (!tv_lease_active())
		return 0;
	if ((r = tv_vlib_status(lib, &info, &el, &n)) != 0)
		return r;
	free(el);
	for (unsigned waited = 0;; waited += 2) {
		for (unsigned d = 0; d < info.drives; d++) {
			snprintf(res, ressz, "drive:%lld:%u", (long long)lib_id, d);
			if ((r = tv_lease_take(res, NULL, &got, NULL, 0)) != 0 || got) {
				*drive = d;
				if (r != 0)
					res[0] = '\0';
				return r;
			}
		}
		res[0] = '\0';
		if (!said++)
			tv_info(h, "waiting for a drive of library %s: all %u are in use by other jobs",
			        tv_vlib_name(lib), info.drives);
		if (tv_stop_requested())
			return TV_ERR_INTERRUPTED;
		if (waited >= TV_LEASE_WAIT_MAX)
			return tv_errf(TV_ERR_STATE, "no drive of library %s came free in %d s",
			               tv_vlib_name(lib), TV_LEASE_WAIT_MAX);
		sleep(2);
	}
}

int tv_lib_clear_stale(struct tv_home *h, struct tv_vlib *lib, int64_t lib_id, int drive,
                       int clear_own, const char *barcode)
{
	struct tv_vlib_elem *el = NULL;
	size_t n = 0;
	int r = 0, got;

	if (!tv_lease_active() || tv_vlib_status(lib, NULL, &el, &n) != 0)
		return 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		int mine = drive >= 0 && el[i].index == (unsigned)drive;
		char res[48];
		if (el[i].type != TV_ELEM_DRIVE || !el[i].full || (mine && !clear_own) ||
		    !(mine || (barcode != NULL && strcmp(el[i].barcode, barcode) == 0)))
			continue;
		/* our tape in another drive: that drive's lease, for the while */
		snprintf(res, sizeof(res), "drive:%lld:%u", (long long)lib_id, el[i].index);
		if (!mine && ((r = tv_lease_take(res, NULL, &got, NULL, 0)) != 0 || !got)) {
			r = r ? r : tv_errf(TV_ERR_STATE, "tape %s is in drive %u of library %s, in "
			                    "another job's hands", barcode, el[i].index,
			                    tv_vlib_name(lib));
			break;
		}
		tv_warn(h, "drive %u of library %s holds %s, left by a job that stopped without "
		        "ending: it goes back to its slot", el[i].index, tv_vlib_name(lib),
		        el[i].barcode[0] ? el[i].barcode : "a cartridge");
		r = tv_vlib_unload_if_loaded(lib, el[i].index);
		if (!mine)
			tv_lease_drop(res);
	}
	free(el);
	return r;
}

int tv_lib_load_job(struct tv_home *h, struct tv_vlib *lib, int64_t lib_id,
                    const char *barcode, int mode, struct tv_tape **t, struct tv_lib_use *u)
{
	char what[96];
	int r;

	memset(u, 0, sizeof(*u));
	*t = NULL;
	if ((r = tv_lease_open(h, h->job[0] ? h->job : "read")) != 0)
		return r;
	u->leases = 1;
	u->loaded = 1;   /* from here the drive may hold the cartridge */
	if (!tv_lease_active())
		return tv_vlib_load(lib, barcode, 0, mode, t, NULL);
	u->loaded = 0;
	snprintf(u->tape_res, sizeof(u->tape_res), "tape:%s", barcode);
	snprintf(what, sizeof(what), "tape %s", barcode);
	if ((r = tv_lease_wait(h, u->tape_res, NULL, what)) != 0 ||
	    (r = tv_lib_lease_drive(h, lib, lib_id, &u->drive, u->drive_res,
	                            sizeof(u->drive_res))) != 0 ||
	    (r = tv_lib_clear_stale(h, lib, lib_id, (int)u->drive, 1, barcode)) != 0)
		goto fail;
	u->loaded = 1;
	if ((r = tv_vlib_load(lib, barcode, (int)u->drive, mode, t, NULL)) != 0)
		goto fail;
	return 0;
fail:
	tv_lib_unload_job(u->loaded ? lib : NULL, u, 0);
	return r;
}

int tv_lib_unload_job(struct tv_vlib *lib, struct tv_lib_use *u, int rc)
{
	if (lib != NULL && u->loaded)
		rc = tv_lib_unload(lib, u->drive, rc);
	u->loaded = 0;
	if (u->drive_res[0])
		tv_lease_drop(u->drive_res);
	if (u->tape_res[0])
		tv_lease_drop(u->tape_res);
	u->drive_res[0] = u->tape_res[0] = '\0';
	if (u->leases)
		tv_lease_close();
	u->leases = 0;
	return rc;
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
