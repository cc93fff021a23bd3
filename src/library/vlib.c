/* tapevault: the directory kind of library, a virtual tape library (see
 * vlib.h and vlib_int.h).
 *
 * library.json (version 1):
 *   {
 *     "format": "tapevault-vlib", "version": 1,
 *     "name": "lib1", "created": "2024-01-01T00:00:00Z",
 *     "slots": 4, "drives": 1, "mailslots": 1,
 *     "slot_contents": ["VT0001L9", null, null, null],
 *     "drive_contents": [{"barcode": "VT0002L9", "source_slot": 2}],
 *     "mailslot_contents": [null]
 *   }
 * The file is untrusted input (users edit things): every field is checked,
 * barcodes must be valid and unique, the size is bounded. */
#include "library/vlib_int.h"

#include "tape/tape.h"
#include "tape/tfile.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LIB_JSON_MAX ((size_t)4 << 20)
#define BC_SZ 16

struct vl_drive {
	char bc[BC_SZ];
	unsigned source;
};

struct vl_state {
	char name[TV_VLIB_NAME_MAX + 1];
	char created[64];
	unsigned nslots, ndrives, nmail;
	char (*slot)[BC_SZ];
	struct vl_drive *drive;
	char (*mail)[BC_SZ];
};

/* ------------------------------------------------------------------ */
/* names                                                               */

