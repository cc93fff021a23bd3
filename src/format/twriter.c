/* tapevault: tape writer stream.
 *
 * The caller's thread fills fixed-size record buffers and queues them; one
 * I/O thread writes the queue to the tape in order.  Records are sealed
 * (AES-256-GCM in place when encrypted, then CRC32C) by the caller, except
 * every other encrypted data record, which the I/O thread seals just before
 * writing it: on two cores that splits the cipher work between the thread
 * that reads the source and the one that writes the tape.  Such a slot
 * carries a copy of its file's data key and content UUID (wiped once
 * sealed), because the caller may have moved on to other files.  The buffers form a ring of nslots preallocated records
 * (bounded memory):
 *
 *   slots[head .. head+count)   queued for (or being written by) the I/O thread
 *   slots[tail]                 the record the caller is filling (have_cur)
 *
 * tail == (head + count) % nslots always holds, so the caller may fill
 * slots[tail] whenever count < nslots.  Filemarks travel through the same
 * queue so nothing is reordered.  The first I/O error stops all further
 * tape writes (records queued after it are dropped, never written out of
 * order) and is returned, sticky, by every later call. */
#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WS_RECORD = 1, WS_FILEMARK = 2 };

struct wslot {
	uint8_t *buf;
	size_t len;
	int kind;
	uint32_t file_no;
	uint64_t seq;
	/* deferred sealing (every other encrypted data record) */
	int seal;
	uint8_t flags;
	size_t fill;
	uint64_t kgen;                /* key generation: changes per keyed file */
	uint8_t dek[TV_DEK_LEN];
	uint8_t cuuid[TV_UUID_LEN];
};

struct tv_twriter {
	struct tv_tape *t;
	char name[512];
	uint8_t tape_uuid[TV_UUID_LEN];
	size_t rs;                 /* record size */
	size_t cap;                /* data bytes per record */

	unsigned nslots;
	struct wslot *slots;
	pthread_t th;
	int th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_io;      /* queue not empty, or quit */
	pthread_cond_t cv_done;    /* a slot was retired */
	unsigned head, count;      /* under mu */
	int quit;                  /* under mu */
	atomic_int err;            /* first error, sticky */
	char errmsg[1024];         /* its detail; written once, under mu */
	atomic_int ew;

	/* caller's side */
	unsigned tail;
	int have_cur;
	size_t fill;               /* data bytes in slots[tail] */
	int in_file;
	uint32_t file_no;
	uint64_t seq;              /* next data record */
	struct tv_rec_crypto crypto;
	uint8_t dek[TV_DEK_LEN];       /* current file's key (encrypted files) */
	uint8_t cuuid[TV_UUID_LEN];
	uint64_t kgen;
	/* I/O thread's sealing context */
	struct tv_rec_crypto ioc;
	uint64_t io_kgen;
	uint64_t records, length;
	uint32_t dcrc;
	struct tv_buf chbuf;
};

/* Records the first error (from either thread) and its detail. */
static int set_err(struct tv_twriter *w, int code, const char *msg)
{
	pthread_mutex_lock(&w->mu);
	if (atomic_load(&w->err) == 0) {
		snprintf(w->errmsg, sizeof(w->errmsg), "%s", msg);
		atomic_store(&w->err, code);
	}
	pthread_cond_broadcast(&w->cv_done);
	pthread_mutex_unlock(&w->mu);
	return code;
}

/* Returns the sticky error with its detail in the calling thread. */
static int sticky(struct tv_twriter *w)
{
	int e = atomic_load(&w->err);
	char msg[sizeof(w->errmsg)];

	if (e == 0)
		return 0;
	pthread_mutex_lock(&w->mu);
	memcpy(msg, w->errmsg, sizeof(msg));
	pthread_mutex_unlock(&w->mu);
	return tv_errf(e, "%s", msg);
}

