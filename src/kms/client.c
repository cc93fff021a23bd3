/* tapevault: KMS client, KMIP 1.4 over mutual TLS (OpenSSL). */
#include "kms/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kms/kmip.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/wipe.h"

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
	/* last TLS alert seen during this connection (-1: none) */
	int alert_recv, alert_sent;
	int io_errno;             /* errno of the last failed socket call */
	char peer_subj[256], peer_iss[256];   /* server certificate we rejected */
	unsigned long io_ssl;     /* OpenSSL error of the last failed TLS call */
};

enum { IO_OK = 0, IO_AGAIN, IO_TIMEOUT, IO_EOF, IO_FAIL };

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int timeout_ms(const struct tv_kms *k)
{
	return k->c.timeout_ms > 0 ? k->c.timeout_ms : TV_KMS_DEFAULT_TIMEOUT_MS;
}

/* 1 ready, 0 deadline passed, -1 error (errno). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static const char *ssl_reason(unsigned long e)
{
	const char *s = e ? ERR_reason_error_string(e) : NULL;
	return s ? s : "unknown TLS error";
}

/* SIGPIPE: OpenSSL writes with write(2), which raises SIGPIPE on a socket
 * the peer closed.  Block it in this thread while we do I/O and swallow
 * any we caused, so a KMS going away is an error, not process death. */