static int is_upper_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int tv_barcode_check(const char *bc)
{
	size_t n;
	int lower = 0;

	if (bc == NULL || bc[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "empty barcode (expected 6 characters A-Z "
		               "0-9 and a 2-character media id, e.g. VT0001L9)");
	n = strnlen(bc, 64);
	for (size_t i = 0; i < n; i++)
		if (bc[i] >= 'a' && bc[i] <= 'z')
			lower = 1;
	if (n == TV_BARCODE_LEN && lower)
		return tv_errf(TV_ERR_INVAL, "barcode \"%s\" has lowercase letters: "
		               "barcodes are uppercase (e.g. VT0001L9)", bc);
	if (n != TV_BARCODE_LEN)
		return tv_errf(TV_ERR_INVAL, "barcode \"%.64s\" must be 8 characters: 6 "
		               "characters A-Z 0-9 and a 2-character media id (e.g. "
		               "VT0001L9)", bc);
	for (size_t i = 0; i < 6; i++)
		if (!is_upper_alnum(bc[i]))
			return tv_errf(TV_ERR_INVAL, "barcode \"%s\": character %zu must be "
			               "A-Z or 0-9 (e.g. VT0001L9)", bc, i + 1);
	if (!(bc[6] >= 'A' && bc[6] <= 'Z') || !is_upper_alnum(bc[7]))
		return tv_errf(TV_ERR_INVAL, "barcode \"%s\": the media id (last two "
		               "characters) must be a letter and a letter or digit, e.g. "
		               "L9 for LTO-9", bc);
	return 0;
}

int tv_vlib_name_check(const char *name)
{
	size_t n = name != NULL ? strnlen(name, TV_VLIB_NAME_MAX + 1) : 0;

	if (n == 0 || n > TV_VLIB_NAME_MAX)
		return tv_errf(TV_ERR_INVAL, "library name must be 1 to %d characters",
		               TV_VLIB_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return tv_errf(TV_ERR_INVAL, "library name \"%s\": use only "
			               "letters, digits, '.', '_' and '-'", name);
	}
	return 0;
}

static int vl_path(const struct tv_vlib *l, char *buf, size_t sz, const char *file)
{
	return tv_tfile_path(buf, sz, "%s/%s", l->dir, file);
}

static int vl_image(const char *dir, const char *bc, char *buf, size_t sz)
{
	return tv_tfile_path(buf, sz, "%s/%s.tap", dir, bc);
}

/* ------------------------------------------------------------------ */
/* state                                                               */

static void state_free(struct vl_state *s)
{
	free(s->slot);
	free(s->drive);
	free(s->mail);
	memset(s, 0, sizeof(*s));
}

static int state_alloc(struct vl_state *s)
{
	s->slot = calloc(s->nslots + 1, sizeof(*s->slot));
	s->drive = calloc(s->ndrives + 1, sizeof(*s->drive));
	s->mail = calloc(s->nmail + 1, sizeof(*s->mail));
	if (s->slot == NULL || s->drive == NULL || s->mail == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	return 0;
}

static int cmp_bc(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* All barcodes in the state, sorted (pointers into s). */
static int state_barcodes(const struct vl_state *s, const char ***out, size_t *n)
{
	size_t cap = (size_t)s->nslots + s->ndrives + s->nmail, k = 0;
	const char **v = calloc(cap + 1, sizeof(*v));

	if (v == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < s->ndrives; i++)
		if (s->drive[i].bc[0])
			v[k++] = s->drive[i].bc;
	for (unsigned i = 0; i < s->nslots; i++)
		if (s->slot[i][0])
			v[k++] = s->slot[i];
	for (unsigned i = 0; i < s->nmail; i++)
		if (s->mail[i][0])
			v[k++] = s->mail[i];
	qsort(v, k, sizeof(*v), cmp_bc);
	*out = v;
	*n = k;
	return 0;
}

static int json_count(json_t *root, const char *key, unsigned max, unsigned min,
                      unsigned *out, const char *path)
{
	json_t *j = json_object_get(root, key);
	json_int_t v;

	if (!json_is_integer(j))
		return tv_errf(TV_ERR_FORMAT, "%s: \"%s\" must be an integer", path, key);
	v = json_integer_value(j);
	if (v < (json_int_t)min || v > (json_int_t)max)
		return tv_errf(TV_ERR_FORMAT, "%s: \"%s\" is %lld, must be %u to %u",
		               path, key, (long long)v, min, max);
	*out = (unsigned)v;
	return 0;
}

static int json_bc(json_t *j, char *out, const char *path, const char *what,
                   unsigned idx)
{
	const char *s;

	if (j == NULL || json_is_null(j)) {
		out[0] = '\0';
		return 0;
	}
	s = json_string_value(j);
	if (s == NULL || tv_barcode_check(s) != 0)
		return tv_errf(TV_ERR_FORMAT, "%s: %s %u holds an invalid barcode "
		               "(expected null or a barcode like \"VT0001L9\")", path,
		               what, idx);
	memcpy(out, s, TV_BARCODE_LEN + 1);
	return 0;
}

static int json_array_n(json_t *root, const char *key, unsigned n,
                        json_t **out, const char *path)
{
	json_t *a = json_object_get(root, key);

	if (!json_is_array(a) || json_array_size(a) != n)
		return tv_errf(TV_ERR_FORMAT, "%s: \"%s\" must be an array of %u "
		               "entries", path, key, n);
	*out = a;
	return 0;
}

static int state_parse(json_t *root, struct vl_state *s, const char *path)
{
	json_t *j, *a;
	const char *str;
	const char **bcs = NULL;
	size_t nbc = 0;
	int rc;

	if (!json_is_object(root))
		return tv_errf(TV_ERR_FORMAT, "%s: not a JSON object", path);
	str = json_string_value(json_object_get(root, "format"));
	if (str == NULL || strcmp(str, "tapevault-vlib") != 0)
		return tv_errf(TV_ERR_FORMAT, "%s: not a tapevault library file "
		               "(\"format\" is not \"tapevault-vlib\")", path);
	j = json_object_get(root, "version");
	if (!json_is_integer(j) || json_integer_value(j) != 1)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s: library format version not "
		               "supported (this tapevault reads version 1; upgrade "
		               "tapevault)", path);
	str = json_string_value(json_object_get(root, "name"));
	if (str == NULL || tv_vlib_name_check(str) != 0)
		return tv_errf(TV_ERR_FORMAT, "%s: missing or invalid \"name\"", path);
	memcpy(s->name, str, strlen(str) + 1);
	str = json_string_value(json_object_get(root, "created"));
	if (str != NULL)
		snprintf(s->created, sizeof(s->created), "%s", str);
	if ((rc = json_count(root, "slots", TV_VLIB_MAX_SLOTS, 0, &s->nslots, path)) ||
	    (rc = json_count(root, "drives", TV_VLIB_MAX_DRIVES, 1, &s->ndrives, path)) ||
	    (rc = json_count(root, "mailslots", TV_VLIB_MAX_MAILSLOTS, 0, &s->nmail,
	                     path)))
		return rc;
	if ((rc = state_alloc(s)) != 0)
		return rc;
	if ((rc = json_array_n(root, "slot_contents", s->nslots, &a, path)) != 0)
		return rc;
	for (unsigned i = 0; i < s->nslots; i++)
		if ((rc = json_bc(json_array_get(a, i), s->slot[i], path, "slot", i + 1)))
			return rc;
	if ((rc = json_array_n(root, "mailslot_contents", s->nmail, &a, path)) != 0)
		return rc;
	for (unsigned i = 0; i < s->nmail; i++)
		if ((rc = json_bc(json_array_get(a, i), s->mail[i], path, "mail slot",
		                  i + 1)))
			return rc;
	if ((rc = json_array_n(root, "drive_contents", s->ndrives, &a, path)) != 0)
		return rc;
	for (unsigned i = 0; i < s->ndrives; i++) {
		json_t *d = json_array_get(a, i), *src;
		if (json_is_null(d))
			continue;
		if (!json_is_object(d))
			return tv_errf(TV_ERR_FORMAT, "%s: drive %u: expected null or an "
			               "object", path, i);
		if ((rc = json_bc(json_object_get(d, "barcode"), s->drive[i].bc, path,
		                  "drive", i)))
			return rc;
		src = json_object_get(d, "source_slot");
		if (src != NULL && !json_is_null(src)) {
			json_int_t v = json_is_integer(src) ? json_integer_value(src) : -1;
			if (v < 0 || v > (json_int_t)s->nslots)
				return tv_errf(TV_ERR_FORMAT, "%s: drive %u: invalid "
				               "\"source_slot\"", path, i);
			s->drive[i].source = (unsigned)v;
		}
	}
	rc = state_barcodes(s, &bcs, &nbc);
	if (rc != 0)
		return rc;
	for (size_t i = 1; i < nbc; i++)
		if (strcmp(bcs[i - 1], bcs[i]) == 0) {
			rc = tv_errf(TV_ERR_FORMAT, "%s: barcode %s appears in two elements; "
			             "fix the file by hand", path, bcs[i]);
			break;
		}
	free(bcs);
	return rc;
}

static int state_read(const struct tv_vlib *l, struct vl_state *s)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root;
	char *data = NULL;
	size_t len;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = vl_path(l, path, sizeof(path), l->state_file);
	if (rc != 0)
		return rc;
	rc = tv_tfile_read_small(path, LIB_JSON_MAX, &data, &len);
	if (rc == TV_ERR_NOTFOUND)
		return tv_errf(rc, "no tape library in %s (%s missing): create one with "
		               "'tapevault library create'", l->dir, l->state_file);
	if (rc != 0)
		return rc;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL)
		return tv_errf(TV_ERR_FORMAT, "%s: invalid JSON (line %d: %s)", path,
		               jerr.line, jerr.text);
	rc = state_parse(root, s, path);
	json_decref(root);
	if (rc != 0)
		state_free(s);
	return rc;
}

static json_t *bc_json(const char *bc)
{
	return bc[0] ? json_string(bc) : json_null();
}

