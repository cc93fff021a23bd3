/* tapevault web layer internals: routes, tokens, users, handlers. */
#ifndef TV_WEB_INT_H
#define TV_WEB_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/home.h"

enum tv_role { TV_ROLE_NONE = 0, TV_ROLE_VIEWER, TV_ROLE_OPERATOR, TV_ROLE_ADMIN };
const char *tv_role_name(enum tv_role r);
enum tv_role tv_role_parse(const char *s);   /* TV_ROLE_NONE when unknown */

/* ---- routes (route.c): parsers of untrusted input, fuzzed ---- */
enum tv_route_id {
	TV_R_NONE = 0,
	TV_R_ASSET,          /* a static file of the console: param is its name */
	TV_R_LOGIN, TV_R_LOGOUT, TV_R_ME,
	TV_R_LIBRARIES, TV_R_POOLS, TV_R_TAPES, TV_R_TAPE_DECRYPT,
	TV_R_BACKUPS, TV_R_BACKUP_FILES, TV_R_BACKUP_RESTORE,
	TV_R_JOBS, TV_R_AUDIT,
	/* jobs run in the background (webjobs.c): POST starts, GET /jobs/{id} */
	TV_R_FIND, TV_R_CATALOG, TV_R_INVENTORY, TV_R_VERIFY, TV_R_EXPIRE, TV_R_JOB,
	/* escrow (api_escrow.c) */
	TV_R_ESCROW_REQUEST, TV_R_ESCROW_RESPONSE,
	/* console users (api_users.c): admin only */
	TV_R_USERS, TV_R_USER_ADD, TV_R_USER_SET, TV_R_USER_DELETE,
};
#define TV_ROUTE_PARAM_MAX 256
struct tv_route {
	enum tv_route_id id;
	int api;                     /* the path is under /api/ */
	enum tv_role need;           /* the least role that may use it (NONE: no login) */
	char param[TV_ROUTE_PARAM_MAX];  /* {barcode} or {set}; asset name */
};
/* 0 with the route; TV_ERR_NOTFOUND (404), TV_ERR_UNSUPPORTED (method not
 * allowed: 405), TV_ERR_INVAL (a parameter with bytes it may not hold).
 * r->api is set whatever the result. */
int tv_route_parse(const char *method, const char *url, struct tv_route *r);

#define TV_TOKEN_LEN 32
/* "Bearer <64 hex digits>" (scheme case-insensitive, spaces around):
 * 0 with the token's bytes, else TV_ERR_INVAL. */
int tv_auth_parse_bearer(const char *hdr, uint8_t token[TV_TOKEN_LEN]);

/* ---- logins and tokens (auth.c) ---- */
#define TV_WEB_SESSIONS 1024
#define TV_LOGIN_FAILS_MAX 5         /* failed logins of one name ... */
#define TV_LOGIN_FAILS_WINDOW 60     /* ... within this many seconds: refused (429) */
#define TV_WEB_USER_MAX 64

struct tv_session {
	uint8_t hash[32];            /* SHA-256 of the token; the token itself is not kept */
	char user[TV_WEB_USER_MAX + 1];
	enum tv_role role;
	int64_t expires;             /* unix milliseconds; 0: free entry */
};
struct tv_login_fail {
	char user[TV_WEB_USER_MAX + 1];
	int64_t first;               /* start of the window */
	int count;
};

#define TV_WEBJOBS_MAX 64          /* jobs kept in memory (the last ones) */
struct tv_webjob;

/* Read-only routes use their own catalog connections (SQLite in WAL mode
 * lets them read while a job writes), one request at a time each. */
#define TV_WEB_READERS 4

struct tv_web {
	struct tv_home *h;
	pthread_mutex_t db_mu;       /* the state directory: one user at a time */
	struct tv_home *readers[TV_WEB_READERS];   /* NULL: reads go through h */
	pthread_mutex_t reader_mu[TV_WEB_READERS];
	unsigned next_reader;
	pthread_mutex_t auth_mu;     /* sessions and fails */
	int64_t token_ttl;
	struct tv_session sessions[TV_WEB_SESSIONS];
	struct tv_login_fail fails[64];
	int tls;
	/* jobs started through the API (webjobs.c), newest last */
	pthread_mutex_t jobs_mu;
	pthread_cond_t jobs_cv;      /* a job thread ended */
	struct tv_webjob *jobs[TV_WEBJOBS_MAX];
	int64_t next_job_id;
	int jobs_running;            /* threads not yet ended */
	int stopping;
};

struct tv_principal {
	char user[TV_WEB_USER_MAX + 1];
	enum tv_role role;
};

/* Checks the password; 0 with a fresh token (hex, 64 chars + NUL) and
 * the user's role.  TV_ERR_BADKEY (wrong user or password: audited),
 * TV_ERR_RETRY (too many failures for that name: audited too). */
int tv_auth_login(struct tv_web *w, const char *user, const char *pw, size_t pwlen,
                  const char *client, char token[2 * TV_TOKEN_LEN + 1], enum tv_role *role);
/* From an Authorization header value (NULL: none): 0 with who it is;
 * TV_ERR_PERM when missing, malformed, unknown or expired (401). */
int tv_auth_check(struct tv_web *w, const char *authz, struct tv_principal *p);
void tv_auth_logout(struct tv_web *w, const char *authz);

