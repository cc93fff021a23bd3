/* tapevault CLI: browsing (files, find, restore --dry-run) and the job
 * history (jobs). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "format/format.h"
#include "jobs/browse.h"
#include "jobs/history.h"
#include "util/err.h"
#include "web/web.h"

struct bopts {
	const char *set, *limit;
};

static int b_opt(int o, const char *arg, void *ctx)
{
	struct bopts *b = ctx;

	switch (o) {
	case 's': b->set = arg; break;
	case 'l': b->limit = arg; break;
	default: return -1;
	}
	return 0;
}

/* "drwxr-xr-x" */
static void mode_string(int ftype, uint32_t mode, char out[11])
{
	static const char tc[] = "?-dlhpcb";
	static const char rwx[] = "rwxrwxrwx";

	out[0] = ftype >= 1 && ftype <= TV_FT_LAST ? tc[ftype] : '?';
	for (int i = 0; i < 9; i++)
		out[1 + i] = (mode & (1u << (8 - i))) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

static json_t *tapes_json(const struct tv_item *it)
{
	json_t *a = json_array();

	for (size_t i = 0; i < it->ntapes; i++)
		json_array_append_new(a, json_string(it->tapes[i]));
	return a;
}

/* An item as a JSON object: the fields of files --json (the API's). */
static json_t *item_json(const struct tv_item *it)
{
	return tv_web_item_json(it);
}

/* One ls -l style line: mode, owner/group, size, mtime, path. */
static void item_print(const struct tv_item *it)
{
	char ms[11], mt[32], og[160], who[40], grp[40];

	mode_string(it->ftype, it->mode, ms);
	tv_iso8601(it->mtime_sec, mt);
	snprintf(who, sizeof(who), "%lld", (long long)it->uid);
	snprintf(grp, sizeof(grp), "%lld", (long long)it->gid);
	snprintf(og, sizeof(og), "%s/%s", it->owner[0] ? it->owner : who,
	         it->group[0] ? it->group : grp);
	printf("%s %-17s %13lld %-20s %s", ms, og, (long long)it->size, mt[0] ? mt : "-",
	       it->path);
	if (it->ftype == TV_FT_SYMLINK)
		printf(" -> %s", it->link);
	else if (it->ftype == TV_FT_HARDLINK)
		printf(" link to %s", it->link);
	putchar('\n');
}

struct flist {
	struct cli *c;
	json_t *arr;
	uint64_t items, bytes;
};

static int files_row(void *ctx, const struct tv_item *it)
{
	struct flist *f = ctx;

	f->items++;
	if (it->ftype == TV_FT_REG)
		f->bytes += (uint64_t)it->size;
	if (f->arr != NULL)
		json_array_append_new(f->arr, item_json(it));
	else
		item_print(it);
	return 0;
}

static json_t *set_json(const struct tv_set_ref *ref)
{
	char u[37], cr[32];

	tv_uuid_to_str(ref->uuid, u);
	tv_iso8601(ref->created, cr);
	return json_pack("{s:s,s:s,s:s,s:I}", "id", u, "name", ref->name, "created", cr,
	                 "created_unix", (json_int_t)ref->created);
}

int cmd_files(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("files");
	struct tv_set_ref ref;
	struct flist f = {c, NULL, 0, 0};
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, b_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2)
		return cli_usage(cmd, "files needs a backup set");
	if (cli_open(c))
		return EXIT_FAIL;
	if (c->json)
		f.arr = json_array();
	r = tv_browse_files(c->h, argv[1], argv + 2, (size_t)(n - 2), files_row, &f, &ref);
	if (c->json && f.arr != NULL) {
		if (ref.name[0])
			cli_json_set(c, "backup_set", set_json(&ref));
		cli_json_set(c, "files", f.arr);
		cli_json_set(c, "items", json_integer((json_int_t)f.items));
		cli_json_set(c, "bytes", json_integer((json_int_t)f.bytes));
	}
	return r ? cli_fail(c, r, "files") : EXIT_OK;
}

