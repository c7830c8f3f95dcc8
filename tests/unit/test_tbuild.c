// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/tbuild.c, a rule set's LPM keys and values in
 * write order: each family apart, address then port then prefix length,
 * equal keys in set order (so the later line wins), and large random sets
 * of both families checked against a comparison sort (cmocka). */
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
#include "parse.h"
#include "policy.h"
#include "tbuild.h"

/* The order the writer wants, by comparison: the key's bytes after the
 * prefix length, then the prefix length, then the position in the set. */
struct ref {
	__u8 key[sizeof(struct nm_key6)];
	size_t ksz, pos;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	__u32 px, py;
	int c = memcmp(x->key + 4, y->key + 4, x->ksz - 4);

	if (c)
		return c;
	memcpy(&px, x->key, 4);
	memcpy(&py, y->key, 4);
	if (px != py)
		return px < py ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The batch of rs for family matches the comparison sort, key and value. */
static void check_against_ref(const struct nm_ruleset *rs, int family)
{
	struct nm_tbatch b;
	struct ref *r = calloc(rs->n ? rs->n : 1, sizeof(*r));
	size_t n = 0, ksz = family == 4 ? sizeof(struct nm_key4) : sizeof(struct nm_key6);

	assert_non_null(r);
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->v[i].cidr.family != family)
			continue;
		if (family == 4)
			nm_cidr_to_key4(&rs->v[i].cidr, (struct nm_key4 *)r[n].key);
		else
			nm_cidr_to_key6(&rs->v[i].cidr, (struct nm_key6 *)r[n].key);
		r[n].ksz = ksz;
		r[n++].pos = i;
	}
	qsort(r, n, sizeof(*r), ref_cmp);
	assert_int_equal(nm_tbatch_build(rs, family, &b), 0);
	assert_int_equal(b.n, n);
	assert_int_equal(b.ksz, ksz);
	for (size_t i = 0; i < n; i++) {
		struct nm_rule want;

		assert_memory_equal((char *)b.keys + i * ksz, r[i].key, ksz);
		nm_cidr_to_rule(&rs->v[r[i].pos].cidr, rs->v[r[i].pos].action, 0, &want);
		assert_memory_equal(&b.vals[i], &want, sizeof(want));
	}
	nm_tbatch_free(&b);
	free(r);
}

static void test_order_and_families(void **state)
{
	struct nm_ruleset rs = { 0 };
	struct nm_tbatch b;
	const struct nm_key4 *k;

	(void)state;
	assert_int_equal(nm_ruleset_parse("deny 10.2.0.0/16\n"
					  "allow 2001:db8::/32\n"
					  "deny 10.1.0.0/16\n"
					  "allow 10.1.0.0/24\n"
					  "redirect 10.1.0.5:443\n"
					  "deny 10.1.0.0/16\n"
					  "deny 9.0.0.0/8\n",
					  "test", &rs),
			 0);
	assert_int_equal(nm_tbatch_build(&rs, 4, &b), 0);
	assert_int_equal(b.n, 6);
	k = b.keys;
	/* 9/8, 10.1/16 twice (set order: deny, then deny again), 10.1.0/24,
	 * 10.1.0.5:443, 10.2/16 */
	assert_int_equal(k[0].addr[0], 9);
	assert_int_equal(k[1].prefixlen, 16);
	assert_int_equal(k[2].prefixlen, 16);
	assert_int_equal(k[3].prefixlen, 24);
	assert_int_equal(k[4].prefixlen, NM_KEY4_HOSTPORT_LEN);
	assert_int_equal(k[4].port, htons(443));
	assert_int_equal(k[5].addr[1], 2);
	assert_int_equal(b.vals[4].action, NM_ACT_REDIRECT);
	nm_tbatch_free(&b);
	assert_int_equal(nm_tbatch_build(&rs, 6, &b), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.vals[0].action, NM_ACT_ALLOW);
	nm_tbatch_free(&b);
	check_against_ref(&rs, 4);
	check_against_ref(&rs, 6);
	nm_ruleset_free(&rs);
}

/* The later of two equal keys comes later, whatever their actions. */
static void test_equal_keys_keep_set_order(void **state)
{
	struct nm_ruleset rs = { 0 };
	struct nm_tbatch b;

	(void)state;
	assert_int_equal(nm_ruleset_parse("allow 192.0.2.0/24\ndeny 192.0.2.0/24\nredirect 192.0.2.0/24\n", "test",
					  &rs),
			 0);
	assert_int_equal(nm_tbatch_build(&rs, 4, &b), 0);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.vals[0].action, NM_ACT_ALLOW);
	assert_int_equal(b.vals[1].action, NM_ACT_DENY);
	assert_int_equal(b.vals[2].action, NM_ACT_REDIRECT);
	nm_tbatch_free(&b);
	nm_ruleset_free(&rs);
}

static void test_empty(void **state)
{
	struct nm_ruleset rs = { 0 };
	struct nm_tbatch b;

	(void)state;
	assert_int_equal(nm_tbatch_build(&rs, 4, &b), 0);
	assert_int_equal(b.n, 0);
	nm_tbatch_free(&b);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random prefixes of both families (duplicates and host:port keys among
 * them, drawn from small ranges so that many digits are shared and many
 * keys repeat) against the comparison sort. */
static void test_random_against_ref(void **state)
{
	struct nm_ruleset rs = { 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull;
	const size_t n = 50000;

	(void)state;
	rs.v = calloc(n, sizeof(*rs.v));
	assert_non_null(rs.v);
	rs.cap = n;
	for (size_t i = 0; i < n; i++) {
		struct nm_rule_entry *e = &rs.v[rs.n++];
		uint64_t x = rng_next(&s);

		e->action = (__u8)(x % 3 == 0 ? NM_ACT_DENY : x % 3 == 1 ? NM_ACT_ALLOW : NM_ACT_REDIRECT);
		e->cidr.family = (x >> 2) & 1 ? 4 : 6;
		if (e->cidr.family == 4) {
			e->cidr.addr[0] = (__u8)(10 + (x >> 50) % 3);
			e->cidr.addr[1] = (__u8)(x >> 8) & 3;
			e->cidr.addr[2] = (__u8)(x >> 16);
			e->cidr.addr[3] = (__u8)(x >> 24);
			e->cidr.prefixlen = 20 + (x >> 32) % 13;
		} else {
			e->cidr.addr[0] = (__u8)(0x20 + (x >> 50) % 3);
			e->cidr.addr[1] = 0x01;
			e->cidr.addr[7] = (__u8)(x >> 8) & 3;
			e->cidr.addr[15] = (__u8)(x >> 16);
			e->cidr.prefixlen = 48 + (x >> 32) % 81;
		}
		if ((x >> 40) % 16 == 0) {
			e->cidr.prefixlen = e->cidr.family == 4 ? 32 : 128;
			e->cidr.port = (__u16)(1 + (x >> 44) % 3);
		}
	}
	check_against_ref(&rs, 4);
	check_against_ref(&rs, 6);
	free(rs.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_families),
		cmocka_unit_test(test_equal_keys_keep_set_order),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_against_ref),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
