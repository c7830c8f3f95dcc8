/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel side's headers, the constants they leave out, load-time settings. */
#ifndef NM_BPF_COMMON_H
#define NM_BPF_COMMON_H

/*
 * Every structure these programs touch is UAPI (bpf_sock_addr, bpf_sock_ops,
 * bpf_sockopt, bpf_sock, __sk_buff, sockaddr_in*): their layout is ABI, the
 * verifier rewrites context accesses itself, and the one object loads
 * unchanged on every kernel from 5.15 on.  So they come from the UAPI
 * headers (linux-libc-dev), not from a vmlinux.h of the build machine's
 * kernel, and there is no CO-RE relocation (none would be of use: context
 * offsets are fixed, and relocating them would only hide constant offsets
 * from the compiler, which then merges v4 and v6 stores into a "modified
 * ctx pointer" the verifier rejects).  The build needs no kernel BTF.
 */
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "nomoat_decide.h"

/* Kernel ABI constants the UAPI headers leave to the C library. */
#define AF_INET     2
#define AF_INET6    10
#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_RAW    3
#define SOL_IP      0
#define SOL_IPV6    41

/* Set by the loader after probing the running kernel (see user/lib/probe.c):
 * on kernels that do not offer these helpers to cgroup sock_addr programs
 * the events carry pid 0 / an empty comm instead of failing to load. */
const volatile bool nm_have_pid_helper = false;
const volatile bool nm_have_comm_helper = false;
/* The size of nm_flows, as loaded (nomoat load --max-flows). */
const volatile __u32 nm_max_flows = NM_MAX_FLOWS;

#endif
