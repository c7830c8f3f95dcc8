// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/proxy/hostname.c and allowlist.c: normalising
 * requested names and matching them against an allowlist (cmocka). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "allowlist.h"
#include "hostname.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_norm(void **state)
{
	static const struct {
		const char *in, *out;
		enum nmp_host_kind kind;
	} t[] = {
		{ "PyPI.org", "pypi.org", NMP_HOST_NAME },
		{ "pypi.org.", "pypi.org", NMP_HOST_NAME },
		{ "a_b.example", "a_b.example", NMP_HOST_NAME },
		{ "localhost", "localhost", NMP_HOST_NAME },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", NMP_HOST_NAME },
		{ "1.2.3.4", "1.2.3.4", NMP_HOST_IPV4 },
		{ "1.2.3.4.", "1.2.3.4", NMP_HOST_IPV4 },
		{ "127.1", "127.1", NMP_HOST_IPV4 },
		{ "0x7F000001", "0x7f000001", NMP_HOST_IPV4 },
		{ "2130706433", "2130706433", NMP_HOST_IPV4 },
		{ "evil.com.1", "evil.com.1", NMP_HOST_IPV4 },
		{ "[2A00:1:2:3::44]", "2a00:1:2:3::44", NMP_HOST_IPV6 },
		{ "[::ffff:169.254.169.254]", "::ffff:169.254.169.254", NMP_HOST_IPV6 },
		{ "2a00:1:2:3::44", "2a00:1:2:3::44", NMP_HOST_IPV6 },
		{ "", "", NMP_HOST_INVALID },
		{ ".", "", NMP_HOST_INVALID },
		{ "a..b", "", NMP_HOST_INVALID },
		{ ".a", "", NMP_HOST_INVALID },
		{ "a.b..", "", NMP_HOST_INVALID },
		{ "a b", "", NMP_HOST_INVALID },
		{ "a/b", "", NMP_HOST_INVALID },
		{ "a*b", "", NMP_HOST_INVALID },
		{ "bücher.example", "", NMP_HOST_INVALID },
		{ "[pypi.org]", "", NMP_HOST_INVALID },
		{ "[1.2.3.4]", "", NMP_HOST_INVALID },
		{ "a:b", "", NMP_HOST_INVALID },
		{ "[::1", "", NMP_HOST_INVALID },
	};
	char out[NMP_HOST_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum nmp_host_kind k = nmp_host_norm(t[i].in, strlen(t[i].in), out, sizeof(out));

		if (k != t[i].kind || strcmp(out, t[i].out))
			fail_msg("'%s': %s '%s', want %s '%s'", t[i].in, nmp_host_kind_str(k), out,
				 nmp_host_kind_str(t[i].kind), t[i].out);
	}
}

static void test_norm_lengths(void **state)
{
	char in[400], out[NMP_HOST_MAX + 2], small[8];
	size_t n = 0;

	(void)state;
	/* labels of 63: 63*4 + 3 dots = 255 > 253 */
	for (int l = 0; l < 4; l++) {
		memset(in + n, 'a' + l, 63);
		n += 63;
		in[n++] = '.';
	}
	in[--n] = 0;
	assert_int_equal(nmp_host_norm(in, n, out, sizeof(out)), NMP_HOST_INVALID);
	/* 253 exactly, with and without the trailing dot */
	in[253] = 0;
	in[252] = 'x';
	assert_int_equal(nmp_host_norm(in, 253, out, sizeof(out)), NMP_HOST_NAME);
	in[253] = '.';
	assert_int_equal(nmp_host_norm(in, 254, out, sizeof(out)), NMP_HOST_NAME);
	assert_int_equal(strlen(out), 253);
	/* a label of 64 */
	memset(in, 'a', 64);
	assert_int_equal(nmp_host_norm(in, 64, out, sizeof(out)), NMP_HOST_INVALID);
	assert_int_equal(nmp_host_norm(in, 63, out, sizeof(out)), NMP_HOST_NAME);
	/* an output buffer too small is INVALID, not a truncation */
	assert_int_equal(nmp_host_norm("abcdefghij", 10, small, sizeof(small)), NMP_HOST_INVALID);
	assert_int_equal(nmp_host_norm("[2a00:1:2:3::44]", 16, small, sizeof(small)), NMP_HOST_INVALID);
	/* not NUL-terminated input is read only to len */
	assert_int_equal(nmp_host_norm("pypi.orgXX", 8, out, sizeof(out)), NMP_HOST_NAME);
	assert_string_equal(out, "pypi.org");
}

