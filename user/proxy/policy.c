// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * policy.c - which allowlist judges a connection.  The kernel names the
 * client's policy by id, user/lib/polnames.c gives the id's name, and the
 * policy file (the daemon's, parsed by user/lib/config.c) gives the name's
 * `hostname` lines and `ip-only`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const struct nmp_policy *nmp_policy_by_name(const struct nmp_policies *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].name, name))
			return &ps->v[i];
	return NULL;
}

const struct nmp_policy *nmp_policy_by_id(struct nmp_policies *ps, __u32 id, const char **name)
{
	*name = nm_polnames_get(&ps->names, id);
	return *name ? nmp_policy_by_name(ps, *name) : NULL;
}

void nmp_policies_free(struct nmp_policies *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		nm_allow_free(&ps->v[i].allow);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}
