/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * polnames.h - policy names by the kernel's policy id, for the services
 * nomoat redirects to (nomoat-proxy, nomoat-dns): the kernel names a
 * client's policy by id (struct nm_origin.policy_id), the pinned map
 * nm_policies gives the id's name, and the policy file gives the name's
 * settings.
 *
 * The map is opened read-only once, before privileges are dropped; the
 * names are read at start, on request (SIGHUP), and again, at most once a
 * second, when an id not seen yet is asked for.  Where the kernel refuses
 * an unprivileged process the bpf() calls on an open map (before Linux 6.5
 * with kernel.unprivileged_bpf_disabled set) the names read at start stay.
 */
#ifndef NM_POLNAMES_H
#define NM_POLNAMES_H

#include <linux/types.h>

#include "nomoat.h"

struct nm_polnames {
	char by_id[NM_MAX_POLICIES][NM_POLICY_NAME_LEN];
	int map_fd;               /* read-only, -1 when not open */
	long long last_refresh_ms; /* nm_svc_now_ms() */
};

/* Open <pin_dir>/nm_policies read-only and read the names.  0 or -errno
 * (map_fd stays -1). */
int nm_polnames_open(struct nm_polnames *pn, const char *pin_dir);
/* Read the id -> name table again (0, or -errno; the old table stays). */
int nm_polnames_refresh(struct nm_polnames *pn);
/* The name of a policy id, or NULL (refreshed at most once a second for an
 * id not known yet). */
const char *nm_polnames_get(struct nm_polnames *pn, __u32 id);
void nm_polnames_close(struct nm_polnames *pn);

#endif
