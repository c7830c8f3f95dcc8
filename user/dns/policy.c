// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * policy.c - what nomoat-dns knows of each policy, from the policy file
 * (the daemon's, parsed by user/lib/config.c): its `hostname` allowlist,
 * its rules and default (for the answer check, user/lib/ptable.c), names
 * real or synthetic (and the table of synthetic names, user/lib/synth.c),
 * whether it has proxy endpoints; and the upstream resolvers.
 *
 * A reload (SIGHUP) reads the file whole first: an error keeps everything
 * as it was.  Then each policy is updated where it stands (a query in
 * flight keeps pointing at it); a policy the file no longer has stays
 * allocated but answers nothing (unknown-policy); caches are emptied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

struct staged {
	struct nm_allowlist allow;
	struct nm_ptable *pt;
	struct nm_ruleset rules;
};

static void staged_free(struct staged *s)
{
	nm_allow_free(&s->allow);
	nm_ptable_free(s->pt);
	nm_ruleset_free(&s->rules);
	memset(s, 0, sizeof(*s));
}

static bool same_ranges(const struct nm_synth *t, const struct nm_cfg_policy *cp)
{
	return t->fd >= 0 && !memcmp(&t->r4, &cp->synth4, sizeof(t->r4)) && !memcmp(&t->r6, &cp->synth6, sizeof(t->r6));
}

static void synth_update(struct nmd *S, struct nmd_policy *p, const struct nm_cfg_policy *cp)
{
	int err;

	if (!cp->names_synthetic) {
		nm_synth_close(&p->synth);
		p->synthetic = false;
		return;
	}
	p->synthetic = true;
	if (same_ranges(&p->synth, cp))
		return;
	nm_synth_close(&p->synth);
	err = nm_synth_open(&p->synth, S->o.names_dir, p->name, &cp->synth4, &cp->synth6, true);
	if (err)
		fprintf(stderr,
			"nomoat-dns: policy %s: the table of synthetic names in %s: %s (its names get SERVFAIL)%s\n",
			p->name, S->o.names_dir, strerror(-err),
			err == -EBUSY ? ": another nomoat-dns holds it" : "");
}

int nmd_policies_load(struct nmd *S, FILE *errf)
{
	struct nmd_policies *ps = &S->pols;
	struct nm_config cfg;
	struct staged *sg;
	int nerr = 0, err = 0;

	err = nm_config_load(S->o.config, &cfg, errf, &nerr);
	if (err)
		return err;
	sg = calloc(cfg.npolicies ? cfg.npolicies : 1, sizeof(*sg));
	if (!sg) {
		nm_config_free(&cfg);
		return -ENOMEM;
	}
	/* 1. everything that can fail, aside */
	for (size_t i = 0; i < cfg.npolicies && !err; i++) {
		struct nm_cfg_policy *cp = &cfg.policies[i];

		for (size_t h = 0; h < cp->nhosts && !err; h++)
			err = nm_allow_add(&sg[i].allow, cp->hosts[h].name, cp->hosts[h].port);
		/* the rules move over: the table points into them */
		sg[i].rules = cp->rules;
		memset(&cp->rules, 0, sizeof(cp->rules));
		if (!err)
			err = nm_ptable_build(&sg[i].rules, &sg[i].pt);
	}
	if (!err && ps->n + cfg.npolicies > NM_MAX_POLICIES) {
		size_t fresh = 0;

		for (size_t i = 0; i < cfg.npolicies; i++)
			fresh += !nmd_policy_by_name(S, cfg.policies[i].p.name);
		if (ps->n + fresh > NM_MAX_POLICIES)
			err = -ENOSPC;
	}
	if (err) {
		for (size_t i = 0; i < cfg.npolicies; i++)
			staged_free(&sg[i]);
		free(sg);
		nm_config_free(&cfg);
		return err;
	}
	/* 2. in place */
	for (size_t i = 0; i < ps->n; i++) {
		ps->v[i]->live = false;
		nmd_cache_flush(ps->v[i]->cache);
	}
	for (size_t i = 0; i < cfg.npolicies; i++) {
		const struct nm_cfg_policy *cp = &cfg.policies[i];
		struct nmd_policy *p = nmd_policy_by_name(S, cp->p.name);

		if (!p) {
			p = calloc(1, sizeof(*p));
			if (p)
				p->cache = nmd_cache_new(S->o.cache);
			if (!p || !p->cache) {
				free(p);
				fprintf(stderr, "nomoat-dns: policy %s: out of memory (it answers nothing)\n",
					cp->p.name);
				staged_free(&sg[i]);
				continue;
			}
			snprintf(p->name, sizeof(p->name), "%s", cp->p.name);
			p->synth.fd = -1;
			ps->v[ps->n++] = p;
		}
		nm_allow_free(&p->allow);
		nm_ptable_free(p->pt);
		nm_ruleset_free(&p->rules);
		p->allow = sg[i].allow;
		p->pt = sg[i].pt;
		p->rules = sg[i].rules;
		p->default_action = cp->p.default_action;
		p->has_proxy4 = cp->p.proxy4.port != 0;
		p->has_proxy6 = cp->p.proxy6.port != 0;
		synth_update(S, p, cp);
		p->live = true;
	}
	memcpy(ps->up, cfg.dns_upstream, sizeof(ps->up));
	ps->nup = cfg.ndns_upstream;
	free(sg);
	nm_config_free(&cfg);
	return 0;
}

struct nmd_policy *nmd_policy_by_name(struct nmd *S, const char *name)
{
	for (size_t i = 0; i < S->pols.n; i++)
		if (!strcmp(S->pols.v[i]->name, name))
			return S->pols.v[i];
	return NULL;
}

void nmd_policies_free(struct nmd *S)
{
	for (size_t i = 0; i < S->pols.n; i++) {
		struct nmd_policy *p = S->pols.v[i];

		nm_allow_free(&p->allow);
		nm_ptable_free(p->pt);
		nm_ruleset_free(&p->rules);
		nm_synth_close(&p->synth);
		nmd_cache_free(p->cache);
		free(p);
	}
	S->pols.n = 0;
	nm_polnames_close(&S->pols.names);
}
