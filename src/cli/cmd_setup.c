/* tapevault CLI: init, libraries, tapes, pools. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "crypto/kdf.h"
#include "crypto/slot.h"
#include "format/record.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

struct kv {
	const char *catalog, *path, *to, *capacity, *pool, *state, *library, *encryption,
		*media_set, *compression;
	long slots, drives, mailslots;
	int copy;
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
	case 'y': kv->copy = 1; break;
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
	int n = cli_getopt(cli_find("init"), argc, argv, o, kv_opt, &kv), r;

	if (n < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 1)
		return cli_usage(cli_find("init"), "init takes no operands");
	if ((r = tv_home_resolve(c->home_opt, c->home_dir, sizeof(c->home_dir))) != 0)
		return cli_fail(c, r, NULL);
	if ((r = tv_home_init(c->home_dir, kv.catalog)) != 0)
		return cli_fail(c, r, "init");
	if (!c->quiet)
		fprintf(stderr, "initialized %s\n", c->home_dir);
	if (c->json)
		cli_json_set(c, "home", json_string(c->home_dir));
	return EXIT_OK;
}

int cmd_library_create(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"path", required_argument, NULL, 'p'},
	                                  {"slots", required_argument, NULL, 's'},
	                                  {"drives", required_argument, NULL, 'd'},
	                                  {"mailslots", required_argument, NULL, 'M'},
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
	if ((r = tv_vlib_create(kv.path, argv[1], (unsigned)kv.slots, (unsigned)kv.drives,
	                        (unsigned)kv.mailslots, &lib)) != 0)
		return cli_fail(c, r, "library create");
	if (realpath(kv.path, abspath) == NULL)
		snprintf(abspath, sizeof(abspath), "%s", kv.path);
	tv_vlib_close(lib);
	r = tv_db_exec(c->h->db, "INSERT INTO libraries(name, path, created) VALUES(?,?,?)", "tti",
	               argv[1], abspath, (int64_t)tv_now());
	if (r == TV_ERR_EXISTS) {
		tv_errclear();
		return cli_fail(c, tv_errf(r, "a library named '%s' is already registered", argv[1]),
		                "library create");
	}
	if (r != 0)
		return cli_fail(c, r, "library create");
	if (!c->quiet)
		fprintf(stderr, "library %s: %ld slots, %ld drive(s), %ld mail slot(s) in %s\n", argv[1],
		        kv.slots, kv.drives, kv.mailslots, abspath);
	return EXIT_OK;
}

int cmd_library_list(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("library list");
	struct tv_stmt *st;
	json_t *arr = json_array();
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0) {
		json_decref(arr);
		return CLI_GETOPT_RETURN(n);
	}
	if (cli_open(c)) {
		json_decref(arr);
		return EXIT_FAIL;
	}
	if ((r = tv_db_query(c->h->db, &st, "SELECT name, path FROM libraries ORDER BY name", "")) != 0) {
		json_decref(arr);
		return cli_fail(c, r, NULL);
	}
	if (!c->json)
		printf("%-20s %s\n", "NAME", "PATH");
	while (tv_stmt_step(st) == 1) {
		if (c->json)
			json_array_append_new(arr, json_pack("{s:s,s:s}", "name", tv_stmt_text(st, 0),
			                                     "path", tv_stmt_text(st, 1)));
		else
			printf("%-20s %s\n", tv_stmt_text(st, 0), tv_stmt_text(st, 1));
	}
	tv_stmt_free(st);
	if (c->json)
		cli_json_set(c, "libraries", arr);
	else
		json_decref(arr);
	return EXIT_OK;
}

int cmd_library_status(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("library status");
	struct tv_vlib *lib;
	int64_t id;
	char *text = NULL;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "library status needs a library name");
	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_lib_open_by_name(c->h, argv[1], &lib, &id)) != 0)
		return cli_fail(c, r, NULL);
	if (c->json) {
		struct tv_vlib_info info;
		struct tv_vlib_elem *el = NULL;
		size_t ne = 0;
		json_t *arr = json_array();
		static const char *const tn[] = {"drive", "slot", "mailslot"};
		if ((r = tv_vlib_status(lib, &info, &el, &ne)) == 0) {
			for (size_t i = 0; i < ne; i++)
				json_array_append_new(arr, json_pack("{s:s,s:i,s:s?}", "type",
				                      tn[el[i].type < 3 ? el[i].type : 0], "index",
				                      (int)el[i].index, "barcode",
				                      el[i].barcode[0] ? el[i].barcode : NULL));
			cli_json_set(c, "elements", arr);
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
		r = tv_db_exec(c->h->db,
		               "INSERT INTO tapes(barcode, library_id, state, capacity) VALUES(?,?,"
		               "'free',?) ON CONFLICT(barcode) DO UPDATE SET library_id=excluded.library_id,"
		               " state='free', uuid=NULL, pool_id=NULL, media_set_id=NULL, seq=NULL,"
		               " encrypted=0, locked=0, ms_label=NULL, dek_fpr=NULL",
		               "tii", argv[i], lib_id, (int64_t)(cap ? cap : TV_VLIB_DEFAULT_CAPACITY));
		if (r != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if (!c->quiet)
			fprintf(stderr, "%s: blank cartridge in slot %u\n", argv[i], slot);
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
		if ((r = tv_lib_open_for_tape(c->h, argv[i], &lib, &lib_id)) != 0) {
			cli_fail(c, r, NULL);
			failed++;
			continue;
		}
		r = tv_vlib_export(lib, argv[i], kv.to);
		tv_vlib_close(lib);
		if (r != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		tv_db_exec(c->h->db, "UPDATE tapes SET library_id=NULL WHERE barcode=?", "t", argv[i]);
		if (!c->quiet)
			fprintf(stderr, "%s: exported to %s\n", argv[i], kv.to);
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
		r = tv_db_exec(c->h->db,
		               "INSERT INTO tapes(barcode, library_id, state) VALUES(?,?,'unrecognized')"
		               " ON CONFLICT(barcode) DO UPDATE SET library_id=excluded.library_id",
		               "ti", barcode, lib_id);
		if (r != 0) {
			cli_fail(c, r, argv[i]);
			failed++;
			continue;
		}
		if (!c->quiet)
			fprintf(stderr, "%s: inserted into slot %u (run 'tapevault catalog %s' to read it)\n",
			        barcode, slot, argv[1]);
	}
	tv_vlib_close(lib);
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* "password 'x' (hint: ...)" / "KMS key 42 on kms1 (host:port)" from the
 * stored media set label */
