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

static void policy_free(struct nmp_policy *p)
{
	nm_allow_free(&p->allow);
	if (p->tab) {
		nm_synth_close(p->tab);
		free(p->tab);
		p->tab = NULL;
	}
}

static bool in_range(const struct nm_cidr *r, const uint8_t *addr)
{
	int full = r->prefixlen / 8, rest = r->prefixlen % 8;

	if (memcmp(addr, r->addr, (size_t)full))
		return false;
	return !rest || ((addr[full] ^ r->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int nmp_synth_name(const struct nmp_policy *cpol, const char *names_dir, int family, const uint8_t *addr,
		   char *name, size_t len)
{
	struct nmp_policy *pol = (struct nmp_policy *)cpol; /* the lazily opened table */
	uint32_t slot;

	if (!pol->synthetic || !in_range(family == 4 ? &pol->synth4 : &pol->synth6, addr))
		return 0;
	if (!pol->tab && nm_svc_now_ms() - pol->tab_tried_ms >= 1000) {
		struct nm_synth *t = calloc(1, sizeof(*t));

		if (t && !nm_synth_open(t, names_dir, pol->name, &pol->synth4, &pol->synth6, false)) {
			pol->tab = t;
		} else {
			free(t);
			pol->tab_tried_ms = nm_svc_now_ms();
		}
	}
	if (!pol->tab)
		return -ESTALE;
	if (!nm_synth_slot_of(pol->tab, family, addr, &slot) || nm_synth_name(pol->tab, slot, name, len))
		return -ENOENT;
	return 1;
}

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
		v[i].synthetic = cp->names_synthetic;
		v[i].synth4 = cp->synth4;
		v[i].synth6 = cp->synth6;
		for (size_t h = 0; h < cp->nhosts; h++) {
			err = nm_allow_add(&v[i].allow, cp->hosts[h].name, cp->hosts[h].port);
			if (err) {
				for (size_t k = 0; k <= i; k++)
					policy_free(&v[k]);
				free(v);
				nm_config_free(&cfg);
				return err;
			}
		}
	}
	/* swap in (the tables of synthetic names are opened again when needed) */
	for (size_t i = 0; i < ps->n; i++)
		policy_free(&ps->v[i]);
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
		policy_free(&ps->v[i]);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}
