/* tapevault CLI: init, libraries, tapes, pools. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/query.h"
#include "cli/cli.h"
#include "crypto/kdf.h"
#include "crypto/pkey.h"
#include "crypto/slot.h"
#include "format/record.h"
#include "jobs/admin.h"
#include "jobs/browse.h"
#include "jobs/drivecrypt.h"
#include "jobs/inspect.h"
#include "jobs/jobs.h"
#include "jobs/retention.h"
#include "library/vlib.h"
#include "util/err.h"

struct kv {
	const char *catalog, *path, *to, *capacity, *pool, *state, *library, *encryption,
		*media_set, *compression, *drive_enc, *retention;
	long slots, drives, mailslots;
	int copy, scsi_emu, scan;
};

/* "1.5G" style, for columns */
static void human_size(uint64_t n, char *out, size_t outsz)
{
	static const char units[] = "BKMGTP";
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%lluB", (unsigned long long)n);
	else
		snprintf(out, outsz, "%.1f%c", v, units[u]);
}

static int kv_opt(int o, const char *arg, void *ctx)
{
	struct kv *kv = ctx;
	char *end;

	switch (o) {
	case 'C': kv->catalog = arg; break;
	case 'p': kv->path = arg; break;
	case 't': kv->to = arg; break;
	case 'c': kv->capacity = arg; break;
	case 'P': kv->pool = arg; break;
	case 'S': kv->state = arg; break;
	case 'l': kv->library = arg; break;
	case 'e': kv->encryption = arg; break;
	case 'm': kv->media_set = arg; break;
	case 'Z': kv->compression = arg; break;
	case 'r': kv->retention = arg; break;
	case 'y': kv->copy = 1; break;
	case 'E': kv->scsi_emu = 1; break;
	case 'n': kv->scan = 1; break;
	case 'D':
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
			fprintf(stderr, "tapevault: --drive-encryption is on or off, not %s\n", arg);
			return -1;
		}
		kv->drive_enc = arg;
		break;
	case 's': case 'd': case 'M': {
		long v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v < 0 || v > 100000) {
			fprintf(stderr, "tapevault: not a count: %s\n", arg);
			return -1;
		}
		if (o == 's') kv->slots = v;
		else if (o == 'd') kv->drives = v;
		else kv->mailslots = v;
		break;
	}
	default: return -1;
	}
	return 0;
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"catalog", required_argument, NULL, 'C'}, {0, 0, 0, 0}};
	struct kv kv = {0};
	int n = cli_getopt(cli_find("init"), argc, argv, o, kv_opt, &kv), r, kept = 0;

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cli_find("init"), "init takes no operands");
	if ((r = tv_home_resolve(c->home_opt, c->home_dir, sizeof(c->home_dir))) != 0)
		return cli_fail(c, r, NULL);
	/* the site's catalog from the environment, as --catalog */
	if (kv.catalog == NULL && getenv("TAPEVAULT_CATALOG") != NULL &&
	    *getenv("TAPEVAULT_CATALOG") != '\0')
		kv.catalog = getenv("TAPEVAULT_CATALOG");
	if ((r = tv_home_init_report(c->home_dir, kv.catalog, &kept)) != 0)
		return cli_fail(c, r, "init");
	if (!c->quiet && kept)
		fprintf(stderr, "%s: the catalog was missing: made a new, empty one and kept the "
		        "key store and identity.  Register the libraries again with "
		        "'tapevault library attach NAME --path DIR', add the passwords and KMS "
		        "servers the tapes need, then run 'tapevault catalog LIBRARY'\n",
		        c->home_dir);
	else if (!c->quiet)
		fprintf(stderr, "initialized %s\n", c->home_dir);
	if (c->json) {
		cli_json_set(c, "home", json_string(c->home_dir));
		cli_json_set(c, "kept_keys", json_boolean(kept));
	}
	return EXIT_OK;
}

