/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet backstop: a cgroup_skb/egress program that judges the
 * destination of every IP packet a policed cgroup's sockets send, with the
 * same decision as the address hooks, so that what those hooks never see is
 * still held:
 *
 *   - raw and ping sockets (when a policy allows them at all): a denied
 *     address is dropped, and so is one the policy would redirect, since a
 *     hand-made packet cannot be redirected;
 *   - flows opened before a deny rule was added: their next packet is
 *     dropped; a download stops too, as its acknowledgements go nowhere (the
 *     peer sends at most what it had in flight);
 *   - IPv4 options and IPv6 routing headers (but type 2, mobile IPv6),
 *     which can carry a source route past the judged destination: dropped
 *     (ordinary sockets never send them).
 *
 * TCP and UDP sockets are otherwise judged by the policy's rules: a deny
 * (rule or default) drops the packet; a redirect lets an existing flow be
 * (the connect hook decides where new ones go).  A flow the connect hook
 * redirected to the proxy is judged by its original destination: a deny of
 * that range cuts it at the proxy's door, and a change of the proxy
 * endpoint does not.  Connections the cgroup accepted (a listener,
 * its handshakes and the sockets it accepted, marked by sockops) are not
 * outbound traffic and pass.  The proxy and DNS endpoints always pass.
 *
 * Cost: a TCP flow is judged once per change epoch (nm_epoch, moved by
 * user space after every change of a record, table or binding): the connect
 * hook marks what it let through, the backstop marks what it judged, both
 * in nm_judged (by socket cookie, bpf/lib/maps.h), so that the packet of an
 * allowed, judged flow costs one lookup and a compare.  A UDP socket keeps
 * the last destination it was judged for in its socket storage, compared
 * exactly, so connected UDP (QUIC) is judged once per epoch too.  Raw and ping packets, and UDP to a
 * new destination each time, are judged one by one.
 *
 * A policed cgroup whose policy cannot be read drops (fail closed).  Audit
 * mode drops nothing and reports would-deny.  Every drop is counted; events
 * are rate-limited per CPU (NM_BACKSTOP_EVENTS_PER_SEC).
 */
#ifndef NM_BPF_BACKSTOP_H
#define NM_BPF_BACKSTOP_H

#include "event.h"
#include "policy.h"

#define NM_IPV6_EXT_MAX   6  /* extension headers walked before giving up */
#define NM_IPV6_RT_MIP6   2  /* type 2 (mobile IPv6) only names the host itself */

/* What the backstop needs of a packet: the destination address and port
 * and the protocol (in rq), and whether it could be routed past that
 * address. */
struct nm_pkt {
	struct nm_req rq;
	__u32 src[4]; /* source address, v4-mapped for IPv4 */
	__u16 sport;  /* source port, network order (TCP, UDP; 0 when not in this packet) */
	bool routed; /* IPv4 options or an IPv6 routing header */
	bool ok; /* parsed; a packet too short or not IP is left alone */
};

/* The ports of a TCP or UDP header at off; 0 when they are not in this
 * packet. */
static __always_inline void nm_pkt_ports(struct __sk_buff *skb, __u32 off, struct nm_pkt *p)
{
	__u16 ports[2];

	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return;
	p->sport = ports[0];
	p->rq.port = ports[1];
}

static __always_inline void nm_pkt4(struct __sk_buff *skb, struct nm_pkt *p)
{
	__u8 h[20];
	__u32 ihl, addr;

	if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) || (h[0] >> 4) != 4)
		return;
	ihl = (h[0] & 0xf) * 4;
	if (ihl < 20)
		return;
	__builtin_memcpy(&addr, &h[16], 4);
	nm_v4mapped(p->rq.addr, addr);
	__builtin_memcpy(&addr, &h[12], 4);
	nm_v4mapped(p->src, addr);
	p->rq.family = 4;
	p->rq.proto = h[9];
	/* Options can carry a source route; sockets do not need them. */
	p->routed = ihl > 20;
	/* Ports are in the first fragment only. */
	if ((p->rq.proto == IPPROTO_TCP || p->rq.proto == IPPROTO_UDP) &&
	    !(((__u16)h[6] << 8 | h[7]) & 0x1fff))
		nm_pkt_ports(skb, ihl, p);
	p->ok = true;
}

/* The IPv6 extension headers the walk steps over. */
static __always_inline bool nm_ipv6_ext(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_FRAGMENT ||
	       next == IPPROTO_AH || next == IPPROTO_DSTOPTS;
}