/* ---- users (users.c) ---- */
/* The user's encoded hash and role; TV_ERR_NOTFOUND when unknown. */
int tv_web_user_get(struct tv_home *h, const char *name, char *hash, size_t hashsz,
                    enum tv_role *role);
int tv_web_user_name_valid(const char *name);
typedef int tv_web_user_fn(void *ctx, const char *name, const char *role, int64_t created);
int tv_web_user_list(struct tv_home *h, tv_web_user_fn *fn, void *ctx);
/* TV_ERR_NOTFOUND; TV_ERR_STATE for the last admin (removed or demoted). */
int tv_web_user_delete(struct tv_home *h, const char *name);
int tv_web_user_set_role(struct tv_home *h, const char *name, const char *role);
int tv_web_user_set_password(struct tv_home *h, const char *name, const char *pw, size_t pwlen);
/* auth.c: every token of the user is forgotten (removed, role or password changed). */
void tv_auth_forget_user(struct tv_web *w, const char *name);

/* ---- REST handlers (api.c, api_jobs.c, webjobs.c, api_escrow.c, api_users.c) ---- */
struct tv_api_req {
	struct tv_web *w;
	const struct tv_route *route;
	const struct tv_principal *who;
	struct tv_home *h;           /* the state directory the handler uses */
	const char *client;          /* the peer's address, for the audit log */
	json_t *body;                /* the parsed JSON body of a POST; NULL otherwise */
	/* query arguments (NULL when absent) */
	const char *q_pool, *q_state, *q_limit, *q_offset, *q_dir;
};
struct tv_api_resp {
	unsigned status;
	json_t *json;                /* owned */
};
/* Runs a route; always fills resp (an error as {"error": "..."}). */
void tv_api_dispatch(struct tv_api_req *rq, struct tv_api_resp *rs);
void tv_api_error(struct tv_api_resp *rs, unsigned status, const char *msg);
/* api_users.c, api_escrow.c (under db_mu) */
void tv_api_users(struct tv_api_req *rq, struct tv_api_resp *rs);
void tv_api_escrow(struct tv_api_req *rq, struct tv_api_resp *rs);
/* A job's error code as an HTTP status. */
unsigned tv_api_status(int err);
/* files.c: one page of a set's items as the files route answers it */
int tv_web_files_page(struct tv_home *h, const char *set, int64_t offset, int64_t limit,
                      json_t **out);
/* files.c: the entries right under a directory of a set (the file picker) */
int tv_web_files_dir(struct tv_home *h, const char *set, const char *dir, json_t **out);
/* api_jobs.c */
void tv_api_decrypt(struct tv_api_req *rq, struct tv_api_resp *rs);
void tv_api_jobs(struct tv_api_req *rq, struct tv_api_resp *rs);
void tv_api_audit(struct tv_api_req *rq, struct tv_api_resp *rs);
/* The state directory to use, locked: a reader connection for read_only
 * work when there is one, else the main one under db_mu.  Unlock the
 * mutex returned when done. */
pthread_mutex_t *tv_web_lock_home(struct tv_web *w, int read_only, struct tv_home **h);
/* A tape as the API lists it (tape_fn of catalog/query.h; ctx: a JSON array). */
struct tv_tape_row;
int tv_web_tape_row(void *ctx, const struct tv_tape_row *t);

/* A job run from the API: its row in the job history around it, its line
 * in the audit log after ("web KIND", with the console user and address). */
struct tv_web_jobrec {
	struct tv_home *h;
	const char *kind, *key_path, *tapes, *user, *client;
	int64_t id;                  /* the job history row; 0: none */
};
void tv_web_job_begin(struct tv_web_jobrec *j, const char *operands);
void tv_web_job_end(struct tv_web_jobrec *j, int r);
/* restore's body as the restore options (pointers into rq->body); paths
 * freed by the caller.  0, or -1 with a 400 said. */
struct tv_restore_opts;
int tv_api_restore_args(json_t *body, struct tv_api_resp *rs, struct tv_restore_opts *ro,
                        char ***paths);

/* webjobs.c: background jobs */
void tv_webjobs_init(struct tv_web *w);
/* Asks running jobs to stop at a clean point, waits for them, frees all. */
void tv_webjobs_stop(struct tv_web *w);
void tv_api_job_start(struct tv_api_req *rq, struct tv_api_resp *rs);
void tv_api_job_get(struct tv_api_req *rq, struct tv_api_resp *rs);
/* Test hook: tests/support/web_hooks.c sets it in tapevault-test only
 * (TAPEVAULT_TEST_WEB_SLOW): called at each progress report of a job, to
 * make a short job last long enough to be watched. */
extern void (*tv_web_progress_test_hook)(void);

/* ---- the console's files (generated from src/web/assets/ at build) ---- */
struct tv_asset {
	const char *name;
	const unsigned char *data;
	size_t len;
};
extern const struct tv_asset tv_web_assets[];   /* ends with a NULL name */
const struct tv_asset *tv_asset_find(const char *name);

/* ---- TLS (tls.c) ---- */
/* Makes HOME/web/tls.crt and tls.key (0600) when they are not there. */
int tv_web_tls_ensure(const char *home, char *cert, size_t certsz, char *key, size_t keysz,
                      int *made);
/* SHA-256 fingerprint of the first certificate in a PEM text. */
int tv_web_tls_fingerprint(const char *pem, char *out, size_t outsz);

#endif
