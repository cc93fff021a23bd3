/* tapevault: catalog updates of the setup commands, and settings read
 * whole. */
#include <stdio.h>
#include <string.h>

#include "catalog/query.h"
#include "crypto/pkey.h"
#include "jobs/admin.h"
#include "kms/client.h"
#include "library/vlib.h"
#include "util/err.h"

int tv_admin_library_add(struct tv_home *h, const char *name, const char *path)
{
	int r = tv_db_exec(h->db, "INSERT INTO libraries(name, path, created) VALUES(?,?,?)",
	                   "tti", name, path, (int64_t)tv_now());

	if (r == TV_ERR_EXISTS)
		return tv_errf(r, "a library named '%s' is already registered", name);
	return r;
}

int tv_admin_library_attach(struct tv_home *h, const char *name, const char *path)
{
	struct tv_vlib *lib = NULL;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if ((r = tv_vlib_open(path, &lib)) != 0)
		return tv_errctx(r, "library attach %s", path);
	if (strcmp(tv_vlib_name(lib), name) != 0)
		r = tv_errf(TV_ERR_INVAL, "the library in %s is named '%s', not '%s' (attach it "
		            "under its own name)", path, tv_vlib_name(lib), name);
	tv_vlib_close(lib);
	if (r == 0)
		r = tv_admin_library_add(h, name, path);
	return r;
}

int tv_admin_tape_new(struct tv_home *h, const char *barcode, int64_t lib_id,
                      uint64_t capacity)
{
	if (capacity == 0)
		capacity = TV_VLIB_DEFAULT_CAPACITY;
	return tv_db_exec(h->db,
	                  "INSERT INTO tapes(barcode, library_id, state, capacity) VALUES(?,?,"
	                  "'free',?) ON CONFLICT(barcode) DO UPDATE SET library_id=excluded.library_id,"
	                  " state='free', uuid=NULL, pool_id=NULL, media_set_id=NULL, seq=NULL,"
	                  " encrypted=0, locked=0, ms_label=NULL, dek_fpr=NULL",
	                  "tii", barcode, lib_id, (int64_t)capacity);
}

int tv_admin_tape_inserted(struct tv_home *h, const char *barcode, int64_t lib_id)
{
	return tv_db_exec(h->db,
	                  "INSERT INTO tapes(barcode, library_id, state) VALUES(?,?,'unrecognized')"
	                  " ON CONFLICT(barcode) DO UPDATE SET library_id=excluded.library_id",
	                  "ti", barcode, lib_id);
}

int tv_admin_tape_exported(struct tv_home *h, const char *barcode)
{
	return tv_db_exec(h->db, "UPDATE tapes SET library_id=NULL WHERE barcode=?", "t",
	                  barcode);
}

int tv_admin_kms_add(struct tv_home *h, const char *name, const char *host, unsigned port,
                     const char *ca, const char *cert, const char *key)
{
	int r = tv_db_exec(h->db, "INSERT INTO kms_servers(name, host, port, ca, cert, key,"
	                   " created) VALUES(?,?,?,?,?,?,?)", "ttuttti", name, host, port, ca,
	                   cert, key, (int64_t)tv_now());

	if (r == TV_ERR_EXISTS)
		return tv_errf(r, "a KMS server named '%s' is already registered", name);
	return r;
}

/* Copies src into a fixed field; a value that does not fit is an error. */
static int conf_field(char *out, size_t outsz, const char *src, const char *server,
                      const char *what)
{
	size_t n = strlen(src);

	if (n >= outsz)
		return tv_errf(TV_ERR_RANGE, "KMS server '%s': its %s is longer than %zu bytes",
		               server, what, outsz - 1);
	memcpy(out, src, n + 1);
	return 0;
}

struct conf_out {
	struct tv_kms_conf *conf;
	int64_t *id;
};

static int conf_from_row(void *ctx, const struct tv_kms_server_row *row)
{
	struct conf_out *o = ctx;
	struct tv_kms_conf *conf = o->conf;
	int r;

	if ((r = conf_field(conf->name, sizeof(conf->name), row->name, row->name, "name")) != 0 ||
	    (r = conf_field(conf->host, sizeof(conf->host), row->host, row->name, "host")) != 0 ||
	    (r = conf_field(conf->ca, sizeof(conf->ca), row->ca, row->name, "CA path")) != 0 ||
	    (r = conf_field(conf->cert, sizeof(conf->cert), row->cert, row->name,
	                    "certificate path")) != 0 ||
	    (r = conf_field(conf->key, sizeof(conf->key), row->key, row->name, "key path")) != 0)
		return r;
	conf->port = (unsigned)row->port;
	if (o->id != NULL)
		*o->id = row->id;
	return 0;
}

int tv_admin_kms_conf(struct tv_home *h, const char *name, struct tv_kms_conf *conf,
                      int64_t *server_id)
{
	struct conf_out o = { conf, server_id };

	memset(conf, 0, sizeof(*conf));
	return tv_query_kms_server(h->db, name, conf_from_row, &o);
}

struct escrow_keys {
	EVP_PKEY **keys;
	size_t max, *n;
};

static int escrow_key_add(void *ctx, const struct tv_escrow_key_row *row)
{
	struct escrow_keys *e = ctx;
	int r;

	if (*e->n >= e->max)
		return 0;
	if ((r = tv_pubkey_from_pem(row->public_pem, strlen(row->public_pem),
	                            &e->keys[*e->n])) != 0)
		return r;
	(*e->n)++;
	return 0;
}

int tv_admin_escrow_keys(struct tv_home *h, EVP_PKEY **keys, size_t max, size_t *n)
{
	struct escrow_keys e = { keys, max, n };

	*n = 0;
	return tv_query_escrow_keys(h->db, escrow_key_add, &e);
}
