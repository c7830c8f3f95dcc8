// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/evline.c (every line of the event stream), the
 * buffer side of user/lib/json.c and user/lib/events.c's nm_event_line
 * (cmocka).  The decision line is held to the README's "Events" section:
 * its example, byte for byte, and every field its table names. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"
#include "evline.h"
#include "json.h"
#include "unit_util.h"

/* The README's example: a redirect to the proxy by the default rule. */
static const struct nm_decision readme_example = {
	.time = "2026-11-26T12:36:14.202979Z",
	.ts_ns = 926396672217ULL,
	.verdict = "redirect",
	.hook = "connect4",
	.proto = "tcp",
	.family = 4,
	.mapped = false,
	.dst = "11.22.33.44:80",
	.new_dst = "10.250.0.1:3128",
	.rule = "0.0.0.0/0",
	.reason = "rule",
	.reason_text = "",
	.policy = "agents",
	.policy_id = 1,
	.cgroup_id = 101,
	.cgroup = "/sys/fs/cgroup/agents/a1",
	.container = "",
	.pid = 5114,
	.tid = 5114,
	.uid = 0,
	.comm = "curl",
};

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A line into buf (NUL-terminated) by the json writer. */
static size_t decision_line(const struct nm_decision *d, bool pretty, char *buf, size_t cap)
{
	struct nm_json j;
	size_t n;

	nm_json_init_buf(&j, buf, cap - 1, pretty);
	nm_evline_decision(&j, d);
	n = nm_json_len(&j);
	buf[n] = 0;
	return n;
}

/* The README's "## Events" section, NUL-terminated (free it). */
static char *readme_events(void)
{
	FILE *f = ut_open_readme();
	char *text = calloc(1, 1 << 20), *start, *end;
	size_t n;

	if (!f)
		fail_msg("README.md not found");
	assert_non_null(text);
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = 0;
	start = strstr(text, "\n## Events\n");
	assert_non_null(start);
	end = strstr(start + 1, "\n## ");
	if (end)
		*end = 0;
	memmove(text, start, strlen(start) + 1);
	return text;
}

/* The example block, its wrapped lines joined (a newline and one space). */
static void readme_example_line(const char *sec, char *out, size_t cap)
{
	const char *p = strstr(sec, "```json\n"), *end;
	size_t n = 0;

	assert_non_null(p);
	p += 8;
	end = strstr(p, "```");
	assert_non_null(end);
	for (; p < end && n < cap - 1; p++) {
		if (*p == '\n' && (p + 1 == end || p[1] == ' ')) {
			p += p + 1 < end; /* the space that wraps */
			continue;
		}
		out[n++] = *p;
	}
	out[n] = 0;
}

static void test_decision_is_the_readme_example(void **state)
{
	char want[2048], got[NM_EVLINE_MAX];
	char *sec = readme_events();

	(void)state;
	readme_example_line(sec, want, sizeof(want) - 1);
	strcat(want, "\n");
	decision_line(&readme_example, false, got, sizeof(got));
	assert_string_equal(got, want);
	free(sec);
}

/* Every field in the README's table ("| `a`, `b` | meaning |") is a key
 * of the line, and every key of the line is in the table. */
