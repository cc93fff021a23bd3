/* tapevault web: the REST API's read routes and the dispatcher.  Rows are
 * built with the fields of the CLI's --json (tape list, backups, files,
 * library list, pool list), from the same queries (catalog/query.h,
 * jobs/browse.h); tapes also carry their key slots as fields ("slots"),
 * which the console's decrypt dialog shows. */
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"
#include "crypto/rand.h"
#include "format/format.h"
#include "jobs/browse.h"
#include "jobs/inspect.h"
#include "util/err.h"
#include "util/wipe.h"
#include "web/web.h"
#include "web/web_int.h"

void tv_api_error(struct tv_api_resp *rs, unsigned status, const char *msg)
{
	if (rs == NULL)   /* checked before: nobody to tell */
		return;
	json_decref(rs->json);
	rs->status = status;
	rs->json = json_pack("{s:s}", "error", msg);
	tv_errclear();
}

unsigned tv_api_status(int err)
{
	switch (err) {
	case TV_ERR_NOTFOUND: return 404;
	case TV_ERR_INVAL: case TV_ERR_RANGE: return 400;
	case TV_ERR_BADKEY: case TV_ERR_LOCKED: case TV_ERR_PARTIAL: case TV_ERR_EXISTS:
	case TV_ERR_STATE: case TV_ERR_FORMAT: case TV_ERR_AUTH: case TV_ERR_SIG: case TV_ERR_CRC:
		return 422;
	case TV_ERR_RETRY: return 429;
	case TV_ERR_PERM: return 403;
	case TV_ERR_NET: case TV_ERR_TLS: case TV_ERR_KMIP: return 502;
	default: return 500;
	}
}

/* The result of a query: {key: arr} with 200, or the error. */
static void list_done(struct tv_api_resp *rs, int r, const char *key, json_t *arr)
{
	if (r != 0) {
		json_decref(arr);
		tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:o}", key, arr);
}

static int library_row(void *ctx, const struct tv_library_row *l)
{
	json_array_append_new(ctx, json_pack("{s:s,s:s}", "name", l->name, "path", l->path));
	return 0;
}

static int pool_row(void *ctx, const struct tv_pool_row *p)
{
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I}", "name", p->name,
	                                     "library", p->library, "encryption", p->encryption,
	                                     "media_set", p->media_set_policy, "compression",
	                                     p->compression, "imported", p->imported, "tapes",
	                                     (json_int_t)p->tapes, "backup_sets",
	                                     (json_int_t)p->backup_sets));
	return 0;
}

static json_t *slot_json(const struct tv_keyslot *s)
{
	switch (s->type) {
	case TV_SLOT_PASSWORD:
		return json_pack("{s:s,s:s,s:s}", "type", "password", "name", s->name, "hint",
		                 s->hint);
	case TV_SLOT_KMS:
		return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "type", "kms", "kms", s->kms_name,
		                 "host", s->kms_host, "port", (json_int_t)s->kms_port, "key_id",
		                 s->key_id, "key_name", s->name);
	default:
		return json_pack("{s:s}", "type", "escrow");
	}
}

/* What unlocks a tape, slot by slot: from its media set label (no key in
 * it: the wrapped keys stay out).  A label that cannot be read leaves the
 * list empty and says why in "slots_error". */
static void slots_json(json_t *row, const struct tv_tape_row *t)
{
	json_t *a = json_array();
	struct tv_media_set_label *ms;
	int r;

	if (t->ms_label == NULL || !t->encrypted || (ms = calloc(1, sizeof(*ms))) == NULL) {
		json_object_set_new(row, "slots", a);
		return;
	}
	if ((r = tv_ms_label_decode(t->ms_label, t->ms_label_len, ms)) == 0) {
		for (size_t i = 0; i < ms->enc.nslots && i < TV_MAX_SLOTS; i++)
			json_array_append_new(a, slot_json(&ms->enc.slots[i]));
	} else {
		json_object_set_new(row, "slots_error", json_string(tv_errmsg(r)));
		tv_errclear();
	}
	tv_wipe(ms, sizeof(*ms));
	free(ms);
	json_object_set_new(row, "slots", a);
}

