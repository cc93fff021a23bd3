/* tapevault micro-benchmark of the format layer: CRC32C, record sealing,
 * and tv_twriter / tv_treader streaming through a vtape image.
 *
 *   bench/bench_format.sh [BUILD_DIR] [MiB] [DIR]
 *
 * writes MiB (default 1024) through tv_twriter to a vtape image in DIR
 * (default /dev/shm), plaintext and encrypted, reads it back through
 * tv_treader, and prints MB/s (10^6 bytes per second). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void die(int rc, const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, tv_errmsg(rc));
	exit(1);
}

static void bench_crc(void)
{
	size_t n = 64u << 20;
	uint8_t *b = malloc(n);
	volatile uint32_t sink = 0;
	double t;

	memset(b, 0xa5, n);
	t = now();
	for (int i = 0; i < 8; i++)
		sink += tv_crc32c_hw(0, b, n);
	printf("crc32c sse4.2 (%s):      %8.0f MB/s\n",
	       tv_crc32c_hw_available() ? "3-way" : "absent, portable",
	       8.0 * (double)n / (now() - t) / 1e6);
	t = now();
	for (int i = 0; i < 2; i++)
		sink += tv_crc32c_sw(0, b, n);
	printf("crc32c slice-by-8:           %8.0f MB/s\n", 2.0 * (double)n / (now() - t) / 1e6);
	(void)sink;
	free(b);
}

static void bench_seal(size_t rs)
{
	struct tv_rec_crypto c;
	uint8_t *rec = malloc(rs), dek[32] = { 1 }, u[16] = { 2 };
	size_t total, cap = rs - TV_REC_HDR - TV_TAG_LEN;
	int rc, n = 4096;
	double t;

	memset(rec, 0x5a, rs);
	if ((rc = tv_rec_crypto_init(&c)) != 0 ||
	    (rc = tv_rec_crypto_key(&c, 1, dek, u, u)) != 0)
		die(rc, "crypto");
	t = now();
	for (int i = 0; i < n; i++)
		if ((rc = tv_rec_seal(&c, rec, rs, 0, 2, (uint64_t)i + 1, cap, &total)) != 0)
			die(rc, "seal");
	printf("seal AES-256-GCM + CRC:      %8.0f MB/s (in memory, %zu KiB records)\n",
	       (double)n * (double)cap / (now() - t) / 1e6, rs / 1024);
	tv_rec_crypto_free(&c);
	free(rec);
}

/* A tape that discards what is written: the format layer's own speed. */
static int null_write(struct tv_tape *t, const void *b, size_t n) { (void)t; (void)b; (void)n; return 0; }
static int null_fm(struct tv_tape *t, unsigned c) { (void)t; (void)c; return 0; }
static int null_close(struct tv_tape *t) { free(t); return 0; }
static const struct tv_tape_ops null_ops = {
	.version = TV_TAPE_OPS_VERSION, .kind = "null",
	.write = null_write, .write_filemarks = null_fm, .close = null_close,
};

static void bench_null(size_t mib, size_t rs, int enc)
{
	struct tv_tape *t = calloc(1, sizeof(*t));
	struct tv_twriter *w;
	uint8_t dek[32], tape[16], cu[16];
	size_t chunk = 1u << 20;
	uint64_t total = (uint64_t)mib << 20, done;
	uint8_t *buf = malloc(chunk);
	double t0;
	int rc;

	t->ops = &null_ops;
	memset(buf, 3, chunk);
	memset(dek, 7, sizeof(dek));
	memset(tape, 8, sizeof(tape));
	memset(cu, 9, sizeof(cu));
	t0 = now();
	if ((rc = tv_twriter_open(&w, t, "NULL", tape, rs)) != 0 ||
	    (rc = tv_twriter_begin_file(w, 2, TV_CT_FILE_DATA, cu, "x", 1,
	                                enc ? dek : NULL)) != 0)
		die(rc, "null writer");
	for (done = 0; done < total; done += chunk)
		if ((rc = tv_twriter_write(w, buf, chunk)) != 0)
			die(rc, "write");
	if ((rc = tv_twriter_end_file(w, 0, NULL)) != 0 ||
	    (rc = tv_twriter_close(w)) != 0)
		die(rc, "close");
	printf("%-10s %zu KiB records: write %7.0f MB/s (tape that discards)\n",
	       enc ? "encrypted" : "plaintext", rs / 1024,
	       (double)total / (now() - t0) / 1e6);
	tv_tape_close(t);
	free(buf);
}

