/* tapevault web: logins, tokens, and the brake on failed logins.
 *
 * A token is 32 random bytes (hex in the login answer and in the
 * Authorization header); this process keeps only its SHA-256, the user,
 * the role and when it expires.  Failed logins are counted per user name:
 * TV_LOGIN_FAILS_MAX within TV_LOGIN_FAILS_WINDOW seconds and that name
 * is refused (429) until the window ends; each failure and refusal is in
 * the audit log. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "crypto/rand.h"
#include "jobs/audit.h"
#include "util/err.h"
#include "util/wipe.h"
#include "web/web_int.h"

static int64_t now_sec(void)
{
	return (int64_t)time(NULL);
}

/* Token lifetimes in milliseconds: a 1-second token lives a second. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct tv_login_fail *fail_find(struct tv_web *w, const char *user, int make)
{
	struct tv_login_fail *oldest = &w->fails[0];
	size_t n = sizeof(w->fails) / sizeof(w->fails[0]);

	for (size_t i = 0; i < n; i++) {
		if (w->fails[i].count > 0 && strcmp(w->fails[i].user, user) == 0)
			return &w->fails[i];
		if (w->fails[i].first < oldest->first)
			oldest = &w->fails[i];
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->user, sizeof(oldest->user), "%s", user);
	oldest->first = now_sec();
	return oldest;
}

/* 1 when the name has had too many failures lately. */
static int limited(struct tv_web *w, const char *user)
{
	struct tv_login_fail *f;
	int r = 0;

	pthread_mutex_lock(&w->auth_mu);
	if ((f = fail_find(w, user, 0)) != NULL) {
		if (now_sec() - f->first >= TV_LOGIN_FAILS_WINDOW)
			memset(f, 0, sizeof(*f));
		else
			r = f->count >= TV_LOGIN_FAILS_MAX;
	}
	pthread_mutex_unlock(&w->auth_mu);
	return r;
}

static void fail_note(struct tv_web *w, const char *user, int ok)
{
	struct tv_login_fail *f;

	pthread_mutex_lock(&w->auth_mu);
	f = fail_find(w, user, !ok);
	if (f != NULL && ok)
		memset(f, 0, sizeof(*f));
	else if (f != NULL)
		f->count++;
	pthread_mutex_unlock(&w->auth_mu);
}

static void audit_login(struct tv_web *w, const char *user, const char *client,
                        const char *how, const char *outcome)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "web user '%s' from %s: %s", user, client, outcome);
	pthread_mutex_lock(&w->db_mu);
	tv_audit(w->h, "web login", how, "", detail);
	pthread_mutex_unlock(&w->db_mu);
}

/* Verifies pw against the user's hash; an unknown user costs the same. */
static int check_password(struct tv_web *w, const char *user, const char *pw, size_t pwlen,
                          enum tv_role *role)
{
	char hash[256];
	int r;

	pthread_mutex_lock(&w->db_mu);
	r = tv_web_user_name_valid(user) ? tv_web_user_get(w->h, user, hash, sizeof(hash), role)
	                                 : TV_ERR_NOTFOUND;
	pthread_mutex_unlock(&w->db_mu);
	if (r != 0) {
		/* the same work as a real check, so timing does not tell names apart */
		uint8_t out[32];
		static const uint8_t salt[16] = "tapevault-nouser";
		(void)argon2id_hash_raw(2, 19456, 1, pw, pwlen, salt, sizeof(salt), out, sizeof(out));
		tv_wipe(out, sizeof(out));
		tv_errclear();
		return TV_ERR_BADKEY;
	}
	r = argon2id_verify(hash, pw, pwlen) == ARGON2_OK ? 0 : TV_ERR_BADKEY;
	tv_wipe(hash, sizeof(hash));
	return r;
}

static void session_store(struct tv_web *w, const uint8_t hash[32], const char *user,
                          enum tv_role role)
{
	struct tv_session *slot = &w->sessions[0];
	int64_t t = now_ms();

