/* tapevault CLI: jobs (write, inventory, catalog, decrypt, backups,
 * restore, verify). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"
#include "cli/cli.h"
#include "format/record.h"
#include "jobs/browse.h"
#include "jobs/jobs.h"
#include "util/err.h"
#include "web/web.h"

struct jopts {
	const char *name, *to, *password_file, *kms, *key_id, *record_size, *file_size;
	const char *overwrite;
	int allow_partial, yes, extract, to_original;
	int no_xattrs, numeric_owner;
	int dry_run;
	/* write: --level, --exclude (repeatable), --exclude-from (repeatable),
	 * --one-file-system */
	const char *level;
	char **excl;                 /* the globs, copied (from the files too) */
	size_t nexcl, excl_cap;
	const char **excl_from;
	size_t nexcl_from;
	int one_fs, nomem;
	int include_expired;
};

/* One more exclude glob, copied. */
static int excl_add(struct jopts *j, const char *g, size_t len)
{
	char *c;

	if (j->nexcl == j->excl_cap) {
		size_t nc = j->excl_cap ? j->excl_cap * 2 : 16;
		char **n = realloc(j->excl, nc * sizeof(*n));
		if (n == NULL)
			return -1;
		j->excl = n;
		j->excl_cap = nc;
	}
	if ((c = strndup(g, len)) == NULL)
		return -1;
	j->excl[j->nexcl++] = c;
	return 0;
}

static void excl_free(struct jopts *j)
{
	for (size_t k = 0; k < j->nexcl; k++)
		free(j->excl[k]);
	free(j->excl);
	free(j->excl_from);
}

/* --exclude-from FILE: one glob a line; '#' starts a comment line, blank
 * lines are ignored, a line's trailing spaces and CR too.  0, or a usage
 * message's exit. */
static int excl_read(const struct cli_cmd *cmd, struct jopts *j, const char *file)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(file, "re");

	if (f == NULL)
		return cli_usage(cmd, "--exclude-from %s: cannot read it: %s", file, strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		const char *p = line;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
		                 line[n - 1] == '\t'))
			line[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (excl_add(j, p, strlen(p)) != 0) {
			free(line);
			fclose(f);
			return cli_usage(cmd, "--exclude-from %s: out of memory", file);
		}
	}
	if (ferror(f)) {
		int e = errno;
		free(line);
		fclose(f);
		return cli_usage(cmd, "--exclude-from %s: cannot read it: %s", file, strerror(e));
	}
	free(line);
	fclose(f);
	return 0;
}

static int j_opt(int o, const char *arg, void *ctx)
{
	struct jopts *j = ctx;
	switch (o) {
	case 'n': j->name = arg; break;
	case 't': j->to = arg; break;
	case 'p': j->password_file = arg; break;
	case 'k': j->kms = arg; break;
	case 'i': j->key_id = arg; break;
	case 'R': j->record_size = arg; break;
	case 'F': j->file_size = arg; break;
	case 'a': j->allow_partial = 1; break;
	case 'y': j->yes = 1; break;
	case 'x': j->extract = 1; break;
	case 'O': j->to_original = 1; break;
	case 'W': j->overwrite = arg; break;
	case 'X': j->no_xattrs = 1; break;
	case 'N': j->numeric_owner = 1; break;
	case 'd': j->dry_run = 1; break;
	case 'l': j->level = arg; break;
	case 'E':
		if (excl_add(j, arg, strlen(arg)) != 0)
			j->nomem = 1;
		break;
	case 'f': {
		const char **n = realloc(j->excl_from, (j->nexcl_from + 1) * sizeof(*n));
		if (n == NULL) {
			j->nomem = 1;
			break;
		}
		j->excl_from = n;
		j->excl_from[j->nexcl_from++] = arg;
		break;
	}
	case 'S': j->one_fs = 1; break;
	case 'I': j->include_expired = 1; break;
	default: return -1;
	}
	return 0;
}

/* A job's result as an exit status: a partial result fails unless the user
 * allowed it, and is said either way. */
static int job_result(struct cli *c, int r, const char *what, int allow_partial)
{
	if (r == TV_ERR_PARTIAL && allow_partial) {
		c->job_partial = 1;   /* the job history says partial */
		tv_warn(c->h, "%s: %s (allowed by --allow-partial)", what, tv_errmsg(r));
		return EXIT_OK;
	}
	if (r == 0)
		return EXIT_OK;
	return cli_fail(c, r, what);
}

