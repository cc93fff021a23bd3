/* tapevault: AES-256-GCM for the crypto layer: the one implementation is
 * util/aead.h (also used by the tape format below this layer). */
#ifndef TV_CRYPTO_AEAD_H
#define TV_CRYPTO_AEAD_H

#include "util/aead.h"

#endif
