/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics - Prometheus text exposition (format 0.0.4) and a tiny HTTP/1.0
 * responder for GET /metrics.
 *
 * The builder renders into a growable buffer:
 *
 *     nm_metrics_begin(m);
 *     nm_metrics_family(m, "nomoat_decisions_total", NM_METRIC_COUNTER,
 *                       "Decisions by policy and verdict.");
 *     nm_metrics_u64(m, NM_LABELS({ "policy", "agents" }, { "verdict", "deny" }), 42);
 *     nm_metrics_u64(m, NULL, 0, 7);            (no labels)
 *
 * gives
 *
 *     # HELP nomoat_decisions_total Decisions by policy and verdict.
 *     # TYPE nomoat_decisions_total counter
 *     nomoat_decisions_total{policy="agents",verdict="deny"} 42
 *     nomoat_decisions_total 7
 *
 * Samples belong to the family last started and carry its name.  Metric and
 * label names are checked ([a-zA-Z_:][a-zA-Z0-9_:]*, [a-zA-Z_][a-zA-Z0-9_]*,
 * no leading "__"); a bad one is skipped and the first error is kept
 * (nm_metrics_error(): -EINVAL, or -ENOMEM when the buffer could not grow).
 * HELP text escapes \ and newline, label values \, " and newline, as the
 * format asks.  Floats print in the shortest form that reads back exactly,
 * NaN / +Inf / -Inf as the format spells them (the C locale is assumed).
 * Families are not checked for duplicates: start each one once.
 *
 * The responder listens on a unix socket path (anything starting with '/'
 * or '.'; mode 0600 and only root or the daemon's user served, see
 * nm_unix_listen and nm_unix_peer_ok in evserver.h) or on TCP at a
 * loopback address, "127.0.0.1:9464" (any of 127.0.0.0/8) or "[::1]:9464"
 * (port 0: any free port, see nm_mhttp_port).  Anything else is refused
 * before a socket is made: the endpoint has no authentication.  One request
 * per connection, HTTP/1.0 answers with Connection: close:
 *   GET or HEAD /metrics[?...]  200, Content-Type: text/plain; version=0.0.4,
 *                               the body from the caller's fill callback,
 *                               run once per request (500 if it fails)
 *   another path                404
 *   another method              405
 *   a malformed request line    400
 *   a head over 8 KiB           431
 *   past max connections (16)   503, then close
 * Each connection has a 5 s deadline from accept, whatever its state; after
 * the answer the server shuts down its sending side and waits (within the
 * deadline) for the client to close, so the answer is not cut by a reset.
 *
 * epoll: like evserver.h.  nm_mhttp_open() takes the caller's epoll fd and
 * a tag and registers its fds (the listening socket, a timerfd for the
 * deadlines, one per connection) with data.u64 = nm_epoll_data(tag, fd);
 * route every event of that tag to nm_mhttp_handle().  Nothing blocks.
 */
#ifndef NM_METRICS_H
#define NM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#include "evserver.h" /* nm_epoll_data(), nm_unix_listen() */

/* ---- the text builder ---------------------------------------------------- */
#define NM_METRIC_NAME_MAX 200

enum nm_metric_type {
	NM_METRIC_COUNTER,
	NM_METRIC_GAUGE,
	NM_METRIC_UNTYPED,
};

struct nm_label {
	const char *name;
	const char *value;
};

/* A label list literal and its length, for the sample calls:
 *   nm_metrics_u64(m, NM_LABELS({ "a", "x" }, { "b", "y" }), v) */
#define NM_LABELS(...) ((const struct nm_label[]){ __VA_ARGS__ }), \
	(sizeof((const struct nm_label[]){ __VA_ARGS__ }) / sizeof(struct nm_label))

struct nm_metrics {
	char *buf;      /* NUL-terminated text, len bytes */
	size_t len, cap;
	int err;        /* first error since nm_metrics_begin, or 0 */
	char family[NM_METRIC_NAME_MAX + 1]; /* "" before the first family */
};

