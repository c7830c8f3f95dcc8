// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * integration - nomoat end to end: the real `nomoat` CLI sets policies up,
 * real processes in real cgroups make real connect()/sendmsg() calls from a
 * test network namespace, and real servers at the tested addresses answer,
 * so a block is proven against a server that would have answered.
 *
 *   integration [--selftest] [-v] [NOMOAT]      (NOMOAT default build/nomoat)
 *
 * --selftest builds the topology, servers and probes and checks that, with
 * nothing attached, every probe reaches its server; no CLI is needed.
 *
 * The tables follow tools/testing/selftests/bpf/test_sock_addr.c: each row
 * names the probe, the target, the client's cgroup (so its policy), the CLI
 * commands to run first, and the expected outcome (an errno, or the start of
 * the reply line, or the source of a UDP reply).
 *
 * Everything the test makes is named after its pid: namespaces
 * nmt<pid>-c / -w, cgroups <cgroup2>/nomoat-test-<pid>/, pins
 * /sys/fs/bpf/nomoat-test-<pid> (NOMOAT_PIN_DIR), and is removed at exit,
 * on SIGINT/SIGTERM and on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cases.h"
#include "harness.h"
#include "netprobe.h"
#include "run.h"
#include "servers.h"
#include "topo.h"

/* ---- the CLI ------------------------------------------------------------- */
/* Expand "{base}" (the test's cgroup dir) in a command. */
static void expand(const char *in, char *out, size_t len)
{
	size_t n = 0;

	while (*in && n + 1 < len) {
		if (!strncmp(in, "{base}", 6)) {
			n += snprintf(out + n, len - n, "%s", nmt_h.base);
			in += 6;
		} else {
			out[n++] = *in++;
		}
	}
	out[n < len ? n : len - 1] = 0;
}

/* Run a list of CLI commands (NULL-terminated).  Each must exit 0; one
 * written "!cmd" must fail (exit non-zero).  "{base}" is expanded.  On the
 * first unexpected exit fill why. */
static bool cli_all(const char *const *cmds, char *why, size_t len)
{
	for (int i = 0; cmds[i]; i++) {
		bool must_fail = cmds[i][0] == '!';
		char cmd[2048];
		int rc;

		expand(cmds[i] + must_fail, cmd, sizeof(cmd));
		rc = nmt_cli("%s", cmd);
		if (must_fail ? rc <= 0 : rc != 0) {
			snprintf(why, len, "`nomoat %.400s` exit %d%s: %.400s", cmd, rc,
				 must_fail ? " (expected a failure)" : "",
				 nmt_cli_msg());
			return false;
		}
	}
	return true;
}

/* ---- cgroups and policies ------------------------------------------------ */
#define NPOL 8
static struct {
	char name[32];
	unsigned id;
} pol[NPOL];

static unsigned policy_id(const char *name)
{
	char v[32];

	for (int i = 0; i < NPOL; i++)
		if (!strcmp(pol[i].name, name))
			return pol[i].id;
	if (nmt_cli("-j policy show %s", name) || nmt_json_get(nmt_cli_out, "id", v, sizeof(v)))
		return 0;
	for (int i = 0; i < NPOL; i++) {
		if (!*pol[i].name) {
			snprintf(pol[i].name, sizeof(pol[i].name), "%s", name);
			pol[i].id = strtoul(v, NULL, 10);
			return pol[i].id;
		}
	}
	return strtoul(v, NULL, 10);
}

/* How many programs of the hooks nomoat uses are attached to a cgroup
 * under the test's base (see nmt_progs_attached); -errno. */
static int progs_attached(const char *rel, char *detail, size_t len)
{
	char p[PATH_MAX];

	nmt_cg_path(rel, p, sizeof(p));
	return nmt_progs_attached(p, detail, len);
}

/* ---- the rows ------------------------------------------------------------ */
struct row {
	const char *what;          /* first word of the description */
	const char *cg;            /* client cgroup, relative to the test base */
	struct nmt_probe p;
	int err;                   /* expected errno, 0 for success */
	const char *line;          /* expected reply line prefix (NULL: any) */
	const char *src;           /* expected UDP reply source (NULL: any) */
	const char *line2;         /* NMT_UDP_MMSG second reply prefix */
	const char *src2;          /* NMT_UDP_MMSG: {src, src2} must be the two
				    * replies' sources, in either order */
	int sent;                  /* expected datagrams sent (0: not checked) */
	const char *proxy_policy;  /* line is "PROXY orig=X": expect exactly
				    * "... policy=<id> cgroup=<client cg id> err=0" */
	const char *check;         /* policy to ask `nomoat check` (agrees with the kernel) */
	const char *before[4];     /* CLI commands run first (see cli_all) */
};

#define TCP(a, p)        { .kind = NMT_TCP, .addr = (a), .port = (p) }
#define TCPM(a, p)       { .kind = NMT_TCP_MAPPED, .addr = (a), .port = (p) }
#define TFO(a, p)        { .kind = NMT_TFO, .addr = (a), .port = (p) }
#define URING(a, p)      { .kind = NMT_URING, .addr = (a), .port = (p) }
#define UDPC(a, p)       { .kind = NMT_UDP_CONN, .addr = (a), .port = (p) }
#define UDP(a, p)        { .kind = NMT_UDP, .addr = (a), .port = (p) }
#define UDPM(a, p)       { .kind = NMT_UDP_MAPPED, .addr = (a), .port = (p) }
#define MMSG(a, p, b, q) { .kind = NMT_UDP_MMSG, .addr = (a), .port = (p), .addr2 = (b), .port2 = (q) }

/* What the kernel did, as a verdict word, from a probe's outcome. */
static const char *kernel_verdict(const struct nmt_probe_res *r)
{
	if (r->err == EPERM)
		return "deny";
	if (r->err)
		return "error";
	if (!strncmp(r->line, "PROXY orig=", 11) && strncmp(r->line, "PROXY orig=? ", 13))
		return "redirect";
	if (!strncmp(r->line, "DNS ", 4) && strcmp(r->src, "10.250.0.1:5353") &&
	    strcmp(r->src, "[fd00:250::1]:5353"))
		return "redirect";
	return "allow";
}

static bool row_check_cli(const struct row *w, const struct nmt_probe_res *r, char *why, size_t len)
{
	bool udp = w->p.kind >= NMT_UDP_CONN;
	bool mapped = w->p.kind == NMT_TCP_MAPPED || w->p.kind == NMT_UDP_MAPPED;
	const char *kv = kernel_verdict(r);
	char v[64] = "", a[64] = "";
	int rc;

	rc = nmt_cli("-j check %s%s %d --policy %s --proto %s", mapped ? "::ffff:" : "", w->p.addr, w->p.port,
		 w->check, udp ? "udp" : "tcp");
	if (rc) {
		snprintf(why, len, "`nomoat -j check` exit %d: %s", rc, nmt_cli_msg());
		return false;
	}
	nmt_json_get(nmt_cli_out, "verdict", v, sizeof(v));
	nmt_json_get(nmt_cli_out, "action", a, sizeof(a));
	if (strcmp(v, kv)) {
		snprintf(why, len, "kernel did '%s' but `nomoat check` says verdict '%s' (action '%s'): %s", kv,
			 v, a, nmt_oneline(nmt_cli_out));
		return false;
	}
	return true;
}

static void run_row(const struct row *w)
{
	char desc[256], ps[128], why[1024] = "", got[512], cgp[PATH_MAX], want[256];
	struct nmt_probe_res r;
	bool ok = true;
	int rc;

	nmt_probe_str(&w->p, ps, sizeof(ps));
	snprintf(desc, sizeof(desc), "%s %s [%s]", w->what, ps, w->cg);
	for (int i = 0; i < 4 && w->before[i]; i++) {
		const char *one[2] = { w->before[i], NULL };

		if (!cli_all(one, why, sizeof(why))) {
			nmt_verdict(false, desc, "setup: %s", why);
			return;
		}
	}
	nmt_cg_path(w->cg, cgp, sizeof(cgp));
	rc = nmt_probe_run(cgp, nmt_h.topo.cns, &w->p, &r, 0);
	nmt_probe_res_str(&r, got, sizeof(got));
	if (rc && !(r.err && !r.timed_out && strcmp(r.failed, "child"))) {
		nmt_verdict(false, desc, "probe did not report: %s (status %d)", got, r.exit_status);
		return;
	}
	if (w->err) {
		if (r.err != w->err) {
			ok = false;
			snprintf(why, sizeof(why), "expected %s, got %s", w->err == EPERM ? "EPERM" : strerror(w->err),
				 got);
		}
	} else if (r.err) {
		ok = false;
		snprintf(why, sizeof(why), "expected a reply '%s', got %s", w->line ? w->line : "", got);
	}
	if (ok && w->line) {
		if (w->proxy_policy) {
			snprintf(want, sizeof(want), "%s policy=%u cgroup=%llu err=0", w->line,
				 policy_id(w->proxy_policy), nmt_cg_id(w->cg));
			if (strcmp(r.line, want)) {
				ok = false;
				snprintf(why, sizeof(why), "expected reply '%s', got %s", want, got);
			}
		} else if (strncmp(r.line, w->line, strlen(w->line))) {
			ok = false;
			snprintf(why, sizeof(why), "expected reply '%s...', got %s", w->line, got);
		}
	}
	if (ok && w->src2) {
		bool same = w->src && !strcmp(r.src, w->src) && !strcmp(r.src2, w->src2);
		bool swapped = w->src && !strcmp(r.src, w->src2) && !strcmp(r.src2, w->src);

		if (!same && !swapped) {
			ok = false;
			snprintf(why, sizeof(why), "expected the replies from %s and %s, got %s", w->src, w->src2,
				 got);
		}
	} else if (ok && w->src && strcmp(r.src, w->src)) {
		ok = false;
		snprintf(why, sizeof(why), "expected the reply from %s, got %s", w->src, got);
	}
	if (ok && w->line2 && (r.replies < 2 || strncmp(r.line2, w->line2, strlen(w->line2)))) {
		ok = false;
		snprintf(why, sizeof(why), "expected a second reply '%s...', got %s", w->line2, got);
	}
	if (ok && w->sent && r.sent != w->sent) {
		ok = false;
		snprintf(why, sizeof(why), "expected %d datagrams sent, got %s", w->sent, got);
	}
	if (ok && w->check && !row_check_cli(w, &r, why, sizeof(why)))
		ok = false;
	nmt_verdict(ok, desc, "%s", why);
}

