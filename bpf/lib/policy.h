/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which policy governs the calling task: the nearest bound ancestor. */
#ifndef NM_BPF_POLICY_H
#define NM_BPF_POLICY_H

#include "maps.h"

/*
 * Walk a cgroup's ancestry from the root down and keep the deepest binding.
 * The ancestor helpers return 0 past the cgroup's own level, which ends the
 * walk.  Gives the policy id, 0 if none (the caller fails closed).
 */
#define NM_FIND_POLICY_ID(ancestor_at)                                   \
	({                                                               \
		__u32 found_ = 0;                                        \
		for (int level = 0; level < NM_MAX_CGROUP_DEPTH; level++) { \
			__u64 cg_ = (ancestor_at);                       \
			__u32 *id_;                                      \
			if (!cg_)                                        \
				break;                                   \
			id_ = bpf_map_lookup_elem(&nm_bindings, &cg_);   \
			if (id_)                                         \
				found_ = *id_;                           \
		}                                                        \
		found_;                                                  \
	})

static __always_inline __u32 nm_find_policy_id(void)
{
	return NM_FIND_POLICY_ID(bpf_get_current_ancestor_cgroup_id(level));
}

/* The same for the cgroup of a packet's socket (cgroup_skb programs, where
 * the current task may be any task, or none). */
static __always_inline __u32 nm_find_policy_id_skb(struct __sk_buff *skb)
{
	return NM_FIND_POLICY_ID(bpf_skb_ancestor_cgroup_id(skb, level));
}

#define NM_POLICY_READ_TRIES 4

/* A consistent copy of the policy record for an id (see nm_policy_sum in
 * nomoat.h); false when it is not set up or never read whole (fail
 * closed). */
static __always_inline bool nm_policy_read(__u32 id, struct nm_policy *out)
{
	if (!id)
		return false;
	for (int t = 0; t < NM_POLICY_READ_TRIES; t++) {
		const struct nm_policy *p = bpf_map_lookup_elem(&nm_policies, &id);

		if (!p)
			return false;
		__builtin_memcpy(out, p, sizeof(*out));
		if (out->id == id && out->check == nm_policy_sum(out))
			return out->in_use;
		nm_gstat_inc(NM_G_POLICY_RETRY);
	}
	return false;
}

#endif
