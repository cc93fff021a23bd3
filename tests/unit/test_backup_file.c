/* tapevault: job-encrypted disk backup files: create/extract round trips
 * (files, directories, symlinks, hard links, modes, mtimes), plaintext
 * backups, wrong password, truncation, bit flips, reordered chunks,
 * hostile archive paths, no partial output on failure. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "backup/backup.h"
#include "backup/bfile.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "crypto/slot.h"
#include "util/err.h"

#include "testlib.h"

static const char *dir;
static struct tv_kek kek;          /* cheap Argon2id KEK for "pw" */
static char *src;                  /* the standard source tree */
static const struct timespec T1 = { 1500000000, 123456789 };
static const struct timespec T2 = { 1600000000, 0 };

static void set_mtime(const char *path, struct timespec t)
{
	struct timespec ts[2] = { t, t };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void put(const char *path, const void *data, size_t n, mode_t mode)
{
	tl_write_file(path, data, n, mode);
}

static uint8_t *big;
#define BIG_LEN (2u * 1024u * 1024u + 12345u)

static void make_tree(const char *root)
{
	char *p;

	assert_int_equal(mkdir(root, 0755), 0);
	p = tl_path(dir, "src/a.txt"); put(p, "hello tapevault\n", 16, 0640); set_mtime(p, T1); free(p);
	p = tl_path(dir, "src/empty"); put(p, "", 0, 0600); free(p);
	p = tl_path(dir, "src/big.bin"); put(p, big, BIG_LEN, 0644); free(p);
	p = tl_path(dir, "src/sub"); assert_int_equal(mkdir(p, 0750), 0); free(p);
	p = tl_path(dir, "src/sub/deep"); assert_int_equal(mkdir(p, 0700), 0); free(p);
	p = tl_path(dir, "src/sub/deep/f"); put(p, "deep", 4, 0444); set_mtime(p, T2); free(p);
	p = tl_path(dir, "src/link"); assert_int_equal(symlink("a.txt", p), 0); free(p);
	p = tl_path(dir, "src/dangling"); assert_int_equal(symlink("/nonexistent/target", p), 0); free(p);
	p = tl_path(dir, "src/hard"); { char *a = tl_path(dir, "src/a.txt"); assert_int_equal(link(a, p), 0); free(a); } free(p);
	p = tl_path(dir, "src/ro"); assert_int_equal(mkdir(p, 0755), 0); free(p);
	p = tl_path(dir, "src/ro/x"); put(p, "x", 1, 0644); free(p);
	p = tl_path(dir, "src/ro"); assert_int_equal(chmod(p, 0555), 0); set_mtime(p, T2); free(p);
	p = tl_path(dir, "src/sub"); set_mtime(p, T1); free(p);
}

static int setup(void **state)
{
	struct tv_kdf_params p;
	(void)state;

	dir = tl_tmpdir("backup");
	unsetenv("TAPEVAULT_PASSWORD");
	big = malloc(BIG_LEN);
	tv_random(big, BIG_LEN);
	tv_kdf_params_new(&p, TV_KDF_ARGON2ID);
	p.iter = 2;
	p.mem_kib = TV_ARGON2_M_MIN;
	if (tv_kek_derive(&kek, TV_KDF_ARGON2ID, &p, "pw", 2) != 0)
		return -1;
	src = tl_path(dir, "src");
	make_tree(src);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(src);
	free(big);
	tv_kek_wipe(&kek);
	return 0;
}

static void check_file(const char *path, const void *data, size_t n, mode_t mode)
{
	struct stat st;
	size_t len;
	uint8_t *got = tl_read_file(path, &len);

	assert_non_null(got);
	assert_int_equal(len, n);
	if (n > 0)
		assert_memory_equal(got, data, n);
	free(got);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

static void check_tree(const char *out)
{
	char *p, *q, buf[256];
	struct stat st, st2;
	ssize_t n;

	assert_true(asprintf(&p, "%s/src/a.txt", out) > 0);
	check_file(p, "hello tapevault\n", 16, 0640);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T1.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, T1.tv_nsec);      /* to the nanosecond */
	free(p);
	assert_true(asprintf(&p, "%s/src/empty", out) > 0);
	check_file(p, "", 0, 0600);
	free(p);
	assert_true(asprintf(&p, "%s/src/big.bin", out) > 0);
	check_file(p, big, BIG_LEN, 0644);
	free(p);
	assert_true(asprintf(&p, "%s/src/sub/deep/f", out) > 0);
	check_file(p, "deep", 4, 0444);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T2.tv_sec);
	free(p);
	assert_true(asprintf(&p, "%s/src/sub", out) > 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_mtim.tv_sec, T1.tv_sec);
	free(p);
	assert_true(asprintf(&p, "%s/src/sub/deep", out) > 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(p);
	assert_true(asprintf(&p, "%s/src/ro", out) > 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(st.st_mtim.tv_sec, T2.tv_sec);
	free(p);
	assert_true(asprintf(&p, "%s/src/link", out) > 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_int_equal(n, 5);
	buf[n] = '\0';
	assert_string_equal(buf, "a.txt");
	free(p);
	assert_true(asprintf(&p, "%s/src/dangling", out) > 0);
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "/nonexistent/target");
	free(p);
	assert_true(asprintf(&p, "%s/src/hard", out) > 0);
	assert_true(asprintf(&q, "%s/src/a.txt", out) > 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(lstat(q, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);          /* still a hard link */
	free(p);
	free(q);
}

/* No leftovers of a failed extraction next to dest. */
static void assert_no_tmp(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		assert_null(strstr(e->d_name, ".tvtmp-"));
	closedir(d);
}

static struct tv_backup_keys pw_keys(void)
{
	struct tv_backup_keys k;

	memset(&k, 0, sizeof(k));
	k.kek = &kek;
	k.password_name = "jobpw";
	k.password_hint = "the job one";
	return k;
}

static struct tv_password_unlock pu_ok = { "pw", 2, NULL };
static const struct tv_unlocker unlock_ok = { tv_unlock_password, &pu_ok, 1 };

static void test_roundtrip_encrypted(void **state)
{
	char *out = tl_path(dir, "enc.tvb"), *dest = tl_path(dir, "restore-enc");
	const char *srcs[] = { src };
	struct tv_backup_keys k = pw_keys();
	struct tv_backup_stats st, xs;
	struct tv_backup_info info;
	uint8_t *data;
	size_t n;
	(void)state;

	assert_int_equal(tv_backup_create(srcs, 1, out, &k, &st), 0);
	assert_int_equal(st.files, 6);          /* a.txt empty big.bin f x, hard link */
	assert_int_equal(st.symlinks, 2);
	assert_int_equal(st.dirs, 4);          /* src sub deep ro */
	assert_int_equal(st.skipped, 0);
	assert_true(st.chunks >= 3);
	/* the file is encrypted: no plaintext visible */
	data = tl_read_file(out, &n);
	assert_non_null(data);
	assert_int_equal(n, st.file_bytes);
	assert_true(tv_backup_probe(data, (size_t)n));
	assert_null(memmem(data, (size_t)n, "hello tapevault", 15));
	assert_null(memmem(data, (size_t)n, big + 1000, 64));
	free(data);
	{
		struct stat sb;
		assert_int_equal(stat(out, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}

	assert_int_equal(tv_backup_inspect(out, &info), 0);
	assert_true(info.encrypted);
	assert_memory_equal(info.uuid, st.uuid, 16);
	assert_int_equal(info.nslots, 1);
	assert_int_equal(info.slots[0].type, TV_SLOT_PASSWORD);
	assert_string_equal(info.slots[0].name, "jobpw");
	assert_string_equal(info.slots[0].hint, "the job one");
	assert_int_equal(info.chunk_size, TV_BACKUP_CHUNK_DEFAULT);
	assert_non_null(strstr(info.writer, "tapevault"));

	/* without a key: locked, describing the slot */
	assert_int_equal(tv_backup_extract(out, dest, NULL, NULL), TV_ERR_LOCKED);
	assert_non_null(strstr(tv_errdetail(), "jobpw"));
	assert_int_equal(access(dest, F_OK), -1);

	assert_int_equal(tv_backup_extract(out, dest, &unlock_ok, &xs), 0);
	assert_int_equal(xs.files, 6);
	assert_int_equal(xs.skipped, 0);
	check_tree(dest);
	assert_no_tmp();
	/* extracting again into the now non-empty directory is refused */
	assert_int_equal(tv_backup_extract(out, dest, &unlock_ok, NULL), TV_ERR_EXISTS);
	/* the output is never overwritten */
	assert_int_equal(tv_backup_create(srcs, 1, out, &k, NULL), TV_ERR_EXISTS);
	free(out);
	free(dest);
}

static void test_real_password_and_wrong(void **state)
{
	char *out = tl_path(dir, "realpw.tvb"), *dest = tl_path(dir, "restore-realpw");
	const char *srcs[] = { src };
	struct tv_backup_keys k;
	struct tv_password_unlock bad = { "wrong", 5, NULL }, good = { "hunter2", 7, NULL };
	struct tv_unlocker ub = { tv_unlock_password, &bad, 1 }, ug = { tv_unlock_password, &good, 1 };
	(void)state;

	memset(&k, 0, sizeof(k));
	k.password = "hunter2";
	k.password_len = 7;
	k.password_name = "nightly";
	k.password_hint = "the cat";          /* default KDF: PBKDF2, 600k */
	assert_int_equal(tv_backup_create(srcs, 1, out, &k, NULL), 0);
	assert_int_equal(tv_backup_extract(out, dest, &ub, NULL), TV_ERR_BADKEY);
	assert_non_null(strstr(tv_errdetail(), out));
	assert_non_null(strstr(tv_errdetail(), "wrong password for slot nightly (hint: the cat)"));
	assert_int_equal(access(dest, F_OK), -1);
	assert_no_tmp();
	assert_int_equal(tv_backup_extract(out, dest, &ug, NULL), 0);
	check_tree(dest);
	free(out);
	free(dest);
}

static void test_roundtrip_plaintext(void **state)
{
	char *out = tl_path(dir, "plain.tvb"), *dest = tl_path(dir, "restore-plain"), *e = tl_path(dir, "emptydir");
	const char *srcs[] = { src, e };
	struct tv_backup_info info;
	struct tv_backup_stats st;
	(void)state;

	assert_int_equal(mkdir(e, 0710), 0);
	assert_int_equal(tv_backup_create(srcs, 2, out, NULL, &st), 0);
	assert_int_equal(tv_backup_inspect(out, &info), 0);
	assert_false(info.encrypted);
	assert_int_equal(info.nslots, 0);
	assert_int_equal(mkdir(dest, 0750), 0);            /* an empty dir is fine */
	assert_int_equal(tv_backup_extract(out, dest, NULL, NULL), 0);
	check_tree(dest);
	{
		char *p;
		struct stat sb;
		assert_true(asprintf(&p, "%s/emptydir", dest) > 0);
		assert_int_equal(lstat(p, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
		assert_int_equal(sb.st_mode & 07777, 0710);
		free(p);
		assert_int_equal(lstat(dest, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0750);   /* kept */
	}
	/* the same base name twice is refused */
	{
		char *o2 = tl_path(dir, "dup.tvb");
		const char *dup[] = { src, src };
		assert_int_equal(tv_backup_create(dup, 2, o2, NULL, NULL), TV_ERR_INVAL);
		assert_int_equal(access(o2, F_OK), -1);
		free(o2);
	}
	free(out);
	free(dest);
	free(e);
}

/* issue 10 finding 1: an encrypted backup file replaced by a plaintext
 * one is refused when the caller holds a key (or its catalog says the
 * file is encrypted); the probe that flags files on tape sees only
 * encrypted ones. */
static void test_plaintext_swap_refused(void **state)
{
	char *enc = tl_path(dir, "swap-enc.tvb"), *plain = tl_path(dir, "swap-plain.tvb");
	char *dest = tl_path(dir, "restore-swap");
	const char *srcs[] = { src };
	struct tv_backup_keys k = pw_keys();
	struct tv_password_unlock pu = { "pw", 2, NULL };
	struct tv_unlocker u = { tv_unlock_password, &pu, 1 };
	uint8_t head[8];
	size_t n;
	uint8_t *d;
	(void)state;

	assert_int_equal(tv_backup_create(srcs, 1, enc, &k, NULL), 0);
	assert_int_equal(tv_backup_create(srcs, 1, plain, NULL, NULL), 0);
	d = tl_read_file(enc, &n);
	memcpy(head, d, 8);
	assert_true(tv_backup_probe_encrypted(head, 8));
	free(d);
	d = tl_read_file(plain, &n);
	assert_true(tv_backup_probe(d, n));
	assert_false(tv_backup_probe_encrypted(d, n));
	assert_false(tv_backup_probe_encrypted(d, 7));
	free(d);
	assert_int_equal(rename(plain, enc), 0);       /* the swap */
	assert_int_equal(tv_backup_extract(enc, dest, &u, NULL), TV_ERR_AUTH);
	assert_non_null(strstr(tv_errdetail(), enc));
	assert_non_null(strstr(tv_errdetail(), "refused: the file is not encrypted"));
	assert_int_equal(access(dest, F_OK), -1);
	assert_no_tmp();
	/* without a key and without the catalog's word it is a plaintext file */
	u.expect_encrypted = 0;
	assert_int_equal(tv_backup_extract(enc, dest, &u, NULL), 0);
	check_tree(dest);
	free(enc);
	free(plain);
	free(dest);
}

static void test_empty_source(void **state)
{
	char *e = tl_path(dir, "only-empty"), *out = tl_path(dir, "empty.tvb"), *dest = tl_path(dir, "restore-empty"), *p;
	const char *srcs[] = { e };
	struct tv_backup_keys k = pw_keys();
	struct tv_backup_stats st;
	struct stat sb;
	(void)state;

	assert_int_equal(mkdir(e, 0700), 0);
	assert_int_equal(tv_backup_create(srcs, 1, out, &k, &st), 0);
	assert_int_equal(st.dirs, 1);
	assert_int_equal(st.files, 0);
	assert_int_equal(st.chunks, 1);
	assert_int_equal(tv_backup_extract(out, dest, &unlock_ok, NULL), 0);
	assert_true(asprintf(&p, "%s/only-empty", dest) > 0);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	free(p);
	/* sources that do not exist */
	{
		char *o2 = tl_path(dir, "missing.tvb"), *m = tl_path(dir, "no-such-dir");
		const char *ms[] = { m };
		assert_int_equal(tv_backup_create(ms, 1, o2, NULL, NULL), TV_ERR_NOTFOUND);
		assert_int_equal(access(o2, F_OK), -1);
		free(o2);
		free(m);
	}
	free(e);
	free(out);
	free(dest);
}

/* Writes the first n bytes of in to path. */
static void write_prefix(const char *path, const uint8_t *in, size_t n)
{
	unlink(path);
	put(path, in, n, 0600);
}

static void test_truncated(void **state)
{
	char *out = tl_path(dir, "trunc.tvb"), *cut = tl_path(dir, "cut.tvb"), *dest = tl_path(dir, "restore-trunc");
	const char *srcs[] = { src };
	struct tv_backup_keys k = pw_keys();
	struct tv_backup_info info;
	struct tv_backup_stats st;
	uint8_t *data;
	size_t n;
	size_t chunk = TV_BF_CHUNK_HDR + TV_BACKUP_CHUNK_DEFAULT + TV_BF_TAG;
	(void)state;

	assert_int_equal(tv_backup_create(srcs, 1, out, &k, &st), 0);
	assert_int_equal(tv_backup_inspect(out, &info), 0);
	data = tl_read_file(out, &n);
	assert_non_null(data);
	assert_true(n > 0);
	/* the last chunk removed: an exact chunk boundary */
	write_prefix(cut, data, info.header_len + 2 * chunk);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_EOF);
	assert_non_null(strstr(tv_errdetail(), "truncated (chunk 2 of an unknown total is "
	                       "missing its end marker)"));
	assert_non_null(strstr(tv_errdetail(), cut));
	assert_int_equal(access(dest, F_OK), -1);
	assert_no_tmp();
	/* cut in the middle of a chunk, in the chunk header, after the header */
	write_prefix(cut, data, info.header_len + chunk + 1000);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_EOF);
	assert_non_null(strstr(tv_errdetail(), "chunk 1 "));
	write_prefix(cut, data, info.header_len + 3);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_EOF);
	assert_non_null(strstr(tv_errdetail(), "chunk 0 "));
	write_prefix(cut, data, info.header_len);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_EOF);
	write_prefix(cut, data, (size_t)n - 1);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_EOF);
	/* in the header */
	write_prefix(cut, data, info.header_len - 1);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_EOF);
	assert_non_null(strstr(tv_errdetail(), "truncated in the header"));
	write_prefix(cut, data, 6);
	assert_int_equal(tv_backup_inspect(cut, &info), TV_ERR_EOF);
	/* extra bytes after the end */
	{
		uint8_t *more = malloc((size_t)n + 1);
		memcpy(more, data, (size_t)n);
		more[n] = 0;
		write_prefix(cut, more, (size_t)n + 1);
		assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "after the last chunk"));
		free(more);
	}
	/* not a backup file at all */
	write_prefix(cut, (const uint8_t *)"PK\3\4 a zip file", 15);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_FORMAT);
	assert_non_null(strstr(tv_errdetail(), "not a tapevault backup file"));
	assert_int_equal(tv_backup_inspect(cut, &info), TV_ERR_FORMAT);
	write_prefix(cut, (const uint8_t *)"", 0);
	assert_int_equal(tv_backup_extract(cut, dest, &unlock_ok, NULL), TV_ERR_FORMAT);
	assert_int_equal(access(dest, F_OK), -1);
	assert_no_tmp();
	free(data);
	free(out);
	free(cut);
	free(dest);
}

