/* tapevault: tape reader stream (format v2).
 *
 * begin_file and seek run in the caller's thread.  The data stream is then
 * read by a read-ahead thread, which checks every record (CRC32C, header,
 * file number, sequence) and cuts the stream into frames; worker threads
 * open frames (tag, decryption, decompression, raw CRC); the caller takes
 * frames in order.  All three share a ring of slots:
 *
 *   read-ahead:  FREE -> FILLING -> READY (frames) | DONE (end, errors)
 *   workers:     READY -> BUSY -> DONE
 *   caller:      DONE -> (in hand) -> FREE
 *
 * The read-ahead thread never reads past the END record of the tape file,
 * and after a seek it stops once the frames asked for are read (so a
 * single-file restore reads only the records its entry covers).  After a
 * damaged record it resynchronises on the next record whose header points
 * at a frame; the caller sees one error for the damage, then frames again. */
#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/wipe.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/uio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_FREE, S_FILLING, S_READY, S_BUSY, S_DONE };
enum { K_FRAME = 1, K_END, K_ERROR, K_NONE };
enum { RS_IDLE, RS_HDR, RS_READING, RS_ENDED, RS_FAILED };

struct rslot {
	int state, kind;
	/* the frame as on tape: header (48 bytes), then its stored bytes; the
	 * read-ahead reads records straight into it where it can */
	uint8_t *frm;
	size_t frm_cap, fill;
	uint8_t *hdr, *stored;        /* frm, frm + TV_FRAME_HDR */
	struct tv_frame_hdr fh;
	uint8_t *out;
	size_t out_cap;
	const uint8_t *raw;
	uint64_t record;              /* record the frame header began in */
	uint64_t stream_off;
	int sealed;
	uint8_t key[TV_DEK_LEN];
	int err;                      /* K_FRAME (worker) and K_ERROR */
	char errmsg[768];
	int cont, truncated;          /* K_END */
};

struct tv_treader {
	struct tv_tape *t;
	char name[512];
	uint8_t tape_uuid[TV_UUID_LEN];
	int have_uuid;
	size_t rs;                    /* record size R, 0 = unknown */
	size_t maxrec;                /* buffer size for one record */
	uint8_t *hbuf;                /* record 0 */
	size_t hlen;
	struct tv_content_header ch;
	int hdr_sealed;
	int state;
	uint32_t file_no;
	uint8_t cuuid[TV_UUID_LEN];
	int keyed, expect_sealed, crc_only;
	uint8_t key[TV_DEK_LEN];
	struct tv_fcodec codec;
	int err;
	char errmsg[1024];
	int cont, truncated;
	uint64_t next_index;          /* caller: index expected next */
	int index_known;
	struct rslot *cur;            /* slot in the caller's hand */

	unsigned nslots;
	struct rslot *slots;
	unsigned nworkers, workers_started;
	pthread_t *workers;
	pthread_t ra;
	int ra_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_ra;         /* read-ahead: run, room, want, quit */
	pthread_cond_t cv_work;       /* workers: a slot is READY */
	pthread_cond_t cv_main;       /* caller: head DONE, read-ahead idle */
	unsigned head;                /* oldest slot not yet FREE (caller's) */
	unsigned count;               /* slots not FREE, from head */
	int quit;
	/* read-ahead parameters (under mu) */
	int ra_run, ra_busy, ra_done;
	/* who sleeps, so that wake-ups come in batches (see twriter.c) */
	int ra_slot_waiting, main_waiting, stop_waiting;
	uint64_t ra_need, ra_got;     /* raw bytes wanted / read since start */
	int ra_waiting;               /* paused: need satisfied */
	/* read-ahead state (its thread only while ra_run) */
	uint64_t ra_seq;              /* next record expected */
	size_t ra_skip;               /* payload bytes to skip in the first record */
	int ra_resync;                /* looking for a record with a frame */
	uint64_t ra_stream;           /* stream offset of the next payload byte */
	uint64_t ra_index;            /* index the next frame must carry */
	int ra_index_known;
	uint8_t *rbuf;
	int fm_seen, eod_seen;        /* the filemark of the file was read / EOD */
	uint64_t records;             /* data records read in this file */
};

/* ---- slots ---- */

static struct rslot *slot_at(struct tv_treader *r, unsigned i)
{
	return &r->slots[(r->head + i) % r->nslots];
}

/* Room for a frame of `frm` bytes (its first `keep` bytes are kept) and
 * its raw output. */
static int slot_room(struct rslot *s, size_t frm, size_t raw, size_t keep)
{
	if (frm > s->frm_cap) {
		uint8_t *p = malloc(frm);
		if (p == NULL)
			return TV_ERR_NOMEM;
		if (s->frm != NULL) {
			memcpy(p, s->frm, keep < s->frm_cap ? keep : s->frm_cap);
			tv_wipe(s->frm, s->frm_cap);
		}
		free(s->frm);
		s->frm = p;
		s->frm_cap = frm;
		s->hdr = p;
		s->stored = p + TV_FRAME_HDR;
	}
	if (raw > s->out_cap) {
		uint8_t *p = malloc(raw);
		if (p == NULL)
			return TV_ERR_NOMEM;
		if (s->out != NULL)
			tv_wipe(s->out, s->out_cap);
		free(s->out);
		s->out = p;
		s->out_cap = raw;
	}
	return 0;
}

/* ---- read-ahead thread ---- */

/* ---- wake-ups (under mu) ---- */

/* The caller waits for the head slot: wake it when two are done, or when
 * no more will come soon (an event, the read-ahead paused or done). */
static void wake_main(struct tv_treader *r)
{
	unsigned done = 0;

	if (r->stop_waiting) {
		pthread_cond_broadcast(&r->cv_main);
		return;
	}
	if (!r->main_waiting || r->count == 0) {
		if (r->main_waiting && (r->ra_done || r->ra_waiting))
			pthread_cond_broadcast(&r->cv_main);
		return;
	}
	while (done < r->count && done < 2 && slot_at(r, done)->state == S_DONE)
		done++;
	if (done > 0 && (done >= 2 || r->ra_waiting || r->ra_done ||
	                 slot_at(r, 0)->kind != K_FRAME))
		pthread_cond_broadcast(&r->cv_main);
	else if (done == 0 && (r->ra_waiting || r->ra_done))
		pthread_cond_broadcast(&r->cv_main);   /* it may want more */
}

