/* tapevault CLI: passwords, KMS servers, audit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/query.h"
#include "cli/cli.h"
#include "crypto/identity.h"
#include "crypto/password.h"
#include "crypto/secmem.h"
#include "jobs/admin.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/kmsglue.h"
#include "jobs/writer.h"
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
	if (c->json)   /* as password list has it */
		cli_json_set(c, "password", json_pack("{s:s,s:s,s:s}", "name", argv[1], "hint",
		                                      k.hint, "kdf", kdf == TV_KDF_ARGON2ID ?
		                                      "argon2id" : "pbkdf2"));
	return EXIT_OK;
}

static int password_print(void *ctx, const struct tv_password_row *p)
{
	struct cli_list *o = ctx;
	time_t t = (time_t)p->created;
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M", &tm);
	if (o->c->json)
		json_array_append_new(o->arr, json_pack("{s:s,s:s,s:I,s:s}", "name", p->name, "hint",
		                                        p->hint, "created", (json_int_t)p->created,
		                                        "kdf", p->kdf));
	else
		printf("%-20s %-20s %-9s %s\n", p->name, ts, p->kdf, p->hint);
	return 0;
}

int cmd_password_list(struct cli *c, int argc, char **argv)
{
	struct cli_list o;
	int n = cli_getopt(cli_find("password list"), argc, argv, NULL, k_opt, NULL);

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&o, c, "%-20s %-20s %-9s %s\n", "NAME", "CREATED", "KDF", "HINT");
	return cli_list_end(&o, tv_query_passwords(c->h->db, password_print, &o), "passwords");
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
	if ((r = tv_admin_kms_add(c->h, argv[1], k.host, (unsigned)k.port, ca, cert, key)) != 0)
		return cli_fail(c, r, "kms add");
	if (!c->quiet)
		fprintf(stderr, "KMS %s (%s:%ld) registered; check it with 'tapevault kms test %s'\n",
		        argv[1], k.host, k.port, argv[1]);
	if (c->json)   /* as kms list has it */
		cli_json_set(c, "kms", json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "name", argv[1],
		                                 "host", k.host, "port", (json_int_t)k.port, "ca",
		                                 ca, "cert", cert, "key", key, "keys",
		                                 (json_int_t)0));
	return EXIT_OK;
}

static int kms_print(void *ctx, const struct tv_kms_server_row *s)
{
	struct cli_list *o = ctx;
	char hp[300];

	snprintf(hp, sizeof(hp), "%s:%lld", s->host, (long long)s->port);
	if (o->c->json)
		json_array_append_new(o->arr, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "name",
		                                        s->name, "host", s->host, "port",
		                                        (json_int_t)s->port, "ca", s->ca, "cert",
		                                        s->cert, "key", s->key, "keys",
		                                        (json_int_t)s->keys));
	else
		printf("%-16s %-28s %-5lld %s\n", s->name, hp, (long long)s->keys, s->cert);
	return 0;
}

int cmd_kms_list(struct cli *c, int argc, char **argv)
{
	struct cli_list o;
	int n = cli_getopt(cli_find("kms list"), argc, argv, NULL, k_opt, NULL);

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&o, c, "%-16s %-28s %-5s %s\n", "NAME", "HOST:PORT", "KEYS",
	               "CLIENT CERTIFICATE");
	return cli_list_end(&o, tv_query_kms_servers(c->h->db, kms_print, &o), "kms");
}

/* "2.0 1.4" or "Create, Get" as an array of its words. */
static json_t *words_json(const char *s, const char *sep)
{
	json_t *a = json_array();

	while (*s != '\0') {
		size_t n = strcspn(s, sep);
		if (n > 0)
			json_array_append_new(a, json_stringn(s, n));
		s += n;
		s += strspn(s, sep);
	}
	return a;
}

int cmd_kms_test(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("kms test");
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
	if ((r = tv_admin_kms_conf(c->h, argv[1], &conf, NULL)) != 0)
		return cli_fail(c, r, NULL);
	if ((r = tv_kms_connect(&conf, &k)) != 0)
		return cli_fail(c, r, "kms test");
	if ((r = tv_kms_discover_versions(k, versions, sizeof(versions))) != 0 ||
	    (r = tv_kms_query_operations(k, ops, sizeof(ops), vendor, sizeof(vendor))) != 0) {
		tv_kms_close(k);
		return cli_fail(c, r, "kms test");
	}
	if (c->json) {
		cli_json_set(c, "kms", json_string(tv_kms_where(k)));
		cli_json_set(c, "versions", words_json(versions, " "));
		cli_json_set(c, "operations", words_json(ops, ", "));
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

static int audit_print(void *ctx, const struct tv_audit_row *a)
{
	struct cli_list *o = ctx;
	time_t t = (time_t)a->time;
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	if (o->c->json)
		json_array_append_new(o->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "time",
		                                        (json_int_t)a->time, "actor", a->actor,
		                                        "action", a->action, "key_path", a->key_path,
		                                        "tapes", a->tapes, "detail", a->detail));
	else
		printf("%-20s %-20s %-16s %-28s %-20s %s\n", ts, a->actor, a->action, a->key_path,
		       a->tapes, a->detail);
	return 0;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	struct cli_list o;
	int n = cli_getopt(cli_find("audit"), argc, argv, NULL, k_opt, NULL);

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&o, c, "%-20s %-20s %-16s %-28s %-20s %s\n", "TIME (UTC)", "WHO", "ACTION",
	               "KEY PATH", "TAPES", "DETAIL");
	return cli_list_end(&o, tv_query_audit(c->h->db, audit_print, &o), "audit");
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

static int out_opt(int o, const char *arg, void *ctx)
{
	if (o != 'o')
		return -1;
	*(const char **)ctx = arg;
	return 0;
}

int cmd_identity_export(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("identity export");
	const char *out = NULL;
	uint8_t fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, out_opt, &out)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1 || out == NULL)
		return cli_usage(cmd, "identity export needs --out IDENTITY.pub");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_identity_export(c->h->dir, out, fpr)) != 0)
		return cli_fail(c, r, "identity export");
	tv_pkfpr_format(fpr, fs);
	if (c->json)
		cli_json_set(c, "fingerprint", json_string(fs));
	else
		printf("%s\n", fs);
	if (!c->quiet)
		fprintf(stderr, "this installation's identity written to %s: give it to the escrow "
		        "authority ('tapevault escrow trust add %s' there), or to an installation "
		        "that is to read this one's tapes ('tapevault identity trust %s'), and "
		        "confirm the fingerprint by another channel; keep it with the off-site "
		        "records\n", out, out, out);
	return EXIT_OK;
}

