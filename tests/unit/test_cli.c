// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CLI argument validation and rule-text parsing, without a kernel: every bad
 * command must be refused with exit status 2 and a message naming the bad
 * word, before anything is opened.  The pin dir points nowhere, so a command
 * that got past validation fails with 1 ("not loaded") instead, which the
 * table tells apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "err.h"
#include "policy.h"

#define NOWHERE "/sys/fs/bpf/nomoat-unit-test-does-not-exist"

struct cli_case {
	const char *args;   /* space separated */
	int status;         /* expected exit status */
	const char *needle; /* must appear in the error message (NULL: none) */
};

static const struct cli_case cases[] = {
	{ "", 2, NULL },
	{ "frobnicate", 2, "'frobnicate'" },
	{ "--bogus policy list", 2, "'--bogus'" },
	{ "--pin-dir relative/dir policy list", 2, "absolute" },
	{ "policy", 2, "unknown verb ''" },
	{ "policy explode", 2, "'explode'" },
	{ "policy create", 2, "NAME" },
	{ "policy create Agents", 2, "policy name" },
	{ "policy create a --default maybe", 2, "'maybe'" },
	{ "policy create a --mode loud", 2, "'loud'" },
	{ "policy create a --events some", 2, "'some'" },
	{ "policy create a --proxy4 1.2.3.4", 2, "port" },
	{ "policy create a --proxy4 [fd00::1]:80", 2, "IPv6" },
	{ "policy create a --proxy6 1.2.3.4:80", 2, "IPv4" },
	{ "policy create a --dns4 1.2.3.0/24:53", 2, NULL },
	{ "policy create a --mode", 2, "needs a value" },
	{ "policy create a --raw-sockets maybe", 2, "'maybe'" },
	{ "policy create a --mode=", 2, "non-empty" },
	{ "policy create a --with-defaults=yes", 2, "takes no value" },
	{ "policy create a --rules /nonexistent/file", 2, "/nonexistent/file" },
	/* found by fuzz_cli: the parsed defaults leaked (asan-test_cli) */
	{ "policy create a --with-defaults --rules /nonexistent/file", 2, "/nonexistent/file" },
	{ "policy create a b", 2, "'b'" },
	{ "policy set a --with-defaults", 2, "'--with-defaults'" },
	{ "policy set a --rules /nonexistent/file", 2, "/nonexistent/file" },
	{ "rule replace --policy p", 2, "FILE" },
	{ "policy show", 2, "NAME" },
	{ "policy list extra", 2, "no arguments" },
	{ "deny add 10.0.0.1/8 --policy p", 2, "host bits set" },
	{ "deny add 10.0.0.0/33 --policy p", 2, "out of range" },
	{ "deny add 10.0.0.0/8", 2, "--policy" },
	{ "deny add --policy p", 2, "TARGET" },
	{ "deny add 1.2.3.4:0 --policy p", 2, "port" },
	{ "deny add 10.0.0.0/8:80 --policy p", 2, "single address" },
	{ "deny add fe80::1%eth0 --policy p", 2, "zone" },
	{ "deny del 10.0.0.0/8 --policy p --reason x", 2, "'--reason'" },
	{ "deny frob 10.0.0.0/8 --policy p", 2, "'frob'" },
	{ "allow list --policy p extra", 2, "no arguments" },
	{ "rule add 10.0.0.0/8 --policy p", 2, "'add'" },
	{ "rule import --policy p", 2, "FILE" },
	{ "cgroup", 2, "unknown verb" },
	{ "cgroup attach", 2, "PATH" },
	{ "cgroup bind /x", 2, "--policy" },
	{ "cgroup attach /nomoat-no-such-cgroup", 2, "no such cgroup" },
	{ "cgroup unbind a b", 2, "'b'" },
	{ "cgroup detach /x --origdst-only", 2, "'--origdst-only'" },
	{ "check --policy p", 2, "ADDR" },
	{ "check 1.2.3.4", 2, "--policy" },
	{ "check 10.0.0.0/8 --policy p", 2, "single address" },
	{ "check 1.2.3.4 70000 --policy p", 2, "out of range" },
	{ "check 1.2.3.4:80 443 --policy p", 2, "twice" },
	{ "check 1.2.3.4 --policy p --proto icmp", 2, "'icmp'" },
	{ "run --policy p", 2, "command" },
	{ "events --count -1", 2, "'-1'" },
	{ "events --timeout 1.5", 2, "'1.5'" },
	{ "events --count 99999999999999999999", 2, NULL },
	{ "stats now", 2, "'now'" },
	{ "load extra", 2, "'extra'" },
	{ "load --max-flows 0", 2, "'0'" },
	{ "load --max-flows 2x", 2, "'2x'" },
	{ "load --max-flows 9999999999", 2, "1..1048576" },
	/* Valid syntax: gets as far as the (missing) pins. */
	{ "policy list", 1, "is nomoat loaded" },
	{ "rule list --policy p", 1, "is nomoat loaded" },
	{ "deny list --policy p", 1, "is nomoat loaded" },
	{ "deny add 10.0.0.0/8 --policy p", 1, "is nomoat loaded" },
	{ "check ::ffff:1.2.3.4 80 --policy p", 1, "is nomoat loaded" },
	{ "--help", 0, NULL },
	{ "policy help", 0, NULL },
	/* the tables' help: every object and verb, before anything is opened */
	{ "help", 0, NULL },
	{ "load help", 0, NULL },
	{ "check --help", 0, NULL },
	{ "cgroup --help", 0, NULL },
	{ "policy create --help", 0, NULL },
	{ "deny add --help", 0, NULL },
	{ "rule replace --help", 0, NULL },
	/* after a verb "help" is a word like any other: here a policy name */
	{ "policy show help", 1, "is nomoat loaded" },
	{ "policy delete --help extra", 0, NULL },
	{ "policy explode --help", 2, "(create, set, list, show, delete)" },
	{ "deny frob", 2, "(add, del, list)" },
	{ "cgroup frob", 2, "(attach, detach, bind, unbind, list)" },
	/* the options before OBJECT, getopt_long's way */
	{ "-jv policy list", 1, "is nomoat loaded" },
	{ "-jx policy list", 2, "'-x'" },
	{ "--pin-dir", 2, "needs a directory" },
	{ "--pin-dir= policy list", 2, "needs a directory" },
	{ "--pin-dir=/nowhere-else policy list", 1, "/nowhere-else" },
	{ "--json=yes policy list", 2, "'--json' takes no value" },
	{ "--bogus=1 policy list", 2, "unknown option '--bogus'" },
	{ "-- policy list", 1, "is nomoat loaded" },
};

