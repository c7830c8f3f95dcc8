/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which policy governs the calling task: the nearest bound ancestor. */
#ifndef NM_BPF_POLICY_H
#define NM_BPF_POLICY_H

#include "maps.h"

/*
 * Walk the calling task's cgroup ancestry from the root down and keep the
 * deepest binding.  bpf_get_current_ancestor_cgroup_id() returns 0 past the
 * task's own level, which ends the walk.  Returns the policy id, 0 if none
 * (the caller fails closed).
 */
static __always_inline __u32 nm_find_policy_id(void)
{
	__u32 found = 0;

	for (int level = 0; level < NM_MAX_CGROUP_DEPTH; level++) {
		__u64 cg = bpf_get_current_ancestor_cgroup_id(level);
		__u32 *id;

		if (!cg)
			break;
		id = bpf_map_lookup_elem(&nm_bindings, &cg);
		if (id)
			found = *id;
	}
	return found;
}

/* The policy record for an id, or NULL when it is not set up. */
static __always_inline const struct nm_policy *nm_policy_get(__u32 id)
{
	const struct nm_policy *p;

	if (!id)
		return NULL;
	p = bpf_map_lookup_elem(&nm_policies, &id);
	if (!p || !p->in_use)
		return NULL;
	return p;
}

#endif
