/* tapevault: the installation state directory (jobs/home.c), passwords
 * (jobs/keys.c) and media pools (jobs/pool.c): init and open, a home
 * without a catalog, a catalog kept elsewhere, a catalog from a newer
 * tapevault, where the home is looked for; pools with their encryption and
 * compression settings and every refusal, with the message it gives. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/kdf.h"
#include "crypto/slot.h"
#include "format/record.h"
#include "jobs/admin.h"
#include "jobs/home.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "util/err.h"

#include "testlib.h"

#define ASSERT_OK(expr) do { \
	int r_ = (expr); \
	if (r_ != 0) \
		fail_msg("%s: %d: %s", #expr, r_, tv_errmsg(r_)); \
} while (0)

/* expr gives code and the detail holds text */
#define ASSERT_ERR(expr, code, text) do { \
	int r_ = (expr); \
	if (r_ != (code)) \
		fail_msg("%s: expected %d, got %d: %s", #expr, (code), r_, tv_errmsg(r_)); \
	if (strstr(tv_errdetail(), (text)) == NULL) \
		fail_msg("%s: detail lacks \"%s\": %s", #expr, (text), tv_errdetail()); \
} while (0)

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* A fresh home (in a directory that does not exist yet), opened quietly. */
static struct tv_home *new_home(char **dir_out)
{
	char *dir = tl_path(tl_tmpdir("home"), "state/tapevault");
	struct tv_home *h = NULL;

	ASSERT_OK(tv_home_init(dir, NULL));
	ASSERT_OK(tv_home_open(dir, &h));
	h->quiet = 1;
	if (dir_out != NULL)
		*dir_out = dir;
	else
		free(dir);
	return h;
}

/* ---- home ---- */

static void test_home_init_open(void **state)
{
	char *dir = tl_path(tl_tmpdir("home"), "a/b/home"), *p;
	struct tv_home *h = NULL;
	int64_t created;
	char line[512];
	FILE *f;
	(void)state;

	ASSERT_OK(tv_home_init(dir, NULL));
	/* the state directory and its key store are private */
	assert_int_equal(mode_of(dir), 0700);
	p = tl_path(dir, "keys");
	assert_int_equal(mode_of(p), 0700);
	free(p);
	p = tl_path(dir, "catalog.db");
	assert_true(tl_exists(p));
	assert_int_equal(mode_of(p), 0600);    /* issue 10 finding 8, whatever the umask */
	free(p);
	p = tl_path(dir, "log");
	assert_true(tl_exists(p));
	free(p);
	/* once only */
	ASSERT_ERR(tv_home_init(dir, NULL), TV_ERR_EXISTS, "already initialized");

	ASSERT_OK(tv_home_open(dir, &h));
	assert_non_null(h->db);
	assert_non_null(h->ks);
	assert_string_equal(h->dir, dir);
	assert_int_equal(tv_db_schema_version(h->db), TV_DB_SCHEMA_VERSION);
	ASSERT_OK(tv_db_get_int(h->db, &created, "SELECT CAST(value AS INTEGER) FROM settings "
	                        "WHERE key='created'", ""));
	assert_true(created > 1600000000 && (uint64_t)created <= tv_now());
	/* the job log: a line per tv_log, never on stderr unless verbose */
	snprintf(h->job, sizeof(h->job), "unit");
	tv_log(h, "hello %d", 42);
	tv_home_close(h);
	tv_home_close(NULL);
	p = tl_path(dir, "log/jobs.log");
	f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, " unit["));
	assert_non_null(strstr(line, "] hello 42\n"));
	free(p);
	free(dir);
}

