/* tapevault: the stop request (see stop.h). */
#include "util/stop.h"

volatile sig_atomic_t tv_stop_signal;

const char *tv_stop_name(void)
{
	switch (tv_stop_signal) {
	case SIGINT: return "SIGINT";
	case SIGTERM: return "SIGTERM";
	case 0: return "no signal";
	default: return "a signal";
	}
}
