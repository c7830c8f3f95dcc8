// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The GET /metrics responder (metrics.h); the text builder is in
 * metrics_text.c. */
#include "metrics.h"
#include "err.h"
#include "parse.h"
#include "svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ==== the HTTP responder ================================================== */

#define ACCEPT_BATCH 16
#define READ_BATCH   16
#define SEND_BATCH   64
#define RETRY_MS     100 /* accepting again after running out of fds */

enum conn_state {
	C_READ,   /* reading the request head */
	C_WRITE,  /* sending the answer */
	C_LINGER, /* answer sent and SHUT_WR: waiting for the client's close */
};

struct nm_mhttp_conn {
	int fd;
	enum conn_state state;
	__u32 events;      /* what epoll has now */
	__u64 deadline_ns; /* CLOCK_MONOTONIC */
	size_t rlen;
	char *out;         /* the answer, out[off..olen) unsent */
	size_t off, olen;
	char req[NM_MHTTP_HEAD_MAX];
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int hep_ctl(struct nm_mhttp *h, int op, int fd, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.u64 = nm_epoll_data(h->tag, fd) };

	return epoll_ctl(h->epfd, op, fd, &ev) ? -errno : 0;
}

/* ---- addresses ----------------------------------------------------------- */

static int bad_addr(const char *addr, const char *why)
{
	return nm_fail(NM_E_INPUT, -EINVAL, "metrics address '%s': %s", addr, why);
}

/* "127.x.y.z:port" or "[::1]:port" (port 0: any) into ss: nm_parse_endpoint's
 * grammar (nm_svc_sockaddr); only loopback addresses. */
static int parse_tcp(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;
	char err[NM_ERR_LEN];

	if (nm_svc_sockaddr(addr, 0, ss, sslen, err, sizeof(err)))
		return nm_fail(NM_E_INPUT, -EINVAL, "metrics address %s (or a unix socket path)", err);
	if (ss->ss_family == AF_INET6 ? !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)
				      : (ntohl(s4->sin_addr.s_addr) >> 24) != 127)
		return bad_addr(addr, "not a loopback address (the metrics endpoint has no "
				      "authentication: use 127.0.0.0/8, [::1] or a unix socket)");
	return 0;
}

static int tcp_listen(const char *addr, const struct sockaddr_storage *ss, socklen_t sslen, int *port)
{
	int one = 1, fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		return nm_fail(NM_E_RUNTIME, err, "socket: %s", strerror(-err));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sslen) || listen(fd, SOMAXCONN)) {
		err = -errno;
		close(fd);
		return nm_fail(NM_E_RUNTIME, err, "cannot listen on %s: %s", addr, strerror(-err));
	}
	{
		struct sockaddr_storage b;
		socklen_t bl = sizeof(b);

		if (!getsockname(fd, (struct sockaddr *)&b, &bl))
			*port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
							      : ((struct sockaddr_in *)&b)->sin_port);
	}
	return fd;
}

/* ---- deadlines ----------------------------------------------------------- */

/* Arm the timerfd for the earliest deadline (or a retry of accept). */
static void timer_arm(struct nm_mhttp *h)
{
	struct itimerspec its = { 0 };
	__u64 next = 0;

	for (unsigned i = 0; i < h->nconns; i++)
		if (!next || h->conns[i]->deadline_ns < next)
			next = h->conns[i]->deadline_ns;
	if (h->accept_paused) {
		__u64 retry = mono_ns() + RETRY_MS * 1000000ULL;

		if (!next || retry < next)
			next = retry;
	}
	if (next) {
		its.it_value.tv_sec = (time_t)(next / 1000000000ULL);
		its.it_value.tv_nsec = (long)(next % 1000000000ULL);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Accepting again (after running out of fds): a connection closed, or the
 * timer's retry. */
static void accept_resume(struct nm_mhttp *h)
{
	nm_accept_pause(h->epfd, h->tag, h->lfd, &h->accept_paused, false);
}

/* ---- connections --------------------------------------------------------- */

static int conn_index(const struct nm_mhttp *h, int fd)
{
	for (unsigned i = 0; i < h->nconns; i++)
		if (h->conns[i]->fd == fd)
			return (int)i;
	return -1;
}

static void conn_close(struct nm_mhttp *h, unsigned i)
{
	struct nm_mhttp_conn *c = h->conns[i];

	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	h->conns[i] = h->conns[--h->nconns];
	accept_resume(h);
}

static void conn_interest(struct nm_mhttp *h, struct nm_mhttp_conn *c)
{
	__u32 want = c->state == C_WRITE ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;

	if (want != c->events && !hep_ctl(h, EPOLL_CTL_MOD, c->fd, want))
		c->events = want;
}

static const char *status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	default: return "Service Unavailable";
	}
}

