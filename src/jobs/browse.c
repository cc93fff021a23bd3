/* tapevault: browsing the catalog (files, find, restore --dry-run).
 *
 * Each pattern with a literal prefix is read as one range of the
 * files_by_path index ([prefix, prefix with its last byte + 1)); the rows
 * of the range are then matched with fnmatch.  A pattern without one
 * (find's name patterns, globs starting with a wildcard) makes the whole
 * catalog, or the set, one scan matched against every pattern. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "format/format.h"
#include "jobs/browse.h"
#include "jobs/jobs.h"
#include "jobs/restore_int.h"
#include "library/vlib.h"
#include "util/err.h"

/* ---- patterns ---- */

struct sel {
	char *p;                    /* no leading or trailing '/' */
	int glob;
	int name_only;              /* find: no '/': matched against the last component */
	char *lo, *hi;              /* the range of paths it can match; lo NULL: any */
	const char *tail;           /* find: the literal end every match has ("" none) */
	size_t tail_len;
	int slashes;                /* restore's rule: the '/' a match has (-1: any) */
	uint64_t hits;
};

struct browse {
	struct tv_home *h;
	struct sel *sels;
	size_t nsels;
	int restore_rules;          /* files, restore --dry-run (else find) */
	int64_t set_id;             /* 0: every set */
	int chain;                  /* a set below a full: its tree is temp.rsel */
	int want_tapes;             /* find, plan */
	int reg_tapes_only;         /* plan: only regular files are read from tape */
	tv_item_fn *fn;
	void *ctx;
	struct tv_stmt *q_name, *q_tape, *q_parts;
	struct { int64_t set_id, id; int kind; char name[64]; } names[32];
	size_t nnames, name_next;
	struct { int64_t ms_id, seq; char barcode[32]; } tapes[64];
	size_t ntapes, tape_next;
	struct seqneed { int64_t ms, seq; uint64_t items; } *seqs;   /* plan: tapes needed */
	size_t nseqs;
};

/* The end of the range of strings that start with lo; NULL when there is
 * none (lo all 0xff bytes). */
static char *range_end(const char *lo)
{
	size_t l = strlen(lo);
	char *hi = strdup(lo);

	if (hi == NULL)
		return NULL;
	while (l > 0 && (unsigned char)hi[l - 1] == 0xff)
		l--;
	if (l == 0) {
		free(hi);
		return NULL;
	}
	hi[l - 1] = (char)((unsigned char)hi[l - 1] + 1);
	hi[l] = '\0';
	return hi;
}

static int sel_build(struct sel *s, const char *arg, int restore_rules)
{
	const char *p = arg;
	size_t l, pre;

	while (*p == '/')
		p++;
	l = strlen(p);
	while (l > 0 && p[l - 1] == '/')
		l--;
	if (l == 0)
		return tv_errf(TV_ERR_INVAL, "'%s': an empty pattern selects nothing", arg);
	if ((s->p = strndup(p, l)) == NULL)
		return TV_ERR_NOMEM;
	s->glob = strpbrk(s->p, "*?[") != NULL;
	s->name_only = !restore_rules && strchr(s->p, '/') == NULL;
	/* with FNM_PATHNAME only a literal '/' matches a '/': without brackets
	 * and escapes, a match has as many components as the pattern */
	s->slashes = -1;
	if (restore_rules && s->glob && strpbrk(s->p, "[\\") == NULL) {
		s->slashes = 0;
		for (const char *c = s->p; *c; c++)
			s->slashes += *c == '/';
	}
	if ((!restore_rules || s->slashes >= 0) && strpbrk(s->p, "[]\\") == NULL) {
		const char *w = s->p + strlen(s->p);
		while (w > s->p && w[-1] != '*' && w[-1] != '?')
			w--;
		s->tail = w;
		s->tail_len = strlen(w);
	}
	if (s->name_only)
		return 0;
	pre = strcspn(s->p, "*?[\\");
	if (pre == 0)
		return 0;
	if ((s->lo = strndup(s->p, pre)) == NULL)
		return TV_ERR_NOMEM;
	s->hi = range_end(s->lo);
	return 0;
}

