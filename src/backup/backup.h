/* tapevault: disk backup files with job-level encryption (docs/SECURITY.md section 8,
 * "double encryption": the inner layer).
 *
 * `tapevault backup create SOURCE... --out FILE` archives the sources as
 * a pax tar stream (libarchive; mtimes to the nanosecond, modes, owners,
 * symlinks as links, hard links) inside a tapevault backup container:
 *
 *   header   "TVB1" | version | flags | TLV body: backup UUID, created,
 *            chunk size, algorithm, DEK fingerprint, key slots (password,
 *            KMS, escrow: struct tv_keyslot, bound to the backup UUID)
 *            | SHA-256 of the header
 *   chunks   1 MiB of the tar stream each, AES-256-GCM under
 *            HKDF-SHA256(DEK, salt = backup UUID), nonce = chunk index,
 *            AAD = header hash | chunk index | chunk flags and length;
 *            the last chunk is flagged LAST.  Truncation, reordering,
 *            header edits and bit flips are all detected.
 *
 * Unencrypted backups (keys == NULL) use the same framing with a SHA-256
 * checksum instead of the GCM tag (accidents only, not tampering).
 * The header is plaintext (tv_backup_inspect): UUID, creation time, and
 * per slot the password name and hint, KMS server and key id, escrow
 * fingerprint; the tape layer uses it to show "backup encrypted".
 *
 * Who wrote a file (issue 10, finding 2): a file made with a signer
 * (tv_backup_create_signed: the installation's Ed25519 identity) is format
 * version 2: its header carries a writer signature of the header hash
 * (and so of the DEK fingerprint and every key slot), and a trailer after
 * the LAST chunk a signature by the same key of a SHA-256 over every byte
 * before it.  Readers verify both (a signature that does not verify, a
 * missing trailer: refused); whether the writer is trusted is the caller's
 * policy (struct tv_backup_trust; jobs/writer.h).  Version 1 files (made
 * before signatures, or without a signer) read as unsigned.
 * The normative layout is in docs/FORMAT.md section 16.
 *
 * Memory use is bounded (one chunk plus libarchive's buffers) whatever
 * the size of the files. */
#ifndef TV_BACKUP_BACKUP_H
#define TV_BACKUP_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "crypto/kdf.h"
#include "crypto/slot.h"
#include "format/format.h"

#define TV_BACKUP_MAGIC "TVB1"
#define TV_BACKUP_VERSION 1          /* unsigned (the format before signatures) */
#define TV_BACKUP_VERSION_SIGNED 2   /* header and trailer writer signatures */
#define TV_BACKUP_CHUNK_DEFAULT (1024u * 1024u)
#define TV_BACKUP_CHUNK_MIN (4u * 1024u)
#define TV_BACKUP_CHUNK_MAX (16u * 1024u * 1024u)
#define TV_BACKUP_HDR_MAX (256u * 1024u)    /* header body bound */

/* ---- what protects a new backup file (keys == NULL: plaintext) ----
 * At least one protector is required.  The DEK is fresh and random for
 * every file; slots bind the backup UUID. */
struct tv_backup_keys {
	/* password slot: password != NULL */
	const char *password;
	size_t password_len;
	const char *password_name;        /* required with a password */
	const char *password_hint;        /* optional */
	enum tv_kdf kdf;                  /* 0: PBKDF2-HMAC-SHA256 */
	const struct tv_kek *kek;         /* optional pre-derived KEK (then
	                                   * password may be NULL) */
	/* escrow slots (password loss protection) */
	EVP_PKEY *const *escrow;
	size_t nescrow;
	/* further slots, e.g. KMS: called once with the backup UUID and the
	 * DEK; fills slots[0..room) and sets *added. */
	int (*add_slots)(void *ctx, const uint8_t backup_uuid[TV_UUID_LEN],
	                 const uint8_t dek[TV_DEK_LEN], struct tv_keyslot *slots,
	                 size_t room, size_t *added);
	void *add_ctx;
};