/* The whole answer in one buffer: head, then body unless HEAD. */
static int answer(struct nm_mhttp_conn *c, int code, const char *ctype, const char *body, size_t blen, bool head_only)
{
	char head[256];
	int hn;

	hn = snprintf(head, sizeof(head),
		      "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		      code, status_text(code), ctype, blen, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (head_only)
		blen = 0;
	free(c->out);
	c->out = malloc((size_t)hn + blen);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)hn);
	if (blen)
		memcpy(c->out + hn, body, blen);
	c->olen = (size_t)hn + blen;
	c->off = 0;
	c->state = C_WRITE;
	return 0;
}

static int answer_error(struct nm_mhttp *h, struct nm_mhttp_conn *c, int code, const char *msg, bool head_only)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "%d %s%s%s\n", code, status_text(code), msg ? ": " : "", msg ? msg : "");

	if (n >= (int)sizeof(body))
		n = (int)sizeof(body) - 1;
	h->st.errors++;
	return answer(c, code, "text/plain; charset=utf-8", body, (size_t)n, head_only);
}

static int answer_metrics(struct nm_mhttp *h, struct nm_mhttp_conn *c, bool head_only)
{
	const char *text;
	size_t len;
	int ret;

	nm_metrics_begin(&h->m);
	ret = h->fill ? h->fill(&h->m, h->ctx) : 0;
	if (!ret)
		ret = nm_metrics_error(&h->m);
	if (ret)
		return answer_error(h, c, 500, strerror(-ret), head_only);
	text = nm_metrics_text(&h->m, &len);
	h->st.ok++;
	return answer(c, 200, NM_MHTTP_CTYPE, text, len, head_only);
}

