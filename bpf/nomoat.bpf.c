// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat's kernel programs.  The hooks are thin: each is a wrapper around one
 * inlined function shared by its IPv4 and IPv6 twin.  Semantics are described
 * in include/nomoat.h and include/nomoat_decide.h.
 *
 * Fail-closed paths (return 0 -> EPERM): no bound policy, a bound id without
 * policy or table (nm_fail_closed in lib/event.h, the same at every hook),
 * redirect without a proxy endpoint, socket storage or the flow table
 * exhausted.  Each is counted and reported.
 */
#include "lib/backstop.h"
#include "lib/flow.h"
#include "lib/policy.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline bool nm_hook_is_v6(__u8 hook)
{
	return hook == NM_HOOK_CONNECT6 || hook == NM_HOOK_SENDMSG6 || hook == NM_HOOK_RECVMSG6;
}

static __always_inline void nm_read_dst(struct bpf_sock_addr *ctx, __u8 hook, struct nm_req *rq)
{
	__u32 a[4];

	rq->hook = hook;
	rq->proto = ctx->protocol;
	rq->port = (__u16)ctx->user_port;
	if (!nm_hook_is_v6(hook)) {
		nm_v4mapped(rq->addr, ctx->user_ip4);
		rq->family = 4;
		return;
	}
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	nm_req_dst6(rq, a); /* IPv4 inside IPv6 is judged as IPv4 */
}

/*
 * Destination rewrites live in the per-family hooks themselves: if one
 * function wrote both user_ip4 and user_ip6, the compiler could merge the
 * stores through a computed context pointer, which the verifier rejects.
 */
struct nm_rewrite {
	__u32 addr[4]; /* v4-mapped for an IPv4 target */
	__u16 port;    /* network order */
	__u8  set;
	__u8  _pad;
};

static __always_inline int nm_finish4(struct bpf_sock_addr *ctx, int ret, const struct nm_rewrite *rw)
{
	if (rw->set) {
		ctx->user_ip4 = rw->addr[3];
		ctx->user_port = rw->port;
	}
	return ret;
}

static __always_inline int nm_finish6(struct bpf_sock_addr *ctx, int ret, const struct nm_rewrite *rw)
{
	if (rw->set) {
		ctx->user_ip6[0] = rw->addr[0];
		ctx->user_ip6[1] = rw->addr[1];
		ctx->user_ip6[2] = rw->addr[2];
		ctx->user_ip6[3] = rw->addr[3];
		ctx->user_port = rw->port;
	}
	return ret;
}

/* A TCP connect allowed or redirected under epoch: the packet backstop need
 * not judge the flow again until something changes (bpf/lib/backstop.h). */
static __always_inline void nm_bs_mark(struct bpf_sock_addr *ctx, __u64 epoch)
{
	nm_judged_mark(bpf_get_socket_cookie(ctx), epoch);
}

