/* tapevault: on-tape format v2 (docs/FORMAT.md is the normative text).
 *
 * A tape is a sequence of tape files separated by filemarks:
 *   file 0      volume label       (one record)
 *   file 1      media set label    (one record; carries the key slots)
 *   file 2..    data files: the entries of one backup set, packed
 *   last file   catalog of the media set up to this tape
 *
 * Every tape file starts with its content header record (record 0).  Data
 * and catalog files continue with data records of exactly R bytes (the last
 * one may be shorter) holding a stream of frames; a frame carries up to
 * 1 MiB of the file's byte stream, compressed and (on encrypted tapes)
 * sealed with AES-256-GCM.  The byte stream of a data file is a sequence of
 * entries (entry header, then the entry's data); that of a catalog file a
 * sequence of catalog items.  Structures are TLV lists; integers are
 * big-endian.  See record.h for records, frames and the stream pipeline. */
#ifndef TV_FORMAT_H
#define TV_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define TV_FORMAT_VERSION 2
#define TV_UUID_LEN 16
#define TV_DEK_LEN 32
#define TV_FPR_LEN 16          /* DEK fingerprint (keyed digest) */
#define TV_RECORD_SIZE_DEFAULT (256u * 1024u)
#define TV_RECORD_SIZE_MIN (64u * 1024u)
#define TV_RECORD_SIZE_MAX (4u * 1024u * 1024u)

/* ---- content header (payload of record 0 of every tape file) ----
 *  0  4  magic "TVC2"
 *  4  2  format version (2)
 *  6  2  flags (0)
 *  8  8  content type magic (first 8 bytes of SHA-256 of the type name)
 * 16 16  content UUID (random per tape file written)
 * 32  4  body length B (<= TV_HDR_BODY_MAX)
 * 36  4  CRC32C of bytes 0..35 followed by the body
 * 40  B  body: TLV items (below) */
#define TV_HDR_MAGIC "TVC2"
#define TV_HDR_FIXED 40
#define TV_HDR_BODY_MAX (64u * 1024u)

enum tv_content_type {
	TV_CT_UNKNOWN = 0,
	TV_CT_VOLUME_LABEL,    /* "tapevault volume label v2"    160e714e2d7b3965 */
	TV_CT_MEDIA_SET_LABEL, /* "tapevault media set label v2" fe3cbcb721ffecda */
	TV_CT_DATA,            /* "tapevault data v2"            72e8495cb9f40eaa */
	TV_CT_CATALOG,         /* "tapevault catalog v2"         46feb78561a2e42e */
};
const uint8_t *tv_content_magic(enum tv_content_type t);  /* 8 bytes */
enum tv_content_type tv_content_type_of(const uint8_t magic[8]);
const char *tv_content_type_name(enum tv_content_type t);

struct tv_content_header {
	enum tv_content_type type;
	uint8_t magic[8];
	uint8_t uuid[TV_UUID_LEN];
	const uint8_t *body;     /* points into the decoded record */
	size_t body_len;
};
int tv_hdr_encode(struct tv_buf *out, enum tv_content_type type,
                  const uint8_t uuid[TV_UUID_LEN], const void *body, size_t body_len);
/* Validates magic, length, CRC, then version and flags.  Unknown type
 * magics decode with type TV_CT_UNKNOWN (a reader skips such files). */
int tv_hdr_decode(const uint8_t *p, size_t len, struct tv_content_header *ch);

/* ---- TLV: u16 tag | u32 length | value ----
 * Integers are 8-byte big-endian values; strings are UTF-8 without NUL;
 * UUIDs 16 bytes; nested structures are TLV lists.  Readers skip unknown
 * tags (forward compatibility); a tag whose length is wrong for its kind
 * is a format error. */
