/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The decision in the kernel: include/nomoat_decide.h (shared with `nomoat
 * check`) over this program's maps.  Its order and semantics are described
 * there.
 */
#ifndef NM_BPF_DECIDE_H
#define NM_BPF_DECIDE_H

#include "maps.h"

/* nomoat_decide.h's rule lookup: the live table of slot gen in nm_rules4/6. */
static __always_inline enum nm_rule_found nm_rule_find(void *env, __u32 gen, const struct nm_req *rq,
						       struct nm_rule *out)
{
	const struct nm_rule *r;
	void *tbl;

	(void)env;
	if (rq->family == 4) {
		struct nm_key4 k = {
			.prefixlen = NM_KEY4_HOSTPORT_LEN,
			.port = rq->port,
		};

		__builtin_memcpy(k.addr, &rq->addr[3], 4);
		tbl = bpf_map_lookup_elem(&nm_rules4, &gen);
		if (!tbl)
			return NM_RULE_NO_TABLE;
		r = bpf_map_lookup_elem(tbl, &k);
	} else {
		struct nm_key6 k = {
			.prefixlen = NM_KEY6_HOSTPORT_LEN,
			.port = rq->port,
		};

		__builtin_memcpy(k.addr, rq->addr, 16);
		tbl = bpf_map_lookup_elem(&nm_rules6, &gen);
		if (!tbl)
			return NM_RULE_NO_TABLE;
		r = bpf_map_lookup_elem(tbl, &k);
	}
	if (!r)
		return NM_RULE_NONE;
	*out = *r;
	return NM_RULE_HIT;
}

#define NM_RULE_FIND nm_rule_find
#include "nomoat_decide.h"

/* The decision for rq under pol; a policy record without its table is
 * counted (it fails closed). */
static __always_inline void nm_decide(const struct nm_policy *pol, const struct nm_req *rq, struct nm_decision *d)
{
	nm_decide_with(NULL, pol, rq, d);
	if (d->reason == NM_R_BAD_POLICY)
		nm_gstat_inc(NM_G_BAD_POLICY);
}

#endif
