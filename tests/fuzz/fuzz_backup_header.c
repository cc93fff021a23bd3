/* Fuzz target: the backup file container (src/backup/bfile.c): header
 * parsing (TLV body, key slots) and the chunk reader (framing, lengths,
 * flags, truncation, trailing data, checksums and GCM tags) on hostile
 * bytes.  Encrypted inputs are read with the fixed DEK 32 x 0x42 (the
 * DEK of the encrypted seeds), so mutated chunks reach the AEAD check.
 * Beyond "no crash": whatever the header parser accepts re-encodes to a
 * header that parses to the same information (a signed header, version 2,
 * to the same bytes: its writer signature is kept and still verifies).
 * The trailer parser of signed files (tv_backup_trailer_parse) gets the
 * input too, and the reader checks a signed file's trailer at its end.
 *
 * Seeds: build this file with -DFUZZ_BACKUP_GEN_SEEDS (it then has a
 * main writing the seed files into the directory given as argument):
 *   cc -DFUZZ_BACKUP_GEN_SEEDS -Isrc tests/fuzz/fuzz_backup_header.c \
 *      <objects of tvcore> -o gen && ./gen tests/fuzz/corpus/fuzz_backup_header */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "backup/backup.h"
#include "backup/bfile.h"
#include "crypto/slot.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n, off;
	size_t step;          /* vary the read sizes the reader gets */
};

static int mem_read(void *ctx, void *p, size_t n, size_t *got)
{
	struct mem *m = ctx;
	size_t take = m->n - m->off;

	if (take > n)
		take = n;
	if (m->step > 0 && take > m->step)
		take = m->step;
	memcpy(p, m->p + m->off, take);
	m->off += take;
	*got = take;
	return 0;
}

static void check_reencode(const uint8_t *data, size_t size)
{
	static struct tv_backup_info a, b;
	struct tv_buf out;
	size_t hl = 0, hl2 = 0;

	if (tv_backup_header_parse(data, size, &a, &hl) != 0)
		return;
	tv_buf_init(&out);
	if (tv_backup_header_encode(&out, &a) != 0)
		abort();      /* a header we accept must be encodable */
	if (tv_backup_header_parse(tv_buf_ptr(&out), tv_buf_avail(&out), &b, &hl2) != 0)
		abort();
	if (memcmp(a.uuid, b.uuid, 16) != 0 || a.created != b.created ||
	    a.chunk_size != b.chunk_size || a.encrypted != b.encrypted ||
	    a.nslots != b.nslots || memcmp(a.dek_fpr, b.dek_fpr, 16) != 0 ||
	    strcmp(a.writer, b.writer) != 0 || a.version != b.version ||
	    a.has_wsig != b.has_wsig || a.signed_ != b.signed_ ||
	    memcmp(&a.wsig, &b.wsig, sizeof(a.wsig)) != 0 || hl2 > hl)
		abort();
	for (size_t i = 0; i < a.nslots; i++) {
		char d1[1024], d2[1024];

		if (a.slots[i].wrapped_len != b.slots[i].wrapped_len ||
		    memcmp(a.slots[i].wrapped, b.slots[i].wrapped, a.slots[i].wrapped_len) != 0)
			abort();
		tv_slot_describe(&a.slots[i], d1, sizeof(d1));
		tv_slot_describe(&b.slots[i], d2, sizeof(d2));
		if (strcmp(d1, d2) != 0)
			abort();
	}
	tv_buf_free(&out);
}

/* The header checksum would stop almost every mutation before the TLV
 * body parser: when the last input byte has bit 7 set, fix it up first. */
