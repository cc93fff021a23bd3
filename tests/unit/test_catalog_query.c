/* Unit tests: catalog/query.c, the read queries behind the list and show
 * commands (rows with named fields, step errors returned, lookups of
 * missing objects named), with jobs/admin.c (the setup commands' catalog
 * updates) filling the catalog and jobs/inspect.c saying what unlocks a
 * tape from its stored media set label. */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#include "catalog/query.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "jobs/admin.h"
#include "jobs/audit.h"
#include "jobs/home.h"
#include "jobs/inspect.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "kms/client.h"
#include "util/err.h"

#define MAX_ROWS 8

/* A catalog in a fresh installation. */
struct fx {
	struct tv_home *h;
	int64_t lib_a, lib_b;
};

static void sql(struct fx *f, const char *stmt)
{
	int r = tv_db_exec(f->h->db, stmt, "");

	if (r != 0)
		fail_msg("%s: %s", stmt, tv_errmsg(r));
}

static int64_t library_id(struct fx *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(tv_db_get_int(f->h->db, &id, "SELECT id FROM libraries WHERE name=?",
	                               "t", name), 0);
	return id;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *dir = tl_tmpdir("query");

	assert_non_null(f);
	assert_int_equal(tv_home_init(dir, NULL), 0);
	assert_int_equal(tv_home_open(dir, &f->h), 0);
	f->h->quiet = 1;
	assert_int_equal(tv_admin_library_add(f->h, "lib-b", "/libs/b"), 0);
	assert_int_equal(tv_admin_library_add(f->h, "lib-a", "/libs/a"), 0);
	f->lib_a = library_id(f, "lib-a");
	f->lib_b = library_id(f, "lib-b");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tv_home_close(f->h);
	free(f);
	return 0;
}

/* ---- collecting rows (copied: they are valid during the call only) ---- */

struct names {
	int n;
	char name[MAX_ROWS][64];
	char more[MAX_ROWS][256];
	int64_t num[MAX_ROWS];
};

static void names_add(struct names *s, const char *name, const char *more, int64_t num)
{
	assert_true(s->n < MAX_ROWS);
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
	snprintf(s->more[s->n], sizeof(s->more[0]), "%s", more);
	s->num[s->n] = num;
	s->n++;
}

static int library_add(void *ctx, const struct tv_library_row *l)
{
	names_add(ctx, l->name, l->path, 0);
	return 0;
}

