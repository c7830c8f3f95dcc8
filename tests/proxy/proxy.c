// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * proxy-integration - nomoat-proxy end to end, behind the kernel redirect:
 * real clients (curl, Python's urllib, raw sockets that ignore every proxy
 * setting) in a sandbox cgroup of the test network's client namespace;
 * nomoat-proxy in the world namespace, in its own cgroup bound to a
 * deny-only policy and dropped to user nobody; the test internet (HTTP and
 * HTTPS servers at 11.22.33.44, 11.22.33.45, [2a00:1:2:3::44] and, to prove
 * a refusal against a server that would have answered, at the metadata
 * address) from tests/proxy/world.py with a certificate made by openssl at
 * start.  Names resolve from a hosts file given to the proxy (--hosts,
 * --no-dns): nothing asks a real DNS server.
 *
 *   proxy-integration [-v] [NOMOAT [NOMOAT-PROXY]]
 *       (default build/nomoat build/nomoat-proxy)
 *
 * Everything is named after the pid (namespaces nmt<pid>-c/-w, cgroups
 * <cgroup2>/nomoat-ptest-<pid>/, pins /sys/fs/bpf/nomoat-ptest-<pid>, files
 * in /tmp/nomoat-ptest-<pid>/) and removed at exit, on a signal and on
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "harness.h"
#include "run.h"
#include "squid.h"
#include "topo.h"

static char proxy_bin[PATH_MAX] = "build/nomoat-proxy";
static char tmp[256], cert[300], key[300], hosts[300], conf[300], alog[300], plog[300], world_py[PATH_MAX];
static pid_t world_pid, proxy_pid;

#define PROXY_PORT 3128

/* A raw client that ignores every proxy setting: connect, send, maybe
 * shut the write side, read until EOF or wait_ms. */
struct raw {
	const char *addr;
	int port;
	bool mapped;
	const char *data;
	size_t len;
	bool shut_wr;
	int wait_ms;
	/* results */
	int err;            /* errno of connect/send */
	char reply[4096];
	size_t got;
	bool eof;           /* the other side closed (EOF or reset) */
	long long elapsed;  /* ms from connect to EOF */
};

static int raw_child(void *p)
{
	struct raw *r = p;
	struct sockaddr_storage ss;
	int sl = nmt_sa_make(&ss, r->addr, r->port, r->mapped), fd, out = r->err;
	long long t0;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	r->err = 0;
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, (socklen_t)sl)) {
		r->err = errno;
		goto done;
	}
	t0 = nmt_now_ms();
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (r->len && send(fd, r->data, r->len, MSG_NOSIGNAL) != (ssize_t)r->len) {
		r->err = errno;
		goto done;
	}
	if (r->shut_wr)
		shutdown(fd, SHUT_WR);
	while (nmt_now_ms() - t0 < r->wait_ms) {
		ssize_t n = recv(fd, r->reply + r->got, sizeof(r->reply) - 1 - r->got, 0);

		if (n > 0) {
			r->got += (size_t)n;
			if (r->got == sizeof(r->reply) - 1)
				break;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			r->eof = true;
			break;
		}
	}
	r->elapsed = nmt_now_ms() - t0;
done:
	r->reply[r->got] = 0;
	if (write(out, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		return 1;
	return 0;
}

static bool raw_run(const char *rel, struct raw *r)
{
	char cg[PATH_MAX];
	int fds[2], st;
	pid_t pid;
	bool ok;

	if (pipe2(fds, O_CLOEXEC))
		return false;
	r->err = fds[1]; /* the child's result pipe (raw_child resets it) */
	nmt_cg_path(rel, cg, sizeof(cg));
	pid = nmt_spawn(cg, nmt_h.topo.cns, raw_child, r);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return false;
	}
	{
		static char buf[sizeof(*r) + 1]; /* nmt_read_all NUL-terminates */

		ok = nmt_read_all(fds[0], buf, sizeof(buf), r->wait_ms + 3000) == sizeof(*r);
		if (ok)
			memcpy(r, buf, sizeof(*r));
	}
	close(fds[0]);
	st = nmt_wait(pid, 2000);
	nmt_child_untrack(pid);
	return ok && st == 0;
}

/* ---- the access log -------------------------------------------------------- */
/* The last access-log line holding every needle (NULL-terminated list),
 * waiting up to timeout_ms for it. */
static bool log_find(char *line, size_t len, int timeout_ms, const char *n1, const char *n2, const char *n3)
{
	long long end = nmt_now_ms() + timeout_ms;

	do {
		FILE *f = fopen(alog, "re");
		char buf[4096];
		bool found = false;

		if (f) {
			while (fgets(buf, sizeof(buf), f)) {
				if ((n1 && !strstr(buf, n1)) || (n2 && !strstr(buf, n2)) || (n3 && !strstr(buf, n3)))
					continue;
				snprintf(line, len, "%s", buf);
				found = true;
			}
			fclose(f);
		}
		if (found)
			return true;
		nmt_sleep_ms(50);
	} while (nmt_now_ms() < end);
	return false;
}

