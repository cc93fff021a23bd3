#ifndef TV_AUDIT_H
#define TV_AUDIT_H
#include "jobs/home.h"
/* Append to the audit log: who (user@host), when, which key path, which
 * tapes, outcome. */
void tv_audit(struct tv_home *h, const char *action, const char *key_path,
              const char *tapes, const char *detail);
#endif
