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