struct sigpipe_guard { sigset_t old; int was_pending; };

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	g->was_pending = sigismember(&pend, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pend;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	if (!g->was_pending && sigismember(&pend, SIGPIPE))
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int uid_ok(struct tv_kms *k, const char *uid)
{
	if (uid == NULL || uid[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "empty key id for %s", k->where);
	if (strlen(uid) >= TV_KMS_UID_MAX)
		return tv_errf(TV_ERR_INVAL, "key id of %zu characters is too long (limit %d)",
		               strlen(uid), TV_KMS_UID_MAX - 1);
	return 0;
}

/* ---- configuration checks ---- */

static int check_readable(const char *what, const char *path)
{
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "no %s file configured", what);
	if ((f = fopen(path, "r")) == NULL)
		return tv_errf(TV_ERR_IO, "cannot read %s file %s: %s", what, path,
		               strerror(errno));
	fclose(f);
	return 0;
}

static int check_key_mode(const char *path)
{
	struct stat sb;
	int r;

	if ((r = check_readable("client key", path)) != 0)
		return r;
	if (stat(path, &sb) != 0)
		return tv_errf(TV_ERR_IO, "cannot stat client key file %s: %s", path,
		               strerror(errno));
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		return tv_errf(TV_ERR_PERM,
		               "client key file %s is accessible by group or others "
		               "(mode %04o): refusing to use it; run: chmod 600 %s",
		               path, (unsigned)(sb.st_mode & 07777), path);
	return 0;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return 0;      /* never prompt on the terminal */
}

static void info_cb(const SSL *s, int where, int ret)
{
	struct tv_kms *k = SSL_get_app_data(s);

	if (k == NULL || !(where & SSL_CB_ALERT))
		return;
	/* remember fatal alerts only (not close_notify or warnings) */
	if ((ret >> 8) != SSL3_AL_FATAL || (ret & 0xff) == SSL_AD_CLOSE_NOTIFY)
		return;
	if (where & SSL_CB_READ)
		k->alert_recv = ret & 0xff;
	else
		k->alert_sent = ret & 0xff;
}

static void name_of(X509_NAME *nm, char *out, size_t outsz);

/* Remember which certificate failed verification, for the message. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *s = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tv_kms *k = s ? SSL_get_app_data(s) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(x);

	if (!ok && k != NULL && leaf != NULL && k->peer_subj[0] == '\0') {
		name_of(X509_get_subject_name(leaf), k->peer_subj, sizeof(k->peer_subj));
		name_of(X509_get_issuer_name(leaf), k->peer_iss, sizeof(k->peer_iss));
	}
	return ok;
}

static int ctx_setup(struct tv_kms *k)
{
	SSL_CTX *ctx;
	X509 *cert;
	int r;

	if ((r = check_readable("CA certificate", k->c.ca)) != 0 ||
	    (r = check_readable("client certificate", k->c.cert)) != 0 ||
	    (r = check_key_mode(k->c.key)) != 0)
		return tv_errctx(r, "%s", k->where);
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return tv_errf(TV_ERR_CRYPTO, "SSL_CTX_new: %s", ssl_reason(ERR_get_error()));
	k->ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* wipe TLS record buffers: responses carry key material */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	if (SSL_CTX_load_verify_locations(ctx, k->c.ca, NULL) != 1)
		return tv_errf(TV_ERR_TLS, "%s: cannot load CA certificates from %s: %s",
		               k->where, k->c.ca, ssl_reason(ERR_get_error()));
	if (SSL_CTX_use_certificate_chain_file(ctx, k->c.cert) != 1)
		return tv_errf(TV_ERR_TLS, "%s: cannot load client certificate %s: %s",
		               k->where, k->c.cert, ssl_reason(ERR_get_error()));
	if (SSL_CTX_use_PrivateKey_file(ctx, k->c.key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			return tv_errf(TV_ERR_TLS, "%s: client key %s does not belong to "
			               "certificate %s", k->where, k->c.key, k->c.cert);
		return tv_errf(TV_ERR_TLS,
		               "%s: cannot load client private key %s: %s (it must be an "
		               "unencrypted PEM key)", k->where, k->c.key,
		               ssl_reason(ERR_get_error()));
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tv_errf(TV_ERR_TLS, "%s: client key %s does not belong to certificate %s",
		               k->where, k->c.key, k->c.cert);
	cert = SSL_CTX_get0_certificate(ctx);
	if (cert != NULL && (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT))
		return tv_errf(TV_ERR_TLS,
		               "%s: client certificate %s is not valid for TLS client "
		               "authentication (its extended key usage lacks clientAuth)",
		               k->where, k->c.cert);
	ERR_clear_error();
	return 0;
}

/* ---- TCP ---- */

static int tcp_connect(struct tv_kms *k, int64_t deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int err = 0, timed_out = 0, r, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", k->c.port);
	r = getaddrinfo(k->c.host, port, &hints, &res);
	if (r != 0)
		return tv_errf(TV_ERR_NET, "%s is unreachable: cannot resolve host '%s': %s",
		               k->where, k->c.host,
		               r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		socklen_t sl = sizeof(err);

		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			err = 0;
		else if (errno != EINPROGRESS)
			err = errno;
		else if ((r = wait_fd(fd, POLLOUT, deadline)) == 0) {
			err = ETIMEDOUT;
			timed_out = 1;
		} else if (r < 0)
			err = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
			err = errno;
		if (err == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			k->fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		close(fd);
		if (timed_out)
			break;
	}
	freeaddrinfo(res);
	if (timed_out)
		return tv_errf(TV_ERR_NET,
		               "%s is unreachable: no answer to the TCP connect within %d ms "
		               "(host down or port filtered?)", k->where, timeout_ms(k));
	if (err == ECONNREFUSED)
		return tv_errf(TV_ERR_NET,
		               "%s is unreachable: connection refused (nothing listens on port "
		               "%u; is the KMS server running?)", k->where, k->c.port);
	return tv_errf(TV_ERR_NET, "%s is unreachable: %s", k->where, strerror(err));
}

/* ---- TLS I/O ---- */

/* After an SSL_*_ex call returned 0: wait for the socket when OpenSSL asks,
 * or classify the failure. */
static int ssl_step(struct tv_kms *k, int64_t deadline)
{
	int e = SSL_get_error(k->ssl, 0), w;

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		w = wait_fd(k->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w > 0)
			return IO_AGAIN;
		if (w == 0)
			return IO_TIMEOUT;
		k->io_errno = errno;
		return IO_FAIL;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		k->io_errno = errno;
		k->io_ssl = ERR_peek_last_error();
		if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
			return IO_EOF;
		return IO_FAIL;
	default:
		k->io_ssl = ERR_peek_last_error();
		/* OpenSSL 3 reports a peer's unannounced close like this */
		if (ERR_GET_REASON(k->io_ssl) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return IO_EOF;
		return IO_FAIL;
	}
}

static int tls_write(struct tv_kms *k, const uint8_t *p, size_t n, int64_t deadline)
{
	size_t off = 0, w;
	int io;

	while (off < n) {
		ERR_clear_error();
		errno = 0;
		if (SSL_write_ex(k->ssl, p + off, n - off, &w) == 1) {
			off += w;
			continue;
		}
		if ((io = ssl_step(k, deadline)) != IO_AGAIN)
			return io;
	}
	return IO_OK;
}

static int tls_read(struct tv_kms *k, uint8_t *p, size_t n, int64_t deadline,
                    size_t *got)
{
	size_t rd;
	int io;

	while (*got < n) {
		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(k->ssl, p + *got, n - *got, &rd) == 1) {
			*got += rd;
			continue;
		}
		if ((io = ssl_step(k, deadline)) != IO_AGAIN)
			return io;
	}
	return IO_OK;
}

static void name_of(X509_NAME *nm, char *out, size_t outsz)
{
	int i = nm ? X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;
	ASN1_STRING *s;
	const unsigned char *d;
	int len;

	snprintf(out, outsz, "?");
	if (i < 0) {
		if (nm != NULL)
			X509_NAME_oneline(nm, out, (int)outsz);
		return;
	}
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
	d = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	snprintf(out, outsz, "CN=%.*s", len > 200 ? 200 : len, (const char *)d);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* Explain why the handshake failed, saying who rejected what. */
static int handshake_error(struct tv_kms *k, int io)
{
	long vr = SSL_get_verify_result(k->ssl);
	X509 *peer = SSL_get0_peer_certificate(k->ssl);
	X509 *mine = SSL_CTX_get0_certificate(k->ctx);
	char subj[256], iss[256], myiss[256];

	name_of(mine ? X509_get_issuer_name(mine) : NULL, myiss, sizeof(myiss));
	if (io == IO_TIMEOUT)
		return tv_errf(TV_ERR_NET,
		               "TLS handshake with %s timed out after %d ms (is this a KMIP "
		               "port? is the server overloaded?)", k->where, timeout_ms(k));
	if (vr != X509_V_OK) {
		const char *why = X509_verify_cert_error_string(vr), *hint = "";

		if (k->peer_subj[0] != '\0') {
			snprintf(subj, sizeof(subj), "%s", k->peer_subj);
			snprintf(iss, sizeof(iss), "%s", k->peer_iss);
		} else {
			name_of(peer ? X509_get_subject_name(peer) : NULL, subj, sizeof(subj));
			name_of(peer ? X509_get_issuer_name(peer) : NULL, iss, sizeof(iss));
		}
		switch (vr) {
		case X509_V_ERR_HOSTNAME_MISMATCH:
		case X509_V_ERR_IP_ADDRESS_MISMATCH:
			hint = "; the server certificate's subjectAltName must name the host "
			       "exactly as configured";
			break;
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		case X509_V_ERR_CERT_SIGNATURE_FAILURE:
			hint = "; it is not signed by a CA in the configured CA file";
			break;
		case X509_V_ERR_CERT_HAS_EXPIRED:
		case X509_V_ERR_CERT_NOT_YET_VALID:
			hint = "; check the certificate dates and this host's clock";
			break;
		default:
			break;
		}
		return tv_errf(TV_ERR_TLS,
		               "TLS handshake with %s failed: we rejected the server's "
		               "certificate (%s, issued by %s) for host '%s': %s%s (CA file %s)",
		               k->where, subj, iss, k->c.host, why, hint, k->c.ca);
	}
	if (k->alert_recv >= 0) {
		const char *alert = SSL_alert_desc_string_long(k->alert_recv);
		switch (k->alert_recv) {
		case SSL_AD_UNKNOWN_CA:
			return tv_errf(TV_ERR_TLS,
			               "TLS handshake with %s failed: the server rejected our "
			               "client certificate %s (TLS alert '%s'): it does not trust "
			               "its issuer %s; use a client certificate from the CA the "
			               "KMS trusts, or have that CA added on the KMS",
			               k->where, k->c.cert, alert, myiss);
		case SSL_AD_BAD_CERTIFICATE:
		case SSL_AD_CERTIFICATE_UNKNOWN:
		case SSL_AD_UNSUPPORTED_CERTIFICATE:
		case SSL_AD_CERTIFICATE_EXPIRED:
		case SSL_AD_CERTIFICATE_REVOKED:
		case SSL_AD_CERTIFICATE_REQUIRED:
		case SSL_AD_ACCESS_DENIED:
			return tv_errf(TV_ERR_TLS,
			               "TLS handshake with %s failed: the server rejected our "
			               "client certificate %s (issued by %s; TLS alert '%s')",
			               k->where, k->c.cert, myiss, alert);
		case SSL_AD_PROTOCOL_VERSION:
		case SSL_AD_HANDSHAKE_FAILURE:
		case SSL_AD_INSUFFICIENT_SECURITY:
			return tv_errf(TV_ERR_TLS,
			               "TLS handshake with %s failed: the server refused the "
			               "connection (TLS alert '%s'): no TLS version or cipher "
			               "suite in common, or it requires something we did not send",
			               k->where, alert);
		default:
			return tv_errf(TV_ERR_TLS, "TLS handshake with %s failed: server sent "
			               "TLS alert '%s'", k->where, alert);
		}
	}
	if (k->alert_sent >= 0)
		return tv_errf(TV_ERR_TLS, "TLS handshake with %s failed: we aborted it "
		               "(TLS alert '%s': %s)", k->where,
		               SSL_alert_desc_string_long(k->alert_sent), ssl_reason(k->io_ssl));
	if (io == IO_EOF)
		return tv_errf(TV_ERR_TLS,
		               "TLS handshake with %s failed: the server closed the connection "
		               "(it may have rejected our client certificate %s, or the port "
		               "does not speak TLS; see the KMS log)", k->where, k->c.cert);
	if (ERR_GET_REASON(k->io_ssl) == SSL_R_WRONG_VERSION_NUMBER)
		return tv_errf(TV_ERR_TLS,
		               "TLS handshake with %s failed: the server does not answer "
		               "with TLS (is %u the KMIP port?)", k->where, k->c.port);
	if (k->io_ssl != 0)
		return tv_errf(TV_ERR_TLS, "TLS handshake with %s failed: %s", k->where,
		               ssl_reason(k->io_ssl));
	return tv_errf(TV_ERR_TLS, "TLS handshake with %s failed: %s", k->where,
	               k->io_errno ? strerror(k->io_errno) : "unknown error");
}

static void disconnect(struct tv_kms *k)
{
	if (k->ssl != NULL) {
		/* best effort close_notify; never wait for the answer */
		if (SSL_is_init_finished(k->ssl))
			(void)SSL_shutdown(k->ssl);
		SSL_free(k->ssl);
		k->ssl = NULL;
	}
	if (k->fd >= 0) {
		close(k->fd);
		k->fd = -1;
	}
}

static int open_conn(struct tv_kms *k)
{
	int64_t deadline = now_ms() + timeout_ms(k);
	X509_VERIFY_PARAM *vp;
	int r, io;

	disconnect(k);
	k->alert_recv = k->alert_sent = -1;
	k->io_errno = 0;
	k->io_ssl = 0;
	k->peer_subj[0] = k->peer_iss[0] = '\0';
	if ((r = tcp_connect(k, deadline)) != 0)
		return r;
	ERR_clear_error();
	if ((k->ssl = SSL_new(k->ctx)) == NULL || SSL_set_fd(k->ssl, k->fd) != 1) {
		r = tv_errf(TV_ERR_CRYPTO, "SSL_new: %s", ssl_reason(ERR_get_error()));
		goto fail;
	}
	SSL_set_app_data(k->ssl, k);
	vp = SSL_get0_param(k->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (k->is_ip) {
		r = X509_VERIFY_PARAM_set1_ip_asc(vp, k->c.host);
	} else {
		r = X509_VERIFY_PARAM_set1_host(vp, k->c.host, 0);
		if (r == 1)
			r = SSL_set_tlsext_host_name(k->ssl, k->c.host);
	}
	if (r != 1) {
		r = tv_errf(TV_ERR_INVAL, "%s: cannot verify against host '%s'", k->where,
		            k->c.host);
		goto fail;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if (SSL_connect(k->ssl) == 1)
			break;
		if ((io = ssl_step(k, deadline)) != IO_AGAIN) {
			r = handshake_error(k, io);
			goto fail;
		}
	}
	k->connects++;
	return 0;
fail:
	disconnect(k);
	return r;
}

/* Is the idle connection still usable?  The server may have closed it
 * (idle timeout, restart).  Anything readable before we asked is either
 * the close or garbage: both mean reconnect. */
static int conn_alive(struct tv_kms *k)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN };
	uint8_t b;
	size_t n;

	if (k->ssl == NULL)
		return 0;
	if (poll(&p, 1, 0) == 0)
		return 1;
	ERR_clear_error();
	if (SSL_peek_ex(k->ssl, &b, 1, &n) == 1)
		return 0;            /* unsolicited data */
	/* TLS 1.3 session tickets are handled inside and leave WANT_READ */
	return SSL_get_error(k->ssl, 0) == SSL_ERROR_WANT_READ;
}

static int io_error(struct tv_kms *k, int io, const char *op, int sending, size_t got)
{
	if (io == IO_TIMEOUT)
		return tv_errf(TV_ERR_NET, "%s did not answer %s within %d ms (timeout)",
		               k->where, op, timeout_ms(k));
	if (k->alert_recv >= 0)
		return tv_errf(TV_ERR_TLS, "%s ended the TLS session during %s with alert "
		               "'%s' (it may have rejected our client certificate %s)",
		               k->where, op, SSL_alert_desc_string_long(k->alert_recv), k->c.cert);
	if (io == IO_EOF)
		return tv_errf(TV_ERR_NET, "%s closed the connection %s %s%s", k->where,
		               sending ? "while we sent" : "before answering", op,
		               got ? " (truncated response)" : "");
	if (k->io_ssl != 0)
		return tv_errf(TV_ERR_TLS, "%s: TLS error during %s: %s", k->where, op,
		               ssl_reason(k->io_ssl));
	return tv_errf(TV_ERR_NET, "%s: connection lost during %s: %s", k->where, op,
	               k->io_errno ? strerror(k->io_errno) : "unknown error");
}

/* Send one request and read one response into rb.
 *   resend: the request may be sent again after the server closed the
 *   connection without answering (read-only and idempotent operations). */
static int exchange(struct tv_kms *k, const struct tv_buf *req, const char *op,
                    int resend, struct tv_buf *rb)
{
	uint8_t hdr[TV_TTLV_HDR];
	size_t got, total;
	uint8_t *body;
	int64_t deadline;
	int attempt, io, r;

	for (attempt = 0;; attempt++) {
		if (!conn_alive(k) && (r = open_conn(k)) != 0)
			return r;
		deadline = now_ms() + timeout_ms(k);
		k->alert_recv = k->alert_sent = -1;
		io = tls_write(k, tv_buf_ptr(req), tv_buf_avail(req), deadline);
		if (io != IO_OK) {
			/* incomplete request: the server cannot have executed it */
			r = io_error(k, io, op, 1, 0);
			disconnect(k);
			if (attempt == 0 && io != IO_TIMEOUT)
				continue;
			return r;
		}
		got = 0;
		io = tls_read(k, hdr, sizeof(hdr), deadline, &got);
		if (io == IO_OK)
			break;
		r = io_error(k, io, op, 0, got);
		disconnect(k);
		if (attempt == 0 && resend && io == IO_EOF && got == 0)
			continue;
		return r;
	}
	if ((r = tv_ttlv_msg_len(hdr, TV_TTLV_MAX_MSG, &total)) != 0) {
		disconnect(k);
		return tv_errctx(r, "%s answered %s with garbage", k->where, op);
	}
	tv_buf_reset(rb);
	if ((r = tv_buf_reserve(rb, total, &body)) != 0) {
		disconnect(k);
		return r;
	}
	memcpy(body, hdr, sizeof(hdr));
	got = sizeof(hdr);
	io = tls_read(k, body, total, deadline, &got);
	if (io != IO_OK) {
		r = io_error(k, io, op, 0, got);
		disconnect(k);
		return r;
	}
	k->round_trips++;
	return 0;
}

/* ---- KMIP calls ---- */

struct call {
	struct tv_buf req, resp;
	struct tv_ttlv_enc e;
	struct tv_kmip_resp r;
	uint32_t op;
	int nitems;
};

static void call_begin(struct call *c, uint32_t op, int nitems)
{
	memset(c, 0, sizeof(*c));
	tv_buf_init_max(&c->req, TV_TTLV_MAX_MSG);
	tv_buf_init_max(&c->resp, TV_TTLV_MAX_MSG);
	c->op = op;
	c->nitems = nitems;
	tv_kmip_req_begin(&c->e, &c->req, KMIP_MAJOR, KMIP_MINOR, nitems);
	if (nitems == 1)
		tv_kmip_item_begin(&c->e, op, NULL, 0);
}

static void call_end(struct call *c)
{
	tv_kmip_resp_free(&c->r);
	tv_buf_free(&c->req);        /* wipes: may hold key material */
	tv_buf_free(&c->resp);
}

/* Finish the request, exchange it and parse the response; the batch items
 * must answer our operations (in order). Item results are not checked. */
static int call_run(struct tv_kms *k, struct call *c, int resend)
{
	const char *opn = tv_kmip_op_name(c->op);
	int r;

	if (c->nitems == 1)
		tv_kmip_item_end(&c->e);
	if ((r = tv_kmip_req_end(&c->e)) != 0)
		return tv_errctx(r, "building KMIP %s request", opn);
	if ((r = exchange(k, &c->req, opn, resend, &c->resp)) != 0)
		return r;
	if ((r = tv_kmip_resp_parse(tv_buf_ptr(&c->resp), tv_buf_avail(&c->resp),
	                              &c->r)) != 0) {
		disconnect(k);
		return tv_errctx(r, "%s answered %s", k->where, opn);
	}
	/* A header-level failure (e.g. unparsable request) comes back as one
	 * item without Operation; let the item check report it. */
	if (c->r.nitems == 1 && c->r.items[0].status != TV_KSTATUS_SUCCESS &&
	    c->r.items[0].op == 0)
		return 0;
	if (c->r.nitems != (size_t)c->nitems)
		return tv_errf(TV_ERR_PROTO, "%s answered %zu batch items to %d", k->where,
		               c->r.nitems, c->nitems);
	for (size_t i = 0; i < c->r.nitems; i++)     /* our batches repeat one op */
		if (c->r.items[i].op != 0 && c->r.items[i].op != c->op)
			return tv_errf(TV_ERR_PROTO, "%s answered %s with a %s response",
			               k->where, opn, tv_kmip_op_name(c->r.items[i].op));
	return 0;
}

static int item_failed(struct tv_kms *k, const struct tv_kmip_item *it, uint32_t op,
                       const char *uid);

/* Run a single-item call and turn a failed result into an error. */
static int call_simple(struct tv_kms *k, struct call *c, int resend, const char *uid,
                       const struct tv_ttlv **payload)
{
	int r;

	*payload = NULL;
	if ((r = call_run(k, c, resend)) != 0)
		return r;
	if (c->r.items[0].status != TV_KSTATUS_SUCCESS)
		return item_failed(k, &c->r.items[0], c->op, uid);
	*payload = c->r.items[0].payload;
	return 0;
}

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* "(KMIP: Permission Denied: server message)" */
static void kmip_why(const struct tv_kmip_item *it, char *out, size_t outsz)
{
	if (it->reason != 0 && it->message[0] != '\0')
		snprintf(out, outsz, "(KMIP Result Reason: %s: %s)",
		         tv_kmip_reason_name(it->reason), it->message);
	else if (it->reason != 0)
		snprintf(out, outsz, "(KMIP Result Reason: %s)", tv_kmip_reason_name(it->reason));
	else
		snprintf(out, outsz, "(KMIP Result Status: %s%s%s)",
		         tv_kmip_status_name(it->status), it->message[0] ? ": " : "",
		         it->message);
}

static int item_failed(struct tv_kms *k, const struct tv_kmip_item *it, uint32_t op,
                       const char *uid)
{
	char why[700], key[200];
	const char *opn = tv_kmip_op_name(op);

	kmip_why(it, why, sizeof(why));
	if (uid != NULL)
		snprintf(key, sizeof(key), "key '%s'", uid);
	else
		snprintf(key, sizeof(key), "the request");
	if (it->status == TV_KSTATUS_PENDING || it->status == TV_KSTATUS_UNDONE)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s on %s: %s %s", opn, k->where,
		               tv_kmip_status_name(it->status), why);
	switch (it->reason) {
	case TV_KR_ITEM_NOT_FOUND:
		return tv_errf(TV_ERR_NOTFOUND, "%s does not exist on %s %s", key, k->where, why);
	case TV_KR_PERMISSION_DENIED:
		/* PyKMIP feigns ignorance of other owners' objects this way */
		if (uid != NULL && contains(it->message, "Could not locate"))
			return tv_errf(TV_ERR_NOTFOUND,
			               "%s does not exist on %s or is not visible to our client "
			               "certificate's identity %s", key, k->where, why);
		if (op == TV_KOP_DESTROY && contains(it->message, "active"))
			return tv_errf(TV_ERR_STATE, "%s on %s is still active and cannot be "
			               "destroyed; revoke it first %s", key, k->where, why);
		return tv_errf(TV_ERR_PERM, "%s on %s: permission denied for %s %s", key,
		               k->where, opn, why);
	case TV_KR_AUTHENTICATION_NOT_SUCCESSFUL:
		return tv_errf(TV_ERR_PERM, "%s did not accept our client certificate %s for "
		               "%s (a client certificate needs the clientAuth extended key "
		               "usage) %s", k->where, k->c.cert, opn, why);
	case TV_KR_OPERATION_NOT_SUPPORTED:
	case TV_KR_FEATURE_NOT_SUPPORTED:
		return tv_errf(TV_ERR_UNSUPPORTED, "%s does not support %s %s", k->where, opn,
		               why);
	case TV_KR_ILLEGAL_OPERATION:
		return tv_errf(TV_ERR_STATE, "%s on %s: %s is not possible in the key's "
		               "current state %s", key, k->where, opn, why);
	case TV_KR_INVALID_MESSAGE:
		return tv_errf(TV_ERR_KMIP, "%s rejected our %s request as invalid (KMIP "
		               "%d.%d) %s", k->where, opn, KMIP_MAJOR, KMIP_MINOR, why);
	default:
		return tv_errf(TV_ERR_KMIP, "%s on %s: %s failed %s", key, k->where, opn, why);
	}
}

/* ---- public API ---- */

int tv_kms_connect(const struct tv_kms_conf *c, struct tv_kms **out)
{
	struct sigpipe_guard g;
	struct tv_kms *k;
	struct in6_addr a6;
	int r;

	*out = NULL;
	if (c == NULL || c->host[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "KMS configuration without a host");
	if (c->port > 65535)
		return tv_errf(TV_ERR_INVAL, "KMS port %u out of range", c->port);
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return TV_ERR_NOMEM;
	k->c = *c;
	k->c.name[sizeof(k->c.name) - 1] = '\0';
	k->c.host[sizeof(k->c.host) - 1] = '\0';
	k->c.ca[sizeof(k->c.ca) - 1] = '\0';
	k->c.cert[sizeof(k->c.cert) - 1] = '\0';
	k->c.key[sizeof(k->c.key) - 1] = '\0';
	if (k->c.port == 0)
		k->c.port = TV_KMS_DEFAULT_PORT;
	k->fd = -1;
	k->is_ip = inet_pton(AF_INET, k->c.host, &a6) == 1 ||
	           inet_pton(AF_INET6, k->c.host, &a6) == 1;
	snprintf(k->where, sizeof(k->where), strchr(k->c.host, ':') ? "KMS %s ([%s]:%u)"
	                                                          : "KMS %s (%s:%u)",
	         k->c.name[0] ? k->c.name : k->c.host, k->c.host, k->c.port);
	sigpipe_block(&g);
	if ((r = ctx_setup(k)) == 0)
		r = open_conn(k);
	sigpipe_restore(&g);
	if (r != 0) {
		tv_kms_close(k);
		return r;
	}
	*out = k;
	return 0;
}

void tv_kms_close(struct tv_kms *k)
{
	struct sigpipe_guard g;

	if (k == NULL)
		return;
	sigpipe_block(&g);
	disconnect(k);
	sigpipe_restore(&g);
	SSL_CTX_free(k->ctx);
	tv_wipe(k, sizeof(*k));
	free(k);
}

const char *tv_kms_where(const struct tv_kms *k) { return k ? k->where : "KMS"; }
uint64_t tv_kms_round_trips(const struct tv_kms *k) { return k ? k->round_trips : 0; }
uint64_t tv_kms_connects(const struct tv_kms *k) { return k ? k->connects : 0; }

/* Every public operation runs under the SIGPIPE guard. */
#define GUARDED(expr) do { \
	struct sigpipe_guard g_; int r_; \
	sigpipe_block(&g_); r_ = (expr); sigpipe_restore(&g_); return r_; \
} while (0)

static int do_discover(struct tv_kms *k, char *out, size_t outsz)
{
	struct tv_kmip_version v[16];
	const struct tv_ttlv *pl;
	struct call c;
	size_t n = 0, off = 0;
	int r;

	call_begin(&c, TV_KOP_DISCOVER_VERSIONS, 1);
	if ((r = call_simple(k, &c, 1, NULL, &pl)) != 0 ||
	    (r = tv_kmip_parse_versions(pl, v, 16, &n)) != 0)
		goto out;
	if (outsz > 0)
		out[0] = '\0';
	for (size_t i = 0; i < n && off < outsz; i++) {
		int w = snprintf(out + off, outsz - off, "%s%d.%d", i ? " " : "",
		                 (int)v[i].major, (int)v[i].minor);
		if (w < 0 || (size_t)w >= outsz - off) {
			r = tv_errf(TV_ERR_RANGE, "version list does not fit");
			goto out;
		}
		off += (size_t)w;
	}
out:
	call_end(&c);
	return r;
}

int tv_kms_discover_versions(struct tv_kms *k, char *out, size_t outsz)
{
	GUARDED(do_discover(k, out, outsz));
}

static int do_query(struct tv_kms *k, char *out, size_t outsz, char *vendor,
                    size_t vendorsz)
{
	static const uint32_t funcs[] = { TV_KQUERY_OPERATIONS, TV_KQUERY_SERVER_INFO };
	uint32_t ops[128];
	const struct tv_ttlv *pl;
	struct call c;
	size_t n = 0, off = 0;
	int r;

	call_begin(&c, TV_KOP_QUERY, 1);
	tv_kmip_pl_query(&c.e, funcs, 2);
	if ((r = call_simple(k, &c, 1, NULL, &pl)) != 0 ||
	    (r = tv_kmip_parse_query(pl, ops, 128, &n, vendor, vendorsz)) != 0)
		goto out;
	if (outsz > 0)
		out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + off, outsz - off, "%s%s", i ? ", " : "",
		                 tv_kmip_op_name(ops[i]));
		if (w < 0 || (size_t)w >= outsz - off) {
			r = tv_errf(TV_ERR_RANGE, "operation list does not fit");
			goto out;
		}
		off += (size_t)w;
	}
