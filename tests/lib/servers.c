// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "servers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nomoat.h"
#include "run.h"

#ifndef SOL_IP
#define SOL_IP 0
#endif

enum svc_kind {
	SVC_HELLO_LISTEN,
	SVC_PROXY_LISTEN,
	SVC_UDP_HELLO,
	SVC_UDP_DNS,
	SVC_CONN, /* an answered connection, drained until EOF */
};

#define SVC_MAX     256
#define CONN_LINGER 3000 /* ms an answered connection is kept for draining */

struct svc {
	int fd;
	enum svc_kind kind;
	long long deadline; /* SVC_CONN only */
	char hello[96];     /* UDP: the reply */
};

struct loop {
	struct svc s[SVC_MAX];
	int n;
	int ready_fd; /* readiness pipe to the parent */
	char err[200];
};

static int loop_add(struct loop *l, int fd, enum svc_kind kind)
{
	if (l->n >= SVC_MAX) {
		close(fd);
		return -ENOSPC;
	}
	memset(&l->s[l->n], 0, sizeof(l->s[0]));
	l->s[l->n].fd = fd;
	l->s[l->n].kind = kind;
	l->n++;
	return l->n - 1;
}

static void loop_del(struct loop *l, int i)
{
	close(l->s[i].fd);
	l->s[i] = l->s[--l->n];
}

static int open_sock(struct loop *l, const char *addr, int port, int type, enum svc_kind kind)
{
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, addr, port, false);
	int one = 1, fd, i;
	char buf[80];

	if (len < 0) {
		snprintf(l->err, sizeof(l->err), "bad address %s", addr);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len))
		goto fail;
	if (type == SOCK_STREAM) {
		int qlen = 64;

		if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)))
			goto fail;
		if (listen(fd, 128))
			goto fail;
	}
	i = loop_add(l, fd, kind);
	if (i < 0)
		return i;
	snprintf(l->s[i].hello, sizeof(l->s[i].hello), "HELLO %s",
		 nmt_sa_str((struct sockaddr *)&ss, buf, sizeof(buf)));
	return 0;
fail:
	snprintf(l->err, sizeof(l->err), "%s %s port %d: %s", type == SOCK_STREAM ? "tcp" : "udp",
		 addr, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -errno;
}

static void answer_hello(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[80], line[128];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		snprintf(a, sizeof(a), "?");
	else
		nmt_sa_str((struct sockaddr *)&ss, a, sizeof(a));
	snprintf(line, sizeof(line), "HELLO %s\n", a);
	if (write(fd, line, strlen(line)) < 0) {
		/* the client is gone: nothing to tell */
	}
}

static void answer_proxy(int fd)
{
	struct sockaddr_storage local;
	socklen_t sl = sizeof(local);
	struct nm_origin o;
	char orig[80] = "?", line[256];
	int err = 0, level;

	if (getsockname(fd, (struct sockaddr *)&local, &sl))
		local.ss_family = AF_INET;
	level = local.ss_family == AF_INET6 ? SOL_IPV6 : SOL_IP;
	if (level == SOL_IP) {
		struct sockaddr_in sin;
		socklen_t l = sizeof(sin);

		memset(&sin, 0, sizeof(sin));
		if (getsockopt(fd, SOL_IP, NM_SO_ORIGINAL_DST, &sin, &l))
			err = errno;
		else
			nmt_sa_str((struct sockaddr *)&sin, orig, sizeof(orig));
	} else {
		struct sockaddr_in6 sin6;
		socklen_t l = sizeof(sin6);

		memset(&sin6, 0, sizeof(sin6));
		if (getsockopt(fd, SOL_IPV6, NM_SO_ORIGINAL_DST, &sin6, &l))
			err = errno;
		else
			nmt_sa_str((struct sockaddr *)&sin6, orig, sizeof(orig));
	}
	memset(&o, 0, sizeof(o));
	sl = sizeof(o);
	if (getsockopt(fd, level, NM_SO_ORIGIN, &o, &sl)) {
		if (!err)
			err = errno;
		memset(&o, 0, sizeof(o));
	}
	snprintf(line, sizeof(line), "PROXY orig=%s policy=%u cgroup=%llu err=%d\n", orig,
		 o.policy_id, (unsigned long long)o.cgroup_id, err);
	if (write(fd, line, strlen(line)) < 0) {
		/* the client is gone */
	}
}

