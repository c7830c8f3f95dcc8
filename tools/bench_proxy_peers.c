// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_proxy_peers.c - the two ends of the proxy part's traffic: the
 * server (C, epoll; GET /bulk: an endless body, GET /rr: 2 bytes on a
 * keep-alive connection) and the client (one stream, 64 streams,
 * keep-alive and new-connection exchanges, idle connections held), each
 * run by bench_proxy.c in its own namespace and cgroup.
 */
#include "bench_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- the server: HTTP/1.1, /bulk and /rr ----------------------------------- */
struct sconn {
	int fd;
	bool bulk, close_after;
	size_t inlen;
	char in[2048];
};

static const char bulk_head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				"Content-Length: 1099511627776\r\n\r\n";
static const char rr_resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
static const char rr_close[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
			       "Connection: close\r\n\r\nok";

static void sconn_close(int ep, struct sconn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Requests in c->in: answer every complete head.  -1: close it. */
static int serve_heads(int ep, struct sconn *c)
{
	char *end;

	while ((end = memmem(c->in, c->inlen, "\r\n\r\n", 4))) {
		size_t hl = (size_t)(end - c->in) + 4;

		if (!strncmp(c->in, "GET /bulk ", 10)) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

			if (send(c->fd, bulk_head, sizeof(bulk_head) - 1, MSG_NOSIGNAL) < 0)
				return -1;
			c->bulk = true;
			return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) ? -1 : 0;
		}
		c->close_after = memmem(c->in, hl, "Connection: close", 17) != NULL;
		if (c->close_after) {
			send(c->fd, rr_close, sizeof(rr_close) - 1, MSG_NOSIGNAL);
			return -1;
		}
		if (send(c->fd, rr_resp, sizeof(rr_resp) - 1, MSG_NOSIGNAL) != sizeof(rr_resp) - 1)
			return -1;
		memmove(c->in, c->in + hl, c->inlen - hl);
		c->inlen -= hl;
	}
	return c->inlen == sizeof(c->in) ? -1 : 0;
}

int bench_px_server(void *p)
{
	int *port_fd = p, one = 1;
	static char zeros[256 * 1024];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PX_SRV_PORT) };
	struct epoll_event evs[128], ev = { .events = EPOLLIN };
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), ep = epoll_create1(EPOLL_CLOEXEC);
	char ok = 1;

	inet_pton(AF_INET, PX_SRV, &sa.sin_addr);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || ep < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1024))
		return 1;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) || write(*port_fd, &ok, 1) != 1)
		return 1;
	close(*port_fd);
	for (uint64_t end = bench_now_ns() + 3600ull * 1000000000ull; !bench_stop && bench_now_ns() < end;) {
		int n = epoll_wait(ep, evs, 128, 1000);

		for (int i = 0; i < n; i++) {
			struct sconn *c = evs[i].data.ptr;

			if (!c) {
				for (int k = 0; k < 64; k++) {
					int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
					struct epoll_event e2 = { .events = EPOLLIN };

					if (fd < 0)
						break;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					e2.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e2)) {
						close(fd);
						free(c);
					}
				}
				continue;
			}
			if (c->bulk) {
				/* write until the socket is full; a read of 0 or an
				 * error on the way ends it */
				ssize_t w;

				if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
					sconn_close(ep, c);
					continue;
				}
				for (int k = 0; k < 64; k++) {
					w = send(c->fd, zeros, sizeof(zeros), MSG_NOSIGNAL | MSG_DONTWAIT);
					if (w <= 0)
						break;
				}
				if (w < 0 && errno != EAGAIN && errno != EINTR)
					sconn_close(ep, c);
				continue;
			}
			{
				ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);

				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					sconn_close(ep, c);
					continue;
				}
				if (r > 0) {
					c->inlen += (size_t)r;
					if (serve_heads(ep, c))
						sconn_close(ep, c);
				}
			}
		}
	}
	return 0;
}

/* ---- the client ------------------------------------------------------------ */
uint32_t bench_px_samples[BENCH_PX_SAMPLES];

