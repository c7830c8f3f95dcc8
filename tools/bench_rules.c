// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nomoat-bench: random prefixes, rule sets and the nftables ruleset file. */
#include "bench.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: small, fast, and the same sequence for the same seed. */
uint64_t bench_rand(struct bench_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- distinct prefixes ------------------------------------------------- */

/* Open addressing over indices into the prefix array (0 = empty slot). */
struct pset {
	uint32_t *slot;
	size_t mask;
	const struct nm_cidr *v;
};

static int pset_init(struct pset *s, size_t n, const struct nm_cidr *v)
{
	size_t cap = 64;

	while (cap < 2 * n)
		cap <<= 1;
	s->slot = calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
	s->v = v;
	return s->slot ? 0 : -ENOMEM;
}

static uint64_t cidr_hash(const struct nm_cidr *c)
{
	struct bench_rng r;
	uint64_t a, b;

	memcpy(&a, c->addr, 8);
	memcpy(&b, c->addr + 8, 8);
	r.s = a ^ (b * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)c->prefixlen << 56);
	return bench_rand(&r);
}

static bool cidr_eq(const struct nm_cidr *a, const struct nm_cidr *b)
{
	return a->prefixlen == b->prefixlen && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Add v[idx]; false if an equal prefix is there already. */
static bool pset_add(struct pset *s, uint32_t idx)
{
	size_t i = cidr_hash(&s->v[idx]) & s->mask;

	/* Never more than half full, so an empty slot is always found. */
	while (s->slot[i]) {
		if (cidr_eq(&s->v[s->slot[i] - 1], &s->v[idx]))
			return false;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = idx + 1;
	return true;
}

static void random_v4(struct bench_rng *rng, struct nm_cidr *c)
{
	uint64_t x = bench_rand(rng);

	memset(c, 0, sizeof(*c));
	c->family = 4;
	/* /20../32, as in real block lists: short prefixes would soon cover
	 * the whole space and leave an interval set (nftables) nothing to hold */
	c->prefixlen = 20 + (x >> 40) % 13;
	memcpy(c->addr, &x, 4);
	if (c->addr[0] == 127)
		c->addr[0] = 255; /* keep loopback out, without a retry loop */
	nm_cidr_mask(c);
}

static void random_v6(struct bench_rng *rng, struct nm_cidr *c)
{
	uint64_t a = bench_rand(rng), b = bench_rand(rng);

	memset(c, 0, sizeof(*c));
	c->family = 6;
	c->prefixlen = 16 + (bench_rand(rng) >> 40) % 113;
	memcpy(c->addr, &a, 8);
	memcpy(c->addr + 8, &b, 8);
	c->addr[0] = 0x20 | (c->addr[0] & 0x1f); /* 2000::/3 */
	nm_cidr_mask(c);
}

int bench_prefixes(int family, size_t n, struct bench_rng *rng, struct nm_cidr **out)
{
	/* Short lengths run out of distinct values (there are 255 /8s), so
	 * some draws repeat; 4n + 1024 draws are plenty and bound the loop. */
	size_t have = 0, tries = 4 * n + 1024;
	struct nm_cidr *v;
	struct pset s;

	v = calloc(n ? n : 1, sizeof(*v));
	if (!v || pset_init(&s, n, v)) {
		free(v);
		bench_err("out of memory for %zu prefixes", n);
		return -ENOMEM;
	}
	for (size_t t = 0; t < tries && have < n; t++) {
		if (family == 4)
			random_v4(rng, &v[have]);
		else
			random_v6(rng, &v[have]);
		if (pset_add(&s, have))
			have++;
	}
	free(s.slot);
	if (have < n) {
		bench_err("only %zu distinct IPv%d prefixes in %zu draws", have, family, tries);
		free(v);
		return -ENOSPC;
	}
	*out = v;
	return 0;
}

int bench_ruleset(const struct nm_cidr *v, size_t n, struct nm_ruleset *rs)
{
	struct nm_rule_entry e = { .action = NM_ACT_DENY };
	int err;

	memset(rs, 0, sizeof(*rs));
	for (size_t i = 0; i < n; i++) {
		e.cidr = v[i];
		err = nm_ruleset_add(rs, &e);
		if (err)
			goto fail;
	}
	memset(&e.cidr, 0, sizeof(e.cidr));
	e.cidr.family = 4;
	e.cidr.prefixlen = 32;
	e.cidr.addr[0] = 127;
	e.cidr.addr[3] = 1;
	e.action = NM_ACT_ALLOW;
	err = nm_ruleset_add(rs, &e);
	if (!err)
		return 0;
fail:
	bench_err("building the rule set: %s", nm_err_msg());
	nm_ruleset_free(rs);
	return err;
}

/* ---- nftables ---------------------------------------------------------- */

struct range {
	uint32_t lo, hi; /* host order, inclusive */
};

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The prefixes as sorted, disjoint, non-adjacent ranges (merged in place);
 * returns how many. */
static size_t merge_ranges(const struct nm_cidr *v, size_t n, struct range *r)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t a = (uint32_t)v[i].addr[0] << 24 | v[i].addr[1] << 16 | v[i].addr[2] << 8 | v[i].addr[3];
		uint32_t host = v[i].prefixlen ? (uint32_t)(((uint64_t)1 << (32 - v[i].prefixlen)) - 1) : ~0u;

		r[i].lo = a;
		r[i].hi = a | host;
	}
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m && (r[m - 1].hi == UINT32_MAX || r[i].lo <= r[m - 1].hi + 1)) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
			continue;
		}
		r[m++] = r[i];
	}
	return m;
}

static void put_ip(FILE *f, uint32_t a)
{
	fprintf(f, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void put_elements(FILE *f, const struct range *r, size_t m)
{
	fputs("\t\telements = {", f);
	for (size_t i = 0; i < m; i++) {
		fputs(i % 8 ? ", " : (i ? ",\n\t\t\t" : "\n\t\t\t"), f);
		put_ip(f, r[i].lo);
		if (r[i].hi != r[i].lo) {
			fputc('-', f);
			put_ip(f, r[i].hi);
		}
	}
	fputs("\n\t\t}\n", f);
}

int bench_nft_file(const char *path, const struct nm_cidr *v, size_t n, size_t *nranges)
{
	struct range *r = calloc(n ? n : 1, sizeof(*r));
	size_t m;
	FILE *f;
	int err = 0;

	if (!r) {
		bench_err("out of memory for %zu ranges", n);
		return -ENOMEM;
	}
	m = merge_ranges(v, n, r);
	f = fopen(path, "we");
	if (!f) {
		err = -errno;
		bench_err("%s: %s", path, strerror(errno));
		free(r);
		return err;
	}
	/* Declare-then-delete: replaces our table only, whatever is there. */
	fputs("table inet nmbench\ndelete table inet nmbench\n", f);
	fputs("table inet nmbench {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n", f);
	if (m)
		put_elements(f, r, m);
	fputs("\t}\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n"
	      "\t\tip daddr @s drop\n\t}\n}\n", f);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		bench_err("writing %s: %s", path, strerror(-err));
	free(r);
	*nranges = m;
	return err;
}
