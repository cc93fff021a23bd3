/* tapevault: writer signatures of backup files (issue 10, finding 2;
 * docs/FORMAT.md section 16): round trips to memory, signed (version 2)
 * and unsigned (version 1, still read); an independent verifier that
 * rebuilds both signed messages from the file's bytes and checks them with
 * plain OpenSSL calls; every way to tamper (header, header signature,
 * chunks, chunks of another file with the same header, the trailer cut,
 * stripped, flipped, followed by data; a header re-signed by someone else)
 * refused before the last chunk's data is handed out; the writer policy of
 * tv_backup_extract_trusted, which refuses before anything is created. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backup/backup.h"
#include "backup/bfile.h"
#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "crypto/slot.h"
#include "util/buf.h"
#include "util/err.h"

#include "testlib.h"

/* the trailer of an Ed25519 signature: magic, item header, the list
 * (alg 6+8, public key 6+32, fingerprint 6+32, signature 6+64) */
#define TRAILER_LEN (4 + 6 + 14 + 38 + 38 + 70)
#define DATA_LEN 10000        /* 3 chunks of 4 KiB */

static const char *dir;
static EVP_PKEY *key_a, *key_b;   /* two installations */
static struct tv_signer sg_a, sg_b;
static struct tv_kek kek;
static uint8_t dek[TV_DEK_LEN];

static int sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[TV_WSIG_SIG_LEN])
{
	return tv_identity_sign(ctx, msg, len, sig);
}

static void signer_init(struct tv_signer *sg, EVP_PKEY *k)
{
	memset(sg, 0, sizeof(*sg));
	assert_int_equal(tv_identity_raw_pub(k, sg->pub), 0);
	assert_int_equal(tv_identity_fingerprint(k, sg->fpr), 0);
	sg->sign = sign_cb;
	sg->ctx = k;
}

static int setup(void **state)
{
	struct tv_kdf_params p;
	(void)state;

	dir = tl_tmpdir("bsig");
	key_a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	key_b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key_a == NULL || key_b == NULL)
		return -1;
	signer_init(&sg_a, key_a);
	signer_init(&sg_b, key_b);
	memset(dek, 0x42, sizeof(dek));
	tv_kdf_params_new(&p, TV_KDF_ARGON2ID);
	p.iter = 2;
	p.mem_kib = TV_ARGON2_M_MIN;
	return tv_kek_derive(&kek, TV_KDF_ARGON2ID, &p, "pw", 2) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	tv_kek_wipe(&kek);
	return 0;
}

/* ---- files in memory ---- */

static int buf_write(void *ctx, const void *p, size_t n)
{
	return tv_buf_put(ctx, p, n);
}

struct memsrc {
	const uint8_t *p;
	size_t n, off;
};

static int mem_read(void *ctx, void *p, size_t n, size_t *got)
{
	struct memsrc *m = ctx;
	size_t take = m->n - m->off < n ? m->n - m->off : n;

	if (take > 1000)
		take = 1000;        /* short reads: the reader must cope */
	memcpy(p, m->p + m->off, take);
	m->off += take;
	*got = take;
	return 0;
}

/* A fixed header: plaintext, or encrypted under dek with a password slot. */
static void info_init(struct tv_backup_info *info, int encrypted)
{
	static uint8_t uuid[TV_UUID_LEN];

	if (uuid[0] == 0 && uuid[1] == 0)
		assert_int_equal(tv_uuid_new(uuid), 0);
	memset(info, 0, sizeof(*info));
	memcpy(info->uuid, uuid, TV_UUID_LEN);
	info->created = 1700000000;
	info->chunk_size = TV_BACKUP_CHUNK_MIN;
	snprintf(info->writer, sizeof(info->writer), "tapevault test");
	if (encrypted) {
		info->alg = TV_ENC_AES256GCM_HKDF;
		assert_int_equal(tv_dek_fingerprint(dek, info->dek_fpr), 0);
		assert_int_equal(tv_slot_password_make(&info->slots[0], info->uuid, dek, NULL, 0,
		                                       "n", NULL, 0, &kek), 0);
		info->nslots = 1;
	}
}

