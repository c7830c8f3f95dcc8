/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_passed.c - attempts with objects from outside the sandbox: sockets
 * passed over a unix socket (SCM_RIGHTS) by a process in a sibling cgroup
 * under the same binding, or by an unpoliced process, fresh or already
 * connected; an io_uring whose kernel submission thread (SQPOLL) belongs to
 * an unpoliced process (current kernels refuse to pass one: EINVAL); and
 * taking a socket from an unpoliced process without its help (pidfd_getfd,
 * ptrace).
 *
 * A socket is judged by the programs of the cgroup it was created in, so
 * one made outside every attach point is never judged: the documented
 * limit these attempts pin down (see the limit table in battery.c).
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "battery.h"
#include "topo.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define TGT(a) ((const struct nmb_tgt *)(a)->arg)

enum who { SIB, FREE };

static int passer_fd(const struct nmb_cfg *c, enum who w)
{
	return w == SIB ? c->sib_fd : c->free_fd;
}

static const char *who_str(enum who w)
{
	return w == SIB ? "the sibling's passer" : "the unpoliced passer";
}

/* Ask for an object; on failure fill r and return -1. */
static int ask(const struct nmb_cfg *c, enum who w, const char *req, struct nmb_res *r, void *extra, size_t elen)
{
	char info[128] = "";
	int fd = nmb_passer_ask(passer_fd(c, w), req, info, sizeof(info), extra, elen);

	if (fd < 0) {
		const char *en = nmb_errname(-fd);

		if (strstr(info, "SCM_RIGHTS"))
			nmb_set(r, NMB_BLOCKED, "%s at the passer's sendmsg: the kernel will not pass this kind of "
				"descriptor over a unix socket", en ? en : strerror(-fd));
		else
			nmb_set(r, -fd == EPERM ? NMB_BLOCKED : NMB_FAILED, "%s could not make it: %s at its '%s'",
				who_str(w), en ? en : strerror(-fd), req);
		return -1;
	}
	return fd;
}

/* A fresh socket from the passer, connected (TCP) or sent on (UDP) here. */
static void passed(const struct nmb_att *a, const struct nmb_cfg *c, enum who w, bool udp, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	bool v6 = strchr(t->addr, ':') != NULL;
	struct timeval tv = { NMB_SOCK_MS / 1000, 0 };
	struct sockaddr_storage ss;
	char tok[NMB_TOKEN_MAX];
	int len = nmt_sa_make(&ss, t->addr, udp ? t->udp : t->tcp, false);
	int fd = ask(c, w, udp ? "udp4" : v6 ? "tcp6" : "tcp4", r, NULL, 0);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (udp) {
		nmb_token(a->name, tok, sizeof(tok));
		if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ss, len) < 0)
			nmb_set_errno(r, "sendto", errno);
		else
			nmb_udp_reply(fd, t, r);
	} else if (connect(fd, (struct sockaddr *)&ss, len)) {
		nmb_set_errno(r, "connect", errno);
	} else {
		nmb_tcp_talk(fd, t, a->name, r);
	}
	close(fd);
}

static void att_sib_tcp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	passed(a, c, SIB, false, r);
}

static void att_sib_udp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	passed(a, c, SIB, true, r);
}

static void att_free_tcp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	passed(a, c, FREE, false, r);
}

static void att_free_udp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	passed(a, c, FREE, true, r);
}

