// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * daemon-integration - nomoatd end to end: the real daemon runs with a real
 * policy file, real processes in real cgroups connect from a test network
 * namespace to real servers, and the test checks what the daemon promises:
 * --check reports every error, start-up enforces and proves it, new cgroups
 * are covered at once and bound by pattern, reloads are atomic under a
 * connect storm and a failed one changes nothing, a kill -9 leaves
 * enforcement in place and a restart adopts it, events fan out to socket
 * clients and are rate limited, metrics parse, the OCI hook binds, SIGTERM
 * leaves enforcement and `nomoat unload` ends it.
 *
 *   daemon-integration [-v] [NOMOAT [NOMOATD]]
 *
 * NOMOAT defaults to build/nomoat, NOMOATD to the nomoatd beside NOMOAT.
 *
 * Everything is named after the test's pid: namespaces nmt<pid>-c / -w
 * (every connection attempt is made from the client namespace, whose routes
 * lead only to the test's own hosts), cgroups <cgroup2>/nomoatd-test-<pid>/,
 * pins /sys/fs/bpf/nomoatd-test-<pid>, files and sockets in
 * /tmp/nomoatd-test-<pid>/; all of it, and every process the test started
 * (the daemon too), is removed at exit, on SIGINT/SIGTERM and on failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "harness.h"
#include "netprobe.h"
#include "run.h"
#include "servers.h"
#include "topo.h"

/* ---- the fixture (besides nmt_h) ----------------------------------------- */
static struct {
	const char *nomoatd;
	char rel[64];        /* /nomoatd-test-<pid> (relative to the mount) */
	char sb[1300];       /* <base>/sb: the attach point */
	char tmp[256];       /* /tmp/nomoatd-test-<pid> */
	char conf[320], pidfile[320], evsock[320], msock[320], evlog[320], dlog[320], plog[320], nlog[320];
	pid_t dpid;          /* the running daemon, 0 if none */
	bool made_tmp;
} F;

/* Cleanup, before the children are killed: the daemon first. */
static void cleanup_daemon(void)
{
	if (F.dpid > 0)
		kill(F.dpid, SIGKILL);
	F.dpid = 0;
}

/* Cleanup, at the end: the files. */
static void cleanup_tmp(void)
{
	if (F.made_tmp && nmt_rmtree(F.tmp))
		fprintf(stderr, "cleanup: could not remove %s\n", F.tmp);
}

/* ---- commands ------------------------------------------------------------ */
/*
 * Run argv with stdin from the file `in` (NULL: /dev/null), stdout and
 * stderr captured (NUL-terminated), killed after timeout_ms.  Returns the
 * exit code, 128+signal, or a negative errno.
 */
static int cmd_stdin(char *const argv[], const char *in, char *out, size_t olen, char *err, size_t elen,
		     int timeout_ms)
{
	int po[2], pe[2];
	pid_t pid;

	*out = *err = 0;
	if (pipe2(po, O_CLOEXEC))
		return -errno;
	if (pipe2(pe, O_CLOEXEC)) {
		close(po[0]);
		close(po[1]);
		return -errno;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return -e;
	}
	if (pid == 0) {
		int fd = open(in ? in : "/dev/null", O_RDONLY);

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	nmt_child_track(pid);
	close(po[1]);
	close(pe[1]);
	return nmt_cmd_collect(pid, po[0], pe[0], out, olen, err, elen, timeout_ms, 1000);
}

/* ---- files --------------------------------------------------------------- */
static bool write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;

	/* Atomic: the daemon never reads half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return false;
	fputs(text, f);
	if (fclose(f)) {
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path)) {
		unlink(tmp);
		return false;
	}
	return true;
}

/* The file from byte off on (at most len-1 bytes); returns the bytes read. */
static size_t read_file_from(const char *path, long off, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;
	size_t n = 0;

	buf[0] = 0;
	if (fd < 0)
		return 0;
	if (lseek(fd, off, SEEK_SET) < 0) {
		close(fd);
		return 0;
	}
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (long)st.st_size;
}

/* ---- the policy file ----------------------------------------------------- */
enum { CFG_A, CFG_B };

/*
 * The daemon's policy file: attach point <rel>/sb (bound to "agents"),
 * <rel>/proxy origdst-only (the test proxy's cgroup), <rel>/sb/c-* bound to
 * "strict" (default deny); outputs in the temp dir.
 *   A: agents = deny-defaults, default redirect, proxy4 10.250.0.1:3128
 *   B: agents = deny-defaults, allow 11.22.33.44:80, default redirect, no proxy
 * rate < 0: no events-rate line (the default); extra: a line added inside
 * the agents block (NULL: none).
 */
static bool write_config(const char *path, int variant, int rate, const char *extra)
{
	char text[4096], ratel[64] = "";

	if (rate >= 0)
		snprintf(ratel, sizeof(ratel), "events-rate %d\n", rate);
	snprintf(text, sizeof(text),
		 "# nomoatd test config (daemon-integration, variant %s)\n"
		 "attach %s/sb\n"
		 "attach %s/proxy origdst-only\n"
		 "bind %s/sb agents\n"
		 "bind %s/sb/c-* strict\n"
		 "events-log %s\n"
		 "events-socket %s\n"
		 "metrics unix:%s\n"
		 "proxy-log %s\n"
		 "dns-log %s\n"
		 "%s"
		 "\n"
		 "policy agents {\n"
		 "\tinclude deny-defaults\n"
		 "\tdefault redirect\n"
		 "\tmode enforce\n"
		 "\tevents deny\n"
		 "%s"
		 "%s"
		 "}\n"
		 "\n"
		 "policy strict {\n"
		 "\tdefault deny\n"
		 "}\n",
		 variant == CFG_A ? "A" : "B", F.rel, F.rel, F.rel, F.rel, F.evlog, F.evsock, F.msock, F.plog, F.nlog, ratel,
		 variant == CFG_A ? "\tproxy4 10.250.0.1:3128\n" : "\tallow 11.22.33.44:80  # B: direct\n",
		 extra ? extra : "");
	return write_file(path, text);
}

/* ---- the daemon ---------------------------------------------------------- */
static bool daemon_alive(void)
{
	int st;

	if (F.dpid <= 0)
		return false;
	if (waitpid(F.dpid, &st, WNOHANG) == F.dpid) {
		nmt_child_untrack(F.dpid);
		F.dpid = 0;
		return false;
	}
	return kill(F.dpid, 0) == 0;
}

/*
 * Start nomoatd (config, pin dir, pidfile of the test), stdout and stderr
 * appended to F.dlog; *log_off gets where its output starts.  Waits (at
 * most 20 s) for its "running" line.  Returns true when it runs; otherwise
 * fills why (with its output) and leaves no daemon.
 */
static bool daemon_start(long *log_off, char *why, size_t len)
{
	char *argv[] = { (char *)F.nomoatd, "--config", F.conf, "--pin-dir", nmt_h.pin_dir, "--pidfile", F.pidfile, NULL };
	static char logbuf[65536];
	long long end;
	pid_t pid;

	*log_off = file_size(F.dlog);
	nmt_h.loaded = true; /* even a failed start may have pinned something */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY), out = open(F.dlog, O_WRONLY | O_APPEND | O_CREAT, 0600);

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in < 0 || out < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	nmt_child_track(pid);
	F.dpid = pid;
	end = nmt_now_ms() + 20000;
	while (nmt_now_ms() < end) {
		read_file_from(F.dlog, *log_off, logbuf, sizeof(logbuf));
		if (strstr(logbuf, "nomoatd: running (pid"))
			return true;
		if (!daemon_alive())
			break;
		nmt_sleep_ms(20);
	}
	if (F.dpid > 0) {
		kill(F.dpid, SIGKILL);
		nmt_wait(F.dpid, 2000);
		F.dpid = 0;
		snprintf(why, len, "nomoatd did not say 'running' within 20 s: %s", nmt_oneline(logbuf));
	} else {
		snprintf(why, len, "nomoatd exited at start: %s", nmt_oneline(logbuf));
	}
	return false;
}

/* Signal the daemon and wait (bounded) for it to end; its wait status, or
 * a negative errno (-ETIMEDOUT: it was then SIGKILLed). */
static int daemon_stop(int sig, int timeout_ms)
{
	int st;

	if (F.dpid <= 0)
		return -ESRCH;
	kill(F.dpid, sig);
	st = nmt_wait(F.dpid, timeout_ms);
	F.dpid = 0;
	return st;
}

/* ---- metrics over the unix socket ---------------------------------------- */
/* Send req, read the whole answer (bounded); bytes read or -errno. */
static int http_unix(const char *path, const char *req, char *buf, size_t len, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = nmt_now_ms() + timeout_ms;
	size_t n = 0, rl = strlen(req), sent = 0;
	int fd;

	buf[0] = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		return -e;
	}
	while (sent < rl) {
		ssize_t w = send(fd, req + sent, rl - sent, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		sent += w;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - nmt_now_ms();
		ssize_t r;

		if (left <= 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (n + 1 >= len) {
			close(fd);
			return -E2BIG;
		}
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += r;
		buf[n] = 0;
	}
	close(fd);
	return (int)n;
}

static char mbuf[1 << 20];

/* GET /metrics: the HTTP status (or a negative errno); *body points into
 * mbuf. */
static int metrics_get(const char **body)
{
	int n = http_unix(F.msock, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n", mbuf, sizeof(mbuf), 5000);
	char *b;

	*body = "";
	if (n < 0)
		return n;
	if (strncmp(mbuf, "HTTP/1.", 7) || strlen(mbuf) < 12)
		return -EPROTO;
	b = strstr(mbuf, "\r\n\r\n");
	if (b)
		*body = b + 4;
	return atoi(mbuf + 9);
}

/* The value of one sample ("name" or "name{labels}") in an exposition, or
 * -1 when absent. */
static double metric_in(const char *body, const char *sample)
{
	size_t n = strlen(sample);

	for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, sample, n) && l[n] == ' ')
			return strtod(l + n + 1, NULL);
	return -1;
}

/* One sample, fetched now; -1 when absent, -2 when the request failed. */
static double metric(const char *sample)
{
	const char *body;

	return metrics_get(&body) == 200 ? metric_in(body, sample) : -2;
}

#define M_RELOAD_OK   "nomoat_reloads_total{result=\"success\"}"
#define M_RELOAD_FAIL "nomoat_reloads_total{result=\"failure\"}"

/* Wait (bounded) until a sample exceeds a value; its last value. */
static double metric_wait_above(const char *sample, double above, int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;
	double v;

	for (;;) {
		v = metric(sample);
		if (v > above || nmt_now_ms() >= end)
			return v;
		nmt_sleep_ms(20);
	}
}

/* ---- cgroups, bindings, links -------------------------------------------- */
/* The policy a cgroup is bound to, from `nomoat -j cgroup list`: 0 and
 * pol filled, -ENOENT when it is not bound, a positive CLI exit code, or
 * -EPROTO when the output has no "bound" list. */
static int bound_policy(const char *abs, char *pol, size_t len)
{
	char pat[PATH_MAX + 16], obj[PATH_MAX + 512];
	const char *b, *hit, *s, *e;
	int rc = nmt_cli("-j cgroup list");

	*pol = 0;
	if (rc)
		return rc;
	b = strstr(nmt_cli_out, "\"bound\":");
	if (!b)
		return -EPROTO;
	snprintf(pat, sizeof(pat), "\"cgroup\":\"%s\"", abs);
	hit = strstr(b, pat);
	if (!hit)
		return -ENOENT;
	for (s = hit; s > b && *s != '{'; s--)
		;
	e = strchr(hit, '}');
	if (!e || (size_t)(e - s + 2) > sizeof(obj))
		return -EPROTO;
	memcpy(obj, s, e - s + 1);
	obj[e - s + 1] = 0;
	return nmt_json_get(obj, "policy", pol, len) ? -EPROTO : 0;
}

static int no_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Every pinned link as "CGID/PROG=LINKID," in sorted order: a link that
 * was detached and made again has a new id.  Returns the number of links. */
static int link_ids(char *out, size_t len)
{
	char ld[PATH_MAX], sub[PATH_MAX + 300];
	struct dirent **cgs = NULL;
	int ncg, total = 0;
	size_t n = 0;

	*out = 0;
	snprintf(ld, sizeof(ld), "%s/links", nmt_h.pin_dir);
	ncg = scandir(ld, &cgs, no_dot, alphasort);
	for (int i = 0; i < ncg; i++) {
		struct dirent **ls = NULL;
		int nl;

		snprintf(sub, sizeof(sub), "%s/%s", ld, cgs[i]->d_name);
		nl = scandir(sub, &ls, no_dot, alphasort);
		for (int k = 0; k < nl; k++) {
			char lp[PATH_MAX + 600];
			struct bpf_link_info info;
			__u32 il = sizeof(info);
			int fd;

			memset(&info, 0, sizeof(info));
			snprintf(lp, sizeof(lp), "%s/%s", sub, ls[k]->d_name);
			fd = bpf_obj_get(lp);
			if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &il) == 0) {
				if (n < len)
					n += snprintf(out + n, len - n, "%s/%s=%u,", cgs[i]->d_name, ls[k]->d_name,
						      info.id);
				total++;
			} else if (n < len) {
				n += snprintf(out + n, len - n, "%s/%s=?,", cgs[i]->d_name, ls[k]->d_name);
			}
			if (fd >= 0)
				close(fd);
			free(ls[k]);
		}
		free(ls);
		free(cgs[i]);
	}
	free(cgs);
	return total;
}

