/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where `nomoat run` puts its command: the cgroup under which it makes
 * NAME/nomoat-run-PID.  It must be an attach point (not an origdst-only
 * one) or below one, or the command would run unpoliced.
 *
 * With --cgroup-parent PATH that is PATH, refused unless it is at or below
 * a sandbox attach point.  Without it: the one sandbox attach point; of
 * several, the one bound to the policy asked for, when exactly one is (the
 * shipped file has /nomoat for agents and the proxy's for its fence); else
 * the caller must say.  Refusals are NM_E_INPUT, -EINVAL (-ENOENT for a
 * PATH that does not exist), with a message that says what to give.
 */
#ifndef NM_RUNPOINT_H
#define NM_RUNPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "pins.h"

/* One attach point as the choice sees it. */
struct nm_runpoint {
	const char *path;   /* absolute; "" when its cgroup is gone */
	bool origdst_only;
	__u32 bound;        /* the policy bound to that very cgroup, 0: none */
};

/* The choice itself, over a list: parent is the user's PATH (for messages)
 * and parent_abs its resolved form, both NULL without --cgroup-parent;
 * policy_id 0 without --policy.  Writes the parent cgroup into out. */
int nm_runpoint_pick(const struct nm_runpoint *v, size_t n, const char *parent, const char *parent_abs,
		     __u32 policy_id, char *out, size_t len);

/* parent (--cgroup-parent) resolved into abs, or the error said (NM_E_INPUT). */
int nm_runpoint_parent(const char *parent, char *abs, size_t len);

/* The same choice over what is attached at pin_dir (and bound in m);
 * parent and parent_abs as for nm_runpoint_pick. */
int nm_runpoint_choose(const char *pin_dir, const struct nm_maps *m, const char *parent, const char *parent_abs,
		       __u32 policy_id, char *out, size_t len);

#endif
