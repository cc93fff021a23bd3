/* Fuzz target: an arbitrary file opened as a SIMH tape image.
 *
 * The input becomes the image (a per-process temporary file); we read it
 * forward to EOD, space back to BOT over files and records, jump around
 * with goto_file/seek_eod, and append a record (the truncate path).  Any
 * error is fine; crashes, sanitizer reports, hangs and broken invariants
 * (position moving backwards on forward reads, reads returning more than
 * the buffer) are not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tape/tape.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char img_path[64];

static void cleanup(void)
{
	if (img_path[0] != '\0')
		unlink(img_path);
}

static int write_image(const uint8_t *data, size_t size)
{
	FILE *f;

	if (img_path[0] == '\0') {
		int fd;
		const char *tmp = getenv("TMPDIR");
		snprintf(img_path, sizeof(img_path), "%s/fuzz_vtape.XXXXXX",
		         tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
		fd = mkstemp(img_path);
		if (fd < 0) {
			perror("mkstemp");
			abort();
		}
		close(fd);
		atexit(cleanup);
	}
	f = fopen(img_path, "wb");
	if (f == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	return 0;
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s\n", #c); abort(); } } while (0)

static void walk(struct tv_tape *t, size_t size)
{
	static uint8_t buf[1 << 16];
	struct tv_tape_status st;
	size_t got, limit = size / 4 + 8;   /* every object takes >= 4 bytes */
	size_t steps = 0;
	int rc;

	/* forward to EOD */
	for (;;) {
		rc = tv_tape_read(t, buf, sizeof(buf), &got);
		CHECK(got <= sizeof(buf));
		CHECK(rc == 0 || got == 0);
		if (rc != 0 && rc != TV_ERR_FILEMARK && rc != TV_ERR_RANGE &&
		    rc != TV_ERR_BADREC)
			break;
		CHECK(++steps <= limit);
	}
	if (rc == TV_ERR_EOD) {
		CHECK(tv_tape_read(t, buf, sizeof(buf), &got) == TV_ERR_EOD);
		if (tv_tape_status(t, &st) == 0)
			CHECK(st.eod && st.used <= size);
	}
	/* back to BOT: files, then records */
	steps = 0;
	while ((rc = tv_tape_space_files(t, -1)) == 0)
		CHECK(++steps <= limit);
	steps = 0;
	while ((rc = tv_tape_space_records(t, -1)) == 0 || rc == TV_ERR_FILEMARK) {
		if (rc == TV_ERR_FILEMARK && tv_tape_space_files(t, -1) != 0)
			break;
		CHECK(++steps <= limit);
	}
	tv_tape_status(t, &st);
	/* forward by spacing */
	tv_tape_rewind(t);
	steps = 0;
	while ((rc = tv_tape_space_records(t, 3)) == 0 || rc == TV_ERR_FILEMARK) {
		if (rc == TV_ERR_FILEMARK && tv_tape_space_files(t, 1) != 0)
			break;
		CHECK(++steps <= limit);
	}
	tv_tape_rewind(t);
	tv_tape_space_files(t, 2);
	tv_tape_status(t, &st);
	tv_tape_goto_file(t, 1);
	tv_tape_goto_file(t, 3);
	tv_tape_goto_file(t, 0);
	tv_tape_seek_eod(t);
	tv_tape_status(t, &st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_tape *t = NULL;

	if (size > (1u << 20))
		return 0;
	write_image(data, size);
	if (tv_vtape_open(img_path, TV_TAPE_RDONLY, &t) == 0) {
		walk(t, size);
		tv_tape_close(t);
	}
	/* writing: append at EOD (or wherever the image stopped making
	 * sense), then read the new record back */
	if (tv_vtape_open(img_path, TV_TAPE_RDWR, &t) == 0) {
		static const uint8_t rec[7] = "fuzzed";
		uint8_t back[16];
		size_t got;
		int rc = tv_tape_seek_eod(t);
		if (rc == 0 && tv_tape_write(t, rec, sizeof(rec)) == 0) {
			CHECK(tv_tape_space_records(t, -1) == 0);
			CHECK(tv_tape_read(t, back, sizeof(back), &got) == 0);
			CHECK(got == sizeof(rec) && memcmp(back, rec, got) == 0);
			CHECK(tv_tape_read(t, back, sizeof(back), &got) == TV_ERR_EOD);
		}
		tv_tape_close(t);
	}
	return 0;
}
