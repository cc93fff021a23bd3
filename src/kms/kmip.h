/* tapevault: KMIP 1.2-1.4 messages on top of the TTLV codec.
 *
 * Requests: open a message with tv_kmip_req_begin(), then per batch item
 * tv_kmip_item_begin() + one payload writer + tv_kmip_item_end(), then
 * tv_kmip_req_end().  The encoding follows the field order of the KMIP
 * specification and matches byte for byte what the captured PyKMIP
 * exchanges in kmip-vectors/raw/ show a server accepts.  Requests carry
 * no Time Stamp (PyKMIP rejects client clock skew).  The KMS client gives
 * every batch item a Unique Batch Item ID and checks the response with
 * tv_kmip_resp_match() (the builders also take none, for the vectors).
 *
 * Responses: tv_kmip_resp_parse() decodes the message and the Result
 * Status / Reason / Message of every batch item; the payload parsers
 * then read the operation-specific fields from items[i].payload.
 * Everything points into the caller's buffer (see ttlv.h).
 */
#ifndef TV_KMS_KMIP_H
#define TV_KMS_KMIP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kms/ttlv.h"

/* ---- tags ---- */
enum {
	TV_KT_ATTRIBUTE = 0x420008,
	TV_KT_ATTRIBUTE_INDEX = 0x420009,
	TV_KT_ATTRIBUTE_NAME = 0x42000A,
	TV_KT_ATTRIBUTE_VALUE = 0x42000B,
	TV_KT_BATCH_COUNT = 0x42000D,
	TV_KT_BATCH_ITEM = 0x42000F,
	TV_KT_BLOCK_CIPHER_MODE = 0x420011,
	TV_KT_COMMON_TEMPLATE_ATTRIBUTE = 0x42001F,
	TV_KT_CRYPTOGRAPHIC_ALGORITHM = 0x420028,
	TV_KT_CRYPTOGRAPHIC_LENGTH = 0x42002A,
	TV_KT_CRYPTOGRAPHIC_PARAMETERS = 0x42002B,
	TV_KT_CRYPTOGRAPHIC_USAGE_MASK = 0x42002C,
	TV_KT_ENCRYPTION_KEY_INFORMATION = 0x420036,
	TV_KT_HASHING_ALGORITHM = 0x420038,
	TV_KT_IV_COUNTER_NONCE = 0x42003D,
	TV_KT_KEY_BLOCK = 0x420040,
	TV_KT_KEY_COMPRESSION_TYPE = 0x420041,
	TV_KT_KEY_FORMAT_TYPE = 0x420042,
	TV_KT_KEY_MATERIAL = 0x420043,
	TV_KT_KEY_VALUE = 0x420045,
	TV_KT_KEY_WRAPPING_DATA = 0x420046,
	TV_KT_KEY_WRAPPING_SPECIFICATION = 0x420047,
	TV_KT_LINK = 0x42004A,
	TV_KT_LINK_TYPE = 0x42004B,
	TV_KT_LINKED_OBJECT_IDENTIFIER = 0x42004C,
	TV_KT_NAME = 0x420053,
	TV_KT_NAME_TYPE = 0x420054,
	TV_KT_NAME_VALUE = 0x420055,
	TV_KT_OBJECT_TYPE = 0x420057,
	TV_KT_OPERATION = 0x42005C,
	TV_KT_PADDING_METHOD = 0x42005F,
	TV_KT_PRIVATE_KEY = 0x420064,
	TV_KT_PRIVATE_KEY_TEMPLATE_ATTRIBUTE = 0x420065,
	TV_KT_PRIVATE_KEY_UNIQUE_IDENTIFIER = 0x420066,
	TV_KT_PROTOCOL_VERSION = 0x420069,
	TV_KT_PROTOCOL_VERSION_MAJOR = 0x42006A,
	TV_KT_PROTOCOL_VERSION_MINOR = 0x42006B,
	TV_KT_PUBLIC_KEY = 0x42006D,
	TV_KT_PUBLIC_KEY_TEMPLATE_ATTRIBUTE = 0x42006E,
	TV_KT_PUBLIC_KEY_UNIQUE_IDENTIFIER = 0x42006F,
	TV_KT_QUERY_FUNCTION = 0x420074,
	TV_KT_REQUEST_HEADER = 0x420077,
	TV_KT_REQUEST_MESSAGE = 0x420078,
	TV_KT_REQUEST_PAYLOAD = 0x420079,
	TV_KT_RESPONSE_HEADER = 0x42007A,
	TV_KT_RESPONSE_MESSAGE = 0x42007B,
	TV_KT_RESPONSE_PAYLOAD = 0x42007C,
	TV_KT_RESULT_MESSAGE = 0x42007D,
	TV_KT_RESULT_REASON = 0x42007E,
	TV_KT_RESULT_STATUS = 0x42007F,
	TV_KT_REVOCATION_REASON = 0x420081,
	TV_KT_REVOCATION_REASON_CODE = 0x420082,
	TV_KT_SERVER_INFORMATION = 0x420088,
	TV_KT_STATE = 0x42008D,
	TV_KT_SYMMETRIC_KEY = 0x42008F,
	TV_KT_TEMPLATE_ATTRIBUTE = 0x420091,
	TV_KT_TIME_STAMP = 0x420092,
	TV_KT_UNIQUE_BATCH_ITEM_ID = 0x420093,
	TV_KT_UNIQUE_IDENTIFIER = 0x420094,
	TV_KT_VENDOR_IDENTIFICATION = 0x42009D,
	TV_KT_WRAPPING_METHOD = 0x42009E,
	TV_KT_ENCODING_OPTION = 0x4200A3,
	TV_KT_DATA = 0x4200C2,
	TV_KT_TAG_LENGTH = 0x4200CE,
	TV_KT_AAD = 0x4200FE,                /* Authenticated Encryption Additional Data */
	TV_KT_AUTH_TAG = 0x4200FF,           /* Authenticated Encryption Tag */
	TV_KT_MASK_GENERATOR = 0x420101,     /* KMIP 1.4 */
	TV_KT_MASK_GENERATOR_HASH = 0x420102,/* Mask Generator Hashing Algorithm */
	TV_KT_P_SOURCE = 0x420103,           /* OAEP encoding parameter (label) */
	TV_KT_ATTRIBUTES = 0x420125          /* KMIP 2.0 */
};

