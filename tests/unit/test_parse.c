// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/parse.c (cmocka). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------- */

/* Parse that must succeed, with a readable failure. */
static struct nm_cidr must_parse(const char *s)
{
	char err[NM_ERR_LEN] = "";
	struct nm_cidr c;
	int rc = nm_parse_cidr(s, &c, err, sizeof(err));

	if (rc)
		fail_msg("'%s' rejected (rc %d): %s", s, rc, err);
	return c;
}

/* Parse that must fail; the message must hold `want` and be one line. */
static void must_reject(const char *s, const char *want)
{
	char err[NM_ERR_LEN] = "";
	struct nm_cidr c, before;
	int rc;

	memset(&c, 0xa5, sizeof(c));
	before = c;
	rc = nm_parse_cidr(s, &c, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("'%s' accepted (rc %d)", s, rc);
	if (!strstr(err, want))
		fail_msg("'%s': message \"%s\" lacks \"%s\"", s, err, want);
	if (!err[0] || strchr(err, '\n') || strchr(err, '\t') || strchr(err, '\r'))
		fail_msg("'%s': message not one line: \"%s\"", s, err);
	if (memcmp(&c, &before, sizeof(c)))
		fail_msg("'%s': output written on error", s);
}

static void assert_cidr_eq(const struct nm_cidr *a, const struct nm_cidr *b, const char *ctx)
{
	if (memcmp(a, b, sizeof(*a))) {
		char x[NM_CIDR_STRLEN], y[NM_CIDR_STRLEN];

		fail_msg("%s: %s (fam %u len %u port %u) != %s (fam %u len %u port %u)", ctx,
			 nm_format_cidr(a, x, sizeof(x)), a->family, a->prefixlen, a->port,
			 nm_format_cidr(b, y, sizeof(y)), b->family, b->prefixlen, b->port);
	}
}

/* ---- accepted forms ------------------------------------------------------ */

struct accept_case {
	const char *in;
	__u8 family;
	__u8 prefixlen;
	__u16 port;
	__u8 addr[16];
	const char *fmt; /* expected nm_format_cidr text, NULL: don't check */
};

#define A4(a, b, c, d) { a, b, c, d }
#define FD00_1 { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }

static const struct accept_case accept_cases[] = {
	/* IPv4 */
	{ "1.2.3.4",          4, 32, 0,     A4(1, 2, 3, 4),       "1.2.3.4" },
	{ "1.2.3.4/32",       4, 32, 0,     A4(1, 2, 3, 4),       "1.2.3.4" },
	{ "1.2.3.0/24",       4, 24, 0,     A4(1, 2, 3, 0),       "1.2.3.0/24" },
	{ "10.0.0.0/8",       4, 8,  0,     A4(10, 0, 0, 0),      "10.0.0.0/8" },
	{ "10.0.0.0/9",       4, 9,  0,     A4(10, 0, 0, 0),      "10.0.0.0/9" },
	{ "10.128.0.0/9",     4, 9,  0,     A4(10, 128, 0, 0),    "10.128.0.0/9" },
	{ "128.0.0.0/1",      4, 1,  0,     A4(128, 0, 0, 0),     "128.0.0.0/1" },
	{ "0.0.0.0/0",        4, 0,  0,     A4(0, 0, 0, 0),       "0.0.0.0/0" },
	{ "0.0.0.0",          4, 32, 0,     A4(0, 0, 0, 0),       "0.0.0.0" },
	{ "255.255.255.255",  4, 32, 0,     A4(255, 255, 255, 255), "255.255.255.255" },
	{ "255.255.255.254/31", 4, 31, 0,   A4(255, 255, 255, 254), "255.255.255.254/31" },
	{ "1.2.3.4:80",       4, 32, 80,    A4(1, 2, 3, 4),       "1.2.3.4:80" },
	{ "1.2.3.4:1",        4, 32, 1,     A4(1, 2, 3, 4),       "1.2.3.4:1" },
	{ "1.2.3.4:65535",    4, 32, 65535, A4(1, 2, 3, 4),       "1.2.3.4:65535" },
	{ "0.0.0.0:53",       4, 32, 53,    A4(0, 0, 0, 0),       "0.0.0.0:53" },
	{ "100.64.0.0/10",    4, 10, 0,     A4(100, 64, 0, 0),    "100.64.0.0/10" },
	/* IPv6 */
	{ "fd00::1",          6, 128, 0,    FD00_1,               "fd00::1" },
	{ "fd00::1/128",      6, 128, 0,    FD00_1,               "fd00::1" },
	{ "FD00::1",          6, 128, 0,    FD00_1,               "fd00::1" },
	{ "fd00:0:0:0:0:0:0:0001", 6, 128, 0, FD00_1,             "fd00::1" },
	{ "[fd00::1]:80",     6, 128, 80,   FD00_1,               "[fd00::1]:80" },
	{ "[fd00::1]:65535",  6, 128, 65535, FD00_1,              "[fd00::1]:65535" },
	{ "fd00::/8",         6, 8,   0,    { 0xfd },             "fd00::/8" },
	{ "fe80::/10",        6, 10,  0,    { 0xfe, 0x80 },       "fe80::/10" },
	{ "2001:db8::/32",    6, 32,  0,    { 0x20, 0x01, 0x0d, 0xb8 }, "2001:db8::/32" },
	{ "::/0",             6, 0,   0,    { 0 },                "::/0" },
	{ "::",               6, 128, 0,    { 0 },                "::" },
	{ "::1",              6, 128, 0,    { [15] = 1 },         "::1" },
	{ "[::1]:443",        6, 128, 443,  { [15] = 1 },         "[::1]:443" },
	{ "::/1",             6, 1,   0,    { 0 },                "::/1" },
	{ "8000::/1",         6, 1,   0,    { 0x80 },             "8000::/1" },
	{ "1:2:3:4:5:6:7:8",  6, 128, 0,
	  { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8 },    "1:2:3:4:5:6:7:8" },
	{ "fd00::1:80",       6, 128, 0,    /* no brackets: an address */
	  { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x80 }, "fd00::1:80" },
	/* IPv6 that merely embeds dotted text, not mapped */
	{ "64:ff9b::1.2.3.4", 6, 128, 0,
	  { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 }, "64:ff9b::102:304" },
	{ "::1.2.3.4",        6, 128, 0,    { [12] = 1, 2, 3, 4 }, NULL },
	{ "::ffff:0:1.2.3.4", 6, 128, 0,    /* SIIT, not mapped */
	  { [8] = 0xff, 0xff, 0, 0, 1, 2, 3, 4 },                 NULL },
	/* v4-mapped: normalised to IPv4 */
	{ "::ffff:1.2.3.4",   4, 32, 0,     A4(1, 2, 3, 4),       "1.2.3.4" },
	{ "::FFFF:1.2.3.4",   4, 32, 0,     A4(1, 2, 3, 4),       "1.2.3.4" },
	{ "0:0:0:0:0:ffff:1.2.3.4", 4, 32, 0, A4(1, 2, 3, 4),     "1.2.3.4" },
	{ "::ffff:102:304",   4, 32, 0,     A4(1, 2, 3, 4),       "1.2.3.4" },
	{ "::ffff:1.2.3.4/128", 4, 32, 0,   A4(1, 2, 3, 4),       "1.2.3.4" },
	{ "::ffff:1.2.3.0/120", 4, 24, 0,   A4(1, 2, 3, 0),       "1.2.3.0/24" },
	{ "::ffff:10.0.0.0/104", 4, 8, 0,   A4(10, 0, 0, 0),      "10.0.0.0/8" },
	{ "::ffff:0:0/96",    4, 0,  0,     A4(0, 0, 0, 0),       "0.0.0.0/0" },
	{ "::ffff:0.0.0.0/96", 4, 0, 0,     A4(0, 0, 0, 0),       "0.0.0.0/0" },
	{ "[::ffff:1.2.3.4]:80", 4, 32, 80, A4(1, 2, 3, 4),       "1.2.3.4:80" },
	{ "[::ffff:127.0.0.1]:3128", 4, 32, 3128, A4(127, 0, 0, 1), "127.0.0.1:3128" },
};

static void test_cidr_accept(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(accept_cases); i++) {
		const struct accept_case *t = &accept_cases[i];
		struct nm_cidr want = { .family = t->family, .prefixlen = t->prefixlen, .port = t->port };
		struct nm_cidr got = must_parse(t->in);
		char buf[NM_CIDR_STRLEN];

		memcpy(want.addr, t->addr, sizeof(want.addr));
		assert_cidr_eq(&got, &want, t->in);
		if (t->fmt && strcmp(nm_format_cidr(&got, buf, sizeof(buf)), t->fmt))
			fail_msg("'%s' formats as '%s', want '%s'", t->in, buf, t->fmt);
	}
}

