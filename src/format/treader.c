/* tapevault: tape reader stream.
 *
 * begin_file reads the content header record in the caller's thread.  The
 * first read() starts a read-ahead thread that reads the file's records
 * into a ring of nslots buffers (and checks their CRC), while the caller's
 * thread verifies, decrypts and copies out.  The read-ahead thread stops
 * after a record with the END flag, a filemark, end of data, a tape error
 * or a record it cannot trust (bad CRC or header): it never reads into the
 * next tape file.  end_file stops it and spaces over the rest of the file
 * (unless the filemark was already read). */
#include "format/record_int.h"
#include "util/err.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RS_IDLE, RS_HDR, RS_READING, RS_FAILED };

struct rslot {
	uint8_t *buf;
	size_t got;
	int rc;        /* tv_tape_read result */
	int crc_ok;    /* 1 ok, 0 bad, -1 not computed */
};

struct tv_treader {
	struct tv_tape *t;
	char name[512];
	uint8_t tape_uuid[TV_UUID_LEN];
	int have_uuid;
	size_t maxrec;

	uint8_t *hbuf;                 /* content header record */
	struct tv_content_header ch;
	int state;
	uint32_t file_no;
	enum tv_key_state key_state;
	int crc_only;
	struct tv_rec_crypto crypto;
	uint64_t next_seq, records;
	int incomplete, truncated, eof;
	int fm_seen, eod_seen;         /* position: filemark read / at EOD */
	int err;                       /* sticky error of the current file */
	char errmsg[1024];

	int have_rec;                  /* slots[head] is being consumed */
	uint8_t *data;
	size_t dlen, doff;

	/* read-ahead */
	unsigned nslots;
	struct rslot *slots;
	pthread_t th;
	int th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_io;          /* work for the read-ahead thread */
	pthread_cond_t cv_main;        /* a slot was filled / thread idle */
	unsigned head, count;          /* under mu */
	int ra_run, ra_busy, ra_stopped, quit;
	int ra_fm, ra_eod;             /* the thread read a filemark / hit EOD */
	char ra_msg[1024];             /* detail of a tape error */
};

