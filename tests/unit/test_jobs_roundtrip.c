/* tapevault: the write, restore, catalog and decrypt jobs end to end on a
 * virtual library in a temporary directory, through the jobs API only
 * (jobs/admin.h registers the library and its tapes, as `tapevault library
 * create`, `tape new`, `tape export` and `tape insert` do):
 *
 *   - a small tree (files, an empty file, a large incompressible file that
 *     spans 4 MiB tapes in 64 KiB records, compressible text, a symbolic
 *     link, a hard link, modes and times) written to a plain pool and
 *     restored identically;
 *   - the same to a pool encrypted with a password added through the jobs
 *     API: the tape shows the hint but no file name, data or password;
 *   - that tape in a fresh installation: the catalog job reads it as
 *     locked, a wrong password changes nothing, decrypt with the right one
 *     catalogs its contents, and the set restores identically there; in
 *     one that knows the password (under another name) the catalog job
 *     unlocks it by itself;
 *   - tv_set_lookup by name, id, id prefix with and without dashes, and the
 *     ambiguous and unknown cases; the write job's refusals. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "format/record.h"
#include "jobs/admin.h"
#include "jobs/home.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/writer.h"
#include "library/vlib.h"
#include "util/err.h"

#include "testlib.h"

#define ASSERT_OK(expr) do { \
	int r_ = (expr); \
	if (r_ != 0) \
		fail_msg("%s: %d: %s", #expr, r_, tv_errmsg(r_)); \
} while (0)

#define ASSERT_ERR(expr, code, text) do { \
	int r_ = (expr); \
	if (r_ != (code)) \
		fail_msg("%s: expected %d, got %d: %s", #expr, (code), r_, tv_errmsg(r_)); \
	if (strstr(tv_errdetail(), (text)) == NULL) \
		fail_msg("%s: detail lacks \"%s\": %s", #expr, (text), tv_errdetail()); \
} while (0)

#define PASSWORD "correct horse battery"
#define HINT "the usual, with a horse"
#define MiB (1024u * 1024u)
#define TAPE_CAP (4u * MiB)                 /* small tapes, so that sets span */
#define BIG_LEN (6u * MiB + 12345u)

static const struct timespec T1 = { 1500000000, 123456789 };
static const struct timespec T2 = { 1600000000, 0 };

/* ---- fixture: a home with a virtual library of blank tapes ---- */

static struct tv_home *home_new(const char *dir)
{
	struct tv_home *h = NULL;

	ASSERT_OK(tv_home_init(dir, NULL));
	ASSERT_OK(tv_home_open(dir, &h));
	h->quiet = 1;
	return h;
}

/* The library NAME in DIR, registered in the home's catalog, with a blank
 * tape of `capacity` bytes per barcode (as `library create` and `tape new`
 * do). */
static void library_new(struct tv_home *h, const char *name, const char *dir,
                        const char *const *barcodes, size_t n, uint64_t capacity)
{
	struct tv_vlib *l = NULL;
	int64_t lib_id;

	ASSERT_OK(tv_vlib_create(dir, name, 8, 1, 1, &l));
	tv_vlib_close(l);
	ASSERT_OK(tv_admin_library_add(h, name, dir));
	ASSERT_OK(tv_lib_open_by_name(h, name, &l, &lib_id));
	for (size_t i = 0; i < n; i++) {
		ASSERT_OK(tv_vlib_new_tape(l, barcodes[i], capacity, 0, NULL));
		ASSERT_OK(tv_admin_tape_new(h, barcodes[i], lib_id, capacity));
	}
	tv_vlib_close(l);
}

