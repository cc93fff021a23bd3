/* tapevault web: console users over the API (admin only; the routes say
 * so, route.c).  GET /users lists names, roles and when they were made
 * (never a hash); POST /users adds one (Argon2id, as 'tapevault user
 * add'); PUT /users/{name} changes the role or the password; DELETE
 * /users/{name} removes the user.  The last admin can be neither removed
 * nor demoted.  A change forgets the user's tokens; each change is in the
 * audit log with the admin who made it, never with the password. */
#include <stdio.h>
#include <string.h>

#include "crypto/password.h"
#include "jobs/audit.h"
#include "jobs/history.h"
#include "util/err.h"
#include "web/web.h"
#include "web/web_int.h"

static int user_row(void *ctx, const char *name, const char *role, int64_t created)
{
	char cr[32];

	tv_iso8601(created, cr);
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s}", "name", name, "role", role,
	                                     "created", cr));
	return 0;
}

static void audit_user(struct tv_api_req *rq, const char *what, const char *name, int r)
{
	char action[48], detail[400];

	snprintf(action, sizeof(action), "web user %s", what);
	snprintf(detail, sizeof(detail), "by web user '%s' from %s: user '%s': %s", rq->who->user,
	         rq->client, name, r == 0 ? "ok" : tv_errmsg(r));
	tv_audit(rq->h, action, "-", "", detail);
}

/* A password from the body: 0 with it, 1 when absent, -1 with a 400 said. */
static int body_password(struct tv_api_req *rq, struct tv_api_resp *rs, const char **pw,
                         size_t *len)
{
	json_t *p = json_object_get(rq->body, "password");

	if (p == NULL)
		return 1;
	*pw = json_string_value(p);
	*len = json_string_length(p);
	if (!json_is_string(p) || *len == 0 || *len > TV_PASSWORD_MAX || strlen(*pw) != *len) {
		tv_api_error(rs, 400, "the password is 1 to 4096 bytes, without NUL");
		return -1;
	}
	return 0;
}

static unsigned user_status(int r)
{
	return r == TV_ERR_EXISTS ? 409 : r == TV_ERR_STATE ? 409 : tv_api_status(r);
}

static void user_add(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	json_t *n = json_object_get(rq->body, "name"), *ro = json_object_get(rq->body, "role");
	const char *pw = NULL, *name, *role;
	size_t len = 0;
	int r;

	if (!json_is_string(n) || !json_is_string(ro)) {
		tv_api_error(rs, 400, "give {\"name\": NAME, \"role\": \"admin|operator|viewer\", "
		             "\"password\": PASSWORD}");
		return;
	}
	if ((r = body_password(rq, rs, &pw, &len)) != 0) {
		if (r > 0)
			tv_api_error(rs, 400, "a new user needs a password");
		return;
	}
	name = json_string_value(n);
	role = json_string_value(ro);
	if (!tv_web_user_name_valid(name) || tv_role_parse(role) == TV_ROLE_NONE) {
		tv_api_error(rs, 400, "name: 1 to 64 of A-Z a-z 0-9 . _ @ -; role: admin, operator "
		             "or viewer");
		return;
	}
	r = tv_web_user_add(rq->h, name, role, pw, len);
	audit_user(rq, "add", name, r);
	if (r != 0) {
		tv_api_error(rs, user_status(r), tv_errmsg(r));
		return;
	}
	rs->status = 201;
	rs->json = json_pack("{s:s,s:s}", "name", name, "role", role);
}

static void user_set(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	const char *name = rq->route->param, *pw = NULL;
	json_t *ro = json_object_get(rq->body, "role");
	size_t len = 0;
	int has_pw, r = 0;

	if ((has_pw = body_password(rq, rs, &pw, &len)) < 0)
		return;
	if ((ro != NULL && !json_is_string(ro)) || (ro == NULL && has_pw != 0)) {
		tv_api_error(rs, 400, "give {\"role\": ROLE} and/or {\"password\": PASSWORD}");
		return;
	}
	if (ro != NULL) {
		r = tv_web_user_set_role(rq->h, name, json_string_value(ro));
		audit_user(rq, "role", name, r);
	}
	if (r == 0 && has_pw == 0) {
		r = tv_web_user_set_password(rq->h, name, pw, len);
		audit_user(rq, "password", name, r);
	}
	if (r != 0) {
		tv_api_error(rs, user_status(r), tv_errmsg(r));
		return;
	}
	tv_auth_forget_user(rq->w, name);   /* log in again, with the new role or password */
	rs->status = 200;
	rs->json = json_pack("{s:s,s:b}", "name", name, "changed", 1);
}

static void user_delete(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	const char *name = rq->route->param;
	int r = tv_web_user_delete(rq->h, name);

	audit_user(rq, "remove", name, r);
	if (r != 0) {
		tv_api_error(rs, user_status(r), tv_errmsg(r));
		return;
	}
	tv_auth_forget_user(rq->w, name);
	rs->status = 200;
	rs->json = json_pack("{s:s,s:b}", "name", name, "removed", 1);
}

void tv_api_users(struct tv_api_req *rq, struct tv_api_resp *rs)
{
	json_t *arr;
	int r;

	switch (rq->route->id) {
	case TV_R_USERS:
		arr = json_array();
		if ((r = tv_web_user_list(rq->h, user_row, arr)) != 0) {
			json_decref(arr);
			tv_api_error(rs, tv_api_status(r), tv_errmsg(r));
			return;
		}
		rs->status = 200;
		rs->json = json_pack("{s:o,s:[sss]}", "users", arr, "roles", "admin", "operator",
		                     "viewer");
		return;
	case TV_R_USER_ADD: user_add(rq, rs); return;
	case TV_R_USER_SET: user_set(rq, rs); return;
	case TV_R_USER_DELETE: user_delete(rq, rs); return;
	default: tv_api_error(rs, 404, "no such API route"); return;
	}
}