int tv_web_tape_row(void *ctx, const struct tv_tape_row *t)
{
	char keyd[800], fpr[64], ms[48] = "-", lw[32];
	json_t *row;

	if (tv_inspect_key(t->ms_label, t->ms_label_len, keyd, sizeof(keyd), fpr, sizeof(fpr)))
		tv_errclear();
	if (t->media_set_uuid != NULL) {
		char us[37];
		tv_uuid_to_str(t->media_set_uuid, us);
		snprintf(ms, sizeof(ms), "%.8s:%lld", us, (long long)t->seq);
	}
	row = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:s,s:s,s:s,s:b,s:I,s:s}", "barcode",
	                t->barcode, "state", t->state, "pool", t->pool, "media_set", ms, "seq",
	                (json_int_t)t->seq, "encrypted", t->encrypted, "locked", t->locked,
	                "location", t->library[0] ? t->library : "offline", "key", keyd,
	                "key_fingerprint", fpr, "full", t->full, "bytes_on_tape",
	                (json_int_t)t->used, "library", t->library);
	tv_iso8601(t->written, lw);
	json_object_set_new(row, "used", json_integer(t->used));
	json_object_set_new(row, "capacity", t->capacity ? json_integer(t->capacity) : json_null());
	json_object_set_new(row, "last_written", lw[0] ? json_string(lw) : json_null());
	json_object_set_new(row, "expires", json_null());   /* as the CLI: no retention yet */
	slots_json(row, t);
	json_array_append_new(ctx, row);
	return 0;
}

static int problem_row(void *ctx, const struct tv_problem_row *p)
{
	json_array_append_new(ctx, json_pack("{s:s,s:s}", "path", p->path, "reason", p->reason));
	return 0;
}

struct backups_ctx {
	struct tv_home *h;
	json_t *arr;
};

static int backup_row(void *ctx, const struct tv_backup_row *b)
{
	struct backups_ctx *bc = ctx;
	json_t *row, *probs = json_array();
	char u[37] = "?", cr[32];

	if (b->uuid != NULL)
		tv_uuid_to_str(b->uuid, u);
	tv_iso8601(b->created, cr);
	row = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:o,s:b,s:b,s:I,s:s}", "id", u, "name",
	                b->name, "pool", b->pool, "created", cr, "created_unix",
	                (json_int_t)b->created, "files",
	                (json_int_t)b->files, "bytes", (json_int_t)b->bytes, "state",
	                tv_backup_state(b), "tapes", tv_web_csv_array(b->tapes), "complete",
	                b->complete && strcmp(b->set_state, "complete") == 0, "recovered",
	                b->recovered, "bytes_on_tape", (json_int_t)b->bytes_on_tape, "status",
	                b->set_state);
	json_object_set_new(row, "problems", probs);
	json_array_append_new(bc->arr, row);
	return b->problems > 0 ? tv_query_set_problems(bc->h->db, b->id, problem_row, probs) : 0;
}

static int locked_row(void *ctx, const struct tv_locked_tape_row *t)
{
	struct backups_ctx *bc = ctx;
	char name[64];

	snprintf(name, sizeof(name), "(on locked %s)", t->barcode);
	json_array_append_new(bc->arr, json_pack("{s:n,s:s,s:s,s:s,s:s}", "id", "name", name,
	                                         "pool", t->pool, "state", "tape encrypted",
	                                         "tapes", t->barcode));
	return 0;
}

json_t *tv_web_csv_array(const char *s)
{
	json_t *a = json_array();
	size_t n;

	while (a != NULL && s != NULL && *s) {
		n = strcspn(s, ",");
		json_array_append_new(a, json_stringn(s, n));
		s += n + (s[n] == ',');
	}
	return a;
}

json_t *tv_web_item_json(const struct tv_item *it)
{
	char mt[32];
	json_t *o;

	tv_iso8601(it->mtime_sec, mt);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:s,s:I}", "path", it->path, "type",
	              tv_item_type_name(it->ftype), "mode", (json_int_t)it->mode, "uid",
	              (json_int_t)it->uid, "gid", (json_int_t)it->gid, "owner", it->owner,
	              "group", it->group, "size", (json_int_t)it->size, "mtime", mt,
	              "mtime_unix", (json_int_t)it->mtime_sec);
	if (o != NULL && it->link[0])
		json_object_set_new(o, "link", json_string(it->link));
	return o;
}