/* DATA_LEN bytes of pattern `seed`, written with sg (NULL: unsigned). */
static uint8_t *make(const struct tv_backup_info *tmpl, const struct tv_signer *sg, int seed,
                     size_t *n, size_t *hlen)
{
	struct tv_backup_info info = *tmpl;
	struct tv_bwriter *w;
	struct tv_buf out;
	uint8_t data[DATA_LEN], *p = NULL;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + seed);
	tv_buf_init(&out);
	assert_int_equal(tv_bwriter_open_signed(&w, "mem", buf_write, &out, &info,
	                                        info.alg ? dek : NULL, sg), 0);
	*hlen = info.header_len;
	assert_int_equal(tv_bwriter_write(w, data, sizeof(data)), 0);
	assert_int_equal(tv_bwriter_finish(w), 0);
	assert_int_equal(tv_bwriter_bytes(w), tv_buf_avail(&out));
	tv_bwriter_free(w);
	assert_int_equal(tv_buf_steal(&out, &p, n), 0);
	tv_buf_free(&out);
	return p;
}

/* Reads a whole file: 0 and the data checked against pattern `seed`, or
 * the error of the first call that failed; *got: payload bytes handed out. */
static int read_all(const uint8_t *p, size_t n, int seed, struct tv_backup_info *info,
                    size_t *got)
{
	struct memsrc m = { p, n, 0 };
	struct tv_backup_reader *r;
	int e;

	*got = 0;
	if ((e = tv_backup_reader_open(&r, "mem", mem_read, &m)) != 0)
		return e;
	if (info != NULL)
		*info = *tv_backup_reader_info(r);
	if ((e = tv_backup_reader_set_dek(r, dek)) != 0)
		goto out;
	for (;;) {
		const uint8_t *q;
		size_t k;

		if ((e = tv_backup_reader_next(r, &q, &k)) != 0 || k == 0)
			break;
		for (size_t i = 0; i < k; i++)
			assert_int_equal(q[i], (uint8_t)((*got + i) * 7 + seed));
		*got += k;
	}
out:
	tv_backup_reader_close(r);
	return e;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n + 1);

	assert_non_null(d);
	memcpy(d, p, n);
	return d;
}

/* ---- an independent verifier of FORMAT.md 16 (plain OpenSSL) ---- */

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int l = 0;

	assert_int_equal(EVP_Digest(p, n, out, &l, EVP_sha256(), NULL), 1);
	assert_int_equal(l, 32);
}

static int ed25519_ok(const uint8_t pub[32], const uint8_t *msg, size_t len,
                      const uint8_t sig[64])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	assert_non_null(k);
	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, k), 1);
	ok = EVP_DigestVerify(md, sig, 64, msg, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return ok;
}

/* The value of item `tag` of the TLV list p[0..n): its length in *len. */
static const uint8_t *tlv_find(const uint8_t *p, size_t n, unsigned tag, size_t *len)
{
	size_t off = 0;

	while (off + 6 <= n) {
		unsigned t = tv_get_be16(p + off);
		size_t l = tv_get_be32(p + off + 2);

		assert_true(off + 6 + l <= n);
		if (t == tag) {
			*len = l;
			return p + off + 6;
		}
		off += 6 + l;
	}
	fail_msg("TLV item %u missing", tag);
	return NULL;
}

/* Checks both signatures of a version 2 file as the format says; the
 * public key must be expect_pub. */
