// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dns-integration - nomoat-dns end to end, behind the kernel's redirect of
 * every sandbox's DNS: real clients (glibc through getent, dig over UDP and
 * TCP, Python, curl by name through nomoat-proxy, a plain TCP client by
 * name in synthetic mode) in sandbox cgroups of the test network's client
 * namespace, asking whatever server they like (8.8.8.8, 1.1.1.1, Google's
 * IPv6 one, the endpoint itself); nomoat-dns in the world namespace in its
 * origdst-only attach point, dropped to nobody; a test upstream resolver
 * (tests/dns/upstream.py) at 11.22.33.53, reachable only from the world
 * namespace, that logs every query it receives, so each case also proves
 * what did not reach it.
 *
 *   dns-integration [-v] [NOMOAT NOMOAT-DNS NOMOAT-PROXY]
 *       (default build/nomoat build/nomoat-dns build/nomoat-proxy)
 *
 * Everything is named after the pid (namespaces nmt<pid>-c/-w, cgroups
 * <cgroup2>/nomoat-dtest-<pid>/, pins /sys/fs/bpf/nomoat-dtest-<pid>, files
 * in /tmp/nomoat-dtest-<pid>/) and removed at exit, on a signal and on
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
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
#include "harness.h"
#include "run.h"
#include "topo.h"

#define UPSTREAM "11.22.33.53"
#define EP4 "10.250.0.1"
#define EP6 "fd00:250::1"

static char dns_bin[PATH_MAX] = "build/nomoat-dns", proxy_bin[PATH_MAX] = "build/nomoat-proxy";
static char here[PATH_MAX], tmp[256], conf[300], ulog[300], dlog[300], derr[300], plog[300], perr[300];
static char names[300], hosts[300], resolv[300], cert[300], key[300];
static pid_t up_pid, dns_pid, proxy_pid;

/* ---- files ------------------------------------------------------------------ */
static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	fputs(text, f);
	chmod(path, 0644);
	return fclose(f) == 0;
}

/* The bytes of a file from off on (NUL-terminated, at most len-1). */
static size_t read_from(const char *path, long off, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	buf[0] = 0;
	if (!f)
		return 0;
	if (fseek(f, off, SEEK_SET) == 0)
		n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return n;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (long)st.st_size;
}

/* Wait until a file holds a line with what (bounded). */
static bool wait_for(const char *path, const char *what, int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;
	static char buf[1 << 20];

	do {
		read_from(path, 0, buf, sizeof(buf));
		if (strstr(buf, what))
			return true;
		nmt_sleep_ms(50);
	} while (nmt_now_ms() < end);
	return false;
}

static void cleanup_files(void)
{
	if (tmp[0])
		nmt_run_quiet("rm -rf %s", tmp);
}

/* ---- the world's processes ----------------------------------------------------- */
/* Start argv (split from cmd) in the world netns, in cgroup rel (NULL:
 * none), output into out; wait for ready_line in it. */
static pid_t start_world(const char *rel, const char *out, const char *ready_line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static pid_t start_world(const char *rel, const char *out, const char *ready_line, const char *fmt, ...)
{
	char cmd[8192], cg[PATH_MAX];
	char *argv[64];
	struct nmt_exec a = { argv, -1 };
	va_list ap;
	int fd, n;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (nmt_verbose)
		fprintf(stderr, "+ [world %s] %s\n", rel ? rel : "-", cmd);
	n = nmt_split(cmd, argv, 63);
	if (n < 0)
		return n;
	argv[n] = NULL;
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	a.out = fd;
	if (rel)
		nmt_cg_path(rel, cg, sizeof(cg));
	pid = nmt_spawn(rel ? cg : NULL, nmt_h.topo.wns, nmt_exec_child, &a);
	close(fd);
	if (pid < 0)
		return pid;
	if (ready_line && !wait_for(out, ready_line, 10000))
		return -ETIMEDOUT;
	return pid;
}

static void stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	nmt_wait(*pid, 3000);
	nmt_child_untrack(*pid);
	*pid = 0;
}

static int start_dns(void)
{
	/* a fresh "ready" must be the one waited for */
	truncate(derr, 0);
	dns_pid = start_world("dns", derr, "nomoat-dns: ready",
			      "%s --listen " EP4 ":53 --listen [" EP6 "]:53 --config %s --pin-dir %s --log %s "
			      "--names-dir %s --user nobody --rate 100 --max-inflight-per-client 8 --upstream-timeout 1.5 "
			      "--tcp-idle 2",
			      dns_bin, conf, nmt_h.pin_dir, dlog, names);
	return dns_pid > 0 ? 0 : dns_pid;
}

