/* tapevault: util/buf.c, the one reader of untrusted bytes: typed get and
 * put, sub-buffers, peek and poke, consume from either end, handing the
 * storage over; every failure leaves the buffer as it was and says what
 * was short. */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "util/buf.h"
#include "util/err.h"

/* Runs a failing call with the detail cleared first, so the detail seen is
 * the one this call left. */
#define FAILS(call, code, msg)                                          \
	do {                                                            \
		tv_errclear();                                          \
		assert_int_equal((call), (code));                       \
		assert_string_equal(tv_errdetail(), (msg));             \
	} while (0)

static const uint8_t seq10[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void test_put_get_roundtrip(void **state)
{
	struct tv_buf b;
	uint8_t u8, raw[3];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_avail(&b), 0);
	assert_non_null(tv_buf_ptr(&b));          /* no storage yet, still a pointer */
	assert_int_equal(tv_buf_put_u8(&b, 0xa1), 0);
	assert_int_equal(tv_buf_put_u16(&b, 0xb2c3), 0);
	assert_int_equal(tv_buf_put_u32(&b, 0xd4e5f607u), 0);
	assert_int_equal(tv_buf_put_u64(&b, 0x0102030405060708ull), 0);
	assert_int_equal(tv_buf_put(&b, "xyz", 3), 0);
	assert_int_equal(tv_buf_put(&b, NULL, 0), 0);
	assert_int_equal(tv_buf_avail(&b), 1 + 2 + 4 + 8 + 3);
	assert_memory_equal(tv_buf_ptr(&b), "\xa1\xb2\xc3\xd4\xe5\xf6\x07"
	                    "\x01\x02\x03\x04\x05\x06\x07\x08xyz", 18);
	assert_int_equal(tv_buf_tell(&b), 0);

	assert_int_equal(tv_buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 0xa1);
	assert_int_equal(tv_buf_get_u16(&b, &u16), 0);
	assert_int_equal(u16, 0xb2c3);
	assert_int_equal(tv_buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0xd4e5f607u);
	assert_int_equal(tv_buf_tell(&b), 7);
	assert_int_equal(tv_buf_get_u64(&b, &u64), 0);
	assert_true(u64 == 0x0102030405060708ull);
	assert_int_equal(tv_buf_get_ptr(&b, &p, 1), 0);
	assert_int_equal(p[0], 'x');
	assert_int_equal(tv_buf_get(&b, raw, 2), 0);
	assert_memory_equal(raw, "yz", 2);
	assert_int_equal(tv_buf_avail(&b), 0);
	assert_int_equal(tv_buf_tell(&b), 18);
	/* zero bytes are always there */
	assert_int_equal(tv_buf_get(&b, NULL, 0), 0);
	assert_int_equal(tv_buf_get_ptr(&b, &p, 0), 0);
	assert_non_null(p);
	tv_buf_free(&b);
	assert_int_equal(tv_buf_avail(&b), 0);
}

static void test_consume(void **state)
{
	struct tv_buf b;
	uint8_t v;
	(void)state;

	tv_buf_view(&b, seq10, sizeof(seq10));
	assert_int_equal(tv_buf_consume(&b, 3), 0);
	assert_int_equal(tv_buf_consume(&b, 2), 0);
	assert_int_equal(tv_buf_get(&b, NULL, 1), 0);
	assert_int_equal(tv_buf_tell(&b), 6);
	assert_int_equal(tv_buf_get_u8(&b, &v), 0);
	assert_int_equal(v, 6);
	FAILS(tv_buf_consume(&b, 4), TV_ERR_EOF, "buffer: 3 bytes left, 4 needed");
	FAILS(tv_buf_consume(&b, SIZE_MAX), TV_ERR_EOF,
	      "buffer: 3 bytes left, 18446744073709551615 needed");
	assert_int_equal(tv_buf_tell(&b), 7);
	assert_int_equal(tv_buf_consume(&b, 3), 0);
	assert_int_equal(tv_buf_avail(&b), 0);
}

/* Every getter on too few bytes: TV_ERR_EOF, a detail naming what was
 * short, and the buffer untouched. */
