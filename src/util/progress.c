/* tapevault: the progress line (see progress.h). */
#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PROG_INTERVAL 0.25   /* at most 4 redraws a second */

static int forced;
static struct tv_prog *shown;   /* the line on the screen */

void tv_prog_force(int on)
{
	forced = on;
}

int tv_prog_forced(void)
{
	return forced;
}

double tv_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 100;
}

void tv_prog_start(struct tv_prog *p, const char *what, uint64_t total_bytes,
                   uint64_t total_items, int quiet)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total_bytes = total_bytes;
	p->total_items = total_items;
	p->tty = isatty(STDERR_FILENO);
	p->active = !quiet && (forced || p->tty);
	p->start = tv_mono();
	p->last = 0;   /* the first update draws at once */
}

static void hms(double secs, char *out, size_t outsz)
{
	unsigned long s = secs > 0 ? (unsigned long)(secs + 0.5) : 0;

	if (s >= 3600)
		snprintf(out, outsz, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, outsz, "%lu:%02lu", s / 60, s % 60);
}

void tv_prog_format(const struct tv_prog *p, double elapsed, int width, char *out,
                    size_t outsz)
{
	double mib = (double)p->done_bytes / 1048576.0;
	double rate = elapsed > 0.001 ? mib / elapsed : 0.0;
	char left[32] = "--:--", head[200], items[64] = "";
	size_t hl, nl;
	const char *name = p->name;

	if (p->total_bytes > 0 && rate > 0 && p->done_bytes <= p->total_bytes)
		hms((double)(p->total_bytes - p->done_bytes) / 1048576.0 / rate, left,
		    sizeof(left));
	else if (p->total_bytes == 0 && p->total_items > 0 && p->item > 0 && elapsed > 0.001 &&
	         p->item <= p->total_items)
		hms(elapsed / (double)p->item * (double)(p->total_items - p->item), left,
		    sizeof(left));
	if (p->total_items > 0)
		snprintf(items, sizeof(items), ", %llu/%llu", (unsigned long long)p->item,
		         (unsigned long long)p->total_items);
	else if (p->item > 0)
		snprintf(items, sizeof(items), ", item %llu", (unsigned long long)p->item);
	if (p->total_bytes > 0)
		snprintf(head, sizeof(head), "%s: %5.1f%% %.0f/%.0f MiB%s, %.1f MiB/s, %s left",
		         p->what, 100.0 * (double)p->done_bytes / (double)p->total_bytes, mib,
		         (double)p->total_bytes / 1048576.0, items, rate, left);
	else
		snprintf(head, sizeof(head), "%s: %.0f MiB%s, %.1f MiB/s, %s left", p->what, mib,
		         items, rate, left);
	hl = strlen(head);
	nl = strlen(name);
	if (nl == 0 || width <= 0 || hl + 3 >= (size_t)width) {
		snprintf(out, outsz, "%s", head);
		return;
	}
	/* the item's name, its end kept when the line is too narrow */
	if (hl + 2 + nl >= (size_t)width) {
		size_t keep = (size_t)width - hl - 2 - 4;
		snprintf(out, outsz, "%s  ...%s", head, name + nl - keep);
	} else {
		snprintf(out, outsz, "%s  %s", head, name);
	}
}

static void draw(struct tv_prog *p, double now)
{
	char line[512];
	int w = term_width();

	tv_prog_format(p, now - p->start, w - 1, line, sizeof(line));
	/* a terminal's line is cleared to its end; a log gets the line alone */
	fprintf(stderr, p->tty ? "\r%s\033[K" : "\r%s", line);
	fflush(stderr);
	p->drawn = 1;
	p->pending = 0;
	p->last = now;
	shown = p;
}

void tv_prog_update(struct tv_prog *p, uint64_t done_bytes, uint64_t item, const char *name)
{
	double now;

	p->done_bytes = done_bytes;
	if (item > 0)
		p->item = item;
	if (!p->active)
		return;
	if (name != NULL)
		snprintf(p->name, sizeof(p->name), "%s", name);
	now = tv_mono();
	if (now - p->last < PROG_INTERVAL) {
		p->pending = 1;   /* not shown yet */
		return;
	}
	draw(p, now);
}

void tv_prog_finish(struct tv_prog *p)
{
	/* a terminal's line goes; a log (--progress) keeps the last one */
	if (p->active && p->tty && p->drawn)
		fputs("\r\033[K", stderr);
	else if (p->active && !p->tty && (p->pending || p->drawn)) {
		if (p->pending)
			draw(p, tv_mono());   /* where it ended */
		fputc('\n', stderr);
	}
	if (p->active)
		fflush(stderr);
	p->active = 0;
	p->drawn = 0;
	if (shown == p)
		shown = NULL;
}

void tv_prog_clear_line(void)
{
	struct tv_prog *p = shown;

	if (p == NULL || !p->drawn)
		return;
	fputs(p->tty ? "\r\033[K" : "\n", stderr);
	p->drawn = 0;
	p->last = 0;   /* drawn again at the next update */
	shown = NULL;
}
