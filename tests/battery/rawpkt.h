/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rawpkt.h - packets made by hand, as a user-space network stack would:
 * Ethernet, IPv4 and IPv6 headers, UDP and ICMP echo with their checksums,
 * the next hop's MAC address (from the neighbour table, or asked for with
 * an ARP request of our own), and reading a UDP answer out of a frame.
 */
#ifndef NMB_RAWPKT_H
#define NMB_RAWPKT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NMB_ETH_HLEN 14

/* The Internet checksum of data, continuing from sum (0 to start). */
uint16_t nmb_csum(const void *data, size_t len, uint32_t sum);

/* IPv4 header + UDP header + payload at buf (room for len bytes); the
 * packet length, or 0 when it does not fit. */
size_t nmb_ip4_udp(uint8_t *buf, size_t len, struct in_addr src, struct in_addr dst, uint16_t sport,
		   uint16_t dport, const void *payload, size_t plen);
/* IPv6 header + UDP header (checksummed) + payload. */
size_t nmb_ip6_udp(uint8_t *buf, size_t len, const struct in6_addr *src, const struct in6_addr *dst,
		   uint16_t sport, uint16_t dport, const void *payload, size_t plen);
/* A UDP header + payload alone; the checksum left 0 (the kernel or IPv4's
 * "no checksum" takes care of it). */
size_t nmb_udp_only(uint8_t *buf, size_t len, uint16_t sport, uint16_t dport, const void *payload, size_t plen);
/* An ICMP echo request (v6: ICMPv6, checksum left to the kernel). */
size_t nmb_icmp_echo(uint8_t *buf, size_t len, bool v6, uint16_t id, uint16_t seq, const void *payload,
		     size_t plen);
/* An Ethernet header in front: buf must have NMB_ETH_HLEN bytes of room
 * before the packet, which is at buf + NMB_ETH_HLEN already. */
void nmb_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/* The MAC address of dev; 0 or -errno. */
int nmb_dev_mac(const char *dev, uint8_t mac[6]);
/* The MAC address of ip4 on dev: the neighbour table first, then an ARP
 * request on an AF_PACKET socket (bounded).  0 or -errno; how says which. */
int nmb_neigh_mac(const char *dev, const char *ip4, uint8_t mac[6], const char **how);

/* In an IP packet (v4 or v6) at p: a UDP datagram from src:sport to
 * dport?  Its payload (NUL-terminated, cut to olen-1) into out. */
bool nmb_udp_in_ip(const uint8_t *p, size_t n, const char *src, uint16_t sport, uint16_t dport, char *out,
		   size_t olen);

#endif
