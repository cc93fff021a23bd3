#include "crypto/keystore.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "util/err.h"

#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* master.key: "TVMK" | u32 version 1 | key (32) | SHA-256(previous)[0..8) */
#define MK_MAGIC "TVMK"
#define MK_LEN (4 + 4 + 32 + 8)
#define HDR_LEN 13

struct tv_keystore {
	uint8_t seal_key[32];
	uint8_t id[8];
};

static int mk_paths(const char *home, char *dir, size_t dsz, char *file, size_t fsz)
{
	if (home == NULL || home[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "no state directory");
	if ((size_t)snprintf(dir, dsz, "%s/%s", home, TV_KEYSTORE_DIR) >= dsz ||
	    (size_t)snprintf(file, fsz, "%s/%s/%s", home, TV_KEYSTORE_DIR,
	                     TV_KEYSTORE_FILE) >= fsz)
		return tv_errf(TV_ERR_INVAL, "state directory path too long");
	return 0;
}

static int mk_check(const uint8_t *p)
{
	uint8_t h[32];
	unsigned int hl = 0;

	if (memcmp(p, MK_MAGIC, 4) != 0)
		return TV_ERR_FORMAT;
	if (tv_get_be32(p + 4) != 1)
		return TV_ERR_UNSUPPORTED;
	if (EVP_Digest(p, 40, h, &hl, EVP_sha256(), NULL) != 1)
		return tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
	return memcmp(h, p + 40, 8) == 0 ? 0 : TV_ERR_CRC;
}

int tv_keystore_create(const char *home)
{
	char dir[4096], file[4096];
	uint8_t mk[MK_LEN], h[32];
	unsigned int hl = 0;
	struct stat sb;
	size_t off = 0;
	int fd = -1, r;

	if ((r = mk_paths(home, dir, sizeof(dir), file, sizeof(file))) != 0)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return tv_errf(TV_ERR_IO, "%s: %s", dir, strerror(errno));
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tv_errf(TV_ERR_IO, "%s is not a directory", dir);
	if (sb.st_uid == geteuid() && (sb.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return tv_errf(TV_ERR_IO, "%s: chmod: %s", dir, strerror(errno));
	memcpy(mk, MK_MAGIC, 4);
	tv_put_be32(mk + 4, 1);
	if ((r = tv_random(mk + 8, 32)) != 0)
		goto out;
	if (EVP_Digest(mk, 40, h, &hl, EVP_sha256(), NULL) != 1) {
		r = tv_ossl_err(TV_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	memcpy(mk + 40, h, 8);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = errno == EEXIST
		    ? tv_errf(TV_ERR_EXISTS, "%s already exists: the key store is "
		              "initialised (it is never replaced)", file)
		    : tv_errf(TV_ERR_IO, "%s: %s", file, strerror(errno));
		goto out;
	}
	while (off < sizeof(mk)) {
		ssize_t w = write(fd, mk + off, sizeof(mk) - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = tv_errf(TV_ERR_IO, "%s: write: %s", file, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (r == 0 && fsync(fd) != 0)
		r = tv_errf(TV_ERR_IO, "%s: fsync: %s", file, strerror(errno));
	if (close(fd) != 0 && r == 0)
		r = tv_errf(TV_ERR_IO, "%s: close: %s", file, strerror(errno));
	if (r != 0) {
		unlink(file);
		goto out;
	}
	/* make the new directory entry durable too */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
out:
	tv_wipe(mk, sizeof(mk));
	return r;
}

int tv_keystore_load(const char *home, struct tv_keystore **out)
{
	static const char info[] = "tapevault keystore seal v1";
	static const char idinfo[] = "tapevault keystore id v1";
	char dir[4096], file[4096];
	uint8_t mk[MK_LEN + 1];
	struct tv_keystore *ks = NULL;
	struct stat sb;
	ssize_t n;
	int fd = -1, r;

	*out = NULL;
	if ((r = mk_paths(home, dir, sizeof(dir), file, sizeof(file))) != 0)
		return r;
	{
		char missing[PATH_MAX + 96];
		snprintf(missing, sizeof(missing), "no key store in %s (run tapevault init)", home);
		if ((r = tv_secret_file_open(dir, file, "master key", missing, &fd, &sb)) != 0)
			return r;
	}
	do
		n = read(fd, mk, sizeof(mk));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = tv_errf(TV_ERR_IO, "%s: read: %s", file, strerror(errno));
		goto out;
	}
	if (n != MK_LEN || (r = mk_check(mk)) != 0) {
		r = tv_errf(r == TV_ERR_UNSUPPORTED ? r : TV_ERR_FORMAT,
		            "%s: damaged or unknown master key file", file);
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		r = TV_ERR_NOMEM;
		goto out;
	}
	if ((r = tv_hkdf_sha256(mk + 8, 32, NULL, 0, info, sizeof(info) - 1,
	                        ks->seal_key, sizeof(ks->seal_key))) != 0 ||
	    (r = tv_hkdf_sha256(mk + 8, 32, NULL, 0, idinfo, sizeof(idinfo) - 1,
	                        ks->id, sizeof(ks->id))) != 0)
		goto out;
	*out = ks;
	ks = NULL;
out:
	tv_wipe(mk, sizeof(mk));
	tv_keystore_free(ks);
	if (fd >= 0)
		close(fd);
	return r;
}

void tv_keystore_free(struct tv_keystore *ks)
{
	tv_freezero(ks, sizeof(*ks));
}

void tv_keystore_id(const struct tv_keystore *ks, char out[17])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < 8; i++) {
		out[2 * i] = hex[ks->id[i] >> 4];
		out[2 * i + 1] = hex[ks->id[i] & 15];
	}
	out[16] = '\0';
}

/* AAD = blob header || caller AAD */
static int make_aad(struct tv_buf *aad, const uint8_t *hdr, const void *caad, size_t clen)
{
	int r;

	tv_buf_init(aad);
	if ((r = tv_buf_put(aad, hdr, HDR_LEN)) != 0 || (r = tv_buf_put(aad, caad, clen)) != 0)
		return r;
	return 0;
}

int tv_keystore_seal(struct tv_keystore *ks, const void *aad, size_t aad_len,
                     const void *pt, size_t len, struct tv_buf *out)
{
	struct tv_buf a;
	uint8_t *p;
	size_t start = tv_buf_avail(out);
	int r;

	tv_buf_init(&a);
	if (len > TV_BUF_MAX_DEFAULT)
		return tv_errf(TV_ERR_RANGE, "secret too large to seal");
	if ((r = tv_buf_reserve(out, TV_KEYSTORE_OVERHEAD + len, &p)) != 0)
		return r;
	memcpy(p, TV_KEYSTORE_MAGIC, 4);
	p[4] = TV_KEYSTORE_VERSION;
	memcpy(p + 5, ks->id, 8);
	if ((r = tv_random(p + HDR_LEN, TV_GCM_IV_LEN)) != 0)
		goto out;
	if ((r = make_aad(&a, p, aad, aad_len)) != 0)
		goto out;
	r = tv_gcm_seal(ks->seal_key, p + HDR_LEN, tv_buf_ptr(&a), tv_buf_avail(&a), pt, len,
	                p + HDR_LEN + TV_GCM_IV_LEN, p + HDR_LEN + TV_GCM_IV_LEN + len);
out:
	tv_buf_free(&a);
	if (r != 0)   /* drops (and wipes) what this call appended */
		tv_buf_consume_end(out, tv_buf_avail(out) - start);
	return r;
}

int tv_keystore_open(struct tv_keystore *ks, const void *aad, size_t aad_len,
                     const void *blob, size_t blob_len, struct tv_buf *out)
{
	const uint8_t *hdr = NULL, *iv = NULL, *ct = NULL, *tag = NULL, *id = NULL;
	uint8_t a_dummy[1], magic[4], version = 0;
	struct tv_buf a, in;
	uint8_t *p;
	size_t len, start = tv_buf_avail(out);
	int r;

	tv_buf_init(&a);
	tv_buf_view(&in, blob, blob_len);
	if (blob_len < TV_KEYSTORE_OVERHEAD || tv_buf_peek(&in, 0, magic, 4) != 0 ||
	    memcmp(magic, TV_KEYSTORE_MAGIC, 4) != 0)
		return tv_errf(TV_ERR_FORMAT, "not a sealed key store secret");
	len = blob_len - TV_KEYSTORE_OVERHEAD;
	/* header (magic, version, key id) | IV | ciphertext | tag */
	if ((r = tv_buf_get_ptr(&in, &hdr, HDR_LEN)) != 0 ||
	    (r = tv_buf_get_ptr(&in, &iv, TV_GCM_IV_LEN)) != 0 ||
	    (r = tv_buf_get_ptr(&in, &ct, len)) != 0 ||
	    (r = tv_buf_get_ptr(&in, &tag, TV_GCM_TAG_LEN)) != 0)
		return tv_errf(TV_ERR_FORMAT, "not a sealed key store secret");
	tv_buf_view(&in, hdr, HDR_LEN);
	if (tv_buf_consume(&in, 4) != 0 || tv_buf_get_u8(&in, &version) != 0 ||
	    tv_buf_get_ptr(&in, &id, 8) != 0)
		return tv_errf(TV_ERR_FORMAT, "not a sealed key store secret");
	if (version != TV_KEYSTORE_VERSION)
		return tv_errf(TV_ERR_FORMAT, "sealed secret of unknown version %u", version);
	if (CRYPTO_memcmp(id, ks->id, 8) != 0)
		return tv_errf(TV_ERR_BADKEY, "secret sealed by another key store");
	if (len == 0)
		p = a_dummy;
	else if ((r = tv_buf_reserve(out, len, &p)) != 0)
		return r;
	if ((r = make_aad(&a, hdr, aad, aad_len)) != 0)
		goto out;
	r = tv_gcm_open(ks->seal_key, iv, tv_buf_ptr(&a), tv_buf_avail(&a), ct, len, tag, p);
	if (r == TV_ERR_AUTH)
		r = tv_errf(TV_ERR_AUTH, "sealed secret does not authenticate "
		            "(modified, or not meant for this use)");
out:
	tv_buf_free(&a);
	if (r != 0)   /* drops (and wipes) what this call appended */
		tv_buf_consume_end(out, tv_buf_avail(out) - start);
	return r;
}
