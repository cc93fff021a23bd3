/* tapevault web: one page of a backup set's items (GET
 * /api/v1/backups/{set}/files?limit=N&offset=K), read with LIMIT/OFFSET on
 * the files table's key, so a page costs its own rows and not the ones
 * before it (jobs/browse.c lists a whole set, for the CLI and for
 * requests without a limit).  The rows have the fields of files --json. */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "format/format.h"
#include "jobs/browse.h"
#include "jobs/jobs.h"
#include "util/err.h"
#include "web/web_int.h"

static const char q_page[] =
	"SELECT path, ftype, mode, uid, gid, mtime_sec, size, COALESCE(link,'') FROM files "
	"WHERE set_id=?1 ORDER BY idx LIMIT ?2 OFFSET ?3";
static const char q_totals[] =
	"SELECT COUNT(*), COALESCE(SUM(CASE WHEN ftype=1 THEN size ELSE 0 END),0) FROM files "
	"WHERE set_id=?1";

struct names {
	struct tv_stmt *q;
	struct { int kind; int64_t id; char name[64]; } c[16];
	unsigned n, next;
};

/* An owner's (kind 0) or group's (1) name as stored with the set; "" when none. */
static const char *name_of(struct tv_home *h, struct names *nm, int64_t set_id, int kind,
                           int64_t id)
{
	unsigned i;

	for (i = 0; i < nm->n; i++)
		if (nm->c[i].kind == kind && nm->c[i].id == id)
			return nm->c[i].name;
	if (nm->q == NULL && tv_db_prepare(h->db, &nm->q, "SELECT name FROM set_names WHERE "
	                                   "set_id=? AND kind=? AND id=?") != 0)
		return "";
	i = nm->n < 16 ? nm->n++ : nm->next++ % 16;
	nm->c[i].kind = kind;
	nm->c[i].id = id;
	nm->c[i].name[0] = '\0';
	if (tv_stmt_bind(nm->q, "iii", set_id, (int64_t)kind, id) == 0 && tv_stmt_step(nm->q) == 1)
		snprintf(nm->c[i].name, sizeof(nm->c[i].name), "%s", tv_stmt_text(nm->q, 0));
	return nm->c[i].name;
}

static const char *type_name(int ftype)
{
	static const char *const names[] = {"?", "file", "directory", "symlink", "hardlink",
	                                    "fifo", "char", "block"};

	return ftype >= 1 && ftype <= TV_FT_LAST ? names[ftype] : names[0];
}

static json_t *row_json(struct tv_home *h, struct names *nm, int64_t set_id, struct tv_stmt *q)
{
	char mt[32];
	int64_t uid = tv_stmt_int(q, 3), gid = tv_stmt_int(q, 4);
	const char *link = tv_stmt_text(q, 7);
	json_t *o;

	tv_iso8601(tv_stmt_int(q, 5), mt);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:s,s:I}", "path", tv_stmt_text(q, 0),
	              "type", type_name((int)tv_stmt_int(q, 1)), "mode", (json_int_t)tv_stmt_int(q, 2),
	              "uid", (json_int_t)uid, "gid", (json_int_t)gid, "owner",
	              name_of(h, nm, set_id, 0, uid), "group", name_of(h, nm, set_id, 1, gid),
	              "size", (json_int_t)tv_stmt_int(q, 6), "mtime", mt, "mtime_unix",
	              (json_int_t)tv_stmt_int(q, 5));
	if (link[0])
		json_object_set_new(o, "link", json_string(link));
	return o;
}