out:
	call_end(&c);
	return r;
}

int tv_kms_query_operations(struct tv_kms *k, char *out, size_t outsz, char *vendor,
                            size_t vendorsz)
{
	GUARDED(do_query(k, out, outsz, vendor, vendorsz));
}

/* An operation whose request payload is just the object's unique id
 * (Activate, Destroy). */
static int do_uid_op(struct tv_kms *k, uint32_t op, const char *uid)
{
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(&c, op, 1);
	tv_kmip_pl_uid(&c.e, uid);
	r = call_simple(k, &c, 0, uid, &pl);
	call_end(&c);
	return r;
}

static int do_activate(struct tv_kms *k, const char *uid)
{
	return do_uid_op(k, TV_KOP_ACTIVATE, uid);
}

int tv_kms_activate(struct tv_kms *k, const char *uid) { GUARDED(do_activate(k, uid)); }

static int do_create_aes(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX])
{
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if (name == NULL || name[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "a KMS key needs a name");
	call_begin(&c, TV_KOP_CREATE, 1);
	tv_kmip_pl_create_symmetric(&c.e, TV_KALG_AES, 256,
	                            TV_KUSE_ENCRYPT | TV_KUSE_DECRYPT | TV_KUSE_WRAP |
	                            TV_KUSE_UNWRAP, name);
	if ((r = call_simple(k, &c, 0, NULL, &pl)) == 0)
		r = tv_kmip_parse_uid(pl, uid);
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "creating AES key '%s' on %s", name, k->where);
	if ((r = do_activate(k, uid)) != 0)
		return tv_errctx(r, "activating new AES key '%s' (id %s)", name, uid);
	return 0;
}