static void *ra_main(void *arg)
{
	struct tv_treader *r = arg;
	char msg[1024];

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct tv_rec_hdr h;
		struct rslot *s;
		size_t got = 0;
		int rc, term = 0, crc_ok = -1;

		while (!r->quit && !(r->ra_run && !r->ra_stopped && r->count < r->nslots))
			pthread_cond_wait(&r->cv_io, &r->mu);
		if (r->quit)
			break;
		s = &r->slots[(r->head + r->count) % r->nslots];
		r->ra_busy = 1;
		pthread_mutex_unlock(&r->mu);

		msg[0] = '\0';
		tv_errclear();
		rc = tv_tape_read(r->t, s->buf, r->maxrec, &got);
		if (rc != 0) {
			term = 1;
			if (rc != TV_ERR_FILEMARK && rc != TV_ERR_EOD)
				snprintf(msg, sizeof(msg), "%s", tv_errmsg(rc));
		} else if (got >= TV_REC_HDR && memcmp(s->buf, TV_REC_MAGIC, 4) == 0) {
			crc_ok = tv_rec_crc(s->buf, got - TV_REC_HDR) ==
			         tv_get_be32(s->buf + 24);
			if (!crc_ok || tv_rec_hdr_decode(s->buf, got, &h) != 0 ||
			    (h.flags & TV_RF_END))
				term = 1;
		} else {
			term = 1;
		}

		pthread_mutex_lock(&r->mu);
		s->rc = rc;
		s->got = got;
		s->crc_ok = crc_ok;
		r->count++;
		r->ra_busy = 0;
		if (term) {
			r->ra_stopped = 1;
			if (rc == TV_ERR_FILEMARK)
				r->ra_fm = 1;
			if (rc == TV_ERR_EOD)
				r->ra_eod = 1;
			memcpy(r->ra_msg, msg, sizeof(msg));
		}
		pthread_cond_broadcast(&r->cv_main);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void ra_start(struct tv_treader *r)
{
	pthread_mutex_lock(&r->mu);
	r->head = r->count = 0;
	r->ra_stopped = r->ra_fm = r->ra_eod = 0;
	r->ra_run = 1;
	pthread_cond_signal(&r->cv_io);
	pthread_mutex_unlock(&r->mu);
}

/* Stops the thread between two reads; reports whether it passed a filemark
 * or reached EOD.  Queued records are dropped. */
static void ra_stop(struct tv_treader *r, int *fm, int *eod)
{
	pthread_mutex_lock(&r->mu);
	r->ra_run = 0;
	while (r->ra_busy)
		pthread_cond_wait(&r->cv_main, &r->mu);
	*fm = r->ra_fm;
	*eod = r->ra_eod;
	r->head = r->count = 0;
	r->ra_stopped = r->ra_fm = r->ra_eod = 0;
	pthread_mutex_unlock(&r->mu);
	r->have_rec = 0;
	r->data = NULL;
	r->dlen = r->doff = 0;
}

static struct rslot *ra_next(struct tv_treader *r)
{
	struct rslot *s;

	pthread_mutex_lock(&r->mu);
	while (r->count == 0)
		pthread_cond_wait(&r->cv_main, &r->mu);
	s = &r->slots[r->head];
	pthread_mutex_unlock(&r->mu);
	return s;
}

static void ra_release(struct tv_treader *r)
{
	pthread_mutex_lock(&r->mu);
	r->head = (r->head + 1) % r->nslots;
	r->count--;
	pthread_cond_signal(&r->cv_io);
	pthread_mutex_unlock(&r->mu);
}

static int fail(struct tv_treader *r, int code)
{
	r->state = RS_FAILED;
	r->err = code;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", tv_errmsg(code));
	return code;
}

int tv_treader_open(struct tv_treader **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN], size_t max_record)
{
	struct tv_treader *r;
	int rc;

	*out = NULL;
	if (t == NULL)
		return tv_errf(TV_ERR_INVAL, "tape reader: no tape");
	if (max_record < TV_RECORD_SIZE_MIN || max_record > TV_RECORD_SIZE_MAX)
		return tv_errf(TV_ERR_INVAL, "tape reader: record size %zu outside "
		               "[%u, %u]", max_record, TV_RECORD_SIZE_MIN,
		               TV_RECORD_SIZE_MAX);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TV_ERR_NOMEM;
	r->t = t;
	snprintf(r->name, sizeof(r->name), "%s", name != NULL ? name : t->name);
	if (tape_uuid != NULL) {
		memcpy(r->tape_uuid, tape_uuid, TV_UUID_LEN);
		r->have_uuid = 1;
	}
	r->maxrec = max_record;
	r->nslots = (unsigned)((16u << 20) / max_record);
	r->nslots = r->nslots < 3 ? 3 : r->nslots > 8 ? 8 : r->nslots;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv_io, NULL);
	pthread_cond_init(&r->cv_main, NULL);
	if ((rc = tv_rec_crypto_init(&r->crypto)) != 0)
		goto fail;
	rc = TV_ERR_NOMEM;
	if ((r->hbuf = malloc(max_record)) == NULL ||
	    (r->slots = calloc(r->nslots, sizeof(*r->slots))) == NULL)
		goto fail;
	for (unsigned i = 0; i < r->nslots; i++)
		if ((r->slots[i].buf = malloc(max_record)) == NULL)
			goto fail;
	if (pthread_create(&r->th, NULL, ra_main, r) != 0) {
		rc = tv_errf(TV_ERR_NOMEM, "tape reader: cannot start the read-ahead "
		             "thread");
		goto fail;
	}
	r->th_started = 1;
	*out = r;
	return 0;
fail:
	tv_treader_close(r);
	return rc;
}

void tv_treader_set_tape_uuid(struct tv_treader *r, const uint8_t tape_uuid[TV_UUID_LEN])
{
	memcpy(r->tape_uuid, tape_uuid, TV_UUID_LEN);
	r->have_uuid = 1;
}

int tv_treader_end_file(struct tv_treader *r)
{
	int fm = 0, eod = 0, rc;

	if (r->state == RS_IDLE)
		return 0;
	ra_stop(r, &fm, &eod);
	fm |= r->fm_seen;
	eod |= r->eod_seen;
	r->state = RS_IDLE;
	r->err = 0;
	r->key_state = TV_KEY_UNSET;
	tv_rec_crypto_unkey(&r->crypto);
	if (fm || eod)
		return 0;
	rc = tv_tape_space_files(r->t, 1);
	if (rc == TV_ERR_EOD)
		return 0;   /* the file was cut off at end of data */
	if (rc != 0)
		return tv_errctx(rc, "tape %s file %" PRIu32 ": skipping to the next "
		                 "tape file", r->name, r->file_no);
	return 0;
}