static int sels_build(struct browse *b, char *const *args, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((b->sels = calloc(n, sizeof(*b->sels))) == NULL)
		return TV_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		b->nsels++;
		if ((r = sel_build(&b->sels[i], args[i], b->restore_rules)) != 0)
			return r;
	}
	return 0;
}

/* restore's rule: path or one of its parent directories matches */
static int sel_restore(const struct sel *s, const char *path)
{
	size_t l;
	char pre[TV_PATH_MAX];

	if (!s->glob) {
		l = strlen(s->p);
		return strncmp(path, s->p, l) == 0 && (path[l] == '\0' || path[l] == '/');
	}
	if (s->slashes >= 0) {
		/* one candidate: the path's first slashes + 1 components */
		const char *d = strchr(path, '/');
		int k = 0;
		while (d != NULL && k < s->slashes) {
			d = strchr(d + 1, '/');
			k++;
		}
		if (d == NULL && k != s->slashes)
			return 0;
		l = d != NULL ? (size_t)(d - path) : strlen(path);
		/* most candidates differ in their end: a memcmp, before fnmatch */
		if (s->tail_len > 0 && (l < s->tail_len ||
		                        memcmp(path + l - s->tail_len, s->tail, s->tail_len) != 0))
			return 0;
		if (d == NULL)
			return fnmatch(s->p, path, FNM_PATHNAME) == 0;
		if (l >= sizeof(pre))
			return 0;
		memcpy(pre, path, l);
		pre[l] = '\0';
		return fnmatch(s->p, pre, FNM_PATHNAME) == 0;
	}
	if (fnmatch(s->p, path, FNM_PATHNAME) == 0)
		return 1;
	for (const char *d = strchr(path, '/'); d != NULL; d = strchr(d + 1, '/')) {
		l = (size_t)(d - path);
		if (l >= sizeof(pre))
			break;
		memcpy(pre, path, l);
		pre[l] = '\0';
		if (fnmatch(s->p, pre, FNM_PATHNAME) == 0)
			return 1;
	}
	return 0;
}

static int sel_matches(const struct browse *b, const struct sel *s, const char *path)
{
	const char *base;

	size_t l;

	if (b->restore_rules)
		return sel_restore(s, path);
	if (s->name_only) {
		base = strrchr(path, '/');
		path = base ? base + 1 : path;
	}
	/* most paths differ in their end: a memcmp, before fnmatch */
	l = strlen(path);
	if (s->tail_len > 0 && (l < s->tail_len ||
	                        memcmp(path + l - s->tail_len, s->tail, s->tail_len) != 0))
		return 0;
	return fnmatch(s->p, path, s->name_only ? 0 : FNM_PATHNAME) == 0;
}

/* Whether the row read for pattern cur (all of them: SIZE_MAX) is
 * selected; counts the hits.  A row another pattern read before is not
 * listed twice. */
static int selected(struct browse *b, size_t cur, const char *path)
{
	int sel = 0;

	if (b->nsels == 0)
		return 1;
	if (cur != SIZE_MAX) {
		for (size_t j = 0; j < cur; j++)
			if (sel_matches(b, &b->sels[j], path))
				return 0;
		if (!sel_matches(b, &b->sels[cur], path))
			return 0;
		b->sels[cur].hits++;
		return 1;
	}
	for (size_t i = 0; i < b->nsels; i++)
		if (sel_matches(b, &b->sels[i], path)) {
			b->sels[i].hits++;
			sel = 1;
		}
	return sel;
}

/* ---- names and tapes, cached ---- */

