// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench, part "dns": what nomoat-dns costs a sandbox's DNS, against
 * asking the upstream directly (the floor) and against dnsmasq configured
 * as a filtering forwarder with the same allowlist.
 *
 * Two network namespaces of its own joined by a veth pair: the client's
 * (10.250.0.2, routes to the world's two resolver addresses /32 only) and
 * the world's (10.250.0.1; no route out).  In the world:
 *   upstream        dnsmasq on 11.22.33.53:53 (lo), answering every name
 *                   under bench.test itself with A 11.22.33.44, TTL 300
 *                   (address=/bench.test/...: no cache, no forwarding);
 *   nomoat-dns      on 10.250.0.1:53, in an origdst-only attach point of
 *                   the bench's pin dir (the kernel names each query's
 *                   sender), policy file: the client's policy with
 *                   hostname bench.test and *.bench.test, dns-upstream
 *                   11.22.33.53; no rate limit, no in-flight limit that a
 *                   window of WINDOW could reach, --user nobody;
 *   dnsmasq filter  on 11.22.33.54:53: server=/bench.test/11.22.33.53 (the
 *                   same allowlist: bench.test and every name below it),
 *                   address=/#/ (every other name NXDOMAIN, never
 *                   forwarded: checked with dnsmasq 2.90, a name outside
 *                   bench.test gets NXDOMAIN at once), cache-size=10000.
 * The client (C, its own DNS code) always asks 11.22.33.53:53 on a connected
 * UDP socket, from one of three cgroups:
 *   direct    not under any attach point: straight to the upstream;
 *   nomoat    under the bench's attach point, in a child of a cgroup bound
 *             to a policy (deny defaults, default redirect, proxy4
 *             10.250.0.1:3128) whose dns4 is nomoat-dns, 10.250.0.1:53;
 *   dnsmasq   the same with dns4 11.22.33.54:53, the dnsmasq filter.
 * So the two filters are reached the same way, through the same kernel path
 * (the connect redirect of UDP/53, the backstop noting each query for the
 * resolver), and only the program that answers differs: the fair
 * comparison of what a sandbox would be given.  dnsmasq cannot learn who
 * asked and filters on the name alone; nomoat-dns asks the kernel for every
 * query.
 *
 * Figures, for each resolver, in alternating rounds (direct, nomoat-dns,
 * dnsmasq, again), each a fresh client process:
 *   queries/s   WINDOW queries in flight for QPS_MS (the first QPS_WARM_MS
 *               not counted): answers per second;
 *   latency     LAT_COUNT single queries one after the other (one in
 *               flight; LAT_WARM first, not counted): median and 99th
 *               percentile of the round trip, and "added": the median
 *               less the direct median of the same names.
 * Two kinds of names: "one name" (A bench.test, again and again: the
 * filters answer from their caches) and "distinct names" (A
 * q00000001.bench.test, q00000002..., never repeated in the part: every
 * query goes upstream, for both filters).  Every answer is checked: its id
 * is one in flight, QR, NOERROR, the question echoed, exactly one answer
 * record, A IN 11.22.33.44; the rest are counted as errors (by rcode or
 * shape), queries unanswered after Q_TIMEOUT_MS as timeouts, answers to no
 * query in flight as strays; a part with any is flagged in the table.
 * The client is pinned to the bench's client CPU, the three servers to its
 * server CPU (-p).
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "err.h"
#include "loader.h"
#include "policy.h"

#define DN_WORLD      "10.250.0.1"
#define DN_CLIENT     "10.250.0.2"
#define DN_UP         "11.22.33.53"
#define DN_FILTER     "11.22.33.54"
#define DN_ANSWER     "11.22.33.44"
#define DN_NAME       "bench.test"
#define DN_POL_NMD    "nomoat-bench-dns-nmd"
#define DN_POL_DQ     "nomoat-bench-dns-dnsmasq"
#define DNSMASQ       "/usr/sbin/dnsmasq"
#define DN_USER       "nobody"

#define ROUNDS        BENCH_DNS_ROUNDS
#define ROUNDS_Q      3
#define WINDOW        32
#define QPS_MS        1000
#define QPS_WARM_MS   100
#define LAT_COUNT     2000
#define LAT_WARM      50
#define Q_TIMEOUT_MS  500
#define CLIENT_MS     10000 /* bound on one client run */
#define START_MS      10000 /* bound on a server's start */
#define QMAX          64    /* our queries are at most 12 + 22 + 4 bytes */
#define RMAX          1232

static const char *const srv_names[BENCH_DNS_SERVERS] = { "direct", "nomoat-dns", "dnsmasq" };
static const char *const kind_names[BENCH_DNS_KINDS] = { "one name", "distinct names" };

enum { CG_DIRECT, CG_NMD, CG_NMD_C, CG_DQ, CG_DQ_C, CG_SRV, CG_WORLD };

/* ---- the client ------------------------------------------------------------ */
enum { FIG_QPS, FIG_LAT };
enum { ST_NONE, ST_SOCKET, ST_SEND, ST_RECV, ST_TIME };

struct client_arg {
	int fig;
	bool distinct;
	uint32_t name0; /* the number of the first distinct name */
	int out_fd;
};

struct client_res {
	int32_t err, stage;  /* 0 or errno, and where (ST_*) */
	uint64_t sent, ok, counted; /* queries sent, good answers, of them in the counted part */
	uint64_t rcode_err, shape_err, timeouts, strays;
	int32_t last_rcode;  /* of the last answer that was not NOERROR */
	double secs;         /* of the counted part */
	uint32_t names;      /* distinct names used */
	uint32_t n;          /* samples that follow (ns each) */
};

