/* tapevault CLI: disk backups with job-level encryption (the inner layer
 * of double encryption). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "backup/backup.h"
#include "catalog/query.h"
#include "cli/cli.h"
#include "crypto/password.h"
#include "crypto/pkey.h"
#include "crypto/secmem.h"
#include "crypto/slot.h"
#include "jobs/admin.h"
#include "jobs/audit.h"
#include "jobs/jobs.h"
#include "jobs/keys.h"
#include "jobs/kmsglue.h"
#include "jobs/writer.h"
#include "util/err.h"

/* --trust-writer FPR|unsigned on 'backup extract' (jobs/writer.h): the
 * writers the operator accepts for this file, handed to the home as the
 * tape commands' are (cli/main.c). */
#define B_OPT_TRUST_WRITER 0x7201
#define B_TRUST_MAX 16

struct bopts {
	const char *out, *to, *encryption, *password_file, *kms;
	char *trust[B_TRUST_MAX];
	size_t ntrust;
};

static int b_opt(int o, const char *arg, void *ctx)
{
	struct bopts *b = ctx;
	switch (o) {
	case 'o': b->out = arg; break;
	case 't': b->to = arg; break;
	case 'e': b->encryption = arg; break;
	case 'p': b->password_file = arg; break;
	case 'k': b->kms = arg; break;
	case B_OPT_TRUST_WRITER: {
		uint8_t f[TV_PKFPR_LEN];
		if (strcmp(arg, "unsigned") != 0 && tv_pkfpr_parse(arg, f) != 0) {
			tv_errclear();
			fprintf(stderr, "tapevault: --trust-writer wants a fingerprint SHA256:<64 hex "
			        "digits> (or 'unsigned'), not %s\n", arg);
			return -1;
		}
		if (b->ntrust < B_TRUST_MAX)
			b->trust[b->ntrust++] = (char *)arg;
		break;
	}
	default: return -1;
	}
	return 0;
}

struct kms_add_ctx {
	struct tv_home *h;
	char server[512];
	char keyid[512];
};

static int kms_add_slots(void *ctx, const uint8_t uuid[TV_UUID_LEN], const uint8_t dek[TV_DEK_LEN],
                         struct tv_keyslot *slots, size_t room, size_t *added)
{
	struct kms_add_ctx *k = ctx;
	int r;

	*added = 0;
	if (room < 1)
		return tv_errf(TV_ERR_RANGE, "no room for a KMS slot");
	if ((r = tv_kmsglue_make_slot(k->h, k->server, k->keyid, uuid, dek, &slots[0])) != 0)
		return r;
	*added = 1;
	return 0;
}

/* Makes the backup file OUT of the sources, encrypted as ENCRYPTION says
 * ("password:NAME", "kms:SERVER[:KEYID]", NULL or "none": plaintext), with
 * the escrow slots of this installation when escrow is on.  Shared by
 * 'backup create' and 'config backup'; with encryption, c->h is open. */
int cli_backup_make(struct cli *c, const char *const *src, size_t n, const char *out,
                    const char *encryption, struct tv_backup_stats *bs)
{
	struct tv_backup_keys keys;
	struct kms_add_ctx kctx;
	EVP_PKEY *esc[4] = {0};
	size_t nesc = 0;
	char *pw = NULL, hint[TV_HINT_MAX] = "";
	char spec[512];   /* keys.password_name points into it until the end */
	size_t pwlen = 0;
	int r, encrypted = 0;

	memset(&keys, 0, sizeof(keys));
	memset(bs, 0, sizeof(*bs));
	/* every backup file is signed by this installation (jobs/writer.h) */
	if (c->h == NULL)
		return tv_errf(TV_ERR_STATE, "a backup file needs the state directory open (its "
		               "identity signs the file)");
	if (encryption && strcmp(encryption, "none") != 0) {
		if ((r = tv_encryption_resolve(c->h, "backup", encryption, spec, sizeof(spec))) != 0)
			return r;
		encrypted = 1;
		if (strncmp(spec, "password:", 9) == 0) {
			const char *name = spec + 9;
			if ((r = tv_keys_password_get(c->h, name, &pw, &pwlen)) != 0)
				return r;
			keys.password = pw;
			keys.password_len = pwlen;
			if ((r = tv_query_password_hint(c->h->db, name, hint, sizeof(hint))) != 0)
				goto out;
			keys.password_name = name;
			keys.password_hint = hint;
		} else {
			char *colon;
			memset(&kctx, 0, sizeof(kctx));
			kctx.h = c->h;
			snprintf(kctx.server, sizeof(kctx.server), "%s", spec + 4);
			if ((colon = strchr(kctx.server, ':')) != NULL) {
				*colon = '\0';
				snprintf(kctx.keyid, sizeof(kctx.keyid), "%s", colon + 1);
			}
			keys.add_slots = kms_add_slots;
			keys.add_ctx = &kctx;
		}
		if ((r = tv_admin_escrow_keys(c->h, esc, 4, &nesc)) != 0)
			goto out;
		keys.escrow = esc;
		keys.nescrow = nesc;
	}
	r = tv_writer_backup_create(c->h, src, n, out, encrypted ? &keys : NULL, bs);
	if (r == 0 && bs->skipped > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%llu item(s) skipped: %s",
		            (unsigned long long)bs->skipped, bs->first_problem);
out:
	if (pw)
		tv_freezero(pw, pwlen + 1);
	for (size_t i = 0; i < nesc; i++)
		EVP_PKEY_free(esc[i]);
	return r;
}

