// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * squid.c - proxy-integration, the third-party case: Debian's unmodified
 * Squid, in intercept mode, as the proxy endpoint of a nomoat policy.
 *
 * Squid runs in the world namespace in a cgroup of its own (attached and
 * bound to the deny-only policy p-fence, like nomoat-proxy), started as
 * root in the foreground (-N) and switching to its cache_effective_user,
 * with a generated configuration: `http_port 10.250.0.1:3129 intercept`
 * (and [fd00:250::1]:3129), no disk cache, no helpers, the test names from
 * the hosts file, host_verify_strict on (a Host header whose name does
 * not resolve to the original destination is refused with 409), an access log in a format that names the address the
 * client connected to as Squid sees it (%>la:%>lp, which Squid fills from
 * getsockopt(SOL_IP, SO_ORIGINAL_DST) on an intercept port) and the
 * server it used.  A sandbox cgroup bound to the policy p-squid (default
 * redirect to Squid's endpoint) runs curl in the client namespace: plain
 * HTTP by IP, by name and over IPv6 comes back from the test internet
 * host, fetched by Squid from the original destination; a denied address
 * fails at connect (EPERM) and never reaches Squid.  Nothing here uses
 * netfilter: the kernel's answer to SO_ORIGINAL_DST is nomoat's
 * cgroup/getsockopt program.
 *
 * Squid's directory is <tmp>/squid (owned by its user); Squid is stopped
 * (SIGTERM, then SIGKILL) and its cgroup emptied before this returns, and
 * the harness's cleanup kills it on a signal.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "harness.h"
#include "run.h"
#include "squid.h"
#include "topo.h"

#define SQUID_PORT   3129
#define SQUID_FWD    3130 /* a forward-proxy port on the world's loopback */
#define SQUID_USER   "proxy"
#define SQUID_START  15000
#define SQUID_STOP   5000

static const char *const squid_bins[] = { "/usr/sbin/squid", "/usr/local/sbin/squid", NULL };

static char dir[300], conf[400], alog[400], clog[400], sout[400];
static pid_t squid_pid;
static char out[16384];

/* ---- running things --------------------------------------------------------- */
/* A bare connect from the sandbox: its errno as the exit code (0: it
 * connected). */
struct conn_arg {
	const char *addr;
	int port;
};

static int connect_child(void *p)
{
	struct conn_arg *a = p;
	struct sockaddr_storage ss;
	int sl = nmt_sa_make(&ss, a->addr, a->port, false);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl))
		return errno;
	close(fd);
	return 0;
}

static int connect_errno(const char *rel, const char *addr, int port)
{
	struct conn_arg a = { addr, port };
	char cg[PATH_MAX];
	pid_t pid;
	int st;

	nmt_cg_path(rel, cg, sizeof(cg));
	pid = nmt_spawn(cg, nmt_h.topo.cns, connect_child, &a);
	if (pid < 0)
		return -1;
	st = nmt_wait(pid, 5000);
	nmt_child_untrack(pid);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- files -------------------------------------------------------------------- */
static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static size_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	buf[0] = 0;
	if (fd >= 0) {
		n = nmt_read_all(fd, buf, len, 500);
		close(fd);
	}
	return n;
}

/* The last line of path holding n1 and n2 (either may be NULL), waiting up
 * to timeout_ms. */
