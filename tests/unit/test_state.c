// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/lib/state.c, the readers of the kernel state: the
 * binding of a cgroup, the live flow count and the stats snapshot that
 * `nomoat stats` and nomoatd's /metrics both print.  The maps are real
 * (made here with bpf_map_create, the types and sizes bpf/lib/maps.h
 * declares, never pinned), filled with known values on every CPU; the
 * snapshot must hold their sums, rows in policy id order (cmocka).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "err.h"
#include "nomoat.h"
#include "pins.h"
#include "state.h"

struct fx {
	struct nm_maps m;
	int ncpu;
};

static int mk(enum bpf_map_type t, __u32 ksz, __u32 vsz, __u32 n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = t == BPF_MAP_TYPE_HASH ? BPF_F_NO_PREALLOC : 0);

	return bpf_map_create(t, NULL, ksz, vsz, n, &o);
}

/* Per-CPU value of key: cpu i holds base * (i + 1); returns the sum. */
static __u64 put_percpu(const struct fx *f, int fd, __u32 key, __u64 base)
{
	__u64 v[f->ncpu], sum = 0;

	for (int i = 0; i < f->ncpu; i++)
		sum += v[i] = base * (__u64)(i + 1);
	assert_int_equal(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0);
	return sum;
}

static void put_policy(int fd, __u32 id, const char *name)
{
	struct nm_policy p = { .id = id, .in_use = 1 };

	snprintf(p.name, sizeof(p.name), "%s", name);
	p.check = nm_policy_sum(&p);
	assert_int_equal(bpf_map_update_elem(fd, &id, &p, BPF_ANY), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	memset(&f->m, 0xff, sizeof(f->m)); /* every fd -1 */
	f->ncpu = libbpf_num_possible_cpus();
	f->m.policies = mk(BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct nm_policy), NM_MAX_POLICIES);
	f->m.bindings = mk(BPF_MAP_TYPE_HASH, sizeof(__u64), sizeof(__u32), 64);
	f->m.stats = mk(BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), NM_MAX_POLICIES * NM_V__MAX);
	f->m.gstats = mk(BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), NM_G__MAX);
	f->m.flowcnt = mk(BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(__u64), 1);
	*state = f;
	if (f->ncpu <= 0 || f->m.policies < 0 || f->m.bindings < 0 || f->m.stats < 0 || f->m.gstats < 0 ||
	    f->m.flowcnt < 0) {
		fprintf(stderr, "test_state: cannot create BPF maps (%s): needs root\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	for (int *fd = &f->m.policies; fd <= &f->m.epoch; fd++)
		if (*fd >= 0)
			close(*fd);
	free(f);
	return 0;
}

static void test_binding_get(void **state)
{
	struct fx *f = *state;
	__u64 cg = 4242;
	__u32 pid = 5, got = 0;

	nm_err_clear();
	assert_int_equal(nm_binding_get(&f->m, cg, &got), -ENOENT);
	assert_string_equal(nm_err_msg(), "unknown error"); /* not bound: no message */
	assert_int_equal(got, 0);
	assert_int_equal(bpf_map_update_elem(f->m.bindings, &cg, &pid, BPF_ANY), 0);
	assert_int_equal(nm_binding_get(&f->m, cg, &got), 0);
	assert_int_equal(got, 5);
	/* a map that cannot be read: a runtime error naming the cgroup */
	{
		struct nm_maps bad = f->m;

		bad.bindings = -1;
		nm_err_clear();
		assert_int_equal(nm_binding_get(&bad, cg, &got), -EBADF);
		assert_int_equal(nm_err_kind(), NM_E_RUNTIME);
		assert_non_null(strstr(nm_err_msg(), "cgroup 4242"));
	}
}

static void test_flows_live(void **state)
{
	struct fx *f = *state;
	__u32 zero = 0;
	__u64 n = 1234;
	struct nm_maps bad = f->m;

	assert_int_equal(nm_flows_live(&f->m), 0);
	assert_int_equal(bpf_map_update_elem(f->m.flowcnt, &zero, &n, BPF_ANY), 0);
	assert_int_equal(nm_flows_live(&f->m), 1234);
	bad.flowcnt = -1;
	assert_int_equal(nm_flows_live(&bad), 0);
}

static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct nm_stats_snap *s = calloc(1, sizeof(*s));
	__u64 want0, want3[NM_V__MAX], want7, g[NM_G__MAX];
	__u32 zero = 0;
	__u64 live = 9;

	assert_non_null(s);
	/* policies 7 and 3 (written out of order), and a record not in use */
	put_policy(f->m.policies, 7, "build");
	put_policy(f->m.policies, 3, "agents");
	{
		struct nm_policy p = { .id = 9, .in_use = 0 };
		__u32 id = 9;

		snprintf(p.name, sizeof(p.name), "reserved");
		assert_int_equal(bpf_map_update_elem(f->m.policies, &id, &p, BPF_ANY), 0);
	}
	want0 = put_percpu(f, f->m.stats, 0 * NM_V__MAX + NM_V_DENY, 11);
	for (__u32 v = 0; v < NM_V__MAX; v++)
		want3[v] = put_percpu(f, f->m.stats, 3 * NM_V__MAX + v, 100 + v);
	want7 = put_percpu(f, f->m.stats, 7 * NM_V__MAX + NM_V_WOULD_REDIRECT, 5);
	/* policy 9's counters are not shown: its record is not in use */
	put_percpu(f, f->m.stats, 9 * NM_V__MAX + NM_V_DENY, 1000);
	for (__u32 i = 0; i < NM_G__MAX; i++)
		g[i] = put_percpu(f, f->m.gstats, i, 1 + i * 3);
	assert_int_equal(bpf_map_update_elem(f->m.flowcnt, &zero, &live, BPF_ANY), 0);

	assert_int_equal(nm_stats_snapshot(&f->m, s), 0);
	assert_int_equal(s->nrows, 3);
	assert_int_equal(s->rows[0].policy_id, 0);
	assert_string_equal(s->rows[0].name, "");
	assert_int_equal(s->rows[0].v[NM_V_DENY], want0);
	assert_int_equal(s->rows[0].v[NM_V_ALLOW], 0);
	assert_int_equal(s->rows[1].policy_id, 3);
	assert_string_equal(s->rows[1].name, "agents");
	for (__u32 v = 0; v < NM_V__MAX; v++)
		assert_int_equal(s->rows[1].v[v], want3[v]);
	assert_int_equal(s->rows[2].policy_id, 7);
	assert_string_equal(s->rows[2].name, "build");
	assert_int_equal(s->rows[2].v[NM_V_WOULD_REDIRECT], want7);
	assert_int_equal(s->rows[2].v[NM_V_DENY], 0);
	for (__u32 i = 0; i < NM_G__MAX; i++)
		assert_int_equal(s->g[i], g[i]);
	assert_int_equal(s->flows_live, 9);
	free(s);
}

/* With no policies (a fresh fixture) and unreadable counters: one row,
 * every count 0. */
static void test_snapshot_empty(void **state)
{
	struct fx *f = *state;
	struct nm_stats_snap *s = malloc(sizeof(*s));
	struct nm_maps m = f->m;

	assert_non_null(s);
	memset(s, 0xab, sizeof(*s));
	m.stats = m.gstats = m.flowcnt = -1;
	assert_int_equal(nm_stats_snapshot(&m, s), 0);
	assert_int_equal(s->nrows, 1);
	assert_int_equal(s->rows[0].policy_id, 0);
	for (__u32 v = 0; v < NM_V__MAX; v++)
		assert_int_equal(s->rows[0].v[v], 0);
	for (__u32 i = 0; i < NM_G__MAX; i++)
		assert_int_equal(s->g[i], 0);
	assert_int_equal(s->flows_live, 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_binding_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flows_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_empty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