/* ---- fixture ---------------------------------------------------------------- */

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* Wait until a file holds a line starting with what (bounded). */
static bool wait_line(const char *path, const char *what, int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;

	do {
		FILE *f = fopen(path, "re");
		char buf[1024];

		if (f) {
			while (fgets(buf, sizeof(buf), f)) {
				if (!strncmp(buf, what, strlen(what))) {
					fclose(f);
					return true;
				}
			}
			fclose(f);
		}
		nmt_sleep_ms(50);
	} while (nmt_now_ms() < end);
	return false;
}

static void cleanup_files(void)
{
	if (*tmp)
		nmt_rmtree(tmp);
}

static bool find_world_py(void)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (!access("tests/proxy/world.py", R_OK))
		return realpath("tests/proxy/world.py", world_py) != NULL;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	/* <root>/build/tests/proxy-integration */
	for (int i = 0; i < 3; i++) {
		char *s = strrchr(exe, '/');

		if (!s)
			return false;
		*s = 0;
	}
	snprintf(world_py, sizeof(world_py), "%.4000s/tests/proxy/world.py", exe);
	return !access(world_py, R_OK);
}

static int start_world(void)
{
	char out[300];
	char *argv[] = { "python3", "-u", world_py, cert, key, NULL };
	struct nmt_exec a = { argv, -1 };
	int fd;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/world.out", tmp);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	a.out = fd;
	pid = nmt_spawn(NULL, nmt_h.topo.wns, nmt_exec_child, &a);
	close(fd);
	if (pid < 0)
		return pid;
	world_pid = pid;
	return wait_line(out, "ready", 10000) ? 0 : -ETIMEDOUT;
}

/* nomoat-proxy in the world netns with the fixture's files: on port, in
 * cgroup (relative to the test's base; NULL: none, it stays in ours, outside
 * every attach point), output to out.  The pid or -errno. */
static pid_t spawn_proxy(const char *cgroup, int port, const char *out, const char *extra)
{
	char cg[PATH_MAX] = "", cmd[16384];
	char *argv[64];
	struct nmt_exec a = { argv, -1 };
	int fd, n;
	pid_t pid;

	if (cgroup) {
		nmt_cg_path(cgroup, cg + 9, sizeof(cg) - 9);
		memcpy(cg, "--cgroup ", 9);
	}
	snprintf(cmd, sizeof(cmd),
		 "%s %s --listen 10.250.0.1:%d --listen [fd00:250::1]:%d --config %s --pin-dir %s "
		 "--hosts %s --no-dns --log %s --user nobody --default-policy agents --handshake-timeout 2 "
		 "--idle-timeout 2 --max-per-client 8 -v %s",
		 proxy_bin, cg, port, port, conf, nmt_h.pin_dir, hosts, alog, extra ? extra : "");
	n = nmt_split(cmd, argv, 63);
	if (n < 0)
		return n;
	argv[n] = NULL;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	a.out = fd;
	pid = nmt_spawn(NULL, nmt_h.topo.wns, nmt_exec_child, &a);
	close(fd);
	return pid;
}

static int start_proxy(const char *extra)
{
	pid_t pid = spawn_proxy("proxy", PROXY_PORT, plog, extra);

	if (pid < 0)
		return pid;
	proxy_pid = pid;
	return wait_line(plog, "nomoat-proxy: ready", 10000) ? 0 : -ETIMEDOUT;
}

static const char policy_file[] =
	"# the proxy's allowlists (tests/proxy)\n"
	"policy agents {\n"
	"    hostname allowed.test\n"
	"    hostname *.wild.test\n"
	"    hostname meta.test\n"
	"    hostname v6.test\n"
	"    hostname port.test:8443\n"
	"}\n"
	"policy p-iponly {\n"
	"    ip-only\n"
	"}\n"
	"policy p-fence {\n"
	"    default allow\n"
	"    include deny-defaults\n"
	"}\n";

static const char hosts_file[] =
	"11.22.33.44     allowed.test a.wild.test port.test\n"
	"11.22.33.45     other.test\n"
	"2a00:1:2:3::44  v6.test\n"
	"169.254.169.254 meta.test\n";

