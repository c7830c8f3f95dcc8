/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * stream - the daemon's event stream: lines are written once into a batch
 * buffer and each batch goes out with one write to the log and one send to
 * each client (evserver.h), not a write per line.
 *
 * A line is either encoded in place (nm_stream_room(), then
 * nm_stream_commit() with its length) or copied in (nm_stream_line()).
 * The batch goes out when it is full and whenever the owner calls
 * nm_stream_flush(): the daemon does at the end of every ring-buffer pass
 * and of every loop round, so a line waits no longer than the work of one
 * round.  The log gets every line (a blocking write: a file or journald's
 * pipe); clients get what their bounded buffers allow (evserver.h).
 */
#ifndef NM_STREAM_H
#define NM_STREAM_H

#include <stdio.h>
#include <stddef.h>
#include <linux/types.h>
#include "evserver.h"

#define NM_STREAM_BATCH (256u << 10) /* bytes a batch holds at most */

struct nm_stream {
	FILE *log;           /* NULL: no log */
	struct nm_evs *evs;  /* NULL: no clients */
	char *buf;
	size_t len;
	__u64 lines;         /* lines written since open */
	__u64 log_errors;    /* failed writes to the log */
	int log_err;         /* the last one's errno, negative */
};

int nm_stream_open(struct nm_stream *s);
void nm_stream_close(struct nm_stream *s);
/* Room for a line of up to max bytes (flushing first if the batch has
 * less): where to encode it; NULL if max is over NM_STREAM_BATCH. */
char *nm_stream_room(struct nm_stream *s, size_t max);
/* The line at nm_stream_room() is n bytes, its newline included (0: none). */
void nm_stream_commit(struct nm_stream *s, size_t n);
/* Copy one complete line in (a missing newline is added). */
void nm_stream_line(struct nm_stream *s, const char *line, size_t len);
/* Send the batch: one write to the log, one broadcast to the clients. */
void nm_stream_flush(struct nm_stream *s);

#endif
