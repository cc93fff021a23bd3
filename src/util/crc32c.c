/* tapevault: CRC-32C (Castagnoli).
 *
 * Two implementations of the same function on the raw (not inverted) CRC
 * register; tv_crc32c() inverts on entry and exit so that calls chain:
 *  - portable: slice-by-8 tables (8 KiB), 8 bytes per step;
 *  - x86-64 with SSE4.2: the crc32 instruction, 8 bytes per instruction,
 *    on three independent streams at once (the instruction has a latency
 *    of 3 cycles but a throughput of 1 per cycle), the three partial CRCs
 *    then merged with "append n zero bytes" operator tables.
 * The choice is made once at runtime (__builtin_cpu_supports).
 *
 * Merging: for the raw register, crc(c, A || B) = Z_|B|(crc(c, A)) ^
 * crc(0, B), where Z_n is the (GF(2)-linear) effect of n zero bytes.  Z_n
 * of a 32-bit value is the xor of its effect on each of the 4 bytes, so it
 * is precomputed as 4 tables of 256 words for the two block sizes used. */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TV_CRC_X86 1
#include <nmmintrin.h>
#endif

#define CRC32C_POLY_REFLECTED 0x82f63b78u

/* Block sizes per stream for the interleaved hardware loop. */
#define HW_LONG 8192u
#define HW_SHORT 256u

static uint32_t sw_tab[8][256];
static uint32_t zeros_long[4][256];
static uint32_t zeros_short[4][256];
static int hw_ok;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Raw register after n zero bytes, one byte at a time (table setup only). */
static uint32_t zeros_slow(uint32_t crc, size_t n)
{
	while (n-- > 0)
		crc = sw_tab[0][crc & 0xff] ^ (crc >> 8);
	return crc;
}

static void make_zeros_table(uint32_t t[4][256], size_t n)
{
	uint32_t basis[32];

	for (unsigned i = 0; i < 32; i++)
		basis[i] = zeros_slow(1u << i, n);
	for (unsigned k = 0; k < 4; k++)
		for (unsigned b = 0; b < 256; b++) {
			uint32_t v = 0;
			for (unsigned j = 0; j < 8; j++)
				if (b & (1u << j))
					v ^= basis[8 * k + j];
			t[k][b] = v;
		}
}

static void init_tables(void)
{
	for (unsigned n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		sw_tab[0][n] = c;
	}
	for (unsigned n = 0; n < 256; n++) {
		uint32_t c = sw_tab[0][n];
		for (int k = 1; k < 8; k++) {
			c = sw_tab[0][c & 0xff] ^ (c >> 8);
			sw_tab[k][n] = c;
		}
	}
	make_zeros_table(zeros_long, HW_LONG);
	make_zeros_table(zeros_short, HW_SHORT);
#ifdef TV_CRC_X86
	__builtin_cpu_init();
	hw_ok = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

static inline uint32_t ld_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint32_t raw_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n > 0 && ((uintptr_t)p & 7) != 0) {
		crc = sw_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		n--;
	}
	while (n >= 8) {
		uint32_t lo = ld_le32(p) ^ crc;
		uint32_t hi = ld_le32(p + 4);
		crc = sw_tab[7][lo & 0xff] ^ sw_tab[6][(lo >> 8) & 0xff] ^
		      sw_tab[5][(lo >> 16) & 0xff] ^ sw_tab[4][lo >> 24] ^
		      sw_tab[3][hi & 0xff] ^ sw_tab[2][(hi >> 8) & 0xff] ^
		      sw_tab[1][(hi >> 16) & 0xff] ^ sw_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = sw_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#ifdef TV_CRC_X86
static inline uint32_t zshift(const uint32_t t[4][256], uint32_t crc)
{
	return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^
	       t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Runs three streams of blk bytes each at p, p+blk, p+2*blk while n allows,
 * merging with the zeros table for blk. */
#define HW_INTERLEAVE(blk, ztab)                                              \
	while (n >= 3 * (size_t)(blk)) {                                      \
		uint64_t c1 = 0, c2 = 0;                                      \
		const uint8_t *end = p + (blk);                               \
		do {                                                          \
			c0 = _mm_crc32_u64(c0, ld64(p));                      \
			c1 = _mm_crc32_u64(c1, ld64(p + (blk)));              \
			c2 = _mm_crc32_u64(c2, ld64(p + 2 * (size_t)(blk)));  \
			p += 8;                                               \
		} while (p < end);                                            \
		c0 = zshift(ztab, (uint32_t)c0) ^ (uint32_t)c1;               \
		c0 = zshift(ztab, (uint32_t)c0) ^ (uint32_t)c2;               \
		p += 2 * (size_t)(blk);                                       \
		n -= 3 * (size_t)(blk);                                       \
	}

__attribute__((target("sse4.2")))
static uint32_t raw_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c0;

	while (n > 0 && ((uintptr_t)p & 7) != 0) {
		crc = _mm_crc32_u8(crc, *p++);
		n--;
	}
	c0 = crc;
	HW_INTERLEAVE(HW_LONG, zeros_long)
	HW_INTERLEAVE(HW_SHORT, zeros_short)
	while (n >= 8) {
		c0 = _mm_crc32_u64(c0, ld64(p));
		p += 8;
		n -= 8;
	}
	crc = (uint32_t)c0;
	while (n-- > 0)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

uint32_t tv_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&tables_once, init_tables);
	return ~raw_sw(~crc, p, n);
}

int tv_crc32c_hw_available(void)
{
	pthread_once(&tables_once, init_tables);
	return hw_ok;
}

uint32_t tv_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&tables_once, init_tables);
#ifdef TV_CRC_X86
	if (hw_ok)
		return ~raw_hw(~crc, p, n);
#endif
	return ~raw_sw(~crc, p, n);
}

uint32_t tv_crc32c(uint32_t crc, const void *p, size_t n)
{
	return tv_crc32c_hw(crc, p, n);
}
