// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * conn.c - a connection from accept to close (the state machine of
 * proxy.h): the limits at accept, sniffing the ClientHello or HTTP head
 * from peeked bytes, the decision against the policy's allowlist, the
 * upstream connect to the resolved addresses, refusals (403 and friends
 * with X-Nomoat-Reason, or a plain close for TLS), and the timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hostname.h"
#include "proxy.h"

struct nmp_proxy nmp;

/* Peeks land here: one buffer for the whole (single-threaded) loop. */
static char peekbuf[NMP_PEEK_MAX];

/* ---- timeout lists -------------------------------------------------------- */
void nmp_tlist_del(struct nmp_conn *c)
{
	struct nmp_tlist *l = c->tl;

	if (!l)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		l->head = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		l->tail = c->tprev;
	c->tprev = c->tnext = NULL;
	c->tl = NULL;
}

void nmp_tlist_put(struct nmp_tlist *l, struct nmp_conn *c, long long now)
{
	nmp_tlist_del(c);
	c->deadline = now + l->ms;
	c->tl = l;
	c->tprev = l->tail;
	if (l->tail)
		l->tail->tnext = c;
	else
		l->head = c;
	l->tail = c;
}

long long nmp_timers_next(void)
{
	struct nmp_tlist *ls[] = { &nmp.t_hs, &nmp.t_idle, &nmp.t_linger };
	long long next = -1;

	for (size_t i = 0; i < 3; i++)
		if (ls[i]->head && (next < 0 || ls[i]->head->deadline < next))
			next = ls[i]->head->deadline;
	return next;
}

/* ---- the end of a connection ------------------------------------------------ */
static void set_reason(struct nmp_conn *c, const char *verdict, enum nmp_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_reason(struct nmp_conn *c, const char *verdict, enum nmp_reason reason, const char *fmt, ...)
{
	va_list ap;

	c->verdict = verdict;
	c->reason = reason;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
		va_end(ap);
	}
}

static void epoll_del(int fd)
{
	if (fd >= 0)
		epoll_ctl(nmp.ep, EPOLL_CTL_DEL, fd, NULL);
}

void nmp_conn_close(struct nmp_conn *c)
{
	if (c->st == NMP_ST_DEAD)
		return;
	if (!c->logged) {
		nmp_log_conn(c);
		c->logged = true;
	}
	nmp_tlist_del(c);
	epoll_del(c->cfd);
	epoll_del(c->ufd);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	nmp_relay_free(c);
	free(c->head);
	c->head = NULL;
	if (c->counted)
		nmp_limits_give(nmp.lim, &c->key);
	c->counted = false;
	nmp.nconns--;
	c->st = NMP_ST_DEAD;
	c->gnext = nmp.graveyard;
	nmp.graveyard = c;
	if (nmp.accept_paused && nmp.nconns < nmp.o.max_conns) {
		for (int i = 0; i < nmp.o.nlisten; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i << 3 | NMP_TAG_LISTEN };

			epoll_ctl(nmp.ep, EPOLL_CTL_ADD, nmp.lfd[i], &ev);
		}
		nmp.accept_paused = false;
	}
}

void nmp_graveyard_free(void)
{
	struct nmp_conn *c = nmp.graveyard, *n;

	nmp.graveyard = NULL;
	for (; c; c = n) {
		n = c->gnext;
		/* a lookup still out: the resolver's answer frees it */
		if (!c->resolving && !c->on_ready)
			free(c);
	}
}

/* The answer to a refused HTTP or CONNECT request: status, the reason in a
 * header, and a short body naming reason and rule; then linger. */
