/* tapevault: a stop request (SIGINT, SIGTERM) that long jobs honour at a
 * clean point.
 *
 * The CLI installs the handler (cli/main.c): it only stores the signal's
 * number here; the jobs' loops (write, restore, verify, catalog) check
 * tv_stop_requested() between records or items, finish what they hold
 * (the current record, the tape's catalog) and return TV_ERR_INTERRUPTED.
 * A second signal ends the process at once (the handler's _exit). */
#ifndef TV_STOP_H
#define TV_STOP_H

#include <signal.h>

extern volatile sig_atomic_t tv_stop_signal;   /* 0, or the signal received */

static inline int tv_stop_requested(void)
{
	return tv_stop_signal != 0;
}

/* The signal's name for messages ("SIGINT"). */
const char *tv_stop_name(void);

#endif