static void verify_independently(const uint8_t *f, size_t n, const uint8_t expect_pub[32])
{
	static const uint8_t spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
	                                         0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	uint8_t h[32], t[32], spki[44], fpr[32], msg[256];
	const uint8_t *hs, *pub, *sig, *fp, *ts;
	size_t b, l, hsl, tsl, nb, ml;

	assert_memory_equal(f, "TVB1", 4);
	assert_int_equal(tv_get_be16(f + 4), 2);
	b = tv_get_be32(f + 8);
	sha256(f, 12 + b, h);                                  /* header hash */
	assert_memory_equal(f + 12 + b, h, 32);
	assert_int_equal(tv_get_be16(f + 44 + b), 1);          /* header signature item */
	hsl = tv_get_be32(f + 44 + b + 2);
	hs = f + 44 + b + 6;
	pub = tlv_find(hs, hsl, 2, &l);
	assert_int_equal(l, 32);
	assert_memory_equal(pub, expect_pub, 32);
	fp = tlv_find(hs, hsl, 3, &l);
	memcpy(spki, spki_prefix, 12);
	memcpy(spki + 12, pub, 32);
	sha256(spki, sizeof(spki), fpr);
	assert_memory_equal(fp, fpr, 32);
	sig = tlv_find(hs, hsl, 4, &l);
	assert_int_equal(l, 64);
	ml = strlen("tapevault backup header signature");
	assert_int_equal(ml, 33);
	memcpy(msg, "tapevault backup header signature", ml);
	memcpy(msg + ml, h, 32);
	assert_true(ed25519_ok(pub, msg, ml + 32, sig));
	/* the trailer: "TVBT", item 2, over every byte before it */
	nb = n - TRAILER_LEN;
	assert_memory_equal(f + nb, "TVBT", 4);
	assert_int_equal(tv_get_be16(f + nb + 4), 2);
	tsl = tv_get_be32(f + nb + 6);
	assert_int_equal(nb + 10 + tsl, n);
	ts = f + nb + 10;
	assert_memory_equal(tlv_find(ts, tsl, 2, &l), pub, 32);
	sig = tlv_find(ts, tsl, 4, &l);
	sha256(f, nb, t);
	ml = strlen("tapevault backup file signature");
	assert_int_equal(ml, 31);
	memcpy(msg, "tapevault backup file signature", ml);
	memcpy(msg + ml, h, 32);
	tv_put_be64(msg + ml + 32, nb);
	memcpy(msg + ml + 40, t, 32);
	assert_true(ed25519_ok(pub, msg, ml + 72, sig));
}

/* ---- tests ---- */

static void test_roundtrip_signed(void **state)
{
	(void)state;
	for (int enc = 0; enc <= 1; enc++) {
		struct tv_backup_info tmpl, got;
		size_t n, hl, k = 0;
		uint8_t *f;

		info_init(&tmpl, enc);
		f = make(&tmpl, &sg_a, 1, &n, &hl);
		assert_int_equal(read_all(f, n, 1, &got, &k), 0);
		assert_int_equal(k, DATA_LEN);
		assert_int_equal(got.version, TV_BACKUP_VERSION_SIGNED);
		assert_true(got.has_wsig);
		assert_true(got.signed_);
		assert_int_equal(got.encrypted, enc);
		assert_memory_equal(got.wsig.pub, sg_a.pub, 32);
		assert_memory_equal(got.wsig.fpr, sg_a.fpr, 32);
		assert_int_equal(got.header_len, hl);
		verify_independently(f, n, sg_a.pub);
		/* the probe that flags job-encrypted files still works */
		assert_int_equal(tv_backup_probe_encrypted(f, n), enc);
		free(f);
	}
}

/* Files from before signatures (version 1) read as they did: unsigned. */
static void test_unsigned_v1_read(void **state)
{
	(void)state;
	for (int enc = 0; enc <= 1; enc++) {
		struct tv_backup_info tmpl, got;
		size_t n, hl, k = 0;
		uint8_t *f;

		info_init(&tmpl, enc);
		f = make(&tmpl, NULL, 3, &n, &hl);
		assert_int_equal(tv_get_be16(f + 4), 1);
		assert_int_equal(read_all(f, n, 3, &got, &k), 0);
		assert_int_equal(k, DATA_LEN);
		assert_int_equal(got.version, TV_BACKUP_VERSION);
		assert_false(got.has_wsig);
		assert_false(got.signed_);
		free(f);
	}
}

