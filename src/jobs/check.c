/* tapevault: 'catalog check' (see check.h).  Each check is one query whose
 * rows are problems, its only column the description; the queries keep to
 * SQL that SQLite and PostgreSQL share, but for GROUP_CONCAT and the
 * database's own checks (PRAGMA), which a PostgreSQL backend words its own
 * way. */
#include <string.h>

#include "jobs/check.h"
#include "util/err.h"

struct check {
	const char *name;
	const char *sql;
};

static const struct check checks[] = {
	{"tape in a media set of another pool",
	 "SELECT 'tape ' || t.barcode || ' belongs to pool ' || COALESCE(p.name, '?') ||"
	 " ' but its media set to pool ' || COALESCE(q.name, '?')"
	 " FROM tapes t JOIN media_sets m ON m.id = t.media_set_id"
	 " LEFT JOIN pools p ON p.id = t.pool_id LEFT JOIN pools q ON q.id = m.pool_id"
	 " WHERE t.pool_id IS NOT NULL AND t.pool_id <> m.pool_id"},
	{"two tapes with one place in a media set",
	 "SELECT 'tapes ' || GROUP_CONCAT(barcode, ', ') || ' all claim sequence ' ||"
	 " seq || ' of one media set'"
	 " FROM tapes WHERE media_set_id IS NOT NULL AND seq IS NOT NULL"
	 " GROUP BY media_set_id, seq HAVING COUNT(*) > 1"},
	{"backup set in a media set of another pool",
	 "SELECT 'backup set ' || s.name || ' belongs to pool ' || COALESCE(p.name, '?') ||"
	 " ' but its media set to pool ' || COALESCE(q.name, '?')"
	 " FROM backup_sets s JOIN media_sets m ON m.id = s.media_set_id"
	 " LEFT JOIN pools p ON p.id = s.pool_id LEFT JOIN pools q ON q.id = m.pool_id"
	 " WHERE s.pool_id IS NOT NULL AND s.pool_id <> m.pool_id"},
	{"backup set with an empty range of tapes",
	 "SELECT 'backup set ' || name || ': first tape ' || first_seq || ' after its last ' ||"
	 " last_seq FROM backup_sets WHERE first_seq > last_seq"},
	{"item placed outside its set's tapes",
	 "SELECT 'backup set ' || s.name || ': ' || f.path || ' is placed on tape ' || f.tseq ||"
	 " ' of the media set, outside the set''s tapes ' || s.first_seq || '-' || s.last_seq"
	 " FROM files f JOIN backup_sets s ON s.id = f.set_id"
	 " WHERE f.tseq < s.first_seq OR f.tseq > s.last_seq"},
	{"part of an unknown item",
	 "SELECT 'backup set ' || COALESCE(s.name, '?') || ': part ' || p.part || ' of item ' ||"
	 " p.idx || ', which the catalog does not hold'"
	 " FROM parts p LEFT JOIN files f ON f.set_id = p.set_id AND f.idx = p.idx"
	 " LEFT JOIN backup_sets s ON s.id = p.set_id WHERE f.idx IS NULL"},
	{"complete set missing parts of an item",
	 "SELECT 'backup set ' || s.name || ': ' || f.path || ' has ' || f.nparts ||"
	 " ' part(s), the catalog places ' || (1 + (SELECT COUNT(*) FROM parts p"
	 " WHERE p.set_id = f.set_id AND p.idx = f.idx))"
	 " FROM files f JOIN backup_sets s ON s.id = f.set_id WHERE s.complete = 1 AND"
	 " f.nparts <> 1 + (SELECT COUNT(*) FROM parts p WHERE p.set_id = f.set_id AND"
	 " p.idx = f.idx)"},
	{"complete set whose item count differs",
	 "SELECT 'backup set ' || s.name || ' says ' || s.nfiles || ' item(s), the catalog holds ' ||"
	 " (SELECT COUNT(*) FROM files f WHERE f.set_id = s.id)"
	 " FROM backup_sets s WHERE s.complete = 1 AND"
	 " s.nfiles <> (SELECT COUNT(*) FROM files f WHERE f.set_id = s.id)"},
	{"encrypted tape without a key fingerprint",
	 "SELECT 'tape ' || barcode || ' is encrypted but its key fingerprint is unknown'"
	 " FROM tapes WHERE encrypted = 1 AND dek_fpr IS NULL AND uuid IS NOT NULL"},
	{"stored tape key that is not the tape's",
	 "SELECT 'tape ' || t.barcode || ': the data key stored for it has another fingerprint"
	 " than its label names' FROM tape_keys k JOIN tapes t ON t.uuid = k.tape_uuid"
	 " WHERE t.dek_fpr IS NOT NULL AND k.dek_fpr <> t.dek_fpr"},
	{"data file outside its set's tapes",
	 "SELECT 'backup set ' || s.name || ': a data file on tape ' || d.tseq ||"
	 " ' of the media set, outside the set''s tapes ' || s.first_seq || '-' || s.last_seq"
	 " FROM data_files d JOIN backup_sets s ON s.id = d.set_id"
	 " WHERE d.tseq < s.first_seq OR d.tseq > s.last_seq"},
	/* leases of the tape servers of a shared catalog (jobs/lease.h) */
	{"lease on something the catalog does not hold",
	 "SELECT 'lease ' || r.resource || ' of server ' || r.server || ' names no ' ||"
	 " CASE WHEN substr(r.resource, 1, 5) = 'tape:' THEN 'tape' WHEN"
	 " substr(r.resource, 1, 3) = 'ms:' THEN 'media set' ELSE 'library' END ||"
	 " ' of the catalog' FROM reservations r WHERE"
	 " (substr(r.resource, 1, 5) = 'tape:' AND NOT EXISTS(SELECT 1 FROM tapes t WHERE"
	 "  'tape:' || t.barcode = r.resource)) OR"
	 " (substr(r.resource, 1, 3) = 'ms:' AND NOT EXISTS(SELECT 1 FROM media_sets m WHERE"
	 "  'ms:' || m.id = r.resource)) OR"
	 " (substr(r.resource, 1, 6) = 'drive:' AND NOT EXISTS(SELECT 1 FROM libraries l WHERE"
	 "  substr(r.resource, 1, length('drive:' || l.id || ':')) = 'drive:' || l.id || ':'))"},
	{"lease of a job that ended",
	 "SELECT 'lease ' || r.resource || ' of server ' || r.server || ': its backup set ' ||"
	 " b.name || ' ended (' || b.state || ') but the lease was kept'"
	 " FROM reservations r JOIN backup_sets b ON b.uuid = r.set_uuid"
	 " WHERE b.state IS NOT NULL"},
	{"lease of a server never seen",
	 "SELECT 'lease ' || r.resource || ' names server ' || r.server || ', which the catalog"
	 " does not know' FROM reservations r WHERE NOT EXISTS(SELECT 1 FROM servers v WHERE"
	 " v.name = r.server)"},
};

