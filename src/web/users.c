/* tapevault web: console users in the catalog (web_users), their
 * passwords hashed with Argon2id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "crypto/rand.h"
#include "util/err.h"
#include "util/wipe.h"
#include "web/web.h"
#include "web/web_int.h"

/* OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): a login costs
 * tens of milliseconds, and failed ones are rate-limited besides. */
#define PW_T_COST 2
#define PW_M_KIB 19456
#define PW_LANES 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

const char *tv_role_name(enum tv_role r)
{
	switch (r) {
	case TV_ROLE_VIEWER: return "viewer";
	case TV_ROLE_OPERATOR: return "operator";
	case TV_ROLE_ADMIN: return "admin";
	default: return "none";
	}
}

enum tv_role tv_role_parse(const char *s)
{
	if (s == NULL)
		return TV_ROLE_NONE;
	if (strcmp(s, "viewer") == 0)
		return TV_ROLE_VIEWER;
	if (strcmp(s, "operator") == 0)
		return TV_ROLE_OPERATOR;
	if (strcmp(s, "admin") == 0)
		return TV_ROLE_ADMIN;
	return TV_ROLE_NONE;
}

int tv_web_user_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= TV_WEB_USER_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

int tv_web_user_add(struct tv_home *h, const char *name, const char *role, const char *pw,
                    size_t pwlen)
{
	uint8_t salt[PW_SALT_LEN];
	size_t enclen = argon2_encodedlen(PW_T_COST, PW_M_KIB, PW_LANES, PW_SALT_LEN, PW_HASH_LEN,
	                                  Argon2_id);
	char *enc = NULL;
	int r, ar;

	if (!tv_web_user_name_valid(name))
		return tv_errf(TV_ERR_INVAL, "user name '%s': 1 to %d of A-Z a-z 0-9 . _ @ -", name,
		               TV_WEB_USER_MAX);
	if (tv_role_parse(role) == TV_ROLE_NONE)
		return tv_errf(TV_ERR_INVAL, "role '%s': admin, operator or viewer", role);
	if (pwlen == 0)
		return tv_errf(TV_ERR_INVAL, "an empty password is refused");
	if ((r = tv_random(salt, sizeof(salt))) != 0)
		return r;
	if ((enc = calloc(1, enclen)) == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory hashing a password");
	ar = argon2id_hash_encoded(PW_T_COST, PW_M_KIB, PW_LANES, pw, pwlen, salt, sizeof(salt),
	                           PW_HASH_LEN, enc, enclen);
	if (ar != ARGON2_OK) {
		r = tv_errf(TV_ERR_CRYPTO, "Argon2id: %s", argon2_error_message(ar));
		goto out;
	}
	r = tv_db_exec(h->db, "INSERT INTO web_users(name, hash, role, created) VALUES(?,?,?,?)",
	               "ttti", name, enc, role, (int64_t)tv_now());
	if (r == TV_ERR_EXISTS)
		r = tv_errf(r, "user '%s' exists already", name);
	else if (r != 0)
		r = tv_errctx(r, "adding user '%s'", name);
out:
	tv_freezero(enc, enclen);
	tv_wipe(salt, sizeof(salt));
	return r;
}

int tv_web_user_get(struct tv_home *h, const char *name, char *hash, size_t hashsz,
                    enum tv_role *role)
{
	char rs[16];
	int r;

	if ((r = tv_db_get_text(h->db, hash, hashsz, "SELECT hash FROM web_users WHERE name=?", "t",
	                        name)) != 0)
		return r == TV_ERR_NOTFOUND ? tv_errf(r, "no user '%s'", name) : r;
	if ((r = tv_db_get_text(h->db, rs, sizeof(rs), "SELECT role FROM web_users WHERE name=?",
	                        "t", name)) != 0)
		return r;
	*role = tv_role_parse(rs);
	return 0;
}

/* The number of admins, for the last-admin rule. */
static int admins(struct tv_home *h, int64_t *n)
{
	return tv_db_get_int(h->db, n, "SELECT COUNT(*) FROM web_users WHERE role='admin'", "");
}

int tv_web_user_list(struct tv_home *h, tv_web_user_fn *fn, void *ctx)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q, "SELECT name, role, created FROM web_users ORDER BY name",
	                     "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1)
		if ((r = fn(ctx, tv_stmt_text(q, 0), tv_stmt_text(q, 1), tv_stmt_int(q, 2))) != 0)
			break;
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

int tv_web_user_delete(struct tv_home *h, const char *name)
{
	enum tv_role role;
	char hash[256];
	int64_t n = 0;
	int r;

	r = tv_web_user_get(h, name, hash, sizeof(hash), &role);
	tv_wipe(hash, sizeof(hash));
	if (r != 0)
		return r;
	if (role == TV_ROLE_ADMIN && (r = admins(h, &n)) == 0 && n <= 1)
		return tv_errf(TV_ERR_STATE, "'%s' is the last admin: make another admin first", name);
	if (r != 0)
		return r;
	return tv_db_exec(h->db, "DELETE FROM web_users WHERE name=?", "t", name);
}

int tv_web_user_set_role(struct tv_home *h, const char *name, const char *role)
{
	enum tv_role old, nr = tv_role_parse(role);
	char hash[256];
	int64_t n = 0;
	int r;

	if (nr == TV_ROLE_NONE)
		return tv_errf(TV_ERR_INVAL, "role '%s': admin, operator or viewer", role);
	r = tv_web_user_get(h, name, hash, sizeof(hash), &old);
	tv_wipe(hash, sizeof(hash));
	if (r != 0)
		return r;
	if (old == TV_ROLE_ADMIN && nr != TV_ROLE_ADMIN && (r = admins(h, &n)) == 0 && n <= 1)
		return tv_errf(TV_ERR_STATE, "'%s' is the last admin: make another admin first", name);
	if (r != 0)
		return r;
	return tv_db_exec(h->db, "UPDATE web_users SET role=? WHERE name=?", "tt", role, name);
}

int tv_web_user_set_password(struct tv_home *h, const char *name, const char *pw, size_t pwlen)
{
	enum tv_role role;
	char hash[256];
	int r;

	r = tv_web_user_get(h, name, hash, sizeof(hash), &role);
	tv_wipe(hash, sizeof(hash));
	if (r != 0)
		return r;
	/* the new hash is made as user add makes it, in one transaction */
	if ((r = tv_db_begin(h->db)) != 0)
		return r;
	if ((r = tv_db_exec(h->db, "DELETE FROM web_users WHERE name=?", "t", name)) == 0)
		r = tv_web_user_add(h, name, tv_role_name(role), pw, pwlen);
	if (r == 0)
		return tv_db_commit(h->db);
	tv_db_rollback(h->db);
	return r;
}