static bool fixture(char *why, size_t len)
{
	static const char *const cgs[] = { "agents", "agents/a", "agents/b", "agents/iponly", "proxy", "outside",
					   NULL };
	char p[PATH_MAX], cmd[1024];

	snprintf(tmp, sizeof(tmp), "/tmp/nomoat-ptest-%d", (int)nmt_h.main_pid);
	if (mkdir(tmp, 0755)) {
		nmt_why_set(why, len, "mkdir %s: %s", tmp, strerror(errno));
		return false;
	}
	nmt_h.cleanup_last = cleanup_files;
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmp);
	snprintf(key, sizeof(key), "%s/key.pem", tmp);
	snprintf(hosts, sizeof(hosts), "%s/hosts", tmp);
	snprintf(conf, sizeof(conf), "%s/nomoat.conf", tmp);
	snprintf(alog, sizeof(alog), "%s/access.log", tmp);
	snprintf(plog, sizeof(plog), "%s/proxy.err", tmp);
	/* the proxy runs as nobody: it reads nothing after the drop but the
	 * log it already has open; the directory must let it in anyway */
	chmod(tmp, 0755);
	if (!write_file(hosts, hosts_file) || !write_file(conf, policy_file)) {
		nmt_why_set(why, len, "cannot write into %s", tmp);
		return false;
	}
	if (!find_world_py()) {
		nmt_why_set(why, len, "tests/proxy/world.py not found (run from the source tree)");
		return false;
	}
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
		 "-subj /CN=allowed.test -keyout %s -out %s -addext "
		 "subjectAltName=DNS:allowed.test,DNS:v6.test,DNS:other.test,DNS:a.wild.test,DNS:evil.test,"
		 "DNS:port.test",
		 key, cert);
	if (nmt_run("%s", cmd)) {
		nmt_why_set(why, len, "openssl could not make the test certificate");
		return false;
	}
	if (!nmt_base_up("nomoat-ptest", why, len))
		return false;
	for (int i = 0; cgs[i]; i++) {
		nmt_cg_path(cgs[i], p, sizeof(p));
		if (nm_cgroup_create(p)) {
			nmt_why_set(why, len, "mkdir cgroup %s", p);
			return false;
		}
	}
	if (nmt_topo_up(&nmt_h.topo)) {
		nmt_why_set(why, len, "the test network could not be built");
		return false;
	}
	if (start_world()) {
		nmt_why_set(why, len, "the world servers (python3 %s) did not start", world_py);
		return false;
	}
	if (nmt_topo_warmup(&nmt_h.topo, 80, 8000)) {
		nmt_why_set(why, len, "the test network does not carry TCP within 8 s");
		return false;
	}
	nmt_h.loaded = true;
	if (!nmt_cli_ok(why, len, "load") ||
	    !nmt_cli_ok(why, len,
		    "policy create agents --with-defaults --default redirect --proxy4 10.250.0.1:%d "
		    "--proxy6 [fd00:250::1]:%d",
		    PROXY_PORT, PROXY_PORT) ||
	    !nmt_cli_ok(why, len,
		    "policy create p-iponly --with-defaults --default redirect --proxy4 10.250.0.1:%d "
		    "--proxy6 [fd00:250::1]:%d",
		    PROXY_PORT, PROXY_PORT) ||
	    !nmt_cli_ok(why, len, "policy create p-fence --with-defaults --default allow") ||
	    !nmt_cli_ok(why, len, "cgroup attach %s/agents", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup attach %s/proxy", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/agents/a --policy agents", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/agents/b --policy agents", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/agents/iponly --policy p-iponly", nmt_h.base) ||
	    !nmt_cli_ok(why, len, "cgroup bind %s/proxy --policy p-fence", nmt_h.base))
		return false;
	if (start_proxy(NULL)) {
		char err[2048] = "";
		int fd = open(plog, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			nmt_read_all(fd, err, sizeof(err), 100);
			close(fd);
		}
		nmt_why_set(why, len, "nomoat-proxy did not start: %s", nmt_oneline(err));
		return false;
	}
	return true;
}

/* ---- cases -------------------------------------------------------------------- */
#define CURL "curl -sS --max-time 5 --noproxy '*' --cacert "

static char out[65536];