static void test_libraries(void **state)
{
	struct fx *f = *state;
	struct names s = {0};

	assert_int_equal(tv_query_libraries(f->h->db, library_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "lib-a");          /* by name */
	assert_string_equal(s.more[0], "/libs/a");
	assert_string_equal(s.name[1], "lib-b");
	assert_string_equal(s.more[1], "/libs/b");

	tv_errclear();
	assert_int_equal(tv_admin_library_add(f->h, "lib-a", "/elsewhere"), TV_ERR_EXISTS);
	assert_string_equal(tv_errmsg(TV_ERR_EXISTS), "a library named 'lib-a' is already registered");
}

/* ---- tapes, pools, backup sets ---- */

static const uint8_t ms_uuid[16] = {0xab, 0xcd, 0xef, 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const uint8_t tape_uuid[16] = {0x11, 0x22, 0x33, 0x44, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t set_uuid[16] = {0x5e, 0x70, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

/* Three tapes of lib-a; VT0002L9 is the first of pool p's media set and
 * holds two data files of set "monday", which spans it and VT0001L9 (not
 * in the catalog: a set that is incomplete). */
static void fill_tapes(struct fx *f)
{
	assert_int_equal(tv_admin_tape_new(f->h, "VT0002L9", f->lib_a, 64u << 20), 0);
	assert_int_equal(tv_admin_tape_new(f->h, "VT0003L9", f->lib_a, 0), 0);
	assert_int_equal(tv_admin_tape_inserted(f->h, "VT0009L9", f->lib_b), 0);
	assert_int_equal(tv_pool_create(f->h, "p", "lib-a", NULL, "per-job"), 0);
	assert_int_equal(tv_pool_create(f->h, "q", "lib-b", NULL, NULL), 0);
	assert_int_equal(tv_db_exec(f->h->db, "INSERT INTO media_sets(uuid, pool_id, created)"
	                            " SELECT ?, id, 1 FROM pools WHERE name='p'", "b", ms_uuid,
	                            (size_t)16), 0);
	assert_int_equal(tv_db_exec(f->h->db, "UPDATE tapes SET state='pool', uuid=?, seq=1,"
	                            " pool_id=(SELECT id FROM pools WHERE name='p'),"
	                            " media_set_id=(SELECT id FROM media_sets), used=5000, full=1,"
	                            " sessions=2, next_file=5, contents_cataloged=1,"
	                            " record_size=262144, format=2 WHERE barcode='VT0002L9'", "b",
	                            tape_uuid, (size_t)16), 0);
	assert_int_equal(tv_db_exec(f->h->db, "INSERT INTO tape_keys(tape_uuid, dek_fpr, sealed,"
	                            " source, created) VALUES(?, x'00', x'00', 'written here', 1)",
	                            "b", tape_uuid, (size_t)16), 0);
	assert_int_equal(tv_db_exec(f->h->db, "INSERT INTO backup_sets(uuid, name, pool_id,"
	                            " media_set_id, created, first_seq, last_seq, complete)"
	                            " SELECT ?, 'monday', p.id, m.id, 100, 1, 2, 1 FROM pools p,"
	                            " media_sets m WHERE p.name='p'", "b", set_uuid, (size_t)16), 0);
	sql(f, "INSERT INTO backup_sets(uuid, name, created, complete) VALUES(x'00', 'odd', 200, 1)");
	sql(f, "INSERT INTO files(set_id, idx, path, ftype, mode, uid, gid, mtime_sec, mtime_nsec,"
	       " size, eflags, tseq, file_no, frame_off, entry_off) VALUES"
	       " (1, 0, 'd', 2, 493, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0),"
	       " (1, 1, 'd/a', 1, 420, 0, 0, 0, 0, 1000, 0, 1, 2, 0, 0),"
	       " (1, 2, 'd/b.tvb', 1, 420, 0, 0, 0, 0, 234, 1, 1, 3, 0, 0)");
	sql(f, "INSERT INTO data_files(set_id, tseq, file_no, content_uuid, raw_bytes, stored_bytes)"
	       " VALUES (1, 1, 2, x'01', 1000, 700), (1, 1, 3, x'02', 234, 300),"
	       " (1, 2, 2, x'03', 10, 10)");
}

struct tapes {
	int n;
	char barcode[MAX_ROWS][16], state[MAX_ROWS][16], pool[MAX_ROWS][16],
		library[MAX_ROWS][16];
	int has_ms[MAX_ROWS], has_label[MAX_ROWS];
	int64_t seq[MAX_ROWS], used[MAX_ROWS];
	int full[MAX_ROWS];
};

static int tape_add(void *ctx, const struct tv_tape_row *t)
{
	struct tapes *s = ctx;
	int i = s->n++;

	assert_true(i < MAX_ROWS);
	snprintf(s->barcode[i], sizeof(s->barcode[i]), "%s", t->barcode);
	snprintf(s->state[i], sizeof(s->state[i]), "%s", t->state);
	snprintf(s->pool[i], sizeof(s->pool[i]), "%s", t->pool);
	snprintf(s->library[i], sizeof(s->library[i]), "%s", t->library);
	s->has_ms[i] = t->media_set_uuid != NULL &&
	               memcmp(t->media_set_uuid, ms_uuid, 16) == 0;
	s->has_label[i] = t->ms_label != NULL;
	s->seq[i] = t->seq;
	s->used[i] = t->used;
	s->full[i] = t->full;
	return 0;
}

static void test_tapes(void **state)
{
	struct fx *f = *state;
	struct tapes s = {0};

	fill_tapes(f);
	assert_int_equal(tv_admin_tape_exported(f->h, "VT0003L9"), 0);
	assert_int_equal(tv_query_tapes(f->h->db, NULL, NULL, tape_add, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.barcode[0], "VT0002L9");
	assert_string_equal(s.state[0], "pool");
	assert_string_equal(s.pool[0], "p");
	assert_string_equal(s.library[0], "lib-a");
	assert_true(s.has_ms[0]);
	assert_int_equal(s.seq[0], 1);
	assert_int_equal(s.used[0], 5000);
	assert_int_equal(s.full[0], 1);
	assert_false(s.has_label[0]);
	assert_string_equal(s.barcode[1], "VT0003L9");
	assert_string_equal(s.state[1], "free");
	assert_string_equal(s.pool[1], "");
	assert_string_equal(s.library[1], "");            /* exported: offline */
	assert_false(s.has_ms[1]);
	assert_int_equal(s.seq[1], 0);
	assert_string_equal(s.barcode[2], "VT0009L9");
	assert_string_equal(s.state[2], "unrecognized");  /* inserted, not cataloged */
	assert_string_equal(s.library[2], "lib-b");

	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_tapes(f->h->db, "p", NULL, tape_add, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.barcode[0], "VT0002L9");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_tapes(f->h->db, NULL, "free", tape_add, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.barcode[0], "VT0003L9");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_tapes(f->h->db, NULL, "locked", tape_add, &s), 0);
	assert_int_equal(s.n, 0);

	/* a blank cartridge under a known barcode starts over */
	assert_int_equal(tv_admin_tape_new(f->h, "VT0002L9", f->lib_b, 0), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_tapes(f->h->db, NULL, "free", tape_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.barcode[0], "VT0002L9");
	assert_string_equal(s.library[0], "lib-b");
	assert_string_equal(s.pool[0], "");
	assert_false(s.has_ms[0]);
}

static int tape_info_copy(void *ctx, const struct tv_tape_info *ti)
{
	struct tv_tape_info *out = ctx;

	*out = *ti;
	/* strings point into the query: keep only what is checked after it */
	out->t.barcode = out->t.state = out->t.pool = out->t.library = NULL;
	out->unlocked_by = ti->unlocked_by && strcmp(ti->unlocked_by, "written here") == 0
	                       ? "written here" : ti->unlocked_by ? "other" : NULL;
	out->uuid = ti->uuid && memcmp(ti->uuid, tape_uuid, 16) == 0 ? tape_uuid : NULL;
	assert_string_equal(ti->t.barcode, ti->uuid ? "VT0002L9" : "VT0003L9");
	return 0;
}

static void test_tape_show(void **state)
{
	struct fx *f = *state;
	struct tv_tape_info ti;

	fill_tapes(f);
	assert_int_equal(tv_query_tape(f->h->db, "VT0002L9", tape_info_copy, &ti), 0);
	assert_ptr_equal(ti.uuid, tape_uuid);
	assert_int_equal(ti.t.seq, 1);
	assert_int_equal(ti.sessions, 2);
	assert_int_equal(ti.next_file, 5);
	assert_int_equal(ti.capacity, 64 << 20);
	assert_int_equal(ti.contents_cataloged, 1);
	assert_string_equal(ti.unlocked_by, "written here");
	assert_int_equal(ti.data_files, 2);               /* of its sequence only */
	assert_int_equal(ti.backup_sets, 1);
	assert_int_equal(ti.bytes_on_tape, 1000);
	assert_int_equal(ti.record_size, 262144);
	assert_int_equal(ti.format, 2);

	assert_int_equal(tv_query_tape(f->h->db, "VT0003L9", tape_info_copy, &ti), 0);
	assert_null(ti.uuid);
	assert_null(ti.unlocked_by);
	assert_int_equal(ti.capacity, 1 << 30);           /* the library's default */
	assert_int_equal(ti.data_files, 0);
	assert_int_equal(ti.record_size, 0);

	tv_errclear();
	assert_int_equal(tv_query_tape(f->h->db, "NOPE01L9", tape_info_copy, &ti),
	                 TV_ERR_NOTFOUND);
	assert_string_equal(tv_errmsg(TV_ERR_NOTFOUND), "no tape NOPE01L9 in the catalog");
}

static int pool_add(void *ctx, const struct tv_pool_row *p)
{
	char more[256];

	snprintf(more, sizeof(more), "%s|%s|%s|%s|%d|%lld", p->library, p->encryption,
	         p->media_set_policy, p->compression, p->imported, (long long)p->backup_sets);
	names_add(ctx, p->name, more, p->tapes);
	return 0;
}

static void test_pools(void **state)
{
	struct fx *f = *state;
	struct names s = {0};

	fill_tapes(f);
	assert_int_equal(tv_query_pools(f->h->db, NULL, pool_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "p");
	assert_string_equal(s.more[0], "lib-a|none|per-job|zstd:1|0|1");
	assert_int_equal(s.num[0], 1);
	assert_string_equal(s.name[1], "q");
	assert_string_equal(s.more[1], "lib-b|none|continue|zstd:1|0|0");
	assert_int_equal(s.num[1], 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_pools(f->h->db, "q", pool_add, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.name[0], "q");

	memset(&s, 0, sizeof(s));
	tv_errclear();
	assert_int_equal(tv_query_pools(f->h->db, "nosuch", pool_add, &s), TV_ERR_NOTFOUND);
	assert_int_equal(s.n, 0);
	assert_string_equal(tv_errmsg(TV_ERR_NOTFOUND), "no media pool named 'nosuch'");
}

static int backup_add(void *ctx, const struct tv_backup_row *b)
{
	char more[256];

	snprintf(more, sizeof(more), "%s|%s|%lld|%lld|%lld|%s|%lld/%lld|%lld|%s|%s",
	         b->uuid ? (memcmp(b->uuid, set_uuid, 16) == 0 ? "uuid" : "other") : "no-uuid",
	         b->pool, (long long)b->files, (long long)b->bytes, (long long)b->bytes_on_tape,
	         b->tapes, (long long)b->tapes_known, (long long)b->tapes_spanned,
	         (long long)b->inner_encrypted, b->complete ? "complete" : "-",
	         tv_backup_state(b));
	names_add(ctx, b->name, more, b->created);
	return 0;
}

static void test_backup_sets(void **state)
{
	struct fx *f = *state;
	struct names s = {0};

	fill_tapes(f);
	assert_int_equal(tv_query_backup_sets(f->h->db, backup_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "monday");         /* oldest first */
	assert_int_equal(s.num[0], 100);
	assert_string_equal(s.more[0], "uuid|p|3|1234|1010|VT0002L9|1/2|1|complete|incomplete");
	assert_string_equal(s.name[1], "odd");
	assert_string_equal(s.more[1], "no-uuid||0|0|0||0/0|0|complete|restorable");

	/* the other tape of the set arrives, offline */
	assert_int_equal(tv_admin_tape_inserted(f->h, "VT0001L9", f->lib_a), 0);
	sql(f, "UPDATE tapes SET media_set_id=1, seq=2, library_id=NULL WHERE barcode='VT0001L9'");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_backup_sets(f->h->db, backup_add, &s), 0);
	assert_string_equal(s.more[0],
	                    "uuid|p|3|1234|1010|VT0002L9,VT0001L9|2/2|1|complete|backup encrypted");
	sql(f, "UPDATE files SET eflags=0");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_backup_sets(f->h->db, backup_add, &s), 0);
	assert_string_equal(s.more[0], "uuid|p|3|1234|1010|VT0002L9,VT0001L9|2/2|0|complete|offline");
	sql(f, "UPDATE tapes SET library_id=1 WHERE barcode='VT0001L9'");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_backup_sets(f->h->db, backup_add, &s), 0);
	assert_string_equal(s.more[0], "uuid|p|3|1234|1010|VT0002L9,VT0001L9|2/2|0|complete|restorable");
	sql(f, "UPDATE tapes SET encrypted=1, locked=1 WHERE barcode='VT0001L9'");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tv_query_backup_sets(f->h->db, backup_add, &s), 0);
	assert_string_equal(s.more[0],
	                    "uuid|p|3|1234|1010|VT0002L9,VT0001L9|2/2|0|complete|tape encrypted");
}

static int locked_add(void *ctx, const struct tv_locked_tape_row *t)
{
	names_add(ctx, t->barcode, t->pool, t->seq);
	return 0;
}

static void test_locked_tapes(void **state)
{
	struct fx *f = *state;
	struct names s = {0};

	fill_tapes(f);
	sql(f, "UPDATE tapes SET encrypted=1, locked=1, contents_cataloged=0");
	sql(f, "UPDATE tapes SET library_id=NULL WHERE barcode='VT0003L9'");   /* offline */
	assert_int_equal(tv_query_locked_tapes(f->h->db, locked_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "VT0002L9");
	assert_string_equal(s.more[0], "p");
	assert_int_equal(s.num[0], 1);
	assert_string_equal(s.name[1], "VT0009L9");
	assert_string_equal(s.more[1], "");
}

/* ---- keys: passwords, KMS servers, escrow, and a stored media set label ---- */

static int password_add(void *ctx, const struct tv_password_row *p)
{
	char more[256];

	snprintf(more, sizeof(more), "%s|%s", p->hint, p->kdf);
	names_add(ctx, p->name, more, p->created);
	return 0;
}

static void test_passwords(void **state)
{
	struct fx *f = *state;
	struct names s = {0};
	char hint[TV_HINT_MAX], small[4];

	sql(f, "INSERT INTO passwords(name, hint, sealed, created, kdf) VALUES"
	       " ('weekly', 'the usual', x'00', 300, 'argon2id'),"
	       " ('daily', 'the other', x'00', 200, 'pbkdf2')");
	assert_int_equal(tv_query_passwords(f->h->db, password_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "daily");
	assert_string_equal(s.more[0], "the other|pbkdf2");
	assert_int_equal(s.num[0], 200);
	assert_string_equal(s.name[1], "weekly");
	assert_string_equal(s.more[1], "the usual|argon2id");

	assert_int_equal(tv_query_password_hint(f->h->db, "weekly", hint, sizeof(hint)), 0);
	assert_string_equal(hint, "the usual");
	tv_errclear();
	assert_int_equal(tv_query_password_hint(f->h->db, "monthly", hint, sizeof(hint)),
	                 TV_ERR_NOTFOUND);
	assert_string_equal(tv_errmsg(TV_ERR_NOTFOUND), "no password named 'monthly'");
	assert_int_equal(tv_query_password_hint(f->h->db, "weekly", small, sizeof(small)),
	                 TV_ERR_RANGE);
	assert_string_equal(tv_errmsg(TV_ERR_RANGE),
	                    "the hint of password 'weekly' is longer than 3 bytes");
}

static int kms_add(void *ctx, const struct tv_kms_server_row *k)
{
	char more[256];

	snprintf(more, sizeof(more), "%s:%lld|%s|%s|%s|%lld", k->host, (long long)k->port, k->ca,
	         k->cert, k->key, (long long)k->keys);
	names_add(ctx, k->name, more, k->keys);
	return 0;
}

static void test_kms_servers(void **state)
{
	struct fx *f = *state;
	struct names s = {0};
	struct tv_kms_conf conf;
	int64_t id = 0;

	assert_int_equal(tv_admin_kms_add(f->h, "kms2", "10.0.0.2", 5696, "/ca", "/c2", "/k2"), 0);
	assert_int_equal(tv_admin_kms_add(f->h, "kms1", "kms.example", 15696, "/ca", "/c1", "/k1"),
	                 0);
	tv_errclear();
	assert_int_equal(tv_admin_kms_add(f->h, "kms1", "x", 1, "/a", "/b", "/c"), TV_ERR_EXISTS);
	assert_string_equal(tv_errmsg(TV_ERR_EXISTS), "a KMS server named 'kms1' is already registered");
	sql(f, "INSERT INTO kms_keys(server_id, uid, name, kind, created) SELECT id, 'u1', 'k', 'aes',"
	       " 1 FROM kms_servers WHERE name='kms1'");

	assert_int_equal(tv_query_kms_servers(f->h->db, kms_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "kms1");
	assert_string_equal(s.more[0], "kms.example:15696|/ca|/c1|/k1|1");
	assert_string_equal(s.name[1], "kms2");
	assert_string_equal(s.more[1], "10.0.0.2:5696|/ca|/c2|/k2|0");

	assert_int_equal(tv_admin_kms_conf(f->h, "kms2", &conf, &id), 0);
	assert_true(id > 0);
	assert_string_equal(conf.name, "kms2");
	assert_string_equal(conf.host, "10.0.0.2");
	assert_int_equal(conf.port, 5696);
	assert_string_equal(conf.ca, "/ca");
	assert_string_equal(conf.cert, "/c2");
	assert_string_equal(conf.key, "/k2");
	tv_errclear();
	assert_int_equal(tv_admin_kms_conf(f->h, "kms3", &conf, NULL), TV_ERR_NOTFOUND);
	assert_non_null(strstr(tv_errmsg(TV_ERR_NOTFOUND), "no KMS server named 'kms3' (register it with 'tapevault kms add kms3"));
}

static int escrow_add(void *ctx, const struct tv_escrow_key_row *e)
{
	names_add(ctx, e->public_pem, "", (int64_t)e->fingerprint_len);
	return 0;
}

static void test_escrow_keys(void **state)
{
	struct fx *f = *state;
	struct names s = {0};
	int64_t n = -1;

	assert_int_equal(tv_query_escrow_enabled(f->h->db, &n), 0);
	assert_int_equal(n, 0);
	sql(f, "INSERT INTO escrow_keys(fingerprint, public_pem, enabled, created) VALUES"
	       " (x'01', 'first', 1, 1), (x'0202', 'off', 0, 2), (x'030303', 'second', 1, 3)");
	assert_int_equal(tv_query_escrow_enabled(f->h->db, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tv_query_escrow_keys(f->h->db, escrow_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "first");
	assert_int_equal(s.num[0], 1);
	assert_string_equal(s.name[1], "second");
	assert_int_equal(s.num[1], 3);
}

/* What unlocks a tape, from a real media set label as the catalog keeps it. */
static void test_inspect_key(void **state)
{
	struct fx *f = *state;
	struct tv_media_set_label *ms = calloc(1, sizeof(*ms));
	uint8_t dek[TV_DEK_LEN];
	char desc[800], fpr[TV_FPR_HEX_LEN], want[TV_FPR_HEX_LEN];
	struct tv_buf b;

	assert_non_null(ms);
	tv_buf_init(&b);
	assert_int_equal(tv_keys_password_add(f->h, "pw1", "hint one", "correct horse battery",
	                                      21, TV_KDF_PBKDF2_SHA256), 0);
	snprintf(ms->pool_name, sizeof(ms->pool_name), "p");
	memcpy(ms->media_set_uuid, ms_uuid, 16);
	ms->seq = 1;
	assert_int_equal(tv_keys_new_tape(f->h, "password:pw1", tape_uuid, dek, &ms->enc), 0);
	assert_int_equal(tv_ms_label_encode(&b, ms), 0);
	tv_dek_fpr_hex(ms->enc.dek_fpr, want);

	assert_int_equal(tv_inspect_key(tv_buf_ptr(&b), tv_buf_avail(&b), desc, sizeof(desc), fpr,
	                                sizeof(fpr)), 0);
	assert_non_null(strstr(desc, "pw1"));
	assert_non_null(strstr(desc, "hint one"));
	assert_string_equal(fpr, want);

	/* no label, and a label that does not decode: nothing to say */
	assert_int_equal(tv_inspect_key(NULL, 0, desc, sizeof(desc), fpr, sizeof(fpr)), 0);
	assert_string_equal(desc, "");
	assert_string_equal(fpr, "");
	assert_true(tv_inspect_key("garbage", 7, desc, sizeof(desc), fpr, sizeof(fpr)) < 0);
	assert_string_equal(desc, "");
	assert_string_equal(fpr, "");
	tv_buf_free(&b);
	free(ms);
}

/* ---- the audit log, and the error paths of a list ---- */

static int audit_add(void *ctx, const struct tv_audit_row *a)
{
	char more[256];

	snprintf(more, sizeof(more), "%s|%s|%s|%s", a->key_path, a->tapes, a->detail,
	         strchr(a->actor, '@') ? "user@host" : a->actor);
	names_add(ctx, a->action, more, a->time);
	return 0;
}

static void test_audit(void **state)
{
	struct fx *f = *state;
	struct names s = {0};

	tv_audit(f->h, "decrypt", "password:p1", "VT0001L9", "unlocked");
	tv_audit(f->h, "escrow apply", "escrow", "VT0002L9,VT0003L9", NULL);
	assert_int_equal(tv_query_audit(f->h->db, audit_add, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "decrypt");        /* in order */
	assert_string_equal(s.more[0], "password:p1|VT0001L9|unlocked|user@host");
	assert_true(s.num[0] > 1000000000);
	assert_string_equal(s.name[1], "escrow apply");
	assert_string_equal(s.more[1], "escrow|VT0002L9,VT0003L9||user@host");
}

struct stop {
	int calls;
	int code;                 /* what the callback returns */
	char name[64];
};

static int stop_at_first(void *ctx, const struct tv_library_row *l)
{
	struct stop *s = ctx;

	s->calls++;
	snprintf(s->name, sizeof(s->name), "%s", l->name);
	if (s->code < 0)
		return tv_errf(s->code, "stopped at %s", l->name);
	return s->code;
}

/* The callback ends the list: its code (and detail) come back as they are. */
static void test_callback_stops(void **state)
{
	struct fx *f = *state;
	struct stop s = {0, TV_ERR_CANCELED, ""};

	tv_errclear();
	assert_int_equal(tv_query_libraries(f->h->db, stop_at_first, &s), TV_ERR_CANCELED);
	assert_int_equal(s.calls, 1);
	assert_string_equal(tv_errmsg(TV_ERR_CANCELED), "stopped at lib-a");
	s.calls = 0;
	s.code = 7;               /* a caller's own reason to stop */
	assert_int_equal(tv_query_libraries(f->h->db, stop_at_first, &s), 7);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.name, "lib-a");
}

/* A step that fails is an error, not the end of the rows: the audit table
 * becomes a view whose second row cannot be computed (abs() of the
 * smallest integer overflows). */
static void test_step_error(void **state)
{
	struct fx *f = *state;
	struct names s = {0};
	int r;

	sql(f, "DROP TABLE audit");
	sql(f, "CREATE VIEW audit AS SELECT column1 AS id,"
	       " abs(-9223372036854775807 - column1) AS time, 'a@b' AS actor, 'act' AS action,"
	       " 'k' AS key_path, 't' AS tapes, 'd' AS detail FROM (VALUES (0), (1))");
	tv_errclear();
	r = tv_query_audit(f->h->db, audit_add, &s);
	assert_int_equal(r, TV_ERR_DB);
	assert_true(s.n <= 1);                            /* never the row that failed */
	if (strstr(tv_errmsg(r), "catalog database: query: integer overflow") == NULL)
		fail_msg("detail: %s", tv_errmsg(r));
}

/* A query that cannot be prepared says which table is missing. */
static void test_prepare_error(void **state)
{
	struct fx *f = *state;
	struct names s = {0};
	int r;

	sql(f, "DROP TABLE passwords");
	tv_errclear();
	r = tv_query_passwords(f->h->db, password_add, &s);
	assert_int_equal(r, TV_ERR_DB);
	assert_int_equal(s.n, 0);
	if (strstr(tv_errmsg(r), "no such table: passwords") == NULL)
		fail_msg("detail: %s", tv_errmsg(r));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_libraries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tape_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pools, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked_tapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kms_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escrow_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inspect_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_error, setup, teardown),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}
