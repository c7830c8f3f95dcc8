/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_raw.c - attempts below the socket layer: raw IPv4 and IPv6 sockets
 * (a hand-made IPv4+UDP datagram with IP_HDRINCL, a UDP header on a raw
 * UDP socket, ICMP echo), ICMP "ping" datagram sockets, and what a
 * user-space network stack would use: AF_PACKET (SOCK_RAW, SOCK_DGRAM and
 * the old SOCK_PACKET), AF_XDP and a tun device.
 *
 * A hand-made UDP datagram comes from the client's address and the port of
 * a UDP socket the attempt binds first, so the target's HELLO comes back
 * to that socket (or, for AF_PACKET, is read off the wire by the packet
 * socket itself, as a user-space stack would).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/if_xdp.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "battery.h"
#include "rawpkt.h"
#include "topo.h"

#define TGT(a) ((const struct nmb_tgt *)(a)->arg)

#ifndef SOCK_PACKET
#define SOCK_PACKET 10
#endif

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool is_v6(const struct nmb_tgt *t)
{
	return strchr(t->addr, ':') != NULL;
}

/* socket() failed for a raw or ping socket: whose refusal was it? */
static void raw_socket_err(struct nmb_res *r, int e, bool packet)
{
	if (e == EPERM && !nmb_has_cap(CAP_NET_RAW))
		nmb_set(r, NMB_BLOCKED, "EPERM at socket: no CAP_NET_RAW (the kernel refuses before any hook)");
	else if (e == EPERM && !packet && nmb_agent_pass != NMB_CONTROL)
		nmb_set(r, NMB_BLOCKED, "EPERM at socket: nomoat's sock_create (raw-sockets deny)");
	else if (e == EACCES)
		nmb_set(r, NMB_BLOCKED, "EACCES at socket: the group is outside net.ipv4.ping_group_range");
	else
		nmb_set_errno(r, "socket", e);
}

/* A UDP socket on the client's address: its port is the crafted source. */
static int reply_sock(bool v6, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int len = nmt_sa_make(&ss, v6 ? NMT_CLIENT6 : NMT_CLIENT4, 0, false);
	int fd = nmb_socket(ss.ss_family, SOCK_DGRAM, 0, NMB_SOCK_MS);

	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&ss, len) || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		int e = -errno;

		close(fd);
		return e;
	}
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in sockaddr_in6 */
	return fd;
}

/* ---- raw IP sockets --------------------------------------------------------------- */
enum raw_kind { R_HDRINCL, R_UDP };

static void raw_udp(const struct nmb_att *a, enum raw_kind k, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	bool v6 = is_v6(t);
	char tok[NMB_TOKEN_MAX];
	uint8_t pkt[256];
	struct sockaddr_storage dst, srcs;
	uint16_t sport = 0;
	int dlen = nmt_sa_make(&dst, t->addr, 0, false), one = 6, rs, fd;
	size_t n;

	nmt_sa_make(&srcs, v6 ? NMT_CLIENT6 : NMT_CLIENT4, 0, false);
	rs = reply_sock(v6, &sport);
	if (rs < 0) {
		nmb_set_errno(r, "bind (reply socket)", -rs);
		return;
	}
	fd = nmb_socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, k == R_HDRINCL ? IPPROTO_RAW : IPPROTO_UDP, NMB_SOCK_MS);
	if (fd < 0) {
		raw_socket_err(r, -fd, false);
		close(rs);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok));
	if (k == R_UDP) {
		n = nmb_udp_only(pkt, sizeof(pkt), sport, t->udp, tok, strlen(tok));
		/* IPv6 has no "no checksum": let the kernel fill it in. */
		if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &one, sizeof(one))) {
			nmb_set_errno(r, "setsockopt(IPV6_CHECKSUM)", errno);
			goto out;
		}
	} else if (v6) {
		n = nmb_ip6_udp(pkt, sizeof(pkt), &((struct sockaddr_in6 *)&srcs)->sin6_addr,
				&((struct sockaddr_in6 *)&dst)->sin6_addr, sport, t->udp, tok, strlen(tok));
	} else {
		n = nmb_ip4_udp(pkt, sizeof(pkt), ((struct sockaddr_in *)&srcs)->sin_addr,
				((struct sockaddr_in *)&dst)->sin_addr, sport, t->udp, tok, strlen(tok));
	}
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_udp_reply(rs, t, r);
out:
	close(fd);
	close(rs);
}

static void att_raw_hdrincl(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	raw_udp(a, R_HDRINCL, r);
}

static void att_raw_udp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	raw_udp(a, R_UDP, r);
}

