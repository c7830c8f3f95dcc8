/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_udp.c - UDP attempts at the metadata and internal hosts, by every
 * call that sends a datagram (connect+send, sendto, sendmsg, sendmmsg,
 * io_uring sendmsg, UDP-Lite), odd sockaddr families (AF_UNSPEC on an
 * AF_INET socket, AF_INET on an AF_INET6 one), port 53 (which the DNS
 * endpoint should get instead), sockets that first talk to an allowed place
 * and then change their mind (re-connect, dissolve with AF_UNSPEC, sendto
 * past the connected peer, cork with MSG_MORE, sendmmsg of mixed
 * destinations), and broadcast and multicast onto the metadata host's link.
 *
 * Each sends its token and judges the answer (agent.c); where nothing can
 * answer, the witness tells whether the datagram arrived.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "battery.h"
#include "topo.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

#define TGT(a) ((const struct nmb_tgt *)(a)->arg)

/* An allowed UDP destination: port 53 anywhere goes to the DNS endpoint. */
#define OK_ADDR NMT_NET4
#define OK_PORT 53

static void uring_sendmsg(const struct nmb_att *a, bool mapped, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct io_uring ring;
	struct sockaddr_storage ss;
	struct iovec iov;
	struct msghdr msg;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->udp, mapped), fd, e, res = 0;

	e = io_uring_queue_init(4, &ring, 0);
	if (e < 0) {
		nmb_set_errno(r, "io_uring_setup", -e);
		return;
	}
	fd = nmb_socket(ss.ss_family, SOCK_DGRAM, 0, NMB_SOCK_MS);
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		goto out;
	}
	nmb_token(a->name, tok, sizeof(tok));
	iov = (struct iovec){ tok, strlen(tok) };
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &ss;
	msg.msg_namelen = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	io_uring_prep_sendmsg(io_uring_get_sqe(&ring), fd, &msg, 0);
	e = nmb_uring_one(&ring, &res);
	if (e < 0)
		nmb_set_errno(r, "io_uring_enter", -e);
	else if (res < 0)
		nmb_set_errno(r, "uring-sendmsg", -res);
	else
		nmb_udp_reply(fd, NULL, r);
	close(fd);
out:
	io_uring_queue_exit(&ring);
}

static void att_uring_sendmsg(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	uring_sendmsg(a, false, r);
}

static void att_uring_sendmsg_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	uring_sendmsg(a, true, r);
}

/* ---- UDP ------------------------------------------------------------------------- */
enum udp_how { U_CONNECT, U_SENDTO, U_SENDMSG, U_SENDMMSG };

static void udp_to(const struct nmb_att *a, enum udp_how how, bool mapped, int proto, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->udp, mapped);
	int fd = nmb_socket(ss.ss_family, SOCK_DGRAM, proto, NMB_SOCK_MS);
	struct iovec iov[2];
	struct mmsghdr mm[2];
	const char *call = "sendto";
	ssize_t n = -1;

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok));
	iov[0] = iov[1] = (struct iovec){ tok, strlen(tok) };
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_name = &ss;
		mm[i].msg_hdr.msg_namelen = len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	switch (how) {
	case U_CONNECT:
		call = "connect";
		if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
			call = "send";
			n = send(fd, tok, strlen(tok), 0);
		}
		break;
	case U_SENDTO:
		n = sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ss, len);
		break;
	case U_SENDMSG:
		call = "sendmsg";
		n = sendmsg(fd, &mm[0].msg_hdr, 0);
		break;
	case U_SENDMMSG:
		call = "sendmmsg";
		n = sendmmsg(fd, mm, 2, 0);
		break;
	}
	if (n < 0)
		nmb_set_errno(r, call, errno);
	else
		nmb_udp_reply(fd, NULL, r);
	close(fd);
}

static void att_udp_connect(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_CONNECT, false, 0, r);
}

static void att_udp_connect_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_CONNECT, true, 0, r);
}

static void att_udp_sendto(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_SENDTO, false, 0, r);
}

static void att_udp_sendto_mapped(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_SENDTO, true, 0, r);
}

static void att_udp_sendmsg(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_SENDMSG, false, 0, r);
}

static void att_udp_sendmmsg(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_SENDMMSG, false, 0, r);
}

/* UDP-Lite: the world runs no UDP-Lite server, so only the witness can
 * tell whether the datagram arrived. */
static void att_udplite(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_to(a, U_SENDTO, false, IPPROTO_UDPLITE, r);
	if (r->kind == NMB_BLOCKED && strstr(r->how, "no reply"))
		nmb_set(r, NMB_BLOCKED, "sent; no UDP-Lite server answers (the witness tells whether it arrived)");
}

/* sendto with an odd sockaddr family: AF_UNSPEC on an AF_INET socket, or
 * AF_INET on an AF_INET6 socket. */
