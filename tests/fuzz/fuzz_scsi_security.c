/* Fuzz target: SECURITY PROTOCOL pages of tape data encryption
 * (src/scsi/data.c): capabilities, set data encryption (what the emulated
 * drive receives), data encryption status, next block encryption status.
 * Checks, beyond "no crash": what decodes builds back and decodes to the
 * same modes, keys and key-associated data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/data.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s\n", #c); abort(); } } while (0)

static void same_kads(const struct tv_sp_kad *a, size_t na, const struct tv_sp_kad *b,
                      size_t nb)
{
	CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		CHECK(a[i].type == b[i].type && a[i].len == b[i].len &&
		      memcmp(a[i].data, b[i].data, a[i].len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_sp_caps c, c2;
	struct tv_sp_set s, s2;
	struct tv_sp_status st, st2;
	struct tv_sp_next_block nb, nb2;
	struct tv_buf b;

	if (size > 65536)
		return 0;
	if (tv_sp_parse_caps(data, size, &c) == 0) {
		CHECK(c.nalg <= TV_SP_MAX_ALGS);
		tv_buf_init(&b);
		CHECK(tv_sp_build_caps(&b, &c) == 0);
		CHECK(tv_sp_parse_caps(tv_buf_ptr(&b), tv_buf_avail(&b), &c2) == 0);
		CHECK(c2.nalg == c.nalg);
		for (size_t i = 0; i < c.nalg; i++)
			CHECK(c2.alg[i].code == c.alg[i].code && c2.alg[i].key_len == c.alg[i].key_len);
		tv_buf_free(&b);
	}
	if (tv_sp_parse_set(data, size, &s) == 0) {
		CHECK(s.key_len <= TV_SP_KEY_MAX && s.nkad <= TV_SP_MAX_KADS);
		tv_buf_init(&b);
		if (tv_sp_build_set(&b, &s) == 0) {
			CHECK(tv_sp_parse_set(tv_buf_ptr(&b), tv_buf_avail(&b), &s2) == 0);
			CHECK(s2.encrypt_mode == s.encrypt_mode && s2.decrypt_mode == s.decrypt_mode);
			CHECK(s2.key_len == s.key_len && memcmp(s2.key, s.key, s.key_len) == 0);
			same_kads(s.kad, s.nkad, s2.kad, s2.nkad);
		}
		tv_buf_free(&b);
	}
	if (tv_sp_parse_status(data, size, &st) == 0) {
		tv_buf_init(&b);
		if (tv_sp_build_status(&b, &st) == 0) {
			CHECK(tv_sp_parse_status(tv_buf_ptr(&b), tv_buf_avail(&b), &st2) == 0);
			CHECK(st2.encrypt_mode == st.encrypt_mode && st2.key_instance == st.key_instance);
			same_kads(st.kad, st.nkad, st2.kad, st2.nkad);
		}
		tv_buf_free(&b);
	}
	if (tv_sp_parse_next_block(data, size, &nb) == 0) {
		tv_buf_init(&b);
		if (tv_sp_build_next_block(&b, &nb) == 0) {
			CHECK(tv_sp_parse_next_block(tv_buf_ptr(&b), tv_buf_avail(&b), &nb2) == 0);
			CHECK(nb2.object == nb.object && nb2.status == nb.status);
			same_kads(nb.kad, nb.nkad, nb2.kad, nb2.nkad);
		}
		tv_buf_free(&b);
	}
	return 0;
}
