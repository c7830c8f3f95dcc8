// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for nm_runpoint_pick (user/lib/runpoint.c): where `nomoat run`
 * puts its command, over lists of attach points, with and without
 * --cgroup-parent and --policy; every refusal is an input error (cmocka). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "runpoint.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char out[PATH_MAX];

static int pick(const struct nm_runpoint *v, size_t n, const char *parent, __u32 policy)
{
	nm_err_clear();
	strcpy(out, "(untouched)");
	return nm_runpoint_pick(v, n, parent, parent, policy, out, sizeof(out));
}

static void refused(int ret, const char *needle)
{
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(nm_err_kind(), NM_E_INPUT);
	assert_non_null(strstr(nm_err_msg(), needle));
	assert_string_equal(out, "(untouched)");
}

static void test_one_point(void **state)
{
	/* origdst-only points and gone cgroups do not count */
	const struct nm_runpoint v[] = {
		{ "/cg/proxy", true, 0 },
		{ "", false, 0 },
		{ "/cg/nomoat", false, 0 },
	};

	(void)state;
	assert_int_equal(pick(v, N(v), NULL, 0), 0);
	assert_string_equal(out, "/cg/nomoat");
	/* the policy need not be bound there: the point is the only one */
	assert_int_equal(pick(v, N(v), NULL, 7), 0);
	assert_string_equal(out, "/cg/nomoat");
}

static void test_none(void **state)
{
	const struct nm_runpoint v[] = { { "/cg/proxy", true, 3 } };

	(void)state;
	refused(pick(NULL, 0, NULL, 0), "no attach point");
	refused(pick(v, N(v), NULL, 3), "no attach point");
}

static void test_several(void **state)
{
	const struct nm_runpoint v[] = {
		{ "/cg/nomoat", false, 1 },
		{ "/cg/fence", false, 2 },
		{ "/cg/other", false, 2 },
	};

	(void)state;
	/* without --policy, or a policy bound at none or at two: say which */
	refused(pick(v, N(v), NULL, 0), "several attach points");
	refused(pick(v, N(v), NULL, 9), "give --cgroup-parent");
	refused(pick(v, N(v), NULL, 2), "several attach points");
	/* the one bound to the policy asked for */
	assert_int_equal(pick(v, N(v), NULL, 1), 0);
	assert_string_equal(out, "/cg/nomoat");
}

static void test_parent(void **state)
{
	const struct nm_runpoint v[] = {
		{ "/cg/nomoat", false, 1 },
		{ "/cg/proxy", true, 0 },
	};

	(void)state;
	assert_int_equal(pick(v, N(v), "/cg/nomoat", 0), 0);
	assert_string_equal(out, "/cg/nomoat");
	assert_int_equal(pick(v, N(v), "/cg/nomoat/a/b", 1), 0);
	assert_string_equal(out, "/cg/nomoat/a/b");
	/* a prefix of the name is not below it */
	refused(pick(v, N(v), "/cg/nomoatx", 0), "would run unpoliced");
	/* nor is an origdst-only point (nothing there judges connects) */
	refused(pick(v, N(v), "/cg/proxy/x", 0), "would run unpoliced");
	refused(pick(v, N(v), "/cg", 0), "'/cg' is not at or below");
	/* the message names the PATH as the user gave it */
	nm_err_clear();
	strcpy(out, "(untouched)");
	refused(nm_runpoint_pick(v, N(v), "elsewhere", "/cg/elsewhere", 0, out, sizeof(out)), "'elsewhere'");
}

static void test_too_long(void **state)
{
	const struct nm_runpoint v[] = { { "/cg/nomoat", false, 0 } };
	char small[8];

	(void)state;
	nm_err_clear();
	assert_int_equal(nm_runpoint_pick(v, N(v), NULL, NULL, 0, small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(nm_err_kind(), NM_E_INPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_point), cmocka_unit_test(test_none),   cmocka_unit_test(test_several),
		cmocka_unit_test(test_parent),    cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