static int start_proxy(void)
{
	truncate(perr, 0);
	proxy_pid = start_world("proxy", perr, "nomoat-proxy: ready",
				"%s --listen " EP4 ":3128 --listen [" EP6 "]:3128 --config %s --pin-dir %s --hosts %s "
				"--no-dns --names-dir %s --log %s --user nobody --handshake-timeout 3",
				proxy_bin, conf, nmt_h.pin_dir, hosts, names, plog);
	return proxy_pid > 0 ? 0 : proxy_pid;
}

/* ---- the fixture ------------------------------------------------------------------ */
static const char policy_file[] =
	"# tests/dns: the resolver's and the proxy's view (the kernel's is made with the CLI)\n"
	"dns-upstream " UPSTREAM "\n"
	"policy agents {\n"
	"    include deny-defaults\n"
	"    default redirect\n"
	"    proxy4 " EP4 ":3128\n"
	"    proxy6 [" EP6 "]:3128\n"
	"    dns4 " EP4 ":53\n"
	"    dns6 [" EP6 "]:53\n"
	"    hostname allowed.test\n"
	"    hostname *.wild.test\n"
	"    hostname *.any.test\n"
	"    hostname rebind.test\n"
	"    hostname rebind6.test\n"
	"    hostname priv.test\n"
	"    hostname ttl.test\n"
	"    hostname many.test\n"
	"    hostname cname.test\n"
	"    hostname v6only.test\n"
	"    hostname gone.test:443\n"
	"}\n"
	"policy p-syn {\n"
	"    include deny-defaults\n"
	"    proxy4 " EP4 ":3128\n"
	"    dns4 " EP4 ":53\n"
	"    names synthetic\n"
	"    hostname ssh.test:22\n"
	"    hostname allowed.test:80\n"
	"}\n"
	"policy p-syn2 {\n"
	"    include deny-defaults\n"
	"    proxy4 " EP4 ":3128\n"
	"    dns4 " EP4 ":53\n"
	"    names synthetic\n"
	"    hostname ssh.test:22\n"
	"}\n"
	"policy p-fence {\n"
	"    default allow\n"
	"    include deny-defaults\n"
	"}\n";

static const char hosts_file[] = "11.22.33.44 allowed.test ssh.test\n";

#define KPOL "--with-defaults --default redirect --proxy4 " EP4 ":3128 --dns4 " EP4 ":53"