static int find_row(void *ctx, const struct tv_item *it)
{
	struct flist *f = ctx;
	char u[37] = "?", cr[32], mt[32], tapes[200] = "";
	json_t *o;

	if (it->set_uuid != NULL)
		tv_uuid_to_str(it->set_uuid, u);
	tv_iso8601(it->set_created, cr);
	tv_iso8601(it->mtime_sec, mt);
	f->items++;
	if (f->arr != NULL) {
		o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:o}", "set_id", u, "set_name",
		              it->set_name, "set_created", cr, "path", it->path, "type",
		              tv_item_type_name(it->ftype), "size", (json_int_t)it->size, "mtime", mt,
		              "mtime_unix", (json_int_t)it->mtime_sec, "tapes", tapes_json(it));
		json_array_append_new(f->arr, o);
		return 0;
	}
	for (size_t i = 0; i < it->ntapes; i++) {
		size_t l = strlen(tapes);
		snprintf(tapes + l, sizeof(tapes) - l, "%s%s", i ? "," : "", it->tapes[i]);
	}
	printf("%-8.8s %-16s %-20s %13lld %-20s %-9s %s\n", u, it->set_name, cr,
	       (long long)it->size, mt[0] ? mt : "-", tapes[0] ? tapes : "-", it->path);
	return 0;
}

int cmd_find(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"set", required_argument, NULL, 's'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("find");
	struct bopts b = {0};
	struct flist f = {c, NULL, 0, 0};
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, b_opt, &b)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2)
		return cli_usage(cmd, "find needs at least one pattern");
	if (cli_open(c))
		return EXIT_FAIL;
	if (c->json)
		f.arr = json_array();
	else
		printf("%-8s %-16s %-20s %13s %-20s %-9s %s\n", "SET", "NAME", "SET-DATE", "SIZE",
		       "MTIME", "TAPES", "PATH");
	r = tv_browse_find(c->h, argv + 1, (size_t)(n - 1), b.set, find_row, &f);
	if (f.arr != NULL)
		cli_json_set(c, "versions", f.arr);
	return r ? cli_fail(c, r, "find") : EXIT_OK;
}

/* ---- restore --dry-run ---- */

struct plan {
	struct flist f;
	json_t *tapes;
	int header;
	uint64_t locked, unknown;
};

static int plan_tape(void *ctx, const struct tv_plan_tape *t)
{
	struct plan *p = ctx;
	const char *lock = !t->encrypted ? "not encrypted" : t->locked ? "LOCKED" : "unlocked";

	if (t->barcode[0] == '\0')
		p->unknown++;
	else if (t->locked)
		p->locked++;
	if (p->tapes != NULL) {
		json_array_append_new(p->tapes, json_pack(
			"{s:s?,s:I,s:s,s:s,s:b,s:b,s:I}", "barcode", t->barcode[0] ? t->barcode : NULL,
			"seq", (json_int_t)t->seq, "library", t->library, "location", t->where,
			"locked", t->locked, "encrypted", t->encrypted, "items", (json_int_t)t->items));
		return 0;
	}
	if (!p->header) {
		printf("\ntapes needed:\n");
		p->header = 1;
	}
	printf("  %-9s seq %-4lld %-40s %-14s %llu item(s)\n", t->barcode[0] ? t->barcode : "?",
	       (long long)t->seq, t->where, lock, (unsigned long long)t->items);
	if (t->locked)
		fprintf(stderr, "tapevault: %s is locked: unlock it with 'tapevault decrypt %s' "
		        "before restoring\n", t->barcode, t->barcode);
	return 0;
}