static void run_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_row(&rows[i]);
}

#define RUN_ROWS(t) run_rows((t), sizeof(t) / sizeof((t)[0]))

/* ---- fixture rows: nothing attached, every probe reaches its server ------ */
static const struct row fixture_rows[] = {
	{ "fixture: reach", "outside", TCP(NMT_META4, 80), .line = "HELLO 169.254.169.254:80" },
	{ "fixture: reach", "outside", UDP(NMT_META6, 5300), .line = "HELLO [fd00:ec2::254]:5300",
	  .src = "[fd00:ec2::254]:5300" },
	{ "fixture: reach", "outside", TCP(NMT_INTERNAL4, 80), .line = "HELLO 10.1.2.3:80" },
	{ "fixture: reach", "outside", TCP(NMT_INTERNAL4, 8080), .line = "HELLO 10.1.2.3:8080" },
	{ "fixture: reach", "outside", TCP(NMT_PRIVATE4, 80), .line = "HELLO 192.168.7.7:80" },
	{ "fixture: reach", "outside", TCP(NMT_NET4, 80), .line = "HELLO 11.22.33.44:80" },
	{ "fixture: reach", "outside", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80" },
	{ "fixture: reach", "outside", TCP(NMT_WORLD4, 80), .line = "HELLO 10.250.0.1:80" },
	{ "fixture: reach", "outside", TCP(NMT_META6, 80), .line = "HELLO [fd00:ec2::254]:80" },
	{ "fixture: reach", "outside", TCP(NMT_NET6, 80), .line = "HELLO [2a00:1:2:3::44]:80" },
	{ "fixture: reach", "outside", TCP(NMT_WORLD6, 80), .line = "HELLO [fd00:250::1]:80" },
	{ "fixture: reach", "outside", TCPM(NMT_META4, 80), .line = "HELLO 169.254.169.254:80" },
	{ "fixture: reach", "outside", TCPM(NMT_NET4, 80), .line = "HELLO 11.22.33.44:80" },
	{ "fixture: reach", "outside", TFO(NMT_META4, 80), .line = "HELLO 169.254.169.254:80" },
	{ "fixture: reach", "outside", TFO(NMT_NET6, 80), .line = "HELLO [2a00:1:2:3::44]:80" },
	{ "fixture: reach", "outside", URING(NMT_META4, 80), .line = "HELLO 169.254.169.254:80" },
	{ "fixture: reach", "outside", TCP(NMT_WORLD4, NMT_PROXY_PORT),
	  .line = "PROXY orig=? policy=0 cgroup=0 err=" },
	{ "fixture: reach", "outside", TCP(NMT_WORLD6, NMT_PROXY_PORT),
	  .line = "PROXY orig=? policy=0 cgroup=0 err=" },
	{ "fixture: reach", "outside", UDPC(NMT_META4, 5300), .line = "HELLO 169.254.169.254:5300",
	  .src = "169.254.169.254:5300" },
	{ "fixture: reach", "outside", UDP(NMT_NET4, 53), .line = "HELLO 11.22.33.44:53",
	  .src = "11.22.33.44:53" },
	{ "fixture: reach", "outside", UDP(NMT_NET6, 5300), .line = "HELLO [2a00:1:2:3::44]:5300",
	  .src = "[2a00:1:2:3::44]:5300" },
	{ "fixture: reach", "outside", UDPM(NMT_INTERNAL4, 53), .line = "HELLO 10.1.2.3:53",
	  .src = "[::ffff:10.1.2.3]:53" },
	{ "fixture: reach", "outside", MMSG(NMT_NET4, 5300, NMT_META4, 5300), .sent = 2,
	  .line = "HELLO ", .line2 = "HELLO " },
	{ "fixture: reach", "outside", UDP(NMT_WORLD4, NMT_DNS_PORT), .line = "DNS ping",
	  .src = "10.250.0.1:5353" },
	{ "fixture: reach", "outside", UDP(NMT_WORLD6, NMT_DNS_PORT), .line = "DNS ping",
	  .src = "[fd00:250::1]:5353" },
};

/* ---- setup through the CLI ----------------------------------------------- */
#define EP4 "--proxy4 10.250.0.1:3128 --dns4 10.250.0.1:5353"
#define EP6 "--proxy6 [fd00:250::1]:3128 --dns6 [fd00:250::1]:5353"

static bool setup_cgroups(void)
{
	static const char *const dirs[] = {
		"agents", "agents/main", "agents/main/nested", "agents/main/nested/deeper",
		"agents/main/override", "agents/deny", "agents/audit", "agents/live",
		"agents/unbound", "agents/run", "agents/noproxy", "proxy", "outside", NULL,
	};
	char p[PATH_MAX];

	for (int i = 0; dirs[i]; i++) {
		int err;

		nmt_cg_path(dirs[i], p, sizeof(p));
		err = nm_cgroup_create(p);
		if (err) {
			fprintf(stderr, "fixture: mkdir cgroup %s: %s\n", p, strerror(-err));
			return false;
		}
	}
	return true;
}

static void setup_cli(void)
{
	char why[1024] = "", cmd[PATH_MAX + 64], cmd2[PATH_MAX + 64];
	bool ok;

	{
		static const char *const c[] = { "load", NULL };

		ok = cli_all(c, why, sizeof(why));
		nmt_h.loaded = true; /* even a failed load may have pinned something */
		if (ok) {
			struct stat st;

			ok = stat(nmt_h.pin_dir, &st) == 0 && S_ISDIR(st.st_mode);
			if (!ok)
				snprintf(why, sizeof(why), "load exit 0 but no pin dir %s", nmt_h.pin_dir);
		}
		nmt_verdict(ok, "cli: nomoat load (pin dir from NOMOAT_PIN_DIR)", "%s", why);
	}
	{
		static const char *const c[] = {
			"policy create p-main --with-defaults --default redirect --events all " EP4 " " EP6,
			"policy create p-deny --default deny",
			"policy create p-audit --with-defaults --default redirect --mode audit --events redirect " EP4
			" " EP6,
			"policy create p-noproxy --with-defaults --default redirect",
			"policy create p-live --default allow",
			NULL,
		};

		ok = cli_all(c, why, sizeof(why));
		nmt_verdict(ok, "cli: policy create (p-main with defaults, p-deny, p-audit, p-live, p-noproxy)", "%s", why);
	}
	{
		static const char *const c[] = {
			"allow add 11.22.33.45 --policy p-main --reason 'test: allowed direct'",
			"allow add 10.1.2.3:8080 --policy p-main --reason 'host:port beats 10/8'",
			"allow add 11.22.33.44:5300 --policy p-main",
			"allow add [2a00:1:2:3::44]:5300 --policy p-main",
			NULL,
		};

		ok = cli_all(c, why, sizeof(why));
		nmt_verdict(ok, "cli: allow add (4 rules into p-main)", "%s", why);
	}
	{
		const char *c[] = { cmd, cmd2, NULL };

		snprintf(cmd, sizeof(cmd), "cgroup attach %s/agents", nmt_h.base);
		/* relative to the cgroup2 mount */
		snprintf(cmd2, sizeof(cmd2), "cgroup attach %s/proxy --origdst-only",
			 nmt_h.base + strlen(nmt_h.cgmount) + 1);
		ok = cli_all(c, why, sizeof(why));
		if (ok) {
			char d1[256], d2[256];
			int a = progs_attached("agents", d1, sizeof(d1));
			int b = progs_attached("proxy", d2, sizeof(d2));

			/* getsockopt on the sandbox subtree is optional. */
			ok = a >= 7 && !strncmp(d1, "connect4,connect6,sendmsg4,sendmsg6,recvmsg4,recvmsg6,sockops",
						 61) && b == 2 && !strcmp(d2, "getsockopt,setsockopt");
			if (!ok)
				snprintf(why, sizeof(why),
					 "attached programs: agents %d (%s), want connect4/6, sendmsg4/6, recvmsg4/6, "
					 "sockops; proxy %d (%s), want getsockopt and setsockopt only",
					 a, d1, b, d2);
		}
		nmt_verdict(ok, "cli: cgroup attach (agents: the socket hooks; proxy --origdst-only: the sockopt answers only)",
			"%s", why);
	}
	{
		static const char *const rel[][2] = {
			{ "agents/main", "p-main" },   { "agents/main/override", "p-live" },
			{ "agents/deny", "p-deny" },   { "agents/audit", "p-audit" },
			{ "agents/live", "p-live" },   { "agents/noproxy", "p-noproxy" },
		};

		ok = true;
		for (size_t i = 0; ok && i < sizeof(rel) / sizeof(rel[0]); i++) {
			const char *c[] = { cmd, NULL };

			snprintf(cmd, sizeof(cmd), "cgroup bind %s/%s --policy %s", nmt_h.base, rel[i][0], rel[i][1]);
			ok = cli_all(c, why, sizeof(why));
		}
		nmt_verdict(ok, "cli: cgroup bind (6 bindings)", "%s", why);
	}
	{
		unsigned id = policy_id("p-main");

		ok = id > 0 && id < 256;
		if (!ok)
			snprintf(why, sizeof(why), "`nomoat -j policy show p-main`: no id: %s", nmt_oneline(nmt_cli_out));
		nmt_verdict(ok, "cli: policy show p-main has an id", "%s", why);
	}
}

/* ---- the policy table ---------------------------------------------------- */
#define MAIN "agents/main"
static const struct row policy_rows[] = {
	/* The shipped default deny list: metadata and private ranges, v4, v6
	 * and v4-mapped, with a server behind every address. */
	{ "deny", MAIN, TCP(NMT_META4, 80), .err = EPERM, .check = "p-main" },
	{ "deny", MAIN, TCP(NMT_META6, 80), .err = EPERM, .check = "p-main" },
	{ "deny", MAIN, TCPM(NMT_META4, 80), .err = EPERM, .check = "p-main" },
	{ "deny", MAIN, TCP(NMT_INTERNAL4, 80), .err = EPERM, .check = "p-main" },
	{ "deny", MAIN, TCPM(NMT_INTERNAL4, 80), .err = EPERM },
	{ "deny", MAIN, TCP(NMT_PRIVATE4, 80), .err = EPERM },
	{ "deny", MAIN, TCP(NMT_WORLD4, 80), .err = EPERM },    /* proxy host, other port */
	{ "deny", MAIN, TCP(NMT_WORLD6, 80), .err = EPERM },    /* proxy host, other port */
	/* The default action redirect: TCP goes to the proxy, which learns the
	 * original destination, the policy and the client's cgroup. */
	{ "redirect", MAIN, TCP(NMT_NET4, 80), .line = "PROXY orig=11.22.33.44:80",
	  .proxy_policy = "p-main", .check = "p-main" },
	{ "redirect", MAIN, TCP(NMT_NET6, 80), .line = "PROXY orig=[2a00:1:2:3::44]:80",
	  .proxy_policy = "p-main", .check = "p-main" },
	{ "redirect", MAIN, TCPM(NMT_NET4, 80), .line = "PROXY orig=11.22.33.44:80",
	  .proxy_policy = "p-main", .check = "p-main" },
	{ "redirect", MAIN, TCP(NMT_NET4, 443), .line = "PROXY orig=11.22.33.44:443",
	  .proxy_policy = "p-main" },
	/* An allow rule: direct. */
	{ "allow", MAIN, TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80", .check = "p-main" },
	{ "allow", MAIN, TCPM(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80" },
	/* host:port beats the CIDR: 10.1.2.3:8080 allowed inside a denied 10/8. */
	{ "allow host:port", MAIN, TCP(NMT_INTERNAL4, 8080), .line = "HELLO 10.1.2.3:8080",
	  .check = "p-main" },
	{ "allow host:port", MAIN, TCPM(NMT_INTERNAL4, 8080), .line = "HELLO 10.1.2.3:8080" },
	{ "deny (host:port rule is one port)", MAIN, TCP(NMT_INTERNAL4, 80), .err = EPERM },
	/* The proxy and DNS endpoints: reachable on exactly their ports. */
	{ "allow proxy endpoint", MAIN, TCP(NMT_WORLD4, NMT_PROXY_PORT), .line = "PROXY orig=? " },
	{ "allow proxy endpoint", MAIN, TCP(NMT_WORLD6, NMT_PROXY_PORT), .line = "PROXY orig=? " },
	{ "allow DNS endpoint", MAIN, UDP(NMT_WORLD4, NMT_DNS_PORT), .line = "DNS ping",
	  .src = "10.250.0.1:5353" },
	{ "allow DNS endpoint", MAIN, UDP(NMT_WORLD6, NMT_DNS_PORT), .line = "DNS ping",
	  .src = "[fd00:250::1]:5353" },
	/* (nothing listens on TCP 5353: reaching the host gives ECONNREFUSED) */
	{ "allow DNS endpoint over tcp", MAIN, TCP(NMT_WORLD4, NMT_DNS_PORT), .err = ECONNREFUSED },
	{ "deny proxy endpoint over udp", MAIN, UDP(NMT_WORLD4, NMT_PROXY_PORT), .err = EPERM },
	{ "deny DNS endpoint host, other port", MAIN, UDP(NMT_WORLD4, NMT_DNS_PORT + 1), .err = EPERM },
	/* UDP: a denied address, by every way of sending. */
	{ "deny", MAIN, UDPC(NMT_META4, 5300), .err = EPERM, .check = "p-main" },
	{ "deny", MAIN, UDP(NMT_META4, 5300), .err = EPERM },
	{ "deny", MAIN, MMSG(NMT_META4, 5300, NMT_META4, 5300), .err = EPERM },
	{ "deny", MAIN, UDPM(NMT_META4, 5300), .err = EPERM },
	{ "deny", MAIN, UDP(NMT_INTERNAL4, 5300), .err = EPERM },
	{ "deny", MAIN, UDPM(NMT_INTERNAL4, 5300), .err = EPERM },
	{ "deny", MAIN, UDPC(NMT_META6, 5300), .err = EPERM, .check = "p-main" },
	{ "deny", MAIN, UDP(NMT_META6, 5300), .err = EPERM },
	{ "deny", MAIN, MMSG(NMT_META6, 5300, NMT_META6, 5300), .err = EPERM },
	/* UDP: an allowed host:port. */
	{ "allow", MAIN, UDPC(NMT_NET4, 5300), .line = "HELLO 11.22.33.44:5300", .src = "11.22.33.44:5300",
	  .check = "p-main" },
	{ "allow", MAIN, UDP(NMT_NET4, 5300), .line = "HELLO 11.22.33.44:5300", .src = "11.22.33.44:5300" },
	{ "allow", MAIN, MMSG(NMT_NET4, 5300, NMT_NET4, 5300), .sent = 2, .line = "HELLO 11.22.33.44:5300",
	  .line2 = "HELLO 11.22.33.44:5300" },
	{ "allow", MAIN, UDPM(NMT_NET4, 5300), .line = "HELLO 11.22.33.44:5300",
	  .src = "[::ffff:11.22.33.44]:5300" },
	{ "allow", MAIN, UDP(NMT_NET6, 5300), .line = "HELLO [2a00:1:2:3::44]:5300",
	  .src = "[2a00:1:2:3::44]:5300" },
	/* sendmmsg: the first datagram allowed, the second denied -> 1 sent. */
	{ "allow+deny", MAIN, MMSG(NMT_NET4, 5300, NMT_META4, 5300), .sent = 1,
	  .line = "HELLO 11.22.33.44:5300", .src = "11.22.33.44:5300" },
	/* UDP under a redirect (not port 53) cannot be proxied: denied. */
	{ "deny (udp redirect)", MAIN, UDP(NMT_NET6, 5300 + 1), .err = EPERM },
	{ "deny (udp redirect)", MAIN, UDPC(NMT_NET4, 5300 + 1), .err = EPERM, .check = "p-main" },
	/* UDP port 53: answered by the DNS endpoint, the reply's source reads
	 * as the address the application asked. */
	{ "dns redirect", MAIN, UDP(NMT_NET4, 53), .line = "DNS ping", .src = "11.22.33.44:53",
	  .check = "p-main" },
	{ "dns redirect", MAIN, UDPC(NMT_NET4, 53), .line = "DNS ping", .src = "11.22.33.44:53" },
	{ "dns redirect", MAIN, UDPM(NMT_NET4, 53), .line = "DNS ping", .src = "[::ffff:11.22.33.44]:53" },
	{ "dns redirect", MAIN, UDP(NMT_NET6, 53), .line = "DNS ping", .src = "[2a00:1:2:3::44]:53" },
	{ "dns redirect (denied address)", MAIN, UDP(NMT_META4, 53), .line = "DNS ping",
	  .src = "169.254.169.254:53" },
	{ "dns redirect", MAIN, MMSG(NMT_NET4, 53, NMT_NET4, 53), .sent = 2, .line = "DNS p",
	  .line2 = "DNS p", .src = "11.22.33.44:53", .src2 = "11.22.33.44:53" },
	/* One unconnected socket, two resolvers asked at once.  Every answer
	 * comes from the one DNS endpoint, so the socket's storage can only
	 * restore the most recent resolver asked (a documented limit, see
	 * README "Known limits"); what must never show is the endpoint. */
	{ "dns redirect (two resolvers, one socket: the latest restored)", MAIN,
	  MMSG(NMT_NET4, 53, NMT_INTERNAL4, 53), .sent = 2, .line = "DNS p", .line2 = "DNS p",
	  .src = "10.1.2.3:53", .src2 = "10.1.2.3:53" },
	/* TCP Fast Open: the data-carrying SYN is judged like connect. */
	{ "deny", MAIN, TFO(NMT_META4, 80), .err = EPERM },
	{ "deny", MAIN, TFO(NMT_META6, 80), .err = EPERM },
	{ "deny", MAIN, TFO(NMT_INTERNAL4, 80), .err = EPERM },
	{ "redirect", MAIN, TFO(NMT_NET4, 80), .line = "PROXY orig=11.22.33.44:80", .proxy_policy = "p-main" },
	{ "redirect", MAIN, TFO(NMT_NET6, 80), .line = "PROXY orig=[2a00:1:2:3::44]:80",
	  .proxy_policy = "p-main" },
	{ "allow", MAIN, TFO(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80" },
	/* io_uring's connect goes through the same hook. */
	{ "deny", MAIN, URING(NMT_META4, 80), .err = EPERM },
	{ "deny", MAIN, URING(NMT_META6, 80), .err = EPERM },
	{ "deny", MAIN, URING(NMT_INTERNAL4, 80), .err = EPERM },
	{ "redirect", MAIN, URING(NMT_NET4, 80), .line = "PROXY orig=11.22.33.44:80", .proxy_policy = "p-main" },
	{ "allow", MAIN, URING(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80" },
	/* The default action deny, no rules. */
	{ "deny (default)", "agents/deny", TCP(NMT_NET4B, 80), .err = EPERM, .check = "p-deny" },
	{ "deny (default)", "agents/deny", TCP(NMT_NET6, 80), .err = EPERM, .check = "p-deny" },
	{ "deny (default)", "agents/deny", TCPM(NMT_NET4, 80), .err = EPERM },
	{ "deny (default)", "agents/deny", UDP(NMT_NET4, 5300), .err = EPERM },
	{ "deny (default, no DNS endpoint)", "agents/deny", UDP(NMT_NET4, 53), .err = EPERM },
	/* The nearest bound ancestor governs descendants. */
	{ "deny (inherited)", "agents/main/nested/deeper", TCP(NMT_META4, 80), .err = EPERM },
	{ "redirect (inherited)", "agents/main/nested/deeper", TCP(NMT_NET4, 80),
	  .line = "PROXY orig=11.22.33.44:80", .proxy_policy = "p-main" },
	{ "allow (inherited)", "agents/main/nested", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80" },
	{ "allow (nearest binding wins)", "agents/main/override", TCP(NMT_META4, 80),
	  .line = "HELLO 169.254.169.254:80" },
	/* Under the attach point with no bound ancestor: fail closed. */
	{ "deny (unbound)", "agents/unbound", TCP(NMT_NET4B, 80), .err = EPERM },
	{ "deny (unbound)", "agents/unbound", TCP(NMT_NET6, 80), .err = EPERM },
	{ "deny (unbound)", "agents/unbound", UDP(NMT_NET4, 53), .err = EPERM },
	/* Addresses that embed IPv4 in IPv6 are denied by the default list
	 * (no route to them here: without nomoat ENETUNREACH, not EPERM). */
	{ "deny (IPv4-compatible ::/96)", MAIN, TCP("::169.254.169.254", 80), .err = EPERM },
	{ "deny (NAT64 64:ff9b::/96)", MAIN, TCP("64:ff9b::a9fe:a9fe", 80), .err = EPERM },
	{ "deny (6to4 2002::/16)", MAIN, TCP("2002:a9fe:a9fe::1", 80), .err = EPERM },
	{ "deny (IPv4-compatible ::/96)", MAIN, UDP("::169.254.169.254", 5300), .err = EPERM },
	/* Redirect without a proxy endpoint, UDP 53 without a DNS endpoint:
	 * nowhere to send it, so denied. */
	{ "deny (redirect, no proxy)", "agents/noproxy", TCP(NMT_NET4, 80), .err = EPERM, .check = "p-noproxy" },
	{ "deny (redirect, no proxy)", "agents/noproxy", TCP(NMT_NET6, 80), .err = EPERM },
	{ "deny (redirect, no proxy)", "agents/noproxy", TCPM(NMT_NET4, 80), .err = EPERM },
	{ "deny (no DNS endpoint, udp redirect)", "agents/noproxy", UDP(NMT_NET4, 53), .err = EPERM },
	/* Outside the attach point: untouched. */
	{ "allow (not attached)", "outside", TCP(NMT_META4, 80), .line = "HELLO 169.254.169.254:80" },
};

/* A live rule change: the next connect sees it. */
static const struct row live_rows[] = {
	{ "allow (default allow)", "agents/live", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80",
	  .check = "p-live" },
	{ "deny (after deny add)", "agents/live", TCP(NMT_NET4B, 80), .err = EPERM, .check = "p-live",
	  .before = { "deny add 11.22.33.45 --policy p-live --reason 'live change'" } },
	{ "deny (after deny add)", "agents/live", TCPM(NMT_NET4B, 80), .err = EPERM },
	{ "allow (other host unaffected)", "agents/live", TCP(NMT_NET4, 80), .line = "HELLO 11.22.33.44:80" },
	{ "allow (after deny del)", "agents/live", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80",
	  .check = "p-live", .before = { "deny del 11.22.33.45 --policy p-live" } },
	/* A /16 then a more specific allow inside it. */
	{ "deny (after deny add /16)", "agents/live", TCP(NMT_NET4, 80), .err = EPERM,
	  .before = { "deny add 11.22.0.0/16 --policy p-live" } },
	{ "allow (more specific /32 wins)", "agents/live", TCP(NMT_NET4, 80), .line = "HELLO 11.22.33.44:80",
	  .before = { "allow add 11.22.33.44/32 --policy p-live" } },
	{ "deny (sibling still in /16)", "agents/live", TCP(NMT_NET4B, 80), .err = EPERM },
	{ "allow (rules deleted)", "agents/live", TCP(NMT_NET4B, 80),
	  .line = "HELLO 11.22.33.45:80",
	  .before = { "deny del 11.22.0.0/16 --policy p-live", "allow del 11.22.33.44 --policy p-live" } },
	{ "deny (policy set --default deny)", "agents/live", TCP(NMT_NET4B, 80), .err = EPERM,
	  .before = { "policy set p-live --default deny" } },
	{ "allow (policy set --default allow)", "agents/live", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80",
	  .before = { "policy set p-live --default allow" } },
	/* Bindings change live too; unbound under the attach point fails closed. */
	{ "deny (after cgroup unbind: fail closed)", "agents/live", TCP(NMT_NET4B, 80), .err = EPERM,
	  .before = { "cgroup unbind {base}/agents/live" } },
	{ "allow (after cgroup bind again)", "agents/live", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80",
	  .before = { "cgroup bind {base}/agents/live --policy p-live" } },
	/* A bound policy cannot be deleted; once unbound and deleted, the
	 * cgroup fails closed, and a new policy does not inherit the binding. */
	{ "deny (delete of a bound policy refused)", "agents/deny", TCP(NMT_NET4B, 80), .err = EPERM,
	  .before = { "!policy delete p-deny" } },
	{ "deny (policy deleted after unbind)", "agents/deny", TCP(NMT_NET4B, 80), .err = EPERM,
	  .before = { "cgroup unbind {base}/agents/deny", "policy delete p-deny", "!policy show p-deny" } },
	{ "deny (new allow policy not bound by accident)", "agents/deny", TCP(NMT_NET4B, 80), .err = EPERM,
	  .before = { "policy create p-new --default allow" } },
	{ "allow (bound to the new policy)", "agents/deny", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80",
	  .before = { "cgroup bind {base}/agents/deny --policy p-new" } },
	/* Detach: the subtree is no longer policed; attach again: it is. */
	{ "allow (after cgroup detach)", MAIN, TCP(NMT_META4, 80), .line = "HELLO 169.254.169.254:80",
	  .before = { "cgroup detach {base}/agents" } },
	{ "allow (after cgroup detach)", "agents/unbound", TCP(NMT_NET4B, 80), .line = "HELLO 11.22.33.45:80" },
	{ "deny (after cgroup attach again)", MAIN, TCP(NMT_META4, 80), .err = EPERM,
	  .before = { "cgroup attach {base}/agents" } },
	{ "redirect (after cgroup attach again)", MAIN, TCP(NMT_NET4, 80), .line = "PROXY orig=11.22.33.44:80",
	  .proxy_policy = "p-main" },
};

/* ---- special cases ------------------------------------------------------- */

/* `nomoat -j events --count 1` sees one denied connect with its fields. */
static void case_events(void)
{
	const char *desc = "events: deny of tcp4 169.254.169.254:80 reported with its fields";
	struct nmt_probe p = TCP(NMT_META4, 80);
	struct nmt_probe_res r;
	char out[8192], err[2048] = "", why[1024], cgp[PATH_MAX], pid_s[32], cg_s[32], pol_s[32];
	int fd, efd, rc;
	pid_t pid;

	pid = nmt_cli_bg(&fd, &efd, "-j events --count 1 --timeout 5");
	if (pid < 0) {
		nmt_verdict(false, desc, "cannot start nomoat events: %s", strerror(-pid));
		return;
	}
	nmt_sleep_ms(700); /* let it open the ring buffer */
	nmt_cg_path(MAIN, cgp, sizeof(cgp));
	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	rc = nmt_cli_bg_end(pid, fd, efd, out, sizeof(out), err, sizeof(err), 7000);
	if (r.err != EPERM) {
		char got[256];

		nmt_verdict(false, desc, "the connect was not denied: %s", nmt_probe_res_str(&r, got, sizeof(got)));
		return;
	}
	if (rc != 0 || !*out) {
		nmt_verdict(false, desc, "`nomoat -j events --count 1 --timeout 5` exit %d, output '%s', stderr '%s'",
			rc, nmt_oneline(out), nmt_oneline(err));
		return;
	}
	out[strcspn(out, "\n")] = 0;
	snprintf(pid_s, sizeof(pid_s), "%d", (int)r.pid);
	snprintf(cg_s, sizeof(cg_s), "%llu", nmt_cg_id(MAIN));
	snprintf(pol_s, sizeof(pol_s), "%u", policy_id("p-main"));
	{
		const struct nmt_want_field w[] = {
			{ "verdict", "deny" },
			{ "hook", "connect4" },
			{ "proto", "tcp" },
			{ "family", "4" },
			{ "mapped", "false" },
			{ "dst", "169.254.169.254:80" },
			{ "new_dst", "169.254.169.254:80" },
			{ "rule", "169.254.0.0/16" },
			{ "policy", "p-main" },
			{ "policy_id", pol_s },
			{ "cgroup_id", cg_s },
			{ "pid", pid_s },
			{ "uid", "0" },
			{ "comm", "nmt-probe" },
			{ NULL, NULL },
		};
		char rs[64] = "";

		if (!nmt_check_fields(out, w, why, sizeof(why))) {
			nmt_verdict(false, desc, "%s", why);
			return;
		}
		/* "reason" must exist (a deny event carries a reason). */
		if (nmt_json_get(out, "reason", rs, sizeof(rs)) || !*rs) {
			nmt_verdict(false, desc, "no reason in %s", nmt_oneline(out));
			return;
		}
	}
	nmt_verdict(true, desc, "%s", "");
}

/*
 * Event rows: one `nomoat -j events --timeout T` reader for a batch of
 * probes; each probe's event is found by its pid (the ring buffer may also
 * hold events of earlier cases) and its fields compared.  A field value
 * "$PID" means the probe's pid, "$CG" the client cgroup's id, "$POL:name"
 * that policy's id, "$ANY" any non-empty value.
 */
struct ev_row {
	const char *what;
	const char *cg;
	struct nmt_probe p;
	int err;          /* expected probe errno */
	const char *line; /* expected reply prefix when err == 0 */
	struct nmt_want_field f[14];
};

static const struct ev_row event_rows[] = {
	{ "deny v6, rule fc00::/7 with its reason", MAIN, TCP(NMT_META6, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "hook", "connect6" }, { "proto", "tcp" }, { "family", "6" },
	    { "mapped", "false" }, { "dst", "[fd00:ec2::254]:80" }, { "rule", "fc00::/7" },
	    { "reason", "rule" }, { "reason_text", "$ANY" }, { "policy", "p-main" }, { "pid", "$PID" },
	    { "cgroup_id", "$CG" }, { "comm", "nmt-probe" } } },
	{ "deny v4-mapped, judged as IPv4", MAIN, TCPM(NMT_META4, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "hook", "connect6" }, { "family", "4" }, { "mapped", "true" },
	    { "dst", "169.254.169.254:80" }, { "rule", "169.254.0.0/16" }, { "reason_text", "$ANY" },
	    { "policy", "p-main" }, { "pid", "$PID" } } },
	{ "redirect v4 to the proxy", MAIN, TCP(NMT_NET4, 80), 0, "PROXY orig=11.22.33.44:80",
	  { { "verdict", "redirect" }, { "hook", "connect4" }, { "dst", "11.22.33.44:80" },
	    { "new_dst", "10.250.0.1:3128" }, { "reason", "default" }, { "rule", "" }, { "policy", "p-main" },
	    { "policy_id", "$POL:p-main" }, { "pid", "$PID" } } },
	{ "redirect v6 to the proxy", MAIN, TCP(NMT_NET6, 80), 0, "PROXY orig=[2a00:1:2:3::44]:80",
	  { { "verdict", "redirect" }, { "hook", "connect6" }, { "family", "6" },
	    { "dst", "[2a00:1:2:3::44]:80" }, { "new_dst", "[fd00:250::1]:3128" }, { "pid", "$PID" } } },
	{ "redirect v4-mapped to the IPv4 proxy", MAIN, TCPM(NMT_NET4, 80), 0, "PROXY orig=11.22.33.44:80",
	  { { "verdict", "redirect" }, { "hook", "connect6" }, { "family", "4" }, { "mapped", "true" },
	    { "dst", "11.22.33.44:80" }, { "new_dst", "10.250.0.1:3128" }, { "pid", "$PID" } } },
	{ "dns redirect", MAIN, UDP(NMT_NET4, 53), 0, "DNS ping",
	  { { "verdict", "redirect" }, { "hook", "sendmsg4" }, { "proto", "udp" }, { "reason", "dns" },
	    { "dst", "11.22.33.44:53" }, { "new_dst", "10.250.0.1:5353" }, { "pid", "$PID" } } },
	{ "allow rule with its reason (--events all)", MAIN, TCP(NMT_NET4B, 80), 0, "HELLO 11.22.33.45:80",
	  { { "verdict", "allow" }, { "rule", "11.22.33.45" }, { "reason", "rule" },
	    { "reason_text", "test: allowed direct" }, { "pid", "$PID" } } },
	{ "allow host:port rule", MAIN, TCP(NMT_INTERNAL4, 8080), 0, "HELLO 10.1.2.3:8080",
	  { { "verdict", "allow" }, { "rule", "10.1.2.3:8080" }, { "pid", "$PID" } } },
	{ "deny udp under redirect", MAIN, UDP(NMT_NET4, 5301), EPERM, NULL,
	  { { "verdict", "deny" }, { "hook", "sendmsg4" }, { "proto", "udp" }, { "reason", "udp-redirect" },
	    { "pid", "$PID" } } },
	{ "deny by TCP Fast Open", MAIN, TFO(NMT_META4, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "hook", "connect4" }, { "dst", "169.254.169.254:80" }, { "pid", "$PID" } } },
	{ "deny by io_uring connect", MAIN, URING(NMT_META4, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "hook", "connect4" }, { "dst", "169.254.169.254:80" }, { "pid", "$PID" },
	    { "cgroup_id", "$CG" }, { "comm", "nmt-probe" } } },
	{ "deny, no bound ancestor (fail closed)", "agents/unbound", TCP(NMT_NET4B, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "reason", "no-policy" }, { "policy_id", "0" }, { "policy", "" },
	    { "cgroup_id", "$CG" }, { "pid", "$PID" } } },
	{ "deny by the default action", "agents/deny", TCP(NMT_NET4B, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "reason", "default" }, { "rule", "" }, { "policy", "p-deny" },
	    { "pid", "$PID" } } },
	{ "deny, redirect without a proxy", "agents/noproxy", TCP(NMT_NET4, 80), EPERM, NULL,
	  { { "verdict", "deny" }, { "reason", "no-proxy" }, { "policy", "p-noproxy" }, { "pid", "$PID" } } },
	/* Audit mode: the connection goes through, the event says what
	 * enforce would have done. */
	{ "audit: reaches, would-deny", "agents/audit", TCP(NMT_META4, 80), 0, "HELLO 169.254.169.254:80",
	  { { "verdict", "would-deny" }, { "hook", "connect4" }, { "dst", "169.254.169.254:80" },
	    { "rule", "169.254.0.0/16" }, { "policy", "p-audit" }, { "pid", "$PID" } } },
	{ "audit: reaches, would-deny", "agents/audit", TCP(NMT_META6, 80), 0, "HELLO [fd00:ec2::254]:80",
	  { { "verdict", "would-deny" }, { "hook", "connect6" }, { "dst", "[fd00:ec2::254]:80" },
	    { "policy", "p-audit" }, { "pid", "$PID" } } },
	{ "audit: reaches, would-deny", "agents/audit", TCPM(NMT_INTERNAL4, 80), 0, "HELLO 10.1.2.3:80",
	  { { "verdict", "would-deny" }, { "hook", "connect6" }, { "mapped", "true" }, { "dst", "10.1.2.3:80" },
	    { "pid", "$PID" } } },
	{ "audit: reaches, would-deny", "agents/audit", UDP(NMT_META4, 5300), 0, "HELLO 169.254.169.254:5300",
	  { { "verdict", "would-deny" }, { "hook", "sendmsg4" }, { "dst", "169.254.169.254:5300" },
	    { "pid", "$PID" } } },
	{ "audit: reaches, would-redirect (--events redirect)", "agents/audit", TCP(NMT_NET4, 80), 0,
	  "HELLO 11.22.33.44:80",
	  { { "verdict", "would-redirect" }, { "hook", "connect4" }, { "dst", "11.22.33.44:80" },
	    { "new_dst", "10.250.0.1:3128" }, { "pid", "$PID" } } },
	{ "audit: udp 53 reaches the addressed server, would-redirect", "agents/audit", UDP(NMT_NET4, 53), 0,
	  "HELLO 11.22.33.44:53",
	  { { "verdict", "would-redirect" }, { "hook", "sendmsg4" }, { "reason", "dns" }, { "pid", "$PID" } } },
};

static void expect_val(const char *spec, const struct ev_row *w, const struct nmt_probe_res *r, char *out,
		       size_t len)
{
	if (!strcmp(spec, "$PID"))
		snprintf(out, len, "%d", (int)r->pid);
	else if (!strcmp(spec, "$CG"))
		snprintf(out, len, "%llu", nmt_cg_id(w->cg));
	else if (!strncmp(spec, "$POL:", 5))
		snprintf(out, len, "%u", policy_id(spec + 5));
	else
		snprintf(out, len, "%s", spec);
}

static void run_event_rows(const struct ev_row *rows, size_t n)
{
	static char out[1 << 20];
	struct nmt_probe_res res[64];
	char err[4096] = "", cgp[PATH_MAX], *lines[4096];
	int fd, efd, rc, nl = 0, timeout = 3 + (int)n / 3;
	char args[64];
	pid_t pid;

	if (n > 64)
		n = 64;
	snprintf(args, sizeof(args), "-j events --timeout %d", timeout);
	pid = nmt_cli_bg(&fd, &efd, args);
	if (pid < 0) {
		nmt_verdict(false, "events: reader", "cannot start nomoat events: %s", strerror(-pid));
		return;
	}
	nmt_sleep_ms(700); /* let it open the ring buffer */
	for (size_t i = 0; i < n; i++) {
		nmt_cg_path(rows[i].cg, cgp, sizeof(cgp));
		nmt_probe_run(cgp, nmt_h.topo.cns, &rows[i].p, &res[i], 0);
	}
	rc = nmt_cli_bg_end(pid, fd, efd, out, sizeof(out), err, sizeof(err), (timeout + 3) * 1000);
	for (char *l = strtok(out, "\n"); l && nl < 4096; l = strtok(NULL, "\n"))
		lines[nl++] = l;
	for (size_t i = 0; i < n; i++) {
		const struct ev_row *w = &rows[i];
		const struct nmt_probe_res *r = &res[i];
		char desc[256], ps[128], got[512], why[1024] = "", pid_s[32];
		const char *line = NULL;

		snprintf(desc, sizeof(desc), "events: %s: %s [%s]", w->what, nmt_probe_str(&w->p, ps, sizeof(ps)),
			 w->cg);
		nmt_probe_res_str(r, got, sizeof(got));
		if (w->err ? r->err != w->err : (r->err || strncmp(r->line, w->line, strlen(w->line)))) {
			nmt_verdict(false, desc, "expected %s%s, got %s", w->err ? "EPERM" : "reply ",
				w->err ? "" : w->line, got);
			continue;
		}
		if (rc != 0) {
			nmt_verdict(false, desc, "`nomoat %s` exit %d, stderr '%s'", args, rc, nmt_oneline(err));
			continue;
		}
		snprintf(pid_s, sizeof(pid_s), "%d", (int)r->pid);
		for (int k = 0; k < nl && !line; k++) {
			char v[32];

			if (!nmt_json_get(lines[k], "pid", v, sizeof(v)) && !strcmp(v, pid_s))
				line = lines[k];
		}
		if (!line) {
			nmt_verdict(false, desc, "no event with pid %s among %d lines", pid_s, nl);
			continue;
		}
		for (int k = 0; w->f[k].key && !*why; k++) {
			char want[128], v[256];

			expect_val(w->f[k].val, w, r, want, sizeof(want));
			if (nmt_json_get(line, w->f[k].key, v, sizeof(v)))
				snprintf(why, sizeof(why), "no \"%s\" in %s", w->f[k].key, nmt_oneline(line));
			else if (!strcmp(want, "$ANY") ? !*v : strcmp(v, want) != 0)
				snprintf(why, sizeof(why), "\"%s\" is '%s', expected '%s' in %s", w->f[k].key, v,
					 !strcmp(want, "$ANY") ? "(not empty)" : want, nmt_oneline(line));
		}
		nmt_verdict(!*why, desc, "%s", why);
	}
}

/* The brief's scenario once more, after earlier cases left events nobody
 * read: `events --count 1` should report the connect made now. */
static void case_events_fresh(void)
{
	const char *desc = "events: `-j events --count 1` after unread earlier events reports the new one";
	struct nmt_probe p = TCP(NMT_PRIVATE4, 80);
	struct nmt_probe_res r;
	char out[8192], err[2048] = "", cgp[PATH_MAX], v[64] = "", d[64] = "";
	int fd, efd, rc;
	pid_t pid;

	nmt_cg_path(MAIN, cgp, sizeof(cgp));
	/* Three denials with no reader. */
	for (int i = 0; i < 3; i++)
		nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	pid = nmt_cli_bg(&fd, &efd, "-j events --count 1 --timeout 5");
	if (pid < 0) {
		nmt_verdict(false, desc, "cannot start nomoat events: %s", strerror(-pid));
		return;
	}
	nmt_sleep_ms(700);
	p.addr = NMT_META4;
	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	rc = nmt_cli_bg_end(pid, fd, efd, out, sizeof(out), err, sizeof(err), 7000);
	nmt_json_get(out, "pid", v, sizeof(v));
	nmt_json_get(out, "dst", d, sizeof(d));
	{
		int nlines = 0;

		for (const char *q = out; *q; q++)
			nlines += *q == '\n';
		if (r.err != EPERM)
			nmt_verdict(false, desc, "the connect was not denied (errno %d)", r.err);
		else if (rc != 0)
			nmt_verdict(false, desc, "exit %d, stderr '%s'", rc, nmt_oneline(err));
		else
			nmt_verdict(nlines == 1 && atoi(v) == r.pid && !strcmp(d, "169.254.169.254:80"), desc,
				"printed %d event line(s) for --count 1; the first is pid %s dst %s (an older, "
				"unread event); the connect made now was pid %d dst 169.254.169.254:80",
				nlines, v, d, (int)r.pid);
	}
}

/* Counters: redirected flows were recorded for the proxy and removed when
 * their sockets closed; DNS reply sources were restored. */
static void case_stats(void)
{
	const char *desc = "stats: flow records added, all removed after close (flows_live 0), DNS sources restored";
	char added[32] = "", removed[32] = "", live[32] = "", dns[32] = "", miss[32] = "";
	long long end = nmt_now_ms() + 4000;
	int rc;

	do {
		rc = nmt_cli("-j stats");
		if (rc)
			break;
		nmt_json_get(nmt_cli_out, "flows_live", live, sizeof(live));
		if (!strcmp(live, "0"))
			break;
		nmt_sleep_ms(200);
	} while (nmt_now_ms() < end);
	if (rc) {
		nmt_verdict(false, desc, "`nomoat -j stats` exit %d: %s", rc, nmt_oneline(nmt_cli_err));
		return;
	}
	nmt_json_get(nmt_cli_out, "flows_added", added, sizeof(added));
	nmt_json_get(nmt_cli_out, "flows_removed", removed, sizeof(removed));
	nmt_json_get(nmt_cli_out, "dns_sources_restored", dns, sizeof(dns));
	nmt_json_get(nmt_cli_out, "origdst_misses", miss, sizeof(miss));
	nmt_verdict(atoll(added) >= 10 && !strcmp(live, "0") && atoll(removed) == atoll(added) && atoll(dns) >= 5, desc,
		"flows_added %s flows_removed %s flows_live %s dns_sources_restored %s origdst_misses %s", added,
		removed, live, dns, miss);
}

/* Enforcement does not depend on a CLI process: kill one mid-run (events
 * reader, SIGKILL), every CLI call exits anyway; the policy stays. */
static void case_cli_gone(void)
{
	const char *desc = "persist: deny holds after `nomoat events` is SIGKILLed and every CLI has exited";
	struct nmt_probe p = TCP(NMT_META4, 80), q = TCP(NMT_NET4, 80);
	struct nmt_probe_res r, s;
	char cgp[PATH_MAX], out[4096], err[1024], got[256], got2[256];
	int fd, efd;
	pid_t pid;

	pid = nmt_cli_bg(&fd, &efd, "-j events --timeout 30");
	if (pid < 0) {
		nmt_verdict(false, desc, "cannot start nomoat events: %s", strerror(-pid));
		return;
	}
	nmt_sleep_ms(500);
	kill(pid, SIGKILL);
	nmt_cli_bg_end(pid, fd, efd, out, sizeof(out), err, sizeof(err), 2000);
	nmt_cg_path(MAIN, cgp, sizeof(cgp));
	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	nmt_probe_run(cgp, nmt_h.topo.cns, &q, &s, 0);
	nmt_probe_res_str(&r, got, sizeof(got));
	nmt_probe_res_str(&s, got2, sizeof(got2));
	if (r.err != EPERM)
		nmt_verdict(false, desc, "tcp4 169.254.169.254:80: expected EPERM, got %s", got);
	else if (s.err || strncmp(s.line, "PROXY orig=11.22.33.44:80", 25))
		nmt_verdict(false, desc, "tcp4 11.22.33.44:80: expected the proxy, got %s", got2);
	else
		nmt_verdict(true, desc, "%s", "");
}

/* `nomoat run` puts a command into a fresh cgroup (bound to the policy)
 * under --cgroup-parent; the command here is this binary in probe mode
 * (--probe tcp ADDR PORT), started in the client netns. */
static int run_child(void *arg)
{
	char **argv = arg;

	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	return 127;
}

static char self_exe[PATH_MAX];

/* Run `nomoat run --policy P --cgroup-parent PARENT -- <self> --probe tcp
 * ADDR PORT` in the client netns; its stdout in out, its exit code back. */
static char run_err[2048];

static int nomoat_run(const char *policy, const char *parent, const char *addr, char *out, size_t len)
{
	char port[] = "80";
	char *argv[] = { (char *)nmt_h.cli, "run", "--policy", (char *)policy, "--cgroup-parent", (char *)parent,
			 "--", self_exe, "--probe", "tcp", (char *)addr, port, NULL };
	int po[2], pe[2], so, se;
	pid_t pid;

	*out = 0;
	*run_err = 0;
	if (pipe(po))
		return -errno;
	if (pipe(pe)) {
		close(po[0]);
		close(po[1]);
		return -errno;
	}
	/* The CLI runs in the client netns (setns only: same mounts, so it
	 * still finds the cgroup2 mount), stdout and stderr on our pipes. */
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(po[1], 1);
	dup2(pe[1], 2);
	pid = nmt_spawn(NULL, nmt_h.topo.cns, run_child, argv);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return pid;
	}
	return nmt_cmd_collect(pid, po[0], pe[0], out, len, run_err, sizeof(run_err), 8000, 1000);
}

static void case_run(void)
{
	char parent[PATH_MAX], out[4096];
	int rc;

	nmt_cg_path("agents/run", parent, sizeof(parent));
	rc = nomoat_run("p-main", parent, NMT_META4, out, sizeof(out));
	nmt_verdict(!strncmp(out, "EPERM\n", 6) || strstr(out, "\nEPERM\n"),
		"run: `nomoat run --policy p-main --cgroup-parent .../agents/run -- probe tcp4 169.254.169.254:80` "
		"is denied",
		"output '%s' (exit %d, stderr '%s'), expected the probe's line EPERM", nmt_oneline(out), rc, run_err);
	rc = nomoat_run("p-main", parent, NMT_NET4, out, sizeof(out));
	nmt_verdict(!strncmp(out, "reply 'PROXY orig=11.22.33.44:80", 32),
		"run: `nomoat run --policy p-main ... -- probe tcp4 11.22.33.44:80` reaches the proxy",
		"output '%s' (exit %d, stderr '%s')", nmt_oneline(out), rc, run_err);
	/* A parent outside every attach point: refuse, never run unpoliced. */
	nmt_cg_path("outside", parent, sizeof(parent));
	rc = nomoat_run("p-main", parent, NMT_META4, out, sizeof(out));
	nmt_verdict(rc == 2 && !*out, "run: `nomoat run --cgroup-parent .../outside` (not attached) refuses with exit 2",
		"exit %d, output '%s', stderr '%s'", rc, nmt_oneline(out), run_err);
}

/* Exit codes for bad input and unknown names. */
static void case_cli_errors(void)
{
	static const struct {
		const char *cmd;
		int rc; /* -1: any non-zero */
	} c[] = {
		{ "deny add 300.1.2.3 --policy p-live", 2 },
		{ "deny add 10.0.0.0/33 --policy p-live", 2 },
		{ "deny add [fd00::1]:99999 --policy p-live", 2 },
		{ "deny add 10.0.0.0/8", 2 },
		{ "policy create p-bad --default maybe", 2 },
		{ "check 1.2.3.4 80 --policy p-live --proto sctp", 2 },
		{ "frobnicate", 2 },
		{ "deny add 10.0.0.0/8 --policy no-such-policy", -1 },
		{ "policy show no-such-policy", -1 },
		{ "cgroup bind /no/such/cgroup --policy p-live", -1 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char desc[256];
		int rc = nmt_cli("%s", c[i].cmd);
		bool ok = c[i].rc < 0 ? rc > 0 : rc == c[i].rc;

		if (c[i].rc < 0)
			snprintf(desc, sizeof(desc), "cli: `nomoat %s` fails", c[i].cmd);
		else
			snprintf(desc, sizeof(desc), "cli: `nomoat %s` exits %d", c[i].cmd, c[i].rc);
		nmt_verdict(ok, desc, "exit %d: %s", rc, nmt_cli_msg());
	}
}

/* `rule import`: all lines or nothing. */
static void case_import(void)
{
	char path[PATH_MAX], why[1024] = "";
	FILE *f;
	struct nmt_probe_res r;
	struct nmt_probe p = TCP(NMT_NET4B, 80);
	char cgp[PATH_MAX], got[256];
	int rc;

	snprintf(path, sizeof(path), "/tmp/nomoat-test-%d.rules", (int)nmt_h.main_pid);
	f = fopen(path, "w");
	if (!f) {
		nmt_verdict(false, "cli: rule import", "cannot write %s", path);
		return;
	}
	fprintf(f, "# test rules\ndeny 11.22.33.45 # imported\nallow 11.22.33.44:80\n");
	fclose(f);
	rc = nmt_cli("rule import %s --policy p-live", path);
	nmt_cg_path("agents/live", cgp, sizeof(cgp));
	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	nmt_probe_res_str(&r, got, sizeof(got));
	if (rc)
		snprintf(why, sizeof(why), "`nomoat rule import` exit %d: %s", rc, nmt_oneline(nmt_cli_err));
	else if (r.err != EPERM)
		snprintf(why, sizeof(why), "after import, tcp4 11.22.33.45:80: expected EPERM, got %s", got);
	nmt_verdict(!*why, "cli: rule import (deny 11.22.33.45) takes effect", "%s", why);

	/* A file with one bad line changes nothing. */
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "allow 11.22.33.45\ndeny 300.0.0.1\n");
		fclose(f);
	}
	rc = nmt_cli("rule import %s --policy p-live", path);
	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	nmt_probe_res_str(&r, got, sizeof(got));
	*why = 0;
	if (rc != 2)
		snprintf(why, sizeof(why), "`nomoat rule import` of a bad file exit %d (want 2): %s", rc,
			 nmt_oneline(nmt_cli_err));
	else if (r.err != EPERM)
		snprintf(why, sizeof(why), "a rejected import changed the policy: tcp4 11.22.33.45:80 got %s", got);
	nmt_verdict(!*why, "cli: rule import with a bad line exits 2 and changes nothing", "%s", why);
	unlink(path);
	/* Back to the start. */
	nmt_cli("deny del 11.22.33.45 --policy p-live");
	nmt_cli("allow del 11.22.33.44:80 --policy p-live");
}


/* ---- atomic reload under a connect storm --------------------------------- */
/*
 * Two sandboxes connect to 11.22.33.44:80 in a loop while the policy flips
 * between two versions, settings and rules together (`policy set --rules`):
 *   A: proxy 10.250.0.1:3128, redirect 11.22.33.44:80, default deny
 *   B: no proxy, allow 11.22.33.44:80, default redirect
 * plus 2000 unrelated deny rules each.  A connect sees A (the proxy answers)
 * or B (the host answers).  B's settings with A's table would be a redirect
 * without a proxy (EPERM), a missing table fails closed (EPERM): anything but
 * the two answers is a connect that saw neither version.
 */
#define STORM_MS     3000
#define STORM_CHILDREN 2

struct storm_res {
	int a, b, other;
	char first_other[200];
};

static int storm_child(void *arg)
{
	int fd = *(int *)arg;
	struct nmt_probe p = TCP(NMT_NET4, 80);
	struct storm_res res = { 0 };
	long long end = nmt_now_ms() + STORM_MS;

	for (int i = 0; i < 200000 && nmt_now_ms() < end; i++) {
		struct nmt_probe_res r;

		nmt_probe_exec(&p, &r);
		if (!r.err && !strncmp(r.line, "PROXY orig=11.22.33.44:80", 25))
			res.a++;
		else if (!r.err && !strcmp(r.line, "HELLO 11.22.33.44:80"))
			res.b++;
		else if (res.other++ == 0)
			nmt_probe_res_str(&r, res.first_other, sizeof(res.first_other));
	}
	return write(fd, &res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

static bool storm_file(const char *path, const char *first)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fprintf(f, "%s\n", first);
	for (int i = 0; i < 2000; i++)
		fprintf(f, "deny 172.%d.%d.0/24\n", 16 + i / 256, i % 256);
	return fclose(f) == 0;
}

static void case_reload_storm(void)
{
	const char *desc = "reload: connects during 'policy set --rules' swaps see the old or the new version, never neither";
	char fa[PATH_MAX], fb[PATH_MAX], cgp[PATH_MAX], why[512] = "";
	struct storm_res total = { 0 };
	pid_t kids[STORM_CHILDREN] = { 0 };
	int pipes[STORM_CHILDREN][2], swaps = 0, bad_swaps = 0;

	snprintf(fa, sizeof(fa), "/tmp/nomoat-test-%d-a.rules", (int)nmt_h.main_pid);
	snprintf(fb, sizeof(fb), "/tmp/nomoat-test-%d-b.rules", (int)nmt_h.main_pid);
	nmt_cg_path("agents/reload", cgp, sizeof(cgp));
	if (!storm_file(fa, "redirect 11.22.33.44:80") || !storm_file(fb, "allow 11.22.33.44:80") ||
	    (mkdir(cgp, 0755) && errno != EEXIST) ||
	    nmt_cli("policy create p-reload --default deny --proxy4 10.250.0.1:3128 --rules %s", fa) ||
	    nmt_cli("cgroup bind %s --policy p-reload", cgp)) {
		nmt_verdict(false, desc, "set-up failed: %s", nmt_oneline(nmt_cli_err));
		goto out;
	}
	for (int i = 0; i < STORM_CHILDREN; i++) {
		pipes[i][0] = pipes[i][1] = -1;
		if (pipe(pipes[i]))
			continue;
		kids[i] = nmt_spawn(cgp, nmt_h.topo.cns, storm_child, &pipes[i][1]);
		close(pipes[i][1]);
	}
	for (long long end = nmt_now_ms() + STORM_MS - 300; nmt_now_ms() < end && swaps < 400; swaps++) {
		int rc = swaps % 2 ? nmt_cli("policy set p-reload --default deny --proxy4 10.250.0.1:3128 --rules %s", fa)
				   : nmt_cli("policy set p-reload --default redirect --proxy4 none --rules %s", fb);

		bad_swaps += rc != 0;
	}
	for (int i = 0; i < STORM_CHILDREN; i++) {
		struct storm_res r = { 0 };

		if (kids[i] > 0) {
			if (nmt_read_all(pipes[i][0], (char *)&r, sizeof(r), STORM_MS + 5000) < sizeof(r) - 1)
				r.other = -1000000;
			nmt_wait(kids[i], 5000);
		}
		if (pipes[i][0] >= 0)
			close(pipes[i][0]);
		total.a += r.a;
		total.b += r.b;
		total.other += r.other;
		if (!total.first_other[0] && r.first_other[0])
			snprintf(total.first_other, sizeof(total.first_other), "%s", r.first_other);
	}
	if (bad_swaps)
		snprintf(why, sizeof(why), "%d of %d swaps failed: %s", bad_swaps, swaps, nmt_oneline(nmt_cli_err));
	else if (total.other)
		snprintf(why, sizeof(why), "%d connects saw neither version (first: %s); %d saw A, %d saw B",
			 total.other, total.first_other, total.a, total.b);
	else if (!total.a || !total.b || swaps < 4)
		snprintf(why, sizeof(why), "the storm did not span the swaps: %d swaps, %d saw A, %d saw B", swaps,
			 total.a, total.b);
	nmt_verdict(!*why, desc, "%s", why);
	printf("#   reload storm: %d swaps, %d connects saw A, %d saw B, %d neither\n", swaps, total.a, total.b,
	       total.other);
out:
	nmt_cli("cgroup unbind %s", cgp);
	rmdir(cgp);
	nmt_cli("policy delete p-reload");
	unlink(fa);
	unlink(fb);
}

/* `nomoat unload`: the pins go, and a connect denied before now reaches its
 * server (from the test netns only). */
static void case_unload(void)
{
	struct nmt_probe p = TCP(NMT_META4, 80);
	struct nmt_probe_res r;
	char cgp[PATH_MAX], got[256], why[1024] = "";
	struct stat st;
	int rc;

	nmt_cg_path(MAIN, cgp, sizeof(cgp));
	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	nmt_probe_res_str(&r, got, sizeof(got));
	nmt_verdict(r.err == EPERM, "unload: before, tcp4 169.254.169.254:80 is denied", "got %s", got);

	rc = nmt_cli("unload");
	nmt_h.unloaded = rc == 0;
	if (rc)
		snprintf(why, sizeof(why), "`nomoat unload` exit %d: %s", rc, nmt_cli_msg());
	else if (stat(nmt_h.pin_dir, &st) == 0)
		snprintf(why, sizeof(why), "pin dir %s still exists", nmt_h.pin_dir);
	nmt_verdict(!*why, "unload: exit 0 and the pin dir is gone", "%s", why);

	nmt_probe_run(cgp, nmt_h.topo.cns, &p, &r, 0);
	nmt_probe_res_str(&r, got, sizeof(got));
	nmt_verdict(!r.err && !strncmp(r.line, "HELLO 169.254.169.254:80", 24),
		"unload: after, tcp4 169.254.169.254:80 reaches its server", "got %s", got);
	{
		struct nmt_probe q = TCP(NMT_NET4B, 80);

		nmt_cg_path("agents/unbound", cgp, sizeof(cgp));
		nmt_probe_run(cgp, nmt_h.topo.cns, &q, &r, 0);
		nmt_probe_res_str(&r, got, sizeof(got));
		nmt_verdict(!r.err && !strncmp(r.line, "HELLO 11.22.33.45:80", 20),
			"unload: after, the unbound cgroup is no longer fail-closed", "got %s", got);
	}
	{
		char d1[256], d2[256];
		int a = progs_attached("agents", d1, sizeof(d1));
		int b = progs_attached("proxy", d2, sizeof(d2));

		nmt_verdict(a == 0 && b == 0, "unload: no program stays attached to the test cgroups",
			"agents: %d (%s), proxy: %d (%s)", a, d1, b, d2);
	}
	rc = nmt_cli("policy list");
	nmt_verdict(rc == 1, "unload: `nomoat policy list` afterwards exits 1 (nothing loaded)", "exit %d: %s", rc,
		nmt_cli_msg());
}



/* ---- raw and ping sockets ------------------------------------------------ */
struct raw_res {
	int err[5]; /* raw4, raw6, ping4, ping6, tcp4: errno of socket(), 0 if made */
};

static int raw_child(void *arg)
{
	static const int spec[5][3] = {
		{ AF_INET, SOCK_RAW, IPPROTO_ICMP },   { AF_INET6, SOCK_RAW, IPPROTO_ICMPV6 },
		{ AF_INET, SOCK_DGRAM, IPPROTO_ICMP }, { AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6 },
		{ AF_INET, SOCK_STREAM, 0 },
	};
	struct raw_res res;
	int fd = *(int *)arg, g;

	/* ping sockets need the group range (per netns; this child is in the
	 * client's), or socket() fails with EACCES before any hook runs */
	g = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if (g >= 0) {
		if (write(g, "0 2147483647", 12) < 0)
			res.err[0] = -1;
		close(g);
	}
	for (int i = 0; i < 5; i++) {
		int s = socket(spec[i][0], spec[i][1] | SOCK_CLOEXEC, spec[i][2]);

		res.err[i] = s < 0 ? errno : 0;
		if (s >= 0)
			close(s);
	}
	return write(fd, &res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

static bool raw_run(const char *rel, struct raw_res *res)
{
	char cgp[PATH_MAX], buf[sizeof(*res) + 1];
	int pfd[2];
	pid_t kid;
	bool ok;

	nmt_cg_path(rel, cgp, sizeof(cgp));
	if (pipe(pfd))
		return false;
	kid = nmt_spawn(cgp, nmt_h.topo.cns, raw_child, &pfd[1]);
	close(pfd[1]);
	ok = kid > 0 && nmt_read_all(pfd[0], buf, sizeof(buf), 5000) >= sizeof(*res);
	if (kid > 0)
		nmt_wait(kid, 5000);
	close(pfd[0]);
	if (ok)
		memcpy(res, buf, sizeof(*res));
	return ok;
}

/* A policy refuses raw IP and ping sockets unless it allows them. */
static void case_raw_sockets(void)
{
	static const char *const what[5] = { "raw4", "raw6", "ping4", "ping6", "tcp4" };
	struct raw_res r;
	char why[256] = "";

	if (!raw_run(MAIN, &r))
		snprintf(why, sizeof(why), "the probe did not run");
	for (int i = 0; !*why && i < 5; i++)
		if (r.err[i] != (i < 4 ? EPERM : 0))
			snprintf(why, sizeof(why), "%s: errno %d, expected %s", what[i], r.err[i], i < 4 ? "EPERM" : "0");
	nmt_verdict(!*why, "raw sockets: the default refuses raw and ping sockets (v4, v6), TCP unaffected", "%s", why);

	*why = 0;
	if (nmt_cli("policy set p-live --raw-sockets allow"))
		snprintf(why, sizeof(why), "policy set: %s", nmt_cli_msg());
	else if (!raw_run("agents/live", &r))
		snprintf(why, sizeof(why), "the probe did not run");
	for (int i = 0; !*why && i < 5; i++)
		if (r.err[i])
			snprintf(why, sizeof(why), "%s: errno %d with raw-sockets allow", what[i], r.err[i]);
	nmt_verdict(!*why, "raw sockets: a policy with --raw-sockets allow lets them be made", "%s", why);
	nmt_cli("policy set p-live --raw-sockets deny");
}

/* ---- a full flow table ---------------------------------------------------- */
/*
 * Loaded with room for 2 redirected flows, a sandbox holds 2 proxied
 * connections open; a third redirect is refused (EPERM, counted as
 * flows_full) rather than handing the proxy a flow without its original
 * destination; once the two close, their records go and a redirect works.
 */
#define FLOWS_MAX 2

struct flows_res {
	int held;       /* proxied connections held open */
	int err_full;   /* errno of the connect past the limit */
	int err_after;  /* errno of the connect after closing */
	char line_after[160];
};

/* Connect to 11.22.33.44:80 (redirected) and read the proxy's line. */
static int flows_connect(char *line, size_t len, int *err)
{
	struct sockaddr_storage ss;
	struct timeval tv = { 2, 0 };
	int s, n, sl = nmt_sa_make(&ss, NMT_NET4, 80, false);
	ssize_t r;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || sl < 0) {
		*err = errno;
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&ss, sl)) {
		*err = errno;
		close(s);
		return -1;
	}
	n = 0;
	while (n < (int)len - 1 && (r = read(s, line + n, len - 1 - n)) > 0 && !memchr(line + n, '\n', r))
		n += r;
	line[len - 1] = 0;
	line[strcspn(line, "\n")] = 0;
	*err = 0;
	return s;
}

static int flows_child(void *arg)
{
	int fd = *(int *)arg, s[FLOWS_MAX], extra;
	struct flows_res res = { 0 };
	char line[160];

	for (int i = 0; i < FLOWS_MAX; i++) {
		memset(line, 0, sizeof(line));
		s[i] = flows_connect(line, sizeof(line), &res.err_full);
		if (s[i] >= 0 && !strncmp(line, "PROXY orig=11.22.33.44:80", 25))
			res.held++;
	}
	extra = flows_connect(line, sizeof(line), &res.err_full);
	if (extra >= 0) {
		res.err_full = 0;
		close(extra);
	}
	for (int i = 0; i < FLOWS_MAX; i++)
		if (s[i] >= 0)
			close(s[i]);
	/* the records go at TCP_CLOSE (after FIN_WAIT/TIME_WAIT start): retry
	 * for up to 2 s */
	for (int t = 0; t < 40; t++) {
		memset(res.line_after, 0, sizeof(res.line_after));
		extra = flows_connect(res.line_after, sizeof(res.line_after), &res.err_after);
		if (extra >= 0) {
			close(extra);
			break;
		}
		nmt_sleep_ms(50);
	}
	return write(fd, &res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

static void case_flows_full(void)
{
	const char *desc = "flows: with room for 2 redirected flows, a third redirect is refused and counted, "
			   "and works again once they close";
	char cgp[PATH_MAX], agents[PATH_MAX], why[512] = "";
	struct flows_res res = { 0 };
	int pfd[2] = { -1, -1 };
	pid_t kid;

	nmt_cg_path("agents/flows", cgp, sizeof(cgp));
	nmt_cg_path("agents", agents, sizeof(agents));
	nmt_h.loaded = true;
	if ((mkdir(cgp, 0755) && errno != EEXIST) || nmt_cli("load --max-flows %d", FLOWS_MAX) ||
	    nmt_cli("policy create p-flows --default redirect --proxy4 10.250.0.1:3128") ||
	    nmt_cli("cgroup attach %s", agents) || nmt_cli("cgroup bind %s --policy p-flows", cgp) ||
	    nmt_cli("cgroup attach %s/proxy --origdst-only", nmt_h.base)) {
		nmt_verdict(false, desc, "set-up failed: %s", nmt_cli_msg());
		goto out;
	}
	if (pipe(pfd) || (kid = nmt_spawn(cgp, nmt_h.topo.cns, flows_child, &pfd[1])) < 0) {
		nmt_verdict(false, desc, "cannot start the client");
		goto out;
	}
	close(pfd[1]);
	pfd[1] = -1;
	{
		char buf[sizeof(res) + 1]; /* nmt_read_all keeps a byte for the NUL */
		size_t got = nmt_read_all(pfd[0], buf, sizeof(buf), 10000);
		int st = nmt_wait(kid, 5000);

		if (got < sizeof(res))
			snprintf(why, sizeof(why), "the client gave no result (%zu bytes, wait status %d)", got, st);
		else
			memcpy(&res, buf, sizeof(res));
	}
	if (!*why && res.held != FLOWS_MAX)
		snprintf(why, sizeof(why), "only %d of %d connections reached the proxy", res.held, FLOWS_MAX);
	else if (!*why && res.err_full != EPERM)
		snprintf(why, sizeof(why), "the redirect past the limit: expected EPERM, got errno %d", res.err_full);
	else if (!*why && (res.err_after || strncmp(res.line_after, "PROXY orig=11.22.33.44:80", 25)))
		snprintf(why, sizeof(why), "after closing: errno %d, '%s'", res.err_after, res.line_after);
	if (!*why) {
		nmt_cli("-j stats");
		if (!strstr(nmt_cli_out, "\"flows_full\":") || strstr(nmt_cli_out, "\"flows_full\":0,"))
			snprintf(why, sizeof(why), "stats do not count it: %s", nmt_oneline(nmt_cli_out));
	}
	nmt_verdict(!*why, desc, "%s", why);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	nmt_h.unloaded = nmt_cli("unload") == 0;
	rmdir(cgp);
}

/* ---- probe mode (for `nomoat run`) ----------------------------------------- */
static int probe_mode(int argc, char **argv)
{
	struct nmt_probe p = { 0 };
	struct nmt_probe_res r;
	char got[512];

	if (argc < 5)
		return 2;
	p.kind = !strcmp(argv[2], "udp") ? NMT_UDP : NMT_TCP;
	p.addr = argv[3];
	p.port = atoi(argv[4]);
	nmt_probe_exec(&p, &r);
	if (r.err == EPERM)
		printf("EPERM\n");
	else
		printf("%s\n", nmt_probe_res_str(&r, got, sizeof(got)));
	return 0;
}

/* ---- main ---------------------------------------------------------------- */
static char fixture_why[600];

static void fixture_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fixture_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fixture_why, sizeof(fixture_why), fmt, ap);
	va_end(ap);
	fixture_why[strcspn(fixture_why, "\n")] = 0;
}

static bool fixture(bool need_cli)
{
	if (need_cli && access(nmt_h.cli, X_OK)) {
		fixture_fail("the nomoat CLI %s is not executable: %s\n", nmt_h.cli, strerror(errno));
		return false;
	}
	if (!nmt_base_up("nomoat-test", fixture_why, sizeof(fixture_why)))
		return false;
	if (!setup_cgroups()) {
		fixture_fail("cannot create the test cgroups under %s (see above)", nmt_h.base);
		return false;
	}
	return nmt_net_up("proxy", fixture_why, sizeof(fixture_why));
}

int main(int argc, char **argv)
{
	bool selftest = false;
	int i;

	if (argc >= 2 && !strcmp(argv[1], "--probe"))
		return probe_mode(argc, argv);
	nmt_harness_init();
	nmt_h.cli = "build/nomoat";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--selftest"))
			selftest = true;
		else if (!strcmp(argv[i], "-v"))
			nmt_verbose = 1;
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [--selftest] [-v] [NOMOAT]\n", argv[0]);
			return 2;
		} else
			nmt_h.cli = argv[i];
	}
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		snprintf(self_exe, sizeof(self_exe), "%s", argv[0]);
	if (!selftest && nmt_h.cli[0] != '/') {
		static char abs[PATH_MAX];

		if (realpath(nmt_h.cli, abs))
			nmt_h.cli = abs;
	}
	if (!nmt_harness_start("integration", "nomoat-test"))
		return 1;

	if (!fixture(!selftest)) {
		nmt_verdict(false, "fixture: topology, servers and CLI", "%s", fixture_why);
		return nmt_finish();
	}
	RUN_ROWS(fixture_rows);
	if (!selftest && getenv("NMT_ONLY")) {
		/* a developer's shortcut: the set-up and one group of cases
		 * (NMT_ONLY=backstop, faults or failclosed) */
		setup_cli();
		if (!strcmp(getenv("NMT_ONLY"), "backstop"))
			case_backstop();
		else if (!strcmp(getenv("NMT_ONLY"), "faults"))
			case_faults();
		else if (!strcmp(getenv("NMT_ONLY"), "failclosed"))
			case_failclosed();
	} else if (!selftest) {
		setup_cli();
		case_events();
		RUN_ROWS(policy_rows);
		run_event_rows(event_rows, sizeof(event_rows) / sizeof(event_rows[0]));
		case_events_fresh();
		case_stats();
		RUN_ROWS(live_rows);
		case_import();
		case_reload_storm();
		case_raw_sockets();
		case_failclosed();
		case_backstop();
		case_faults();
		case_cli_gone();
		case_run();
		case_cli_errors();
		case_unload();
		case_flows_full();
	}
	return nmt_finish();
}