static void key_info(struct tv_stmt *st, int col, char *out, size_t outsz, char *fpr,
                     size_t fprsz)
{
	size_t n;
	const void *p = tv_stmt_blob(st, col, &n);
	struct tv_media_set_label *ms;

	out[0] = '\0';
	fpr[0] = '\0';
	if (p == NULL || (ms = calloc(1, sizeof(*ms))) == NULL)
		return;
	if (tv_ms_label_decode(p, n, ms) == 0 && ms->enc.alg != TV_ENC_NONE) {
		tv_keys_describe(&ms->enc, out, outsz);
		if (fprsz >= TV_FPR_HEX_LEN)
			tv_dek_fpr_hex(ms->enc.dek_fpr, fpr);
	}
	tv_errclear();
	free(ms);
}

int cmd_tape_list(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"pool", required_argument, NULL, 'P'},
	                                  {"state", required_argument, NULL, 'S'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape list");
	struct kv kv = {0};
	struct tv_stmt *st;
	json_t *arr = NULL;
	int n, r;

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
	r = tv_db_query(c->h->db, &st,
	                "SELECT t.barcode, t.state, COALESCE(p.name,''), t.seq, t.encrypted, t.locked,"
	                " t.ms_label, COALESCE(l.name,''), m.uuid, t.full, COALESCE(t.used,0) "
	                "FROM tapes t LEFT JOIN pools p ON p.id=t.pool_id "
	                "LEFT JOIN libraries l ON l.id=t.library_id "
	                "LEFT JOIN media_sets m ON m.id=t.media_set_id "
	                "WHERE (?1 IS NULL OR p.name=?1) AND (?2 IS NULL OR t.state=?2 OR"
	                " (?2='locked' AND t.locked=1)) ORDER BY t.barcode",
	                "tt", kv.pool, kv.state);
	if (r != 0)
		return cli_fail(c, r, NULL);
	if (c->json)
		arr = json_array();
	else
		printf("%-9s %-12s %-14s %-14s %-18s %-10s %-9s %s\n", "BARCODE", "STATE", "POOL",
		       "MEDIA-SET:SEQ", "ENCRYPTION", "LOCATION", "ON-TAPE", "KEY");
	while (tv_stmt_step(st) == 1) {
		char keyd[800], fpr[64], ms[48] = "-", enc[24];
		size_t un;
		const void *u = tv_stmt_blob(st, 8, &un);
		int encd = (int)tv_stmt_int(st, 4), locked = (int)tv_stmt_int(st, 5);
		key_info(st, 6, keyd, sizeof(keyd), fpr, sizeof(fpr));
		if (u && un == 16) {
			char us[37];
			tv_uuid_to_str(u, us);
			snprintf(ms, sizeof(ms), "%.8s:%lld", us, (long long)tv_stmt_int(st, 3));
		}
		snprintf(enc, sizeof(enc), "%s", !encd ? "none" : locked ? "encrypted/locked"
		                                                          : "encrypted");
		if (c->json) {
			json_array_append_new(arr, json_pack(
				"{s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:s,s:s,s:s,s:b}", "barcode",
				tv_stmt_text(st, 0), "state", tv_stmt_text(st, 1), "pool", tv_stmt_text(st, 2),
				"media_set", ms, "seq", (json_int_t)tv_stmt_int(st, 3), "encrypted", encd,
				"locked", locked, "location",
				tv_stmt_text(st, 7)[0] ? tv_stmt_text(st, 7) : "offline", "key", keyd,
				"key_fingerprint", fpr, "full", (int)tv_stmt_int(st, 9)));
			json_object_set_new(json_array_get(arr, json_array_size(arr) - 1),
			                    "bytes_on_tape", json_integer(tv_stmt_int(st, 10)));
		} else {
			char used[24];
			char keycol[900];
			if (encd)
				snprintf(keycol, sizeof(keycol), "%s [fpr %.16s]", keyd, fpr);
			else
				snprintf(keycol, sizeof(keycol), "-");
			human_size((uint64_t)tv_stmt_int(st, 10), used, sizeof(used));
			printf("%-9s %-12s %-14s %-14s %-18s %-10s %-9s %s\n", tv_stmt_text(st, 0),
			       tv_stmt_text(st, 1), tv_stmt_text(st, 2)[0] ? tv_stmt_text(st, 2) : "-", ms,
			       enc, tv_stmt_text(st, 7)[0] ? tv_stmt_text(st, 7) : "offline", used,
			       keycol);
		}
	}
	tv_stmt_free(st);
	if (c->json)
		cli_json_set(c, "tapes", arr);
	return EXIT_OK;
}

