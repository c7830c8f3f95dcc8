// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/ptable.c, the read-only prefix table over a
 * ruleset: longest match in IPv4 and IPv6, host:port rules left out, the
 * later of equal targets, /0 rules, no match, and a large random ruleset
 * checked against a linear scan (cmocka). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nomoat.h"
#include "policy.h"
#include "ptable.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	struct nm_ruleset rs;
	struct nm_ptable *t;
};

static void build(struct fx *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(nm_ruleset_parse(text, "test", &f->rs), 0);
	assert_int_equal(nm_ptable_build(&f->rs, &f->t), 0);
	assert_non_null(f->t);
}

static void done(struct fx *f)
{
	nm_ptable_free(f->t);
	nm_ruleset_free(&f->rs);
}

/* The rule for a textual address: its index in the ruleset, -1 for none.
 * The address is given in a buffer of exactly its size (4 or 16 bytes), so
 * that ASan sees any read past it. */
static int lookup(const struct fx *f, const char *addr)
{
	const struct nm_rule_entry *e;
	int family = strchr(addr, ':') ? 6 : 4;
	size_t n = family == 4 ? 4 : 16;
	uint8_t tmp[16], *a = malloc(n);

	assert_non_null(a);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, addr, tmp) != 1)
		fail_msg("bad address '%s' in the test", addr);
	memcpy(a, tmp, n);
	e = nm_ptable_lookup(f->t, family, a);
	free(a);
	if (!e)
		return -1;
	assert_true(e >= f->rs.v && e < f->rs.v + f->rs.n);
	return (int)(e - f->rs.v);
}

struct want {
	const char *addr;
	int rule;
};

static void expect(const struct fx *f, const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int got = lookup(f, w[i].addr);

		if (got != w[i].rule)
			fail_msg("%s: rule %d, want %d", w[i].addr, got, w[i].rule);
	}
}

static void test_longest_v4(void **state)
{
	static const struct want w[] = {
		{ "10.2.0.1", 0 },      { "10.255.255.255", 0 }, { "10.0.0.0", 0 },     { "10.1.9.9", 1 },
		{ "10.1.0.0", 1 },      { "10.1.255.255", 1 },   { "10.1.2.9", 2 },     { "10.1.2.0", 2 },
		{ "10.1.2.255", 2 },    { "10.1.2.3", 3 },       { "10.1.2.2", 2 },     { "10.1.2.4", 2 },
		{ "11.0.0.1", -1 },     { "9.255.255.255", -1 }, { "192.168.1.1", 4 },  { "192.168.0.255", -1 },
		{ "192.168.1.127", 4 }, { "192.168.1.128", 5 },  { "192.168.1.255", 5 }, { "0.0.0.0", -1 },
		{ "169.254.169.254", 6 },
	};
	struct fx f;

	(void)state;
	build(&f, "deny 10.0.0.0/8 # private\n"
		  "allow 10.1.0.0/16\n"
		  "redirect 10.1.2.0/24\n"
		  "deny 10.1.2.3\n"
		  "allow 192.168.1.0/24\n"
		  "deny 192.168.1.128/25\n"
		  "deny 169.254.169.254 # metadata\n");
	assert_int_equal(f.rs.n, 7);
	expect(&f, w, ARRAY_SIZE(w));
	/* what the lookup gives is the rule itself */
	assert_int_equal(f.rs.v[lookup(&f, "10.3.3.3")].action, NM_ACT_DENY);
	assert_string_equal(f.rs.v[lookup(&f, "10.3.3.3")].reason, "private");
	assert_int_equal(f.rs.v[lookup(&f, "10.1.3.3")].action, NM_ACT_ALLOW);
	assert_int_equal(f.rs.v[lookup(&f, "10.1.2.200")].action, NM_ACT_REDIRECT);
	/* IPv4 rules are not IPv6 rules, not even mapped */
	assert_int_equal(lookup(&f, "::ffff:10.1.2.3"), -1);
	assert_int_equal(lookup(&f, "a00::"), -1);
	done(&f);
}

