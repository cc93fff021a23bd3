/* tapevault: running SCSI commands, and the Linux SG_IO transport.
 *
 * SG_IO (Documentation/scsi/scsi-generic.rst): one ioctl per command on
 * an sg device node; the st driver accepts the same ioctl on /dev/nstN.
 * The status comes back in masked_status/status, transport problems in
 * host_status and driver_status (DID_* and DRIVER_* codes), the sense
 * data in sbp when the device sent some. */
#include "scsi/scsi.h"

#include "scsi/cdb.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- command names, for messages ---- */

const char *tv_scsi_cmd_name(const uint8_t *cdb, size_t cdb_len)
{
	if (cdb == NULL || cdb_len == 0)
		return "(no command)";
	switch (cdb[0]) {
	case TV_OP_TEST_UNIT_READY: return "TEST UNIT READY";
	case TV_OP_REWIND: return "REWIND";
	case TV_OP_REQUEST_SENSE: return "REQUEST SENSE";
	case TV_OP_READ_BLOCK_LIMITS: return "READ BLOCK LIMITS";
	case TV_OP_INIT_ELEMENT_STATUS: return "INITIALIZE ELEMENT STATUS";
	case TV_OP_READ6: return "READ(6)";
	case TV_OP_WRITE6: return "WRITE(6)";
	case TV_OP_WRITE_FILEMARKS6: return "WRITE FILEMARKS(6)";
	case TV_OP_SPACE6: return "SPACE(6)";
	case TV_OP_INQUIRY: return "INQUIRY";
	case TV_OP_MODE_SELECT6: return "MODE SELECT(6)";
	case TV_OP_MODE_SENSE6: return "MODE SENSE(6)";
	case TV_OP_LOAD_UNLOAD: return cdb_len > 4 && (cdb[4] & 1) ? "LOAD" : "UNLOAD";
	case TV_OP_READ_POSITION: return "READ POSITION";
	case TV_OP_LOG_SENSE: return "LOG SENSE";
	case TV_OP_LOCATE16: return "LOCATE(16)";
	case TV_OP_SECURITY_IN: return "SECURITY PROTOCOL IN";
	case TV_OP_MOVE_MEDIUM: return "MOVE MEDIUM";
	case TV_OP_SECURITY_OUT: return "SECURITY PROTOCOL OUT";
	case TV_OP_READ_ELEMENT_STATUS: return "READ ELEMENT STATUS";
	default: return "SCSI command";
	}
}

int tv_scsi_errf(int err, struct tv_scsi_transport *tr, const uint8_t *cdb,
                 size_t cdb_len, const struct tv_scsi_result *res)
{
	char what[200];

	if (res->has_sense)
		tv_sense_describe(&res->sense, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "CHECK CONDITION without usable sense data");
	return tv_errf(err, "%s: %s failed: %s", tr->name, tv_scsi_cmd_name(cdb, cdb_len), what);
}

/* ---- running a command ---- */

#define UA_RETRIES 3

int tv_scsi_run(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
                enum tv_scsi_dir dir, void *buf, size_t len, unsigned timeout_ms,
                struct tv_scsi_result *res)
{
	int st;

	if (tr == NULL || tr->ops == NULL || cdb == NULL || cdb_len == 0 || cdb_len > TV_CDB_MAX ||
	    res == NULL)
		return tv_errf(TV_ERR_INVAL, "SCSI command: bad arguments");
	for (int tries = 0; ; tries++) {
		memset(res, 0, sizeof(*res));
		tr->commands++;
		st = tr->ops->exec(tr, cdb, cdb_len, dir, buf, len, &res->resid, res->raw,
		                   &res->raw_len, timeout_ms);
		if (st < 0)
			return tv_errctx(st, "%s: %s", tr->name, tv_scsi_cmd_name(cdb, cdb_len));
		res->status = (uint8_t)st;
		if (res->raw_len > TV_SENSE_MAX)
			res->raw_len = TV_SENSE_MAX;
		if (res->raw_len > 0 && tv_sense_decode(res->raw, res->raw_len, &res->sense) == 0)
			res->has_sense = 1;
		if (st != TV_SCSI_CHECK_CONDITION)
			break;
		if (!res->has_sense || res->sense.key != TV_SK_UNIT_ATTENTION ||
		    tries + 1 >= UA_RETRIES)
			return TV_SCSI_CHECK;
	}
	switch (res->status) {
	case TV_SCSI_GOOD:
		return 0;
	case TV_SCSI_BUSY:
		return tv_errf(TV_ERR_STATE, "%s: %s: the device is busy; try again later",
		               tr->name, tv_scsi_cmd_name(cdb, cdb_len));
	case TV_SCSI_RESERVATION_CONFLICT:
		return tv_errf(TV_ERR_STATE, "%s: %s: reservation conflict (another host or "
		               "program reserved the device)", tr->name,
		               tv_scsi_cmd_name(cdb, cdb_len));
	default:
		return tv_errf(TV_ERR_IO, "%s: %s: SCSI status %02Xh", tr->name,
		               tv_scsi_cmd_name(cdb, cdb_len), res->status);
	}
}

void tv_scsi_close(struct tv_scsi_transport *tr)
{
	if (tr != NULL && tr->ops != NULL && tr->ops->close != NULL)
		tr->ops->close(tr);
}

/* ---- SG_IO ---- */

struct sg_transport {
	struct tv_scsi_transport base;
	int fd;
	int own_fd;
};

