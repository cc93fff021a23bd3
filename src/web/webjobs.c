/* tapevault web: jobs run in the background from the API.
 *
 * POST /find, /catalog, /inventory, /verify, /expire and
 * /backups/{set}/restore check their body, then start the job on a thread
 * of its own and answer 202 with the job's id at once.  The thread waits
 * for the state directory (db_mu: one job at a time; find reads through a
 * reader connection), runs the same job functions the CLI runs
 * (jobs/jobs.h, jobs/browse.h, jobs/retention.h), with its row in the job
 * history and its line in the audit log around it.
 *
 * GET /jobs/{id} answers from memory (never waits for the state
 * directory): state, progress (bytes done and total, rate, the tape or
 * file being worked on), the problems the job warned about, then its
 * result or error.  The job reports progress through the home's watcher
 * hooks (jobs/home.h: progress_fn, warn_fn); the last TV_WEBJOBS_MAX jobs
 * are kept while the server runs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/query.h"
#include "jobs/browse.h"
#include "jobs/history.h"
#include "jobs/jobs.h"
#include "jobs/retention.h"
#include "util/err.h"
#include "util/stop.h"
#include "web/web.h"
#include "web/web_int.h"

#define PROBLEMS_MAX 200            /* problems kept per job (the rest counted) */
#define FIND_MAX 10000              /* versions a find answers (more: "truncated") */
#define BARCODES_MAX 256

void (*tv_web_progress_test_hook)(void);

enum job_state { JS_QUEUED = 0, JS_RUNNING, JS_DONE };

struct tv_webjob;
typedef int job_fn(struct tv_webjob *j, struct tv_home *h);

struct tv_webjob {
	struct tv_web *w;
	int64_t id;
	const char *kind;               /* static */
	job_fn *run;
	int read_only;                  /* find: on a reader connection, no history row */
	char user[TV_WEB_USER_MAX + 1], client[64];
	char param[TV_ROUTE_PARAM_MAX]; /* restore: the set */
	char operands[512];             /* for the history and the audit log */
	json_t *args;                   /* a copy of the request body (holds no secret) */
	char **paths;                   /* restore: into args */
	/* under w->jobs_mu from here */
	enum job_state state;
	int rc;
	char error[512];
	int64_t created, started, ended;   /* unix milliseconds; 0: not yet */
	int64_t history_id;
	char phase[32], current[256];
	uint64_t done, total, items_done, items_total;
	json_t *result;                 /* the job's own; given out when done */
	json_t *problems;
	uint64_t nproblems;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct tv_webjob *j)
{
	if (j == NULL)
		return;
	json_decref(j->args);
	json_decref(j->result);
	json_decref(j->problems);
	free(j->paths);
	free(j);
}

/* ---- the watcher hooks, on the job's thread ---- */

static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct tv_webjob *j = ctx;

	pthread_mutex_lock(&j->w->jobs_mu);
	snprintf(j->phase, sizeof(j->phase), "%s", what ? what : "");
	if (j->items_total <= 1) {   /* tape by tape: step() counts the bytes */
		j->done = done;
		j->total = total;
	}
	pthread_mutex_unlock(&j->w->jobs_mu);
	if (tv_web_progress_test_hook != NULL)
		tv_web_progress_test_hook();
}

static void on_item(void *ctx, const char *name)
{
	struct tv_webjob *j = ctx;

	pthread_mutex_lock(&j->w->jobs_mu);
	snprintf(j->current, sizeof(j->current), "%s", name);
	pthread_mutex_unlock(&j->w->jobs_mu);
}

static void on_warn(void *ctx, const char *msg)
{
	struct tv_webjob *j = ctx;

	pthread_mutex_lock(&j->w->jobs_mu);
	if (j->nproblems++ < PROBLEMS_MAX)
		json_array_append_new(j->problems, json_string(msg));
	pthread_mutex_unlock(&j->w->jobs_mu);
}

/* The step a job is at: the tape (or set) and how many of them are done. */
static void step(struct tv_webjob *j, const char *current, uint64_t items_done,
                 uint64_t bytes_done)
{
	pthread_mutex_lock(&j->w->jobs_mu);
	snprintf(j->current, sizeof(j->current), "%s", current ? current : "");
	j->items_done = items_done;
	if (j->items_total > 1)
		j->done = bytes_done;
	pthread_mutex_unlock(&j->w->jobs_mu);
	if (tv_web_progress_test_hook != NULL)
		tv_web_progress_test_hook();
}