static void refuse_http(struct nmp_conn *c, int status)
{
	const char *text = status == 403 ? "Forbidden" : status == 400 ? "Bad Request" :
			   status == 431 ? "Request Header Fields Too Large" : status == 502 ? "Bad Gateway" :
			   status == 503 ? "Service Unavailable" : status == 504 ? "Gateway Timeout" : "Error";
	char body[700], msg[1400];
	int bl, ml;
	ssize_t n;

	bl = snprintf(body, sizeof(body), "nomoat-proxy: %s %s%s%s (policy %s, rule %s)\n",
		      status == 403 ? "denied:" : "failed:", nmp_reason_name(c->reason), *c->detail ? ": " : "", c->detail,
		      *c->policy ? c->policy : "-", *c->rule ? c->rule : "none");
	if (bl < 0 || (size_t)bl >= sizeof(body))
		bl = (int)strlen(body);
	ml = snprintf(msg, sizeof(msg),
		      "HTTP/1.1 %d %s\r\nX-Nomoat-Reason: %s\r\n%s%s%sContent-Type: text/plain\r\n"
		      "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		      status, text, nmp_reason_name(c->reason), *c->rule ? "X-Nomoat-Rule: " : "", c->rule, *c->rule ? "\r\n" : "",
		      bl, body);
	if (ml < 0 || (size_t)ml >= sizeof(msg)) {
		nmp_conn_close(c);
		return;
	}
	/* a fresh socket's send buffer takes a short answer whole */
	n = send(c->cfd, msg, (size_t)ml, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != ml) {
		nmp_conn_close(c);
		return;
	}
	shutdown(c->cfd, SHUT_WR);
	if (c->ufd >= 0) {
		epoll_del(c->ufd);
		close(c->ufd);
		c->ufd = -1;
	}
	c->st = NMP_ST_LINGER;
	nmp_tlist_put(&nmp.t_linger, c, nm_svc_now_ms());
	nmp_conn_event(c, false, EPOLLIN); /* drain what is there already */
}

static bool is_http_kind(const struct nmp_conn *c)
{
	return c->kind == NMP_K_HTTP || c->kind == NMP_K_CONNECT || c->kind == NMP_K_ABSOLUTE;
}

/* Refuse: an HTTP answer where the client speaks HTTP, else a close. */
static void refuse(struct nmp_conn *c, int status)
{
	if (is_http_kind(c))
		refuse_http(c, status);
	else
		nmp_conn_close(c);
}

/* ---- connecting upstream ----------------------------------------------------- */
static void connected(struct nmp_conn *c);

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void try_connect(struct nmp_conn *c)
{
	while (c->addr_i < c->addrs.n) {
		struct sockaddr_storage *a = &c->addrs.a[c->addr_i++];
		struct epoll_event ev;
		int fd, rc;

		if (a->ss_family == AF_INET)
			((struct sockaddr_in *)a)->sin_port = htons(c->port);
		else
			((struct sockaddr_in6 *)a)->sin6_port = htons(c->port);
		fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c->last_err = errno;
			continue;
		}
		c->upstream = *a;
		c->have_upstream = true;
		rc = connect(fd, (struct sockaddr *)a, sa_len(a));
		if (rc == 0 || errno == EINPROGRESS) {
			ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
			ev.data.u64 = (uint64_t)(uintptr_t)c | NMP_TAG_UP;
			if (epoll_ctl(nmp.ep, EPOLL_CTL_ADD, fd, &ev)) {
				c->last_err = errno;
				close(fd);
				continue;
			}
			c->ufd = fd;
			if (rc == 0)
				connected(c);
			else
				c->st = NMP_ST_CONNECT;
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

		set_reason(c, "deny", NMP_R_UPSTREAM_DENIED, "the kernel refused the proxy's connect to %s (%s)",
			   nm_svc_sa_str(&c->upstream, a, sizeof(a)), strerror(c->last_err));
		refuse(c, 403);
	} else {
		set_reason(c, "deny", NMP_R_UPSTREAM_FAILED, "%s", strerror(c->last_err ? c->last_err : EHOSTUNREACH));
		refuse(c, 502);
	}
}

static void connect_done(struct nmp_conn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l) || err == EINPROGRESS)
		return;
	if (err == 0) {
		connected(c);
		return;
	}
	if (err == EPERM || err == EACCES)
		c->denied_by_kernel++;
	c->last_err = err;
	epoll_del(c->ufd);
	close(c->ufd);
	c->ufd = -1;
	try_connect(c);
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