/* ICMP echo on a raw socket (ping = false) or a ping socket. */
static void echo(const struct nmb_att *a, bool ping, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	bool v6 = is_v6(t);
	char tok[NMB_TOKEN_MAX], from[INET6_ADDRSTRLEN];
	uint8_t pkt[256];
	struct sockaddr_storage dst;
	uint16_t id = (uint16_t)getpid();
	int dlen = nmt_sa_make(&dst, t->addr, 0, false), fd;
	long long end;
	size_t n;

	fd = nmb_socket(v6 ? AF_INET6 : AF_INET, ping ? SOCK_DGRAM : SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
			NMB_SOCK_MS);
	if (fd < 0) {
		raw_socket_err(r, -fd, false);
		return;
	}
	nmb_token(a->name, tok, sizeof(tok));
	n = nmb_icmp_echo(pkt, sizeof(pkt), v6, id, 1, tok, strlen(tok));
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen) < 0) {
		nmb_set_errno(r, "sendto", errno);
		close(fd);
		return;
	}
	nmb_set(r, NMB_BLOCKED, "sent; no echo reply within %d ms", NMB_SOCK_MS);
	end = mono_ms() + NMB_SOCK_MS;
	while (mono_ms() < end) {
		struct sockaddr_storage src;
		socklen_t sl = sizeof(src);
		uint8_t in[512];
		const uint8_t *icmp = in;
		ssize_t k = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&src, &sl);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		/* A raw IPv4 socket gets the IP header too. */
		if (!v6 && !ping) {
			if (k < 20 || k < (in[0] & 0xf) * 4 + 8)
				continue;
			icmp = in + (in[0] & 0xf) * 4;
			k -= (in[0] & 0xf) * 4;
		}
		if (k < 8)
			continue;
		if (src.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&src)->sin_addr, from, sizeof(from));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&src)->sin6_addr, from, sizeof(from));
		if (icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) || strcmp(from, t->addr))
			continue;
		if (!ping && (icmp[4] << 8 | icmp[5]) != id)
			continue;
		nmb_set(r, NMB_THROUGH, "echo reply from %s", from);
		break;
	}
	close(fd);
}

static void att_raw_echo(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	echo(a, false, r);
}

static void att_ping(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	echo(a, true, r);
}

/* A tun device: a user-space stack's other door. */
static void att_tun(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	(void)a;
	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "open(/dev/net/tun)", errno);
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "nmbtun%%d");
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr))
		nmb_set(r, NMB_BLOCKED, "%s at ioctl(TUNSETIFF): making a device needs CAP_NET_ADMIN",
			nmb_errname(errno) ? nmb_errname(errno) : strerror(errno));
	else
		nmb_set(r, NMB_FAILED, "made %s, but without CAP_NET_ADMIN it can be given no address or route",
			ifr.ifr_name);
	close(fd);
}

/* ---- AF_PACKET -------------------------------------------------------------------- */
/* Read frames (or IP packets when dgram) off s for a UDP answer from the
 * target to sport, up to the socket's time bound. */
static bool wire_reply(int s, bool dgram, const struct nmb_tgt *t, uint16_t sport, char *out, size_t olen)
{
	long long end = mono_ms() + NMB_SOCK_MS;

	while (mono_ms() < end) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		uint8_t in[2048];
		ssize_t k;

		if (poll(&pfd, 1, (int)(end - mono_ms())) <= 0)
			continue;
		k = recv(s, in, sizeof(in), MSG_DONTWAIT);
		if (k <= 0)
			continue;
		if (dgram && nmb_udp_in_ip(in, k, t->addr, t->udp, sport, out, olen))
			return true;
		if (!dgram && k > NMB_ETH_HLEN &&
		    nmb_udp_in_ip(in + NMB_ETH_HLEN, k - NMB_ETH_HLEN, t->addr, t->udp, sport, out, olen))
			return true;
	}
	return false;
}

enum pkt_kind { P_RAW, P_DGRAM, P_SOCKPACKET };