int cmd_tape_show(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("tape show");
	struct tv_stmt *st;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape show needs one barcode");
	if (cli_open(c))
		return EXIT_FAIL;
	r = tv_db_query(c->h->db, &st,
	                "SELECT t.barcode, t.state, COALESCE(p.name,''), t.seq, t.encrypted, t.locked,"
	                " t.ms_label, COALESCE(l.name,'offline'), t.uuid, t.full, t.sessions,"
	                " t.next_file, t.used, t.capacity, t.written, t.cataloged,"
	                " t.contents_cataloged, (SELECT source FROM tape_keys k WHERE"
	                " k.tape_uuid=t.uuid), (SELECT COUNT(*) FROM data_files d JOIN backup_sets b"
	                " ON b.id=d.set_id WHERE b.media_set_id=t.media_set_id AND d.tseq=t.seq),"
	                " (SELECT COUNT(DISTINCT d.set_id) FROM data_files d JOIN backup_sets b"
	                " ON b.id=d.set_id WHERE b.media_set_id=t.media_set_id AND d.tseq=t.seq),"
	                " (SELECT COALESCE(SUM(d.stored_bytes),0) FROM data_files d JOIN"
	                " backup_sets b ON b.id=d.set_id WHERE b.media_set_id=t.media_set_id AND"
	                " d.tseq=t.seq), COALESCE(t.record_size,0), COALESCE(t.format,0) "
	                "FROM tapes t LEFT JOIN pools p ON p.id=t.pool_id "
	                "LEFT JOIN libraries l ON l.id=t.library_id WHERE t.barcode=?", "t", argv[1]);
	if (r != 0)
		return cli_fail(c, r, NULL);
	if ((r = tv_stmt_step(st)) != 1) {
		tv_stmt_free(st);
		return cli_fail(c, tv_errf(TV_ERR_NOTFOUND, "no tape %s in the catalog", argv[1]), NULL);
	}
	{
		char keyd[800], fpr[64], uuid[37] = "-";
		size_t un;
		const void *u = tv_stmt_blob(st, 8, &un);
		json_t *o;
		if (u && un == 16)
			tv_uuid_to_str(u, uuid);
		key_info(st, 6, keyd, sizeof(keyd), fpr, sizeof(fpr));
		o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:s,s:b,s:I,s:I,s:I,s:I,s:b,s:I,s:I}",
		              "barcode", tv_stmt_text(st, 0), "uuid", uuid, "state", tv_stmt_text(st, 1),
		              "pool", tv_stmt_text(st, 2), "seq", (json_int_t)tv_stmt_int(st, 3),
		              "encrypted", (int)tv_stmt_int(st, 4), "locked", (int)tv_stmt_int(st, 5),
		              "location", tv_stmt_text(st, 7), "full", (int)tv_stmt_int(st, 9),
		              "sessions", (json_int_t)tv_stmt_int(st, 10),
		              "append_file", (json_int_t)tv_stmt_int(st, 11),
		              "used", (json_int_t)tv_stmt_int(st, 12),
		              "capacity", (json_int_t)tv_stmt_int(st, 13),
		              "contents_cataloged", (int)tv_stmt_int(st, 16),
		              "data_files", (json_int_t)tv_stmt_int(st, 18),
		              "backup_sets", (json_int_t)tv_stmt_int(st, 19));
		json_object_set_new(o, "bytes_on_tape", json_integer(tv_stmt_int(st, 20)));
		json_object_set_new(o, "record_size", json_integer(tv_stmt_int(st, 21)));
		json_object_set_new(o, "format", json_integer(tv_stmt_int(st, 22)));
		if (tv_stmt_int(st, 4)) {
			json_object_set_new(o, "key", json_string(keyd));
			json_object_set_new(o, "key_fingerprint", json_string(fpr));
			if (!tv_stmt_isnull(st, 17))
				json_object_set_new(o, "unlocked_by", json_string(tv_stmt_text(st, 17)));
		}
		if (c->json) {
			cli_json_set(c, "tape", o);
		} else {
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
			json_decref(o);
		}
	}
	tv_stmt_free(st);
	return EXIT_OK;
}