static void udp_odd_family(const struct nmb_att *a, int sock_family, int sa_family, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->udp, false);
	int fd = nmb_socket(sock_family, SOCK_DGRAM, 0, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	ss.ss_family = sa_family;
	nmb_token(a->name, tok, sizeof(tok));
	if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ss, len) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_udp_reply(fd, NULL, r);
	close(fd);
}

static void att_udp_af_unspec(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_odd_family(a, AF_INET, AF_UNSPEC, r);
}

static void att_udp6_sin(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_odd_family(a, AF_INET6, AF_INET, r);
}

/* UDP to port 53 of the target: the DNS endpoint should get it instead. */
static void att_udp53(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, 53, false);
	int fd = nmb_socket(AF_INET, SOCK_DGRAM, 0, NMB_SOCK_MS);

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok));
	if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ss, len) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_udp_reply(fd, NULL, r);
	close(fd);
}

/* Sequences on one UDP socket that first talks to an allowed place (port
 * 53 of an internet host, which goes to the DNS endpoint). */
enum seq { S_RECONNECT, S_DISSOLVE, S_CONNECTED_SENDTO, S_CORK, S_MMSG_MIXED };

static void udp_seq(const struct nmb_att *a, enum seq s, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ok, tgt, un;
	int oklen = nmt_sa_make(&ok, OK_ADDR, OK_PORT, false);
	int tlen = nmt_sa_make(&tgt, TGT(a)->addr, TGT(a)->udp, false);
	int fd = nmb_socket(AF_INET, SOCK_DGRAM, 0, NMB_SOCK_MS);
	struct iovec iov[2];
	struct mmsghdr mm[2];
	ssize_t n;

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok));
	switch (s) {
	case S_RECONNECT:
	case S_DISSOLVE:
	case S_CONNECTED_SENDTO:
		if (connect(fd, (struct sockaddr *)&ok, oklen)) {
			nmb_set_errno(r, "connect (allowed)", errno);
			break;
		}
		if (s == S_RECONNECT) {
			if (connect(fd, (struct sockaddr *)&tgt, tlen)) {
				nmb_set_errno(r, "connect", errno);
				break;
			}
			n = send(fd, tok, strlen(tok), 0);
			if (n < 0) {
				nmb_set_errno(r, "send", errno);
				break;
			}
		} else {
			if (s == S_DISSOLVE) {
				memset(&un, 0, sizeof(un));
				un.ss_family = AF_UNSPEC;
				if (connect(fd, (struct sockaddr *)&un, sizeof(struct sockaddr))) {
					nmb_set_errno(r, "connect(AF_UNSPEC)", errno);
					break;
				}
			}
			n = sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&tgt, tlen);
			if (n < 0) {
				nmb_set_errno(r, "sendto", errno);
				break;
			}
		}
		nmb_udp_reply(fd, NULL, r);
		break;
	case S_CORK:
		/* A corked datagram to the allowed place, then the token
		 * "to" the target: appended to the corked one. */
		if (sendto(fd, "x", 1, MSG_MORE, (struct sockaddr *)&ok, oklen) < 0) {
			nmb_set_errno(r, "sendto(MSG_MORE, allowed)", errno);
			break;
		}
		if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&tgt, tlen) < 0) {
			nmb_set_errno(r, "sendto", errno);
			break;
		}
		nmb_udp_reply(fd, NULL, r);
		break;
	case S_MMSG_MIXED:
		iov[0] = (struct iovec){ "x", 1 };
		iov[1] = (struct iovec){ tok, strlen(tok) };
		memset(mm, 0, sizeof(mm));
		mm[0].msg_hdr.msg_name = &ok;
		mm[0].msg_hdr.msg_namelen = oklen;
		mm[1].msg_hdr.msg_name = &tgt;
		mm[1].msg_hdr.msg_namelen = tlen;
		for (int i = 0; i < 2; i++) {
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, mm, 2, 0);
		if (n < 0) {
			nmb_set_errno(r, "sendmmsg", errno);
			break;
		}
		/* Up to two replies: the target's HELLO wins if it is one. */
		nmb_udp_reply(fd, NULL, r);
		if (r->kind != NMB_THROUGH && n == 2) {
			struct nmb_res r2;

			memset(&r2, 0, sizeof(r2));
			nmb_udp_reply(fd, NULL, &r2);
			if (r2.kind == NMB_THROUGH)
				*r = r2;
		}
		if (r->kind != NMB_THROUGH && n < 2) {
			char first[sizeof(r->how)];
			/* sendmmsg stops at the refused one; ask it alone for why. */
			int e = sendmsg(fd, &mm[1].msg_hdr, 0) < 0 ? errno : 0;

			nmb_copy(first, sizeof(first), r->how);
			nmb_set(r, NMB_BLOCKED, "sendmmsg sent %zd of 2 (the second alone: %s); first: %s", n,
				e ? nmb_errname(e) ? nmb_errname(e) : strerror(e) : "sent", first);
		}
		break;
	}
	close(fd);
}

