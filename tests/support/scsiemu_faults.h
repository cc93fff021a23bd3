/* tapevault tests: faults of the emulated SCSI library (a test hook, as
 * tape_faulty.c is for tapes: linked only into the unit tests and
 * tapevault-test).  Set from the environment when a test program starts:
 *
 *   TAPEVAULT_TEST_SCSI_FAULT="move_fail=N,write_medium_error=N,unreadable_tag=BARCODE"
 *
 * - move_fail=N: the Nth MOVE MEDIUM the changer gets (in this process)
 *   fails with HARDWARE ERROR, 15h/01h (mechanical positioning error):
 *   nothing moves;
 * - write_medium_error=N: the Nth WRITE(6) a drive gets fails with MEDIUM
 *   ERROR, 0Ch/00h (write error): nothing is written;
 * - unreadable_tag=BARCODE: the changer cannot read that cartridge's bar
 *   code label (READ ELEMENT STATUS: full, EXCEPT, 83h/09h, no volume
 *   tag).
 * The release tapevault contains none of it and ignores the variable. */
#ifndef TV_TESTS_SCSIEMU_FAULTS_H
#define TV_TESTS_SCSIEMU_FAULTS_H

struct tv_scsi_fault_spec {
	long move_fail;
	long write_medium_error;
	char unreadable_tag[32];
};
/* Parses a spec (TV_ERR_INVAL naming the bad key). */
int tv_scsi_fault_parse(const char *s, struct tv_scsi_fault_spec *spec);
/* Installs spec as the emulator's hooks (NULL: none); counters restart. */
void tv_scsi_fault_install(const struct tv_scsi_fault_spec *spec);

#endif