/* A command's output must hold want (and exit 0 when ok0). */
static void case_sh(const char *desc, const char *rel, const char *want, bool ok0, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void case_sh(const char *desc, const char *rel, const char *want, bool ok0, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = nmt_sh(rel, out, sizeof(out), 10000, "%s", cmd);
	nmt_verdict((!ok0 || rc == 0) && strstr(out, want), desc, "exit %d, want '%s' in: %s", rc, want,
		    nmt_oneline(out));
}

/* The last log line holding n1/n2 must have every field of w. */
static void case_log(const char *desc, const char *n1, const char *n2, const struct nmt_want_field *w)
{
	char line[4096] = "", why[1024] = "";
	bool ok = log_find(line, sizeof(line), 3000, n1, n2, NULL);

	if (!ok)
		snprintf(why, sizeof(why), "no access-log line with %s %s", n1, n2 ? n2 : "");
	else
		ok = nmt_check_fields(line, w, why, sizeof(why));
	nmt_verdict(ok, desc, "%s", why);
}

static void cases_transparent(void)
{
	char cgid[32], want[128];
	struct nmt_want_field w_tls[] = {
		{ "type", "proxy" },         { "policy", "agents" },       { "cgroup_id", cgid },
		{ "orig_dst", "11.22.33.44:443" }, { "proto", "tls" },     { "name", "allowed.test" },
		{ "verdict", "allow" },      { "reason", "allowed" },      { "rule", "allowed.test" },
		{ "upstream", "11.22.33.44:443" }, { "bytes_up", NULL },  { "bytes_down", NULL },
		{ "duration_ms", NULL },     { "client", NULL },           { "pid", NULL },
		{ NULL, NULL },
	};

	snprintf(cgid, sizeof(cgid), "%llu", nmt_cg_id("agents/a"));
	case_sh("tls: an allowed name reaches the internet host through the redirect (curl)", "agents/a",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		CURL "%s --resolve allowed.test:443:11.22.33.44 https://allowed.test/", cert);
	case_log("log: the allowed TLS connection, with policy, cgroup, rule, upstream and bytes",
		 "\"name\":\"allowed.test\"", "\"orig_dst\":\"11.22.33.44:443\"", w_tls);
	case_sh("http: an allowed name reaches the internet host through the redirect (curl)", "agents/a",
		"HELLO 11.22.33.44:80 host=allowed.test path=/x?y=1", true,
		CURL "%s --resolve allowed.test:80:11.22.33.44 'http://allowed.test/x?y=1'", cert);
	case_sh("tls: Python's urllib, *.wild.test wildcard", "agents/a", "HELLO 11.22.33.44:443 host=a.wild.test",
		true,
		"python3 -c \"import socket,ssl,urllib.request as u;g=socket.getaddrinfo;"
		"socket.getaddrinfo=lambda h,*a,**k:g('11.22.33.44' if h=='a.wild.test' else h,*a,**k);"
		"print(u.urlopen('https://a.wild.test/',context=ssl.create_default_context(cafile='%s'),"
		"timeout=5).read().decode())\"",
		cert);
	case_sh("http: a name not in the allowlist gets 403 with X-Nomoat-Reason", "agents/a",
		"X-Nomoat-Reason: not-allowed", true,
		CURL "%s -i --resolve evil.test:80:11.22.33.44 http://evil.test/", cert);
	case_sh("http: the 403 body names the reason and the rule", "agents/a",
		"nomoat-proxy: denied: not-allowed: evil.test:80 is not in the allowlist (policy agents, rule none)",
		true, CURL "%s --resolve evil.test:80:11.22.33.44 http://evil.test/", cert);
	case_sh("tls: a name not in the allowlist is closed (curl fails)", "agents/a", "curl: (35)", false,
		CURL "%s --resolve evil.test:443:11.22.33.44 https://evil.test/", cert);
	{
		struct nmt_want_field w[] = { { "verdict", "deny" }, { "reason", "not-allowed" }, { "proto", "tls" },
					      { "policy", "agents" }, { NULL, NULL } };

		case_log("log: the denied TLS name", "\"name\":\"evil.test\"", "\"proto\":\"tls\"", w);
	}
	case_sh("tls: SNI of an allowed name sent to another address ends at the name's address", "agents/a",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		CURL "%s --resolve allowed.test:443:11.22.33.45 https://allowed.test/", cert);
	case_sh("http: a port-limited entry (port.test:8443) refuses port 80", "agents/a",
		"X-Nomoat-Reason: not-allowed", true,
		CURL "%s -i --resolve port.test:80:11.22.33.44 http://port.test/", cert);
	case_sh("http: a name resolving to the metadata address is refused by the kernel at the proxy's connect",
		"agents/a", "X-Nomoat-Reason: upstream-denied", true,
		CURL "%s -i --resolve meta.test:80:11.22.33.44 http://meta.test/", cert);
	{
		struct nmt_want_field w[] = { { "verdict", "deny" }, { "reason", "upstream-denied" },
					      { "upstream", "169.254.169.254:80" }, { "rule", "meta.test" },
					      { NULL, NULL } };

		case_log("log: the metadata refusal names the upstream the kernel refused", "\"name\":\"meta.test\"",
			 NULL, w);
	}
	case_sh("http: an IP literal in Host is refused", "agents/a", "X-Nomoat-Reason: ip-literal", true,
		CURL "%s -i http://11.22.33.44/", cert);
	case_sh("ipv6: a client to [2a00:1:2:3::44]:443 reaches the allowed name", "agents/a",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		CURL "%s -g --resolve 'allowed.test:443:[2a00:1:2:3::44]' https://allowed.test/", cert);
	case_sh("ipv6: a name with an IPv6 address is connected over IPv6", "agents/a",
		"HELLO [2a00:1:2:3::44]:443 host=v6.test", true,
		CURL "%s --resolve v6.test:443:11.22.33.44 https://v6.test/", cert);
	{
		static const char req[] = "GET /mapped HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n";
		struct raw r = { .addr = NMT_NET4, .port = 80, .mapped = true, .data = req, .len = sizeof(req) - 1,
				 .wait_ms = 3000 };
		bool ok = raw_run("agents/a", &r);

		nmt_verdict(ok && strstr(r.reply, "HELLO 11.22.33.44:80 host=allowed.test path=/mapped"),
			    "v4-mapped: an AF_INET6 client to ::ffff:11.22.33.44 (ignoring proxy settings)",
			    "run %d err %d reply: %s", ok, r.err, nmt_oneline(r.reply));
	}
	snprintf(want, sizeof(want), "HELLO 11.22.33.45:443 host=other.test");
	case_sh("ip-only: a policy with ip-only passes any name to the original destination", "agents/iponly", want,
		true, CURL "%s --resolve other.test:443:11.22.33.45 https://other.test/", cert);
	/* nothing to sniff: the relay must read the server's side first */
	case_sh("ip-only: a server that speaks first is heard before the client sends", "agents/iponly",
		"BANNER ECHO hello", true,
		"python3 -c \"import socket; s = socket.create_connection(('11.22.33.44', 84), timeout=5); "
		"b = s.recv(100).decode().strip(); s.sendall(b'hello\\n'); print(b, s.recv(100).decode().strip())\"");
}

static void cases_explicit(void)
{
	case_sh("connect: curl -x (CONNECT) to an allowed name, from outside any sandbox", "outside",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		"curl -sS --max-time 5 --cacert %s -x http://10.250.0.1:%d https://allowed.test/", cert, PROXY_PORT);
	case_sh("connect: HTTPS_PROXY from inside the sandbox (the proxy endpoint is allowed)", "agents/a",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		"HTTPS_PROXY=http://10.250.0.1:%d curl -sS --max-time 5 --cacert %s https://allowed.test/",
		PROXY_PORT, cert);
	case_sh("connect: IPv6 proxy address, CONNECT to an allowed name", "outside",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		"curl -sS --max-time 5 --cacert %s -x 'http://[fd00:250::1]:%d' https://allowed.test/", cert,
		PROXY_PORT);
	case_sh("connect: CONNECT to a disallowed name gets 403", "outside", "CONNECT tunnel failed, response 403",
		false, "curl -sS --max-time 5 --cacert %s -x http://10.250.0.1:%d https://evil.test/", cert,
		PROXY_PORT);
	{
		static const char req[] = "CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n";
		struct raw r = { .addr = NMT_WORLD4, .port = PROXY_PORT, .data = req, .len = sizeof(req) - 1,
				 .wait_ms = 3000 };
		bool ok = raw_run("outside", &r);

		nmt_verdict(ok && !strncmp(r.reply, "HTTP/1.1 403 ", 13) && strstr(r.reply, "X-Nomoat-Reason: not-allowed"),
			    "connect: the 403 to a CONNECT carries X-Nomoat-Reason", "reply: %s",
			    nmt_oneline(r.reply));
	}
	case_sh("absolute-form: curl -x http://... reaches the allowed host with an origin-form request", "outside",
		"HELLO 11.22.33.44:80 host=allowed.test path=/abs?q=1", true,
		"curl -sS --max-time 5 -x http://10.250.0.1:%d 'http://allowed.test/abs?q=1'", PROXY_PORT);
	case_sh("absolute-form: a disallowed name gets 403", "outside", "X-Nomoat-Reason: not-allowed", true,
		"curl -sS -i --max-time 5 -x http://10.250.0.1:%d http://evil.test/", PROXY_PORT);
	{
		static const char req[] = "GET http://allowed.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n";
		struct raw r = { .addr = NMT_WORLD4, .port = PROXY_PORT, .data = req, .len = sizeof(req) - 1,
				 .wait_ms = 3000 };
		bool ok = raw_run("outside", &r);

		nmt_verdict(ok && strstr(r.reply, "X-Nomoat-Reason: host-mismatch"),
			    "absolute-form: a Host header naming another host is refused", "reply: %s",
			    nmt_oneline(r.reply));
	}
	{
		static const char req[] = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
		struct raw r = { .addr = NMT_WORLD4, .port = PROXY_PORT, .data = req, .len = sizeof(req) - 1,
				 .wait_ms = 3000 };
		bool ok = raw_run("outside", &r);

		nmt_verdict(ok && strstr(r.reply, "HTTP/1.1 400") && strstr(r.reply, "not-a-proxy-request"),
			    "explicit: an origin-form request to the proxy itself gets 400", "reply: %s",
			    nmt_oneline(r.reply));
	}
}

static void cases_streams(void)
{
	{
		static const char req[] = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\nsome body after the head";
		struct raw r = { .addr = NMT_NET4, .port = 81, .data = req, .len = sizeof(req) - 1, .shut_wr = true,
				 .wait_ms = 4000 };
		bool ok = raw_run("agents/a", &r);
		char want[32];

		snprintf(want, sizeof(want), "GOT %zu", sizeof(req) - 1);
		nmt_verdict(ok && !strncmp(r.reply, want, strlen(want)) && r.eof,
			    "half-close: the client's FIN reaches the server, whose answer still comes back",
			    "err %d eof %d reply: %s (want %s)", r.err, r.eof, nmt_oneline(r.reply), want);
	}
	{
		static const char req[] = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
		struct raw r = { .addr = NMT_NET4, .port = 82, .data = req, .len = sizeof(req) - 1, .wait_ms = 6000 };
		bool ok = raw_run("agents/a", &r);

		nmt_verdict(ok && r.eof && r.elapsed >= 1500 && r.elapsed < 4500,
			    "idle timeout: a silent relayed connection is closed after --idle-timeout 2",
			    "eof %d after %lld ms", r.eof, r.elapsed);
	}
	{
		struct raw r = { .addr = NMT_NET4, .port = 443, .data = "\x16\x03\x01", .len = 3, .wait_ms = 6000 };
		bool ok = raw_run("agents/a", &r);

		nmt_verdict(ok && r.eof && r.elapsed >= 1500 && r.elapsed < 4500,
			    "handshake timeout: a ClientHello that never completes is closed after 2 s",
			    "eof %d after %lld ms", r.eof, r.elapsed);
	}
	{
		/* 64 MiB down through the relay, counted; the rate beside the
		 * direct one (from outside the sandbox) for the record */
		char direct[256] = "";

		case_sh("bulk: 64 MiB through the splice relay arrive whole", "agents/a", "67108864 ", true,
			"curl -sS --max-time 20 -o /dev/null -w '%%{size_download} %%{speed_download}' "
			"--resolve allowed.test:83:11.22.33.44 http://allowed.test:83/");
		/* a slow reader: the relay waits on the client's window,
		 * holding one pipe, and loses nothing */
		case_sh("bulk: 64 MiB to a reader limited to 32 MB/s arrive whole", "agents/a", "67108864", true,
			"curl -sS --max-time 9 --limit-rate 32M -o /dev/null -w '%%{size_download}' "
			"--resolve allowed.test:83:11.22.33.44 http://allowed.test:83/");
		nmt_sh("outside", direct, sizeof(direct), 25000,
		      "curl -sS --max-time 20 -o /dev/null -w '%%{size_download} %%{speed_download}' "
		      "http://11.22.33.44:83/");
		{
			char a[128], b[128];

			printf("# bulk 64 MiB, bytes and bytes/s: through nomoat-proxy %s; direct %s\n",
			       nmt_oneline_buf(out, a, sizeof(a)), nmt_oneline_buf(direct, b, sizeof(b)));
		}
	}
}

/* Malformed input: answered, logged, and the proxy goes on. */
static void cases_malformed(void)
{
	static char big[20000];
	struct {
		const char *desc, *data;
		size_t len;
		int port;
		const char *want_reply, *want_reason;
	} t[] = {
		{ "malformed: a ClientHello with a bad length is closed", "\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",
		  13, 443, NULL, "bad-clienthello" },
		{ "malformed: a handshake that is not a ClientHello is closed", "\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00",
		  10, 443, NULL, "bad-clienthello" },
		{ "malformed: an SSLv2-style hello is closed", "\x80\x2e\x01\x03\x01\x00\x15", 7, 443, NULL,
		  "bad-clienthello" },
		{ "malformed: a ClientHello without SNI is closed", NULL, 0, 443, NULL, "no-sni" },
		{ "malformed: binary garbage gets 400", "\x00\x01\x02\x03garbage", 11, 80, "HTTP/1.1 400",
		  "bad-request" },
		{ "malformed: a bare-LF head gets 400", "GET / HTTP/1.1\nHost: allowed.test\n\n", 35, 80, "HTTP/1.1 400",
		  "bad-request" },
		{ "malformed: an oversized head (20 KB) gets 431", big, sizeof(big), 80, "HTTP/1.1 431",
		  "head-too-large" },
		{ "malformed: a truncated head then close is logged", "GET / HTTP/1.1\r\nHo", 18, 80, NULL,
		  "client-closed" },
	};
	/* a minimal valid ClientHello without extensions */
	static const char nosni[] = "\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x03"
				    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				    "\x00\x00\x02\x13\x01\x01\x00";

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nHost: allowed.test\r\n", 36);
	for (size_t i = 36; i + 100 <= sizeof(big); i += 100) {
		memset(big + i, 'a', 98);
		memcpy(big + i, "X-Pad: ", 7);
		big[i + 98] = '\r';
		big[i + 99] = '\n';
	}
	t[3].data = nosni;
	t[3].len = sizeof(nosni) - 1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct raw r = { .addr = NMT_NET4, .port = t[i].port, .data = t[i].data, .len = t[i].len,
				 .shut_wr = !strcmp(t[i].want_reason, "client-closed"), .wait_ms = 3000 };
		char line[4096] = "", reason[64];
		bool ok = raw_run("agents/b", &r);
		bool logged;

		snprintf(reason, sizeof(reason), "\"reason\":\"%s\"", t[i].want_reason);
		logged = log_find(line, sizeof(line), 3000, reason, NULL, NULL);
		ok = ok && r.eof && (!t[i].want_reply || !strncmp(r.reply, t[i].want_reply, strlen(t[i].want_reply))) &&
		     logged;
		nmt_verdict(ok, t[i].desc, "err %d eof %d reply '%s' logged %d", r.err, r.eof, nmt_oneline(r.reply),
			    logged);
	}
	case_sh("malformed: the proxy still serves after all of it", "agents/a",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		CURL "%s --resolve allowed.test:443:11.22.33.44 https://allowed.test/", cert);
}