/* The read-ahead waits for free slots: wake it when half the ring is. */
static void wake_ra(struct tv_treader *r)
{
	if (r->ra_slot_waiting && r->nslots - r->count >= r->nslots / 2)
		pthread_cond_broadcast(&r->cv_ra);
}

/* A free slot at the end of the queue (waits); NULL when stopped. */
static struct rslot *ra_slot(struct tv_treader *r)
{
	struct rslot *s;

	pthread_mutex_lock(&r->mu);
	while (r->ra_run && !r->quit && r->count == r->nslots) {
		r->ra_slot_waiting = 1;
		pthread_cond_wait(&r->cv_ra, &r->mu);
	}
	r->ra_slot_waiting = 0;
	if (!r->ra_run || r->quit) {
		pthread_mutex_unlock(&r->mu);
		return NULL;
	}
	s = slot_at(r, r->count);
	s->state = S_FILLING;
	r->count++;
	pthread_mutex_unlock(&r->mu);
	s->fill = 0;
	s->err = 0;
	s->errmsg[0] = '\0';
	s->cont = s->truncated = 0;
	s->raw = NULL;
	s->sealed = 0;
	return s;
}

/* Gives back a slot taken and not used: the last one goes back; one with
 * slots after it becomes a no-op the caller passes over. */
static void ra_unslot(struct tv_treader *r, struct rslot *s)
{
	pthread_mutex_lock(&r->mu);
	if (r->count > 0 && slot_at(r, r->count - 1) == s && s->state == S_FILLING) {
		s->state = S_FREE;
		r->count--;
	} else if (s->state == S_FILLING) {
		s->kind = K_NONE;
		s->state = S_DONE;
		wake_main(r);
	}
	pthread_mutex_unlock(&r->mu);
}

static void ra_post(struct tv_treader *r, struct rslot *s, int state)
{
	pthread_mutex_lock(&r->mu);
	s->state = state;
	if (state == S_READY)
		pthread_cond_signal(&r->cv_work);
	else
		wake_main(r);
	pthread_mutex_unlock(&r->mu);
}

/* Queues an event (end or error) in s, or in a new slot when s is NULL. */
static void ra_event(struct tv_treader *r, struct rslot *s, int kind, int err,
                     const char *msg, int truncated)
{
	if (s == NULL && (s = ra_slot(r)) == NULL)
		return;
	s->kind = kind;
	s->err = err;
	s->truncated = truncated;
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg != NULL ? msg : "");
	ra_post(r, s, S_DONE);
}