static void test_short_reads(void **state)
{
	struct tv_buf b, sub;
	const uint8_t *p = NULL;
	uint8_t u8, out[8];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64 = 42;
	(void)state;

	tv_buf_view(&b, seq10, 3);
	assert_int_equal(tv_buf_consume(&b, 2), 0);   /* 1 byte left */
	FAILS(tv_buf_get_u16(&b, &u16), TV_ERR_EOF, "buffer: 1 bytes left, 2 needed");
	FAILS(tv_buf_get_u32(&b, &u32), TV_ERR_EOF, "buffer: 1 bytes left, 4 needed");
	FAILS(tv_buf_get_u64(&b, &u64), TV_ERR_EOF, "buffer: 1 bytes left, 8 needed");
	assert_true(u64 == 42);                        /* output untouched */
	FAILS(tv_buf_get(&b, out, 2), TV_ERR_EOF, "buffer: 1 bytes left, 2 needed");
	FAILS(tv_buf_get_ptr(&b, &p, 5), TV_ERR_EOF, "buffer: 1 bytes left, 5 needed");
	assert_null(p);
	FAILS(tv_buf_froms(&b, &sub, 2), TV_ERR_EOF, "buffer: 1 bytes left, 2 needed");
	assert_int_equal(tv_buf_avail(&sub), 0);       /* an empty view, not garbage */
	assert_int_equal(tv_buf_tell(&b), 2);
	assert_int_equal(tv_buf_avail(&b), 1);
	assert_int_equal(tv_buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 2);
	FAILS(tv_buf_get_u8(&b, &u8), TV_ERR_EOF, "buffer: 0 bytes left, 1 needed");

	/* an empty, never allocated buffer */
	tv_buf_init(&b);
	FAILS(tv_buf_get_u32(&b, &u32), TV_ERR_EOF, "buffer: 0 bytes left, 4 needed");
	tv_buf_free(&b);
}

static void test_froms(void **state)
{
	struct tv_buf b, sub, sub2;
	uint8_t v;
	uint16_t u16;
	(void)state;

	tv_buf_view(&b, seq10, sizeof(seq10));
	assert_int_equal(tv_buf_consume(&b, 1), 0);
	assert_int_equal(tv_buf_froms(&b, &sub, 4), 0);
	/* the parent moved past the 4 bytes, the child sees exactly them */
	assert_int_equal(tv_buf_tell(&b), 5);
	assert_int_equal(tv_buf_avail(&sub), 4);
	assert_int_equal(tv_buf_tell(&sub), 0);
	assert_ptr_equal(tv_buf_ptr(&sub), seq10 + 1);   /* no copy */
	assert_int_equal(tv_buf_get_u8(&sub, &v), 0);
	assert_int_equal(v, 1);
	/* sub-buffer of a sub-buffer */
	assert_int_equal(tv_buf_froms(&sub, &sub2, 2), 0);
	assert_int_equal(tv_buf_get_u16(&sub2, &u16), 0);
	assert_int_equal(u16, 0x0203);
	FAILS(tv_buf_get_u8(&sub2, &v), TV_ERR_EOF, "buffer: 0 bytes left, 1 needed");
	/* the child cannot read into the parent's next bytes */
	FAILS(tv_buf_get_u16(&sub, &u16), TV_ERR_EOF, "buffer: 1 bytes left, 2 needed");
	assert_int_equal(tv_buf_get_u8(&sub, &v), 0);
	assert_int_equal(v, 4);
	/* nor write */
	FAILS(tv_buf_put_u8(&sub, 1), TV_ERR_STATE, "write to a read-only buffer");
	assert_int_equal(tv_buf_get_u8(&b, &v), 0);
	assert_int_equal(v, 5);
	/* zero bytes, and all that is left */
	assert_int_equal(tv_buf_froms(&b, &sub, 0), 0);
	assert_int_equal(tv_buf_avail(&sub), 0);
	assert_int_equal(tv_buf_froms(&b, &sub, 4), 0);
	assert_int_equal(tv_buf_avail(&b), 0);
	assert_memory_equal(tv_buf_ptr(&sub), seq10 + 6, 4);
	tv_buf_free(&sub);                               /* a view: frees nothing */

	/* from an owned buffer */
	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, seq10, sizeof(seq10)), 0);
	assert_int_equal(tv_buf_froms(&b, &sub, 10), 0);
	assert_memory_equal(tv_buf_ptr(&sub), seq10, 10);
	assert_int_equal(tv_buf_avail(&b), 0);
	tv_buf_free(&b);
}