static void test_home_without_catalog(void **state)
{
	const char *tmp = tl_tmpdir("nocat");
	char *dir = tl_path(tmp, "home"), *cat;
	struct tv_home *h = (struct tv_home *)1;
	(void)state;

	/* no directory at all */
	ASSERT_ERR(tv_home_open(dir, &h), TV_ERR_NOTFOUND, "no tapevault installation in");
	assert_null(h);
	assert_non_null(strstr(tv_errdetail(), "init"));
	assert_non_null(strstr(tv_errdetail(), dir));
	/* a directory, even with a key store, but no catalog */
	assert_int_equal(mkdir(dir, 0700), 0);
	ASSERT_OK(tv_keys_init_store(dir));
	h = (struct tv_home *)1;
	ASSERT_ERR(tv_home_open(dir, &h), TV_ERR_NOTFOUND, "no tapevault installation in");
	assert_null(h);
	/* a catalog but no key store: refused, nothing half-open */
	tl_rmtree(dir);
	ASSERT_OK(tv_home_init(dir, NULL));
	cat = tl_path(dir, "keys");
	tl_rmtree(cat);
	free(cat);
	h = (struct tv_home *)1;
	assert_int_not_equal(tv_home_open(dir, &h), 0);
	assert_null(h);
	free(dir);
}

/* catalog_url sqlite:PATH keeps the catalog outside the home; the home
 * remembers where. */
static void test_home_catalog_elsewhere(void **state)
{
	const char *tmp = tl_tmpdir("url");
	char *dir = tl_path(tmp, "home"), *db = tl_path(tmp, "shared-catalog.db");
	char *url = tl_strf("sqlite:%s", db), *p;
	struct tv_home *h = NULL;
	(void)state;

	ASSERT_ERR(tv_home_init(dir, "mysql://db/tapevault"), TV_ERR_UNSUPPORTED,
	           "sqlite:PATH or a PostgreSQL URI");
	/* a PostgreSQL catalog that cannot be reached: said, and the home
	 * names no catalog (init again completes it) */
	ASSERT_ERR(tv_home_init(dir, "postgresql://127.0.0.1:1/tapevault?connect_timeout=5"),
	           TV_ERR_DB, "connect");
	p = tl_path(dir, "catalog.url");
	assert_false(tl_exists(p));
	free(p);
	ASSERT_OK(tv_home_init(dir, url));
	assert_true(tl_exists(db));
	assert_int_equal(mode_of(db), 0600);   /* wherever --catalog puts it */
	assert_int_equal(mode_of(dir), 0700);
	p = tl_path(dir, "catalog.db");
	assert_false(tl_exists(p));
	free(p);
	ASSERT_OK(tv_home_open(dir, &h));
	ASSERT_OK(tv_db_exec(h->db, "INSERT INTO settings(key, value) VALUES('where','there')",
	                     ""));
	tv_home_close(h);
	/* the catalog it opened is the one at the URL */
	{
		struct tv_db *d = NULL;
		char v[16];
		ASSERT_OK(tv_db_open(db, 0, &d));
		ASSERT_OK(tv_db_get_text(d, v, sizeof(v), "SELECT value FROM settings WHERE "
		                         "key='where'", ""));
		assert_string_equal(v, "there");
		tv_db_close(d);
	}
	/* the catalog gone: the home has none */
	assert_int_equal(unlink(db), 0);
	h = (struct tv_home *)1;
	ASSERT_ERR(tv_home_open(dir, &h), TV_ERR_NOTFOUND, "no tapevault installation");
	assert_null(h);
	free(url);
	free(db);
	free(dir);
}

static void test_home_newer_catalog(void **state)
{
	char *dir = NULL;
	struct tv_home *h = new_home(&dir);
	(void)state;

	ASSERT_OK(tv_db_exec(h->db, "PRAGMA user_version=99", ""));
	tv_home_close(h);
	h = (struct tv_home *)1;
	ASSERT_ERR(tv_home_open(dir, &h), TV_ERR_UNSUPPORTED, "upgrade tapevault");
	assert_null(h);
	free(dir);
}

