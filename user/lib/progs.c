// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "progs.h"

const struct nm_prog_desc nm_progs[NM_PROG__MAX] = {
	[NM_PROG_CONNECT4]   = { "nm_connect4", BPF_CGROUP_INET4_CONNECT, false },
	[NM_PROG_CONNECT6]   = { "nm_connect6", BPF_CGROUP_INET6_CONNECT, false },
	[NM_PROG_SENDMSG4]   = { "nm_sendmsg4", BPF_CGROUP_UDP4_SENDMSG, false },
	[NM_PROG_SENDMSG6]   = { "nm_sendmsg6", BPF_CGROUP_UDP6_SENDMSG, false },
	[NM_PROG_RECVMSG4]   = { "nm_recvmsg4", BPF_CGROUP_UDP4_RECVMSG, false },
	[NM_PROG_RECVMSG6]   = { "nm_recvmsg6", BPF_CGROUP_UDP6_RECVMSG, false },
	[NM_PROG_SOCKOPS]    = { "nm_sockops", BPF_CGROUP_SOCK_OPS, false },
	[NM_PROG_GETSOCKOPT] = { "nm_getsockopt", BPF_CGROUP_GETSOCKOPT, true },
	[NM_PROG_SOCK_CREATE] = { "nm_sock_create", BPF_CGROUP_INET_SOCK_CREATE, false },
	[NM_PROG_EGRESS]     = { "nm_egress", BPF_CGROUP_INET_EGRESS, false },
};