static void test_decision_fields_are_the_readme_table(void **state)
{
	char got[NM_EVLINE_MAX], key[64];
	char *sec = readme_events(), *p;
	unsigned named = 0, keys = 0;

	(void)state;
	decision_line(&readme_example, false, got, sizeof(got));
	for (p = strstr(sec, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
		char *cell_end = strstr(p + 3, " |"), *q = p + 3;

		assert_non_null(cell_end);
		while ((q = memchr(q, '`', (size_t)(cell_end - q))) && q < cell_end) {
			char *close = memchr(q + 1, '`', (size_t)(cell_end - q - 1));

			assert_non_null(close);
			snprintf(key, sizeof(key), "\"%.*s\":", (int)(close - q - 1), q + 1);
			if (!strstr(got, key))
				fail_msg("the README's table names %s, which the decision line lacks", key);
			named++;
			q = close + 1;
		}
	}
	for (p = got; (p = strstr(p, "\":")); p += 2)
		keys++;
	assert_true(named > 0);
	if (named != keys)
		fail_msg("the README's table names %u fields, the line has %u keys: %s", named, keys, got);
	free(sec);
}

static void test_decision_pretty(void **state)
{
	char got[NM_EVLINE_MAX];

	(void)state;
	decision_line(&readme_example, true, got, sizeof(got));
	assert_true(starts(got, "{\n  \"type\": \"decision\",\n  \"time\": \"2026-11-26T12:36:14.202979Z\",\n"));
	assert_non_null(strstr(got, ",\n  \"mapped\": false,\n"));
	assert_non_null(strstr(got, ",\n  \"comm\": \"curl\"\n}\n"));
	assert_int_equal(got[strlen(got) - 1], '\n');
}

/* A stream and a buffer get the same bytes. */
static void test_stream_equals_buffer(void **state)
{
	char a[NM_EVLINE_MAX], b[NM_EVLINE_MAX] = "";
	struct nm_json j;
	FILE *f;

	(void)state;
	for (int pretty = 0; pretty < 2; pretty++) {
		decision_line(&readme_example, pretty, a, sizeof(a));
		f = fmemopen(b, sizeof(b) - 1, "w");
		assert_non_null(f);
		nm_json_init(&j, f, pretty);
		nm_evline_decision(&j, &readme_example);
		fclose(f);
		assert_string_equal(a, b);
	}
}

static void test_escaping(void **state)
{
	struct nm_decision d = readme_example;
	char got[NM_EVLINE_MAX];

	(void)state;
	/* quote, backslash, the named escapes, other controls, DEL, valid
	 * UTF-8 kept, a stray byte replaced */
	d.cgroup = "/a\"b\\c\nd\te\rf\x01g\x7fh\xc3\xa9i\xffj";
	d.comm = "\xe2\x82";
	decision_line(&d, false, got, sizeof(got));
	assert_non_null(strstr(got, "\"cgroup\":\"/a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u007fh\xc3\xa9i\\ufffdj\","));
	assert_non_null(strstr(got, "\"comm\":\"\\ufffd\\ufffd\"}"));
}

static void test_too_small(void **state)
{
	char got[64];
	struct nm_json j;

	(void)state;
	nm_json_init_buf(&j, got, sizeof(got), false);
	nm_evline_decision(&j, &readme_example);
	assert_true(j.full);
	assert_int_equal(nm_json_len(&j), 0);
	assert_int_equal(NM_EVLINE_BUF(got, 20, nm_evline_error, "too many clients"), 0);
	/* exactly enough */
	assert_int_equal(NM_EVLINE_BUF(got, 45, nm_evline_error, "too many clients"), 45);
	assert_int_equal(strncmp(got, "{\"type\":\"error\",\"reason\":\"too many clients\"}\n", 45), 0);
}

static void test_other_lines(void **state)
{
	char got[512];
	size_t n;

	(void)state;
#define LINE(want, fn, ...)                                                             \
	do {                                                                            \
		n = NM_EVLINE_BUF(got, sizeof(got) - 1, fn, __VA_ARGS__);               \
		got[n] = 0;                                                             \
		assert_string_equal(got, want);                                         \
	} while (0)
	/* a client too slow (evserver.h), the kernel's drops (nomoatd), the
	 * kernel's drops seen by `nomoat -j events` */
	LINE("{\"type\":\"drops\",\"events_dropped\":17,\"reason\":\"client too slow\"}\n", nm_evline_drops, 17, false,
	     0, "client too slow");
	LINE("{\"type\":\"drops\",\"events_dropped\":3,\"events_dropped_total\":40,\"reason\":\"ring buffer full\"}\n",
	     nm_evline_drops, 3, true, 40, "ring buffer full");
	LINE("{\"type\":\"drops\",\"events_dropped\":3,\"events_dropped_total\":40}\n", nm_evline_drops, 3, true, 40,
	     NULL);
	LINE("{\"type\":\"limited\",\"cgroup_id\":4242,\"events_limited\":9}\n", nm_evline_limited, false, 4242, 9);
	LINE("{\"type\":\"limited\",\"cgroup_id\":null,\"events_limited\":18446744073709551615}\n", nm_evline_limited,
	     true, 0, UINT64_MAX);
	LINE("{\"type\":\"pins\",\"pin_dir\":\"/sys/fs/bpf/nomoat\",\"missing\":2,\"restored\":2,\"held\":21}\n",
	     nm_evline_pins, "/sys/fs/bpf/nomoat", 2, 2, 21);
	LINE("{\"type\":\"error\",\"reason\":\"too many clients\"}\n", nm_evline_error, "too many clients");
#undef LINE
}

static void test_text_form(void **state)
{
	struct nm_decision d = readme_example;
	char got[NM_EVLINE_MAX];

	(void)state;
	assert_true(nm_evline_decision_text(got, sizeof(got), &d) > 0);
	assert_string_equal(got, "2026-11-26T12:36:14.202979Z redirect       connect4 tcp 11.22.33.44:80 -> "
				 "10.250.0.1:3128 rule 0.0.0.0/0 policy=agents cgroup=/sys/fs/cgroup/agents/a1 "
				 "pid=5114 uid=0 comm=curl\n");
	/* the same address both ways, mapped, with a reason; nothing known */
	d.verdict = "deny";
	d.hook = "connect6";
	d.mapped = true;
	d.dst = d.new_dst = "10.0.0.1:443";
	d.rule = "10.0.0.0/8";
	d.reason_text = "private";
	d.policy = d.cgroup = d.comm = "";
	nm_evline_decision_text(got, sizeof(got), &d);
	assert_string_equal(got, "2026-11-26T12:36:14.202979Z deny           connect6 tcp ::ffff:10.0.0.1:443 rule "
				 "10.0.0.0/8 policy=- cgroup=? pid=5114 uid=0 comm=? (private)\n");
	assert_int_equal(nm_evline_decision_text(got, 40, &d), 0);
}

/* From the kernel's record: addresses, the rule rebuilt, the time. */
static void test_event_line(void **state)
{
	static struct nm_event_fmt f;
	struct nm_event e = { 0 };
	char got[NM_EVLINE_MAX];

	(void)state;
	nm_event_fmt_init(&f, NULL, true, false);
	/* wall clock 2026-11-26T12:36:14.000042Z at boot time 1 s */
	f.boot_to_real_ns = 1795696574000042000LL - 1000000000LL;
	e.ts_ns = 1000000000ULL;
	e.verdict = NM_V_REDIRECT;
	e.hook = NM_HOOK_CONNECT4;
	e.proto = 6;
	e.family = 4;
	e.reason = NM_R_RULE;
	e.rule_prefixlen = 8;
	e.orig_addr[2] = htonl(0xffff);
	e.orig_addr[3] = htonl(0x0a010203);
	e.orig_port = htons(80);
	e.new_addr[2] = htonl(0xffff);
	e.new_addr[3] = htonl(0x7f000001);
	e.new_port = htons(3128);
	e.pid = e.tid = 7;
	memcpy(e.comm, "sixteen-chars-xx", 16); /* no NUL in the record */
	assert_true(nm_event_line(&f, &e, got, sizeof(got)) > 0);
	assert_true(starts(got, "{\"type\":\"decision\",\"time\":\"2026-11-26T12:36:14.000042Z\",\"ts_ns\":1000000000,"));
	assert_non_null(strstr(got, "\"verdict\":\"redirect\",\"hook\":\"connect4\",\"proto\":\"tcp\",\"family\":4,"
				    "\"mapped\":false,\"dst\":\"10.1.2.3:80\",\"new_dst\":\"127.0.0.1:3128\","
				    "\"rule\":\"10.0.0.0/8\",\"reason\":\"rule\",\"reason_text\":\"\",\"policy\":\"\","
				    "\"policy_id\":0,"));
	assert_non_null(strstr(got, "\"comm\":\"sixteen-chars-xx\"}\n"));
	/* the next second, and the one after a jump: the time is made anew */
	e.ts_ns += 999999000ULL;
	nm_event_line(&f, &e, got, sizeof(got));
	assert_non_null(strstr(got, "\"time\":\"2026-11-26T12:36:15.000041Z\""));
	e.ts_ns += 86400ULL * 1000000000ULL;
	nm_event_line(&f, &e, got, sizeof(got));
	assert_non_null(strstr(got, "\"time\":\"2026-11-27T12:36:15.000041Z\""));
	/* IPv6 with ports, the default: no rule */
	memset(e.orig_addr, 0, sizeof(e.orig_addr));
	e.family = 6;
	e.hook = NM_HOOK_CONNECT6;
	e.verdict = NM_V_DENY;
	e.reason = NM_R_DEFAULT;
	e.orig_addr[0] = htonl(0x20010db8);
	e.orig_addr[3] = htonl(1);
	memcpy(e.new_addr, e.orig_addr, sizeof(e.new_addr));
	e.new_port = e.orig_port;
	nm_event_line(&f, &e, got, sizeof(got));
	assert_non_null(strstr(got, "\"dst\":\"[2001:db8::1]:80\",\"new_dst\":\"[2001:db8::1]:80\",\"rule\":\"\","
				    "\"reason\":\"default\","));
	/* text form, and a buffer too small */
	f.json = false;
	assert_true(nm_event_line(&f, &e, got, sizeof(got)) > 0);
	assert_non_null(strstr(got, " deny           connect6 tcp [2001:db8::1]:80 default policy=- "));
	assert_int_equal(nm_event_line(&f, &e, got, 32), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision_is_the_readme_example),
		cmocka_unit_test(test_decision_fields_are_the_readme_table),
		cmocka_unit_test(test_decision_pretty),
		cmocka_unit_test(test_stream_equals_buffer),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_other_lines),
		cmocka_unit_test(test_text_form),
		cmocka_unit_test(test_event_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