static int dial(const struct sockaddr_in *dst, struct client_res *r)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || connect(fd, (const struct sockaddr *)dst, sizeof(*dst))) {
		r->err = errno;
		r->stage = 1;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_all(int fd, const char *s, size_t n, struct client_res *r)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0) {
			r->err = w < 0 ? errno : EPIPE;
			r->stage = 2;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one response (head + Content-Length body) from fd; buf keeps what
 * came after it.  0, or -1 with r filled. */
static int read_resp(int fd, char *buf, size_t cap, size_t *have, struct client_res *r, uint64_t deadline)
{
	for (;;) {
		char *e = memmem(buf, *have, "\r\n\r\n", 4);

		if (e) {
			size_t hl = (size_t)(e - buf) + 4, cl = 0;
			char *p = buf;

			/* Content-Length, case-insensitively, inside the head */
			while ((p = memchr(p, '\n', hl - (size_t)(p - buf))) && p < e) {
				p++;
				if (!strncasecmp(p, "Content-Length:", 15)) {
					cl = strtoul(p + 15, NULL, 10);
					break;
				}
			}
			if (*have >= hl + cl) {
				memmove(buf, buf + hl + cl, *have - hl - cl);
				*have -= hl + cl;
				return 0;
			}
		}
		if (*have == cap) {
			r->err = EPROTO;
			r->stage = 4;
			return -1;
		}
		{
			ssize_t n = recv(fd, buf + *have, cap - *have, 0);

			if (n <= 0) {
				r->err = n < 0 ? errno : ECONNRESET;
				r->stage = 3;
				return -1;
			}
			*have += (size_t)n;
		}
		if (bench_now_ns() > deadline) {
			r->err = ETIME;
			r->stage = 5;
			return -1;
		}
	}
}

static void bulk(const struct client_arg *a, int nconn, struct client_res *r)
{
	static char buf[256 * 1024];
	int fds[STREAMS], ep = epoll_create1(EPOLL_CLOEXEC), n = 0;
	uint64_t t0, t1, end, bytes = 0;
	struct timeval tv = { .tv_sec = 5 };

	for (; n < nconn; n++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)n };

		fds[n] = dial(&a->dst, r);
		if (fds[n] < 0)
			goto out;
		setsockopt(fds[n], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (send_all(fds[n], BULK_REQ, sizeof(BULK_REQ) - 1, r) || epoll_ctl(ep, EPOLL_CTL_ADD, fds[n], &ev)) {
			close(fds[n]);
			goto out;
		}
	}
	t0 = bench_now_ns();
	t1 = t0 + BULK_WARM_MS * 1000000ull;
	end = t0 + (BULK_WARM_MS + BULK_MS) * 1000000ull;
	for (uint64_t now = t0; now < end && !bench_stop; now = bench_now_ns()) {
		struct epoll_event evs[STREAMS];
		int k = epoll_wait(ep, evs, STREAMS, 1000);

		if (k <= 0) {
			r->err = k < 0 ? errno : ETIME;
			r->stage = 5;
			goto out;
		}
		for (int i = 0; i < k; i++) {
			ssize_t got = recv(fds[evs[i].data.u32], buf, sizeof(buf), MSG_DONTWAIT);

			if (got == 0 || (got < 0 && errno != EAGAIN)) {
				r->err = got < 0 ? errno : ECONNRESET;
				r->stage = 3;
				goto out;
			}
			if (got > 0 && now >= t1)
				bytes += (uint64_t)got;
		}
	}
	r->rate = bytes / (BULK_MS / 1e3);
out:
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(ep);
}

static void exchanges(const struct client_arg *a, bool newconn, struct client_res *r)
{
	char buf[8192];
	size_t have = 0;
	int count = newconn ? NC_COUNT : RR_COUNT, warm = newconn ? NC_WARM : RR_WARM, fd = -1;
	uint64_t deadline = bench_now_ns() + (CLIENT_MS - 2000) * 1000000ull, t0 = 0;
	struct timeval tv = { .tv_sec = 5 };

	for (int i = -warm; i < count && !bench_stop; i++) {
		uint64_t s = bench_now_ns();

		if (i == 0)
			t0 = s;
		if (fd < 0) {
			fd = dial(&a->dst, r);
			if (fd < 0)
				return;
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			have = 0;
		}
		if (newconn) {
			if (send_all(fd, NC_REQ, sizeof(NC_REQ) - 1, r) ||
			    read_resp(fd, buf, sizeof(buf), &have, r, deadline))
				break;
			/* then EOF: the server (or Squid) closes */
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				;
			close(fd);
			fd = -1;
		} else if (send_all(fd, RR_REQ, sizeof(RR_REQ) - 1, r) ||
			   read_resp(fd, buf, sizeof(buf), &have, r, deadline)) {
			break;
		}
		if (i >= 0) {
			uint64_t d = bench_now_ns() - s;

			bench_px_samples[r->n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		}
	}
	if (fd >= 0)
		close(fd);
	if (!r->err && r->n == (uint32_t)count)
		r->rate = count / ((bench_now_ns() - t0) / 1e9);
	else if (!r->err) {
		r->err = EINTR;
		r->stage = 5;
	}
}

/* IDLE_N connections, one keep-alive exchange each, then held idle until
 * the parent closes go_fd (the result is written before, so the parent
 * measures while they are open). */
static int idle_conns(const struct client_arg *a)
{
	static int fds[IDLE_N];
	struct client_res r = { 0 };
	uint64_t deadline = bench_now_ns() + (CLIENT_MS - 2000) * 1000000ull;
	struct timeval tv = { .tv_sec = 5 };
	char buf[1024], c;
	int n = 0;

	close(a->go_wr);

	while (n < IDLE_N) {
		size_t have = 0;
		int fd = dial(&a->dst, &r);

		if (fd < 0)
			break;
		fds[n++] = fd;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (send_all(fd, RR_REQ, sizeof(RR_REQ) - 1, &r) || read_resp(fd, buf, sizeof(buf), &have, &r, deadline))
			break;
	}
	r.rate = r.err ? 0 : n;
	if (bench_reply_write(a->out_fd, &r, sizeof(r), bench_px_samples, 0) == 0)
		while (!r.err && read(a->go_fd, &c, 1) < 0 && errno == EINTR)
			;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

int bench_px_client(void *p)
{
	struct client_arg *a = p;
	struct client_res r = { 0 };

	if (a->fig == FIG_IDLE)
		return idle_conns(a);
	switch (a->fig) {
	case BENCH_PX_BULK1:
		bulk(a, 1, &r);
		break;
	case BENCH_PX_BULK64:
		bulk(a, STREAMS, &r);
		break;
	case BENCH_PX_RR:
		exchanges(a, false, &r);
		break;
	default:
		exchanges(a, true, &r);
		break;
	}
	if (r.err)
		r.n = 0;
	return bench_reply_write(a->out_fd, &r, sizeof(r), bench_px_samples, r.n);
}