static void *io_main(void *arg)
{
	struct tv_twriter *w = arg;
	char msg[1024];

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct wslot *s;
		int r = 0;

		while (w->count == 0 && !w->quit)
			pthread_cond_wait(&w->cv_io, &w->mu);
		if (w->count == 0)
			break;
		s = &w->slots[w->head];
		pthread_mutex_unlock(&w->mu);

		if (atomic_load(&w->err) == 0 && s->seal) {
			tv_errclear();
			if (s->kgen != w->io_kgen) {
				r = tv_rec_crypto_key(&w->ioc, 1, s->dek, w->tape_uuid, s->cuuid);
				w->io_kgen = r == 0 ? s->kgen : 0;
			}
			if (r == 0)
				r = tv_rec_seal(&w->ioc, s->buf, w->rs, s->flags, s->file_no, s->seq,
				                s->fill, &s->len);
			if (r != 0) {
				snprintf(msg, sizeof(msg), "tape %s file %" PRIu32 " record %" PRIu64
				         ": sealing failed: %s", w->name, s->file_no, s->seq,
				         tv_errmsg(r));
				set_err(w, r, msg);
			}
		}
		if (s->seal) {
			OPENSSL_cleanse(s->dek, sizeof(s->dek));
			s->seal = 0;
		}
		if (atomic_load(&w->err) == 0) {
			tv_errclear();
			if (s->kind == WS_RECORD)
				r = tv_tape_write(w->t, s->buf, s->len);
			else
				r = tv_tape_write_filemarks(w->t, 1);
			if (r == TV_ERR_EW) {
				atomic_store(&w->ew, 1);
				r = 0;
			}
			if (r != 0) {
				if (s->kind == WS_RECORD)
					snprintf(msg, sizeof(msg), "tape %s file %" PRIu32
					         " record %" PRIu64 " not written: %s", w->name,
					         s->file_no, s->seq, tv_errmsg(r));
				else
					snprintf(msg, sizeof(msg), "tape %s: filemark after "
					         "file %" PRIu32 " not written: %s", w->name,
					         s->file_no, tv_errmsg(r));
				set_err(w, r, msg);
			}
		}

		pthread_mutex_lock(&w->mu);
		w->head = (w->head + 1) % w->nslots;
		w->count--;
		pthread_cond_broadcast(&w->cv_done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Makes slots[tail] available to the caller. */
static int acquire(struct tv_twriter *w)
{
	if (w->have_cur)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (w->count == w->nslots)
		pthread_cond_wait(&w->cv_done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	w->have_cur = 1;
	w->fill = 0;
	return 0;
}

static void submit(struct tv_twriter *w, int kind, size_t len, uint64_t seq)
{
	struct wslot *s = &w->slots[w->tail];

	s->kind = kind;
	s->len = len;
	s->file_no = w->file_no;
	s->seq = seq;
	w->have_cur = 0;
	w->tail = (w->tail + 1) % w->nslots;
	pthread_mutex_lock(&w->mu);
	w->count++;
	pthread_cond_signal(&w->cv_io);
	pthread_mutex_unlock(&w->mu);
}

/* Seals slots[tail] as the next data record and queues it. */
static int seal_data(struct tv_twriter *w, uint8_t flags)
{
	struct wslot *s = &w->slots[w->tail];
	size_t total;
	int r;

	w->dcrc = tv_crc32c(w->dcrc, s->buf + TV_REC_HDR, w->fill);
	if (w->crypto.keyed && (w->seq & 1)) {
		/* sealed by the I/O thread (see the top of this file) */
		s->seal = 1;
		s->flags = flags;
		s->fill = w->fill;
		s->kgen = w->kgen;
		memcpy(s->dek, w->dek, sizeof(s->dek));
		memcpy(s->cuuid, w->cuuid, sizeof(s->cuuid));
		total = 0;
	} else {
		s->seal = 0;
		r = tv_rec_seal(w->crypto.keyed ? &w->crypto : NULL, s->buf, w->rs, flags,
		                w->file_no, w->seq, w->fill, &total);
		if (r != 0)
			return set_err(w, r, tv_errmsg(r));
	}
	w->records++;
	w->length += w->fill;
	submit(w, WS_RECORD, total, w->seq);
	w->seq++;
	return 0;
}

int tv_twriter_open(struct tv_twriter **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN], size_t record_size)
{
	struct tv_twriter *w;
	int r;

	*out = NULL;
	if (t == NULL || tape_uuid == NULL)
		return tv_errf(TV_ERR_INVAL, "tape writer: no tape");
	if (record_size < TV_RECORD_SIZE_MIN || record_size > TV_RECORD_SIZE_MAX)
		return tv_errf(TV_ERR_INVAL, "tape writer: record size %zu outside "
		               "[%u, %u]", record_size, TV_RECORD_SIZE_MIN,
		               TV_RECORD_SIZE_MAX);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TV_ERR_NOMEM;
	w->t = t;
	snprintf(w->name, sizeof(w->name), "%s", name != NULL ? name : t->name);
	memcpy(w->tape_uuid, tape_uuid, TV_UUID_LEN);
	w->rs = record_size;
	w->cap = record_size - TV_REC_HDR - TV_TAG_LEN;
	/* 4..8 records in flight, at most ~32 MiB */
	w->nslots = (unsigned)((32u << 20) / record_size);
	w->nslots = w->nslots < 4 ? 4 : w->nslots > 8 ? 8 : w->nslots;
	tv_buf_init_max(&w->chbuf, TV_CH_FIXED + TV_CH_BODY_MAX);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_io, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	if ((r = tv_rec_crypto_init(&w->ioc)) != 0)
		goto fail;
	if ((r = tv_rec_crypto_init(&w->crypto)) != 0)
		goto fail;
	if ((w->slots = calloc(w->nslots, sizeof(*w->slots))) == NULL) {
		r = TV_ERR_NOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < w->nslots; i++)
		if ((w->slots[i].buf = malloc(record_size)) == NULL) {
			r = TV_ERR_NOMEM;
			goto fail;
		}
	if (pthread_create(&w->th, NULL, io_main, w) != 0) {
		r = tv_errf(TV_ERR_NOMEM, "tape writer: cannot start the I/O thread");
		goto fail;
	}
	w->th_started = 1;
	*out = w;
	return 0;
fail:
	tv_twriter_close(w);
	return r;
}

int tv_twriter_begin_file(struct tv_twriter *w, uint32_t file_no,
                          enum tv_content_type type,
                          const uint8_t content_uuid[TV_UUID_LEN],
                          const void *ch_body, size_t ch_len,
                          const uint8_t *dek)
{
	size_t total;
	int r;

	if ((r = sticky(w)) != 0)
		return r;
	if (w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: file %" PRIu32 " begun before "
		               "file %" PRIu32 " ended", w->name, file_no, w->file_no);
	if (ch_len > w->rs - TV_REC_HDR - TV_CH_FIXED)
		return tv_errf(TV_ERR_RANGE, "tape %s file %" PRIu32 ": content header "
		               "body of %zu bytes does not fit in a %zu-byte record",
		               w->name, file_no, ch_len, w->rs);
	tv_buf_reset(&w->chbuf);
	if ((r = tv_ch_encode(&w->chbuf, type, content_uuid, ch_body, ch_len)) != 0)
		return tv_errctx(r, "tape %s file %" PRIu32, w->name, file_no);
	if (dek != NULL) {
		if ((r = tv_rec_crypto_key(&w->crypto, 1, dek, w->tape_uuid,
		                           content_uuid)) != 0)
			return r;
		memcpy(w->dek, dek, sizeof(w->dek));
		memcpy(w->cuuid, content_uuid, sizeof(w->cuuid));
		w->kgen++;
	} else {
		tv_rec_crypto_unkey(&w->crypto);
	}
	w->file_no = file_no;
	acquire(w);
	memcpy(w->slots[w->tail].buf + TV_REC_HDR, w->chbuf.d, w->chbuf.len);
	r = tv_rec_seal(NULL, w->slots[w->tail].buf, w->rs, 0, file_no, 0,
	                w->chbuf.len, &total);
	if (r != 0)
		return set_err(w, r, tv_errmsg(r));
	submit(w, WS_RECORD, total, 0);
	w->in_file = 1;
	w->seq = 1;
	w->records = w->length = 0;
	w->dcrc = 0;
	return 0;
}

int tv_twriter_write(struct tv_twriter *w, const void *p, size_t n)
{
	const uint8_t *src = p;
	int r;

	if ((r = sticky(w)) != 0)
		return r;
	if (!w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: write outside a tape file", w->name);
	while (n > 0) {
		size_t k;
		if (!w->have_cur)
			acquire(w);
		if (w->fill == w->cap) {
			/* full, and more data follows: not the last record */
			if ((r = seal_data(w, 0)) != 0)
				return r;
			if ((r = sticky(w)) != 0)
				return r;
			continue;
		}
		k = w->cap - w->fill;
		if (k > n)
			k = n;
		memcpy(w->slots[w->tail].buf + TV_REC_HDR + w->fill, src, k);
		w->fill += k;
		src += k;
		n -= k;
	}
	return 0;
}

int tv_twriter_reserve(struct tv_twriter *w, uint8_t **p, size_t *room)
{
	int r;

	*p = NULL;
	*room = 0;
	if ((r = sticky(w)) != 0)
		return r;
	if (!w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: write outside a tape file", w->name);
	if (!w->have_cur)
		acquire(w);
	if (w->fill == w->cap) {
		/* full, and the caller has more: not the last record */
		if ((r = seal_data(w, 0)) != 0)
			return r;
		if ((r = sticky(w)) != 0)
			return r;
		acquire(w);
	}
	*p = w->slots[w->tail].buf + TV_REC_HDR + w->fill;
	*room = w->cap - w->fill;
	return 0;
}

int tv_twriter_commit(struct tv_twriter *w, size_t n)
{
	if (!w->in_file || !w->have_cur || n > w->cap - w->fill)
		return tv_errf(TV_ERR_STATE, "tape %s: commit of %zu bytes without a reserve",
		               w->name, n);
	w->fill += n;
	return 0;
}

int tv_twriter_end_file(struct tv_twriter *w, int incomplete,
                        struct tv_file_result *res)
{
	int r;

	if ((r = sticky(w)) != 0)
		return r;
	if (!w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: end of file outside a tape file",
		               w->name);
	acquire(w);
	if ((r = seal_data(w, TV_RF_END | (incomplete ? TV_RF_INCOMPLETE : 0))) != 0)
		return r;
	acquire(w);
	submit(w, WS_FILEMARK, 0, w->seq);
	w->in_file = 0;
	tv_rec_crypto_unkey(&w->crypto);
	if (res != NULL) {
		res->records = w->records;
		res->length = w->length;
		res->crc = w->dcrc;
	}
	return 0;
}

int tv_twriter_sync(struct tv_twriter *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->count > 0)
		pthread_cond_wait(&w->cv_done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return sticky(w);
}

int tv_twriter_ew(struct tv_twriter *w)
{
	return atomic_load(&w->ew);
}

int tv_twriter_close(struct tv_twriter *w)
{
	int r = 0;

	if (w == NULL)
		return 0;
	if (w->th_started) {
		r = tv_twriter_sync(w);
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_signal(&w->cv_io);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	if (w->slots != NULL) {
		for (unsigned i = 0; i < w->nslots; i++) {
			if (w->slots[i].buf != NULL)
				OPENSSL_cleanse(w->slots[i].buf, w->rs);
			OPENSSL_cleanse(w->slots[i].dek, sizeof(w->slots[i].dek));
			free(w->slots[i].buf);
		}
		free(w->slots);
	}
	tv_rec_crypto_free(&w->crypto);
	tv_rec_crypto_free(&w->ioc);
	OPENSSL_cleanse(w->dek, sizeof(w->dek));
	tv_buf_free(&w->chbuf);
	pthread_cond_destroy(&w->cv_io);
	pthread_cond_destroy(&w->cv_done);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return r;
}
