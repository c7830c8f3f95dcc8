// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_decide.c - one table of decisions (include/nomoat_decide.h) driven
 * through both of its builds: user space's `nomoat check` (nm_check over the
 * pinned maps) and the kernel's (tests/bpf/decide_run.bpf.c, the hooks'
 * nm_policy_read and nm_decide over the same maps, run with
 * BPF_PROG_TEST_RUN).  Each case's expected answer is written out; both
 * builds must give it.  Needs root: it loads nomoat into a pin dir of its own
 * (/sys/fs/bpf/nmt-decide-PID, removed at the end), attaches nothing and
 * sends nothing.
 */
#include <errno.h>
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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "err.h"
#include "loader.h"
#include "nomoat_decide.h"
#include "parse.h"
#include "pins.h"
#include "policy.h"
#include "../bpf/decide_run.h"
#include "tests/decide_run.skel.h"

/* ---- the policies ---------------------------------------------------------- */
#define EP_ALL "10.250.0.1:3128", "[fd00:250::1]:3128", "10.250.0.1:5353", "[fd00:250::1]:5353"

struct dt_policy {
	const char *name;
	const char *dflt, *mode;
	const char *proxy4, *proxy6, *dns4, *dns6; /* NULL: unset */
	const char *rules;
	bool no_table; /* the record names an empty table slot */
	__u32 id;
};

static struct dt_policy policies[] = {
	{ "d-main", "redirect", "enforce", EP_ALL,
	  "deny 169.254.0.0/16\n"
	  "deny fc00::/7\n"
	  "allow 11.22.33.45\n"
	  "deny 10.1.0.0/16\n"
	  "allow 10.1.2.3:8080\n"
	  "allow [2001:db8::1]:443\n"
	  "redirect 2001:db8::/32\n"
	  "allow 10.250.0.0/24\n", false, 0 },
	{ "d-noproxy", "redirect", "enforce", NULL, NULL, NULL, NULL,
	  "redirect 10.9.0.0/16\n"
	  "allow 10.8.0.0/16\n", false, 0 },
	{ "d-audit", "deny", "audit", "10.250.0.1:3128", NULL, NULL, NULL,
	  "redirect 10.7.0.0/16\n"
	  "allow 10.6.0.1\n", false, 0 },
	{ "d-zero", "allow", "enforce", NULL, NULL, "10.250.0.1:5353", NULL,
	  "deny 0.0.0.0/0\n"
	  "allow 5.0.0.0/8\n"
	  "deny ::/0\n", false, 0 },
	{ "d-notable", "allow", "enforce", "10.250.0.1:3128", NULL, NULL, NULL, "allow 1.2.3.0/24\n", true, 0 },
};

/* ---- the cases ------------------------------------------------------------- */
struct dt_case {
	const char *policy;
	const char *dst;   /* ADDR or ADDR:PORT as `nomoat check` takes it */
	__u8 proto;
	const char *verdict, *action, *reason;
	const char *rule;  /* "" when no rule matched */
	const char *new_dst; /* "" unless redirected */
};

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ICMP IPPROTO_ICMP

