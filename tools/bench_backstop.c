// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench, part "backstop": what the packet backstop (cgroup_skb/egress)
 * costs a sandbox's traffic, with 100k prefixes in its policy.
 *
 * The app cgroup is bound to a policy of 100,000 random IPv4 deny prefixes
 * (default allow, 127.0.0.1 allowed).  From it, over loopback in the bench's
 * netns, alternating with and without the egress program attached at the
 * attach point (every other program stays):
 *   - one TCP stream for ROUND_MS: MB/s (a flow is judged once per change
 *     epoch, so this is the cost of the cache check on each packet);
 *   - connected UDP, 64-byte datagrams for ROUND_MS: datagrams/s (a UDP
 *     socket is judged again only for a new destination);
 *   - unconnected UDP, sendto two ports in turn: datagrams/s, each one
 *     judged whole (the full per-packet cost, given as ns per datagram).
 * The pinned egress link of the attach point is detached for the run and a
 * new one is pinned in its place at the end.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cgroup.h"
#include "err.h"
#include "parse.h"
#include "policy.h"

#define BS_POLICY   "nomoat-bench-backstop"
#define BS_PREFIXES 100000
#define ROUND_MS    1000
#define ROUNDS      5
#define ROUNDS_Q    3
#define UDP_LEN     64
#define TCP_CHUNK   (128 * 1024)

enum { K_TCP, K_UDP, K_UDP_ALT, K__MAX };
enum { W_WITH, W_WITHOUT, W__MAX };

/* ---- the sink: one TCP stream at a time, and UDP, read and dropped ------ */
struct sink_arg {
	int port_fd;
};

