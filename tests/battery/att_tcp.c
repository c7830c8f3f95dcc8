/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_tcp.c - TCP attempts at the metadata and internal hosts, by every
 * family and call that opens a stream: connect (AF_INET, AF_INET6, an
 * IPv4-mapped address, an AF_INET6 socket given a sockaddr_in), TCP Fast
 * Open (sendto MSG_FASTOPEN and TCP_FASTOPEN_CONNECT), io_uring (connect,
 * and socket+connect), MPTCP, a socket bound first (to the client's address
 * or device), and TCP repair mode, which makes a socket connected without
 * connect().
 *
 * Each sends its token once connected and judges the answer (agent.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "battery.h"
#include "topo.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif

#define TGT(a) ((const struct nmb_tgt *)(a)->arg)

/* ---- TCP ----------------------------------------------------------------------- */
void nmb_tcp_to(const struct nmb_att *a, const char *addr, int port, bool mapped, int proto, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, addr, port, mapped);
	int fd = nmb_socket(ss.ss_family, SOCK_STREAM, proto, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len))
		nmb_set_errno(r, "connect", errno);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
}

static void att_tcp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	nmb_tcp_to(a, TGT(a)->addr, TGT(a)->tcp, false, 0, r);
}

static void att_tcp_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	nmb_tcp_to(a, TGT(a)->addr, TGT(a)->tcp, true, 0, r);
}

static void att_mptcp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	nmb_tcp_to(a, TGT(a)->addr, TGT(a)->tcp, false, IPPROTO_MPTCP, r);
}

static void att_mptcp_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	nmb_tcp_to(a, TGT(a)->addr, TGT(a)->tcp, true, IPPROTO_MPTCP, r);
}

/* An endpoint that is not a target (the proxy host, loopback, ...). */
/* TCP Fast Open: the token rides in the SYN (sendto MSG_FASTOPEN). */
static void tfo(const struct nmb_att *a, bool mapped, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, mapped);
	int fd = nmb_socket(ss.ss_family, SOCK_STREAM, 0, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok));
	if (sendto(fd, tok, strlen(tok), MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
}

static void att_tfo(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	tfo(a, false, r);
}

static void att_tfo_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	tfo(a, true, r);
}

/* TCP_FASTOPEN_CONNECT: connect() returns at once, the SYN leaves with the
 * first write. */
static void att_tfo_connect(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	int one = 1, len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, false);
	int fd = nmb_socket(ss.ss_family, SOCK_STREAM, 0, NMB_SOCK_MS);

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)))
		nmb_set_errno(r, "setsockopt(TCP_FASTOPEN_CONNECT)", errno);
	else if (connect(fd, (struct sockaddr *)&ss, len))
		nmb_set_errno(r, "connect", errno);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
}

/* An AF_INET6 socket given a sockaddr_in. */
static void att_tcp6_sin(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, false);
	int fd = nmb_socket(AF_INET6, SOCK_STREAM, 0, NMB_SOCK_MS);

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len))
		nmb_set_errno(r, "connect", errno);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
}

/* Bound first: to the client's own address, or to its device. */
static void att_tcp_bound(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r, bool dev)
{
	struct sockaddr_storage ss, src;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, false);
	int slen = nmt_sa_make(&src, NMT_CLIENT4, 0, false);
	int fd = nmb_socket(AF_INET, SOCK_STREAM, 0, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (dev ? setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->cdev, strlen(c->cdev))
		: bind(fd, (struct sockaddr *)&src, slen))
		nmb_set_errno(r, dev ? "setsockopt(SO_BINDTODEVICE)" : "bind", errno);
	else if (connect(fd, (struct sockaddr *)&ss, len))
		nmb_set_errno(r, "connect", errno);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
}

static void att_bind_src(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	att_tcp_bound(a, c, r, false);
}

static void att_bindtodevice(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	att_tcp_bound(a, c, r, true);
}

/* TCP repair mode makes a socket "connected" without connect(). */
static void att_tcp_repair(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	int one = 1, zero = 0, len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, false);
	int fd = nmb_socket(AF_INET, SOCK_STREAM, 0, NMB_SOCK_MS);

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one))) {
		nmb_set_errno(r, "setsockopt(TCP_REPAIR)", errno);
	} else if (connect(fd, (struct sockaddr *)&ss, len)) {
		nmb_set_errno(r, "connect (repair mode)", errno);
	} else {
		setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &zero, sizeof(zero));
		nmb_tcp_talk(fd, NULL, a->name, r);
	}
	close(fd);
}

