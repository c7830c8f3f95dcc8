// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cache.c - each policy's own cache of answers, and the lookups behind it:
 * one upstream query of (name, type) however many clients of the policy
 * wait for it.  Never shared across policies: a policy's cache is its own
 * object, and an answer is checked against its policy's rules before it is
 * kept (answer.c).
 *
 * An entry lives for the TTL the answer was given (capped at --max-ttl);
 * NXDOMAIN and no-data answers for --neg-ttl; a refusal of a rebinding
 * answer as long as the answer would have; SERVFAIL not at all.  The
 * least recently used entries go first when a cache is full; one with
 * clients waiting never goes.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"

struct cent {
	char name[NM_HOST_MAX + 1];
	uint16_t qtype;
	bool pending, doomed;
	struct nmd_answer a;
	long long expires_ms;
	struct nmd_policy *pol;
	struct nmd_cache *c;
	struct nmd_req *waiters, **wtail;
	struct cent *hnext;
	struct cent *lprev, *lnext; /* most recently used first */
};

struct nmd_cache {
	unsigned cap, n, tabsz;
	struct cent **tab;
	struct cent *head, *tail;
};

struct nmd_cache *nmd_cache_new(unsigned cap)
{
	struct nmd_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cap = cap ? cap : 1;
	for (c->tabsz = 64; c->tabsz < 2 * c->cap; c->tabsz <<= 1)
		;
	c->tab = calloc(c->tabsz, sizeof(*c->tab));
	if (!c->tab) {
		free(c);
		return NULL;
	}
	return c;
}

static unsigned hkey(const struct nmd_cache *c, const char *name, uint16_t qtype)
{
	uint32_t h = 0x811c9dc5 ^ qtype;

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 0x01000193;
	}
	return h & (c->tabsz - 1);
}

static void lru_unlink(struct nmd_cache *c, struct cent *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		c->head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		c->tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void lru_front(struct nmd_cache *c, struct cent *e)
{
	e->lnext = c->head;
	e->lprev = NULL;
	if (c->head)
		c->head->lprev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

/* Out of the hash and the list (the entry itself stays). */
static void detach(struct nmd_cache *c, struct cent *e)
{
	struct cent **pp = &c->tab[hkey(c, e->name, e->qtype)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(c, e);
	c->n--;
}

static struct cent *find(struct nmd_cache *c, const char *name, uint16_t qtype)
{
	for (struct cent *e = c->tab[hkey(c, name, qtype)]; e; e = e->hnext)
		if (e->qtype == qtype && !strcmp(e->name, name))
			return e;
	return NULL;
}

static void evict(struct nmd_cache *c)
{
	for (struct cent *e = c->tail; e && c->n >= c->cap;) {
		struct cent *prev = e->lprev;

		if (!e->pending) {
			detach(c, e);
			free(e);
		}
		e = prev;
	}
}

void nmd_cache_flush(struct nmd_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->tabsz; i++) {
		while (c->tab[i]) {
			struct cent *e = c->tab[i];

			detach(c, e);
			if (e->pending)
				e->doomed = true; /* freed when its lookup ends */
			else
				free(e);
		}
	}
}

void nmd_cache_free(struct nmd_cache *c)
{
	if (!c)
		return;
	nmd_cache_flush(c);
	free(c->tab);
	free(c);
}

static void lookup_done(struct nmd *S, void *arg, const struct nmd_answer *a)
{
	struct cent *e = arg;
	struct nmd_req *w = e->waiters;
	long long now = nm_svc_now_ms();
	unsigned life;

	e->a = *a;
	nmd_answer_check(S, e->pol, e->qtype, &e->a);
	e->pending = false;
	e->waiters = NULL;
	e->wtail = &e->waiters;
	if (e->a.rcode == NMD_R_SERVFAIL)
		life = 0;
	else if (e->a.rcode == NMD_R_NOERROR && e->a.naddrs)
		life = e->a.ttl;
	else if (e->a.rcode == NMD_R_REFUSED)
		life = e->a.ttl ? e->a.ttl : S->o.neg_ttl;
	else
		life = S->o.neg_ttl;
	e->expires_ms = now + (long long)life * 1000;
	while (w) {
		struct nmd_req *next = w->next;

		w->next = NULL;
		nmd_reply_answer(S, w, &e->a, e->a.ttl);
		w = next;
	}
	if (e->doomed)
		free(e);
	else if (!life) {
		detach(e->c, e);
		free(e);
	}
}

void nmd_lookup(struct nmd *S, struct nmd_req *r)
{
	struct nmd_cache *c = r->pol->cache;
	struct cent *e = find(c, r->name, r->q.qtype);
	long long now = nm_svc_now_ms();

	if (e && !e->pending && now < e->expires_ms) {
		long long left = (e->expires_ms - now + 999) / 1000;

		lru_unlink(c, e);
		lru_front(c, e);
		S->st.cached++;
		nmd_reply_answer(S, r, &e->a, left < e->a.ttl ? (uint32_t)left : e->a.ttl);
		return;
	}
	/* it waits: an in-flight slot, the sandbox's and one of all */
	if (S->inflight >= S->o.inflight || (r->has_origin && !nmd_limits_take(S->lim, r->origin.cgroup_id))) {
		nmd_reply(S, r, NMD_R_REFUSED, NULL, 0, 0, NMD_RS_BUSY,
			  S->inflight >= S->o.inflight ? "queries in flight: all" : "queries in flight: this sandbox");
		return;
	}
	r->counted = true;
	S->inflight++;
	if (e && e->pending) {
		*e->wtail = r;
		e->wtail = &r->next;
		return;
	}
	if (!e) {
		if (c->n >= c->cap)
			evict(c);
		e = calloc(1, sizeof(*e));
		if (!e) {
			nmd_reply(S, r, NMD_R_SERVFAIL, NULL, 0, 0, NMD_RS_UPSTREAM_FAILED, "out of memory");
			return;
		}
		memcpy(e->name, r->name, sizeof(e->name));
		e->qtype = r->q.qtype;
		e->pol = r->pol;
		e->c = c;
		e->hnext = c->tab[hkey(c, e->name, e->qtype)];
		c->tab[hkey(c, e->name, e->qtype)] = e;
		c->n++;
	} else {
		lru_unlink(c, e);
	}
	lru_front(c, e);
	e->pending = true;
	e->waiters = r;
	e->wtail = &r->next;
	S->st.upstream++;
	nmd_upstream_query(S, e->name, e->qtype, lookup_done, e);
}
