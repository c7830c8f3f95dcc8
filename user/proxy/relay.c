// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * relay.c - moving bytes both ways once a connection is allowed: splice()
 * from the source socket into a pipe and from the pipe into the other
 * socket, so the payload never enters user space.  Each direction holds at
 * most one pipe of data (NMP_PIPE_SIZE, 256 KiB, or 64 KiB when the pipe
 * cannot grow), and reads from its source only when its
 * pipe is empty, so a slow reader slows its writer (back-pressure) and
 * memory stays bounded.  A direction whose source ends (EOF) shuts the
 * write side of its destination once its pipe is drained (half-close);
 * the connection ends when both directions have, or on an error.
 *
 * Sockets are edge-triggered: a direction runs until the kernel says
 * EAGAIN on the side it waits for, at most NMP_PUMP_ROUNDS splices a turn,
 * so one fast connection cannot starve the others (it is put on the ready
 * list and goes on next turn).  An event runs only the directions it
 * concerns (readable: the one reading that socket; writable: the one
 * writing it), so a bulk transfer's stream of EPOLLOUT wake-ups costs no
 * splice on the idle direction.  Pipes are grown to NMP_PIPE_SIZE when the
 * kernel lets us (fewer wake-ups per byte), and both sockets have
 * TCP_NODELAY: the proxy forwards what it got at once, small exchanges
 * must not wait for Nagle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

static size_t pipe_grow(int fd)
{
	int n = fcntl(fd, F_SETPIPE_SZ, NMP_PIPE_SIZE);

	return n > 0 ? (size_t)n : NMP_PIPE_CHUNK;
}

int nmp_relay_start(struct nmp_conn *c)
{
	int one = 1;

	if (pipe2(c->up.pipe, O_NONBLOCK | O_CLOEXEC) || pipe2(c->down.pipe, O_NONBLOCK | O_CLOEXEC)) {
		c->reason = NMP_R_NO_RESOURCES;
		snprintf(c->detail, sizeof(c->detail), "pipe: %s", strerror(errno));
		nmp_conn_close(c);
		return -1;
	}
	c->up.cap = pipe_grow(c->up.pipe[1]);
	c->down.cap = pipe_grow(c->down.pipe[1]);
	setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->st = NMP_ST_RELAY;
	nmp_tlist_put(&nmp.t_idle, c, nm_svc_now_ms());
	nmp_conn_event(c, false, 0);
	return 0;
}

/* One direction: 0 waiting on a socket (or done), 1 more to do, -1 error. */
static int dir_pump(struct nmp_dir *d, int src, int dst, bool *moved)
{
	for (int i = 0; i < NMP_PUMP_ROUNDS; i++) {
		ssize_t n;

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
			n = splice(d->pipe[0], NULL, dst, NULL, d->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			d->in_pipe -= (size_t)n;
			d->bytes += (uint64_t)n;
			*moved = true;
			continue;
		}
		if (d->eof) {
			if (!d->shut) {
				shutdown(dst, SHUT_WR);
				d->shut = true;
			}
			return 0;
		}
		n = splice(src, NULL, d->pipe[1], NULL, d->cap, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			d->eof = true;
		d->in_pipe += (size_t)n;
		*moved = true;
	}
	return 1;
}

unsigned nmp_relay_dirs(bool upstream, uint32_t ev)
{
	unsigned in = upstream ? NMP_DIR_DOWN : NMP_DIR_UP, out = upstream ? NMP_DIR_UP : NMP_DIR_DOWN, d = 0;

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		d |= in;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		d |= out;
	return d;
}

int nmp_relay_pump(struct nmp_conn *c, unsigned dirs)
{
	bool moved = false;
	int a = dirs & NMP_DIR_UP ? dir_pump(&c->up, c->cfd, c->ufd, &moved) : 0;
	int b = a < 0 || !(dirs & NMP_DIR_DOWN) ? 0 : dir_pump(&c->down, c->ufd, c->cfd, &moved);

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
		nmp_tlist_put(&nmp.t_idle, c, nm_svc_now_ms());
	return a == 1 || b == 1;
}

void nmp_relay_free(struct nmp_conn *c)
{
	struct nmp_dir *ds[] = { &c->up, &c->down };

	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			if (ds[i]->pipe[j] >= 0)
				close(ds[i]->pipe[j]);
			ds[i]->pipe[j] = -1;
		}
		free(ds[i]->pre.buf);
		ds[i]->pre.buf = NULL;
	}
}