static void connected(struct nmp_conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	c->st = NMP_ST_RELAY;
	if (c->kind == NMP_K_CONNECT || c->kind == NMP_K_ABSOLUTE) {
		c->head = malloc(c->head_len + 1);
		if (!c->head || !consume(c, c->head, c->head_len)) {
			set_reason(c, "allow", NMP_R_CLIENT_GONE, NULL);
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
	nmp_relay_start(c);
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
		set_reason(c, "deny", NMP_R_RESOLVE_FAILED, "%s does not resolve", c->name);
		refuse(c, 502);
		return;
	}
	try_connect(c);
}

/* ---- the decision -------------------------------------------------------------- */
/* raw: the name as the client gave it (SNI, Host, authority). */
static void decide(struct nmp_conn *c, const char *raw, size_t rawlen)
{
	const struct nmp_policy *pol;
	const struct nm_allow_entry *e;
	enum nm_host_kind k;
	char norm[NM_HOST_MAX + 2];
	int rc;

	pol = nmp_policy_by_name(&nmp.pols, c->policy);
	k = nm_host_norm(raw, rawlen, norm, sizeof(norm), NULL, 0);
	snprintf(c->name, sizeof(c->name), "%.*s", (int)rawlen, raw);
	if (!pol) {
		if (*c->policy)
			set_reason(c, "deny", NMP_R_UNKNOWN_POLICY, "no policy block '%s' in %s", c->policy, nmp.o.config);
		else if (c->has_origin)
			set_reason(c, "deny", NMP_R_UNKNOWN_POLICY, "policy id %u has no name in the pins",
				   c->origin.policy_id);
		else
			set_reason(c, "deny", NMP_R_UNKNOWN_POLICY, "not redirected by nomoat, and no --default-policy");
		refuse(c, 403);
		return;
	}
	if (k == NM_HOST_INVALID) {
		set_reason(c, "deny", NMP_R_BAD_NAME, "'%.100s' is not a host name", c->name);
		refuse(c, 403);
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", norm);
	if (k == NM_HOST_IPV4 || k == NM_HOST_IPV6) {
		if (!pol->ip_only) {
			set_reason(c, "deny", NMP_R_IP_LITERAL, "an IP address where a name is required");
			refuse(c, 403);
			return;
		}
		snprintf(c->rule, sizeof(c->rule), "ip-only");
	} else {
		e = nm_allow_match(&pol->allow, norm, c->port);
		if (e) {
			nm_allow_str(e, c->rule, sizeof(c->rule));
		} else if (pol->ip_only) {
			snprintf(c->rule, sizeof(c->rule), "ip-only");
		} else {
			set_reason(c, "deny", NMP_R_NOT_ALLOWED, "%s:%u is not in the allowlist", norm, c->port);
			refuse(c, 403);
			return;
		}
	}
	set_reason(c, "allow", NMP_R_ALLOWED, NULL);
	c->st = NMP_ST_RESOLVE;
	rc = nmp_resolve(nmp.res, c, norm, c->port, &c->addrs);
	if (rc == 1) {
		nmp_conn_resolved(c, &c->addrs);
	} else if (rc == 0) {
		c->resolving = true;
	} else if (rc == -EBUSY) {
		set_reason(c, "deny", NMP_R_RESOLVER_BUSY, "too many lookups waiting");
		refuse(c, 503);
	} else {
		set_reason(c, "deny", NMP_R_RESOLVE_FAILED, "%s is not in the hosts file", norm);
		refuse(c, 502);
	}
}

/* ip-only policy, transparent: straight to where the client was going. */
static void pass_ip_only(struct nmp_conn *c)
{
	struct sockaddr_storage ss = { 0 };

	c->kind = NMP_K_IPONLY;
	c->proto = "ip-only";
	snprintf(c->rule, sizeof(c->rule), "ip-only");
	set_reason(c, "allow", NMP_R_IP_ONLY, NULL);
	if (c->origin.family == 4) {
		struct sockaddr_in *s = (void *)&ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, &c->origin.addr[3], 4);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, c->origin.addr, 16);
	}
	c->addrs.a[0] = ss;
	c->addrs.n = 1;
	c->st = NMP_ST_CONNECT;
	try_connect(c);
}