static void test_home_resolve(void **state)
{
	static const char *const vars[] = { "TAPEVAULT_HOME", "XDG_DATA_HOME", "HOME" };
	char *saved[3], out[64], small[8];
	(void)state;

	for (int i = 0; i < 3; i++)
		saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;
	setenv("TAPEVAULT_HOME", "/env/home", 1);
	setenv("XDG_DATA_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	ASSERT_OK(tv_home_resolve("/opt/home", out, sizeof(out)));
	assert_string_equal(out, "/opt/home");
	ASSERT_OK(tv_home_resolve(NULL, out, sizeof(out)));
	assert_string_equal(out, "/env/home");
	ASSERT_OK(tv_home_resolve("", out, sizeof(out)));
	assert_string_equal(out, "/env/home");
	unsetenv("TAPEVAULT_HOME");
	ASSERT_OK(tv_home_resolve(NULL, out, sizeof(out)));
	if (geteuid() == 0) {
		/* root: the packaged system's state, whatever XDG_DATA_HOME and HOME say */
		assert_string_equal(out, TV_HOME_SYSTEM);
		ASSERT_ERR(tv_home_resolve(NULL, small, sizeof(small)), TV_ERR_RANGE, "too long");
	} else {
		assert_string_equal(out, "/xdg/tapevault");
		unsetenv("XDG_DATA_HOME");
		ASSERT_OK(tv_home_resolve(NULL, out, sizeof(out)));
		assert_string_equal(out, "/home/u/.local/share/tapevault");
		ASSERT_ERR(tv_home_resolve(NULL, small, sizeof(small)), TV_ERR_RANGE, "too long");
		unsetenv("HOME");
		ASSERT_ERR(tv_home_resolve(NULL, out, sizeof(out)), TV_ERR_INVAL, "--home");
	}
	for (int i = 0; i < 3; i++) {
		if (saved[i] != NULL)
			setenv(vars[i], saved[i], 1);
		free(saved[i]);
	}
}

static void test_hex(void **state)
{
	static const uint8_t b[] = { 0x00, 0x9f, 0xa0, 0xff };
	char out[9];
	(void)state;

	tv_hex(b, sizeof(b), out);
	assert_string_equal(out, "009fa0ff");
	tv_hex(b, 0, out);
	assert_string_equal(out, "");
}

/* ---- passwords ---- */

static void test_passwords(void **state)
{
	struct tv_home *h = new_home(NULL);
	char *pw = NULL, hint[64];
	size_t len = 0;
	(void)state;

	ASSERT_OK(tv_keys_password_add(h, "weekly", "the usual", "correct horse", 13,
	                               TV_KDF_PBKDF2_SHA256));
	ASSERT_OK(tv_keys_password_get(h, "weekly", &pw, &len));
	assert_int_equal(len, 13);
	assert_memory_equal(pw, "correct horse", 13);
	free(pw);
	ASSERT_OK(tv_db_get_text(h->db, hint, sizeof(hint), "SELECT hint FROM passwords WHERE "
	                         "name=?", "t", "weekly"));
	assert_string_equal(hint, "the usual");
	/* stored sealed: the catalog does not hold the password, nor a
	 * long-lived key-encryption key (issue 10 finding 9) */
	{
		struct tv_stmt *st;
		size_t n;
		const void *p;
		ASSERT_OK(tv_db_query(h->db, &st, "SELECT sealed, sealed_kek FROM passwords", ""));
		assert_int_equal(tv_stmt_step(st), 1);
		p = tv_stmt_blob(st, 0, &n);
		assert_non_null(p);
		assert_null(memmem(p, n, "correct horse", 13));
		assert_true(tv_stmt_isnull(st, 1));
		tv_stmt_free(st);
	}
	ASSERT_ERR(tv_keys_password_add(h, "weekly", "again", "other", 5, TV_KDF_PBKDF2_SHA256),
	           TV_ERR_EXISTS, "already exists");
	ASSERT_ERR(tv_keys_password_add(h, "p2", "it is hunter2, really", "hunter2", 7,
	                                TV_KDF_PBKDF2_SHA256), TV_ERR_INVAL,
	           "must not contain the password");
	ASSERT_ERR(tv_keys_password_add(h, "", "h", "x", 1, TV_KDF_PBKDF2_SHA256), TV_ERR_INVAL,
	           "password name");
	pw = NULL;
	assert_int_equal(tv_keys_password_get(h, "nosuch", &pw, &len), TV_ERR_NOTFOUND);
	assert_null(pw);
	tv_home_close(h);
}

/* issue 10 finding 9: the password KEK is per job.  The tapes one job
 * (one open home) writes share a salt; the next job derives its own. */
static void test_password_kek_per_job(void **state)
{
	char *dir = NULL;
	struct tv_home *h = new_home(&dir);
	static const uint8_t u1[16] = { 1 }, u2[16] = { 2 }, u3[16] = { 3 };
	uint8_t dek[TV_DEK_LEN];
	struct tv_encdesc e1, e2, e3;
	(void)state;

	ASSERT_OK(tv_keys_password_add(h, "weekly", "the usual", "correct horse", 13,
	                               TV_KDF_ARGON2ID));
	ASSERT_OK(tv_keys_new_tape(h, "password:weekly", u1, dek, &e1));
	ASSERT_OK(tv_keys_new_tape(h, "password:weekly", u2, dek, &e2));
	tv_home_close(h);
	ASSERT_OK(tv_home_open(dir, &h));
	h->quiet = 1;
	ASSERT_OK(tv_keys_new_tape(h, "password:weekly", u3, dek, &e3));
	assert_int_equal(e1.slots[0].kdf, TV_KDF_ARGON2ID);     /* the password's KDF */
	assert_int_equal(e3.slots[0].kdf, TV_KDF_ARGON2ID);
	assert_int_equal(e1.slots[0].salt_len, e2.slots[0].salt_len);
	assert_memory_equal(e1.slots[0].salt, e2.slots[0].salt, e1.slots[0].salt_len);
	assert_memory_not_equal(e1.slots[0].salt, e3.slots[0].salt, e1.slots[0].salt_len);
	assert_memory_not_equal(e1.slots[0].iv, e2.slots[0].iv, e1.slots[0].iv_len);
	tv_wipe(dek, sizeof(dek));
	tv_home_close(h);
	free(dir);
}

/* issue 10 finding 5: a tape whose 8 password slots none of the stored
 * passwords opens costs at most the tape's budget (32 cheap derivations
 * here, not 8 x 6) and is left locked with a message; the password a slot
 * names is tried first. */
static void test_unlock_budget(void **state)
{
	struct tv_home *h = new_home(NULL);
	struct tv_kdf_params p;
	struct tv_kek right, other;
	struct tv_encdesc enc;
	uint8_t uuid[16] = { 9 }, dek[TV_DEK_LEN], out[TV_DEK_LEN];
	char how[600], name[16];
	(void)state;

	h->quiet = 1;
	assert_int_equal(tv_kdf_params_new(&p, TV_KDF_ARGON2ID), 0);
	p.iter = 2;
	p.mem_kib = TV_ARGON2_M_MIN;                /* one unit each, ~30 ms */
	memset(&right, 0, sizeof(right));
	ASSERT_OK(tv_kek_derive(&other, TV_KDF_ARGON2ID, &p, "good one", 8));
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ASSERT_OK(tv_keys_password_add(h, name, "", i == 5 ? "good one" : name, i == 5 ? 8 : 2,
		                               TV_KDF_PBKDF2_SHA256));
	}
	ASSERT_OK(tv_dek_new(dek));
	memset(&enc, 0, sizeof(enc));
	enc.alg = TV_ENC_AES256GCM_HKDF;
	ASSERT_OK(tv_dek_fingerprint(dek, enc.dek_fpr));
	for (int i = 0; i < 8; i++) {          /* a salt of its own each: no cache hits */
		ASSERT_OK(tv_kdf_params_new(&p, TV_KDF_ARGON2ID));
		p.iter = 2;
		p.mem_kib = TV_ARGON2_M_MIN;
		tv_kek_wipe(&right);
		ASSERT_OK(tv_kek_derive(&right, TV_KDF_ARGON2ID, &p, "not stored", 10));
		snprintf(name, sizeof(name), "s%d", i);
		ASSERT_OK(tv_slot_password_make(&enc.slots[i], uuid, dek, NULL, 0, name, "", 0, &right));
	}
	enc.nslots = 8;
	assert_int_equal(tv_keys_unlock(h, uuid, &enc, out, how, sizeof(how)), TV_ERR_LOCKED);
	assert_non_null(strstr(how, "more key derivation work than one tape may cost"));
	assert_non_null(strstr(how, "32 of 32 units"));
	assert_non_null(strstr(how, "left locked"));
	/* the last slot names a stored password that opens it: found first */
	ASSERT_OK(tv_slot_password_make(&enc.slots[7], uuid, dek, NULL, 0, "p5", "", 0, &other));
	ASSERT_OK(tv_keys_unlock(h, uuid, &enc, out, how, sizeof(how)));
	assert_string_equal(how, "password 'p5'");
	assert_memory_equal(out, dek, TV_DEK_LEN);
	tv_kek_wipe(&right);
	tv_kek_wipe(&other);
	tv_wipe(dek, sizeof(dek));
	tv_wipe(out, sizeof(out));
	tv_home_close(h);
}

