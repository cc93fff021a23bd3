/* tapevault: the library API (vlib.h): argument checks, then the kind's
 * operation (vlib_int.h).  A library's kind is read from its
 * library.json when it is opened. */
#include "library/vlib_int.h"

#include "library/scsiemu.h"
#include "tape/tfile.h"
#include "util/err.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIND_JSON_MAX ((size_t)4 << 20)

/* ---- opening ---- */

/* The "format" of DIR/library.json: which kind of library this is. */
static int read_format(const char *dir, char *fmt, size_t sz)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root;
	char *data = NULL;
	const char *f;
	size_t len;
	int rc;

	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, TV_VLIB_JSON)) != 0)
		return rc;
	rc = tv_tfile_read_small(path, KIND_JSON_MAX, &data, &len);
	if (rc == TV_ERR_NOTFOUND)
		return tv_errf(rc, "no tape library in %s (%s missing): create one with "
		               "'tapevault library create'", dir, TV_VLIB_JSON);
	if (rc != 0)
		return rc;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL)
		return tv_errf(TV_ERR_FORMAT, "%s: invalid JSON (line %d: %s)", path, jerr.line,
		               jerr.text);
	f = json_string_value(json_object_get(root, "format"));
	if (f == NULL || (strcmp(f, TV_VLIB_FORMAT_DIR) != 0 &&
	                  strcmp(f, TV_VLIB_FORMAT_SCSI) != 0))
		rc = tv_errf(TV_ERR_FORMAT, "%s: not a tapevault library file (\"format\" is "
		             "neither \"%s\" nor \"%s\")", path, TV_VLIB_FORMAT_DIR,
		             TV_VLIB_FORMAT_SCSI);
	else
		snprintf(fmt, sz, "%s", f);
	json_decref(root);
	return rc;
}

int tv_vlib_open(const char *dir, struct tv_vlib **out)
{
	struct stat sb;
	char fmt[64];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || dir[0] == '\0' || out == NULL)
		return tv_errf(TV_ERR_INVAL, "library open: no directory given");
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_NOTFOUND, "no tape library in %s (not a directory)", dir);
	if ((rc = read_format(dir, fmt, sizeof(fmt))) != 0)
		return rc;
	if (strcmp(fmt, TV_VLIB_FORMAT_SCSI) == 0)
		return tv_vlib_scsi_open(dir, out);
	return tv_vlib_dir_open(dir, TV_VLIB_JSON, TV_VLIB_LOCK, out);
}

int tv_vlib_create(const char *dir, const char *name, unsigned slots,
                   unsigned drives, unsigned mailslots, struct tv_vlib **out)
{
	return tv_vlib_dir_create(dir, TV_VLIB_JSON, TV_VLIB_LOCK, name, slots, drives,
	                          mailslots, out);
}

int tv_vlib_create_emulated(const char *dir, const char *name, unsigned slots,
                            unsigned drives, unsigned mailslots, struct tv_vlib **out)
{
	char path[PATH_MAX];
	char names[TV_VLIB_MAX_DRIVES][32];
	const char *dv[TV_VLIB_MAX_DRIVES];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "library create: no directory given");
	if ((rc = tv_vlib_name_check(name)) != 0)
		return rc;
	if (drives < 1 || drives > TV_VLIB_MAX_DRIVES)
		return tv_errf(TV_ERR_INVAL, "a library has 1 to %d drives", TV_VLIB_MAX_DRIVES);
	if ((rc = tv_tfile_mkdirs(dir, 0755)) != 0 ||
	    (rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, TV_VLIB_JSON)) != 0)
		return rc;
	if ((rc = tv_tfile_exists(path)) != 0)
		return rc == 1 ? tv_errf(TV_ERR_EXISTS, "%s already holds a tape library (%s); "
		                         "open it, or choose another directory", dir,
		                         TV_VLIB_JSON) : rc;
	if ((rc = tv_scsiemu_create(dir, name, slots, drives, mailslots)) != 0)
		return rc;
	for (unsigned i = 0; i < drives; i++) {
		snprintf(names[i], sizeof(names[i]), "%s%u", TV_SCSIEMU_DRIVE_PREFIX, i);
		dv[i] = names[i];
	}
	if ((rc = tv_vlib_scsi_write_config(dir, name, TV_SCSIEMU_CHANGER, dv, drives)) != 0)
		return rc;
	return out != NULL ? tv_vlib_open(dir, out) : 0;
}