/* ---- rejected forms ------------------------------------------------------ */

/* The message shapes promised to callers, verbatim. */
static void test_cidr_exact_messages(void **state)
{
	static const struct { const char *in, *msg; } t[] = {
		{ "10.0.0.1/8",   "'10.0.0.1/8': host bits set (did you mean 10.0.0.0/8?)" },
		{ "10.0.0.0/33",  "'10.0.0.0/33': prefix length out of range 0..32" },
		{ "fd00::/129",   "'fd00::/129': prefix length out of range 0..128" },
		{ "1.2.3.4:0",    "'1.2.3.4:0': port out of range 1..65535" },
		{ "abc",          "'abc': not an IPv4 or IPv6 address" },
		{ "",             "'': empty address" },
		{ "fd00::1/8",    "'fd00::1/8': host bits set (did you mean fd00::/8?)" },
		{ "1.2.3.4/0",    "'1.2.3.4/0': host bits set (did you mean 0.0.0.0/0?)" },
		{ "::ffff:1.2.3.4/120",
		  "'::ffff:1.2.3.4/120': host bits set (did you mean ::ffff:1.2.3.0/120?)" },
		{ "010.0.0.1",    "'010.0.0.1': IPv4 octet with a leading zero (ambiguous, octal?)" },
		{ "fe80::1%eth0", "'fe80::1%eth0': IPv6 zone ids are not supported" },
		{ " 1.2.3.4",     "' 1.2.3.4': whitespace is not allowed" },
		{ "1.2.3.4\n",    "'1.2.3.4\\n': whitespace is not allowed" },
		{ "\t1.2.3.4",    "'\\t1.2.3.4': whitespace is not allowed" },
		{ "10.0.0.0/8:80",
		  "'10.0.0.0/8:80': a port is only allowed on a single address, not a prefix" },
		{ "[fd00::1]",
		  "'[fd00::1]': brackets are only for an address with a port ([v6]:port)" },
		{ "10.0.0.0/08",  "'10.0.0.0/08': prefix length has a leading zero" },
		{ "10.0.0.0/+8",  "'10.0.0.0/+8': prefix length must be decimal digits" },
		{ "10.0.0.0/",    "'10.0.0.0/': missing prefix length" },
		{ "1.2.3.4:",     "'1.2.3.4:': missing port" },
		{ "1.2.3.4:080",  "'1.2.3.4:080': port has a leading zero" },
		{ "::ffff:0:0/95", "'::ffff:0:0/95': IPv4-mapped prefix shorter than /96 is not IPv4" },
		{ "1.2.3.4\x01",  "'1.2.3.4\\x01': not an IPv4 or IPv6 address" },
	};
	char err[NM_ERR_LEN];
	struct nm_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		err[0] = '\0';
		assert_int_equal(nm_parse_cidr(t[i].in, &c, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, t[i].msg);
	}
}

