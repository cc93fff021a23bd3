/* tapevault CLI: real libraries and the robot: library add, tape load,
 * tape unload, tape move; tape erase. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "jobs/admin.h"
#include "jobs/jobs.h"
#include "jobs/retention.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

struct media_opts {
	const char *changer, *path;
	const char *drives[TV_VLIB_MAX_DRIVES];
	unsigned ndrives;
	long drive;
	int too_many;
};

static int media_opt(int o, const char *arg, void *ctx)
{
	struct media_opts *m = ctx;
	char *end;

	switch (o) {
	case 'c':
		m->changer = arg;
		return 0;
	case 'p':
		m->path = arg;
		return 0;
	case 'd':
		if (m->ndrives == TV_VLIB_MAX_DRIVES) {
			m->too_many = 1;
			return 0;
		}
		m->drives[m->ndrives++] = arg;
		return 0;
	case 'n':
		errno = 0;
		m->drive = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || errno != 0 || m->drive < 0 ||
		    m->drive >= TV_VLIB_MAX_DRIVES) {
			fprintf(stderr, "tapevault: --drive takes a drive number (0, 1, ...), not %s\n",
			        arg);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

int cmd_library_add(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"changer", required_argument, NULL, 'c'},
	                                  {"drive", required_argument, NULL, 'd'},
	                                  {"path", required_argument, NULL, 'p'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("library add");
	struct media_opts m;
	struct tv_vlib *lib = NULL;
	char dir[PATH_MAX], *text = NULL;
	int n, r;

	memset(&m, 0, sizeof(m));
	if ((n = cli_getopt(cmd, argc, argv, o, media_opt, &m)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || m.changer == NULL || m.ndrives == 0)
		return cli_usage(cmd, "library add needs NAME, --changer DEV and at least one "
		                 "--drive DEV");
	if (m.too_many)
		return cli_usage(cmd, "at most %d drives", TV_VLIB_MAX_DRIVES);
	if (cli_open(c))
		return EXIT_FAIL;
	/* the library's configuration lives in the state directory */
	if (m.path != NULL)
		snprintf(dir, sizeof(dir), "%s", m.path);
	else if ((size_t)snprintf(dir, sizeof(dir), "%s/libraries/%s", c->home_dir, argv[1]) >=
	         sizeof(dir))
		return cli_fail(c, tv_errf(TV_ERR_RANGE, "state directory path too long"),
		                "library add");
	if ((r = tv_vlib_add_scsi(dir, argv[1], m.changer, m.drives, m.ndrives, &lib)) != 0)
		return cli_fail(c, r, "library add");
	if ((r = tv_admin_library_add(c->h, argv[1], dir)) != 0) {
		tv_vlib_close(lib);
		return cli_fail(c, r, "library add");
	}
	if (!c->quiet && tv_vlib_status_text(lib, &text) == 0) {
		fprintf(stderr, "library %s: changer %s, %u drive(s); it holds:\n", argv[1],
		        m.changer, m.ndrives);
		fputs(text, stderr);
	}
	free(text);
	tv_vlib_close(lib);
	return EXIT_OK;
}

/* Opens the library named by argv[1]. */
static int open_lib(struct cli *c, const char *name, struct tv_vlib **lib)
{
	int64_t id;
	int r;

	if (cli_open(c))
		return EXIT_FAIL;
	if ((r = tv_lib_open_by_name(c->h, name, lib, &id)) != 0)
		return cli_fail(c, r, NULL);
	return 0;
}