int tv_kms_create_aes(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX])
{
	GUARDED(do_create_aes(k, name, uid));
}

static int do_create_rsa(struct tv_kms *k, const char *name, int bits,
                         char priv[TV_KMS_UID_MAX], char pub[TV_KMS_UID_MAX])
{
	char pubname[300];
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if (name == NULL || name[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "a KMS key needs a name");
	if (bits == 0)
		bits = TV_KMS_RSA_BITS_DEFAULT;
	if (bits < 2048 || bits > 16384)
		return tv_errf(TV_ERR_INVAL, "RSA key size %d out of range (2048..16384)", bits);
	snprintf(pubname, sizeof(pubname), "%s.pub", name);
	call_begin(&c, TV_KOP_CREATE_KEY_PAIR, 1);
	tv_kmip_pl_create_key_pair(&c.e, TV_KALG_RSA, bits,
	                           TV_KUSE_DECRYPT | TV_KUSE_UNWRAP | TV_KUSE_SIGN, name,
	                           TV_KUSE_ENCRYPT | TV_KUSE_WRAP | TV_KUSE_VERIFY, pubname);
	if ((r = call_simple(k, &c, 0, NULL, &pl)) == 0)
		r = tv_kmip_parse_key_pair(pl, priv, pub);
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "creating RSA-%d key pair '%s' on %s", bits, name, k->where);
	/* Activate both halves in one batch (batch items need ids). */
	call_begin(&c, TV_KOP_ACTIVATE, 2);
	tv_kmip_item_begin(&c.e, TV_KOP_ACTIVATE, (const uint8_t *)"\x01", 1);
	tv_kmip_pl_uid(&c.e, priv);
	tv_kmip_item_end(&c.e);
	tv_kmip_item_begin(&c.e, TV_KOP_ACTIVATE, (const uint8_t *)"\x02", 1);
	tv_kmip_pl_uid(&c.e, pub);
	tv_kmip_item_end(&c.e);
	if ((r = call_run(k, &c, 0)) == 0) {
		for (size_t i = 0; i < c.r.nitems && r == 0; i++)
			if (c.r.items[i].status != TV_KSTATUS_SUCCESS)
				r = item_failed(k, &c.r.items[i], TV_KOP_ACTIVATE, i ? pub : priv);
	}
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "activating new RSA key pair '%s' (ids %s, %s)", name, priv,
		                 pub);
	return 0;
}