static void test_bitflips(void **state)
{
	char *out = tl_path(dir, "flip.tvb"), *bad = tl_path(dir, "bad.tvb"), *dest = tl_path(dir, "restore-flip");
	const char *srcs[] = { src };
	struct tv_backup_keys k = pw_keys();
	struct tv_backup_info info;
	uint8_t *data;
	size_t n;
	size_t chunk = TV_BF_CHUNK_HDR + TV_BACKUP_CHUNK_DEFAULT + TV_BF_TAG;
	size_t at[] = { 0, 0, 0, 0, 0, 0 };
	int want[] = { TV_ERR_AUTH, TV_ERR_AUTH, TV_ERR_AUTH, TV_ERR_FORMAT, TV_ERR_CRC,
	               TV_ERR_FORMAT };
	(void)state;

	assert_int_equal(tv_backup_create(srcs, 1, out, &k, NULL), 0);
	assert_int_equal(tv_backup_inspect(out, &info), 0);
	data = tl_read_file(out, &n);
	assert_non_null(data);
	at[0] = info.header_len + 8 + 100;               /* chunk 0 payload */
	at[1] = info.header_len + chunk + 8 + 5000;      /* chunk 1 payload */
	at[2] = (size_t)n - 3;                           /* last chunk's tag */
	at[3] = info.header_len + chunk + 5;             /* chunk 1 length field */
	at[4] = 40;                                      /* header body */
	at[5] = info.header_len + 2 * chunk;             /* chunk 2 flags (LAST cleared) */
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		data[at[i]] ^= (i == 5) ? 0x01 : 0x40;
		write_prefix(bad, data, (size_t)n);
		assert_int_equal(tv_backup_extract(bad, dest, &unlock_ok, NULL), want[i]);
		if (want[i] == TV_ERR_AUTH)
			assert_non_null(strstr(tv_errdetail(), "authentication failed at chunk"));
		if (i == 2)
			assert_non_null(strstr(tv_errdetail(), "chunk 2: the file was modified"));
		assert_int_equal(access(dest, F_OK), -1);
		data[at[i]] ^= (i == 5) ? 0x01 : 0x40;
	}
	/* swapped chunks 0 and 1 */
	{
		uint8_t *tmp = malloc(chunk);
		memcpy(tmp, data + info.header_len, chunk);
		memmove(data + info.header_len, data + info.header_len + chunk, chunk);
		memcpy(data + info.header_len + chunk, tmp, chunk);
		write_prefix(bad, data, (size_t)n);
		assert_int_equal(tv_backup_extract(bad, dest, &unlock_ok, NULL), TV_ERR_AUTH);
		assert_non_null(strstr(tv_errdetail(), "authentication failed at chunk 0: the "
		                       "file was modified"));
		free(tmp);
	}
	assert_no_tmp();
	free(data);
	/* plaintext backups detect damage too (checksum) */
	{
		char *pl = tl_path(dir, "flip-plain.tvb");
		const char *s2[] = { src };
		assert_int_equal(tv_backup_create(s2, 1, pl, NULL, NULL), 0);
		assert_int_equal(tv_backup_inspect(pl, &info), 0);
		data = tl_read_file(pl, &n);
		assert_non_null(data);
		data[info.header_len + 8 + 777] ^= 1;
		write_prefix(bad, data, (size_t)n);
		assert_int_equal(tv_backup_extract(bad, dest, NULL, NULL), TV_ERR_CRC);
		assert_non_null(strstr(tv_errdetail(), "checksum mismatch at chunk 0"));
		assert_int_equal(access(dest, F_OK), -1);
		free(data);
		free(pl);
	}
	free(out);
	free(bad);
	free(dest);
}