int cmd_library_create(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"path", required_argument, NULL, 'p'},
	                                  {"slots", required_argument, NULL, 's'},
	                                  {"drives", required_argument, NULL, 'd'},
	                                  {"mailslots", required_argument, NULL, 'M'},
	                                  {"scsi-emulation", no_argument, NULL, 'E'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("library create");
	struct kv kv = {0};
	struct tv_vlib *lib = NULL;
	char abspath[PATH_MAX];
	int n, r;

	kv.slots = -1;
	kv.drives = 1;
	kv.mailslots = 1;
	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || kv.path == NULL || kv.slots < 0)
		return cli_usage(cmd, "library create needs NAME, --path and --slots");
	if (kv.drives < 1)
		return cli_usage(cmd, "a library needs at least one drive");
	if (cli_open(c))
		return EXIT_FAIL;
	if (kv.scsi_emu)
		r = tv_vlib_create_emulated(kv.path, argv[1], (unsigned)kv.slots,
		                            (unsigned)kv.drives, (unsigned)kv.mailslots, &lib);
	else
		r = tv_vlib_create(kv.path, argv[1], (unsigned)kv.slots, (unsigned)kv.drives,
		                   (unsigned)kv.mailslots, &lib);
	if (r != 0)
		return cli_fail(c, r, "library create");
	if (realpath(kv.path, abspath) == NULL)
		snprintf(abspath, sizeof(abspath), "%s", kv.path);
	tv_vlib_close(lib);
	if ((r = tv_admin_library_add(c->h, argv[1], abspath)) != 0)
		return cli_fail(c, r, "library create");
	if (!c->quiet)
		fprintf(stderr, "library %s: %ld slots, %ld drive(s), %ld mail slot(s) in %s%s\n",
		        argv[1], kv.slots, kv.drives, kv.mailslots, abspath,
		        kv.scsi_emu ? " (emulated SCSI changer and drives)" : "");
	if (c->json)
		cli_json_set(c, "library", json_pack("{s:s,s:s,s:I,s:I,s:I,s:s}", "name", argv[1],
		             "path", abspath, "slots", (json_int_t)kv.slots, "drives",
		             (json_int_t)kv.drives, "mailslots", (json_int_t)kv.mailslots, "kind",
		             kv.scsi_emu ? "emulated scsi" : "directory"));
	return EXIT_OK;
}

int cmd_library_attach(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"path", required_argument, NULL, 'p'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("library attach");
	struct kv kv = {0};
	char abspath[PATH_MAX];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || kv.path == NULL)
		return cli_usage(cmd, "library attach needs NAME and --path DIR");
	if (cli_open(c))
		return EXIT_FAIL;
	if (realpath(kv.path, abspath) == NULL)
		return cli_fail(c, tv_errf(TV_ERR_NOTFOUND, "%s: %s", kv.path, strerror(errno)),
		                "library attach");
	if ((r = tv_admin_library_attach(c->h, argv[1], abspath)) != 0)
		return cli_fail(c, r, "library attach");
	if (!c->quiet)
		fprintf(stderr, "library %s: attached %s; run 'tapevault catalog %s' to read its "
		        "tapes\n", argv[1], abspath, argv[1]);
	return EXIT_OK;
}

static int library_print(void *ctx, const struct tv_library_row *l)
{
	struct cli_list *o = ctx;

	if (o->c->json)
		json_array_append_new(o->arr, json_pack("{s:s,s:s}", "name", l->name, "path",
		                                        l->path));
	else
		printf("%-20s %s\n", l->name, l->path);
	return 0;
}

int cmd_library_list(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("library list");
	struct cli_list o;
	int n;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&o, c, "%-20s %s\n", "NAME", "PATH");
	return cli_list_end(&o, tv_query_libraries(c->h->db, library_print, &o), "libraries");
}

int cmd_library_status(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"scan", no_argument, NULL, 'n'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("library status");
	struct tv_vlib *lib;
	struct kv kv = {0};
	int64_t id;
	char *text = NULL;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "library status needs a library name");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_lib_open_by_name(c->h, argv[1], &lib, &id)) != 0)
		return cli_fail(c, r, NULL);
	if (kv.scan && (r = tv_vlib_scan(lib)) != 0) {
		tv_vlib_close(lib);
		return cli_fail(c, r, "library status --scan");
	}
	if (c->json) {
		struct tv_vlib_info info;
		struct tv_vlib_elem *el = NULL;
		size_t ne = 0;
		json_t *arr = json_array();
		static const char *const tn[] = {"drive", "slot", "mailslot"};
		if ((r = tv_vlib_status(lib, &info, &el, &ne)) == 0) {
			for (size_t i = 0; i < ne; i++)
				json_array_append_new(arr, json_pack("{s:s,s:i,s:s?,s:b,s:s?}", "type",
				                      tn[el[i].type >= 1 && el[i].type <= 3 ?
				                         el[i].type - 1 : 0], "index",
				                      (int)el[i].index, "barcode",
				                      el[i].barcode[0] ? el[i].barcode : NULL, "full",
				                      el[i].full, "note",
				                      el[i].except ? el[i].note : NULL));
			cli_json_set(c, "elements", arr);
			cli_json_set(c, "kind", json_string(info.kind));
		} else {
			json_decref(arr);
		}
		free(el);
	} else if ((r = tv_vlib_status_text(lib, &text)) == 0) {
		fputs(text, stdout);
	}
	free(text);
	tv_vlib_close(lib);
	return r ? cli_fail(c, r, NULL) : EXIT_OK;
}

