/* tapevault: who wrote a tape or a backup file (issue 10, finding 2).
 *
 * An installation signs what it writes with its Ed25519 identity
 * (crypto/identity.h): the media set label of every tape it labels, every
 * session catalog, every backup file (docs/FORMAT.md 9.4, 11.2, 16).  A reader accepts what this installation wrote and what
 * an installation on its trust list (table writers_trusted: 'tapevault
 * identity trust', or a confirmation) wrote.  A signature that does not
 * verify is a forgery (or damage): refused, never a question.  A valid
 * signature by an identity not known here, or none at all, is an unknown
 * writer: its labels are shown with its fingerprint, its contents are read
 * only once the operator confirms (interactively, --trust-writer FPR, or
 * 'identity trust' beforehand). */
#ifndef TV_JOBS_WRITER_H
#define TV_JOBS_WRITER_H

#include <stdint.h>

#include <openssl/types.h>

#include "crypto/pkey.h"
#include "format/format.h"
#include "format/record.h"
#include "jobs/home.h"

/* What writes: this installation's identity (made when the home has none
 * yet, as 'tapevault init' does). */
struct tv_wsigner {
	struct tv_signer sg;
	EVP_PKEY *priv;
};
int tv_writer_signer_open(struct tv_home *h, struct tv_wsigner *ws);
void tv_writer_signer_close(struct tv_wsigner *ws);

enum tv_writer_kind {
	TV_WRITER_OWN = 1,       /* this installation */
	TV_WRITER_TRUSTED,       /* on the trust list (or confirmed now) */
	TV_WRITER_UNKNOWN,       /* a valid signature by an identity not known here */
	TV_WRITER_UNSIGNED,      /* no signature (or of an unknown algorithm) */
};
struct tv_writer {
	enum tv_writer_kind kind;
	int signed_;                          /* pub and fpr are set */
	uint8_t pub[TV_WSIG_PUB_LEN];
	uint8_t fpr[TV_PKFPR_LEN];
	char fpr_str[TV_PKFPR_STR_LEN];       /* "SHA256:..." or "unsigned" */
};

/* Checks a signature (s: as decoded) of msg: 0 with w filled (kind from
 * the trust list), TV_ERR_SIG when it does not verify or its fingerprint
 * is not its key's (the caller names what).  s NULL: unsigned. */
int tv_writer_check(struct tv_home *h, const struct tv_wsig *s, const void *msg, size_t len,
                    struct tv_writer *w);
/* The media set label's signature (tv_writer_check on the labels as read):
 * TV_ERR_SIG named "tape BARCODE file 1 record 0: ...". */
int tv_writer_check_labels(struct tv_home *h, const char *barcode,
                           const struct tv_tape_labels *l, struct tv_writer *w);
/* May what w wrote be read?  0 for own and trusted writers, and for an
 * unknown one the operator accepts now (--trust-writer FPR, or yes at the
 * question: it joins the trust list).  TV_ERR_PERM otherwise, with a
 * message naming what (`what`, e.g. "tape VT0001L9"), the fingerprint and
 * the command to run. */
int tv_writer_accept(struct tv_home *h, const char *what, struct tv_writer *w);
/* Labels, then accept: what the catalog job, decrypt and escrow apply do
 * before a tape's contents go into the catalog. */
int tv_writer_gate(struct tv_home *h, const char *barcode, const struct tv_tape_labels *l,
                   struct tv_writer *w);

/* The trust list. */
int tv_writer_trust_add(struct tv_home *h, const uint8_t pub[TV_WSIG_PUB_LEN],
                        const char *how);
/* 1 trusted, 0 not, < 0 error. */
int tv_writer_is_trusted(struct tv_home *h, const uint8_t fpr[TV_PKFPR_LEN]);
/* This installation's identity: 0, TV_ERR_NOTFOUND without one. */
int tv_writer_own(struct tv_home *h, uint8_t pub[TV_WSIG_PUB_LEN],
                  uint8_t fpr[TV_PKFPR_LEN]);

/* ---- backup files (backup/backup.h; docs/FORMAT.md 16) ---- */
struct tv_backup_info;
struct tv_backup_keys;
struct tv_backup_stats;
struct tv_unlocker;
/* tv_backup_create, signed by this installation's identity. */
int tv_writer_backup_create(struct tv_home *h, const char *const *sources, size_t nsrc,
                            const char *out_path, const struct tv_backup_keys *keys,
                            struct tv_backup_stats *bs);
/* Who wrote the backup file at path, whose header (as the reader parsed
 * it, signature verified) is info: as tv_writer_check; TV_ERR_SIG named
 * "PATH: ...". */
int tv_writer_check_backup(struct tv_home *h, const char *path,
                           const struct tv_backup_info *info, struct tv_writer *w);
/* Check, then tv_writer_accept ("backup file PATH"): 0 for this
 * installation's own and trusted writers (and one the operator accepts
 * now: --trust-writer FPR, or unsigned files with --trust-writer
 * unsigned), TV_ERR_PERM naming the fingerprint and what to run, TV_ERR_SIG. */
int tv_writer_backup_gate(struct tv_home *h, const char *path,
                          const struct tv_backup_info *info, struct tv_writer *w);
/* tv_backup_extract with that gate on the header the extraction reads
 * (the trailer must verify under the same key before anything is put in
 * place). */
int tv_writer_backup_extract(struct tv_home *h, const char *path, const char *dest_dir,
                             const struct tv_unlocker *unlocker, struct tv_backup_stats *bs);

/* Test hook: tests/support/writer_hooks.c sets it in test programs only
 * (tapevault-test, from $TAPEVAULT_TEST_UNSIGNED); NULL in the installed
 * tapevault.  Nonzero for what ("backup") means: write it unsigned, in
 * the format from before signatures (a backup file of version 1), as an
 * older tapevault did. */
extern int (*tv_writer_test_unsigned)(const char *what);

#endif
