// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * relay.c - moving bytes both ways once a connection is allowed.
 *
 * Two ways to move a direction's bytes, chosen by what it carries:
 *   small  recv() into the loop's buffer (NMP_XBUF, 16 KiB) and send() at
 *          once: two syscalls an exchange, no pipe held.  A read shorter
 *          than the buffer drained the socket (epoll(7): a short read of a
 *          stream means the kernel had no more), so it waits for the next
 *          edge without a third call that would say EAGAIN;
 *   bulk   a read that fills the buffer switches the direction to splice():
 *          source socket into a pipe, and at once (the same turn) the pipe
 *          into the other socket, so the payload never enters user space.
 *          A turn whose first splice brings less than NMP_XBUF switches
 *          back (the small tail of a burst does not).
 * A pipe comes from a pool (pipes grown to NMP_PIPE_SIZE, 256 KiB, when
 * the kernel lets us) when a direction needs one (bulk, or the rest of a
 * short send) and goes back to it as soon as it is empty and the source
 * has nothing more: an idle connection holds no pipe, and the per-user pipe
 * page limit counts only the directions moving bulk now.  Each direction
 * holds at most one pipe of data and reads its source only when that pipe
 * is empty, so a slow reader slows its writer (back-pressure) and memory
 * stays bounded.  A direction whose source ends (EOF) shuts the write side
 * of its destination once drained (half-close); the connection ends when
 * both directions have, or on an error.
 *
 * Sockets are edge-triggered and registered once (no epoll_ctl while
 * relaying): a direction runs until the kernel says EAGAIN (or a short
 * read) on the side it waits for, at most NMP_PUMP_ROUNDS calls a turn, so
 * one fast connection cannot starve the others (it goes on the ready list
 * and goes on next turn).  An event runs only the directions it concerns
 * (readable: the one reading that socket; writable: the one writing it).
 * A short read is trusted only when no hang-up was reported for the source
 * (conn.c marks the direction in any state, so a FIN that came while the
 * connection was being decided is not lost; it reads on to the EOF).  Both sockets have
 * TCP_NODELAY (the client's inherited from the listener): the proxy
 * forwards what it got at once, small exchanges must not wait for Nagle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

/* ---- the pipe pool ----------------------------------------------------------- */
static int pipe_get(struct nmp_proxy *px, struct nmp_dir *d)
{
	int fd[2], n;

	if (px->npipes) {
		d->pipe = px->pipes[--px->npipes];
		return 0;
	}
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC))
		return -1;
	n = fcntl(fd[1], F_SETPIPE_SZ, NMP_PIPE_SIZE);
	d->pipe = (struct nmp_pipe){ .fd = { fd[0], fd[1] }, .cap = n > 0 ? (size_t)n : NMP_PIPE_CHUNK };
	px->pipes_made++;
	return 0;
}

static void pipe_close(struct nmp_pipe *p)
{
	if (p->fd[0] >= 0) {
		close(p->fd[0]);
		close(p->fd[1]);
	}
	p->fd[0] = p->fd[1] = -1;
}

/* Back to the pool: only an empty pipe. */
static void pipe_put(struct nmp_proxy *px, struct nmp_dir *d)
{
	if (d->pipe.fd[0] < 0)
		return;
	if (d->in_pipe || px->npipes == NMP_PIPE_POOL)
		pipe_close(&d->pipe);
	else
		px->pipes[px->npipes++] = d->pipe;
	d->pipe.fd[0] = d->pipe.fd[1] = -1;
	d->in_pipe = 0;
}

void nmp_pipes_free(struct nmp_proxy *px)
{
	while (px->npipes)
		pipe_close(&px->pipes[--px->npipes]);
}

void nmp_relay_init(struct nmp_conn *c)
{
	c->up.pipe.fd[0] = c->up.pipe.fd[1] = c->down.pipe.fd[0] = c->down.pipe.fd[1] = -1;
}

static void relay_run(struct nmp_conn *c, unsigned dirs);

static bool has_output(const struct nmp_dir *d)
{
	return d->in_pipe || d->pre.off < d->pre.len;
}

void nmp_relay_start(struct nmp_conn *c, unsigned dirs)
{
	/* and a direction with a head to write first (CONNECT's answer) */
	if (has_output(&c->up))
		dirs |= NMP_DIR_UP;
	if (has_output(&c->down))
		dirs |= NMP_DIR_DOWN;
	nmp_set_state(c, NMP_ST_RELAY);
	relay_run(c, dirs);
}

/* The rest of a short send: into the (empty) pipe, spliced out later.  A
 * pipe of at least 64 KiB takes NMP_XBUF bytes whole. */
static int keep_rest(struct nmp_proxy *px, struct nmp_dir *d, const char *p, size_t n)
{
	ssize_t w;

	if (d->pipe.fd[0] < 0 && pipe_get(px, d))
		return -2;
	w = write(d->pipe.fd[1], p, n);
	if (w != (ssize_t)n) {
		if (w >= 0)
			errno = ENOBUFS;
		return -1;
	}
	d->in_pipe = n;
	return 0;
}

/* One direction: 0 waiting on a socket (or done), 1 more to do, -1 error,
 * -2 no pipe to be had. */
