/* tapevault CLI: shared helpers for the subcommand files. */
#ifndef TV_CLI_H
#define TV_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>

#include "jobs/home.h"

struct cli {
	const char *home_opt;
	char home_dir[PATH_MAX];
	int json, quiet, verbose;
	struct tv_home *h;       /* opened on demand by cli_open */
	json_t *out;             /* JSON document for --json */
	/* the job history (jobs/history.h): a job command's kind and operands,
	 * recorded by cli_open when it opens the state directory, finished by
	 * main with the result; job_partial: a partial result allowed */
	const char *job_kind;
	char job_args[1024];
	int64_t job_id;
	int job_partial;
	char job_error[512];     /* the failure cli_fail said */
};

struct cli_cmd {
	const char *name;        /* "tape list" */
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage;       /* one line after the name */
	const char *help;        /* longer text */
};

/* Exit codes */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130 /* stopped by SIGINT or SIGTERM, cleanly (128 + SIGINT) */

int cli_open(struct cli *c);                 /* opens home; prints error */
int cli_fail(struct cli *c, int err, const char *what);  /* prints, returns 1 */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));   /* prints, returns 2 */
/* getopt_long wrapper: parses options (they may follow operands), calls
 * each() per option, handles --help.  On success rewrites argv to
 * [cmd, operands...] and returns the count (>= 1); -1 after printing a
 * usage error, -2 after printing help.  CLI_GETOPT_RETURN maps those. */
#define CLI_GETOPT_RETURN(n) ((n) == -2 ? EXIT_OK : EXIT_USAGE)
int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv,
               const struct option *opts, int (*each)(int opt, const char *arg, void *ctx),
               void *ctx);
int cli_parse_size(const char *s, uint64_t *out);
int cli_confirm(struct cli *c, const char *question);   /* 1 yes */
/* JSON output: commands add to c->out (an object); printed at exit. */
void cli_json_set(struct cli *c, const char *key, json_t *v);
/* Appends v to the array under key (made when missing). */
void cli_json_append(struct cli *c, const char *key, json_t *v);
/* A list being printed: rows go to stdout under a header line, or into a
 * JSON array (--json).  cli_list_end takes the result of the query that
 * filled it: on success the array goes under key, else the failure is said;
 * returns the exit status. */
struct cli_list {
	struct cli *c;
	json_t *arr;
};
void cli_list_start(struct cli_list *l, struct cli *c, const char *header_fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cli_list_end(struct cli_list *l, int r, const char *key);

extern const struct cli_cmd cli_commands[];
const struct cli_cmd *cli_find(const char *name);
void cli_print_subcommands(const struct cli_cmd *cmd);   /* main.c */

/* subcommand implementations */
int cmd_init(struct cli *, int, char **);
int cmd_library_create(struct cli *, int, char **);
int cmd_library_add(struct cli *, int, char **);
int cmd_tape_load(struct cli *, int, char **);
int cmd_tape_unload(struct cli *, int, char **);
int cmd_tape_move(struct cli *, int, char **);
int cmd_tape_erase(struct cli *, int, char **);
int cmd_library_attach(struct cli *, int, char **);
int cmd_library_list(struct cli *, int, char **);
int cmd_library_status(struct cli *, int, char **);
int cmd_tape_new(struct cli *, int, char **);
int cmd_tape_export(struct cli *, int, char **);
int cmd_tape_insert(struct cli *, int, char **);
int cmd_tape_list(struct cli *, int, char **);
int cmd_tape_show(struct cli *, int, char **);
int cmd_tape_dump(struct cli *, int, char **);
int cmd_password_add(struct cli *, int, char **);
int cmd_password_list(struct cli *, int, char **);
int cmd_kms_add(struct cli *, int, char **);
int cmd_kms_list(struct cli *, int, char **);
int cmd_kms_test(struct cli *, int, char **);
int cmd_kms_key_create(struct cli *, int, char **);
int cmd_kms_key_revoke(struct cli *, int, char **);
int cmd_kms_key_destroy(struct cli *, int, char **);
int cmd_escrow_keygen(struct cli *, int, char **);
int cmd_escrow_public(struct cli *, int, char **);
int cmd_escrow_enable(struct cli *, int, char **);
int cmd_escrow_request(struct cli *, int, char **);
int cmd_escrow_respond(struct cli *, int, char **);
int cmd_escrow_apply(struct cli *, int, char **);
int cmd_escrow_recover(struct cli *, int, char **);
int cmd_escrow_trust_add(struct cli *, int, char **);
int cmd_escrow_trust_list(struct cli *, int, char **);
int cmd_escrow_trust_remove(struct cli *, int, char **);
int cmd_identity_export(struct cli *, int, char **);
int cmd_identity_trust(struct cli *, int, char **);
int cmd_identity_list(struct cli *, int, char **);
int cmd_audit(struct cli *, int, char **);
int cmd_pool_create(struct cli *, int, char **);
int cmd_pool_set(struct cli *, int, char **);
int cmd_pool_list(struct cli *, int, char **);
int cmd_pool_show(struct cli *, int, char **);
int cmd_write(struct cli *, int, char **);
int cmd_inventory(struct cli *, int, char **);
int cmd_catalog(struct cli *, int, char **);
int cmd_decrypt(struct cli *, int, char **);
int cmd_backups(struct cli *, int, char **);
int cmd_restore(struct cli *, int, char **);
int cmd_verify(struct cli *, int, char **);
int cmd_backup_create(struct cli *, int, char **);
int cmd_backup_extract(struct cli *, int, char **);
/* the backup-file steps 'backup' and 'config' share (cmd_backup.c) */
struct tv_backup_stats;
int cli_backup_make(struct cli *c, const char *const *src, size_t n, const char *out,
                    const char *encryption, struct tv_backup_stats *bs);
int cli_backup_open(struct cli *c, const char *file, const char *to,
                    const char *password_file, const char *kms, int must_be_encrypted,
                    struct tv_backup_stats *bs);
int cmd_catalog_check(struct cli *, int, char **);
int cmd_config_backup(struct cli *, int, char **);
int cmd_config_restore(struct cli *, int, char **);
/* A tape as a JSON object: the fields of tape list --json (cmd_setup.c). */
struct tv_tape_row;
json_t *cli_tape_json(const struct tv_tape_row *t);
/* cmd_json.c: after a job command (kind "catalog", "inventory", "verify",
 * "decrypt", "restore"; ops its operands), with --json, its document:
 * the result, warnings and what the job touched.  Returns rc. */
int cli_json_job(struct cli *c, int rc, const char *kind, char **ops, size_t nops);
/* cmd_retention.c */
int cmd_expire(struct cli *, int, char **);
int cmd_tape_retire(struct cli *, int, char **);
/* cmd_browse.c */
int cmd_files(struct cli *, int, char **);
int cmd_find(struct cli *, int, char **);
int cmd_jobs(struct cli *, int, char **);
int cmd_servers(struct cli *, int, char **);
int cli_restore_dry_run(struct cli *c, const char *set, char **paths, size_t npaths);
/* cmd_web.c */
int cmd_user_add(struct cli *, int, char **);
int cmd_serve(struct cli *, int, char **);

#endif