int tv_kms_create_rsa(struct tv_kms *k, const char *name, int bits,
                      char priv_uid[TV_KMS_UID_MAX], char pub_uid[TV_KMS_UID_MAX])
{
	GUARDED(do_create_rsa(k, name, bits, priv_uid, pub_uid));
}

static int do_locate(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX],
                     size_t *count)
{
	char uids[1][TV_KMIP_UID_MAX];
	const struct tv_ttlv *pl;
	struct call c;
	size_t n = 0;
	int r;

	if (name == NULL || name[0] == '\0')
		return tv_errf(TV_ERR_INVAL, "locate needs a key name");
	call_begin(&c, TV_KOP_LOCATE, 1);
	tv_kmip_pl_locate_name(&c.e, name);
	if ((r = call_simple(k, &c, 1, NULL, &pl)) == 0)
		r = tv_kmip_parse_uids(pl, uids, 1, &n);
	call_end(&c);
	if (r != 0)
		return tv_errctx(r, "locating key '%s'", name);
	if (count != NULL)
		*count = n;
	if (n == 0)
		return tv_errf(TV_ERR_NOTFOUND, "no key named '%s' on %s", name, k->where);
	memcpy(uid, uids[0], TV_KMIP_UID_MAX);
	return 0;
}

int tv_kms_locate(struct tv_kms *k, const char *name, char uid[TV_KMS_UID_MAX],
                  size_t *count)
{
	GUARDED(do_locate(k, name, uid, count));
}