	pthread_mutex_lock(&w->auth_mu);
	for (size_t i = 0; i < TV_WEB_SESSIONS; i++) {
		struct tv_session *s = &w->sessions[i];
		if (s->expires <= t) {   /* free or expired */
			slot = s;
			break;
		}
		if (s->expires < slot->expires)
			slot = s;            /* else the one that expires first goes */
	}
	memcpy(slot->hash, hash, 32);
	snprintf(slot->user, sizeof(slot->user), "%s", user);
	slot->role = role;
	slot->expires = t + w->token_ttl * 1000;
	pthread_mutex_unlock(&w->auth_mu);
}

int tv_auth_login(struct tv_web *w, const char *user, const char *pw, size_t pwlen,
                  const char *client, char token[2 * TV_TOKEN_LEN + 1], enum tv_role *role)
{
	uint8_t raw[TV_TOKEN_LEN], hash[32];
	int r;

	token[0] = '\0';
	if (limited(w, user)) {
		audit_login(w, user, client, "password", "refused: too many failed logins");
		return tv_errf(TV_ERR_RETRY, "too many failed logins for this user: try again in "
		               "%d seconds", TV_LOGIN_FAILS_WINDOW);
	}
	if ((r = check_password(w, user, pw, pwlen, role)) != 0) {
		fail_note(w, user, 0);
		audit_login(w, user, client, "password (wrong)", "login failed");
		return tv_errf(TV_ERR_BADKEY, "wrong user name or password");
	}
	fail_note(w, user, 1);
	if ((r = tv_random(raw, sizeof(raw))) != 0)
		return r;
	tv_hex(raw, sizeof(raw), token);
	SHA256(raw, sizeof(raw), hash);
	tv_wipe(raw, sizeof(raw));
	session_store(w, hash, user, *role);
	tv_wipe(hash, sizeof(hash));
	audit_login(w, user, client, "password", "logged in");
	return 0;
}

/* The session of a header's token, under auth_mu; NULL when none. */
static struct tv_session *session_of(struct tv_web *w, const char *authz)
{
	uint8_t raw[TV_TOKEN_LEN], hash[32];
	struct tv_session *found = NULL;

	if (tv_auth_parse_bearer(authz, raw) != 0)
		return NULL;
	SHA256(raw, sizeof(raw), hash);
	tv_wipe(raw, sizeof(raw));
	for (size_t i = 0; i < TV_WEB_SESSIONS; i++)
		if (w->sessions[i].expires != 0 &&
		    CRYPTO_memcmp(w->sessions[i].hash, hash, sizeof(hash)) == 0)
			found = &w->sessions[i];
	tv_wipe(hash, sizeof(hash));
	return found;
}

int tv_auth_check(struct tv_web *w, const char *authz, struct tv_principal *p)
{
	struct tv_session *s;
	int r = 0;

	memset(p, 0, sizeof(*p));
	if (authz == NULL)
		return tv_errf(TV_ERR_PERM, "log in first: POST /api/v1/login, then send "
		               "'Authorization: Bearer TOKEN'");
	pthread_mutex_lock(&w->auth_mu);
	if ((s = session_of(w, authz)) == NULL) {
		r = tv_errf(TV_ERR_PERM, "unknown or malformed token: log in again");
	} else if (s->expires <= now_ms()) {
		memset(s, 0, sizeof(*s));
		r = tv_errf(TV_ERR_PERM, "the token has expired: log in again");
	} else {
		snprintf(p->user, sizeof(p->user), "%s", s->user);
		p->role = s->role;
	}
	pthread_mutex_unlock(&w->auth_mu);
	return r;
}

void tv_auth_logout(struct tv_web *w, const char *authz)
{
	struct tv_session *s;

	pthread_mutex_lock(&w->auth_mu);
	if ((s = session_of(w, authz)) != NULL)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&w->auth_mu);
}

void tv_auth_forget_user(struct tv_web *w, const char *name)
{
	pthread_mutex_lock(&w->auth_mu);
	for (size_t i = 0; i < TV_WEB_SESSIONS; i++)
		if (w->sessions[i].expires != 0 && strcmp(w->sessions[i].user, name) == 0)
			memset(&w->sessions[i], 0, sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->auth_mu);
}