static void att_udp_reconnect(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_seq(a, S_RECONNECT, r);
}

static void att_udp_dissolve(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_seq(a, S_DISSOLVE, r);
}

static void att_udp_connected_sendto(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_seq(a, S_CONNECTED_SENDTO, r);
}

static void att_udp_cork(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_seq(a, S_CORK, r);
}

static void att_udp_mmsg_mixed(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	udp_seq(a, S_MMSG_MIXED, r);
}

/* Broadcast and multicast onto the metadata host's link: nothing there
 * answers (the world's servers listen on their own addresses), so only the
 * witness can tell whether the datagram went out. */
struct cast {
	const char *addr;
	bool dev; /* bind to the client's veth first */
};

#define CAST(a) ((const struct cast *)(a)->arg)

static void att_cast(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	int one = 1, len = nmt_sa_make(&ss, CAST(a)->addr, 5300, false);
	int fd = nmb_socket(ss.ss_family, SOCK_DGRAM, 0, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (CAST(a)->dev)
		setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->cdev, strlen(c->cdev));
	if (ss.ss_family == AF_INET6)
		s6->sin6_scope_id = if_nametoindex(c->cdev);
	nmb_token(a->name, tok, sizeof(tok));
	if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ss, len) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_set(r, NMB_BLOCKED, "sent to %s; nothing answers (the witness tells whether it went out)",
			CAST(a)->addr);
	close(fd);
}

static const struct cast cast_subnet = { "10.250.0.255", false };
static const struct cast cast_limited = { "255.255.255.255", true };
static const struct cast cast_allnodes = { "ff02::1", false };

/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, arg, ctl) { g, n, f, arg, ctl, 0 }

const struct nmb_att nmb_att_udp[] = {
	A("udp", "udp4-connect.meta4", att_udp_connect, &nmb_meta4, true),
	A("udp", "udp4-connect.int4", att_udp_connect, &nmb_int4, true),
	A("udp", "udp6-connect.meta6", att_udp_connect, &nmb_meta6, true),
	A("udp", "udp6-mapped-connect.meta4", att_udp_connect_mapped, &nmb_meta4, true),
	A("udp", "udp4-sendto.meta4", att_udp_sendto, &nmb_meta4, true),
	A("udp", "udp4-sendto.int4", att_udp_sendto, &nmb_int4, true),
	A("udp", "udp6-sendto.meta6", att_udp_sendto, &nmb_meta6, true),
	A("udp", "udp6-mapped-sendto.meta4", att_udp_sendto_mapped, &nmb_meta4, true),
	A("udp", "udp6-mapped-sendto.int4", att_udp_sendto_mapped, &nmb_int4, true),
	A("udp", "udp4-sendmsg.meta4", att_udp_sendmsg, &nmb_meta4, true),
	A("udp", "udp6-sendmsg.meta6", att_udp_sendmsg, &nmb_meta6, true),
	A("udp", "udp4-sendmmsg.meta4", att_udp_sendmmsg, &nmb_meta4, true),
	A("udp", "udp6-sendmmsg.meta6", att_udp_sendmmsg, &nmb_meta6, true),
	A("udp", "uring-sendmsg4.meta4", att_uring_sendmsg, &nmb_meta4, true),
	A("udp", "uring-sendmsg6.meta6", att_uring_sendmsg, &nmb_meta6, true),
	A("udp", "uring-sendmsg6-mapped.meta4", att_uring_sendmsg_mapped, &nmb_meta4, true),
	A("udp", "udplite4.meta4", att_udplite, &nmb_meta4, true),
	A("udp", "udplite6.meta6", att_udplite, &nmb_meta6, true),
	A("udp", "udp4-sockaddr-af_unspec.meta4", att_udp_af_unspec, &nmb_meta4, true),
	A("udp", "udp6-sockaddr_in.meta4", att_udp6_sin, &nmb_meta4, true),
	A("udp", "udp4-port53.meta4", att_udp53, &nmb_meta4, true),
	A("udp", "udp4-reconnect.meta4", att_udp_reconnect, &nmb_meta4, true),
	A("udp", "udp4-dissolve-sendto.meta4", att_udp_dissolve, &nmb_meta4, true),
	A("udp", "udp4-connected-sendto.meta4", att_udp_connected_sendto, &nmb_meta4, true),
	A("udp", "udp4-cork.meta4", att_udp_cork, &nmb_meta4, false),
	A("udp", "udp4-sendmmsg-mixed.meta4", att_udp_mmsg_mixed, &nmb_meta4, true),
	A("udp", "udp4-subnet-broadcast", att_cast, &cast_subnet, true),
	A("udp", "udp4-limited-broadcast", att_cast, &cast_limited, true),
	A("udp", "udp6-multicast-all-nodes", att_cast, &cast_allnodes, true),
};

const int nmb_att_udp_n = sizeof(nmb_att_udp) / sizeof(nmb_att_udp[0]);
