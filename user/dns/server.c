// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * server.c - nomoat-dns's sockets: the UDP and TCP listeners of its
 * endpoints, the TCP connections, and asking the kernel who sent a query.
 *
 * UDP: for each datagram, setsockopt(NM_SO_DNSQ) names it by its 4-tuple
 * and getsockopt(NM_SO_DNSQ) returns the record the packet backstop wrote
 * as the query left its sandbox (include/nomoat.h).  TCP: the connection's
 * flow record (NM_SO_ORIGIN), read once at accept.  Both answers come from
 * programs of this process's cgroup, an origdst-only attach point: at start
 * nmd_selftest proves they are there, or nomoat-dns refuses to run.
 *
 * TCP: queries are framed by a 2-byte length (RFC 1035 4.2.2, RFC 7766),
 * several may be in flight on one connection (answered as they are ready,
 * NMD_TCP_PIPELINE at most), a connection idle for --tcp-idle is closed,
 * and at most --max-tcp are open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"

#define NMD_TCP_QMAX     4096  /* the longest query read over TCP */
#define NMD_TCP_PIPELINE 32    /* queries in flight on one connection */
#define NMD_TCP_OUTMAX   (256 * 1024)
#define NMD_UDP_BATCH    64    /* datagrams read in one turn of the loop */

struct nmd_tcp {
	int fd;
	int li;
	struct nmd_tcp *prev, *next; /* S->tcp_head: least recently active first */
	long long last_ms;
	uint8_t in[2 + NMD_TCP_QMAX];
	size_t inlen;
	uint8_t *out;
	size_t outlen, outcap;
	bool has_origin;
	struct nm_origin origin;
	struct sockaddr_storage client;
	socklen_t clen;
	unsigned refs;               /* queries in flight, + 1 while open */
	bool listed;                 /* on S->tcp_head's list */
	bool dead;
	bool want_out, reading;
};

/* The kernel's record of who sent the datagram from client to local. */
static bool udp_origin(int fd, const struct sockaddr_storage *client, const struct sockaddr_storage *local,
		       struct nm_origin *o)
{
	struct nm_flow_key k;
	socklen_t len = sizeof(*o);

	memset(&k, 0, sizeof(k));
	nm_svc_sa_words(client, k.client, &k.client_port);
	nm_svc_sa_words(local, k.proxy, &k.proxy_port);
	if (setsockopt(fd, nm_svc_sol(local->ss_family), NM_SO_DNSQ, &k, sizeof(k)) ||
	    getsockopt(fd, nm_svc_sol(local->ss_family), NM_SO_DNSQ, o, &len) || len != sizeof(*o))
		return false;
	return o->policy_id != 0;
}

int nmd_selftest(struct nmd *S, char *why, size_t len)
{
	struct nm_flow_key k = { 0 };
	struct nm_origin o;
	socklen_t olen = sizeof(o);
	int fd = S->ufd[0], fam = S->o.listen[0].ss_family;

	if (setsockopt(fd, nm_svc_sol(fam), NM_SO_DNSQ, &k, sizeof(k)) || getsockopt(fd, nm_svc_sol(fam), NM_SO_DNSQ, &o, &olen) ||
	    olen != sizeof(o)) {
		int err = errno;

		snprintf(why, len,
			 "the kernel does not say who sends a query here (%s): nomoat-dns must run in an origdst-only "
			 "attach point: add 'attach /nomoat-dns origdst-only' to the policy file (or run 'nomoat cgroup "
			 "attach /nomoat-dns --origdst-only') and start nomoat-dns with --cgroup /nomoat-dns",
			 strerror(err));
		return -err;
	}
	return 0;
}

static struct nmd_req *req_new(void)
{
	return calloc(1, sizeof(struct nmd_req));
}

void nmd_udp_ready(struct nmd *S, int li)
{
	int fd = S->ufd[li];

	for (int i = 0; i < NMD_UDP_BATCH; i++) {
		uint8_t buf[NMD_TCP_QMAX];
		struct sockaddr_storage client;
		socklen_t clen = sizeof(client);
		struct nmd_req *r;
		enum nmd_parse pr;
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&client, &clen);

		if (n < 0)
			return;
		S->st.udp++;
		r = req_new();
		if (!r)
			return;
		/* a datagram longer than any query is not one */
		pr = (size_t)n > sizeof(buf) ? NMD_P_DROP : nmd_query_parse(buf, (size_t)n, &r->q);
		r->ufd = fd;
		r->client = client;
		r->clen = clen;
		r->local = S->o.listen[li];
		r->start_ms = nm_svc_now_ms();
		if (pr != NMD_P_DROP)
			r->has_origin = udp_origin(fd, &client, &r->local, &r->origin);
		nmd_handle(S, r, pr);
	}
}

