/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Making the kernel match the policy file.  Policies change all or nothing
 * (every policy's tables are built aside first; if any fails, nothing is
 * touched), then each swaps in with one record update.  Attach points are
 * added, their cgroups made when missing (never removed: only `nomoat
 * unload` ends enforcement).  Bindings:
 * every existing cgroup matching a bind pattern is bound to its policy (the
 * first matching pattern in file order wins); bindings of cgroups that no
 * longer exist are removed; other bindings (`nomoat cgroup bind`, `nomoat
 * run`) are left alone.  Policies the file no longer names are deleted when
 * nothing is bound to them.
 */
#ifndef NM_APPLY_H
#define NM_APPLY_H

#include <stdbool.h>
#include "config.h"
#include "pins.h"

struct nm_apply_stats {
	unsigned created, replaced, deleted, kept_bound; /* policies */
	unsigned attached, bound, unbound;               /* attach points, bindings */
};

/* Resolve a config cgroup path (relative to the mount, or absolute). */
int nm_apply_cgroup_abs(const char *cfg_path, char *abs, size_t len);

/* Validate what needs the kernel's view (attach points exist) without
 * changing anything; -errno with a message. */
int nm_apply_check(const struct nm_config *cfg);

int nm_apply(const char *pin_dir, const struct nm_maps *m, const struct nm_config *cfg,
	     struct nm_apply_stats *st);

/* One cgroup appeared: bind it if a pattern matches.  1 bound, 0 not. */
int nm_apply_cgroup(const struct nm_maps *m, const struct nm_config *cfg, const char *abs);

/* Remove bindings whose cgroup is gone; returns how many. */
unsigned nm_apply_prune(const struct nm_maps *m);

#endif