static int run_one(struct tv_home *h, const struct check *c, unsigned limit,
                   void (*problem)(void *, const char *, const char *), void *ctx,
                   int64_t *found)
{
	struct tv_stmt *q = NULL;
	unsigned shown = 0;
	int r;

	if ((r = tv_db_query(h->db, &q, c->sql, "")) != 0)
		return tv_errctx(r, "catalog check '%s'", c->name);
	while ((r = tv_stmt_step(q)) == 1) {
		(*found)++;
		if (shown++ < limit)
			problem(ctx, c->name, tv_stmt_text(q, 0));
	}
	tv_stmt_free(q);
	if (r < 0)
		return tv_errctx(r, "catalog check '%s'", c->name);
	if (shown > limit) {
		char more[64];
		snprintf(more, sizeof(more), "... and %u more like it", shown - limit);
		problem(ctx, c->name, more);
	}
	return 0;
}

/* The database itself: its pages and indexes, then its foreign keys. */
static int run_db(struct tv_home *h, void (*problem)(void *, const char *, const char *),
                  void *ctx, int64_t *found)
{
	struct tv_stmt *q = NULL;
	int r;

	/* PostgreSQL enforces its foreign keys on every statement and has no
	 * quick_check; its pages are the server administrator's (checksums,
	 * pg_amcheck).  The catalog's own rules below are checked the same. */
	if (strcmp(tv_db_backend(h->db), "postgresql") == 0)
		return 0;
	if ((r = tv_db_query(h->db, &q, "PRAGMA quick_check", "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		const char *t = tv_stmt_text(q, 0);
		if (strcmp(t, "ok") != 0) {
			(*found)++;
			problem(ctx, "database integrity", t);
		}
	}
	tv_stmt_free(q);
	if (r < 0)
		return r;
	if ((r = tv_db_query(h->db, &q, "PRAGMA foreign_key_check", "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		char d[256];
		snprintf(d, sizeof(d), "a row of %s refers to a missing row of %s",
		         tv_stmt_text(q, 0), tv_stmt_text(q, 2));
		(*found)++;
		problem(ctx, "foreign keys", d);
	}
	tv_stmt_free(q);
	return r < 0 ? r : 0;
}

int tv_catalog_check(struct tv_home *h, unsigned limit,
                     void (*problem)(void *ctx, const char *check, const char *detail),
                     void *ctx, struct tv_check_counts *n)
{
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	memset(n, 0, sizeof(*n));
	if (limit == 0)
		limit = 100;
	if ((r = tv_db_get_int(h->db, &n->tapes, "SELECT COUNT(*) FROM tapes", "")) != 0 ||
	    (r = tv_db_get_int(h->db, &n->media_sets, "SELECT COUNT(*) FROM media_sets", "")) != 0 ||
	    (r = tv_db_get_int(h->db, &n->sets, "SELECT COUNT(*) FROM backup_sets", "")) != 0 ||
	    (r = tv_db_get_int(h->db, &n->files, "SELECT COUNT(*) FROM files", "")) != 0)
		return r;
	if ((r = run_db(h, problem, ctx, &n->problems)) != 0)
		return r;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if ((r = run_one(h, &checks[i], limit, problem, ctx, &n->problems)) != 0)
			return r;
	return 0;
}