/* The "attached":[...] part of `nomoat -j status`, or "" (why filled). */
static bool status_attached(char *out, size_t len, char *why, size_t wlen)
{
	const char *a, *e;
	int rc = nmt_cli("-j status");

	*out = 0;
	if (rc) {
		nmt_why_set(why, wlen, "`nomoat -j status` exit %d: %s", rc, nmt_cli_msg());
		return false;
	}
	a = strstr(nmt_cli_out, "\"attached\":[");
	e = a ? strchr(a, ']') : NULL;
	if (!e || (size_t)(e - a + 2) > len) {
		nmt_why_set(why, wlen, "`nomoat -j status` has no attached list: %s", nmt_oneline(nmt_cli_out));
		return false;
	}
	memcpy(out, a, e - a + 1);
	out[e - a + 1] = 0;
	return true;
}

/* ---- probes -------------------------------------------------------------- */
#define TCP(a, p) { .kind = NMT_TCP, .addr = (a), .port = (p) }

/* One probe from a cgroup (absolute) in the client netns; the outcome as
 * text in got. */
static void probe(const char *cg, const char *addr, int port, struct nmt_probe_res *r, char *got, size_t len)
{
	struct nmt_probe p = TCP(addr, port);

	nmt_probe_run(cg, nmt_h.topo.cns, &p, r, 0);
	nmt_probe_res_str(r, got, len);
}

static bool is_eperm(const struct nmt_probe_res *r)
{
	return r->err == EPERM;
}

static bool is_proxied(const struct nmt_probe_res *r, const char *orig)
{
	char want[96];

	snprintf(want, sizeof(want), "PROXY orig=%s ", orig);
	return !r->err && !strncmp(r->line, want, strlen(want));
}

static bool is_hello(const struct nmt_probe_res *r, const char *dst)
{
	char want[96];

	snprintf(want, sizeof(want), "HELLO %s", dst);
	return !r->err && !strcmp(r->line, want);
}

/* A storm: children loop connects to one destination from one cgroup. */
struct storm_res {
	int proxy, hello, eperm, other;
	int loops;
	char first_other[200];
};

struct storm_arg {
	int wfd;
	int stop_r, stop_w; /* the storm ends early once stop_r hangs up (storm_stop) */
	const char *addr;
	int port;
	int ms;
	int pause_us;
};

static int storm_child(void *arg)
{
	const struct storm_arg *a = arg;
	struct nmt_probe p = TCP(a->addr, a->port);
	struct storm_res res = { 0 };
	long long end = nmt_now_ms() + a->ms;
	char want[96];

	snprintf(want, sizeof(want), "PROXY orig=%s:%d ", a->addr, a->port);
	close(a->stop_w);
	for (int i = 0; i < 200000 && nmt_now_ms() < end; i++) {
		struct nmt_probe_res r;
		struct pollfd pf = { a->stop_r, POLLIN, 0 };
		char hello[96];

		if (poll(&pf, 1, 0) > 0)
			break;

		nmt_probe_exec(&p, &r);
		snprintf(hello, sizeof(hello), "HELLO %s:%d", a->addr, a->port);
		res.loops++;
		if (!r.err && !strncmp(r.line, want, strlen(want)))
			res.proxy++;
		else if (!r.err && !strcmp(r.line, hello))
			res.hello++;
		else if (r.err == EPERM)
			res.eperm++;
		else if (res.other++ == 0)
			nmt_probe_res_str(&r, res.first_other, sizeof(res.first_other));
		if (a->pause_us)
			usleep(a->pause_us);
	}
	return write(a->wfd, &res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

#define STORM_KIDS 2

struct storm {
	pid_t kids[STORM_KIDS];
	int rfd[STORM_KIDS];
	int stop[2];
	struct storm_arg args[STORM_KIDS];
};

/* End the storm now rather than at its time limit (the children see the
 * stop pipe hang up); storm_end still collects them. */
static void storm_stop(struct storm *s)
{
	if (s->stop[1] >= 0)
		close(s->stop[1]);
	s->stop[1] = -1;
}

static void storm_start(struct storm *s, const char *cg, const char *addr, int port, int ms, int pause_us)
{
	if (pipe2(s->stop, O_CLOEXEC))
		s->stop[0] = s->stop[1] = -1;
	for (int i = 0; i < STORM_KIDS; i++) {
		int p[2];

		s->kids[i] = 0;
		s->rfd[i] = -1;
		if (pipe2(p, O_CLOEXEC))
			continue;
		s->args[i] = (struct storm_arg){ p[1], s->stop[0], s->stop[1], addr, port, ms, pause_us };
		s->kids[i] = nmt_spawn(cg, nmt_h.topo.cns, storm_child, &s->args[i]);
		close(p[1]);
		s->rfd[i] = p[0];
	}
}

/* Collect the children (bounded by their own time plus 5 s); a child that
 * reported nothing counts as one "other". */
static void storm_end(struct storm *s, int ms, struct storm_res *total)
{
	memset(total, 0, sizeof(*total));
	if (s->stop[0] >= 0)
		close(s->stop[0]);
	storm_stop(s);
	for (int i = 0; i < STORM_KIDS; i++) {
		struct storm_res r = { 0 };

		if (s->kids[i] > 0 && s->rfd[i] >= 0) {
			if (nmt_read_all(s->rfd[i], (char *)&r, sizeof(r), ms + 5000) < sizeof(r) - 1) {
				memset(&r, 0, sizeof(r));
				r.other = 1;
				snprintf(r.first_other, sizeof(r.first_other), "storm child %d reported nothing",
					 (int)s->kids[i]);
			}
			nmt_wait(s->kids[i], 5000);
		} else {
			r.other = 1;
			snprintf(r.first_other, sizeof(r.first_other), "storm child could not start");
		}
		if (s->rfd[i] >= 0)
			close(s->rfd[i]);
		total->proxy += r.proxy;
		total->hello += r.hello;
		total->eperm += r.eperm;
		total->other += r.other;
		total->loops += r.loops;
		if (!total->first_other[0] && r.first_other[0])
			snprintf(total->first_other, sizeof(total->first_other), "%s", r.first_other);
	}
}

/* A child that only waits (at most 60 s) in its cgroup, for the OCI hook. */
static int sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 600; i++)
		nmt_sleep_ms(100);
	return 0;
}