int cmd_tape_new(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"capacity", required_argument, NULL, 'c'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape new");
	struct kv kv = {0};
	struct tv_vlib *lib;
	uint64_t cap = 0;
	int64_t lib_id;
	int n, r, failed = 0;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 3)
		return cli_usage(cmd, "tape new needs a library and at least one barcode");
	if (kv.capacity && cli_parse_size(kv.capacity, &cap) != 0)
		return cli_usage(cmd, "bad --capacity '%s' (e.g. 64M, 400G)", kv.capacity);
	if (kv.capacity && cap < 1024 * 1024)
		return cli_usage(cmd, "--capacity must be at least 1M");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_lib_open_by_name(c->h, argv[1], &lib, &lib_id)) != 0)
		return cli_fail(c, r, NULL);
	for (int i = 2; i < n; i++) {
		unsigned slot = 0;
		if ((r = tv_vlib_new_tape(lib, argv[i], cap, 0, &slot)) != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if ((r = tv_admin_tape_new(c->h, argv[i], lib_id, cap)) != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if (!c->quiet)
			fprintf(stderr, "%s: blank cartridge in slot %u\n", argv[i], slot);
		if (c->json)
			cli_json_append(c, "tapes", json_pack("{s:s,s:i}", "barcode", argv[i], "slot",
			                                      (int)slot));
	}
	tv_vlib_close(lib);
	return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_tape_export(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"to", required_argument, NULL, 't'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape export");
	struct kv kv = {0};
	int n, r, failed = 0;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2 || kv.to == NULL)
		return cli_usage(cmd, "tape export needs barcodes and --to DIR");
	if (cli_open(c))
		return EXIT_FAIL;
	for (int i = 1; i < n; i++) {
		struct tv_vlib *lib;
		int64_t lib_id;
		char where[PATH_MAX + 64];
		if ((r = tv_lib_open_for_tape(c->h, argv[i], &lib, &lib_id)) != 0) {
			cli_fail(c, r, NULL);
			failed++;
			continue;
		}
		r = tv_vlib_export_to(lib, argv[i], kv.to, where, sizeof(where));
		tv_vlib_close(lib);
		if (r != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if ((r = tv_admin_tape_exported(c->h, argv[i])) != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if (!c->quiet)
			fprintf(stderr, "%s: exported to %s\n", argv[i], where[0] ? where : kv.to);
		if (c->json)
			cli_json_append(c, "exported", json_pack("{s:s,s:s}", "barcode", argv[i], "to",
			                                         where[0] ? where : kv.to));
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_tape_insert(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"copy", no_argument, NULL, 'y'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape insert");
	struct tv_vlib *lib;
	struct kv kv = {0};
	int64_t lib_id;
	int n, r, failed = 0;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 3)
		return cli_usage(cmd, "tape insert needs a library and at least one tape image");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_lib_open_by_name(c->h, argv[1], &lib, &lib_id)) != 0)
		return cli_fail(c, r, NULL);
	for (int i = 2; i < n; i++) {
		char barcode[32];
		unsigned slot = 0;
		if ((r = tv_vlib_insert(lib, argv[i], kv.copy ? TV_VLIB_INSERT_COPY : 0, barcode,
		                        &slot)) != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if ((r = tv_admin_tape_inserted(c->h, barcode, lib_id)) != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if (!c->quiet)
			fprintf(stderr, "%s: inserted into slot %u (run 'tapevault catalog %s' to read it)\n",
			        barcode, slot, argv[1]);
		if (c->json)
			cli_json_append(c, "inserted", json_pack("{s:s,s:i}", "barcode", barcode, "slot",
			                                         (int)slot));
	}
	tv_vlib_close(lib);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* "8 hex:seq" of a tape's media set; "-" in none */
static void media_set_col(const struct tv_tape_row *t, char *ms, size_t mssz)
{
	char us[37];

	snprintf(ms, mssz, "-");
	if (t->media_set_uuid != NULL) {
		tv_uuid_to_str(t->media_set_uuid, us);
		snprintf(ms, mssz, "%.8s:%lld", us, (long long)t->seq);
	}
}

json_t *cli_tape_json(const struct tv_tape_row *t)
{
	char keyd[800], fpr[64], ms[48], lw[32];
	json_t *row;

	(void)tv_inspect_key(t->ms_label, t->ms_label_len, keyd, sizeof(keyd), fpr, sizeof(fpr));
	media_set_col(t, ms, sizeof(ms));
	tv_iso8601(t->written, lw);
	row = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:s,s:s,s:s,s:b}", "barcode",
	                t->barcode, "state", t->state, "pool", t->pool, "media_set",
	                ms, "seq", (json_int_t)t->seq, "encrypted", t->encrypted,
	                "locked", t->locked, "location", t->library[0] ? t->library : "offline",
	                "key", keyd, "key_fingerprint", fpr, "full", t->full);
	json_object_set_new(row, "bytes_on_tape", json_integer(t->used));
	json_object_set_new(row, "used", json_integer(t->used));
	json_object_set_new(row, "capacity", t->capacity ? json_integer(t->capacity) : json_null());
	json_object_set_new(row, "last_written", lw[0] ? json_string(lw) : json_null());
	tv_iso8601(t->expires, lw);
	json_object_set_new(row, "expires", lw[0] ? json_string(lw) : json_null());
	return row;
}

static int tape_list_row(void *ctx, const struct tv_tape_row *t)
{
	struct cli_list *o = ctx;
	char keyd[800], fpr[64], ms[48], enc[24], lw[32], ex[32];
	const char *where = t->library[0] ? t->library : "offline";

	/* a label that does not decode leaves the key columns empty */
	(void)tv_inspect_key(t->ms_label, t->ms_label_len, keyd, sizeof(keyd), fpr, sizeof(fpr));
	media_set_col(t, ms, sizeof(ms));
	tv_iso8601(t->written, lw);
	tv_iso8601(t->expires, ex);
	snprintf(enc, sizeof(enc), "%s", !t->encrypted ? "none" : t->locked ? "encrypted/locked"
	                                                                    : "encrypted");
	if (o->c->json) {
		json_array_append_new(o->arr, cli_tape_json(t));
	} else {
		char used[24];
		char keycol[900];
		if (t->encrypted)
			snprintf(keycol, sizeof(keycol), "%s [fpr %.16s]", keyd, fpr);
		else
			snprintf(keycol, sizeof(keycol), "-");
		human_size((uint64_t)t->used, used, sizeof(used));
		printf("%-9s %-12s %-14s %-14s %-18s %-10s %-9s %-20s %-20s %s\n", t->barcode,
		       t->state, t->pool[0] ? t->pool : "-", ms, enc, where, used, lw[0] ? lw : "-",
		       ex[0] ? ex : "-", keycol);
	}
	return 0;
}

int cmd_tape_list(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"pool", required_argument, NULL, 'P'},
	                                  {"state", required_argument, NULL, 'S'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape list");
	struct kv kv = {0};
	struct cli_list out;
	int n;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cmd, "tape list takes no operands");
	if (kv.state && strcmp(kv.state, "free") && strcmp(kv.state, "pool") &&
	    strcmp(kv.state, "imported") && strcmp(kv.state, "unrecognized") &&
	    strcmp(kv.state, "retired") && strcmp(kv.state, "locked"))
		return cli_usage(cmd, "--state is one of free, pool, imported, unrecognized, retired, locked");
	if (cli_open(c))
		return EXIT_FAIL;
	cli_list_start(&out, c, "%-9s %-12s %-14s %-14s %-18s %-10s %-9s %-20s %-20s %s\n",
	               "BARCODE", "STATE", "POOL", "MEDIA-SET:SEQ", "ENCRYPTION", "LOCATION", "USED",
	               "LAST-WRITTEN", "EXPIRES", "KEY");
	return cli_list_end(&out, tv_query_tapes(c->h->db, kv.pool, kv.state, tape_list_row, &out),
	                    "tapes");
}

/* Everything known about one tape, as a JSON object (printed as such or
 * as "name value" lines). */
static int tape_show_row(void *ctx, const struct tv_tape_info *ti)
{
	const struct tv_tape_row *t = &ti->t;
	json_t **out = ctx, *o;
	char keyd[800], fpr[64], uuid[37] = "-";

	if (ti->uuid != NULL)
		tv_uuid_to_str(ti->uuid, uuid);
	/* a label that does not decode leaves the key fields empty */
	(void)tv_inspect_key(t->ms_label, t->ms_label_len, keyd, sizeof(keyd), fpr, sizeof(fpr));
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:s,s:b,s:I,s:I,s:I,s:I,s:b,s:I,s:I}",
	              "barcode", t->barcode, "uuid", uuid, "state", t->state, "pool", t->pool,
	              "seq", (json_int_t)t->seq, "encrypted", t->encrypted, "locked", t->locked,
	              "location", t->library[0] ? t->library : "offline", "full", t->full,
	              "sessions", (json_int_t)ti->sessions,
	              "append_file", (json_int_t)ti->next_file, "used", (json_int_t)t->used,
	              "capacity", (json_int_t)ti->capacity,
	              "contents_cataloged", ti->contents_cataloged,
	              "data_files", (json_int_t)ti->data_files,
	              "backup_sets", (json_int_t)ti->backup_sets);
	json_object_set_new(o, "bytes_on_tape", json_integer(ti->bytes_on_tape));
	json_object_set_new(o, "record_size", json_integer(ti->record_size));
	json_object_set_new(o, "format", json_integer(ti->format));
	if (t->encrypted) {
		json_object_set_new(o, "key", json_string(keyd));
		json_object_set_new(o, "key_fingerprint", json_string(fpr));
		if (ti->unlocked_by != NULL)
			json_object_set_new(o, "unlocked_by", json_string(ti->unlocked_by));
	}
	*out = o;
	return 0;
}

