// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * limits.c - connections per client.  A client is its cgroup when the
 * kernel redirected it (the nm_origin record names it: one sandbox, however
 * many addresses it uses), else its source address.  A hash table of
 * counters, an entry only while the client has a connection, so memory
 * follows the live connections.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define NBUCKETS 4096

struct ent {
	struct ent *next;
	struct nmp_client_key k;
	unsigned n;
};

struct nmp_limits {
	struct ent *b[NBUCKETS];
	unsigned max;
};

static unsigned hash(const struct nmp_client_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	unsigned h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % NBUCKETS;
}

struct nmp_limits *nmp_limits_new(unsigned max_per_client)
{
	struct nmp_limits *l = calloc(1, sizeof(*l));

	if (l)
		l->max = max_per_client;
	return l;
}

bool nmp_limits_take(struct nmp_limits *l, const struct nmp_client_key *k)
{
	struct ent **pp = &l->b[hash(k)], *e;

	for (e = *pp; e; e = e->next)
		if (!memcmp(&e->k, k, sizeof(*k)))
			break;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return false;
		e->k = *k;
		e->next = *pp;
		*pp = e;
	}
	if (e->n >= l->max)
		return false;
	e->n++;
	return true;
}

void nmp_limits_give(struct nmp_limits *l, const struct nmp_client_key *k)
{
	struct ent **pp = &l->b[hash(k)], *e;

	for (; (e = *pp); pp = &e->next) {
		if (memcmp(&e->k, k, sizeof(*k)))
			continue;
		if (--e->n == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}

void nmp_limits_free(struct nmp_limits *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct ent *e = l->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(l);
}