/* Remember what the redirect changed; false when no storage could be had. */
static __always_inline bool nm_remember(struct bpf_sock_addr *ctx, const struct nm_req *rq,
					const struct nm_decision *d, __u32 policy_id, __u64 cgid, __u64 epoch)
{
	struct nm_sk *st = bpf_sk_storage_get(&nm_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (!st)
		return false;
	if (rq->proto == IPPROTO_TCP && (rq->hook == NM_HOOK_CONNECT4 || rq->hook == NM_HOOK_CONNECT6))
		nm_bs_mark(ctx, epoch);
	__builtin_memcpy(st->orig.addr, rq->addr, 16);
	st->orig.port = rq->port;
	st->orig.family = rq->family;
	st->orig.proto = rq->proto;
	st->orig.policy_id = policy_id;
	st->orig.cgroup_id = cgid;
	st->orig.pid = nm_have_pid_helper ? bpf_get_current_pid_tgid() >> 32 : 0;
	st->orig.uid = (__u32)bpf_get_current_uid_gid();
	__builtin_memcpy(st->new_addr, d->new_addr, 16);
	st->new_port = d->new_port;
	if (rq->proto == IPPROTO_TCP)
		st->flags = (st->flags & ~NM_SK_DNS) | NM_SK_REDIRECTED | NM_SK_ORIG;
	else
		st->flags |= NM_SK_DNS;
	return true;
}

/* connect4/6 and sendmsg4/6: returns 1 to let the call go on, 0 for EPERM. */
static __always_inline int nm_sock_addr(struct bpf_sock_addr *ctx, __u8 hook, struct nm_rewrite *rw)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	const struct nm_policy *pol = NULL;
	struct nm_policy polv;
	struct nm_decision d = {};
	struct nm_req rq = {};
	__u32 policy_id;
	bool tcp_connect;
	__u64 epoch;
	__u8 verdict;

	nm_read_dst(ctx, hook, &rq);
	/* Only a TCP connect marks its socket for the backstop; read before
	 * the decision (see nm_epoch). */
	tcp_connect = rq.proto == IPPROTO_TCP && (hook == NM_HOOK_CONNECT4 || hook == NM_HOOK_CONNECT6);
	epoch = tcp_connect ? nm_epoch_now() : 0;
	policy_id = nm_find_policy_id();
	if (nm_policy_read(policy_id, &polv))
		pol = &polv;
	if (!pol) {
		/* Attached subtree, no usable policy: fail closed. */
		nm_fail_closed_emit(&rq, policy_id, cgid);
		return 0;
	}

	nm_decide(pol, &rq, &d);
	if (d.action == NM_ACT_REDIRECT && rq.proto == IPPROTO_TCP &&
	    pol->mode == NM_MODE_ENFORCE && nm_flows_live() >= nm_max_flows) {
		/* No room to record the original destination: refuse rather
		 * than hand the proxy a flow it cannot place. */
		nm_gstat_inc(NM_G_FLOWS_FULL);
		d.action = NM_ACT_DENY;
		d.reason = NM_R_FLOWS_FULL;
	}

	verdict = nm_verdict_of(d.action, pol->mode);
	nm_count(policy_id, verdict);
	if (nm_wants_event(pol, verdict))
		nm_emit(&rq, &d, verdict, policy_id, cgid);

	if (d.reason == NM_R_DNS_ENDPOINT) {
		/* Asked directly (a sandbox whose resolv.conf names the
		 * endpoint), the resolver still learns who asks: the record of
		 * a redirect to where the query goes anyway.  Without storage
		 * the query goes on, and the resolver refuses it. */
		__builtin_memcpy(d.new_addr, rq.addr, 16);
		d.new_port = rq.port;
		nm_remember(ctx, &rq, &d, policy_id, cgid, epoch);
		return 1;
	}
	if (d.action == NM_ACT_ALLOW && tcp_connect)
		nm_bs_mark(ctx, epoch);
	if (pol->mode == NM_MODE_AUDIT || d.action == NM_ACT_ALLOW)
		return 1;
	if (d.action != NM_ACT_REDIRECT)
		return 0;
	if (!nm_remember(ctx, &rq, &d, policy_id, cgid, epoch)) {
		nm_gstat_inc(NM_G_FLOWS_FULL);
		return 0;
	}
	__builtin_memcpy(rw->addr, d.new_addr, 16);
	rw->port = d.new_port;
	rw->set = 1;
	return 1;
}

/* recvmsg4/6: a reply from the DNS endpoint gets the source the application
 * sent its query to.  Always returns 1 (recvmsg hooks cannot refuse). */
static __always_inline int nm_recvmsg(struct bpf_sock_addr *ctx, __u8 hook, struct nm_rewrite *rw)
{
	struct nm_req src = {};
	struct nm_sk *st;

	st = bpf_sk_storage_get(&nm_sk, ctx->sk, 0, 0);
	if (!st || !(st->flags & NM_SK_DNS))
		return 1;
	nm_read_dst(ctx, hook, &src);
	if (src.port != st->new_port || !nm_addr_eq(src.addr, st->new_addr))
		return 1;
	if (st->orig.port == st->new_port && nm_addr_eq(st->orig.addr, st->new_addr))
		return 1; /* the endpoint was asked directly: nothing to restore */
	__builtin_memcpy(rw->addr, st->orig.addr, 16);
	rw->port = st->orig.port;
	rw->set = 1;
	nm_gstat_inc(NM_G_DNS_RESTORED);
	return 1;
}

