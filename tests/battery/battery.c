/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * battery - the escape battery (issue 5): an agent in a container-like
 * sandbox, bound to the default policy of the test topology, tries every
 * way out we know of to the fake metadata and internal hosts; the test
 * fails on any success that is not a documented limit.
 *
 *   battery [-v] [NOMOAT]             (NOMOAT default build/nomoat)
 *   battery agent KEY=VALUE...        the agent (re-executed by the harness)
 *   battery probe tcp ADDR PORT NAME PASS   one probe (the exec attempt)
 *
 * The harness (this file) builds the test network (tests/lib/topo.h) and
 * its servers, loads nomoat with the test's own pin dir, attaches it at
 * <base>/sb, makes policy "battery" exactly like the shipped default
 * (deny defaults, default redirect, raw sockets denied; proxy and DNS
 * endpoints of the test network) and binds <base>/sb to it.  Outside the
 * sandbox it starts: a witness sniffing the world's side of the wire
 * (witness.c), listeners where the daemon's ports would be (standins.c),
 * and per pass two passers that hand sockets in (passer.c), one in a
 * sibling cgroup under the binding, one in an unpoliced cgroup.
 *
 * Passes (sandbox.c: own mount namespace, cgroup filesystems read-only,
 * pins and the daemon's sockets hidden, no_new_privs):
 *   control   uid 0, Docker's capabilities, in a cgroup nothing polices:
 *             proves that each attempt marked so does reach its target
 *             when nothing stops it (so "blocked" means blocked);
 *   root      uid 0, Docker's default capabilities (CAP_NET_RAW, no
 *             CAP_SYS_ADMIN / CAP_NET_ADMIN / CAP_BPF), under the binding;
 *   user      uid/gid 65534, no capabilities, under the binding;
 *   backstop  as root, under a policy identical but for raw-sockets
 *             allow: the packet backstop (cgroup_skb) must drop what raw
 *             and ping sockets send; skipped when nomoat has none.
 *
 * Verdicts per pass (verdict.c): the sandbox is what it should be, every
 * attempt ran, and per group of attempts none reached a target (by the
 * agent's own evidence, a HELLO from the target, or by the witness seeing
 * its token on the way to a denied address).  The documented limits
 * (nmb_limits below, by name: nothing else can be one) get a verdict each
 * that asserts what happens, so the README stays true.
 *
 * Adding a way out: a function and a row in the table of the att_*.c file
 * it belongs to (the group is the verdict it counts in; ctl says whether it
 * reaches its target from an unpoliced cgroup).  If it cannot be stopped
 * and the README says so, name it in nmb_limits.
 *
 * Everything is named after the pid: namespaces nmt<pid>-c/-w, cgroups
 * <cgroup2>/nomoat-battery-<pid>/, pins /sys/fs/bpf/nomoat-battery-<pid>,
 * sockets in /run/nomoat-battery-<pid>/; all removed at exit, on signals
 * and on failure (the agent's mounts live in its own mount namespace).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "battery.h"
#include "harness.h"
#include "run.h"
#include "topo.h"

/* ---- the documented limits ------------------------------------------------------- */
#define WHY_PASSED "a socket keeps the cgroup it was created in; one made outside every attach point is never judged"
#define WHY_PACKET "AF_PACKET frames pass below every cgroup hook; it needs CAP_NET_RAW, which Docker grants"
#define WHY_XDP "AF_XDP frames pass below every cgroup hook; it needs CAP_NET_RAW, which Docker grants"

/*                                   control root   user   backstop */
#define ALWAYS { true, true, true, true }
#define NEEDS_NET_RAW { true, true, false, true }

static const struct nmb_limit nmb_limits[] = {
	{ "passed-unpoliced-tcp4.meta4", ALWAYS, WHY_PASSED },
	{ "passed-unpoliced-tcp6.meta6", ALWAYS, WHY_PASSED },
	{ "passed-unpoliced-udp4.meta4", ALWAYS, WHY_PASSED },
	{ "passed-unpoliced-preconnected-tcp4.meta4", ALWAYS, WHY_PASSED },
	{ "packet-raw-udp4.meta4", NEEDS_NET_RAW, WHY_PACKET },
	{ "packet-dgram-udp4.meta4", NEEDS_NET_RAW, WHY_PACKET },
	{ "packet-raw-udp6.meta6", NEEDS_NET_RAW, WHY_PACKET },
	{ "sockpacket-udp4.meta4", NEEDS_NET_RAW, WHY_PACKET },
	{ "xdp-udp4.meta4", NEEDS_NET_RAW, WHY_XDP },
};

#define NLIMITS (int)(sizeof(nmb_limits) / sizeof(nmb_limits[0]))

const struct nmb_limit *nmb_limits_all(int *n)
{
	*n = NLIMITS;
	return nmb_limits;
}

const struct nmb_limit *nmb_limit_of(const char *name)
{
	for (int i = 0; i < NLIMITS; i++)
		if (!strcmp(nmb_limits[i].name, name))
			return &nmb_limits[i];
	return NULL;
}

/* ---- the fixture ----------------------------------------------------------------- */
#define POLICY     "battery"
#define POLICY_RAW "battery-raw"
#define AGENT_MS   100000 /* one pass of the agent, at most */

static const char *const pass_cg[NMB_PASS__MAX] = {
	[NMB_CONTROL] = "ctl",
	[NMB_ROOT] = "sb/agent-root",
	[NMB_USER] = "sb/agent-user",
	[NMB_BACKSTOP] = "sb/agent-backstop",
};

static struct {
	char run_dir[256];
	char world_ns[300];
	char pin_link[PATH_MAX];
	bool made_run_dir;
	bool backstop;       /* the loaded nomoat has a cgroup_skb egress program */
	int wit_fd;          /* the witness's reports */
	char wit[1 << 16];   /* what it reported, not yet consumed */
	size_t wit_len;
	char why[1024];
} B = { .wit_fd = -1 };

static void cleanup_last(void)
{
	if (B.made_run_dir && nmt_rmtree(B.run_dir))
		fprintf(stderr, "cleanup: could not remove %s\n", B.run_dir);
}

static bool cli_ok(const char *what, int rc)
{
	if (rc)
		nmt_why_set(B.why, sizeof(B.why), "%s: exit %d: %s", what, rc, nmt_cli_msg());
	return rc == 0;
}

/* Write a sysctl of the client netns (/proc/sys/net follows the opener). */
static int sysctl_child(void *p)
{
	const char *const *kv = p;
	int fd = open(kv[0], O_WRONLY | O_CLOEXEC);
	int ok = fd >= 0 && write(fd, kv[1], strlen(kv[1])) > 0;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : 1;
}

static bool client_sysctl(const char *path, const char *val)
{
	const char *kv[2] = { path, val };
	pid_t pid = nmt_spawn(NULL, nmt_h.topo.cns, sysctl_child, kv);
	int st = pid < 0 ? pid : nmt_wait(pid, 5000);

	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		nmt_why_set(B.why, sizeof(B.why), "cannot set %s=%s in the client netns", path, val);
		return false;
	}
	return true;
}

