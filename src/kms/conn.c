/* tapevault: KMS client transport: TCP, mutual TLS (OpenSSL), deadlines.
 * The KMIP operations on top are in client.c. */
#include "kms/conn_int.h"

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

const char *kms_ssl_reason(unsigned long e)
{
	const char *s = e ? ERR_reason_error_string(e) : NULL;
	return s ? s : "unknown TLS error";
}

/* SIGPIPE: OpenSSL writes with write(2), which raises SIGPIPE on a socket
 * the peer closed.  Block it in this thread while we do I/O and swallow
 * any we caused, so a KMS going away is an error, not process death. */
void kms_sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	g->was_pending = sigismember(&pend, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void kms_sigpipe_restore(struct sigpipe_guard *g)
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
	if (sb.st_uid != geteuid() && sb.st_uid != 0)   /* root can replace it anyway */
		return tv_errf(TV_ERR_PERM,
		               "client key file %s belongs to user id %u, not to the user "
		               "running tapevault (uid %u): refusing to use it (its owner "
		               "can read or replace it); use a copy owned by this user, "
		               "mode 0600", path, (unsigned)sb.st_uid, (unsigned)geteuid());
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

int kms_ctx_setup(struct tv_kms *k)
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
		return tv_errf(TV_ERR_CRYPTO, "SSL_CTX_new: %s", kms_ssl_reason(ERR_get_error()));
	k->ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* wipe TLS record buffers: responses carry key material */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	if (SSL_CTX_load_verify_locations(ctx, k->c.ca, NULL) != 1)
		return tv_errf(TV_ERR_TLS, "%s: cannot load CA certificates from %s: %s",
		               k->where, k->c.ca, kms_ssl_reason(ERR_get_error()));
	if (SSL_CTX_use_certificate_chain_file(ctx, k->c.cert) != 1)
		return tv_errf(TV_ERR_TLS, "%s: cannot load client certificate %s: %s",
		               k->where, k->c.cert, kms_ssl_reason(ERR_get_error()));
	if (SSL_CTX_use_PrivateKey_file(ctx, k->c.key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			return tv_errf(TV_ERR_TLS, "%s: client key %s does not belong to "
			               "certificate %s", k->where, k->c.key, k->c.cert);
		return tv_errf(TV_ERR_TLS,
		               "%s: cannot load client private key %s: %s (it must be an "
		               "unencrypted PEM key)", k->where, k->c.key,
		               kms_ssl_reason(ERR_get_error()));
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
		               SSL_alert_desc_string_long(k->alert_sent), kms_ssl_reason(k->io_ssl));
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
		               kms_ssl_reason(k->io_ssl));
	return tv_errf(TV_ERR_TLS, "TLS handshake with %s failed: %s", k->where,
	               k->io_errno ? strerror(k->io_errno) : "unknown error");
}

void kms_disconnect(struct tv_kms *k)
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

int kms_open_conn(struct tv_kms *k)
{
	int64_t deadline = now_ms() + timeout_ms(k);
	X509_VERIFY_PARAM *vp;
	int r, io;

	kms_disconnect(k);
	k->alert_recv = k->alert_sent = -1;
	k->io_errno = 0;
	k->io_ssl = 0;
	k->peer_subj[0] = k->peer_iss[0] = '\0';
	if ((r = tcp_connect(k, deadline)) != 0)
		return r;
	ERR_clear_error();
	if ((k->ssl = SSL_new(k->ctx)) == NULL || SSL_set_fd(k->ssl, k->fd) != 1) {
		r = tv_errf(TV_ERR_CRYPTO, "SSL_new: %s", kms_ssl_reason(ERR_get_error()));
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
	kms_disconnect(k);
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
		               kms_ssl_reason(k->io_ssl));
	return tv_errf(TV_ERR_NET, "%s: connection lost during %s: %s", k->where, op,
	               k->io_errno ? strerror(k->io_errno) : "unknown error");
}

/* Send one request and read one response into rb.
 *   resend: the request may be sent again after the server closed the
 *   connection without answering (read-only and idempotent operations). */
int kms_exchange(struct tv_kms *k, const struct tv_buf *req, const char *op,
                    int resend, struct tv_buf *rb)
{
	uint8_t hdr[TV_TTLV_HDR];
	size_t got, total;
	uint8_t *body;
	int64_t deadline;
	int attempt, io, r;

	for (attempt = 0;; attempt++) {
		if (!conn_alive(k) && (r = kms_open_conn(k)) != 0)
			return r;
		deadline = now_ms() + timeout_ms(k);
		k->alert_recv = k->alert_sent = -1;
		io = tls_write(k, tv_buf_ptr(req), tv_buf_avail(req), deadline);
		if (io != IO_OK) {
			/* incomplete request: the server cannot have executed it */
			r = io_error(k, io, op, 1, 0);
			kms_disconnect(k);
			if (attempt == 0 && io != IO_TIMEOUT)
				continue;
			return r;
		}
		got = 0;
		io = tls_read(k, hdr, sizeof(hdr), deadline, &got);
		if (io == IO_OK)
			break;
		r = io_error(k, io, op, 0, got);
		kms_disconnect(k);
		if (attempt == 0 && resend && io == IO_EOF && got == 0)
			continue;
		return r;
	}
	if ((r = tv_ttlv_msg_len(hdr, TV_TTLV_MAX_MSG, &total)) != 0) {
		kms_disconnect(k);
		return tv_errctx(r, "%s answered %s with garbage", k->where, op);
	}
	tv_buf_reset(rb);
	if ((r = tv_buf_reserve(rb, total, &body)) != 0) {
		kms_disconnect(k);
		return r;
	}
	memcpy(body, hdr, sizeof(hdr));
	got = sizeof(hdr);
	io = tls_read(k, body, total, deadline, &got);
	if (io != IO_OK) {
		r = io_error(k, io, op, 0, got);
		kms_disconnect(k);
		return r;
	}
	k->round_trips++;
	return 0;
}