static uint32_t samples_buf[LAT_COUNT];

/* A query of type A class IN, recursion desired, no EDNS: bench.test or
 * qNNNNNNNN.bench.test.  Its length. */
static size_t build_query(uint8_t *b, uint16_t id, bool distinct, uint32_t num)
{
	size_t p = 12;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1;    /* QDCOUNT */
	if (distinct) {
		char l[16];

		snprintf(l, sizeof(l), "q%08u", num % 100000000u);
		b[p++] = 9;
		memcpy(b + p, l, 9);
		p += 9;
	}
	b[p++] = 5;
	memcpy(b + p, "bench", 5);
	p += 5;
	b[p++] = 4;
	memcpy(b + p, "test", 4);
	p += 4;
	b[p++] = 0;
	b[p++] = 0;
	b[p++] = 1; /* A */
	b[p++] = 0;
	b[p++] = 1; /* IN */
	return p;
}

enum { A_OK, A_RCODE, A_SHAPE };

/* The answer a[0..n) to the query q[0..qlen) (ids already matched): A_OK
 * when it is NOERROR with the question echoed and exactly one record, A IN
 * 11.22.33.44. */
static int check_answer(const uint8_t *a, size_t n, const uint8_t *q, size_t qlen, int *rcode)
{
	static const uint8_t want[4] = { 11, 22, 33, 44 };
	size_t p = qlen, qname = qlen - 12 - 4;

	if (n < 12 || !(a[2] & 0x80) || (a[2] & 0x7a)) /* QR; opcode QUERY; not truncated */
		return A_SHAPE;
	*rcode = a[3] & 0x0f;
	if (*rcode)
		return A_RCODE;
	if (a[4] != 0 || a[5] != 1 || a[6] != 0 || a[7] != 1)
		return A_SHAPE;
	if (n < qlen || memcmp(a + 12, q + 12, qlen - 12))
		return A_SHAPE;
	/* the record's owner: a pointer to the question's name, or that name */
	if (p + 2 <= n && a[p] == 0xc0 && a[p + 1] == 12)
		p += 2;
	else if (p + qname <= n && !memcmp(a + p, q + 12, qname))
		p += qname;
	else
		return A_SHAPE;
	if (p + 14 > n || a[p] != 0 || a[p + 1] != 1 || a[p + 2] != 0 || a[p + 3] != 1 || a[p + 8] != 0 ||
	    a[p + 9] != 4 || memcmp(a + p + 10, want, 4))
		return A_SHAPE;
	return A_OK;
}

static void count_answer(struct client_res *r, int v, int rcode)
{
	if (v == A_OK)
		r->ok++;
	else if (v == A_RCODE) {
		r->rcode_err++;
		r->last_rcode = rcode;
	} else {
		r->shape_err++;
	}
}

static void fail(struct client_res *r, int err, int stage)
{
	if (!r->err) {
		r->err = err ? err : EIO;
		r->stage = stage;
	}
}

/* WINDOW queries in flight on fd for QPS_WARM_MS + QPS_MS: a new one as
 * each is answered (or times out). */
static void run_qps(const struct client_arg *a, int fd, struct client_res *r)
{
	static uint8_t qb[WINDOW][QMAX], rb[WINDOW][RMAX];
	static uint8_t idslot[65536]; /* slot + 1 of the query in flight with that id */
	size_t ql[WINDOW];
	uint64_t sent_at[WINDOW];
	uint16_t slot_id[WINDOW];
	bool busy[WINDOW] = { false };
	struct mmsghdr sm[WINDOW], rm[WINDOW];
	struct iovec siov[WINDOW], riov[WINDOW];
	uint16_t next_id = (uint16_t)(getpid() * 7919u);
	uint64_t t0 = bench_now_ns(), t_count = t0 + QPS_WARM_MS * 1000000ull;
	uint64_t t_end = t_count + QPS_MS * 1000000ull, last_to = t0, now = t0;

	memset(rm, 0, sizeof(rm));
	for (int i = 0; i < WINDOW; i++) {
		riov[i] = (struct iovec){ rb[i], RMAX };
		rm[i].msg_hdr.msg_iov = &riov[i];
		rm[i].msg_hdr.msg_iovlen = 1;
	}
	/* bounded by time, and by count (more turns than a second can hold) */
	for (uint64_t turn = 0; turn < 100000000ull && !bench_stop; turn++) {
		int ns = 0, k;

		now = bench_now_ns();
		if (now >= t_end)
			break;
		for (int s = 0; s < WINDOW; s++) {
			uint16_t id;

			if (busy[s])
				continue;
			id = next_id++;
			/* at most WINDOW ids are taken: this ends within WINDOW steps */
			for (int j = 0; idslot[id] && j <= WINDOW; j++)
				id = next_id++;
			ql[s] = build_query(qb[s], id, a->distinct, a->name0 + r->names);
			r->names += a->distinct;
			slot_id[s] = id;
			idslot[id] = (uint8_t)(s + 1);
			busy[s] = true;
			sent_at[s] = now;
			siov[ns] = (struct iovec){ qb[s], ql[s] };
			memset(&sm[ns], 0, sizeof(sm[ns]));
			sm[ns].msg_hdr.msg_iov = &siov[ns];
			sm[ns].msg_hdr.msg_iovlen = 1;
			ns++;
		}
		for (int done = 0; done < ns;) {
			k = sendmmsg(fd, sm + done, (unsigned)(ns - done), 0);
			if (k < 0 && errno == EINTR && !bench_stop)
				continue;
			if (k <= 0) {
				fail(r, errno, ST_SEND);
				return;
			}
			done += k;
			r->sent += (uint64_t)k;
		}
		k = recvmmsg(fd, rm, WINDOW, MSG_DONTWAIT, NULL);
		if (k < 0) {
			struct pollfd pf = { .fd = fd, .events = POLLIN };

			if (errno != EAGAIN && errno != EINTR) {
				fail(r, errno, ST_RECV);
				return;
			}
			poll(&pf, 1, 1);
			k = 0;
		}
		now = bench_now_ns();
		for (int i = 0; i < k; i++) {
			const uint8_t *m = rb[i];
			size_t len = rm[i].msg_len;
			int s = len >= 2 ? idslot[m[0] << 8 | m[1]] - 1 : -1, rcode = 0, v;

			if (s < 0) {
				r->strays++;
				continue;
			}
			v = check_answer(m, len, qb[s], ql[s], &rcode);
			count_answer(r, v, rcode);
			if (v == A_OK && now >= t_count)
				r->counted++;
			idslot[slot_id[s]] = 0;
			busy[s] = false;
		}
		if (now - last_to >= 1000000ull) {
			last_to = now;
			for (int s = 0; s < WINDOW; s++) {
				if (busy[s] && now - sent_at[s] > Q_TIMEOUT_MS * 1000000ull) {
					r->timeouts++;
					idslot[slot_id[s]] = 0;
					busy[s] = false;
				}
			}
		}
	}
	r->secs = now > t_count ? (now - t_count) / 1e9 : 0;
	if (bench_stop)
		fail(r, EINTR, ST_TIME);
}