struct tv_backup_stats {
	uint8_t uuid[TV_UUID_LEN];        /* of the backup file */
	uint64_t files, dirs, symlinks, others;
	uint64_t bytes;                   /* regular file data */
	uint64_t skipped;                 /* entries not stored / not restored */
	uint64_t chunks;                  /* container chunks */
	uint64_t file_bytes;              /* container size */
	char first_problem[512];          /* the first skip's reason */
};

/* ---- the plaintext header ---- */
struct tv_backup_info {
	uint8_t uuid[TV_UUID_LEN];
	uint64_t created;                 /* unix seconds */
	uint64_t chunk_size;
	int encrypted;
	enum tv_enc_alg alg;
	uint8_t dek_fpr[TV_FPR_LEN];      /* zero when plaintext */
	size_t nslots;
	struct tv_keyslot slots[TV_MAX_SLOTS];
	char writer[64];                  /* "tapevault 0.1.0" */
	size_t header_len;                /* bytes before the first chunk */
	uint8_t header_hash[32];
	unsigned version;                 /* TV_BACKUP_VERSION or _SIGNED */
	/* version 2: the header's writer signature as decoded.  signed_: its
	 * algorithm is Ed25519 and it verified (the parser checks it: a
	 * signature that does not verify is TV_ERR_SIG); 0 with has_wsig: a
	 * newer algorithm, not interpreted (the file reads as unsigned). */
	int has_wsig;
	int signed_;
	struct tv_wsig wsig;
};

/* Writes a backup of sources (files, directories, symlinks kept as
 * links) to out_path.  Each source is stored under its last path
 * component ("/srv/data" -> "data/..."); two sources with the same name
 * are refused.  The file is written to a temporary sibling, fsynced and
 * renamed into place; an existing out_path is never replaced
 * (TV_ERR_EXISTS).  bs may be NULL.
 * Returns 0; TV_ERR_PARTIAL when entries could not be stored (socket,
 * unreadable file, file shrinking while read): the backup file is
 * complete but bs->skipped > 0 and the detail names the first problem;
 * other errors leave no file behind. */
int tv_backup_create(const char *const *sources, size_t nsrc, const char *out_path,
                     const struct tv_backup_keys *keys, struct tv_backup_stats *bs);
/* The same, signed by signer (format version 2): the header, and every
 * byte of the file in its trailer.  signer NULL: tv_backup_create (an
 * unsigned version 1 file). */
int tv_backup_create_signed(const char *const *sources, size_t nsrc, const char *out_path,
                            const struct tv_backup_keys *keys,
                            const struct tv_signer *signer, struct tv_backup_stats *bs);

/* Who may have written a backup file that is read: accept is called once
 * the header is read and its signature (if any) verified, before the
 * unlocker and before any content is read.  0 reads on; an error (its
 * message set) refuses the file.  The trailer must then verify under the
 * same key, or the file is refused at its end (TV_ERR_SIG, TV_ERR_EOF). */
struct tv_backup_trust {
	int (*accept)(void *ctx, const char *name, const struct tv_backup_info *info);
	void *ctx;
};

/* Decrypts, authenticates and extracts path into dest_dir (must not
 * exist, or be an empty directory).  Extraction goes into a temporary
 * sibling directory that is renamed to dest_dir only after the last
 * chunk authenticated; on any error nothing is left at dest_dir.
 * unlocker may be NULL for plaintext backups; with
 * unlocker->expect_encrypted a plaintext file is refused (TV_ERR_AUTH,
 * see tv_backup_reader_unlock) before a byte is extracted.  Paths are sanitized
 * (no absolute paths, no "..", nothing written through symlinks).
 * Errors (detail prefixed "PATH: "): TV_ERR_FORMAT ("not a tapevault
 * backup file"), TV_ERR_EOF ("truncated (chunk N of an unknown total is
 * missing its end marker)"), TV_ERR_AUTH ("authentication failed at chunk
 * N: the file was modified"), TV_ERR_LOCKED (encrypted, no unlocker /
 * no usable slot), TV_ERR_BADKEY ("wrong password for slot NAME (hint:
 * ...)"), TV_ERR_EXISTS (dest_dir not empty), TV_ERR_PARTIAL (some
 * entries could not be restored, e.g. device nodes as non-root: the
 * rest is in place, bs->skipped > 0), TV_ERR_SIG (a writer signature that
 * does not verify), TV_ERR_EOF also for a signed file without its
 * trailer.  Signatures are verified, but every writer is accepted (no
 * policy): readers for the operator use tv_backup_extract_trusted. */