int tv_treader_begin_file(struct tv_treader *r, struct tv_content_header *ch,
                          uint64_t *file_no)
{
	struct tv_tape_status st;
	struct tv_rec_where w;
	struct tv_rec_hdr h;
	uint8_t *data;
	size_t got = 0, dlen;
	uint64_t fn;
	int known, rc;

	memset(ch, 0, sizeof(*ch));
	if (r->state != RS_IDLE && (rc = tv_treader_end_file(r)) != 0)
		return rc;
	r->next_seq = 1;
	r->records = 0;
	r->incomplete = r->truncated = r->eof = 0;
	r->fm_seen = r->eod_seen = 0;
	r->key_state = TV_KEY_UNSET;
	memset(&r->ch, 0, sizeof(r->ch));

	known = tv_tape_status(r->t, &st) == 0 && st.file_no != TV_TAPE_POS_UNKNOWN;
	fn = known ? st.file_no : 0;
	*file_no = fn;
	tv_errclear();
	rc = tv_tape_read(r->t, r->hbuf, r->maxrec, &got);
	if (rc == TV_ERR_EOD)
		return tv_errf(TV_ERR_EOD, "tape %s: end of recorded data at file %"
		               PRIu64, r->name, fn);
	if (rc == TV_ERR_FILEMARK)
		return tv_errf(TV_ERR_FILEMARK, "tape %s file %" PRIu64 ": empty tape "
		               "file", r->name, fn);
	r->state = RS_FAILED;   /* until the header checks out */
	if (rc == TV_ERR_RANGE)
		return fail(r, tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu64 " record 0:"
		                       " record longer than %zu bytes", r->name, fn,
		                       r->maxrec));
	if (rc != 0)
		return fail(r, tv_errctx(rc, "tape %s file %" PRIu64 " record 0",
		                         r->name, fn));
	if (!known && got >= TV_REC_HDR)
		fn = tv_get_be32(r->hbuf + 12);
	if (fn > UINT32_MAX)
		return fail(r, tv_errf(TV_ERR_FORMAT, "tape %s: file number %" PRIu64
		                       " out of range", r->name, fn));
	*file_no = fn;
	r->file_no = (uint32_t)fn;
	w.tape = r->name;
	w.file_no = r->file_no;
	w.seq = 0;
	if ((rc = tv_rec_open(NULL, TV_KEY_NONE, &w, r->hbuf, got, -1, &h, &data,
	                      &dlen)) != 0)
		return fail(r, rc);
	if (h.flags != 0)
		return fail(r, tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record "
		                       "0: content header record with flags 0x%02x",
		                       r->name, r->file_no, (unsigned)h.flags));
	if ((rc = tv_ch_decode(data, dlen, &r->ch)) != 0)
		return fail(r, tv_errctx(rc, "tape %s file %" PRIu32 " record 0",
		                         r->name, r->file_no));
	r->state = RS_HDR;
	*ch = r->ch;
	return 0;
}

int tv_treader_set_dek(struct tv_treader *r, const uint8_t *dek)
{
	int rc;

	if (r->state != RS_HDR)
		return tv_errf(TV_ERR_STATE, "tape %s: the key must be set after "
		               "begin_file and before reading", r->name);
	if (dek == NULL) {
		tv_rec_crypto_unkey(&r->crypto);
		r->key_state = TV_KEY_NONE;
		return 0;
	}
	if (!r->have_uuid)
		return tv_errf(TV_ERR_STATE, "tape %s: tape UUID unknown (read the "
		               "volume label first)", r->name);
	r->key_state = TV_KEY_UNSET;
	if ((rc = tv_rec_crypto_key(&r->crypto, 0, dek, r->tape_uuid, r->ch.uuid)) != 0)
		return rc;
	r->key_state = TV_KEY_SET;
	return 0;
}

