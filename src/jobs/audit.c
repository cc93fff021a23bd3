#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "jobs/audit.h"
#include "util/err.h"

void tv_audit(struct tv_home *h, const char *action, const char *key_path,
              const char *tapes, const char *detail)
{
	char actor[300], host[128] = "";
	struct passwd *pw = getpwuid(geteuid());

	gethostname(host, sizeof(host) - 1);
	snprintf(actor, sizeof(actor), "%s@%s", pw ? pw->pw_name : "?", host);
	if (tv_db_exec(h->db, "INSERT INTO audit(time, actor, action, key_path, tapes, detail) "
	               "VALUES(?,?,?,?,?,?)", "itttt" "t", (int64_t)tv_now(), actor, action,
	               key_path, tapes, detail ? detail : "") != 0)
		tv_errclear();
	tv_log(h, "audit: %s %s via %s: %s", action, tapes, key_path, detail ? detail : "");
}
