/* tapevault: jobs.  Each job is one user-visible operation that reads or
 * writes tapes and updates the catalog inside transactions. */
#ifndef TV_JOBS_H
#define TV_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "jobs/home.h"

struct tv_vlib;
struct tv_tape;

/* ---- libraries (jobs/media.c) ---- */
int tv_lib_open_by_name(struct tv_home *h, const char *name, struct tv_vlib **lib,
                        int64_t *lib_id);
/* Library holding a barcode (by catalog, falling back to scanning every
 * registered library). */
int tv_lib_open_for_tape(struct tv_home *h, const char *barcode, struct tv_vlib **lib,
                         int64_t *lib_id);

/* Unloads drive (if loaded) at the end of a job step and returns the step's
 * result rc: its error and detail stand.  An unload that fails after a
 * success is the result; after a failure both are said, under rc. */
int tv_lib_unload(struct tv_vlib *lib, unsigned drive, int rc);
/* A tape a reading job loads (restore, verify, catalog, decrypt, erase):
 * drive 0, or on a shared catalog (jobs/lease.h) a drive leased for the
 * while, and the tape leased too, so that jobs of several tape servers
 * never take the same drive or tape (each waits, said, while all drives or
 * its tape are in other jobs' hands).  tv_lib_unload_job unloads and gives
 * the leases back, returning rc as tv_lib_unload does; a zeroed use, or one
 * whose load failed before the drive was touched, unloads nothing. */
struct tv_lib_use {
	unsigned drive;
	int loaded;                  /* a load into drive was tried: unload it */
	int leases;                  /* tv_lease_open was called for this load */
	char drive_res[48], tape_res[48];
};
/* The two steps of it a write job takes apart (it keeps its drive from
 * tape to tape): the drive of lib a job uses (drive 0, or on a shared
 * catalog the first no other job holds, waiting, said, while all are in
 * use; res gets its lease, "" without), and what a job that stopped
 * without ending left in the way, put back in its slot (said): a
 * cartridge in the job's drive (when clear_own: the drive was just leased),
 * barcode in another drive than drive (barcode not NULL; under that
 * drive's lease).  Both do nothing without leases. */
int tv_lib_lease_drive(struct tv_home *h, struct tv_vlib *lib, int64_t lib_id,
                       unsigned *drive, char *res, size_t ressz);
int tv_lib_clear_stale(struct tv_home *h, struct tv_vlib *lib, int64_t lib_id, int drive,
                       int clear_own, const char *barcode);
int tv_lib_load_job(struct tv_home *h, struct tv_vlib *lib, int64_t lib_id,
                    const char *barcode, int mode, struct tv_tape **t, struct tv_lib_use *u);
int tv_lib_unload_job(struct tv_vlib *lib, struct tv_lib_use *u, int rc);
/* Warns about each cartridge of the library whose volume tag the changer
 * cannot read (a job that goes by barcodes passes it over). */
void tv_lib_warn_unreadable(struct tv_home *h, struct tv_vlib *lib);
/* The progress line of a job that reads tapes one by one: items are the
 * tapes, bytes what the catalog says the tapes done so far hold. */
void tv_lib_progress_start(struct tv_home *h, struct tv_progress *p, const char *what,
                           size_t ntapes);
/* Before tape i of barcodes (i == n: after the last). */
void tv_lib_progress_tape(struct tv_home *h, struct tv_progress *p, char *const *barcodes,
                          size_t i);

/* ---- pools (jobs/pool.c) ---- */
struct tv_pool {
	int64_t id;
	uint8_t uuid[16];
	char name[TV_NAME_MAX];
	int64_t library_id;
	char encryption[512];        /* none | password:NAME | kms:SERVER:KEYID */
	char policy[16];             /* continue | per-job */
	int imported;
	char compression[32];        /* none | zstd:LEVEL */
};
int tv_pool_get(struct tv_home *h, const char *name, struct tv_pool *p);
int tv_pool_create(struct tv_home *h, const char *name, const char *library,
                   const char *encryption, const char *policy);
int tv_pool_set_encryption(struct tv_home *h, const char *name, const char *encryption);
/* "none" | "zstd" | "zstd:LEVEL" (format/record.h) */
int tv_pool_set_compression(struct tv_home *h, const char *name, const char *spec);
/* Validate an encryption spec against the home (password exists, KMS
 * registered; kms:SERVER without key id creates a key).  out: normalized. */
int tv_encryption_resolve(struct tv_home *h, const char *pool, const char *spec,
                          char *out, size_t outsz);
