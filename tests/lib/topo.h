/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * topo.h - the test network: two namespaces joined by a veth pair.
 *
 *   client netns "<p>-c"                      world netns "<p>-w"
 *   <p>c: 10.250.0.2/24, fd00:250::2/64  ---  <p>w: 10.250.0.1/24, fd00:250::1/64
 *   routes: only the /32 and /128 of the     lo: 169.254.169.254, 10.1.2.3,
 *   world's hosts, via 10.250.0.1 and        192.168.7.7, 11.22.33.44,
 *   fd00:250::1; no default route            11.22.33.45, fd00:ec2::254,
 *                                            2a00:1:2:3::44
 *
 * Nothing the client namespace sends can leave the machine: every route it
 * has ends in the world namespace, which has no route out either.
 * Both namespaces have net.ipv4.tcp_fastopen=3.
 */
#ifndef NMT_TOPO_H
#define NMT_TOPO_H

#include <stdbool.h>
#include <stddef.h>

/* The veth link. */
#define NMT_CLIENT4 "10.250.0.2"
#define NMT_CLIENT6 "fd00:250::2"
#define NMT_WORLD4  "10.250.0.1"
#define NMT_WORLD6  "fd00:250::1"

/* Hosts on the world's lo. */
#define NMT_META4     "169.254.169.254" /* fake cloud metadata */
#define NMT_INTERNAL4 "10.1.2.3"        /* fake internal host (8080 too) */
#define NMT_PRIVATE4  "192.168.7.7"     /* fake internal host */
#define NMT_NET4      "11.22.33.44"     /* fake internet host */
#define NMT_NET4B     "11.22.33.45"     /* fake internet host */
#define NMT_META6     "fd00:ec2::254"   /* fake AWS IPv6 metadata */
#define NMT_NET6      "2a00:1:2:3::44"  /* fake IPv6 internet host */

/* Endpoints of the world's test services (see servers.h). */
#define NMT_PROXY_PORT 3128
#define NMT_DNS_PORT   5353

/* Every world address, veth ends included (NULL-terminated). */
extern const char *const nmt_world_addrs4[];
extern const char *const nmt_world_addrs6[];
/* The subset on the world's lo, i.e. those the client reaches by a route. */
extern const char *const nmt_world_hosts4[];
extern const char *const nmt_world_hosts6[];

struct nmt_topo {
	char prefix[24];   /* "nmt<pid>" unless given */
	char cns[40];      /* client netns name */
	char wns[40];      /* world netns name */
	char cdev[16];     /* veth end in the client netns */
	char wdev[16];     /* veth end in the world netns */
	bool have_cns, have_wns;
};

/* Names only, nothing is created.  prefix NULL: "nmt<pid>". */
void nmt_topo_init(struct nmt_topo *t, const char *prefix);

/* Create namespaces, veth, addresses, routes, sysctls.  0 or a negative
 * error; every failing step is logged.  On failure what was made stays
 * recorded in *t for nmt_topo_down. */
int nmt_topo_up(struct nmt_topo *t);

/* Bounded wait (timeout_ms) until a TCP connect from the client netns
 * (outside any cgroup the test polices) to [NMT_NET6]:port and
 * NMT_NET4:port both succeed: fresh veth pairs need about 2 s before IPv6
 * neighbour discovery answers.  A listener must be up.  0 or -ETIMEDOUT. */
int nmt_topo_warmup(const struct nmt_topo *t, int port, int timeout_ms);

/* Delete both namespaces (the veth goes with them).  Idempotent; processes
 * still inside must have been killed first. */
void nmt_topo_down(struct nmt_topo *t);

/* "a.b.c.d:p" or "[v6]:p" for a sockaddr_in/in6; returns buf. */
struct sockaddr;
char *nmt_sa_str(const struct sockaddr *sa, char *buf, size_t len);

/* Fill a sockaddr from text ("1.2.3.4" or "fd00::1"; mapped=true turns an
 * IPv4 text into ::ffff:a.b.c.d in a sockaddr_in6).  Returns the sockaddr
 * length, or -EINVAL. */
struct sockaddr_storage;
int nmt_sa_make(struct sockaddr_storage *ss, const char *addr, int port, bool mapped);

#endif
