#include "jobs/home.h"
#include "util/err.h"
#include "util/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crypto/identity.h"
#include "crypto/keystore.h"
#include "jobs/keys.h"

uint64_t tv_now(void) { return (uint64_t)time(NULL); }

void tv_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int tv_home_resolve(const char *opt, char *out, size_t outsz)
{
	const char *e;
	int n;

	if (opt != NULL && *opt)
		n = snprintf(out, outsz, "%s", opt);
	else if ((e = getenv("TAPEVAULT_HOME")) != NULL && *e)
		n = snprintf(out, outsz, "%s", e);
	else if (geteuid() == 0)   /* the system's backup server, as packaged */
		n = snprintf(out, outsz, "%s", TV_HOME_SYSTEM);
	else if ((e = getenv("XDG_DATA_HOME")) != NULL && *e)
		n = snprintf(out, outsz, "%s/tapevault", e);
	else if ((e = getenv("HOME")) != NULL && *e)
		n = snprintf(out, outsz, "%s/.local/share/tapevault", e);
	else
		return tv_errf(TV_ERR_INVAL, "no state directory: use --home DIR or set TAPEVAULT_HOME");
	if (n < 0 || (size_t)n >= outsz)
		return tv_errf(TV_ERR_RANGE, "state directory path too long");
	return 0;
}


/* Creates the key store, or keeps the one there (a home whose catalog was
 * lost keeps its keys); *kept says which. */
static int keys_init(const char *dir, int *kept)
{
	struct tv_keystore *ks = NULL;
	int r = tv_keys_init_store(dir);

	*kept = 0;
	if (r == TV_ERR_EXISTS) {
		/* keep it only if it is a good one */
		if ((r = tv_keystore_load(dir, &ks)) != 0)
			return tv_errctx(r, "%s holds a key store that cannot be used", dir);
		tv_keystore_free(ks);
		*kept = 1;
	}
	return r;
}

/* Writes DIR/catalog.url, naming a catalog kept elsewhere. */
static int write_catalog_url(const char *dir, const char *url)
{
	char path[PATH_MAX + 32];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/catalog.url", dir);
	if ((f = fopen(path, "w")) == NULL)
		return tv_errf(TV_ERR_IO, "%s: %s", path, strerror(errno));
	ok = fprintf(f, "%s\n", url) > 0;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : tv_errf(TV_ERR_IO, "%s: write failed", path);
}

/* HOME/local.db: this server's own store of the secret tables when its
 * catalog is a shared one (catalog.h), created 0600 on first use. */
static int local_open(const char *dir, struct tv_db **out)
{
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, TV_DB_LOCAL_FILE);
	if ((r = tv_db_open(path, 1, out)) != 0)
		return tv_errctx(r, "this server's local key store %s", path);
	return 0;
}

/* A new catalog at path, made under a temporary name and renamed into
 * place last, so a failed init leaves no half-made catalog behind. */
