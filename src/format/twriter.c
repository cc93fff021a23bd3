/* tapevault: tape writer stream (format v2).
 *
 * Three kinds of threads share a ring of slots:
 *
 *   caller   fills the frame at the ring's tail with the byte stream (or
 *            queues a content header record, or the end of a tape file);
 *   workers  compress and seal READY frames, any order, several at once;
 *   I/O      takes slots in ring order once DONE: packs frames into
 *            records of exactly R bytes, writes them, reports where each
 *            frame landed (the `placed` callback), writes filemarks.
 *
 *   slot states: FREE -> FILLING (caller) -> READY -> BUSY (worker) -> DONE
 *                -> FREE (I/O); header and end slots go FILLING -> DONE.
 *
 * Memory is bounded by the ring.  The first error (sealing, writing, the
 * callback) is sticky: later slots are dropped, never written out of order,
 * and every later call returns it. */
#include "format/record_int.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/wipe.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

enum { S_FREE, S_FILLING, S_READY, S_BUSY, S_DONE };
enum { K_FRAME = 1, K_HEADER, K_END };

struct side {
	uint8_t *p;
	size_t len, cap;
};

struct wslot {
	int state, kind;
	uint32_t file_no;
	/* K_FRAME: raw stream bytes; K_HEADER: the whole record 0 */
	uint8_t *raw;
	size_t fill;
	uint8_t *out;                 /* sealed bytes */
	size_t out_cap;
	const uint8_t *stored;
	struct tv_frame_hdr fh;
	uint8_t hdr[TV_FRAME_HDR];
	int sealed;                   /* key holds the file key */
	uint8_t key[TV_DEK_LEN];
	struct side side;
	int end_cont;                 /* K_END: CONT; K_HEADER: 1 = label file */
	int err;
	char errmsg[512];
};

struct tv_twriter {
	struct tv_tape *t;
	char name[512];
	uint8_t tape_uuid[TV_UUID_LEN];
	size_t rs;                    /* record size R */
	size_t fsize;                 /* raw bytes per frame */
	struct tv_compression comp;
	int (*placed)(void *, uint32_t, uint64_t, uint64_t, const uint8_t *, size_t);
	void *placed_ctx;

	unsigned nslots;
	struct wslot *slots;
	unsigned nworkers;
	pthread_t *workers;
	unsigned workers_started;
	pthread_t io;
	int io_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;       /* a slot became READY, or quit */
	pthread_cond_t cv_io;         /* the head slot may be DONE, or quit */
	pthread_cond_t cv_free;       /* a slot became FREE */
	unsigned head;                /* oldest slot not FREE */
	unsigned pending;             /* slots submitted, not yet FREE */
	unsigned max_pending;         /* at most this many not yet packed (a
	                               * small tape: what is in flight when early
	                               * warning comes must fit in its margin) */
	unsigned held;                /* of those, packed by the I/O thread (their
	                               * bytes may still be in its record) */
	/* who sleeps, so that wake-ups come in batches: waking a thread on
	 * another core costs an interrupt (and in a VM an exit) per frame */
	int prod_waiting, io_waiting, sync_waiting;
	int quit;
	atomic_int err;
	atomic_int dev_err;           /* err came from the tape device */
	char errmsg[1024];
	atomic_int ew;
	atomic_int incompressible;    /* frames in a row that did not compress */

	/* caller's side */
	unsigned tail;
	int have_cur;
	int in_file;
	uint32_t file_no;
	uint64_t frame_index;
	uint8_t key[TV_DEK_LEN];
	int keyed;
	uint8_t cuuid[TV_UUID_LEN];
	struct tv_fcodec codec;       /* header tags, file keys */
	uint64_t file_raw, file_frames;
	atomic_uint_fast64_t file_raw_placed, file_stored_placed;
	uint64_t tot_raw, tot_frames;

	/* I/O side: the record being built is a header (rec) and pieces of the
	 * packed slots' buffers (no copy), or its payload copied into rec */
	uint8_t *rec;
	size_t rec_fill;              /* payload bytes in the record */
	struct iovec piece[TV_TAPE_IOV_MAX];
	int npieces;                  /* piece[0] is the header */
	uint32_t rec_first;
	uint64_t rec_seq;
	uint64_t stream_off;
	uint32_t io_file_no;
	uint64_t io_records, io_frames_z;
	atomic_uint_fast64_t tot_stored, tot_frames_z;
	struct tv_file_result last_res;
};

