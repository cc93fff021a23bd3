/* tapevault CLI: escrow (password loss protection). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli/cli.h"
#include "crypto/escrow.h"
#include "crypto/password.h"
#include "crypto/pkey.h"
#include "crypto/secmem.h"
#include "jobs/escrowjob.h"
#include "util/err.h"

struct eopts {
	const char *out, *password_file, *pub, *keyset, *max_age, *name;
	int yes, allow_partial, trust_new;
	char *keysets[8];
	size_t nkeysets;
};

static int e_opt(int o, const char *arg, void *ctx)
{
	struct eopts *e = ctx;
	switch (o) {
	case 'o': e->out = arg; break;
	case 'p': e->password_file = arg; break;
	case 'P': e->pub = arg; break;
	case 'k':
		e->keyset = arg;
		if (e->nkeysets >= 8) {
			fprintf(stderr, "tapevault: at most 8 --keyset options\n");
			return -1;
		}
		e->keysets[e->nkeysets++] = (char *)(uintptr_t)arg;
		break;
	case 'y': e->yes = 1; break;
	case 'a': e->allow_partial = 1; break;
	case 'T': e->trust_new = 1; break;
	case 'M': e->max_age = arg; break;
	case 'n': e->name = arg; break;
	default: return -1;
	}
	return 0;
}

int cmd_escrow_keygen(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow keygen");
	struct eopts e = {0};
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	char *pp = NULL;
	size_t pplen = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1 || e.out == NULL)
		return cli_usage(cmd, "escrow keygen needs --out KEYSET.pem");
	if ((r = tv_password_read(e.password_file, "Key set passphrase: ", 1, &pp, &pplen)) != 0)
		return cli_fail(c, r, "escrow keygen");
	if (!c->quiet)
		fprintf(stderr, "generating an RSA-%d key set (this takes a few seconds)...\n",
		        TV_ESCROW_RSA_BITS);
	r = tv_escrow_keygen(e.out, pp, pplen, fpr);
	tv_freezero(pp, pplen + 1);
	if (r != 0)
		return cli_fail(c, r, "escrow keygen");
	tv_pkfpr_format(fpr, fs);
	if (c->json)
		cli_json_set(c, "fingerprint", json_string(fs));
	else
		printf("%s\n", fs);
	if (!c->quiet)
		fprintf(stderr, "key set written to %s (keep it and its passphrase safe; export the "
		        "public key with 'tapevault escrow public %s --out PUB.pem')\n", e.out, e.out);
	return EXIT_OK;
}

int cmd_escrow_public(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow public");
	struct eopts e = {0};
	EVP_PKEY *k = NULL;
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	char *pp = NULL;
	size_t pplen = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || e.out == NULL)
		return cli_usage(cmd, "escrow public needs KEYSET.pem and --out PUB.pem");
	if ((r = tv_password_read(e.password_file, "Key set passphrase: ", 0, &pp, &pplen)) != 0)
		return cli_fail(c, r, "escrow public");
	r = tv_escrow_load_keyset(argv[1], pp, pplen, &k);
	tv_freezero(pp, pplen + 1);
	if (r == 0 && (r = tv_escrow_export_public(k, e.out)) == 0 &&
	    (r = tv_pubkey_fingerprint(k, fpr)) == 0) {
		tv_pkfpr_format(fpr, fs);
		if (c->json) {
			cli_json_set(c, "fingerprint", json_string(fs));
			cli_json_set(c, "file", json_string(e.out));
		} else {
			printf("%s\n", fs);
		}
	}
	EVP_PKEY_free(k);
	return r ? cli_fail(c, r, "escrow public") : EXIT_OK;
}

int cmd_escrow_enable(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"public", required_argument, NULL, 'P'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow enable");
	struct eopts e = {0};
	char fs[TV_PKFPR_STR_LEN];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1 || e.pub == NULL)
		return cli_usage(cmd, "escrow enable needs --public PUB.pem");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_escrow_enable(c->h, e.pub, fs, sizeof(fs))) != 0)
		return cli_fail(c, r, "escrow enable");
	if (!c->quiet)
		fprintf(stderr, "password loss protection on: every new tape and encrypted backup file "
		        "gets an escrow slot for %s\n", fs);
	if (c->json) {
		cli_json_set(c, "fingerprint", json_string(fs));
		cli_json_set(c, "enabled", json_true());
	} else {
		printf("%s\n", fs);
	}
	return EXIT_OK;
}

int cmd_escrow_recover(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"keyset", required_argument, NULL, 'k'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow recover");
	struct eopts e = {0};
	char *pp = NULL;
	size_t pplen = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2 || e.keyset == NULL)
		return cli_usage(cmd, "escrow recover needs --keyset KEYSET.pem and barcodes");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_password_read(e.password_file, "Key set passphrase: ", 0, &pp, &pplen)) != 0)
		return cli_fail(c, r, "escrow recover");
	r = tv_escrow_recover_tapes(c->h, e.keyset, pp, pplen, argv + 1, (size_t)(n - 1));
	tv_freezero(pp, pplen + 1);
	/* --json: the result and the tapes as they are now */
	return cli_json_job(c, r ? cli_fail(c, r, "escrow recover") : EXIT_OK, "decrypt",
	                    argv + 1, (size_t)(n - 1));
}

