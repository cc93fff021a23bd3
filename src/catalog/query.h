/* tapevault: read queries that list and show catalog objects (libraries,
 * tapes, pools, backup sets, passwords, KMS servers, escrow keys, the audit
 * log), as rows with named fields.
 *
 * Lists call fn once per row, so memory stays bounded however many rows
 * there are.  A row's strings and blobs point into the query and are valid
 * during that call only: copy what you keep.  Text is "" when the column is
 * NULL unless a field says otherwise.  fn returns 0 to go on; anything else
 * stops the list and is what the query returns (a negative TV_ERR_* code
 * with its detail set, or a positive value of the caller's own).
 *
 * Every query returns 0 when the rows ran out, or a negative TV_ERR_* code
 * with its detail set: a step that fails is an error (TV_ERR_DB), never the
 * end of the rows, and a lookup of one object that is not there is
 * TV_ERR_NOTFOUND, naming it. */
#ifndef TV_CATALOG_QUERY_H
#define TV_CATALOG_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

/* ---- libraries ---- */
struct tv_library_row {
	const char *name;
	const char *path;             /* the library directory */
};
typedef int tv_library_fn(void *ctx, const struct tv_library_row *row);
/* By name. */
int tv_query_libraries(struct tv_db *db, tv_library_fn *fn, void *ctx);

/* ---- tapes ---- */
struct tv_tape_row {
	const char *barcode;
	const char *state;            /* free | pool | imported | unrecognized | retired */
	const char *pool;             /* "" when in none */
	const char *library;          /* "" when offline (exported) */
	const uint8_t *media_set_uuid; /* 16 bytes; NULL when in no media set */
	int64_t seq;                  /* place in its media set; 0 when none */
	int encrypted, locked, full;
	const void *ms_label;         /* media set label body as on tape; NULL when none */
	size_t ms_label_len;
	int64_t used;                 /* bytes written on it */
	int64_t written;              /* when it was last written (unix seconds); 0 never */
	int64_t capacity;             /* bytes; 0 when not known */
	int64_t expires;              /* when its media set expires (unix seconds); 0 never */
};
typedef int tv_tape_fn(void *ctx, const struct tv_tape_row *row);
/* Tapes by barcode; pool and state (NULL: any) narrow the list, and state
 * "locked" means the encrypted tapes that are not unlocked. */
int tv_query_tapes(struct tv_db *db, const char *pool, const char *state, tv_tape_fn *fn,
                   void *ctx);

/* One tape, with what its media set holds on it. */
struct tv_tape_info {
	struct tv_tape_row t;         /* as listed (media_set_uuid, used as there) */
	const uint8_t *uuid;          /* 16 bytes; NULL until it is labeled */
	int64_t sessions;             /* write sessions on it */
	int64_t next_file;            /* tape file where the next session starts */
	int64_t capacity;
	int contents_cataloged;
	const char *unlocked_by;      /* how its data key was found; NULL when not known */
	int64_t data_files;           /* data tape files on it */
	int64_t backup_sets;          /* sets with data on it */
	int64_t bytes_on_tape;        /* data stream bytes of those files */
	int64_t record_size;          /* 0 when not known */
	int64_t format;               /* on-tape format version; 0 when not known */
};
typedef int tv_tape_info_fn(void *ctx, const struct tv_tape_info *row);
/* fn runs once; TV_ERR_NOTFOUND when the catalog has no such tape. */
int tv_query_tape(struct tv_db *db, const char *barcode, tv_tape_info_fn *fn, void *ctx);

/* Encrypted tapes in a library whose contents are not cataloged (not
 * unlocked yet): the backup sets on them are not known. */
struct tv_locked_tape_row {
	const char *barcode;
	const char *pool;             /* "" when in none */
	int64_t seq;
};
typedef int tv_locked_tape_fn(void *ctx, const struct tv_locked_tape_row *row);
int tv_query_locked_tapes(struct tv_db *db, tv_locked_tape_fn *fn, void *ctx);

/* ---- pools ---- */
struct tv_pool_row {
	const char *name;
	const char *library;          /* "" when none */
	const char *encryption;       /* none | password:NAME | kms:SERVER:KEYID */
	const char *media_set_policy; /* continue | per-job */
	const char *compression;      /* none | zstd:LEVEL */
	int imported;
	int64_t tapes, backup_sets;
	int64_t retention;            /* seconds its media sets are kept; 0 for ever */
};
typedef int tv_pool_fn(void *ctx, const struct tv_pool_row *row);
/* By name; name (NULL: all) picks one, and TV_ERR_NOTFOUND when there is
 * no pool of that name. */
int tv_query_pools(struct tv_db *db, const char *name, tv_pool_fn *fn, void *ctx);