static void test_escrow_and_extra_slots(void **state)
{
	char *out = tl_path(dir, "escrow.tvb"), *dest = tl_path(dir, "restore-escrow");
	const char *srcs[] = { src };
	EVP_PKEY *auth = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *keys[1] = { auth };
	struct tv_backup_keys k = pw_keys();
	struct tv_backup_info info;
	struct tv_escrow_unlock eu = { auth };
	struct tv_unlocker u = { tv_unlock_escrow, &eu, 1 };
	(void)state;

	assert_non_null(auth);
	k.escrow = keys;
	k.nescrow = 1;
	assert_int_equal(tv_backup_create(srcs, 1, out, &k, NULL), 0);
	assert_int_equal(tv_backup_inspect(out, &info), 0);
	assert_int_equal(info.nslots, 2);
	assert_int_equal(info.slots[1].type, TV_SLOT_ESCROW);
	assert_int_equal(tv_backup_extract(out, dest, &u, NULL), 0);
	check_tree(dest);
	EVP_PKEY_free(auth);
	/* no protector at all is refused */
	{
		struct tv_backup_keys none;
		char *o2 = tl_path(dir, "nokeys.tvb");
		memset(&none, 0, sizeof(none));
		assert_int_equal(tv_backup_create(srcs, 1, o2, &none, NULL), TV_ERR_INVAL);
		assert_int_equal(access(o2, F_OK), -1);
		free(o2);
	}
	free(out);
	free(dest);
}

