/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OCI runtime hooks (`nomoat oci-hook`): the container state document that
 * runc, crun and podman/conmon write to a hook's stdin, and the cgroup of
 * the container's process.
 *
 * State document (runtime-spec, "State"):
 *   {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 4242,
 *    "bundle": "/run/c1", "annotations": {"nomoat.policy": "agents"}}
 */
#ifndef NM_OCI_H
#define NM_OCI_H

#include <limits.h>
#include <stddef.h>

#include "nomoat.h"

#define NM_OCI_ANNOTATION "nomoat.policy"
#define NM_OCI_ID_LEN     256 /* ids up to 255 bytes */
#define NM_OCI_STATUS_LEN 32
#define NM_OCI_VERSION_LEN 64
#define NM_OCI_ERR_LEN    256 /* enough for any nm_oci_parse message */

struct nm_oci_state {
	char oci_version[NM_OCI_VERSION_LEN]; /* "" when absent */
	char id[NM_OCI_ID_LEN];
	char status[NM_OCI_STATUS_LEN];       /* creating, created, running, stopped, ... */
	int pid;                              /* > 0; 0 only when status is "stopped" */
	char bundle[PATH_MAX];                /* absolute */
	char policy[NM_POLICY_NAME_LEN];      /* annotation nomoat.policy, "" if absent */
};

/*
 * Parse a state document (json[0..len), at most 1 MiB).  Required: "id"
 * (non-empty string), "status" (non-empty string), "bundle" (absolute
 * path), and "pid", a positive integer, except with status "stopped" where
 * it may be absent or 0 (runc omits it then).  Optional: "ociVersion"
 * (string), "annotations" (object, every value a string); a present
 * "nomoat.policy" must be a valid policy name (nm_parse_policy_name).
 * Strings must not contain NUL; unknown members are ignored.
 *
 * 0 and *st filled, or -EINVAL with one line in err (no newline), e.g.
 *   "malformed JSON at byte 17: unexpected end of input, expected ',' or '}'"
 *   "state: missing \"pid\""
 *   "state: \"pid\" is not a positive integer (got a string)"
 *   "state: annotation \"nomoat.policy\" is not a string (got a number)"
 * (-ENOMEM when memory runs out).  *st is written only on success.
 */
int nm_oci_parse(const char *json, size_t len, struct nm_oci_state *st, char *err, size_t errlen);

/*
 * The cgroup v2 path of a process, relative to the cgroup2 mount, from the
 * "0::/path" line of /proc/PID/cgroup (present on unified and hybrid hosts
 * alike): "/a/b" gives "a/b", the root cgroup gives "".  Join it to
 * nm_cgroup2_mount() for the directory.  The path is as the caller's
 * cgroup namespace sees it: run in the host's (initial) namespace.
 *
 * 0, or -EINVAL (pid <= 0), -ESRCH (no such process), -ENOENT (no v2 line:
 * a v1-only host; or the cgroup was removed), -EXDEV (the process is
 * outside the caller's cgroup namespace: "/../x"), -ENAMETOOLONG, -errno.
 */
int nm_oci_cgroup_of_pid(int pid, char *rel, size_t len);

#endif