/* A pinned link of nomoat's connect4 program: <pin>/links/<id>/nm_connect4. */
static void find_pin_link(void)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(B.pin_link, sizeof(B.pin_link), "%s/links/?/nm_connect4", nmt_h.pin_dir);
	snprintf(dir, sizeof(dir), "%s/links", nmt_h.pin_dir);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		nmb_copy(B.pin_link, sizeof(B.pin_link), dir);
		nmb_append(B.pin_link, sizeof(B.pin_link), "/");
		nmb_append(B.pin_link, sizeof(B.pin_link), de->d_name);
		nmb_append(B.pin_link, sizeof(B.pin_link), "/nm_connect4");
		break;
	}
	if (d)
		closedir(d);
}

/* Does the attach point carry a cgroup_skb egress program? */
static bool has_backstop(const char *cg)
{
	__u32 ids[8], cnt = 8, flags = 0;
	int fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool yes;

	if (fd < 0)
		return false;
	yes = !bpf_prog_query(fd, BPF_CGROUP_INET_EGRESS, 0, &flags, ids, &cnt) && cnt > 0;
	close(fd);
	return yes;
}

static bool mkcg(const char *rel)
{
	char p[PATH_MAX];
	int e;

	nmt_cg_path(rel, p, sizeof(p));
	e = mkdir(p, 0755) ? -errno : 0;
	if (e && e != -EEXIST) {
		nmt_why_set(B.why, sizeof(B.why), "mkdir %s: %s", p, strerror(-e));
		return false;
	}
	return true;
}

