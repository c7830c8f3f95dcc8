// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench, part "proxy": what the egress proxy costs a sandbox's
 * traffic, direct (the floor) against nomoat-proxy and against Squid in
 * intercept mode, both behind nomoat's redirect.
 *
 * Two network namespaces of its own joined by a veth pair: the client's
 * (10.251.0.2, a route to 198.18.0.1 only, the RFC 2544 benchmarking
 * range) and the world's (10.251.0.1, the server at 198.18.0.1:80 on its
 * lo, the proxies on 10.251.0.1).  The server (C, epoll) answers HTTP/1.1:
 * GET /bulk with an endless body, GET /rr with a 2-byte body on a
 * keep-alive connection.  The client (C) runs in one of three cgroups:
 *   direct  not under any attach point: straight to 198.18.0.1:80;
 *   nomoat  under the bench's attach point, bound to a policy whose default
 *           is redirect to nomoat-proxy at 10.251.0.1:3128;
 *   squid   the same with Squid's intercept port 10.251.0.1:3129.
 * Both proxies run in a cgroup under the attach point bound to a
 * default-allow policy (the fence; it answers SO_ORIGINAL_DST), without
 * dropping privileges (Squid switches to its own user), writing their
 * access logs into a temporary directory.  nomoat-proxy allows the name
 * bench.test (from a hosts file, no DNS), so the measured path is the real
 * one: client -> kernel redirect -> proxy (reads the original destination
 * and the Host, resolves, connects) -> server.  Squid gets the same hosts
 * file and host_verify_strict, and no cache.
 *
 * Figures, each measured in turn for the three modes, in alternating
 * rounds (the mode that goes first rotates):
 *   one stream   bytes/s of one download for BULK_MS (the first 100 ms not
 *                counted);
 *   64 streams   the same summed over 64 connections at once;
 *   keep-alive   RR_COUNT small request/response exchanges one after the
 *                other on one connection: median µs each, and exchanges/s;
 *   new conn     NC_COUNT exchanges each on a new connection (connect,
 *                request with Connection: close, response, EOF): ditto.
 * Nothing is pinned to a CPU: client, proxy and server share the machine.
 */
#include "bench_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "err.h"
#include "policy.h"

#define PX_WORLD     "10.251.0.1"
#define PX_CLIENT    "10.251.0.2"
#define PX_NMP_PORT  3128
#define PX_SQ_PORT   3129
#define PX_SQ_FWD    3130
#define PX_POL_NMP   "nomoat-bench-px-nmp"
#define PX_POL_SQ    "nomoat-bench-px-squid"
#define PX_POL_FENCE "nomoat-bench-px-fence"
#define SQUID_USER   "proxy"

#define ROUNDS       7
#define ROUNDS_Q     3
#define IDLE_REPS    BENCH_PX_IDLE_REPS

/* Targets (issue 11) */
#define BULK_RATIO_MIN 0.80 /* of direct, one stream and 64 */
#define RR_ADDED_MAX   30   /* us added to a keep-alive exchange */
#define NC_ADDED_MAX   80   /* us added to a new-connection exchange */
#define SQUID_X_MIN    3    /* times Squid's rate, every figure */
#define IDLE_KIB_MAX   64   /* per idle relayed connection */
#define START_MS     15000 /* bound on a proxy's start */


static const char *const mode_names[BENCH_PX_MODES] = { "direct", "nomoat-proxy", "squid" };

/* ---- the set-up ------------------------------------------------------------- */
struct px {
	const struct bench_env *e;
	char ns_c[64], ns_w[64], dir[PATH_MAX], sqdir[PATH_MAX];
	char cg_att[PATH_MAX], cg_direct[PATH_MAX], cg_nmp[PATH_MAX], cg_sq[PATH_MAX], cg_proxy[PATH_MAX];
	char nmp_bin[PATH_MAX], nmp_out[PATH_MAX], sq_clog[PATH_MAX];
	const char *squid_bin;
	bool ns_c_made, ns_w_made, dir_made, cg_made[4], pol_made[3], bound[3];
	__u64 cgid[3]; /* nmp, squid, proxy */
	pid_t srv, nmp, squid;
};