static void set_mtime(const char *path, struct timespec t)
{
	struct timespec ts[2] = { t, t };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void put(const char *root, const char *rel, const void *p, size_t n, mode_t mode)
{
	char *path = tl_path(root, rel);
	tl_write_file(path, p, n, mode);
	free(path);
}

static void mkd(const char *root, const char *rel, mode_t mode)
{
	char *path = tl_path(root, rel);
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

/* The source tree ROOT (a directory that does not exist yet). */
static void make_tree(const char *root, int big)
{
	char *p, *q;
	uint8_t *b;

	assert_int_equal(mkdir(root, 0755), 0);
	put(root, "a.txt", "hello tapevault\n", 16, 0640);
	put(root, "empty", "", 0, 0600);
	put(root, "secret-plans.txt", "the plans\n", 10, 0600);
	if (big) {
		b = malloc(BIG_LEN);
		assert_non_null(b);
		tl_fill_random(b, BIG_LEN, 1);
		put(root, "big.bin", b, BIG_LEN, 0644);
		free(b);
	}
	b = malloc(MiB);
	assert_non_null(b);
	for (size_t i = 0; i < MiB; i++)
		b[i] = (uint8_t)"tapevault keeps keys on tape "[(i * 7 / 5) % 29];
	put(root, "text.txt", b, MiB, 0644);
	free(b);
	mkd(root, "sub", 0750);
	mkd(root, "sub/deep", 0700);
	put(root, "sub/deep/f", "deep", 4, 0444);
	mkd(root, "many", 0755);
	for (int i = 0; i < 40; i++) {
		char name[32], data[64];
		snprintf(name, sizeof(name), "many/f%02d", i);
		tl_fill_random(data, sizeof(data), (uint32_t)(100 + i));
		put(root, name, data, (size_t)(i + 1), 0644);
	}
	p = tl_path(root, "link");
	assert_int_equal(symlink("a.txt", p), 0);
	free(p);
	p = tl_path(root, "a.txt");
	q = tl_path(root, "hard");
	assert_int_equal(link(p, q), 0);
	set_mtime(p, T1);
	free(p);
	free(q);
	p = tl_path(root, "sub/deep/f");
	set_mtime(p, T2);
	free(p);
	p = tl_path(root, "sub");
	set_mtime(p, T1);
	free(p);
}

/* ---- comparing trees ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory, sorted (without . and ..). */
static char **list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		fail_msg("cannot open directory %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		assert_non_null(v);
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

/* want and got hold the same names, types, modes, sizes, contents, link
 * targets and mtimes of regular files and directories; returns how many
 * entries were compared. */
static size_t compare_tree(const char *want, const char *got)
{
	size_t nw, ng, count = 0;
	char **w = list_dir(want, &nw), **g = list_dir(got, &ng);

	for (size_t i = 0; i < nw || i < ng; i++) {
		if (i >= nw || i >= ng || strcmp(w[i], g[i]) != 0)
			fail_msg("%s and %s differ: '%s' against '%s'", want, got,
			         i < nw ? w[i] : "(nothing)", i < ng ? g[i] : "(nothing)");
	}
	for (size_t i = 0; i < nw; i++) {
		char *pw = tl_path(want, w[i]), *pg = tl_path(got, g[i]);
		struct stat sw, sg;

		assert_int_equal(lstat(pw, &sw), 0);
		assert_int_equal(lstat(pg, &sg), 0);
		if ((sw.st_mode & S_IFMT) != (sg.st_mode & S_IFMT))
			fail_msg("%s: type %o, restored %o", pg, sw.st_mode & S_IFMT,
			         sg.st_mode & S_IFMT);
		if (!S_ISLNK(sw.st_mode) && (sw.st_mode & 07777) != (sg.st_mode & 07777))
			fail_msg("%s: mode %o, restored %o", pg, sw.st_mode & 07777,
			         sg.st_mode & 07777);
		if (S_ISREG(sw.st_mode)) {
			size_t a, b;
			uint8_t *da = tl_read_file(pw, &a), *db = tl_read_file(pg, &b);
			if (da == NULL || db == NULL)
				fail_msg("cannot read %s or %s", pw, pg);
			if (a != b || memcmp(da, db, a) != 0)
				fail_msg("%s: %zu bytes, restored %zu bytes that differ", pg, a, b);
			free(da);
			free(db);
		} else if (S_ISLNK(sw.st_mode)) {
			char lw[PATH_MAX], lg[PATH_MAX];
			ssize_t a = readlink(pw, lw, sizeof(lw) - 1), b = readlink(pg, lg, sizeof(lg) - 1);
			assert_true(a >= 0 && b >= 0);
			lw[a] = lg[b] = '\0';
			assert_string_equal(lw, lg);
		} else if (S_ISDIR(sw.st_mode)) {
			count += compare_tree(pw, pg);
		}
		if ((S_ISREG(sw.st_mode) || S_ISDIR(sw.st_mode)) &&
		    (sw.st_mtim.tv_sec != sg.st_mtim.tv_sec ||
		     sw.st_mtim.tv_nsec != sg.st_mtim.tv_nsec))
			fail_msg("%s: mtime %lld.%09ld, restored %lld.%09ld", pg,
			         (long long)sw.st_mtim.tv_sec, sw.st_mtim.tv_nsec,
			         (long long)sg.st_mtim.tv_sec, sg.st_mtim.tv_nsec);
		count++;
		free(pw);
		free(pg);
	}
	for (size_t i = 0; i < nw; i++)
		free(w[i]);
	for (size_t i = 0; i < ng; i++)
		free(g[i]);
	free(w);
	free(g);
	return count;
}

/* The hard link came back as a link, not a copy. */
static void assert_hard_linked(const char *root)
{
	char *a = tl_path(root, "a.txt"), *b = tl_path(root, "hard");
	struct stat sa, sb;

	assert_int_equal(lstat(a, &sa), 0);
	assert_int_equal(lstat(b, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(sa.st_nlink, 2);
	free(a);
	free(b);
}

/* Restores the set into `to` and compares what came back with src_root.
 * The tree lands where the set's first item (the source root) says: the
 * name the write job stored for it. */
static void restore_and_compare(struct tv_home *h, const char *set, const char *src_root,
                                const char *to)
{
	struct tv_restore_opts ro = { .to = to };
	char root[PATH_MAX], *got;
	uint8_t uuid[16];
	int64_t id;
	size_t n;

	ASSERT_OK(tv_set_lookup(h, set, &id, uuid));
	ASSERT_OK(tv_db_get_text(h->db, root, sizeof(root), "SELECT path FROM files WHERE "
	                         "set_id=? ORDER BY idx LIMIT 1", "i", id));
	got = tl_path(to, root);
	ASSERT_OK(tv_job_restore(h, set, &ro));
	n = compare_tree(src_root, got);
	assert_true(n >= 50);
	assert_hard_linked(got);
	free(got);
}

/* Bytes of all tape images of a library, one after the other. */
static uint8_t *library_bytes(const char *dir, const char *const *barcodes, size_t nb,
                              size_t *n)
{
	uint8_t *all = NULL;

	*n = 0;
	for (size_t i = 0; i < nb; i++) {
		char *name = tl_strf("%s.tap", barcodes[i]), *path = tl_path(dir, name);
		size_t len;
		uint8_t *p = tl_read_file(path, &len);
		assert_non_null(p);
		all = realloc(all, *n + len + 1);
		assert_non_null(all);
		memcpy(all + *n, p, len);
		*n += len;
		free(p);
		free(path);
		free(name);
	}
	return all;
}

/* ---- write and restore ---- */

static void test_write_restore_plain(void **state)
{
	static const char *const bc[] = { "VT0001L9", "VT0002L9", "VT0003L9", "VT0004L9" };
	const char *tmp = tl_tmpdir("plain");
	char *home = tl_path(tmp, "home"), *lib = tl_path(tmp, "lib"), *src = tl_path(tmp, "data");
	char *out = tl_path(tmp, "out"), *paths[] = { src };
	struct tv_write_opts wo = { .set_name = "nightly", .record_size = TV_RECORD_SIZE_MIN };
	struct tv_write_result res;
	struct tv_home *h = home_new(home);
	uint8_t *img;
	size_t n;
	int64_t v;
	(void)state;

	library_new(h, "vault", lib, bc, 4, TAPE_CAP);
	ASSERT_OK(tv_pool_create(h, "daily", "vault", NULL, NULL));
	make_tree(src, 1);
	ASSERT_OK(tv_job_write(h, "daily", paths, 1, &wo, &res));
	assert_true(res.tapes >= 2);                       /* big.bin spans */
	assert_true(res.files >= 50);
	assert_true(res.bytes >= BIG_LEN + MiB);
	assert_true(res.stored > BIG_LEN);                 /* random data does not shrink */
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT COUNT(*) FROM files f JOIN backup_sets b ON "
	                        "b.id=f.set_id WHERE b.name='nightly'", ""));
	assert_int_equal(v, (int64_t)res.files);
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT complete FROM backup_sets WHERE name=?", "t",
	                        "nightly"));
	assert_int_equal(v, 1);
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT COUNT(*) FROM tapes WHERE state='pool' AND "
	                        "encrypted=0", ""));
	assert_int_equal(v, (int64_t)res.tapes);
	/* plain: the data is on tape as it is */
	img = library_bytes(lib, bc, 4, &n);
	assert_non_null(memmem(img, n, "hello tapevault", 15));
	free(img);

	restore_and_compare(h, "nightly", src, out);
	tv_home_close(h);
	free(home);
	free(lib);
	free(src);
	free(out);
}

