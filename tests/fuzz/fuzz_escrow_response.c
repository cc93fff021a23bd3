/* Fuzz target: escrow responses from hostile text, as the backup server
 * applies them: peek at the request id, then open with a fixed one-time
 * key and request hash.  The seeds (tests/fuzz/corpus/fuzz_escrow_response,
 * written by tests/unit/test_crypto_escrow_msg.c) are made for this key
 * and hash, so mutations reach the decryption of the items.  Binary
 * inputs (first byte not '-' or white space) are payloads, armored by
 * the target. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/escrow_msg.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs not starting like a text (first byte not '-', space or line
 * end) are taken as a binary payload and armored here, so that mutations
 * hit the binary layout directly instead of its base64. */
static char *armor_payload(const uint8_t *p, size_t n, const char *label)
{
	size_t b64n = 4 * ((n + 2) / 3), o;
	char *b64, *t;

	if (n > ((size_t)1 << 20) || (b64 = malloc(b64n + 1)) == NULL)
		return NULL;
	if ((t = malloc(b64n + b64n / 64 + 256)) == NULL) {
		free(b64);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64, p, (int)n);
	o = (size_t)sprintf(t, "-----BEGIN TAPEVAULT ESCROW %s-----\nVersion: 1\n\n", label);
	for (size_t i = 0; i < b64n; i += 64) {
		size_t m = b64n - i < 64 ? b64n - i : 64;
		memcpy(t + o, b64 + i, m);
		o += m;
		t[o++] = '\n';
	}
	sprintf(t + o, "-----END TAPEVAULT ESCROW %s-----\n", label);
	free(b64);
	return t;
}

static int is_text(const uint8_t *data, size_t size)
{
	return size == 0 || data[0] == '-' || data[0] == ' ' || data[0] == '\r' ||
	       data[0] == '\n' || data[0] == '\t';
}

/* Same as FUZZ_ONETIME_RAW / FUZZ_HASH_BYTE in test_crypto_escrow_msg.c. */
static const uint8_t onetime_raw[32] = {
	0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72,
	0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
	0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a };
#define HASH_BYTE 0x5a

static EVP_PKEY *onetime;

static int one_input(const uint8_t *data, size_t size)
{
	struct tv_escrow_resp_info info;
	struct tv_escrow_answer *a = NULL;
	uint8_t id[TV_ESCROW_ID_LEN], h[TV_ESCROW_HASH_LEN];
	int r;

	if (onetime == NULL) {
		onetime = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, onetime_raw, 32);
		if (onetime == NULL)
			abort();
	}
	if (tv_escrow_response_peek(data, size, id) != 0)
		return 0;
	if (tv_escrow_response_info(data, size, &info) != 0 ||
	    memcmp(info.request_id, id, sizeof(id)) != 0 || info.n == 0 ||
	    info.n > TV_ESCROW_MAX_ITEMS)
		abort();
	memset(h, HASH_BYTE, sizeof(h));
	r = tv_escrow_response_open(data, size, onetime, id, h, &a);
	if (r != 0) {
		if (a != NULL)
			abort();
		return 0;
	}
	if (a == NULL || a->n != info.n)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		if (a->items[i].status > TV_ESCROW_KEY_MISMATCH)
			abort();
		if (a->items[i].status != TV_ESCROW_OK)
			for (size_t j = 0; j < TV_DEK_LEN; j++)
				if (a->items[i].dek[j] != 0)
					abort();
	}
	tv_escrow_answer_free(a);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t;

	if (is_text(data, size))
		return one_input(data, size);
	if ((t = armor_payload(data, size, "RESPONSE")) == NULL)
		return 0;
	one_input((const uint8_t *)t, strlen(t));
	free(t);
	return 0;
}