int tv_web_files_page(struct tv_home *h, const char *set, int64_t offset, int64_t limit,
                      json_t **out)
{
	struct tv_set_ref ref;
	struct names nm = {0};
	struct tv_stmt *q = NULL;
	json_t *arr = json_array();
	int64_t set_id, items = 0, bytes = 0;
	uint8_t uuid[16];
	char u[37], cr[32];
	int r;

	*out = NULL;
	if ((r = tv_set_lookup(h, set, &set_id, uuid)) != 0 || (r = tv_set_ref_get(h, set, &ref)) != 0)
		goto out;
	if ((r = tv_db_query(h->db, &q, q_totals, "i", set_id)) != 0 || (r = tv_stmt_step(q)) < 0)
		goto out;
	items = tv_stmt_int(q, 0);
	bytes = tv_stmt_int(q, 1);
	tv_stmt_free(q);
	q = NULL;
	if ((r = tv_db_query(h->db, &q, q_page, "iii", set_id, limit, offset)) != 0)
		goto out;
	while ((r = tv_stmt_step(q)) == 1)
		json_array_append_new(arr, row_json(h, &nm, set_id, q));
	if (r < 0)
		goto out;
	tv_uuid_to_str(ref.uuid, u);
	tv_iso8601(ref.created, cr);
	*out = json_pack("{s:{s:s,s:s,s:s,s:I},s:O,s:I,s:I,s:b}", "backup_set", "id", u, "name",
	                 ref.name, "created", cr, "created_unix", (json_int_t)ref.created, "files",
	                 arr, "items", (json_int_t)items, "bytes", (json_int_t)bytes, "more",
	                 limit >= 0 && offset + limit < items);
	r = *out ? 0 : tv_errf(TV_ERR_NOMEM, "out of memory listing files");
out:
	tv_stmt_free(q);
	tv_stmt_free(nm.q);
	json_decref(arr);
	return r;
}

/* The entries right under DIR (a stored path; "" the top) of a set, for
 * the console's file picker: each name once, with its own type when the
 * set holds it (else "directory": a parent the set only passes through),
 * and whether anything is under it.  The range of paths under DIR/ is read
 * by the path index. */
static const char q_dir[] =
	"SELECT CASE WHEN instr(rest,'/')>0 THEN substr(rest,1,instr(rest,'/')-1) ELSE rest END "
	"AS name, MAX(CASE WHEN instr(rest,'/')=0 THEN ftype END), "
	"MAX(CASE WHEN instr(rest,'/')=0 THEN size END), MAX(instr(rest,'/')>0) "
	"FROM (SELECT substr(path, ?2) AS rest, ftype, size FROM files "
	"      WHERE set_id=?1 AND path>=?3 AND path<?4) "
	"WHERE rest<>'' GROUP BY name ORDER BY name LIMIT ?5";

#define DIR_MAX 2000   /* entries a listing answers ("more" beyond) */

int tv_web_files_dir(struct tv_home *h, const char *set, const char *dir, json_t **out)
{
	struct tv_stmt *q = NULL;
	json_t *arr = json_array();
	int64_t set_id, n = 0;
	uint8_t uuid[16];
	char lo[TV_ROUTE_PARAM_MAX * 4 + 2], hi[sizeof(lo)], path[sizeof(lo) + 256];
	size_t dl;
	int r;

	*out = NULL;
	while (*dir == '/')
		dir++;
	dl = strlen(dir);
	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	if (dl + 2 > sizeof(lo)) {
		r = tv_errf(TV_ERR_INVAL, "dir: too long");
		goto out;
	}
	if (dl == 0) {   /* the top: every path */
		snprintf(lo, sizeof(lo), "%s", "");
		snprintf(hi, sizeof(hi), "%s", "\xff");
	} else {
		snprintf(lo, sizeof(lo), "%.*s/", (int)dl, dir);
		snprintf(hi, sizeof(hi), "%.*s0", (int)dl, dir);   /* '0' follows '/' */
	}
	if ((r = tv_set_lookup(h, set, &set_id, uuid)) != 0)
		goto out;
	if ((r = tv_db_query(h->db, &q, q_dir, "iitti", set_id,
	                     (int64_t)(dl ? dl + 2 : 1), lo, hi, (int64_t)DIR_MAX + 1)) != 0)
		goto out;
	while ((r = tv_stmt_step(q)) == 1 && n++ < DIR_MAX) {
		const char *name = tv_stmt_text(q, 0);
		int own = !tv_stmt_isnull(q, 1);
		snprintf(path, sizeof(path), "%.*s%s%s", (int)dl, dir, dl ? "/" : "", name);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:b}", "name", name, "path",
		                                     path, "type", own ? type_name((int)tv_stmt_int(q, 1))
		                                                       : "directory",
		                                     "size", own ? json_integer(tv_stmt_int(q, 2))
		                                                 : json_null(),
		                                     "children", (int)tv_stmt_int(q, 3)));
	}
	if (r < 0)
		goto out;
	*out = json_pack("{s:s#,s:O,s:b}", "dir", dir, (int)dl, "entries", arr, "more",
	                 n > DIR_MAX);
	r = *out ? 0 : tv_errf(TV_ERR_NOMEM, "out of memory listing a directory");
out:
	tv_stmt_free(q);
	json_decref(arr);
	return r;
}
