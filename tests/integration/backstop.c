/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * backstop.c - the packet backstop (cgroup_skb/egress) end to end,
 * in the integration topology (after `nomoat load`, with <base>/agents
 * attached):
 *
 *   - raw sockets (kernel-made IPv4/IPv6 header, hand-made UDP header)
 *     and ping sockets, in a policy that allows them: a reply from an
 *     allowed host proves the packet path works; the fake metadata host
 *     and a redirect-only host never answer (sendto mostly fails with
 *     EPERM: the drop comes back through the output path), and the drops
 *     are counted and reported as events with hook "egress";
 *   - IPv4 options on an ordinary UDP socket (a source route could ride
 *     there): dropped; the same datagram without options is answered;
 *   - a TCP transfer running up and one running down: `deny add` of the
 *     peer stops each within a second (the download because its
 *     acknowledgements are dropped);
 *   - connections the sandbox accepts from a denied address (the test's
 *     world host is in 10/8 and fd00::/8) keep working;
 *   - audit mode: the same raw packet to the metadata host gets through and
 *     is reported as would-deny.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cases.h"
#include "harness.h"
#include "run.h"

#define BS      "agents/backstop"
#define BSFLOW  "agents/bsflow"
#define BS_EP   "--proxy4 10.250.0.1:3128 --dns4 10.250.0.1:5353 --proxy6 [fd00:250::1]:3128 --dns6 [fd00:250::1]:5353"
#define FLOW_PORT  9000
#define IN_PORT    7000
#define REPLY_MS   1200
#define IN_BYTES   (256 * 1024)

/* ---- one packet from the sandbox, and its answer ------------------------ */
enum bs_kind { RAW_UDP, PING, UDP_OPTS, UDP_PLAIN };

struct bs_probe {
	enum bs_kind kind;
	const char *addr;
	int fd; /* result pipe */
};

struct bs_res {
	int err;       /* errno of the step that failed, 0 when sent */
	char step[16];
	int replied;   /* an answer came back */
	char line[96]; /* the answer (UDP) */
};

static int fail(struct bs_res *r, const char *step)
{
	r->err = errno;
	snprintf(r->step, sizeof(r->step), "%s", step);
	return -1;
}

static void sockaddr_of(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		*len = sizeof(*s4);
	}
}

