// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/config.c, the daemon's policy file (cmocka).
 *
 * Sample files live in tests/data/config/; the tests run from the
 * repository root (they chdir there when started elsewhere). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "config.h"
#include "parse.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DATA "tests/data/config/"

/* ---- helpers ------------------------------------------------------------- */

struct run {
	int rc, nerr;
	char *out; /* everything written to errf */
	size_t outlen;
	struct nm_config cfg;
};

static void run_parse(const char *text, struct run *r)
{
	FILE *f;

	memset(r, 0, sizeof(*r));
	f = open_memstream(&r->out, &r->outlen);
	assert_non_null(f);
	r->rc = nm_config_parse(text, "t.conf", &r->cfg, f, &r->nerr);
	fclose(f);
}

static void run_load(const char *path, struct run *r)
{
	FILE *f;

	memset(r, 0, sizeof(*r));
	f = open_memstream(&r->out, &r->outlen);
	assert_non_null(f);
	r->rc = nm_config_load(path, &r->cfg, f, &r->nerr);
	fclose(f);
}

static void run_free(struct run *r)
{
	nm_config_free(&r->cfg);
	free(r->out);
	memset(r, 0, sizeof(*r));
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The run must have succeeded with no output. */
static void expect_ok(const struct run *r, const char *what)
{
	if (r->rc || r->nerr || r->outlen)
		fail_msg("%s: rc %d, %d errors:\n%s", what, r->rc, r->nerr, r->out ? r->out : "");
}

static bool zeroed(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

struct want {
	const char *prefix; /* the exact start of the line: "FILE:LINE: " */
	const char *has;    /* a part of the message */
};

/* The run must have failed with exactly these lines, in this order. */
static void expect_errors(const struct run *r, const struct want *w, int n, const char *what)
{
	const char *line = r->out;

	if (r->rc != -EINVAL)
		fail_msg("%s: rc %d, want -EINVAL; output:\n%s", what, r->rc, r->out ? r->out : "");
	if (r->nerr != n || count_lines(r->out) != n)
		fail_msg("%s: %d errors (%d lines), want %d; output:\n%s", what, r->nerr, count_lines(r->out), n,
			 r->out);
	if (!zeroed(&r->cfg, sizeof(r->cfg)))
		fail_msg("%s: configuration not left empty after an error", what);
	for (int i = 0; i < n; i++) {
		const char *nl = strchr(line, '\n');
		char buf[8192];
		size_t len = (size_t)(nl - line);

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = 0;
		if (strncmp(buf, w[i].prefix, strlen(w[i].prefix)))
			fail_msg("%s: error %d \"%s\" does not start with \"%s\"", what, i + 1, buf, w[i].prefix);
		if (!strstr(buf + strlen(w[i].prefix), w[i].has))
			fail_msg("%s: error %d \"%s\" lacks \"%s\"", what, i + 1, buf, w[i].has);
		line = nl + 1;
	}
}

static void expect_one_error(const char *text, const char *prefix, const char *has)
{
	struct want w = { prefix, has };
	struct run r;

	run_parse(text, &r);
	expect_errors(&r, &w, 1, text);
	run_free(&r);
}

static __u32 ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void assert_ep6(const struct nm_ep6 *e, const char *addr, __u16 port)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	assert_memory_equal(e->addr, &a, 16);
	assert_int_equal(e->port, htons(port));
}

static void assert_rule(const struct nm_rule_entry *e, __u8 action, const char *target, const char *reason, int line)
{
	char buf[NM_CIDR_STRLEN];

	assert_int_equal(e->action, action);
	assert_string_equal(nm_format_cidr(&e->cidr, buf, sizeof(buf)), target);
	if (reason)
		assert_string_equal(e->reason, reason);
	else
		assert_null(e->reason);
	assert_int_equal(e->line, line);
}

/* The built-in list, parsed by the library's own rule parser. */
static void deny_defaults(struct nm_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	assert_int_equal(nm_ruleset_parse(nm_deny_defaults, "deny-defaults", rs), 0);
	assert_true(rs->n > 10);
}

static void assert_same_rules(const struct nm_rule_entry *a, const struct nm_ruleset *b)
{
	for (size_t i = 0; i < b->n; i++) {
		assert_memory_equal(&a[i].cidr, &b->v[i].cidr, sizeof(a[i].cidr));
		assert_int_equal(a[i].action, b->v[i].action);
		assert_int_equal(a[i].line, b->v[i].line);
		if (b->v[i].reason)
			assert_string_equal(a[i].reason, b->v[i].reason);
		else
			assert_null(a[i].reason);
	}
}

/* A scratch directory for generated files. */
static char tmpdir[64];

static void mk_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/nm-test-config-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_tmpdir(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const char *tmp_path(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", tmpdir, rel);
	return buf;
}

/* ---- a full file ----------------------------------------------------------- */

static void test_full_file(void **state)
{
	const struct nm_cfg_policy *a, *p;
	const struct nm_config *c;
	struct nm_ruleset def;
	struct run r;
	size_t nd;

	(void)state;
	deny_defaults(&def);
	nd = def.n;
	run_load(DATA "full.conf", &r);
	expect_ok(&r, "full.conf");
	c = &r.cfg;

	/* attach points */
	assert_int_equal(c->nattaches, 2);
	assert_string_equal(c->attaches[0].path, "/nomoat");
	assert_false(c->attaches[0].origdst_only);
	assert_string_equal(c->attaches[0].file, DATA "full.conf");
	assert_int_equal(c->attaches[0].line, 4);
	assert_string_equal(c->attaches[1].path, "/nomoat-proxy");
	assert_true(c->attaches[1].origdst_only);
	assert_int_equal(c->attaches[1].line, 5);

	/* binds, in file order with the include expanded where it stands */
	assert_int_equal(c->nbinds, 3);
	assert_string_equal(c->binds[0].pattern, "/nomoat-proxy");
	assert_string_equal(c->binds[0].policy, "proxy");
	assert_string_equal(c->binds[0].file, DATA "full-extra.conf");
	assert_int_equal(c->binds[0].line, 7);
	assert_string_equal(c->binds[1].pattern, "/nomoat");
	assert_string_equal(c->binds[1].policy, "agents");
	assert_string_equal(c->binds[1].file, DATA "full.conf");
	assert_int_equal(c->binds[1].line, 6);
	assert_string_equal(c->binds[2].pattern, "/system.slice/docker-*.scope");
	assert_int_equal(c->binds[2].line, 7);

	/* outputs */
	assert_string_equal(c->events_log, "/var/log/nomoat/events.jsonl");
	assert_string_equal(c->proxy_log, "/var/log/nomoat/proxy.jsonl");
	assert_string_equal(c->events_socket, "/run/nomoat/ev.sock");
	assert_int_equal(c->events_rate, 50);
	assert_string_equal(c->metrics, "[::1]:9100");

	/* policies */
	assert_int_equal(c->npolicies, 2);
	p = nm_config_policy(c, "proxy");
	assert_ptr_equal(p, &c->policies[0]);
	assert_string_equal(p->file, DATA "full-extra.conf");
	assert_int_equal(p->line, 2);
	assert_int_equal(p->p.default_action, NM_ACT_ALLOW);
	assert_int_equal(p->p.mode, NM_MODE_ENFORCE);
	assert_int_equal(p->p.events, NM_EV_DENY);
	assert_int_equal(p->rules.n, nd);
	assert_same_rules(p->rules.v, &def);
	assert_int_equal(p->nhosts, 0);
	assert_false(p->ip_only);

	a = nm_config_policy(c, "agents");
	assert_ptr_equal(a, &c->policies[1]);
	assert_null(nm_config_policy(c, "nobody"));
	assert_string_equal(a->p.name, "agents");
	assert_int_equal(a->p.id, 0);
	assert_int_equal(a->p.in_use, 0);
	assert_string_equal(a->file, DATA "full.conf");
	assert_int_equal(a->line, 14);
	assert_int_equal(a->p.default_action, NM_ACT_REDIRECT);
	assert_int_equal(a->p.mode, NM_MODE_AUDIT);
	assert_int_equal(a->p.events, NM_EV_ALL);
	assert_int_equal(a->p.proxy4.addr, ip4("127.0.0.1"));
	assert_int_equal(a->p.proxy4.port, htons(3128));
	assert_ep6(&a->p.proxy6, "::1", 3128);
	assert_int_equal(a->p.dns4.addr, ip4("127.0.0.1"));
	assert_int_equal(a->p.dns4.port, htons(53));
	assert_true(zeroed(&a->p.dns6, sizeof(a->p.dns6)));

	/* rules: deny-defaults, then the rules file, then the block's own */
	assert_int_equal(a->rules.n, nd + 4);
	assert_same_rules(a->rules.v, &def);
	assert_rule(&a->rules.v[nd + 0], NM_ACT_ALLOW, "10.1.2.3:8080", "the package mirror", 3);
	assert_rule(&a->rules.v[nd + 1], NM_ACT_REDIRECT, "0.0.0.0/0", NULL, 4);
	assert_rule(&a->rules.v[nd + 2], NM_ACT_ALLOW, "140.82.112.0/20", "github, direct", 24);
	assert_rule(&a->rules.v[nd + 3], NM_ACT_DENY, "203.0.113.7:22", NULL, 25);

	/* proxy allowlist, normalised */
	assert_int_equal(a->nhosts, 2);
	assert_string_equal(a->hosts[0].name, "pypi.org");
	assert_int_equal(a->hosts[0].port, 0);
	assert_string_equal(a->hosts[1].name, "*.pythonhosted.org");
	assert_int_equal(a->hosts[1].port, 443);
	assert_true(a->ip_only);

	run_free(&r);
	nm_ruleset_free(&def);
}

/* The same text through nm_config_parse: relative includes from the
 * current directory, and the origin in messages. */
static void test_parse_string_includes_from_cwd(void **state)
{
	struct run r;

	(void)state;
	run_parse("include " DATA "full-extra.conf\n"
		  "policy x {\n"
		  "\tinclude " DATA "full-rules.conf\n"
		  "}\n",
		  &r);
	expect_ok(&r, "string");
	assert_int_equal(r.cfg.npolicies, 2);
	assert_string_equal(r.cfg.policies[0].p.name, "proxy");
	assert_string_equal(r.cfg.policies[1].p.name, "x");
	assert_string_equal(r.cfg.policies[1].file, "t.conf");
	assert_int_equal(r.cfg.policies[1].rules.n, 2);
	run_free(&r);

	/* ... and not from the origin's directory */
	run_parse("include full-extra.conf\n", &r);
	{
		struct want w = { "t.conf:1: ", "include 'full-extra.conf': No such file" };

		expect_errors(&r, &w, 1, "relative to cwd");
	}
	run_free(&r);
}

/* ---- defaults -------------------------------------------------------------- */

static void test_defaults(void **state)
{
	static const char *const texts[] = { "", "\n\n", "# only a comment\n   \t\n", "# no newline at the end" };
	const struct nm_cfg_policy *p;
	struct run r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		run_parse(texts[i], &r);
		expect_ok(&r, texts[i]);
		assert_int_equal(r.cfg.npolicies, 0);
		assert_int_equal(r.cfg.nbinds, 0);
		assert_int_equal(r.cfg.nattaches, 0);
		assert_null(r.cfg.policies);
		assert_string_equal(r.cfg.events_log, "stdout");
		assert_string_equal(r.cfg.events_socket, "/run/nomoat/events.sock");
		assert_int_equal(r.cfg.events_rate, 200);
		assert_string_equal(r.cfg.metrics, "unix:/run/nomoat/metrics.sock");
		run_free(&r);
	}

	run_parse("policy bare {\n}\n", &r);
	expect_ok(&r, "bare policy");
	p = nm_config_policy(&r.cfg, "bare");
	assert_non_null(p);
	assert_int_equal(p->p.default_action, NM_ACT_REDIRECT);
	assert_int_equal(p->p.mode, NM_MODE_ENFORCE);
	assert_int_equal(p->p.events, NM_EV_DENY);
	assert_true(zeroed(&p->p.proxy4, sizeof(p->p.proxy4)));
	assert_true(zeroed(&p->p.proxy6, sizeof(p->p.proxy6)));
	assert_true(zeroed(&p->p.dns4, sizeof(p->p.dns4)));
	assert_true(zeroed(&p->p.dns6, sizeof(p->p.dns6)));
	assert_int_equal(p->rules.n, 0);
	assert_int_equal(p->nhosts, 0);
	assert_null(p->hosts);
	assert_false(p->ip_only);
	assert_int_equal(p->line, 1);
	run_free(&r);
}

/* Other spellings that are accepted, and what they store. */
static void test_accepted_forms(void **state)
{
	const struct nm_cfg_policy *p;
	struct run r;

	(void)state;
	run_parse("attach nomoat//sub/\r\n"     /* relative, doubled and trailing '/', CRLF */
		  "attach /sys/fs/cgroup/x\n"
		  "bind //a//b/ p\n"
		  "events-log stdout # explicit default\n"
		  "events-rate 0\n"
		  "metrics 127.1.2.3:9100\n"
		  "\tpolicy p {   # comment after the brace\r\n"
		  "proxy4 none\n"
		  "deny 1.2.3.4 #   spaced reason \t\n"
		  "deny 1.2.3.5 #\n"
		  "allow [fd00::1]:443\n"
		  "\t}\t\n",
		  &r);
	expect_ok(&r, "forms");
	assert_int_equal(r.cfg.nattaches, 2);
	assert_string_equal(r.cfg.attaches[0].path, "/nomoat/sub");
	assert_string_equal(r.cfg.attaches[1].path, "/sys/fs/cgroup/x");
	assert_string_equal(r.cfg.binds[0].pattern, "/a/b");
	assert_string_equal(r.cfg.events_log, "stdout");
	assert_int_equal(r.cfg.events_rate, 0);
	assert_string_equal(r.cfg.metrics, "127.1.2.3:9100");
	p = nm_config_policy(&r.cfg, "p");
	assert_non_null(p);
	assert_int_equal(p->line, 7);
	assert_int_equal(p->rules.n, 3);
	assert_rule(&p->rules.v[0], NM_ACT_DENY, "1.2.3.4", "spaced reason", 9);
	assert_rule(&p->rules.v[1], NM_ACT_DENY, "1.2.3.5", NULL, 10);
	assert_rule(&p->rules.v[2], NM_ACT_ALLOW, "[fd00::1]:443", NULL, 11);
	run_free(&r);

	/* metrics on a unix socket, and v4-mapped loopback in canonical form */
	run_parse("metrics unix:/run/m.sock\n", &r);
	expect_ok(&r, "metrics unix");
	assert_string_equal(r.cfg.metrics, "unix:/run/m.sock");
	run_free(&r);
	run_parse("metrics [::ffff:127.0.0.1]:9100\n", &r);
	expect_ok(&r, "metrics mapped");
	assert_string_equal(r.cfg.metrics, "127.0.0.1:9100");
	run_free(&r);

	/* a line of exactly the limit is fine */
	{
		char *t = malloc(NM_CFG_MAX_LINE + 2);

		assert_non_null(t);
		memset(t, 'x', NM_CFG_MAX_LINE);
		t[0] = '#';
		t[NM_CFG_MAX_LINE] = '\n';
		t[NM_CFG_MAX_LINE + 1] = 0;
		run_parse(t, &r);
		expect_ok(&r, "4096-byte line");
		run_free(&r);
		free(t);
	}

	/* errf and nerrors may be NULL */
	{
		struct nm_config cfg;

		assert_int_equal(nm_config_parse("bogus\n", "t", &cfg, NULL, NULL), -EINVAL);
		assert_true(zeroed(&cfg, sizeof(cfg)));
		assert_int_equal(nm_config_parse("", "t", &cfg, NULL, NULL), 0);
		nm_config_free(&cfg);
		nm_config_free(&cfg); /* twice is harmless */
	}
}

/* ---- includes -------------------------------------------------------------- */

static void test_deny_defaults_include(void **state)
{
	const struct nm_cfg_policy *p;
	struct nm_ruleset def;
	struct run r;

	(void)state;
	deny_defaults(&def);
	run_parse("policy p {\n"
		  "\tdeny 10.9.9.9 # before\n"
		  "\tinclude deny-defaults\n"
		  "\tallow 10.9.9.9 # after: wins\n"
		  "}\n",
		  &r);
	expect_ok(&r, "deny-defaults");
	p = nm_config_policy(&r.cfg, "p");
	assert_int_equal(p->rules.n, def.n + 2);
	assert_rule(&p->rules.v[0], NM_ACT_DENY, "10.9.9.9", "before", 2);
	assert_same_rules(p->rules.v + 1, &def);
	assert_rule(&p->rules.v[def.n + 1], NM_ACT_ALLOW, "10.9.9.9", "after: wins", 4);
	run_free(&r);
	nm_ruleset_free(&def);
}

/* Relative includes are relative to the including file, at every level. */
static void test_include_relative(void **state)
{
	char path[PATH_MAX], sub[PATH_MAX];
	const struct nm_cfg_policy *p;
	struct run r;

	(void)state;
	mk_tmpdir();
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/sub/rules", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("main.conf", "include sub/a.conf\n");
	write_file("sub/a.conf", "\n\ninclude b.conf\n");              /* sub/b.conf */
	write_file("sub/b.conf", "policy p {\n"
				 "\tinclude rules/r.conf\n"                 /* sub/rules/r.conf */
				 "}\n"
				 "bind /p p\n");
	write_file("sub/rules/r.conf", "# r\n\ndeny 10.0.0.0/8 # private\n");
	write_file("b.conf", "bogus: the wrong b.conf\n");

	run_load(tmp_path("main.conf", path, sizeof(path)), &r);
	expect_ok(&r, "relative includes");
	p = nm_config_policy(&r.cfg, "p");
	assert_non_null(p);
	assert_int_equal(p->line, 1);
	assert_string_equal(p->file, tmp_path("sub/b.conf", path, sizeof(path)));
	assert_int_equal(p->rules.n, 1);
	assert_rule(&p->rules.v[0], NM_ACT_DENY, "10.0.0.0/8", "private", 3);
	assert_int_equal(r.cfg.binds[0].line, 4);
	run_free(&r);

	/* an error in a nested file names that file and its own line */
	write_file("sub/rules/r.conf", "# r\n\ndeny 10.0.0.0/8 # private\n\nallow nowhere\n");
	run_load(tmp_path("main.conf", path, sizeof(path)), &r);
	{
		char prefix[PATH_MAX + 16];
		struct want w;

		snprintf(prefix, sizeof(prefix), "%s/sub/rules/r.conf:5: ", tmpdir);
		w.prefix = prefix;
		w.has = "'nowhere'";
		expect_errors(&r, &w, 1, "nested error");
	}
	run_free(&r);
	rm_tmpdir();
}

static void test_include_loop(void **state)
{
	struct run r;

	(void)state;
	{
		static const struct want w[] = {
			{ DATA "loop-b.conf:3: ", "include 'loop-a.conf': include loop" },
		};

		run_load(DATA "loop-a.conf", &r);
		expect_errors(&r, w, ARRAY_SIZE(w), "loop a-b");
		run_free(&r);
	}
	{
		static const struct want w[] = {
			{ DATA "loop-self.conf:2: ", "include './loop-self.conf': include loop" },
		};

		run_load(DATA "loop-self.conf", &r);
		expect_errors(&r, w, ARRAY_SIZE(w), "self loop");
		run_free(&r);
	}
}

static void test_include_missing(void **state)
{
	static const struct want w[] = {
		{ DATA "missing.conf:2: ", "include 'no-such-rules.conf': " DATA "no-such-rules.conf: No such file" },
		{ DATA "missing.conf:4: ", "include 'no-such-file.conf': " DATA "no-such-file.conf: No such file" },
	};
	static const struct want top[] = {
		{ DATA "nope.conf:0: ", "cannot read the configuration: No such file or directory" },
	};
	static const struct want dir[] = {
		{ DATA ":0: ", "is a directory" },
	};
	struct run r;

	(void)state;
	run_load(DATA "missing.conf", &r);
	expect_errors(&r, w, ARRAY_SIZE(w), "missing includes");
	run_free(&r);
	run_load(DATA "nope.conf", &r);
	expect_errors(&r, top, ARRAY_SIZE(top), "missing top file");
	run_free(&r);
	run_load(DATA, &r);
	expect_errors(&r, dir, ARRAY_SIZE(dir), "a directory");
	run_free(&r);
}

/* A rules file holds rule lines only; each bad line is reported. */
static void test_include_bad_rules(void **state)
{
	static const struct want w[] = {
		{ DATA "bad-rules-file.conf:3: ", "'include': unknown action" },
		{ DATA "bad-rules-file.conf:4: ", "'999.1.1.1'" },
	};
	struct run r;

	(void)state;
	run_load(DATA "bad-rules.conf", &r);
	expect_errors(&r, w, ARRAY_SIZE(w), "bad rules file");
	run_free(&r);
}

/* Depth: 8 nested includes are fine, a 9th is refused at its include line. */
static void test_include_depth(void **state)
{
	char name[32], text[128], path[PATH_MAX], prefix[PATH_MAX + 32];
	struct run r;
	struct want w;

	(void)state;
	mk_tmpdir();
	for (int i = 0; i <= NM_CFG_MAX_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "# depth %d\ninclude d%d.conf\n", i, i + 1);
		write_file(name, text);
	}
	/* d8 is the last allowed: make it a leaf first */
	snprintf(name, sizeof(name), "d%d.conf", NM_CFG_MAX_DEPTH);
	write_file(name, "policy deep {\n}\n");
	run_load(tmp_path("d0.conf", path, sizeof(path)), &r);
	expect_ok(&r, "depth 8");
	assert_non_null(nm_config_policy(&r.cfg, "deep"));
	run_free(&r);

	/* now d8 includes d9 */
	snprintf(text, sizeof(text), "# depth %d\ninclude d%d.conf\n", NM_CFG_MAX_DEPTH, NM_CFG_MAX_DEPTH + 1);
	write_file(name, text);
	write_file("d9.conf", "policy deep {\n}\n");
	run_load(tmp_path("d0.conf", path, sizeof(path)), &r);
	snprintf(prefix, sizeof(prefix), "%s/d8.conf:2: ", tmpdir);
	w.prefix = prefix;
	w.has = "include 'd9.conf': includes nested more than 8 deep";
	expect_errors(&r, &w, 1, "depth 9");
	run_free(&r);

	/* a rules include counts as a level too */
	snprintf(text, sizeof(text), "# depth %d\npolicy p {\ninclude r.conf\n}\n", NM_CFG_MAX_DEPTH);
	write_file(name, text);
	write_file("r.conf", "deny 10.0.0.0/8\n");
	run_load(tmp_path("d0.conf", path, sizeof(path)), &r);
	snprintf(prefix, sizeof(prefix), "%s/d8.conf:3: ", tmpdir);
	w.has = "include 'r.conf': includes nested more than 8 deep";
	expect_errors(&r, &w, 1, "rules at depth 9");
	run_free(&r);
	rm_tmpdir();
}

