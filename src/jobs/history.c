/* tapevault: the job history. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "jobs/history.h"
#include "util/err.h"

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int tv_history_start(struct tv_home *h, const char *kind, const char *args, int64_t *id)
{
	int r;

	*id = 0;
	if ((r = tv_db_exec(h->db, "INSERT INTO jobs(kind, args, pid, started_ms) "
	                    "VALUES(?,?,?,?)", "ttii", kind, args, (int64_t)getpid(),
	                    now_ms())) != 0)
		return tv_errctx(r, "job history");
	*id = tv_db_last_id(h->db);
	return 0;
}

int tv_history_end(struct tv_home *h, int64_t id, const char *result, uint64_t files,
                   uint64_t bytes, uint64_t warnings, const char *error)
{
	int r = tv_db_exec(h->db, "UPDATE jobs SET ended_ms=?, result=?, files=?, bytes=?, "
	                   "warnings=?, error=? WHERE id=?", "itiiiti", now_ms(), result,
	                   (int64_t)files, (int64_t)bytes, (int64_t)warnings, error, id);

	return r ? tv_errctx(r, "job history") : 0;
}

static const char jobs_sql[] =
	"SELECT id, kind, args, pid, started_ms, COALESCE(ended_ms,0), files, bytes, warnings,"
	" result, COALESCE(error,'') FROM jobs ORDER BY id DESC LIMIT ?";
enum { J_ID, J_KIND, J_ARGS, J_PID, J_STARTED, J_ENDED, J_FILES, J_BYTES, J_WARNINGS,
       J_RESULT, J_ERROR };

/* A running row whose process is gone was interrupted (killed, crashed). */
static int gone(int64_t pid)
{
	return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

int tv_history_list(struct tv_home *h, int64_t limit, tv_job_fn *fn, void *ctx)
{
	struct tv_job_row row;
	struct tv_stmt *q;
	int r;

	if ((r = tv_db_query(h->db, &q, jobs_sql, "i", limit > 0 ? limit : INT64_MAX)) != 0)
		return r;
	while ((r = tv_stmt_step(q)) == 1) {
		int64_t ended = tv_stmt_int(q, J_ENDED);
		row.id = tv_stmt_int(q, J_ID);
		row.kind = tv_stmt_text(q, J_KIND);
		row.args = tv_stmt_text(q, J_ARGS);
		row.started_ms = tv_stmt_int(q, J_STARTED);
		row.duration_ms = (ended ? ended : now_ms()) - row.started_ms;
		row.files = tv_stmt_int(q, J_FILES);
		row.bytes = tv_stmt_int(q, J_BYTES);
		row.warnings = tv_stmt_int(q, J_WARNINGS);
		row.result = tv_stmt_text(q, J_RESULT);
		row.error = tv_stmt_text(q, J_ERROR);
		if (strcmp(row.result, "running") == 0 && gone(tv_stmt_int(q, J_PID))) {
			row.result = "interrupted";
			row.duration_ms = -1;   /* not known */
		}
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	tv_stmt_free(q);
	return r;
}