int tv_vlib_add_scsi(const char *dir, const char *name, const char *changer,
                     const char *const *drives, unsigned ndrives, struct tv_vlib **out)
{
	struct tv_vlib *l = NULL;
	char path[PATH_MAX];
	int rc, made = 0;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || dir[0] == '\0' || changer == NULL || changer[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "library add: no directory or changer given");
	if ((rc = tv_vlib_name_check(name)) != 0)
		return rc;
	if (ndrives < 1 || ndrives > TV_VLIB_MAX_DRIVES)
		return tv_errf(TV_ERR_INVAL, "a library has 1 to %d drives", TV_VLIB_MAX_DRIVES);
	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, TV_VLIB_JSON)) != 0)
		return rc;
	if ((rc = tv_tfile_exists(path)) != 0)
		return rc == 1 ? tv_errf(TV_ERR_EXISTS, "%s already holds a tape library", dir)
		               : rc;
	made = tv_tfile_exists(dir) == 0;
	if ((rc = tv_tfile_mkdirs(dir, 0755)) != 0)
		return rc;
	if ((rc = tv_vlib_scsi_write_config(dir, name, changer, drives, ndrives)) == 0)
		rc = tv_vlib_open(dir, &l);      /* asks the changer what it holds */
	if (rc != 0) {
		unlink(path);
		if (made)
			rmdir(dir);
		return rc;
	}
	if (out != NULL)
		*out = l;
	else
		tv_vlib_close(l);
	return 0;
}

void tv_vlib_close(struct tv_vlib *l)
{
	if (l != NULL && l->ops != NULL)
		l->ops->close(l);
}

const char *tv_vlib_name(const struct tv_vlib *l) { return l->name; }
const char *tv_vlib_dir(const struct tv_vlib *l) { return l->dir; }
const char *tv_vlib_kind(const struct tv_vlib *l) { return l->ops->kind; }

/* ---- elements ---- */

int tv_vlib_parse_loc(const char *s, struct tv_vlib_loc *loc)
{
	static const struct { const char *p; enum tv_vlib_elem_type t; } kinds[] = {
		{"slot:", TV_ELEM_SLOT}, {"drive:", TV_ELEM_DRIVE}, {"mail:", TV_ELEM_MAILSLOT},
	};
	char *end;
	unsigned long v;

	for (size_t i = 0; s != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].p);
		if (strncmp(s, kinds[i].p, n) != 0)
			continue;
		errno = 0;
		v = strtoul(s + n, &end, 10);
		if (s[n] < '0' || s[n] > '9' || *end != '\0' || errno != 0 || v > 100000)
			break;
		if (kinds[i].t != TV_ELEM_DRIVE && v == 0)
			return tv_errf(TV_ERR_INVAL, "\"%s\": slots and mail slots are numbered from "
			               "1", s);
		loc->type = kinds[i].t;
		loc->index = (unsigned)v;
		return 0;
	}
	return tv_errf(TV_ERR_INVAL, "\"%s\" is not an element: use slot:N, drive:N or mail:N",
	               s != NULL ? s : "");
}

int tv_vlib_status(struct tv_vlib *l, struct tv_vlib_info *info,
                   struct tv_vlib_elem **elems, size_t *n)
{
	if (elems != NULL)
		*elems = NULL;
	if (n != NULL)
		*n = 0;
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "library status: no library");
	return l->ops->status(l, info, elems, n);
}

static void print_elem(FILE *f, const struct tv_vlib_info *info, const struct tv_vlib_elem *x)
{
	char tag[80] = "";

	if (x->barcode[0])
		snprintf(tag, sizeof(tag), " :VolumeTag=%s", x->barcode);
	switch (x->type) {
	case TV_ELEM_DRIVE:
		if (!x->full)
			fprintf(f, "Data Transfer Element %u:Empty", x->index);
		else if (x->source_slot != 0)
			fprintf(f, "Data Transfer Element %u:Full (Storage Element %u Loaded)%s%s",
			        x->index, x->source_slot, x->barcode[0] ? ":VolumeTag = " : "",
			        x->barcode);
		else
			fprintf(f, "Data Transfer Element %u:Full (Unknown Storage Element Loaded)"
			        "%s%s", x->index, x->barcode[0] ? ":VolumeTag = " : "", x->barcode);
		break;
	case TV_ELEM_SLOT:
		fprintf(f, "      Storage Element %u:%s%s", x->index, x->full ? "Full" : "Empty",
		        tag);
		break;
	case TV_ELEM_MAILSLOT:
		fprintf(f, "      Storage Element %u IMPORT/EXPORT:%s%s", info->slots + x->index,
		        x->full ? "Full" : "Empty", tag);
		break;
	}
	if (x->except && x->note[0])
		fprintf(f, " (%s)", x->note);
	fputc('\n', f);
}