static uint8_t *fix_header_hash(const uint8_t *data, size_t size)
{
	uint8_t *c;
	size_t blen;
	unsigned int l = 0;

	if (size < TV_BF_FIXED || !(data[size - 1] & 0x80) || !tv_backup_probe(data, size))
		return NULL;
	blen = tv_get_be32(data + 8);
	if (blen > TV_BACKUP_HDR_MAX || TV_BF_FIXED + blen + TV_BF_HASH > size)
		return NULL;
	if ((c = malloc(size)) == NULL)
		return NULL;
	memcpy(c, data, size);
	if (EVP_Digest(c, TV_BF_FIXED + blen, c + TV_BF_FIXED + blen, &l, EVP_sha256(),
	               NULL) != 1)
		abort();
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_backup_reader *r;
	struct mem m = { data, size, 0, 0 };
	uint8_t dek[TV_DEK_LEN];
	uint8_t *fixed = fix_header_hash(data, size);
	char desc[2048];

	if (fixed != NULL)
		m.p = data = fixed;
	/* the probe that flags job-encrypted files on tape: magic and flag */
	if (tv_backup_probe_encrypted(data, size) !=
	    (size >= 8 && tv_backup_probe(data, size) && (data[7] & 1)))
		abort();
	check_reencode(data, size);
	{
		/* the trailer parser on the input, and on its end */
		struct tv_wsig ws;
		(void)tv_backup_trailer_parse(data, size, &ws);
		if (size > 4) {
			for (size_t i = size - 4; i > 0 && i + 200 > size; i--)
				if (memcmp(data + i, TV_BF_TRAILER_MAGIC, 4) == 0) {
					(void)tv_backup_trailer_parse(data + i, size - i, &ws);
					break;
				}
		}
	}
	if (size > 0)
		m.step = 1 + data[size - 1] % 64 * 97;
	if (tv_backup_reader_open(&r, "fuzz", mem_read, &m) != 0) {
		free(fixed);
		return 0;
	}
	tv_slots_describe(tv_backup_reader_info(r)->slots, tv_backup_reader_info(r)->nslots,
	                  desc, sizeof(desc));
	memset(dek, 0x42, sizeof(dek));
	if (tv_backup_reader_set_dek(r, dek) == 0) {
		for (int i = 0; i < 10000; i++) {
			const uint8_t *p;
			size_t n;

			if (tv_backup_reader_next(r, &p, &n) != 0 || n == 0)
				break;
		}
	}
	tv_backup_reader_close(r);
	free(fixed);
	return 0;
}

#ifdef FUZZ_BACKUP_GEN_SEEDS
#include <fcntl.h>
#include <unistd.h>

#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"

static struct tv_buf sink;
static const struct tv_signer *signer;   /* NULL: unsigned seeds (version 1) */
static size_t cut_end;                    /* bytes left off at the end */

static int sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[TV_WSIG_SIG_LEN])
{
	return tv_identity_sign(ctx, msg, len, sig);
}

static int buf_write(void *ctx, const void *p, size_t n)
{
	return tv_buf_put(ctx, p, n);
}

static void save(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n)
		exit(1);
	fclose(f);
}

/* One container: header from info, then len bytes of a pattern. */
static void make(const char *dir, const char *name, struct tv_backup_info *info,
                 const uint8_t *dek, size_t len, size_t cut)
{
	struct tv_bwriter *w;
	uint8_t pat[1000];

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7);
	tv_buf_init(&sink);
	if (tv_bwriter_open_signed(&w, name, buf_write, &sink, info, dek, signer) != 0)
		exit(2);
	for (size_t off = 0; off < len; off += sizeof(pat))
		if (tv_bwriter_write(w, pat, len - off < sizeof(pat) ? len - off : sizeof(pat)) != 0)
			exit(3);
	if (tv_bwriter_finish(w) != 0)
		exit(4);
	tv_bwriter_free(w);
	save(dir, name, sink.d, cut && cut < sink.len ? cut
	                        : cut_end && cut_end < sink.len ? sink.len - cut_end : sink.len);
	tv_buf_free(&sink);
}