/* Length of the head if c->req holds a complete one, else 0. */
static size_t head_end(const struct nm_mhttp_conn *c)
{
	for (size_t i = 0; i + 1 < c->rlen; i++) {
		if (c->req[i] != '\n')
			continue;
		if (c->req[i + 1] == '\n')
			return i + 2;
		if (c->req[i + 1] == '\r' && i + 2 < c->rlen && c->req[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* "METHOD SP target SP HTTP/1.x" -> the answer. */
static int route(struct nm_mhttp *h, struct nm_mhttp_conn *c)
{
	char line[512], *sp1, *sp2, *q;
	size_t n = 0;
	bool get, head;

	while (n < c->rlen && c->req[n] != '\r' && c->req[n] != '\n')
		n++;
	if (n >= sizeof(line))
		return answer_error(h, c, 400, "request line too long", false);
	memcpy(line, c->req, n);
	line[n] = 0;
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || strncmp(sp2 + 1, "HTTP/1.", 7))
		return answer_error(h, c, 400, "malformed request line", false);
	*sp1 = *sp2 = 0;
	get = !strcmp(line, "GET");
	head = !strcmp(line, "HEAD");
	if (!get && !head)
		return answer_error(h, c, 405, "only GET and HEAD", false);
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = 0;
	if (strcmp(sp1 + 1, "/metrics"))
		return answer_error(h, c, 404, "try /metrics", head);
	return answer_metrics(h, c, head);
}

/* Send what the socket takes; at the end shut down our side and linger.
 * 0, or a negative errno: close it. */
static int conn_flush(struct nm_mhttp_conn *c)
{
	int ret = nm_send_pending(c->fd, c->out, &c->off, c->olen, SEND_BATCH);

	if (ret || c->off < c->olen)
		return ret;
	free(c->out);
	c->out = NULL;
	c->state = C_LINGER;
	return shutdown(c->fd, SHUT_WR) ? -errno : 0;
}

/* A request head is complete (or too big): answer it. */
static int conn_respond(struct nm_mhttp *h, struct nm_mhttp_conn *c, bool too_big)
{
	int ret;

	h->st.requests++;
	ret = too_big ? answer_error(h, c, 431, "request head over 8 KiB", false) : route(h, c);
	return ret ? ret : conn_flush(c);
}

/* Read the head (C_READ) or discard (C_LINGER).  0, or <0: close it. */
static int conn_read(struct nm_mhttp *h, struct nm_mhttp_conn *c)
{
	char sink[1024];

	for (int n = 0; n < READ_BATCH && c->state != C_WRITE; n++) {
		bool reading = c->state == C_READ;
		size_t room = reading ? sizeof(c->req) - c->rlen : sizeof(sink);
		ssize_t r = recv(c->fd, reading ? c->req + c->rlen : sink, room, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET; /* EOF: done (or gave up) */
		if (!reading)
			continue;
		c->rlen += (size_t)r;
		if (head_end(c))
			return conn_respond(h, c, false);
		if (c->rlen == sizeof(c->req))
			return conn_respond(h, c, true);
	}
	return 0;
}

/* A new connection (nm_accept_batch's add): 0, -EBUSY over max_conns,
 * or another negative errno. */
static int conn_add(void *server, int fd)
{
	struct nm_mhttp *h = server;
	struct nm_mhttp_conn *c;

	if (h->nconns >= h->max_conns)
		return -EBUSY;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->state = C_READ;
	c->events = EPOLLIN | EPOLLRDHUP;
	c->deadline_ns = mono_ns() + (__u64)h->deadline_ms * 1000000ULL;
	c->rlen = c->off = c->olen = 0;
	c->out = NULL;
	if (hep_ctl(h, EPOLL_CTL_ADD, fd, c->events)) {
		free(c);
		return -EIO;
	}
	h->conns[h->nconns++] = c;
	return 0;
}

/* ---- the server ---------------------------------------------------------- */

static int listen_on(struct nm_mhttp *h, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int ret;

	if (!addr || !*addr)
		return nm_fail(NM_E_INPUT, -EINVAL, "metrics address is empty");
	if (addr[0] == '/' || addr[0] == '.') {
		ret = nm_unix_listen(addr, &h->dev, &h->ino);
		if (ret >= 0) {
			h->is_unix = true;
			snprintf(h->path, sizeof(h->path), "%s", addr);
		}
		return ret;
	}
	ret = parse_tcp(addr, &ss, &sslen);
	if (ret)
		return ret;
	return tcp_listen(addr, &ss, sslen, &h->port);
}

int nm_mhttp_open(struct nm_mhttp *h, const char *addr, int epfd, __u32 tag, nm_metrics_fill_fn fill, void *ctx)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->lfd = h->tfd = -1;
	h->epfd = epfd;
	h->tag = tag;
	h->fill = fill;
	h->ctx = ctx;
	h->deadline_ms = NM_MHTTP_DEADLINE_MS;
	h->max_conns = NM_MHTTP_MAX_CONNS;
	nm_metrics_init(&h->m);
	if (epfd < 0)
		return nm_fail(NM_E_INPUT, -EBADF, "metrics server: no epoll fd");
	ret = listen_on(h, addr);
	if (ret < 0)
		return ret;
	h->lfd = ret;
	h->is_open = true;
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->tfd < 0) {
		ret = -errno;
		nm_mhttp_close(h);
		return nm_fail(NM_E_RUNTIME, ret, "timerfd_create: %s", strerror(-ret));
	}
	ret = hep_ctl(h, EPOLL_CTL_ADD, h->lfd, EPOLLIN);
	if (!ret)
		ret = hep_ctl(h, EPOLL_CTL_ADD, h->tfd, EPOLLIN);
	if (ret) {
		nm_mhttp_close(h);
		return nm_fail(NM_E_RUNTIME, ret, "epoll_ctl: %s", strerror(-ret));
	}
	return 0;
}

void nm_mhttp_set_limits(struct nm_mhttp *h, unsigned deadline_ms, unsigned max_conns)
{
	if (deadline_ms)
		h->deadline_ms = deadline_ms;
	if (max_conns)
		h->max_conns = max_conns < NM_MHTTP_MAX_CONNS ? max_conns : NM_MHTTP_MAX_CONNS;
}

int nm_mhttp_fd(const struct nm_mhttp *h)
{
	return h->lfd;
}

int nm_mhttp_port(const struct nm_mhttp *h)
{
	return h->port;
}

void nm_mhttp_on_accept(struct nm_mhttp *h)
{
	/* over the limit: a short 503, then close */
	static const char busy[] = "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
				   "Content-Length: 20\r\nConnection: close\r\n\r\n503 too many scrapes";

	if (nm_accept_batch(h->lfd, ACCEPT_BATCH, h->is_unix, conn_add, h, busy, &h->st.refused))
		nm_accept_pause(h->epfd, h->tag, h->lfd, &h->accept_paused, true); /* retried from the timer */
	timer_arm(h);
}

void nm_mhttp_on_readable(struct nm_mhttp *h, int fd)
{
	int i = conn_index(h, fd);

	if (i < 0)
		return;
	if (conn_read(h, h->conns[i]))
		conn_close(h, (unsigned)i);
	else
		conn_interest(h, h->conns[i]);
	timer_arm(h);
}

void nm_mhttp_on_writable(struct nm_mhttp *h, int fd)
{
	int i = conn_index(h, fd);

	if (i < 0 || h->conns[i]->state != C_WRITE)
		return;
	if (conn_flush(h->conns[i]))
		conn_close(h, (unsigned)i);
	else
		conn_interest(h, h->conns[i]);
	timer_arm(h);
}

void nm_mhttp_on_hangup(struct nm_mhttp *h, int fd)
{
	struct pollfd p = { .fd = fd, .events = 0 };
	int i = conn_index(h, fd);

	/* the event may be stale (fd closed and reused in the same batch) */
	if (i >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
		conn_close(h, (unsigned)i);
		timer_arm(h);
	}
}

void nm_mhttp_on_timer(struct nm_mhttp *h)
{
	__u64 exp, now = mono_ns();

	(void)!read(h->tfd, &exp, sizeof(exp));
	for (unsigned i = h->nconns; i-- > 0;) {
		if (h->conns[i]->deadline_ns > now)
			continue;
		h->st.timeouts++;
		conn_close(h, i);
	}
	accept_resume(h);
	timer_arm(h);
}

void nm_mhttp_handle(struct nm_mhttp *h, int fd, __u32 events)
{
	if (fd == h->lfd) {
		nm_mhttp_on_accept(h);
		return;
	}
	if (fd == h->tfd) {
		nm_mhttp_on_timer(h);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		nm_mhttp_on_hangup(h, fd);
		if (conn_index(h, fd) < 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP))
		nm_mhttp_on_readable(h, fd);
	if (events & EPOLLOUT)
		nm_mhttp_on_writable(h, fd);
}

void nm_mhttp_stats(const struct nm_mhttp *h, struct nm_mhttp_stats *st)
{
	*st = h->st;
}

void nm_mhttp_close(struct nm_mhttp *h)
{
	if (!h->is_open)
		return;
	for (unsigned i = h->nconns; i-- > 0;)
		conn_close(h, i);
	if (h->tfd >= 0) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->tfd, NULL);
		close(h->tfd);
	}
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->lfd, NULL);
	close(h->lfd);
	if (h->is_unix)
		nm_unix_unlink(h->path, h->dev, h->ino);
	nm_metrics_free(&h->m);
	h->lfd = h->tfd = -1;
	h->path[0] = 0;
	h->is_open = false;
}
