// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "netprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "topo.h"

static bool is_v4(const char *a)
{
	struct sockaddr_storage ss;

	return a && nmt_sa_make(&ss, a, 0, false) == sizeof(struct sockaddr_in);
}

const char *nmt_probe_name(const struct nmt_probe *p)
{
	bool v4 = is_v4(p->addr);

	switch (p->kind) {
	case NMT_TCP:
		return v4 ? "tcp4" : "tcp6";
	case NMT_TCP_MAPPED:
		return "tcp6-mapped";
	case NMT_TFO:
		return v4 ? "tfo4" : "tfo6";
	case NMT_URING:
		return v4 ? "uring-tcp4" : "uring-tcp6";
	case NMT_UDP_CONN:
		return v4 ? "udp4-connected" : "udp6-connected";
	case NMT_UDP:
		return v4 ? "udp4" : "udp6";
	case NMT_UDP_MMSG:
		return v4 ? "udp4-sendmmsg" : "udp6-sendmmsg";
	case NMT_UDP_MAPPED:
		return "udp6-mapped";
	default:
		return "?";
	}
}

static bool mapped_kind(enum nmt_probe_kind k)
{
	return k == NMT_TCP_MAPPED || k == NMT_UDP_MAPPED;
}

static void addr_str(const char *a, int port, bool mapped, char *buf, size_t len)
{
	if (mapped && is_v4(a))
		snprintf(buf, len, "[::ffff:%s]:%d", a, port);
	else if (is_v4(a))
		snprintf(buf, len, "%s:%d", a, port);
	else
		snprintf(buf, len, "[%s]:%d", a, port);
}

char *nmt_probe_str(const struct nmt_probe *p, char *buf, size_t len)
{
	char a[80], b[80];

	addr_str(p->addr, p->port, mapped_kind(p->kind), a, sizeof(a));
	if (p->kind == NMT_UDP_MMSG) {
		addr_str(p->addr2 ? p->addr2 : p->addr, p->port2 ? p->port2 : p->port, false, b,
			 sizeof(b));
		snprintf(buf, len, "%s %s,%s", nmt_probe_name(p), a, b);
	} else {
		snprintf(buf, len, "%s %s", nmt_probe_name(p), a);
	}
	return buf;
}

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN (timeout)";
	case EINPROGRESS: return "EINPROGRESS (timeout)";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EINVAL: return "EINVAL";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	default: return NULL;
	}
}

char *nmt_probe_res_str(const struct nmt_probe_res *r, char *buf, size_t len)
{
	size_t n = 0;

	if (r->timed_out)
		return snprintf(buf, len, "probe killed after the time bound"), buf;
	if (r->err) {
		const char *en = errname(r->err);

		if (en)
			n = snprintf(buf, len, "%s at %s", en, r->failed);
		else
			n = snprintf(buf, len, "errno %d (%s) at %s", r->err, strerror(r->err),
				     r->failed);
	}
	if (r->replies || !r->err) {
		if (n && n < len)
			n += snprintf(buf + n, len - n, ", ");
		if (n < len)
			n += snprintf(buf + n, len - n, "reply '%s'", r->line);
		if (*r->src && n < len)
			n += snprintf(buf + n, len - n, " from %s", r->src);
		if (r->replies > 1 && n < len)
			n += snprintf(buf + n, len - n, " and '%s' from %s", r->line2, r->src2);
	}
	if (r->sent >= 0 && n < len)
		snprintf(buf + n, len - n, " (sent %d)", r->sent);
	return buf;
}

static void fail(struct nmt_probe_res *r, const char *what, int e)
{
	if (r->err)
		return;
	r->err = e ? e : EIO;
	snprintf(r->failed, sizeof(r->failed), "%s", what);
}