/* A file over 64 MiB is refused without being read. */
static void test_file_too_large(void **state)
{
	char path[PATH_MAX], prefix[PATH_MAX + 32];
	struct run r;
	struct want w;
	int fd;

	(void)state;
	mk_tmpdir();
	fd = open(tmp_path("big.conf", path, sizeof(path)), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)NM_CFG_MAX_FILE + 1), 0); /* sparse */
	close(fd);
	write_file("main.conf", "# x\ninclude big.conf\n");

	run_load(tmp_path("main.conf", path, sizeof(path)), &r);
	snprintf(prefix, sizeof(prefix), "%s/main.conf:2: ", tmpdir);
	w.prefix = prefix;
	w.has = "file too large";
	expect_errors(&r, &w, 1, "big include");
	run_free(&r);

	run_load(tmp_path("big.conf", path, sizeof(path)), &r);
	snprintf(prefix, sizeof(prefix), "%s/big.conf:0: ", tmpdir);
	expect_errors(&r, &w, 1, "big top file");
	run_free(&r);

	/* not a regular file */
	write_file("dev.conf", "include /dev/null\n");
	run_load(tmp_path("dev.conf", path, sizeof(path)), &r);
	snprintf(prefix, sizeof(prefix), "%s/dev.conf:1: ", tmpdir);
	w.has = "not a regular file";
	expect_errors(&r, &w, 1, "/dev/null");
	run_free(&r);
	rm_tmpdir();
}