/* ---- enumerations ---- */
enum tv_kmip_op {
	TV_KOP_CREATE = 0x01, TV_KOP_CREATE_KEY_PAIR = 0x02, TV_KOP_REGISTER = 0x03,
	TV_KOP_LOCATE = 0x08, TV_KOP_GET = 0x0A, TV_KOP_GET_ATTRIBUTES = 0x0B,
	TV_KOP_ACTIVATE = 0x12, TV_KOP_REVOKE = 0x13, TV_KOP_DESTROY = 0x14,
	TV_KOP_QUERY = 0x18, TV_KOP_DISCOVER_VERSIONS = 0x1E,
	TV_KOP_ENCRYPT = 0x1F, TV_KOP_DECRYPT = 0x20
};
enum { TV_KSTATUS_SUCCESS = 0, TV_KSTATUS_FAILED = 1, TV_KSTATUS_PENDING = 2,
       TV_KSTATUS_UNDONE = 3 };
enum tv_kmip_reason {
	TV_KR_ITEM_NOT_FOUND = 0x01, TV_KR_RESPONSE_TOO_LARGE = 0x02,
	TV_KR_AUTHENTICATION_NOT_SUCCESSFUL = 0x03, TV_KR_INVALID_MESSAGE = 0x04,
	TV_KR_OPERATION_NOT_SUPPORTED = 0x05, TV_KR_MISSING_DATA = 0x06,
	TV_KR_INVALID_FIELD = 0x07, TV_KR_FEATURE_NOT_SUPPORTED = 0x08,
	TV_KR_CANCELED = 0x09, TV_KR_CRYPTOGRAPHIC_FAILURE = 0x0A,
	TV_KR_ILLEGAL_OPERATION = 0x0B, TV_KR_PERMISSION_DENIED = 0x0C,
	TV_KR_OBJECT_ARCHIVED = 0x0D, TV_KR_KEY_FORMAT_NOT_SUPPORTED = 0x10,
	TV_KR_GENERAL_FAILURE = 0x100
};
enum { TV_KOBJ_CERTIFICATE = 1, TV_KOBJ_SYMMETRIC_KEY = 2, TV_KOBJ_PUBLIC_KEY = 3,
       TV_KOBJ_PRIVATE_KEY = 4, TV_KOBJ_SECRET_DATA = 7, TV_KOBJ_OPAQUE = 8 };