/* Message "tape X file F record R: ..." */
static void ra_msg(struct tv_treader *r, char *out, size_t outsz, uint64_t rec,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void ra_msg(struct tv_treader *r, char *out, size_t outsz, uint64_t rec,
                   const char *fmt, ...)
{
	char what[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(out, outsz, "tape %.200s file %" PRIu32 " record %" PRIu64 ": %s",
	         r->name, r->file_no, rec, what);
}

/* Checks a record as read; "" when good, else the problem in msg. */
static int ra_check(struct tv_treader *r, const struct iovec *iov, int n, size_t got,
                    struct tv_rec_hdr *h, char *msg, size_t msgsz)
{
	uint64_t seq = r->ra_seq;
	uint32_t crc;
	size_t left;
	int rc;

	msg[0] = '\0';
	if (got < TV_REC_HDR || memcmp(r->rbuf, TV_REC_MAGIC, 4) != 0) {
		ra_msg(r, msg, msgsz, seq, "not a tapevault v2 record");
		return TV_ERR_FORMAT;
	}
	/* iov[0] is the header, in rbuf; the payload is in the other pieces */
	crc = tv_crc32c(0, r->rbuf, 28);
	left = got - TV_REC_HDR;
	for (int i = 1; i < n && left > 0; i++) {
		size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
		crc = tv_crc32c(crc, iov[i].iov_base, k);
		left -= k;
	}
	if (crc != tv_get_be32(r->rbuf + 28)) {
		ra_msg(r, msg, msgsz, seq, "checksum mismatch: the record is damaged");
		return TV_ERR_CRC;
	}
	if ((rc = tv_rec_hdr_decode(r->rbuf, got, h)) != 0) {
		ra_msg(r, msg, msgsz, seq, "%s", tv_errmsg(rc));
		return TV_ERR_FORMAT;
	}
	if (h->file_no != r->file_no)
		ra_msg(r, msg, msgsz, seq, "record belongs to tape file %" PRIu32
		       " (records moved between files)", h->file_no);
	else if (h->seq != seq)
		ra_msg(r, msg, msgsz, seq, "record carries sequence %" PRIu64 " (records "
		       "missing, duplicated or reordered)", h->seq);
	else if (r->rs != 0 && !(h->flags & TV_RF_END) && got != r->rs)
		ra_msg(r, msg, msgsz, seq, "%zu bytes: only the last record of a tape "
		       "file may be shorter than the record size %zu", got, r->rs);
	return msg[0] != '\0' ? TV_ERR_FORMAT : 0;
}

/* Checks a frame header just completed in s; "" when good. */
static int ra_check_frame(struct tv_treader *r, struct rslot *s, size_t keep, char *msg,
                          size_t msgsz)
{
	int dr = tv_frame_hdr_decode(s->hdr, &s->fh);

	msg[0] = '\0';
	if (dr != 0)
		ra_msg(r, msg, msgsz, s->record, "%s", tv_errmsg(dr));
	else if (memcmp(s->fh.content_uuid, r->cuuid, TV_UUID_LEN) != 0)
		ra_msg(r, msg, msgsz, s->record, "frame of another tape file (content "
		       "UUID differs)");
	else if (r->ra_index_known && s->fh.index != r->ra_index)
		ra_msg(r, msg, msgsz, s->record, "frame %" PRIu64 " where frame %" PRIu64
		       " belongs (frames missing or reordered)", s->fh.index, r->ra_index);
	else if (r->expect_sealed && !(s->fh.flags & TV_FF_SEALED))
		ra_msg(r, msg, msgsz, s->record, "plaintext frame %" PRIu64 " on an "
		       "encrypted tape (not written by the tape's owner): refused",
		       s->fh.index);
	else if (!r->expect_sealed && !r->crc_only && (s->fh.flags & TV_FF_SEALED))
		ra_msg(r, msg, msgsz, s->record, "encrypted frame %" PRIu64 " in a "
		       "tape file read as plaintext", s->fh.index);
	else if ((dr = slot_room(s, TV_FRAME_HDR + s->fh.stored_len, s->fh.raw_len,
	                         keep)) != 0)
		ra_msg(r, msg, msgsz, s->record, "out of memory");
	if (msg[0] == '\0')
		return 0;
	return dr == TV_ERR_UNSUPPORTED ? TV_ERR_UNSUPPORTED : dr == TV_ERR_NOMEM
	       ? TV_ERR_NOMEM : TV_ERR_FORMAT;
}

/* Feeds n payload bytes of the current record (at offset pos of its
 * payload) into frame assembly.  in_place: they already sit where *sp's
 * next bytes go (a record read straight into the frame), else they are
 * copied.  New frames get new slots.  Returns 1 when the tape file ended
 * (LAST frame, or an error that ends it), 0 to go on, -1 when stopped. */
static int ra_feed(struct tv_treader *r, struct rslot **sp, const uint8_t *p, size_t n,
                   size_t pos, const struct tv_rec_hdr *h, int in_place)
{
	size_t pay_size = r->rs ? r->rs - TV_REC_HDR : 0;
	struct rslot *s = *sp;
	char msg[768];
	int rc;

	while (n > 0) {
		size_t k, total;
		if (s == NULL) {
			if (h->first_frame == TV_NO_OFFSET) {
				ra_msg(r, msg, sizeof(msg), r->ra_seq, "a frame begins at "
				       "offset %zu, but the record header says none does", pos);
				ra_event(r, NULL, K_ERROR, TV_ERR_FORMAT, msg, 0);
				r->ra_resync = 1;
				return 0;
			}
			if (pos < h->first_frame) {
				ra_msg(r, msg, sizeof(msg), r->ra_seq, "a frame begins at "
				       "offset %zu, but the record header says %" PRIu32, pos,
				       h->first_frame);
				ra_event(r, NULL, K_ERROR, TV_ERR_FORMAT, msg, 0);
				p += h->first_frame - pos;
				n -= h->first_frame - pos;
				pos = h->first_frame;
				r->ra_index_known = 0;
				in_place = 0;
				continue;
			}
			if ((s = ra_slot(r)) == NULL)
				return -1;
			if (slot_room(s, r->rs ? r->rs : TV_FRAME_HDR + 4096, 0, 0) != 0) {
				ra_unslot(r, s);
				s = NULL;
				ra_msg(r, msg, sizeof(msg), r->ra_seq, "out of memory");
				ra_event(r, NULL, K_ERROR, TV_ERR_NOMEM, msg, 0);
				return 1;
			}
			s->kind = K_FRAME;
			s->record = r->ra_seq;
			s->stream_off = (r->ra_seq - 1) * pay_size + pos;
			in_place = 0;
		}
		if (s->fill < TV_FRAME_HDR) {
			k = TV_FRAME_HDR - s->fill;
			if (k > n)
				k = n;
			if (!in_place)
				memcpy(s->frm + s->fill, p, k);
			s->fill += k;
			p += k;
			n -= k;
			pos += k;
			if (s->fill < TV_FRAME_HDR)
				break;
			/* in place, the bytes after the header are in the buffer too */
			if ((rc = ra_check_frame(r, s, s->fill + (in_place ? n : 0), msg,
			                         sizeof(msg))) != 0) {
				ra_event(r, s, K_ERROR, rc, msg, 0);
				*sp = NULL;
				r->ra_resync = 1;
				return 0;
			}
			r->ra_index = s->fh.index + 1;
			r->ra_index_known = 1;
			if (in_place)
				p = s->frm + s->fill;   /* the buffer may have moved */
		}
		total = TV_FRAME_HDR + s->fh.stored_len;
		k = total - s->fill;
		if (k > n)
			k = n;
		if (!in_place)
			memcpy(s->frm + s->fill, p, k);
		s->fill += k;
		p += k;
		n -= k;
		pos += k;
		if (s->fill < total)
			break;
		/* a whole frame */
		if (s->fh.flags & TV_FF_LAST) {
			msg[0] = '\0';
			if (pos != h->payload_len)
				ra_msg(r, msg, sizeof(msg), r->ra_seq, "bytes after the last frame");
			else if (!(h->flags & TV_RF_END))
				ra_msg(r, msg, sizeof(msg), r->ra_seq, "the last frame ends in a "
				       "record without the END flag");
			else if (!!(h->flags & TV_RF_CONT) != !!(s->fh.flags & TV_FF_CONT))
				ra_msg(r, msg, sizeof(msg), r->ra_seq, "record and frame disagree "
				       "on CONT");
			if (msg[0] != '\0') {
				ra_event(r, s, K_ERROR, TV_ERR_FORMAT, msg, 0);
				*sp = NULL;
				ra_event(r, NULL, K_END, 0, NULL, 0);
				return 1;
			}
		}
		if (r->keyed) {
			memcpy(s->key, r->key, sizeof(s->key));
			s->sealed = 1;
		}
		{
			int last = (s->fh.flags & TV_FF_LAST) != 0;
			pthread_mutex_lock(&r->mu);
			r->ra_got += s->fh.raw_len;
			pthread_mutex_unlock(&r->mu);
			ra_post(r, s, r->crc_only ? S_DONE : S_READY);
			s = NULL;
			*sp = NULL;
			in_place = 0;   /* what follows is another frame's */
			if (last) {
				ra_event(r, NULL, K_END, 0, NULL, 0);
				return 1;
			}
		}
	}
	*sp = s;
	return 0;
}

/* Reads one file's data stream; returns when it ended, failed or was
 * stopped.  A record is read, where it can be, straight into the frames it
 * carries: the rest of the frame being assembled, then the beginning of
 * the next one (in a fresh slot), so the payload is not copied again. */
/* The read-ahead thread's state within one tape file. */
struct ra_iter {
	struct rslot *s;        /* frame being assembled */
	struct rslot *spare;    /* a slot read into before it is known */
	size_t pay_size;        /* payload bytes of a full record (0: unknown) */
	struct iovec iov[3];
	int n;
	size_t k1;              /* payload bytes planned straight onto s */
	int direct;             /* payload read into frame slots, not rbuf */
	struct tv_rec_hdr h;
	char msg[768];
};

static void ra_drop_spare(struct tv_treader *r, struct ra_iter *it)
{
	if (it->spare != NULL) {
		ra_unslot(r, it->spare);
		it->spare = NULL;
	}
}

/* Pauses once what was asked for is read (a frame begun in the record just
 * read waits in its slot); 0 when reading is to stop. */
static int ra_wait(struct tv_treader *r)
{
	int go;

	pthread_mutex_lock(&r->mu);
	while (r->ra_run && !r->quit && r->ra_got >= r->ra_need) {
		r->ra_waiting = 1;
		wake_main(r);
		pthread_cond_wait(&r->cv_ra, &r->mu);
	}
	r->ra_waiting = 0;
	go = r->ra_run && !r->quit;
	pthread_mutex_unlock(&r->mu);
	return go;
}

/* Plans the next read: the header into rbuf; the payload straight into the
 * frames when we know where they are, else into rbuf.  -1: no slot. */
static int ra_plan(struct tv_treader *r, struct ra_iter *it)
{
	struct rslot *s = it->s;
	size_t pay_size = it->pay_size;

	it->iov[0].iov_base = r->rbuf;
	it->iov[0].iov_len = TV_REC_HDR;
	it->n = 1;
	it->k1 = 0;
	it->direct = 0;
	if (pay_size > 0 && !r->ra_resync && r->ra_skip == 0 &&
	    (s == NULL || (s->fill >= TV_FRAME_HDR &&
	                   s->frm_cap >= TV_FRAME_HDR + s->fh.stored_len))) {
		if (s != NULL) {
			it->k1 = TV_FRAME_HDR + s->fh.stored_len - s->fill;
			if (it->k1 > pay_size)
				it->k1 = pay_size;
			it->iov[it->n].iov_base = s->frm + s->fill;
			it->iov[it->n].iov_len = it->k1;
			it->n++;
		}
		if (it->k1 < pay_size && it->spare == NULL) {
			if ((it->spare = ra_slot(r)) == NULL)
				return -1;
			if (slot_room(it->spare, r->rs, 0, 0) != 0)
				ra_drop_spare(r, it);
		}
		if (it->k1 < pay_size && it->spare != NULL) {
			it->iov[it->n].iov_base = it->spare->frm;
			it->iov[it->n].iov_len = pay_size - it->k1;
			it->n++;
		}
		it->direct = it->k1 == pay_size || (it->k1 < pay_size && it->spare != NULL);
	}
	if (!it->direct) {
		it->k1 = 0;
		it->iov[1].iov_base = r->rbuf + TV_REC_HDR;
		it->iov[1].iov_len = r->maxrec - TV_REC_HDR;
		it->n = 2;
	}
	return 0;
}

/* A filemark or end of data ends the tape file (a frame open there was
 * cut off). */
static void ra_end_of_file(struct tv_treader *r, struct ra_iter *it, int rc)
{
	if (rc == TV_ERR_FILEMARK)
		r->fm_seen = 1;
	else
		r->eod_seen = 1;
	ra_drop_spare(r, it);
	if (it->s != NULL) {
		ra_msg(r, it->msg, sizeof(it->msg), r->ra_seq, "the tape file ends inside "
		       "frame %" PRIu64 " (cut off)", it->s->fh.index);
		ra_event(r, it->s, K_ERROR, TV_ERR_FORMAT, it->msg, 0);
		it->s = NULL;
	}
	ra_event(r, NULL, K_END, 0, NULL, 1);
}

static void ra_count_record(struct tv_treader *r)
{
	pthread_mutex_lock(&r->mu);
	r->records++;
	pthread_mutex_unlock(&r->mu);
}

/* A record that could not be read or does not check (rc), or a content
 * header in the stream (rc 0): reported once; 1 when reading stops, else
 * the reader resynchronises at the next record's first frame. */
static int ra_bad_record(struct tv_treader *r, struct ra_iter *it, int rc, size_t got)
{
	int end = 0;

	if (rc == 0) {
		ra_msg(r, it->msg, sizeof(it->msg), r->ra_seq, "a content header record in "
		       "the data stream");
		rc = TV_ERR_FORMAT;
		end = 1;
	} else if (rc == TV_ERR_RANGE) {
		ra_msg(r, it->msg, sizeof(it->msg), r->ra_seq, "record longer than %zu bytes",
		       r->maxrec);
		rc = TV_ERR_FORMAT;
	} else if (rc == TV_ERR_BADREC) {
		ra_msg(r, it->msg, sizeof(it->msg), r->ra_seq, "record marked bad on the medium");
	} else if (rc != TV_ERR_CRC && rc != TV_ERR_FORMAT) {
		ra_msg(r, it->msg, sizeof(it->msg), r->ra_seq, "%s", tv_errmsg(rc));
		end = 1;   /* a drive error: do not read on blindly */
	}
	if (rc != TV_ERR_RANGE && rc != TV_ERR_BADREC && got > 0)
		ra_count_record(r);
	ra_drop_spare(r, it);
	ra_event(r, it->s, K_ERROR, rc, it->msg, 0);
	it->s = NULL;
	if (end) {
		ra_event(r, NULL, K_END, 0, NULL, 1);
		return 1;
	}
	r->ra_seq++;
	r->ra_resync = 1;
	r->ra_skip = 0;
	return 0;
}

/* A good record read into the frame slots: the first k1 bytes went onto
 * the open frame, the rest into the spare slot, which becomes the next
 * frame when it starts where the header says one does. */
static int ra_take_direct(struct tv_treader *r, struct ra_iter *it)
{
	const struct tv_rec_hdr *h = &it->h;
	size_t pay = h->payload_len;
	size_t a = it->k1 < pay ? it->k1 : pay, rest = pay - a;
	struct rslot *adopt;

	if (rest == 0)
		ra_drop_spare(r, it);
	if (a > 0 && ra_feed(r, &it->s, (const uint8_t *)it->iov[1].iov_base, a, 0, h, 1) != 0)
		return 1;
	if (rest == 0)
		return 0;
	adopt = it->spare;
	it->spare = NULL;
	if (it->s != NULL || a != h->first_frame) {
		/* not where a frame should begin (a damaged or forged header):
		 * give the slot back, go on as usual */
		memcpy(r->rbuf + TV_REC_HDR + a, adopt->frm, rest);
		ra_unslot(r, adopt);
		return ra_feed(r, &it->s, r->rbuf + TV_REC_HDR + a, rest, a, h, 0) != 0;
	}
	adopt->kind = K_FRAME;
	adopt->record = r->ra_seq;
	adopt->stream_off = (r->ra_seq - 1) * it->pay_size + a;
	it->s = adopt;
	return ra_feed(r, &it->s, adopt->frm, rest, a, h, 1) != 0;
}

/* A good record read into rbuf: its frames from pos on (after a resync,
 * from the first frame the header names). */
static int ra_take_buffered(struct tv_treader *r, struct ra_iter *it, size_t skip)
{
	const struct tv_rec_hdr *h = &it->h;
	size_t pay = h->payload_len, pos = skip;

	if (r->ra_resync) {
		pos = h->first_frame == TV_NO_OFFSET ? pay : h->first_frame;
		if (h->first_frame != TV_NO_OFFSET)
			r->ra_resync = 0;
		r->ra_index_known = 0;
	}
	if (pos < pay && ra_feed(r, &it->s, r->rbuf + TV_REC_HDR + pos, pay - pos, pos, h, 0) != 0)
		return 1;
	return 0;
}

/* Reads one tape file's records into frames until told to stop, the file
 * ends, or an error ends it. */
static void ra_file(struct tv_treader *r)
{
	struct ra_iter it;

	memset(&it, 0, sizeof(it));
	it.pay_size = r->rs ? r->rs - TV_REC_HDR : 0;
	while (ra_wait(r)) {
		size_t got = 0, skip = r->ra_skip;
		int rc;

		if (ra_plan(r, &it) != 0)
			break;
		rc = tv_tape_readv(r->t, it.iov, it.n, &got);
		if (rc == TV_ERR_FILEMARK || rc == TV_ERR_EOD) {
			ra_end_of_file(r, &it, rc);
			return;
		}
		if (rc != 0 || (rc = ra_check(r, it.iov, it.n, got, &it.h, it.msg,
		                              sizeof(it.msg))) != 0 || it.h.seq == 0) {
			if (ra_bad_record(r, &it, rc, got))
				return;
			continue;
		}
		ra_count_record(r);
		r->ra_skip = 0;
		if (it.direct ? ra_take_direct(r, &it) : ra_take_buffered(r, &it, skip)) {
			ra_drop_spare(r, &it);
			return;
		}
		r->ra_seq++;
		if (it.h.flags & TV_RF_END) {
			ra_msg(r, it.msg, sizeof(it.msg), r->ra_seq - 1, "END record before the "
			       "last frame");
			ra_drop_spare(r, &it);
			ra_event(r, it.s, K_ERROR, TV_ERR_FORMAT, it.msg, 0);
			ra_event(r, NULL, K_END, 0, NULL, 0);
			return;
		}
	}
	ra_drop_spare(r, &it);
	if (it.s != NULL) {
		/* stopped in the middle of a frame: drop it */
		pthread_mutex_lock(&r->mu);
		it.s->state = S_FREE;
		r->count--;
		pthread_mutex_unlock(&r->mu);
	}
}

static void *ra_main(void *arg)
{
	struct tv_treader *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->quit && !(r->ra_run && !r->ra_done))
			pthread_cond_wait(&r->cv_ra, &r->mu);
		if (r->quit)
			break;
		r->ra_busy = 1;
		pthread_mutex_unlock(&r->mu);
		ra_file(r);
		pthread_mutex_lock(&r->mu);
		r->ra_busy = 0;
		r->ra_done = 1;
		wake_main(r);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
	struct tv_treader *r = arg;
	struct tv_fcodec codec;
	int init = tv_fcodec_init(&codec);

	tv_worker_yield();

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct rslot *s = NULL;
		int rc;

		for (;;) {
			for (unsigned i = 0; i < r->count && s == NULL; i++)
				if (slot_at(r, i)->state == S_READY)
					s = slot_at(r, i);
			if (s != NULL || r->quit)
				break;
			pthread_cond_wait(&r->cv_work, &r->mu);
		}
		if (s == NULL)
			break;
		s->state = S_BUSY;
		pthread_mutex_unlock(&r->mu);

		rc = init;
		if (rc == 0) {
			rc = tv_frame_open(&codec, s->sealed ? s->key : NULL, r->tape_uuid,
			                   &s->fh, s->hdr, s->stored, s->out, &s->raw);
		}
		if (s->sealed)
			tv_wipe(s->key, sizeof(s->key));
		if (rc != 0) {
			s->err = rc;
			snprintf(s->errmsg, sizeof(s->errmsg), "tape %s file %" PRIu32
			         " record %" PRIu64 ": %s", r->name, r->file_no, s->record,
			         tv_errmsg(rc));
		}

		pthread_mutex_lock(&r->mu);
		s->state = S_DONE;
		wake_main(r);
	}
	pthread_mutex_unlock(&r->mu);
	if (init == 0)
		tv_fcodec_free(&codec);
	return NULL;
}