/* ---- backup sets ---- */
struct tv_backup_row {
	int64_t id;
	const uint8_t *uuid;          /* 16 bytes; NULL when the stored one is not */
	const char *name;
	const char *pool;             /* "" when none */
	int64_t created;              /* unix seconds */
	int complete, recovered;
	int64_t files;                /* items cataloged */
	int64_t bytes;                /* bytes of its regular files */
	int64_t bytes_on_tape;        /* data stream bytes of its tape files */
	const char *tapes;            /* barcodes in media set order, ','-separated */
	int64_t tapes_spanned;        /* tapes of the media set it spans */
	int64_t tapes_known;          /* of those, the ones in the catalog */
	int64_t tapes_locked;         /* ... still locked */
	int64_t tapes_offline;        /* ... in no library */
	int64_t inner_encrypted;      /* items that are job-encrypted backup files */
	const char *set_state;        /* what became of its job: complete | partial |
	                               * interrupted | failed | running | recovered
	                               * (found by a scan only: how it ended is not
	                               * known) | incomplete (the tape where it ends
	                               * is not cataloged) */
	int64_t problems;             /* items not stored whole (tv_query_set_problems) */
	int level;                    /* 0 full, 1 incremental, 2 differential */
	const uint8_t *parent;        /* 16 bytes: the set it is based on; NULL for a full */
	int64_t deleted;              /* items of its parent's tree it records gone */
};
typedef int tv_backup_fn(void *ctx, const struct tv_backup_row *row);
/* Oldest first. */
int tv_query_backup_sets(struct tv_db *db, tv_backup_fn *fn, void *ctx);
/* Whether a set can be restored, in words: "tape encrypted", its set_state
 * when that is not "complete" ("partial": restorable, but some items were
 * not stored whole; "interrupted", "failed": restorable up to where its
 * job stopped; "running"), "incomplete" (tapes missing), "backup
 * encrypted" (restorable, its files job-encrypted), "offline",
 * "restorable". */
const char *tv_backup_state(const struct tv_backup_row *b);

/* An item of a set not stored whole: its stored path and why ("changed
 * while it was read", "skipped: ...", "unreadable: ...", "interrupted:
 * ..."); idx: its index in the set when it was stored (changed), else -1. */
struct tv_problem_row {
	const char *path, *reason;
	int64_t idx;
};
typedef int tv_problem_fn(void *ctx, const struct tv_problem_row *row);
int tv_query_set_problems(struct tv_db *db, int64_t set_id, tv_problem_fn *fn, void *ctx);

/* ---- passwords ---- */
struct tv_password_row {
	const char *name, *hint;
	const char *kdf;              /* pbkdf2 | argon2id */
	int64_t created;
};
typedef int tv_password_fn(void *ctx, const struct tv_password_row *row);
/* By name (the sealed secrets stay out of rows). */
int tv_query_passwords(struct tv_db *db, tv_password_fn *fn, void *ctx);
/* A password's hint; TV_ERR_NOTFOUND when there is no such password,
 * TV_ERR_RANGE when hint is too small. */
int tv_query_password_hint(struct tv_db *db, const char *name, char *hint, size_t hintsz);

/* ---- KMS servers ---- */
struct tv_kms_server_row {
	const char *name, *host;
	int64_t port;
	const char *ca, *cert, *key;  /* PEM file paths */
	int64_t keys;                 /* keys created through tapevault */
	int64_t id;                   /* the catalog's id of the server */
};
typedef int tv_kms_server_fn(void *ctx, const struct tv_kms_server_row *row);
/* By name. */
int tv_query_kms_servers(struct tv_db *db, tv_kms_server_fn *fn, void *ctx);
/* fn runs once; TV_ERR_NOTFOUND when no server has that name. */
int tv_query_kms_server(struct tv_db *db, const char *name, tv_kms_server_fn *fn, void *ctx);

/* ---- escrow (password loss protection) ---- */
struct tv_escrow_key_row {
	const char *public_pem;       /* the authority's public key */
	const uint8_t *fingerprint;   /* SHA-256 of its SPKI DER */
	size_t fingerprint_len;
};
typedef int tv_escrow_key_fn(void *ctx, const struct tv_escrow_key_row *row);
/* The enabled escrow keys, oldest first. */
int tv_query_escrow_keys(struct tv_db *db, tv_escrow_key_fn *fn, void *ctx);
int tv_query_escrow_enabled(struct tv_db *db, int64_t *count);

/* ---- audit log ---- */
struct tv_audit_row {
	int64_t time;                 /* unix seconds */
	const char *actor;            /* user@host */
	const char *action, *key_path, *tapes, *detail;
};
typedef int tv_audit_fn(void *ctx, const struct tv_audit_row *row);
/* Oldest first. */
int tv_query_audit(struct tv_db *db, tv_audit_fn *fn, void *ctx);

#endif
