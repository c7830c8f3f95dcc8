/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * allowlist.h - a policy's hostname allowlist and its matcher (pure, no
 * I/O).  Entries come from `hostname NAME[:PORT]` lines of the policy file
 * (user/lib/config.h), already lower case without a trailing dot:
 *
 *   pypi.org            exactly pypi.org, any port
 *   pypi.org:443        exactly pypi.org, port 443 only
 *   *.example.org       any name below example.org (a.example.org,
 *                       a.b.example.org), not example.org itself
 *   *.example.org:8443  the same, port 8443 only
 *
 * A name is matched after nmp_host_norm (hostname.h); the first exact
 * entry that fits wins, else the longest fitting wildcard (so the rule
 * reported is the most specific one).  An empty list allows nothing.
 */
#ifndef NMP_ALLOWLIST_H
#define NMP_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nmp_allow_entry {
	char name[254];  /* "pypi.org" or "*.example.org" */
	uint16_t port;   /* host order; 0 = any */
	bool wild;
	size_t len;      /* strlen(name) */
};

struct nmp_allowlist {
	struct nmp_allow_entry *v;
	size_t n, cap;
};

/* Add one entry (name as stored by the policy file: lower case, no
 * trailing dot, '*' only as a leading "*.").  0, -EINVAL for a name that
 * is empty, too long or has a misplaced '*', -ENOMEM. */
int nmp_allow_add(struct nmp_allowlist *al, const char *name, uint16_t port);

/* The entry allowing name (normalised) on port, or NULL. */
const struct nmp_allow_entry *nmp_allow_match(const struct nmp_allowlist *al, const char *name, uint16_t port);

/* "name" or "name:port"; returns buf. */
char *nmp_allow_str(const struct nmp_allow_entry *e, char *buf, size_t len);

void nmp_allow_free(struct nmp_allowlist *al);

#endif
