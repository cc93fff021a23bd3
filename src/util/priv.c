/* tapevault: privilege questions (see priv.h).  The capability sets come
 * from capget(2) directly: one call, no library for one bit. */
#include "util/priv.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

int tv_priv_can_chown(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (geteuid() == 0)
		return 1;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return 0;
	return (data[CAP_CHOWN / 32].effective >> (CAP_CHOWN % 32)) & 1;
}