/* LAT_WARM + LAT_COUNT queries one after the other on fd, each timed. */
static void run_lat(const struct client_arg *a, int fd, struct client_res *r)
{
	uint8_t q[QMAX], m[RMAX];
	uint16_t id = (uint16_t)(getpid() * 7919u);
	uint64_t deadline = bench_now_ns() + (CLIENT_MS - 2000) * 1000000ull;

	for (int i = -LAT_WARM; i < LAT_COUNT && !bench_stop; i++) {
		size_t ql = build_query(q, ++id, a->distinct, a->name0 + r->names);
		uint64_t t0 = bench_now_ns(), lim = t0 + Q_TIMEOUT_MS * 1000000ull;

		if (t0 > deadline) {
			fail(r, ETIME, ST_TIME);
			return;
		}
		r->names += a->distinct;
		if (send(fd, q, ql, 0) != (ssize_t)ql) {
			if (errno == EINTR)
				continue;
			fail(r, errno, ST_SEND);
			return;
		}
		r->sent++;
		/* the answer to this id; strays (late answers) skipped, bounded */
		for (int tries = 0; tries < 1000; tries++) {
			struct pollfd pf = { .fd = fd, .events = POLLIN };
			uint64_t now = bench_now_ns();
			int rcode = 0, v;
			ssize_t n;

			if (now >= lim || poll(&pf, 1, (int)((lim - now) / 1000000ull) + 1) == 0) {
				r->timeouts++;
				break;
			}
			n = recv(fd, m, sizeof(m), MSG_DONTWAIT);
			now = bench_now_ns();
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				fail(r, errno, ST_RECV);
				return;
			}
			if (n < 2 || (m[0] << 8 | m[1]) != id) {
				r->strays++;
				continue;
			}
			v = check_answer(m, (size_t)n, q, ql, &rcode);
			count_answer(r, v, rcode);
			if (v == A_OK && i >= 0) {
				uint64_t d = now - t0;

				samples_buf[r->n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
			}
			break;
		}
	}
	if (bench_stop)
		fail(r, EINTR, ST_TIME);
}

static int client_main(void *p)
{
	struct client_arg *a = p;
	struct client_res r = { 0 };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(53) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, DN_UP, &dst.sin_addr);
	/* connected, as a stub resolver's socket: judged (and redirected) at connect */
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		fail(&r, errno, ST_SOCKET);
	else if (a->fig == FIG_QPS)
		run_qps(a, fd, &r);
	else
		run_lat(a, fd, &r);
	if (fd >= 0)
		close(fd);
	if (r.err)
		r.n = 0;
	return bench_reply_write(a->out_fd, &r, sizeof(r), samples_buf, r.n);
}

/* ---- set-up and tear-down -------------------------------------------------- */