struct files_ctx {
	json_t *arr;
	uint64_t items, bytes;
};

static int file_row(void *ctx, const struct tv_item *it)
{
	struct files_ctx *f = ctx;
	json_t *o;
	f->items++;
	if (it->ftype == TV_FT_REG)
		f->bytes += (uint64_t)it->size;
	if ((o = tv_web_item_json(it)) == NULL)
		return TV_ERR_NOMEM;
	json_array_append_new(f->arr, o);
	return 0;
}

/* A non-negative count from a query argument; dflt when absent. */
static int query_count(const char *s, int64_t dflt, int64_t *out)
{
	char *end;
	long long v;

	*out = dflt;
	if (s == NULL)
		return 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || v < 0 || v > 1000000000LL)
		return tv_errf(TV_ERR_INVAL, "limit and offset take a count (0 or more)");
	*out = v;
	return 0;
}

static void api_files(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	struct files_ctx f = {0};
	struct tv_set_ref ref;
	int64_t offset, limit;
	char u[37], cr[32];
	int r;

	if ((r = query_count(rq->q_offset, 0, &offset)) != 0 ||
	    (r = query_count(rq->q_limit, -1, &limit)) != 0) {
		tv_api_error(rs, 400, tv_errmsg(r));
		return;
	}
	if (rq->q_dir != NULL) {   /* one directory's entries: the file picker */
		if ((r = tv_web_files_dir(rq->h, rq->route->param, rq->q_dir, &rs->json)) != 0)
			tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		else
			rs->status = 200;
		return;
	}
	if (rq->q_limit != NULL || rq->q_offset != NULL) {   /* a page, read by key */
		if ((r = tv_web_files_page(rq->h, rq->route->param, offset, limit, &rs->json)) != 0)
			tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		else
			rs->status = 200;
		return;
	}
	f.arr = json_array();
	r = tv_browse_files(rq->h, rq->route->param, NULL, 0, file_row, &f, &ref);
	if (r != 0) {
		json_decref(f.arr);
		tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		return;
	}
	tv_uuid_to_str(ref.uuid, u);
	tv_iso8601(ref.created, cr);
	rs->status = 200;
	rs->json = json_pack("{s:{s:s,s:s,s:s,s:I},s:o,s:I,s:I,s:b}", "backup_set", "id", u,
	                     "name", ref.name, "created", cr, "created_unix",
	                     (json_int_t)ref.created, "files", f.arr, "items", (json_int_t)f.items,
	                     "bytes", (json_int_t)f.bytes, "more", 0);
}

static void api_tapes(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	static const char *const states[] = {"free", "pool", "imported", "unrecognized",
	                                     "retired", "locked"};
	json_t *arr = json_array();
	int ok = rq->q_state == NULL;

	for (size_t i = 0; !ok && i < sizeof(states) / sizeof(states[0]); i++)
		ok = strcmp(rq->q_state, states[i]) == 0;
	if (!ok) {
		json_decref(arr);
		tv_api_error(rs, 400, "state is one of free, pool, imported, unrecognized, retired, "
		             "locked");
		return;
	}
	list_done(rs, tv_query_tapes(rq->h->db, rq->q_pool, rq->q_state, tv_web_tape_row, arr),
	          "tapes", arr);
}

static void api_backups(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	struct backups_ctx bc = {rq->h, json_array()};
	int r = tv_query_backup_sets(bc.h->db, backup_row, &bc);

	if (r == 0)
		r = tv_query_locked_tapes(bc.h->db, locked_row, &bc);
	list_done(rs, r, "backups", bc.arr);
}

static void api_login(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	json_t *u = json_object_get(rq->body, "user"), *p = json_object_get(rq->body, "password");
	char token[2 * TV_TOKEN_LEN + 1];
	enum tv_role role = TV_ROLE_NONE;
	int r;

	if (!json_is_string(u) || !json_is_string(p) || json_string_length(p) == 0 ||
	    json_string_length(u) > TV_WEB_USER_MAX) {
		tv_api_error(rs, 400, "give {\"user\": NAME, \"password\": PASSWORD}");
		return;
	}
	r = tv_auth_login(rq->w, json_string_value(u), json_string_value(p), json_string_length(p),
	                  rq->client, token, &role);
	if (r != 0) {
		tv_api_error(rs, r == TV_ERR_RETRY ? 429 : 401, tv_errmsg(r));
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:s,s:s,s:s,s:I}", "token", token, "user", json_string_value(u),
	                     "role", tv_role_name(role), "expires_in",
	                     (json_int_t)rq->w->token_ttl);
	tv_wipe(token, sizeof(token));
}