int tv_vlib_status_text(struct tv_vlib *l, char **text)
{
	struct tv_vlib_info info;
	struct tv_vlib_elem *e = NULL;
	size_t n = 0, len = 0;
	char *buf = NULL;
	FILE *f;
	int rc;

	if (text == NULL)
		return tv_errf(TV_ERR_INVAL, "library status: no output");
	*text = NULL;
	memset(&info, 0, sizeof(info));
	if ((rc = tv_vlib_status(l, &info, &e, &n)) != 0)
		return rc;
	if ((f = open_memstream(&buf, &len)) == NULL) {
		free(e);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	/* As in mtx, the Slots count includes the import/export slots. */
	if (info.changer[0])
		fprintf(f, "  Storage Changer %s (%s):%u Drives, %u Slots ( %u Import/Export )\n",
		        info.name, info.changer, info.drives, info.slots + info.mailslots,
		        info.mailslots);
	else
		fprintf(f, "  Storage Changer %s:%u Drives, %u Slots ( %u Import/Export )\n",
		        info.name, info.drives, info.slots + info.mailslots, info.mailslots);
	for (size_t i = 0; i < n; i++)
		print_elem(f, &info, &e[i]);
	free(e);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	*text = buf;
	return 0;
}

/* ---- cartridges ---- */

int tv_vlib_new_tape(struct tv_vlib *l, const char *barcode, uint64_t capacity,
                     uint64_t early_warning, unsigned *slot)
{
	int rc;

	if (slot != NULL)
		*slot = 0;
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "new tape: no library");
	if ((rc = tv_barcode_check(barcode)) != 0)
		return rc;
	return l->ops->new_tape(l, barcode, capacity, early_warning, slot);
}

int tv_vlib_load(struct tv_vlib *l, const char *barcode, int drive, int mode,
                 struct tv_tape **out, unsigned *drive_out)
{
	int rc;

	if (out != NULL)
		*out = NULL;
	if (drive_out != NULL)
		*drive_out = 0;
	if (l == NULL || out == NULL)
		return tv_errf(TV_ERR_INVAL, "load: no library or output");
	if ((rc = tv_barcode_check(barcode)) != 0)
		return rc;
	return l->ops->load(l, barcode, drive, mode, out, drive_out);
}

int tv_vlib_unload(struct tv_vlib *l, unsigned drive, unsigned *slot)
{
	if (slot != NULL)
		*slot = 0;
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "unload: no library");
	return l->ops->unload(l, drive, slot, 0);
}

int tv_vlib_unload_if_loaded(struct tv_vlib *l, unsigned drive)
{
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "unload: no library");
	return l->ops->unload(l, drive, NULL, 1);
}

int tv_vlib_move(struct tv_vlib *l, const struct tv_vlib_loc *from,
                 const struct tv_vlib_loc *to)
{
	if (l == NULL || from == NULL || to == NULL)
		return tv_errf(TV_ERR_INVAL, "move: no library or element");
	return l->ops->move(l, from, to);
}

int tv_vlib_export_to(struct tv_vlib *l, const char *barcode, const char *to_dir,
                      char *where, size_t wsz)
{
	int rc;

	if (where != NULL && wsz > 0)
		where[0] = '\0';
	if (l == NULL || to_dir == NULL || to_dir[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "export: no library or target directory");
	if ((rc = tv_barcode_check(barcode)) != 0)
		return rc;
	return l->ops->export_tape(l, barcode, to_dir, where, wsz);
}

int tv_vlib_export(struct tv_vlib *l, const char *barcode, const char *to_dir)
{
	return tv_vlib_export_to(l, barcode, to_dir, NULL, 0);
}

int tv_vlib_insert(struct tv_vlib *l, const char *file, int flags,
                   char barcode_out[32], unsigned *slot)
{
	if (slot != NULL)
		*slot = 0;
	if (barcode_out != NULL)
		barcode_out[0] = '\0';
	if (l == NULL || file == NULL || file[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "insert: no library or file");
	return l->ops->insert(l, file, flags, barcode_out, slot);
}

int tv_vlib_find(struct tv_vlib *l, const char *barcode, struct tv_vlib_elem *e)
{
	if (l == NULL || e == NULL || barcode == NULL)
		return tv_errf(TV_ERR_INVAL, "find: NULL argument");
	memset(e, 0, sizeof(*e));
	return l->ops->find(l, barcode, e);
}

int tv_vlib_barcodes(struct tv_vlib *l, char ***list, size_t *n)
{
	if (l == NULL || list == NULL || n == NULL)
		return tv_errf(TV_ERR_INVAL, "barcodes: NULL argument");
	*list = NULL;
	*n = 0;
	return l->ops->barcodes(l, list, n);
}

int tv_vlib_scan(struct tv_vlib *l)
{
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "scan: no library");
	return l->ops->scan != NULL ? l->ops->scan(l) : 0;
}

int tv_vlib_tape_path(struct tv_vlib *l, const char *barcode, char *buf, size_t bufsz)
{
	if (buf == NULL || bufsz == 0)
		return tv_errf(TV_ERR_INVAL, "tape path: no buffer");
	buf[0] = '\0';
	if (l == NULL || barcode == NULL)
		return tv_errf(TV_ERR_INVAL, "tape path: NULL argument");
	return l->ops->tape_path(l, barcode, buf, bufsz);
}
