// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * policy.c - which allowlist judges a connection.  The kernel names the
 * client's policy by id (struct nm_origin.policy_id); the pinned map
 * nm_policies gives the id's name; the policy file (the daemon's, parsed
 * by user/lib/config.c) gives the name's `hostname` lines and `ip-only`.
 *
 * The map is opened read-only once, before privileges are dropped; the
 * names are read at start, on SIGHUP, and again (at most once a second)
 * when a connection names an id not seen yet.  Where the kernel refuses an
 * unprivileged process the bpf() calls on an open map (before Linux 6.5
 * with kernel.unprivileged_bpf_disabled set) the names read at start stay
 * in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "config.h"
#include "proxy.h"

int nmp_policies_load(struct nmp_policies *ps, const char *config, FILE *errf)
{
	struct nm_config cfg;
	struct nmp_policy *v;
	int nerr = 0, err;

	err = nm_config_load(config, &cfg, errf, &nerr);
	if (err)
		return err;
	v = calloc(cfg.npolicies ? cfg.npolicies : 1, sizeof(*v));
	if (!v) {
		nm_config_free(&cfg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg.npolicies; i++) {
		const struct nm_cfg_policy *cp = &cfg.policies[i];

		snprintf(v[i].name, sizeof(v[i].name), "%s", cp->p.name);
		v[i].ip_only = cp->ip_only;
		for (size_t h = 0; h < cp->nhosts; h++) {
			err = nm_allow_add(&v[i].allow, cp->hosts[h].name, cp->hosts[h].port);
			if (err) {
				for (size_t k = 0; k <= i; k++)
					nm_allow_free(&v[k].allow);
				free(v);
				nm_config_free(&cfg);
				return err;
			}
		}
	}
	/* swap in */
	for (size_t i = 0; i < ps->n; i++)
		nm_allow_free(&ps->v[i].allow);
	free(ps->v);
	ps->v = v;
	ps->n = cfg.npolicies;
	nm_config_free(&cfg);
	return 0;
}

int nmp_policies_open_pins(struct nmp_policies *ps, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
	char path[4096];

	snprintf(path, sizeof(path), "%s/nm_policies", pin_dir);
	ps->map_fd = bpf_obj_get_opts(path, &o);
	if (ps->map_fd < 0)
		return -errno;
	return nmp_policies_refresh_ids(ps);
}

int nmp_policies_refresh_ids(struct nmp_policies *ps)
{
	static char next[NM_MAX_POLICIES][NM_POLICY_NAME_LEN];
	int err = 0;

	if (ps->map_fd < 0)
		return -EBADF;
	ps->last_refresh_ms = nmp_now_ms();
	memset(next, 0, sizeof(next));
	for (__u32 id = 1; id < NM_MAX_POLICIES; id++) {
		struct nm_policy p;

		if (bpf_map_lookup_elem(ps->map_fd, &id, &p)) {
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
		memcpy(ps->by_id, next, sizeof(next));
	return err;
}

const struct nmp_policy *nmp_policy_by_name(const struct nmp_policies *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].name, name))
			return &ps->v[i];
	return NULL;
}

const struct nmp_policy *nmp_policy_by_id(struct nmp_policies *ps, __u32 id, const char **name)
{
	*name = NULL;
	if (id == 0 || id >= NM_MAX_POLICIES)
		return NULL;
	if (!ps->by_id[id][0] && nmp_now_ms() - ps->last_refresh_ms >= 1000)
		nmp_policies_refresh_ids(ps);
	if (!ps->by_id[id][0])
		return NULL;
	*name = ps->by_id[id];
	return nmp_policy_by_name(ps, ps->by_id[id]);
}

void nmp_policies_free(struct nmp_policies *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		nm_allow_free(&ps->v[i].allow);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}