int tv_tlv_put_u64(struct tv_buf *b, uint16_t tag, uint64_t v);
int tv_tlv_put_bytes(struct tv_buf *b, uint16_t tag, const void *p, size_t n);
int tv_tlv_put_str(struct tv_buf *b, uint16_t tag, const char *s);
struct tv_tlv {
	uint16_t tag;
	const uint8_t *val;
	size_t len;
};
/* Next item from b; returns 0, TV_ERR_EOF at clean end, TV_ERR_FORMAT when
 * truncated. */
int tv_tlv_next(struct tv_buf *b, struct tv_tlv *it);
int tv_tlv_u64(const struct tv_tlv *it, uint64_t *v);
int tv_tlv_uuid(const struct tv_tlv *it, uint8_t out[TV_UUID_LEN]);
/* Copy into fixed char array (NUL-terminated); rejects NUL bytes and
 * strings that do not fit. */
int tv_tlv_str(const struct tv_tlv *it, char *out, size_t outsz);

/* ---- key slots (inside the media set label's encryption descriptor) ---- */
enum tv_slot_type { TV_SLOT_PASSWORD = 1, TV_SLOT_KMS = 2, TV_SLOT_ESCROW = 3 };
enum tv_kdf { TV_KDF_PBKDF2_SHA256 = 1, TV_KDF_ARGON2ID = 2 };
enum tv_wrap { TV_WRAP_AES256GCM = 1, TV_WRAP_KMIP_AESGCM = 2, TV_WRAP_RSA_OAEP_SHA256 = 3 };
enum tv_kms_kind { TV_KMS_AES = 1, TV_KMS_RSA = 2 };

#define TV_NAME_MAX 128
#define TV_HINT_MAX 256
#define TV_HOST_MAX 256
#define TV_KEYID_MAX 128
#define TV_WRAPPED_MAX 1024    /* RSA-4096 is 512 */
#define TV_SALT_MAX 64

struct tv_keyslot {
	enum tv_slot_type type;
	enum tv_wrap wrap;
	uint8_t wrapped[TV_WRAPPED_MAX];   /* ciphertext (+ tag for GCM) */
	size_t wrapped_len;
	uint8_t iv[16];                    /* GCM nonce (12 bytes used) */
	size_t iv_len;
	/* password */
	enum tv_kdf kdf;
	uint8_t salt[TV_SALT_MAX];
	size_t salt_len;
	uint64_t kdf_iter;                 /* PBKDF2 iterations / Argon2 t_cost */
	uint64_t kdf_mem_kib;              /* Argon2 m_cost */
	uint64_t kdf_par;                  /* Argon2 lanes */
	char name[TV_NAME_MAX];            /* password name / KMS key name */
	char hint[TV_HINT_MAX];
	/* kms */
	char kms_name[TV_NAME_MAX];
	char kms_host[TV_HOST_MAX];
	uint64_t kms_port;
	char key_id[TV_KEYID_MAX];         /* KMIP Unique Identifier */
	enum tv_kms_kind kms_kind;
	/* escrow */
	uint8_t escrow_fpr[32];            /* SHA-256 of the authority's SPKI DER */
};

enum tv_enc_alg { TV_ENC_NONE = 0, TV_ENC_AES256GCM_HKDF = 1 };
#define TV_MAX_SLOTS 8

struct tv_encdesc {
	enum tv_enc_alg alg;
	uint8_t dek_fpr[TV_FPR_LEN];
	size_t nslots;
	struct tv_keyslot slots[TV_MAX_SLOTS];
};

/* ---- labels ---- */
struct tv_volume_label {
	uint8_t tape_uuid[TV_UUID_LEN];
	char barcode[32];
	uint64_t created;                  /* unix seconds */
	char writer[64];                   /* "tapevault 0.2.0" */
	uint64_t record_size;
};
int tv_vol_label_encode(struct tv_buf *body, const struct tv_volume_label *l);
int tv_vol_label_decode(const uint8_t *body, size_t len, struct tv_volume_label *l);

/* ---- writer signatures (docs/FORMAT.md 9.4) ----
 * An installation signs what it writes with its Ed25519 identity: the
 * media set label (tag 7 of its body) and every catalog file (a WRITER
 * item before END).  The writer's public key and its fingerprint (SHA-256
 * of the key's SubjectPublicKeyInfo DER) travel with the signature. */