static int write_run(struct cli *c, const struct cli_cmd *cmd, struct jopts *jp, int argc,
                     char **argv, int n);

int cmd_write(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"name", required_argument, NULL, 'n'},
	                                  {"record-size", required_argument, NULL, 'R'},
	                                  {"tape-file-size", required_argument, NULL, 'F'},
	                                  {"allow-partial", no_argument, NULL, 'a'},
	                                  {"no-xattrs", no_argument, NULL, 'X'},
	                                  {"level", required_argument, NULL, 'l'},
	                                  {"exclude", required_argument, NULL, 'E'},
	                                  {"exclude-from", required_argument, NULL, 'f'},
	                                  {"one-file-system", no_argument, NULL, 'S'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("write");
	struct jopts j = {0};
	int n, r;

	n = cli_getopt(cmd, argc, argv, o, j_opt, &j);
	if (n >= 0)
		r = write_run(c, cmd, &j, argc, argv, n);
	else
		r = CLI_GETOPT_RETURN(n);
	excl_free(&j);
	return r;
}

static int write_run(struct cli *c, const struct cli_cmd *cmd, struct jopts *jp, int argc,
                     char **argv, int n)
{
	struct jopts j = *jp;
	struct tv_write_opts wo = {0};
	struct tv_write_result res;
	char u[37];
	int r;

	(void)argc;
	if (j.nomem)
		return cli_usage(cmd, "out of memory reading the options");
	if (n < 3)
		return cli_usage(cmd, "write needs a pool and at least one path");
	if (j.level == NULL || strcmp(j.level, "full") == 0)
		wo.level = TV_LEVEL_FULL;
	else if (strcmp(j.level, "incremental") == 0)
		wo.level = TV_LEVEL_INCREMENTAL;
	else if (strcmp(j.level, "differential") == 0)
		wo.level = TV_LEVEL_DIFFERENTIAL;
	else
		return cli_usage(cmd, "--level must be full, incremental or differential (not "
		                 "'%s')", j.level);
	if (wo.level != TV_LEVEL_FULL && (j.name == NULL || j.name[0] == '\0'))
		return cli_usage(cmd, "--level %s needs --name SETNAME: the sets of one name form "
		                 "the chain (without --name every set gets a name of its own)",
		                 j.level);
	for (size_t k = 0; k < j.nexcl_from; k++)
		if ((r = excl_read(cmd, jp, j.excl_from[k])) != 0)
			return r;
	j = *jp;   /* the globs the files added */
	for (size_t k = 0; k < j.nexcl; k++)
		if (j.excl[k][0] == '\0')
			return cli_usage(cmd, "--exclude: an empty pattern");
	wo.excludes = j.excl;
	wo.nexcludes = j.nexcl;
	wo.one_file_system = j.one_fs;
	if (j.record_size) {
		uint64_t rs;
		if (cli_parse_size(j.record_size, &rs) != 0 || rs < TV_RECORD_SIZE_MIN ||
		    rs > TV_RECORD_SIZE_MAX || rs % 4096 != 0)
			return cli_usage(cmd, "--record-size must be a multiple of 4K between 64K "
			                 "and 4M");
		wo.record_size = (size_t)rs;
	}
	if (j.file_size) {
		uint64_t fs;
		if (cli_parse_size(j.file_size, &fs) != 0 || fs < (1u << 20))
			return cli_usage(cmd, "--tape-file-size must be a size of 1M or more");
		wo.tape_file_size = fs;
	}
	if (cli_open(c))
		return EXIT_FAIL;
	wo.set_name = j.name;
	wo.no_xattrs = j.no_xattrs;
	r = tv_job_write(c->h, argv[1], argv + 2, (size_t)(n - 2), &wo, &res);
	if (r != 0 && r != TV_ERR_PARTIAL && (r != TV_ERR_INTERRUPTED || res.tapes == 0))
		return cli_fail(c, r, "write");   /* an interrupted set is still named */
	tv_uuid_to_str(res.set_uuid, u);
	c->h->job_files = res.files;   /* for the job history */
	c->h->job_bytes = res.bytes;
	if (c->json) {
		cli_json_set(c, "backup_set", json_string(u));
		cli_json_set(c, "files", json_integer((json_int_t)res.files));
		cli_json_set(c, "bytes", json_integer((json_int_t)res.bytes));
		cli_json_set(c, "tapes", json_integer((json_int_t)res.tapes));
		cli_json_set(c, "bytes_on_tape", json_integer((json_int_t)res.stored));
		cli_json_set(c, "level", json_string(res.level == TV_LEVEL_INCREMENTAL ?
		                                     "incremental" :
		                                     res.level == TV_LEVEL_DIFFERENTIAL ?
		                                     "differential" : "full"));
		if (res.level != TV_LEVEL_FULL) {
			char pu[37];
			tv_uuid_to_str(res.parent_uuid, pu);
			cli_json_set(c, "parent", json_string(pu));
			cli_json_set(c, "unchanged", json_integer((json_int_t)res.unchanged));
			cli_json_set(c, "deleted", json_integer((json_int_t)res.deleted));
		}
	} else {
		printf("%s\n", u);
	}
	if (!c->quiet)
		fprintf(stderr, "backup set %s: %llu item(s), %llu bytes in, %llu bytes on %llu "
		        "tape(s) (%.2f:1)\n", u, (unsigned long long)res.files,
		        (unsigned long long)res.bytes, (unsigned long long)res.stored,
		        (unsigned long long)res.tapes,
		        res.stored ? (double)res.bytes / (double)res.stored : 1.0);
	if (!c->quiet && res.level != TV_LEVEL_FULL) {
		char pu[37];
		tv_uuid_to_str(res.parent_uuid, pu);
		fprintf(stderr, "%s of set %s: %llu item(s) unchanged (not stored again), %llu "
		        "deleted since\n", res.level == TV_LEVEL_INCREMENTAL ? "incremental" :
		        "differential", pu, (unsigned long long)res.unchanged,
		        (unsigned long long)res.deleted);
	}
	return job_result(c, r, "write", j.allow_partial);
}