int cmd_backup_create(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, NULL, 'o'},
	                                  {"encryption", required_argument, NULL, 'e'},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("backup create");
	struct bopts b = {0};
	struct tv_backup_stats bs;
	char u[37];
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, b_opt, &b)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n < 2 || b.out == NULL)
		return cli_usage(cmd, "backup create needs SOURCE... and --out FILE");
	if (cli_open(c))   /* its identity signs the file, a key may be needed */
		return EXIT_FAIL;
	r = cli_backup_make(c, (const char *const *)(argv + 1), (size_t)(n - 1), b.out,
	                    b.encryption, &bs);
	if (r == 0 || r == TV_ERR_PARTIAL) {
		tv_uuid_to_str(bs.uuid, u);
		if (c->json) {
			cli_json_set(c, "backup", json_string(u));
			cli_json_set(c, "files", json_integer((json_int_t)bs.files));
			cli_json_set(c, "bytes", json_integer((json_int_t)bs.bytes));
		} else if (!c->quiet) {
			fprintf(stderr, "%s: backup %s, %llu file(s), %llu dir(s), %llu link(s), %llu bytes%s\n",
			        b.out, u, (unsigned long long)bs.files, (unsigned long long)bs.dirs,
			        (unsigned long long)bs.symlinks, (unsigned long long)bs.bytes,
			        b.encryption && strcmp(b.encryption, "none") != 0 ? ", encrypted" : "");
		}
	}
	return r ? cli_fail(c, r, "backup create") : EXIT_OK;
}

struct kms_unlock_ctx {
	struct tv_home *h;
	const char *server;
};

static int kms_unlock(void *ctx, const struct tv_keyslot *slots, size_t n,
                      const uint8_t uuid[TV_UUID_LEN], uint8_t dek_out[TV_DEK_LEN])
{
	struct kms_unlock_ctx *k = ctx;
	int r = TV_ERR_LOCKED;

	for (size_t i = 0; i < n; i++) {
		char used[300];
		if (slots[i].type != TV_SLOT_KMS)
			continue;
		r = tv_kmsglue_open_slot(k->h, &slots[i], uuid, k->server, NULL, dek_out, used,
		                         sizeof(used));
		if (r == 0)
			return 0;
	}
	if (r == TV_ERR_LOCKED)
		tv_errf(r, "the backup file has no KMS key slot");
	return r;
}

/* The writer policy with no state directory yet ('config restore' on a
 * fresh machine): there is neither an own identity nor a trust list to
 * hold a writer against.  The signatures are still verified by the reader
 * (a forged or cut file is refused); the writer is named.  The file must
 * be encrypted there, and its password slot authenticates it (only a
 * holder of the password can make a slot that opens with it). */
static int no_home_accept(void *ctx, const char *name, const struct tv_backup_info *info)
{
	struct cli *c = ctx;
	char f[TV_PKFPR_STR_LEN];

	if (c->quiet)
		return 0;
	if (info->signed_) {
		tv_pkfpr_format(info->wsig.fpr, f);
		fprintf(stderr, "%s: written by installation %s (signature verified)\n", name, f);
	} else {
		fprintf(stderr, "%s: carries no writer signature (made before backup files were "
		        "signed)\n", name);
	}
	return 0;
}

/* Opens the backup file into TO: encrypted files with the password in
 * PASSWORD_FILE (or the terminal), or a KMS registered here (c->h open);
 * a plaintext file is refused when MUST_BE_ENCRYPTED or a key is given.
 * With the state directory open, the file must be signed by this
 * installation or a trusted writer (jobs/writer.h: --trust-writer, a
 * question on a terminal), before a password is asked for, and again on
 * the stream that is extracted.  Audited when the state directory is
 * open.  Shared by 'backup extract' and 'config restore'. */