/* Connection limits and slowloris: a client at --max-per-client 8 is
 * refused its ninth connection while another client is served at once. */
struct flood {
	int n;
	int stalled_ok, ninth_closed;
	long long ninth_ms;
};

static int flood_child(void *p)
{
	struct flood *f = p;
	struct sockaddr_storage ss;
	int sl = nmt_sa_make(&ss, NMT_NET4, 443, false), fds[16], out = f->n;
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	char c;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 9; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&ss, (socklen_t)sl))
			continue;
		send(fds[i], "\x16", 1, MSG_NOSIGNAL); /* a hello that never ends */
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		nmt_sleep_ms(30);
	}
	{
		long long t0 = nmt_now_ms();
		ssize_t n = recv(fds[8], &c, 1, 0);

		f->ninth_closed = n == 0 || (n < 0 && errno == ECONNRESET);
		f->ninth_ms = nmt_now_ms() - t0;
	}
	for (int i = 0; i < 8; i++) {
		struct timeval z = { .tv_sec = 0, .tv_usec = 1000 };

		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &z, sizeof(z));
		if (recv(fds[i], &c, 1, 0) < 0 && errno == EAGAIN)
			f->stalled_ok++;
	}
	/* hold them until the parent has tried another client */
	nmt_sleep_ms(800);
	if (write(out, f, sizeof(*f)) != (ssize_t)sizeof(*f))
		return 1;
	return 0;
}