static void print_fields(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (json_is_string(v))
			printf("%-20s %s\n", k, json_string_value(v));
		else if (json_is_boolean(v))
			printf("%-20s %s\n", k, json_is_true(v) ? "yes" : "no");
		else
			printf("%-20s %lld\n", k, (long long)json_integer_value(v));
	}
}

int cmd_tape_show(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("tape show");
	json_t *o = NULL;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape show needs one barcode");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_query_tape(c->h->db, argv[1], tape_show_row, &o)) != 0)
		return cli_fail(c, r, NULL);
	if (c->json) {
		cli_json_set(c, "tape", o);
	} else {
		print_fields(o);
		json_decref(o);
	}
	return EXIT_OK;
}

/* tape dump: one tape file's header and its body, decoded */
static void dump_file(const struct tv_inspect_item *it)
{
	char u[37];

	tv_uuid_to_str(it->content_uuid, u);
	printf("file %llu: %s (content %s, %zu byte header body%s)\n",
	       (unsigned long long)it->file_no, tv_content_type_name(it->type), u, it->body_len,
	       it->sealed ? ", sealed" : "");
	if (it->vol != NULL) {
		tv_uuid_to_str(it->vol->tape_uuid, u);
		printf("  tape uuid %s, barcode %s, created %llu, writer %s, record size %llu\n", u,
		       it->vol->barcode, (unsigned long long)it->vol->created, it->vol->writer,
		       (unsigned long long)it->vol->record_size);
	} else if (it->ms != NULL) {
		const struct tv_media_set_label *ms = it->ms;
		tv_uuid_to_str(ms->media_set_uuid, u);
		printf("  pool %s, media set %s, sequence %llu, encryption %s\n", ms->pool_name, u,
		       (unsigned long long)ms->seq,
		       ms->enc.alg == TV_ENC_NONE ? "none" : "AES-256-GCM (HKDF per file)");
		if (ms->enc.alg != TV_ENC_NONE) {
			char fpr[TV_FPR_HEX_LEN];
			tv_dek_fpr_hex(ms->enc.dek_fpr, fpr);
			printf("  data key fingerprint %s\n", fpr);
		}
		for (size_t i = 0; i < ms->enc.nslots; i++) {
			char d[600];
			tv_slot_describe(&ms->enc.slots[i], d, sizeof(d));
			printf("  key slot %zu: %s\n", i, d);
		}
		if (ms->has_wsig) {
			char wf[TV_PKFPR_STR_LEN];
			tv_pkfpr_format(ms->wsig.fpr, wf);
			printf("  writer %s (its signature is checked when the tape is cataloged)\n", wf);
		} else {
			printf("  no writer signature\n");
		}
	} else if (it->data != NULL) {
		tv_uuid_to_str(it->data->set_uuid, u);
		printf("  backup set %s '%s', write session %llu\n", u, it->data->set_name,
		       (unsigned long long)it->data->session);
	} else if (it->cat != NULL) {
		printf("  write session %llu\n", (unsigned long long)it->cat->session);
	}
}

