/* tapevault CLI: retention (expire, tape retire). */
#include <string.h>

#include "cli/cli.h"
#include "jobs/history.h"
#include "jobs/retention.h"
#include "util/err.h"

struct ropts {
	int dry_run;
};

static int r_opt(int o, const char *arg, void *ctx)
{
	struct ropts *r = ctx;

	(void)arg;
	if (o != 'd')
		return -1;
	r->dry_run = 1;
	return 0;
}

struct elist {
	struct cli *c;
	json_t *arr;
	int dry_run;
};

static int expiry_row(void *ctx, const struct tv_expiry *e)
{
	struct elist *l = ctx;
	char u[37] = "?", nw[32], ex[32];

	if (e->media_set_uuid != NULL)
		tv_uuid_to_str(e->media_set_uuid, u);
	tv_iso8601(e->newest, nw);
	tv_iso8601(e->expired, ex);
	if (l->arr != NULL) {
		json_t *tapes = json_array();
		for (const char *s = e->tapes; *s;) {
			size_t n = strcspn(s, ",");
			json_array_append_new(tapes, json_stringn(s, n));
			s += n + (s[n] == ',');
		}
		json_array_append_new(l->arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "pool", e->pool,
		                      "media_set", u, "newest_backup", nw, "expired", ex,
		                      "backup_sets", (json_int_t)e->sets, "tapes", tapes));
		return 0;
	}
	printf("%-16s %-36s %-20s %-20s %-5lld %s\n", e->pool, u, nw, ex, (long long)e->sets,
	       e->tapes);
	return 0;
}

int cmd_expire(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"dry-run", no_argument, NULL, 'd'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("expire");
	struct ropts ro = {0};
	struct elist l = {c, NULL, 0};
	int n, r, count = 0;

	if ((n = cli_getopt(cmd, argc, argv, o, r_opt, &ro)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "expire takes no operands");
	if (ro.dry_run)
		c->job_kind = NULL;   /* changes nothing: not a job of the history */
	if (cli_open(c))
		return EXIT_FAIL;
	l.dry_run = ro.dry_run;
	if (c->json)
		l.arr = json_array();
	else
		printf("%-16s %-36s %-20s %-20s %-5s %s\n", "POOL", "MEDIA-SET", "NEWEST-BACKUP",
		       "EXPIRED", "SETS", "TAPES");
	r = tv_expire(c->h, ro.dry_run, (int64_t)tv_now(), expiry_row, &l, &count);
	if (l.arr != NULL) {
		cli_json_set(c, "expired", l.arr);
		cli_json_set(c, "dry_run", json_boolean(ro.dry_run));
	}
	if (r != 0)
		return cli_fail(c, r, "expire");
	if (!c->quiet)
		fprintf(stderr, "%d media set(s) %s\n", count, ro.dry_run ?
		        "would expire (--dry-run: nothing changed)" :
		        "expired: their backup sets left the catalog, their tapes are free");
	return EXIT_OK;
}

int cmd_tape_retire(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("tape retire");
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, r_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape retire needs one barcode");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_tape_retire(c->h, argv[1])) != 0)
		return cli_fail(c, r, "tape retire");
	if (!c->quiet)
		fprintf(stderr, "%s: retired: never written again (its data stays restorable)\n",
		        argv[1]);
	if (c->json)
		cli_json_set(c, "retired", json_string(argv[1]));
	return EXIT_OK;
}