/* Writes the standard tree to pool "offsite" (password "weekly") of a
 * fresh home in TMP; the set's uuid in set_uuid. */
static struct tv_home *write_encrypted(const char *tmp, const char *const *bc, size_t nbc,
                                      uint8_t set_uuid[16])
{
	char *home = tl_path(tmp, "home"), *lib = tl_path(tmp, "lib"), *src = tl_path(tmp, "data");
	char *paths[] = { src };
	struct tv_write_opts wo = { .set_name = "nightly" };
	struct tv_write_result res;
	struct tv_home *h = home_new(home);
	uint8_t *img;
	size_t n;
	int64_t v;

	library_new(h, "vault", lib, bc, nbc, 64 * MiB);
	ASSERT_OK(tv_keys_password_add(h, "weekly", HINT, PASSWORD, strlen(PASSWORD),
	                               TV_KDF_PBKDF2_SHA256));
	ASSERT_OK(tv_pool_create(h, "offsite", "vault", "password:weekly", NULL));
	make_tree(src, 0);
	ASSERT_OK(tv_job_write(h, "offsite", paths, 1, &wo, &res));
	assert_int_equal(res.tapes, 1);
	memcpy(set_uuid, res.set_uuid, 16);
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT encrypted FROM tapes WHERE barcode=?", "t",
	                        bc[0]));
	assert_int_equal(v, 1);
	/* what the tape shows: the hint (on purpose), no name, data or password */
	img = library_bytes(lib, bc, 1, &n);
	assert_non_null(memmem(img, n, HINT, strlen(HINT)));
	assert_null(memmem(img, n, "secret-plans", 12));
	assert_null(memmem(img, n, "hello tapevault", 15));
	assert_null(memmem(img, n, "tapevault keeps keys", 20));
	assert_null(memmem(img, n, PASSWORD, strlen(PASSWORD)));
	free(img);
	free(home);
	free(lib);
	free(src);
	return h;
}