static int catalog_create(const char *path)
{
	char tmp[PATH_MAX + 48];
	struct tv_db *db = NULL;
	int r;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	unlink(tmp);
	if ((r = tv_db_open(tmp, 1, &db)) != 0)
		goto fail;
	r = tv_db_exec(db, "INSERT INTO settings(key, value) VALUES('created', ?)", "i",
	               (int64_t)tv_now());
	tv_db_close(db);
	if (r != 0)
		goto fail;
	if (rename(tmp, path) != 0) {
		r = tv_errf(TV_ERR_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return r;
}

/* The state directory holds the catalog and the keys: 0700, also when it
 * existed before init (made by hand or by a package). */
static int home_private(const char *dir)
{
	struct stat sb;

	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_IO, "%s is not a directory", dir);
	if (sb.st_uid == geteuid() && (sb.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return tv_errf(TV_ERR_IO, "%s: chmod 0700: %s", dir, strerror(errno));
	return 0;
}

int tv_home_init_report(const char *dir, const char *catalog_url, int *kept_keys)
{
	char path[PATH_MAX + 32];
	const char *url = catalog_url != NULL && *catalog_url ? catalog_url : NULL;
	struct stat sb;
	int r, kept = 0, idr;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if (kept_keys != NULL)
		*kept_keys = 0;
	if (url != NULL && strncmp(url, "sqlite:", 7) != 0 && !tv_db_is_pg_url(url))
		return tv_errf(TV_ERR_UNSUPPORTED,
		               "catalog URL '%s': a catalog is sqlite:PATH or a PostgreSQL "
		               "URI (postgresql://...)", url);
	if ((r = tv_mkdir_p(dir, 0755, 0700)) != 0 || (r = home_private(dir)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	if (url != NULL && tv_db_is_pg_url(url)) {
		snprintf(path, sizeof(path), "%s/catalog.url", dir);
		if (stat(path, &sb) == 0)
			return tv_errf(TV_ERR_EXISTS, "%s is already initialized (it names its "
			               "catalog in %s)", dir, path);
	} else if (url != NULL && url[7])
		snprintf(path, sizeof(path), "%s", url + 7);
	if (url == NULL || !tv_db_is_pg_url(url)) {
		if (stat(path, &sb) == 0)
			return tv_errf(TV_ERR_EXISTS, "%s is already initialized (catalog %s "
			               "exists)", dir, path);
	}
	/* keys first, the catalog last: a failure before the end leaves a
	 * home that init completes when run again */
	if ((r = keys_init(dir, &kept)) != 0)
		return r;
	idr = tv_identity_create(dir, NULL);   /* the identity that signs escrow requests */
	if (idr != 0 && idr != TV_ERR_EXISTS)
		return idr;
	{
		char logdir[PATH_MAX + 32];
		snprintf(logdir, sizeof(logdir), "%s/log", dir);
		if ((r = tv_mkdir_p(logdir, 0755, 0700)) != 0)
			return r;
	}
	if (url != NULL && tv_db_is_pg_url(url)) {
		/* a site's shared catalog: made by the first tape server, joined by
		 * the others (the schema is migrated once, under a lock) */
		struct tv_db *db = NULL, *local = NULL;
		/* this server's secrets: on this server, made before the catalog
		 * is named */
		if ((r = local_open(dir, &local)) != 0)
			return r;
		tv_db_close(local);
		if ((r = tv_db_open(url, 1, &db)) != 0)
			return r;
		r = tv_db_exec(db, "INSERT INTO settings(key, value) VALUES('created', ?) "
		               "ON CONFLICT(key) DO NOTHING", "i", (int64_t)tv_now());
		tv_db_close(db);
		if (r != 0 || (r = write_catalog_url(dir, url)) != 0)
			return r;
	} else {
		if (url != NULL && url[7] && (r = write_catalog_url(dir, url)) != 0)
			return r;
		if ((r = catalog_create(path)) != 0)
			return r;
	}
	if (kept_keys != NULL)
		*kept_keys = kept;
	return 0;
}

int tv_home_init(const char *dir, const char *catalog_url)
{
	return tv_home_init_report(dir, catalog_url, NULL);
}

int tv_home_exists(const char *dir)
{
	char path[PATH_MAX + 32];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/catalog.url", dir);
	if (stat(path, &sb) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	return stat(path, &sb) == 0;
}

int tv_home_open(const char *dir, struct tv_home **out)
{
	struct tv_home *h;
	char path[PATH_MAX + 32];
	struct stat sb;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	*out = NULL;
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	{
		char url[PATH_MAX + 32];
		FILE *f;
		snprintf(url, sizeof(url), "%s/catalog.url", dir);
		if ((f = fopen(url, "r")) != NULL) {
			if (fgets(url, sizeof(url), f) != NULL) {
				url[strcspn(url, "\n")] = '\0';
				if (strncmp(url, "sqlite:", 7) == 0)
					snprintf(path, sizeof(path), "%s", url + 7);
				else if (tv_db_is_pg_url(url))
					snprintf(path, sizeof(path), "%s", url);
			}
			fclose(f);
		}
	}
	if (!tv_db_is_pg_url(path) && stat(path, &sb) != 0)
		return tv_errf(TV_ERR_NOTFOUND,
		               "no tapevault installation in %s: run 'tapevault --home %s init'",
		               dir, dir);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return TV_ERR_NOMEM;
	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	if ((r = tv_db_open(path, 0, &h->db)) != 0)
		goto fail;
	if (tv_db_is_pg_url(path)) {
		/* a shared catalog: this server's secrets stay in the home */
		struct tv_db *local = NULL;
		if ((r = local_open(dir, &local)) != 0)
			goto fail;
		if ((r = tv_db_attach_local(h->db, local)) != 0) {
			tv_db_close(local);
			goto fail;
		}
	}
	if ((r = tv_keys_open_store(h)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/log/jobs.log", dir);
	h->log = fopen(path, "ae");
	*out = h;
	return 0;
fail:
	tv_home_close(h);
	return r;
}

void tv_home_refresh_stats(struct tv_home *h)
{
	int r;

	if (strcmp(tv_db_backend(h->db), "postgresql") != 0)
		return;
	if ((r = tv_db_exec(h->db, "ANALYZE files", "")) != 0)
		tv_warn(h, "the catalog's query statistics were not refreshed (%s): queries may "
		        "be slow until PostgreSQL's autovacuum does it", tv_errmsg(r));
}

void tv_home_close(struct tv_home *h)
{
	if (h == NULL)
		return;
	tv_keys_close_store(h);
	tv_db_close(h->db);
	if (h->log)
		fclose(h->log);
	free(h);
}

__attribute__((format(printf, 2, 0)))
static void vlogline(struct tv_home *h, const char *fmt, va_list ap)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	if (h == NULL || h->log == NULL)
		return;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(h->log, "%s %s[%d] ", ts, h->job[0] ? h->job : "tapevault", (int)getpid());
	vfprintf(h->log, fmt, ap);
	fputc('\n', h->log);
	fflush(h->log);
}

void tv_log(struct tv_home *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlogline(h, fmt, ap);
	va_end(ap);
	if (h && h->verbose) {
		va_start(ap, fmt);
		fputs("tapevault: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
}

void tv_info(struct tv_home *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlogline(h, fmt, ap);
	va_end(ap);
	if (h && h->quiet)
		return;
	tv_prog_clear_line();   /* the progress line, if shown, comes back after */
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void tv_verbose(struct tv_home *h, const char *fmt, ...)
{
	va_list ap;
	if (h == NULL || !h->verbose)
		return;
	tv_prog_clear_line();
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void tv_warn(struct tv_home *h, const char *fmt, ...)
{
	va_list ap;
	if (h != NULL)
		h->warnings++;
	va_start(ap, fmt);
	vlogline(h, fmt, ap);
	va_end(ap);
	tv_prog_clear_line();
	va_start(ap, fmt);
	fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (h != NULL && h->warn_fn != NULL) {
		char msg[1024];
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		h->warn_fn(h->watch_ctx, msg);
	}
}

void tv_progress_start(struct tv_progress *p, struct tv_home *h, const char *what,
                       uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->h = h;
	p->what = what;
	p->total = total;
	/* the line on stderr: a terminal, or --progress (util/progress.h) */
	tv_prog_start(&p->bar, what, total, 0, h && h->quiet);
	p->tty = p->bar.active;
	p->active = p->tty || (h && h->progress_fn);
	if (h && h->progress_fn)
		h->progress_fn(h->watch_ctx, what, 0, total);
}

void tv_progress_update(struct tv_progress *p, uint64_t done)
{
	p->done = done;
	if (!p->active)
		return;
	if (p->h && p->h->progress_fn)
		p->h->progress_fn(p->h->watch_ctx, p->what, done, p->total);
	if (p->tty)
		tv_prog_update(&p->bar, done, 0, NULL);
}

void tv_progress_item(struct tv_progress *p, uint64_t done, const char *name)
{
	p->item++;
	p->done = done;
	if (p->tty)
		tv_prog_update(&p->bar, done, p->item, name);
	if (p->h && p->h->item_fn && name)
		p->h->item_fn(p->h->watch_ctx, name);
}

void tv_progress_items(struct tv_progress *p, uint64_t total_items)
{
	p->bar.total_items = total_items;
}

void tv_progress_end(struct tv_progress *p)
{
	tv_prog_finish(&p->bar);
	p->active = p->tty = 0;
}