/* Records the first error (any thread) and wakes everybody. */
static int first_err(struct tv_twriter *w, int code, const char *msg, int dev)
{
	pthread_mutex_lock(&w->mu);
	if (atomic_load(&w->err) == 0) {
		snprintf(w->errmsg, sizeof(w->errmsg), "%s", msg);
		atomic_store(&w->dev_err, dev);
		atomic_store(&w->err, code);
	}
	pthread_cond_broadcast(&w->cv_free);
	pthread_cond_broadcast(&w->cv_io);
	pthread_mutex_unlock(&w->mu);
	return code;
}

static int set_err(struct tv_twriter *w, int code, const char *msg)
{
	return first_err(w, code, msg, 0);
}

/* The first error is the tape device's (a write or filemark refused):
 * the caller may go on with another tape (tv_twriter_device_failed). */
static int dev_fail(struct tv_twriter *w, int code, const char *msg)
{
	return first_err(w, code, msg, 1);
}

/* The sticky error, with its detail, in the calling thread. */
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

static int side_put(struct side *s, const void *p, size_t n)
{
	if (n > s->cap - s->len) {
		size_t ncap = s->cap ? s->cap : 4096;
		uint8_t *np;
		while (ncap - s->len < n) {
			if (ncap > ((size_t)256 << 20))
				return tv_errf(TV_ERR_RANGE, "tape writer: side data over 256 MiB");
			ncap *= 2;
		}
		if ((np = realloc(s->p, ncap)) == NULL)
			return TV_ERR_NOMEM;
		s->p = np;
		s->cap = ncap;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	return 0;
}

/* ---- wake-ups (under mu) ---- */

/* The caller waits for a free slot: wake it once half the ring is free,
 * or when the I/O thread runs dry; sync waits until all is packed. */
static void wake_free(struct tv_twriter *w)
{
	if ((w->prod_waiting && (w->nslots - w->pending >= w->nslots / 2 ||
	                         w->pending - w->held < w->max_pending ||
	                         w->pending == w->held)) ||
	    (w->sync_waiting && w->pending == w->held) || atomic_load(&w->err) != 0)
		pthread_cond_broadcast(&w->cv_free);
}

/* The I/O thread waits for the next slot to pack: wake it when two are
 * done (or all that remain), or at once when someone waits on it. */
static void wake_io(struct tv_twriter *w)
{
	unsigned todo = w->pending - w->held, done = 0;

	if (!w->io_waiting)
		return;
	while (done < todo && done < 2 &&
	       w->slots[(w->head + w->held + done) % w->nslots].state == S_DONE)
		done++;
	if (done > 0 && (done >= 2 || done == todo || w->prod_waiting || w->sync_waiting))
		pthread_cond_signal(&w->cv_io);
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
	struct tv_twriter *w = arg;
	struct tv_fcodec codec;
	int init = tv_fcodec_init(&codec);

	tv_worker_yield();

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct wslot *s = NULL;
		int r;

		for (;;) {
			for (unsigned i = 0; i < w->pending && s == NULL; i++) {
				struct wslot *c = &w->slots[(w->head + i) % w->nslots];
				if (c->state == S_READY)
					s = c;
			}
			if (s != NULL || w->quit)
				break;
			pthread_cond_wait(&w->cv_work, &w->mu);
		}
		if (s == NULL)
			break;
		s->state = S_BUSY;
		pthread_mutex_unlock(&w->mu);

		r = init;
		if (r == 0 && atomic_load(&w->err) == 0) {
			/* data that does not compress (already compressed, encrypted,
			 * random) is stored as it is without trying every frame: after
			 * a run of misses only every 16th frame is tried */
			int skip = w->comp.method == TV_COMP_STORED ||
			           (atomic_load(&w->incompressible) >= 4 && s->fh.index % 16 != 0);
			r = tv_frame_seal(&codec, skip ? NULL : &w->comp, s->sealed ? s->key : NULL,
			                  w->tape_uuid, &s->fh, s->raw, s->fill, s->hdr,
			                  s->out, s->out_cap, &s->stored);
			if (r == 0 && !skip && s->fill >= 4096) {
				if (s->fh.method == TV_COMP_ZSTD)
					atomic_store(&w->incompressible, 0);
				else
					atomic_fetch_add(&w->incompressible, 1);
			}
		}
		if (s->sealed)
			tv_wipe(s->key, sizeof(s->key));
		if (r != 0) {
			s->err = r;
			snprintf(s->errmsg, sizeof(s->errmsg), "%s", tv_errmsg(r));
		}

		pthread_mutex_lock(&w->mu);
		s->state = S_DONE;
		wake_io(w);
	}
	pthread_mutex_unlock(&w->mu);
	if (init == 0)
		tv_fcodec_free(&codec);
	return NULL;
}