/* ---- pools ---- */

/* A library registered under name (pools only need the name). */
static void add_library(struct tv_home *h, const char *name)
{
	ASSERT_OK(tv_admin_library_add(h, name, "/nonexistent/library"));
}

static void test_pool_create(void **state)
{
	struct tv_home *h = new_home(NULL);
	static const uint8_t zero[16] = { 0 };
	struct tv_pool p, q;
	int64_t lib;
	(void)state;

	add_library(h, "vault");
	lib = tv_db_last_id(h->db);
	ASSERT_ERR(tv_admin_library_add(h, "vault", "/elsewhere"), TV_ERR_EXISTS,
	           "a library named 'vault' is already registered");
	ASSERT_OK(tv_pool_create(h, "daily", "vault", NULL, NULL));
	ASSERT_OK(tv_pool_get(h, "daily", &p));
	assert_string_equal(p.name, "daily");
	assert_int_equal(p.library_id, lib);
	assert_string_equal(p.encryption, "none");
	assert_string_equal(p.policy, "continue");
	assert_string_equal(p.compression, "zstd:1");
	assert_int_equal(p.imported, 0);
	assert_memory_not_equal(p.uuid, zero, 16);
	ASSERT_OK(tv_pool_create(h, "monthly", "vault", "none", "per-job"));
	ASSERT_OK(tv_pool_get(h, "monthly", &q));
	assert_string_equal(q.policy, "per-job");
	assert_memory_not_equal(p.uuid, q.uuid, 16);
	assert_int_not_equal(p.id, q.id);

	/* refusals, each saying what is wrong */
	ASSERT_ERR(tv_pool_create(h, "daily", "vault", NULL, NULL), TV_ERR_EXISTS,
	           "a media pool named 'daily' already exists");
	ASSERT_ERR(tv_pool_create(h, "x", "nosuchlib", NULL, NULL), TV_ERR_NOTFOUND,
	           "no library named 'nosuchlib'");
	ASSERT_ERR(tv_pool_create(h, "", "vault", NULL, NULL), TV_ERR_INVAL, "pool name");
	{
		char longname[TV_NAME_MAX + 1];
		memset(longname, 'n', TV_NAME_MAX);
		longname[TV_NAME_MAX] = '\0';
		ASSERT_ERR(tv_pool_create(h, longname, "vault", NULL, NULL), TV_ERR_INVAL,
		           "pool name");
	}
	ASSERT_ERR(tv_pool_create(h, "x", "vault", NULL, "sometimes"), TV_ERR_INVAL,
	           "'continue' or 'per-job'");
	ASSERT_ERR(tv_pool_get(h, "nosuch", &p), TV_ERR_NOTFOUND, "no media pool named 'nosuch'");
	/* nothing of the refused pools was stored */
	{
		int64_t n;
		ASSERT_OK(tv_db_get_int(h->db, &n, "SELECT COUNT(*) FROM pools", ""));
		assert_int_equal(n, 2);
	}
	tv_home_close(h);
}

