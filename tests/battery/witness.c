/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * witness.c - the target's side of the wire.  A process in the world netns
 * reads every frame that arrives on the world's veth (an AF_PACKET socket,
 * incoming frames only) and reports each one that carries an attempt's
 * token ("NMBT:<pass>/<name>;") with where it was going:
 *
 *   SEEN <token> <dst> <proto>/<dport>
 *
 * So an attempt that reached a target is caught even when nothing came back
 * to the agent (a reply dropped, a one-way datagram, a UDP-Lite or a
 * source-routed packet no server answers).  Whether the destination was
 * one the policy allows is nmb_witness_allowed()'s call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "battery.h"
#include "run.h"
#include "topo.h"

struct witness_arg {
	const char *dev;
	int out;
};

/* Where a frame's IP packet goes: "addr", protocol and port. */
static bool ip_dst(const uint8_t *p, size_t n, char *dst, size_t dl, int *proto, int *port)
{
	size_t off;

	*port = 0;
	if (n >= 20 && p[0] >> 4 == 4) {
		const struct iphdr *ip = (const void *)p;

		inet_ntop(AF_INET, &ip->daddr, dst, dl);
		*proto = ip->protocol;
		off = ip->ihl * 4;
	} else if (n >= 40 && p[0] >> 4 == 6) {
		const struct ip6_hdr *ip = (const void *)p;

		snprintf(dst, dl, "[");
		inet_ntop(AF_INET6, &ip->ip6_dst, dst + 1, dl - 2);
		strcat(dst, "]");
		*proto = ip->ip6_nxt;
		off = 40;
	} else {
		return false;
	}
	if ((*proto == IPPROTO_TCP || *proto == IPPROTO_UDP || *proto == 136) && n >= off + 4)
		*port = p[off + 2] << 8 | p[off + 3];
	return true;
}

static int witness_main(void *p)
{
	struct witness_arg *wa = p;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	prctl(PR_SET_NAME, "nmb-witness");
	if (fd < 0)
		return 1;
	sll.sll_ifindex = if_nametoindex(wa->dev);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return 1;
	if (write(wa->out, "READY\n", 6) < 0)
		return 1;
	for (;;) {
		uint8_t f[4096];
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		char dst[INET6_ADDRSTRLEN + 2], tok[NMB_TOKEN_MAX], line[256];
		const uint8_t *t;
		ssize_t n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		int proto = 0, port = 0, tl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (from.sll_pkttype == PACKET_OUTGOING || n <= ETH_HLEN)
			continue;
		t = memmem(f, n, NMB_TOKEN_TAG, strlen(NMB_TOKEN_TAG));
		if (!t)
			continue;
		for (tl = 0; t + tl < f + n && t[tl] != ';' && tl < NMB_TOKEN_MAX - 1; tl++)
			tok[tl] = (t[tl] > 32 && t[tl] < 127) ? t[tl] : '?';
		tok[tl] = 0;
		if (!ip_dst(f + ETH_HLEN, n - ETH_HLEN, dst, sizeof(dst), &proto, &port))
			snprintf(dst, sizeof(dst), "non-ip");
		snprintf(line, sizeof(line), "SEEN %s %s %d/%d\n", tok, dst, proto, port);
		if (write(wa->out, line, strlen(line)) < 0) {
			/* a full pipe loses a line; the harness drains after each pass */
		}
	}
	return 0;
}

pid_t nmb_witness_start(const char *netns, const char *dev, int *fd)
{
	struct witness_arg wa = { dev, -1 };
	char ready[16];
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	wa.out = p[1];
	pid = nmt_spawn(NULL, netns, witness_main, &wa);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pid;
	}
	{
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t k = poll(&pfd, 1, 3000) == 1 ? read(p[0], ready, 6) : -1;

		ready[k > 0 ? k : 0] = 0;
	}
	if (strncmp(ready, "READY", 5)) {
		close(p[0]);
		return -EIO;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*fd = p[0];
	return pid;
}

bool nmb_witness_allowed(const char *dst)
{
	/* The policy's proxy and DNS endpoints; everything the battery sends
	 * elsewhere is aimed at a denied host. */
	static const char *const ok[] = { NMT_WORLD4 " 6/3128", "[" NMT_WORLD6 "] 6/3128", NMT_WORLD4 " 17/5353",
					   "[" NMT_WORLD6 "] 17/5353", NULL };

	for (int i = 0; ok[i]; i++)
		if (!strcmp(dst, ok[i]))
			return true;
	return false;
}