static int do_get_attributes(struct tv_kms *k, const char *uid, struct tv_kmip_attrs *a)
{
	static const char *const names[] = {
		"Object Type", "Cryptographic Algorithm", "Cryptographic Length", "State",
		"Cryptographic Usage Mask", "Name", "Link"
	};
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(&c, TV_KOP_GET_ATTRIBUTES, 1);
	tv_kmip_pl_get_attributes(&c.e, uid, names, sizeof(names) / sizeof(names[0]));
	if ((r = call_simple(k, &c, 1, uid, &pl)) == 0)
		r = tv_kmip_parse_attributes(pl, a);
	call_end(&c);
	return r;
}

int tv_kms_get_attributes(struct tv_kms *k, const char *uid, struct tv_kmip_attrs *a)
{
	GUARDED(do_get_attributes(k, uid, a));
}

/* Get an object; the response stays in c (caller runs call_end). */
static int get_key(struct tv_kms *k, struct call *c, const char *uid, uint32_t want,
                   struct tv_kmip_key *key)
{
	const struct tv_ttlv *pl;
	int r;

	call_begin(c, TV_KOP_GET, 1);
	if ((r = uid_ok(k, uid)) != 0)
		return r;
	tv_kmip_pl_uid(&c->e, uid);
	if ((r = call_simple(k, c, 1, uid, &pl)) != 0)
		return r;
	if ((r = tv_kmip_parse_get(pl, key)) != 0)
		return tv_errctx(r, "key '%s' on %s", uid, k->where);
	if (key->object_type != want)
		return tv_errf(TV_ERR_INVAL, "key '%s' on %s is a %s, not a %s", uid, k->where,
		               tv_kmip_object_type_name(key->object_type),
		               tv_kmip_object_type_name(want));
	if (key->wrapped)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s returned key '%s' wrapped", k->where, uid);
	if (key->material == NULL || key->material_len == 0)
		return tv_errf(TV_ERR_UNSUPPORTED,
		               "%s returned key '%s' in a format we do not read (Key Format "
		               "Type %u)", k->where, uid, (unsigned)key->format);
	return 0;
}