/* ---- caller's side ---- */

static void release_cur(struct tv_treader *r)
{
	if (r->cur == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	if (r->cur->raw != NULL && r->cur->raw == r->cur->out && r->keyed)
		tv_wipe(r->cur->out, r->cur->fh.raw_len);
	r->cur->state = S_FREE;
	r->head = (r->head + 1) % r->nslots;
	r->count--;
	wake_ra(r);
	pthread_mutex_unlock(&r->mu);
	r->cur = NULL;
}

/* Stops the read-ahead between two reads and frees every slot. */
static void stop(struct tv_treader *r)
{
	release_cur(r);
	pthread_mutex_lock(&r->mu);
	r->ra_run = 0;
	r->stop_waiting = 1;
	pthread_cond_broadcast(&r->cv_ra);
	while (r->ra_busy)
		pthread_cond_wait(&r->cv_main, &r->mu);
	for (;;) {
		int busy = 0;
		for (unsigned i = 0; i < r->count; i++)
			if (slot_at(r, i)->state == S_BUSY)
				busy = 1;
		if (!busy)
			break;
		pthread_cond_wait(&r->cv_main, &r->mu);
	}
	for (unsigned i = 0; i < r->nslots; i++) {
		struct rslot *s = &r->slots[i];
		tv_wipe(s->key, sizeof(s->key));
		s->state = S_FREE;
	}
	r->stop_waiting = 0;
	r->head = r->count = 0;
	r->ra_done = 0;
	pthread_mutex_unlock(&r->mu);
}

static void start(struct tv_treader *r, uint64_t seq, size_t skip, uint64_t need)
{
	pthread_mutex_lock(&r->mu);
	r->ra_seq = seq;
	r->ra_skip = skip;
	r->ra_resync = 0;
	/* read from its start, a file begins with frame 0: frames cut off the
	 * front are missing frames, not a shorter file */
	r->ra_index = 0;
	r->ra_index_known = seq == 1 && skip == 0;
	r->next_index = 0;
	r->index_known = r->ra_index_known;
	r->ra_need = need;
	r->ra_got = 0;
	r->ra_done = 0;
	r->ra_run = 1;
	pthread_cond_broadcast(&r->cv_ra);
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
                    const uint8_t tape_uuid[TV_UUID_LEN],
                    const struct tv_treader_opts *o)
{
	struct tv_treader *r;
	int rc;

	*out = NULL;
	if (t == NULL)
		return tv_errf(TV_ERR_INVAL, "tape reader: no tape");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TV_ERR_NOMEM;
	r->t = t;
	snprintf(r->name, sizeof(r->name), "%s", name != NULL ? name : t->name);
	if (tape_uuid != NULL) {
		memcpy(r->tape_uuid, tape_uuid, TV_UUID_LEN);
		r->have_uuid = 1;
	}
	r->maxrec = TV_RECORD_SIZE_MAX;
	r->nworkers = o != NULL && o->workers ? o->workers : tv_default_workers();
	r->nslots = 4 * r->nworkers + 16;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv_ra, NULL);
	pthread_cond_init(&r->cv_work, NULL);
	pthread_cond_init(&r->cv_main, NULL);
	if ((rc = tv_fcodec_init(&r->codec)) != 0)
		goto fail;
	rc = TV_ERR_NOMEM;
	if ((r->hbuf = malloc(r->maxrec)) == NULL || (r->rbuf = malloc(r->maxrec)) == NULL ||
	    (r->slots = calloc(r->nslots, sizeof(*r->slots))) == NULL ||
	    (r->workers = calloc(r->nworkers, sizeof(*r->workers))) == NULL)
		goto fail;
	if (pthread_create(&r->ra, NULL, ra_main, r) != 0) {
		rc = tv_errf(TV_ERR_NOMEM, "tape reader: cannot start the read-ahead thread");
		goto fail;
	}
	r->ra_started = 1;
	for (; r->workers_started < r->nworkers; r->workers_started++)
		if (pthread_create(&r->workers[r->workers_started], NULL, worker_main, r) != 0) {
			rc = tv_errf(TV_ERR_NOMEM, "tape reader: cannot start a worker thread");
			goto fail;
		}
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

void tv_treader_set_record_size(struct tv_treader *r, size_t record_size)
{
	if (record_size >= TV_RECORD_SIZE_MIN && record_size <= TV_RECORD_SIZE_MAX)
		r->rs = record_size;
}

int tv_treader_end_file(struct tv_treader *r)
{
	int rc;

	if (r->state == RS_IDLE)
		return 0;
	stop(r);
	r->state = RS_IDLE;
	r->err = 0;
	r->keyed = 0;
	tv_wipe(r->key, sizeof(r->key));
	if (r->fm_seen || r->eod_seen)
		return 0;
	rc = tv_tape_space_files(r->t, 1);
	if (rc == TV_ERR_EOD)
		return 0;   /* the file was cut off at end of data */
	if (rc != 0)
		return tv_errctx(rc, "tape %s file %" PRIu32 ": skipping to the next "
		                 "tape file", r->name, r->file_no);
	return 0;
}

static void reset_file(struct tv_treader *r)
{
	r->cont = r->truncated = 0;
	r->fm_seen = r->eod_seen = 0;
	pthread_mutex_lock(&r->mu);
	r->records = 0;
	pthread_mutex_unlock(&r->mu);
	r->keyed = r->expect_sealed = 0;
	r->index_known = 0;
	r->ra_index_known = 0;
	r->err = 0;
	tv_wipe(r->key, sizeof(r->key));
}

int tv_treader_begin_file(struct tv_treader *r, struct tv_content_header *ch,
                          uint64_t *file_no, int *sealed)
{
	struct tv_tape_status ts;
	struct tv_rec_hdr h;
	size_t got = 0, hl;
	uint64_t fn;
	int known, rc;

	memset(ch, 0, sizeof(*ch));
	*sealed = 0;
	if (r->state != RS_IDLE && (rc = tv_treader_end_file(r)) != 0)
		return rc;
	reset_file(r);
	memset(&r->ch, 0, sizeof(r->ch));
	known = tv_tape_status(r->t, &ts) == 0 && ts.file_no != TV_TAPE_POS_UNKNOWN;
	fn = known ? ts.file_no : 0;
	*file_no = fn;
	rc = tv_tape_read(r->t, r->hbuf, r->maxrec, &got);
	if (rc == TV_ERR_EOD)
		return tv_errf(TV_ERR_EOD, "tape %s: end of recorded data at file %"
		               PRIu64, r->name, fn);
	if (rc == TV_ERR_FILEMARK)
		return tv_errf(TV_ERR_FILEMARK, "tape %s file %" PRIu64 ": empty tape "
		               "file", r->name, fn);
	r->state = RS_FAILED;   /* until the header checks out */
	r->file_no = (uint32_t)(fn > UINT32_MAX ? UINT32_MAX : fn);
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
	if (got >= TV_REC_HDR && memcmp(r->hbuf, TV_REC_MAGIC, 4) == 0 &&
	    tv_rec_crc(r->hbuf, got - TV_REC_HDR) != tv_get_be32(r->hbuf + 28))
		return fail(r, tv_errf(TV_ERR_CRC, "tape %s file %" PRIu32 " record 0: "
		                       "checksum mismatch: the record is damaged",
		                       r->name, r->file_no));
	if ((rc = tv_rec_hdr_decode(r->hbuf, got, &h)) != 0)
		return fail(r, tv_errctx(rc, "tape %s file %" PRIu32 " record 0", r->name,
		                         r->file_no));
	if (h.file_no != r->file_no || h.seq != 0)
		return fail(r, tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record 0: "
		                       "record of file %" PRIu32 " sequence %" PRIu64
		                       " where a content header belongs", r->name,
		                       r->file_no, h.file_no, h.seq));
	hl = h.payload_len;
	if (h.flags & TV_RF_SEALED) {
		if (hl < TV_TAG_LEN)
			return fail(r, tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record "
			                       "0: sealed header without its tag", r->name,
			                       r->file_no));
		hl -= TV_TAG_LEN;
	}
	if ((rc = tv_hdr_decode(r->hbuf + TV_REC_HDR, hl, &r->ch)) != 0)
		return fail(r, tv_errctx(rc, "tape %s file %" PRIu32 " record 0", r->name,
		                         r->file_no));
	r->hlen = hl;
	r->hdr_sealed = (h.flags & TV_RF_SEALED) != 0;
	memcpy(r->cuuid, r->ch.uuid, TV_UUID_LEN);
	if (h.flags & TV_RF_END) {
		r->fm_seen = 0;   /* a label file: no data stream */
	}
	r->state = RS_HDR;
	r->cont = (h.flags & TV_RF_CONT) != 0;
	*ch = r->ch;
	*sealed = r->hdr_sealed;
	return 0;
}