static void test_partial_socket_and_self(void **state)
{
	char *s = tl_path(dir, "withsock"), *sock = tl_path(dir, "withsock/sock"), *out = tl_path(dir, "withsock/self.tvb");
	char *dest = tl_path(dir, "restore-sock"), *p;
	const char *srcs[] = { s };
	struct sockaddr_un sa;
	struct tv_backup_stats st;
	int fd;
	(void)state;

	assert_int_equal(mkdir(s, 0755), 0);
	p = tl_path(dir, "withsock/file"); put(p, "data", 4, 0644); free(p);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		close(fd);
		free(s); free(sock); free(out); free(dest);
		skip();
	}
	strcpy(sa.sun_path, sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* the output goes inside the source: it must not archive itself */
	assert_int_equal(tv_backup_create(srcs, 1, out, NULL, &st), TV_ERR_PARTIAL);
	close(fd);
	assert_int_equal(st.skipped, 1);
	assert_non_null(strstr(st.first_problem, "sock"));
	assert_int_equal(st.files, 1);
	assert_int_equal(access(out, F_OK), 0);
	assert_int_equal(tv_backup_extract(out, dest, NULL, &st), 0);
	assert_int_equal(st.files, 1);
	p = tl_path(dir, "restore-sock/withsock/self.tvb");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	free(s);
	free(sock);
	free(out);
	free(dest);
}

