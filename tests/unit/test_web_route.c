/* The web layer's parsers of what a client controls before it logs in
 * (src/web/route.c): routes with their methods, roles and parameters, and
 * the Authorization header; roles by name (src/web/users.c). */
#include "testlib.h"

#include <string.h>

#include "util/err.h"
#include "web/web_int.h"

static void expect_route(const char *method, const char *url, enum tv_route_id id,
                         enum tv_role need, const char *param)
{
	struct tv_route r;

	assert_int_equal(tv_route_parse(method, url, &r), 0);
	assert_int_equal(r.id, id);
	assert_int_equal(r.need, need);
	assert_string_equal(r.param, param);
}

static void test_routes(void **state)
{
	(void)state;
	expect_route("POST", "/api/v1/login", TV_R_LOGIN, TV_ROLE_NONE, "");
	expect_route("GET", "/api/v1/tapes", TV_R_TAPES, TV_ROLE_VIEWER, "");
	expect_route("POST", "/api/v1/tapes/VT0001L9/decrypt", TV_R_TAPE_DECRYPT,
	             TV_ROLE_OPERATOR, "VT0001L9");
	expect_route("GET", "/api/v1/backups/nightly set/files", TV_R_BACKUP_FILES,
	             TV_ROLE_VIEWER, "nightly set");
	expect_route("POST", "/api/v1/backups/1f2e/restore", TV_R_BACKUP_RESTORE,
	             TV_ROLE_OPERATOR, "1f2e");
	expect_route("GET", "/api/v1/jobs", TV_R_JOBS, TV_ROLE_VIEWER, "");
	expect_route("GET", "/api/v1/audit", TV_R_AUDIT, TV_ROLE_OPERATOR, "");
	/* jobs, escrow and users: who may use them */
	expect_route("GET", "/api/v1/jobs/12", TV_R_JOB, TV_ROLE_VIEWER, "12");
	expect_route("POST", "/api/v1/find", TV_R_FIND, TV_ROLE_VIEWER, "");
	expect_route("POST", "/api/v1/catalog", TV_R_CATALOG, TV_ROLE_OPERATOR, "");
	expect_route("POST", "/api/v1/inventory", TV_R_INVENTORY, TV_ROLE_OPERATOR, "");
	expect_route("POST", "/api/v1/verify", TV_R_VERIFY, TV_ROLE_OPERATOR, "");
	expect_route("POST", "/api/v1/expire", TV_R_EXPIRE, TV_ROLE_ADMIN, "");
	expect_route("POST", "/api/v1/escrow/request", TV_R_ESCROW_REQUEST, TV_ROLE_ADMIN, "");
	expect_route("POST", "/api/v1/escrow/response", TV_R_ESCROW_RESPONSE, TV_ROLE_ADMIN, "");
	expect_route("GET", "/api/v1/users", TV_R_USERS, TV_ROLE_ADMIN, "");
	expect_route("POST", "/api/v1/users", TV_R_USER_ADD, TV_ROLE_ADMIN, "");
	expect_route("PUT", "/api/v1/users/clerk", TV_R_USER_SET, TV_ROLE_ADMIN, "clerk");
	expect_route("DELETE", "/api/v1/users/clerk", TV_R_USER_DELETE, TV_ROLE_ADMIN, "clerk");
	expect_route("GET", "/", TV_R_ASSET, TV_ROLE_NONE, "index.html");
	expect_route("HEAD", "/app.js", TV_R_ASSET, TV_ROLE_NONE, "app.js");
}