static void on_listen(struct loop *l, int i)
{
	for (int k = 0; k < 16; k++) {
		int c = accept4(l->s[i].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int j;

		if (c < 0)
			return;
		if (l->s[i].kind == SVC_PROXY_LISTEN)
			answer_proxy(c);
		else
			answer_hello(c);
		/* Half-close and drain until the client closes: closing with
		 * unread data (a TFO payload) would send a reset. */
		shutdown(c, SHUT_WR);
		j = loop_add(l, c, SVC_CONN);
		if (j >= 0)
			l->s[j].deadline = nmt_now_ms() + CONN_LINGER;
	}
}

static void on_udp(struct loop *l, int i)
{
	for (int k = 0; k < 16; k++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		char buf[512], out[600];
		ssize_t n = recvfrom(l->s[i].fd, buf, sizeof(buf) - 1, MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		size_t ol;

		if (n < 0)
			return;
		buf[n] = 0;
		if (l->s[i].kind == SVC_UDP_DNS) {
			memcpy(out, "DNS ", 4);
			memcpy(out + 4, buf, n);
			ol = 4 + n;
		} else {
			ol = snprintf(out, sizeof(out), "%s", l->s[i].hello);
		}
		sendto(l->s[i].fd, out, ol, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
	}
}

static void on_conn(struct loop *l, int i)
{
	char buf[512];

	for (;;) {
		ssize_t n = read(l->s[i].fd, buf, sizeof(buf));

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		loop_del(l, i);
		return;
	}
}

static void loop_run(struct loop *l)
{
	struct pollfd pfd[SVC_MAX];

	for (;;) {
		long long now = nmt_now_ms();
		int n = l->n;

		for (int i = l->n - 1; i >= 0; i--)
			if (l->s[i].kind == SVC_CONN && l->s[i].deadline <= now)
				loop_del(l, i);
		n = l->n;
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = l->s[i].fd, .events = POLLIN };
		if (poll(pfd, n, 500) <= 0)
			continue;
		/* Back to front: handlers may append or remove entries. */
		for (int i = n - 1; i >= 0; i--) {
			if (!pfd[i].revents)
				continue;
			switch (l->s[i].kind) {
			case SVC_HELLO_LISTEN:
			case SVC_PROXY_LISTEN:
				on_listen(l, i);
				break;
			case SVC_UDP_HELLO:
			case SVC_UDP_DNS:
				on_udp(l, i);
				break;
			case SVC_CONN:
				on_conn(l, i);
				break;
			}
		}
	}
}

static void ready(struct loop *l, int ok)
{
	char msg[220];

	snprintf(msg, sizeof(msg), "%s%s", ok ? "ok" : "error: ", ok ? "" : l->err);
	if (write(l->ready_fd, msg, strlen(msg)) < 0) {
		/* the parent will time out */
	}
	close(l->ready_fd);
}

static struct loop the_loop; /* one per child process */

static int world_main(void *p)
{
	struct loop *l = &the_loop;
	static const char *const udp4[] = { NMT_NET4, NMT_INTERNAL4, NMT_META4, NULL };
	int err = 0;

	l->ready_fd = *(int *)p;
	for (int i = 0; !err && nmt_world_addrs4[i]; i++)
		err = open_sock(l, nmt_world_addrs4[i], NMT_HELLO_PORT, SOCK_STREAM,
				SVC_HELLO_LISTEN);
	for (int i = 0; !err && nmt_world_addrs6[i]; i++)
		err = open_sock(l, nmt_world_addrs6[i], NMT_HELLO_PORT, SOCK_STREAM,
				SVC_HELLO_LISTEN);
	if (!err)
		err = open_sock(l, NMT_INTERNAL4, NMT_HELLO_PORT2, SOCK_STREAM, SVC_HELLO_LISTEN);
	for (int i = 0; !err && udp4[i]; i++) {
		err = open_sock(l, udp4[i], NMT_UDP_DNS, SOCK_DGRAM, SVC_UDP_HELLO);
		if (!err)
			err = open_sock(l, udp4[i], NMT_UDP_PORT, SOCK_DGRAM, SVC_UDP_HELLO);
	}
	if (!err)
		err = open_sock(l, NMT_NET6, NMT_UDP_DNS, SOCK_DGRAM, SVC_UDP_HELLO);
	if (!err)
		err = open_sock(l, NMT_NET6, NMT_UDP_PORT, SOCK_DGRAM, SVC_UDP_HELLO);
	if (!err)
		err = open_sock(l, NMT_META6, NMT_UDP_PORT, SOCK_DGRAM, SVC_UDP_HELLO);
	if (!err)
		err = open_sock(l, NMT_WORLD4, NMT_DNS_PORT, SOCK_DGRAM, SVC_UDP_DNS);
	if (!err)
		err = open_sock(l, NMT_WORLD6, NMT_DNS_PORT, SOCK_DGRAM, SVC_UDP_DNS);
	ready(l, !err);
	if (err)
		return 1;
	prctl(PR_SET_NAME, "nmt-world");
	loop_run(l);
	return 0;
}

static int proxy_main(void *p)
{
	struct loop *l = &the_loop;
	int err;

	l->ready_fd = *(int *)p;
	err = open_sock(l, NMT_WORLD4, NMT_PROXY_PORT, SOCK_STREAM, SVC_PROXY_LISTEN);
	if (!err)
		err = open_sock(l, NMT_WORLD6, NMT_PROXY_PORT, SOCK_STREAM, SVC_PROXY_LISTEN);
	ready(l, !err);
	if (err)
		return 1;
	prctl(PR_SET_NAME, "nmt-proxy");
	loop_run(l);
	return 0;
}

/* The same proxy on the loopback of whatever netns it runs in. */
static int proxy_lo_main(void *p)
{
	struct loop *l = &the_loop;
	int err;

	l->ready_fd = *(int *)p;
	err = open_sock(l, "127.0.0.1", NMT_PROXY_PORT, SOCK_STREAM, SVC_PROXY_LISTEN);
	if (!err)
		err = open_sock(l, "::1", NMT_PROXY_PORT, SOCK_STREAM, SVC_PROXY_LISTEN);
	ready(l, !err);
	if (err)
		return 1;
	prctl(PR_SET_NAME, "nmt-proxy-lo");
	loop_run(l);
	return 0;
}

static int start(const char *what, const char *cgroup, const char *netns, int (*fn)(void *),
		 pid_t *pidp)
{
	int p[2];
	char msg[256];
	pid_t pid;

	*pidp = 0;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = nmt_spawn(cgroup, netns, fn, &p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pid;
	}
	nmt_read_all(p[0], msg, sizeof(msg), 5000);
	close(p[0]);
	if (strcmp(msg, "ok")) {
		fprintf(stderr, "nmt: %s server did not start: %s\n", what,
			*msg ? msg : "no answer within 5 s");
		kill(pid, SIGKILL);
		nmt_wait(pid, 2000);
		return -EIO;
	}
	*pidp = pid;
	return 0;
}

int nmt_world_start(const struct nmt_topo *t, pid_t *pid)
{
	return start("world", NULL, t->wns, world_main, pid);
}

int nmt_proxy_start(const struct nmt_topo *t, const char *cgroup, pid_t *pid)
{
	return start("proxy", cgroup, t->wns, proxy_main, pid);
}

int nmt_proxy_start_loopback(const struct nmt_topo *t, const char *cgroup, pid_t *pid)
{
	return start("loopback proxy", cgroup, t->cns, proxy_lo_main, pid);
}

int nmt_servers_start(const struct nmt_topo *t, const char *proxy_cgroup, struct nmt_servers *s)
{
	int err = nmt_world_start(t, &s->world);

	if (err)
		return err;
	return nmt_proxy_start(t, proxy_cgroup, &s->proxy);
}

void nmt_servers_stop(struct nmt_servers *s)
{
	if (s->proxy > 0) {
		kill(s->proxy, SIGKILL);
		nmt_wait(s->proxy, 2000);
		s->proxy = 0;
	}
	if (s->world > 0) {
		kill(s->world, SIGKILL);
		nmt_wait(s->world, 2000);
		s->world = 0;
	}
}