static const struct dt_case cases[] = {
	/* 1. the policy's own endpoints */
	{ "d-main", "10.250.0.1:3128", TCP, "allow", "allow", "proxy-endpoint", "", "" },
	{ "d-main", "[fd00:250::1]:3128", TCP, "allow", "allow", "proxy-endpoint", "", "" },
	{ "d-main", "10.250.0.1:5353", TCP, "allow", "allow", "dns-endpoint", "", "" },
	{ "d-main", "10.250.0.1:5353", UDP, "allow", "allow", "dns-endpoint", "", "" },
	{ "d-main", "[fd00:250::1]:5353", UDP, "allow", "allow", "dns-endpoint", "", "" },
	/* the proxy endpoint is one for TCP only: UDP there follows the rules */
	{ "d-main", "10.250.0.1:3128", UDP, "allow", "allow", "rule", "10.250.0.0/24", "" },
	{ "d-main", "[fd00:250::1]:3128", UDP, "deny", "deny", "rule", "fc00::/7", "" },
	/* 2. DNS to anywhere goes to the DNS endpoint, before any rule */
	{ "d-main", "8.8.8.8:53", UDP, "redirect", "redirect", "dns", "", "10.250.0.1:5353" },
	{ "d-main", "169.254.169.254:53", TCP, "redirect", "redirect", "dns", "", "10.250.0.1:5353" },
	{ "d-main", "[2001:4860::8888]:53", UDP, "redirect", "redirect", "dns", "", "[fd00:250::1]:5353" },
	{ "d-main", "[::ffff:8.8.4.4]:53", UDP, "redirect", "redirect", "dns", "", "10.250.0.1:5353" },
	{ "d-main", "8.8.8.8:53", ICMP, "deny", "deny", "proto", "", "" },
	/* 3. the rules: longest prefix, host:port beats every CIDR */
	{ "d-main", "169.254.169.254:80", TCP, "deny", "deny", "rule", "169.254.0.0/16", "" },
	{ "d-main", "[::ffff:169.254.169.254]:80", TCP, "deny", "deny", "rule", "169.254.0.0/16", "" },
	{ "d-main", "[fd00:ec2::254]:80", TCP, "deny", "deny", "rule", "fc00::/7", "" },
	{ "d-main", "11.22.33.45:80", TCP, "allow", "allow", "rule", "11.22.33.45", "" },
	{ "d-main", "11.22.33.45:9", UDP, "allow", "allow", "rule", "11.22.33.45", "" },
	{ "d-main", "10.1.2.3:8080", TCP, "allow", "allow", "rule", "10.1.2.3:8080", "" },
	{ "d-main", "10.1.2.3:8081", TCP, "deny", "deny", "rule", "10.1.0.0/16", "" },
	{ "d-main", "10.1.2.3", TCP, "deny", "deny", "rule", "10.1.0.0/16", "" },
	{ "d-main", "[2001:db8::1]:443", TCP, "allow", "allow", "rule", "[2001:db8::1]:443", "" },
	{ "d-main", "[2001:db8::1]:80", TCP, "redirect", "redirect", "rule", "2001:db8::/32", "[fd00:250::1]:3128" },
	/* 4. the default, and a redirect that cannot be carried out */
	{ "d-main", "11.22.33.44:80", TCP, "redirect", "redirect", "default", "", "10.250.0.1:3128" },
	{ "d-main", "[::ffff:11.22.33.44]:80", TCP, "redirect", "redirect", "default", "", "10.250.0.1:3128" },
	{ "d-main", "[2a00:1:2:3::44]:443", TCP, "redirect", "redirect", "default", "", "[fd00:250::1]:3128" },
	{ "d-main", "11.22.33.44:5300", UDP, "deny", "deny", "udp-redirect", "", "" },
	{ "d-main", "11.22.33.44", ICMP, "deny", "deny", "proto", "", "" },
	{ "d-main", "[2001:db8::2]:5300", UDP, "deny", "deny", "udp-redirect", "2001:db8::/32", "" },
	{ "d-noproxy", "11.22.33.44:80", TCP, "deny", "deny", "no-proxy", "", "" },
	{ "d-noproxy", "10.9.1.1:80", TCP, "deny", "deny", "no-proxy", "10.9.0.0/16", "" },
	{ "d-noproxy", "[2a00::1]:80", TCP, "deny", "deny", "no-proxy", "", "" },
	{ "d-noproxy", "8.8.8.8:53", UDP, "deny", "deny", "udp-redirect", "", "" },
	{ "d-noproxy", "10.8.0.1:53", UDP, "allow", "allow", "rule", "10.8.0.0/16", "" },
	/* audit: the action as in enforce, the verdict would-* */
	{ "d-audit", "1.1.1.1:80", TCP, "would-deny", "deny", "default", "", "" },
	{ "d-audit", "10.7.0.1:80", TCP, "would-redirect", "redirect", "rule", "10.7.0.0/16", "10.250.0.1:3128" },
	{ "d-audit", "10.6.0.1:80", TCP, "allow", "allow", "rule", "10.6.0.1", "" },
	{ "d-audit", "10.7.0.1:80", UDP, "would-deny", "deny", "udp-redirect", "10.7.0.0/16", "" },
	{ "d-audit", "[2a00::1]:80", TCP, "would-deny", "deny", "default", "", "" },
	/* a rule of prefix 0 is a rule, not the default */
	{ "d-zero", "9.9.9.9:80", TCP, "deny", "deny", "rule", "0.0.0.0/0", "" },
	{ "d-zero", "5.6.7.8:80", TCP, "allow", "allow", "rule", "5.0.0.0/8", "" },
	{ "d-zero", "[2a00::1]:80", TCP, "deny", "deny", "rule", "::/0", "" },
	{ "d-zero", "9.9.9.9:53", UDP, "redirect", "redirect", "dns", "", "10.250.0.1:5353" },
	{ "d-zero", "[2a00::1]:53", UDP, "deny", "deny", "rule", "::/0", "" },
	/* a record whose table slot is empty: fail closed, but the endpoints
	 * are judged before the table */
	{ "d-notable", "1.2.3.4:80", TCP, "deny", "deny", "bad-policy", "", "" },
	{ "d-notable", "[2a00::1]:80", TCP, "deny", "deny", "bad-policy", "", "" },
	{ "d-notable", "10.250.0.1:3128", TCP, "allow", "allow", "proxy-endpoint", "", "" },
};

