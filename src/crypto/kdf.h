/* tapevault: key derivation.
 *
 *  - HKDF-SHA256 (RFC 5869) for subkeys of a DEK;
 *  - the DEK fingerprint, a keyed digest that identifies a DEK without
 *    revealing anything about it;
 *  - password KDFs for password key slots: PBKDF2-HMAC-SHA256 and
 *    Argon2id.  Their parameters are stored in the slot (struct
 *    tv_keyslot: kdf, salt, kdf_iter, kdf_mem_kib, kdf_par) and checked
 *    against a policy both when making a slot and when reading one from a
 *    tape or file: too weak is refused (TV_ERR_INVAL on make,
 *    TV_ERR_FORMAT on read), and so is too expensive, so that a hostile
 *    tape cannot make us hang or exhaust memory.
 *  - a KEK cache so that a job handling many tapes protected by one
 *    password derives each (password, salt, parameters) key only once. */
#ifndef TV_CRYPTO_KDF_H
#define TV_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"

#define TV_KEK_LEN 32

/* ---- HKDF ---- */
/* HKDF-SHA256 extract+expand.  salt/info may be NULL with length 0.
 * out_len <= 255 * 32.  Returns 0 or TV_ERR_CRYPTO/TV_ERR_INVAL. */
int tv_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                   const void *info, size_t info_len, void *out, size_t out_len);

/* fpr = first 16 bytes of HMAC-SHA256(key = DEK, "tapevault dek fingerprint v1").
 * Shown to users and stored in the clear on tapes and in backup files. */
int tv_dek_fingerprint(const uint8_t dek[TV_DEK_LEN], uint8_t fpr[TV_FPR_LEN]);
/* Lower-case hex of a fingerprint: 32 digits + NUL. */
#define TV_FPR_HEX_LEN (2 * TV_FPR_LEN + 1)
void tv_dek_fpr_hex(const uint8_t fpr[TV_FPR_LEN], char out[TV_FPR_HEX_LEN]);

/* ---- password KDF parameters and policy ---- */
/* The caps are what a tape or file may ask for: well above the defaults
 * we write (about 16 times their cost), far below "hours per catalog
 * run" (docs/SECURITY.md §3 and §10, FORMAT.md §9.3). */
#define TV_PBKDF2_ITER_DEFAULT 600000u
#define TV_PBKDF2_ITER_MIN 600000u
#define TV_KDF_ITER_MAX 10000000u           /* 10^7 (~3 s here): refuse beyond */
#define TV_PBKDF2_RAW_ITER_MAX 100000000u   /* tv_pbkdf2_sha256 (tests, interop) */
#define TV_ARGON2_T_DEFAULT 3u
#define TV_ARGON2_M_DEFAULT (64u * 1024u)   /* KiB = 64 MiB */
#define TV_ARGON2_P_DEFAULT 1u
#define TV_ARGON2_T_MIN 1u
#define TV_ARGON2_M_MIN (19u * 1024u)       /* KiB (OWASP minimum) */
#define TV_ARGON2_TM_MIN (2u * 19u * 1024u) /* t * m: t=1 needs m >= 38 MiB */
#define TV_ARGON2_T_MAX 32u
#define TV_ARGON2_M_MAX (1024u * 1024u)     /* KiB = 1 GiB */
#define TV_ARGON2_TM_MAX ((uint64_t)3 * 1024u * 1024u) /* t * m (KiB): 16x the default */
#define TV_ARGON2_P_MAX 16u
#define TV_KDF_SALT_DEFAULT 64u             /* bytes (TV_SALT_MAX) */
#define TV_KDF_SALT_MIN 16u

struct tv_kdf_params {
	enum tv_kdf kdf;
	uint8_t salt[TV_SALT_MAX];
	size_t salt_len;
	uint64_t iter;        /* PBKDF2 iterations / Argon2 t_cost */
	uint64_t mem_kib;     /* Argon2 m_cost (0 for PBKDF2) */
	uint64_t par;         /* Argon2 lanes (0 for PBKDF2) */
};

/* Default parameters of kdf (0 means PBKDF2) with a fresh 64-byte salt. */
int tv_kdf_params_new(struct tv_kdf_params *p, enum tv_kdf kdf);
/* 0 when p is within policy (minimums and maximums above), else
 * TV_ERR_FORMAT with a detail naming the bad parameter. */