/* ---- I/O thread ---- */

/* Frees the packed slots (their bytes are all written, or copied). */
static void io_release(struct tv_twriter *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->held > 0) {
		struct wslot *s = &w->slots[w->head];
		if (s->kind == K_HEADER)
			tv_wipe(s->raw, s->fill);
		s->state = S_FREE;
		s->side.len = 0;
		s->err = 0;
		w->head = (w->head + 1) % w->nslots;
		w->pending--;
		w->held--;
	}
	wake_free(w);
	pthread_mutex_unlock(&w->mu);
}

static int io_result(struct tv_twriter *w, int r, uint64_t seq)
{
	char msg[1024];

	if (r == TV_ERR_EW) {
		atomic_store(&w->ew, 1);
		return 0;
	}
	if (r == 0)
		return 0;
	snprintf(msg, sizeof(msg), "tape %s file %" PRIu32 " record %" PRIu64
	         " not written: %s", w->name, w->io_file_no, seq, tv_errmsg(r));
	return dev_fail(w, r, msg);
}

/* Writes the record being built with flags, then frees what it held. */
static int io_flush(struct tv_twriter *w, uint8_t flags)
{
	struct tv_rec_hdr h = {
		.flags = flags, .payload_len = (uint32_t)w->rec_fill,
		.file_no = w->io_file_no, .seq = w->rec_seq, .first_frame = w->rec_first,
	};
	uint32_t crc;
	int r;

	tv_rec_hdr_encode(w->rec, &h);
	crc = tv_crc32c(0, w->rec, 28);
	for (int i = 1; i < w->npieces; i++)
		crc = tv_crc32c(crc, w->piece[i].iov_base, w->piece[i].iov_len);
	tv_put_be32(w->rec + 28, crc);
	r = io_result(w, tv_tape_writev(w->t, w->piece, w->npieces), w->rec_seq);
	w->rec_seq++;
	w->io_records++;
	w->rec_fill = 0;
	w->npieces = 1;
	w->rec_first = TV_NO_OFFSET;
	io_release(w);
	return r;
}

/* Too many pieces, or too many slots held for one record (small frames):
 * copy the payload so far into rec and let the slots go. */
static void io_gather(struct tv_twriter *w)
{
	size_t off = 0;

	for (int i = 1; i < w->npieces; i++) {
		if (w->piece[i].iov_base != w->rec + TV_REC_HDR + off)
			memmove(w->rec + TV_REC_HDR + off, w->piece[i].iov_base,
			        w->piece[i].iov_len);
		off += w->piece[i].iov_len;
	}
	w->npieces = 1;
	if (off > 0) {
		w->piece[1].iov_base = w->rec + TV_REC_HDR;
		w->piece[1].iov_len = off;
		w->npieces = 2;
	}
	io_release(w);
}

/* Appends n bytes of the data stream (in a packed slot's buffer).
 * frame_start: they begin a frame; end_flags: they end the tape file's last
 * frame (END, and CONT when it continues): the record that takes the last
 * byte is written with them. */
static int io_put(struct tv_twriter *w, const uint8_t *p, size_t n, int frame_start,
                  uint8_t end_flags)
{
	size_t cap = w->rs - TV_REC_HDR;
	int r;

	while (n > 0) {
		size_t k;
		if (frame_start && w->rec_first == TV_NO_OFFSET)
			w->rec_first = (uint32_t)w->rec_fill;
		frame_start = 0;
		if (w->npieces >= TV_TAPE_IOV_MAX || w->held + 3 >= w->max_pending)
			io_gather(w);
		k = cap - w->rec_fill;
		if (k > n)
			k = n;
		w->piece[w->npieces].iov_base = (void *)(uintptr_t)p;
		w->piece[w->npieces].iov_len = k;
		w->npieces++;
		w->rec_fill += k;
		w->stream_off += k;
		p += k;
		n -= k;
		if (w->rec_fill == cap && (r = io_flush(w, n == 0 ? end_flags : 0)) != 0)
			return r;
	}
	return 0;
}