static const char *owner_name(struct browse *b, int64_t set_id, int kind, int64_t id)
{
	size_t i;
	int r;

	for (i = 0; i < b->nnames; i++)
		if (b->names[i].set_id == set_id && b->names[i].kind == kind && b->names[i].id == id)
			return b->names[i].name;
	if (b->q_name == NULL && tv_db_prepare(b->h->db, &b->q_name, "SELECT name FROM "
	                                       "set_names WHERE set_id=? AND kind=? AND id=?") != 0)
		return "";
	if (b->nnames < sizeof(b->names) / sizeof(b->names[0]))
		i = b->nnames++;
	else
		i = b->name_next++ % b->nnames;
	b->names[i].set_id = set_id;
	b->names[i].kind = kind;
	b->names[i].id = id;
	b->names[i].name[0] = '\0';
	if (tv_stmt_bind(b->q_name, "iii", set_id, (int64_t)kind, id) == 0 &&
	    (r = tv_stmt_step(b->q_name)) == 1)
		snprintf(b->names[i].name, sizeof(b->names[i].name), "%s",
		         tv_stmt_text(b->q_name, 0));
	return b->names[i].name;
}

static const char *tape_barcode(struct browse *b, int64_t ms_id, int64_t seq)
{
	size_t i;

	for (i = 0; i < b->ntapes; i++)
		if (b->tapes[i].ms_id == ms_id && b->tapes[i].seq == seq)
			return b->tapes[i].barcode;
	if (b->q_tape == NULL && tv_db_prepare(b->h->db, &b->q_tape, "SELECT barcode FROM tapes "
	                                       "WHERE media_set_id=? AND seq=?") != 0)
		return "?";
	if (b->ntapes < sizeof(b->tapes) / sizeof(b->tapes[0]))
		i = b->ntapes++;
	else
		i = b->tape_next++ % b->ntapes;
	b->tapes[i].ms_id = ms_id;
	b->tapes[i].seq = seq;
	snprintf(b->tapes[i].barcode, sizeof(b->tapes[i].barcode), "?");
	if (tv_stmt_bind(b->q_tape, "ii", ms_id, seq) == 0 && tv_stmt_step(b->q_tape) == 1)
		snprintf(b->tapes[i].barcode, sizeof(b->tapes[i].barcode), "%s",
		         tv_stmt_text(b->q_tape, 0));
	return b->tapes[i].barcode;
}

/* plan: one more item with data on tape seq */
static int need_seq(struct browse *b, int64_t ms, int64_t seq)
{
	void *p;

	for (size_t i = 0; i < b->nseqs; i++)
		if (b->seqs[i].seq == seq && b->seqs[i].ms == ms) {
			b->seqs[i].items++;
			return 0;
		}
	if ((p = realloc(b->seqs, (b->nseqs + 1) * sizeof(*b->seqs))) == NULL)
		return TV_ERR_NOMEM;
	b->seqs = p;
	b->seqs[b->nseqs].ms = ms;
	b->seqs[b->nseqs].seq = seq;
	b->seqs[b->nseqs++].items = 1;
	return 0;
}

#define MAX_ITEM_TAPES 16

/* The sequences of the tapes holding an item: its first part's, then
 * those of its other parts, each once. */
static int item_seqs(struct browse *b, int64_t set_id, int64_t idx, int64_t tseq,
                     int64_t nparts, int64_t *seqs, size_t *n)
{
	int r;

	*n = 0;
	seqs[(*n)++] = tseq;
	if (nparts <= 1)
		return 0;
	if (b->q_parts == NULL && (r = tv_db_prepare(b->h->db, &b->q_parts, "SELECT DISTINCT "
	                           "tseq FROM parts WHERE set_id=? AND idx=? ORDER BY tseq")) != 0)
		return r;
	if ((r = tv_stmt_bind(b->q_parts, "ii", set_id, idx)) != 0)
		return r;
	while ((r = tv_stmt_step(b->q_parts)) == 1) {
		int64_t s = tv_stmt_int(b->q_parts, 0);
		if (s != seqs[*n - 1] && *n < MAX_ITEM_TAPES)
			seqs[(*n)++] = s;
	}
	return r;
}

/* ---- reading rows ---- */

#define ITEM_COLS                                                              \
	"SELECT f.set_id, f.idx, f.path, f.ftype, f.mode, f.uid, f.gid, f.mtime_sec," \
	" f.mtime_nsec, f.size, COALESCE(f.link,''), f.tseq, f.nparts, b.uuid, b.name,"   \
	" b.created, COALESCE(b.media_set_id,0)"