static void test_allow(void **state)
{
	struct nmp_allowlist al = { 0 };
	const struct nmp_allow_entry *e;
	char buf[300];

	(void)state;
	assert_null(nmp_allow_match(&al, "pypi.org", 443)); /* empty: nothing */
	assert_int_equal(nmp_allow_add(&al, "pypi.org", 0), 0);
	assert_int_equal(nmp_allow_add(&al, "*.pythonhosted.org", 0), 0);
	assert_int_equal(nmp_allow_add(&al, "github.com", 443), 0);
	assert_int_equal(nmp_allow_add(&al, "*.example.org", 8443), 0);
	assert_int_equal(nmp_allow_add(&al, "*.deep.example.org", 0), 0);
	assert_int_equal(nmp_allow_add(&al, "", 0), -EINVAL);
	assert_int_equal(nmp_allow_add(&al, "*.", 0), -EINVAL);
	assert_int_equal(nmp_allow_add(&al, "a.*.org", 0), -EINVAL);
	assert_int_equal(nmp_allow_add(&al, "*.*.org", 0), -EINVAL);

	e = nmp_allow_match(&al, "pypi.org", 443);
	assert_non_null(e);
	assert_string_equal(nmp_allow_str(e, buf, sizeof(buf)), "pypi.org");
	assert_non_null(nmp_allow_match(&al, "pypi.org", 80));
	assert_null(nmp_allow_match(&al, "www.pypi.org", 443));
	assert_null(nmp_allow_match(&al, "pypi.org.evil", 443));
	assert_null(nmp_allow_match(&al, "xpypi.org", 443));

	e = nmp_allow_match(&al, "files.pythonhosted.org", 443);
	assert_non_null(e);
	assert_string_equal(e->name, "*.pythonhosted.org");
	assert_non_null(nmp_allow_match(&al, "a.b.pythonhosted.org", 443));
	assert_null(nmp_allow_match(&al, "pythonhosted.org", 443));
	assert_null(nmp_allow_match(&al, "evilpythonhosted.org", 443));

	e = nmp_allow_match(&al, "github.com", 443);
	assert_non_null(e);
	assert_string_equal(nmp_allow_str(e, buf, sizeof(buf)), "github.com:443");
	assert_null(nmp_allow_match(&al, "github.com", 22));

	assert_non_null(nmp_allow_match(&al, "a.example.org", 8443));
	assert_null(nmp_allow_match(&al, "a.example.org", 443));
	/* the longest wildcard that fits is the one reported */
	e = nmp_allow_match(&al, "x.deep.example.org", 8443);
	assert_non_null(e);
	assert_string_equal(e->name, "*.deep.example.org");
	e = nmp_allow_match(&al, "x.deep.example.org", 443);
	assert_non_null(e);
	assert_string_equal(e->name, "*.deep.example.org");
	assert_null(nmp_allow_match(&al, "", 443));
	nmp_allow_free(&al);
	assert_int_equal(al.n, 0);
}

/* An exact entry beats a wildcard that also fits. */
static void test_allow_exact_first(void **state)
{
	struct nmp_allowlist al = { 0 };
	const struct nmp_allow_entry *e;

	(void)state;
	assert_int_equal(nmp_allow_add(&al, "*.example.org", 0), 0);
	assert_int_equal(nmp_allow_add(&al, "api.example.org", 0), 0);
	e = nmp_allow_match(&al, "api.example.org", 1);
	assert_non_null(e);
	assert_string_equal(e->name, "api.example.org");
	for (int i = 0; i < 100; i++) /* grows */
		assert_int_equal(nmp_allow_add(&al, "x.example.org", (uint16_t)(i + 1)), 0);
	assert_int_equal(al.n, 102);
	nmp_allow_free(&al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm),
		cmocka_unit_test(test_norm_lengths),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_allow_exact_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
