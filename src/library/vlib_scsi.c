/* tapevault: the SCSI kind of library: a medium changer (SMC-3) and its
 * drives (see vlib.h, vlib_int.h).
 *
 * library.json names the devices; what is where comes from the changer
 * on every call (READ ELEMENT STATUS with volume tags), so several
 * processes and the library's own front panel can move cartridges:
 *   {
 *     "format": "tapevault-scsi-library", "version": 1,
 *     "name": "lto", "created": "2024-01-01T00:00:00Z",
 *     "changer": "/dev/sg5",                  (or "emulated")
 *     "drives": ["/dev/nst0", "/dev/sg3"],    (or "emulated:0", ...)
 *     "export_slots": [24]                    (optional, see below)
 *   }
 * Drives are numbered in the order of the changer's data transfer
 * elements (element address order), which is how the drives' devices are
 * listed.  Slots and mail slots are numbered from 1 in address order.
 *
 * The quirks other software met:
 * - changers that take a cartridge out of a drive only after the drive
 *   ejected it: a cartridge leaving a drive is always ejected first (LOAD
 *   UNLOAD, or MTOFFL's equivalent over SG_IO on an st node);
 * - changers that report no import/export element although the library
 *   has a mail slot (or a site that wants a storage slot as one):
 *   "export_slots" lists storage slots (numbers as without it) used as
 *   mail slots;
 * - a unit attention after a cartridge change or reset is reported once
 *   and the command runs again (scsi/transport.c);
 * - a drive that is still loading after MOVE MEDIUM: the tape backends
 *   wait until it is ready (tape/sgtape.c). */
#include "library/vlib_int.h"

#include "library/scsiemu.h"
#include "scsi/cdb.h"
#include "scsi/data.h"
#include "scsi/scsi.h"
#include "tape/tape.h"
#include "tape/tfile.h"
#include "util/buf.h"
#include "util/err.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONFIG_MAX ((size_t)1 << 20)
#define MAX_ELEMENTS 20000

struct scsi_lib {
	struct tv_scsi_transport *ch;
	int emulated;
	char changer[PATH_MAX];
	char (*drives)[PATH_MAX];
	unsigned ndrives;
	unsigned exports[TV_VLIB_MAX_MAILSLOTS];
	unsigned nexports;
	struct tv_element_map map;
	char desc[200];
};

/* The changer's elements as tapevault numbers them. */
struct elems {
	struct tv_vlib_elem *v;
	uint16_t *addr;            /* each one's element address */
	size_t n;
	unsigned ndrives, nslots, nmail;
};

static struct scsi_lib *SL(struct tv_vlib *l) { return l->impl; }

static const struct vlib_ops scsi_ops;

/* ---- configuration ---- */

static int is_device(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) < PATH_MAX;
}

int tv_vlib_scsi_write_config(const char *dir, const char *name, const char *changer,
                              const char *const *drives, unsigned ndrives)
{
	char path[PATH_MAX], created[64];
	json_t *root = json_object(), *dv = json_array();
	time_t now = time(NULL);
	struct tm tm;
	char *text = NULL;
	int rc;

	if (root == NULL || dv == NULL) {
		json_decref(root);
		json_decref(dv);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	for (unsigned i = 0; i < ndrives; i++)
		json_array_append_new(dv, json_string(drives[i]));
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(root, "format", json_string(TV_VLIB_FORMAT_SCSI));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "name", json_string(name));
	json_object_set_new(root, "created", json_string(created));
	json_object_set_new(root, "changer", json_string(changer));
	json_object_set_new(root, "drives", dv);
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL)
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
	else if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, TV_VLIB_JSON)) == 0)
		rc = tv_tfile_write_atomic(path, text, strlen(text), 0644);
	free(text);
	json_decref(root);
	return rc;
}

static int config_drives(struct scsi_lib *s, json_t *a, const char *path)
{
	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > TV_VLIB_MAX_DRIVES)
		return tv_errf(TV_ERR_FORMAT, "%s: \"drives\" must list 1 to %d drive devices", path,
		               TV_VLIB_MAX_DRIVES);
	s->ndrives = (unsigned)json_array_size(a);
	if ((s->drives = calloc(s->ndrives, sizeof(*s->drives))) == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < s->ndrives; i++) {
		const char *d = json_string_value(json_array_get(a, i));
		if (!is_device(d) ||
		    (strncmp(d, TV_SCSIEMU_DRIVE_PREFIX, strlen(TV_SCSIEMU_DRIVE_PREFIX)) == 0) !=
		    s->emulated)
			return tv_errf(TV_ERR_FORMAT, "%s: drive %u: not a drive device (/dev/nstN, "
			               "/dev/sgN%s)", path, i, s->emulated ? "; an emulated library's "
			               "drives are emulated:N" : "");
		snprintf(s->drives[i], PATH_MAX, "%s", d);
	}
	return 0;
}

static int config_exports(struct scsi_lib *s, json_t *a, const char *path)
{
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > TV_VLIB_MAX_MAILSLOTS)
		return tv_errf(TV_ERR_FORMAT, "%s: \"export_slots\" must be a list of at most %d "
		               "slot numbers", path, TV_VLIB_MAX_MAILSLOTS);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > TV_VLIB_MAX_SLOTS)
			return tv_errf(TV_ERR_FORMAT, "%s: \"export_slots\": %zu is not a slot number",
			               path, i);
		s->exports[s->nexports++] = (unsigned)json_integer_value(v);
	}
	return 0;
}