enum {
	IC_SET, IC_IDX, IC_PATH, IC_FTYPE, IC_MODE, IC_UID, IC_GID, IC_MTIME, IC_MTIME_NSEC,
	IC_SIZE, IC_LINK, IC_TSEQ, IC_NPARTS, IC_SET_UUID, IC_SET_NAME, IC_CREATED, IC_MS
};
#define ITEMS_FROM " FROM files f CROSS JOIN backup_sets b ON b.id=f.set_id"
/* a whole set, every row listed */
static const char q_set[] = ITEM_COLS ITEMS_FROM " WHERE f.set_id=?1 ORDER BY f.idx";
/* a row, by its key */
static const char q_item[] = ITEM_COLS ITEMS_FROM " WHERE f.set_id=?1 AND f.idx=?2";
/* keys to match: the index alone (path, set_id, idx), by path */
#define KEYS "SELECT path, set_id, idx FROM files INDEXED BY files_by_path" \
             " WHERE (?1=0 OR set_id=?1)"
enum { KC_PATH, KC_SET, KC_IDX };
/* the same of a set below a full: its tree (restore.c, tv_set_chain) */
static const char q_set_chain[] = ITEM_COLS " FROM temp.rsel s CROSS JOIN files f ON"
	" f.set_id=s.sid AND f.idx=s.sidx CROSS JOIN backup_sets b ON b.id=f.set_id"
	" WHERE ?1=?1 ORDER BY s.p";
#define KEYS_CHAIN "SELECT p, sid, sidx FROM temp.rsel WHERE ?1=?1"

/* The scans of keys: a pattern's range of the path index (lo ?2, end ?3),
 * the index from lo on, or all of it; of the catalog, or of a chain's
 * tree.  On PostgreSQL the server sends only the keys that can match: a
 * LIKE every match of the pattern satisfies (fnmatch still decides), one
 * for a range, up to LIKE_MAX for a whole scan, not the whole index to be
 * matched here.  SQLite reads its index in-process: there the plain
 * queries stay. */
enum { SCAN_RANGE, SCAN_FROM, SCAN_ALL };
#define LIKE_MAX 4
#define RANGE_OF(c) " AND " c ">=?2 AND " c "<?3"
#define FROM_OF(c) " AND " c ">=?2"
#define LIKE(c, n) " AND " c " LIKE ?" #n " ESCAPE '\\'"
#define LIKE_ANY(c) " AND (" c " LIKE ?2 ESCAPE '\\' OR " c " LIKE ?3 ESCAPE '\\' OR " c \
	" LIKE ?4 ESCAPE '\\' OR " c " LIKE ?5 ESCAPE '\\')"
#define SCANS(keys, c) {                                                         \
	{ keys RANGE_OF(c) " ORDER BY " c, keys FROM_OF(c) " ORDER BY " c,          \
	  keys " ORDER BY " c },                                                    \
	{ keys RANGE_OF(c) LIKE(c, 4) " ORDER BY " c,                               \
	  keys FROM_OF(c) LIKE(c, 3) " ORDER BY " c, keys LIKE_ANY(c) " ORDER BY " c } }
static const char *const q_scan[2][2][3] = {   /* [chain][like][SCAN_*] */
	SCANS(KEYS, "path"),
	SCANS(KEYS_CHAIN, "p"),
};

/* The LIKE pattern (escape '\') of a glob: '*' any string, '?' and a
 * bracket expression one character, the rest literal; a name pattern may
 * end any path, and under restore's rule a match may be a parent of the
 * path.  Every path the glob selects matches it. */
