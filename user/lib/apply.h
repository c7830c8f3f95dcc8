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
 * nothing is bound to them.  The policy nomoatd's canary uses
 * (NM_CANARY_POLICY) is never deleted.
 *
 * The daemon applies its file with nm_apply at start and on SIGHUP, calls
 * nm_apply_cgroup for each cgroup its watch sees appear and nm_apply_prune
 * when one goes.  Every function returns 0 or a negative errno with a
 * message (err.h); a failed nm_apply leaves the policies as they were.
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

/* The first attach point of the file that is not origdst-only (where the
 * daemon proves enforcement), resolved; -EINVAL when there is none. */
int nm_apply_sandbox_point(const struct nm_config *cfg, char *abs, size_t len);

/* Validate what needs the kernel's view (attach points exist) without
 * changing anything; -errno with a message. */
int nm_apply_check(const struct nm_config *cfg);

/* Make the kernel match cfg (see above); *st says what changed. */
int nm_apply(const char *pin_dir, const struct nm_maps *m, const struct nm_config *cfg,
	     struct nm_apply_stats *st);

/* One cgroup appeared: bind it if a pattern matches.  1 bound, 0 not. */
int nm_apply_cgroup(const struct nm_maps *m, const struct nm_config *cfg, const char *abs);

/* Where new cgroups that nm_apply_cgroup should see can appear: fn gets
 * every (sandbox) attach point and, for each bind pattern, the deepest
 * existing directory above its first glob character (absolute paths). */
void nm_apply_watch_points(const struct nm_config *cfg, void (*fn)(const char *abs, void *arg), void *arg);

/* Remove bindings whose cgroup is gone; returns how many. */
unsigned nm_apply_prune(const struct nm_maps *m);

#endif
