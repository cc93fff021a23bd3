/* tapevault: staging the backup server's own state for 'config backup'
 * and installing it on 'config restore' (see configjob.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keystore.h"
#include "jobs/configjob.h"
#include "util/err.h"

static int stage_make(const char *dir, char *stage, size_t stagesz)
{
	int n = snprintf(stage, stagesz, "%s/.config-stage.XXXXXX", dir);

	if (n < 0 || (size_t)n >= stagesz)
		return tv_errf(TV_ERR_RANGE, "state directory path too long");
	if (mkdtemp(stage) == NULL)   /* mode 0700 */
		return tv_errf(TV_ERR_IO, "%s: cannot make a staging directory: %s", dir,
		               strerror(errno));
	return 0;
}

/* Copies one regular file, mode 0600, fsynced. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = -1, out = -1, r = 0;
	ssize_t n;

	if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return tv_errf(TV_ERR_IO, "%s: %s", from, strerror(errno));
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		r = tv_errf(TV_ERR_IO, "%s: %s", to, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			r = tv_errf(TV_ERR_IO, "%s: write: %s", to, strerror(errno));
			goto out;
		}
	}
	if (n < 0)
		r = tv_errf(TV_ERR_IO, "%s: read: %s", from, strerror(errno));
	else if (fsync(out) != 0)
		r = tv_errf(TV_ERR_IO, "%s: fsync: %s", to, strerror(errno));
out:
	explicit_bzero(buf, sizeof(buf));   /* key store files pass through */
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && r == 0)
		r = tv_errf(TV_ERR_IO, "%s: close: %s", to, strerror(errno));
	return r;
}

/* The key store is flat: regular files in one directory. */
static int copy_keys(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int r = 0;

	if (mkdir(to, 0700) != 0)
		return tv_errf(TV_ERR_IO, "%s: %s", to, strerror(errno));
	if ((d = opendir(from)) == NULL)
		return tv_errf(TV_ERR_IO, "%s: %s", from, strerror(errno));
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(a, sizeof(a), "%s/%s", from, de->d_name) >= (int)sizeof(a) ||
		    snprintf(b, sizeof(b), "%s/%s", to, de->d_name) >= (int)sizeof(b))
			r = tv_errf(TV_ERR_RANGE, "%s/%s: path too long", from, de->d_name);
		else if (lstat(a, &sb) != 0)
			r = tv_errf(TV_ERR_IO, "%s: %s", a, strerror(errno));
		else if (!S_ISREG(sb.st_mode))
			r = tv_errf(TV_ERR_STATE, "%s: not a regular file (the key store holds only "
			            "files)", a);
		else
			r = copy_file(a, b);
	}
	closedir(d);
	return r;
}

/* A tape server of a shared (PostgreSQL) catalog: its own state is its
 * key store and its local store of secrets (catalog.h); the catalog is the
 * site's database, backed up with pg_dump.  The stage then holds the local
 * store as "catalog.db" and the file naming the catalog, "catalog.url". */
#define CONFIG_URL "catalog.url"

int tv_config_stage(struct tv_home *h, char *stage, size_t stagesz)
{
	char path[PATH_MAX + 64], keys[PATH_MAX + 64];
	int r;

	if ((r = stage_make(h->dir, stage, stagesz)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", stage, TV_CONFIG_CATALOG);
	snprintf(keys, sizeof(keys), "%s/%s", h->dir, TV_KEYSTORE_DIR);
	/* the local store is the secrets' database: the catalog itself with
	 * SQLite */
	if ((r = tv_db_snapshot(tv_db_local(h->db), path)) != 0)
		goto fail;
	if (tv_db_shared(h->db)) {
		char from[PATH_MAX + 64];
		snprintf(from, sizeof(from), "%s/%s", h->dir, CONFIG_URL);
		snprintf(path, sizeof(path), "%s/%s", stage, CONFIG_URL);
		if ((r = copy_file(from, path)) != 0)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/%s", stage, TV_KEYSTORE_DIR);
	if ((r = copy_keys(keys, path)) != 0)
		goto fail;
	return 0;
fail:
	tv_config_unstage(stage);
	return r;
}

int tv_config_stage_empty(const char *dir, char *stage, size_t stagesz)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return tv_errf(TV_ERR_IO, "%s: %s", dir, strerror(errno));
	return stage_make(dir, stage, stagesz);
}

static int count(struct tv_db *db, const char *table, long long *n)
{
	char sql[96];
	int64_t v = 0;
	int r;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	r = tv_db_get_int(db, &v, sql, "");
	*n = (long long)v;
	return r;
}

static int summarize(struct tv_db *db, struct tv_config_summary *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = count(db, "libraries", &s->libraries)) != 0 ||
	    (r = count(db, "pools", &s->pools)) != 0 || (r = count(db, "tapes", &s->tapes)) != 0 ||
	    (r = count(db, "backup_sets", &s->sets)) != 0 ||
	    (r = count(db, "passwords", &s->passwords)) != 0 ||
	    (r = count(db, "kms_servers", &s->kms_servers)) != 0)
		return r;
	return 0;
}

