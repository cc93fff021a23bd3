/* tapevault: escrow (password loss protection) jobs: the backup server's
 * side (enable, request, apply) and the authority's (respond, recover). */
#ifndef TV_ESCROWJOB_H
#define TV_ESCROWJOB_H

#include <stddef.h>

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
/* Authority: verify and show a request (to stdout), confirm, answer it. */
/* keysets: one or more key set files (rotation: the one the request's
 * escrow slots name is used). */
int tv_escrow_answer_request(struct tv_home *h /* may be NULL */, char *const *keysets,
                             size_t nkeysets,
                             const char *pp, size_t pplen, const char *request_path,
                             const char *out_path, int (*confirm)(void *, const char *),
                             void *confirm_ctx);
/* Backup server: unlock the tapes a response answers, catalog them. */
int tv_escrow_apply_response(struct tv_home *h, const char *response_path);
#endif
