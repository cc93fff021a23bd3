/* tapevault: inside the KMS client (src/kms only).  conn.c is the
 * transport (TCP, mutual TLS, one request and its response, deadlines,
 * SIGPIPE); client.c the KMIP operations on it. */
#ifndef TV_KMS_CONN_INT_H
#define TV_KMS_CONN_INT_H

#include <signal.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "kms/client.h"
#include "util/buf.h"

#define KMIP_MAJOR 1
#define KMIP_MINOR 4          /* AAD and tag on Encrypt/Decrypt need 1.4 */

struct tv_kms {
	struct tv_kms_conf c;
	char where[420];          /* "KMS kms1 (127.0.0.1:5696)" */
	int is_ip;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	uint64_t round_trips, connects;
	int no_rsa_decrypt;       /* server said it cannot decrypt with RSA */
	uint64_t batch_seq;       /* next Unique Batch Item ID (random start) */
	/* last TLS alert seen during this connection (-1: none) */
	int alert_recv, alert_sent;
	int io_errno;             /* errno of the last failed socket call */
	char peer_subj[256], peer_iss[256];   /* server certificate we rejected */
	unsigned long io_ssl;     /* OpenSSL error of the last failed TLS call */
};

/* Every public operation runs with SIGPIPE blocked (a peer that closes
 * must not kill the process), what was pending put back after. */
struct sigpipe_guard { sigset_t old; int was_pending; };
void kms_sigpipe_block(struct sigpipe_guard *g);
void kms_sigpipe_restore(struct sigpipe_guard *g);
const char *kms_ssl_reason(unsigned long e);

/* The TLS context from the configuration (CA, client certificate and key,
 * their files checked first). */
int kms_ctx_setup(struct tv_kms *k);
/* Connects and handshakes (within the configured timeout). */
int kms_open_conn(struct tv_kms *k);
void kms_disconnect(struct tv_kms *k);
/* Sends req and reads one whole response into resp (reconnecting once
 * when the connection went idle-dead); op names the request in messages. */
int kms_exchange(struct tv_kms *k, const struct tv_buf *req, const char *op,
                    int resend, struct tv_buf *rb);

#endif