static void test_peek(void **state)
{
	struct tv_buf b;
	uint8_t u8, two[2];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	(void)state;

	tv_buf_view(&b, seq10, sizeof(seq10));
	assert_int_equal(tv_buf_consume(&b, 1), 0);
	assert_int_equal(tv_buf_peek_u8(&b, 0, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(tv_buf_peek_u16(&b, 1, &u16), 0);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(tv_buf_peek_u32(&b, 5, &u32), 0);
	assert_int_equal(u32, 0x06070809u);
	assert_int_equal(tv_buf_peek_u64(&b, 1, &u64), 0);
	assert_true(u64 == 0x0203040506070809ull);
	assert_int_equal(tv_buf_peek(&b, 8, two, 1), 0);
	assert_int_equal(two[0], 9);
	assert_int_equal(tv_buf_peek(&b, 9, NULL, 0), 0);
	assert_int_equal(tv_buf_tell(&b), 1);            /* nothing consumed */
	FAILS(tv_buf_peek_u32(&b, 6, &u32), TV_ERR_EOF,
	      "buffer: 9 bytes left, 4 needed at offset 6");
	FAILS(tv_buf_peek_u64(&b, 2, &u64), TV_ERR_EOF,
	      "buffer: 9 bytes left, 8 needed at offset 2");
	FAILS(tv_buf_peek_u16(&b, 8, &u16), TV_ERR_EOF,
	      "buffer: 9 bytes left, 2 needed at offset 8");
	FAILS(tv_buf_peek_u8(&b, 9, &u8), TV_ERR_EOF,
	      "buffer: 9 bytes left, 1 needed at offset 9");
	FAILS(tv_buf_peek(&b, 10, two, 0), TV_ERR_EOF,
	      "buffer: 9 bytes left, 0 needed at offset 10");
	/* offset + length would wrap */
	FAILS(tv_buf_peek(&b, SIZE_MAX, two, 2), TV_ERR_EOF,
	      "buffer: 9 bytes left, 2 needed at offset 18446744073709551615");
	FAILS(tv_buf_peek(&b, 1, two, SIZE_MAX), TV_ERR_EOF,
	      "buffer: 9 bytes left, 18446744073709551615 needed at offset 1");
	assert_int_equal(tv_buf_tell(&b), 1);
}

static void test_string_direct(void **state)
{
	static const uint8_t msg[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 9, 'd' };
	struct tv_buf b;
	const uint8_t *p = NULL;
	size_t n = 0;
	(void)state;

	tv_buf_view(&b, msg, sizeof(msg));
	FAILS(tv_buf_get_string_direct(&b, &p, &n, 2), TV_ERR_RANGE,
	      "buffer: string of 3 bytes exceeds the limit of 2");
	assert_int_equal(tv_buf_tell(&b), 0);
	assert_int_equal(tv_buf_get_string_direct(&b, &p, &n, 3), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(p, msg + 4);
	assert_int_equal(tv_buf_tell(&b), 7);
	FAILS(tv_buf_get_string_direct(&b, &p, &n, 100), TV_ERR_EOF,
	      "buffer: string of 9 bytes, 1 bytes left");
	assert_int_equal(tv_buf_tell(&b), 7);
	assert_int_equal(tv_buf_consume(&b, 2), 0);
	FAILS(tv_buf_get_string_direct(&b, &p, &n, 100), TV_ERR_EOF,
	      "buffer: 3 bytes left, 4 needed at offset 0");
	assert_int_equal(tv_buf_tell(&b), 9);
}

static void test_cstring(void **state)
{
	struct tv_buf b;
	char *s = (char *)1;
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_put_cstring(&b, "hello"), 0);
	assert_int_equal(tv_buf_put_string(&b, "a\0b", 3), 0);
	assert_int_equal(tv_buf_put_cstring(&b, NULL), 0);
	assert_int_equal(tv_buf_put_string(&b, "xyz", 3), 0);
	assert_int_equal(tv_buf_get_cstring(&b, &s, 5), 0);
	assert_string_equal(s, "hello");
	free(s);
	FAILS(tv_buf_get_cstring(&b, &s, 10), TV_ERR_FORMAT,
	      "buffer: string of 3 bytes contains a NUL byte");
	assert_null(s);
	assert_int_equal(tv_buf_tell(&b), 9);            /* rewound */
	assert_int_equal(tv_buf_consume(&b, 7), 0);
	assert_int_equal(tv_buf_get_cstring(&b, &s, 0), 0);
	assert_string_equal(s, "");
	free(s);
	FAILS(tv_buf_get_cstring(&b, &s, 2), TV_ERR_RANGE,
	      "buffer: string of 3 bytes exceeds the limit of 2");
	assert_null(s);
	assert_int_equal(tv_buf_consume(&b, 5), 0);
	FAILS(tv_buf_get_cstring(&b, &s, 2), TV_ERR_EOF,
	      "buffer: 2 bytes left, 4 needed at offset 0");
	assert_null(s);
	tv_buf_free(&b);
}

static void test_poke(void **state)
{
	struct tv_buf b, v;
	uint8_t u8;
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, "\x00\x00\x00\x00xy", 6), 0);
	assert_int_equal(tv_buf_poke_u32(&b, 0, 0x01020304u), 0);
	assert_memory_equal(tv_buf_ptr(&b), "\x01\x02\x03\x04xy", 6);
	assert_int_equal(tv_buf_poke(&b, 5, "Z", 1), 0);
	assert_int_equal(tv_buf_poke(&b, 6, NULL, 0), 0);
	FAILS(tv_buf_poke_u32(&b, 3, 0), TV_ERR_RANGE,
	      "buffer: 4 bytes to overwrite at offset 3, 6 bytes written");
	FAILS(tv_buf_poke(&b, SIZE_MAX, "a", 1), TV_ERR_RANGE,
	      "buffer: 1 bytes to overwrite at offset 18446744073709551615, 6 bytes "
	      "written");
	/* offsets count from the first unread byte */
	assert_int_equal(tv_buf_get_u8(&b, &u8), 0);
	assert_int_equal(tv_buf_poke(&b, 0, "B", 1), 0);
	assert_memory_equal(tv_buf_ptr(&b), "B\x03\x04xZ", 5);
	FAILS(tv_buf_poke(&b, 4, "ab", 2), TV_ERR_RANGE,
	      "buffer: 2 bytes to overwrite at offset 4, 5 bytes written");
	tv_buf_free(&b);

	tv_buf_view(&v, seq10, sizeof(seq10));
	FAILS(tv_buf_poke_u32(&v, 0, 1), TV_ERR_STATE, "write to a read-only buffer");
	assert_int_equal(seq10[3], 3);
}