static void test_route_refusals(void **state)
{
	struct tv_route r;

	(void)state;
	assert_int_equal(tv_route_parse("GET", "/api/v1/login", &r), TV_ERR_UNSUPPORTED);
	assert_true(r.api);
	assert_int_equal(r.need, TV_ROLE_VIEWER);   /* a login first, then 405 */
	assert_int_equal(tv_route_parse("DELETE", "/api/v1/tapes", &r), TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_route_parse("GET", "/api/v1/verify", &r), TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_route_parse("PATCH", "/api/v1/users/x", &r), TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_route_parse("GET", "/api/v1/nothing", &r), TV_ERR_NOTFOUND);
	assert_int_equal(tv_route_parse("GET", "/api/v1/tapes/", &r), TV_ERR_NOTFOUND);
	assert_int_equal(tv_route_parse("POST", "/api/v1/tapes//decrypt", &r), TV_ERR_NOTFOUND);
	assert_int_equal(tv_route_parse("POST", "/api/v1/tapes/a\x01/decrypt", &r), TV_ERR_INVAL);
	assert_int_equal(tv_route_parse("GET", "/api/v1/backups/x/files/more", &r),
	                 TV_ERR_NOTFOUND);
	assert_int_equal(tv_route_parse("GET", "/../catalog.db", &r), TV_ERR_NOTFOUND);
	assert_false(r.api);
	assert_int_equal(tv_route_parse("GET", "/.hidden", &r), TV_ERR_NOTFOUND);
	assert_int_equal(tv_route_parse("GET", "/App.js", &r), TV_ERR_NOTFOUND);
	assert_int_equal(tv_route_parse("POST", "/app.js", &r), TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_route_parse("GET", "relative", &r), TV_ERR_NOTFOUND);
	{
		char longp[400];
		memset(longp, 'a', sizeof(longp));
		memcpy(longp, "/api/v1/backups/", 16);
		memcpy(longp + sizeof(longp) - 7, "/files", 7);
		assert_int_equal(tv_route_parse("GET", longp, &r), TV_ERR_INVAL);
	}
}

static void test_bearer(void **state)
{
	static const char hex[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
	uint8_t t[TV_TOKEN_LEN];
	char h[128];

	(void)state;
	snprintf(h, sizeof(h), "Bearer %s", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), 0);
	assert_int_equal(t[0], 0x00);
	assert_int_equal(t[1], 0x11);
	assert_int_equal(t[31], 0xff);
	snprintf(h, sizeof(h), "  bearer\t %s  ", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), 0);
	snprintf(h, sizeof(h), "Bearer %.63s", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), TV_ERR_INVAL);
	snprintf(h, sizeof(h), "Bearer %s0", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), TV_ERR_INVAL);
	snprintf(h, sizeof(h), "Basic %s", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), TV_ERR_INVAL);
	snprintf(h, sizeof(h), "Bearer%s", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), TV_ERR_INVAL);
	snprintf(h, sizeof(h), "Bearer %.62sg0", hex);
	assert_int_equal(tv_auth_parse_bearer(h, t), TV_ERR_INVAL);
	for (size_t i = 0; i < sizeof(t); i++)
		assert_int_equal(t[i], 0);   /* a refused token leaves nothing behind */
	assert_int_equal(tv_auth_parse_bearer(NULL, t), TV_ERR_INVAL);
	assert_int_equal(tv_auth_parse_bearer("", t), TV_ERR_INVAL);
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(tv_role_parse("viewer"), TV_ROLE_VIEWER);
	assert_int_equal(tv_role_parse("operator"), TV_ROLE_OPERATOR);
	assert_int_equal(tv_role_parse("admin"), TV_ROLE_ADMIN);
	assert_int_equal(tv_role_parse("root"), TV_ROLE_NONE);
	assert_int_equal(tv_role_parse(NULL), TV_ROLE_NONE);
	assert_true(TV_ROLE_VIEWER < TV_ROLE_OPERATOR && TV_ROLE_OPERATOR < TV_ROLE_ADMIN);
	assert_string_equal(tv_role_name(TV_ROLE_OPERATOR), "operator");
	assert_true(tv_web_user_name_valid("alice.b@x-1"));
	assert_false(tv_web_user_name_valid(""));
	assert_false(tv_web_user_name_valid("a b"));
	assert_false(tv_web_user_name_valid("a\"b"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_route_refusals),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_roles),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