static int read_only(enum tv_route_id id)
{
	return id == TV_R_LIBRARIES || id == TV_R_POOLS || id == TV_R_TAPES ||
	       id == TV_R_BACKUPS || id == TV_R_BACKUP_FILES || id == TV_R_JOBS || id == TV_R_AUDIT;
}

/* The state directory, locked: a free reader for read-only work (else
 * the next one, waited for), the main one (with its mutex) for jobs. */
pthread_mutex_t *tv_web_lock_home(struct tv_web *w, int ro, struct tv_home **h)
{
	unsigned i;

	*h = w->h;
	if (!ro || w->readers[0] == NULL) {
		pthread_mutex_lock(&w->db_mu);
		return &w->db_mu;
	}
	for (i = 0; i < TV_WEB_READERS && w->readers[i] != NULL; i++)
		if (pthread_mutex_trylock(&w->reader_mu[i]) == 0)
			goto got;
	do
		i = __atomic_fetch_add(&w->next_reader, 1, __ATOMIC_RELAXED) % TV_WEB_READERS;
	while (w->readers[i] == NULL);
	pthread_mutex_lock(&w->reader_mu[i]);
got:
	*h = w->readers[i];
	return &w->reader_mu[i];
}

/* Handlers that read or change the state directory run under its mutex. */
static void locked_call(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	pthread_mutex_t *mu = tv_web_lock_home(rq->w, read_only(rq->route->id), &rq->h);
	json_t *arr;

	tv_errclear();
	switch (rq->route->id) {
	case TV_R_LIBRARIES:
		arr = json_array();
		list_done(rs, tv_query_libraries(rq->h->db, library_row, arr), "libraries", arr);
		break;
	case TV_R_POOLS:
		arr = json_array();
		list_done(rs, tv_query_pools(rq->h->db, NULL, pool_row, arr), "pools", arr);
		break;
	case TV_R_TAPES: api_tapes(rq, rs); break;
	case TV_R_BACKUPS: api_backups(rq, rs); break;
	case TV_R_BACKUP_FILES: api_files(rq, rs); break;
	case TV_R_TAPE_DECRYPT: tv_api_decrypt(rq, rs); break;
	case TV_R_JOBS: tv_api_jobs(rq, rs); break;
	case TV_R_AUDIT: tv_api_audit(rq, rs); break;
	case TV_R_USERS: case TV_R_USER_ADD: case TV_R_USER_SET: case TV_R_USER_DELETE:
		tv_api_users(rq, rs);
		break;
	case TV_R_ESCROW_REQUEST: case TV_R_ESCROW_RESPONSE: tv_api_escrow(rq, rs); break;
	default: tv_api_error(rs, 404, "no such API route"); break;
	}
	pthread_mutex_unlock(mu);
}

void tv_api_dispatch(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	switch (rq->route->id) {
	case TV_R_LOGIN:
		api_login(rq, rs);
		return;
	case TV_R_LOGOUT:
		rs->status = 200;
		rs->json = json_pack("{s:b}", "logged_out", 1);
		return;
	case TV_R_ME:
		rs->status = 200;
		rs->json = json_pack("{s:s,s:s}", "user", rq->who->user, "role",
		                     tv_role_name(rq->who->role));
		return;
	case TV_R_FIND: case TV_R_CATALOG: case TV_R_INVENTORY: case TV_R_VERIFY:
	case TV_R_EXPIRE: case TV_R_BACKUP_RESTORE:
		tv_api_job_start(rq, rs);   /* 202: the job runs on its own thread */
		return;
	case TV_R_JOB:
		tv_api_job_get(rq, rs);     /* from memory: no state directory */
		return;
	default:
		locked_call(rq, rs);
	}
}
