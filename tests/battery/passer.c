/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * passer.c - processes outside the sandbox that hand objects in, and the
 * agent's side of asking for them.
 *
 * A passer is forked by the harness into a cgroup (a sibling of the agent's
 * under the same binding, or an unpoliced one) and the client netns, and
 * serves requests on a SOCK_SEQPACKET unix socket whose other end the agent
 * inherits.  Requests, one a message:
 *
 *   tcp4 | tcp6 | udp4        a fresh socket, made by the passer
 *   tcp4-conn ADDR PORT       a TCP socket the passer connected itself
 *   ring                      an io_uring with a kernel submission thread
 *                             (SQPOLL), and its setup parameters (current
 *                             kernels refuse to pass one: the answer then
 *                             carries that error)
 *   hold ADDR PORT            the passer connects and keeps the socket;
 *                             the answer names its pid and descriptor
 *
 * Each answer is a struct passer_msg, with the object as SCM_RIGHTS.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "battery.h"
#include "run.h"
#include "topo.h"

struct passer_msg {
	int err;   /* 0, or the errno of the passer's failing call */
	char info[128];
	struct io_uring_params p; /* "ring" only */
};

#define PASSER_RINGS 4
#define PASSER_HELD  8

struct passer {
	int fd;
	struct io_uring rings[PASSER_RINGS];
	int nrings;
	int held[PASSER_HELD];
	int nheld;
};

static int connected(const char *addr, int port, int *err)
{
	struct sockaddr_storage ss;
	struct timeval tv = { 1, 0 };
	int len = nmt_sa_make(&ss, addr, port, false);
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || len < 0) {
		*err = s < 0 ? errno : EINVAL;
		if (s >= 0)
			close(s);
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&ss, len)) {
		*err = errno;
		close(s);
		return -1;
	}
	return s;
}

static void reply(struct passer *ps, struct passer_msg *m, int obj)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (obj >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &obj, sizeof(int));
	}
	if (sendmsg(ps->fd, &msg, MSG_NOSIGNAL) < 0 && obj >= 0) {
		/* The kernel would not pass it (an io_uring, on current kernels). */
		m->err = errno;
		snprintf(m->info, sizeof(m->info), "sendmsg(SCM_RIGHTS) refused");
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		if (sendmsg(ps->fd, &msg, MSG_NOSIGNAL) < 0) {
			/* the agent is gone */
		}
	}
}

static void serve(struct passer *ps, char *req)
{
	struct passer_msg m;
	char addr[64];
	int port, obj = -1;

	memset(&m, 0, sizeof(m));
	if (!strcmp(req, "tcp4") || !strcmp(req, "tcp6") || !strcmp(req, "udp4")) {
		obj = socket(req[3] == '6' ? AF_INET6 : AF_INET, req[0] == 't' ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (obj < 0)
			m.err = errno;
	} else if (sscanf(req, "tcp4-conn %63s %d", addr, &port) == 2) {
		obj = connected(addr, port, &m.err);
	} else if (!strcmp(req, "ring")) {
		if (ps->nrings >= PASSER_RINGS) {
			m.err = ENOSPC;
		} else {
			struct io_uring *ring = &ps->rings[ps->nrings];
			int e;

			m.p.flags = IORING_SETUP_SQPOLL;
			m.p.sq_thread_idle = 2000;
			e = io_uring_queue_init_params(8, ring, &m.p);
			if (e < 0) {
				m.err = -e;
			} else {
				ps->nrings++;
				obj = ring->ring_fd;
			}
		}
	} else if (sscanf(req, "hold %63s %d", addr, &port) == 2) {
		int s = ps->nheld < PASSER_HELD ? connected(addr, port, &m.err) : -1;

		if (s >= 0) {
			ps->held[ps->nheld++] = s;
			snprintf(m.info, sizeof(m.info), "%d %d", (int)getpid(), s);
		} else if (!m.err) {
			m.err = ENOSPC;
		}
	} else {
		m.err = EINVAL;
	}
	reply(ps, &m, obj);
	/* Rings stay ours (their submission thread is one of our threads);
	 * plain sockets are the agent's alone now. */
	if (obj >= 0 && strcmp(req, "ring"))
		close(obj);
}

static int passer_main(void *arg)
{
	static struct passer ps;
	const int *sv = arg;

	close(sv[0]); /* the agent's end: EOF comes when the agent is gone */
	ps.fd = sv[1];
	prctl(PR_SET_NAME, "nmb-passer");
	for (;;) {
		char req[160];
		ssize_t n = recv(ps.fd, req, sizeof(req) - 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		req[n] = 0;
		serve(&ps, req);
	}
	return 0;
}

pid_t nmb_passer_start(const char *cgroup, const char *netns, int *agent_end)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = nmt_spawn(cgroup, netns, passer_main, sv);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return pid;
	}
	*agent_end = sv[0];
	return pid;
}

/* ---- the agent's side ------------------------------------------------------------ */
int nmb_passer_ask(int fd, const char *req, char *info, size_t ilen, void *extra, size_t elen)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct passer_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *cm;
	int obj = -1;

	if (fd < 0)
		return -EBADF;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		return -errno;
	if (poll(&pfd, 1, 3000) <= 0)
		return -ETIMEDOUT;
	memset(&m, 0, sizeof(m));
	if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) < (ssize_t)sizeof(m))
		return -EIO;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&obj, CMSG_DATA(cm), sizeof(int));
	if (info && ilen)
		snprintf(info, ilen, "%s", m.info);
	if (extra)
		memcpy(extra, &m.p, elen < sizeof(m.p) ? elen : sizeof(m.p));
	if (m.err) {
		if (obj >= 0)
			close(obj);
		return -m.err;
	}
	return obj >= 0 ? obj : 0;
}