/* A header as decoded re-encodes to the same bytes, signature included. */
static void test_reencode(void **state)
{
	struct tv_backup_info tmpl, a;
	struct tv_buf out;
	size_t n, hl, hl2 = 0;
	uint8_t *f;
	(void)state;

	info_init(&tmpl, 1);
	f = make(&tmpl, &sg_a, 1, &n, &hl);
	assert_int_equal(tv_backup_header_parse(f, n, &a, &hl2), 0);
	assert_int_equal(hl2, hl);
	tv_buf_init(&out);
	assert_int_equal(tv_backup_header_encode(&out, &a), 0);
	assert_int_equal(tv_buf_avail(&out), hl);
	assert_memory_equal(tv_buf_ptr(&out), f, hl);
	tv_buf_free(&out);
	/* each prefix of the header asks for more, never fails */
	for (size_t i = 0; i < hl; i += 7) {
		size_t need = 0;
		assert_int_equal(tv_backup_header_parse(f, i, &a, &need), TV_ERR_EOF);
		assert_true(need == 0 || need > i);
	}
	free(f);
}

struct mutation {
	const char *what;
	int want;             /* error */
	int at_open;          /* refused when the header is read */
};

static void expect_refused(const uint8_t *f, size_t n, int seed, const struct mutation *m)
{
	struct memsrc ms = { f, n, 0 };
	struct tv_backup_reader *r;
	size_t got = 0;
	int e;

	print_message("  %s\n", m->what);
	e = tv_backup_reader_open(&r, "mem", mem_read, &ms);
	if (m->at_open) {
		assert_int_equal(e, m->want);
		assert_non_null(strstr(tv_errmsg(e), "mem: "));
		return;
	}
	assert_int_equal(e, 0);
	tv_backup_reader_close(r);
	e = read_all(f, n, seed, NULL, &got);
	assert_int_equal(e, m->want);
	/* the LAST chunk's data is never handed out */
	assert_true(got <= 2 * TV_BACKUP_CHUNK_MIN);
}

