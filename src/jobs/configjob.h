/* tapevault: the backup server's own state in one file ('config backup',
 * 'config restore').
 *
 * The state is the catalog and the key store: the catalog holds the
 * libraries, pools, tapes, sets, and (sealed with the key store's master
 * key) the stored passwords, KMS registrations and tape data keys; the key
 * store holds the master key and the installation's identity.  A stage is a
 * private directory inside the home holding "catalog.db" (a consistent
 * snapshot) and "keys/" (a copy); the CLI turns it into an encrypted
 * backup file (backup/) and back. */
#ifndef TV_JOBS_CONFIGJOB_H
#define TV_JOBS_CONFIGJOB_H

#include <stddef.h>

#include "jobs/home.h"

#define TV_CONFIG_CATALOG "catalog.db"

/* What a stage holds, for the summary. */
struct tv_config_summary {
	long long libraries, pools, tapes, sets, passwords, kms_servers;
};

/* A new stage (HOME/.config-stage.XXXXXX, 0700) with the catalog snapshot
 * and a copy of the key store; its path in stage. */
int tv_config_stage(struct tv_home *h, char *stage, size_t stagesz);
/* An empty stage in the state directory DIR (created 0700 if missing), for
 * 'config restore' to extract into. */
int tv_config_stage_empty(const char *dir, char *stage, size_t stagesz);
/* Checks an extracted stage (STAGE/catalog.db and STAGE/keys/ present, the
 * catalog opens) and fills *sum. */
int tv_config_check(const char *stage, struct tv_config_summary *sum);
/* 0 when DIR holds no catalog, or one 'init' made and nothing was added
 * to (no library, pool, tape, set or password): a configuration restore is
 * for a fresh installation.  Else TV_ERR_EXISTS, saying why. */
int tv_config_fresh(const char *dir);
/* Moves the stage's catalog and key store into DIR (checked with
 * tv_config_fresh first).  A catalog 'init' made and the key store next to
 * it are replaced. */
int tv_config_install(const char *dir, const char *stage);
/* Removes the stage and everything in it. */
void tv_config_unstage(const char *stage);

#endif
