/* tapevault: LTO hardware encryption, the jobs' side (see drivecrypt.h). */
#include "jobs/drivecrypt.h"

#include "crypto/kdf.h"
#include "jobs/jobs.h"
#include "jobs/session.h"
#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"
#include "util/wipe.h"

#include <stdio.h>
#include <string.h>

int tv_drive_key(const uint8_t dek[TV_DEK_LEN], uint8_t key[32])
{
	return tv_hkdf_sha256(dek, TV_DEK_LEN, NULL, 0, TV_DRIVE_KEY_INFO,
	                      strlen(TV_DRIVE_KEY_INFO), key, 32);
}

int tv_pool_drive_encryption(struct tv_home *h, int64_t pool_id, int *on)
{
	int64_t v = 0;
	int r = tv_db_get_int(h->db, &v, "SELECT drive_encryption FROM pools WHERE id=?", "i",
	                      pool_id);

	*on = r == 0 && v != 0;
	return r;
}

/* The pool's library can encrypt: a SCSI library (its drives are asked
 * when a tape is written).  A library that cannot be opened now is not
 * held against the setting. */
static int library_can_encrypt(struct tv_home *h, const struct tv_pool *p)
{
	struct tv_vlib *lib = NULL;
	char name[TV_NAME_MAX] = "";
	int64_t id;
	int r;

	if (tv_db_get_text(h->db, name, sizeof(name), "SELECT name FROM libraries WHERE id=?",
	                   "i", p->library_id) != 0 ||
	    tv_lib_open_by_name(h, name, &lib, &id) != 0)
		return 0;
	r = strcmp(tv_vlib_kind(lib), "directory") == 0 ?
	    tv_errf(TV_ERR_UNSUPPORTED, "pool %s: library %s is a virtual library, whose drives "
	            "cannot encrypt: drive encryption needs a SCSI library ('tapevault library "
	            "add', or 'library create ... --scsi-emulation')", p->name, name) : 0;
	tv_vlib_close(lib);
	return r;
}

int tv_pool_set_drive_encryption(struct tv_home *h, const char *pool, int on)
{
	struct tv_pool p;
	int r;

	tv_errclear();   /* a new job: no earlier failure's detail */

	if ((r = tv_pool_get(h, pool, &p)) != 0)
		return r;
	if (p.imported)
		return tv_errf(TV_ERR_STATE, "pool '%s' was imported from tapes written elsewhere",
		               pool);
	if (on && strcmp(p.encryption, "none") == 0)
		return tv_errf(TV_ERR_STATE, "pool %s: drive encryption keeps each tape's key in "
		               "key slots, as software encryption does: give the pool a key first "
		               "(--encryption password:NAME or kms:SERVER)", pool);
	if (on && (r = library_can_encrypt(h, &p)) != 0)
		return r;
	if ((r = tv_db_exec(h->db, "UPDATE pools SET drive_encryption=? WHERE id=?", "ii",
	                    (int64_t)(on != 0), p.id)) != 0)
		return r;
	tv_log(h, "pool %s: drive encryption %s (applies to tapes written from now on)", pool,
	       on ? "on" : "off");
	return 0;
}

static int crypto_for(const uint8_t dek[TV_DEK_LEN], int encrypt, struct tv_tape_crypto *c)
{
	uint8_t fpr[TV_FPR_LEN];
	int r;

	memset(c, 0, sizeof(*c));
	c->encrypt = encrypt;
	c->decrypt = 1;
	c->from_file = 2;           /* the labels, files 0 and 1, stay clear */
	if ((r = tv_drive_key(dek, c->key)) != 0 || (r = tv_dek_fingerprint(dek, fpr)) != 0)
		return r;
	memcpy(c->kad, fpr, TV_FPR_LEN);
	c->kad_len = TV_FPR_LEN;
	return 0;
}

int tv_drivecrypt_write(struct tv_home *h, struct tv_session *s)
{
	struct tv_tape_crypto c;
	char fpr[TV_FPR_HEX_LEN];
	int on = 0, r;

	if ((r = tv_pool_drive_encryption(h, s->pool_id, &on)) != 0)
		return r;
	if (!on) {
		/* a key a stopped job left in the drive must not encrypt this tape */
		r = tv_tape_set_encryption(s->t, NULL);
		return r == TV_ERR_UNSUPPORTED ? 0 : r;
	}
	if (!s->encrypted)
		return tv_errf(TV_ERR_STATE, "tape %s: its pool has drive encryption on but the "
		               "tape has no key (the pool's encryption is none)", s->barcode);
	if ((r = crypto_for(s->dek, 1, &c)) != 0)
		goto out;
	if ((r = tv_tape_set_encryption(s->t, &c)) != 0) {
		tv_errctx(r, "tape %s: drive encryption is on for its pool", s->barcode);
		goto out;
	}
	tv_dek_fpr_hex(c.kad, fpr);
	tv_verbose(h, "tape %s: the drive encrypts its data (key fingerprint %s)", s->barcode,
	           fpr);
	tv_log(h, "tape %s: drive encryption, key fingerprint %s", s->barcode, fpr);
out:
	tv_wipe(&c, sizeof(c));
	return r;
}

int tv_drivecrypt_read(struct tv_home *h, struct tv_tape *t, const char *barcode,
                       const uint8_t dek[TV_DEK_LEN])
{
	struct tv_tape_crypto c;
	int r;

	if (t == NULL || dek == NULL)
		return 0;
	if ((r = crypto_for(dek, 0, &c)) == 0) {
		r = tv_tape_set_encryption(t, &c);
		if (r == TV_ERR_UNSUPPORTED)
			r = 0;          /* a drive that cannot: its records are clear */
		else if (r != 0)
			tv_errctx(r, "tape %s: handing its key to the drive", barcode);
		else
			tv_verbose(h, "tape %s: its key is in the drive (encrypted records are "
			           "decrypted by the drive)", barcode);
	}
	tv_wipe(&c, sizeof(c));
	return r;
}