static int config_read(const char *dir, struct scsi_lib *s, char *name, size_t namesz)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root;
	const char *str;
	char *data = NULL;
	size_t len;
	int rc;

	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, TV_VLIB_JSON)) != 0 ||
	    (rc = tv_tfile_read_small(path, CONFIG_MAX, &data, &len)) != 0)
		return rc;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL)
		return tv_errf(TV_ERR_FORMAT, "%s: invalid JSON (line %d: %s)", path, jerr.line,
		               jerr.text);
	rc = 0;
	if (!json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) != 1) {
		rc = tv_errf(TV_ERR_UNSUPPORTED, "%s: SCSI library format version not supported "
		             "(this tapevault reads version 1; upgrade tapevault)", path);
		goto out;
	}
	str = json_string_value(json_object_get(root, "name"));
	if (str == NULL || tv_vlib_name_check(str) != 0) {
		rc = tv_errf(TV_ERR_FORMAT, "%s: missing or invalid \"name\"", path);
		goto out;
	}
	snprintf(name, namesz, "%s", str);
	str = json_string_value(json_object_get(root, "changer"));
	if (!is_device(str)) {
		rc = tv_errf(TV_ERR_FORMAT, "%s: \"changer\" must name the changer's device "
		             "(/dev/sgN)", path);
		goto out;
	}
	snprintf(s->changer, sizeof(s->changer), "%s", str);
	s->emulated = strcmp(str, TV_SCSIEMU_CHANGER) == 0;
	if ((rc = config_drives(s, json_object_get(root, "drives"), path)) == 0)
		rc = config_exports(s, json_object_get(root, "export_slots"), path);
out:
	json_decref(root);
	return rc;
}

/* ---- the changer ---- */

static int changer_fail(struct tv_vlib *l, int err, const uint8_t *cdb, size_t n,
                        const struct tv_scsi_result *res)
{
	return tv_errctx(tv_scsi_errf(err, SL(l)->ch, cdb, n, res), "library %s", l->name);
}

static int changer_inquiry(struct tv_vlib *l)
{
	struct scsi_lib *s = SL(l);
	struct tv_scsi_result res;
	struct tv_scsi_inquiry q;
	uint8_t cdb[TV_CDB_MAX], data[96];
	size_t n = tv_cdb_inquiry(cdb, 0, 0, sizeof(data));
	int rc = tv_scsi_run(s->ch, cdb, n, TV_SCSI_FROM_DEV, data, sizeof(data), TV_SCSI_T_SHORT,
	                     &res);

	if (rc == TV_SCSI_CHECK)
		return changer_fail(l, TV_ERR_IO, cdb, n, &res);
	if (rc != 0 || (rc = tv_scsi_parse_inquiry(data, sizeof(data) - res.resid, &q)) != 0)
		return tv_errctx(rc, "library %s", l->name);
	if (q.qualifier != 0 || q.type != TV_SCSI_TYPE_CHANGER)
		return tv_errf(TV_ERR_UNSUPPORTED, "library %s: %s is not a medium changer (SCSI "
		               "peripheral type %02Xh; a changer is 08h): give the changer's sg "
		               "device (see 'lsscsi -g')", l->name, s->changer, q.type);
	snprintf(s->desc, sizeof(s->desc), "%.150s %s %s %s", s->emulated ? "emulated" : s->changer,
	         q.vendor, q.product, q.revision);
	return 0;
}

static int changer_map(struct tv_vlib *l)
{
	struct scsi_lib *s = SL(l);
	struct tv_scsi_result res;
	struct tv_mode6 m;
	uint8_t cdb[TV_CDB_MAX], data[255];
	size_t n = tv_cdb_mode_sense6(cdb, 1, TV_MODE_PAGE_ELEMENT_ADDRESS, sizeof(data));
	int rc = tv_scsi_run(s->ch, cdb, n, TV_SCSI_FROM_DEV, data, sizeof(data), TV_SCSI_T_SHORT,
	                     &res);

	if (rc == TV_SCSI_CHECK)
		return changer_fail(l, TV_ERR_IO, cdb, n, &res);
	if (rc != 0 || (rc = tv_scsi_parse_mode6(data, sizeof(data) - res.resid, &m)) != 0 ||
	    (rc = tv_scsi_parse_element_map(data + m.pages_off, m.pages_len, &s->map)) != 0)
		return tv_errctx(rc, "library %s", l->name);
	if (s->map.drive_n < s->ndrives)
		return tv_errf(TV_ERR_FORMAT, "library %s: %s names %u drives, the changer has %u "
		               "(fix \"drives\" in %s/%s)", l->name, TV_VLIB_JSON, s->ndrives,
		               s->map.drive_n, l->dir, TV_VLIB_JSON);
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct tv_element *x = a, *y = b;

	return x->type != y->type ? (int)x->type - (int)y->type : (int)x->addr - (int)y->addr;
}

/* READ ELEMENT STATUS of everything, volume tags included; asks again
 * with a larger buffer when the report was cut. */