int main(int argc, char **argv)
{
	static struct tv_backup_info info;
	struct tv_kms_ident id = { "corp-kms", "kms.example.com", 5696, "42", "pool-key" };
	struct tv_kdf_params kp;
	struct tv_kek kek;
	EVP_PKEY *rsa;
	uint8_t dek[TV_DEK_LEN];

	if (argc != 2)
		return 1;
	memset(dek, 0x42, sizeof(dek));
	memset(&info, 0, sizeof(info));
	tv_uuid_new(info.uuid);
	info.created = 1700000000;
	info.chunk_size = TV_BACKUP_CHUNK_MIN;
	snprintf(info.writer, sizeof(info.writer), "tapevault seed");
	make(argv[1], "plain-3chunks", &info, NULL, 10000, 0);
	make(argv[1], "plain-empty", &info, NULL, 0, 0);
	make(argv[1], "plain-exact", &info, NULL, TV_BACKUP_CHUNK_MIN, 0);
	make(argv[1], "plain-truncated", &info, NULL, 10000, 5000);

	info.alg = TV_ENC_AES256GCM_HKDF;
	tv_dek_fingerprint(dek, info.dek_fpr);
	tv_kdf_params_new(&kp, TV_KDF_ARGON2ID);
	kp.iter = 2;
	kp.mem_kib = TV_ARGON2_M_MIN;
	if (tv_kek_derive(&kek, TV_KDF_ARGON2ID, &kp, "pw", 2) != 0)
		return 5;
	if (tv_slot_password_make(&info.slots[0], info.uuid, dek, NULL, 0, "seed",
	                          "the hint", 0, &kek) != 0)
		return 6;
	info.nslots = 1;
	make(argv[1], "enc-password", &info, dek, 9000, 0);
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (rsa == NULL || tv_slot_escrow_make(&info.slots[1], info.uuid, dek, rsa) != 0 ||
	    tv_slot_kms_init(&info.slots[2], &id, TV_KMS_RSA) != 0 ||
	    tv_slot_kms_rsa_wrap(&info.slots[2], info.uuid, dek, rsa) != 0)
		return 7;
	info.nslots = 3;
	make(argv[1], "enc-3slots", &info, dek, 5000, 0);
	make(argv[1], "enc-truncated", &info, dek, 9000, 2000);
	{
		struct tv_kms_ident aes = { "pykmip", "127.0.0.1", 5696, "7", NULL };
		uint8_t ct[32], tag[16];
		tv_random(ct, 32);
		tv_random(tag, 16);
		if (tv_slot_kms_init(&info.slots[0], &aes, TV_KMS_AES) != 0 ||
		    tv_slot_kms_aes_set_wrapped(&info.slots[0], ct, 32, tag, 16) != 0)
			return 8;
		info.nslots = 1;
		make(argv[1], "enc-kms-aes", &info, dek, 100, 0);
	}
	save(argv[1], "not-a-backup", (const uint8_t *)"PK\3\4garbage", 11);
	save(argv[1], "magic-only", (const uint8_t *)"TVB1", 4);
	{
		/* signed files (version 2): header signature and trailer */
		static struct tv_signer sg;
		EVP_PKEY *id = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		if (id == NULL || tv_identity_raw_pub(id, sg.pub) != 0 ||
		    tv_identity_fingerprint(id, sg.fpr) != 0)
			return 9;
		sg.sign = sign_cb;
		sg.ctx = id;
		signer = &sg;
		make(argv[1], "signed-enc-kms-aes", &info, dek, 9000, 0);
		cut_end = 40;      /* inside the trailer's signature */
		make(argv[1], "signed-enc-cut-trailer", &info, dek, 100, 0);
		memset(info.dek_fpr, 0, sizeof(info.dek_fpr));
		info.alg = TV_ENC_NONE;
		info.nslots = 0;
		cut_end = 0;
		make(argv[1], "signed-plain-3chunks", &info, NULL, 10000, 0);
		make(argv[1], "signed-plain-empty", &info, NULL, 0, 0);
		cut_end = 170;     /* the whole trailer: stripped */
		make(argv[1], "signed-plain-no-trailer", &info, NULL, 5000, 0);
		cut_end = 0;
		signer = NULL;
		EVP_PKEY_free(id);
	}
	EVP_PKEY_free(rsa);
	tv_kek_wipe(&kek);
	return 0;
}
#endif