/* A backup whose tar stream tries to escape the destination. */
static la_ssize_t mem_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	(void)a;
	return tv_bwriter_write(ctx, buf, n) == 0 ? (la_ssize_t)n : -1;
}

static void add_entry(struct archive *a, const char *path, int type, const char *target,
                      const char *data)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, 0644);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, target);
	if (data != NULL)
		archive_entry_set_size(e, (la_int64_t)strlen(data));
	assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
	if (data != NULL)
		assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t)strlen(data));
	archive_entry_free(e);
}

static int fd_write_cb(void *ctx, const void *p, size_t n)
{
	return write(*(int *)ctx, p, n) == (ssize_t)n ? 0 : TV_ERR_IO;
}

static void test_hostile_paths(void **state)
{
	char *out = tl_path(dir, "hostile.tvb"), *dest = tl_path(dir, "restore-hostile"), *p, *evil;
	struct tv_backup_info info;
	struct tv_bwriter *w;
	struct tv_backup_stats st;
	struct archive *a;
	int fd;
	(void)state;

	memset(&info, 0, sizeof(info));
	tv_uuid_new(info.uuid);
	info.chunk_size = TV_BACKUP_CHUNK_MIN;
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(tv_bwriter_open(&w, out, fd_write_cb, &fd, &info, NULL), 0);
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open2(a, w, NULL, mem_write, NULL, NULL), ARCHIVE_OK);
	assert_true(asprintf(&evil, "%s/evil-abs", dir) > 0);
	add_entry(a, "ok.txt", AE_IFREG, NULL, "fine");
	add_entry(a, "../evil-dotdot", AE_IFREG, NULL, "bad");
	add_entry(a, evil, AE_IFREG, NULL, "bad");
	add_entry(a, "esc", AE_IFLNK, "..", NULL);
	add_entry(a, "esc/evil-link", AE_IFREG, NULL, "bad");
	add_entry(a, "ok2.txt", AE_IFREG, NULL, "fine too");
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(tv_bwriter_finish(w), 0);
	tv_bwriter_free(w);
	close(fd);

	assert_int_equal(tv_backup_extract(out, dest, NULL, &st), TV_ERR_PARTIAL);
	assert_int_equal(st.skipped, 3);
	p = tl_path(dir, "evil-dotdot"); assert_int_equal(access(p, F_OK), -1); free(p);
	assert_int_equal(access(evil, F_OK), -1);
	p = tl_path(dir, "evil-link"); assert_int_equal(access(p, F_OK), -1); free(p);
	p = tl_path(dir, "restore-hostile/ok.txt"); check_file(p, "fine", 4, 0644); free(p);
	p = tl_path(dir, "restore-hostile/ok2.txt"); check_file(p, "fine too", 8, 0644); free(p);
	free(evil);
	free(out);
	free(dest);
}

