// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ptable.c - a read-only prefix table over a ruleset (ptable.h). */
#include "ptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pt_ent {
	__u8 addr[16]; /* masked to the prefix */
	const struct nm_rule_entry *rule;
	size_t order;  /* position in the ruleset: the later wins */
};

/* All entries of one family sorted by (prefix length, address); lens[] the
 * lengths present, longest first, with where each starts. */
struct pt_fam {
	struct pt_ent *v;
	size_t n;
	struct {
		int len;
		size_t start, count;
	} lens[129];
	int nlens;
};

struct nm_ptable {
	struct pt_fam f[2]; /* IPv4, IPv6 */
};

static int fam_bytes(int family)
{
	return family == 4 ? 4 : 16;
}

static void mask(__u8 *a, int len, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		int keep = len - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (__u8)(0xff << (8 - keep));
	}
}

/* qsort's comparison needs the prefix length: it is kept in rule. */
static int cmp_ent(const void *pa, const void *pb)
{
	const struct pt_ent *a = pa, *b = pb;
	int d = (int)a->rule->cidr.prefixlen - (int)b->rule->cidr.prefixlen;

	if (d)
		return d;
	d = memcmp(a->addr, b->addr, 16);
	if (d)
		return d;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int build_fam(const struct nm_ruleset *rs, int family, struct pt_fam *f)
{
	size_t n = 0, w = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->v[i].cidr.family == family && !rs->v[i].cidr.port;
	f->v = calloc(n ? n : 1, sizeof(*f->v));
	if (!f->v)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n; i++) {
		const struct nm_rule_entry *e = &rs->v[i];
		struct pt_ent *p;

		if (e->cidr.family != family || e->cidr.port)
			continue;
		p = &f->v[w++];
		memcpy(p->addr, e->cidr.addr, 16);
		mask(p->addr, e->cidr.prefixlen, fam_bytes(family));
		p->rule = e;
		p->order = i;
	}
	qsort(f->v, n, sizeof(*f->v), cmp_ent);
	/* one entry per (length, address): the last of equal ones */
	w = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && f->v[i + 1].rule->cidr.prefixlen == f->v[i].rule->cidr.prefixlen &&
		    !memcmp(f->v[i + 1].addr, f->v[i].addr, 16))
			continue;
		f->v[w++] = f->v[i];
	}
	f->n = w;
	/* lengths present, longest first */
	f->nlens = 0;
	for (size_t i = w; i-- > 0;) {
		int len = f->v[i].rule->cidr.prefixlen;

		if (f->nlens && f->lens[f->nlens - 1].len == len) {
			f->lens[f->nlens - 1].start = i;
			f->lens[f->nlens - 1].count++;
			continue;
		}
		f->lens[f->nlens].len = len;
		f->lens[f->nlens].start = i;
		f->lens[f->nlens].count = 1;
		f->nlens++;
	}
	return 0;
}

int nm_ptable_build(const struct nm_ruleset *rs, struct nm_ptable **out)
{
	struct nm_ptable *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	if (build_fam(rs, 4, &t->f[0]) || build_fam(rs, 6, &t->f[1])) {
		nm_ptable_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

const struct nm_rule_entry *nm_ptable_lookup(const struct nm_ptable *t, int family, const __u8 *addr)
{
	const struct pt_fam *f = &t->f[family == 4 ? 0 : 1];
	int bytes = fam_bytes(family);

	for (int l = 0; l < f->nlens; l++) {
		size_t lo = f->lens[l].start, hi = lo + f->lens[l].count;
		__u8 key[16] = { 0 };

		memcpy(key, addr, (size_t)bytes);
		mask(key, f->lens[l].len, bytes);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int d = memcmp(f->v[mid].addr, key, 16);

			if (!d)
				return f->v[mid].rule;
			if (d < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
}

void nm_ptable_free(struct nm_ptable *t)
{
	if (!t)
		return;
	free(t->f[0].v);
	free(t->f[1].v);
	free(t);
}
