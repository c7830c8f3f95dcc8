/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rawpkt.c - packets made by hand (rawpkt.h): header builders with their
 * checksums, the next hop's MAC address and reading a UDP answer.
 */
#include "rawpkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint16_t nmb_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The one's complement sum of data, not folded into a checksum. */
static uint32_t sum_of(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

size_t nmb_udp_only(uint8_t *buf, size_t len, uint16_t sport, uint16_t dport, const void *payload, size_t plen)
{
	struct udphdr *u = (void *)buf;

	if (len < sizeof(*u) + plen)
		return 0;
	memset(u, 0, sizeof(*u));
	u->source = htons(sport);
	u->dest = htons(dport);
	u->len = htons(sizeof(*u) + plen);
	memcpy(buf + sizeof(*u), payload, plen);
	return sizeof(*u) + plen;
}

size_t nmb_ip4_udp(uint8_t *buf, size_t len, struct in_addr src, struct in_addr dst, uint16_t sport,
		   uint16_t dport, const void *payload, size_t plen)
{
	struct iphdr *ip = (void *)buf;
	struct udphdr *u = (void *)(buf + sizeof(*ip));
	uint8_t pseudo[12];
	size_t ul;

	if (len < sizeof(*ip))
		return 0;
	ul = nmb_udp_only(buf + sizeof(*ip), len - sizeof(*ip), sport, dport, payload, plen);
	if (!ul)
		return 0;
	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof(*ip) + ul);
	ip->id = htons(0x4e4d);
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = nmb_csum(ip, sizeof(*ip), 0);
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = ul >> 8;
	pseudo[11] = ul & 0xff;
	u->check = nmb_csum(u, ul, sum_of(pseudo, sizeof(pseudo)));
	if (!u->check)
		u->check = 0xffff;
	return sizeof(*ip) + ul;
}

size_t nmb_ip6_udp(uint8_t *buf, size_t len, const struct in6_addr *src, const struct in6_addr *dst,
		   uint16_t sport, uint16_t dport, const void *payload, size_t plen)
{
	struct ip6_hdr *ip = (void *)buf;
	struct udphdr *u = (void *)(buf + sizeof(*ip));
	uint8_t pseudo[40];
	size_t ul;

	if (len < sizeof(*ip))
		return 0;
	ul = nmb_udp_only(buf + sizeof(*ip), len - sizeof(*ip), sport, dport, payload, plen);
	if (!ul)
		return 0;
	memset(ip, 0, sizeof(*ip));
	ip->ip6_flow = htonl(6u << 28);
	ip->ip6_plen = htons(ul);
	ip->ip6_nxt = IPPROTO_UDP;
	ip->ip6_hlim = 64;
	ip->ip6_src = *src;
	ip->ip6_dst = *dst;
	memset(pseudo, 0, sizeof(pseudo));
	memcpy(pseudo, src, 16);
	memcpy(pseudo + 16, dst, 16);
	pseudo[34] = ul >> 8;
	pseudo[35] = ul & 0xff;
	pseudo[39] = IPPROTO_UDP;
	u->check = nmb_csum(u, ul, sum_of(pseudo, sizeof(pseudo)));
	if (!u->check)
		u->check = 0xffff;
	return sizeof(*ip) + ul;
}

size_t nmb_icmp_echo(uint8_t *buf, size_t len, bool v6, uint16_t id, uint16_t seq, const void *payload,
		     size_t plen)
{
	if (len < 8 + plen)
		return 0;
	memset(buf, 0, 8);
	buf[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	buf[4] = id >> 8;
	buf[5] = id & 0xff;
	buf[6] = seq >> 8;
	buf[7] = seq & 0xff;
	memcpy(buf + 8, payload, plen);
	if (!v6) {
		uint16_t c = nmb_csum(buf, 8 + plen, 0);

		memcpy(buf + 2, &c, 2);
	}
	return 8 + plen;
}

void nmb_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = type >> 8;
	buf[13] = type & 0xff;
}

int nmb_dev_mac(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		e = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return e;
}

/* The IPv4 address of dev. */
static int dev_ip4(const char *dev, struct in_addr *ip)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFADDR, &ifr))
		e = -errno;
	else
		*ip = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	close(fd);
	return e;
}

