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
