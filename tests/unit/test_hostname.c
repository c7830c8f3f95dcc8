// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/hostname.c: normalising requested names,
 * parsing patterns and matching names against an allowlist (cmocka). */
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

#include "hostname.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_norm(void **state)
{
	static const struct {
		const char *in, *out;
		enum nm_host_kind kind;
	} t[] = {
		{ "PyPI.org", "pypi.org", NM_HOST_NAME },
		{ "pypi.org.", "pypi.org", NM_HOST_NAME },
		{ "a_b.example", "a_b.example", NM_HOST_NAME },
		{ "localhost", "localhost", NM_HOST_NAME },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", NM_HOST_NAME },
		{ "1.2.3.4", "1.2.3.4", NM_HOST_IPV4 },
		{ "1.2.3.4.", "1.2.3.4", NM_HOST_IPV4 },
		{ "127.1", "127.1", NM_HOST_IPV4 },
		{ "0x7F000001", "0x7f000001", NM_HOST_IPV4 },
		{ "2130706433", "2130706433", NM_HOST_IPV4 },
		{ "evil.com.1", "evil.com.1", NM_HOST_IPV4 },
		{ "[2A00:1:2:3::44]", "2a00:1:2:3::44", NM_HOST_IPV6 },
		{ "[::ffff:169.254.169.254]", "::ffff:169.254.169.254", NM_HOST_IPV6 },
		{ "2a00:1:2:3::44", "2a00:1:2:3::44", NM_HOST_IPV6 },
		{ "", "", NM_HOST_INVALID },
		{ ".", "", NM_HOST_INVALID },
		{ "a..b", "", NM_HOST_INVALID },
		{ ".a", "", NM_HOST_INVALID },
		{ "a.b..", "", NM_HOST_INVALID },
		{ "a b", "", NM_HOST_INVALID },
		{ "a/b", "", NM_HOST_INVALID },
		{ "a*b", "", NM_HOST_INVALID },
		{ "bücher.example", "", NM_HOST_INVALID },
		{ "[pypi.org]", "", NM_HOST_INVALID },
		{ "[1.2.3.4]", "", NM_HOST_INVALID },
		{ "a:b", "", NM_HOST_INVALID },
		{ "[::1", "", NM_HOST_INVALID },
	};
	char out[NM_HOST_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum nm_host_kind k = nm_host_norm(t[i].in, strlen(t[i].in), out, sizeof(out), NULL, 0);

		if (k != t[i].kind || strcmp(out, t[i].out))
			fail_msg("'%s': %s '%s', want %s '%s'", t[i].in, nm_host_kind_str(k), out,
				 nm_host_kind_str(t[i].kind), t[i].out);
	}
}

static void test_norm_lengths(void **state)
{
	char in[400], out[NM_HOST_MAX + 2], small[8];
	size_t n = 0;

	(void)state;
	/* labels of 63: 63*4 + 3 dots = 255 > 253 */
	for (int l = 0; l < 4; l++) {
		memset(in + n, 'a' + l, 63);
		n += 63;
		in[n++] = '.';
	}
	in[--n] = 0;
	assert_int_equal(nm_host_norm(in, n, out, sizeof(out), NULL, 0), NM_HOST_INVALID);
	/* 253 exactly, with and without the trailing dot */
	in[253] = 0;
	in[252] = 'x';
	assert_int_equal(nm_host_norm(in, 253, out, sizeof(out), NULL, 0), NM_HOST_NAME);
	in[253] = '.';
	assert_int_equal(nm_host_norm(in, 254, out, sizeof(out), NULL, 0), NM_HOST_NAME);
	assert_int_equal(strlen(out), 253);
	/* a label of 64 */
	memset(in, 'a', 64);
	assert_int_equal(nm_host_norm(in, 64, out, sizeof(out), NULL, 0), NM_HOST_INVALID);
	assert_int_equal(nm_host_norm(in, 63, out, sizeof(out), NULL, 0), NM_HOST_NAME);
	/* an output buffer too small is INVALID, not a truncation */
	assert_int_equal(nm_host_norm("abcdefghij", 10, small, sizeof(small), NULL, 0), NM_HOST_INVALID);
	assert_int_equal(nm_host_norm("[2a00:1:2:3::44]", 16, small, sizeof(small), NULL, 0), NM_HOST_INVALID);
	/* not NUL-terminated input is read only to len */
	assert_int_equal(nm_host_norm("pypi.orgXX", 8, out, sizeof(out), NULL, 0), NM_HOST_NAME);
	assert_string_equal(out, "pypi.org");
}