int tv_treader_set_key(struct tv_treader *r, const uint8_t *dek,
                       const void *extra, size_t extra_len)
{
	int rc;

	if (r->state != RS_HDR)
		return tv_errf(TV_ERR_STATE, "tape %s: the key must be set after "
		               "begin_file and before reading", r->name);
	if (dek == NULL) {
		if (r->hdr_sealed && !r->crc_only)
			return tv_errf(TV_ERR_LOCKED, "tape %s file %" PRIu32 " record 0: "
			               "encrypted tape file, and its key is not at hand",
			               r->name, r->file_no);
		r->keyed = 0;
		r->expect_sealed = 0;
		return 0;
	}
	if (!r->have_uuid)
		return tv_errf(TV_ERR_STATE, "tape %s: tape UUID unknown (read the "
		               "volume label first)", r->name);
	if (!r->hdr_sealed)
		return fail(r, tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record 0: "
		                       "plaintext tape file on an encrypted tape (not "
		                       "written by the tape's owner): refused", r->name,
		                       r->file_no));
	if ((rc = tv_file_key(&r->codec, r->key, dek, r->cuuid)) != 0)
		return rc;
	rc = tv_hdr_tag(&r->codec, r->key, r->tape_uuid, r->hbuf, r->hbuf + TV_REC_HDR,
	                r->hlen, extra, extra_len, r->hbuf + TV_REC_HDR + r->hlen, 1);
	if (rc != 0) {
		tv_wipe(r->key, sizeof(r->key));
		return fail(r, tv_errctx(rc, "tape %s file %" PRIu32 " record 0", r->name,
		                         r->file_no));
	}
	r->keyed = 1;
	r->expect_sealed = 1;
	return 0;
}

