/* tapevault web: the routes that run jobs in the serving process (decrypt,
 * restore) and the job history and audit log.  A job run from the API
 * goes into the job history as the CLI's do, and into the audit log with
 * the console user who ran it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/query.h"
#include "crypto/password.h"
#include "jobs/audit.h"
#include "jobs/history.h"
#include "jobs/jobs.h"
#include "util/err.h"
#include "util/wipe.h"
#include "web/web_int.h"

/* The decrypt job reads a password from a file: give it one in memory
 * (a memfd, owner-only, never on disk), emptied as soon as it is read. */
static int pw_memfd(const char *pw, size_t len, int *fd, char *path, size_t pathsz)
{
	*fd = memfd_create("tapevault-pw", MFD_CLOEXEC);
	if (*fd < 0)
		return tv_errf(TV_ERR_IO, "memfd_create: %s", strerror(errno));
	if (fchmod(*fd, 0600) != 0 || write(*fd, pw, len) != (ssize_t)len ||
	    write(*fd, "\n", 1) != 1 || lseek(*fd, 0, SEEK_SET) != 0) {
		close(*fd);
		*fd = -1;
		return tv_errf(TV_ERR_IO, "passing the password to the job: %s", strerror(errno));
	}
	snprintf(path, pathsz, "/proc/self/fd/%d", *fd);
	return 0;
}

static void pw_memfd_close(int fd)
{
	if (fd < 0)
		return;
	if (ftruncate(fd, 0) != 0)
		tv_errclear();
	close(fd);
}

/* A job run from the API: the history row around it, the audit line after. */
void tv_web_job_begin(struct tv_web_jobrec *j, const char *operands)
{
	struct tv_home *h = j->h;
	char args[600];

	snprintf(args, sizeof(args), "%s (web user %s)", operands, j->user);
	h->warnings = h->job_files = h->job_bytes = 0;
	j->id = 0;
	if (tv_history_start(h, j->kind, args, &j->id) != 0)
		tv_errclear();
}

void tv_web_job_end(struct tv_web_jobrec *j, int r)
{
	struct tv_home *h = j->h;
	char detail[700], err[512] = "";
	char action[64];

	if (r != 0)
		snprintf(err, sizeof(err), "%s", tv_errmsg(r));
	if (j->id != 0 && tv_history_end(h, j->id, r == 0 ? "ok" : r == TV_ERR_PARTIAL ? "partial"
	                                 : "failed", h->job_files, h->job_bytes, h->warnings,
	                                 r ? err : NULL) != 0)
		tv_errclear();
	snprintf(action, sizeof(action), "web %s", j->kind);
	snprintf(detail, sizeof(detail), "by web user '%s' from %s: %s", j->user, j->client,
	         r == 0 ? "ok" : err);
	tv_audit(h, action, j->key_path, j->tapes, detail);
	if (r != 0)   /* the job's detail, for the answer */
		tv_errf(r, "%s", err);
}

/* {"password": P} or {"kms": SERVER[, "key_id": ID]}; 0 or a 400 said. */
static int decrypt_args(struct tv_api_req *rq, struct tv_api_resp *rs, const char **pw,
                        size_t *pwlen, const char **kms, const char **key_id)
{
	json_t *p = json_object_get(rq->body, "password"), *k = json_object_get(rq->body, "kms");
	json_t *i = json_object_get(rq->body, "key_id");

	*pw = *kms = *key_id = NULL;
	if ((p == NULL) == (k == NULL) || (p && !json_is_string(p)) || (k && !json_is_string(k)) ||
	    (i && (!json_is_string(i) || k == NULL))) {
		tv_api_error(rs, 400, "give {\"password\": P} or {\"kms\": SERVER, \"key_id\": ID}");
		return -1;
	}
	if (p != NULL) {
		*pw = json_string_value(p);
		*pwlen = json_string_length(p);
		if (*pwlen == 0 || *pwlen > TV_PASSWORD_MAX || strlen(*pw) != *pwlen ||
		    strpbrk(*pw, "\r\n") != NULL) {
			tv_api_error(rs, 400, "the password must be 1 to 4096 bytes on one line");
			return -1;
		}
	}
	*kms = k ? json_string_value(k) : NULL;
	*key_id = i && json_string_length(i) > 0 ? json_string_value(i) : NULL;
	return 0;
}

