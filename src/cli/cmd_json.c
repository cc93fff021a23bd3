/* tapevault CLI: the --json documents of the jobs that print no rows
 * (inventory, catalog, verify, decrypt, restore): made here from the
 * catalog after the job, so the jobs themselves print nothing of it. */
#include <string.h>

#include "catalog/query.h"
#include "cli/cli.h"
#include "jobs/browse.h"
#include "jobs/jobs.h"
#include "util/err.h"

struct tape_filter {
	const char *library;          /* NULL: any */
	char **barcodes;              /* none: every tape (of the library) */
	size_t n;
	json_t *arr;
};

static int tape_pick(void *ctx, const struct tv_tape_row *t)
{
	struct tape_filter *f = ctx;
	size_t i;

	if (f->library != NULL && strcmp(t->library, f->library) != 0)
		return 0;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->barcodes[i], t->barcode) == 0)
			break;
	if (f->n > 0 && i == f->n)
		return 0;
	json_array_append_new(f->arr, cli_tape_json(t));
	return 0;
}

/* "tapes": the tapes named (or those of the library), as tape list has
 * them after the job. */
static void json_tapes(struct cli *c, const char *library, char **barcodes, size_t n)
{
	struct tape_filter f = {library, barcodes, n, json_array()};
	int r;

	if ((r = tv_query_tapes(c->h->db, NULL, NULL, tape_pick, &f)) != 0) {
		/* the job's own result stands; the document says what it lacks */
		tv_warn(c->h, "--json: the tapes could not be listed: %s", tv_errmsg(r));
		cli_json_set(c, "tapes_error", json_string(tv_errmsg(r)));
		tv_errclear();
	}
	cli_json_set(c, "tapes", f.arr);
}

/* "backup_set": the set the job read.  When the job itself failed (an
 * unknown set, say), its message already said why the set is missing. */
static void json_set(struct cli *c, const char *ref, int rc)
{
	struct tv_set_ref s;
	char u[37], cr[32];
	int r;

	if ((r = tv_set_ref_get(c->h, ref, &s)) != 0) {
		if (rc == EXIT_OK)
			tv_warn(c->h, "--json: backup set %s could not be described: %s", ref,
			        tv_errmsg(r));
		cli_json_set(c, "backup_set_error", json_string(tv_errmsg(r)));
		tv_errclear();
		return;
	}
	tv_uuid_to_str(s.uuid, u);
	tv_iso8601(s.created, cr);
	cli_json_set(c, "backup_set", json_pack("{s:s,s:s,s:s}", "id", u, "name", s.name,
	                                        "created", cr));
}

int cli_json_job(struct cli *c, int rc, const char *kind, char **ops, size_t nops)
{
	const char *result = rc == EXIT_OK ? (c->job_partial ? "partial" : "ok")
	                     : rc == EXIT_INTERRUPTED ? "interrupted" : "failed";

	if (!c->json || c->h == NULL)
		return rc;
	cli_json_set(c, "result", json_string(result));
	cli_json_set(c, "warnings", json_integer((json_int_t)c->h->warnings));
	if (strcmp(kind, "catalog") == 0 || strcmp(kind, "inventory") == 0) {
		cli_json_set(c, "library", json_string(nops > 0 ? ops[0] : ""));
		json_tapes(c, nops > 0 ? ops[0] : NULL, ops + (nops > 0), nops - (nops > 0));
	} else if (strcmp(kind, "verify") == 0 || strcmp(kind, "decrypt") == 0) {
		json_tapes(c, NULL, ops, nops);
	} else if (strcmp(kind, "restore") == 0 && nops > 0) {
		json_set(c, ops[0], rc);
	}
	if (strcmp(kind, "verify") == 0 || strcmp(kind, "restore") == 0) {
		cli_json_set(c, "files", json_integer((json_int_t)c->h->job_files));
		cli_json_set(c, "bytes", json_integer((json_int_t)c->h->job_bytes));
	}
	return rc;
}