static int mksock(const struct sockaddr_storage *ss, int type, struct nmt_probe_res *r)
{
	struct timeval tv = { NMT_PROBE_SOCK_MS / 1000, (NMT_PROBE_SOCK_MS % 1000) * 1000 };
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail(r, "socket", errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Read up to the first newline, EOF or the receive timeout. */
static void read_line(int fd, struct nmt_probe_res *r)
{
	size_t n = 0;

	while (n < sizeof(r->line) - 1) {
		ssize_t k = recv(fd, r->line + n, sizeof(r->line) - 1 - n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			if (!n)
				fail(r, "recv", errno);
			break;
		}
		if (k == 0)
			break;
		n += k;
		r->line[n] = 0;
		if (strchr(r->line, '\n'))
			break;
	}
	r->line[n] = 0;
	r->line[strcspn(r->line, "\r\n")] = 0;
	if (n)
		r->replies = 1;
	else if (!r->err)
		fail(r, "recv", ECONNRESET); /* closed without a line */
}

static void note_local(int fd, struct nmt_probe_res *r)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (!getsockname(fd, (struct sockaddr *)&ss, &sl))
		nmt_sa_str((struct sockaddr *)&ss, r->local, sizeof(r->local));
}

static void probe_tcp(const struct sockaddr_storage *ss, int len, struct nmt_probe_res *r)
{
	int fd = mksock(ss, SOCK_STREAM, r);

	if (fd < 0)
		return;
	if (connect(fd, (const struct sockaddr *)ss, len)) {
		fail(r, "connect", errno);
	} else {
		note_local(fd, r);
		read_line(fd, r);
	}
	close(fd);
}

static void probe_tfo(const struct sockaddr_storage *ss, int len, struct nmt_probe_res *r)
{
	static const char msg[] = "ping\n";
	int fd = mksock(ss, SOCK_STREAM, r);

	if (fd < 0)
		return;
	if (sendto(fd, msg, sizeof(msg) - 1, MSG_FASTOPEN, (const struct sockaddr *)ss, len) < 0) {
		fail(r, "sendto-fastopen", errno);
	} else {
		note_local(fd, r);
		read_line(fd, r);
	}
	close(fd);
}

static void probe_uring(const struct sockaddr_storage *ss, int len, struct nmt_probe_res *r)
{
	struct __kernel_timespec ts = { NMT_PROBE_SOCK_MS / 1000,
					(NMT_PROBE_SOCK_MS % 1000) * 1000000LL };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd, e;

	e = io_uring_queue_init(4, &ring, 0);
	if (e < 0) {
		fail(r, "uring-init", -e);
		return;
	}
	fd = mksock(ss, SOCK_STREAM, r);
	if (fd < 0)
		goto out;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, fd, (const struct sockaddr *)ss, len);
	e = io_uring_submit(&ring);
	if (e < 0) {
		fail(r, "uring-submit", -e);
		goto out;
	}
	e = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	if (e < 0) {
		fail(r, "uring-wait", -e);
		goto out;
	}
	e = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (e < 0) {
		fail(r, "uring-connect", -e);
		goto out;
	}
	note_local(fd, r);
	read_line(fd, r);
out:
	if (fd >= 0)
		close(fd);
	io_uring_queue_exit(&ring);
}

/* One datagram answer: its text and where it came from. */
static int udp_recv(int fd, char *line, size_t ll, char *src, size_t sl, struct nmt_probe_res *r)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	memset(&from, 0, sizeof(from));
	do
		n = recvfrom(fd, line, ll - 1, 0, (struct sockaddr *)&from, &fl);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		fail(r, "recv", errno);
		return -1;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	nmt_sa_str((struct sockaddr *)&from, src, sl);
	r->replies++;
	return 0;
}

static void probe_udp(const struct nmt_probe *p, const struct sockaddr_storage *ss, int len,
		      struct nmt_probe_res *r)
{
	static const char msg[] = "ping";
	int fd = mksock(ss, SOCK_DGRAM, r);

	r->sent = 0;
	if (fd < 0)
		return;
	if (p->kind == NMT_UDP_CONN) {
		if (connect(fd, (const struct sockaddr *)ss, len)) {
			fail(r, "connect", errno);
			goto out;
		}
		if (send(fd, msg, sizeof(msg) - 1, 0) < 0) {
			fail(r, "send", errno);
			goto out;
		}
	} else {
		if (sendto(fd, msg, sizeof(msg) - 1, 0, (const struct sockaddr *)ss, len) < 0) {
			fail(r, "sendto", errno);
			goto out;
		}
	}
	r->sent = 1;
	note_local(fd, r);
	udp_recv(fd, r->line, sizeof(r->line), r->src, sizeof(r->src), r);
out:
	close(fd);
}

static void probe_mmsg(const struct nmt_probe *p, const struct sockaddr_storage *ss, int len,
		       struct nmt_probe_res *r)
{
	static char m1[] = "ping", m2[] = "pong";
	struct sockaddr_storage ss2;
	struct iovec iov[2] = { { m1, 4 }, { m2, 4 } };
	struct mmsghdr mm[2];
	int fd, len2, n;