static void test_write_restore_encrypted(void **state)
{
	static const char *const bc[] = { "VT0001L9", "VT0002L9" };
	const char *tmp = tl_tmpdir("enc");
	char *src = tl_path(tmp, "data"), *out = tl_path(tmp, "out");
	uint8_t uuid[16];
	struct tv_home *h = write_encrypted(tmp, bc, 2, uuid);
	(void)state;

	restore_and_compare(h, "nightly", src, out);
	tv_home_close(h);
	free(src);
	free(out);
}

/* ---- a fresh installation and a box of tapes ---- */

static int confirm_yes(void *ctx, const char *question)
{
	(void)ctx;
	assert_non_null(question);
	return 1;
}

/* A fresh installation in TMP/NAME whose library "dr" holds the tape image
 * from the box, inserted as `tape insert` does. */
static struct tv_home *fresh_home_with_tape(const char *tmp, const char *name,
                                            const char *image)
{
	char *dir = tl_strf("%s/%s", tmp, name), *lib = tl_strf("%s/%s-lib", tmp, name);
	struct tv_home *h = home_new(dir);
	struct tv_vlib *l = NULL;
	char barcode[32];
	int64_t lib_id;

	library_new(h, "dr", lib, NULL, 0, 0);
	ASSERT_OK(tv_lib_open_by_name(h, "dr", &l, &lib_id));
	ASSERT_OK(tv_vlib_insert(l, image, TV_VLIB_INSERT_COPY, barcode, NULL));
	tv_vlib_close(l);
	assert_string_equal(barcode, "VT0001L9");
	ASSERT_OK(tv_admin_tape_inserted(h, barcode, lib_id));
	free(dir);
	free(lib);
	return h;
}

/* The identity of the installation that wrote the tape in the box: a new
 * installation catalogs its contents once it trusts it (jobs/writer.h). */
static uint8_t box_writer[TV_WSIG_PUB_LEN];

