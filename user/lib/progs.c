// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "progs.h"

const struct nm_prog_desc nm_progs[NM_PROG__MAX] = {
	[NM_PROG_CONNECT4]    = { "nm_connect4", BPF_CGROUP_INET4_CONNECT, true, false },
	[NM_PROG_CONNECT6]    = { "nm_connect6", BPF_CGROUP_INET6_CONNECT, true, false },
	[NM_PROG_SENDMSG4]    = { "nm_sendmsg4", BPF_CGROUP_UDP4_SENDMSG, true, false },
	[NM_PROG_SENDMSG6]    = { "nm_sendmsg6", BPF_CGROUP_UDP6_SENDMSG, true, false },
	[NM_PROG_RECVMSG4]    = { "nm_recvmsg4", BPF_CGROUP_UDP4_RECVMSG, true, false },
	[NM_PROG_RECVMSG6]    = { "nm_recvmsg6", BPF_CGROUP_UDP6_RECVMSG, true, false },
	[NM_PROG_SOCKOPS]     = { "nm_sockops", BPF_CGROUP_SOCK_OPS, true, false },
	[NM_PROG_GETSOCKOPT]  = { "nm_getsockopt", BPF_CGROUP_GETSOCKOPT, true, true },
	[NM_PROG_SOCK_CREATE] = { "nm_sock_create", BPF_CGROUP_INET_SOCK_CREATE, true, false },
	[NM_PROG_EGRESS]      = { "nm_egress", BPF_CGROUP_INET_EGRESS, true, false },
	/* never in a full attach: a sandbox must not ask who sent other
	 * sandboxes' DNS queries */
	[NM_PROG_SETSOCKOPT]  = { "nm_setsockopt", BPF_CGROUP_SETSOCKOPT, false, true },
};
