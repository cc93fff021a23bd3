/* tapevault: CRC-32C (Castagnoli), as used by the on-tape format.
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), init 0xFFFFFFFF, input and
 * output reflected, final xor 0xFFFFFFFF.  tv_crc32c(0, "123456789", 9) is
 * 0xE3069283, and calls chain: tv_crc32c(tv_crc32c(0, a, na), b, nb) equals
 * tv_crc32c(0, a || b, na + nb).  (Also declared in format/record.h.) */
#ifndef TV_CRC32C_H
#define TV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t tv_crc32c(uint32_t crc, const void *p, size_t n);

/* The two implementations behind tv_crc32c, for tests and benchmarks:
 * portable slice-by-8, and the SSE4.2 crc32 instruction (3-way
 * interleaved).  tv_crc32c_hw falls back to the portable code when the CPU
 * lacks SSE4.2 (tv_crc32c_hw_available() == 0). */
uint32_t tv_crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t tv_crc32c_hw(uint32_t crc, const void *p, size_t n);
int tv_crc32c_hw_available(void);

#endif