static bool fixture(void)
{
	static const char *const cgs[] = { "proxy", "sb", "sb/agent-root", "sb/agent-user", "sb/agent-backstop",
					   "sb/sibling", "free", "ctl", NULL };
	const char *pol[2] = { POLICY, POLICY_RAW };
	char sb[PATH_MAX], p[PATH_MAX];
	pid_t pid;

	if (access(nmt_h.cli, X_OK)) {
		nmt_why_set(B.why, sizeof(B.why), "the nomoat CLI %s is not executable", nmt_h.cli);
		return false;
	}
	if (!nmt_base_up("nomoat-battery", B.why, sizeof(B.why)))
		return false;
	for (int i = 0; cgs[i]; i++)
		if (!mkcg(cgs[i]))
			return false;
	if (!nmt_net_up("proxy", B.why, sizeof(B.why)))
		return false;
	snprintf(B.world_ns, sizeof(B.world_ns), "/run/netns/%s", nmt_h.topo.wns);
	/* Ping sockets for every group, so the ping attempts are real. */
	if (!client_sysctl("/proc/sys/net/ipv4/ping_group_range", "0 2147483647"))
		return false;
	snprintf(B.run_dir, sizeof(B.run_dir), "/run/nomoat-battery-%d", (int)nmt_h.main_pid);
	if (mkdir(B.run_dir, 0700)) {
		nmt_why_set(B.why, sizeof(B.why), "mkdir %s: %s", B.run_dir, strerror(errno));
		return false;
	}
	B.made_run_dir = true;
	nmt_cg_path("free", p, sizeof(p));
	pid = nmb_standins_start(p, nmt_h.topo.cns, B.run_dir);
	if (pid < 0) {
		nmt_why_set(B.why, sizeof(B.why), "the daemon stand-ins did not start: %s", strerror(-pid));
		return false;
	}
	pid = nmb_witness_start(nmt_h.topo.wns, nmt_h.topo.wdev, &B.wit_fd);
	if (pid < 0) {
		nmt_why_set(B.why, sizeof(B.why), "the witness did not start: %s", strerror(-pid));
		return false;
	}

	/* nomoat, as the shipped policy file would set it up. */
	nmt_cg_path("sb", sb, sizeof(sb));
	nmt_cg_path("proxy", p, sizeof(p));
	nmt_h.loaded = true;
	if (!cli_ok("load", nmt_cli("load")) || !cli_ok("cgroup attach", nmt_cli("cgroup attach %s", sb)) ||
	    !cli_ok("cgroup attach --origdst-only", nmt_cli("cgroup attach %s --origdst-only", p)))
		return false;
	for (int i = 0; i < 2; i++)
		if (!cli_ok("policy create",
			    nmt_cli("policy create %s --with-defaults --default redirect --mode enforce --events deny "
				    "--raw-sockets deny --proxy4 %s:%d --proxy6 [%s]:%d --dns4 %s:%d --dns6 [%s]:%d",
				    pol[i], NMT_WORLD4, NMT_PROXY_PORT, NMT_WORLD6, NMT_PROXY_PORT, NMT_WORLD4,
				    NMT_DNS_PORT, NMT_WORLD6, NMT_DNS_PORT)))
			return false;
	if (!cli_ok("policy set --raw-sockets allow", nmt_cli("policy set %s --raw-sockets allow", POLICY_RAW)))
		return false;
	nmt_cg_path(pass_cg[NMB_BACKSTOP], p, sizeof(p));
	if (!cli_ok("cgroup bind", nmt_cli("cgroup bind %s --policy %s", sb, POLICY)) ||
	    !cli_ok("cgroup bind (backstop)", nmt_cli("cgroup bind %s --policy %s", p, POLICY_RAW)))
		return false;
	find_pin_link();
	B.backstop = has_backstop(sb);
	return true;
}