static const struct { const char *in, *want; } reject_cases[] = {
	/* empty / whitespace anywhere */
	{ "",                     "empty" },
	{ " ",                    "whitespace" },
	{ " 1.2.3.4",             "whitespace" },
	{ "1.2.3.4 ",             "whitespace" },
	{ "1.2. 3.4",             "whitespace" },
	{ "1.2.3.4/ 24",          "whitespace" },
	{ "1.2.3.0 /24",          "whitespace" },
	{ "1.2.3.4: 80",          "whitespace" },
	{ "\t1.2.3.4",            "whitespace" },
	{ "1.2.3.4\t",            "whitespace" },
	{ "1.2.3.4\n",            "whitespace" },
	{ "1.2.3.4\r\n",          "whitespace" },
	{ "\n",                   "whitespace" },
	{ "fd00:: 1",             "whitespace" },
	{ "[fd00::1] :80",        "whitespace" },
	{ "1.2.3.4\v",            "whitespace" },
	{ "1.2.3.4\f",            "whitespace" },
	/* host bits */
	{ "10.0.0.1/8",           "host bits set (did you mean 10.0.0.0/8?)" },
	{ "11.0.0.0/7",           "host bits set (did you mean 10.0.0.0/7?)" },
	{ "10.128.0.0/8",         "did you mean 10.0.0.0/8?" },
	{ "10.0.0.1/31",          "did you mean 10.0.0.0/31?" },
	{ "255.255.255.255/0",    "did you mean 0.0.0.0/0?" },
	{ "fd00::1/127",          "did you mean fd00::/127?" },
	{ "fd00::/7",             "did you mean fc00::/7?" },
	{ "::1/0",                "did you mean ::/0?" },
	{ "::ffff:1.2.3.5/127",   "host bits set (did you mean ::ffff:1.2.3.4/127?)" },
	/* prefix length */
	{ "10.0.0.0/33",          "prefix length out of range 0..32" },
	{ "10.0.0.0/999",         "prefix length out of range 0..32" },
	{ "10.0.0.0/99999999999999999999", "prefix length out of range 0..32" },
	{ "fd00::/129",           "prefix length out of range 0..128" },
	{ "fd00::/256",           "prefix length out of range 0..128" },
	{ "::ffff:1.2.3.4/129",   "prefix length out of range 0..128" },
	{ "10.0.0.0/",            "missing prefix length" },
	{ "10.0.0.0/+8",          "prefix length must be decimal digits" },
	{ "10.0.0.0/-8",          "prefix length must be decimal digits" },
	{ "10.0.0.0/8x",          "prefix length must be decimal digits" },
	{ "10.0.0.0/0x8",         "prefix length must be decimal digits" },
	{ "10.0.0.0/8/8",         "prefix length must be decimal digits" },
	{ "10.0.0.0/8.0",         "prefix length must be decimal digits" },
	{ "10.0.0.0/255.0.0.0",   "prefix length must be decimal digits" },
	{ "10.0.0.0/08",          "prefix length has a leading zero" },
	{ "10.0.0.0/00",          "prefix length has a leading zero" },
	{ "0.0.0.0/00",           "prefix length has a leading zero" },
	{ "fd00::/008",           "prefix length has a leading zero" },
	{ "/8",                   "missing address" },
	/* IPv4 text */
	{ "010.0.0.1",            "leading zero" },
	{ "1.2.3.04",             "leading zero" },
	{ "1.02.3.4:80",          "leading zero" },
	{ "00.0.0.0/0",           "leading zero" },
	{ "::ffff:010.0.0.1",     "leading zero" },
	{ "abc",                  "not an IPv4 or IPv6 address" },
	{ "1.2.3",                "not an IPv4 or IPv6 address" },
	{ "1.2.3.4.5",            "not an IPv4 or IPv6 address" },
	{ "1.2.3.256",            "not an IPv4 or IPv6 address" },
	{ "1.2.3.1000",           "not an IPv4 or IPv6 address" },
	{ "1.2.3.4.",             "not an IPv4 or IPv6 address" },
	{ ".1.2.3.4",             "not an IPv4 or IPv6 address" },
	{ "1..2.3",               "not an IPv4 or IPv6 address" },
	{ "1.2.3.-4",             "not an IPv4 or IPv6 address" },
	{ "1.2.3.+4",             "not an IPv4 or IPv6 address" },
	{ "0x1.2.3.4",            "not an IPv4 or IPv6 address" },
	{ "1.2.3.4a",             "not an IPv4 or IPv6 address" },
	{ "16909060",             "not an IPv4 or IPv6 address" },
	{ "1.2.3.4x/24",          "not an IPv4 or IPv6 address" },
	{ "localhost",            "not an IPv4 or IPv6 address" },
	{ "example.com:80",       "not an IPv4 or IPv6 address" },
	{ "1.2.3.4\x01",          "not an IPv4 or IPv6 address" },
	{ "1.2.3.4\xff",          "not an IPv4 or IPv6 address" },
	/* IPv6 text */
	{ "fd00:::1",             "not an IPv4 or IPv6 address" },
	{ "fd00::g",              "not an IPv4 or IPv6 address" },
	{ "fd00::12345",          "not an IPv4 or IPv6 address" },
	{ "1:2:3:4:5:6:7:8:9",    "not an IPv4 or IPv6 address" },
	{ "1:2:3:4:5:6:7",        "not an IPv4 or IPv6 address" },
	{ "1::2::3",              "not an IPv4 or IPv6 address" },
	{ ":1::2",                "not an IPv4 or IPv6 address" },
	{ "1::2:",                "not an IPv4 or IPv6 address" },
	{ "::ffff:1.2.3",         "not an IPv4 or IPv6 address" },
	{ "::ffff:1.2.3.4.5",     "not an IPv4 or IPv6 address" },
	{ "::1.2.3.4:5",          "not an IPv4 or IPv6 address" },
	{ "::ffff:1.2.3.4:80",    "not an IPv4 or IPv6 address" },
	{ "1.2.3.4::",            "not an IPv4 or IPv6 address" },
	{ "fd00:1",               "not an IPv4 or IPv6 address" },
	{ "::ffff:256.1.1.1",     "not an IPv4 or IPv6 address" },
	{ "fd00::-1",             "not an IPv4 or IPv6 address" },
	/* zones */
	{ "fe80::1%eth0",         "zone ids are not supported" },
	{ "fe80::1%1",            "zone ids are not supported" },
	{ "[fe80::1%eth0]:80",    "zone ids are not supported" },
	{ "fe80::%eth0/64",       "zone ids are not supported" },
	/* brackets */
	{ "[fd00::1]",            "brackets are only for an address with a port" },
	{ "[fd00::1]/128",        "expected ':port' after ']'" },
	{ "[fd00::1]]:80",        "expected ':port' after ']'" },
	{ "[fd00::1]x",           "expected ':port' after ']'" },
	{ "[fd00::1",             "missing ']'" },
	{ "[fd00::1:80",          "missing ']'" },
	{ "[1.2.3.4]:80",         "brackets are only for IPv6" },
	{ "[]:80",                "missing address" },
	{ "[[fd00::1]]:80",       "expected ':port' after ']'" },
	{ "fd00::1]:80",          "not an IPv4 or IPv6 address" },
	{ "]",                    "not an IPv4 or IPv6 address" },
	/* ports */
	{ "[fd00::/8]:80",        "a port is only allowed on a single address" },
	{ "[fd00::1/128]:80",     "a port is only allowed on a single address" },
	{ "10.0.0.0/8:80",        "a port is only allowed on a single address" },
	{ "1.2.3.4/32:80",        "a port is only allowed on a single address" },
	{ "fd00::/8:80",          "a port is only allowed on a single address" },
	{ "1.2.3.4:",             "missing port" },
	{ "[fd00::1]:",           "missing port" },
	{ ":80",                  "missing address" },
	{ "1.2.3.4:0",            "port out of range 1..65535" },
	{ "1.2.3.4:65536",        "port out of range 1..65535" },
	{ "1.2.3.4:99999999999",  "port out of range 1..65535" },
	{ "[fd00::1]:0",          "port out of range 1..65535" },
	{ "[fd00::1]:70000",      "port out of range 1..65535" },
	{ "1.2.3.4:080",          "port has a leading zero" },
	{ "1.2.3.4:00",           "port has a leading zero" },
	{ "[fd00::1]:0443",       "port has a leading zero" },
	{ "1.2.3.4:+80",          "port must be decimal digits" },
	{ "1.2.3.4:-80",          "port must be decimal digits" },
	{ "1.2.3.4:8o",           "port must be decimal digits" },
	{ "1.2.3.4:0x50",         "port must be decimal digits" },
	{ "1.2.3.4:http",         "port must be decimal digits" },
	{ "[fd00::1]:80:80",      "port must be decimal digits" },
	{ "[fd00::1]:80/8",       "port must be decimal digits" },
	/* mapped prefixes shorter than /96 */
	{ "::ffff:0:0/95",        "IPv4-mapped prefix shorter than /96 is not IPv4" },
	{ "::ffff:1.2.3.4/80",    "IPv4-mapped prefix shorter than /96 is not IPv4" },
	{ "::ffff:0.0.0.0/0",     "IPv4-mapped prefix shorter than /96 is not IPv4" },
};