static void test_longest_v6(void **state)
{
	static const struct want w[] = {
		{ "fd00::1", 0 },       { "fdff:ffff::", 0 },  { "fd00:1::2", 1 },     { "fd00:1:ffff::", 1 },
		{ "fd00:1::1", 2 },     { "fd00:1::", 1 },     { "fe80::1", 3 },       { "fe80:0:0:1::1", -1 },
		{ "fc00::1", -1 },      { "::1", 4 },          { "::", -1 },           { "::2", -1 },
		{ "2001:db8::1", 6 },   { "2001:db8:0:ff::", 5 }, { "2001:db8:1::", -1 }, { "2001:db8:0:7f::", 6 },
		{ "2001:db8:0:80::", 5 },
	};
	struct fx f;

	(void)state;
	build(&f, "deny fd00::/8\n"
		  "allow fd00:1::/32\n"
		  "deny fd00:1::1\n"
		  "deny fe80::/64\n"
		  "deny ::1\n"
		  "allow 2001:db8::/48\n"
		  "deny 2001:db8::/57\n"
		  "deny 10.0.0.0/8\n");
	expect(&f, w, ARRAY_SIZE(w));
	assert_int_equal(lookup(&f, "10.0.0.1"), 7);
	assert_int_equal(lookup(&f, "253.0.0.1"), -1); /* fd.. as IPv4 */
	done(&f);
}

/* An IPv4-mapped rule is an IPv4 rule, looked up with 4 bytes. */
static void test_mapped_rule(void **state)
{
	static const struct want w[] = { { "1.2.3.4", 0 }, { "1.2.3.5", -1 }, { "::ffff:1.2.3.4", -1 } };
	struct fx f;

	(void)state;
	build(&f, "deny ::ffff:1.2.3.4\n");
	assert_int_equal(f.rs.v[0].cidr.family, 4);
	expect(&f, w, ARRAY_SIZE(w));
	done(&f);
}

static void test_port_rules_ignored(void **state)
{
	static const struct want w[] = {
		{ "10.1.2.3", 0 }, { "10.9.9.9", 0 }, { "1.2.3.4", -1 }, { "fd00::1", -1 }, { "fd00::2", 4 },
	};
	struct fx f;

	(void)state;
	build(&f, "deny 10.0.0.0/8\n"
		  "allow 10.1.2.3:443\n"
		  "allow 1.2.3.4:80\n"
		  "allow [fd00::1]:53\n"
		  "deny fd00::2\n"
		  "allow [fd00::2]:443\n");
	expect(&f, w, ARRAY_SIZE(w));
	done(&f);

	/* only port rules: nothing */
	build(&f, "allow 1.2.3.4:80\nallow [::1]:80\n");
	assert_int_equal(lookup(&f, "1.2.3.4"), -1);
	assert_int_equal(lookup(&f, "::1"), -1);
	done(&f);
}

static void test_later_wins(void **state)
{
	static const struct want w[] = {
		{ "10.0.0.1", 2 }, { "10.1.0.1", 5 }, { "10.1.2.3", 4 },
		{ "fd00::1", 7 },  { "fd00::2", 6 },  { "fd00::1:0:5", 8 },
	};
	struct fx f;

	(void)state;
	build(&f, "deny 10.0.0.0/8 # first\n"
		  "allow 10.0.0.0/8 # second\n"
		  "redirect 10.0.0.0/8 # third\n"
		  "deny 10.1.2.3\n"
		  "allow 10.1.2.3\n"
		  "deny 10.1.0.0/16\n"
		  "deny fd00::/16\n"
		  "allow fd00::1\n"
		  "deny fd00::1:0:0/96\n");
	expect(&f, w, ARRAY_SIZE(w));
	assert_string_equal(f.rs.v[lookup(&f, "10.200.0.1")].reason, "third");
	done(&f);

	/* the last of equal targets, wherever the others are */
	build(&f, "allow 10.0.0.0/8\n"
		  "deny 192.168.0.0/16\n"
		  "deny 10.0.0.0/8\n"
		  "allow 172.16.0.0/12\n"
		  "deny 192.168.0.0/16\n"
		  "allow 192.168.0.0/16\n");
	assert_int_equal(lookup(&f, "10.1.1.1"), 2);
	assert_int_equal(lookup(&f, "192.168.3.3"), 5);
	assert_int_equal(lookup(&f, "172.20.0.1"), 3);
	done(&f);
}

