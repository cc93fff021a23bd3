/* tapevault: a progress line on stderr for long work (write, restore,
 * verify, catalog): what, how far (percent when the total is known),
 * rate in MiB/s, time left (when the total is known), current item.
 *
 * Drawn only when stderr is a terminal, or when tv_prog_force(1) was
 * called (the global --progress option: for tests and logs); never more
 * than 4 times a second; the line is cleared by tv_prog_finish.  Nothing
 * is drawn with quiet set. */
#ifndef TV_UTIL_PROGRESS_H
#define TV_UTIL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct tv_prog {
	const char *what;            /* "writing", "restoring", "verifying", ... */
	uint64_t total_bytes;        /* 0: not known */
	uint64_t total_items;        /* 0: not known */
	uint64_t done_bytes, item;
	char name[256];              /* the current item */
	double start, last;          /* monotonic seconds */
	int active;                  /* drawing */
	int tty;                     /* stderr is a terminal */
	int drawn;                   /* a line is on the screen */
	int pending;                 /* updated since it was drawn */
};

/* Monotonic seconds (CLOCK_MONOTONIC): for rates and how long work took. */
double tv_mono(void);

/* 1: draw even when stderr is not a terminal (--progress). */
void tv_prog_force(int on);
int tv_prog_forced(void);
void tv_prog_start(struct tv_prog *p, const char *what, uint64_t total_bytes,
                   uint64_t total_items, int quiet);
/* done_bytes so far; item: the current item's number (0: not counted);
 * name: the current item (NULL: unchanged). */
void tv_prog_update(struct tv_prog *p, uint64_t done_bytes, uint64_t item, const char *name);
void tv_prog_finish(struct tv_prog *p);
/* A message is about to go to stderr: the line (if one is shown) is
 * cleared, to be drawn again at the next update. */
void tv_prog_clear_line(void);
/* The line as drawn (without \r), for tests: rate and time left from
 * elapsed seconds. */
void tv_prog_format(const struct tv_prog *p, double elapsed, int width, char *out,
                    size_t outsz);

#endif