static void packet(const struct nmb_att *a, const struct nmb_cfg *c, enum pkt_kind k, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	bool v6 = is_v6(t);
	uint16_t etype = v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP, sport = 0;
	uint8_t frame[512], own[6], peer[6], *ip = frame + NMB_ETH_HLEN;
	struct sockaddr_storage dst, srcs;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	char tok[NMB_TOKEN_MAX], got[200];
	const char *how = "";
	int fd, rs, e, ifindex = if_nametoindex(c->cdev);
	size_t n;
	ssize_t sent;

	if (k == P_SOCKPACKET)
		fd = nmb_socket(AF_INET, SOCK_PACKET, htons(ETH_P_ALL), NMB_SOCK_MS);
	else
		fd = nmb_socket(AF_PACKET, k == P_RAW ? SOCK_RAW : SOCK_DGRAM, htons(k == P_RAW ? ETH_P_ALL : etype),
				NMB_SOCK_MS);
	if (fd < 0) {
		raw_socket_err(r, -fd, true);
		return;
	}
	rs = reply_sock(v6, &sport);
	if (rs < 0) {
		nmb_set_errno(r, "bind (reply socket)", -rs);
		close(fd);
		return;
	}
	sll.sll_ifindex = ifindex;
	sll.sll_protocol = htons(k == P_RAW ? ETH_P_ALL : etype);
	if (k != P_SOCKPACKET && bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		nmb_set_errno(r, "bind (packet socket)", errno);
		goto out;
	}
	e = nmb_dev_mac(c->cdev, own);
	if (!e)
		e = nmb_neigh_mac(c->cdev, NMT_WORLD4, peer, &how);
	if (e) {
		nmb_set_errno(r, "finding the next hop's MAC", -e);
		goto out;
	}
	nmt_sa_make(&dst, t->addr, 0, false);
	nmt_sa_make(&srcs, v6 ? NMT_CLIENT6 : NMT_CLIENT4, 0, false);
	nmb_token(a->name, tok, sizeof(tok));
	if (v6)
		n = nmb_ip6_udp(ip, sizeof(frame) - NMB_ETH_HLEN, &((struct sockaddr_in6 *)&srcs)->sin6_addr,
				&((struct sockaddr_in6 *)&dst)->sin6_addr, sport, t->udp, tok, strlen(tok));
	else
		n = nmb_ip4_udp(ip, sizeof(frame) - NMB_ETH_HLEN, ((struct sockaddr_in *)&srcs)->sin_addr,
				((struct sockaddr_in *)&dst)->sin_addr, sport, t->udp, tok, strlen(tok));
	nmb_eth(frame, peer, own, etype);
	if (k == P_RAW) {
		sent = send(fd, frame, NMB_ETH_HLEN + n, 0);
	} else if (k == P_DGRAM) {
		sll.sll_halen = 6;
		memcpy(sll.sll_addr, peer, 6);
		sent = sendto(fd, ip, n, 0, (struct sockaddr *)&sll, sizeof(sll));
	} else {
		struct sockaddr_pkt spkt = { .spkt_family = AF_INET, .spkt_protocol = htons(etype) };

		nmb_copy((char *)spkt.spkt_device, sizeof(spkt.spkt_device), c->cdev);
		sent = sendto(fd, frame, NMB_ETH_HLEN + n, 0, (struct sockaddr *)&spkt, sizeof(spkt));
	}
	if (sent < 0) {
		nmb_set_errno(r, "sendto", errno);
		goto out;
	}
	if (wire_reply(fd, k == P_DGRAM, t, sport, got, sizeof(got)))
		nmb_set(r, NMB_THROUGH, "reply '%s' read off the wire (next hop's MAC %s)", got, how);
	else
		nmb_udp_reply(rs, t, r);
out:
	close(rs);
	close(fd);
}

static void att_packet_raw(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	packet(a, c, P_RAW, r);
}

static void att_packet_dgram(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	packet(a, c, P_DGRAM, r);
}

static void att_sockpacket(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	packet(a, c, P_SOCKPACKET, r);
}

/* ---- AF_XDP ----------------------------------------------------------------------- */
/* One frame out of an XDP socket in copy mode (no XDP program needed to
 * transmit); the answer comes back to the reply socket. */
#define XDP_FRAMES 4
#define XDP_FRAME  4096