/* The encrypted tape of a first installation, exported to TMP/box; the
 * path of its image there (caller frees). */
static char *tape_in_a_box(const char *tmp, uint8_t set_uuid[16])
{
	static const char *const bc[] = { "VT0001L9" };
	char *box = tl_path(tmp, "box");
	struct tv_home *h = write_encrypted(tmp, bc, 1, set_uuid);
	struct tv_vlib *l = NULL;
	int64_t lib_id;

	ASSERT_OK(tv_lib_open_by_name(h, "vault", &l, &lib_id));
	ASSERT_OK(tv_vlib_export(l, bc[0], box));
	tv_vlib_close(l);
	ASSERT_OK(tv_admin_tape_exported(h, bc[0]));
	{
		uint8_t fpr[TV_PKFPR_LEN];
		ASSERT_OK(tv_writer_own(h, box_writer, fpr));
	}
	tv_home_close(h);
	free(box);
	return tl_path(tmp, "box/VT0001L9.tap");
}

static int64_t tape_locked(struct tv_home *h)
{
	int64_t v = -1;

	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT locked FROM tapes WHERE barcode='VT0001L9'",
	                        ""));
	return v;
}

/* Years later, on a new machine, without the password in its catalog: the
 * catalog job sees a locked tape; decrypt with the password opens it. */
static void test_catalog_fresh_home(void **state)
{
	const char *tmp = tl_tmpdir("dr");
	char *src = tl_path(tmp, "data"), *out = tl_path(tmp, "out");
	char *pwf = tl_path(tmp, "pw.txt"), *badf = tl_path(tmp, "bad.txt");
	struct tv_catalog_opts co = { .labels_only = 0 };
	struct tv_decrypt_opts dopt = { .confirm = confirm_yes };
	char *barcodes[] = { "VT0001L9" };
	uint8_t uuid[16], uuid2[16];
	char *image = tape_in_a_box(tmp, uuid);
	struct tv_home *h = fresh_home_with_tape(tmp, "home2", image);
	int64_t id, v;
	(void)state;

	/* the tape's writer is not known here: its labels are recorded, its
	 * contents are not read (the job says so: exit 1) */
	ASSERT_ERR(tv_job_catalog(h, "dr", NULL, 0, &co), TV_ERR_PERM, "untrusted writer");
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT COUNT(*) FROM tapes WHERE barcode='VT0001L9' "
	                        "AND uuid IS NOT NULL AND contents_cataloged=0", ""));
	assert_int_equal(v, 1);
	ASSERT_OK(tv_writer_trust_add(h, box_writer, "test"));
	/* the catalog job reads the labels; the tape stays locked: that is a
	 * state, not a failure */
	ASSERT_OK(tv_job_catalog(h, "dr", NULL, 0, &co));
	assert_int_equal(tape_locked(h), 1);
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT COUNT(*) FROM pools WHERE name='offsite' "
	                        "AND imported=1", ""));
	assert_int_equal(v, 1);
	ASSERT_ERR(tv_set_lookup(h, "nightly", &id, uuid2), TV_ERR_NOTFOUND, "no backup set");

	/* a wrong password changes nothing */
	tl_write_file(badf, "not the password\n", 17, 0600);
	dopt.password_file = badf;
	ASSERT_ERR(tv_job_decrypt(h, barcodes, 1, &dopt), TV_ERR_BADKEY, "VT0001L9");
	assert_int_equal(tape_locked(h), 1);
	assert_int_equal(tv_set_lookup(h, "nightly", &id, uuid2), TV_ERR_NOTFOUND);

	/* the right one unlocks it and catalogs what it holds */
	tl_write_file(pwf, PASSWORD "\n", strlen(PASSWORD) + 1, 0600);
	dopt.password_file = pwf;
	ASSERT_OK(tv_job_decrypt(h, barcodes, 1, &dopt));
	assert_int_equal(tape_locked(h), 0);
	ASSERT_OK(tv_set_lookup(h, "nightly", &id, uuid2));
	assert_memory_equal(uuid, uuid2, 16);
	restore_and_compare(h, "nightly", src, out);
	tv_home_close(h);
	free(image);
	free(src);
	free(out);
	free(pwf);
	free(badf);
}

/* A new machine that already knows the password (added through the jobs
 * API before the tape arrives): the catalog job unlocks the tape itself. */