static bool find_line(const char *path, char *line, size_t len, int timeout_ms, const char *n1, const char *n2)
{
	long long end = nmt_now_ms() + timeout_ms;

	do {
		FILE *f = fopen(path, "re");
		char buf[2048];
		bool found = false;

		if (f) {
			while (fgets(buf, sizeof(buf), f)) {
				if ((n1 && !strstr(buf, n1)) || (n2 && !strstr(buf, n2)))
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

static const char *find_squid(void)
{
	for (int i = 0; squid_bins[i]; i++)
		if (!access(squid_bins[i], X_OK))
			return squid_bins[i];
	return NULL;
}

/* The generated configuration: only what the test needs, nothing on disk
 * but the logs, nothing that forks a helper. */
static bool write_conf(const char *hosts)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "# squid.conf of proxy-integration (tests/proxy/squid.c)\n"
		 "http_port %s:%d intercept\n"
		 "http_port [%s]:%d intercept\n"
		 "http_port 127.0.0.1:%d\n"
		 "visible_hostname nomoat-ptest\n"
		 "cache_effective_user " SQUID_USER "\n"
		 "pid_filename %s/squid.pid\n"
		 "coredump_dir %s\n"
		 "cache_log %s\n"
		 "logformat nmt %%ts.%%03tu client=%%>a:%%>p local=%%>la:%%>lp %%rm %%ru %%>Hs"
		 " server=%%<a:%%<p %%Sh\n"
		 "access_log stdio:%s nmt\n"
		 "cache_store_log none\n"
		 "logfile_rotate 0\n"
		 "cache deny all\n"
		 "cache_mem 8 MB\n"
		 "pinger_enable off\n"
		 "icp_port 0\n"
		 "htcp_port 0\n"
		 "netdb_filename none\n"
		 "hosts_file %s\n"
		 "dns_nameservers 127.0.0.1\n"
		 "dns_timeout 2 seconds\n"
		 "connect_timeout 5 seconds\n"
		 "shutdown_lifetime 0 seconds\n"
		 "host_verify_strict on\n"
		 "max_filedescriptors 1024\n"
		 "acl sandbox src 10.250.0.0/24 fd00:250::/64\n"
		 "acl web port 80\n"
		 "http_access deny !web\n"
		 "http_access allow sandbox\n"
		 "http_access deny all\n",
		 NMT_WORLD4, SQUID_PORT, NMT_WORLD6, SQUID_PORT, SQUID_FWD, dir, dir, clog, alog, hosts);
	return write_text(conf, text);
}

static int start_squid(const char *bin)
{
	char cg[PATH_MAX];
	char *argv[] = { (char *)bin, "-N", "-f", conf, NULL };
	struct nmt_exec a = { argv, -1 };
	char line[1024];
	int fd;
	pid_t pid;

	fd = open(sout, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	a.out = fd;
	nmt_cg_path("squid", cg, sizeof(cg));
	pid = nmt_spawn(cg, nmt_h.topo.wns, nmt_exec_child, &a);
	close(fd);
	if (pid < 0)
		return pid;
	squid_pid = pid;
	/* ready once every port is open: the last one logged */
	if (!find_line(clog, line, sizeof(line), SQUID_START, "Accepting HTTP Socket connections", NULL))
		return -ETIMEDOUT;
	return 0;
}

/* SIGTERM, then SIGKILL; then whatever is left in its cgroup. */
static int stop_squid(void)
{
	char cg[PATH_MAX], path[PATH_MAX + 32];
	int st = -1;

	if (squid_pid > 0) {
		kill(squid_pid, SIGTERM);
		st = nmt_wait(squid_pid, SQUID_STOP);
		nmt_child_untrack(squid_pid);
		squid_pid = 0;
	}
	nmt_cg_path("squid", cg, sizeof(cg));
	snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
	{
		int fd = open(path, O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, "1", 1) < 0)
				st = st < 0 ? st : -errno;
			close(fd);
		}
	}
	return st;
}

static void cleanup_dir(void)
{
	if (*dir)
		nmt_rmtree(dir);
}

/* ---- the cases ------------------------------------------------------------------ */
static bool fixture(const char *hosts, const char **bin, char *why, size_t len)
{
	struct passwd *pw = getpwnam(SQUID_USER);
	char p[PATH_MAX];
	int rc;

	*bin = find_squid();
	if (!*bin) {
		nmt_why_set(why, len, "squid is not installed (tools/install-deps.sh installs it)");
		return false;
	}
	if (!pw) {
		nmt_why_set(why, len, "no user '%s' for Squid", SQUID_USER);
		return false;
	}
	if (mkdir(dir, 0750) || chown(dir, pw->pw_uid, pw->pw_gid)) {
		nmt_why_set(why, len, "%s: %s", dir, strerror(errno));
		return false;
	}
	snprintf(conf, sizeof(conf), "%s/squid.conf", dir);
	snprintf(alog, sizeof(alog), "%s/access.log", dir);
	snprintf(clog, sizeof(clog), "%s/cache.log", dir);
	snprintf(sout, sizeof(sout), "%s/squid.out", dir);
	if (!write_conf(hosts)) {
		nmt_why_set(why, len, "cannot write %s", conf);
		return false;
	}
	rc = nmt_run("%s -k parse -f %s", *bin, conf);
	if (rc) {
		nmt_why_set(why, len, "squid -k parse -f %s: exit %d", conf, rc);
		return false;
	}
	nmt_cg_path("squid", p, sizeof(p));
	if (nm_cgroup_create(p)) {
		nmt_why_set(why, len, "mkdir cgroup %s", p);
		return false;
	}
	nmt_cg_path("agents/sq", p, sizeof(p));
	if (nm_cgroup_create(p)) {
		nmt_why_set(why, len, "mkdir cgroup %s", p);
		return false;
	}
	{
		static const char *const cmds[] = {
			"policy create p-squid --with-defaults --default redirect --proxy4 " NMT_WORLD4
			":3129 --proxy6 [" NMT_WORLD6 "]:3129",
			NULL,
		};
		char cmd[PATH_MAX + 64];

		for (int i = 0; cmds[i]; i++)
			if ((rc = nmt_cli("%s", cmds[i]))) {
				nmt_why_set(why, len, "`nomoat %s`: exit %d: %s", cmds[i], rc, nmt_cli_msg());
				return false;
			}
		snprintf(cmd, sizeof(cmd), "cgroup attach %s/squid", nmt_h.base);
		if ((rc = nmt_cli("%s", cmd)) || (rc = nmt_cli("cgroup bind %s/squid --policy p-fence", nmt_h.base)) ||
		    (rc = nmt_cli("cgroup bind %s/agents/sq --policy p-squid", nmt_h.base))) {
			nmt_why_set(why, len, "binding the Squid cgroups: exit %d: %s", rc, nmt_cli_msg());
			return false;
		}
	}
	return true;
}

static void case_get(const char *desc, const char *want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void case_get(const char *desc, const char *want, const char *fmt, ...)
{
	char url[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	rc = nmt_sh("agents/sq", out, sizeof(out), 10000, "curl -sS -g --max-time 5 --noproxy '*' %s", url);
	nmt_verdict(rc == 0 && strstr(out, want), desc, "exit %d, want '%s' in: %s", rc, want, nmt_oneline(out));
}

/* The access-log line of path marker must say that Squid saw the original
 * destination (local=) and used it (server=). */
static void case_log(const char *desc, const char *marker, const char *local, const char *server)
{
	char line[2048] = "";
	bool ok = find_line(alog, line, sizeof(line), 3000, marker, NULL);

	nmt_verdict(ok && strstr(line, local) && strstr(line, server), desc, "want '%s' and '%s' in: %s", local,
		    server, ok ? nmt_oneline(line) : "(no access-log line)");
}

static void case_proc(void)
{
	char path[64], buf[4096], want_cg[PATH_MAX], cgline[PATH_MAX + 8];
	struct passwd *pw = getpwnam(SQUID_USER);
	char uid[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)squid_pid);
	read_text(path, buf, sizeof(buf));
	snprintf(uid, sizeof(uid), "Uid:\t%u\t%u\t", pw->pw_uid, pw->pw_uid);
	nmt_verdict(strstr(buf, uid) != NULL, "squid: runs as its cache_effective_user (" SQUID_USER ")", "%s",
		    nmt_oneline(buf));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)squid_pid);
	read_text(path, buf, sizeof(buf));
	nmt_cg_path("squid", want_cg, sizeof(want_cg));
	snprintf(cgline, sizeof(cgline), "0::%s", want_cg + strlen(nmt_h.cgmount));
	nmt_verdict(strstr(buf, cgline) != NULL, "squid: runs in its fenced cgroup (attached, bound to p-fence)",
		    "/proc/%d/cgroup: %s, want %s", (int)squid_pid, nmt_oneline(buf), cgline);
}