/* IP_OPTIONS with a loose source route through hop, then connect or send. */
/* ---- io_uring -------------------------------------------------------------------- */
/* Submit what is queued and wait for one completion: its result. */
static void uring_connect(const struct nmb_att *a, bool mapped, struct nmb_res *r)
{
	struct io_uring ring;
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, mapped), fd, e, res = 0;

	e = io_uring_queue_init(4, &ring, 0);
	if (e < 0) {
		nmb_set_errno(r, "io_uring_setup", -e);
		return;
	}
	fd = nmb_socket(ss.ss_family, SOCK_STREAM, 0, NMB_SOCK_MS);
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		goto out;
	}
	io_uring_prep_connect(io_uring_get_sqe(&ring), fd, (struct sockaddr *)&ss, len);
	e = nmb_uring_one(&ring, &res);
	if (e < 0)
		nmb_set_errno(r, "io_uring_enter", -e);
	else if (res < 0)
		nmb_set_errno(r, "uring-connect", -res);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
out:
	io_uring_queue_exit(&ring);
}

static void att_uring_connect(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	uring_connect(a, false, r);
}

static void att_uring_connect_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	uring_connect(a, true, r);
}

/* The socket too is made by io_uring (IORING_OP_SOCKET). */
static void att_uring_socket(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct io_uring ring;
	struct sockaddr_storage ss;
	struct timeval tv = { NMB_SOCK_MS / 1000, 0 };
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, false), e, fd = -1, res = 0;

	(void)c;
	e = io_uring_queue_init(4, &ring, 0);
	if (e < 0) {
		nmb_set_errno(r, "io_uring_setup", -e);
		return;
	}
	io_uring_prep_socket(io_uring_get_sqe(&ring), ss.ss_family, SOCK_STREAM, 0, 0);
	e = nmb_uring_one(&ring, &res);
	if (e < 0 || res < 0) {
		nmb_set_errno(r, "uring-socket", e < 0 ? -e : -res);
		goto out;
	}
	fd = res;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	io_uring_prep_connect(io_uring_get_sqe(&ring), fd, (struct sockaddr *)&ss, len);
	e = nmb_uring_one(&ring, &res);
	if (e < 0)
		nmb_set_errno(r, "io_uring_enter", -e);
	else if (res < 0)
		nmb_set_errno(r, "uring-connect", -res);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
out:
	io_uring_queue_exit(&ring);
}

/* An unconnected UDP datagram by IORING_OP_SENDMSG. */

/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, arg, ctl) { g, n, f, arg, ctl, 0 }

const struct nmb_att nmb_att_tcp[] = {
	A("tcp", "tcp4.meta4", att_tcp, &nmb_meta4, true),
	A("tcp", "tcp4.int4", att_tcp, &nmb_int4, true),
	A("tcp", "tcp6.meta6", att_tcp, &nmb_meta6, true),
	A("tcp", "tcp6-mapped.meta4", att_tcp_mapped, &nmb_meta4, true),
	A("tcp", "tcp6-mapped.int4", att_tcp_mapped, &nmb_int4, true),
	A("tcp", "tcp6-sockaddr_in.meta4", att_tcp6_sin, &nmb_meta4, false),
	A("tcp", "tfo4.meta4", att_tfo, &nmb_meta4, true),
	A("tcp", "tfo4.int4", att_tfo, &nmb_int4, true),
	A("tcp", "tfo6.meta6", att_tfo, &nmb_meta6, true),
	A("tcp", "tfo6-mapped.meta4", att_tfo_mapped, &nmb_meta4, true),
	A("tcp", "tfo-connect4.meta4", att_tfo_connect, &nmb_meta4, true),
	A("tcp", "uring-connect4.meta4", att_uring_connect, &nmb_meta4, true),
	A("tcp", "uring-connect4.int4", att_uring_connect, &nmb_int4, true),
	A("tcp", "uring-connect6.meta6", att_uring_connect, &nmb_meta6, true),
	A("tcp", "uring-connect6-mapped.meta4", att_uring_connect_mapped, &nmb_meta4, true),
	A("tcp", "uring-socket-connect4.meta4", att_uring_socket, &nmb_meta4, true),
	A("tcp", "mptcp4.meta4", att_mptcp, &nmb_meta4, true),
	A("tcp", "mptcp4.int4", att_mptcp, &nmb_int4, true),
	A("tcp", "mptcp6.meta6", att_mptcp, &nmb_meta6, true),
	A("tcp", "mptcp6-mapped.meta4", att_mptcp_mapped, &nmb_meta4, true),
	A("tcp", "tcp4-bind-src.meta4", att_bind_src, &nmb_meta4, true),
	A("tcp", "tcp4-bindtodevice.meta4", att_bindtodevice, &nmb_meta4, true),
	A("tcp", "tcp4-repair.meta4", att_tcp_repair, &nmb_meta4, false),
};

const int nmb_att_tcp_n = sizeof(nmb_att_tcp) / sizeof(nmb_att_tcp[0]);
