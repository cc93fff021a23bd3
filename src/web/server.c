/* tapevault web: the HTTP(S) server (libmicrohttpd), a thread per
 * connection.  Every request: the route (route.c), then the token
 * (auth.c) and the role, then the handler (api*.c) under the state
 * directory's mutex.  Request bodies are capped (TV_WEB_BODY_MAX) and
 * wiped when freed; every response carries a strict Content-Security-
 * Policy and nosniff, and API answers are not cached. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"
#include "web/web.h"
#include "web/web_int.h"

#define TV_WEB_BODY_MAX (64 * 1024)

struct req {
	struct tv_buf body;
	int too_big;
};

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

static void security_headers(struct tv_web *w, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	if (w->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result send_bytes(struct tv_web *w, struct MHD_Connection *con,
                                  unsigned status, const char *type, const void *p, size_t n,
                                  int api)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	security_headers(w, resp);
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"tapevault\"");
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_json(struct tv_web *w, struct MHD_Connection *con,
                                 struct tv_api_resp *rs)
{
	char *s = rs->json ? json_dumps(rs->json, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	if (s == NULL)
		return send_bytes(w, con, 500, "application/json", "{\"error\":\"internal\"}", 20, 1);
	ret = send_bytes(w, con, rs->status, "application/json; charset=utf-8", s, strlen(s), 1);
	free(s);
	return ret;
}

static const char *mime_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

static void client_addr(struct MHD_Connection *con, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(out, outsz, "?");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out,
		          (socklen_t)outsz);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out,
		          (socklen_t)outsz);
}

/* The JSON body of a POST ({} when empty), at most TV_WEB_BODY_MAX bytes. */
static int parse_body(struct req *rq, json_t **out)
{
	json_error_t e;

	*out = NULL;
	if (tv_buf_avail(&rq->body) == 0) {
		*out = json_object();
		return 0;
	}
	*out = json_loadb((const char *)tv_buf_ptr(&rq->body), tv_buf_avail(&rq->body),
	                  JSON_REJECT_DUPLICATES, &e);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return tv_errf(TV_ERR_INVAL, "the body is not a JSON object");
	}
	return 0;
}

static void api_call(struct tv_web *w, struct MHD_Connection *con, struct req *body,
                     const struct tv_route *route, struct tv_api_resp *rs)
{
	struct tv_principal who = {0};
	struct tv_api_req rq = {.w = w, .route = route, .who = &who};
	char client[64];

	client_addr(con, client, sizeof(client));
	rq.client = client;
	if (route->id != TV_R_LOGIN &&
	    tv_auth_check(w, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization"),
	                  &who) != 0) {
		tv_api_error(rs, 401, tv_errmsg(TV_ERR_PERM));
		return;
	}
	if (route->id == TV_R_NONE) {
		tv_api_error(rs, 404, "no such API route");
		return;
	}
	if (who.role < route->need) {
		tv_api_error(rs, 403, "your role may not do this");
		return;
	}
	if (body->too_big) {
		tv_api_error(rs, 413, "request body too large");
		return;
	}
	if (parse_body(body, &rq.body) != 0) {
		tv_api_error(rs, 400, tv_errmsg(TV_ERR_INVAL));
		return;
	}
	rq.q_pool = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "pool");
	rq.q_state = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "state");
	rq.q_limit = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "limit");
	rq.q_offset = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "offset");
	rq.q_dir = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "dir");
	if (route->id == TV_R_LOGOUT)
		tv_auth_logout(w, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization"));
	tv_api_dispatch(&rq, rs);
	json_decref(rq.body);   /* its strings are wiped as freed (wipe_free) */
}

/* One line per API request on stderr: method, path (control bytes shown
 * as '?', at most 200 bytes), status.  Never a header or a body. */
static void access_log(const char *method, const char *url, unsigned status)
{
	char safe[201];
	size_t i;

	for (i = 0; url[i] != '\0' && i < sizeof(safe) - 1; i++)
		safe[i] = (unsigned char)url[i] < 0x20 || url[i] == 0x7f ? '?' : url[i];
	safe[i] = '\0';
	fprintf(stderr, "tapevault serve: %s %s -> %u\n", method, safe, status);
}