/* host_status (DID_*) and driver_status (DRIVER_*) in words. */
static const char *sg_host_text(unsigned host)
{
	switch (host) {
	case 0x01: return "no connection (DID_NO_CONNECT)";
	case 0x02: return "bus busy (DID_BUS_BUSY)";
	case 0x03: return "timed out (DID_TIME_OUT)";
	case 0x04: return "bad target (DID_BAD_TARGET)";
	case 0x05: return "aborted (DID_ABORT)";
	case 0x07: return "host adapter error (DID_ERROR)";
	case 0x08: return "bus reset (DID_RESET)";
	default: return "host adapter error";
	}
}

static int sg_exec(struct tv_scsi_transport *tr, const uint8_t *cdb, size_t cdb_len,
                   enum tv_scsi_dir dir, void *buf, size_t len, size_t *resid,
                   uint8_t *sense, size_t *sense_len, unsigned timeout_ms)
{
	struct sg_transport *s = (struct sg_transport *)tr;
	struct sg_io_hdr io;
	uint8_t cdbcopy[TV_CDB_MAX];
	int rc;

	memcpy(cdbcopy, cdb, cdb_len);
	memset(&io, 0, sizeof(io));
	io.interface_id = 'S';
	io.cmd_len = (unsigned char)cdb_len;
	io.cmdp = cdbcopy;
	io.dxfer_direction = dir == TV_SCSI_FROM_DEV ? SG_DXFER_FROM_DEV :
	                     dir == TV_SCSI_TO_DEV ? SG_DXFER_TO_DEV : SG_DXFER_NONE;
	io.dxferp = len > 0 ? buf : NULL;
	io.dxfer_len = (unsigned)len;
	io.sbp = sense;
	io.mx_sb_len = TV_SENSE_MAX;
	io.timeout = timeout_ms;
	*resid = len;
	*sense_len = 0;
	while ((rc = ioctl(s->fd, SG_IO, &io)) != 0 && errno == EINTR)
		;
	if (rc != 0)
		return tv_errf(errno == EPERM || errno == EACCES ? TV_ERR_PERM : TV_ERR_IO,
		               "SG_IO ioctl failed: %s", strerror(errno));
	if (io.host_status != 0)
		return tv_errf(TV_ERR_IO, "the command did not complete: %s (host status %02Xh)",
		               sg_host_text(io.host_status), io.host_status);
	*resid = io.resid > 0 && (size_t)io.resid <= len ? (size_t)io.resid : 0;
	*sense_len = io.sb_len_wr;
	if ((io.driver_status & 0x0F) == 0x08 /* DRIVER_SENSE */ && io.status == 0)
		return TV_SCSI_CHECK_CONDITION;
	if ((io.driver_status & 0x0F) != 0 && (io.driver_status & 0x0F) != 0x08)
		return tv_errf(TV_ERR_IO, "the command did not complete: driver status %02Xh",
		               io.driver_status);
	return io.status;
}

static void sg_close(struct tv_scsi_transport *tr)
{
	struct sg_transport *s = (struct sg_transport *)tr;

	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	free(s);
}

static const struct tv_scsi_transport_ops sg_ops = { sg_exec, sg_close };

static int sg_new(int fd, int own, const char *name, struct tv_scsi_transport **out)
{
	struct sg_transport *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return tv_errf(TV_ERR_NOMEM, "out of memory");
	s->base.ops = &sg_ops;
	snprintf(s->base.name, sizeof(s->base.name), "%s", name);
	s->fd = fd;
	s->own_fd = own;
	*out = &s->base;
	return 0;
}

int tv_scsi_sg_wrap_fd(int fd, const char *name, struct tv_scsi_transport **out)
{
	if (out == NULL || fd < 0)
		return tv_errf(TV_ERR_INVAL, "SG_IO transport: no descriptor");
	*out = NULL;
	return sg_new(fd, 0, name != NULL ? name : "(device)", out);
}

int tv_scsi_sg_open(const char *dev, struct tv_scsi_transport **out)
{
	int fd, err, version = 0, rc;

	if (out != NULL)
		*out = NULL;
	if (dev == NULL || out == NULL)
		return tv_errf(TV_ERR_INVAL, "SG_IO transport: no device");
	/* O_NONBLOCK: an sg open must not wait for the device to be ready */
	fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENXIO || err == ENODEV)
			return tv_errf(TV_ERR_NOTFOUND, "cannot open %s: %s (see 'lsscsi -g' for "
			               "the library's sg devices)", dev, strerror(err));
		if (err == EACCES || err == EPERM)
			return tv_errf(TV_ERR_PERM, "cannot open %s: %s (is the user in the 'tape' "
			               "or 'disk' group?)", dev, strerror(err));
		if (err == EBUSY)
			return tv_errf(TV_ERR_STATE, "%s is busy (used by another process)", dev);
		return tv_errf(TV_ERR_IO, "cannot open %s: %s", dev, strerror(err));
	}
	/* an sg node answers SG_GET_VERSION_NUM; st and other nodes that pass
	 * SG_IO through may not: only a plain failure of SG_IO itself says
	 * the node cannot carry commands */
	if (ioctl(fd, SG_GET_VERSION_NUM, &version) == 0 && version < 30000) {
		close(fd);
		return tv_errf(TV_ERR_UNSUPPORTED, "%s: sg driver version %d is too old (3.x "
		               "needed)", dev, version);
	}
	if ((rc = sg_new(fd, 1, dev, out)) != 0)
		close(fd);
	return rc;
}