static char *like_of(const struct sel *s, int restore_rules)
{
	const char *p = s->p;
	size_t l = strlen(p), o = 0;
	char *out = malloc(2 * l + 3);

	if (out == NULL)
		return NULL;
	if (s->name_only)
		out[o++] = '%';
	for (size_t i = 0; i < l; i++) {
		char c = p[i];
		if (c == '*') {
			out[o++] = '%';
		} else if (c == '?') {
			out[o++] = '_';
		} else if (c == '[') {
			size_t j = i + 1;
			if (p[j] == '!' || p[j] == '^')
				j++;
			if (p[j] == ']')
				j++;
			while (p[j] != '\0' && p[j] != ']')
				j++;
			if (p[j] == ']') {
				out[o++] = '_';
				i = j;
			} else {
				out[o++] = '[';   /* no closing bracket: a literal one */
			}
		} else {
			if (c == '\\' && i + 1 < l)
				c = p[++i];   /* an escaped character: itself */
			if (c == '%' || c == '_' || c == '\\')
				out[o++] = '\\';
			out[o++] = c;
		}
	}
	if (restore_rules)
		out[o++] = '%';
	out[o] = '\0';
	return out;
}

static int row_out(struct browse *b, struct tv_stmt *q)
{
	struct tv_item it;
	const char *tapes[MAX_ITEM_TAPES];
	int64_t seqs[MAX_ITEM_TAPES];
	size_t n = 0, len;
	int r;

	memset(&it, 0, sizeof(it));
	it.path = tv_stmt_text(q, IC_PATH);
	it.ftype = (int)tv_stmt_int(q, IC_FTYPE);
	it.mode = (uint32_t)tv_stmt_int(q, IC_MODE);
	it.uid = tv_stmt_int(q, IC_UID);
	it.gid = tv_stmt_int(q, IC_GID);
	it.mtime_sec = tv_stmt_int(q, IC_MTIME);
	it.mtime_nsec = tv_stmt_int(q, IC_MTIME_NSEC);
	it.size = tv_stmt_int(q, IC_SIZE);
	it.link = tv_stmt_text(q, IC_LINK);
	it.set_uuid = tv_stmt_blob(q, IC_SET_UUID, &len);
	if (len != 16)
		it.set_uuid = NULL;
	it.set_name = tv_stmt_text(q, IC_SET_NAME);
	it.set_created = tv_stmt_int(q, IC_CREATED);
	it.owner = owner_name(b, tv_stmt_int(q, IC_SET), 0, it.uid);
	it.group = owner_name(b, tv_stmt_int(q, IC_SET), 1, it.gid);
	if (b->want_tapes && (!b->reg_tapes_only || it.ftype == TV_FT_REG)) {
		if ((r = item_seqs(b, tv_stmt_int(q, IC_SET), tv_stmt_int(q, IC_IDX),
		                   tv_stmt_int(q, IC_TSEQ), tv_stmt_int(q, IC_NPARTS), seqs, &n)) != 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			tapes[i] = tape_barcode(b, tv_stmt_int(q, IC_MS), seqs[i]);
			if (b->reg_tapes_only &&
			    (r = need_seq(b, tv_stmt_int(q, IC_MS), seqs[i])) != 0)
				return r;
		}
		it.tapes = tapes;
		it.ntapes = n;
	}
	return b->fn ? b->fn(b->ctx, &it) : 0;
}

/* A whole set, listed (no pattern): in stored order. */
static int scan_set(struct browse *b)
{
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(b->h->db, &q, b->chain ? q_set_chain : q_set, "i", b->set_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1)
		if ((r = row_out(b, q)) != 0)
			break;
	tv_stmt_free(q);
	return r;
}

/* The selected row of a key: read whole and listed. */
static int key_out(struct browse *b, struct tv_stmt **qi, int64_t set_id, int64_t idx)
{
	int r;

	if (*qi == NULL && (r = tv_db_prepare(b->h->db, qi, q_item)) != 0)
		return r;
	if ((r = tv_stmt_bind(*qi, "ii", set_id, idx)) != 0)
		return r;
	if ((r = tv_stmt_step(*qi)) != 1)
		return r < 0 ? r : 0;   /* gone since: not listed */
	return row_out(b, *qi);
}

/* Keys of the index matched against the patterns: the range of pattern
 * cur, or (SIZE_MAX) the whole index; each selected row is then read by
 * its key, so the rows that do not match cost an index entry only. */
