/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * follow.h - the logs of the services nomoat redirects to, merged into the
 * daemon's event stream: nomoat-proxy's access log (proxy-log) and
 * nomoat-dns's log (dns-log), each followed like `tail -F` (tail.h).
 *
 * A line that is one JSON object goes into the stream as it is, except the
 * resolver's counters ({"type":"dns-stats",...}): the latest of those is
 * kept for the metrics (nomoat_dns_total{counter}, nomoat_dns_refused_total
 * {reason}), not streamed.
 */
#ifndef NM_FOLLOW_H
#define NM_FOLLOW_H

#include <stddef.h>
#include <linux/types.h>

#include "metrics.h"
#include "tail.h"

#define NM_FOLLOW_LINES_PER_TICK 4096

struct nm_follow {
	const char *what;           /* "proxy", "dns": for messages */
	struct nm_tail *t;          /* NULL: not followed */
	__u64 lines;                /* passed into the stream */
	char *stats;                /* the latest dns-stats line, or NULL */
	size_t stats_len;
};

typedef void (*nm_follow_emit)(const char *line, size_t len, void *arg);

/* Follow path ("" = stop following), from the end of what it holds now;
 * the same path again changes nothing.  0 or -ENOMEM. */
int nm_follow_set(struct nm_follow *f, const char *path);
/* New lines: each one to emit (with its newline), at most max. */
void nm_follow_read(struct nm_follow *f, nm_follow_emit emit, void *arg, unsigned max);
/* The resolver's counters from its latest stats line. */
void nm_follow_dns_metrics(const struct nm_follow *f, struct nm_metrics *mt);
void nm_follow_close(struct nm_follow *f);

#endif
