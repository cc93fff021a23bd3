/* tapevault: CRC-32C (util/crc32c.c): check values, chaining, and the
 * SSE4.2 and portable implementations against each other. */
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"

#include "testlib.h"

/* Bitwise reference: reflected Castagnoli, the definition itself. */
static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void test_check_values(void **state)
{
	static const uint8_t zeros[32], ones[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t inc[32];
	(void)state;

	assert_int_equal(tv_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(tv_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(tv_crc32c_hw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(tv_crc32c(0, NULL, 0), 0);
	/* RFC 3720 (iSCSI) B.4 test vectors */
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	assert_int_equal(tv_crc32c(0, zeros, 32), 0x8A9136AAu);
	assert_int_equal(tv_crc32c(0, ones, 32), 0x62A8AB43u);
	assert_int_equal(tv_crc32c(0, inc, 32), 0x46DD794Eu);
}

static void test_chaining(void **state)
{
	uint8_t buf[1000];
	(void)state;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t cut = 0; cut <= sizeof(buf); cut += 37) {
		uint32_t a = tv_crc32c(0, buf, cut);
		assert_int_equal(tv_crc32c(a, buf + cut, sizeof(buf) - cut),
		                 tv_crc32c(0, buf, sizeof(buf)));
	}
}

static void test_hw_vs_sw(void **state)
{
	size_t max = 3 * 8192 * 2 + 3 * 256 * 3 + 100;
	uint8_t *buf = malloc(max + 16);
	uint32_t seed = 12345;
	(void)state;

	assert_non_null(buf);
	for (size_t i = 0; i < max + 16; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	/* every alignment, lengths around the block boundaries, random ones */
	static const size_t lens[] = { 0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257,
		767, 768, 769, 3 * 256 + 8, 8191, 8192, 24575, 24576, 24577,
		3 * 8192 + 3 * 256 + 7, 2 * 3 * 8192 };
	for (size_t a = 0; a < 8; a++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			uint32_t sw = tv_crc32c_sw(0x1234u, buf + a, lens[k]);
			assert_int_equal(tv_crc32c_hw(0x1234u, buf + a, lens[k]), sw);
			if (lens[k] < 5000)
				assert_int_equal(ref_crc(0x1234u, buf + a, lens[k]), sw);
		}
	for (int i = 0; i < 300; i++) {
		size_t off, len;
		seed = seed * 1103515245u + 12345u;
		off = (seed >> 8) % 16;
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 4) % max;
		assert_int_equal(tv_crc32c_hw(0, buf + off, len),
		                 tv_crc32c_sw(0, buf + off, len));
	}
	print_message("SSE4.2 path %s\n", tv_crc32c_hw_available() ?
	              "available (tested against slice-by-8)" : "not available");
	free(buf);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_values),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_hw_vs_sw),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
