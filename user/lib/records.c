// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy records and the bindings in the pinned maps: a record by id
 * or by name, all in id order; bind, unbind, all bindings.  The rule
 * tables behind a record are policy.c's.
 */
#include "policy.h"
#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>

/* ---- policies ---------------------------------------------------------- */

int nm_policy_get(const struct nm_maps *m, __u32 id, struct nm_policy *out)
{
	if (bpf_map_lookup_elem(m->policies, &id, out))
		return -errno;
	return out->in_use ? 0 : -ENOENT;
}

int nm_policy_foreach(const struct nm_maps *m, int (*fn)(const struct nm_policy *, void *), void *ctx)
{
	/* Ids are small: walk them in order rather than in hash order. */
	for (__u32 id = 1; id < NM_MAX_POLICIES; id++) {
		struct nm_policy p;
		int ret;

		if (nm_policy_get(m, id, &p))
			continue;
		ret = fn(&p, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

struct find_ctx {
	const char *name;
	struct nm_policy found;
};

static int find_cb(const struct nm_policy *p, void *arg)
{
	struct find_ctx *f = arg;

	if (strncmp(p->name, f->name, sizeof(p->name)))
		return 0;
	f->found = *p;
	return 1;
}

int nm_policy_lookup(const struct nm_maps *m, const char *name, __u32 *id, struct nm_policy *out)
{
	struct find_ctx f = { .name = name };

	if (nm_policy_foreach(m, find_cb, &f) != 1)
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy '%s' (see: nomoat policy list)", name);
	if (id)
		*id = f.found.id;
	if (out)
		*out = f.found;
	return 0;
}

/* ---- bindings ---------------------------------------------------------- */

int nm_bind(const struct nm_maps *m, __u64 cgroup_id, __u32 policy_id)
{
	if (bpf_map_update_elem(m->bindings, &cgroup_id, &policy_id, BPF_ANY))
		return nm_fail(errno == E2BIG ? NM_E_INPUT : NM_E_RUNTIME, -errno, "binding cgroup %llu: %s",
			       (unsigned long long)cgroup_id,
			       errno == E2BIG ? "the binding table is full" : strerror(errno));
	nm_epoch_bump(m);
	return 0;
}

int nm_unbind(const struct nm_maps *m, __u64 cgroup_id)
{
	if (bpf_map_delete_elem(m->bindings, &cgroup_id))
		return nm_fail(errno == ENOENT ? NM_E_INPUT : NM_E_RUNTIME, -errno, "cgroup %llu: %s",
			       (unsigned long long)cgroup_id, errno == ENOENT ? "not bound" : strerror(errno));
	nm_epoch_bump(m);
	return 0;
}

int nm_binding_foreach(const struct nm_maps *m, int (*fn)(__u64, __u32, void *), void *ctx)
{
	__u64 cur, next;
	bool first = true;
	int ret = 0;

	while (!ret && bpf_map_get_next_key(m->bindings, first ? NULL : &cur, &next) == 0) {
		__u32 pid;

		first = false;
		cur = next;
		if (bpf_map_lookup_elem(m->bindings, &cur, &pid) == 0)
			ret = fn(cur, pid, ctx);
	}
	return ret;
}