/* ---- writer identities (jobs/writer.h) ---- */

int cmd_identity_trust(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("identity trust");
	EVP_PKEY *pub = NULL;
	uint8_t raw[TV_IDENTITY_PUB_LEN], fpr[TV_PKFPR_LEN], own_pub[TV_WSIG_PUB_LEN];
	uint8_t own_fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	int n, r, was;

	if ((n = cli_getopt(cmd, argc, argv, NULL, out_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "identity trust needs IDENTITY.pub");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_identity_pub_load(argv[1], &pub)) != 0 ||
	    (r = tv_identity_raw_pub(pub, raw)) != 0 || (r = tv_identity_fingerprint(pub, fpr)) != 0)
		goto fail;
	tv_pkfpr_format(fpr, fs);
	if (tv_writer_own(c->h, own_pub, own_fpr) == 0 &&
	    memcmp(own_fpr, fpr, TV_PKFPR_LEN) == 0) {
		tv_info(c->h, "%s is this installation's own identity: its tapes are trusted "
		        "already", fs);
	} else {
		tv_errclear();
		if ((was = tv_writer_is_trusted(c->h, fpr)) < 0 ||
		    (r = tv_writer_trust_add(c->h, raw, "identity trust")) != 0) {
			r = was < 0 ? was : r;
			goto fail;
		}
		tv_info(c->h, "%s installation %s: the tapes it writes are cataloged here "
		        "without asking. Make sure this is the fingerprint 'tapevault identity "
		        "export' printed there", was ? "already trusted:" : "trusted", fs);
	}
	EVP_PKEY_free(pub);
	if (c->json)
		cli_json_set(c, "fingerprint", json_string(fs));
	else
		printf("%s\n", fs);
	return EXIT_OK;
fail:
	EVP_PKEY_free(pub);
	return cli_fail(c, r, "identity trust");
}

int cmd_identity_list(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("identity list");
	uint8_t own_pub[TV_WSIG_PUB_LEN], own_fpr[TV_PKFPR_LEN];
	char fs[TV_PKFPR_STR_LEN];
	struct tv_stmt *q;
	json_t *arr = NULL;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, out_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "identity list takes no operands");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_writer_own(c->h, own_pub, own_fpr)) == 0) {
		tv_pkfpr_format(own_fpr, fs);
		if (c->json)
			cli_json_set(c, "own", json_string(fs));
		else
			printf("own      %s  this installation\n", fs);
	} else if (r == TV_ERR_NOTFOUND) {
		tv_errclear();
		if (c->json)
			cli_json_set(c, "own", json_null());
		else
			printf("own      (none yet: made by the first tape written)\n");
	} else {
		return cli_fail(c, r, "identity list");
	}
	if ((r = tv_db_query(c->h->db, &q, "SELECT fingerprint, how, added FROM writers_trusted "
	                     "ORDER BY added, fingerprint", "")) != 0)
		return cli_fail(c, r, "identity list");
	if (c->json)
		arr = json_array();
	while ((r = tv_stmt_step(q)) == 1) {
		size_t fl = 0;
		const void *f = tv_stmt_blob(q, 0, &fl);
		if (f == NULL || fl != TV_PKFPR_LEN)
			continue;
		tv_pkfpr_format(f, fs);
		if (arr != NULL) {
			json_t *o = json_object();
			json_object_set_new(o, "fingerprint", json_string(fs));
			json_object_set_new(o, "how", json_string(tv_stmt_text(q, 1)));
			json_object_set_new(o, "added", json_integer((json_int_t)tv_stmt_int(q, 2)));
			json_array_append_new(arr, o);
		} else
			printf("trusted  %s  %s\n", fs, tv_stmt_text(q, 1));
	}
	tv_stmt_free(q);
	if (arr != NULL)
		cli_json_set(c, "trusted", arr);
	if (r < 0)
		return cli_fail(c, r, "identity list");
	return EXIT_OK;
}