/* ---- TCP ------------------------------------------------------------------- */

static void tcp_unlink(struct nmd *S, struct nmd_tcp *tc)
{
	if (!tc->listed)
		return;
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		S->tcp_head = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	else
		S->tcp_tail = tc->prev;
	tc->prev = tc->next = NULL;
	tc->listed = false;
}

/* To the end of the list: the most recently active. */
static void tcp_touch(struct nmd *S, struct nmd_tcp *tc)
{
	tc->last_ms = nm_svc_now_ms();
	tcp_unlink(S, tc);
	tc->prev = S->tcp_tail;
	if (S->tcp_tail)
		S->tcp_tail->next = tc;
	else
		S->tcp_head = tc;
	S->tcp_tail = tc;
	tc->listed = true;
}

static void tcp_epoll(struct nmd *S, struct nmd_tcp *tc)
{
	struct epoll_event ev = { .events = (tc->reading ? EPOLLIN : 0) | (tc->outlen ? EPOLLOUT : 0) | EPOLLRDHUP };

	ev.data.u64 = (uint64_t)(uintptr_t)tc | NMD_TAG_TCP;
	epoll_ctl(S->ep, EPOLL_CTL_MOD, tc->fd, &ev);
}

static void tcp_close(struct nmd *S, struct nmd_tcp *tc)
{
	if (tc->dead)
		return;
	tc->dead = true;
	tcp_unlink(S, tc);
	epoll_ctl(S->ep, EPOLL_CTL_DEL, tc->fd, NULL);
	close(tc->fd);
	tc->fd = -1;
	S->ntcp--;
	nmd_tcp_release(S, tc);
}

void nmd_tcp_release(struct nmd *S, struct nmd_tcp *tc)
{
	(void)S;
	if (--tc->refs == 0) {
		free(tc->out);
		free(tc);
		return;
	}
	/* room again for the queries a full pipeline held back */
	if (!tc->dead && !tc->reading && tc->refs <= NMD_TCP_PIPELINE) {
		tc->reading = true;
		tcp_epoll(S, tc);
	}
}

