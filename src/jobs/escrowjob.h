/* tapevault: escrow (password loss protection) jobs: the backup server's
 * side (enable, request, apply) and the authority's (respond, recover). */
#ifndef TV_ESCROWJOB_H
#define TV_ESCROWJOB_H

#include <stddef.h>
#include <stdint.h>

#include "jobs/home.h"

int tv_escrow_enable(struct tv_home *h, const char *pub_path, char *fpr_out, size_t fprsz);
/* Break-glass: the authority's key set and the tapes on one machine. */
int tv_escrow_recover_tapes(struct tv_home *h, const char *keyset, const char *pp, size_t pplen,
                            char *const *barcodes, size_t n);

#endif

#ifndef TV_ESCROWJOB_H2
#define TV_ESCROWJOB_H2
/* Backup server: a signed request for the tapes' escrow slots, written to
 * out_path.  Tapes without an escrow slot are named and skipped
 * (*skipped counts them). */
int tv_escrow_make_request(struct tv_home *h, char *const *barcodes, size_t n,
                           const char *out_path, size_t *skipped);
/* Authority: verify and show a request (to stdout), confirm, answer it.
 * A request is answered only when
 *  - its signature verifies (the identity key it carries signed it);
 *  - it is fresh: made at most max_age seconds ago (0: 30 days), and not
 *    dated more than TV_ESCROW_FUTURE_SKEW ahead (crypto/escrow_msg.h);
 *  - its identity is on this authority's trust list (escrow_trusted, kept
 *    in h's catalog: tv_escrow_trust_add), or trust_new is set and the
 *    operator confirms the fingerprint shown (then it is added to the list
 *    when h is not NULL).  Unknown without trust_new: TV_ERR_PERM.
 * confirm NULL means --yes: every question is answered yes. */
struct tv_escrow_respond_opts {
	uint64_t max_age;                        /* seconds; 0: the default */
	int trust_new;
	int (*confirm)(void *ctx, const char *question);
	void *confirm_ctx;
};
/* keysets: one or more key set files (rotation: the one the request's
 * escrow slots name is used). */
int tv_escrow_answer_request(struct tv_home *h /* may be NULL */, char *const *keysets,
                             size_t nkeysets,
                             const char *pp, size_t pplen, const char *request_path,
                             const char *out_path, const struct tv_escrow_respond_opts *o);
/* Backup server: unlock the tapes a response answers, catalog them.
 * Answers are matched to tapes by tape UUID.  A response is applied once:
 * the request is marked applied and its one-time private key deleted from
 * the catalog (in the transaction that stores the tapes' keys); a second
 * apply is refused (TV_ERR_STATE, "applied already"). */
int tv_escrow_apply_response(struct tv_home *h, const char *response_path);

/* Authority: the trust list of installation identities (Ed25519 public
 * keys as 'tapevault identity export' writes them). */
int tv_escrow_trust_add(struct tv_home *h, const char *pub_path, const char *installation,
                        char *fpr_out, size_t fprsz);
int tv_escrow_trust_remove(struct tv_home *h, const char *fpr);   /* TV_ERR_NOTFOUND */
typedef int tv_escrow_trust_fn(void *ctx, const char *fpr, const char *installation,
                               uint64_t added);
int tv_escrow_trust_list(struct tv_home *h, tv_escrow_trust_fn *fn, void *ctx);
#endif