int cli_restore_dry_run(struct cli *c, const char *set, char **paths, size_t npaths)
{
	struct plan p;
	struct tv_set_ref ref;
	char u[37];
	int r;

	memset(&p, 0, sizeof(p));
	p.f.c = c;
	if (c->json) {
		p.f.arr = json_array();
		p.tapes = json_array();
	}
	r = tv_restore_plan(c->h, set, paths, npaths, files_row, plan_tape, &p, &ref);
	if (r != 0 && r != TV_ERR_NOTFOUND) {
		json_decref(p.f.arr);
		json_decref(p.tapes);
		return cli_fail(c, r, "restore --dry-run");
	}
	tv_uuid_to_str(ref.uuid, u);
	if (c->json) {
		cli_json_set(c, "dry_run", json_true());
		cli_json_set(c, "backup_set", set_json(&ref));
		cli_json_set(c, "items", p.f.arr);
		cli_json_set(c, "tapes", p.tapes);
		cli_json_set(c, "files", json_integer((json_int_t)p.f.items));
		cli_json_set(c, "bytes", json_integer((json_int_t)p.f.bytes));
	} else {
		if (!p.header)
			printf("\ntapes needed: none (every item comes from the catalog)\n");
		printf("\nwould restore %llu item(s), %llu bytes of file data from backup set %s "
		       "(%s); nothing was written\n", (unsigned long long)p.f.items,
		       (unsigned long long)p.f.bytes, ref.name, u);
	}
	if (p.unknown > 0)
		fprintf(stderr, "tapevault: %llu tape(s) of the set are not in the catalog: insert "
		        "them and run 'tapevault catalog LIBRARY'\n", (unsigned long long)p.unknown);
	return r ? cli_fail(c, r, "restore --dry-run") : EXIT_OK;
}

/* ---- jobs ---- */

static int job_row(void *ctx, const struct tv_job_row *j)
{
	struct cli_list *o = ctx;
	char st[32], dur[32], rate[32];
	double secs = j->duration_ms / 1000.0;
	double mbs = secs > 0 ? (double)j->bytes / secs / (1024.0 * 1024.0) : 0;

	tv_iso8601(j->started_ms / 1000, st);
	if (o->c->json) {
		json_t *row = json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:I,s:o,s:s,s:I}", "id",
		                        (json_int_t)j->id, "kind", j->kind, "args", j->args,
		                        "start", st, "duration",
		                        j->duration_ms >= 0 ? json_real(secs) : json_null(),
		                        "files", (json_int_t)j->files, "bytes", (json_int_t)j->bytes,
		                        "rate", j->duration_ms >= 0 && secs > 0 ?
		                        json_real((double)j->bytes / secs) : json_null(),
		                        "result", j->result, "warnings", (json_int_t)j->warnings);
		if (j->error[0])
			json_object_set_new(row, "error", json_string(j->error));
		json_array_append_new(o->arr, row);
		return 0;
	}
	if (j->duration_ms >= 0)
		snprintf(dur, sizeof(dur), "%.1fs", secs);
	else
		snprintf(dur, sizeof(dur), "-");
	snprintf(rate, sizeof(rate), "%.1fMiB/s", mbs);
	printf("%-5lld %-16s %-20s %9s %9lld %14lld %12s %-11s %-8lld %s%s%s\n",
	       (long long)j->id, j->kind, st, dur, (long long)j->files, (long long)j->bytes,
	       j->duration_ms >= 0 ? rate : "-", j->result, (long long)j->warnings, j->args,
	       j->error[0] ? ": " : "", j->error);
	return 0;
}

int cmd_jobs(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"limit", required_argument, NULL, 'l'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("jobs");
	struct bopts b = {0};
	struct cli_list out;
	long long limit = 0;
	char *end;
	int n;

	if ((n = cli_getopt(cmd, argc, argv, o, b_opt, &b)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "jobs takes no operands");
	if (b.limit != NULL) {
		limit = strtoll(b.limit, &end, 10);
		if (*b.limit == '\0' || *end != '\0' || limit < 1)
			return cli_usage(cmd, "--limit takes a number of jobs (1 or more)");
	}
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&out, c, "%-5s %-16s %-20s %9s %9s %14s %12s %-11s %-8s %s\n", "ID", "KIND",
	               "START", "DURATION", "FILES", "BYTES", "RATE", "RESULT", "WARNINGS",
	               "ARGS");
	return cli_list_end(&out, tv_history_list(c->h, limit, job_row, &out), "jobs");
}