void tv_api_decrypt(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	const char *bc = rq->route->param, *pw, *kms, *key_id;
	char *bcs[1] = {(char *)bc};
	struct tv_decrypt_opts d = {0};
	struct tv_web_jobrec j = {.h = rq->h, .kind = "decrypt", .tapes = bc,
	                          .user = rq->who->user, .client = rq->client};
	char path[64];
	size_t pwlen = 0;
	int fd = -1, r;

	if (decrypt_args(rq, rs, &pw, &pwlen, &kms, &key_id) != 0)
		return;
	if (pw != NULL && (r = pw_memfd(pw, pwlen, &fd, path, sizeof(path))) != 0) {
		tv_api_error(rs, 500, tv_errmsg(r));
		return;
	}
	d.password_file = pw ? path : NULL;
	d.kms = kms;
	d.key_id = key_id;
	j.key_path = pw ? "password" : "kms";
	tv_web_job_begin(&j, bc);
	r = tv_job_decrypt(rq->h, bcs, 1, &d);
	pw_memfd_close(fd);
	tv_web_job_end(&j, r);
	if (r != 0) {
		tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:s,s:b,s:b}", "barcode", bc, "unlocked", 1, "locked", 0);
}

int tv_api_restore_args(json_t *body, struct tv_api_resp *rs, struct tv_restore_opts *ro,
                        char ***paths)
{
	json_t *to = json_object_get(body, "to"), *ow = json_object_get(body, "overwrite");
	json_t *ps = json_object_get(body, "paths"), *v;
	const char *o = ow && json_is_string(ow) ? json_string_value(ow) : "never";
	size_t i;

	*paths = NULL;
	if (!json_is_string(to) || json_string_value(to)[0] != '/' ||
	    (ps != NULL && !json_is_array(ps)) || (ow != NULL && !json_is_string(ow))) {
		tv_api_error(rs, 400, "give {\"to\": \"/ABSOLUTE/DIR\"[, \"paths\": [PATH|GLOB...]]"
		             "[, \"overwrite\": \"never|always|if-newer\"]}");
		return -1;
	}
	ro->to = json_string_value(to);
	ro->overwrite = strcmp(o, "always") == 0     ? TV_OVERWRITE_ALWAYS
	                : strcmp(o, "if-newer") == 0 ? TV_OVERWRITE_IF_NEWER
	                                             : TV_OVERWRITE_NEVER;
	if (strcmp(o, "never") && ro->overwrite == TV_OVERWRITE_NEVER) {
		tv_api_error(rs, 400, "overwrite is never, always or if-newer");
		return -1;
	}
	if (ps == NULL || json_array_size(ps) == 0)
		return 0;
	if (json_array_size(ps) > 1000 || (*paths = calloc(json_array_size(ps), sizeof(char *))) == NULL) {
		tv_api_error(rs, 400, "at most 1000 paths");
		return -1;
	}
	json_array_foreach(ps, i, v) {
		if (!json_is_string(v)) {
			free(*paths);
			*paths = NULL;
			tv_api_error(rs, 400, "paths are strings");
			return -1;
		}
		(*paths)[i] = (char *)json_string_value(v);
	}
	ro->paths = *paths;
	ro->npaths = json_array_size(ps);
	return 0;
}

static int job_row(void *ctx, const struct tv_job_row *j)
{
	char st[32];
	double secs = j->duration_ms / 1000.0;
	double mbs = secs > 0 ? (double)j->bytes / secs / (1024.0 * 1024.0) : 0;
	json_t *row;

	tv_iso8601(j->started_ms / 1000, st);
	row = json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:I,s:o,s:s,s:I}", "id", (json_int_t)j->id,
	                "kind", j->kind, "args", j->args, "start", st, "duration",
	                j->duration_ms >= 0 ? json_real(secs) : json_null(), "files",
	                (json_int_t)j->files, "bytes", (json_int_t)j->bytes, "rate",
	                j->duration_ms >= 0 ? json_real(mbs) : json_null(), "result", j->result,
	                "warnings", (json_int_t)j->warnings);
	if (j->error[0])
		json_object_set_new(row, "error", json_string(j->error));
	json_array_append_new(ctx, row);
	return 0;
}

void tv_api_jobs(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	json_t *arr;
	char *end;
	long long limit = 0;
	int r;

	if (rq->q_limit != NULL) {
		limit = strtoll(rq->q_limit, &end, 10);
		if (rq->q_limit[0] == '\0' || *end != '\0' || limit < 1) {
			tv_api_error(rs, 400, "limit takes a number of jobs (1 or more)");
			return;
		}
	}
	arr = json_array();
	if ((r = tv_history_list(rq->h, limit, job_row, arr)) != 0) {
		json_decref(arr);
		tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:o}", "jobs", arr);
}

static int audit_row(void *ctx, const struct tv_audit_row *a)
{
	json_array_append_new(ctx, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "time",
	                                     (json_int_t)a->time, "actor", a->actor, "action",
	                                     a->action, "key_path", a->key_path, "tapes", a->tapes,
	                                     "detail", a->detail));
	return 0;
}

void tv_api_audit(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	json_t *arr = json_array();
	int r = tv_query_audit(rq->h->db, audit_row, arr);

	if (r != 0) {
		json_decref(arr);
		tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		return;
	}
	rs->status = 200;
	rs->json = json_pack("{s:o}", "audit", arr);
}