static int state_write(const struct tv_vlib *l, const struct vl_state *s)
{
	char path[PATH_MAX];
	json_t *root, *slots, *drives, *mail;
	char *text = NULL;
	int rc = 0;

	root = json_object();
	slots = json_array();
	drives = json_array();
	mail = json_array();
	if (root == NULL || slots == NULL || drives == NULL || mail == NULL) {
		json_decref(slots);
		json_decref(drives);
		json_decref(mail);
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < s->nslots; i++)
		json_array_append_new(slots, bc_json(s->slot[i]));
	for (unsigned i = 0; i < s->ndrives; i++) {
		if (!s->drive[i].bc[0]) {
			json_array_append_new(drives, json_null());
			continue;
		}
		json_array_append_new(drives, json_pack("{s:s, s:I}", "barcode",
		                      s->drive[i].bc, "source_slot",
		                      (json_int_t)s->drive[i].source));
	}
	for (unsigned i = 0; i < s->nmail; i++)
		json_array_append_new(mail, bc_json(s->mail[i]));
	json_object_set_new(root, "format", json_string("tapevault-vlib"));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "name", json_string(s->name));
	json_object_set_new(root, "created", json_string(s->created));
	json_object_set_new(root, "slots", json_integer(s->nslots));
	json_object_set_new(root, "drives", json_integer(s->ndrives));
	json_object_set_new(root, "mailslots", json_integer(s->nmail));
	json_object_set_new(root, "slot_contents", slots);
	json_object_set_new(root, "drive_contents", drives);
	json_object_set_new(root, "mailslot_contents", mail);
	text = json_dumps(root, JSON_INDENT(2));
	if (text == NULL) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = vl_path(l, path, sizeof(path), l->state_file);
	if (rc == 0) {
		size_t n = strlen(text);
		char *t2 = realloc(text, n + 2);
		if (t2 == NULL) {
			rc = tv_errf(TV_ERR_NOMEM, "out of memory");
			goto out;
		}
		text = t2;
		text[n] = '\n';
		text[n + 1] = '\0';
		rc = tv_tfile_write_atomic(path, text, n + 1, 0644);
		if (rc != 0)
			tv_errctx(rc, "library %s: cannot save %s", s->name, l->state_file);
	}
out:
	free(text);
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* locking                                                             */

/* Lock the library directory.  The lock file is created only in a
 * directory that holds a library (or is being made one: create = 1), so
 * probing a wrong directory leaves nothing behind.  Readers of a library
 * on read-only storage go without a lock (*fdp = -1): nobody can change it
 * there anyway. */
