// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * upstream.c - asking the upstream resolvers, with Debian's c-ares driven
 * from our epoll loop (its sockets reported through ARES_OPT_SOCK_STATE_CB,
 * its timers through ares_timeout).
 *
 * What goes upstream is rebuilt from (lower-case name, type) by c-ares
 * itself: a fresh id, RD, one question, no EDNS, nothing of the client's
 * message (its EDNS options, cookies, padding, case pattern, extra
 * records).  ares_query uses no search list and no hosts file.  The
 * servers are the policy file's dns-upstream, else those of
 * /etc/resolv.conf.  A server that does not answer within a third of
 * --upstream-timeout is asked again (twice in all, the second wait twice as
 * long), so a failure is SERVFAIL within the timeout.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "dns.h"

struct nmd_upstream {
	ares_channel ch;
	bool servers_dirty;       /* new servers to set once nothing is in flight */
};

struct upq {
	struct nmd *S;
	nmd_up_cb cb;
	void *arg;
	uint16_t qtype;
};

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct nmd *S = data;
	struct epoll_event ev = { .events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0) };

	ev.data.u64 = (uint64_t)(unsigned)fd << 3 | NMD_TAG_UP;
	if (!readable && !writable) {
		epoll_ctl(S->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(S->ep, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(S->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int set_servers(struct nmd *S)
{
	struct ares_addr_port_node nodes[NM_CFG_MAX_UPSTREAMS];
	size_t n = S->pols.nup;

	if (!n)
		return 0; /* keep /etc/resolv.conf's */
	for (size_t i = 0; i < n; i++) {
		const struct nm_cfg_upstream *u = &S->pols.up[i];

		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
		nodes[i].family = u->family == 4 ? AF_INET : AF_INET6;
		if (u->family == 4)
			memcpy(&nodes[i].addr.addr4, u->addr, 4);
		else
			memcpy(&nodes[i].addr.addr6, u->addr, 16);
		nodes[i].udp_port = nodes[i].tcp_port = u->port;
	}
	return ares_set_servers_ports(S->up->ch, nodes) == ARES_SUCCESS ? 0 : -EBUSY;
}

int nmd_upstream_start(struct nmd *S)
{
	struct ares_options o = { 0 };
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
	int rc;

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return -EIO;
	if (!S->up) {
		S->up = calloc(1, sizeof(*S->up));
		if (!S->up)
			return -ENOMEM;
	}
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	/* 2 tries, the second twice as long: t + 2t = the whole timeout */
	o.timeout = (int)(S->o.up_timeout_ms / 3);
	if (o.timeout < 1)
		o.timeout = 1;
	o.tries = 2;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = S;
	rc = ares_init_options(&S->up->ch, &o, mask);
	if (rc != ARES_SUCCESS) {
		fprintf(stderr, "nomoat-dns: c-ares: %s\n", ares_strerror(rc));
		return -EIO;
	}
	if (set_servers(S)) {
		fprintf(stderr, "nomoat-dns: c-ares: cannot set the upstream servers\n");
		return -EIO;
	}
	return 0;
}

/* The policy file changed: its servers, as soon as c-ares takes them. */
void nmd_upstream_reload(struct nmd *S)
{
	S->up->servers_dirty = set_servers(S) != 0;
}

static unsigned cap_ttl(const struct nmd *S, int ttl)
{
	if (ttl < 0)
		return 0;
	return (unsigned)ttl > S->o.max_ttl ? S->o.max_ttl : (unsigned)ttl;
}

static void answered(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct upq *q = arg;
	struct nmd *S = q->S;
	struct nmd_answer a = { .rcode = NMD_R_NOERROR };
	int n = NMD_MAX_ADDRS, rc = status;

	(void)timeouts;
	if (status == ARES_SUCCESS) {
		unsigned ttl = ~0u;

		if (q->qtype == NMD_T_A) {
			struct ares_addrttl v[NMD_MAX_ADDRS];

			rc = ares_parse_a_reply(abuf, alen, NULL, v, &n);
			for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
				memcpy(a.addrs[i], &v[i].ipaddr, 4);
				ttl = cap_ttl(S, v[i].ttl) < ttl ? cap_ttl(S, v[i].ttl) : ttl;
			}
		} else {
			struct ares_addr6ttl v[NMD_MAX_ADDRS];

			rc = ares_parse_aaaa_reply(abuf, alen, NULL, v, &n);
			for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
				memcpy(a.addrs[i], &v[i].ip6addr, 16);
				ttl = cap_ttl(S, v[i].ttl) < ttl ? cap_ttl(S, v[i].ttl) : ttl;
			}
		}
		if (rc == ARES_SUCCESS) {
			a.naddrs = n;
			a.ttl = n ? ttl : S->o.neg_ttl;
		}
	}
	switch (rc) {
	case ARES_SUCCESS:
		break;
	case ARES_ENODATA:
		a.naddrs = 0;
		a.ttl = S->o.neg_ttl;
		break;
	case ARES_ENOTFOUND:
		a.rcode = NMD_R_NXDOMAIN;
		a.ttl = S->o.neg_ttl;
		break;
	case ARES_ETIMEOUT:
		a.rcode = NMD_R_SERVFAIL;
		a.reason = NMD_RS_UPSTREAM_TIMEOUT;
		snprintf(a.detail, sizeof(a.detail), "no upstream answer within %u ms", S->o.up_timeout_ms);
		break;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		a.rcode = NMD_R_SERVFAIL;
		a.reason = NMD_RS_UPSTREAM_FAILED;
		snprintf(a.detail, sizeof(a.detail), "resolver stopping");
		break;
	default:
		a.rcode = NMD_R_SERVFAIL;
		a.reason = NMD_RS_UPSTREAM_FAILED;
		snprintf(a.detail, sizeof(a.detail), "upstream: %s", ares_strerror(rc));
		break;
	}
	if (a.rcode == NMD_R_SERVFAIL)
		S->st.upstream_failed++;
	q->cb(S, q->arg, &a);
	free(q);
}

void nmd_upstream_query(struct nmd *S, const char *name, uint16_t qtype, nmd_up_cb cb, void *arg)
{
	struct upq *q = malloc(sizeof(*q));

	if (!q) {
		struct nmd_answer a = { .rcode = NMD_R_SERVFAIL, .reason = NMD_RS_UPSTREAM_FAILED };

		snprintf(a.detail, sizeof(a.detail), "out of memory");
		cb(S, arg, &a);
		return;
	}
	q->S = S;
	q->cb = cb;
	q->arg = arg;
	q->qtype = qtype;
	ares_query(S->up->ch, name, NMD_C_IN, qtype, answered, q);
}

void nmd_upstream_event(struct nmd *S, int fd, uint32_t ev)
{
	ares_process_fd(S->up->ch, (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
			(ev & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
}

int nmd_upstream_timers(struct nmd *S)
{
	struct timeval tv, *t;

	ares_process_fd(S->up->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	if (S->up->servers_dirty)
		S->up->servers_dirty = set_servers(S) != 0;
	t = ares_timeout(S->up->ch, NULL, &tv);
	if (!t)
		return -1;
	return (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
}

void nmd_upstream_stop(struct nmd *S)
{
	if (!S->up)
		return;
	ares_destroy(S->up->ch); /* callbacks run with ARES_EDESTRUCTION */
	free(S->up);
	S->up = NULL;
	ares_library_cleanup();
}