static void timeouts(int s)
{
	struct timeval tv = { .tv_sec = REPLY_MS / 1000, .tv_usec = (REPLY_MS % 1000) * 1000 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A UDP datagram to addr:5300 built by hand on a raw socket; the answer
 * comes to an ordinary UDP socket bound to the source port we chose. */
static int raw_udp(const struct bs_probe *p, struct bs_res *r)
{
	bool v6 = strchr(p->addr, ':') != NULL;
	int fam = v6 ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss, me;
	socklen_t len, mlen = sizeof(me);
	unsigned char pkt[8 + 4];
	int u, raw, six = 6;
	ssize_t n;

	u = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u < 0)
		return fail(r, "socket");
	timeouts(u);
	sockaddr_of(v6 ? "::" : "0.0.0.0", 0, &ss, &len);
	if (bind(u, (struct sockaddr *)&ss, len) || getsockname(u, (struct sockaddr *)&me, &mlen))
		return fail(r, "bind");
	raw = socket(fam, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	if (raw < 0)
		return fail(r, "raw socket");
	/* IPv6 needs the UDP checksum: the kernel fills it in at offset 6. */
	if (v6 && setsockopt(raw, IPPROTO_IPV6, IPV6_CHECKSUM, &six, sizeof(six)))
		return fail(r, "IPV6_CHECKSUM");
	memcpy(pkt, v6 ? (void *)&((struct sockaddr_in6 *)&me)->sin6_port : (void *)&((struct sockaddr_in *)&me)->sin_port, 2);
	pkt[2] = NMT_UDP_PORT >> 8;
	pkt[3] = NMT_UDP_PORT & 0xff;
	pkt[4] = 0;
	pkt[5] = sizeof(pkt);
	pkt[6] = pkt[7] = 0;
	memcpy(pkt + 8, "ping", 4);
	sockaddr_of(p->addr, 0, &ss, &len);
	if (sendto(raw, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) != (ssize_t)sizeof(pkt))
		return fail(r, "sendto");
	n = recv(u, r->line, sizeof(r->line) - 1, 0);
	r->replied = n > 0;
	if (n > 0)
		r->line[n] = 0;
	return 0;
}

/* An ICMP echo request on a ping socket; the kernel fills in id and sum. */
static int ping(const struct bs_probe *p, struct bs_res *r)
{
	bool v6 = strchr(p->addr, ':') != NULL;
	unsigned char req[16] = { v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO, 0 }, ans[256];
	struct sockaddr_storage ss;
	socklen_t len;
	int s;

	s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (s < 0)
		return fail(r, "socket");
	timeouts(s);
	req[7] = 1; /* sequence */
	sockaddr_of(p->addr, 0, &ss, &len);
	if (sendto(s, req, sizeof(req), 0, (struct sockaddr *)&ss, len) != (ssize_t)sizeof(req))
		return fail(r, "sendto");
	for (int i = 0; i < 4; i++) {
		ssize_t n = recv(s, ans, sizeof(ans), 0);

		if (n <= 0)
			break;
		if (ans[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) {
			r->replied = 1;
			snprintf(r->line, sizeof(r->line), "echo reply");
			break;
		}
	}
	return 0;
}

/* An ordinary UDP datagram to addr:5300, with IPv4 options (three NOPs
 * and an end) or without. */
static int udp(const struct bs_probe *p, struct bs_res *r)
{
	static const unsigned char opts[4] = { 1, 1, 1, 0 };
	struct sockaddr_storage ss;
	socklen_t len;
	ssize_t n;
	int s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(r, "socket");
	timeouts(s);
	if (p->kind == UDP_OPTS && setsockopt(s, IPPROTO_IP, IP_OPTIONS, opts, sizeof(opts)))
		return fail(r, "IP_OPTIONS");
	sockaddr_of(p->addr, NMT_UDP_PORT, &ss, &len);
	if (sendto(s, "ping", 4, 0, (struct sockaddr *)&ss, len) != 4)
		return fail(r, "sendto");
	n = recv(s, r->line, sizeof(r->line) - 1, 0);
	r->replied = n > 0;
	if (n > 0)
		r->line[n] = 0;
	return 0;
}

static int bs_child(void *arg)
{
	const struct bs_probe *p = arg;
	struct bs_res r = { 0 };
	int g;

	/* ping sockets need the group range (per netns) */
	g = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if (g >= 0) {
		if (write(g, "0 2147483647", 12) < 0)
			r.err = 0;
		close(g);
	}
	switch (p->kind) {
	case RAW_UDP:
		raw_udp(p, &r);
		break;
	case PING:
		ping(p, &r);
		break;
	default:
		udp(p, &r);
		break;
	}
	return write(p->fd, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

static bool bs_run(const char *rel, enum bs_kind kind, const char *addr, struct bs_res *r)
{
	struct bs_probe p = { kind, addr, -1 };

	memset(r, 0, sizeof(*r));
	return nmt_child_result(rel, bs_child, &p, &p.fd, r, sizeof(*r));
}

static const char *bs_str(const struct bs_res *r, char *buf, size_t len)
{
	if (r->err)
		snprintf(buf, len, "%s failed: %s", r->step, strerror(r->err));
	else if (r->replied)
		snprintf(buf, len, "answered '%s'", r->line);
	else
		snprintf(buf, len, "no answer");
	return buf;
}

/* Each row: a packet and whether the backstop lets it reach its host. */
struct bs_row {
	enum bs_kind kind;
	const char *addr;
	bool through;
	const char *what;
};

static void bs_rows(const char *rel, const struct bs_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char got[160];
		struct bs_res r;
		bool ran = bs_run(rel, rows[i].kind, rows[i].addr, &r);

		/* A drop shows as EPERM from sendto (the egress verdict comes
		 * back through the IP output path) or as silence. */
		bool blocked = !r.replied && (!r.err || (r.err == EPERM && !strcmp(r.step, "sendto")));
		bool ok = rows[i].through ? !r.err && r.replied : blocked;

		nmt_verdict(ran && ok, rows[i].what, "%s%s",
			    ran ? "" : "the probe did not run; ", bs_str(&r, got, sizeof(got)));
	}
}

static const struct bs_row raw_rows[] = {
	{ RAW_UDP, NMT_NET4, true, "backstop: raw IPv4 UDP to an allowed host is answered" },
	{ RAW_UDP, NMT_META4, false, "backstop: raw IPv4 UDP to the metadata host is dropped" },
	{ RAW_UDP, NMT_INTERNAL4, false, "backstop: raw IPv4 UDP to an internal host is dropped" },
	{ RAW_UDP, NMT_NET6, true, "backstop: raw IPv6 UDP to an allowed host is answered" },
	{ RAW_UDP, NMT_META6, false, "backstop: raw IPv6 UDP to the IPv6 metadata host is dropped" },
	{ PING, NMT_NET4, true, "backstop: ping an allowed host: echo reply" },
	{ PING, NMT_META4, false, "backstop: ping the metadata host: dropped" },
	{ PING, NMT_NET4B, false, "backstop: ping a host the policy would redirect: dropped (cannot be proxied)" },
	{ PING, NMT_NET6, true, "backstop: ping6 an allowed host: echo reply" },
	{ PING, NMT_META6, false, "backstop: ping6 the IPv6 metadata host: dropped" },
	{ UDP_PLAIN, NMT_NET4, true, "backstop: UDP without IP options to an allowed host is answered" },
	{ UDP_OPTS, NMT_NET4, false, "backstop: the same UDP with IPv4 options (a source route could ride there) is dropped" },
};

/* A backstop event (hook egress) for the metadata host, read back. */
static void case_bs_event(void)
{
	const char *desc = "backstop: a drop is reported as an event (hook egress, deny, the metadata address)";
	char out[8192] = "", err[1024] = "", why[256] = "";
	int fd = -1, efd = -1, rc;
	struct bs_res r;
	pid_t pid;

	pid = nmt_cli_bg(&fd, &efd, "-j events --count 1 --timeout 5");
	if (pid < 0) {
		nmt_verdict(false, desc, "cannot start nomoat events: %s", strerror(-pid));
		return;
	}
	nmt_sleep_ms(300);
	bs_run(BS, RAW_UDP, NMT_META4, &r);
	rc = nmt_cli_bg_end(pid, fd, efd, out, sizeof(out), err, sizeof(err), 6000);
	{
		const struct nmt_want_field want[] = {
			{ "hook", "egress" }, { "verdict", "deny" }, { "dst", NULL },
			{ "policy", "p-bs" }, { "proto", "udp" }, { NULL, NULL },
		};

		if (rc != 0)
			snprintf(why, sizeof(why), "exit %d: %s", rc, nmt_oneline(err));
		else if (!strstr(out, "169.254.169.254"))
			snprintf(why, sizeof(why), "no metadata address in '%s'", nmt_oneline(out));
		else
			nmt_check_fields(out, want, why, sizeof(why));
	}
	nmt_verdict(!*why, desc, "%s", why);
}

/* ---- a running transfer, then a deny rule ------------------------------- */
struct flow_shared {
	volatile long long bytes;   /* received by the side that counts */
	volatile long long last_ms; /* when it last received something */
	volatile int listening;
};

struct flow_arg {
	struct flow_shared *sh;
	bool up; /* client (sandbox) sends, server counts; else the reverse */
	bool proxied; /* the client dials NMT_NET4:FLOW_PROXIED_PORT, which its
		       * policy redirects to the server (its "proxy") */
};

#define BSPROXY "agents/bsproxy"
#define FLOW_PROXIED_PORT 9999

static void count(struct flow_shared *sh, int s, long long end)
{
	char buf[65536];

	while (nmt_now_ms() < end) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n > 0) {
			sh->bytes += n;
			sh->last_ms = nmt_now_ms();
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			break;
		}
	}
}

static void pour(int s, long long end)
{
	static char buf[65536];

	while (nmt_now_ms() < end)
		if (send(s, buf, sizeof(buf), MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EINTR)
			break;
}

#define FLOW_MS 9000

static int flow_server(void *arg)
{
	struct flow_arg *a = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int l, s, one = 1;
	struct timeval tv = { 0, 200000 };

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_of(NMT_NET4B, FLOW_PORT, &ss, &len);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 1))
		return 1;
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	a->sh->listening = 1;
	for (long long end = nmt_now_ms() + 5000; nmt_now_ms() < end;) {
		s = accept(l, NULL, NULL);
		if (s < 0)
			continue;
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (a->up)
			count(a->sh, s, nmt_now_ms() + FLOW_MS);
		else
			pour(s, nmt_now_ms() + FLOW_MS);
		return 0;
	}
	return 1;
}

static int flow_client(void *arg)
{
	struct flow_arg *a = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { 0, 200000 };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (a->proxied)
		sockaddr_of(NMT_NET4, FLOW_PROXIED_PORT, &ss, &len);
	else
		sockaddr_of(NMT_NET4B, FLOW_PORT, &ss, &len);
	if (s < 0 || connect(s, (struct sockaddr *)&ss, len))
		return 1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (a->up)
		pour(s, nmt_now_ms() + FLOW_MS);
	else
		count(a->sh, s, nmt_now_ms() + FLOW_MS);
	return 0;
}

/* A running transfer (up: from the sandbox), then the change cut (a CLI
 * command line), then undo after the check.  proxied: the flow goes through
 * a redirect (see struct flow_arg); keep: cut must NOT stop it. */
static void case_flow_x(bool up, bool proxied, bool keep, const char *cut, const char *undo)
{
	char desc[320];
	struct flow_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct flow_arg a = { sh, up, proxied };
	char why[256] = "", cgp[PATH_MAX];
	pid_t srv = -1, cli = -1;
	long long t_rule, b_rule, b1, b2, last;

	if (keep)
		snprintf(desc, sizeof(desc), "backstop: `%s` leaves a running %s%s alone", cut,
			 up ? "upload" : "download", proxied ? " through the proxy" : "");
	else
		snprintf(desc, sizeof(desc), "backstop: `%s` stops a running %s%s within 1 s", cut,
			 up ? "upload from the sandbox" : "download into the sandbox",
			 proxied ? " through the proxy (judged by its original destination)" : "");
	if (sh == MAP_FAILED) {
		nmt_verdict(false, desc, "mmap: %s", strerror(errno));
		return;
	}
	memset((void *)sh, 0, sizeof(*sh));
	nmt_cg_path(proxied ? BSPROXY : BSFLOW, cgp, sizeof(cgp));
	srv = nmt_spawn(NULL, nmt_h.topo.wns, flow_server, &a);
	for (long long end = nmt_now_ms() + 3000; !sh->listening && nmt_now_ms() < end;)
		nmt_sleep_ms(10);
	cli = nmt_spawn(cgp, nmt_h.topo.cns, flow_client, &a);
	for (long long end = nmt_now_ms() + 5000; sh->bytes < (4 << 20) && nmt_now_ms() < end;)
		nmt_sleep_ms(20);
	if (sh->bytes < (4 << 20)) {
		snprintf(why, sizeof(why), "the transfer did not run (%lld bytes in 5 s)", sh->bytes);
		goto out;
	}
	if (nmt_cli("%s", cut)) {
		snprintf(why, sizeof(why), "%s: %s", cut, nmt_cli_msg());
		goto out;
	}
	t_rule = nmt_now_ms();
	b_rule = sh->bytes;
	nmt_sleep_ms(1000);
	b1 = sh->bytes;
	nmt_sleep_ms(1000);
	b2 = sh->bytes;
	last = sh->last_ms;
	if (keep) {
		if (b2 == b1)
			snprintf(why, sizeof(why), "it stopped: no byte between 1 s and 2 s after the change");
	} else if (b2 != b1)
		snprintf(why, sizeof(why), "still flowing: %lld bytes between 1 s and 2 s after the rule", b2 - b1);
	else if (last > t_rule + 1000)
		snprintf(why, sizeof(why), "last data %lld ms after the rule", last - t_rule);
	else if (nmt_verbose)
		fprintf(stderr, "flow: %lld bytes before the rule, %lld after, last %lld ms after\n", b_rule,
			b2 - b_rule, last - t_rule);
out:
	nmt_cli("%s", undo);
	if (cli > 0) {
		kill(cli, SIGKILL);
		nmt_wait(cli, 2000);
	}
	if (srv > 0) {
		kill(srv, SIGKILL);
		nmt_wait(srv, 2000);
	}
	munmap((void *)sh, sizeof(*sh));
	nmt_verdict(!*why, desc, "%s", why);
}

/* A connected UDP socket pinging an allowed echo server every 20 ms: the
 * backstop keeps the last destination it judged per socket, and a deny
 * must still cut it. */
static int udp_flow_client(void *arg)
{
	struct flow_shared *sh = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { 0, 20000 };
	char buf[128];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sockaddr_of(NMT_NET4, NMT_UDP_PORT, &ss, &len);
	if (s < 0 || connect(s, (struct sockaddr *)&ss, len))
		return 1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (long long end = nmt_now_ms() + FLOW_MS; nmt_now_ms() < end;) {
		if (send(s, "ping", 4, 0) < 0 && errno != EPERM && errno != ECONNREFUSED)
			break;
		if (recv(s, buf, sizeof(buf), 0) > 0) {
			sh->bytes++;
			sh->last_ms = nmt_now_ms();
		}
		nmt_sleep_ms(20);
	}
	return 0;
}

static void case_udp_flow(void)
{
	const char *desc = "backstop: `deny add` stops a connected UDP socket's datagrams within 1 s";
	struct flow_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char why[256] = "", cgp[PATH_MAX];
	long long t_rule, b1, b2;
	pid_t cli;

	if (sh == MAP_FAILED) {
		nmt_verdict(false, desc, "mmap: %s", strerror(errno));
		return;
	}
	memset((void *)sh, 0, sizeof(*sh));
	nmt_cg_path(BSFLOW, cgp, sizeof(cgp));
	cli = nmt_spawn(cgp, nmt_h.topo.cns, udp_flow_client, (void *)sh);
	for (long long end = nmt_now_ms() + 3000; sh->bytes < 10 && nmt_now_ms() < end;)
		nmt_sleep_ms(20);
	if (sh->bytes < 10) {
		snprintf(why, sizeof(why), "the echo did not run (%lld replies in 3 s)", sh->bytes);
		goto out;
	}
	if (nmt_cli("deny add %s --policy p-bsflow", NMT_NET4)) {
		snprintf(why, sizeof(why), "deny add: %s", nmt_cli_msg());
		goto out;
	}
	t_rule = nmt_now_ms();
	nmt_sleep_ms(1000);
	b1 = sh->bytes;
	nmt_sleep_ms(1000);
	b2 = sh->bytes;
	if (b2 != b1)
		snprintf(why, sizeof(why), "still answered: %lld replies between 1 s and 2 s after the rule", b2 - b1);
	else if (sh->last_ms > t_rule + 1000)
		snprintf(why, sizeof(why), "last reply %lld ms after the rule", sh->last_ms - t_rule);
out:
	nmt_cli("deny del %s --policy p-bsflow", NMT_NET4);
	if (cli > 0) {
		kill(cli, SIGKILL);
		nmt_wait(cli, 2000);
	}
	munmap((void *)sh, sizeof(*sh));
	nmt_verdict(!*why, desc, "%s", why);
}

static void case_flow(bool up, const char *cut, const char *undo)
{
	case_flow_x(up, false, false, cut, undo);
}

/* ---- connections the sandbox accepts ------------------------------------ */
struct in_arg {
	const char *addr; /* the sandbox's address */
	volatile int *listening;
};

static int in_server(void *arg)
{
	struct in_arg *a = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	static char buf[IN_BYTES];
	struct timeval tv = { 3, 0 };
	int l, s, one = 1;
	size_t done = 0;

	sockaddr_of(a->addr, IN_PORT, &ss, &len);
	l = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 1))
		return 1;
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*a->listening = 1;
	s = accept(l, NULL, NULL);
	if (s < 0)
		return 2;
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (done < sizeof(buf)) {
		ssize_t n = send(s, buf + done, sizeof(buf) - done, MSG_NOSIGNAL);

		if (n <= 0)
			return 3;
		done += n;
	}
	close(s);
	return 0;
}