/* ---- errors ---------------------------------------------------------------- */

/* Every error of a file with several bad lines, across an include and the
 * final bind check, in order. */
static void test_all_errors_reported(void **state)
{
	static const struct want w[] = {
		{ DATA "errors.conf:2: ", "attach: missing argument" },
		{ DATA "errors.conf:3: ", "bind 'nomoat': the pattern must be absolute" },
		{ DATA "errors.conf:4: ", "unknown keyword 'frobnicate'" },
		{ DATA "errors.conf:5: ", "events-rate 'lots': not a number" },
		{ DATA "errors.conf:6: ", "'deny' rule outside a policy block" },
		{ DATA "errors.conf:8: ", "default: 'maybe': unknown action" },
		{ DATA "errors.conf:9: ", "'attach' is not allowed inside a policy block" },
		{ DATA "errors.conf:10: ", "proxy4: '[::1]:3128': an IPv6 endpoint is not allowed here" },
		{ DATA "errors.conf:11: ", "hostname: '10.0.0.1': an IP address, not a host name" },
		{ DATA "errors.conf:12: ", "'10.0.0.0/33'" },
		{ DATA "errors-inc.conf:1: ", "metrics '10.0.0.1:9100': not a loopback address" },
		{ DATA "errors-inc.conf:3: ", "policy 'agents' is already defined at " DATA "errors.conf:7" },
		{ DATA "errors-inc.conf:5: ", "'}' without an open policy block" },
		{ DATA "errors.conf:15: ", "bind '/nomoat': unknown policy 'nobody'" },
	};
	struct run r;

	(void)state;
	run_load(DATA "errors.conf", &r);
	expect_errors(&r, w, ARRAY_SIZE(w), "errors.conf");
	assert_int_equal(r.nerr, 14);
	run_free(&r);

	/* the same count with no error stream */
	{
		struct nm_config cfg;
		int n = -1;

		assert_int_equal(nm_config_load(DATA "errors.conf", &cfg, NULL, &n), -EINVAL);
		assert_int_equal(n, 14);
		assert_true(zeroed(&cfg, sizeof(cfg)));
	}
}