#define TV_WSIG_ED25519 1
#define TV_WSIG_PUB_LEN 32
#define TV_WSIG_FPR_LEN 32
#define TV_WSIG_SIG_LEN 64
struct tv_wsig {
	uint64_t alg;                      /* TV_WSIG_ED25519; another: newer */
	uint8_t pub[TV_WSIG_PUB_LEN];      /* raw Ed25519 public key */
	uint8_t fpr[TV_WSIG_FPR_LEN];      /* SHA-256 of its SPKI DER */
	uint8_t sig[TV_WSIG_SIG_LEN];
};
/* What signs: the writer fills pub and fpr and a sign callback (0 or an
 * error; sig receives TV_WSIG_SIG_LEN bytes). */
struct tv_signer {
	uint8_t pub[TV_WSIG_PUB_LEN];
	uint8_t fpr[TV_WSIG_FPR_LEN];
	int (*sign)(void *ctx, const uint8_t *msg, size_t len,
	            uint8_t sig[TV_WSIG_SIG_LEN]);
	void *ctx;
};
/* Context strings of the signed messages (ASCII, no NUL). */
#define TV_WSIG_CTX_LABEL "tapevault v2 label signature"
#define TV_WSIG_CTX_CATALOG "tapevault v2 catalog signature"
/* The signature fields as a nested TLV item of tag `tag`, and back. */
int tv_wsig_encode(struct tv_buf *b, uint16_t tag, const struct tv_wsig *s);
int tv_wsig_decode(const uint8_t *p, size_t len, struct tv_wsig *s, const char *what);

struct tv_media_set_label {
	char pool_name[TV_NAME_MAX];
	uint8_t pool_uuid[TV_UUID_LEN];
	uint8_t media_set_uuid[TV_UUID_LEN];
	uint64_t seq;                      /* 1-based position in the media set */
	uint64_t created;
	struct tv_encdesc enc;
	/* decoded only: the writer signature (tag 7), and where its item
	 * (tag, length and value) is in the body */
	int has_wsig;
	struct tv_wsig wsig;
	size_t wsig_off, wsig_len;
};
/* Encodes the body; with has_wsig (a label as decoded) its writer
 * signature (tag 7) last.  A new label has none: the label writer
 * (tv_labels_write_signed) signs the body and appends it. */
int tv_ms_label_encode(struct tv_buf *body, const struct tv_media_set_label *l);
#define TV_MS_TAG_WSIG 7
int tv_ms_label_decode(const uint8_t *body, size_t len, struct tv_media_set_label *l);
/* Bytes of one slot that its wrapping binds as AAD (type, ids, names,
 * KDF parameters; not the wrapped key itself) together with the tape
 * UUID, so a slot copied onto another tape does not unwrap there. */
int tv_keyslot_aad(struct tv_buf *out, const uint8_t tape_uuid[TV_UUID_LEN],
                   const struct tv_keyslot *s);

/* ---- data file header (content header body of a data tape file) ---- */
struct tv_data_header {
	uint8_t set_uuid[TV_UUID_LEN];     /* the backup set the entries belong to */
	char set_name[TV_NAME_MAX];        /* its name (so a scan can name it) */
	uint64_t created;                  /* the set's creation time */
	uint64_t session;                  /* write session on this tape */
};
int tv_data_header_encode(struct tv_buf *body, const struct tv_data_header *h);
int tv_data_header_decode(const uint8_t *body, size_t len, struct tv_data_header *h);

/* ---- catalog file header ---- */
struct tv_catalog_header {
	uint8_t tape_uuid[TV_UUID_LEN];
	uint8_t media_set_uuid[TV_UUID_LEN];
	uint64_t session;
};
int tv_catalog_header_encode(struct tv_buf *body, const struct tv_catalog_header *h);
int tv_catalog_header_decode(const uint8_t *body, size_t len, struct tv_catalog_header *h);