static int element_status(struct tv_vlib *l, struct tv_element **el, size_t *count)
{
	struct scsi_lib *s = SL(l);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX], *data = NULL;
	size_t total = (size_t)s->map.transport_n + s->map.storage_n + s->map.ie_n +
	               s->map.drive_n, cap = 8 + 4 * 8 + (total + 1) * 64, n;
	int rc, more = 0;

	*el = NULL;
	*count = 0;
	for (int tries = 0; tries < 4; tries++, cap *= 2) {
		if (cap > 0xFFFFFF)
			cap = 0xFFFFFF;
		free(data);
		if ((data = calloc(1, cap)) == NULL)
			return tv_errf(TV_ERR_NOMEM, "out of memory");
		n = tv_cdb_read_element_status(cdb, TV_ELEM_ALL, 1, 0, 0xFFFF, 0, (uint32_t)cap);
		rc = tv_scsi_run(s->ch, cdb, n, TV_SCSI_FROM_DEV, data, cap, TV_SCSI_T_MOVE, &res);
		if (rc == TV_SCSI_CHECK) {
			rc = changer_fail(l, TV_ERR_IO, cdb, n, &res);
			break;
		}
		if (rc != 0)
			break;
		free(*el);
		if ((rc = tv_scsi_parse_element_status(data, cap - res.resid, el, count, &more,
		                                       MAX_ELEMENTS)) != 0) {
			tv_errctx(rc, "library %s: READ ELEMENT STATUS", l->name);
			break;
		}
		if (!more || cap == 0xFFFFFF)
			break;
	}
	free(data);
	if (rc != 0) {
		free(*el);
		*el = NULL;
		*count = 0;
		return rc;
	}
	qsort(*el, *count, sizeof(**el), cmp_addr);
	return 0;
}

static int is_export(const struct scsi_lib *s, unsigned storage_no)
{
	for (unsigned i = 0; i < s->nexports; i++)
		if (s->exports[i] == storage_no)
			return 1;
	return 0;
}

static void elem_note(const struct tv_element *e, struct tv_vlib_elem *v)
{
	const char *what = tv_asc_name(e->asc, e->ascq);
	char code[40];

	snprintf(code, sizeof(code), "ASC/ASCQ %02Xh/%02Xh", e->asc, e->ascq);
	if (e->full && e->voltag[0] == '\0')
		snprintf(v->note, sizeof(v->note), "volume tag unreadable%s%s%s%s%s",
		         e->except ? ": " : "", e->except && what ? what : "",
		         e->except && what ? " (" : "", e->except ? code : "",
		         e->except && what ? ")" : "");
	else if (e->except)
		snprintf(v->note, sizeof(v->note), "the changer reports: %s%s%s%s",
		         what ? what : code, what ? " (" : "", what ? code : "", what ? ")" : "");
	v->except = v->note[0] != '\0';
}

/* The storage index (1..) of a storage address, 0 when it is none. */
static unsigned storage_index(const struct tv_element *el, size_t n, const struct scsi_lib *s,
                              uint16_t addr)
{
	unsigned k = 0, no = 0;

	for (size_t i = 0; i < n; i++) {
		if (el[i].type != TV_ELEM_STORAGE)
			continue;
		no++;
		if (is_export(s, no))
			continue;
		k++;
		if (el[i].addr == addr)
			return k;
	}
	return 0;
}

static int elems_get(struct tv_vlib *l, struct elems *x)
{
	struct scsi_lib *s = SL(l);
	struct tv_element *el = NULL;
	size_t n = 0, k = 0;
	unsigned storage_no = 0, d = 0, slot = 0, mail = 0;
	int rc;

	memset(x, 0, sizeof(*x));
	if ((rc = element_status(l, &el, &n)) != 0)
		return rc;
	x->v = calloc(n + 1, sizeof(*x->v));
	x->addr = calloc(n + 1, sizeof(*x->addr));
	if (x->v == NULL || x->addr == NULL) {
		free(el);
		free(x->v);
		free(x->addr);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	/* drives first, then slots, then mail slots (as the directory kind) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const struct tv_element *e = &el[i];
			struct tv_vlib_elem *v = &x->v[k];
			if (pass == 0 && e->type == TV_ELEM_DATA_TRANSFER && d < s->ndrives) {
				v->type = TV_ELEM_DRIVE;
				v->index = d++;
				if (e->svalid)
					v->source_slot = storage_index(el, n, s, e->source);
			} else if (pass == 1 && e->type == TV_ELEM_STORAGE) {
				if (is_export(s, ++storage_no))
					continue;
				v->type = TV_ELEM_SLOT;
				v->index = ++slot;
			} else {
				continue;
			}
			v->full = e->full;
			snprintf(v->barcode, sizeof(v->barcode), "%.31s", e->full ? e->voltag : "");
			elem_note(e, v);
			x->addr[k++] = e->addr;
		}
	/* mail slots: import/export elements, then the export slots */
	for (size_t i = 0; i < n; i++) {
		const struct tv_element *e = &el[i];
		if (e->type != TV_ELEM_IMPORT_EXPORT)
			continue;
		x->v[k].type = TV_ELEM_MAILSLOT;
		x->v[k].index = ++mail;
		x->v[k].full = e->full;
		snprintf(x->v[k].barcode, sizeof(x->v[k].barcode), "%.31s", e->full ? e->voltag : "");
		elem_note(e, &x->v[k]);
		x->addr[k++] = e->addr;
	}
	storage_no = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tv_element *e = &el[i];
		if (e->type != TV_ELEM_STORAGE || !is_export(s, ++storage_no))
			continue;
		x->v[k].type = TV_ELEM_MAILSLOT;
		x->v[k].index = ++mail;
		x->v[k].full = e->full;
		snprintf(x->v[k].barcode, sizeof(x->v[k].barcode), "%.31s", e->full ? e->voltag : "");
		elem_note(e, &x->v[k]);
		x->addr[k++] = e->addr;
	}
	free(el);
	x->n = k;
	x->ndrives = d;
	x->nslots = slot;
	x->nmail = mail;
	if (d < s->ndrives) {
		free(x->v);
		free(x->addr);
		return tv_errf(TV_ERR_FORMAT, "library %s: the changer reports %u drives, %s names "
		               "%u", l->name, d, TV_VLIB_JSON, s->ndrives);
	}
	return 0;
}