/* Already connected by the unpoliced passer: the agent only talks. */
static void att_free_preconnected(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	struct timeval tv = { NMB_SOCK_MS / 1000, 0 };
	char req[96];
	int fd;

	snprintf(req, sizeof(req), "tcp4-conn %s %d", t->addr, t->tcp);
	fd = ask(c, FREE, req, r, NULL, 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nmb_tcp_talk(fd, t, a->name, r);
	close(fd);
}

/* ---- a ring from outside -------------------------------------------------------- */
/* Connect fixed file 0 of the ring to the target, send the token, read
 * the answer, all through the ring. */
static void ring_talk(struct io_uring *ring, const struct nmb_att *a, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	struct sockaddr_storage ss;
	struct io_uring_sqe *sqe;
	char tok[NMB_TOKEN_MAX + 1], line[200];
	int len = nmt_sa_make(&ss, t->addr, t->tcp, false), e, res = 0;

	sqe = io_uring_get_sqe(ring);
	io_uring_prep_connect(sqe, 0, (struct sockaddr *)&ss, len);
	sqe->flags |= IOSQE_FIXED_FILE;
	e = nmb_uring_one(ring, &res);
	if (e < 0 || res < 0) {
		nmb_set_errno(r, e < 0 ? "io_uring_enter" : "uring-connect", e < 0 ? -e : -res);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok) - 1);
	strcat(tok, "\n");
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, 0, tok, strlen(tok), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	nmb_uring_one(ring, &res);
	memset(line, 0, sizeof(line));
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_recv(sqe, 0, line, sizeof(line) - 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	e = nmb_uring_one(ring, &res);
	if (e < 0 || res < 0) {
		nmb_set(r, NMB_BLOCKED, "connected, but no reply (%s)", nmb_errname(e < 0 ? -e : -res));
		return;
	}
	line[strcspn(line, "\r\n")] = 0;
	nmb_judge_line(line, NULL, t, r);
}

/* own: the agent's own socket (made in the sandbox) in the ring; else the
 * ring's thread makes the socket (IORING_OP_SOCKET).  (Where a kernel
 * still passes a ring, note that its thread works in its maker's address
 * space: pointers in what the agent submits are the maker's.) */
static void passed_ring(const struct nmb_att *a, const struct nmb_cfg *c, enum who w, bool own, struct nmb_res *r)
{
	struct io_uring_params p;
	struct io_uring ring;
	int rfd, e, res = 0;

	rfd = ask(c, w, "ring", r, &p, sizeof(p));
	if (rfd < 0)
		return;
	e = io_uring_queue_mmap(rfd, &p, &ring);
	if (e < 0) {
		nmb_set_errno(r, "mmap (passed ring)", -e);
		close(rfd);
		return;
	}
	if (own) {
		int s = nmb_socket(AF_INET, SOCK_STREAM, 0, NMB_SOCK_MS);

		if (s < 0) {
			nmb_set_errno(r, "socket", -s);
			goto out;
		}
		e = io_uring_register_files(&ring, &s, 1);
		close(s);
		if (e < 0) {
			nmb_set_errno(r, "io_uring_register(files)", -e);
			goto out;
		}
	} else {
		e = io_uring_register_files_sparse(&ring, 1);
		if (e < 0) {
			nmb_set_errno(r, "io_uring_register(sparse files)", -e);
			goto out;
		}
		io_uring_prep_socket_direct(io_uring_get_sqe(&ring), AF_INET, SOCK_STREAM, 0, 0, 0);
		e = nmb_uring_one(&ring, &res);
		if (e < 0 || res < 0) {
			nmb_set_errno(r, "uring-socket", e < 0 ? -e : -res);
			goto out;
		}
	}
	ring_talk(&ring, a, r);
out:
	io_uring_queue_exit(&ring);
}

static void att_free_ring(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	passed_ring(a, c, FREE, false, r);
}

static void att_free_ring_own(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	passed_ring(a, c, FREE, true, r);
}

/* ---- taking, not being given ---------------------------------------------------- */
/* The unpoliced passer holds a socket connected to the target; take it. */
static void att_pidfd_getfd(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	struct timeval tv = { NMB_SOCK_MS / 1000, 0 };
	char req[96], info[128];
	int pid = 0, target = -1, pfd, fd;

	snprintf(req, sizeof(req), "hold %s %d", t->addr, t->tcp);
	fd = nmb_passer_ask(c->free_fd, req, info, sizeof(info), NULL, 0);
	if (fd < 0 || sscanf(info, "%d %d", &pid, &target) != 2) {
		nmb_set(r, NMB_FAILED, "the unpoliced passer could not hold a connection (%s)",
			fd < 0 ? strerror(-fd) : info);
		return;
	}
	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		nmb_set_errno(r, "pidfd_open", errno);
		return;
	}
	fd = syscall(SYS_pidfd_getfd, pfd, target, 0);
	close(pfd);
	if (fd < 0) {
		nmb_set_errno(r, "pidfd_getfd", errno);
		if (errno == EPERM)
			nmb_set(r, NMB_BLOCKED, "EPERM at pidfd_getfd: no ptrace access to an outside process");
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nmb_tcp_talk(fd, t, a->name, r);
	close(fd);
}

static void att_ptrace(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)a;
	if (ptrace(PTRACE_SEIZE, c->free_pid, NULL, NULL)) {
		nmb_set_errno(r, "ptrace(PTRACE_SEIZE)", errno);
		if (errno == EPERM)
			nmb_set(r, NMB_BLOCKED, "EPERM at ptrace(PTRACE_SEIZE) of the unpoliced passer");
		return;
	}
	ptrace(PTRACE_DETACH, c->free_pid, NULL, NULL);
	nmb_set(r, NMB_THROUGH, "attached to unpoliced pid %d: it could be made to connect for us",
		(int)c->free_pid);
}

/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, arg, ctl) { g, n, f, arg, ctl, 0 }

const struct nmb_att nmb_att_passed[] = {
	A("passed", "passed-sibling-tcp4.meta4", att_sib_tcp, &nmb_meta4, false),
	A("passed", "passed-sibling-tcp6.meta6", att_sib_tcp, &nmb_meta6, false),
	A("passed", "passed-sibling-udp4.meta4", att_sib_udp, &nmb_meta4, false),
	A("passed", "passed-unpoliced-tcp4.meta4", att_free_tcp, &nmb_meta4, true),
	A("passed", "passed-unpoliced-tcp6.meta6", att_free_tcp, &nmb_meta6, true),
	A("passed", "passed-unpoliced-udp4.meta4", att_free_udp, &nmb_meta4, true),
	A("passed", "passed-unpoliced-preconnected-tcp4.meta4", att_free_preconnected, &nmb_meta4, true),
	A("passed", "passed-unpoliced-sqpoll-ring.meta4", att_free_ring, &nmb_meta4, false),
	A("passed", "passed-unpoliced-sqpoll-ring-own-socket.meta4", att_free_ring_own, &nmb_meta4, false),
	A("passed", "pidfd-getfd-unpoliced.meta4", att_pidfd_getfd, &nmb_meta4, false),
	A("passed", "ptrace-unpoliced", att_ptrace, NULL, false),
};

const int nmb_att_passed_n = sizeof(nmb_att_passed) / sizeof(nmb_att_passed[0]);
