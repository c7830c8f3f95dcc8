// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The daemon's event stream, in batches (stream.h). */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nm_stream_open(struct nm_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->buf = malloc(NM_STREAM_BATCH);
	return s->buf ? 0 : -ENOMEM;
}

void nm_stream_close(struct nm_stream *s)
{
	nm_stream_flush(s);
	free(s->buf);
	s->buf = NULL;
}

static void log_write(struct nm_stream *s, const char *p, size_t n)
{
	int fd;

	/* anything the stream holds goes first (nothing else writes there) */
	if (fflush(s->log) || (fd = fileno(s->log)) < 0) {
		s->log_errors++;
		s->log_err = -errno;
		return;
	}
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->log_errors++;
			s->log_err = w < 0 ? -errno : -EIO;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void nm_stream_flush(struct nm_stream *s)
{
	if (!s->len)
		return;
	if (s->log)
		log_write(s, s->buf, s->len);
	if (s->evs)
		nm_evs_broadcast(s->evs, s->buf, s->len);
	s->len = 0;
}

char *nm_stream_room(struct nm_stream *s, size_t max)
{
	if (!s->buf || max > NM_STREAM_BATCH)
		return NULL;
	if (max > NM_STREAM_BATCH - s->len)
		nm_stream_flush(s);
	return s->buf + s->len;
}

void nm_stream_commit(struct nm_stream *s, size_t n)
{
	if (!n || n > NM_STREAM_BATCH - s->len)
		return;
	s->len += n;
	s->lines++;
}

void nm_stream_line(struct nm_stream *s, const char *line, size_t len)
{
	bool nl = len && line[len - 1] == '\n';
	char *p = nm_stream_room(s, len + !nl);

	if (!p)
		return;
	memcpy(p, line, len);
	if (!nl)
		p[len] = '\n';
	nm_stream_commit(s, len + !nl);
}