static void elems_free(struct elems *x)
{
	free(x->v);
	free(x->addr);
	memset(x, 0, sizeof(*x));
}

static long elems_find_loc(const struct elems *x, enum tv_vlib_elem_type type, unsigned idx)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].type == type && x->v[i].index == idx)
			return (long)i;
	return -1;
}

static long elems_find_bc(const struct elems *x, const char *bc)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].full && strcmp(x->v[i].barcode, bc) == 0)
			return (long)i;
	return -1;
}

static void elem_name(const struct tv_vlib_elem *v, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s %u", v->type == TV_ELEM_DRIVE ? "drive" :
	         v->type == TV_ELEM_SLOT ? "slot" : "mail slot", v->index);
}

static int not_in_lib(struct tv_vlib *l, const struct elems *x, const char *bc)
{
	char where[40];

	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].full && x->v[i].barcode[0] == '\0') {
			elem_name(&x->v[i], where, sizeof(where));
			return tv_errf(TV_ERR_NOTFOUND, "cartridge %s is not in library %s, as far as "
			               "the changer can tell: %s holds a cartridge whose volume tag "
			               "it cannot read (%s); check that cartridge's bar code label, "
			               "then 'tapevault library status %s'", bc, l->name, where,
			               x->v[i].note, l->name);
		}
	return tv_errf(TV_ERR_NOTFOUND, "cartridge %s is not in library %s; see 'tapevault "
	               "library status %s'", bc, l->name, l->name);
}

/* MOVE MEDIUM, its refusals in words. */
static int move_medium(struct tv_vlib *l, const struct elems *x, size_t from, size_t to)
{
	struct scsi_lib *s = SL(l);
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	char fw[40], tw[40], what[200];
	const char *bc = x->v[from].barcode[0] ? x->v[from].barcode : "the cartridge";
	size_t n = tv_cdb_move_medium(cdb, s->map.transport_first, x->addr[from], x->addr[to]);
	int rc = tv_scsi_run(s->ch, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);
	const struct tv_sense *sn = &res.sense;

	if (rc != TV_SCSI_CHECK)
		return rc < 0 ? tv_errctx(rc, "library %s: MOVE MEDIUM", l->name) : rc;
	elem_name(&x->v[from], fw, sizeof(fw));
	elem_name(&x->v[to], tw, sizeof(tw));
	if (res.has_sense)
		tv_sense_describe(sn, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "no sense data");
	if (res.has_sense && sn->key == TV_SK_ILLEGAL_REQUEST && sn->asc == 0x53)
		return tv_errf(TV_ERR_STATE, "library %s: %s cannot leave %s: the changer says "
		               "%s: is the drive still in use by a job?", l->name, bc, fw, what);
	if (res.has_sense && sn->key == TV_SK_ILLEGAL_REQUEST && sn->asc == 0x3B &&
	    sn->ascq == 0x0E)
		return tv_errf(TV_ERR_NOTFOUND, "library %s: %s is empty (%s)", l->name, fw, what);
	if (res.has_sense && sn->key == TV_SK_ILLEGAL_REQUEST && sn->asc == 0x3B &&
	    sn->ascq == 0x0D)
		return tv_errf(TV_ERR_EXISTS, "library %s: %s is full (%s)", l->name, tw, what);
	if (res.has_sense && sn->key == TV_SK_HARDWARE_ERROR)
		return tv_errf(TV_ERR_IO, "library %s: moving %s from %s to %s failed: %s: the "
		               "robot reports a mechanical fault; check the library (front panel, "
		               "web interface), then see where the cartridge is with 'tapevault "
		               "library status %s' (nothing was written or lost)", l->name, bc, fw,
		               tw, what, l->name);
	if (res.has_sense && sn->key == TV_SK_NOT_READY)
		return tv_errf(TV_ERR_IO, "library %s: moving %s from %s to %s failed: %s: the "
		               "library is not ready (door open, or in manual mode?)", l->name, bc,
		               fw, tw, what);
	return tv_errf(TV_ERR_IO, "library %s: moving %s from %s to %s failed: %s", l->name, bc,
	               fw, tw, what);
}

/* ---- drives ---- */

static int drive_is(const char *dev, const char *prefix)
{
	return strncmp(dev, prefix, strlen(prefix)) == 0;
}

/* A transport to a drive: the emulator's, or SG_IO on its node. */
static int drive_transport(struct tv_vlib *l, unsigned d, int mode,
                           struct tv_scsi_transport **tr)
{
	struct scsi_lib *s = SL(l);
	const char *dev = s->drives[d];

	if (s->emulated)
		return tv_scsiemu_drive_open(l->dir, d, mode, tr);
	return tv_scsi_sg_open(drive_is(dev, "scsi:") ? dev + 5 : dev, tr);
}

static int is_st(const struct scsi_lib *s, unsigned d)
{
	return !s->emulated && (drive_is(s->drives[d], "/dev/nst") ||
	                        drive_is(s->drives[d], "/dev/st"));
}