static void test_zero_prefix(void **state)
{
	static const struct want w[] = {
		{ "1.2.3.4", 0 }, { "0.0.0.0", 0 }, { "255.255.255.255", 0 }, { "10.0.0.1", 1 },
		{ "2001::1", 2 }, { "::", 2 },      { "ffff::", 2 },            { "fd00::1", 3 },
	};
	struct fx f;

	(void)state;
	build(&f, "deny 0.0.0.0/0\nallow 10.0.0.0/8\nredirect ::/0\nallow fd00::/8\n");
	expect(&f, w, ARRAY_SIZE(w));
	done(&f);

	/* a /0 of one family only */
	build(&f, "deny ::/0\n");
	assert_int_equal(lookup(&f, "1.2.3.4"), -1);
	assert_int_equal(lookup(&f, "::ffff:1.2.3.4"), 0);
	done(&f);
}

static void test_empty(void **state)
{
	struct fx f;

	(void)state;
	build(&f, "# nothing\n\n");
	assert_int_equal(f.rs.n, 0);
	assert_int_equal(lookup(&f, "1.2.3.4"), -1);
	assert_int_equal(lookup(&f, "::1"), -1);
	done(&f);
	nm_ptable_free(NULL);
}

/* ---- random rulesets against a linear scan -------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void mask_addr(uint8_t *a, int len, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		int keep = len - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static bool covers(const struct nm_cidr *c, const uint8_t *a)
{
	int full = c->prefixlen / 8, rest = c->prefixlen % 8;

	if (memcmp(c->addr, a, (size_t)full))
		return false;
	return !rest || !((c->addr[full] ^ a[full]) & (0xff << (8 - rest)));
}

/* The longest covering rule without a port, the later of equal ones. */
static const struct nm_rule_entry *scan(const struct nm_ruleset *rs, int family, const uint8_t *a)
{
	const struct nm_rule_entry *best = NULL;

	for (size_t i = 0; i < rs->n; i++) {
		const struct nm_rule_entry *e = &rs->v[i];

		if (e->cidr.family != family || e->cidr.port || !covers(&e->cidr, a))
			continue;
		if (!best || e->cidr.prefixlen >= best->cidr.prefixlen)
			best = e;
	}
	return best;
}

/* An address near the others: one of a few networks, random below. */
static void rand_addr(int family, uint8_t *a)
{
	static const uint8_t v4[][2] = { { 10, 0 }, { 10, 1 }, { 192, 168 }, { 100, 64 } };
	static const uint8_t v6[][4] = { { 0xfd, 0, 0, 0 }, { 0xfd, 0, 0, 1 }, { 0x20, 0x01, 0x0d, 0xb8 } };
	int n = family == 4 ? 4 : 16;

	for (int i = 0; i < n; i++)
		a[i] = (uint8_t)rnd();
	if (family == 4)
		memcpy(a, v4[rnd() % ARRAY_SIZE(v4)], rnd() % 4 ? 2 : 1);
	else
		memcpy(a, v6[rnd() % ARRAY_SIZE(v6)], rnd() % 4 ? 4 : 2);
	/* runs of zero bits, so that short and long prefixes overlap */
	if (rnd() % 2)
		memset(a + n / 2 + rnd() % (n / 2), 0, 1);
}