/* The free tape a write of the pool takes next in library lib_id: the
 * pool's own (expired) ones first, then blank ones, then other pools'
 * free ones.  1 found (*tape_id, barcode), 0 none, < 0 error. */
int tv_pool_free_tape(struct tv_home *h, const struct tv_pool *p, int64_t lib_id,
                      int64_t *tape_id, char *barcode, size_t bsz);

/* ---- write job (jobs/write.c) ---- */
struct tv_write_opts {
	const char *set_name;
	size_t record_size;          /* for new tapes; 0 = default */
	uint64_t tape_file_size;     /* a data tape file ends past this; 0 = default */
	int no_xattrs;               /* store no extended attributes (nor ACLs) */
	/* TV_LEVEL_FULL, _INCREMENTAL (what changed since the newest set of
	 * the same name in the pool) or _DIFFERENTIAL (since its newest full):
	 * an item whose type, size, modification and change times and inode
	 * are as the catalog recorded is not stored again (restore reads it
	 * from the earlier set); what is gone is recorded as deleted. */
	int level;
	/* items left out: a glob (fnmatch, '*' also matches '/') matching the
	 * absolute source path or the base name; a directory with its contents */
	char *const *excludes;
	size_t nexcludes;
	int one_file_system;         /* do not descend into other file systems */
};
struct tv_write_result {
	uint8_t set_uuid[16];
	uint64_t files, bytes, tapes;
	uint64_t stored;             /* bytes of data streams on tape */
	int level;                   /* what the set is (an incremental without an
	                                earlier set becomes a full) */
	uint8_t parent_uuid[16];     /* the set it is based on (level not full) */
	uint64_t unchanged, deleted; /* items not stored again, items recorded gone */
};
int tv_job_write(struct tv_home *h, const char *pool, char *const *paths, size_t npaths,
                 const struct tv_write_opts *o, struct tv_write_result *res);
/* Test hook: tests/support/write_hooks.c sets it in test programs only
 * (tapevault-test, from $TAPEVAULT_TEST_WRITE); NULL in the installed
 * tapevault.  Called with a regular file's stored path after it is opened
 * and before it is read (done 0), and as its data is read (done: the bytes
 * read so far), to change the file or to send a signal at a known point. */
extern void (*tv_write_test_hook)(const char *path, uint64_t done);

/* ---- inventory / catalog (jobs/catalogjob.c) ---- */
struct tv_catalog_opts {
	int labels_only;             /* inventory */
	int include_expired;         /* catalog media sets expired here again */
};
int tv_job_catalog(struct tv_home *h, const char *library, char *const *barcodes,
                   size_t nbarcodes, const struct tv_catalog_opts *o);
/* Catalog the contents of one tape that is (now) unlocked: used by
 * decrypt and escrow apply. */
int tv_catalog_tape_contents(struct tv_home *h, const char *barcode);

/* ---- decrypt (jobs/decrypt.c) ---- */
struct tv_decrypt_opts {
	const char *password_file;   /* password unlock */
	const char *kms;             /* KMS server name */
	const char *key_id;          /* optional key id override */
	int (*confirm)(void *ctx, const char *question);
	void *confirm_ctx;
};
int tv_job_decrypt(struct tv_home *h, char *const *barcodes, size_t n,
                   const struct tv_decrypt_opts *o);

/* ---- restore / verify (jobs/restore.c, jobs/verify.c) ---- */
enum tv_overwrite {
	TV_OVERWRITE_NEVER = 0,      /* an existing file is kept, named; the job is partial */
	TV_OVERWRITE_ALWAYS,         /* replaced (atomically: the old one stays until the new is whole) */
	TV_OVERWRITE_IF_NEWER,       /* replaced when the stored mtime is newer; else kept, quietly */
};
struct tv_restore_opts {
	const char *to;              /* the target directory; NULL with to_original */
	int to_original;             /* put items back where they came from (/PATH) */
	char *const *paths;          /* paths and globs (fnmatch); none: the whole set */
	size_t npaths;
	enum tv_overwrite overwrite;
	int extract;                 /* open job-encrypted backup files */
	const char *password_file;
	int no_xattrs;               /* restore no extended attributes (nor ACLs) */
	int numeric_owner;           /* owners by the stored ids, not by name */
};
int tv_job_restore(struct tv_home *h, const char *set, const struct tv_restore_opts *o);
int tv_job_verify(struct tv_home *h, char *const *barcodes, size_t n);

/* backup sets: resolve "uuid", unique uuid prefix, or unique name */
int tv_set_lookup(struct tv_home *h, const char *ref, int64_t *set_id, uint8_t uuid[16]);

#endif