/* ---- entries: the byte stream of a data file ----
 *  "TVE2" | u32 length L | L bytes of TLV | `length` data bytes
 * A tape file that ends with the CONT flag cuts its last entry short: the
 * rest follows as the next part (an entry with part + 1 and offset moved
 * on) at the start of the set's next data file.
 *
 * The data bytes of all the parts of a regular file, in order, are its
 * data stream D (docs/FORMAT.md 10.4): the xattr list when it is carried
 * in the data (TV_EF_XATTR_DATA), then the file's bytes: all of them, or
 * for a sparse file (TV_EF_SPARSE) those of its map's regions only.
 * `offset` and `length` count bytes of D; without either flag D is the
 * file itself. */
enum tv_ftype {
	TV_FT_REG = 1, TV_FT_DIR = 2, TV_FT_SYMLINK = 3,
	TV_FT_HARDLINK = 4,    /* another name of an earlier regular file of the set
	                        * (link = its path); no data */
	TV_FT_FIFO = 5,        /* named pipe; no data */
	TV_FT_CHR = 6,         /* character device (rdev_major:rdev_minor); no data */
	TV_FT_BLK = 7,         /* block device (rdev_major:rdev_minor); no data */
};
#define TV_FT_LAST TV_FT_BLK
#define TV_PATH_MAX 4096
#define TV_OWNER_MAX 256                   /* uname, gname: <= 255 bytes */
#define TV_SPARSE_REGION 16                /* a map region: start u64 | length u64 */
#define TV_SPARSE_MAX 512                  /* regions in a sparse map */
#define TV_XATTR_NAME_MAX 256              /* an xattr name: 1..255 bytes */
#define TV_XATTR_VALUE_MAX 65536           /* an xattr value: 0..65536 bytes */
#define TV_XATTR_LIST_MAX (1u << 20)       /* an item's whole xattr list */
struct tv_entry {
	char path[TV_PATH_MAX];            /* relative, '/'-separated */
	enum tv_ftype ftype;
	uint64_t mode, uid, gid;
	int64_t mtime_sec;
	uint64_t mtime_nsec;
	uint64_t size;                     /* whole file */
	uint64_t offset;                   /* this part's first byte in D */
	char link[TV_PATH_MAX];            /* symlink target; hard link: first name */
	uint64_t flags;                    /* TV_EF_* */
	uint64_t file_index;               /* index of the item in its backup set */
	uint64_t part;                     /* 1-based */
	uint64_t length;                   /* data bytes after the header (planned) */
	/* optional (tags 16-22) */
	uint64_t rdev_major, rdev_minor;   /* devices only (default 0:0) */
	char uname[TV_OWNER_MAX];          /* owner's name, "" when unknown */
	char gname[TV_OWNER_MAX];          /* group's name */
	/* TV_EF_SPARSE: the file's data regions, TV_SPARSE_REGION bytes each
	 * (tv_sparse_region); non-NULL exactly when the flag is set (an empty
	 * map too).  Decoded: points into the decoded bytes. */
	const uint8_t *sparse;
	size_t sparse_len;
	/* The xattr list (tv_xattr_next) carried in the header; NULL when
	 * none.  Decoded: points into the decoded bytes. */
	const uint8_t *xattrs;
	size_t xattrs_len;
	uint64_t xattr_data;               /* TV_EF_XATTR_DATA: list bytes at D's start */
};
/* entry flags */
#define TV_EF_INNER_ENCRYPTED 0x1          /* a job-encrypted backup file (TVB1) */
#define TV_EF_SPARSE 0x2                   /* D holds the map's regions only */
#define TV_EF_XATTR_DATA 0x4               /* D starts with the xattr list */
#define TV_ENTRY_MAGIC "TVE2"
#define TV_ENTRY_HDR 8                     /* magic + length */
#define TV_ENTRY_MAX (16u * 1024u)         /* limit of L */
int tv_entry_encode(struct tv_buf *out, const struct tv_entry *e);
/* Decodes one entry header from p (n bytes available).  TV_ERR_EOF when n
 * holds less than the whole header (*need = bytes needed, when known);
 * else *used = header bytes consumed.  e->sparse and e->xattrs point into
 * p: copy them before p goes. */