static enum MHD_Result serve(struct tv_web *w, struct MHD_Connection *con, const char *url,
                             const char *method, struct req *body)
{
	struct tv_route route;
	struct tv_api_resp rs = {0};
	enum MHD_Result ret;
	int r = tv_route_parse(method, url, &route);

	if (!route.api) {
		const struct tv_asset *a = r == 0 ? tv_asset_find(route.param) : NULL;
		if (r == TV_ERR_UNSUPPORTED)
			return send_bytes(w, con, 405, "text/plain", "method not allowed\n", 19, 0);
		if (a == NULL)
			return send_bytes(w, con, 404, "text/plain", "not found\n", 10, 0);
		return send_bytes(w, con, 200, mime_of(a->name), a->data, a->len, 0);
	}
	if (r == TV_ERR_UNSUPPORTED || r == TV_ERR_INVAL || r == TV_ERR_NOTFOUND) {
		route.id = TV_R_NONE;   /* 401 first, without a token */
		route.need = TV_ROLE_VIEWER;
	}
	api_call(w, con, body, &route, &rs);
	if (rs.status == 404 && r == TV_ERR_UNSUPPORTED)
		tv_api_error(&rs, 405, "method not allowed");
	else if (rs.status == 404 && r == TV_ERR_INVAL)
		tv_api_error(&rs, 400, "a path parameter holds bytes it may not");
	access_log(method, url, rs.status);
	ret = send_json(w, con, &rs);
	json_decref(rs.json);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
	struct tv_web *w = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		tv_buf_init_max(&rq->body, TV_WEB_BODY_MAX);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!rq->too_big && tv_buf_put(&rq->body, upload, *upload_size) != 0) {
			rq->too_big = 1;
			tv_buf_reset(&rq->body);
			tv_errclear();
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return serve(w, con, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (rq == NULL)
		return;
	tv_buf_free(&rq->body);   /* wipes: it may have held a password */
	free(rq);
	*con_cls = NULL;
}

/* jansson's memory is wiped as it is freed in the serving process, so the
 * passwords of request bodies do not linger in freed memory. */
static void wipe_free(void *p)
{
	if (p == NULL)
		return;
	tv_wipe(p, malloc_usable_size(p));
	free(p);
}

struct listen_addr {
	struct sockaddr_storage ss;
	int v6;
};

static int parse_listen(const char *spec, struct listen_addr *la)
{
	char host[256];
	const char *port;
	struct addrinfo hints = {0}, *ai = NULL;
	size_t hl;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		hl = (size_t)(end - spec - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		hl = (size_t)(colon - spec);
		memcpy(host, spec, hl);
		port = colon + 1;
	}
	host[hl] = '\0';
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (port[0] == '\0' || getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		goto bad;
	memcpy(&la->ss, ai->ai_addr, ai->ai_addrlen);
	la->v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
bad:
	return tv_errf(TV_ERR_INVAL, "--listen %s: give ADDR:PORT with a numeric address "
	               "(127.0.0.1:8443, [::1]:8443)", spec);
}

/* A whole PEM file as a string (at most 1 MiB). */
static int read_pem(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct tv_buf b;
	char chunk[4096];
	size_t n;
	uint8_t *p;
	int r = 0;

	*out = NULL;
	if (f == NULL)
		return tv_errf(TV_ERR_IO, "%s: %s", path, strerror(errno));
	tv_buf_init_max(&b, 1024 * 1024);
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = tv_buf_put(&b, chunk, n);
	tv_wipe(chunk, sizeof(chunk));
	if (r == 0 && ferror(f))
		r = tv_errf(TV_ERR_IO, "%s: read error", path);
	fclose(f);
	if (r == 0)
		r = tv_buf_put_u8(&b, 0);
	if (r == 0)
		r = tv_buf_steal(&b, &p, len);
	tv_buf_free(&b);
	if (r != 0)
		return tv_errctx(r, "%s", path);
	*out = (char *)p;
	return 0;
}

struct tls_files {
	char cert_path[4200], key_path[4200];
	char *cert, *key;
	size_t cert_len, key_len;
	int made;
};

static int load_tls(struct tv_home *h, const struct tv_web_opts *o, struct tls_files *t)
{
	int r;

	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return tv_errf(TV_ERR_INVAL, "give both --tls-cert and --tls-key, or neither");
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return tv_errf(TV_ERR_UNSUPPORTED, "this libmicrohttpd was built without TLS");
	if (o->tls_cert != NULL) {
		snprintf(t->cert_path, sizeof(t->cert_path), "%s", o->tls_cert);
		snprintf(t->key_path, sizeof(t->key_path), "%s", o->tls_key);
	} else if ((r = tv_web_tls_ensure(h->dir, t->cert_path, sizeof(t->cert_path), t->key_path,
	                                  sizeof(t->key_path), &t->made)) != 0) {
		return r;
	}
	if ((r = read_pem(t->cert_path, &t->cert, &t->cert_len)) != 0)
		return r;
	return read_pem(t->key_path, &t->key, &t->key_len);
}

static void say_listening(struct tv_web *w, struct MHD_Daemon *d, const struct listen_addr *la,
                          const struct tls_files *t, const struct tv_web_opts *o)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : 0;
	char host[64] = "?", fpr[128] = "";

	if (la->v6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&la->ss)->sin6_addr, host,
		          sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&la->ss)->sin_addr, host,
		          sizeof(host));
	if (w->tls) {
		(void)tv_web_tls_fingerprint(t->cert, fpr, sizeof(fpr));
		if (t->made)
			fprintf(stderr, "tapevault serve: made a self-signed certificate: %s\n",
			        t->cert_path);
		fprintf(stderr, "tapevault serve: certificate SHA-256 fingerprint %s\n", fpr);
	} else {
		fprintf(stderr, "tapevault serve: WARNING: plain HTTP (--insecure-http, for tests "
		        "only): passwords and tokens cross the network in clear\n");
	}
	fprintf(stderr, "tapevault serve: serving %s://%s%s%s:%u/ (stop with Ctrl-C)\n",
	        w->tls ? "https" : "http", la->v6 ? "[" : "", host, la->v6 ? "]" : "", port);
	if (o->port_file != NULL) {
		FILE *f = fopen(o->port_file, "we");
		if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0)
			fprintf(stderr, "tapevault serve: %s: could not be written\n", o->port_file);
	}
}

