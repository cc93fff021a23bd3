/* tapevault: the emulated library's medium changer, and what its devices
 * share (see scsiemu.h). */
#include "library/scsiemu.h"

#include "library/vlib_int.h"
#include "scsi/cdb.h"
#include "scsi/data.h"
#include "scsi/scsi.h"
#include "tape/tfile.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define MEM_FILE "emulator-drives.json"
#define MEM_LOCK "emulator-drives.lock"
#define MEM_MAX ((size_t)1 << 20)

/* ---- hooks ---- */

static const struct tv_scsiemu_hooks *hooks;

void tv_scsiemu_set_hooks(const struct tv_scsiemu_hooks *h)
{
	hooks = h;
}

const struct tv_scsiemu_hooks *tv_scsiemu_hooks(void)
{
	return hooks;
}

/* ---- replies ---- */

int tv_scsiemu_check(uint8_t *sense, size_t *sense_len, uint8_t key, uint8_t asc,
                     uint8_t ascq)
{
	*sense_len = tv_sense_build_fixed(sense, key, asc, ascq, 0, 0, 0, 0, 0);
	return TV_SCSI_CHECK_CONDITION;
}

void tv_scsiemu_reply(const void *data, size_t n, void *buf, size_t len, size_t *resid)
{
	size_t k = n < len ? n : len;

	if (k > 0)
		memcpy(buf, data, k);
	*resid = len - k;
}

/* ---- the drives' memory ---- */

static int mem_lock(const char *dir, int excl, int *fd)
{
	char path[PATH_MAX];
	int rc;

	*fd = -1;
	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, MEM_LOCK)) != 0)
		return rc;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return tv_errf(TV_ERR_IO, "emulated library %s: cannot open %s: %s", dir, path,
		               strerror(errno));
	while (flock(*fd, excl ? LOCK_EX : LOCK_SH) != 0)
		if (errno != EINTR) {
			rc = tv_errf(TV_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
			close(*fd);
			*fd = -1;
			return rc;
		}
	return 0;
}

static int hex_get(json_t *o, const char *key, uint8_t *out, size_t cap, size_t *n)
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t len;

	*n = 0;
	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len % 2 != 0 || len / 2 > cap)
		return TV_ERR_FORMAT;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return TV_ERR_FORMAT;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	j = json_string(s);
	tv_freezero(s, 2 * n + 1);
	return j;
}

/* The whole file (an array, one object per drive), or an empty array. */
static int mem_load(const char *dir, json_t **out)
{
	char path[PATH_MAX];
	json_error_t jerr;
	char *data = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, MEM_FILE)) != 0)
		return rc;
	rc = tv_tfile_read_small(path, MEM_MAX, &data, &len);
	if (rc == TV_ERR_NOTFOUND) {
		*out = json_array();
		return *out != NULL ? 0 : tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	if (rc != 0)
		return rc;
	*out = json_loadb(data, len, 0, &jerr);
	tv_freezero(data, len);
	if (*out == NULL || !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return tv_errf(TV_ERR_FORMAT, "%s: not the emulated drives' state (line %d: %s)",
		               path, jerr.line, jerr.text);
	}
	return 0;
}

static int mem_from_json(json_t *o, struct tv_scsiemu_drive_mem *m)
{
	size_t n;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(o))
		return 0;
	m->threaded = json_is_true(json_object_get(o, "threaded"));
	m->ckod = json_is_true(json_object_get(o, "ckod"));
	m->encrypt_mode = (uint8_t)json_integer_value(json_object_get(o, "encrypt_mode"));
	m->decrypt_mode = (uint8_t)json_integer_value(json_object_get(o, "decrypt_mode"));
	m->key_instance = (uint32_t)json_integer_value(json_object_get(o, "key_instance"));
	if (hex_get(o, "key", m->key, sizeof(m->key), &n) != 0 ||
	    (n != 0 && n != sizeof(m->key)) ||
	    hex_get(o, "kad", m->kad, sizeof(m->kad), &m->kad_len) != 0)
		return TV_ERR_FORMAT;
	m->key_set = n == sizeof(m->key);
	return 0;
}

