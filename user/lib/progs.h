/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel programs, their attach types, and which of them an attach
 * point gets. */
#ifndef NM_PROGS_H
#define NM_PROGS_H

#include <bpf/bpf.h>
#include <stdbool.h>

enum nm_prog_id {
	NM_PROG_CONNECT4, NM_PROG_CONNECT6, NM_PROG_SENDMSG4, NM_PROG_SENDMSG6,
	NM_PROG_RECVMSG4, NM_PROG_RECVMSG6, NM_PROG_SOCKOPS, NM_PROG_GETSOCKOPT,
	NM_PROG_SOCK_CREATE, NM_PROG_EGRESS, NM_PROG_SETSOCKOPT,
	NM_PROG__MAX,
};

struct nm_prog_desc {
	const char *name;               /* program (and pin) name */
	enum bpf_attach_type attach;
	bool full;                      /* part of a full attach (a sandbox's, the proxy's) */
	bool origdst;                   /* part of an --origdst-only attach (a service's: the
					 * original-destination and DNS-query answers) */
};

extern const struct nm_prog_desc nm_progs[NM_PROG__MAX];

#endif