/* ---- the cases ----------------------------------------------------------- */

/* 1. nomoatd --check: a good file exits 0, a bad one exits 2 and names
 * every error with its file and line. */
static void case_check(void)
{
	const char *desc = "check: `nomoatd --check` exits 0 on a good file; 2 on a bad one, every error as FILE:LINE";
	char good[PATH_MAX], bad[PATH_MAX], extra[PATH_MAX], out[8192], err[8192], why[1024] = "";
	char *argv[] = { (char *)F.nomoatd, "--check", good, NULL };
	/* The bad file's errors: (file suffix, line). */
	static const struct {
		const char *file;
		int line;
	} want[] = {
		{ "/bad.conf", 3 },  /* unknown keyword */
		{ "/bad.conf", 7 },  /* default maybe */
		{ "/bad-extra.rules", 3 }, /* prefix length */
		{ "/bad.conf", 10 }, /* 300.1.2.3 */
		{ "/bad.conf", 14 }, /* events-rate -3 */
		{ "/bad.conf", 15 }, /* relative metrics path */
	};
	int rc, nerr = 0;

	snprintf(good, sizeof(good), "%s/good.conf", F.tmp);
	snprintf(bad, sizeof(bad), "%s/bad.conf", F.tmp);
	snprintf(extra, sizeof(extra), "%s/bad-extra.rules", F.tmp);
	if (!write_config(good, CFG_A, -1, NULL) ||
	    !write_file(extra, "# extra rules\ndeny 10.0.0.0/8\nallow 1.2.3.4/40   # bad prefix\n") ||
	    !write_file(bad, "# a bad file\n"                       /* 1 */
			     "attach /x\n"                          /* 2 */
			     "frobnicate 1\n"                       /* 3 */
			     "bind /x agents\n"                     /* 4 */
			     "\n"                                   /* 5 */
			     "policy agents {\n"                    /* 6 */
			     "\tdefault maybe\n"                    /* 7 */
			     "\tinclude bad-extra.rules\n"          /* 8 */
			     "\tdeny 10.0.0.0/8   # fine\n"         /* 9 */
			     "\tdeny 300.1.2.3\n"                   /* 10 */
			     "\tallow 11.22.33.44:80\n"             /* 11 */
			     "}\n"                                  /* 12 */
			     "# fine comment\n"                     /* 13 */
			     "events-rate -3\n"                     /* 14 */
			     "metrics unix:relative/path.sock\n")) { /* 15 */
		nmt_verdict(false, desc, "cannot write the test files in %s", F.tmp);
		return;
	}
	rc = nmt_cmdv(argv, out, sizeof(out), err, sizeof(err), 10000);
	if (rc != 0)
		nmt_why_set(why, sizeof(why), "`nomoatd --check %s` (good) exit %d: %s", good, rc,
			nmt_oneline(*err ? err : out));
	argv[2] = bad;
	rc = nmt_cmdv(argv, out, sizeof(out), err, sizeof(err), 10000);
	if (rc != 2)
		nmt_why_set(why, sizeof(why), "`nomoatd --check %s` (bad) exit %d, want 2: %s", bad, rc, nmt_oneline(err));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]) && !*why; i++) {
		char pat[128];
		const char *l;
		bool found = false;

		snprintf(pat, sizeof(pat), "%s:%d: ", want[i].file, want[i].line);
		for (l = err; l && *l && !found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			const char *hit = strstr(l, pat);
			const char *nl = strchr(l, '\n');

			found = hit && (!nl || hit < nl) && !strncmp(l, F.tmp, strlen(F.tmp));
		}
		if (!found)
			nmt_why_set(why, sizeof(why), "no error line '...%s' in: %s", pat, nmt_oneline(err));
	}
	/* Nothing else is reported as an error (lines that are fine). */
	for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *colon = strchr(l, ':');

		if (!strncmp(l, F.tmp, strlen(F.tmp)) && colon && colon[1] >= '0' && colon[1] <= '9')
			nerr++;
	}
	if (nerr != (int)(sizeof(want) / sizeof(want[0])))
		nmt_why_set(why, sizeof(why), "%d FILE:LINE error lines, want %zu: %s", nerr, sizeof(want) / sizeof(want[0]),
			nmt_oneline(err));
	if (!strstr(err, "6 error(s)"))
		nmt_why_set(why, sizeof(why), "no '6 error(s)' summary: %s", nmt_oneline(err));
	nmt_verdict(!*why, desc, "%s", why);
}

/* 2. Start: enforcement checked, pidfile, deny and redirect from the attach
 * point. */