	r->sent = 0;
	len2 = nmt_sa_make(&ss2, p->addr2 ? p->addr2 : p->addr, p->port2 ? p->port2 : p->port,
			   false);
	if (len2 < 0 || ss2.ss_family != ss->ss_family) {
		fail(r, "address", EINVAL);
		return;
	}
	fd = mksock(ss, SOCK_DGRAM, r);
	if (fd < 0)
		return;
	memset(mm, 0, sizeof(mm));
	mm[0].msg_hdr.msg_name = (void *)ss;
	mm[0].msg_hdr.msg_namelen = len;
	mm[0].msg_hdr.msg_iov = &iov[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_name = &ss2;
	mm[1].msg_hdr.msg_namelen = len2;
	mm[1].msg_hdr.msg_iov = &iov[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	n = sendmmsg(fd, mm, 2, 0);
	if (n < 0) {
		fail(r, "sendmmsg", errno);
		goto out;
	}
	r->sent = n;
	note_local(fd, r);
	/* One answer per datagram that went out. */
	if (n >= 1 && udp_recv(fd, r->line, sizeof(r->line), r->src, sizeof(r->src), r) == 0 &&
	    n >= 2)
		udp_recv(fd, r->line2, sizeof(r->line2), r->src2, sizeof(r->src2), r);
out:
	close(fd);
}

void nmt_probe_exec(const struct nmt_probe *p, struct nmt_probe_res *r)
{
	struct sockaddr_storage ss;
	int len;

	memset(r, 0, sizeof(*r));
	r->sent = -1;
	r->pid = getpid();
	len = nmt_sa_make(&ss, p->addr, p->port, mapped_kind(p->kind));
	if (len < 0 || (mapped_kind(p->kind) && !is_v4(p->addr))) {
		fail(r, "address", EINVAL);
		return;
	}
	switch (p->kind) {
	case NMT_TCP:
	case NMT_TCP_MAPPED:
		probe_tcp(&ss, len, r);
		break;
	case NMT_TFO:
		probe_tfo(&ss, len, r);
		break;
	case NMT_URING:
		probe_uring(&ss, len, r);
		break;
	case NMT_UDP_CONN:
	case NMT_UDP:
	case NMT_UDP_MAPPED:
		probe_udp(p, &ss, len, r);
		break;
	case NMT_UDP_MMSG:
		probe_mmsg(p, &ss, len, r);
		break;
	default:
		fail(r, "kind", EINVAL);
	}
}

struct probe_arg {
	const struct nmt_probe *p;
	int wfd;
};

static int probe_child(void *a)
{
	struct probe_arg *pa = a;
	struct nmt_probe_res r;

	/* A recognisable comm for events. */
	prctl(PR_SET_NAME, "nmt-probe");
	nmt_probe_exec(pa->p, &r);
	if (write(pa->wfd, &r, sizeof(r)) != sizeof(r))
		return 3;
	return 0;
}

int nmt_probe_run(const char *cgroup, const char *netns, const struct nmt_probe *p,
		  struct nmt_probe_res *r, int timeout_ms)
{
	struct probe_arg pa = { p, -1 };
	int fds[2], st;
	size_t got = 0;
	bool late = false;
	long long end;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->sent = -1;
	if (!timeout_ms)
		timeout_ms = NMT_PROBE_MAX_MS;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pa.wfd = fds[1];
	pid = nmt_spawn(cgroup, netns, probe_child, &pa);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return pid;
	}
	end = nmt_now_ms() + timeout_ms;
	while (got < sizeof(*r)) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		long long left = end - nmt_now_ms();
		ssize_t k;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			late = true;
			break;
		}
		k = read(fds[0], (char *)r + got, sizeof(*r) - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	close(fds[0]);
	st = nmt_wait(pid, late ? 1 : 2000);
	if (got != sizeof(*r)) {
		memset(r, 0, sizeof(*r));
		r->sent = -1;
		r->pid = pid;
		r->timed_out = st == -ETIMEDOUT;
		r->exit_status = st;
		r->err = EIO;
		snprintf(r->failed, sizeof(r->failed), "%s", r->timed_out ? "timeout" : "child");
		if (!r->timed_out && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 126)
			snprintf(r->failed, sizeof(r->failed), "enter-ns/cg");
		return r->timed_out ? -ETIMEDOUT : -EIO;
	}
	r->exit_status = st;
	return 0;
}