static int net_up(struct px *x)
{
	int err;

	if ((err = bench_netpair_up("p", x->ns_c, sizeof(x->ns_c), x->ns_w, sizeof(x->ns_w), &x->ns_c_made,
				    &x->ns_w_made, PX_CLIENT "/24", PX_WORLD "/24")) ||
	    (err = bench_run(5000, false, "ip", "-n", x->ns_w, "addr", "add", PX_SRV "/32", "dev", "lo", NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", x->ns_c, "route", "add", PX_SRV "/32", "via", PX_WORLD, NULL)))
		return err;
	return 0;
}

static int cgroups_up(struct px *x)
{
	char *paths[4] = { x->cg_direct, x->cg_nmp, x->cg_sq, x->cg_proxy };
	int err;

	/* the attach point is the app cgroup's parent */
	snprintf(x->cg_att, sizeof(x->cg_att), "%s", x->e->cg_app);
	*strrchr(x->cg_att, '/') = 0;
	if ((err = bench_pathf(NULL, x->cg_direct, sizeof(x->cg_direct), "%s/px-direct", x->e->cg_base)) ||
	    (err = bench_pathf(NULL, x->cg_nmp, sizeof(x->cg_nmp), "%s/px-nmp", x->cg_att)) ||
	    (err = bench_pathf(NULL, x->cg_sq, sizeof(x->cg_sq), "%s/px-squid", x->cg_att)) ||
	    (err = bench_pathf(NULL, x->cg_proxy, sizeof(x->cg_proxy), "%s/px-proxy", x->cg_att)))
		return err;
	for (int i = 0; i < 4; i++) {
		if ((err = nm_cgroup_create(paths[i]))) {
			bench_err("cannot create cgroup %s: %s", paths[i], strerror(-err));
			return err;
		}
		x->cg_made[i] = true;
		if (i && (err = nm_cgroup_id(paths[i], &x->cgid[i - 1])))
			return err;
	}
	return 0;
}

static int policies_up(struct px *x)
{
	static const char *const names[3] = { PX_POL_NMP, PX_POL_SQ, PX_POL_FENCE };
	static const int ports[3] = { PX_NMP_PORT, PX_SQ_PORT, 0 };
	int err;

	for (int i = 0; i < 3; i++) {
		struct nm_policy p = { .mode = NM_MODE_ENFORCE, .events = NM_EV_DENY };
		__u32 id;

		snprintf(p.name, sizeof(p.name), "%s", names[i]);
		if (ports[i]) {
			p.default_action = NM_ACT_REDIRECT;
			inet_pton(AF_INET, PX_WORLD, &p.proxy4.addr);
			p.proxy4.port = htons(ports[i]);
		} else {
			p.default_action = NM_ACT_ALLOW;
		}
		if ((err = nm_policy_create(x->e->maps, &p, NULL, &id))) {
			bench_err("creating policy %s: %s", names[i], nm_err_msg());
			return err;
		}
		x->pol_made[i] = true;
		if ((err = nm_bind(x->e->maps, x->cgid[i], id))) {
			bench_err("binding policy %s: %s", names[i], nm_err_msg());
			return err;
		}
		x->bound[i] = true;
	}
	return 0;
}

static int exec_fn(void *p)
{
	char *const *argv = p;

	execv(argv[0], argv);
	return 127;
}

/* Start argv in the world netns and the proxy cgroup, output to out. */
static pid_t start_in_world(struct px *x, char *const *argv, const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), saved[2];
	pid_t pid;

	if (fd < 0)
		return -errno;
	/* the child inherits stdout/stderr: point them at the file around
	 * the fork only */
	fflush(NULL);
	saved[0] = dup(1);
	saved[1] = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	pid = bench_spawn(x->cg_proxy, x->ns_w, -1, exec_fn, (void *)argv);
	dup2(saved[0], 1);
	dup2(saved[1], 2);
	close(saved[0]);
	close(saved[1]);
	close(fd);
	return pid;
}

static int proxies_up(struct px *x, struct bench_proxy *r)
{
	char conf[PATH_MAX], hosts[PATH_MAX], log[PATH_MAX], text[4096], listen[64];
	struct passwd *pw;
	int err;

	snprintf(x->dir, sizeof(x->dir), "/tmp/nmbench-%d-px-XXXXXX", (int)getpid());
	if (!mkdtemp(x->dir)) {
		bench_err("mkdtemp: %s", strerror(errno));
		return -errno;
	}
	x->dir_made = true;
	chmod(x->dir, 0755);
	if ((err = bench_pathf(NULL, hosts, sizeof(hosts), "%s/hosts", x->dir)) ||
	    (err = bench_pathf(NULL, conf, sizeof(conf), "%s/nomoat.conf", x->dir)) ||
	    (err = bench_pathf(NULL, log, sizeof(log), "%s/proxy.json", x->dir)) ||
	    (err = bench_pathf(NULL, x->nmp_out, sizeof(x->nmp_out), "%s/proxy.err", x->dir)) ||
	    (err = bench_write_file(NULL, hosts, PX_SRV " " PX_NAME "\n")) ||
	    (err = bench_write_file(NULL, conf, "policy " PX_POL_NMP " {\n    hostname " PX_NAME "\n}\n")))
		return err;
	snprintf(listen, sizeof(listen), PX_WORLD ":%d", PX_NMP_PORT);
	{
		char *argv[] = { x->nmp_bin, "--listen", listen, "--config", conf, "--pin-dir", (char *)x->e->pin_dir,
				 "--hosts", hosts, "--no-dns", "--log", log, "-v", NULL };

		x->nmp = start_in_world(x, argv, x->nmp_out);
		if (x->nmp < 0)
			return x->nmp;
		if ((err = bench_wait_text(x->nmp_out, "nomoat-proxy: ready", x->nmp, START_MS, 50))) {
			bench_err("nomoat-proxy did not start (%s): see %s", strerror(-err), x->nmp_out);
			return err;
		}
	}
	x->squid_bin = !access("/usr/sbin/squid", X_OK) ? "/usr/sbin/squid" : NULL;
	pw = getpwnam(SQUID_USER);
	if (!x->squid_bin || !pw) {
		r->squid_skipped = !x->squid_bin ? "squid is not installed" : "no user " SQUID_USER;
		return 0;
	}
	if ((err = bench_pathf(NULL, x->sqdir, sizeof(x->sqdir), "%s/squid", x->dir)) ||
	    (err = bench_pathf(NULL, x->sq_clog, sizeof(x->sq_clog), "%s/cache.log", x->sqdir)) ||
	    (err = bench_pathf(NULL, conf, sizeof(conf), "%s/squid.conf", x->sqdir)))
		return err;
	if (mkdir(x->sqdir, 0750) || chown(x->sqdir, pw->pw_uid, pw->pw_gid)) {
		bench_err("%s: %s", x->sqdir, strerror(errno));
		return -errno;
	}
	err = bench_pathf(NULL, text, sizeof(text),
		 "http_port " PX_WORLD ":%d intercept\n"
		 "http_port 127.0.0.1:%d\n"
		 "visible_hostname nomoat-bench\n"
		 "cache_effective_user " SQUID_USER "\n"
		 "pid_filename %s/squid.pid\n"
		 "coredump_dir %s\n"
		 "cache_log %s\n"
		 "access_log stdio:%s/access.log\n"
		 "cache_store_log none\n"
		 "logfile_rotate 0\n"
		 "cache deny all\n"
		 "pinger_enable off\n"
		 "icp_port 0\n"
		 "htcp_port 0\n"
		 "netdb_filename none\n"
		 "hosts_file %s\n"
		 "dns_nameservers 127.0.0.1\n"
		 "host_verify_strict on\n"
		 "shutdown_lifetime 0 seconds\n"
		 "max_filedescriptors 4096\n"
		 "acl sandbox src " PX_CLIENT "/32\n"
		 "http_access allow sandbox\n"
		 "http_access deny all\n",
		 PX_SQ_PORT, PX_SQ_FWD, x->sqdir, x->sqdir, x->sq_clog, x->sqdir, hosts);
	if (err || (err = bench_write_file(NULL, conf, text)))
		return err;
	{
		char out[PATH_MAX];
		char *argv[] = { (char *)x->squid_bin, "-N", "-f", conf, NULL };

		if ((err = bench_pathf(NULL, out, sizeof(out), "%s/squid.out", x->sqdir)))
			return err;
		x->squid = start_in_world(x, argv, out);
		if (x->squid < 0)
			return x->squid;
		if ((err = bench_wait_text(x->sq_clog, "Accepting HTTP Socket connections", x->squid, START_MS, 50))) {
			bench_err("squid did not start (%s): see %s", strerror(-err), x->sq_clog);
			return err;
		}
	}
	return 0;
}

static void teardown(struct px *x)
{
	char *paths[4] = { x->cg_direct, x->cg_nmp, x->cg_sq, x->cg_proxy };
	static const char *const names[3] = { PX_POL_NMP, PX_POL_SQ, PX_POL_FENCE };
	int err;

	bench_stop_child(&x->squid, SIGTERM);
	bench_stop_child(&x->nmp, SIGTERM);
	bench_stop_child(&x->srv, SIGKILL);
	for (int i = 0; i < 3; i++) {
		if (x->bound[i] && nm_unbind(x->e->maps, x->cgid[i]))
			bench_err("cleanup: unbinding %s: %s", names[i], nm_err_msg());
		if (x->pol_made[i] && nm_policy_delete(x->e->maps, names[i]))
			bench_err("cleanup: deleting %s: %s", names[i], nm_err_msg());
	}
	/* nm_cgroup_destroy kills what is left inside (Squid's user
	 * change clears its parent-death signal) */
	for (int i = 0; i < 4; i++)
		if (x->cg_made[i] && (err = nm_cgroup_destroy(paths[i])))
			bench_err("cleanup: cgroup %s: %s", paths[i], strerror(-err));
	bench_netpair_down(x->ns_c, &x->ns_c_made, x->ns_w, &x->ns_w_made);
	if (x->dir_made && bench_run(10000, false, "rm", "-rf", x->dir, NULL))
		bench_err("cleanup: cannot remove %s", x->dir);
}

/* ---- measuring ----------------------------------------------------------------- */
/* The CPU time a process has had, ns (schedstat: exact, not ticks); 0 when
 * it cannot be read. */
static uint64_t cpu_ns(pid_t pid)
{
	char path[64], buf[128];
	unsigned long long ns = 0;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return sscanf(buf, "%llu", &ns) == 1 ? ns : 0;
}

static int one_run(struct px *x, int fig, int mode, double *rate, uint32_t *samples, uint32_t *n, double *cpu)
{
	pid_t proxy = mode == BENCH_PX_NMP ? x->nmp : mode == BENCH_PX_SQUID ? x->squid : 0;
	uint64_t cpu0 = cpu_ns(proxy);
	static const char *const stages[] = { "-", "connect", "send", "recv", "protocol", "time" };
	struct client_arg a = { .fig = fig, .dst = { .sin_family = AF_INET, .sin_port = htons(PX_SRV_PORT) } };
	const char *cg = mode == BENCH_PX_DIRECT ? x->cg_direct : mode == BENCH_PX_NMP ? x->cg_nmp : x->cg_sq;
	struct client_res res = { 0 };
	int pfd[2], st = 0;
	size_t want, got;
	pid_t pid;

	inet_pton(AF_INET, PX_SRV, &a.dst.sin_addr);
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	a.out_fd = pfd[1];
	pid = bench_spawn(cg, x->ns_c, -1, bench_px_client, &a);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return pid;
	}
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res.err = EIO;
	want = res.err ? 0 : res.n * sizeof(uint32_t);
	got = bench_read_full(pfd[0], samples, want);
	close(pfd[0]);
	bench_wait(pid, CLIENT_MS, &st);
	if (res.err || got != want) {
		bench_err("proxy bench: %s through %s: %s at %s", bench_px_fig_names[fig], mode_names[mode],
			  strerror(res.err ? res.err : EIO), stages[res.stage >= 0 && res.stage < 6 ? res.stage : 0]);
		return -(res.err ? res.err : EIO);
	}
	*rate = res.rate;
	*n = res.n;
	*cpu = proxy ? (double)(cpu_ns(proxy) - cpu0) : 0;
	return 0;
}

/* What the kernel and the proxy hold: slab and TCP buffer pages
 * (system-wide, so measured against direct alongside) and the proxy's
 * resident memory, in bytes. */
static double mem_now(pid_t proxy)
{
	char line[256];
	double slab = 0, tcp = 0, rss = 0, v;
	FILE *f = fopen("/proc/meminfo", "re");

	for (; f && fgets(line, sizeof(line), f);)
		if (sscanf(line, "Slab: %lf kB", &v) == 1)
			slab = v * 1024;
	if (f)
		fclose(f);
	f = fopen("/proc/net/sockstat", "re");
	for (; f && fgets(line, sizeof(line), f);) {
		char *m = strstr(line, " mem ");

		if (!strncmp(line, "TCP:", 4) && m && sscanf(m, " mem %lf", &v) == 1)
			tcp = v * 4096;
	}
	if (f)
		fclose(f);
	if (proxy > 0) {
		snprintf(line, sizeof(line), "/proc/%d/status", (int)proxy);
		f = fopen(line, "re");
		for (; f && fgets(line, sizeof(line), f);)
			if (sscanf(line, "VmRSS: %lf kB", &v) == 1)
				rss = v * 1024;
		if (f)
			fclose(f);
	}
	return slab + tcp + rss;
}

/* The memory IDLE_N idle connections add, through mode: bytes each. */
static int idle_run(struct px *x, int mode, double *per_conn)
{
	struct client_arg a = { .fig = FIG_IDLE, .dst = { .sin_family = AF_INET, .sin_port = htons(PX_SRV_PORT) } };
	const char *cg = mode == BENCH_PX_DIRECT ? x->cg_direct : x->cg_nmp;
	pid_t proxy = mode == BENCH_PX_NMP ? x->nmp : 0, pid;
	struct client_res res = { 0 };
	int pfd[2], gfd[2], st = 0;
	double m0, m1;

	inet_pton(AF_INET, PX_SRV, &a.dst.sin_addr);
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	if (pipe2(gfd, O_CLOEXEC)) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	a.out_fd = pfd[1];
	a.go_fd = gfd[0];
	a.go_wr = gfd[1];
	bench_sleep_ms(200);
	m0 = mem_now(proxy);
	pid = bench_spawn(cg, x->ns_c, -1, bench_px_client, &a);
	close(pfd[1]);
	close(gfd[0]);
	if (pid < 0) {
		close(pfd[0]);
		close(gfd[1]);
		return pid;
	}
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res.err = EIO;
	bench_sleep_ms(300); /* the last ACKs */
	m1 = mem_now(proxy);
	close(gfd[1]);
	close(pfd[0]);
	bench_wait(pid, CLIENT_MS, &st);
	if (res.err || res.rate != IDLE_N) {
		bench_err("proxy bench: idle connections through %s: %s", mode_names[mode],
			  strerror(res.err ? res.err : EIO));
		return -(res.err ? res.err : EIO);
	}
	*per_conn = (m1 - m0) / IDLE_N;
	return 0;
}

/* A connect from the client netns until the veth carries (bounded). */
static int warm_up(struct px *x)
{
	uint64_t end = bench_now_ns() + 10000000000ull;

	for (int i = 0; i < 50 && !bench_stop && bench_now_ns() < end; i++) {
		double rate;
		uint32_t n;

		if (!one_run(x, BENCH_PX_NEWCONN, BENCH_PX_DIRECT, &rate, bench_px_samples, &n, &rate))
			return 0;
		bench_sleep_ms(100);
	}
	return -ETIMEDOUT;
}

const char *const bench_px_fig_names[BENCH_PX_FIGS] = { "one stream", "64 streams", "keep-alive exchange",
							 "new connection exchange" };

int bench_proxy_run(const struct bench_env *e, struct bench_proxy *r)
{
	struct px x = { .e = e };
	/* -r, at most BENCH_PX_ROUNDS; -q: at most ROUNDS_Q */
	int err, rounds = e->rounds ? (int)(e->rounds < BENCH_PX_ROUNDS ? e->rounds : BENCH_PX_ROUNDS) : ROUNDS, nmodes;
	double rates[BENCH_PX_FIGS][BENCH_PX_MODES][BENCH_PX_ROUNDS], cpu[BENCH_PX_FIGS][BENCH_PX_MODES][BENCH_PX_ROUNDS];
	double idle[2][IDLE_REPS];
	static uint32_t pool[BENCH_PX_FIGS][BENCH_PX_MODES][BENCH_PX_ROUNDS * RR_COUNT];
	size_t npool[BENCH_PX_FIGS][BENCH_PX_MODES] = { { 0 } };

	memset(r, 0, sizeof(*r));
	if (e->quick && rounds > ROUNDS_Q)
		rounds = ROUNDS_Q;
	if (!bench_sibling("nomoat-proxy", x.nmp_bin, sizeof(x.nmp_bin))) {
		r->skipped = "nomoat-proxy not found next to nomoat-bench or at build/nomoat-proxy";
		bench_err("proxy: %s", r->skipped);
		return 0;
	}
	fprintf(stderr, "  proxy: direct / nomoat-proxy / squid, %d alternating rounds\n", rounds);
	err = cgroups_up(&x);
	if (!err)
		err = net_up(&x);
	if (!err)
		err = policies_up(&x);
	if (!err) {
		int pfd[2];
		char ok;

		if (pipe2(pfd, O_CLOEXEC)) {
			err = -errno;
		} else {
			x.srv = bench_spawn(NULL, x.ns_w, -1, bench_px_server, &pfd[1]);
			close(pfd[1]);
			if (x.srv < 0 || read(pfd[0], &ok, 1) != 1) {
				bench_err("proxy: the server did not start");
				err = -EIO;
			}
			close(pfd[0]);
		}
	}
	if (!err)
		err = proxies_up(&x, r);
	if (!err && (err = warm_up(&x)))
		bench_err("proxy: the test network does not carry TCP");
	nmodes = r->squid_skipped ? BENCH_PX_SQUID : BENCH_PX_MODES;
	for (int i = 0; !err && i < rounds; i++) {
		for (int f = 0; !err && f < BENCH_PX_FIGS; f++) {
			for (int j = 0; !err && j < nmodes; j++) {
				int m = (i + j) % nmodes;
				uint32_t n = 0;

				if ((err = bench_time_left(e->deadline)))
					break;
				err = one_run(&x, f, m, &rates[f][m][i], pool[f][m] + npool[f][m], &n, &cpu[f][m][i]);
				npool[f][m] += n;
			}
		}
		if (!err)
			r->rounds = i + 1;
	}
	/* idle connections: direct and through nomoat-proxy, alternating */
	for (int i = 0; !err && r->rounds && i < IDLE_REPS; i++)
		for (int j = 0; !err && j < 2; j++) {
			int m = (i + j) % 2;

			if (!(err = bench_time_left(e->deadline)))
				err = idle_run(&x, m ? BENCH_PX_NMP : BENCH_PX_DIRECT, &idle[m][i]);
			if (!err)
				r->idle_reps = i + 1;
		}
	for (int i = 0; i < r->idle_reps; i++) {
		r->idle_rep_b[0][i] = idle[0][i];
		r->idle_rep_b[1][i] = idle[1][i];
	}
	if (r->idle_reps) {
		r->idle_direct_b = bench_median(idle[0], r->idle_reps);
		r->idle_nmp_b = bench_median(idle[1], r->idle_reps);
	}
	for (int f = 0; r->rounds && f < BENCH_PX_FIGS; f++) {
		for (int m = 0; m < nmodes; m++) {
			size_t n = npool[f][m];
			/* the proxy's CPU per unit: per exchange, or per MB moved
			 * (warm-up included: it was moved too) */
			double units[BENCH_PX_ROUNDS];

			for (int i = 0; i < r->rounds; i++) {
				double u = f == BENCH_PX_RR ? RR_COUNT + RR_WARM : f == BENCH_PX_NEWCONN ? NC_COUNT + NC_WARM :
					   rates[f][m][i] * (BULK_MS + BULK_WARM_MS) / 1e3 / 1e6;

				units[i] = u > 0 ? cpu[f][m][i] / 1e3 / u : 0;
			}
			r->cpu_us[f][m] = bench_median(units, r->rounds);
			r->rate[f][m] = bench_median(rates[f][m], r->rounds);
			if (n) {
				qsort(pool[f][m], n, sizeof(uint32_t), bench_cmp_u32);
				r->med_us[f][m] = (n % 2 ? pool[f][m][n / 2] :
					      (pool[f][m][n / 2 - 1] + (double)pool[f][m][n / 2]) / 2) / 1e3;
				r->p90_us[f][m] = pool[f][m][n * 9 / 10] / 1e3;
			}
			for (int i = 0; i < r->rounds; i++)
				r->round_rate[f][m][i] = rates[f][m][i];
		}
	}
	r->nmodes = nmodes;
	r->measured = r->rounds > 0;
	teardown(&x);
	return err;
}

/* ---- output ---------------------------------------------------------------------- */
static void cell(bool have, const char *fmt, double v)
{
	if (have)
		printf(fmt, v);
	else
		printf("%12s", "-");
}

void bench_proxy_print(const struct bench_proxy *r)
{
	bool sq;

	if (r->skipped) {
		printf("\negress proxy: not measured (%s)\n", r->skipped);
		return;
	}
	if (!r->measured)
		return;
	sq = r->nmodes == BENCH_PX_MODES;
	printf("\negress proxy, client netns -> veth -> world netns (server, proxies); medians of %d alternating"
	       " rounds\n(direct: no proxy; nomoat-proxy and Squid in intercept mode%s behind nomoat's redirect;"
	       " HTTP/1.1, Host " PX_NAME "):\n", r->rounds, sq ? "" : " (not measured)");
	printf("  %-24s %12s %12s %12s %9s %8s %10s\n", "figure", "direct", "nomoat-proxy", "squid", "nmp/dir",
	       "target", "nmp/squid");
	for (int f = 0; f < BENCH_PX_FIGS; f++) {
		const double *v = r->rate[f];
		bool bulkf = f == BENCH_PX_BULK1 || f == BENCH_PX_BULK64;
		static const char *const names[BENCH_PX_FIGS] = { "one stream, MB/s", "64 streams, MB/s",
								   "keep-alive, per s", "new conn, per s" };
		double k = bulkf ? 1e6 : 1;

		printf("  %-24s", names[f]);
		cell(true, " %12.0f", v[BENCH_PX_DIRECT] / k);
		cell(true, " %12.0f", v[BENCH_PX_NMP] / k);
		cell(sq, " %12.0f", v[BENCH_PX_SQUID] / k);
		printf(" %9.3f %8s", v[BENCH_PX_NMP] / v[BENCH_PX_DIRECT],
		       bulkf ? ">=0.80" : "");
		cell(sq, " %10.2f", v[BENCH_PX_NMP] / v[BENCH_PX_SQUID]);
		printf("\n");
	}
	for (int f = BENCH_PX_RR; f < BENCH_PX_FIGS; f++) {
		const double *u = r->med_us[f];
		char name[48];

		snprintf(name, sizeof(name), "%s, us median", f == BENCH_PX_RR ? "keep-alive" : "new conn");
		printf("  %-24.24s", name);
		cell(true, " %12.1f", u[BENCH_PX_DIRECT]);
		cell(true, " %12.1f", u[BENCH_PX_NMP]);
		cell(sq, " %12.1f", u[BENCH_PX_SQUID]);
		printf("   added by nomoat-proxy %.1f us (target <=%d)", u[BENCH_PX_NMP] - u[BENCH_PX_DIRECT],
		       f == BENCH_PX_RR ? RR_ADDED_MAX : NC_ADDED_MAX);
		if (sq)
			printf(", by Squid %.1f us", u[BENCH_PX_SQUID] - u[BENCH_PX_DIRECT]);
		printf("\n");
	}
	printf("  (exchange rows: median time of one exchange; %d exchanges a round keep-alive, %d on new"
	       " connections;\n   per s: exchanges one after the other on one client; nmp/squid target >=%d)\n",
	       RR_COUNT, NC_COUNT, SQUID_X_MIN);
	printf("  proxy CPU (schedstat)   one stream %.0f us/MB, 64 streams %.0f us/MB, keep-alive %.1f us,"
	       " new conn %.1f us an exchange", r->cpu_us[BENCH_PX_BULK1][BENCH_PX_NMP],
	       r->cpu_us[BENCH_PX_BULK64][BENCH_PX_NMP], r->cpu_us[BENCH_PX_RR][BENCH_PX_NMP],
	       r->cpu_us[BENCH_PX_NEWCONN][BENCH_PX_NMP]);
	if (sq)
		printf(" (Squid %.0f, %.0f, %.1f, %.1f)", r->cpu_us[BENCH_PX_BULK1][BENCH_PX_SQUID],
		       r->cpu_us[BENCH_PX_BULK64][BENCH_PX_SQUID], r->cpu_us[BENCH_PX_RR][BENCH_PX_SQUID],
		       r->cpu_us[BENCH_PX_NEWCONN][BENCH_PX_SQUID]);
	printf("\n");
	if (r->idle_reps)
		printf("  idle relayed connection: %.1f KiB more than direct (target <=%d; %d held, median of %d;"
		       " slab + TCP pages + the proxy's RSS)\n", (r->idle_nmp_b - r->idle_direct_b) / 1024, IDLE_KIB_MAX,
		       IDLE_N, r->idle_reps);
}

void bench_proxy_summary(const struct bench_proxy *r)
{
	static const char *const key[BENCH_PX_FIGS] = { "bulk1", "bulk64", "rr", "newconn" };
	static const char *const mk[BENCH_PX_MODES] = { "direct", "nmp", "squid" };

	if (!r->measured)
		return;
	printf("summary proxy rounds=%d", r->rounds);
	for (int f = 0; f < BENCH_PX_FIGS; f++) {
		bool bulkf = f == BENCH_PX_BULK1 || f == BENCH_PX_BULK64;

		for (int m = 0; m < r->nmodes; m++) {
			if (bulkf)
				printf(" %s_%s_mbs=%.1f", key[f], mk[m], r->rate[f][m] / 1e6);
			else
				printf(" %s_%s_per_s=%.0f %s_%s_us=%.2f %s_%s_p90_us=%.2f", key[f], mk[m], r->rate[f][m],
				       key[f], mk[m], r->med_us[f][m], key[f], mk[m], r->p90_us[f][m]);
		}
		double ratio = r->rate[f][BENCH_PX_NMP] / r->rate[f][BENCH_PX_DIRECT];
		char name[48];

		snprintf(name, sizeof(name), "%s_nmp_ratio", key[f]);
		if (bulkf)
			bench_print_limit(name, ratio, 4, true, BULK_RATIO_MIN);
		else
			printf(" %s=%.4f", name, ratio);
		if (!bulkf) {
			snprintf(name, sizeof(name), "%s_nmp_added_us", key[f]);
			bench_print_limit(name, r->med_us[f][BENCH_PX_NMP] - r->med_us[f][BENCH_PX_DIRECT], 2, false,
					  f == BENCH_PX_RR ? RR_ADDED_MAX : NC_ADDED_MAX);
		}
		if (r->nmodes == BENCH_PX_MODES) {
			snprintf(name, sizeof(name), "%s_nmp_squid_x", key[f]);
			bench_print_limit(name, r->rate[f][BENCH_PX_NMP] / r->rate[f][BENCH_PX_SQUID], 3, true, SQUID_X_MIN);
		}
		for (int m = 1; m < r->nmodes; m++)
			printf(" %s_%s_cpu_us%s=%.2f", key[f], mk[m], bulkf ? "_per_mb" : "", r->cpu_us[f][m]);
	}
	if (r->idle_reps) {
		printf(" idle_conns=%d idle_direct_kib=%.2f idle_nmp_kib=%.2f", IDLE_N, r->idle_direct_b / 1024,
		       r->idle_nmp_b / 1024);
		bench_print_limit("idle_conn_kib", (r->idle_nmp_b - r->idle_direct_b) / 1024, 2, false, IDLE_KIB_MAX);
		for (int m = 0; m < 2; m++) {
			printf(" idle_%s_reps_kib=", m ? "nmp" : "direct");
			for (int i = 0; i < r->idle_reps; i++)
				printf("%s%.1f", i ? "," : "", r->idle_rep_b[m][i] / 1024);
		}
	}
	for (int f = 0; f < BENCH_PX_FIGS; f++)
		for (int m = 0; m < r->nmodes; m++) {
			printf(" %s_%s_rounds=", key[f], mk[m]);
			for (int i = 0; i < r->rounds; i++)
				printf("%s%.0f", i ? "," : "", r->round_rate[f][m][i]);
		}
	printf("\n");
}