static int do_get_public(struct tv_kms *k, const char *uid, EVP_PKEY **pub)
{
	struct tv_kmip_key key;
	struct call c;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	int r;

	*pub = NULL;
	if ((r = get_key(k, &c, uid, TV_KOBJ_PUBLIC_KEY, &key)) != 0)
		goto out;
	ERR_clear_error();
	if (key.format != TV_KFMT_PKCS1) {        /* X.509 SubjectPublicKeyInfo */
		p = key.material;
		pk = d2i_PUBKEY(NULL, &p, (long)key.material_len);
	}
	if (pk == NULL && (key.format == TV_KFMT_PKCS1 || key.format == TV_KFMT_RAW ||
	                   key.format == TV_KFMT_X509)) {
		p = key.material;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)key.material_len);
	}
	if (pk == NULL) {
		r = tv_errf(TV_ERR_FORMAT,
		            "public key '%s' from %s (Key Format Type %u) is not a DER RSA "
		            "public key: %s", uid, k->where, (unsigned)key.format,
		            ssl_reason(ERR_get_error()));
		goto out;
	}
	*pub = pk;
out:
	call_end(&c);
	return r;
}

int tv_kms_get_public_key(struct tv_kms *k, const char *uid, EVP_PKEY **pub)
{
	GUARDED(do_get_public(k, uid, pub));
}

static int do_get_private(struct tv_kms *k, const char *uid, EVP_PKEY **priv)
{
	struct tv_kmip_key key;
	struct call c;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	int r;

	*priv = NULL;
	if ((r = get_key(k, &c, uid, TV_KOBJ_PRIVATE_KEY, &key)) != 0)
		goto out;
	ERR_clear_error();
	p = key.material;
	/* PKCS#8 PrivateKeyInfo or PKCS#1 RSAPrivateKey */
	pk = d2i_AutoPrivateKey(NULL, &p, (long)key.material_len);
	if (pk == NULL) {
		r = tv_errf(TV_ERR_FORMAT, "private key '%s' from %s (Key Format Type %u) is "
		            "not a DER private key: %s", uid, k->where, (unsigned)key.format,
		            ssl_reason(ERR_get_error()));
		goto out;
	}
	*priv = pk;
out:
	call_end(&c);              /* wipes the response holding the key */
	return r;
}

int tv_kms_get_private_key(struct tv_kms *k, const char *uid, EVP_PKEY **priv)
{
	GUARDED(do_get_private(k, uid, priv));
}

static int do_get_symmetric(struct tv_kms *k, const char *uid, uint8_t *out, size_t cap,
                            size_t *len)
{
	struct tv_kmip_key key;
	struct call c;
	int r;

	if ((r = get_key(k, &c, uid, TV_KOBJ_SYMMETRIC_KEY, &key)) != 0)
		goto out;
	if (key.material_len > cap) {
		r = tv_errf(TV_ERR_RANGE, "key '%s' has %zu bytes, buffer %zu", uid,
		            key.material_len, cap);
		goto out;
	}
	memcpy(out, key.material, key.material_len);
	*len = key.material_len;
out:
	call_end(&c);
	return r;
}

int tv_kms_get_symmetric_key(struct tv_kms *k, const char *uid, uint8_t *key,
                             size_t cap, size_t *len)
{
	GUARDED(do_get_symmetric(k, uid, key, cap, len));
}

/* An Encrypt/Decrypt was refused: if the key is not Active, say what
 * happened to it (revoked, destroyed, ...), which is what people need. */
static int explain_state(struct tv_kms *k, int r, const char *uid, const char *use,
                         const struct tv_kmip_item *it)
{
	struct tv_kmip_attrs a;
	char why[700], saved[1024];
	const char *what;

	if (r != TV_ERR_PERM)
		return r;
	snprintf(saved, sizeof(saved), "%s", tv_errmsg(r));   /* the denial, said again below */
	kmip_why(it, why, sizeof(why));
	if (do_get_attributes(k, uid, &a) != 0 || !(a.have & TV_KATTR_STATE) ||
	    a.state == TV_KSTATE_ACTIVE) {
		tv_errf(r, "%s", saved);
		return r;
	}
	switch (a.state) {
	case TV_KSTATE_PRE_ACTIVE: what = "has not been activated yet"; break;
	case TV_KSTATE_DEACTIVATED: what = "was revoked (state Deactivated)"; break;
	case TV_KSTATE_COMPROMISED: what = "was revoked as compromised"; break;
	case TV_KSTATE_DESTROYED:
	case TV_KSTATE_DESTROYED_COMPROMISED: what = "was destroyed"; break;
	default: what = "is not active"; break;
	}
	return tv_errf(TV_ERR_STATE, "key '%s' on %s %s and can no longer %s %s", uid,
	               k->where, what, use, why);
}

static int do_encrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                          size_t ptlen, uint8_t *ct, uint8_t tag[16])
{
	static const struct tv_kmip_cparams cp = {
		.mode = TV_KMODE_GCM, .alg = TV_KALG_AES, .tag_len = 16
	};
	const struct tv_ttlv *pl;
	const uint8_t *d, *t;
	size_t dn, tn;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(&c, TV_KOP_ENCRYPT, 1);
	tv_kmip_pl_encrypt(&c.e, uid, &cp, pt, ptlen, iv, 12, aad, aadlen);
	r = call_simple(k, &c, 1, uid, &pl);
	if (r != 0) {
		if (c.r.nitems == 1)
			r = explain_state(k, r, uid, "encrypt", &c.r.items[0]);
		goto out;
	}
	if ((r = tv_kmip_parse_crypt(pl, &d, &dn, &t, &tn)) != 0)
		goto out;
	if (dn != ptlen || tn != 16) {
		r = tv_errf(TV_ERR_PROTO, "%s returned %zu bytes and a %zu-byte tag for AES-GCM "
		            "encryption of %zu bytes with key '%s'", k->where, dn, tn, ptlen, uid);
		goto out;
	}
	memcpy(ct, d, dn);
	memcpy(tag, t, 16);
out:
	call_end(&c);
	return r;
}

