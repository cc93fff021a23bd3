/* tapevault tests: faults of the emulated SCSI library (see
 * scsiemu_faults.h). */
#include "scsiemu_faults.h"

#include "library/scsiemu.h"
#include "scsi/cdb.h"
#include "scsi/scsi.h"
#include "util/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tv_scsi_fault_spec active;
static long moves, writes;

static int on_command(int drive, const uint8_t *cdb, size_t n, uint8_t sense[3])
{
	(void)n;
	if (drive < 0 && cdb[0] == TV_OP_MOVE_MEDIUM && ++moves == active.move_fail) {
		sense[0] = TV_SK_HARDWARE_ERROR;
		sense[1] = 0x15;
		sense[2] = 0x01;
		return 1;
	}
	if (drive >= 0 && cdb[0] == TV_OP_WRITE6 && ++writes == active.write_medium_error) {
		sense[0] = TV_SK_MEDIUM_ERROR;
		sense[1] = 0x0C;
		sense[2] = 0x00;
		return 1;
	}
	return 0;
}

static int on_label(const char *barcode)
{
	return active.unreadable_tag[0] != '\0' && strcmp(barcode, active.unreadable_tag) == 0;
}

static const struct tv_scsiemu_hooks hooks = { on_command, on_label };

void tv_scsi_fault_install(const struct tv_scsi_fault_spec *spec)
{
	moves = writes = 0;
	if (spec == NULL) {
		memset(&active, 0, sizeof(active));
		tv_scsiemu_set_hooks(NULL);
		return;
	}
	active = *spec;
	tv_scsiemu_set_hooks(&hooks);
}

static int number(const char *v, size_t len, long *out)
{
	char buf[32], *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtol(buf, &end, 10);
	return *end != '\0' || errno != 0 || *out < 1 ? -1 : 0;
}

int tv_scsi_fault_parse(const char *s, struct tv_scsi_fault_spec *spec)
{
	const char *p = s;

	if (spec == NULL || s == NULL)
		return tv_errf(TV_ERR_INVAL, "SCSI fault spec: NULL argument");
	memset(spec, 0, sizeof(*spec));
	while (*p != '\0') {
		size_t klen = strcspn(p, "="), vlen;
		const char *v;
		int bad;
		if (p[klen] != '=')
			return tv_errf(TV_ERR_INVAL, "SCSI fault spec: \"%s\" has no value", p);
		v = p + klen + 1;
		vlen = strcspn(v, ",");
		if (klen == 9 && strncmp(p, "move_fail", 9) == 0)
			bad = number(v, vlen, &spec->move_fail);
		else if (klen == 18 && strncmp(p, "write_medium_error", 18) == 0)
			bad = number(v, vlen, &spec->write_medium_error);
		else if (klen == 14 && strncmp(p, "unreadable_tag", 14) == 0) {
			bad = vlen == 0 || vlen >= sizeof(spec->unreadable_tag);
			if (!bad)
				memcpy(spec->unreadable_tag, v, vlen);
		} else
			return tv_errf(TV_ERR_INVAL, "SCSI fault spec: unknown key \"%.*s\" (known: "
			               "move_fail, write_medium_error, unreadable_tag)", (int)klen, p);
		if (bad)
			return tv_errf(TV_ERR_INVAL, "SCSI fault spec: bad value for %.*s", (int)klen,
			               p);
		p = v + vlen;
		if (*p == ',')
			p++;
	}
	return 0;
}

__attribute__((constructor)) static void install(void)
{
	struct tv_scsi_fault_spec spec;
	const char *s = getenv("TAPEVAULT_TEST_SCSI_FAULT");

	if (s == NULL || *s == '\0')
		return;
	if (tv_scsi_fault_parse(s, &spec) != 0) {
		fprintf(stderr, "TAPEVAULT_TEST_SCSI_FAULT: %s\n", tv_errdetail());
		exit(2);
	}
	tv_scsi_fault_install(&spec);
}