void nmd_tcp_accept(struct nmd *S, int li)
{
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage client;
		socklen_t clen = sizeof(client), olen;
		struct epoll_event ev;
		struct nmd_tcp *tc;
		int fd = accept4(S->tfd[li], (struct sockaddr *)&client, &clen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (S->ntcp >= S->o.tcp_conns) {
			S->st.refused[NMD_RS_BUSY]++;
			close(fd);
			continue;
		}
		tc = calloc(1, sizeof(*tc));
		if (!tc) {
			close(fd);
			continue;
		}
		tc->fd = fd;
		tc->li = li;
		tc->client = client;
		tc->clen = clen;
		tc->refs = 1;
		tc->reading = true;
		olen = sizeof(tc->origin);
		tc->has_origin = getsockopt(fd, nm_svc_sol(S->o.listen[li].ss_family), NM_SO_ORIGIN, &tc->origin, &olen) == 0 &&
				 olen == sizeof(tc->origin) && tc->origin.policy_id;
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = (uint64_t)(uintptr_t)tc | NMD_TAG_TCP;
		if (epoll_ctl(S->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(tc);
			continue;
		}
		S->ntcp++;
		tcp_touch(S, tc);
	}
}

static void tcp_flush(struct nmd *S, struct nmd_tcp *tc)
{
	while (tc->outlen) {
		ssize_t n = send(tc->fd, tc->out, tc->outlen, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			tcp_close(S, tc);
			return;
		}
		memmove(tc->out, tc->out + n, tc->outlen - (size_t)n);
		tc->outlen -= (size_t)n;
	}
	tcp_epoll(S, tc);
}

void nmd_send(struct nmd *S, struct nmd_req *r, const uint8_t *msg, size_t len)
{
	struct nmd_tcp *tc = r->tc;

	if (!tc) {
		sendto(r->ufd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&r->client, r->clen);
		return;
	}
	if (tc->dead)
		return;
	if (tc->outlen + len > NMD_TCP_OUTMAX) { /* a client that does not read */
		tcp_close(S, tc);
		return;
	}
	if (tc->outlen + len > tc->outcap) {
		size_t cap = tc->outcap ? tc->outcap : 4096;
		uint8_t *o;

		while (cap < tc->outlen + len)
			cap *= 2;
		o = realloc(tc->out, cap);
		if (!o) {
			tcp_close(S, tc);
			return;
		}
		tc->out = o;
		tc->outcap = cap;
	}
	memcpy(tc->out + tc->outlen, msg, len);
	tc->outlen += len;
	tcp_flush(S, tc);
}

/* Every whole query in the buffer. */
static void tcp_queries(struct nmd *S, struct nmd_tcp *tc)
{
	size_t off = 0;

	while (!tc->dead && tc->inlen - off >= 2) {
		size_t qlen = (size_t)tc->in[off] << 8 | tc->in[off + 1];
		struct nmd_req *r;

		if (qlen > NMD_TCP_QMAX || qlen < NMD_HDR_LEN) {
			S->st.refused[NMD_RS_MALFORMED]++;
			tcp_close(S, tc);
			return;
		}
		if (tc->inlen - off < 2 + qlen)
			break;
		if (tc->refs > NMD_TCP_PIPELINE) {
			/* the rest waits for answers to go out */
			tc->reading = false;
			tcp_epoll(S, tc);
			break;
		}
		r = req_new();
		if (!r) {
			tcp_close(S, tc);
			return;
		}
		S->st.tcp++;
		r->tcp = true;
		r->tc = tc;
		tc->refs++;
		r->client = tc->client;
		r->clen = tc->clen;
		r->local = S->o.listen[tc->li];
		r->has_origin = tc->has_origin;
		r->origin = tc->origin;
		r->start_ms = nm_svc_now_ms();
		{
			enum nmd_parse pr = nmd_query_parse(tc->in + off + 2, qlen, &r->q);

			off += 2 + qlen;
			nmd_handle(S, r, pr);
		}
	}
	if (off && !tc->dead) {
		memmove(tc->in, tc->in + off, tc->inlen - off);
		tc->inlen -= off;
	}
}

void nmd_tcp_event(struct nmd *S, struct nmd_tcp *tc, uint32_t ev)
{
	tc->refs++; /* the connection stays while this runs */
	if (ev & EPOLLOUT)
		tcp_flush(S, tc);
	if (!tc->dead && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && tc->reading) {
		ssize_t n = recv(tc->fd, tc->in + tc->inlen, sizeof(tc->in) - tc->inlen, 0);

		if (n > 0) {
			tc->inlen += (size_t)n;
			tcp_touch(S, tc);
			tcp_queries(S, tc);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* the client is done: answers still owed go nowhere */
			tcp_close(S, tc);
		}
	} else if (!tc->dead && (ev & (EPOLLHUP | EPOLLERR))) {
		tcp_close(S, tc);
	}
	nmd_tcp_release(S, tc);
}

void nmd_tcp_timers(struct nmd *S, long long now)
{
	while (S->tcp_head && now - S->tcp_head->last_ms >= S->o.tcp_idle_ms)
		tcp_close(S, S->tcp_head);
}

static int bind_one(const struct sockaddr_storage *ss, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || (type == SOCK_STREAM && listen(fd, 512))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int nmd_server_start(struct nmd *S)
{
	char a[80];

	for (int i = 0; i < S->o.nlisten; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		S->ufd[i] = bind_one(&S->o.listen[i], SOCK_DGRAM);
		S->tfd[i] = S->o.no_tcp ? -1 : bind_one(&S->o.listen[i], SOCK_STREAM);
		if (S->ufd[i] < 0 || (!S->o.no_tcp && S->tfd[i] < 0)) {
			fprintf(stderr, "nomoat-dns: listen on %s: %s\n", nm_svc_sa_str(&S->o.listen[i], a, sizeof(a)),
				strerror(S->ufd[i] < 0 ? -S->ufd[i] : -S->tfd[i]));
			return -1;
		}
		ev.data.u64 = (uint64_t)i << 3 | NMD_TAG_UDP;
		if (epoll_ctl(S->ep, EPOLL_CTL_ADD, S->ufd[i], &ev))
			return -1;
		if (S->tfd[i] >= 0) {
			ev.data.u64 = (uint64_t)i << 3 | NMD_TAG_TCPL;
			if (epoll_ctl(S->ep, EPOLL_CTL_ADD, S->tfd[i], &ev))
				return -1;
		}
	}
	return 0;
}