static void dump_stream(const struct tv_inspect_stream *s)
{
	printf("  %llu data record(s), %llu frame(s) (%llu zstd, %llu encrypted), %llu raw "
	       "byte(s), %llu frame(s) where an entry begins%s%s\n",
	       (unsigned long long)s->records, (unsigned long long)s->frames,
	       (unsigned long long)s->zstd_frames, (unsigned long long)s->sealed_frames,
	       (unsigned long long)s->raw_bytes, (unsigned long long)s->entry_frames,
	       s->cont ? ", continues in a later part" : "",
	       s->truncated ? ", CUT OFF (no END record)" : "");
}

static void dump_item(const struct tv_inspect_item *it)
{
	unsigned long long f = (unsigned long long)it->file_no;

	switch (it->kind) {
	case TV_INSPECT_FILE:
		dump_file(it);
		break;
	case TV_INSPECT_FRAME_ERROR:
		printf("  error: %s\n", tv_errmsg(it->err));
		break;
	case TV_INSPECT_STREAM:
		dump_stream(&it->stream);
		break;
	case TV_INSPECT_EMPTY:
		printf("file %llu: empty\n", f);
		break;
	case TV_INSPECT_BAD_FILE:
		printf("file %llu: error: %s\n", f, tv_errmsg(it->err));
		break;
	case TV_INSPECT_END:
		printf("%s\n", it->cut_off ? "end of data (no filemark after the last file: cut off?)"
		                           : "end of data");
		break;
	}
}