static void cases_limits(void)
{
	struct flood f = { 0 };
	char cg[PATH_MAX];
	int fds[2];
	pid_t pid;
	bool ok;

	if (pipe2(fds, O_CLOEXEC))
		return;
	f.n = fds[1];
	nmt_cg_path("agents/b", cg, sizeof(cg));
	pid = nmt_spawn(cg, nmt_h.topo.cns, flood_child, &f);
	close(fds[1]);
	nmt_sleep_ms(400); /* the flood is up */
	case_sh("limits: another sandbox is served while one holds 8 stalled connections", "agents/a",
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		CURL "%s --resolve allowed.test:443:11.22.33.44 https://allowed.test/", cert);
	{
		char buf[sizeof(f) + 1];

		ok = pid > 0 && nmt_read_all(fds[0], buf, sizeof(buf), 6000) == sizeof(f);
		if (ok)
			memcpy(&f, buf, sizeof(f));
	}
	close(fds[0]);
	if (pid > 0) {
		nmt_wait(pid, 2000);
		nmt_child_untrack(pid);
	}
	nmt_verdict(ok && f.ninth_closed && f.ninth_ms < 900 && f.stalled_ok == 8,
		    "limits: the ninth connection of one sandbox is closed at once, its 8 others stay (--max-per-client 8)",
		    "ninth closed %d after %lld ms, stalled open %d", f.ninth_closed, f.ninth_ms, f.stalled_ok);
	{
		struct nmt_want_field w[] = { { "verdict", "deny" }, { "reason", "max-per-client" }, { NULL, NULL } };

		case_log("log: the refused ninth connection", "\"reason\":\"max-per-client\"", NULL, w);
	}
}