static void test_pool_encryption(void **state)
{
	struct tv_home *h = new_home(NULL);
	struct tv_pool p;
	char out[64];
	(void)state;

	add_library(h, "vault");
	/* a password must exist before a pool can use it */
	ASSERT_ERR(tv_pool_create(h, "offsite", "vault", "password:weekly", NULL), TV_ERR_NOTFOUND,
	           "no password named 'weekly': add it first");
	ASSERT_OK(tv_keys_password_add(h, "weekly", "the usual", "pw-weekly", 9,
	                               TV_KDF_PBKDF2_SHA256));
	ASSERT_OK(tv_pool_create(h, "offsite", "vault", "password:weekly", NULL));
	ASSERT_OK(tv_pool_get(h, "offsite", &p));
	assert_string_equal(p.encryption, "password:weekly");

	ASSERT_ERR(tv_pool_create(h, "x", "vault", "password:", NULL), TV_ERR_INVAL,
	           "needs a password name");
	ASSERT_ERR(tv_pool_create(h, "x", "vault", "rot13", NULL), TV_ERR_INVAL,
	           "unknown encryption 'rot13'");
	assert_int_not_equal(tv_pool_create(h, "x", "vault", "kms:nosuchserver:1", NULL), 0);
	assert_non_null(strstr(tv_errdetail(), "nosuchserver"));
	ASSERT_OK(tv_encryption_resolve(h, "p", NULL, out, sizeof(out)));
	assert_string_equal(out, "none");
	ASSERT_OK(tv_encryption_resolve(h, "p", "password:weekly", out, sizeof(out)));
	assert_string_equal(out, "password:weekly");

	/* changed later: applies to tapes written from then on */
	ASSERT_OK(tv_pool_set_encryption(h, "offsite", "none"));
	ASSERT_OK(tv_pool_get(h, "offsite", &p));
	assert_string_equal(p.encryption, "none");
	ASSERT_ERR(tv_pool_set_encryption(h, "offsite", "password:monthly"), TV_ERR_NOTFOUND,
	           "no password named 'monthly'");
	ASSERT_OK(tv_pool_get(h, "offsite", &p));
	assert_string_equal(p.encryption, "none");             /* unchanged */
	ASSERT_ERR(tv_pool_set_encryption(h, "nosuch", "none"), TV_ERR_NOTFOUND, "nosuch");
	/* a pool imported from tapes written elsewhere keeps their setting */
	ASSERT_OK(tv_db_exec(h->db, "UPDATE pools SET imported=1 WHERE name='offsite'", ""));
	ASSERT_ERR(tv_pool_set_encryption(h, "offsite", "password:weekly"), TV_ERR_STATE,
	           "imported");
	tv_home_close(h);
}