static void test_random(void **state)
{
	enum { RULES = 20000, LOOKUPS = 20000 };
	struct nm_ruleset rs = { 0 };
	struct nm_ptable *t;
	size_t hits = 0, misses = 0, by_len[2][129] = { { 0 } };
	int lens = 0;

	(void)state;
	for (int i = 0; i < RULES; i++) {
		struct nm_rule_entry e = { .line = i + 1 };
		int family = rnd() % 3 ? 4 : 6, max = family == 4 ? 32 : 128;

		if (i > 100 && rnd() % 10 == 0) {
			/* the target of an earlier rule again, another action */
			e.cidr = rs.v[rnd() % rs.n].cidr;
		} else {
			e.cidr.family = (uint8_t)family;
			rand_addr(family, e.cidr.addr);
			if (family == 4)
				memset(e.cidr.addr + 4, 0, 12);
			/* any length from /8 (/16), many at byte edges; no
			 * shorter, so that some addresses match nothing */
			int min = family == 4 ? 8 : 16;

			switch (rnd() % 4) {
			case 0:
				e.cidr.prefixlen = (uint8_t)(min + rnd() % (max - min + 1));
				break;
			case 1:
				e.cidr.prefixlen = (uint8_t)(8 * (min / 8 + rnd() % ((max - min) / 8 + 1)));
				break;
			default:
				e.cidr.prefixlen = (uint8_t)(family == 4 ? 12 + rnd() % 21 : 24 + rnd() % 105);
			}
			mask_addr(e.cidr.addr, e.cidr.prefixlen, family == 4 ? 4 : 16);
			if (rnd() % 20 == 0) { /* a host:port rule */
				e.cidr.prefixlen = (uint8_t)max;
				rand_addr(family, e.cidr.addr);
				if (family == 4)
					memset(e.cidr.addr + 4, 0, 12);
				e.cidr.port = (uint16_t)(1 + rnd() % 65535);
			}
		}
		e.action = (uint8_t)(NM_ACT_DENY + rnd() % 3);
		assert_int_equal(nm_ruleset_add(&rs, &e), 0);
	}
	assert_int_equal(nm_ptable_build(&rs, &t), 0);
	for (int i = 0; i < LOOKUPS; i++) {
		int family = i % 2 ? 4 : 6;
		uint8_t a[16] = { 0 };
		const struct nm_rule_entry *want, *got;

		if (rnd() % 2) {
			/* inside a rule, or just past it */
			const struct nm_rule_entry *e = &rs.v[rnd() % rs.n];
			int bytes;

			family = e->cidr.family;
			bytes = family == 4 ? 4 : 16;
			memcpy(a, e->cidr.addr, 16);
			for (int b = e->cidr.prefixlen; b < bytes * 8; b++)
				if (rnd() % 2)
					a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			if (e->cidr.prefixlen && rnd() % 4 == 0) {
				int b = e->cidr.prefixlen - 1;

				a[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			}
		} else {
			rand_addr(family, a);
			if (rnd() % 8 == 0) /* anywhere: mostly in no rule */
				for (int b = 0; b < 16; b++)
					a[b] = (uint8_t)rnd();
			if (family == 4)
				memset(a + 4, 0, 12);
		}
		want = scan(&rs, family, a);
		got = nm_ptable_lookup(t, family, a);
		if (got != want)
			fail_msg("lookup %d (IPv%d %02x%02x%02x%02x...): rule %td, want %td", i, family, a[0], a[1],
				 a[2], a[3], got ? got - rs.v : -1, want ? want - rs.v : -1);
		if (want) {
			hits++;
			by_len[family == 6][want->cidr.prefixlen]++;
		} else {
			misses++;
		}
	}
	for (int f = 0; f < 2; f++)
		for (int l = 0; l <= 128; l++)
			lens += by_len[f][l] > 0;
	/* the test means something: most lookups hit, at many lengths, and
	 * some miss */
	if (hits < LOOKUPS / 2 || misses < LOOKUPS / 50 || lens < 60)
		fail_msg("%zu hits, %zu misses, %d lengths", hits, misses, lens);
	print_message("%d lookups: %zu hits, %zu misses, rules of %d lengths winning\n", LOOKUPS, hits, misses,
		      lens);
	nm_ptable_free(t);
	nm_ruleset_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_v4),
		cmocka_unit_test(test_longest_v6),
		cmocka_unit_test(test_mapped_rule),
		cmocka_unit_test(test_port_rules_ignored),
		cmocka_unit_test(test_later_wins),
		cmocka_unit_test(test_zero_prefix),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