static int in_client(void *arg)
{
	struct in_arg *a = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { 3, 0 };
	char buf[65536];
	size_t got = 0;
	int s;

	sockaddr_of(a->addr, IN_PORT, &ss, &len);
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&ss, len))
		return 2;
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		got += n;
	}
	return got == IN_BYTES ? 0 : 3;
}

static void case_inbound(const char *addr)
{
	char desc[160], cgp[PATH_MAX];
	volatile int *listening = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct in_arg a = { addr, listening };
	pid_t srv, cli;
	int ss = -1, cs = -1;

	snprintf(desc, sizeof(desc),
		 "backstop: a connection the sandbox accepts from a denied address keeps working (%s, 256 KiB)", addr);
	if (listening == MAP_FAILED) {
		nmt_verdict(false, desc, "mmap: %s", strerror(errno));
		return;
	}
	*listening = 0;
	nmt_cg_path(BS, cgp, sizeof(cgp));
	srv = nmt_spawn(cgp, nmt_h.topo.cns, in_server, &a);
	for (long long end = nmt_now_ms() + 3000; !*listening && nmt_now_ms() < end;)
		nmt_sleep_ms(10);
	cli = nmt_spawn(NULL, nmt_h.topo.wns, in_client, &a);
	if (cli > 0)
		cs = nmt_wait(cli, 8000);
	if (srv > 0)
		ss = nmt_wait(srv, 3000);
	munmap((void *)listening, sizeof(int));
	nmt_verdict(cs == 0 && ss == 0, desc, "client wait status %d, server %d", cs, ss);
}