static void test_allow(void **state)
{
	struct nm_allowlist al = { 0 };
	const struct nm_allow_entry *e;
	char buf[300];

	(void)state;
	assert_null(nm_allow_match(&al, "pypi.org", 443)); /* empty: nothing */
	assert_int_equal(nm_allow_add(&al, "pypi.org", 0), 0);
	assert_int_equal(nm_allow_add(&al, "*.pythonhosted.org", 0), 0);
	assert_int_equal(nm_allow_add(&al, "github.com", 443), 0);
	assert_int_equal(nm_allow_add(&al, "*.example.org", 8443), 0);
	assert_int_equal(nm_allow_add(&al, "*.deep.example.org", 0), 0);
	assert_int_equal(nm_allow_add(&al, "", 0), -EINVAL);
	assert_int_equal(nm_allow_add(&al, "*.", 0), -EINVAL);
	assert_int_equal(nm_allow_add(&al, "a.*.org", 0), -EINVAL);
	assert_int_equal(nm_allow_add(&al, "*.*.org", 0), -EINVAL);

	e = nm_allow_match(&al, "pypi.org", 443);
	assert_non_null(e);
	assert_string_equal(nm_allow_str(e, buf, sizeof(buf)), "pypi.org");
	assert_non_null(nm_allow_match(&al, "pypi.org", 80));
	assert_null(nm_allow_match(&al, "www.pypi.org", 443));
	assert_null(nm_allow_match(&al, "pypi.org.evil", 443));
	assert_null(nm_allow_match(&al, "xpypi.org", 443));

	e = nm_allow_match(&al, "files.pythonhosted.org", 443);
	assert_non_null(e);
	assert_string_equal(e->name, "*.pythonhosted.org");
	assert_non_null(nm_allow_match(&al, "a.b.pythonhosted.org", 443));
	assert_null(nm_allow_match(&al, "pythonhosted.org", 443));
	assert_null(nm_allow_match(&al, "evilpythonhosted.org", 443));

	e = nm_allow_match(&al, "github.com", 443);
	assert_non_null(e);
	assert_string_equal(nm_allow_str(e, buf, sizeof(buf)), "github.com:443");
	assert_null(nm_allow_match(&al, "github.com", 22));

	assert_non_null(nm_allow_match(&al, "a.example.org", 8443));
	assert_null(nm_allow_match(&al, "a.example.org", 443));
	/* the longest wildcard that fits is the one reported */
	e = nm_allow_match(&al, "x.deep.example.org", 8443);
	assert_non_null(e);
	assert_string_equal(e->name, "*.deep.example.org");
	e = nm_allow_match(&al, "x.deep.example.org", 443);
	assert_non_null(e);
	assert_string_equal(e->name, "*.deep.example.org");
	assert_null(nm_allow_match(&al, "", 443));
	nm_allow_free(&al);
	assert_int_equal(al.n, 0);
}

/* An exact entry beats a wildcard that also fits. */
static void test_allow_exact_first(void **state)
{
	struct nm_allowlist al = { 0 };
	const struct nm_allow_entry *e;

	(void)state;
	assert_int_equal(nm_allow_add(&al, "*.example.org", 0), 0);
	assert_int_equal(nm_allow_add(&al, "api.example.org", 0), 0);
	e = nm_allow_match(&al, "api.example.org", 1);
	assert_non_null(e);
	assert_string_equal(e->name, "api.example.org");
	for (int i = 0; i < 100; i++) /* grows */
		assert_int_equal(nm_allow_add(&al, "x.example.org", (uint16_t)(i + 1)), 0);
	assert_int_equal(al.n, 102);
	nm_allow_free(&al);
}

/* Patterns as the policy file writes them, and the one rule on '_': the
 * policy file, the proxy and the resolver accept the same names. */
static void test_pattern(void **state)
{
	static const struct {
		const char *in, *name;
		uint16_t port;
	} ok[] = {
		{ "a_b.example.com", "a_b.example.com", 0 },
		{ "_dmarc.Example.org.", "_dmarc.example.org", 0 },
		{ "*.a_b.example:22", "*.a_b.example", 22 },
		{ "GitHub.com:22", "github.com", 22 },
	};
	static const struct {
		const char *in, *has;
	} bad[] = {
		{ "a b", "' ' is not allowed" },
		{ "a\x01" "b", "byte 0x01" },
		{ "[::1]:22", "an IP address" },
		{ "*.", "'*' is only allowed" },
		{ "a.com:0", "bad port" },
	};
	struct nm_hostpat hp;
	char err[300], norm[NM_HOST_MAX + 2];
	struct nm_allowlist al = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		if (nm_hostpat_parse(ok[i].in, &hp, err, sizeof(err)))
			fail_msg("'%s': %s", ok[i].in, err);
		assert_string_equal(hp.name, ok[i].name);
		assert_int_equal(hp.port, ok[i].port);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(nm_hostpat_parse(bad[i].in, &hp, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].has))
			fail_msg("'%s': '%s', want '%s'", bad[i].in, err, bad[i].has);
	}
	/* what the file accepts, a client's name matches */
	assert_int_equal(nm_hostpat_parse("a_b.example.com", &hp, err, sizeof(err)), 0);
	assert_int_equal(nm_allow_add(&al, hp.name, hp.port), 0);
	assert_int_equal(nm_host_norm("A_B.example.com.", 16, norm, sizeof(norm), NULL, 0), NM_HOST_NAME);
	assert_non_null(nm_allow_match(&al, norm, 443));
	nm_allow_free(&al);
	/* why an input is not a name */
	assert_int_equal(nm_host_norm("a..b", 4, norm, sizeof(norm), err, sizeof(err)), NM_HOST_INVALID);
	assert_string_equal(err, "empty label in a host name");
	assert_int_equal(nm_host_norm("10.0.0.1", 8, norm, sizeof(norm), err, sizeof(err)), NM_HOST_IPV4);
	assert_string_equal(err, "an IP address, not a host name");
}

/* A name with a port-only pattern is still a name the resolver answers. */
static void test_allow_any_port(void **state)
{
	struct nm_allowlist al = { 0 };

	(void)state;
	assert_int_equal(nm_allow_add(&al, "github.com", 22), 0);
	assert_int_equal(nm_allow_add(&al, "*.example.org", 8443), 0);
	assert_non_null(nm_allow_match(&al, "github.com", NM_ALLOW_ANY_PORT));
	assert_null(nm_allow_match(&al, "github.com", 443));
	assert_non_null(nm_allow_match(&al, "a.example.org", NM_ALLOW_ANY_PORT));
	assert_null(nm_allow_match(&al, "example.org", NM_ALLOW_ANY_PORT));
	assert_null(nm_allow_match(&al, "gitlab.com", NM_ALLOW_ANY_PORT));
	nm_allow_free(&al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm),
		cmocka_unit_test(test_norm_lengths),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_allow_exact_first),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_allow_any_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