/* The proxy's fence: user, capabilities, cgroup. */
static void case_fence(void)
{
	char path[64], buf[4096] = "", cgline[PATH_MAX + 8], want_cg[PATH_MAX];
	struct passwd *pw = getpwnam("nobody");
	char uid[64];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)proxy_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		nmt_read_all(fd, buf, sizeof(buf), 200);
		close(fd);
	}
	snprintf(uid, sizeof(uid), "Uid:\t%u\t%u\t%u", pw ? pw->pw_uid : 65534, pw ? pw->pw_uid : 65534,
		 pw ? pw->pw_uid : 65534);
	ok = strstr(buf, uid) && strstr(buf, "CapPrm:\t0000000000000000") && strstr(buf, "CapEff:\t0000000000000000") &&
	     strstr(buf, "CapBnd:\t0000000000000000") && strstr(buf, "NoNewPrivs:\t1");
	nmt_verdict(ok, "fence: the proxy runs as nobody with no capability and no_new_privs", "%s",
		    nmt_oneline(buf));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)proxy_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf[0] = 0;
	if (fd >= 0) {
		nmt_read_all(fd, buf, sizeof(buf), 200);
		close(fd);
	}
	nmt_cg_path("proxy", want_cg, sizeof(want_cg));
	snprintf(cgline, sizeof(cgline), "0::%s", want_cg + strlen(nmt_h.cgmount));
	nmt_verdict(strstr(buf, cgline) != NULL, "fence: the proxy moved itself into its cgroup (--cgroup)",
		    "/proc/%d/cgroup: %s, want %s", (int)proxy_pid, nmt_oneline(buf), cgline);
}

/* Outside every attach point the kernel gives no origins: the proxy refuses
 * to start, saying how to fix it, unless told it serves explicit clients
 * alone. */
