/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nomoat_decide.h - the decision: one destination under one policy -> action
 * and why.  One source, compiled into the kernel programs (bpf/lib/decide.h)
 * and into `nomoat check` (user/lib/decide.c), so the answer the CLI gives is
 * the kernel's by construction; tests/unit/test_decide.c drives one table of
 * cases through both.
 *
 * Order (first that applies wins):
 *   1. the policy's proxy endpoint (TCP) or DNS endpoint: allow;
 *   2. TCP or UDP to port 53 with a DNS endpoint for the family: redirect
 *      there (a resolver of the sandbox's own choosing, 8.8.8.8 or the
 *      127.0.0.53 of its resolv.conf, is the policy's resolver);
 *   3. the rule table: longest match of address bits then port bits;
 *   4. the policy default.
 * A redirect then needs somewhere to go: TCP to the proxy endpoint (none set:
 * deny), anything else but DNS cannot be proxied and is denied.  A policy
 * whose live table slot is empty is denied (bad-policy).
 *
 * Pure: the only outside access is the rule lookup, which the includer
 * supplies: the kernel reads its maps, user space the pinned ones.  The
 * header is read in two parts: the types and address helpers, always; the
 * decision (nm_decide_with) once the includer has defined its lookup,
 *
 *	enum nm_rule_found FN(void *env, __u32 gen, const struct nm_req *rq,
 *			      struct nm_rule *out);
 *
 * the longest match for rq (rq->family's table, full address then port) in
 * the table of slot gen, copied into *out (env is the includer's own), and
 * named it NM_RULE_FIND before including this header again.
 */
#ifndef NOMOAT_DECIDE_H
#define NOMOAT_DECIDE_H

#ifndef __BPF__
#include <netinet/in.h>
#include <stdbool.h>
#endif
/* IPPROTO_TCP, IPPROTO_UDP: <netinet/in.h> above, or the kernel side's
 * <linux/in.h> (bpf/lib/common.h) */
#include "nomoat.h"

#define NM_INLINE inline __attribute__((always_inline))

/* Network byte order of a constant, the same on both sides. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NM_BE16(x) ((__u16)__builtin_bswap16(x))
#define NM_BE32(x) ((__u32)__builtin_bswap32(x))
#else
#define NM_BE16(x) ((__u16)(x))
#define NM_BE32(x) ((__u32)(x))
#endif

#define NM_DNS_PORT 53

/* ::ffff:0:0/96, the third address word in network order */
#define NM_V4MAPPED_W2 NM_BE32(0x0000ffff)

static NM_INLINE bool nm_is_v4mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == NM_V4MAPPED_W2;
}

static NM_INLINE void nm_v4mapped(__u32 out[4], __u32 v4)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = NM_V4MAPPED_W2;
	out[3] = v4;
}

static NM_INLINE bool nm_addr_eq(const __u32 a[4], const __u32 b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* What is judged. */
struct nm_req {
	__u32 addr[4];  /* destination; v4-mapped when family == 4 */
	__u16 port;     /* network order */
	__u8  family;   /* 4: judged by the IPv4 table, 6: IPv6 table */
	__u8  mapped;   /* IPv4 reached through an AF_INET6 socket */
	__u8  proto;    /* IPPROTO_* */
	__u8  hook;     /* enum nm_hook */
	__u16 _pad;
};

/* The answer. */
struct nm_decision {
	__u8  action;   /* DENY / ALLOW / REDIRECT */
	__u8  reason;   /* enum nm_reason */
	__u8  rule_prefixlen;
	__u8  ruled;    /* 1: a rule matched (rule_* tell which), even if the
			 * redirect it asked for was then refused */
	__u16 rule_port;
	__u16 new_port; /* redirect target, network order */
	__u32 new_addr[4];
};

/* An IPv6 destination (words in network order): IPv4 inside IPv6
 * (::ffff:a.b.c.d) is judged as IPv4, as on dual-stack sockets. */
static NM_INLINE void nm_req_dst6(struct nm_req *rq, const __u32 a[4])
{
	rq->addr[0] = a[0];
	rq->addr[1] = a[1];
	rq->addr[2] = a[2];
	rq->addr[3] = a[3];
	if (nm_is_v4mapped(rq->addr)) {
		rq->family = 4;
		rq->mapped = 1;
	} else {
		rq->family = 6;
	}
}

/* What NM_RULE_FIND answers. */
enum nm_rule_found {
	NM_RULE_NONE = 0,     /* no rule matches: the policy default */
	NM_RULE_HIT = 1,      /* *out is the longest match */
	NM_RULE_NO_TABLE = 2, /* the slot pol->gen has no table: fail closed */
};

#endif /* NOMOAT_DECIDE_H */

#if defined(NM_RULE_FIND) && !defined(NOMOAT_DECIDE_FN)
#define NOMOAT_DECIDE_FN

static NM_INLINE bool nm_ep4_match(const struct nm_ep4 *ep, const struct nm_req *rq)
{
	return ep->port && ep->port == rq->port && ep->addr == rq->addr[3];
}

static NM_INLINE bool nm_ep6_match(const struct nm_ep6 *ep, const struct nm_req *rq)
{
	return ep->port && ep->port == rq->port && nm_addr_eq(ep->addr, rq->addr);
}

/* Point d->new_* at an endpoint of the request's family; false if unset. */
static NM_INLINE bool nm_target(const struct nm_ep4 *ep4, const struct nm_ep6 *ep6, const struct nm_req *rq,
				struct nm_decision *d)
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

/* Step 3 and 4: the rule table, else the default. */
static NM_INLINE void nm_decide_rules(void *env, const struct nm_policy *pol, const struct nm_req *rq,
				      struct nm_decision *d)
{
	struct nm_rule r;

	/* The table slot comes from the same record as every setting used
	 * here, so a reload's swap is seen whole or not at all. */
	switch (NM_RULE_FIND(env, pol->gen, rq, &r)) {
	case NM_RULE_HIT:
		d->action = r.action;
		d->reason = NM_R_RULE;
		d->rule_prefixlen = r.prefixlen;
		d->rule_port = r.port;
		d->ruled = 1;
		break;
	case NM_RULE_NONE:
		d->action = pol->default_action;
		d->reason = NM_R_DEFAULT;
		break;
	default:
		d->action = NM_ACT_DENY;
		d->reason = NM_R_BAD_POLICY;
		return;
	}
	/* A value user space never writes: fail closed. */
	if (d->action != NM_ACT_ALLOW && d->action != NM_ACT_REDIRECT)
		d->action = NM_ACT_DENY;
}

/* The decision for rq under pol (d zeroed by the caller). */
static NM_INLINE void nm_decide_with(void *env, const struct nm_policy *pol, const struct nm_req *rq,
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
	if ((tcp || udp) && rq->port == NM_BE16(NM_DNS_PORT) && nm_target(&pol->dns4, &pol->dns6, rq, d)) {
		d->action = NM_ACT_REDIRECT;
		d->reason = NM_R_DNS;
		return;
	}

	nm_decide_rules(env, pol, rq, d);
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

#endif /* NM_RULE_FIND */
