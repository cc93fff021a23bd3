/* tapevault CLI: servers, the tape servers of a shared catalog. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "jobs/history.h"
#include "jobs/lease.h"

static int server_row(void *ctx, const struct tv_server_row *s)
{
	struct cli_list *o = ctx;
	char seen[32], started[32], exp[32];

	tv_iso8601(s->last_seen, seen);
	tv_iso8601(s->started, started);
	if (o->c->json) {
		json_t *leases = json_array();
		for (size_t k = 0; k < s->nleases; k++) {
			const struct tv_lease_row *l = &s->leases[k];
			tv_iso8601(l->expires, exp);
			json_array_append_new(leases, json_pack("{s:s,s:s,s:I,s:s}", "resource",
			                                        l->resource, "job", l->job, "pid",
			                                        (json_int_t)l->pid, "expires", exp));
		}
		json_array_append_new(o->arr,
		                      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:o}", "name",
		                                s->name, "host", s->host, "home", s->home,
		                                "version", s->version, "started", started,
		                                "last_seen", seen, "live", s->live, "running_jobs",
		                                (json_int_t)s->jobs, "leases", leases));
		return 0;
	}
	printf("%-40s %-20s %-4s %5llu\n", s->name, seen, s->live ? "yes" : "no",
	       (unsigned long long)s->jobs);
	for (size_t k = 0; k < s->nleases; k++)
		printf("    %-28s %s, pid %lld\n", s->leases[k].resource, s->leases[k].job,
		       (long long)s->leases[k].pid);
	return 0;
}

int cmd_servers(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("servers");
	struct cli_list out;
	uint64_t swept = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, NULL, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "servers takes no operands");
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&out, c, "%-40s %-20s %-4s %5s\n", "SERVER", "LAST SEEN", "LIVE", "JOBS");
	r = tv_servers_list(c->h, &swept, server_row, &out);
	if (r == 0 && swept > 0)
		fprintf(stderr, "%llu expired lease(s) released (their jobs' sets, if any, are "
		        "marked failed)\n", (unsigned long long)swept);
	return cli_list_end(&out, r, "servers");
}