static void test_cidr_reject(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(reject_cases); i++)
		must_reject(reject_cases[i].in, reject_cases[i].want);
}

static void test_cidr_long_input(void **state)
{
	char err[NM_ERR_LEN];
	struct nm_cidr c;
	char *s = malloc(4097);
	__u16 port;
	__u8 v;

	(void)state;
	assert_non_null(s);
	memset(s, '1', 4096);
	s[4096] = '\0';
	must_reject(s, "too long (at most 64 characters)");
	assert_int_equal(nm_parse_cidr(s, &c, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "1111...': too long"));

	/* long tails after a valid start */
	memcpy(s, "10.0.0.0/", 9);
	must_reject(s, "too long");
	memcpy(s, "1.2.3.4:", 8);
	must_reject(s, "too long");
	s[0] = '[';
	must_reject(s, "too long");
	/* whitespace at the far end of a long string still wins */
	s[4095] = ' ';
	must_reject(s, "whitespace");

	/* 4 KiB of digits as a port, a word, a policy name */
	memset(s, '9', 4096);
	assert_int_equal(nm_parse_port(s, &port, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "port out of range"));
	assert_int_equal(nm_parse_action(s, &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "...': unknown action"));
	assert_int_equal(nm_parse_policy_name(s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 31"));

	/* the longest valid texts fit */
	must_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	must_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255");
	c = must_parse("0:0:0:0:0:ffff:255.255.255.255/128");
	assert_int_equal(c.family, 4);
	free(s);
}

static void test_cidr_err_buffer(void **state)
{
	struct nm_cidr c;
	char small[8];

	(void)state;
	/* no buffer at all */
	assert_int_equal(nm_parse_cidr("abc", &c, NULL, 0), -EINVAL);
	assert_int_equal(nm_parse_cidr("abc", &c, small, 0), -EINVAL);
	assert_int_equal(nm_parse_cidr(NULL, &c, NULL, 0), -EINVAL);
	/* truncated, still terminated */
	memset(small, 'x', sizeof(small));
	assert_int_equal(nm_parse_cidr("10.0.0.1/8", &c, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "'10.0.0");
	/* success leaves err alone */
	strcpy(small, "keep");
	assert_int_equal(nm_parse_cidr("10.0.0.0/8", &c, small, sizeof(small)), 0);
	assert_string_equal(small, "keep");
}

/* ---- ports --------------------------------------------------------------- */

static void test_port(void **state)
{
	static const struct { const char *in; int ok; __u16 v; const char *want; } t[] = {
		{ "1",      1, 1,     NULL },
		{ "80",     1, 80,    NULL },
		{ "443",    1, 443,   NULL },
		{ "65535",  1, 65535, NULL },
		{ "0",      0, 0, "'0': port out of range 1..65535" },
		{ "65536",  0, 0, "'65536': port out of range 1..65535" },
		{ "99999",  0, 0, "'99999': port out of range 1..65535" },
		{ "123456", 0, 0, "'123456': port out of range 1..65535" },
		{ "99999999999999999999999", 0, 0, "port out of range 1..65535" },
		{ "080",    0, 0, "'080': port has a leading zero" },
		{ "00",     0, 0, "'00': port has a leading zero" },
		{ "",       0, 0, "'': missing port" },
		{ "+80",    0, 0, "'+80': port must be decimal digits" },
		{ "-1",     0, 0, "'-1': port must be decimal digits" },
		{ " 80",    0, 0, "' 80': port must be decimal digits" },
		{ "80 ",    0, 0, "port must be decimal digits" },
		{ "8 0",    0, 0, "port must be decimal digits" },
		{ "80\n",   0, 0, "'80\\n': port must be decimal digits" },
		{ "\t80",   0, 0, "'\\t80': port must be decimal digits" },
		{ "0x50",   0, 0, "port must be decimal digits" },
		{ "1e3",    0, 0, "port must be decimal digits" },
		{ "http",   0, 0, "port must be decimal digits" },
		{ "８０",   0, 0, "port must be decimal digits" },
	};
	char err[NM_ERR_LEN];
	size_t i;
	__u16 p;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		int rc;

		p = 4242;
		err[0] = '\0';
		rc = nm_parse_port(t[i].in, &p, err, sizeof(err));
		if (t[i].ok) {
			assert_int_equal(rc, 0);
			assert_int_equal(p, t[i].v);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_int_equal(p, 4242);
			if (!strstr(err, t[i].want))
				fail_msg("port '%s': \"%s\" lacks \"%s\"", t[i].in, err, t[i].want);
		}
	}
	assert_int_equal(nm_parse_port(NULL, &p, err, sizeof(err)), -EINVAL);
}

/* ---- endpoints ----------------------------------------------------------- */

static void test_endpoint_accept(void **state)
{
	char err[NM_ERR_LEN] = "";
	struct nm_ep4 e4;
	struct nm_ep6 e6, e6_before;
	const __u8 *b;
	int fam = 0;

	(void)state;
	memset(&e4, 0xee, sizeof(e4));
	memset(&e6, 0xee, sizeof(e6));
	e6_before = e6;
	assert_int_equal(nm_parse_endpoint("1.2.3.4:3128", &fam, &e4, &e6, err, sizeof(err)), 0);
	assert_int_equal(fam, 4);
	b = (const __u8 *)&e4;
	assert_int_equal(b[0], 1);
	assert_int_equal(b[3], 4);
	assert_int_equal(e4.addr, htonl(0x01020304));
	assert_int_equal(b[4], 3128 >> 8);
	assert_int_equal(b[5], 3128 & 0xff);
	assert_int_equal(e4.port, htons(3128));
	assert_int_equal(e4._pad, 0);
	assert_memory_equal(&e6, &e6_before, sizeof(e6)); /* other family untouched */

	memset(&e6, 0xee, sizeof(e6));
	assert_int_equal(nm_parse_endpoint("[fd00::1]:3128", &fam, &e4, &e6, err, sizeof(err)), 0);
	assert_int_equal(fam, 6);
	b = (const __u8 *)e6.addr;
	assert_int_equal(b[0], 0xfd);
	assert_int_equal(b[15], 1);
	assert_int_equal(ntohl(e6.addr[0]), 0xfd000000);
	assert_int_equal(e6.addr[1], 0);
	assert_int_equal(e6.addr[2], 0);
	assert_int_equal(ntohl(e6.addr[3]), 1);
	assert_int_equal(e6.port, htons(3128));
	assert_int_equal(e6._pad, 0);

	/* mapped endpoints are IPv4, even with no ep6 to fill */
	memset(&e4, 0, sizeof(e4));
	assert_int_equal(nm_parse_endpoint("[::ffff:127.0.0.1]:53", &fam, &e4, NULL,
					   err, sizeof(err)), 0);
	assert_int_equal(fam, 4);
	assert_int_equal(e4.addr, htonl(0x7f000001));
	assert_int_equal(e4.port, htons(53));

	assert_int_equal(nm_parse_endpoint("[::1]:53", &fam, NULL, &e6, err, sizeof(err)), 0);
	assert_int_equal(fam, 6);
	assert_int_equal(ntohl(e6.addr[3]), 1);
	assert_int_equal(ntohs(e6.port), 53);
}

static void test_endpoint_reject(void **state)
{
	static const struct { const char *in, *want; } t[] = {
		{ "1.2.3.4",        "'1.2.3.4': endpoint needs a port" },
		{ "fd00::1",        "'fd00::1': endpoint needs a port" },
		{ "::ffff:1.2.3.4", "endpoint needs a port" },
		{ "10.0.0.0/8",     "'10.0.0.0/8': an endpoint is a single address with a port, not a prefix" },
		{ "1.2.3.4/32",     "not a prefix" },
		{ "fd00::1/128",    "not a prefix" },
		{ "[fd00::1]",      "brackets are only for an address with a port" },
		{ "1.2.3.4:0",      "port out of range 1..65535" },
		{ "1.2.3.4:",       "missing port" },
		{ "10.0.0.0/8:80",  "a port is only allowed on a single address" },
		{ " 1.2.3.4:80",    "whitespace" },
		{ "1.2.3.4:80\n",   "whitespace" },
		{ "",               "empty" },
		{ "proxy:3128",     "not an IPv4 or IPv6 address" },
		{ "[fe80::1%lo]:80", "zone ids are not supported" },
	};
	struct nm_ep4 e4, e4_before;
	struct nm_ep6 e6, e6_before;
	char err[NM_ERR_LEN];
	int fam = 77;
	size_t i;

	(void)state;
	memset(&e4, 0xee, sizeof(e4));
	memset(&e6, 0xee, sizeof(e6));
	e4_before = e4;
	e6_before = e6;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		err[0] = '\0';
		assert_int_equal(nm_parse_endpoint(t[i].in, &fam, &e4, &e6, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, t[i].want))
			fail_msg("endpoint '%s': \"%s\" lacks \"%s\"", t[i].in, err, t[i].want);
	}
	/* a family the caller does not take */
	assert_int_equal(nm_parse_endpoint("[fd00::1]:80", &fam, &e4, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "'[fd00::1]:80': an IPv6 endpoint is not allowed here");
	assert_int_equal(nm_parse_endpoint("1.2.3.4:80", &fam, NULL, &e6, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "'1.2.3.4:80': an IPv4 endpoint is not allowed here");
	assert_int_equal(fam, 77);
	assert_memory_equal(&e4, &e4_before, sizeof(e4));
	assert_memory_equal(&e6, &e6_before, sizeof(e6));
}

/* ---- formatting ---------------------------------------------------------- */

static void test_format_cidr(void **state)
{
	struct nm_cidr c = { 0 };
	char buf[NM_CIDR_STRLEN], tiny[6];

	(void)state;
	c.family = 4;
	c.prefixlen = 32;
	memcpy(c.addr, (__u8[]){ 192, 168, 1, 1 }, 4);
	assert_string_equal(nm_format_cidr(&c, buf, sizeof(buf)), "192.168.1.1");
	c.port = 8080;
	assert_string_equal(nm_format_cidr(&c, buf, sizeof(buf)), "192.168.1.1:8080");
	c.port = 0;
	c.prefixlen = 0;
	memset(c.addr, 0, sizeof(c.addr));
	assert_string_equal(nm_format_cidr(&c, buf, sizeof(buf)), "0.0.0.0/0");

	c.family = 6;
	c.prefixlen = 128;
	memset(c.addr, 0xff, sizeof(c.addr));
	c.port = 65535;
	assert_string_equal(nm_format_cidr(&c, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_true(strlen(buf) < NM_CIDR_STRLEN);
	c.port = 0;
	c.prefixlen = 0;
	memset(c.addr, 0, sizeof(c.addr));
	assert_string_equal(nm_format_cidr(&c, buf, sizeof(buf)), "::/0");

	c.family = 5;
	assert_string_equal(nm_format_cidr(&c, buf, sizeof(buf)), "invalid");

	/* a short buffer truncates and stays terminated; returns buf */
	c = must_parse("10.0.0.0/8");
	assert_ptr_equal(nm_format_cidr(&c, tiny, sizeof(tiny)), tiny);
	assert_string_equal(tiny, "10.0.");
}

/* parse(format(x)) == x for every accepted case, and format is a fixed point */
static void test_format_roundtrip(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(accept_cases); i++) {
		struct nm_cidr a = must_parse(accept_cases[i].in), b;
		char t1[NM_CIDR_STRLEN], t2[NM_CIDR_STRLEN];

		nm_format_cidr(&a, t1, sizeof(t1));
		b = must_parse(t1);
		assert_cidr_eq(&b, &a, t1);
		nm_format_cidr(&b, t2, sizeof(t2));
		assert_string_equal(t1, t2);
	}
}

/* The same over pseudo-random rules of every shape (fixed seed). */
static void test_format_roundtrip_random(void **state)
{
	__u32 x = 0x9e3779b9;
	int i, j;

	(void)state;
	for (i = 0; i < 20000; i++) {
		struct nm_cidr a = { 0 }, b;
		unsigned int max, bits;
		char t[NM_CIDR_STRLEN], err[NM_ERR_LEN];

		a.family = (i & 1) ? 6 : 4;
		max = a.family == 4 ? 32 : 128;
		for (j = 0; j < (a.family == 4 ? 4 : 16); j++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			a.addr[j] = (__u8)x;
		}
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		if (x % 4 == 0) {
			a.prefixlen = (__u8)max;
			a.port = (__u16)(1 + (x >> 8) % 65535);
		} else {
			a.prefixlen = (__u8)((x >> 8) % (max + 1));
		}
		/* clear host bits */
		for (j = 0; j < 16; j++) {
			bits = a.prefixlen > 8 * j ? a.prefixlen - 8 * j : 0;
			if (bits < 8)
				a.addr[j] &= (__u8)(0xff00 >> bits);
		}
		nm_format_cidr(&a, t, sizeof(t));
		if (nm_parse_cidr(t, &b, err, sizeof(err)))
			fail_msg("'%s' (from a formatted rule) rejected: %s", t, err);
		assert_cidr_eq(&b, &a, t);
	}
}

static void test_format_addr16(void **state)
{
	__u32 a[4];
	char buf[NM_CIDR_STRLEN];

	(void)state;
	inet_pton(AF_INET6, "::ffff:1.2.3.4", a);
	assert_string_equal(nm_format_addr16(a, 4, 0, buf, sizeof(buf)), "1.2.3.4");
	assert_string_equal(nm_format_addr16(a, 4, htons(80), buf, sizeof(buf)), "1.2.3.4:80");
	assert_string_equal(nm_format_addr16(a, 6, 0, buf, sizeof(buf)), "::ffff:1.2.3.4");
	assert_string_equal(nm_format_addr16(a, 6, htons(443), buf, sizeof(buf)),
			    "[::ffff:1.2.3.4]:443");
	inet_pton(AF_INET6, "fd00::1", a);
	assert_string_equal(nm_format_addr16(a, 6, 0, buf, sizeof(buf)), "fd00::1");
	assert_string_equal(nm_format_addr16(a, 6, htons(65535), buf, sizeof(buf)),
			    "[fd00::1]:65535");
	/* family 4 but not mapped: print what is there */
	assert_string_equal(nm_format_addr16(a, 4, 0, buf, sizeof(buf)), "fd00::1");
	memset(a, 0, sizeof(a));
	assert_string_equal(nm_format_addr16(a, 6, 0, buf, sizeof(buf)), "::");
	inet_pton(AF_INET6, "::ffff:0.0.0.0", a);
	assert_string_equal(nm_format_addr16(a, 4, htons(53), buf, sizeof(buf)), "0.0.0.0:53");
	/* port byte order: 0x1234 in network order */
	inet_pton(AF_INET6, "::ffff:10.0.0.1", a);
	assert_string_equal(nm_format_addr16(a, 4, htons(0x1234), buf, sizeof(buf)),
			    "10.0.0.1:4660");
}

/* ---- keys and values ----------------------------------------------------- */

static void test_key4_bytes(void **state)
{
	struct nm_cidr c;
	struct nm_key4 k;
	const __u8 *b = (const __u8 *)&k;
	__u32 plen;

	(void)state;
	c = must_parse("10.1.2.0/24");
	memset(&k, 0xff, sizeof(k));
	nm_cidr_to_key4(&c, &k);
	plen = 24;
	assert_memory_equal(b, &plen, 4);
	assert_memory_equal(b + 4, ((__u8[]){ 10, 1, 2, 0, 0, 0, 0, 0 }), 8);

	c = must_parse("1.2.3.4:80");
	memset(&k, 0xff, sizeof(k));
	nm_cidr_to_key4(&c, &k);
	plen = 48;
	assert_int_equal(k.prefixlen, NM_KEY4_HOSTPORT_LEN);
	assert_memory_equal(b, &plen, 4);
	assert_memory_equal(b + 4, ((__u8[]){ 1, 2, 3, 4, 0x00, 0x50, 0, 0 }), 8);

	c = must_parse("0.0.0.0/0");
	memset(&k, 0xff, sizeof(k));
	nm_cidr_to_key4(&c, &k);
	assert_memory_equal(b, ((__u8[12]){ 0 }), 12);

	c = must_parse("255.255.255.255");
	nm_cidr_to_key4(&c, &k);
	assert_int_equal(k.prefixlen, 32);
	assert_memory_equal(b + 4, ((__u8[]){ 255, 255, 255, 255, 0, 0, 0, 0 }), 8);

	c = must_parse("[::ffff:9.8.7.6]:65535");
	nm_cidr_to_key4(&c, &k);
	assert_int_equal(k.prefixlen, 48);
	assert_memory_equal(b + 4, ((__u8[]){ 9, 8, 7, 6, 0xff, 0xff, 0, 0 }), 8);

	/* host bits in a hand-built rule never reach the key */
	memset(&c, 0, sizeof(c));
	c.family = 4;
	c.prefixlen = 12;
	memcpy(c.addr, (__u8[]){ 10, 0xff, 0xff, 0xff }, 4);
	nm_cidr_to_key4(&c, &k);
	assert_memory_equal(b + 4, ((__u8[]){ 10, 0xf0, 0, 0, 0, 0, 0, 0 }), 8);
}

static void test_key6_bytes(void **state)
{
	static const __u8 fd00_1[16] = FD00_1;
	struct nm_cidr c;
	struct nm_key6 k;
	const __u8 *b = (const __u8 *)&k;
	__u32 plen;

	(void)state;
	c = must_parse("[fd00::1]:443");
	memset(&k, 0xff, sizeof(k));
	nm_cidr_to_key6(&c, &k);
	plen = 144;
	assert_int_equal(k.prefixlen, NM_KEY6_HOSTPORT_LEN);
	assert_memory_equal(b, &plen, 4);
	assert_memory_equal(b + 4, fd00_1, 16);
	assert_memory_equal(b + 20, ((__u8[]){ 0x01, 0xbb, 0, 0 }), 4);

	c = must_parse("fd00::/8");
	memset(&k, 0xff, sizeof(k));
	nm_cidr_to_key6(&c, &k);
	plen = 8;
	assert_memory_equal(b, &plen, 4);
	assert_memory_equal(b + 4, ((__u8[20]){ 0xfd }), 20);

	c = must_parse("fd00::1");
	nm_cidr_to_key6(&c, &k);
	assert_int_equal(k.prefixlen, 128);
	assert_memory_equal(b + 4, fd00_1, 16);
	assert_memory_equal(b + 20, ((__u8[4]){ 0 }), 4);

	c = must_parse("::/0");
	memset(&k, 0xff, sizeof(k));
	nm_cidr_to_key6(&c, &k);
	assert_memory_equal(b, ((__u8[24]){ 0 }), 24);
}

static void test_rule_value(void **state)
{
	struct nm_cidr c;
	struct nm_rule r;
	const __u8 *b = (const __u8 *)&r;

	(void)state;
	c = must_parse("1.2.3.4:80");
	memset(&r, 0xff, sizeof(r));
	nm_cidr_to_rule(&c, NM_ACT_REDIRECT, 0x11223344, &r);
	assert_int_equal(r.action, NM_ACT_REDIRECT);
	assert_int_equal(r.prefixlen, 32);
	assert_int_equal(b[2], 0x00);
	assert_int_equal(b[3], 0x50);
	assert_int_equal(r.tag, 0x11223344);

	c = must_parse("10.0.0.0/8");
	nm_cidr_to_rule(&c, NM_ACT_DENY, 0, &r);
	assert_int_equal(r.action, NM_ACT_DENY);
	assert_int_equal(r.prefixlen, 8);
	assert_int_equal(r.port, 0);
	assert_int_equal(r.tag, 0);

	c = must_parse("[fd00::1]:443");
	nm_cidr_to_rule(&c, NM_ACT_ALLOW, 7, &r);
	assert_int_equal(r.prefixlen, 128);
	assert_int_equal(r.port, htons(443));

	c = must_parse("::/0");
	nm_cidr_to_rule(&c, NM_ACT_ALLOW, 7, &r);
	assert_int_equal(r.prefixlen, 0);
	assert_int_equal(r.port, 0);
}

static void test_key_roundtrip(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(accept_cases); i++) {
		struct nm_cidr a = must_parse(accept_cases[i].in), b;

		memset(&b, 0xcc, sizeof(b));
		if (a.family == 4) {
			struct nm_key4 k;

			nm_cidr_to_key4(&a, &k);
			nm_key4_to_cidr(&k, &b);
		} else {
			struct nm_key6 k;

			nm_cidr_to_key6(&a, &k);
			nm_key6_to_cidr(&k, &b);
		}
		assert_cidr_eq(&b, &a, accept_cases[i].in);
	}
}

/* ---- containment --------------------------------------------------------- */

static void test_contains(void **state)
{
	static const struct {
		const char *rule, *addr;
		__u16 port;
		bool in;
	} t[] = {
		{ "10.0.0.0/8",      "10.0.0.0",        0,     true },
		{ "10.0.0.0/8",      "10.255.255.255",  443,   true },
		{ "10.0.0.0/8",      "11.0.0.0",        443,   false },
		{ "10.0.0.0/8",      "9.255.255.255",   443,   false },
		{ "10.0.0.0/9",      "10.127.255.255",  1,     true },
		{ "10.0.0.0/9",      "10.128.0.0",      1,     false },
		{ "10.128.0.0/9",    "10.128.0.0",      1,     true },
		{ "10.128.0.0/9",    "10.127.255.255",  1,     false },
		{ "128.0.0.0/1",     "255.0.0.1",       1,     true },
		{ "128.0.0.0/1",     "127.255.255.255", 1,     false },
		{ "0.0.0.0/0",       "0.0.0.0",         0,     true },
		{ "0.0.0.0/0",       "255.255.255.255", 65535, true },
		{ "255.255.255.254/31", "255.255.255.255", 9,  true },
		{ "255.255.255.254/31", "255.255.255.253", 9,  false },
		{ "1.2.3.4",         "1.2.3.4",         0,     true },
		{ "1.2.3.4",         "1.2.3.4",         65535, true },
		{ "1.2.3.4",         "1.2.3.5",         80,    false },
		{ "1.2.3.4",         "0.2.3.4",         80,    false },
		{ "1.2.3.4:80",      "1.2.3.4",         80,    true },
		{ "1.2.3.4:80",      "1.2.3.4",         81,    false },
		{ "1.2.3.4:80",      "1.2.3.4",         0,     false },
		{ "1.2.3.4:80",      "1.2.3.5",         80,    false },
		{ "::ffff:1.2.3.0/120", "1.2.3.77",     80,    true },
		{ "fd00::/8",        "fdff:ffff::1",    53,    true },
		{ "fd00::/8",        "fe00::",          53,    false },
		{ "fd00::/8",        "fc00::",          53,    false },
		{ "fc00::/7",        "fdff::",          53,    true },
		{ "::/0",            "::",              0,     true },
		{ "::/0",            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, true },
		{ "fd00::/127",      "fd00::1",         1,     true },
		{ "fd00::/127",      "fd00::2",         1,     false },
		{ "fd00::1",         "fd00::1",         9,     true },
		{ "fd00::1",         "fd00::1:0",       9,     false },
		{ "[fd00::1]:443",   "fd00::1",         443,   true },
		{ "[fd00::1]:443",   "fd00::1",         80,    false },
		{ "[fd00::1]:443",   "fd00::2",         443,   false },
		{ "2001:db8::/32",   "2001:db8:ffff::", 1,     true },
		{ "2001:db8::/32",   "2001:db9::",      1,     false },
		{ "2001:db8::/33",   "2001:db8:8000::", 1,     false },
	};
	struct nm_cidr c, probe;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		c = must_parse(t[i].rule);
		probe = must_parse(t[i].addr);
		assert_int_equal(probe.family, c.family);
		if (nm_cidr_contains(&c, probe.addr, t[i].port) != t[i].in)
			fail_msg("%s contains %s port %u: want %d", t[i].rule, t[i].addr,
				 t[i].port, t[i].in);
	}

	/* malformed rules match nothing */
	c = must_parse("0.0.0.0/0");
	c.prefixlen = 33;
	assert_false(nm_cidr_contains(&c, probe.addr, 1));
	c = must_parse("::/0");
	c.prefixlen = 129;
	assert_false(nm_cidr_contains(&c, probe.addr, 1));
	c.prefixlen = 0;
	c.family = 0;
	assert_false(nm_cidr_contains(&c, probe.addr, 1));
}

/* ---- enum words ---------------------------------------------------------- */

typedef int (*parse_fn)(const char *, __u8 *, char *, size_t);
typedef const char *(*name_fn)(__u8);

static void check_words(parse_fn parse, name_fn name, const char *const *words,
			const __u8 *vals, size_t n, const char *what)
{
	static const char *const bad[] = {
		"", " ", "Deny", "DENY", " deny", "deny ", "deny\n", "\tdeny", "de ny", "den",
		"denyy", "none", "unknown", "Enforce", "AUDIT", " all", "TCP", "Udp", "tcp ",
		"Allow", "redirect\n", "would-deny", "0", "1", "-1",
	};
	char err[NM_ERR_LEN], want[64];
	size_t i, j;
	__u8 v;

	for (i = 0; i < n; i++) {
		assert_string_equal(name(vals[i]), words[i]);
		v = 0xee;
		if (parse(words[i], &v, err, sizeof(err)))
			fail_msg("%s '%s' rejected: %s", what, words[i], err);
		assert_int_equal(v, vals[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		bool listed = false;

		for (j = 0; j < n; j++)
			listed |= !strcmp(bad[i], words[j]);
		if (listed)
			continue;
		v = 0xee;
		err[0] = '\0';
		if (parse(bad[i], &v, err, sizeof(err)) != -EINVAL)
			fail_msg("%s '%s' accepted", what, bad[i]);
		assert_int_equal(v, 0xee);
		snprintf(want, sizeof(want), ": unknown %s (expected one of: ", what);
		if (!strstr(err, want) || err[0] != '\'' || strchr(err, '\n'))
			fail_msg("%s '%s': bad message \"%s\"", what, bad[i], err);
		for (j = 0; j < n; j++)
			assert_non_null(strstr(err, words[j]));
	}
	assert_int_equal(parse(NULL, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse("x", &v, NULL, 0), -EINVAL);
}

static void test_action(void **state)
{
	static const char *const w[] = { "deny", "allow", "redirect" };
	static const __u8 v[] = { NM_ACT_DENY, NM_ACT_ALLOW, NM_ACT_REDIRECT };
	char err[NM_ERR_LEN];
	__u8 x;

	(void)state;
	check_words(nm_parse_action, nm_action_name, w, v, 3, "action");
	assert_int_equal(nm_parse_action("Deny", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'Deny': unknown action (expected one of: deny, allow, redirect)");
	assert_int_equal(nm_parse_action("", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'': unknown action (expected one of: deny, allow, redirect)");
	assert_int_equal(nm_parse_action(" deny", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "' deny': unknown action (expected one of: deny, allow, redirect)");
	assert_int_equal(nm_parse_action("none", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(nm_action_name(NM_ACT_NONE), "none");
	assert_string_equal(nm_action_name(NM_ACT__MAX), "unknown");
	assert_string_equal(nm_action_name(255), "unknown");
}

static void test_mode(void **state)
{
	static const char *const w[] = { "enforce", "audit" };
	static const __u8 v[] = { NM_MODE_ENFORCE, NM_MODE_AUDIT };
	char err[NM_ERR_LEN];
	__u8 x;

	(void)state;
	check_words(nm_parse_mode, nm_mode_name, w, v, 2, "mode");
	assert_int_equal(nm_parse_mode("Audit", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'Audit': unknown mode (expected one of: enforce, audit)");
	assert_string_equal(nm_mode_name(2), "unknown");
	assert_string_equal(nm_mode_name(255), "unknown");
}

static void test_evlevel(void **state)
{
	static const char *const w[] = { "deny", "redirect", "all" };
	static const __u8 v[] = { NM_EV_DENY, NM_EV_REDIRECT, NM_EV_ALL };
	char err[NM_ERR_LEN];
	__u8 x;

	(void)state;
	check_words(nm_parse_evlevel, nm_evlevel_name, w, v, 3, "event level");
	assert_int_equal(nm_parse_evlevel("allow", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
		"'allow': unknown event level (expected one of: deny, redirect, all)");
	assert_string_equal(nm_evlevel_name(3), "unknown");
}

static void test_proto(void **state)
{
	static const char *const w[] = { "tcp", "udp" };
	static const __u8 v[] = { IPPROTO_TCP, IPPROTO_UDP };
	char err[NM_ERR_LEN];
	__u8 x;

	(void)state;
	check_words(nm_parse_proto, nm_proto_name, w, v, 2, "protocol");
	assert_int_equal(nm_parse_proto("sctp", &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'sctp': unknown protocol (expected one of: tcp, udp)");
	assert_string_equal(nm_proto_name(IPPROTO_SCTP), "proto-132");
	assert_string_equal(nm_proto_name(IPPROTO_ICMP), "icmp");
	assert_string_equal(nm_proto_name(IPPROTO_ICMPV6), "icmpv6");
	assert_string_equal(nm_proto_name(0), "proto-0");
	assert_string_equal(nm_proto_name(255), "proto-255");
}

static void test_output_names(void **state)
{
	static const char *const verdicts[] = {
		"deny", "allow", "redirect", "would-deny", "would-redirect",
	};
	static const char *const hooks[] = {
		"connect4", "connect6", "sendmsg4", "sendmsg6", "recvmsg4", "recvmsg6",
		"sockops", "getsockopt", "sock_create", "egress",
	};
	static const char *const reasons[] = {
		"rule", "default", "no-policy", "bad-policy", "proxy-endpoint", "dns-endpoint",
		"dns", "no-proxy", "udp-redirect", "flows-full", "proto", "raw-socket",
		"ip-options",
	};
	unsigned int i;

	(void)state;
	assert_int_equal(ARRAY_SIZE(verdicts), NM_V__MAX);
	assert_int_equal(ARRAY_SIZE(hooks), NM_HOOK__MAX);
	assert_int_equal(ARRAY_SIZE(reasons), NM_R__MAX);
	assert_string_equal(nm_verdict_name(NM_V_WOULD_DENY), "would-deny");
	assert_string_equal(nm_hook_name(NM_HOOK_GETSOCKOPT), "getsockopt");
	assert_string_equal(nm_reason_name(NM_R_UDP_REDIRECT), "udp-redirect");
	assert_string_equal(nm_gstat_name(NM_G_BACKSTOP_DROP), "backstop_drops");
	assert_string_equal(nm_gstat_name(NM_G__MAX), "unknown");
	for (i = 0; i < NM_G__MAX; i++)
		assert_string_not_equal(nm_gstat_name(i), "unknown");
	for (i = 0; i < 256; i++) {
		assert_string_equal(nm_verdict_name((__u8)i), i < NM_V__MAX ? verdicts[i] : "unknown");
		assert_string_equal(nm_hook_name((__u8)i), i < NM_HOOK__MAX ? hooks[i] : "unknown");
		assert_string_equal(nm_reason_name((__u8)i), i < NM_R__MAX ? reasons[i] : "unknown");
		assert_non_null(nm_action_name((__u8)i));
		assert_non_null(nm_mode_name((__u8)i));
		assert_non_null(nm_evlevel_name((__u8)i));
	}
}

/* ---- policy names -------------------------------------------------------- */

static void test_policy_name(void **state)
{
	static const char *const good[] = {
		"a", "0", "default", "agent-1", "x.y_z", "0abc", "a-", "a.", "a_", "a..b",
		"abcdefghijklmnopqrstuvwxyz01234", /* 31 */
	};
	static const struct { const char *in, *want; } bad[] = {
		{ "",          "'': empty policy name" },
		{ "abcdefghijklmnopqrstuvwxyz012345",
		  "'abcdefghijklmnopqrstuvwxyz012345': policy name longer than 31 characters" },
		{ "Abc",       "'Abc': policy name may only contain a-z 0-9 _ . -" },
		{ "aBc",       "may only contain" },
		{ "a b",       "may only contain" },
		{ " a",        "may only contain" },
		{ "a ",        "may only contain" },
		{ "a\n",       "'a\\n': policy name may only contain" },
		{ "a\tb",      "may only contain" },
		{ "a/b",       "may only contain" },
		{ "a:b",       "may only contain" },
		{ "caf\xc3\xa9", "'caf\\xc3\\xa9': policy name may only contain" },
		{ "-a",        "'-a': policy name must start with a letter or digit" },
		{ ".a",        "must start with a letter or digit" },
		{ "_a",        "must start with a letter or digit" },
		{ ".",         "must start with a letter or digit" },
		{ "..",        "must start with a letter or digit" },
	};
	char err[NM_ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (nm_parse_policy_name(good[i], err, sizeof(err)))
			fail_msg("policy name '%s' rejected: %s", good[i], err);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(nm_parse_policy_name(bad[i].in, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("policy name '%s': \"%s\" lacks \"%s\"", bad[i].in, err, bad[i].want);
	}
	assert_int_equal(nm_parse_policy_name(NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(nm_parse_policy_name("A", NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_accept),
		cmocka_unit_test(test_cidr_exact_messages),
		cmocka_unit_test(test_cidr_reject),
		cmocka_unit_test(test_cidr_long_input),
		cmocka_unit_test(test_cidr_err_buffer),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_endpoint_accept),
		cmocka_unit_test(test_endpoint_reject),
		cmocka_unit_test(test_format_cidr),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_roundtrip_random),
		cmocka_unit_test(test_format_addr16),
		cmocka_unit_test(test_key4_bytes),
		cmocka_unit_test(test_key6_bytes),
		cmocka_unit_test(test_rule_value),
		cmocka_unit_test(test_key_roundtrip),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_action),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_evlevel),
		cmocka_unit_test(test_proto),
		cmocka_unit_test(test_output_names),
		cmocka_unit_test(test_policy_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
