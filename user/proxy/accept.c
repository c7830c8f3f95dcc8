// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * accept.c - a connection's first stage: accept, the kernel's record of
 * where it was going (NM_SO_ORIGIN: original destination, cgroup,
 * policy), the limits (connections at once, per client), registration in
 * the loop (both sockets edge-triggered, once, for their whole life), and
 * the decisions that need no head (ip-only, synthetic addresses).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

static void refuse_at_accept(struct nmp_proxy *px, int fd, const struct sockaddr_storage *ss,
			     const struct nm_origin *o, enum nmp_reason reason)
{
	struct nmp_conn c = { .px = px, .cfd = -1, .ufd = -1, .client = *ss, .verdict = "deny", .reason = reason,
			      .proto = "", .start_ms = nm_svc_now_ms() };

	if (o) {
		c.has_origin = true;
		c.origin = *o;
	}
	nmp_log_conn(&c);
	close(fd);
}

static void pause_accept(struct nmp_proxy *px)
{
	for (int i = 0; i < px->o.nlisten; i++)
		epoll_ctl(px->ep, EPOLL_CTL_DEL, px->lfd[i], NULL);
	px->accept_paused = true;
}

void nmp_accept_resume(struct nmp_proxy *px)
{
	for (int i = 0; i < px->o.nlisten; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i << 3 | NMP_TAG_LISTEN };

		epoll_ctl(px->ep, EPOLL_CTL_ADD, px->lfd[i], &ev);
	}
	px->accept_paused = false;
}

/* A new connection's record, or NULL (refused and logged here). */
static struct nmp_conn *conn_new(struct nmp_proxy *px, int li, int fd, const struct sockaddr_storage *ss,
				 const struct nm_origin *o)
{
	struct nmp_conn *c;
	const char *pname = NULL;

	if (px->nconns >= px->o.max_conns) {
		px->refused_limit++;
		refuse_at_accept(px, fd, ss, o, NMP_R_MAX_CONNS);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse_at_accept(px, fd, ss, o, NMP_R_NO_MEMORY);
		return NULL;
	}
	c->px = px;
	c->cfd = fd;
	c->ufd = -1;
	nmp_relay_init(c);
	c->client = *ss;
	c->lfamily = px->lfamily[li];
	c->start_ms = nm_svc_now_ms();
	c->proto = "";
	c->verdict = "none";
	c->reason = NMP_R_NONE;
	c->has_origin = o != NULL;
	if (o) {
		c->origin = *o;
		c->port = ntohs(o->port);
		c->key.cgroup_id = o->cgroup_id;
	} else {
		__u16 port;

		nm_svc_sa_words(ss, c->key.addr, &port);
	}
	if (!nmp_limits_take(px->lim, &c->key)) {
		px->refused_limit++;
		refuse_at_accept(px, fd, ss, o, NMP_R_MAX_PER_CLIENT);
		free(c);
		return NULL;
	}
	c->counted = true;
	px->nconns++;
	if (o)
		nmp_policy_by_id(&px->pols, o->policy_id, &pname);
	else
		pname = px->o.default_policy;
	snprintf(c->policy, sizeof(c->policy), "%s", pname ? pname : "");
	return c;
}

void nmp_accept(struct nmp_proxy *px, int li)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct nm_origin o;
		socklen_t ol = sizeof(o);
		struct epoll_event ev;
		struct nmp_conn *c;
		bool has_origin;
		int fd;

		/* TCP_NODELAY comes from the listener */
		fd = accept4(px->lfd[li], (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
				pause_accept(px);
			return;
		}
		px->accepted++;
		has_origin = !getsockopt(fd, nm_svc_sol(px->lfamily[li]), NM_SO_ORIGIN, &o, &ol) && ol == sizeof(o);
		c = conn_new(px, li, fd, &ss, has_origin ? &o : NULL);
		if (!c)
			continue;
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.u64 = (uint64_t)(uintptr_t)c | NMP_TAG_CLIENT;
		if (epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev)) {
			nmp_conn_close(c);
			continue;
		}
		nmp_set_state(c, NMP_ST_SNIFF);
		if (has_origin && *c->policy)
			nmp_decide_at_accept(c);
		if (px->nconns >= px->o.max_conns)
			break;
	}
}