SEC("cgroup/connect4")
int nm_connect4(struct bpf_sock_addr *ctx)
{
	struct nm_rewrite rw = {};

	return nm_finish4(ctx, nm_sock_addr(ctx, NM_HOOK_CONNECT4, &rw), &rw);
}

SEC("cgroup/connect6")
int nm_connect6(struct bpf_sock_addr *ctx)
{
	struct nm_rewrite rw = {};

	return nm_finish6(ctx, nm_sock_addr(ctx, NM_HOOK_CONNECT6, &rw), &rw);
}

SEC("cgroup/sendmsg4")
int nm_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct nm_rewrite rw = {};

	return nm_finish4(ctx, nm_sock_addr(ctx, NM_HOOK_SENDMSG4, &rw), &rw);
}

SEC("cgroup/sendmsg6")
int nm_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct nm_rewrite rw = {};

	return nm_finish6(ctx, nm_sock_addr(ctx, NM_HOOK_SENDMSG6, &rw), &rw);
}

SEC("cgroup/recvmsg4")
int nm_recvmsg4(struct bpf_sock_addr *ctx)
{
	struct nm_rewrite rw = {};

	return nm_finish4(ctx, nm_recvmsg(ctx, NM_HOOK_RECVMSG4, &rw), &rw);
}

SEC("cgroup/recvmsg6")
int nm_recvmsg6(struct bpf_sock_addr *ctx)
{
	struct nm_rewrite rw = {};

	return nm_finish6(ctx, nm_recvmsg(ctx, NM_HOOK_RECVMSG6, &rw), &rw);
}