static json_t *mem_to_json(const struct tv_scsiemu_drive_mem *m)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "threaded", json_boolean(m->threaded));
	json_object_set_new(o, "ckod", json_boolean(m->ckod));
	json_object_set_new(o, "encrypt_mode", json_integer(m->encrypt_mode));
	json_object_set_new(o, "decrypt_mode", json_integer(m->decrypt_mode));
	json_object_set_new(o, "key_instance", json_integer(m->key_instance));
	if (m->key_set)
		json_object_set_new(o, "key", hex_json(m->key, sizeof(m->key)));
	if (m->kad_len > 0)
		json_object_set_new(o, "kad", hex_json(m->kad, m->kad_len));
	return o;
}

int tv_scsiemu_mem_get(const char *dir, unsigned drive, struct tv_scsiemu_drive_mem *m)
{
	json_t *a = NULL;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	if ((rc = mem_lock(dir, 0, &fd)) != 0)
		return rc;
	if ((rc = mem_load(dir, &a)) == 0 && mem_from_json(json_array_get(a, drive), m) != 0)
		rc = tv_errf(TV_ERR_FORMAT, "%s/%s: drive %u: malformed", dir, MEM_FILE, drive);
	json_decref(a);
	close(fd);
	return rc;
}

int tv_scsiemu_mem_put(const char *dir, unsigned drive, const struct tv_scsiemu_drive_mem *m)
{
	char path[PATH_MAX];
	json_t *a = NULL;
	char *text = NULL;
	int fd, rc;

	if ((rc = mem_lock(dir, 1, &fd)) != 0)
		return rc;
	if ((rc = mem_load(dir, &a)) != 0)
		goto out;
	while (json_array_size(a) <= drive)
		json_array_append_new(a, json_null());
	json_array_set_new(a, drive, mem_to_json(m));
	if ((text = json_dumps(a, JSON_INDENT(1))) == NULL) {
		rc = tv_errf(TV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = tv_tfile_path(path, sizeof(path), "%s/%s", dir, MEM_FILE)) == 0)
		rc = tv_tfile_write_atomic(path, text, strlen(text), 0600);
out:
	if (text != NULL)
		tv_freezero(text, strlen(text));
	json_decref(a);
	close(fd);
	return rc;
}

/* ---- creating ---- */

int tv_scsiemu_create(const char *dir, const char *name, unsigned slots, unsigned drives,
                      unsigned mailslots)
{
	struct tv_scsiemu_drive_mem m;
	int rc;

	if (slots > 0x0FFF || mailslots > 0xF0 || drives > 0x300)
		return tv_errf(TV_ERR_INVAL, "an emulated library has at most 4095 slots, 240 "
		               "mail slots and 768 drives");
	if ((rc = tv_vlib_dir_create(dir, TV_SCSIEMU_STATE, TV_SCSIEMU_LOCK, name, slots, drives,
	                             mailslots, NULL)) != 0)
		return rc;
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < drives && rc == 0; i++)
		rc = tv_scsiemu_mem_put(dir, i, &m);
	return rc;
}

/* ---- the medium changer ---- */

struct emu_changer {
	struct tv_scsi_transport base;
	char *dir;
};

struct emu_elems {
	struct tv_vlib_info info;
	struct tv_vlib_elem *e;
	size_t n;
};

static int elems_get(const char *dir, struct emu_elems *x)
{
	struct tv_vlib *l = NULL;
	int rc;

	memset(x, 0, sizeof(*x));
	if ((rc = tv_vlib_dir_open(dir, TV_SCSIEMU_STATE, TV_SCSIEMU_LOCK, &l)) != 0)
		return rc;
	rc = l->ops->status(l, &x->info, &x->e, &x->n);
	l->ops->close(l);
	return rc;
}

static uint16_t elem_addr(const struct tv_vlib_elem *e)
{
	switch (e->type) {
	case TV_ELEM_DRIVE: return (uint16_t)(TV_SCSIEMU_A_DRIVE + e->index);
	case TV_ELEM_SLOT: return (uint16_t)(TV_SCSIEMU_A_SLOT + e->index - 1);
	case TV_ELEM_MAILSLOT: return (uint16_t)(TV_SCSIEMU_A_MAIL + e->index - 1);
	}
	return 0;
}