struct err_case {
	const char *text;
	const char *prefix; /* of the one error */
	const char *has;
};

#define P "policy p {\n"
#define E "}\n"

static const struct err_case err_cases[] = {
	/* structure */
	{ "frob\n", "t.conf:1: ", "unknown keyword 'frob'" },
	{ "\n\n  Attach /x\n", "t.conf:3: ", "unknown keyword 'Attach'" },
	{ "deny 10.0.0.0/8\n", "t.conf:1: ", "'deny' rule outside a policy block" },
	{ "# c\nallow 1.2.3.4 # why\n", "t.conf:2: ", "'allow' rule outside a policy block" },
	{ "redirect 0.0.0.0/0\n", "t.conf:1: ", "'redirect' rule outside a policy block" },
	{ "default deny\n", "t.conf:1: ", "'default' is only allowed inside a policy block" },
	{ "hostname a.com\n", "t.conf:1: ", "'hostname' is only allowed inside a policy block" },
	{ "ip-only\n", "t.conf:1: ", "'ip-only' is only allowed inside a policy block" },
	{ P "policy q {\n}\n", "t.conf:2: ", "policy block inside policy 'p' (opened at line 1)" },
	{ P "bind /x p\n" E, "t.conf:2: ", "'bind' is not allowed inside a policy block" },
	{ P "events-rate 5\n" E, "t.conf:2: ", "'events-rate' is not allowed inside a policy block" },
	{ "\n" P "deny 1.2.3.4\n", "t.conf:2: ", "policy 'p' is not closed: no '}' before the end of the file" },
	{ "}\n", "t.conf:1: ", "'}' without an open policy block" },
	{ P "} extra\n", "t.conf:2: ", "'}': unexpected 'extra'" },
	{ P E P E, "t.conf:3: ", "policy 'p' is already defined at t.conf:1" },
	{ "policy Bad {\n}\n", "t.conf:1: ", "policy: 'Bad': policy name may only contain" },
	{ "policy p\n}\n", "t.conf:1: ", "expected 'policy NAME {'" },
	{ "policy p{\n}\n", "t.conf:1: ", "expected 'policy NAME {'" },
	{ "policy p { x\n}\n", "t.conf:1: ", "expected 'policy NAME {'" },
	{ "policy\n}\n", "t.conf:1: ", "expected 'policy NAME {'" },
	/* argument counts */
	{ "attach\n", "t.conf:1: ", "attach: missing argument (usage: attach CGROUP [origdst-only])" },
	{ "attach /a origdst-only x\n", "t.conf:1: ", "attach: unexpected 'x'" },
	{ "bind /a\n", "t.conf:1: ", "bind: missing argument (usage: bind PATTERN POLICY)" },
	{ P E "bind /a p q\n", "t.conf:3: ", "bind: unexpected 'q'" },
	{ "include\n", "t.conf:1: ", "include: missing argument" },
	{ "include a b\n", "t.conf:1: ", "include: unexpected 'b'" },
	{ "events-log\n", "t.conf:1: ", "events-log: missing argument" },
	{ "events-socket /a /b\n", "t.conf:1: ", "events-socket: unexpected '/b'" },
	{ "events-rate 1 2\n", "t.conf:1: ", "events-rate: unexpected '2'" },
	{ "metrics\n", "t.conf:1: ", "metrics: missing argument" },
	{ P "default\n" E, "t.conf:2: ", "default: missing argument" },
	{ P "mode audit enforce\n" E, "t.conf:2: ", "mode: unexpected 'enforce'" },
	{ P "events\n" E, "t.conf:2: ", "events: missing argument" },
	{ P "proxy4\n" E, "t.conf:2: ", "proxy4: missing argument" },
	{ P "dns6 none none\n" E, "t.conf:2: ", "dns6: unexpected 'none'" },
	{ P "include\n" E, "t.conf:2: ", "include: missing argument (usage: include PATH|deny-defaults)" },
	{ P "hostname\n" E, "t.conf:2: ", "hostname: missing argument" },
	{ P "ip-only yes\n" E, "t.conf:2: ", "ip-only: unexpected 'yes'" },
	{ P "deny\n" E, "t.conf:2: ", "'deny' needs a target (CIDR or address)" },
	{ P "deny 1.2.3.4 5.6.7.8\n" E, "t.conf:2: ", "unexpected '5.6.7.8' after the target (reasons go after '#')" },
	/* values */
	{ P "deny 10.0.0.0/33\n" E, "t.conf:2: ", "'10.0.0.0/33'" },
	{ P "allow example.com\n" E, "t.conf:2: ", "'example.com'" },
	{ P "default maybe\n" E, "t.conf:2: ", "default: 'maybe': unknown action" },
	{ P "mode loud\n" E, "t.conf:2: ", "mode: 'loud': unknown mode" },
	{ P "events some\n" E, "t.conf:2: ", "events: 'some': unknown event level" },
	{ P "proxy4 [::1]:3128\n" E, "t.conf:2: ", "proxy4: '[::1]:3128': an IPv6 endpoint is not allowed here" },
	{ P "proxy6 127.0.0.1:3128\n" E, "t.conf:2: ", "proxy6: '127.0.0.1:3128': an IPv4 endpoint is not allowed here" },
	{ P "dns4 127.0.0.1\n" E, "t.conf:2: ", "dns4: '127.0.0.1': endpoint needs a port" },
	{ P "dns6 [::1]:0\n" E, "t.conf:2: ", "dns6: '[::1]:0'" },
	{ P "proxy4 1.2.3.4:1\nproxy4 none\n" E, "t.conf:3: ", "'proxy4' given twice in this block (first at line 2)" },
	{ P "dns6 none\n\ndns6 none\n" E, "t.conf:4: ", "'dns6' given twice in this block (first at line 2)" },
	{ P "default deny\ndefault allow\n" E, "t.conf:3: ", "'default' given twice" },
	{ P "ip-only\nip-only\n" E, "t.conf:3: ", "'ip-only' given twice" },
	{ "events-log var/log/x\n", "t.conf:1: ", "events-log 'var/log/x': the path must be absolute" },
	{ "events-log stdout\nevents-log stdout\n", "t.conf:2: ", "'events-log' given twice (first at t.conf:1)" },
	{ "proxy-log var/log/p\n", "t.conf:1: ", "proxy-log 'var/log/p': the path must be absolute" },
	{ "proxy-log /a\nproxy-log /b\n", "t.conf:2: ", "'proxy-log' given twice (first at t.conf:1)" },
	{ "proxy-log\n", "t.conf:1: ", "proxy-log PATH" },
	{ "events-socket run/x.sock\n", "t.conf:1: ", "events-socket 'run/x.sock': the path must be absolute" },
	{ "events-socket /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
	  "t.conf:1: ", "too long for a unix socket (at most 107 bytes)" },
	{ "events-rate lots\n", "t.conf:1: ", "events-rate 'lots': not a number" },
	{ "events-rate -1\n", "t.conf:1: ", "events-rate '-1': not a number" },
	{ "events-rate 010\n", "t.conf:1: ", "events-rate '010': not a number" },
	{ "events-rate 1000001\n", "t.conf:1: ", "events-rate '1000001': more than 1000000 events a second" },
	{ "events-rate 99999999999\n", "t.conf:1: ", "more than 1000000 events a second" },
	{ "events-rate 1\nevents-rate 2\n", "t.conf:2: ", "'events-rate' given twice" },
	{ "metrics 10.0.0.1:9100\n", "t.conf:1: ", "metrics '10.0.0.1:9100': not a loopback address (127.0.0.0/8 or ::1)" },
	{ "metrics [::2]:9100\n", "t.conf:1: ", "not a loopback address" },
	{ "metrics 0.0.0.0:9100\n", "t.conf:1: ", "not a loopback address" },
	{ "metrics 127.0.0.1\n", "t.conf:1: ", "metrics: '127.0.0.1': endpoint needs a port" },
	{ "metrics localhost:9100\n", "t.conf:1: ", "(expected unix:PATH or ADDR:PORT)" },
	{ "metrics unix:run/m.sock\n", "t.conf:1: ", "metrics 'unix:run/m.sock': the path must be absolute" },
	{ "metrics unix:\n", "t.conf:1: ", "the path must be absolute" },
	{ "metrics unix:/m\nmetrics unix:/m\n", "t.conf:2: ", "'metrics' given twice" },
	/* attach and bind */
	{ "attach /a\nattach /b\nattach /a\n", "t.conf:3: ", "attach '/a': already attached at t.conf:1" },
	{ "attach /a/\nattach a origdst-only\n", "t.conf:2: ", "attach '/a': already attached at t.conf:1" },
	{ "attach /a proxy\n", "t.conf:1: ", "attach: unknown option 'proxy' (the only one is origdst-only)" },
	{ "attach /a/*\n", "t.conf:1: ", "attach '/a/*': a cgroup path, not a pattern" },
	{ "attach /a/../b\n", "t.conf:1: ", "attach '/a/../b': '.' and '..' components are not allowed" },
	{ P E "bind agents p\n", "t.conf:3: ", "bind 'agents': the pattern must be absolute (start with '/')" },
	{ P E "bind *.scope p\n", "t.conf:3: ", "bind '*.scope': the pattern must be absolute" },
	{ P E "bind /a/**/b p\n", "t.conf:3: ", "bind '/a/**/b': '**' is not supported" },
	{ P E "bind /a/./b p\n", "t.conf:3: ", "'.' and '..' components are not allowed" },
	{ P E "bind /a Bad\n", "t.conf:3: ", "bind: 'Bad': policy name may only contain" },
	{ P E "bind /a p\nbind /a/ p\n", "t.conf:4: ", "bind '/a': already bound at t.conf:3" },
	{ "bind /a nobody\n", "t.conf:1: ", "bind '/a': unknown policy 'nobody'" },
	{ "bind /a p\n" P "}\n" "policy p {\n}\n", "t.conf:4: ", "already defined" }, /* checked after all */
	/* hostnames */
	{ P "hostname 1.2.3.4\n" E, "t.conf:2: ", "hostname: '1.2.3.4': an IP address, not a host name" },
	{ P "hostname a..b\n" E, "t.conf:2: ", "hostname: 'a..b': empty label" },
	{ P "hostname a.com:0\n" E, "t.conf:2: ", "hostname: 'a.com:0': bad port" },
	{ P "hostname a=b.com\n" E, "t.conf:2: ", "hostname: 'a=b.com': '=' is not allowed in a host name" },
	{ P "hostname a.*.com\n" E, "t.conf:2: ", "hostname: 'a.*.com': '*' is only allowed as a leading \"*.\"" },
	/* lines */
	{ "# ok\n\x01\n", "t.conf:2: ", "control character \\x01 at column 1" },
	{ "attach /a\x7f\n", "t.conf:1: ", "control character \\x7f at column 10" },
	{ "attach /a\rb\n", "t.conf:1: ", "control character \\x0d" },
	{ "include /nonexistent/x.conf\n", "t.conf:1: ", "include '/nonexistent/x.conf': No such file or directory" },
	{ P "include /nonexistent/r.conf\n" E, "t.conf:2: ", "include '/nonexistent/r.conf': No such file" },
};

