// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* reload (signal nomoatd), oci-hook (bind a starting container) */
#include "cli.h"
#include "cgroup.h"
#include "err.h"
#include "oci.h"
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NM_PIDFILE_DEFAULT "/run/nomoat/nomoatd.pid"

int nm_cmd_reload(struct nm_cli *c, int argc, char **argv)
{
	const char *pidfile = NM_PIDFILE_DEFAULT;
	struct nm_opt opts[] = { { "pidfile", &pidfile, NULL }, { NULL, NULL, NULL } };
	int n, ret, pid = 0;
	FILE *f;

	ret = nm_opts_parse(argc, argv, opts, NULL, 0, &n, NULL, NULL);
	if (ret)
		return ret;
	f = fopen(pidfile, "re");
	if (!f)
		return nm_fail(NM_E_RUNTIME, -errno, "%s: %s: is nomoatd running?", pidfile, strerror(errno));
	if (fscanf(f, "%d", &pid) != 1 || pid <= 1)
		pid = 0;
	fclose(f);
	if (!pid)
		return nm_fail(NM_E_RUNTIME, -EINVAL, "%s holds no pid", pidfile);
	if (kill(pid, SIGHUP))
		return nm_fail(NM_E_RUNTIME, -errno, "nomoatd (pid %d): %s", pid, strerror(errno));
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_u64(&c->j, "reload_requested", pid);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("asked nomoatd (pid %d) to reload; its log says how it went\n", pid);
	}
	return 0;
}

/*
 * OCI hook (prestart / createRuntime): runc, crun and podman pass the
 * container's state on stdin.  With the annotation nomoat.policy=NAME the
 * container's cgroup is bound to NAME before its process starts.  Without
 * it nothing is done: the container's cgroup falls under its nearest bound
 * ancestor, or fails closed under an attach point.
 */
int nm_cmd_oci_hook(struct nm_cli *c, int argc, char **argv)
{
	char *buf = NULL, err[NM_OCI_ERR_LEN], rel[PATH_MAX], abs[PATH_MAX];
	struct nm_oci_state st;
	size_t len = 0, cap = 0;
	struct nm_maps m;
	__u64 cgid;
	__u32 id;
	int n, ret;

	ret = nm_opts_parse(argc, argv, NULL, NULL, 0, &n, NULL, NULL);
	if (ret)
		return ret;
	for (;;) {
		size_t r;

		if (len + 4096 > cap) {
			char *b = cap >= (1u << 20) ? NULL : realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!b) {
				free(buf);
				return nm_fail(NM_E_INPUT, -E2BIG, "oci-hook: the state on stdin is over 1 MiB");
			}
			buf = b;
		}
		r = fread(buf + len, 1, cap - len - 1, stdin);
		len += r;
		if (!r)
			break;
	}
	ret = nm_oci_parse(buf ? buf : "", len, &st, err, sizeof(err));
	free(buf);
	if (ret)
		return nm_fail(NM_E_INPUT, ret, "oci-hook: %s", err);
	if (!strcmp(st.status, "stopped")) {
		/* a poststop hook: the cgroup is gone, its binding is pruned */
		if (!c->json)
			printf("container %s: stopped, nothing to do\n", st.id);
		return 0;
	}
	if (!st.policy[0]) {
		if (!c->json)
			printf("container %s: no nomoat.policy annotation, nothing to bind\n", st.id);
		return 0;
	}
	ret = nm_oci_cgroup_of_pid(st.pid, rel, sizeof(rel));
	if (ret)
		return nm_fail(NM_E_RUNTIME, ret, "oci-hook: container %s (pid %d): cannot read its cgroup: %s", st.id,
			       st.pid, strerror(-ret));
	if (!rel[0])
		return nm_fail(NM_E_RUNTIME, -EINVAL,
			       "oci-hook: container %s (pid %d) is in the root cgroup: refusing to bind it", st.id,
			       st.pid);
	ret = nm_cgroup_resolve(rel, abs, sizeof(abs));
	if (!ret)
		ret = nm_cgroup_id(abs, &cgid);
	if (ret)
		return nm_fail(NM_E_RUNTIME, ret, "oci-hook: container %s: cgroup %s: %s", st.id, rel, strerror(-ret));
	ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	ret = nm_policy_lookup(&m, st.policy, &id, NULL);
	if (!ret)
		ret = nm_bind(&m, cgid, id);
	nm_maps_close(&m);
	if (ret)
		return ret;
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "container", st.id);
		nm_json_str(&c->j, "cgroup", abs);
		nm_json_str(&c->j, "policy", st.policy);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("container %s: cgroup %s bound to %s\n", st.id, abs, st.policy);
	}
	return 0;
}
