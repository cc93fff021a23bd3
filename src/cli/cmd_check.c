/* tapevault CLI: 'catalog check'. */
#include "cli/cli.h"
#include "jobs/check.h"
#include "util/err.h"

struct seen {
	struct cli *c;
	json_t *list;
};

static void problem(void *ctx, const char *check, const char *detail)
{
	struct seen *s = ctx;

	if (s->c->json)
		json_array_append_new(s->list, json_pack("{s:s, s:s}", "check", check, "detail",
		                                         detail));
	else
		printf("%s: %s\n", check, detail);
}

int cmd_catalog_check(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("catalog check");
	struct tv_check_counts n;
	struct seen s = {c, NULL};
	int k, r;

	if ((k = cli_getopt(cmd, argc, argv, o, NULL, NULL)) < 0)
		return CLI_GETOPT_RETURN(k);
	if (k != 1)
		return cli_usage(cmd, "catalog check takes no operands");
	if (cli_open(c))
		return EXIT_FAIL;
	if (c->json && (s.list = json_array()) == NULL)
		return cli_fail(c, TV_ERR_NOMEM, "catalog check");
	r = tv_catalog_check(c->h, 0, problem, &s, &n);
	if (c->json) {
		cli_json_set(c, "problems", s.list);
		cli_json_set(c, "tapes", json_integer(n.tapes));
		cli_json_set(c, "media_sets", json_integer(n.media_sets));
		cli_json_set(c, "backup_sets", json_integer(n.sets));
		cli_json_set(c, "files", json_integer(n.files));
	}
	if (r != 0)
		return cli_fail(c, r, "catalog check");
	if (n.problems > 0)
		return cli_fail(c, tv_errf(TV_ERR_STATE, "%lld problem(s) in the catalog (listed "
		                           "above)", (long long)n.problems), "catalog check");
	if (!c->quiet && !c->json)
		fprintf(stderr, "catalog check: consistent (%lld tape(s), %lld media set(s), %lld "
		        "backup set(s), %lld item(s))\n", (long long)n.tapes,
		        (long long)n.media_sets, (long long)n.sets, (long long)n.files);
	return EXIT_OK;
}