/* Frames of a stream tape file (headers only: no key needed). */
static int dump_stream(struct tv_treader *rd)
{
	struct tv_frame_info fi;
	uint64_t frames = 0, zframes = 0, sealed = 0, raw = 0, errors = 0, entries = 0;
	const uint8_t *p;
	size_t n;
	int r;

	tv_treader_set_crc_only(rd, 1);
	while ((r = tv_treader_next(rd, &p, &n, &fi)) != 0) {
		if (r < 0) {
			printf("  error: %s\n", tv_errmsg(r));
			tv_errclear();
			errors++;
			continue;
		}
		frames++;
		raw += fi.raw_len;
		zframes += fi.method == TV_COMP_ZSTD;
		sealed += fi.sealed != 0;
		entries += fi.first_entry != TV_NO_OFFSET;
	}
	tv_treader_set_crc_only(rd, 0);
	printf("  %llu data record(s), %llu frame(s) (%llu zstd, %llu encrypted), %llu raw "
	       "byte(s), %llu frame(s) where an entry begins%s%s\n",
	       (unsigned long long)tv_treader_records(rd), (unsigned long long)frames,
	       (unsigned long long)zframes, (unsigned long long)sealed,
	       (unsigned long long)raw, (unsigned long long)entries,
	       tv_treader_cont(rd) ? ", continues in a later part" : "",
	       tv_treader_truncated(rd) ? ", CUT OFF (no END record)" : "");
	return errors ? TV_ERR_FORMAT : 0;
}