int tv_kdf_params_check(const struct tv_kdf_params *p);
/* Copy between a slot and parameters (from_slot does not check). */
void tv_kdf_params_from_slot(struct tv_kdf_params *p, const struct tv_keyslot *s);
void tv_kdf_params_to_slot(struct tv_keyslot *s, const struct tv_kdf_params *p);
/* 1 if a and b are the same KDF with the same salt and costs. */
int tv_kdf_params_equal(const struct tv_kdf_params *a, const struct tv_kdf_params *b);

/* KEK = KDF(password) under p, after tv_kdf_params_check(p).
 * PBKDF2 at 600,000 iterations costs ~0.3 s; Argon2id at the defaults
 * ~0.2 s and 64 MiB.  Returns 0, TV_ERR_FORMAT (policy), TV_ERR_NOMEM,
 * TV_ERR_CRYPTO. */
int tv_kdf_derive(const struct tv_kdf_params *p, const void *pw, size_t pwlen,
                  uint8_t kek[TV_KEK_LEN]);

/* Raw primitives without the policy (known-answer tests, interop).
 * Do not use them to make or open key slots. */
int tv_pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t salt_len,
                     uint64_t iter, void *out, size_t out_len);
int tv_argon2id(const void *pw, size_t pwlen, const void *salt, size_t salt_len,
                uint32_t t_cost, uint32_t m_kib, uint32_t par, void *out, size_t out_len);

/* ---- work budget ----
 * What one derivation under p costs, in units of one derivation at the
 * defaults (PBKDF2 600,000 iterations, or Argon2id t=3 m=64 MiB), rounded
 * up, at least 1: at the caps about 17 (PBKDF2) or 16 (Argon2id). */
uint64_t tv_kdf_cost(const struct tv_kdf_params *p);
/* The work one tape (or backup file) may cost an unlock that tries the
 * installation's stored passwords: a tape whose slots ask for more is
 * reported and left locked ("tapevault decrypt" with the right password
 * still opens it). */
#define TV_KDF_BUDGET_TAPE 32u
struct tv_kdf_budget {
	uint64_t limit;       /* units; 0: TV_KDF_BUDGET_TAPE */
	uint64_t spent;
	uint64_t derivations;
};

/* ---- a derived password key, with the parameters that made it ----
 * A job that writes several tapes under one password derives one tv_kek
 * (fresh salt) and makes the password slot of every tape of the job
 * from it (tv_slot_password_make with kek != NULL): one KDF run per job
 * instead of per tape.  Each slot still binds its tape UUID in the AAD. */
struct tv_kek {
	struct tv_kdf_params params;
	uint8_t key[TV_KEK_LEN];
};
/* p NULL: defaults of kdf (0 = PBKDF2) with a fresh salt. */
int tv_kek_derive(struct tv_kek *k, enum tv_kdf kdf, const struct tv_kdf_params *p,
                  const void *pw, size_t pwlen);
void tv_kek_wipe(struct tv_kek *k);

/* ---- KEK cache: (password, parameters) -> KEK ----
 * For jobs that open many slots (catalog, restore, decrypt of many
 * tapes).  Entries are identified by the parameters and by a SHA-256 of
 * the password (kept only in memory, like the KEKs); everything is wiped
 * on free.  Not thread-safe: one cache per job thread. */
struct tv_kek_cache;
/* max_entries 0: a default (16).  Oldest entries are evicted. */
int tv_kek_cache_new(struct tv_kek_cache **c, size_t max_entries);
void tv_kek_cache_free(struct tv_kek_cache *c);   /* NULL ok, wipes */
/* KEK for (password, p): from the cache, or derived and remembered.
 * Same errors as tv_kdf_derive. */
int tv_kek_cache_get(struct tv_kek_cache *c, const struct tv_kdf_params *p,
                     const void *pw, size_t pwlen, uint8_t kek[TV_KEK_LEN]);
/* Seed the cache with a KEK derived elsewhere (e.g. by the writer). */
int tv_kek_cache_put(struct tv_kek_cache *c, const struct tv_kek *k,
                     const void *pw, size_t pwlen);
/* 1 if the KEK for (password, p) is in the cache (no work to get it). */
int tv_kek_cache_has(struct tv_kek_cache *c, const struct tv_kdf_params *p,
                     const void *pw, size_t pwlen);
/* Number of derivations done by this cache (tests, statistics). */
uint64_t tv_kek_cache_derivations(const struct tv_kek_cache *c);

#endif