static int scan(struct browse *b, size_t cur)
{
	const struct sel *s = cur != SIZE_MAX ? &b->sels[cur] : NULL;
	struct tv_stmt *q, *qi = NULL;
	char *lk[LIKE_MAX] = { NULL };
	size_t n = s != NULL ? 1 : b->nsels;
	const char *sql;
	int r = 0, like, kind;

	if (s == NULL && b->nsels == 0)
		return scan_set(b);
	like = strcmp(tv_db_backend(b->h->db), "postgresql") == 0 &&
	       (s != NULL || b->nsels <= LIKE_MAX);
	kind = s == NULL ? SCAN_ALL : s->hi ? SCAN_RANGE : SCAN_FROM;
	sql = q_scan[b->chain][like][kind];
	for (size_t i = 0; like && i < n && r == 0; i++)
		if ((lk[i] = like_of(s != NULL ? s : &b->sels[i], b->restore_rules)) == NULL)
			r = TV_ERR_NOMEM;
	for (size_t i = n; like && i < LIKE_MAX && r == 0; i++)
		lk[i] = lk[n - 1];   /* the same again: no more rows */
	if (r == 0 && kind == SCAN_RANGE)
		r = tv_db_query(b->h->db, &q, sql, like ? "ittt" : "itt", b->set_id, s->lo, s->hi,
		                lk[0]);
	else if (r == 0 && kind == SCAN_FROM)
		r = tv_db_query(b->h->db, &q, sql, like ? "itt" : "it", b->set_id, s->lo, lk[0]);
	else if (r == 0)
		r = tv_db_query(b->h->db, &q, sql, like ? "itttt" : "i", b->set_id, lk[0], lk[1],
		                lk[2], lk[3]);
	for (size_t i = 0; like && i < n; i++)
		free(lk[i]);
	if (r != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		if (!selected(b, cur, tv_stmt_text(q, KC_PATH)))
			continue;
		if ((r = key_out(b, &qi, tv_stmt_int(q, KC_SET), tv_stmt_int(q, KC_IDX))) != 0)
			break;
	}
	tv_stmt_free(qi);
	tv_stmt_free(q);
	return r;
}

/* TV_ERR_NOTFOUND when a pattern matched nothing. */
static int missed_err(const struct browse *b)
{
	size_t missed = 0;

	for (size_t i = 0; i < b->nsels; i++)
		missed += b->sels[i].hits == 0;
	if (missed > 0)
		return tv_errf(TV_ERR_NOTFOUND, "%zu of %zu pattern(s) matched nothing", missed,
		               b->nsels);
	return 0;
}

/* Every pattern's range, or one scan when a pattern has none; then the
 * patterns that matched nothing are named. */
static int run(struct browse *b)
{
	int whole = b->nsels == 0, r;

	for (size_t i = 0; i < b->nsels; i++)
		if (b->sels[i].lo == NULL)
			whole = 1;
	if (whole) {
		if ((r = scan(b, SIZE_MAX)) != 0)
			return r;
	} else {
		for (size_t i = 0; i < b->nsels; i++)
			if ((r = scan(b, i)) != 0)
				return r;
	}
	for (size_t i = 0; i < b->nsels; i++)
		if (b->sels[i].hits == 0)
			tv_warn(b->h, "%s: matches nothing%s", b->sels[i].p,
			        b->set_id ? " in the backup set" : " in the catalog");
	return missed_err(b);
}

static void browse_free(struct browse *b)
{
	for (size_t i = 0; i < b->nsels; i++) {
		free(b->sels[i].p);
		free(b->sels[i].lo);
		free(b->sels[i].hi);
	}
	free(b->sels);
	free(b->seqs);
	tv_stmt_free(b->q_name);
	tv_stmt_free(b->q_tape);
	tv_stmt_free(b->q_parts);
}

/* The set SET names, and its media set. */
static int set_resolve(struct tv_home *h, const char *set, int64_t *set_id, int64_t *ms_id,
                       struct tv_set_ref *ref)
{
	struct tv_set_ref tmp;
	struct tv_stmt *q;
	size_t len;
	int r;