void nm_metrics_init(struct nm_metrics *m);
void nm_metrics_free(struct nm_metrics *m);
/* Start a new exposition: empty the text (memory is kept), clear the error. */
void nm_metrics_begin(struct nm_metrics *m);
/* Start a family: "# HELP" (unless help is NULL) and "# TYPE" lines. */
void nm_metrics_family(struct nm_metrics *m, const char *name, enum nm_metric_type type, const char *help);
/* One sample of the current family; labels may be NULL when n is 0. */
void nm_metrics_u64(struct nm_metrics *m, const struct nm_label *labels, size_t n, __u64 v);
void nm_metrics_f64(struct nm_metrics *m, const struct nm_label *labels, size_t n, double v);
/* The first error since nm_metrics_begin (0: the text is complete). */
int nm_metrics_error(const struct nm_metrics *m);
/* The text so far (never NULL) and its length. */
const char *nm_metrics_text(const struct nm_metrics *m, size_t *len);

/* ---- the HTTP responder -------------------------------------------------- */
#define NM_MHTTP_HEAD_MAX    8192  /* request head limit (bytes) */
#define NM_MHTTP_DEADLINE_MS 5000  /* per connection, from accept */
#define NM_MHTTP_MAX_CONNS   16    /* open at once; more get 503 */
#define NM_MHTTP_CTYPE       "text/plain; version=0.0.4"

/* Fill the body: called with m already begun; return 0, or a negative
 * errno for a 500.  A builder error (nm_metrics_error) is a 500 too. */
typedef int (*nm_metrics_fill_fn)(struct nm_metrics *m, void *ctx);

struct nm_mhttp_conn;

struct nm_mhttp_stats {
	__u64 requests;   /* complete request heads answered */
	__u64 ok;         /* 200 answers */
	__u64 errors;     /* 4xx/5xx answers */
	__u64 timeouts;   /* connections closed at the deadline */
	__u64 refused;    /* over the limit, or a unix peer not root */
};

struct nm_mhttp {
	bool is_open;
	int lfd, tfd, epfd;
	__u32 tag;
	bool accept_paused;   /* out of fds: retried from the timer */
	bool is_unix;
	dev_t dev;
	ino_t ino;
	char path[NM_EVS_PATH_MAX];
	int port;             /* TCP: the bound port; unix: 0 */
	unsigned deadline_ms, max_conns, nconns;
	struct nm_mhttp_conn *conns[NM_MHTTP_MAX_CONNS];
	nm_metrics_fill_fn fill;
	void *ctx;
	struct nm_metrics m;  /* reused for every request */
	struct nm_mhttp_stats st;
};

/* Listen on addr (see above), register with epfd under tag.  -EINVAL
 * (NM_E_INPUT, nothing bound) for an address that is not a path or a
 * loopback ip:port; other negative errnos from socket calls. */
int nm_mhttp_open(struct nm_mhttp *h, const char *addr, int epfd, __u32 tag, nm_metrics_fill_fn fill,
		  void *ctx);
/* Change the limits (0 keeps the current; max_conns at most
 * NM_MHTTP_MAX_CONNS); for tests and tuning. */
void nm_mhttp_set_limits(struct nm_mhttp *h, unsigned deadline_ms, unsigned max_conns);
int nm_mhttp_fd(const struct nm_mhttp *h);   /* the listening fd */
int nm_mhttp_port(const struct nm_mhttp *h); /* TCP port bound, 0 for unix */

/* Dispatch one epoll event of this module's tag. */
void nm_mhttp_handle(struct nm_mhttp *h, int fd, __u32 events);
/* The parts of nm_mhttp_handle: */
void nm_mhttp_on_accept(struct nm_mhttp *h);
void nm_mhttp_on_readable(struct nm_mhttp *h, int fd);
void nm_mhttp_on_writable(struct nm_mhttp *h, int fd);
void nm_mhttp_on_hangup(struct nm_mhttp *h, int fd);
void nm_mhttp_on_timer(struct nm_mhttp *h); /* the timerfd fired */

void nm_mhttp_stats(const struct nm_mhttp *h, struct nm_mhttp_stats *st);
/* Close every connection and the sockets; unlink a unix path if it is still
 * ours.  Safe on a closed or never opened (zeroed) h. */
void nm_mhttp_close(struct nm_mhttp *h);

#endif