/* ---- the witness's reports -------------------------------------------------------- */
static void witness_drain(int ms)
{
	long long end = nmt_now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = B.wit_fd, .events = POLLIN };
		long long left = end - nmt_now_ms();
		ssize_t k;

		if (B.wit_len >= sizeof(B.wit) - 1)
			break;
		if (poll(&pfd, 1, left > 0 ? (int)left : 0) <= 0)
			break;
		k = read(B.wit_fd, B.wit + B.wit_len, sizeof(B.wit) - 1 - B.wit_len);
		if (k <= 0)
			break;
		B.wit_len += k;
	}
	B.wit[B.wit_len] = 0;
}

/* Where the witness saw this pass's token of name go, other than to an
 * endpoint the policy allows: "dst proto/port" into out (first one). */
static bool witness_saw(enum nmb_pass p, const char *name, char *out, size_t len)
{
	char want[NMB_TOKEN_MAX + 8];
	const char *l = B.wit;

	snprintf(want, sizeof(want), "SEEN " NMB_TOKEN_TAG "%s/%s ", nmb_pass_name[p], name);
	while ((l = strstr(l, want))) {
		char dst[160];
		const char *rest = l + strlen(want);
		size_t n = strcspn(rest, "\n");

		snprintf(dst, sizeof(dst), "%.*s", (int)(n < sizeof(dst) ? n : sizeof(dst) - 1), rest);
		if (!nmb_witness_allowed(dst)) {
			snprintf(out, len, "%s", dst);
			return true;
		}
		l = rest;
	}
	return false;
}

/* ---- one pass --------------------------------------------------------------------- */
/* Start the passers and the agent; read its lines (echoed) until it ends. */
static bool run_agent(enum nmb_pass p, struct nmb_pass_io *io)
{
	char cg[PATH_MAX], sib[PATH_MAX], fr[PATH_MAX], buf[8192], args[8192], *argv[40];
	struct nmb_cfg c;
	struct nmb_sandbox sb;
	int pfd[2], sib_end = -1, free_end = -1, n;
	pid_t sp, fp, agent;
	size_t len = 0;
	long long end;

	memset(io, 0, sizeof(*io));
	io->done = -1;
	memset(nmb_out, 0, sizeof(nmb_out));
	nmt_cg_path(pass_cg[p], cg, sizeof(cg));
	nmt_cg_path("sb/sibling", sib, sizeof(sib));
	nmt_cg_path("free", fr, sizeof(fr));
	sp = nmb_passer_start(sib, nmt_h.topo.cns, &sib_end);
	fp = nmb_passer_start(fr, nmt_h.topo.cns, &free_end);
	if (sp < 0 || fp < 0) {
		snprintf(io->error, sizeof(io->error), "the passers did not start");
		return false;
	}

	memset(&c, 0, sizeof(c));
	c.pass = p;
	c.sib_fd = sib_end;
	c.free_fd = free_end;
	c.free_pid = fp;
	nmb_copy(c.cgmount, sizeof(c.cgmount), nmt_h.cgmount);
	nmb_copy(c.cg_free, sizeof(c.cg_free), fr);
	nmt_cg_path("sb", c.cg_attach, sizeof(c.cg_attach));
	nmb_copy(c.pin_link, sizeof(c.pin_link), B.pin_link);
	nmb_copy(c.pin_dir, sizeof(c.pin_dir), nmt_h.pin_dir);
	nmb_copy(c.run_dir, sizeof(c.run_dir), B.run_dir);
	nmb_copy(c.world_ns, sizeof(c.world_ns), B.world_ns);
	nmb_copy(c.cdev, sizeof(c.cdev), nmt_h.topo.cdev);
	argv[0] = "battery";
	argv[1] = "agent";
	n = nmb_cfg_format(&c, argv + 2, 38, args, sizeof(args));
	if (n < 0 || pipe2(pfd, O_CLOEXEC)) {
		snprintf(io->error, sizeof(io->error), "cannot build the agent's arguments");
		agent = -EINVAL;
		goto out;
	}

	memset(&sb, 0, sizeof(sb));
	sb.cgroup = cg;
	sb.netns = nmt_h.topo.cns;
	sb.user = p == NMB_USER;
	sb.hide[0] = "/sys/fs/bpf";
	sb.hide[1] = B.run_dir;
	sb.hide[2] = "/run/nomoat";
	sb.keep[0] = sib_end;
	sb.keep[1] = free_end;
	sb.keep[2] = sb.keep[3] = -1;
	sb.out_fd = pfd[1];
	sb.argv = argv;
	agent = nmb_sandbox_spawn(&sb);
	close(pfd[1]);
	if (agent < 0) {
		close(pfd[0]);
		snprintf(io->error, sizeof(io->error), "cannot start the agent: %s", strerror(-agent));
		goto out;
	}

	/* Its lines, echoed as they come, until EOF or the bound. */
	end = nmt_now_ms() + AGENT_MS;
	for (;;) {
		struct pollfd q = { .fd = pfd[0], .events = POLLIN };
		long long left = end - nmt_now_ms();
		char *nl;
		ssize_t k;

		if (left <= 0 || poll(&q, 1, (int)left) <= 0)
			break;
		k = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			break;
		len += k;
		buf[len] = 0;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			printf("    %s\n", buf);
			nmb_parse_line(buf, io);
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len + 1);
		}
		if (len >= sizeof(buf) - 1)
			len = 0; /* a line too long for us: dropped */
	}
	close(pfd[0]);
	io->status = nmt_wait(agent, 2000);