static int confirm_cb(void *ctx, const char *q) { return cli_confirm(ctx, q); }

int cmd_escrow_request(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'},
	                                  {"allow-partial", no_argument, NULL, 'a'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow request");
	struct eopts e = {0};
	size_t skipped = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2 || e.out == NULL)
		return cli_usage(cmd, "escrow request needs barcodes and --out REQUEST.txt");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_escrow_make_request(c->h, argv + 1, (size_t)(n - 1), e.out, &skipped)) != 0)
		return cli_fail(c, r, "escrow request");
	if (c->json) {
		json_t *asked = json_array();
		for (int i = 1; i < n; i++)
			json_array_append_new(asked, json_string(argv[i]));
		cli_json_set(c, "file", json_string(e.out));
		cli_json_set(c, "tapes", asked);
		cli_json_set(c, "skipped", json_integer((json_int_t)skipped));
	}
	if (skipped > 0 && !e.allow_partial)
		return cli_fail(c, tv_errf(TV_ERR_PARTIAL, "%zu tape(s) are not in the request (see "
		                           "above); the request for the others is in %s", skipped,
		                           e.out), "escrow request");
	return EXIT_OK;
}

/* --max-age DAYS: a whole number of days, at least 1. */
static int parse_days(const char *s, uint64_t *secs)
{
	char *end;
	unsigned long long d;

	errno = 0;
	d = strtoull(s, &end, 10);
	if (*s == '-' || end == s || *end != '\0' || errno != 0 || d == 0 || d > 36500)
		return -1;
	*secs = (uint64_t)d * 86400;
	return 0;
}

/* The authority's machine may have an installation (its trust list and
 * the audit log): opened when there is one. */
static int open_authority_home(struct cli *c)
{
	if (tv_home_resolve(c->home_opt, c->home_dir, sizeof(c->home_dir)) == 0 &&
	    tv_home_exists(c->home_dir) && cli_open(c) != 0)
		return -1;
	return 0;
}