static void test_error_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++)
		expect_one_error(err_cases[i].text, err_cases[i].prefix, err_cases[i].has);
}

/* A line over the limit is reported once, and the next line is still read
 * with the right number. */
static void test_line_too_long(void **state)
{
	static const struct want w[] = {
		{ "t.conf:2: ", "line too long (4097 bytes, at most 4096)" },
		{ "t.conf:3: ", "unknown keyword 'after'" },
	};
	size_t n = NM_CFG_MAX_LINE + 1;
	char *t = malloc(n + 64);
	struct run r;

	(void)state;
	assert_non_null(t);
	strcpy(t, "# first\n");
	memset(t + 8, 'x', n);
	strcpy(t + 8 + n, "\nafter\n");
	run_parse(t, &r);
	expect_errors(&r, w, ARRAY_SIZE(w), "long line");
	run_free(&r);
	free(t);
}

/* Counted limits: policies, attach points, binds (and the arrays grow). */
static void test_count_limits(void **state)
{
	size_t cap = 64 * (NM_CFG_MAX_BINDS + 2);
	char *t = malloc(cap), want[64], msg[64];
	size_t o = 0;
	struct run r;
	int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < NM_MAX_POLICIES - 1; i++)
		o += (size_t)snprintf(t + o, cap - o, "policy p%d {\nhostname h%d.com\n}\n", i, i);
	run_parse(t, &r);
	expect_ok(&r, "255 policies");
	assert_int_equal(r.cfg.npolicies, NM_MAX_POLICIES - 1);
	assert_string_equal(r.cfg.policies[254].p.name, "p254");
	assert_string_equal(r.cfg.policies[254].hosts[0].name, "h254.com");
	run_free(&r);
	o += (size_t)snprintf(t + o, cap - o, "policy one-more {\n}\n");
	snprintf(want, sizeof(want), "t.conf:%d: ", 3 * (NM_MAX_POLICIES - 1) + 1);
	expect_one_error(t, want, "too many policies (at most 255)");

	o = 0;
	for (i = 0; i <= NM_CFG_MAX_ATTACHES; i++)
		o += (size_t)snprintf(t + o, cap - o, "attach /a%d\n", i);
	snprintf(want, sizeof(want), "t.conf:%d: ", NM_CFG_MAX_ATTACHES + 1);
	snprintf(msg, sizeof(msg), "attach: too many attach points (at most %d)", NM_CFG_MAX_ATTACHES);
	expect_one_error(t, want, msg);

	o = (size_t)snprintf(t, cap, "policy p {\n");
	for (i = 0; i < 100; i++)
		o += (size_t)snprintf(t + o, cap - o, "hostname h%d.com:%d\n", i, i + 1);
	o += (size_t)snprintf(t + o, cap - o, "}\n");
	for (i = 0; i <= NM_CFG_MAX_BINDS; i++)
		o += (size_t)snprintf(t + o, cap - o, "bind /b%d p\n", i);
	snprintf(want, sizeof(want), "t.conf:%d: ", 102 + NM_CFG_MAX_BINDS + 1);
	snprintf(msg, sizeof(msg), "bind: too many binds (at most %d)", NM_CFG_MAX_BINDS);
	expect_one_error(t, want, msg);
	snprintf(msg, sizeof(msg), "bind /b%d p\n", NM_CFG_MAX_BINDS);
	t[o - strlen(msg)] = 0;
	run_parse(t, &r);
	expect_ok(&r, "the most binds");
	assert_int_equal(r.cfg.nbinds, NM_CFG_MAX_BINDS);
	snprintf(msg, sizeof(msg), "/b%d", NM_CFG_MAX_BINDS - 1);
	assert_string_equal(r.cfg.binds[NM_CFG_MAX_BINDS - 1].pattern, msg);
	assert_int_equal(r.cfg.policies[0].nhosts, 100);
	assert_int_equal(r.cfg.policies[0].hosts[99].port, 100);
	run_free(&r);
	free(t);
}