void tv_treader_set_crc_only(struct tv_treader *r, int on)
{
	r->crc_only = on != 0;
}

int tv_treader_seek(struct tv_treader *r, uint64_t file_no, uint64_t frame_off,
                    const uint8_t content_uuid[TV_UUID_LEN], const uint8_t *dek,
                    uint64_t raw_need)
{
	uint64_t seq, pay;
	int rc;

	if (r->state != RS_IDLE)
		stop(r);
	r->state = RS_IDLE;
	reset_file(r);
	if (r->rs == 0 || !r->have_uuid)
		return tv_errf(TV_ERR_STATE, "tape %s: record size or tape UUID unknown",
		               r->name);
	if (file_no > UINT32_MAX)
		return tv_errf(TV_ERR_RANGE, "tape %s: file %" PRIu64, r->name, file_no);
	pay = r->rs - TV_REC_HDR;
	seq = 1 + frame_off / pay;
	r->file_no = (uint32_t)file_no;
	memcpy(r->cuuid, content_uuid, TV_UUID_LEN);
	if (dek != NULL) {
		if ((rc = tv_file_key(&r->codec, r->key, dek, content_uuid)) != 0)
			return rc;
		r->keyed = 1;
		r->expect_sealed = 1;
	}
	if ((rc = tv_tape_goto_file(r->t, file_no)) != 0)
		return tv_errctx(rc, "tape %s: positioning at file %" PRIu64, r->name,
		                 file_no);
	if ((rc = tv_tape_space_records(r->t, (long)seq)) != 0)
		return tv_errctx(rc, "tape %s file %" PRIu64 ": positioning at record %"
		                 PRIu64, r->name, file_no, seq);
	r->state = RS_READING;
	start(r, seq, (size_t)(frame_off % pay), raw_need ? raw_need : 1);
	return 0;
}