int cli_backup_open(struct cli *c, const char *file, const char *to,
                    const char *password_file, const char *kms, int must_be_encrypted,
                    struct tv_backup_stats *bs)
{
	struct tv_backup_info *info = NULL;
	struct tv_unlocker un;
	struct tv_password_unlock pu;
	struct kms_unlock_ctx ku;
	char *pw = NULL;
	size_t pwlen = 0;
	int r;

	memset(bs, 0, sizeof(*bs));
	memset(&un, 0, sizeof(un));
	if ((info = calloc(1, sizeof(*info))) == NULL)
		return TV_ERR_NOMEM;
	if ((r = tv_backup_inspect(file, info)) != 0)
		goto out;
	if (c->h != NULL) {
		struct tv_writer w;
		if ((r = tv_writer_backup_gate(c->h, file, info, &w)) != 0)
			goto out;
	}
	/* a key given means an encrypted file is expected: a plaintext one
	 * (swapped in by someone) is refused, not extracted */
	un.expect_encrypted = must_be_encrypted || kms != NULL || password_file != NULL;
	if (info->encrypted) {
		if (kms) {
			if (c->h == NULL) {
				r = tv_errf(TV_ERR_STATE, "--kms needs the state directory open");
				goto out;
			}
			ku.h = c->h;
			ku.server = kms;
			un.unlock = kms_unlock;
			un.ctx = &ku;
		} else {
			char desc[800];
			tv_slots_describe(info->slots, info->nslots, desc, sizeof(desc));
			if (!c->quiet)
				fprintf(stderr, "%s is encrypted: %s\n", file, desc);
			if ((r = tv_password_read(password_file, "Backup password: ", 0, &pw, &pwlen)) != 0)
				goto out;
			memset(&pu, 0, sizeof(pu));
			pu.pw = pw;
			pu.pwlen = pwlen;
			un.unlock = tv_unlock_password;
			un.ctx = &pu;
		}
	}
	if (c->h != NULL) {
		r = tv_writer_backup_extract(c->h, file, to, &un, bs);
	} else {
		struct tv_backup_trust nt = { no_home_accept, c };
		r = tv_backup_extract_trusted(file, to, &un, &nt, bs);
	}
	if (r == 0 && bs->skipped > 0)
		r = tv_errf(TV_ERR_PARTIAL, "%llu item(s) not restored: %s",
		            (unsigned long long)bs->skipped, bs->first_problem);
	if (c->h != NULL && info->encrypted)
		tv_audit(c->h, "backup extract", kms ? "kms" : "password", file,
		         r == 0 ? "extracted" : tv_errmsg(r));
out:
	if (pw)
		tv_freezero(pw, pwlen + 1);
	free(info);
	return r;
}

int cmd_backup_extract(struct cli *c, int argc, char **argv)
{
	static const struct option o[] = {{"to", required_argument, NULL, 't'},
	                                  {"password-file", required_argument, NULL, 'p'},
	                                  {"kms", required_argument, NULL, 'k'},
	                                  {"trust-writer", required_argument, NULL,
	                                   B_OPT_TRUST_WRITER},
	                                  {0, 0, 0, 0}};
	const struct cli_cmd *cmd = cli_find("backup extract");
	struct bopts b = {0};
	struct tv_backup_stats bs;
	int n, r;

	if ((n = cli_getopt(cmd, argc, argv, o, b_opt, &b)) < 0)
		return CLI_GETOPT_RETURN(n);
	if (n != 2 || b.to == NULL)
		return cli_usage(cmd, "backup extract needs FILE and --to DIR");
	if (b.kms && b.password_file)
		return cli_usage(cmd, "give either --password-file or --kms");
	/* who wrote the file is checked against this installation's identity
	 * and trust list */
	if (cli_open(c))
		return EXIT_FAIL;
	if (b.ntrust > 0) {
		c->h->trust_writer = b.trust;
		c->h->ntrust_writer = b.ntrust;
	}
	r = cli_backup_open(c, argv[1], b.to, b.password_file, b.kms, 0, &bs);
	if ((r == 0 || r == TV_ERR_PARTIAL) && !c->quiet)
		fprintf(stderr, "%s: extracted %llu file(s), %llu dir(s), %llu link(s), %llu bytes into %s\n",
		        argv[1], (unsigned long long)bs.files, (unsigned long long)bs.dirs,
		        (unsigned long long)bs.symlinks, (unsigned long long)bs.bytes, b.to);
	return r ? cli_fail(c, r, "backup extract") : EXIT_OK;
}