/* tape dump --json: a tape file's header body, decoded */
static void dump_file_json(const struct tv_inspect_item *it, json_t *o)
{
	char u[37];

	if (it->vol != NULL) {
		tv_uuid_to_str(it->vol->tape_uuid, u);
		json_object_set_new(o, "volume", json_pack("{s:s,s:s,s:I,s:s,s:I}", "tape_uuid", u,
		                    "barcode", it->vol->barcode, "created",
		                    (json_int_t)it->vol->created, "writer", it->vol->writer,
		                    "record_size", (json_int_t)it->vol->record_size));
	} else if (it->ms != NULL) {
		const struct tv_media_set_label *ms = it->ms;
		json_t *slots = json_array(), *m;
		char fpr[TV_FPR_HEX_LEN] = "", d[600];
		tv_uuid_to_str(ms->media_set_uuid, u);
		if (ms->enc.alg != TV_ENC_NONE)
			tv_dek_fpr_hex(ms->enc.dek_fpr, fpr);
		for (size_t i = 0; i < ms->enc.nslots; i++) {
			tv_slot_describe(&ms->enc.slots[i], d, sizeof(d));
			json_array_append_new(slots, json_string(d));
		}
		m = json_pack("{s:s,s:s,s:I,s:s,s:o}", "pool", ms->pool_name, "media_set", u, "seq",
		              (json_int_t)ms->seq, "encryption",
		              ms->enc.alg == TV_ENC_NONE ? "none" : "aes-256-gcm", "key_slots", slots);
		json_object_set_new(m, "data_key_fingerprint", fpr[0] ? json_string(fpr) : json_null());
		if (ms->has_wsig) {
			char wf[TV_PKFPR_STR_LEN];
			tv_pkfpr_format(ms->wsig.fpr, wf);
			json_object_set_new(m, "writer", json_string(wf));
		} else {
			json_object_set_new(m, "writer", json_null());
		}
		json_object_set_new(o, "media_set", m);
	} else if (it->data != NULL) {
		tv_uuid_to_str(it->data->set_uuid, u);
		json_object_set_new(o, "data", json_pack("{s:s,s:s,s:I}", "backup_set", u, "set_name",
		                    it->data->set_name, "session", (json_int_t)it->data->session));
	} else if (it->cat != NULL) {
		json_object_set_new(o, "catalog", json_pack("{s:I}", "session",
		                                            (json_int_t)it->cat->session));
	}
}

static json_t *dump_item_json(const struct tv_inspect_item *it)
{
	static const char *const kinds[] = {"file", "frame_error", "stream", "empty", "bad_file",
	                                    "end"};
	json_t *o = json_pack("{s:s}", "kind", kinds[it->kind]);
	const struct tv_inspect_stream *st = &it->stream;
	char u[37];

	if (it->kind != TV_INSPECT_END)
		json_object_set_new(o, "file_no", json_integer((json_int_t)it->file_no));
	switch (it->kind) {
	case TV_INSPECT_FILE:
		tv_uuid_to_str(it->content_uuid, u);
		json_object_set_new(o, "type", json_string(tv_content_type_name(it->type)));
		json_object_set_new(o, "content_uuid", json_string(u));
		json_object_set_new(o, "header_bytes", json_integer((json_int_t)it->body_len));
		json_object_set_new(o, "sealed", json_boolean(it->sealed));
		dump_file_json(it, o);
		break;
	case TV_INSPECT_FRAME_ERROR:
	case TV_INSPECT_BAD_FILE:
		json_object_set_new(o, "error", json_string(tv_errmsg(it->err)));
		break;
	case TV_INSPECT_STREAM:
		json_object_update_new(o, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "records",
		                       (json_int_t)st->records, "frames", (json_int_t)st->frames,
		                       "zstd_frames", (json_int_t)st->zstd_frames, "sealed_frames",
		                       (json_int_t)st->sealed_frames, "raw_bytes",
		                       (json_int_t)st->raw_bytes, "entry_frames",
		                       (json_int_t)st->entry_frames, "continues", st->cont,
		                       "cut_off", st->truncated));
		break;
	case TV_INSPECT_END:
		json_object_set_new(o, "cut_off", json_boolean(it->cut_off));
		break;
	case TV_INSPECT_EMPTY:
		break;
	}
	return o;
}

int cmd_tape_dump(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("tape dump");
	struct tv_inspect *in;
	struct tv_inspect_item it;
	json_t *items = NULL;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape dump needs one tape image file");
	if ((r = tv_inspect_open(argv[1], &in)) != 0)
		return cli_fail(c, r, argv[1]);
	if (c->json) {
		items = json_array();
		cli_json_set(c, "format_version", json_integer(TV_FORMAT_VERSION));
		cli_json_set(c, "items", items);
	} else {
		printf("format version %d (this tapevault writes and reads version %d)\n",
		       TV_FORMAT_VERSION, TV_FORMAT_VERSION);
	}
	while ((r = tv_inspect_next(in, &it)) == 1) {
		if (items != NULL)
			json_array_append_new(items, dump_item_json(&it));
		else
			dump_item(&it);
	}
	tv_inspect_close(in);
	return r ? cli_fail(c, r, argv[1]) : EXIT_OK;
}

static json_t *pool_json(const struct tv_pool_row *p);
static int pool_obj(void *ctx, const struct tv_pool_row *p);