static void test_pool_compression(void **state)
{
	static const struct { const char *spec, *stored; } ok[] = {
		{ "none", "none" }, { "off", "none" }, { "zstd", NULL }, { "on", NULL },
		{ "zstd:19", "zstd:19" }, { "zstd:-7", "zstd:-7" }, { "zstd:2", "zstd:2" },
	};
	static const char *const bad[] = { "zstd:0", "zstd:20", "zstd:-8", "zstd:", "zstd:3x",
	                                   "gzip", "" };
	struct tv_home *h = new_home(NULL);
	struct tv_pool p;
	char dflt[16];
	(void)state;

	snprintf(dflt, sizeof(dflt), "zstd:%d", TV_ZSTD_LEVEL_DEFAULT);
	add_library(h, "vault");
	ASSERT_OK(tv_pool_create(h, "daily", "vault", NULL, NULL));
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *want = ok[i].stored ? ok[i].stored : dflt;
		ASSERT_OK(tv_pool_set_compression(h, "daily", ok[i].spec));
		ASSERT_OK(tv_pool_get(h, "daily", &p));
		if (strcmp(p.compression, want) != 0)
			fail_msg("compression '%s' stored as '%s', wanted '%s'", ok[i].spec,
			         p.compression, want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = tv_pool_set_compression(h, "daily", bad[i]);
		if (r != TV_ERR_INVAL)
			fail_msg("compression '%s' gave %d, wanted TV_ERR_INVAL", bad[i], r);
		assert_non_null(strstr(tv_errdetail(), "use none, zstd or zstd:LEVEL"));
	}
	ASSERT_OK(tv_pool_get(h, "daily", &p));
	assert_string_equal(p.compression, "zstd:2");          /* the last good one */
	ASSERT_ERR(tv_pool_set_compression(h, "nosuch", "none"), TV_ERR_NOTFOUND, "nosuch");
	tv_home_close(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_init_open),
		cmocka_unit_test(test_home_without_catalog),
		cmocka_unit_test(test_home_catalog_elsewhere),
		cmocka_unit_test(test_home_newer_catalog),
		cmocka_unit_test(test_home_resolve),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_password_kek_per_job),
		cmocka_unit_test(test_unlock_budget),
		cmocka_unit_test(test_pool_create),
		cmocka_unit_test(test_pool_encryption),
		cmocka_unit_test(test_pool_compression),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
