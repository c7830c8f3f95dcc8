// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/proxy/http_head.c: HTTP request heads (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http_head.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static enum nmp_http_result parse(const char *s, struct nmp_http_req *r)
{
	return nmp_http_parse(s, strlen(s), r);
}

static void want(const char *s, enum nmp_http_result w, struct nmp_http_req *r)
{
	enum nmp_http_result g = parse(s, r);

	if (g != w)
		fail_msg("'%.80s': got %s (%s), want %s", s, nmp_http_result_str(g), r->why ? r->why : "",
			 nmp_http_result_str(w));
}

/* ---- the forms ------------------------------------------------------------ */
static void test_origin_form(void **state)
{
	struct nmp_http_req r;
	const char *s = "GET /simple?x=1 HTTP/1.1\r\nHost: Pypi.ORG\r\nUser-Agent: t\r\n\r\nBODY";

	(void)state;
	want(s, NMP_HTTP_OK, &r);
	assert_string_equal(r.method, "GET");
	assert_int_equal(r.form, NMP_FORM_ORIGIN);
	assert_string_equal(r.host, "Pypi.ORG");
	assert_int_equal(r.port, 0);
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.head_len, strlen(s) - 4);
	assert_int_equal(r.line_len, strlen("GET /simple?x=1 HTTP/1.1\r\n"));
	assert_false(r.connect);
	/* every prefix waits */
	for (size_t n = 0; n < r.head_len; n++) {
		struct nmp_http_req p;

		if (nmp_http_parse(s, n, &p) != NMP_HTTP_NEED_MORE)
			fail_msg("prefix %zu: %s (%s)", n, nmp_http_result_str(nmp_http_parse(s, n, &p)), p.why);
	}
	want("GET / HTTP/1.1\r\nhost: a.example:8080\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "a.example");
	assert_int_equal(r.port, 8080);
	want("GET / HTTP/1.1\r\nHost:[2a00:1:2:3::44]:80 \r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "[2a00:1:2:3::44]");
	assert_int_equal(r.port, 80);
	want("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", NMP_HTTP_OK, &r);
	assert_int_equal(r.form, NMP_FORM_ASTERISK);
	/* HTTP/1.0 may leave Host out: no name */
	want("GET / HTTP/1.0\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "");
	assert_int_equal(r.minor, 0);
	want("GET / HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
}

static void test_absolute_form(void **state)
{
	struct nmp_http_req r;
	const char *s = "GET http://A.Example:8080/p/q?x HTTP/1.1\r\nHost: A.Example:8080\r\n\r\n";

	(void)state;
	want(s, NMP_HTTP_OK, &r);
	assert_int_equal(r.form, NMP_FORM_ABSOLUTE);
	assert_string_equal(r.host, "A.Example");
	assert_int_equal(r.port, 8080);
	assert_true(r.has_host_hdr);
	assert_memory_equal(s + r.path_off, "/p/q?x", r.path_len);
	assert_int_equal(r.path_len, 6);

	want("GET HTTP://b.example HTTP/1.1\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "b.example");
	assert_int_equal(r.port, 0);
	assert_int_equal(r.path_len, 0);
	assert_false(r.has_host_hdr);

	want("GET http://b.example?q=1 HTTP/1.1\r\n\r\n", NMP_HTTP_OK, &r);
	assert_int_equal(r.path_len, 4);

	want("GET http://[2a00:1:2:3::44]:8080/x HTTP/1.1\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "[2a00:1:2:3::44]");
	assert_int_equal(r.port, 8080);

	/* the Host header does not replace the target's authority */
	want("GET http://c.example/ HTTP/1.1\r\nHost: d.example\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "c.example");
	assert_string_equal(r.hdr_host, "d.example");

	want("GET https://c.example/ HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("GET ftp://c.example/ HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("GET http://user:pw@c.example/ HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("GET http://c.example/#frag HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("GET http:///x HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("GET http://c%2eexample/ HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("GET c.example/ HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
}

static void test_connect(void **state)
{
	struct nmp_http_req r;

	(void)state;
	want("CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n", NMP_HTTP_OK, &r);
	assert_true(r.connect);
	assert_int_equal(r.form, NMP_FORM_AUTHORITY);
	assert_string_equal(r.host, "pypi.org");
	assert_int_equal(r.port, 443);
	want("CONNECT [2a00:1:2:3::44]:443 HTTP/1.1\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "[2a00:1:2:3::44]");
	want("CONNECT 11.22.33.44:443 HTTP/1.0\r\n\r\n", NMP_HTTP_OK, &r);
	assert_string_equal(r.host, "11.22.33.44");

	want("CONNECT pypi.org HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT pypi.org: HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT pypi.org:0 HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT pypi.org:65536 HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT pypi.org:443x HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT [2a00::44 HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT [zz::1]:443 HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT /x HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
	want("CONNECT a@b:443 HTTP/1.1\r\n\r\n", NMP_HTTP_MALFORMED, &r);
}

/* ---- refusals --------------------------------------------------------------- */
static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\nHost: a\n\n",              /* bare LF */
		"GET / HTTP/1.1\r\nHost: a\r\n\n",
		"GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n",      /* bare CR */
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",       /* double space */
		"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",       /* blank before ':' */
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: \x01\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nno colon\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\n: v\r\nHost: a\r\n\r\n",
		"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
		"ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: a\r\n\r\n", /* method of 17 */
		"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET\r\n\r\n",
		"GET /\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	struct nmp_http_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		want(bad[i], NMP_HTTP_MALFORMED, &r);
	/* garbage is refused at once, without waiting for a line end */
	assert_int_equal(nmp_http_parse("\x00\x01\x02", 3, &r), NMP_HTTP_MALFORMED);
	assert_int_equal(nmp_http_parse("\x16\x03\x01", 3, &r), NMP_HTTP_MALFORMED);
	assert_int_equal(nmp_http_parse("GE\x01", 3, &r), NMP_HTTP_MALFORMED);
	assert_int_equal(nmp_http_parse("G@T", 3, &r), NMP_HTTP_MALFORMED);
	assert_int_equal(nmp_http_parse("GET / HTTP/1.1\r\nX: a\rb", 23, &r), NMP_HTTP_MALFORMED);
	/* NUL inside a complete line */
	assert_int_equal(nmp_http_parse("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 28, &r), NMP_HTTP_MALFORMED);
	/* a prefix ending in CR waits */
	want("GET / HTTP/1.1\r", NMP_HTTP_NEED_MORE, &r);
	want("GET / HTTP/1.1\r\nHost: a\r\n\r", NMP_HTTP_NEED_MORE, &r);
	want("", NMP_HTTP_NEED_MORE, &r);
}

static void test_limits(void **state)
{
	static char buf[3 * NMP_HTTP_HEAD_MAX];
	struct nmp_http_req r;
	size_t n;

	(void)state;
	/* a request line that never ends */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', NMP_HTTP_LINE_MAX);
	buf[n + NMP_HTTP_LINE_MAX] = 0;
	want(buf, NMP_HTTP_TOO_LARGE, &r);
	/* one just within the line limit is fine */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', NMP_HTTP_LINE_MAX - 5 - 9);
	n += NMP_HTTP_LINE_MAX - 5 - 9;
	snprintf(buf + n, sizeof(buf) - n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	want(buf, NMP_HTTP_OK, &r);
	/* 100 headers fine, 101 too many */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 99; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	want(buf, NMP_HTTP_OK, &r);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-last: v\r\n");
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	want(buf, NMP_HTTP_TOO_LARGE, &r);
	/* a head over 16 KiB of short headers, never ending */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 50; i++) {
		memset(buf + n, 'v', 400);
		memcpy(buf + n, "X-Big: ", 7);
		n += 400;
		memcpy(buf + n, "\r\n", 2);
		n += 2;
	}
	buf[n] = 0;
	want(buf, NMP_HTTP_TOO_LARGE, &r);
	/* but a shorter version of it just waits */
	assert_int_equal(nmp_http_parse(buf, 4000, &r), NMP_HTTP_NEED_MORE);
	/* a header line over the limit */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX-Long: ");
	memset(buf + n, 'v', NMP_HTTP_LINE_MAX + 10);
	buf[n + NMP_HTTP_LINE_MAX + 10] = 0;
	want(buf, NMP_HTTP_TOO_LARGE, &r);
}

static void test_authority(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_true(nmp_authority_split("a.b:1", 5, host, sizeof(host), &port));
	assert_string_equal(host, "a.b");
	assert_int_equal(port, 1);
	assert_true(nmp_authority_split("[::1]", 5, host, sizeof(host), &port));
	assert_string_equal(host, "[::1]");
	assert_int_equal(port, 0);
	assert_false(nmp_authority_split("", 0, host, sizeof(host), &port));
	assert_false(nmp_authority_split(":80", 3, host, sizeof(host), &port));
	assert_false(nmp_authority_split("[]:80", 5, host, sizeof(host), &port));
	assert_false(nmp_authority_split("[::1]x", 6, host, sizeof(host), &port));
	assert_false(nmp_authority_split("a:b:c", 5, host, sizeof(host), &port));
	assert_false(nmp_authority_split("a:000080", 8, host, sizeof(host), &port));
	assert_false(nmp_authority_split("abcdefgh", 8, host, 4, &port)); /* does not fit */
}

/* Single-byte changes of a valid head: no crash, consistent lengths. */
static void test_mutations(void **state)
{
	const char *s = "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\nProxy-Authorization: x\r\n\r\n";
	size_t n = strlen(s);
	char buf[256];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (unsigned v = 1; v < 256; v += 13) {
			struct nmp_http_req r;

			memcpy(buf, s, n);
			buf[i] = (char)(buf[i] ^ v);
			if (nmp_http_parse(buf, n, &r) == NMP_HTTP_OK && (r.head_len > n || r.line_len > r.head_len))
				fail_msg("byte %zu ^ %u: lengths %zu %zu", i, v, r.head_len, r.line_len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_form), cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_connect),     cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),      cmocka_unit_test(test_authority),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