static void test_consume_end(void **state)
{
	struct tv_buf b, v;
	uint8_t *p;
	uint8_t u8;
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, "keep", 4), 0);
	assert_int_equal(tv_buf_put(&b, "SECRET", 6), 0);
	assert_int_equal(tv_buf_consume_end(&b, 6), 0);
	assert_int_equal(tv_buf_avail(&b), 4);
	/* the dropped bytes were wiped: the same storage comes back zeroed */
	assert_int_equal(tv_buf_reserve(&b, 6, &p), 0);
	assert_memory_equal(p, "\0\0\0\0\0\0", 6);
	assert_int_equal(tv_buf_consume_end(&b, 6), 0);
	assert_int_equal(tv_buf_consume_end(&b, 0), 0);
	assert_int_equal(tv_buf_get_u8(&b, &u8), 0);
	FAILS(tv_buf_consume_end(&b, 4), TV_ERR_RANGE,
	      "buffer: 4 bytes to drop, 3 bytes left");
	assert_int_equal(tv_buf_consume_end(&b, 3), 0);
	assert_int_equal(tv_buf_avail(&b), 0);
	tv_buf_free(&b);

	/* a view: its end moves in, its bytes stay */
	tv_buf_view(&v, seq10, sizeof(seq10));
	assert_int_equal(tv_buf_consume_end(&v, 4), 0);
	assert_int_equal(tv_buf_avail(&v), 6);
	FAILS(tv_buf_consume_end(&v, 7), TV_ERR_RANGE,
	      "buffer: 7 bytes to drop, 6 bytes left");
	assert_int_equal(seq10[9], 9);
}