out:
	close(sib_end);
	close(free_end);
	kill(sp, SIGKILL);
	kill(fp, SIGKILL);
	nmt_wait(sp, 2000);
	nmt_wait(fp, 2000);
	return agent > 0;
}


static void run_pass(enum nmb_pass p)
{
	char want_cg[600];
	struct nmb_pass_io io;
	int n;
	const struct nmb_att *a = nmb_attempts(&n);
	long long t0 = nmt_now_ms();

	printf("# pass %s: agent in %s\n", nmb_pass_name[p], pass_cg[p]);
	B.wit_len = 0;
	witness_drain(0);
	B.wit_len = 0;
	if (!run_agent(p, &io)) {
		nmt_verdict(false, nmb_pass_name[p], "%s", io.error);
		return;
	}
	/* Give the last frames time to reach the witness. */
	witness_drain(300);
	for (int i = 0; i < n; i++)
		nmb_out[i].witnessed = witness_saw(p, a[i].name, nmb_out[i].wdst, sizeof(nmb_out[i].wdst));
	printf("# pass %s: %lld ms\n", nmb_pass_name[p], nmt_now_ms() - t0);
	if (p == NMB_CONTROL) {
		nmb_verdict_control(&io);
		return;
	}
	snprintf(want_cg, sizeof(want_cg), "/%s/%s", strrchr(nmt_h.base, '/') + 1, pass_cg[p]);
	nmb_verdict_identity(p, &io, want_cg);
	nmb_verdict_complete(p, &io);
	nmb_verdict_groups(p);
	if (p == NMB_BACKSTOP)
		nmb_verdict_backstop();
	nmb_verdict_limits(p);
}

int main(int argc, char **argv)
{
	int i;

	if (argc >= 2 && !strcmp(argv[1], "agent"))
		return nmb_agent_main(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "probe"))
		return nmb_probe_main(argc - 1, argv + 1);
	nmt_harness_init();
	nmt_h.cli = "build/nomoat";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			nmt_verbose = 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [-v] [NOMOAT]\n", argv[0]);
			return 2;
		} else {
			nmt_h.cli = argv[i];
		}
	}
	if (nmt_h.cli[0] != '/') {
		static char abs[PATH_MAX];

		if (realpath(nmt_h.cli, abs))
			nmt_h.cli = abs;
	}
	if (!nmt_harness_start("battery", "nomoat-battery"))
		return 1;
	nmt_h.cleanup_last = cleanup_last;
	if (!fixture()) {
		nmt_verdict(false, "fixture: topology, servers, witness, nomoat and the policy", "%s", B.why);
		return nmt_finish();
	}
	run_pass(NMB_CONTROL);
	run_pass(NMB_ROOT);
	run_pass(NMB_USER);
	if (B.backstop)
		run_pass(NMB_BACKSTOP);
	else
		printf("skipped: no backstop (the loaded nomoat attaches no cgroup_skb egress program): the backstop "
		       "pass did not run\n");
	return nmt_finish();
}
