/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Named network namespaces (the iproute2 convention, /run/netns/NAME). */
#ifndef NM_NETNS_H
#define NM_NETNS_H

/* Move the calling thread into network namespace NAME; -errno on failure.
 * Unlike `ip netns exec`, this leaves the mount namespace (and so the
 * cgroup2 mount below /sys) alone. */
int nm_netns_enter(const char *name);

#endif