void tv_treader_want(struct tv_treader *r, uint64_t raw_need)
{
	pthread_mutex_lock(&r->mu);
	if (raw_need > r->ra_need) {
		r->ra_need = raw_need;
		pthread_cond_broadcast(&r->cv_ra);
	}
	pthread_mutex_unlock(&r->mu);
}

int tv_treader_next(struct tv_treader *r, const uint8_t **p, size_t *n,
                    struct tv_frame_info *fi)
{
	struct rslot *s;

	*p = NULL;
	*n = 0;
	if (fi != NULL)
		memset(fi, 0, sizeof(*fi));
	if (r->state == RS_FAILED)
		return tv_errf(r->err, "%s", r->errmsg);
	if (r->state == RS_IDLE)
		return tv_errf(TV_ERR_STATE, "tape %s: read outside a tape file", r->name);
	if (r->state == RS_ENDED)
		return 0;
	if (r->state == RS_HDR) {
		if (r->hdr_sealed && !r->keyed && !r->crc_only)
			return fail(r, tv_errf(TV_ERR_LOCKED, "tape %s file %" PRIu32 ": "
			                       "encrypted, and the tape's key is not at hand",
			                       r->name, r->file_no));
		r->state = RS_READING;
		start(r, 1, 0, UINT64_MAX);
	}
	release_cur(r);
	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (r->count > 0 && slot_at(r, 0)->state == S_DONE)
			break;
		if (r->count == 0 && r->ra_done)
			break;
		if (r->ra_waiting && (r->count == 0 || slot_at(r, 0)->state == S_FILLING)) {
			/* the caller wants more than the seek asked for: one more
			 * frame (tv_treader_want asks for more at once) */
			r->ra_need = r->ra_got + 1;
			pthread_cond_broadcast(&r->cv_ra);
		}
		r->main_waiting = 1;
		pthread_cond_wait(&r->cv_main, &r->mu);
	}
	r->main_waiting = 0;
	s = r->count > 0 ? slot_at(r, 0) : NULL;
	pthread_mutex_unlock(&r->mu);
	if (s == NULL) {
		/* the read-ahead stopped without an end event */
		r->state = RS_ENDED;
		r->truncated = 1;
		return 0;
	}
	r->cur = s;
	if (s->kind == K_NONE) {
		release_cur(r);
		return tv_treader_next(r, p, n, fi);
	}
	if (s->kind == K_END) {
		r->state = RS_ENDED;
		r->truncated = s->truncated;
		release_cur(r);
		return 0;
	}
	if (s->err != 0 || s->kind == K_ERROR) {
		int e = s->err ? s->err : TV_ERR_FORMAT;
		char msg[sizeof(s->errmsg)];
		memcpy(msg, s->errmsg, sizeof(msg));
		release_cur(r);
		r->index_known = 0;
		return tv_errf(e, "%s", msg);
	}
	if (r->index_known && s->fh.index != r->next_index) {
		uint64_t want = r->next_index, got = s->fh.index, rec = s->record;
		release_cur(r);
		r->index_known = 0;
		return tv_errf(TV_ERR_FORMAT, "tape %s file %" PRIu32 " record %" PRIu64
		               ": frame %" PRIu64 " follows frame %" PRIu64 " (frames "
		               "missing)", r->name, r->file_no, rec, got, want - 1);
	}
	r->next_index = s->fh.index + 1;
	r->index_known = 1;
	if (fi != NULL) {
		fi->index = s->fh.index;
		fi->stream_off = s->stream_off;
		fi->first_entry = s->fh.first_entry;
		fi->record = s->record;
		fi->raw_len = s->fh.raw_len;
		fi->last = (s->fh.flags & TV_FF_LAST) != 0;
		fi->cont = (s->fh.flags & TV_FF_CONT) != 0;
		fi->method = s->fh.method;
		fi->sealed = (s->fh.flags & TV_FF_SEALED) != 0;
	}
	if (s->fh.flags & TV_FF_LAST)
		r->cont = (s->fh.flags & TV_FF_CONT) != 0;
	if (!r->crc_only) {
		*p = s->raw;
		*n = s->fh.raw_len;
	}
	return 1;
}