/* /proc/net/arp of the caller's netns: "IP HWtype Flags HWaddress Mask Device". */
static int arp_table(const char *dev, const char *ip4, uint8_t mac[6])
{
	char line[256], ip[64], hw[64], d[64];
	unsigned type, flags;
	FILE *f = fopen("/proc/net/arp", "r");
	int e = -ENOENT;

	if (!f)
		return -errno;
	while (e && fgets(line, sizeof(line), f)) {
		unsigned m[6];

		if (sscanf(line, "%63s 0x%x 0x%x %63s %*s %63s", ip, &type, &flags, hw, d) != 5)
			continue;
		if (strcmp(ip, ip4) || strcmp(d, dev) || !(flags & 0x2))
			continue;
		if (sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
			continue;
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		e = 0;
	}
	fclose(f);
	return e;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Ask for ip4 with an ARP request of our own; the answer within 1 s. */
static int arp_ask(const char *dev, const char *ip4, uint8_t mac[6])
{
	uint8_t frame[64], own[6], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct ether_arp *arp = (void *)(frame + NMB_ETH_HLEN);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP) };
	struct in_addr want, self = { 0 };
	long long end;
	int fd, e;

	if (inet_pton(AF_INET, ip4, &want) != 1)
		return -EINVAL;
	e = nmb_dev_mac(dev, own);
	if (!e)
		e = dev_ip4(dev, &self);
	if (e)
		return e;
	sll.sll_ifindex = if_nametoindex(dev);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		e = -errno;
		close(fd);
		return e;
	}
	memset(frame, 0, sizeof(frame));
	nmb_eth(frame, bcast, own, ETH_P_ARP);
	arp->arp_hrd = htons(ARPHRD_ETHER);
	arp->arp_pro = htons(ETH_P_IP);
	arp->arp_hln = 6;
	arp->arp_pln = 4;
	arp->arp_op = htons(ARPOP_REQUEST);
	memcpy(arp->arp_sha, own, 6);
	memcpy(arp->arp_spa, &self, 4);
	memcpy(arp->arp_tpa, &want, 4);
	if (send(fd, frame, NMB_ETH_HLEN + sizeof(*arp), 0) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	end = mono_ms() + 1000;
	e = -ETIMEDOUT;
	while (e && mono_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint8_t in[128];
		ssize_t n;

		if (poll(&pfd, 1, (int)(end - mono_ms())) <= 0)
			continue;
		n = recv(fd, in, sizeof(in), 0);
		if (n < (ssize_t)(NMB_ETH_HLEN + sizeof(*arp)))
			continue;
		arp = (void *)(in + NMB_ETH_HLEN);
		if (ntohs(arp->arp_op) == ARPOP_REPLY && !memcmp(arp->arp_spa, &want, 4)) {
			memcpy(mac, arp->arp_sha, 6);
			e = 0;
		}
	}
	close(fd);
	return e;
}

int nmb_neigh_mac(const char *dev, const char *ip4, uint8_t mac[6], const char **how)
{
	if (!arp_table(dev, ip4, mac)) {
		*how = "from the neighbour table";
		return 0;
	}
	*how = "by an ARP request of our own";
	return arp_ask(dev, ip4, mac);
}

bool nmb_udp_in_ip(const uint8_t *p, size_t n, const char *src, uint16_t sport, uint16_t dport, char *out,
		   size_t olen)
{
	char a[INET6_ADDRSTRLEN];
	const struct udphdr *u;
	size_t off, pl;

	if (n < 20)
		return false;
	if (p[0] >> 4 == 4) {
		const struct iphdr *ip = (const void *)p;

		off = ip->ihl * 4;
		if (ip->protocol != IPPROTO_UDP || n < off + sizeof(*u))
			return false;
		inet_ntop(AF_INET, &ip->saddr, a, sizeof(a));
	} else if (p[0] >> 4 == 6 && n >= 40 + sizeof(*u)) {
		const struct ip6_hdr *ip = (const void *)p;

		off = 40;
		if (ip->ip6_nxt != IPPROTO_UDP)
			return false;
		inet_ntop(AF_INET6, &ip->ip6_src, a, sizeof(a));
	} else {
		return false;
	}
	u = (const void *)(p + off);
	if (strcmp(a, src) || ntohs(u->source) != sport || ntohs(u->dest) != dport)
		return false;
	pl = n - off - sizeof(*u);
	if (pl > olen - 1)
		pl = olen - 1;
	memcpy(out, p + off + sizeof(*u), pl);
	out[pl] = 0;
	return true;
}
