/* tapevault web: the request path and the Authorization header, parsed
 * from untrusted bytes with bounded sizes (fuzzed: tests/fuzz/fuzz_web_route.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"
#include "util/hex.h"
#include "web/web_int.h"

#define URL_MAX 2048

struct route_def {
	const char *method;
	const char *pattern;     /* '*' stands for one path segment: the parameter */
	enum tv_route_id id;
	enum tv_role need;
};

static const struct route_def routes[] = {
	{"POST", "/api/v1/login", TV_R_LOGIN, TV_ROLE_NONE},
	{"POST", "/api/v1/logout", TV_R_LOGOUT, TV_ROLE_VIEWER},
	{"GET", "/api/v1/me", TV_R_ME, TV_ROLE_VIEWER},
	{"GET", "/api/v1/libraries", TV_R_LIBRARIES, TV_ROLE_VIEWER},
	{"GET", "/api/v1/pools", TV_R_POOLS, TV_ROLE_VIEWER},
	{"GET", "/api/v1/tapes", TV_R_TAPES, TV_ROLE_VIEWER},
	{"POST", "/api/v1/tapes/*/decrypt", TV_R_TAPE_DECRYPT, TV_ROLE_OPERATOR},
	{"GET", "/api/v1/backups", TV_R_BACKUPS, TV_ROLE_VIEWER},
	{"GET", "/api/v1/backups/*/files", TV_R_BACKUP_FILES, TV_ROLE_VIEWER},
	{"POST", "/api/v1/backups/*/restore", TV_R_BACKUP_RESTORE, TV_ROLE_OPERATOR},
	{"GET", "/api/v1/jobs", TV_R_JOBS, TV_ROLE_VIEWER},
	{"GET", "/api/v1/audit", TV_R_AUDIT, TV_ROLE_OPERATOR},
	{"GET", "/api/v1/jobs/*", TV_R_JOB, TV_ROLE_VIEWER},
	{"POST", "/api/v1/find", TV_R_FIND, TV_ROLE_VIEWER},
	{"POST", "/api/v1/catalog", TV_R_CATALOG, TV_ROLE_OPERATOR},
	{"POST", "/api/v1/inventory", TV_R_INVENTORY, TV_ROLE_OPERATOR},
	{"POST", "/api/v1/verify", TV_R_VERIFY, TV_ROLE_OPERATOR},
	{"POST", "/api/v1/expire", TV_R_EXPIRE, TV_ROLE_ADMIN},
	{"POST", "/api/v1/escrow/request", TV_R_ESCROW_REQUEST, TV_ROLE_ADMIN},
	{"POST", "/api/v1/escrow/response", TV_R_ESCROW_RESPONSE, TV_ROLE_ADMIN},
	{"GET", "/api/v1/users", TV_R_USERS, TV_ROLE_ADMIN},
	{"POST", "/api/v1/users", TV_R_USER_ADD, TV_ROLE_ADMIN},
	{"PUT", "/api/v1/users/*", TV_R_USER_SET, TV_ROLE_ADMIN},
	{"DELETE", "/api/v1/users/*", TV_R_USER_DELETE, TV_ROLE_ADMIN},
};

/* A parameter's bytes: printable, no '/', no control or DEL; UTF-8 bytes
 * pass as they are (names are looked up, never used as paths). */
static int param_ok(const char *s, size_t n)
{
	if (n == 0 || n >= TV_ROUTE_PARAM_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '/')
			return 0;
	}
	return 1;
}

/* 1 when url matches pattern (the '*' segment copied to param), 0 when
 * not, -1 when it matches but the parameter is not acceptable. */
static int match(const char *pattern, const char *url, char *param)
{
	const char *p = pattern, *u = url;

	while (*p != '\0') {
		if (*p == '*') {
			size_t n = strcspn(u, "/");
			if (n == 0)
				return 0;
			if (!param_ok(u, n))
				return -1;
			memcpy(param, u, n);
			param[n] = '\0';
			u += n;
			p++;
			continue;
		}
		if (*p != *u)
			return 0;
		p++;
		u++;
	}
	return *u == '\0' ? 1 : 0;
}

/* A console file: "/" is index.html, else one segment of [a-z0-9._-]
 * that does not start with a dot. */
static int asset_path(const char *url, struct tv_route *r)
{
	const char *n = url + 1;
	size_t len;

	if (strcmp(url, "/") == 0) {
		snprintf(r->param, sizeof(r->param), "index.html");
		return 0;
	}
	len = strlen(n);
	if (len == 0 || len > 64 || n[0] == '.' || strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789._-") != len)
		return TV_ERR_NOTFOUND;
	memcpy(r->param, n, len + 1);
	return 0;
}

int tv_route_parse(const char *method, const char *url, struct tv_route *r)
{
	int wrong_method = 0, bad = 0;

	memset(r, 0, sizeof(*r));
	if (method == NULL || url == NULL || url[0] != '/' || strlen(url) > URL_MAX)
		return TV_ERR_NOTFOUND;
	r->api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0;
	if (!r->api) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return asset_path(url, r) == 0 ? TV_ERR_UNSUPPORTED : TV_ERR_NOTFOUND;
		if (asset_path(url, r) != 0)
			return TV_ERR_NOTFOUND;
		r->id = TV_R_ASSET;
		return 0;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char param[TV_ROUTE_PARAM_MAX];
		int m = match(routes[i].pattern, url, param);
		if (m == 0)
			continue;
		if (m < 0) {
			bad = 1;
			continue;
		}
		if (strcmp(method, routes[i].method) != 0) {
			wrong_method = 1;
			continue;
		}
		r->id = routes[i].id;
		r->need = routes[i].need;
		memcpy(r->param, param, sizeof(param));
		if (strchr(routes[i].pattern, '*') == NULL)
			r->param[0] = '\0';
		return 0;
	}
	r->need = TV_ROLE_VIEWER;   /* an unknown API path needs a login all the same */
	return bad ? TV_ERR_INVAL : wrong_method ? TV_ERR_UNSUPPORTED : TV_ERR_NOTFOUND;
}

int tv_auth_parse_bearer(const char *hdr, uint8_t token[TV_TOKEN_LEN])
{
	const char *p = hdr;

	if (p == NULL)
		return TV_ERR_INVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return TV_ERR_INVAL;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	for (size_t i = 0; i < TV_TOKEN_LEN; i++) {
		int hi = tv_hexval(p[2 * i]), lo = hi < 0 ? -1 : tv_hexval(p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			goto bad;
		token[i] = (uint8_t)(hi << 4 | lo);
	}
	p += 2 * TV_TOKEN_LEN;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
bad:
	memset(token, 0, TV_TOKEN_LEN);
	return TV_ERR_INVAL;
}