int tv_treader_cont(struct tv_treader *r) { return r->cont; }
int tv_treader_truncated(struct tv_treader *r) { return r->truncated; }
uint64_t tv_treader_records(struct tv_treader *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->mu);
	n = r->records;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void tv_treader_close(struct tv_treader *r)
{
	if (r == NULL)
		return;
	if (r->ra_started)
		stop(r);
	pthread_mutex_lock(&r->mu);
	r->quit = 1;
	pthread_cond_broadcast(&r->cv_ra);
	pthread_cond_broadcast(&r->cv_work);
	pthread_mutex_unlock(&r->mu);
	if (r->ra_started)
		pthread_join(r->ra, NULL);
	for (unsigned i = 0; i < r->workers_started; i++)
		pthread_join(r->workers[i], NULL);
	if (r->slots != NULL) {
		for (unsigned i = 0; i < r->nslots; i++) {
			struct rslot *s = &r->slots[i];
			if (s->frm != NULL)
				tv_wipe(s->frm, s->frm_cap);
			if (s->out != NULL)
				tv_wipe(s->out, s->out_cap);
			tv_wipe(s->key, sizeof(s->key));
			free(s->frm);
			free(s->out);
		}
		free(r->slots);
	}
	free(r->workers);
	/* records may have held plaintext keys (key ring items) */
	if (r->hbuf != NULL)
		tv_wipe(r->hbuf, r->maxrec);
	if (r->rbuf != NULL)
		tv_wipe(r->rbuf, r->maxrec);
	free(r->hbuf);
	free(r->rbuf);
	tv_fcodec_free(&r->codec);
	tv_wipe(r->key, sizeof(r->key));
	pthread_cond_destroy(&r->cv_ra);
	pthread_cond_destroy(&r->cv_work);
	pthread_cond_destroy(&r->cv_main);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
