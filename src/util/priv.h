/* tapevault: what this process may do to other users' files.
 *
 * The CLI run as root may do everything.  The packaged service runs as
 * its own user (tapevault) with the file capabilities a backup server
 * needs given by systemd (tools/tapevault.service): reading every file
 * (CAP_DAC_READ_SEARCH) and, for restores, setting owners and modes
 * (CAP_CHOWN, CAP_FOWNER, CAP_FSETID).  Code that used to ask "am I
 * root?" asks these instead, so both run the same paths. */
#ifndef TV_PRIV_H
#define TV_PRIV_H

/* 1 when the effective capabilities let this process give files to
 * other owners (root, or CAP_CHOWN), else 0. */
int tv_priv_can_chown(void);

#endif