/* An element address to (type, index); 0 for the transport; -1 for none. */
static int addr_loc(const struct tv_vlib_info *info, uint16_t a, struct tv_vlib_loc *loc)
{
	if (a == TV_SCSIEMU_A_TRANSPORT)
		return 0;
	if (a >= TV_SCSIEMU_A_MAIL && a < TV_SCSIEMU_A_MAIL + info->mailslots) {
		loc->type = TV_ELEM_MAILSLOT;
		loc->index = (unsigned)(a - TV_SCSIEMU_A_MAIL) + 1;
		return 1;
	}
	if (a >= TV_SCSIEMU_A_DRIVE && a < TV_SCSIEMU_A_DRIVE + info->drives) {
		loc->type = TV_ELEM_DRIVE;
		loc->index = (unsigned)(a - TV_SCSIEMU_A_DRIVE);
		return 1;
	}
	if (a >= TV_SCSIEMU_A_SLOT && a < TV_SCSIEMU_A_SLOT + info->slots) {
		loc->type = TV_ELEM_SLOT;
		loc->index = (unsigned)(a - TV_SCSIEMU_A_SLOT) + 1;
		return 1;
	}
	return -1;
}

static void to_element(const struct tv_vlib_elem *v, struct tv_element *e)
{
	memset(e, 0, sizeof(*e));
	e->addr = elem_addr(v);
	e->type = v->type == TV_ELEM_DRIVE ? TV_ELEM_DATA_TRANSFER :
	          v->type == TV_ELEM_SLOT ? TV_ELEM_STORAGE : TV_ELEM_IMPORT_EXPORT;
	e->full = v->full;
	e->access = 1;
	e->impexp = v->type == TV_ELEM_MAILSLOT && v->full;   /* put there by the operator */
	if (v->full)
		e->medium_type = 1;                                 /* data medium */
	if (v->type == TV_ELEM_DRIVE && v->full && v->source_slot != 0) {
		e->svalid = 1;
		e->source = (uint16_t)(TV_SCSIEMU_A_SLOT + v->source_slot - 1);
	}
	if (v->full && hooks != NULL && hooks->label_unreadable != NULL &&
	    hooks->label_unreadable(v->barcode)) {
		e->except = 1;
		e->asc = 0x83;
		e->ascq = 0x09;
		return;                                             /* no volume tag */
	}
	snprintf(e->voltag, sizeof(e->voltag), "%s", v->barcode);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct tv_element *x = a, *y = b;

	return (int)x->addr - (int)y->addr;
}

