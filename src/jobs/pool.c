/* tapevault: media pools.  A free tape another tape server's job has
 * leased (jobs/lease.h) is not offered. */
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "format/record.h"
#include "jobs/jobs.h"
#include "jobs/kmsglue.h"
#include "util/err.h"

int tv_pool_get(struct tv_home *h, const char *name, struct tv_pool *p)
{
	struct tv_stmt *q;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = tv_db_query(h->db, &q,
	                     "SELECT id, uuid, name, COALESCE(library_id,0), encryption,"
	                     " media_set_policy, imported, compression FROM pools WHERE name=?", "t",
	                     name)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		size_t n;
		const void *u = tv_stmt_blob(q, 1, &n);
		p->id = tv_stmt_int(q, 0);
		if (u && n == 16)
			memcpy(p->uuid, u, 16);
		snprintf(p->name, sizeof(p->name), "%s", tv_stmt_text(q, 2));
		p->library_id = tv_stmt_int(q, 3);
		snprintf(p->encryption, sizeof(p->encryption), "%s", tv_stmt_text(q, 4));
		snprintf(p->policy, sizeof(p->policy), "%s", tv_stmt_text(q, 5));
		p->imported = (int)tv_stmt_int(q, 6);
		snprintf(p->compression, sizeof(p->compression), "%s", tv_stmt_text(q, 7));
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if (r == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no media pool named '%s' (see 'tapevault pool list')",
		               name);
	return 0;
}

int tv_encryption_resolve(struct tv_home *h, const char *pool, const char *spec,
                          char *out, size_t outsz)
{
	int64_t id;
	int r;

	if (spec == NULL || strcmp(spec, "none") == 0) {
		snprintf(out, outsz, "none");
		return 0;
	}
	if (strncmp(spec, "password:", 9) == 0) {
		const char *name = spec + 9;
		if (*name == '\0')
			return tv_errf(TV_ERR_INVAL, "--encryption password:NAME needs a password name");
		r = tv_db_get_int(h->db, &id, "SELECT id FROM passwords WHERE name=?", "t", name);
		if (r == TV_ERR_NOTFOUND)
			return tv_errf(TV_ERR_NOTFOUND, "no password named '%s': add it first with "
			               "'tapevault password add %s --hint TEXT'", name, name);
		if (r != 0)
			return r;
		snprintf(out, outsz, "password:%s", name);
		return 0;
	}
	if (strncmp(spec, "kms:", 4) == 0)
		return tv_kmsglue_resolve_spec(h, pool, spec + 4, out, outsz);
	return tv_errf(TV_ERR_INVAL, "unknown encryption '%s': use none, password:NAME or "
	               "kms:SERVER[:KEYID]", spec);
}

int tv_pool_create(struct tv_home *h, const char *name, const char *library,
                   const char *encryption, const char *policy)
{
	uint8_t uuid[16];
	int64_t lib_id;
	char enc[512];
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if (name == NULL || *name == '\0' || strlen(name) >= TV_NAME_MAX)
		return tv_errf(TV_ERR_INVAL, "pool name must be 1 to %d characters", TV_NAME_MAX - 1);
	if (policy == NULL)
		policy = "continue";
	if (strcmp(policy, "continue") != 0 && strcmp(policy, "per-job") != 0)
		return tv_errf(TV_ERR_INVAL, "--media-set must be 'continue' or 'per-job'");
	r = tv_db_get_int(h->db, &lib_id, "SELECT id FROM libraries WHERE name=?", "t", library);
	if (r == TV_ERR_NOTFOUND)
		return tv_errf(TV_ERR_NOTFOUND, "no library named '%s' (see 'tapevault library list')",
		               library);
	if (r != 0)
		return r;
	if ((r = tv_encryption_resolve(h, name, encryption, enc, sizeof(enc))) != 0)
		return r;
	tv_uuid_new(uuid);
	r = tv_db_exec(h->db,
	               "INSERT INTO pools(uuid, name, library_id, encryption, media_set_policy,"
	               " created) VALUES(?,?,?,?,?,?)",
	               "btitti", uuid, (size_t)16, name, lib_id, enc, policy, (int64_t)tv_now());
	if (r == TV_ERR_EXISTS)
		return tv_errf(TV_ERR_EXISTS, "a media pool named '%s' already exists", name);
	if (r != 0)
		return r;
	tv_log(h, "pool %s created (library %s, encryption %s, media set %s)", name, library,
	       enc, policy);
	return 0;
}

int tv_pool_set_encryption(struct tv_home *h, const char *name, const char *encryption)
{
	struct tv_pool p;
	char enc[512];
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if ((r = tv_pool_get(h, name, &p)) != 0)
		return r;
	if (p.imported)
		return tv_errf(TV_ERR_STATE, "pool '%s' was imported from tapes written elsewhere",
		               name);
	if ((r = tv_encryption_resolve(h, name, encryption, enc, sizeof(enc))) != 0)
		return r;
	if ((r = tv_db_exec(h->db, "UPDATE pools SET encryption=? WHERE id=?", "ti", enc,
	                    p.id)) != 0)
		return r;
	tv_log(h, "pool %s: encryption %s -> %s (applies to tapes written from now on)", name,
	       p.encryption, enc);
	return 0;
}

int tv_pool_set_compression(struct tv_home *h, const char *name, const char *spec)
{
	struct tv_compression c;
	struct tv_pool p;
	char norm[32];
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if ((r = tv_compression_parse(spec, &c)) != 0)
		return r;
	tv_compression_format(&c, norm, sizeof(norm));
	if ((r = tv_pool_get(h, name, &p)) != 0)
		return r;
	if ((r = tv_db_exec(h->db, "UPDATE pools SET compression=? WHERE id=?", "ti", norm,
	                    p.id)) != 0)
		return r;
	tv_log(h, "pool %s: compression %s -> %s", name, p.compression, norm);
	return 0;
}

/* The tape a write takes when it needs a new one (issue 11: a pool reuses
 * its expired tapes before it asks for a blank one): a free tape of the
 * library that belongs to this pool (expire left it there), else a blank
 * one (no pool: new, or erased), else a free tape another pool's expiry
 * left; by barcode within each kind.  1 with
 * *tape_id and barcode set, 0 when there is none, < 0 on error. */
int tv_pool_free_tape(struct tv_home *h, const struct tv_pool *p, int64_t lib_id,
                      int64_t *tape_id, char *barcode, size_t bsz)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q,
	                     "SELECT id, barcode, COALESCE(pool_id,0) FROM tapes"
	                     " WHERE state='free' AND library_id=?1 AND NOT EXISTS(SELECT 1"
	                     " FROM reservations r WHERE r.resource='tape:' || tapes.barcode"
	                     " AND r.expires>=?3)"
	                     " ORDER BY CASE WHEN pool_id=?2 THEN 0 WHEN pool_id IS NULL THEN 1"
	                     " ELSE 2 END, barcode LIMIT 1", "iii", lib_id, p->id,
	                     (int64_t)tv_now())) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		int64_t owner = tv_stmt_int(q, 2);
		*tape_id = tv_stmt_int(q, 0);
		snprintf(barcode, bsz, "%s", tv_stmt_text(q, 1));
		if (owner == p->id)
			tv_verbose(h, "%s: a free tape of pool %s (its media set expired): reused",
			           barcode, p->name);
		else if (owner != 0)
			tv_info(h, "%s: no free tape of pool %s nor a blank one: taking this free "
			        "tape of another pool", barcode, p->name);
	}
	tv_stmt_free(q);
	return r;
}