struct memsrc {
	uint8_t *p;
	size_t n, off;
};

static int mem_read(void *ctx, void *p, size_t n, size_t *got)
{
	struct memsrc *m = ctx;
	size_t take = m->n - m->off < n ? m->n - m->off : n;

	memcpy(p, m->p + m->off, take);
	m->off += take;
	*got = take;
	return 0;
}

/* The streaming reader gives the tar stream; a known DEK via set_dek. */
static void test_stream_reader_known_dek(void **state)
{
	char *out = tl_path(dir, "stream.tvb");
	struct tv_backup_info info;
	struct tv_bwriter *w;
	struct tv_backup_reader *r;
	uint8_t dek[32], wrong[32], buf[5000];
	size_t got, total = 0;
	int fd;
	(void)state;

	memset(&info, 0, sizeof(info));
	memset(dek, 0x42, sizeof(dek));
	tv_uuid_new(info.uuid);
	info.chunk_size = TV_BACKUP_CHUNK_MIN;
	info.alg = TV_ENC_AES256GCM_HKDF;
	assert_int_equal(tv_dek_fingerprint(dek, info.dek_fpr), 0);
	assert_int_equal(tv_slot_password_make(&info.slots[0], info.uuid, dek, NULL, 0, "n",
	                                       NULL, 0, &kek), 0);
	info.nslots = 1;
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_int_equal(tv_bwriter_open(&w, out, fd_write_cb, &fd, &info, dek), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tv_bwriter_write(w, big + i * 1000, 1000), 0);
	assert_int_equal(tv_bwriter_finish(w), 0);
	assert_int_equal(tv_bwriter_chunks(w), 3);     /* 4096 + 4096 + 1808 */
	tv_bwriter_free(w);
	close(fd);

	/* read it back through the streaming API from memory */
	{
		struct memsrc m;
		m.p = tl_read_file(out, &m.n);

		assert_non_null(m.p);
		assert_true(m.n > 0);
		m.off = 0;
		assert_int_equal(tv_backup_reader_open(&r, "mem", mem_read, &m), 0);
		assert_true(tv_backup_reader_info(r)->encrypted);
		assert_int_equal(tv_backup_reader_read(r, buf, sizeof(buf), &got), TV_ERR_LOCKED);
		memset(wrong, 0x43, sizeof(wrong));
		assert_int_equal(tv_backup_reader_set_dek(r, wrong), TV_ERR_BADKEY);
		assert_int_equal(tv_backup_reader_set_dek(r, dek), 0);
		for (;;) {
			assert_int_equal(tv_backup_reader_read(r, buf, 777, &got), 0);
			if (got == 0)
				break;
			assert_memory_equal(buf, big + total, got);
			total += got;
		}
		assert_int_equal(total, 10000);
		assert_int_equal(tv_backup_reader_chunks(r), 3);
		tv_backup_reader_close(r);
		/* the same through a password unlocker */
		m.off = 0;
		assert_int_equal(tv_backup_reader_open(&r, "mem", mem_read, &m), 0);
		assert_int_equal(tv_backup_reader_unlock(r, &unlock_ok), 0);
		total = 0;
		do {
			assert_int_equal(tv_backup_reader_read(r, buf, sizeof(buf), &got), 0);
			total += got;
		} while (got > 0);
		assert_int_equal(total, 10000);
		tv_backup_reader_close(r);
		free(m.p);
	}
	free(out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_encrypted),
		cmocka_unit_test(test_real_password_and_wrong),
		cmocka_unit_test(test_roundtrip_plaintext),
		cmocka_unit_test(test_plaintext_swap_refused),
		cmocka_unit_test(test_empty_source),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_escrow_and_extra_slots),
		cmocka_unit_test(test_partial_socket_and_self),
		cmocka_unit_test(test_hostile_paths),
		cmocka_unit_test(test_stream_reader_known_dek),
	};
	return tl_run(argc, argv, tests, setup, teardown);
}
