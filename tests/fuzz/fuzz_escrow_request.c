/* Fuzz target: parsing escrow requests (armor, base64, body, key slots,
 * signature) from hostile text, as the escrow authority does with what it
 * is sent.  The body is parsed before the signature is checked, so
 * mutations reach the item parser.  Checks, beyond "no crash": whatever
 * is accepted has sane bounds.  Binary inputs (first byte not '-' or
 * white space) are payloads, armored by the target. */
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

static int one_input(const uint8_t *data, size_t size)
{
	struct tv_escrow_request *req = NULL;
	uint8_t h[TV_ESCROW_HASH_LEN];

	if (tv_escrow_request_parse(data, size, &req) != 0) {
		if (req != NULL)
			abort();
		return 0;
	}
	if (req == NULL || req->n == 0 || req->n > TV_ESCROW_MAX_ITEMS ||
	    req->identity == NULL || req->onetime == NULL ||
	    strlen(req->installation) == 0 || strlen(req->installation) > TV_ESCROW_NAME_MAX)
		abort();
	tv_escrow_request_hash(req, h);
	/* the authority's age check: any created value, any clock */
	{
		int a = tv_escrow_request_check_age(req, req->created, TV_ESCROW_MAX_AGE_DEFAULT);
		int b = tv_escrow_request_check_age(req, 1700000000, 86400);
		if (a != 0 || (b != 0 && b != TV_ERR_STATE))
			abort();
	}
	for (size_t i = 0; i < req->n; i++) {
		if (req->items[i].slot.type != TV_SLOT_ESCROW ||
		    strlen(req->items[i].barcode) > TV_ESCROW_BARCODE_MAX)
			abort();
		for (size_t j = 0; j < i; j++)
			if (memcmp(req->items[i].tape_uuid, req->items[j].tape_uuid,
			           TV_UUID_LEN) == 0)
				abort();
	}
	tv_escrow_request_free(req);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t;

	if (is_text(data, size))
		return one_input(data, size);
	if ((t = armor_payload(data, size, "REQUEST")) == NULL)
		return 0;
	one_input((const uint8_t *)t, strlen(t));
	free(t);
	return 0;
}