static int io_filemark(struct tv_twriter *w, uint32_t file_no)
{
	char msg[1024];
	int r;

	r = tv_tape_write_filemarks(w->t, 1);
	if (r == TV_ERR_EW) {
		atomic_store(&w->ew, 1);
		r = 0;
	}
	if (r != 0) {
		snprintf(msg, sizeof(msg), "tape %s: filemark after file %" PRIu32
		         " not written: %s", w->name, file_no, tv_errmsg(r));
		return dev_fail(w, r, msg);
	}
	return 0;
}

/* Packs slot s (just counted as held). */
static int io_slot(struct tv_twriter *w, struct wslot *s)
{
	char msg[1024];
	uint8_t end;
	int r;

	switch (s->kind) {
	case K_HEADER:
		w->io_file_no = s->file_no;
		r = io_result(w, tv_tape_write(w->t, s->raw, s->fill), 0);
		w->rec_seq = 1;
		w->rec_fill = 0;
		w->npieces = 1;
		w->rec_first = TV_NO_OFFSET;
		w->stream_off = 0;
		w->io_records = 0;
		memset(&w->last_res, 0, sizeof(w->last_res));
		io_release(w);
		if (r == 0 && s->end_cont)   /* a label file: one record, then a filemark */
			r = io_filemark(w, s->file_no);
		return r;
	case K_FRAME:
		if (s->err != 0) {
			snprintf(msg, sizeof(msg), "tape %.200s file %" PRIu32 " frame %"
			         PRIu64 ": %.500s", w->name, s->file_no, s->fh.index, s->errmsg);
			return set_err(w, s->err, msg);
		}
		if (w->placed != NULL) {
			r = w->placed(w->placed_ctx, s->file_no, s->fh.index, w->stream_off,
			              s->side.p, s->side.len);
			if (r != 0) {
				snprintf(msg, sizeof(msg), "%s", tv_errmsg(r));
				return set_err(w, r, msg);
			}
		}
		end = (s->fh.flags & TV_FF_LAST) ?
		      (uint8_t)(TV_RF_END | ((s->fh.flags & TV_FF_CONT) ? TV_RF_CONT : 0)) : 0;
		if ((r = io_put(w, s->hdr, TV_FRAME_HDR, 1,
		                s->fh.stored_len == 0 ? end : 0)) != 0 ||
		    (r = io_put(w, s->stored, s->fh.stored_len, 0, end)) != 0)
			return r;
		atomic_fetch_add(&w->file_raw_placed, s->fh.raw_len);
		atomic_fetch_add(&w->file_stored_placed, TV_FRAME_HDR + s->fh.stored_len);
		atomic_fetch_add(&w->tot_stored, TV_FRAME_HDR + s->fh.stored_len);
		if (s->fh.method == TV_COMP_ZSTD)
			atomic_fetch_add(&w->tot_frames_z, 1);
		w->last_res.frames++;
		w->last_res.raw_bytes += s->fh.raw_len;
		w->last_res.stored_bytes += TV_FRAME_HDR + s->fh.stored_len;
		return 0;
	case K_END:
		/* the last record, unless the last frame filled it exactly */
		if (w->rec_fill > 0 &&
		    (r = io_flush(w, TV_RF_END | (s->end_cont ? TV_RF_CONT : 0))) != 0)
			return r;
		io_release(w);
		w->last_res.records = w->io_records;
		return io_filemark(w, s->file_no);
	}
	return set_err(w, TV_ERR_INTERNAL, "tape writer: bad slot");
}