/* ---- argument helpers (on the request's thread) ---- */

/* body[key]: an array of 1..BARCODES_MAX strings (or absent when optional). */
static int str_array(json_t *body, const char *key, int required, struct tv_api_resp *rs)
{
	json_t *a = json_object_get(body, key), *v;
	size_t i;
	char msg[160];

	if (a == NULL && !required)
		return 0;
	snprintf(msg, sizeof(msg), "\"%s\" is an array of 1 to %d strings", key, BARCODES_MAX);
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > BARCODES_MAX) {
		tv_api_error(rs, 400, msg);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= TV_ROUTE_PARAM_MAX) {
			tv_api_error(rs, 400, msg);
			return -1;
		}
	}
	return 0;
}

/* body[key] as strings (pointers into the body); *n their count. */
static char **str_list(json_t *body, const char *key, size_t *n)
{
	json_t *a = json_object_get(body, key), *v;
	char **out;
	size_t i;

	*n = json_array_size(a);
	if ((out = calloc(*n + 1, sizeof(char *))) == NULL)
		return NULL;
	json_array_foreach(a, i, v)
		out[i] = (char *)json_string_value(v);
	return out;
}

static void join_operands(char *out, size_t outsz, const char *first, json_t *arr)
{
	size_t i, l;
	json_t *v;

	snprintf(out, outsz, "%s", first ? first : "");
	json_array_foreach(arr, i, v) {
		l = strlen(out);
		snprintf(out + l, outsz - l, "%s%s", l ? " " : "", json_string_value(v));
	}
}

/* ---- the jobs ---- */

struct tapes_ctx {
	json_t *arr;
	const char *library;           /* NULL: any */
	char *const *barcodes;         /* n 0: any */
	size_t n;
};

static int tape_of(void *ctx, const struct tv_tape_row *t)
{
	struct tapes_ctx *c = ctx;
	int want = c->n == 0;

	for (size_t i = 0; i < c->n && !want; i++)
		want = strcmp(c->barcodes[i], t->barcode) == 0;
	if (c->library != NULL && strcmp(c->library, t->library) != 0)
		want = 0;
	return want ? tv_web_tape_row(c->arr, t) : 0;
}

/* The tapes a job worked on, as GET /tapes lists them. */
static json_t *tapes_after(struct tv_home *h, const char *library, char *const *bcs, size_t n)
{
	struct tapes_ctx c = {json_array(), library, bcs, n};

	if (tv_query_tapes(h->db, NULL, NULL, tape_of, &c) != 0) {
		tv_errclear();   /* the job's result stands; the list is said missing */
		json_decref(c.arr);
		return json_null();
	}
	return c.arr;
}