static void test_catalog_known_password(void **state)
{
	const char *tmp = tl_tmpdir("dr2");
	char *src = tl_path(tmp, "data"), *out = tl_path(tmp, "out");
	struct tv_catalog_opts co = { .labels_only = 0 };
	uint8_t uuid[16], uuid2[16];
	char *image = tape_in_a_box(tmp, uuid);
	struct tv_home *h = fresh_home_with_tape(tmp, "home3", image);
	int64_t id;
	(void)state;

	ASSERT_OK(tv_keys_password_add(h, "the-old-one", "from the safe", PASSWORD,
	                               strlen(PASSWORD), TV_KDF_PBKDF2_SHA256));
	{
		/* the writer accepted for this job only, as --trust-writer does */
		uint8_t fpr[TV_PKFPR_LEN];
		char fs[TV_PKFPR_STR_LEN], *tw[1] = { fs };
		ASSERT_OK(tv_identity_raw_fingerprint(box_writer, fpr));
		tv_pkfpr_format(fpr, fs);
		h->trust_writer = tw;
		h->ntrust_writer = 1;
		ASSERT_OK(tv_job_catalog(h, "dr", NULL, 0, &co));
		h->trust_writer = NULL;
		h->ntrust_writer = 0;
		assert_int_equal(tv_writer_is_trusted(h, fpr), 1);
	}
	assert_int_equal(tape_locked(h), 0);
	ASSERT_OK(tv_set_lookup(h, "nightly", &id, uuid2));
	assert_memory_equal(uuid, uuid2, 16);
	restore_and_compare(h, "nightly", src, out);
	tv_home_close(h);
	free(image);
	free(src);
	free(out);
}

/* ---- backup sets by reference, and the write job's refusals ---- */

static void write_small(struct tv_home *h, const char *src, const char *name,
                        uint8_t uuid[16])
{
	char *paths[] = { (char *)src };
	struct tv_write_opts wo = { .set_name = name };
	struct tv_write_result res;

	ASSERT_OK(tv_job_write(h, "daily", paths, 1, &wo, &res));
	memcpy(uuid, res.set_uuid, 16);
}

