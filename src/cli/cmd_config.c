/* tapevault CLI: the backup server's own state in one encrypted file
 * ('config backup', 'config restore'). */
#include <string.h>
#include <unistd.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "jobs/audit.h"
#include "jobs/configjob.h"
#include "util/err.h"

struct copts {
	const char *to, *encryption, *password_file;
};

static int c_opt(int o, const char *arg, void *ctx)
{
	struct copts *k = ctx;
	switch (o) {
	case 't': k->to = arg; break;
	case 'e': k->encryption = arg; break;
	case 'p': k->password_file = arg; break;
	default: return -1;
	}
	return 0;
}

/* shared: a tape server of a shared (PostgreSQL) catalog, whose own state
 * is its secrets and key store (the catalog is the site's database) */
static void summary(struct cli *c, const char *what, const char *file,
                    const struct tv_config_summary *s, int shared)
{
	if (c->json) {
		cli_json_set(c, "shared_catalog", json_boolean(shared));
		cli_json_set(c, "file", json_string(file));
		cli_json_set(c, "libraries", json_integer(s->libraries));
		cli_json_set(c, "pools", json_integer(s->pools));
		cli_json_set(c, "tapes", json_integer(s->tapes));
		cli_json_set(c, "backup_sets", json_integer(s->sets));
		cli_json_set(c, "passwords", json_integer(s->passwords));
		cli_json_set(c, "kms_servers", json_integer(s->kms_servers));
		return;
	}
	if (c->quiet)
		return;
	if (shared) {
		fprintf(stderr, "%s %s: this tape server's secrets (%lld password(s), %lld KMS "
		        "server(s), the tape keys it holds), its key store and the name of the "
		        "shared catalog; the catalog itself is the site's PostgreSQL database (back "
		        "it up with pg_dump)\n", what, file, s->passwords, s->kms_servers);
		return;
	}
	fprintf(stderr, "%s %s: the catalog (%lld librar%s, %lld pool(s), %lld tape(s), %lld "
	        "backup set(s), %lld password(s), %lld KMS server(s)) and the key store\n", what,
	        file, s->libraries, s->libraries == 1 ? "y" : "ies", s->pools, s->tapes, s->sets,
	        s->passwords, s->kms_servers);
}

int cmd_config_backup(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"to", required_argument, NULL, 't'},
	                                  {"encryption", required_argument, NULL, 'e'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("config backup");
	struct copts k = {0};
	struct tv_config_summary sum;
	struct tv_backup_stats bs;
	char stage[PATH_MAX], cat[PATH_MAX + 32], keys[PATH_MAX + 32], url[PATH_MAX + 32];
	const char *src[3] = {cat, keys, url};
	int n, r, shared;

	if ((n = cli_getopt(cmd, argc, argv, o, c_opt, &k)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1 || k.to == NULL)
		return cli_usage(cmd, "config backup needs --to FILE");
	if (k.encryption == NULL || strcmp(k.encryption, "none") == 0)
		return cli_usage(cmd, "a configuration backup holds every key of this installation: "
		                 "protect it with --encryption password:NAME (or kms:SERVER)");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_config_stage(c->h, stage, sizeof(stage))) != 0)
		return cli_fail(c, r, "config backup");
	snprintf(cat, sizeof(cat), "%s/%s", stage, TV_CONFIG_CATALOG);
	snprintf(keys, sizeof(keys), "%s/keys", stage);
	snprintf(url, sizeof(url), "%s/catalog.url", stage);
	shared = tv_db_shared(c->h->db);
	if ((r = tv_config_check(stage, &sum)) == 0)
		r = cli_backup_make(c, src, shared ? 3 : 2, k.to, k.encryption, &bs);
	tv_config_unstage(stage);
	tv_audit(c->h, "config backup", k.encryption, k.to, r == 0 ? "written" : tv_errmsg(r));
	if (r != 0)
		return cli_fail(c, r, "config backup");
	summary(c, "configuration backup", k.to, &sum, shared);
	return EXIT_OK;
}

int cmd_config_restore(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"password-file", required_argument, NULL, 'p'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("config restore");
	struct copts k = {0};
	struct tv_config_summary sum;
	struct tv_backup_stats bs;
	char stage[PATH_MAX];
	int n, r, shared = 0;

	if ((n = cli_getopt(cmd, argc, argv, o, c_opt, &k)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "config restore needs FILE");
	if ((r = tv_home_resolve(c->home_opt, c->home_dir, sizeof(c->home_dir))) != 0)
		return cli_fail(c, r, "state directory");
	if ((r = tv_config_fresh(c->home_dir)) != 0 ||
	    (r = tv_config_stage_empty(c->home_dir, stage, sizeof(stage))) != 0)
		return cli_fail(c, r, "config restore");
	/* the file must be encrypted: a plaintext one is refused */
	r = cli_backup_open(c, argv[1], stage, k.password_file, NULL, 1, &bs);
	if (r == 0)
		r = tv_config_check(stage, &sum);
	if (r == 0) {
		char url[PATH_MAX + 32];
		snprintf(url, sizeof(url), "%s/catalog.url", stage);
		shared = access(url, F_OK) == 0;
	}
	if (r == 0)
		r = tv_config_install(c->home_dir, stage);
	tv_config_unstage(stage);
	if (r != 0)
		return cli_fail(c, r, "config restore");
	if (cli_open(c))
		return EXIT_FAIL;
	tv_audit(c->h, "config restore", "password", argv[1], "restored");
	summary(c, "restored from", argv[1], &sum, shared);
	if (!c->json && !c->quiet && !shared)
		fprintf(stderr, "the libraries keep the paths and devices they had: check them with "
		        "'tapevault library status NAME'; no catalog run is needed\n");
	return EXIT_OK;
}