/* --json of pool create and set: the pool as it is now */
static void pool_json_set(struct cli *c, const char *name)
{
	json_t *pool = NULL;
	int r;

	if (!c->json)
		return;
	if ((r = tv_query_pools(c->h->db, name, pool_obj, &pool)) != 0) {
		/* the command's own result stands; the document says what it lacks */
		tv_warn(c->h, "--json: pool %s could not be described: %s", name, tv_errmsg(r));
		cli_json_set(c, "pool_error", json_string(tv_errmsg(r)));
		json_decref(pool);
		tv_errclear();
	} else {
		cli_json_set(c, "pool", pool);
	}
}

int cmd_pool_create(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"library", required_argument, NULL, 'l'},
	                                  {"encryption", required_argument, NULL, 'e'},
	                                  {"media-set", required_argument, NULL, 'm'},
	                                  {"compression", required_argument, NULL, 'Z'},
	                                  {"drive-encryption", required_argument, NULL, 'D'},
	                                  {"retention", required_argument, NULL, 'r'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("pool create");
	struct kv kv = {0};
	int64_t ret = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || kv.library == NULL)
		return cli_usage(cmd, "pool create needs NAME and --library LIB");
	if (kv.retention != NULL && tv_duration_parse(kv.retention, &ret) != 0)
		return cli_usage(cmd, "%s", tv_errdetail());
	if (cli_open(c))
		return EXIT_FAIL;
	if (kv.compression != NULL) {
		struct tv_compression comp;
		if (tv_compression_parse(kv.compression, &comp) != 0)
			return cli_usage(cmd, "%s", tv_errdetail());
	}
	if ((r = tv_pool_create(c->h, argv[1], kv.library, kv.encryption, kv.media_set)) != 0)
		return cli_fail(c, r, "pool create");
	if (kv.compression != NULL && (r = tv_pool_set_compression(c->h, argv[1],
	                                                           kv.compression)) != 0)
		return cli_fail(c, r, "pool create");
	if (kv.drive_enc != NULL &&
	    (r = tv_pool_set_drive_encryption(c->h, argv[1], strcmp(kv.drive_enc, "on") == 0)))
		return cli_fail(c, r, "pool create");
	if (kv.retention != NULL && (r = tv_pool_set_retention(c->h, argv[1], ret)) != 0)
		return cli_fail(c, r, "pool create");
	if (kv.encryption && strcmp(kv.encryption, "none") != 0) {
		int64_t esc = 0;
		/* when escrow cannot be counted, warn all the same */
		(void)tv_query_escrow_enabled(c->h->db, &esc);
		if (esc == 0)
			tv_warn(c->h, "password loss protection is off: if the password is lost or the KMS "
			        "key is gone, the tapes of pool %s cannot be recovered (see 'tapevault escrow "
			        "enable')", argv[1]);
	}
	if (!c->quiet)
		fprintf(stderr, "pool %s created\n", argv[1]);
	pool_json_set(c, argv[1]);
	return EXIT_OK;
}

int cmd_pool_set(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"encryption", required_argument, NULL, 'e'},
	                                  {"compression", required_argument, NULL, 'Z'},
	                                  {"drive-encryption", required_argument, NULL, 'D'},
	                                  {"retention", required_argument, NULL, 'r'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("pool set");
	struct kv kv = {0};
	int64_t ret = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || (kv.encryption == NULL && kv.compression == NULL && kv.drive_enc == NULL &&
	               kv.retention == NULL))
		return cli_usage(cmd, "pool set needs NAME and --encryption, --compression, "
		                 "--drive-encryption or --retention");
	if (kv.retention != NULL && tv_duration_parse(kv.retention, &ret) != 0)
		return cli_usage(cmd, "%s", tv_errdetail());
	if (kv.compression != NULL) {
		struct tv_compression comp;
		if (tv_compression_parse(kv.compression, &comp) != 0)
			return cli_usage(cmd, "%s", tv_errdetail());
	}
	if (cli_open(c))
		return EXIT_FAIL;
	if (kv.encryption != NULL) {
		if ((r = tv_pool_set_encryption(c->h, argv[1], kv.encryption)) != 0)
			return cli_fail(c, r, "pool set");
		if (!c->quiet)
			fprintf(stderr, "pool %s: encryption is now %s for tapes written from now "
			        "on\n", argv[1], kv.encryption);
	}
	if (kv.compression != NULL) {
		if ((r = tv_pool_set_compression(c->h, argv[1], kv.compression)) != 0)
			return cli_fail(c, r, "pool set");
		if (!c->quiet)
			fprintf(stderr, "pool %s: compression is now %s for data written from now "
			        "on\n", argv[1], kv.compression);
	}
	if (kv.drive_enc != NULL) {
		if ((r = tv_pool_set_drive_encryption(c->h, argv[1],
		                                      strcmp(kv.drive_enc, "on") == 0)) != 0)
			return cli_fail(c, r, "pool set");
		if (!c->quiet)
			fprintf(stderr, "pool %s: drive encryption is now %s for tapes written from "
			        "now on\n", argv[1], kv.drive_enc);
	}
	if (kv.retention != NULL) {
		char d[32];
		if ((r = tv_pool_set_retention(c->h, argv[1], ret)) != 0)
			return cli_fail(c, r, "pool set");
		tv_duration_str(ret, d, sizeof(d));
		if (!c->quiet)
			fprintf(stderr, "pool %s: retention is now %s%s\n", argv[1], d,
			        ret ? " after a media set's newest backup set ('tapevault expire' frees "
			        "what is past it)" : " (for ever)");
	}
	pool_json_set(c, argv[1]);
	return EXIT_OK;
}

