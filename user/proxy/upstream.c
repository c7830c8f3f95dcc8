// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * upstream.c - from an allowed name to a relay: the lookup (hosts file
 * at once, else the resolver's pool), a non-blocking connect to each
 * address in turn (the kernel may refuse one: the proxy's own policy),
 * and, once connected, the explicit request's head consumed (CONNECT:
 * answered 200; absolute-form: rewritten to origin-form for the server)
 * before relay.c takes over.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

/* ---- connecting upstream ----------------------------------------------------- */
static void connected(struct nmp_conn *c, uint32_t ev);

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

void nmp_upstream_connect(struct nmp_conn *c)
{
	nmp_set_state(c, NMP_ST_CONNECT);
	while (c->addr_i < c->addrs.n) {
		struct sockaddr_storage *a = &c->addrs.a[c->addr_i++];
		struct epoll_event ev;
		int fd, rc, one = 1;

		if (a->ss_family == AF_INET)
			((struct sockaddr_in *)a)->sin_port = htons(c->port);
		else
			((struct sockaddr_in6 *)a)->sin6_port = htons(c->port);
		fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c->last_err = errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->upstream = *a;
		c->have_upstream = true;
		rc = connect(fd, (struct sockaddr *)a, sa_len(a));
		if (rc == 0 || errno == EINPROGRESS) {
			ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
			ev.data.u64 = (uint64_t)(uintptr_t)c | NMP_TAG_UP;
			if (epoll_ctl(c->px->ep, EPOLL_CTL_ADD, fd, &ev)) {
				c->last_err = errno;
				close(fd);
				continue;
			}
			c->ufd = fd;
			if (rc == 0)
				connected(c, 0);
			return;
		}
		/* EPERM: the kernel refused it (the proxy's own policy) */
		if (errno == EPERM || errno == EACCES)
			c->denied_by_kernel++;
		c->last_err = errno;
		close(fd);
	}
	if (c->denied_by_kernel) {
		char a[80];

		nmp_set_reason(c, "deny", NMP_R_UPSTREAM_DENIED, "the kernel refused the proxy's connect to %s (%s)",
			       nm_svc_sa_str(&c->upstream, a, sizeof(a)), strerror(c->last_err));
		nmp_refuse(c, 403);
	} else {
		nmp_set_reason(c, "deny", NMP_R_UPSTREAM_FAILED, "%s", strerror(c->last_err ? c->last_err : EHOSTUNREACH));
		nmp_refuse(c, 502);
	}
}

void nmp_upstream_event(struct nmp_conn *c, uint32_t ev)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l) || err == EINPROGRESS)
		return;
	if (err == 0) {
		connected(c, ev);
		return;
	}
	if (err == EPERM || err == EACCES)
		c->denied_by_kernel++;
	c->last_err = err;
	close(c->ufd);
	c->ufd = -1;
	nmp_upstream_connect(c);
}

/* Consume n bytes of the client's head (peeked before: all there). */
static bool consume(struct nmp_conn *c, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(c->cfd, buf + got, n - got, MSG_DONTWAIT);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool set_pre(struct nmp_obuf *o, const char *s, size_t n)
{
	o->buf = malloc(n);
	if (!o->buf)
		return false;
	memcpy(o->buf, s, n);
	o->len = n;
	o->off = 0;
	return true;
}

/* absolute-form: the head again with an origin-form request line, without
 * Proxy-* headers, with a Host header. */
static bool rewrite_absolute(struct nmp_conn *c, const struct nmp_http_req *rq)
{
	size_t cap = c->head_len + NMP_HTTP_HOST_MAX + 64, n = 0;
	const char *p, *end = c->head + c->head_len - 2; /* before the empty line */
	char *out = malloc(cap);

	if (!out)
		return false;
	n += (size_t)snprintf(out + n, cap - n, "%s %s", rq->method,
			      rq->path_len && c->head[rq->path_off] == '/' ? "" : "/");
	memcpy(out + n, c->head + rq->path_off, rq->path_len);
	n += rq->path_len;
	n += (size_t)snprintf(out + n, cap - n, " HTTP/1.%d\r\n", rq->minor);
	if (!rq->has_host_hdr) {
		if (rq->port)
			n += (size_t)snprintf(out + n, cap - n, "Host: %s:%u\r\n", rq->host, rq->port);
		else
			n += (size_t)snprintf(out + n, cap - n, "Host: %s\r\n", rq->host);
	}
	for (p = c->head + rq->line_len; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p)) + 1;

		if (strncasecmp(p, "proxy-", 6)) {
			memcpy(out + n, p, (size_t)(e - p));
			n += (size_t)(e - p);
		}
		p = e;
	}
	memcpy(out + n, "\r\n", 2);
	n += 2;
	c->up.pre.buf = out;
	c->up.pre.len = n;
	c->up.pre.off = 0;
	return true;
}

/* Connected (ev: the upstream socket's event, 0 when at once). */
static void connected(struct nmp_conn *c, uint32_t ev)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	if (c->kind == NMP_K_CONNECT || c->kind == NMP_K_ABSOLUTE) {
		c->head = malloc(c->head_len + 1);
		if (!c->head || !consume(c, c->head, c->head_len)) {
			nmp_set_reason(c, "allow", NMP_R_CLIENT_GONE, NULL);
			nmp_conn_close(c);
			return;
		}
		c->head[c->head_len] = 0;
		if (c->kind == NMP_K_CONNECT) {
			if (!set_pre(&c->down.pre, ok, sizeof(ok) - 1)) {
				nmp_conn_close(c);
				return;
			}
		} else {
			struct nmp_http_req rq;

			if (nmp_http_parse(c->head, c->head_len, &rq) != NMP_HTTP_OK || !rewrite_absolute(c, &rq)) {
				nmp_conn_close(c);
				return;
			}
		}
		free(c->head);
		c->head = NULL;
	}
	/* the client's bytes are there (the head was only peeked); the
	 * server's only when its event said so */
	nmp_relay_start(c, NMP_DIR_UP | (!ev || (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ? NMP_DIR_DOWN : 0));
}

/* The resolver answered (or the hosts file did). */
void nmp_conn_resolved(struct nmp_conn *c, const struct nmp_addrs *a)
{
	c->resolving = false;
	if (c->st == NMP_ST_DEAD) {
		if (!c->on_ready)
			free(c);
		return;
	}
	c->addrs = *a;
	c->addr_i = 0;
	if (a->err || a->n == 0) {
		nmp_set_reason(c, "deny", NMP_R_RESOLVE_FAILED, "%s does not resolve", c->name);
		nmp_refuse(c, 502);
		return;
	}
	nmp_upstream_connect(c);
}

/* The name is allowed: its addresses (now from the hosts file, or later
 * from the pool), then the connect. */
void nmp_upstream_resolve(struct nmp_conn *c, const char *name)
{
	int rc;

	nmp_set_state(c, NMP_ST_RESOLVE);
	rc = nmp_resolve(c->px->res, c, name, c->port, &c->addrs);
	if (rc == 1) {
		nmp_conn_resolved(c, &c->addrs);
	} else if (rc == 0) {
		c->resolving = true;
	} else if (rc == -EBUSY) {
		nmp_set_reason(c, "deny", NMP_R_RESOLVER_BUSY, "too many lookups waiting");
		nmp_refuse(c, 503);
	} else {
		nmp_set_reason(c, "deny", NMP_R_RESOLVE_FAILED, "%s is not in the hosts file", name);
		nmp_refuse(c, 502);
	}
}
