/* Helpers shared by the tape and library unit tests (header only). */
#ifndef TV_TEST_TAPE_COMMON_H
#define TV_TEST_TAPE_COMMON_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int tt_rm_cb(const char *p, const struct stat *sb, int flag,
                           struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

/* A fresh temporary directory (under TMPDIR or /tmp). */
static inline char *tt_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	p = malloc(strlen(base) + 32);
	if (p == NULL)
		abort();
	sprintf(p, "%s/tvtest.XXXXXX", base);
	if (mkdtemp(p) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return p;
}

static inline void tt_rmtree(char *dir)
{
	if (dir != NULL)
		nftw(dir, tt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static inline char *tt_path(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);

	if (p == NULL)
		abort();
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static inline void tt_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || (n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

/* Reads a whole file; *n its size.  Caller frees. */
static inline unsigned char *tt_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long sz;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)sz + 1);
	if (buf == NULL || (sz > 0 && fread(buf, 1, (size_t)sz, f) != (size_t)sz))
		abort();
	fclose(f);
	*n = (size_t)sz;
	return buf;
}

static inline long long tt_file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static inline int tt_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Deterministic record contents. */
static inline void tt_fill(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* Appends a SIMH record / filemark to a byte image being built by hand. */
struct tt_img {
	unsigned char *d;
	size_t n, cap;
};

static inline void tt_img_raw(struct tt_img *im, const void *p, size_t n)
{
	if (im->n + n > im->cap) {
		im->cap = (im->n + n) * 2 + 64;
		im->d = realloc(im->d, im->cap);
		if (im->d == NULL)
			abort();
	}
	memcpy(im->d + im->n, p, n);
	im->n += n;
}

static inline void tt_img_word(struct tt_img *im, uint32_t w)
{
	unsigned char b[4] = { (unsigned char)w, (unsigned char)(w >> 8),
	                       (unsigned char)(w >> 16), (unsigned char)(w >> 24) };
	tt_img_raw(im, b, 4);
}

static inline void tt_img_rec(struct tt_img *im, uint32_t word, const void *p,
                              size_t n)
{
	static const unsigned char zero = 0;

	tt_img_word(im, word);
	tt_img_raw(im, p, n);
	if (n & 1)
		tt_img_raw(im, &zero, 1);
	tt_img_word(im, word);
}

#endif