int tv_backup_extract(const char *path, const char *dest_dir,
                      const struct tv_unlocker *unlocker, struct tv_backup_stats *bs);
/* tv_backup_extract with a writer policy (trust NULL: none).  A refusal
 * by trust->accept happens before anything is created. */
int tv_backup_extract_trusted(const char *path, const char *dest_dir,
                              const struct tv_unlocker *unlocker,
                              const struct tv_backup_trust *trust,
                              struct tv_backup_stats *bs);

/* M_h, the message a version 2 header's signature signs (FORMAT.md 16),
 * appended to msg: for a reader that classifies the writer itself. */
int tv_backup_header_signed_msg(struct tv_buf *msg, const struct tv_backup_info *info);

/* Reads only the header.  TV_ERR_FORMAT: not a backup file (detail
 * "PATH: not a tapevault backup file"). */
int tv_backup_inspect(const char *path, struct tv_backup_info *info);

/* 1 if the n bytes at p start like a backup file (magic), else 0.
 * 4 bytes are enough. */
int tv_backup_probe(const void *p, size_t n);
/* 1 if the n bytes at p start like an encrypted backup file (magic and
 * the encrypted flag), else 0.  8 bytes are enough.  Used to flag a file
 * as job-encrypted in a tape's catalog (TV_EF_INNER_ENCRYPTED). */
int tv_backup_probe_encrypted(const void *p, size_t n);

/* Parses a header from memory: 0 and *hdr_len, TV_ERR_EOF when more bytes
 * are needed (*hdr_len then says how many in total, when known: it may
 * grow once more with the next call), TV_ERR_FORMAT / TV_ERR_UNSUPPORTED /
 * TV_ERR_CRC, TV_ERR_SIG (a version 2 header whose Ed25519 signature does
 * not verify, or whose fingerprint is not its key's). */
int tv_backup_header_parse(const uint8_t *p, size_t n, struct tv_backup_info *info,
                           size_t *hdr_len);

/* ---- streaming reader (restore straight from a tape stream) ---- */
/* Reads up to n bytes; *got = 0 at end of input. */
typedef int (*tv_backup_read_fn)(void *ctx, void *p, size_t n, size_t *got);
struct tv_backup_reader;
/* Reads and checks the header.  name is used in messages. */
int tv_backup_reader_open(struct tv_backup_reader **r, const char *name,
                          tv_backup_read_fn fn, void *ctx);
const struct tv_backup_info *tv_backup_reader_info(const struct tv_backup_reader *r);
/* Asks the unlocker for the DEK and checks it against the header's
 * fingerprint.  A plaintext backup: no-op, unless u->expect_encrypted
 * (the caller holds a key, or its catalog says the file is encrypted):
 * then TV_ERR_AUTH "PATH: refused: the file is not encrypted, but it
 * should be ...", and the reader stays failed. */
int tv_backup_reader_unlock(struct tv_backup_reader *r, const struct tv_unlocker *u);
/* DEK known already (catalog cache): checked against the fingerprint. */
int tv_backup_reader_set_dek(struct tv_backup_reader *r, const uint8_t dek[TV_DEK_LEN]);
/* Next authenticated piece of the tar stream (valid until the next call).
 * *n = 0 only once the LAST chunk authenticated and the input ended.  In
 * a signed file the LAST chunk is returned only after the trailer's
 * signature of the whole file verified. */
int tv_backup_reader_next(struct tv_backup_reader *r, const uint8_t **p, size_t *n);
/* Copying variant; *got = 0 at the verified end. */
int tv_backup_reader_read(struct tv_backup_reader *r, void *p, size_t n, size_t *got);
uint64_t tv_backup_reader_chunks(const struct tv_backup_reader *r);
void tv_backup_reader_close(struct tv_backup_reader *r);   /* wipes; NULL ok */
/* tv_backup_extract on an open, unlocked reader. */
int tv_backup_extract_stream(struct tv_backup_reader *r, const char *dest_dir,
                             struct tv_backup_stats *bs);

#endif