enum { TV_KALG_AES = 3, TV_KALG_RSA = 4 };
enum { TV_KFMT_RAW = 1, TV_KFMT_OPAQUE = 2, TV_KFMT_PKCS1 = 3, TV_KFMT_PKCS8 = 4,
       TV_KFMT_X509 = 5, TV_KFMT_TRANSPARENT_SYMMETRIC = 7 };
enum { TV_KSTATE_PRE_ACTIVE = 1, TV_KSTATE_ACTIVE = 2, TV_KSTATE_DEACTIVATED = 3,
       TV_KSTATE_COMPROMISED = 4, TV_KSTATE_DESTROYED = 5,
       TV_KSTATE_DESTROYED_COMPROMISED = 6 };
enum { TV_KMODE_CBC = 1, TV_KMODE_GCM = 9 };
enum { TV_KPAD_NONE = 1, TV_KPAD_OAEP = 2, TV_KPAD_PKCS5 = 3 };
enum { TV_KHASH_SHA1 = 4, TV_KHASH_SHA256 = 6 };
enum { TV_KMGF_MGF1 = 1 };                 /* Mask Generator */
enum { TV_KUSE_SIGN = 0x01, TV_KUSE_VERIFY = 0x02, TV_KUSE_ENCRYPT = 0x04,
       TV_KUSE_DECRYPT = 0x08, TV_KUSE_WRAP = 0x10, TV_KUSE_UNWRAP = 0x20 };
enum { TV_KREVOKE_UNSPECIFIED = 1, TV_KREVOKE_KEY_COMPROMISE = 2,
       TV_KREVOKE_SUPERSEDED = 5, TV_KREVOKE_CESSATION = 6 };
enum { TV_KQUERY_OPERATIONS = 1, TV_KQUERY_OBJECTS = 2, TV_KQUERY_SERVER_INFO = 3 };
enum { TV_KLINK_PUBLIC_KEY = 0x102, TV_KLINK_PRIVATE_KEY = 0x103 };
enum { TV_KNAME_TEXT = 1 };

#define TV_KMIP_UID_MAX 128       /* unique identifiers we accept (incl. NUL) */
#define TV_KMIP_MAX_BATCH 16
#define TV_KMIP_BATCH_ID_LEN 8     /* the Unique Batch Item IDs we send */

/* ---- requests ---- */
/* Starts Request Message + Request Header (no Time Stamp). */
int tv_kmip_req_begin(struct tv_ttlv_enc *e, struct tv_buf *b, int major, int minor,
                      int batch_count);
/* Opens Batch Item (+ Unique Batch Item ID when id_len > 0) and its
 * Request Payload. */
int tv_kmip_item_begin(struct tv_ttlv_enc *e, uint32_t op, const uint8_t *id,
                       size_t id_len);
int tv_kmip_item_end(struct tv_ttlv_enc *e);
int tv_kmip_req_end(struct tv_ttlv_enc *e);

/* Payload writers (between item_begin and item_end).  Empty payload
 * (DiscoverVersions): write nothing. */
int tv_kmip_pl_query(struct tv_ttlv_enc *e, const uint32_t *funcs, size_t n);
/* Create: Object Type Symmetric Key + Template-Attribute with algorithm,
 * length, usage mask and (if name != NULL) Name. */
int tv_kmip_pl_create_symmetric(struct tv_ttlv_enc *e, uint32_t alg, int32_t bits,
                                uint32_t usage, const char *name);
int tv_kmip_pl_create_key_pair(struct tv_ttlv_enc *e, uint32_t alg, int32_t bits,
                               uint32_t priv_usage, const char *priv_name,
                               uint32_t pub_usage, const char *pub_name);