static struct MHD_Daemon *start(struct tv_web *w, const struct listen_addr *la,
                                const struct tls_files *t)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                 MHD_USE_POLL | MHD_USE_ERROR_LOG;

	if (la->v6)
		flags |= MHD_USE_IPv6;
	if (w->tls)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, w,
	                        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&la->ss,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
	                        MHD_OPTION_CONNECTION_LIMIT, 512u,
	                        MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	                        w->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, t->key,
	                        MHD_OPTION_HTTPS_MEM_CERT, t->cert,
	                        MHD_OPTION_HTTPS_PRIORITIES,
	                        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	                        MHD_OPTION_END);
}

int tv_web_serve(struct tv_home *h, const struct tv_web_opts *o)
{
	struct tv_web *w = calloc(1, sizeof(*w));
	struct listen_addr la;
	struct tls_files *t = calloc(1, sizeof(*t));
	struct MHD_Daemon *d = NULL;
	sigset_t set;
	int r, sig = 0;

	if (w == NULL || t == NULL) {
		r = tv_errf(TV_ERR_NOMEM, "out of memory starting the server");
		goto out;
	}
	w->h = h;
	w->tls = !o->insecure_http;
	w->token_ttl = o->token_ttl > 0 ? o->token_ttl : TV_WEB_TOKEN_TTL_DEFAULT;
	pthread_mutex_init(&w->db_mu, NULL);
	pthread_mutex_init(&w->auth_mu, NULL);
	tv_webjobs_init(w);
	memset(&la, 0, sizeof(la));
	if ((r = parse_listen(o->listen ? o->listen : TV_WEB_LISTEN_DEFAULT, &la)) != 0 ||
	    (w->tls && (r = load_tls(h, o, t)) != 0))
		goto out;
	for (int i = 0; i < TV_WEB_READERS; i++) {
		pthread_mutex_init(&w->reader_mu[i], NULL);
		if (tv_home_open(h->dir, &w->readers[i]) != 0) {
			tv_errclear();   /* fewer readers: reads wait for each other longer */
			break;
		}
		w->readers[i]->quiet = 1;
		/* reads map the catalog instead of a pread per page (the load test:
		 * a third of the server's time was in pread); 0 rows if unsupported */
		{
			int64_t got = 0;
			if (tv_db_get_int(w->readers[i]->db, &got, "PRAGMA mmap_size=268435456", "") != 0)
				tv_errclear();
		}
	}
	json_set_alloc_funcs(malloc, wipe_free);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);   /* the server's threads inherit it */
	if ((d = start(w, &la, t)) == NULL) {
		r = tv_errf(TV_ERR_NET, "could not serve on %s (address in use, or not "
		            "this machine's?)", o->listen ? o->listen : TV_WEB_LISTEN_DEFAULT);
		goto out;
	}
	say_listening(w, d, &la, t, o);
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "tapevault serve: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	MHD_stop_daemon(d);
	tv_webjobs_stop(w);   /* jobs still running stop at a clean point */
	r = 0;
out:
	if (t != NULL) {
		if (t->key != NULL)
			tv_freezero(t->key, t->key_len);
		free(t->cert);
		free(t);
	}
	if (w != NULL) {
		for (int i = 0; i < TV_WEB_READERS; i++)
			if (w->readers[i] != NULL)
				tv_home_close(w->readers[i]);
		tv_wipe(w->sessions, sizeof(w->sessions));
		free(w);
	}
	return r;
}