int tv_entry_decode(const uint8_t *p, size_t n, struct tv_entry *e, size_t *used,
                    size_t *need);
/* The optional fields of e (tags 16-22: rdev, map, xattr_data, and with
 * TV_EXT_NAMES the names, with TV_EXT_XATTRS the xattr list) as a TLV
 * list, appended to b; and such a list read back into e (those fields
 * only: they are cleared first; e->sparse and e->xattrs point into p).
 * How the catalog database keeps them in one column. */
#define TV_EXT_NAMES 0x1
#define TV_EXT_XATTRS 0x2
int tv_entry_ext_put(struct tv_buf *b, const struct tv_entry *e, unsigned what);
int tv_entry_ext_get(const uint8_t *p, size_t n, struct tv_entry *e);
/* Bytes of D, the data all the parts of the entry carry (0 but for
 * regular files).  For an entry that passed the checks. */
uint64_t tv_entry_data_size(const struct tv_entry *e);
const char *tv_ftype_name(enum tv_ftype t);

/* Sparse maps: region i of a map (the caller keeps i < len / 16). */
void tv_sparse_region(const uint8_t *map, size_t i, uint64_t *start, uint64_t *len);
int tv_sparse_put(struct tv_buf *map, uint64_t start, uint64_t len);

/* Extended attribute lists: a TLV list of xattr items (docs/FORMAT.md
 * 10.5).  tv_xattr_put appends one (name 1..255 bytes without NUL, value
 * up to TV_XATTR_VALUE_MAX); tv_xattr_next reads the next from list:
 * 1 with *x (value points into the list), 0 at its end, TV_ERR_FORMAT
 * (named) for a malformed one. */
struct tv_xattr {
	char name[TV_XATTR_NAME_MAX];
	const uint8_t *value;
	size_t len;
};
int tv_xattr_put(struct tv_buf *list, const char *name, const void *value, size_t len);
int tv_xattr_next(struct tv_buf *list, struct tv_xattr *x);
/* The whole list well-formed and at most TV_XATTR_LIST_MAX bytes. */
int tv_xattr_list_check(const uint8_t *p, size_t n);

/* ---- catalog file items ----
 *   u8 item type | u32 length L | L bytes of TLV
 * ending with a TV_CI_END item holding the count of items before it.
 * ENTRY and DATA items belong to the SET item before them. */
enum tv_cat_item {
	TV_CI_TAPE = 1,        /* a tape of the media set (this one and earlier) */
	TV_CI_SET = 2,         /* a backup set with data on the media set */
	TV_CI_ENTRY = 3,       /* an entry (part of an item) and where it is */
	TV_CI_KEYRING = 4,     /* DEK of another tape of the pool */
	TV_CI_END = 5,
	TV_CI_DATA = 6,        /* a data tape file of the set before it */
	TV_CI_PROBLEM = 7,     /* an item of the set before it not stored whole */
	TV_CI_WRITER = 8,      /* the writer's signature over the items before it */
	TV_CI_DELETED = 9,     /* an item of its parent's tree the set before it lacks */
};
struct tv_ci_tape {
	uint8_t tape_uuid[TV_UUID_LEN];
	char barcode[32];
	uint64_t seq;
	char pool_name[TV_NAME_MAX];
	uint8_t pool_uuid[TV_UUID_LEN];
	uint8_t media_set_uuid[TV_UUID_LEN];
	uint8_t dek_fpr[TV_FPR_LEN];       /* zero when unencrypted */
	uint64_t record_size;
};
struct tv_ci_set {
	uint8_t set_uuid[TV_UUID_LEN];
	char name[TV_NAME_MAX];
	uint64_t created;
	uint64_t first_seq, last_seq;      /* tapes of the media set it spans (so far) */
	uint64_t complete;                 /* 1: the set ended on the writing tape */
	uint64_t nfiles, nbytes;           /* so far (final once complete) */
	uint64_t state;                    /* TV_SET_*: what became of its job (tag 9) */
	uint64_t level;                    /* TV_LEVEL_* (tag 10; absent: full) */
	uint8_t parent_uuid[TV_UUID_LEN];  /* tag 11: the set it is based on (not full) */
};
/* A set's level (tag 10 of a SET item). */
#define TV_LEVEL_FULL 0
#define TV_LEVEL_INCREMENTAL 1             /* changes since its parent, any level */
#define TV_LEVEL_DIFFERENTIAL 2            /* changes since its parent, a full */
struct tv_ci_deleted {
	char path[TV_PATH_MAX];            /* the stored path of the item gone */
	uint64_t n;                        /* its place in the set's list (0, 1, ...) */
};
/* A set's state as its writer knew it (tag 9 of a SET item; absent, 0:
 * not said: `complete` tells). */