/* A connection to one of the policy's synthetic addresses (names
 * synthetic): judged as the name nomoat-dns handed the address out for, on
 * the port the client dialled, whatever the protocol (nothing is sniffed;
 * the proxy resolves the name itself and connects only there).  True when
 * the address is one (then decided or refused here). */
static bool pass_synthetic(struct nmp_conn *c, const struct nmp_policy *pol)
{
	const uint8_t *a = c->origin.family == 4 ? (const uint8_t *)&c->origin.addr[3] : (const uint8_t *)c->origin.addr;
	char name[NM_HOST_MAX + 1];
	int rc = nmp_synth_name(pol, c->origin.family, a, name, sizeof(name));

	if (rc == 0)
		return false;
	c->kind = NMP_K_SYNTH;
	c->proto = "synthetic";
	if (rc == -ESTALE) {
		set_reason(c, "deny", NMP_R_SYNTHETIC_TABLE, "no table of synthetic names for policy %s in %s (is nomoat-dns running?)",
			   pol->name, nmp.o.names_dir);
		refuse(c, 403);
	} else if (rc < 0) {
		set_reason(c, "deny", NMP_R_UNKNOWN_SYNTHETIC, "no name was handed out for this synthetic address");
		refuse(c, 403);
	} else {
		decide(c, name, strlen(name));
	}
	return true;
}

static void sniff_tls(struct nmp_conn *c, size_t n, bool ended)
{
	struct nmp_sni s;
	enum nmp_sni_result r = nmp_sni_parse((const uint8_t *)peekbuf, n, &s);

	c->kind = NMP_K_TLS;
	c->proto = "tls";
	switch (r) {
	case NMP_SNI_NEED_MORE:
		if (ended) {
			set_reason(c, "none", NMP_R_CLIENT_CLOSED, "before a complete ClientHello");
			break;
		}
		if (n < sizeof(peekbuf))
			return;
		set_reason(c, "deny", NMP_R_BAD_CLIENTHELLO, "ClientHello does not fit %zu bytes", sizeof(peekbuf));
		break;
	case NMP_SNI_FOUND:
		if (!c->has_origin) {
			set_reason(c, "deny", NMP_R_NO_ORIGIN, "TLS straight to the proxy: no original destination");
			break;
		}
		decide(c, s.name, s.name_len);
		return;
	case NMP_SNI_NONE:
		set_reason(c, "deny", NMP_R_NO_SNI, "ClientHello without a server name");
		break;
	case NMP_SNI_MALFORMED:
		set_reason(c, "deny", NMP_R_BAD_CLIENTHELLO, "%s", s.why);
		break;
	case NMP_SNI_TOO_LARGE:
		set_reason(c, "deny", NMP_R_CLIENTHELLO_TOO_LARGE, "%s", s.why);
		break;
	}
	nmp_conn_close(c);
}

static void sniff_http(struct nmp_conn *c, size_t n, bool ended)
{
	struct nmp_http_req rq;
	enum nmp_http_result r = nmp_http_parse(peekbuf, n, &rq);
	char hn[NM_HOST_MAX + 2], tn[NM_HOST_MAX + 2];

	c->kind = NMP_K_HTTP;
	c->proto = "http";
	if (r == NMP_HTTP_NEED_MORE) {
		if (ended) {
			set_reason(c, "none", NMP_R_CLIENT_CLOSED, "before a complete request head");
			nmp_conn_close(c);
		}
		return;
	}
	if (r == NMP_HTTP_MALFORMED) {
		set_reason(c, "deny", NMP_R_BAD_REQUEST, "%s", rq.why);
		refuse(c, 400);
		return;
	}
	if (r == NMP_HTTP_TOO_LARGE) {
		set_reason(c, "deny", NMP_R_HEAD_TOO_LARGE, "%s", rq.why);
		refuse(c, 431);
		return;
	}
	c->head_len = rq.head_len;
	if (rq.connect) {
		c->kind = NMP_K_CONNECT;
		c->proto = "connect";
		c->port = rq.port;
	} else if (rq.form == NMP_FORM_ABSOLUTE) {
		c->kind = NMP_K_ABSOLUTE;
		c->proto = "absolute";
		c->port = rq.port ? rq.port : 80;
		if (rq.has_host_hdr &&
		    (nm_host_norm(rq.hdr_host, strlen(rq.hdr_host), hn, sizeof(hn), NULL, 0) == NM_HOST_INVALID ||
		     nm_host_norm(rq.host, strlen(rq.host), tn, sizeof(tn), NULL, 0) == NM_HOST_INVALID || strcmp(hn, tn))) {
			snprintf(c->name, sizeof(c->name), "%.255s", rq.host);
			set_reason(c, "deny", NMP_R_HOST_MISMATCH, "Host header '%s' names another host than the target",
				   rq.hdr_host);
			refuse(c, 403);
			return;
		}
	} else if (!c->has_origin) {
		set_reason(c, "deny", NMP_R_NOT_A_PROXY_REQUEST,
			   "a request to the proxy itself: use CONNECT or an absolute URI");
		refuse(c, 400);
		return;
	} else if (!*rq.host) {
		set_reason(c, "deny", NMP_R_NO_HOST, "HTTP/1.0 request without a Host header");
		refuse(c, 403);
		return;
	}
	decide(c, rq.host, strlen(rq.host));
}

