#include "crypto/rand.h"
#include "util/err.h"
#include "util/hex.h"

#include <string.h>

int tv_uuid_new(uint8_t uuid[TV_UUID_BYTES])
{
	int r = tv_random(uuid, TV_UUID_BYTES);

	if (r != 0)
		return r;
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);   /* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);   /* variant RFC 4122 */
	return 0;
}

void tv_uuid_to_str(const uint8_t uuid[TV_UUID_BYTES], char out[TV_UUID_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < TV_UUID_BYTES; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 15];
	}
	out[o] = '\0';
}

int tv_uuid_parse(const char *s, uint8_t uuid[TV_UUID_BYTES])
{
	size_t len = s ? strlen(s) : 0;
	int dashed;
	size_t pos = 0;

	if (len == 36)
		dashed = 1;
	else if (len == 32)
		dashed = 0;
	else
		return tv_errf(TV_ERR_INVAL, "'%s' is not a UUID", s ? s : "");
	for (size_t i = 0; i < TV_UUID_BYTES; i++) {
		int hi, lo;

		if (dashed && (i == 4 || i == 6 || i == 8 || i == 10)) {
			if (s[pos] != '-')
				return tv_errf(TV_ERR_INVAL, "'%s' is not a UUID", s);
			pos++;
		}
		hi = tv_hexval(s[pos]);
		lo = tv_hexval(s[pos + 1]);
		if (hi < 0 || lo < 0)
			return tv_errf(TV_ERR_INVAL, "'%s' is not a UUID", s);
		uuid[i] = (uint8_t)(hi << 4 | lo);
		pos += 2;
	}
	return 0;
}

int tv_uuid_is_nil(const uint8_t uuid[TV_UUID_BYTES])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < TV_UUID_BYTES; i++)
		acc |= uuid[i];
	return acc == 0;
}