/* The drive ejects its cartridge, for the robot to take it. */
static int eject(struct tv_vlib *l, unsigned d, const char *bc)
{
	struct tv_scsi_transport *tr = NULL;
	int rc;

	if (is_st(SL(l), d)) {
		rc = tv_st_unload(SL(l)->drives[d]);
	} else {
		if ((rc = drive_transport(l, d, TV_TAPE_RDONLY, &tr)) != 0)
			return tv_errctx(rc, "library %s: drive %u", l->name, d);
		rc = tv_sgtape_unload(tr);
		tv_scsi_close(tr);
	}
	if (rc == TV_ERR_STATE)
		return tv_errf(rc, "cartridge %s in drive %u of library %s is still open (in use "
		               "by a job?); close it before unloading", bc, d, l->name);
	return rc != 0 ? tv_errctx(rc, "library %s: ejecting %s from drive %u", l->name, bc, d)
	               : 0;
}

/* LOAD: a cartridge the drive ejected is threaded again (errors are the
 * next open's to say). */
static void reload(struct tv_vlib *l, unsigned d)
{
	struct tv_scsi_transport *tr = NULL;
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_load_unload(cdb, 1, 0);

	if (is_st(SL(l), d) || drive_transport(l, d, TV_TAPE_RDONLY, &tr) != 0)
		return;     /* st loads on open */
	(void)tv_scsi_run(tr, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);
	tv_scsi_close(tr);
}

static int open_st(const char *dev, int mode, struct tv_tape **t)
{
	time_t start = time(NULL);
	int rc;

	for (;;) {
		rc = tv_st_open(dev, mode, t);
		if ((rc != TV_ERR_NOTFOUND && rc != TV_ERR_IO) ||
		    time(NULL) - start >= TV_SGTAPE_READY_SECONDS)
			return rc;
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);   /* the drive is still loading */
	}
}

/* Seconds a drive may report "medium not present" after the robot put a
 * cartridge in (some drives do, for a moment). */
#define LOADED_GRACE_SECONDS 30

static int open_drive_once(struct tv_vlib *l, unsigned d, int mode, const char *bc,
                           struct tv_tape **out);

static int open_drive(struct tv_vlib *l, unsigned d, int mode, const char *bc, int moved,
                      struct tv_tape **out)
{
	time_t start = time(NULL);
	int rc;

	while ((rc = open_drive_once(l, d, mode, bc, out)) == TV_ERR_NOTFOUND && moved &&
	       time(NULL) - start < LOADED_GRACE_SECONDS) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
	return rc;
}

static int open_drive_once(struct tv_vlib *l, unsigned d, int mode, const char *bc,
                           struct tv_tape **out)
{
	struct scsi_lib *s = SL(l);
	struct tv_scsi_transport *tr = NULL;
	struct tv_tape *t = NULL;
	char name[512];
	const char *dev = s->drives[d];
	int rc;

	*out = NULL;
	snprintf(name, sizeof(name), "%s in drive %u of library %s (%s)", bc, d, l->name,
	         s->emulated ? "emulated" : dev);
	if (is_st(s, d)) {
		if ((rc = open_st(dev, mode, &t)) != 0)
			return tv_errctx(rc, "library %s: %s", l->name, name);
		snprintf(t->name, sizeof(t->name), "%s", name);
	} else {
		if ((rc = drive_transport(l, d, mode, &tr)) != 0 ||
		    (rc = tv_sgtape_open(tr, 1, name, mode, &t)) != 0)
			return tv_errctx(rc, "library %s", l->name);
	}
	return tv_tape_adopt(t, out);
}

/* ---- operations ---- */

static int scsi_status(struct tv_vlib *l, struct tv_vlib_info *info,
                       struct tv_vlib_elem **elems, size_t *n)
{
	struct scsi_lib *s = SL(l);
	struct elems x;
	int rc = elems_get(l, &x);

	if (rc != 0)
		return rc;
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		snprintf(info->name, sizeof(info->name), "%s", l->name);
		info->drives = x.ndrives;
		info->slots = x.nslots;
		info->mailslots = x.nmail;
		snprintf(info->kind, sizeof(info->kind), "%s", l->ops->kind);
		snprintf(info->changer, sizeof(info->changer), "%s", s->desc);
	}
	if (elems != NULL) {
		*elems = x.v;
		x.v = NULL;
		if (n != NULL)
			*n = x.n;
	}
	elems_free(&x);
	return 0;
}