/* catalog and inventory: the library whole (one step), or tape by tape. */
static int run_catalog(struct tv_webjob *j, struct tv_home *h)
{
	const char *lib = json_string_value(json_object_get(j->args, "library"));
	struct tv_catalog_opts o = {.labels_only = strcmp(j->kind, "inventory") == 0};
	size_t n = 0, failed = 0;
	char **bcs = str_list(j->args, "barcodes", &n);
	int r = 0, r1;

	if (bcs == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	j->items_total = n ? n : 1;
	if (n == 0) {
		step(j, lib, 0, 0);
		r = tv_job_catalog(h, lib, NULL, 0, &o);
	}
	for (size_t i = 0; i < n && r != TV_ERR_INTERRUPTED && r != TV_ERR_NOTFOUND; i++) {
		step(j, bcs[i], i, 0);
		if ((r1 = tv_job_catalog(h, lib, bcs + i, 1, &o)) != 0) {
			if (r1 == TV_ERR_INTERRUPTED || r1 == TV_ERR_NOTFOUND)
				r = r1;
			else
				tv_warn(h, "%s: %s", bcs[i], tv_errmsg(r1));
			failed++;
		}
	}
	if (r == 0 && failed > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%zu of %zu tape(s) could not be read (see problems)",
		            failed, n);
	step(j, "", n ? n : 1, 0);
	pthread_mutex_lock(&j->w->jobs_mu);
	j->result = json_pack("{s:s,s:o}", "library", lib, "tapes", tapes_after(h, lib, bcs, n));
	pthread_mutex_unlock(&j->w->jobs_mu);
	free(bcs);
	return r;
}

/* verify: tape by tape, as tv_job_verify does, so the tape being read shows. */
static int run_verify(struct tv_webjob *j, struct tv_home *h)
{
	size_t n = 0, failed = 0;
	char **bcs = str_list(j->args, "barcodes", &n);
	int r = 0, r1, crc = 0;

	if (bcs == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	j->items_total = n;
	for (size_t i = 0; i < n && r == 0; i++) {
		step(j, bcs[i], i, h->job_bytes);
		if ((r1 = tv_job_verify(h, bcs + i, 1)) == TV_ERR_INTERRUPTED || r1 == TV_ERR_NOTFOUND) {
			r = r1;
		} else if (r1 != 0) {   /* the job named the tape's problems */
			crc |= r1 == TV_ERR_CRC;
			failed++;
		}
	}
	step(j, "", n, h->job_bytes);
	if (r == 0 && failed > 0)
		r = tv_errf(crc ? TV_ERR_CRC : TV_ERR_PARTIAL, "%zu of %zu tape(s) did not verify "
		            "(see problems)", failed, n);
	pthread_mutex_lock(&j->w->jobs_mu);
	j->result = json_pack("{s:o,s:I,s:I}", "tapes", tapes_after(h, NULL, bcs, n), "files",
	                      (json_int_t)h->job_files, "bytes", (json_int_t)h->job_bytes);
	pthread_mutex_unlock(&j->w->jobs_mu);
	free(bcs);
	return r;
}

static int run_restore(struct tv_webjob *j, struct tv_home *h)
{
	struct tv_restore_opts ro = {0};
	int r;

	if (tv_api_restore_args(j->args, NULL, &ro, &j->paths) != 0)
		return tv_errf(TV_ERR_INVAL, "bad restore arguments");
	j->items_total = 1;
	step(j, j->param, 0, 0);
	r = tv_job_restore(h, j->param, &ro);
	step(j, "", 1, h->job_bytes);
	pthread_mutex_lock(&j->w->jobs_mu);
	j->result = json_pack("{s:s,s:s,s:b,s:I,s:I}", "set", j->param, "to", ro.to, "restored",
	                      r == 0, "files", (json_int_t)h->job_files, "bytes",
	                      (json_int_t)h->job_bytes);
	pthread_mutex_unlock(&j->w->jobs_mu);
	return r;
}

static int expiry_row(void *ctx, const struct tv_expiry *e)
{
	char u[37] = "?", nw[32], ex[32];

	if (e->media_set_uuid != NULL)
		tv_uuid_to_str(e->media_set_uuid, u);
	tv_iso8601(e->newest, nw);
	tv_iso8601(e->expired, ex);
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "pool", e->pool,
	                                     "media_set", u, "newest_backup", nw, "expired", ex,
	                                     "backup_sets", (json_int_t)e->sets, "tapes",
	                                     tv_web_csv_array(e->tapes)));
	return 0;
}

static int run_expire(struct tv_webjob *j, struct tv_home *h)
{
	int dry = json_is_true(json_object_get(j->args, "dry_run")), n = 0, r;
	json_t *arr = json_array();

	j->items_total = 1;
	step(j, dry ? "dry run" : "expiring", 0, 0);
	r = tv_expire(h, dry, (int64_t)tv_now(), expiry_row, arr, &n);
	step(j, "", 1, 0);
	pthread_mutex_lock(&j->w->jobs_mu);
	j->result = json_pack("{s:o,s:b,s:i}", "expired", arr, "dry_run", dry, "count", n);
	pthread_mutex_unlock(&j->w->jobs_mu);
	return r;
}

struct find_ctx {
	json_t *arr;
	uint64_t n;
};