static int read_element_status(struct emu_changer *c, const uint8_t *cdb, size_t n,
                               void *buf, size_t len, size_t *resid, uint8_t *sense,
                               size_t *slen)
{
	struct tv_cdb_res q;
	struct emu_elems x;
	struct tv_element *el = NULL;
	struct tv_buf b;
	size_t k = 0;
	int rc;

	if (tv_cdb_get_res(cdb, n, &q) != 0 || q.type > TV_ELEM_DATA_TRANSFER)
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x24, 0x00);
	if ((rc = elems_get(c->dir, &x)) != 0)
		return rc;
	if ((el = calloc(x.n + 1, sizeof(*el))) == NULL) {
		free(x.e);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	/* the transport, then every element, in address order */
	el[k].type = TV_ELEM_TRANSPORT;
	el[k++].addr = TV_SCSIEMU_A_TRANSPORT;
	for (size_t i = 0; i < x.n; i++)
		to_element(&x.e[i], &el[k++]);
	free(x.e);
	qsort(el, k, sizeof(*el), cmp_addr);
	{
		size_t j = 0;
		for (size_t i = 0; i < k; i++)
			if ((q.type == TV_ELEM_ALL || el[i].type == q.type) && el[i].addr >= q.start &&
			    j < q.count)
				el[j++] = el[i];
		k = j;
	}
	tv_buf_init(&b);
	if ((rc = tv_scsi_build_element_status(&b, el, k, q.voltag)) == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf,
		                 len < q.alloc ? len : q.alloc, resid);
	if (rc == 0 && len > q.alloc)
		*resid += len - q.alloc;
	tv_buf_free(&b);
	free(el);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

static int mode_sense(struct emu_changer *c, const uint8_t *cdb, size_t n, void *buf,
                      size_t len, size_t *resid, uint8_t *sense, size_t *slen)
{
	struct tv_element_map em;
	struct tv_mode6 m;
	struct emu_elems x;
	struct tv_buf b, page;
	uint32_t alloc;
	int rc;

	if (tv_cdb_get_alloc(cdb, n, &alloc) != 0 ||
	    ((cdb[2] & 0x3F) != TV_MODE_PAGE_ELEMENT_ADDRESS && (cdb[2] & 0x3F) != 0x3F) ||
	    (cdb[2] & 0xC0) == 0xC0)
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x24, 0x00);
	if ((rc = elems_get(c->dir, &x)) != 0)
		return rc;
	free(x.e);
	memset(&em, 0, sizeof(em));
	em.transport_first = TV_SCSIEMU_A_TRANSPORT;
	em.transport_n = 1;
	em.storage_first = TV_SCSIEMU_A_SLOT;
	em.storage_n = (uint16_t)x.info.slots;
	em.ie_first = TV_SCSIEMU_A_MAIL;
	em.ie_n = (uint16_t)x.info.mailslots;
	em.drive_first = TV_SCSIEMU_A_DRIVE;
	em.drive_n = (uint16_t)x.info.drives;
	memset(&m, 0, sizeof(m));
	tv_buf_init(&b);
	tv_buf_init(&page);
	if ((rc = tv_scsi_build_element_map(&page, &em)) == 0 &&
	    (rc = tv_scsi_build_mode6(&b, &m, tv_buf_ptr(&page), tv_buf_avail(&page), 0)) == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf, len < alloc ? len : alloc,
		                 resid);
	if (rc == 0 && len > alloc)
		*resid += len - alloc;
	tv_buf_free(&b);
	tv_buf_free(&page);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

static int inquiry(const uint8_t *cdb, size_t n, void *buf, size_t len, size_t *resid,
                   uint8_t *sense, size_t *slen, uint8_t type, const char *product,
                   const char *serial)
{
	struct tv_scsi_inquiry q;
	struct tv_buf b;
	uint32_t alloc;
	int rc;

	if (tv_cdb_get_alloc(cdb, n, &alloc) != 0)
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x24, 0x00);
	tv_buf_init(&b);
	if (cdb[1] & 0x01) {
		if (cdb[2] != 0x80) {
			tv_buf_free(&b);
			return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x24, 0x00);
		}
		rc = tv_scsi_build_serial(&b, serial);
		if (rc == 0 && tv_buf_avail(&b) > 0)
			tv_buf_poke(&b, 0, &type, 1);
	} else {
		memset(&q, 0, sizeof(q));
		q.type = type;
		q.removable = 1;
		q.version = 0x06;      /* SPC-4 */
		snprintf(q.vendor, sizeof(q.vendor), "TAPEVALT");
		snprintf(q.product, sizeof(q.product), "%s", product);
		snprintf(q.revision, sizeof(q.revision), "0001");
		rc = tv_scsi_build_inquiry(&b, &q);
	}
	if (rc == 0)
		tv_scsiemu_reply(tv_buf_ptr(&b), tv_buf_avail(&b), buf, len < alloc ? len : alloc,
		                 resid);
	if (rc == 0 && len > alloc)
		*resid += len - alloc;
	tv_buf_free(&b);
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

int tv_scsiemu_inquiry(const uint8_t *cdb, size_t n, void *buf, size_t len, size_t *resid,
                       uint8_t *sense, size_t *slen, uint8_t type, const char *product,
                       const char *serial)
{
	return inquiry(cdb, n, buf, len, resid, sense, slen, type, product, serial);
}