static void test_tampered(void **state)
{
	(void)state;
	for (int enc = 0; enc <= 1; enc++) {
		struct tv_backup_info tmpl;
		size_t n, hl, n2, hl2;
		uint8_t *f, *g, *d;
		size_t b;

		info_init(&tmpl, enc);
		f = make(&tmpl, &sg_a, 1, &n, &hl);
		b = tv_get_be32(f + 8);
		/* a header byte (the writer string, the last body item) */
		d = dup_bytes(f, n);
		d[12 + b - 2] ^= 1;
		expect_refused(d, n, 1, &(struct mutation){ "header byte", TV_ERR_CRC, 1 });
		/* ... with the header hash recomputed, as a forger would */
		sha256(d, 12 + b, d + 12 + b);
		expect_refused(d, n, 1, &(struct mutation){ "header byte, hash fixed", TV_ERR_SIG, 1 });
		free(d);
		/* the header signature's bytes */
		d = dup_bytes(f, n);
		d[hl - 10] ^= 0x80;
		expect_refused(d, n, 1, &(struct mutation){ "header signature", TV_ERR_SIG, 1 });
		free(d);
		/* the public key in the header signature (the fingerprint no longer
		 * matches) */
		d = dup_bytes(f, n);
		d[44 + b + 6 + 14 + 6] ^= 1;
		expect_refused(d, n, 1, &(struct mutation){ "header signature key", TV_ERR_SIG, 1 });
		free(d);
		/* a byte in the middle (the second chunk's payload) */
		d = dup_bytes(f, n);
		d[hl + 8 + TV_BACKUP_CHUNK_MIN + 16 + 8 + 100] ^= 4;
		expect_refused(d, n, 1, &(struct mutation){ "middle byte", enc ? TV_ERR_AUTH
		                                                               : TV_ERR_CRC, 0 });
		free(d);
		/* the chunks of another file with the very same header (same
		 * writer, UUID, slots): every chunk authenticates, the trailer's
		 * signature of the whole file does not */
		g = make(&tmpl, &sg_a, 2, &n2, &hl2);
		assert_int_equal(n2, n);
		assert_int_equal(hl2, hl);
		assert_memory_equal(g, f, hl);
		d = dup_bytes(f, n);
		memcpy(d + hl, g + hl, n - hl - TRAILER_LEN);
		expect_refused(d, n, 2, &(struct mutation){ "another file's chunks", TV_ERR_SIG, 0 });
		free(d);
		free(g);
		/* a header re-signed by another installation, the trailer left:
		 * the trailer is not by the header's writer */
		{
			struct tv_backup_info info;
			struct tv_buf hdr;
			size_t need = 0;

			assert_int_equal(tv_backup_header_parse(f, n, &info, &need), 0);
			info.has_wsig = 0;
			tv_buf_init(&hdr);
			assert_int_equal(tv_backup_header_encode_signed(&hdr, &info, &sg_b), 0);
			assert_int_equal(tv_buf_avail(&hdr), hl);
			d = dup_bytes(f, n);
			memcpy(d, tv_buf_ptr(&hdr), hl);
			tv_buf_free(&hdr);
			expect_refused(d, n, 1, &(struct mutation){ "header re-signed by another",
			                                            TV_ERR_SIG, 0 });
			free(d);
		}
		/* the trailer: stripped, cut, flipped, followed by a byte */
		expect_refused(f, n - TRAILER_LEN, 1,
		               &(struct mutation){ "trailer stripped", TV_ERR_EOF, 0 });
		expect_refused(f, n - TRAILER_LEN + 3, 1,
		               &(struct mutation){ "trailer cut in its magic", TV_ERR_EOF, 0 });
		expect_refused(f, n - 20, 1, &(struct mutation){ "trailer cut", TV_ERR_EOF, 0 });
		expect_refused(f, n - 1, 1, &(struct mutation){ "last byte cut", TV_ERR_EOF, 0 });
		expect_refused(f, hl + 100, 1, &(struct mutation){ "cut in chunk 0", TV_ERR_EOF, 0 });
		d = dup_bytes(f, n);
		d[n - 5] ^= 1;
		expect_refused(d, n, 1, &(struct mutation){ "trailer signature", TV_ERR_SIG, 0 });
		d[n - 5] ^= 1;
		d[n - TRAILER_LEN] = 'X';
		expect_refused(d, n, 1, &(struct mutation){ "trailer magic", TV_ERR_FORMAT, 0 });
		d[n - TRAILER_LEN] = 'T';
		d[n - TRAILER_LEN + 5] = 3;
		expect_refused(d, n, 1, &(struct mutation){ "trailer item tag", TV_ERR_FORMAT, 0 });
		free(d);
		d = malloc(n + 1);
		assert_non_null(d);
		memcpy(d, f, n);
		d[n] = 0;
		expect_refused(d, n + 1, 1, &(struct mutation){ "data after the trailer",
		                                                TV_ERR_FORMAT, 0 });
		free(d);
		/* the version lowered to 1 (hash recomputed): the signature item is
		 * then read as a chunk, and is none */
		d = dup_bytes(f, n);
		tv_put_be16(d + 4, 1);
		sha256(d, 12 + b, d + 12 + b);
		{
			size_t got = 0;
			assert_int_not_equal(read_all(d, n, 1, NULL, &got), 0);
			assert_int_equal(got, 0);
		}
		free(d);
		free(f);
	}
}

static void test_trailer_parse(void **state)
{
	struct tv_backup_info tmpl;
	struct tv_wsig ws;
	size_t n, hl;
	uint8_t *f, *t;
	(void)state;

	info_init(&tmpl, 0);
	f = make(&tmpl, &sg_b, 1, &n, &hl);
	t = f + n - TRAILER_LEN;
	assert_int_equal(tv_backup_trailer_parse(t, TRAILER_LEN, &ws), 0);
	assert_int_equal(ws.alg, TV_WSIG_ED25519);
	assert_memory_equal(ws.pub, sg_b.pub, 32);
	for (size_t i = 0; i < TRAILER_LEN; i++)
		assert_int_equal(tv_backup_trailer_parse(t, i, &ws), TV_ERR_EOF);
	t[0] = 'x';
	assert_int_equal(tv_backup_trailer_parse(t, TRAILER_LEN, &ws), TV_ERR_FORMAT);
	free(f);
}

/* ---- the writer policy on files on disk ---- */

static int fd_write_cb(void *ctx, const void *p, size_t n)
{
	return write(*(int *)ctx, p, n) == (ssize_t)n ? 0 : TV_ERR_IO;
}