/* Payload holding only a Unique Identifier: Activate, Get, Destroy.
 * In the writers below a NULL uid is left out (ID Placeholder). */
int tv_kmip_pl_uid(struct tv_ttlv_enc *e, const char *uid);
int tv_kmip_pl_get_attributes(struct tv_ttlv_enc *e, const char *uid,
                              const char *const *names, size_t n);
int tv_kmip_pl_locate_name(struct tv_ttlv_enc *e, const char *name);
int tv_kmip_pl_revoke(struct tv_ttlv_enc *e, const char *uid, uint32_t reason_code);

/* Cryptographic Parameters: zero fields are left out. */
struct tv_kmip_cparams {
	uint32_t mode;          /* Block Cipher Mode */
	uint32_t padding;       /* Padding Method */
	uint32_t hash;          /* Hashing Algorithm */
	uint32_t alg;           /* Cryptographic Algorithm */
	int32_t tag_len;        /* Tag Length (bytes) */
	uint32_t mgf;           /* Mask Generator (KMIP 1.4) */
	uint32_t mgf_hash;      /* Mask Generator Hashing Algorithm (KMIP 1.4) */
	const uint8_t *p_source;/* P Source: the OAEP label (KMIP 1.4); may be */
	size_t p_source_len;    /* empty, then left out */
};
/* Encrypt / Decrypt payloads.  iv, aad and tag are optional (NULL/0);
 * AAD and tag exist from KMIP 1.4 on. */
int tv_kmip_pl_encrypt(struct tv_ttlv_enc *e, const char *uid,
                       const struct tv_kmip_cparams *cp,
                       const uint8_t *data, size_t n, const uint8_t *iv, size_t ivn,
                       const uint8_t *aad, size_t aadn);
int tv_kmip_pl_decrypt(struct tv_ttlv_enc *e, const char *uid,
                       const struct tv_kmip_cparams *cp,
                       const uint8_t *data, size_t n, const uint8_t *iv, size_t ivn,
                       const uint8_t *aad, size_t aadn, const uint8_t *tag, size_t tagn);

/* ---- responses ---- */
struct tv_kmip_item {
	uint32_t op;                  /* Operation (0 when absent: header errors) */
	uint32_t status;              /* Result Status */
	uint32_t reason;              /* Result Reason (0 when absent) */
	char message[512];            /* Result Message, sanitized ("" if none) */
	const uint8_t *id;            /* Unique Batch Item ID, or NULL */
	size_t id_len;
	const struct tv_ttlv *payload;/* Response Payload, or NULL */
};

struct tv_kmip_resp {
	struct tv_ttlv_doc doc;
	int32_t major, minor;         /* protocol version the server answered */
	int64_t timestamp;
	size_t nitems;
	struct tv_kmip_item items[TV_KMIP_MAX_BATCH];
};

/* Decode a Response Message and all its batch items.  TV_ERR_PROTO when it
 * is not a well-formed response; a failed operation is still a success
 * here (look at items[i].status). */
int tv_kmip_resp_parse(const uint8_t *p, size_t n, struct tv_kmip_resp *r);
void tv_kmip_resp_free(struct tv_kmip_resp *r);

/* Does a parsed response answer our request of n batch items (operation
 * ops[i], Unique Batch Item ID ids[i])?  Every item must carry one of our
 * ids, each at most once, and the operation sent with it; an item that
 * reports success must carry both.  Items are reordered to request order.
 * Two failure shapes are let through, as failures of the whole request:
 * a single failed item without Operation and ID (a server that could not
 * parse the request: PyKMIP), and fewer items than sent when one of them
 * failed (Batch Error Continuation Option Stop).  TV_ERR_PROTO otherwise,
 * saying what was wrong. */
int tv_kmip_resp_match(struct tv_kmip_resp *r, const uint32_t *ops,
                       const uint8_t (*ids)[TV_KMIP_BATCH_ID_LEN], size_t n);
/* True for the first shape above (the request as a whole was refused). */
int tv_kmip_resp_whole_failure(const struct tv_kmip_resp *r);