int cmd_tape_dump(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("tape dump");
	struct tv_tape *t = NULL;
	struct tv_treader *rd = NULL;
	struct tv_content_header ch;
	int n, r, errors = 0;

	if ((n = cli_getopt(cmd, argc, argv, NULL, kv_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape dump needs one tape image file");
	if ((r = tv_vtape_open(argv[1], TV_TAPE_RDONLY, &t)) != 0)
		return cli_fail(c, r, argv[1]);
	if ((r = tv_treader_open(&rd, t, argv[1], NULL, NULL)) != 0)
		goto out;
	printf("format version %d (this tapevault writes and reads version %d)\n",
	       TV_FORMAT_VERSION, TV_FORMAT_VERSION);
	for (;;) {
		uint64_t file_no;
		int sealed;
		char u[37];
		r = tv_treader_begin_file(rd, &ch, &file_no, &sealed);
		if (r == TV_ERR_EOD) {
			r = 0;
			printf("end of data\n");
			break;
		}
		if (r == TV_ERR_FILEMARK) {
			printf("file %llu: empty\n", (unsigned long long)file_no);
			continue;
		}
		if (r != 0) {
			printf("file %llu: error: %s\n", (unsigned long long)file_no, tv_errmsg(r));
			tv_errclear();
			errors++;
			if ((r = tv_treader_end_file(rd)) != 0)
				break;
			continue;
		}
		tv_uuid_to_str(ch.uuid, u);
		printf("file %llu: %s (content %s, %zu byte header body%s)\n",
		       (unsigned long long)file_no, tv_content_type_name(ch.type), u, ch.body_len,
		       sealed ? ", sealed" : "");
		if (ch.type == TV_CT_VOLUME_LABEL) {
			struct tv_volume_label v;
			if (tv_vol_label_decode(ch.body, ch.body_len, &v) == 0) {
				tv_uuid_to_str(v.tape_uuid, u);
				printf("  tape uuid %s, barcode %s, created %llu, writer %s, record size %llu\n",
				       u, v.barcode, (unsigned long long)v.created, v.writer,
				       (unsigned long long)v.record_size);
				tv_treader_set_tape_uuid(rd, v.tape_uuid);
				tv_treader_set_record_size(rd, v.record_size);
			}
		} else if (ch.type == TV_CT_MEDIA_SET_LABEL) {
			struct tv_media_set_label *ms = calloc(1, sizeof(*ms));
			if (ms && tv_ms_label_decode(ch.body, ch.body_len, ms) == 0) {
				char fpr[TV_FPR_HEX_LEN];
				tv_uuid_to_str(ms->media_set_uuid, u);
				printf("  pool %s, media set %s, sequence %llu, encryption %s\n", ms->pool_name,
				       u, (unsigned long long)ms->seq,
				       ms->enc.alg == TV_ENC_NONE ? "none" : "AES-256-GCM (HKDF per file)");
				if (ms->enc.alg != TV_ENC_NONE) {
					tv_dek_fpr_hex(ms->enc.dek_fpr, fpr);
					printf("  data key fingerprint %s\n", fpr);
				}
				for (size_t i = 0; i < ms->enc.nslots; i++) {
					char d[600];
					tv_slot_describe(&ms->enc.slots[i], d, sizeof(d));
					printf("  key slot %zu: %s\n", i, d);
				}
			}
			free(ms);
		} else if (ch.type == TV_CT_DATA) {
			struct tv_data_header dh;
			if (tv_data_header_decode(ch.body, ch.body_len, &dh) == 0) {
				tv_uuid_to_str(dh.set_uuid, u);
				printf("  backup set %s '%s', write session %llu\n", u, dh.set_name,
				       (unsigned long long)dh.session);
			}
			if (dump_stream(rd) != 0)
				errors++;
		} else if (ch.type == TV_CT_CATALOG) {
			struct tv_catalog_header cat;
			if (tv_catalog_header_decode(ch.body, ch.body_len, &cat) == 0)
				printf("  write session %llu\n", (unsigned long long)cat.session);
			if (dump_stream(rd) != 0)
				errors++;
		}
		tv_errclear();
		r = tv_treader_end_file(rd);
		if (r == TV_ERR_EOD) {
			r = 0;
			printf("end of data (no filemark after the last file: cut off?)\n");
			break;
		}
		if (r != 0)
			break;
	}
	if (r == 0 && errors)
		r = tv_errf(TV_ERR_FORMAT, "%d tape file(s) with errors (see above)", errors);
out:
	tv_treader_close(rd);
	tv_tape_close(t);
	return r ? cli_fail(c, r, argv[1]) : EXIT_OK;
}

int cmd_pool_create(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"library", required_argument, NULL, 'l'},
	                                  {"encryption", required_argument, NULL, 'e'},
	                                  {"media-set", required_argument, NULL, 'm'},
	                                  {"compression", required_argument, NULL, 'Z'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("pool create");
	struct kv kv = {0};
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || kv.library == NULL)
		return cli_usage(cmd, "pool create needs NAME and --library LIB");
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
	if (kv.encryption && strcmp(kv.encryption, "none") != 0) {
		int64_t esc = 0;
		tv_db_get_int(c->h->db, &esc, "SELECT COUNT(*) FROM escrow_keys WHERE enabled=1", "");
		if (esc == 0)
			tv_warn(c->h, "password loss protection is off: if the password is lost or the KMS "
			        "key is gone, the tapes of pool %s cannot be recovered (see 'tapevault escrow "
			        "enable')", argv[1]);
	}
	if (!c->quiet)
		fprintf(stderr, "pool %s created\n", argv[1]);
	return EXIT_OK;
}

int cmd_pool_set(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"encryption", required_argument, NULL, 'e'},
	                                  {"compression", required_argument, NULL, 'Z'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("pool set");
	struct kv kv = {0};
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, kv_opt, &kv)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || (kv.encryption == NULL && kv.compression == NULL))
		return cli_usage(cmd, "pool set needs NAME and --encryption or --compression");
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
	return EXIT_OK;
}

