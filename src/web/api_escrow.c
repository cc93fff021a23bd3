/* tapevault web: escrow (password loss protection) over the API, admin
 * only.  POST /escrow/request {"barcodes": [...]} makes a signed request
 * for the tapes' escrow slots (jobs/escrowjob.c: tv_escrow_make_request)
 * and answers its text, for the administrator to save and send to the
 * escrow authority; POST /escrow/response {"response": TEXT} applies the
 * authority's answer (tv_escrow_apply_response): the tapes it answers
 * unlock and are cataloged.  The job functions read and write files: the
 * texts pass through a private directory under HOME/web (0700), removed
 * at once.  Neither text holds a secret in clear (the request carries a
 * public key; the answer's keys are sealed to the one-time key). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs/audit.h"
#include "jobs/escrowjob.h"
#include "util/err.h"
#include "web/web_int.h"

#define ESCROW_TEXT_MAX (60 * 1024)   /* what fits in a request body */

struct scratch {
	char dir[4200], file[4300];
};

static int scratch_make(struct tv_home *h, struct scratch *s, const char *name)
{
	char web[4150];

	snprintf(web, sizeof(web), "%s/web", h->dir);
	if (mkdir(web, 0700) != 0 && errno != EEXIST)
		return tv_errf(TV_ERR_IO, "%s: %s", web, strerror(errno));
	snprintf(s->dir, sizeof(s->dir), "%s/escrow-XXXXXX", web);
	if (mkdtemp(s->dir) == NULL)
		return tv_errf(TV_ERR_IO, "%s: %s", s->dir, strerror(errno));
	snprintf(s->file, sizeof(s->file), "%s/%s", s->dir, name);
	return 0;
}

static void scratch_drop(struct scratch *s)
{
	if (s->dir[0] == '\0')
		return;
	unlink(s->file);
	rmdir(s->dir);
}

static void on_warn(void *ctx, const char *msg)
{
	json_array_append_new(ctx, json_string(msg));
}

static void audit_escrow(struct tv_api_req *rq, const char *what, const char *tapes, int r)
{
	char action[48], detail[700];

	snprintf(action, sizeof(action), "web escrow %s", what);
	snprintf(detail, sizeof(detail), "by web user '%s' from %s: %s", rq->who->user,
	         rq->client, r == 0 ? "ok" : tv_errmsg(r));
	tv_audit(rq->h, action, "-", tapes, detail);
}

static int read_all(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	size_t n;

	*out = NULL;
	if (f == NULL)
		return tv_errf(TV_ERR_IO, "the request: %s", strerror(errno));
	if ((*out = calloc(1, ESCROW_TEXT_MAX * 4 + 1)) == NULL) {
		fclose(f);
		return TV_ERR_NOMEM;
	}
	n = fread(*out, 1, ESCROW_TEXT_MAX * 4, f);
	fclose(f);
	(*out)[n] = '\0';
	return 0;
}

static void escrow_request(struct tv_api_req *rq, struct tv_api_resp *rs, json_t *problems)
{
	json_t *a = json_object_get(rq->body, "barcodes"), *v;
	struct scratch s;
	char **bcs = NULL, *text = NULL, tapes[1024] = "", fname[64];
	size_t i, skipped = 0, l;
	int r;

	memset(&s, 0, sizeof(s));
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 256) {
		tv_api_error(rs, 400, "give {\"barcodes\": [BARCODE...]} (1 to 256)");
		return;
	}
	if ((bcs = calloc(json_array_size(a), sizeof(char *))) == NULL) {
		tv_api_error(rs, 500, "out of memory");
		return;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0) {
			free(bcs);
			tv_api_error(rs, 400, "barcodes are strings");
			return;
		}
		bcs[i] = (char *)json_string_value(v);
		l = strlen(tapes);
		snprintf(tapes + l, sizeof(tapes) - l, "%s%s", i ? "," : "", bcs[i]);
	}
	if ((r = scratch_make(rq->h, &s, "escrow-request.txt")) == 0 &&
	    (r = tv_escrow_make_request(rq->h, bcs, json_array_size(a), s.file, &skipped)) == 0)
		r = read_all(s.file, &text);
	audit_escrow(rq, "request", tapes, r);
	scratch_drop(&s);
	free(bcs);
	if (r != 0) {
		free(text);
		tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
		return;
	}
	snprintf(fname, sizeof(fname), "escrow-request-%llu.txt", (unsigned long long)tv_now());
	rs->status = 200;
	rs->json = json_pack("{s:s,s:s,s:I,s:I,s:O}", "request", text, "filename", fname, "tapes",
	                     (json_int_t)(json_array_size(a) - skipped), "skipped",
	                     (json_int_t)skipped, "problems", problems);
	free(text);
}

static void escrow_response(struct tv_api_req *rq, struct tv_api_resp *rs, json_t *problems)
{
	json_t *t = json_object_get(rq->body, "response");
	struct scratch s;
	FILE *f = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	if (!json_is_string(t) || json_string_length(t) == 0 ||
	    strlen(json_string_value(t)) != json_string_length(t)) {
		tv_api_error(rs, 400, "give {\"response\": TEXT} (the escrow authority's answer)");
		return;
	}
	if ((r = scratch_make(rq->h, &s, "escrow-response.txt")) == 0) {
		if ((f = fopen(s.file, "wxe")) == NULL ||
		    fwrite(json_string_value(t), 1, json_string_length(t), f) != json_string_length(t))
			r = tv_errf(TV_ERR_IO, "keeping the response: %s", strerror(errno));
		if (f != NULL && fclose(f) != 0 && r == 0)
			r = tv_errf(TV_ERR_IO, "keeping the response: %s", strerror(errno));
	}
	if (r == 0)
		r = tv_escrow_apply_response(rq->h, s.file);
	audit_escrow(rq, "apply", "", r);
	if (r != 0) {
		/* the job names the file it read, which means nothing to the caller */
		char msg[700];
		const char *m = tv_errmsg(r), *p = strstr(m, s.file);
		if (p == m && strncmp(p + strlen(s.file), ": ", 2) == 0)
			snprintf(msg, sizeof(msg), "%s", p + strlen(s.file) + 2);
		else if (p != NULL)
			snprintf(msg, sizeof(msg), "%.*sthe response%s", (int)(p - m), m,
			         p + strlen(s.file));
		else
			snprintf(msg, sizeof(msg), "%s", m);
		scratch_drop(&s);
		tv_api_error(rs, tv_api_status(r), msg);
		return;
	}
	scratch_drop(&s);
	rs->status = 200;
	rs->json = json_pack("{s:b,s:O}", "applied", 1, "problems", problems);
}

void tv_api_escrow(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	json_t *problems = json_array();

	rq->h->warn_fn = on_warn;
	rq->h->watch_ctx = problems;
	if (rq->route->id == TV_R_ESCROW_REQUEST)
		escrow_request(rq, rs, problems);
	else
		escrow_response(rq, rs, problems);
	rq->h->warn_fn = NULL;
	rq->h->watch_ctx = NULL;
	if (rs->status >= 400 && json_array_size(problems) > 0 && json_is_object(rs->json))
		json_object_set(rs->json, "problems", problems);   /* what the job named */
	json_decref(problems);
}
