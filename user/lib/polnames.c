// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* polnames.c - policy names by id from the pinned nm_policies (polnames.h). */
#include "polnames.h"
#include "svc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

int nm_polnames_open(struct nm_polnames *pn, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
	char path[4096];

	memset(pn->by_id, 0, sizeof(pn->by_id));
	snprintf(path, sizeof(path), "%s/nm_policies", pin_dir);
	pn->map_fd = bpf_obj_get_opts(path, &o);
	if (pn->map_fd < 0)
		return -errno;
	return nm_polnames_refresh(pn);
}

int nm_polnames_refresh(struct nm_polnames *pn)
{
	static char next[NM_MAX_POLICIES][NM_POLICY_NAME_LEN];
	int err = 0;

	if (pn->map_fd < 0)
		return -EBADF;
	pn->last_refresh_ms = nm_svc_now_ms();
	memset(next, 0, sizeof(next));
	for (__u32 id = 1; id < NM_MAX_POLICIES; id++) {
		struct nm_policy p;

		if (bpf_map_lookup_elem(pn->map_fd, &id, &p)) {
			if (errno == ENOENT)
				continue;
			err = -errno;
			break;
		}
		/* a record caught while rewritten reads again next time */
		if (!p.in_use || p.id != id || p.check != nm_policy_sum(&p))
			continue;
		memcpy(next[id], p.name, NM_POLICY_NAME_LEN);
		next[id][NM_POLICY_NAME_LEN - 1] = 0;
	}
	if (!err)
		memcpy(pn->by_id, next, sizeof(next));
	return err;
}

const char *nm_polnames_get(struct nm_polnames *pn, __u32 id)
{
	if (id == 0 || id >= NM_MAX_POLICIES)
		return NULL;
	if (!pn->by_id[id][0] && nm_svc_now_ms() - pn->last_refresh_ms >= 1000)
		nm_polnames_refresh(pn);
	return pn->by_id[id][0] ? pn->by_id[id] : NULL;
}

void nm_polnames_close(struct nm_polnames *pn)
{
	if (pn->map_fd >= 0)
		close(pn->map_fd);
	pn->map_fd = -1;
}