static __always_inline void nm_pkt6(struct __sk_buff *skb, struct nm_pkt *p)
{
	__u8 h[40];
	__u32 dst[4], off = 40;
	__u8 next;
	bool first = true; /* not a later fragment */

	if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) || (h[0] >> 4) != 6)
		return;
	__builtin_memcpy(p->src, &h[8], 16);
	__builtin_memcpy(dst, &h[24], 16);
	/* IPv4 inside IPv6 is judged as IPv4, as the address hooks do. */
	nm_req_dst6(&p->rq, dst);
	next = h[6];
	for (int n = 0; n < NM_IPV6_EXT_MAX; n++) {
		__u8 x[8];

		if (!nm_ipv6_ext(next))
			break;
		if (bpf_skb_load_bytes(skb, off, x, sizeof(x)))
			return;
		if (next == IPPROTO_ROUTING && x[2] != NM_IPV6_RT_MIP6)
			p->routed = true;
		if (next == IPPROTO_FRAGMENT) {
			if (((__u16)x[2] << 8 | x[3]) & 0xfff8)
				first = false;
			off += 8;
		} else if (next == IPPROTO_AH) {
			off += ((__u32)x[1] + 2) * 4;
		} else {
			off += ((__u32)x[1] + 1) * 8;
		}
		next = x[0];
	}
	/* A chain longer than the walk could hide a routing header past it:
	 * it is dropped as one would be (no socket sends such a chain). */
	if (nm_ipv6_ext(next))
		p->routed = true;
	p->rq.proto = next;
	if (first && (next == IPPROTO_TCP || next == IPPROTO_UDP))
		nm_pkt_ports(skb, off, p);
	p->ok = true;
}

/*
 * TCP packets that need no judging: a connection the cgroup accepted (a
 * listener, its handshakes, a socket sockops marked) is not its outbound
 * traffic; a SYN (and its answer) follows the connect hook's own decision;
 * a flow judged to pass under the current epoch still passes.  *orig is
 * set for a redirected flow: it is judged by where it is really going, not
 * by the proxy it goes through (whose endpoint may have changed since).
 */
static __always_inline bool nm_bs_tcp_pass(struct bpf_sock *sk, __u64 cookie, __u64 epoch,
					   struct nm_origin *orig, bool *redirected)
{
	__u32 state = sk->state;
	struct nm_sk *st;

	if (state == BPF_TCP_LISTEN || state == BPF_TCP_SYN_RECV || state == BPF_TCP_NEW_SYN_RECV ||
	    state == BPF_TCP_SYN_SENT)
		return true;
	if (nm_judged_ok(cookie, epoch))
		return true;
	st = bpf_sk_storage_get(&nm_sk, sk, 0, 0);
	if (!st)
		return false;
	if (st->flags & NM_SK_INBOUND)
		return true;
	if (st->flags & NM_SK_ORIG) {
		__builtin_memcpy(orig, &st->orig, sizeof(*orig));
		*redirected = true;
	}
	return false;
}

/* A DNS query leaving for the resolver: who sent it, by the 4-tuple the
 * resolver will see (NM_SO_DNSQ).  The sendmsg hook put the sender's
 * identity into the socket's storage for this very datagram. */
static __always_inline void nm_dnsq_note(const struct nm_pkt *p, const struct nm_sk *st)
{
	struct nm_flow_key k = {};

	__builtin_memcpy(k.client, p->src, 16);
	__builtin_memcpy(k.proxy, p->rq.addr, 16);
	k.client_port = p->sport;
	k.proxy_port = p->rq.port;
	if (bpf_map_update_elem(&nm_dnsq, &k, &st->orig, BPF_ANY) == 0)
		nm_gstat_inc(NM_G_DNSQ_NOTED);
}

/* One backstop event, within this CPU's budget for the current second. */
static __always_inline void nm_bs_report(const struct nm_pkt *p, const struct nm_decision *d, __u8 verdict,
					 __u32 policy_id, struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct nm_bs_rate *r = bpf_map_lookup_elem(&nm_bs_rate, &zero);
	__u64 now = bpf_ktime_get_ns() / 1000000000ull;

	if (!r)
		return;
	if (r->second != now) {
		r->second = now;
		r->sent = 0;
	}
	if (r->sent >= NM_BACKSTOP_EVENTS_PER_SEC) {
		nm_gstat_inc(NM_G_BACKSTOP_QUIET);
		return;
	}
	r->sent++;
	nm_emit_pkt(&p->rq, d, verdict, policy_id, bpf_skb_cgroup_id(skb), bpf_get_socket_uid(skb));
}