static bool fixture(char *why, size_t len)
{
	static const char *const cgs[] = { "agents", "agents/a", "agents/b", "agents/syn", "agents/syn2", "dns",
					   "proxy", "outside", "notattached", NULL };
	char p[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "/tmp/nomoat-dtest-%d", (int)nmt_h.main_pid);
	if (mkdir(tmp, 0755)) {
		nmt_why_set(why, len, "mkdir %s: %s", tmp, strerror(errno));
		return false;
	}
	chmod(tmp, 0755);
	nmt_h.cleanup_last = cleanup_files;
#define F(v, name) snprintf(v, sizeof(v), "%s/" name, tmp)
	F(conf, "nomoat.conf");
	F(ulog, "upstream.log");
	F(dlog, "dns.log");
	F(derr, "dns.err");
	F(plog, "proxy.log");
	F(perr, "proxy.err");
	F(names, "names");
	F(hosts, "hosts");
	F(resolv, "resolv.conf");
	F(cert, "cert.pem");
	F(key, "key.pem");
#undef F
	/* glibc in the sandbox asks a resolver of its own choosing: the kernel
	 * sends it to the policy's endpoint anyway */
	if (!write_file(conf, policy_file) || !write_file(hosts, hosts_file) ||
	    !write_file(resolv, "nameserver 8.8.8.8\noptions timeout:2 attempts:1\n")) {
		nmt_why_set(why, len, "cannot write into %s", tmp);
		return false;
	}
	if (nmt_run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
		    "-subj /CN=allowed.test -keyout %s -out %s",
		    key, cert)) {
		nmt_why_set(why, len, "openssl could not make the test certificate");
		return false;
	}
	if (!nmt_base_up("nomoat-dtest", why, len))
		return false;
	for (int i = 0; cgs[i]; i++) {
		nmt_cg_path(cgs[i], p, sizeof(p));
		if (nm_cgroup_create(p)) {
			nmt_why_set(why, len, "mkdir cgroup %s", p);
			return false;
		}
	}
	if (nmt_topo_up(&nmt_h.topo) || nmt_run("ip -n %s addr add " UPSTREAM "/32 dev lo", nmt_h.topo.wns)) {
		nmt_why_set(why, len, "the test network could not be built");
		return false;
	}
	{
		char uout[300];

		snprintf(uout, sizeof(uout), "%s/upstream.out", tmp);
		up_pid = start_world(NULL, uout, "ready", "python3 -u %s/upstream.py " UPSTREAM " %s", here, ulog);
	}
	if (up_pid <= 0) {
		nmt_why_set(why, len, "the test upstream did not start");
		return false;
	}
	{
		char out[300];

		snprintf(out, sizeof(out), "%s/world.out", tmp);
		if (start_world(NULL, out, "ready", "python3 -u %s/../proxy/world.py %s %s", here, cert, key) <= 0 ||
		    start_world(NULL, out, "ready", "python3 -u %s/banner.py 11.22.33.44 22 2222", here) <= 0) {
			nmt_why_set(why, len, "the world's servers did not start (%s)", out);
			return false;
		}
	}
	if (nmt_topo_warmup(&nmt_h.topo, 80, 8000)) {
		nmt_why_set(why, len, "the test network does not carry TCP within 8 s");
		return false;
	}
	nmt_h.loaded = true;
	if (!nmt_cli_ok(why, len, "load") ||
	    !nmt_cli_ok(why, len, "policy create agents " KPOL " --proxy6 [" EP6 "]:3128 --dns6 [" EP6 "]:53") ||
	    !nmt_cli_ok(why, len, "policy create p-syn " KPOL) || !nmt_cli_ok(why, len, "policy create p-syn2 " KPOL) ||
	    !nmt_cli_ok(why, len, "redirect add 198.19.0.0/16 --policy p-syn") ||
	    !nmt_cli_ok(why, len, "redirect add 198.19.0.0/16 --policy p-syn2") ||
	    !nmt_cli_ok(why, len, "policy create p-fence --with-defaults --default allow") ||
	    !nmt_cli_ok(why, len, "cgroup attach %s/agents", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup attach %s/proxy", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup attach %s/dns --origdst-only", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/agents --policy agents", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/agents/syn --policy p-syn", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/agents/syn2 --policy p-syn2", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/proxy --policy p-fence", nmt_h.base))
		return false;
	if (start_dns() || start_proxy()) {
		char err[2048];

		read_from(dns_pid > 0 ? perr : derr, 0, err, sizeof(err));
		nmt_why_set(why, len, "nomoat-dns or nomoat-proxy did not start: %s", nmt_oneline(err));
		return false;
	}
	return true;
}

/* ---- cases -------------------------------------------------------------------------- */
static char out[65536], upnew[1 << 16];