static void *io_main(void *arg)
{
	struct tv_twriter *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct wslot *s;

		while (!w->quit && !(w->pending > w->held &&
		                     w->slots[(w->head + w->held) % w->nslots].state == S_DONE)) {
			w->io_waiting = 1;
			wake_free(w);   /* running dry: let the caller fill what is free */
			pthread_cond_wait(&w->cv_io, &w->mu);
		}
		w->io_waiting = 0;
		if (!(w->pending > w->held &&
		      w->slots[(w->head + w->held) % w->nslots].state == S_DONE))
			break;   /* quit with nothing left */
		/* the slot being packed is not counted as held until it is packed:
		 * records written meanwhile free the held ones, never it */
		s = &w->slots[(w->head + w->held) % w->nslots];
		pthread_mutex_unlock(&w->mu);

		if (atomic_load(&w->err) == 0)
			io_slot(w, s);

		pthread_mutex_lock(&w->mu);
		w->held++;
		pthread_mutex_unlock(&w->mu);
		if (atomic_load(&w->err) != 0) {
			/* nothing more is written: drop the record being built */
			w->npieces = 1;
			w->rec_fill = 0;
			io_release(w);
		}
		pthread_mutex_lock(&w->mu);
		wake_free(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- caller's side ---- */

/* Makes slots[tail] the caller's (FILLING). */
static int acquire(struct tv_twriter *w)
{
	struct wslot *s = &w->slots[w->tail];
	int r;

	if (w->have_cur)
		return 0;
	pthread_mutex_lock(&w->mu);
	while ((s->state != S_FREE || w->pending - w->held >= w->max_pending) &&
	       atomic_load(&w->err) == 0) {
		w->prod_waiting = 1;
		wake_io(w);
		pthread_cond_wait(&w->cv_free, &w->mu);
	}
	w->prod_waiting = 0;
	pthread_mutex_unlock(&w->mu);
	if ((r = sticky(w)) != 0)
		return r;
	s->state = S_FILLING;
	s->fill = 0;
	s->side.len = 0;
	s->err = 0;
	s->sealed = 0;
	s->end_cont = 0;
	s->file_no = w->file_no;
	memset(&s->fh, 0, sizeof(s->fh));
	s->fh.first_entry = TV_NO_OFFSET;
	w->have_cur = 1;
	return 0;
}

/* Hands slots[tail] on: state READY (frames) or DONE. */
static void submit(struct tv_twriter *w, int state)
{
	struct wslot *s = &w->slots[w->tail];

	w->have_cur = 0;
	w->tail = (w->tail + 1) % w->nslots;
	pthread_mutex_lock(&w->mu);
	s->state = state;
	w->pending++;
	if (state == S_READY)
		pthread_cond_signal(&w->cv_work);
	else
		wake_io(w);
	pthread_mutex_unlock(&w->mu);
}

/* Queues the current frame for sealing. */
static void submit_frame(struct tv_twriter *w, uint8_t flags)
{
	struct wslot *s = &w->slots[w->tail];

	s->kind = K_FRAME;
	s->fh.flags = flags;
	s->fh.index = w->frame_index++;
	memcpy(s->fh.content_uuid, w->cuuid, TV_UUID_LEN);
	if (w->keyed) {
		memcpy(s->key, w->key, sizeof(s->key));
		s->sealed = 1;
	}
	w->file_raw += s->fill;
	w->file_frames++;
	w->tot_raw += s->fill;
	w->tot_frames++;
	submit(w, S_READY);
}

/* A frame with room in it. */
static int cur_frame(struct tv_twriter *w)
{
	int r;

	if (!w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: write outside a tape file", w->name);
	if (w->have_cur && w->slots[w->tail].fill == w->fsize)
		submit_frame(w, 0);
	if ((r = acquire(w)) != 0)
		return r;
	w->slots[w->tail].kind = K_FRAME;
	return 0;
}

int tv_twriter_open(struct tv_twriter **out, struct tv_tape *t, const char *name,
                    const uint8_t tape_uuid[TV_UUID_LEN],
                    const struct tv_twriter_opts *o)
{
	struct tv_twriter *w;
	size_t rs = o != NULL && o->record_size ? o->record_size : TV_RECORD_SIZE_DEFAULT;
	int r;

	*out = NULL;
	if (t == NULL || tape_uuid == NULL)
		return tv_errf(TV_ERR_INVAL, "tape writer: no tape");
	if (rs < TV_RECORD_SIZE_MIN || rs > TV_RECORD_SIZE_MAX)
		return tv_errf(TV_ERR_INVAL, "tape writer: record size %zu outside "
		               "[%u, %u]", rs, TV_RECORD_SIZE_MIN, TV_RECORD_SIZE_MAX);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TV_ERR_NOMEM;
	w->t = t;
	snprintf(w->name, sizeof(w->name), "%s", name != NULL ? name : t->name);
	memcpy(w->tape_uuid, tape_uuid, TV_UUID_LEN);
	w->rs = rs;
	w->fsize = tv_frame_raw_size(rs);
	w->npieces = 1;
	if (o != NULL) {
		w->comp = o->comp;
		w->placed = o->placed;
		w->placed_ctx = o->placed_ctx;
	}
	w->nworkers = o != NULL && o->workers ? o->workers : tv_default_workers();
	/* enough frames to keep every worker and the I/O thread busy; on a
	 * tape of known capacity no more in flight than a sixteenth of it, the
	 * part of the early-warning margin the data may take (tv_vtape_default_ew) */
	w->nslots = 4 * w->nworkers + 16;
	w->max_pending = w->nslots;
	{
		struct tv_tape_status ts;
		if (tv_tape_status(t, &ts) == 0 && ts.capacity > 0 &&
		    ts.capacity / 16 / w->fsize < w->max_pending)
			w->max_pending = ts.capacity / 16 / w->fsize > 1 ?
			                 (unsigned)(ts.capacity / 16 / w->fsize) : 1;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_io, NULL);
	pthread_cond_init(&w->cv_free, NULL);
	if ((r = tv_fcodec_init(&w->codec)) != 0)
		goto fail;
	r = TV_ERR_NOMEM;
	if ((w->rec = malloc(rs)) == NULL || ((w->piece[0].iov_base = w->rec),
	                                      (w->piece[0].iov_len = TV_REC_HDR), 0) ||
	    (w->slots = calloc(w->nslots, sizeof(*w->slots))) == NULL ||
	    (w->workers = calloc(w->nworkers, sizeof(*w->workers))) == NULL)
		goto fail;
	for (unsigned i = 0; i < w->nslots; i++) {
		struct wslot *s = &w->slots[i];
		s->out_cap = tv_frame_stored_bound(w->fsize);
		if ((s->raw = malloc(rs)) == NULL || (s->out = malloc(s->out_cap)) == NULL)
			goto fail;
	}
	if (pthread_create(&w->io, NULL, io_main, w) != 0) {
		r = tv_errf(TV_ERR_NOMEM, "tape writer: cannot start the I/O thread");
		goto fail;
	}
	w->io_started = 1;
	for (; w->workers_started < w->nworkers; w->workers_started++)
		if (pthread_create(&w->workers[w->workers_started], NULL, worker_main, w) != 0) {
			r = tv_errf(TV_ERR_NOMEM, "tape writer: cannot start a worker thread");
			goto fail;
		}
	*out = w;
	return 0;
fail:
	tv_twriter_close(w);
	return r;
}

/* Builds record 0 into the current slot and queues it. */
static int queue_header(struct tv_twriter *w, uint32_t file_no, enum tv_content_type type,
                        const uint8_t content_uuid[TV_UUID_LEN], const void *body,
                        size_t body_len, const uint8_t *dek, const void *extra,
                        size_t extra_len, int label)
{
	struct tv_rec_hdr rh;
	struct wslot *s;
	struct tv_buf hb;
	size_t plen;
	int r;

	if ((r = sticky(w)) != 0)
		return r;
	if (w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: file %" PRIu32 " begun before "
		               "file %" PRIu32 " ended", w->name, file_no, w->file_no);
	if (body_len > w->rs - TV_REC_HDR - TV_HDR_FIXED - TV_TAG_LEN)
		return tv_errf(TV_ERR_RANGE, "tape %s file %" PRIu32 ": content header "
		               "body of %zu bytes does not fit in a %zu-byte record",
		               w->name, file_no, body_len, w->rs);
	w->keyed = 0;
	if (dek != NULL) {
		if ((r = tv_file_key(&w->codec, w->key, dek, content_uuid)) != 0)
			return r;
		w->keyed = 1;
	}
	w->file_no = file_no;
	memcpy(w->cuuid, content_uuid, TV_UUID_LEN);
	if ((r = acquire(w)) != 0)
		return r;
	s = &w->slots[w->tail];
	s->kind = K_HEADER;
	s->end_cont = label;
	tv_buf_init_max(&hb, TV_HDR_FIXED + TV_HDR_BODY_MAX);
	if ((r = tv_hdr_encode(&hb, type, content_uuid, body, body_len)) != 0) {
		tv_buf_free(&hb);
		w->have_cur = 0;
		s->state = S_FREE;
		return tv_errctx(r, "tape %s file %" PRIu32, w->name, file_no);
	}
	plen = tv_buf_avail(&hb) + (dek != NULL ? TV_TAG_LEN : 0);
	memset(&rh, 0, sizeof(rh));
	rh.flags = (uint8_t)((label ? TV_RF_END : 0) | (dek != NULL ? TV_RF_SEALED : 0));
	rh.payload_len = (uint32_t)plen;
	rh.file_no = file_no;
	rh.seq = 0;
	rh.first_frame = 0;
	tv_rec_hdr_encode(s->raw, &rh);
	memcpy(s->raw + TV_REC_HDR, tv_buf_ptr(&hb), tv_buf_avail(&hb));
	if (dek != NULL)
		r = tv_hdr_tag(&w->codec, w->key, w->tape_uuid, s->raw, tv_buf_ptr(&hb),
		               tv_buf_avail(&hb), extra, extra_len,
		               s->raw + TV_REC_HDR + tv_buf_avail(&hb), 0);
	tv_buf_free(&hb);
	if (r != 0) {
		w->have_cur = 0;
		s->state = S_FREE;
		return r;
	}
	tv_put_be32(s->raw + 28, tv_rec_crc(s->raw, plen));
	s->fill = TV_REC_HDR + plen;
	submit(w, S_DONE);
	return 0;
}

int tv_twriter_header_file(struct tv_twriter *w, uint32_t file_no,
                           enum tv_content_type type,
                           const uint8_t content_uuid[TV_UUID_LEN],
                           const void *body, size_t body_len, const uint8_t *dek,
                           const void *extra, size_t extra_len)
{
	int r = queue_header(w, file_no, type, content_uuid, body, body_len, dek, extra,
	                     extra_len, 1);
	tv_wipe(w->key, sizeof(w->key));
	w->keyed = 0;
	return r;
}

int tv_twriter_begin_file(struct tv_twriter *w, uint32_t file_no,
                          enum tv_content_type type,
                          const uint8_t content_uuid[TV_UUID_LEN],
                          const void *body, size_t body_len, const uint8_t *dek)
{
	int r = queue_header(w, file_no, type, content_uuid, body, body_len, dek, NULL,
	                     0, 0);
	if (r != 0)
		return r;
	w->in_file = 1;
	w->frame_index = 0;
	w->file_raw = w->file_frames = 0;
	atomic_store(&w->file_raw_placed, 0);
	atomic_store(&w->file_stored_placed, 0);
	return 0;
}

int tv_twriter_mark(struct tv_twriter *w, uint64_t *frame_index, uint32_t *entry_off)
{
	struct wslot *s;
	int r;

	if ((r = sticky(w)) != 0 || (r = cur_frame(w)) != 0)
		return r;
	s = &w->slots[w->tail];
	if (s->fh.first_entry == TV_NO_OFFSET)
		s->fh.first_entry = (uint32_t)s->fill;
	*frame_index = w->frame_index;
	*entry_off = (uint32_t)s->fill;
	return 0;
}

int tv_twriter_side(struct tv_twriter *w, const void *p, size_t n)
{
	if (!w->have_cur)
		return tv_errf(TV_ERR_STATE, "tape %s: side data without a mark", w->name);
	return side_put(&w->slots[w->tail].side, p, n);
}

int tv_twriter_write(struct tv_twriter *w, const void *p, size_t n)
{
	const uint8_t *src = p;
	int r;

	if ((r = sticky(w)) != 0)
		return r;
	while (n > 0) {
		struct wslot *s;
		size_t k;
		if ((r = cur_frame(w)) != 0)
			return r;
		s = &w->slots[w->tail];
		k = w->fsize - s->fill;
		if (k > n)
			k = n;
		memcpy(s->raw + s->fill, src, k);
		s->fill += k;
		src += k;
		n -= k;
	}
	return 0;
}

int tv_twriter_reserve(struct tv_twriter *w, uint8_t **p, size_t *room)
{
	struct wslot *s;
	int r;

	*p = NULL;
	*room = 0;
	if ((r = sticky(w)) != 0 || (r = cur_frame(w)) != 0)
		return r;
	s = &w->slots[w->tail];
	*p = s->raw + s->fill;
	*room = w->fsize - s->fill;
	return 0;
}

int tv_twriter_commit(struct tv_twriter *w, size_t n)
{
	struct wslot *s = &w->slots[w->tail];

	if (!w->in_file || !w->have_cur || s->kind != K_FRAME || n > w->fsize - s->fill)
		return tv_errf(TV_ERR_STATE, "tape %s: commit of %zu bytes without a reserve",
		               w->name, n);
	s->fill += n;
	return 0;
}

int tv_twriter_end_file(struct tv_twriter *w, int cont, struct tv_file_result *res)
{
	struct wslot *s;
	int r;

	if ((r = sticky(w)) != 0)
		return r;
	if (!w->in_file)
		return tv_errf(TV_ERR_STATE, "tape %s: end of file outside a tape file",
		               w->name);
	if (!w->have_cur) {
		if ((r = acquire(w)) != 0)
			return r;
		w->slots[w->tail].kind = K_FRAME;
	}
	submit_frame(w, (uint8_t)(TV_FF_LAST | (cont ? TV_FF_CONT : 0)));
	if ((r = acquire(w)) != 0)
		return r;
	s = &w->slots[w->tail];
	s->kind = K_END;
	s->end_cont = cont != 0;
	submit(w, S_DONE);
	w->in_file = 0;
	tv_wipe(w->key, sizeof(w->key));
	w->keyed = 0;
	if (res != NULL) {
		if ((r = tv_twriter_sync(w)) != 0)
			return r;
		*res = w->last_res;
	}
	return 0;
}

uint64_t tv_twriter_file_bytes(struct tv_twriter *w)
{
	uint64_t raw_placed = atomic_load(&w->file_raw_placed);
	uint64_t cur = w->have_cur ? w->slots[w->tail].fill : 0;

	return atomic_load(&w->file_stored_placed) + (w->file_raw - raw_placed) + cur;
}

int tv_twriter_sync(struct tv_twriter *w)
{
	/* every submitted slot packed; what still sits in an unfinished record
	 * goes out with that record (a tape file always ends with END) */
	pthread_mutex_lock(&w->mu);
	while (w->pending > w->held && atomic_load(&w->err) == 0) {
		w->sync_waiting = 1;
		wake_io(w);
		pthread_cond_wait(&w->cv_free, &w->mu);
	}
	w->sync_waiting = 0;
	pthread_mutex_unlock(&w->mu);
	return sticky(w);
}

int tv_twriter_device_failed(struct tv_twriter *w)
{
	return atomic_load(&w->err) != 0 && atomic_load(&w->dev_err);
}

int tv_twriter_ew(struct tv_twriter *w)
{
	return atomic_load(&w->ew);
}

void tv_twriter_stats(struct tv_twriter *w, struct tv_twriter_stats *ts)
{
	ts->raw_bytes = w->tot_raw;
	ts->frames = w->tot_frames;
	ts->stored_bytes = atomic_load(&w->tot_stored);
	ts->frames_compressed = atomic_load(&w->tot_frames_z);
}

int tv_twriter_close(struct tv_twriter *w)
{
	int r = 0;

	if (w == NULL)
		return 0;
	if (w->have_cur) {
		/* an unfinished frame is dropped, never written */
		w->slots[w->tail].state = S_FREE;
		w->have_cur = 0;
	}
	if (w->io_started)
		r = tv_twriter_sync(w);
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv_work);
	pthread_cond_broadcast(&w->cv_io);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->workers_started; i++)
		pthread_join(w->workers[i], NULL);
	if (w->io_started)
		pthread_join(w->io, NULL);
	if (w->slots != NULL) {
		for (unsigned i = 0; i < w->nslots; i++) {
			struct wslot *s = &w->slots[i];
			if (s->raw != NULL)
				tv_wipe(s->raw, w->rs);
			if (s->out != NULL)
				tv_wipe(s->out, s->out_cap);
			tv_wipe(s->key, sizeof(s->key));
			free(s->raw);
			free(s->out);
			free(s->side.p);
		}
		free(w->slots);
	}
	free(w->workers);
	if (w->rec != NULL)
		tv_wipe(w->rec, w->rs);
	free(w->rec);
	tv_fcodec_free(&w->codec);
	tv_wipe(w->key, sizeof(w->key));
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_io);
	pthread_cond_destroy(&w->cv_free);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return r;
}
