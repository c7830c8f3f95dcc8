// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * conn.c - the state machine of proxy.h around the stages: the one state
 * setter and the timeout lists it keeps, events to the stage that wants
 * them, refusals (403 and friends with X-Nomoat-Reason, or a plain close
 * for TLS) and the linger after them, the timeouts, and the end of a
 * connection.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

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

long long nmp_timers_next(const struct nmp_proxy *px)
{
	const struct nmp_tlist *ls[] = { &px->t_hs, &px->t_idle, &px->t_linger };
	long long next = -1;

	for (size_t i = 0; i < 3; i++)
		if (ls[i]->head && (next < 0 || ls[i]->head->deadline < next))
			next = ls[i]->head->deadline;
	return next;
}

/* ---- states ----------------------------------------------------------------- */
void nmp_set_state(struct nmp_conn *c, enum nmp_state st)
{
	struct nmp_proxy *px = c->px;

	c->st = st;
	switch (st) {
	case NMP_ST_SNIFF:
	case NMP_ST_RESOLVE:
	case NMP_ST_CONNECT:
		/* one deadline for the whole handshake, from accept */
		if (c->tl != &px->t_hs)
			nmp_tlist_put(&px->t_hs, c, c->start_ms);
		break;
	case NMP_ST_RELAY:
		nmp_tlist_put(&px->t_idle, c, nm_svc_now_ms());
		break;
	case NMP_ST_LINGER:
		nmp_tlist_put(&px->t_linger, c, nm_svc_now_ms());
		break;
	case NMP_ST_DEAD:
		nmp_tlist_del(c);
		break;
	}
}

void nmp_set_reason(struct nmp_conn *c, const char *verdict, enum nmp_reason reason, const char *fmt, ...)
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

/* ---- the end of a connection ------------------------------------------------ */
void nmp_conn_close(struct nmp_conn *c)
{
	struct nmp_proxy *px = c->px;

	if (c->st == NMP_ST_DEAD)
		return;
	if (!c->logged) {
		nmp_log_conn(c);
		c->logged = true;
	}
	/* close() takes a socket out of the epoll set: it is never dup'ed */
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	nmp_relay_free(c);
	free(c->head);
	c->head = NULL;
	if (c->counted)
		nmp_limits_give(px->lim, &c->key);
	c->counted = false;
	px->nconns--;
	nmp_set_state(c, NMP_ST_DEAD);
	c->gnext = px->graveyard;
	px->graveyard = c;
	if (px->accept_paused && px->nconns < px->o.max_conns)
		nmp_accept_resume(px);
}

void nmp_graveyard_free(struct nmp_proxy *px)
{
	struct nmp_conn *c = px->graveyard, *n;

	px->graveyard = NULL;
	for (; c; c = n) {
		n = c->gnext;
		/* a lookup still out: the resolver's answer frees it */
		if (!c->resolving && !c->on_ready)
			free(c);
	}
}

/* ---- refusals ---------------------------------------------------------------- */
static void linger_drain(struct nmp_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->cfd, c->px->peekbuf, sizeof(c->px->peekbuf), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (c->linger_read += (unsigned)n) > 1024 * 1024) {
			nmp_conn_close(c);
			return;
		}
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
		close(c->ufd);
		c->ufd = -1;
	}
	nmp_set_state(c, NMP_ST_LINGER);
	linger_drain(c); /* what is there already */
}

static bool is_http_kind(const struct nmp_conn *c)
{
	return c->kind == NMP_K_HTTP || c->kind == NMP_K_CONNECT || c->kind == NMP_K_ABSOLUTE;
}

void nmp_refuse(struct nmp_conn *c, int status)
{
	if (is_http_kind(c))
		refuse_http(c, status);
	else
		nmp_conn_close(c);
}

/* ---- events ------------------------------------------------------------------------ */
void nmp_conn_event(struct nmp_conn *c, bool upstream, uint32_t ev)
{
	/* a hang-up in any state: the relay reads that side on to its EOF */
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		(upstream ? &c->down : &c->up)->drain = true;
	switch (c->st) {
	case NMP_ST_SNIFF:
		if (!upstream)
			nmp_sniff(c, ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
		break;
	case NMP_ST_CONNECT:
		if (upstream)
			nmp_upstream_event(c, ev);
		break;
	case NMP_ST_RELAY:
		nmp_relay_event(c, upstream, ev);
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

void nmp_ready_run(struct nmp_proxy *px)
{
	struct nmp_conn *c = px->ready, *n;

	px->ready = NULL;
	for (; c; c = n) {
		n = c->rnext;
		c->on_ready = false;
		if (c->st == NMP_ST_RELAY)
			nmp_relay_resume(c);
	}
}

void nmp_timers_run(struct nmp_proxy *px, long long now)
{
	struct nmp_conn *c;

	while ((c = px->t_hs.head) && c->deadline <= now) {
		nmp_tlist_del(c);
		if (c->st == NMP_ST_SNIFF)
			nmp_set_reason(c, "deny", NMP_R_HANDSHAKE_TIMEOUT, "no complete request within %u ms",
				       px->o.handshake_ms);
		else if (c->st == NMP_ST_RESOLVE)
			nmp_set_reason(c, "deny", NMP_R_RESOLVE_TIMEOUT, "no answer for %s", c->name);
		else if (c->st == NMP_ST_CONNECT)
			nmp_set_reason(c, "deny", NMP_R_CONNECT_TIMEOUT, "no answer from upstream");
		if (is_http_kind(c) && c->st != NMP_ST_SNIFF)
			nmp_refuse(c, 504);
		else
			nmp_conn_close(c);
	}
	while ((c = px->t_idle.head) && c->deadline <= now) {
		snprintf(c->detail, sizeof(c->detail), "idle for %u ms", px->o.idle_ms);
		c->reason = NMP_R_IDLE_TIMEOUT;
		nmp_conn_close(c);
	}
	while ((c = px->t_linger.head) && c->deadline <= now)
		nmp_conn_close(c);
}
