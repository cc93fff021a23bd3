/* tapevault: looking into tapes without a key (tape dump; what unlocks a
 * tape). */
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"
#include "format/record.h"
#include "jobs/inspect.h"
#include "jobs/keys.h"
#include "tape/tape.h"
#include "util/err.h"

int tv_inspect_key(const void *ms_label, size_t len, char *desc, size_t descsz, char *fpr,
                   size_t fprsz)
{
	struct tv_media_set_label *ms;
	int r;

	desc[0] = '\0';
	if (fprsz > 0)
		fpr[0] = '\0';
	if (ms_label == NULL)
		return 0;
	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory reading a media set label");
	if ((r = tv_ms_label_decode(ms_label, len, ms)) == 0 && ms->enc.alg != TV_ENC_NONE) {
		tv_keys_describe(&ms->enc, desc, descsz);
		if (fprsz >= TV_FPR_HEX_LEN)
			tv_dek_fpr_hex(ms->enc.dek_fpr, fpr);
	}
	free(ms);
	return r;
}

/* ---- walking a tape image ---- */

enum walk {
	WALK_FILE,          /* next: a tape file's first record */
	WALK_STREAM,        /* next: the frames of the current file */
	WALK_END_FILE,      /* next: space past the current file */
	WALK_SKIP_BAD,      /* next: space past a file whose first record failed */
	WALK_DONE,          /* END given */
	WALK_FAILED,        /* the tape could not be read on */
};

struct tv_inspect {
	struct tv_tape *tape;
	struct tv_treader *rd;
	enum walk walk;
	uint64_t file_no;
	int bad_files;                   /* tape files with errors */
	int frame_errors;                /* in the current stream */
	struct tv_inspect_stream stream;
	struct tv_volume_label vol;
	struct tv_media_set_label ms;
	struct tv_data_header data;
	struct tv_catalog_header cat;
};

int tv_inspect_open(const char *path, struct tv_inspect **out)
{
	struct tv_inspect *in;
	int r;

	*out = NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory opening %s", path);
	if ((r = tv_vtape_open(path, TV_TAPE_RDONLY, &in->tape)) != 0)
		goto fail;
	if ((r = tv_treader_open(&in->rd, in->tape, path, NULL, NULL)) != 0)
		goto fail;
	*out = in;
	return 0;
fail:
	tv_inspect_close(in);
	return r;
}

void tv_inspect_close(struct tv_inspect *in)
{
	if (in == NULL)
		return;
	tv_treader_close(in->rd);
	tv_tape_close(in->tape);
	free(in);
}

/* The content header body, decoded for its type; a volume label also
 * tells the reader the tape's UUID and record size. */
static void decode_body(struct tv_inspect *in, const struct tv_content_header *ch,
                        struct tv_inspect_item *it)
{
	switch (ch->type) {
	case TV_CT_VOLUME_LABEL:
		if (tv_vol_label_decode(ch->body, ch->body_len, &in->vol) != 0)
			break;
		it->vol = &in->vol;
		tv_treader_set_tape_uuid(in->rd, in->vol.tape_uuid);
		tv_treader_set_record_size(in->rd, (size_t)in->vol.record_size);
		break;
	case TV_CT_MEDIA_SET_LABEL:
		if (tv_ms_label_decode(ch->body, ch->body_len, &in->ms) == 0)
			it->ms = &in->ms;
		break;
	case TV_CT_DATA:
		if (tv_data_header_decode(ch->body, ch->body_len, &in->data) == 0)
			it->data = &in->data;
		break;
	case TV_CT_CATALOG:
		if (tv_catalog_header_decode(ch->body, ch->body_len, &in->cat) == 0)
			it->cat = &in->cat;
		break;
	default:
		break;
	}
}

/* Frames are read for their headers and checksums only. */
static void stream_start(struct tv_inspect *in)
{
	memset(&in->stream, 0, sizeof(in->stream));
	in->frame_errors = 0;
	tv_treader_set_crc_only(in->rd, 1);
	in->walk = WALK_STREAM;
}