static int run_cli(const char *args)
{
	char buf[512], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", args);
	argv[argc++] = "nomoat";
	for (char *t = strtok_r(buf, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	return nm_cli_main(argc, argv);
}

static void test_cli_table(void **state)
{
	(void)state;
	setenv(NM_PIN_DIR_ENV, NOWHERE, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st;

		nm_err_clear();
		st = run_cli(cases[i].args);
		if (st != cases[i].status || (cases[i].needle && !strstr(nm_err_msg(), cases[i].needle))) {
			print_error("case '%s': status %d (want %d), message '%s' (want '%s')\n", cases[i].args, st,
				    cases[i].status, nm_err_msg(), cases[i].needle ? cases[i].needle : "");
			fail();
		}
	}
}

/* Run the CLI with stdout into a buffer (freed by the caller). */
static char *run_captured(const char *args, int *st)
{
	FILE *saved = stdout;
	char *buf = NULL;
	size_t len = 0;

	stdout = open_memstream(&buf, &len);
	assert_non_null(stdout);
	*st = run_cli(args);
	fclose(stdout);
	stdout = saved;
	return buf;
}

/* "OBJ VERB --help" prints "nomoat [OPTIONS] OBJ VERB USAGE" and what it
 * does, for every verb of every table; "OBJ help" lists them all. */
static void test_cli_help(void **state)
{
	static const struct {
		const char *obj;
		const struct nm_cmd *verbs;
	} objs[] = {
		{ "policy", nm_policy_verbs }, { "deny", nm_action_verbs },   { "allow", nm_action_verbs },
		{ "redirect", nm_action_verbs }, { "rule", nm_rule_verbs }, { "cgroup", nm_cgroup_verbs },
	};
	char args[128], want[256];

	(void)state;
	setenv(NM_PIN_DIR_ENV, NOWHERE, 1);
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		char *all;
		int st;

		snprintf(args, sizeof(args), "%s help", objs[i].obj);
		all = run_captured(args, &st);
		assert_int_equal(st, 0);
		for (const struct nm_cmd *k = objs[i].verbs; k->name; k++) {
			char *one;

			assert_non_null(k->fn);
			assert_non_null(k->usage);
			assert_non_null(k->about);
			snprintf(want, sizeof(want), "%s %s%s%s\n", objs[i].obj, k->name, k->usage[0] ? " " : "",
				 k->usage);
			if (!strstr(all, want))
				fail_msg("'%s' does not list '%s'", args, want);
			snprintf(args, sizeof(args), "%s %s --help", objs[i].obj, k->name);
			one = run_captured(args, &st);
			assert_int_equal(st, 0);
			snprintf(want, sizeof(want), "Usage: nomoat [OPTIONS] %s %s%s%s\n", objs[i].obj, k->name,
				 k->usage[0] ? " " : "", k->usage);
			if (!strstr(one, want) || !strstr(one, k->about))
				fail_msg("'%s' printed '%s'", args, one);
			free(one);
		}
		free(all);
	}
}

static void test_opts_parse(void **state)
{
	const char *v = NULL;
	bool f = false;
	struct nm_opt o[] = { { "val", &v, NULL }, { "flag", NULL, &f }, { NULL, NULL, NULL } };
	char *argv[] = { "a", "--val=x=y", "--flag", "b", "--", "c", "--val" };
	char *pos[2], **rest;
	int n, nrest;

	(void)state;
	assert_int_equal(nm_opts_parse(7, argv, o, pos, 2, &n, &rest, &nrest), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pos[0], "a");
	assert_string_equal(pos[1], "b");
	assert_string_equal(v, "x=y");
	assert_true(f);
	assert_int_equal(nrest, 2);
	assert_string_equal(rest[0], "c");
	assert_string_equal(rest[1], "--val");
	/* "--" where no command may follow */
	assert_int_not_equal(nm_opts_parse(7, argv, o, pos, 2, &n, NULL, NULL), 0);
	/* too many positionals */
	assert_int_not_equal(nm_opts_parse(4, argv, o, pos, 1, &n, NULL, NULL), 0);
	assert_non_null(strstr(nm_err_msg(), "'b'"));
}

static void test_ruleset_parse(void **state)
{
	struct nm_ruleset rs = { 0 };

	(void)state;
	assert_int_equal(nm_ruleset_parse("# comment\n\n  deny 10.0.0.0/8   # private range \n"
					  "allow\t1.2.3.4:443\nredirect fd00::/8\n",
					  "t", &rs),
			 0);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.v[0].action, NM_ACT_DENY);
	assert_string_equal(rs.v[0].reason, "private range");
	assert_int_equal(rs.v[0].line, 3);
	assert_int_equal(rs.v[1].cidr.port, 443);
	assert_int_equal(rs.v[2].cidr.family, 6);
	nm_ruleset_free(&rs);

	/* Errors carry ORIGIN:LINE and nothing is returned. */
	assert_int_not_equal(nm_ruleset_parse("deny 10.0.0.0/8\ndeny 10.0.0.1/8\n", "f.rules", &rs), 0);
	assert_non_null(strstr(nm_err_msg(), "f.rules:2:"));
	assert_int_equal(rs.n, 0);
	assert_int_not_equal(nm_ruleset_parse("block 10.0.0.0/8\n", "f", &rs), 0);
	assert_non_null(strstr(nm_err_msg(), "f:1:"));
	assert_non_null(strstr(nm_err_msg(), "'block'"));
	assert_int_not_equal(nm_ruleset_parse("deny\n", "f", &rs), 0);
	assert_non_null(strstr(nm_err_msg(), "needs a target"));
	assert_int_not_equal(nm_ruleset_parse("deny 10.0.0.0/8 extra\n", "f", &rs), 0);
	assert_non_null(strstr(nm_err_msg(), "'extra'"));
	assert_int_equal(rs.n, 0);
}