int tv_config_check(const char *stage, struct tv_config_summary *sum)
{
	char path[PATH_MAX + 64];
	struct tv_db *db = NULL;
	struct stat sb;
	int r;

	snprintf(path, sizeof(path), "%s/%s", stage, TV_KEYSTORE_DIR);
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_FORMAT, "not a tapevault configuration backup: it holds no "
		               "key store");
	snprintf(path, sizeof(path), "%s/%s", stage, TV_CONFIG_CATALOG);
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return tv_errf(TV_ERR_FORMAT, "not a tapevault configuration backup: it holds no "
		               "catalog");
	snprintf(path, sizeof(path), "%s/%s", stage, CONFIG_URL);
	if (stat(path, &sb) == 0) {
		/* a tape server of a shared catalog: its secrets, and the catalog's
		 * name (checked when the home is opened) */
		char url[16] = "";
		FILE *f = fopen(path, "r");
		if (f == NULL || fgets(url, sizeof(url), f) == NULL || !tv_db_is_pg_url(url)) {
			if (f != NULL)
				fclose(f);
			return tv_errf(TV_ERR_FORMAT, "the configuration backup's catalog.url does not "
			               "name a PostgreSQL catalog");
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%s", stage, TV_CONFIG_CATALOG);
	/* opening migrates a catalog of an older version to this one */
	if ((r = tv_db_open(path, 0, &db)) != 0)
		return tv_errctx(r, "the configuration backup's catalog");
	r = summarize(db, sum);
	tv_db_close(db);
	return r;
}

int tv_config_fresh(const char *dir)
{
	char path[PATH_MAX + 64];
	struct tv_config_summary s;
	struct tv_db *db = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/catalog.url", dir);
	if (access(path, F_OK) == 0)
		return tv_errf(TV_ERR_EXISTS, "%s keeps its catalog elsewhere (catalog.url): a "
		               "configuration restore needs a state directory of its own (a new one, "
		               "without 'init')", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, TV_CONFIG_CATALOG);
	if (access(path, F_OK) != 0)
		return 0;
	if ((r = tv_db_open(path, 0, &db)) != 0)
		return r;
	r = summarize(db, &s);
	tv_db_close(db);
	if (r == 0 && (s.libraries || s.pools || s.tapes || s.sets || s.passwords))
		r = tv_errf(TV_ERR_EXISTS, "%s already holds a catalog in use (%lld librar%s, %lld "
		            "pool(s), %lld tape(s)): a configuration restore is for a fresh "
		            "installation; move the state directory away first", dir, s.libraries,
		            s.libraries == 1 ? "y" : "ies", s.pools, s.tapes);
	return r;
}

/* A tape server of a shared catalog: the empty SQLite catalog a fresh
 * 'init' may have made is not the home's catalog any more. */
static void drop_empty_catalog(const char *dir)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s%s", dir, TV_CONFIG_CATALOG, sfx[i]);
		unlink(p);
	}
}

int tv_config_install(const char *dir, const char *stage)
{
	char from[PATH_MAX + 64], to[PATH_MAX + 64], aside[PATH_MAX + 64];
	int r, moved_aside = 0, shared;

	if ((r = tv_config_fresh(dir)) != 0)
		return r;
	snprintf(from, sizeof(from), "%s/%s", stage, CONFIG_URL);
	shared = access(from, F_OK) == 0;
	/* the key store first (a fresh 'init' made one: set aside, then gone) */
	snprintf(to, sizeof(to), "%s/%s", dir, TV_KEYSTORE_DIR);
	snprintf(aside, sizeof(aside), "%s/%s.before-config-restore", dir, TV_KEYSTORE_DIR);
	if (access(to, F_OK) == 0) {
		if (rename(to, aside) != 0)
			return tv_errf(TV_ERR_IO, "%s: %s", to, strerror(errno));
		moved_aside = 1;
	}
	snprintf(from, sizeof(from), "%s/%s", stage, TV_KEYSTORE_DIR);
	if (rename(from, to) != 0) {
		r = tv_errf(TV_ERR_IO, "%s: %s", to, strerror(errno));
		goto undo;
	}
	/* then the catalog, renamed over the empty one last; a tape server of
	 * a shared catalog: its local store, then the name of the catalog */
	snprintf(from, sizeof(from), "%s/%s", stage, TV_CONFIG_CATALOG);
	snprintf(to, sizeof(to), "%s/%s", dir, shared ? TV_DB_LOCAL_FILE : TV_CONFIG_CATALOG);
	if (rename(from, to) != 0) {
		r = tv_errf(TV_ERR_IO, "%s: %s", to, strerror(errno));
		goto keys_back;
	}
	if (shared) {
		snprintf(from, sizeof(from), "%s/%s", stage, CONFIG_URL);
		snprintf(to, sizeof(to), "%s/%s", dir, CONFIG_URL);
		if (rename(from, to) != 0) {
			r = tv_errf(TV_ERR_IO, "%s: %s", to, strerror(errno));
			snprintf(to, sizeof(to), "%s/%s", dir, TV_DB_LOCAL_FILE);
			unlink(to);
			goto keys_back;
		}
		drop_empty_catalog(dir);
	}
	if (moved_aside)
		tv_config_unstage(aside);
	return 0;
keys_back:
	snprintf(from, sizeof(from), "%s/%s", dir, TV_KEYSTORE_DIR);
	snprintf(to, sizeof(to), "%s/%s", stage, TV_KEYSTORE_DIR);
	if (rename(from, to) != 0)
		tv_errctx(r, "and the restored key store is left in %s", from);
undo:
	if (moved_aside) {
		snprintf(to, sizeof(to), "%s/%s", dir, TV_KEYSTORE_DIR);
		if (rename(aside, to) != 0)
			tv_errctx(r, "and the earlier key store is left in %s", aside);
	}
	return r;
}

static void remove_tree(const char *path, int depth)
{
	char p[PATH_MAX + 256];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (depth > 8 || lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			remove_tree(p, depth + 1);
		}
		closedir(d);
	}
	rmdir(path);
}

void tv_config_unstage(const char *stage)
{
	remove_tree(stage, 0);
}