static int scsi_find(struct tv_vlib *l, const char *bc, struct tv_vlib_elem *e)
{
	struct elems x;
	long i;
	int rc = elems_get(l, &x);

	if (rc != 0)
		return rc;
	if ((i = elems_find_bc(&x, bc)) < 0)
		rc = not_in_lib(l, &x, bc);
	else
		*e = x.v[i];
	elems_free(&x);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int scsi_barcodes(struct tv_vlib *l, char ***list, size_t *count)
{
	struct elems x;
	char **out, *p;
	size_t k = 0, sz = 32;
	int rc = elems_get(l, &x);

	if (rc != 0)
		return rc;
	out = malloc((x.n + 1) * sizeof(char *) + x.n * sz);
	if (out == NULL) {
		elems_free(&x);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	p = (char *)(out + x.n + 1);
	for (size_t i = 0; i < x.n; i++)
		if (x.v[i].full && x.v[i].barcode[0]) {
			memcpy(p, x.v[i].barcode, sz);
			out[k++] = p;
			p += sz;
		}
	out[k] = NULL;
	qsort(out, k, sizeof(*out), cmp_str);
	*list = out;
	*count = k;
	elems_free(&x);
	return 0;
}

/* First empty slot that no loaded cartridge came from. */
static long free_slot(const struct elems *x)
{
	for (size_t i = 0; i < x->n; i++) {
		int reserved = 0;
		if (x->v[i].type != TV_ELEM_SLOT || x->v[i].full)
			continue;
		for (size_t j = 0; j < x->n; j++)
			if (x->v[j].type == TV_ELEM_DRIVE && x->v[j].full &&
			    x->v[j].source_slot == x->v[i].index)
				reserved = 1;
		if (!reserved)
			return (long)i;
	}
	return -1;
}

static int scsi_load(struct tv_vlib *l, const char *bc, int drive, int mode,
                     struct tv_tape **out, unsigned *drive_out)
{
	struct scsi_lib *s = SL(l);
	struct elems x;
	long src, dst = -1;
	unsigned d;
	int rc;

	if (drive != TV_VLIB_ANY_DRIVE && (drive < 0 || (unsigned)drive >= s->ndrives))
		return tv_errf(TV_ERR_INVAL, "library %s has no drive %d (drives are numbered 0 to "
		               "%u)", l->name, drive, s->ndrives - 1);
	if ((rc = elems_get(l, &x)) != 0)
		return rc;
	if ((src = elems_find_bc(&x, bc)) < 0) {
		rc = not_in_lib(l, &x, bc);
		goto out;
	}
	if (x.v[src].type == TV_ELEM_DRIVE) {
		d = x.v[src].index;
		if (drive != TV_VLIB_ANY_DRIVE && (unsigned)drive != d) {
			rc = tv_errf(TV_ERR_STATE, "cartridge %s is loaded in drive %u of library %s; "
			             "unload it first ('tapevault tape unload %s --drive %u')", bc, d,
			             l->name, l->name, d);
			goto out;
		}
		/* already there (left by a job that stopped, or ejected and not
		 * taken): threaded again if it was ejected */
		reload(l, d);
		goto open;
	}
	for (d = 0; d < s->ndrives; d++) {
		long i = elems_find_loc(&x, TV_ELEM_DRIVE, d);
		if (drive != TV_VLIB_ANY_DRIVE && (unsigned)drive != d)
			continue;
		if (i >= 0 && !x.v[i].full) {
			dst = i;
			break;
		}
		if (drive != TV_VLIB_ANY_DRIVE) {
			rc = tv_errf(TV_ERR_STATE, "drive %u of library %s is full (%s loaded); "
			             "unload it first", d, l->name,
			             i >= 0 && x.v[i].barcode[0] ? x.v[i].barcode : "a cartridge");
			goto out;
		}
	}
	if (dst < 0) {
		rc = tv_errf(TV_ERR_STATE, "all %u drives of library %s are full; unload one first",
		             s->ndrives, l->name);
		goto out;
	}
	if ((rc = move_medium(l, &x, (size_t)src, (size_t)dst)) != 0)
		goto out;
open:
	if ((rc = open_drive(l, d, mode, bc, dst >= 0, out)) == 0 && drive_out != NULL)
		*drive_out = d;
out:
	elems_free(&x);
	return rc;
}

static int scsi_unload(struct tv_vlib *l, unsigned drive, unsigned *slot, int if_loaded)
{
	struct scsi_lib *s = SL(l);
	struct elems x;
	long src, dst = -1;
	int rc;

	if (drive >= s->ndrives)
		return tv_errf(TV_ERR_INVAL, "library %s has no drive %u (drives are numbered 0 to "
		               "%u)", l->name, drive, s->ndrives - 1);
	if ((rc = elems_get(l, &x)) != 0)
		return rc;
	src = elems_find_loc(&x, TV_ELEM_DRIVE, drive);
	if (src < 0 || !x.v[src].full) {
		rc = if_loaded ? 0 : tv_errf(TV_ERR_STATE, "drive %u of library %s is empty; "
		                             "nothing to unload", drive, l->name);
		goto out;
	}
	if (x.v[src].source_slot != 0) {
		dst = elems_find_loc(&x, TV_ELEM_SLOT, x.v[src].source_slot);
		if (dst >= 0 && x.v[dst].full)
			dst = -1;
	}
	if (dst < 0)
		dst = free_slot(&x);
	if (dst < 0) {
		rc = tv_errf(TV_ERR_NOSPC, "cannot unload drive %u of library %s: no free slot; "
		             "export a cartridge first", drive, l->name);
		goto out;
	}
	if ((rc = eject(l, drive, x.v[src].barcode)) != 0 ||
	    (rc = move_medium(l, &x, (size_t)src, (size_t)dst)) != 0)
		goto out;
	if (slot != NULL)
		*slot = x.v[dst].index;
out:
	elems_free(&x);
	return rc;
}

static int scsi_move(struct tv_vlib *l, const struct tv_vlib_loc *from,
                     const struct tv_vlib_loc *to)
{
	struct elems x;
	long f, t;
	int rc;

	if ((rc = elems_get(l, &x)) != 0)
		return rc;
	f = elems_find_loc(&x, from->type, from->index);
	t = elems_find_loc(&x, to->type, to->index);
	if (f < 0 || t < 0) {
		rc = tv_errf(TV_ERR_INVAL, "library %s has no %s %u (%u drives, %u slots, %u mail "
		             "slots)", l->name, f < 0 ? (from->type == TV_ELEM_DRIVE ? "drive" :
		             from->type == TV_ELEM_SLOT ? "slot" : "mail slot") :
		             (to->type == TV_ELEM_DRIVE ? "drive" : to->type == TV_ELEM_SLOT ?
		             "slot" : "mail slot"), f < 0 ? from->index : to->index, x.ndrives,
		             x.nslots, x.nmail);
		goto out;
	}
	if (!x.v[f].full) {
		rc = tv_errf(TV_ERR_NOTFOUND, "library %s: %s %u is empty", l->name,
		             from->type == TV_ELEM_DRIVE ? "drive" : from->type == TV_ELEM_SLOT ?
		             "slot" : "mail slot", from->index);
		goto out;
	}
	if (f == t)
		goto out;
	if (x.v[t].full) {
		rc = tv_errf(TV_ERR_EXISTS, "library %s: %s %u is full (%s)", l->name,
		             to->type == TV_ELEM_DRIVE ? "drive" : to->type == TV_ELEM_SLOT ? "slot" :
		             "mail slot", to->index, x.v[t].barcode[0] ? x.v[t].barcode :
		             "a cartridge");
		goto out;
	}
	if (from->type == TV_ELEM_DRIVE && (rc = eject(l, from->index, x.v[f].barcode)) != 0)
		goto out;
	rc = move_medium(l, &x, (size_t)f, (size_t)t);
out:
	elems_free(&x);
	return rc;
}

/* The emulated library's cartridges, as its operator handles them. */
static int operator_open(struct tv_vlib *l, struct tv_vlib **state)
{
	return tv_vlib_dir_open(l->dir, TV_SCSIEMU_STATE, TV_SCSIEMU_LOCK, state);
}

static int scsi_new_tape(struct tv_vlib *l, const char *bc, uint64_t capacity,
                         uint64_t early_warning, unsigned *slot)
{
	struct tv_vlib *op = NULL;
	struct elems x;
	long i;
	int rc;

	if (SL(l)->emulated) {
		/* a blank cartridge goes into a free slot */
		if ((rc = operator_open(l, &op)) != 0)
			return rc;
		rc = op->ops->new_tape(op, bc, capacity, early_warning, slot);
		op->ops->close(op);
		return rc;
	}
	/* real cartridges are there already: the barcode must be */
	if ((rc = elems_get(l, &x)) != 0)
		return rc;
	if ((i = elems_find_bc(&x, bc)) < 0)
		rc = tv_errf(TV_ERR_NOTFOUND, "library %s holds no cartridge %s: put it into the "
		             "library (its mail slot, then 'tapevault tape move %s mail:N slot:M') "
		             "and run 'tapevault tape new' again", l->name, bc, l->name);
	else if (slot != NULL)
		*slot = x.v[i].type == TV_ELEM_SLOT ? x.v[i].index : 0;
	elems_free(&x);
	return rc;
}

static int scsi_insert(struct tv_vlib *l, const char *file, int flags, char barcode_out[32],
                       unsigned *slot)
{
	struct tv_vlib *op = NULL;
	struct elems x;
	char bc[32];
	unsigned where = 0;
	long from, to;
	int rc;

	if (!SL(l)->emulated)
		return tv_errf(TV_ERR_UNSUPPORTED, "library %s is a SCSI library: put the cartridge "
		               "into its mail slot, move it in with 'tapevault tape move %s mail:N "
		               "slot:M', then 'tapevault catalog %s'", l->name, l->name, l->name);
	/* the operator puts it into a mail slot (or, without one, a slot) */
	if ((rc = operator_open(l, &op)) != 0)
		return rc;
	rc = op->ops->insert(op, file, flags | TV_VLIB_INSERT_TO_MAIL, bc, &where);
	op->ops->close(op);
	if (rc != 0)
		return rc;
	if (barcode_out != NULL)
		memcpy(barcode_out, bc, 32);
	if ((rc = elems_get(l, &x)) != 0)
		return rc;
	from = elems_find_bc(&x, bc);
	if (from >= 0 && x.v[from].type == TV_ELEM_MAILSLOT) {
		/* the robot puts it away */
		if ((to = free_slot(&x)) < 0)
			rc = tv_errf(TV_ERR_NOSPC, "library %s: cartridge %s is in mail slot %u, and "
			             "no slot is free: export a cartridge first", l->name, bc,
			             x.v[from].index);
		else if ((rc = move_medium(l, &x, (size_t)from, (size_t)to)) == 0)
			where = x.v[to].index;
		else
			tv_errctx(rc, "cartridge %s stays in mail slot %u", bc, x.v[from].index);
	}
	if (rc == 0 && slot != NULL)
		*slot = where;
	elems_free(&x);
	return rc;
}

static int scsi_export(struct tv_vlib *l, const char *bc, const char *to_dir, char *where,
                       size_t wsz)
{
	struct tv_vlib *op = NULL;
	struct elems x;
	long i, m = -1;
	int rc;

	if ((rc = elems_get(l, &x)) != 0)
		return rc;
	if ((i = elems_find_bc(&x, bc)) < 0) {
		rc = not_in_lib(l, &x, bc);
		goto out;
	}
	if (x.v[i].type == TV_ELEM_DRIVE) {
		rc = tv_errf(TV_ERR_STATE, "cartridge %s is loaded in drive %u of library %s; "
		             "unload it before exporting", bc, x.v[i].index, l->name);
		goto out;
	}
	if (x.v[i].type == TV_ELEM_MAILSLOT) {
		m = i;
	} else {
		for (size_t k = 0; k < x.n && m < 0; k++)
			if (x.v[k].type == TV_ELEM_MAILSLOT && !x.v[k].full)
				m = (long)k;
		if (m < 0 && !SL(l)->emulated) {
			rc = tv_errf(TV_ERR_NOSPC, "library %s: no free mail slot for %s: empty the "
			             "mail slots first", l->name, bc);
			goto out;
		}
		if (m >= 0 && (rc = move_medium(l, &x, (size_t)i, (size_t)m)) != 0)
			goto out;
	}
	if (!SL(l)->emulated) {
		if (where != NULL)
			snprintf(where, wsz, "mail slot %u: take it out of the library", x.v[m].index);
		goto out;
	}
	/* the operator takes it out of the mail slot (or the slot) */
	if ((rc = operator_open(l, &op)) != 0)
		goto out;
	rc = op->ops->export_tape(op, bc, to_dir, where, wsz);
	op->ops->close(op);
out:
	elems_free(&x);
	return rc;
}

static int scsi_tape_path(struct tv_vlib *l, const char *bc, char *buf, size_t bufsz)
{
	struct tv_vlib_elem e;
	int rc;

	if (!SL(l)->emulated)
		return tv_errf(TV_ERR_UNSUPPORTED, "library %s holds real cartridges, not image "
		               "files", l->name);
	if ((rc = scsi_find(l, bc, &e)) != 0)
		return rc;
	return tv_tfile_path(buf, bufsz, "%s/%s.tap", l->dir, bc);
}

static int scsi_scan(struct tv_vlib *l)
{
	struct tv_scsi_result res;
	uint8_t cdb[TV_CDB_MAX];
	size_t n = tv_cdb_init_element_status(cdb);
	int rc = tv_scsi_run(SL(l)->ch, cdb, n, TV_SCSI_NONE, NULL, 0, TV_SCSI_T_MOVE, &res);

	if (rc == TV_SCSI_CHECK)
		return changer_fail(l, TV_ERR_IO, cdb, n, &res);
	return rc < 0 ? tv_errctx(rc, "library %s", l->name) : rc;
}

static void scsi_close(struct tv_vlib *l)
{
	struct scsi_lib *s = SL(l);

	if (s != NULL) {
		tv_scsi_close(s->ch);
		free(s->drives);
		free(s);
	}
	free(l->dir);
	free(l);
}

static const struct vlib_ops scsi_ops = {
	.kind = "scsi",
	.status = scsi_status,
	.new_tape = scsi_new_tape,
	.load = scsi_load,
	.unload = scsi_unload,
	.move = scsi_move,
	.export_tape = scsi_export,
	.insert = scsi_insert,
	.find = scsi_find,
	.barcodes = scsi_barcodes,
	.tape_path = scsi_tape_path,
	.scan = scsi_scan,
	.close = scsi_close,
};

static const struct vlib_ops emulated_ops = {
	.kind = "emulated scsi",
	.status = scsi_status,
	.new_tape = scsi_new_tape,
	.load = scsi_load,
	.unload = scsi_unload,
	.move = scsi_move,
	.export_tape = scsi_export,
	.insert = scsi_insert,
	.find = scsi_find,
	.barcodes = scsi_barcodes,
	.tape_path = scsi_tape_path,
	.scan = scsi_scan,
	.close = scsi_close,
};

/* ---- the emulated drives by name: emulated:N@DIR ---- */

static int emu_claims(const char *path)
{
	return drive_is(path, TV_SCSIEMU_DRIVE_PREFIX);
}

static int emu_open(const char *path, int mode, struct tv_tape **out)
{
	struct tv_scsi_transport *tr = NULL;
	const char *p = path + strlen(TV_SCSIEMU_DRIVE_PREFIX);
	char *end;
	unsigned long d;
	int rc;

	errno = 0;
	d = strtoul(p, &end, 10);
	if (end == p || *end != '@' || end[1] == '\0' || errno != 0 || d >= TV_VLIB_MAX_DRIVES)
		return tv_errf(TV_ERR_INVAL, "%s: an emulated drive is named emulated:N@DIR", path);
	if ((rc = tv_scsiemu_drive_open(end + 1, (unsigned)d, mode, &tr)) != 0)
		return rc;
	return tv_sgtape_open(tr, 1, path, mode, out);
}

static const struct tv_tape_backend emu_backend = { "emulated", emu_claims, emu_open };

int tv_vlib_scsi_open(const char *dir, struct tv_vlib **out)
{
	struct tv_vlib *l = calloc(1, sizeof(*l));
	struct scsi_lib *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (l == NULL || s == NULL || (l->dir = strdup(dir)) == NULL) {
		free(l);
		free(s);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	l->impl = s;
	l->ops = &scsi_ops;
	if ((rc = config_read(dir, s, l->name, sizeof(l->name))) != 0)
		goto fail;
	if (s->emulated) {
		l->ops = &emulated_ops;
		(void)tv_tape_register(&emu_backend);
		rc = tv_scsiemu_changer_open(dir, &s->ch);
	} else {
		rc = tv_scsi_sg_open(s->changer, &s->ch);
	}
	if (rc != 0 || (rc = changer_inquiry(l)) != 0 || (rc = changer_map(l)) != 0) {
		tv_errctx(rc, "library %s", l->name[0] ? l->name : dir);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	scsi_close(l);
	return rc;
}