SEC("sockops")
int nm_sockops(struct bpf_sock_ops *ops)
{
	switch (ops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		nm_flow_connect_cb(ops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		nm_flow_state_cb(ops);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		nm_flow_inbound_cb(ops);
		break;
	}
	return 1;
}

/*
 * Who sent a UDP query (NM_SO_DNSQ in include/nomoat.h), for nomoat-dns in
 * an origdst-only attach point: setsockopt names the query by its 4-tuple,
 * the record found (or none) is kept in the resolver socket's storage, and
 * the next getsockopt returns it.  Sandboxes are never given the setsockopt
 * program, so they cannot ask about other sandboxes' queries; the
 * getsockopt answer only ever shows a socket its own storage.
 */
SEC("cgroup/setsockopt")
int nm_setsockopt(struct bpf_sockopt *ctx)
{
	struct nm_flow_key *k = ctx->optval;
	struct nm_origin *o;
	struct nm_sk *st;

	if ((ctx->level != SOL_IP && ctx->level != SOL_IPV6) || ctx->optname != NM_SO_DNSQ)
		return 1;
	if ((void *)(k + 1) > ctx->optval_end || !ctx->sk)
		return 0; /* EPERM: a question too short */
	st = bpf_sk_storage_get(&nm_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	o = bpf_map_lookup_elem(&nm_dnsq, k);
	if (o) {
		st->orig = *o;
	} else {
		__builtin_memset(&st->orig, 0, sizeof(st->orig));
		nm_gstat_inc(NM_G_DNSQ_MISS);
	}
	ctx->optlen = -1; /* answered here: the kernel's handler is not run */
	return 1;
}

static __always_inline int nm_dnsq_answer(struct bpf_sockopt *ctx)
{
	struct nm_origin *out = ctx->optval;
	struct nm_sk *st;

	if ((void *)(out + 1) > ctx->optval_end || !ctx->sk)
		return 1;
	st = bpf_sk_storage_get(&nm_sk, ctx->sk, 0, 0);
	if (st)
		*out = st->orig;
	else
		__builtin_memset(out, 0, sizeof(*out));
	/* two stores the compiler must not merge into one 8-byte store to
	 * the context, which the verifier refuses */
	*(volatile __s32 *)&ctx->optlen = sizeof(*out);
	*(volatile __s32 *)&ctx->retval = 0;
	return 1;
}

/* Answer SO_ORIGINAL_DST (iptables REDIRECT convention) and NM_SO_ORIGIN on
 * the proxy's accepted sockets, and NM_SO_DNSQ (above).  Anything else
 * passes through untouched. */
SEC("cgroup/getsockopt")
int nm_getsockopt(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct nm_flow_key k = {};
	struct nm_origin *o;
	void *end = ctx->optval_end;

	if (ctx->level != SOL_IP && ctx->level != SOL_IPV6)
		return 1;
	if (ctx->optname == NM_SO_DNSQ)
		return nm_dnsq_answer(ctx);
	if (ctx->optname != NM_SO_ORIGINAL_DST && ctx->optname != NM_SO_ORIGIN)
		return 1;
	if (!sk || sk->protocol != IPPROTO_TCP)
		return 1;
	nm_flow_key_sk(sk, &k);
	o = bpf_map_lookup_elem(&nm_flows, &k);
	if (!o) {
		nm_gstat_inc(NM_G_FLOW_MISS);
		return 1;
	}

	if (ctx->optname == NM_SO_ORIGIN) {
		struct nm_origin *out = ctx->optval;

		if ((void *)(out + 1) > end)
			return 1;
		*out = *o;
		ctx->optlen = sizeof(*out);
	} else if (ctx->level == SOL_IP) {
		struct sockaddr_in *sin = ctx->optval;

		if ((void *)(sin + 1) > end || o->family != 4)
			return 1;
		__builtin_memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = o->port;
		sin->sin_addr.s_addr = o->addr[3];
		ctx->optlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = ctx->optval;

		if ((void *)(sin6 + 1) > end)
			return 1;
		__builtin_memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = o->port;
		__builtin_memcpy(&sin6->sin6_addr, o->addr, 16);
		ctx->optlen = sizeof(*sin6);
	}
	ctx->retval = 0;
	return 1;
}

/*
 * Socket creation: raw IP sockets and ICMP datagram ("ping") sockets can
 * send packets no address hook sees, so a policy refuses them unless it
 * allows raw sockets.  Judged by the creating task's policy; fail closed
 * without one.
 */
SEC("cgroup/sock_create")
int nm_sock_create(struct bpf_sock *sk)
{
	__u32 family = sk->family, type = sk->type, proto = sk->protocol;
	struct nm_decision d = { .action = NM_ACT_DENY, .reason = NM_R_RAW_SOCKET };
	struct nm_req rq = { .hook = NM_HOOK_SOCK_CREATE, .proto = (__u8)proto };
	struct nm_policy pol;
	__u32 policy_id;

	if (family != AF_INET && family != AF_INET6)
		return 1;
	if (type != SOCK_RAW &&
	    !(type == SOCK_DGRAM && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)))
		return 1;
	rq.family = family == AF_INET ? 4 : 6;
	if (rq.family == 4)
		nm_v4mapped(rq.addr, 0); /* no destination: 0.0.0.0 */
	policy_id = nm_find_policy_id();
	if (!nm_policy_read(policy_id, &pol)) {
		nm_fail_closed_emit(&rq, policy_id, bpf_get_current_cgroup_id());
		return 0;
	}
	if (pol.raw)
		return 1;
	nm_count(policy_id, nm_verdict_of(NM_ACT_DENY, pol.mode));
	nm_emit(&rq, &d, nm_verdict_of(NM_ACT_DENY, pol.mode), policy_id, bpf_get_current_cgroup_id());
	return pol.mode == NM_MODE_AUDIT ? 1 : 0;
}

/* The packet backstop (bpf/lib/backstop.h): 1 lets the packet go, 0 drops. */
SEC("cgroup_skb/egress")
int nm_egress(struct __sk_buff *skb)
{
	return nm_backstop(skb);
}