static int begin_file(struct tv_inspect *in, struct tv_inspect_item *it)
{
	struct tv_content_header ch;
	int sealed, r;

	r = tv_treader_begin_file(in->rd, &ch, &in->file_no, &sealed);
	it->file_no = in->file_no;
	if (r == TV_ERR_EOD) {
		it->kind = TV_INSPECT_END;
		in->walk = WALK_DONE;
		return 1;
	}
	if (r == TV_ERR_FILEMARK) {
		it->kind = TV_INSPECT_EMPTY;
		return 1;
	}
	if (r != 0) {
		it->kind = TV_INSPECT_BAD_FILE;
		it->err = r;
		in->bad_files++;
		in->walk = WALK_SKIP_BAD;
		return 1;
	}
	it->kind = TV_INSPECT_FILE;
	it->type = ch.type;
	memcpy(it->content_uuid, ch.uuid, TV_UUID_LEN);
	it->body_len = ch.body_len;
	it->sealed = sealed;
	decode_body(in, &ch, it);
	if (ch.type == TV_CT_DATA || ch.type == TV_CT_CATALOG)
		stream_start(in);
	else
		in->walk = WALK_END_FILE;
	return 1;
}

static void count_frame(struct tv_inspect_stream *s, const struct tv_frame_info *fi)
{
	s->frames++;
	s->raw_bytes += fi->raw_len;
	s->zstd_frames += fi->method == TV_COMP_ZSTD;
	s->sealed_frames += fi->sealed != 0;
	s->entry_frames += fi->first_entry != TV_NO_OFFSET;
}

/* Reads frames up to the next error (an item) or the end of the stream
 * (the STREAM item). */
static int next_frames(struct tv_inspect *in, struct tv_inspect_item *it)
{
	struct tv_frame_info fi;
	const uint8_t *p;
	size_t n;
	int r;

	it->file_no = in->file_no;
	while ((r = tv_treader_next(in->rd, &p, &n, &fi)) == 1)
		count_frame(&in->stream, &fi);
	if (r < 0) {
		it->kind = TV_INSPECT_FRAME_ERROR;
		it->err = r;
		in->frame_errors++;
		return 1;
	}
	tv_treader_set_crc_only(in->rd, 0);
	in->stream.records = tv_treader_records(in->rd);
	in->stream.cont = tv_treader_cont(in->rd);
	in->stream.truncated = tv_treader_truncated(in->rd);
	if (in->frame_errors > 0)
		in->bad_files++;
	it->kind = TV_INSPECT_STREAM;
	it->stream = in->stream;
	in->walk = WALK_END_FILE;
	return 1;
}

/* Spaces past the current file; end of data there is the END item. */
static int end_file(struct tv_inspect *in, struct tv_inspect_item *it)
{
	int r = tv_treader_end_file(in->rd);

	if (r == TV_ERR_EOD && in->walk == WALK_END_FILE) {
		it->kind = TV_INSPECT_END;
		it->cut_off = 1;
		in->walk = WALK_DONE;
		return 1;
	}
	if (r != 0) {
		in->walk = WALK_FAILED;
		return r;
	}
	in->walk = WALK_FILE;
	return 0;
}

int tv_inspect_next(struct tv_inspect *in, struct tv_inspect_item *it)
{
	int r;

	memset(it, 0, sizeof(*it));
	for (;;) {
		switch (in->walk) {
		case WALK_FILE:
			return begin_file(in, it);
		case WALK_STREAM:
			return next_frames(in, it);
		case WALK_END_FILE:
		case WALK_SKIP_BAD:
			if ((r = end_file(in, it)) != 0)
				return r;
			break;
		case WALK_DONE:
			if (in->bad_files > 0)
				return tv_errf(TV_ERR_FORMAT, "%d tape file(s) with errors (see above)",
				               in->bad_files);
			return 0;
		default:
			return tv_errf(TV_ERR_STATE, "the walk over this tape is over: it could "
			               "not be read on");
		}
	}
}