/* ---- the set-up and the order ------------------------------------------- */
static bool bs_setup(char *why, size_t len)
{
	char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];

	nmt_cg_path(BS, p1, sizeof(p1));
	nmt_cg_path(BSFLOW, p2, sizeof(p2));
	nmt_cg_path(BSPROXY, p3, sizeof(p3));
	if ((mkdir(p1, 0755) && errno != EEXIST) || (mkdir(p2, 0755) && errno != EEXIST) ||
	    (mkdir(p3, 0755) && errno != EEXIST)) {
		snprintf(why, len, "mkdir: %s", strerror(errno));
		return false;
	}
	if (nmt_cli("policy create p-bs --with-defaults --default redirect --raw-sockets allow " BS_EP) ||
	    nmt_cli("allow add %s --policy p-bs", NMT_NET4) || nmt_cli("allow add %s --policy p-bs", NMT_NET6) ||
	    nmt_cli("cgroup bind %s --policy p-bs", p1) ||
	    nmt_cli("policy create p-bsflow --with-defaults --default allow " BS_EP) ||
	    nmt_cli("cgroup bind %s --policy p-bsflow", p2) ||
	    nmt_cli("policy create p-bsproxy --with-defaults --default redirect --proxy4 %s:%d", NMT_NET4B, FLOW_PORT) ||
	    nmt_cli("cgroup bind %s --policy p-bsproxy", p3)) {
		snprintf(why, len, "%s", nmt_cli_msg());
		return false;
	}
	return true;
}

