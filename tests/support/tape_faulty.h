/* tapevault tests: the fault-injecting tape wrapper (SQLite test-VFS
 * style).  Test builds only: the unit tests and the tapevault-test binary
 * link it, and it installs itself as the tape layer's wrapper, so every
 * tape opened by name while TAPEVAULT_TEST_FAULT is set is wrapped.  The
 * release binary does not contain it and ignores the variable. */
#ifndef TV_TESTS_TAPE_FAULTY_H
#define TV_TESTS_TAPE_FAULTY_H

#include "tape/tape.h"

struct tv_fault_spec {
	long read_eio;           /* Nth read (1-based) fails with TV_ERR_IO; 0 off */
	long write_eio;          /* Nth write fails with TV_ERR_IO */
	long powerloss;          /* after the Nth successful write (records and
	                          * filemark calls both count) the "power" goes:
	                          * every later op fails with TV_ERR_IO and close
	                          * writes nothing; the image ends there */
	long flip_record;        /* Nth record read gets one byte flipped */
	long flip_offset;        /* which byte of it (mod length) */
	long only_tape;          /* the Kth tape opened only (0: every tape) */
};
/* Parse "read_eio=N,write_eio=N,powerloss=N,flip_record=N[,flip_offset=K]
 * [,only_tape=K]". */
int tv_fault_parse(const char *s, struct tv_fault_spec *spec);
/* Wraps inner; the wrapper owns inner and closes it (also when wrapping
 * fails).  Semantics of each fault: see tape_faulty.c. */
int tv_faulty_wrap(struct tv_tape *inner, const struct tv_fault_spec *spec,
                   struct tv_tape **out);


#endif