static void bench_stream(const char *dir, size_t mib, size_t rs, int enc)
{
	char path[512], json[600];
	struct tv_vtape_attrs a;
	struct tv_tape *tp;
	struct tv_twriter *w;
	struct tv_treader *r;
	struct tv_content_header ch;
	uint8_t dek[32], tape[16], cu[16];
	size_t chunk = 1u << 20, got, files = 4;
	uint64_t total = (uint64_t)mib << 20, per = total / files, done, fno;
	uint8_t *buf = malloc(chunk);
	double t, wt, rt;
	int rc;

	for (size_t i = 0; i < chunk; i++)
		buf[i] = (uint8_t)(i * 31 + (i >> 12));
	memset(dek, 7, sizeof(dek));
	memset(tape, 8, sizeof(tape));
	snprintf(path, sizeof(path), "%s/tv_bench_%d.tap", dir, (int)getpid());
	snprintf(json, sizeof(json), "%s.json", path);
	memset(&a, 0, sizeof(a));
	strcpy(a.barcode, "BENCH0L9");
	if ((rc = tv_vtape_create(path, &a)) != 0 ||
	    (rc = tv_vtape_open(path, TV_TAPE_RDWR, &tp)) != 0)
		die(rc, path);

	t = now();
	if ((rc = tv_twriter_open(&w, tp, "BENCH0L9", tape, rs)) != 0)
		die(rc, "twriter_open");
	for (size_t f = 0; f < files; f++) {
		memset(cu, (int)f + 1, sizeof(cu));
		if ((rc = tv_twriter_begin_file(w, (uint32_t)f, TV_CT_FILE_DATA, cu, "x", 1,
		                                enc ? dek : NULL)) != 0)
			die(rc, "begin_file");
		for (done = 0; done < per; done += chunk)
			if ((rc = tv_twriter_write(w, buf, chunk)) != 0)
				die(rc, "write");
		if ((rc = tv_twriter_end_file(w, 0, NULL)) != 0)
			die(rc, "end_file");
	}
	if ((rc = tv_twriter_close(w)) != 0)
		die(rc, "twriter_close");
	wt = now() - t;

	if ((rc = tv_tape_rewind(tp)) != 0)
		die(rc, "rewind");
	t = now();
	if ((rc = tv_treader_open(&r, tp, "BENCH0L9", tape, TV_RECORD_SIZE_MAX)) != 0)
		die(rc, "treader_open");
	done = 0;
	for (size_t f = 0; f < files; f++) {
		if ((rc = tv_treader_begin_file(r, &ch, &fno)) != 0 ||
		    (rc = tv_treader_set_dek(r, enc ? dek : NULL)) != 0)
			die(rc, "begin_file (read)");
		do {
			if ((rc = tv_treader_read(r, buf, chunk, &got)) != 0)
				die(rc, "read");
			done += got;
		} while (got > 0);
	}
	tv_treader_close(r);
	rt = now() - t;
	if (done != files * per)
		die(TV_ERR_INTERNAL, "read back a different amount");
	printf("%-10s %zu KiB records: write %7.0f MB/s, read %7.0f MB/s (%zu MiB, %s)\n",
	       enc ? "encrypted" : "plaintext", rs / 1024, (double)total / wt / 1e6,
	       (double)total / rt / 1e6, mib, dir);
	tv_tape_close(tp);
	unlink(path);
	unlink(json);
	free(buf);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024;
	const char *dir = argc > 2 ? argv[2] : "/dev/shm";

	bench_crc();
	bench_seal(TV_RECORD_SIZE_DEFAULT);
	for (int enc = 0; enc < 2; enc++)
		bench_null(mib, TV_RECORD_SIZE_DEFAULT, enc);
	for (int rep = 0; rep < 2; rep++)
		for (int enc = 0; enc < 2; enc++)
			bench_stream(dir, mib, TV_RECORD_SIZE_DEFAULT, enc);
	bench_stream(dir, mib, 1u << 20, 1);
	return 0;
}