/* ---- payload parsers (pl = items[i].payload; NULL-safe) ---- */
struct tv_kmip_version { int32_t major, minor; };
int tv_kmip_parse_versions(const struct tv_ttlv *pl, struct tv_kmip_version *v,
                           size_t max, size_t *n);
/* Operations supported and Vendor Identification (either may be NULL). */
int tv_kmip_parse_query(const struct tv_ttlv *pl, uint32_t *ops, size_t max,
                        size_t *nops, char *vendor, size_t vendorsz);
/* The (first) Unique Identifier: Create, Activate, Locate, Revoke, ... */
int tv_kmip_parse_uid(const struct tv_ttlv *pl, char uid[TV_KMIP_UID_MAX]);
/* All Unique Identifiers (Locate); *n is the total, even beyond max. */
int tv_kmip_parse_uids(const struct tv_ttlv *pl, char (*uids)[TV_KMIP_UID_MAX],
                       size_t max, size_t *n);
int tv_kmip_parse_key_pair(const struct tv_ttlv *pl, char priv[TV_KMIP_UID_MAX],
                           char pub[TV_KMIP_UID_MAX]);

struct tv_kmip_key {
	char uid[TV_KMIP_UID_MAX];
	uint32_t object_type;         /* TV_KOBJ_* */
	uint32_t format;              /* Key Format Type */
	uint32_t alg;                 /* Cryptographic Algorithm (0 if absent) */
	int32_t bits;                 /* Cryptographic Length (0 if absent) */
	int wrapped;                  /* Key Wrapping Data present */
	const uint8_t *material;      /* Key Material bytes (in the buffer!) */
	size_t material_len;
};
int tv_kmip_parse_get(const struct tv_ttlv *pl, struct tv_kmip_key *k);
/* The same, and the object returned must be the one asked for (Unique
 * Identifier equal to want_uid): TV_ERR_PROTO naming both otherwise. */
int tv_kmip_parse_get_checked(const struct tv_ttlv *pl, const char *want_uid,
                              struct tv_kmip_key *k);

enum {
	TV_KATTR_OBJECT_TYPE = 1 << 0, TV_KATTR_ALG = 1 << 1, TV_KATTR_BITS = 1 << 2,
	TV_KATTR_STATE = 1 << 3, TV_KATTR_USAGE = 1 << 4, TV_KATTR_NAME = 1 << 5,
	TV_KATTR_LINK_PUBLIC = 1 << 6, TV_KATTR_LINK_PRIVATE = 1 << 7
};
struct tv_kmip_attrs {
	unsigned have;                /* TV_KATTR_* of the fields that were returned */
	char uid[TV_KMIP_UID_MAX];
	uint32_t object_type, alg, state, usage;
	int32_t bits;
	char name[256];               /* first Name */
	char link_public[TV_KMIP_UID_MAX];
	char link_private[TV_KMIP_UID_MAX];
};
/* GetAttributes response, KMIP 1.x (Attribute structures) or 2.0
 * (Attributes structure). Unknown attributes are ignored. */
int tv_kmip_parse_attributes(const struct tv_ttlv *pl, struct tv_kmip_attrs *a);
/* Encrypt / Decrypt response: Data and (optional) Authenticated Encryption Tag. */
int tv_kmip_parse_crypt(const struct tv_ttlv *pl, const uint8_t **data, size_t *n,
                        const uint8_t **tag, size_t *tagn);

/* ---- names for messages ---- */
const char *tv_kmip_op_name(uint32_t op);            /* "Decrypt" */
const char *tv_kmip_reason_name(uint32_t reason);    /* "Item Not Found" */
const char *tv_kmip_status_name(uint32_t status);
const char *tv_kmip_state_name(uint32_t state);      /* "Deactivated" */
const char *tv_kmip_object_type_name(uint32_t t);
const char *tv_kmip_tag_name(uint32_t tag);          /* NULL when unknown */
/* Indented dump (debugging); byte strings are elided unless show_bytes
 * (responses to Get carry key material). */
void tv_kmip_dump(const struct tv_ttlv *n, FILE *f, int show_bytes);

#endif
