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
	int r;

	gethostname(host, sizeof(host) - 1);
	snprintf(actor, sizeof(actor), "%s@%s", pw ? pw->pw_name : "?", host);
	r = tv_db_exec(h->db, "INSERT INTO audit(time, actor, action, key_path, tapes, detail) "
	               "VALUES(?,?,?,?,?,?)", "itttt" "t", (int64_t)tv_now(), actor, action,
	               key_path, tapes, detail ? detail : "");
	if (r != 0)   /* the key was used all the same: say the trail has a gap */
		tv_warn(h, "audit trail: this use of %s was not recorded in the catalog: %s",
		        key_path, tv_errmsg(r));
	tv_log(h, "audit: %s %s via %s: %s", action, tapes, key_path, detail ? detail : "");
}
