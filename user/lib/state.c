// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading the kernel state: bindings, live flows, counters (state.h). */
#include "state.h"
#include "err.h"
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

int nm_binding_get(const struct nm_maps *m, __u64 cgroup_id, __u32 *policy_id)
{
	__u32 v;

	if (bpf_map_lookup_elem(m->bindings, &cgroup_id, &v)) {
		if (errno == ENOENT)
			return -ENOENT;
		return nm_fail(NM_E_RUNTIME, -errno, "reading the binding of cgroup %llu: %s",
			       (unsigned long long)cgroup_id, strerror(errno));
	}
	*policy_id = v;
	return 0;
}

__u64 nm_flows_live(const struct nm_maps *m)
{
	__u32 zero = 0;
	__u64 live = 0;

	if (bpf_map_lookup_elem(m->flowcnt, &zero, &live))
		return 0;
	return live;
}

static void read_row(const struct nm_maps *m, __u32 id, const char *name, struct nm_stats_row *r)
{
	r->policy_id = id;
	snprintf(r->name, sizeof(r->name), "%s", name);
	for (__u32 v = 0; v < NM_V__MAX; v++)
		r->v[v] = nm_percpu_sum(m->stats, id * NM_V__MAX + v);
}

struct snap_ctx {
	const struct nm_maps *m;
	struct nm_stats_snap *s;
};

static int row_cb(const struct nm_policy *p, void *arg)
{
	struct snap_ctx *x = arg;

	if (x->s->nrows >= NM_MAX_POLICIES)
		return 1;
	read_row(x->m, p->id, p->name, &x->s->rows[x->s->nrows++]);
	return 0;
}

int nm_stats_snapshot(const struct nm_maps *m, struct nm_stats_snap *s)
{
	struct snap_ctx x = { m, s };

	s->nrows = 1;
	read_row(m, 0, "", &s->rows[0]);
	nm_policy_foreach(m, row_cb, &x);
	for (__u32 i = 0; i < NM_G__MAX; i++)
		s->g[i] = nm_percpu_sum(m->gstats, i);
	s->flows_live = nm_flows_live(m);
	return 0;
}
