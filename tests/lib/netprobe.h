/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * netprobe.h - one connection attempt, the way an application makes it, run as
 * a child process inside a given cgroup and network namespace with an
 * overall time bound; the outcome comes back over a pipe.
 *
 * Every socket has SO_RCVTIMEO/SO_SNDTIMEO (NMT_PROBE_SOCK_MS), so a probe
 * never waits long on one call; the child is killed after the overall bound.
 */
#ifndef NMT_PROBE_H
#define NMT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NMT_PROBE_SOCK_MS 1500 /* per socket call */
#define NMT_PROBE_MAX_MS  5000 /* the whole probe */

enum nmt_probe_kind {
	NMT_TCP,        /* connect + read a line; AF_INET or AF_INET6 by the address */
	NMT_TCP_MAPPED, /* AF_INET6 socket to ::ffff:a.b.c.d (addr is the IPv4) */
	NMT_TFO,        /* TCP Fast Open: sendto(MSG_FASTOPEN) + read a line */
	NMT_URING,      /* liburing IORING_OP_CONNECT + read a line */
	NMT_UDP_CONN,   /* connect + send + recvfrom */
	NMT_UDP,        /* unconnected sendto + recvfrom */
	NMT_UDP_MMSG,   /* sendmmsg of 2 datagrams (to addr, then addr2) + recvfrom each */
	NMT_UDP_MAPPED, /* AF_INET6 socket, sendto ::ffff:a.b.c.d + recvfrom */
	NMT_PROBE__MAX,
};

struct nmt_probe {
	enum nmt_probe_kind kind;
	const char *addr; /* text; IPv4 for the *_MAPPED kinds */
	int port;
	const char *addr2; /* NMT_UDP_MMSG second datagram; NULL: same as the first */
	int port2;         /* 0: same as port */
};

struct nmt_probe_res {
	int err;          /* errno of the failing call, 0 when all worked */
	char failed[16];  /* which call failed: socket, connect, send, recv, ... */
	int sent;         /* datagrams sent (UDP), -1 for TCP */
	int replies;      /* lines received */
	bool timed_out;   /* the child was killed at the overall bound */
	int exit_status;  /* the child's wait status */
	pid_t pid;        /* the child (== the pid a BPF event reports) */
	char line[160];   /* first reply line, without the newline */
	char src[80];     /* source of the first UDP reply, "a.b.c.d:p" / "[v6]:p" */
	char line2[160];  /* second reply (NMT_UDP_MMSG) */
	char src2[80];
	char local[80];   /* local address of the socket after the call */
};

/* "tcp4", "tcp6", "tcp6-mapped", "tfo4", ... (by kind and address) */
const char *nmt_probe_name(const struct nmt_probe *p);
/* "tcp4 169.254.169.254:80" */
char *nmt_probe_str(const struct nmt_probe *p, char *buf, size_t len);
/* What happened, for a message: "EPERM at connect", "reply 'HELLO ..' from x" */
char *nmt_probe_res_str(const struct nmt_probe_res *r, char *buf, size_t len);

/* Run the probe in this process (no fork, no namespace change). */
void nmt_probe_exec(const struct nmt_probe *p, struct nmt_probe_res *r);

/* Fork a child that enters cgroup (absolute path, NULL: stays) then netns
 * (NULL: stays), runs the probe and sends the result back; kill it after
 * timeout_ms (0: NMT_PROBE_MAX_MS).  Returns 0 when a result arrived,
 * otherwise a negative error with r->timed_out / r->exit_status set. */
int nmt_probe_run(const char *cgroup, const char *netns, const struct nmt_probe *p,
		  struct nmt_probe_res *r, int timeout_ms);

#endif