struct policy {
	int calls;
	int refuse;
	struct tv_backup_info seen;
};

static int accept_cb(void *ctx, const char *name, const struct tv_backup_info *info)
{
	struct policy *p = ctx;

	(void)name;
	p->calls++;
	p->seen = *info;
	return p->refuse ? tv_errf(TV_ERR_PERM, "refused by the test") : 0;
}

/* The directory holds nothing but the names given (no temporary left). */
static void only(const char *d, const char *a, const char *b)
{
	DIR *dd = opendir(d);
	struct dirent *de;

	assert_non_null(dd);
	while ((de = readdir(dd)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((a && !strcmp(de->d_name, a)) || (b && !strcmp(de->d_name, b)))
			continue;
		fail_msg("unexpected %s in %s", de->d_name, d);
	}
	closedir(dd);
}

static void test_extract_policy(void **state)
{
	const char *w = tl_tmpdir("policy");
	char *src = tl_path(w, "src"), *f = tl_path(w, "in"), *file, *out;
	const char *srcs[1];
	struct policy pol;
	struct tv_backup_trust trust = { accept_cb, &pol };
	struct tv_backup_stats bs;
	struct tv_backup_info info;
	uint8_t *data;
	size_t n;
	int fd;
	(void)state;

	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(f, 0755), 0);
	out = tl_path(src, "hello");
	tl_write_file(out, "hello\n", 6, 0644);
	free(out);
	srcs[0] = src;
	file = tl_path(f, "signed.tvb");
	assert_int_equal(tv_backup_create_signed(srcs, 1, file, NULL, &sg_a, &bs), 0);
	assert_int_equal(tv_backup_inspect(file, &info), 0);
	assert_true(info.signed_);
	assert_memory_equal(info.wsig.pub, sg_a.pub, 32);
	out = tl_path(w, "x1");
	/* refused by the policy: nothing made */
	memset(&pol, 0, sizeof(pol));
	pol.refuse = 1;
	assert_int_equal(tv_backup_extract_trusted(file, out, NULL, &trust, &bs), TV_ERR_PERM);
	assert_int_equal(pol.calls, 1);
	assert_true(pol.seen.signed_);
	assert_memory_equal(pol.seen.wsig.fpr, sg_a.fpr, 32);
	only(w, "src", "in");
	/* accepted */
	pol.refuse = 0;
	assert_int_equal(tv_backup_extract_trusted(file, out, NULL, &trust, &bs), 0);
	assert_int_equal(bs.files, 1);
	{
		char *h = tl_path(out, "src/hello");
		struct stat st;
		assert_int_equal(stat(h, &st), 0);
		free(h);
	}
	tl_rmtree(out);
	free(out);
	/* streaming: every entry is extracted (into a temporary directory)
	 * before the trailer is read; a trailer that does not verify leaves
	 * nothing, at the destination or beside it */
	data = tl_read_file(file, &n);
	assert_non_null(data);
	data[n - 5] ^= 1;                  /* the trailer's signature */
	free(file);
	file = tl_path(f, "forged.tvb");
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fd_write_cb(&fd, data, n), 0);
	close(fd);
	out = tl_path(w, "x2");
	pol.calls = 0;
	assert_int_equal(tv_backup_extract_trusted(file, out, NULL, &trust, &bs), TV_ERR_SIG);
	assert_int_equal(pol.calls, 1);
	assert_non_null(strstr(tv_errmsg(TV_ERR_SIG), "forged.tvb: the writer signature of the "
	                       "file's contents does not verify"));
	only(w, "src", "in");
	/* an existing empty destination stays empty */
	assert_int_equal(mkdir(out, 0700), 0);
	assert_int_equal(tv_backup_extract_trusted(file, out, NULL, &trust, &bs), TV_ERR_SIG);
	only(out, NULL, NULL);
	free(data);
	free(out);
	free(file);
	free(f);
	free(src);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_signed),
		cmocka_unit_test(test_unsigned_v1_read),
		cmocka_unit_test(test_reencode),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_trailer_parse),
		cmocka_unit_test(test_extract_policy),
	};
	return tl_run(argc, argv, tests, setup, teardown);
}