static void test_set_lookup(void **state)
{
	static const char *const bc[] = { "VT0001L9", "VT0002L9" };
	const char *tmp = tl_tmpdir("lookup");
	char *home = tl_path(tmp, "home"), *lib = tl_path(tmp, "lib"), *src = tl_path(tmp, "data");
	struct tv_home *h = home_new(home);
	uint8_t ua[16], ub1[16], ub2[16], got[16];
	char str[37], ref[40];
	int64_t id, ida;
	(void)state;

	library_new(h, "vault", lib, bc, 2, 64 * MiB);
	ASSERT_OK(tv_pool_create(h, "daily", "vault", NULL, NULL));
	assert_int_equal(mkdir(src, 0755), 0);
	put(src, "f", "x", 1, 0644);
	write_small(h, src, "alpha", ua);
	write_small(h, src, "beta", ub1);
	write_small(h, src, "beta", ub2);

	/* by name */
	ASSERT_OK(tv_set_lookup(h, "alpha", &ida, got));
	assert_memory_equal(got, ua, 16);
	ASSERT_OK(tv_db_get_int(h->db, &id, "SELECT id FROM backup_sets WHERE name='alpha'", ""));
	assert_int_equal(ida, id);
	/* by id, in full and by a unique prefix, with or without dashes, any case */
	tv_uuid_to_str(ua, str);
	ASSERT_OK(tv_set_lookup(h, str, &id, got));
	assert_int_equal(id, ida);
	snprintf(ref, sizeof(ref), "%.13s", str);              /* "xxxxxxxx-xxxx" */
	ASSERT_OK(tv_set_lookup(h, ref, &id, got));
	assert_int_equal(id, ida);
	for (char *c = ref; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
	ASSERT_OK(tv_set_lookup(h, ref, &id, got));
	assert_int_equal(id, ida);
	{
		char *hex = tl_tohex(ua, 16);
		snprintf(ref, sizeof(ref), "%.12s", hex);      /* no dashes, past the first */
		ASSERT_OK(tv_set_lookup(h, ref, &id, got));
		assert_int_equal(id, ida);
		free(hex);
	}
	/* two sets of one name: ambiguous, and the message says what to do */
	ASSERT_ERR(tv_set_lookup(h, "beta", &id, got), TV_ERR_INVAL, "matches 2 backup sets");
	assert_non_null(strstr(tv_errdetail(), "give (more of) the id"));
	/* each of them by its id */
	tv_uuid_to_str(ub2, str);
	ASSERT_OK(tv_set_lookup(h, str, &id, got));
	assert_memory_equal(got, ub2, 16);
	/* an id prefix two sets share: ambiguous too */
	{
		uint8_t twin[16];
		memcpy(twin, ub1, 16);
		memcpy(twin, ua, 4);
		ASSERT_OK(tv_db_exec(h->db, "UPDATE backup_sets SET uuid=? WHERE uuid=?", "bb", twin,
		                     (size_t)16, ub1, (size_t)16));
		tv_uuid_to_str(ua, str);
		snprintf(ref, sizeof(ref), "%.8s", str);
		ASSERT_ERR(tv_set_lookup(h, ref, &id, got), TV_ERR_INVAL, "matches 2 backup sets");
	}
	/* unknown, too short to be a prefix, not hex */
	ASSERT_ERR(tv_set_lookup(h, "gamma", &id, got), TV_ERR_NOTFOUND, "no backup set 'gamma'");
	snprintf(ref, sizeof(ref), "%.3s", str);
	assert_int_equal(tv_set_lookup(h, ref, &id, got), TV_ERR_NOTFOUND);
	assert_int_equal(tv_set_lookup(h, "%", &id, got), TV_ERR_NOTFOUND);
	assert_int_equal(tv_set_lookup(h, "____", &id, got), TV_ERR_NOTFOUND);
	tv_home_close(h);
	free(home);
	free(lib);
	free(src);
}

static void test_write_refusals(void **state)
{
	static const char *const bc[] = { "VT0001L9" };
	const char *tmp = tl_tmpdir("refuse");
	char *home = tl_path(tmp, "home"), *lib = tl_path(tmp, "lib"), *src = tl_path(tmp, "data");
	char *missing = tl_path(tmp, "nothing-here"), *paths[] = { src }, *mpaths[] = { missing };
	struct tv_write_opts wo = { .set_name = "s" };
	struct tv_write_result res;
	struct tv_home *h = home_new(home);
	int64_t v;
	(void)state;

	library_new(h, "vault", lib, bc, 1, 64 * MiB);
	ASSERT_OK(tv_pool_create(h, "daily", "vault", NULL, NULL));
	ASSERT_OK(tv_pool_create(h, "weekly", "vault", NULL, "per-job"));
	assert_int_equal(mkdir(src, 0755), 0);
	put(src, "f", "x", 1, 0644);

	ASSERT_ERR(tv_job_write(h, "nosuch", paths, 1, &wo, &res), TV_ERR_NOTFOUND,
	           "no media pool named 'nosuch'");
	ASSERT_ERR(tv_job_write(h, "daily", mpaths, 1, &wo, &res), TV_ERR_NOTFOUND, missing);
	/* the one tape goes to daily; weekly then has none left */
	ASSERT_OK(tv_job_write(h, "daily", paths, 1, &wo, &res));
	ASSERT_ERR(tv_job_write(h, "weekly", paths, 1, &wo, &res), TV_ERR_NOSPC,
	           "no free tape left in the library of pool 'weekly'");
	/* a failed job leaves no backup set behind */
	ASSERT_OK(tv_db_get_int(h->db, &v, "SELECT COUNT(*) FROM backup_sets", ""));
	assert_int_equal(v, 1);
	/* an imported pool is not written to */
	ASSERT_OK(tv_db_exec(h->db, "UPDATE pools SET imported=1 WHERE name='daily'", ""));
	ASSERT_ERR(tv_job_write(h, "daily", paths, 1, &wo, &res), TV_ERR_STATE, "imported");
	tv_home_close(h);
	free(home);
	free(lib);
	free(src);
	free(missing);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_restore_plain),
		cmocka_unit_test(test_write_restore_encrypted),
		cmocka_unit_test(test_catalog_fresh_home),
		cmocka_unit_test(test_catalog_known_password),
		cmocka_unit_test(test_set_lookup),
		cmocka_unit_test(test_write_refusals),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