static void case_startup(void)
{
	char out[PATH_MAX], text[4096] = "";
	pid_t pid;
	int st;

	snprintf(out, sizeof(out), "%s.outside", plog);
	pid = spawn_proxy(NULL, PROXY_PORT + 71, out, NULL);
	st = pid > 0 ? nmt_wait(pid, 5000) : pid;
	if (pid > 0)
		nmt_child_untrack(pid);
	{
		int fd = open(out, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			nmt_read_all(fd, text, sizeof(text), 200);
			close(fd);
		}
	}
	nmt_verdict(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
			    strstr(text, "not under a nomoat attach point") && strstr(text, "--cgroup /nomoat-proxy") &&
			    !strstr(text, "nomoat-proxy: ready"),
		    "start-up: outside an attach point nomoat-proxy refuses to start, saying how to fix it",
		    "status %d: %s", st, nmt_oneline(text));
	pid = spawn_proxy(NULL, PROXY_PORT + 72, out, "--explicit-only");
	st = pid > 0 && wait_line(out, "nomoat-proxy: ready", 5000);
	nmt_verdict(st, "start-up: with --explicit-only it starts outside an attach point", "see %s", out);
	if (pid > 0) {
		kill(pid, SIGTERM);
		nmt_wait(pid, 3000);
		nmt_child_untrack(pid);
	}
}

/* `nomoat run` in the sandbox: the done-when line of the issue. */
static void case_nomoat_run(void)
{
	case_sh("nomoat run --policy agents -- curl https://allowed.test/ is relayed by name", NULL,
		"HELLO 11.22.33.44:443 host=allowed.test", true,
		"%s run --policy agents --cgroup-parent %s/agents -- " CURL
		"%s --resolve allowed.test:443:11.22.33.44 https://allowed.test/",
		nmt_h.cli, nmt_h.base, cert);
	case_sh("nomoat run: a disallowed name is refused with a readable reason", NULL,
		"nomoat-proxy: denied: not-allowed", true,
		"%s run --policy agents --cgroup-parent %s/agents -- " CURL
		"%s --resolve evil.test:80:11.22.33.44 http://evil.test/",
		nmt_h.cli, nmt_h.base, cert);
	case_sh("nomoat run: the metadata address itself is refused by the kernel", NULL, "curl: (7)", false,
		"%s run --policy agents --cgroup-parent %s/agents -- curl -sS --max-time 5 http://169.254.169.254/",
		nmt_h.cli, nmt_h.base);
}

/* SIGHUP reloads the allowlists. */
static void case_reload(void)
{
	char text[2048];
	char *p;

	case_sh("reload: other.test is not allowed before", "agents/a", "X-Nomoat-Reason: not-allowed", true,
		CURL "%s -i --resolve other.test:80:11.22.33.44 http://other.test/", cert);
	snprintf(text, sizeof(text), "%s", policy_file);
	p = strstr(text, "    hostname allowed.test\n");
	memmove(p + 24, p, strlen(p) + 1);
	memcpy(p, "    hostname other.test\n", 24);
	if (!write_file(conf, text) || kill(proxy_pid, SIGHUP)) {
		nmt_verdict(false, "reload: SIGHUP reads the allowlists again", "cannot rewrite %s", conf);
		return;
	}
	nmt_verdict(wait_line(plog, "nomoat-proxy: reloaded", 3000), "reload: SIGHUP reads the allowlists again",
		    "no 'reloaded' line in %s", plog);
	case_sh("reload: after SIGHUP the newly listed name is allowed (and resolved to its own address)",
		"agents/a", "HELLO 11.22.33.45:443 host=other.test", true,
		CURL "%s --resolve other.test:443:11.22.33.44 https://other.test/", cert);
}

int main(int argc, char **argv)
{
	static char cli[PATH_MAX] = "build/nomoat";
	char *const bins[] = { cli, proxy_bin };
	char why[1024] = "";

	nmt_harness_init();
	if (nmt_args(argc, argv, "[NOMOAT [NOMOAT-PROXY]]", bins, 2))
		return 2;
	if (!nmt_harness_start("proxy-integration", "nomoat-ptest"))
		return 1;
	if (access(proxy_bin, X_OK) || access(nmt_h.cli, X_OK)) {
		nmt_verdict(false, "fixture: nomoat and nomoat-proxy", "%s or %s is not executable", nmt_h.cli,
			    proxy_bin);
		return nmt_finish();
	}
	if (!fixture(why, sizeof(why))) {
		nmt_verdict(false, "fixture: network, servers, policies and nomoat-proxy", "%s", why);
		return nmt_finish();
	}
	nmt_verdict(true, "fixture: network, world servers, policies, nomoat-proxy fenced and started", "%s", "");
	case_fence();
	case_startup();
	cases_transparent();
	cases_explicit();
	cases_streams();
	cases_malformed();
	cases_limits();
	case_nomoat_run();
	case_reload();
	ptest_squid(tmp, hosts);
	return nmt_finish();
}
