/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The original-destination record of a redirected TCP flow.
 *
 * connect4/6 rewrite the destination and keep the original in the socket's
 * storage.  The local port is not known yet, so sockops copies the record
 * into nm_flows at TCP_CONNECT_CB (the port is bound, the SYN not yet sent),
 * keyed by the 4-tuple the proxy will see on its accepted socket, and asks
 * for state callbacks so the record is deleted when the socket closes.
 * cgroup/getsockopt on the proxy's cgroup answers SO_ORIGINAL_DST from it.
 */
#ifndef NM_BPF_FLOW_H
#define NM_BPF_FLOW_H

#include "event.h"

static __always_inline __u64 nm_flows_live(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&nm_flowcnt, &zero);

	return n ? *n : 0;
}

static __always_inline void nm_flows_add(__s64 delta)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&nm_flowcnt, &zero);

	if (n)
		__sync_fetch_and_add(n, delta);
}

/*
 * Build the flow key.  All address fields are read unconditionally, each with
 * its own volatile load, and chosen afterwards: a load under a family test
 * can be merged by the compiler into a computed context offset, which the
 * verifier rejects.
 */
#define NM_CTX32(field) (*(volatile __u32 *)&(field))
static __always_inline void nm_flow_key_fill(struct nm_flow_key *k, __u32 family,
					     __u32 l4, const __u32 l6[4], __u32 r4, const __u32 r6[4])
{
	if (family == AF_INET) {
		nm_v4mapped(k->client, l4);
		nm_v4mapped(k->proxy, r4);
	} else {
		__builtin_memcpy(k->client, l6, 16);
		__builtin_memcpy(k->proxy, r6, 16);
	}
}

/* From the client socket's view (sockops): local = client, remote = proxy. */
static __always_inline void nm_flow_key_ops(struct bpf_sock_ops *ops, struct nm_flow_key *k)
{
	__u32 l6[4], r6[4];

	l6[0] = NM_CTX32(ops->local_ip6[0]);
	l6[1] = NM_CTX32(ops->local_ip6[1]);
	l6[2] = NM_CTX32(ops->local_ip6[2]);
	l6[3] = NM_CTX32(ops->local_ip6[3]);
	r6[0] = NM_CTX32(ops->remote_ip6[0]);
	r6[1] = NM_CTX32(ops->remote_ip6[1]);
	r6[2] = NM_CTX32(ops->remote_ip6[2]);
	r6[3] = NM_CTX32(ops->remote_ip6[3]);
	nm_flow_key_fill(k, NM_CTX32(ops->family), NM_CTX32(ops->local_ip4), l6,
			 NM_CTX32(ops->remote_ip4), r6);
	k->client_port = bpf_htons((__u16)ops->local_port);
	/* remote_port holds the network-order port in its upper 16 bits */
	k->proxy_port = bpf_htons((__u16)(bpf_ntohl(ops->remote_port)));
}

/* From the proxy's accepted socket (getsockopt): local = proxy. */
static __always_inline void nm_flow_key_sk(struct bpf_sock *sk, struct nm_flow_key *k)
{
	/* A 4-byte load of dst_port is what every kernel since 5.15 accepts;
	 * the network-order port is in its low 16 bits. */
	__u32 dport = *(volatile __u32 *)((void *)sk + __builtin_offsetof(struct bpf_sock, dst_port));
	__u32 l6[4], r6[4];

	l6[0] = NM_CTX32(sk->src_ip6[0]);
	l6[1] = NM_CTX32(sk->src_ip6[1]);
	l6[2] = NM_CTX32(sk->src_ip6[2]);
	l6[3] = NM_CTX32(sk->src_ip6[3]);
	r6[0] = NM_CTX32(sk->dst_ip6[0]);
	r6[1] = NM_CTX32(sk->dst_ip6[1]);
	r6[2] = NM_CTX32(sk->dst_ip6[2]);
	r6[3] = NM_CTX32(sk->dst_ip6[3]);
	nm_flow_key_fill(k, NM_CTX32(sk->family), NM_CTX32(sk->dst_ip4), r6,
			 NM_CTX32(sk->src_ip4), l6);
	k->client_port = (__u16)dport;
	k->proxy_port = bpf_htons((__u16)sk->src_port);
}

static __always_inline void nm_flow_connect_cb(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	struct nm_sk *st;
	struct nm_flow_key k = {};
	long err;

	if (!sk)
		return;
	st = bpf_sk_storage_get(&nm_sk, sk, 0, 0);
	if (!st || !(st->flags & NM_SK_REDIRECTED))
		return;
	st->flags &= ~NM_SK_REDIRECTED;
	nm_flow_key_ops(ops, &k);
	err = bpf_map_update_elem(&nm_flows, &k, &st->orig, BPF_NOEXIST);
	if (err == -17 /* EEXIST */) {
		/* Same 4-tuple as a record whose socket is gone (only one live
		 * socket can own a 4-tuple): replace it, the count stays. */
		err = bpf_map_update_elem(&nm_flows, &k, &st->orig, BPF_EXIST);
		if (!err)
			goto stored;
	}
	if (err) {
		/* Table full: no record, so the proxy gets no original
		 * destination and must refuse the connection.  Counted. */
		nm_gstat_inc(NM_G_FLOWS_FULL);
		return;
	}
	nm_flows_add(1);
	nm_gstat_inc(NM_G_FLOW_ADDED);
stored:
	st->flow = k;
	st->flags |= NM_SK_FLOW;
	bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* An accepted connection: the packet backstop leaves it alone (it is not the
 * cgroup's outbound traffic). */
static __always_inline void nm_flow_inbound_cb(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	struct nm_sk *st;

	if (!sk)
		return;
	st = bpf_sk_storage_get(&nm_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (st)
		st->flags |= NM_SK_INBOUND;
}

static __always_inline void nm_flow_state_cb(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	struct nm_sk *st;

	if (ops->args[1] != BPF_TCP_CLOSE || !sk)
		return;
	st = bpf_sk_storage_get(&nm_sk, sk, 0, 0);
	if (!st || !(st->flags & NM_SK_FLOW))
		return;
	st->flags &= ~NM_SK_FLOW;
	if (bpf_map_delete_elem(&nm_flows, &st->flow) == 0) {
		nm_flows_add(-1);
		nm_gstat_inc(NM_G_FLOW_REMOVED);
	}
}

#endif