int cmd_tape_load(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"drive", required_argument, NULL, 'n'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape load");
	struct media_opts m;
	struct tv_vlib *lib = NULL;
	struct tv_tape *t = NULL;
	unsigned drive = 0;
	int n, r;

	memset(&m, 0, sizeof(m));
	m.drive = -1;
	if ((n = cli_getopt(cmd, argc, argv, o, media_opt, &m)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 3)
		return cli_usage(cmd, "tape load needs LIBRARY and BARCODE");
	if ((r = open_lib(c, argv[1], &lib)) != 0)
		return r;
	r = tv_vlib_load(lib, argv[2], m.drive < 0 ? TV_VLIB_ANY_DRIVE : (int)m.drive,
	                 TV_TAPE_RDONLY, &t, &drive);
	if (r == 0)
		r = tv_tape_close(t);     /* the cartridge stays in the drive */
	tv_vlib_close(lib);
	if (r != 0)
		return cli_fail(c, r, "tape load");
	if (!c->quiet)
		fprintf(stderr, "%s: loaded into drive %u of library %s\n", argv[2], drive, argv[1]);
	if (c->json) {
		cli_json_set(c, "barcode", json_string(argv[2]));
		cli_json_set(c, "drive", json_integer(drive));
	}
	return EXIT_OK;
}

int cmd_tape_unload(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"drive", required_argument, NULL, 'n'}, {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape unload");
	struct media_opts m;
	struct tv_vlib *lib = NULL;
	struct tv_vlib_info info;
	struct tv_vlib_elem *el = NULL;
	size_t ne = 0;
	int n, r, failed = 0, any = 0;

	memset(&m, 0, sizeof(m));
	m.drive = -1;
	if ((n = cli_getopt(cmd, argc, argv, o, media_opt, &m)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape unload needs LIBRARY");
	if ((r = open_lib(c, argv[1], &lib)) != 0)
		return r;
	/* without --drive: every drive that holds a cartridge */
	if ((r = tv_vlib_status(lib, &info, &el, &ne)) != 0) {
		tv_vlib_close(lib);
		return cli_fail(c, r, "tape unload");
	}
	for (size_t i = 0; i < ne; i++) {
		unsigned slot = 0;
		if (el[i].type != TV_ELEM_DRIVE ||
		    (m.drive >= 0 && el[i].index != (unsigned)m.drive))
			continue;
		any = 1;
		if (!el[i].full && m.drive < 0)
			continue;
		if ((r = tv_vlib_unload(lib, el[i].index, &slot)) != 0) {
			cli_fail(c, r, "tape unload");
			failed++;
			continue;
		}
		if (!c->quiet)
			fprintf(stderr, "%s: drive %u unloaded into slot %u\n",
			        el[i].barcode[0] ? el[i].barcode : "cartridge", el[i].index, slot);
		if (c->json)
			cli_json_append(c, "unloaded", json_pack("{s:s?,s:i,s:i}", "barcode",
			                el[i].barcode[0] ? el[i].barcode : NULL, "drive",
			                (int)el[i].index, "slot", (int)slot));
	}
	free(el);
	tv_vlib_close(lib);
	if (!any) {
		fprintf(stderr, "tapevault: tape unload: library %s has no drive %ld (drives are "
		        "numbered 0 to %u)\n", argv[1], m.drive, info.drives - 1);
		return EXIT_FAIL;
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_tape_move(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("tape move");
	struct tv_vlib *lib = NULL;
	struct tv_vlib_loc from, to;
	struct tv_vlib_elem e;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, NULL, media_opt, NULL)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 4)
		return cli_usage(cmd, "tape move needs LIBRARY, FROM and TO");
	if (tv_vlib_parse_loc(argv[3], &to) != 0)
		return cli_usage(cmd, "%s", tv_errdetail());
	if (strchr(argv[2], ':') != NULL && tv_vlib_parse_loc(argv[2], &from) != 0)
		return cli_usage(cmd, "%s", tv_errdetail());
	if ((r = open_lib(c, argv[1], &lib)) != 0)
		return r;
	if (strchr(argv[2], ':') == NULL) {          /* FROM is a barcode */
		if ((r = tv_barcode_check(argv[2])) != 0 || (r = tv_vlib_find(lib, argv[2], &e)) != 0) {
			tv_vlib_close(lib);
			return cli_fail(c, r, "tape move");
		}
		from.type = e.type;
		from.index = e.index;
	}
	r = tv_vlib_move(lib, &from, &to);
	tv_vlib_close(lib);
	if (r != 0)
		return cli_fail(c, r, "tape move");
	if (!c->quiet)
		fprintf(stderr, "%s: moved to %s\n", argv[2], argv[3]);
	if (c->json) {
		cli_json_set(c, "from", json_string(argv[2]));
		cli_json_set(c, "to", json_string(argv[3]));
	}
	return EXIT_OK;
}

/* ---- tape erase ---- */

struct erase_cli {
	int force, yes;
};

static int erase_opt(int o, const char *arg, void *ctx)
{
	struct erase_cli *e = ctx;

	(void)arg;
	if (o == 'f')
		e->force = 1;
	else if (o == 'y')
		e->yes = 1;
	else
		return -1;
	return 0;
}

static int erase_confirm(void *ctx, const char *question)
{
	struct cli *c = ctx;

	if (!c->quiet || c->json)
		fprintf(stderr, "%s\n", question);
	return cli_confirm(c, "Erase it?");
}

int cmd_tape_erase(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"force", no_argument, NULL, 'f'},
	                                  {"yes", no_argument, NULL, 'y'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("tape erase");
	struct erase_cli e = {0, 0};
	struct tv_erase_opts eo;
	struct tv_erase_result res;
	size_t only = 0;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, erase_opt, &e)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2)
		return cli_usage(cmd, "tape erase needs one barcode");
	if (cli_open(c))
		return EXIT_FAIL;
	memset(&eo, 0, sizeof(eo));
	eo.force = e.force;
	eo.now = (int64_t)tv_now();
	if (!e.yes) {
		/* no one to ask: refuse rather than wait on a pipe */
		if (!isatty(STDIN_FILENO))
			return cli_fail(c, tv_errf(TV_ERR_CANCELED, "tape %s: not erased: erasing "
			                "asks for confirmation and standard input is not a terminal; "
			                "add --yes to erase without asking", argv[1]), "tape erase");
		eo.confirm = erase_confirm;
		eo.confirm_ctx = c;
	}
	r = tv_job_tape_erase(c->h, argv[1], &eo, &res);
	if (r != 0) {
		tv_erase_result_free(&res);
		return cli_fail(c, r, "tape erase");
	}
	for (size_t i = 0; i < res.nsets; i++)
		only += res.sets[i].only_here;
	if (!c->quiet) {
		fprintf(stderr, "%s: erased: blank now, a free tape (%zu backup set(s) left the "
		        "catalog, %zu spanning other tapes are incomplete now)\n", argv[1], only,
		        res.nsets - only);
		for (size_t i = 0; i < res.nsets; i++)
			fprintf(stderr, "  %s %s: %s\n", res.sets[i].uuid, res.sets[i].name,
			        res.sets[i].only_here ? "left the catalog" : "incomplete (a tape erased)");
	}
	if (c->json) {
		json_t *gone = json_array(), *inc = json_array();
		for (size_t i = 0; i < res.nsets; i++)
			json_array_append_new(res.sets[i].only_here ? gone : inc,
			                      json_pack("{s:s,s:s}", "id", res.sets[i].uuid, "name",
			                                res.sets[i].name));
		cli_json_set(c, "barcode", json_string(argv[1]));
		cli_json_set(c, "erased", json_true());
		cli_json_set(c, "pool", res.pool[0] ? json_string(res.pool) : json_null());
		cli_json_set(c, "forced", json_boolean(res.unexpired));
		cli_json_set(c, "removed_sets", gone);
		cli_json_set(c, "incomplete_sets", inc);
	}
	tv_erase_result_free(&res);
	return EXIT_OK;
}