static int sink_main(void *p)
{
	struct sink_arg *a = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	static char buf[1 << 18];
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), u, one = 1;
	struct pollfd pfd[3];
	int n = 2;

	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (t < 0 || bind(t, (struct sockaddr *)&sa, sizeof(sa)) || listen(t, 8) ||
	    getsockname(t, (struct sockaddr *)&sa, &sl))
		return 1;
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	if (write(a->port_fd, &sa.sin_port, sizeof(sa.sin_port)) != sizeof(sa.sin_port))
		return 1;
	close(a->port_fd);
	pfd[0] = (struct pollfd){ .fd = t, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = u, .events = POLLIN };
	for (uint64_t end = bench_now_ns() + 3600ull * 1000000000ull; !bench_stop && bench_now_ns() < end;) {
		if (poll(pfd, n, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int c = accept4(t, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0 && n == 3)
				close(pfd[2].fd);
			if (c >= 0) {
				pfd[2] = (struct pollfd){ .fd = c, .events = POLLIN };
				n = 3;
			}
		}
		if (pfd[1].revents & POLLIN)
			for (int i = 0; i < 4096 && recv(u, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
				;
		if (n == 3 && (pfd[2].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(pfd[2].fd, buf, sizeof(buf));

			if (r <= 0) {
				close(pfd[2].fd);
				n = 2;
			}
		}
	}
	return 0;
}

/* ---- the sender, in the app cgroup --------------------------------------- */
struct send_arg {
	int kind;
	struct sockaddr_in dst;
	int out_fd; /* uint64_t count of bytes (TCP) or datagrams (UDP) */
};

static int send_main(void *p)
{
	struct send_arg *a = p;
	static char buf[TCP_CHUNK];
	uint64_t count = 0, end;
	int s = socket(AF_INET, (a->kind == K_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);

	struct sockaddr_in alt[2] = { a->dst, a->dst };

	alt[1].sin_port = htons(ntohs(a->dst.sin_port) + 1);
	if (s < 0 || (a->kind != K_UDP_ALT && connect(s, (struct sockaddr *)&a->dst, sizeof(a->dst))))
		return 1;
	end = bench_now_ns() + ROUND_MS * 1000000ull;
	while (!bench_stop) {
		ssize_t r;

		if (a->kind == K_TCP) {
			r = send(s, buf, sizeof(buf), MSG_NOSIGNAL);
			if (r > 0)
				count += r;
		} else if (a->kind == K_UDP) {
			r = send(s, buf, UDP_LEN, 0);
			if (r > 0)
				count++;
		} else {
			r = sendto(s, buf, UDP_LEN, 0, (struct sockaddr *)&alt[count & 1], sizeof(alt[0]));
			if (r > 0)
				count++;
		}
		if (r < 0 && errno != EINTR && errno != ENOBUFS && errno != ECONNREFUSED)
			return 2;
		if ((a->kind == K_TCP || (count & 63) == 0) && bench_now_ns() >= end)
			break;
	}
	close(s);
	return write(a->out_fd, &count, sizeof(count)) == sizeof(count) ? 0 : 3;
}

static int one_round(const struct bench_env *e, int kind, const struct sockaddr_in *dst, double *rate)
{
	struct send_arg a = { .kind = kind, .dst = *dst };
	uint64_t count = 0;
	int pfd[2], st = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	a.out_fd = pfd[1];
	pid = bench_spawn(e->cg_app, e->ns, e->cpu_cl, send_main, &a);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return pid;
	}
	if (read(pfd[0], &count, sizeof(count)) != sizeof(count))
		count = 0;
	close(pfd[0]);
	bench_wait(pid, ROUND_MS + 5000, &st);
	if (!count)
		return -EIO;
	*rate = (double)count / (ROUND_MS / 1000.0);
	return 0;
}

/* ---- the egress program on and off ---------------------------------------- */
static int egress_link_path(const struct bench_env *e, char *buf, size_t len)
{
	char nm[PATH_MAX];
	__u64 id;
	int err;

	/* the attach point is the app cgroup's parent */
	snprintf(nm, sizeof(nm), "%s", e->cg_app);
	*strrchr(nm, '/') = 0;
	err = nm_cgroup_id(nm, &id);
	if (err)
		return err;
	snprintf(buf, len, "%s/links/%llu/nm_egress", e->pin_dir, (unsigned long long)id);
	return 0;
}

static int egress_on(const struct bench_env *e)
{
	char p[PATH_MAX], nm[PATH_MAX];
	int prog, cg, link;

	snprintf(p, sizeof(p), "%s/progs/nm_egress", e->pin_dir);
	snprintf(nm, sizeof(nm), "%s", e->cg_app);
	*strrchr(nm, '/') = 0;
	prog = bpf_obj_get(p);
	cg = open(nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	link = prog >= 0 && cg >= 0 ? bpf_link_create(prog, cg, BPF_CGROUP_INET_EGRESS, NULL) : -1;
	if (link < 0)
		link = -errno;
	if (prog >= 0)
		close(prog);
	if (cg >= 0)
		close(cg);
	return link;
}

static void egress_off(int link)
{
	if (link >= 0) {
		bpf_link_detach(link);
		close(link);
	}
}

/* ---- the part ------------------------------------------------------------- */
int bench_backstop_run(const struct bench_env *e, struct bench_backstop *r)
{
	struct nm_policy p = { .default_action = NM_ACT_ALLOW, .mode = NM_MODE_ENFORCE, .events = NM_EV_DENY };
	struct nm_rule_entry lo = { .action = NM_ACT_ALLOW };
	struct nm_ruleset rs = { 0 };
	struct nm_cidr *v = NULL;
	struct sink_arg sa;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	double rates[K__MAX][W__MAX][ROUNDS];
	char lpath[PATH_MAX];
	bool made = false, bound = false, detached = false;
	int pfd[2] = { -1, -1 }, err, link = -1, rounds = e->quick ? ROUNDS_Q : ROUNDS;
	pid_t sink = -1;
	__u32 id;

	memset(r, 0, sizeof(*r));
	fprintf(stderr, "  backstop: %d prefixes, %d alternating rounds of %d ms per figure\n", BS_PREFIXES, rounds,
		ROUND_MS);
	snprintf(p.name, sizeof(p.name), "%s", BS_POLICY);
	err = bench_prefixes(4, BS_PREFIXES, e->rng, &v);
	if (!err)
		err = bench_ruleset(v, BS_PREFIXES, &rs);
	if (!err) {
		nm_parse_cidr("127.0.0.1", &lo.cidr, NULL, 0);
		err = nm_ruleset_add(&rs, &lo);
	}
	if (!err && (err = nm_policy_create(e->maps, &p, &rs, &id)))
		bench_err("creating %s: %s", BS_POLICY, nm_err_msg());
	made = !err;
	if (!err && (err = nm_bind(e->maps, e->app_cgid, id)))
		bench_err("binding %s: %s", e->cg_app, nm_err_msg());
	bound = !err;
	if (!err)
		err = egress_link_path(e, lpath, sizeof(lpath));
	if (!err) {
		int fd = bpf_obj_get(lpath);

		if (fd < 0 || bpf_link_detach(fd)) {
			err = -errno;
			bench_err("detaching the pinned egress link %s: %s", lpath, strerror(errno));
		} else {
			unlink(lpath);
			detached = true;
		}
		if (fd >= 0)
			close(fd);
	}
	if (!err && pipe2(pfd, O_CLOEXEC))
		err = -errno;
	if (!err) {
		sa.port_fd = pfd[1];
		sink = bench_spawn(NULL, e->ns, e->cpu_srv, sink_main, &sa);
		close(pfd[1]);
		if (sink < 0 || read(pfd[0], &dst.sin_port, sizeof(dst.sin_port)) != sizeof(dst.sin_port))
			err = -EIO;
		close(pfd[0]);
	}
	for (int i = 0; !err && i < rounds && !bench_stop; i++) {
		/* with, without; then without, with: neither always goes first */
		for (int k = 0; !err && k < K__MAX; k++) {
			for (int j = 0; !err && j < W__MAX; j++) {
				int w = (i % 2) ? W__MAX - 1 - j : j;

				if (w == W_WITH) {
					link = egress_on(e);
					if (link < 0) {
						err = link;
						bench_err("attaching the egress program: %s", strerror(-err));
						break;
					}
				}
				err = one_round(e, k, &dst, &rates[k][w][i]);
				if (w == W_WITH) {
					egress_off(link);
					link = -1;
				}
				if (err)
					bench_err("backstop round %d: the sender failed (%s)", i, strerror(-err));
			}
		}
		if (!err)
			r->rounds = i + 1;
	}
	for (int k = 0; r->rounds && k < K__MAX; k++)
		for (int w = 0; w < W__MAX; w++)
			r->rate[k][w] = bench_median(rates[k][w], r->rounds);
	r->measured = r->rounds > 0;
	r->prefixes = BS_PREFIXES;
	if (sink > 0) {
		kill(sink, SIGKILL);
		bench_wait(sink, 2000, NULL);
	}
	if (detached) {
		/* put an egress link back where the pinned one was */
		link = egress_on(e);
		if (link < 0 || bpf_obj_pin(link, lpath))
			bench_err("pinning the egress link again at %s: %s", lpath, strerror(errno));
		if (link >= 0)
			close(link);
	}
	if (bound)
		nm_unbind(e->maps, e->app_cgid);
	if (made)
		nm_policy_delete(e->maps, BS_POLICY);
	nm_ruleset_free(&rs);
	free(v);
	return err;
}

void bench_backstop_print(const struct bench_backstop *r)
{
	const double *t, *u;

	if (!r->measured)
		return;
	t = r->rate[K_TCP];
	u = r->rate[K_UDP];
	printf("\npacket backstop, %zu IPv4 prefixes, medians of %d alternating rounds (with / without the egress "
	       "program):\n", r->prefixes, r->rounds);
	printf("  one TCP stream      %9.0f / %9.0f MB/s     ratio %.3f  target >= 0.95\n", t[W_WITH] / 1e6,
	       t[W_WITHOUT] / 1e6, t[W_WITH] / t[W_WITHOUT]);
	printf("  connected UDP       %9.0f / %9.0f per s    ratio %.3f  (%d-byte datagrams)\n", u[W_WITH],
	       u[W_WITHOUT], u[W_WITH] / u[W_WITHOUT], UDP_LEN);
	u = r->rate[K_UDP_ALT];
	printf("  UDP, 2 destinations %9.0f / %9.0f per s    ratio %.3f  (%.0f ns more per datagram, each judged "
	       "whole)\n", u[W_WITH], u[W_WITHOUT], u[W_WITH] / u[W_WITHOUT], 1e9 / u[W_WITH] - 1e9 / u[W_WITHOUT]);
}

void bench_backstop_summary(const struct bench_backstop *r)
{
	if (!r->measured)
		return;
	const double(*x)[W__MAX] = r->rate;

	printf("summary backstop prefixes=%zu rounds=%d tcp_with_mbs=%.1f tcp_without_mbs=%.1f tcp_ratio=%.4f "
	       "udp_with_pps=%.0f udp_without_pps=%.0f udp_ratio=%.4f udp2_with_pps=%.0f udp2_without_pps=%.0f "
	       "udp2_ratio=%.4f udp2_ns_per_pkt=%.1f\n",
	       r->prefixes, r->rounds, x[K_TCP][W_WITH] / 1e6, x[K_TCP][W_WITHOUT] / 1e6,
	       x[K_TCP][W_WITH] / x[K_TCP][W_WITHOUT], x[K_UDP][W_WITH], x[K_UDP][W_WITHOUT],
	       x[K_UDP][W_WITH] / x[K_UDP][W_WITHOUT], x[K_UDP_ALT][W_WITH], x[K_UDP_ALT][W_WITHOUT],
	       x[K_UDP_ALT][W_WITH] / x[K_UDP_ALT][W_WITHOUT],
	       1e9 / x[K_UDP_ALT][W_WITH] - 1e9 / x[K_UDP_ALT][W_WITHOUT]);
}