static int catalog_common(struct cli *c, int argc, char **argv, int labels_only)
{
	static const struct option o[] = {{"allow-partial", no_argument, NULL, 'a'},
	                                  {"include-expired", no_argument, NULL, 'I'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find(labels_only ? "inventory" : "catalog");
	struct jopts j = {0};
	struct tv_catalog_opts co = {0};
	int n;

	if ((n = cli_getopt(cmd, argc, argv, o, j_opt, &j)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2)
		return cli_usage(cmd, "%s needs a library", cmd->name);
	if (cli_open(c))
		return EXIT_FAIL;
	co.labels_only = labels_only;
	co.include_expired = j.include_expired;
	return cli_json_job(c, job_result(c, tv_job_catalog(c->h, argv[1], argv + 2,
	                                                    (size_t)(n - 2), &co),
	                                  cmd->name, j.allow_partial),
	                    cmd->name, argv + 1, (size_t)(n - 1));
}

int cmd_inventory(struct cli *c, int argc, char **argv) { return catalog_common(c, argc, argv, 1); }
int cmd_catalog(struct cli *c, int argc, char **argv) { return catalog_common(c, argc, argv, 0); }

static int confirm_cb(void *ctx, const char *q) { return cli_confirm(ctx, q); }

int cmd_decrypt(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"password-file", required_argument, NULL, 'p'},
	                                  {"kms", required_argument, NULL, 'k'},
	                                  {"key-id", required_argument, NULL, 'i'},
	                                  {"yes", no_argument, NULL, 'y'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("decrypt");
	struct jopts j = {0};
	struct tv_decrypt_opts d = {0};
	int n;

	if ((n = cli_getopt(cmd, argc, argv, o, j_opt, &j)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2)
		return cli_usage(cmd, "decrypt needs at least one barcode");
	if (j.kms && j.password_file)
		return cli_usage(cmd, "give either --password-file or --kms, not both");
	if (j.key_id && !j.kms)
		return cli_usage(cmd, "--key-id goes with --kms");
	if (cli_open(c))
		return EXIT_FAIL;
	c->h->assume_yes = j.yes;
	d.password_file = j.password_file;
	d.kms = j.kms;
	d.key_id = j.key_id;
	if (!j.kms && !j.password_file)
		d.password_file = NULL;  /* environment or terminal */
	d.confirm = confirm_cb;
	d.confirm_ctx = c;
	if (!j.kms && !j.password_file) {
		/* password from $TAPEVAULT_PASSWORD or the terminal */
		static char dash[] = "";
		(void)dash;
	}
	return cli_json_job(c, job_result(c, tv_job_decrypt(c->h, argv + 1, (size_t)(n - 1), &d),
	                                  "decrypt", 0), "decrypt", argv + 1, (size_t)(n - 1));
}

/* `backups [SET]`: the list, or one set (id != 0) with its problems. */
struct backups_list {
	struct cli_list l;
	int64_t id;
	int64_t problems;            /* of the one set */
	int level;                   /* of the one set */
	char parent[37];
	int64_t deleted;
};

static const char *level_name(int level)
{
	return level == TV_LEVEL_INCREMENTAL ? "incremental" :
	       level == TV_LEVEL_DIFFERENTIAL ? "differential" : "full";
}

static int problem_json(void *ctx, const struct tv_problem_row *p)
{
	json_array_append_new(ctx, json_pack("{s:s,s:s}", "path", p->path, "reason", p->reason));
	return 0;
}

static int problem_print(void *ctx, const struct tv_problem_row *p)
{
	(void)ctx;
	printf("  %s: %s\n", p->path, p->reason);
	return 0;
}

/* The set's state and, in JSON, what was not stored whole. */
static int backup_truth(struct cli_list *o, const struct tv_backup_row *b, json_t *row)
{
	json_t *probs = json_array();

	json_object_set_new(row, "status", json_string(b->set_state));
	json_object_set_new(row, "complete", json_boolean(b->complete &&
	                                                  strcmp(b->set_state, "complete") == 0));
	json_object_set_new(row, "problems", probs);
	return b->problems > 0 ? tv_query_set_problems(o->c->h->db, b->id, problem_json, probs) : 0;
}

static int backup_print(void *ctx, const struct tv_backup_row *b)
{
	struct cli_list *o = ctx;
	struct backups_list *bl = ctx;
	const char *state = tv_backup_state(b);
	char u[37], cr[32];
	int r;

	tv_iso8601(b->created, cr);
	char pu[37] = "-";

	if (bl->id != 0 && b->id != bl->id)
		return 0;
	bl->problems = b->problems;

	if (b->uuid != NULL)
		tv_uuid_to_str(b->uuid, u);
	else
		snprintf(u, sizeof(u), "?");
	if (b->parent != NULL)
		tv_uuid_to_str(b->parent, pu);
	bl->level = b->level;
	bl->deleted = b->deleted;
	snprintf(bl->parent, sizeof(bl->parent), "%s", pu);
	if (o->c->json) {
		json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:o,s:b,s:b}", "id", u,
		                        "name", b->name, "pool", b->pool, "created", cr,
		                        "created_unix", (json_int_t)b->created,
		                        "files", (json_int_t)b->files, "bytes", (json_int_t)b->bytes,
		                        "state", state, "tapes", tv_web_csv_array(b->tapes), "complete",
		                        b->complete, "recovered", b->recovered);
		json_object_set_new(row, "bytes_on_tape", json_integer(b->bytes_on_tape));
		json_object_set_new(row, "level", json_string(level_name(b->level)));
		json_object_set_new(row, "parent", b->parent != NULL ? json_string(pu) : json_null());
		json_object_set_new(row, "deleted", json_integer(b->deleted));
		json_array_append_new(o->arr, row);
		if ((r = backup_truth(o, b, row)) != 0)
			return r;
	} else {
		printf("%-36s %-20s %-20s %-12s %-8lld %-14lld %-14lld %-12s %-8.8s %-17s %s\n", u,
		       b->name, cr, b->pool, (long long)b->files, (long long)b->bytes,
		       (long long)b->bytes_on_tape, level_name(b->level), pu, state, b->tapes);
	}
	return 0;
}

/* Locked tapes hide their backup sets: they show as "tape encrypted" until
 * they are unlocked. */
static int locked_tape_print(void *ctx, const struct tv_locked_tape_row *t)
{
	struct cli_list *o = ctx;
	char name[64];

	snprintf(name, sizeof(name), "(on locked %s)", t->barcode);
	if (o->c->json)
		json_array_append_new(o->arr, json_pack("{s:n,s:s,s:s,s:s,s:[s]}", "id", "name", name,
		                                        "pool", t->pool, "state", "tape encrypted",
		                                        "tapes", t->barcode));
	else
		printf("%-36s %-20s %-20s %-12s %-8s %-14s %-14s %-12s %-8s %-17s %s\n", "-", name,
		       "-", t->pool, "?", "?", "?", "?", "-", "tape encrypted", t->barcode);
	return 0;
}

int cmd_backups(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("backups");
	struct backups_list bl = {0};
	struct cli_list *o = &bl.l;
	uint8_t uuid[16];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, j_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n > 2)
		return cli_usage(cmd, "backups takes at most one backup set");
	if (cli_open(c))
		return EXIT_FAIL;
	if (n == 2 && (r = tv_set_lookup(c->h, argv[1], &bl.id, uuid)) != 0)
		return cli_fail(c, r, "backups");
	cli_list_start(o, c, "%-36s %-20s %-20s %-12s %-8s %-14s %-14s %-12s %-8s %-17s %s\n",
	               "ID", "NAME", "CREATED", "POOL", "FILES", "BYTES", "ON-TAPE", "LEVEL",
	               "PARENT", "STATE", "TAPES");
	r = tv_query_backup_sets(c->h->db, backup_print, o);
	if (r == 0 && bl.id == 0)
		r = tv_query_locked_tapes(c->h->db, locked_tape_print, o);
	if (r == 0 && bl.id != 0 && !c->json && bl.level != TV_LEVEL_FULL)
		printf("\nlevel: %s, based on set %s; %lld item(s) of its parent's tree deleted "
		       "since; FILES counts the items it stored (new or changed)\n",
		       level_name(bl.level), bl.parent, (long long)bl.deleted);
	if (r == 0 && bl.id != 0 && !c->json) {
		/* one set: what was not stored whole, item by item */
		if (bl.problems > 0) {
			printf("\nnot stored whole (%lld):\n", (long long)bl.problems);
			r = tv_query_set_problems(c->h->db, bl.id, problem_print, NULL);
		}
	}
	return cli_list_end(o, r, "backups");
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"to", required_argument, NULL, 't'},
	                                  {"to-original", no_argument, NULL, 'O'},
	                                  {"overwrite", required_argument, NULL, 'W'},
	                                  {"allow-partial", no_argument, NULL, 'a'},
	                                  {"extract", no_argument, NULL, 'x'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {"no-xattrs", no_argument, NULL, 'X'},
	                                  {"numeric-owner", no_argument, NULL, 'N'},
	                                  {"dry-run", no_argument, NULL, 'd'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("restore");
	struct jopts j = {0};
	struct tv_restore_opts ro = {0};
	int n;

	if ((n = cli_getopt(cmd, argc, argv, o, j_opt, &j)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n >= 2 && j.dry_run && !(j.to && j.to_original)) {
		c->job_kind = NULL;   /* reads and writes nothing: not a job of the history */
		if (cli_open(c))
			return EXIT_FAIL;
		return cli_restore_dry_run(c, argv[1], argv + 2, (size_t)(n - 2));
	}
	if (n < 2 || (j.to == NULL) == !j.to_original)
		return cli_usage(cmd, "restore needs a backup set and one of --to DIR or "
		                 "--to-original");
	if (j.overwrite == NULL || strcmp(j.overwrite, "never") == 0)
		ro.overwrite = TV_OVERWRITE_NEVER;
	else if (strcmp(j.overwrite, "always") == 0)
		ro.overwrite = TV_OVERWRITE_ALWAYS;
	else if (strcmp(j.overwrite, "if-newer") == 0)
		ro.overwrite = TV_OVERWRITE_IF_NEWER;
	else
		return cli_usage(cmd, "--overwrite takes never, always or if-newer");
	if (cli_open(c))
		return EXIT_FAIL;
	ro.to = j.to;
	ro.to_original = j.to_original;
	ro.paths = argv + 2;
	ro.npaths = (size_t)(n - 2);
	ro.extract = j.extract;
	ro.password_file = j.password_file;
	ro.no_xattrs = j.no_xattrs;
	ro.numeric_owner = j.numeric_owner;
	return cli_json_job(c, job_result(c, tv_job_restore(c->h, argv[1], &ro), "restore",
	                                  j.allow_partial), "restore", argv + 1, 1);
}

int cmd_verify(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("verify");
	int n;

	if ((n = cli_getopt(cmd, argc, argv, NULL, j_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2)
		return cli_usage(cmd, "verify needs at least one barcode");
	if (cli_open(c))
		return EXIT_FAIL;
	return cli_json_job(c, job_result(c, tv_job_verify(c->h, argv + 1, (size_t)(n - 1)),
	                                  "verify", 0), "verify", argv + 1, (size_t)(n - 1));
}
