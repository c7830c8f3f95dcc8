/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup v2: finding the mount, resolving paths to ids, making cgroups. */
#ifndef NM_CGROUP_H
#define NM_CGROUP_H

#include <stddef.h>
#include <linux/types.h>

/* The cgroup2 mount point, read from /proc/self/mountinfo (hybrid hosts
 * mount it at /sys/fs/cgroup/unified).  -ENOENT when there is none. */
int nm_cgroup2_mount(char *buf, size_t len);

/* Resolve a user-given cgroup: an absolute path under the mount, or a path
 * relative to the mount ("agents/a1" or "/agents/a1" both work when not
 * itself under the mount).  Fills the absolute path; -ENOENT if missing,
 * -ENOTDIR / -EINVAL when it is not a cgroup2 directory. */
int nm_cgroup_resolve(const char *user_path, char *abs, size_t len);

/* nm_cgroup_resolve with the failure said (nm_fail): "cgroup 'P': " and
 * missing (ENOENT, the reason given), "not on a cgroup v2 mount" (EINVAL) or
 * the errno's text; NM_E_INPUT, or NM_E_RUNTIME when there is no cgroup v2
 * mount at all. */
int nm_cgroup_find(const char *user_path, char *abs, size_t len, const char *missing);

/* The cgroup id (what bpf_get_current_cgroup_id returns): the inode of the
 * directory, via name_to_handle_at.  0 and -errno on failure. */
int nm_cgroup_id(const char *abs_path, __u64 *id);

/* Find the path of a cgroup id below the mount (a walk); -ENOENT if gone. */
int nm_cgroup_path_of(__u64 id, char *abs, size_t len);

/* mkdir a child cgroup; -EEXIST if present. */
int nm_cgroup_create(const char *abs_path);

/* Move a pid (0: the caller) into a cgroup. */
int nm_cgroup_enter(const char *abs_path, int pid);

/* Kill every process in the cgroup (cgroup.kill, or SIGKILL to each pid on
 * kernels without it), wait until it is empty (bounded), and rmdir it. */
int nm_cgroup_destroy(const char *abs_path);

#endif
