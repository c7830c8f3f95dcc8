// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Following a log file (see tail.h). */
#include "tail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nm_tail_init(struct nm_tail *t, const char *path)
{
	memset(t, 0, offsetof(struct nm_tail, buf));
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->fd = -1;
}

void nm_tail_close(struct nm_tail *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* (Re)open when the file is missing, replaced or truncated. */
static void follow(struct nm_tail *t)
{
	struct stat path_st, fd_st;

	if (stat(t->path, &path_st))
		return; /* gone or not there yet: keep what is open */
	if (t->fd >= 0 && fstat(t->fd, &fd_st) == 0 && fd_st.st_ino == path_st.st_ino &&
	    fd_st.st_dev == path_st.st_dev) {
		if (fd_st.st_size < t->off) {
			/* truncated: from the start */
			t->off = 0;
			t->len = 0;
			t->skipping = false;
		}
		return;
	}
	/* A new file: read what remains of the old one first. */
	if (t->fd >= 0)
		return;
	t->fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0)
		return;
	t->ino = path_st.st_ino;
	t->dev = path_st.st_dev;
	t->len = 0;
	t->skipping = false;
	/* The first file is taken from its end; a rotated one from the start. */
	t->off = t->started ? 0 : path_st.st_size;
	t->started = true;
}

/* The open file is done and the path names another: move to it. */
static bool rotated(struct nm_tail *t)
{
	struct stat st;

	if (t->fd < 0 || stat(t->path, &st))
		return false;
	return st.st_ino != t->ino || st.st_dev != t->dev;
}

int nm_tail_read(struct nm_tail *t, void (*fn)(const char *line, size_t len, void *arg), void *arg,
		 unsigned max_lines)
{
	unsigned lines = 0;

	if (!t->started && t->fd < 0) {
		follow(t);
		if (t->fd < 0) {
			/* not there yet: whatever it will hold is new */
			t->started = true;
			return 0;
		}
	}
	follow(t);
	for (int pass = 0; pass < 2 && t->fd >= 0; pass++) {
		while (lines < max_lines) {
			ssize_t r = pread(t->fd, t->buf + t->len, sizeof(t->buf) - t->len, t->off);
			size_t start = 0, end;

			if (r < 0) {
				int err = -errno;

				nm_tail_close(t);
				return err;
			}
			if (r == 0)
				break;
			t->off += r;
			end = t->len + (size_t)r;
			for (size_t i = t->len; i < end && lines < max_lines; i++) {
				if (t->buf[i] != '\n')
					continue;
				if (t->skipping)
					t->skipping = false;
				else if (i > start)
					fn(t->buf + start, i - start, arg), lines++;
				start = i + 1;
			}
			if (lines >= max_lines && start < end) {
				/* stop here: give back what was not looked at */
				size_t scanned = start;

				t->off -= (off_t)(end - scanned);
				t->len = 0;
				return (int)lines;
			}
			memmove(t->buf, t->buf + start, end - start);
			t->len = end - start;
			if (t->len == sizeof(t->buf)) {
				/* a line longer than the buffer: drop it */
				if (!t->skipping)
					t->too_long++;
				t->skipping = true;
				t->len = 0;
			}
		}
		/* At the end of a file another has replaced: go on there. */
		if (lines < max_lines && rotated(t)) {
			nm_tail_close(t);
			follow(t);
			continue;
		}
		break;
	}
	return (int)lines;
}