/* Show the last lines of a server's output (after a failure). */
static void show_tail(const char *what, const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	ssize_t n;

	if (end < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	n = pread(fd, buf, sizeof(buf) - 1, end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	fprintf(stderr, "nomoat-bench: dns: --- %s (%s), its end:\n%s%s--- end\n", what, path, buf,
		buf[n - 1] == '\n' ? "" : "\n");
}

static int net_up(struct bench_dns *d)
{
	int err;

	/* the client reaches the world's /24 and its two resolver addresses,
	 * nothing else; the world has no route at all beyond its links */
	if ((err = bench_netpair_up("d", d->ns_c, sizeof(d->ns_c), d->ns_w, sizeof(d->ns_w), &d->ns_c_made,
				    &d->ns_w_made, DN_CLIENT "/24", DN_WORLD "/24")) ||
	    (err = bench_run(5000, false, "ip", "-n", d->ns_w, "addr", "add", DN_UP "/32", "dev", "lo", NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", d->ns_w, "addr", "add", DN_FILTER "/32", "dev", "lo", NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", d->ns_c, "route", "add", DN_UP "/32", "via", DN_WORLD, NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", d->ns_c, "route", "add", DN_FILTER "/32", "via", DN_WORLD, NULL)))
		return err;
	return 0;
}

static int cgroups_up(const struct bench_env *e, struct bench_dns *d)
{
	char att[PATH_MAX];
	bool adopted;
	int err;

	/* the attach point is the app cgroup's parent */
	snprintf(att, sizeof(att), "%s", e->cg_app);
	*strrchr(att, '/') = 0;
	if ((err = bench_pathf("dns", d->cg[CG_DIRECT], PATH_MAX, "%s/dns-direct", e->cg_base)) ||
	    (err = bench_pathf("dns", d->cg[CG_NMD], PATH_MAX, "%s/dns-nmd", att)) ||
	    (err = bench_pathf("dns", d->cg[CG_NMD_C], PATH_MAX, "%s/dns-nmd/client", att)) ||
	    (err = bench_pathf("dns", d->cg[CG_DQ], PATH_MAX, "%s/dns-dnsmasq", att)) ||
	    (err = bench_pathf("dns", d->cg[CG_DQ_C], PATH_MAX, "%s/dns-dnsmasq/client", att)) ||
	    (err = bench_pathf("dns", d->cg[CG_SRV], PATH_MAX, "%s/dns-resolver", e->cg_base)) ||
	    (err = bench_pathf("dns", d->cg[CG_WORLD], PATH_MAX, "%s/dns-world", e->cg_base)))
		return err;
	for (int i = 0; i < BENCH_DNS_CGS; i++) {
		if ((err = nm_cgroup_create(d->cg[i]))) {
			bench_err("dns: cannot create cgroup %s: %s", d->cg[i], strerror(-err));
			return err;
		}
		d->cg_made[i] = true;
	}
	if ((err = nm_cgroup_id(d->cg[CG_NMD], &d->cgid[0])) || (err = nm_cgroup_id(d->cg[CG_DQ], &d->cgid[1]))) {
		bench_err("dns: cgroup id: %s", strerror(-err));
		return err;
	}
	/* nomoat-dns's cgroup: the getsockopt/setsockopt answers only */
	if ((err = nm_attach(d->pin_dir, d->cg[CG_SRV], true, &adopted))) {
		bench_err("dns: attaching origdst-only at %s: %s", d->cg[CG_SRV], nm_err_msg());
		return err;
	}
	d->attached = true;
	return 0;
}

static int policies_up(struct bench_dns *d)
{
	static const char *const names[2] = { DN_POL_NMD, DN_POL_DQ };
	static const char *const dns4[2] = { DN_WORLD, DN_FILTER };
	struct nm_ruleset rs = { 0 };
	int err = nm_ruleset_parse(nm_deny_defaults, "deny-defaults", &rs);

	if (err) {
		bench_err("dns: the deny defaults: %s", nm_err_msg());
		return err;
	}
	for (int i = 0; i < 2 && !err; i++) {
		struct nm_policy p = { .default_action = NM_ACT_REDIRECT, .mode = NM_MODE_ENFORCE, .events = NM_EV_DENY };
		__u32 id;

		snprintf(p.name, sizeof(p.name), "%s", names[i]);
		inet_pton(AF_INET, DN_WORLD, &p.proxy4.addr);
		p.proxy4.port = htons(3128);
		inet_pton(AF_INET, dns4[i], &p.dns4.addr);
		p.dns4.port = htons(53);
		if ((err = nm_policy_create(d->maps, &p, &rs, &id))) {
			bench_err("dns: creating policy %s: %s", names[i], nm_err_msg());
			break;
		}
		d->pol_made[i] = true;
		if ((err = nm_bind(d->maps, d->cgid[i], id))) {
			bench_err("dns: binding policy %s: %s", names[i], nm_err_msg());
			break;
		}
		d->bound[i] = true;
	}
	nm_ruleset_free(&rs);
	return err;
}

struct exec_arg {
	char *const *argv;
	const char *out;
};

/* In the child (cgroup, netns and CPU already set): output to the file,
 * stdin from /dev/null, exec. */
static int exec_fn(void *p)
{
	const struct exec_arg *x = p;
	int fd = open(x->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || null < 0)
		return 126;
	dup2(null, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	execv(x->argv[0], x->argv);
	return 127;
}

static pid_t start(const char *cg, const char *ns, int cpu, char *const *argv, const char *out)
{
	struct exec_arg x = { argv, out };

	return bench_spawn(cg, ns, cpu, exec_fn, &x);
}

static int dnsmasq_up(struct bench_dns *d, int cpu, bool filter, pid_t *pid)
{
	char conf[PATH_MAX], log[PATH_MAX], out[PATH_MAX], text[1024], cf[PATH_MAX + 16], lf[PATH_MAX + 32];
	const char *tag = filter ? "filter" : "upstream";
	bool nobody = getpwnam(DN_USER) != NULL;
	int err;

	if ((err = bench_pathf("dns", conf, sizeof(conf), "%s/dnsmasq-%s.conf", d->dir, tag)) ||
	    (err = bench_pathf("dns", log, sizeof(log), "%s/dnsmasq-%s.log", d->dir, tag)) ||
	    (err = bench_pathf("dns", out, sizeof(out), "%s/dnsmasq-%s.out", d->dir, tag)))
		return err;
	if (filter)
		snprintf(text, sizeof(text),
			 "no-resolv\nno-hosts\nlisten-address=" DN_FILTER "\nbind-interfaces\n"
			 "server=/" DN_NAME "/" DN_UP "\naddress=/#/\ncache-size=10000\nuser=%s\n",
			 nobody ? DN_USER : "root");
	else
		snprintf(text, sizeof(text),
			 "no-resolv\nno-hosts\nlisten-address=" DN_UP "\nbind-interfaces\n"
			 "address=/" DN_NAME "/" DN_ANSWER "\nlocal-ttl=300\nuser=%s\n",
			 nobody ? DN_USER : "root");
	if ((err = bench_write_file("dns", conf, text)))
		return err;
	snprintf(cf, sizeof(cf), "--conf-file=%s", conf);
	snprintf(lf, sizeof(lf), "--log-facility=%s", log);
	{
		char *argv[] = { DNSMASQ, "--keep-in-foreground", cf, lf, "--pid-file=", NULL };

		*pid = start(d->cg[CG_WORLD], d->ns_w, cpu, argv, out);
		if (*pid < 0)
			return *pid;
	}
	if ((err = bench_wait_text(log, "started, version", *pid, START_MS, 20))) {
		bench_err("dns: dnsmasq (%s) did not start: %s", tag, strerror(-err));
		show_tail("dnsmasq output", out);
		show_tail("dnsmasq log", log);
		return err;
	}
	return 0;
}

static int nmd_up(struct bench_dns *d, int cpu)
{
	char conf[PATH_MAX], names[PATH_MAX];
	bool nobody = getpwnam(DN_USER) != NULL;
	int err;

	if ((err = bench_pathf("dns", conf, sizeof(conf), "%s/nomoat.conf", d->dir)) ||
	    (err = bench_pathf("dns", names, sizeof(names), "%s/names", d->dir)) ||
	    (err = bench_pathf("dns", d->nmd_log, sizeof(d->nmd_log), "%s/nomoat-dns.json", d->dir)) ||
	    (err = bench_pathf("dns", d->nmd_out, sizeof(d->nmd_out), "%s/nomoat-dns.out", d->dir)))
		return err;
	err = bench_write_file("dns", conf, "dns-upstream " DN_UP "\n"
					    "policy " DN_POL_NMD " {\n"
					    "    include deny-defaults\n"
					    "    proxy4 " DN_WORLD ":3128\n"
					    "    dns4 " DN_WORLD ":53\n"
					    "    hostname " DN_NAME "\n"
					    "    hostname *." DN_NAME "\n"
					    "}\n");
	if (err)
		return err;
	{
		/* --names-dir: its own (unused: names real), so that --user
		 * changes no owner outside the temporary dir */
		char *argv[] = { d->nmd_bin, "--listen", DN_WORLD ":53", "--config", conf, "--pin-dir",
				 (char *)d->pin_dir, "--log", d->nmd_log, "--names-dir", names, "--rate", "0",
				 "--max-inflight", "100000", "--max-inflight-per-client", "100000",
				 nobody ? "--user" : NULL, DN_USER, NULL };

		d->nmd = start(d->cg[CG_SRV], d->ns_w, cpu, argv, d->nmd_out);
		if (d->nmd < 0)
			return d->nmd;
	}
	if ((err = bench_wait_text(d->nmd_out, "nomoat-dns: ready", d->nmd, START_MS, 20))) {
		bench_err("dns: nomoat-dns did not start: %s", err == -ECHILD ? "it exited" : strerror(-err));
		show_tail("nomoat-dns output", d->nmd_out);
		return err;
	}
	return 0;
}

void bench_dns_cleanup(struct bench_dns *d)
{
	static const char *const names[2] = { DN_POL_NMD, DN_POL_DQ };
	int err;

	bench_stop_child(&d->nmd, SIGTERM);
	bench_stop_child(&d->filter, SIGTERM);
	bench_stop_child(&d->up, SIGTERM);
	for (int i = 0; i < 2; i++) {
		if (d->bound[i] && nm_unbind(d->maps, d->cgid[i]))
			bench_err("cleanup: unbinding %s: %s", names[i], nm_err_msg());
		d->bound[i] = false;
		if (d->pol_made[i] && nm_policy_delete(d->maps, names[i]))
			bench_err("cleanup: deleting %s: %s", names[i], nm_err_msg());
		d->pol_made[i] = false;
	}
	if (d->attached && nm_detach(d->pin_dir, d->cg[CG_SRV]))
		bench_err("cleanup: detaching %s: %s", d->cg[CG_SRV], nm_err_msg());
	d->attached = false;
	/* nm_cgroup_destroy kills what is left inside (a change of user
	 * clears the parent-death signal of dnsmasq and nomoat-dns);
	 * children before parents */
	for (int i = BENCH_DNS_CGS - 1; i >= 0; i--) {
		if (d->cg_made[i] && (err = nm_cgroup_destroy(d->cg[i])))
			bench_err("cleanup: cgroup %s: %s", d->cg[i], strerror(-err));
		d->cg_made[i] = false;
	}
	bench_netpair_down(d->ns_c, &d->ns_c_made, d->ns_w, &d->ns_w_made);
	if (d->dir_made && bench_run(10000, false, "rm", "-rf", d->dir, NULL))
		bench_err("cleanup: cannot remove %s", d->dir);
	d->dir_made = false;
}

/* ---- measuring ------------------------------------------------------------- */
static const char *client_cg(const struct bench_dns *d, int s)
{
	return s == BENCH_DNS_DIRECT ? d->cg[CG_DIRECT] : s == BENCH_DNS_NMD ? d->cg[CG_NMD_C] : d->cg[CG_DQ_C];
}

/* One client run of fig against server s; the answers' counts go to d. */
static int one_run(struct bench_dns *d, const struct bench_env *e, int fig, int kind, int s, double *qps,
		   uint32_t *samples, uint32_t *n)
{
	static const char *const stages[] = { "-", "socket", "send", "recv", "time" };
	struct client_arg a = { .fig = fig, .distinct = kind == BENCH_DNS_UNCACHED, .name0 = d->next_name };
	struct bench_dns_checks *c = &d->checks[kind][s];
	struct client_res res = { 0 };
	int pfd[2], st = 0;
	size_t want, got;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	a.out_fd = pfd[1];
	pid = bench_spawn(client_cg(d, s), d->ns_c, e->cpu_cl, client_main, &a);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return pid;
	}
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res)) {
		res.err = EIO;
		if (bench_stop) {
			/* interrupted: no figure, no complaint */
			close(pfd[0]);
			bench_wait(pid, CLIENT_MS, &st);
			return -EINTR;
		}
	}
	want = res.err ? 0 : res.n * sizeof(uint32_t);
	got = bench_read_full(pfd[0], samples, want);
	close(pfd[0]);
	bench_wait(pid, CLIENT_MS, &st);
	d->next_name += res.names;
	c->sent += res.sent;
	c->ok += res.ok;
	c->rcode += res.rcode_err;
	c->shape += res.shape_err;
	c->timeouts += res.timeouts;
	c->strays += res.strays;
	if (res.rcode_err)
		c->last_rcode = res.last_rcode;
	if (res.err || got != want) {
		bench_err("dns: %s, %s, %s: %s at %s", fig == FIG_QPS ? "queries/s" : "latency", kind_names[kind],
			  srv_names[s], strerror(res.err ? res.err : EIO),
			  stages[res.stage >= 0 && res.stage < 5 ? res.stage : 0]);
		return -(res.err ? res.err : EIO);
	}
	*qps = res.secs > 0 ? res.counted / res.secs : 0;
	*n = res.n;
	return 0;
}

/* A few single queries to each server until all answer well (bounded):
 * the veth carries, the servers listen, the kernel redirects. */
static int warm_up(struct bench_dns *d, const struct bench_env *e)
{
	for (int s = 0; s < BENCH_DNS_SERVERS; s++) {
		struct bench_dns_checks *c = &d->checks[BENCH_DNS_CACHED][s];
		bool ok = false;

		for (int i = 0; i < 20 && !ok && !bench_stop; i++) {
			double q;
			uint32_t n = 0;
			int err = one_run(d, e, FIG_LAT, BENCH_DNS_CACHED, s, &q, samples_buf, &n);

			ok = !err && n == LAT_COUNT && !c->rcode && !c->shape && !c->timeouts;
			if (!ok) {
				bench_err("dns: warm-up against %s: %u of %d good answers (errors: rcode %llu, last %d;"
					  " shape %llu; timeouts %llu)", srv_names[s], n, LAT_COUNT,
					  (unsigned long long)c->rcode, c->last_rcode, (unsigned long long)c->shape,
					  (unsigned long long)c->timeouts);
				bench_sleep_ms(200);
			}
			memset(c, 0, sizeof(*c));
		}
		if (!ok) {
			bench_err("dns: %s does not answer as it should: stopping", srv_names[s]);
			if (s == BENCH_DNS_NMD) {
				show_tail("nomoat-dns output", d->nmd_out);
				show_tail("nomoat-dns log", d->nmd_log);
			}
			return bench_stop ? -EINTR : -EIO;
		}
	}
	return 0;
}

static void summarize(struct bench_dns *d, double qps[BENCH_DNS_KINDS][BENCH_DNS_SERVERS][BENCH_DNS_ROUNDS],
		      uint32_t *pool, const size_t npool[BENCH_DNS_KINDS][BENCH_DNS_SERVERS])
{
	for (int k = 0; k < BENCH_DNS_KINDS; k++) {
		for (int s = 0; s < BENCH_DNS_SERVERS; s++) {
			uint32_t *v = pool + ((size_t)k * BENCH_DNS_SERVERS + s) * BENCH_DNS_ROUNDS * LAT_COUNT;
			size_t n = npool[k][s];

			for (int i = 0; i < d->rounds; i++)
				d->round_qps[k][s][i] = qps[k][s][i];
			d->qps[k][s] = bench_median(qps[k][s], d->rounds);
			qsort(v, n, sizeof(uint32_t), bench_cmp_u32);
			d->med_us[k][s] = bench_pct(v, n, 0.5) / 1e3;
			d->p99_us[k][s] = bench_pct(v, n, 0.99) / 1e3;
			d->nsamples[k][s] = n;
		}
	}
}

int bench_dns_run(const struct bench_env *e, struct bench_dns *d)
{
	static uint32_t pool[BENCH_DNS_KINDS][BENCH_DNS_SERVERS][BENCH_DNS_ROUNDS * LAT_COUNT];
	double qps[BENCH_DNS_KINDS][BENCH_DNS_SERVERS][BENCH_DNS_ROUNDS];
	size_t npool[BENCH_DNS_KINDS][BENCH_DNS_SERVERS] = { { 0 } }, ndone[BENCH_DNS_KINDS][BENCH_DNS_SERVERS];
	int err, rounds = e->quick ? ROUNDS_Q : ROUNDS;

	memset(d, 0, sizeof(*d));
	d->maps = e->maps;
	d->pin_dir = e->pin_dir;
	d->cpu_cl = e->cpu_cl;
	d->cpu_srv = e->cpu_srv;
	d->window = WINDOW;
	d->next_name = 1;
	if (access(DNSMASQ, X_OK)) {
		d->skipped = "dnsmasq is not installed (" DNSMASQ ", Debian package dnsmasq-base)";
		bench_err("dns: %s", d->skipped);
		return 0;
	}
	if (!bench_sibling("nomoat-dns", d->nmd_bin, sizeof(d->nmd_bin))) {
		d->skipped = "nomoat-dns not found next to nomoat-bench or at build/nomoat-dns";
		bench_err("dns: %s", d->skipped);
		return 0;
	}
	fprintf(stderr, "  dns: direct / nomoat-dns / dnsmasq, one name and distinct names, %d alternating rounds\n",
		rounds);
	snprintf(d->dir, sizeof(d->dir), "/tmp/nmbench-%d-dns-XXXXXX", (int)getpid());
	if (!mkdtemp(d->dir)) {
		err = -errno;
		bench_err("dns: mkdtemp: %s", strerror(errno));
		return err;
	}
	d->dir_made = true;
	chmod(d->dir, 0755);
	err = cgroups_up(e, d);
	if (!err)
		err = net_up(d);
	if (!err)
		err = policies_up(d);
	if (!err)
		err = dnsmasq_up(d, e->cpu_srv, false, &d->up);
	if (!err)
		err = dnsmasq_up(d, e->cpu_srv, true, &d->filter);
	if (!err)
		err = nmd_up(d, e->cpu_srv);
	if (!err)
		err = warm_up(d, e);
	/* rounds: one name then distinct names, each direct, nomoat-dns,
	 * dnsmasq: queries/s, then latency */
	for (int i = 0; !err && i < rounds; i++) {
		for (int k = 0; !err && k < BENCH_DNS_KINDS; k++) {
			for (int s = 0; !err && s < BENCH_DNS_SERVERS; s++) {
				uint32_t *v = pool[k][s] + npool[k][s], n = 0;
				double dummy;

				if ((err = bench_time_left(e->deadline)))
					break;
				err = one_run(d, e, FIG_QPS, k, s, &qps[k][s][i], NULL, &n);
				if (!err)
					err = one_run(d, e, FIG_LAT, k, s, &dummy, v, &n);
				if (!err) {
					qsort(v, n, sizeof(uint32_t), bench_cmp_u32);
					d->round_med_us[k][s][i] = bench_pct(v, n, 0.5) / 1e3;
					npool[k][s] += n;
				}
			}
		}
		if (!err) {
			d->rounds = i + 1;
			memcpy(ndone, npool, sizeof(ndone));
		}
	}
	if (d->rounds) {
		/* whole rounds only */
		summarize(d, qps, &pool[0][0][0], ndone);
		d->measured = true;
	}
	if (err && d->nmd > 0 && bench_reap(d->nmd, NULL) == 1) {
		bench_err("dns: nomoat-dns has exited");
		d->nmd = 0;
		show_tail("nomoat-dns output", d->nmd_out);
	}
	/* its counters, from its last words */
	bench_stop_child(&d->nmd, SIGTERM);
	{
		static char buf[65536];
		int fd = open(d->nmd_out, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		char *p;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			p = strstr(buf, "nomoat-dns: stopped (");
			if (p) {
				snprintf(d->nmd_last, sizeof(d->nmd_last), "%s", p);
				d->nmd_last[strcspn(d->nmd_last, "\n")] = 0;
			}
		}
	}
	bench_dns_cleanup(d);
	return err;
}

/* ---- output ---------------------------------------------------------------- */
static const char *rcode_str(int rc)
{
	static const char *const n[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
	static char buf[16];

	if (rc >= 0 && rc < 6)
		return n[rc];
	snprintf(buf, sizeof(buf), "rcode %d", rc);
	return buf;
}

static uint64_t bad(const struct bench_dns_checks *c)
{
	return c->rcode + c->shape + c->timeouts;
}

void bench_dns_print(const struct bench_dns *d)
{
	const double *cq = d->qps[BENCH_DNS_CACHED], *cm = d->med_us[BENCH_DNS_CACHED];
	uint64_t nbad = 0;

	if (d->skipped) {
		printf("\nDNS resolver: not measured (%s)\n", d->skipped);
		return;
	}
	if (!d->measured)
		return;
	printf("\nDNS resolver, one client in a sandbox netns -> veth -> world netns (upstream dnsmasq " DN_UP
	       " answering\n*." DN_NAME " itself; nomoat-dns and dnsmasq as a filtering forwarder, the same allowlist,"
	       " both behind\nnomoat's UDP/53 redirect); medians of %d alternating rounds; queries/s: %d in flight for"
	       " %.1f s;\nlatency: single queries one after the other; CPU pinning: client %d, servers %d (-1: none):\n",
	       d->rounds, d->window, QPS_MS / 1e3, d->cpu_cl, d->cpu_srv);
	printf("  %-30s %10s %11s %10s %12s   %s\n", "figure", "direct", "nomoat-dns", "dnsmasq", "nmd/dnsmasq",
	       "target");
	for (int k = 0; k < BENCH_DNS_KINDS; k++) {
		const double *q = d->qps[k], *m = d->med_us[k], *p = d->p99_us[k];
		char name[48];
		bool c = k == BENCH_DNS_CACHED;

		snprintf(name, sizeof(name), "%s, queries/s", kind_names[k]);
		printf("  %-30s %10.0f %11.0f %10.0f %12.2f   %s\n", name, q[0], q[1], q[2],
		       q[2] > 0 ? q[1] / q[2] : 0, c ? "nmd >= 50000, ahead of dnsmasq" : "");
		snprintf(name, sizeof(name), "%s, us median", kind_names[k]);
		printf("  %-30s %10.1f %11.1f %10.1f %12.2f\n", name, m[0], m[1], m[2], m[2] > 0 ? m[1] / m[2] : 0);
		snprintf(name, sizeof(name), "%s, us p99", kind_names[k]);
		printf("  %-30s %10.1f %11.1f %10.1f %12.2f\n", name, p[0], p[1], p[2], p[2] > 0 ? p[1] / p[2] : 0);
		snprintf(name, sizeof(name), "%s, added us median", kind_names[k]);
		printf("  %-30s %10s %11.1f %10.1f %12s   %s\n", name, "-", m[1] - m[0], m[2] - m[0], "",
		       c ? "nmd < 50" : "");
	}
	printf("  targets (shown, not asserted), one name: nomoat-dns %.0f queries/s, target >= 50000: %s;"
	       " %.2fx dnsmasq,\n   target ahead: %s; added median %.1f us, target < 50: %s\n", cq[1],
	       cq[1] >= 50000 ? "met" : "missed", cq[2] > 0 ? cq[1] / cq[2] : 0, cq[1] > cq[2] ? "met" : "missed",
	       cm[1] - cm[0], cm[1] - cm[0] < 50 ? "met" : "missed");
	printf("  (one name: A " DN_NAME " again and again, from the filters' caches; distinct names: A"
	       " q00000001." DN_NAME ", ...\n   never repeated, so every query goes upstream (dnsmasq's cache of 10000 fills\n"
	       "   in the first rounds: the later ones measure it full); added: the median less direct's of the"
	       " same names;\n   direct: from a cgroup under no attach point, no nomoat hook on its path)\n");
	if (cq[0] > 0 && cq[1] > 0.85 * cq[0] && cq[2] > 0.85 * cq[0])
		printf("  (one name: both filters within 15%% of direct's queries/s: one client and the path through"
		       " the\n   kernel are the limit there, not the resolver)\n");
	printf("  answers checked (NOERROR, question echoed, one record A " DN_ANSWER "):\n");
	for (int k = 0; k < BENCH_DNS_KINDS; k++) {
		for (int s = 0; s < BENCH_DNS_SERVERS; s++) {
			const struct bench_dns_checks *c = &d->checks[k][s];

			nbad += bad(c);
			uint64_t left = c->sent - c->ok - bad(c);

			printf("    %-15s %-11s %9llu sent %9llu good %5llu in flight at the end; errors: %llu rcode%s%s%s"
			       " %llu shape, %llu timeouts; %llu strays\n", kind_names[k], srv_names[s],
			       (unsigned long long)c->sent, (unsigned long long)c->ok, (unsigned long long)left,
			       (unsigned long long)c->rcode, c->rcode ? " (last " : "",
			       c->rcode ? rcode_str(c->last_rcode) : "", c->rcode ? ")," : ",",
			       (unsigned long long)c->shape, (unsigned long long)c->timeouts,
			       (unsigned long long)c->strays);
		}
	}
	if (nbad)
		printf("  WARNING: %llu queries were not answered well: the figures above are not clean\n",
		       (unsigned long long)nbad);
	if (d->nmd_last[0])
		printf("  %s\n", d->nmd_last);
}

void bench_dns_summary(const struct bench_dns *d)
{
	static const char *const key[BENCH_DNS_SERVERS] = { "direct", "nmd", "dnsmasq" };
	const double(*q)[BENCH_DNS_SERVERS] = d->qps, (*m)[BENCH_DNS_SERVERS] = d->med_us;
	uint64_t nbad = 0, strays = 0;

	if (!d->measured)
		return;
	for (int k = 0; k < BENCH_DNS_KINDS; k++)
		for (int s = 0; s < BENCH_DNS_SERVERS; s++) {
			nbad += bad(&d->checks[k][s]);
			strays += d->checks[k][s].strays;
		}
	printf("summary dns rounds=%d window=%d direct_qps=%.0f nmd_cached_qps=%.0f dnsmasq_cached_qps=%.0f"
	       " direct_uncached_qps=%.0f nmd_uncached_qps=%.0f dnsmasq_uncached_qps=%.0f", d->rounds, d->window,
	       q[0][0], q[0][1], q[0][2], q[1][0], q[1][1], q[1][2]);
	printf(" direct_median_us=%.2f nmd_cached_median_us=%.2f dnsmasq_cached_median_us=%.2f"
	       " nmd_cached_added_us=%.2f dnsmasq_cached_added_us=%.2f", m[0][0], m[0][1], m[0][2], m[0][1] - m[0][0],
	       m[0][2] - m[0][0]);
	printf(" direct_uncached_median_us=%.2f nmd_uncached_median_us=%.2f dnsmasq_uncached_median_us=%.2f"
	       " nmd_uncached_added_us=%.2f dnsmasq_uncached_added_us=%.2f", m[1][0], m[1][1], m[1][2],
	       m[1][1] - m[1][0], m[1][2] - m[1][0]);
	for (int k = 0; k < BENCH_DNS_KINDS; k++)
		for (int s = 0; s < BENCH_DNS_SERVERS; s++)
			printf(" %s_%s_p99_us=%.2f", key[s], k ? "uncached" : "cached", d->p99_us[k][s]);
	printf(" nmd_dnsmasq_cached=%.4f errors=%llu strays=%llu", q[0][2] > 0 ? q[0][1] / q[0][2] : 0,
	       (unsigned long long)nbad, (unsigned long long)strays);
	for (int k = 0; k < BENCH_DNS_KINDS; k++)
		for (int s = 0; s < BENCH_DNS_SERVERS; s++) {
			printf(" %s_%s_qps_rounds=", key[s], k ? "uncached" : "cached");
			for (int i = 0; i < d->rounds; i++)
				printf("%s%.0f", i ? "," : "", d->round_qps[k][s][i]);
		}
	for (int k = 0; k < BENCH_DNS_KINDS; k++)
		for (int s = 0; s < BENCH_DNS_SERVERS; s++) {
			printf(" %s_%s_us_rounds=", key[s], k ? "uncached" : "cached");
			for (int i = 0; i < d->rounds; i++)
				printf("%s%.2f", i ? "," : "", d->round_med_us[k][s][i]);
		}
	printf("\n");
}
