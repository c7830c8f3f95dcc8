// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* allowlist.c - hostname allowlist entries and matching (allowlist.h). */
#include "allowlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nmp_allow_add(struct nmp_allowlist *al, const char *name, uint16_t port)
{
	size_t len = strlen(name);
	struct nmp_allow_entry *e;
	bool wild = len >= 2 && name[0] == '*' && name[1] == '.';

	if (!len || len >= sizeof(e->name) || (wild && len < 3) || strchr(name + (wild ? 1 : 0), '*'))
		return -EINVAL;
	if (al->n == al->cap) {
		size_t cap = al->cap ? al->cap * 2 : 8;
		struct nmp_allow_entry *v = realloc(al->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		al->v = v;
		al->cap = cap;
	}
	e = &al->v[al->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, len + 1);
	e->len = len;
	e->port = port;
	e->wild = wild;
	return 0;
}

/* Does name lie strictly below the wildcard's suffix ("*.x.org": ".x.org")? */
static bool below(const struct nmp_allow_entry *e, const char *name, size_t nlen)
{
	size_t slen = e->len - 1; /* ".x.org" */

	return nlen > slen && !memcmp(name + nlen - slen, e->name + 1, slen);
}

const struct nmp_allow_entry *nmp_allow_match(const struct nmp_allowlist *al, const char *name, uint16_t port)
{
	const struct nmp_allow_entry *best = NULL;
	size_t nlen = strlen(name);

	if (!nlen)
		return NULL;
	for (size_t i = 0; i < al->n; i++) {
		const struct nmp_allow_entry *e = &al->v[i];

		if (e->port && e->port != port)
			continue;
		if (!e->wild) {
			if (e->len == nlen && !memcmp(e->name, name, nlen))
				return e;
		} else if (below(e, name, nlen) && (!best || e->len > best->len)) {
			best = e;
		}
	}
	return best;
}

char *nmp_allow_str(const struct nmp_allow_entry *e, char *buf, size_t len)
{
	if (e->port)
		snprintf(buf, len, "%s:%u", e->name, e->port);
	else
		snprintf(buf, len, "%s", e->name);
	return buf;
}

void nmp_allow_free(struct nmp_allowlist *al)
{
	free(al->v);
	memset(al, 0, sizeof(*al));
}