/* ---- the fixture ------------------------------------------------------------- */
static char pin_dir[128];
static struct nm_maps maps;
static struct decide_run_bpf *skel;
static bool loaded;

static void cleanup(void)
{
	if (skel)
		decide_run_bpf__destroy(skel);
	skel = NULL;
	if (loaded)
		nm_unload(pin_dir);
	loaded = false;
}

static void set_ep(const char *s, struct nm_ep4 *e4, struct nm_ep6 *e6)
{
	char err[NM_ERR_LEN];
	int fam;

	if (s && nm_parse_endpoint(s, &fam, e4, e6, err, sizeof(err)))
		fail_msg("endpoint %s: %s", s, err);
}

static void make_policy(struct dt_policy *dp)
{
	struct nm_policy p = { 0 };
	struct nm_ruleset rs = { 0 };
	char err[NM_ERR_LEN];

	snprintf(p.name, sizeof(p.name), "%s", dp->name);
	assert_int_equal(nm_parse_action(dp->dflt, &p.default_action, err, sizeof(err)), 0);
	assert_int_equal(nm_parse_mode(dp->mode, &p.mode, err, sizeof(err)), 0);
	p.events = NM_EV_ALL;
	set_ep(dp->proxy4, &p.proxy4, NULL);
	set_ep(dp->proxy6, NULL, &p.proxy6);
	set_ep(dp->dns4, &p.dns4, NULL);
	set_ep(dp->dns6, NULL, &p.dns6);
	if (nm_ruleset_parse(dp->rules, dp->name, &rs))
		fail_msg("%s: rules: %s", dp->name, nm_err_msg());
	if (nm_policy_create(&maps, &p, &rs, &dp->id))
		fail_msg("%s: create: %s", dp->name, nm_err_msg());
	nm_ruleset_free(&rs);
	if (dp->no_table) {
		struct nm_policy rec;

		/* the other slot of the pair: empty after a create */
		assert_int_equal(nm_policy_get(&maps, dp->id, &rec), 0);
		rec.gen ^= 1;
		rec.check = nm_policy_sum(&rec);
		assert_int_equal(bpf_map_update_elem(maps.policies, &dp->id, &rec, BPF_EXIST), 0);
	}
}

