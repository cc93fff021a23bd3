/* tapevault: read queries that list and show catalog objects.
 *
 * Each SELECT has an enum of its columns next to it, and columns are read
 * by those names only. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "catalog/query.h"
#include "util/err.h"

/* A 16-byte blob column (UUIDs): NULL when NULL or another length. */
static const uint8_t *col_uuid(struct tv_stmt *q, int col)
{
	size_t n;
	const void *p = tv_stmt_blob(q, col, &n);

	return p != NULL && n == 16 ? p : NULL;
}

/* ---- libraries ---- */

static const char libraries_sql[] = "SELECT name, path FROM libraries ORDER BY name";
enum { LIB_NAME, LIB_PATH };

int tv_query_libraries(struct tv_db *db, tv_library_fn *fn, void *ctx)
{
	struct tv_library_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, libraries_sql, "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.name = tv_stmt_text(q, LIB_NAME);
		row.path = tv_stmt_text(q, LIB_PATH);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

/* ---- tapes ---- */

/* Whether tape t is locked: the catalog's column, or, on a shared catalog
 * (catalog.h: secrets stay on each server), this server's truth: it is
 * encrypted and this server holds no key for it.  Each query comes in
 * both forms, [0] and [1], picked by tv_db_shared. */
#define LOCKED_COLUMN "(t.locked<>0)"
#define LOCKED_HERE                                                            \
	"(t.encrypted<>0 AND NOT EXISTS(SELECT 1 FROM tape_keys lk"                \
	" WHERE lk.tape_uuid=t.uuid))"

/* The columns of a tape row, shared by the list and the one-tape query. */
#define TAPE_COLUMNS(locked)                                                   \
	"t.barcode, t.state, COALESCE(p.name,''), COALESCE(l.name,''), m.uuid, "   \
	"COALESCE(t.seq,0), t.encrypted, " locked ", t.full, t.ms_label, "         \
	"COALESCE(t.used,0), COALESCE(t.written,0), COALESCE(t.capacity,0), "         \
	"(SELECT MAX(b.created) FROM backup_sets b WHERE b.media_set_id=t.media_set_id)" \
	" + p.retention"
#define TAPE_FROM                                                              \
	" FROM tapes t LEFT JOIN pools p ON p.id=t.pool_id"                        \
	" LEFT JOIN libraries l ON l.id=t.library_id"                              \
	" LEFT JOIN media_sets m ON m.id=t.media_set_id "
enum {
	TP_BARCODE, TP_STATE, TP_POOL, TP_LIBRARY, TP_MS_UUID, TP_SEQ, TP_ENCRYPTED,
	TP_LOCKED, TP_FULL, TP_MS_LABEL, TP_USED, TP_WRITTEN, TP_CAPACITY, TP_EXPIRES,
	TP_NCOLS
};

static void tape_row_read(struct tv_stmt *q, struct tv_tape_row *t)
{
	t->barcode = tv_stmt_text(q, TP_BARCODE);
	t->state = tv_stmt_text(q, TP_STATE);
	t->pool = tv_stmt_text(q, TP_POOL);
	t->library = tv_stmt_text(q, TP_LIBRARY);
	t->media_set_uuid = col_uuid(q, TP_MS_UUID);
	t->seq = tv_stmt_int(q, TP_SEQ);
	t->encrypted = tv_stmt_int(q, TP_ENCRYPTED) != 0;
	t->locked = tv_stmt_int(q, TP_LOCKED) != 0;
	t->full = tv_stmt_int(q, TP_FULL) != 0;
	t->ms_label = tv_stmt_blob(q, TP_MS_LABEL, &t->ms_label_len);
	t->used = tv_stmt_int(q, TP_USED);
	t->written = tv_stmt_int(q, TP_WRITTEN);
	t->capacity = tv_stmt_int(q, TP_CAPACITY);
	t->expires = tv_stmt_isnull(q, TP_EXPIRES) ? 0 : tv_stmt_int(q, TP_EXPIRES);
}

#define TAPES_SQL(locked)                                                      \
	"SELECT " TAPE_COLUMNS(locked) TAPE_FROM                                   \
	"WHERE (?1 IS NULL OR p.name=?1) AND (?2 IS NULL OR t.state=?2 OR"         \
	" (?2='locked' AND " locked ")) ORDER BY t.barcode"
static const char *const tapes_sql[2] = { TAPES_SQL(LOCKED_COLUMN), TAPES_SQL(LOCKED_HERE) };

int tv_query_tapes(struct tv_db *db, const char *pool, const char *state, tv_tape_fn *fn,
                   void *ctx)
{
	struct tv_tape_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, tapes_sql[tv_db_shared(db)], "tt", pool, state)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		tape_row_read(q, &row);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

/* What the tape's media set keeps on this tape (data_files by sequence). */
#define ON_TAPE(what)                                                          \
	"(SELECT " what " FROM data_files d JOIN backup_sets b ON b.id=d.set_id"   \
	" WHERE b.media_set_id=t.media_set_id AND d.tseq=t.seq)"
#define TAPE_SQL(locked)                                                       \
	"SELECT " TAPE_COLUMNS(locked) ", t.uuid, t.sessions, COALESCE(t.next_file,0),"\
	" COALESCE(t.capacity,0), t.contents_cataloged,"                           \
	" (SELECT source FROM tape_keys k WHERE k.tape_uuid=t.uuid), "             \
	ON_TAPE("COUNT(*)") ", " ON_TAPE("COUNT(DISTINCT d.set_id)") ", "          \
	ON_TAPE("COALESCE(SUM(d.stored_bytes),0)") ","                             \
	" COALESCE(t.record_size,0), COALESCE(t.format,0)" TAPE_FROM               \
	"WHERE t.barcode=?"
static const char *const tape_sql[2] = { TAPE_SQL(LOCKED_COLUMN), TAPE_SQL(LOCKED_HERE) };
enum {
	TI_UUID = TP_NCOLS, TI_SESSIONS, TI_NEXT_FILE, TI_CAPACITY, TI_CONTENTS_CATALOGED,
	TI_UNLOCKED_BY, TI_DATA_FILES, TI_BACKUP_SETS, TI_BYTES_ON_TAPE, TI_RECORD_SIZE,
	TI_FORMAT
};

static void tape_info_read(struct tv_stmt *q, struct tv_tape_info *ti)
{
	tape_row_read(q, &ti->t);
	ti->uuid = col_uuid(q, TI_UUID);
	ti->sessions = tv_stmt_int(q, TI_SESSIONS);
	ti->next_file = tv_stmt_int(q, TI_NEXT_FILE);
	ti->capacity = tv_stmt_int(q, TI_CAPACITY);
	ti->contents_cataloged = tv_stmt_int(q, TI_CONTENTS_CATALOGED) != 0;
	ti->unlocked_by = tv_stmt_isnull(q, TI_UNLOCKED_BY) ? NULL
	                                                     : tv_stmt_text(q, TI_UNLOCKED_BY);
	ti->data_files = tv_stmt_int(q, TI_DATA_FILES);
	ti->backup_sets = tv_stmt_int(q, TI_BACKUP_SETS);
	ti->bytes_on_tape = tv_stmt_int(q, TI_BYTES_ON_TAPE);
	ti->record_size = tv_stmt_int(q, TI_RECORD_SIZE);
	ti->format = tv_stmt_int(q, TI_FORMAT);
}

int tv_query_tape(struct tv_db *db, const char *barcode, tv_tape_info_fn *fn, void *ctx)
{
	struct tv_tape_info row;
	struct tv_stmt *q;
	int r, found = 0;

	if ((r = tv_db_query(db, &q, tape_sql[tv_db_shared(db)], "t", barcode)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		found = 1;
		tape_info_read(q, &row);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	if (r == 0 && !found)
		return tv_errf(TV_ERR_NOTFOUND, "no tape %s in the catalog", barcode);
	return r;
}

/* On a shared catalog a tape another server cataloged is still locked here
 * until this server has its key. */
#define LOCKED_TAPES_SQL(cond)                                                 \
	"SELECT t.barcode, COALESCE(p.name,''), COALESCE(t.seq,0) FROM tapes t"    \
	" LEFT JOIN pools p ON p.id=t.pool_id WHERE " cond                         \
	" AND t.library_id IS NOT NULL ORDER BY t.barcode"
static const char *const locked_tapes_sql[2] = {
	LOCKED_TAPES_SQL("t.locked=1 AND t.contents_cataloged=0"),
	LOCKED_TAPES_SQL(LOCKED_HERE),
};
enum { LT_BARCODE, LT_POOL, LT_SEQ };

int tv_query_locked_tapes(struct tv_db *db, tv_locked_tape_fn *fn, void *ctx)
{
	struct tv_locked_tape_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, locked_tapes_sql[tv_db_shared(db)], "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.barcode = tv_stmt_text(q, LT_BARCODE);
		row.pool = tv_stmt_text(q, LT_POOL);
		row.seq = tv_stmt_int(q, LT_SEQ);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

/* ---- pools ---- */

static const char pools_sql[] =
	"SELECT p.name, COALESCE(l.name,''), p.encryption, p.media_set_policy, p.compression,"
	" p.imported, (SELECT COUNT(*) FROM tapes t WHERE t.pool_id=p.id),"
	" (SELECT COUNT(*) FROM backup_sets b WHERE b.pool_id=p.id), COALESCE(p.retention,0) "
	"FROM pools p LEFT JOIN libraries l ON l.id=p.library_id "
	"WHERE (?1 IS NULL OR p.name=?1) ORDER BY p.name";
enum {
	PO_NAME, PO_LIBRARY, PO_ENCRYPTION, PO_POLICY, PO_COMPRESSION, PO_IMPORTED, PO_TAPES,
	PO_BACKUP_SETS, PO_RETENTION
};

int tv_query_pools(struct tv_db *db, const char *name, tv_pool_fn *fn, void *ctx)
{
	struct tv_pool_row row;
	struct tv_stmt *q;
	int r, found = 0;

	if ((r = tv_db_query(db, &q, pools_sql, "t", name)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		found = 1;
		row.name = tv_stmt_text(q, PO_NAME);
		row.library = tv_stmt_text(q, PO_LIBRARY);
		row.encryption = tv_stmt_text(q, PO_ENCRYPTION);
		row.media_set_policy = tv_stmt_text(q, PO_POLICY);
		row.compression = tv_stmt_text(q, PO_COMPRESSION);
		row.imported = tv_stmt_int(q, PO_IMPORTED) != 0;
		row.tapes = tv_stmt_int(q, PO_TAPES);
		row.backup_sets = tv_stmt_int(q, PO_BACKUP_SETS);
		row.retention = tv_stmt_int(q, PO_RETENTION);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	if (r == 0 && name != NULL && !found)
		return tv_errf(TV_ERR_NOTFOUND, "no media pool named '%s'", name);
	return r;
}

/* ---- backup sets ---- */

/* The tapes of the set's media set that the set spans (by sequence).  Of
 * a complete set whose data files are known, a tape in that range without
 * one of them is not needed: a tape the drive failed on while the job wrote
 * it, whose part went again to the next tape (jobs/write.c). */
#define HOLDS_SET                                                              \
	" AND (b.complete=0 OR NOT EXISTS(SELECT 1 FROM data_files d WHERE"       \
	" d.set_id=b.id) OR EXISTS(SELECT 1 FROM data_files d WHERE d.set_id=b.id" \
	" AND d.tseq=t.seq))"
#define SPANNED(what, cond)                                                    \
	"(SELECT " what " FROM tapes t WHERE t.media_set_id=b.media_set_id AND"    \
	" t.seq BETWEEN b.first_seq AND b.last_seq" HOLDS_SET cond ")"
#define BACKUP_SETS_SQL(locked)                                                \
	"SELECT b.id, b.uuid, b.name, COALESCE(p.name,''), b.created, b.complete, b.recovered," \
	" (SELECT COUNT(*) FROM files f WHERE f.set_id=b.id)," \
	" (SELECT COALESCE(SUM(f.size),0) FROM files f WHERE f.set_id=b.id AND f.ftype=1)," \
	" (SELECT COALESCE(SUM(d.stored_bytes),0) FROM data_files d WHERE d.set_id=b.id)," \
	" (SELECT group_concat(barcode, ',') FROM (SELECT t.barcode, MIN(t.seq) AS s FROM tapes t" \
	"   WHERE t.media_set_id=b.media_set_id AND t.seq BETWEEN b.first_seq AND b.last_seq" \
	HOLDS_SET "   GROUP BY t.barcode ORDER BY s) AS spanned)," \
	" CASE WHEN b.complete=1 AND EXISTS(SELECT 1 FROM data_files d WHERE d.set_id=b.id)" \
	" THEN (SELECT COUNT(DISTINCT d.tseq) FROM data_files d WHERE d.set_id=b.id)" \
	" ELSE b.last_seq - b.first_seq + 1 END, " \
	SPANNED("COUNT(*)", "") ", " \
	SPANNED("COUNT(*)", " AND " locked) ", " \
	SPANNED("COUNT(*)", " AND t.library_id IS NULL") "," \
	" (SELECT COUNT(*) FROM files f WHERE f.set_id=b.id AND (f.eflags & 1) <> 0)," \
	" b.state, COALESCE(b.pid, 0)," \
	" (SELECT COUNT(*) FROM set_problems s WHERE s.set_id=b.id)," \
	" EXISTS(SELECT 1 FROM tapes t WHERE t.media_set_id=b.media_set_id AND" \
	"   t.seq > b.last_seq AND t.contents_cataloged=1) OR" \
	" EXISTS(SELECT 1 FROM data_files d WHERE d.set_id=b.id AND d.complete=0)," \
	" b.level, b.parent_uuid, (SELECT COUNT(*) FROM set_deleted d WHERE d.set_id=b.id)" \
	" FROM backup_sets b LEFT JOIN pools p ON p.id=b.pool_id ORDER BY b.created, b.id"
static const char *const backup_sets_sql[2] = {
	BACKUP_SETS_SQL(LOCKED_COLUMN), BACKUP_SETS_SQL(LOCKED_HERE),
};
enum {
	BK_ID, BK_UUID, BK_NAME, BK_POOL, BK_CREATED, BK_COMPLETE, BK_RECOVERED, BK_FILES,
	BK_BYTES, BK_BYTES_ON_TAPE, BK_TAPES, BK_SPANNED, BK_KNOWN, BK_LOCKED, BK_OFFLINE,
	BK_INNER_ENCRYPTED, BK_SET_STATE, BK_PID, BK_PROBLEMS, BK_LATER_TAPE, BK_LEVEL,
	BK_PARENT, BK_DELETED
};

/* What became of a set's job: the state its job recorded.  Without one
 * (its job still running or killed, or a set cataloged from tapes that do
 * not say): complete (partial with problems) when it ended on a tape;
 * running while the process that writes it lives; interrupted when that
 * process is gone (killed), when a scan found one of its data files cut
 * off, or when a later tape of its media set is cataloged and it did not
 * end before; recovered when only a scan found it (its catalog was lost or
 * refused: how it ended is not known); else incomplete (the tape where it
 * ends is not cataloged). */
static const char *set_state_of(struct tv_stmt *q, int complete, int recovered,
                                int64_t problems)
{
	int64_t pid = tv_stmt_int(q, BK_PID);

	if (!tv_stmt_isnull(q, BK_SET_STATE))
		return tv_stmt_text(q, BK_SET_STATE);
	if (complete)
		return problems > 0 ? "partial" : "complete";
	if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
		return "running";
	if (pid > 0 || tv_stmt_int(q, BK_LATER_TAPE))
		return "interrupted";
	return recovered ? "recovered" : "incomplete";
}

int tv_query_backup_sets(struct tv_db *db, tv_backup_fn *fn, void *ctx)
{
	struct tv_backup_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, backup_sets_sql[tv_db_shared(db)], "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.id = tv_stmt_int(q, BK_ID);
		row.uuid = col_uuid(q, BK_UUID);
		row.name = tv_stmt_text(q, BK_NAME);
		row.pool = tv_stmt_text(q, BK_POOL);
		row.created = tv_stmt_int(q, BK_CREATED);
		row.complete = tv_stmt_int(q, BK_COMPLETE) != 0;
		row.recovered = tv_stmt_int(q, BK_RECOVERED) != 0;
		row.files = tv_stmt_int(q, BK_FILES);
		row.bytes = tv_stmt_int(q, BK_BYTES);
		row.bytes_on_tape = tv_stmt_int(q, BK_BYTES_ON_TAPE);
		row.tapes = tv_stmt_text(q, BK_TAPES);
		row.tapes_spanned = tv_stmt_int(q, BK_SPANNED);
		row.tapes_known = tv_stmt_int(q, BK_KNOWN);
		row.tapes_locked = tv_stmt_int(q, BK_LOCKED);
		row.tapes_offline = tv_stmt_int(q, BK_OFFLINE);
		row.inner_encrypted = tv_stmt_int(q, BK_INNER_ENCRYPTED);
		row.problems = tv_stmt_int(q, BK_PROBLEMS);
		row.set_state = set_state_of(q, row.complete, row.recovered, row.problems);
		row.level = (int)tv_stmt_int(q, BK_LEVEL);
		row.parent = row.level != 0 ? col_uuid(q, BK_PARENT) : NULL;
		row.deleted = tv_stmt_int(q, BK_DELETED);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

const char *tv_backup_state(const struct tv_backup_row *b)
{
	if (b->tapes_locked > 0)
		return "tape encrypted";
	if (strcmp(b->set_state, "complete") != 0)
		return b->set_state;   /* partial, interrupted, failed, running, incomplete */
	if (b->tapes_known < b->tapes_spanned || !b->complete)
		return "incomplete";
	if (b->inner_encrypted > 0)
		return "backup encrypted";
	if (b->tapes_offline > 0)
		return "offline";
	return "restorable";
}

/* The items of a set that were not stored whole, in the order met. */
int tv_query_set_problems(struct tv_db *db, int64_t set_id, tv_problem_fn *fn, void *ctx)
{
	struct tv_problem_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, "SELECT path, reason, COALESCE(idx, -1) FROM set_problems "
	                     "WHERE set_id=? ORDER BY n", "i", set_id)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.path = tv_stmt_text(q, 0);
		row.reason = tv_stmt_text(q, 1);
		row.idx = tv_stmt_int(q, 2);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

/* ---- passwords ---- */

static const char passwords_sql[] =
	"SELECT name, hint, kdf, created FROM passwords ORDER BY name";
enum { PW_NAME, PW_HINT, PW_KDF, PW_CREATED };

int tv_query_passwords(struct tv_db *db, tv_password_fn *fn, void *ctx)
{
	struct tv_password_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, passwords_sql, "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.name = tv_stmt_text(q, PW_NAME);
		row.hint = tv_stmt_text(q, PW_HINT);
		row.kdf = tv_stmt_text(q, PW_KDF);
		row.created = tv_stmt_int(q, PW_CREATED);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

int tv_query_password_hint(struct tv_db *db, const char *name, char *hint, size_t hintsz)
{
	int r = tv_db_get_text(db, hint, hintsz, "SELECT hint FROM passwords WHERE name=?", "t",
	                       name);

	if (r == TV_ERR_NOTFOUND)
		return tv_errf(r, "no password named '%s'", name);
	if (r == TV_ERR_RANGE)
		return tv_errf(r, "the hint of password '%s' is longer than %zu bytes", name,
		               hintsz - 1);
	return r;
}

/* ---- KMS servers ---- */

static const char kms_servers_sql[] =
	"SELECT s.name, s.host, s.port, s.ca, s.cert, s.key,"
	" (SELECT COUNT(*) FROM kms_keys k WHERE k.server_id=s.id), s.id "
	"FROM kms_servers s WHERE (?1 IS NULL OR s.name=?1) ORDER BY s.name";
enum { KS_NAME, KS_HOST, KS_PORT, KS_CA, KS_CERT, KS_KEY, KS_KEYS, KS_ID };

/* Servers named name (NULL: all); *found: whether there was one. */
static int kms_servers(struct tv_db *db, const char *name, tv_kms_server_fn *fn, void *ctx,
                       int *found)
{
	struct tv_kms_server_row row;
	struct tv_stmt *q;
	int r;

	*found = 0;
	if ((r = tv_db_query(db, &q, kms_servers_sql, "t", name)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		*found = 1;
		row.name = tv_stmt_text(q, KS_NAME);
		row.host = tv_stmt_text(q, KS_HOST);
		row.port = tv_stmt_int(q, KS_PORT);
		row.ca = tv_stmt_text(q, KS_CA);
		row.cert = tv_stmt_text(q, KS_CERT);
		row.key = tv_stmt_text(q, KS_KEY);
		row.keys = tv_stmt_int(q, KS_KEYS);
		row.id = tv_stmt_int(q, KS_ID);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

int tv_query_kms_servers(struct tv_db *db, tv_kms_server_fn *fn, void *ctx)
{
	int found;

	return kms_servers(db, NULL, fn, ctx, &found);
}

int tv_query_kms_server(struct tv_db *db, const char *name, tv_kms_server_fn *fn, void *ctx)
{
	int found, r = kms_servers(db, name, fn, ctx, &found);

	if (r == 0 && !found)
		return tv_errf(TV_ERR_NOTFOUND, "no KMS server named '%s' (register it with "
		               "'tapevault kms add %s --host H --ca CA --cert C --key K')", name, name);
	return r;
}

/* ---- escrow ---- */

static const char escrow_keys_sql[] =
	"SELECT public_pem, fingerprint FROM escrow_keys WHERE enabled=1 ORDER BY id";
enum { EK_PUBLIC_PEM, EK_FINGERPRINT };

int tv_query_escrow_keys(struct tv_db *db, tv_escrow_key_fn *fn, void *ctx)
{
	struct tv_escrow_key_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, escrow_keys_sql, "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.public_pem = tv_stmt_text(q, EK_PUBLIC_PEM);
		row.fingerprint = tv_stmt_blob(q, EK_FINGERPRINT, &row.fingerprint_len);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}

int tv_query_escrow_enabled(struct tv_db *db, int64_t *count)
{
	*count = 0;
	return tv_db_get_int(db, count, "SELECT COUNT(*) FROM escrow_keys WHERE enabled=1", "");
}

/* ---- audit log ---- */

static const char audit_sql[] =
	"SELECT time, actor, action, key_path, tapes, detail FROM audit ORDER BY id";
enum { AU_TIME, AU_ACTOR, AU_ACTION, AU_KEY_PATH, AU_TAPES, AU_DETAIL };

int tv_query_audit(struct tv_db *db, tv_audit_fn *fn, void *ctx)
{
	struct tv_audit_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(db, &q, audit_sql, "")) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		row.time = tv_stmt_int(q, AU_TIME);
		row.actor = tv_stmt_text(q, AU_ACTOR);
		row.action = tv_stmt_text(q, AU_ACTION);
		row.key_path = tv_stmt_text(q, AU_KEY_PATH);
		row.tapes = tv_stmt_text(q, AU_TAPES);
		row.detail = tv_stmt_text(q, AU_DETAIL);
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}