static int find_row(void *ctx, const struct tv_item *it)
{
	struct find_ctx *f = ctx;
	char u[37] = "?", cr[32], mt[32];
	json_t *tapes = json_array();

	if (f->n++ >= FIND_MAX) {
		json_decref(tapes);
		return 0;
	}
	if (it->set_uuid != NULL)
		tv_uuid_to_str(it->set_uuid, u);
	tv_iso8601(it->set_created, cr);
	tv_iso8601(it->mtime_sec, mt);
	for (size_t i = 0; i < it->ntapes; i++)
		json_array_append_new(tapes, json_string(it->tapes[i]));
	json_array_append_new(f->arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:o}", "set_id",
	                                        u, "set_name", it->set_name, "set_created", cr,
	                                        "path", it->path, "type",
	                                        tv_item_type_name(it->ftype), "size",
	                                        (json_int_t)it->size, "mtime", mt, "mtime_unix",
	                                        (json_int_t)it->mtime_sec, "tapes", tapes));
	return 0;
}

static int run_find(struct tv_webjob *j, struct tv_home *h)
{
	struct find_ctx f = {json_array(), 0};
	const char *set = json_string_value(json_object_get(j->args, "set"));
	size_t n = 0;
	char **globs = str_list(j->args, "patterns", &n);
	int r;

	if (globs == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	j->items_total = 1;
	step(j, "searching the catalog", 0, 0);
	r = tv_browse_find(h, globs, n, set, find_row, &f);
	step(j, "", 1, 0);
	pthread_mutex_lock(&j->w->jobs_mu);
	j->result = json_pack("{s:o,s:I,s:b}", "versions", f.arr, "count", (json_int_t)f.n,
	                      "truncated", f.n > FIND_MAX);
	pthread_mutex_unlock(&j->w->jobs_mu);
	free(globs);
	return r;
}

/* ---- the job's thread ---- */

static void *job_thread(void *arg)
{
	struct tv_webjob *j = arg;
	struct tv_web *w = j->w;
	struct tv_web_jobrec rec = {.kind = j->kind, .key_path = "-", .tapes = "",
	                            .user = j->user, .client = j->client};
	struct tv_home *h;
	pthread_mutex_t *mu = tv_web_lock_home(w, j->read_only, &h);
	int r, stopping;

	pthread_mutex_lock(&w->jobs_mu);
	j->state = JS_RUNNING;
	j->started = now_ms();
	stopping = w->stopping;
	pthread_mutex_unlock(&w->jobs_mu);
	tv_errclear();
	rec.h = h;
	h->progress_fn = on_progress;
	h->warn_fn = on_warn;
	h->item_fn = on_item;
	h->watch_ctx = j;
	if (!j->read_only)
		tv_web_job_begin(&rec, j->operands);
	h->job_files = h->job_bytes = h->warnings = 0;
	r = stopping ? tv_errf(TV_ERR_INTERRUPTED, "the server is stopping") : j->run(j, h);
	if (!j->read_only)
		tv_web_job_end(&rec, r);
	h->progress_fn = NULL;
	h->warn_fn = NULL;
	h->item_fn = NULL;
	h->watch_ctx = NULL;
	pthread_mutex_lock(&w->jobs_mu);
	j->rc = r;
	if (r != 0)
		snprintf(j->error, sizeof(j->error), "%s", tv_errmsg(r));
	j->history_id = rec.id;
	j->ended = now_ms();
	j->state = JS_DONE;
	pthread_mutex_unlock(&w->jobs_mu);
	pthread_mutex_unlock(mu);
	tv_errclear();
	/* last: once it is counted out, the server may free w (tv_webjobs_stop) */
	pthread_mutex_lock(&w->jobs_mu);
	w->jobs_running--;
	pthread_cond_broadcast(&w->jobs_cv);
	pthread_mutex_unlock(&w->jobs_mu);
	return NULL;
}

/* A place in the table: a free one, else the oldest finished job's. */
static int slot_take(struct tv_web *w)
{
	int best = -1;

	for (int i = 0; i < TV_WEBJOBS_MAX; i++) {
		if (w->jobs[i] == NULL)
			return i;
		if (w->jobs[i]->state == JS_DONE && (best < 0 || w->jobs[i]->id < w->jobs[best]->id))
			best = i;
	}
	if (best >= 0) {
		job_free(w->jobs[best]);
		w->jobs[best] = NULL;
	}
	return best;
}

/* Checks the body of a job's route; fills kind, run, operands.  0 or -1 (said). */
static int job_args(struct tv_api_req *rq, struct tv_api_resp *rs, struct tv_webjob *j)
{
	json_t *b = rq->body, *v;
	struct tv_restore_opts ro = {0};
	char **paths = NULL;

	switch (rq->route->id) {
	case TV_R_FIND:
		j->kind = "find";
		j->run = run_find;
		j->read_only = 1;
		v = json_object_get(b, "set");
		if (str_array(b, "patterns", 1, rs) != 0)
			return -1;
		if (v != NULL && !json_is_string(v)) {
			tv_api_error(rs, 400, "\"set\" is a backup set's id or name");
			return -1;
		}
		join_operands(j->operands, sizeof(j->operands), NULL, json_object_get(b, "patterns"));
		return 0;
	case TV_R_CATALOG: case TV_R_INVENTORY:
		j->kind = rq->route->id == TV_R_CATALOG ? "catalog" : "inventory";
		j->run = run_catalog;
		v = json_object_get(b, "library");
		if (!json_is_string(v) || json_string_length(v) == 0) {
			tv_api_error(rs, 400, "give {\"library\": NAME[, \"barcodes\": [BARCODE...]]}");
			return -1;
		}
		if (str_array(b, "barcodes", 0, rs) != 0)
			return -1;
		join_operands(j->operands, sizeof(j->operands), json_string_value(v),
		              json_object_get(b, "barcodes"));
		return 0;
	case TV_R_VERIFY:
		j->kind = "verify";
		j->run = run_verify;
		if (str_array(b, "barcodes", 1, rs) != 0)
			return -1;
		join_operands(j->operands, sizeof(j->operands), NULL, json_object_get(b, "barcodes"));
		return 0;
	case TV_R_EXPIRE:
		j->kind = "expire";
		j->run = run_expire;
		v = json_object_get(b, "dry_run");
		if (v != NULL && !json_is_boolean(v)) {
			tv_api_error(rs, 400, "give {} or {\"dry_run\": true}");
			return -1;
		}
		snprintf(j->operands, sizeof(j->operands), "%s", json_is_true(v) ? "--dry-run" : "");
		return 0;
	case TV_R_BACKUP_RESTORE:
		j->kind = "restore";
		j->run = run_restore;
		if (tv_api_restore_args(b, rs, &ro, &paths) != 0)
			return -1;
		free(paths);
		snprintf(j->param, sizeof(j->param), "%s", rq->route->param);
		snprintf(j->operands, sizeof(j->operands), "%s --to %s", j->param, ro.to);
		return 0;
	default:
		tv_api_error(rs, 404, "no such API route");
		return -1;
	}
}

static json_t *job_json(const struct tv_webjob *j);

void tv_api_job_start(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	struct tv_web *w = rq->w;
	struct tv_webjob *j = calloc(1, sizeof(*j));
	pthread_attr_t at;
	pthread_t th;
	int slot, e;

	if (j == NULL) {
		tv_api_error(rs, 500, "out of memory");
		return;
	}
	if (job_args(rq, rs, j) != 0)
		goto fail;
	j->w = w;
	snprintf(j->user, sizeof(j->user), "%s", rq->who->user);
	snprintf(j->client, sizeof(j->client), "%s", rq->client);
	if ((j->args = json_deep_copy(rq->body)) == NULL || (j->problems = json_array()) == NULL) {
		tv_api_error(rs, 500, "out of memory");
		goto fail;
	}
	pthread_mutex_lock(&w->jobs_mu);
	if (w->stopping || (slot = slot_take(w)) < 0) {
		pthread_mutex_unlock(&w->jobs_mu);
		tv_api_error(rs, 503, w->stopping ? "the server is stopping" :
		             "too many jobs waiting or running: try again when one has ended");
		goto fail;
	}
	j->id = ++w->next_job_id;
	j->created = now_ms();
	w->jobs[slot] = j;
	w->jobs_running++;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if ((e = pthread_create(&th, &at, job_thread, j)) != 0) {
		w->jobs[slot] = NULL;
		w->jobs_running--;
		pthread_mutex_unlock(&w->jobs_mu);
		pthread_attr_destroy(&at);
		tv_api_error(rs, 503, "could not start the job's thread");
		goto fail;
	}
	pthread_attr_destroy(&at);
	rs->status = 202;
	rs->json = job_json(j);
	pthread_mutex_unlock(&w->jobs_mu);
	return;
fail:
	job_free(j);
}

static const char *state_name(const struct tv_webjob *j)
{
	if (j->state == JS_QUEUED)
		return "queued";
	if (j->state == JS_RUNNING)
		return "running";
	if (j->rc == 0)
		return "ok";
	return j->rc == TV_ERR_PARTIAL ? "partial" : j->rc == TV_ERR_INTERRUPTED ? "interrupted"
	                                                                          : "failed";
}

static json_t *iso_ms(int64_t ms)
{
	char s[32];

	if (ms == 0)
		return json_null();
	tv_iso8601(ms / 1000, s);
	return json_string(s);
}

/* Under jobs_mu. */
static json_t *job_json(const struct tv_webjob *j)
{
	int64_t end = j->ended ? j->ended : now_ms();
	double secs = j->started ? (double)(end - j->started) / 1000.0 : 0;
	double rate = secs > 0.05 ? (double)j->done / secs : 0;
	json_t *p, *o;

	p = json_pack("{s:s,s:I,s:o,s:I,s:o,s:o,s:f}", "phase", j->phase, "bytes_done",
	              (json_int_t)j->done, "bytes_total",
	              j->total ? json_integer((json_int_t)j->total) : json_null(), "items_done",
	              (json_int_t)j->items_done, "items_total",
	              j->items_total ? json_integer((json_int_t)j->items_total) : json_null(),
	              "current", j->current[0] ? json_string(j->current) : json_null(),
	              "rate", rate);
	if (p != NULL && j->total > 0)
		json_object_set_new(p, "percent", json_real(100.0 * (double)j->done / (double)j->total));
	else if (p != NULL && j->items_total > 0)
		json_object_set_new(p, "percent",
		                    json_real(100.0 * (double)j->items_done / (double)j->items_total));
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:f,s:o,s:o,s:I}", "id", (json_int_t)j->id,
	              "kind", j->kind, "args", j->operands, "user", j->user, "state",
	              state_name(j), "created", iso_ms(j->created), "started", iso_ms(j->started),
	              "ended", iso_ms(j->ended), "seconds", secs, "progress", p ? p : json_null(),
	              "problems", json_deep_copy(j->problems), "problems_total", (json_int_t)j->nproblems);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "history_id", j->history_id ? json_integer(j->history_id)
	                                                   : json_null());
	json_object_set_new(o, "result", j->state == JS_DONE && j->result ? json_deep_copy(j->result)
	                                                                : json_null());
	if (j->state == JS_DONE && j->rc != 0) {
		json_object_set_new(o, "error", json_string(j->error));
		json_object_set_new(o, "error_status", json_integer(tv_api_status(j->rc)));
	}
	return o;
}