static int group_setup(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	bool adopted = false;

	(void)state;
	if (geteuid()) {
		fprintf(stderr, "test_decide: must run as root (it loads nomoat and runs BPF programs)\n");
		return -1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/nmt-decide-%d", (int)getpid());
	atexit(cleanup);
	if (nm_load(pin_dir, &adopted, false)) {
		fprintf(stderr, "test_decide: load into %s: %s\n", pin_dir, nm_err_msg());
		return -1;
	}
	loaded = true;
	if (nm_maps_open(pin_dir, &maps)) {
		fprintf(stderr, "test_decide: maps: %s\n", nm_err_msg());
		return -1;
	}
	/* The test program's maps are the pinned ones (pinned by name). */
	oo.pin_root_path = pin_dir;
	skel = decide_run_bpf__open_opts(&oo);
	if (!skel || decide_run_bpf__load(skel)) {
		fprintf(stderr, "test_decide: loading decide_run.bpf.o: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	nm_maps_close(&maps);
	cleanup();
	return 0;
}

/* ---- one case through both builds ------------------------------------------- */
static const struct dt_policy *policy_of(const char *name)
{
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (!strcmp(policies[i].name, name))
			return &policies[i];
	fail_msg("no policy %s in the table", name);
	return NULL;
}

/* The fields of an answer, as text, against the case. */
static void expect(const char *who, const struct dt_case *c, const struct nm_check *r)
{
	char rule[NM_CIDR_STRLEN] = "", ndst[NM_CIDR_STRLEN] = "";

	if (r->has_rule)
		nm_format_cidr(&r->rule, rule, sizeof(rule));
	if (r->action == NM_ACT_REDIRECT)
		nm_format_addr16(r->new_addr, nm_is_v4mapped(r->new_addr) ? 4 : 6, r->new_port, ndst, sizeof(ndst));
	if (strcmp(nm_verdict_name(r->verdict), c->verdict) || strcmp(nm_action_name(r->action), c->action) ||
	    strcmp(nm_reason_name(r->reason), c->reason) || strcmp(rule, c->rule) || strcmp(ndst, c->new_dst))
		fail_msg("%s, %s %s/%s: got verdict %s action %s reason %s rule '%s' new '%s'; want %s %s %s '%s' '%s'",
			 who, c->policy, c->dst, nm_proto_name(c->proto), nm_verdict_name(r->verdict),
			 nm_action_name(r->action), nm_reason_name(r->reason), rule, ndst, c->verdict, c->action,
			 c->reason, c->rule, c->new_dst);
}

static void kernel_check(const struct dt_policy *dp, const struct nm_cidr *dst, __u8 proto, struct nm_check *out)
{
	char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
	struct nm_policy p;
	__u32 runs = skel->bss->nm_dr_out.runs;

	memset(&skel->bss->nm_dr_out.d, 0, sizeof(skel->bss->nm_dr_out.d));
	skel->bss->nm_dr_in.policy_id = dp->id;
	nm_req_set(&skel->bss->nm_dr_in.rq, dst, proto);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.nm_decide_run), &t), 0);
	assert_int_equal(skel->bss->nm_dr_out.runs, runs + 1);
	assert_true(skel->bss->nm_dr_out.read_ok);
	assert_int_equal(nm_policy_get(&maps, dp->id, &p), 0);
	nm_check_set(out, &skel->bss->nm_dr_out.d, dst, p.mode);
	/* the program's own verdict is the same mapping */
	assert_int_equal(skel->bss->nm_dr_out.verdict, out->verdict);
}

static void test_decide_table(void **state)
{
	unsigned long long bad_before = nm_percpu_sum(maps.gstats, NM_G_BAD_POLICY);
	unsigned int bad_cases = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		make_policy(&policies[i]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dt_case *c = &cases[i];
		const struct dt_policy *dp = policy_of(c->policy);
		struct nm_check user, kern;
		char err[NM_ERR_LEN];
		struct nm_cidr dst;

		if (nm_parse_cidr(c->dst, &dst, err, sizeof(err)))
			fail_msg("case %zu: %s: %s", i, c->dst, err);
		if (nm_check(&maps, dp->id, &dst, c->proto, &user))
			fail_msg("case %zu: nm_check: %s", i, nm_err_msg());
		expect("nomoat check", c, &user);
		kernel_check(dp, &dst, c->proto, &kern);
		expect("kernel", c, &kern);
		if (!strcmp(c->reason, "bad-policy"))
			bad_cases++;
	}
	/* the kernel counts each fail-closed decision on a missing table */
	assert_int_equal(nm_percpu_sum(maps.gstats, NM_G_BAD_POLICY) - bad_before, bad_cases);
}

/* An unreadable record (here: a wrong checksum) is never decided on by the
 * kernel; `nomoat check` does not verify the seal. */
static void test_decide_bad_seal(void **state)
{
	const struct dt_policy *dp = policy_of("d-main");
	unsigned long long retry = nm_percpu_sum(maps.gstats, NM_G_POLICY_RETRY);
	char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
	struct nm_policy rec, good;

	(void)state;
	assert_int_equal(nm_policy_get(&maps, dp->id, &good), 0);
	rec = good;
	rec.check ^= 1;
	assert_int_equal(bpf_map_update_elem(maps.policies, &dp->id, &rec, BPF_EXIST), 0);
	skel->bss->nm_dr_in.policy_id = dp->id;
	skel->bss->nm_dr_out.read_ok = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.nm_decide_run), &t), 0);
	assert_false(skel->bss->nm_dr_out.read_ok);
	/* read again a few times before giving up */
	assert_true(nm_percpu_sum(maps.gstats, NM_G_POLICY_RETRY) > retry);
	assert_int_equal(bpf_map_update_elem(maps.policies, &dp->id, &good, BPF_EXIST), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_table),
		cmocka_unit_test(test_decide_bad_seal),
	};

	return cmocka_run_group_tests_name("decide", tests, group_setup, group_teardown);
}