static json_t *pool_json(const struct tv_pool_row *p)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:o}", "name", p->name, "library",
	                 p->library, "encryption", p->encryption, "media_set",
	                 p->media_set_policy, "compression", p->compression, "imported",
	                 p->imported, "tapes", (json_int_t)p->tapes, "backup_sets",
	                 (json_int_t)p->backup_sets, "retention",
	                 p->retention ? json_integer(p->retention) : json_null());
}

static int pool_row_print(void *ctx, const struct tv_pool_row *p)
{
	struct cli_list *o = ctx;
	char ret[64] = "", d[32];

	if (o->c->json) {
		json_array_append_new(o->arr, pool_json(p));
	} else {
		if (p->retention > 0) {
			tv_duration_str(p->retention, d, sizeof(d));
			snprintf(ret, sizeof(ret), "  (retention %s)", d);
		}
		printf("%-16s %-12s %-32s %-9s %-11s %-6lld %lld%s%s\n", p->name,
		       p->library[0] ? p->library : "-", p->encryption, p->media_set_policy,
		       p->compression, (long long)p->tapes, (long long)p->backup_sets,
		       p->imported ? "  (imported)" : "", ret);
	}
	return 0;
}

/* The pools, or the one named only (TV_ERR_NOTFOUND when there is none). */
static int pool_print(struct cli *c, const char *only)
{
	struct cli_list o;
	int r;

	cli_list_start(&o, c, "%-16s %-12s %-32s %-9s %-11s %-6s %s\n", "POOL", "LIBRARY",
	               "ENCRYPTION", "MEDIA-SET", "COMPRESSION", "TAPES", "BACKUP-SETS");
	r = tv_query_pools(c->h->db, only, pool_row_print, &o);
	return cli_list_end(&o, r, only ? "pool" : "pools");
}

int cmd_pool_list(struct cli *c, int argc, char **argv)
{
	int n = cli_getopt(cli_find("pool list"), argc, argv, NULL, kv_opt, NULL);
	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (cli_open(c))
		return EXIT_FAIL;
	return pool_print(c, NULL);
}

static int pool_obj(void *ctx, const struct tv_pool_row *p)
{
	*(json_t **)ctx = pool_json(p);
	return 0;
}

static int tape_json_append(void *ctx, const struct tv_tape_row *t)
{
	json_array_append_new(ctx, cli_tape_json(t));
	return 0;
}

/* pool show --json: "pool", the pool (as pool list has it, its drive
 * encryption too), and "tapes", its tapes (as tape list has them). */
static int pool_show_json(struct cli *c, const char *name)
{
	json_t *pool = NULL, *tapes;
	struct tv_pool p;
	int on = 0, r;

	if ((r = tv_query_pools(c->h->db, name, pool_obj, &pool)) != 0)
		return cli_fail(c, r, NULL);
	if (tv_pool_get(c->h, name, &p) == 0 && tv_pool_drive_encryption(c->h, p.id, &on) == 0)
		json_object_set_new(pool, "drive_encryption", json_boolean(on));
	cli_json_set(c, "pool", pool);
	tapes = json_array();
	cli_json_set(c, "tapes", tapes);
	if ((r = tv_query_tapes(c->h->db, name, NULL, tape_json_append, tapes)) != 0)
		return cli_fail(c, r, NULL);
	return EXIT_OK;
}

int cmd_pool_show(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("pool show");
	int n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL), r;
	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "pool show needs a pool name");
	if (cli_open(c))
		return EXIT_FAIL;
	if (c->json)
		return pool_show_json(c, argv[1]);
	if ((r = pool_print(c, argv[1])) != EXIT_OK)
		return r;
	{
		struct tv_pool p;
		int on = 0;
		if (tv_pool_get(c->h, argv[1], &p) == 0 &&
		    tv_pool_drive_encryption(c->h, p.id, &on) == 0) {
			if (c->json)
				cli_json_set(c, "drive_encryption", json_boolean(on));
			else
				printf("drive encryption: %s\n", on ? "on (the drives encrypt the "
				       "data records; the labels stay clear)" : "off");
		}
	}
	if (c->json)
		return r;
	{
		char *args[] = {"tape list", "--pool", argv[1], NULL};
		printf("\n");
		return cmd_tape_list(c, 3, args);
	}
}