/* Verifies the record in s; sets up data/dlen or the end of the file. */
static int take(struct tv_treader *r, struct rslot *s)
{
	struct tv_rec_where w = { r->name, r->file_no, r->next_seq };
	struct tv_rec_hdr h;
	int rc;

	switch (s->rc) {
	case 0:
		break;
	case TV_ERR_FILEMARK:
	case TV_ERR_EOD:
		r->truncated = 1;
		r->eof = 1;
		if (s->rc == TV_ERR_FILEMARK)
			r->fm_seen = 1;
		else
			r->eod_seen = 1;
		return 0;
	case TV_ERR_RANGE:
		return tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record %" PRIu64
		               ": record longer than %zu bytes", r->name, r->file_no,
		               r->next_seq, r->maxrec);
	case TV_ERR_BADREC:
		return tv_errf(TV_ERR_BADREC, "tape %s file %" PRIu32 " record %" PRIu64
		               ": record marked bad on the medium", r->name, r->file_no,
		               r->next_seq);
	default: {
		char msg[sizeof(r->ra_msg)];
		pthread_mutex_lock(&r->mu);
		memcpy(msg, r->ra_msg, sizeof(msg));
		pthread_mutex_unlock(&r->mu);
		return tv_errf(s->rc, "tape %s file %" PRIu32 " record %" PRIu64 ": %s",
		               r->name, r->file_no, r->next_seq, msg);
	}
	}
	rc = tv_rec_open(&r->crypto, r->crc_only ? TV_KEY_CRC_ONLY : r->key_state,
	                 &w, s->buf, s->got, s->crc_ok,
	                 &h, &r->data, &r->dlen);
	if (rc != 0)
		return rc;
	r->doff = 0;
	r->next_seq++;
	r->records++;
	if (h.flags & TV_RF_END) {
		r->eof = 1;
		r->incomplete = (h.flags & TV_RF_INCOMPLETE) != 0;
	}
	return 0;
}

int tv_treader_read(struct tv_treader *r, void *p, size_t n, size_t *got)
{
	uint8_t *dst = p;
	size_t total = 0;
	int rc;

	*got = 0;
	if (r->state == RS_FAILED)
		return tv_errf(r->err, "%s", r->errmsg);
	if (r->state == RS_IDLE)
		return tv_errf(TV_ERR_STATE, "tape %s: read outside a tape file", r->name);
	if (r->state == RS_HDR) {
		ra_start(r);
		r->state = RS_READING;
	}
	while (total < n) {
		if (r->doff < r->dlen) {
			size_t k = r->dlen - r->doff;
			if (k > n - total)
				k = n - total;
			memcpy(dst + total, r->data + r->doff, k);
			r->doff += k;
			total += k;
			continue;
		}
		if (r->have_rec) {
			ra_release(r);
			r->have_rec = 0;
			r->data = NULL;
			r->dlen = r->doff = 0;
		}
		if (r->eof)
			break;
		r->have_rec = 1;
		if ((rc = take(r, ra_next(r))) != 0) {
			fail(r, rc);
			if (total > 0)
				break;   /* deliver the good bytes; the error comes next */
			return rc;
		}
	}
	*got = total;
	return 0;
}

int tv_treader_next(struct tv_treader *r, const uint8_t **p, size_t *got)
{
	int rc;

	*p = NULL;
	*got = 0;
	if (r->state == RS_FAILED)
		return tv_errf(r->err, "%s", r->errmsg);
	if (r->state == RS_IDLE)
		return tv_errf(TV_ERR_STATE, "tape %s: read outside a tape file", r->name);
	if (r->state == RS_HDR) {
		ra_start(r);
		r->state = RS_READING;
	}
	for (;;) {
		if (r->doff < r->dlen) {
			/* the rest of the current record, in place */
			*p = r->data + r->doff;
			*got = r->dlen - r->doff;
			r->doff = r->dlen;
			return 0;
		}
		if (r->have_rec) {
			ra_release(r);
			r->have_rec = 0;
			r->data = NULL;
			r->dlen = r->doff = 0;
		}
		if (r->eof)
			return 0;
		r->have_rec = 1;
		if ((rc = take(r, ra_next(r))) != 0) {
			fail(r, rc);
			return rc;
		}
	}
}

void tv_treader_set_crc_only(struct tv_treader *r, int on)
{
	r->crc_only = on != 0;
}

int tv_treader_incomplete(struct tv_treader *r) { return r->incomplete; }
int tv_treader_truncated(struct tv_treader *r) { return r->truncated; }
uint64_t tv_treader_records(struct tv_treader *r) { return r->records; }

void tv_treader_close(struct tv_treader *r)
{
	if (r == NULL)
		return;
	if (r->th_started) {
		pthread_mutex_lock(&r->mu);
		r->quit = 1;
		pthread_cond_signal(&r->cv_io);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->th, NULL);
	}
	/* records may have held plaintext keys (keyring items) */
	if (r->slots != NULL) {
		for (unsigned i = 0; i < r->nslots; i++) {
			if (r->slots[i].buf != NULL)
				OPENSSL_cleanse(r->slots[i].buf, r->maxrec);
			free(r->slots[i].buf);
		}
		free(r->slots);
	}
	if (r->hbuf != NULL)
		OPENSSL_cleanse(r->hbuf, r->maxrec);
	free(r->hbuf);
	tv_rec_crypto_free(&r->crypto);
	pthread_cond_destroy(&r->cv_io);
	pthread_cond_destroy(&r->cv_main);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