	if (ref == NULL)
		ref = &tmp;
	memset(ref, 0, sizeof(*ref));
	if ((r = tv_set_lookup(h, set, set_id, ref->uuid)) != 0)
		return r;
	if ((r = tv_db_query(h->db, &q, "SELECT name, created, COALESCE(media_set_id,0), uuid "
	                     "FROM backup_sets WHERE id=?", "i", *set_id)) != 0)
		return r;
	if ((r = tv_stmt_step(q)) == 1) {
		const void *u = tv_stmt_blob(q, 3, &len);
		snprintf(ref->name, sizeof(ref->name), "%s", tv_stmt_text(q, 0));
		ref->created = tv_stmt_int(q, 1);
		*ms_id = tv_stmt_int(q, 2);
		if (u != NULL && len == 16)
			memcpy(ref->uuid, u, 16);
		r = 0;
	} else if (r == 0) {
		r = tv_errf(TV_ERR_NOTFOUND, "backup set '%s' is gone from the catalog", set);
	}
	tv_stmt_free(q);
	return r;
}

/* files and restore --dry-run of a set below a full: its tree as it was
 * at that backup (the items of its chain that restore gives). */
static int chain_mode(struct browse *b)
{
	int64_t *chain = NULL, *ms = NULL;
	size_t n = 0;
	int r = tv_set_chain(b->h, b->set_id, &chain, &ms, &n);

	b->chain = r == 0 && n > 1;
	free(chain);
	free(ms);
	return r;
}

int tv_set_ref_get(struct tv_home *h, const char *set, struct tv_set_ref *ref)
{
	int64_t set_id, ms_id;

	return set_resolve(h, set, &set_id, &ms_id, ref);
}

int tv_browse_files(struct tv_home *h, const char *set, char *const *globs, size_t nglobs,
                    tv_item_fn *fn, void *ctx, struct tv_set_ref *ref)
{
	struct browse b;
	int64_t ms_id = 0;
	int r;

	memset(&b, 0, sizeof(b));
	b.h = h;
	b.restore_rules = 1;
	b.fn = fn;
	b.ctx = ctx;
	if ((r = set_resolve(h, set, &b.set_id, &ms_id, ref)) == 0 &&
	    (r = chain_mode(&b)) == 0 && (r = sels_build(&b, globs, nglobs)) == 0)
		r = run(&b);
	browse_free(&b);
	return r;
}

int tv_browse_find(struct tv_home *h, char *const *globs, size_t nglobs, const char *set,
                   tv_item_fn *fn, void *ctx)
{
	struct browse b;
	int64_t ms_id = 0;
	int r = 0;

	memset(&b, 0, sizeof(b));
	b.h = h;
	b.want_tapes = 1;
	b.fn = fn;
	b.ctx = ctx;
	if (nglobs == 0)
		return tv_errf(TV_ERR_INVAL, "find needs at least one pattern");
	if (set != NULL)
		r = set_resolve(h, set, &b.set_id, &ms_id, NULL);
	if (r == 0 && (r = sels_build(&b, globs, nglobs)) == 0)
		r = run(&b);
	browse_free(&b);
	return r;
}

/* ---- restore --dry-run ---- */

/* Where the cartridge is, in words. */
static void tape_where(struct tv_home *h, const char *library, const char *barcode,
                       char *where, size_t wsz)
{
	struct tv_vlib *lib = NULL;
	struct tv_vlib_elem e;
	int64_t lib_id;
	int r;
	static const char *const kind[] = {"?", "drive", "slot", "mail slot"};

	if (library[0] == '\0') {
		snprintf(where, wsz, "exported");
		return;
	}
	if ((r = tv_lib_open_by_name(h, library, &lib, &lib_id)) != 0) {
		snprintf(where, wsz, "library %s cannot be opened: %s", library, tv_errmsg(r));
		tv_errclear();
		return;
	}
	if (tv_vlib_find(lib, barcode, &e) == 0)
		snprintf(where, wsz, "library %s, %s %u", library,
		         kind[e.type >= 1 && e.type <= 3 ? e.type : 0], e.index);
	else
		snprintf(where, wsz, "not in library %s", library);
	tv_errclear();
	tv_vlib_close(lib);
}