void ptest_squid(const char *tmp, const char *hosts)
{
	char why[1024] = "", buf[8192];
	const char *bin = NULL;
	int rc, e;

	snprintf(dir, sizeof(dir), "%s/squid", tmp);
	if (!fixture(hosts, &bin, why, sizeof(why))) {
		nmt_verdict(false, "squid: fixture (config, cgroups, policy p-squid)", "%s", why);
		cleanup_dir();
		return;
	}
	rc = start_squid(bin);
	if (rc) {
		read_text(clog, buf, sizeof(buf));
		nmt_verdict(false, "squid: starts in intercept mode in its fenced cgroup", "%s; cache.log: %s",
			    strerror(-rc), nmt_oneline(buf));
		stop_squid();
		cleanup_dir();
		return;
	}
	nmt_verdict(true, "squid: starts in intercept mode in its fenced cgroup", "%s", "");
	case_proc();

	case_get("squid: a sandboxed curl to the internet host by IP gets the real page through Squid",
		 "HELLO 11.22.33.44:80 host=11.22.33.44 path=/squid-ip", "http://11.22.33.44/squid-ip");
	case_log("squid: its access log has the original destination (SO_ORIGINAL_DST) and the server it used",
		 "/squid-ip", "local=11.22.33.44:80", "server=11.22.33.44:80");
	case_get("squid: by name (Host allowed.test) the real page comes back through Squid",
		 "HELLO 11.22.33.44:80 host=allowed.test path=/squid-name",
		 "--resolve allowed.test:80:11.22.33.44 http://allowed.test/squid-name");
	case_log("squid: the access log of the request by name has the original destination", "/squid-name",
		 "local=11.22.33.44:80", "server=11.22.33.44:80");
	case_get("squid: IPv6, the kernel answers IP6T_SO_ORIGINAL_DST on the v6 intercept port",
		 "HELLO [2a00:1:2:3::44]:80 host=[2a00:1:2:3::44] path=/squid-v6", "'http://[2a00:1:2:3::44]/squid-v6'");
	case_log("squid: the access log of the IPv6 request has its original destination", "/squid-v6",
		 "local=2a00:1:2:3::44:80", "server=2a00:1:2:3::44:80");
	/* Squid's own check of a name (host_verify_strict on): the Host says
	 * other.test (11.22.33.45 in its hosts file) while the client dialled
	 * 11.22.33.44, so the original destination does not belong to the name */
	rc = nmt_sh("agents/sq", out, sizeof(out), 10000,
		       "curl -sS --max-time 5 --noproxy '*' -o /dev/null -w 'status=%%{http_code}' "
		       "--resolve other.test:80:11.22.33.44 http://other.test/squid-forged");
	nmt_verdict(rc == 0 && strstr(out, "status=409"),
		    "squid: a Host whose name does not resolve to the original destination gets 409 (host_verify_strict)",
		    "exit %d: %s", rc, nmt_oneline(out));
	case_log("squid: the access log shows the forged Host refused without an upstream", "/squid-forged", " 409 ",
		 "server=-:- HIER_NONE");
	e = connect_errno("agents/sq", NMT_META4, 80);
	nmt_verdict(e == EPERM, "squid: a connect to the metadata address fails with EPERM in the sandbox",
		    "connect errno %d (%s)", e, e > 0 ? strerror(e) : "-");
	e = connect_errno("agents/sq", NMT_INTERNAL4, 80);
	nmt_verdict(e == EPERM, "squid: a connect to a private address fails with EPERM in the sandbox",
		    "connect errno %d (%s)", e, e > 0 ? strerror(e) : "-");
	rc = nmt_sh("agents/sq", out, sizeof(out), 10000, "curl -sS --max-time 5 --noproxy '*' http://169.254.169.254/squid-meta");
	nmt_verdict(rc == 7 && strstr(out, "curl: (7)"), "squid: curl to the metadata address fails at connect",
		    "exit %d: %s", rc, nmt_oneline(out));
	{
		char line[2048];

		/* the requests after it are logged; the refused ones never */
		case_get("squid: Squid still serves after the refusals", "HELLO 11.22.33.44:80 host=11.22.33.44 path=/squid-after",
			 "http://11.22.33.44/squid-after");
		find_line(alog, line, sizeof(line), 3000, "/squid-after", NULL);
		read_text(alog, buf, sizeof(buf));
		nmt_verdict(*buf && !strstr(buf, "169.254.169.254") && !strstr(buf, "10.1.2.3") &&
				    !strstr(buf, "squid-meta"),
			    "squid: the refused connections never reached Squid (not in its access log)", "%s",
			    nmt_oneline(buf));
	}
	read_text(clog, buf, sizeof(buf));
	nmt_verdict(!strstr(buf, "ORIGINAL_DST) failed") && !strstr(buf, "NAT lookup failed") &&
			    !strstr(buf, "NF getsockopt"),
		    "squid: no failed SO_ORIGINAL_DST lookup in its cache.log", "%s", nmt_oneline(buf));
	rc = stop_squid();
	nmt_verdict(rc >= 0 && WIFEXITED(rc), "squid: stops on SIGTERM", "wait status %d", rc);
	if (nmt_verbose) {
		read_text(clog, buf, sizeof(buf));
		fprintf(stderr, "# squid cache.log:\n%s\n", buf);
		read_text(alog, buf, sizeof(buf));
		fprintf(stderr, "# squid access.log:\n%s\n", buf);
	}
	cleanup_dir();
}