/* Run a command in a sandbox (rel) with the test resolv.conf; output in out. */
static int sandbox(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sandbox(const char *rel, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return nmt_sh(rel, out, sizeof(out), 15000, "unshare -m sh -c 'mount --bind %s /etc/resolv.conf && %s'",
		      resolv, cmd);
}

/* What reached the upstream since mark (the log's size then). */
static const char *upstream_since(long mark)
{
	nmt_sleep_ms(100); /* the upstream logs before it answers; a little slack */
	read_from(ulog, mark, upnew, sizeof(upnew));
	return upnew;
}

#define DIG "dig +time=3 +tries=1 "
#define CLIENT "python3 %s/client.py "

/* A command's output holds want; and what the upstream saw meanwhile holds
 * up_has (NULL: anything) and never up_not (NULL: no check). */
static void case_q(const char *desc, const char *rel, const char *want, const char *up_has, const char *up_not,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void case_q(const char *desc, const char *rel, const char *want, const char *up_has, const char *up_not,
		   const char *fmt, ...)
{
	char cmd[4096];
	long mark = file_size(ulog);
	const char *up;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = sandbox(rel, "%s", cmd);
	up = upstream_since(mark);
	nmt_verdict(strstr(out, want) && (!up_has || strstr(up, up_has)) && (!up_not || !strstr(up, up_not)), desc,
		    "exit %d, want '%s' in: %s | upstream saw: %s", rc, want, nmt_oneline(out),
		    nmt_oneline_buf(up, cmd, 300));
}

/* The latest dns.log line holding every needle. */
static bool dlog_find(char *line, size_t len, const char *n1, const char *n2)
{
	static char buf[1 << 20];
	char *p, *best = NULL;

	for (int t = 0; t < 40 && !best; t++) {
		read_from(dlog, 0, buf, sizeof(buf));
		for (p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
			if (strstr(p, n1) && (!n2 || strstr(p, n2)))
				best = p;
		if (!best)
			nmt_sleep_ms(50);
	}
	if (best)
		snprintf(line, len, "%s", best);
	return best != NULL;
}

static void case_event(const char *desc, const char *n1, const char *n2, const struct nmt_want_field *w)
{
	char line[4096] = "", why[512] = "";
	bool ok = dlog_find(line, sizeof(line), n1, n2);

	if (ok)
		ok = nmt_check_fields(line, w, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "no line with %s in %s", n1, dlog);
	nmt_verdict(ok, desc, "%s (line: %s)", why, nmt_oneline(line));
}

/* Allowed names, asked by every kind of client, whatever server it names. */
static void cases_allowed(void)
{
	case_q("glibc: getent ahosts allowed.test (resolv.conf says 8.8.8.8) gets its addresses", "agents/a",
	       "11.22.33.44", "\"name\": \"allowed.test\", \"qtype\": 1", NULL, "getent ahosts allowed.test");
	case_q("dig @8.8.8.8 over UDP: the answer, from the address asked (the kernel restores the source)",
	       "agents/a", "SERVER: 8.8.8.8#53(8.8.8.8) (UDP)", NULL, NULL,
	       DIG "@8.8.8.8 allowed.test");
	case_q("dig +tcp @1.1.1.1: TCP to port 53 reaches the resolver too, and is answered", "agents/a",
	       "IN\tA\t11.22.33.44", NULL, NULL, DIG "+tcp @1.1.1.1 allowed.test");
	case_q("dig AAAA @[2001:4860:4860::8888] (IPv6): the AAAA answer", "agents/a", "2a00:1:2:3::44",
	       NULL, NULL, DIG "AAAA @2001:4860:4860::8888 allowed.test");
	case_q("dig @" EP4 " (the endpoint asked directly, as Docker's --dns would): answered", "agents/b",
	       "11.22.33.45", NULL, NULL, DIG "@" EP4 " a.wild.test");
	case_q("dig +tcp @" EP4 " (the endpoint over TCP, asked directly): answered", "agents/b", "11.22.33.45",
	       NULL, NULL, DIG "+tcp @" EP4 " a.wild.test");
	case_q("Python socket.getaddrinfo (glibc) by name", "agents/a", "11.22.33.44", NULL, NULL,
	       CLIENT "gai allowed.test", here);
	case_q("a CNAME chain is answered flattened: the name's own A records only", "agents/a",
	       "rcode=0 tc=0 ancount=1 ttl=30 addrs=11.22.33.44", NULL, NULL, CLIENT "query 8.8.8.8 cname.test A",
	       here);
	case_q("curl http://allowed.test/ by name, no proxy settings: resolved, redirected, relayed by nomoat-proxy",
	       "agents/a", "host=allowed.test path=/", NULL, NULL,
	       "curl -sS --max-time 5 --noproxy \"*\" http://allowed.test/");
	case_q("the TTL is capped: 3600 upstream, at most 60 in the answer", "agents/a", "ttl=60 ", NULL, NULL,
	       CLIENT "query 8.8.8.8 ttl.test A", here);
	case_q("40 addresses without EDNS: as many as fit 512 bytes, never the TC bit", "agents/a", "tc=0 ancount=30",
	       NULL, NULL, CLIENT "query 8.8.8.8 many.test A", here);
	case_q("a name with a port-only pattern (gone.test:443) is still resolvable (upstream NXDOMAIN: NXDOMAIN)",
	       "agents/a", "rcode=3", "gone.test", NULL, CLIENT "query 8.8.8.8 gone.test A", here);
	{
		/* the same question again: the policy's cache, no second upstream query */
		sandbox("agents/a", CLIENT "query 8.8.8.8 q9999.any.test A", here);
		case_q("cache: the same question again is answered without asking upstream", "agents/b",
		       "addrs=11.22.33.44", NULL, "q9999.any.test", CLIENT "query 8.8.8.8 q9999.any.test A", here);
	}
}

/* What must never reach the upstream. */
static void cases_never_upstream(void)
{
	static const char b32[] = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpmztwq2lknnwg23tpobyx."
				  "e43uov3ho6dzpmztwq2lknnwg23tpobyxe43uov3ho6dzpmztwq2lknnwg23tp.evil.example";

	case_q("an unlisted name: NXDOMAIN at once, not asked upstream", "agents/a", "status: NXDOMAIN", NULL,
	       "evil.example", DIG "@8.8.8.8 evil.example");
	case_q("a tunnelling query (a long base32 label under an unlisted name): NXDOMAIN, not upstream", "agents/a",
	       "status: NXDOMAIN", NULL, "mfrggzdf", DIG "@8.8.8.8 TXT %s", b32);
	case_q("the same over TCP: NXDOMAIN, not upstream", "agents/a", "status: NXDOMAIN", NULL, "mfrggzdf",
	       DIG "+tcp @8.8.8.8 %s", b32);
	case_q("TXT of an allowed name: an empty answer (NOERROR), not asked upstream", "agents/a",
	       "status: NOERROR", NULL, "\"qtype\": 16", DIG "@8.8.8.8 TXT allowed.test");
	case_q("NULL of an allowed name: empty, not upstream", "agents/a", "status: NOERROR", NULL, "\"qtype\": 10",
	       DIG "@8.8.8.8 NULL allowed.test");
	case_q("ANY of an allowed name: empty, not upstream", "agents/a", "ANSWER: 0", NULL, "\"qtype\": 255",
	       DIG "@8.8.8.8 ANY allowed.test");
	case_q("HTTPS of an allowed name (would turn ECH on): empty NOERROR, not upstream", "agents/a",
	       "status: NOERROR", NULL, "\"qtype\": 65", DIG "@8.8.8.8 TYPE65 allowed.test");
	case_q("a query sent to another resolver address (9.9.9.9) ends at the endpoint: NXDOMAIN", "agents/a",
	       "SERVER: 9.9.9.9#53", NULL, "evil2.example", DIG "@9.9.9.9 evil2.example");
	case_q("a mixed-case name (0x20): answered, and the upstream sees it in lower case only", "agents/a",
	       "11.22.33.44", "\"name\": \"mixed.any.test\"", "MiXeD", DIG "@8.8.8.8 MiXeD.AnY.TeSt");
	case_q("client EDNS options (subnet, cookie, padding) never travel on: the upstream sees no EDNS", "agents/a",
	       "11.22.33.44", "\"name\": \"edns.any.test\", \"qtype\": 1, \"qclass\": 1, \"edns\": false",
	       "\"edns\": true", DIG "@8.8.8.8 +subnet=10.250.0.0/24 +cookie +padding=64 edns.any.test");
	case_q("a name with a dot inside a label (\\.): NXDOMAIN, not upstream", "agents/a", "status: NXDOMAIN", NULL,
	       "test.wild.test", DIG "@8.8.8.8 \"allowed\\\\.test.wild.test\"");
	case_q("an IP literal as a name (1.2.3.4): NXDOMAIN, not upstream", "agents/a", "status: NXDOMAIN", NULL,
	       "1.2.3.4", DIG "@8.8.8.8 1.2.3.4");
	{
		/* every line the upstream ever logged: only A and AAAA, only
		 * names on an allowlist, all lower case, no EDNS */
		static char all[1 << 20];
		const char *bad = NULL;
		char *p;

		read_from(ulog, 0, all, sizeof(all));
		for (p = strtok(all, "\n"); p && !bad; p = strtok(NULL, "\n"))
			if ((!strstr(p, "\"qtype\": 1,") && !strstr(p, "\"qtype\": 28,")) || strstr(p, "\"edns\": true") ||
			    strstr(p, "evil") || strpbrk(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
				bad = p;
		nmt_verdict(!bad, "upstream: every query it ever got was A or AAAA of a listed name, lower case, no EDNS",
			    "%s", bad ? bad : "");
	}
}

/* Refused answers, failures, malformed input, load. */
static void cases_refusals(void)
{
	struct nmt_want_field w_nx[] = { { "type", "dns" },     { "policy", "agents" },     { "qtype", "A" },
					 { "rcode", "NXDOMAIN" }, { "reason", "not-allowed" }, { "server", "8.8.8.8:53" },
					 { "transport", "udp" }, { "cgroup_id", NULL },        { "pid", NULL },
					 { NULL, NULL } };
	struct nmt_want_field w_rb[] = { { "reason", "rebinding" }, { "rcode", "REFUSED" }, { NULL, NULL } };
	long long t0;

	case_event("event: the unlisted name's refusal is a JSON line with policy, cgroup, pid, name, type, reason",
		   "\"name\":\"evil.example\"", NULL, w_nx);
	case_q("rebinding: an allowed name answered with the metadata address is refused whole", "agents/a",
	       "status: REFUSED", "rebind.test", NULL, DIG "@8.8.8.8 rebind.test");
	case_event("event: the rebinding refusal names the address and the rule", "\"name\":\"rebind.test\"",
		   "169.254.169.254 is denied by rule 169.254.0.0/16", w_rb);
	case_q("rebinding: an IPv4-mapped private address in an AAAA answer is refused (judged as IPv4)", "agents/a",
	       "status: REFUSED", NULL, NULL, DIG "@8.8.8.8 AAAA rebind6.test");
	case_q("rebinding: one private address among good ones spoils the answer", "agents/a", "status: REFUSED",
	       NULL, NULL, DIG "@8.8.8.8 priv.test");
	case_q("malformed: a query with two questions gets FORMERR", "agents/a", "rcode=1", NULL, NULL,
	       CLIENT "raw 8.8.8.8 123401000002000000000000016100000100010162000001000001", here);
	case_q("malformed: a response sent to the resolver is never answered", "agents/a", "none", NULL, NULL,
	       CLIENT "raw 8.8.8.8 12348180000100000000000001610000010001", here);
	case_q("malformed: a compression pointer in the question gets FORMERR", "agents/a", "rcode=1", NULL, NULL,
	       CLIENT "raw 8.8.8.8 1234010000010000000000000c0c00010001", here);
	case_q("malformed: after all that, the resolver still answers", "agents/a", "addrs=11.22.33.44", NULL, NULL,
	       CLIENT "query 8.8.8.8 allowed.test A", here);
	/* encrypted DNS is a TCP connection like any other: the proxy judges its name */
	case_q("DoT (TCP 853) and DoH to a name not on the list are refused by the proxy", "agents/a", "curl: (35)",
	       NULL, NULL,
	       "curl -sS --max-time 5 --noproxy \"*\" --resolve dns.evil.example:853:11.22.33.44 "
	       "https://dns.evil.example:853/dns-query; "
	       "curl -sS --max-time 5 --noproxy \"*\" --resolve dns.evil.example:443:11.22.33.44 "
	       "https://dns.evil.example/dns-query");
	{
		static char buf[1 << 18];
		bool ok = false;

		for (int t = 0; t < 40 && !ok; t++) {
			read_from(plog, 0, buf, sizeof(buf));
			ok = strstr(buf, "\"name\":\"dns.evil.example\",\"port\":853,\"verdict\":\"deny\",\"reason\":\"not-allowed\"") &&
			     strstr(buf, "\"name\":\"dns.evil.example\",\"port\":443,\"verdict\":\"deny\",\"reason\":\"not-allowed\"");
			if (!ok)
				nmt_sleep_ms(50);
		}
		nmt_verdict(ok, "DoT and DoH: the proxy's log has both refusals by name (not-allowed, ports 853 and 443)",
			    "not in %s", plog);
	}
	/* a sender the kernel has no record of: from outside every attach point */
	case_q("no kernel record (a process outside every attach point asks the endpoint): REFUSED", "outside",
	       "rcode=5", NULL, "q0001.wild.test", CLIENT "query " EP4 " q0001.wild.test A", here);
	/* load: one sandbox floods; another is still served */
	case_q("rate: a sandbox sending 400 queries at once gets REFUSED past its rate (100/s, bursts of 200)",
	       "agents/b", "refused=", NULL, NULL, CLIENT "flood 8.8.8.8 400 allowed.test", here);
	{
		unsigned sent = 0, refused = 0, noerror = ~0u;
		const char *p = strstr(out, "refused="), *q = strstr(out, "noerror=");

		sscanf(out, "sent=%u", &sent);
		if (p)
			sscanf(p, "refused=%u", &refused);
		if (q)
			sscanf(q, "noerror=%u", &noerror);
		nmt_verdict(sent == 400 && refused >= 50 && noerror <= 260,
			    "rate: no more answered than the burst and a second's refill, the rest REFUSED",
			    "sent %u refused %u answered %u (%s)", sent, refused, noerror, nmt_oneline(out));
	}
	case_event("event: a rate refusal is logged (reason rate)", "\"reason\":\"rate\"", NULL,
		   (struct nmt_want_field[]){ { "rcode", "REFUSED" }, { "policy", "agents" }, { NULL, NULL } });
	case_q("rate: another sandbox is answered meanwhile", "agents/a", "addrs=11.22.33.44", NULL, NULL,
	       CLIENT "query 8.8.8.8 allowed.test A", here);
	/* upstream down: SERVFAIL within the bound, and queries in flight bounded */
	kill(up_pid, SIGSTOP);
	t0 = nmt_now_ms();
	case_q("upstream down: SERVFAIL", "agents/a", "status: SERVFAIL", NULL, NULL, DIG "@8.8.8.8 q0002.any.test");
	nmt_verdict(nmt_now_ms() - t0 < 3500, "upstream down: SERVFAIL within the timeout (1.5 s, with slack)",
		    "took %lld ms", nmt_now_ms() - t0);
	case_q("in flight: 20 new names at once from one sandbox: 8 wait (SERVFAIL later), 12 REFUSED (busy)",
	       "agents/b", "refused=12 servfail=8", NULL, NULL, CLIENT "distinct 8.8.8.8 20 flight.any.test", here);
	kill(up_pid, SIGCONT);
	case_q("upstream back: answered again", "agents/a", "addrs=11.22.33.44", NULL, NULL,
	       CLIENT "query 8.8.8.8 q0003.any.test A", here);
}

/* names synthetic: any TCP protocol by name. */
static void cases_synthetic(void)
{
	char addr[64] = "", addr2[64] = "";

	case_q("synthetic: ssh.test resolves to an address of the policy's synthetic range", "agents/syn",
	       "198.19.", "ssh.test", NULL, CLIENT "query 8.8.8.8 ssh.test A", here);
	if (sscanf(strstr(out, "addrs=") ? strstr(out, "addrs=") : "", "addrs=%63[0-9.]", addr) != 1)
		addr[0] = 0;
	case_q("synthetic: a plain TCP service on port 22 by name (hostname ssh.test:22): reached through the proxy",
	       "agents/syn", "SSH-2.0-nomoat-test 22", NULL, NULL, CLIENT "connect ssh.test 22", here);
	case_q("synthetic: the same name on another port (2222) is refused by the proxy", "agents/syn",
	       "got=b''", NULL, NULL, CLIENT "connect ssh.test 2222", here);
	{
		struct nmt_want_field w[] = { { "proto", "synthetic" }, { "name", "ssh.test" }, { "port", "22" },
					      { "verdict", "allow" },   { "rule", "ssh.test:22" }, { NULL, NULL } };
		char line[4096] = "", why[256] = "";
		bool ok = false;

		for (int t = 0; t < 40 && !ok; t++) {
			static char buf[1 << 18];
			char *p;

			read_from(plog, 0, buf, sizeof(buf));
			for (p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
				if (strstr(p, "\"proto\":\"synthetic\"") && strstr(p, "\"port\":22,"))
					snprintf(line, sizeof(line), "%s", p);
			ok = line[0] && nmt_check_fields(line, w, why, sizeof(why));
			if (!ok)
				nmt_sleep_ms(50);
		}
		nmt_verdict(ok, "synthetic: the proxy's log names the name behind the address and the rule", "%s: %s",
			    why, nmt_oneline(line));
	}
	case_q("synthetic: an HTTP client by name on port 80 (hostname allowed.test:80)", "agents/syn",
	       "HELLO 11.22.33.44:80", NULL, NULL, "curl -sS --max-time 5 --noproxy \"*\" http://allowed.test/");
	case_q("synthetic: a mapping made in p-syn means nothing in p-syn2 (its own table)", "agents/syn2",
	       "got=b''", NULL, NULL, CLIENT "connect %s 22", here, addr[0] ? addr : "198.19.0.1");
	/* restarts: the mapping survives both; a client that cached the
	 * answer still reaches the same name */
	stop(&dns_pid);
	stop(&proxy_pid);
	if (start_dns() || start_proxy()) {
		nmt_verdict(false, "synthetic: nomoat-dns and nomoat-proxy start again", "see %s and %s", derr, perr);
		return;
	}
	case_q("synthetic: after restarting both, the cached address still reaches ssh.test", "agents/syn",
	       "SSH-2.0-nomoat-test 22", NULL, NULL, "python3 %s/client.py connect %s 22", here, addr);
	case_q("synthetic: and the name gets the same address again", "agents/syn", addr[0] ? addr : "(none)", NULL,
	       NULL, CLIENT "query 8.8.8.8 ssh.test A", here);
	if (sscanf(strstr(out, "addrs=") ? strstr(out, "addrs=") : "", "addrs=%63[0-9.]", addr2) != 1)
		addr2[0] = 0;
	nmt_verdict(addr[0] && !strcmp(addr, addr2), "synthetic: the same address before and after the restarts",
		    "%s, then %s", addr, addr2);
	case_q("synthetic: an unused synthetic address is refused by the proxy", "agents/syn", "got=b''", NULL, NULL,
	       CLIENT "connect 198.19.0.200 22", here);
}

/* The start-up check: outside an origdst-only attach point it refuses. */
static void case_selftest(void)
{
	char out2[4096], e[300];
	pid_t pid;
	int st;

	snprintf(e, sizeof(e), "%s/selftest.err", tmp);
	pid = start_world("notattached", e, NULL,
			  "%s --listen " EP4 ":5399 --config %s --pin-dir %s --log /dev/null --names-dir %s/n2", dns_bin,
			  conf, nmt_h.pin_dir, tmp);
	st = pid > 0 ? nmt_wait(pid, 5000) : -1;
	nmt_child_untrack(pid);
	read_from(e, 0, out2, sizeof(out2));
	nmt_verdict(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(out2, "origdst-only attach point") &&
			    strstr(out2, "--cgroup"),
		    "start-up: nomoat-dns outside an origdst-only attach point refuses to run, saying how to fix it",
		    "status %d: %s", st, nmt_oneline(out2));
}

/* The fence: nobody, no capability. */
static void case_fence(void)
{
	char path[64], buf[4096] = "";
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)dns_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		nmt_read_all(fd, buf, sizeof(buf), 200);
		close(fd);
	}
	nmt_verdict(strstr(buf, "CapEff:\t0000000000000000") && strstr(buf, "CapBnd:\t0000000000000000") &&
			    strstr(buf, "NoNewPrivs:\t1") && !strstr(buf, "Uid:\t0\t"),
		    "fence: nomoat-dns runs unprivileged (no capability, no_new_privs, not root)", "%s",
		    nmt_oneline(buf));
}

/* The kernel's side, seen through the CLI. */
static void case_kernel(void)
{
	int rc = nmt_cli("check 8.8.8.8 53 --policy agents --proto tcp");

	nmt_verdict(rc == 0 && strstr(nmt_cli_out, "redirect") && strstr(nmt_cli_out, EP4 ":53"),
		    "kernel: `nomoat check 8.8.8.8 53 --proto tcp` says redirect to the DNS endpoint", "%s",
		    nmt_oneline(nmt_cli_out));
	nmt_verdict(nmt_cli_gstat("dns_queries_noted") > 0 && nmt_cli_gstat("dns_queries_noted") != ~0ull,
		    "kernel: the backstop recorded the UDP queries' senders (dns_queries_noted)", "%llu",
		    nmt_cli_gstat("dns_queries_noted"));
}

int main(int argc, char **argv)
{
	static char cli[PATH_MAX] = "build/nomoat";
	char *const bins[] = { cli, dns_bin, proxy_bin };
	char why[1024] = "";

	nmt_harness_init();
	if (nmt_args(argc, argv, "[NOMOAT [NOMOAT-DNS [NOMOAT-PROXY]]]", bins, 3))
		return 2;
	/* the scripts beside this test's source */
	if (!realpath("tests/dns", here) || access(here, R_OK))
		here[0] = 0;
	if (!nmt_harness_start("dns-integration", "nomoat-dtest"))
		return 1;
	if (!here[0] || access(dns_bin, X_OK) || access(proxy_bin, X_OK) || access(nmt_h.cli, X_OK)) {
		nmt_verdict(false, "fixture: the binaries and tests/dns (run from the source tree)", "%s %s %s", nmt_h.cli,
			    dns_bin, proxy_bin);
		return nmt_finish();
	}
	if (!fixture(why, sizeof(why))) {
		nmt_verdict(false, "fixture: network, upstream, policies, nomoat-dns and nomoat-proxy", "%s", why);
		return nmt_finish();
	}
	nmt_verdict(true, "fixture: network, upstream, policies, nomoat-dns and nomoat-proxy fenced and started", "%s",
		    "");
	case_fence();
	case_selftest();
	cases_allowed();
	cases_never_upstream();
	cases_refusals();
	cases_synthetic();
	case_kernel();
	stop(&dns_pid);
	stop(&proxy_pid);
	return nmt_finish();
}
