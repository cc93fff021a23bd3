/* tapevault CLI: passwords, KMS servers, audit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/password.h"
#include "crypto/secmem.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/kmsglue.h"
#include "kms/client.h"
#include "util/err.h"

struct kopts {
	const char *hint, *password_file, *host, *ca, *cert, *key, *name, *type;
	long port;
	int yes;
	const char *kdf;
};

static int k_opt(int o, const char *arg, void *ctx)
{
	struct kopts *k = ctx;
	char *end;
	switch (o) {
	case 'H': k->hint = arg; break;
	case 'p': k->password_file = arg; break;
	case 'h' + 256: break;
	case 'o': k->host = arg; break;
	case 'a': k->ca = arg; break;
	case 'c': k->cert = arg; break;
	case 'k': k->key = arg; break;
	case 'n': k->name = arg; break;
	case 't': k->type = arg; break;
	case 'y': k->yes = 1; break;
	case 'K': k->kdf = arg; break;
	case 'P':
		k->port = strtol(arg, &end, 10);
		if (*end || k->port < 1 || k->port > 65535) {
			fprintf(stderr, "tapevault: bad port '%s'\n", arg);
			return -1;
		}
		break;
	default: return -1;
	}
	return 0;
}

int cmd_password_add(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"hint", required_argument, NULL, 'H'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {"kdf", required_argument, NULL, 'K'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("password add");
	enum tv_kdf kdf = TV_KDF_PBKDF2_SHA256;
	struct kopts k = {0};
	char *pw = NULL;
	size_t len = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, k_opt, &k)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || k.hint == NULL)
		return cli_usage(cmd, "password add needs NAME and --hint TEXT");
	if (k.kdf != NULL) {
		if (strcmp(k.kdf, "argon2id") == 0)
			kdf = TV_KDF_ARGON2ID;
		else if (strcmp(k.kdf, "pbkdf2") != 0)
			return cli_usage(cmd, "--kdf is pbkdf2 (PBKDF2-HMAC-SHA256, 600,000 iterations) "
			                 "or argon2id (t=3, m=64 MiB)");
	}
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_password_read(k.password_file, "New password: ", 1, &pw, &len)) != 0)
		return cli_fail(c, r, "password add");
	r = tv_keys_password_add(c->h, argv[1], k.hint, pw, len, kdf);
	tv_freezero(pw, len + 1);
	if (r != 0)
		return cli_fail(c, r, "password add");
	tv_log(c->h, "password %s added", argv[1]);
	if (!c->quiet)
		fprintf(stderr, "password %s added (hint: %s)\n", argv[1], k.hint);
	return EXIT_OK;
}

int cmd_password_list(struct cli *c, int argc, char **argv)
{
	struct tv_stmt *st;
	json_t *arr = NULL;
	int n = cli_getopt(cli_find("password list"), argc, argv, NULL, k_opt, NULL), r;

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_db_query(c->h->db, &st, "SELECT name, hint, created, kdf FROM passwords ORDER BY name",
	                     "")) != 0)
		return cli_fail(c, r, NULL);
	if (c->json)
		arr = json_array();
	else
		printf("%-20s %-20s %-9s %s\n", "NAME", "CREATED", "KDF", "HINT");
	while (tv_stmt_step(st) == 1) {
		time_t t = (time_t)tv_stmt_int(st, 2);
		char ts[32];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M", &tm);
		if (c->json)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s}", "name",
			                      tv_stmt_text(st, 0), "hint", tv_stmt_text(st, 1), "created",
			                      (json_int_t)tv_stmt_int(st, 2), "kdf", tv_stmt_text(st, 3)));
		else
			printf("%-20s %-20s %-9s %s\n", tv_stmt_text(st, 0), ts, tv_stmt_text(st, 3),
			       tv_stmt_text(st, 1));
	}
	tv_stmt_free(st);
	if (c->json)
		cli_json_set(c, "passwords", arr);
	return EXIT_OK;
}

static int abs_file(const char *in, char *out, size_t outsz, const char *what)
{
	if (realpath(in, out) == NULL)
		return tv_errf(TV_ERR_NOTFOUND, "%s %s: %s", what, in, strerror(errno));
	(void)outsz;
	return 0;
}

int cmd_kms_add(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"host", required_argument, NULL, 'o'},
	                                  {"port", required_argument, NULL, 'P'},
	                                  {"ca", required_argument, NULL, 'a'},
	                                  {"cert", required_argument, NULL, 'c'},
	                                  {"key", required_argument, NULL, 'k'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("kms add");
	struct kopts k = {0};
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	struct stat sb;
	int n, r;

	k.port = TV_KMS_DEFAULT_PORT;
	if ((n = cli_getopt(cmd, argc, argv, o, k_opt, &k)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || !k.host || !k.ca || !k.cert || !k.key)
		return cli_usage(cmd, "kms add needs NAME, --host, --ca, --cert and --key");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = abs_file(k.ca, ca, sizeof(ca), "CA file")) != 0 ||
	    (r = abs_file(k.cert, cert, sizeof(cert), "certificate")) != 0 ||
	    (r = abs_file(k.key, key, sizeof(key), "key file")) != 0)
		return cli_fail(c, r, "kms add");
	if (stat(key, &sb) == 0 && (sb.st_mode & 077))
		return cli_fail(c, tv_errf(TV_ERR_PERM, "client key %s is readable by others: run "
		                           "'chmod 600 %s'", key, key), "kms add");
	r = tv_db_exec(c->h->db, "INSERT INTO kms_servers(name, host, port, ca, cert, key, created)"
	               " VALUES(?,?,?,?,?,?,?)", "ttittti", argv[1],
	               k.host, (int64_t)k.port, ca, cert, key, (int64_t)tv_now());
	if (r == TV_ERR_EXISTS) {
		tv_errclear();
		return cli_fail(c, tv_errf(r, "a KMS server named '%s' is already registered", argv[1]),
		                "kms add");
	}
	if (r != 0)
		return cli_fail(c, r, "kms add");
	if (!c->quiet)
		fprintf(stderr, "KMS %s (%s:%ld) registered; check it with 'tapevault kms test %s'\n",
		        argv[1], k.host, k.port, argv[1]);
	return EXIT_OK;
}

int cmd_kms_list(struct cli *c, int argc, char **argv)
{
	struct tv_stmt *st;
	json_t *arr = NULL;
	int n = cli_getopt(cli_find("kms list"), argc, argv, NULL, k_opt, NULL), r;

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_db_query(c->h->db, &st, "SELECT name, host, port, ca, cert, key, "
	                     "(SELECT COUNT(*) FROM kms_keys k WHERE k.server_id=s.id) "
	                     "FROM kms_servers s ORDER BY name", "")) != 0)
		return cli_fail(c, r, NULL);
	if (c->json)
		arr = json_array();
	else
		printf("%-16s %-28s %-5s %s\n", "NAME", "HOST:PORT", "KEYS", "CLIENT CERTIFICATE");
	while (tv_stmt_step(st) == 1) {
		char hp[300];
		snprintf(hp, sizeof(hp), "%s:%lld", tv_stmt_text(st, 1), (long long)tv_stmt_int(st, 2));
		if (c->json)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "name",
			                      tv_stmt_text(st, 0), "host", tv_stmt_text(st, 1), "port",
			                      (json_int_t)tv_stmt_int(st, 2), "ca", tv_stmt_text(st, 3),
			                      "cert", tv_stmt_text(st, 4), "key", tv_stmt_text(st, 5),
			                      "keys", (json_int_t)tv_stmt_int(st, 6)));
		else
			printf("%-16s %-28s %-5lld %s\n", tv_stmt_text(st, 0), hp,
			       (long long)tv_stmt_int(st, 6), tv_stmt_text(st, 4));
	}
	tv_stmt_free(st);
	if (c->json)
		cli_json_set(c, "kms", arr);
	return EXIT_OK;
}

int cmd_kms_test(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("kms test");
	struct tv_stmt *st;
	struct tv_kms_conf conf;
	struct tv_kms *k = NULL;
	char versions[256], ops[2048], vendor[256];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, k_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "kms test needs a KMS name");
	if (cli_open(c))
		return EXIT_FAIL;
	memset(&conf, 0, sizeof(conf));
	if ((r = tv_db_query(c->h->db, &st, "SELECT name, host, port, ca, cert, key FROM kms_servers"
	                     " WHERE name=?", "t", argv[1])) != 0)
		return cli_fail(c, r, NULL);
	if (tv_stmt_step(st) != 1) {
		tv_stmt_free(st);
		return cli_fail(c, tv_errf(TV_ERR_NOTFOUND, "no KMS server named '%s'", argv[1]), NULL);
	}
	snprintf(conf.name, sizeof(conf.name), "%s", tv_stmt_text(st, 0));
	snprintf(conf.host, sizeof(conf.host), "%s", tv_stmt_text(st, 1));
	conf.port = (unsigned)tv_stmt_int(st, 2);
	snprintf(conf.ca, sizeof(conf.ca), "%s", tv_stmt_text(st, 3));
	snprintf(conf.cert, sizeof(conf.cert), "%s", tv_stmt_text(st, 4));
	snprintf(conf.key, sizeof(conf.key), "%s", tv_stmt_text(st, 5));
	tv_stmt_free(st);
	if ((r = tv_kms_connect(&conf, &k)) != 0)
		return cli_fail(c, r, "kms test");
	if ((r = tv_kms_discover_versions(k, versions, sizeof(versions))) != 0 ||
	    (r = tv_kms_query_operations(k, ops, sizeof(ops), vendor, sizeof(vendor))) != 0) {
		tv_kms_close(k);
		return cli_fail(c, r, "kms test");
	}
	if (c->json) {
		cli_json_set(c, "kms", json_string(tv_kms_where(k)));
		cli_json_set(c, "versions", json_string(versions));
		cli_json_set(c, "operations", json_string(ops));
		cli_json_set(c, "vendor", json_string(vendor));
	} else {
		printf("%s: reachable, TLS mutual authentication ok\n", tv_kms_where(k));
		printf("protocol versions: %s\n", versions);
		printf("vendor: %s\n", vendor[0] ? vendor : "(not reported)");
		printf("operations: %s\n", ops);
	}
	tv_kms_close(k);
	return EXIT_OK;
}

int cmd_kms_key_create(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"name", required_argument, NULL, 'n'},
	                                  {"type", required_argument, NULL, 't'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("kms key create");
	struct kopts k = {0};
	char uid[TV_KMS_UID_MAX], pub[TV_KMS_UID_MAX] = "";
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, k_opt, &k)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || k.name == NULL)
		return cli_usage(cmd, "kms key create needs SERVER and --name KEYNAME");
	if (k.type && strcmp(k.type, "aes") && strcmp(k.type, "rsa"))
		return cli_usage(cmd, "--type is aes or rsa");
	if (cli_open(c))
		return EXIT_FAIL;
	r = tv_kmsglue_create_key(c->h, argv[1], k.name, k.type ? k.type : "aes", uid, sizeof(uid),
	                          pub, sizeof(pub));
	if (r != 0)
		return cli_fail(c, r, "kms key create");
	if (c->json) {
		cli_json_set(c, "key_id", json_string(uid));
		if (pub[0])
			cli_json_set(c, "public_key_id", json_string(pub));
	} else {
		printf("%s\n", uid);
	}
	if (!c->quiet && pub[0])
		fprintf(stderr, "RSA key pair: private key %s (use this id), public key %s\n", uid, pub);
	return EXIT_OK;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	struct tv_stmt *st;
	json_t *arr = NULL;
	int n = cli_getopt(cli_find("audit"), argc, argv, NULL, k_opt, NULL), r;

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_db_query(c->h->db, &st, "SELECT time, actor, action, key_path, tapes, detail "
	                     "FROM audit ORDER BY id", "")) != 0)
		return cli_fail(c, r, NULL);
	if (c->json)
		arr = json_array();
	else
		printf("%-20s %-20s %-16s %-28s %-20s %s\n", "TIME (UTC)", "WHO", "ACTION", "KEY PATH",
		       "TAPES", "DETAIL");
	while (tv_stmt_step(st) == 1) {
		time_t t = (time_t)tv_stmt_int(st, 0);
		char ts[32];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		if (c->json)
			json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "time",
			                      (json_int_t)tv_stmt_int(st, 0), "actor", tv_stmt_text(st, 1),
			                      "action", tv_stmt_text(st, 2), "key_path",
			                      tv_stmt_text(st, 3), "tapes", tv_stmt_text(st, 4), "detail",
			                      tv_stmt_text(st, 5)));
		else
			printf("%-20s %-20s %-16s %-28s %-20s %s\n", ts, tv_stmt_text(st, 1),
			       tv_stmt_text(st, 2), tv_stmt_text(st, 3), tv_stmt_text(st, 4),
			       tv_stmt_text(st, 5));
	}
	tv_stmt_free(st);
	if (c->json)
		cli_json_set(c, "audit", arr);
	return EXIT_OK;
}

static int retire(struct cli *c, int argc, char **argv, const char *name, int destroy)
{
	static const struct option o[] = {{"yes", no_argument, NULL, 'y'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find(name);
	struct kopts k = {0};
	char q[512];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, k_opt, &k)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 3)
		return cli_usage(cmd, "%s needs SERVER and KEYID", name);
	if (cli_open(c))
		return EXIT_FAIL;
	c->h->assume_yes = k.yes;
	snprintf(q, sizeof(q), "%s key %s on KMS %s? Tapes protected only by it %s.",
	         destroy ? "Destroy" : "Revoke", argv[2], argv[1],
	         destroy ? "become unrecoverable except through escrow"
	                 : "can then be unlocked only through escrow or another key slot");
	if (!cli_confirm(c, q))
		return cli_fail(c, tv_errf(TV_ERR_CANCELED, "not confirmed; nothing changed"), NULL);
	if ((r = tv_kmsglue_retire_key(c->h, argv[1], argv[2], destroy)) != 0)
		return cli_fail(c, r, name);
	tv_info(c->h, "key %s on %s %s", argv[2], argv[1], destroy ? "destroyed" : "revoked");
	return EXIT_OK;
}

int cmd_kms_key_revoke(struct cli *c, int argc, char **argv)
{
	return retire(c, argc, argv, "kms key revoke", 0);
}

int cmd_kms_key_destroy(struct cli *c, int argc, char **argv)
{
	return retire(c, argc, argv, "kms key destroy", 1);
}