/* Found by fuzz_cli: an error quoting a word with stray bytes (-j) was not
 * valid JSON; what is not UTF-8 becomes U+FFFD, valid UTF-8 is kept. */
static void test_json_utf8(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct nm_json j;

	(void)state;
	assert_non_null(f);
	nm_json_init(&j, f, false);
	nm_json_obj(&j, NULL);
	nm_json_str(&j, "error", "verb 'x\xff\xfe' caf\xc3\xa9 \xe2\x82 \xed\xa0\x80 \xf0\x9f\x98\x80 \xc0\xaf");
	nm_json_obj_end(&j);
	nm_json_done(&j);
	fclose(f);
	assert_string_equal(buf, "{\"error\":\"verb 'x\\ufffd\\ufffd' caf\xc3\xa9 \\ufffd\\ufffd "
				 "\\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80 \\ufffd\\ufffd\"}\n");
	free(buf);
}

static void test_shipped_defaults(void **state)
{
	struct nm_ruleset rs = { 0 };
	bool metadata = false, ula = false;
	__u8 meta[16] = { 169, 254, 169, 254 };
	__u8 ec2[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54 };

	(void)state;
	ec2[14] = 0x02;
	assert_int_equal(nm_ruleset_parse(nm_deny_defaults, "deny-defaults", &rs), 0);
	assert_true(rs.n >= 30);
	for (size_t i = 0; i < rs.n; i++) {
		assert_int_equal(rs.v[i].action, NM_ACT_DENY);
		assert_true(rs.v[i].reason && rs.v[i].reason[0]);
		if (rs.v[i].cidr.family == 4 && nm_cidr_contains(&rs.v[i].cidr, meta, 80))
			metadata = true;
		if (rs.v[i].cidr.family == 6 && nm_cidr_contains(&rs.v[i].cidr, ec2, 80))
			ula = true;
	}
	assert_true(metadata);
	assert_true(ula);
	nm_ruleset_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_table),
		cmocka_unit_test(test_cli_help),
		cmocka_unit_test(test_opts_parse),
		cmocka_unit_test(test_ruleset_parse),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_shipped_defaults),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