#define TV_SET_PARTIAL 1                   /* ended, some items not stored whole */
#define TV_SET_INTERRUPTED 2               /* stopped by a signal; what it wrote is whole */
#define TV_SET_FAILED 3
#define TV_PROBLEM_NO_INDEX UINT64_MAX     /* a problem item's file_index: none */
struct tv_ci_problem {
	char path[TV_PATH_MAX];            /* the item's stored path */
	char reason[256];                  /* why: "changed while it was read", ... */
	uint64_t file_index;               /* its index when it was stored, else NO_INDEX */
	uint64_t n;                        /* its place in the set's list (0, 1, ...) */
};
/* Where an entry is: tape (sequence in the media set), tape file, the
 * frame's offset in the tape file's data stream, the entry's offset in the
 * frame's raw bytes. */
struct tv_loc {
	uint64_t tseq;
	uint64_t file_no;
	uint64_t frame_off;
	uint64_t entry_off;
};
struct tv_ci_entry {
	struct tv_entry e;
	struct tv_loc loc;
	/* tags 36-38: the item's change time and inode when it was stored
	 * (what the next incremental compares with); has_state 0: not said */
	int has_state;
	int64_t ctime_sec;
	uint64_t ctime_nsec, ino;
};
struct tv_ci_data {
	uint64_t tseq, file_no;            /* where: tape sequence, tape file */
	uint8_t content_uuid[TV_UUID_LEN]; /* its content UUID (keys the frames) */
	uint64_t raw_bytes, stored_bytes;  /* its byte stream, its data stream */
	uint64_t complete;                 /* 0: cut off (a scan found it so) */
};
struct tv_ci_keyring {
	uint8_t tape_uuid[TV_UUID_LEN];
	uint8_t dek_fpr[TV_FPR_LEN];
	uint8_t dek[TV_DEK_LEN];           /* plaintext: the stream is sealed */
};
struct tv_cat_item_v {
	enum tv_cat_item type;
	union {
		struct tv_ci_tape tape;
		struct tv_ci_set set;
		struct tv_ci_entry entry;
		struct tv_ci_keyring ring;
		struct tv_ci_data data;
		struct tv_ci_problem problem;
		struct tv_ci_deleted deleted;
		struct tv_wsig wsig;
		uint64_t end_count;
	} u;
};
#define TV_CI_MAX (64u * 1024u)            /* limit of one item's TLV */
int tv_cat_item_encode(struct tv_buf *out, const struct tv_cat_item_v *it);
/* Decodes one item from p (n bytes available).  TV_ERR_EOF: need more
 * bytes; else *used = bytes consumed.  Items of an unknown type decode
 * with their type and no content (readers skip them, but count them). */
int tv_cat_item_decode(const uint8_t *p, size_t n, struct tv_cat_item_v *it,
                       size_t *used);

#endif