/* Several errors in one block and around it: all are reported, and a
 * nested block or bad header does not hide the lines after it. */
static void test_error_recovery(void **state)
{
	static const struct want w[] = {
		{ "t.conf:2: ", "mode: 'x': unknown mode" },
		{ "t.conf:3: ", "policy block inside policy 'a' (opened at line 1)" },
		{ "t.conf:4: ", "'1.2.3.4/40'" },
		{ "t.conf:6: ", "'}' without an open policy block" },
		{ "t.conf:7: ", "policy: 'B': policy name may only contain" },
		{ "t.conf:8: ", "hostname: '-.*': '*' is only allowed" },
		{ "t.conf:10: ", "bind: 'B': policy name may only contain" },
	};
	struct run r;

	(void)state;
	run_parse("policy a {\n"           /* 1 */
		  "mode x\n"                /* 2 */
		  "policy b {\n"            /* 3: closes a (kept), opens b */
		  "deny 1.2.3.4/40\n"       /* 4 */
		  "}\n"                     /* 5: closes b */
		  "}\n"                     /* 6 */
		  "policy B {\n"            /* 7: read, not kept */
		  "hostname -.*\n"          /* 8 */
		  "}\n"                     /* 9 */
		  "bind /x B\n"             /* 10: the name, not "unknown policy" */
		  "bind /y a\nbind /z b\n", /* 11, 12: fine: a and b exist */
		  &r);
	expect_errors(&r, w, ARRAY_SIZE(w), "recovery");
	run_free(&r);
}

/* ---- hostnames ------------------------------------------------------------- */

struct host_ok {
	const char *in, *name;
	__u16 port;
};

static const struct host_ok host_ok[] = {
	{ "pypi.org", "pypi.org", 0 },
	{ "PyPI.ORG", "pypi.org", 0 },
	{ "pypi.org.", "pypi.org", 0 },
	{ "pypi.org.:443", "pypi.org", 443 },
	{ "*.pythonhosted.org", "*.pythonhosted.org", 0 },
	{ "*.PythonHosted.org.:8443", "*.pythonhosted.org", 8443 },
	{ "github.com:65535", "github.com", 65535 },
	{ "localhost", "localhost", 0 },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", 0 },
	{ "a-b.c-d.e1", "a-b.c-d.e1", 0 },
	{ "1.2.3.com", "1.2.3.com", 0 },
	{ "0xfg.com", "0xfg.com", 0 },
	/* '_' as the proxy and the resolver accept it (hostname.h) */
	{ "a_b.com", "a_b.com", 0 },
	{ "_dmarc.Example.org", "_dmarc.example.org", 0 },
	{ "*.a", "*.a", 0 },
	/* 63-char label and a 253-char name */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", 0 },
};

struct host_bad {
	const char *in, *has;
};

static const struct host_bad host_bad[] = {
	{ "1.2.3.4", "an IP address" },
	{ "1.2.3.4:80", "an IP address" },
	{ "127.1", "an IP address" },
	{ "2130706433", "an IP address" },
	{ "0x7f000001", "an IP address" },
	{ "example.0x7f", "an IP address" },
	{ "a.b.123", "an IP address" },
	{ "[::1]", "an IP address" },
	{ "[::1]:443", "an IP address" },
	{ "::1", "an IP address" },
	{ "fd00::1", "an IP address" },
	{ "a..b", "empty label" },
	{ ".a.b", "empty label" },
	{ "a.b..", "empty label" },
	{ ".", "empty host name" },
	{ ":443", "empty host name" },
	{ "a.com:", "bad port" },
	{ "a.com:0", "bad port" },
	{ "a.com:65536", "bad port" },
	{ "a.com:08", "bad port" },
	{ "a.com:http", "bad port" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "label longer than 63" },
	{ "a/b", "'/' is not allowed" },
	{ "a+b.com", "'+' is not allowed" },
	{ "b\xc3\xbc" "cher.de", "not ASCII" },
	{ "*", "'*' is only allowed as a leading" },
	{ "*.", "'*' is only allowed as a leading" },
	{ "**.a.com", "'*' is only allowed as a leading" },
	{ "a*.com", "'*' is only allowed as a leading" },
	{ "*a.com", "'*' is only allowed as a leading" },
	{ "a.*", "'*' is only allowed as a leading" },
	{ "*.*.a.com", "'*' is only allowed as a leading" },
	{ "*..a.com", "empty label" },
};