/* ended: the client shut its write side (EPOLLRDHUP): what is there is
 * all there will be. */
static void sniff(struct nmp_conn *c, bool ended)
{
	ssize_t n = recv(c->cfd, peekbuf, sizeof(peekbuf), MSG_PEEK | MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		set_reason(c, "none", NMP_R_CLIENT_ERROR, "%s", strerror(errno));
		nmp_conn_close(c);
		return;
	}
	if (n == 0) {
		set_reason(c, "none", NMP_R_CLIENT_CLOSED, "before a complete request");
		nmp_conn_close(c);
		return;
	}
	if ((unsigned char)peekbuf[0] == 0x16 || ((unsigned char)peekbuf[0] & 0x80))
		sniff_tls(c, (size_t)n, ended);
	else
		sniff_http(c, (size_t)n, ended);
}

/* ---- events ------------------------------------------------------------------------ */
static void linger_drain(struct nmp_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->cfd, peekbuf, sizeof(peekbuf), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (c->linger_read += (unsigned)n) > 1024 * 1024) {
			nmp_conn_close(c);
			return;
		}
	}
}

void nmp_conn_event(struct nmp_conn *c, bool upstream, uint32_t ev)
{
	switch (c->st) {
	case NMP_ST_SNIFF:
		if (!upstream)
			sniff(c, ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
		break;
	case NMP_ST_CONNECT:
		if (upstream && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			connect_done(c);
		break;
	case NMP_ST_RELAY:
		if (nmp_relay_pump(c, ev ? nmp_relay_dirs(upstream, ev) : NMP_DIR_UP | NMP_DIR_DOWN) > 0 &&
		    !c->on_ready) {
			c->on_ready = true;
			c->rnext = nmp.ready;
			nmp.ready = c;
		}
		break;
	case NMP_ST_LINGER:
		if (!upstream)
			linger_drain(c);
		break;
	case NMP_ST_RESOLVE:
	case NMP_ST_DEAD:
		break;
	}
}

void nmp_ready_run(void)
{
	struct nmp_conn *c = nmp.ready, *n;

	nmp.ready = NULL;
	for (; c; c = n) {
		n = c->rnext;
		c->on_ready = false;
		if (c->st == NMP_ST_RELAY)
			nmp_conn_event(c, false, 0);
	}
}

void nmp_timers_run(long long now)
{
	struct nmp_conn *c;

	while ((c = nmp.t_hs.head) && c->deadline <= now) {
		nmp_tlist_del(c);
		if (c->st == NMP_ST_SNIFF)
			set_reason(c, "deny", NMP_R_HANDSHAKE_TIMEOUT, "no complete request within %u ms",
				   nmp.o.handshake_ms);
		else if (c->st == NMP_ST_RESOLVE)
			set_reason(c, "deny", NMP_R_RESOLVE_TIMEOUT, "no answer for %s", c->name);
		else if (c->st == NMP_ST_CONNECT)
			set_reason(c, "deny", NMP_R_CONNECT_TIMEOUT, "no answer from upstream");
		if (is_http_kind(c) && c->st != NMP_ST_SNIFF)
			refuse(c, 504);
		else
			nmp_conn_close(c);
	}
	while ((c = nmp.t_idle.head) && c->deadline <= now) {
		snprintf(c->detail, sizeof(c->detail), "idle for %u ms", nmp.o.idle_ms);
		c->reason = NMP_R_IDLE_TIMEOUT;
		nmp_conn_close(c);
	}
	while ((c = nmp.t_linger.head) && c->deadline <= now)
		nmp_conn_close(c);
}

/* ---- accept ------------------------------------------------------------------------- */
static void refuse_at_accept(int fd, const struct sockaddr_storage *ss, const struct nm_origin *o,
			     enum nmp_reason reason)
{
	struct nmp_conn c = { .cfd = -1, .ufd = -1, .client = *ss, .verdict = "deny", .reason = reason,
			      .proto = "", .start_ms = nm_svc_now_ms() };

	if (o) {
		c.has_origin = true;
		c.origin = *o;
	}
	nmp_log_conn(&c);
	close(fd);
}

static void pause_accept(void)
{
	for (int i = 0; i < nmp.o.nlisten; i++)
		epoll_ctl(nmp.ep, EPOLL_CTL_DEL, nmp.lfd[i], NULL);
	nmp.accept_paused = true;
}

void nmp_accept(int li)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct nm_origin o;
		socklen_t ol = sizeof(o);
		struct epoll_event ev;
		struct nmp_conn *c;
		bool has_origin;
		const char *pname = NULL;
		int fd;

		fd = accept4(nmp.lfd[li], (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
				pause_accept();
			return;
		}
		nmp.accepted++;
		has_origin = !getsockopt(fd, nm_svc_sol(nmp.lfamily[li]), NM_SO_ORIGIN, &o, &ol) &&
			     ol == sizeof(o);
		if (nmp.nconns >= nmp.o.max_conns) {
			nmp.refused_limit++;
			refuse_at_accept(fd, &ss, has_origin ? &o : NULL, NMP_R_MAX_CONNS);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse_at_accept(fd, &ss, has_origin ? &o : NULL, NMP_R_NO_MEMORY);
			continue;
		}
		c->cfd = fd;
		c->ufd = -1;
		c->down.pipe[0] = c->down.pipe[1] = c->up.pipe[0] = c->up.pipe[1] = -1;
		c->client = ss;
		c->lfamily = nmp.lfamily[li];
		c->start_ms = nm_svc_now_ms();
		c->proto = "";
		c->verdict = "none";
		c->reason = NMP_R_NONE;
		c->has_origin = has_origin;
		if (has_origin) {
			c->origin = o;
			c->port = ntohs(o.port);
			c->key.cgroup_id = o.cgroup_id;
		} else {
			__u16 port;

			nm_svc_sa_words(&ss, c->key.addr, &port);
		}
		if (!nmp_limits_take(nmp.lim, &c->key)) {
			nmp.refused_limit++;
			refuse_at_accept(fd, &ss, has_origin ? &o : NULL, NMP_R_MAX_PER_CLIENT);
			free(c);
			continue;
		}
		c->counted = true;
		nmp.nconns++;
		if (has_origin)
			nmp_policy_by_id(&nmp.pols, o.policy_id, &pname);
		else
			pname = nmp.o.default_policy;
		snprintf(c->policy, sizeof(c->policy), "%s", pname ? pname : "");
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.u64 = (uint64_t)(uintptr_t)c | NMP_TAG_CLIENT;
		if (epoll_ctl(nmp.ep, EPOLL_CTL_ADD, fd, &ev)) {
			nmp_conn_close(c);
			continue;
		}
		nmp_tlist_put(&nmp.t_hs, c, c->start_ms);
		if (has_origin && pname) {
			const struct nmp_policy *pol = nmp_policy_by_name(&nmp.pols, c->policy);

			if (pol && pol->synthetic && pass_synthetic(c, pol))
				; /* decided by the name behind the address */
			else if (pol && pol->ip_only)
				pass_ip_only(c);
		}
		if (nmp.nconns >= nmp.o.max_conns)
			break;
	}
}
