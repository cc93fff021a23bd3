/* tapevault: the web console and REST API (tapevault serve) and its users
 * (tapevault user add).
 *
 * One process serves HTTPS (libmicrohttpd over GnuTLS), a thread per
 * connection; every request that touches the state directory holds one
 * mutex, so the catalog has one SQLite connection used by one thread at a
 * time, and jobs (decrypt, restore) run in the serving process.  Users
 * and their Argon2id password hashes are in the catalog (web_users);
 * login tokens live in this process only, hashed (web/auth.c). */
#ifndef TV_WEB_H
#define TV_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/home.h"

#define TV_WEB_LISTEN_DEFAULT "127.0.0.1:8443"
#define TV_WEB_TOKEN_TTL_DEFAULT 3600   /* seconds */

struct tv_web_opts {
	const char *listen;          /* ADDR:PORT ([V6ADDR]:PORT); NULL: the default; port 0:
	                              * any free port (said on stderr, and in port_file) */
	const char *tls_cert, *tls_key;  /* PEM files; NULL: HOME/web/tls.crt and tls.key,
	                                  * a self-signed pair made at first start */
	int insecure_http;           /* plain HTTP: for tests only, never the default */
	int64_t token_ttl;           /* seconds a login token lives; 0: the default */
	const char *port_file;       /* NULL, or where to write the port served */
};

/* Serves until SIGINT or SIGTERM; 0 after a clean stop. */
int tv_web_serve(struct tv_home *h, const struct tv_web_opts *o);

/* A console user: name [A-Za-z0-9._@-]{1,64}, role admin | operator |
 * viewer; the password is hashed with Argon2id (never stored).
 * TV_ERR_EXISTS when the name is taken. */
int tv_web_user_add(struct tv_home *h, const char *name, const char *role, const char *pw,
                    size_t pwlen);

struct tv_item;
/* "A,B,C" as a JSON array of strings ("" or NULL: empty). */
json_t *tv_web_csv_array(const char *s);
/* An item of a backup set as the REST API and the CLI's --json give it. */
json_t *tv_web_item_json(const struct tv_item *it);

#endif
