/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Load, pin, attach, detach and tear down nomoat's kernel side. */
#ifndef NM_LOADER_H
#define NM_LOADER_H

#include <stdbool.h>
#include <linux/types.h>
#include "probe.h"

/* Probe, then load the programs and maps and pin them under DIR.  If DIR
 * already holds a loaded nomoat, adopt it: nothing is replaced, *adopted is
 * set.  A failed load leaves nothing behind. */
int nm_load(const char *dir, bool *adopted, bool verbose);
/* The same with the size of the redirected-flow table (0: NM_MAX_FLOWS);
 * it applies to a fresh load only. */
int nm_load_flows(const char *dir, bool *adopted, bool verbose, unsigned max_flows);

/* Detach every link, unpin every program and map, remove DIR. */
int nm_unload(const char *dir);

/* Attach the programs at a cgroup (all, or just the getsockopt answer for a
 * proxy's cgroup) with pinned bpf_links.  Already attached: *adopted.
 * Refuses a cgroup inside or above another attach point (the programs would
 * judge each connect twice).  All or nothing. */
int nm_attach(const char *dir, const char *cgroup_abs, bool origdst_only, bool *adopted);
int nm_detach(const char *dir, const char *cgroup_abs);

struct nm_attachment {
	__u64 cgroup_id;
	char  path[4096];  /* "" when the cgroup is gone */
	bool  origdst_only;
	int   nlinks;
};

/* Call fn for every attach point; stops at a non-zero return. */
int nm_attach_foreach(const char *dir, int (*fn)(const struct nm_attachment *, void *), void *ctx);

#endif
