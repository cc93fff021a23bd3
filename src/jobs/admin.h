/* tapevault: the catalog updates that go with the command line's setup
 * commands (registering libraries, cartridges and KMS servers), and the
 * settings a command needs whole (a KMS server's connection, the escrow
 * authorities' public keys). */
#ifndef TV_JOBS_ADMIN_H
#define TV_JOBS_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "jobs/home.h"

struct tv_kms_conf;

/* A library directory (path: absolute) under a name; TV_ERR_EXISTS when
 * the name is taken. */
int tv_admin_library_add(struct tv_home *h, const char *name, const char *path);

/* A blank cartridge put into library lib_id: a tape the catalog knew under
 * that barcode starts over as a free tape.  capacity 0: the library's
 * default. */
/* Registers an existing virtual library directory under name (which must
 * be the name the library holds); its tapes are read by a catalog job. */
int tv_admin_library_attach(struct tv_home *h, const char *name, const char *path);
int tv_admin_tape_new(struct tv_home *h, const char *barcode, int64_t lib_id,
                      uint64_t capacity);
/* A cartridge inserted into library lib_id: a new barcode is unrecognized
 * until it is cataloged; a known one just moves. */
int tv_admin_tape_inserted(struct tv_home *h, const char *barcode, int64_t lib_id);
/* A cartridge taken out of its library: offline. */
int tv_admin_tape_exported(struct tv_home *h, const char *barcode);

/* A KMS server (the PEM file paths absolute); TV_ERR_EXISTS when the name
 * is taken. */
int tv_admin_kms_add(struct tv_home *h, const char *name, const char *host, unsigned port,
                     const char *ca, const char *cert, const char *key);
/* A registered KMS server's connection settings and (server_id, may be
 * NULL) its catalog id; TV_ERR_NOTFOUND. */
int tv_admin_kms_conf(struct tv_home *h, const char *name, struct tv_kms_conf *conf,
                      int64_t *server_id);

/* The public keys of the enabled escrow authorities (at most max, oldest
 * first) into keys[0..*n); the caller frees them (EVP_PKEY_free), also
 * after an error. */
int tv_admin_escrow_keys(struct tv_home *h, EVP_PKEY **keys, size_t max, size_t *n);

#endif