static void test_reset_wipes(void **state)
{
	struct tv_buf b;
	uint8_t *p;
	(void)state;

	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, "SECRET", 6), 0);
	tv_buf_reset(&b);
	assert_int_equal(tv_buf_avail(&b), 0);
	assert_int_equal(tv_buf_tell(&b), 0);
	assert_int_equal(tv_buf_reserve(&b, 6, &p), 0);
	assert_memory_equal(p, "\0\0\0\0\0\0", 6);
	tv_buf_free(&b);
}

static void test_steal(void **state)
{
	struct tv_buf b, v;
	uint8_t *p = (uint8_t *)1, u8;
	size_t n = 7;
	(void)state;

	/* the unread bytes, moved to the front */
	tv_buf_init(&b);
	assert_int_equal(tv_buf_put(&b, "abcdef", 6), 0);
	assert_int_equal(tv_buf_get_u8(&b, &u8), 0);
	assert_int_equal(tv_buf_get_u8(&b, &u8), 0);
	assert_int_equal(tv_buf_steal(&b, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "cdef", 4);
	assert_memory_equal(p + 4, "\0\0", 2);     /* what moved is not left behind */
	free(p);
	/* the buffer is empty and usable again */
	assert_int_equal(tv_buf_avail(&b), 0);
	assert_int_equal(tv_buf_put(&b, "x", 1), 0);
	assert_int_equal(tv_buf_steal(&b, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 'x');
	free(p);
	/* never written: still a pointer to free */
	assert_int_equal(tv_buf_steal(&b, &p, &n), 0);
	assert_non_null(p);
	assert_int_equal(n, 0);
	free(p);
	tv_buf_free(&b);

	tv_buf_view(&v, seq10, sizeof(seq10));
	FAILS(tv_buf_steal(&v, &p, &n), TV_ERR_STATE,
	      "buffer: a read-only view has no storage to hand over");
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(tv_buf_avail(&v), 10);
}

static void test_limits(void **state)
{
	struct tv_buf b, v;
	uint8_t *p = NULL;
	(void)state;

	tv_buf_init_max(&b, 8);
	assert_int_equal(tv_buf_put(&b, "12345678", 8), 0);
	FAILS(tv_buf_put_u8(&b, 9), TV_ERR_RANGE, "buffer limit of 8 bytes exceeded");
	FAILS(tv_buf_reserve(&b, SIZE_MAX, &p), TV_ERR_RANGE,
	      "buffer limit of 8 bytes exceeded");
	assert_int_equal(tv_buf_avail(&b), 8);
	tv_buf_free(&b);

	/* growth keeps the contents (and goes past the first 256 bytes) */
	tv_buf_init(&b);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(tv_buf_put_u32(&b, i), 0);
	for (unsigned i = 0; i < 1000; i++) {
		uint32_t v32;
		assert_int_equal(tv_buf_get_u32(&b, &v32), 0);
		assert_int_equal(v32, i);
	}
	tv_buf_free(&b);

	tv_buf_view(&v, seq10, sizeof(seq10));
	FAILS(tv_buf_put(&v, "a", 1), TV_ERR_STATE, "write to a read-only buffer");
	FAILS(tv_buf_reserve(&v, 0, &p), TV_ERR_STATE, "write to a read-only buffer");
	FAILS(tv_buf_put_string(&b, "a", (size_t)UINT32_MAX + 1), TV_ERR_RANGE,
	      "string too long");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_roundtrip),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_short_reads),
		cmocka_unit_test(test_froms),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_string_direct),
		cmocka_unit_test(test_cstring),
		cmocka_unit_test(test_poke),
		cmocka_unit_test(test_consume_end),
		cmocka_unit_test(test_reset_wipes),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_limits),
	};
	return tl_run(argc, argv, tests, NULL, NULL);
}
