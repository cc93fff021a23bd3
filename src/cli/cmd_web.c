/* tapevault CLI: the web console (serve) and its users (user add). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/password.h"
#include "util/err.h"
#include "util/wipe.h"
#include "web/web.h"

struct wopts {
	const char *password_file, *role, *listen, *cert, *key, *ttl, *port_file;
	int insecure;
};

static int w_opt(int o, const char *arg, void *ctx)
{
	struct wopts *w = ctx;

	switch (o) {
	case 'p': w->password_file = arg; break;
	case 'r': w->role = arg; break;
	case 'l': w->listen = arg; break;
	case 'c': w->cert = arg; break;
	case 'k': w->key = arg; break;
	case 'T': w->ttl = arg; break;
	case 'P': w->port_file = arg; break;
	case 'I': w->insecure = 1; break;
	default: return -1;
	}
	return 0;
}

int cmd_user_add(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"password-file", required_argument, NULL, 'p'},
	                                  {"role", required_argument, NULL, 'r'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("user add");
	struct wopts w = {0};
	char *pw = NULL;
	size_t len = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, w_opt, &w)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "user add takes one user name");
	if (w.role == NULL)
		w.role = "viewer";
	if (strcmp(w.role, "admin") && strcmp(w.role, "operator") && strcmp(w.role, "viewer"))
		return cli_usage(cmd, "--role is admin, operator or viewer");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_password_read(w.password_file, "Password for the console user: ", 1, &pw,
	                          &len)) != 0)
		return cli_fail(c, r, "user add");
	r = tv_web_user_add(c->h, argv[1], w.role, pw, len);
	tv_freezero(pw, len + 1);
	if (r != 0)
		return cli_fail(c, r, "user add");
	if (c->json) {
		cli_json_set(c, "user", json_string(argv[1]));
		cli_json_set(c, "role", json_string(w.role));
	} else if (!c->quiet) {
		fprintf(stderr, "user %s added (role %s)\n", argv[1], w.role);
	}
	return EXIT_OK;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"listen", required_argument, NULL, 'l'},
	                                  {"tls-cert", required_argument, NULL, 'c'},
	                                  {"tls-key", required_argument, NULL, 'k'},
	                                  {"insecure-http", no_argument, NULL, 'I'},
	                                  {"token-ttl", required_argument, NULL, 'T'},
	                                  {"port-file", required_argument, NULL, 'P'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("serve");
	struct wopts w = {0};
	struct tv_web_opts wo = {0};
	char *end;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, w_opt, &w)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "serve takes no operands");
	if ((w.cert == NULL) != (w.key == NULL))
		return cli_usage(cmd, "give both --tls-cert and --tls-key, or neither");
	if (w.insecure && w.cert != NULL)
		return cli_usage(cmd, "--insecure-http serves no TLS: drop --tls-cert/--tls-key");
	if (w.ttl != NULL) {
		wo.token_ttl = strtoll(w.ttl, &end, 10);
		if (w.ttl[0] == '\0' || *end != '\0' || wo.token_ttl < 1)
			return cli_usage(cmd, "--token-ttl takes seconds (1 or more)");
	}
	if (cli_open(c))
		return EXIT_FAIL;
	wo.listen = w.listen;
	wo.tls_cert = w.cert;
	wo.tls_key = w.key;
	wo.insecure_http = w.insecure;
	wo.port_file = w.port_file;
	if ((r = tv_web_serve(c->h, &wo)) != 0)
		return cli_fail(c, r, "serve");
	return EXIT_OK;
}