int cmd_escrow_respond(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"keyset", required_argument, NULL, 'k'},
	                                  {"out", required_argument, NULL, 'o'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {"yes", no_argument, NULL, 'y'},
	                                  {"trust-new", no_argument, NULL, 'T'},
	                                  {"max-age", required_argument, NULL, 'M'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow respond");
	struct tv_escrow_respond_opts ro;
	struct eopts e = {0};
	char *pp = NULL;
	size_t pplen = 0;
	int n, r, saved = -1;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || e.keyset == NULL || e.out == NULL)
		return cli_usage(cmd, "escrow respond needs --keyset, REQUEST.txt and --out");
	memset(&ro, 0, sizeof(ro));
	if (e.max_age != NULL && parse_days(e.max_age, &ro.max_age) != 0)
		return cli_usage(cmd, "--max-age takes a number of days (1 to 36500), not '%s'",
		                 e.max_age);
	if (open_authority_home(c) != 0)
		return EXIT_FAIL;
	if ((r = tv_password_read(e.password_file, "Key set passphrase: ", 0, &pp, &pplen)) != 0)
		return cli_fail(c, r, "escrow respond");
	ro.trust_new = e.trust_new;
	ro.confirm = e.yes ? NULL : confirm_cb;
	ro.confirm_ctx = c;
	/* --json: stdout holds the document alone; what the request asks is
	 * shown on stderr instead */
	if (c->json && (saved = dup(STDOUT_FILENO)) >= 0) {
		fflush(stdout);
		dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	r = tv_escrow_answer_request(c->h, e.keysets, e.nkeysets, pp, pplen, argv[1], e.out, &ro);
	tv_freezero(pp, pplen + 1);
	if (saved >= 0) {
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	if (r != 0)
		return cli_fail(c, r, "escrow respond");
	if (c->json) {
		cli_json_set(c, "request", json_string(argv[1]));
		cli_json_set(c, "file", json_string(e.out));
		cli_json_set(c, "answered", json_true());
	}
	return EXIT_OK;
}

int cmd_escrow_trust_add(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"name", required_argument, NULL, 'n'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("escrow trust add");
	struct eopts e = {0};
	char fs[TV_PKFPR_STR_LEN];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "escrow trust add needs IDENTITY.pub");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_escrow_trust_add(c->h, argv[1], e.name, fs, sizeof(fs))) != 0)
		return cli_fail(c, r, "escrow trust add");
	if (c->json)
		cli_json_set(c, "fingerprint", json_string(fs));
	else
		printf("%s\n", fs);
	if (!c->quiet)
		fprintf(stderr, "requests signed by identity %s are answered from now on (after "
		        "the usual confirmation)\n", fs);
	return EXIT_OK;
}

int cmd_escrow_trust_remove(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("escrow trust remove");
	struct eopts e = {0};
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "escrow trust remove needs a fingerprint (SHA256:...)");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_escrow_trust_remove(c->h, argv[1])) != 0)
		return cli_fail(c, r, "escrow trust remove");
	if (c->json)
		cli_json_set(c, "removed", json_string(argv[1]));
	return EXIT_OK;
}

static int trust_row(void *ctx, const char *fpr, const char *installation, uint64_t added)
{
	struct cli_list *l = ctx;
	char ts[32];
	time_t t = (time_t)added;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (l->arr != NULL) {
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s}", "fingerprint", fpr,
		                                        "installation", installation, "added", ts));
		return 0;
	}
	printf("%-71s  %-20s  %s\n", fpr, installation[0] ? installation : "-", ts);
	return 0;
}

int cmd_escrow_trust_list(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("escrow trust list");
	struct eopts e = {0};
	struct cli_list l;
	int n;

	if ((n = cli_getopt(cmd, argc, argv, NULL, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "escrow trust list takes no operands");
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&l, c, "%-71s  %-20s  %s\n", "IDENTITY", "INSTALLATION", "ADDED");
	return cli_list_end(&l, tv_escrow_trust_list(c->h, trust_row, &l), "trusted");
}

int cmd_escrow_apply(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("escrow apply");
	struct eopts e = {0};
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, e_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "escrow apply needs RESPONSE.txt");
	if (cli_open(c))
		return EXIT_FAIL;
	r = tv_escrow_apply_response(c->h, argv[1]);
	if (c->json)
		cli_json_set(c, "response", json_string(argv[1]));
	return cli_json_job(c, r ? cli_fail(c, r, "escrow apply") : EXIT_OK, "escrow apply",
	                    NULL, 0);
}
