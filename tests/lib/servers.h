/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * servers.h - the world's services, each a forked process in the world
 * netns, so a client can tell exactly which host it reached:
 *
 *  world (one process):
 *   TCP :80 on every world address (v4 and v6, TCP_FASTOPEN on) and
 *   10.1.2.3:8080: on accept, write "HELLO <local-addr>:<local-port>\n"
 *   (v6 as [addr]:port) and close.
 *   UDP :53 and :5300 on 11.22.33.44, 10.1.2.3, 169.254.169.254 and
 *   [2a00:1:2:3::44], and :5300 on [fd00:ec2::254]: answer each datagram
 *   with "HELLO <addr>:<port>" from the address it was sent to.
 *   UDP 10.250.0.1:5353 and [fd00:250::1]:5353, the test DNS endpoint:
 *   answer "DNS " followed by the payload.
 *
 *  proxy (own process, own cgroup given by the caller):
 *   TCP 10.250.0.1:3128 and [fd00:250::1]:3128: on accept, ask
 *   getsockopt(SOL_IP/SOL_IPV6, SO_ORIGINAL_DST) and
 *   getsockopt(SOL_IP/SOL_IPV6, NM_SO_ORIGIN), write
 *   "PROXY orig=<addr>:<port> policy=<id> cgroup=<id> err=<errno or 0>\n"
 *   (orig "?" when SO_ORIGINAL_DST failed; err is the first failing
 *   getsockopt's errno) and close.
 */
#ifndef NMT_SERVERS_H
#define NMT_SERVERS_H

#include <sys/types.h>

#include "topo.h"

#define NMT_HELLO_PORT  80
#define NMT_HELLO_PORT2 8080 /* only on NMT_INTERNAL4 */
#define NMT_UDP_PORT    5300
#define NMT_UDP_DNS     53

struct nmt_servers {
	pid_t world;
	pid_t proxy;
};

/* Start the world's services in t->wns and wait until every socket is
 * bound (bounded).  0 or a negative error (the reason is logged). */
int nmt_world_start(const struct nmt_topo *t, pid_t *pid);

/* Start the proxy: its process enters cgroup (absolute path; NULL: stays in
 * the caller's) first, then t->wns. */
int nmt_proxy_start(const struct nmt_topo *t, const char *cgroup, pid_t *pid);

/* Both of the above. */
/* A second reporting proxy on 127.0.0.1:3128 and [::1]:3128 of the client
 * netns (for policies whose proxy endpoint is loopback), in cgroup. */
int nmt_proxy_start_loopback(const struct nmt_topo *t, const char *cgroup, pid_t *pid);

int nmt_servers_start(const struct nmt_topo *t, const char *proxy_cgroup, struct nmt_servers *s);

/* Kill and reap (idempotent). */
void nmt_servers_stop(struct nmt_servers *s);

#endif