/* 1: the packet goes on, 0: dropped. */
static __always_inline int nm_backstop(struct __sk_buff *skb)
{
	struct nm_pkt p = { .rq.hook = NM_HOOK_EGRESS };
	struct nm_decision d = { .action = NM_ACT_DENY };
	struct bpf_sock *sk = skb->sk;
	struct nm_origin orig;
	struct nm_policy pol;
	__u64 epoch, cookie;
	__u32 policy_id;
	bool sock_l4, tcp, udp, redirected = false;
	__u8 verdict;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	epoch = nm_epoch_now(); /* before the decision, as in the hooks */
	tcp = sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP;
	cookie = tcp ? bpf_get_socket_cookie(skb) : 0;
	if (tcp && nm_bs_tcp_pass(sk, cookie, epoch, &orig, &redirected))
		return 1;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		nm_pkt4(skb, &p);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		nm_pkt6(skb, &p);
	if (!p.ok)
		return 1;
	/* A redirected flow: judged by its original destination. */
	if (redirected) {
		__builtin_memcpy(p.rq.addr, orig.addr, 16);
		p.rq.port = orig.port;
		p.rq.family = orig.family == 4 ? 4 : 6;
		p.rq.mapped = 0;
	}
	/* A TCP or UDP socket's packets were judged by the address hooks
	 * (and may have been redirected there); anything else was not. */
	udp = sk->type == SOCK_DGRAM && sk->protocol == IPPROTO_UDP;
	sock_l4 = tcp || udp;
	if (udp && !p.routed) {
		struct nm_sk *st = bpf_sk_storage_get(&nm_sk, sk, 0, 0);

		/* A query the sendmsg or connect hook sent to the resolver. */
		if (st && (st->flags & NM_SK_DNS) && st->new_port == p.rq.port && nm_addr_eq(st->new_addr, p.rq.addr))
			nm_dnsq_note(&p, st);
		/* A UDP socket sending on to the destination it was judged for. */
		if (st && (st->flags & NM_SK_BS_OK) && st->bs_epoch == epoch && st->bs_port == p.rq.port &&
		    nm_addr_eq(st->bs_addr, p.rq.addr))
			return 1;
	}

	policy_id = nm_find_policy_id_skb(skb);
	if (!nm_policy_read(policy_id, &pol)) {
		verdict = nm_fail_closed(policy_id, &d);
		goto drop;
	}
	if (p.routed) {
		d.reason = NM_R_IP_OPTIONS;
	} else {
		nm_decide(&pol, &p.rq, &d);
		if (d.action == NM_ACT_ALLOW)
			goto pass;
		/* A socket's flow is cut by a deny (rule or default), not by
		 * a redirect the hooks would make now: a redirect needs a
		 * proxy (no-proxy), cannot carry UDP (udp-redirect), but only
		 * new connections are redirected. */
		if (sock_l4 && (d.action == NM_ACT_REDIRECT || d.reason == NM_R_NO_PROXY ||
				d.reason == NM_R_UDP_REDIRECT || d.reason == NM_R_PROTO))
			goto pass;
		/* A hand-made packet cannot be redirected. */
		if (d.action == NM_ACT_REDIRECT) {
			d.action = NM_ACT_DENY;
			d.reason = NM_R_PROTO;
		}
	}
	verdict = nm_verdict_of(NM_ACT_DENY, pol.mode);
	if (pol.mode == NM_MODE_AUDIT) {
		nm_bs_report(&p, &d, verdict, policy_id, skb);
		return 1;
	}
drop:
	nm_gstat_inc(NM_G_BACKSTOP_DROP);
	nm_bs_report(&p, &d, verdict, policy_id, skb);
	return 0;
pass:
	/* A TCP flow (its peer is fixed) is not judged again this epoch, nor
	 * is a UDP socket's next datagram to the same destination. */
	if (tcp) {
		nm_judged_mark(cookie, epoch);
	} else if (udp) {
		struct nm_sk *st = bpf_sk_storage_get(&nm_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

		if (st) {
			st->bs_epoch = epoch;
			st->flags |= NM_SK_BS_OK;
			__builtin_memcpy(st->bs_addr, p.rq.addr, 16);
			st->bs_port = p.rq.port;
		}
	}
	return 1;
}

#endif