static int cmp_seq(const void *a, const void *b)
{
	const struct seqneed *x = a, *y = b;   /* media set, then sequence */

	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int plan_tapes(struct browse *b, tv_plan_tape_fn *tape_fn, void *ctx)
{
	struct tv_stmt *q;
	struct tv_plan_tape t;
	char where[300], barcode[32], library[TV_NAME_MAX];
	int r = 0;

	if (b->nseqs > 1)
		qsort(b->seqs, b->nseqs, sizeof(*b->seqs), cmp_seq);
	for (size_t i = 0; i < b->nseqs && r == 0; i++) {
		memset(&t, 0, sizeof(t));
		t.seq = b->seqs[i].seq;
		t.items = b->seqs[i].items;
		barcode[0] = library[0] = '\0';
		snprintf(where, sizeof(where), "unknown tape (not in the catalog)");
		/* locked: on a shared catalog, for this server (catalog.h) */
		if ((r = tv_db_query(b->h->db, &q, tv_db_shared(b->h->db) ?
		                     "SELECT t.barcode, (t.encrypted<>0 AND NOT EXISTS(SELECT 1 FROM"
		                     " tape_keys k WHERE k.tape_uuid=t.uuid)), t.encrypted,"
		                     " COALESCE(l.name,'') FROM tapes t LEFT JOIN libraries l ON"
		                     " l.id=t.library_id WHERE t.media_set_id=? AND t.seq=?" :
		                     "SELECT t.barcode, t.locked, t.encrypted,"
		                     " COALESCE(l.name,'') FROM tapes t LEFT JOIN libraries l ON"
		                     " l.id=t.library_id WHERE t.media_set_id=? AND t.seq=?", "ii",
		                     b->seqs[i].ms, t.seq)) != 0)
			return r;
		if ((r = tv_stmt_step(q)) == 1) {
			snprintf(barcode, sizeof(barcode), "%s", tv_stmt_text(q, 0));
			t.locked = tv_stmt_int(q, 1) != 0;
			t.encrypted = tv_stmt_int(q, 2) != 0;
			snprintf(library, sizeof(library), "%s", tv_stmt_text(q, 3));
			r = 0;
		}
		tv_stmt_free(q);
		if (r < 0)
			return r;
		if (barcode[0])
			tape_where(b->h, library, barcode, where, sizeof(where));
		t.barcode = barcode;
		t.library = library;
		t.where = where;
		r = tape_fn(ctx, &t);
	}
	return r;
}

int tv_restore_plan(struct tv_home *h, const char *set, char *const *paths, size_t npaths,
                    tv_item_fn *fn, tv_plan_tape_fn *tape_fn, void *ctx,
                    struct tv_set_ref *ref)
{
	struct browse b;
	int64_t ms_id = 0;
	int r, r2;

	memset(&b, 0, sizeof(b));
	b.h = h;
	b.restore_rules = 1;
	b.want_tapes = 1;
	b.reg_tapes_only = 1;
	b.fn = fn;
	b.ctx = ctx;
	(void)ms_id;
	if ((r = set_resolve(h, set, &b.set_id, &ms_id, ref)) != 0 ||
	    (r = chain_mode(&b)) != 0 || (r = sels_build(&b, paths, npaths)) != 0)
		goto out;
	r = run(&b);
	if (r != 0 && r != TV_ERR_NOTFOUND)
		goto out;
	/* the tapes are said even when a pattern matched nothing */
	if ((r2 = plan_tapes(&b, tape_fn, ctx)) != 0)
		r = r2;
	else if (r != 0)
		r = missed_err(&b);   /* its detail again: finding tapes cleared it */
out:
	browse_free(&b);
	return r;
}

void tv_iso8601(int64_t unix_sec, char out[32])
{
	struct tm tm;
	time_t t = (time_t)unix_sec;

	out[0] = '\0';
	if (unix_sec == 0 || gmtime_r(&t, &tm) == NULL)
		return;
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *tv_item_type_name(int ftype)
{
	static const char *const names[] = {"?", "file", "directory", "symlink", "hardlink",
	                                    "fifo", "char", "block"};

	return ftype >= 1 && ftype <= TV_FT_LAST ? names[ftype] : names[0];
}
