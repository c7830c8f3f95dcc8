/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Following a log file another process appends JSON lines to (nomoat-proxy's
 * access log), the way `tail -F` does: each read hands over the complete
 * lines appended since the last one.  A file that is replaced (rotated: a
 * new inode) is read to its end, then the new one from its start; a
 * truncated one is read again from its start (noticed when it is shorter
 * than what was read: truncated and refilled past that between two reads,
 * its first bytes are missed, as with tail -F); one that does not
 * exist yet is looked for again on every read.  A line longer than the
 * buffer is dropped whole and counted.  It starts at the end of what is
 * there when it is first opened: old lines are not replayed.
 */
#ifndef NM_TAIL_H
#define NM_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NM_TAIL_LINE_MAX (64 * 1024)

struct nm_tail {
	char path[512];
	int fd;            /* -1 while the file is missing */
	ino_t ino;
	dev_t dev;
	off_t off;         /* read up to here */
	bool started;      /* the first open skipped what was there */
	size_t len;        /* bytes of an unfinished line in buf */
	bool skipping;     /* inside a line too long: drop up to its end */
	unsigned long long too_long; /* lines dropped */
	char buf[NM_TAIL_LINE_MAX];
};

/* Follow path (nothing is read yet). */
void nm_tail_init(struct nm_tail *t, const char *path);

/* Hand every complete new line (without its newline) to fn, at most
 * max_lines of them; returns how many, or a negative errno of a read that
 * failed (the file is then opened again next time). */
int nm_tail_read(struct nm_tail *t, void (*fn)(const char *line, size_t len, void *arg), void *arg,
		 unsigned max_lines);

void nm_tail_close(struct nm_tail *t);

#endif