static void case_start(void)
{
	const char *desc = "start: nomoatd applies the file, says 'enforcement checked', writes its pidfile; "
			   "metadata EPERM, 11.22.33.44:80 proxied";
	char why[1024] = "", log[65536], pf[64] = "", got[256];
	struct nmt_probe_res r;
	long off;

	if (!write_config(F.conf, CFG_A, -1, NULL)) {
		nmt_verdict(false, desc, "cannot write %s", F.conf);
		return;
	}
	if (!daemon_start(&off, why, sizeof(why))) {
		nmt_verdict(false, desc, "%s", why);
		return;
	}
	read_file_from(F.dlog, off, log, sizeof(log));
	if (!strstr(log, "enforcement checked"))
		nmt_why_set(why, sizeof(why), "its stderr does not say 'enforcement checked': %s", nmt_oneline(log));
	read_file_from(F.pidfile, 0, pf, sizeof(pf));
	if (atoi(pf) != F.dpid)
		nmt_why_set(why, sizeof(why), "pidfile %s holds '%s', the daemon is pid %d", F.pidfile, nmt_oneline(pf),
			(int)F.dpid);
	probe(F.sb, NMT_META4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "tcp4 169.254.169.254:80 from the attach point: expected EPERM, got %s", got);
	probe(F.sb, NMT_NET4, 80, &r, got, sizeof(got));
	if (!is_proxied(&r, "11.22.33.44:80"))
		nmt_why_set(why, sizeof(why), "tcp4 11.22.33.44:80 from the attach point: expected 'PROXY orig=11.22.33.44:80', "
			"got %s", got);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 3. A new cgroup is covered from its first connect (the parent's binding),
 * then bound by pattern to "strict". */
static void case_new_cgroup(void)
{
	const char *desc = "new cgroup: sb/c-1's very first connect is covered (EPERM or proxied), then the daemon binds "
			   "it to strict (11.22.33.44:80 EPERM)";
	char cg[PATH_MAX], why[1024] = "", got[256], pol[64] = "";
	struct nmt_probe_res r;
	long long end;
	int err, rc = -ENOENT;

	nmt_cg_path("sb/c-1", cg, sizeof(cg));
	err = nm_cgroup_create(cg);
	if (err) {
		nmt_verdict(false, desc, "mkdir %s: %s", cg, strerror(-err));
		return;
	}
	/* No sleep: the first instruction of the first process in it. */
	probe(cg, NMT_NET4B, 80, &r, got, sizeof(got));
	if (!is_eperm(&r) && !is_proxied(&r, "11.22.33.45:80"))
		nmt_why_set(why, sizeof(why), "first connect to 11.22.33.45:80: expected EPERM or the proxy, got %s", got);
	end = nmt_now_ms() + 2000;
	do {
		rc = bound_policy(cg, pol, sizeof(pol));
		if (rc == 0 && !strcmp(pol, "strict"))
			break;
		nmt_sleep_ms(100);
	} while (nmt_now_ms() < end);
	if (rc > 0)
		nmt_why_set(why, sizeof(why), "`nomoat -j cgroup list` exit %d: %s", rc, nmt_cli_msg());
	else if (rc < 0)
		nmt_why_set(why, sizeof(why), "after 2 s %s is not bound (%s): %s", cg, strerror(-rc), nmt_oneline(nmt_cli_out));
	else if (strcmp(pol, "strict"))
		nmt_why_set(why, sizeof(why), "after 2 s %s is bound to '%s', want strict", cg, pol);
	probe(cg, NMT_NET4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "bound to strict, tcp4 11.22.33.44:80: expected EPERM, got %s", got);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 4. Reloads under a connect storm: every connect sees A or B.  The storm
 * lasts until STORM4_SWAPS swaps were applied (at most STORM4_MS): a busy
 * machine makes it longer, not fewer swaps. */
#define STORM4_MS 30000
#define STORM4_SWAPS 16

static void case_reload_storm(void)
{
	const char *desc = "reload storm: connects during SIGHUP/`nomoat reload` swaps of the file see A (proxy) or B "
			   "(direct), never neither";
	char why[1024] = "", got[256];
	struct storm s;
	struct storm_res t;
	double ok0 = metric(M_RELOAD_OK), ok = ok0;
	int swaps = 0, bad_swaps = 0;
	long long end;

	if (ok0 < 0) {
		nmt_verdict(false, desc, "metrics: no %s (%.0f)", M_RELOAD_OK, ok0);
		return;
	}
	storm_start(&s, F.sb, NMT_NET4, 80, STORM4_MS, 0);
	nmt_sleep_ms(200);
	end = nmt_now_ms() + STORM4_MS - 8000;
	while (nmt_now_ms() < end && swaps < STORM4_SWAPS) {
		int variant = swaps % 2 ? CFG_A : CFG_B, rc = 0;
		bool by_cli = swaps % 2 == 0;
		double now;

		if (!write_config(F.conf, variant, -1, NULL)) {
			bad_swaps++;
			nmt_why_set(why, sizeof(why), "cannot write %s", F.conf);
			break;
		}
		if (by_cli)
			rc = nmt_cli("reload --pidfile %s", F.pidfile);
		else
			rc = kill(F.dpid, SIGHUP) ? -errno : 0;
		swaps++;
		if (rc) {
			bad_swaps++;
			nmt_why_set(why, sizeof(why), "reload %d (%s) failed: %d %s", swaps,
				by_cli ? "nomoat reload" : "SIGHUP", rc, rc > 0 ? nmt_cli_msg() : strerror(-rc));
			continue;
		}
		/* Wait until the daemon applied it, so each version lives a while. */
		now = metric_wait_above(M_RELOAD_OK, ok, 3000);
		if (now <= ok) {
			bad_swaps++;
			nmt_why_set(why, sizeof(why), "reload %d was not applied within 3 s (reloads ok %.0f, failed %.0f)", swaps,
				now, metric(M_RELOAD_FAIL));
		} else {
			ok = now;
		}
		nmt_sleep_ms(30);
	}
	storm_stop(&s);
	storm_end(&s, STORM4_MS, &t);
	if (t.other || t.eperm)
		nmt_why_set(why, sizeof(why), "%d connects saw neither version (first: %s); %d EPERM; %d saw A, %d saw B",
			t.other + t.eperm, t.first_other[0] ? t.first_other : "EPERM", t.eperm, t.proxy, t.hello);
	else if (!t.proxy || !t.hello || swaps < 10)
		nmt_why_set(why, sizeof(why), "the storm did not span the swaps: %d swaps, %d saw A, %d saw B", swaps, t.proxy,
			t.hello);
	if (bad_swaps)
		nmt_why_set(why, sizeof(why), "%d of %d swaps failed", bad_swaps, swaps);
	if (!daemon_alive())
		nmt_why_set(why, sizeof(why), "nomoatd is gone");
	printf("#   reload storm: %d swaps (%.0f applied), %d connects saw A, %d saw B, %d neither\n", swaps, ok - ok0,
	       t.proxy, t.hello, t.other + t.eperm);
	/* Back to A for what follows. */
	if (write_config(F.conf, CFG_A, -1, NULL) && kill(F.dpid, SIGHUP) == 0)
		metric_wait_above(M_RELOAD_OK, ok, 3000);
	{
		struct nmt_probe_res r;

		probe(F.sb, NMT_NET4, 80, &r, got, sizeof(got));
		if (!is_proxied(&r, "11.22.33.44:80"))
			nmt_why_set(why, sizeof(why), "after the storm, back on A, tcp4 11.22.33.44:80: expected the proxy, got %s",
				got);
	}
	nmt_verdict(!*why, desc, "%s", why);
}

/* 5. A failed reload changes nothing. */
static void case_failed_reload(void)
{
	const char *desc = "failed reload: a file with a bad line changes nothing (rule list, policy show byte-equal), "
			   "counted as a failure, daemon still runs";
	static char rules0[sizeof(nmt_cli_out)], show0[sizeof(nmt_cli_out)];
	char why[1024] = "", log[65536], got[256];
	double f0 = metric(M_RELOAD_FAIL), f1;
	struct nmt_probe_res r;
	long off = file_size(F.dlog);
	int rc;

	if (f0 < 0) {
		nmt_verdict(false, desc, "metrics: no %s (%.0f)", M_RELOAD_FAIL, f0);
		return;
	}
	rc = nmt_cli("-j rule list --policy agents");
	if (rc) {
		nmt_verdict(false, desc, "`nomoat -j rule list --policy agents` exit %d: %s", rc, nmt_cli_msg());
		return;
	}
	memcpy(rules0, nmt_cli_out, sizeof(rules0));
	rc = nmt_cli("-j policy show agents");
	if (rc) {
		nmt_verdict(false, desc, "`nomoat -j policy show agents` exit %d: %s", rc, nmt_cli_msg());
		return;
	}
	memcpy(show0, nmt_cli_out, sizeof(show0));
	/* A good change (B's allow, no proxy) and one bad line: none of it may apply. */
	if (!write_config(F.conf, CFG_B, -1, "\tdeny 300.1.2.3      # the bad line\n")) {
		nmt_verdict(false, desc, "cannot write %s", F.conf);
		return;
	}
	kill(F.dpid, SIGHUP);
	f1 = metric_wait_above(M_RELOAD_FAIL, f0, 5000);
	if (f1 < 1 || f1 <= f0)
		nmt_why_set(why, sizeof(why), "%s is %.0f (before %.0f) after SIGHUP with a bad file", M_RELOAD_FAIL, f1, f0);
	rc = nmt_cli("-j rule list --policy agents");
	if (rc)
		nmt_why_set(why, sizeof(why), "`nomoat -j rule list --policy agents` exit %d after: %s", rc, nmt_cli_msg());
	else if (strcmp(rules0, nmt_cli_out))
		nmt_why_set(why, sizeof(why), "rule list changed: before %zu bytes, after %zu bytes", strlen(rules0),
			strlen(nmt_cli_out));
	rc = nmt_cli("-j policy show agents");
	if (rc)
		nmt_why_set(why, sizeof(why), "`nomoat -j policy show agents` exit %d after: %s", rc, nmt_cli_msg());
	else if (strcmp(show0, nmt_cli_out)) {
		char a[600];

		nmt_why_set(why, sizeof(why), "policy show changed: before %s; after %s", nmt_oneline_buf(show0, a, sizeof(a)),
			nmt_oneline(nmt_cli_out));
	}
	if (!daemon_alive())
		nmt_why_set(why, sizeof(why), "nomoatd exited after the failed reload");
	read_file_from(F.dlog, off, log, sizeof(log));
	if (!strstr(log, ":") || !strstr(log, "300.1.2.3"))
		nmt_why_set(why, sizeof(why), "its stderr does not name the bad line: %s", nmt_oneline(log));
	probe(F.sb, NMT_NET4, 80, &r, got, sizeof(got));
	if (!is_proxied(&r, "11.22.33.44:80"))
		nmt_why_set(why, sizeof(why), "after the failed reload, tcp4 11.22.33.44:80: expected the proxy (A), got %s", got);
	/* The good file again, applied. */
	if (write_config(F.conf, CFG_A, -1, NULL)) {
		double ok = metric(M_RELOAD_OK);

		kill(F.dpid, SIGHUP);
		if (metric_wait_above(M_RELOAD_OK, ok, 3000) <= ok)
			nmt_why_set(why, sizeof(why), "the good file was not applied again within 3 s");
	}
	nmt_verdict(!*why, desc, "%s", why);
}

/* 6. kill -9 under a storm of denied connects, then restart: nothing ever
 * got through, the restart adopts the pins, no link was detached. */
#define STORM6_MS 4000

static void case_kill9(void)
{
	const char *desc = "kill -9: denied connects stay EPERM while nomoatd is SIGKILLed and restarted; the restart "
			   "adopts the pins, no link detached";
	char why[1024] = "", cg[PATH_MAX], att0[8192], att1[8192], ids0[8192], ids1[8192], log[65536], got[256];
	struct storm s;
	struct storm_res t;
	struct nmt_probe_res r;
	int n0, n1, st, err;
	long off;

	nmt_cg_path("sb/k9", cg, sizeof(cg));
	err = nm_cgroup_create(cg);
	if (err) {
		nmt_verdict(false, desc, "mkdir %s: %s", cg, strerror(-err));
		return;
	}
	if (!status_attached(att0, sizeof(att0), why, sizeof(why))) {
		nmt_verdict(false, desc, "%s", why);
		return;
	}
	n0 = link_ids(ids0, sizeof(ids0));
	if (n0 < 8)
		nmt_why_set(why, sizeof(why), "only %d pinned links before (%s)", n0, ids0);
	storm_start(&s, cg, NMT_META4, 80, STORM6_MS, 200);
	nmt_sleep_ms(800);
	st = daemon_stop(SIGKILL, 3000);
	if (st < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		nmt_why_set(why, sizeof(why), "nomoatd did not die by SIGKILL (status %d)", st);
	nmt_sleep_ms(700); /* the storm goes on with no daemon at all */
	if (!daemon_start(&off, why, sizeof(why))) {
		storm_end(&s, STORM6_MS, &t);
		nmt_verdict(false, desc, "restart: %s", why);
		return;
	}
	storm_end(&s, STORM6_MS, &t);
	if (t.hello || t.proxy || t.other)
		nmt_why_set(why, sizeof(why), "%d of %d connects were not EPERM: %d reached the host, %d the proxy, %d other "
			"(first: %s)", t.hello + t.proxy + t.other, t.loops, t.hello, t.proxy, t.other, t.first_other);
	else if (t.eperm < 100)
		nmt_why_set(why, sizeof(why), "the storm made only %d connects", t.eperm);
	read_file_from(F.dlog, off, log, sizeof(log));
	if (!strstr(log, "adopted the pinned state"))
		nmt_why_set(why, sizeof(why), "the restarted nomoatd does not say it adopted the pinned state: %s", nmt_oneline(log));
	probe(F.sb, NMT_META4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "after the restart, tcp4 169.254.169.254:80: expected EPERM, got %s", got);
	if (status_attached(att1, sizeof(att1), why, sizeof(why)) && strcmp(att0, att1))
		nmt_why_set(why, sizeof(why), "`nomoat -j status` attached list changed: before %s, after %s", att0, att1);
	n1 = link_ids(ids1, sizeof(ids1));
	if (n1 != n0 || strcmp(ids0, ids1))
		nmt_why_set(why, sizeof(why), "pinned links changed (a link was detached or made again): before %s after %s",
			ids0, ids1);
	printf("#   kill -9: %d connects, %d EPERM; %d links kept\n", t.loops, t.eperm, n1);
	nmt_verdict(!*why, desc, "%s", why);
}

/* Does path hold needle anywhere past off?  (read in pieces of len, each
 * overlapping the last by the needle's length) */
static bool file_has_from(const char *path, long off, const char *needle, char *buf, size_t len)
{
	size_t nl = strlen(needle);

	for (int i = 0; i < 100000; i++) {
		size_t got = read_file_from(path, off, buf, len);

		if (strstr(buf, needle))
			return true;
		if (got <= nl)
			return false;
		off += (long)(got - nl);
	}
	return false;
}

/* 10. The pin dir removed under the running daemon: connects stay EPERM all
 * along (the daemon holds every object, so the links stay attached), the
 * daemon says so in its log and its event stream, pins everything again at
 * the same paths, and the CLI works again with the same links. */
#define PINS_MS 4000

static void case_pins_removed(void)
{
	const char *desc = "pin dir removed under nomoatd: connects stay EPERM, the daemon reports it and pins everything "
			   "again (same links, CLI works)";
	char why[1024] = "", cg[PATH_MAX], ids0[8192], ids1[8192], log[65536], elog[1 << 16], got[256];
	struct storm s;
	struct storm_res t;
	struct nmt_probe_res r;
	long off, eoff;
	int n0, n1, err, rc;
	long long end;

	nmt_cg_path("sb/pins", cg, sizeof(cg));
	err = nm_cgroup_create(cg);
	if (err) {
		nmt_verdict(false, desc, "mkdir %s: %s", cg, strerror(-err));
		return;
	}
	n0 = link_ids(ids0, sizeof(ids0));
	off = file_size(F.dlog);
	eoff = file_size(F.evlog);
	storm_start(&s, cg, NMT_META4, 80, PINS_MS, 200);
	nmt_sleep_ms(500);
	rc = nmt_rmtree(nmt_h.pin_dir);
	if (rc)
		nmt_why_set(why, sizeof(why), "removing %s: %s", nmt_h.pin_dir, strerror(-rc));
	/* The daemon looks every second: wait for the pins to come back. */
	end = nmt_now_ms() + 3000;
	while (access(nmt_h.pin_dir, F_OK) && nmt_now_ms() < end)
		nmt_sleep_ms(50);
	nmt_sleep_ms(300);
	storm_end(&s, PINS_MS, &t);
	if (t.hello || t.proxy || t.other)
		nmt_why_set(why, sizeof(why), "%d of %d connects were not EPERM: %d reached the host, %d the proxy, %d other "
			"(first: %s)", t.hello + t.proxy + t.other, t.loops, t.hello, t.proxy, t.other, t.first_other);
	else if (t.eperm < 100)
		nmt_why_set(why, sizeof(why), "the storm made only %d connects", t.eperm);
	read_file_from(F.dlog, off, log, sizeof(log));
	if (!strstr(log, "pins at") || !strstr(log, "pinned again"))
		nmt_why_set(why, sizeof(why), "the daemon's log does not report the removed pins: %s", nmt_oneline(log));
	if (!file_has_from(F.evlog, eoff, "\"type\":\"pins\"", elog, sizeof(elog)))
		nmt_why_set(why, sizeof(why), "no {\"type\":\"pins\"} line in the events log");
	n1 = link_ids(ids1, sizeof(ids1));
	if (n1 != n0 || strcmp(ids0, ids1))
		nmt_why_set(why, sizeof(why), "pinned links differ: before %s, after %s", ids0, ids1);
	rc = nmt_cli("policy list");
	if (rc)
		nmt_why_set(why, sizeof(why), "`nomoat policy list` after the restore: exit %d: %s", rc, nmt_cli_msg());
	probe(F.sb, NMT_META4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "after the restore, tcp4 169.254.169.254:80: expected EPERM, got %s", got);
	printf("#   pins removed: %d connects, %d EPERM; %d links kept\n", t.loops, t.eperm, n1);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 11. The proxy's access log (proxy-log) is merged into the event stream:
 * lines appended after the daemon started come out in its events log, a
 * partial line waits for its end, a line that is not a JSON object is not
 * passed on, and the counter says how many were. */
static void case_proxy_log(void)
{
	const char *desc = "proxy-log: lines nomoat-proxy appends to its access log come out in the daemon's event stream";
	char why[1024] = "", buf[1 << 16];
	long eoff = file_size(F.evlog);
	double before = metric("nomoat_proxy_lines_total"), after;
	FILE *f = fopen(F.plog, "a");
	long long end;

	if (!f) {
		nmt_verdict(false, desc, "cannot open %s: %s", F.plog, strerror(errno));
		return;
	}
	fprintf(f, "{\"type\":\"proxy\",\"name\":\"allowed.test\",\"verdict\":\"allow\",\"n\":1}\n"
		   "not json\n"
		   "{\"type\":\"proxy\",\"name\":\"evil.test\",\"verdict\":\"deny\",\"n\":2}\n"
		   "{\"type\":\"proxy\",\"name\":\"half");
	fflush(f);
	end = nmt_now_ms() + 3000;
	while (!file_has_from(F.evlog, eoff, "\"name\":\"evil.test\"", buf, sizeof(buf)) && nmt_now_ms() < end)
		nmt_sleep_ms(50);
	if (!file_has_from(F.evlog, eoff, "\"name\":\"allowed.test\",\"verdict\":\"allow\"", buf, sizeof(buf)) ||
	    !file_has_from(F.evlog, eoff, "\"name\":\"evil.test\",\"verdict\":\"deny\"", buf, sizeof(buf)))
		nmt_why_set(why, sizeof(why), "the two lines are not in the events log within 3 s");
	if (file_has_from(F.evlog, eoff, "not json", buf, sizeof(buf)))
		nmt_why_set(why, sizeof(why), "a line that is no JSON object was passed on");
	if (file_has_from(F.evlog, eoff, "\"half", buf, sizeof(buf)))
		nmt_why_set(why, sizeof(why), "a partial line was passed on");
	fprintf(f, "\",\"n\":3}\n");
	fclose(f);
	end = nmt_now_ms() + 3000;
	while (!file_has_from(F.evlog, eoff, "\"name\":\"half\"", buf, sizeof(buf)) && nmt_now_ms() < end)
		nmt_sleep_ms(50);
	if (!file_has_from(F.evlog, eoff, "\"name\":\"half\",\"n\":3}", buf, sizeof(buf)))
		nmt_why_set(why, sizeof(why), "the line finished later did not come out whole");
	after = metric("nomoat_proxy_lines_total");
	if (after - before != 3)
		nmt_why_set(why, sizeof(why), "nomoat_proxy_lines_total went from %.0f to %.0f, expected +3", before, after);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 11b. The resolver's log (dns-log): its query lines come out in the event
 * stream; its counters line (dns-stats) does not, it becomes metrics. */
static void case_dns_log(void)
{
	const char *desc = "dns-log: nomoat-dns's refusals come out in the event stream, its counters as metrics";
	char why[1024] = "", buf[1 << 16];
	long eoff = file_size(F.evlog);
	double before = metric("nomoat_dns_lines_total"), after;
	FILE *f = fopen(F.nlog, "a");
	long long end;

	if (!f) {
		nmt_verdict(false, desc, "cannot open %s: %s", F.nlog, strerror(errno));
		return;
	}
	fprintf(f, "{\"type\":\"dns\",\"policy\":\"agents\",\"name\":\"evil.example\",\"reason\":\"not-allowed\"}\n"
		   "{\"type\":\"dns-stats\",\"time\":\"x\",\"queries\":42,\"answered\":40,"
		   "\"refused\":{\"not-allowed\":2,\"rate\":0}}\n");
	fclose(f);
	end = nmt_now_ms() + 3000;
	while (!file_has_from(F.evlog, eoff, "\"name\":\"evil.example\"", buf, sizeof(buf)) && nmt_now_ms() < end)
		nmt_sleep_ms(50);
	if (!file_has_from(F.evlog, eoff, "\"name\":\"evil.example\",\"reason\":\"not-allowed\"", buf, sizeof(buf)))
		nmt_why_set(why, sizeof(why), "the query line is not in the events log within 3 s");
	if (file_has_from(F.evlog, eoff, "dns-stats", buf, sizeof(buf)))
		nmt_why_set(why, sizeof(why), "the counters line went into the stream");
	after = metric("nomoat_dns_lines_total");
	if (after - before != 1)
		nmt_why_set(why, sizeof(why), "nomoat_dns_lines_total went from %.0f to %.0f, expected +1", before, after);
	if (metric("nomoat_dns_total{counter=\"queries\"}") != 42 ||
	    metric("nomoat_dns_refused_total{reason=\"not-allowed\"}") != 2)
		nmt_why_set(why, sizeof(why), "queries %.0f, refused not-allowed %.0f: expected 42 and 2",
			    metric("nomoat_dns_total{counter=\"queries\"}"),
			    metric("nomoat_dns_refused_total{reason=\"not-allowed\"}"));
	nmt_verdict(!*why, desc, "%s", why);
}

/* Wait (bounded) until nomoat_events_total stays the same for 300 ms. */
static bool events_quiet(int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;
	double a = metric("nomoat_events_total"), b;

	while (nmt_now_ms() < end) {
		nmt_sleep_ms(300);
		b = metric("nomoat_events_total");
		if (a >= 0 && a == b)
			return true;
		a = b;
	}
	return false;
}

/* 7. Two `nomoat events --socket` clients both get the deny. */
static void case_events(void)
{
	const char *desc = "events: two `nomoat events --socket` clients both receive the deny, with its fields";
	char why[1024] = "", cg[PATH_MAX], args[512], got[256], pid_s[32];
	static char out[2][65536];
	char err[2][4096];
	int fd[2] = { -1, -1 }, efd[2] = { -1, -1 }, rc[2];
	pid_t pid[2] = { 0, 0 };
	struct nmt_probe_res r;
	double clients;
	long long end;
	int e;

	nmt_cg_path("sb/ev7", cg, sizeof(cg));
	e = nm_cgroup_create(cg);
	if (e) {
		nmt_verdict(false, desc, "mkdir %s: %s", cg, strerror(-e));
		return;
	}
	/* Quiet first: the daemon reads the ring buffer every 100 ms, so a
	 * client may otherwise get a decision made just before it connected
	 * (the end of the kill -9 storm), and --count 1 would stop there. */
	if (!events_quiet(3000)) {
		nmt_verdict(false, desc, "the daemon's event count did not settle within 3 s");
		return;
	}
	/* Two denies, two lines each client: a late event of an earlier case's
	 * flow (its backstop drop can come after the count settled) may take
	 * one place, never both. */
	snprintf(args, sizeof(args), "events --socket %s --count 2 --timeout 5", F.evsock);
	for (int i = 0; i < 2; i++) {
		pid[i] = nmt_cli_bg(&fd[i], &efd[i], args);
		if (pid[i] < 0) {
			nmt_verdict(false, desc, "cannot start `nomoat %s`: %s", args, strerror(-pid[i]));
			if (i)
				nmt_cli_bg_end(pid[0], fd[0], efd[0], out[0], sizeof(out[0]), err[0], sizeof(err[0]), 100);
			return;
		}
	}
	/* Both connected before the connect is made. */
	end = nmt_now_ms() + 3000;
	do {
		clients = metric("nomoat_event_clients");
		if (clients >= 2)
			break;
		nmt_sleep_ms(20);
	} while (nmt_now_ms() < end);
	if (clients < 2)
		nmt_why_set(why, sizeof(why), "nomoat_event_clients is %.0f after 3 s, want 2", clients);
	probe(cg, NMT_META4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "tcp4 169.254.169.254:80: expected EPERM, got %s", got);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)r.pid);
	{
		struct nmt_probe_res r2;

		probe(cg, NMT_META4, 80, &r2, got, sizeof(got));
		if (!is_eperm(&r2))
			nmt_why_set(why, sizeof(why), "second tcp4 169.254.169.254:80: expected EPERM, got %s", got);
	}
	for (int i = 0; i < 2; i++) {
		const struct nmt_want_field w[] = {
			{ "verdict", "deny" }, { "dst", "169.254.169.254:80" }, { "policy", "agents" },
			{ "pid", pid_s },      { "cgroup", cg },                { "container", NULL },
			{ NULL, NULL },
		};
		char *line = NULL, fwhy[1024];

		rc[i] = nmt_cli_bg_end(pid[i], fd[i], efd[i], out[i], sizeof(out[i]), err[i], sizeof(err[i]), 8000);
		if (rc[i] != 0) {
			nmt_why_set(why, sizeof(why), "client %d: exit %d, output '%s', stderr '%s'", i + 1, rc[i],
				nmt_oneline(out[i]), err[i]);
			continue;
		}
		/* The first probe's deny, with every field; the first decision
		 * line's mismatch is what is reported when there is none. */
		*fwhy = 0;
		for (char *l = strtok(out[i], "\n"); l && !line; l = strtok(NULL, "\n")) {
			char lwhy[1024];

			if (!strstr(l, "\"type\":\"decision\""))
				continue;
			if (nmt_check_fields(l, w, lwhy, sizeof(lwhy)))
				line = l;
			else if (!*fwhy)
				snprintf(fwhy, sizeof(fwhy), "%s", lwhy);
		}
		if (!line)
			nmt_why_set(why, sizeof(why), "client %d: no decision line of the deny (%s)", i + 1,
				*fwhy ? fwhy : "no decision line at all");
	}
	nmt_verdict(!*why, desc, "%s", why);
}

/* 8. The per-cgroup rate limit of the event stream. */
#define RL_N 200

struct rl_arg {
	int wfd;
};

static int rl_child(void *arg)
{
	const struct rl_arg *a = arg;
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, NMT_META4, 5300, false), fd, res[2] = { 0, 0 };

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || len < 0)
		return 1;
	for (int i = 0; i < RL_N; i++) {
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0 && errno == EPERM)
			res[0]++;
		else
			res[1]++;
	}
	close(fd);
	return write(a->wfd, res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

static void case_rate_limit(void)
{
	const char *desc = "rate limit: events-rate 5, 200 denied sendto's from one cgroup -> at most 10 decision lines, "
			   "a limited line with the count, nomoat_events_limited_total grew";
	char why[1024] = "", cg[PATH_MAX], id_s[32];
	static char log[1 << 22];
	double ok = metric(M_RELOAD_OK), lim0, lim1 = -1;
	int p[2], res[2] = { -1, -1 }, decisions = 0, limited_lines = 0, e;
	long long limited = 0, end;
	struct rl_arg a;
	long off;
	pid_t pid;

	nmt_cg_path("sb/rl8", cg, sizeof(cg));
	e = nm_cgroup_create(cg);
	if (e) {
		nmt_verdict(false, desc, "mkdir %s: %s", cg, strerror(-e));
		return;
	}
	snprintf(id_s, sizeof(id_s), "%llu", nmt_cg_id_abs(cg));
	if (!write_config(F.conf, CFG_A, 5, NULL) || kill(F.dpid, SIGHUP)) {
		nmt_verdict(false, desc, "cannot write %s or signal nomoatd", F.conf);
		return;
	}
	if (metric_wait_above(M_RELOAD_OK, ok, 3000) <= ok) {
		nmt_verdict(false, desc, "the file with events-rate 5 was not applied within 3 s");
		return;
	}
	lim0 = metric("nomoat_events_limited_total");
	off = file_size(F.evlog);
	if (pipe2(p, O_CLOEXEC)) {
		nmt_verdict(false, desc, "pipe: %s", strerror(errno));
		return;
	}
	a.wfd = p[1];
	pid = nmt_spawn(cg, nmt_h.topo.cns, rl_child, &a);
	close(p[1]);
	if (pid > 0) {
		nmt_read_all(p[0], (char *)res, sizeof(res), 5000);
		nmt_wait(pid, 2000);
	}
	close(p[0]);
	if (res[0] != RL_N)
		nmt_why_set(why, sizeof(why), "the child's sendto's: %d EPERM, %d other (want %d EPERM)", res[0], res[1], RL_N);
	/* Every event is either a line or counted as limited: wait for all. */
	end = nmt_now_ms() + 3000;
	do {
		nmt_sleep_ms(150);
		read_file_from(F.evlog, off, log, sizeof(log));
		decisions = limited_lines = 0;
		limited = 0;
		for (char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			char v[64], t[32];
			char *nl = strchr(l, '\n');

			if (nl)
				*nl = 0;
			if (!nmt_json_get(l, "cgroup_id", v, sizeof(v)) && !strcmp(v, id_s) &&
			    !nmt_json_get(l, "type", t, sizeof(t))) {
				if (!strcmp(t, "decision"))
					decisions++;
				else if (!strcmp(t, "limited") && !nmt_json_get(l, "events_limited", v, sizeof(v))) {
					limited_lines++;
					limited += atoll(v);
				}
			}
			if (nl)
				*nl = '\n';
		}
	} while (decisions + limited < RL_N && nmt_now_ms() < end);
	lim1 = metric("nomoat_events_limited_total");
	if (!limited_lines)
		nmt_why_set(why, sizeof(why), "no {\"type\":\"limited\",\"cgroup_id\":%s,...} line in the event log (%d decision "
			"lines)", id_s, decisions);
	else if (decisions < 1 || decisions > 10)
		nmt_why_set(why, sizeof(why), "%d decision lines for the cgroup, want 1..10 (events-rate 5)", decisions);
	else if (decisions + limited != RL_N)
		nmt_why_set(why, sizeof(why), "%d decision lines + %lld limited = %lld, want %d", decisions, limited,
			decisions + limited, RL_N);
	if (lim0 < 0 || lim1 - lim0 < limited || lim1 - lim0 < 150)
		nmt_why_set(why, sizeof(why), "nomoat_events_limited_total went from %.0f to %.0f (limited lines say %lld)", lim0,
			lim1, limited);
	printf("#   rate limit: %d decision lines, %lld limited in %d line(s); metric +%.0f\n", decisions, limited,
	       limited_lines, lim1 - lim0);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 9. Metrics: a well-formed exposition over the unix socket. */
static void case_metrics(void)
{
	const char *desc = "metrics: GET /metrics over the unix socket is 200, every sample line parses, agents' deny "
			   "decisions > 0";
	const char *re_s = "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})?"
			   " [0-9.eE+-]+$";
	static char body[1 << 20];
	char why[1024] = "", head[512];
	const char *b;
	regex_t re;
	int status, samples = 0, n;
	double deny;

	if (regcomp(&re, re_s, REG_EXTENDED | REG_NOSUB)) {
		nmt_verdict(false, desc, "regcomp failed");
		return;
	}
	status = metrics_get(&b);
	snprintf(head, sizeof(head), "%.*s", (int)strcspn(mbuf, "\r\n"), mbuf);
	snprintf(body, sizeof(body), "%s", b);
	if (status != 200)
		nmt_why_set(why, sizeof(why), "GET /metrics on %s: status %d (%s)", F.msock, status,
			status < 0 ? strerror(-status) : head);
	else if (!strstr(mbuf, "Content-Type: text/plain"))
		nmt_why_set(why, sizeof(why), "no Content-Type: text/plain in the answer head");
	for (char *l = body; status == 200 && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
		if (!*line)
			continue;
		if (line[0] == '#') {
			if (strncmp(line, "# HELP ", 7) && strncmp(line, "# TYPE ", 7))
				nmt_why_set(why, sizeof(why), "a comment line is neither # HELP nor # TYPE: '%s'", line);
			continue;
		}
		samples++;
		if (regexec(&re, line, 0, NULL, 0))
			nmt_why_set(why, sizeof(why), "a sample line does not parse: '%s'", line);
	}
	regfree(&re);
	deny = metric_in(body, "nomoat_decisions_total{policy=\"agents\",verdict=\"deny\"}");
	if (status == 200 && samples < 10)
		nmt_why_set(why, sizeof(why), "only %d sample lines", samples);
	if (status == 200 && deny <= 0)
		nmt_why_set(why, sizeof(why), "nomoat_decisions_total{policy=\"agents\",verdict=\"deny\"} is %.0f", deny);
	/* Another path is 404. */
	n = http_unix(F.msock, "GET /nope HTTP/1.0\r\n\r\n", mbuf, sizeof(mbuf), 5000);
	if (n < 0 || strncmp(mbuf, "HTTP/1.0 404", 12))
		nmt_why_set(why, sizeof(why), "GET /nope: %s", n < 0 ? strerror(-n) : nmt_oneline(mbuf));
	printf("#   metrics: %d samples, agents deny %.0f\n", samples, deny);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 10. The OCI hook binds a container's cgroup by its annotation. */
static void case_oci_hook(void)
{
	const char *desc = "oci-hook: the annotation nomoat.policy=strict binds the container's cgroup; none binds "
			   "nothing (exit 0); malformed exits 2";
	char why[1024] = "", cg1[PATH_MAX], cg2[PATH_MAX], st[PATH_MAX], json[1024], out[4096], err[4096];
	char pol[64], got[256];
	char *argv[] = { (char *)nmt_h.cli, "oci-hook", NULL };
	struct nmt_probe_res r;
	pid_t k1 = -1, k2 = -1;
	int rc, e;

	nmt_cg_path("sb/oci-1", cg1, sizeof(cg1));
	nmt_cg_path("sb/oci-2", cg2, sizeof(cg2));
	snprintf(st, sizeof(st), "%s/state.json", F.tmp);
	if ((e = nm_cgroup_create(cg1)) || (e = nm_cgroup_create(cg2))) {
		nmt_verdict(false, desc, "mkdir: %s", strerror(-e));
		return;
	}
	k1 = nmt_spawn(cg1, NULL, sleeper, NULL);
	k2 = nmt_spawn(cg2, NULL, sleeper, NULL);
	if (k1 < 0 || k2 < 0) {
		nmt_why_set(why, sizeof(why), "cannot start the container processes");
		goto out;
	}
	nmt_sleep_ms(100); /* let them move into their cgroups */
	/* With the annotation. */
	snprintf(json, sizeof(json),
		 "{\"ociVersion\":\"1.0.2\",\"id\":\"nomoatd-test-1\",\"status\":\"created\",\"pid\":%d,"
		 "\"bundle\":\"/srv/bundles/t1\",\"annotations\":{\"io.example.x\":\"y\",\"nomoat.policy\":\"strict\"}}\n",
		 (int)k1);
	write_file(st, json);
	rc = cmd_stdin(argv, st, out, sizeof(out), err, sizeof(err), 10000);
	if (rc != 0)
		nmt_why_set(why, sizeof(why), "`nomoat oci-hook` (strict) exit %d: %s", rc, nmt_oneline(*err ? err : out));
	rc = bound_policy(cg1, pol, sizeof(pol));
	if (rc || strcmp(pol, "strict"))
		nmt_why_set(why, sizeof(why), "after the hook, %s is %s%s (cgroup list rc %d)", cg1, rc ? "not bound" : "bound to ",
			pol, rc);
	probe(cg1, NMT_NET4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "from the hooked cgroup (strict) tcp4 11.22.33.44:80: expected EPERM, got %s", got);
	/* Without the annotation. */
	snprintf(json, sizeof(json),
		 "{\"ociVersion\":\"1.0.2\",\"id\":\"nomoatd-test-2\",\"status\":\"created\",\"pid\":%d,"
		 "\"bundle\":\"/srv/bundles/t2\",\"annotations\":{\"io.example.x\":\"y\"}}\n",
		 (int)k2);
	write_file(st, json);
	rc = cmd_stdin(argv, st, out, sizeof(out), err, sizeof(err), 10000);
	if (rc != 0)
		nmt_why_set(why, sizeof(why), "`nomoat oci-hook` (no annotation) exit %d: %s", rc, nmt_oneline(*err ? err : out));
	rc = bound_policy(cg2, pol, sizeof(pol));
	if (rc != -ENOENT)
		nmt_why_set(why, sizeof(why), "without the annotation, %s: cgroup list rc %d, policy '%s' (want not bound)", cg2,
			rc, pol);
	probe(cg2, NMT_NET4, 80, &r, got, sizeof(got));
	if (!is_proxied(&r, "11.22.33.44:80"))
		nmt_why_set(why, sizeof(why), "from the unannotated cgroup (agents) tcp4 11.22.33.44:80: expected the proxy, got %s",
			got);
	/* Malformed. */
	write_file(st, "{\"ociVersion\":\"1.0.2\",\"id\":\"trunc\",\"status\":\"created\",\"pid\":12,\"annotations\":{\"nomoat.po");
	rc = cmd_stdin(argv, st, out, sizeof(out), err, sizeof(err), 10000);
	if (rc != 2)
		nmt_why_set(why, sizeof(why), "`nomoat oci-hook` (malformed) exit %d, want 2: %s", rc, nmt_oneline(*err ? err : out));
out:
	if (k1 > 0) {
		kill(k1, SIGKILL);
		nmt_wait(k1, 2000);
	}
	if (k2 > 0) {
		kill(k2, SIGKILL);
		nmt_wait(k2, 2000);
	}
	unlink(st);
	nmt_verdict(!*why, desc, "%s", why);
}

/* 11. SIGTERM: exit 0, enforcement stays; `nomoat unload` ends it. */
static void case_sigterm(void)
{
	const char *desc = "sigterm: nomoatd exits 0 saying enforcement stays, a deny still holds; `nomoat unload` "
			   "removes everything";
	char why[1024] = "", log[65536], got[256];
	struct nmt_probe_res r;
	struct stat sb;
	long off = file_size(F.dlog);
	int st, rc, n;

	st = daemon_stop(SIGTERM, 5000);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		nmt_why_set(why, sizeof(why), "nomoatd after SIGTERM: wait status %d (%s)", st,
			st == -ETIMEDOUT ? "did not exit within 5 s" : st >= 0 && WIFSIGNALED(st) ? "killed by a signal" :
			"exit code not 0");
	read_file_from(F.dlog, off, log, sizeof(log));
	if (!strstr(log, "enforcement stays"))
		nmt_why_set(why, sizeof(why), "its stderr does not say enforcement stays: %s", nmt_oneline(log));
	if (access(F.pidfile, F_OK) == 0)
		nmt_why_set(why, sizeof(why), "the pidfile %s is still there", F.pidfile);
	probe(F.sb, NMT_META4, 80, &r, got, sizeof(got));
	if (!is_eperm(&r))
		nmt_why_set(why, sizeof(why), "with no daemon, tcp4 169.254.169.254:80: expected EPERM, got %s", got);
	rc = nmt_cli("unload");
	nmt_h.unloaded = rc == 0;
	if (rc)
		nmt_why_set(why, sizeof(why), "`nomoat unload` exit %d: %s", rc, nmt_cli_msg());
	if (stat(nmt_h.pin_dir, &sb) == 0)
		nmt_why_set(why, sizeof(why), "pin dir %s still exists after unload", nmt_h.pin_dir);
	n = nmt_progs_attached(F.sb, NULL, 0);
	if (n != 0)
		nmt_why_set(why, sizeof(why), "%d programs still attached at %s", n, F.sb);
	probe(F.sb, NMT_META4, 80, &r, got, sizeof(got));
	if (!is_hello(&r, "169.254.169.254:80"))
		nmt_why_set(why, sizeof(why), "after unload, tcp4 169.254.169.254:80: expected the host's HELLO, got %s", got);
	nmt_verdict(!*why, desc, "%s", why);
}

/* ---- main ---------------------------------------------------------------- */
/* The cases that need a running daemon, in order. */
static const struct {
	void (*fn)(void);
	const char *name;
} with_daemon[] = {
	{ case_new_cgroup, "new cgroup" },   { case_reload_storm, "reload storm" },
	{ case_failed_reload, "failed reload" }, { case_kill9, "kill -9" },
	{ case_pins_removed, "pins removed" }, { case_proxy_log, "proxy-log" },
	{ case_dns_log, "dns-log" },
	{ case_events, "events" },           { case_rate_limit, "rate limit" },
	{ case_metrics, "metrics" },         { case_oci_hook, "oci-hook" },
	{ case_sigterm, "sigterm" },
};

static char fixture_why[600];

static bool fixture(void)
{
	static const char *const dirs[] = { "sb", "proxy", NULL };
	char p[PATH_MAX];
	int err;

	if (access(nmt_h.cli, X_OK) || access(F.nomoatd, X_OK)) {
		snprintf(fixture_why, sizeof(fixture_why), "%s or %s is not executable", nmt_h.cli, F.nomoatd);
		return false;
	}
	snprintf(F.tmp, sizeof(F.tmp), "/tmp/nomoatd-test-%d", (int)nmt_h.main_pid);
	if (mkdir(F.tmp, 0700)) {
		snprintf(fixture_why, sizeof(fixture_why), "mkdir %s: %s", F.tmp, strerror(errno));
		return false;
	}
	F.made_tmp = true;
	snprintf(F.conf, sizeof(F.conf), "%s/nomoat.conf", F.tmp);
	snprintf(F.pidfile, sizeof(F.pidfile), "%s/nomoatd.pid", F.tmp);
	snprintf(F.evsock, sizeof(F.evsock), "%s/events.sock", F.tmp);
	snprintf(F.msock, sizeof(F.msock), "%s/metrics.sock", F.tmp);
	snprintf(F.evlog, sizeof(F.evlog), "%s/events.jsonl", F.tmp);
	snprintf(F.dlog, sizeof(F.dlog), "%s/nomoatd.log", F.tmp);
	snprintf(F.plog, sizeof(F.plog), "%s/proxy.jsonl", F.tmp);
	snprintf(F.nlog, sizeof(F.nlog), "%s/dns.jsonl", F.tmp);
	if (!nmt_base_up("nomoatd-test", fixture_why, sizeof(fixture_why)))
		return false;
	snprintf(F.rel, sizeof(F.rel), "/nomoatd-test-%d", (int)nmt_h.main_pid);
	snprintf(F.sb, sizeof(F.sb), "%s/sb", nmt_h.base);
	for (int i = 0; dirs[i]; i++) {
		nmt_cg_path(dirs[i], p, sizeof(p));
		err = nm_cgroup_create(p);
		if (err) {
			snprintf(fixture_why, sizeof(fixture_why), "mkdir %.400s: %s", p, strerror(-err));
			return false;
		}
	}
	return nmt_net_up("proxy", fixture_why, sizeof(fixture_why));
}

int main(int argc, char **argv)
{
	static char cli_abs[PATH_MAX], d_abs[PATH_MAX];
	const char *cli_arg = "build/nomoat", *d_arg = NULL;
	long long t0;
	int npos = 0;

	nmt_harness_init();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			nmt_verbose = 1;
		else if (argv[i][0] == '-' || npos >= 2) {
			fprintf(stderr, "usage: %s [-v] [NOMOAT [NOMOATD]]\n", argv[0]);
			return 2;
		} else if (npos++ == 0)
			cli_arg = argv[i];
		else
			d_arg = argv[i];
	}
	nmt_h.cli = realpath(cli_arg, cli_abs) ? cli_abs : cli_arg;
	if (d_arg) {
		F.nomoatd = realpath(d_arg, d_abs) ? d_abs : d_arg;
	} else {
		char tmp[PATH_MAX];
		char *slash;

		snprintf(tmp, sizeof(tmp), "%s", nmt_h.cli);
		slash = strrchr(tmp, '/');
		if (slash)
			snprintf(slash + 1, sizeof(tmp) - (slash + 1 - tmp), "nomoatd");
		else
			snprintf(tmp, sizeof(tmp), "nomoatd");
		F.nomoatd = realpath(tmp, d_abs) ? d_abs : strdup(tmp);
	}
	nmt_h.cleanup_first = cleanup_daemon;
	nmt_h.cleanup_last = cleanup_tmp;
	if (!nmt_harness_start("daemon-integration", "nomoatd-test"))
		return 1;

	t0 = nmt_now_ms();
	if (!fixture()) {
		nmt_verdict(false, "fixture: topology, servers, cgroups, temp dir", "%s", fixture_why);
		return nmt_finish();
	}
	case_check();
	case_start();
	for (size_t i = 0; i < sizeof(with_daemon) / sizeof(with_daemon[0]); i++) {
		if (daemon_alive())
			with_daemon[i].fn();
		else
			nmt_verdict(false, with_daemon[i].name, "nomoatd is not running (see above), not tried");
	}
	printf("# daemon-integration: %.1f s\n", (nmt_now_ms() - t0) / 1000.0);
	return nmt_finish();
}