void tv_api_job_get(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	struct tv_web *w = rq->w;
	const char *s = rq->route->param;
	char *end;
	long long id = strtoll(s, &end, 10);

	if (s[0] < '1' || s[0] > '9' || *end != '\0') {
		tv_api_error(rs, 400, "a job id is a number (POST answered it)");
		return;
	}
	pthread_mutex_lock(&w->jobs_mu);
	for (int i = 0; i < TV_WEBJOBS_MAX; i++) {
		if (w->jobs[i] != NULL && w->jobs[i]->id == id) {
			rs->json = job_json(w->jobs[i]);
			rs->status = rs->json ? 200 : 500;
			pthread_mutex_unlock(&w->jobs_mu);
			if (rs->json == NULL)
				tv_api_error(rs, 500, "out of memory");
			return;
		}
	}
	pthread_mutex_unlock(&w->jobs_mu);
	tv_api_error(rs, 404, "no such job in this server (it keeps the last 64 jobs it ran; "
	             "GET /jobs has the history)");
}

void tv_webjobs_init(struct tv_web *w)
{
	pthread_mutex_init(&w->jobs_mu, NULL);
	pthread_cond_init(&w->jobs_cv, NULL);
}

void tv_webjobs_stop(struct tv_web *w)
{
	pthread_mutex_lock(&w->jobs_mu);
	w->stopping = 1;
	if (w->jobs_running > 0)
		tv_stop_signal = SIGTERM;   /* jobs stop at their next clean point */
	while (w->jobs_running > 0)
		pthread_cond_wait(&w->jobs_cv, &w->jobs_mu);
	for (int i = 0; i < TV_WEBJOBS_MAX; i++) {
		job_free(w->jobs[i]);
		w->jobs[i] = NULL;
	}
	pthread_mutex_unlock(&w->jobs_mu);
}
