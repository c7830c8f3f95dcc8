/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading nomoat's kernel state: one binding, the live flow count, and a
 * snapshot of every counter.  Front ends (the CLI's `stats`, nomoatd's
 * /metrics, `nomoat run`) read the maps through these and never call a map
 * syscall themselves; the writers are in policy.h.
 */
#ifndef NM_STATE_H
#define NM_STATE_H

#include <stddef.h>
#include <linux/types.h>
#include "nomoat.h"
#include "pins.h"

/* The policy id bound to a cgroup: 0 and *policy_id set, -ENOENT when it is
 * not bound (no message), another negative errno with a message. */
int nm_binding_get(const struct nm_maps *m, __u64 cgroup_id, __u32 *policy_id);

/* Redirected TCP flows with a record now (nm_flowcnt[0]); 0 if unreadable. */
__u64 nm_flows_live(const struct nm_maps *m);

/* Decisions of one policy (row 0: "no policy", the fail-closed denials of
 * cgroups with no bound ancestor). */
struct nm_stats_row {
	__u32 policy_id;
	char  name[NM_POLICY_NAME_LEN]; /* "" for row 0 */
	__u64 v[NM_V__MAX];             /* by enum nm_verdict */
};

/* Every counter at one moment: the rows in policy id order, the kernel's
 * global counters, the live flows.  It is large (one row per possible
 * policy): allocate it, do not put it on a small stack. */
struct nm_stats_snap {
	size_t nrows;                         /* rows[0] is "no policy" */
	struct nm_stats_row rows[NM_MAX_POLICIES];
	__u64 g[NM_G__MAX];                   /* by enum nm_gstat */
	__u64 flows_live;
};

/* Fill s from the maps.  Counters that cannot be read count 0 (as
 * nm_percpu_sum does); returns 0. */
int nm_stats_snapshot(const struct nm_maps *m, struct nm_stats_snap *s);

#endif