static int dir_pump(struct nmp_proxy *px, struct nmp_dir *d, int src, int dst, bool *moved)
{
	int reads = 0;

	for (int i = 0; i < NMP_PUMP_ROUNDS; i++) {
		ssize_t n, m;

		if (d->pre.off < d->pre.len) {
			n = send(dst, d->pre.buf + d->pre.off, d->pre.len - d->pre.off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			d->pre.off += (size_t)n;
			*moved = true;
			if (d->pre.off == d->pre.len) {
				free(d->pre.buf);
				d->pre.buf = NULL;
				d->pre.len = d->pre.off = 0;
			}
			continue;
		}
		if (d->in_pipe) {
			n = splice(d->pipe.fd[0], NULL, dst, NULL, d->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			d->in_pipe -= (size_t)n;
			d->bytes += (uint64_t)n;
			*moved = true;
			continue;
		}
		if (d->eof) {
			pipe_put(px, d);
			if (!d->shut) {
				shutdown(dst, SHUT_WR);
				d->shut = true;
			}
			return 0;
		}
		if (d->bulk) {
			if (d->pipe.fd[0] < 0 && pipe_get(px, d))
				return -2;
			n = splice(src, NULL, d->pipe.fd[1], NULL, d->pipe.cap, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n < 0) {
				if (errno != EAGAIN)
					return -1;
				pipe_put(px, d);
				return 0;
			}
			/* back to recv/send only when a turn's first read is
			 * small: the tail of a burst is not a small exchange */
			if (n == 0)
				d->eof = true;
			else if (n < NMP_XBUF && !reads)
				d->bulk = false;
			reads++;
			d->in_pipe = (size_t)n;
			*moved = true;
			continue;
		}
		pipe_put(px, d);
		n = recv(src, px->xbuf, sizeof(px->xbuf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN)
				return -1;
			d->drain = false;
			return 0;
		}
		*moved = true;
		if (n == 0) {
			d->eof = true;
			continue;
		}
		m = send(dst, px->xbuf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (m < 0) {
			if (errno != EAGAIN)
				return -1;
			m = 0;
		}
		d->bytes += (uint64_t)m;
		if (m < n) {
			if ((n = keep_rest(px, d, px->xbuf + m, (size_t)(n - m))))
				return (int)n;
			continue;
		}
		if (n == (ssize_t)sizeof(px->xbuf))
			d->bulk = true;
		else if (!d->drain)
			return 0;
	}
	return 1;
}

/* Which directions an event concerns: readable, the one reading that
 * socket; writable, the one writing it, when it has output waiting (every
 * edge of a writable socket reports EPOLLOUT again, also one for bytes
 * that came in); a hang-up or error, both. */
static unsigned event_dirs(const struct nmp_conn *c, bool upstream, uint32_t ev)
{
	unsigned in = upstream ? NMP_DIR_DOWN : NMP_DIR_UP, out = upstream ? NMP_DIR_UP : NMP_DIR_DOWN, d = 0;

	if (!ev)
		return NMP_DIR_UP | NMP_DIR_DOWN;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		d |= in;
	if ((ev & (EPOLLHUP | EPOLLERR)) || ((ev & EPOLLOUT) && has_output(upstream ? &c->up : &c->down)))
		d |= out;
	return d;
}

/* Move bytes in the directions dirs: the directions with more to do now
 * (0: they wait for the sockets), or -1 when the connection is over
 * (closed here). */
static int relay_pump(struct nmp_conn *c, unsigned dirs)
{
	struct nmp_proxy *px = c->px;
	bool moved = false;
	int a = dirs & NMP_DIR_UP ? dir_pump(px, &c->up, c->cfd, c->ufd, &moved) : 0;
	int b = a < 0 || !(dirs & NMP_DIR_DOWN) ? 0 : dir_pump(px, &c->down, c->ufd, c->cfd, &moved);

	if (a == -2 || b == -2) {
		c->reason = NMP_R_NO_RESOURCES;
		snprintf(c->detail, sizeof(c->detail), "pipe: %s", strerror(errno));
		nmp_conn_close(c);
		return -1;
	}
	if (a < 0 || b < 0) {
		snprintf(c->detail, sizeof(c->detail), "relay ended by an error: %s", strerror(errno));
		nmp_conn_close(c);
		return -1;
	}
	if (c->up.shut && c->down.shut) {
		nmp_conn_close(c);
		return -1;
	}
	if (moved)
		nmp_tlist_put(&px->t_idle, c, nm_svc_now_ms());
	return (a == 1 ? NMP_DIR_UP : 0) | (b == 1 ? NMP_DIR_DOWN : 0);
}

/* ... and the directions with more to do on the ready list for the next
 * turn (only those: the other may wait for a socket). */
static void relay_run(struct nmp_conn *c, unsigned dirs)
{
	struct nmp_proxy *px = c->px;
	int more = dirs ? relay_pump(c, dirs) : 0;

	if (more <= 0)
		return;
	c->ready_dirs |= (unsigned)more;
	if (!c->on_ready) {
		c->on_ready = true;
		c->rnext = px->ready;
		px->ready = c;
	}
}

void nmp_relay_event(struct nmp_conn *c, bool upstream, uint32_t ev)
{
	relay_run(c, event_dirs(c, upstream, ev));
}

void nmp_relay_resume(struct nmp_conn *c)
{
	unsigned dirs = c->ready_dirs;

	c->ready_dirs = 0;
	relay_run(c, dirs);
}

void nmp_relay_free(struct nmp_conn *c)
{
	struct nmp_dir *ds[] = { &c->up, &c->down };

	for (int i = 0; i < 2; i++) {
		pipe_put(c->px, ds[i]);
		free(ds[i]->pre.buf);
		ds[i]->pre.buf = NULL;
	}
}
