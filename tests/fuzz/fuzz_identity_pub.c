/* Fuzz target: an installation identity public key file (PEM "PUBLIC
 * KEY", Ed25519), as the escrow authority reads it from an installation
 * ('escrow trust add', crypto/identity.c tv_identity_pub_from_pem).
 * Beyond "no crash": whatever is accepted is an Ed25519 key whose
 * fingerprint can be taken. */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "crypto/identity.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *k = NULL;
	uint8_t fpr[TV_PKFPR_LEN];

	if (tv_identity_pub_from_pem(data, size, &k) != 0) {
		if (k != NULL)
			abort();
		return 0;
	}
	if (k == NULL || tv_identity_check(k) != 0 || tv_identity_fingerprint(k, fpr) != 0)
		abort();
	EVP_PKEY_free(k);
	return 0;
}