static int pool_print(struct cli *c, const char *only)
{
	struct tv_stmt *st;
	json_t *arr = c->json ? json_array() : NULL;
	int r;

	r = tv_db_query(c->h->db, &st,
	                "SELECT p.name, COALESCE(l.name,''), p.encryption, p.media_set_policy,"
	                " p.imported, (SELECT COUNT(*) FROM tapes t WHERE t.pool_id=p.id),"
	                " (SELECT COUNT(*) FROM backup_sets b WHERE b.pool_id=p.id),"
	                " p.compression "
	                "FROM pools p LEFT JOIN libraries l ON l.id=p.library_id "
	                "WHERE (?1 IS NULL OR p.name=?1) ORDER BY p.name", "t", only);
	if (r != 0) {
		json_decref(arr);
		return cli_fail(c, r, NULL);
	}
	if (!c->json)
		printf("%-16s %-12s %-32s %-9s %-11s %-6s %s\n", "POOL", "LIBRARY", "ENCRYPTION",
		       "MEDIA-SET", "COMPRESSION", "TAPES", "BACKUP-SETS");
	int any = 0;
	while (tv_stmt_step(st) == 1) {
		any = 1;
		if (c->json)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I}", "name",
			                      tv_stmt_text(st, 0), "library", tv_stmt_text(st, 1),
			                      "encryption", tv_stmt_text(st, 2), "media_set",
			                      tv_stmt_text(st, 3), "compression", tv_stmt_text(st, 7),
			                      "imported", (int)tv_stmt_int(st, 4),
			                      "tapes", (json_int_t)tv_stmt_int(st, 5), "backup_sets",
			                      (json_int_t)tv_stmt_int(st, 6)));
		else
			printf("%-16s %-12s %-32s %-9s %-11s %-6lld %lld%s\n", tv_stmt_text(st, 0),
			       tv_stmt_text(st, 1)[0] ? tv_stmt_text(st, 1) : "-", tv_stmt_text(st, 2),
			       tv_stmt_text(st, 3), tv_stmt_text(st, 7), (long long)tv_stmt_int(st, 5),
			       (long long)tv_stmt_int(st, 6), tv_stmt_int(st, 4) ? "  (imported)" : "");
	}
	tv_stmt_free(st);
	if (c->json)
		cli_json_set(c, only ? "pool" : "pools", arr);
	if (only && !any)
		return cli_fail(c, tv_errf(TV_ERR_NOTFOUND, "no media pool named '%s'", only), NULL);
	return EXIT_OK;
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
	if ((r = pool_print(c, argv[1])) != EXIT_OK || c->json)
		return r;
	{
		char *args[] = {"tape list", "--pool", argv[1], NULL};
		printf("\n");
		return cmd_tape_list(c, 3, args);
	}
}