static int vl_lock(const struct tv_vlib *l, int excl, int create, int *fdp)
{
	char path[PATH_MAX], js[PATH_MAX];
	const char *dir = l->dir;
	int fd, rc, err;

	*fdp = -1;
	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, l->lock_file)) ||
	    (rc = tv_tfile_path(js, sizeof(js), "%s/%s", dir, l->state_file)))
		return rc;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EROFS) && !excl)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!create && tv_tfile_exists(js) != 1)
			return tv_errf(TV_ERR_NOTFOUND, "no tape library in %s (%s "
			               "missing): create one with 'tapevault library "
			               "create'", dir, l->state_file);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		err = errno;
		if (!excl && (err == EACCES || err == EROFS))
			return 0;
		if (err == ENOENT || err == ENOTDIR)
			return tv_errf(TV_ERR_NOTFOUND, "no tape library in %s (no such "
			               "directory)", dir);
		return tv_errf(err == EACCES || err == EROFS ? TV_ERR_PERM : TV_ERR_IO,
		               "cannot open the lock file %s: %s", path, strerror(err));
	}
	while (flock(fd, excl ? LOCK_EX : LOCK_SH) != 0) {
		if (errno == EINTR)
			continue;
		rc = tv_errf(TV_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

static void vl_unlock(int fd)
{
	if (fd >= 0)
		close(fd);      /* releases the flock */
}

/* Lock, then read the state. */
static int vl_begin(const struct tv_vlib *l, int excl, int *lk, struct vl_state *s)
{
	int rc = vl_lock(l, excl, 0, lk);

	memset(s, 0, sizeof(*s));
	if (rc != 0)
		return rc;
	rc = state_read(l, s);
	if (rc != 0) {
		vl_unlock(*lk);
		*lk = -1;
	}
	return rc;
}

static void vl_end(int lk, struct vl_state *s)
{
	state_free(s);
	vl_unlock(lk);
}

/* 1 if some process holds the image open (vtape flock). */
int tv_vlib_image_in_use(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), busy = 0;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
		busy = 1;
	close(fd);
	return busy;
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */

static int state_find(const struct vl_state *s, const char *bc,
                   enum tv_vlib_elem_type *type, unsigned *idx)
{
	for (unsigned i = 0; i < s->ndrives; i++)
		if (strcmp(s->drive[i].bc, bc) == 0) {
			*type = TV_ELEM_DRIVE;
			*idx = i;
			return 1;
		}
	for (unsigned i = 0; i < s->nslots; i++)
		if (strcmp(s->slot[i], bc) == 0) {
			*type = TV_ELEM_SLOT;
			*idx = i + 1;
			return 1;
		}
	for (unsigned i = 0; i < s->nmail; i++)
		if (strcmp(s->mail[i], bc) == 0) {
			*type = TV_ELEM_MAILSLOT;
			*idx = i + 1;
			return 1;
		}
	return 0;
}

static int slot_reserved(const struct vl_state *s, unsigned slot)
{
	for (unsigned i = 0; i < s->ndrives; i++)
		if (s->drive[i].bc[0] && s->drive[i].source == slot)
			return 1;
	return 0;
}

/* First empty slot not promised to a loaded cartridge; 0 if none. */
static unsigned state_free_slot(const struct vl_state *s)
{
	for (unsigned i = 0; i < s->nslots; i++)
		if (!s->slot[i][0] && !slot_reserved(s, i + 1))
			return i + 1;
	return 0;
}

static unsigned state_count_full(const struct vl_state *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->nslots; i++)
		n += s->slot[i][0] != '\0';
	return n;
}

static int no_free_slot(const struct vl_state *s)
{
	if (s->nslots == 0)
		return tv_errf(TV_ERR_NOSPC, "library %s has no storage slots", s->name);
	return tv_errf(TV_ERR_NOSPC, "no free slot in library %s (%u slots, %u "
	               "full, the others reserved for loaded cartridges): export "
	               "cartridges first", s->name, s->nslots, state_count_full(s));
}

static int not_in_lib(const struct vl_state *s, const char *bc)
{
	return tv_errf(TV_ERR_NOTFOUND, "cartridge %s is not in library %s; see "
	               "'tapevault library status %s'", bc, s->name, s->name);
}

static void elem_desc(enum tv_vlib_elem_type type, unsigned idx, char *buf,
                      size_t sz)
{
	snprintf(buf, sz, "%s %u", type == TV_ELEM_DRIVE ? "drive" :
	         type == TV_ELEM_SLOT ? "slot" : "mail slot", idx);
}

/* ------------------------------------------------------------------ */
/* the directory kind's operations                                      */

static int vl_handle(const char *dir, const char *state_file, const char *lock_file,
                     const char *name, struct tv_vlib **out)
{
	struct tv_vlib *l = calloc(1, sizeof(*l));

	if (l == NULL || (l->dir = strdup(dir)) == NULL) {
		free(l);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	l->ops = &tv_vlib_dir_ops;
	l->state_file = state_file;
	l->lock_file = lock_file;
	snprintf(l->name, sizeof(l->name), "%s", name);
	*out = l;
	return 0;
}

int tv_vlib_dir_create(const char *dir, const char *state_file, const char *lock_file,
                       const char *name, unsigned slots, unsigned drives,
                       unsigned mailslots, struct tv_vlib **out)
{
	struct vl_state s;
	struct tv_vlib tmp;
	char path[PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;
	int rc, lk = -1;

	if (out != NULL)
		*out = NULL;
	memset(&s, 0, sizeof(s));
	if (dir == NULL || dir[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "library create: no directory given");
	if ((rc = tv_vlib_name_check(name)) != 0)
		return rc;
	if (slots > TV_VLIB_MAX_SLOTS)
		return tv_errf(TV_ERR_INVAL, "a library holds at most %d slots",
		               TV_VLIB_MAX_SLOTS);
	if (drives < 1 || drives > TV_VLIB_MAX_DRIVES)
		return tv_errf(TV_ERR_INVAL, "a library has 1 to %d drives",
		               TV_VLIB_MAX_DRIVES);
	if (mailslots > TV_VLIB_MAX_MAILSLOTS)
		return tv_errf(TV_ERR_INVAL, "a library has at most %d mail slots",
		               TV_VLIB_MAX_MAILSLOTS);
	rc = tv_tfile_mkdirs(dir, 0755);
	if (rc != 0)
		return rc;
	memset(&tmp, 0, sizeof(tmp));
	tmp.dir = (char *)(uintptr_t)dir;
	tmp.state_file = state_file;
	tmp.lock_file = lock_file;
	rc = vl_path(&tmp, path, sizeof(path), state_file);
	if (rc != 0)
		return rc;
	rc = vl_lock(&tmp, 1, 1, &lk);
	if (rc != 0)
		return rc;
	rc = tv_tfile_exists(path);
	if (rc == 1)
		rc = tv_errf(TV_ERR_EXISTS, "%s already holds a tape library (%s); "
		             "open it, or choose another directory", dir, state_file);
	if (rc != 0)
		goto out;
	snprintf(s.name, sizeof(s.name), "%s", name);
	gmtime_r(&now, &tm);
	strftime(s.created, sizeof(s.created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	s.nslots = slots;
	s.ndrives = drives;
	s.nmail = mailslots;
	if ((rc = state_alloc(&s)) != 0)
		goto out;
	rc = state_write(&tmp, &s);
	if (rc == 0 && out != NULL)
		rc = vl_handle(dir, state_file, lock_file, name, out);
out:
	vl_end(lk, &s);
	return rc;
}

int tv_vlib_dir_open(const char *dir, const char *state_file, const char *lock_file,
                     struct tv_vlib **out)
{
	struct tv_vlib tmp;
	struct vl_state s;
	struct stat sb;
	int rc, lk;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || dir[0] == '\0' || out == NULL)
		return tv_errf(TV_ERR_INVAL, "library open: no directory given");
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_NOTFOUND, "no tape library in %s (not a "
		               "directory)", dir);
	memset(&tmp, 0, sizeof(tmp));
	tmp.dir = (char *)(uintptr_t)dir;
	tmp.state_file = state_file;
	tmp.lock_file = lock_file;
	rc = vl_begin(&tmp, 0, &lk, &s);
	if (rc != 0)
		return rc;
	rc = vl_handle(dir, state_file, lock_file, s.name, out);
	vl_end(lk, &s);
	return rc;
}

static void dir_close(struct tv_vlib *l)
{
	free(l->dir);
	free(l);
}

static int dir_status(struct tv_vlib *l, struct tv_vlib_info *info,
                      struct tv_vlib_elem **elems, size_t *n)
{
	struct vl_state s;
	struct tv_vlib_elem *e = NULL;
	size_t k = 0, total;
	int rc, lk;

	if (elems != NULL)
		*elems = NULL;
	if (n != NULL)
		*n = 0;
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "library status: no library");
	rc = vl_begin(l, 0, &lk, &s);
	if (rc != 0)
		return rc;
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		memcpy(info->name, s.name, sizeof(info->name));
		info->slots = s.nslots;
		info->drives = s.ndrives;
		info->mailslots = s.nmail;
		snprintf(info->kind, sizeof(info->kind), "directory");
	}
	if (elems != NULL) {
		total = (size_t)s.ndrives + s.nslots + s.nmail;
		e = calloc(total + 1, sizeof(*e));
		if (e == NULL) {
			rc = tv_errf(TV_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (unsigned i = 0; i < s.ndrives; i++, k++) {
			e[k].type = TV_ELEM_DRIVE;
			e[k].index = i;
			memcpy(e[k].barcode, s.drive[i].bc, BC_SZ);
			e[k].source_slot = s.drive[i].source;
		}
		for (unsigned i = 0; i < s.nslots; i++, k++) {
			e[k].type = TV_ELEM_SLOT;
			e[k].index = i + 1;
			memcpy(e[k].barcode, s.slot[i], BC_SZ);
		}
		for (unsigned i = 0; i < s.nmail; i++, k++) {
			e[k].type = TV_ELEM_MAILSLOT;
			e[k].index = i + 1;
			memcpy(e[k].barcode, s.mail[i], BC_SZ);
		}
		for (size_t i = 0; i < k; i++)
			e[i].full = e[i].barcode[0] != '\0';
		*elems = e;
		if (n != NULL)
			*n = k;
	}
out:
	vl_end(lk, &s);
	return rc;
}

static int dir_new_tape(struct tv_vlib *l, const char *barcode, uint64_t capacity,
                        uint64_t early_warning, unsigned *slot)
{
	struct tv_vtape_attrs a;
	struct vl_state s;
	char path[PATH_MAX], where[32];
	enum tv_vlib_elem_type type;
	unsigned idx, free_slot;
	int rc, lk;

	if (slot != NULL)
		*slot = 0;
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "new tape: no library");
	if ((rc = tv_barcode_check(barcode)) != 0)
		return rc;
	if (capacity == 0)
		capacity = TV_VLIB_DEFAULT_CAPACITY;
	if (early_warning == 0)
		early_warning = tv_vtape_default_ew(capacity);
	if (early_warning > capacity)
		return tv_errf(TV_ERR_INVAL, "new tape %s: early warning (%llu bytes) "
		               "beyond the capacity (%llu bytes)", barcode,
		               (unsigned long long)early_warning,
		               (unsigned long long)capacity);
	memset(&a, 0, sizeof(a));
	memcpy(a.barcode, barcode, TV_BARCODE_LEN + 1);
	a.capacity = capacity;
	a.early_warning = early_warning;
	rc = vl_begin(l, 1, &lk, &s);
	if (rc != 0)
		return rc;
	if (state_find(&s, barcode, &type, &idx)) {
		elem_desc(type, idx, where, sizeof(where));
		rc = tv_errf(TV_ERR_EXISTS, "cartridge %s is already in library %s "
		             "(%s); choose another barcode", barcode, s.name, where);
		goto out;
	}
	free_slot = state_free_slot(&s);
	if (free_slot == 0) {
		rc = no_free_slot(&s);
		goto out;
	}
	if ((rc = vl_image(l->dir, barcode, path, sizeof(path))) != 0)
		goto out;
	rc = tv_vtape_create(path, &a);
	if (rc == TV_ERR_EXISTS) {
		rc = tv_errf(rc, "library %s: a stray image %s exists although %s is "
		             "not in the library; move it away, or insert it with "
		             "'tapevault tape insert'", s.name, path, barcode);
		goto out;
	}
	if (rc != 0)
		goto out;
	memcpy(s.slot[free_slot - 1], barcode, TV_BARCODE_LEN + 1);
	rc = state_write(l, &s);
	if (rc != 0) {
		char sc[PATH_MAX];
		unlink(path);
		if (tv_tfile_path(sc, sizeof(sc), "%s.json", path) == 0)
			unlink(sc);
		goto out;
	}
	if (slot != NULL)
		*slot = free_slot;
out:
	vl_end(lk, &s);
	return rc;
}

static int dir_load(struct tv_vlib *l, const char *barcode, int drive, int mode,
                    struct tv_tape **out, unsigned *drive_out)
{
	struct vl_state s;
	struct tv_tape *t = NULL;
	char path[PATH_MAX];
	enum tv_vlib_elem_type type;
	unsigned idx, d;
	int rc, lk;

	if (out != NULL)
		*out = NULL;
	if (drive_out != NULL)
		*drive_out = 0;
	if (l == NULL || out == NULL)
		return tv_errf(TV_ERR_INVAL, "load: no library or output");
	if ((rc = tv_barcode_check(barcode)) != 0)
		return rc;
	rc = vl_begin(l, 1, &lk, &s);
	if (rc != 0)
		return rc;
	if (drive != TV_VLIB_ANY_DRIVE && (drive < 0 || (unsigned)drive >= s.ndrives)) {
		rc = tv_errf(TV_ERR_INVAL, "library %s has no drive %d (drives are "
		             "numbered 0 to %u)", s.name, drive, s.ndrives - 1);
		goto out;
	}
	if (!state_find(&s, barcode, &type, &idx)) {
		rc = not_in_lib(&s, barcode);
		goto out;
	}
	if ((rc = vl_image(l->dir, barcode, path, sizeof(path))) != 0)
		goto out;
	if (type == TV_ELEM_DRIVE) {
		if (drive != TV_VLIB_ANY_DRIVE && (unsigned)drive != idx) {
			rc = tv_errf(TV_ERR_STATE, "cartridge %s is loaded in drive %u of "
			             "library %s; unload it first ('tapevault' jobs unload "
			             "when done)", barcode, idx, s.name);
			goto out;
		}
		/* Already in place (e.g. left by a job that crashed): open it. */
		rc = tv_tape_open(path, mode, &t);
		if (rc == 0) {
			*out = t;
			if (drive_out != NULL)
				*drive_out = idx;
		}
		goto out;
	}
	if (drive == TV_VLIB_ANY_DRIVE) {
		for (d = 0; d < s.ndrives && s.drive[d].bc[0]; d++)
			;
		if (d == s.ndrives) {
			rc = tv_errf(TV_ERR_STATE, "all %u drives of library %s are full; "
			             "unload one first", s.ndrives, s.name);
			goto out;
		}
	} else {
		d = (unsigned)drive;
		if (s.drive[d].bc[0]) {
			rc = tv_errf(TV_ERR_STATE, "drive %u of library %s is full (%s "
			             "loaded); unload it first", d, s.name, s.drive[d].bc);
			goto out;
		}
	}
	/* Open first: if the image cannot be opened, nothing moves. */
	rc = tv_tape_open(path, mode, &t);
	if (rc != 0) {
		tv_errctx(rc, "library %s: loading %s", s.name, barcode);
		goto out;
	}
	memcpy(s.drive[d].bc, barcode, TV_BARCODE_LEN + 1);
	s.drive[d].source = 0;
	if (type == TV_ELEM_SLOT) {
		s.drive[d].source = idx;
		s.slot[idx - 1][0] = '\0';
	} else {
		s.mail[idx - 1][0] = '\0';
	}
	rc = state_write(l, &s);
	if (rc != 0) {
		tv_tape_close(t);
		goto out;
	}
	*out = t;
	if (drive_out != NULL)
		*drive_out = d;
out:
	vl_end(lk, &s);
	return rc;
}

static int dir_unload(struct tv_vlib *l, unsigned drive, unsigned *slot, int if_loaded)
{
	struct vl_state s;
	char path[PATH_MAX];
	unsigned to;
	int rc, lk;

	if (slot != NULL)
		*slot = 0;
	if (l == NULL)
		return tv_errf(TV_ERR_INVAL, "unload: no library");
	rc = vl_begin(l, 1, &lk, &s);
	if (rc != 0)
		return rc;
	if (drive >= s.ndrives) {
		rc = tv_errf(TV_ERR_INVAL, "library %s has no drive %u (drives are "
		             "numbered 0 to %u)", s.name, drive, s.ndrives - 1);
		goto out;
	}
	if (!s.drive[drive].bc[0] && if_loaded)
		goto out;
	if (!s.drive[drive].bc[0]) {
		rc = tv_errf(TV_ERR_STATE, "drive %u of library %s is empty; nothing "
		             "to unload", drive, s.name);
		goto out;
	}
	if ((rc = vl_image(l->dir, s.drive[drive].bc, path, sizeof(path))) != 0)
		goto out;
	if (tv_vlib_image_in_use(path)) {
		rc = tv_errf(TV_ERR_STATE, "cartridge %s in drive %u of library %s is "
		             "still open (in use by a job?); close it before unloading",
		             s.drive[drive].bc, drive, s.name);
		goto out;
	}
	to = s.drive[drive].source;
	if (to == 0 || to > s.nslots || s.slot[to - 1][0]) {
		s.drive[drive].source = 0;   /* do not reserve it for ourselves */
		to = state_free_slot(&s);
	}
	if (to == 0) {
		rc = tv_errf(TV_ERR_NOSPC, "cannot unload drive %u of library %s: no "
		             "free slot (%u slots); export a cartridge first", drive,
		             s.name, s.nslots);
		goto out;
	}
	memcpy(s.slot[to - 1], s.drive[drive].bc, BC_SZ);
	memset(&s.drive[drive], 0, sizeof(s.drive[drive]));
	rc = state_write(l, &s);
	if (rc == 0 && slot != NULL)
		*slot = to;
out:
	vl_end(lk, &s);
	return rc;
}

/* Move image + sidecar from one place to another; on failure, put back
 * what already moved. */
static int move_cartridge(const char *img_from, const char *img_to)
{
	char sc_from[PATH_MAX], sc_to[PATH_MAX];
	int rc, has_sc;

	if ((rc = tv_tfile_path(sc_from, sizeof(sc_from), "%s.json", img_from)) ||
	    (rc = tv_tfile_path(sc_to, sizeof(sc_to), "%s.json", img_to)))
		return rc;
	has_sc = tv_tfile_exists(sc_from);
	if (has_sc < 0)
		return has_sc;
	if (has_sc) {
		rc = tv_tfile_exists(sc_to);
		if (rc == 1)
			return tv_errf(TV_ERR_EXISTS, "%s already exists: not replacing it",
			               sc_to);
		if (rc < 0)
			return rc;
	}
	rc = tv_tfile_move(img_from, img_to);
	if (rc != 0)
		return rc;
	if (has_sc) {
		rc = tv_tfile_move(sc_from, sc_to);
		if (rc != 0) {
			char keep[1024];
			snprintf(keep, sizeof(keep), "%s", tv_errmsg(rc));
			if (tv_tfile_move(img_to, img_from) != 0)
				return tv_errf(rc, "%s; and moving the image back failed too: "
				               "it is now at %s", keep, img_to);
			return tv_errf(rc, "%s", keep);
		}
	}
	return 0;
}

static int dir_export(struct tv_vlib *l, const char *barcode, const char *to_dir,
                      char *where, size_t wsz)
{
	struct vl_state s;
	char from[PATH_MAX], to[PATH_MAX];
	enum tv_vlib_elem_type type;
	unsigned idx;
	int rc, lk;

	if (l == NULL || to_dir == NULL || to_dir[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "export: no library or target directory");
	if ((rc = tv_barcode_check(barcode)) != 0)
		return rc;
	if ((rc = tv_tfile_mkdirs(to_dir, 0755)) != 0)
		return rc;
	rc = vl_begin(l, 1, &lk, &s);
	if (rc != 0)
		return rc;
	if (!state_find(&s, barcode, &type, &idx)) {
		rc = not_in_lib(&s, barcode);
		goto out;
	}
	if (type == TV_ELEM_DRIVE) {
		rc = tv_errf(TV_ERR_STATE, "cartridge %s is loaded in drive %u of "
		             "library %s; unload it before exporting", barcode, idx,
		             s.name);
		goto out;
	}
	if ((rc = vl_image(l->dir, barcode, from, sizeof(from))) ||
	    (rc = vl_image(to_dir, barcode, to, sizeof(to))))
		goto out;
	if (tv_vlib_image_in_use(from)) {
		rc = tv_errf(TV_ERR_STATE, "cartridge %s is open by another process; "
		             "export it when that is done", barcode);
		goto out;
	}
	rc = tv_tfile_exists(from);
	if (rc == 0) {
		rc = tv_errf(TV_ERR_NOTFOUND, "library %s lists cartridge %s, but its "
		             "image %s is missing: put the file back, or remove the "
		             "cartridge from %s/%s by hand", s.name, barcode, from,
		             l->dir, l->state_file);
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = move_cartridge(from, to);
	if (rc != 0) {
		tv_errctx(rc, "exporting %s from library %s", barcode, s.name);
		goto out;
	}
	if (type == TV_ELEM_SLOT)
		s.slot[idx - 1][0] = '\0';
	else
		s.mail[idx - 1][0] = '\0';
	rc = state_write(l, &s);
	if (rc != 0) {
		char keep[1024];
		snprintf(keep, sizeof(keep), "%s", tv_errmsg(rc));
		if (move_cartridge(to, from) != 0)
			rc = tv_errf(rc, "%s; the cartridge files are now in %s but the "
			             "library still lists %s: remove it from %s/%s by "
			             "hand", keep, to_dir, barcode, l->dir, l->state_file);
		else
			rc = tv_errf(rc, "%s", keep);
	}
	if (rc == 0 && where != NULL)
		snprintf(where, wsz, "%s", to_dir);
out:
	vl_end(lk, &s);
	return rc;
}

/* Barcode of a foreign image: sidecar first, else the file name. */
static int insert_barcode(const char *file, char bc[BC_SZ],
                          struct tv_vtape_attrs *a, int *has_sc)
{
	const char *base = strrchr(file, '/');
	size_t n;
	int rc;

	base = base != NULL ? base + 1 : file;
	rc = tv_vtape_read_attrs(file, a);
	*has_sc = rc == 0;
	if (rc != 0 && rc != TV_ERR_NOTFOUND)
		return tv_errctx(rc, "cannot insert %s", file);
	if (rc == 0 && a->barcode[0] != '\0') {
		if (tv_barcode_check(a->barcode) != 0)
			return tv_errf(TV_ERR_INVAL, "cannot insert %s: its sidecar names "
			               "barcode \"%s\", which is not a valid barcode (6 "
			               "characters A-Z 0-9 and a media id, e.g. VT0001L9); "
			               "fix the sidecar", file, a->barcode);
		memcpy(bc, a->barcode, TV_BARCODE_LEN + 1);
		return 0;
	}
	n = strlen(base);
	if (n == TV_BARCODE_LEN + 4 && strcmp(base + TV_BARCODE_LEN, ".tap") == 0) {
		memcpy(bc, base, TV_BARCODE_LEN);
		bc[TV_BARCODE_LEN] = '\0';
		if (tv_barcode_check(bc) == 0)
			return 0;
	}
	return tv_errf(TV_ERR_INVAL, "cannot tell the barcode of %s: it has %s and "
	               "its name is not BARCODE.tap (e.g. VT0001L9.tap); rename it "
	               "or give it a sidecar %s.json with a \"barcode\"", file,
	               *has_sc ? "a sidecar without a barcode" : "no sidecar", file);
}

static int dir_insert(struct tv_vlib *l, const char *file, int flags,
                      char barcode_out[32], unsigned *slot)
{
	struct tv_vtape_attrs a;
	struct vl_state s;
	struct stat sb;
	char bc[BC_SZ], dst[PATH_MAX], where[32];
	enum tv_vlib_elem_type type;
	unsigned idx, to, mail = 0;
	int rc, lk = -1, has_sc = 0, moved = 0;

	if (slot != NULL)
		*slot = 0;
	if (barcode_out != NULL)
		barcode_out[0] = '\0';
	memset(&s, 0, sizeof(s));
	if (l == NULL || file == NULL || file[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "insert: no library or file");
	if (stat(file, &sb) != 0)
		return tv_errf(errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO,
		               "cannot insert %s: %s", file, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return tv_errf(TV_ERR_INVAL, "cannot insert %s: not a regular file",
		               file);
	rc = insert_barcode(file, bc, &a, &has_sc);
	if (rc != 0)
		return rc;
	rc = vl_begin(l, 1, &lk, &s);
	if (rc != 0)
		return rc;
	if (state_find(&s, bc, &type, &idx)) {
		elem_desc(type, idx, where, sizeof(where));
		rc = tv_errf(TV_ERR_EXISTS, "cannot insert %s: a cartridge with barcode "
		             "%s is already in library %s (%s)", file, bc, s.name, where);
		goto out;
	}
	to = state_free_slot(&s);
	for (unsigned i = 0; i < s.nmail && mail == 0; i++)
		if (!s.mail[i][0])
			mail = i + 1;
	if (flags & TV_VLIB_INSERT_TO_MAIL) {
		/* the emulator's operator: into a mail slot, the robot (SCSI)
		 * puts it away; without mail slots into a slot by hand */
		if (mail != 0)
			to = 0;
	}
	if (to == 0 && mail == 0) {
		rc = no_free_slot(&s);
		tv_errctx(rc, "cannot insert %s", file);
		goto out;
	}
	if (to == 0 && !(flags & TV_VLIB_INSERT_TO_MAIL)) {
		rc = no_free_slot(&s);
		tv_errctx(rc, "cannot insert %s", file);
		goto out;
	}
	if ((rc = vl_image(l->dir, bc, dst, sizeof(dst))) != 0)
		goto out;
	if (tv_tfile_exists(dst) == 1) {
		rc = tv_errf(TV_ERR_EXISTS, "cannot insert %s: library %s already has "
		             "a stray file %s (not listed as a cartridge); move it away "
		             "first", file, s.name, dst);
		goto out;
	}
	if (flags & TV_VLIB_INSERT_COPY) {
		char sc_from[PATH_MAX], sc_to[PATH_MAX];
		rc = tv_tfile_copy(file, dst);
		if (rc == 0 && has_sc &&
		    (rc = tv_tfile_path(sc_from, sizeof(sc_from), "%s.json", file)) == 0 &&
		    (rc = tv_tfile_path(sc_to, sizeof(sc_to), "%s.json", dst)) == 0) {
			rc = tv_tfile_copy(sc_from, sc_to);
			if (rc != 0)
				unlink(dst);
		}
	} else {
		rc = move_cartridge(file, dst);
	}
	if (rc != 0) {
		tv_errctx(rc, "cannot insert %s into library %s", file, s.name);
		goto out;
	}
	moved = 1;
	/* The sidecar in the library must name the barcode; write one for a
	 * bare image. */
	if (!has_sc) {
		memset(&a, 0, sizeof(a));
		a.capacity = TV_VLIB_DEFAULT_CAPACITY;
		if ((uint64_t)sb.st_size > a.capacity)
			a.capacity = (uint64_t)sb.st_size;
		a.early_warning = tv_vtape_default_ew(a.capacity);
	}
	if (!has_sc || strcmp(a.barcode, bc) != 0) {
		memcpy(a.barcode, bc, TV_BARCODE_LEN + 1);
		rc = tv_vtape_write_attrs(dst, &a);
		if (rc != 0)
			goto out;
	}
	if (mail != 0) {
		/* It arrives in the mail slot ... */
		memcpy(s.mail[mail - 1], bc, BC_SZ);
		rc = state_write(l, &s);
		if (rc != 0)
			goto out;
		if (to != 0)
			s.mail[mail - 1][0] = '\0';
	}
	if (to != 0) {
		/* ... and the robot puts it away. */
		memcpy(s.slot[to - 1], bc, BC_SZ);
		rc = state_write(l, &s);
		if (rc != 0)
			goto out;
	}
	moved = 0;
	if (slot != NULL)
		*slot = to != 0 ? to : mail;
	if (barcode_out != NULL)
		memcpy(barcode_out, bc, BC_SZ);
out:
	if (rc != 0 && moved) {
		/* Give the cartridge back where it came from. */
		char keep[1024];
		snprintf(keep, sizeof(keep), "%s", tv_errmsg(rc));
		if (flags & TV_VLIB_INSERT_COPY) {
			char sc[PATH_MAX];
			unlink(dst);
			if (tv_tfile_path(sc, sizeof(sc), "%s.json", dst) == 0)
				unlink(sc);
		} else if (!has_sc) {
			char sc[PATH_MAX];
			if (tv_tfile_path(sc, sizeof(sc), "%s.json", dst) == 0)
				unlink(sc);
			tv_tfile_move(dst, file);
		} else {
			move_cartridge(dst, file);
		}
		tv_errf(rc, "%s", keep);
	}
	vl_end(lk, &s);
	return rc;
}

static int dir_find(struct tv_vlib *l, const char *barcode, struct tv_vlib_elem *e)
{
	struct vl_state s;
	enum tv_vlib_elem_type type;
	unsigned idx;
	int rc, lk;

	if (l == NULL || e == NULL || barcode == NULL)
		return tv_errf(TV_ERR_INVAL, "find: NULL argument");
	memset(e, 0, sizeof(*e));
	rc = vl_begin(l, 0, &lk, &s);
	if (rc != 0)
		return rc;
	if (!state_find(&s, barcode, &type, &idx)) {
		rc = not_in_lib(&s, barcode);
	} else {
		e->type = type;
		e->index = idx;
		snprintf(e->barcode, sizeof(e->barcode), "%s", barcode);
		if (type == TV_ELEM_DRIVE)
			e->source_slot = s.drive[idx].source;
	}
	vl_end(lk, &s);
	return rc;
}

static int dir_barcodes(struct tv_vlib *l, char ***list, size_t *n)
{
	struct vl_state s;
	const char **v = NULL;
	size_t k = 0;
	char **out, *p;
	int rc, lk;

	if (l == NULL || list == NULL || n == NULL)
		return tv_errf(TV_ERR_INVAL, "barcodes: NULL argument");
	*list = NULL;
	*n = 0;
	rc = vl_begin(l, 0, &lk, &s);
	if (rc != 0)
		return rc;
	rc = state_barcodes(&s, &v, &k);
	if (rc != 0)
		goto out;
	out = malloc((k + 1) * sizeof(char *) + k * BC_SZ);
	if (out == NULL) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
		goto out;
	}
	p = (char *)(out + k + 1);
	for (size_t i = 0; i < k; i++, p += BC_SZ) {
		memcpy(p, v[i], BC_SZ);
		out[i] = p;
	}
	out[k] = NULL;
	*list = out;
	*n = k;
out:
	free(v);
	vl_end(lk, &s);
	return rc;
}

static int dir_tape_path(struct tv_vlib *l, const char *barcode, char *buf,
                         size_t bufsz)
{
	struct tv_vlib_elem e;
	int rc;

	if (buf == NULL || bufsz == 0)
		return tv_errf(TV_ERR_INVAL, "tape path: no buffer");
	buf[0] = '\0';
	rc = dir_find(l, barcode, &e);
	if (rc != 0)
		return rc;
	return vl_image(l->dir, barcode, buf, bufsz);
}

/* The cartridge slot of an element in the state, NULL if there is none. */
static char *state_elem(struct vl_state *s, const struct tv_vlib_loc *loc)
{
	switch (loc->type) {
	case TV_ELEM_DRIVE:
		return loc->index < s->ndrives ? s->drive[loc->index].bc : NULL;
	case TV_ELEM_SLOT:
		return loc->index >= 1 && loc->index <= s->nslots ? s->slot[loc->index - 1] : NULL;
	case TV_ELEM_MAILSLOT:
		return loc->index >= 1 && loc->index <= s->nmail ? s->mail[loc->index - 1] : NULL;
	}
	return NULL;
}

static int dir_move(struct tv_vlib *l, const struct tv_vlib_loc *from,
                    const struct tv_vlib_loc *to)
{
	struct vl_state s;
	char path[PATH_MAX], fw[32], tw[32];
	char *src, *dst;
	int rc, lk;

	if ((rc = vl_begin(l, 1, &lk, &s)) != 0)
		return rc;
	elem_desc(from->type, from->index, fw, sizeof(fw));
	elem_desc(to->type, to->index, tw, sizeof(tw));
	src = state_elem(&s, from);
	dst = state_elem(&s, to);
	if (src == NULL || dst == NULL) {
		rc = tv_errf(TV_ERR_INVAL, "library %s has no %s (%u drives, %u slots, %u mail "
		             "slots)", s.name, src == NULL ? fw : tw, s.ndrives, s.nslots, s.nmail);
		goto out;
	}
	if (src[0] == '\0') {
		rc = tv_errf(TV_ERR_NOTFOUND, "%s of library %s is empty", fw, s.name);
		goto out;
	}
	if (src == dst)
		goto out;
	if (dst[0] != '\0') {
		rc = tv_errf(TV_ERR_EXISTS, "%s of library %s is full (%s)", tw, s.name, dst);
		goto out;
	}
	if (from->type == TV_ELEM_DRIVE) {
		if ((rc = vl_image(l->dir, src, path, sizeof(path))) != 0)
			goto out;
		if (tv_vlib_image_in_use(path)) {
			rc = tv_errf(TV_ERR_STATE, "cartridge %s in drive %u of library %s is still "
			             "open (in use by a job?)", src, from->index, s.name);
			goto out;
		}
	}
	memcpy(dst, src, BC_SZ);
	src[0] = '\0';
	if (to->type == TV_ELEM_DRIVE)
		s.drive[to->index].source = from->type == TV_ELEM_SLOT ? from->index : 0;
	if (from->type == TV_ELEM_DRIVE)
		s.drive[from->index].source = 0;
	rc = state_write(l, &s);
out:
	vl_end(lk, &s);
	return rc;
}

const struct vlib_ops tv_vlib_dir_ops = {
	.kind = "directory",
	.status = dir_status,
	.new_tape = dir_new_tape,
	.load = dir_load,
	.unload = dir_unload,
	.move = dir_move,
	.export_tape = dir_export,
	.insert = dir_insert,
	.find = dir_find,
	.barcodes = dir_barcodes,
	.tape_path = dir_tape_path,
	.close = dir_close,
};