void case_backstop(void)
{
	char why[512] = "";
	unsigned long long d0, d1;

	if (!bs_setup(why, sizeof(why))) {
		nmt_verdict(false, "backstop: set-up (policies p-bs, p-bsflow and their cgroups)", "%s", why);
		return;
	}
	d0 = nmt_cli_gstat("backstop_drops");
	bs_rows(BS, raw_rows, sizeof(raw_rows) / sizeof(raw_rows[0]));
	d1 = nmt_cli_gstat("backstop_drops");
	nmt_verdict(d0 != ~0ull && d1 != ~0ull && d1 >= d0 + 7, "backstop: the drops are counted (stats: backstop_drops)",
		    "before %llu, after %llu (7 dropped rows at least)", d0, d1);
	case_bs_event();
	{
		char cg[PATH_MAX], cut[PATH_MAX + 64], undo[PATH_MAX + 64];

		/* a rule, the policy's default, the binding: each path that
		 * changes a verdict moves the epoch the flow cache keys on */
		case_flow(true, "deny add " NMT_NET4B " --policy p-bsflow", "deny del " NMT_NET4B " --policy p-bsflow");
		case_flow(false, "deny add " NMT_NET4B " --policy p-bsflow", "deny del " NMT_NET4B " --policy p-bsflow");
		case_flow(true, "policy set p-bsflow --default deny", "policy set p-bsflow --default allow");
		nmt_cg_path(BSFLOW, cg, sizeof(cg));
		snprintf(cut, sizeof(cut), "cgroup unbind %s", cg);
		snprintf(undo, sizeof(undo), "cgroup bind %s --policy p-bsflow", cg);
		case_flow(true, cut, undo);
		case_udp_flow();
		/* through the redirect: the original destination counts, the
		 * proxy endpoint does not */
		case_flow_x(true, true, true, "policy set p-bsproxy --proxy4 none",
			    "policy set p-bsproxy --proxy4 " NMT_NET4B ":9000");
		case_flow_x(true, true, false, "deny add " NMT_NET4 " --policy p-bsproxy",
			    "deny del " NMT_NET4 " --policy p-bsproxy");
	}
	case_inbound(NMT_CLIENT4);
	case_inbound(NMT_CLIENT6);

	/* Audit mode reports and drops nothing. */
	{
		struct bs_res r;
		char got[160];
		bool ran;

		if (nmt_cli("policy set p-bs --mode audit")) {
			nmt_verdict(false, "backstop: audit mode lets the packet through", "policy set: %s", nmt_cli_msg());
		} else {
			ran = bs_run(BS, RAW_UDP, NMT_META4, &r);
			nmt_verdict(ran && r.replied, "backstop: in audit mode raw UDP to the metadata host gets through",
				    "%s", bs_str(&r, got, sizeof(got)));
		}
		nmt_cli("policy set p-bs --mode enforce");
	}
}