static void test_hostnames(void **state)
{
	char text[1024];
	struct run r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(host_ok); i++) {
		const struct nm_cfg_policy *p;

		snprintf(text, sizeof(text), "policy p {\nhostname %s\n}\n", host_ok[i].in);
		run_parse(text, &r);
		expect_ok(&r, host_ok[i].in);
		p = nm_config_policy(&r.cfg, "p");
		assert_int_equal(p->nhosts, 1);
		if (strcmp(p->hosts[0].name, host_ok[i].name))
			fail_msg("'%s' stored as '%s', want '%s'", host_ok[i].in, p->hosts[0].name, host_ok[i].name);
		assert_int_equal(p->hosts[0].port, host_ok[i].port);
		run_free(&r);
	}
	for (size_t i = 0; i < ARRAY_SIZE(host_bad); i++) {
		snprintf(text, sizeof(text), "policy p {\nhostname %s\n}\n", host_bad[i].in);
		expect_one_error(text, "t.conf:2: hostname: ", host_bad[i].has);
	}

	/* length limits: 253 is the most a name may have, after the dot */
	{
		char name[300];
		const struct nm_cfg_policy *p;

		/* 4 x 63 + 3 dots = 255; cut to 253 */
		for (int i = 0; i < 4; i++) {
			memset(name + i * 64, 'a' + i, 63);
			name[i * 64 + 63] = '.';
		}
		name[253] = 0; /* "aaa...a.bbb...b.ccc...c.ddd...d" shortened: last label 61 */
		snprintf(text, sizeof(text), "policy p {\nhostname %s.\n}\n", name);
		run_parse(text, &r);
		expect_ok(&r, "253 chars + dot");
		p = nm_config_policy(&r.cfg, "p");
		assert_int_equal(strlen(p->hosts[0].name), 253);
		assert_string_equal(p->hosts[0].name, name);
		run_free(&r);

		name[253] = 'd';
		name[254] = 0;
		snprintf(text, sizeof(text), "policy p {\nhostname %s\n}\n", name);
		expect_one_error(text, "t.conf:2: hostname: ", "host name longer than 253 characters");
	}

	/* several entries keep their order */
	run_parse("policy p {\nhostname b.com\nhostname a.com:80\nhostname *.c.com\n}\n", &r);
	expect_ok(&r, "three hosts");
	assert_int_equal(r.cfg.policies[0].nhosts, 3);
	assert_string_equal(r.cfg.policies[0].hosts[0].name, "b.com");
	assert_string_equal(r.cfg.policies[0].hosts[1].name, "a.com");
	assert_int_equal(r.cfg.policies[0].hosts[1].port, 80);
	assert_string_equal(r.cfg.policies[0].hosts[2].name, "*.c.com");
	run_free(&r);
}

/* ---- the resolver's keywords ------------------------------------------------- */

static void test_dns_keywords(void **state)
{
	const struct nm_cfg_policy *p;
	struct run r;
	char t[NM_CIDR_STRLEN];

	(void)state;
	/* names synthetic: default ranges, and a redirect rule for each, last */
	run_parse("policy p {\nproxy4 127.0.0.1:3128\nnames synthetic\ndeny 198.19.0.0/16\n}\n", &r);
	expect_ok(&r, "names synthetic");
	p = nm_config_policy(&r.cfg, "p");
	assert_true(p->names_synthetic);
	assert_string_equal(nm_format_cidr(&p->synth4, t, sizeof(t)), NM_CFG_DEF_SYNTH4);
	assert_string_equal(nm_format_cidr(&p->synth6, t, sizeof(t)), NM_CFG_DEF_SYNTH6);
	assert_int_equal(p->rules.n, 3);
	assert_int_equal(p->rules.v[1].action, NM_ACT_REDIRECT);
	assert_int_equal(p->rules.v[1].line, 0);
	assert_string_equal(nm_format_cidr(&p->rules.v[1].cidr, t, sizeof(t)), NM_CFG_DEF_SYNTH4);
	assert_string_equal(p->rules.v[1].reason, "names synthetic");
	assert_string_equal(nm_format_cidr(&p->rules.v[2].cidr, t, sizeof(t)), NM_CFG_DEF_SYNTH6);
	run_free(&r);
	/* ranges of one's own */
	run_parse("policy p {\nproxy6 [::1]:3128\nsynthetic4 100.99.0.0/20\nsynthetic6 fd01::/112\nnames synthetic\n}\n",
		  &r);
	expect_ok(&r, "synthetic ranges");
	p = nm_config_policy(&r.cfg, "p");
	assert_string_equal(nm_format_cidr(&p->synth4, t, sizeof(t)), "100.99.0.0/20");
	assert_string_equal(nm_format_cidr(&p->synth6, t, sizeof(t)), "fd01::/112");
	run_free(&r);
	/* names real is the default and adds nothing */
	run_parse("policy p {\nnames real\n}\n", &r);
	expect_ok(&r, "names real");
	assert_false(r.cfg.policies[0].names_synthetic);
	assert_int_equal(r.cfg.policies[0].rules.n, 0);
	run_free(&r);
	expect_one_error("policy p {\nnames magic\n}\n", "t.conf:2: ", "expected real or synthetic");
	expect_one_error("policy p {\nnames synthetic\n}\n", "t.conf:2: ", "needs a proxy endpoint");
	expect_one_error("policy p {\nsynthetic4 198.19.0.0/16\n}\n", "t.conf:2: ", "only with 'names synthetic'");
	expect_one_error(P "proxy4 1.2.3.4:1\nnames synthetic\nsynthetic4 198.0.0.0/8\n" E, "t.conf:4: ",
			 "the prefix length must be 16 to 30");
	expect_one_error(P "proxy4 1.2.3.4:1\nnames synthetic\nsynthetic4 fd00::/64\n" E, "t.conf:4: ",
			 "an IPv4 range without a port");
	expect_one_error(P "proxy4 1.2.3.4:1\nnames synthetic\nsynthetic6 fd00::/32\n" E, "t.conf:4: ",
			 "the prefix length must be 64 to 126");
	expect_one_error(P "proxy4 1.2.3.4:1\nnames synthetic\nnames real\n" E, "t.conf:4: ", "'names' given twice");
	/* upstreams: port 53 unless given */
	run_parse("dns-upstream 1.1.1.1 [2606:4700::1111]:5353\ndns-log /var/log/nomoat/dns.jsonl\n", &r);
	expect_ok(&r, "dns-upstream");
	assert_int_equal(r.cfg.ndns_upstream, 2);
	assert_int_equal(r.cfg.dns_upstream[0].family, 4);
	assert_int_equal(r.cfg.dns_upstream[0].port, 53);
	assert_int_equal(r.cfg.dns_upstream[1].family, 6);
	assert_int_equal(r.cfg.dns_upstream[1].port, 5353);
	assert_string_equal(r.cfg.dns_log, "/var/log/nomoat/dns.jsonl");
	run_free(&r);
	expect_one_error("dns-upstream 10.0.0.0/8\n", "t.conf:1: ", "one address, not a range");
	expect_one_error("dns-upstream a.b.c\n", "t.conf:1: ", "dns-upstream:");
	expect_one_error("dns-upstream 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5\n", "t.conf:1: ", "unexpected '1.1.1.5'");
	expect_one_error("dns-upstream 1.1.1.1\ndns-upstream 1.1.1.2\n", "t.conf:2: ", "'dns-upstream' given twice");
	expect_one_error("dns-log dns.jsonl\n", "t.conf:1: ", "the path must be absolute");
	expect_one_error(P "dns-log /x\n" E, "t.conf:2: ", "not allowed inside a policy block");
}