static void att_xdp(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	const struct nmb_tgt *t = TGT(a);
	struct xdp_umem_reg mr;
	struct xdp_mmap_offsets off;
	struct sockaddr_xdp sx = { .sxdp_family = AF_XDP, .sxdp_queue_id = 0, .sxdp_flags = XDP_COPY };
	struct sockaddr_storage dst, srcs;
	socklen_t ol = sizeof(off);
	uint8_t *umem = MAP_FAILED, own[6], peer[6];
	void *tx = MAP_FAILED;
	size_t txlen = 0, n;
	char tok[NMB_TOKEN_MAX];
	const char *how = "";
	uint16_t sport = 0;
	int fd, rs = -1, ring = XDP_FRAMES, e;

	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		raw_socket_err(r, errno, true);
		return;
	}
	umem = mmap(NULL, XDP_FRAMES * XDP_FRAME, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem == MAP_FAILED) {
		nmb_set_errno(r, "mmap (umem)", errno);
		goto out;
	}
	mr = (struct xdp_umem_reg){ .addr = (uintptr_t)umem, .len = XDP_FRAMES * XDP_FRAME, .chunk_size = XDP_FRAME };
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_TX_RING, &ring, sizeof(ring))) {
		nmb_set_errno(r, "setsockopt(SOL_XDP)", errno);
		goto out;
	}
	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol)) {
		nmb_set_errno(r, "getsockopt(XDP_MMAP_OFFSETS)", errno);
		goto out;
	}
	txlen = off.tx.desc + XDP_FRAMES * sizeof(struct xdp_desc);
	tx = mmap(NULL, txlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, XDP_PGOFF_TX_RING);
	if (tx == MAP_FAILED) {
		nmb_set_errno(r, "mmap (tx ring)", errno);
		goto out;
	}
	sx.sxdp_ifindex = if_nametoindex(c->cdev);
	if (bind(fd, (struct sockaddr *)&sx, sizeof(sx))) {
		nmb_set_errno(r, "bind (xdp socket)", errno);
		goto out;
	}
	rs = reply_sock(false, &sport);
	e = rs < 0 ? rs : nmb_dev_mac(c->cdev, own);
	if (!e)
		e = nmb_neigh_mac(c->cdev, NMT_WORLD4, peer, &how);
	if (e) {
		nmb_set_errno(r, "reply socket / next hop's MAC", -e);
		goto out;
	}
	nmt_sa_make(&dst, t->addr, 0, false);
	nmt_sa_make(&srcs, NMT_CLIENT4, 0, false);
	n = nmb_ip4_udp(umem + NMB_ETH_HLEN, XDP_FRAME - NMB_ETH_HLEN, ((struct sockaddr_in *)&srcs)->sin_addr,
			((struct sockaddr_in *)&dst)->sin_addr, sport, t->udp, nmb_token(a->name, tok, sizeof(tok)),
			strlen(tok));
	nmb_eth(umem, peer, own, ETHERTYPE_IP);
	{
		uint32_t *prod = (uint32_t *)((uint8_t *)tx + off.tx.producer);
		struct xdp_desc *d = (struct xdp_desc *)((uint8_t *)tx + off.tx.desc);
		uint32_t p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);

		d[p & (XDP_FRAMES - 1)] = (struct xdp_desc){ .addr = 0, .len = NMB_ETH_HLEN + n };
		__atomic_store_n(prod, p + 1, __ATOMIC_RELEASE);
	}
	if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != EBUSY) {
		nmb_set_errno(r, "sendto (xdp kick)", errno);
		goto out;
	}
	nmb_udp_reply(rs, t, r);
out:
	if (tx != MAP_FAILED)
		munmap(tx, txlen);
	if (umem != MAP_FAILED)
		munmap(umem, XDP_FRAMES * XDP_FRAME);
	if (rs >= 0)
		close(rs);
	close(fd);
}

/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, arg, ctl) { g, n, f, arg, ctl, 0 }

const struct nmb_att nmb_att_raw[] = {
	A("raw", "raw4-hdrincl-udp.meta4", att_raw_hdrincl, &nmb_meta4, true),
	A("raw", "raw4-hdrincl-udp.int4", att_raw_hdrincl, &nmb_int4, true),
	A("raw", "raw4-udp.meta4", att_raw_udp, &nmb_meta4, true),
	A("raw", "raw4-icmp-echo.meta4", att_raw_echo, &nmb_meta4, true),
	A("raw", "ping4.meta4", att_ping, &nmb_meta4, true),
	A("raw", "raw6-hdrincl-udp.meta6", att_raw_hdrincl, &nmb_meta6, true),
	A("raw", "raw6-udp.meta6", att_raw_udp, &nmb_meta6, true),
	A("raw", "raw6-icmp-echo.meta6", att_raw_echo, &nmb_meta6, true),
	A("raw", "ping6.meta6", att_ping, &nmb_meta6, true),
	A("raw", "tun-device", att_tun, NULL, false),

	A("packet", "packet-raw-udp4.meta4", att_packet_raw, &nmb_meta4, true),
	A("packet", "packet-dgram-udp4.meta4", att_packet_dgram, &nmb_meta4, true),
	A("packet", "packet-raw-udp6.meta6", att_packet_raw, &nmb_meta6, true),
	A("packet", "sockpacket-udp4.meta4", att_sockpacket, &nmb_meta4, true),
	A("packet", "xdp-udp4.meta4", att_xdp, &nmb_meta4, true),
};

const int nmb_att_raw_n = sizeof(nmb_att_raw) / sizeof(nmb_att_raw[0]);