int tv_kms_encrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                       const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                       size_t ptlen, uint8_t *ct, uint8_t tag[16])
{
	GUARDED(do_encrypt_gcm(k, uid, iv, aad, aadlen, pt, ptlen, ct, tag));
}

static int do_decrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                          size_t ctlen, const uint8_t tag[16], uint8_t *pt)
{
	static const struct tv_kmip_cparams cp = {
		.mode = TV_KMODE_GCM, .alg = TV_KALG_AES, .tag_len = 16
	};
	const struct tv_ttlv *pl;
	const uint8_t *d;
	size_t dn;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(&c, TV_KOP_DECRYPT, 1);
	tv_kmip_pl_decrypt(&c.e, uid, &cp, ct, ctlen, iv, 12, aad, aadlen, tag, 16);
	r = call_simple(k, &c, 1, uid, &pl);
	if (r != 0) {
		if (c.r.nitems == 1) {
			const struct tv_kmip_item *it = &c.r.items[0];
			char why[700];
			/* PyKMIP reports a GCM tag mismatch as General Failure */
			if (it->reason == TV_KR_GENERAL_FAILURE ||
			    it->reason == TV_KR_CRYPTOGRAPHIC_FAILURE) {
				kmip_why(it, why, sizeof(why));
				r = tv_errf(TV_ERR_AUTH,
				            "key '%s' on %s could not authenticate the wrapped data: "
				            "AES-GCM tag mismatch (wrong key, wrong associated data, "
				            "or the data was altered) %s", uid, k->where, why);
			} else {
				r = explain_state(k, r, uid, "decrypt", it);
			}
		}
		goto out;
	}
	if ((r = tv_kmip_parse_crypt(pl, &d, &dn, NULL, NULL)) != 0)
		goto out;
	if (dn != ctlen) {
		r = tv_errf(TV_ERR_PROTO, "%s returned %zu bytes for AES-GCM decryption of %zu "
		            "bytes with key '%s'", k->where, dn, ctlen, uid);
		goto out;
	}
	memcpy(pt, d, dn);
out:
	call_end(&c);
	return r;
}

int tv_kms_decrypt_gcm(struct tv_kms *k, const char *uid, const uint8_t iv[12],
                       const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                       size_t ctlen, const uint8_t tag[16], uint8_t *pt)
{
	GUARDED(do_decrypt_gcm(k, uid, iv, aad, aadlen, ct, ctlen, tag, pt));
}

static int do_rsa_decrypt(struct tv_kms *k, const char *uid, const uint8_t *ct,
                          size_t ctlen, uint8_t *pt, size_t ptcap, size_t *ptlen)
{
	static const struct tv_kmip_cparams cp = {
		.padding = TV_KPAD_OAEP, .hash = TV_KHASH_SHA256, .alg = TV_KALG_RSA
	};
	const struct tv_ttlv *pl;
	const uint8_t *d;
	size_t dn;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	if (k->no_rsa_decrypt)
		return tv_errf(TV_ERR_UNSUPPORTED, "%s cannot decrypt with RSA keys", k->where);
	call_begin(&c, TV_KOP_DECRYPT, 1);
	tv_kmip_pl_decrypt(&c.e, uid, &cp, ct, ctlen, NULL, 0, NULL, 0, NULL, 0);
	r = call_simple(k, &c, 1, uid, &pl);
	if (r != 0) {
		if (c.r.nitems == 1) {
			const struct tv_kmip_item *it = &c.r.items[0];
			char why[700];
			/* PyKMIP: "... is not a symmetric key. Only symmetric
			 * decryption is currently supported." (Permission Denied) */
			if (it->reason == TV_KR_OPERATION_NOT_SUPPORTED ||
			    it->reason == TV_KR_FEATURE_NOT_SUPPORTED ||
			    it->reason == TV_KR_INVALID_FIELD ||
			    (it->reason == TV_KR_PERMISSION_DENIED &&
			     contains(it->message, "symmetric"))) {
				k->no_rsa_decrypt = 1;
				kmip_why(it, why, sizeof(why));
				r = tv_errf(TV_ERR_UNSUPPORTED, "%s cannot decrypt with RSA key "
				            "'%s' on the server %s", k->where, uid, why);
			} else {
				r = explain_state(k, r, uid, "decrypt", it);
			}
		}
		goto out;
	}
	if ((r = tv_kmip_parse_crypt(pl, &d, &dn, NULL, NULL)) != 0)
		goto out;
	if (dn > ptcap) {
		r = tv_errf(TV_ERR_RANGE, "RSA plaintext of %zu bytes exceeds buffer of %zu",
		            dn, ptcap);
		goto out;
	}
	memcpy(pt, d, dn);
	*ptlen = dn;
out:
	call_end(&c);
	return r;
}

int tv_kms_rsa_decrypt(struct tv_kms *k, const char *uid, const uint8_t *ct,
                       size_t ctlen, uint8_t *pt, size_t ptcap, size_t *ptlen)
{
	GUARDED(do_rsa_decrypt(k, uid, ct, ctlen, pt, ptcap, ptlen));
}

static int do_revoke(struct tv_kms *k, const char *uid)
{
	const struct tv_ttlv *pl;
	struct call c;
	int r;

	if ((r = uid_ok(k, uid)) != 0)
		return r;
	call_begin(&c, TV_KOP_REVOKE, 1);
	tv_kmip_pl_revoke(&c.e, uid, TV_KREVOKE_CESSATION);
	r = call_simple(k, &c, 0, uid, &pl);
	call_end(&c);
	return r;
}

int tv_kms_revoke(struct tv_kms *k, const char *uid) { GUARDED(do_revoke(k, uid)); }

static int do_destroy(struct tv_kms *k, const char *uid)
{
	return do_uid_op(k, TV_KOP_DESTROY, uid);
}

int tv_kms_destroy(struct tv_kms *k, const char *uid) { GUARDED(do_destroy(k, uid)); }
