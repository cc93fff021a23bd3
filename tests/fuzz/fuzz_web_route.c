/* Fuzz target: what an HTTP client controls before it is logged in
 * (src/web/route.c): the request path with its method, and the
 * Authorization header.  Input: METHOD '\n' PATH '\n' HEADER (missing
 * parts are empty).  Checks, beyond "no crash": a route found has a
 * parameter that is non-empty exactly when its pattern has one, holds no
 * '/' or control byte, and is NUL-terminated within its bound; a token
 * parsed is the hex it was given (re-encoded, it parses to the same). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s\n", #c); abort(); } } while (0)

static void check_route(const char *method, const char *url)
{
	struct tv_route r;
	int rc = tv_route_parse(method, url, &r);
	size_t n;

	CHECK(rc == 0 || rc < 0);
	if (rc != 0)
		return;
	n = strnlen(r.param, sizeof(r.param));
	CHECK(n < sizeof(r.param));
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)r.param[i] >= 0x20 && r.param[i] != '/' && r.param[i] != 0x7f);
	if (r.id == TV_R_TAPE_DECRYPT || r.id == TV_R_BACKUP_FILES || r.id == TV_R_BACKUP_RESTORE ||
	    r.id == TV_R_ASSET)
		CHECK(n > 0);
	else
		CHECK(n == 0);
	CHECK(r.api == (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0));
	if (r.id == TV_R_ASSET)
		CHECK(strstr(r.param, "..") == NULL || r.param[0] != '.');
}

static void check_bearer(const char *hdr)
{
	uint8_t tok[TV_TOKEN_LEN], again[TV_TOKEN_LEN];
	char text[16 + 2 * TV_TOKEN_LEN + 1];

	if (tv_auth_parse_bearer(hdr, tok) != 0)
		return;
	memcpy(text, "Bearer ", 7);
	for (size_t i = 0; i < TV_TOKEN_LEN; i++)
		snprintf(text + 7 + 2 * i, 3, "%02x", tok[i]);
	CHECK(tv_auth_parse_bearer(text, again) == 0);
	CHECK(memcmp(tok, again, sizeof(tok)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *method, *url, *hdr, *nl;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	method = s;
	url = "";
	hdr = "";
	if ((nl = strchr(method, '\n')) != NULL) {
		*nl = '\0';
		url = nl + 1;
		if ((nl = strchr(url, '\n')) != NULL) {
			*nl = '\0';
			hdr = nl + 1;
		}
	}
	check_route(method, url);
	check_bearer(hdr);
	check_bearer(url);
	free(s);
	return 0;
}
