/* tapevault: LTO hardware encryption, the jobs' side.
 *
 * A pool with drive encryption on (`pool create|set POOL --drive-encryption
 * on`) keeps its tapes' keys exactly as software encryption does: each
 * tape has its own data key (DEK), wrapped in the tape's key slots
 * (password, KMS, escrow) in its media set label.  Software encryption of
 * the frames stays on as well (format v2 unchanged: a drive-encrypted tape
 * is an encrypted v2 tape), and on top the drive encrypts every record of
 * the data and catalog files (tape files 2 and later) with AES-256-GCM;
 * the labels (files 0 and 1) stay clear, so a fresh installation reads
 * them, unlocks the tape as today and then hands the key to the drive.
 *
 * The drive gets a key derived from the DEK, not the DEK itself:
 *   drive key = HKDF-SHA256(IKM = DEK, salt = "", info = "tapevault v2 drive key")
 * and, as key-associated data recorded in clear with every record, the
 * DEK's fingerprint (16 bytes, as in the labels and the catalog), so a
 * record the drive cannot decrypt names the tape key it needs.
 *
 * The key goes into the drive after the tape is opened and leaves it when
 * the tape is closed (sgtape's close, at the end of the job or of the
 * tape's part in it), and again when the cartridge is unloaded (the key is
 * set with "clear key on demount"). */
#ifndef TV_JOBS_DRIVECRYPT_H
#define TV_JOBS_DRIVECRYPT_H

#include <stdint.h>

#include "format/format.h"
#include "jobs/home.h"

struct tv_session;
struct tv_tape;

#define TV_DRIVE_KEY_INFO "tapevault v2 drive key"

/* The pool setting (catalog pools.drive_encryption).  Turning it on needs
 * a pool with key slots (--encryption password:... or kms:...) and a
 * library whose drives can encrypt (a SCSI library). */
int tv_pool_set_drive_encryption(struct tv_home *h, const char *pool, int on);
int tv_pool_drive_encryption(struct tv_home *h, int64_t pool_id, int *on);

/* The drive key of a DEK. */
int tv_drive_key(const uint8_t dek[TV_DEK_LEN], uint8_t key[32]);

/* A write session's tape is open and labeled (or positioned to append):
 * with the pool's drive encryption on, the drive is given the key for the
 * records written from tape file 2 on; off, a key left in the drive is
 * taken out.  TV_ERR_UNSUPPORTED (naming the drive) when it cannot. */
int tv_drivecrypt_write(struct tv_home *h, struct tv_session *s);

/* A tape opened for reading, whose DEK is known: the drive gets its key
 * (decryption "mixed": encrypted records are decrypted, clear ones read as
 * they are).  A drive that cannot encrypt is no error: what it reads is
 * clear, or it says why not. */
int tv_drivecrypt_read(struct tv_home *h, struct tv_tape *t, const char *barcode,
                       const uint8_t dek[TV_DEK_LEN]);

#endif