/* ---- bind patterns ----------------------------------------------------------- */

struct match_case {
	const char *pattern, *cgroup;
	bool match;
};

static const struct match_case match_cases[] = {
	{ "/system.slice/docker-*.scope", "/system.slice/docker-abc.scope", true },
	{ "/system.slice/docker-*.scope", "/system.slice/docker-.scope", true },
	{ "/system.slice/docker-*.scope", "/system.slice/x/docker-abc.scope", false },
	{ "/system.slice/docker-*.scope", "/system.slice/docker-a/b.scope", false },
	{ "/system.slice/docker-*.scope", "/system.slice/docker-abc.scope/child", false },
	{ "/system.slice/docker-*.scope", "/system.slice/podman-abc.scope", false },
	{ "/agents/a1", "/agents/a1", true },
	{ "/agents/a1", "/agents/a10", false },
	{ "/agents/a1", "/agents/a1/sub", false },
	{ "/agents/a1", "/agents", false },
	{ "/agents/a?", "/agents/a2", true },
	{ "/agents/a?", "/agents/a22", false },
	{ "/agents/a?", "/agents/a/", false },
	{ "/agents/*", "/agents/x", true },
	{ "/agents/*", "/agents/x/y", false },
	{ "/agents/*", "/agents", false },
	{ "/*/a", "/x/a", true },
	{ "/*/a", "/x/y/a", false },
	{ "/agents/[ab]1", "/agents/b1", true },
	{ "/agents/[ab]1", "/agents/c1", false },
	{ "/", "/", true },
	{ "/", "/a", false },
};

static void test_bind_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		const struct match_case *m = &match_cases[i];

		if (nm_cfg_bind_match(m->pattern, m->cgroup) != m->match)
			fail_msg("'%s' vs '%s': want %s", m->pattern, m->cgroup, m->match ? "match" : "no match");
	}
	assert_false(nm_cfg_bind_match(NULL, "/a"));
	assert_false(nm_cfg_bind_match("/a", NULL));

	/* a parsed pattern matches the same way */
	{
		struct run r;

		run_parse("policy d {\n}\nbind /system.slice/docker-*.scope d\n", &r);
		expect_ok(&r, "bind glob");
		assert_true(nm_cfg_bind_match(r.cfg.binds[0].pattern, "/system.slice/docker-abc.scope"));
		assert_false(nm_cfg_bind_match(r.cfg.binds[0].pattern, "/system.slice/x/docker-abc.scope"));
		run_free(&r);
	}
}

/* ---- the shipped file ---------------------------------------------------------- */

static void test_shipped_conf(void **state)
{
	const struct nm_cfg_policy *a, *d;
	struct nm_ruleset def;
	struct run r;

	(void)state;
	deny_defaults(&def);
	run_load("policy/nomoat.conf", &r);
	expect_ok(&r, "policy/nomoat.conf");

	assert_int_equal(r.cfg.nattaches, 3);
	assert_string_equal(r.cfg.attaches[0].path, "/nomoat");
	assert_false(r.cfg.attaches[0].origdst_only);
	assert_string_equal(r.cfg.attaches[1].path, "/nomoat-proxy");
	assert_false(r.cfg.attaches[1].origdst_only);
	assert_string_equal(r.cfg.attaches[2].path, "/nomoat-dns");
	assert_true(r.cfg.attaches[2].origdst_only);
	assert_int_equal(r.cfg.nbinds, 2);
	assert_string_equal(r.cfg.binds[0].pattern, "/nomoat");
	assert_string_equal(r.cfg.binds[0].policy, "agents");
	assert_string_equal(r.cfg.binds[1].pattern, "/nomoat-proxy");
	assert_string_equal(r.cfg.binds[1].policy, "deny-only");
	assert_string_equal(r.cfg.events_log, NM_CFG_DEF_EVENTS_LOG);
	assert_string_equal(r.cfg.proxy_log, "/var/log/nomoat/proxy.jsonl");
	assert_string_equal(r.cfg.dns_log, "/var/log/nomoat/dns.jsonl");
	assert_int_equal(r.cfg.ndns_upstream, 0);
	assert_string_equal(r.cfg.events_socket, NM_CFG_DEF_EVENTS_SOCKET);
	assert_int_equal(r.cfg.events_rate, NM_CFG_DEF_EVENTS_RATE);
	assert_string_equal(r.cfg.metrics, NM_CFG_DEF_METRICS);

	assert_int_equal(r.cfg.npolicies, 2);
	a = nm_config_policy(&r.cfg, "agents");
	assert_non_null(a);
	assert_int_equal(a->p.default_action, NM_ACT_REDIRECT);
	assert_int_equal(a->p.mode, NM_MODE_ENFORCE);
	assert_int_equal(a->p.events, NM_EV_DENY);
	assert_int_equal(a->p.proxy4.addr, ip4("127.0.0.1"));
	assert_int_equal(a->p.proxy4.port, htons(3128));
	assert_ep6(&a->p.proxy6, "::1", 3128);
	assert_int_equal(a->p.dns4.addr, ip4("127.0.0.1"));
	assert_int_equal(a->p.dns4.port, htons(3053));
	assert_ep6(&a->p.dns6, "::1", 3053);
	assert_int_equal(a->rules.n, def.n);
	assert_same_rules(a->rules.v, &def);
	assert_int_equal(a->nhosts, 5);
	assert_string_equal(a->hosts[0].name, "pypi.org");
	assert_false(a->ip_only);
	assert_false(a->names_synthetic);

	d = nm_config_policy(&r.cfg, "deny-only");
	assert_non_null(d);
	assert_int_equal(d->p.default_action, NM_ACT_ALLOW);
	assert_int_equal(d->p.mode, NM_MODE_ENFORCE);
	assert_true(zeroed(&d->p.proxy4, sizeof(d->p.proxy4)));
	/* the list, and systemd-resolved for the proxy's own lookups */
	assert_int_equal(d->rules.n, def.n + 1);
	assert_same_rules(d->rules.v, &def);
	assert_int_equal(d->rules.v[def.n].action, NM_ACT_ALLOW);
	assert_int_equal(d->rules.v[def.n].cidr.port, 53);

	run_free(&r);
	nm_ruleset_free(&def);
}

/* Run from the repository root (build/tests/x -> ../..) if started elsewhere. */
static void find_root(void)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (access(DATA "full.conf", R_OK) == 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	dirname(exe); /* build/tests */
	dirname(exe); /* build */
	if (chdir(dirname(exe)) == 0 && access(DATA "full.conf", R_OK) == 0)
		return;
	fprintf(stderr, "test_config: cannot find %s (run from the repository root)\n", DATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_parse_string_includes_from_cwd),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_deny_defaults_include),
		cmocka_unit_test(test_include_relative),
		cmocka_unit_test(test_include_loop),
		cmocka_unit_test(test_include_missing),
		cmocka_unit_test(test_include_bad_rules),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_count_limits),
		cmocka_unit_test(test_error_recovery),
		cmocka_unit_test(test_hostnames),
		cmocka_unit_test(test_dns_keywords),
		cmocka_unit_test(test_bind_match),
		cmocka_unit_test(test_shipped_conf),
	};

	find_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
