/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The decision: one destination under one policy -> action and why.
 * Order (first that applies wins):
 *   1. the policy's proxy endpoint (TCP) or DNS endpoint: allow;
 *   2. TCP or UDP to port 53 with a DNS endpoint for the family: redirect
 *      there (a resolver of the sandbox's own choosing, 8.8.8.8 or the
 *      127.0.0.53 of its resolv.conf, is the policy's resolver);
 *   3. the rule table: longest match of address bits then port bits;
 *   4. the policy default.
 * A redirect then needs somewhere to go: TCP to the proxy endpoint (none set:
 * deny), anything else but DNS cannot be proxied and is denied.
 */
#ifndef NM_BPF_DECIDE_H
#define NM_BPF_DECIDE_H

#include "maps.h"

struct nm_req {
	__u32 addr[4];  /* destination; v4-mapped when family == 4 */
	__u16 port;     /* network order */
	__u8  family;   /* 4: judged by the IPv4 table, 6: IPv6 table */
	__u8  mapped;   /* IPv4 reached through an AF_INET6 socket */
	__u8  proto;    /* IPPROTO_* */
	__u8  hook;     /* enum nm_hook */
	__u16 _pad;
};

struct nm_decision {
	__u8  action;   /* DENY / ALLOW / REDIRECT */
	__u8  reason;   /* enum nm_reason */
	__u8  rule_prefixlen;
	__u8  _pad;
	__u16 rule_port;
	__u16 new_port; /* redirect target, network order */
	__u32 new_addr[4];
};

static __always_inline bool nm_ep4_match(const struct nm_ep4 *ep, const struct nm_req *rq)
{
	return ep->port && ep->port == rq->port && ep->addr == rq->addr[3];
}

static __always_inline bool nm_ep6_match(const struct nm_ep6 *ep, const struct nm_req *rq)
{
	return ep->port && ep->port == rq->port && nm_addr_eq(ep->addr, rq->addr);
}

/* Point d->new_* at an endpoint of the request's family; false if unset. */
static __always_inline bool nm_target(const struct nm_ep4 *ep4, const struct nm_ep6 *ep6,
				      const struct nm_req *rq, struct nm_decision *d)
{
	if (rq->family == 4) {
		if (!ep4->port)
			return false;
		nm_v4mapped(d->new_addr, ep4->addr);
		d->new_port = ep4->port;
		return true;
	}
	if (!ep6->port)
		return false;
	d->new_addr[0] = ep6->addr[0];
	d->new_addr[1] = ep6->addr[1];
	d->new_addr[2] = ep6->addr[2];
	d->new_addr[3] = ep6->addr[3];
	d->new_port = ep6->port;
	return true;
}

static __always_inline void nm_rule_lookup(const struct nm_policy *pol, const struct nm_req *rq,
					   struct nm_decision *d)
{
	/* The table slot comes from the same record as every setting used
	 * here, so a reload's swap is seen whole or not at all. */
	__u32 gen = pol->gen;
	const struct nm_rule *r;
	void *tbl;

	if (rq->family == 4) {
		struct nm_key4 k = {
			.prefixlen = NM_KEY4_HOSTPORT_LEN,
			.port = rq->port,
		};

		__builtin_memcpy(k.addr, &rq->addr[3], 4);
		tbl = bpf_map_lookup_elem(&nm_rules4, &gen);
		if (!tbl)
			goto no_table;
		r = bpf_map_lookup_elem(tbl, &k);
	} else {
		struct nm_key6 k = {
			.prefixlen = NM_KEY6_HOSTPORT_LEN,
			.port = rq->port,
		};

		__builtin_memcpy(k.addr, rq->addr, 16);
		tbl = bpf_map_lookup_elem(&nm_rules6, &gen);
		if (!tbl)
			goto no_table;
		r = bpf_map_lookup_elem(tbl, &k);
	}
	if (r) {
		d->action = r->action;
		d->reason = NM_R_RULE;
		d->rule_prefixlen = r->prefixlen;
		d->rule_port = r->port;
	} else {
		d->action = pol->default_action;
		d->reason = NM_R_DEFAULT;
	}
	/* A value user space never writes: fail closed. */
	if (d->action != NM_ACT_ALLOW && d->action != NM_ACT_REDIRECT)
		d->action = NM_ACT_DENY;
	return;
no_table:
	/* Policy record without a table: fail closed, counted. */
	nm_gstat_inc(NM_G_BAD_POLICY);
	d->action = NM_ACT_DENY;
	d->reason = NM_R_BAD_POLICY;
}

static __always_inline void nm_decide(const struct nm_policy *pol, const struct nm_req *rq,
				      struct nm_decision *d)
{
	bool v4 = rq->family == 4;
	bool tcp = rq->proto == IPPROTO_TCP;
	bool udp = rq->proto == IPPROTO_UDP;

	if (tcp && (v4 ? nm_ep4_match(&pol->proxy4, rq) : nm_ep6_match(&pol->proxy6, rq))) {
		d->action = NM_ACT_ALLOW;
		d->reason = NM_R_PROXY_ENDPOINT;
		return;
	}
	if ((tcp || udp) && (v4 ? nm_ep4_match(&pol->dns4, rq) : nm_ep6_match(&pol->dns6, rq))) {
		d->action = NM_ACT_ALLOW;
		d->reason = NM_R_DNS_ENDPOINT;
		return;
	}
	if ((tcp || udp) && rq->port == bpf_htons(NM_DNS_PORT) && nm_target(&pol->dns4, &pol->dns6, rq, d)) {
		d->action = NM_ACT_REDIRECT;
		d->reason = NM_R_DNS;
		return;
	}

	nm_rule_lookup(pol, rq, d);
	if (d->action != NM_ACT_REDIRECT)
		return;
	if (!tcp) {
		d->action = NM_ACT_DENY;
		d->reason = udp ? NM_R_UDP_REDIRECT : NM_R_PROTO;
	} else if (!nm_target(&pol->proxy4, &pol->proxy6, rq, d)) {
		d->action = NM_ACT_DENY;
		d->reason = NM_R_NO_PROXY;
	}
}

#endif