/* MOVE MEDIUM: the checks a changer makes, then the move in the state. */
static int move_medium(struct emu_changer *c, const uint8_t *cdb, size_t n, uint8_t *sense,
                       size_t *slen)
{
	struct tv_cdb_move mv;
	struct tv_vlib_loc from, to;
	struct tv_scsiemu_drive_mem mem;
	struct tv_vlib *l = NULL;
	struct emu_elems x;
	const struct tv_vlib_elem *src = NULL, *dst = NULL;
	int rc, fs, ts;

	if (tv_cdb_get_move(cdb, n, &mv) != 0 || mv.invert)
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x24, 0x00);
	if ((rc = elems_get(c->dir, &x)) != 0)
		return rc;
	fs = addr_loc(&x.info, mv.src, &from);
	ts = addr_loc(&x.info, mv.dst, &to);
	if ((mv.transport != 0 && mv.transport != TV_SCSIEMU_A_TRANSPORT) || fs <= 0 || ts <= 0) {
		free(x.e);
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x21, 0x01);
	}
	for (size_t i = 0; i < x.n; i++) {
		if (x.e[i].type == from.type && x.e[i].index == from.index)
			src = &x.e[i];
		if (x.e[i].type == to.type && x.e[i].index == to.index)
			dst = &x.e[i];
	}
	rc = TV_SCSI_GOOD;
	if (src == NULL || !src->full)
		rc = tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x3B, 0x0E);
	else if (src != dst && (dst == NULL || dst->full))
		rc = tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x3B, 0x0D);
	free(x.e);
	if (rc != TV_SCSI_GOOD || (from.type == to.type && from.index == to.index))
		return rc;
	if (from.type == TV_ELEM_DRIVE) {
		/* the drive must have ejected it */
		if ((rc = tv_scsiemu_mem_get(c->dir, from.index, &mem)) != 0)
			return rc;
		if (mem.threaded)
			return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x53, 0x02);
	}
	if ((rc = tv_vlib_dir_open(c->dir, TV_SCSIEMU_STATE, TV_SCSIEMU_LOCK, &l)) != 0)
		return rc;
	rc = l->ops->move(l, &from, &to);
	l->ops->close(l);
	if (rc == TV_ERR_STATE)                 /* a process holds it open */
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x53, 0x02);
	if (rc == TV_ERR_EXISTS)
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x3B, 0x0D);
	if (rc == TV_ERR_NOTFOUND)
		return tv_scsiemu_check(sense, slen, TV_SK_ILLEGAL_REQUEST, 0x3B, 0x0E);
	if (rc != 0)
		return rc;
	if (to.type == TV_ELEM_DRIVE) {
		/* an LTO drive threads what the robot puts in */
		if ((rc = tv_scsiemu_mem_get(c->dir, to.index, &mem)) == 0) {
			mem.threaded = 1;
			rc = tv_scsiemu_mem_put(c->dir, to.index, &mem);
		}
		tv_wipe(&mem, sizeof(mem));
	}
	return rc == 0 ? TV_SCSI_GOOD : rc;
}

static int changer_exec(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
                        enum tv_scsi_dir dir, void *buf, size_t len, size_t *resid,
                        uint8_t *sense, size_t *sense_len, unsigned timeout_ms)
{
	struct emu_changer *c = (struct emu_changer *)tr;
	uint8_t f[3];

	(void)timeout_ms;
	*resid = len;
	*sense_len = 0;
	if (cdb_len == 0 || cdb_len != tv_cdb_len(cdb[0]))
		return tv_scsiemu_check(sense, sense_len, TV_SK_ILLEGAL_REQUEST, 0x20, 0x00);
	if (hooks != NULL && hooks->command != NULL && hooks->command(-1, cdb, cdb_len, f))
		return tv_scsiemu_check(sense, sense_len, f[0], f[1], f[2]);
	switch (cdb[0]) {
	case TV_OP_TEST_UNIT_READY:
	case TV_OP_INIT_ELEMENT_STATUS:
		return TV_SCSI_GOOD;
	case TV_OP_INQUIRY:
		return inquiry(cdb, cdb_len, buf, len, resid, sense, sense_len,
		               TV_SCSI_TYPE_CHANGER, "EMULATED LIB", "EMULIB0001");
	case TV_OP_MODE_SENSE6:
		return mode_sense(c, cdb, cdb_len, buf, len, resid, sense, sense_len);
	case TV_OP_READ_ELEMENT_STATUS:
		if (dir != TV_SCSI_FROM_DEV)
			break;
		return read_element_status(c, cdb, cdb_len, buf, len, resid, sense, sense_len);
	case TV_OP_MOVE_MEDIUM:
		return move_medium(c, cdb, cdb_len, sense, sense_len);
	default:
		break;
	}
	return tv_scsiemu_check(sense, sense_len, TV_SK_ILLEGAL_REQUEST, 0x20, 0x00);
}

static void changer_close(struct tv_scsi_transport *tr)
{
	struct emu_changer *c = (struct emu_changer *)tr;

	free(c->dir);
	free(c);
}

static const struct tv_scsi_transport_ops changer_ops = { changer_exec, changer_close };

int tv_scsiemu_changer_open(const char *dir, struct tv_scsi_transport **out)
{
	struct emu_changer *c;
	struct emu_elems x;
	int rc;

	*out = NULL;
	if ((rc = elems_get(dir, &x)) != 0)       /* is there one? */
		return tv_errctx(rc, "emulated library in %s", dir);
	free(x.e);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->dir = strdup(dir)) == NULL) {
		free(c);
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	}
	c->base.ops = &changer_ops;
	snprintf(c->base.name, sizeof(c->base.name), "emulated changer");
	*out = &c->base;
	return 0;
}
