/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Constants the kernel headers keep out of vmlinux.h, and small helpers. */
#ifndef NM_BPF_COMMON_H
#define NM_BPF_COMMON_H

/*
 * Every structure these programs touch is UAPI (bpf_sock_addr, bpf_sock_ops,
 * bpf_sockopt, bpf_sock, sockaddr_in*): their layout is ABI, the verifier
 * rewrites context accesses itself, and the one object loads unchanged on
 * every kernel from 5.15 on.  CO-RE relocations on the context would only
 * hide constant offsets from the compiler (which then merges v4 and v6
 * stores into a "modified ctx pointer" the verifier rejects), so they are
 * switched off for vmlinux.h's records.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "nomoat_decide.h"

#define AF_INET    2
#define AF_INET6   10
#define SOL_IP     0
#define SOL_IPV6   41
#define NM_IPPROTO_ICMPV6 58

/* Set by the loader after probing the running kernel (see user/lib/probe.c):
 * on kernels that do not offer these helpers to cgroup sock_addr programs
 * the events carry pid 0 / an empty comm instead of failing to load. */
const volatile bool nm_have_pid_helper = false;
const volatile bool nm_have_comm_helper = false;
/* The size of nm_flows, as loaded (nomoat load --max-flows). */
const volatile __u32 nm_max_flows = NM_MAX_FLOWS;

#endif
